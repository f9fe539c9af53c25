"""Every path in a model's work folder, in one object: no other module builds a work-folder path.

<WORK>/
  <onnx>, <onnx stem>.parity.json     ONNX (per batch size for static models) and its parity record
  om/<om name>.om (+ .soc, atc_<om name>.log, <onnx stem>_bs<BS>.onnx)
  prep_dataset/*.bin (+ .source.json)  preprocessing output and its record
  <info file>                          dataset info file
  trt-cache/<onnx stem>-bs<BS>-<key>/  TensorRT engines + timing cache (PROVIDER=tensorrt); key.json says for what
  <run>/                               one run: <backend>-bs<BS>, or RUN=<name>
    outputs/<stem>_<k>.<fmt>, outputs_summary.json, infer.json
    result.json, predictions.txt/.json, perf.json/.md, report.md, run.json
  precision/<mode>.json, precision/<onnx stem>.<mode>.<key>.onnx   make precision: records, fp16 variants
  compare.md, package/<model>/
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import atomic, workdir
from .errors import BundleError
from .manifest import Manifest
from .workdir import MARKER


@dataclass(frozen=True)
class RunLayout:
    """The files of one run folder."""

    dir: Path

    @property
    def outputs(self) -> Path:
        return self.dir / "outputs"

    @property
    def summary(self) -> Path:
        """Where ais_bench puts the summary of ``outputs/``: beside it, ``outputs_summary.json``."""
        return summary_of(self.outputs)

    def file(self, name: str) -> Path:
        """A record of this run: infer.json, result.json, predictions.txt/.json, perf.json/.md, report.md, run.json."""
        return self.dir / name


def summary_of(out_dir: Path) -> Path:
    """ais_bench's summary file for an output folder: a sibling named ``<folder>_summary.json``."""
    return Path(out_dir).parent / f"{Path(out_dir).name}_summary.json"


def record_of(prep_dir: Path) -> Path:
    """The preprocessing record of a folder of .bin files (dataset, settings, each image's fingerprint)."""
    return Path(prep_dir) / ".source.json"


def parity_of(onnx_path: Path) -> Path:
    """The parity record of an ONNX file: ``<stem>.parity.json`` beside it."""
    return Path(onnx_path).with_suffix(".parity.json")


@dataclass(frozen=True)
class Layout:
    work: Path
    model: Manifest

    def onnx(self, bs: int) -> Path:
        return self.work / self.model.onnx_name(bs)

    def parity(self, bs: int) -> Path:
        return parity_of(self.onnx(bs))

    @property
    def om_dir(self) -> Path:
        return self.work / "om"

    def om(self, gear: int | str) -> Path:
        """The OM for batch size ``gear`` (or ``"dyn"``: one OM for every batch size)."""
        return self.om_dir / f"{self.model.om_name(gear)}.om"

    def om_soc(self, gear: int | str) -> Path:
        return self.om_dir / f"{self.model.om_name(gear)}.om.soc"

    def atc_log(self, gear: int | str) -> Path:
        return self.om_dir / f"atc_{self.model.om_name(gear)}.log"

    def static_onnx(self, bs: int) -> Path:
        """A simplified copy of the ONNX with the batch fixed, for models whose OM needs one."""
        return self.om_dir / f"{self.onnx(bs).stem}_bs{bs}.onnx"

    @property
    def prep_dir(self) -> Path:
        return self.work / "prep_dataset"

    @property
    def prep_record(self) -> Path:
        return record_of(self.prep_dir)

    @property
    def trt_cache(self) -> Path:
        """TensorRT engine caches, one folder per (ONNX, bs, precision, versions, GPU) key."""
        return self.work / "trt-cache"

    @property
    def info(self) -> Path:
        return self.work / self.model.info_file

    def run(self, name: str) -> RunLayout:
        return RunLayout(self.work / name)

    def runs(self) -> list[RunLayout]:
        """Run folders that hold a result.json, ONNX Runtime's first (the reference for comparisons)."""
        found = [p for p in self.work.iterdir() if (p / "result.json").is_file()] if self.work.is_dir() else []
        return [RunLayout(p) for p in sorted(found, key=lambda p: (not p.name.startswith("onnx"), p.name))]

    @property
    def marker(self) -> Path:
        return self.work / MARKER

    def owner(self) -> str | None:
        """The model whose work folder this is, from its marker (None: no marker); a linked marker is refused."""
        return workdir.owner(self.work)

    @property
    def lock(self) -> Path:
        return self.work / ".lock"

    def claim(self) -> None:
        """Create the work folder for this model (or check it is this model's and writable); fails in
        one line before any work is done. Only a new or empty folder becomes a work folder."""
        workdir.no_newline("WORK", str(self.work))
        owner = self.owner()
        if owner not in (None, self.model.name):
            raise BundleError(
                f"WORK={self.work} is the work folder of {owner}, not of {self.model.name}: set another WORK"
            )
        try:
            self.work.mkdir(parents=True, exist_ok=True)
            probe = self.work / f".write-test.{os.getpid()}"
            workdir.refuse_link(probe)
            atomic.remove(probe)
            workdir.create_new(probe, b"")
            probe.unlink()
            if owner is None:
                workdir.mark(self.work, self.model.name)
        except OSError as exc:
            raise BundleError(f"WORK={self.work}: cannot write there ({exc.strerror})") from None

    def check_owned(self) -> None:
        """Refuse (one line) unless this folder is marked as this model's work folder."""
        workdir.refuse_link(self.work, " (WORK)")
        owner = self.owner()
        if owner != self.model.name:
            what = f"the work folder of {owner}" if owner else f"not a work folder (no {MARKER} marker)"
            raise BundleError(f"WORK={self.work} is {what}: not removing it")

    @property
    def precision_dir(self) -> Path:
        return self.work / "precision"

    def precision_record(self, mode: str) -> Path:
        """make precision's record of one ATC precision mode."""
        return self.precision_dir / f"{mode}.json"

    def precision_onnx(self, onnx_path: Path, mode: str, key: str) -> Path:
        """The fp16 variant of an ONNX for ``mode``, under its cache key."""
        return self.precision_dir / f"{Path(onnx_path).stem}.{mode}.{key}.onnx"

    def precision_variants(self, onnx_path: Path, mode: str) -> list:
        """Every cached variant of that ONNX and mode (any key)."""
        d = self.precision_dir
        return sorted(d.glob(f"{Path(onnx_path).stem}.{mode}.*.onnx")) if d.is_dir() else []

    @property
    def compare(self) -> Path:
        return self.work / "compare.md"

    @property
    def package_dir(self) -> Path:
        return self.work / "package"
