"""Speed benchmarks (``make bench``): each prints a Markdown table and writes ``<BENCH_OUT>/<name>.json``;
at the end one table puts every figure beside its baseline and goal (``summary.json``).

    python -m bench.run                         everything (~15 minutes on 2 busy cores)
    python -m bench.run --quick                 a short run: few images and outputs, EfficientNet-Lite0 at bs 1
                                                for ort-vs-torch (the test suite runs it)
    python -m bench.run --only preprocess       bundle preprocess vs the guides' pipeline (and start-up)
    python -m bench.run --only postprocess      bundle postprocess vs the guides' algorithm, TXT and BIN
    python -m bench.run --only pipeline         inference in the pipeline vs the bare session loop
    python -m bench.run --only stream           STREAM=1 vs staged (CPU, and a device at the published 310P3 time)
    python -m bench.run --only ort-vs-torch     ONNX Runtime vs PyTorch on the guide models
                                                (``--only models`` is the same; ``--models`` picks some)

Every figure is a ratio against a baseline timed in the same run, interleaved, so a busy machine slows
both sides alike; the exactness checks (bytes, result.json) decide the exit status, the speed goals do not.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import report
from bench.report import table
from common import manifest, settings
from common.errors import BundleError

CHOICES = ("preprocess", "postprocess", "ort-vs-torch", "pipeline", "stream", "models")
QUICK_MODEL = "efficientnet-lite0"  # the demo model: the quickest to export and time


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def summary_rows(found: dict[str, dict]) -> list[dict]:
    """One row per measured figure: what, baseline, bundle, ratio, goal, met, exact."""
    rows = []
    pre = found.get("preprocess")
    if pre:
        for r in pre["results"]:
            goal = r["model"] == "inceptionresnetv2"  # the goal is stated for InceptionResNetV2
            rows.append(
                {
                    "what": f"preprocess {r['model']} ({r['images']} JPEGs, {pre['workers']} workers), wall",
                    "baseline": f"guides' pipeline (torchvision), 1 process: {r['torchvision_images_per_s']:.0f} img/s",
                    "bundle": f"{r['bundle_images_per_s']:.0f} img/s",
                    "ratio": f"{r['ratio_torchvision']:.2f}×",
                    "goal": "≥ 3.0×" if goal else "—",
                    "met": (_mark(r["ratio_torchvision"] >= 3.0) if goal else "—"),
                    "exact": f"{_mark(r['byte_identical'])} bytes",
                }
            )
            rows.append(
                {
                    "what": f"preprocess {r['model']}, against a faster yardstick",
                    "baseline": f"its arithmetic in PIL + numpy, 1 process: {r['baseline_images_per_s']:.0f} img/s",
                    "bundle": f"{r['bundle_images_per_s']:.0f} img/s",
                    "ratio": f"{r['ratio']:.2f}×",
                    "goal": "—",
                    "met": "—",
                    "exact": f"{_mark(r['byte_identical'])} bytes",
                }
            )
            cpu = r["cpu_ms_per_image"]
            rows.append(
                {
                    "what": f"preprocess {r['model']}, 1 worker (per-core speed)",
                    "baseline": f"{r['baseline_images_per_s']:.0f} img/s",
                    "bundle": f"{r['bundle_1_images_per_s']:.0f} img/s",
                    "ratio": f"{r['ratio_1_worker']:.2f}×",
                    "goal": "—",
                    "met": "—",
                    "exact": f"{_mark(r['byte_identical'])} bytes",
                }
            )
            rows.append(
                {
                    "what": f"preprocess {r['model']}, CPU time per image ({pre['workers']} workers / 1 worker)",
                    "baseline": f"{cpu['baseline']:.2f} ms",
                    "bundle": f"{cpu['bundle']:.2f} / {cpu['bundle_1']:.2f} ms",
                    "ratio": f"{r['cpu_ratio']:.2f}× / {r['cpu_ratio_1_worker']:.2f}×",
                    "goal": "—",
                    "met": "—",
                    "exact": "",
                }
            )
        st = pre["startup_seconds"]
        rows.append(
            {
                "what": "preprocess start-up: a whole process on 1 image",
                "baseline": f"{st['baseline']['median']:.2f} s",
                "bundle": f"{st['bundle']['median']:.2f} s",
                "ratio": f"{st['baseline']['median'] / st['bundle']['median']:.2f}×",
                "goal": "< 0.3 s",
                "met": _mark(st["bundle"]["median"] < 0.3),
                "exact": "",
            }
        )
    pipe = found.get("pipeline")
    if pipe:
        sps = pipe["samples_per_s"]
        rows.append(
            {
                "what": f"inference in the pipeline, {pipe['model'].split(' ')[0]} bs {pipe['bs']}, end to end",
                "baseline": f"bare session loop: {sps['bare']:.1f} samples/s",
                "bundle": f"{sps['pipeline']:.1f} samples/s",
                "ratio": f"{100 * pipe['efficiency']:.1f} %",
                "goal": "≥ 95 %",
                "met": _mark(pipe["efficiency"] >= 0.95),
                "exact": f"{_mark(pipe['outputs_identical'])} outputs",
            }
        )
    if found.get("stream"):
        from bench import stream_bench

        rows += stream_bench.summary_rows(found["stream"])
    post = found.get("postprocess")
    if post:
        fps, same = post["files_per_s"], post["result_identical"]
        for what, key, base, ratio, goal in (
            ("TXT", "bundle_txt", "guides_txt", post["ratio_txt"], 4.0),
            ("BIN", "bundle_bin", "guides_txt", post["ratio_bin_vs_guides_txt"], 10.0),
            ("BIN, like for like (guides' algorithm reading BIN)", "bundle_bin", "guides_bin", None, None),
        ):
            r = ratio if ratio is not None else post["ratio_bin_vs_guides_bin"]
            rows.append(
                {
                    "what": f"postprocess {post['files']:,} outputs, {what}",
                    "baseline": f"guides' script{' on TXT' if base == 'guides_txt' else ''}: {fps[base]:.0f} files/s",
                    "bundle": f"{fps[key]:.0f} files/s",
                    "ratio": f"{r:.1f}×",
                    "goal": f"≥ {goal:g}×" if goal else "—",
                    "met": _mark(r >= goal) if goal else "—",
                    "exact": f"{_mark(same[key] and same[base])} result.json",
                }
            )
    ovt = found.get("ort-vs-torch")
    if ovt:
        for r in ovt["results"]:
            rows.append(
                {
                    "what": f"ONNX Runtime vs PyTorch (CPU), {r['model']} bs {r['bs']}",
                    "baseline": f"PyTorch: {r['pytorch_samples_per_s']:.1f} samples/s",
                    "bundle": f"{r['ort_samples_per_s']:.1f} samples/s",
                    "ratio": f"{r['ratio']:.2f}×",
                    "goal": "—",
                    "met": "—",
                    "exact": "",
                }
            )
    return rows


def summary_markdown(rows: list[dict]) -> str:
    head = ["measurement", "baseline (same run)", "bundle", "bundle/baseline", "goal", "met", "exact"]
    keys = ["what", "baseline", "bundle", "ratio", "goal", "met", "exact"]
    return "### Summary: every figure against its baseline\n\n" + table(head, [[r[k] for k in keys] for r in rows])


def main(argv: list[str] | None = None) -> int:
    guide = manifest.guide_models()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=CHOICES, help="run one benchmark (models = ort-vs-torch)")
    ap.add_argument("--quick", action="store_true", help="few images and outputs, fewer runs and rounds")
    ap.add_argument("--models", nargs="+", choices=guide, help="guide models to time (default: all; --quick: Lite0)")
    ap.add_argument("--out", type=Path, default=report.RESULTS, help="folder for results (default work/bench)")
    ap.add_argument("--post-files", type=int, help="outputs the postprocess benchmark scores (default 50,000)")
    args = ap.parse_args(argv)
    try:  # make bench QUICK=1: the setting, validated like every other one (QUICK=2 is an error, not a full run)
        args.quick = args.quick or bool(settings.Settings(scope="make").quick)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report.set_results(args.out)
    models = args.models or ([QUICK_MODEL] if args.quick else guide)
    todo = ["preprocess", "postprocess", "ort-vs-torch", "pipeline", "stream"]
    if args.only:
        todo = ["ort-vs-torch" if args.only == "models" else args.only]

    start = time.perf_counter()
    info = report.machine()
    print(
        f"# Benchmarks{' (quick)' if args.quick else ''}\n\n{info['cpus_usable']} usable CPUs, "
        f"load average at start {', '.join(f'{v:.2f}' for v in info['loadavg_at_start'])}; "
        f"Python {info['python']}, NumPy {info['numpy']}, Pillow {info['pillow']}.\n",
        flush=True,
    )
    problems = []
    found: dict[str, dict] = {}
    for name in todo:
        t0 = time.perf_counter()
        if name == "preprocess":
            from bench import preprocess_bench as mod

            data = mod.run(quick=args.quick)
            if not all(r["byte_identical"] for r in data["results"]):
                problems.append("the bundle's preprocess output differs from the baseline's")
        elif name == "postprocess":
            from bench import postprocess_bench as mod

            data = mod.run(quick=args.quick, files=args.post_files)
            if not all(data["result_identical"].values()):
                problems.append("a result.json differs from the guides' algorithm's")
        elif name == "pipeline":
            from bench import pipeline_bench as mod

            data = mod.run(quick=args.quick)
            if not data["outputs_identical"]:
                problems.append("the pipeline's TXT outputs differ from '%f' of the bare loop's outputs")
        elif name == "stream":
            from bench import stream_bench as mod

            data = mod.run(quick=args.quick)
            if not (data["cpu"]["outputs_identical"] and data["device"]["outputs_identical"]):
                problems.append("a streamed run's outputs differ from the staged run's")
        else:
            from bench import ort_vs_torch as mod

            data = mod.run(quick=args.quick, models=models)
        load = os.getloadavg()
        data.update(machine=info, quick=args.quick, seconds=round(time.perf_counter() - t0, 1), loadavg_at_end=load)
        path = report.write_json(f"{name}.json", data)
        found[name] = data
        print(
            f"\n{mod.markdown(data)}\n\n({data['seconds']:.0f} s, load average at end {load[0]:.2f}; "
            f"results: {path})\n",
            flush=True,
        )
    rows = summary_rows(found)
    report.write_json("summary.json", {"rows": rows, "machine": info, "loadavg_at_end": os.getloadavg()})
    total = time.perf_counter() - start
    print(f"{summary_markdown(rows)}\n\nTotal {total:.0f} s, load average at end {os.getloadavg()[0]:.2f}.")
    for p in problems:
        print(f"FAILED: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
