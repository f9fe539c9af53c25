"""Progress bars (tqdm) that stay quiet when output is not a terminal and PROGRESS=0."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


def enabled(default: bool = True) -> bool:
    value = os.environ.get("PROGRESS")
    return default if value is None else value not in ("0", "no", "false")


def bar(total: int | None = None, desc: str = "", unit: str = "it", enable: bool = True, **kwargs) -> tqdm:
    """A tqdm bar on stderr; disabled by ``enable=False`` or PROGRESS=0."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not (enable and enabled()),
        file=sys.stderr,
        dynamic_ncols=True,
        **kwargs,
    )
