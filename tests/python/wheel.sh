#!/bin/bash
# The wheel a Python user hands around: `pip wheel --no-build-isolation
# --no-deps .` with Debian's interpreter (offline), installed offline into a
# virtual environment made with --system-site-packages, where smmap's own
# suite (Debian's python3-smmap ships it) runs against it with unittest.
# Prints "wheel: N passed, N failed" last; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../.."
. tests/python/lib.sh
fail() { echo "wheel: $*"; echo "wheel: 0 passed, 1 failed"; exit 1; }

"$PY" -m pip wheel --no-build-isolation --no-deps -w "$tmp/dist" . >"$tmp/wheel.log" 2>&1 ||
    { tail -n 30 "$tmp/wheel.log"; fail "pip wheel failed"; }
whl=$(ls "$tmp"/dist/smmap-*.whl) || fail "no wheel built"
echo "wheel: built $(basename "$whl")"
"$PY" -m venv --system-site-packages "$tmp/venv" || fail "venv failed"
"$tmp/venv/bin/python" -m pip install --no-index --no-deps "$whl" >"$tmp/install.log" 2>&1 ||
    { tail -n 20 "$tmp/install.log"; fail "pip install of the wheel failed"; }
where=$(cd "$tmp" && "$tmp/venv/bin/python" -c 'import smmap._smmap, smmap; print(smmap.__file__)')
case $where in "$tmp"/venv/*) ;; *) fail "smmap imports from $where, not the venv" ;; esac
upstream=/usr/lib/python3/dist-packages/smmap/test
[ -d "$upstream" ] || fail "no $upstream (python3-smmap)"
# The suite imports itself as smmap.test: it goes into the installed package.
cp -r "$upstream" "$(dirname "$where")/test"
(cd "$tmp" && "$tmp/venv/bin/python" -m unittest -v smmap.test.test_buf smmap.test.test_mman \
    smmap.test.test_tutorial smmap.test.test_util) >"$tmp/test.log" 2>&1
rc=$?
grep -E "^(ERROR|FAIL):|Error|^Ran" "$tmp/test.log" | tail -n 8
n=$(sed -n 's/^Ran \([0-9]*\) tests.*/\1/p' "$tmp/test.log")
[ "$rc" -eq 0 ] && [ -n "$n" ] || fail "smmap's suite failed on the wheel"
echo "wheel: $n passed, 0 failed"
