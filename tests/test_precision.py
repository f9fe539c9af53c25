"""make precision: fp16 as ATC's precision modes run it, predicted and located on the CPU (issue 21)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from common import manifest, precision
from common.layout import Layout
from tests.conftest import run_step

pytest.importorskip("onnxconverter_common")
LITE = "efficientnet-lite0"


def overflow_onnx(path: Path, second: float = 300.0) -> Path:
    """x (N, 4) -> Mul 300 ("scale") -> Mul ``second`` ("blowup": 9e4 > 65504 for x = 1) -> Mul 1e-3
    ("shrink") -> y: finite in fp32, inf in fp16."""
    import onnx
    from onnx import TensorProto, helper

    def const(name: str, value: float):
        return helper.make_tensor(name, TensorProto.FLOAT, [], [value])

    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "k1"], ["a"], name="scale"),
            helper.make_node("Mul", ["a", "k2"], ["b"], name="blowup"),
            helper.make_node("Mul", ["b", "k3"], ["y"], name="shrink"),
        ],
        "overflow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [const("k1", 300.0), const("k2", second), const("k3", 1e-3)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.save(model, str(path))
    return path


def test_an_activation_leaving_fp16_range_is_found_and_its_node_named(tmp_path):
    import onnx

    model = onnx.load(str(overflow_onnx(tmp_path / "o.onnx")))
    fp16 = precision.convert(model, "force_fp16")
    found = precision.Locator(model, fp16).compare(np.ones((1, 4), np.float32))
    assert [o["node"] for o in found["overflow"]][:1] == ["blowup"]  # the first tensor past 65504
    assert found["overflow"][0]["max_abs"] == pytest.approx(9e4)
    assert "scale" not in [o["node"] for o in found["overflow"]]  # 300 fits
    assert found["worst"]["rel_err"] == float("inf")


@pytest.fixture(scope="module")
def demo(lite_onnx, tmp_path_factory):
    """``make precision`` on EfficientNet-Lite0 (real weights) over DATASET=sample, once."""
    base = tmp_path_factory.mktemp("precision")
    work = base / "work"
    work.mkdir()
    for f in [*(lite_onnx / "work").glob(f"{LITE}.*"), lite_onnx / "work" / ".modelzoo-work"]:
        shutil.copy2(f, work / f.name)  # the export and the marker: a work folder, as the steps made it
    env = {
        "MODEL": LITE,
        "WORK": work,
        "DATASET": "sample",
        "SAMPLE_DIR": base / "sample",
        "WEIGHTS_DIR": lite_onnx / "weights",
        "BS": 4,
    }
    return env, work, run_step("precision", env)


def test_the_demo_reports_agreement_changed_images_and_layers(demo):
    env, work, proc = demo
    rec = json.loads((work / "precision" / "force_fp16.json").read_text())
    assert rec["headline"] and rec["mode"] == "force_fp16" and rec["images"] == 9
    names = sorted(rec["top5_fp32"])
    changed = [n for n in names if rec["top5_fp32"][n][0] != rec["top5_fp16"][n][0]]
    assert [c["image"] for c in rec["changed"]] == changed
    assert rec["top1_agree"] == 9 - len(changed) and rec["top1_agree"] >= 7  # 8/9 measured (issue 21)
    assert 0 < rec["max_abs_diff"] < 1
    assert rec["fp32"]["images"] == 9 and rec["fp16"]["top1"] is not None  # the sample photos have labels
    out = proc.stdout
    assert f"top-1 same as fp32 {rec['top1_agree']}/9" in out
    assert f"top-1 changed on {len(changed)}" in out and all(c in out for c in changed)
    # the located layers are the ONNX's own node names
    import onnx

    nodes = {n.name for n in onnx.load(str(work / f"{LITE}.onnx")).graph.node}
    located = rec["located"]
    assert located and [x["image"] for x in located] == (changed or [x["image"] for x in located])[: len(located)]
    jumps = [j["node"] for x in located for j in x["jumps"]]
    assert jumps and set(jumps) <= nodes
    assert f"first jumps: {jumps[0]} (" in out
    assert rec["nonfinite_fp16"] == [] and "outputs holding inf/NaN: 0" in out
    assert (work / "precision" / "allow_mix_precision.json").is_file()  # the second mode, by default


def test_a_rerun_reuses_the_record_and_the_variant(demo):
    env, work, _ = demo
    variants = sorted((work / "precision").glob("*.onnx"))
    stamps = [p.stat().st_mtime_ns for p in variants]
    proc = run_step("precision", env)
    assert "force_fp16.json is up to date" in proc.stdout
    assert sorted((work / "precision").glob("*.onnx")) == variants
    assert [p.stat().st_mtime_ns for p in variants] == stamps


def test_the_cache_key_is_the_onnx_and_the_mode(tmp_path):
    layout = Layout(tmp_path / "w", manifest.load(LITE))
    onnx_path = overflow_onnx(tmp_path / "m.onnx")
    first = precision.variant(layout, onnx_path, "force_fp16")
    stamp = first.stat().st_mtime_ns
    assert precision.variant(layout, onnx_path, "force_fp16") == first  # same ONNX, same mode: reused
    assert first.stat().st_mtime_ns == stamp
    mixed = precision.variant(layout, onnx_path, "allow_mix_precision")  # another mode: its own variant
    assert mixed != first and first.is_file()
    overflow_onnx(onnx_path, second=2.0)  # the ONNX changed: rebuilt, the stale variant removed
    os.utime(onnx_path, ns=(stamp + 10**9, stamp + 10**9))
    again = precision.variant(layout, onnx_path, "force_fp16")
    assert again != first and again.is_file() and not first.exists() and mixed.is_file()
    assert precision.variant(layout, onnx_path, "must_keep_origin_dtype") == onnx_path  # fp32 as it is


def test_the_converter_missing_is_one_line(monkeypatch, tmp_path, capsys):
    from common import cli

    monkeypatch.setitem(sys.modules, "onnxconverter_common", None)  # import fails as if not installed
    for k, v in {"MODEL": LITE, "WORK": tmp_path / "w", "DATASET": "sample", "SAMPLE_DIR": tmp_path / "s"}.items():
        monkeypatch.setenv(k, str(v))
    monkeypatch.setenv("PROGRESS", "0")
    assert cli.main(["precision"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install onnxconverter-common==1.16.0" in err
    assert not (tmp_path / "w" / f"{LITE}.onnx").exists()  # nothing exported before the check


@pytest.mark.parametrize(
    "extra, mode",
    [
        ("", "force_fp16"),
        ("--precision_mode=allow_mix_precision", "allow_mix_precision"),
        ("--log=info --precision_mode must_keep_origin_dtype", "must_keep_origin_dtype"),
    ],
)
def test_the_headline_is_atc_extras_mode_else_the_chips_default(extra, mode):
    from common.settings import Settings

    s = Settings({"ATC_EXTRA": extra})
    assert precision.headline(s)[0] == mode and precision.modes(s)[0] == mode
    assert precision.modes(Settings({"PRECISION_MODE": "allow_mix_precision"})) == ["allow_mix_precision"]


def test_report_compare_and_readme_show_the_prediction_beside_the_om(demo):
    """An OM run in WORK: its agreement with the simulation is set beside the prediction everywhere."""
    from common import level, readme
    from common.runs import read_runs

    env, work, _ = demo
    rec = json.loads((work / "precision" / "force_fp16.json").read_text())
    om = work / "om-bs4"
    om.mkdir(exist_ok=True)
    preds = {Path(n).stem: top for n, top in rec["top5_fp16"].items()}  # an OM that matches the simulation
    (om / "predictions.json").write_text(json.dumps(preds))
    (om / "run.json").write_text(json.dumps({"backend": "om", "bs": 4, "ran": "ais_bench (stand-in)"}))
    value = [{"key": "Number of images", "value": "9"}, {"key": "Number of classes", "value": "1000"}]
    value += [{"key": "Top1 accuracy", "value": "55.56%"}, {"key": "Top5 accuracy", "value": "100.0%"}]
    (om / "result.json").write_text(json.dumps({"title": "Overall statistical evaluation", "value": value}))

    trt = work / "trt-bs4"  # a TensorRT fp16 run (PROVIDER=tensorrt) that agrees with fp32 instead
    trt.mkdir(exist_ok=True)
    (trt / "result.json").write_text((om / "result.json").read_text())
    fp32 = {Path(n).stem: top for n, top in rec["top5_fp32"].items()}
    (trt / "predictions.json").write_text(json.dumps(fp32))
    (trt / "run.json").write_text(json.dumps({"backend": "onnx", "bs": 4, "tensorrt": "10.9", "ran": "ONNX Runtime"}))

    out = run_step("precision", env).stdout
    assert "measured OM run om-bs4: top-1 same as this fp16 simulation 9/9" in out
    n = rec["top1_agree"]
    assert f"measured TensorRT fp16 run trt-bs4: top-1 same as this fp16 simulation {n}/9, as fp32 9/9" in out
    compare = run_step("compare", env).stdout
    head = next(line for line in compare.splitlines() if line.startswith("| run"))
    assert "fp16 predicted on the CPU (make precision)" in head
    for name in ("om-bs4", "trt-bs4"):
        row = next(line for line in compare.splitlines() if line.startswith(f"| {name}"))
        assert f"force_fp16: top-1 {rec['fp16']['top1']}%" in row
    from common.compare import _fp16_run

    assert not _fp16_run("onnx-bs4", {"backend": "onnx", "ran": "ONNX Runtime"})  # fp32: not what it predicts
    report = work / "onnx-bs4" / "report.md"
    run_step("report", {**env, "BACKEND": "onnx"})
    text = report.read_text()
    assert "## fp16 prediction" in text and "measured OM run om-bs4" in text
    m = manifest.load(LITE)
    runs = read_runs(Layout(work, m).runs())
    block = readme.generated(m, runs, level.levels(m, runs), precision.headline_record(Layout(work, m)))
    row = next(line for line in block.splitlines() if line.startswith("| prediction |"))
    assert "make precision" in row and f"{rec['fp16']['top1']}%" in row
    assert "| prediction |" not in readme.generated(m, runs, level.levels(m, runs))


def test_make_all_runs_precision_before_the_report_when_precision_is_1(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from common import cli

    calls = []
    for name in ("weights", "onnx", "om", "preprocess", "info", "infer", "postprocess", "perf", "precision", "report"):
        monkeypatch.setattr(cli, f"{name}_step", lambda art, n=name: calls.append(n))
    labels = tmp_path / "val_label.txt"
    labels.write_text("")
    for on in (True, False):
        calls.clear()
        art = SimpleNamespace(
            dataset=lambda: (tmp_path, labels),
            cfg=SimpleNamespace(backend="onnx", settings=SimpleNamespace(stream=False)),
            settings=SimpleNamespace(precision=on),
        )
        cli.all_step(art)
        assert ("precision" in calls) is on and calls[-1] == "report"
        if on:
            assert calls.index("precision") == calls.index("perf") + 1


def test_make_help_lists_the_step_and_its_settings():
    import subprocess

    from tests.conftest import ROOT

    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    assert "  precision      fp16 as the OM runs it" in out
    for name in ("PRECISION=0", "PRECISION_N=1000", "PRECISION_MODE="):
        assert f"  {name}   " in out


def test_an_onnx_that_does_not_load_is_one_line_and_nothing_is_removed(tmp_path):
    from common.errors import BundleError

    layout = Layout(tmp_path / "w", manifest.load(LITE))
    good = overflow_onnx(tmp_path / "m.onnx")
    kept = precision.variant(layout, good, "force_fp16")
    good.write_bytes(b"not an onnx file")
    with pytest.raises(BundleError, match=r"m\.onnx: cannot make its force_fp16 variant"):
        precision.variant(layout, good, "force_fp16")
    assert kept.is_file()  # the model is loaded before any variant is deleted
