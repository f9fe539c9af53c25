"""SHARD=i/N + make merge: docs/sharding.md's Kubernetes and Slurm command lines, run as written (with a small
model), give the result.json and outputs of a single-host run, byte for byte."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from common.errors import BundleError
from common.shard import Shard
from tests.conftest import ROOT, run_step

SMALL = {"MODEL=inceptionresnetv2 BS=16": "MODEL=efficientnet-lite0 BS=4", "-bs16-": "-bs4-"}


def readme_commands() -> dict[str, str]:
    text = (ROOT / "docs" / "sharding.md").read_text()
    k8s = re.search(r"^\s+- (make .*\$JOB_COMPLETION_INDEX.*)$", text, re.M)[1]
    slurm = re.search(r"^(make .*\$SLURM_ARRAY_TASK_ID.*)$", text, re.M)[1]
    merge = re.search(r"^(make .* merge postprocess)$", text, re.M)[1]
    return {"k8s": k8s, "slurm": slurm, "merge": merge}


def test_shard_slices_are_whole_batches_stable_and_cover_everything():
    items = [f"img{i}" for i in range(10)]
    parts = [Shard(i, 3).slice(items) for i in range(3)]
    assert parts == [items[0:3], items[3:6], items[6:10]] and sum(parts, []) == items
    parts = [Shard(i, 2).slice(items, bs=4) for i in range(2)]  # 3 batches: 4+4+2
    assert parts == [items[0:4], items[4:10]]  # every batch is one of the single-host run's
    assert [Shard(i, 4).slice(items, bs=4) for i in range(4)] == [[], items[0:4], items[4:8], items[8:10]]
    assert Shard.parse("") is None and Shard.parse(" 1/4 ") == Shard(1, 4)
    for bad in ("4/4", "1", "-1/2", "a/b", "0/0"):
        with pytest.raises(BundleError, match="expected i/N"):
            Shard.parse(bad)


@pytest.mark.xdist_group("shard")
def test_readme_shard_command_lines_merge_to_the_single_host_result(tmp_path):
    env = {**os.environ, "PROGRESS": "0", "PYTHONPATH": str(ROOT), "BACKEND": "onnx"}
    env["WEIGHTS_DIR"] = str(tmp_path / "weights")
    single = tmp_path / "single"
    for step in ("sample", "onnx", "preprocess", "info", "infer", "postprocess"):
        run_step(
            step,
            {
                "MODEL": "efficientnet-lite0",
                "BS": 4,
                "WORK": single,
                "DATASET": "sample",
                "SAMPLE_DIR": tmp_path / "sample",
                "WEIGHTS_DIR": tmp_path / "weights",
                "BACKEND": "onnx",
            },
        )
    val = tmp_path / "sample" / "val"
    want = (single / "onnx-bs4" / "result.json").read_bytes()
    outs = {p.name: p.read_bytes() for p in (single / "onnx-bs4" / "outputs").iterdir()}

    def run(line: str, shared, **extra) -> None:
        for a, b in {**SMALL, "/shared/irv2": str(shared), "/shared/imagenet/val": str(val)}.items():
            line = line.replace(a, b)
        for work in [shared / f"shard-{i}" for i in range(4)] + [shared / "merged"]:  # the exported ONNX, reused
            work.mkdir(parents=True, exist_ok=True)
            shutil.copy2(single / ".modelzoo-work", work)  # a work folder, as the steps made it
            for f in single.glob("efficientnet-lite0.*"):
                shutil.copy2(f, work / f.name)
        proc = subprocess.run(["bash", "-c", line], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True)
        assert proc.returncode == 0, line + "\n" + proc.stdout + proc.stderr

    cmd = readme_commands()
    for scheduler, tasks in (("k8s", 4), ("slurm", 2)):
        shared = tmp_path / scheduler
        for i in range(tasks):
            if scheduler == "k8s":
                run(cmd["k8s"], shared, JOB_COMPLETION_INDEX=str(i))
            else:
                run(cmd["slurm"], shared, SLURM_ARRAY_TASK_ID=str(i), SLURM_ARRAY_TASK_COUNT=str(tasks))
        counts = [len(list((shared / f"shard-{i}").glob("*/outputs/*_0.txt"))) for i in range(tasks)]
        # every image once; 9 images are 3 batches of 4, so with 4 shards one shard is empty (and says so)
        assert sum(counts) == 9 and counts == ([0, 4, 4, 1] if tasks == 4 else [4, 5]), counts
        run(cmd["merge"], shared)
        merged = shared / "merged" / "onnx-bs4"
        assert (merged / "result.json").read_bytes() == want, scheduler
        assert {p.name: p.read_bytes() for p in (merged / "outputs").iterdir()} == outs


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two shards (SHARD=0/2, 1/2, BS=4) of the nine sample photos, each in its own work folder."""
    base = tmp_path_factory.mktemp("merge")
    env = {
        "MODEL": "efficientnet-lite0",
        "BS": 4,
        "DATASET": "sample",
        "SAMPLE_DIR": base / "sample",
        "WEIGHTS_DIR": base / "weights",
        "BACKEND": "onnx",
    }
    run_step("onnx", {**env, "WORK": base / "shard-0"})
    for i in (0, 1):
        work = base / f"shard-{i}"
        work.mkdir(exist_ok=True)
        for f in [*(base / "shard-0").glob("efficientnet-lite0.*"), base / "shard-0" / ".modelzoo-work"]:
            if not (work / f.name).exists():  # the export and the marker: a work folder, as the steps made it
                shutil.copy2(f, work / f.name)
        for step in ("preprocess", "info", "infer"):
            run_step(step, {**env, "WORK": work, "SHARD": f"{i}/2"})
    val = base / "sample" / "val"
    return base, {**env, "DATASET": val, "LABELS": base / "sample" / "val_label.txt"}


@pytest.mark.xdist_group("shard")
def test_merge_refuses_what_is_not_one_complete_disjoint_split(shards, tmp_path):
    base, env = shards
    s0, s1 = base / "shard-0" / "onnx-bs4-shard0of2", base / "shard-1" / "onnx-bs4-shard1of2"

    def merge(*runs, **extra) -> subprocess.CompletedProcess:
        full = {**env, "WORK": tmp_path / "merged", "RUNS": " ".join(map(str, runs)), **extra}
        return run_step("merge", full, check=False)

    def refused(proc, message: str) -> None:
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1

    refused(merge(s0), "shard(s) 1/2 missing")
    twice = tmp_path / "again" / s0.name
    shutil.copytree(s0, twice)
    refused(merge(s0, twice, s1), "shard 0/2 is given twice")
    refused(merge(s0, s1, BS=2), "ran with BS=4, this merge has 2")
    other = tmp_path / "other" / s1.name
    shutil.copytree(s1, other)
    rec = json.loads((other / "infer.json").read_text())
    (other / "infer.json").write_text(json.dumps({**rec, "model": "0" * 32}))
    refused(merge(s0, other), "ran another model file")
    (other / "infer.json").write_text(json.dumps(rec)[:40])
    refused(merge(s0, other), "infer.json is missing or unreadable")
    (other / "infer.json").write_text(json.dumps(rec))
    next(iter(sorted((other / "outputs").glob("*_0.txt")))).unlink()
    refused(merge(s0, other), "is incomplete or mixed: 1 output(s) missing")
    proc = merge(s0, s1)
    assert proc.returncode == 0 and "9 samples" in proc.stdout, proc.stderr
    gone = sorted(Path(env["DATASET"]).iterdir())[-1]
    moved = tmp_path / gone.name
    shutil.move(gone, moved)  # an image left the dataset: the shards split another one
    try:
        refused(merge(s0, s1), "split another dataset than DATASET=")
    finally:
        shutil.move(moved, gone)
    assert merge(s0, s1).returncode == 0
    assert len(list((tmp_path / "merged" / "onnx-bs4" / "outputs").glob("*_0.txt"))) == 9
