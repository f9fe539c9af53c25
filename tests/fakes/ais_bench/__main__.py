"""`python3 -m ais_bench` stand-in: the documented flags, output layout, summary JSON and console lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ais_bench import _fakeom
from ais_bench.infer.interface import InferSession


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ais_bench", allow_abbrev=False)
    p.add_argument("--model", required=True)
    p.add_argument("--input")
    p.add_argument("--output")
    p.add_argument("--output_dirname")
    p.add_argument("--outfmt", default="BIN", choices=["NPY", "BIN", "TXT"])
    p.add_argument("--loop", type=int, default=1)
    p.add_argument("--batchsize", type=int)
    p.add_argument("--device", default="0")
    p.add_argument("--dymBatch", type=int, default=0)
    p.add_argument("--warmup_count", type=int, default=1)
    a = p.parse_args(argv)
    if not a.device.isdigit():
        p.error(f"--device {a.device}: the stand-in runs one device per call")
    if a.output_dirname and not a.output:
        p.error("--output_dirname needs --output")
    if a.loop < 1 or a.warmup_count < 0:
        p.error("--loop must be >= 1 and --warmup_count >= 0")
    return a


def input_files(spec: str) -> list[Path]:
    files = []
    for part in spec.split(","):
        path = Path(part)
        if path.is_dir():
            files += sorted((f for f in path.iterdir() if f.is_file()), key=lambda f: _fakeom.natural_key(f.name))
        elif path.is_file():
            files.append(path)
        else:
            sys.exit(f"[ERROR] input path {part} does not exist")
    return files


def batches(files: list[Path], shape: list[int]) -> tuple[int, list[tuple[list[Path], np.ndarray]]]:
    """Group files into batches: one file a batch when it fills the tensor, else concatenated.

    With one file per batch its output file holds the whole batch; else one output file a sample.
    """
    want = int(np.prod(shape)) * 4
    out = []
    size = files[0].stat().st_size if files else 0
    if size == 0 or want % size:
        sys.exit(f"[ERROR] file size {size} does not divide the model input size {want}")
    per = want // size
    for i in range(0, len(files), per):
        group = files[i : i + per]
        data = b"".join(f.read_bytes() for f in group)
        if any(f.stat().st_size != size for f in group):
            sys.exit("[ERROR] input files differ in size")
        x = np.frombuffer(data, dtype=np.float32)
        x = np.concatenate([x, np.zeros(want // 4 - x.size, np.float32)])  # padding: no files written
        out.append((group, x.reshape(shape)))
    return per, out


def main(argv: list[str]) -> int:
    a = parse(argv)
    _fakeom.log_call("ais_bench", argv=argv, pid=os.getpid())
    try:
        session = InferSession(int(a.device), a.model)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    shape = session.get_inputs()[0].shape
    mode = "static"
    if shape[0] == -1:
        if not a.dymBatch:
            print("[ERROR] the model has a dynamic batch: give --dymBatch", file=sys.stderr)
            return 1
        shape, mode = [a.dymBatch, *shape[1:]], "dymbatch"
    elif a.dymBatch:
        print("[ERROR] --dymBatch given but the model is not dynamic-batch", file=sys.stderr)
        return 1
    bs = shape[0]
    if a.batchsize is not None and a.batchsize != bs:
        print(f"[ERROR] --batchsize {a.batchsize} but the model batch is {bs} (stand-in check)", file=sys.stderr)
        return 1
    if a.input:
        per, work = batches(input_files(a.input), shape)
    else:  # pure inference on zeros
        per, work = 1, [([Path("pure_infer_data")], np.zeros(shape, np.float32))]
    out_dir = None
    if a.output:
        dirname = a.output_dirname or time.strftime("%Y_%m_%d-%H_%M_%S")
        out_dir = os.path.join(a.output, dirname)
        os.makedirs(out_dir, exist_ok=True)
    for _ in range(a.warmup_count):
        session.infer([work[0][1]], mode)
    session.reset_summaryinfo()
    filesinfo = {}
    try:
        for n, (group, x) in enumerate(work):
            for _ in range(a.loop):
                outs = session.infer([x], mode)
            names = []
            whole = per == 1  # one file held the whole batch
            for i, f in enumerate(group if out_dir else []):
                for k, out in enumerate(outs):
                    name = os.path.join(out_dir, f"{f.stem}_{k}.{a.outfmt.lower()}")
                    _fakeom.save(name, out if whole else out[i], a.outfmt)
                    names.append(name)
            filesinfo[n] = {"infiles": [str(f) for f in group], "outfiles": names}
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    times = [end - start for start, end in session.summary().exec_time_list]
    st = _fakeom.stats(times)
    throughput = 1000.0 * bs / st["mean"] if st["mean"] else 0.0
    print("[INFO] -----------------Performance Summary------------------")
    print(
        "[INFO] NPU_compute_time (ms): "
        + ", ".join(f"{k} = {st[k]}" for k in ("min", "max", "mean", "median", "percentile(99%)"))
    )
    print(f"[INFO] throughput 1000*batchsize.mean({bs})/NPU_compute_time.mean({st['mean']}): {throughput}")
    print("[INFO] ------------------------------------------------------")
    if out_dir is not None:
        summary = {
            "filesinfo": filesinfo,
            "args": vars(a),
            "NPU_compute_time": st,
            "H2D_latency": _fakeom.stats([]),
            "D2H_latency": _fakeom.stats([]),
            "throughput": throughput,
            "npu_compute_time_list": times,
            "pid": os.getpid(),
        }
        with open(out_dir + "_summary.json", "w", encoding="utf-8") as f:
            json.dump(summary, f)
    session.finalize()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
