"""The ``modelzoo`` command (issue 19): argparse, --help / --version on stdout, ``<step> --help`` runs
nothing, unknown arguments rejected before any step, settings as flags over environment over default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common import cli, helptext, provenance, settings
from common.layout import Layout
from common.manifest import load

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k not in {s.name for s in settings.TABLE}}
ENV.update(PYTHONPATH=str(ROOT), PROGRESS="0")


def modelzoo(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "common", *argv], cwd=cwd, env={**ENV, **env}, capture_output=True, text=True
    )


def test_help_lists_every_step_and_every_setting_on_stdout(tmp_path):
    proc = modelzoo("--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    for name in [*cli.STEPS, *cli.GLOBAL_STEPS, "demo"]:
        assert f"\n    {name} " in proc.stdout, name
    for s in settings.TABLE:
        assert s.name in proc.stdout, s.name
        if s.scope == "step":
            assert cli.flag_name(s) in proc.stdout
    assert set(helptext.STEP_HELP) == set(cli.STEPS) and set(helptext.GLOBAL_HELP) == {*cli.GLOBAL_STEPS, "demo"}


def test_version_is_the_installed_distribution_plus_the_commit(tmp_path):
    import importlib.metadata

    try:
        importlib.metadata.version("modelzoo-inference-bundle")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the bundle is not pip-installed here (the images put /bundle on the path with a .pth)")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no commit to add")

    proc = modelzoo("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"modelzoo {provenance.bundle_version()}"
    assert provenance.bundle_version().startswith(importlib.metadata.version("modelzoo-inference-bundle") + "+g")


def _work(tmp_path: Path) -> Path:
    layout = Layout(tmp_path / "w", load("moco-v2"))
    layout.claim()
    (layout.work / "kept.txt").write_text("a finished run\n")
    return layout.work


@pytest.mark.parametrize("argv", [["clean", "--help"], ["clean", "-h"], ["clean", "--bogus"], ["clean", "x"]])
def test_clean_with_help_or_unknown_arguments_deletes_nothing(tmp_path, argv):
    work = _work(tmp_path)
    proc = modelzoo(*argv, cwd=tmp_path, MODEL="moco-v2", WORK=str(work))
    assert proc.returncode == (0 if "-h" in argv[1] else 2), proc.stderr
    assert (work / "kept.txt").is_file(), f"modelzoo {' '.join(argv)} deleted the run"
    if proc.returncode == 2:
        assert "usage: modelzoo" in proc.stderr and "error: unrecognized arguments" in proc.stderr
    else:
        assert proc.stdout.startswith("usage: modelzoo clean")
    done = modelzoo("clean", cwd=tmp_path, MODEL="moco-v2", WORK=str(work))  # the same without: it deletes
    assert done.returncode == 0 and not work.exists(), done.stderr


def test_all_help_runs_nothing(tmp_path):
    proc = modelzoo("all", "--help", cwd=tmp_path, DATASET="sample")
    assert proc.returncode == 0 and "usage: modelzoo all" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no work folder, no sample


def test_no_step_is_a_usage_error(tmp_path):
    proc = modelzoo(cwd=tmp_path)
    assert proc.returncode == 2 and "usage: modelzoo" in proc.stderr and proc.stdout == ""


def _shown(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[1].removeprefix("==> ")  # the first file `show` prints


@pytest.mark.parametrize("where", ["before", "after"])
def test_settings_precedence_flag_over_environment_over_default(tmp_path, where):
    def show(*flags: str, **env: str) -> str:
        argv = [*flags, "show"] if where == "before" else ["show", *flags]
        return _shown(modelzoo(*argv, cwd=tmp_path, BACKEND="onnx", **env))

    assert show() == "work/inceptionresnetv2/onnx-bs16/predictions.txt"  # the TABLE's defaults
    assert show(MODEL="moco-v2", BS="4") == "work/moco-v2/onnx-bs4/predictions.txt"  # environment
    flagged = show("--model", "sk-resnet50", "--bs=8", MODEL="moco-v2", BS="4")  # flags win
    assert flagged == "work/sk-resnet50/onnx-bs8/predictions.txt"
    assert show("--work", str(tmp_path / "x"), "--run", "r1") == f"{tmp_path}/x/r1/predictions.txt"


def test_a_bad_flag_value_is_one_line_naming_the_setting(tmp_path):
    proc = modelzoo("show", "--bs", "zero", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: BS='zero': expected a whole number >= 1"


def test_make_help_into_a_closed_pipe_exits_quietly():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}  # as typed
    proc = subprocess.run(["bash", "-c", "make help | head -3"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("ModelZoo inference bundle. Usage: make")
    assert proc.stderr == "", proc.stderr  # was: make: *** [Makefile:89: help] Error 141
