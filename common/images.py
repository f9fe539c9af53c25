"""Finding image files in a dataset folder, in a stable (natural) order, and saying what else is there.

Hidden files (``.DS_Store``, macOS ``._name.jpg`` copies) are ignored from the start; a broken
symbolic link, a name that is not valid UTF-8 or a folder of class sub-folders (the ImageNet train
layout) is a one-line error naming it. Python 3.7+, standard library only.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .errors import BundleError

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".gif"}


def key(name) -> str:
    """The key of an image, input or output file name: its base name up to the first dot.

    That is the rule of the tools this bundle feeds and of the guides' scripts: ais_bench names the
    outputs of ``x.y.bin`` ``x_<k>.<fmt>`` (``basename.split('.')[0]``), and the guides' postprocess
    looks labels up by ``name.split('.')[0]``. ``ILSVRC2012_val_00000001.JPEG`` -> ``ILSVRC2012_val_00000001``,
    ``chelsea.v2.png`` -> ``chelsea``.
    """
    return os.path.basename(str(name)).split(".")[0]


def natural_key(name: str) -> list:
    """Sort key that orders ``img2`` before ``img10``, as ais_bench orders its input files."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", name)]


def _note(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr, flush=True)


def _utf8(folder: Path, name: str) -> None:
    if "\n" in name or "\r" in name:
        raise BundleError(f"{folder}: the file name {name!r} holds a newline (the info file lists one a line): rename")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(name)
        raise BundleError(f"{folder}: the file name {raw!r} is not valid UTF-8: rename it") from None


def list_files(folder: Path, suffixes: set[str]) -> list[Path]:
    """Files in ``folder`` (not recursive, hidden ones skipped) whose suffix is in ``suffixes``,
    naturally sorted; a broken link among them is an error."""
    folder = Path(folder)
    if folder.is_file():
        raise BundleError(f"{folder}: is a file, not a folder")
    if folder.exists() and not folder.is_dir():
        raise BundleError(f"{folder}: is not a folder")
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such folder")
    files = []
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or Path(entry.name).suffix.lower() not in suffixes:
            continue
        _utf8(folder, entry.name)
        path = Path(entry.path)
        if entry.is_symlink() and not path.exists():
            raise BundleError(f"{path}: a broken symbolic link (to {os.readlink(path)})")
        if path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: natural_key(p.name))


def list_images(folder: Path) -> list[Path]:
    """The images of a dataset folder; says what else it found (sub-folders, hidden or other files)."""
    folder = Path(folder)
    images = list_files(folder, IMAGE_SUFFIXES)
    subdirs = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
    if not images:
        if subdirs:
            raise BundleError(
                f"{folder}: no images, but {len(subdirs)} sub-folders ({', '.join(subdirs[:3])}, ...): this looks "
                "like the ImageNet train layout (one folder per class); point DATASET at the flat val folder"
            )
        raise BundleError(f"{folder}: no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    if subdirs:
        _note(f"{folder}: {len(subdirs)} sub-folder(s) ignored ({', '.join(subdirs[:3])}); only its images are used")
    hidden = [e.name for e in os.scandir(folder) if e.name.startswith(".") and e.is_file()]
    if hidden:
        _note(f"{folder}: {len(hidden)} hidden file(s) ignored ({', '.join(sorted(hidden)[:3])})")
    seen: dict[str, Path] = {}
    for p in images:
        k = key(p.name)
        if k in seen:
            first = seen[k]
            if first.stem == p.stem:
                raise BundleError(f"{folder}: {first.name} and {p.name} would both write {p.stem}.bin")
            raise BundleError(
                f"{folder}: {first.name} and {p.name} both have the key {k!r} (the name up to its first dot, "
                f"by which ais_bench names outputs and the guides look up labels): rename one"
            )
        if not k:
            raise BundleError(f"{folder}: {p.name} has an empty key (the name up to its first dot): rename it")
        seen[k] = p
    return images
