"""Which container image a run ran in: its name, the base image (tag and digest), the bundle version.

The images bake these into their environment when they are built (docker/build.sh passes them to
docker/Dockerfile.*): ``BUNDLE_KIND``, ``BUNDLE_IMAGE``, ``BUNDLE_VERSION``, ``BUNDLE_BASE``,
``BUNDLE_BASE_DIGEST`` and ``BUNDLE_BASE_ID``. Outside an image only the bundle version is known
(the installed distribution's, from importlib.metadata; a checkout that is not installed: its
pyproject.toml), plus the git commit when the checkout has one.

Standard library only and Python 3.7+, like common/settings.py.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = "modelzoo-inference-bundle"
# environment variable -> key in the record
FIELDS = (
    ("BUNDLE_KIND", "kind"),
    ("BUNDLE_IMAGE", "image"),
    ("BUNDLE_VERSION", "version"),
    ("BUNDLE_BASE", "base"),
    ("BUNDLE_BASE_DIGEST", "base_digest"),
    ("BUNDLE_BASE_ID", "base_id"),
)


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True)
    return out.stdout.strip()


def _release(root: Path) -> str:
    """The installed distribution's version, else the checkout's pyproject.toml's, else ``unknown``."""
    try:
        from importlib import metadata

        return metadata.version(DIST)
    except ImportError:  # Python 3.7 (a travelled folder) or not installed: read the checkout's pyproject
        pass
    try:
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib
        with open(str(root / "pyproject.toml"), "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        return "unknown"


@functools.lru_cache(maxsize=None)
def bundle_version(root: Path = ROOT) -> str:
    """``<version>+g<commit>[.dirty]`` in a git checkout, else ``<version>`` (``unknown`` when neither
    installed nor beside a pyproject.toml)."""
    version = _release(root)
    if not (root / ".git").exists():
        return version
    try:
        commit = _git(root, "rev-parse", "--short=12", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{commit}" + (".dirty" if dirty else "") if commit else version


def image(environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The image this process runs in, as recorded at build time; None outside the bundle's images.

    ``base_digest`` is the base's ``sha256:...`` when the build pinned it (``BASE=name:tag@sha256:...``)
    or the engine knew its registry digest, else empty; ``base_id`` is the local image id of the base.
    """
    env = os.environ if environ is None else environ
    if not env.get("BUNDLE_IMAGE"):
        return None
    return {key: env.get(var, "") for var, key in FIELDS}


def record(environ: Mapping[str, str] | None = None) -> dict:
    """What run.json records: ``{"bundle_version": ..., "image": {...} or None}``."""
    img = image(environ)
    return {"bundle_version": img["version"] if img and img["version"] else bundle_version(), "image": img}


def describe(environ: Mapping[str, str] | None = None) -> str:
    """One line for report.md: the image and its base, or that the run was not in an image."""
    rec = record(environ)
    img = rec["image"]
    if img is None:
        return f"bundle {rec['bundle_version']}, not in a bundle image"
    base = img["base"] or "?"
    if img["base_digest"] and "@" not in base:
        base += f"@{img['base_digest']}"
    elif not img["base_digest"]:
        base += " (digest unknown" + (f", local id {img['base_id'][:19]}" if img["base_id"] else "") + ")"
    return f"bundle {rec['bundle_version']}, image {img['image']} ({img['kind'] or '?'}), base {base}"


if __name__ == "__main__":
    print(describe())
