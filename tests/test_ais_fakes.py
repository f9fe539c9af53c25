"""The ais_bench stand-ins themselves (tests/fakes/): each behaviour of the two real front-ends that the
bundle has to cope with, pinned per lineage. These tests use the fakes directly, not common/."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import ROOT

FAKES = ROOT / "tests" / "fakes"
PYBIN = str(Path(sys.executable).parent)
LINEAGES = ("tools2023", "msit2024")
C, HW, CLASSES = 3, 16, 10
SAMPLE_BYTES = C * HW * HW * 4


def _tiny_onnx(path: Path) -> Path:
    import warnings

    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(C, 4, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    net = torch.nn.Sequential(net, torch.nn.Linear(4, CLASSES)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (torch.randn(1, C, HW, HW),),
            str(path),
            opset_version=11,
            dynamo=False,
            input_names=["image"],
            output_names=["class"],
            dynamic_axes={"image": {0: "-1"}, "class": {0: "-1"}},
        )
    return path


def _env(**extra) -> dict:
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(FAKES / "bin"), PYBIN, os.environ["PATH"]]),
        "PYTHONPATH": str(FAKES),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for key in ("FAKE_AIS_LINEAGE", "FAKE_NPU_COUNT", "FAKE_AIS_EXEC_MS", "FAKE_AIS_FAIL_EXEC", "FAKE_ASCEND_LOG"):
        env.pop(key, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _atc(onnx: Path, out: Path, *flags: str) -> Path:
    cmd = ["atc", "--framework=5", f"--model={onnx}", f"--output={out}", "--soc_version=Ascend310P3", *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=False)
    assert proc.returncode == 0, proc.stderr
    return Path(f"{out}.om")


@pytest.fixture(scope="module")
def oms(tmp_path_factory):
    """OMs of one tiny model: static bs4, dynamic gears 1,4,8, static bs4 with float16 outputs; 10 inputs."""
    base = tmp_path_factory.mktemp("aisfakes")
    onnx = _tiny_onnx(base / "tiny.onnx")
    static = _atc(onnx, base / "tiny_bs4", "--input_shape=image:4,3,16,16")
    dyn = _atc(onnx, base / "tiny_dyn", "--input_shape=image:-1,3,16,16", "--dynamic_batch_size=1,4,8")
    fp16 = _atc(onnx, base / "tiny_fp16", "--input_shape=image:4,3,16,16", "--output_type=FP16")
    prep = base / "prep"
    prep.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 11):
        rng.standard_normal((C, HW, HW), dtype=np.float32).tofile(prep / f"img{i}.bin")
    import onnxruntime as ort

    ref = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    return {"base": base, "static": static, "dyn": dyn, "fp16": fp16, "prep": prep, "ort": ref}


def _ort(oms, x: np.ndarray) -> np.ndarray:
    return oms["ort"].run(None, {"image": x})[0]


def _purge() -> None:
    for name in list(sys.modules):
        if name == "aclruntime" or name == "ais_bench" or name.startswith("ais_bench."):
            del sys.modules[name]


@pytest.fixture(params=LINEAGES)
def api(request, monkeypatch):
    """A freshly imported ``ais_bench.infer.interface`` of one lineage (fresh process-wide state)."""
    monkeypatch.setenv("FAKE_AIS_LINEAGE", request.param)
    for key in ("FAKE_NPU_COUNT", "FAKE_AIS_EXEC_MS", "FAKE_AIS_FAIL_EXEC", "FAKE_ASCEND_LOG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.syspath_prepend(str(FAKES))
    _purge()
    import ais_bench.infer.interface as interface

    yield SimpleNamespace(InferSession=interface.InferSession, lineage=request.param)
    _purge()


def batch(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, C, HW, HW), dtype=np.float32)


# ---- the API ---------------------------------------------------------------------------------------------


def test_descriptors_name_shape_datatype_format_size_realsize(api, oms):
    s = api.InferSession(0, str(oms["static"]))
    (inp,) = s.get_inputs()
    assert (inp.name, inp.shape, int(inp.datatype), inp.format) == ("image", [4, C, HW, HW], 0, 0)
    assert str(inp.datatype) == "dtype.float32" and inp.size == inp.realsize == 4 * SAMPLE_BYTES
    (out,) = s.get_outputs()
    assert (out.name, out.shape, out.datatype.name, out.size) == ("class", [4, CLASSES], "float32", 4 * CLASSES * 4)
    d = api.InferSession(0, str(oms["dyn"]))
    assert d.get_inputs()[0].shape[0] == -1 and d.get_inputs()[0].size == 8 * SAMPLE_BYTES  # the largest gear
    assert d.get_inputs()[0].realsize == 8 * SAMPLE_BYTES
    assert api.InferSession(0, str(oms["fp16"])).get_outputs()[0].datatype.name == "float16"


def test_static_inference_matches_onnxruntime(api, oms):
    s = api.InferSession(0, str(oms["static"]))
    x = batch(4)
    (y,) = s.infer([x])
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == (4, CLASSES)
    np.testing.assert_allclose(y, _ort(oms, x), rtol=1e-6)


def test_input_size_must_equal_realsize(api, oms, capfd):
    s = api.InferSession(0, str(oms["static"]))
    with pytest.raises(RuntimeError) as err:
        s.infer([batch(2)])
    assert str(err.value) == "[-1][ACL: general failure] "
    out = capfd.readouterr().out
    size, need = 2 * SAMPLE_BYTES, 4 * SAMPLE_BYTES
    assert f"[ERROR] Check i:0 name:image in size:{size} needsize:{need} not match" in out
    assert "[ERROR] Check InVector failed ret:-1" in out


def test_dymbatch_mode_ignored_on_tools_handled_on_msit(api, oms, capfd):
    s = api.InferSession(0, str(oms["dyn"]))
    x = batch(4)
    if api.lineage == "tools2023":
        with pytest.raises(RuntimeError, match=re.escape("[-1][ACL: general failure]")):
            s.infer([x], mode="dymbatch")
        assert "needsize:" in capfd.readouterr().out
    else:
        np.testing.assert_allclose(s.infer([x], mode="dymbatch")[0], _ort(oms, x), rtol=1e-6)
        assert s.get_inputs()[0].realsize == 4 * SAMPLE_BYTES


def test_set_dynamic_batchsize_then_dymbatch_works_on_both(api, oms):
    s = api.InferSession(0, str(oms["dyn"]))
    s.set_dynamic_batchsize(4)
    assert s.get_inputs()[0].realsize == 4 * SAMPLE_BYTES  # size * 4 / max gear 8
    x = batch(4)
    (y,) = s.infer([x], mode="dymbatch")
    assert y.shape == (4, CLASSES)
    np.testing.assert_allclose(y, _ort(oms, x), rtol=1e-6)


def test_batch_not_in_the_gears_is_refused(api, oms, capfd):
    s = api.InferSession(0, str(oms["dyn"]))
    with pytest.raises(RuntimeError) as err:
        s.set_dynamic_batchsize(3)
    assert str(err.value) == "[1][ACL: invalid parameter] "
    out = capfd.readouterr().out
    assert "[ERROR] the dymBatch parameter is not correct" in out
    assert "model has dynamic batch size:{[1][4][8]}, please set correct dynamic batch size" in out


def test_dynamic_om_without_a_batch_size_fails(api, oms):
    s = api.InferSession(0, str(oms["dyn"]))
    with pytest.raises(RuntimeError, match=re.escape("[-1][ACL: general failure]")):
        s.infer([batch(8)])  # the size fits the largest gear, but no batch size was set


def test_unknown_mode(api, oms):
    s = api.InferSession(0, str(oms["static"]))
    if api.lineage == "tools2023":
        assert s.infer([batch(4)], mode="no-such-mode")[0].shape == (4, CLASSES)  # silently static
        assert "out_array" not in inspect.signature(s.infer).parameters
    else:
        with pytest.raises(RuntimeError, match="wrong infer_mode:no-such-mode"):
            s.infer([batch(4)], mode="no-such-mode")
        assert "out_array" in inspect.signature(s.infer).parameters


def test_summary_spelling_and_timing_format(api, oms):
    s = api.InferSession(0, str(oms["static"]), loop=3)
    s.infer([batch(4)])
    if api.lineage == "tools2023":
        assert not hasattr(s, "summary") and not hasattr(s, "reset_summaryinfo")
        times = s.sumary().exec_time_list
        assert len(times) == 3 and all(isinstance(t, float) and t > 0 for t in times)
        s.reset_sumaryinfo()
        assert s.sumary().exec_time_list == []
    else:
        assert not hasattr(s, "sumary") and not hasattr(s, "reset_sumaryinfo")
        times = s.summary().exec_time_list
        assert len(times) == 3 and all(isinstance(t, tuple) and t[1] >= t[0] >= 0 for t in times)
        assert times[1][0] >= times[0][1]  # pairs on one clock, since the session was made
        s.reset_summaryinfo()
        assert s.summary().exec_time_list == []


def test_finalize_is_process_wide(api, oms, capfd):
    a, b = api.InferSession(0, str(oms["static"])), api.InferSession(1, str(oms["static"]))
    static = isinstance(inspect.getattr_static(api.InferSession, "finalize"), staticmethod)
    assert static == (api.lineage == "msit2024")
    assert hasattr(api.InferSession, "free_resource") == (api.lineage == "msit2024")
    a.finalize()  # on msit a staticmethod; called through an instance it is the same teardown
    with pytest.raises(RuntimeError) as err:
        b.infer([batch(4)])
    out = capfd.readouterr().out
    if api.lineage == "tools2023":
        assert str(err.value) == "[-1][ACL: general failure] " and "MemoryHelper::MxbsMalloc failed" in out
    else:
        assert str(err.value) == "[1][ACL: invalid parameter] "
        assert "SetContext failed: device 1 is not set or context 0 is not created." in out


def test_msit_free_resource_is_per_session(oms, monkeypatch):
    monkeypatch.setenv("FAKE_AIS_LINEAGE", "msit2024")
    monkeypatch.syspath_prepend(str(FAKES))
    _purge()
    try:
        from ais_bench.infer.interface import InferSession

        a, b = InferSession(0, str(oms["static"])), InferSession(0, str(oms["static"]))
        a.free_resource()
        assert b.infer([batch(4)])[0].shape == (4, CLASSES)  # the other session lives on
        with pytest.raises(RuntimeError, match=re.escape("[1][ACL: invalid parameter]")):
            a.infer([batch(4)])
        InferSession.finalize()
        with pytest.raises(RuntimeError):
            b.infer([batch(4)])
    finally:
        _purge()


def test_threads_one_session_each_first_finalize_kills_the_other(api, oms, monkeypatch):
    """What DEVICE=0,1 through the API in threads meets: the first thread to finish tears the other down."""
    monkeypatch.setenv("FAKE_AIS_EXEC_MS", "60")
    errors: dict[int, str] = {}

    def work(device: int, batches: int) -> None:
        s = api.InferSession(device, str(oms["static"]))
        try:
            for _ in range(batches):
                s.infer([batch(4)])
        except RuntimeError as exc:
            errors[device] = str(exc)
            return
        s.finalize()

    threads = [threading.Thread(target=work, args=(0, 5)), threading.Thread(target=work, args=(1, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert list(errors) == [0], errors


def test_device_out_of_range_and_injected_failure(api, oms, monkeypatch):
    monkeypatch.setenv("FAKE_NPU_COUNT", "2")
    with pytest.raises(RuntimeError, match=re.escape("[107001][Error code unknown] ")):
        api.InferSession(2, str(oms["static"]))
    s = api.InferSession(1, str(oms["static"]))
    monkeypatch.setenv("FAKE_AIS_FAIL_EXEC", "2")
    s.infer([batch(4)])
    with pytest.raises(RuntimeError, match=re.escape("[-1][ACL: general failure] ")):
        s.infer([batch(4)])


def test_fp16_om_returns_float16(api, oms):
    s = api.InferSession(0, str(oms["fp16"]))
    x = batch(4)
    (y,) = s.infer([x])
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, _ort(oms, x).astype(np.float16))


def test_metadata_like_the_real_installs(api):
    import ais_bench

    assert not hasattr(ais_bench, "__version__")
    assert metadata.version("ais_bench") == "0.0.2" and metadata.version("aclruntime") == "0.0.2"


# ---- ATC -------------------------------------------------------------------------------------------------


def _header(om: Path) -> dict:
    return json.loads(om.read_bytes().split(b"\n", 2)[1])


def test_atc_output_type(oms, tmp_path):
    assert _header(oms["fp16"])["output_dtype"] == "float16"
    assert _header(oms["static"])["output_dtype"] == "float32"
    onnx = oms["base"] / "tiny.onnx"
    cmd = ["atc", "--framework=5", f"--model={onnx}", f"--output={tmp_path}/x", "--soc_version=Ascend310"]
    proc = subprocess.run(
        [*cmd, "--input_shape=image:1,3,16,16", "--output_type=INT4"],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 1 and "[--output_type]" in proc.stderr
    proc = subprocess.run(
        [*cmd, "--input_shape=image:1,3,16,16", "--auto_tune_mode=RL,GA"],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0 and _header(tmp_path / "x.om")["atc_flags"]["auto_tune_mode"] == "RL,GA"
    proc = subprocess.run(
        [*cmd[:3], "--output=rel/x", *cmd[4:], "--input_shape=image:1,3,16,16"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1 and "the output directory does not exist" in proc.stderr


# ---- the CLI ---------------------------------------------------------------------------------------------


def cli(lineage: str, *args: str, pkg_resources: bool = False, cwd: Path | None = None, **env):
    extra = {"FAKE_AIS_LINEAGE": lineage, **env}
    if pkg_resources:
        extra["PYTHONPATH"] = os.pathsep.join([str(FAKES), str(FAKES / "with_pkg_resources")])
    e = _env(**extra)
    if "PYTHONPATH" in extra:
        e["PYTHONPATH"] = extra["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "ais_bench", *args],
        capture_output=True,
        text=True,
        env=e,
        cwd=cwd,
        check=False,
        timeout=120,
    )


def _inputs(tmp_path: Path, oms, names: list[str]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        (folder / name).write_bytes((oms["prep"] / f"img{i + 1}.bin").read_bytes())
    return folder


@pytest.mark.parametrize("lineage", LINEAGES)
def test_cli_names_dtype_summary_and_console(lineage, oms, tmp_path):
    names = [f"img{i}.bin" for i in range(1, 10)] + ["chelsea.v2.bin"]
    inp = _inputs(tmp_path, oms, names)
    out = tmp_path / "out"
    proc = cli(
        lineage,
        "--model",
        str(oms["static"]),
        "--input",
        str(inp),
        "--output",
        str(out),
        "--output_dirname",
        "r",
        pkg_resources=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(p.name for p in (out / "r").iterdir())
    assert "chelsea_0.bin" in files and len(files) == 10 and all(f.endswith("_0.bin") for f in files)  # BIN default
    x = np.fromfile(inp / "chelsea.v2.bin", np.float32).reshape(1, C, HW, HW)
    got = np.fromfile(out / "r" / "chelsea_0.bin", np.float32)
    np.testing.assert_allclose(got, _ort(oms, np.repeat(x, 4, 0))[0], rtol=1e-5)
    summary = json.loads((out / "r_summary.json").read_text())
    assert list(summary) == [
        "filesinfo",
        "args",
        "NPU_compute_time",
        "H2D_latency",
        "D2H_latency",
        "throughput",
        "npu_compute_time_list",
        "pid",
    ]
    assert isinstance(summary["args"], list) and summary["args"][1:3] == ["--model", str(oms["static"])]
    assert summary["args"][0].endswith("__main__.py")
    assert len(summary["filesinfo"]) == 10  # one entry per sample; chelsea.v2.bin sorts first
    assert summary["filesinfo"]["0"] == {
        "infiles": [str(inp / "chelsea.v2.bin")],
        "outfiles": [str(out / "r" / "chelsea_0.bin")],
    }
    assert summary["NPU_compute_time"]["count"] == 3 == len(summary["npu_compute_time_list"])  # 3 batches, no warm-up
    mean = summary["NPU_compute_time"]["mean"]
    assert summary["throughput"] == pytest.approx(1000 * 4 / mean)
    assert (
        f"[INFO] throughput 1000*batchsize.mean(4)/NPU_compute_time.mean({mean}): {summary['throughput']}"
        in proc.stdout
    )


@pytest.mark.parametrize("lineage", LINEAGES)
def test_cli_fp16_bin_npy_txt(lineage, oms, tmp_path):
    inp = _inputs(tmp_path, oms, [f"img{i}.bin" for i in range(1, 5)])
    x = np.stack([np.fromfile(inp / f"img{i}.bin", np.float32).reshape(C, HW, HW) for i in range(1, 5)])
    want = _ort(oms, x).astype(np.float16)
    for fmt in ("BIN", "NPY", "TXT"):
        proc = cli(
            lineage,
            "--model",
            str(oms["fp16"]),
            "--input",
            str(inp),
            "--output",
            str(tmp_path / fmt),
            "--output_dirname",
            "r",
            "--outfmt",
            fmt,
            pkg_resources=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = (tmp_path / "BIN" / "r" / "img2_0.bin").read_bytes()
    assert len(raw) == CLASSES * 2 and np.array_equal(np.frombuffer(raw, np.float16), want[1])
    npy = np.load(tmp_path / "NPY" / "r" / "img2_0.npy")
    assert npy.shape == (1, CLASSES) and npy.dtype == np.float16 and np.array_equal(npy[0], want[1])
    txt = (tmp_path / "TXT" / "r" / "img2_0.txt").read_text()
    assert txt == "".join(f"{float(v):f} " for v in want[1]) + "\n"


def test_cli_default_dirname_is_a_timestamp(oms, tmp_path):
    proc = cli(
        "tools2023", "--model", str(oms["static"]), "--output", str(tmp_path), "--loop", "3", "--warmup_count", "2"
    )
    assert proc.returncode == 0, proc.stderr
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert re.fullmatch(r"\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d", folder.name)
    summary = json.loads((tmp_path / f"{folder.name}_summary.json").read_text())
    assert summary["NPU_compute_time"]["count"] == 3  # pure inference: one batch x --loop 3, warm-ups reset
    assert [p.name for p in folder.iterdir()] == ["pure_infer_data_0.bin"]


def test_cli_batchsize_is_not_checked(oms, tmp_path):
    proc = cli("tools2023", "--model", str(oms["static"]), "--batchsize", "8", "--loop", "2")
    assert proc.returncode == 0, proc.stderr
    assert "[INFO] throughput 1000*batchsize.mean(8)/" in proc.stdout


def test_cli_pkg_resources(oms, tmp_path):
    tools = cli("tools2023", "--model", str(oms["static"]), "--loop", "2")
    assert tools.returncode == 0 and "aclruntime version:None is lower" in tools.stdout
    msit = cli("msit2024", "--model", str(oms["static"]), "--loop", "2")
    assert msit.returncode == 1
    assert "UnboundLocalError: cannot access local variable 'aclruntime_version'" in msit.stderr
    assert cli("msit2024", "--model", str(oms["static"]), "--loop", "2", pkg_resources=True).returncode == 0


def test_msit_cli_path_checks(oms, tmp_path):
    spaced = tmp_path / "a b"
    spaced.mkdir()
    om = spaced / "m.om"
    om.write_bytes(oms["static"].read_bytes())
    proc = cli("msit2024", "--model", str(om), pkg_resources=True)
    assert proc.returncode == 2
    assert f"path:{om} contains illegal char, legal chars include A-Z a-z 0-9 _ - / ." in proc.stdout
    assert f"argument --model/-m: om path:{om} is illegal. Please check." in proc.stderr
    assert cli("tools2023", "--model", str(om), "--loop", "1").returncode == 0  # the 2023 CLI does not mind

    links = tmp_path / "links"
    links.mkdir()
    (links / "img1.bin").symlink_to(oms["prep"] / "img1.bin")
    proc = cli(
        "msit2024",
        "--model",
        str(oms["static"]),
        "--input",
        str(links),
        "--output",
        str(tmp_path / "o"),
        pkg_resources=True,
    )
    assert proc.returncode == 1 and f"RuntimeError: input data:{links / 'img1.bin'} is illegal" in proc.stderr
    assert f"path :{links / 'img1.bin'} is a soft link, not supported" in proc.stdout

    writable = _inputs(tmp_path, oms, ["img1.bin", "img2.bin", "img3.bin", "img4.bin"])
    (writable / "img2.bin").chmod(0o664)
    proc = cli(
        "msit2024",
        "--model",
        str(oms["static"]),
        "--input",
        str(writable),
        "--output",
        str(tmp_path / "o"),
        pkg_resources=True,
    )
    assert proc.returncode == 1 and "is group writable, or is others writable, as import file" in proc.stdout
    (writable / "img2.bin").chmod(0o644)
    proc = cli(
        "msit2024",
        "--model",
        str(oms["static"]),
        "--input",
        str(writable),
        "--output",
        str(tmp_path / "o"),
        "--output_dirname",
        "/abs",
        pkg_resources=True,
    )
    assert proc.returncode == 1 and "ValueError: --output_dirname do not support abs path!" in proc.stderr
    proc = cli(
        "msit2024",
        "--model",
        str(oms["static"]),
        "--input",
        str(writable),
        "--output",
        str(tmp_path / "o"),
        "--output_dirname",
        "ok",
        pkg_resources=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert oct((tmp_path / "o").stat().st_mode & 0o777) == "0o750"
    assert oct((tmp_path / "o" / "ok" / "img1_0.bin").stat().st_mode & 0o777) == "0o640"


@pytest.mark.parametrize("lineage", LINEAGES)
def test_cli_dynamic_batch(lineage, oms, tmp_path):
    inp = _inputs(tmp_path, oms, [f"img{i}.bin" for i in range(1, 10)])
    args = ["--model", str(oms["dyn"]), "--input", str(inp), "--output", str(tmp_path / "o"), "--outfmt", "TXT"]
    proc = cli(lineage, *args, "--output_dirname", "d", "--dymBatch", "4", pkg_resources=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list((tmp_path / "o" / "d").glob("*_0.txt"))) == 9  # the padded last batch writes no extra file
    proc = cli(lineage, *args, "--output_dirname", "n", pkg_resources=True)
    assert proc.returncode == 1
    if lineage == "msit2024":
        assert "dynamic batch om model detected, but dymbatch, dymdims or dymshape not set!" in proc.stderr
    else:
        assert "RuntimeError: [-1][ACL: general failure]" in proc.stderr


@pytest.mark.parametrize("lineage", LINEAGES)
def test_cli_device_list(lineage, oms, tmp_path):
    inp = _inputs(tmp_path, oms, [f"img{i}.bin" for i in range(1, 9)])
    out = tmp_path / "o"
    proc = cli(
        lineage,
        "--model",
        str(oms["static"]),
        "--input",
        str(inp),
        "--output",
        str(out),
        "--output_dirname",
        "m",
        "--device",
        "0,1",
        pkg_resources=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[INFO] summary throughput:" in proc.stdout
    if lineage == "tools2023":
        assert sorted(p.name for p in (out / "m").iterdir()) == [
            "device0",
            "device0_summary.json",
            "device1",
            "device1_summary.json",
        ]
        assert sorted(p.name for p in (out / "m" / "device1").iterdir()) == [f"img{i}_0.bin" for i in range(5, 9)]
    else:
        folders = sorted(p.name for p in (out / "m").iterdir())
        assert folders == ["device0_0", "device0_0_summary.json", "device1_1", "device1_1_summary.json"]
        assert len(list((out / "m" / "device1_1").iterdir())) == 8  # every input on every device
        proc = cli(
            lineage,
            "--model",
            str(oms["static"]),
            "--input",
            str(inp),
            "--output",
            str(out),
            "--output_dirname",
            "s",
            "--device",
            "0,1",
            "--divide_input",
            "true",
            pkg_resources=True,
        )
        assert proc.returncode == 0 and len(list((out / "s" / "device1_1").iterdir())) == 4


def test_cli_device_list_failure_exits_1(oms, tmp_path):
    argv = ["--model", str(oms["static"]), "--device", "0,1", "--loop", "1"]
    proc = cli("tools2023", *argv, FAKE_NPU_COUNT=1, FAKE_AIS_SYNC_S=1)  # the survivor waits 1 s, not 10
    assert proc.returncode == 1 and "subprocess run failed error_callback" in proc.stdout


# ---- the stand-ins share no code with the bundle --------------------------------------------------------
# A stand-in that runs the bundle's own code agrees with it by construction: the fakes are written from the
# tools' source (tests/fakes/ais_bench/infer/_summary.py cites it), never copied from common/.


def _fake_sources() -> list[Path]:
    """Every Python file of the stand-ins: the modules and the scripts in bin/."""
    scripts = [p for p in (FAKES / "bin").iterdir() if p.is_file() and p.read_bytes().startswith(b"#!/usr/bin/env py")]
    return sorted(FAKES.rglob("*.py")) + sorted(scripts)


def _imported(source: str) -> set[str]:
    """The modules a source imports (absolute imports only: a relative one stays in its package)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_the_stand_ins_import_nothing_from_the_bundle():
    for path in _fake_sources():
        for name in _imported(path.read_text(encoding="utf-8")):
            root = name.split(".")[0]
            assert root not in ("common", "modelzoo_bundle", "tests"), f"{path.relative_to(ROOT)} imports {name}"


def _bodies(source: str) -> dict[str, str]:
    """{the AST of a function's body less its docstring and imports: the function's name}, for the bodies
    of at least 3 statements or 40 AST nodes (shorter ones match by chance)."""
    out = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = [s for s in node.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            tree = ast.Module(body=body, type_ignores=[])
            if len(body) >= 3 or sum(1 for _ in ast.walk(tree)) >= 40:
                out[ast.dump(tree)] = node.name
    return out


def _copies(sources: dict[str, str]) -> list[str]:
    """``<name>:<function> is a copy of common/<file>:<function>`` for each function of ``sources``
    whose body (names, arguments and docstrings aside) is one of common/'s."""
    prod = {}
    for path in sorted((ROOT / "common").rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        prod.update({body: f"{where}:{fn}" for body, fn in _bodies(path.read_text(encoding="utf-8")).items()})
    return [
        f"{name}:{fn} is a copy of {prod[body]}"
        for name, src in sources.items()
        for body, fn in _bodies(src).items()
        if body in prod
    ]


def test_no_stand_in_function_is_a_copy_of_the_bundles():
    assert _copies({str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in _fake_sources()}) == []


def test_the_copy_finder_finds_the_old_copy_of_the_statistics():
    """Before issue 20, _fakeom.stats was common/summary.py's stats with numpy imported in the function
    and no docstring: it is found."""
    import common.summary

    tree = ast.parse(inspect.getsource(common.summary.stats))
    fn = tree.body[0]
    fn.body = [*ast.parse("import numpy as np").body, *fn.body[1:]]
    fn.args.args[0].annotation = ast.Name("list")
    found = _copies({"old _fakeom.py": ast.unparse(tree)})
    assert found == ["old _fakeom.py:stats is a copy of common/summary.py:stats"]


@pytest.fixture(params=LINEAGES)
def fake_summary(request, monkeypatch):
    """A fresh ``Summary`` of the stand-in's ``_summary`` module, of one lineage."""
    monkeypatch.syspath_prepend(str(FAKES))
    _purge()
    from ais_bench.infer import _summary

    yield _summary.Summary(request.param)
    _purge()


def test_the_fake_summary_computes_as_upstream_on_a_known_input(fake_summary, tmp_path, caplog):
    """Figures derived by hand from the tools' summary.py (Summary.get_list_info / report) for NPU compute
    times 4, 1, 3, 2 ms and --batchsize 8: min 1, max 4, mean 10 / 4 = 2.5, median (2 + 3) / 2 = 2.5,
    percentile(99) by numpy's linear rule at rank 3 x 0.99 = 2.97 of the sorted 1, 2, 3, 4: 3 + 0.97 x (4 - 3)
    = 3.97; throughput 1000 x 8 / 2.5 = 3200 (the bundle's samples over summed time would give 1000 x 30 / 10
    = 3000 for 30 real samples: a different formula). H2D / D2H empty: 0.0 each, count 0."""
    caplog.set_level("INFO")
    fake_summary.npu_compute_time_list = [4.0, 1.0, 3.0, 2.0]
    fake_summary.report(8, str(tmp_path / "r"))
    data = json.loads((tmp_path / "r_summary.json").read_text())
    npu = data["NPU_compute_time"]
    assert {k: npu[k] for k in ("min", "max", "mean", "median", "count")} == {
        "min": 1.0,
        "max": 4.0,
        "mean": 2.5,
        "median": 2.5,
        "count": 4,
    }
    assert npu["percentile(99%)"] == pytest.approx(3.97, abs=1e-12)
    assert data["throughput"] == 3200.0 and data["npu_compute_time_list"] == [4.0, 1.0, 3.0, 2.0]
    empty = {"min": 0.0, "max": 0.0, "mean": 0.0, "median": 0.0, "percentile(99%)": 0.0, "count": 0}
    assert data["H2D_latency"] == empty == data["D2H_latency"]
    assert caplog.messages[0] == "-----------------Performance Summary------------------"
    m = re.fullmatch(
        r"NPU_compute_time \(ms\): min = 1\.0, max = 4\.0, mean = 2\.5, median = 2\.5, percentile\(99%\) = (\S+)",
        caplog.messages[1],
    )
    assert m and float(m[1]) == pytest.approx(3.97, abs=1e-12)
    assert caplog.messages[2:] == [
        "throughput 1000*batchsize.mean(8)/NPU_compute_time.mean(2.5): 3200.0",
        "------------------------------------------------------",
    ]


def test_the_fake_summary_averages_recorded_batch_sizes(fake_summary, caplog):
    """The dynamic shape / dims paths record each feed's batch (add_batchsize): upstream's report then uses
    their average, a float, in place of --batchsize: (4 + 8) / 2 = 6.0, 1000 x 6.0 / 2.0 = 3000.0."""
    caplog.set_level("INFO")
    fake_summary.npu_compute_time_list = [2.0, 2.0]
    fake_summary.add_batchsize(4)
    fake_summary.add_batchsize(8)
    fake_summary.report(1, None, display_all_summary=True)
    zeros = "min = 0.0, max = 0.0, mean = 0.0, median = 0.0, percentile(99%) = 0.0"
    assert caplog.messages[1] == f"H2D_latency (ms): {zeros}" and caplog.messages[3] == f"D2H_latency (ms): {zeros}"
    assert caplog.messages[4] == "throughput 1000*batchsize.mean(6.0)/NPU_compute_time.mean(2.0): 3000.0"
    assert fake_summary.infodict["throughput"] == 3000.0


def test_the_fake_summary_of_no_execution(fake_summary, caplog):
    """No NPU compute time: tools2023 reports zeros and a throughput of 0; msit2024 falls back to the
    interval list of a multi-threaded run, and raises on that empty list (get_list_info, merge=True)."""
    caplog.set_level("INFO")
    if fake_summary.lineage == "msit2024":
        with pytest.raises(RuntimeError, match=r"^summary\.get_list_info failed: inner error$"):
            fake_summary.report(4, None)
        return
    fake_summary.report(4, None)
    assert (
        fake_summary.infodict["throughput"] == 0
        and "throughput 1000*batchsize.mean(4)/NPU_compute_time.mean(0.0): 0" in caplog.messages
    )
