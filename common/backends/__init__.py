"""Every way of running inference behind one interface, and the registry of backends.

A ``Runner`` infers a list of input files into an output folder (ais_bench layout, summary beside it)
and measures throughput per batch size; ``infer_step`` and ``perf_step`` never know which one runs.
Most runners drive a ``Session`` (a model loaded in this process: ONNX Runtime, PyTorch, the
ais_bench API) through ``common.backends.runner``; tools that run a whole folder themselves (the ais_bench
CLI, the legacy benchmark tool) are runners of their own with the same signature. Both are context
managers: leaving the ``with`` block frees what they hold.

Each backend is declared by one module of ``common/backends/specs/`` (a ``Backend`` bound to ``BACKEND``):
its name, what it needs, whether its results are Ascend results, how ``BACKEND=auto`` detects it and how
it makes its runner. The registry below finds those modules itself (``pkgutil``), so adding a backend is
one new file there; every other module asks the registry (``names``, ``is_ascend``, ``label``, ...) and
never names a backend. This module and the specs are standard library only and Python 3.7+
(``common.settings`` and a travelled folder's test/parse.py read them); the runtimes load on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BundleError

if TYPE_CHECKING:  # numpy is not imported here: `make preprocess` starts without it
    import numpy as np


class Session:
    """A model loaded in this process. ``batch`` is its fixed batch size, or None for any."""

    name = "session"
    batch: int | None = None
    input_name = ""

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def describe(self) -> str:
        """What runs: runtime, provider or device."""
        return self.name

    def timed(self, batch: np.ndarray):
        """A call without arguments that ``make perf`` times: here ``run(batch)`` (host copies included);
        a device session puts the batch on the device first, so that only compute is timed."""
        return lambda: self.run(batch)

    def perf_row(self, bs: int, times_ms: list[float]):
        """The ``common.perf.PerfRow`` of the timed calls (host-measured: bs / median latency)."""
        from .. import perf

        return perf.row(bs, times_ms, f"host-measured, {self.describe()}", perf.HOST_METHOD)

    def own_timings(self) -> list[float] | None:
        """The runtime's own compute time per ``run`` in ms (ais_bench), or None to time on the host."""
        return None

    def close(self) -> None:
        """Free the model (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Runner:
    """Infers a dataset and measures throughput, with one signature for every backend.

    A template (Polygraphy's ``BaseRunner.infer`` -> ``infer_impl``): the public ``prepare`` / ``infer`` /
    ``perf`` / ``stream`` check what every backend needs, once (``check``: the tool it runs, its model file,
    the batch size among the model's gears), then call the backend's own part, ``_prepare`` / ``_infer`` /
    ``_perf`` / ``_stream``. A concrete runner implements only those (tests/test_backends.py checks it)."""

    name = "runner"
    bs = 0  # the batch size ``infer`` runs at
    gears: tuple = ()  # the batch sizes the model runs at where only some do (a dynamic-batch OM's DYNAMIC_BATCH)
    model_kind = "OM"  # what ``model_file`` is, for its message: "<path>: no OM model (run `make om` first)"

    def model_file(self, bs: int) -> Path | None:
        """The file this runner runs at batch size ``bs``, checked before its part; None where its session
        checks its own file (in-process runtimes)."""
        return None

    def tool(self) -> str | None:
        """The tool this runner runs, found (or refused in one line) before the model file is checked."""
        return None

    def check(self, bs: int) -> None:
        """The shared preconditions at batch size ``bs``: the tool, the model file, the batch size a gear."""
        self.tool()
        path = self.model_file(bs)
        if path is not None and not Path(path).is_file():
            kind = self.model_kind
            raise BundleError(f"{path}: no {kind} model (run `make {kind.lower()}` first)")
        if self.gears and bs not in self.gears:
            gears = ",".join(str(g) for g in self.gears)
            raise BundleError(
                f"BS={bs} is not one of the dynamic-batch OM's gears ({gears}): pick one of them, or rebuild "
                f"with `make om DYNAMIC_BATCH=...` including {bs}"
            )

    def prepare(self) -> None:
        """Check now that inference can start (the model loads, the tool is there), so that a step
        fails before it deletes anything."""
        self.check(self.bs)
        self._prepare()

    def infer(self, inputs: list[Path], out_dir: Path) -> dict:
        """Infer ``inputs`` (.bin files) into ``out_dir``, skipping finished ones; returns the summary,
        also written beside ``out_dir`` (``common.summary``)."""
        self.check(self.bs)
        return self._infer(inputs, Path(out_dir))

    def perf(self, bs: int):
        """One ``common.perf.PerfRow``: pure-inference throughput at batch size ``bs``."""
        self.check(bs)
        return self._perf(bs)

    def stream(self, feed) -> None:
        """Infer from ``feed`` (``common.stream.StreamFeed``, STREAM=1) instead of the .bin files. Nothing is
        checked first: a runner that cannot stream refuses before its model is looked for."""
        self._stream(feed)

    def _prepare(self) -> None:
        """The backend's part of ``prepare`` (the model loads on its devices); nothing by default."""

    def _infer(self, inputs: list[Path], out_dir: Path) -> dict:
        raise NotImplementedError

    def _perf(self, bs: int):
        raise NotImplementedError

    def _stream(self, feed) -> None:
        """The backend's part of ``stream``; a runner whose tool reads a folder refuses in one line."""
        raise BundleError(
            f"STREAM=1: BACKEND={self.name} runs a tool that reads a folder of .bin files; stream with BACKEND=onnx, "
            "torch or om (the ais_bench API), or run without STREAM=1"
        )

    def record(self) -> dict:
        """What ``perf.json`` should record beyond the rows (the device, checks such as TensorRT's fp16
        agreement with fp32); ``notes`` (lines) also go under the table."""
        return {}

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Free sessions and tool state (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------- the registry
# what a backend needs; the first of a backend's ``needs`` is the file it runs (``model_file``)
CHECKPOINT, ONNX, OM, TOOL = "a checkpoint", "an ONNX", "an OM per batch size", "a tool on PATH"
UNKNOWN_LABEL = "om"  # test/parse.py's label of a run that records no known backend (the guides' runs are OM)


@dataclass(frozen=True, repr=False)
class Backend:
    """One backend's declaration. ``name`` is its BACKEND value (a variant's own name: ``variant_of`` is the
    BACKEND it runs under and ``provider`` the PROVIDER that selects it); ``help`` its words in ``make
    help``; ``make(art)`` its runner for an ``Artifacts`` (duck-typed: ``settings``, ``cfg``, ``onnx(bs)``,
    ``om(bs)``, ...); ``detect()`` True where ``BACKEND=auto`` may pick it (lowest ``auto`` rank first);
    ``order`` its place in lists. ``ascend``: its results are Ascend results (``label`` on parse.py's
    lines); ``shards``: DEVICE may list several devices; ``accelerator``: it never runs on the host CPU;
    ``ignores_provider``: PROVIDER means nothing to it; ``per_chip``: its perf figures (``source`` starting
    with its name) are per chip; ``fp16``: a variant whose runs get the fp16 prediction (its record holds
    its name as a key)."""

    name: str
    help: str
    needs: tuple
    make: Callable
    order: int = 100
    detect: Callable[[], bool] | None = None
    auto: int = 100
    ascend: bool = False
    label: str = ""
    variant_of: str = ""
    provider: str = ""
    shards: bool = False
    accelerator: bool = False
    ignores_provider: bool = False
    per_chip: bool = False
    fp16: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", tuple(self.needs))
        object.__setattr__(self, "label", self.label or self.name)

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"


_FOUND: list = []  # the specs, found once


def registered() -> tuple:
    """Every declared backend (variants too), in ``order``: each module of ``specs`` that has a ``BACKEND``."""
    if not _FOUND:
        found = []
        specs = importlib.import_module(f"{__name__}.specs")  # by name: the registry depends on no backend
        for info in pkgutil.iter_modules(specs.__path__):
            module = importlib.import_module(f"{specs.__name__}.{info.name}")
            if isinstance(getattr(module, "BACKEND", None), Backend):
                found.append(module.BACKEND)
        _FOUND.extend(sorted(found, key=lambda b: (b.order, b.name)))
    return tuple(_FOUND)


def names() -> tuple:
    """The BACKEND values (``auto`` aside), in ``order``."""
    return tuple(b.name for b in registered() if not b.variant_of)


def get(name: str) -> Backend:
    """The declaration of BACKEND ``name`` (resolved: not ``auto``)."""
    for b in registered():
        if b.name == name and not b.variant_of:
            return b
    raise BundleError(f"BACKEND={name}: expected auto, {', '.join(names()[:-1])} or {names()[-1]}")


def known(name: str) -> bool:
    return name in names()


def settings_help() -> str:
    """BACKEND's help in the settings table: ``auto | onnx (ONNX Runtime) | om (ais_bench) | ...``."""
    return " | ".join(["auto", *(f"{b.name} ({b.help})" for b in registered() if not b.variant_of)])


def is_ascend(name) -> bool:
    """True for a backend whose results are Ascend results (an OM on an NPU)."""
    return known(str(name)) and get(str(name)).ascend


def label(name) -> str:
    """What test/parse.py prints first for a run of backend ``name`` (``UNKNOWN_LABEL`` for none)."""
    return get(str(name)).label if known(str(name)) else UNKNOWN_LABEL


def needs(name: str, what: str) -> bool:
    """Whether backend ``name`` needs ``what`` (``CHECKPOINT``, ``ONNX``, ``OM``, ``TOOL``)."""
    return what in get(name).needs


def per_chip(source: str) -> bool:
    """Whether a perf row's ``source`` is a per-chip figure (the legacy benchmark tool's)."""
    return any(b.per_chip and source.startswith(b.name) for b in registered())


def fp16_variant(record: dict, ran: str = "") -> bool:
    """Whether a run's record (or what ran) is an fp16 variant's (TensorRT: its record holds the key)."""
    fp16 = [b.name for b in registered() if b.fp16]
    return any(bool(record.get(n)) for n in fp16) or any(n in ran.lower() for n in fp16)


def fallback() -> str:
    """The backend ``auto`` falls back to where nothing else is detected: the one that runs anywhere."""
    return max((b for b in registered() if b.detect is not None and not b.variant_of), key=lambda b: b.auto).name


def resolve(name: str) -> str:
    """``auto`` picks the first detected backend by ``auto`` rank (om where CANN and an NPU are present),
    else the fallback (ONNX Runtime)."""
    name = (name or "auto").lower()
    if name == "auto":
        ranked = sorted((b for b in registered() if b.detect and not b.variant_of), key=lambda b: b.auto)
        return next((b.name for b in ranked if b.detect()), fallback())
    return get(name).name


def select(name: str, provider: str) -> Backend:
    """The declaration that runs BACKEND ``name`` with PROVIDER ``provider``: a variant selected by the
    provider (PROVIDER=tensorrt: ONNX Runtime's TensorRT provider), else the backend itself."""
    spec = get(name)
    for v in registered():
        if v.variant_of and v.provider == provider and not spec.ignores_provider:
            if v.variant_of != name:
                raise BundleError(f"PROVIDER={provider} runs {v.help}: BACKEND={name} cannot")
            return v
    return spec


def make_runner(art) -> Runner:
    """The runner of ``art.cfg.backend`` (``art``: an ``Artifacts``), for inference at BS and the sweep."""
    s, name = art.settings, art.cfg.backend
    if not get(name).shards and len(s.device) > 1:
        many = " or ".join(f"BACKEND={b.name} ({b.help})" for b in registered() if b.shards)
        raise BundleError(f"DEVICE={','.join(s.device)}: several devices are for {many} only")
    return select(name, s.provider).make(art)


def model_file(art, bs: int | None = None) -> Path:
    """The file the backend runs (the first of its ``needs``): the checkpoint, the ONNX or the OM."""
    first = get(art.cfg.backend).needs[0]
    if first == CHECKPOINT:
        return art.weights()[0]
    return art.onnx(bs) if first == ONNX else art.om(bs)
