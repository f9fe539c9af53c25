"""Dataset info files (``gen_dataset_info.py``) and the ``val_label.txt`` label file."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from . import atomic
from .errors import LINE_LIMIT, BundleError, is_number, read_bounded, shown
from .images import IMAGE_SUFFIXES, key, list_files


def info_lines(mode: str, folder: str, width: int | None = None, height: int | None = None) -> list[str]:
    """Lines ``<index> <path> <W> <H>``; the path is ``folder`` as given, joined with the file name.

    ``bin`` mode lists the .bin files with the model's W and H; ``jpg`` mode lists images with each
    image's real size. Natural order, the order ais_bench reads an input folder in.
    """
    if mode == "bin":
        if width is None or height is None:
            raise BundleError("gen_dataset_info: bin mode needs the width and height (e.g. 299 299)")
        files = list_files(Path(folder), {".bin"})
        sizes = [(width, height)] * len(files)
    elif mode == "jpg":
        files = list_files(Path(folder), IMAGE_SUFFIXES)
        sizes = []
        for f in files:
            try:
                with Image.open(f) as im:
                    sizes.append(im.size)
            except OSError as exc:
                raise BundleError(f"{f}: cannot read this image ({exc})") from None
    else:
        raise BundleError(f"gen_dataset_info: the first argument must be 'bin' or 'jpg', got {mode!r}")
    if not files:
        raise BundleError(f"{folder}: no {'.bin' if mode == 'bin' else 'image'} files to list")
    return [f"{i} {os.path.join(folder, f.name)} {w} {h}" for i, (f, (w, h)) in enumerate(zip(files, sizes))]


def write_info(mode: str, folder: str, out: Path, width: int | None = None, height: int | None = None) -> int:
    lines = info_lines(mode, folder, width, height)
    atomic.write_text(out, "\n".join(lines) + "\n")
    return len(lines)


def read_text(path: Path, what: str) -> str:
    """A text file as the guides' users write it: UTF-8 (a BOM is dropped) or UTF-16 with its BOM;
    anything else is one clear error naming the file."""
    data = read_bounded(path, what)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BundleError(f"{path}:{line}: the {what} is not UTF-8 text (byte {data[exc.start]:#04x})") from None


def _rows(path: Path, what: str):
    """(line number, fields, line) of each non-blank line; an unreadable file is one clear error."""
    for n, line in enumerate(read_text(path, what).splitlines(), 1):
        if len(line) > LINE_LIMIT:
            raise BundleError(f"{path}:{n}: a line of {len(line):,} characters: not a {what} ({shown(line)})")
        if line.strip():
            yield n, line.split(), line.strip()


def read_info(path: Path) -> list[Path]:
    """The .bin paths of an info file, in its order; bad lines are reported by file:line."""
    paths = []
    for n, parts, line in _rows(path, "info file"):
        # the path may hold spaces: the index is the first field, width and height the last two
        if len(parts) < 4 or not all(is_number(parts[i]) for i in (0, -2, -1)):
            raise BundleError(f"{path}:{n}: expected '<index> <path> <width> <height>', got {shown(line)}")
        paths.append(Path(line.split(None, 1)[1].rsplit(None, 2)[0]))
    if not paths:
        raise BundleError(f"{path}: the info file lists no files")
    return paths


def read_labels(path: Path) -> dict[str, int]:
    """``val_label.txt`` (``ILSVRC2012_val_00000001.JPEG 65``) as {image key: 0-based label}.

    The key is the name up to its first dot (``common.images.key``: the guides' ``name.split('.')[0]``,
    the name ais_bench gives the outputs). A name may hold spaces (the label is the last field). A name
    listed twice, or two names with the same key (``a.jpg`` and ``a.png``, ``cat.a.png`` and
    ``cat.b.png``: their outputs could not be told apart), is an error naming both lines."""
    labels: dict[str, int] = {}
    where: dict[str, tuple[int, str]] = {}
    for n, _, line in _rows(path, "label file"):
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or not is_number(parts[1]):
            raise BundleError(f"{path}:{n}: expected '<image name> <label 0-999>', got {shown(line)}")
        name, label = parts[0], int(parts[1])
        stem = key(name)
        if stem in where:
            first, other = where[stem]
            what = (
                "lists the same image twice"
                if other == name
                else f"names {other} and {name}, which share a stem (the key {stem!r}: the name up to its first dot)"
            )
            raise BundleError(f"{path}:{first} and line {n} {what}: keep one label per image")
        where[stem] = (n, name)
        labels[stem] = label
    if not labels:
        raise BundleError(f"{path}: the label file is empty")
    return labels
