"""BACKEND=onnx: ONNX Runtime (CUDA when present, else CPU; PROVIDER), the parity-checked ONNX per batch
size; what ``BACKEND=auto`` falls back to."""

from __future__ import annotations

from .. import ONNX, Backend


def make(art):
    from ..onnxruntime import OrtSession
    from ..runner import session_runner

    s = art.settings

    def open_session(bs: int):
        return OrtSession(art.onnx(bs), device=s.device[0], provider=s.provider)

    return session_runner(art, open_session)


BACKEND = Backend("onnx", "ONNX Runtime", (ONNX,), make, order=10, detect=lambda: True, auto=1000)
