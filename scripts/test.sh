#!/bin/bash
# Every test suite: the C suites (Criterion) built with gcc, with clang,
# with ASan+UBSan and for i386; with fault injection (the walk over every
# failing system call, plain and under ASan); the thread stress under
# ThreadSanitizer; the libFuzzer target for a minute; then the CLI and
# Python suites (pytest). Prints each runner's closing lines and, last, one
# line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh test || exit 1

passed=0 failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Criterion's "Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C"
# lines are the per-binary counts; meson keeps them in its test log.
count_criterion() {
    local p f c
    while read -r p f c; do
        passed=$((passed + p)); failed=$((failed + f + c))
    done < <(sed -n 's/.*Synthesis: Tested: [0-9]* | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3/p' "$1")
}

c_suite() { # NAME DIR SETUP-ARGS...
    local name=$1 dir=$2; shift 2
    echo "== C suites ($name)"
    rm -rf "$dir"
    if ! { meson setup "$dir" "$@" >"$log/$name.setup" 2>&1 && ninja -C "$dir" >"$log/$name.build" 2>&1; }; then
        cat "$log/$name.setup" "$log/$name.build" 2>/dev/null | tail -40
        echo "$name: build failed"; failed=$((failed + 1)); return
    fi
    if grep -q "warning:" "$log/$name.build"; then
        grep "warning:" "$log/$name.build"
        echo "$name: compiler warnings"; failed=$((failed + 1))
    fi
    meson test -C "$dir" --print-errorlogs >"$log/$name.test" 2>&1
    local rc=$? before=$failed
    tail -n 12 "$log/$name.test"
    grep -h "Synthesis:" "$dir/meson-logs/testlog.txt"
    count_criterion "$dir/meson-logs/testlog.txt"
    # A suite that died before printing its synthesis still counts.
    if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
        echo "$name: meson test failed"; failed=$((failed + 1))
    fi
}

# The gcc build's suites again under valgrind memcheck. Criterion runs each
# test in a child whose exit code it does not read as valgrind's verdict, so
# any report valgrind writes (errors, definite leaks) counts as a failure.
valgrind_suite() { # DIR
    echo "== C suites (valgrind)"
    local vg="$log/vg" t
    mkdir -p "$vg"
    for t in "$1"/tests/test_*; do
        [ -x "$t" ] || continue
        valgrind -q --leak-check=full --show-leak-kinds=definite \
            --errors-for-leak-kinds=definite --trace-children=yes \
            --log-file="$vg/$(basename "$t").%p" "$t" >"$log/vg.out" 2>&1
        grep -h "Synthesis:" "$log/vg.out"
        count_criterion "$log/vg.out"
    done
    local reports
    reports=$(find "$vg" -type f -size +0)
    if [ -n "$reports" ]; then
        for t in $reports; do head -n 30 "$t"; done
        echo "valgrind: $(echo "$reports" | wc -l) report(s)"; failed=$((failed + 1))
    fi
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
    rm -rf "$dir"
    if ! { CC=clang meson setup "$dir" -Dfuzz=true >"$log/fuzz.setup" 2>&1 &&
           ninja -C "$dir" tests/fuzz_ops >"$log/fuzz.build" 2>&1; }; then
        cat "$log/fuzz.setup" "$log/fuzz.build" 2>/dev/null | tail -40
        echo "fuzz: build failed"; failed=$((failed + 1)); return
    fi
    if grep -q "warning:" "$log/fuzz.build"; then
        grep "warning:" "$log/fuzz.build"
        echo "fuzz: compiler warnings"; failed=$((failed + 1))
    fi
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
        grep -E "^fuzz_ops:|ERROR|runtime error|SUMMARY|^    #[0-9] " "$log/fuzz.out" | head -n 30
        ls "$dir"/artifacts/* 2>/dev/null
        echo "fuzz_ops: failed (exit $rc)"; failed=$((failed + 1))
    fi
}

c_suite gcc build-test
CC=clang c_suite clang build-test-clang
c_suite asan build-test-asan -Db_sanitize=address,undefined -Db_lundef=false
# 32-bit x86 (gcc -m32, see cross/i386.txt): size_t and pointers of 32 bits
# against 64-bit file offsets (tests/test_large.c reads above 4 GiB).
c_suite i386 build-test-i386 --cross-file cross/i386.txt
valgrind_suite build-test
c_suite faults build-test-fi -Dfault_injection=true
c_suite faults-asan build-test-fi-asan -Dfault_injection=true \
    -Db_sanitize=address,undefined -Db_lundef=false
# The faults walk prints how many faults it injected, kind by kind.
grep -h "^faults injected" build-test-fi/meson-logs/testlog.txt 2>/dev/null |
    awk '{print; n += $4} END {if (NR) print "faults injected: " n " in all"}'
# Criterion cannot run under TSan: this build runs the plain programs
# (tests/stress_threads.c, 4 threads x 1 M operations). Any race report
# fails the suite (exit status 66); its first lines are shown.
c_suite tsan build-test-tsan -Db_sanitize=thread -Db_lundef=false
grep -h "^stress_threads:" build-test-tsan/meson-logs/testlog.txt 2>/dev/null
grep -h -A 30 "WARNING: ThreadSanitizer" build-test-tsan/meson-logs/testlog.txt 2>/dev/null | head -n 120
fuzz_suite build-test-fuzz 60

export SMMAP_BIN=$PWD/build-test/smmap
pytest="/usr/bin/python3 -m pytest -q -p no:cacheprovider"
py_suite cli $pytest tests/cli
export SMMAP_PACKLS=$PWD/build-test/examples/packls
py_suite examples $pytest tests/examples
py_suite python bash tests/python/run.sh

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
