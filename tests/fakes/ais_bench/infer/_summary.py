"""The front-ends' ``ais_bench.infer.summary``: the statistics of the timed executions, the console block
and the ``<output prefix>_summary.json``.

Written from the tools' own source, never from the bundle's (the bundle parses what this prints: a copy
of its code would agree with it by construction). Upstream, read for this:

- tools2023: Ascend/tools ``ais-bench_workload/tool/ais_bench/ais_bench/infer/summary.py`` at 9d6da90
  (June 2023), ``Summary.get_list_info`` and ``Summary.report``; its CLI (``infer/__main__.py``,
  ``main``) sets ``npu_compute_time_list = session.sumary().exec_time_list``.
- msit2024: Ascend/msit ``ait/components/benchmark/ais_bench/infer/summary.py`` at the parent of 6394cfe1d
  (June 2024), ``Summary.get_list_info``, ``report``, ``record`` and ``display``; its CLI
  (``benchmark_process.py``, ``main``) sets ``npu_compute_time_list`` to ``end - start`` of each pair.

What both compute (one thread, the only run imitated):

- per list (NPU compute time, H2D, D2H; ms, one entry per execution after the warm-up's reset, so every
  ``--loop`` repetition counts once): numpy's ``min``, ``max``, ``mean``, ``median`` and
  ``percentile(list, 99)`` (numpy's default, linear interpolation) of the list as given, kept as numpy
  scalars; 0.0 each for an empty list; ``count`` is the list's length;
- ``throughput = 1000 * batchsize / mean NPU compute time`` (the int 0 when the mean is 0): the mean of
  the executions, not samples over summed time; ``batchsize`` is ``--batchsize`` as given (never checked
  against the model), or, when the dynamic shape / dims paths recorded the feeds' batch sizes
  (``add_batchsize``), their average (a float);
- printed through the ``[%(levelname)s] %(message)s`` logger, each number as ``str``: a dashes line,
  ``H2D_latency (ms): ...`` (``--display_all_summary`` only), ``NPU_compute_time (ms): min = a, max = b,
  mean = c, median = d, percentile(99%) = e``, ``D2H_latency (ms): ...`` (``--display_all_summary`` only),
  ``throughput 1000*batchsize.mean(B)/NPU_compute_time.mean(M): T``, a closing dashes line;
- the JSON: ``filesinfo``, ``args``, ``NPU_compute_time``, ``H2D_latency``, ``D2H_latency`` (each
  min/max/mean/median/percentile(99%)/count), ``throughput``, ``npu_compute_time_list``, ``pid``. (msit2024's
  ``record`` writes ``npu_compute_time_list`` before ``throughput``; the stand-in keeps tools2023's order
  for both, as tests/test_ais_fakes.py pins it. A JSON reader sees no difference.)

msit2024 only: with no NPU compute times it falls back to the ``(start, end)`` intervals of a
multi-threaded pipeline run (``get_list_info(..., merge=True)``), which raises
``RuntimeError('summary.get_list_info failed: inner error')`` when that list is empty too. The
multi-threaded pipeline is not imitated (the CLIs refuse ``--pipeline``), so only that error is.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ais_bench.infer._io import PlainFiles, logger

SCALE = 99  # ``scale = 99`` in both ``Summary.report``
DASHES = "-----------------Performance Summary------------------"
CLOSING = "------------------------------------------------------"


def list_info(values: list, scale: int = SCALE) -> dict:
    """``get_list_info``: the five figures of ``values`` (numpy scalars), 0.0 each for an empty list."""
    if len(values) == 0:
        return {"min": 0.0, "max": 0.0, "mean": 0.0, "median": 0.0, "percentile": 0.0}
    return {
        "min": np.min(values),
        "max": np.max(values),
        "mean": np.mean(values),
        "median": np.median(values),
        "percentile": np.percentile(values, scale),
    }


def block(info: dict, count: int, scale: int = SCALE) -> dict:
    """One block of the JSON (``NPU_compute_time``, ``H2D_latency``, ``D2H_latency``)."""
    keys = ("min", "max", "mean", "median")
    return {**{k: info[k] for k in keys}, f"percentile({scale}%)": info["percentile"], "count": count}


def line(name: str, info: dict, scale: int = SCALE) -> str:
    """One console line of a list's figures, as ``display`` / ``report`` format it."""
    return (
        f"{name} (ms): min = {info['min']}, max = {info['max']}, mean = {info['mean']}, "
        f"median = {info['median']}, percentile({scale}%) = {info['percentile']}"
    )


def throughput(batchsize, mean):
    """``1000 * batchsize / mean`` of the NPU compute times (ms); 0 when the mean is 0."""
    return 0 if mean == 0 else 1000 * batchsize / mean


class Summary:
    """The module-level ``summary`` object of a front-end's CLI."""

    def __init__(self, lineage: str):
        self.lineage = lineage
        self.reset()
        self.infodict = {"filesinfo": {}}

    def reset(self):
        self.h2d_latency_list, self.d2h_latency_list = [], []
        self.npu_compute_time_list, self.npu_compute_time_interval_list = [], []
        self._batchsizes = []

    def add_batchsize(self, n: int):
        self._batchsizes.append(n)

    def add_sample_id_infiles(self, sample_id, infiles):
        entry = self.infodict["filesinfo"].setdefault(sample_id, {"infiles": [], "outfiles": []})
        if not entry["infiles"]:
            entry["infiles"].extend(infiles)

    def append_sample_id_outfile(self, sample_id, outfile):
        self.infodict["filesinfo"].setdefault(sample_id, {"infiles": [], "outfiles": []})["outfiles"].append(outfile)

    def add_args(self, args):
        self.infodict["args"] = args

    def report(self, batchsize, output_prefix, display_all_summary=False, files=None):
        """The figures into ``infodict``, the console block, then ``<output_prefix>_summary.json``."""
        if self.lineage == "msit2024" and not self.npu_compute_time_list and not self.npu_compute_time_interval_list:
            raise RuntimeError("summary.get_list_info failed: inner error")
        npu, h2d, d2h = map(list_info, (self.npu_compute_time_list, self.h2d_latency_list, self.d2h_latency_list))
        if self._batchsizes:
            batchsize = sum(self._batchsizes) / len(self._batchsizes)
        rate = throughput(batchsize, npu["mean"])
        self._record(npu, h2d, d2h, rate)
        logger.info(DASHES)
        if display_all_summary:
            logger.info(line("H2D_latency", h2d))
        logger.info(line("NPU_compute_time", npu))
        if display_all_summary:
            logger.info(line("D2H_latency", d2h))
        logger.info(f"throughput 1000*batchsize.mean({batchsize})/NPU_compute_time.mean({npu['mean']}): {rate}")
        logger.info(CLOSING)
        if output_prefix is not None:
            with (files or PlainFiles()).open_write(output_prefix + "_summary.json") as f:
                f.write(json.dumps(self.infodict).encode())

    def _record(self, npu: dict, h2d: dict, d2h: dict, rate) -> None:
        """The figures into ``infodict``, in tools2023's key order (for both lineages, see above)."""
        self.infodict["NPU_compute_time"] = block(npu, len(self.npu_compute_time_list))
        self.infodict["H2D_latency"] = block(h2d, len(self.h2d_latency_list))
        self.infodict["D2H_latency"] = block(d2h, len(self.d2h_latency_list))
        self.infodict["throughput"] = rate  # msit2024's ``record`` writes it after npu_compute_time_list
        self.infodict["npu_compute_time_list"] = self.npu_compute_time_list
        self.infodict["pid"] = os.getpid()
