"""BACKEND=om against the faithful ais_bench stand-ins (tests/fakes/README.md): the nine defects of
issue 10, each reproduced through the bundle's own steps (``python -m common <step>``), and the
issue's acceptance matrix (both lineages x API/CLI x static-single / dynamic-multi-device-spaced WORK).

The stand-ins behave like the real front-ends, so each of these tests failed on the code before the
fix; none is marked xfail. To stay fast they run a tiny ONNX (conv, pool, linear: 1000 classes) in
EfficientNet-Lite0's place (its manifest, names and 224 input; the ONNX is planted with a parity
record, so no export runs) at BS=4 on the nine bundled photos, share one set-up per module and run
in one xdist group.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import ROOT, run_step

FAKES = ROOT / "tests" / "fakes"
PYBIN = str(Path(sys.executable).parent)
MODEL = "efficientnet-lite0"
BS = 4
LINEAGES = ("tools2023", "msit2024")
EXEC_MS = "300"  # per execution, so that NPU 1 (one batch) finishes while NPU 0 (two) still works
pytestmark = pytest.mark.xdist_group("ais_real")


def step(name: str, env: dict, cwd: Path = ROOT, ok: bool = True) -> subprocess.CompletedProcess:
    """One bundle step; with ``ok`` it must succeed (the failure shows the last lines of its output)."""
    proc = run_step(name, env, cwd=cwd, check=False)
    if ok and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise AssertionError(f"`{name}` failed (exit {proc.returncode}):\n{tail}")
    return proc


def plain_env(root: Path, work: Path, **extra) -> dict:
    return {
        "MODEL": MODEL,
        "BS": BS,
        "WORK": work,
        "DATASET": "sample",
        "SAMPLE_DIR": root / "sample",
        "WEIGHTS_DIR": root / "weights",
        "BACKEND": "onnx",
        "OUTFMT": "TXT",
        "PERF_BS": str(BS),
        "PERF_SECONDS": "0.1",
        **extra,
    }


def cli_python(root: Path, pkg_resources: bool) -> Path:
    """An interpreter that has the ais_bench stand-in (and, if asked, a pkg_resources) on its path,
    as the system python3 of an Ascend host has ais_bench while the bundle's venv does not."""
    folder = root / ("py-with-pkg-resources" if pkg_resources else "py")
    exe = folder / "python3"
    if not exe.is_file():
        folder.mkdir(exist_ok=True)
        path = str(FAKES) + (os.pathsep + str(FAKES / "with_pkg_resources") if pkg_resources else "")
        exe.write_text(f'#!/bin/sh\nPYTHONPATH="{path}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" "$@"\n')
        exe.chmod(0o755)
    return exe


def om_env(base, work: Path, lineage: str, route: str = "api", pkg_resources: bool = False, **extra) -> dict:
    """BACKEND=om with the stand-ins: ``api`` = ais_bench importable in the bundle's process,
    ``cli`` = only a separate interpreter (AIS_BENCH_PYTHON) has it, so the bundle uses the CLI.
    A session made after a process-wide teardown fails (FAKE_ACL_STRICT_FINALIZE=1), so the outcome
    of two devices in one process does not depend on which thread loads its model first."""
    env = plain_env(
        base.root,
        work,
        BACKEND="om",
        SOC="Ascend310P3",
        PERF_LOOP="2",
        FAKE_AIS_LINEAGE=lineage,
        # as the real runtime's singleton: no second aclInit after a teardown in the same process
        FAKE_ACL_STRICT_FINALIZE="1",
        FAKE_ASCEND_LOG=work.parent / f"{work.name}.calls.jsonl",
        PATH=os.pathsep.join([str(FAKES / "bin"), PYBIN, os.environ["PATH"]]),
        **extra,
    )
    if route == "api":
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{FAKES}"
    else:
        env["PYTHONPATH"] = str(ROOT)
        env["AIS_BENCH_PYTHON"] = cli_python(base.root, pkg_resources)
    return env


def calls(env: dict, tool: str) -> list[dict]:
    log = Path(env["FAKE_ASCEND_LOG"])
    rows = [json.loads(s) for s in log.read_text().splitlines()] if log.exists() else []
    return [r for r in rows if r["tool"] == tool]


def plant_tiny_onnx(work: Path) -> None:
    """A conv -> ReLU -> pool -> linear ONNX with EfficientNet-Lite0's names, shape and 1000 classes as
    ``<WORK>/efficientnet-lite0.onnx``, with a parity record naming a checkpoint that is not here, so
    the steps use it as it is (``Artifacts.onnx``) instead of exporting the real model."""
    from tests.test_ascend import tiny_onnx

    work.mkdir(parents=True)
    (work / ".modelzoo-work").write_text(json.dumps({"model": MODEL}) + "\n")  # a work folder, as a step makes it
    tiny_onnx(work / f"{MODEL}.onnx", "image", 224, classes=1000)
    parity = {
        "onnx": str(work / f"{MODEL}.onnx"),
        "images": ["chelsea.png"],
        "batch": 1,
        "max_abs_diff": 0.0,
        "tolerance": 1e-3,
        "top1_agree": 1,
        "top5_agree": 1,
        "simplified": False,
        "simplify_note": "not simplified (a test stand-in)",
        "opset": 11,
        "providers": ["CPUExecutionProvider"],
        "weights": {"file": str(work / "no-such-checkpoint.pth"), "size": 0, "mtime": 0},
    }
    (work / f"{MODEL}.parity.json").write_text(json.dumps(parity))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The tiny ONNX, preprocessed photos, info file and the ONNX Runtime reference run (onnx-bs4),
    plus the static bs4 and dynamic (1,4,8) OMs, made once."""
    root = tmp_path_factory.mktemp("aisreal")
    work = root / "base"
    plant_tiny_onnx(work)
    env = plain_env(root, work)
    for name in ("preprocess", "info", "infer", "postprocess"):
        step(name, env)
    b = SimpleNamespace(root=root, work=work, ref=work / "onnx-bs4")
    step("om", om_env(b, work, "tools2023"))
    step("om", om_env(b, work, "tools2023", DYNAMIC_BATCH="1,4,8"))
    return b


def fresh_work(base, dest: Path) -> Path:
    """A copy of the base WORK (ONNX, OMs, prep_dataset) whose info file points into the copy (rewritten
    here as the info step would write it: a step less to start per test)."""
    shutil.copytree(base.work, dest, ignore=shutil.ignore_patterns("onnx-bs*", "om-bs*"))
    info = dest / f"{MODEL}.info"
    old, new = f" {base.work / 'prep_dataset'}/", f" {dest / 'prep_dataset'}/"
    info.write_text(info.read_text().replace(old, new))
    assert str(base.work) not in info.read_text()
    return dest


def assert_same_as_ort(base, work: Path, run: str = f"om-bs{BS}") -> None:
    got = work / run
    assert (got / "result.json").read_text() == (base.ref / "result.json").read_text()
    want = sorted((base.ref / "outputs").glob("*_0.txt"))
    assert want and sorted(p.name for p in (got / "outputs").glob("*_0.txt")) == [p.name for p in want]
    for f in want:
        assert (got / "outputs" / f.name).read_bytes() == f.read_bytes(), f.name


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = [s for s in proc.stderr.splitlines() if s.strip()]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


# ---- the acceptance matrix of issue 10 -------------------------------------------------------------------

CASES = {
    # static OM on one device, WORK without spaces
    "static-1dev": ({}, "work"),
    # dynamic-batch OM, two devices in one run, a WORK with a space
    "dynamic-2dev-space": ({"DYNAMIC_BATCH": "1,4,8", "DEVICE": "0,1", "FAKE_AIS_EXEC_MS": EXEC_MS}, "work dir"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("route", ["api", "cli"])
@pytest.mark.parametrize("lineage", LINEAGES)
def test_om_pipeline_matches_onnxruntime(lineage, route, case, base, tmp_path):
    """`om preprocess info infer postprocess report`: the same result.json and <stem>_0.txt bytes as ONNX Runtime."""
    extra, folder = CASES[case]
    work = fresh_work(base, tmp_path / folder)
    env = om_env(base, work, lineage, route, **extra)
    for name in ("om", "preprocess", "info", "infer", "postprocess", "report"):
        step(name, env)
    assert_same_as_ort(base, work)
    assert (work / f"om-bs{BS}" / "report.md").is_file()


# ---- 1. dynamic batch through the API (tools lineage ignores mode='dymbatch') ----------------------------


def test_1_dynamic_batch_om_through_the_tools_api(base, tmp_path):
    work = fresh_work(base, tmp_path / "work")
    env = om_env(base, work, "tools2023", DYNAMIC_BATCH="1,4,8")
    step("infer", env)
    step("postprocess", env)
    assert_same_as_ort(base, work)


# ---- 2. teardown: finalize() is process-wide -------------------------------------------------------------


@pytest.mark.parametrize("lineage", LINEAGES)
def test_2_two_devices_through_the_api_survive_the_first_teardown(lineage, base, tmp_path):
    """9 photos at bs4 on NPUs 0,1: NPU 1 gets one batch, NPU 0 two; the first to finish must not tear
    down the other (each execution takes EXEC_MS, so NPU 1 is done while NPU 0 still works)."""
    work = fresh_work(base, tmp_path / "work")
    env = om_env(base, work, lineage, DEVICE="0,1", FAKE_AIS_EXEC_MS=EXEC_MS)
    step("infer", env)
    step("postprocess", env)
    assert_same_as_ort(base, work)
    assert sorted({c["device"] for c in calls(env, "InferSession")}) == [0, 1]
    if lineage == "msit2024":  # each session released by itself, the process torn down once, at the end
        # prepare() loads the OM on each NPU and releases it (a bad OM or device fails before anything is
        # deleted), then each shard's session: 4, each released by itself
        assert len(calls(env, "free_resource")) == len(calls(env, "InferSession")) == 4
    assert len(calls(env, "aclFinalize")) == 1


# ---- 3. the msit CLI: pkg_resources, symlinks, permissions, path characters -----------------------------


def test_3a_msit_cli_without_pkg_resources(base, tmp_path):
    """The pinned venv has setuptools >= 81 (no pkg_resources): the environment must provide what msit imports."""
    work = fresh_work(base, tmp_path / "work")
    env = om_env(base, work, "msit2024", "cli", pkg_resources=False)
    step("infer", env)
    step("postprocess", env)
    assert_same_as_ort(base, work)


def test_3b_msit_cli_refuses_symlinked_inputs(base, tmp_path):
    work = fresh_work(base, tmp_path / "work")
    env = om_env(base, work, "msit2024", "cli", pkg_resources=True)
    step("infer", env)
    step("postprocess", env)
    assert_same_as_ort(base, work)


def test_3c_msit_cli_refuses_group_writable_inputs(base, tmp_path):
    """Preprocessed files made under umask 002 are group-writable: hard links keep that, copies need not."""
    work = fresh_work(base, tmp_path / "work")
    for f in (work / "prep_dataset").glob("*.bin"):
        f.chmod(f.stat().st_mode | stat.S_IWGRP)
    env = om_env(base, work, "msit2024", "cli", pkg_resources=True)
    step("infer", env)
    step("postprocess", env)
    assert_same_as_ort(base, work)


def test_3d_msit_cli_work_with_a_space(base, tmp_path):
    work = fresh_work(base, tmp_path / "work dir")
    env = om_env(base, work, "msit2024", "cli", pkg_resources=True)
    step("infer", env)
    step("postprocess", env)
    assert_same_as_ort(base, work)


# ---- 4. a summary written by the real CLI: args is the argv list -----------------------------------------


@pytest.mark.parametrize("lineage", LINEAGES)
def test_4_report_reads_a_summary_written_by_the_cli(lineage, base, tmp_path):
    """The guide's own command writes outputs/ and outputs_summary.json; postprocess and report then run on them."""
    work = fresh_work(base, tmp_path / "work")
    run = work / f"om-bs{BS}"
    run.mkdir()
    om = work / "om" / f"{MODEL}_bs{BS}.om"
    argv = ["--model", str(om), "--input", str(work / "prep_dataset"), "--output", str(run)]
    argv += ["--output_dirname", "outputs", "--outfmt", "TXT", "--batchsize", str(BS)]
    proc = subprocess.run(
        [str(cli_python(base.root, pkg_resources=True)), "-m", "ais_bench", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "FAKE_AIS_LINEAGE": lineage, "PYTHONPATH": ""},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert isinstance(json.loads((run / "outputs_summary.json").read_text())["args"], list)
    env = om_env(base, work, lineage)
    step("postprocess", env)
    step("report", env)
    assert (run / "result.json").read_text() == (base.ref / "result.json").read_text()
    assert "## Accuracy" in (run / "report.md").read_text()


# ---- 5. output names: the tool keeps basename.split('.')[0] ---------------------------------------------


@pytest.fixture(scope="module")
def dotted(base):
    """The nine photos renamed ``<stem>.v2.<ext>``, preprocessed, with the ONNX Runtime reference run."""
    root = base.root / "dotted"
    val = root / "val"
    val.mkdir(parents=True)
    lines = []
    for line in (base.root / "sample" / "val_label.txt").read_text().splitlines():
        name, label = line.split()
        stem, ext = name.rsplit(".", 1)
        shutil.copyfile(base.root / "sample" / "val" / name, val / f"{stem}.v2.{ext}")
        lines.append(f"{stem}.v2.{ext} {label}")
    labels = root / "val_label.txt"
    labels.write_text("\n".join(lines) + "\n")
    work = root / "base"
    work.mkdir()
    shutil.copy2(base.work / ".modelzoo-work", work)  # a work folder, as the steps made it
    for f in base.work.glob(f"{MODEL}.*"):
        shutil.copy2(f, work / f.name)
    shutil.copytree(base.work / "om", work / "om")
    env = plain_env(base.root, work, DATASET=val, LABELS=labels)
    for name in ("preprocess", "info", "infer", "postprocess"):
        step(name, env)
    return SimpleNamespace(root=root, work=work, val=val, labels=labels, ref=work / "onnx-bs4")


def dotted_work(base, dotted, dest: Path) -> tuple[Path, dict]:
    shutil.copytree(dotted.work, dest, ignore=shutil.ignore_patterns("onnx-bs*"))
    env = om_env(base, dest, "tools2023", "cli", DATASET=dotted.val, LABELS=dotted.labels)
    step("info", env)
    return dest, env


def test_5a_dotted_image_names_through_the_cli(base, dotted, tmp_path):
    work, env = dotted_work(base, dotted, tmp_path / "work")
    step("infer", env)
    step("postprocess", env)
    assert (work / f"om-bs{BS}" / "result.json").read_text() == (dotted.ref / "result.json").read_text()


def test_5b_dotted_image_names_resume_through_the_cli(base, dotted, tmp_path):
    work, env = dotted_work(base, dotted, tmp_path / "work")
    step("infer", env)
    before = len(calls(env, "ais_bench"))
    step("infer", env)  # everything is done: a re-run must find the outputs and infer nothing
    assert len(calls(env, "ais_bench")) == before


def test_5c_stems_that_collide_under_the_tools_rule_are_refused(base, tmp_path):
    """cat.a.png and cat.b.png would both be cat_0.txt under ais_bench's rule and the label key cat:
    preprocess refuses them in one line naming both; so does infer for .bin files put there by hand."""
    val = tmp_path / "val"
    val.mkdir()
    shutil.copyfile(base.root / "sample" / "val" / "chelsea.png", val / "cat.a.png")
    shutil.copyfile(base.root / "sample" / "val" / "coffee.png", val / "cat.b.png")
    labels = tmp_path / "val_label.txt"
    labels.write_text("cat.a.png 281\ncat.b.png 967\n")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(base.work / ".modelzoo-work", work)  # a work folder, as the steps made it
    for f in base.work.glob(f"{MODEL}.*"):
        shutil.copy2(f, work / f.name)
    shutil.copytree(base.work / "om", work / "om")
    env = om_env(base, work, "tools2023", "cli", DATASET=val, LABELS=labels)
    line = one_line_error(step("preprocess", env, ok=False))
    assert "cat.a.png" in line and "cat.b.png" in line
    prep = work / "prep_dataset"
    prep.mkdir(exist_ok=True)
    for name in ("cat.a.bin", "cat.b.bin"):
        shutil.copyfile(base.work / "prep_dataset" / "chelsea.bin", prep / name)
    step("info", env)
    line = one_line_error(step("infer", env, ok=False))
    assert "cat.a.bin" in line and "cat.b.bin" in line
    assert not calls(env, "ais_bench")  # refused before the tool ran


# ---- 6. BIN/NPY in the OM's output dtype -----------------------------------------------------------------


def test_6_fp16_om_bin_outputs_through_the_cli(base, tmp_path):
    work = fresh_work(base, tmp_path / "work")
    shutil.rmtree(work / "om")
    env = om_env(base, work, "tools2023", "cli", ATC_EXTRA="--output_type=FP16", OUTFMT="BIN")
    step("om", env)
    step("infer", env)
    step("postprocess", env)
    # the float16 logits rank the nine photos' labels as float32 does (checked when this test was written)
    assert (work / f"om-bs{BS}" / "result.json").read_text() == (base.ref / "result.json").read_text()


# ---- 7. the perf footer says what produced each figure ---------------------------------------------------


def test_7_perf_footer_describes_the_ais_bench_figure(base, tmp_path):
    work = fresh_work(base, tmp_path / "work")
    env = om_env(base, work, "tools2023")
    step("perf", env)
    text = (work / f"om-bs{BS}" / "perf.md").read_text()
    assert "random inputs" not in text  # ais_bench's pure inference feeds zeros
    assert "zero" in text.lower() and "mean" in text.lower()  # its figure is 1000*bs/mean over zero inputs


# ---- 8. absolute paths for external tools ----------------------------------------------------------------


def test_8_om_with_a_relative_work(base, tmp_path):
    fresh_work(base, tmp_path / "work" / MODEL)
    shutil.rmtree(tmp_path / "work" / MODEL / "om")
    env = om_env(base, Path("work") / MODEL, "tools2023")
    env["FAKE_ASCEND_LOG"] = tmp_path / "calls.jsonl"
    step("om", env, cwd=tmp_path)
    assert (tmp_path / "work" / MODEL / "om" / f"{MODEL}_bs{BS}.om").is_file()
    argv = calls(env, "atc")[-1]["argv"]
    paths = [a.split("=", 1)[1] for a in argv if a.startswith(("--model=", "--output="))]
    assert len(paths) == 2 and all(Path(p).is_absolute() for p in paths)


# ---- 9. a RuntimeError from the tool is one line -----------------------------------------------------------


@pytest.mark.parametrize("lineage", LINEAGES)
def test_9_runtime_error_from_the_tool_is_one_line(lineage, base, tmp_path):
    """The device fails the second execution (as aclmdlExecute can): one line naming ais_bench and the call."""
    work = fresh_work(base, tmp_path / "work")
    env = om_env(base, work, lineage, FAKE_AIS_FAIL_EXEC="2")
    line = one_line_error(step("infer", env, ok=False))
    assert "ais_bench" in line and "infer" in line
