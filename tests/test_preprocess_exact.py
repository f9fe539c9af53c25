"""The fast preprocessing gives the guides' bytes: the separable, row-restricted resize + crop against
Pillow's one-call resize + crop over many image sizes with random-noise content (the worst case for
rounding: any tap moved or any row left out shows), the float32 tables against numpy's arithmetic, whole
images in every mode against the guides' formula, and the reference hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import manifest, preprocess

HASHES = json.loads((Path(__file__).parent / "data" / "preprocess_sha256.json").read_text())
GUIDES = ("inceptionresnetv2", "efficientnet-b3", "moco-v2", "sk-resnet50")
# (resize, crop, interpolation) of the four guide models
SETTINGS = sorted({(p.resize, p.crop, p.interpolation) for p in (manifest.load(m).preprocess for m in GUIDES)})


def _sizes(rng: np.random.Generator) -> list[tuple[int, int]]:
    sizes = set()
    for short in rng.choice(np.arange(60, 701), 70, replace=False):  # up- and downscales, both orientations
        long_ = int(rng.integers(short, 2 * short + 1))
        sizes |= {(int(short), long_), (long_, int(short))}
    for s in (256, 342):  # around the resize targets: no resize, one pixel either side, square
        for short in range(s - 3, s + 4):
            for long_ in (short, short + 1, int(short * 4 / 3), int(short * 1.5) + 1):
                sizes |= {(short, long_), (long_, short)}
    sizes |= {(500, 375), (375, 500), (500, 333), (333, 500), (500, 500), (500, 400), (500, 356), (1600, 1200)}
    return sorted(sizes)


def _reference(img: Image.Image, size: int, crop: int, interpolation: str) -> bytes:
    return preprocess.center_crop(preprocess.resize_short(img, size, interpolation), crop).tobytes()


def test_resize_crop_is_the_one_call_resize_on_noise_for_every_size():
    rng = np.random.default_rng(7)
    sizes = _sizes(rng)
    assert len(sizes) > 240
    bad, cases, restricted = [], 0, 0
    for w, h in sizes:
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for size, crop, interp in SETTINGS:
            cases += 1
            ow, oh = preprocess._resized(w, h, size)
            if (ow, oh) != (w, h) and preprocess._rows(h, oh, preprocess._offset(oh, crop), crop, interp) != (0, h):
                restricted += 1
            if preprocess.resize_crop(img, size, crop, interp).tobytes() != _reference(img, size, crop, interp):
                bad.append((w, h, size, crop, interp))
    assert not bad, f"{len(bad)} of {cases} differ, e.g. {bad[:5]}"
    assert restricted > cases // 2  # the row-restricted path is what most of them took


@pytest.mark.parametrize("interp", ["nearest", "bilinear", "bicubic"])
def test_resize_crop_fallbacks_and_small_images(interp):
    rng = np.random.default_rng(3)
    for w, h in ((256, 300), (300, 256), (230, 230), (100, 70), (257, 256), (40, 90)):
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        got = preprocess.resize_crop(img, 256, 224, interp).tobytes()
        assert got == _reference(img, 256, 224, interp), (w, h)


def test_tables_are_numpys_float32_arithmetic():
    x = np.arange(256, dtype=np.float32) / 255.0
    for m in (*GUIDES, "efficientnet-lite0"):
        pre = manifest.load(m).preprocess
        want = (x[None, :] - np.asarray(pre.mean, np.float32)[:, None]) / np.asarray(pre.std, np.float32)[:, None]
        got = np.asarray(preprocess.tables(pre.mean, pre.std), dtype=np.float32)
        assert got.tobytes() == want.astype(np.float32).tobytes(), m


def _guide(path: Path, pre) -> bytes:
    """The guides' script: PIL convert + resize + crop, then numpy float32 arithmetic, CHW, BGR last."""
    img = preprocess.center_crop(
        preprocess.resize_short(Image.open(path).convert("RGB"), pre.resize, pre.interpolation), pre.crop
    )
    x = np.array(img, dtype=np.float32) / 255
    x = ((x - np.array(pre.mean, dtype=np.float32)) / np.array(pre.std, dtype=np.float32)).transpose(2, 0, 1)
    if pre.channel_order == "BGR":
        x = x[::-1]
    return np.ascontiguousarray(x, dtype=np.float32).tobytes()


def test_whole_images_in_every_mode_match_the_guides_formula(tmp_path):
    rng = np.random.default_rng(5)
    noise = Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8))
    files = {
        "rgb.jpg": noise,
        "gray.jpg": noise.convert("L"),
        "cmyk.jpg": noise.convert("CMYK"),
        "rgba.png": noise.convert("RGBA"),
        "palette.png": noise.convert("P", palette=Image.ADAPTIVE),
        "deep16.png": Image.fromarray((rng.integers(0, 65536, (333, 500))).astype(np.uint16)),
        "portrait.png": noise.transpose(Image.Transpose.ROTATE_90),
    }
    for name, img in files.items():
        img.save(tmp_path / name)
    for m in GUIDES:
        pre = manifest.load(m).preprocess
        for name in files:
            data, _ = preprocess.planes(tmp_path / name, pre)
            assert b"".join(data) == _guide(tmp_path / name, pre), (m, name)


@pytest.mark.parametrize("model", sorted(HASHES))
def test_reference_hashes(model, photos):
    pre = manifest.load(model).preprocess
    for name, digest in HASHES[model].items():
        data, note = preprocess.planes(photos / name, pre)
        assert note is None and hashlib.sha256(b"".join(data)).hexdigest() == digest, f"{model} {name}"


def test_transform_is_the_planes_as_a_writable_array(photos):
    pre = manifest.load("efficientnet-b3").preprocess
    x = preprocess.transform(photos / "coffee.png", pre)
    assert x.shape == (3, 300, 300) and x.dtype == np.float32 and x.flags.writeable
    assert x.tobytes() == b"".join(preprocess.planes(photos / "coffee.png", pre)[0])
