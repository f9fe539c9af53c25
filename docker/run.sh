#!/usr/bin/env bash
# Run a command in the bundle's container:  docker/run.sh make infer MODEL=sk-resnet50
#   KIND=ascend|cpu (default ascend)   IMAGE (default modelzoo-bundle:$KIND)
#   DEVICE=0,1   NPUs to map (/dev/davinci<N>; ascend only)   GPUS=all  (cpu kind on a CUDA host)
#   DATASET=/path  mounted read-only at the same path   WORK=/path  mounted read-write at the same path
#   CMD='...'  the command as one string, when no arguments are given
#   DRY_RUN=1  print the docker argv, one argument a line, instead of running it
# The repository is mounted at /bundle; the command runs as `bash -lc "<command>"` with common/env.sh sourced.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kind="${KIND:-ascend}"
image="${IMAGE:-modelzoo-bundle:${kind}}"
device="${DEVICE:-0}"
if [ "$#" -gt 0 ]; then
    cmd="$(printf '%q ' "$@")"
elif [ -n "${CMD:-}" ]; then
    cmd="${CMD}"
else
    echo "usage: docker/run.sh <command> [args...]   (or CMD='...' docker/run.sh)" >&2
    exit 2
fi

argv=(run --rm -i -w /bundle -v "${repo}:/bundle")
[ -t 0 ] && [ -t 1 ] && argv+=(-t)
case "${kind}" in
    ascend)
        IFS=',' read -r -a ids <<< "${device}"
        for id in "${ids[@]}"; do
            [[ "${id}" =~ ^[0-9]+$ ]] || { echo "DEVICE=${device}: expected NPU ids like 0 or 0,1" >&2; exit 2; }
            argv+=(--device "/dev/davinci${id}")
        done
        argv+=(--device /dev/davinci_manager --device /dev/devmm_svm --device /dev/hisi_hdc
            -v /usr/local/dcmi:/usr/local/dcmi
            -v /usr/local/bin/npu-smi:/usr/local/bin/npu-smi
            -v /usr/local/Ascend/driver/lib64/:/usr/local/Ascend/driver/lib64/
            -v /usr/local/Ascend/driver/version.info:/usr/local/Ascend/driver/version.info
            -v /etc/ascend_install.info:/etc/ascend_install.info)
        cmd="source /bundle/common/env.sh && ${cmd}"
        ;;
    cpu)
        if [ -n "${GPUS:-}" ]; then argv+=(--gpus "${GPUS}"); fi
        ;;
    *) echo "KIND=${kind}: expected ascend or cpu" >&2; exit 2 ;;
esac
if [ -n "${DATASET:-}" ] && [ "${DATASET}" != sample ]; then
    dataset="$(cd "${DATASET}" && pwd)" || { echo "DATASET=${DATASET}: no such folder" >&2; exit 2; }
    argv+=(-v "${dataset}:${dataset}:ro" -e "DATASET=${dataset}")
    labels="${LABELS:-$(dirname "${dataset}")/val_label.txt}"
    if [ -f "${labels}" ]; then
        labels="$(realpath -- "${labels}")"
        argv+=(-v "${labels}:${labels}:ro" -e "LABELS=${labels}")
    fi
elif [ "${DATASET:-}" = sample ]; then
    argv+=(-e DATASET=sample)
fi
if [ -n "${WORK:-}" ]; then
    work="$(realpath -m -- "${WORK}")"
    if [ "${DRY_RUN:-0}" != 1 ]; then mkdir -p "${work}"; fi
    argv+=(-v "${work}:${work}" -e "WORK=${work}")
fi
for var in DEVICE BS SOC BACKEND OUTFMT ATC_EXTRA PROGRESS MODEL; do
    if [ -n "${!var:-}" ]; then argv+=(-e "${var}=${!var}"); fi
done
argv+=("${image}" bash -lc "${cmd}")

if [ "${DRY_RUN:-0}" = 1 ]; then
    printf '%s\n' docker "${argv[@]}"
else
    exec docker "${argv[@]}"
fi
