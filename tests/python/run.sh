#!/bin/bash
# Build and install the Python drop-in into a temporary directory (lib.sh),
# then run tests/python against it. Prints pytest's summary; exits non-zero
# on any failure. Extra arguments go to pytest.
set -u
cd "$(dirname "$0")/../.."
. tests/python/lib.sh

install_dropin
SMMAP_PYTHONPATH="$tmp/site" PYTHONPATH="$tmp/site" \
    "$PY" -m pytest -q -p no:cacheprovider tests/python "$@"
