"""InceptionResNetV2 architecture: exact checkpoint key layout, parameter count, output shape."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import torch

from common.architecture import build

ROOT = Path(__file__).resolve().parents[1]
NAME = "inceptionresnetv2"


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
    assert n_params == manifest["architecture"]["parameters"] == 55_845_001


def test_forward_shape(model: torch.nn.Module) -> None:
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 299, 299))
    assert out.shape == (2, 1001)
    assert torch.isfinite(out).all()


def test_loads_checkpoint_without_num_batches_tracked(model: torch.nn.Module) -> None:
    """The 2017 checkpoint has no ``num_batches_tracked``; such a state_dict must still load.

    BatchNorm's loader fills absent ``num_batches_tracked`` itself, so torch reports none missing;
    whatever it does report must be only those keys.
    """
    sd = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(sd) == 1102
    fresh = build(ROOT / "models" / NAME)
    result = fresh.load_state_dict(sd, strict=False)
    assert result.unexpected_keys == []
    assert all(k.endswith(".num_batches_tracked") for k in result.missing_keys)
    assert torch.equal(fresh.last_linear.weight, model.last_linear.weight)
