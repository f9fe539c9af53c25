"""Load a model folder's architecture (models/<name>/model.py) and build the network."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(model_dir: Path) -> ModuleType:
    """Import ``model.py`` from a model folder by path (folder names such as ``moco-v2`` are not identifiers)."""
    path = Path(model_dir) / "model.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model.py (the architecture) in the model folder")
    name = "bundle_model_" + Path(model_dir).name.replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build(model_dir: Path):
    """Return the freshly built network of a model folder, in eval mode."""
    return load_module(model_dir).build().eval()


def count_macs(model, input_shape: tuple[int, int, int] = (3, 224, 224)) -> int:
    """Multiply-accumulates of one forward pass of one image of ``input_shape`` (C, H, W), counted by
    torch's FlopCounterMode (convolutions and matrix products, two flops per MAC; BN, pools ignored)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
