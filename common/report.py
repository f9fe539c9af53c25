"""One Markdown page (and a run.json) per run: accuracy against the published figures, parity,
throughput, and the exact versions and checksums used."""

from __future__ import annotations

import platform
import time
from importlib import metadata
from pathlib import Path

from . import atomic, backends, charts, provenance, records
from .artifacts import Artifacts
from .config import Config
from .summary import args_dict
from .summary import read as read_summary

PACKAGES = ("torch", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxsim", "numpy", "pillow", "ais_bench")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return found


def _accuracy_rows(cfg: Config, result: dict | None) -> list[str]:
    got = result or {}
    rows = ["| | top-1 | top-5 | source |", "|---|---|---|---|"]
    rows.append(
        f"| this run ({cfg.backend}, bs{cfg.bs}) | {got.get('Top1 accuracy', '—')} | "
        f"{got.get('Top5 accuracy', '—')} | {got.get('Number of images', '?')} images |"
    )
    for key, label in (("upstream", "published, upstream"), ("guide", "published, guide's OM")):
        a = cfg.model.accuracy.get(key)
        if a:
            rows.append(
                f"| {label} | {a.get('top1', '—')}% | {a.get('top5', '—')}{'%' if 'top5' in a else ''} | "
                f"{a.get('source', '')} |"
            )
    return rows


def _om_record(cfg: Config) -> dict:
    """For an OM run: the chip its OM was built for and the ATC command line (from the OM's records)."""
    if not backends.is_ascend(cfg.backend):
        return {}
    from .atc import built_for

    layout = cfg.layout
    gear = "dyn" if cfg.settings.dynamic_batch else cfg.bs
    soc, atc = layout.om_soc(gear), layout.atc_log(gear)
    first = atc.read_text(encoding="utf-8", errors="replace").splitlines()[:1] if atc.is_file() else []
    return {
        "soc": built_for(soc),  # a stamp that is not UTF-8 is absent, not a traceback
        "atc": first[0][2:] if first and first[0].startswith("$ ") else "",
    }


def ran(summary: dict) -> str:
    """What ran, from a summary: the bundle's ``args.backend``, or for a summary the ais_bench CLI wrote
    itself (``args`` is its argv list) the command line."""
    args = summary.get("args")
    if isinstance(args, list):
        return "ais_bench CLI: python3 -m ais_bench " + " ".join(str(a) for a in args[1:])
    return str(args_dict(summary).get("backend", ""))


def infer_method(summary: dict) -> str:
    """How a summary's throughput figure was produced, in words."""
    if summary.get("throughput_method"):
        return str(summary["throughput_method"])
    source = str(summary.get("timing_source", ""))
    if isinstance(summary.get("args"), list):
        return "ais_bench CLI's own figure: 1000 x bs / mean NPU compute time of the batches run"
    if source == "ais_bench":
        return "ais_bench NPU compute time: samples / summed compute time of the batches run"
    if source.startswith("host"):
        return f"{source}: samples / summed wall time of the batches run"
    return source or "unknown"


def write(art: Artifacts) -> Path:
    from .errors import BundleError
    from .weights import cached_md5

    cfg = art.cfg
    m, layout, run = cfg.model, cfg.layout, cfg.run
    from .postprocess import read_result

    result = read_result(run.file("result.json"))
    summary = read_summary(run.outputs) or {}  # absent when unreadable or its figures are not numbers
    parity = records.read(layout.parity(cfg.bs))
    try:
        val, labels = art.dataset()
    except BundleError:  # the report still renders without a dataset
        val, labels = Path(cfg.settings.dataset), Path(cfg.settings.labels or "?")
    files = {"onnx": layout.onnx(cfg.bs), "info": layout.info, "result.json": run.file("result.json")}
    if parity and parity.get("weights"):
        files = {"weights": Path(parity["weights"]["file"]), **files}
    for om in sorted(layout.om_dir.glob("*.om")) if layout.om_dir.is_dir() else []:
        files[f"om {om.name}"] = om
    sums = {k: cached_md5(p) for k, p in files.items() if p.is_file()}
    info = {
        "model": m.name,
        "title": m.title,
        "backend": cfg.backend,
        "bs": cfg.bs,
        "ran": ran(summary),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "machine": platform.machine(),
        "dataset": str(val),
        "labels": str(labels),
        "result": result,
        "parity": parity,
        "md5": sums,
        "versions": versions(),
        **provenance.record(),  # bundle_version, and the image (tag, base, digest) when run in one
        "infer_throughput": summary.get("throughput"),
        "infer_timing": summary.get("timing_source"),
        "infer_pipeline_throughput": summary.get("pipeline_throughput"),
        "infer_throughput_method": infer_method(summary) if summary else None,
        **_om_record(cfg),
    }
    perf_rec = records.read(run.file("perf.json")) or {}
    info["device"] = perf_rec.get("device") or info["ran"] or cfg.backend
    for key in ("gpu", "tensorrt", "top1_agreement"):  # PROVIDER=tensorrt: the GPU and the fp16 check
        if perf_rec.get(key):
            info[key] = perf_rec[key]
    records.write(run.file("run.json"), info)
    scoring = records.read(run.file("scoring.json")) or {}
    lines = [
        f"# {m.title}: {cfg.backend} backend, batch size {cfg.bs}",
        "",
        f"Run on {info['host']} ({info['machine']}) at {info['date']}; what ran: {info['ran'] or cfg.backend}.",
        f"Dataset `{val}`, labels `{labels}`.",
        f"Produced by: {provenance.describe()}.",
        "",
        "## Accuracy",
        "",
        *_accuracy_rows(cfg, result),
        "",
    ]
    if scoring.get("nan"):
        nan = scoring["nan"]
        lines += [f"**{len(nan)} outputs hold NaN** (scored as the guides' script would): {', '.join(nan[:10])}", ""]
    from . import precision

    lines += precision.report_lines(layout)
    if parity:
        lines += [
            "## ONNX parity with PyTorch",
            "",
            f"{len(parity['images'])} real photos, opset {parity['opset']}: max abs difference "
            f"{parity['max_abs_diff']:.3g} (tolerance {parity['tolerance']:.3g}), top-1 agrees on "
            f"{parity['top1_agree']}/{len(parity['images'])}, identical top-5 on "
            f"{parity['top5_agree']}/{len(parity['images'])}. Simplifier: {parity['simplify_note']}.",
            "",
        ]
    perf_md = run.file("perf.md")
    chart = charts.throughput(perf_rec, run.dir, f"{m.title}: throughput against batch size") if perf_rec else None
    lines += [
        "## Throughput",
        "",
        perf_md.read_text().strip() if perf_md.is_file() else "(no `make perf` yet)",
        "",
    ]
    if chart is not None:
        lines += [f"![{m.title}: samples/s against batch size, measured and published]({chart.name})", ""]
    if summary:
        lines += [_pipeline_line(summary, perf_rec, cfg.bs), ""]
    lines += ["## Versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info["versions"].items()]
    lines += ["", "## Checksums (md5)", "", "| file | md5 |", "|---|---|"]
    lines += [f"| {k} (`{files[k]}`) | `{v}` |" for k, v in sums.items()]
    path = run.file("report.md")
    atomic.write_text(path, "\n".join(lines) + "\n")
    return path


def _bound(stream: dict) -> str:
    """Which stage bounded a streamed run: the device waited for most batches -> decode-bound."""
    waits, batches = stream.get("decode_waits") or 0, stream.get("batches") or 0
    return "decode-bound" if batches and waits * 2 > batches else "device-bound"


def _pipeline_line(summary: dict, perf_rec: dict, bs: int) -> str:
    """The pipeline's own figures (``make infer`` over the dataset) beside the perf sweep's at its bs."""
    text = (
        f"The pipeline's own figures (make infer, bs {bs}): {summary.get('throughput', 0):.2f} samples/s "
        f"({infer_method(summary)})"
    )
    if summary.get("host_throughput"):
        text += f"; host-measured around each run: {summary['host_throughput']:.2f} samples/s"
    sweep = next((r for r in perf_rec.get("rows", []) if r.get("bs") == bs), None)
    e2e = summary.get("pipeline_throughput")
    if e2e:
        n = summary.get("measured_samples", summary.get("samples_run", 0))  # what the figure measured
        over = f"over {n} samples" if n else "over the samples of an earlier run"
        if summary.get("measured_earlier"):
            over += " (measured by an earlier `make infer`: the last one had nothing left to infer)"
        st = summary.get("stream")
        if isinstance(st, dict):  # STREAM=1: decode, inference and writing overlapped, from the images
            text += (
                f"; end to end, streamed from the images {over} ({st.get('workers')} decode workers, ring of "
                f"{st.get('ring')}; the device waited for decoding on {st.get('decode_waits')} of {st.get('batches')} "
                f"batches: {_bound(st)}): {e2e:.2f} samples/s"
            )
        else:
            text += f"; end to end {over} (first batch read to last output written): {e2e:.2f} samples/s"
        if sweep and sweep.get("samples_per_s"):
            text += f", {100 * e2e / sweep['samples_per_s']:.0f} % of the sweep's bs {bs} figure above"
    return text + "."
