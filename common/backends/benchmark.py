"""The legacy ``benchmark.<arch>`` tool of CANN 5.0.x as a runner: it reads the info file and writes
``result/dumpOutput_device{id}/<stem>_1.txt`` and perf files itself; outputs keep its ``_1`` names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import outputs, perf, summary
from ..backends import Runner
from ..errors import BundleError
from ..watchdog import FIRST, FLOOR, Stalled

_PURE = re.compile(r"ave_throughputRate\s*[=:]\s*([0-9.eE+-]+)\s*samples/s,\s*ave_latency\s*[=:]\s*([0-9.eE+-]+)\s*ms")
ROUNDS = 20


def find(setting: str = "") -> str:
    """The tool: ``setting`` (BENCHMARK_TOOL), else ``benchmark.<uname -m>`` on PATH or in the current folder."""
    if setting:
        if not (Path(setting).is_file() and os.access(setting, os.X_OK)):
            raise BundleError(f"BENCHMARK_TOOL={setting}: not an executable file")
        return str(Path(setting).resolve())
    name = f"benchmark.{os.uname().machine}"
    here = Path.cwd() / name
    found = shutil.which(name) or (str(here) if here.is_file() and os.access(here, os.X_OK) else None)
    if not found:
        raise BundleError(
            f"{name} not found: put it on PATH or in the current folder, or set BENCHMARK_TOOL "
            "(the CANN 5.0 benchmark tool; BACKEND=om uses ais_bench instead)"
        )
    return found


def _run_tool(cmd: list[str], cwd: Path, timeout: float | None = None, what: str = "") -> None:
    """The tool in ``cwd``; killed past ``timeout`` (the watchdog: one line naming ``what``)."""
    with (cwd / "benchmark.log").open("w", encoding="utf-8") as f:
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Stalled(
                f"{Path(cmd[0]).name} stalled{what}: no answer after {timeout:g} s, killed (INFER_TIMEOUT=<seconds> "
                "sets the limit per batch)"
            ) from None
    if proc.returncode != 0:
        lines = (cwd / "benchmark.log").read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise BundleError(
            f"{Path(cmd[0]).name} failed (exit {proc.returncode}):\n" + "\n".join("  " + s for s in lines)
        )


def parse_perf_vision(text: str) -> dict[str, dict[str, float]]:
    """``[infer] throughputRate: a, Interface throughputRate: X, moduleLatency: b`` -> {"infer": {...}}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\[([^\]]+)\]\s*(.*)$", line.strip())
        if m:
            out[m[1]] = {k.strip(): float(v) for k, v in re.findall(r"([A-Za-z ]+):\s*([0-9.eE+-]+)", m[2])}
    if "Interface throughputRate" not in out.get("infer", {}):
        raise BundleError("the benchmark perf file has no `[infer] ... Interface throughputRate` line")
    return out


def _absolute_info(inputs: list[Path], width: int, height: int, target: Path) -> None:
    """An info file with absolute paths (the tool runs in another folder)."""
    lines = [f"{i} {Path(p).resolve()} {width} {height}" for i, p in enumerate(inputs)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


class BenchmarkRunner(Runner):
    """BACKEND=benchmark: the tool over the inputs; its Interface throughputRate is per chip (an Atlas
    300I card has four: ``throughput_310_card_x4`` keeps that figure apart, never multiplied silently)."""

    name = "benchmark"

    def __init__(
        self,
        om_for: Callable[[int], Path],
        bs: int,
        input_shape: tuple[int, ...],
        device: str = "0",
        tool: str = "",
        args: dict | None = None,
        timeout: float | None = None,
    ) -> None:
        """``timeout``: INFER_TIMEOUT, seconds per batch (None: 60); the tool's run gets 10 + its batches."""
        self.om_for, self.bs, self.input_shape, self.device = om_for, bs, tuple(input_shape), device
        self.tool_setting, self.args, self.timeout = tool, args or {}, timeout

    def tool(self) -> str:
        return find(self.tool_setting)

    def model_file(self, bs: int) -> Path:
        return self.om_for(bs).resolve()

    def _infer(self, inputs: list[Path], out_dir: Path) -> dict:
        tool, om = self.tool(), self.model_file(self.bs)
        work = out_dir.parent / f".benchmark_{out_dir.name}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _, h, w = self.input_shape
        _absolute_info(inputs, w, h, work / "input.info")
        cmd = [tool, "-model_type=vision", f"-device_id={self.device}", f"-batch_size={self.bs}", f"-om_path={om}"]
        cmd += [f"-input_text_path={work / 'input.info'}", f"-input_width={w}", f"-input_height={h}"]
        limit = (self.timeout or FLOOR) * (FIRST + -(-len(inputs) // self.bs))
        _run_tool([*cmd, "-output_binary=False", "-useDvpp=False"], work, limit, f" on device {self.device}")
        out_dir.mkdir(parents=True, exist_ok=True)
        outputs.check_unique(inputs)
        for f in sorted((work / "result" / f"dumpOutput_device{self.device}").glob("*_1.*")):
            # named by the key rule of every other backend (x.v2_1.txt -> x_1.txt), whichever rule the tool used
            name, _, rest = f.name.rpartition("_1.")
            os.replace(f, out_dir / f"{outputs.stem(name)}_1.{rest}")
        report = work / "result" / f"perf_vision_batchsize_{self.bs}_device_{self.device}.txt"
        perf_vision = parse_perf_vision(report.read_text())
        x = perf_vision["infer"]["Interface throughputRate"]
        data = summary.build(
            filesinfo={},
            args={"batchsize": self.bs, "outfmt": "TXT", "backend": Path(tool).name, **self.args, "om": str(om)},
            compute_ms=[],
            samples=len(inputs),
            samples_run=len(inputs),
            timing_source="benchmark Interface throughputRate (per chip)",
            throughput=x,
            throughput_310_card_x4=4 * x,
            perf_vision=perf_vision,
        )
        shutil.rmtree(work, ignore_errors=True)
        return summary.write(out_dir, data)

    def _perf(self, bs: int) -> perf.PerfRow:
        """Pure-inference throughput (``-round=20``), from the tool's PureInfer_perf file."""
        tool, om = self.tool(), self.model_file(bs)
        with tempfile.TemporaryDirectory(prefix="benchmark_perf.") as tmp:
            cmd = [tool, f"-round={ROUNDS}", f"-om_path={om}", f"-device_id={self.device}", f"-batch_size={bs}"]
            limit = (self.timeout or FLOOR) * (FIRST + ROUNDS)
            _run_tool(cmd, Path(tmp), limit, f" on device {self.device} (perf, bs {bs})")
            path = Path(tmp) / "result" / f"PureInfer_perf_of_{om.stem}_in_device_{self.device}.txt"
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        found = _PURE.search(text)
        if not found:
            raise BundleError(f"{Path(tool).name} wrote no readable {path.name}")
        x = float(found[1])
        method = f"benchmark pure inference (-round={ROUNDS}): ave_throughputRate per chip (x4 = Atlas 300I card)"
        return perf.row(bs, [float(found[2])], f"benchmark.{os.uname().machine}", method, samples_per_s=x)

    def describe(self) -> str:
        return f"{Path(find(self.tool_setting)).name} (device {self.device})"
