"""EfficientNet-Lite0, the demo-only model: the architecture of the PyPI package efficientnet-lite-pytorch."""

import torch


def build() -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-lite0")
