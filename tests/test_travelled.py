"""`make package`, copied outside any checkout: the guide's command lines under the guide's script names
and the short names, on every Python 3.7-3.13 found here (tests/compat.py), give the same .bin, .info
and result.json as a run in the repository; pth2onnx gives the repository's ONNX; test/pth2om.sh and
test/eval_acc_perf.sh run the whole job there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common import guide, manifest
from tests import compat
from tests.conftest import GUIDE_MODELS, ROOT

HASHES = json.loads((ROOT / "tests" / "data" / "preprocess_sha256.json").read_text())
ENV = {**os.environ, "PROGRESS": "0", "VERIFY": "0"}
ENV.pop("PYTHONPATH", None)  # nothing from the repository: the folder finds its own common/
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # let each interpreter cache its bytecode in the copy
LIGHT = ("preprocess", "gen_dataset_info", "postprocess")
FAKES = ROOT / "tests" / "fakes"


def run(exe: str, argv: list[str], cwd: Path, env: dict | None = None, ok: bool = True):
    proc = subprocess.run(
        [exe, *argv], cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=600, check=False
    )
    if ok:
        assert proc.returncode == 0, f"{' '.join(argv)} ({exe}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def travelled(tmp_path_factory):
    """``travelled(model)`` -> the folder `make MODEL=<model> package` wrote, copied to a place outside any
    checkout (made once per session; tests copy it again before writing into it)."""
    made: dict[str, Path] = {}
    base = tmp_path_factory.mktemp("away")

    def get(name: str) -> Path:
        if name not in made:
            work = base / f"work-{name}"
            proc = subprocess.run(
                ["make", "-s", f"MODEL={name}", f"WORK={work}", "package"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env={**os.environ, "PROGRESS": "0"},
            )
            assert proc.returncode == 0, proc.stderr
            assert "see its README.md" in proc.stdout
            dest = base / "elsewhere" / name
            shutil.rmtree(dest, ignore_errors=True)  # a failed earlier attempt of this session
            shutil.copytree(work / "package" / name, dest)
            # outside any git checkout (checked without git, which the test image does not have)
            assert not [d for d in dest.parents if (d / ".git").exists()], "the copy must lie outside any checkout"
            made[name] = dest
        return made[name]

    return get


def _copy(folder: Path, tmp_path: Path) -> Path:
    here = tmp_path / folder.name
    shutil.copytree(folder, here)
    return here


def _dataset(pipeline_env: dict, photos: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The bundled sample photos (what the repository run used) plus the rest of the reference photos."""
    sample = Path(pipeline_env["SAMPLE_DIR"])
    val = tmp_path / "imagenet" / "val"
    shutil.copytree(sample / "val", val)
    for name in ("astronaut.png", "horse.png"):
        shutil.copy(photos / name, val / name)
    return val, sample / "val_label.txt"


@pytest.mark.parametrize(
    ("name", "version"),
    [pytest.param(n, v, marks=pytest.mark.xdist_group(n)) for n in GUIDE_MODELS for v in compat.VERSIONS],
)
def test_light_steps_in_the_travelled_folder(name, version, travelled, pipeline, photos, tmp_path):
    """preprocess, dataset info and postprocess as the guide writes them, under the guide's names and the
    short names: the .bin are the reference bytes and the repository run's, the .info and result.json
    the repository's, on this interpreter with only numpy and Pillow."""
    exe, why = compat.python_for(version)
    if exe is None:
        pytest.skip(why)
    m = manifest.load(name)
    env, work, _ = pipeline(name)  # the repository run: make all on the sample photos, BS=16, ONNX Runtime
    here = _copy(travelled(name), tmp_path)
    val, labels = _dataset(env, photos, tmp_path)
    outputs = work / "onnx-bs16" / "outputs"
    values = guide.values(m, val=str(val), labels=str(labels))
    values["results"] = f"{outputs}/"
    got = {}
    for form in ("guide", "short"):
        for step in LIGHT:
            cmd = m.guide_command(step)
            argv = guide.fill(cmd.argv if form == "guide" else guide.short_form(cmd), values)
            run(exe, argv, here)
        prep, info, result = here / values["prep"], here / values["info"], here / values["json"]
        got[form] = {
            "bins": {p.stem: p.read_bytes() for p in sorted(prep.glob("*.bin"))},
            "info": info.read_bytes(),
            "result": result.read_bytes(),
        }
        if form == "guide":  # the repository's own script, same command line, same folder
            cmd = m.guide_command("gen_dataset_info")
            repo = [str(ROOT / "models" / name / cmd.script), *guide.fill(cmd.argv[1:], {**values, "info": "r.info"})]
            run(sys.executable, repo, here)
            assert (here / "r.info").read_bytes() == got[form]["info"]
            shutil.rmtree(prep)
            info.unlink()
            result.unlink()
    assert got["guide"] == got["short"]
    bins = got["guide"]["bins"]
    assert len(bins) == 11
    for path in sorted((work / "prep_dataset").glob("*.bin")):  # the repository run's .bin files
        assert bins[path.stem] == path.read_bytes(), f"{path.name} differs from the repository run's"
    for photo, digest in HASHES[name].items():  # the reference bytes
        assert hashlib.sha256(bins[Path(photo).stem]).hexdigest() == digest, f"{photo} on Python {version}"
    assert got["guide"]["result"] == (work / "onnx-bs16" / "result.json").read_bytes()
    info_lines = got["guide"]["info"].decode().splitlines()
    assert len(info_lines) == 11 and info_lines[0].endswith(f" {m.width} {m.height}")
    assert info_lines[0].split()[1].startswith(values["prep"] + "/")
    # the ModelZoo helpers run on this interpreter too
    (here / "result_bs16.json").write_bytes(got["guide"]["result"])
    line = run(exe, ["test/parse.py", "result_bs16.json"], here).stdout
    top1 = json.loads(got["guide"]["result"])["value"][2]["value"]
    assert line.startswith(f"om bs16 top1:{top1} top5:")
    (here / "ten.txt").write_text(
        "".join(f"ILSVRC2012_val_{i:08d}.JPEG {v}\n" for i, v in enumerate([65, 970, 230], 1))
    )
    checked = run(exe, ["-m", "common.labels", "check", "ten.txt"], here, ok=False)
    assert checked.returncode == 1 and "the guides' val_label.txt convention" in checked.stdout
    assert "3 images, not the 50,000" in checked.stdout


@pytest.fixture(scope="session")
def exported(travelled, synth, tmp_path_factory):
    """``exported(model)`` -> a copy of the travelled folder where the guide's pth2onnx command line has
    exported the synthesised checkpoint (once per session)."""
    made: dict[str, tuple[Path, subprocess.CompletedProcess]] = {}

    def get(name: str):
        if name not in made:
            m = manifest.load(name)
            here = _copy(travelled(name), tmp_path_factory.mktemp(f"exported-{name}"))
            shutil.copy(synth(name), here / m.weights.file)
            argv = guide.fill(m.guide_command("pth2onnx").argv, guide.values(m))
            made[name] = (here, run(sys.executable, argv, here))
        return made[name]

    return get


# every guide model but InceptionResNetV2 (55 M parameters: a minute of export for the same code path; its
# command-line forms are checked in test_submission.py)
EXPORTED = [n for n in GUIDE_MODELS if n != "inceptionresnetv2"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n)) for n in EXPORTED])
def test_pth2onnx_in_the_travelled_folder_gives_the_repository_onnx(name, exported, pipeline):
    m = manifest.load(name)
    here, proc = exported(name)
    _, work, _ = pipeline(name)
    onnx = m.onnx_name(16)
    assert "parity on 7 photos" in proc.stdout and (here / onnx).is_file()
    assert hashlib.md5((here / onnx).read_bytes()).hexdigest() == hashlib.md5((work / onnx).read_bytes()).hexdigest()
    parity = json.loads((here / onnx).with_suffix(".parity.json").read_text())
    assert parity["top1_agree"] == 7 and parity["weights"]["file"] == str((here / m.weights.file).resolve())
    for c in (c for c in m.commands if c.step == "pth2onnx"):  # every name starts and is this step
        for argv in (c.argv, guide.short_form(c)):
            helped = run(sys.executable, [argv[0], "-h"], here).stdout
            assert helped.startswith(f"usage: {argv[0]} ") and "Export" in helped
    bad = run(sys.executable, [m.guide_command("pth2onnx").script, "--pth", "absent.pth"], here, ok=False)
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.xdist_group("sk-resnet50")
def test_test_scripts_run_the_whole_job_in_the_travelled_folder(exported, pipeline, photos, tmp_path):
    """test/pth2om.sh (ATC stand-in) and test/eval_acc_perf.sh --datasets_path=<dir> (ONNX Runtime, no NPU
    here): upstream's phases and lines, results equal to the repository run's, README and levels refreshed."""
    name = "sk-resnet50"
    env, work, _ = pipeline(name)
    here = _copy(exported(name)[0], tmp_path)
    fakes = {**ENV, "PATH": os.pathsep.join([str(FAKES / "bin"), str(Path(sys.executable).parent), ENV["PATH"]])}
    fakes["PYTHON"] = sys.executable
    om = run("bash", ["test/pth2om.sh", "--soc_version=Ascend310P3"], here, fakes)
    assert om.stdout.rstrip().endswith("success")
    assert sorted(p.name for p in (here / "om").glob("*.om")) == ["sk_resnet50_bs1.om", "sk_resnet50_bs16.om"]
    assert "sk_resnet50.onnx is up to date" in om.stdout  # the ONNX pth2onnx.py wrote is the one converted
    datasets = tmp_path / "datasets"
    val, labels = _dataset(env, photos, tmp_path)
    (datasets / "imagenet").mkdir(parents=True)
    shutil.copytree(Path(env["SAMPLE_DIR"]) / "val", datasets / "imagenet" / "val")
    shutil.copy(labels, datasets / "imagenet" / "val_label.txt")
    plain = {**ENV, "PYTHON": sys.executable, "PERF_SECONDS": "0.1", "PATH": "/usr/bin:/bin"}
    proc = run("bash", ["test/eval_acc_perf.sh", f"--datasets_path={datasets}", "--batch_sizes=1 2"], here, plain)
    lines = proc.stdout.splitlines()
    assert lines[-1] == "success", proc.stdout + proc.stderr
    acc = lines.index("====accuracy data====")
    perf = lines.index("====performance data====")
    top = json.loads((work / "onnx-bs16" / "result.json").read_text())["value"]
    want = f"top1:{top[2]['value']} top5:{top[6]['value']}"
    assert lines[acc + 1 : perf] == [f"onnx bs1 {want}", f"onnx bs2 {want}"]  # ONNX Runtime ran, and says so
    assert all(x.startswith(("host bs1 fps:", "host bs2 fps:")) for x in lines[perf + 1 : perf + 3])
    for bs in (1, 2):
        assert (here / f"result_bs{bs}.json").read_bytes() == (work / "onnx-bs16" / "result.json").read_bytes()
        assert json.loads((here / f"result_bs{bs}" / "run.json").read_text())["backend"] == "onnx"
    assert (here / "modelzoo_level.txt").read_text() == (
        "FuncStatus:NOK\nPrecisionStatus:NOK\nAutoTune:NOK\nPerfStatus:NOK\n"
    )
    readme = (here / "README.md").read_text()
    assert "| run `result_bs1` | ONNX Runtime" in readme and "## Notes" in readme  # hand-written part kept
    unknown = run("bash", ["test/eval_acc_perf.sh", "--bogus"], here, plain, ok=False)
    assert unknown.returncode == 2 and "unknown argument: --bogus" in unknown.stderr
