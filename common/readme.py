"""A model folder's README.md: a hand-written part, and a part generated between two markers from the
manifest and the run records — what the model is, where its checkpoint comes from, the guide's steps
as commands that work in the folder, and the measured results beside the published ones.

``make package`` (and test/eval_acc_perf.sh in a travelled folder) rewrites only what lies between
the markers; everything outside them is kept as written. The same records give the same text.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from . import guide
from .level import Level
from .manifest import Manifest
from .runs import Run

BEGIN = "<!-- generated: begin (make package rewrites this part from manifest.toml and the run records) -->"
END = "<!-- generated: end (hand-written text below this line is kept) -->"
SHOWN_VERSIONS = ("python", "torch", "onnx", "onnxruntime", "onnxruntime-gpu", "numpy", "pillow", "ais_bench")


def _cmd(argv) -> str:
    return "python3 " + shlex.join([str(a) for a in argv])


def _model(m: Manifest) -> list[str]:
    up = m.upstream
    pre = m.preprocess
    classes = f"{m.classes}"
    if m.label_offset:
        classes += f" (class 0 = background: postprocess adds {m.label_offset} to the labels of val_label.txt)"
    batch = "dynamic (`-1`)" if not m.static_batch else "static: one file per batch size"
    rows = [
        ("model", f"{m.title}" + (f" — [paper]({m.paper})" if m.paper else "")),
        ("upstream", f"{up.get('repo', '')} @ `{up.get('commit', '')[:7]}`, `{up.get('source', '')}`"),
        ("parameters", f"{m.parameters:,}" + (f" ({m.macs / 1e9:.2f} GMAC per image)" if m.macs else "")),
        ("classes", classes),
        (
            "input",
            f"`{m.input_name}`: N x {m.input_shape[0]} x {m.height} x {m.width} float32, {pre.channel_order}; "
            f"short side to {pre.resize} ({pre.interpolation}), centre crop {pre.crop}, "
            f"mean {' '.join(f'{v:g}' for v in pre.mean)}, std {' '.join(f'{v:g}' for v in pre.std)}",
        ),
        ("ONNX", f"`{m.onnx_file}`, opset {m.opset}, input `{m.input_name}`, output `{m.output_name}`, batch {batch}"),
        ("OM", f"`om/{m.om_output}.om` (ATC)"),
    ]
    if up.get("note"):
        rows.append(("note", up["note"]))
    return ["## Model", "", "| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], ""]


def _checkpoint(m: Manifest) -> list[str]:
    w = m.weights
    md5 = f"md5 `{w.md5}`" if w.md5 else "no md5 published: the first verified download prints it (pin it)"
    lines = ["## Checkpoint", "", f"`{w.file}`, {md5}."]
    if w.urls:
        lines += ["", "Download (mirrors, tried in order):", ""] + [f"- {u}" for u in w.urls]
    if w.where:
        lines += ["", f"Also: {w.where}."]
    if w.package:
        lines += ["", f"Shipped by the Python package `{w.package}`."]
    return lines + [""]


def _steps(m: Manifest) -> list[str]:
    v = guide.values(m)
    bs = v["bs"]
    out = ["## The guide's steps, in this folder", ""]
    out += [
        "Python 3.7-3.13 with numpy and Pillow>=9.1 runs the light steps (preprocess, dataset info, postprocess, "
        "env.sh, test/parse.py); the export and the whole job need Python 3.11-3.13 and `pip install -r "
        "requirements.txt` (its environment markers install only what fits the interpreter).",
        "",
        "```bash",
        "source env.sh    # CANN's environment where it is installed (harmless without it)",
        f"export MODEL={m.name} WORK=. WEIGHTS=./{m.weights.file}    # for the bundle's own steps (python3 -m common)",
    ]
    first = {step: m.guide_command(step) for step in ("pth2onnx", "preprocess", "gen_dataset_info", "postprocess")}
    out.append(_cmd(guide.fill(first["pth2onnx"].argv, v)))
    out += [
        f"BS={bs} python3 -m common om    # ONNX -> om/{m.om_name(bs)}.om: ATC with the flags of `make om`",
    ]
    for step in ("preprocess", "gen_dataset_info"):
        out.append(_cmd(guide.fill(first[step].argv, v)))
    out += [
        f"BS={bs} RUN=result_bs{bs} python3 -m common infer    # ais_bench where an NPU is, else ONNX Runtime",
        f"#   the same as: python3 -m ais_bench --model om/{m.om_name(bs)}.om --input {v['prep']} "
        f"--output ./result_bs{bs} --output_dirname outputs --outfmt TXT --batchsize {bs}",
    ]
    out.append(_cmd(guide.fill(first["postprocess"].argv, v)))
    out += ["```", ""]
    shorts = [f"`{c.script}` = `{c.step}.py`" for c in first.values() if c.script != c.step + ".py"]
    if shorts:
        out += ["The short names take the same arguments: " + ", ".join(shorts) + "."]
    later = [c for c in m.commands if c is not first[c.step]]
    if later:
        out += ["", "Also accepted, as later upstream READMEs and scripts write them:", "", "```bash"]
        out += [f"{_cmd(guide.fill(c.argv, v))}    # {c.source}" for c in later]
        out += ["```"]
    out += [
        "",
        "The whole ModelZoo test, as upstream's `test/` scripts run it (OM and ais_bench where CANN and an NPU "
        "are present, ONNX Runtime elsewhere, and it says which):",
        "",
        "```bash",
        'bash test/pth2om.sh [--soc_version=Ascend310P3] [--batch_sizes="1 16"]',
        'bash test/eval_acc_perf.sh --datasets_path=/root/datasets [--batch_sizes="1 16"]'
        "   # <path>/imagenet/val, <path>/imagenet/val_label.txt",
        "```",
        "",
        "`val_label.txt`: `make labels` in the bundle writes it (50,000 lines, 0-based labels in sorted-WNID "
        "order); `python3 -m common.labels check <file>` here says which convention a file follows.",
        "",
    ]
    return out


def _num(x) -> str:
    return f"{x:.10g}"


def _fmt(x: float | None, suffix: str = "%") -> str:
    return "—" if x is None else _num(x) + suffix


def _prediction(m: Manifest, rec: dict | None) -> list[str]:
    """The fp16 prediction of ``make precision`` (its headline record) as a row of the accuracy table."""
    if not rec:
        return []
    up = m.accuracy.get("upstream", {}).get("top1")
    acc = rec.get("fp16") or {}
    top1 = acc.get("top1")
    delta = "—" if top1 is None or up is None else f"{top1 - up:+.2f}"
    n = rec["images"]
    what = (
        f"fp16 predicted on the CPU (`make precision`, {rec['mode']}; top-1 same as fp32 on "
        f"{rec['top1_agree']}/{n}, {len(rec.get('changed') or [])} changed)"
    )
    return [f"| prediction | {what} | | {n:,} | {_fmt(top1)} | {_fmt(acc.get('top5'))} | {delta} |"]


def _results(m: Manifest, runs: list[Run], prediction: dict | None = None) -> list[str]:
    out = ["## Results", ""]
    if not runs:
        out += [
            f"No run recorded yet. `make MODEL={m.name} all` in the bundle, or `bash test/eval_acc_perf.sh` here, "
            "records runs; `make package` then puts their accuracy and throughput here, beside the published "
            "figures below.",
            "",
        ]
    up = m.accuracy.get("upstream", {}).get("top1")
    out += ["| | what ran | bs | images | top-1 | top-5 | top-1 vs upstream |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        delta = "—" if r.top1 is None or up is None else f"{r.top1 - up:+.2f}"
        images = f"{r.images:,}" if r.images else "—"
        out.append(
            f"| run `{r.name}` | {r.ran or r.backend or '?'} | {r.bs or '?'} | {images} | {_fmt(r.top1)} | "
            f"{_fmt(r.top5)} | {delta} |"
        )
    out += _prediction(m, prediction)
    for key, label in (("upstream", "published, upstream"), ("guide", "published, the guide's OM")):
        a = m.accuracy.get(key)
        if a:
            out.append(f"| {label} | {a.get('source', '')} | | | {_fmt(a.get('top1'))} | {_fmt(a.get('top5'))} | |")
    out.append("")
    measured = [r for r in runs if r.perf]
    sizes = sorted({row.bs for r in measured for row in r.perf} | {b for t in m.throughput for b in t.fps})
    head = ["bs"] + [f"`{r.name}`" for r in measured] + [f"{t.device} (published, {t.note})" for t in m.throughput]
    out += ["Throughput, samples/s:", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for bs in sizes:
        cells = [str(bs)]
        for r in measured:
            row = next((x for x in r.perf if x.bs == bs), None)
            if row is None:
                cells.append("—")
                continue
            fps, how = r.card(row)
            cells.append(f"{fps:.1f}" + (f" ({how})" if how.startswith("Atlas") else ""))
        cells += [_num(t.fps[bs]) if bs in t.fps else "—" for t in m.throughput]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if measured:
        notes = sorted({f"`{r.name}`: {r.perf_device or r.ran}; {r.perf[0].method}" for r in measured})
        out += ["How each run measured: " + "; ".join(notes) + ". The published columns are not measured here.", ""]
    if runs:
        names = [k for k in SHOWN_VERSIONS if any(k in r.versions for r in runs)]
        head = ["run", "host", "date", "backend", "chip"] + names
        out += ["Where the runs ran:", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in runs:
            cells = [f"`{r.name}`", f"{r.host or '?'} ({r.machine or '?'})", r.date or "?", r.ran or r.backend]
            cells += [r.soc or "—"] + [r.versions.get(k, "—") for k in names]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return out


def _levels(found: list[Level]) -> list[str]:
    out = ["## ModelZoo level (`modelzoo_level.txt`)", "", "| | level | why |", "|---|---|---|"]
    out += [f"| {lv.key} | {lv.value} | {lv.reason} |" for lv in found]
    return out + [""]


def generated(m: Manifest, runs: list[Run], found: list[Level], prediction: dict | None = None) -> str:
    """The generated part, markers included (``prediction``: make precision's headline record)."""
    body = _model(m) + _checkpoint(m) + _steps(m) + _results(m, runs, prediction) + _levels(found)
    return BEGIN + "\n\n" + "\n".join(body).rstrip("\n") + "\n\n" + END


def refresh(text: str, block: str) -> str:
    """``text`` with its generated part replaced by ``block`` (appended when it has none): the
    hand-written parts before and after the markers are kept as they are."""
    if BEGIN in text and END in text.split(BEGIN, 1)[1]:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + block + tail
    return (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"


def write(
    path: Path,
    m: Manifest,
    runs: list[Run],
    found: list[Level],
    source: Path | None = None,
    prediction: dict | None = None,
) -> Path:
    """Write ``path``: the hand-written parts of ``source`` (default: ``path`` itself) around a fresh
    generated part."""
    from . import atomic

    src = Path(source or path)
    text = src.read_text(encoding="utf-8") if src.is_file() else f"# {m.title}\n"
    atomic.write_text(path, refresh(text, generated(m, runs, found, prediction)))
    return Path(path)


if __name__ == "__main__":  # python -m common.readme models: the committed READMEs' generated part (no run)
    import sys

    from . import level, manifest

    if sys.argv[1:] != ["models"]:
        print("usage: python -m common.readme models", file=sys.stderr)
        sys.exit(2)
    for name in manifest.guide_models():
        m = manifest.load(name)
        print(write(Path(m.model_dir) / "README.md", m, [], level.levels(m, [])))
