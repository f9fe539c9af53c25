"""Benchmark: the bundle's postprocess (``common.postprocess.evaluate``) vs the guides' algorithm
(``bench.baseline_postprocess``, in a process of its own started with the guides' tie order), over the
same synthetic outputs in the ais_bench layout, TXT and BIN, interleaved rounds; result.json compared.

The outputs: logits ~ N(0, 1.5) with a boost on the label, and 2 % of the rows with deliberate exact ties
at the top-5 boundary and on the label's own value (so the tie order matters); TXT written exactly as
``outputs.write`` writes it, BIN holding the TXT's values. The goal's figure is against the guides'
script, which reads TXT; BIN is also given against the same algorithm reading BIN, like for like.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench import baseline_postprocess, report
from bench.report import ROOT, table

WIDTH = 1000
SEED = 123


def build(folder: Path, n: int) -> tuple[Path, Path, Path]:
    """``txt/``, ``bin/`` and ``val_label.txt`` with ``n`` outputs (made once; kept while n and seed match)."""
    from common import fixedtxt, outputs

    txt, binf, labels = folder / "txt", folder / "bin", folder / "val_label.txt"
    stamp = folder / "stamp.json"
    want = {"n": n, "seed": SEED, "width": WIDTH, "version": 1}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return txt, binf, labels
    for d in (txt, binf):
        d.mkdir(parents=True, exist_ok=True)
        for f in os.scandir(d):
            os.unlink(f.path)
    rng = np.random.default_rng(SEED)
    truth = rng.integers(0, WIDTH, n)
    lines = []
    for start in range(0, n, 1000):
        rows = np.arange(start, min(n, start + 1000))
        x = rng.normal(0, 1.5, (len(rows), WIDTH)).astype(np.float32)
        x[np.arange(len(rows)), truth[rows]] += rng.choice([7.0, 3.0, 1.5, 0.0], len(rows), p=[0.7, 0.1, 0.1, 0.1])
        for r in np.flatnonzero(rows % 50 == 7):  # ties straddling the top 5, some on the label's value
            order = np.argsort(-x[r], kind="stable")
            k = int(rng.integers(0, 5))
            x[r, int(rng.integers(0, WIDTH))] = x[r, order[k]]
            if rows[r] % 100 == 7:
                x[r, order[(k + 1) % 5]] = x[r, truth[rows[r]]]
        text = fixedtxt.lines(x)
        values = fixedtxt.parse(b"".join(t[:-1] for t in text))[0].reshape(len(rows), WIDTH)  # what TXT holds
        stems = [f"ILSVRC2012_val_{i + 1:08d}" for i in rows]
        outputs.write_rows([txt / f"{s}_0.txt" for s in stems], x, "TXT")
        outputs.write_rows([binf / f"{s}_0.bin" for s in stems], values, "BIN")
        lines += [f"{s}.JPEG {truth[i]}\n" for s, i in zip(stems, rows, strict=True)]
    labels.write_text("".join(lines))
    stamp.write_text(json.dumps(want))
    return txt, binf, labels


def _baseline(folder: Path, labels: Path, fmt: str, env: dict | None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.baseline_postprocess", "--fmt", fmt, str(folder), str(labels)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _bundle(folder: Path, labels: Path) -> tuple[float, dict]:
    from common import postprocess

    t0 = time.perf_counter()
    acc = postprocess.evaluate(folder, labels)
    return time.perf_counter() - t0, acc.result_json()


def run(quick: bool = False, files: int | None = None) -> dict:
    n = files or (500 if quick else 50_000)
    rounds = 2
    txt, binf, labels = build(report.RESULTS / "post", n)
    env = baseline_postprocess.ties_env(cwd=str(ROOT))
    seconds: dict[str, list[float]] = {"guides_txt": [], "guides_bin": [], "bundle_txt": [], "bundle_bin": []}
    results: dict[str, dict] = {}
    for _ in range(rounds):
        for side in seconds:
            if side.startswith("guides"):
                out = _baseline(txt if side.endswith("txt") else binf, labels, side[-3:], env)
                t, res = out["seconds"], out["result"]
            else:
                t, res = _bundle(txt if side.endswith("txt") else binf, labels)
            seconds[side].append(t)
            results[side] = res
    med = {k: statistics.median(v) for k, v in seconds.items()}
    same = {k: json.dumps(results[k]) == json.dumps(results["guides_txt"]) for k in results}
    return {
        "benchmark": "postprocess",
        "files": n,
        "width": WIDTH,
        "rounds": rounds,
        "seconds": seconds,
        "files_per_s": {k: n / v for k, v in med.items()},
        "ratio_txt": med["guides_txt"] / med["bundle_txt"],
        "ratio_bin_vs_guides_txt": med["guides_txt"] / med["bundle_bin"],
        "ratio_bin_vs_guides_bin": med["guides_bin"] / med["bundle_bin"],
        "ratio_txt_per_round": [g / b for g, b in zip(seconds["guides_txt"], seconds["bundle_txt"], strict=True)],
        "result_identical": same,
        "result": results["guides_txt"],
        "baseline_env": env,
        "tie_rows": int(len(range(7, n, 50))),
    }


def markdown(data: dict) -> str:
    fps = data["files_per_s"]
    same = data["result_identical"]
    rows = [
        [
            "TXT",
            f"{fps['guides_txt']:.0f}",
            f"{fps['bundle_txt']:.0f}",
            f"{data['ratio_txt']:.1f}×",
            "✓" if same["bundle_txt"] else "✗",
        ],
        [
            "BIN (vs the guides' script on TXT)",
            f"{fps['guides_txt']:.0f}",
            f"{fps['bundle_bin']:.0f}",
            f"{data['ratio_bin_vs_guides_txt']:.1f}×",
            "✓" if same["bundle_bin"] else "✗",
        ],
        [
            "BIN (vs the guides' algorithm reading BIN)",
            f"{fps['guides_bin']:.0f}",
            f"{fps['bundle_bin']:.0f}",
            f"{data['ratio_bin_vs_guides_bin']:.1f}×",
            "✓" if same["guides_bin"] else "✗",
        ],
    ]
    head = ["outputs", "guides' algorithm files/s", "bundle files/s", "bundle/guides", "result.json identical"]
    env = data["baseline_env"]
    order = (
        f"the guides' process ran with NPY_DISABLE_CPU_FEATURES={env['NPY_DISABLE_CPU_FEATURES']!r} "
        "(numpy 1.x's tie order)"
        if env
        else "the guides' process ran with this numpy's own tie order (no setting gives numpy 1.x's here)"
    )
    return (
        f"### Postprocess, {data['files']:,} outputs of {data['width']} classes ({data['tie_rows']} with exact ties; "
        f"median of {data['rounds']} interleaved rounds)\n\n"
        + table(head, rows)
        + f"\n\n{order}; bundle in-process, one core."
    )
