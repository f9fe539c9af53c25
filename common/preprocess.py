"""The guides' preprocessing, bit for bit: resize the short side, center-crop, normalise, write .bin.

What the guides' scripts compute: ``Image.open(p).convert('RGB')``; short side to S
(long side ``int(S * long / short)``, no resize when the short side already is S) with the named
PIL filter; crop offsets ``int(round((size - crop) / 2.0))``; ``/255``, ``(x - mean) / std`` in
float32; CHW; BGR models reverse the channel axis last. One raw float32 file per image.
"""

from __future__ import annotations

import os
import sys
import time
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


# a resize bigger than this many pixels is refused by name (1x20000 would resize to 342x6840000 = 7 GB)
MAX_PIXELS = 100_000_000
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # more than 8 bits per pixel


def _resized(w: int, h: int, size: int) -> tuple[int, int]:
    if (w <= h and w == size) or (h <= w and h == size):
        return w, h
    return (size, int(size * h / w)) if w < h else (int(size * w / h), size)


def check(im: Image.Image, path: Path, pre: Preprocess) -> str | None:
    """Refuse an image whose resize would exhaust memory; a warning for a >8-bit one (clipped by
    ``convert('RGB')``, as in the guides, so its input is mostly white)."""
    w, h = im.size
    ow, oh = _resized(w, h, pre.resize)
    if max(w * h, ow * oh) > MAX_PIXELS:
        raise BundleError(
            f"{path}: {w}x{h} pixels would resize to {ow}x{oh} ({ow * oh / 1e6:.0f} M pixels, over the "
            f"{MAX_PIXELS // 1_000_000} M pixel limit): not a photo this pipeline can take; remove it"
        )
    if im.mode in WIDE_MODES:
        return (
            f"{path}: a {im.mode} (more than 8 bits per pixel) image: convert('RGB') clips it to 8 bits as the "
            "guides' script does, so its input is mostly white"
        )
    return None


def transform(path: Path, pre: Preprocess, checked: bool = False) -> np.ndarray:
    """One image file to the model input: float32, CHW, contiguous."""
    with Image.open(path) as im:
        if not checked:
            check(im, path, pre)
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


def fingerprint(path: Path) -> list[int]:
    """What identifies a source image's content cheaply: size and modification time (ns)."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def _write_one(job: tuple[Path, Path, Preprocess]) -> tuple[str, str, str | None]:
    """Worker: transform and write one .bin atomically; (image name, "ok" | "error", message)."""
    src, dst, pre = job
    try:
        with Image.open(src) as im:
            note = check(im, src, pre)
        data = transform(src, pre, checked=True)
    except BundleError as exc:
        return src.name, "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the image's fault
        return src.name, "error", f"{src}: cannot read this image ({type(exc).__name__}: {exc})"
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    data.tofile(tmp)
    os.replace(tmp, dst)
    return src.name, "ok", note


class Outcome:
    """What a preprocessing run did: new, redone (source changed) and removed images."""

    def __init__(self, new: int = 0, redone: int = 0, removed: int = 0, kept: int = 0) -> None:
        self.new, self.redone, self.removed, self.kept = new, redone, removed, kept

    @property
    def written(self) -> int:
        return self.new + self.redone

    def __str__(self) -> str:
        return (
            f"{self.new} new, {self.redone} redone (source changed), {self.removed} removed "
            f"(source gone), {self.kept} unchanged"
        )


def run(
    src_dir: Path,
    dst_dir: Path,
    pre: Preprocess,
    workers: int | None = None,
    progress: bool = True,
    record: Path | None = None,
    shard=None,
    bs: int = 1,
) -> Outcome:
    """Preprocess every image of ``src_dir`` into ``dst_dir``, resuming and following the dataset.

    ``record`` (JSON) keeps each source image's fingerprint (size, mtime): an image replaced in place
    is redone, the .bin of an image that is gone is deleted. ``shard`` (``common.shard.Shard``) limits
    the work to that slice of the images (cut on batches of ``bs``). Without a record entry a .bin counts as
    done when it is newer than its image. Corrupt images are reported together, one per line, after
    the readable ones are written; nothing partial is left under a ``.bin`` name.
    """
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    every = list_images(src_dir)
    images = shard.slice(every, bs) if shard else every
    dst_dir.mkdir(parents=True, exist_ok=True)
    for stale in dst_dir.glob(".*.tmp"):
        atomic.remove(stale)
    old = _read_record(record)
    size = bin_size(pre)
    done: dict[str, list[int]] = {}
    todo, outcome = [], Outcome()
    wanted = {f"{img.stem}.bin" for img in every}  # other shards' .bin files stay
    for f in os.scandir(dst_dir):
        if f.name.endswith(".bin") and f.name not in wanted:
            atomic.remove(f.path)
            outcome.removed += 1
    for img in images:
        dst = dst_dir / f"{img.stem}.bin"
        fp = fingerprint(img)
        if dst.is_file() and dst.stat().st_size == size:
            if old.get(img.name) == fp or (img.name not in old and dst.stat().st_mtime_ns >= fp[1]):
                done[img.name] = fp
                continue
            outcome.redone += 1
        else:
            outcome.new += 1
        todo.append((img, dst, pre))
    outcome.kept = len(done)
    workers = workers or len(os.sched_getaffinity(0))
    errors: list[str] = []
    fps = {img.name: fingerprint(img) for img, _, _ in todo}
    last = time.monotonic()
    with bar(total=len(images), initial=len(done), desc="preprocess", unit="img", enable=progress) as pb:
        if workers <= 1 or len(todo) < 8:
            results = map(_write_one, todo)
            pool = None
        else:
            pool = get_context("fork").Pool(workers)
            results = pool.imap_unordered(_write_one, todo, chunksize=16)
        try:
            for name, status, message in results:
                if status == "ok":
                    done[name] = fps[name]
                    if message:
                        print(f"warning: {message}", file=sys.stderr, flush=True)
                else:
                    errors.append(message)
                pb.update()
                if record is not None and time.monotonic() - last > 5:  # a kill loses at most 5 s of work
                    _write_record(record, done)
                    last = time.monotonic()
        finally:
            if pool is not None:
                pool.terminate()
            if record is not None:
                _write_record(record, done)
    if errors:
        more = f" (and {len(errors) - 1} more, listed above)" if len(errors) > 1 else ""
        for line in errors[1:]:
            print(line)
        raise BundleError(errors[0] + more)
    return outcome


def _read_record(record: Path | None) -> dict:
    import json

    if record is None:
        return {}
    try:
        data = json.loads(Path(record).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    images = data.get("images") if isinstance(data, dict) else None
    return images if isinstance(images, dict) else {}


def _write_record(record: Path, images: dict) -> None:
    import json

    data = {}
    try:
        data = json.loads(Path(record).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    data = data if isinstance(data, dict) else {}
    data["images"] = dict(sorted(images.items()))
    atomic.write_text(record, json.dumps(data))
