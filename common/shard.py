"""``SHARD=i/N``: a stable split of a dataset over hosts or NPUs. Shard i of N is the i-th of N
contiguous runs of whole batches of the dataset's images in natural order (the order ais_bench and
the info file use): every step that knows DATASET and BS computes the same slice, every batch a shard
infers is a batch of the single-host run (so even batch-dependent numerics agree), and ``make merge``
joins the shards' outputs into one run whose result.json equals a single-host run's. Python 3.7+."""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import BundleError


class Shard(NamedTuple):
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard | None:
        """``"i/N"`` (0 <= i < N) or empty for no sharding."""
        if not text.strip():
            return None
        m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", text)
        if not m or int(m[2]) < 1 or int(m[1]) >= int(m[2]):
            raise BundleError(f"SHARD={text!r}: expected i/N with 0 <= i < N, e.g. SHARD=0/4 (Kubernetes: its index)")
        return cls(int(m[1]), int(m[2]))

    def slice(self, items: list, bs: int = 1) -> list:
        """This shard's contiguous part of ``items`` (already in their stable order), cut on batch
        boundaries of ``bs``: with B batches, shard i takes batches floor(i*B/N) to floor((i+1)*B/N)."""
        batches = -(-len(items) // bs)
        lo, hi = self.index * batches // self.count, (self.index + 1) * batches // self.count
        return items[lo * bs : hi * bs]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def tag(self) -> str:
        """For folder names: ``shard0of4``."""
        return f"shard{self.index}of{self.count}"
