"""``modelzoo_level.txt`` from measured run records, with the reason for each level.

The ModelZoo rules (ACL_PyTorch/contrib/CONTRIBUTING.md), applied to the runs of a work folder:
- FuncStatus: OK when an OM run (ais_bench or the benchmark tool) finished inference and postprocess.
- PrecisionStatus: OK when every OM run over the 50,000 validation images has a top-1 at most
  ``PRECISION_DROP`` points below the upstream (PyTorch) top-1.
- PerfStatus: the best OM throughput (per Atlas 300I card for Ascend 310: 4 x per chip; per device
  otherwise) against the best published NVIDIA T4 figure over the same batch sizes:
  PERFECT >= 1.2 x T4, OK >= 1.0 x, POK >= 0.5 x, NOK below.
- AutoTune: OK when an OM built with ATC's auto-tune (``--auto_tune_mode``, CANN 5.x) reaches the T4
  figure, POK when it beats the untuned OM of the same batch size, NOK otherwise or when none was built.
Whatever was not measured is NOK, and the reason says what is missing.

Python 3.7+ and the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .manifest import Manifest
from .runs import Run

PRECISION_DROP = 1.0  # points of top-1 an OM may lose against the upstream checkpoint
FULL_SET = 50000
PERF_LEVELS = ((1.2, "PERFECT"), (1.0, "OK"), (0.5, "POK"))
KEYS = ("FuncStatus", "PrecisionStatus", "AutoTune", "PerfStatus")


@dataclass(frozen=True)
class Level:
    key: str
    value: str
    reason: str


def _t4(m: Manifest) -> dict[int, float]:
    for row in m.throughput:
        if "T4" in row.device:
            return dict(row.fps)
    return {}


def _best(runs: list[Run], t4_sizes) -> tuple[float, str] | None:
    """The highest OM figure (card / device) among ``runs`` (at the batch sizes in ``t4_sizes`` when given)."""
    best = None
    for r in runs:
        for row in r.perf:
            if t4_sizes and row.bs not in t4_sizes:
                continue
            fps, how = r.card(row)
            if best is None or fps > best[0]:
                best = (fps, f"{r.name} bs{row.bs}: {fps:.1f} samples/s ({how}, {r.chip or 'chip not recorded'})")
    return best


def _func(om: list[Run]) -> Level:
    done = [r for r in om if r.images]
    if done:
        return Level("FuncStatus", "OK", f"OM inference and postprocess finished: {', '.join(r.name for r in done)}")
    return Level("FuncStatus", "NOK", "no OM run recorded yet (ais_bench or the benchmark tool on an Ascend NPU)")


def _precision(m: Manifest, om: list[Run]) -> Level:
    upstream = m.accuracy.get("upstream", {}).get("top1")
    full = [r for r in om if r.images == FULL_SET and r.top1 is not None]
    if upstream is None:
        return Level("PrecisionStatus", "NOK", "the manifest has no upstream top-1 to compare with")
    if not full:
        return Level("PrecisionStatus", "NOK", f"no OM run over the {FULL_SET:,} validation images recorded yet")
    worst = min(full, key=lambda r: r.top1)
    floor = upstream - PRECISION_DROP
    cmp = f"top-1 {worst.top1}% ({worst.name}) vs upstream {upstream}% (allowed: >= {floor:.3f}%)"
    return Level("PrecisionStatus", "OK" if worst.top1 >= floor else "NOK", cmp)


def _perf(m: Manifest, om: list[Run]) -> Level:
    t4 = _t4(m)
    if not t4:
        return Level("PerfStatus", "NOK", "the manifest has no published T4 throughput to compare with")
    measured = {row.bs for r in om for row in r.perf}
    sizes = measured & set(t4) or set(t4)
    best = _best(om, sizes if measured & set(t4) else None)
    if best is None:
        return Level("PerfStatus", "NOK", "no OM throughput recorded yet (make perf with BACKEND=om on an NPU)")
    gpu = max(t4[b] for b in sizes)
    ratio = best[0] / gpu
    value = next((v for limit, v in PERF_LEVELS if ratio >= limit), "NOK")
    why = f"best {best[1]} = {ratio:.2f} x the best T4 figure at bs {', '.join(map(str, sorted(sizes)))} ({gpu:g})"
    return Level("PerfStatus", value, why)


def _autotune(m: Manifest, om: list[Run]) -> Level:
    tuned = [r for r in om if "--auto_tune_mode" in r.atc and r.perf]
    if not tuned:
        return Level(
            "AutoTune",
            "NOK",
            "no OM built with ATC auto-tune recorded (CANN 5.x: ATC_EXTRA='--auto_tune_mode=\"RL,GA\"'; "
            "AOE tuning on CANN >= 6 is not recorded by the bundle)",
        )
    t4 = _t4(m)
    for r in tuned:
        for row in r.perf:
            fps, _ = r.card(row)
            if row.bs in t4 and fps >= t4[row.bs]:
                return Level("AutoTune", "OK", f"{r.name} bs{row.bs}: {fps:.1f} >= T4 {t4[row.bs]:g} samples/s")
    plain = [r for r in om if r.perf and "--auto_tune_mode" not in r.atc]
    for r in tuned:
        for row in r.perf:
            fps, _ = r.card(row)
            for q in plain:
                for other in q.perf:
                    base, _ = q.card(other)
                    if other.bs == row.bs and fps > base:
                        why = f"{r.name} bs{row.bs}: {fps:.1f} > untuned {q.name} {base:.1f} samples/s, below T4"
                        return Level("AutoTune", "POK", why)
    return Level("AutoTune", "NOK", "auto-tuned OMs gave no improvement over the untuned ones (or none to compare)")


def levels(m: Manifest, runs: list[Run]) -> list[Level]:
    """The four levels, in modelzoo_level.txt order."""
    om = [r for r in runs if r.om]
    return [_func(om), _precision(m, om), _autotune(m, om), _perf(m, om)]


def text(found: list[Level]) -> str:
    """modelzoo_level.txt: ``FuncStatus:OK`` ... one a line, no spaces."""
    return "".join(f"{lv.key}:{lv.value}\n" for lv in found)
