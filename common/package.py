"""``make package``: one model folder that travels — the model's scripts and architecture, its manifest
as ``manifest.toml``, a copy of ``common/``, the pinned requirements and the Apache-2.0 LICENSE.
Copied to another machine, it runs the guide's command lines with nothing else from this repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from common import atomic
from common.manifest import ROOT, Manifest

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def level(m: Manifest, result: Path | None) -> str:
    """modelzoo_level.txt from a full-ImageNet result: precision OK within 1 point of the upstream top-1."""
    func, prec = "NOK", "NOK"
    if result and result.is_file():
        values = {v["key"]: v["value"] for v in json.loads(result.read_text())["value"]}
        func = "OK"
        top1 = float(values["Top1 accuracy"].rstrip("%"))
        upstream = m.accuracy.get("upstream", {}).get("top1")
        if values["Number of images"] == "50000" and upstream is not None:
            prec = "OK" if top1 >= upstream - 1.0 else "NOK"
    return f"FuncStatus:{func}\nPrecisionStatus:{prec}\nAutoTune:NOK\nPerfStatus:NOK\n"


def build(m: Manifest, dest: Path, result: Path | None = None) -> Path:
    """Write the travelling folder ``dest/<model>`` atomically and return it."""
    target = Path(dest) / m.name
    with atomic.atomic_dir(target) as tmp:
        shutil.copytree(m.model_dir, tmp, dirs_exist_ok=True, ignore=IGNORE)
        shutil.copyfile(m.path, tmp / "manifest.toml")
        shutil.copytree(Path(__file__).resolve().parent, tmp / "common", ignore=IGNORE)
        for name in ("LICENSE", "requirements.txt"):
            shutil.copyfile(ROOT / name, tmp / name)
        (tmp / "modelzoo_level.txt").write_text(level(m, result))
    return target
