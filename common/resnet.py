"""ResNet-50 skeleton (torchvision key layout, v1.5: stride on the 3x3) with a pluggable 3x3 stage.

A bottleneck subclass replaces the middle of the block by overriding ``build_middle`` (register its
modules on ``self``) and ``middle`` (compute it); everything else — stem, stages, ``downsample.0/1``,
head — is shared.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

RESNET50_LAYERS = (3, 4, 6, 3)


def conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    """A bias-free conv with symmetric padding and its BatchNorm (eps 1e-5)."""
    conv = nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False)
    return conv, nn.BatchNorm2d(out_ch)


class Bottleneck(nn.Module):
    """1x1 reduce -> middle (3x3, carries the stride) -> 1x1 expand (x4), residual, ReLU."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_ch, planes, 1)
        self.build_middle(planes, stride)
        self.conv3, self.bn3 = conv_bn(planes, planes * self.expansion, 1)
        self.relu = nn.ReLU(inplace=True)
        out_ch = planes * self.expansion
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(*conv_bn(in_ch, out_ch, 1, stride))

    def build_middle(self, planes: int, stride: int) -> None:
        """Register the 3x3 stage's modules (plain ResNet: ``conv2``/``bn2``)."""
        self.conv2, self.bn2 = conv_bn(planes, planes, 3, stride)

    def middle(self, x: Tensor) -> Tensor:
        """The 3x3 stage, including its activation."""
        return self.relu(self.bn2(self.conv2(x)))

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(self.middle(out)))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet stem, four bottleneck stages and a linear head."""

    def __init__(
        self,
        block: type[Bottleneck] = Bottleneck,
        layers: tuple[int, ...] = RESNET50_LAYERS,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_ch = 64
        for i, depth in enumerate(layers):
            planes = 64 * 2**i
            blocks = []
            for j in range(depth):
                blocks.append(block(in_ch, planes, stride=2 if i > 0 and j == 0 else 1))
                in_ch = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        self.num_stages = len(layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(block: type[Bottleneck] = Bottleneck, num_classes: int = 1000) -> ResNet:
    """ResNet-50 (3, 4, 6, 3) built from the given bottleneck class."""
    return ResNet(block, RESNET50_LAYERS, num_classes)
