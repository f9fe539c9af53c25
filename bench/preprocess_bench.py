"""Benchmark 1: the bundle's ``common.preprocess.run`` (all usable cores) vs the plain single-process
baseline, on the same ~200 JPEGs, interleaved (baseline, bundle, baseline, bundle, ...)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import time
from pathlib import Path

from bench import baseline_preprocess, images, report
from bench.report import table
from common import manifest
from common import preprocess as bundle

MODELS = ("inceptionresnetv2", "sk-resnet50")
REFERENCE_SHA = Path(__file__).resolve().parent.parent / "tests" / "data" / "preprocess_sha256.json"
QUICK_IMAGES = 24


def _identical(a: Path, b: Path) -> tuple[bool, int, str]:
    fa = sorted(p.name for p in a.glob("*.bin"))
    fb = sorted(p.name for p in b.glob("*.bin"))
    if fa != fb:
        return False, 0, f"file lists differ ({len(fa)} vs {len(fb)})"
    for name in fa:
        if (a / name).read_bytes() != (b / name).read_bytes():
            return False, len(fa), f"{name} differs"
    return True, len(fa), ""


def _reference_check(name: str, pre) -> str:
    """The baseline against the reference SHA-256 of the original photos, when that file is present."""
    if not REFERENCE_SHA.is_file():
        return "reference hashes not available"
    want = json.loads(REFERENCE_SHA.read_text()).get(name, {})
    data = images.skimage_data()
    bad = [
        photo
        for photo, sha in want.items()
        if hashlib.sha256(
            baseline_preprocess.one(
                data / photo, pre.resize, pre.interpolation, pre.crop, pre.mean, pre.std, pre.channel_order == "BGR"
            ).tobytes()
        ).hexdigest()
        != sha
    ]
    return f"baseline matches reference SHA-256 on {len(want)} photos" if not bad else f"MISMATCH: {bad}"


def run(quick: bool = False) -> dict:
    rounds = 1 if quick else 3
    folder = report.RESULTS / "images"
    imgs = images.build(folder)
    if quick:  # a few of the images, in a folder of their own
        small = report.RESULTS / "images-quick"
        small.mkdir(parents=True, exist_ok=True)
        for p in imgs[:: max(1, len(imgs) // QUICK_IMAGES)][:QUICK_IMAGES]:
            if not (small / p.name).is_file():
                shutil.copyfile(p, small / p.name)
        folder, imgs = small, sorted(small.glob("*.jpg"))
    results = []
    for name in MODELS:
        pre = manifest.load(name).preprocess
        base_dir, bund_dir = report.RESULTS / "pre" / name / "baseline", report.RESULTS / "pre" / name / "bundle"
        times: dict[str, list[float]] = {"baseline": [], "bundle": []}
        for _ in range(rounds):
            for side, dst in (("baseline", base_dir), ("bundle", bund_dir)):
                shutil.rmtree(dst, ignore_errors=True)
                t0 = time.perf_counter()
                if side == "baseline":
                    n = baseline_preprocess.run(imgs, dst, pre)
                else:
                    n = bundle.run(folder, dst, pre, progress=False).written
                times[side].append(time.perf_counter() - t0)
                assert n == len(imgs), f"{side} wrote {n} of {len(imgs)} images"
        same, count, why = _identical(base_dir, bund_dir)
        ips = {side: len(imgs) / statistics.median(t) for side, t in times.items()}
        per_round = [b / u for b, u in zip(times["baseline"], times["bundle"], strict=True)]
        results.append(
            {
                "model": name,
                "resize": pre.resize,
                "crop": pre.crop,
                "interpolation": pre.interpolation,
                "images": len(imgs),
                "rounds": rounds,
                "seconds": times,
                "baseline_images_per_s": ips["baseline"],
                "bundle_images_per_s": ips["bundle"],
                "ratio": ips["bundle"] / ips["baseline"],
                "ratio_per_round": per_round,
                "byte_identical": same,
                "files_compared": count,
                "difference": why,
                "reference": _reference_check(name, pre),
            }
        )
    return {"benchmark": "preprocess", "workers": len(os.sched_getaffinity(0)), "results": results}


def markdown(data: dict) -> str:
    rows = []
    for r in data["results"]:
        spread = f"{min(r['ratio_per_round']):.2f}–{max(r['ratio_per_round']):.2f}"
        rows.append(
            [
                r["model"],
                f"{r['resize']}/{r['crop']} {r['interpolation']}",
                r["images"],
                f"{r['baseline_images_per_s']:.1f}",
                f"{r['bundle_images_per_s']:.1f}",
                f"{r['ratio']:.2f}×",
                spread,
                ("✓" if r["byte_identical"] else "✗ " + r["difference"]) + f" ({r['files_compared']} files)",
            ]
        )
    head = [
        "model",
        "resize/crop",
        "images",
        "baseline img/s (1 process)",
        f"bundle img/s ({data['workers']} workers)",
        "bundle/baseline",
        "per-round ratio",
        "byte-identical",
    ]
    notes = "\n".join(f"- {r['model']}: {r['reference']}" for r in data["results"])
    return (
        f"### Preprocess throughput (median of {data['results'][0]['rounds']} interleaved rounds)\n\n"
        + table(head, rows)
        + "\n\n"
        + notes
    )
