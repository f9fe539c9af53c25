"""SK-ResNet50 (PytorchInsight): ResNet-50 whose 3x3 stage is a two-branch selective-kernel unit.

Written to export cleanly to ONNX with a dynamic batch: tensors stay 4-D/5-D, reshapes use -1 for
the batch, and nothing is squeezed (a squeeze there exports as an If subgraph ONNX Runtime rejects).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

try:  # the repository or a travelled folder (common/ beside this file)
    from common.resnet import Bottleneck, ResNet, conv_bn, resnet50
except ImportError:  # the installed package (pip install): the bundle's own import name
    from modelzoo_bundle.common.resnet import Bottleneck, ResNet, conv_bn, resnet50

GROUPS = 32
REDUCTION = 16


class SKBottleneck(Bottleneck):
    """Bottleneck with parallel 3x3 branches (groups 1 and 32) mixed by a softmax attention."""

    def __init__(self, in_ch: int, planes: int, stride: int = 1) -> None:
        super().__init__(in_ch, planes, stride)
        hidden = planes // REDUCTION
        self.conv_fc1 = nn.Conv2d(planes, hidden, 1, bias=False)
        self.bn_fc1 = nn.BatchNorm2d(hidden)
        self.conv_fc2 = nn.Conv2d(hidden, 2 * planes, 1, bias=False)

    def build_middle(self, planes: int, stride: int) -> None:
        self.conv2, self.bn2 = conv_bn(planes, planes, 3, stride)
        self.conv2g, self.bn2g = conv_bn(planes, planes, 3, stride, groups=GROUPS)

    def middle(self, x: Tensor) -> Tensor:
        d1 = self.relu(self.bn2(self.conv2(x)))
        d2 = self.relu(self.bn2g(self.conv2g(x)))
        s = (d1 + d2).mean(dim=(2, 3), keepdim=True)
        s = self.relu(self.bn_fc1(self.conv_fc1(s)))
        planes = self.conv_fc2.out_channels // 2
        w = torch.softmax(self.conv_fc2(s).reshape(-1, 2, planes, 1, 1), dim=1)
        w1, w2 = w.reshape(-1, 2 * planes, 1, 1).split(planes, dim=1)
        return d1 * w1 + d2 * w2


def build() -> ResNet:
    """Return the (untrained) SK-ResNet50 network."""
    return resnet50(SKBottleneck, num_classes=1000)
