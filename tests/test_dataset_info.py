"""Dataset info files (both modes) and label-file parsing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common import dataset_info
from common.errors import BundleError

ROOT = Path(__file__).resolve().parent.parent


def test_bin_mode_lines_and_natural_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "prep"
    d.mkdir()
    for name in ("img10.bin", "img2.bin", "img1.bin", "notes.txt"):
        (d / name).write_bytes(b"\0" * 8)
    lines = dataset_info.info_lines("bin", "./prep", 299, 299)
    assert lines == ["0 ./prep/img1.bin 299 299", "1 ./prep/img2.bin 299 299", "2 ./prep/img10.bin 299 299"]


def test_jpg_mode_writes_real_sizes(photos, tmp_path):
    d = tmp_path / "val"
    d.mkdir()
    shutil.copy(photos / "chelsea.png", d / "a.png")
    shutil.copy(photos / "rocket.jpg", d / "b.jpg")
    out = tmp_path / "x.info"
    dataset_info.write_info("jpg", str(d), out)
    assert out.read_text().splitlines() == [f"0 {d}/a.png 451 300", f"1 {d}/b.jpg 640 427"]


def test_guide_command_line_is_deterministic(tmp_path):
    (tmp_path / "prep_dataset").mkdir()
    for i in (3, 1, 2):
        (tmp_path / "prep_dataset" / f"ILSVRC2012_val_{i:08d}.bin").write_bytes(b"")
    cmd = [
        sys.executable,
        str(ROOT / "models/inceptionresnetv2/gen_dataset_info.py"),
        "bin",
        "./prep_dataset",
        "./inceptionresnetv2.info",
        "299",
        "299",
    ]
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    first = (tmp_path / "inceptionresnetv2.info").read_text()
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    assert first == (tmp_path / "inceptionresnetv2.info").read_text()
    assert first.splitlines()[0] == "0 ./prep_dataset/ILSVRC2012_val_00000001.bin 299 299"


def test_bad_inputs(tmp_path):
    with pytest.raises(BundleError, match="'bin' or 'jpg'"):
        dataset_info.info_lines("png", str(tmp_path))
    with pytest.raises(BundleError, match="no .bin files"):
        dataset_info.info_lines("bin", str(tmp_path), 1, 1)
    info = tmp_path / "bad.info"
    info.write_text("0 a.bin 224 224\nbroken line\n")
    with pytest.raises(BundleError, match=r"bad.info:2: expected '<index> <path> <width> <height>'"):
        dataset_info.read_info(info)


def test_labels(tmp_path):
    p = tmp_path / "val_label.txt"
    p.write_text("ILSVRC2012_val_00000001.JPEG 65\nILSVRC2012_val_00000002.JPEG 970\n\n")
    assert dataset_info.read_labels(p) == {"ILSVRC2012_val_00000001": 65, "ILSVRC2012_val_00000002": 970}
    p.write_text("ILSVRC2012_val_00000001.JPEG 65\nILSVRC2012_val_00000002.JPEG -3\n")
    with pytest.raises(BundleError, match=r"val_label.txt:2:"):
        dataset_info.read_labels(p)
    with pytest.raises(BundleError, match="cannot read the label file"):
        dataset_info.read_labels(tmp_path / "absent.txt")


def test_info_paths_with_spaces_read_back(tmp_path):
    info = tmp_path / "x.info"
    info.write_text("0 /data/my photos/a.bin 224 224\n1 ./b.bin 224 224\n")
    assert dataset_info.read_info(info) == [Path("/data/my photos/a.bin"), Path("./b.bin")]
