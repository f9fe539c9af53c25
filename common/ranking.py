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


def _less(a: float, b: float) -> bool:
    """numpy's float ordering: NaN sorts after everything."""
    return a < b or (b != b and a == a)


def _heapsort(v: list, a: list, lo: int, n: int) -> None:
    """numpy 1.x ``aheapsort`` of the n indices at ``a[lo:lo+n]`` (1-based heap over them)."""
    base = lo - 1  # a[base + i] is heap element i, i = 1..n
    for start in range(n >> 1, 0, -1):
        tmp, i, j = a[base + start], start, start << 1
        while j <= n:
            if j < n and _less(v[a[base + j]], v[a[base + j + 1]]):
                j += 1
            if _less(v[tmp], v[a[base + j]]):
                a[base + i] = a[base + j]
                i, j = j, j + j
            else:
                break
        a[base + i] = tmp
    while n > 1:
        tmp = a[base + n]
        a[base + n] = a[base + 1]
        n -= 1
        i, j = 1, 2
        while j <= n:
            if j < n and _less(v[a[base + j]], v[a[base + j + 1]]):
                j += 1
            if _less(v[tmp], v[a[base + j]]):
                a[base + i] = a[base + j]
                i, j = j, j + j
            else:
                break
        a[base + i] = tmp


def introsort_argsort(values) -> list[int]:
    """The indices that sort ``values`` ascending, in exactly numpy 1.x's ``argsort(kind='quicksort')``
    order, ties included."""
    v = [float(x) for x in values]
    num = len(v)
    a = list(range(num))
    if num < 2:
        return a
    stack: list[tuple[int, int, int]] = []
    pl, pr = 0, num - 1
    cdepth = (num.bit_length() - 1) * 2  # npy_get_msb(num) * 2
    while True:
        if cdepth < 0:
            _heapsort(v, a, pl, pr - pl + 1)
        else:
            while pr - pl > SMALL:
                pm = pl + ((pr - pl) >> 1)
                if _less(v[a[pm]], v[a[pl]]):
                    a[pm], a[pl] = a[pl], a[pm]
                if _less(v[a[pr]], v[a[pm]]):
                    a[pr], a[pm] = a[pm], a[pr]
                if _less(v[a[pm]], v[a[pl]]):
                    a[pm], a[pl] = a[pl], a[pm]
                vp = v[a[pm]]
                pi, pj = pl, pr - 1
                a[pm], a[pj] = a[pj], a[pm]
                while True:
                    pi += 1
                    while _less(v[a[pi]], vp):
                        pi += 1
                    pj -= 1
                    while _less(vp, v[a[pj]]):
                        pj -= 1
                    if pi >= pj:
                        break
                    a[pi], a[pj] = a[pj], a[pi]
                pk = pr - 1
                a[pi], a[pk] = a[pk], a[pi]
                cdepth -= 1
                if pi - pl < pr - pi:  # push the larger partition, go on with the smaller
                    stack.append((pi + 1, pr, cdepth))
                    pr = pi - 1
                else:
                    stack.append((pl, pi - 1, cdepth))
                    pl = pi + 1
            for pi in range(pl + 1, pr + 1):  # insertion sort
                vi = a[pi]
                vp = v[vi]
                pj = pi
                while pj > pl and _less(vp, v[a[pj - 1]]):
                    a[pj] = a[pj - 1]
                    pj -= 1
                a[pj] = vi
        if not stack:
            return a
        pl, pr, cdepth = stack.pop()


def top_k(logits: np.ndarray, k: int) -> np.ndarray:
    """(N, k) class indices per row, best first, in the guides' ``np.argsort(-row)`` order."""
    x = np.asarray(logits, dtype=np.float32)
    n, width = x.shape
    k = min(k, width)
    m = min(k + 1, width)
    part = np.argpartition(-x, m - 1, axis=1)[:, :m]
    vals = np.take_along_axis(x, part, 1)
    order = np.argsort(-vals, axis=1, kind="stable")
    part, vals = np.take_along_axis(part, order, 1), np.take_along_axis(vals, order, 1)
    out = part[:, :k].copy()
    # a row needs the exact algorithm when its top m values are not strictly decreasing, or hold NaN
    ambiguous = np.isnan(x).any(axis=1)
    if m > 1:
        ambiguous |= (vals[:, 1:] >= vals[:, :-1]).any(axis=1)
    for r in np.flatnonzero(ambiguous):
        out[r] = introsort_argsort(-x[r])[:k]
    return out
