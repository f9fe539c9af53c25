"""ais_bench: the Python API (``InferSession``) as a session, the ``python3 -m ais_bench`` CLI for hosts
where only the command line works, several NPUs at once, and ais_bench's own pure-inference figure.
ais_bench and aclruntime come as wheels built against CANN. Outputs match the ONNX Runtime path.

Two front-ends are in use, both reporting ais_bench/aclruntime 0.0.2 (README, "ais_bench versions"):
the 2023 Ascend/tools one (``InferSession.sumary``, ``finalize()`` a method, ``infer`` ignores
``mode='dymbatch'``) and the 2024 Ascend/msit one, also ``ait benchmark`` (``summary``,
``free_resource()``, a static ``finalize()``, a CLI that checks every path it is given). What this
module does so that both work:

- dynamic batch: ``set_dynamic_batchsize(gear)`` before ``infer(..., mode='dymbatch')`` (the 2023
  front-end ignores the mode alone);
- teardown: ``finalize()`` is process-wide in both, so a session is released with ``free_resource()``
  where it exists and ``finalize()`` runs once, when the process exits; no session is made after it;
- the CLI gets hard links (or 0o640 copies) of the inputs under safe names in a folder whose path
  holds only ``[_A-Za-z0-9/.-]``, the OM too when its own path would be refused, every path absolute,
  and a ``pkg_resources`` when its interpreter has none (msit's CLI checks every path it is given and
  cannot start without ``pkg_resources``);
- every failure of the runtime is one line naming the call and a remedy (``_remedy``).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import cache, partial
from pathlib import Path

import numpy as np

from .. import outputs, perf, records, summary
from ..backends import Runner, Session
from ..errors import BundleError, first_line
from ..layout import summary_of
from ..watchdog import FIRST, FLOOR, Stalled, Watchdog
from . import runner

MISSING = (
    "ais_bench not found: install the ais_bench and aclruntime wheels built against your CANN "
    "(https://gitee.com/ascend/tools, ais-bench_workload/tool/ais_bench, or msit/ait benchmark), "
    "source env.sh, or use BACKEND=onnx"
)
PERF_SOURCE = "ais_bench (NPU compute time)"
PERF_METHOD = (
    "ais_bench pure inference: samples/s = 1000 x bs / mean NPU compute time, zero inputs "
    "(--loop {loop} executions of one zero-filled batch after 1 warm-up; p50/p99 of the same executions)"
)
_THROUGHPUT = re.compile(r"^\[INFO\] throughput\b.*:\s*([0-9.eE+-]+)\s*$", re.MULTILINE)
# the characters the msit CLI accepts in a path (path_security_check.PATH_WHITE_LIST_REGEX)
SAFE_CHARS = "A-Z a-z 0-9 _ - . /"
_SAFE_PATH = re.compile(r"^[_A-Za-z0-9/.-]+$")
SHIM = Path(__file__).resolve().parent / "ais_bench_env"  # holds only pkg_resources.py
PIPELINE = 3  # ready batches per msit infer_pipeline call (its H2D / compute / D2H queues are 3 deep)


def _ms(entries: list) -> list[float]:
    """Compute times in ms: msit reports (start, end) pairs, the 2023 front-end durations."""
    return [float(e[1] - e[0]) if isinstance(e, (tuple, list)) else float(e) for e in entries]


def api_available() -> bool:
    """True when ``ais_bench.infer.interface`` imports here (it needs aclruntime and the CANN libraries)."""
    try:
        from ais_bench.infer.interface import InferSession  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def lineage(cls) -> str:
    """Which front-end an ``InferSession`` class is: ``msit`` (2024, has ``free_resource``), ``tools``
    (2023, has ``sumary``) or ``unknown``. Both install as ais_bench 0.0.2, so the class tells."""
    if hasattr(cls, "free_resource"):
        return "msit"
    if hasattr(cls, "sumary"):
        return "tools"
    return "unknown"


# ------------------------------------------------------------------------- the process-wide ACL state


class _ProcessAcl:
    """Both front-ends' ``finalize()`` destroys every device context of the process and calls
    aclFinalize, and nothing initialises ACL again afterwards. So: sessions are released one by one
    (``free_resource()`` where the front-end has it; the 2023 one has not, its sessions stay loaded),
    and ``finalize()`` runs once, at exit, after every session of every thread is done."""

    lock = threading.Lock()
    sessions: list = []  # every InferSession made in this process (the 2023 finalize is a method)
    finalized = False
    hooked = False


def _register_session(session) -> None:
    """Keep ``session`` for the one ``finalize()`` at exit (registered with atexit by the first session)."""
    with _ProcessAcl.lock:
        _ProcessAcl.sessions.append(session)
        if not _ProcessAcl.hooked:
            atexit.register(finalize)
            _ProcessAcl.hooked = True


def _check_not_finalized(path: Path) -> None:
    if _ProcessAcl.finalized:
        raise BundleError(
            f"ais_bench InferSession(…, {path.name}): this process already called InferSession.finalize() "
            "(a process-wide teardown after which ACL cannot start again): run the step again"
        )


def finalize() -> None:
    """``InferSession.finalize()`` once per process, when every session is done (registered with
    atexit by the first session). Failures at exit are ignored: the process is ending anyway."""
    with _ProcessAcl.lock:
        if _ProcessAcl.finalized or not _ProcessAcl.sessions:
            return
        _ProcessAcl.finalized = True
        last = _ProcessAcl.sessions[-1]
        _ProcessAcl.sessions.clear()
    try:
        last.finalize()  # a method (2023) or a staticmethod (msit): callable on an instance either way
    except Exception:  # noqa: BLE001 - at exit, nothing is left to protect
        pass


# -------------------------------------------------------------------------------------- the session


def _remedy(call: str, text: str, gear: int | None) -> str:
    if call.startswith("set_dynamic_batchsize"):
        return (
            f"batch size {gear} is not one of the OM's gears: pick BS among DYNAMIC_BATCH, or rebuild the OM "
            "with `make om DYNAMIC_BATCH=...`"
        )
    if "SetContext" in text or "finalize" in text:
        return "a session of this process was torn down by InferSession.finalize(); run the step again"
    if call.startswith("InferSession"):
        return "check the device id (DEVICE=, `npu-smi info`) and that the OM was built for this chip (SOC=, `make om`)"
    return (
        "the runtime's [ERROR] lines above give the cause; check `npu-smi info`, that the OM matches BS/DYNAMIC_BATCH "
        "(`make om`), or use BACKEND=onnx"
    )


class AisBenchSession(Session):
    """One OM on one NPU through ``InferSession``. ``gear`` is the batch size a dynamic-batch OM runs at
    (a short last batch is padded to it); a static OM's batch is its own."""

    name = "om"

    def __init__(
        self, model_path: Path | str, device: str = "0", gear: int | None = None, timeout: float | None = None
    ):
        """``timeout``: INFER_TIMEOUT (seconds per device call; None: ``common.watchdog``'s automatic limit)."""
        self.watchdog = Watchdog(timeout, str(device))
        self.where = ""  # what the current call works on (the batch), for a stalled call's message
        try:
            from ais_bench.infer.interface import InferSession
        except ImportError:
            raise BundleError(MISSING) from None
        path = Path(model_path)  # its runner checked that it is there (``Runner.check``, the template)
        self.device, self.model_path, self.gear = str(device), path, gear
        self.lineage = lineage(InferSession)
        self.session = None
        _check_not_finalized(path)
        call = f"InferSession({self.device}, {path.name})"
        try:
            self.session = self._call(call, InferSession, int(self.device), str(path))
        except BundleError:
            self.watchdog.close()
            raise
        _register_session(self.session)
        inp = self._call("get_inputs", self.session.get_inputs)[0]
        self.input_name = inp.name
        self.input_shape = tuple(inp.shape[1:])
        self.batch = int(inp.shape[0]) if int(inp.shape[0]) > 0 else None
        self.mode = "static" if self.batch else "dymbatch"
        self._gear_set: int | None = None

    def _call(self, call: str, fn, *args, **kwargs):
        """``fn(*args)``; a RuntimeError/ValueError of the runtime becomes one line naming the call."""
        try:
            where = f" ({self.model_path.name}{self.where})"
            return self.watchdog.call(call.split("(")[0], fn, *args, where=where, **kwargs)
        except (RuntimeError, ValueError) as exc:
            text = first_line(exc, joined=True)
            gear = args[0] if call.startswith("set_dynamic_batchsize") and args else self.gear
            raise BundleError(
                f"ais_bench {call} failed on device {self.device} ({self.model_path.name}): {text} — "
                + _remedy(call, text, gear)
            ) from None

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """One batch. A dynamic-batch OM gets ``set_dynamic_batchsize(gear)`` first (the 2023 front-end
        ignores ``mode='dymbatch'``; msit sets it again, harmlessly) and a short batch padded to the gear."""
        n = batch.shape[0]
        if self.mode == "dymbatch":
            gear = self.gear or self._gear_set or n
            if n > gear:
                raise BundleError(f"a batch of {n} on a dynamic-batch OM run at batch size {gear}")
            if n < gear:
                batch = np.concatenate([batch, np.zeros((gear - n, *batch.shape[1:]), batch.dtype)])
            if self._gear_set != gear:
                self._call(f"set_dynamic_batchsize({gear})", self.session.set_dynamic_batchsize, gear)
                self._gear_set = gear
        x = np.ascontiguousarray(batch, dtype=np.float32)
        outs = self._call("infer", self.session.infer, [x], mode=self.mode)
        return [np.asarray(o.to_host() if hasattr(o, "to_host") else o)[:n] for o in outs]

    @property
    def pipeline(self) -> int:
        """How many ready batches one call takes: msit's ``infer_pipeline`` overlaps the copies of one with
        the compute of another (``PIPELINE`` batches per call), else 1."""
        return PIPELINE if hasattr(self.session, "infer_pipeline") and self.lineage == "msit" else 1

    def run_many(self, batches: list[np.ndarray]) -> list[list[np.ndarray]]:
        """Several batches in one ``infer_pipeline`` call (msit): all padded to one shape (its same-shape
        rule: the mode is set from the last feed list), the outputs of all returned at the end."""
        if len(batches) == 1 or self.pipeline == 1:
            return [self.run(b) for b in batches]
        sizes = [b.shape[0] for b in batches]
        gear = self.batch or self.gear or self._gear_set or max(sizes)
        if max(sizes) > gear:
            raise BundleError(f"a batch of {max(sizes)} on an OM run at batch size {gear}")
        feeds = []  # referenced by address until the call returns (BaseTensor): kept here
        for b in batches:
            if b.shape[0] < gear:
                b = np.concatenate([b, np.zeros((gear - b.shape[0], *b.shape[1:]), b.dtype)])
            feeds.append([np.ascontiguousarray(b, dtype=np.float32)])
        if self.mode == "dymbatch":
            self._gear_set = gear  # infer_pipeline sets it from the feeds' batch
        outs = self._call("infer_pipeline", self.session.infer_pipeline, feeds, mode=self.mode)
        return [[np.asarray(o)[:n] for o in out] for out, n in zip(outs, sizes, strict=True)]

    def own_timings(self) -> list[float]:
        """ais_bench's NPU compute time per execution (ms): msit ``summary()``, 2023 ``sumary()``."""
        if hasattr(self.session, "summary"):
            info = self._call("summary", self.session.summary)
        else:
            info = self._call("sumary", self.session.sumary)
        return _ms(list(info.exec_time_list))

    def describe(self) -> str:
        return f"ais_bench InferSession ({self.lineage} front-end, {self.model_path.name}, NPU {self.device})"

    def close(self) -> None:
        """Release this session only: ``free_resource()`` (msit). The 2023 front-end has no per-session
        release; its ``finalize()`` would tear down every session of the process, so it waits for exit."""
        session, self.session = getattr(self, "session", None), None
        if self.watchdog.stalled:  # a call still runs in the runtime: releasing under it could hang too
            return
        try:
            if session is not None and hasattr(session, "free_resource"):
                self.watchdog.call("free_resource", session.free_resource)  # in the thread that made it
        except (RuntimeError, ValueError, Stalled) as exc:
            print(
                f"warning: ais_bench free_resource failed on device {self.device}: {first_line(exc, joined=True)}",
                file=sys.stderr,
            )
        finally:
            self.watchdog.close()


# ---------------------------------------------------------------------------------------------- the CLI

_PROBE = r"""
import json, sys
out = {"ais_bench": False, "pkg_resources": False, "lineage": "unknown"}
try:
    import ais_bench
    out["ais_bench"] = True
except Exception:
    pass
try:
    import pkg_resources
    out["pkg_resources"] = True
except Exception:
    pass
if out["ais_bench"]:
    try:
        from ais_bench.infer.interface import InferSession as S
        out["lineage"] = "msit" if hasattr(S, "free_resource") else ("tools" if hasattr(S, "sumary") else "unknown")
    except Exception:
        pass
sys.stdout.write("\n" + json.dumps(out) + "\n")
"""


@cache
def _probe(exe: str) -> dict:
    try:
        proc = subprocess.run([exe, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return {"ais_bench": False}


def cli_python(exe: str = "") -> str:
    """The interpreter that has ais_bench installed: ``exe`` (AIS_BENCH_PYTHON), else python3 on PATH."""
    exe = exe or shutil.which("python3") or ""
    if not exe or not _probe(str(exe)).get("ais_bench"):
        raise BundleError(MISSING)
    return str(exe)


def cli_lineage(exe: str = "") -> str:
    """The front-end the CLI's interpreter has (``msit``, ``tools`` or ``unknown``)."""
    return _probe(cli_python(exe)).get("lineage", "unknown")


def cli_env(exe: str) -> dict:
    """The CLI's environment: ours, plus a minimal ``pkg_resources`` first on PYTHONPATH when the tool's
    interpreter has none (setuptools >= 81; the msit CLI cannot start without one)."""
    env = dict(os.environ)
    if not _probe(exe).get("pkg_resources"):
        env["PYTHONPATH"] = os.pathsep.join([str(SHIM), *filter(None, [env.get("PYTHONPATH")])])
    return env


def parse_throughput(console: str) -> float | None:
    """The figure at the end of ais_bench's ``[INFO] throughput ...: X`` line (the last one)."""
    found = _THROUGHPUT.findall(console)
    return float(found[-1]) if found else None


_CAUSE = re.compile(r"(\[ERROR\]|error:|Error\b|Exception\b|illegal|not match|failed)", re.IGNORECASE)


def _cause(console: str) -> str:
    """The most telling line of a failed run: the last error-looking line (else the last line)."""
    lines = [s.strip() for s in console.splitlines() if s.strip()]
    for line in reversed(lines):
        if _CAUSE.search(line) and not line.startswith("[SOLUTION]"):
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def run_ais_bench(
    args: Sequence[str],
    python: str = "",
    cwd: Path | None = None,
    log: Path | None = None,
    timeout: float | None = None,
    what: str = "",
) -> str:
    """``python3 -m ais_bench <args>`` (no shell); returns its console. A failure is one line: the exit
    status, the telling line of its output and where the whole output was kept (``log``, else a temp file).
    ``timeout``: the watchdog's limit for the whole CLI run (``what`` names it); it is killed past it."""
    exe = cli_python(python)
    try:
        proc = subprocess.run(
            [exe, "-m", "ais_bench", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=cli_env(exe),
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise Stalled(
            f"ais_bench CLI stalled{what}: no answer after {timeout:g} s, killed; the finished outputs are "
            "kept and a re-run resumes (INFER_TIMEOUT=<seconds> sets the limit per batch; AISBench/benchmark#232)"
        ) from None
    console = proc.stdout + proc.stderr
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("$ " + " ".join([exe, "-m", "ais_bench", *args]) + "\n" + console, encoding="utf-8")
    if proc.returncode != 0:
        if log is None:
            fd, name = tempfile.mkstemp(prefix="ais_bench.", suffix=".log")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(console)
            log = Path(name)
        raise BundleError(
            f"ais_bench CLI (python3 -m ais_bench) failed (exit {proc.returncode}): {_cause(console)} — "
            f"whole output in {log}"
        )
    return console


def safe_path(path: Path | str, what: str) -> str:
    """``path`` as an absolute string the msit CLI accepts, or one line naming it and the allowed characters."""
    text = os.path.abspath(str(path))
    if not _SAFE_PATH.match(text):
        raise BundleError(
            f"{what} {text}: the ais_bench CLI (msit) accepts only paths of the characters {SAFE_CHARS}; "
            "set TMPDIR to a folder whose path has only those"
        )
    return text


def staging_dir(near: Path | None = None) -> Path:
    """A new private (0o700) folder for the CLI's inputs and outputs: beside ``near`` when that path is
    safe (same filesystem: inputs are hard-linked), else under TMPDIR (checked)."""
    if near is not None and _SAFE_PATH.match(os.path.abspath(str(near))):
        Path(near).mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".ais_bench.", dir=os.path.abspath(str(near))))
    root = safe_path(tempfile.gettempdir(), "TMPDIR")
    return Path(tempfile.mkdtemp(prefix="modelzoo-ais_bench.", dir=root))


def _mode_ok(path: Path) -> bool:
    """Would the msit CLI read this file (or a hard link to it): not a link, ours, not group/other-writable."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return not stat.S_ISLNK(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _acceptable(path: Path) -> bool:
    """Would the msit CLI read ``path`` as given: safe characters, and ``_mode_ok``."""
    return bool(_SAFE_PATH.match(str(path))) and _mode_ok(path)


def stage(src: Path, dst: Path) -> None:
    """``dst``: a hard link to ``src`` when the tool would accept the file itself, else a 0o640 copy."""
    src = Path(src).resolve()
    if _mode_ok(src):
        try:
            os.link(src, dst)
            return
        except OSError:  # another filesystem, or links not allowed
            pass
    try:
        shutil.copyfile(src, dst)
    except OSError as exc:
        raise BundleError(f"{src}: cannot copy it for the ais_bench CLI ({exc.strerror})") from None
    os.chmod(dst, 0o640)


def model_arg(om: Path, folder: Path) -> str:
    """The ``--model`` to give: the OM's absolute real path when the CLI accepts it, else a link or copy
    of it in ``folder`` (a WORK with a space, a group-writable OM, a symbolic link)."""
    real = Path(om).resolve()
    if _acceptable(real):
        return str(real)
    staged = folder / "model.om"
    stage(real, staged)
    return str(staged)


def run_cli(
    om: Path | str,
    input_dir: Path | str,
    output_root: Path | str,
    dirname: str,
    bs: int,
    outfmt: str = "TXT",
    device: str = "0",
    extra: Sequence[str] = (),
    python: str = "",
    log: Path | None = None,
    timeout: float | None = None,
) -> Path:
    """Run the ais_bench CLI over a folder of .bin files; returns ``<root>/<dirname>_summary.json``.
    Every path is passed absolute; ``dirname`` stays relative (msit refuses an absolute one).

    The console throughput is stored in the summary as ``console_throughput``.
    """
    args = ["--model", os.path.abspath(str(om)), "--input", os.path.abspath(str(input_dir))]
    args += ["--output", os.path.abspath(str(output_root)), "--output_dirname", dirname, "--outfmt", outfmt]
    args += ["--batchsize", str(bs), "--device", str(device)]
    console = run_ais_bench([*args, *extra], python, log=log, timeout=timeout, what=f" on device {device}")
    path = Path(output_root) / f"{dirname}_summary.json"
    data = records.read(path)
    if data is None:
        raise BundleError(f"ais_bench wrote no readable {path} (missing, cut short or not a JSON object)")
    data["console_throughput"] = parse_throughput(console)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------- the runner


def _shards(items: list[Path], bs: int, n: int) -> list[list[Path]]:
    """Contiguous shards on whole batches, so only each shard's last batch can be padded."""
    batches = [items[i : i + bs] for i in range(0, len(items), bs)]
    per, rest = divmod(len(batches), n)
    out, start = [], 0
    for k in range(n):
        end = start + per + (k < rest)
        out.append([p for b in batches[start:end] for p in b])
        start = end
    return out


def _parallel(jobs: dict[str, Callable[[], dict]]) -> dict[str, dict]:
    """Run one job per device in threads; re-raise the first error after all have finished."""
    results, errors = {}, []

    def call(dev, fn):
        try:
            results[dev] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=item) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


_OUT = re.compile(r"^(?P<name>.+)_(?P<k>\d+)\.(?P<ext>txt|bin|npy)$", re.IGNORECASE)


def _collect(src: Path, out_dir: Path, rename: dict[str, str] | None = None) -> dict[str, str]:
    """Move a shard's output files into ``out_dir``; {old path: new path}. ``rename`` maps the CLI's
    safe names (``s000001``) back to each input's key: ``s000001_0.txt`` -> ``chelsea_0.txt``."""
    moved = {}
    for f in sorted(src.iterdir()) if src.is_dir() else []:
        if not f.is_file() or f.name.startswith("."):
            continue
        name = f.name
        m = _OUT.match(name)
        if rename is not None:
            if not m or m["name"] not in rename:
                continue  # not an output of an input (e.g. pure_infer_data_0.bin)
            name = outputs.name(rename[m["name"]], int(m["k"]), m["ext"])
        target = out_dir / name
        tmp = out_dir / f".{name}.tmp"
        shutil.move(str(f), str(tmp))  # a rename on the same filesystem, else a copy
        os.replace(tmp, target)
        moved[str(f)] = str(target)
    return moved


class AisBenchRunner(Runner):
    """OM inference with ais_bench: the API on one NPU, contiguous shards on several (in parallel threads
    of this process: sessions are released with ``free_resource()`` and ACL finalized once, at exit), or
    the CLI where the API does not import. Throughput is ais_bench's NPU compute-time figure."""

    name = "om"

    def __init__(
        self,
        om_for: Callable[[int], Path],
        devices: Sequence[str],
        bs: int,
        input_shape: tuple[int, ...],
        outfmt: str = "TXT",
        progress: bool = True,
        loop: int = 100,
        dynamic: bool | Sequence[int] = False,
        python: str = "",
        args: dict | None = None,
        log_dir: Path | None = None,
        timeout: float | None = None,
    ) -> None:
        """``dynamic``: the OM's batch gears (DYNAMIC_BATCH), or True when they are not known here;
        ``timeout``: INFER_TIMEOUT, seconds per device call (None: the watchdog's automatic limit)."""
        self.timeout = timeout
        self.om_for, self.devices, self.bs, self.input_shape = om_for, list(devices), bs, tuple(input_shape)
        self.outfmt, self.progress, self.loop, self.python = outfmt, progress, loop, python
        self.gears = tuple(int(g) for g in dynamic) if isinstance(dynamic, (list, tuple)) else ()
        self.dynamic = bool(dynamic)
        self.args, self.log_dir = args or {}, log_dir
        self.feed = None

    def model_file(self, bs: int) -> Path:
        return self.om_for(bs)

    def _stream(self, feed) -> None:
        """STREAM=1 feeds the API's session from the ring; the CLI reads a folder, and several NPUs run
        shards of .bin files."""
        if not api_available():
            raise BundleError(
                "STREAM=1: the ais_bench CLI reads a folder of .bin files (its Python API does not import here): "
                "install the ais_bench/aclruntime wheels for this interpreter, or run without STREAM=1"
            )
        if len(self.devices) > 1:
            raise BundleError(f"STREAM=1 runs one NPU: DEVICE={','.join(self.devices)} shards folders of .bin files")
        self.feed = feed

    def _dym(self, bs: int) -> list[str]:
        return ["--dymBatch", str(bs)] if self.dynamic else []

    def _api_shard(self, om: Path, dev: str, shard: list[Path], folder: Path, progress: bool) -> dict:
        ready = getattr(self, "_ready", {}).pop((str(om), dev), None)  # loaded by prepare() on this thread
        gear = self.bs if self.dynamic else None
        with ready or AisBenchSession(om, device=dev, gear=gear, timeout=self.timeout) as session:
            args = {**self.args, "device": dev}
            feed = self.feed
            return runner.infer(session, shard, self.bs, folder, self.input_shape, self.outfmt, progress, args, feed)

    def _cli_shard(self, om: Path, dev: str, shard: list[Path], tmp: Path) -> dict:
        """One device through the CLI: the inputs hard-linked (or copied) into ``tmp/in`` under safe names
        (``_safe_names``: the CLI keeps ``basename.split('.')[0]``; msit refuses links, odd characters
        and group-writable files); returns the tool's summary with the real input paths."""
        inp = tmp / "in"
        inp.mkdir(parents=True)
        origin = {}
        for safe, p in zip(_safe_names(shard), shard, strict=True):
            stage(p, inp / f"{safe}.bin")
            origin[str(inp / f"{safe}.bin")] = str(p)
        log = self.log_dir / f"ais_bench_device{dev}.log" if self.log_dir else None
        model = model_arg(om, tmp)
        batches = -(-len(shard) // self.bs)
        base = self.timeout or FLOOR  # one CLI run is one call: the first's allowance, then one per batch
        path = run_cli(
            model,
            inp,
            tmp / "out",
            f"dev{dev}",
            self.bs,
            self.outfmt,
            dev,
            self._dym(self.bs),
            self.python,
            log,
            timeout=base * (FIRST + batches),
        )
        data = records.read(path) or {}
        for info in data.get("filesinfo", {}).values():
            info["infiles"] = [origin.get(p, p) for p in info["infiles"]]
        return data

    def _prepare(self) -> None:
        om = self.om_for(self.bs)
        if api_available():
            # issue 18: the model loads on every device now (a truncated OM, DEVICE=9 fail here), before
            # infer deletes any output; one device keeps its session for infer, several are released
            self._ready: dict = {}
            gear = self.bs if self.dynamic else None
            for dev in self.devices:
                session = AisBenchSession(om, device=dev, gear=gear, timeout=self.timeout)
                if len(self.devices) == 1:
                    self._ready[(str(om), dev)] = session
                else:
                    session.close()
        else:
            cli_python(self.python)
            if self.log_dir is not None and not _SAFE_PATH.match(os.path.abspath(str(self.log_dir))):
                safe_path(tempfile.gettempdir(), "TMPDIR")  # where the CLI's files will go: checked now

    def _infer(self, inputs: list[Path], out_dir: Path) -> dict:
        om = self.om_for(self.bs)
        outputs.check_unique(inputs)
        self.args = {**self.args, "om": str(om.resolve()), "devices": ",".join(self.devices)}
        api = api_available()
        if api and len(self.devices) == 1:
            return self._api_shard(om, self.devices[0], inputs, out_dir, self.progress)
        out_dir.mkdir(parents=True, exist_ok=True)
        left = [p for b in runner.cut(inputs, self.bs, out_dir) for p in b]  # whole batches, as one device
        shards = {d: s for d, s in zip(self.devices, _shards(left, self.bs, len(self.devices)), strict=True) if s}
        tmp = Path(tempfile.mkdtemp(prefix=".shards.", dir=out_dir)) if api else staging_dir(out_dir.parent)
        jobs, folders = {}, {}
        for d, shard in shards.items():
            if api:
                folders[d] = tmp / f"dev{d}"
                show = self.progress and d == self.devices[0]
                jobs[d] = partial(self._api_shard, om, d, shard, folders[d], show)
            else:
                folders[d] = tmp / f"cli{d}" / "out" / f"dev{d}"
                jobs[d] = partial(self._cli_shard, om, d, shard, tmp / f"cli{d}")
        moved: dict[str, str] = {}
        try:
            parts = _parallel(jobs)
        finally:  # what finished is kept (a re-run resumes from it)
            for d, folder in folders.items():
                rename = None if api else dict(zip(_safe_names(shards[d]), map(outputs.stem, shards[d]), strict=True))
                moved.update(_collect(folder, out_dir, rename))
            shutil.rmtree(tmp, ignore_errors=True)
        times, filesinfo, per_device = [], {}, {}
        for dev, s in parts.items():
            times += s.get("npu_compute_time_list", [])
            per_device[dev] = s.get("throughput", 0.0)
            for info in s.get("filesinfo", {}).values():
                outs = [moved.get(p, p) for p in info["outfiles"]]
                filesinfo[len(filesinfo)] = {"infiles": info["infiles"], "outfiles": outs}
        how = "API" if api else "CLI"
        lin = _lineage_here() if api else cli_lineage(self.python)
        method = (
            "sum over NPUs of samples / summed NPU compute time of their batches (ais_bench API)"
            if api
            else "sum over NPUs of ais_bench's 1000 x bs / mean NPU compute time of the batches run (CLI)"
        )
        data = summary.build(
            filesinfo=filesinfo,
            args={"batchsize": self.bs, "outfmt": self.outfmt, **self.args, "backend": f"ais_bench {how} ({lin})"},
            compute_ms=times,
            samples=len(inputs),
            samples_run=len(left),
            timing_source="ais_bench",
            throughput=float(sum(per_device.values())),
            throughput_per_device=per_device,
            throughput_method=method,
        )
        return summary.write(out_dir, data)

    def _perf(self, bs: int) -> perf.PerfRow:
        """Pure-inference throughput: ``python3 -m ais_bench --model x.om --loop N --batchsize BS``."""
        om, dev = self.om_for(bs), self.devices[0]
        tmp = staging_dir()
        try:
            args = ["--model", model_arg(om, tmp), "--loop", str(self.loop), "--batchsize", str(bs), "--device", dev]
            args += ["--output", str(tmp / "out"), "--output_dirname", "perf", *self._dym(bs)]
            limit = (self.timeout or FLOOR) * (FIRST + self.loop)  # the watchdog: one call of --loop batches
            console = run_ais_bench(args, self.python, timeout=limit, what=f" on device {dev} (perf, bs {bs})")
            path = summary_of(tmp / "out" / "perf")
            data = records.read(path) or {}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        throughput = parse_throughput(console) or data.get("throughput")
        if not throughput:
            raise BundleError("ais_bench printed no `[INFO] throughput` line")
        times = [float(t) for t in data.get("npu_compute_time_list", [])] or [1000.0 * bs / float(throughput)]
        method = PERF_METHOD.format(loop=self.loop)
        return perf.row(bs, times, PERF_SOURCE, method, samples_per_s=float(throughput))

    def close(self) -> None:
        for session in getattr(self, "_ready", {}).values():
            session.close()
        self._ready = {}

    def describe(self) -> str:
        if api_available():
            return f"ais_bench (API, {_lineage_here()} front-end, NPU {','.join(self.devices)})"
        return f"ais_bench (CLI, {cli_lineage(self.python)} front-end, NPU {','.join(self.devices)})"


def _safe_names(shard: list[Path]) -> list[str]:
    """The names the CLI sees for a shard's inputs: ``s000000``, ``s000001``… (no dot, only safe
    characters, natural order = input order); outputs come back as ``s000000_<k>.<fmt>``."""
    width = max(6, len(str(len(shard))))
    return [f"s{i:0{width}d}" for i in range(len(shard))]


def _lineage_here() -> str:
    from ais_bench.infer.interface import InferSession

    return lineage(InferSession)
