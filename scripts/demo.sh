#!/bin/sh
# The main job: build smmap, then checksum a generated 4 GiB file through
# 1 MiB windows under an 8 MiB cap, and show in the statistics that the cap
# held (mapped_peak <= 8388608) while every byte was read.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
file=${SMMAP_DEMO_FILE:-/tmp/smmap-demo-4g.bin}
if [ ! -s "$file" ]; then
    echo "generating $file (4 GiB of random bytes)..."
    head -c 4G /dev/urandom > "$file"
fi
build/smmap sum --stats --window 1M --max-memory 8M "$file"
