"""Every way of running inference behind one interface.

A ``Runner`` infers a list of input files into an output folder (ais_bench layout, summary beside it)
and measures throughput per batch size; ``infer_step`` and ``perf_step`` never know which one runs.
Most runners drive a ``Session`` (a model loaded in this process: ONNX Runtime, PyTorch, the
ais_bench API) through ``common.backends.runner``; tools that run a whole folder themselves (the ais_bench
CLI, the legacy benchmark tool) are runners of their own with the same signature. Both are context
managers: leaving the ``with`` block frees what they hold.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BundleError

if TYPE_CHECKING:  # numpy is not imported here: `make preprocess` starts without it
    import numpy as np

NAMES = ("onnx", "om", "benchmark", "torch")


class Session:
    """A model loaded in this process. ``batch`` is its fixed batch size, or None for any."""

    name = "session"
    batch: int | None = None
    input_name = ""

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def describe(self) -> str:
        """What runs: runtime, provider or device."""
        return self.name

    def timed(self, batch: np.ndarray):
        """A call without arguments that ``make perf`` times: here ``run(batch)`` (host copies included);
        a device session puts the batch on the device first, so that only compute is timed."""
        return lambda: self.run(batch)

    def perf_row(self, bs: int, times_ms: list[float]):
        """The ``common.perf.PerfRow`` of the timed calls (host-measured: bs / median latency)."""
        from .. import perf

        return perf.row(bs, times_ms, f"host-measured, {self.describe()}", perf.HOST_METHOD)

    def own_timings(self) -> list[float] | None:
        """The runtime's own compute time per ``run`` in ms (ais_bench), or None to time on the host."""
        return None

    def close(self) -> None:
        """Free the model (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Runner:
    """Infers a dataset and measures throughput, with one signature for every backend."""

    name = "runner"

    def infer(self, inputs: list[Path], out_dir: Path) -> dict:
        """Infer ``inputs`` (.bin files) into ``out_dir``, skipping finished ones; returns the summary,
        also written beside ``out_dir`` (``common.summary``)."""
        raise NotImplementedError

    def perf(self, bs: int):
        """One ``common.perf.PerfRow``: pure-inference throughput at batch size ``bs``."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Check now that inference can start (the model loads, the tool is there), so that a step
        fails before it deletes anything."""

    def stream(self, feed) -> None:
        """Infer from ``feed`` (``common.stream.StreamFeed``, STREAM=1) instead of the .bin files; a runner
        whose tool reads a folder itself refuses in one line."""
        raise BundleError(
            f"STREAM=1: BACKEND={self.name} runs a tool that reads a folder of .bin files; stream with BACKEND=onnx, "
            "torch or om (the ais_bench API), or run without STREAM=1"
        )

    def record(self) -> dict:
        """What ``perf.json`` should record beyond the rows (the device, checks such as TensorRT's fp16
        agreement with fp32); ``notes`` (lines) also go under the table."""
        return {}

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Free sessions and tool state (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
    if name not in NAMES:
        raise BundleError(f"BACKEND={name}: expected auto, {', '.join(NAMES[:-1])} or {NAMES[-1]}")
    return name
