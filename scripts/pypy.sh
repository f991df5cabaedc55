#!/bin/bash
# The Python drop-in on Debian's PyPy 3 (pypy3, pypy3-dev: cpyext): the
# extension compiled with cc and PyPy's sysconfig against the static library
# (and generated headers) of BUILD (default build-test), as
# scripts/python-versions.sh does for CPython, then smmap's own suite
# (Debian's python3-smmap ships it) and tests/python/unittest_versions.py
# with unittest (PyPy has no pytest), and the call-by-call comparison with
# smmap (tests/python/api_probe.py --check, one test). Upstream's pure-Python smmap runs smmap's suite on the same PyPy
# for comparison (shown, not counted). All run side by side. Prints a line
# per suite and a last line "N passed, N failed" (tests of the drop-in);
# exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
. scripts/dropin-lib.sh
build=${1:-build-test}
py=$(command -v pypy3) || { echo "no pypy3: nothing to run"; echo "0 passed, 0 failed"; exit 0; }
upstream=/usr/lib/python3/dist-packages/smmap
# Debian's python3-smmap, not the drop-in's package that replaces it while
# tests/packaging runs
have_upstream=0
[ -d "$upstream/test" ] && ! compgen -G "$upstream/_smmap*" >/dev/null && have_upstream=1
suites=(smmap.test.test_buf smmap.test.test_mman smmap.test.test_tutorial smmap.test.test_util)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ver=$("$py" -c 'import sys; print("%d.%d, PyPy %d.%d.%d" % (sys.version_info[:2] + sys.pypy_version_info[:3]))')

dir=$tmp/dropin
if ! stage_dropin "$py" "$dir" "$build"; then
    cat "$dir/cc.log"; echo "pypy $ver: build failed"; echo "0 passed, 1 failed"; exit 1
fi
[ "$have_upstream" = 1 ] && cp -r "$upstream/test" "$dir/smmap/test"

# Each suite runs from its own directory, which comes first on sys.path
# (PyPy's path has /usr/lib/python3/dist-packages, Debian's smmap, too).
if ! (cd "$dir" && PYTHONPATH= "$py" -c 'import smmap, sys; sys.exit(not smmap.__file__.startswith(sys.argv[1]))' "$dir"); then
    echo "pypy $ver: the drop-in is not the smmap imported"; echo "0 passed, 1 failed"; exit 1
fi
run() { # NAME DIR MODULE...: in the background, log in $tmp/NAME.log
    local name=$1 dir=$2; shift 2
    (cd "$dir" && PYTHONPATH= timeout 300 "$py" -m unittest "$@"; echo "exit $?") \
        >"$tmp/$name.log" 2>&1 &
}
run versions "$dir" unittest_versions
if [ "$have_upstream" = 1 ]; then
    (PYTHONPATH= "$py" tests/python/api_probe.py --ours "$dir" --check; echo "exit $?") \
        >"$tmp/probe.log" 2>&1 &
    run suite "$dir" "${suites[@]}"
    mkdir -p "$tmp/upstream"
    cp -r "$upstream" "$tmp/upstream/"
    run upstream "$tmp/upstream" "${suites[@]}"
else
    echo "pypy $ver: no Debian python3-smmap: neither smmap's suite nor the comparison runs"
fi
wait

# "RAN FAILED" of NAME's run: unittest's counts (errors are failures), and
# one failure more for a run that failed without any (it died, timed out).
counts() {
    awk '/^Ran [0-9]+ tests? in/ {ran = $2}
         /^FAILED \(/ {n = split($0, part, /(failures|errors)=/)
                       for (i = 2; i <= n; i++) bad += part[i] + 0}
         /^exit [0-9]+$/ {rc = $2}
         END {if (rc && !bad) {ran++; bad = 1}; print ran + 0, bad + 0}' "$tmp/$1.log"
}
if [ -f "$tmp/upstream.log" ]; then
    read -r ran bad < <(counts upstream)
    echo "pypy $ver: smmap's suite on upstream's pure-Python smmap: $((ran - bad))/$ran passed (for comparison)"
fi
passed=0 failed=0
for name in versions suite; do
    [ -f "$tmp/$name.log" ] || continue
    read -r ran bad < <(counts "$name")
    [ "$bad" -ne 0 ] && tail -n 30 "$tmp/$name.log"
    label=unittest_versions; [ "$name" = suite ] && label="smmap's suite"
    echo "pypy $ver: $label on the drop-in: $((ran - bad))/$ran passed"
    passed=$((passed + ran - bad)) failed=$((failed + bad))
done
if [ -f "$tmp/probe.log" ]; then
    if grep -qx "exit 0" "$tmp/probe.log"; then
        passed=$((passed + 1))
    else
        tail -n 30 "$tmp/probe.log"; failed=$((failed + 1))
    fi
    echo "pypy $ver: $(grep -E '^[0-9]+ of [0-9]+ cases' "$tmp/probe.log" || echo "api_probe.py failed")"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
