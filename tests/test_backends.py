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
