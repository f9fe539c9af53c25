"""The backend-blind runner: batching, padding, ais_bench layout, summary, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from common import outputs
from common.backends import Session, runner
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
    # batches are cut from index 0: [img0, img1] is done; [img2, img3] is run whole (img2 again), then [img4]
    assert s["skipped"] == 2 and s["NPU_compute_time"]["count"] == 2
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


class _TwoOutputs(Session):
    """A session with two outputs that records how many batches were ever waiting to be written."""

    name = "two-outputs"

    def __init__(self, out_dir: Path) -> None:
        self.out_dir, self.calls, self.behind = out_dir, 0, 0

    def run(self, batch):
        flat = batch.reshape(len(batch), -1)
        # outputs of batches before the previous one must all be on disk by now
        written = len(list(self.out_dir.glob("*_1.txt"))) if self.out_dir.is_dir() else 0
        self.behind = max(self.behind, self.calls * 3 - 3 - written)
        self.calls += 1
        return [flat[:, :10] * 3.0, -flat[:, 5:8]]


def test_outputs_are_write_per_sample_and_one_batch_in_flight(tmp_path):
    inputs = _inputs(tmp_path / "in", 10)
    session = _TwoOutputs(tmp_path / "out")
    s = runner.infer(session, inputs, 3, tmp_path / "out", SHAPE, progress=False)
    assert session.behind <= 0 and session.calls == 4
    (tmp_path / "ref").mkdir()
    for p in inputs:
        x = np.fromfile(p, np.float32)
        for k, want in enumerate((x[:10] * 3.0, -x[5:8])):
            name = f"{p.stem}_{k}.txt"
            outputs.write(tmp_path / "ref" / name, want, "TXT")
            assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    assert s["filesinfo"][3]["outfiles"] == [str(tmp_path / "out" / f"img9_{k}.txt") for k in (0, 1)]
    assert s["pipeline_seconds"] > 0 and s["pipeline_throughput"] == pytest.approx(10 / s["pipeline_seconds"])
    again = runner.infer(session, inputs, 3, tmp_path / "out", SHAPE, progress=False)  # nothing left: kept
    assert again["samples_run"] == 0 and again["pipeline_throughput"] == s["pipeline_throughput"]
