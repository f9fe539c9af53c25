"""Backend choice: BACKEND=auto is om only where an NPU (npu-smi) and ais_bench are present."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

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
import ast
import sys
from pathlib import Path
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


# ---- issue 20, item 2: runners follow one template (Polygraphy's BaseRunner.infer -> infer_impl)
PUBLIC = ("prepare", "infer", "perf", "stream")


def public_overrides(source: str, filename: str = "<source>") -> list[str]:
    """``Class.method`` for each runner class in ``source`` (a base named ``...Runner``) that defines one
    of the template's public methods itself instead of its underscored part."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
        if any(b.endswith("Runner") for b in bases):
            defs = [f.name for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
            found += [f"{filename}: {node.name}.{name}" for name in defs if name in PUBLIC]
    return found


def test_no_runner_overrides_the_template():
    """Every concrete runner in common/backends/ implements only _prepare/_infer/_perf/_stream."""
    from common.backends import ais_bench, benchmark, runner, tensorrt

    found = []
    for path in sorted((ROOT / "common" / "backends").rglob("*.py")):
        found += public_overrides(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []
    classes = [runner.SessionRunner, tensorrt.TensorrtRunner, ais_bench.AisBenchRunner, benchmark.BenchmarkRunner]
    for cls in classes:  # the same, asked of the classes themselves
        assert [n for n in PUBLIC if getattr(cls, n) is not getattr(backends.Runner, n)] == [], cls
    assert public_overrides("class R(SessionRunner):\n    def infer(self, i, o): ...\n") == ["<source>: R.infer"]


class Counting(backends.Runner):
    """A toy runner: counts the calls of its parts; its model file is ``model``, its gears ``gears``."""

    name = "toy"

    def __init__(self, model: Path, bs: int = 4, gears: tuple = ()) -> None:
        self.model, self.bs, self.gears, self.calls = model, bs, gears, []

    def model_file(self, bs: int) -> Path:
        self.calls.append(f"model_file({bs})")
        return self.model

    def _prepare(self) -> None:
        self.calls.append("_prepare")

    def _infer(self, inputs, out_dir) -> dict:
        self.calls.append(f"_infer({type(out_dir).__name__})")
        return {}

    def _perf(self, bs: int):
        self.calls.append(f"_perf({bs})")

    def _stream(self, feed) -> None:
        self.calls.append("_stream")


def test_the_template_checks_once_then_calls_the_part(tmp_path):
    model = tmp_path / "m.om"
    model.write_bytes(b"\0")
    r = Counting(model, gears=(1, 4, 8))
    r.prepare()
    r.infer([], str(tmp_path / "out"))
    r.perf(8)
    r.stream(object())
    want = ["model_file(4)", "_prepare", "model_file(4)", "_infer(PosixPath)", "model_file(8)", "_perf(8)", "_stream"]
    assert r.calls == want
    with pytest.raises(BundleError, match=r"^BS=2 is not one of the dynamic-batch OM's gears \(1,4,8\)"):
        r.perf(2)
    assert r.calls[-1] == "model_file(2)"  # the file first, then the gear; the part never ran


def test_a_missing_model_file_is_the_one_message(tmp_path):
    gone = tmp_path / "gone.om"
    r = Counting(gone)
    for call in (r.prepare, lambda: r.infer([], tmp_path), lambda: r.perf(4)):
        with pytest.raises(BundleError, match=rf"^{gone}: no OM model \(run `make om` first\)$"):
            call()
    assert r.calls == ["model_file(4)"] * 3  # checked once per call, and no part ran
    r.stream(object())  # streaming checks nothing first: a runner that cannot stream refuses before the file
    assert r.calls[-1] == "_stream"


def test_the_om_runners_give_the_templates_message(tmp_path):
    from common.backends.ais_bench import AisBenchRunner
    from common.backends.benchmark import BenchmarkRunner

    gone = tmp_path / "gone.om"
    om = AisBenchRunner(lambda bs: gone, ["0"], 4, (3, 8, 8))
    for call in (om.prepare, lambda: om.infer([], tmp_path), lambda: om.perf(4)):
        with pytest.raises(BundleError, match=rf"^{gone}: no OM model \(run `make om` first\)$"):
            call()
    tool = tmp_path / "benchmark.x"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    bench = BenchmarkRunner(lambda bs: gone, 4, (3, 8, 8), tool=str(tool))
    with pytest.raises(BundleError, match=rf"^{gone}: no OM model"):
        bench.perf(4)
    with pytest.raises(BundleError, match="not an executable file"):  # the tool is looked for first
        BenchmarkRunner(lambda bs: gone, 4, (3, 8, 8), tool=str(tmp_path / "none")).prepare()
