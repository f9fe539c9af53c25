"""One Markdown page (and a run.json) per run: accuracy against the published figures, parity,
throughput, and the exact versions and checksums used."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
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


def _accuracy_rows(info: dict, published: dict) -> list[str]:
    """The accuracy table: this run's figures, then the published ones (upstream, the guide's OM)."""
    got = info["result"] or {}
    rows = ["| | top-1 | top-5 | source |", "|---|---|---|---|"]
    rows.append(
        f"| this run ({info['backend']}, bs{info['bs']}) | {got.get('Top1 accuracy', '—')} | "
        f"{got.get('Top5 accuracy', '—')} | {got.get('Number of images', '?')} images |"
    )
    for key, label in (("upstream", "published, upstream"), ("guide", "published, guide's OM")):
        a = published.get(key)
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
    gear = "dyn" if cfg.settings.dynamic_batch else cfg.settings.bs
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


@dataclass(frozen=True)
class Record:
    """Everything report.md, run.json and throughput.png are rendered from, gathered once."""

    info: dict  # run.json as written: what ran, where, on what data, the figures, versions and checksums
    published: dict  # the manifest's accuracy figures (``upstream``, ``guide``)
    files: dict  # label -> path of each file checksummed (the md5s are in ``info["md5"]``)
    summary: dict  # the inference summary ({} when absent or unreadable)
    perf: dict  # perf.json ({} before `make perf`)
    perf_md: str | None  # perf.md's text (None before `make perf`)
    nan: list  # the outputs that hold NaN (scoring.json)
    precision: list  # make precision's section of report.md (precision.report_lines)
    produced_by: str  # provenance.describe()
    run_dir: Path


def write(art: Artifacts) -> Path:
    """run.json, throughput.png and report.md of the run, rendered from one gathered record."""
    run = art.cfg.run
    rec = gather(art)
    records.write(run.file("run.json"), rec.info)
    path = run.file("report.md")
    atomic.write_text(path, markdown(rec, chart(rec)))
    return path


def gather(art: Artifacts) -> Record:
    """The run's record: read the run's files (result, summary, parity, perf, scoring) once."""
    from . import precision
    from .postprocess import read_result

    cfg = art.cfg
    layout, run = cfg.layout, cfg.run
    result = read_result(run.file("result.json"))
    summary = read_summary(run.outputs) or {}  # absent when unreadable or its figures are not numbers
    parity = records.read(layout.parity(cfg.settings.bs))
    files = _checksummed(cfg, parity)
    perf_rec = records.read(run.file("perf.json")) or {}
    perf_md = run.file("perf.md")
    info = _info(art, result, summary, parity, files, perf_rec)
    return Record(
        info=info,
        published=cfg.model.accuracy,
        files=files,
        summary=summary,
        perf=perf_rec,
        perf_md=perf_md.read_text().strip() if perf_md.is_file() else None,
        nan=(records.read(run.file("scoring.json")) or {}).get("nan") or [],
        precision=precision.report_lines(layout),
        produced_by=provenance.describe(),
        run_dir=run.dir,
    )


def _dataset(art: Artifacts) -> tuple[Path, Path]:
    """The dataset and labels the run scored against (the settings' when they cannot be resolved)."""
    from .errors import BundleError

    try:
        return art.dataset()
    except BundleError:  # the report still renders without a dataset
        return Path(art.cfg.settings.dataset), Path(art.cfg.settings.labels or "?")


def _checksummed(cfg: Config, parity: dict | None) -> dict[str, Path]:
    """The files whose md5 the report lists: the checkpoint, the ONNX, info, the result, every OM."""
    layout = cfg.layout
    files = {"onnx": layout.onnx(cfg.settings.bs), "info": layout.info, "result.json": cfg.run.file("result.json")}
    if parity and parity.get("weights"):
        files = {"weights": Path(parity["weights"]["file"]), **files}
    for om in sorted(layout.om_dir.glob("*.om")) if layout.om_dir.is_dir() else []:
        files[f"om {om.name}"] = om
    return files


def _info(art: Artifacts, result: dict | None, summary: dict, parity: dict | None, files: dict, perf_rec: dict) -> dict:
    """run.json: the run, the host, the data, the figures, the versions and the checksums."""
    from .weights import cached_md5

    cfg = art.cfg
    val, labels = _dataset(art)
    info = {
        "model": cfg.model.name,
        "title": cfg.model.title,
        "backend": cfg.backend,
        "bs": cfg.settings.bs,
        "ran": ran(summary),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "machine": platform.machine(),
        "dataset": str(val),
        "labels": str(labels),
        "result": result,
        "parity": parity,
        "md5": {k: cached_md5(p) for k, p in files.items() if p.is_file()},
        "versions": versions(),
        **provenance.record(),  # bundle_version, and the image (tag, base, digest) when run in one
        "infer_throughput": summary.get("throughput"),
        "infer_timing": summary.get("timing_source"),
        "infer_pipeline_throughput": summary.get("pipeline_throughput"),
        "infer_throughput_method": infer_method(summary) if summary else None,
        **_om_record(cfg),
    }
    info["device"] = perf_rec.get("device") or info["ran"] or cfg.backend
    for key in ("gpu", "tensorrt", "top1_agreement"):  # PROVIDER=tensorrt: the GPU and the fp16 check
        if perf_rec.get(key):
            info[key] = perf_rec[key]
    return info


def chart(rec: Record) -> Path | None:
    """throughput.png beside report.md, from the record's perf figures (None before `make perf`)."""
    if not rec.perf:
        return None
    return charts.throughput(rec.perf, rec.run_dir, f"{rec.info['title']}: throughput against batch size")


def markdown(rec: Record, drawn: Path | None) -> str:
    """report.md's text; ``drawn`` is the chart it links (None: no chart)."""
    info = rec.info
    lines = [
        f"# {info['title']}: {info['backend']} backend, batch size {info['bs']}",
        "",
        f"Run on {info['host']} ({info['machine']}) at {info['date']}; what ran: {info['ran'] or info['backend']}.",
        f"Dataset `{info['dataset']}`, labels `{info['labels']}`.",
        f"Produced by: {rec.produced_by}.",
        "",
        "## Accuracy",
        "",
        *_accuracy_rows(info, rec.published),
        "",
    ]
    if rec.nan:
        nan = rec.nan
        lines += [f"**{len(nan)} outputs hold NaN** (scored as the guides' script would): {', '.join(nan[:10])}", ""]
    lines += rec.precision
    lines += _parity_lines(info["parity"])
    lines += _throughput_lines(rec, drawn)
    lines += ["## Versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info["versions"].items()]
    lines += ["", "## Checksums (md5)", "", "| file | md5 |", "|---|---|"]
    lines += [f"| {k} (`{rec.files[k]}`) | `{v}` |" for k, v in info["md5"].items()]
    return "\n".join(lines) + "\n"


def _parity_lines(parity: dict | None) -> list[str]:
    """The ONNX-against-PyTorch section (nothing before the export's parity check)."""
    if not parity:
        return []
    n = len(parity["images"])
    return [
        "## ONNX parity with PyTorch",
        "",
        f"{n} real photos, opset {parity['opset']}: max abs difference "
        f"{parity['max_abs_diff']:.3g} (tolerance {parity['tolerance']:.3g}), top-1 agrees on "
        f"{parity['top1_agree']}/{n}, identical top-5 on "
        f"{parity['top5_agree']}/{n}. Simplifier: {parity['simplify_note']}.",
        "",
    ]


def _throughput_lines(rec: Record, drawn: Path | None) -> list[str]:
    """perf.md's table, the chart's link and the pipeline's own figures."""
    title = rec.info["title"]
    perf_md = "(no `make perf` yet)" if rec.perf_md is None else rec.perf_md
    lines = ["## Throughput", "", perf_md, ""]
    if drawn is not None:
        lines += [f"![{title}: samples/s against batch size, measured and published]({drawn.name})", ""]
    if rec.summary:
        lines += [_pipeline_line(rec.summary, rec.perf, rec.info["bs"]), ""]
    return lines


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
