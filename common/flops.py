"""A small multiply-accumulate counter: forward hooks on Conv2d and Linear (BN, pools, ReLU ignored)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _conv_macs(module: nn.Conv2d, output: Tensor) -> int:
    kh, kw = module.kernel_size
    return output.numel() * (module.in_channels // module.groups) * kh * kw


def _linear_macs(module: nn.Linear, output: Tensor) -> int:
    return output.numel() * module.in_features


def count_macs(model: nn.Module, input_shape: tuple[int, int, int] = (3, 224, 224)) -> int:
    """MACs of one forward pass of a single image of ``input_shape`` (C, H, W)."""
    total = 0

    def hook(module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += _conv_macs(module, output)
        else:
            total += _linear_macs(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total
