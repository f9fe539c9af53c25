"""One run's configuration: the validated settings, the model's manifest, the work-folder layout and the
backend that will run (``auto`` resolved once)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import backends, manifest
from .layout import Layout, RunLayout
from .manifest import Manifest
from .settings import Settings
from .shard import Shard
from .workdir import check_run_name

GUIDE_DATASET = "/root/datasets/imagenet/val"
GUIDE_LABELS = "/root/datasets/imagenet/val_label.txt"


def labels_path(s: Settings) -> Path:
    """The label file of an ImageNet dataset: LABELS, else the guides' path beside the guides' DATASET,
    else ``<DATASET>/../val_label.txt`` (``DATASET=sample`` has its own, from common.sample)."""
    if s.labels:
        return Path(s.labels)
    if s.dataset == GUIDE_DATASET:
        return Path(GUIDE_LABELS)
    return Path(s.dataset).parent / "val_label.txt"


@dataclass
class Config:
    settings: Settings
    model: Manifest
    layout: Layout
    backend: str
    shard: Shard | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        return cls.of(Settings(environ))

    @classmethod
    def of(cls, s: Settings) -> Config:
        """The config of these settings: the model's manifest loaded, BACKEND=auto resolved."""
        if s.run:
            check_run_name(s.run)  # issue 18: RUN is a folder inside WORK, refused before anything is written
        m = manifest.load(s.model)
        return cls(s, m, Layout(Path(s.work), m), backends.resolve(s.backend), Shard.parse(s.shard))

    @property
    def run(self) -> RunLayout:
        """This run's folder: ``<backend>-bs<BS>`` (``-shard<i>of<N>`` with SHARD) unless RUN names it
        (e.g. RUN=t4-onnx-bs16)."""
        default = f"{self.backend}-bs{self.settings.bs}" + (f"-{self.shard.tag}" if self.shard else "")
        return self.layout.run(self.settings.run or default)
