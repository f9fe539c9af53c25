"""One run at a time per work folder: an advisory lock (``flock``) on ``<WORK>/.lock`` that says who holds it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BundleError


@contextmanager
def hold(path: Path, what: str) -> Iterator[None]:
    """Hold the lock file ``path`` while the block runs; fail at once (one line naming the holder)
    when another process holds it. The kernel drops the lock when a process dies, so a killed run
    never leaves a stale one."""
    path = Path(path)
    try:  # never through a symbolic link (it would truncate the file it points at)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        if os.path.islink(path):
            raise BundleError(f"{path} is a symbolic link: the bundle never writes through one; remove it") from None
        raise BundleError(f"{path}: cannot open the lock file ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BundleError(f"{path.parent} is in use by {_holder(path)}: wait for it to finish or stop it") from None
        me = {"pid": os.getpid(), "host": socket.gethostname(), "what": what, "since": time.strftime("%H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text(encoding="utf-8"))
        return f"`{h['what']}` (pid {h['pid']} on {h['host']}, since {h['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"
