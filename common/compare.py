"""One table across a model's runs (PyTorch / ONNX Runtime / OM, batch sizes, machines): accuracy,
throughput per batch size, and line-by-line top-1 agreement with a reference run."""

from __future__ import annotations

import json
from pathlib import Path

from common import atomic


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def runs(work: Path) -> list[Path]:
    """Run folders (``<backend>-bs<BS>`` or a RUN name) that have a result.json, ONNX Runtime's first."""
    found = [p for p in Path(work).iterdir() if (p / "result.json").is_file()] if Path(work).is_dir() else []
    return sorted(found, key=lambda p: (not p.name.startswith("onnx"), p.name))


def table(work: Path) -> str:
    found = runs(work)
    if not found:
        return f"No finished runs under {work} (run `make ... postprocess` first).\n"
    ref = _load(found[0] / "predictions.json")
    sizes = sorted({r["bs"] for run in found for r in _load(run / "perf.json").get("rows", [])})
    head = ["run", "what ran", "host", "images", "top-1", "top-5", f"top-1 same as {found[0].name}"]
    head += [f"bs{b} samples/s" for b in sizes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in found:
        result = {v["key"]: v["value"] for v in _load(run / "result.json").get("value", [])}
        info = _load(run / "run.json")
        preds = _load(run / "predictions.json")
        common = [s for s in preds if s in ref]
        same = sum(preds[s][0] == ref[s][0] for s in common)
        perf = {r["bs"]: r["samples_per_s"] for r in _load(run / "perf.json").get("rows", [])}
        cells = [
            run.name,
            info.get("ran", "?"),
            info.get("host", "?"),
            result.get("Number of images", "?"),
            result.get("Top1 accuracy", "?"),
            result.get("Top5 accuracy", "?"),
            f"{same}/{len(common)}" if common else "—",
        ]
        cells += [f"{perf[b]:.1f}" if b in perf else "—" for b in sizes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(work: Path) -> Path:
    path = Path(work) / "compare.md"
    atomic.write_text(path, table(work))
    return path
