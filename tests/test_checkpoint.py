"""Checkpoint loading: official layouts load strictly, wrong files get a readable diagnosis."""

from __future__ import annotations

import pickle
import zipfile

import pytest
import torch

from common import checkpoint, manifest
from common.errors import BundleError
from tests.conftest import GUIDE_MODELS


@pytest.mark.parametrize("name", GUIDE_MODELS)
def test_official_layout_loads_strictly(name, synth):
    m = manifest.load(name)
    path = synth(name)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    if m.container:
        assert m.container in raw
    model = checkpoint.load_model(m, path)
    want = checkpoint.state_dict_of(raw, m, path)
    got = model.state_dict()
    for k, v in want.items():
        assert torch.equal(got[k], v), k
    assert sum(p.numel() for p in model.parameters()) == m.parameters


def test_2017_file_has_no_num_batches_tracked_and_still_loads(synth):
    raw = torch.load(synth("inceptionresnetv2"), weights_only=True)
    assert not any(k.endswith("num_batches_tracked") for k in raw)
    assert len(raw) == 1102
    checkpoint.load_model(manifest.load("inceptionresnetv2"), synth("inceptionresnetv2"))


def test_module_prefix_is_stripped_for_effnet_when_present(synth, tmp_path):
    raw = torch.load(synth("efficientnet-b3"), weights_only=True)
    raw["model_state"] = {f"module.{k}": v for k, v in raw["model_state"].items()}
    torch.save(raw, tmp_path / "dp.pyth")
    checkpoint.load_model(manifest.load("efficientnet-b3"), tmp_path / "dp.pyth")


def test_wrong_model_checkpoint_gives_a_readable_report(synth):
    with pytest.raises(BundleError) as err:
        checkpoint.load_model(manifest.load("sk-resnet50"), synth("moco-v2"))
    text = str(err.value)
    assert "does not fit sk-resnet50" in text
    assert "missing" in text and "conv2g.weight" in text
    assert "Traceback" not in text
    with pytest.raises(BundleError, match="expected a dict with 'model_state'"):
        checkpoint.load_model(manifest.load("efficientnet-b3"), synth("sk-resnet50"))
    with pytest.raises(BundleError, match="another model's checkpoint"):
        checkpoint.load_model(manifest.load("inceptionresnetv2"), synth("moco-v2"))


def test_mis_shaped_key_is_listed(synth, tmp_path):
    raw = torch.load(synth("moco-v2"), weights_only=True)
    raw["state_dict"]["module.fc.weight"] = torch.zeros(10, 2048)
    torch.save(raw, tmp_path / "bad.pth.tar")
    with pytest.raises(BundleError, match=r"1 mis-shaped: fc.weight: checkpoint \(10, 2048\) vs model \(1000, 2048\)"):
        checkpoint.load_model(manifest.load("moco-v2"), tmp_path / "bad.pth.tar")


def test_html_page_saved_as_checkpoint(tmp_path):
    page = tmp_path / "inceptionresnetv2-520b38e4.pth"
    page.write_text("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    with pytest.raises(BundleError, match="HTML/XML/JSON page, not a checkpoint"):
        checkpoint.read(page)


def test_truncated_zip_and_empty_file(synth, tmp_path):
    data = synth("moco-v2").read_bytes()
    cut = tmp_path / "cut.pth.tar"
    cut.write_bytes(data[: len(data) // 2])
    assert not zipfile.is_zipfile(cut)
    with pytest.raises(BundleError, match="truncated or corrupt zip"):
        checkpoint.read(cut)
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(BundleError, match="empty"):
        checkpoint.read(tmp_path / "empty.pth")
    with pytest.raises(BundleError, match="no such checkpoint"):
        checkpoint.read(tmp_path / "absent.pth")


class Payload:
    """An object that needs full unpickling (any class outside the weights-only allow-list)."""

    def __init__(self):
        self.x = 1


def test_unsafe_pickle_refused_unless_trusted_and_verified(tmp_path):
    path = tmp_path / "unsafe.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "extra": Payload()}, path)
    with pytest.raises(BundleError, match="TRUST_CHECKPOINT=1"):
        checkpoint.read(path)
    with pytest.raises(BundleError, match="only for a file whose md5 matched"):
        checkpoint.read(path, trust=True, md5_verified=False)
    obj = checkpoint.read(path, trust=True, md5_verified=True)
    assert isinstance(obj["extra"], Payload)


def test_plain_pickle_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.pth"
    path.write_bytes(b"GARBAGE" + pickle.dumps({"a": 1}))
    with pytest.raises(BundleError, match="not a PyTorch checkpoint"):
        checkpoint.read(path)
