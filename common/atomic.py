"""Write files so that a reader never sees half of one: write a temporary sibling, then rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BundleError, DiskFull, no_space

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{short(path.name)}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if no_space(exc):
            raise DiskFull(path) from None
        raise BundleError(f"{path.parent}: cannot write {path.name} there ({exc.strerror or exc})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        if no_space(exc):
            raise DiskFull(path) from None
        raise
    finally:
        remove(tmp_path)


def short(name: str, limit: int = 96) -> str:
    """At most ``limit`` bytes of a file name (UTF-8, whole characters), so that a temporary name built
    from a 255-byte name still fits the file system's 255."""
    raw = os.fsencode(name)
    return name if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


def remove(path: Path | str) -> None:
    """Delete a file if it is there (``Path.unlink(missing_ok=True)`` needs Python 3.8)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path | str, obj, **kwargs) -> None:
    write_text(path, json.dumps(obj, **kwargs) + ("\n" if kwargs.get("indent") else ""))


@contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole."""
    path = Path(path)
    if path.is_symlink():
        raise BundleError(f"{path} is a symbolic link: remove it (the folder is rebuilt there, not through a link)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as exc:
        if no_space(exc):
            raise DiskFull(path) from None
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
