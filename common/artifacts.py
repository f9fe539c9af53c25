"""Each artifact of a run, resolved once per process: weights, the PyTorch model, ONNX and OM per batch
size, the dataset, the info file's inputs, and the runner that infers with them.

A step asks for what it needs; an artifact that is already on disk and up to date (its record says
which inputs made it) is used as is, otherwise it is (re)built here, once. So ``make infer`` reads the
ONNX the ``onnx`` step wrote without re-verifying the weights, and one ``make all`` verifies them once.
"""

from __future__ import annotations

from pathlib import Path

from . import backends, records
from .backends import Runner
from .config import GUIDE_DATASET, Config, labels_path
from .console import say
from .errors import BundleError


class Artifacts:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._weights: tuple[Path, bool] | None = None
        self._torch = None
        self._onnx: dict[Path, Path] = {}
        self._om: dict[Path, Path] = {}
        self._dataset: tuple[Path, Path] | None = None

    @property
    def settings(self):
        return self.cfg.settings

    # ------------------------------------------------------------------------------------ weights
    def weights_location(self) -> Path:
        """Where the checkpoint is (WEIGHTS) or would be downloaded to; nothing is read."""
        from .weights import weights_dir

        if self.settings.weights:
            return Path(self.settings.weights).expanduser()
        return weights_dir(self.settings.weights_dir) / self.cfg.model.weights.file

    def weights(self) -> tuple[Path, bool]:
        """The verified checkpoint and whether its md5 was checked against the manifest (once per process)."""
        if self._weights is None:
            from . import weights

            s, spec = self.settings, self.cfg.model.weights
            given = Path(s.weights) if s.weights else None
            path = weights.ensure(
                spec, weights.weights_dir(s.weights_dir), given=given, verify=s.verify, progress=s.progress
            )
            self._weights = (path, bool(spec.md5) and s.verify)
        return self._weights

    def torch_model(self):
        """The checkpoint loaded into the manifest's architecture (once per process)."""
        if self._torch is None:
            from . import checkpoint

            path, verified = self.weights()
            self._torch = checkpoint.load_model(
                self.cfg.model, path, trust=self.settings.trust_checkpoint, md5_verified=verified
            )
        return self._torch

    # --------------------------------------------------------------------------------------- ONNX
    def onnx(self, bs: int | None = None) -> Path:
        """The parity-checked ONNX for batch size ``bs`` (static models: one file per batch size)."""
        m, layout = self.cfg.model, self.cfg.layout
        bs = bs or self.cfg.settings.bs
        out = layout.onnx(bs)
        if out in self._onnx:
            return out
        record = layout.parity(bs)
        rec = records.read(record)
        if out.is_file() and rec and rec.get("weights"):
            loc = self.weights_location()
            if not loc.is_file():
                say(f"onnx: {out} (exported from {rec['weights']['file']}, which is not here; parity: {record})")
                self._onnx[out] = out
                return out
            if rec["weights"] == records.stamp(loc):
                say(f"onnx: {out} is up to date (parity: {record})")
                self._onnx[out] = out
                return out
        from . import export, sample

        model = self.torch_model()
        wpath, _ = self.weights()
        images = sample.parity_images(m.preprocess)
        mode = f"static batch {bs}" if m.static_batch else "dynamic batch -1"
        say(f"onnx: exporting {m.name} (opset {m.opset}, {mode}) -> {out}")
        stamp = {"weights": records.stamp(wpath)}
        result = export.convert(model, m, out, bs if m.static_batch else 1, images, self.settings.simplify, stamp)
        say(
            f"onnx: parity on {len(images)} photos: max abs diff {result.max_abs_diff:.3g} "
            f"(tolerance {result.tolerance:.3g}), top-1 {result.top1_agree}/{len(images)}, "
            f"top-5 identical {result.top5_agree}/{len(images)}; {result.simplify_note}"
        )
        self._onnx[out] = out
        return out

    # ----------------------------------------------------------------------------------------- OM
    def om(self, bs: int | None = None) -> Path:
        """The OM for batch size ``bs`` (one for every size with DYNAMIC_BATCH), converted by ATC when
        missing or older than its ONNX."""
        from . import atc

        s, m, layout = self.settings, self.cfg.model, self.cfg.layout
        bs = bs or self.cfg.settings.bs
        gear = "dyn" if s.dynamic_batch else bs
        target = layout.om(gear)
        if target in self._om:
            return target
        soc = s.soc or None
        onnx_path = layout.onnx(bs)
        dyn = s.dynamic_batch or None
        flags = atc.extra_flags(m, bs, dyn, s.atc_extra, s.atc_profile)
        if not atc.up_to_date(layout, onnx_path, gear, soc, flags):
            onnx_path = self.onnx(bs)
            if s.atc_profile == "guide":
                added = atc.profile_flags(m, bs, "guide", bool(dyn))
                say(f"om: ATC_PROFILE=guide: {' '.join(added) or 'the guide adds no flag at this batch size'}")
        om = atc.convert(
            m, layout, onnx_path, bs, soc=soc, log=s.log, dynamic_batch=dyn, extra=s.atc_extra, profile=s.atc_profile
        )
        say(f"om: {om}")
        self._om[target] = om
        return om

    def model_file(self, bs: int | None = None) -> Path:
        """The file the backend runs (its first need in the registry): the checkpoint, the ONNX or the OM."""
        return backends.model_file(self, bs)

    # ------------------------------------------------------------------------------------ dataset
    def dataset(self) -> tuple[Path, Path]:
        """The image folder and label file this run uses (``DATASET=sample`` builds the bundled one)."""
        if self._dataset is None:
            from . import sample

            s = self.settings
            if s.dataset == "sample":
                val, labels = sample.build(Path(s.sample_dir))
                self._dataset = (val, Path(s.labels) if s.labels else labels)
                return self._dataset
            val = Path(s.dataset)
            if val.exists() and not val.is_dir():
                raise BundleError(f"DATASET={val} is not a folder: point DATASET at the ImageNet val image folder")
            if not val.is_dir():
                hint = " (the guides' default)" if s.dataset == GUIDE_DATASET else ""
                raise BundleError(
                    f"DATASET={val}{hint} does not exist: point DATASET at the ImageNet val images and "
                    "LABELS at val_label.txt, or run with DATASET=sample for the bundled photos"
                )
            self._dataset = (val, labels_path(s))
        return self._dataset

    def inputs(self) -> list[Path]:
        """The .bin files the info file lists, in its order (the ``info`` step must have run); with
        SHARD, those of this shard of DATASET's images."""
        from . import dataset_info

        info = self.cfg.layout.info
        if not info.is_file():
            raise BundleError(f"{info}: no dataset info file yet (run `make info` first)")
        if self.cfg.shard is None:
            return dataset_info.read_info(info)
        mine = self.shard_stems()
        return [p for p in dataset_info.read_info(info) if p.stem in mine] if mine else []

    def stream_sources(self) -> dict[Path, Path]:
        """STREAM=1's inputs: {the .bin path the staged run would read: its image}, in the images' natural
        order (the info file's), this SHARD's slice of DATASET."""
        from .images import list_images

        val, _ = self.dataset()
        images = list_images(val)
        if self.cfg.shard is not None:
            images = self.cfg.shard.slice(images, self.cfg.settings.bs)
        prep = self.cfg.layout.prep_dir
        return {prep / f"{img.stem}.bin": img for img in images}

    def shard_stems(self) -> set[str]:
        """The image stems of this run's SHARD of DATASET (cut on batches of BS)."""
        from .images import list_images

        val, _ = self.dataset()
        return {p.stem for p in self.cfg.shard.slice(list_images(val), self.cfg.settings.bs)}

    def dataset_id(self) -> dict:
        """What identifies DATASET's images as a whole: their count and an md5 over every name, size and
        mtime in natural order (``make merge`` checks that each shard split this same dataset)."""
        import hashlib

        from .images import list_images
        from .preprocess import fingerprint

        val, _ = self.dataset()
        images = list_images(val)
        h = hashlib.md5(usedforsecurity=False)
        for p in images:
            h.update(f"{p.name}\0{fingerprint(p)}\n".encode("utf-8", "surrogateescape"))
        return {"images": len(images), "md5": h.hexdigest()}

    # ------------------------------------------------------------------------------------- runner
    def runner(self) -> Runner:
        """The runner of this backend (made by its declaration in ``common/backends/specs``), for inference
        at BS and the throughput sweep."""
        return backends.make_runner(self)

    def parity_photos(self) -> dict:
        """The parity photos, preprocessed for this model ({name: CHW array})."""
        from . import sample

        return sample.parity_images(self.cfg.model.preprocess)
