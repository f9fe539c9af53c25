"""Benchmark: inference inside the pipeline (``common.backends.runner.infer``: read the .bin inputs, run, write
TXT outputs) against the same session's bare loop (``session.run`` over the same batches, already in
memory: what ``make perf`` times), interleaved rounds in one process.

EfficientNet-Lite0 (the demo model; random weights, batch norm calibrated, exported as ``make onnx``
does; the ONNX is shared with the ort-vs-torch benchmark) at bs 8 on the CPU: a small model, so the
host work per sample (reading 602 KB, formatting and writing 1000 values) weighs the most. The
pipeline's figure is its own end-to-end wall clock, first batch read to last output file written
(``pipeline_seconds`` in the summary); efficiency = bare loop seconds / pipeline seconds, per round
(the two ran under the same load), the median of the rounds. The outputs are compared byte for byte
with Python's ``'%f'`` formatting of the bare loop's outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from bench import images, report
from bench.report import table

MODEL = "efficientnet-lite0"
BS = 8


def _onnx() -> Path:
    """The Lite0 ONNX (random weights), exported once into the results folder."""
    import torch

    from bench import ort_vs_torch as ovt
    from common import architecture, manifest

    m = manifest.load(MODEL)
    out = report.RESULTS / "onnx"
    out.mkdir(parents=True, exist_ok=True)
    path, record = out / m.onnx_name(1), out / m.onnx_name(1).replace(".onnx", ".parity.json")
    if (
        path.is_file()
        and record.is_file()
        and json.loads(record.read_text()).get("bench_stamp") == ovt._stamp(m.model_dir)
    ):
        return path  # exported by the ort-vs-torch benchmark of this run (or an earlier one)
    torch.manual_seed(ovt.SEED)
    net = architecture.build(m.model_dir)
    photos = ovt._photos(m)
    ovt._calibrate_bn(net, photos)
    path, _, _ = ovt._onnx(net, m, 1, out, photos)
    return path


def _inputs(n: int) -> list[Path]:
    """``n`` .bin inputs: benchmark photos preprocessed for Lite0, linked under n names."""
    from common import manifest, preprocess

    pre = manifest.load(MODEL).preprocess
    prep = report.RESULTS / "pipeline" / "prep"
    photos = report.RESULTS / "pipeline" / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    for p in images.build(report.RESULTS / "images")[: min(n, 64)]:
        if not (photos / p.name).is_file():
            os.link(p, photos / p.name)
    preprocess.run(photos, prep, pre, progress=False)
    bins = sorted(prep.glob("*.bin"))
    folder = report.RESULTS / "pipeline" / f"inputs-{n}"
    if len(list(folder.glob("*.bin"))) != n:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for i in range(n):
            os.link(bins[i % len(bins)], folder / f"x{i:04d}.bin")
    return sorted(folder.glob("*.bin"))


def _default_ort_session(path: Path):
    """ONNX Runtime's defaults (pool threads spin), for the record: how much spinning costs here."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _python_txt(row: np.ndarray) -> bytes:
    return (" ".join(f"{v:f}" for v in np.asarray(row, np.float32).ravel().tolist()) + " \n").encode()


def run(quick: bool = False) -> dict:
    from common.backends import runner
    from common.backends.onnxruntime import OrtSession
    from common.manifest import load

    n, rounds = (48, 3) if quick else (160, 9)  # many short rounds: each pair runs under the same load
    shape = load(MODEL).input_shape
    path = _onnx()
    inputs = _inputs(n)
    batches = [inputs[i : i + BS] for i in range(0, n, BS)]
    xs = [np.stack([np.fromfile(p, np.float32).reshape(shape) for p in b]) for b in batches]
    session = OrtSession(path, provider="cpu")  # what `make infer` / `make perf` open
    spinning = None if quick else _default_ort_session(path)
    for x in xs[:2]:  # warm-up
        session.run(x)
        if spinning is not None:
            spinning.run(None, {spinning.get_inputs()[0].name: x})
    out = report.RESULTS / "pipeline" / "outputs"
    seconds: dict[str, list[float]] = {"bare": [], "pipeline": [], "infer_call": [], "bare_spinning": []}
    inside: list[float] = []
    last = None
    cpu: dict[str, list[float]] = {"bare": [], "pipeline": []}  # CPU seconds of the process, all threads
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        outs = [session.run(x)[0] for x in xs]
        seconds["bare"].append(time.perf_counter() - t0)
        cpu["bare"].append(time.process_time() - c0)
        last = outs
        shutil.rmtree(out, ignore_errors=True)
        c0, t0 = time.process_time(), time.perf_counter()
        s = runner.infer(session, inputs, BS, out, shape, "TXT", progress=False)
        seconds["infer_call"].append(time.perf_counter() - t0)
        cpu["pipeline"].append(time.process_time() - c0)
        seconds["pipeline"].append(s["pipeline_seconds"])
        inside.append(sum(s["npu_compute_time_list"]) / 1000)
        if not quick:
            t0 = time.perf_counter()
            name = spinning.get_inputs()[0].name
            for x in xs:
                spinning.run(None, {name: x})
            seconds["bare_spinning"].append(time.perf_counter() - t0)
    flat = np.concatenate(last)
    same = all((out / f"{p.stem}_0.txt").read_bytes() == _python_txt(row) for p, row in zip(inputs, flat, strict=True))
    per_round = [b / p for b, p in zip(seconds["bare"], seconds["pipeline"], strict=True)]
    med = {k: statistics.median(v) for k, v in seconds.items() if v}
    return {
        "benchmark": "pipeline",
        "model": f"{MODEL} (random weights)",
        "bs": BS,
        "inputs": n,
        "rounds": rounds,
        "session": session.describe() + ", intra-op threads do not spin",
        "seconds": seconds,
        "session_run_seconds": inside,
        "samples_per_s": {k: n / v for k, v in med.items()},
        "efficiency": statistics.median(per_round),  # each round pairs the two under the same load
        "efficiency_of_medians": med["bare"] / med["pipeline"],
        "efficiency_per_round": per_round,
        "efficiency_infer_call": med["bare"] / med["infer_call"],
        "cpu_seconds": cpu,
        "cpu_ratio": statistics.median(cpu["pipeline"]) / statistics.median(cpu["bare"]),
        "spinning_off_vs_on": med["bare_spinning"] / med["bare"] if "bare_spinning" in med else None,
        "outputs_identical": same,
    }


def markdown(data: dict) -> str:
    sps = data["samples_per_s"]
    rows = [
        [
            f"{data['model']}, bs {data['bs']}, {data['inputs']} inputs, TXT",
            f"{sps['bare']:.1f}",
            f"{sps['pipeline']:.1f}",
            f"{100 * data['efficiency']:.1f} %",
            f"{100 * min(data['efficiency_per_round']):.0f}–{100 * max(data['efficiency_per_round']):.0f} %",
            f"{100 * data['efficiency_infer_call']:.1f} %",
            "✓" if data["outputs_identical"] else "✗",
        ]
    ]
    head = [
        "run",
        "bare session loop samples/s",
        "pipeline samples/s (end to end)",
        "pipeline/bare (median of rounds)",
        "per-round",
        "whole infer() call/bare",
        "outputs = '%f' of the bare loop's",
    ]
    spin = ""
    if data["spinning_off_vs_on"]:
        spin = (
            " For the record, the same loop with ONNX Runtime's default (spinning) threads: "
            f"{sps['bare_spinning']:.1f} samples/s "
            f"({data['spinning_off_vs_on']:.2f}× the time of the non-spinning loop)."
        )
    spin = (
        f" CPU time of the whole process (all threads): the pipeline {data['cpu_ratio']:.2f}× the bare loop's "
        "(the host work it adds, whatever the load)." + spin
    )
    return (
        f"### Inference in the pipeline vs the bare session loop (median of {data['rounds']} interleaved rounds)\n\n"
        + table(head, rows)
        + f"\n\n{data['session']}.{spin}"
    )
