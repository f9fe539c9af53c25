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
    stream = json.loads((tmp_path / "stream.json").read_text())
    assert stream["cpu"]["outputs_identical"] and stream["device"]["outputs_identical"]
    assert stream["device"]["bound"] in ("decode-bound", "device-bound") and stream["cpu"]["median"]["decode"] > 0
    rows = json.loads((tmp_path / "summary.json").read_text())["rows"]
    assert {r["goal"] for r in rows} >= {
        "≥ 3.0×",
        "< 0.3 s",
        "≥ 95 %",
        "≥ 4×",
        "≥ 10×",
        "≤ 1.05×",
        "≤ 1.1×",
    }  # every goal has its row
    assert all(r["exact"] in ("", "✓ bytes", "✓ outputs", "✓ result.json") for r in rows)


def test_bench_validates_quick_like_every_setting(tmp_path):
    """QUICK=2 used to start the whole 9-minute benchmark; now one line naming QUICK, before any work."""
    env = {**os.environ, "PROGRESS": "0"}
    proc = subprocess.run(
        ["make", "-s", "bench", "QUICK=2", f"BENCH_OUT={tmp_path}"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "QUICK='2'" in proc.stderr, proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_gpu_script_command_lines(tmp_path):
    """bench/gpu.sh (run where a GPU is lent): its dry run's command lines parse, name valid settings and
    measure what issue 17 asks (streamed vs staged on CUDA with every core decoding, TensorRT for four models)."""
    import shlex

    from bench import scale
    from common import manifest, settings

    env = {**os.environ, "DRY_RUN": "1", "OUT": str(tmp_path / "gpu"), "IMAGES": "2000"}
    proc = subprocess.run(["bash", "bench/gpu.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "gpu").exists()  # a dry run creates nothing
    lines = [shlex.split(line) for line in proc.stdout.splitlines()]
    assert lines[1][1:5] == ["-m", "pip", "install", "--no-index"]  # only the carried wheels

    def split(argv):  # env A=1 B=2 prog args -> ({A: 1, B: 2}, [prog, args])
        argv = argv[1:] if argv[0] == "env" else argv
        k = next(i for i, a in enumerate(argv) if "=" not in a)
        return dict(a.split("=", 1) for a in argv[:k]), argv[k:]

    runs = [split(argv) for argv in lines[2:]]
    gen = next(cmd for _, cmd in runs if cmd[1:3] == ["-m", "bench.imagenet_like"])
    assert int(gen[4]) >= 2000
    found = [(e, cmd) for e, cmd in runs if cmd[1:3] == ["-m", "bench.scale"]]
    assert len(found) == 1
    e, cmd = found[0]
    a = scale.parser().parse_args(cmd[3:])
    assert e["PROVIDER"] == "cuda" and int(e["WORKERS"]) == len(os.sched_getaffinity(0)) and a.backend == "onnx"
    perf = [e for e, cmd in runs if cmd[1:] == ["-m", "common", "perf"]]
    assert sorted(e["MODEL"] for e in perf) == sorted(manifest.guide_models())
    for e in perf:
        s = settings.Settings(e)
        assert s.provider == "tensorrt" and s.backend == "onnx" and s.perf_bs == (1, 4, 8, 16, 32, 64)
