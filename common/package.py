"""``make package``: the model's ModelZoo submission folder, one folder that travels.

``<WORK>/package/<model>/`` holds the model's scripts under the short names and the guide's names,
its architecture and env.sh, its manifest as ``manifest.toml``, a copy of ``common/``, the Apache-2.0
LICENSE, a short ``requirements.txt``, ``README.md`` (the hand-written part of models/<model>/README.md
around a part generated from the manifest and the run records in WORK), ``modelzoo_level.txt`` (from
the same records) and ``test/{pth2om.sh,eval_acc_perf.sh,parse.py}``. Copied to another machine, it runs
the guide's command lines with nothing else from this repository. It is written atomically, and the
same sources and records give the same files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from . import atomic, level, precision, readme, submission, workdir
from .layout import Layout
from .manifest import ROOT, TRAVELLED, Manifest
from .runs import read_runs

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "README.md")
EXECUTABLE = 0o755


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)


def build(m: Manifest, layout: Layout, dest: Path | None = None) -> tuple[Path, list[level.Level]]:
    """Write the submission folder ``<dest or WORK/package>/<model>`` and return it with its levels."""
    runs = read_runs(layout.runs())
    found = level.levels(m, runs)
    target = Path(dest or layout.package_dir) / m.name
    workdir.refuse_link(target.parent)  # WORK/package itself: never written through a link
    workdir.remove_stale_tmp(target.parent, m.name)  # a killed run's hidden folder (the lock is held)
    with atomic.atomic_dir(target) as tmp:
        shutil.copytree(m.model_dir, tmp, dirs_exist_ok=True, ignore=IGNORE)
        shutil.copyfile(m.path, tmp / TRAVELLED)
        shutil.copytree(Path(__file__).resolve().parent, tmp / "common", ignore=IGNORE)
        shutil.copyfile(ROOT / "LICENSE", tmp / "LICENSE")
        _write(tmp / "requirements.txt", submission.requirements(m, ROOT))
        _write(tmp / "modelzoo_level.txt", level.text(found))
        prediction = precision.headline_record(layout)  # make precision's fp16 prediction, beside the OM figures
        readme.write(tmp / "README.md", m, runs, found, source=Path(m.model_dir) / "README.md", prediction=prediction)
        _write(tmp / "test" / "pth2om.sh", submission.pth2om_sh(m), EXECUTABLE)
        _write(tmp / "test" / "eval_acc_perf.sh", submission.eval_sh(m), EXECUTABLE)
        _write(tmp / "test" / "parse.py", submission.PARSE_PY)
        # its scripts run with WORK=.: a work folder the bundle made
        workdir.create_new(tmp / workdir.MARKER, (json.dumps({"model": m.name}) + "\n").encode())
    return target, found
