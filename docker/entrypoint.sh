#!/usr/bin/env bash
# The images' entry point: the CANN environment in the Ascend image (common/env.sh sources the
# toolkit's set_env.sh: PATH, PYTHONPATH, LD_LIBRARY_PATH, ASCEND_*), then the command exactly as
# given (argv, never re-parsed by a shell):  docker run <image> make MODEL=inceptionresnetv2 BS=16 all
if [ "${BUNDLE_KIND:-}" = ascend ]; then
    # shellcheck source=../common/env.sh
    . "$(dirname "${BASH_SOURCE[0]}")/../common/env.sh"
fi
if [ "$#" -eq 0 ]; then set -- bash; fi
exec "$@"
