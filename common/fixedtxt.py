"""The ais_bench TXT number layout, ``'%f'`` values each followed by one space, formatted and parsed
exactly and vectorised (numpy), for whole batches and whole folders at once.

Formatting (``lines``): ``x * 1e6`` is exact in float64 for every float32 ``x`` (a 24-bit mantissa times
15625 * 2**6 fits in 53 bits), so ``np.rint`` (round half to even) of it is the correctly rounded
6-decimal value that Python's ``'%f'`` prints; the sign comes from the sign bit (``-0.000000`` as
Python prints it). Rows with NaN or infinities, or values of 1e12 or more, are formatted by Python.

Parsing (``parse``): in ``'%f'`` text the 8 bytes before each space are ``[units digit, '.', 6 digits]``;
they are read as one unaligned little-endian uint64 and turned into ``units * 10**6 + fraction`` by three
SWAR multiply-shift steps (longer integer parts are added from a small gather). ``n / 1e6`` in float64 is
then the double that ``float()`` / ``strtod`` gives (IEEE division of two exact values is correctly
rounded), and ``.astype(float32)`` what ``np.float32(text)`` gives. Anything else (another spelling,
``nan``, a tab, a missing trailing space) returns None, and the caller parses that text the slow way.

Python 3.7+ and numpy only.
"""

from __future__ import annotations

import numpy as np

_PY: dict[int, str] = {}


def _python(row: np.ndarray) -> bytes:
    fmt = _PY.get(row.size)
    if fmt is None:
        fmt = _PY.setdefault(row.size, "%f " * row.size + "\n")
    return (fmt % tuple(row.tolist())).encode("ascii")


def line(values: np.ndarray) -> bytes:
    """One sample's TXT line: ``'%f'`` values, single spaces, a trailing space, ``\\n``."""
    return lines(np.asarray(values, dtype=np.float32).reshape(1, -1))[0]


def lines(batch: np.ndarray) -> list[bytes]:
    """One TXT line per row of ``batch`` (each row flattened), byte-identical to Python's ``'%f'``."""
    x = np.ascontiguousarray(batch, dtype=np.float32).reshape(len(batch), -1)
    n, w = x.shape
    if n == 0:
        return []
    if w == 0:
        return [b" \n"] * n
    bad = ~np.isfinite(x).all(axis=1) | (np.abs(x) >= 1e12).any(axis=1)
    xs = np.where(bad[:, None], np.float32(0), x).astype(np.float64)
    whole, frac = np.divmod(np.rint(np.abs(xs) * 1e6).astype(np.int64), 1_000_000)  # exact: see above
    digits = len(str(int(whole.max())))
    width = digits + 9  # [sign][digits integer digits][.][6 digits][space]
    chars = np.empty((n, w, width), dtype=np.uint8)
    chars[..., 0] = 45  # '-'
    rest = whole.copy()
    for k in range(digits, 0, -1):
        chars[..., k] = 48 + rest % 10
        rest //= 10
    chars[..., digits + 1] = 46  # '.'
    rest = frac
    for k in range(digits + 7, digits + 1, -1):
        chars[..., k] = 48 + rest % 10
        rest = rest // 10
    chars[..., digits + 8] = 32
    keep = np.ones((n, w, width), dtype=bool)
    keep[..., 0] = np.signbit(x)
    if digits > 1:
        used = np.ones(whole.shape, dtype=np.int64)  # integer digits actually printed (at least one)
        for k in range(1, digits):
            used += whole >= 10**k
        keep[..., 1 : digits + 1] = np.arange(1, digits + 1) > (digits - used)[..., None]
    flat = chars[keep]
    ends = np.cumsum(keep.reshape(n, -1).sum(axis=1))
    out, start = [], 0
    for r in range(n):
        out.append(_python(x[r]) if bad[r] else flat[start : ends[r]].tobytes() + b"\n")
        start = int(ends[r])
    return out


_ZEROS = 0x3030303030303030
_P10 = [10**k for k in range(10)]


def parse(buf: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(float32 values, positions of the space after each) of ``'%f'`` text in which every value is
    followed by exactly one space (newlines removed); None when the text is in any other form."""
    a = np.frombuffer(buf, dtype=np.uint8)
    if a.size < 9 or a[-1] != 32:
        return None
    sp = np.flatnonzero(a == 32)
    n = sp.size
    if sp[0] < 8:
        return None
    start = np.empty(n, dtype=np.int64)
    start[0] = 0
    start[1:] = sp[:-1] + 1
    words = np.ndarray((a.size - 7,), dtype="<u8", buffer=a, strides=(1,))  # the 8 bytes from each offset
    raw = words[sp - 8]
    if (((raw >> np.uint64(8)) & np.uint64(0xFF)) != np.uint64(0x2E)).any():  # byte 1 is the '.'
        return None
    raw = (raw & np.uint64(0xFFFFFFFFFFFF00FF)) | np.uint64(0x3000)  # '.' -> '0'
    high = raw & np.uint64(0xF0F0F0F0F0F0F0F0)
    over = (raw + np.uint64(0x0606060606060606)) & np.uint64(0xF0F0F0F0F0F0F0F0)
    if (high != np.uint64(_ZEROS)).any() or (over != np.uint64(_ZEROS)).any():  # every byte '0'..'9'
        return None
    v = raw - np.uint64(_ZEROS)
    v = (v * np.uint64(10) + (v >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    v = (v * np.uint64(100) + (v >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    v = (v * np.uint64(10000) + (v >> np.uint64(32))) & np.uint64(0xFFFFFFFF)  # units*1e7 + fraction
    neg = a[start] == 45
    length = sp - 7 - (start + neg)  # integer digits
    if length.min() < 1:
        return None
    units = (raw & np.uint64(0xFF)).astype(np.int64) - 48
    whole = v.astype(np.int64) - 9_000_000 * units  # units from 10**7 to 10**6
    longer = np.flatnonzero(length > 1)
    if longer.size:
        if int(length[longer].max()) > 9:  # keep the integer below 2**53
            return None
        dot = sp[longer] - 7
        size = length[longer]
        extra = np.zeros(longer.size, dtype=np.int64)
        for k in range(2, int(size.max()) + 1):
            use = size >= k
            d = a[np.where(use, dot - k, dot - 1)].astype(np.int64) - 48
            if ((d < 0) | (d > 9))[use].any():
                return None
            extra += np.where(use, d, 0) * _P10[k - 2]
        whole[longer] += extra * 10**7
    q = whole / 1e6
    np.negative(q, out=q, where=neg)
    return q.astype(np.float32), sp
