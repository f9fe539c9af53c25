#!/usr/bin/env bash
# The GPU measurements of issue 17, in one call (< 8 minutes on a lent GPU host):
#   1. install what it needs from the wheels carried in $WHEELS (default .whl/: onnxruntime-gpu, tensorrt,
#      their CUDA libraries) into a venv of its own ($GPU_VENV, default work/gpu-venv), no index;
#   2. $IMAGES (default 2000) synthetic ImageNet-size JPEGs and the guides' val_label.txt;
#   3. streamed (STREAM=1, every core decoding) vs staged on ONNX Runtime CUDA: bench/scale.py, EfficientNet-
#      Lite0 bs 64: wall, peak RSS, bytes written, result.json equal;
#   4. the README's TensorRT table: `make perf PROVIDER=tensorrt` (its Python step) for the four guide models (synthesised
#      checkpoints), which records the fp16 top-1 agreement with fp32 beside each table.
# Results under $OUT (default work/gpu). DRY_RUN=1 prints every command, one a line, and runs nothing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
out="${OUT:-work/gpu}"
wheels="${WHEELS:-.whl}"
venv="${GPU_VENV:-work/gpu-venv}"
images="${IMAGES:-2000}"
models=(inceptionresnetv2 efficientnet-b3 moco-v2 sk-resnet50)
py="${venv}/bin/python"

run() {  # a command, printed shell-quoted (DRY_RUN=1) or run
    if [ "${DRY_RUN:-0}" = 1 ]; then
        printf '%q ' "$@"
        printf '\n'
    else
        "$@"
    fi
}

case "${images}" in '' | *[!0-9]*) echo "IMAGES=${images}: expected a whole number" >&2; exit 2 ;; esac
if [ "${DRY_RUN:-0}" != 1 ]; then
    [ -d "${wheels}" ] || { echo "WHEELS=${wheels}: no folder of wheels (onnxruntime-gpu, tensorrt) to install" >&2; exit 2; }
    mkdir -p "${out}"
fi
run python3 -m venv --system-site-packages "${venv}"
run "${py}" -m pip install --no-index --find-links "${wheels}" -r requirements.txt onnxruntime-gpu tensorrt
run env PYTHONPATH="${repo}" "${py}" -m bench.imagenet_like "${out}/val" "${images}"
run env PYTHONPATH="${repo}" LABELS="${out}/val_label.txt" DATASET="${out}/val" "${py}" -m common labels
run env PYTHONPATH="${repo}" PROVIDER=cuda WORKERS="$(nproc)" "${py}" -m bench.scale --images "${out}/val" \
    --labels "${out}/val_label.txt" --work "${out}/scale" --model efficientnet-lite0 --bs 64 --backend onnx \
    --out "${out}/scale.json"
for m in "${models[@]}"; do
    run env PYTHONPATH="${repo}" "${py}" -c "from tests.synth_checkpoint import make; from common import manifest; \
make('${m}', '${out}/ckpt/${m}/' + manifest.load('${m}').weights.file)"
    run env PYTHONPATH="${repo}" MODEL="${m}" BACKEND=onnx PROVIDER=tensorrt DATASET=sample VERIFY=0 \
        WEIGHTS_DIR="${out}/ckpt/${m}" WORK="${out}/trt/${m}" PERF_BS="1 4 8 16 32 64" "${py}" -m common perf
done
