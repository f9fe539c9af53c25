"""The records a finished run leaves (result.json, perf.json, run.json), read back for the model's
README, modelzoo_level.txt and test/parse.py.

A run folder is ``<WORK>/<run>/`` (``common.layout``): ``result.json`` from postprocess, ``perf.json``
from perf, ``run.json`` from report (what ran, where, with which versions, and for an OM the chip and
the ATC command that built it). A record that is missing leaves its fields empty; nothing is guessed
except the backend of a run without run.json, from its folder name (``<backend>-bs<BS>``).

Python 3.7+ and the standard library only (test/parse.py runs in a travelled folder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import backends, records
from .errors import is_number


def result_values(result: dict | None) -> dict:
    """{key: value} of a result.json (``{"title": ..., "value": [{"key": ..., "value": ...}, ...]}``)."""
    if not isinstance(result, dict) or not isinstance(result.get("value"), list):
        return {}
    return {v.get("key"): v.get("value") for v in result["value"] if isinstance(v, dict)}


def percent(text) -> float | None:
    """``"80.04%"`` -> 80.04 (None when absent or not a number)."""
    try:
        return float(str(text).rstrip("%"))
    except ValueError:
        return None


@dataclass
class PerfRow:
    bs: int
    samples_per_s: float
    source: str = ""
    method: str = ""


@dataclass
class Run:
    """One finished run, as its records tell it."""

    name: str
    backend: str = ""  # om | benchmark | onnx | torch ("" unknown)
    bs: int | None = None
    ran: str = ""  # what ran, in words (ONNX Runtime 1.31.1 (CPUExecutionProvider), ais_bench API ...)
    host: str = ""
    machine: str = ""
    date: str = ""
    images: int | None = None
    classes: int | None = None
    top1: float | None = None
    top5: float | None = None
    versions: dict = field(default_factory=dict)
    soc: str = ""  # the chip its OM was built for, e.g. Ascend310P3
    atc: str = ""  # the ATC command line that built its OM
    perf: list = field(default_factory=list)  # PerfRow
    perf_device: str = ""

    @property
    def om(self) -> bool:
        return backends.is_ascend(self.backend)

    @property
    def chip(self) -> str:
        """``310P3`` from ``Ascend310P3`` ("" when no OM / unknown)."""
        return self.soc[len("Ascend") :] if self.soc.startswith("Ascend") else self.soc

    @property
    def label(self) -> str:
        """What test/parse.py prints first on an accuracy line: om (OM on Ascend), onnx, torch."""
        return backends.label(self.backend)

    def card(self, row: PerfRow) -> tuple[float, str]:
        """The figure to set beside published per-card / per-device ones, and how it was made: an Atlas
        300I card has four Ascend 310 chips, so a per-chip figure on a 310 counts four times (the legacy
        benchmark tool ran on 310s; its figure is per chip)."""
        legacy = backends.per_chip(row.source)
        if (self.om and self.chip == "310") or (legacy and self.chip in ("", "310")):
            return 4 * row.samples_per_s, "Atlas 300I card: 4 x the per-chip figure"
        return row.samples_per_s, "per device" if self.om else "host-measured"


def read_run(folder: Path) -> Run:
    folder = Path(folder)
    run = Run(folder.name)
    info = records.read(folder / "run.json") or {}
    result = info.get("result") or records.read(folder / "result.json")
    values = result_values(result)
    if values:
        try:
            run.images = int(values.get("Number of images", ""))
            run.classes = int(values.get("Number of classes", ""))
        except (TypeError, ValueError):
            pass
        run.top1, run.top5 = percent(values.get("Top1 accuracy")), percent(values.get("Top5 accuracy"))
    found = re.match(r"^([a-z]+)-bs(\d+)$", folder.name)
    run.backend = str(info.get("backend") or (found.group(1) if found and backends.known(found.group(1)) else ""))
    bs = info.get("bs") or (found.group(2) if found else None)
    run.bs = int(bs) if bs is not None and is_number(str(bs)) else None
    run.ran = str(info.get("ran") or "")
    run.host, run.machine, run.date = (str(info.get(k) or "") for k in ("host", "machine", "date"))
    versions = info.get("versions")
    run.versions = dict(versions) if isinstance(versions, dict) else {}
    run.soc, run.atc = str(info.get("soc") or ""), str(info.get("atc") or "")
    perf = records.read(folder / "perf.json") or {}
    run.perf_device = str(perf.get("device") or "")
    rows = perf.get("rows")
    for row in rows if isinstance(rows, list) else []:
        try:
            run.perf.append(
                PerfRow(int(row["bs"]), float(row["samples_per_s"]), str(row.get("source", "")), row.get("method", ""))
            )
        except (KeyError, TypeError, ValueError):
            continue
    return run


def read_runs(folders) -> list[Run]:
    """The runs of these folders (``Layout.runs()``), sorted by name."""
    return sorted((read_run(getattr(f, "dir", f)) for f in folders), key=lambda r: r.name)
