"""PROVIDER=tensorrt without a GPU: provider options, engine-cache key and folder, the trtexec command and
its two summary layouts, the one-line errors where TensorRT / CUDA / a GPU is missing, and the session
and runner (IO binding, static engine per bs, padding, perf like the guides' T4 column, fp16-vs-fp32
agreement) against a fake of ONNX Runtime's TensorRT provider (tests/fakes/ort_tensorrt.py)."""

from __future__ import annotations

import json
import os
import stat
import statistics

import numpy as np
import pytest

from common.backends import runner
from common.backends import tensorrt as T
from common.backends.onnxruntime import OrtSession
from common.errors import BundleError
from tests.conftest import run_step
from tests.fakes.ort_tensorrt import FakeOrt
from tests.test_runner import SHAPE, _inputs, _tiny_onnx

NEW = (
    "[I] === Performance summary ===\n"
    "[I] Throughput: 1834.21 qps\n"
    "[I] Latency: min = 0.61 ms, max = 0.9 ms, mean = 0.63 ms, median = 0.62 ms, percentile(90%) = 0.65 ms\n"
    "[I] GPU Compute Time: min = 0.536621 ms, max = 0.562256 ms, mean = 0.542 ms, median = 0.541 ms, "
    "percentile(90%) = 0.55 ms\n"
)
OLD = """[03/24/2021-03:54:47] [I] GPU Compute
[03/24/2021-03:54:47] [I] min: 1.26575 ms
[03/24/2021-03:54:47] [I] max: 4.41528 ms
[03/24/2021-03:54:47] [I] mean: 1.31054 ms
[03/24/2021-03:54:47] [I] median: 1.30151 ms
"""
GPU = ("NVIDIA H200", "9.0")


def test_trtexec_summary_both_layouts_and_the_guides_figure():
    assert T.parse_trtexec(NEW) == {"gpu_mean_ms": 0.542, "gpu_median_ms": 0.541, "qps": 1834.21}
    old = T.parse_trtexec(OLD)
    assert old == {"gpu_mean_ms": 1.31054, "gpu_median_ms": 1.30151}
    assert round(T.samples_per_s(old, 1), 3) == 763.044  # the ModelZoo ResNeXt50 README's bs 1 figure
    assert round(T.samples_per_s({"gpu_mean_ms": 12.9561}, 16), 3) == 1234.940  # "1000/(12.9561/16)=1234.940fps"
    assert T.parse_trtexec("&&&& FAILED TensorRT.trtexec") == {}


def test_trtexec_command_and_provider_options(tmp_path):
    cmd = T.trtexec_cmd(tmp_path / "m.onnx", "image", 16, (3, 299, 299), engine=tmp_path / "e.plan")
    assert cmd == [
        "trtexec",
        f"--onnx={tmp_path / 'm.onnx'}",
        "--shapes=image:16x3x299x299",
        "--fp16",
        f"--saveEngine={tmp_path / 'e.plan'}",
    ]
    prov = T.provider_options(1, tmp_path, "image", (3, 224, 224), (8, 8, 8))
    name, opts = prov[0]
    assert name == "TensorrtExecutionProvider" and opts["device_id"] == 1 and opts["trt_fp16_enable"] is True
    assert opts["trt_engine_cache_enable"] is True and opts["trt_engine_cache_path"] == str(tmp_path)
    assert opts["trt_timing_cache_enable"] is True and opts["trt_timing_cache_path"] == str(tmp_path)
    assert opts["trt_profile_min_shapes"] == opts["trt_profile_max_shapes"] == "image:8x3x224x224"
    assert isinstance(opts["trt_max_workspace_size"], int)
    assert prov[1] == ("CUDAExecutionProvider", {"device_id": 1}) and prov[2] == "CPUExecutionProvider"
    static = T.provider_options(0, tmp_path, "actual_input_1", (3, 224, 224), None)[0][1]
    assert not [k for k in static if "profile" in k]  # a static-batch ONNX (MoCo-v2) has no profile to give


def test_cache_key_changes_with_everything_an_engine_depends_on():
    base = dict(
        onnx_md5="a" * 32, profile=(16, 16, 16), fp16=True, trt_version="10.9.0", gpu="Tesla T4", compute_cap="7.5"
    )
    key = T.cache_key(**base)
    assert key == T.cache_key(**base) and len(key) == 16
    changes = {
        "onnx_md5": "b" * 32,
        "profile": (8, 8, 8),
        "fp16": False,
        "trt_version": "10.13.0",
        "gpu": "NVIDIA H200",
        "compute_cap": "9.0",
        "ort_version": "1.31.1",
        "builder": (1 << 30, 3),
    }
    for field, other in changes.items():
        assert T.cache_key(**{**base, field: other}) != key, field


def test_gpu_and_version_parsing():
    assert T.parse_gpu("NVIDIA H200, 9.0\nNVIDIA H200, 9.0\n") == GPU
    assert T.parse_gpu("Tesla T4\n") == ("Tesla T4", "")
    assert T.version_of(100900) == "10.9.0" and T.version_of(8601) == "8.6.1" and T.version_of(7203) == "7.2.3"


def test_missing_tensorrt_cuda_or_gpu_is_one_line(monkeypatch, tmp_path):
    with pytest.raises(BundleError, match=r"^PROVIDER=tensorrt: this ONNX Runtime .* has no TensorRT provider") as e:
        T.require(FakeOrt(providers=["CPUExecutionProvider"]))
    assert "\n" not in str(e.value)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    with pytest.raises(BundleError, match=r"^PROVIDER=tensorrt: no NVIDIA GPU here \(nvidia-smi is not on PATH\)"):
        T.require(FakeOrt())
    with pytest.raises(BundleError, match=r"^PROVIDER=tensorrt: TensorRT is not installed"):
        T.require(FakeOrt(), gpu_info=lambda: GPU, trt_version=lambda: None)
    smi = tmp_path / "nvidia-smi"
    smi.write_text('#!/bin/sh\necho "NVIDIA H200, 9.0"\n')
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    assert T.gpu("0") == GPU


def test_make_perf_says_so_in_one_line_before_any_export(tmp_path):
    proc = run_step("perf", {"MODEL": "sk-resnet50", "WORK": tmp_path / "w", "PROVIDER": "tensorrt"}, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: PROVIDER=tensorrt: this ONNX Runtime")
    assert not list((tmp_path / "w").glob("*.onnx"))
    torch = run_step(
        "perf",
        {"MODEL": "sk-resnet50", "WORK": tmp_path / "w", "PROVIDER": "tensorrt", "BACKEND": "torch"},
        check=False,
    )
    assert "BACKEND=torch cannot" in torch.stderr


def _session(tmp_path, fake, bs=4, trt="10.9.0", **kw):
    onnx = tmp_path / "m.onnx"
    if not onnx.is_file():
        _tiny_onnx(onnx, None)
    return T.TensorrtSession(
        onnx,
        bs,
        tmp_path / "work" / "trt-cache",
        SHAPE,
        "image",
        ort=fake,
        gpu_info=lambda: GPU,
        trt_version=lambda: trt,
        **kw,
    )


def test_session_binds_on_the_gpu_caches_by_key_and_infers_like_ort(tmp_path):
    fake = FakeOrt()
    s = _session(tmp_path, fake)
    (requested, opts), *_ = fake.sessions[0].requested
    assert requested == "TensorrtExecutionProvider" and opts["trt_profile_opt_shapes"] == "image:4x3x8x8"
    assert s.cache.parent == tmp_path / "work" / "trt-cache" and s.cache.name.startswith("m-bs4-")
    assert opts["trt_engine_cache_path"] == str(s.cache) and s.cache.is_dir()
    assert json.loads((s.cache / "key.json").read_text())["gpu"] == "NVIDIA H200"
    assert s.batch == 4 and "TensorRT 10.9.0 fp16 on NVIDIA H200, compute capability 9.0" in s.describe()
    # a new TensorRT, another batch size or another GPU: another folder, never the stale engine
    assert _session(tmp_path, fake, trt="10.13.0").cache != s.cache
    assert _session(tmp_path, fake, bs=8).cache != s.cache
    # inference through IO binding: the same numbers as ONNX Runtime on the CPU
    inputs = _inputs(tmp_path / "in", 10)
    summary = runner.infer(s, inputs, 4, tmp_path / "out", SHAPE, progress=False)
    assert summary["samples_run"] == 10 and len(list((tmp_path / "out").glob("*_0.txt"))) == 10
    cpu = OrtSession(tmp_path / "m.onnx", provider="cpu")
    x = np.stack([np.fromfile(p, np.float32).reshape(SHAPE) for p in inputs[:4]])
    np.testing.assert_array_equal(s.run(x)[0], cpu.run(x)[0])
    assert fake.sessions[0].runs >= 3  # ran only through run_with_iobinding (run() raises in the fake)


def test_perf_times_device_resident_batches_and_reports_the_mean(tmp_path):
    fake = FakeOrt()
    s = _session(tmp_path, fake)
    x = np.ones((4, *SHAPE), np.float32)
    call = s.timed(x)
    binding = fake.sessions[0].bindings[-1]
    assert binding.inputs["image"].device == "cuda" and binding.synced["inputs"] == 1
    call()
    call()
    assert binding.synced["outputs"] == 2
    row = s.perf_row(4, [1.0, 2.0, 6.0])
    assert row.samples_per_s == pytest.approx(4000 / statistics.fmean([1.0, 2.0, 6.0]))
    assert row.method == T.METHOD and "mean" in row.method and "IO binding" in row.method


def test_fallback_to_cuda_is_an_error_not_a_silent_fp32_run(tmp_path):
    with pytest.raises(BundleError, match=r"^PROVIDER=tensorrt: ONNX Runtime could not start TensorRT") as e:
        _session(tmp_path, FakeOrt(fallback=True))
    assert "\n" not in str(e.value)


def test_runner_records_the_device_agreement_and_trtexec(tmp_path, monkeypatch):
    fake = FakeOrt()
    _tiny_onnx(tmp_path / "m.onnx", None)
    trtexec = tmp_path / "bin" / "trtexec"
    trtexec.parent.mkdir()
    trtexec.write_text("#!/bin/sh\ncat <<'EOF'\n" + NEW + "EOF\n")
    trtexec.chmod(trtexec.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{trtexec.parent}{os.pathsep}{os.environ['PATH']}")
    rng = np.random.default_rng(2)
    photos = {f"p{i}.png": rng.standard_normal(SHAPE).astype(np.float32) for i in range(7)}
    cls = T.TensorrtRunner
    r = cls(
        lambda bs: _session(tmp_path, fake, bs=bs),
        4,
        SHAPE,
        reference=lambda: OrtSession(tmp_path / "m.onnx", provider="cpu"),
        photos=lambda: photos,
        trtexec=lambda bs: T.trtexec_perf(
            tmp_path / "m.onnx",
            "image",
            bs,
            SHAPE,
            T.engine_dir(
                tmp_path / "work" / "trt-cache", tmp_path / "m.onnx", bs, True, "10.9.0", GPU, fake.__version__
            ),
        ),
        progress=False,
        perf_seconds=0.01,
    )
    with r:
        rows = [r.perf(bs) for bs in (1, 4)]
        rec = r.record()
    assert [row.bs for row in rows] == [1, 4] and all(row.method == T.METHOD for row in rows)
    assert rec["gpu"] == {"name": "NVIDIA H200", "compute_capability": "9.0"} and rec["tensorrt"] == "10.9.0"
    agreement = rec["top1_agreement"]
    assert agreement["photos"] == 7 and agreement["top1_agree"] == 7 and agreement["ok"]  # the fake runs fp32
    assert [t["bs"] for t in rec["trtexec"]] == [1, 4]
    assert rec["trtexec"][1]["samples_per_s"] == pytest.approx(4000 / 0.542)
    engines = _session(tmp_path, fake, bs=4).cache  # trtexec's files beside ONNX Runtime's engine, same key
    assert rec["trtexec"][1]["cmd"][-2:] == [
        f"--saveEngine={engines / 'trtexec-bs4.plan'}",
        f"--timingCacheFile={engines / 'trtexec.timing'}",
    ]
    assert any("7/7 parity photos" in n for n in rec["notes"]) and any("trtexec" in n for n in rec["notes"])
