"""``make precision``: the OM's fp16 accuracy, predicted and located on any CPU before the NPU.

An OM runs in fp16 (ATC's ``--precision_mode`` defaults to ``force_fp16`` on Ascend 310/310P). Here
the model's ONNX is converted to fp16 with onnxconverter-common (``convert_float_to_float16(model,
keep_io_types=True)``) and run with ONNX Runtime's CPU provider, which wraps the kernels it lacks in
fp16 with casts, so every tensor between layers is rounded to fp16 as on the device. fp32 and fp16 run
on the same preprocessed inputs; the record says how often top-1 / top-5 agree, the accuracy of both
where labels exist, which outputs hold inf/NaN and which images changed their top-1. For those images
(or the worst by logit error) every intermediate tensor of both models is compared, naming the first
nodes whose relative error jumps and every tensor leaving fp16's range (|x| > 65504).

Modes, as ATC's ``--precision_mode`` values:
- ``force_fp16``: every op in fp16.
- ``allow_mix_precision``: the op types of ``MIX_BLOCK_LIST`` kept in fp32 (``op_block_list``). CANN
  publishes no such list: its docs (ATC's ``--modify_mixlist``) say the blocklist is the op types whose
  ``precision_reduce`` flag is ``false`` in the installed ``opp/built-in/op_impl/ai_core/tbe/config/
  <soc>/aic-<soc>-ops-info.json``. ``MIX_BLOCK_LIST`` is the bundle's own choice, not CANN's list.
- ``must_keep_origin_dtype``: fp32 as exported (the reference; agreement 100 % by construction).
The headline mode is ``PRECISION_MODE``, else ``ATC_EXTRA``'s ``--precision_mode``, else the chip's
default (``force_fp16``). Variants are cached in ``WORK/precision/`` under a key of the ONNX's md5, the
mode, the block list and the converter's version.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from pathlib import Path

from . import atomic, backends, records
from .console import say
from .errors import BundleError

MODES = ("force_fp16", "allow_mix_precision", "must_keep_origin_dtype")
DEFAULT_MODES = ("force_fp16", "allow_mix_precision")  # simulated when PRECISION_MODE is not set
CHIP_DEFAULT = "force_fp16"  # ATC's default --precision_mode on Ascend 310 / 310P (FACTS.md §4)
FP16_MAX = 65504.0
# NOT CANN's list (CANN ships it only inside an installed toolkit, see the module docstring): the ONNX op
# types of exponentials, logarithms, powers, roots, divisions and reductions, whose range or accumulation
# is what fp16 loses first; the bundle keeps them in fp32 for allow_mix_precision.
MIX_BLOCK_LIST = (
    "Exp",
    "Log",
    "Pow",
    "Sqrt",
    "Reciprocal",
    "Div",
    "Softmax",
    "LogSoftmax",
    "ReduceMean",
    "ReduceSum",
    "ReduceSumSquare",
    "ReduceL2",
    "ReduceLogSumExp",
    "LayerNormalization",
    "Erf",
)
BLOCK_LIST_SOURCE = (
    "the bundle's list of range- and accumulation-sensitive op types (CANN's blocklist is the ops with "
    "precision_reduce flag false in the installed aic-<soc>-ops-info.json; no public copy)"
)
LOCATE_IMAGES = 3  # images whose every tensor is compared
JUMPS = 5  # nodes named per image
TOPK = 5


def converter():
    """onnxconverter-common's float16 module, or one line saying how to install it."""
    try:
        from onnxconverter_common import float16
    except ImportError:
        raise BundleError(
            "make precision needs onnxconverter-common: pip install onnxconverter-common==1.16.0 "
            "(in requirements.txt and the bundle's full extra)"
        ) from None
    return float16


def converter_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("onnxconverter-common")
    except metadata.PackageNotFoundError:
        return "?"


# ---------------------------------------------------------------------------------------------- modes
def atc_mode(atc_extra: str) -> str | None:
    """The ``--precision_mode`` in ATC_EXTRA (``--precision_mode=x`` or ``--precision_mode x``), if any."""
    try:
        words = shlex.split(atc_extra or "")
    except ValueError:
        return None
    for i, w in enumerate(words):
        if w.startswith("--precision_mode="):
            return w.split("=", 1)[1]
        if w == "--precision_mode" and i + 1 < len(words):
            return words[i + 1]
    return None


def headline(settings) -> tuple[str, str]:
    """(mode, why) of the mode the OM was or will be built with."""
    if getattr(settings, "precision_mode", ""):
        return settings.precision_mode, "PRECISION_MODE"
    found = atc_mode(settings.atc_extra)
    if found in MODES:
        return found, "ATC_EXTRA's --precision_mode"
    if found:
        say(f"precision: ATC_EXTRA's --precision_mode={found} is not simulated here; showing {CHIP_DEFAULT}")
    return CHIP_DEFAULT, "ATC's default on Ascend 310/310P"


def modes(settings, first: str | None = None) -> list[str]:
    """The modes to simulate, the headline (``first``, default ``headline(settings)``) first."""
    first = first or headline(settings)[0]
    if getattr(settings, "precision_mode", ""):
        return [first]
    return [first] + [m for m in DEFAULT_MODES if m != first]


# -------------------------------------------------------------------------------------------- variants
def convert(model, mode: str):
    """The fp16 ``ModelProto`` of ``model`` as ATC's ``mode`` would run it (a copy; fp32 I/O kept)."""
    import warnings

    if mode == "must_keep_origin_dtype":
        return model
    float16 = converter()
    block = list(MIX_BLOCK_LIST) if mode == "allow_mix_precision" else None
    with warnings.catch_warnings():  # one warning per weight below fp16's range
        warnings.simplefilter("ignore")
        kwargs = {"op_block_list": block} if block is not None else {}
        return float16.convert_float_to_float16(model, keep_io_types=True, **kwargs)


def key(onnx_md5: str, mode: str) -> str:
    """The cache key of a variant: the ONNX's md5, the mode, the block list and the converter."""
    what = {"onnx": onnx_md5, "mode": mode, "block": list(MIX_BLOCK_LIST), "converter": converter_version()}
    return hashlib.md5(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


def variant(layout, onnx_path: Path, mode: str) -> Path:
    """The cached fp16 variant of ``onnx_path`` for ``mode`` (converted when missing or stale)."""
    from .weights import cached_md5

    onnx_path = Path(onnx_path)
    if mode == "must_keep_origin_dtype":
        return onnx_path
    converter()
    target = layout.precision_onnx(onnx_path, mode, key(cached_md5(onnx_path), mode))
    if target.is_file():
        say(f"precision: {mode}: {target} (cached)")
        return target
    import onnx

    try:
        out = convert(onnx.load(str(onnx_path)), mode)
    except Exception as exc:  # noqa: BLE001 - onnx and the converter raise several unrelated types
        raise BundleError(f"{onnx_path}: cannot make its {mode} variant ({str(exc).splitlines()[0][:200]})") from None
    for old in layout.precision_variants(onnx_path, mode):  # only the bundle's own, of this ONNX and mode
        atomic.remove(old)
    atomic.write_bytes(target, out.SerializeToString())
    say(f"precision: {mode}: converted {onnx_path.name} -> {target}")
    return target


# ------------------------------------------------------------------------------------------------ runs
def _session(model):
    """An ONNX Runtime CPU session of a path or a ``ModelProto``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    src = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    try:
        return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types for a bad model
        raise BundleError(
            f"{model if isinstance(model, (str, Path)) else 'model'}: ONNX Runtime cannot load it "
            f"({str(exc).splitlines()[0][:200]})"
        ) from None


def _batches(images: list[Path], pre, bs: int):
    """(paths, float32 N x C x H x W) batches of the guides' preprocessing."""
    import numpy as np

    from .preprocess import transform

    for i in range(0, len(images), bs):
        chunk = images[i : i + bs]
        arrays = []
        for p in chunk:
            try:
                arrays.append(transform(p, pre))
            except OSError as exc:
                raise BundleError(f"{p}: not an image Pillow can read ({exc})") from None
        yield chunk, np.stack(arrays)


def _run(sess, x, static: int | None):
    """The first output of ``sess`` on ``x`` (padded to a static batch and cut back) as float32."""
    import numpy as np

    n = len(x)
    if static and n < static:
        x = np.concatenate([x, np.repeat(x[-1:], static - n, axis=0)])
    name = sess.get_inputs()[0].name
    return np.asarray(sess.run(None, {name: x})[0], dtype=np.float32)[:n].reshape(n, -1)


def predict(fp32: Path, fp16: Path, images: list[Path], pre, bs: int, static: bool, progress: bool, desc: str) -> dict:
    """fp32 and fp16 over ``images``: per image top-5 of both, max |logit diff|, non-finite outputs."""
    import numpy as np

    from . import ranking
    from .progress import bar

    s32, s16 = _session(fp32), _session(fp16)
    fixed = bs if static else None
    out = {"top5_fp32": {}, "top5_fp16": {}, "diff": {}, "nonfinite_fp16": [], "nonfinite_fp32": []}
    seconds = {"fp32": 0.0, "fp16": 0.0}
    warm = False
    with bar(total=len(images), desc=desc, unit="img", enable=progress) as pb:
        for chunk, x in _batches(images, pre, bs):
            if not warm:  # the first run of a session allocates; it is not timed
                _run(s32, x, fixed)
                _run(s16, x, fixed)
                warm = True
            t = time.perf_counter()
            a = _run(s32, x, fixed)
            seconds["fp32"] += time.perf_counter() - t
            t = time.perf_counter()
            b = _run(s16, x, fixed)
            seconds["fp16"] += time.perf_counter() - t
            k = min(TOPK, a.shape[1])
            ta, tb = ranking.top_k(a, k), ranking.top_k(b, k)
            for i, p in enumerate(chunk):
                name = p.name
                out["top5_fp32"][name] = ta[i].tolist()
                out["top5_fp16"][name] = tb[i].tolist()
                fa, fb = np.isfinite(a[i]).all(), np.isfinite(b[i]).all()
                if not fa:
                    out["nonfinite_fp32"].append(name)
                if not fb:
                    out["nonfinite_fp16"].append(name)
                d = np.abs(a[i].astype(np.float64) - b[i])
                out["diff"][name] = float(np.nanmax(d)) if np.isfinite(d).any() else float("inf")
            pb.update(len(chunk))
    out["seconds"] = seconds
    return out


# ---------------------------------------------------------------------------------------------- locate
def _all_outputs(model) -> tuple:
    """A copy of ``model`` whose every node output is a graph output, and {tensor: (node, index)}."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    where = {}
    for node in m.graph.node:
        for i, t in enumerate(node.output):
            if not t:
                continue
            where[t] = (node.name, i, node.op_type)
            if t not in have and node.op_type != "Constant":
                m.graph.output.append(onnx.ValueInfoProto(name=t))
                have.add(t)
    return m, where


class Locator:
    """Every intermediate tensor of an fp32 model and its fp16 variant, compared per image.

    The fp16 model's nodes keep the fp32 model's names (the converter adds only Cast nodes, for
    keep_io_types and blocked ops), so a tensor maps back by (node name, output index)."""

    def __init__(self, model32, model16) -> None:
        self.m32, self.where32 = _all_outputs(model32)
        self.m16, where16 = _all_outputs(model16)
        by_node = {(n, i): t for t, (n, i, _) in where16.items()}
        self.pairs = []  # (fp32 tensor, fp16 tensor, node name, op type), in graph order
        for node in model32.graph.node:
            if node.op_type == "Constant":
                continue
            for i, t in enumerate(node.output):
                if t and (node.name, i) in by_node:
                    self.pairs.append((t, by_node[(node.name, i)], node.name, node.op_type))
        self.inputs = {t: [x for x in node.input if x] for node in model32.graph.node for t in node.output}
        self.s32, self.s16 = _session(self.m32), _session(self.m16)

    def compare(self, x) -> dict:
        """{"jumps": first nodes whose relative error jumps, "overflow": nodes leaving fp16's range}."""
        import numpy as np

        names32 = [o.name for o in self.s32.get_outputs()]
        names16 = [o.name for o in self.s16.get_outputs()]
        feed32 = {self.s32.get_inputs()[0].name: x}
        feed16 = {self.s16.get_inputs()[0].name: x}
        v32 = dict(zip(names32, self.s32.run(None, feed32), strict=True))
        v16 = dict(zip(names16, self.s16.run(None, feed16), strict=True))
        rel, rows, overflow = {}, [], []
        for t32, t16, node, op in self.pairs:
            a, b = v32.get(t32), v16.get(t16)
            if a is None or b is None or a.dtype.kind != "f" or b.dtype.kind != "f" or a.shape != b.shape:
                continue
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            peak = float(np.max(np.abs(a64))) if a64.size else 0.0
            finite = bool(np.isfinite(b64).all())
            err = np.linalg.norm((b64 - a64).ravel()) / max(np.linalg.norm(a64.ravel()), 1e-12) if finite else np.inf
            rel[t32] = float(err)
            before = max([rel.get(i, 0.0) for i in self.inputs.get(t32, [])] or [0.0])
            row = {
                "node": node,
                "op": op,
                "tensor": t32,
                "rel_err": float(err),
                "inputs_rel_err": before,
                "max_abs": peak,
            }
            rows.append(row)
            if peak > FP16_MAX or (not finite and bool(np.isfinite(a64).all())):
                overflow.append(row)
        floor = 1e-4
        jumps = [r for r in rows if r["rel_err"] >= 1e-3 and r["rel_err"] > 2 * max(r["inputs_rel_err"], floor)]
        jumps.sort(key=lambda r: -r["rel_err"] / max(r["inputs_rel_err"], floor))
        order = {r["node"]: i for i, r in enumerate(rows)}
        top = sorted(jumps[:JUMPS], key=lambda r: order[r["node"]])
        worst = max(rows, key=lambda r: r["rel_err"]) if rows else None
        return {"jumps": top, "overflow": overflow[:JUMPS], "overflow_count": len(overflow), "worst": worst}


def locate(fp32: Path, fp16: Path, images: list[Path], pre, progress: bool = False) -> list[dict]:
    """Compare every tensor of both models (batch 1) on each of ``images``, one at a time."""
    import onnx

    from .progress import bar

    if not images:
        return []
    loc = Locator(onnx.load(str(fp32)), onnx.load(str(fp16)))
    found = []
    with bar(total=len(images), desc="precision: locating", unit="img", enable=progress) as pb:
        for chunk, x in _batches(images, pre, 1):
            found.append({"image": chunk[0].name, **loc.compare(x)})
            pb.update()
    return found


# ---------------------------------------------------------------------------------- measured runs
def measured(layout, rec: dict, offset: int) -> list[dict]:
    """The OM and TensorRT fp16 runs of this work folder, their top-1 set beside the prediction's."""
    from .runs import read_run

    p32, p16 = rec["top5_fp32"], rec["top5_fp16"]
    stems = {Path(name).stem: name for name in p32}
    out = []
    for run in layout.runs():
        info = records.read(run.file("run.json")) or {}
        r = read_run(run.dir)
        trt = backends.fp16_variant(info, r.ran or "")
        if not (r.om or run.dir.name.startswith("om-") or trt):
            continue
        preds = records.read(run.file("predictions.json")) or {}
        common = [s for s in preds if s in stems and isinstance(preds[s], list) and preds[s]]
        same32 = sum(preds[s][0] + offset == p32[stems[s]][0] for s in common)
        same16 = sum(preds[s][0] + offset == p16[stems[s]][0] for s in common)
        out.append(
            {
                "run": run.dir.name,
                "kind": "TensorRT fp16" if trt else "OM",
                "ran": r.ran,
                "images": r.images,
                "top1": r.top1,
                "top5": r.top5,
                "common": len(common),
                "top1_same_fp32": same32,
                "top1_same_fp16": same16,
            }
        )
    return out


# ------------------------------------------------------------------------------------------------ step
def _acc(top: dict, truth: dict) -> dict | None:
    if not truth:
        return None
    n = len(truth)
    t1 = sum(top[s][0] == c for s, c in truth.items())
    t5 = sum(c in top[s] for s, c in truth.items())
    return {"top1": round(100 * t1 / n, 2), "top5": round(100 * t5 / n, 2), "images": n}


def inputs(art) -> tuple[list[Path], dict[str, int]]:
    """The images (DATASET=sample: its photos; else the first PRECISION_N, 0 all) and their labels."""
    from .dataset_info import read_labels
    from .images import list_images

    val, labels_file = art.dataset()
    images = list_images(val)
    n = art.settings.precision_n
    if n:
        images = images[:n]
    if not images:
        raise BundleError(f"DATASET={val}: no images")
    labels = read_labels(labels_file) if Path(labels_file).is_file() else {}
    truth = {p.name: labels[p.stem] + art.cfg.model.label_offset for p in images if p.stem in labels}
    return images, truth


def run(art) -> list[dict]:
    """``make precision``: each mode's record (``WORK/precision/<mode>.json``), the headline first."""
    from .preprocess import fingerprint
    from .weights import cached_md5

    cfg, layout = art.cfg, art.cfg.layout
    m, s = cfg.model, art.settings
    converter()
    images, truth = inputs(art)  # the dataset is checked before any model is made
    onnx_path = art.onnx(cfg.settings.bs)
    md5 = cached_md5(onnx_path)
    head, why = headline(s)
    stamp = {
        "onnx_md5": md5,
        "images": hashlib.md5(json.dumps([[p.name, fingerprint(p)] for p in images]).encode()).hexdigest(),
        "preprocess": records.jsonable(m.preprocess),
        "bs": cfg.settings.bs,
        "converter": converter_version(),
        "block_list": list(MIX_BLOCK_LIST),
    }
    done = []
    for mode in modes(s, head):
        path = layout.precision_record(mode)
        rec = records.read(path)
        if rec and rec.get("stamp") == {**stamp, "mode": mode}:
            say(f"precision: {mode}: {path} is up to date")
        else:
            rec = _simulate(art, onnx_path, mode, images, truth, {**stamp, "mode": mode}, s.progress)
        rec["headline"], rec["why"] = mode == head, why if mode == head else ""
        rec["measured"] = measured(layout, rec, m.label_offset)
        records.write(path, rec)
        for line in lines(rec):
            say(f"precision: {line}")
        say(f"precision: {path}")
        done.append(rec)
    return done


def _simulate(art, onnx_path: Path, mode: str, images: list[Path], truth: dict, stamp: dict, progress: bool) -> dict:
    cfg, m = art.cfg, art.cfg.model
    fp16 = variant(cfg.layout, onnx_path, mode)
    t0 = time.perf_counter()
    got = predict(onnx_path, fp16, images, m.preprocess, cfg.settings.bs, m.static_batch, progress, f"precision {mode}")
    wall = time.perf_counter() - t0
    p32, p16 = got["top5_fp32"], got["top5_fp16"]
    names = [p.name for p in images]
    changed = [n for n in names if p32[n][0] != p16[n][0]]
    worst = sorted(names, key=lambda n: -got["diff"][n])
    chosen = (changed or worst)[:LOCATE_IMAGES]
    t1 = time.perf_counter()
    by_name = {p.name: p for p in images}
    one32, one16 = onnx_path, fp16
    if m.static_batch and cfg.settings.bs != 1:  # every tensor of a batch of BS copies would not fit: the bs1 ONNX
        one32 = art.onnx(1)
        one16 = variant(cfg.layout, one32, mode)
    located = locate(one32, one16, [by_name[n] for n in chosen], m.preprocess, progress)
    guide = m.accuracy.get("guide") or {}
    return {
        "model": m.name,
        "mode": mode,
        "onnx": str(onnx_path),
        "variant": str(fp16),
        "converter": f"onnxconverter-common {converter_version()}",
        "block_list": list(MIX_BLOCK_LIST) if mode == "allow_mix_precision" else [],
        "block_list_source": BLOCK_LIST_SOURCE if mode == "allow_mix_precision" else "",
        "stamp": stamp,
        "images": len(names),
        "top1_agree": sum(p32[n][0] == p16[n][0] for n in names),
        "top5_agree": sum(set(p32[n]) == set(p16[n]) for n in names),
        "max_abs_diff": max(got["diff"].values()),
        "fp32": _acc(p32, truth),
        "fp16": _acc(p16, truth),
        "published": {k: guide[k] for k in ("top1", "top5", "source") if k in guide} or None,
        "nonfinite_fp16": got["nonfinite_fp16"],
        "nonfinite_fp32": got["nonfinite_fp32"],
        "changed": [
            {"image": n, "label": truth.get(n), "fp32": p32[n][0], "fp16": p16[n][0], "max_abs_diff": got["diff"][n]}
            for n in changed
        ],
        "located_why": "top-1 changed" if changed else "largest logit error (no top-1 changed)",
        "located": located,
        "seconds": {
            "wall": round(wall, 3),
            "fp32": round(got["seconds"]["fp32"], 3),
            "fp16": round(got["seconds"]["fp16"], 3),
            "locate": round(time.perf_counter() - t1, 3),
        },
        "top5_fp32": p32,
        "top5_fp16": p16,
    }


# --------------------------------------------------------------------------------------------- reading
def read(layout) -> list[dict]:
    """The precision records of a work folder, the headline first (none: [])."""
    found = [records.read(layout.precision_record(mode)) for mode in MODES]
    found = [r for r in found if r and isinstance(r.get("images"), int) and r.get("mode") in MODES]
    return sorted(found, key=lambda r: not r.get("headline"))


def headline_record(layout) -> dict | None:
    found = read(layout)
    return found[0] if found else None


def _pct(a: dict | None, key: str) -> str:
    return f"{a[key]}%" if a and a.get(key) is not None else "—"


def agreement(rec: dict) -> str:
    n = rec["images"]
    return f"top-1 same as fp32 {rec['top1_agree']}/{n} ({100 * rec['top1_agree'] / n:.1f}%)"


def lines(rec: dict) -> list[str]:
    """The record in a few lines (what the step prints and report.md shows)."""
    n, mode = rec["images"], rec["mode"]
    tag = f" (headline: {rec['why']})" if rec.get("headline") else ""
    out = [
        f"{mode}{tag}: {n} images: {agreement(rec)}, top-5 identical {rec['top5_agree']}/{n}; "
        f"max |logit difference| {rec['max_abs_diff']:.3g}"
    ]
    if rec.get("fp32"):
        pub = rec.get("published") or {}
        out.append(
            f"  accuracy on {rec['fp32']['images']} labelled: fp32 top-1 {_pct(rec['fp32'], 'top1')} top-5 "
            f"{_pct(rec['fp32'], 'top5')}; fp16 (CPU simulation) top-1 {_pct(rec['fp16'], 'top1')} top-5 "
            f"{_pct(rec['fp16'], 'top5')}; published OM top-1 {_pct(pub, 'top1')} top-5 {_pct(pub, 'top5')}"
        )
    bad = rec.get("nonfinite_fp16") or []
    out.append(f"  outputs holding inf/NaN: {len(bad)}" + (f" ({', '.join(bad[:5])})" if bad else ""))
    ch = rec.get("changed") or []
    out.append(
        f"  top-1 changed on {len(ch)}"
        + (": " + ", ".join(f"{c['image']} ({c['fp32']} -> {c['fp16']})" for c in ch[:10]) if ch else "")
    )
    for loc in rec.get("located") or []:
        jumps = "; ".join(
            f"{j['node']} ({j['op']}) rel err {j['rel_err']:.2g} from {j['inputs_rel_err']:.2g}" for j in loc["jumps"]
        )
        over = ", ".join(f"{o['node']} ({o['op']}, max |x| {o['max_abs']:.3g})" for o in loc["overflow"])
        worst = loc.get("worst") or {}
        if not jumps and worst:
            jumps = (
                f"none (no node reaches rel err 1e-3 and twice its inputs'); largest {worst['node']} "
                f"({worst['op']}) rel err {worst['rel_err']:.2g}"
            )
        out.append(f"  {loc['image']} ({rec.get('located_why', '')}): first jumps: {jumps or 'none'}")
        out.append(f"  {loc['image']}: outside fp16's range: {over or 'none'}")
    sec = rec.get("seconds") or {}
    if sec.get("fp32") and sec.get("fp16"):
        out.append(
            f"  time: {sec['wall']:.1f} s for {n} images (preprocessing included); inference fp32 "
            f"{n / sec['fp32']:.1f} img/s, fp16 {n / sec['fp16']:.1f} img/s "
            f"(fp16 / fp32 time {sec['fp16'] / sec['fp32']:.2f}); "
            f"locating {sec.get('locate', 0):.1f} s"
        )
    for r in rec.get("measured") or []:
        out.append(
            f"  measured {r['kind']} run {r['run']}: top-1 same as this fp16 simulation {r['top1_same_fp16']}/"
            f"{r['common']}, as fp32 {r['top1_same_fp32']}/{r['common']}; its accuracy top-1 "
            f"{'—' if r['top1'] is None else str(r['top1']) + '%'} top-5 "
            f"{'—' if r['top5'] is None else str(r['top5']) + '%'} on {r['images'] or '?'} images"
        )
    return out


def report_lines(layout) -> list[str]:
    """report.md's section (nothing when ``make precision`` has not run)."""
    found = read(layout)
    if not found:
        return []
    out = ["## fp16 prediction (make precision: fp16 on the CPU, as the OM would run)", ""]
    for rec in found:
        out += ["```", *lines(rec), "```", ""]
    return out


def cell(rec: dict | None) -> str:
    """The compare column's cell for an fp16 run: the prediction."""
    if not rec:
        return "—"
    acc = rec.get("fp16")
    return f"{rec['mode']}: " + (f"top-1 {_pct(acc, 'top1')}, " if acc else "") + agreement(rec)
