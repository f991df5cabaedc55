#!/bin/bash
# Every test suite. The C suites (tests/harness.c runs them, one process
# per test, TAP) built with gcc, with clang, with ASan+UBSan, under
# ThreadSanitizer, run again under valgrind, and cross-built for i386 and
# aarch64 (qemu-user) and Windows (wine); the fault-injection walk (plain and under ASan);
# the libFuzzer target for a minute; a build from nothing but the compiler
# (no pkg-config file found) that installs; then the CLI, example and
# Python suites (pytest), the same on a FUSE mount that refuses shared
# mappings, the wheel, the drop-in on every pyenv CPython and on PyPy, and
# the Debian packages. Prints each runner's closing lines, a count per
# target and, last, one line "N passed, N failed".
#
# --all adds the Debian packages' round trip, which installs them into this
# machine and purges them (replacing python3-smmap meanwhile): CI runs it,
# a developer only when asked. Otherwise the script changes the machine only
# by installing the packages the suites need (scripts/deps.sh).
set -u
cd "$(dirname "$0")/.."
all=0
case "${1:-}" in
--all) all=1 ;;
"") ;;
*) echo "usage: scripts/test.sh [--all]" >&2; exit 2 ;;
esac
scripts/deps.sh test || exit 1

passed=0 failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# scripts/count-tests.py prints the failures and a count for one build's
# last meson test run; its last line "COUNTS P F S" is added here.
count() { # DIR LABEL
    local out p f s
    out=$(/usr/bin/python3 scripts/count-tests.py "$1" "$2")
    sed '$d' <<<"$out"
    read -r _ p f s < <(tail -n 1 <<<"$out")
    passed=$((passed + p)); failed=$((failed + f))
}

build() { # NAME DIR SETUP-ARGS...: configure and build, warnings fail
    local name=$1 dir=$2; shift 2
    rm -rf "$dir"
    if ! { meson setup "$dir" "$@" >"$log/$name.setup" 2>&1 && ninja -C "$dir" >"$log/$name.build" 2>&1; }; then
        cat "$log/$name.setup" "$log/$name.build" 2>/dev/null | tail -40
        echo "$name: build failed"; failed=$((failed + 1)); return 1
    fi
    if grep -q "warning:" "$log/$name.build"; then
        grep "warning:" "$log/$name.build"
        echo "$name: compiler warnings"; failed=$((failed + 1))
    fi
}

run_tests() { # NAME DIR MESON-TEST-ARGS...
    local name=$1 dir=$2; shift 2
    meson test -C "$dir" --num-processes 2 --print-errorlogs "$@" >"$log/$name.test" 2>&1
    grep -E "^ *[0-9]+/[0-9]+ " "$log/$name.test" | tail -n 20
    count "$dir" "$name"
}

c_suite() { # NAME DIR SETUP-ARGS...
    echo "== C suites ($1)"
    build "$@" && run_tests "$1" "$2"
}

py_suite() { # NAME COMMAND... (a command that ends with pytest's summary)
    local name=$1; shift
    echo "== pytest ($name)"
    "$@" 2>&1 | tee "$log/$name.py" | tail -n 15
    local line p f e
    line=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|no tests ran' "$log/$name.py" | tail -n 1)
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+'); f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    e=$(grep -oE '[0-9]+ error' <<<"$line" | grep -oE '[0-9]+')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
    [ -z "$p$f$e" ] && { echo "$name: pytest ran no test"; failed=$((failed + 1)); }
}

# The libFuzzer target (tests/fuzz/fuzz_ops.c), clang with ASan+UBSan, run
# for SECONDS from the seed corpus tests/fuzz/corpus (the inputs it adds go
# to the build directory, never into the tree). One test: it fails on any
# crash, sanitizer report or model mismatch, whose input is kept in
# DIR/artifacts and whose first lines are shown.
fuzz_suite() { # DIR SECONDS
    local dir=$1 secs=$2
    echo "== fuzz (fuzz_ops, $secs s)"
    CC=clang build fuzz "$dir" -Dfuzz=true || return
    mkdir -p "$dir/corpus" "$dir/artifacts"
    "$dir/tests/fuzz_ops" "$dir/corpus" tests/fuzz/corpus -max_total_time="$secs" \
        -max_len=512 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" >"$log/fuzz.out" 2>&1
    local rc=$? runs rate corp
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log/fuzz.out")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log/fuzz.out")
    corp=$(sed -n 's/.*DONE .* corp: \([^ ]*\) .*/\1/p' "$log/fuzz.out")
    if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
        echo "fuzz_ops: $runs runs in $secs s ($rate/s), corpus $corp (inputs/bytes), no crash"
        passed=$((passed + 1))
    else
        grep -E "^fuzz_ops:|^# fuzz_ops.c:|ERROR|runtime error|SUMMARY|^    #[0-9] " "$log/fuzz.out" | head -n 30
        ls "$dir"/artifacts/* 2>/dev/null
        echo "fuzz_ops: failed (exit $rc)"; failed=$((failed + 1))
    fi
}

# A 32-bit program runs natively where the kernel has IA-32 emulation;
# where it has not (some VMs), under qemu-user.
i386_native() {
    printf 'int main(void){return 0;}\n' >"$log/m32.c"
    gcc -m32 "$log/m32.c" -o "$log/m32" 2>/dev/null && "$log/m32" 2>/dev/null
}

# The loops whose length is a matter of confidence run whole in the gcc
# build and a quarter as long in the others (SMMAP_TEST_SLOW, util_ops()),
# which keeps the whole run within its 20 minutes on two cores.
c_suite gcc build-test
CC=clang SMMAP_TEST_SLOW=4 c_suite clang build-test-clang
SMMAP_TEST_SLOW=4 c_suite asan build-test-asan -Db_sanitize=address,undefined -Db_lundef=false

# The POSIX layer's portable paths, which a macOS or BSD build takes (no
# MAP_POPULATE, no /proc, no fixup copy), and the C library musl (Alpine's;
# musl-gcc sees no other library, so no zlib).
c_suite portable-posix build-test-portable -Dportable_posix=true
empty_pc=$(mktemp -d "$log/musl-pc.XXXXXX")
PKG_CONFIG_LIBDIR=$empty_pc CC=musl-gcc SMMAP_TEST_SLOW=4 c_suite musl build-test-musl -Dzlib=disabled

# The gcc build again under valgrind memcheck: it follows the harness's
# forked test processes, and an error or a definite leak makes that test's
# process exit 99, so the test fails by name.
echo "== C suites (valgrind)"
SMMAP_TEST_TIMEOUT_SCALE=20 run_tests valgrind build-test --suite c --timeout-multiplier 20 \
    --wrapper "valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --trace-children=yes"

# Every suite under ThreadSanitizer. A race report makes the test's process
# exit 66. handle_sigbus=0: TSan's own SIGBUS handler would take the faults
# the library's guard recovers (ASan's lets a program's handler have them).
echo "== C suites (tsan)"
build tsan build-test-tsan -Db_sanitize=thread -Db_lundef=false &&
    TSAN_OPTIONS=handle_sigbus=0 SMMAP_TEST_SLOW=4 SMMAP_TEST_TIMEOUT_SCALE=4 \
        run_tests tsan build-test-tsan --timeout-multiplier 4

# 32-bit x86 (gcc -m32, cross/i386.txt): size_t and pointers of 32 bits
# against 64-bit file offsets (tests/test_large.c reads above 4 GiB).
echo "== C suites (i386)"
i386_args=(--cross-file cross/i386.txt) i386_slow=1
if ! i386_native; then
    echo "(this kernel runs no i386 program: under qemu-i386)"
    printf "[binaries]\nexe_wrapper = ['qemu-i386']\n[properties]\nneeds_exe_wrapper = true\n" \
        >"$log/qemu-i386.txt"
    i386_args+=(--cross-file "$log/qemu-i386.txt") i386_slow=10
fi
build i386 build-test-i386 "${i386_args[@]}" &&
    SMMAP_TEST_SLOW=$i386_slow SMMAP_TEST_TIMEOUT_SCALE=10 \
        run_tests i386 build-test-i386 --timeout-multiplier 10
# aarch64 under qemu-user (cross/aarch64.txt), some 10 times slower.
echo "== C suites (aarch64)"
build aarch64 build-test-aarch64 --cross-file cross/aarch64.txt &&
    SMMAP_TEST_SLOW=10 SMMAP_TEST_TIMEOUT_SCALE=10 \
        run_tests aarch64 build-test-aarch64 --timeout-multiplier 10

# Windows x86-64 (mingw-w64, cross/mingw64.txt) under wine, in a prefix of
# its own made before the suites start in parallel; some 10 times slower.
echo "== C suites (windows)"
export WINEPREFIX="$log/wine" WINEDEBUG=-all
if build windows build-test-windows --cross-file cross/mingw64.txt; then
    wineboot --init >"$log/wineboot" 2>&1; wineserver -w
    SMMAP_TEST_SLOW=10 SMMAP_TEST_TIMEOUT_SCALE=10 \
        run_tests windows build-test-windows --timeout-multiplier 10
    # packls.exe against git verify-pack -v on the test packs, under wine
    # (not the random-damage loop: some 150 starts of wine, 2.5 minutes).
    printf '#!/bin/sh\nWINEPATH="%s" exec wine "%s" "$@"\n' "$(winepath -w build-test-windows)" \
        "$PWD/build-test-windows/examples/packls.exe" >"$log/packls-wine"
    chmod +x "$log/packls-wine"
    SMMAP_PACKLS="$log/packls-wine" py_suite packls-windows \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/examples/test_packls.py \
        -k "not random_damage"
    wineserver -k 2>/dev/null
fi

# The fault-injection walk (tests/test_faults.c); the other suites of these
# builds ran above already.
echo "== C suites (faults)"
build faults build-test-fi -Dfault_injection=true && run_tests faults build-test-fi faults
echo "== C suites (faults-asan)"
build faults-asan build-test-fi-asan -Dfault_injection=true \
    -Db_sanitize=address,undefined -Db_lundef=false &&
    run_tests faults-asan build-test-fi-asan faults
# The faults walk prints how many faults it injected, kind by kind.
grep -h "faults injected" build-test-fi/meson-logs/testlog.txt 2>/dev/null |
    sed 's/^# *//' | awk '{print; n += $4} END {if (NR) print "faults injected: " n " in all"}'
fuzz_suite build-test-fuzz 60

# A machine with meson, ninja and a C compiler only: no pkg-config file is
# found (so no zlib), the library builds and installs, and the shared
# library exports the public API alone.
echo "== compiler-only build"
empty=$(mktemp -d "$log/pc.XXXXXX")
if PKG_CONFIG_LIBDIR=$empty build minimal build-test-min &&
   DESTDIR="$log/root" meson install -C build-test-min >"$log/min.install" 2>&1; then
    root="$log/root/usr/local"
    exported=$(nm -D --defined-only "$root"/lib/*/libsmmap.so 2>/dev/null | awk '$2 == "T" {print $3}')
    if [ -f "$root/include/smmap.h" ] && [ -f "$root"/lib/*/libsmmap.a ] &&
       [ -f "$root"/lib/*/pkgconfig/smmap.pc ] && [ -n "$exported" ] &&
       ! grep -qv '^smmap_' <<<"$exported"; then
        echo "minimal: installed header, libsmmap.so ($(wc -l <<<"$exported") exported calls, all smmap_*), libsmmap.a, smmap.pc"
        passed=$((passed + 1))
    else
        ls -R "$log/root" | head -30; grep -v '^smmap_' <<<"$exported" | head
        echo "minimal: install incomplete or foreign symbols exported"; failed=$((failed + 1))
    fi
else
    tail -20 "$log/min.install" 2>/dev/null; failed=$((failed + 1))
fi

export SMMAP_BIN=$PWD/build-test/smmap
pytest="/usr/bin/python3 -m pytest -q -p no:cacheprovider"
py_suite cli $pytest tests/cli
export SMMAP_PACKLS=$PWD/build-test/examples/packls
py_suite examples $pytest tests/examples
py_suite python bash tests/python/run.sh
# The program, the drop-in, gitdb and the C tests named *fuse* on a FUSE
# mount with direct_io (tests/fuse/passthrough.c, built in build-test),
# where the kernel refuses shared mappings.
py_suite fuse bash tests/fuse/run.sh

# The wheel, installed into a virtual environment, under smmap's own suite.
echo "== Python wheel (unittest)"
bash tests/python/wheel.sh 2>&1 | tee "$log/wheel" | tail -n 4
read -r _ p _ f _ < <(tail -n 1 "$log/wheel")
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))

# The drop-in on every other CPython (pyenv's 3.8 and later, where there is
# a pyenv): compiled with cc and sysconfig, tested with unittest.
echo "== Python versions (unittest)"
bash scripts/python-versions.sh build-test 2>&1 | tee "$log/pyver" | tail -n 8
read -r p _ f _ < <(tail -n 1 "$log/pyver")
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))

# The drop-in on Debian's PyPy (cpyext), compiled the same way: smmap's own
# suite (beside upstream's pure-Python smmap on it) and unittest_versions.
echo "== PyPy (unittest)"
bash scripts/pypy.sh build-test 2>&1 | tee "$log/pypy" | tail -n 6
read -r p _ f _ < <(tail -n 1 "$log/pypy")
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))

# Last, because it installs the Debian packages into this machine (and
# replaces python3-smmap meanwhile): build them from debian/, lint,
# install, use (pkg-config, CMake, smmap sum, gitdb), purge. With --all.
if [ "$all" = 1 ]; then
    echo "== Debian packages"
    bash tests/packaging/deb.sh >"$log/deb" 2>&1
    grep -E "^(FAIL|ok: lintian)|^deb:" "$log/deb" | tail -n 8
    read -r _ p _ f _ < <(tail -n 1 "$log/deb")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
else
    echo "== Debian packages: left out (scripts/test.sh --all runs them)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
