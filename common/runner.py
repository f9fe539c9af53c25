"""Walk an info file in batches of BS through any backend and write per-sample outputs plus an
ais_bench-style summary JSON. Backend-blind: the same files whichever backend ran."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from common import atomic, outputs
from common.errors import BundleError
from common.progress import bar


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


def read_batch(paths: list[Path], shape: tuple[int, ...]) -> np.ndarray:
    """Read .bin files into one float32 batch; a file of the wrong size is named in the error."""
    want = int(np.prod(shape))
    out = np.empty((len(paths), *shape), dtype=np.float32)
    for i, p in enumerate(paths):
        try:
            data = np.fromfile(p, dtype=np.float32)
        except OSError as exc:
            raise BundleError(f"{p}: cannot read the input file ({exc.strerror})") from None
        if data.size != want:
            raise BundleError(
                f"{p}: {data.size * 4} bytes, expected {want * 4} (float32 {list(shape)}); "
                "was it preprocessed for another model?"
            )
        out[i] = data.reshape(shape)
    return out


def _prefetch(batches: list[list[Path]], shape: tuple[int, ...], depth: int = 2) -> Iterator:
    """Read the next batches in a thread while the current one runs."""
    q: queue.Queue = queue.Queue(maxsize=depth)

    def work():
        try:
            for b in batches:
                q.put((b, read_batch(b, shape)))
        except BundleError as exc:
            q.put(exc)
        q.put(None)

    threading.Thread(target=work, daemon=True).start()
    while (item := q.get()) is not None:
        if isinstance(item, BundleError):
            raise item
        yield item


def infer(
    backend,
    inputs: list[Path],
    bs: int,
    out_dir: Path,
    input_shape: tuple[int, ...],
    outfmt: str = "TXT",
    progress: bool = True,
    args: dict | None = None,
) -> dict:
    """Run ``inputs`` (.bin files) through ``backend`` in batches of ``bs`` into ``out_dir``.

    Samples whose outputs already exist are skipped (resume). A static-batch backend gets its last
    batch zero-padded; the padding writes no files. Returns the summary (also written as
    ``<out_dir>_summary.json``, where ais_bench writes it).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    if backend.batch is not None and backend.batch != bs:
        raise BundleError(f"the model has a fixed batch of {backend.batch} but BS={bs}")
    done = set(outputs.scan(out_dir))
    todo = [p for p in inputs if p.stem not in done]
    batches = [todo[i : i + bs] for i in range(0, len(todo), bs)]
    times: list[float] = []
    filesinfo: dict = {}
    pending = []
    with (
        ThreadPoolExecutor(max_workers=2) as writer,
        bar(total=len(inputs), initial=len(inputs) - len(todo), desc="infer", unit="img", enable=progress) as pb,
    ):
        for n, (paths, x) in enumerate(_prefetch(batches, input_shape)):
            real = len(paths)
            if real < bs and backend.batch is not None:
                x = np.concatenate([x, np.zeros((bs - real, *input_shape), np.float32)])
            t0 = time.perf_counter()
            outs = backend.run(x)
            times.append((time.perf_counter() - t0) * 1000)
            names = []
            for i, p in enumerate(paths):
                for k, out in enumerate(outs):
                    target = out_dir / outputs.name(p.stem, k, outfmt)
                    names.append(str(target))
                    pending.append(writer.submit(outputs.write, target, out[i], outfmt))
            filesinfo[n] = {"infiles": [str(p) for p in paths], "outfiles": names}
            pending = [f for f in pending if not f.done() or f.result()]
            pb.update(real)
        for f in pending:
            f.result()
    own = getattr(backend, "own_timings", lambda: None)()
    compute = own if own else times
    mean = stats(compute)["mean"]
    host_mean = stats(times)["mean"]
    summary = {
        "filesinfo": filesinfo,
        "args": {"batchsize": bs, "outfmt": outfmt, "backend": backend.describe(), **(args or {})},
        "NPU_compute_time": stats(compute),
        "H2D_latency": stats([]),
        "D2H_latency": stats([]),
        "throughput": 1000.0 * bs / mean if mean else 0.0,
        "npu_compute_time_list": compute,
        "pid": os.getpid(),
        "samples": len(inputs),
        "skipped": len(inputs) - len(todo),
        "timing_source": "ais_bench" if own else "host (perf_counter around run)",
        # the host's own clock around each run, kept beside a tool's compute-time figure
        "host_throughput": 1000.0 * bs / host_mean if host_mean else 0.0,
    }
    atomic.write_text(out_dir.parent / f"{out_dir.name}_summary.json", json.dumps(summary))
    return summary
