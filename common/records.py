"""The JSON records steps leave beside their outputs: written atomically, read leniently."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from . import atomic


def read(path: Path) -> dict | None:
    """A record's content, or None when it is missing, unreadable or not a JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write(path: Path, data: dict) -> None:
    atomic.write_json(path, data, indent=1)


def stamp(path: Path) -> dict:
    """Identity of a file as a record keeps it: resolved path, size and mtime (seconds)."""
    st = Path(path).stat()
    return {"file": str(Path(path).resolve()), "size": st.st_size, "mtime": int(st.st_mtime)}


def jsonable(obj) -> dict:
    """A dataclass as a record stores it (tuples as lists), so it compares equal to one read back."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))
