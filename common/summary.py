"""The inference summary JSON, built in one place whichever backend ran.

ais_bench's keys (``filesinfo``, ``args``, ``NPU_compute_time``, ``H2D_latency``, ``D2H_latency``,
``throughput``, ``npu_compute_time_list``, ``pid``) plus the bundle's own: ``samples`` (in the run),
``samples_run`` (inferred by this call), ``skipped`` (already done), ``timing_source``,
``host_throughput`` and, from the in-process runner, ``pipeline_seconds`` / ``pipeline_throughput``: the
wall clock from the first batch read to the last output file written, and the samples run over it.
Written at ``<outputs>_summary.json``, where ais_bench writes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from . import atomic, records
from .layout import summary_of

# what a run that inferred nothing carries over from the last one that did
MEASURED = (
    "throughput",
    "NPU_compute_time",
    "npu_compute_time_list",
    "host_throughput",
    "timing_source",
    "pipeline_seconds",
    "pipeline_throughput",
    "measured_samples",
    "stream",
)
# the figures a summary must hold as numbers to be trusted (a record that does not parse is absent)
NUMBERS = ("throughput", "host_throughput", "pipeline_seconds", "pipeline_throughput", "samples", "samples_run")


def stats(ms: list[float]) -> dict:
    """ais_bench's statistics block: min, max, mean, median, percentile(99%), count (ms)."""
    if not ms:
        return {"min": 0, "max": 0, "mean": 0, "median": 0, "percentile(99%)": 0, "count": 0}
    a = np.asarray(ms, dtype=np.float64)
    return {
        "min": float(a.min()),
        "max": float(a.max()),
        "mean": float(a.mean()),
        "median": float(np.median(a)),
        "percentile(99%)": float(np.percentile(a, 99)),
        "count": int(a.size),
    }


def rate(samples: int, ms: list[float]) -> float:
    """Samples per second over the timed calls: the samples actually run, not batch size x calls."""
    total = float(sum(ms))
    return 1000.0 * samples / total if samples and total > 0 else 0.0


def build(
    *,
    filesinfo: dict,
    args: dict,
    compute_ms: list[float],
    samples: int,
    samples_run: int,
    timing_source: str,
    host_ms: list[float] | None = None,
    throughput: float | None = None,
    **extra,
) -> dict:
    """The summary dict. ``throughput`` defaults to the samples run over the summed compute time;
    a tool that reports its own figure (the legacy benchmark) passes it."""
    data = {
        "filesinfo": filesinfo,
        "args": args,
        "NPU_compute_time": stats(compute_ms),
        "H2D_latency": stats([]),
        "D2H_latency": stats([]),
        "throughput": rate(samples_run, compute_ms) if throughput is None else float(throughput),
        "npu_compute_time_list": list(compute_ms),
        "pid": os.getpid(),
        "samples": samples,
        "samples_run": samples_run,
        "skipped": samples - samples_run,
        "timing_source": timing_source,
        "measured_samples": samples_run,  # what the figures measured (kept with them by a run that infers nothing)
    }
    if host_ms is not None:
        data["host_throughput"] = rate(samples_run, host_ms)
    data.update(extra)
    return data


def read(out_dir: Path) -> dict | None:
    """The summary written for ``out_dir``, or None when there is none, it is unreadable or its figures
    are not numbers (``"throughput": "fast"``)."""
    data = records.read(summary_of(out_dir))
    if data is None:
        return None
    for key in NUMBERS:
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return None
    return data


def write(out_dir: Path, data: dict) -> dict:
    """Write the summary beside ``out_dir``; a call that inferred nothing keeps the last real measurement."""
    if not data.get("samples_run"):
        old = read(out_dir)
        if old and old.get("throughput"):
            data.update({k: old[k] for k in MEASURED if k in old})
            data["measured_earlier"] = True
    atomic.write_text(summary_of(out_dir), json.dumps(data))
    return data


def args_dict(data: dict) -> dict:
    """``args`` as a dict: the bundle writes a dict, the real ais_bench CLI the argv list."""
    args = data.get("args", {})
    if isinstance(args, dict):
        return args
    if isinstance(args, list):
        out, key = {}, None
        for item in args:
            item = str(item)
            if item.startswith("--"):
                key, _, value = item[2:].partition("=")
                out[key] = value if value else True
                key = None if value else key
            elif key is not None:
                out[key] = item
                key = None
        return out
    return {}
