#!/bin/bash
# Build and install the Python drop-in into a temporary directory (as
# tests/python/run.sh does), then run tests/fuse against it and $SMMAP_BIN.
# pytest's temporary files, the FUSE mount among them, go under that
# directory too. Prints pytest's summary; exits non-zero on any failure.
# Extra arguments go to pytest.
set -u
cd "$(dirname "$0")/../.."
. tests/python/lib.sh

install_dropin
SMMAP_PYTHONPATH="$tmp/site" "$PY" -m pytest -q -p no:cacheprovider \
    --basetemp "$tmp/pytest" tests/fuse "$@"
