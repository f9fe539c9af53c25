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
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
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

# the steps a model folder's scripts run (common/guide.py); each also has a script of its own name
STEPS = ("pth2onnx", "preprocess", "gen_dataset_info", "postprocess")
# what a command line template may name: {weights} {onnx} {bs} {val} {prep} {info} {width} {height}
# {results} {labels} {json} (filled by common.guide.fill)
COMMAND_FIELDS = ("weights", "onnx", "bs", "val", "prep", "info", "width", "height", "results", "labels", "json")
_SCRIPT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")

# ---- the tables ------------------------------------------------------------------------------------------
# Each manifest key is written once: a field of a frozen dataclass below. A table's fields are its keys, a
# field without a default is a required key, and the annotation is the key's kind (KINDS: what the TOML value
# must be). SCHEMA, REQUIRED, the values and the messages "unknown key", "should be", "missing" come from them.
NUM = "number"
KINDS = {
    "str": "str",
    "bool": "bool",
    "int": "int",
    "int | None": "int",
    "float": NUM,
    "float | None": NUM,
    "tuple[str, ...]": "[str]",
    "tuple[int, ...]": "[int]",
    "tuple[int, int, int]": "[int]",
    "tuple[float, ...]": "[number]",
    "tuple[float, float, float]": "[number]",
}


def _md5(value: str) -> str:
    return value.strip().lower()


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
    md5: str = field(default="", metadata={"convert": _md5})
    urls: tuple[str, ...] = ()
    size: int | None = None
    where: str = ""
    package: str = ""


@dataclass(frozen=True)
class Command:
    """One of the guide's command lines (a ``[[cli.commands]]`` row): ``argv[0]`` is the script (a guide name
    or a short name), the rest may hold ``{field}`` placeholders; ``source`` says where the line comes from."""

    step: str
    argv: tuple[str, ...]
    source: str = ""

    @property
    def script(self) -> str:
        return self.argv[0]


@dataclass(frozen=True)
class Upstream:
    """The ``[upstream]`` table: where the model's code comes from (kept as written, a dict)."""

    repo: str = ""
    commit: str = ""
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class Accuracy:
    """A row of ``[accuracy.<source>]`` (kept as written, a dict; top1 is checked by ``_accuracy``)."""

    top1: float | None = None
    top5: float | None = None
    source: str = ""


@dataclass(frozen=True)
class ThroughputRow:
    """A ``[[throughput]]`` row as written: fps per batch size on one device (read into ``Throughput``)."""

    device: str
    note: str = ""
    bs: tuple[int, ...] = ()
    fps: tuple[float, ...] = ()


@dataclass(frozen=True)
class Throughput:
    """A published throughput row: fps per batch size on one device."""

    device: str
    note: str
    fps: dict[int, float]


def _commands(rows: list) -> tuple[Command, ...]:
    """The ``[[cli.commands]]`` rows, as written (``_check_cli`` checks them)."""
    return tuple(Command(r.get("step"), tuple(r.get("argv", ())), r.get("source", "")) for r in rows)


def _flags(table: dict) -> dict:
    """``[om.guide_atc]``: ``{"all" | "<bs>": (flag, ...)}``."""
    return {k: tuple(v) for k, v in table.items()}


def _throughput(rows: list) -> tuple[Throughput, ...]:
    """The ``[[throughput]]`` rows, fps by batch size (``_check`` checks the lengths agree)."""
    return tuple(Throughput(r["device"], r.get("note", ""), dict(zip(r.get("bs", []), r.get("fps", [])))) for r in rows)


def key(name: str, default: Any = MISSING, kind: Any = None, convert: Any = None) -> Any:
    """A field of ``Manifest`` read from the manifest's key ``name`` (``onnx.file``): required unless it has a
    ``default``; its kind is its annotation's unless ``kind`` says (a table class, ``{"*": kind}`` for any key,
    ``[table]`` for an array of tables); ``convert`` makes the value (else the annotation's type)."""
    return field(metadata={"key": name, "default": default, "kind": kind, "convert": convert})


@dataclass(frozen=True)
class Manifest:
    """A model's manifest. Each field but ``path`` and ``model_dir`` is a key of the file (``key(...)``)."""

    name: str = key("name")
    title: str = key("title")
    paper: str = key("paper", "")
    guide: str = key("guide", "")
    role: str = key("role")
    classes: int = key("classes")
    label_offset: int = key("label_offset", 0)
    upstream: dict = key("upstream", {}, Upstream, dict)
    weights: WeightsSpec = key("weights")
    container: str = key("checkpoint.container", "")
    strip_prefix: str = key("checkpoint.strip_prefix", "module.")
    parameters: int = key("architecture.parameters")
    macs: float = key("architecture.macs", 0)
    input_name: str = key("input.name")
    input_shape: tuple[int, int, int] = key("input.shape")
    output_name: str = key("output.name")
    onnx_file: str = key("onnx.file")
    onnx_batch: str = key("onnx.batch")
    opset: int = key("onnx.opset", 11)
    om_output: str = key("om.output")
    atc_extra: tuple[str, ...] = key("om.atc_extra", ())
    om_static_onnx: bool = key("om.static_onnx", False)
    # ATC_PROFILE=guide's flags, per batch size ("16") or for every one ("all"): {"all" | "<bs>": (flags, ...)}
    guide_atc: dict = key("om.guide_atc", {}, {"*": "[str]"}, _flags)
    preprocess: Preprocess = key("preprocess")
    info_file: str = key("files.info")
    # the guide's script names (alias -> step) and command lines (argv templates, see COMMAND_FIELDS)
    pth2onnx_args: tuple[str, ...] = key("cli.pth2onnx", ("weights", "onnx"))
    aliases: dict = key("cli.aliases", {}, {"*": "str"}, dict)  # guide script name -> step
    commands: tuple[Command, ...] = key("cli.commands", (), [Command], _commands)
    accuracy: dict = key("accuracy", {}, {"*": Accuracy}, dict)  # any named source: upstream, guide, ...
    throughput: tuple[Throughput, ...] = key("throughput", (), [ThroughputRow], _throughput)  # an array of tables
    path: Path
    model_dir: Path

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


# ---- derived from the tables: the schema, the required keys, the values ------------------------------------
def _keyed() -> list:
    """Manifest's fields that are keys of the file, in order."""
    return [f for f in fields(Manifest) if "key" in f.metadata]


def _table(f) -> Any:
    """The table class a field holds (``weights: WeightsSpec``), else None."""
    cls = f.metadata.get("kind") or globals().get(f.type)
    return cls if isinstance(cls, type) and is_dataclass(cls) else None


def _kind(kind: Any) -> Any:
    """A SCHEMA entry: a kind name, a nested table ``{key: kind}``, or ``[table]`` for an array of tables."""
    if isinstance(kind, type):
        return {f.name: _kind(_table(f) or KINDS[f.type]) for f in fields(kind)}
    if isinstance(kind, dict):
        return {k: _kind(v) for k, v in kind.items()}
    if isinstance(kind, list):
        return [_kind(kind[0])]
    return kind


def _schema() -> dict[str, Any]:
    """Every key the file may hold and its kind, nested by table, in the order of Manifest's fields."""
    schema: dict[str, Any] = {}
    for f in _keyed():
        *tables, last = f.metadata["key"].split(".")
        node = schema
        for name in tables:
            node = node.setdefault(name, {})
        node[last] = _kind(f.metadata["kind"] or _table(f) or KINDS[f.type])
    return schema


def _required() -> tuple[str, ...]:
    """The keys without a default; a required table's are its fields without one (``weights.file``)."""
    out: list[str] = []
    for f in _keyed():
        name, table = f.metadata["key"], _table(f)
        if f.metadata["default"] is not MISSING:
            continue
        out += [f"{name}.{g.name}" for g in fields(table) if g.default is MISSING] if table else [name]
    return tuple(out)


SCHEMA: dict[str, Any] = _schema()
REQUIRED = _required()


def _convert(f, value: Any) -> Any:
    """The value of field ``f`` from what the file holds (its kind already checked against SCHEMA)."""
    table = _table(f)
    if f.metadata.get("convert"):
        return f.metadata["convert"](value)
    if table is not None and not f.metadata.get("kind"):
        return table(**{g.name: _convert(g, value[g.name]) for g in fields(table) if g.name in value})
    if f.type.startswith("tuple[float"):
        return tuple(float(v) for v in value)
    if f.type.startswith("tuple["):
        return tuple(value)
    return float(value) if f.type == "float" else value


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


def _check_keys(node: dict, schema: dict, where: str, path: Path) -> None:
    """Every key of ``node`` must be in ``schema`` with the right kind; errors name file and key."""
    for k, value in node.items():
        spec = schema.get(k, schema.get("*"))
        name = f"{where}.{k}" if where else k
        if spec is None:
            known = ", ".join(k for k in schema if k != "*")
            raise BundleError(f"{path}: unknown key `{name}` (known here: {known})")
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise BundleError(f"{path}: `{name}` should be a table [{name}]")
            _check_keys(value, spec, name, path)
        elif isinstance(spec, list):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise BundleError(f"{path}: `{name}` should be an array of tables [[{name}]]")
            for i, row in enumerate(value):
                _check_keys(row, spec[0], f"{name}[{i}]", path)
        elif not _kind_ok(value, spec):
            raise BundleError(f"{path}: `{name}` should be {spec}, got {value!r}")


def _get(t: dict, dotted: str, default: Any = None) -> Any:
    node: Any = t
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


# ---- the rules a value must also follow ------------------------------------------------------------------
def _check_weights(w: WeightsSpec, path: Path) -> None:
    if not w.file or "/" in w.file or "\\" in w.file:
        raise BundleError(f"{path}: `weights.file` must be a bare file name, got {w.file!r}")
    if w.md5 and not _MD5.match(w.md5):
        raise BundleError(f"{path}: `weights.md5` must be 32 hex digits or empty, got {w.md5!r}")
    if w.size is not None and w.size <= 0:
        raise BundleError(f"{path}: `weights.size` must be positive, got {w.size}")
    if not (w.urls or w.package or w.where):
        raise BundleError(f"{path}: `[weights]` needs urls, a package or a `where` telling users how to get the file")


def _check_accuracy(acc: dict, path: Path) -> None:
    for source, row in acc.items():
        for k in ("top1", "top5"):
            if k in row and not 0 <= row[k] <= 100:
                raise BundleError(f"{path}: `accuracy.{source}.{k}` = {row[k]} is not a percentage")
        if "top1" not in row:
            raise BundleError(f"{path}: `accuracy.{source}` needs top1")


def _check_cli(aliases: dict, commands: tuple[Command, ...], path: Path) -> None:
    for script, step in aliases.items():
        if not _SCRIPT.match(script) or script in (s + ".py" for s in STEPS) or script == "model.py":
            raise BundleError(f"{path}: `cli.aliases` {script!r} must be a new script name like get_info.py")
        if step not in STEPS:
            raise BundleError(f"{path}: `cli.aliases.{script}` = {step!r}: expected one of {', '.join(STEPS)}")
    for i, c in enumerate(commands):
        if c.step not in STEPS or not c.argv:
            raise BundleError(f"{path}: `cli.commands[{i}]` needs a step ({', '.join(STEPS)}) and an argv")
        if c.argv[0] != c.step + ".py" and aliases.get(c.argv[0]) != c.step:
            raise BundleError(f"{path}: `cli.commands[{i}]` runs {c.argv[0]}, which is not a script of step {c.step}")
        for arg in c.argv[1:]:
            for name in re.findall(r"\{([^{}]*)\}", arg):
                if name not in COMMAND_FIELDS:
                    raise BundleError(f"{path}: `cli.commands[{i}]`: unknown placeholder {{{name}}} in {arg!r}")


def _check_guide_atc(table: dict, path: Path) -> None:
    for k in table:
        if k != "all" and not (is_number(k) and int(k) >= 1):
            raise BundleError(f"{path}: `om.guide_atc.{k}`: keys are batch sizes (16) or all")


def _check_preprocess(pre: Preprocess, path: Path) -> None:
    if pre.interpolation not in INTERPOLATIONS:
        raise BundleError(f"{path}: `preprocess.interpolation` must be one of {', '.join(INTERPOLATIONS)}")
    if pre.channel_order not in ("RGB", "BGR") or len(pre.mean) != 3 or len(pre.std) != 3:
        raise BundleError(f"{path}: `preprocess` needs channel_order RGB|BGR and three mean/std values")


def _check(m: Manifest, t: dict, path: Path) -> None:
    """The rules beyond the kinds, in this order (the first broken one is the message)."""
    _check_preprocess(m.preprocess, path)
    if m.onnx_batch not in ("dynamic", "static"):
        raise BundleError(f"{path}: `onnx.batch` must be 'dynamic' or 'static', got {m.onnx_batch!r}")
    if m.role not in ROLES:
        raise BundleError(f"{path}: `role` must be one of {', '.join(ROLES)}, got {m.role!r}")
    for row in t.get("throughput", []):
        if len(row.get("bs", [])) != len(row.get("fps", [])):
            raise BundleError(f"{path}: a [[throughput]] row has {len(row['bs'])} bs but {len(row['fps'])} fps")
    shape, crop = m.input_shape, m.preprocess.crop
    if len(shape) != 3 or shape[0] != 3 or shape[1] != crop or shape[2] != crop:
        raise BundleError(f"{path}: `input.shape` {list(shape)} does not match preprocess.crop {crop}")
    _check_cli(m.aliases, m.commands, path)
    if not 0 <= m.label_offset < m.classes:
        raise BundleError(f"{path}: `label_offset` must be between 0 and classes - 1, got {m.label_offset}")
    _check_weights(m.weights, path)
    _check_guide_atc(m.guide_atc, path)
    _check_accuracy(m.accuracy, path)


def parse(path: Path, model_dir: Path) -> Manifest:
    """Parse and validate one manifest file: every key against SCHEMA, the REQUIRED ones present, the
    values of Manifest's fields read from their keys, then the rules."""
    try:
        t = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise BundleError(f"{path}: not a readable TOML manifest ({exc})") from None
    _check_keys(t, SCHEMA, "", path)
    missing = [k for k in REQUIRED if _get(t, k) is None]
    if missing:
        raise BundleError(f"{path}: missing `{missing[0]}` in the manifest")
    values = {f.name: _convert(f, _get(t, f.metadata["key"], f.metadata["default"])) for f in _keyed()}
    m = Manifest(path=Path(path), model_dir=Path(model_dir), **values)
    _check(m, t, path)
    return m


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
