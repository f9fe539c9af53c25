"""result.json in the guides' exact format, and robustness where the guides' scripts crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common import outputs, postprocess
from common.errors import BundleError

ROOT = Path(__file__).resolve().parent.parent


def _write(folder: Path, rows: dict[str, np.ndarray], k: int = 0, fmt: str = "TXT") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, row in rows.items():
        outputs.write(folder / outputs.name(stem, k, fmt), row, fmt)


def _onehot(width: int, hot: list[int]) -> np.ndarray:
    row = np.zeros(width, np.float32)
    for rank, c in enumerate(hot):
        row[c] = 10.0 - rank
    return row


def test_txt_format_is_ais_bench(tmp_path):
    outputs.write(tmp_path / "a_0.txt", np.array([1.5, -2, 0.25], np.float32), "TXT")
    assert (tmp_path / "a_0.txt").read_text() == "1.500000 -2.000000 0.250000 \n"


def test_result_json_exact_format_with_1001_shift(tmp_path):
    # 1001-wide outputs: row 0 is background, so label L is column L+1.
    # images 1-6: column L+1 ranked 1st; 7: 2nd; 8: 4th; 9: 2nd; 10: absent from the top 5
    ranked = {i: [i + 1, 900, 901, 902, 903] for i in range(1, 7)}
    ranked |= {
        7: [900, 8, 901, 902, 903],
        8: [900, 901, 902, 9, 903],
        9: [900, 10, 901, 902, 903],
        10: [900, 901, 902, 903, 904],
    }
    rows = {f"ILSVRC2012_val_{i:08d}": _onehot(1001, hot) for i, hot in ranked.items()}
    _write(tmp_path / "out", rows)
    labels = tmp_path / "val_label.txt"
    labels.write_text("".join(f"ILSVRC2012_val_{i:08d}.JPEG {i}\n" for i in range(1, 11)))
    acc = postprocess.evaluate(tmp_path / "out", labels, label_offset=1)
    path = postprocess.write_result(acc, tmp_path, "result.json")
    text = path.read_text()
    assert text == (
        '{"title": "Overall statistical evaluation", "value": [{"key": "Number of images", "value": "10"}, '
        '{"key": "Number of classes", "value": "1001"}, {"key": "Top1 accuracy", "value": "60.0%"}, '
        '{"key": "Top2 accuracy", "value": "80.0%"}, {"key": "Top3 accuracy", "value": "80.0%"}, '
        '{"key": "Top4 accuracy", "value": "90.0%"}, {"key": "Top5 accuracy", "value": "90.0%"}]}'
    )


def test_rounding_like_the_guides(tmp_path):
    acc = postprocess.Accuracy(7, 1000, [0.8004, 0.895, 2 / 3, 1.0, 1.0], {}, {})
    values = [v["value"] for v in acc.result_json()["value"]]
    assert values[2:5] == ["80.04%", "89.5%", "66.67%"]


def test_stray_files_ignored_and_index_1_read(tmp_path):
    rows = {"img1": _onehot(1000, [3]), "img2": _onehot(1000, [4])}
    _write(tmp_path / "out", rows, k=1, fmt="BIN")  # the legacy benchmark tool's _1 files
    (tmp_path / "out" / "sumary_summary.json").write_text("{}")
    (tmp_path / "out" / "_summary.json").write_text("{}")
    (tmp_path / "out" / "log.txt").write_text("x")
    (tmp_path / "out" / "sub").mkdir()
    labels = tmp_path / "val_label.txt"
    labels.write_text("img1.JPEG 3\nimg2.JPEG 5\n")
    acc = postprocess.evaluate(tmp_path / "out", labels)
    assert acc.images == 2 and acc.topk[0] == 0.5


def test_missing_label_names_the_images(tmp_path):
    _write(tmp_path / "out", {"a": _onehot(1000, [1]), "b": _onehot(1000, [1])})
    labels = tmp_path / "val_label.txt"
    labels.write_text("a.JPEG 1\n")
    with pytest.raises(BundleError, match=r"no label for 1 output\(s\): b"):
        postprocess.evaluate(tmp_path / "out", labels)


def test_missing_output_names_the_images(tmp_path):
    _write(tmp_path / "out", {"a": _onehot(1000, [1])})
    labels = tmp_path / "val_label.txt"
    labels.write_text("a.JPEG 1\nb.JPEG 2\n")
    with pytest.raises(BundleError, match=r"no output for 1 image\(s\): b"):
        postprocess.evaluate(tmp_path / "out", labels, expect=["a", "b"])


def test_malformed_label_line_is_reported_by_file_and_line(tmp_path):
    _write(tmp_path / "out", {"a": _onehot(1000, [1])})
    labels = tmp_path / "val_label.txt"
    labels.write_text("a.JPEG 1\nb.JPEG\tcat\n")
    with pytest.raises(BundleError, match=r"val_label.txt:2: expected '<image name> <label 0-999>'"):
        postprocess.evaluate(tmp_path / "out", labels)


def test_inconsistent_widths_are_an_error(tmp_path):
    _write(tmp_path / "out", {"a": _onehot(1000, [1]), "b": _onehot(1001, [1])})
    labels = tmp_path / "val_label.txt"
    labels.write_text("a.JPEG 1\nb.JPEG 1\n")
    with pytest.raises(BundleError, match="1001 values, but a_0.txt has 1000"):
        postprocess.evaluate(tmp_path / "out", labels)


def test_empty_results_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "val_label.txt").write_text("a.JPEG 1\n")
    with pytest.raises(BundleError, match="no output files"):
        postprocess.evaluate(tmp_path / "out", tmp_path / "val_label.txt")


def test_guide_script_command_line(tmp_path):
    _write(tmp_path / "result" / "dumpOutput_device0", {"x": _onehot(1000, [2, 3])})
    (tmp_path / "val_label.txt").write_text("x.JPEG 3\n")
    cmd = [
        sys.executable,
        str(ROOT / "models/sk-resnet50/postprocess.py"),
        "result/dumpOutput_device0/",
        "val_label.txt",
        "./",
        "result.json",
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["value"][2] == {"key": "Top1 accuracy", "value": "0.0%"}
    assert result["value"][3] == {"key": "Top2 accuracy", "value": "100.0%"}
    bad = subprocess.run(cmd[:2] + ["nope/", "val_label.txt"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: nope: no such results folder")
    assert "Traceback" not in bad.stderr


def test_introsort_top_k_is_the_first_k_of_the_whole_order():
    """``introsort_argsort(v, k)`` skips partitions past position k: the first k are the full sort's
    (which tests/test_careless_user.py checks against numpy's scalar sort, NaN and mass ties included)."""
    from common.ranking import introsort_argsort
    from tests.test_careless_user import _tied_rows

    rows = _tied_rows(30)
    for r in rows:
        full = introsort_argsort(-r)
        for k in (1, 2, 5, 6, 17, 200, 1000):
            assert introsort_argsort(-r, k) == full[:k]
    assert introsort_argsort(np.array([3.0, -0.0, 0.0, np.nan, -1.0]), 3) == [4, 1, 2]  # -0.0 == 0.0, NaN last
    assert introsort_argsort([2, 1], 5) == [1, 0]


def _top_k_by_full_sort(x: np.ndarray, k: int) -> np.ndarray:
    """What ``ranking.top_k`` must give: the first k of numpy 1.x's argsort(-row), row by row."""
    from common.ranking import introsort_argsort

    return np.array([introsort_argsort(-r)[:k] for r in x], dtype=np.int64).reshape(len(x), min(k, x.shape[1]))


@pytest.mark.parametrize("width", [1, 2, 3, 5, 6, 7, 40, 1001])
def test_top_k_is_the_first_k_of_the_guides_order_for_any_values(width):
    from common import ranking

    rng = np.random.default_rng(width)
    x = rng.standard_normal((300, width)).astype(np.float32)
    x[::7] = np.round(x[::7])  # many exact ties
    x[1::11, : max(1, width // 3)] = np.nan
    x[2::13, rng.integers(0, width)] = np.inf
    x[3::17] = -np.inf
    x[4::19, : max(1, width // 2)] = -np.inf
    x[5::23] = np.where(rng.random(width) < 0.5, -0.0, 0.0).astype(np.float32)
    x[6::29, 0] = x[6::29].max(axis=1)  # a tie on the top value
    for k in (1, 5):
        got = ranking.top_k(x, k, chunk=64)
        assert got.tolist() == _top_k_by_full_sort(x, k).tolist(), (width, k)
