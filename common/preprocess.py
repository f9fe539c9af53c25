"""The guides' preprocessing, bit for bit: resize the short side, center-crop, normalise, write .bin.

What the guides' scripts compute: ``Image.open(p).convert('RGB')``; short side to S
(long side ``int(S * long / short)``, no resize when the short side already is S) with the named
PIL filter; crop offsets ``int(round((size - crop) / 2.0))``; ``/255``, ``(x - mean) / std`` in
float32; CHW; BGR models reverse the channel axis last. One raw float32 file per image.

How it is computed here, with the same bytes (tests/test_preprocess_exact.py checks thousands of sizes
with noise content, and the reference hashes):

- each image is opened once; ``convert('RGB')`` is skipped when it already is RGB (it would be a copy);
- the resize is done the way Pillow does it inside one ``resize`` call, horizontal pass then vertical
  pass, but the horizontal pass only covers the input rows that the kept (cropped) output rows read and
  its output is cropped to the kept columns before the vertical pass (``resize_crop``). Without a
  ``box`` argument Pillow's filter coefficients depend only on (input size, output size, filter), and
  every output column of the vertical pass reads only its own column, so the kept pixels are the same.
  (A ``box=`` resize is *not* the same: Pillow takes the box as C floats, which moves every tap.)
  NEAREST, or a resize that keeps one axis, uses the one-call resize;
- ``(x / 255 - mean) / std`` of every uint8 value is a 256-entry float32 table per channel built without
  numpy (each operation rounded to float32, as numpy computes it), applied by ``Image.point(table, 'F')``;
- the three planes go to disk with one ``os.writev`` into a temporary name and ``os.replace``.

The worker imports neither numpy nor tqdm, so ``make preprocess`` starts fast; ``transform`` (an array,
for the parity photos and tests) imports numpy when called. Python 3.7+ with Pillow only.
"""

from __future__ import annotations

import os
import struct
import sys
import time
from functools import lru_cache
from pathlib import Path

from PIL import Image

from . import atomic
from .errors import BundleError, DiskFull, no_space
from .images import list_images
from .manifest import Preprocess
from .progress import bar

FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}
# Pillow's filter supports (Resample.c: bilinear_filter 1.0, bicubic_filter 2.0); NEAREST has none here
SUPPORT = {"bilinear": 1.0, "bicubic": 2.0}


def _resized(w: int, h: int, size: int) -> tuple[int, int]:
    """The guides' resize target: short side to ``size`` (no resize when it already is)."""
    if (w <= h and w == size) or (h <= w and h == size):
        return w, h
    return (size, int(size * h / w)) if w < h else (int(size * w / h), size)


def _offset(size: int, crop: int) -> int:
    return int(round((size - crop) / 2.0))


def resize_short(img: Image.Image, size: int, interpolation: str) -> Image.Image:
    """The guides' resize in one call (the reference ``resize_crop`` reproduces)."""
    w, h = img.size
    ow, oh = _resized(w, h, size)
    if (ow, oh) == (w, h):
        return img
    return img.resize((ow, oh), FILTERS[interpolation])


def center_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    top, left = _offset(h, size), _offset(w, size)
    return img.crop((left, top, left + size, top + size))


@lru_cache(maxsize=4096)
def _rows(h: int, oh: int, top: int, crop: int, interpolation: str) -> tuple[int, int]:
    """The input rows [r0, r1) that output rows top..top+crop-1 of Pillow's vertical pass read: a replica
    of ``precompute_coeffs``' xmin/xmax (in0 = 0, scale = in/out in double, C ``(int)`` truncation)."""
    scale = h / oh
    support = SUPPORT[interpolation] * max(scale, 1.0)
    first, last = (top + 0.5) * scale, (top + crop - 1 + 0.5) * scale
    return max(int(first - support + 0.5), 0), min(int(last + support + 0.5), h)


def resize_crop(img: Image.Image, size: int, crop: int, interpolation: str) -> Image.Image:
    """``center_crop(resize_short(img, size, interpolation), crop)``, the same pixels, less work."""
    w, h = img.size
    ow, oh = _resized(w, h, size)
    left, top = _offset(ow, crop), _offset(oh, crop)
    if (ow, oh) == (w, h):
        return img.crop((left, top, left + crop, top + crop))
    f = FILTERS[interpolation]
    if interpolation not in SUPPORT or ow == w or oh == h:  # one pass only, or a filter we do not model
        return img.resize((ow, oh), f).crop((left, top, left + crop, top + crop))
    r0, r1 = _rows(h, oh, top, crop, interpolation)
    band = img if (r0, r1) == (0, h) else img.crop((0, r0, w, r1))
    band = band.resize((ow, r1 - r0), f).crop((left, 0, left + crop, r1 - r0))  # horizontal pass only
    if (r0, r1) != (0, h):  # rows the kept output rows never read stay zero
        full = Image.new(img.mode, (crop, h))
        full.paste(band, (0, r0))
        band = full
    return band.resize((crop, oh), f).crop((0, top, crop, top + crop))  # vertical pass only


_F32 = struct.Struct("f")


def _f32(x: float) -> float:
    """Round a double to float32 (exact for one + - * / of float32 operands: double holds 2 x 24 + 2 bits)."""
    return _F32.unpack(_F32.pack(x))[0]


@lru_cache(maxsize=8)
def tables(mean: tuple[float, ...], std: tuple[float, ...]) -> tuple[list[float], ...]:
    """Per channel, every uint8 value put through the guide's float32 ``(x / 255 - mean) / std``.

    The guide's arithmetic is element-wise in float32, so looking the value up is bit-identical to
    computing it (tests check the table against numpy's)."""
    m, s = [_f32(v) for v in mean], [_f32(v) for v in std]
    return tuple([_f32(_f32(_f32(x / 255.0) - m[c]) / s[c]) for x in range(256)] for c in range(len(m)))


# a resize bigger than this many pixels is refused by name (1x20000 would resize to 342x6840000 = 7 GB)
MAX_PIXELS = 100_000_000
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # more than 8 bits per pixel


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


def planes(path: Path, pre: Preprocess) -> tuple[list[bytes], str | None]:
    """One image file to its model input as three float32 planes (C order: R, G, B, or B, G, R) and the
    ``check`` warning; the image is opened once."""
    with Image.open(path) as im:
        note = check(im, path, pre)
        img = im if im.mode == "RGB" else im.convert("RGB")
        img.load()
        img = resize_crop(img, pre.resize, pre.crop, pre.interpolation)
    lut = tables(pre.mean, pre.std)
    bands = img.split()
    order = (2, 1, 0) if pre.channel_order == "BGR" else (0, 1, 2)
    return [bands[c].point(lut[c], "F").tobytes() for c in order], note


def transform(path: Path, pre: Preprocess, checked: bool = False):
    """One image file to the model input: a float32 CHW numpy array (writable)."""
    import numpy as np

    data, _ = planes(path, pre)
    return np.frombuffer(bytearray(b"".join(data)), dtype=np.float32).reshape(3, pre.crop, pre.crop)


def bin_size(pre: Preprocess) -> int:
    return 3 * pre.crop * pre.crop * 4


def fingerprint(path: Path) -> list[int]:
    """What identifies a source image's content cheaply: size and modification time (ns)."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def _write(dst: str, data: list[bytes]) -> None:
    """``data`` into ``dst`` atomically: one ``writev`` into a temporary name (a short write is finished
    with plain writes), then ``os.replace``; nothing is left under either name when it fails."""
    head, name = os.path.split(dst)
    tmp = os.path.join(head, f".{atomic.short(name)}.{os.getpid()}.tmp")  # fits beside a 255-byte name
    atomic.remove(Path(tmp))  # a left-over (or a planted link) goes; never written through a link
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        try:
            done = os.writev(fd, data)
            total = sum(len(d) for d in data)
            if done != total:
                rest = memoryview(b"".join(data))[done:]
                while rest:
                    rest = rest[os.write(fd, rest) :]
        finally:
            os.close(fd)
        os.replace(tmp, dst)
    except BaseException:
        atomic.remove(Path(tmp))
        raise


_PRE: Preprocess | None = None  # the worker's settings (set before the pool forks, or by _init)


def _init(pre: Preprocess) -> None:
    global _PRE
    _PRE = pre


def _write_one(job: tuple[str, str]) -> tuple[str, str, str | None]:
    """Worker: one image to its .bin, atomically; (image name, "ok" | "error", message)."""
    src, dst = job
    name = os.path.basename(src)
    try:
        data, note = planes(Path(src), _PRE)
    except BundleError as exc:
        return name, "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the image's fault
        return name, "error", f"{src}: cannot read this image ({type(exc).__name__}: {exc})"
    try:
        _write(dst, data)
    except OSError as exc:
        if no_space(exc):
            return name, "full", str(DiskFull(dst))
        return name, "error", f"{dst}: cannot write it ({exc.strerror or exc})"
    return name, "ok", note


def chunksize(tasks: int, workers: int) -> int:
    """Images per pool task: 1 for small runs (no idle core at the end), up to 8 for long ones
    (dispatch costs ~70 us per task at 1, ~7 us at 16)."""
    return max(1, min(8, tasks // (workers * 32)))


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


def _make_folder(dst_dir: Path) -> None:
    """``dst_dir`` made if needed; one line when it cannot hold the .bin files (a file, /dev/null, read-only)."""
    try:
        dst_dir.mkdir(parents=True, exist_ok=True)
        if not dst_dir.is_dir():
            raise NotADirectoryError(20, "not a folder")
    except OSError as exc:  # /dev/null, a file, a read-only place
        raise BundleError(f"{dst_dir}: cannot write the .bin files there ({exc.strerror or exc})") from None


def _scan_bins(dst_dir: Path, wanted: set[str], outcome: Outcome) -> dict[str, tuple[int, int]]:
    """One scandir of ``dst_dir``: left-over temporary files and the .bin of images that are gone are
    removed (counted in ``outcome.removed``); the size and mtime (ns) of every other .bin."""
    have: dict[str, tuple[int, int]] = {}
    with os.scandir(dst_dir) as entries:
        for f in entries:
            if f.name.startswith(".") and f.name.endswith(".tmp"):
                atomic.remove(Path(f.path))
            elif f.name.endswith(".bin"):
                if f.name not in wanted:
                    atomic.remove(Path(f.path))
                    outcome.removed += 1
                else:
                    st = f.stat()
                    have[f.name] = (st.st_size, st.st_mtime_ns)
    return have


def _plan(
    images: list[Path], have: dict, old: dict, size: int, dst_dir: Path, outcome: Outcome
) -> tuple[dict[str, list[int]], dict[str, list[int]], list[tuple[str, str]]]:
    """Which images are done (a .bin of the right size, from the recorded source, or newer than its image
    when none is recorded) and which are to write, new or redone: (done, fingerprints to write, jobs)."""
    done: dict[str, list[int]] = {}
    fps: dict[str, list[int]] = {}
    todo = []
    for img in images:
        name = img.stem + ".bin"
        fp = fingerprint(img)
        got = have.get(name)
        if got is not None and got[0] == size:
            if old.get(img.name) == fp or (img.name not in old and got[1] >= fp[1]):
                done[img.name] = fp
                continue
            outcome.redone += 1
        else:
            outcome.new += 1
        fps[img.name] = fp
        todo.append((str(img), str(dst_dir / name)))
    return done, fps, todo


def _start_workers(todo: list[tuple[str, str]], pre: Preprocess, workers: int):
    """(pool or None, the jobs' results as they come): in this process for one worker or a few images,
    else a forked pool, unordered, in chunks."""
    _init(pre)
    if workers <= 1 or len(todo) < 8:
        return None, map(_write_one, todo)
    from multiprocessing import get_context

    pool = get_context("fork").Pool(min(workers, len(todo)), _init, (pre,))
    return pool, pool.imap_unordered(_write_one, todo, chunksize=chunksize(len(todo), workers))


def _collect_results(
    results, done: dict, fps: dict, errors: list[str], pb, record: Path | None, started: float
) -> None:
    """Take the workers' results: a written image joins ``done`` (its warning printed), a failed one is
    added to ``errors``; a full disk stops the run in one line. The record is saved along the way."""
    last, written = started, max(1, len(done))
    for name, status, message in results:
        if status == "ok":
            done[name] = fps[name]
            if message:
                print(f"warning: {message}", file=sys.stderr, flush=True)
        elif status == "full":  # every later image would fail the same way: stop now, in one line
            raise BundleError(message)
        else:
            errors.append(message)
        pb.update()
        # the record holds every image: rewritten only when it has doubled since (and 5 s passed), so
        # a run writes O(n) in all; a .bin missing from it after a kill still counts (newer than its image)
        if record is not None and len(done) >= 2 * written and time.monotonic() - last > 5:
            _write_record(record, done)
            last, written = time.monotonic(), len(done)


def _raise_errors(errors: list[str]) -> None:
    """The images that could not be done: every one but the first printed, the first raised with a count."""
    if errors:
        more = f" (and {len(errors) - 1} more, listed above)" if len(errors) > 1 else ""
        for line in errors[1:]:
            print(line)
        raise BundleError(errors[0] + more)


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
    _make_folder(dst_dir)
    old = _read_record(record)
    size = bin_size(pre)
    outcome = Outcome()
    have = _scan_bins(dst_dir, {img.stem + ".bin" for img in every}, outcome)  # other shards' .bin files stay
    done, fps, todo = _plan(images, have, old, size, dst_dir, outcome)
    outcome.kept = len(done)
    workers = workers or len(os.sched_getaffinity(0))
    errors: list[str] = []
    started = time.monotonic()
    with bar(total=len(images), initial=len(done), desc="preprocess", unit="img", enable=progress) as pb:
        pool, results = _start_workers(todo, pre, workers)
        try:
            _collect_results(results, done, fps, errors, pb, record, started)
        finally:
            if pool is not None:
                pool.terminate()
            if record is not None:
                _write_record(record, done)
    _raise_errors(errors)
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
