"""`make bench QUICK=1`: the benchmarks run end to end (so they cannot rot), byte-identical and all."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ROOT


@pytest.mark.xdist_group("bench")
def test_quick_bench_runs_and_stays_bit_exact(tmp_path):
    env = {**os.environ, "PROGRESS": "0"}
    proc = subprocess.run(
        ["make", "-s", "bench", "QUICK=1", f"BENCH_OUT={tmp_path}"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "# Benchmarks (quick)" in out and "### Preprocess throughput" in out
    assert "### Postprocess" in out and "### Inference in the pipeline" in out and "### Summary" in out
    pre = json.loads((tmp_path / "preprocess.json").read_text())
    assert pre["quick"] and all(r["byte_identical"] and r["files_compared"] > 0 for r in pre["results"])
    assert all(r["cpu_ratio"] > 0 for r in pre["results"]) and pre["startup_seconds"]["bundle"]["median"] > 0
    # the guides' torchvision pipeline (its transforms written with torch) is the yardstick: same bytes
    assert all(r["reference"].startswith("both baselines match") for r in pre["results"]), pre["results"]
    assert all(r["ratio_torchvision"] > 0 for r in pre["results"])
    ort = json.loads((tmp_path / "ort-vs-torch.json").read_text())
    assert [r["bs"] for r in ort["results"]] == [1] and ort["results"][0]["ratio"] > 0
    post = json.loads((tmp_path / "postprocess.json").read_text())
    assert all(post["result_identical"].values()) and post["ratio_txt"] > 0 and post["ratio_bin_vs_guides_bin"] > 0
    pipe = json.loads((tmp_path / "pipeline.json").read_text())
    assert pipe["outputs_identical"] and 0 < pipe["efficiency"] and len(pipe["efficiency_per_round"]) == pipe["rounds"]
    rows = json.loads((tmp_path / "summary.json").read_text())["rows"]
    assert {r["goal"] for r in rows} >= {"≥ 3.0×", "< 0.3 s", "≥ 95 %", "≥ 4×", "≥ 10×"}  # every goal has its row
    assert all(r["exact"] in ("", "✓ bytes", "✓ outputs", "✓ result.json") for r in rows)


def test_bench_validates_quick_like_every_setting(tmp_path):
    """QUICK=2 used to start the whole 9-minute benchmark; now one line naming QUICK, before any work."""
    env = {**os.environ, "PROGRESS": "0"}
    proc = subprocess.run(
        ["make", "-s", "bench", "QUICK=2", f"BENCH_OUT={tmp_path}"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "QUICK='2'" in proc.stderr, proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []
