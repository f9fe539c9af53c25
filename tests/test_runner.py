"""The backend-blind runner: batching, padding, ais_bench layout, summary, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from common import outputs, runner
from common.backends.onnxruntime import OrtSession
from common.errors import BundleError

SHAPE = (3, 8, 8)


def _tiny_onnx(path: Path, static: int | None) -> Path:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 10)
    ).eval()
    axes = None if static else {"image": {0: "-1"}, "class": {0: "-1"}}
    torch.onnx.export(
        model,
        (torch.zeros(static or 1, *SHAPE),),
        str(path),
        opset_version=11,
        dynamo=False,
        input_names=["image"],
        output_names=["class"],
        dynamic_axes=axes,
    )
    return path


def _inputs(folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    rng = np.random.default_rng(1)
    paths = []
    for i in range(n):
        p = folder / f"img{i}.bin"
        rng.standard_normal(SHAPE, dtype=np.float32).tofile(p)
        paths.append(p)
    return paths


@pytest.mark.parametrize("static", [None, 4])
def test_padded_last_batch_writes_no_padding(tmp_path, static):
    inputs = _inputs(tmp_path / "in", 10)
    backend = OrtSession(_tiny_onnx(tmp_path / "m.onnx", static))
    summary = runner.infer(backend, inputs, 4, tmp_path / "out", SHAPE, progress=False)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted(f"img{i}_0.txt" for i in range(10))
    assert summary["NPU_compute_time"]["count"] == 3
    assert json.loads((tmp_path / "out_summary.json").read_text())["throughput"] == pytest.approx(summary["throughput"])
    # same numbers as one-by-one inference
    for i in (0, 9):
        x = np.fromfile(inputs[i], np.float32).reshape(1, *SHAPE)
        if static:
            x = np.concatenate([x, np.zeros((static - 1, *SHAPE), np.float32)])
        want = backend.run(x)[0][0]
        got = outputs.read(tmp_path / "out" / f"img{i}_0.txt")
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_resume_and_formats(tmp_path):
    inputs = _inputs(tmp_path / "in", 5)
    backend = OrtSession(_tiny_onnx(tmp_path / "m.onnx", None))
    runner.infer(backend, inputs[:3], 2, tmp_path / "out", SHAPE, outfmt="BIN", progress=False)
    s = runner.infer(backend, inputs, 2, tmp_path / "out", SHAPE, outfmt="BIN", progress=False)
    assert s["skipped"] == 3 and s["NPU_compute_time"]["count"] == 1
    assert outputs.read(tmp_path / "out" / "img4_0.bin").shape == (10,)
    runner.infer(backend, inputs[:1], 1, tmp_path / "npy", SHAPE, outfmt="NPY", progress=False)
    assert np.load(tmp_path / "npy" / "img0_0.npy").shape == (10,)


def test_wrong_size_input_is_named(tmp_path):
    inputs = _inputs(tmp_path / "in", 2)
    inputs[1].write_bytes(b"\0" * 12)
    backend = OrtSession(_tiny_onnx(tmp_path / "m.onnx", None))
    with pytest.raises(BundleError, match=r"img1.bin: 12 bytes, expected 768"):
        runner.infer(backend, inputs, 2, tmp_path / "out", SHAPE, progress=False)


def test_static_model_refuses_other_batch(tmp_path):
    backend = OrtSession(_tiny_onnx(tmp_path / "m.onnx", 4))
    with pytest.raises(BundleError, match="fixed batch of 4 but BS=2"):
        runner.infer(backend, _inputs(tmp_path / "in", 2), 2, tmp_path / "out", SHAPE, progress=False)
