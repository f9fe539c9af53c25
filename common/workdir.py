"""What the bundle may touch: only its own work folder, and inside it only what it made.

- a work folder is one the bundle created: it marks (``.modelzoo-work``) only a new or empty folder;
- no symbolic link inside WORK is followed where the bundle writes or deletes: each is refused by name;
- a run folder (RUN) is one plain name inside WORK;
- a folder is removed only when it is not a link (``rmtree`` of a link is one line, not a traceback).

Standard library only and Python 3.7+ (``python -m common.workdir mount NAME PATH`` serves docker/run.sh).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

from .errors import BundleError

MARKER = ".modelzoo-work"  # {"model": <name>}: this folder is a work folder of that model
SAMPLE_MARKER = ".modelzoo-sample"  # this folder is a DATASET=sample folder the bundle built
# what may already be in a folder the bundle marks (a lock file is created before the marker)
EMPTY_ENOUGH = {".lock"}
# a run folder's name: one path component, no leading dot or dash
RUN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+=@,-]*$")
# the bundle's temporary folders: ``.<name>.<8 random characters>.tmp`` (tempfile.mkdtemp)
TMP_DIR = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")


def is_link(path: Path) -> bool:
    return os.path.islink(str(path))


def refuse_link(path: Path, what: str = "") -> None:
    """One line when ``path`` is a symbolic link (the bundle never writes or deletes through one)."""
    if is_link(path):
        try:
            target = os.readlink(str(path))
        except OSError:
            target = "?"
        raise BundleError(
            f"{path} is a symbolic link (to {target}){what}: the bundle writes and deletes only its own files, "
            "never through a link; remove the link"
        )


def refuse_links_in(folder: Path, names=None) -> None:
    """Refuse a symbolic link among the entries of ``folder`` (all of them, or those in ``names``)."""
    try:
        entries = list(os.scandir(str(folder)))
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise BundleError(f"{folder}: cannot list it ({exc.strerror})") from None
    for e in entries:
        if (names is None or e.name in names) and e.is_symlink():
            refuse_link(Path(e.path))


def check_tree(work: Path, run: Path | None = None) -> None:
    """Before a step writes: no symbolic link at WORK's top level, in its own sub-folders (om, trt-cache,
    package) or in the run folder and the run's own entries (outputs, records, logs). The many .bin and
    output files need no check: they are written to a temporary name and renamed, which replaces a link."""
    work = Path(work)
    refuse_links_in(work)
    for sub in ("om", "trt-cache", "package"):
        if (work / sub).is_dir():
            refuse_links_in(work / sub)
    if run is not None:
        refuse_links_in(run)


def check_run_name(name: str) -> None:
    """RUN is one folder name inside WORK: not a path, not ``..``, not absolute."""
    if not RUN_NAME.match(name) or name in (".", ".."):
        raise BundleError(
            f"RUN={name!r}: expected a folder name inside WORK (letters, digits, _ . + = @ , -), not a path: "
            "the bundle writes only inside WORK"
        )


def has_other_files(folder: Path, allowed=EMPTY_ENOUGH) -> bool:
    try:
        return any(e.name not in allowed for e in os.scandir(str(folder)))
    except (FileNotFoundError, NotADirectoryError):
        return False


def owner(work: Path) -> str | None:
    """The model whose work folder this is, from its marker (None: no marker, or one that does not parse)."""
    marker = Path(work) / MARKER
    refuse_link(marker)
    try:
        return str(json.loads(marker.read_text(encoding="utf-8"))["model"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def create_new(path: Path, data: bytes) -> None:
    """Write a new file, never through a link and never over an existing file."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def mark(work: Path, model: str) -> None:
    """Mark ``work`` as ``model``'s work folder: only a new or empty folder becomes one."""
    work = Path(work)
    marker = work / MARKER
    refuse_link(marker)
    if not marker.is_file() and has_other_files(work):
        raise BundleError(
            f"WORK={work} already holds files and is not a work folder of the bundle (no {MARKER}): the bundle "
            "deletes what is in its work folder, so it uses only a new or empty one; set WORK=<a new folder>"
        )
    try:
        os.unlink(str(marker))  # a marker that does not parse (a cut-short write) is rewritten
    except FileNotFoundError:
        pass
    create_new(marker, (json.dumps({"model": model}) + "\n").encode())


def rmtree(path: Path, what: str = "") -> None:
    """Remove a folder the bundle made; a symbolic link (or a failure) is one line naming it."""
    path = Path(path)
    refuse_link(path, what)
    try:
        shutil.rmtree(str(path))
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BundleError(f"{path}: cannot remove it ({exc.strerror or exc})") from None


def remove_stale_tmp(parent: Path, name: str) -> list[str]:
    """Remove the bundle's own temporary folders for ``name`` left in ``parent`` by a killed run
    (``.<name>.<random>.tmp``, never a link); the caller holds the work folder's lock."""
    removed = []
    try:
        entries = list(os.scandir(str(parent)))
    except OSError:
        return removed
    for e in entries:
        found = TMP_DIR.match(e.name)
        if found and found.group("name") == name and e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path, ignore_errors=True)
            removed.append(e.name)
    return removed


def no_newline(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise BundleError(f"{name}={value!r}: a newline in a path breaks the info file and the tools' lists: rename it")


def mount_ok(name: str, path: str) -> str:
    """Why a host folder must not be mounted read-write for ``name`` ("" when it may): the root, HOME or
    one of its parents, or a non-empty folder the bundle did not make (WORK: no marker in it or in
    each of its sub-folders, for MODEL=all; SAMPLE_DIR: no sample marker)."""
    p = os.path.realpath(path)
    home = os.path.realpath(os.path.expanduser("~"))
    if p == "/" or home == p or home.startswith(p.rstrip("/") + "/"):
        return (
            f"{name}={path}: mounting {p} read-write would give the container the host's files; "
            f"set {name}=<a new folder>"
        )
    if not os.path.isdir(p) or not has_other_files(Path(p)):
        return ""
    if name == "WORK":
        subs = [e for e in os.scandir(p) if e.name not in EMPTY_ENOUGH]
        if os.path.isfile(os.path.join(p, MARKER)) or all(
            e.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(e.path, MARKER)) for e in subs
        ):
            return ""
        what = f"no {MARKER}"
    elif name == "SAMPLE_DIR":  # marked, or a complete one of an earlier bundle (which is never rebuilt)
        if os.path.isfile(os.path.join(p, SAMPLE_MARKER)) or set(os.listdir(p)) == {"val", "val_label.txt"}:
            return ""
        what = f"no {SAMPLE_MARKER}"
    else:
        return ""
    return f"{name}={path}: {p} holds files and is not a folder the bundle made ({what}): set {name}=<a new folder>"


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "mount":
        print("usage: python -m common.workdir mount NAME PATH", file=sys.stderr)
        sys.exit(2)
    why = mount_ok(sys.argv[2], sys.argv[3])
    if why:
        print(why, file=sys.stderr)
        sys.exit(2)
