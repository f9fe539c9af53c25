"""Progress bars (tqdm) on stderr, off with PROGRESS=0; without tqdm (a travelled folder on a bare
host) the steps run without bars."""

from __future__ import annotations

import sys


class _NoBar:
    """What ``bar`` gives when bars are off or tqdm is not installed."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        pass


def bar(total: int | None = None, desc: str = "", unit: str = "it", enable: bool = True, **kwargs):
    """A tqdm bar on stderr; a silent stand-in when ``enable=False`` (the caller's ``settings.progress``:
    PROGRESS=0) or tqdm is missing."""
    if not enable:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **kwargs)
