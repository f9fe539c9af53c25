"""SHARD=i/N + make merge: docs/sharding.md's Kubernetes and Slurm command lines, run as written (with a small
model), give the result.json and outputs of a single-host run, byte for byte."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

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
