"""PyTorch backend: the checkpoint itself through the same runner, so PyTorch, ONNX Runtime and OM
results compare line by line (GPU when torch sees one and PROVIDER is not cpu)."""

from __future__ import annotations

import os

import numpy as np
import torch


class TorchBackend:
    name = "torch"
    batch = None  # any batch size

    def __init__(self, model: torch.nn.Module, input_name: str, device: str = "0"):
        gpu = os.environ.get("PROVIDER", "auto").lower() != "cpu" and torch.cuda.is_available()
        self.device = torch.device(f"cuda:{int(str(device).split(',')[0] or 0)}" if gpu else "cpu")
        self.model = model.to(self.device).eval()
        self.input_name = input_name

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            out = self.model(torch.from_numpy(batch).to(self.device))
        return [out.float().cpu().numpy()]

    def describe(self) -> str:
        return f"PyTorch {torch.__version__} ({self.device})"

    def own_timings(self) -> list[float] | None:
        return None

    def close(self) -> None:
        """The model is shared between sessions (see common.cli); nothing to free."""
