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
