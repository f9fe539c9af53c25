"""BACKEND=om: an OM per batch size on Ascend NPUs with ais_bench (its API, else its CLI; several NPUs
shard the dataset); what ``BACKEND=auto`` picks where an NPU and ais_bench are present."""

from __future__ import annotations

import shutil

from .. import OM, Backend


def cann_present() -> bool:
    """True when an Ascend NPU and ais_bench are usable here (the ``auto`` rule)."""
    if shutil.which("npu-smi") is None:
        return False
    try:
        import ais_bench  # noqa: F401
    except ImportError:
        return False
    return True


def make(art):
    from ..ais_bench import AisBenchRunner
    from ..runner import run_args

    s, m, cfg = art.settings, art.cfg.model, art.cfg
    return AisBenchRunner(
        art.om,
        s.device,
        s.bs,
        m.input_shape,
        s.outfmt,
        s.progress,
        loop=s.perf_loop,
        dynamic=tuple(s.dynamic_batch),  # the OM's gears: BS is checked against them
        python=s.ais_bench_python,
        args=run_args(art),
        log_dir=cfg.run.dir,  # the CLI's console: <run>/ais_bench_device<N>.log
        timeout=s.infer_timeout or None,  # the watchdog: INFER_TIMEOUT, else automatic
    )


BACKEND = Backend(
    "om",
    "ais_bench",
    (OM,),
    make,
    order=20,
    detect=cann_present,
    auto=1,
    ascend=True,
    shards=True,
    accelerator=True,
    ignores_provider=True,
)
