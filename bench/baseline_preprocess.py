"""The guides' preprocessing (their imagenet_torch_preprocess.py) written plainly, one image after another.

Deliberately independent of ``common.preprocess``: it is the yardstick the bundle is timed and
byte-compared against.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

RESAMPLE = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}


def one(path: Path, resize: int, interpolation: str, crop: int, mean, std, bgr: bool = False) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long_ = min(w, h), max(w, h)
    if short != resize:
        new_long = int(resize * long_ / short)
        img = img.resize((resize, new_long) if w < h else (new_long, resize), RESAMPLE[interpolation])
    w, h = img.size
    top = int(round((h - crop) / 2.0))
    left = int(round((w - crop) / 2.0))
    img = img.crop((left, top, left + crop, top + crop))
    x = np.array(img, dtype=np.float32) / 255
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    x = x.transpose(2, 0, 1)
    if bgr:
        x = x[::-1]
    return np.ascontiguousarray(x, dtype=np.float32)


def run(images: list[Path], dst: Path, pre, one=one) -> int:
    """``pre`` is a ``common.manifest.Preprocess`` (only its plain fields are read); ``one``: the
    per-image function (this module's, or ``bench.baseline_torchvision.one``)."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in images:
        x = one(path, pre.resize, pre.interpolation, pre.crop, pre.mean, pre.std, pre.channel_order == "BGR")
        x.tofile(dst / f"{path.stem}.bin")
    return len(images)


if __name__ == "__main__":  # python -m bench.baseline_preprocess <model> <src_dir> <dst_dir>: a whole run
    import sys

    from common import manifest
    from common.images import list_images

    model, src, dst = sys.argv[1:4]
    run(list_images(Path(src)), Path(dst), manifest.load(model).preprocess)
