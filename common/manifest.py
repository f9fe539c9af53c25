"""Load and validate a model's manifest: the only place model-specific values come from.

A manifest is found either in the repository (``manifests/<name>.toml`` with the model folder in
``models/<name>/``) or in a travelled model folder (``<folder>/manifest.toml`` beside ``model.py``).
Every key is checked against ``SCHEMA`` at load time: an unknown or mistyped key is an error naming
the file and the key, so nothing in a manifest is silently ignored.

Python 3.7+ and the standard library only (a travelled folder's light steps import it).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BundleError, is_number

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the travelled-folder tests on older interpreters
    import tomli as tomllib  # the same parser, as a package (requirements-light.txt)


def _root() -> Path:
    """The bundle's data: the checkout (or travelled folder) around common/, else the installed wheel's
    ``modelzoo_bundle/`` (``pip install .`` puts manifests, models and checksums there)."""
    here = Path(__file__).resolve().parent.parent
    if (here / "manifests").is_dir() or (here / TRAVELLED).is_file():
        return here
    import importlib.util

    spec = importlib.util.find_spec("modelzoo_bundle")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / "manifests").is_dir():
            return Path(loc)
    return here


TRAVELLED = "manifest.toml"  # a travelled model folder (``make package``) holds its manifest under this name
ROOT = _root()
MANIFESTS = ROOT / "manifests"
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")
ROLES = ("guide", "demo")
_MD5 = re.compile(r"^[0-9a-f]{32}$")

# value kinds: "str", "int", "number", "bool", "[str]", "[int]", "[number]", or a nested table
NUM = "number"
ACCURACY = {"top1": NUM, "top5": NUM, "source": "str"}
THROUGHPUT = {"device": "str", "note": "str", "bs": "[int]", "fps": "[number]"}
SCHEMA: dict[str, Any] = {
    "name": "str",
    "title": "str",
    "paper": "str",
    "guide": "str",
    "role": "str",
    "classes": "int",
    "label_offset": "int",
    "upstream": {"repo": "str", "commit": "str", "source": "str", "note": "str"},
    "weights": {"file": "str", "md5": "str", "urls": "[str]", "size": "int", "where": "str", "package": "str"},
    "checkpoint": {"container": "str", "strip_prefix": "str"},
    "architecture": {"parameters": "int", "macs": NUM},
    "input": {"name": "str", "shape": "[int]"},
    "output": {"name": "str"},
    "onnx": {"file": "str", "batch": "str", "opset": "int"},
    # guide_atc: ATC_PROFILE=guide's flags, per batch size ("16") or for every one ("all")
    "om": {"output": "str", "atc_extra": "[str]", "static_onnx": "bool", "guide_atc": {"*": "[str]"}},
    "preprocess": {
        "resize": "int",
        "interpolation": "str",
        "crop": "int",
        "mean": "[number]",
        "std": "[number]",
        "channel_order": "str",
    },
    "files": {"info": "str"},
    # the guide's script names (alias -> step) and command lines (argv templates, see COMMAND_FIELDS)
    "cli": {
        "pth2onnx": "[str]",
        "aliases": {"*": "str"},
        "commands": [{"step": "str", "argv": "[str]", "source": "str"}],
    },
    "accuracy": {"*": ACCURACY},  # any named source: upstream, guide, ...
    "throughput": [THROUGHPUT],  # an array of tables
}
# the steps a model folder's scripts run (common/guide.py); each also has a script of its own name
STEPS = ("pth2onnx", "preprocess", "gen_dataset_info", "postprocess")
# what a command line template may name: {weights} {onnx} {bs} {val} {prep} {info} {width} {height}
# {results} {labels} {json} (filled by common.guide.fill)
COMMAND_FIELDS = ("weights", "onnx", "bs", "val", "prep", "info", "width", "height", "results", "labels", "json")
_SCRIPT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")
REQUIRED = (
    "name",
    "title",
    "role",
    "classes",
    "weights.file",
    "architecture.parameters",
    "input.name",
    "input.shape",
    "output.name",
    "onnx.file",
    "onnx.batch",
    "om.output",
    "preprocess.resize",
    "preprocess.interpolation",
    "preprocess.crop",
    "preprocess.mean",
    "preprocess.std",
    "files.info",
)


@dataclass(frozen=True)
class Preprocess:
    resize: int
    interpolation: str
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channel_order: str = "RGB"


@dataclass(frozen=True)
class WeightsSpec:
    """The ``[weights]`` table: file name, md5 (empty: none published), mirrors, size, where to get it."""

    file: str
    md5: str = ""
    urls: tuple[str, ...] = ()
    size: int | None = None
    where: str = ""
    package: str = ""


@dataclass(frozen=True)
class Throughput:
    """A published throughput row: fps per batch size on one device."""

    device: str
    note: str
    fps: dict[int, float]


@dataclass(frozen=True)
class Command:
    """One of the guide's command lines: ``argv[0]`` is the script (a guide name or a short name),
    the rest may hold ``{field}`` placeholders; ``source`` says where the line comes from."""

    step: str
    argv: tuple[str, ...]
    source: str = ""

    @property
    def script(self) -> str:
        return self.argv[0]


@dataclass(frozen=True)
class Manifest:
    name: str
    title: str
    path: Path
    model_dir: Path
    role: str
    classes: int
    label_offset: int
    paper: str
    guide: str
    upstream: dict
    weights: WeightsSpec
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
    guide_atc: dict  # {"all" | "<bs>": (flags, ...)}: the guide's own ATC flags (ATC_PROFILE=guide)
    om_static_onnx: bool
    preprocess: Preprocess
    info_file: str
    pth2onnx_args: tuple[str, ...]
    accuracy: dict = field(default_factory=dict)
    throughput: tuple[Throughput, ...] = ()
    aliases: dict = field(default_factory=dict)  # guide script name -> step
    commands: tuple[Command, ...] = ()

    def guide_command(self, step: str) -> Command:
        """The guide's own command line for ``step`` (the first listed); without one, the short script's."""
        found = next((c for c in self.commands if c.step == step), None)
        if found is not None:
            return found
        pth2onnx = {"bs": ["{bs}", "{weights}"], "--pth": ["--pth", "{weights}", "--onnx", "{onnx}"]}
        args = {
            "pth2onnx": pth2onnx.get(self.pth2onnx_args[0], ["{weights}", "{onnx}"]),
            "preprocess": ["{val}", "{prep}"],
            "gen_dataset_info": ["bin", "{prep}", "{info}", "{width}", "{height}"],
            "postprocess": ["{results}", "{labels}", "./", "{json}"],
        }[step]
        return Command(step, (f"{step}.py", *args), "the bundle's short name")

    @property
    def demo(self) -> bool:
        return self.role == "demo"

    @property
    def static_batch(self) -> bool:
        return self.onnx_batch == "static"

    def onnx_name(self, bs: int) -> str:
        """The ONNX file name; static-batch models have one file per batch size."""
        return self.onnx_file.format(bs=bs)

    def om_name(self, bs: int | str) -> str:
        return self.om_output.format(bs=bs)

    def guide_flags(self, bs: int | None) -> tuple[str, ...]:
        """The ATC flags the model's guide adds for batch size ``bs`` (None: a dynamic-batch OM, which the
        guides do not build: only the flags for every batch size)."""
        per = self.guide_atc.get(str(bs), ()) if bs is not None else ()
        return tuple(self.guide_atc.get("all", ())) + tuple(per)

    @property
    def height(self) -> int:
        return self.input_shape[1]

    @property
    def width(self) -> int:
        return self.input_shape[2]


def _kind_ok(value: Any, kind: str) -> bool:
    scalar = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        NUM: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
    }
    if kind.startswith("["):
        return isinstance(value, list) and all(scalar[kind[1:-1]](v) for v in value)
    return scalar[kind](value)


def _check(node: dict, schema: dict, where: str, path: Path) -> None:
    """Every key of ``node`` must be in ``schema`` with the right kind; errors name file and key."""
    for key, value in node.items():
        spec = schema.get(key, schema.get("*"))
        name = f"{where}.{key}" if where else key
        if spec is None:
            known = ", ".join(k for k in schema if k != "*")
            raise BundleError(f"{path}: unknown key `{name}` (known here: {known})")
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise BundleError(f"{path}: `{name}` should be a table [{name}]")
            _check(value, spec, name, path)
        elif isinstance(spec, list):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise BundleError(f"{path}: `{name}` should be an array of tables [[{name}]]")
            for i, row in enumerate(value):
                _check(row, spec[0], f"{name}[{i}]", path)
        elif not _kind_ok(value, spec):
            raise BundleError(f"{path}: `{name}` should be {spec}, got {value!r}")


def _get(t: dict, key: str, default: Any = None) -> Any:
    node: Any = t
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _weights(t: dict, path: Path) -> WeightsSpec:
    w = t["weights"]
    file = w["file"]
    if not file or "/" in file or "\\" in file:
        raise BundleError(f"{path}: `weights.file` must be a bare file name, got {file!r}")
    md5 = w.get("md5", "").strip().lower()
    if md5 and not _MD5.match(md5):
        raise BundleError(f"{path}: `weights.md5` must be 32 hex digits or empty, got {md5!r}")
    if w.get("size") is not None and w["size"] <= 0:
        raise BundleError(f"{path}: `weights.size` must be positive, got {w['size']}")
    if not (w.get("urls") or w.get("package") or w.get("where")):
        raise BundleError(f"{path}: `[weights]` needs urls, a package or a `where` telling users how to get the file")
    return WeightsSpec(file, md5, tuple(w.get("urls", ())), w.get("size"), w.get("where", ""), w.get("package", ""))


def _accuracy(t: dict, path: Path) -> dict:
    acc = t.get("accuracy", {})
    for source, row in acc.items():
        for k in ("top1", "top5"):
            if k in row and not 0 <= row[k] <= 100:
                raise BundleError(f"{path}: `accuracy.{source}.{k}` = {row[k]} is not a percentage")
        if "top1" not in row:
            raise BundleError(f"{path}: `accuracy.{source}` needs top1")
    return acc


def _cli(t: dict, path: Path) -> tuple[dict, tuple[Command, ...]]:
    cli = t.get("cli", {})
    aliases = dict(cli.get("aliases", {}))
    for script, step in aliases.items():
        if not _SCRIPT.match(script) or script in (s + ".py" for s in STEPS) or script == "model.py":
            raise BundleError(f"{path}: `cli.aliases` {script!r} must be a new script name like get_info.py")
        if step not in STEPS:
            raise BundleError(f"{path}: `cli.aliases.{script}` = {step!r}: expected one of {', '.join(STEPS)}")
    commands = []
    for i, row in enumerate(cli.get("commands", [])):
        step, argv = row.get("step"), tuple(row.get("argv", ()))
        if step not in STEPS or not argv:
            raise BundleError(f"{path}: `cli.commands[{i}]` needs a step ({', '.join(STEPS)}) and an argv")
        if argv[0] != step + ".py" and aliases.get(argv[0]) != step:
            raise BundleError(f"{path}: `cli.commands[{i}]` runs {argv[0]}, which is not a script of step {step}")
        for arg in argv[1:]:
            for name in re.findall(r"\{([^{}]*)\}", arg):
                if name not in COMMAND_FIELDS:
                    raise BundleError(f"{path}: `cli.commands[{i}]`: unknown placeholder {{{name}}} in {arg!r}")
        commands.append(Command(step, argv, row.get("source", "")))
    return aliases, tuple(commands)


def _guide_atc(table: dict, path: Path) -> dict:
    for key in table:
        if key != "all" and not (is_number(key) and int(key) >= 1):
            raise BundleError(f"{path}: `om.guide_atc.{key}`: keys are batch sizes (16) or all")
    return {key: tuple(flags) for key, flags in table.items()}


def parse(path: Path, model_dir: Path) -> Manifest:
    """Parse and validate one manifest file."""
    try:
        t = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise BundleError(f"{path}: not a readable TOML manifest ({exc})") from None
    _check(t, SCHEMA, "", path)
    missing = [k for k in REQUIRED if _get(t, k) is None]
    if missing:
        raise BundleError(f"{path}: missing `{missing[0]}` in the manifest")
    g = lambda key, default=None: _get(t, key, default)  # noqa: E731
    pre = Preprocess(
        resize=g("preprocess.resize"),
        interpolation=g("preprocess.interpolation"),
        crop=g("preprocess.crop"),
        mean=tuple(float(v) for v in g("preprocess.mean")),
        std=tuple(float(v) for v in g("preprocess.std")),
        channel_order=g("preprocess.channel_order", "RGB"),
    )
    if pre.interpolation not in INTERPOLATIONS:
        raise BundleError(f"{path}: `preprocess.interpolation` must be one of {', '.join(INTERPOLATIONS)}")
    if pre.channel_order not in ("RGB", "BGR") or len(pre.mean) != 3 or len(pre.std) != 3:
        raise BundleError(f"{path}: `preprocess` needs channel_order RGB|BGR and three mean/std values")
    batch = g("onnx.batch")
    if batch not in ("dynamic", "static"):
        raise BundleError(f"{path}: `onnx.batch` must be 'dynamic' or 'static', got {batch!r}")
    role = g("role")
    if role not in ROLES:
        raise BundleError(f"{path}: `role` must be one of {', '.join(ROLES)}, got {role!r}")
    rows = []
    for row in g("throughput", []):
        if len(row.get("bs", [])) != len(row.get("fps", [])):
            raise BundleError(f"{path}: a [[throughput]] row has {len(row['bs'])} bs but {len(row['fps'])} fps")
        rows.append(Throughput(row["device"], row.get("note", ""), dict(zip(row["bs"], row["fps"]))))
    shape = tuple(g("input.shape"))
    if len(shape) != 3 or shape[0] != 3 or shape[1] != pre.crop or shape[2] != pre.crop:
        raise BundleError(f"{path}: `input.shape` {list(shape)} does not match preprocess.crop {pre.crop}")
    aliases, commands = _cli(t, path)
    classes, offset = g("classes"), g("label_offset", 0)
    if not 0 <= offset < classes:
        raise BundleError(f"{path}: `label_offset` must be between 0 and classes - 1, got {offset}")
    return Manifest(
        name=g("name"),
        title=g("title"),
        path=Path(path),
        model_dir=Path(model_dir),
        role=role,
        classes=classes,
        label_offset=offset,
        paper=g("paper", ""),
        guide=g("guide", ""),
        upstream=g("upstream", {}),
        weights=_weights(t, path),
        container=g("checkpoint.container", ""),
        strip_prefix=g("checkpoint.strip_prefix", "module."),
        parameters=g("architecture.parameters"),
        macs=float(g("architecture.macs", 0)),
        input_name=g("input.name"),
        input_shape=shape,
        output_name=g("output.name"),
        onnx_file=g("onnx.file"),
        onnx_batch=batch,
        opset=g("onnx.opset", 11),
        om_output=g("om.output"),
        atc_extra=tuple(g("om.atc_extra", [])),
        guide_atc=_guide_atc(g("om.guide_atc", {}), path),
        om_static_onnx=g("om.static_onnx", False),
        preprocess=pre,
        info_file=g("files.info"),
        pth2onnx_args=tuple(g("cli.pth2onnx", ["weights", "onnx"])),
        accuracy=_accuracy(t, path),
        throughput=tuple(rows),
        aliases=aliases,
        commands=commands,
    )


def _travelled() -> Manifest | None:
    """The manifest of the travelled folder this common/ sits in (``make package``), else None."""
    own = ROOT / TRAVELLED
    return parse(own, ROOT) if own.is_file() and not MANIFESTS.is_dir() else None


def names(role: str | None = None) -> list[str]:
    """Model names with a manifest in the repository (sorted); ``role`` keeps only ``guide`` or ``demo`` ones.
    In a travelled model folder: that one model."""
    here = _travelled()
    found = [here.name] if here else sorted(p.stem for p in MANIFESTS.glob("*.toml"))
    return found if role is None else [n for n in found if load(n).role == role]


def guide_models() -> list[str]:
    """The models the guides cover (``role = "guide"``): what MODEL=all, the tests and bench/ run."""
    return names("guide")


def load(name: str) -> Manifest:
    """Load the manifest of a model by name (repository layout, or the travelled folder's own one, so
    ``python3 -m common <step>`` works there too)."""
    here = _travelled()
    if here is not None:
        if here.name != name:
            raise BundleError(f"unknown model {name!r}: this travelled folder ({ROOT}) holds {here.name}")
        return here
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


if __name__ == "__main__":  # `python -m common.manifest guide-models`: for the Makefile
    print(" ".join(guide_models() if sys.argv[1:] == ["guide-models"] else names()))
