#!/bin/bash
# Build and install the Python drop-in into a temporary directory with
# Debian's interpreter (offline: no build isolation, Debian's meson-python),
# then run tests/python against it. Prints pytest's summary; exits non-zero
# on any failure. Extra arguments go to pytest.
set -u
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
TMP=$(mktemp -d)
# meson-python 0.12 writes its native file into the source tree; leave none.
native=.mesonpy-native-file.ini
[ -e "$native" ] && keep_native=1 || keep_native=0
trap 'rm -rf "$TMP"; [ "$keep_native" = 1 ] || rm -f "$native"' EXIT

if ! "$PY" -m pip install --no-build-isolation --no-index --target "$TMP/site" . \
        >"$TMP/pip.log" 2>&1; then
    tail -n 40 "$TMP/pip.log"
    echo "pip install failed"
    exit 1
fi
SMMAP_PYTHONPATH="$TMP/site" PYTHONPATH="$TMP/site" \
    "$PY" -m pytest -q -p no:cacheprovider tests/python "$@"
