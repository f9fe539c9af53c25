"""export.convert on a small network: names, dynamic '-1' batch, static batch, and a parity check
that really fails when ONNX and PyTorch disagree."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import pytest
import torch

from common import export, manifest
from common.errors import BundleError


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=4),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 1000),
    ).eval()


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return {f"img{i}": rng.standard_normal((3, 224, 224), dtype=np.float32) for i in range(5)}


def test_dynamic_export_names_and_parity_record(tmp_path, images):
    m = manifest.load("sk-resnet50")
    result = export.convert(_net(0), m, tmp_path / "sk_resnet50.onnx", 1, images)
    model = onnx.load(str(tmp_path / "sk_resnet50.onnx"))
    assert model.opset_import[0].version == 11
    assert model.graph.input[0].name == "image" and model.graph.output[0].name == "class"
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "-1"
    assert result.top1_agree == 5 and result.max_abs_diff <= result.tolerance
    assert json.loads((tmp_path / "sk_resnet50.parity.json").read_text())["images"] == sorted(images)


def test_static_export_pads_the_parity_batch(tmp_path, images):
    m = manifest.load("moco-v2")
    export.convert(_net(0), m, tmp_path / "moco-v2-bs4.onnx", 4, images)  # 5 photos -> batches of 4, padded
    model = onnx.load(str(tmp_path / "moco-v2-bs4.onnx"))
    assert model.graph.input[0].name == "actual_input_1"
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4


def test_parity_fails_loudly_when_onnx_differs(tmp_path, images):
    m = manifest.load("sk-resnet50")
    export.convert(_net(0), m, tmp_path / "a.onnx", 1, images)
    with pytest.raises(BundleError, match="ONNX disagrees with PyTorch: max abs diff"):
        export.parity(_net(1), tmp_path / "a.onnx", m, images, 1, True, "")


def test_failed_parity_leaves_no_onnx(tmp_path, images, monkeypatch):
    m = dataclasses.replace(manifest.load("sk-resnet50"))
    real = export.export_onnx

    def export_other(model, *args):
        real(_net(1), *args)  # what a broken exporter would produce

    monkeypatch.setattr(export, "export_onnx", export_other)
    with pytest.raises(BundleError, match="disagrees"):
        export.convert(_net(0), m, tmp_path / "x.onnx", 1, images)
    assert list(tmp_path.iterdir()) == []
