"""``make merge RUNS=...``: join the outputs of several runs (shards of one dataset, run on other hosts
or NPUs) into one run folder, so that postprocess gives the result.json of a single-host run."""

from __future__ import annotations

import filecmp
import glob
import os
import shutil
from pathlib import Path

from . import atomic, outputs, records, summary, workdir
from .errors import BundleError
from .layout import RunLayout


def sources(spec: str, target: RunLayout) -> list[RunLayout]:
    """The run folders RUNS names (space-separated, globs allowed), the target itself excluded."""
    found: list[Path] = []
    for item in spec.split():
        matches = sorted(glob.glob(item)) or [item]
        found += [Path(m) for m in matches]
    runs = [RunLayout(p) for p in dict.fromkeys(found) if p.resolve() != target.dir.resolve()]
    if not runs:
        raise BundleError("RUNS is empty: name the run folders to merge, e.g. RUNS='work/shard*/onnx-bs16-shard*'")
    for r in runs:
        if not r.outputs.is_dir():
            raise BundleError(f"RUNS: {r.dir} is not a run folder (no outputs/ in it)")
    return runs


def check(runs: list[RunLayout], art) -> None:
    """Prove ``runs`` are one complete, disjoint, compatible split of DATASET: each a finished shard
    (its infer.json) of the same model file, BS, OUTFMT and backend as this merge, of the same dataset as
    DATASET holds now, every shard i of N exactly once, each holding the outputs of exactly its slice."""
    from .images import list_images
    from .shard import Shard

    cfg = art.cfg
    want = {"bs": cfg.settings.bs, "outfmt": cfg.settings.outfmt, "backend": cfg.backend}
    dataset = art.dataset_id()
    val, _ = art.dataset()
    images = list_images(val)
    seen: dict[int, Path] = {}
    count = model = None
    for run in runs:
        rec = records.read(run.file("infer.json"))
        if rec is None:
            raise BundleError(f"RUNS: {run.file('infer.json')} is missing or unreadable: not a finished shard run")
        try:
            shard = Shard.parse(str(rec.get("shard") or ""))
        except BundleError:
            shard = None
        if shard is None:
            raise BundleError(f"RUNS: {run.dir} is not a shard (its infer.json names no SHARD=i/N): nothing to merge")
        for key, value in want.items():
            if rec.get(key) != value:
                raise BundleError(f"RUNS: {run.dir} ran with {key.upper()}={rec.get(key)}, this merge has {value}")
        model = rec.get("model") if model is None else model
        if rec.get("model") != model:
            raise BundleError(f"RUNS: {run.dir} ran another model file (md5 {rec.get('model')}, not {model})")
        if rec.get("dataset") != dataset:
            raise BundleError(
                f"RUNS: {run.dir} split another dataset than DATASET={val} holds now ({rec.get('dataset')} vs "
                f"{dataset}: images added, removed or changed since): re-run that shard"
            )
        count = shard.count if count is None else count
        if shard.count != count:
            raise BundleError(f"RUNS: {run.dir} is shard {shard} but another run is one of {count} shards")
        if shard.index in seen:
            raise BundleError(f"RUNS: shard {shard} is given twice ({seen[shard.index]} and {run.dir})")
        seen[shard.index] = run.dir
        expect = {p.stem for p in shard.slice(images, cfg.settings.bs)}
        got = set(outputs.files_by_stem(run.outputs))
        if got != expect:
            missing, extra = sorted(expect - got), sorted(got - expect)
            what = [f"{len(missing)} output(s) missing (e.g. {missing[0]})"] if missing else []
            what += [f"{len(extra)} not of its slice (e.g. {extra[0]})"] if extra else []
            raise BundleError(f"RUNS: {run.dir} (shard {shard}) is incomplete or mixed: {'; '.join(what)}; re-run it")
    absent = [f"{i}/{count}" for i in range(count or 0) if i not in seen]
    if absent:
        raise BundleError(f"RUNS: shard(s) {', '.join(absent)} missing: every shard i of {count} must be named once")


def _place(src: Path, dest: Path) -> bool:
    """Hard-link (or copy) ``src`` to ``dest``; False when an identical file is already there."""
    if dest.exists():
        if filecmp.cmp(src, dest, shallow=False):
            return False
        raise BundleError(f"{src} and {dest} differ: two runs hold different outputs for one image")
    try:
        os.link(src, dest)
    except OSError:
        with atomic.atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
    return True


def merge(runs: list[RunLayout], target: RunLayout) -> dict:
    """Place every output of ``runs`` into ``target``'s outputs and write the merged summary."""
    if target.outputs.is_dir():  # a re-merge starts from nothing: no output of an earlier merge stays
        workdir.rmtree(target.outputs)  # never through a link; a failure is one line
    target.outputs.mkdir(parents=True, exist_ok=True)
    placed = 0
    filesinfo: dict = {}
    times: list[float] = []
    per_run: dict[str, float] = {}
    samples = 0
    first: dict = {}
    for run in runs:
        for files in outputs.files_by_stem(run.outputs).values():
            placed += sum(_place(f, target.outputs / f.name) for f in files)
        s = summary.read(run.outputs) or {}
        first = first or s
        samples += int(s.get("samples", 0))
        times += [float(t) for t in s.get("npu_compute_time_list", [])]
        per_run[str(run.dir)] = float(s.get("throughput", 0.0))
        for info in (s.get("filesinfo") or {}).values():
            outs = [str(target.outputs / Path(p).name) for p in info.get("outfiles", [])]
            filesinfo[str(len(filesinfo))] = {"infiles": info.get("infiles", []), "outfiles": outs}
    args = {**summary.args_dict(first), "merged_from": [str(r.dir) for r in runs]}
    data = summary.build(
        filesinfo=filesinfo,
        args=args,
        compute_ms=times,
        samples=samples,
        samples_run=samples,
        timing_source=first.get("timing_source", "merged"),
        throughput=sum(per_run.values()),  # the shards ran side by side
        throughput_per_run=per_run,
    )
    summary.write(target.outputs, data)
    records.write(target.file("merge.json"), {"sources": [str(r.dir) for r in runs], "placed": placed})
    return data
