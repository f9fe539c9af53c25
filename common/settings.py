"""Every variable the bundle reads: name, default, type, validation and help, in one table.

The Makefile's ``?=`` lines, ``make help``, the Python steps and ``docker/run.sh`` all follow this table
(a test fails when any of them differs). Values come from the environment the Makefile exports, so
paths with spaces and quotes survive and no value is ever expanded inside shell code.

Standard library only and Python 3.7+, so a travelled model folder can use it as is.
``python -m common.settings help|names|defaults|check`` serves the Makefile and docker/run.sh.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from . import backends
from .errors import BundleError

OFF = ("0", "no", "false", "off")
ON = ("1", "yes", "true", "on")


@dataclass(frozen=True)
class Setting:
    """One variable: ``kind`` names its parser; ``scope`` is ``step`` (read by the Python steps and
    forwarded into containers) or ``make`` (the Makefile's own: interpreter, venv, containers)."""

    name: str
    default: str
    kind: str
    help: str
    choices: tuple[str, ...] = ()
    scope: str = "step"
    minimum: float | None = None
    empty_ok: bool = False

    def __post_init__(self) -> None:
        # an empty value is an error unless the default is empty too, or empty means something
        object.__setattr__(self, "empty_ok", self.empty_ok or self.default == "")

    def default_for(self, values: Mapping[str, str]) -> str:
        """The default with ``{OTHER}`` references filled in (``WORK`` is ``work/{MODEL}``)."""
        return re.sub(r"\{([A-Z_]+)\}", lambda m: str(values.get(m[1], "")), self.default)


def setting(default: str, kind: str, help: str, **rules: Any) -> Any:
    """A field of ``Settings``: its variable's default, kind, help and rules (``Setting``'s fields but the
    name, which is the field's, upper-cased) ride in the field's metadata."""
    return field(metadata={"setting": {"default": default, "kind": kind, "help": help, **rules}})


@dataclass(frozen=True, init=False)
class Settings:
    """The typed values of every setting, read once from an environment (``os.environ`` by default).

    The fields are the table: one per variable, in the order of `make help`, its name the variable's in
    lower case (``settings.bs``, ``settings.perf_bs``), its rules in ``setting(...)``. ``Settings(environ,
    scope=...)`` reads the settings of ``scope`` (``step``: the Python steps'; ``make``; ``all``): an unset
    variable takes its default, a set but empty or invalid one is an error naming it; the settings of another
    scope are None. ``given`` names the variables the environment set (the others took their default).
    """

    model: str = setting(
        "inceptionresnetv2", "name", "model: a manifest in manifests/ (make models), or all (guide models)"
    )
    bs: int = setting("16", "int", "batch size for infer (and the OM / static ONNX that goes with it)", minimum=1)
    dataset: str = setting(
        "/root/datasets/imagenet/val", "text", "ImageNet val image folder, or 'sample' (bundled photos)"
    )
    labels: str = setting("", "text", "val_label.txt (default: the guide's path, or <DATASET>/../val_label.txt)")
    weights: str = setting("", "text", "use this checkpoint file instead of downloading (still md5-checked)")
    weights_dir: str = setting(
        "",
        "text",
        "shared weights cache (default $XDG_CACHE_HOME or ~/.cache, /modelzoo-bundle/weights)",
    )
    verify: bool = setting("1", "flag", "0 skips the md5 check of the weights (loudly)")
    trust_checkpoint: bool = setting("0", "flag", "1 allows unsafe unpickling, only after the md5 matched")
    backend: str = setting(
        "auto",
        "choice",
        backends.settings_help(),  # from the registry: each backend's module in common/backends/specs
        choices=("auto", *backends.names()),
    )
    device: tuple[str, ...] = setting("0", "devices", "NPU/GPU id; a list 0,1 shards the dataset over NPUs")
    provider: str = setting(
        "auto",
        "choice",
        "ONNX Runtime / PyTorch device: auto (CUDA when present, else CPU) | cuda | cpu | tensorrt (ONNX Runtime's "
        "TensorRT provider, fp16, engines cached in WORK/trt-cache)",
        choices=("auto", "cuda", "cpu", "tensorrt"),
    )
    outfmt: str = setting("TXT", "choice", "per-sample output files: TXT | BIN | NPY", choices=("TXT", "BIN", "NPY"))
    perf_bs: tuple[int, ...] = setting("1 4 8 16 32 64", "ints", "batch sizes of the throughput sweep (make perf)")
    perf_seconds: float = setting(
        "1", "float", "minimum timed seconds per batch size (ONNX Runtime / PyTorch)", minimum=0
    )
    perf_loop: int = setting("100", "int", "ais_bench --loop per batch size (OM backend)", minimum=1)
    # issue 18: a watchdog around every device call
    infer_timeout: float | str = setting(
        "",
        "float",
        "seconds an ais_bench device call may take before the run stops naming it (default: 10 x the slowest "
        "batch so far, at least 60 s; the first call, which loads the model, gets 10 x the limit)",
    )
    soc: str = setting("", "text", "ATC --soc_version, e.g. Ascend310P3 (default: from npu-smi info)")
    dynamic_batch: tuple[int, ...] = setting("", "ints", "e.g. 1,4,8,16,32,64: one OM with --dynamic_batch_size")
    log: str = setting(
        "error",
        "choice",
        "ATC --log level: debug | info | warning | error | null",
        choices=("debug", "info", "warning", "error", "null"),
    )
    atc_extra: str = setting("", "text", "extra ATC flags, split like a shell would (never run by one)")
    atc_profile: str = setting(
        "bundle",
        "choice",
        "ATC flags: bundle (the guides' common command) | guide (+ the model guide's own flags, e.g. "
        "EfficientNet-B3 bs16 --auto_tune_mode=RL,GA, CANN 5.x)",
        choices=("bundle", "guide"),
    )
    # issue 21: make precision (fp16 predicted on the CPU before the NPU)
    precision: bool = setting("0", "flag", "1: make all also runs make precision (fp16 accuracy predicted on the CPU)")
    precision_n: int = setting(
        "1000",
        "int",
        "make precision: the first N images of DATASET (0: all; DATASET=sample: its photos)",
        minimum=0,
    )
    precision_mode: str = setting(
        "",
        "choice",
        "make precision: simulate only this ATC --precision_mode (default: ATC_EXTRA's, else force_fp16, "
        "then allow_mix_precision)",
        choices=("force_fp16", "allow_mix_precision", "must_keep_origin_dtype"),
    )
    simplify: bool = setting("1", "flag", "0 skips onnx-simplifier")
    progress: bool = setting("1", "flag", "0 hides progress bars")
    sample_dir: str = setting("work/sample", "text", "where DATASET=sample is built")
    work: str = setting("work/{MODEL}", "text", "output folder of this model")
    run: str = setting(
        "",
        "text",
        "name of the run folder in WORK (default <backend>-bs<BS>[-shard<i>of<N>]), e.g. RUN=310p-om-bs16",
    )
    shard: str = setting("", "text", "i/N: preprocess and infer only shard i of N of DATASET (make merge joins them)")
    runs: str = setting(
        "", "text", "run folders (globs allowed) that make merge joins into this run, e.g. 'w*/onnx-bs16*'"
    )
    ais_bench_python: str = setting("", "text", "interpreter with ais_bench installed, for its CLI (default python3)")
    benchmark_tool: str = setting("", "text", "the legacy benchmark.<arch> (default: on PATH or in the current folder)")
    # issue 17: the streaming run (decode workers -> shared-memory ring -> the session, no .bin files)
    stream: bool = setting(
        "0",
        "flag",
        "1: make infer / make all decode the images straight into a shared-memory ring of batches and infer from "
        "it (no preprocess, info or .bin files; the same output bytes); in-process backends only",
    )
    keep_bin: bool = setting(
        "0", "flag", "1 with STREAM=1: the decode workers also write the .bin files (a finished preprocess)"
    )
    workers: int = setting(
        "0",
        "int",
        "decode processes of STREAM=1 (0: every core for a device backend, cores - 1 (at least 1) for a CPU one)",
        minimum=0,
    )
    ring: int = setting(
        "4", "int", "batch slots in STREAM=1's shared-memory ring (memory: RING x BS x one input)", minimum=2
    )
    python: str | None = setting(
        "python3.11", "text", "interpreter that creates the venv (VENV= uses it as is)", scope="make"
    )
    venv: str | None = setting(
        ".venv",
        "text",
        "virtual environment folder; empty: use PYTHON and its packages",
        scope="make",
        empty_ok=True,
    )
    venv_flags: str | None = setting(
        "",
        "text",
        "extra 'python -m venv' flags (default --system-site-packages where /usr/local/Ascend exists)",
        scope="make",
    )
    cmd: str | None = setting(
        "make all",
        "text",
        "the shell command docker-run runs in the container (the variables above reach it as environment)",
        scope="make",
    )
    kind: str | None = setting(
        "ascend", "choice", "container flavour: ascend (CANN) | cpu", choices=("ascend", "cpu"), scope="make"
    )
    stage: str | None = setting(
        "release",
        "choice",
        "image stage: release (runtime only) | test (cpu: + tests, demo and dev packages; ascend: + the stand-ins)",
        choices=("release", "test"),
        scope="make",
    )
    image: str | None = setting(
        "modelzoo-bundle:{KIND}", "text", "image name:tag that image builds and docker-run runs", scope="make"
    )
    engine: str | None = setting(
        "",
        "choice",
        "container engine: docker | podman | buildah (builds only); default: docker when its engine answers "
        "(docker info), else podman, else buildah",
        choices=("docker", "podman", "buildah"),
        scope="make",
    )
    base: str | None = setting(
        "",
        "text",
        "base image of make image, name:tag[@sha256:...] (default: the Dockerfile's, pinned by tag and digest)",
        scope="make",
    )
    docker_args: str | None = setting("", "text", "extra image build flags, e.g. --build-arg ORT_GPU=1", scope="make")
    docker_run_args: str | None = setting(
        "", "text", "extra docker/podman run flags for docker-run, e.g. --network none", scope="make"
    )
    quick: bool | None = setting(
        "0", "flag", "1: make bench runs its short version (what the test suite runs)", scope="make"
    )
    bench_out: str | None = setting("work/bench", "text", "where make bench writes its JSON results", scope="make")
    compat_dir: str | None = setting(
        "",
        "text",
        "where make compat-envs puts its Python 3.7-3.13 venvs (default ~/.cache/modelzoo-bundle/compat)",
        scope="make",
    )
    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __init__(self, environ: Mapping[str, str] | None = None, scope: str = "step") -> None:
        env = os.environ if environ is None else environ
        raw: dict[str, str] = {}  # the values read so far: a default may name one ({MODEL})
        for s in TABLE:
            value = None
            if scope == "all" or s.scope == scope:
                raw[s.name] = env.get(s.name, s.default_for(raw))
                value = _parse(s, raw[s.name])
            object.__setattr__(self, s.name.lower(), value)  # frozen: set once, here
        object.__setattr__(self, "given", frozenset(name for name in raw if name in env))


# The table, from the fields of Settings. Order is the order of `make help`.
TABLE: tuple[Setting, ...] = tuple(
    Setting(f.name.upper(), **f.metadata["setting"]) for f in fields(Settings) if f.metadata
)
BY_NAME: dict[str, Setting] = {s.name: s for s in TABLE}
# issue 18: the settings that are paths: a newline, or a leading '-' (which a tool would read as an option), is refused
PATHS = {
    "DATASET", "LABELS", "WEIGHTS", "WEIGHTS_DIR", "SAMPLE_DIR", "WORK", "RUN", "AIS_BENCH_PYTHON", "BENCHMARK_TOOL",
    "PYTHON", "VENV", "BENCH_OUT", "COMPAT_DIR",
}  # fmt: skip
# defaults the Makefile computes itself (documented in the help text)
MAKE_COMPUTED = {"VENV_FLAGS"}


def _parse(s: Setting, raw: str) -> Any:
    """The typed value of ``raw`` for setting ``s``; BundleError (one line naming it) when invalid."""
    if raw.strip() == "":
        if not s.empty_ok:
            raise BundleError(f"{s.name} is empty: expected {expected(s)}")
        return () if s.kind in ("ints", "devices") else raw
    if s.kind in ("text", "name"):
        if s.name in PATHS and ("\n" in raw or "\r" in raw):
            raise BundleError(f"{s.name}={raw!r}: a path with a newline is refused (it would break the bundle's lists)")
        if s.name in PATHS and raw.startswith("-"):
            raise BundleError(f"{s.name}={raw!r}: a path starting with '-' would read as an option; write ./{raw}")
        if s.kind == "name" and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", raw):
            raise BundleError(f"{s.name}={raw!r}: expected {expected(s)}")
        return raw
    if s.kind == "flag":
        low = raw.strip().lower()
        if low in ON:
            return True
        if low in OFF:
            return False
        raise BundleError(f"{s.name}={raw!r}: expected {expected(s)}")
    if s.kind == "choice":
        want = raw.strip()
        found = [c for c in s.choices if c.lower() == want.lower()]
        if not found:
            raise BundleError(f"{s.name}={raw!r}: expected {expected(s)}")
        return found[0]
    if s.kind in ("int", "float"):
        try:
            value = int(raw) if s.kind == "int" else float(raw)
        except ValueError:
            raise BundleError(f"{s.name}={raw!r}: expected {expected(s)}") from None
        if value != value or (s.minimum is not None and (value < s.minimum or (s.kind == "float" and value <= 0))):
            raise BundleError(f"{s.name}={raw!r}: expected {expected(s)}")
        return value
    if s.kind == "ints":
        items = raw.replace(",", " ").split()
        if not all(re.match(r"^[0-9]+$", t) and int(t) >= 1 for t in items):
            raise BundleError(f"{s.name}={raw!r}: expected {expected(s)}")
        values = tuple(int(t) for t in items)
        if len(set(values)) != len(values):
            raise BundleError(f"{s.name}={raw!r}: a batch size is listed twice")
        return values
    if s.kind == "devices":
        items = [t.strip() for t in raw.split(",")]
        if not all(re.match(r"^[0-9]+$", t) for t in items) or len(set(items)) != len(items):
            raise BundleError(f"{s.name}={raw!r}: expected {expected(s)}")
        return tuple(items)
    raise AssertionError(s.kind)


def expected(s: Setting) -> str:
    """What a valid value looks like, for error messages."""
    return {
        "name": "a model name (see make models)",
        "flag": "1 or 0 (also yes/no, true/false, on/off)",
        "choice": "one of " + ", ".join(s.choices),
        "int": f"a whole number >= {int(s.minimum or 0)}",
        "float": "a number > 0",
        "ints": "batch sizes >= 1 like '1 4 8 16'",
        "devices": "device ids like 0 or 0,1",
        "text": "text",
    }[s.kind]


def help_lines(environ: Mapping[str, str] | None = None) -> list[str]:
    """``  NAME=<current value>   help`` for every setting (values printed, never evaluated)."""
    env = os.environ if environ is None else environ
    lines = []
    for s in TABLE:
        value = env.get(s.name, s.default_for(env))
        lines.append(f"  {s.name}={value}   {s.help}")
    return lines


def _main(argv: list[str]) -> int:
    commands: dict[str, Callable[[], None]] = {
        "help": lambda: print("\n".join(help_lines())),
        "names": lambda: print("\n".join(s.name for s in TABLE if s.scope == "step" or "--all" in argv)),
        "defaults": lambda: print("\n".join(f"{s.name}={s.default}" for s in TABLE)),
        "check": lambda: Settings(scope="all") and None,
    }
    if not argv or argv[0] not in commands:
        print(f"usage: python -m common.settings <{'|'.join(commands)}> [--all]", file=sys.stderr)
        return 2
    try:
        commands[argv[0]]()
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `make help | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
