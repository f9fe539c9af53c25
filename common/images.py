"""Finding image files in a dataset folder, in a stable (natural) order."""

from __future__ import annotations

import re
from pathlib import Path

from common.errors import BundleError

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".gif"}


def natural_key(name: str) -> list:
    """Sort key that orders ``img2`` before ``img10``, as ais_bench orders its input files."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", name)]


def list_files(folder: Path, suffixes: set[str]) -> list[Path]:
    """Files in ``folder`` (not recursive) whose suffix is in ``suffixes``, naturally sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such folder")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes]
    return sorted(files, key=lambda p: natural_key(p.name))


def list_images(folder: Path) -> list[Path]:
    images = list_files(folder, IMAGE_SUFFIXES)
    if not images:
        raise BundleError(f"{folder}: no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    seen: dict[str, Path] = {}
    for p in images:
        if p.stem in seen:
            raise BundleError(f"{folder}: {seen[p.stem].name} and {p.name} would both write {p.stem}.bin")
        seen[p.stem] = p
    return images
