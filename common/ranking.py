"""Rank classes exactly as the guides' scripts do: ``np.argsort(-prediction)`` on float32 values, as
numpy 1.x computed it (the guides' environments: numpy 1.18-1.21).

numpy 1.x ran one scalar introsort for argsort. numpy 2.x on x86 CPUs with AVX2 or AVX-512 sends
argsort to a vectorised sort that orders exact ties differently, so calling ``np.argsort`` here would
reproduce the guides only on some machines. Exact ties are common in fp16 NPU outputs (about 1.7 % of
images have a tie among their top 6), and a tie at the top-5 boundary changes result.json. So rows whose
top 6 holds a tie (or any NaN) are ranked with ``introsort_argsort``, our implementation of numpy 1.x's
algorithm (median-of-3 quicksort, insertion sort for 16 elements or fewer, heapsort past the depth limit, NaN
last); every other row has one unambiguous order, taken vectorised.
"""

from __future__ import annotations

import numpy as np

SMALL = 15  # numpy's SMALL_QUICKSORT: partitions of 16 or fewer elements are insertion-sorted


def _keys(values) -> list:
    """Integers that order exactly as numpy orders the float values (``a < b``, NaN after everything,
    NaNs equal, -0.0 equal to 0.0), so the sort below compares plain ints: what numpy 1.x's
    ``FLOAT_LT(a, b) = a < b || (b != b && a == a)`` decides, without a function call per comparison."""
    f = np.asarray(values)
    if f.dtype not in (np.float32, np.float64):
        f = f.astype(np.float64)
    f = f + f.dtype.type(0.0)  # -0.0 -> 0.0
    bits = f.view(np.int32 if f.dtype == np.float32 else np.int64).astype(np.int64)
    magnitude = np.int64(0x7FFFFFFF if f.dtype == np.float32 else 0x7FFFFFFFFFFFFFFF)
    keys = np.where(bits < 0, -(bits & magnitude), bits)
    keys[np.isnan(f)] = np.iinfo(np.int64).max  # above +inf's bits
    return keys.tolist()


def _sift(v: list, a: list, base: int, tmp: int, i: int, n: int) -> None:
    """numpy 1.x's sift-down: put ``tmp`` at heap position i of the n-element heap at ``a[base+1..]``."""
    j = i << 1
    while j <= n:
        if j < n and v[a[base + j]] < v[a[base + j + 1]]:
            j += 1
        if v[tmp] < v[a[base + j]]:
            a[base + i] = a[base + j]
            i, j = j, j + j
        else:
            break
    a[base + i] = tmp


def _heapsort(v: list, a: list, lo: int, n: int) -> None:
    """numpy 1.x ``aheapsort`` of the n indices at ``a[lo:lo+n]`` (1-based heap over them)."""
    base = lo - 1  # a[base + i] is heap element i, i = 1..n
    for start in range(n >> 1, 0, -1):
        _sift(v, a, base, a[base + start], start, n)
    while n > 1:
        tmp = a[base + n]
        a[base + n] = a[base + 1]
        n -= 1
        _sift(v, a, base, tmp, 1, n)


def _partition(v: list, a: list, pl: int, pr: int) -> int:
    """numpy 1.x's median-of-3 partition of ``a[pl..pr]`` (more than SMALL + 1 indices): the median of the
    first, middle and last goes to ``pr - 1`` as the pivot, the scan swaps around it; returns where the
    pivot lands (everything before it is <= it, everything after >=)."""
    pm = pl + ((pr - pl) >> 1)
    if v[a[pm]] < v[a[pl]]:
        a[pm], a[pl] = a[pl], a[pm]
    if v[a[pr]] < v[a[pm]]:
        a[pr], a[pm] = a[pm], a[pr]
    if v[a[pm]] < v[a[pl]]:
        a[pm], a[pl] = a[pl], a[pm]
    vp = v[a[pm]]
    pi, pj = pl, pr - 1
    a[pm], a[pj] = a[pj], a[pm]
    while True:
        pi += 1
        while v[a[pi]] < vp:
            pi += 1
        pj -= 1
        while vp < v[a[pj]]:
            pj -= 1
        if pi >= pj:
            break
        a[pi], a[pj] = a[pj], a[pi]
    pk = pr - 1
    a[pi], a[pk] = a[pk], a[pi]
    return pi


def _insertion_sort(v: list, a: list, pl: int, pr: int) -> None:
    """numpy 1.x's insertion sort of ``a[pl..pr]`` (a partition of SMALL + 1 indices or fewer)."""
    for pi in range(pl + 1, pr + 1):
        vi = a[pi]
        vp = v[vi]
        pj = pi
        while pj > pl and vp < v[a[pj - 1]]:
            a[pj] = a[pj - 1]
            pj -= 1
        a[pj] = vi


def _quicksort(v: list, a: list, pl: int, pr: int, cdepth: int, stop: int, stack: list) -> None:
    """One popped range ``a[pl..pr]``, as numpy 1.x's loop takes it: partition, push the larger side (with
    the depth left) and go on with the smaller, until it is small enough to insertion-sort. A side that
    starts at or past ``stop`` is never sorted (nothing in it can move before position ``stop``)."""
    while pr - pl > SMALL:
        pi = _partition(v, a, pl, pr)
        cdepth -= 1
        if pi - pl < pr - pi:  # push the larger partition, go on with the smaller
            if pi + 1 < stop:
                stack.append((pi + 1, pr, cdepth))
            pr = pi - 1
        else:
            stack.append((pl, pi - 1, cdepth))
            pl = pi + 1
            if pl >= stop:  # the rest of this range lies past k
                return
    _insertion_sort(v, a, pl, pr)


def introsort_argsort(values, k: int | None = None) -> list[int]:
    """The indices that sort ``values`` ascending, in exactly numpy 1.x's ``argsort(kind='quicksort')``
    order, ties included. With ``k``, only the first ``k`` of them (the same ones): partitions that lie
    wholly past position k are not sorted, which cannot move anything before it."""
    v = _keys(values)
    num = len(v)
    a = list(range(num))
    if num < 2:
        return a if k is None else a[:k]
    stop = num if k is None else k
    stack: list[tuple[int, int, int]] = []
    pl, pr = 0, num - 1
    cdepth = (num.bit_length() - 1) * 2  # npy_get_msb(num) * 2
    while True:
        if cdepth < 0:
            _heapsort(v, a, pl, pr - pl + 1)
        else:
            _quicksort(v, a, pl, pr, cdepth, stop, stack)
        if not stack:
            return a if k is None else a[:k]
        pl, pr, cdepth = stack.pop()


def top_k(logits: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """(N, k) class indices per row, best first, in the guides' ``np.argsort(-row)`` order.

    The top m = k + 1 values of each row are picked by m passes of ``argmax`` (over a copy of a chunk of
    rows, each pick masked with -inf). A row whose picks are strictly decreasing has one unambiguous
    top k, the picks; a row with a tie among them, a NaN, or an -inf among the top k is ranked by
    ``introsort_argsort``, as numpy 1.x's argsort ranks it."""
    x = np.asarray(logits, dtype=np.float32)
    n, width = x.shape
    k = min(k, width)
    m = min(k + 1, width)
    out = np.empty((n, k), dtype=np.int64)
    ambiguous = np.isnan(x).any(axis=1)
    for lo in range(0, n, chunk):
        work = x[lo : lo + chunk].copy()
        rows = np.arange(len(work))
        work[ambiguous[lo : lo + chunk]] = 0  # ranked exactly below; no NaN in argmax
        picks = np.empty((len(work), m), dtype=np.int64)
        vals = np.empty((len(work), m), dtype=np.float32)
        for j in range(m):
            a = work.argmax(axis=1)
            picks[:, j], vals[:, j] = a, work[rows, a]
            work[rows, a] = -np.inf
        out[lo : lo + chunk] = picks[:, :k]
        tied = (vals[:, 1:] >= vals[:, :-1]).any(axis=1) if m > 1 else np.zeros(len(work), bool)
        ambiguous[lo : lo + chunk] |= tied | np.isneginf(vals[:, :k]).any(axis=1)
    for r in np.flatnonzero(ambiguous):
        out[r] = introsort_argsort(-x[r], k)
    return out
