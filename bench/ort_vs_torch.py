"""Benchmark 2: ONNX Runtime (CPU) vs PyTorch throughput for the four guide models, random weights.

Each model is built with seeded random weights (batch-norm statistics then set from one train-mode
pass over the photos, so activations keep a realistic scale and the output depends on the input),
exported with ``common.export.convert`` (checker, onnx-simplifier, parity against PyTorch on the
scikit-image photos), and both runtimes are timed with ``common.perf.measure`` on the same random
batch, interleaved: PyTorch, ORT, PyTorch, ORT.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench import report
from bench.report import table

THREADS = 2
SEED = 0


def _stamp(model_dir: Path) -> str:
    import torch

    h = hashlib.sha256((model_dir / "model.py").read_bytes())
    h.update(f"seed={SEED} torch={torch.__version__} bn-calibrated=1".encode())
    return h.hexdigest()


def _photos(m) -> dict[str, np.ndarray]:
    """The scikit-image photos ``make onnx`` checks parity on, preprocessed for ``m``."""
    from common.sample import parity_images

    return parity_images(m.preprocess)


def _calibrate_bn(net, photos: dict[str, np.ndarray]) -> None:
    """Running mean/var of every batch norm := the statistics of one batch of photos.

    PyTorch's default init (running mean 0, var 1) lets activations shrink layer by layer, until
    EfficientNet-B3's output no longer depends on its input and the export's parity check is empty.
    """
    import torch

    for mod in net.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.reset_running_stats()
            mod.momentum = None  # cumulative average: after one batch, exactly its statistics
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(np.stack([photos[k] for k in sorted(photos)])))
    net.eval()


def _onnx(net, m, bs: int, out_dir: Path, photos: dict[str, np.ndarray]) -> tuple[Path, dict, float]:
    """Export (or reuse a cached export of the same model.py and seed); return path, parity, seconds."""
    from common import export

    out = out_dir / m.onnx_name(bs)
    record = out.with_suffix(".parity.json")
    stamp = _stamp(m.model_dir)
    if out.is_file() and record.is_file():
        rec = json.loads(record.read_text())
        if rec.get("bench_stamp") == stamp:
            return out, rec, 0.0
    t0 = time.perf_counter()
    result = export.convert(net, m, out, bs if m.static_batch else 1, photos)
    seconds = time.perf_counter() - t0
    rec = {**asdict(result), "bench_stamp": stamp}
    record.write_text(json.dumps(rec, indent=1) + "\n")
    return out, rec, seconds


def run(quick: bool = False, models: list[str] | None = None) -> dict:
    import torch

    from common import architecture, manifest
    from common.backends.onnxruntime import OrtSession
    from common.perf import measure

    models = models or manifest.guide_models()
    torch.set_num_threads(THREADS)
    batch_sizes = (1,) if quick else (1, 16)
    rounds = 2
    kw = {"warmup": 1, "min_runs": 3, "min_seconds": 0.5} if quick else {"warmup": 2, "min_runs": 5, "min_seconds": 2.0}
    out_dir = report.RESULTS / "onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for name in models:
        m = manifest.load(name)
        torch.manual_seed(SEED)
        net = architecture.build(m.model_dir)
        photos = _photos(m)
        _calibrate_bn(net, photos)
        for bs in batch_sizes:
            path, parity, export_s = _onnx(net, m, bs, out_dir, photos)
            ort = OrtSession(path, provider="cpu", threads=THREADS)  # this benchmark compares CPU runtimes
            x = np.random.default_rng(bs).standard_normal((bs, *m.input_shape), dtype=np.float32)

            def torch_run(a, net=net):
                with torch.inference_mode():
                    return net(torch.from_numpy(a))

            times: dict[str, list[float]] = {"pytorch": [], "ort": []}
            per_round = []
            for _ in range(rounds):
                med = {}
                for side, fn in (("pytorch", torch_run), ("ort", ort.run)):
                    t = measure(fn, x, **kw)
                    times[side] += t
                    med[side] = statistics.median(t)
                per_round.append(med["pytorch"] / med["ort"])
            sps = {side: bs * 1000.0 / statistics.median(t) for side, t in times.items()}
            results.append(
                {
                    "model": name,
                    "bs": bs,
                    "onnx": str(path),
                    "export_seconds": round(export_s, 1),
                    "parity_max_abs_diff": parity["max_abs_diff"],
                    "simplify_note": parity["simplify_note"],
                    "ort": ort.describe(),
                    "pytorch_samples_per_s": sps["pytorch"],
                    "ort_samples_per_s": sps["ort"],
                    "ratio": sps["ort"] / sps["pytorch"],
                    "ratio_per_round": per_round,
                    "runs": {side: len(t) for side, t in times.items()},
                    "latencies_ms": times,
                }
            )
            ort.close()
            print(
                f"  {name} bs{bs}: PyTorch {sps['pytorch']:.1f}/s, ORT {sps['ort']:.1f}/s "
                f"({sps['ort'] / sps['pytorch']:.2f}×)",
                flush=True,
            )
        del net
    return {
        "benchmark": "ort-vs-torch",
        "threads": THREADS,
        "torch": torch.__version__,
        "measure": kw,
        "rounds": rounds,
        "results": results,
    }


def markdown(data: dict) -> str:
    rows = [
        [
            r["model"],
            r["bs"],
            f"{r['pytorch_samples_per_s']:.2f}",
            f"{r['ort_samples_per_s']:.2f}",
            f"{r['ratio']:.2f}×",
            f"{min(r['ratio_per_round']):.2f}–{max(r['ratio_per_round']):.2f}",
            f"{r['runs']['pytorch']}/{r['runs']['ort']}",
            f"{r['parity_max_abs_diff']:.2g}",
        ]
        for r in data["results"]
    ]
    head = [
        "model",
        "bs",
        "PyTorch samples/s",
        "ORT samples/s",
        "ORT/PyTorch",
        "per-round ratio",
        "runs (pt/ort)",
        "export parity max abs diff",
    ]
    ort = data["results"][0]["ort"] if data["results"] else ""
    return (
        f"### ONNX Runtime vs PyTorch, CPU, {data['threads']} threads each "
        f"(median latency over {data['rounds']} interleaved rounds; random weights and inputs)\n\n"
        + table(head, rows)
        + f"\n\nPyTorch {data['torch']} (inference_mode) vs {ort}; "
        f"measure: {', '.join(f'{k}={v}' for k, v in data['measure'].items())}."
    )
