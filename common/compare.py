"""One table across a model's runs (PyTorch / ONNX Runtime / OM, batch sizes, machines): accuracy,
throughput per batch size, and line-by-line top-1 agreement with a reference run."""

from __future__ import annotations

import sys
from pathlib import Path

from . import atomic, backends, records
from .errors import BundleError
from .layout import Layout, RunLayout


def _read(run: RunLayout) -> dict:
    """Each file of a run folder that the table needs, read once ({} where one is missing or unreadable)."""
    from .postprocess import read_result

    data = {name: records.read(run.file(f"{name}.json")) or {} for name in ("run", "predictions", "perf")}
    try:
        data["result"] = read_result(run.file("result.json")) or {}
    except BundleError as exc:
        print(f"warning: compare: {exc}", file=sys.stderr)
        data["result"] = {}
    rows = data["perf"].get("rows")
    if not isinstance(rows, list) or not all(_row(r) for r in rows):  # a record that does not parse is absent
        data["perf"] = {}
    preds = data["predictions"]
    if not all(isinstance(v, list) and v for v in preds.values()):
        data["predictions"] = {}
    return data


def _row(row) -> bool:
    """A perf.json row as perf writes it: an int bs and a number of samples/s."""
    number = (int, float)
    return isinstance(row, dict) and type(row.get("bs")) is int and isinstance(row.get("samples_per_s"), number)


def table(layout: Layout) -> str:
    found = layout.runs()
    if not found:
        return f"No finished runs under {layout.work} (run `make ... postprocess` first).\n"
    data = {run.dir.name: _read(run) for run in found}
    ref = data[found[0].dir.name]["predictions"]
    perf = {run: {r["bs"]: r["samples_per_s"] for r in d["perf"].get("rows", [])} for run, d in data.items()}
    sizes = sorted({bs for rows in perf.values() for bs in rows})
    from . import precision

    pred = precision.headline_record(layout)
    head = ["run", "what ran", "host", "images", "top-1", "top-5", f"top-1 same as {found[0].dir.name}"]
    head += ["fp16 predicted on the CPU (make precision)"]
    head += [f"bs{b} samples/s" for b in sizes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run, d in data.items():
        result = d["result"]
        common = [s for s in d["predictions"] if s in ref]
        same = sum(d["predictions"][s][0] == ref[s][0] for s in common)
        cells = [
            run,
            d["run"].get("ran", "?"),
            d["run"].get("host", "?"),
            result.get("Number of images", "?"),
            result.get("Top1 accuracy", "?"),
            result.get("Top5 accuracy", "?"),
            f"{same}/{len(common)}" if common else "—",
            precision.cell(pred) if _fp16_run(run, d["run"]) else "—",
        ]
        cells += [f"{perf[run][b]:.1f}" if b in perf[run] else "—" for b in sizes]
        lines.append("| " + " | ".join(cells) + " |")
    if pred:
        lines += ["", f"fp16 prediction ({pred['mode']}, on the CPU, {pred['images']} images): {precision.cell(pred)}."]
    return "\n".join(lines) + "\n"


def _fp16_run(name: str, info: dict) -> bool:
    """An OM run (ais_bench / benchmark) or a TensorRT fp16 one: where the fp16 prediction applies."""
    ran = str(info.get("ran", "")).lower()
    return backends.is_ascend(info.get("backend")) or name.startswith("om-") or backends.fp16_variant(info, ran)


def series(layout: Layout) -> dict[str, dict[int, float]]:
    """Samples/s per batch size of every run with a perf record, labelled ``<run>: <what ran>``."""
    out = {}
    for run in layout.runs():
        d = _read(run)
        rows = {r["bs"]: r["samples_per_s"] for r in d["perf"].get("rows", []) if isinstance(r, dict)}
        if rows:
            out[f"{run.dir.name}: {d['run'].get('ran') or d['perf'].get('device') or '?'}"] = rows
    return out


def write(layout: Layout) -> Path:
    from . import charts

    text = table(layout)
    found = series(layout)
    chart = charts.runs(found, layout.work, f"{layout.model.title}: the runs side by side") if found else None
    if chart is not None:
        text += f"\n![every run's samples/s against batch size]({chart.name})\n"
    atomic.write_text(layout.compare, text)
    return layout.compare
