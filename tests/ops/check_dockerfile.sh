#!/usr/bin/env bash
# The Dockerfile's runtime images hold no compiler, build tool, -dev package or test
# binary, run as a non-root user, and (given built binaries as NAME=PATH arguments) their
# package lists cover every shared library the binaries load. See check_dockerfile.py.
set -euo pipefail
root=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
python=${LETHE_PYTHON:-/usr/bin/python3}
binaries=()
for spec in "$@"; do binaries+=(--binary "$spec"); done
exec "$python" "$root/tests/ops/check_dockerfile.py" "$root" "${binaries[@]}"
