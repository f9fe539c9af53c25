"""BACKEND=torch: the checkpoint itself in PyTorch, through the same runner (GPU when torch sees one)."""

from __future__ import annotations

from .. import CHECKPOINT, Backend


def make(art):
    from ..pytorch import TorchSession
    from ..runner import session_runner

    s, m = art.settings, art.cfg.model

    def open_session(bs: int):
        return TorchSession(art.torch_model(), m.input_name, device=s.device[0], provider=s.provider)

    return session_runner(art, open_session)


BACKEND = Backend("torch", "the checkpoint in PyTorch", (CHECKPOINT,), make, order=40)
