"""The vectorised '%f' formatter and parser are exact, and the batch writer / matrix reader built on them
give what the one-file ``outputs.write`` / ``outputs.read`` give, byte for byte and bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from common import fixedtxt, outputs
from common.errors import BundleError


def _python_line(row: np.ndarray) -> bytes:
    """The ais_bench TXT line as the bundle always wrote it."""
    return (" ".join(f"{v:f}" for v in np.asarray(row, np.float32).ravel().tolist()) + " \n").encode()


def _rows() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    half = (np.arange(1, 2 * 16000, 2, dtype=np.float64) / 128).astype(np.float32)  # exact half-way ties
    special = np.array(
        [-0.0, 0.0, -1e-9, 1e-9, -4.9999e-7, 5e-7, 4.9999997e-7, 0.0078125, -0.0078125, 999999.9999995, 1e11]
        + [-1e11, 16777217.0, 123456789.0, -5e-7, 2.5e-6, 9.999999e11, 3.4e38, -3.4e38, 1e-45],
        np.float32,
    )
    return [
        rng.standard_normal((16, 1000)).astype(np.float32) * 3,
        (rng.standard_normal((16, 1000)) * 10.0 ** rng.integers(-9, 12, (16, 1000))).astype(np.float32),
        half.reshape(16, 1000),
        np.resize(special, (2, 1000)).astype(np.float32),
        np.array([[np.nan, np.inf, -np.inf] + [1.0] * 997, [2.0] * 1000], np.float32),
        rng.standard_normal((3, 1001)).astype(np.float16).astype(np.float32),
        np.zeros((1, 1), np.float32),
    ]


def test_lines_are_pythons_percent_f_byte_for_byte():
    bad = total = 0
    for batch in _rows():
        for row, got in zip(batch, fixedtxt.lines(batch), strict=True):
            total += 1
            bad += got != _python_line(row)
    assert total > 50 and bad == 0
    assert fixedtxt.line(np.array([-0.0, 1.5], np.float32)) == b"-0.000000 1.500000 \n"


def test_parse_is_np_float32_of_the_text_and_refuses_other_spellings():
    for batch in _rows():
        finite = batch[np.isfinite(batch).all(axis=1) & (np.abs(batch) < 1e9).all(axis=1)]
        if not len(finite):
            continue
        text = b"".join(_python_line(r)[:-1] for r in finite)
        values, spaces = fixedtxt.parse(text)
        want = np.array(text.split(), dtype=np.float32)
        assert values.tobytes() == want.tobytes() and spaces.size == want.size
    assert fixedtxt.parse(b"-12345.000001 0.500000 ")[0].tolist() == [np.float32(-12345.000001), 0.5]
    for other in (
        b"1.5 ",
        b"1.000000",
        b"1.000000  2.000000 ",
        b"+1.000000 ",
        b"nan ",
        b"1e3 ",
        b"-.000000 ",
        b"x1.000000 ",
    ):
        assert fixedtxt.parse(other) is None, other
    assert fixedtxt.parse(b"1234567890.000000 ") is None  # too long for the exact integer path


@pytest.mark.parametrize("fmt", ["TXT", "BIN", "NPY"])
def test_write_rows_is_write_and_read_matrix_is_read(fmt, tmp_path):
    rows = np.concatenate([_rows()[0][:5], _rows()[1][:5], _rows()[4]])
    paths = [tmp_path / outputs.name(f"s{i}", 0, fmt) for i in range(len(rows))]
    outputs.write_rows(paths, rows, fmt)
    for p, row in zip(paths, rows, strict=True):
        one = tmp_path / "one" / p.name
        one.parent.mkdir(exist_ok=True)
        outputs.write(one, row, fmt)
        assert one.read_bytes() == p.read_bytes()
        if fmt == "TXT":
            assert p.read_bytes() == _python_line(row)
    matrix = outputs.read_matrix(paths, chunk=4)
    want = np.stack([outputs.read(p) for p in paths])
    assert matrix.dtype == np.float32 and matrix.tobytes() == want.tobytes()
    assert not list(tmp_path.glob(".*.tmp"))


def test_read_matrix_fp16_bin_mixed_and_odd_spellings(tmp_path):
    rng = np.random.default_rng(0)
    half = rng.standard_normal((4, 10)).astype(np.float16)
    paths = []
    for i, row in enumerate(half):
        paths.append(tmp_path / f"h{i}_0.bin")
        row.tofile(paths[-1])
    assert outputs.read_matrix(paths, width=10).tobytes() == half.astype(np.float32).tobytes()
    odd = tmp_path / "odd_0.txt"
    odd.write_text("1.5\t2 3.25e0\r\n")  # not '%f': read file by file, as read() does
    good = tmp_path / "good_0.txt"
    outputs.write(good, np.array([1.0, 2.0, 3.0], np.float32), "TXT")
    binary = tmp_path / "b_0.bin"
    np.array([4, 5, 6], np.float32).tofile(binary)
    got = outputs.read_matrix([good, odd, binary])
    assert got.tolist() == [[1, 2, 3], [1.5, 2, 3.25], [4, 5, 6]]


def test_read_matrix_names_the_bad_file(tmp_path):
    a, b, c, d = (tmp_path / f"{n}_0.txt" for n in "abcd")
    outputs.write(a, np.ones(5, np.float32), "TXT")
    outputs.write(b, np.ones(4, np.float32), "TXT")
    with pytest.raises(BundleError, match=r"b_0.txt: 4 values, but a_0.txt has 5"):
        outputs.read_matrix([a, b])
    c.write_text("1.0 zebra 3.0\n")
    with pytest.raises(BundleError, match=r"c_0.txt: not a readable output file"):
        outputs.read_matrix([a, c])
    d.write_bytes(b"")
    with pytest.raises(BundleError, match=r"d_0.txt: the output file is empty"):
        outputs.read_matrix([a, d])
    e, f = tmp_path / "e_0.bin", tmp_path / "f_0.bin"
    np.ones(5, np.float32).tofile(e)
    np.ones(6, np.float32).tofile(f)
    with pytest.raises(BundleError, match=r"f_0.bin: 6 values, but e_0.bin has 5"):
        outputs.read_matrix([e, f])
    f.write_bytes(b"\0" * 7)
    with pytest.raises(BundleError, match=r"f_0.bin: not a readable output file"):
        outputs.read_matrix([e, f])
