"""The Ascend path (ATC, npu-smi, ais_bench, the legacy benchmark tool) against the stand-ins in
tests/fakes/: faithful to the tools' flags and file formats, computing with ONNX Runtime."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from common import atc, manifest, npu, outputs
from common.backends import ais_bench, benchmark, runner
from common.backends.ais_bench import AisBenchRunner
from common.backends.benchmark import BenchmarkRunner
from common.backends.onnxruntime import OrtSession
from common.errors import BundleError
from common.layout import Layout, summary_of
from tests.conftest import GUIDE_MODELS, ROOT, SUMMARY_KEYS

FAKES = ROOT / "tests" / "fakes"
PYBIN = str(Path(sys.executable).parent)


def convert(m, onnx_path, work, bs, **kw) -> Path:
    """ONNX -> OM into ``work/om`` with the stand-in ATC."""
    return atc.convert(m, Layout(Path(work), m), onnx_path, bs, **kw)


def om_runner(m, om, bs, devices=("0",), dynamic=False, loop=100) -> AisBenchRunner:
    return AisBenchRunner(lambda _bs: om, devices, bs, m.input_shape, "TXT", False, loop=loop, dynamic=dynamic)


def infer_om(m, om, inputs, bs, out, devices=("0",), dynamic=False) -> dict:
    with om_runner(m, om, bs, devices, dynamic) as r:
        return r.infer(inputs, out)


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

    yield calls
    # the process-wide teardown the bundle leaves to exit, done per test here so that each test starts
    # with no device open (the stand-in initialises ACL again unless FAKE_ACL_STRICT_FINALIZE=1)
    ais_bench.finalize()
    ais_bench._ProcessAcl.finalized = False


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
    runner.infer(OrtSession(onnx_path), inputs, 4, ref, m.input_shape, "TXT", progress=False)
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


def test_atc_command_extras_and_dynamic_batch():
    m = dataclasses.replace(manifest.load("sk-resnet50"), atc_extra=("--precision_mode=allow_fp32_to_fp16",))
    cmd = atc.atc_command(
        m,
        "/a b/x.onnx",
        "out",
        16,
        "Ascend310",
        log="info",
        dynamic_batch=[1, 4, 8],
        extra='--auto_tune_mode="RL,GA" --op_select_implmode=high_performance',
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
    om = convert(m, onnx_path, work, 16, soc="Ascend310P3")
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
    convert(m, onnx_path, work, 16, soc="Ascend310P3")  # fresh: not converted again
    assert len(fakes("atc")) == 1
    convert(m, onnx_path, work, 16, soc="Ascend310")  # another chip: converted again
    assert len(fakes("atc")) == 2


def test_convert_dynamic_batch(fakes, tmp_path):
    m = manifest.load("sk-resnet50")
    onnx_path = tiny_onnx(tmp_path / "sk_resnet50.onnx", "image", 224)
    om = convert(m, onnx_path, tmp_path, 16, soc="Ascend310P3", dynamic_batch=(1, 4, 8))
    assert om.name == "sk_resnet50_bsdyn.om"
    argv = fakes("atc")[-1]["argv"]
    assert "--input_shape=image:-1,3,224,224" in argv and argv[-1] == "--dynamic_batch_size=1,4,8"


def test_atc_failure_leaves_no_om(fakes, tmp_path, monkeypatch):
    m = manifest.load("sk-resnet50")
    onnx_path = tiny_onnx(tmp_path / "sk_resnet50.onnx", "image", 224)
    with pytest.raises(BundleError, match="unknown command line flag 'no_such_flag'"):
        convert(m, onnx_path, tmp_path, 4, soc="Ascend310P3", extra="--no_such_flag=1")
    assert list((tmp_path / "om").iterdir()) == [tmp_path / "om" / "atc_sk_resnet50_bs4.log"]
    wrong = dataclasses.replace(m, input_name="input")  # ATC checks the name against the graph
    with pytest.raises(BundleError, match=r"E10001.*input_shape"):
        convert(wrong, onnx_path, tmp_path, 4, soc="Ascend310P3")
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
    convert(m, onnx_path, tmp_path / "a", 1)
    assert fakes("atc")[-1]["argv"][-1] == "--soc_version=Ascend910B3"
    only_atc = tmp_path / "bin"  # no npu-smi here: an explicit SOC must be enough
    only_atc.mkdir()
    (only_atc / "atc").symlink_to(FAKES / "bin" / "atc")
    monkeypatch.setenv("PATH", os.pathsep.join([str(only_atc), PYBIN, "/usr/bin:/bin"]))
    convert(m, onnx_path, tmp_path / "b", 1, soc="Ascend310")
    assert fakes("atc")[-1]["argv"][-1] == "--soc_version=Ascend310"
    with pytest.raises(BundleError, match="npu-smi not found.*SOC=Ascend310P3"):
        convert(m, onnx_path, tmp_path / "c", 1)


# ---- ais_bench -------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_om(fakes, tiny, tmp_path):
    m, onnx_path, inputs, ref = tiny
    return convert(m, onnx_path, tmp_path / "work", 4, soc="Ascend310P3")


def test_infer_om_api_matches_onnxruntime(fakes, tiny, tiny_om, tmp_path):
    m, _, inputs, ref = tiny
    out = tmp_path / "results" / "bs4"
    summary = infer_om(m, tiny_om, inputs, 4, out)
    same_files(out, ref)
    assert SUMMARY_KEYS <= set(summary) and summary["timing_source"] == "ais_bench"
    assert summary["NPU_compute_time"]["count"] == 3 and summary["throughput"] > 0
    assert json.loads(summary_of(out).read_text())["samples"] == 10
    assert [c["device"] for c in fakes("InferSession")] == [0] and not fakes("ais_bench")


def test_infer_om_cli_matches_onnxruntime(fakes, tiny, tiny_om, tmp_path, monkeypatch):
    m, _, inputs, ref = tiny
    monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)  # the API does not import
    assert not ais_bench.api_available()
    out = tmp_path / "results" / "bs4"
    summary = infer_om(m, tiny_om, inputs, 4, out)
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
    summary = infer_om(m, tiny_om, inputs, 4, out, devices=("0", "1"))
    same_files(out, ref)
    assert sorted(summary["throughput_per_device"]) == ["0", "1"]
    assert summary["throughput"] == pytest.approx(sum(summary["throughput_per_device"].values()))
    assert summary["NPU_compute_time"]["count"] == 3  # 10 inputs at bs4: 2 batches on NPU 0, 1 on NPU 1
    sessions = fakes("InferSession")
    assert sorted({c["device"] for c in sessions}) == [0, 1]
    assert json.loads(summary_of(out).read_text())["samples"] == 10


def test_infer_om_device_failure_keeps_the_other_shard(fakes, tiny, tiny_om, tmp_path, monkeypatch):
    m, _, inputs, _ = tiny
    monkeypatch.setenv("FAKE_NPU_COUNT", "1")  # NPU 1 does not exist
    out = tmp_path / "results" / "bs4"
    with pytest.raises(BundleError, match="device 1"):
        infer_om(m, tiny_om, inputs, 4, out, devices=("0", "1"))
    assert sorted(outputs.scan(out)) == sorted(p.stem for p in inputs[:8])
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_infer_om_resumes(fakes, tiny, tiny_om, tmp_path):
    m, _, inputs, ref = tiny
    out = tmp_path / "results" / "bs4"
    infer_om(m, tiny_om, inputs[:4], 4, out, devices=("0", "1"))
    summary = infer_om(m, tiny_om, inputs, 4, out, devices=("0", "1"))
    assert summary["skipped"] == 4
    same_files(out, ref)


@pytest.mark.parametrize("api", [True, False])
def test_dynamic_batch_om(api, fakes, tiny, tmp_path, monkeypatch):
    m, onnx_path, inputs, ref = tiny
    om = convert(m, onnx_path, tmp_path / "work", 4, soc="Ascend310P3", dynamic_batch="1,4,8")
    if not api:
        monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)
    out = tmp_path / "results" / "bs4"
    infer_om(m, om, inputs, 4, out, dynamic=True)  # last batch of 2 padded to the gear 4
    same_files(out, ref)
    assert om_runner(m, om, 4, dynamic=True, loop=2).perf(4).samples_per_s > 0
    assert fakes("ais_bench")[-1]["argv"][-2:] == ["--dymBatch", "4"]


SESSION_SCRIPT = """
import sys
import tempfile
import numpy as np
from common.backends.ais_bench import AisBenchSession
a, b = AisBenchSession(sys.argv[1], device="0"), AisBenchSession(sys.argv[1], device="1")
a.run(np.zeros((4, 3, 32, 32), np.float32))
b.run(np.zeros((4, 3, 32, 32), np.float32))
a.close()  # must not tear down b (finalize() is process-wide in both front-ends)
b.run(np.zeros((4, 3, 32, 32), np.float32))
times = b.own_timings()
assert len(times) == 2 and all(t > 0 for t in times), times
print(a.lineage, b.describe())
b.close()
"""


@pytest.mark.parametrize(("lineage", "name"), [("tools2023", "tools"), ("msit2024", "msit")])
def test_session_on_each_front_end(lineage, name, fakes, tiny_om):
    """Timings from sumary() (2023) or summary() (msit); closing one session leaves the other working;
    free_resource() per session where it exists, and one process-wide finalize(), at exit."""
    env = {**os.environ, "FAKE_AIS_LINEAGE": lineage, "FAKE_ACL_STRICT_FINALIZE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", SESSION_SCRIPT, str(tiny_om)], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"{name} ais_bench InferSession ({name} front-end, tiny_bs4.om, NPU 1)" in proc.stdout
    assert len(fakes("free_resource")) == (2 if name == "msit" else 0)
    assert len(fakes("finalize")) == 1 and len(fakes("aclFinalize")) == 1


def test_perf_om(fakes, tiny, tiny_om):
    m = tiny[0]
    perf = om_runner(m, tiny_om, 4, loop=7).perf(4)
    assert perf.source == "ais_bench (NPU compute time)" and perf.samples_per_s > 0
    assert perf.runs == 7 and "1000 x bs / mean NPU compute time, zero inputs" in perf.method
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
    perf = benchmark.parse_perf_vision(GUIDE_PERF)
    assert perf["infer"]["Interface throughputRate"] == 168.121 and perf["e2e"]["latency"] == 432730


def test_benchmark_layout(fakes, tiny, tiny_om, tmp_path):
    m, _, inputs, ref = tiny
    out = tmp_path / "results" / "bs4"
    summary = BenchmarkRunner(lambda _bs: tiny_om, 4, m.input_shape, device="1").infer(inputs, out)
    same_files(out, ref, rename=lambda n: n.replace("_1.txt", "_0.txt"))
    assert sorted(outputs.scan(out)) == sorted(p.stem for p in inputs)
    assert all(f.name.endswith("_1.txt") for f in outputs.scan(out).values())
    x = summary["throughput"]
    assert x == summary["perf_vision"]["infer"]["Interface throughputRate"] > 0
    assert summary["throughput_310_card_x4"] == pytest.approx(4 * x)
    argv = fakes("benchmark")[-1]["argv"]
    assert "-device_id=1" in argv and "-input_width=32" in argv and "-output_binary=False" in argv
    assert not (tmp_path / "results" / ".benchmark_bs4").exists()
    pure = BenchmarkRunner(lambda _bs: tiny_om, 4, m.input_shape, device="0").perf(4)
    assert pure.samples_per_s > 0 and "per chip" in pure.method
    assert "-round=20" in fakes("benchmark")[-1]["argv"]


def test_benchmark_tool_from_env(fakes, monkeypatch, tmp_path):
    assert benchmark.find(str(FAKES / "bin" / "benchmark.x86_64")) == str(FAKES / "bin" / "benchmark.x86_64")
    with pytest.raises(BundleError, match="BENCHMARK_TOOL"):
        benchmark.find(str(tmp_path / "nope"))


# ---- without the tools -----------------------------------------------------------------------------------


def test_clear_errors_without_the_tools(no_tools, tiny, tmp_path):
    m, onnx_path, inputs, _ = tiny
    with pytest.raises(BundleError, match=r"^atc not found: source models/tiny/env.sh .*make docker-run"):
        convert(m, onnx_path, tmp_path, 4, soc="Ascend310P3")
    with pytest.raises(BundleError, match=r"^npu-smi not found: run on an Ascend host, or set SOC="):
        npu.detect_soc()
    fake_om = tmp_path / "x.om"
    fake_om.write_bytes(b"\0")
    with pytest.raises(BundleError, match="^ais_bench not found"):
        infer_om(m, fake_om, inputs, 4, tmp_path / "out")
    with pytest.raises(BundleError, match="^ais_bench not found"):
        om_runner(m, fake_om, 4).perf(4)
    with pytest.raises(BundleError, match=r"benchmark\.\w+ not found"):
        BenchmarkRunner(lambda _bs: fake_om, 4, m.input_shape).perf(4)


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


# ---- issue 10: what the real ais_bench front-ends need, unit by unit ---------------------------------------
# (tests/test_ais_real_behaviour.py runs the same through the bundle's steps, for both front-ends)


def test_output_key_is_the_name_up_to_the_first_dot(tmp_path):
    """ais_bench names outputs basename.split('.')[0] + '_<k>'; the guides key labels the same way."""
    from common import dataset_info, images

    assert outputs.stem("/a.b/chelsea.v2.bin") == images.key("chelsea.v2.png") == "chelsea"
    assert outputs.stem("ILSVRC2012_val_00000001.bin") == "ILSVRC2012_val_00000001"
    with pytest.raises(BundleError, match=r"^cat\.a\.bin and cat\.b\.bin would both be written as cat_0"):
        outputs.check_unique([tmp_path / "cat.a.bin", tmp_path / "dog.bin", tmp_path / "cat.b.bin"])
    labels = tmp_path / "val_label.txt"
    labels.write_text("chelsea.v2.png 281\nILSVRC2012_val_00000001.JPEG 65\n")
    assert dataset_info.read_labels(labels) == {"chelsea": 281, "ILSVRC2012_val_00000001": 65}
    labels.write_text("cat.a.png 281\ncat.b.png 285\n")
    with pytest.raises(BundleError, match=r":1 and line 2 names cat\.a\.png and cat\.b\.png, which share"):
        dataset_info.read_labels(labels)
    val = tmp_path / "val"
    val.mkdir()
    for name in ("cat.a.png", "cat.b.png"):
        (val / name).write_bytes(b"")
    with pytest.raises(BundleError, match=r"cat\.a\.png and cat\.b\.png both have the key 'cat'"):
        images.list_images(val)


def test_bin_outputs_are_read_in_the_dtype_the_tool_wrote(tmp_path):
    """The CLI writes BIN/NPY in the OM's output dtype (float16 with --output_type=FP16), NPY as (1, N)."""
    values = np.linspace(-3, 3, 1000, dtype=np.float32)
    out = tmp_path / "outputs"
    out.mkdir()
    values.astype(np.float16).tofile(out / "a_0.bin")
    values.tofile(out / "b_0.bin")
    np.save(out / "c_0.npy", values.astype(np.float16).reshape(1, -1))
    assert outputs.read(out / "a_0.bin").size == 500  # without the width: float32, the bundle's own format
    assert np.array_equal(outputs.read(out / "a_0.bin", 1000), values.astype(np.float16).astype(np.float32))
    assert np.array_equal(outputs.read(out / "b_0.bin", 1000), values)
    assert np.array_equal(outputs.read(out / "c_0.npy"), outputs.read(out / "a_0.bin", 1000))
    values[:300].tofile(out / "d_0.bin")
    with pytest.raises(BundleError, match=r"d_0\.bin: 1200 bytes, but an output of 1000 values is 4000"):
        outputs.read(out / "d_0.bin", 1000)


def test_cli_gets_hard_links_or_private_copies_under_safe_paths(tmp_path, monkeypatch):
    """msit's CLI refuses symbolic links, group/other-writable files and paths outside [_A-Za-z0-9/.-]."""
    src = tmp_path / "prep dir"
    src.mkdir()
    mine, shared = src / "a.v2.bin", src / "b.bin"
    mine.write_bytes(b"1234")
    shared.write_bytes(b"5678")
    mine.chmod(0o644)
    shared.chmod(0o664)  # made under umask 002: a hard link would keep the group-writable mode
    dst = tmp_path / "staged"
    dst.mkdir()
    link = tmp_path / "link.bin"
    link.symlink_to(mine)
    ais_bench.stage(link, dst / "s000000.bin")
    ais_bench.stage(shared, dst / "s000001.bin")
    assert (dst / "s000000.bin").stat().st_ino == mine.stat().st_ino  # a hard link to the real file
    copy = (dst / "s000001.bin").stat()
    assert copy.st_ino != shared.stat().st_ino and copy.st_mode & 0o777 == 0o640
    om = src / "x.om"  # a path with a space: linked into the staging folder
    om.write_bytes(b"om")
    om.chmod(0o644)
    assert ais_bench.model_arg(om, dst) == str(dst / "model.om")
    assert ais_bench.model_arg(dst / "s000000.bin", dst) == str(dst / "s000000.bin")
    with pytest.raises(BundleError, match=r"^TMPDIR .*/my tmp: the ais_bench CLI \(msit\) accepts only paths"):
        ais_bench.safe_path(tmp_path / "my tmp", "TMPDIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "my tmp"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    (tmp_path / "my tmp").mkdir()
    with pytest.raises(BundleError, match="set TMPDIR to a folder whose path has only those"):
        ais_bench.staging_dir(src)  # src has a space too: TMPDIR is the fallback, and it is refused
    assert ais_bench.staging_dir(tmp_path / "work").parent == tmp_path / "work"


def test_cli_gets_a_pkg_resources_where_its_interpreter_has_none(monkeypatch):
    """setuptools >= 81 has no pkg_resources; the msit CLI's version check cannot start without it."""
    monkeypatch.setattr(ais_bench, "_probe", lambda exe: {"ais_bench": True, "pkg_resources": False})
    env = ais_bench.cli_env(sys.executable)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ais_bench.SHIM)
    code = "import pkg_resources as p; print(p.get_distribution('numpy').version, len(p.working_set) > 0)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [np.__version__, "True"]
    monkeypatch.setattr(ais_bench, "_probe", lambda exe: {"ais_bench": True, "pkg_resources": True})
    assert str(ais_bench.SHIM) not in ais_bench.cli_env(sys.executable).get("PYTHONPATH", "")


def test_runtime_errors_are_one_line_naming_the_call(fakes, tiny, tmp_path):
    m, onnx_path, inputs, _ = tiny
    om = convert(m, onnx_path, tmp_path / "work", 4, soc="Ascend310P3", dynamic_batch="1,4,8")
    session = ais_bench.AisBenchSession(om, gear=5)  # 5 is not a gear of this OM
    with pytest.raises(BundleError) as err:
        session.run(np.zeros((4, 3, 32, 32), np.float32))
    text = str(err.value)
    assert text.startswith("ais_bench set_dynamic_batchsize(5) failed on device 0 (tiny_bsdyn.om): [1][ACL: invalid")
    assert "DYNAMIC_BATCH" in text and "\n" not in text
    session.close()
    with pytest.raises(BundleError, match=r"^BS=5 is not one of the dynamic-batch OM's gears \(1,4,8\)"):
        AisBenchRunner(lambda _bs: om, ["0"], 5, m.input_shape, dynamic=(1, 4, 8)).prepare()
    with pytest.raises(BundleError, match=r"^ais_bench InferSession\(9, tiny_bsdyn\.om\) failed on device 9"):
        ais_bench.AisBenchSession(om, device="9")  # the stand-in has 8 NPUs


def test_no_session_after_the_process_wide_finalize(fakes, tiny_om):
    ais_bench.AisBenchSession(tiny_om).close()
    ais_bench.finalize()
    assert len(fakes("aclFinalize")) == 1
    with pytest.raises(BundleError, match=r"already called InferSession\.finalize\(\).*run the step again$"):
        ais_bench.AisBenchSession(tiny_om)


def test_atc_profile_guide_adds_the_guides_flags(fakes, tmp_path):
    """EfficientNet-B3's guide builds its bs16 OM with --auto_tune_mode="RL,GA" (CANN 5.x), bs1 without."""
    m = manifest.load("efficientnet-b3")
    cmd = atc.atc_command(m, "x.onnx", "o", 16, "Ascend310", profile="guide")
    assert cmd[-1] == "--auto_tune_mode=RL,GA" and "--log=error" in cmd  # LOG still chooses --log
    assert atc.atc_command(m, "x.onnx", "o", 1, "Ascend310", profile="guide") == atc.atc_command(
        m, "x.onnx", "o", 1, "Ascend310"
    )
    assert atc.profile_flags(m, 16, "guide", dynamic=True) == [] and atc.profile_flags(m, 16) == []
    assert atc.atc_command(manifest.load("sk-resnet50"), "x.onnx", "o", 16, "Ascend310", profile="guide")[-1] == (
        "--soc_version=Ascend310"
    )
    with pytest.raises(BundleError, match="ATC_PROFILE='tuned'"):
        atc.profile_flags(m, 16, "tuned")
    m = dataclasses.replace(m, input_shape=(3, 300, 300))
    onnx_path = tiny_onnx(tmp_path / "efficientnetB3.onnx", "image", 300)
    convert(m, onnx_path, tmp_path / "work", 16, soc="Ascend310")
    convert(m, onnx_path, tmp_path / "work", 16, soc="Ascend310", profile="guide")  # other flags: built again
    assert [c["argv"][-1] for c in fakes("atc")] == ["--soc_version=Ascend310", "--auto_tune_mode=RL,GA"]
    convert(m, onnx_path, tmp_path / "work", 16, soc="Ascend310", profile="guide")  # up to date
    assert len(fakes("atc")) == 2
    from ais_bench import _fakeom

    assert _fakeom.read(tmp_path / "work" / "om" / "efficientnetB3_bs16.om")[0]["atc_flags"]["auto_tune_mode"] == (
        "RL,GA"
    )
    with pytest.raises(BundleError, match=r"exists in CANN 5\.x's ATC only; CANN >= 6 tunes with AOE"):
        convert(m, onnx_path, tmp_path / "work", 16, soc="Ascend310", profile="guide", extra="--bogus=1")


def test_perf_table_says_what_produced_each_figure():
    from common import perf as perf_mod

    m = manifest.load("sk-resnet50")
    rows = [
        perf_mod.row(4, [2.0, 2.0], "ais_bench (NPU compute time)", ais_bench.PERF_METHOD.format(loop=5), 2000.0),
        perf_mod.row(8, [4.0, 5.0], "host-measured, ONNX Runtime (CPU)"),
    ]
    text = perf_mod.table(m, rows, "mixed")
    assert "- ais_bench (NPU compute time): ais_bench pure inference: samples/s = 1000 x bs / mean NPU" in text
    assert "(--loop 5 executions of one zero-filled batch after 1 warm-up" in text and "(bs 4)" in text
    assert "- host-measured, ONNX Runtime (CPU): samples/s = bs / median latency" in text and "(bs 8)" in text


def test_report_reads_a_summary_the_cli_wrote():
    from common import report

    tool = {"args": ["/x/ais_bench/__main__.py", "--model", "m.om", "--outfmt", "TXT"], "timing_source": ""}
    assert report.ran(tool) == "ais_bench CLI: python3 -m ais_bench --model m.om --outfmt TXT"
    assert "1000 x bs / mean NPU compute time" in report.infer_method(tool)
    ours = {"args": {"backend": "ais_bench API (msit)"}, "timing_source": "ais_bench"}
    assert report.ran(ours) == "ais_bench API (msit)" and "summed compute time" in report.infer_method(ours)


def test_benchmark_outputs_follow_the_key_rule(fakes, tiny, tiny_om, tmp_path):
    """The legacy tool names outputs by its own rule; the bundle keeps every backend's: x.v2.bin -> x_1.txt."""
    m, _, inputs, _ = tiny
    dotted = tmp_path / "in" / "photo.v2.bin"
    dotted.parent.mkdir()
    shutil.copyfile(inputs[0], dotted)
    out = tmp_path / "results" / "bs4"
    BenchmarkRunner(lambda _bs: tiny_om, 4, m.input_shape).infer([dotted, *inputs[1:4]], out)
    assert "photo" in outputs.scan(out) and (out / "photo_1.txt").is_file()


def test_a_hanging_cli_run_is_killed_by_the_watchdog(fakes, tiny, tiny_om, tmp_path, monkeypatch):
    """ais_bench's CLI hanging (AISBench/benchmark#232, FAKE_AIS_HANG_EXEC): killed past INFER_TIMEOUT x
    (10 + its batches), one line naming the device (issue 18)."""
    from common.watchdog import Stalled

    m, _, inputs, _ = tiny
    monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)  # the API does not import: the CLI
    monkeypatch.setenv("FAKE_AIS_HANG_EXEC", "3")
    r = AisBenchRunner(lambda _bs: tiny_om, ("0",), 4, m.input_shape, "TXT", False, timeout=0.2)
    with pytest.raises(Stalled, match=r"ais_bench CLI stalled on device 0: no answer after 2.6 s, killed"):
        r.infer(inputs, tmp_path / "out")


def test_a_hanging_benchmark_tool_is_killed_by_the_watchdog(fakes, tiny, tiny_om, tmp_path, monkeypatch):
    """The legacy benchmark tool hanging on its 2nd batch: killed past INFER_TIMEOUT x (10 + batches)."""
    from common.watchdog import Stalled

    m, _, inputs, _ = tiny
    monkeypatch.setenv("FAKE_AIS_HANG_EXEC", "2")
    r = BenchmarkRunner(lambda _bs: tiny_om, 4, m.input_shape, device="1", timeout=0.2)
    with pytest.raises(Stalled, match=r"benchmark.\w+ stalled on device 1: no answer after 2.6 s, killed"):
        r.infer(inputs, tmp_path / "out")
