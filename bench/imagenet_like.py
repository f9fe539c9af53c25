"""A synthetic ImageNet validation folder: ``ILSVRC2012_val_00000001.JPEG`` … of ImageNet's typical sizes
(500x375, 375x500, 500x333, …), cut from scikit-image's photos with a little noise, JPEG quality 90, for
the scale figures of the streaming run (the real ``val_label.txt`` from ``make labels`` fits the names).

``python -m bench.imagenet_like <folder> <count>`` writes the missing ones (deterministic; resumable).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from bench.images import PHOTOS, skimage_data

SIZES = ((500, 375), (375, 500), (500, 333), (500, 400), (333, 500), (500, 500), (640, 480), (400, 300))


def name(i: int) -> str:
    """The validation set's file name of image ``i`` (1-based)."""
    return f"ILSVRC2012_val_{i:08d}.JPEG"


def build(folder: Path, count: int, progress: bool = True) -> Path:
    """Write images 1..count into ``folder`` (those already there are kept); returns the folder."""
    from common.progress import bar

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = skimage_data()
    sources = []
    for photo in PHOTOS:
        with Image.open(data / photo) as im:
            sources.append(np.asarray(im.convert("RGB").resize((700, 700), Image.BICUBIC)))
    have = {e.name for e in os.scandir(folder)}
    with bar(total=count, desc="images", unit="img", enable=progress) as pb:
        for i in range(1, count + 1):
            target = folder / name(i)
            if target.name not in have:
                rng = np.random.default_rng(i)
                w, h = SIZES[i % len(SIZES)]
                src = sources[i % len(sources)]
                y, x = rng.integers(0, 700 - h + 1), rng.integers(0, 700 - w + 1)
                crop = src[y : y + h, x : x + w].astype(np.int16) + rng.integers(-8, 9, (h, w, 3), dtype=np.int16)
                tmp = folder / f".{target.name}.tmp"
                Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8)).save(tmp, "JPEG", quality=90)
                os.replace(tmp, target)
            pb.update()
    return folder


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        print("usage: python -m bench.imagenet_like <folder> <count>", file=sys.stderr)
        sys.exit(2)
    build(Path(sys.argv[1]), int(sys.argv[2]))
