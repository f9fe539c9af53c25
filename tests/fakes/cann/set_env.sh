# shellcheck shell=bash
# Stand-in for CANN's /usr/local/Ascend/ascend-toolkit/set_env.sh (the test stage of
# docker/Dockerfile.ascend installs it there): the same variables the real one exports for the
# parts the bundle uses. atc is in ${ASCEND_TOOLKIT_HOME}/bin and the ais_bench stand-in in
# ${ASCEND_TOOLKIT_HOME}/python/site-packages, so both are found only once this file is sourced.
export ASCEND_TOOLKIT_HOME=/usr/local/Ascend/ascend-toolkit/latest
export ASCEND_HOME_PATH="${ASCEND_TOOLKIT_HOME}"
export ASCEND_AICPU_PATH="${ASCEND_TOOLKIT_HOME}"
export ASCEND_OPP_PATH="${ASCEND_TOOLKIT_HOME}/opp"
export TOOLCHAIN_HOME="${ASCEND_TOOLKIT_HOME}/toolkit"
export LD_LIBRARY_PATH="${ASCEND_TOOLKIT_HOME}/lib64:${ASCEND_TOOLKIT_HOME}/lib64/plugin/opskernel${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
export PYTHONPATH="${ASCEND_TOOLKIT_HOME}/python/site-packages:${ASCEND_TOOLKIT_HOME}/opp/built-in/op_impl/ai_core/tbe${PYTHONPATH:+:${PYTHONPATH}}"
export PATH="${ASCEND_TOOLKIT_HOME}/bin:${ASCEND_TOOLKIT_HOME}/compiler/ccec_compiler/bin${PATH:+:${PATH}}"
