"""A stand-in for onnxruntime-gpu with TensorRT, for machines without a GPU: the module object a
``TensorrtSession`` is given as ``ort``. It runs the model with the real ONNX Runtime on the CPU and
checks how it is driven: the provider list and options it gets, and IO binding (outputs bound on
``cuda``, inputs either copied by ``bind_cpu_input`` or already on ``cuda`` as an ``OrtValue``).

``FakeOrt(fallback=True)`` behaves like ORT when libnvinfer cannot be loaded: the session is created,
but on the CUDA and CPU providers only; ``FakeOrt(providers=[...])`` lists other available providers.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as real


class FakeOrtValue:
    def __init__(self, array: np.ndarray, device: str, device_id: int) -> None:
        self.array, self.device, self.device_id = np.array(array, copy=True), device, device_id

    @classmethod
    def ortvalue_from_numpy(cls, array, device="cpu", device_id=0):
        return cls(array, device, device_id)


class FakeBinding:
    def __init__(self, session: FakeSession) -> None:
        self.session = session
        self.inputs: dict[str, FakeOrtValue] = {}
        self.outputs: list[tuple[str, str, int]] = []
        self.results: list[np.ndarray] | None = None
        self.synced = {"inputs": 0, "outputs": 0}

    def bind_cpu_input(self, name: str, array: np.ndarray) -> None:
        self.inputs[name] = FakeOrtValue(array, "cuda", 0)  # ORT copies it to the device

    def bind_ortvalue_input(self, name: str, value: FakeOrtValue) -> None:
        assert value.device == "cuda", "an OrtValue bound as input should already be on the GPU"
        self.inputs[name] = value

    def bind_output(self, name: str, device_type: str = "cpu", device_id: int = 0) -> None:
        self.outputs.append((name, device_type, device_id))

    def synchronize_inputs(self) -> None:
        self.synced["inputs"] += 1

    def synchronize_outputs(self) -> None:
        self.synced["outputs"] += 1

    def copy_outputs_to_cpu(self) -> list[np.ndarray]:
        assert self.results is not None, "copy_outputs_to_cpu before run_with_iobinding"
        return [np.array(r, copy=True) for r in self.results]


class FakeSession:
    def __init__(self, fake: FakeOrt, path: str, opts, providers) -> None:
        self.fake, self.requested = fake, providers
        fake.sessions.append(self)
        self.real = real.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.runs = 0
        self.bindings: list[FakeBinding] = []

    def get_providers(self) -> list[str]:
        names = [p[0] if isinstance(p, tuple) else p for p in self.requested]
        return [n for n in names if n != "TensorrtExecutionProvider"] if self.fake.fallback else names

    def get_inputs(self):
        return self.real.get_inputs()

    def get_outputs(self):
        return self.real.get_outputs()

    def io_binding(self) -> FakeBinding:
        b = FakeBinding(self)
        self.bindings.append(b)
        return b

    def run_with_iobinding(self, binding: FakeBinding) -> None:
        assert binding.outputs and all(dev == "cuda" for _, dev, _ in binding.outputs), "outputs not bound on cuda"
        feeds = {name: v.array for name, v in binding.inputs.items()}
        names = [name for name, _, _ in binding.outputs]
        self.runs += 1
        binding.results = self.real.run(names, feeds)

    def run(self, *args, **kwargs):
        raise AssertionError("a TensorRT session should run through IO binding")


class FakeOrt:
    """The ``onnxruntime`` module as a TensorRT host would have it."""

    __version__ = real.__version__ + "+fake-gpu"
    SessionOptions = real.SessionOptions
    GraphOptimizationLevel = real.GraphOptimizationLevel
    OrtValue = FakeOrtValue

    def __init__(self, fallback: bool = False, providers: list[str] | None = None) -> None:
        self.fallback = fallback
        self.available = providers or ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
        self.sessions: list[FakeSession] = []

    def get_available_providers(self) -> list[str]:
        return list(self.available)

    def InferenceSession(self, path, opts=None, providers=None):  # noqa: N802 - onnxruntime's name
        return FakeSession(self, path, opts, providers)
