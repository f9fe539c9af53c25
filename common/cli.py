"""``python -m common <step>``: the steps the Makefile runs, each idempotent and resumable.

Settings come from the environment (see common/config.py and ``make help``). Every step reads the
files the previous one wrote and nothing else; a finished step is skipped on re-run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from common import atomic
from common.config import GUIDE_DATASET, GUIDE_LABELS, Config
from common.errors import BundleError


def say(msg: str) -> None:
    print(f"[{os.environ.get('MODEL', '')}] {msg}" if os.environ.get("MODEL") else msg, flush=True)


# ---------------------------------------------------------------- weights
def weights_step(cfg: Config) -> tuple[Path, bool]:
    """Return the verified weights path and whether its md5 was checked against the manifest."""
    from common import weights

    spec = weights.WeightsSpec.from_table(cfg.model.weights)
    wdir = Path(cfg.weights_dir) if cfg.weights_dir else weights.default_weights_dir()
    path = weights.ensure(
        spec, wdir, given=Path(cfg.weights) if cfg.weights else None, verify=cfg.verify, progress=_progress()
    )
    return path, bool(spec.md5) and cfg.verify


def _progress() -> bool:
    from common.progress import enabled

    return enabled()


def _stamp(path: Path) -> dict:
    st = Path(path).stat()
    return {"file": str(Path(path).resolve()), "size": st.st_size, "mtime": int(st.st_mtime)}


# ---------------------------------------------------------------- onnx
def onnx_step(cfg: Config, bs: int | None = None, quiet: bool = False) -> Path:
    from common import checkpoint, export, sample

    bs = bs or cfg.bs
    out = cfg.onnx_path(bs)
    wpath, verified = weights_step(cfg)
    record = out.with_suffix(".parity.json")
    if out.is_file() and record.is_file():
        try:
            if json.loads(record.read_text()).get("weights") == _stamp(wpath):
                if not quiet:
                    say(f"onnx: {out} is up to date (parity: {record})")
                return out
        except json.JSONDecodeError:
            pass
    model = checkpoint.load_model(cfg.model, wpath, trust=cfg.trust, md5_verified=verified)
    images = sample.parity_images(cfg.model.preprocess)
    say(
        f"onnx: exporting {cfg.model.name} (opset {cfg.model.opset}, "
        f"{'static batch ' + str(bs) if cfg.model.static_batch else 'dynamic batch -1'}) -> {out}"
    )
    result = export.convert(model, cfg.model, out, bs if cfg.model.static_batch else 1, images, cfg.simplify)
    rec = {**asdict(result), "weights": _stamp(wpath)}
    atomic.write_json(record, rec, indent=1)
    say(
        f"onnx: parity on {len(images)} photos: max abs diff {result.max_abs_diff:.3g} "
        f"(tolerance {result.tolerance:.3g}), top-1 {result.top1_agree}/{len(images)}, "
        f"top-5 identical {result.top5_agree}/{len(images)}; {result.simplify_note}"
    )
    return out


# ---------------------------------------------------------------- om
def om_step(cfg: Config, bs: int | None = None) -> Path:
    from common import ascend

    bs = bs or cfg.bs
    onnx = onnx_step(cfg, bs)
    om = ascend.om_step(  # ATC_EXTRA is read by common/atc.py itself
        cfg.model,
        onnx,
        cfg.work,
        bs,
        soc=os.environ.get("SOC") or None,
        log=os.environ.get("LOG") or "error",
        dynamic_batch=os.environ.get("DYNAMIC_BATCH") or None,
    )
    say(f"om: {om}")
    return om


# ---------------------------------------------------------------- dataset
def dataset(cfg: Config) -> tuple[Path, Path]:
    """The image folder and label file this run uses (``DATASET=sample`` builds the bundled one)."""
    from common import sample

    if cfg.dataset == "sample":
        val, labels = sample.build(cfg.sample_dir)
        return val, Path(cfg.labels) if cfg.labels else labels
    val = Path(cfg.dataset)
    if not val.is_dir():
        hint = " (the guides' default)" if cfg.dataset == GUIDE_DATASET else ""
        raise BundleError(
            f"DATASET={val}{hint} does not exist: point DATASET at the ImageNet val images and "
            "LABELS at val_label.txt, or run with DATASET=sample for the bundled photos"
        )
    if cfg.labels:
        labels = Path(cfg.labels)
    elif cfg.dataset == GUIDE_DATASET:
        labels = Path(GUIDE_LABELS)
    else:
        labels = val.parent / "val_label.txt"
    return val, labels


def preprocess_step(cfg: Config) -> Path:
    from common import preprocess

    val, _ = dataset(cfg)
    stamp = {"dataset": str(val.resolve()), **asdict(cfg.model.preprocess)}
    stamp["mean"], stamp["std"] = list(stamp["mean"]), list(stamp["std"])
    mark = cfg.prep_dir / ".source.json"
    if mark.is_file() and json.loads(mark.read_text()) != stamp:
        say(f"preprocess: {cfg.prep_dir} holds another dataset or preprocessing; starting over")
        shutil.rmtree(cfg.prep_dir)
    cfg.prep_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(mark, stamp)
    n = preprocess.run(val, cfg.prep_dir, cfg.model.preprocess, progress=_progress())
    say(f"preprocess: {n} new .bin files in {cfg.prep_dir}")
    return cfg.prep_dir


def info_step(cfg: Config) -> Path:
    from common import dataset_info

    n = dataset_info.write_info("bin", str(cfg.prep_dir), cfg.info_path, cfg.model.width, cfg.model.height)
    say(f"info: {n} lines in {cfg.info_path}")
    return cfg.info_path


# ---------------------------------------------------------------- infer
def model_file(cfg: Config, bs: int | None = None) -> Path:
    """The file the backend runs: the checkpoint for PyTorch, the ONNX for ONNX Runtime, else the OM."""
    bs = bs or cfg.bs
    if cfg.backend == "torch":
        return weights_step(cfg)[0]
    if cfg.backend == "onnx":
        return onnx_step(cfg, bs, quiet=True)
    return om_step(cfg, bs)


_TORCH_MODELS: dict[str, object] = {}


def session(cfg: Config, bs: int | None = None):
    """An in-process backend (ONNX Runtime or PyTorch) able to run batches of ``bs``."""
    from common.backends import open_backend

    if cfg.backend != "torch":
        return open_backend(cfg.backend, model_file(cfg, bs), device=cfg.device)
    from common import checkpoint
    from common.backends.pytorch import TorchBackend

    if cfg.model.name not in _TORCH_MODELS:
        path, verified = weights_step(cfg)
        _TORCH_MODELS[cfg.model.name] = checkpoint.load_model(cfg.model, path, trust=cfg.trust, md5_verified=verified)
    return TorchBackend(_TORCH_MODELS[cfg.model.name], cfg.model.input_name, cfg.device)


def infer_step(cfg: Config) -> dict:
    from common import dataset_info, runner
    from common.weights import cached_md5

    if not cfg.info_path.is_file():
        raise BundleError(f"{cfg.info_path}: no dataset info file yet (run `make info` first)")
    inputs = dataset_info.read_info(cfg.info_path)
    path = model_file(cfg)
    stamp = {
        "model": cached_md5(path),
        "inputs": cached_md5(cfg.info_path),
        "bs": cfg.bs,
        "outfmt": cfg.outfmt,
    }
    mark = cfg.run_dir / "infer.json"
    if mark.is_file() and json.loads(mark.read_text()) != stamp and cfg.outputs_dir.exists():
        say("infer: model, inputs or format changed since the last run; starting over")
        shutil.rmtree(cfg.outputs_dir)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(mark, stamp)
    shape = cfg.model.input_shape
    if cfg.backend in ("onnx", "torch"):
        backend = session(cfg)
        summary = runner.infer(
            backend,
            inputs,
            cfg.bs,
            cfg.outputs_dir,
            shape,
            cfg.outfmt,
            _progress(),
            args={"model": str(path), "device": cfg.device},
        )
    elif cfg.backend == "om":
        from common import ascend

        summary = ascend.infer_om(
            cfg.model,
            path,
            inputs,
            cfg.bs,
            cfg.outputs_dir,
            cfg.outfmt,
            tuple(cfg.device.split(",")),
            _progress(),
        )
    else:
        from common import ascend

        summary = ascend.infer_benchmark(cfg.model, path, cfg.info_path, cfg.bs, cfg.outputs_dir, cfg.device)
    say(
        f"infer: {summary.get('samples', len(inputs))} samples -> {cfg.outputs_dir} "
        f"({summary['throughput']:.1f} samples/s by {summary.get('timing_source', cfg.backend)})"
    )
    return summary


# ---------------------------------------------------------------- postprocess
def postprocess_step(cfg: Config) -> Path:
    from common import dataset_info, postprocess, sample

    _, labels = dataset(cfg)
    expect = [p.stem for p in dataset_info.read_info(cfg.info_path)] if cfg.info_path.is_file() else None
    acc = postprocess.evaluate(cfg.outputs_dir, labels, expect=expect)
    path = postprocess.write_result(acc, cfg.run_dir)
    shift = 1 if acc.classes == 1001 else 0
    lines = [
        f"{stem}\tlabel {acc.labels[stem] - shift} ({sample.class_name(acc.labels[stem] - shift)})\ttop-5: "
        + ", ".join(f"{c - shift} {sample.class_name(c - shift)}" for c in top)
        for stem, top in sorted(acc.predictions.items())
    ]
    atomic.write_text(cfg.run_dir / "predictions.txt", "\n".join(lines) + "\n")
    top5 = {stem: [c - shift for c in top] for stem, top in acc.predictions.items()}
    atomic.write_json(cfg.run_dir / "predictions.json", top5)
    say(f"postprocess: {path}: " + path.read_text())
    return path


# ---------------------------------------------------------------- perf
def perf_step(cfg: Config) -> Path:
    from common import perf

    if cfg.backend in ("onnx", "torch"):

        def open_for(bs: int):
            return session(cfg, bs)

        rows, device = perf.sweep(
            open_for,
            cfg.model,
            cfg.perf_bs,
            progress=_progress(),
            min_seconds=float(os.environ.get("PERF_SECONDS", "1")),
        )
    else:
        from common import ascend

        rows, device = [], "Ascend NPU"
        dev = cfg.device.split(",")[0]
        for bs in cfg.perf_bs:
            if cfg.backend == "benchmark":
                got = ascend.perf_benchmark(model_file(cfg, bs), bs, dev)
            else:
                got = ascend.perf_om(
                    cfg.model, model_file(cfg, bs), bs, dev, loop=int(os.environ.get("PERF_LOOP") or 100)
                )
            rows.append(perf.row(bs, got["latency_ms"] or [1000.0 * bs / got["throughput"]], got["source"]))
            rows[-1].samples_per_s = got["throughput"]
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    _, md = perf.write(cfg.model, rows, cfg.run_dir, device)
    say(f"perf: {md}\n" + md.read_text())
    return md


# ---------------------------------------------------------------- report
def report_step(cfg: Config) -> Path:
    from common import report

    path = report.write(cfg)
    say(f"report: {path}")
    return path


def compare_step(cfg: Config) -> Path:
    """compare.md: every finished run of this model (backends, batch sizes, hosts) in one table."""
    from common import compare

    path = compare.write(cfg.work)
    say(f"compare: {path}\n" + path.read_text())
    return path


def all_step(cfg: Config) -> None:
    weights_step(cfg)
    onnx_step(cfg)
    if cfg.backend in ("om", "benchmark"):
        om_step(cfg)
    preprocess_step(cfg)
    info_step(cfg)
    infer_step(cfg)
    postprocess_step(cfg)
    perf_step(cfg)
    report_step(cfg)


def show_step(cfg: Config) -> None:
    """Print a run's per-image top-5, result.json and throughput table (what ``make demo`` ends with)."""
    for name in ("predictions.txt", "result.json", "perf.md"):
        path = cfg.run_dir / name
        print(f"\n==> {path}")
        print(path.read_text().rstrip() if path.is_file() else "(missing)")


def models_step(_cfg: Config | None = None) -> None:
    from common import manifest
    from common.architecture import build
    from common.flops import count_macs

    head = "| model | classes | parameters | GMAC counted (published) | upstream top-1/top-5 | guide OM top-1/top-5 |"
    print(head + "\n|" + "---|" * 6)
    for name in manifest.names():
        m = manifest.load(name)
        model = build(m.model_dir)
        params = sum(p.numel() for p in model.parameters())
        macs = count_macs(model, m.input_shape) / 1e9
        acc = {k: m.accuracy.get(k, {}) for k in ("upstream", "guide")}
        fmt = lambda a: f"{a.get('top1', '—')} / {a.get('top5', '—')}" if a else "—"  # noqa: E731
        tag = " (demo)" if m.demo else ""
        print(
            f"| {name}{tag} | {m.classes} | {params:,} | {macs:.2f} ({m.macs / 1e9:.2f}) | {fmt(acc['upstream'])} "
            f"| {fmt(acc['guide'])} |"
        )


def verify_step(_cfg: Config | None = None) -> None:
    from common import weights
    from common.manifest import ROOT

    wdir = Path(os.environ.get("WEIGHTS_DIR") or weights.default_weights_dir())
    rows = weights.verify_dir(wdir, ROOT / "checksums.md5")
    for name, status in rows:
        print(f"{name}: {status}")
    if any(s == "FAILED" for _, s in rows):
        raise BundleError(f"{wdir}: some weights do not match checksums.md5")


def package_step(cfg: Config) -> Path:
    from common import package

    result = cfg.run_dir / "result.json"
    path = package.build(cfg.model, cfg.work / "package", result if result.is_file() else None)
    say(f"package: {path} (copy this folder anywhere; see its README.md)")
    return path


STEPS = {
    "weights": weights_step,
    "onnx": onnx_step,
    "om": om_step,
    "preprocess": preprocess_step,
    "info": info_step,
    "infer": infer_step,
    "postprocess": postprocess_step,
    "perf": perf_step,
    "report": report_step,
    "all": all_step,
    "show": show_step,
    "package": package_step,
    "compare": compare_step,
}
GLOBAL_STEPS = {"models": models_step, "verify": verify_step}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in {**STEPS, **GLOBAL_STEPS, "sample": None}:
        print(f"usage: python -m common <{'|'.join([*STEPS, *GLOBAL_STEPS, 'sample'])}>", file=sys.stderr)
        return 2
    from common.weights import WeightsError

    try:
        if argv[0] in GLOBAL_STEPS:
            GLOBAL_STEPS[argv[0]]()
        elif argv[0] == "sample":
            from common import sample

            val, labels = sample.build(Path(os.environ.get("SAMPLE_DIR") or "work/sample"))
            print(f"{val}\n{labels}")
        else:
            STEPS[argv[0]](Config.from_env())
    except (BundleError, WeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished files are kept, re-run to resume", file=sys.stderr)
        return 130
    return 0
