"""Backend choice: BACKEND=auto is om only where an NPU (npu-smi) and ais_bench are present."""

from __future__ import annotations

import sys

import pytest

from common import backends
from common.errors import BundleError
from tests.conftest import ROOT

FAKES = ROOT / "tests" / "fakes"


def test_auto_is_onnxruntime_without_cann(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delitem(sys.modules, "ais_bench", raising=False)
    assert backends.resolve("auto") == "onnx"
    assert backends.resolve("") == "onnx"


def test_auto_is_om_with_an_npu_and_ais_bench(monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES / 'bin'}:/usr/bin:/bin")
    monkeypatch.syspath_prepend(str(FAKES))
    assert backends.resolve("auto") == "om"
    assert backends.resolve("ONNX") == "onnx"


def test_unknown_backend_is_one_line(monkeypatch):
    with pytest.raises(BundleError, match="BACKEND=tensorrt: expected auto, onnx, om, benchmark or torch"):
        backends.resolve("tensorrt")


TOY = '''"""BACKEND=toy: each input's sum, in one file (tests/test_backends.py: adding a backend is one file)."""

from __future__ import annotations

from .. import ONNX, Backend, Session


class SumSession(Session):
    name = "toy"

    def run(self, batch):
        return [batch.reshape(len(batch), -1).sum(1, keepdims=True)]


def make(art):
    from ..runner import SessionRunner

    return SessionRunner(lambda bs: SumSession(), art.cfg.settings.bs, art.cfg.model.input_shape, progress=False)


BACKEND = Backend("toy", "a sum, for the tests", (ONNX,), make, order=90)
'''

PROVE = """
import sys
from pathlib import Path
import numpy as np
from common import backends, settings
from common.artifacts import Artifacts
from common.config import Config
out = Path(sys.argv[1])
assert "toy" in backends.names() and settings.Settings({"BACKEND": "toy"}).backend == "toy"
cfg = Config.from_env({"BACKEND": "toy", "MODEL": "efficientnet-lite0", "BS": "2", "WORK": str(out / "work")})
inputs = []
for i in range(3):
    inputs.append(out / f"x{i}.bin")
    np.full(cfg.model.input_shape, i, np.float32).tofile(inputs[-1])
with Artifacts(cfg).runner() as r:
    r.infer(inputs, out / "outputs")
print(cfg.backend, sorted(p.name for p in (out / "outputs").iterdir()))
"""


def test_a_backend_is_one_file(tmp_path):
    """A copy of common/ plus one file in backends/specs: listed, in make help, BACKEND=toy selects it, it runs."""
    import shutil
    import subprocess

    here = tmp_path / "tree"
    shutil.copytree(ROOT / "common", here / "common", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("manifests", "models"):
        (here / name).symlink_to(ROOT / name)
    (here / "common" / "backends" / "specs" / "toy.py").write_text(TOY)
    run = {"cwd": here, "capture_output": True, "text": True, "env": {"PATH": "/usr/bin:/bin", "PROGRESS": "0"}}
    helped = subprocess.run([sys.executable, "-m", "common.settings", "help"], **run)
    assert "toy (a sum, for the tests)" in helped.stdout, helped.stderr
    proved = subprocess.run([sys.executable, "-c", PROVE, str(tmp_path)], **run)
    assert proved.returncode == 0, proved.stderr
    assert proved.stdout.split() == ["toy", "['x0_0.txt',", "'x1_0.txt',", "'x2_0.txt']"]
    assert "toy" not in backends.names()  # the checkout's registry is untouched


def test_the_registry_is_light_and_python37():
    """common.settings (and a travelled test/parse.py) read the registry: stdlib only, Python 3.7 syntax."""
    import ast
    import subprocess

    for path in [ROOT / "common/backends/__init__.py", *(ROOT / "common/backends/specs").glob("*.py")]:
        ast.parse(path.read_text(), feature_version=(3, 7))
    heavy = "{'numpy', 'torch', 'onnxruntime'}"
    code = f"import sys; from common import runs, settings; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registry_answers_what_the_modules_asked_by_name():
    assert backends.names() == ("onnx", "om", "benchmark", "torch")
    assert [b for b in backends.names() if backends.is_ascend(b)] == ["om", "benchmark"]
    assert [backends.label(b) for b in (*backends.names(), "", "x")] == ["onnx", "om", "om", "torch", "om", "om"]
    assert backends.fallback() == "onnx" and backends.per_chip("benchmark.x86_64") and not backends.per_chip("ais")
    assert backends.fp16_variant({"tensorrt": "10.0"}) and backends.fp16_variant({}, "ONNX Runtime TensorRT 10")
    assert not backends.fp16_variant({}, "ONNX Runtime 1.20 (CPUExecutionProvider)")
    assert backends.select("onnx", "tensorrt").name == "tensorrt" and backends.select("om", "tensorrt").name == "om"
    with pytest.raises(BundleError, match="PROVIDER=tensorrt runs ONNX Runtime's TensorRT provider: BACKEND=torch"):
        backends.select("torch", "tensorrt")
