"""A careless real user: edited datasets, odd label files, typos, reruns, two runs at once, hostile values.
Each case once gave a wrong result without a word, threw finished work away, or ran a command."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import dataset_info, lock, outputs, postprocess, preprocess
from common.backends import runner
from common.backends.onnxruntime import OrtSession
from common.errors import BundleError
from tests.conftest import ROOT, run_step
from tests.test_runner import SHAPE, _inputs, _tiny_onnx

PHOTOS = ("chelsea.png", "coffee.png", "rocket.jpg", "camera.png")
GROUP = pytest.mark.xdist_group("careless")


def result(run: Path) -> dict:
    return postprocess.read_result(run / "result.json")


@pytest.fixture
def lite(photos, tmp_path, lite_onnx):
    """EfficientNet-Lite0 over four photos: preprocess, info, infer, postprocess in a fresh work folder."""
    (tmp_path / "work").mkdir()
    shutil.copy2(lite_onnx / "work" / ".modelzoo-work", tmp_path / "work")  # a work folder, as the steps made it
    for f in (lite_onnx / "work").glob("efficientnet-lite0.*"):
        shutil.copy2(f, tmp_path / "work" / f.name)
    val = tmp_path / "val"
    val.mkdir()
    for name in PHOTOS:
        shutil.copy(photos / name, val / name)
    labels = tmp_path / "val_label.txt"
    labels.write_text("chelsea.png 281\ncoffee.png 967\nrocket.jpg 657\ncamera.png 872\n")
    env = {
        "MODEL": "efficientnet-lite0",
        "BS": 2,
        "WORK": tmp_path / "work",
        "DATASET": val,
        "LABELS": labels,
        "BACKEND": "onnx",
        "WEIGHTS_DIR": lite_onnx / "weights",
    }

    def steps(*names: str, **extra) -> list[subprocess.CompletedProcess]:
        return [run_step(n, {**env, **extra}) for n in names]

    steps("preprocess", "info", "infer", "postprocess")
    return env, val, tmp_path / "work" / "onnx-bs2", steps


# ---- the dataset changes under a finished run ------------------------------------------------------------


@GROUP
def test_replaced_and_deleted_images_are_redone_and_dropped(lite, photos):
    env, val, run, steps = lite
    assert result(run)["Number of images"] == "4"
    coffee = (run / "outputs" / "coffee_0.txt").read_text()
    shutil.copy(photos / "coffee.png", val / "chelsea.png")  # same name, other pixels
    os.utime(val / "chelsea.png", ns=(1, 1))  # even with an old mtime: the size and mtime changed
    (val / "rocket.jpg").unlink()
    pre, _, infer, post = steps("preprocess", "info", "infer", "postprocess")
    assert "0 new, 1 redone (source changed), 1 removed (source gone), 2 unchanged" in pre.stdout
    assert "1 output(s) redone (input changed), 1 removed (input gone)" in infer.stdout
    assert result(run)["Number of images"] == "3" and result(run)["Top1 accuracy"] != "75.0%"
    assert (run / "outputs" / "chelsea_0.txt").read_text() == coffee  # scored on the new pixels
    assert not (run / "outputs" / "rocket_0.txt").exists()
    assert json.loads((run / "predictions.json").read_text()).keys() == {"camera", "chelsea", "coffee"}


@GROUP
def test_corrupt_output_is_redone_and_typo_or_bad_model_deletes_nothing(lite):
    env, _, run, steps = lite
    before = {p.name: p.read_bytes() for p in (run / "outputs").iterdir()}
    (run / "outputs" / "coffee_0.txt").write_text("garbage")
    steps("infer", "postprocess")
    assert {p.name: p.read_bytes() for p in (run / "outputs").iterdir()} == before
    proc = run_step("infer", {**env, "OUTFMT": "bogus"}, check=False)
    assert proc.returncode == 2 and "OUTFMT='bogus'" in proc.stderr
    onnx = Path(env["WORK"]) / "efficientnet-lite0.onnx"
    onnx.write_bytes(b"corrupt")  # and its parity record says it is up to date
    proc = run_step("infer", env, check=False)
    assert proc.returncode == 2 and "ONNX Runtime cannot load it" in proc.stderr and "Traceback" not in proc.stderr
    assert {p.name: p.read_bytes() for p in (run / "outputs").iterdir()} == before


@GROUP
def test_a_second_run_on_the_same_work_is_refused_naming_the_first(lite):
    env, _, run, _ = lite
    with lock.hold(Path(env["WORK"]) / ".lock", "make infer MODEL=efficientnet-lite0"):
        proc = run_step("infer", env, check=False)
    assert proc.returncode == 2 and "is in use by `make infer MODEL=efficientnet-lite0` (pid" in proc.stderr
    assert len(list((run / "outputs").glob("*_0.txt"))) == 4


@GROUP
def test_rerun_that_infers_nothing_keeps_the_measured_throughput(lite):
    env, _, run, steps = lite
    first = json.loads((run / "outputs_summary.json").read_text())
    assert first["samples_run"] == 4 and first["throughput"] > 0
    (infer,) = steps("infer")
    again = json.loads((run / "outputs_summary.json").read_text())
    assert again["samples_run"] == 0 and again["throughput"] == first["throughput"] and again["measured_earlier"]
    assert " 0.0 samples/s" not in infer.stdout


# ---- throughput from the samples that ran ----------------------------------------------------------------


def test_throughput_counts_the_samples_run_not_the_batch_size(tmp_path):
    inputs = _inputs(tmp_path / "in", 3)
    s = runner.infer(
        OrtSession(_tiny_onnx(tmp_path / "m.onnx", None)), inputs, 64, tmp_path / "out", SHAPE, progress=False
    )
    assert s["samples_run"] == 3
    assert s["throughput"] == pytest.approx(1000 * 3 / sum(s["npu_compute_time_list"]))


# ---- label files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.JPEG 1\nb.JPEG 2\na.JPEG 3\n", r"val_label.txt:1 and line 3 lists the same image twice"),
        ("chelsea.png 281\nchelsea.jpg 282\n", r"val_label.txt:1 and line 2 names chelsea.png and chelsea.jpg"),
    ],
)
def test_duplicate_or_colliding_labels_name_both_lines(text, message, tmp_path):
    (tmp_path / "val_label.txt").write_text(text)
    with pytest.raises(BundleError, match=message):
        dataset_info.read_labels(tmp_path / "val_label.txt")


def test_label_files_with_bom_utf16_and_spaces(tmp_path):
    p = tmp_path / "val_label.txt"
    p.write_bytes("\ufeffILSVRC2012_val_00000001.JPEG 65\nmy photo.jpg 3\n".encode())
    assert dataset_info.read_labels(p) == {"ILSVRC2012_val_00000001": 65, "my photo": 3}
    p.write_bytes("a.JPEG 1\r\nb.JPEG 2\r\n".encode("utf-16"))
    assert dataset_info.read_labels(p) == {"a": 1, "b": 2}
    p.write_bytes(b"a.JPEG 1\nb\xff.JPEG 2\n")
    with pytest.raises(BundleError, match=r"val_label.txt:2: the label file is not UTF-8 text"):
        dataset_info.read_labels(p)


# ---- scoring: ties and NaN as the guides' script ---------------------------------------------------------


def _guides_ranking(rows: np.ndarray) -> list[list[int]]:
    """imagenet_acc_eval.py's ``np.argsort(-prediction)`` as numpy 1.x (the guides' numpy) computed it:
    numpy's scalar sort, which numpy 2 still has when its SIMD sort targets are switched off."""
    path = Path(tempfile.mkdtemp()) / "rows.npy"
    np.save(path, rows)
    code = "import numpy as np, json, sys; print(json.dumps([np.argsort(-r).tolist() for r in np.load(sys.argv[1])]))"
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": "X86_V3"}  # AVX2 and up: the vectorised argsort
    proc = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot switch numpy's SIMD sort off here: {proc.stderr.strip()[-200:]}")
    return json.loads(proc.stdout)


def _tied_rows(n: int = 60) -> np.ndarray:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(n):  # fp16-like: few distinct values near the top, so ties among the top 6
        row = rng.standard_normal(1000).astype(np.float16).astype(np.float32)
        row[rng.choice(1000, 6, replace=False)] = np.float32(np.float16(9.5))
        if i % 5 == 0:
            row = np.round(row)  # hundreds of ties everywhere
        if i % 7 == 0:
            row[rng.choice(1000, 20, replace=False)] = np.nan
        rows.append(row)
    return np.stack(rows)


def test_exact_ties_rank_like_the_guides_on_any_cpu(tmp_path):
    from common.ranking import introsort_argsort

    rows = _tied_rows()
    want = _guides_ranking(rows)
    assert [introsort_argsort(-r) for r in rows] == want  # the whole order, not only the top 5
    out = tmp_path / "out"
    out.mkdir()
    for i, row in enumerate(rows):
        outputs.write(out / f"img{i:02d}_0.bin", row, "BIN")
    (tmp_path / "val_label.txt").write_text("".join(f"img{i:02d}.JPEG 1\n" for i in range(len(rows))))
    acc = postprocess.evaluate(out, tmp_path / "val_label.txt")
    assert [acc.predictions[f"img{i:02d}"] for i in range(len(rows))] == [w[:5] for w in want]


def test_nan_outputs_are_counted_and_said(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    good = np.zeros(1000, np.float32)
    good[3] = 1
    bad = good.copy()
    bad[10:20] = np.nan
    outputs.write(out / "a_0.txt", good, "TXT")
    outputs.write(out / "b_0.txt", bad, "TXT")
    (tmp_path / "val_label.txt").write_text("a.JPEG 3\nb.JPEG 3\n")
    acc = postprocess.evaluate(out, tmp_path / "val_label.txt")
    assert acc.nan == ["b"] and "1 of 2 outputs hold NaN (b)" in acc.notes()[0]
    assert acc.predictions["b"] == _guides_ranking(outputs.read(out / "b_0.txt")[None])[0][:5]
    assert acc.result_json()["value"][0] == {"key": "Number of images", "value": "2"}  # the guides' format


# ---- the dataset folder ----------------------------------------------------------------------------------


def test_dataset_folder_surprises_are_one_line(photos, tmp_path):
    pre = preprocess.Preprocess(256, "bilinear", 224, (0.5,) * 3, (0.5,) * 3)
    img = tmp_path / "one.png"
    shutil.copy(photos / "coffee.png", img)
    with pytest.raises(BundleError, match=r"one.png: is a file, not a folder"):
        preprocess.run(img, tmp_path / "o1", pre, progress=False)
    train = tmp_path / "train"
    for wnid in ("n01440764", "n01443537"):
        (train / wnid).mkdir(parents=True)
        shutil.copy(photos / "coffee.png", train / wnid / "x.JPEG")
    with pytest.raises(BundleError, match=r"no images, but 2 sub-folders .*ImageNet train layout"):
        preprocess.run(train, tmp_path / "o2", pre, progress=False)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(BundleError, match=r"gone.jpg: a broken symbolic link"):
        preprocess.run(broken, tmp_path / "o3", pre, progress=False)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / os.fsdecode(b"\xff.jpg")).write_bytes((photos / "coffee.png").read_bytes())
    with pytest.raises(BundleError, match=r"is not valid UTF-8: rename it"):
        preprocess.run(odd, tmp_path / "o4", pre, progress=False)


def test_hidden_files_are_ignored_from_the_start_and_subfolders_noted(photos, tmp_path, capsys):
    val = tmp_path / "val"
    (val / "extra").mkdir(parents=True)
    shutil.copy(photos / "coffee.png", val / "coffee.png")
    shutil.copy(photos / "rocket.jpg", val / ".rocket.jpg")
    pre = preprocess.Preprocess(256, "bilinear", 224, (0.5,) * 3, (0.5,) * 3)
    assert preprocess.run(val, tmp_path / "out", pre, progress=False).written == 1
    assert sorted(p.name for p in (tmp_path / "out").glob("*.bin")) == ["coffee.bin"]
    err = capsys.readouterr().err
    assert "1 hidden file(s) ignored (.rocket.jpg)" in err and "1 sub-folder(s) ignored (extra)" in err


def test_huge_resize_is_refused_by_name_and_16_bit_warned(photos, tmp_path, capsys):
    val = tmp_path / "val"
    val.mkdir()
    shutil.copy(photos / "coffee.png", val / "coffee.png")
    Image.new("RGB", (1, 20000)).save(val / "sliver.png")
    Image.fromarray(np.arange(300 * 400, dtype=np.uint16).reshape(300, 400) * 5).save(val / "deep.png")
    pre = preprocess.Preprocess(256, "bilinear", 224, (0.5,) * 3, (0.5,) * 3)
    with pytest.raises(BundleError, match=r"sliver.png: 1x20000 pixels would resize to 256x5120000 .* limit"):
        preprocess.run(val, tmp_path / "out", pre, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.bin")) == ["coffee.bin", "deep.bin"]
    err = capsys.readouterr().err
    assert err.count("deep.png: a I;16") == 1 and "clips it to 8 bits as the guides' script does" in err
    ref = Image.open(val / "deep.png").convert("RGB")  # the guides' bytes are kept
    ref = preprocess.center_crop(preprocess.resize_short(ref, 256, "bilinear"), 224)
    want = ((np.asarray(ref, np.float32) / 255.0 - np.float32(0.5)) / np.float32(0.5)).transpose(2, 0, 1)
    np.testing.assert_array_equal(np.fromfile(tmp_path / "out" / "deep.bin", np.float32).reshape(3, 224, 224), want)


# ---- steps fail in one line, early -----------------------------------------------------------------------


def test_missing_labels_are_reported_before_any_work(photos, tmp_path):
    val = tmp_path / "val"
    val.mkdir()
    shutil.copy(photos / "coffee.png", val / "coffee.png")
    env = {"MODEL": "efficientnet-lite0", "WORK": tmp_path / "w", "DATASET": val, "LABELS": tmp_path / "nope.txt"}
    proc = run_step("all", env, check=False)
    assert proc.returncode == 2 and "LABELS=" in proc.stderr and "no such label file" in proc.stderr
    assert not (tmp_path / "w" / "prep_dataset").exists() and not list((tmp_path / "w").glob("*.onnx"))


def test_unwritable_work_is_found_before_the_export(tmp_path):
    (tmp_path / "a file").write_text("x")
    proc = run_step("onnx", {"MODEL": "efficientnet-lite0", "WORK": tmp_path / "a file" / "w"}, check=False)
    assert proc.returncode == 2 and "cannot write there" in proc.stderr and "exporting" not in proc.stdout


def test_compare_on_a_malformed_result_and_package_onto_a_link(tmp_path):
    from common import compare, manifest, package
    from common.layout import Layout

    m = manifest.load("sk-resnet50")
    (tmp_path / "onnx-bs16").mkdir()
    (tmp_path / "onnx-bs16" / "result.json").write_text('{"value": 5}')
    assert "| onnx-bs16 |" in compare.table(Layout(tmp_path, m))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "sk-resnet50").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BundleError, match="is a symbolic link"):
        package.build(m, Layout(tmp_path, m), tmp_path / "pkg")


# ---- no value ever runs a command ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["help", "DATASET=`touch {x}`"],
        ["help", 'MODEL=x"; touch {x}; echo "'],
        ["help", "WORK=$(touch {x})"],
        ["clean", "WORK=$$(touch {x})"],
        ["clean", "MODEL=sk-resnet50", "WORK=`touch {x}`"],
        ["help", "VENV=.venv; touch {x}"],
    ],
)
def test_make_never_runs_a_value(args, tmp_path):
    marker = tmp_path / "touched"
    argv = ["make", "-s", *[a.replace("{x}", str(marker)) for a in args]]
    subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert not marker.exists(), argv


def test_lock_is_released_when_the_holder_dies(tmp_path):
    code = f"from common import lock; import os\nwith lock.hold({str(tmp_path / '.lock')!r}, 'x'): os._exit(9)"
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    with lock.hold(tmp_path / ".lock", "y"):
        pass


# ---- issue 18: nothing outside WORK ----------------------------------------------------------------------
# (only what the bundle made is deleted or overwritten; values never become code or flags)

from common import atc, atomic, manifest, package, workdir  # noqa: E402
from common.layout import Layout  # noqa: E402
from tests.test_ascend import convert, fakes, tiny  # noqa: E402, F401 - fixtures of the Ascend stand-ins
from tests.test_docker import fake_engines, run_sh  # noqa: E402, F401

SK = "sk-resnet50"
PRE = preprocess.Preprocess(256, "bilinear", 224, (0.5,) * 3, (0.5,) * 3)


def _one_line(proc: subprocess.CompletedProcess, *want: str) -> None:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    for w in want:
        assert w in proc.stderr, proc.stderr


def _work(tmp_path: Path, name: str = "w") -> Path:
    """A work folder the bundle made (a cheap step on a new folder)."""
    run_step("compare", {"MODEL": SK, "WORK": tmp_path / name})
    assert (tmp_path / name / workdir.MARKER).is_file()
    return tmp_path / name


def _val(photos: Path, folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True)
    for n in names or ("coffee.png",):
        shutil.copy(photos / "coffee.png", folder / n)
    return folder


def test_a_folder_that_holds_files_never_becomes_a_work_folder(tmp_path):
    home = tmp_path / "home"  # WORK=$HOME
    home.mkdir()
    (home / "thesis.tex").write_text("mine")
    _one_line(run_step("compare", {"MODEL": SK, "WORK": home}, check=False), "already holds files", "no .modelzoo-work")
    assert not (home / workdir.MARKER).exists()
    _one_line(run_step("clean", {"MODEL": SK, "WORK": home}, check=False), "not a work folder")
    checkout = tmp_path / "checkout"  # WORK=. in a checkout
    (checkout / ".git").mkdir(parents=True)
    (checkout / "Makefile").write_text("all:\n")
    _one_line(run_step("compare", {"MODEL": SK, "WORK": "."}, cwd=checkout, check=False), "already holds files")
    _one_line(run_step("clean", {"MODEL": SK, "WORK": "."}, cwd=checkout, check=False), "not a work folder")
    assert (home / "thesis.tex").read_text() == "mine" and (checkout / ".git").is_dir()
    assert sorted(p.name for p in checkout.iterdir()) == [".git", "Makefile"]
    empty = tmp_path / "empty"  # a new or empty folder is fine
    empty.mkdir()
    run_step("compare", {"MODEL": SK, "WORK": empty})
    assert workdir.owner(empty) == SK


@pytest.mark.parametrize("name", [".lock", ".modelzoo-work", "sk_resnet50.onnx.md5ok", "package", "compare.md"])
def test_a_link_inside_work_is_never_written_through(name, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir() if name == "package" else victim.write_text("precious")
    work = tmp_path / "w"
    if name == workdir.MARKER:
        work.mkdir()  # a new folder whose marker is a link
    else:
        work = _work(tmp_path)
        atomic.remove(work / name)
    (work / name).symlink_to(victim)
    _one_line(run_step("compare", {"MODEL": SK, "WORK": work}, check=False), f"{work / name} is a symbolic link")
    assert (list(victim.iterdir()) == []) if name == "package" else victim.read_text() == "precious"


def test_linked_prep_dataset_or_outputs_lose_nothing(photos, tmp_path):
    work = _work(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.bin").write_bytes(b"mine")
    (work / "prep_dataset").symlink_to(mine)
    env = {"MODEL": SK, "WORK": work, "DATASET": _val(photos, tmp_path / "val")}
    _one_line(run_step("preprocess", env, check=False), "prep_dataset is a symbolic link")
    (work / "prep_dataset").unlink()
    (work / "onnx-bs16").mkdir()
    (work / "onnx-bs16" / "outputs").symlink_to(mine)
    _one_line(run_step("preprocess", {**env, "BACKEND": "onnx"}, check=False), "outputs is a symbolic link")
    assert [p.name for p in mine.iterdir()] == ["keep.bin"]


def test_clean_of_a_linked_work_is_one_line_and_removes_nothing(tmp_path):
    work = _work(tmp_path)
    (tmp_path / "link").symlink_to(work)
    _one_line(run_step("clean", {"MODEL": SK, "WORK": tmp_path / "link"}, check=False), "is a symbolic link")
    assert (work / workdir.MARKER).is_file()
    with pytest.raises(BundleError, match="is a symbolic link"):
        workdir.rmtree(tmp_path / "link")


@pytest.mark.parametrize("run", ["../other/onnx-bs4", "/abs/onnx-bs4", "..", "a/b", "-x"])
def test_run_outside_work_is_refused_before_anything_is_written(run, tmp_path):
    other = _work(tmp_path, "other")
    (other / "onnx-bs4").mkdir()
    (other / "onnx-bs4" / "keep.txt").write_text("x")
    proc = run_step("compare", {"MODEL": SK, "WORK": tmp_path / "w", "RUN": run}, check=False)
    _one_line(proc, f"RUN={run!r}: ")
    assert not (tmp_path / "w").exists() and (other / "onnx-bs4" / "keep.txt").is_file()


def test_a_new_dataset_is_validated_before_the_old_bins_go(photos, tmp_path):
    val = _val(photos, tmp_path / "data" / "val")
    env = {"MODEL": SK, "WORK": tmp_path / "w", "DATASET": val}
    run_step("preprocess", env)
    proc = run_step("preprocess", {**env, "DATASET": val.parent}, check=False)  # the parent of val/
    _one_line(proc, "no images, but 1 sub-folders")
    assert (tmp_path / "w" / "prep_dataset" / "coffee.bin").is_file()


@pytest.mark.parametrize("how", ["truncated", "device 9"])
def test_om_runner_loads_the_model_in_prepare(how, fakes, tiny, tmp_path):  # noqa: F811
    from common.backends.ais_bench import AisBenchRunner

    m, onnx_path, _, _ = tiny
    om = convert(m, onnx_path, tmp_path / "work", 4, soc="Ascend310P3")
    device = "0"
    if how == "truncated":
        om.write_bytes(om.read_bytes()[: om.stat().st_size // 2])
    else:
        device = "9"  # FAKE_NPU_COUNT: 8
    r = AisBenchRunner(lambda _bs: om, [device], 4, m.input_shape, "TXT", False)
    with pytest.raises(BundleError, match=r"ais_bench InferSession\(" + device):
        r.prepare()  # what infer_step calls before it deletes any output
    r.close()


def test_clean_waits_for_the_lock(tmp_path):
    work = _work(tmp_path)
    with lock.hold(work / ".lock", "make infer MODEL=sk-resnet50"):
        proc = run_step("clean", {"MODEL": SK, "WORK": work}, check=False)
    _one_line(proc, "is in use by `make infer MODEL=sk-resnet50`")
    assert (work / workdir.MARKER).is_file()
    run_step("clean", {"MODEL": SK, "WORK": work})
    assert not work.exists()


def test_sample_dir_of_a_user_is_never_rebuilt(photos, tmp_path):
    mine = tmp_path / "photos"
    _val(photos, mine / "val", "holiday.png")
    proc = run_step("sample", {"SAMPLE_DIR": mine}, check=False)
    _one_line(proc, "not a sample folder the bundle built")
    assert [p.name for p in (mine / "val").iterdir()] == ["holiday.png"]
    run_step("sample", {"SAMPLE_DIR": tmp_path / "new"})  # a new folder is built, and marked
    assert (tmp_path / "new" / workdir.SAMPLE_MARKER).is_file() and (tmp_path / "new" / "val_label.txt").is_file()


@pytest.mark.parametrize(
    ("where", "var"),
    [("command line", v) for v in ("WORK", "MODEL", "DATASET", "IMAGE", "ATC_EXTRA", "PYTHONPATH")]
    + [("environment", v) for v in ("MODEL", "PYTHONPATH")],  # the ones the Makefile reads itself
)
def test_make_never_expands_a_value(var, where, tmp_path):
    pwned = tmp_path / "pwned"
    value = f"x$(shell touch {pwned})"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAKEFLAGS": ""}
    argv = ["make", "-s", "help"]
    if where == "command line":
        argv.append(f"{var}={value}")
    else:
        env[var] = value
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env)
    assert not pwned.exists(), proc.stdout + proc.stderr
    if var != "PYTHONPATH":
        assert f"  {var}={value}   " in proc.stdout  # printed as given


def test_a_recipe_gets_a_value_with_dollars_spaces_and_quotes_as_given(tmp_path):
    work = tmp_path / "a $b $(HOME) \"c\" 'd'"
    proc = subprocess.run(
        ["make", "-s", "clean", f"MODEL={SK}", f"WORK={work}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MAKEFLAGS": ""},
    )
    assert proc.returncode == 0 and f"clean: {work} does not exist" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"IMAGE": "-v=/:/host"}, "IMAGE=-v=/:/host"),
        ({"IMAGE": "--privileged"}, "IMAGE=--privileged"),
        ({"DOCKER_RUN_ARGS": "--network none --privileged"}, "--privileged is refused"),
        ({"DOCKER_RUN_ARGS": "-v /:/host"}, "-v is refused"),
        ({"DOCKER_RUN_ARGS": "--mount=type=bind,src=/,dst=/h"}, "--mount=type=bind,src=/,dst=/h is refused"),
    ],
)
def test_docker_run_values_never_become_engine_flags(env, word, tmp_path, fake_engines):  # noqa: F811
    proc = run_sh(tmp_path, "true", ok=False, PATH=fake_engines, KIND="cpu", **env)
    assert proc.returncode == 2 and word in proc.stderr and proc.stdout == "", proc.stdout + proc.stderr
    made = subprocess.run(
        ["make", "-s", "docker-run", "KIND=cpu", *[f"{k}={v}" for k, v in env.items()]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": fake_engines, "DRY_RUN": "1", "ENGINE": "podman", "MAKEFLAGS": ""},
    )
    assert made.returncode != 0 and "--privileged\n" not in made.stdout and "-v=/:/host\n" not in made.stdout


def test_docker_gpus_and_build_values_stay_values(tmp_path, fake_engines):  # noqa: F811
    argv = run_sh(tmp_path, "true", PATH=fake_engines, KIND="cpu", GPUS="--privileged").stdout.splitlines()
    assert "--gpus=--privileged" in argv and "--privileged" not in argv
    for env, word in (
        ({"IMAGE": "--privileged"}, "IMAGE=--privileged"),
        ({"BASE": "--network=host"}, "BASE=--network=host"),
        ({"DOCKER_ARGS": "--output=type=local,dest=/"}, "--output=type=local,dest=/ is refused"),
    ):
        proc = subprocess.run(
            ["bash", str(ROOT / "docker" / "build.sh")],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"PATH": fake_engines, "DRY_RUN": "1", "ENGINE": "podman", "KIND": "cpu", **env},
        )
        assert proc.returncode == 2 and word in proc.stderr and proc.stdout == "", proc.stdout + proc.stderr


def test_docker_run_never_mounts_the_host_root_home_or_a_users_folder(tmp_path, fake_engines):  # noqa: F811
    home = tmp_path / "home"
    home.mkdir()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    for env, want in (
        ({"WORK": "/"}, "WORK=/: mounting / read-write"),
        ({"WORK": str(home)}, "read-write would give the container"),
        ({"WORK": str(tmp_path)}, "read-write would give the container"),  # a parent of HOME
        ({"WORK": str(mine)}, "is not a folder the bundle made (no .modelzoo-work)"),
        ({"SAMPLE_DIR": str(mine)}, "is not a folder the bundle made (no .modelzoo-sample)"),
        ({"WEIGHTS_DIR": "/"}, "WEIGHTS_DIR=/: mounting / read-write"),
    ):
        proc = run_sh(tmp_path, "true", ok=False, PATH=fake_engines, KIND="cpu", **env)
        assert proc.returncode == 2 and want in proc.stderr and proc.stdout == "", (env, proc.stderr)
    work = _work(tmp_path)  # a work folder the bundle made, and MODEL=all's parent of them
    for ok in (work, tmp_path / "new"):
        assert f"{ok}:/work/{ok.name}" in run_sh(tmp_path, "true", PATH=fake_engines, KIND="cpu", WORK=str(ok)).stdout


@pytest.mark.parametrize(
    "extra", ["--output=/tmp/elsewhere", "-output=/x", "--model=/etc/x.onnx", "--soc_version=Ascend310", "--mode=1"]
)
def test_atc_extra_cannot_set_the_bundles_own_flags(extra):
    m = manifest.load(SK)
    with pytest.raises(BundleError, match=r"^ATC_EXTRA: -+\w+ is set by the bundle itself"):
        atc.extra_flags(m, 16, extra=f"--precision_mode=allow_fp32_to_fp16 {extra}")
    with pytest.raises(BundleError, match=r"^ATC_EXTRA='\"unbalanced': No closing quotation"):
        atc.extra_flags(m, 16, extra='"unbalanced')
    assert atc.extra_flags(m, 16, extra="--output_type=FP16 --precision_mode allow_fp16")[-3:] == [
        "--output_type=FP16",
        "--precision_mode",
        "allow_fp16",
    ]


def test_a_killed_package_leaves_no_hidden_folder_for_long(tmp_path):
    m = manifest.load(SK)
    left = tmp_path / "package" / f".{SK}.k1ll3d_x.tmp"  # what tempfile.mkdtemp named it
    (left / "common").mkdir(parents=True)
    other = tmp_path / "package" / ".notes.tmp"  # not the bundle's
    other.mkdir()
    path, _ = package.build(m, Layout(tmp_path, m))
    assert not left.exists() and other.is_dir() and (path / "test" / "eval_acc_perf.sh").is_file()
    assert sorted(p.name for p in (tmp_path / "package").iterdir()) == [".notes.tmp", SK]


def test_eval_script_refuses_a_bad_backend_before_deleting_the_preprocessing(photos, tmp_path):
    m = manifest.load(SK)
    path, _ = package.build(m, Layout(tmp_path / "w", m))
    val = _val(photos, tmp_path / "datasets" / "imagenet" / "val")
    (val.parent / "val_label.txt").write_text("coffee.png 967\n")
    (path / "prep_dataset").mkdir()
    (path / "prep_dataset" / "keep.bin").write_bytes(b"done")
    proc = subprocess.run(
        [
            "bash",
            str(path / "test" / "eval_acc_perf.sh"),
            f"--datasets_path={tmp_path / 'datasets'}",
            "--backend=bogus",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable, "PYTHONPATH": "", "PROGRESS": "0"},
    )
    assert proc.returncode != 0 and "BACKEND='bogus': expected one of" in proc.stderr, proc.stdout + proc.stderr
    assert (path / "prep_dataset" / "keep.bin").read_bytes() == b"done"


def test_a_newline_in_work_or_an_image_name_is_refused_up_front(photos, tmp_path):
    work = tmp_path / "a\nb"
    _one_line(run_step("compare", {"MODEL": SK, "WORK": work}, check=False), "WORK=", "newline")
    assert not work.exists()
    val = _val(photos, tmp_path / "val", "coffee.png", "two\nlines.png")
    with pytest.raises(BundleError, match=r"'two\\nlines.png' holds a newline"):
        preprocess.run(val, tmp_path / "out", PRE, progress=False)


def test_a_255_byte_image_name_fits_its_temporary_name(photos, tmp_path):
    name = "é" * 100 + "x" * 51 + ".png"  # 255 bytes in UTF-8
    assert len(name.encode()) == 255
    val = _val(photos, tmp_path / "val", name)
    assert preprocess.run(val, tmp_path / "out", PRE, progress=False).written == 1
    assert [p.name for p in (tmp_path / "out").iterdir()] == [name[: -len(".png")] + ".bin"]


def test_a_dataset_that_is_not_a_folder_says_so(tmp_path):
    proc = run_step("preprocess", {"MODEL": SK, "WORK": tmp_path / "w", "DATASET": "/dev/null"}, check=False)
    _one_line(proc, "DATASET=/dev/null is not a folder")


def test_no_write_follows_a_planted_link_at_a_temporary_or_sidecar_name(tmp_path):
    from common.weights import cached_md5

    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "outputs"
    out.mkdir()
    (out / ".a_0.txt.tmp").symlink_to(victim)  # the name outputs.write writes first
    outputs.write(out / "a_0.txt", np.zeros(4, np.float32), "TXT")
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"model")
    (tmp_path / "m.onnx.md5ok").symlink_to(victim)  # the md5 cache beside a model
    assert cached_md5(onnx) == hashlib.md5(b"model").hexdigest()
    assert victim.read_text() == "precious" and not (out / "a_0.txt").is_symlink()


def test_literal_values_keep_the_makefiles_own_path_and_pythonpath(tmp_path):
    """PATH and PYTHONPATH are made literal too, and the Makefile still puts the venv and the bundle first."""
    probe = tmp_path / "probe.mk"
    probe.write_text(f'include {ROOT / "Makefile"}\nprobe:\n\t@echo "$$PATH|$$PYTHONPATH"\n')
    env = {**os.environ, "PYTHONPATH": "/x$(shell echo y)", "MAKEFLAGS": ""}
    proc = subprocess.run(["make", "-s", "-f", str(probe), "probe"], cwd=ROOT, capture_output=True, text=True, env=env)
    path, pythonpath = proc.stdout.strip().split("|")
    venv = os.environ.get("VENV", ".venv")  # the images run with VENV= (no venv: the image's own python)
    assert (
        path.startswith(f"{ROOT}/{venv}/bin:") if venv else path == os.environ["PATH"]
    ) and pythonpath == f"{ROOT}:/x$(shell echo y)", proc.stdout


# ---- issue 18: records, disk, messages, hangs ----


@GROUP
def test_a_state_record_cut_short_is_absent_and_the_step_starts_over(lite, photos, tmp_path):
    env, val, run, steps = lite
    prep = Path(env["WORK"]) / "prep_dataset"
    other = tmp_path / "val2"  # another dataset under the same names, its images older than the .bin files
    other.mkdir()
    for a, b in zip(PHOTOS, PHOTOS[1:] + PHOTOS[:1], strict=True):
        shutil.copy(photos / b, other / a)
        os.utime(other / a, ns=(1, 1))
    before = (prep / "chelsea.bin").read_bytes()
    (prep / ".source.json").write_text((prep / ".source.json").read_text()[:30])  # cut short
    (pre,) = steps("preprocess", DATASET=other)
    assert "unreadable" in pre.stdout and "starting over" in pre.stdout
    assert (prep / "chelsea.bin").read_bytes() != before  # the new dataset's pixels, not the old .bin
    steps("preprocess", "info", "infer")
    want = (run / "outputs" / "coffee_0.txt").read_bytes()
    (run / "outputs" / "coffee_0.txt").write_text(" ".join(["0.5"] * 1000) + "\n")  # another model's output
    (run / "infer.json").write_text((run / "infer.json").read_text()[:25])
    (infer,) = steps("infer")
    assert "unreadable" in infer.stdout and "starting over" in infer.stdout
    assert (run / "outputs" / "coffee_0.txt").read_bytes() == want


@contextlib.contextmanager
def full_disk(folder: Path, size: str = "4m", leave: int = 0):
    """A small tmpfs mounted on ``folder`` (its files copied onto it), filled up to ``leave`` free bytes;
    unmounted (the files copied back) afterwards. Skips where mounting is not permitted."""
    keep = folder.with_name(folder.name + ".keep")
    folder.mkdir(parents=True, exist_ok=True)
    folder.rename(keep)
    folder.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if proc.returncode != 0:
        folder.rmdir()
        keep.rename(folder)
        pytest.skip(f"cannot mount a tmpfs here (not root or no CAP_SYS_ADMIN): {proc.stderr.decode()[-200:]}")
    try:
        shutil.copytree(keep, folder, dirs_exist_ok=True)
        st = os.statvfs(folder)
        with open(folder / ".filler", "wb") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
        yield folder
    finally:
        (folder / ".filler").unlink(missing_ok=True)
        shutil.rmtree(keep)
        shutil.copytree(folder, keep)
        subprocess.run(["umount", "-l", str(folder)], check=True)
        folder.rmdir()
        keep.rename(folder)


def one_line_disk_full(proc: subprocess.CompletedProcess, where: Path) -> None:
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "no space left on" in err.lower() and str(where) in err, err
    left = [p for p in where.rglob("*") if p.name.endswith(".tmp")]
    assert not left, left  # nothing half-written is left behind


@GROUP
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_no_tmp(lite):
    env, val, run, steps = lite
    work = Path(env["WORK"])
    prep = work / "prep_dataset"
    for f in prep.glob("*.bin"):
        f.unlink()
    with full_disk(prep, leave=700_000):  # room for one .bin of 602 KB, not two
        one_line_disk_full(run_step("preprocess", env, check=False), prep)
        assert len(list(prep.glob("*.bin"))) == 1
    steps("preprocess")
    for f in (run / "outputs").iterdir():
        f.unlink()
    with full_disk(run / "outputs", leave=12_000):  # room for one output of 9 KB
        one_line_disk_full(run_step("infer", env, check=False), run / "outputs")
    steps("infer")
    for step in ("postprocess", "perf", "report"):
        with full_disk(run):
            one_line_disk_full(run_step(step, {**env, "PERF_BS": "1", "PERF_SECONDS": "0.05"}, check=False), run)
    with full_disk(work / "package"):
        one_line_disk_full(run_step("package", env, check=False), work / "package")
        assert [p.name for p in (work / "package").iterdir()] == [".filler"]  # no hidden temporary folder


@pytest.mark.parametrize("kind", ["1 GB of NULs", "64 MB", "20 MB of NULs", "²", "long line"])
def test_absurd_label_files_are_one_bounded_line(kind, tmp_path):
    from common import labels

    path = tmp_path / "val_label.txt"
    if kind.endswith("of NULs"):
        with open(path, "wb") as f:
            f.truncate((1 << 30) if kind.startswith("1 GB") else 20 << 20)  # sparse: no disk used
    elif kind == "64 MB":
        path.write_bytes(b"ILSVRC2012_val_00000001.JPEG 65\n" * (2 << 20))
    elif kind == "²":
        path.write_text("a.JPEG 1\nb.JPEG ²\n")
    elif kind == "long line":
        path.write_text("a.JPEG " + "1" * 100_000 + "\n")
    with pytest.raises(BundleError) as e:
        dataset_info.read_labels(path)
    msg = str(e.value)
    assert str(path) in msg and len(msg) < 300 and "\n" not in msg, msg[:500]
    if kind == "²":
        assert "val_label.txt:2: expected '<image name> <label 0-999>'" in msg
    if kind in ("1 GB of NULs", "64 MB"):
        assert "larger than 32 MiB" in msg
        with pytest.raises(BundleError, match="larger than 32 MiB"):
            labels.check(path)


def _with_memory_cap() -> None:
    """In the child: at most 4 GiB of address space, so reading /dev/zero to its end fails fast (MemoryError)
    instead of taking the host's memory (what happened before the fix: 22 GB, then the OOM killer)."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


@GROUP
def test_labels_dev_zero_and_a_superscript_label_through_the_steps(lite, tmp_path):
    env, _, run, _ = lite
    full = {**os.environ, "PYTHONPATH": str(ROOT), "PROGRESS": "0", **{k: str(v) for k, v in env.items()}}
    for argv in (["-m", "common", "postprocess"], ["-m", "common.labels", "check", "/dev/zero"]):
        proc = subprocess.run(
            [sys.executable, *argv],
            env={**full, "LABELS": "/dev/zero"},
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_with_memory_cap,
        )
        assert proc.returncode == 2 and "/dev/zero: larger than 32 MiB" in proc.stderr, proc.stderr[-500:]
        assert len(proc.stderr) < 300
    bad = tmp_path / "sup.txt"
    bad.write_text("chelsea.png 281\ncoffee.png ²\n")
    proc = run_step("postprocess", {**env, "LABELS": bad}, check=False)
    assert proc.returncode == 2 and "sup.txt:2: expected" in proc.stderr and "Traceback" not in proc.stderr
    script = ROOT / "models" / "efficientnet-lite0" / "postprocess.py"  # the travelled script, same reader
    proc = subprocess.run(
        [sys.executable, str(script), str(run / "outputs"), str(bad), str(tmp_path), "r.json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode != 0 and "sup.txt:2: expected" in proc.stderr and "Traceback" not in proc.stderr


@GROUP
def test_a_hanging_device_call_is_stopped_naming_call_device_and_batch(lite):
    """ais_bench hanging on an OM (AISBench/benchmark#232, the stand-in's FAKE_AIS_HANG_EXEC): the
    watchdog (INFER_TIMEOUT) stops the run in one line, keeps the finished outputs, exits non-zero."""
    env, _, _, _ = lite
    fake_dir = ROOT / "tests" / "fakes"
    om_env = {
        **env,
        "BACKEND": "om",
        "PATH": os.pathsep.join([str(fake_dir / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{fake_dir}",
    }
    run_step("om", om_env)
    hang = {**os.environ, "PYTHONPATH": str(ROOT), "PROGRESS": "0", **{k: str(v) for k, v in om_env.items()}}
    hang.update(INFER_TIMEOUT="0.5", FAKE_AIS_HANG_EXEC="2")
    cmd = [sys.executable, "-m", "common", "infer"]
    try:
        proc = subprocess.run(cmd, env=hang, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("make infer waited for the hanging ais_bench call (no watchdog)")
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "ais_bench infer stalled on device 0" in err and "batch 2 of 2 of BS=2: coffee.bin .. rocket.bin" in err
    assert "no answer after 0.5 s (INFER_TIMEOUT)" in err
    out = Path(env["WORK"]) / "om-bs2" / "outputs"
    assert sorted(p.name for p in out.iterdir()) == ["camera_0.txt", "chelsea_0.txt"]  # the finished batch
    run_step("infer", om_env)  # a re-run resumes
    assert sorted(p.name for p in out.iterdir()) == [f"{Path(n).stem}_0.txt" for n in sorted(PHOTOS)]


@GROUP
def test_report_says_what_the_summary_measured_and_a_summary_of_words_is_absent(lite):
    env, _, run, steps = lite
    steps("infer", "report")  # nothing left to infer: the figures are the first run's
    md = (run / "report.md").read_text()
    assert "over 0 samples" not in md and "end to end over 4 samples (measured by an earlier `make infer`" in md
    summary = json.loads((run / "outputs_summary.json").read_text())
    (run / "outputs_summary.json").write_text(json.dumps({**summary, "throughput": "fast"}))
    proc = run_step("report", env, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "samples/s" not in (run / "report.md").read_text().split("## Throughput")[1].split("## Versions")[0]


@GROUP
def test_a_half_truncated_output_is_redone_by_infer(lite):
    env, _, run, steps = lite
    out = run / "outputs" / "coffee_0.txt"
    whole = out.read_bytes()
    out.write_bytes(whole[: len(whole) // 2])  # parses (numbers only), but half of them are gone
    (infer,) = steps("infer")
    assert "1 output(s) redone" in infer.stdout and out.read_bytes() == whole
    for fmt, ext in (("BIN", "bin"), ("NPY", "npy")):
        steps("infer", OUTFMT=fmt)
        f = run / "outputs" / f"coffee_0.{ext}"
        data = f.read_bytes()
        f.write_bytes(data[: len(data) - 8])  # still a whole number of fp16/fp32 values
        steps("infer", OUTFMT=fmt)
        assert f.read_bytes() == data, fmt


@pytest.fixture
def stand_in_atc(monkeypatch, tmp_path):
    """The ATC stand-in on PATH; returns how many times it ran."""
    fake_dir = ROOT / "tests" / "fakes"
    log = tmp_path / "fake_calls.jsonl"
    monkeypatch.setenv(
        "PATH", os.pathsep.join([str(fake_dir / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(fake_dir), str(ROOT)]))
    monkeypatch.setenv("FAKE_ASCEND_LOG", str(log))
    return lambda: (
        sum(json.loads(line)["tool"] == "atc" for line in log.read_text().splitlines()) if log.exists() else 0
    )


def test_om_records_gears_and_a_stamp_that_does_not_parse_rebuilds(stand_in_atc, tmp_path):
    from common import atc, manifest
    from common.layout import Layout
    from tests.test_ascend import tiny_onnx

    m = manifest.load("sk-resnet50")
    layout = Layout(tmp_path / "work", m)
    onnx_path = tiny_onnx(tmp_path / "sk_resnet50.onnx", "image", 224)
    atc.convert(m, layout, onnx_path, 4, soc="Ascend310P3", dynamic_batch=(1, 2, 8))
    atc.convert(m, layout, onnx_path, 4, soc="Ascend310P3", dynamic_batch=(1, 2, 8))
    assert stand_in_atc() == 1
    flags = atc.extra_flags(m, 4, (1, 4, 8))
    assert not atc.up_to_date(layout, onnx_path, "dyn", "Ascend310P3", flags)  # another OM: rebuilt
    atc.convert(m, layout, onnx_path, 4, soc="Ascend310P3", dynamic_batch=(1, 4, 8))
    assert stand_in_atc() == 2 and atc.up_to_date(layout, onnx_path, "dyn", "Ascend310P3", flags)
    layout.om_soc("dyn").write_bytes(b"\xffAscend310P3\n")  # not UTF-8: absent, so the OM is built again
    assert not atc.up_to_date(layout, onnx_path, "dyn", None, flags) and atc.built_for(layout.om_soc("dyn")) == ""
    atc.convert(m, layout, onnx_path, 4, soc="Ascend310P3", dynamic_batch=(1, 4, 8))
    assert stand_in_atc() == 3
    with pytest.raises(BundleError, match=r"""ATC_EXTRA='"unbalanced': No closing quotation \(expected ATC flags"""):
        atc.convert(m, layout, onnx_path, 4, soc="Ascend310P3", extra='"unbalanced')


@pytest.fixture(scope="module")
def travelled_irv2(tmp_path_factory):
    """The inceptionresnetv2 submission folder (``make package``'s), away from the checkout."""
    from common import manifest, package
    from common.layout import Layout

    base = tmp_path_factory.mktemp("travel")
    m = manifest.load("inceptionresnetv2")
    folder, _ = package.build(m, Layout(base / "work", m), base / "away")
    return folder


@pytest.mark.parametrize("version", ["3.7", "3.11"])
def test_travelled_scripts_fail_in_one_line_on_absurd_places(version, travelled_irv2, photos, tmp_path):
    from tests import compat

    exe, why = compat.python_for(version)
    if exe is None:
        pytest.skip(why)
    here = tmp_path / "irv2"
    shutil.copytree(travelled_irv2, here)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PROGRESS"] = "0"
    (tmp_path / "val").mkdir()
    shutil.copy(photos / "coffee.png", tmp_path / "val" / "coffee.png")
    out = tmp_path / "out"
    out.mkdir()
    outputs.write(out / "coffee_0.txt", np.arange(1001, dtype=np.float32), "TXT")
    (tmp_path / "labels.txt").write_text("coffee.png 967\n")
    (tmp_path / "a file").write_text("x")
    (tmp_path / "list.json").write_text("[1, 2]")
    cases = {
        "preprocess": (["preprocess.py", str(tmp_path / "val"), "/dev/null"], "/dev/null: cannot write the .bin"),
        "postprocess": (
            ["postprocess.py", str(out), str(tmp_path / "labels.txt"), str(tmp_path / "a file"), "result.json"],
            "a file: cannot write result.json there",
        ),
        "parse": (["test/parse.py", str(tmp_path / "list.json")], "list.json: a JSON list, not a result.json"),
        "label ²": (
            ["postprocess.py", str(out), str(tmp_path / "sup.txt"), str(tmp_path), "result.json"],
            "sup.txt:1: expected '<image name> <label 0-999>'",
        ),
    }
    (tmp_path / "sup.txt").write_text("coffee.png ²\n")
    for name, (argv, message) in cases.items():
        proc = subprocess.run([exe, *argv], cwd=here, env=env, capture_output=True, text=True, timeout=120)
        err = proc.stderr.strip()
        assert proc.returncode != 0 and "Traceback" not in err and len(err.splitlines()) == 1, (name, err)
        assert message in err, (name, err)


@GROUP
def test_an_info_file_naming_bin_files_that_are_gone_is_one_line(lite):
    env, _, _, _ = lite
    (Path(env["WORK"]) / "prep_dataset" / "rocket.bin").unlink()  # the info file still lists it
    proc = run_step("infer", env, check=False)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "names 1 .bin file(s) that are not there (e.g." in err and "rocket.bin" in err


def test_records_of_the_wrong_shape_are_absent_for_compare_and_package(tmp_path):
    """Records that parse as JSON but not as what they describe (rule 3): left out, never a traceback."""
    from common import compare, manifest, package
    from common.layout import Layout

    m = manifest.load("sk-resnet50")
    run = tmp_path / "onnx-bs16"
    run.mkdir()
    (run / "result.json").write_text(json.dumps({"value": [{"key": "Number of images", "value": None}]}))
    (run / "perf.json").write_text(json.dumps({"rows": [{"bs": "x", "samples_per_s": "fast"}]}))
    (run / "predictions.json").write_text(json.dumps({"a": 5}))
    (run / "run.json").write_text(json.dumps({"versions": ["torch"], "result": [1], "bs": "16"}))
    assert "| onnx-bs16 |" in compare.table(Layout(tmp_path, m))
    folder, _ = package.build(m, Layout(tmp_path, m), tmp_path / "pkg")
    assert (folder / "README.md").is_file()
