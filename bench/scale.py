"""Scale figures of the streaming run: one model over a folder of ImageNet-size JPEGs, staged
(``preprocess``, ``info``, ``infer``, ``postprocess``, each under ``/usr/bin/time -v``) and streamed
(``STREAM=1 infer``, ``postprocess``) in work folders of their own: wall, peak RSS, bytes in WORK and
whether the two result.json are the same bytes.

    python -m bench.scale --images DIR --labels val_label.txt --work DIR [--model M --bs N --backend B]
        [--weights CKPT] [--only staged|streamed] [--out result.json]

The model files are made once in ``<work>/model`` and copied into both work folders, so neither run
times an export. Run it under ``nice -n 10`` on a shared host; it prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
_OUTS = re.compile(r"File system outputs: (\d+)")


def du(path: Path) -> int:
    """Bytes of the files under ``path``."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def timed(step: str, env: dict) -> dict:
    """One ``python -m common <step>`` under /usr/bin/time -v: wall s, peak RSS MB, blocks written."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "common", step], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    rss = _RSS.search(proc.stderr)
    outs = _OUTS.search(proc.stderr)
    return {
        "step": step,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(int(rss[1]) / 1024, 1) if rss else None,
        "fs_written_mb": round(int(outs[1]) * 512 / 1e6, 1) if outs else None,
        "says": [line for line in proc.stdout.splitlines() if "infer:" in line or "preprocess:" in line][-1:],
    }


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", default="efficientnet-lite0")
    ap.add_argument("--bs", default="64")
    ap.add_argument("--backend", default="onnx")
    ap.add_argument("--weights", default="", help="a checkpoint (default: tests/synth_checkpoint.py makes one)")
    ap.add_argument("--only", choices=("staged", "streamed"))
    ap.add_argument("--out", default="")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    base = Path(a.work).resolve()
    base.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROGRESS": "0", "MODEL": a.model, "BS": a.bs}
    env.update({"BACKEND": a.backend, "DATASET": str(Path(a.images).resolve())})
    env["LABELS"] = str(Path(a.labels).resolve())
    weights = a.weights
    if not weights:
        sys.path.insert(0, str(ROOT))
        from common import manifest
        from tests.synth_checkpoint import make

        weights = str(make(a.model, base / "ckpt" / manifest.load(a.model).weights.file))
    env.update({"WEIGHTS": weights, "VERIFY": "0"})
    model = base / "model"
    if not any(model.glob("*.onnx")):
        subprocess.run([sys.executable, "-m", "common", "onnx"], env={**env, "WORK": str(model)}, check=True)
    images = sum(1 for _ in os.scandir(a.images))
    out = {"model": a.model, "bs": int(a.bs), "backend": a.backend, "images": images, "cores": os.cpu_count()}
    plans = {"staged": ("preprocess", "info", "infer", "postprocess"), "streamed": ("infer", "postprocess")}
    for mode, steps in plans.items():
        if a.only and a.only != mode:
            continue
        work = base / mode
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(model, work)
        e = {**env, "WORK": str(work), **({"STREAM": "1"} if mode == "streamed" else {})}
        before = du(work)
        rows = [timed(s, e) for s in steps]
        out[mode] = {
            "steps": rows,
            "wall_s": round(sum(r["wall_s"] for r in rows), 2),
            "peak_rss_mb": max(r["peak_rss_mb"] or 0 for r in rows),
            "work_bytes_written": du(work) - before,
            "bin_files": sum(1 for _ in work.rglob("*.bin")),
        }
    if "staged" in out and "streamed" in out:
        run = f"{a.backend}-bs{a.bs}"
        results = [(base / mode / run / "result.json").read_bytes() for mode in plans]
        out["result_json_equal"] = results[0] == results[1]
        out["streamed_over_staged_wall"] = round(out["streamed"]["wall_s"] / out["staged"]["wall_s"], 3)
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
