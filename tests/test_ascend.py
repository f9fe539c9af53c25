"""The Ascend path (ATC, npu-smi, ais_bench, the legacy benchmark tool) against the stand-ins in
tests/fakes/: faithful to the tools' flags and file formats, computing with ONNX Runtime."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common import ascend, atc, manifest, npu, outputs, runner
from common.backends.onnxruntime import OrtBackend
from common.errors import BundleError
from tests.conftest import GUIDE_MODELS, ROOT, SUMMARY_KEYS

FAKES = ROOT / "tests" / "fakes"
PYBIN = str(Path(sys.executable).parent)


@pytest.fixture
def fakes(monkeypatch, tmp_path):
    """The stand-ins first on PATH / PYTHONPATH / sys.path; returns a reader of their call log."""
    log = tmp_path / "fake_calls.jsonl"
    monkeypatch.setenv("PATH", os.pathsep.join([str(FAKES / "bin"), PYBIN, os.environ["PATH"]]))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKES), str(ROOT)]))
    monkeypatch.setenv("FAKE_ASCEND_LOG", str(log))
    for var in ("ATC_EXTRA", "SOC", "BENCHMARK_TOOL", "AIS_BENCH_PYTHON", "FAKE_NPU_CHIP", "PROVIDER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.syspath_prepend(str(FAKES))

    def calls(tool: str | None = None) -> list[dict]:
        rows = [json.loads(s) for s in log.read_text().splitlines()] if log.exists() else []
        return [r for r in rows if tool is None or r["tool"] == tool]

    return calls


@pytest.fixture
def no_tools(monkeypatch):
    """A PATH and an import path without any Ascend tool (not even the stand-ins)."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("BENCHMARK_TOOL", raising=False)
    monkeypatch.setitem(sys.modules, "ais_bench", None)
    monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)


def tiny_onnx(
    path: Path, input_name: str, hw: int, classes: int = 1000, batch: int | None = None, output_name: str = "class"
) -> Path:
    """conv -> ReLU -> global pool -> linear: a model of a few hundred parameters, exported at opset 11."""
    import warnings

    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=4),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, classes),
    ).eval()
    axes = None if batch else {input_name: {0: "-1"}, output_name: {0: "-1"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (torch.randn(batch or 1, 3, hw, hw),),
            str(path),
            opset_version=11,
            dynamo=False,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=axes,
        )
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A fake 'tiny' manifest (sk-resnet50's with a 3x32x32 input), its ONNX and ten input .bin files."""
    base = tmp_path_factory.mktemp("tiny model")
    m = dataclasses.replace(
        manifest.load("sk-resnet50"),
        name="tiny",
        input_shape=(3, 32, 32),
        onnx_file="tiny.onnx",
        om_output="tiny_bs{bs}",
    )
    onnx_path = tiny_onnx(base / "tiny.onnx", m.input_name, 32, classes=1001)
    rng = np.random.default_rng(0)
    prep = base / "prep dataset"
    prep.mkdir()
    inputs = []
    for i in range(1, 11):
        p = prep / f"ILSVRC2012_val_{i:08d}.bin"
        rng.standard_normal((3, 32, 32), dtype=np.float32).tofile(p)
        inputs.append(p)
    ref = base / "ort" / "bs4"
    runner.infer(OrtBackend(onnx_path), inputs, 4, ref, m.input_shape, "TXT", progress=False)
    return m, onnx_path, inputs, ref


def same_files(a: Path, b: Path, rename=lambda n: n) -> None:
    got = {rename(f.name): f.read_bytes() for f in outputs.scan(a).values()}
    want = {f.name: f.read_bytes() for f in outputs.scan(b).values()}
    assert sorted(got) == sorted(want)
    assert got == want


# ---- ATC -------------------------------------------------------------------------------------------------

EXPECTED_BS16 = {
    "inceptionresnetv2": [
        "--model=inceptionresnetv2.onnx",
        "--output=inceptionresnetv2_bs16",
        "--input_shape=image:16,3,299,299",
    ],
    "efficientnet-b3": [
        "--model=efficientnetB3_bs16.onnx",
        "--output=efficientnetB3_bs16",
        "--input_shape=image:16,3,300,300",
    ],
    "moco-v2": ["--model=moco-v2-bs16.onnx", "--output=moco-v2-atc-bs16", "--input_shape=actual_input_1:16,3,224,224"],
    "sk-resnet50": ["--model=sk_resnet50.onnx", "--output=sk_resnet50_bs16", "--input_shape=image:16,3,224,224"],
}


@pytest.mark.parametrize("name", GUIDE_MODELS)
def test_atc_command_matches_the_guides(name, monkeypatch):
    monkeypatch.delenv("ATC_EXTRA", raising=False)
    m = manifest.load(name)
    model, output, shape = EXPECTED_BS16[name]
    cmd = atc.atc_command(m, model.split("=")[1], output.split("=")[1], 16, "Ascend310P3")
    assert cmd == [
        "atc",
        "--framework=5",
        model,
        output,
        "--input_format=NCHW",
        shape,
        "--log=error",
        "--soc_version=Ascend310P3",
    ]


def test_atc_command_extras_and_dynamic_batch(monkeypatch):
    m = dataclasses.replace(manifest.load("sk-resnet50"), atc_extra=("--precision_mode=allow_fp32_to_fp16",))
    monkeypatch.setenv("ATC_EXTRA", '--auto_tune_mode="RL,GA"')
    cmd = atc.atc_command(
        m,
        "/a b/x.onnx",
        "out",
        16,
        "Ascend310",
        log="info",
        dynamic_batch=[1, 4, 8],
        extra="--op_select_implmode=high_performance",
    )
    assert cmd[2] == "--model=/a b/x.onnx" and "--input_shape=image:-1,3,224,224" in cmd and "--log=info" in cmd
    assert cmd[8:] == [
        "--dynamic_batch_size=1,4,8",
        "--precision_mode=allow_fp32_to_fp16",
        "--auto_tune_mode=RL,GA",
        "--op_select_implmode=high_performance",
    ]
    with pytest.raises(BundleError, match="static batch"):
        atc.atc_command(manifest.load("moco-v2"), "x.onnx", "o", 16, "Ascend310", dynamic_batch="1,4")
    with pytest.raises(BundleError, match="log level"):
        atc.atc_command(m, "x.onnx", "o", 16, "Ascend310", log="verbose")


@pytest.mark.parametrize("name", GUIDE_MODELS)
def test_convert_each_guide_model(name, fakes, tmp_path):
    m = manifest.load(name)
    work = tmp_path / "work dir"
    work.mkdir()
    static = 16 if m.static_batch else None
    onnx_path = tiny_onnx(
        work / m.onnx_name(16), m.input_name, m.height, m.classes, batch=static, output_name=m.output_name
    )
    om = ascend.om_step(m, onnx_path, work, 16, soc="Ascend310P3")
    assert om == work / "om" / f"{m.om_name(16)}.om" and om.is_file()
    argv = fakes("atc")[-1]["argv"]
    model = Path(argv[1].split("=", 1)[1])
    if m.om_static_onnx:  # EfficientNet-B3: a fixed-batch simplified copy
        import onnx

        assert model == (work / "om" / "efficientnetB3_bs16.onnx").resolve()
        dims = onnx.load(str(model)).graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in dims] == [16, 3, 300, 300]
    else:  # MoCo: its per-batch ONNX; the others: the dynamic one
        assert model == onnx_path.resolve()
    assert argv[4:] == [EXPECTED_BS16[name][2], "--log=error", "--soc_version=Ascend310P3"]
    assert sorted(p.name for p in (work / "om").iterdir() if p.name.startswith(".")) == []
    assert (work / "om" / f"atc_{m.om_name(16)}.log").read_text().startswith("$ ")
    ascend.om_step(m, onnx_path, work, 16, soc="Ascend310P3")  # fresh: not converted again
    assert len(fakes("atc")) == 1
    ascend.om_step(m, onnx_path, work, 16, soc="Ascend310")  # another chip: converted again
    assert len(fakes("atc")) == 2


def test_convert_with_a_relative_work_dir(fakes, tmp_path, monkeypatch):
    """WORK's default is relative (work/<model>) while ATC runs in <WORK>/om: its --output is absolute."""
    m = manifest.load("sk-resnet50")
    monkeypatch.chdir(tmp_path)
    work = Path("work") / "sk-resnet50"
    onnx_path = tiny_onnx(tmp_path / "sk_resnet50.onnx", "image", 224)
    om = ascend.om_step(m, onnx_path, work, 16, soc="Ascend310P3")
    assert om.is_file() and om.resolve() == tmp_path / "work" / "sk-resnet50" / "om" / "sk_resnet50_bs16.om"
    assert Path(fakes("atc")[-1]["argv"][2].split("=", 1)[1]).is_absolute()


def test_convert_dynamic_batch(fakes, tmp_path):
    m = manifest.load("sk-resnet50")
    onnx_path = tiny_onnx(tmp_path / "sk_resnet50.onnx", "image", 224)
    om = ascend.om_step(m, onnx_path, tmp_path, 16, soc="Ascend310P3", dynamic_batch=(1, 4, 8))
    assert om.name == "sk_resnet50_bsdyn.om"
    argv = fakes("atc")[-1]["argv"]
    assert "--input_shape=image:-1,3,224,224" in argv and argv[-1] == "--dynamic_batch_size=1,4,8"


def test_atc_failure_leaves_no_om(fakes, tmp_path, monkeypatch):
    m = manifest.load("sk-resnet50")
    onnx_path = tiny_onnx(tmp_path / "sk_resnet50.onnx", "image", 224)
    monkeypatch.setenv("ATC_EXTRA", "--no_such_flag=1")
    with pytest.raises(BundleError, match="unknown command line flag 'no_such_flag'"):
        ascend.om_step(m, onnx_path, tmp_path, 4, soc="Ascend310P3")
    assert list((tmp_path / "om").iterdir()) == [tmp_path / "om" / "atc_sk_resnet50_bs4.log"]
    wrong = dataclasses.replace(m, input_name="input")  # ATC checks the name against the graph
    monkeypatch.delenv("ATC_EXTRA")
    with pytest.raises(BundleError, match=r"E10001.*input_shape"):
        ascend.om_step(wrong, onnx_path, tmp_path, 4, soc="Ascend310P3")
    assert not (tmp_path / "om" / "sk_resnet50_bs4.om").exists()


# ---- npu-smi ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chip", "soc"),
    [("310", "Ascend310"), ("310P3", "Ascend310P3"), ("910B3", "Ascend910B3"), ("Ascend910", "Ascend910")],
)
def test_detect_soc(chip, soc, fakes, monkeypatch):
    monkeypatch.setenv("FAKE_NPU_CHIP", chip)
    assert npu.detect_soc() == soc


def test_detect_soc_without_npu_rows(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_NPU_CHIP", "none")
    with pytest.raises(BundleError, match="lists no NPU"):
        npu.detect_soc()


def test_soc_detected_or_overridden(fakes, tmp_path, monkeypatch):
    m = manifest.load("sk-resnet50")
    onnx_path = tiny_onnx(tmp_path / "sk_resnet50.onnx", "image", 224)
    monkeypatch.setenv("FAKE_NPU_CHIP", "910B3")
    ascend.om_step(m, onnx_path, tmp_path / "a", 1)
    assert fakes("atc")[-1]["argv"][-1] == "--soc_version=Ascend910B3"
    only_atc = tmp_path / "bin"  # no npu-smi here: an explicit SOC must be enough
    only_atc.mkdir()
    (only_atc / "atc").symlink_to(FAKES / "bin" / "atc")
    monkeypatch.setenv("PATH", os.pathsep.join([str(only_atc), PYBIN, "/usr/bin:/bin"]))
    ascend.om_step(m, onnx_path, tmp_path / "b", 1, soc="Ascend310")
    assert fakes("atc")[-1]["argv"][-1] == "--soc_version=Ascend310"
    with pytest.raises(BundleError, match="npu-smi not found.*SOC=Ascend310P3"):
        ascend.om_step(m, onnx_path, tmp_path / "c", 1)


# ---- ais_bench -------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_om(fakes, tiny, tmp_path):
    m, onnx_path, inputs, ref = tiny
    return ascend.om_step(m, onnx_path, tmp_path / "work", 4, soc="Ascend310P3")


def test_infer_om_api_matches_onnxruntime(fakes, tiny, tiny_om, tmp_path):
    m, _, inputs, ref = tiny
    out = tmp_path / "results" / "bs4"
    summary = ascend.infer_om(m, tiny_om, inputs, 4, out, progress=False)
    same_files(out, ref)
    assert SUMMARY_KEYS <= set(summary) and summary["timing_source"] == "ais_bench"
    assert summary["NPU_compute_time"]["count"] == 3 and summary["throughput"] > 0
    assert json.loads((tmp_path / "results" / "bs4_summary.json").read_text())["samples"] == 10
    assert [c["device"] for c in fakes("InferSession")] == [0] and not fakes("ais_bench")


def test_infer_om_cli_matches_onnxruntime(fakes, tiny, tiny_om, tmp_path, monkeypatch):
    m, _, inputs, ref = tiny
    monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)  # the API does not import
    assert not ascend.api_available()
    out = tmp_path / "results" / "bs4"
    summary = ascend.infer_om(m, tiny_om, inputs, 4, out, progress=False)
    same_files(out, ref)
    argv = fakes("ais_bench")[0]["argv"]
    assert argv[argv.index("--outfmt") + 1] == "TXT" and argv[argv.index("--batchsize") + 1] == "4"
    assert SUMMARY_KEYS <= set(summary) and summary["filesinfo"][0]["infiles"][0] == str(inputs[0])
    assert all(Path(f).parent == out for i in summary["filesinfo"].values() for f in i["outfiles"])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("api", [True, False])
def test_infer_om_two_devices(api, fakes, tiny, tiny_om, tmp_path, monkeypatch):
    m, _, inputs, ref = tiny
    if not api:
        monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)
    out = tmp_path / "results" / "bs4"
    summary = ascend.infer_om(m, tiny_om, inputs, 4, out, devices="0,1", progress=False)
    same_files(out, ref)
    assert sorted(summary["throughput_per_device"]) == ["0", "1"]
    assert summary["throughput"] == pytest.approx(sum(summary["throughput_per_device"].values()))
    assert summary["NPU_compute_time"]["count"] == 3  # 10 inputs at bs4: 2 batches on NPU 0, 1 on NPU 1
    sessions = fakes("InferSession")
    assert sorted({c["device"] for c in sessions}) == [0, 1]
    assert json.loads((tmp_path / "results" / "bs4_summary.json").read_text())["samples"] == 10


def test_infer_om_device_failure_keeps_the_other_shard(fakes, tiny, tiny_om, tmp_path, monkeypatch):
    m, _, inputs, _ = tiny
    monkeypatch.setenv("FAKE_NPU_COUNT", "1")  # NPU 1 does not exist
    out = tmp_path / "results" / "bs4"
    with pytest.raises(BundleError, match="device 1"):
        ascend.infer_om(m, tiny_om, inputs, 4, out, devices="0,1", progress=False)
    assert sorted(outputs.scan(out)) == sorted(p.stem for p in inputs[:8])
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_infer_om_resumes(fakes, tiny, tiny_om, tmp_path):
    m, _, inputs, ref = tiny
    out = tmp_path / "results" / "bs4"
    ascend.infer_om(m, tiny_om, inputs[:4], 4, out, devices=("0", "1"), progress=False)
    summary = ascend.infer_om(m, tiny_om, inputs, 4, out, devices=("0", "1"), progress=False)
    assert summary["skipped"] == 4
    same_files(out, ref)


@pytest.mark.parametrize("api", [True, False])
def test_dynamic_batch_om(api, fakes, tiny, tmp_path, monkeypatch):
    m, onnx_path, inputs, ref = tiny
    om = ascend.om_step(m, onnx_path, tmp_path / "work", 4, soc="Ascend310P3", dynamic_batch="1,4,8")
    if not api:
        monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)
    out = tmp_path / "results" / "bs4"
    ascend.infer_om(m, om, inputs, 4, out, progress=False)  # last batch of 2 padded to the gear 4
    same_files(out, ref)
    assert ascend.perf_om(m, om, 4, loop=2)["throughput"] > 0
    assert fakes("ais_bench")[-1]["argv"][-2:] == ["--dymBatch", "4"]


def test_old_release_sumary_spelling(fakes, tiny, tiny_om, monkeypatch):
    from ais_bench.infer.interface import InferSession

    from common.backends.ais_bench import AisBenchBackend

    monkeypatch.delattr(InferSession, "summary")
    backend = AisBenchBackend(tiny_om)
    backend.run(np.zeros((4, 3, 32, 32), np.float32))
    times = backend.own_timings()
    assert len(times) == 1 and times[0] > 0
    backend.close()


def test_perf_om(fakes, tiny, tiny_om):
    m = tiny[0]
    perf = ascend.perf_om(m, tiny_om, 4, loop=7)
    assert perf["source"] == "ais_bench (NPU compute time)" and perf["throughput"] > 0
    assert len(perf["latency_ms"]) == 7
    argv = fakes("ais_bench")[-1]["argv"]
    assert argv[:6] == ["--model", str(tiny_om), "--loop", "7", "--batchsize", "4"]


def test_fake_cli_summary_inside_with_trailing_slash(fakes, tiny, tiny_om, tmp_path):
    _, _, inputs, _ = tiny
    cmd = [
        sys.executable,
        "-m",
        "ais_bench",
        "--model",
        str(tiny_om),
        "--input",
        str(inputs[0].parent),
        "--output",
        str(tmp_path),
        "--output_dirname",
        "res/",
        "--outfmt",
        "BIN",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "res" / "_summary.json").is_file() and len(list((tmp_path / "res").glob("*_0.bin"))) == 10
    assert "[INFO] throughput 1000*batchsize.mean(4)/NPU_compute_time.mean(" in proc.stdout


# ---- legacy benchmark tool -------------------------------------------------------------------------------

GUIDE_PERF = """[e2e] throughputRate: 115.546, latency: 432730
[data read] throughputRate: 119.201, moduleLatency: 8.38921
[preprocess] throughputRate: 119.109, moduleLatency: 8.39568
[infer] throughputRate: 115.783, Interface throughputRate: 168.121, moduleLatency: 8.42258
[post] throughputRate: 7.23632, moduleLatency: 138.192
"""


def test_parse_perf_vision_of_the_guide():
    perf = ascend.parse_perf_vision(GUIDE_PERF)
    assert perf["infer"]["Interface throughputRate"] == 168.121 and perf["e2e"]["latency"] == 432730


def test_benchmark_layout(fakes, tiny, tiny_om, tmp_path):
    m, _, inputs, ref = tiny
    info = tmp_path / "tiny.info"
    info.write_text("".join(f"{i} {p} 32 32\n" for i, p in enumerate(inputs)))
    out = tmp_path / "results" / "bs4"
    summary = ascend.infer_benchmark(m, tiny_om, info, 4, out, device="1")
    same_files(out, ref, rename=lambda n: n.replace("_1.txt", "_0.txt"))
    assert sorted(outputs.scan(out)) == sorted(p.stem for p in inputs)
    assert all(f.name.endswith("_1.txt") for f in outputs.scan(out).values())
    x = summary["throughput"]
    assert x == summary["perf_vision"]["infer"]["Interface throughputRate"] > 0
    assert summary["throughput_310_card_x4"] == pytest.approx(4 * x)
    argv = fakes("benchmark")[-1]["argv"]
    assert "-device_id=1" in argv and "-input_width=32" in argv and "-output_binary=False" in argv
    assert not (tmp_path / "results" / ".benchmark_bs4").exists()
    pure = ascend.perf_benchmark(tiny_om, 4, device="0")
    assert pure["throughput"] > 0 and pure["throughput_310_card_x4"] == pytest.approx(4 * pure["throughput"])
    assert "-round=20" in fakes("benchmark")[-1]["argv"]


def test_benchmark_tool_from_env(fakes, monkeypatch, tmp_path):
    monkeypatch.setenv("BENCHMARK_TOOL", str(FAKES / "bin" / "benchmark.x86_64"))
    assert ascend.find_benchmark() == str(FAKES / "bin" / "benchmark.x86_64")
    monkeypatch.setenv("BENCHMARK_TOOL", str(tmp_path / "nope"))
    with pytest.raises(BundleError, match="BENCHMARK_TOOL"):
        ascend.find_benchmark()


# ---- without the tools -----------------------------------------------------------------------------------


def test_clear_errors_without_the_tools(no_tools, tiny, tmp_path):
    m, onnx_path, inputs, _ = tiny
    with pytest.raises(BundleError, match=r"^atc not found: source models/tiny/env.sh .*make docker-run"):
        ascend.om_step(m, onnx_path, tmp_path, 4, soc="Ascend310P3")
    with pytest.raises(BundleError, match=r"^npu-smi not found: run on an Ascend host, or set SOC="):
        npu.detect_soc()
    fake_om = tmp_path / "x.om"
    fake_om.write_bytes(b"\0")
    with pytest.raises(BundleError, match="^ais_bench not found"):
        ascend.infer_om(m, fake_om, inputs, 4, tmp_path / "out", progress=False)
    with pytest.raises(BundleError, match="^ais_bench not found"):
        ascend.perf_om(m, fake_om, 4)
    with pytest.raises(BundleError, match=r"benchmark\.\w+ not found"):
        ascend.perf_benchmark(fake_om, 4)


# ---- the stand-ins themselves are strict -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["atc", "--framework=5", "--model=M", "--output=o", "--soc_version=Ascend310", "--bogus=1"],
            "unknown command line flag 'bogus'",
        ),
        (["atc", "--framework=3", "--model=M", "--output=o", "--soc_version=Ascend310"], "E10001"),
        (["atc", "--framework=5", "--model=M", "--output=o", "--soc_version=Ascend310", "--log=verbose"], "[--log]"),
        (
            [
                "atc",
                "--framework=5",
                "--model=M",
                "--output=o",
                "--soc_version=Ascend310",
                "--input_shape=image:16,3,224",
            ],
            "[--input_shape]",
        ),
        (["atc", "--framework=5", "--model=M", "--output=o", "--soc_version=Ascend999"], "[--soc_version]"),
        ([sys.executable, "-m", "ais_bench", "--model", "M", "--batch_size", "4"], "unrecognized arguments"),
        ([sys.executable, "-m", "ais_bench", "--model", "M", "--outfmt", "CSV"], "invalid choice"),
        (["benchmark.x86_64", "-round=20", "-om_path=M", "-device_id=0", "-batchsize=4"], "unknown command line flag"),
        (["npu-smi", "status"], "Usage: npu-smi info"),
    ],
)
def test_stand_ins_reject_wrong_flags(argv, message, fakes, tmp_path):
    model = tiny_onnx(tmp_path / "m.onnx", "image", 224)
    argv = [str(model) if a == "M" else a.replace("=M", f"={model}") for a in argv]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=os.environ, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    if argv[0] == "atc" and "unknown" not in message:
        assert "ATC run failed, Please check the detail log" in proc.stderr


# ---- env.sh ----------------------------------------------------------------------------------------------


def _bash(script: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
    )


def test_env_sh_is_harmless_without_cann(tmp_path):
    proc = _bash(
        f"set -eu; source '{ROOT}/models/moco-v2/env.sh'; echo still-here",
        tmp_path,
        ASCEND_TOOLKIT_HOME=str(tmp_path / "none"),
    )
    assert proc.returncode == 0 and "still-here" in proc.stdout
    if not Path("/usr/local/Ascend/ascend-toolkit").exists():
        assert "no CANN toolkit installed" in proc.stderr and "ONNX Runtime" in proc.stderr


def test_env_sh_sources_set_env_and_travels(tmp_path):
    toolkit = tmp_path / "ascend toolkit"
    toolkit.mkdir()
    (toolkit / "set_env.sh").write_text('export CANN_MARK=1\n: "$SOME_UNSET_VARIABLE"\n')
    folder = tmp_path / "travelled model"  # a model folder that travelled with its own common/env.sh
    (folder / "common").mkdir(parents=True)
    shutil.copy(ROOT / "models" / "sk-resnet50" / "env.sh", folder / "env.sh")
    shutil.copy(ROOT / "common" / "env.sh", folder / "common" / "env.sh")
    for env_sh in (ROOT / "models" / "efficientnet-b3" / "env.sh", folder / "env.sh"):
        proc = _bash(
            f"set -eu; source '{env_sh}'; echo mark=$CANN_MARK; case $- in *u*) echo nounset;; esac",
            tmp_path,
            ASCEND_TOOLKIT_HOME=str(toolkit),
        )
        assert proc.returncode == 0, proc.stderr
        assert "mark=1" in proc.stdout and "nounset" in proc.stdout
