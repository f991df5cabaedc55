#!/usr/bin/env python3
"""Count the tests of one meson build's last `meson test` run.

Usage: count-tests.py BUILD-DIR LABEL

Reads the newest BUILD-DIR/meson-logs/testlog*.json (meson writes
testlog-WRAPPER.json for a run with --wrapper, e.g. under valgrind). A TAP test program (the C suites)
counts each of its tests: "ok" passed, "ok ... # SKIP" skipped, "not ok"
failed, and a test the plan announced but the program never reported (it
died) failed; a program that failed without any "not ok" line counts one
failure. Any other test program counts as one test. Prints the failed tests
with their diagnostics, then "LABEL: N passed, N failed, N skipped", and
last a line "COUNTS P F S" for scripts/test.sh.
"""
import glob
import json
import os
import re
import sys


def count_tap(out):
    passed = failed = skipped = 0
    planned = None
    bad = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'1\.\.(\d+)', line)
        if m:
            planned = int(m.group(1))
        elif re.match(r'ok \d+', line):
            if re.search(r'#\s*SKIP', line, re.I):
                skipped += 1
            else:
                passed += 1
        elif re.match(r'not ok \d+', line):
            failed += 1
            notes = []
            for follow in lines[i + 1:]:
                if not follow.startswith('#') or re.match(r'# \S+: \d+ passed', follow):
                    break
                notes.append(follow)
            bad.append('\n'.join([line] + notes[:8]))
    seen = passed + failed + skipped
    if planned is not None and planned > seen:
        bad.append('%d test(s) never reported (the program died)' % (planned - seen))
        failed += planned - seen
    return passed, failed, skipped, bad, planned is not None


def main():
    build, label = sys.argv[1], sys.argv[2]
    logs = glob.glob(os.path.join(build, 'meson-logs', 'testlog*.json'))
    path = max(logs, key=os.path.getmtime) if logs else os.path.join(build, 'meson-logs',
                                                                     'testlog.json')
    passed = failed = skipped = 0
    try:
        entries = [json.loads(line) for line in open(path)]
    except OSError as e:
        print('%s: no test log (%s)' % (label, e))
        entries = []
        failed = 1
    for e in entries:
        name, result, out = e['name'], e['result'], e.get('stdout') or ''
        p, f, s, bad, tap = count_tap(out)
        if not tap:
            p, f, s = (1, 0, 0) if result == 'OK' else (0, 0, 1) if result == 'SKIP' else (0, 1, 0)
            bad = [] if f == 0 else ['%s: %s (exit %s)' % (name, result, e.get('returncode'))]
        elif result not in ('OK', 'SKIP') and f == 0:
            f = 1
            bad.append('%s: %s (exit %s) with every reported test passing'
                       % (name, result, e.get('returncode')))
        for b in bad:
            print('FAILED in %s: %s' % (name, b))
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print('%s: %d passed, %d failed, %d skipped' % (label, passed, failed, skipped))
    print('COUNTS %d %d %d' % (passed, failed, skipped))


if __name__ == '__main__':
    main()
