"""EfficientNet-B3 (pycls) architecture: exact checkpoint key layout, parameter count, output shape."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import torch

from common.architecture import build

ROOT = Path(__file__).resolve().parents[1]
NAME = "efficientnet-b3"


def _read_keys(path: Path) -> dict[str, tuple[int, ...]]:
    """Parse a ``name (shape)`` key file; ``()`` is a scalar."""
    keys: dict[str, tuple[int, ...]] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        m = re.fullmatch(r"(\S+) \(([\d, ]*)\)", line.strip())
        assert m, f"bad key line: {line!r}"
        keys[m.group(1)] = tuple(int(d) for d in m.group(2).replace(" ", "").split(",") if d)
    return keys


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return build(ROOT / "models" / NAME)


def test_state_dict_matches_checkpoint_keys(model: torch.nn.Module) -> None:
    expected = _read_keys(ROOT / "tests" / "data" / "keys" / f"{NAME}.keys.txt")
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(expected) - set(got)) == []
    assert sorted(set(got) - set(expected)) == []
    assert got == expected
    assert list(got) == list(expected)


def test_parameter_count_matches_manifest(model: torch.nn.Module) -> None:
    manifest = tomllib.loads((ROOT / "manifests" / f"{NAME}.toml").read_text())
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == manifest["architecture"]["parameters"] == 12_233_232


def test_forward_shape(model: torch.nn.Module) -> None:
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 300, 300))
    assert out.shape == (2, 1000)
    assert torch.isfinite(out).all()


def test_first_stage_has_no_expansion_and_se_uses_input_width(model: torch.nn.Module) -> None:
    sd = model.state_dict()
    assert not any(k.startswith("s1.") and ".exp" in k for k in sd)
    assert sd["s2.b1.se.f_ex.0.weight"].shape == (6, 144, 1, 1)  # round(0.25 * 24), not of 144
