"""The throughput charts (issue 19): make perf / report draw throughput.png beside report.md (measured
and published series) and link it, make compare draws compare.png; a missing matplotlib or a headless
machine never fails a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from common import charts, compare, manifest, perf
from common.layout import Layout
from tests.conftest import ROOT

PNG = b"\x89PNG\r\n\x1a\n"


def record(name: str = "inceptionresnetv2") -> dict:
    m = manifest.load(name)
    rows = [perf.PerfRow(bs, 90.0 + bs, 10.0, 12.0, 5, "host-measured, ONNX Runtime (CPU)") for bs in (1, 4, 8)]
    pub = {n: {str(k): v for k, v in fps.items()} for n, fps in perf.published_columns(m)}
    return {"rows": [r.__dict__ for r in rows], "published": pub, "device": "cpu"}


def test_throughput_chart_is_a_png_with_measured_and_published_series(tmp_path, monkeypatch):
    drawn = {}
    real = charts.draw
    monkeypatch.setattr(charts, "draw", lambda *a: drawn.update(args=a) or real(*a))
    path = charts.throughput(record(), tmp_path, "InceptionResNetV2")
    assert path == tmp_path / "throughput.png" and path.read_bytes()[:8] == PNG
    assert Image.open(path).size == (900, 550)
    _, _, measured, published = drawn["args"]
    assert (
        list(measured) == ["measured on this host: ONNX Runtime (CPU)"]
        and measured["measured on this host: ONNX Runtime (CPU)"][8] == 98.0
    )
    assert len(published) == 3 and any("310P" in k for k in published) and any("T4" in k for k in published)
    assert not list(tmp_path.glob(".*.tmp"))  # written under a temporary name, then renamed


def _charting(code: str, tmp_path, env: dict) -> subprocess.CompletedProcess:
    script = (
        f"import json, sys; from pathlib import Path; {code}; from common import charts; "
        "r = charts.throughput(json.loads(sys.argv[1]), Path(sys.argv[2]), 't'); print('returned', r)"
    )
    return subprocess.run(
        [sys.executable, "-c", script, json.dumps(record()), str(tmp_path)],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_matplotlib_the_chart_is_skipped_in_one_line(tmp_path):
    proc = _charting("sys.modules['matplotlib'] = None", tmp_path, dict(os.environ))
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.splitlines() == [
        "chart: skipped (throughput.png: matplotlib is not installed; pip install 'modelzoo-inference-bundle[full]')",
        "returned None",
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_headless_machine_still_draws(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = _charting("pass", tmp_path, {**env, "MPLBACKEND": "TkAgg"})  # a GUI backend asked for, no display
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "throughput.png").read_bytes()[:8] == PNG


def test_an_unwritable_folder_skips_the_chart_not_the_run(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert charts.throughput(record(), blocker, "t") is None
    assert capsys.readouterr().out.startswith("chart: skipped (throughput.png: ")


def test_compare_draws_the_runs_side_by_side_and_links_it(tmp_path):
    m = manifest.load("moco-v2")
    layout = Layout(tmp_path / "w", m)
    for name, rate in (("onnx-bs16", 100.0), ("torch-bs16", 40.0)):
        run = layout.work / name
        (run / "outputs").mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"title": "x", "value": []}))
        (run / "run.json").write_text(json.dumps({"ran": name.split("-")[0]}))
        rows = [{"bs": bs, "samples_per_s": rate * bs} for bs in (1, 16)]
        (run / "perf.json").write_text(json.dumps({"rows": rows}))
    assert compare.series(layout) == {
        "onnx-bs16: onnx": {1: 100.0, 16: 1600.0},
        "torch-bs16: torch": {1: 40.0, 16: 640.0},
    }
    md = compare.write(layout)
    assert "![every run's samples/s against batch size](compare.png)" in md.read_text()
    assert (md.parent / "compare.png").read_bytes()[:8] == PNG


@pytest.mark.xdist_group("inceptionresnetv2")
def test_the_report_links_its_chart(pipeline):
    _, work, proc = pipeline("inceptionresnetv2")
    run = work / "onnx-bs16"
    assert (run / "throughput.png").read_bytes()[:8] == PNG
    assert "](throughput.png)" in (run / "report.md").read_text()
