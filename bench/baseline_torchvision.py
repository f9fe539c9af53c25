"""The guides' preprocessing as their scripts run it: torchvision's ``Resize`` / ``CenterCrop`` /
``ToTensor`` / ``Normalize`` over PIL, one image after another, then ``np.array(tensor).tofile``.

torchvision itself is not installed here (it would pull a 5 GB CUDA build of torch), so its four
transforms are written out with the torch calls they make on a PIL image (torchvision 0.6-0.15):
``Resize(S)`` is PIL's ``resize`` of the short side to S (long side truncated, none when it already is
S), ``CenterCrop`` PIL's ``crop`` at ``int(round((size - crop) / 2.0))``, ``ToTensor`` a uint8 tensor
of the pixels permuted to CHW and ``.float().div(255)``, ``Normalize`` ``sub_(mean).div_(std)`` with
float32 mean and std. The bytes equal the reference hashes (checked by the benchmark), and the cost is
the guides' own: torch's tensor ops (with its intra-op threads, as in the guides' process) and
the conversions between PIL, torch and numpy. Deliberately independent of ``common.preprocess``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench import baseline_preprocess

RESAMPLE = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}


def _resize(img: Image.Image, size: int, interpolation: str) -> Image.Image:
    w, h = img.size
    if (w <= h and w == size) or (h <= w and h == size):
        return img
    if w < h:
        return img.resize((size, int(size * h / w)), RESAMPLE[interpolation])
    return img.resize((int(size * w / h), size), RESAMPLE[interpolation])


def _center_crop(img: Image.Image, crop: int) -> Image.Image:
    w, h = img.size
    top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
    return img.crop((left, top, left + crop, top + crop))


def _to_tensor(img: Image.Image) -> torch.Tensor:
    t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    t = t.view(img.size[1], img.size[0], len(img.getbands())).permute(2, 0, 1).contiguous()
    return t.float().div(255)


def one(path: Path, resize: int, interpolation: str, crop: int, mean, std, bgr: bool = False) -> np.ndarray:
    img = _center_crop(_resize(Image.open(path).convert("RGB"), resize, interpolation), crop)
    t = _to_tensor(img)
    t.sub_(torch.as_tensor(mean, dtype=torch.float32)[:, None, None])
    t.div_(torch.as_tensor(std, dtype=torch.float32)[:, None, None])
    x = np.array(t).astype(np.float32)
    return np.ascontiguousarray(x[::-1]) if bgr else x


def run(images: list[Path], dst: Path, pre) -> int:
    """The whole loop, image after image, as ``bench.baseline_preprocess.run`` with this module's ``one``."""
    return baseline_preprocess.run(images, dst, pre, one=one)
