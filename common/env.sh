# shellcheck shell=bash
# CANN environment for the bundle. Source it (never run it): `source models/<model>/env.sh`.
# CANN >= 5.1: the toolkit's set_env.sh. CANN 5.0.x: the exports of the guides' env.sh.
# No CANN: a note, and the bundle falls back to ONNX Runtime. Harmless under `set -eu`: never exits.
_bundle_home="${ASCEND_TOOLKIT_HOME:-/usr/local/Ascend/ascend-toolkit}"
_bundle_setenv=""
for _bundle_f in "${_bundle_home}/set_env.sh" "${_bundle_home}/../set_env.sh"; do
    if [ -z "${_bundle_setenv}" ] && [ -f "${_bundle_f}" ]; then _bundle_setenv="${_bundle_f}"; fi
done
if [ -n "${_bundle_setenv}" ]; then
    case $- in *u*) _bundle_nounset=1; set +u ;; *) _bundle_nounset=0 ;; esac
    # shellcheck disable=SC1090
    . "${_bundle_setenv}" || echo "env.sh: ${_bundle_setenv} returned an error" >&2
    if [ "${_bundle_nounset}" = 1 ]; then set -u; fi
    echo "env.sh: CANN environment from ${_bundle_setenv}" >&2
elif [ -d /usr/local/Ascend/ascend-toolkit/latest ]; then
    export install_path=/usr/local/Ascend/ascend-toolkit/latest
    export PATH="${install_path}/atc/ccec_compiler/bin:${install_path}/atc/bin:${PATH:-/usr/bin:/bin}"
    export PYTHONPATH="${install_path}/atc/python/site-packages${PYTHONPATH:+:${PYTHONPATH}}"
    export LD_LIBRARY_PATH="${install_path}/atc/lib64:${install_path}/acllib/lib64${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
    export ASCEND_OPP_PATH="${install_path}/opp"
    export ASCEND_AICPU_PATH="${install_path}"
    echo "env.sh: CANN 5.0.x environment from ${install_path}" >&2
else
    echo "env.sh: no CANN toolkit installed (no ${_bundle_home}/set_env.sh): ATC and ais_bench are unavailable;" \
        "inference will use ONNX Runtime (or run in the CANN container: make docker-run)" >&2
fi
unset _bundle_home _bundle_setenv _bundle_f _bundle_nounset
