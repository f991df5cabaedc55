#!/bin/bash
# `smmap sum` against a whole-file MAP_POPULATE + zlib crc32 loop on the same
# page-cached file, interleaved, medians; and the peak RSS of
# `smmap sum --window 16M --max-memory 64M` over the file.
# Usage: bench/sum_vs_raw.sh [BUILD_DIR] [FILE]   (FILE: made, 1 GiB, if absent)
set -eu
build=${1:-build}
file=${2:-}
if [ -z "$file" ]; then
    file=$(mktemp /tmp/smmap-sum-bench.XXXXXX)
    trap 'rm -f "$file"' EXIT
    head -c 1G /dev/urandom > "$file"
fi
cat "$file" > /dev/null # into the page cache
size=$(stat -c %s "$file")
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
sum=() raw=() cat=()
for _ in 1 2 3 4 5; do
    sum+=("$(t "$build/smmap" sum "$file")")
    raw+=("$(t "$build/bench/raw-crc32" "$file")")
    cat+=("$(t cat "$file")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
ms=$(median "${sum[@]}") mr=$(median "${raw[@]}") mc=$(median "${cat[@]}")
gbs() { echo "scale=3; $size / $1 / 1000000000" | bc; }
echo "smmap sum          $(gbs "$ms") GB/s"
echo "raw mmap+crc32     $(gbs "$mr") GB/s"
echo "cat > /dev/null    $(gbs "$mc") GB/s"
echo "sum / raw = $(echo "scale=3; $mr / $ms" | bc)x"
rss=$(/usr/bin/time -f %M "$build/smmap" sum --window 16M --max-memory 64M "$file" 2>&1 >/dev/null | tail -n 1)
echo "peak RSS of smmap sum --window 16M --max-memory 64M: $((rss / 1024)) MiB"
