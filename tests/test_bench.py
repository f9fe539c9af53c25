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
    assert "# Benchmarks (quick)" in proc.stdout and "### Preprocess throughput" in proc.stdout
    pre = json.loads((tmp_path / "preprocess.json").read_text())
    assert pre["quick"] and all(r["byte_identical"] and r["files_compared"] > 0 for r in pre["results"])
    ort = json.loads((tmp_path / "ort-vs-torch.json").read_text())
    assert [r["bs"] for r in ort["results"]] == [1] and ort["results"][0]["ratio"] > 0
