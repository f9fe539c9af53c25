#!/usr/bin/env bash
# Run a command in a bundle image (`make docker-run`); the bundle itself is in the image (/bundle).
#   docker/run.sh make MODEL=sk-resnet50 BS=16 all   the arguments, run as they are (no shell)
#   CMD='make all' docker/run.sh                      a shell command (bash -c) when no arguments are given
# Every step variable of common/settings.py (`python3 -m common.settings names`) that is set and not
# empty reaches the container as `-e NAME=value` (values are never expanded by a shell); the paths
# among them are mounted and passed as their container paths:
#   DATASET       folder, read-only  -> /data/val            (DATASET=sample is passed as is)
#   LABELS        file, read-only    -> /data/labels/<name>  (default: <DATASET>/../val_label.txt if present)
#   WEIGHTS       file, read-only    -> /data/weights/<name>
#   BENCHMARK_TOOL file, read-only   -> /data/tools/<name>   (a bare program name is passed as is)
#   WEIGHTS_DIR   folder, read-write -> /weights             (default: the host's cache,
#                                       ${XDG_CACHE_HOME:-~/.cache}/modelzoo-bundle/weights)
#   WORK, SAMPLE_DIR folders, read-write -> /work/<name>     (created when missing)
# Other settings:
#   KIND=ascend|cpu (default ascend)   IMAGE (default modelzoo-bundle:$KIND)   ENGINE=docker|podman
#   DEVICE=0,1   NPUs to map (/dev/davinci<N>; ascend only)   GPUS=all   (cpu kind on a CUDA host)
#   DOCKER_RUN_ARGS='--network none ...'   extra run flags, split on blanks (never run by a shell)
#   DRY_RUN=1   print the engine's argv, one argument a line, instead of running it (creates nothing)
# User: a non-root caller runs as itself (docker --user uid:gid, podman --userns=keep-id), so what the
# container writes belongs to the caller. A root caller gets the image's non-root user `bundle`
# (uid 1000; missing folders are created for it), or root when a read-write folder is not writable
# by uid 1000 (said on stderr). Ascend: /dev/davinci* belong to the host's HwHiAiUser group, whose
# gid is added (--group-add) when the host has that group.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=engine.sh
. "${repo}/docker/engine.sh"
die() {
    echo "$*" >&2
    exit 2
}

kind="${KIND:-ascend}"
case "${kind}" in ascend | cpu) ;; *) die "KIND=${kind}: expected ascend or cpu" ;; esac
image="${IMAGE:-modelzoo-bundle:${kind}}"
bundle_check_ref IMAGE "${image}" || exit 2
bundle_refuse_flags DOCKER_RUN_ARGS "${DOCKER_RUN_ARGS:-}" -v --volume --mount --volumes-from --privileged \
    --cap-add --security-opt --device --device-cgroup-rule --pid --ipc --userns --uts --cgroupns -e --env \
    --env-file --rm || exit 2
if [ "$#" -gt 0 ]; then
    cmd=("$@")
elif [ -n "${CMD:-}" ]; then
    cmd=(bash -c "${CMD}")
else
    die "usage: docker/run.sh <command> [args...]   (or CMD='...' docker/run.sh)"
fi
engine="$(bundle_engine run)" || exit 2
python="$(command -v python3 || true)"
[ -n "${python}" ] || die "docker/run.sh needs python3 (3.7+) on the host to read common/settings.py"
mapfile -t names < <(PYTHONPATH="${repo}" "${python}" -m common.settings names)
guide_dataset="$(PYTHONPATH="${repo}" "${python}" -m common.settings defaults | sed -n 's/^DATASET=//p')"
[ "${#names[@]}" -gt 0 ] || die "docker/run.sh: python3 -m common.settings names printed nothing"

argv=(run --rm -i --shm-size=2g)  # STREAM=1 keeps its ring of batches in /dev/shm (64 MB by default)
if [ -t 0 ] && [ -t 1 ]; then argv+=(-t); fi
rw_dirs=()   # host folders the container writes to
mounted=()   # container paths in use

host_path() {  # NAME VALUE: the absolute host path, refusing what -v cannot mount
    local p
    p="$(realpath -m -- "$2")"
    case "${p}" in *:* | *,* | *$'\n'*) die "$1=$2: a path with ':', ',' or a newline cannot be mounted" ;; esac
    printf '%s' "${p}"
}
add_mount() {  # NAME HOST CONTAINER MODE(ro|rw): -v and -e NAME=<container path>
    local c
    for c in "${mounted[@]}"; do
        [ "${c}" != "$3" ] || die "$1=$2: another variable is already mounted at $3 (give the folders different names)"
    done
    mounted+=("$3")
    if [ "$4" = ro ]; then argv+=(-v "$2:$3:ro"); else argv+=(-v "$2:$3"); rw_dirs+=("$2"); fi
    argv+=(-e "$1=$3")
}
file_var() {  # NAME CONTAINER_DIR
    local v="${!1:-}" p
    [ -n "${v}" ] || return 0
    if [ "$1" = BENCHMARK_TOOL ] && [ "${v}" = "${v##*/}" ] && [ ! -e "${v}" ]; then
        argv+=(-e "$1=${v}")  # a program name: looked up on the container's PATH
        return 0
    fi
    [ -f "${v}" ] || die "$1=${v}: no such file"
    p="$(host_path "$1" "${v}")"
    add_mount "$1" "${p}" "$2/$(basename -- "${p}")" ro
}
mount_ok() {  # NAME HOST_DIR: not /, HOME or its parents, nor a non-empty folder the bundle did not make
    PYTHONPATH="${repo}" "${python}" -m common.workdir mount "$1" "$2" || exit 2
}
dir_var() {  # NAME HOST_DIR: read-write at /work/<name>
    local p
    p="$(host_path "$1" "$2")"
    [ ! -e "${p}" ] || [ -d "${p}" ] || die "$1=$2: not a folder"
    mount_ok "$1" "${p}"
    add_mount "$1" "${p}" "/work/$(basename -- "${p}")" rw
}

# ---- the settings: paths mounted, everything else passed as it is
for var in "${names[@]}"; do
    case "${var}" in DATASET | LABELS | WEIGHTS | WEIGHTS_DIR | WORK | SAMPLE_DIR | BENCHMARK_TOOL) continue ;; esac
    if [ -n "${!var:-}" ]; then argv+=(-e "${var}=${!var}"); fi
done
dataset="${DATASET:-}"
labels="${LABELS:-}"
if [ "${dataset}" = sample ]; then
    argv+=(-e DATASET=sample)
elif [ -n "${dataset}" ]; then
    if [ -d "${dataset}" ]; then
        host="$(host_path DATASET "${dataset}")"
        add_mount DATASET "${host}" /data/val ro
        if [ -z "${labels}" ] && [ -f "$(dirname -- "${host}")/val_label.txt" ]; then
            labels="$(dirname -- "${host}")/val_label.txt"
        fi
    elif [ "${dataset}" != "${guide_dataset}" ]; then
        die "DATASET=${dataset}: no such folder"
    fi  # the guide's default path, absent here: the bundle in the container says so (and of DATASET=sample)
fi
LABELS="${labels}"
file_var LABELS /data/labels
file_var WEIGHTS /data/weights
file_var BENCHMARK_TOOL /data/tools
home="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache="${WEIGHTS_DIR:-${XDG_CACHE_HOME:-${home}/.cache}/modelzoo-bundle/weights}"
cache="$(host_path WEIGHTS_DIR "${cache}")"
[ ! -e "${cache}" ] || [ -d "${cache}" ] || die "WEIGHTS_DIR=${cache}: not a folder"
mount_ok WEIGHTS_DIR "${cache}"
add_mount WEIGHTS_DIR "${cache}" /weights rw
if [ -n "${WORK:-}" ]; then dir_var WORK "${WORK}"; fi
if [ -n "${SAMPLE_DIR:-}" ]; then dir_var SAMPLE_DIR "${SAMPLE_DIR}"; fi

# ---- devices
case "${kind}" in
    ascend)
        IFS=',' read -r -a ids <<<"${DEVICE:-0}"
        for id in "${ids[@]}"; do
            [[ "${id}" =~ ^[0-9]+$ ]] || die "DEVICE=${DEVICE:-}: expected NPU ids like 0 or 0,1"
            argv+=(--device "/dev/davinci${id}")
        done
        argv+=(--device /dev/davinci_manager --device /dev/devmm_svm --device /dev/hisi_hdc
            -v /usr/local/dcmi:/usr/local/dcmi
            -v /usr/local/bin/npu-smi:/usr/local/bin/npu-smi
            -v /usr/local/Ascend/driver/lib64/:/usr/local/Ascend/driver/lib64/
            -v /usr/local/Ascend/driver/version.info:/usr/local/Ascend/driver/version.info
            -v /etc/ascend_install.info:/etc/ascend_install.info)
        if hw="$(getent group HwHiAiUser)"; then
            argv+=(--group-add "$(cut -d: -f3 <<<"${hw}")")
        else
            echo "note: no HwHiAiUser group on this host: the container's user may not open /dev/davinci*" \
                "(install the NPU driver, or DOCKER_RUN_ARGS='--user 0')" >&2
        fi
        ;;
    cpu)
        if [ -n "${GPUS:-}" ]; then argv+=("--gpus=${GPUS}"); fi  # one word: the value is never an option
        ;;
esac

# ---- user
if [ "$(id -u)" != 0 ]; then
    if [ "${engine}" = podman ]; then
        argv+=(--userns=keep-id --user "$(id -u):$(id -g)")
    elif [ "${DRY_RUN:-0}" != 1 ] && docker info --format '{{.SecurityOptions}}' 2>/dev/null | grep -q rootless; then
        argv+=(--user 0:0)  # rootless docker: the container's root is the caller
    else
        argv+=(--user "$(id -u):$(id -g)")
    fi
    argv+=(-e HOME=/tmp)
else
    as_root=()
    for d in "${rw_dirs[@]}"; do
        if [ ! -e "${d}" ]; then
            if [ "${DRY_RUN:-0}" != 1 ]; then mkdir -p -- "${d}" && chown 1000:1000 -- "${d}"; fi
        elif ! { [ "$(stat -c %u -- "${d}")" = 1000 ] || [ -n "$(find "${d}" -maxdepth 0 -perm -o+w)" ]; }; then
            as_root+=("${d}")
        fi
    done
    if [ "${#as_root[@]}" -gt 0 ]; then
        echo "note: running as root in the container: not writable by its user bundle (uid 1000): ${as_root[*]}" \
            "(chown -R 1000:1000 them to run as bundle)" >&2
        argv+=(--user 0:0)
    fi
fi
bundle_add_words argv "${DOCKER_RUN_ARGS:-}"
argv+=("${image}" "${cmd[@]}")

bundle_exec "${engine}" "${argv[@]}"
