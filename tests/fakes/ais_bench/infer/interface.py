"""ais_bench.infer.interface stand-in: InferSession running the fake .om with ONNX Runtime."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from ais_bench import _fakeom


@dataclass
class TensorDesc:
    name: str
    shape: list
    datatype: str = "FLOAT32"
    format: str = "NCHW"

    @property
    def size(self) -> int:
        return int(np.prod([abs(d) for d in self.shape])) * 4


@dataclass
class Summary:
    exec_time_list: list  # (start_ms, end_ms) per inference, as aclruntime reports them


class InferSession:
    def __init__(
        self, device_id: int, model_path: str, acl_json_path: str | None = None, debug: bool = False, loop: int = 1
    ):
        count = int(os.environ.get("FAKE_NPU_COUNT", "8"))
        if not isinstance(device_id, int) or not 0 <= device_id < count:
            raise RuntimeError(f"[ERROR] aclrtSetDevice failed: device id {device_id!r} (have {count} devices)")
        try:
            self._model = _fakeom.Model(model_path)
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"[ERROR] load model {model_path} failed: {exc}") from None
        self.device_id, self.model_path, self.loop = device_id, model_path, loop
        self._times: list[tuple[float, float]] = []
        _fakeom.log_call("InferSession", device=device_id, model=str(model_path), pid=os.getpid())

    def get_inputs(self) -> list[TensorDesc]:
        return [TensorDesc(self._model.input_name, list(self._model.input_shape))]

    def get_outputs(self) -> list[TensorDesc]:
        batch = self._model.input_shape[0]
        return [TensorDesc(o.name, [batch, *o.shape[1:]]) for o in self._model.session.get_outputs()]

    def infer(self, feeds, mode: str = "static", custom_sizes=100000, out_array: bool = True) -> list:
        if self._model is None:
            raise RuntimeError("[ERROR] session already finalized")
        if mode not in ("static", "dymbatch", "dymhw", "dymdims", "dymshape"):
            raise ValueError(f"mode {mode!r} is not supported")
        if len(feeds) != 1:
            raise RuntimeError(f"[ERROR] the model has 1 input, got {len(feeds)} feeds")
        x = np.ascontiguousarray(feeds[0])
        self._model.check(x, mode)
        outs = []
        for _ in range(self.loop):
            start = time.perf_counter() * 1000
            outs = self._model.run(x)
            self._times.append((start, time.perf_counter() * 1000))
        return outs

    def summary(self) -> Summary:
        return Summary(list(self._times))

    sumary = summary  # the old releases' spelling

    def reset_summaryinfo(self) -> None:
        self._times.clear()

    reset_sumary = reset_summaryinfo

    def finalize(self) -> None:
        self._model = None
