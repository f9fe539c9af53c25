"""A folder of ~200 JPEGs made from scikit-image's photos, sized around ImageNet's typical 500x375."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = (
    "chelsea.png",
    "coffee.png",
    "astronaut.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "camera.png",
    "horse.png",
)
LONG_SIDES = [int(v) for v in np.linspace(300, 800, 26)]  # 26 sizes per photo, plus 2 exact-short-side copies
EXACT_SHORT = (256, 342)  # copies whose short side needs no resize for sk-resnet50 / inceptionresnetv2


def skimage_data() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def _variants(img: Image.Image):
    w, h = img.size
    for j, long_side in enumerate(LONG_SIDES):
        s = long_side / max(w, h)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        if j % 4 == 3:  # every fourth copy in portrait orientation
            yield img.resize(size, Image.BICUBIC).transpose(Image.Transpose.ROTATE_90)
        else:
            yield img.resize(size, Image.BICUBIC)
    for short in EXACT_SHORT:
        s = short / min(w, h)
        size = (short, round(h * s)) if w <= h else (round(w * s), short)
        yield img.resize(size, Image.BICUBIC)


def build(folder: Path) -> list[Path]:
    """Write the JPEG copies once (deterministic); return them sorted."""
    folder = Path(folder)
    expected = len(PHOTOS) * (len(LONG_SIDES) + len(EXACT_SHORT))
    done = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if len(done) == expected:
        return done
    folder.mkdir(parents=True, exist_ok=True)
    data = skimage_data()
    for name in PHOTOS:
        with Image.open(data / name) as im:
            img = im.convert("L") if im.mode == "L" else im.convert("RGB")  # keep one grayscale JPEG source
        for j, var in enumerate(_variants(img)):
            path = folder / f"{Path(name).stem}_{j:02d}.jpg"
            tmp = path.with_name(f".{path.name}.tmp")
            var.save(tmp, "JPEG", quality=90)
            os.replace(tmp, path)
    return sorted(folder.glob("*.jpg"))
