"""The streaming run (STREAM=1) against the staged one, in interleaved rounds of one process.

Two settings, each over the same synthetic ImageNet-size JPEGs (``bench.imagenet_like``):

- **CPU**: Lite0 on ONNX Runtime's CPU provider. Staged = ``preprocess`` (all cores) + the info file +
  ``infer`` from the .bin files; streamed = ``infer`` from a ``StreamFeed`` (cores - 1 decode workers).
  Beside them each stage alone: the decode pool into the ring (no session), the bare session loop over
  in-memory batches, the writer; and the streamed run's CPU seconds (this process and its children) /
  cores: on two cores both stages are CPU-bound, so the streamed wall is bounded by the CPU work.
- **device**: a bench-only session that spends the published Ascend 310P3 time per batch of
  InceptionResNetV2 (its manifest's figure) in ``time.sleep``, using no CPU, and returns what a real
  ONNX Runtime session (a tiny model of the same input) computed for that batch once, before the
  timing; decoding is InceptionResNetV2's. Streamed (every core decoding) against staged and against
  max(decode alone, device alone): the stream's wall is its slowest stage.

Outputs of each streamed round are compared byte for byte with the staged round's.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from bench import imagenet_like, report
from bench.report import table

CPU_MODEL, CPU_BS = "efficientnet-lite0", 16
DEVICE_MODEL, DEVICE_BS, DEVICE = "inceptionresnetv2", 16, "Ascend 310P3"


def _cpu_seconds() -> float:
    """User + system seconds of this process and its waited-for children (decode workers, pools)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _same(a: Path, b: Path) -> bool:
    fa, fb = sorted(p.name for p in a.iterdir()), sorted(p.name for p in b.iterdir())
    return fa == fb and all((a / n).read_bytes() == (b / n).read_bytes() for n in fa)


class PublishedTimeSession:
    """A bench-only session: each call sleeps the published device time of one batch (no CPU) and returns
    the outputs a real session computed for that call once, in ``prime``."""

    batch = None
    name = "published-time"

    def __init__(self, seconds_per_batch: float) -> None:
        self.seconds, self.outputs, self.calls = seconds_per_batch, [], 0

    def prime(self, real, batches: list[np.ndarray]) -> None:
        self.outputs = [real.run(x) for x in batches]

    def rewind(self) -> None:
        self.calls = 0

    def run(self, x):
        time.sleep(self.seconds)
        out = self.outputs[self.calls]
        self.calls += 1
        return out

    def own_timings(self):
        return None

    def describe(self) -> str:
        return f"sleeps {1000 * self.seconds:.2f} ms per batch (published {DEVICE} figure)"


def _tiny_onnx(path: Path, crop: int) -> Path:
    """A real, cheap ONNX model of InceptionResNetV2's input: mean of each channel, then a linear layer."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 1001))
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, 3, crop, crop)
    torch.onnx.export(
        net, x, str(path), input_names=["input"], output_names=["out"], dynamic_axes={"input": {0: "b"}}, dynamo=False
    )
    return path


def _read(paths: list[Path], shape) -> np.ndarray:
    """The .bin files ``paths`` as one float32 batch (the runner's reader)."""
    from common.backends import runner

    return runner.read_into(paths, np.empty((len(paths), *shape), np.float32))


def _staged(session, val: Path, prep: Path, out: Path, pre, bs: int, shape) -> float:
    from common import dataset_info, preprocess
    from common.backends import runner

    shutil.rmtree(prep, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    preprocess.run(val, prep, pre, progress=False)
    info = prep.parent / f"{prep.name}.info"
    dataset_info.write_info("bin", str(prep), info, shape[2], shape[1])
    inputs = dataset_info.read_info(info)
    runner.infer(session, inputs, bs, out, shape, "TXT", progress=False)
    return time.perf_counter() - t0


def _streamed(session, sources: dict, out: Path, pre, bs: int, shape, workers: int) -> tuple[float, float, dict]:
    from common.backends import runner
    from common.stream import StreamFeed

    shutil.rmtree(out, ignore_errors=True)
    feed = StreamFeed(sources, pre, workers)
    c0, t0 = _cpu_seconds(), time.perf_counter()
    runner.infer(session, list(sources), bs, out, shape, "TXT", progress=False, feed=feed)
    return time.perf_counter() - t0, _cpu_seconds() - c0, feed.record()["stream"]


def _decode_alone(sources: dict, pre, bs: int, shape, workers: int) -> float:
    from common.stream import StreamFeed

    keys = list(sources)
    batches = [keys[i : i + bs] for i in range(0, len(keys), bs)]
    t0 = time.perf_counter()
    for _ in StreamFeed(sources, pre, workers).batches(batches, bs, shape, False):
        pass
    return time.perf_counter() - t0


def run(quick: bool = False) -> dict:
    from common import manifest
    from common.backends import runner
    from common.backends.onnxruntime import OrtSession
    from common.stream import default_workers

    n, rounds = (96, 1) if quick else (1000, 3)
    cores = len(os.sched_getaffinity(0))
    base = report.RESULTS / "stream"
    val = imagenet_like.build(base / f"val-{n}", n, progress=False)
    images = sorted(val.iterdir())[:n]
    result: dict = {"benchmark": "stream", "images": n, "rounds": rounds, "cores": cores}

    # ---- CPU: Lite0, ONNX Runtime CPU
    from bench.pipeline_bench import _onnx

    m = manifest.load(CPU_MODEL)
    pre, shape = m.preprocess, m.input_shape
    session = OrtSession(_onnx(), provider="cpu")
    sources = {base / "cpu-prep" / f"{p.stem}.bin": p for p in images}
    workers = default_workers(False, cores)
    sec: dict[str, list[float]] = {k: [] for k in ("staged", "streamed", "decode", "session", "writer")}
    cpu, cpu_staged, same = [], [], True
    for _ in range(rounds):
        c0 = _cpu_seconds()
        sec["staged"].append(_staged(session, val, base / "cpu-prep", base / "cpu-staged", pre, CPU_BS, shape))
        cpu_staged.append(_cpu_seconds() - c0)
        wall, cpu_s, _st = _streamed(session, sources, base / "cpu-streamed", pre, CPU_BS, shape, workers)
        sec["streamed"].append(wall)
        cpu.append(cpu_s)
        same = same and _same(base / "cpu-staged", base / "cpu-streamed")
        sec["decode"].append(_decode_alone(sources, pre, CPU_BS, shape, workers))
        bins = sorted((base / "cpu-prep").glob("*.bin"))
        xs = [_read(bins[i : i + CPU_BS], shape) for i in range(0, min(len(bins), 8 * CPU_BS), CPU_BS)]
        batches = -(-n // CPU_BS)
        t0 = time.perf_counter()
        outs = [session.run(xs[i % len(xs)]) for i in range(batches)]
        sec["session"].append(time.perf_counter() - t0)
        wdir = base / "cpu-writer"
        shutil.rmtree(wdir, ignore_errors=True)
        wdir.mkdir(parents=True)
        keys = list(sources)
        t0 = time.perf_counter()
        for i, o in enumerate(outs):
            runner._write_batch(wdir, keys[i * CPU_BS : (i + 1) * CPU_BS], o, "TXT")
        sec["writer"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in sec.items()}
    result["cpu"] = {
        "model": f"{CPU_MODEL} (random weights), ONNX Runtime CPU, bs {CPU_BS}",
        "workers": workers,
        "seconds": sec,
        "median": med,
        "streamed_over_staged": statistics.median(s / t for s, t in zip(sec["streamed"], sec["staged"], strict=True)),
        "cpu_seconds_streamed": cpu,
        "cpu_seconds_staged": cpu_staged,
        "cpu_streamed_over_staged": statistics.median(a / b for a, b in zip(cpu, cpu_staged, strict=True)),
        "streamed_over_cpu_per_core": statistics.median(
            w / (c / cores) for w, c in zip(sec["streamed"], cpu, strict=True)
        ),
        "outputs_identical": same,
        "bin_written_by_streamed": 0,
    }

    # ---- device: InceptionResNetV2 decoding, the published 310P3 time per batch
    m = manifest.load(DEVICE_MODEL)
    pre, shape = m.preprocess, m.input_shape
    row = next(t for t in m.throughput if t.device == DEVICE)
    fps = row.fps[DEVICE_BS]
    dev = PublishedTimeSession(DEVICE_BS / fps)
    real = OrtSession(_tiny_onnx(base / "tiny299.onnx", shape[1]), provider="cpu")
    sources = {base / "dev-prep" / f"{p.stem}.bin": p for p in images}
    workers = default_workers(True, cores)
    from common import preprocess

    preprocess.run(val, base / "dev-prep", pre, progress=False)  # once, to prime the outputs
    bins = sorted((base / "dev-prep").glob("*.bin"))
    dev.prime(real, [_read(bins[i : i + DEVICE_BS], shape) for i in range(0, n, DEVICE_BS)])
    dsec: dict[str, list[float]] = {k: [] for k in ("staged", "streamed", "decode", "device")}
    dsame, waits = True, []
    for _ in range(rounds):
        dev.rewind()
        dsec["staged"].append(_staged(dev, val, base / "dev-prep", base / "dev-staged", pre, DEVICE_BS, shape))
        dev.rewind()
        wall, _, st = _streamed(dev, sources, base / "dev-streamed", pre, DEVICE_BS, shape, workers)
        dsec["streamed"].append(wall)
        waits.append(st["decode_waits"] / max(1, st["batches"]))
        dsame = dsame and _same(base / "dev-staged", base / "dev-streamed")
        dsec["decode"].append(_decode_alone(sources, pre, DEVICE_BS, shape, workers))
        dsec["device"].append(len(dev.outputs) * dev.seconds)
    dmed = {k: statistics.median(v) for k, v in dsec.items()}
    bound = "decode-bound" if dmed["decode"] >= dmed["device"] else "device-bound"
    result["device"] = {
        "model": f"{DEVICE_MODEL} decoding, {dev.describe()}, bs {DEVICE_BS}",
        "published_fps": fps,
        "workers": workers,
        "seconds": dsec,
        "median": dmed,
        "streamed_over_staged": statistics.median(s / t for s, t in zip(dsec["streamed"], dsec["staged"], strict=True)),
        "streamed_over_slowest_stage": statistics.median(
            s / max(d, v) for s, d, v in zip(dsec["streamed"], dsec["decode"], dsec["device"], strict=True)
        ),
        "bound": bound,
        "decode_waits_share": waits,
        "outputs_identical": dsame,
    }
    return result


def summary_rows(data: dict) -> list[dict]:
    """The rows of ``make bench``'s summary table (bench/run.py)."""
    mark = {True: "✓", False: "✗"}
    c, d = data["cpu"], data["device"]
    n = data["images"]
    return [
        {
            "what": f"streamed Lite0 ONNX Runtime CPU, {n} JPEGs, end to end (no .bin)",
            "baseline": f"staged preprocess+info+infer: {c['median']['staged']:.1f} s",
            "bundle": f"{c['median']['streamed']:.1f} s",
            "ratio": f"{c['streamed_over_staged']:.2f}×",
            "goal": "≤ 1.05×",
            "met": mark[c["streamed_over_staged"] <= 1.05],
            "exact": f"{mark[c['outputs_identical']]} outputs",
        },
        {
            "what": "the same streamed run against its CPU seconds / cores",
            "baseline": f"{statistics.median(c['cpu_seconds_streamed']) / data['cores']:.1f} s",
            "bundle": f"{c['median']['streamed']:.1f} s",
            "ratio": f"{c['streamed_over_cpu_per_core']:.2f}×",
            "goal": "≤ 1.1×",
            "met": mark[c["streamed_over_cpu_per_core"] <= 1.1],
            "exact": "",
        },
        {
            "what": f"streamed, a device at the published {DEVICE} time (IRv2 bs {DEVICE_BS}), {d['bound']}",
            "baseline": f"max(decode {d['median']['decode']:.1f} s, device {d['median']['device']:.1f} s)",
            "bundle": f"{d['median']['streamed']:.1f} s",
            "ratio": f"{d['streamed_over_slowest_stage']:.2f}×",
            "goal": "≤ 1.1×",
            "met": mark[d["streamed_over_slowest_stage"] <= 1.1],
            "exact": f"{mark[d['outputs_identical']]} outputs",
        },
        {
            "what": f"the same against staged ({DEVICE} time)",
            "baseline": f"staged: {d['median']['staged']:.1f} s",
            "bundle": f"{d['median']['streamed']:.1f} s",
            "ratio": f"{d['streamed_over_staged']:.2f}×",
            "goal": "≤ 0.7× when the stages are comparable",
            "met": mark[d["streamed_over_staged"] <= 0.7] if d["median"]["device"] * 2 > d["median"]["decode"] else "—",
            "exact": "",
        },
    ]


def markdown(data: dict) -> str:
    c, d = data["cpu"], data["device"]
    head = ["setting", "staged s", "streamed s", "decode alone s", "session/device alone s", "writer s", "bound"]
    rows = [
        [
            c["model"] + f", {c['workers']} decode workers",
            *(f"{c['median'][k]:.2f}" for k in ("staged", "streamed", "decode", "session", "writer")),
            "CPU (both stages share the cores)",
        ],
        [
            d["model"] + f", {d['workers']} decode workers",
            *(f"{d['median'][k]:.2f}" for k in ("staged", "streamed", "decode", "device")),
            "—",
            d["bound"],
        ],
    ]
    return (
        f"### Streaming (STREAM=1) vs staged, {data['images']} JPEGs "
        f"(median of {data['rounds']} interleaved rounds)\n\n"
        + table(head, rows)
        + f"\n\nStreamed CPU seconds / cores: {statistics.median(c['cpu_seconds_streamed']) / data['cores']:.2f} s "
        f"(the streamed run's CPU seconds {c['cpu_streamed_over_staged']:.2f}× the staged run's; on a host shared with "
        "other work the wall clock exceeds CPU seconds / cores by the others' share); "
        f"outputs identical: CPU {c['outputs_identical']}, device {d['outputs_identical']}."
    )
