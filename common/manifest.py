"""Load and validate a model's manifest: the only place model-specific values come from.

A manifest is found either in the repository (``manifests/<name>.toml`` with the model folder in
``models/<name>/``) or in a travelled model folder (``<folder>/manifest.toml`` beside ``model.py``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import BundleError

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "manifests"
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")


@dataclass(frozen=True)
class Preprocess:
    resize: int
    interpolation: str
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channel_order: str = "RGB"


@dataclass(frozen=True)
class Throughput:
    """A published throughput row: fps per batch size on one device."""

    device: str
    note: str
    fps: dict[int, float]


@dataclass(frozen=True)
class Manifest:
    name: str
    title: str
    path: Path
    model_dir: Path
    classes: int
    paper: str
    guide: str
    demo: bool
    upstream: dict
    weights: dict
    container: str
    strip_prefix: str
    parameters: int
    macs: float
    input_name: str
    input_shape: tuple[int, int, int]
    output_name: str
    onnx_file: str
    onnx_batch: str
    opset: int
    om_output: str
    atc_extra: tuple[str, ...]
    om_static_onnx: bool
    preprocess: Preprocess
    info_file: str
    pth2onnx_args: tuple[str, ...]
    accuracy: dict = field(default_factory=dict)
    throughput: tuple[Throughput, ...] = ()

    @property
    def static_batch(self) -> bool:
        return self.onnx_batch == "static"

    def onnx_name(self, bs: int) -> str:
        """The ONNX file name; static-batch models have one file per batch size."""
        return self.onnx_file.format(bs=bs)

    def om_name(self, bs: int | str) -> str:
        return self.om_output.format(bs=bs)

    @property
    def height(self) -> int:
        return self.input_shape[1]

    @property
    def width(self) -> int:
        return self.input_shape[2]


def _get(table: dict, key: str, path: Path, kind: type | tuple = object, default=...):
    section, _, leaf = key.rpartition(".")
    node = table
    for part in section.split(".") if section else []:
        node = node.get(part, {})
    if leaf not in node:
        if default is not ...:
            return default
        raise BundleError(f"{path}: missing `{key}` in the manifest")
    value = node[leaf]
    if not isinstance(value, kind):
        raise BundleError(f"{path}: `{key}` should be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def parse(path: Path, model_dir: Path) -> Manifest:
    """Parse and validate one manifest file."""
    try:
        t = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BundleError(f"{path}: not a readable TOML manifest ({exc})") from None
    g = lambda key, kind=object, default=...: _get(t, key, path, kind, default)  # noqa: E731
    pre = Preprocess(
        resize=g("preprocess.resize", int),
        interpolation=g("preprocess.interpolation", str),
        crop=g("preprocess.crop", int),
        mean=tuple(float(v) for v in g("preprocess.mean", list)),
        std=tuple(float(v) for v in g("preprocess.std", list)),
        channel_order=g("preprocess.channel_order", str, "RGB"),
    )
    if pre.interpolation not in INTERPOLATIONS:
        raise BundleError(f"{path}: preprocess.interpolation must be one of {INTERPOLATIONS}")
    if pre.channel_order not in ("RGB", "BGR") or len(pre.mean) != 3 or len(pre.std) != 3:
        raise BundleError(f"{path}: preprocess needs channel_order RGB|BGR and three mean/std values")
    batch = g("onnx.batch", str)
    if batch not in ("dynamic", "static"):
        raise BundleError(f"{path}: onnx.batch must be 'dynamic' or 'static', got {batch!r}")
    rows = []
    for row in t.get("throughput", []):
        if len(row.get("bs", [])) != len(row.get("fps", [])):
            raise BundleError(f"{path}: a [[throughput]] row has {len(row['bs'])} bs but {len(row['fps'])} fps")
        rows.append(Throughput(row["device"], row.get("note", ""), dict(zip(row["bs"], row["fps"], strict=True))))
    shape = tuple(g("input.shape", list))
    if len(shape) != 3 or shape[0] != 3 or shape[1] != pre.crop or shape[2] != pre.crop:
        raise BundleError(f"{path}: input.shape {list(shape)} does not match preprocess.crop {pre.crop}")
    return Manifest(
        name=g("name", str),
        title=g("title", str),
        path=path,
        model_dir=model_dir,
        classes=g("classes", int),
        paper=g("paper", str, ""),
        guide=g("guide", str, ""),
        demo=g("demo", bool, False),
        upstream=g("upstream", dict, {}),
        weights=g("weights", dict),
        container=g("checkpoint.container", str, ""),
        strip_prefix=g("checkpoint.strip_prefix", str, "module."),
        parameters=g("architecture.parameters", int),
        macs=float(g("architecture.macs", (int, float), 0)),
        input_name=g("input.name", str),
        input_shape=shape,
        output_name=g("output.name", str),
        onnx_file=g("onnx.file", str),
        onnx_batch=batch,
        opset=g("onnx.opset", int, 11),
        om_output=g("om.output", str),
        atc_extra=tuple(g("om.atc_extra", list, [])),
        om_static_onnx=g("om.static_onnx", bool, False),
        preprocess=pre,
        info_file=g("files.info", str),
        pth2onnx_args=tuple(g("cli.pth2onnx", list, ["weights", "onnx"])),
        accuracy=g("accuracy", dict, {}),
        throughput=tuple(rows),
    )


def names(include_demo: bool = True) -> list[str]:
    """Model names with a manifest in the repository, the four guide models first."""
    found = sorted(p.stem for p in MANIFESTS.glob("*.toml"))
    if include_demo:
        return found
    return [n for n in found if not load(n).demo]


def load(name: str) -> Manifest:
    """Load the manifest of a model by name (repository layout)."""
    path = MANIFESTS / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in MANIFESTS.glob("*.toml"))) or "none"
        raise BundleError(f"unknown model {name!r}: no {path} (known: {known})")
    return parse(path, ROOT / "models" / name)


def for_folder(model_dir: Path) -> Manifest:
    """Load the manifest that belongs to a model folder: its own ``manifest.toml`` when it travelled,
    else ``manifests/<folder name>.toml`` of the repository it sits in."""
    model_dir = Path(model_dir).resolve()
    own = model_dir / "manifest.toml"
    if own.is_file():
        return parse(own, model_dir)
    repo = model_dir.parent.parent / "manifests" / f"{model_dir.name}.toml"
    if repo.is_file():
        return parse(repo, model_dir)
    raise BundleError(f"{model_dir}: no manifest.toml here and no {repo}")
