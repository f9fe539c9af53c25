"""MoCo-v2 linear classifier: a torchvision-layout ResNet-50 with an fc 2048 -> 1000 head."""

from __future__ import annotations

try:  # the repository or a travelled folder (common/ beside this file)
    from common.resnet import ResNet, resnet50
except ImportError:  # the installed package (pip install): the bundle's own import name
    from modelzoo_bundle.common.resnet import ResNet, resnet50


def build() -> ResNet:
    """Return the (untrained) MoCo-v2 linear-classifier network."""
    return resnet50(num_classes=1000)
