"""Pure-inference throughput sweep over batch sizes, each figure labelled by what produced it.

In-process backends (ONNX Runtime, PyTorch) are timed on the host: warm-up, repeated timed runs over
random inputs, samples/s = bs / median latency. A tool that reports its own figure keeps it and says
how it is made (ais_bench: 1000 x bs / mean NPU compute time over a zero-filled batch; the legacy
benchmark: its ave_throughputRate): every ``PerfRow`` carries its ``source`` and ``method``, and the
table's footer lists each. p50 and p99 latency are per batch. Published figures from the manifest sit
in adjacent columns, labelled.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import atomic, provenance
from .manifest import Manifest

HOST_METHOD = "samples/s = bs / median latency of timed runs after 2 warm-up runs, random inputs"


@dataclass
class PerfRow:
    bs: int
    samples_per_s: float
    p50_ms: float
    p99_ms: float
    runs: int
    source: str  # what ran (runtime, provider, device)
    method: str = HOST_METHOD  # how the figure was produced


def measure(
    run,
    x: np.ndarray,
    warmup: int = 2,
    min_runs: int = 5,
    min_seconds: float = 1.0,
    max_runs: int = 200,
    max_seconds: float = 20.0,
) -> list[float]:
    """Latencies in ms of ``run(x)``: after ``warmup`` calls, at least ``min_runs`` and ``min_seconds``,
    at most ``max_runs`` or ``max_seconds`` (whichever comes first, but never fewer than 3 runs)."""
    for _ in range(warmup):
        run(x)
    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        run(x)
        times.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - start
        if len(times) >= max_runs or (elapsed >= max_seconds and len(times) >= 3):
            break
        if len(times) >= min_runs and elapsed >= min_seconds:
            break
    return times


def row(bs: int, times_ms: list[float], source: str, method: str = HOST_METHOD, samples_per_s: float | None = None):
    """A row from per-run latencies; ``samples_per_s`` overrides bs / median when a tool reports its own."""
    a = np.asarray(times_ms, dtype=np.float64)
    p50 = float(np.median(a))
    rate = bs * 1000.0 / p50 if samples_per_s is None else float(samples_per_s)
    return PerfRow(bs, rate, p50, float(np.percentile(a, 99)), len(times_ms), source, method)


def published_columns(m: Manifest) -> list[tuple[str, dict[int, float]]]:
    return [(f"{t.device} (published{', ' + t.note if t.note else ''})", t.fps) for t in m.throughput]


def table(m: Manifest, rows: list[PerfRow], device: str, notes: list[str] | tuple[str, ...] = ()) -> str:
    """Markdown: measured samples/s and latencies, then each published device's fps for the same bs."""
    pub = published_columns(m)
    head = ["bs", f"measured samples/s ({device})", "p50 ms", "p99 ms", "runs"] + [name for name, _ in pub]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r.bs), f"{r.samples_per_s:.2f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.runs)]
        cells += [f"{fps[r.bs]:g}" if r.bs in fps else "—" for _, fps in pub]
        lines.append("| " + " | ".join(cells) + " |")
    how = {}
    for r in rows:
        how.setdefault(f"{r.source}: {r.method}", []).append(str(r.bs))
    sizes = len(how) > 1
    note = "\nHow each measured figure was produced:\n" + "".join(
        f"- {text}" + (f" (bs {', '.join(bs)})" if sizes else "") + "\n" for text, bs in how.items()
    )
    note += (
        "\nPublished columns are the guides' figures for Ascend/T4 hardware "
        "(Ascend 310 = per card, 4 chips), not measured here.\n"
    )
    return "\n".join(lines) + "\n" + note + "".join(f"\n{n}\n" for n in notes)


def write(m: Manifest, rows: list[PerfRow], out_dir: Path, device: str, extra: dict | None = None) -> tuple[Path, Path]:
    """perf.json and perf.md; ``extra`` (the runner's record: device, checks) goes into perf.json, its
    ``notes`` under the table."""
    out_dir = Path(out_dir)
    extra = dict(extra or {})
    notes = extra.get("notes", [])
    pub = {name: {str(k): v for k, v in fps.items()} for name, fps in published_columns(m)}
    data = {"model": m.name, "device": device, "rows": [asdict(r) for r in rows], "published": pub, **extra}
    data.update(provenance.record())  # which bundle (and image, in one) measured it
    atomic.write_json(out_dir / "perf.json", data, indent=1)
    atomic.write_text(out_dir / "perf.md", table(m, rows, extra.get("device", device), notes))
    return out_dir / "perf.json", out_dir / "perf.md"
