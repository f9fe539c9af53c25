"""Synthesise a checkpoint in a model's exact official layout (same keys, shapes and container dict,
random weights) — the stand-in for weights that cannot be downloaded here.

    python tests/synth_checkpoint.py inceptionresnetv2 /tmp/inceptionresnetv2-520b38e4.pth
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from common import manifest
from common.architecture import build

PYCLS_CFG = "MODEL:\n  TYPE: effnet\n  NUM_CLASSES: 1000\nEN:\n  STEM_W: 40\n  HEAD_W: 1536\n"


def _optimizer(n: int) -> dict:
    return {"state": {}, "param_groups": [{"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "params": list(range(n))}]}


def state_dict(name: str, seed: int = 0) -> OrderedDict:
    """A fresh model's state_dict with seeded random weights whose BN statistics are calibrated on the
    real photos, so that the output depends on the input (plain random init gives near-constant
    logits for deep nets, which would make any parity check vacuous). Calibrating on every photo the
    parity check uses keeps activations in a trained network's range (an uncalibrated outlier image
    drove EfficientNet-B3 logits to ~50, where ONNX Runtime's fused kernels drift by 0.1)."""
    from common import sample

    torch.manual_seed(seed)
    m = manifest.load(name)
    model = build(m.model_dir)
    for mod in model.modules():
        if isinstance(mod, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(mod.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None  # cumulative average over the calibration pass
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.1, 0.1)
    x = torch.from_numpy(np.stack(list(sample.parity_images(m.preprocess).values())))
    model.train()
    with torch.no_grad():
        model(x)
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = 0.1
            mod.num_batches_tracked.zero_()
    return OrderedDict((k, v.clone()) for k, v in model.eval().state_dict().items())


def make(name: str, path: Path, seed: int = 0) -> Path:
    """Write the checkpoint of ``name`` in its official container layout to ``path``."""
    sd = state_dict(name, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = OrderedDict((f"module.{k}", v) for k, v in sd.items())
    if name == "inceptionresnetv2":  # 2017 file: bare OrderedDict, legacy format, no num_batches_tracked
        bare = OrderedDict((k, v) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
        torch.save(bare, path, _use_new_zipfile_serialization=False)
    elif name == "efficientnet-b3":
        torch.save({"epoch": 99, "model_state": sd, "optimizer_state": _optimizer(len(sd)), "cfg": PYCLS_CFG}, path)
    elif name == "moco-v2":
        torch.save(
            {
                "epoch": 100,
                "arch": "resnet50",
                "state_dict": module,
                "best_acc1": torch.tensor(67.589),
                "optimizer": _optimizer(2),
            },
            path,
        )
    elif name == "sk-resnet50":
        torch.save(
            {
                "epoch": 100,
                "state_dict": module,
                "acc": torch.tensor(77.538),
                "best_acc": torch.tensor(77.538),
                "optimizer": _optimizer(len(sd)),
            },
            path,
        )
    else:
        torch.save(sd, path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tests/synth_checkpoint.py <model> <out.pth>")
    print(make(sys.argv[1], Path(sys.argv[2])))
