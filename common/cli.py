"""``python -m common <step>`` (or the ``modelzoo`` command): the steps the Makefile runs, each
idempotent and resumable. ``modelzoo --help`` lists them and every setting.

Settings come from flags (``--bs 8``), else the environment (``BS=8``, what make passes), else the
defaults of common/settings.py's TABLE. A step asks
``common.artifacts`` for what earlier steps wrote and reads those files; an artifact that is missing
or stale is (re)built there, once per process. A finished step is skipped on re-run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import atomic, backends, console, extras, lock, records, workdir
from .artifacts import Artifacts
from .config import Config
from .console import say
from .errors import BundleError, DiskFull, no_space
from .settings import Settings
from .watchdog import Stalled


# ---------------------------------------------------------------- model files
def weights_step(art: Artifacts) -> Path:
    path, _ = art.weights()
    say(f"weights: {path}")
    return path


def onnx_step(art: Artifacts) -> Path:
    return art.onnx()


def om_step(art: Artifacts) -> Path:
    return art.om()


# ---------------------------------------------------------------- dataset
def _prep_folder(art: Artifacts) -> dict:
    """The preprocessing folder for this dataset and preprocessing, its record stamped: a folder made for
    another one is started over. Returns the record's finished images ({name: fingerprint})."""
    from .images import list_images

    cfg = art.cfg
    val, _ = art.dataset()
    prep, mark = cfg.layout.prep_dir, cfg.layout.prep_record
    stamp = {"dataset": str(val.resolve()), **records.jsonable(cfg.model.preprocess)}
    workdir.refuse_link(prep)
    rec = records.read(mark)
    if rec is None and prep.is_dir() and any(prep.iterdir()):  # a record that does not parse is absent
        list_images(val)  # DATASET is valid before anything is deleted
        say(f"preprocess: {mark} is missing or unreadable: what {prep} holds is unknown; starting over")
        workdir.rmtree(prep)
    elif rec is not None and {k: v for k, v in rec.items() if k != "images"} != stamp:
        list_images(val)  # the new dataset is valid (one line if not) before the old .bin files go
        say(f"preprocess: {prep} holds another dataset or preprocessing; starting over")
        workdir.rmtree(prep)
        rec = None
    if rec is None:
        prep.mkdir(parents=True, exist_ok=True)
        atomic.write_json(mark, stamp)
    images = rec.get("images") if rec else None
    return images if isinstance(images, dict) else {}


def preprocess_step(art: Artifacts) -> Path:
    from . import preprocess

    cfg = art.cfg
    val, _ = art.dataset()
    prep, mark = cfg.layout.prep_dir, cfg.layout.prep_record
    _prep_folder(art)
    outcome = preprocess.run(
        val,
        prep,
        cfg.model.preprocess,
        progress=cfg.settings.progress,
        record=mark,
        shard=cfg.shard,
        bs=cfg.settings.bs,
    )
    say(f"preprocess: {prep}: {outcome}" + (f" (shard {cfg.shard})" if cfg.shard else ""))
    return prep


def info_step(art: Artifacts) -> Path:
    from . import dataset_info

    layout, m, shard = art.cfg.layout, art.cfg.model, art.cfg.shard
    if shard and not art.shard_stems():
        atomic.write_text(layout.info, "")
        why = f"fewer batches of BS={art.cfg.settings.bs} than shards"
        say(f"info: shard {shard} holds no images ({why}): {layout.info} is empty")
        return layout.info
    n = dataset_info.write_info("bin", str(layout.prep_dir), layout.info, m.width, m.height)
    say(f"info: {n} lines in {layout.info}")
    return layout.info


# ---------------------------------------------------------------- infer
def infer_step(art: Artifacts) -> dict:
    from . import outputs
    from .preprocess import fingerprint
    from .weights import cached_md5

    cfg = art.cfg
    streamed = cfg.settings.stream
    sources = art.stream_sources() if streamed else None  # STREAM=1: {<stem>.bin name: image}
    inputs = list(sources) if streamed else art.inputs()
    outputs.check_unique(inputs)  # x.a.bin and x.b.bin would both be x_0.*, on every backend
    gone = [] if streamed else [p for p in inputs if not p.is_file()]  # STREAM=1 names .bin files it never writes
    if gone:
        raise BundleError(
            f"{cfg.layout.info}: names {len(gone)} .bin file(s) that are not there (e.g. {gone[0]}): "
            "run `make preprocess info` again"
        )
    run = cfg.run
    setup = {"model": cached_md5(art.model_file()), "bs": cfg.settings.bs, "outfmt": cfg.settings.outfmt}
    kind = "images" if streamed else "bin"  # what the stamps fingerprint: the images (STREAM=1) or the .bin files
    stamps = {outputs.stem(p): fingerprint(sources[p] if streamed else p) for p in inputs}
    mark = run.file("infer.json")
    with art.runner() as runner:
        runner.prepare()  # the model loads (and the settings were valid) before anything is deleted
        feed = _stream_feed(art, runner, sources) if streamed else None
        rec = records.read(mark)
        old = {k: rec.get(k) for k in setup} if rec else None
        if old is None and run.outputs.exists():  # a record that does not parse is absent
            say(f"infer: {mark} is missing or unreadable: which model made {run.outputs} is unknown; starting over")
            workdir.rmtree(run.outputs)
        elif old != setup and run.outputs.exists():
            say("infer: model, batch size or format changed since the last run; starting over")
            workdir.rmtree(run.outputs)
        elif run.outputs.exists():
            known = rec.get("inputs") if rec and isinstance(rec.get("inputs"), dict) else {}
            known = known if rec.get("inputs_of", "bin") == kind else {}
            redone, removed = _reconcile(run.outputs, stamps, known, cfg.model.classes)
            if redone or removed:
                say(f"infer: {redone} output(s) redone (input changed), {removed} removed (input gone)")
        run.dir.mkdir(parents=True, exist_ok=True)
        # for make merge: which shard of which dataset this run holds
        shard = {"shard": str(cfg.shard), "backend": cfg.backend, "dataset": art.dataset_id()} if cfg.shard else {}
        records.write(mark, {**setup, **shard, "inputs": stamps, "inputs_of": kind})
        try:
            summary = runner.infer(inputs, run.outputs)
        finally:
            if feed is not None and feed.keep_bin:
                _record_bins(art, feed)
    how = f"streamed, {feed.workers} decode workers, " if feed is not None else ""
    say(
        f"infer: {summary.get('samples', len(inputs))} samples -> {run.outputs} "
        f"({how}{summary['throughput']:.1f} samples/s by {summary.get('timing_source', cfg.backend)})"
    )
    if feed is not None:
        from . import stream

        stream.check(feed)
    return summary


def _stream_feed(art: Artifacts, runner, sources: dict):
    """STREAM=1's feed for ``runner`` (which refuses it when its tool reads folders); KEEP_BIN=1 readies the
    preprocessing folder the workers also write."""
    from . import stream

    s = art.cfg.settings
    device = backends.get(art.cfg.backend).accelerator or "cpu" not in runner.describe().lower()
    workers = s.workers or stream.default_workers(device)
    feed = stream.StreamFeed(sources, art.cfg.model.preprocess, workers, s.ring, keep_bin=s.keep_bin)
    runner.stream(feed)
    if s.keep_bin:
        feed.finished = _prep_folder(art)
    return feed


def _record_bins(art: Artifacts, feed) -> None:
    """KEEP_BIN=1: the images whose .bin the workers finished join the preprocessing record (written once)."""
    from .preprocess import _write_record, fingerprint

    done = dict(feed.finished)
    done.update({img.name: fingerprint(img) for img in feed.written})
    _write_record(art.cfg.layout.prep_record, done)


def _reconcile(out_dir: Path, stamps: dict[str, list[int]], known: dict, width: int | None = None) -> tuple[int, int]:
    """Delete the outputs of inputs that changed (fingerprint differs from the one they were made
    from; without one, output older than input), are gone from the info file, or are unreadable or cut
    short (the first output holds ``width`` values, the model's classes)."""
    from . import outputs

    def whole(files: list[Path]) -> bool:
        return all(outputs.valid(f, width if f.stem.endswith("_0") else None) for f in files)

    redone = removed = 0
    for stem, files in outputs.files_by_stem(out_dir).items():
        if stem not in stamps:
            removed += 1
        elif known.get(stem) == stamps[stem] and whole(files):
            continue
        elif stem not in known and whole(files) and (min(f.stat().st_mtime_ns for f in files) >= stamps[stem][1]):
            continue
        else:
            redone += 1
        for f in files:
            atomic.remove(f)
    return redone, removed


# ---------------------------------------------------------------- postprocess
def postprocess_step(art: Artifacts) -> Path:
    from . import dataset_info, outputs, postprocess, sample

    cfg = art.cfg
    _, labels = art.dataset()
    info = cfg.layout.info
    if cfg.settings.stream:  # the images streamed, not a (maybe older) info file
        expect = [outputs.stem(p) for p in art.stream_sources()]
    else:
        expect = [outputs.stem(p) for p in dataset_info.read_info(info)] if info.is_file() else None
    # width: BIN is read as written, float32 or (ais_bench, an fp16 OM) float16
    acc = postprocess.evaluate(cfg.run.outputs, labels, cfg.model.label_offset, expect=expect, width=cfg.model.classes)
    path = postprocess.write_result(acc, cfg.run.dir)
    lines = [
        f"{stem}\tlabel {acc.labels[stem]} ({sample.class_name(acc.labels[stem])})\ttop-5: "
        + ", ".join(f"{c} {sample.class_name(c)}" for c in top)
        for stem, top in sorted(acc.predictions.items())
    ]
    atomic.write_text(cfg.run.file("predictions.txt"), "\n".join(lines) + "\n")
    atomic.write_json(cfg.run.file("predictions.json"), acc.predictions)
    records.write(cfg.run.file("scoring.json"), {"images": acc.images, "nan": acc.nan, "ignored": acc.ignored})
    for note in acc.notes():
        print(f"warning: postprocess: {note}", file=sys.stderr, flush=True)
    say(f"postprocess: {path}: " + path.read_text())
    return path


# ---------------------------------------------------------------- perf, report
def perf_step(art: Artifacts) -> Path:
    from . import charts, perf
    from .progress import bar

    cfg = art.cfg
    sizes = cfg.settings.perf_bs
    with art.runner() as runner, bar(total=len(sizes), desc="perf", unit="bs", enable=cfg.settings.progress) as pb:
        rows = []
        for bs in sizes:
            rows.append(runner.perf(bs))
            pb.update()
        device = runner.describe()
        extra = runner.record()
    cfg.run.dir.mkdir(parents=True, exist_ok=True)
    data, md = perf.write(cfg.model, rows, cfg.run.dir, device, extra)
    charts.throughput(records.read(data) or {}, cfg.run.dir, f"{cfg.model.title}: throughput against batch size")
    say(f"perf: {md}\n" + md.read_text())
    return md


def precision_step(art: Artifacts) -> list:
    """fp32 and fp16 (as ATC's precision modes run it) on the CPU: the OM's fp16 loss, predicted and located."""
    from . import precision

    return precision.run(art)


def report_step(art: Artifacts) -> Path:
    from . import report

    path = report.write(art)
    say(f"report: {path}")
    return path


def compare_step(art: Artifacts) -> Path:
    """compare.md: every finished run of this model (backends, batch sizes, hosts) in one table."""
    from . import compare

    path = compare.write(art.cfg.layout)
    say(f"compare: {path}\n" + path.read_text())
    return path


def all_step(art: Artifacts) -> None:
    _, labels = art.dataset()
    if not labels.is_file():  # found now, not after an hour of preprocessing and inference
        raise BundleError(f"LABELS={labels}: no such label file (val_label.txt; `make labels` writes it)")
    weights_step(art)
    onnx_step(art)
    if backends.needs(art.cfg.backend, backends.OM):
        om_step(art)
    if not art.cfg.settings.stream:  # STREAM=1: decoded into memory by infer
        preprocess_step(art)
        info_step(art)
    infer_step(art)
    postprocess_step(art)
    perf_step(art)
    if art.settings.precision:
        precision_step(art)
    report_step(art)


def merge_step(art: Artifacts) -> dict:
    """Join the outputs of the runs RUNS names (shards) into this run folder."""
    from . import merge

    cfg = art.cfg
    runs = merge.sources(cfg.settings.runs, cfg.run)
    merge.check(runs, art)  # one complete, disjoint, compatible split of this dataset, or one line saying why not
    data = merge.merge(runs, cfg.run)
    say(f"merge: {len(runs)} runs, {data['samples']} samples -> {cfg.run.outputs} (now run `make postprocess`)")
    return data


def show_step(art: Artifacts) -> None:
    """Print a run's per-image top-5, result.json and throughput table (what ``make demo`` ends with)."""
    for name in ("predictions.txt", "result.json", "perf.md"):
        path = art.cfg.run.file(name)
        print(f"\n==> {path}")
        print(path.read_text().rstrip() if path.is_file() else "(missing)")


def package_step(art: Artifacts) -> Path:
    from . import package

    cfg = art.cfg
    path, levels = package.build(cfg.model, cfg.layout)
    say(
        f"package: {path}: the ModelZoo submission folder (README.md from the runs in {cfg.layout.work}, "
        "LICENSE, requirements.txt, modelzoo_level.txt, test/); copy it anywhere, the guide's command lines run "
        "there: see its README.md"
    )
    for lv in levels:
        say(f"  {lv.key}:{lv.value}  ({lv.reason})")
    return path


def clean_step(art: Artifacts) -> None:
    """Remove this model's work folder, and nothing that is not one."""
    layout = art.cfg.layout
    work = layout.work
    if not work.exists() and not workdir.is_link(work):
        say(f"clean: {work} does not exist")
        return
    layout.check_owned()
    with lock.hold(layout.lock, f"make clean MODEL={art.cfg.model.name}"):  # not while a step runs there
        workdir.rmtree(work, " (WORK)")
    say(f"clean: removed {work}")


# ---------------------------------------------------------------- steps without a model
def models_step() -> None:
    import torch  # noqa: F401  (the full extra, checked before the table's first line)

    from . import manifest
    from .architecture import build, count_macs

    head = "| model | classes | parameters | GMAC counted (published) | upstream top-1/top-5 | guide OM top-1/top-5 |"
    print(head + "\n|" + "---|" * 6)
    for name in manifest.names():
        m = manifest.load(name)
        model = build(m.model_dir)
        params = sum(p.numel() for p in model.parameters())
        macs = count_macs(model, m.input_shape) / 1e9
        acc = {k: m.accuracy.get(k, {}) for k in ("upstream", "guide")}

        def fmt(a: dict) -> str:
            return f"{a.get('top1', '—')} / {a.get('top5', '—')}" if a else "—"

        tag = " (demo)" if m.demo else ""
        print(
            f"| {name}{tag} | {m.classes} | {params:,} | {macs:.2f} ({m.macs / 1e9:.2f}) | {fmt(acc['upstream'])} "
            f"| {fmt(acc['guide'])} |"
        )


def verify_step() -> None:
    from . import weights
    from .manifest import ROOT

    wdir = weights.weights_dir(Settings().weights_dir)
    rows = weights.verify_dir(wdir, ROOT / "checksums.md5")
    for name, status in rows:
        print(f"{name}: {status}")
    if any(s == "FAILED" for _, s in rows):
        raise BundleError(f"{wdir}: some weights do not match checksums.md5")


def labels_step() -> None:
    """val_label.txt for the 50,000 ImageNet validation images: written where a run reads it (LABELS, or
    beside DATASET) when missing, else checked against the guides' file (count, order, convention)."""
    from . import labels
    from .config import labels_path

    s = Settings()
    if s.dataset == "sample" and not s.labels:
        raise BundleError("DATASET=sample has its own labels: set LABELS=<path> (or DATASET=<ImageNet val>)")
    path = labels_path(s)
    if path.exists():
        report = labels.check_with_reference(path)
        print(report.text())
        if not report.ok:
            raise BundleError(
                f"{path} is not the guides' val_label.txt (see above); not overwriting it: move it away and "
                "run make labels again, or set LABELS=<another path>"
            )
        return
    digest = labels.write(path)
    print(
        f"labels: wrote {path}: {labels.IMAGES:,} lines, md5 {digest} — the guides' val_label.txt (0-based, "
        "sorted WNIDs; also for the 1001-class InceptionResNetV2, which adds its label_offset itself)"
    )


def sample_step() -> None:
    from . import sample

    val, labels = sample.build(Path(Settings().sample_dir))
    print(f"{val}\n{labels}")


STEPS = {
    "weights": weights_step,
    "onnx": onnx_step,
    "om": om_step,
    "preprocess": preprocess_step,
    "info": info_step,
    "infer": infer_step,
    "postprocess": postprocess_step,
    "perf": perf_step,
    "precision": precision_step,
    "report": report_step,
    "all": all_step,
    "show": show_step,
    "package": package_step,
    "compare": compare_step,
    "clean": clean_step,
    "merge": merge_step,
}
GLOBAL_STEPS = {"models": models_step, "verify": verify_step, "sample": sample_step, "labels": labels_step}


def configs(environ=None) -> list[Config]:
    """One config, or one per guide model for MODEL=all (each in its own work folder: WORK/<model>
    when WORK is set, else work/<model>)."""
    from . import manifest
    from .settings import BY_NAME

    env = os.environ if environ is None else environ
    s = Settings(env)
    if s.model != "all":
        return [Config.of(s)]
    parent = s.work if s.work != BY_NAME["WORK"].default_for({"MODEL": "all"}) else ""  # WORK set: WORK/<model>
    out = []
    for name in manifest.guide_models():
        each = {**env, "MODEL": name}
        each["WORK"] = str(Path(parent) / name) if parent else BY_NAME["WORK"].default_for(each)
        out.append(Config.from_env(each))
    return out


# what `modelzoo demo` / `make demo` runs: settings over the environment (flags still win), then all + show
DEMO = {
    "MODEL": "efficientnet-lite0",
    "WORK": "work/efficientnet-lite0",
    "DATASET": "sample",
    "BS": "4",
    "BACKEND": backends.fallback(),  # the backend that runs anywhere
    "PERF_BS": "1 4 8",
}
PRECEDENCE = (
    "Settings: a --flag over the environment variable of the same name (what make passes) over the default. "
    "Environment variables only (the Makefile's): "
)


def flag_name(s) -> str:
    """``--perf-bs`` for PERF_BS: every step setting of common/settings.py's TABLE is a flag."""
    return "--" + s.name.lower().replace("_", "-")


def parser() -> argparse.ArgumentParser:
    """``modelzoo [--version] <step> [--setting value ...]``, built from the step and settings tables."""
    from . import helptext, provenance
    from .settings import TABLE

    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("settings (also environment variables: --bs 8 is BS=8)")
    for s in TABLE:
        if s.scope == "step":
            default = f" [default: {s.default}]" if s.default else ""
            group.add_argument(
                flag_name(s), dest=s.name, metavar=s.name, default=argparse.SUPPRESS, help=s.help + default
            )
    make_only = ", ".join(s.name for s in TABLE if s.scope != "step")
    p = argparse.ArgumentParser(
        prog="modelzoo",
        usage="modelzoo [-h] [--version] [--SETTING VALUE ...] <step> [--SETTING VALUE ...]",
        description="ModelZoo inference bundle: the offline-inference pipeline of the ModelZoo ImageNet "
        "classifiers (make help lists the same steps as make targets).",
        epilog=f"{PRECEDENCE}{make_only}. `modelzoo <step> --help` runs nothing.",
        parents=[flags],
    )
    p.add_argument("--version", action="version", version=f"modelzoo {provenance.bundle_version()}")
    sub = p.add_subparsers(dest="step", metavar="<step>", title="steps")
    sub.required = True
    for name, text in {**helptext.STEP_HELP, **helptext.GLOBAL_HELP}.items():
        sub.add_parser(
            name,
            help=text,
            description=text,
            parents=[flags],
            usage=f"modelzoo {name} [-h] [--SETTING VALUE ...]",
            epilog=PRECEDENCE + make_only + ".",
        )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = vars(parser().parse_args(argv))  # --help, --version, unknown arguments: exit here, nothing ran
    step = args.pop("step")
    if step == "demo":
        os.environ.update(DEMO)
    os.environ.update(args)  # flag over environment over default
    try:
        if step == "demo":
            for name in ("all", "show"):
                _run(name)
        else:
            _run(step)
    except Stalled as exc:  # a device call still runs in its thread: end without waiting for it
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(2)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        why = extras.hint(exc, step)
        if why is None:
            raise
        print(f"error: modelzoo {step} {why}", file=sys.stderr)
        return 2
    except OSError as exc:
        if not no_space(exc):
            raise
        where = exc.filename or _given_work() or "the work folder"
        print(f"error: {DiskFull(where)}", file=sys.stderr)  # copytree's shutil.Error lists every file
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished files are kept, re-run to resume", file=sys.stderr)
        return 130
    return 0


def _given_work() -> str:
    """WORK when the environment (or a flag) sets it, for a message; '' when unset or the settings are invalid."""
    try:
        s = Settings()
    except BundleError:
        return ""
    return s.work if "WORK" in s.given else ""


def _run(step: str) -> None:
    if step in GLOBAL_STEPS:
        GLOBAL_STEPS[step]()
        return
    for cfg in configs():
        console.set_model(cfg.model.name)
        if step in ("show", "clean"):
            STEPS[step](Artifacts(cfg))
            continue
        cfg.layout.claim()
        with lock.hold(cfg.layout.lock, f"make {step} MODEL={cfg.model.name}"):
            workdir.check_tree(cfg.layout.work, cfg.run.dir)  # no link is followed where the step writes
            STEPS[step](Artifacts(cfg))


def entry() -> None:
    """The ``modelzoo`` console command."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
