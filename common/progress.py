"""Progress bars (tqdm) on stderr, off with PROGRESS=0."""

from __future__ import annotations

import sys

from tqdm import tqdm

from common import settings


def enabled() -> bool:
    """The PROGRESS setting (parsed by the settings table: 0/no/false/off hide the bars)."""
    return settings.flag("PROGRESS")


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
