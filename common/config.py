"""One run's settings, read from the environment the Makefile exports (so paths with spaces survive)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common import backends, manifest
from common.errors import BundleError
from common.manifest import Manifest

GUIDE_DATASET = "/root/datasets/imagenet/val"
GUIDE_LABELS = "/root/datasets/imagenet/val_label.txt"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "") or str(default)
    try:
        return int(raw)
    except ValueError:
        raise BundleError(f"{name}={raw}: expected a whole number") from None


def flag(name: str, default: bool) -> bool:
    """An on/off environment setting: 0, no, false and off are off; unset or empty is ``default``."""
    raw = os.environ.get(name, "")
    return default if raw == "" else raw.lower() not in ("0", "no", "false", "off")


@dataclass
class Config:
    model: Manifest
    bs: int
    work: Path
    dataset: str
    labels: str
    weights: str
    weights_dir: str
    verify: bool
    trust: bool
    backend: str
    device: str
    outfmt: str
    perf_bs: tuple[int, ...]
    sample_dir: Path
    simplify: bool
    run: str = ""

    @classmethod
    def from_env(cls, model: str | None = None) -> Config:
        env = os.environ.get
        m = manifest.load(model or env("MODEL") or "inceptionresnetv2")
        bs = _int("BS", 1)
        if bs < 1:
            raise BundleError(f"BS={bs}: the batch size must be at least 1")
        try:
            perf_bs = tuple(int(b) for b in (env("PERF_BS") or "1 4 8 16 32 64").replace(",", " ").split())
        except ValueError:
            raise BundleError(f"PERF_BS={env('PERF_BS')}: expected batch sizes like '1 4 8 16 32 64'") from None
        return cls(
            model=m,
            bs=bs,
            work=Path(env("WORK") or f"work/{m.name}"),
            dataset=env("DATASET") or GUIDE_DATASET,
            labels=env("LABELS") or "",
            weights=env("WEIGHTS") or "",
            weights_dir=env("WEIGHTS_DIR") or "",
            verify=flag("VERIFY", True),
            trust=flag("TRUST_CHECKPOINT", False),
            backend=backends.resolve(env("BACKEND") or "auto"),
            device=env("DEVICE") or "0",
            outfmt=(env("OUTFMT") or "TXT").upper(),
            perf_bs=perf_bs,
            sample_dir=Path(env("SAMPLE_DIR") or "work/sample"),
            simplify=flag("SIMPLIFY", True),
            run=env("RUN") or "",
        )

    # where each step's files live (one place, so steps never disagree)
    def onnx_path(self, bs: int | None = None) -> Path:
        return self.work / self.model.onnx_name(bs or self.bs)

    @property
    def prep_dir(self) -> Path:
        return self.work / "prep_dataset"

    @property
    def info_path(self) -> Path:
        return self.work / self.model.info_file

    @property
    def run_dir(self) -> Path:
        """One folder per run: ``<backend>-bs<BS>`` unless RUN names it (e.g. RUN=t4-onnx-bs16)."""
        return self.work / (self.run or f"{self.backend}-bs{self.bs}")

    @property
    def outputs_dir(self) -> Path:
        return self.run_dir / "outputs"
