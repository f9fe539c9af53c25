"""The guides' preprocessing, bit for bit: resize the short side, center-crop, normalise, write .bin.

What the guides' scripts compute: ``Image.open(p).convert('RGB')``; short side to S
(long side ``int(S * long / short)``, no resize when the short side already is S) with the named
PIL filter; crop offsets ``int(round((size - crop) / 2.0))``; ``/255``, ``(x - mean) / std`` in
float32; CHW; BGR models reverse the channel axis last. One raw float32 file per image.
"""

from __future__ import annotations

import os
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image

from common import atomic
from common.errors import BundleError
from common.images import list_images
from common.manifest import Preprocess
from common.progress import bar

FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}


def resize_short(img: Image.Image, size: int, interpolation: str) -> Image.Image:
    w, h = img.size
    if (w <= h and w == size) or (h <= w and h == size):
        return img
    if w < h:
        ow, oh = size, int(size * h / w)
    else:
        oh, ow = size, int(size * w / h)
    return img.resize((ow, oh), FILTERS[interpolation])


def center_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


@lru_cache(maxsize=8)
def _table(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 256) float32: every uint8 value put through the guide's ``(x / 255 - mean) / std``.

    The guide's arithmetic is element-wise in float32, so looking the value up is bit-identical to
    computing it, and it skips three full-image passes, the float conversion and the CHW copy."""
    x = np.arange(256, dtype=np.float32)[None, :] / 255.0
    return (x - np.asarray(mean, dtype=np.float32)[:, None]) / np.asarray(std, dtype=np.float32)[:, None]


def transform(path: Path, pre: Preprocess) -> np.ndarray:
    """One image file to the model input: float32, CHW, contiguous."""
    with Image.open(path) as im:
        img = im.convert("RGB")
    pixels = np.asarray(center_crop(resize_short(img, pre.resize, pre.interpolation), pre.crop))
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))  # uint8 CHW: contiguous look-ups below
    table = _table(pre.mean, pre.std)
    out = np.empty(planes.shape, dtype=np.float32)
    bgr = pre.channel_order == "BGR"
    for c in range(3):
        np.take(table[c], planes[c], out=out[2 - c if bgr else c])
    return out


def bin_size(pre: Preprocess) -> int:
    return 3 * pre.crop * pre.crop * 4


def _write_one(job: tuple[Path, Path, Preprocess]) -> str | None:
    """Worker: transform and write one .bin atomically; return an error line or None."""
    src, dst, pre = job
    try:
        data = transform(src, pre)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the image's fault
        return f"{src}: cannot read this image ({type(exc).__name__}: {exc})"
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    data.tofile(tmp)
    os.replace(tmp, dst)
    return None


def run(src_dir: Path, dst_dir: Path, pre: Preprocess, workers: int | None = None, progress: bool = True) -> int:
    """Preprocess every image of ``src_dir`` into ``dst_dir``; skip images already done.

    Returns the number of images written. Corrupt images are reported together, one per line,
    after the readable ones are written; nothing partial is left under a ``.bin`` name.
    """
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    images = list_images(src_dir)
    dst_dir.mkdir(parents=True, exist_ok=True)
    for stale in dst_dir.glob(".*.tmp"):
        atomic.remove(stale)
    size = bin_size(pre)
    todo = []
    for img in images:
        dst = dst_dir / f"{img.stem}.bin"
        if not (dst.is_file() and dst.stat().st_size == size):
            todo.append((img, dst, pre))
    workers = workers or len(os.sched_getaffinity(0))
    errors: list[str] = []
    with bar(total=len(images), initial=len(images) - len(todo), desc="preprocess", unit="img", enable=progress) as pb:
        if workers <= 1 or len(todo) < 8:
            results = map(_write_one, todo)
            for err in results:
                errors += [err] if err else []
                pb.update()
        else:
            with get_context("fork").Pool(workers) as pool:
                for err in pool.imap_unordered(_write_one, todo, chunksize=16):
                    errors += [err] if err else []
                    pb.update()
    if errors:
        more = f" (and {len(errors) - 1} more, listed above)" if len(errors) > 1 else ""
        for line in errors[1:]:
            print(line)
        raise BundleError(errors[0] + more)
    return len(todo)
