"""The guides' postprocess (ModelZoo vision_metric_ImageNet.py / imagenet_acc_eval.py) written plainly: the
yardstick ``make bench`` times the bundle's postprocess against, and checks its result.json with.

For each output file: the first line, ``strip().split(" ")``, ``np.float32`` per value into a zero
vector; ``np.argsort(-prediction)``; the first hit among the top 5; cumulative top-k; result.json as
``str(round(acc * 100, 2)) + '%'``; 1001-wide outputs shift the label by one. ``--fmt bin`` reads each
file with ``np.fromfile`` instead (the same algorithm on BIN outputs, for a like-for-like BIN figure).

Run it as a process of its own (``python -m bench.baseline_postprocess``): the guides ran numpy 1.x,
whose argsort orders exact ties with a scalar introsort; numpy 2 on AVX2/AVX-512 CPUs orders them
differently, so the benchmark starts it with ``NPY_DISABLE_CPU_FEATURES`` set (``ties_env``) to get the
guides' order. It prints {"seconds": ..., "result": ..., "files": ...} as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time


def labels_of(path: str) -> dict:
    d = {}
    with open(path) as f:
        for line in f.readlines():
            t = line.strip().split(" ")
            d[t[0].split(".")[0]] = t[1]
    return d


def load_txt(path: str):
    import numpy as np

    with open(path) as f:
        data = f.readline()
        temp = data.strip().split(" ")
        n_label = len(temp)
        if data == "":
            n_label = 0
        data_vec = np.zeros(n_label, dtype=np.float32)
        for ind, prob in enumerate(temp if n_label else []):
            data_vec[ind] = np.float32(prob)
    return data_vec, n_label


def load_bin(path: str):
    import numpy as np

    data_vec = np.fromfile(path, dtype=np.float32)
    return data_vec, data_vec.size


def evaluate(result_dir: str, label_file: str, fmt: str = "txt", topn: int = 5) -> tuple[dict, int]:
    import numpy as np

    load = load_bin if fmt == "bin" else load_txt
    gt = labels_of(label_file)
    count, n_labels, hits, res_cnt = 0, 0, np.zeros(topn), 0
    for name in os.listdir(result_dir):
        if name.endswith(".json") or name.startswith("."):
            continue
        count += 1
        temp = name.split(".")[0]
        stem = temp[: temp.rfind("_")]
        prediction, n_labels = load(os.path.join(result_dir, name))
        sort_index = np.argsort(-prediction)
        real = int(gt[stem]) + (1 if n_labels == 1001 else 0)
        res_cnt = min(len(sort_index), topn)
        for i in range(res_cnt):
            if str(real) == str(sort_index[i]):
                hits[i] += 1
                break
    accuracy = np.cumsum(hits) / count if count else np.zeros(topn)
    value = [
        {"key": "Number of images", "value": str(count)},
        {"key": "Number of classes", "value": str(n_labels)},
    ]
    value += [{"key": f"Top{i + 1} accuracy", "value": str(round(accuracy[i] * 100, 2)) + "%"} for i in range(res_cnt)]
    return {"title": "Overall statistical evaluation", "value": value}, count


TIE_PROBE = (
    "import numpy as np\n"
    "from common.ranking import introsort_argsort\n"
    "rng = np.random.default_rng(0)\n"
    "ok = 0\n"
    "for i in range(40):\n"
    "    r = rng.standard_normal(1000).astype(np.float16).astype(np.float32)\n"
    "    r[rng.choice(1000, 6, replace=False)] = np.float32(9.5)\n"
    "    ok += np.argsort(-r).tolist() == introsort_argsort(-r)\n"
    "print(ok == 40)\n"
)
CANDIDATES = ("", "X86_V3 X86_V4", "AVX2 AVX512F AVX512_SKX")


def ties_env(python: str = sys.executable, cwd: str | None = None) -> dict[str, str] | None:
    """The environment under which this machine's numpy argsort orders ties as numpy 1.x did (None: none
    of the candidates does)."""
    import subprocess

    for value in CANDIDATES:
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": value}
        proc = subprocess.run([python, "-c", TIE_PROBE], env=env, cwd=cwd, capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip().endswith("True"):
            return {"NPY_DISABLE_CPU_FEATURES": value}
    return None


def main(argv: list[str]) -> int:
    fmt = "txt"
    if argv[:1] == ["--fmt"]:
        fmt, argv = argv[1], argv[2:]
    t0 = time.perf_counter()
    result, files = evaluate(argv[0], argv[1], fmt)
    print(json.dumps({"seconds": time.perf_counter() - t0, "result": result, "files": files}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
