"""Speed benchmarks (``make bench``): each prints a Markdown table and writes ``work/bench/<name>.json``.

    python -m bench.run                         everything (~7 minutes on 2 cores)
    python -m bench.run --quick                 a short run: few images, one model at bs 1 (the test suite runs it)
    python -m bench.run --only preprocess       bundle preprocess vs a plain single-process baseline
    python -m bench.run --only ort-vs-torch     ONNX Runtime vs PyTorch on the guide models
                                                (``--only models`` is the same; ``--models`` picks some)

Every figure is a ratio against a baseline timed in the same process, interleaved, so a busy
machine slows both sides alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import report
from common import manifest

CHOICES = ("preprocess", "ort-vs-torch", "models")


def main(argv: list[str] | None = None) -> int:
    guide = manifest.guide_models()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=CHOICES, help="run one benchmark (models = ort-vs-torch)")
    ap.add_argument("--quick", action="store_true", help="few images, one model at bs 1, fewer runs and rounds")
    ap.add_argument("--models", nargs="+", choices=guide, help="guide models to time (default: all; --quick: one)")
    ap.add_argument("--out", type=Path, default=report.RESULTS, help="folder for results (default work/bench)")
    args = ap.parse_args(argv)
    report.set_results(args.out)
    models = args.models or (guide[:1] if args.quick else guide)
    todo = ["preprocess", "ort-vs-torch"]
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
    ok = True
    for name in todo:
        t0 = time.perf_counter()
        if name == "preprocess":
            from bench import preprocess_bench as mod

            data = mod.run(quick=args.quick)
            ok &= all(r["byte_identical"] for r in data["results"])
        else:
            from bench import ort_vs_torch as mod

            data = mod.run(quick=args.quick, models=models)
        load = os.getloadavg()
        data.update(machine=info, quick=args.quick, seconds=round(time.perf_counter() - t0, 1), loadavg_at_end=load)
        path = report.write_json(f"{name}.json", data)
        print(
            f"\n{mod.markdown(data)}\n\n({data['seconds']:.0f} s, load average at end {load[0]:.2f}; "
            f"results: {path})\n",
            flush=True,
        )
    print(f"Total {time.perf_counter() - start:.0f} s.")
    if not ok:
        print("FAILED: the bundle's preprocess output differs from the baseline's", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
