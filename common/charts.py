"""Throughput charts as PNG: samples/s against batch size, beside perf.md / report.md
(``throughput.png``: the measured series and the manifest's published 310 / 310P / T4 series) and
compare.md (``compare.png``: every run side by side).

matplotlib with the Agg backend (no display needed), rendered from the records the reports read
(perf.json, the runs' records). A missing matplotlib or a chart that cannot be drawn never fails a run:
one line says the chart was skipped, and None is returned.
"""

from __future__ import annotations

import os
from pathlib import Path

from .console import say

THROUGHPUT = "throughput.png"
COMPARE = "compare.png"


def throughput(perf: dict, out_dir: Path, title: str) -> Path | None:
    """``throughput.png`` in ``out_dir`` from a perf.json record: one series per measuring source
    ("measured: <what ran>") and one per published device ("published: <device>")."""
    measured: dict[str, dict[int, float]] = {}
    for r in perf.get("rows") or []:
        if isinstance(r, dict) and isinstance(r.get("bs"), int) and isinstance(r.get("samples_per_s"), (int, float)):
            measured.setdefault(_measured_label(str(r.get("source") or perf.get("device") or "?")), {})[r["bs"]] = (
                float(r["samples_per_s"])
            )
    published = {
        (name if "published" in name else f"published: {name}"): {int(k): float(v) for k, v in fps.items()}
        for name, fps in (perf.get("published") or {}).items()
        if isinstance(fps, dict) and fps
    }
    return draw(Path(out_dir) / THROUGHPUT, title, measured, published)


def _measured_label(source: str) -> str:
    head, _, rest = source.partition(", ")
    return f"measured on this host: {rest}" if head == "host-measured" and rest else f"measured: {source}"


def runs(series: dict[str, dict[int, float]], out_dir: Path, title: str) -> Path | None:
    """``compare.png`` in ``out_dir``: one series per run ("<run>: <what ran>")."""
    return draw(Path(out_dir) / COMPARE, title, series, {})


def draw(path: Path, title: str, solid: dict[str, dict[int, float]], dashed: dict[str, dict[int, float]]):
    """Samples/s (log scale) against batch size (log 2), ``solid`` series with markers, ``dashed`` ones
    for published figures; written atomically. None (and one line) when it cannot be drawn."""
    if not any(solid.values()) and not any(dashed.values()):
        say(f"chart: skipped ({path.name}: no throughput figures yet)")
        return None
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)  # headless: never a display
        import matplotlib.pyplot as plt
    except ImportError:
        say(f"chart: skipped ({path.name}: matplotlib is not installed; pip install 'modelzoo-inference-bundle[full]')")
        return None
    fig = None
    try:
        fig, ax = plt.subplots(figsize=(9, 5.5), dpi=100)
        _plot(ax, solid, dashed)
        _axes(ax, title, solid, dashed)
        fig.tight_layout()
        _save(fig, path)
    except (OSError, RuntimeError, ValueError) as exc:
        say(f"chart: skipped ({path.name}: {exc})")
        return None
    finally:
        if fig is not None:
            plt.close(fig)
    return path


def _plot(ax, solid: dict[str, dict[int, float]], dashed: dict[str, dict[int, float]]) -> None:
    """The series: ``solid`` ones with round markers and each value written above its point,
    ``dashed`` ones with square markers."""
    for label, values in solid.items():
        bs = sorted(values)
        ax.plot(bs, [values[b] for b in bs], marker="o", linewidth=2, label=label)
        for b in bs:
            ax.annotate(
                f"{values[b]:.1f}",
                (b, values[b]),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
            )
    for label, values in dashed.items():
        bs = sorted(values)
        ax.plot(bs, [values[b] for b in bs], marker="s", linestyle="--", linewidth=1.5, label=label)


def _axes(ax, title: str, solid: dict[str, dict[int, float]], dashed: dict[str, dict[int, float]]) -> None:
    """Batch sizes on a log-2 axis ticked at each size drawn; samples/s on a log scale when the figures
    span more than 10x (a CPU beside a 310P), else linear from 0; labels, title, grid, legend below."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator, ScalarFormatter

    groups = (solid, dashed)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted({b for group in groups for s in group.values() for b in s})))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(ScalarFormatter())
    values = [v for group in groups for s in group.values() for v in s.values() if v > 0]
    wide = bool(values) and max(values) > 10 * min(values)  # CPU beside a 310P: a log scale
    if wide:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.set_ylim(bottom=0, top=max(values, default=1) * 1.15)
    ax.set_xlabel("batch size")
    ax.set_ylabel("throughput, samples/s" + (" (log scale)" if wide else ""))
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, ncol=1, frameon=False)


def _save(fig, path: Path) -> None:
    """``path`` as PNG, written under a temporary name in its folder, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
