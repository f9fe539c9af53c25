"""One virtual environment per Python 3.7-3.13 holding only the light requirements
(``requirements/light-py3.X.txt``: numpy, Pillow and tomli below 3.11, the hashed lock of
``requirements-light.txt``), for the tests that run a travelled model folder's light steps on the
interpreters Ascend hosts have.

``make compat-envs`` (``python -m tests.compat build``) builds them under COMPAT_DIR (default
``~/.cache/modelzoo-bundle/compat``, outside the source tree); CI builds them before ``make test``. The
tests use the one of each version when it is there and up to date, and skip it, saying why, when not.
The running interpreter (the repository's venv, Python 3.11) stands for its own version.
``python -m tests.compat list`` shows what the tests will use.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-light.txt"  # the input of the locks below (make lock)
VERSIONS = ("3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
STAMP = ".installed"


def compat_dir() -> Path:
    if os.environ.get("COMPAT_DIR"):
        return Path(os.environ["COMPAT_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(cache) / "modelzoo-bundle" / "compat"


def _version_of(exe: str) -> str | None:
    try:
        out = subprocess.run(
            [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def find_interpreter(version: str) -> str | None:
    """A working ``python<version>``: on PATH, else under ~/.pyenv/versions (its shims may not work)."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for exe in filter(None, candidates):
        if _version_of(exe) == version:
            return exe
    return None


def lock(version: str) -> Path:
    """The hashed light lock of one Python version."""
    return ROOT / "requirements" / f"light-py{version}.txt"


def _stamp(exe: str, version: str) -> str:
    return f"{exe}\n{hashlib.md5(lock(version).read_bytes()).hexdigest()}\n"


def venv_dir(version: str) -> Path:
    return compat_dir() / f"py{version}"


def current() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def python_for(version: str) -> tuple[str | None, str]:
    """(interpreter with the light requirements, "") or (None, why it is not available)."""
    if version == current():
        return sys.executable, ""
    d = venv_dir(version)
    exe = d / "bin" / "python"
    stamp = d / STAMP
    if exe.is_file() and stamp.is_file():
        base = stamp.read_text().splitlines()[0]
        if stamp.read_text() == _stamp(base, version):
            return str(exe), ""
        return None, f"the Python {version} venv in {d} is older than {lock(version).name} (make compat-envs)"
    if find_interpreter(version) is None:
        return None, f"Python {version} is not installed here (PATH or ~/.pyenv/versions)"
    return None, f"no Python {version} venv with {lock(version).name} in {compat_dir()} (make compat-envs)"


def build(versions=VERSIONS) -> int:
    """Create or refresh the venv of each version whose interpreter is found; say what was skipped."""
    failed = 0
    for v in versions:
        if v == current():
            print(f"{v}: the running interpreter ({sys.executable}) stands for it")
            continue
        exe = find_interpreter(v)
        if exe is None:
            print(f"{v}: not installed here (PATH or ~/.pyenv/versions): skipped; its tests will be skipped")
            continue
        d = venv_dir(v)
        if (d / STAMP).is_file() and (d / STAMP).read_text() == _stamp(exe, v) and (d / "bin" / "python").is_file():
            print(f"{v}: {d} is up to date")
            continue
        shutil.rmtree(d, ignore_errors=True)
        d.parent.mkdir(parents=True, exist_ok=True)
        py = str(d / "bin" / "python")
        steps = [
            [exe, "-m", "venv", str(d)],
            # the interpreter's own pip (no upgrade: nothing the lock does not pin), every file hash-checked
            [py, "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "--only-binary", ":all:"]
            + ["-r", str(lock(v))],
        ]
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{v}: {' '.join(cmd[:4])} ... failed:\n{proc.stdout}{proc.stderr}", file=sys.stderr)
                failed += 1
                break
        else:
            (d / STAMP).write_text(_stamp(exe, v))
            got = subprocess.run(
                [py, "-c", "import numpy, PIL; print(numpy.__version__, PIL.__version__)"],
                capture_output=True,
                text=True,
            ).stdout.split()
            print(f"{v}: {d} (numpy {got[0]}, Pillow {got[1]})")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if argv == ["build"]:
        return build()
    if argv == ["list"]:
        for v in VERSIONS:
            exe, why = python_for(v)
            print(f"{v}: {exe or 'skipped: ' + why}")
        return 0
    print("usage: python -m tests.compat build|list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
