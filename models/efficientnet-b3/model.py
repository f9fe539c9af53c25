"""EfficientNet-B3 in the pycls layout (config ``EN-B3_dds_8gpu.yaml``), 1000 classes.

Module names match ``EN-B3_dds_8gpu.pyth`` (``model_state``); input is 3x300x300 (BGR order).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

BN_EPS = 1e-5
BN_MOM = 0.1
STEM_W = 40
HEAD_W = 1536
# (depth, width, expansion ratio, kernel, stride) per stage
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (2, 24, 1, 3, 1),
    (3, 32, 6, 3, 2),
    (3, 48, 6, 5, 2),
    (5, 96, 6, 3, 2),
    (5, 136, 6, 5, 1),
    (6, 232, 6, 5, 2),
    (2, 384, 6, 3, 1),
)
SE_RATIO = 0.25


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOM)


class SE(nn.Module):
    """Squeeze-and-excitation: global average pool, 1x1 -> SiLU -> 1x1 -> sigmoid gate."""

    def __init__(self, w: int, w_se: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.f_ex = nn.Sequential(
            nn.Conv2d(w, w_se, 1, bias=True), nn.SiLU(), nn.Conv2d(w_se, w, 1, bias=True), nn.Sigmoid()
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.f_ex(self.avg_pool(x))


class MBConv(nn.Module):
    """Mobile inverted bottleneck: [exp 1x1] -> depthwise kxk -> SE -> linear 1x1 projection."""

    def __init__(self, w_in: int, exp_r: int, k: int, stride: int, w_out: int) -> None:
        super().__init__()
        w_exp = int(w_in * exp_r)
        self.exp: nn.Conv2d | None = None
        if w_exp != w_in:
            self.exp = nn.Conv2d(w_in, w_exp, 1, bias=False)
            self.exp_bn = _bn(w_exp)
            self.exp_af = nn.SiLU()
        self.dwise = nn.Conv2d(w_exp, w_exp, k, stride=stride, padding=(k - 1) // 2, groups=w_exp, bias=False)
        self.dwise_bn = _bn(w_exp)
        self.dwise_af = nn.SiLU()
        self.se = SE(w_exp, int(round(w_in * SE_RATIO)))
        self.lin_proj = nn.Conv2d(w_exp, w_out, 1, bias=False)
        self.lin_proj_bn = _bn(w_out)
        self.has_skip = stride == 1 and w_in == w_out

    def forward(self, x: Tensor) -> Tensor:
        f = x if self.exp is None else self.exp_af(self.exp_bn(self.exp(x)))
        f = self.se(self.dwise_af(self.dwise_bn(self.dwise(f))))
        f = self.lin_proj_bn(self.lin_proj(f))
        return x + f if self.has_skip else f


class Stem(nn.Module):
    """3x3 stride-2 conv -> BN -> SiLU."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(w_in, w_out, 3, stride=2, padding=1, bias=False)
        self.bn = _bn(w_out)
        self.af = nn.SiLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.af(self.bn(self.conv(x)))


class Stage(nn.Module):
    """``depth`` MBConv blocks named b1..bN; only the first one strides / changes width."""

    def __init__(self, w_in: int, exp_r: int, k: int, stride: int, w_out: int, depth: int) -> None:
        super().__init__()
        for i in range(depth):
            block = MBConv(w_in if i == 0 else w_out, exp_r, k, stride if i == 0 else 1, w_out)
            self.add_module(f"b{i + 1}", block)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.children():
            x = block(x)
        return x


class Head(nn.Module):
    """1x1 conv -> BN -> SiLU -> global average pool -> flatten -> fc."""

    def __init__(self, w_in: int, w_head: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(w_in, w_head, 1, bias=False)
        self.conv_bn = _bn(w_head)
        self.conv_af = nn.SiLU()
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w_head, num_classes, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avg_pool(self.conv_af(self.conv_bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


class EffNet(nn.Module):
    """pycls EfficientNet; ``forward`` maps (N, 3, 300, 300) to (N, num_classes) logits."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.stem = Stem(3, STEM_W)
        w_in = STEM_W
        for i, (depth, w_out, exp_r, k, stride) in enumerate(STAGES):
            self.add_module(f"s{i + 1}", Stage(w_in, exp_r, k, stride, w_out, depth))
            w_in = w_out
        self.head = Head(w_in, HEAD_W, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        for module in self.children():
            x = module(x)
        return x


def build() -> nn.Module:
    """Return a freshly initialised pycls EfficientNet-B3 with 1000 outputs."""
    return EffNet(num_classes=1000)
