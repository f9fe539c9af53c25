"""Inference backends behind one small interface; the runner never knows which one runs.

A backend is opened on a model file and answers ``run(batch) -> list of output arrays``; it reports
its ``batch`` (fixed batch size, or None when any batch size is accepted), ``input_name``,
``describe()`` (what ran: provider, device) and optionally ``own_timings()`` (the tool's own
compute-time list in ms, e.g. ais_bench's NPU figures).
"""

from __future__ import annotations

import shutil
from typing import Protocol

import numpy as np

from common.errors import BundleError


class Backend(Protocol):
    name: str
    batch: int | None
    input_name: str

    def run(self, batch: np.ndarray) -> list[np.ndarray]: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


def cann_present() -> bool:
    """True when an Ascend NPU and ais_bench are usable here (the ``auto`` rule)."""
    if shutil.which("npu-smi") is None:
        return False
    try:
        import ais_bench  # noqa: F401
    except ImportError:
        return False
    return True


def resolve(name: str) -> str:
    """``auto`` picks ``om`` where CANN and an NPU are present, else ONNX Runtime."""
    name = (name or "auto").lower()
    if name == "auto":
        return "om" if cann_present() else "onnx"
    if name not in ("onnx", "om", "benchmark", "torch"):
        raise BundleError(f"BACKEND={name}: expected auto, onnx, om, benchmark or torch")
    return name


def open_backend(name: str, model_path, device: str = "0", **kwargs) -> Backend:
    """Open ``model_path`` (.onnx or .om) with the named backend."""
    if name == "onnx":
        from common.backends.onnxruntime import OrtBackend

        return OrtBackend(model_path, device=device, **kwargs)
    if name == "om":
        from common.backends.ais_bench import AisBenchBackend

        return AisBenchBackend(model_path, device=device, **kwargs)
    raise BundleError(f"BACKEND={name} cannot be opened as a session (the benchmark tool runs whole datasets)")
