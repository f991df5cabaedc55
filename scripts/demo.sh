#!/bin/sh
# The main job: build smmap, then checksum a generated 4 GiB file through
# 1 MiB windows under an 8 MiB cap, and show in the statistics that the cap
# held (mapped_peak <= 8388608) while every byte was read.
#
# The file is kept for the next run (SMMAP_DEMO_FILE names another place).
# It is written under a temporary name and renamed once whole, so an
# interrupted run leaves no partial file behind to be taken for the data.
# (tests/cli/test_demo.py sets SMMAP_BIN, a program built already, and
# SMMAP_DEMO_SIZE, a smaller file.)
set -eu
cd "$(dirname "$0")/.."
bin=${SMMAP_BIN:-}
if [ -z "$bin" ]; then
    scripts/deps.sh build
    [ -d build ] || meson setup build >/dev/null
    ninja -C build >/dev/null
    bin=build/smmap
fi
file=${SMMAP_DEMO_FILE:-/tmp/smmap-demo-4g.bin}
size=${SMMAP_DEMO_SIZE:-4294967296}
if [ "$(stat -c %s "$file" 2>/dev/null || echo 0)" != "$size" ]; then
    echo "generating $file ($size random bytes)..."
    tmp="$file.partial.$$"
    trap 'rm -f "$tmp"' EXIT INT TERM
    head -c "$size" /dev/urandom > "$tmp"
    [ "$(stat -c %s "$tmp")" = "$size" ] || { echo "demo: $tmp is short" >&2; exit 1; }
    mv "$tmp" "$file"
    trap - EXIT INT TERM
fi
"$bin" sum --stats --window 1M --max-memory 8M "$file"
echo "(the data file stays at $file for the next run; remove it with: rm $file)"
