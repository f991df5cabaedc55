#!/bin/bash
# The Python drop-in on every CPython pyenv has (3.8 and later): Debian's
# meson cannot find Python >= 3.12 and meson-python 0.12 wants >= 3.10, so
# the extension is compiled here with cc and each interpreter's sysconfig
# against the static library (and generated headers) of BUILD (default
# build-test), and tested with unittest alone (these interpreters have no
# pytest and no PyPI): smmap's own suite (Debian's python3-smmap ships it)
# and tests/python/unittest_versions.py. Prints one line per interpreter and a
# last line "N passed, N failed" (interpreters); exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
. scripts/dropin-lib.sh
build=${1:-build-test}
root=$(pyenv root 2>/dev/null) || { echo "no pyenv: nothing to run"; echo "0 passed, 0 failed"; exit 0; }
upstream=/usr/lib/python3/dist-packages/smmap/test
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
for py in "$root"/versions/3.*/bin/python3; do
    ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [ "$("$py" -c 'import sys; print(sys.version_info >= (3, 8))')" = True ] || continue
    dir=$tmp/$ver
    if ! stage_dropin "$py" "$dir" "$build"; then
        cat "$dir/cc.log"; echo "python $ver: build failed"; failed=$((failed + 1)); continue
    fi
    [ -d "$upstream" ] && cp -r "$upstream" "$dir/smmap/test"
    suites=(unittest_versions)
    [ -d "$dir/smmap/test" ] && suites+=(smmap.test.test_buf smmap.test.test_mman smmap.test.test_tutorial smmap.test.test_util)
    if (cd "$dir" && timeout 600 "$py" -m unittest "${suites[@]}") >"$dir/test.log" 2>&1; then
        echo "python $ver: $(grep -E '^Ran [0-9]+ tests' "$dir/test.log"), OK"
        passed=$((passed + 1))
    else
        tail -n 30 "$dir/test.log"; echo "python $ver: FAILED"; failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
