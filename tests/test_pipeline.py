"""The whole job, model by model: `all` on the sample photos with a synthesised official checkpoint."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import onnx
import pytest

from common import manifest, provenance
from tests.conftest import GUIDE_MODELS, ROOT, SUMMARY_KEYS, run_step

# one xdist worker per model, so each model's pipeline runs once
PER_MODEL = [pytest.param(n, marks=pytest.mark.xdist_group(n)) for n in GUIDE_MODELS]


@pytest.mark.parametrize("name", PER_MODEL)
def test_all_writes_result_perf_report(name, pipeline):
    env, work, proc = pipeline(name)
    m = manifest.load(name)
    run = work / "onnx-bs16"
    result = json.loads((run / "result.json").read_text())
    keys = [v["key"] for v in result["value"]]
    assert keys == ["Number of images", "Number of classes"] + [f"Top{k} accuracy" for k in range(1, 6)]
    assert result["value"][0]["value"] == "9" and result["value"][1]["value"] == str(m.classes)
    perf = json.loads((run / "perf.json").read_text())
    assert [r["bs"] for r in perf["rows"]] == [1, 2] and all(r["samples_per_s"] > 0 for r in perf["rows"])
    assert "published" in (run / "perf.md").read_text()
    report = (run / "report.md").read_text()
    assert "## Accuracy" in report and "## ONNX parity" in report and "## Checksums" in report
    assert "what ran: ONNX Runtime" in report and "CPUExecutionProvider" in report
    # which bundle produced it (and which image, when run in one: make image-test checks that)
    record = json.loads((run / "run.json").read_text())
    assert record["bundle_version"].startswith("0.") and record["image"] == provenance.image()  # None on a host
    assert perf["bundle_version"] == record["bundle_version"]
    assert f"Produced by: {provenance.describe()}." in report and record["bundle_version"] in report
    assert len(list((run / "outputs").glob("*_0.txt"))) == 9
    summary = json.loads((run / "outputs_summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    # one process, the weights resolved once: VERIFY=0's warning is printed once, not once per step
    assert proc.stderr.count("VERIFY=0: md5 NOT checked") == 1, proc.stderr


@pytest.mark.parametrize("name", PER_MODEL)
def test_onnx_names_batch_mode_and_parity(name, pipeline):
    env, work, _ = pipeline(name)
    m = manifest.load(name)
    path = work / m.onnx_name(16)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 11
    inp, out = model.graph.input[0], model.graph.output[0]
    assert (inp.name, out.name) == (m.input_name, m.output_name)
    batch = inp.type.tensor_type.shape.dim[0]
    if m.static_batch:
        assert path.name == "moco-v2-bs16.onnx" and batch.dim_value == 16
        assert (work / "moco-v2-bs1.onnx").is_file() and (work / "moco-v2-bs2.onnx").is_file()  # perf sweep
    else:
        assert batch.dim_param == "-1" and out.type.tensor_type.shape.dim[0].dim_param == "-1"
    assert not [n for n in model.graph.node if n.op_type == "If"]
    parity = json.loads(path.with_suffix(".parity.json").read_text())
    assert len(parity["images"]) == 7 and parity["top1_agree"] == 7
    assert parity["max_abs_diff"] <= parity["tolerance"]


@pytest.mark.xdist_group("sk-resnet50")
def test_rerun_skips_finished_steps(pipeline):
    env, work, _ = pipeline("sk-resnet50")
    onnx_file = work / "sk_resnet50.onnx"
    before = onnx_file.stat().st_mtime_ns, (work / "onnx-bs16" / "outputs" / "chelsea_0.txt").stat().st_mtime_ns
    again = run_step("onnx", env)
    assert "up to date" in again.stdout
    run_step("preprocess", env)
    infer = run_step("infer", env)
    assert "9 samples" in infer.stdout
    after = onnx_file.stat().st_mtime_ns, (work / "onnx-bs16" / "outputs" / "chelsea_0.txt").stat().st_mtime_ns
    assert before == after


@pytest.mark.xdist_group("efficientnet-b3")
def test_interrupted_infer_resumes(pipeline):
    env, work, _ = pipeline("efficientnet-b3")
    outs = work / "onnx-bs16" / "outputs"
    reference = (outs / "coffee_0.txt").read_text()
    for p in list(outs.glob("c*_0.txt")):
        p.unlink()
    (outs / ".coffee_0.txt.tmp").write_text("half")  # what a kill mid-write leaves
    run_step("infer", env)
    assert (outs / "coffee_0.txt").read_text() == reference
    assert not list(outs.glob(".*.tmp"))


def test_missing_dataset_is_one_clear_line(tmp_path):
    proc = run_step("preprocess", {"MODEL": "sk-resnet50", "WORK": tmp_path, "DATASET": tmp_path / "nope"}, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "DATASET=sample" in proc.stderr and "Traceback" not in proc.stderr


def test_clean_removes_only_a_work_folder_of_that_model(tmp_path):
    precious = tmp_path / "results of a month"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    proc = run_step("clean", {"MODEL": "sk-resnet50", "WORK": precious}, check=False)
    assert proc.returncode == 2 and "is not a work folder" in proc.stderr and (precious / "notes.txt").is_file()
    work = tmp_path / "w"
    run_step("info", {"MODEL": "moco-v2", "WORK": work}, check=False)  # claims the folder for moco-v2
    proc = run_step("clean", {"MODEL": "sk-resnet50", "WORK": work}, check=False)
    assert proc.returncode == 2 and "is the work folder of moco-v2" in proc.stderr and work.is_dir()
    assert "removed" in run_step("clean", {"MODEL": "moco-v2", "WORK": work}).stdout and not work.exists()
    proc = run_step("clean", {"MODEL": "", "WORK": tmp_path}, check=False)
    assert proc.returncode == 2 and "MODEL is empty" in proc.stderr and precious.is_dir()


def test_unknown_model_lists_known_ones(tmp_path):
    proc = run_step("weights", {"MODEL": "resnet9000", "WORK": tmp_path}, check=False)
    assert proc.returncode == 2 and "unknown model 'resnet9000'" in proc.stderr and "moco-v2" in proc.stderr


def test_weights_without_md5_explain_where_to_get_them(tmp_path):
    """MoCo-v2 and SK-ResNet50: upstream's later URLs are mirrors, no md5 is published; when every mirror
    fails (here: a closed port instead of the internet) the error says where else to get the file."""
    from dataclasses import replace

    from common.weights import WeightsError, ensure
    from tests.test_weights import dead_url

    for name in ("moco-v2", "sk-resnet50"):
        spec = manifest.load(name).weights
        assert spec.md5 == "" and spec.urls[0].startswith("https://ascend-repo-modelzoo.obs.")
        assert spec.urls[0].endswith("/" + spec.file) and spec.where
        with pytest.raises(WeightsError) as err:
            ensure(replace(spec, urls=(dead_url(),)), tmp_path / name, retries=0, backoff=0, progress=False)
        msg = str(err.value)
        assert spec.where in msg and str(tmp_path / name / spec.file) in msg and "no md5 is published" in msg


def test_wrong_checkpoint_for_the_model_is_readable(synth, tmp_path):
    env = {"MODEL": "moco-v2", "BS": 1, "WORK": tmp_path, "WEIGHTS": synth("sk-resnet50"), "VERIFY": "0"}
    proc = run_step("onnx", env, check=False)
    assert proc.returncode == 2 and "does not fit moco-v2" in proc.stderr and "unexpected" in proc.stderr


@pytest.mark.parametrize("name", PER_MODEL)
def test_om_backend_through_the_stand_ins_matches_onnxruntime(name, pipeline):
    """BACKEND=om with the ATC / npu-smi / ais_bench stand-ins on PATH: same result.json as ONNX Runtime."""
    env, work, _ = pipeline(name)
    fakes = ROOT / "tests" / "fakes"
    om_env = {
        **env,
        "BACKEND": "om",
        "PERF_LOOP": "2",
        "PATH": os.pathsep.join([str(fakes / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{fakes}",
    }
    proc = run_step("all", om_env)
    m = manifest.load(name)
    assert (work / "om" / f"{m.om_name(16)}.om").is_file(), proc.stdout
    assert (work / "om-bs16" / "result.json").read_text() == (work / "onnx-bs16" / "result.json").read_text()
    for f in (work / "onnx-bs16" / "outputs").glob("*_0.txt"):
        assert f.read_text() == (work / "om-bs16" / "outputs" / f.name).read_text()
    perf = json.loads((work / "om-bs16" / "perf.json").read_text())
    assert all("ais_bench" in r["source"] for r in perf["rows"])
    report = (work / "om-bs16" / "report.md").read_text()
    assert "om backend" in report and "samples/s (ais_bench NPU compute time: samples / summed compute" in report
    assert "ais_bench pure inference: samples/s = 1000 x bs / mean NPU compute time, zero inputs" in report


@pytest.mark.xdist_group("moco-v2")
def test_pytorch_backend_and_compare_line_by_line(pipeline):
    """BACKEND=torch runs the checkpoint through the same runner; compare puts the runs in one table."""
    env, work, _ = pipeline("moco-v2")
    run_step("all", {**env, "BACKEND": "torch", "PERF_BS": "1"})
    torch_run, onnx_run = work / "torch-bs16", work / "onnx-bs16"
    assert "what ran: PyTorch" in (torch_run / "report.md").read_text()
    assert json.loads((torch_run / "predictions.json").read_text()) == json.loads(
        (onnx_run / "predictions.json").read_text()
    )
    table = run_step("compare", env).stdout
    row = next(line for line in table.splitlines() if line.startswith("| torch-bs16 |"))
    assert "PyTorch" in row and "| 9/9 |" in row
    assert (work / "compare.md").read_text().splitlines()[0].startswith("| run | what ran |")
