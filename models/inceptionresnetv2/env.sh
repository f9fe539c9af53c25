# shellcheck shell=bash
# Source this for the CANN environment: the shared logic is common/env.sh (in the repository or a travelled folder).
_bundle_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; if [ -f "$_bundle_dir/common/env.sh" ]; then . "$_bundle_dir/common/env.sh"; else . "$_bundle_dir/../../common/env.sh"; fi; unset _bundle_dir
