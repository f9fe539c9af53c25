"""Per-sample output files in the ais_bench layout, and reading them back.

``<dir>/<key>_<k>.<txt|bin|npy>``, output index k from 0 (the legacy benchmark tool: from 1), where the
key is the input's base name up to its first dot (ais_bench's rule; ``stem``). TXT is one line of
``%f`` values separated by spaces with a trailing space. The bundle writes BIN as raw float32 and NPY
as float32; ais_bench's CLI writes both in the OM's output dtype (float16 for an OM built with
``--output_type=FP16``) and NPY with shape (1, N): ``read`` reads NPY by its header and BIN by its
size against the model's class count (``read(path, width)``).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from . import atomic, fixedtxt
from .errors import BundleError, DiskFull, no_space
from .images import key

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

FORMATS = ("TXT", "BIN", "NPY")
_NAME = re.compile(r"^(?P<stem>.+)_(?P<k>\d+)\.(?P<ext>txt|bin|npy)$", re.IGNORECASE)


def write(path: Path, values: np.ndarray, fmt: str) -> None:
    """Write one sample's output atomically in the ais_bench format ``fmt``."""
    write_rows([path], [values], fmt)


def write_rows(paths: list[Path], rows, fmt: str) -> None:
    """Write each sample's output (``rows[i]`` to ``paths[i]``) atomically in the ais_bench format ``fmt``:
    TXT lines formatted for the whole batch at once (``common.fixedtxt``, byte-identical to ``'%f'``)."""
    if fmt == "TXT":
        data = fixedtxt.lines(np.asarray(rows, dtype=np.float32).reshape(len(paths), -1)) if len(paths) else []
    elif fmt == "BIN":
        data = [np.ascontiguousarray(r, dtype=np.float32).tobytes() for r in rows]
    elif fmt == "NPY":
        data = []
        for r in rows:
            buf = io.BytesIO()
            np.save(buf, np.asarray(r, dtype=np.float32))
            data.append(buf.getvalue())
    else:
        raise BundleError(f"OUTFMT={fmt}: expected one of {', '.join(FORMATS)}")
    for path, blob in zip(paths, data):
        path = Path(path)
        tmp = path.with_name(f".{atomic.short(path.name)}.tmp")  # fits beside a 255-byte name
        atomic.remove(tmp)  # a left-over (or a planted link) goes; O_EXCL | O_NOFOLLOW: never through a link
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException as exc:
            atomic.remove(tmp)  # nothing half-written stays, under either name
            if isinstance(exc, OSError) and no_space(exc):
                raise DiskFull(path) from None
            raise


def stem(input_path: Path | str) -> str:
    """The name an input's outputs carry, ``<key>_<k>.<fmt>``: ais_bench's rule, the base name up to its
    first dot (``chelsea.v2.bin`` -> ``chelsea_0.txt``), for every backend, so that the files of one
    backend and another, and of the real ais_bench CLI, have the same names."""
    return key(input_path)


def check_unique(inputs: list[Path]) -> None:
    """Refuse (one line, naming both) inputs whose outputs would have the same name."""
    seen: dict[str, Path] = {}
    for p in inputs:
        k = stem(p)
        if k in seen:
            raise BundleError(
                f"{seen[k].name} and {Path(p).name} would both be written as {k}_0.* (ais_bench names outputs "
                "by the input's name up to its first dot): rename one"
            )
        seen[k] = Path(p)


def name(stem: str, k: int, fmt: str) -> str:
    return f"{stem}_{k}.{fmt.lower()}"


def scan(folder: Path) -> dict[str, Path]:
    """{stem: file} for the output files of a results folder, one per sample.

    Anything that is not ``<stem>_<k>.<txt|bin|npy>`` (summary JSONs, logs, folders) is ignored;
    when a sample has several outputs the lowest index is the classifier's (``_0``, or ``_1`` for
    the legacy benchmark tool).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such results folder")
    found: dict[str, tuple[int, Path]] = {}
    for entry in os.scandir(folder):
        m = _NAME.match(entry.name)
        if not m or not entry.is_file() or entry.name.startswith("."):
            continue
        k = int(m["k"])
        if m["stem"] not in found or k < found[m["stem"]][0]:
            found[m["stem"]] = (k, Path(entry.path))
    return {stem: p for stem, (_, p) in found.items()}


def files_by_stem(folder: Path) -> dict[str, list[Path]]:
    """Every output file of each sample (all indices k), for deleting a sample's outputs together."""
    found: dict[str, list[Path]] = {}
    for entry in os.scandir(folder) if Path(folder).is_dir() else []:
        m = _NAME.match(entry.name)
        if m and entry.is_file() and not entry.name.startswith("."):
            found.setdefault(m["stem"], []).append(Path(entry.path))
    return found


_TXT_CHARS = b"0123456789.-+eEnaifINAF \t\r\n"


def valid(path: Path, width: int | None = None) -> bool:
    """Cheap check of an output file's whole content (no float parsing): TXT holds only numbers, BIN a
    whole number of fp16/fp32 values, NPY a readable header and all its body. With ``width`` (the values
    the model's output has) a file cut short is caught too: TXT ends its line and holds ``width`` values,
    BIN is ``width`` fp32 or fp16 values, NPY holds ``width``. Unreadable ones are redone."""
    try:
        ext = path.suffix.lower()
        if ext == ".txt":
            data = path.read_bytes()
            ok = bool(data.strip()) and not data.translate(None, _TXT_CHARS)
            return ok and (width is None or (data.endswith(b"\n") and len(data.split()) == width))
        if ext == ".bin":
            size = path.stat().st_size
            return size > 0 and size % 2 == 0 and (width is None or size in (4 * width, 2 * width))
        with path.open("rb") as f:
            fmt = np.lib.format
            major, _ = fmt.read_magic(f)
            read_header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
            shape, _, dtype = read_header(f)
            body = int(np.prod(shape)) * dtype.itemsize
            fits = width is None or int(np.prod(shape)) == width
            return body > 0 and fits and f.tell() + body == path.stat().st_size
    except (OSError, ValueError):
        return False


_BIN_DTYPES = {4: np.dtype(np.float32), 2: np.dtype(np.float16)}


def bin_dtype(path: Path, width: int | None = None) -> np.dtype:
    """The dtype of a BIN output file of ``width`` values (the model's class count): ``width * 4`` bytes
    is float32, ``width * 2`` float16 (ais_bench writes BIN in the OM's output dtype); float32 when the
    width is unknown. A size that fits neither is one error naming both."""
    if not width:
        return np.dtype(np.float32)
    size = Path(path).stat().st_size
    for itemsize, dtype in _BIN_DTYPES.items():
        if size == width * itemsize:
            return dtype
    raise BundleError(
        f"{path}: {size} bytes, but an output of {width} values is {width * 4} bytes as float32 "
        f"or {width * 2} as float16 (was it written by another model?)"
    )


def read(path: Path, width: int | None = None) -> np.ndarray:
    """One sample's output vector, as float32 (BIN read in the dtype its size says for ``width``)."""
    try:
        ext = path.suffix.lower()
        if ext == ".txt":
            with path.open(encoding="utf-8") as f:
                line = f.readline()
            values = np.array(line.split(), dtype=np.float32)
        elif ext == ".bin":
            values = np.fromfile(path, dtype=bin_dtype(path, width)).astype(np.float32, copy=False)
        else:
            values = np.load(path).astype(np.float32).ravel()
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: not a readable output file ({exc})") from None
    if values.size == 0:
        raise BundleError(f"{path}: the output file is empty")
    return values


def read_matrix(paths: list[Path], width: int | None = None, chunk: int = 1000) -> np.ndarray:
    """Every sample's output vector as one (len(paths), width) float32 matrix, row i from ``paths[i]``
    (what ``read(path, width)`` gives for each, bit for bit), fast: BIN files are read with ``os.readv``
    straight into the matrix, in the dtype the first one's size says for ``width`` (the model's class
    count: float32, or float16 from an fp16 OM); TXT files in chunks through the exact ``'%f'`` parser
    (``common.fixedtxt``; any other spelling is parsed file by file). A file that is unreadable, empty
    or of another width than the first is named in the error."""
    paths = [p if isinstance(p, Path) else Path(p) for p in paths]
    if not paths:
        return np.empty((0, 0), dtype=np.float32)
    bins = [p for p in paths if p.suffix.lower() == ".bin"]
    dtype = bin_dtype(bins[0], width) if bins else np.dtype(np.float32)
    if paths[0].suffix.lower() == ".bin":
        first = _bin_rows(paths[:1], dtype, None, paths[0])[0]
    else:
        first = read(paths[0], width)
    n = first.size
    out = np.empty((len(paths), n), dtype=np.float32)
    by_ext: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        by_ext.setdefault(p.suffix.lower(), []).append(i)
    for ext, rows in by_ext.items():
        for j in range(0, len(rows), chunk):
            part = rows[j : j + chunk]
            if ext == ".bin":
                out[part] = _bin_rows([paths[i] for i in part], dtype, n, paths[0])
            elif ext == ".txt":
                out[part] = _txt_rows([paths[i] for i in part], n, paths[0])
            else:
                for i in part:
                    out[i] = _same_width(read(paths[i], width), paths[i], n, paths[0])
    return out


def _same_width(values: np.ndarray, path: Path, width: int, first: Path) -> np.ndarray:
    if values.size != width:
        raise BundleError(f"{path}: {values.size} values, but {first.name} has {width}")
    return values


def _bin_rows(paths: list[Path], dtype: np.dtype, width: int | None, first: Path) -> np.ndarray:
    """Raw BIN files of ``width`` values of ``dtype`` each (None: the first file's), as float32 rows."""
    if width is None:
        size = os.stat(paths[0]).st_size
        if size == 0:
            raise BundleError(f"{paths[0]}: the output file is empty")
        width = size // dtype.itemsize
    rows = np.empty((len(paths), width), dtype=dtype)
    want = width * dtype.itemsize
    spare = bytearray(1)  # a byte past the row: one readv also tells a longer file
    for i, p in enumerate(paths):
        try:
            fd = os.open(p, os.O_RDONLY)
            try:
                got = os.readv(fd, [memoryview(rows[i]).cast("B"), spare])
                size = os.fstat(fd).st_size if got != want else want
            finally:
                os.close(fd)
        except OSError as exc:
            raise BundleError(f"{p}: not a readable output file ({exc.strerror or exc})") from None
        if size != want:
            if size == 0:
                raise BundleError(f"{p}: the output file is empty")
            if size % dtype.itemsize:
                raise BundleError(f"{p}: not a readable output file ({size} bytes is not a whole number of {dtype})")
            raise BundleError(f"{p}: {size // dtype.itemsize} values, but {first.name} has {width}")
    return rows.astype(np.float32, copy=False)


def _file_first_line(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            parts = []
            while True:
                block = os.read(fd, 1 << 16)
                if not block:
                    break
                cut = block.find(b"\n")
                if cut >= 0:
                    parts.append(block[:cut])
                    break
                parts.append(block)
        finally:
            os.close(fd)
    except OSError as exc:
        raise BundleError(f"{path}: not a readable output file ({exc.strerror or exc})") from None
    return b"".join(parts)


def _txt_rows(paths: list[Path], width: int, first: Path) -> np.ndarray:
    """TXT files of ``width`` values each: one exact vectorised parse of their joined first lines when
    every one is in the ``'%f'`` layout, else file by file (``read``, which names a bad file)."""
    lines = [_file_first_line(p) for p in paths]
    if all(ln.endswith(b" ") for ln in lines):
        parsed = fixedtxt.parse(b"".join(lines))
        if parsed is not None:
            values, spaces = parsed
            ends = np.cumsum([len(ln) for ln in lines]) - 1  # each line's trailing space
            counts = np.diff(np.searchsorted(spaces, ends, side="right"), prepend=0)
            if (counts == width).all():
                return values.reshape(len(paths), width)
    return np.stack([_same_width(read(p), p, width, first) for p in paths])
