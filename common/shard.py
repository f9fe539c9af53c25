"""``SHARD=i/N``: a stable split of a dataset over hosts or NPUs. Shard i of N is the i-th of N
contiguous slices of the dataset's images in natural order (the order ais_bench and the info file
use), so every step that knows DATASET computes the same slice, and ``make merge`` joins the shards'
outputs into one run whose result.json equals a single-host run's. Python 3.7+, standard library."""

from __future__ import annotations

import re
from typing import NamedTuple

from common.errors import BundleError


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

    def slice(self, items: list) -> list:
        """This shard's contiguous part of ``items`` (already in their stable order)."""
        n = len(items)
        return items[self.index * n // self.count : (self.index + 1) * n // self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def tag(self) -> str:
        """For folder names: ``shard0of4``."""
        return f"shard{self.index}of{self.count}"
