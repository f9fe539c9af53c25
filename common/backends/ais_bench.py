"""ais_bench backend: the Python API (InferSession) on one NPU, and the `python3 -m ais_bench` CLI for
hosts where only the command line works. ais_bench and aclruntime come as wheels built against CANN."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.errors import BundleError

MISSING = (
    "ais_bench not found: install the ais_bench and aclruntime wheels built against your CANN "
    "(https://gitee.com/ascend/tools, ais-bench_workload/tool/ais_bench), source env.sh, "
    "or use BACKEND=onnx"
)
_THROUGHPUT = re.compile(r"^\[INFO\] throughput\b.*:\s*([0-9.eE+-]+)\s*$", re.MULTILINE)


def _ms(entries: list) -> list[float]:
    """Compute times in ms: aclruntime reports (start, end) pairs; some releases plain durations."""
    return [float(e[1] - e[0]) if isinstance(e, (tuple, list)) else float(e) for e in entries]


class AisBenchBackend:
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

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """One batch; on a dynamic-batch OM a short last batch is padded to the first batch's size."""
        n = batch.shape[0]
        if self.mode == "dymbatch":
            self._gear = getattr(self, "_gear", None) or n
            if n < self._gear:
                batch = np.concatenate([batch, np.zeros((self._gear - n, *batch.shape[1:]), batch.dtype)])
        outs = self.session.infer([np.ascontiguousarray(batch, dtype=np.float32)], mode=self.mode)
        return [np.asarray(o.to_host() if hasattr(o, "to_host") else o)[:n] for o in outs]

    def own_timings(self) -> list[float]:
        """ais_bench's NPU compute time per inference (ms)."""
        summary = self.session.summary() if hasattr(self.session, "summary") else self.session.sumary()
        return _ms(list(summary.exec_time_list))

    def describe(self) -> str:
        return f"ais_bench InferSession ({self.model_path.name}, NPU {self.device})"

    def close(self) -> None:
        if self.session is not None:
            self.session.finalize()
            self.session = None


def cli_python() -> str:
    """The interpreter that has ais_bench installed: $AIS_BENCH_PYTHON, else python3 on PATH."""
    exe = os.environ.get("AIS_BENCH_PYTHON") or shutil.which("python3")
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


def run_ais_bench(args: Sequence[str], cwd: Path | None = None) -> str:
    """``python3 -m ais_bench <args>`` (no shell); returns stdout, BundleError with the tail on failure."""
    proc = subprocess.run(
        [cli_python(), "-m", "ais_bench", *args], capture_output=True, text=True, cwd=cwd, check=False
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
) -> Path:
    """Run the ais_bench CLI over a folder of .bin files; returns ``<root>/<dirname>_summary.json``.

    The console throughput is stored in the summary as ``console_throughput``.
    """
    args = [
        "--model",
        str(om),
        "--input",
        str(input_dir),
        "--output",
        str(output_root),
        "--output_dirname",
        dirname,
        "--outfmt",
        outfmt,
        "--batchsize",
        str(bs),
        "--device",
        str(device),
        *extra,
    ]
    console = run_ais_bench(args)
    summary = Path(output_root) / f"{dirname}_summary.json"
    if not summary.is_file():
        raise BundleError(f"ais_bench wrote no {summary}")
    data = json.loads(summary.read_text(encoding="utf-8"))
    data["console_throughput"] = parse_throughput(console)
    summary.write_text(json.dumps(data), encoding="utf-8")
    return summary
