"""Preprocessing: bit-identical to the guides (reference hashes), every odd image mode, clear errors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import manifest, preprocess
from common.errors import BundleError

HASHES = json.loads((Path(__file__).parent / "data" / "preprocess_sha256.json").read_text())
MODELS = sorted(HASHES)


@pytest.mark.parametrize("model", MODELS)
def test_bins_match_reference_hashes(model, photos, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in HASHES[model]:
        shutil.copy(photos / name, src / name)
    m = manifest.load(model)
    written = preprocess.run(src, tmp_path / "out", m.preprocess, workers=2, progress=False).written
    assert written == len(HASHES[model])
    for name, digest in HASHES[model].items():
        data = (tmp_path / "out" / f"{Path(name).stem}.bin").read_bytes()
        assert len(data) == 3 * m.preprocess.crop**2 * 4
        assert hashlib.sha256(data).hexdigest() == digest, f"{model} {name}"


def test_bgr_is_rgb_reversed(photos):
    pre = manifest.load("efficientnet-b3").preprocess
    rgb = preprocess.transform(photos / "coffee.png", pre.__class__(**{**pre.__dict__, "channel_order": "RGB"}))
    bgr = preprocess.transform(photos / "coffee.png", pre)
    np.testing.assert_array_equal(bgr, rgb[::-1])


def _odd_images(photos: Path, folder: Path) -> dict[str, Image.Image]:
    base = Image.open(photos / "chelsea.png").convert("RGB")
    folder.mkdir(parents=True, exist_ok=True)
    base.convert("L").save(folder / "gray.JPEG", "JPEG")
    base.convert("CMYK").save(folder / "cmyk.JPEG", "JPEG")
    base.convert("P", palette=Image.ADAPTIVE).save(folder / "palette.png")
    rgba = base.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(folder / "alpha.png")
    base.save(folder / "png_named.JPEG", "PNG")  # PNG bytes behind a .JPEG name, as in ImageNet
    Image.fromarray(np.arange(400 * 300, dtype=np.uint16).reshape(300, 400) * 3).save(folder / "deep16.png")
    base.convert("LA").save(folder / "gray_alpha.png")
    return {p.stem: Image.open(p) for p in folder.iterdir()}


def test_odd_modes_work_and_match_plain_pil(photos, tmp_path):
    pre = manifest.load("sk-resnet50").preprocess
    src = tmp_path / "odd"
    _odd_images(photos, src)
    preprocess.run(src, tmp_path / "out", pre, workers=2, progress=False)
    for img in src.iterdir():
        got = np.fromfile(tmp_path / "out" / f"{img.stem}.bin", dtype=np.float32).reshape(3, 224, 224)
        # the guide: Image.open(path).convert('RGB') whatever the mode
        rgb = Image.open(img).convert("RGB")
        rgb = preprocess.center_crop(preprocess.resize_short(rgb, 256, "bilinear"), 224)
        ref = ((np.asarray(rgb, np.float32) / 255.0 - np.float32(pre.mean)) / np.float32(pre.std)).transpose(2, 0, 1)
        np.testing.assert_array_equal(got, ref, err_msg=img.name)


def test_png_named_jpeg_is_decoded_by_content(photos, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(photos / "chelsea.png", src / "ILSVRC2012_val_00000001.JPEG")
    m = manifest.load("inceptionresnetv2")
    preprocess.run(src, tmp_path / "out", m.preprocess, progress=False)
    digest = hashlib.sha256((tmp_path / "out" / "ILSVRC2012_val_00000001.bin").read_bytes()).hexdigest()
    assert digest == HASHES["inceptionresnetv2"]["chelsea.png"]


def test_corrupt_image_is_named_and_nothing_partial_left(photos, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(10):
        shutil.copy(photos / "rocket.jpg", src / f"ok{i}.jpg")
    data = (photos / "rocket.jpg").read_bytes()
    (src / "truncated.JPEG").write_bytes(data[: len(data) // 3])
    (src / "garbage.JPEG").write_bytes(b"this is not an image")
    pre = manifest.load("moco-v2").preprocess
    with pytest.raises(BundleError) as err:
        preprocess.run(src, tmp_path / "out", pre, workers=2, progress=False)
    msg = str(err.value)
    assert "garbage.JPEG" in msg or "truncated.JPEG" in msg
    assert "and 1 more" in msg
    out = sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert out == [f"ok{i}.bin" for i in range(10)]  # the good ones are done, the bad ones absent
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_rerun_skips_finished_and_redoes_truncated(photos, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("chelsea.png", "coffee.png", "camera.png"):
        shutil.copy(photos / name, src / name)
    pre = manifest.load("sk-resnet50").preprocess
    assert preprocess.run(src, tmp_path / "out", pre, progress=False).written == 3
    assert preprocess.run(src, tmp_path / "out", pre, progress=False).written == 0
    (tmp_path / "out" / "coffee.bin").write_bytes(b"\0" * 100)  # an interrupted write from an old tool
    assert preprocess.run(src, tmp_path / "out", pre, progress=False).written == 1


def test_parallel_equals_serial(photos, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i, name in enumerate(["chelsea.png", "coffee.png", "rocket.jpg", "horse.png"] * 3):
        shutil.copy(photos / name, src / f"{i}_{name}")
    pre = manifest.load("efficientnet-b3").preprocess
    preprocess.run(src, tmp_path / "a", pre, workers=1, progress=False)
    preprocess.run(src, tmp_path / "b", pre, workers=2, progress=False)
    for f in (tmp_path / "a").glob("*.bin"):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()


def test_clear_errors_for_bad_folders(tmp_path):
    pre = manifest.load("sk-resnet50").preprocess
    with pytest.raises(BundleError, match="no such folder"):
        preprocess.run(tmp_path / "nope", tmp_path / "out", pre, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="no images"):
        preprocess.run(tmp_path / "empty", tmp_path / "out", pre, progress=False)
    (tmp_path / "dup").mkdir()
    Image.new("RGB", (300, 300)).save(tmp_path / "dup" / "a.jpg")
    Image.new("RGB", (300, 300)).save(tmp_path / "dup" / "a.png")
    with pytest.raises(BundleError, match="would both write a.bin"):
        preprocess.run(tmp_path / "dup", tmp_path / "out", pre, progress=False)
