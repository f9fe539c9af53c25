"""Top-k accuracy from per-sample output files, written as the guides' result.json.

Fixes the guides' scripts: stray files (summary JSONs, logs) are ignored, ``_0`` and ``_1`` outputs
are both read, a missing label or output names the images, and every output must have the same width
(the guides reported whatever width the last file had). A model whose class 0 is "background"
(InceptionResNetV2, 1001 classes) has ``label_offset = 1`` in its manifest: model class = label + 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import atomic, outputs, ranking
from .dataset_info import read_labels
from .errors import BundleError

TOPK = 5


@dataclass
class Accuracy:
    images: int
    classes: int
    topk: list[float]  # cumulative top-1..5, fractions
    predictions: dict[str, list[int]]  # stem -> top-5 labels (model class - label_offset; -1 = background)
    labels: dict[str, int]  # stem -> label (0-based, as in val_label.txt)
    nan: list[str] = field(default_factory=list)  # outputs holding NaN (scored as the guides would)
    ignored: list[str] = field(default_factory=list)  # outputs of images not in the info file

    def notes(self) -> list[str]:
        """What a reader of result.json should know that its format cannot say."""
        out = []
        if self.nan:
            out.append(f"{len(self.nan)} of {self.images} outputs hold NaN ({_names(self.nan)}): check the model")
        if self.ignored:
            gone = _names(self.ignored)
            out.append(f"{len(self.ignored)} outputs of images no longer in the dataset ignored ({gone})")
        return out

    def result_json(self) -> dict:
        """The guides' result.json: ``str(round(acc * 100, 2)) + '%'`` (89.5%, not 89.50%)."""
        value = [
            {"key": "Number of images", "value": str(self.images)},
            {"key": "Number of classes", "value": str(self.classes)},
        ]
        value += [
            {"key": f"Top{k + 1} accuracy", "value": f"{round(acc * 100, 2)}%"} for k, acc in enumerate(self.topk)
        ]
        return {"title": "Overall statistical evaluation", "value": value}


def _names(stems: list[str], limit: int = 5) -> str:
    more = f" … (+{len(stems) - limit} more)" if len(stems) > limit else ""
    return ", ".join(sorted(stems)[:limit]) + more


def evaluate(
    result_dir: Path,
    label_file: Path,
    label_offset: int = 0,
    expect: list[str] | None = None,
    width: int | None = None,
) -> Accuracy:
    """Score the outputs in ``result_dir`` against ``label_file``; model class = label + ``label_offset``.

    ``expect`` (image stems that should have an output, e.g. from the info file) turns a missing
    output into an error and leaves other outputs unscored. Classes are ranked exactly as the guides'
    scripts rank them (``common.ranking``: numpy 1.x's ``np.argsort(-prediction)`` on float32 values),
    so exact ties (common in fp16 NPU outputs) fall in the same order on any CPU; rows holding NaN are
    scored the same way and counted.
    """
    files = outputs.scan(result_dir)
    if not files:
        raise BundleError(f"{result_dir}: no output files (<name>_0.txt/.bin/.npy); did inference run?")
    labels = read_labels(label_file)
    ignored: list[str] = []
    if expect is not None:
        missing = [s for s in expect if s not in files]
        if missing:
            raise BundleError(f"{result_dir}: no output for {len(missing)} image(s): {_names(missing)}")
        wanted = set(expect)
        ignored = [s for s in files if s not in wanted]
        files = {s: p for s, p in files.items() if s in wanted}
    unlabelled = [s for s in files if s not in labels]
    if unlabelled:
        raise BundleError(f"{label_file}: no label for {len(unlabelled)} output(s): {_names(unlabelled)}")
    stems = sorted(files)
    logits = outputs.read_matrix([files[s] for s in stems], width)  # one matrix; another width is named
    classes = logits.shape[1]
    truth = np.array([labels[s] + label_offset for s in stems])
    if truth.max() >= classes:
        bad = [s for s, t in zip(stems, truth) if t >= classes]
        raise BundleError(f"{label_file}: label out of range for a {classes}-class output: {_names(bad)}")
    k = min(TOPK, classes)
    top = ranking.top_k(logits, k)  # the guides' np.argsort(-prediction), ties and NaN included
    hits = top == truth[:, None]
    topk = [float(hits[:, : j + 1].any(axis=1).mean()) for j in range(k)]
    preds = dict(zip(stems, (top - label_offset).tolist()))
    nan = [stems[i] for i in np.flatnonzero(np.isnan(logits).any(axis=1))]
    return Accuracy(len(stems), classes, topk, preds, {s: labels[s] for s in stems}, nan, sorted(ignored))


def read_result(path: Path) -> dict[str, str] | None:
    """{key: value} of a result.json in the guides' format; None when missing; BundleError naming the
    file when it is not that format."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(v["key"]): str(v["value"]) for v in data["value"]}
    except (OSError, ValueError, KeyError, TypeError):
        raise BundleError(f"{path}: not a result.json in the guides' format (re-run make postprocess)") from None


def write_result(acc: Accuracy, out_dir: Path, name: str = "result.json") -> Path:
    """Write result.json (one line, exactly the guides' format) into ``out_dir``."""
    path = Path(out_dir) / name
    atomic.write_text(path, json.dumps(acc.result_json()))
    return path
