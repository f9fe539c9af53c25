"""PyTorch session: the checkpoint itself through the same runner, so PyTorch, ONNX Runtime and OM
results compare line by line (GPU when torch sees one and PROVIDER is not cpu)."""

from __future__ import annotations

import numpy as np
import torch

from ..backends import Session


class TorchSession(Session):
    name = "torch"
    batch = None  # any batch size

    def __init__(self, model: torch.nn.Module, input_name: str, device: str = "0", provider: str = "auto"):
        gpu = provider != "cpu" and torch.cuda.is_available()
        self.device = torch.device(f"cuda:{int(device)}" if gpu else "cpu")
        self.model = model.to(self.device).eval()
        self.input_name = input_name

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            out = self.model(torch.from_numpy(batch).to(self.device))
        return [out.float().cpu().numpy()]

    def describe(self) -> str:
        return f"PyTorch {torch.__version__} ({self.device})"
