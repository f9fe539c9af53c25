"""BACKEND=benchmark: the legacy ``benchmark.<arch>`` tool of CANN 5.0.x over the OM (per-chip figures)."""

from __future__ import annotations

from .. import OM, TOOL, Backend


def make(art):
    from ..benchmark import BenchmarkRunner
    from ..runner import run_args

    s, cfg = art.settings, art.cfg
    return BenchmarkRunner(
        art.om,
        s.bs,
        cfg.model.input_shape,
        s.device[0],
        s.benchmark_tool,
        run_args(art),
        timeout=s.infer_timeout or None,
    )


BACKEND = Backend("benchmark", "legacy tool", (OM, TOOL), make, order=30, ascend=True, label="om", per_chip=True)
