"""Safe checkpoint loading: sniff the file, ``weights_only=True``, unwrap the container dict, strip the
prefix, and report a key/shape mismatch as a readable list instead of a traceback."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from .errors import BundleError
from .manifest import Manifest

SHOW = 8  # keys listed per category in a mismatch report


def sniff(path: Path) -> None:
    """Refuse files that are plainly not a PyTorch checkpoint, with a one-line diagnosis."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: no such checkpoint file")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(512)
    if size == 0:
        raise BundleError(f"{path}: the checkpoint file is empty (an interrupted download?)")
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"{")):
        raise BundleError(f"{path}: this is an HTML/XML/JSON page, not a checkpoint (a saved error or login page?)")
    if head.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(path):
        raise BundleError(f"{path}: truncated or corrupt zip checkpoint ({size} bytes): download it again")
    if not head.startswith((b"PK\x03\x04", b"\x80")):
        raise BundleError(f"{path}: not a PyTorch checkpoint (neither a torch zip archive nor a pickle)")


def read(path: Path, trust: bool = False, md5_verified: bool = False):
    """``torch.load`` with ``weights_only=True``; unsafe unpickling only with ``trust`` after a verified md5."""
    sniff(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust:
            first = str(exc).strip().splitlines()[0]
            raise BundleError(
                f"{path}: refusing to unpickle arbitrary objects ({first}). If you trust this file, "
                "set TRUST_CHECKPOINT=1 (honoured only when its md5 matches the manifest)"
            ) from None
        if not md5_verified:
            raise BundleError(
                f"{path}: TRUST_CHECKPOINT=1 is honoured only for a file whose md5 matched the manifest"
            ) from None
        return torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"{path}: cannot read the checkpoint ({first}); is the download complete?") from None


def state_dict_of(obj, m: Manifest, source: Path) -> dict[str, torch.Tensor]:
    """Take the state_dict out of the checkpoint's container and strip the manifest's prefix."""
    if m.container:
        if not isinstance(obj, dict) or m.container not in obj:
            found = ", ".join(map(str, list(obj)[:6])) if isinstance(obj, dict) else type(obj).__name__
            raise BundleError(f"{source}: expected a dict with '{m.container}' ({m.name} layout), found: {found}")
        obj = obj[m.container]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        kinds = ", ".join(sorted({type(v).__name__ for v in obj.values()})) if isinstance(obj, dict) else ""
        hint = ""
        if isinstance(obj, dict):
            nested = [k for k in ("state_dict", "model_state", "model") if k in obj]
            hint = f" (it holds '{nested[0]}': is this another model's checkpoint?)" if nested else ""
        raise BundleError(f"{source}: expected a state_dict of tensors, found {type(obj).__name__} of {kinds}{hint}")
    p = m.strip_prefix
    return {(k[len(p) :] if p and k.startswith(p) else k): v for k, v in obj.items()}


def mismatch_report(model: torch.nn.Module, sd: dict[str, torch.Tensor]) -> list[str]:
    """Readable lines for missing, unexpected and mis-shaped keys (empty when the checkpoint fits).
    ``num_batches_tracked`` may be absent: 2017-era files predate it."""
    want = model.state_dict()
    missing = [k for k in want if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in want]
    shapes = [
        f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(want[k].shape)}"
        for k in want
        if k in sd and sd[k].shape != want[k].shape
    ]
    lines = []
    for title, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shapes)):
        if items:
            more = f" … and {len(items) - SHOW} more" if len(items) > SHOW else ""
            lines.append(f"  {len(items)} {title}: " + ", ".join(items[:SHOW]) + more)
    return lines


def load_into(model: torch.nn.Module, sd: dict[str, torch.Tensor], m: Manifest, source: Path) -> torch.nn.Module:
    """Load strictly; a checkpoint that does not fit raises one summary line plus the lists."""
    lines = mismatch_report(model, sd)
    if lines:
        raise BundleError(f"{source}: this checkpoint does not fit {m.name}:\n" + "\n".join(lines))
    full = dict(sd)
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked") and k not in full:
            full[k] = v
    model.load_state_dict(full, strict=True)
    return model.eval()


def load_model(m: Manifest, path: Path, trust: bool = False, md5_verified: bool = False) -> torch.nn.Module:
    """Build the manifest's architecture and load the checkpoint at ``path`` into it."""
    from .architecture import build

    sd = state_dict_of(read(path, trust=trust, md5_verified=md5_verified), m, Path(path))
    return load_into(build(m.model_dir), sd, m, Path(path))
