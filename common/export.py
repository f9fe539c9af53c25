"""PyTorch -> ONNX (opset 11, TorchScript exporter), onnx checker, onnx-simplifier where it keeps the
model valid, and a parity check against PyTorch on real preprocessed photos."""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

from . import atomic
from .errors import BundleError
from .layout import parity_of
from .manifest import Manifest

DYNAMIC_DIM = "-1"
TOLERANCE = 1e-3  # max abs difference allowed, relative to max(1, largest |logit|)


@dataclass
class Parity:
    """What the parity check measured; written beside the ONNX file as ``<onnx>.parity.json``."""

    onnx: str
    images: list[str]
    batch: int
    max_abs_diff: float
    tolerance: float
    top1_agree: int
    top5_agree: int
    simplified: bool
    simplify_note: str
    opset: int
    providers: list[str]


def export_onnx(model: torch.nn.Module, m: Manifest, out: Path, bs: int) -> None:
    """Export with the TorchScript exporter (opset 11 needs ``dynamo=False``); dynamic batch named "-1"."""
    x = torch.zeros(bs, *m.input_shape)
    axes = None if m.static_batch else {m.input_name: {0: DYNAMIC_DIM}, m.output_name: {0: DYNAMIC_DIM}}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x,),
            str(out),
            opset_version=m.opset,
            dynamo=False,
            do_constant_folding=True,
            input_names=[m.input_name],
            output_names=[m.output_name],
            dynamic_axes=axes,
        )


def simplify(path: Path, m: Manifest) -> tuple[bool, str]:
    """Simplify in place with onnx-simplifier when the result checks; keep the original otherwise."""
    try:
        import onnxsim
    except ImportError:
        return False, "onnxsim not installed"
    model = onnx.load(str(path))
    try:
        simp, ok = onnxsim.simplify(model)
    except Exception as exc:  # noqa: BLE001 - any simplifier failure just keeps the plain export
        return False, f"onnxsim failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    if not ok:
        return False, "onnxsim's own check failed; kept the plain export"
    try:
        onnx.checker.check_model(simp)
    except onnx.checker.ValidationError as exc:
        return False, f"simplified model fails the checker ({str(exc).splitlines()[0][:120]})"
    dims = [d.dim_param or d.dim_value for d in simp.graph.input[0].type.tensor_type.shape.dim]
    if not m.static_batch and dims[0] != DYNAMIC_DIM:
        return False, f"simplifier changed the batch dim to {dims[0]!r}; kept the plain export"
    onnx.save(simp, str(path))
    before, after = len(model.graph.node), len(simp.graph.node)
    return True, f"onnxsim {onnxsim.__version__}: {before} -> {after} nodes"


def parity(
    model: torch.nn.Module,
    path: Path,
    m: Manifest,
    images: dict[str, np.ndarray],
    bs: int,
    simplified: bool,
    note: str,
) -> Parity:
    """Compare ONNX Runtime with PyTorch on real photos; raise when they disagree."""
    names = sorted(images)
    x = np.stack([images[n] for n in names])
    from .backends.onnxruntime import OrtSession

    sess = OrtSession(path, provider="cpu")
    outs = []
    for i in range(0, len(x), bs):
        chunk = x[i : i + bs]
        pad = bs - len(chunk) if m.static_batch else 0
        feed = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), np.float32)]) if pad else chunk
        outs.append(sess.run(feed)[0][: len(chunk)])
    got = np.concatenate(outs)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    if got.shape != ref.shape:
        raise BundleError(f"{path}: ONNX output shape {got.shape} differs from PyTorch {ref.shape}")
    diff = float(np.max(np.abs(got - ref)))
    tol = TOLERANCE * max(1.0, float(np.max(np.abs(ref))))
    top1_ref, top1_got = ref.argmax(1), got.argmax(1)
    # a top-1 flip only counts when PyTorch itself separates the two classes by more than the tolerance
    rows = np.arange(len(ref))
    real_flip = (top1_ref != top1_got) & (ref[rows, top1_ref] - ref[rows, top1_got] > tol)
    top5_ref, top5_got = np.argsort(-ref, 1)[:, :5], np.argsort(-got, 1)[:, :5]
    result = Parity(
        onnx=path.name,
        images=names,
        batch=bs,
        max_abs_diff=diff,
        tolerance=tol,
        top1_agree=int(np.sum(top1_ref == top1_got)),
        top5_agree=int(sum((a == b).all() for a, b in zip(top5_ref, top5_got, strict=True))),
        simplified=simplified,
        simplify_note=note,
        opset=m.opset,
        providers=sess.providers(),
    )
    if real_flip.any() or diff > tol:
        bad = [names[i] for i in np.flatnonzero(real_flip)]
        raise BundleError(
            f"{path}: ONNX disagrees with PyTorch: max abs diff {diff:.3g} (tolerance {tol:.3g})"
            + (f", top-1 differs on {', '.join(bad)}" if bad else "")
        )
    return result


def convert(
    model: torch.nn.Module,
    m: Manifest,
    out: Path,
    bs: int,
    images: dict[str, np.ndarray],
    do_simplify: bool = True,
    extra: dict | None = None,
) -> Parity:
    """Export, check, simplify and parity-test; the ONNX appears under ``out`` only when all passed.
    The parity result (plus ``extra``) is written beside it (``common.layout.parity_of``)."""
    out = Path(out)
    with atomic.atomic_path(out) as tmp:
        export_onnx(model, m, tmp, bs)
        try:
            onnx.checker.check_model(str(tmp))
        except onnx.checker.ValidationError as exc:
            raise BundleError(f"{out}: the exported ONNX fails the checker: {str(exc).splitlines()[0]}") from None
        simplified, note = simplify(tmp, m) if do_simplify else (False, "SIMPLIFY=0")
        result = parity(model, tmp, m, images, bs, simplified, note)
    result.onnx = out.name
    atomic.write_json(parity_of(out), {**asdict(result), **(extra or {})}, indent=1)
    return result
