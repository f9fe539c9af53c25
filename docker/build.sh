#!/usr/bin/env bash
# Build a bundle image (`make image`), from the repository root as the build context:
#   KIND=ascend|cpu   docker/Dockerfile.<KIND>            STAGE=release (default) | test
#   IMAGE=name:tag    default modelzoo-bundle:<KIND> (STAGE=test: modelzoo-bundle:<KIND>-test)
#   BASE=name:tag[@sha256:...]   the base image (default: the Dockerfile's, pinned by tag and digest)
#   ENGINE=docker|podman|buildah (default: docker when `docker info` answers, else podman, else buildah)
#   DOCKER_ARGS='--build-arg ORT_GPU=1 ...'   extra build flags, split on blanks (never run by a shell)
#   further arguments go to the engine's build as they are (make image-test: -v mounts, --network host)
#   DRY_RUN=1   print the engine's argv, one argument a line, instead of building
# The image records what built it (BUNDLE_IMAGE, BUNDLE_VERSION, BUNDLE_BASE, BUNDLE_BASE_DIGEST,
# BUNDLE_BASE_ID in its environment and labels; common/provenance.py reads them back).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=engine.sh
. "${repo}/docker/engine.sh"

kind="${KIND:-ascend}"
case "${kind}" in ascend | cpu) ;; *) echo "KIND=${kind}: expected ascend or cpu" >&2; exit 2 ;; esac
stage="${STAGE:-release}"
case "${stage}" in release | test) ;; *) echo "STAGE=${stage}: expected release or test" >&2; exit 2 ;; esac
image="${IMAGE:-modelzoo-bundle:${kind}}"
bundle_check_ref IMAGE "${image}" || exit 2
if [ -n "${BASE:-}" ]; then bundle_check_ref BASE "${BASE}" || exit 2; fi
bundle_refuse_flags DOCKER_ARGS "${DOCKER_ARGS:-}" -f --file -t --tag --target -o --output --secret --ssh || exit 2
if [ "${stage}" = test ] && [ "${image}" = "modelzoo-bundle:${kind}" ]; then image="${image}-test"; fi
dockerfile="${repo}/docker/Dockerfile.${kind}"
engine="$(bundle_engine build)"

base="${BASE:-$(sed -n 's/^ARG BASE=//p' "${dockerfile}" | sed -n 1p)}"
digest=""
case "${base}" in *@sha256:*) digest="sha256:${base##*@sha256:}" ;; esac
base_id=""
if [ "${DRY_RUN:-0}" != 1 ] && [ "${engine}" != buildah ]; then
    # the local image's id, and its registry digest when it was pulled by one
    if info="$("${engine}" image inspect --format '{{.Id}} {{range .RepoDigests}}{{.}} {{end}}' "${base}" 2>/dev/null)"; then
        read -r base_id repo_digest _ <<<"${info}" || true
        if [ -z "${digest}" ] && [ -n "${repo_digest:-}" ]; then digest="sha256:${repo_digest##*@sha256:}"; fi
    fi
fi
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "${repo}/pyproject.toml" | sed -n 1p)"
if commit="$(git -C "${repo}" rev-parse --short=12 HEAD 2>/dev/null)"; then
    version="${version}+g${commit}"
    if [ -n "$(git -C "${repo}" status --porcelain --untracked-files=no 2>/dev/null)" ]; then version="${version}.dirty"; fi
fi

argv=(build -f "${dockerfile}" --target "${stage}" -t "${image}"
    --build-arg "BUNDLE_IMAGE=${image}" --build-arg "BUNDLE_VERSION=${version}"
    --build-arg "BUNDLE_BASE_DIGEST=${digest}" --build-arg "BUNDLE_BASE_ID=${base_id}")
if [ -n "${BASE:-}" ]; then argv+=(--build-arg "BASE=${BASE}"); fi
# podman and buildah write OCI images by default, which have no SHELL (RUN would use /bin/sh)
if [ "${engine}" != docker ]; then argv+=(--format docker); fi
bundle_add_words argv "${DOCKER_ARGS:-}"
argv+=("$@" "${repo}")

if [ "${DRY_RUN:-0}" != 1 ]; then echo "building ${image} (${kind}, stage ${stage}) from ${base} with ${engine}" >&2; fi
bundle_exec "${engine}" "${argv[@]}"
