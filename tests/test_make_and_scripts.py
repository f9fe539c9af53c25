"""The Makefile's help, the guides' command lines per model, and a model folder that travels."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from common import manifest
from tests.conftest import ROOT

ENV = {**os.environ, "PROGRESS": "0", "VERIFY": "0"}
ENV.pop("PYTHONPATH", None)  # the scripts must find common/ by themselves


def test_help_documents_every_target_and_variable():
    text = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    targets |= set(re.search(r"^STEPS := (.*)$", makefile, re.M)[1].split())
    for t in sorted(targets):
        assert re.search(rf"^  {re.escape(t)}\s", text, re.M), f"make help does not list {t}"
    for var in re.findall(r"^([A-Z_]+)\s*\?=", makefile, re.M):
        assert f"{var}=" in text, f"make help does not document {var}"


def test_every_model_folder_has_the_guide_scripts():
    for name in manifest.names():
        folder = ROOT / "models" / name
        scripts = ["model.py", "pth2onnx.py", "preprocess.py", "gen_dataset_info.py", "postprocess.py", "env.sh"]
        scripts += ["README.md"] if manifest.load(name).role == "guide" else []
        for script in scripts + list(manifest.load(name).aliases):
            assert (folder / script).is_file(), f"{folder}/{script}"


# the travelled folder (make package) and the guides' pth2onnx forms: tests/test_travelled.py


def test_sk_resnet50_preprocess_flag_form(photos, tmp_path):
    (tmp_path / "imagenet" / "val").mkdir(parents=True)
    (tmp_path / "imagenet" / "val" / "horse.png").write_bytes((photos / "horse.png").read_bytes())
    script = ROOT / "models" / "sk-resnet50" / "preprocess.py"
    subprocess.run(
        [sys.executable, str(script), "-s", "imagenet/val", "-d", "prep_data"],
        cwd=tmp_path,
        env=ENV,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "prep_data" / "horse.bin").stat().st_size == 3 * 224 * 224 * 4


def test_guide_preprocess_with_model_name_first(photos, tmp_path):
    """The InceptionResNetV2 guide passes a model name the original 2-argument script did not take."""
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "coffee.png").write_bytes((photos / "coffee.png").read_bytes())
    script = ROOT / "models" / "inceptionresnetv2" / "preprocess.py"
    subprocess.run(
        [sys.executable, str(script), "inceptionresnetv2", "val", "prep_dataset"],
        cwd=tmp_path,
        env=ENV,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "prep_dataset" / "coffee.bin").stat().st_size == 3 * 299 * 299 * 4


def test_models_lists_every_manifest_with_counted_gmac():
    proc = subprocess.run(
        [sys.executable, "-m", "common", "models"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    for name in manifest.names():
        m = manifest.load(name)
        assert re.search(rf"\| {re.escape(name)}.* \| {m.classes} \| {m.parameters:,} \|", proc.stdout), name
    assert "80.17 / 95.234" in proc.stdout


@pytest.mark.parametrize(
    ("name", "argv", "out", "bs"),
    [
        (
            "efficientnet-b3",
            ["EN-B3_dds_8gpu.pyth", "EN-B3_dds_8gpu.yaml", "efficientnetB3.onnx"],
            "efficientnetB3.onnx",
            1,
        ),
        ("efficientnet-b3", ["EN-B3_dds_8gpu.pyth", "efficientnetB3.onnx"], "efficientnetB3.onnx", 1),
        ("moco-v2", ["16", "model_lincls_best.pth.tar"], "moco-v2-bs16.onnx", 16),
        ("sk-resnet50", ["--pth", "sk_resnet50.pth.tar"], "sk_resnet50.onnx", 1),
        ("inceptionresnetv2", ["inceptionresnetv2-520b38e4.pth", "irv2.onnx"], "irv2.onnx", 1),
    ],
)
def test_pth2onnx_command_line_forms(name, argv, out, bs, monkeypatch, tmp_path):
    """Each guide's pth2onnx form maps to the right checkpoint, output file and batch size."""
    from common import checkpoint, export, guide, weights

    monkeypatch.chdir(tmp_path)
    (tmp_path / argv[1 if name == "moco-v2" else (1 if argv[0] == "--pth" else 0)]).write_bytes(b"x")
    seen = {}
    monkeypatch.setattr(weights, "ensure", lambda spec, wdir, given, verify, progress: given)
    monkeypatch.setattr(checkpoint, "load_model", lambda m, path, **kw: seen.setdefault("ckpt", path.name))

    def fake_convert(model, m, path, batch, images, *args, **kw):
        seen.update(out=path.name, bs=batch)
        return export.Parity(path.name, sorted(images), batch, 0.0, 1.0, 7, 7, True, "", 11, ["cpu"])

    monkeypatch.setattr(export, "convert", fake_convert)
    guide.SCRIPTS["pth2onnx"](manifest.load(name), argv)
    assert seen == {
        "ckpt": argv[1] if name == "moco-v2" else argv[1 if argv[0] == "--pth" else 0],
        "out": out,
        "bs": bs,
    }


def test_make_steps_with_spaces_in_paths(photos, tmp_path):
    """DATASET and WORK with spaces go through make and the steps untouched (no shell word-splitting)."""
    val = tmp_path / "my photos" / "val"
    val.mkdir(parents=True)
    (val / "coffee.png").write_bytes((photos / "coffee.png").read_bytes())
    work = tmp_path / "work dir"
    proc = subprocess.run(
        ["make", "-s", "MODEL=sk-resnet50", f"DATASET={val}", f"WORK={work}", "PROGRESS=0", "preprocess", "info"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert (work / "prep_dataset" / "coffee.bin").stat().st_size == 3 * 224 * 224 * 4
    assert (work / "sk_resnet50.info").read_text() == f"0 {work}/prep_dataset/coffee.bin 224 224\n"
