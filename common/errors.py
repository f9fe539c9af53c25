"""The one exception type for a user's mistake: printed as one line, never as a traceback."""


class BundleError(Exception):
    """A problem the user can fix (bad input, missing file, wrong tool); str() is the whole message."""


NO_SPACE = (28, 122)  # ENOSPC, EDQUOT (Linux numbers; errno has them, but this module stays import-free)


def no_space(exc: BaseException) -> bool:
    """True for a full disk or an exceeded quota (also inside shutil.copytree's collected errors)."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return True
    return isinstance(exc, OSError) and "No space left on device" in str(exc)[:2000]


class DiskFull(BundleError):
    """Writing ``path`` failed for want of space; nothing half-written is left."""

    def __init__(self, path) -> None:
        super().__init__(
            f"{path}: no space left on the device while writing it (ENOSPC): nothing half-written is kept; "
            "free some space (or set WORK on a bigger disk) and re-run: finished files are kept"
        )


TEXT_LIMIT = 32 << 20  # a label or info file for 50,000 images is 2-15 MB
LINE_LIMIT = 4096


def read_bounded(path, what: str, limit: int = TEXT_LIMIT) -> bytes:
    """The bytes of a text file the user names, read no further than ``limit`` (``/dev/zero`` ends)."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise BundleError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise BundleError(f"{path}: larger than {limit >> 20} MiB: not a {what} (expected one short line per image)")
    return data


def shown(text: str, n: int = 60) -> str:
    """``text`` quoted for an error message, at most about ``n`` characters of it shown."""
    quoted = repr(text[:n])
    cut = len(text) > n or len(quoted) > n + 2
    return (quoted[:n] + "...") if cut else quoted


def is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit()`` also accepts ``²`` and other characters ``int()`` refuses."""
    return bool(text) and text.isascii() and text.isdigit()


def first_line(exc: BaseException, joined: bool = False, limit: int = 200) -> str:
    """``exc`` as one short line for a message: its first line (``joined``: all of its lines joined by
    single spaces), or its type's name when that is empty; at most ``limit`` characters."""
    text = " ".join(str(exc).split()) if joined else (str(exc).splitlines() or [""])[0]
    return (text or type(exc).__name__)[:limit]
