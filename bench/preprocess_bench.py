"""Benchmark 1: the bundle's ``common.preprocess.run`` (all usable cores) vs two single-process
baselines on the same ~200 JPEGs: the guides' pipeline as their scripts run it (``bench.baseline_torchvision``:
torchvision's transforms over PIL, then numpy; the issue's yardstick) and the same arithmetic written
plainly in PIL + numpy (``bench.baseline_preprocess``, a faster yardstick), interleaved (torchvision,
baseline, bundle, bundle with 1 worker, ...): wall clock and CPU time (self + children), every output
compared byte for byte. Also the start-up: ``python -m common preprocess`` on one
image, as a whole process, against the baseline script doing the same."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import baseline_preprocess, baseline_torchvision, images, report
from bench.report import table
from common import manifest
from common import preprocess as bundle

MODELS = ("inceptionresnetv2", "sk-resnet50")
ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SHA = ROOT / "tests" / "data" / "preprocess_sha256.json"
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
    """Both baselines against the reference SHA-256 of the original photos, when that file is present."""
    if not REFERENCE_SHA.is_file():
        return "reference hashes not available"
    want = json.loads(REFERENCE_SHA.read_text()).get(name, {})
    data = images.skimage_data()
    bgr = pre.channel_order == "BGR"
    bad = [
        f"{mod.__name__.split('.')[-1]}:{photo}"
        for mod in (baseline_torchvision, baseline_preprocess)
        for photo, sha in want.items()
        if hashlib.sha256(
            mod.one(data / photo, pre.resize, pre.interpolation, pre.crop, pre.mean, pre.std, bgr).tobytes()
        ).hexdigest()
        != sha
    ]
    return f"both baselines match the reference SHA-256 on {len(want)} photos" if not bad else f"MISMATCH: {bad}"


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def startup(model: str, image: Path, repeats: int = 5) -> dict:
    """Seconds for a whole ``python -m common preprocess`` process on a one-image dataset (interpreter,
    imports, settings, manifest, lock, the image, exit), and for the baseline script doing the same."""
    folder = report.RESULTS / "startup"
    val = folder / "val"
    val.mkdir(parents=True, exist_ok=True)
    if not (val / image.name).is_file():
        shutil.copyfile(image, val / image.name)
    env = {**os.environ, "MODEL": model, "DATASET": str(val), "PROGRESS": "0", "PYTHONPATH": str(ROOT)}
    times: dict[str, list[float]] = {"bundle": [], "baseline": []}
    for _ in range(repeats):
        for side in times:
            work = folder / f"work-{side}"
            shutil.rmtree(work, ignore_errors=True)
            cmd = [sys.executable, "-m", "common", "preprocess"]
            if side == "baseline":
                cmd = [sys.executable, "-m", "bench.baseline_preprocess", model, str(val), str(work)]
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env={**env, "WORK": str(work)}, check=True, capture_output=True)
            times[side].append(time.perf_counter() - t0)
    return {k: {"median": statistics.median(v), "min": min(v), "runs": v} for k, v in times.items()}


def run(quick: bool = False) -> dict:
    rounds = 2 if quick else 3
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
        one_dir = report.RESULTS / "pre" / name / "bundle-1"
        tv_dir = report.RESULTS / "pre" / name / "torchvision"
        sides = (("torchvision", tv_dir), ("baseline", base_dir), ("bundle", bund_dir), ("bundle_1", one_dir))
        times: dict[str, list[float]] = {side: [] for side, _ in sides}
        cpu: dict[str, list[float]] = {side: [] for side, _ in sides}
        for _ in range(rounds):
            for side, dst in sides:
                shutil.rmtree(dst, ignore_errors=True)
                c0, t0 = _cpu(), time.perf_counter()
                if side == "torchvision":
                    n = baseline_torchvision.run(imgs, dst, pre)
                elif side == "baseline":
                    n = baseline_preprocess.run(imgs, dst, pre)
                else:
                    workers = 1 if side == "bundle_1" else None
                    n = bundle.run(folder, dst, pre, workers=workers, progress=False).written
                times[side].append(time.perf_counter() - t0)
                cpu[side].append(_cpu() - c0)
                assert n == len(imgs), f"{side} wrote {n} of {len(imgs)} images"
        same, count, why = _identical(base_dir, bund_dir)
        same_1, _, why_1 = _identical(base_dir, one_dir)
        same_tv, _, why_tv = _identical(base_dir, tv_dir)
        same, why = same and same_1 and same_tv, why or why_1 or why_tv
        ips = {side: len(imgs) / statistics.median(t) for side, t in times.items()}
        cpu_ms = {side: 1000 * statistics.median(c) / len(imgs) for side, c in cpu.items()}
        per_round = [b / u for b, u in zip(times["baseline"], times["bundle"], strict=True)]
        per_round_tv = [b / u for b, u in zip(times["torchvision"], times["bundle"], strict=True)]
        results.append(
            {
                "model": name,
                "resize": pre.resize,
                "crop": pre.crop,
                "interpolation": pre.interpolation,
                "images": len(imgs),
                "rounds": rounds,
                "seconds": times,
                "cpu_seconds": cpu,
                "baseline_images_per_s": ips["baseline"],
                "bundle_images_per_s": ips["bundle"],
                "ratio": ips["bundle"] / ips["baseline"],
                "ratio_per_round": per_round,
                "torchvision_images_per_s": ips["torchvision"],
                "ratio_torchvision": ips["bundle"] / ips["torchvision"],
                "ratio_torchvision_per_round": per_round_tv,
                "cpu_ratio_torchvision": cpu_ms["torchvision"] / cpu_ms["bundle"],
                "bundle_1_images_per_s": ips["bundle_1"],
                "ratio_1_worker": ips["bundle_1"] / ips["baseline"],
                "cpu_ms_per_image": cpu_ms,
                "cpu_ratio": cpu_ms["baseline"] / cpu_ms["bundle"],
                "cpu_ratio_1_worker": cpu_ms["baseline"] / cpu_ms["bundle_1"],
                "byte_identical": same,
                "files_compared": count,
                "difference": why,
                "reference": _reference_check(name, pre),
            }
        )
    start = startup(MODELS[0], imgs[0], repeats=3 if quick else 5)
    return {
        "benchmark": "preprocess",
        "workers": len(os.sched_getaffinity(0)),
        "results": results,
        "startup_seconds": start,
    }


def markdown(data: dict) -> str:
    rows = []
    for r in data["results"]:
        spread_tv = f"{min(r['ratio_torchvision_per_round']):.2f}–{max(r['ratio_torchvision_per_round']):.2f}"
        cpu = r["cpu_ms_per_image"]
        rows.append(
            [
                r["model"],
                f"{r['resize']}/{r['crop']} {r['interpolation']}",
                r["images"],
                f"{r['torchvision_images_per_s']:.1f}",
                f"{r['baseline_images_per_s']:.1f}",
                f"{r['bundle_images_per_s']:.1f}",
                f"**{r['ratio_torchvision']:.2f}×** ({spread_tv})",
                f"{r['ratio']:.2f}×",
                f"{r['bundle_1_images_per_s']:.1f} ({r['ratio_1_worker']:.2f}×)",
                f"{cpu['torchvision']:.2f} / {cpu['baseline']:.2f} / {cpu['bundle']:.2f} / {cpu['bundle_1']:.2f}",
                ("✓" if r["byte_identical"] else "✗ " + r["difference"]) + f" ({r['files_compared']} files)",
            ]
        )
    head = [
        "model",
        "resize/crop",
        "images",
        "guides' pipeline (torchvision) img/s",
        "PIL + numpy img/s",
        f"bundle img/s ({data['workers']} workers)",
        "bundle / guides' (per round)",
        "bundle / PIL + numpy",
        "bundle img/s, 1 worker (vs PIL + numpy)",
        "CPU ms/img torchvision / PIL+numpy / bundle / 1 worker",
        "byte-identical",
    ]
    notes = "\n".join(f"- {r['model']}: {r['reference']}" for r in data["results"])
    st = data["startup_seconds"]
    notes += (
        f"\n- start-up, a whole process on one image (median of {len(st['bundle']['runs'])}): "
        f"`python -m common preprocess` {st['bundle']['median']:.2f} s, the baseline script "
        f"{st['baseline']['median']:.2f} s"
    )
    return (
        f"### Preprocess throughput (median of {data['results'][0]['rounds']} interleaved rounds)\n\n"
        + table(head, rows)
        + "\n\n"
        + notes
    )
