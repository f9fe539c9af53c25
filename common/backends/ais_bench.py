"""ais_bench: the Python API (``InferSession``) as a session, the ``python3 -m ais_bench`` CLI for hosts
where only the command line works, several NPUs at once, and ais_bench's own pure-inference figure.
ais_bench and aclruntime come as wheels built against CANN. Outputs match the ONNX Runtime path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from common import outputs, perf, runner, summary
from common.backends import Runner, Session
from common.errors import BundleError
from common.layout import summary_of

MISSING = (
    "ais_bench not found: install the ais_bench and aclruntime wheels built against your CANN "
    "(https://gitee.com/ascend/tools, ais-bench_workload/tool/ais_bench), source env.sh, "
    "or use BACKEND=onnx"
)
PERF_SOURCE = "ais_bench (NPU compute time)"
PERF_METHOD = "ais_bench --loop: 1000 x bs / mean NPU compute time, zero inputs"
_THROUGHPUT = re.compile(r"^\[INFO\] throughput\b.*:\s*([0-9.eE+-]+)\s*$", re.MULTILINE)


def _ms(entries: list) -> list[float]:
    """Compute times in ms: aclruntime reports (start, end) pairs; some releases plain durations."""
    return [float(e[1] - e[0]) if isinstance(e, (tuple, list)) else float(e) for e in entries]


def api_available() -> bool:
    """True when ``ais_bench.infer.interface`` imports here (it needs aclruntime and the CANN libraries)."""
    try:
        from ais_bench.infer.interface import InferSession  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


class AisBenchSession(Session):
    name = "om"

    def __init__(self, model_path: Path | str, device: str = "0"):
        try:
            from ais_bench.infer.interface import InferSession
        except ImportError:
            raise BundleError(MISSING) from None
        path = Path(model_path)
        if not path.is_file():
            raise BundleError(f"{path}: no OM model (run `make om` first)")
        self.device = str(device)
        try:
            self.session = InferSession(int(self.device), str(path))
        except (RuntimeError, ValueError) as exc:
            raise BundleError(f"{path}: ais_bench cannot load it on device {device} ({str(exc)[:200]})") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_shape = tuple(inp.shape[1:])
        self.batch = int(inp.shape[0]) if int(inp.shape[0]) > 0 else None
        self.mode = "static" if self.batch else "dymbatch"
        self.model_path = path
        self._gear: int | None = None

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """One batch; on a dynamic-batch OM a short last batch is padded to the first batch's size."""
        n = batch.shape[0]
        if self.mode == "dymbatch":
            self._gear = self._gear or n
            if n < self._gear:
                batch = np.concatenate([batch, np.zeros((self._gear - n, *batch.shape[1:]), batch.dtype)])
        outs = self.session.infer([np.ascontiguousarray(batch, dtype=np.float32)], mode=self.mode)
        return [np.asarray(o.to_host() if hasattr(o, "to_host") else o)[:n] for o in outs]

    def own_timings(self) -> list[float]:
        """ais_bench's NPU compute time per inference (ms)."""
        info = self.session.summary() if hasattr(self.session, "summary") else self.session.sumary()
        return _ms(list(info.exec_time_list))

    def describe(self) -> str:
        return f"ais_bench InferSession ({self.model_path.name}, NPU {self.device})"

    def close(self) -> None:
        if getattr(self, "session", None) is not None:
            self.session.finalize()
            self.session = None


# ---------------------------------------------------------------------------------------------- the CLI


def cli_python(exe: str = "") -> str:
    """The interpreter that has ais_bench installed: ``exe`` (AIS_BENCH_PYTHON), else python3 on PATH."""
    exe = exe or shutil.which("python3") or ""
    if not exe:
        raise BundleError(MISSING)
    probe = subprocess.run([exe, "-c", "import ais_bench"], capture_output=True, check=False)
    if probe.returncode != 0:
        raise BundleError(MISSING)
    return exe


def parse_throughput(console: str) -> float | None:
    """The figure at the end of ais_bench's ``[INFO] throughput ...: X`` line (the last one)."""
    found = _THROUGHPUT.findall(console)
    return float(found[-1]) if found else None


def run_ais_bench(args: Sequence[str], python: str = "", cwd: Path | None = None) -> str:
    """``python3 -m ais_bench <args>`` (no shell); returns stdout, BundleError with the tail on failure."""
    proc = subprocess.run(
        [cli_python(python), "-m", "ais_bench", *args], capture_output=True, text=True, cwd=cwd, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join("  " + s for s in (proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BundleError(f"ais_bench failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


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
) -> Path:
    """Run the ais_bench CLI over a folder of .bin files; returns ``<root>/<dirname>_summary.json``.

    The console throughput is stored in the summary as ``console_throughput``.
    """
    args = ["--model", str(om), "--input", str(input_dir), "--output", str(output_root)]
    args += ["--output_dirname", dirname, "--outfmt", outfmt, "--batchsize", str(bs), "--device", str(device)]
    console = run_ais_bench([*args, *extra], python)
    path = Path(output_root) / f"{dirname}_summary.json"
    if not path.is_file():
        raise BundleError(f"ais_bench wrote no {path}")
    data = json.loads(path.read_text(encoding="utf-8"))
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


def _collect(src: Path, out_dir: Path) -> dict[str, str]:
    """Move a shard's output files into ``out_dir``; {old path: new path}."""
    moved = {}
    for f in sorted(src.iterdir()) if src.is_dir() else []:
        if f.is_file() and not f.name.startswith("."):
            os.replace(f, out_dir / f.name)
            moved[str(f)] = str(out_dir / f.name)
    return moved


class AisBenchRunner(Runner):
    """OM inference with ais_bench: the API on one NPU, contiguous shards on several (in parallel), or
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
        dynamic: bool = False,
        python: str = "",
        args: dict | None = None,
    ) -> None:
        self.om_for, self.devices, self.bs, self.input_shape = om_for, list(devices), bs, tuple(input_shape)
        self.outfmt, self.progress, self.loop, self.dynamic, self.python = outfmt, progress, loop, dynamic, python
        self.args = args or {}

    def _dym(self, bs: int) -> list[str]:
        return ["--dymBatch", str(bs)] if self.dynamic else []

    def _api_shard(self, om: Path, dev: str, shard: list[Path], folder: Path, progress: bool) -> dict:
        with AisBenchSession(om, device=dev) as session:
            args = {**self.args, "device": dev}
            return runner.infer(session, shard, self.bs, folder, self.input_shape, self.outfmt, progress, args)

    def _cli_shard(self, om: Path, dev: str, shard: list[Path], tmp: Path) -> dict:
        inp = tmp / "in"
        inp.mkdir(parents=True)
        for p in shard:
            os.symlink(p.resolve(), inp / p.name)
        path = run_cli(om, inp, tmp / "out", f"dev{dev}", self.bs, self.outfmt, dev, self._dym(self.bs), self.python)
        data = json.loads(path.read_text(encoding="utf-8"))
        origin = {str(inp / p.name): str(p) for p in shard}
        for info in data.get("filesinfo", {}).values():
            info["infiles"] = [origin.get(p, p) for p in info["infiles"]]
        return data

    def prepare(self) -> None:
        om = self.om_for(self.bs)
        if not om.is_file():
            raise BundleError(f"{om}: no OM model (run `make om` first)")
        if not api_available():
            cli_python(self.python)

    def infer(self, inputs: list[Path], out_dir: Path) -> dict:
        om, out_dir = self.om_for(self.bs), Path(out_dir)
        if not om.is_file():
            raise BundleError(f"{om}: no OM model (run `make om` first)")
        if len({outputs.stem(p) for p in inputs}) != len(inputs):
            raise BundleError("two input files share a name: their outputs would collide")
        self.args = {**self.args, "om": str(om), "devices": ",".join(self.devices)}
        api = api_available()
        if api and len(self.devices) == 1:
            return self._api_shard(om, self.devices[0], inputs, out_dir, self.progress)
        out_dir.mkdir(parents=True, exist_ok=True)
        left = runner.todo(inputs, out_dir)
        shards = {d: s for d, s in zip(self.devices, _shards(left, self.bs, len(self.devices)), strict=True) if s}
        tmp = Path(tempfile.mkdtemp(prefix=".shards.", dir=out_dir))
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
            for folder in folders.values():
                moved.update(_collect(folder, out_dir))
            shutil.rmtree(tmp, ignore_errors=True)
        times, filesinfo, per_device, how = [], {}, {}, "API" if api else "CLI"
        for dev, s in parts.items():
            times += s.get("npu_compute_time_list", [])
            per_device[dev] = s.get("throughput", 0.0)
            for info in s.get("filesinfo", {}).values():
                outs = [moved.get(p, p) for p in info["outfiles"]]
                filesinfo[len(filesinfo)] = {"infiles": info["infiles"], "outfiles": outs}
        data = summary.build(
            filesinfo=filesinfo,
            args={"batchsize": self.bs, "outfmt": self.outfmt, **self.args, "backend": f"ais_bench {how}"},
            compute_ms=times,
            samples=len(inputs),
            samples_run=len(left),
            timing_source="ais_bench",
            throughput=float(sum(per_device.values())),
            throughput_per_device=per_device,
        )
        return summary.write(out_dir, data)

    def perf(self, bs: int) -> perf.PerfRow:
        """Pure-inference throughput: ``python3 -m ais_bench --model x.om --loop N --batchsize BS``."""
        om, dev = self.om_for(bs), self.devices[0]
        if not om.is_file():
            raise BundleError(f"{om}: no OM model (run `make om` first)")
        with tempfile.TemporaryDirectory(prefix="ais_perf.") as tmp:
            args = ["--model", str(om), "--loop", str(self.loop), "--batchsize", str(bs), "--device", dev]
            args += ["--output", tmp, "--output_dirname", "perf", *self._dym(bs)]
            console = run_ais_bench(args, self.python)
            path = summary_of(Path(tmp) / "perf")
            data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        throughput = parse_throughput(console) or data.get("throughput")
        if not throughput:
            raise BundleError("ais_bench printed no `[INFO] throughput` line")
        times = [float(t) for t in data.get("npu_compute_time_list", [])] or [1000.0 * bs / float(throughput)]
        return perf.row(bs, times, PERF_SOURCE, PERF_METHOD, samples_per_s=float(throughput))

    def describe(self) -> str:
        return f"ais_bench ({'API' if api_available() else 'CLI'}, NPU {','.join(self.devices)})"
