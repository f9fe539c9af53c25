# shellcheck shell=bash
# Which container engine to use (sourced by build.sh, run.sh and image-test.sh).
# ENGINE=docker|podman|buildah overrides; otherwise docker when its engine answers (`docker info`:
# a docker client with no daemon does not count), else podman, else buildah (builds only).
bundle_engine() {  # $1: build | run
    local use="$1"
    if [ -n "${ENGINE:-}" ]; then
        case "${ENGINE}" in
            docker | podman) ;;
            buildah) if [ "${use}" != build ]; then
                echo "ENGINE=buildah builds images only: use ENGINE=podman or docker to run one" >&2
                return 2
            fi ;;
            *) echo "ENGINE=${ENGINE}: expected docker, podman or buildah" >&2; return 2 ;;
        esac
        command -v "${ENGINE}" >/dev/null || { echo "ENGINE=${ENGINE}: not installed" >&2; return 2; }
        echo "${ENGINE}"
        return 0
    fi
    if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
        echo docker
    elif command -v podman >/dev/null; then
        echo podman
    elif [ "${use}" = build ] && command -v buildah >/dev/null; then
        echo buildah
    else
        local what=podman
        if [ "${use}" = build ]; then what="podman or buildah"; fi
        if command -v docker >/dev/null; then
            echo "docker is installed but its engine does not answer (docker info failed), and no ${what}:" >&2
        else
            echo "no docker and no ${what}:" >&2
        fi
        echo "  install one (Debian/Ubuntu: apt-get install podman), or name it with ENGINE=" >&2
        return 2
    fi
}

# A value that names an image (IMAGE, BASE) is a reference, never an option: one line when it is not.
bundle_check_ref() {  # $1: the variable's name; $2: its value
    if ! [[ "$2" =~ ^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$ ]]; then
        echo "$1=$2: expected an image reference like name:tag[@sha256:...] (letters, digits, . _ / : @ + -," \
            "not starting with '-')" >&2
        return 2
    fi
}

# Refuse, among the words of an extra-flags value, the flags the bundle sets itself or that would give
# the container the host (mounts, privileges, devices): each named in one line.
bundle_refuse_flags() {  # $1: the variable's name; $2: its value; $3...: the refused flags
    local name="$1" value="$2" w f words=()
    shift 2
    read -r -a words <<<"${value}"
    for w in "${words[@]}"; do
        for f in "$@"; do
            case "${w}" in "${f}" | "${f}="*)
                echo "${name}: ${w} is refused (the bundle sets it itself, or it would give the container the host)" >&2
                return 2 ;;
            esac
        done
    done
}

# Append the words of an extra-flags value (DOCKER_ARGS, DOCKER_RUN_ARGS) to an array, split on white
# space only: no globbing, no shell.
bundle_add_words() {  # $1: the array's name; $2: the value
    local -n into="$1"
    local words=()
    if [ -n "${2:-}" ]; then
        read -r -a words <<<"$2"
        into+=("${words[@]}")
    fi
}

# Run the engine with its argv, or with DRY_RUN=1 print them, one a line, and stop.
bundle_exec() {  # $@: the engine, then its arguments
    if [ "${DRY_RUN:-0}" = 1 ]; then
        printf '%s\n' "$@"
        exit 0
    fi
    exec "$@"
}
