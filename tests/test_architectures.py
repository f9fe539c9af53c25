"""The four architectures: exact checkpoint key layout, size, compute; the shared ResNet skeleton and a clean
SK-ResNet50 dynamic-batch ONNX export; EfficientNet-B3 details."""

from __future__ import annotations

import io
import re
import tomllib
from functools import cache
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from common.architecture import build, count_macs, load_module
from common.resnet import Bottleneck, ResNet

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("inceptionresnetv2", "efficientnet-b3", "moco-v2", "sk-resnet50")
KEY_LINE = re.compile(r"^(\S+) \(([\d, ]*)\)$")


def read_keys(name: str) -> dict[str, tuple[int, ...]]:
    """Parse ``name (shape)`` lines, stripping the checkpoint's ``module.`` prefix."""
    keys = {}
    for line in (ROOT / "tests/data/keys" / f"{name}.keys.txt").read_text().splitlines():
        match = KEY_LINE.match(line.strip())
        assert match, line
        key, shape = match.groups()
        keys[key.removeprefix("module.")] = tuple(int(d) for d in shape.replace(" ", "").split(",") if d)
    return keys


def manifest(name: str) -> dict:
    return tomllib.loads((ROOT / "manifests" / f"{name}.toml").read_text())


def input_shape(name: str) -> tuple[int, int, int]:
    return tuple(manifest(name)["input"]["shape"])


@cache
def model(name: str) -> nn.Module:
    """The built network with sane random weights (He init, non-trivial BN statistics), in eval mode."""
    torch.manual_seed(0)
    net = build(ROOT / "models" / name)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.0)
            nn.init.uniform_(m.bias, -0.1, 0.1)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_matches_key_file(name: str) -> None:
    got = {k: tuple(v.shape) for k, v in model(name).state_dict().items()}
    want = read_keys(name)
    assert sorted(set(got) ^ set(want)) == []
    assert {k: s for k, s in got.items() if want[k] != s} == {}
    assert list(got) == list(want)  # same order too


@pytest.mark.parametrize("name", MODELS)
def test_parameter_count(name: str) -> None:
    count = sum(p.numel() for p in model(name).parameters())
    assert count == manifest(name)["architecture"]["parameters"]


@pytest.mark.parametrize("name", MODELS)
def test_forward_shape(name: str) -> None:
    with torch.no_grad():
        out = model(name)(torch.randn(2, *input_shape(name)))
    assert out.shape == (2, manifest(name)["classes"])
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODELS)
def test_macs_match_published(name: str) -> None:
    macs = count_macs(model(name), input_shape(name))
    assert macs == pytest.approx(manifest(name)["architecture"]["macs"], rel=0.03)


def test_effnet_first_stage_has_no_expansion_and_se_uses_input_width() -> None:
    sd = model("efficientnet-b3").state_dict()
    assert not any(k.startswith("s1.") and ".exp" in k for k in sd)
    assert sd["s2.b1.se.f_ex.0.weight"].shape == (6, 144, 1, 1)  # round(0.25 * 24), not of 144


def test_both_share_the_skeleton() -> None:
    moco, sk = model("moco-v2"), model("sk-resnet50")
    assert isinstance(moco, ResNet) and isinstance(sk, ResNet)
    assert type(moco) is type(sk)
    assert type(moco.layer1[0]) is Bottleneck
    assert isinstance(sk.layer1[0], Bottleneck) and type(sk.layer1[0]) is not Bottleneck


def test_sk_middle_matches_upstream_formulation() -> None:
    """The export-friendly SK unit computes the upstream squeeze/index formulation."""
    block = model("sk-resnet50").layer2[0]
    x = torch.randn(2, 128, 28, 28)
    with torch.no_grad():
        d1 = torch.relu(block.bn2(block.conv2(x)))
        d2 = torch.relu(block.bn2g(block.conv2g(x)))
        s = nn.functional.adaptive_avg_pool2d(d1, 1) + nn.functional.adaptive_avg_pool2d(d2, 1)
        s = torch.relu(block.bn_fc1(block.conv_fc1(s)))
        w = torch.softmax(block.conv_fc2(s).unsqueeze(1).view(-1, 2, 128, 1, 1), 1)
        want = d1 * w[:, 0].squeeze(1) + d2 * w[:, 1].squeeze(1)
        got = block.middle(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_sk_resnet50_dynamic_onnx_runs_in_ort() -> None:
    net = model("sk-resnet50")
    buf = io.BytesIO()
    torch.onnx.export(
        net,
        torch.randn(1, 3, 224, 224),
        buf,
        opset_version=11,
        dynamo=False,
        input_names=["image"],
        output_names=["class"],
        dynamic_axes={"image": {0: "-1"}, "class": {0: "-1"}},
    )
    graph = onnx.load_from_string(buf.getvalue()).graph
    assert not [n for n in graph.node if n.op_type in ("If", "Squeeze")]
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        want = net(x).numpy()
    (got,) = session.run(["class"], {"image": x.numpy()})
    assert got.shape == (3, 1000)
    assert float(np.abs(got - want).max()) < 1e-4


def test_model_folders_define_build() -> None:
    for name in MODELS:
        assert callable(load_module(ROOT / "models" / name).build)


# what common/flops.py (forward hooks on Conv2d and Linear) counted before FlopCounterMode replaced it
HOOK_MACS = {
    "efficientnet-b3": 1_827_141_392,
    "efficientnet-lite0": 385_187_552,
    "inceptionresnetv2": 13_155_795_552,
    "moco-v2": 4_089_184_256,
    "sk-resnet50": 4_147_222_784,
}


@pytest.mark.parametrize("name", sorted(HOOK_MACS))
def test_flop_counter_gives_the_hand_counted_macs(name: str) -> None:
    assert count_macs(model(name), input_shape(name)) == HOOK_MACS[name]
