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
from typing import Any

from . import backends
from .errors import BundleError

OFF = ("0", "no", "false", "off")
ON = ("1", "yes", "true", "on")


class Setting:
    """One variable: ``kind`` names its parser; ``scope`` is ``step`` (read by the Python steps and
    forwarded into containers) or ``make`` (the Makefile's own: interpreter, venv, containers)."""

    def __init__(
        self,
        name: str,
        default: str,
        kind: str,
        help: str,
        choices: tuple[str, ...] = (),
        scope: str = "step",
        minimum: float | None = None,
        empty_ok: bool = False,
    ) -> None:
        self.name, self.default, self.kind, self.help = name, default, kind, help
        self.choices, self.scope, self.minimum = choices, scope, minimum
        # an empty value is an error unless the default is empty too, or empty means something
        self.empty_ok = empty_ok or default == ""

    def default_for(self, values: Mapping[str, str]) -> str:
        """The default with ``{OTHER}`` references filled in (``WORK`` is ``work/{MODEL}``)."""
        return re.sub(r"\{([A-Z_]+)\}", lambda m: str(values.get(m[1], "")), self.default)


# The table. Order is the order of `make help`.
TABLE: tuple[Setting, ...] = (
    Setting(
        "MODEL", "inceptionresnetv2", "name", "model: a manifest in manifests/ (make models), or all (guide models)"
    ),
    Setting("BS", "16", "int", "batch size for infer (and the OM / static ONNX that goes with it)", minimum=1),
    Setting(
        "DATASET", "/root/datasets/imagenet/val", "text", "ImageNet val image folder, or 'sample' (bundled photos)"
    ),
    Setting("LABELS", "", "text", "val_label.txt (default: the guide's path, or <DATASET>/../val_label.txt)"),
    Setting("WEIGHTS", "", "text", "use this checkpoint file instead of downloading (still md5-checked)"),
    Setting(
        "WEIGHTS_DIR",
        "",
        "text",
        "shared weights cache (default $XDG_CACHE_HOME or ~/.cache, /modelzoo-bundle/weights)",
    ),
    Setting("VERIFY", "1", "flag", "0 skips the md5 check of the weights (loudly)"),
    Setting("TRUST_CHECKPOINT", "0", "flag", "1 allows unsafe unpickling, only after the md5 matched"),
    Setting(
        "BACKEND",
        "auto",
        "choice",
        backends.settings_help(),  # from the registry: each backend's module in common/backends/specs
        choices=("auto", *backends.names()),
    ),
    Setting("DEVICE", "0", "devices", "NPU/GPU id; a list 0,1 shards the dataset over NPUs"),
    Setting(
        "PROVIDER",
        "auto",
        "choice",
        "ONNX Runtime / PyTorch device: auto (CUDA when present, else CPU) | cuda | cpu | tensorrt (ONNX Runtime's "
        "TensorRT provider, fp16, engines cached in WORK/trt-cache)",
        choices=("auto", "cuda", "cpu", "tensorrt"),
    ),
    Setting("OUTFMT", "TXT", "choice", "per-sample output files: TXT | BIN | NPY", choices=("TXT", "BIN", "NPY")),
    Setting("PERF_BS", "1 4 8 16 32 64", "ints", "batch sizes of the throughput sweep (make perf)"),
    Setting("PERF_SECONDS", "1", "float", "minimum timed seconds per batch size (ONNX Runtime / PyTorch)", minimum=0),
    Setting("PERF_LOOP", "100", "int", "ais_bench --loop per batch size (OM backend)", minimum=1),
    # issue 18: a watchdog around every device call
    Setting(
        "INFER_TIMEOUT",
        "",
        "float",
        "seconds an ais_bench device call may take before the run stops naming it (default: 10 x the slowest "
        "batch so far, at least 60 s; the first call, which loads the model, gets 10 x the limit)",
    ),
    Setting("SOC", "", "text", "ATC --soc_version, e.g. Ascend310P3 (default: from npu-smi info)"),
    Setting("DYNAMIC_BATCH", "", "ints", "e.g. 1,4,8,16,32,64: one OM with --dynamic_batch_size"),
    Setting(
        "LOG",
        "error",
        "choice",
        "ATC --log level: debug | info | warning | error | null",
        choices=("debug", "info", "warning", "error", "null"),
    ),
    Setting("ATC_EXTRA", "", "text", "extra ATC flags, split like a shell would (never run by one)"),
    Setting(
        "ATC_PROFILE",
        "bundle",
        "choice",
        "ATC flags: bundle (the guides' common command) | guide (+ the model guide's own flags, e.g. "
        "EfficientNet-B3 bs16 --auto_tune_mode=RL,GA, CANN 5.x)",
        choices=("bundle", "guide"),
    ),
    # issue 21: make precision (fp16 predicted on the CPU before the NPU)
    Setting("PRECISION", "0", "flag", "1: make all also runs make precision (fp16 accuracy predicted on the CPU)"),
    Setting(
        "PRECISION_N",
        "1000",
        "int",
        "make precision: the first N images of DATASET (0: all; DATASET=sample: its photos)",
        minimum=0,
    ),
    Setting(
        "PRECISION_MODE",
        "",
        "choice",
        "make precision: simulate only this ATC --precision_mode (default: ATC_EXTRA's, else force_fp16, "
        "then allow_mix_precision)",
        choices=("force_fp16", "allow_mix_precision", "must_keep_origin_dtype"),
    ),
    Setting("SIMPLIFY", "1", "flag", "0 skips onnx-simplifier"),
    Setting("PROGRESS", "1", "flag", "0 hides progress bars"),
    Setting("SAMPLE_DIR", "work/sample", "text", "where DATASET=sample is built"),
    Setting("WORK", "work/{MODEL}", "text", "output folder of this model"),
    Setting(
        "RUN",
        "",
        "text",
        "name of the run folder in WORK (default <backend>-bs<BS>[-shard<i>of<N>]), e.g. RUN=310p-om-bs16",
    ),
    Setting("SHARD", "", "text", "i/N: preprocess and infer only shard i of N of DATASET (make merge joins them)"),
    Setting(
        "RUNS", "", "text", "run folders (globs allowed) that make merge joins into this run, e.g. 'w*/onnx-bs16*'"
    ),
    Setting("AIS_BENCH_PYTHON", "", "text", "interpreter with ais_bench installed, for its CLI (default python3)"),
    Setting("BENCHMARK_TOOL", "", "text", "the legacy benchmark.<arch> (default: on PATH or in the current folder)"),
    # issue 17: the streaming run (decode workers -> shared-memory ring -> the session, no .bin files)
    Setting(
        "STREAM",
        "0",
        "flag",
        "1: make infer / make all decode the images straight into a shared-memory ring of batches and infer from "
        "it (no preprocess, info or .bin files; the same output bytes); in-process backends only",
    ),
    Setting(
        "KEEP_BIN", "0", "flag", "1 with STREAM=1: the decode workers also write the .bin files (a finished preprocess)"
    ),
    Setting(
        "WORKERS",
        "0",
        "int",
        "decode processes of STREAM=1 (0: every core for a device backend, cores - 1 (at least 1) for a CPU one)",
        minimum=0,
    ),
    Setting(
        "RING", "4", "int", "batch slots in STREAM=1's shared-memory ring (memory: RING x BS x one input)", minimum=2
    ),
    Setting("PYTHON", "python3.11", "text", "interpreter that creates the venv (VENV= uses it as is)", scope="make"),
    Setting(
        "VENV",
        ".venv",
        "text",
        "virtual environment folder; empty: use PYTHON and its packages",
        scope="make",
        empty_ok=True,
    ),
    Setting(
        "VENV_FLAGS",
        "",
        "text",
        "extra 'python -m venv' flags (default --system-site-packages where /usr/local/Ascend exists)",
        scope="make",
    ),
    Setting(
        "CMD",
        "make all",
        "text",
        "the shell command docker-run runs in the container (the variables above reach it as environment)",
        scope="make",
    ),
    Setting(
        "KIND", "ascend", "choice", "container flavour: ascend (CANN) | cpu", choices=("ascend", "cpu"), scope="make"
    ),
    Setting(
        "STAGE",
        "release",
        "choice",
        "image stage: release (runtime only) | test (cpu: + tests, demo and dev packages; ascend: + the stand-ins)",
        choices=("release", "test"),
        scope="make",
    ),
    Setting(
        "IMAGE", "modelzoo-bundle:{KIND}", "text", "image name:tag that image builds and docker-run runs", scope="make"
    ),
    Setting(
        "ENGINE",
        "",
        "choice",
        "container engine: docker | podman | buildah (builds only); default: docker when its engine answers "
        "(docker info), else podman, else buildah",
        choices=("docker", "podman", "buildah"),
        scope="make",
    ),
    Setting(
        "BASE",
        "",
        "text",
        "base image of make image, name:tag[@sha256:...] (default: the Dockerfile's, pinned by tag and digest)",
        scope="make",
    ),
    Setting("DOCKER_ARGS", "", "text", "extra image build flags, e.g. --build-arg ORT_GPU=1", scope="make"),
    Setting(
        "DOCKER_RUN_ARGS", "", "text", "extra docker/podman run flags for docker-run, e.g. --network none", scope="make"
    ),
    Setting("QUICK", "0", "flag", "1: make bench runs its short version (what the test suite runs)", scope="make"),
    Setting("BENCH_OUT", "work/bench", "text", "where make bench writes its JSON results", scope="make"),
    Setting(
        "COMPAT_DIR",
        "",
        "text",
        "where make compat-envs puts its Python 3.7-3.13 venvs (default ~/.cache/modelzoo-bundle/compat)",
        scope="make",
    ),
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


class Settings:
    """The typed values of every setting, read once from an environment (``os.environ`` by default).

    Attribute names are the lower-case variable names: ``settings.bs``, ``settings.perf_bs``.
    An unset variable takes its default; a set but empty or invalid one is an error naming it.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, scope: str = "step") -> None:
        env = os.environ if environ is None else environ
        self.raw: dict[str, str] = {}
        for s in TABLE:
            if scope != "all" and s.scope != scope:
                continue
            raw = env.get(s.name)
            if raw is None:
                raw = s.default_for(self.raw)
            self.raw[s.name] = raw
            setattr(self, s.name.lower(), _parse(s, raw))

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in self.raw.items()) + ")"


def flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """One on/off setting, parsed and validated by the table (for code that needs only that one)."""
    return get(name, environ)


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The typed value of one setting from the environment (its default when unset)."""
    s = BY_NAME[name]
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None:
        raw = s.default_for(env)
    return _parse(s, raw)


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
