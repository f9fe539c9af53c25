"""One Markdown page (and a run.json) per run: accuracy against the published figures, parity,
throughput, and the exact versions and checksums used."""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata
from pathlib import Path

from common import atomic
from common.config import Config

PACKAGES = ("torch", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxsim", "numpy", "pillow", "ais_bench")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return found


def read_json(path: Path) -> dict | None:
    """A JSON file's content, or None when it is missing or unreadable (a report renders regardless)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _accuracy_rows(cfg: Config, result: dict | None) -> list[str]:
    got = {}
    if result:
        got = {v["key"]: v["value"] for v in result["value"]}
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


def write(cfg: Config) -> Path:
    from common.cli import dataset
    from common.weights import cached_md5

    m = cfg.model
    run = cfg.run_dir
    result = read_json(run / "result.json")
    summary = read_json(run / "outputs_summary.json") or {}
    parity = read_json(cfg.onnx_path().with_suffix(".parity.json"))
    try:
        val, labels = dataset(cfg)
    except Exception:  # noqa: BLE001 - the report still renders without a dataset
        val, labels = Path(cfg.dataset), Path(cfg.labels or "?")
    files = {"onnx": cfg.onnx_path(), "info": cfg.info_path, "result.json": run / "result.json"}
    if parity and parity.get("weights"):
        files = {"weights": Path(parity["weights"]["file"]), **files}
    om_dir = cfg.work / "om"
    for om in sorted(om_dir.glob("*.om")) if om_dir.is_dir() else []:
        files[f"om {om.name}"] = om
    sums = {k: cached_md5(p) for k, p in files.items() if p.is_file()}
    info = {
        "model": m.name,
        "title": m.title,
        "backend": cfg.backend,
        "bs": cfg.bs,
        "ran": summary.get("args", {}).get("backend", ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "machine": platform.machine(),
        "dataset": str(val),
        "labels": str(labels),
        "result": result,
        "parity": parity,
        "md5": sums,
        "versions": versions(),
        "infer_throughput": summary.get("throughput"),
        "infer_timing": summary.get("timing_source"),
    }
    atomic.write_json(run / "run.json", info, indent=1)
    lines = [
        f"# {m.title}: {cfg.backend} backend, batch size {cfg.bs}",
        "",
        f"Run on {info['host']} ({info['machine']}) at {info['date']}; what ran: {info['ran'] or cfg.backend}.",
        f"Dataset `{val}`, labels `{labels}`.",
        "",
        "## Accuracy",
        "",
        *_accuracy_rows(cfg, result),
        "",
    ]
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
    perf_md = run / "perf.md"
    lines += [
        "## Throughput",
        "",
        perf_md.read_text().strip() if perf_md.is_file() else "(no `make perf` yet)",
        "",
    ]
    if summary:
        lines += [
            f"Inference over the dataset: {summary.get('throughput', 0):.2f} samples/s "
            f"({summary.get('timing_source', '')})"
            + (
                f"; host-measured around each run: {summary['host_throughput']:.2f} samples/s."
                if summary.get("host_throughput")
                else "."
            ),
            "",
        ]
    lines += ["## Versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info["versions"].items()]
    lines += ["", "## Checksums (md5)", "", "| file | md5 |", "|---|---|"]
    lines += [f"| {k} (`{files[k]}`) | `{v}` |" for k, v in sums.items()]
    path = run / "report.md"
    atomic.write_text(path, "\n".join(lines) + "\n")
    return path
