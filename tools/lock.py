"""``make lock``: the whole closure of the bundle's dependencies, pinned with hashes, in requirements/.

Inputs: pyproject.toml's ranges (the extras) under the tested top-level pins of requirements.txt,
requirements-demo.txt, requirements-dev.txt and, for the travelled folder's light steps,
requirements-light.txt (plus tomli). Resolved by uv (``uv pip compile --generate-hashes``, pinned in the
dev extra) into:

- ``requirements/full-py3.11.txt``: every step (the release images);
- ``requirements/gpu-py3.11.txt``: the same with onnxruntime-gpu (``make image DOCKER_ARGS=--build-arg ORT_GPU=1``);
- ``requirements/demo-py3.11.txt``: full + demo + pip (``pip install '<clone>[demo]'``, locked);
- ``requirements/dev-py3.11.txt``: full + demo + dev + pip (``make venv``, the test images, CI);
- ``requirements/light-py3.X.txt`` for X = 7..13: numpy, Pillow, tomli (``make compat-envs``, a travelled folder).

torch is the CPU build (``torch==2.13.0+cpu``). Where pip has a find-links folder (``pip config list``;
on the bundle's build machine the wheel lies there) uv reads it too; elsewhere it asks the PyTorch CPU
index. The lock holds the hash of that wheel, the same file either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "requirements"
FULL = "3.11"
LIGHT = ("3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PINS = ("requirements.txt", "requirements-demo.txt", "requirements-dev.txt")


def torch_source() -> list[str]:
    """uv flags that find the CPU torch wheel: pip's find-links when it has some, else the CPU index."""
    try:
        links = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.find-links"], capture_output=True, text=True
        ).stdout.split()
    except OSError:
        links = []
    links = [x for x in links if os.path.isdir(x)]
    if links:
        return [f for x in links for f in ("--find-links", x)]
    return ["--extra-index-url", TORCH_CPU_INDEX, "--index-strategy", "unsafe-best-match"]


def compile_(out: Path, inputs: list[str], python: str, extra: list[str]) -> None:
    uv = Path(sys.executable).with_name("uv")
    cmd = [str(uv if uv.exists() else "uv"), "pip", "compile", "--quiet", "--generate-hashes"]
    cmd += ["--python-version", python, "--python-platform", "x86_64-manylinux_2_28", "--no-python-downloads"]
    cmd += ["--custom-compile-command", "make lock", "-o", str(out), *inputs, *extra]
    print(f"lock: {out.relative_to(ROOT)}", flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    pins = [f for p in PINS for f in ("-c", p)]
    # two derived inputs, under fixed names (the locks' "via" lines name them), removed afterwards
    pip = OUT / ".pip.in"  # the venv's own installer is pinned too (make venv installs it first)
    gpu_pins = OUT / ".gpu-pins.txt"  # onnxruntime-gpu at onnxruntime's tested version
    text = (ROOT / "requirements.txt").read_text()
    try:
        pip.write_text("pip\n")
        gpu_pins.write_text("".join(x.replace("onnxruntime==", "onnxruntime-gpu==") + "\n" for x in text.splitlines()))
        src = torch_source()
        pip_in, gpu_in = str(pip.relative_to(ROOT)), str(gpu_pins.relative_to(ROOT))
        compile_(OUT / f"full-py{FULL}.txt", ["pyproject.toml", "--extra", "full"], FULL, pins + src)
        compile_(OUT / f"gpu-py{FULL}.txt", ["pyproject.toml", "--extra", "gpu"], FULL, ["-c", gpu_in] + src)
        demo = ["pyproject.toml", pip_in, "--extra", "full", "--extra", "demo"]
        compile_(OUT / f"demo-py{FULL}.txt", demo, FULL, pins + src)
        compile_(OUT / f"dev-py{FULL}.txt", [*demo, "--extra", "dev"], FULL, pins + src)
        for v in LIGHT:
            compile_(OUT / f"light-py{v}.txt", ["requirements-light.txt"], v, ["--only-binary", ":all:"])
    finally:
        pip.unlink(missing_ok=True)
        gpu_pins.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
