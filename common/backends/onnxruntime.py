"""ONNX Runtime session: CUDA provider when available (DEVICE picks the GPU), else CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backends import Session
from ..errors import BundleError


def providers(device: str = "0", want: str = "auto") -> list:
    """The provider list: CUDA first when ONNX Runtime has it (and ``want`` is not cpu), then CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if want in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return [("CUDAExecutionProvider", {"device_id": int(device)}), "CPUExecutionProvider"]
    if want == "cuda":
        raise BundleError("PROVIDER=cuda: this ONNX Runtime has no CUDA provider (install onnxruntime-gpu)")
    return ["CPUExecutionProvider"]


class OrtSession(Session):
    name = "onnx"

    def __init__(self, model_path: Path, device: str = "0", provider: str = "auto", threads: int | None = None):
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise BundleError(f"{path}: no ONNX model (run `make onnx` first)")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        # ORT's pool threads would otherwise spin between kernels, burning the CPU that the runner's
        # reads and writes (and other tenants) need; `make infer` and `make perf` use the same options.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers(device, provider))
        except BundleError:
            raise
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types for a bad file
            raise BundleError(f"{path}: ONNX Runtime cannot load it ({str(exc).splitlines()[0][:200]})") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.batch = inp.shape[0] if isinstance(inp.shape[0], int) else None
        self.input_shape = tuple(inp.shape[1:])

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: batch})

    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def describe(self) -> str:
        import onnxruntime as ort

        return f"ONNX Runtime {ort.__version__} ({self.session.get_providers()[0]})"

    def close(self) -> None:
        self.session = None
