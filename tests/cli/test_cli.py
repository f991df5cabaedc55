"""Tests of the `smmap` command-line program (sum, cat, options, errors).

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/cli
The program is $SMMAP_BIN, by default build/smmap under the repository root.
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import zlib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SMMAP_BIN", os.path.join(ROOT, "build", "smmap"))

KiB, MiB = 1024, 1024 * 1024
SIZES = [0, 1, 4095, 4096, 4097, 65535, 65536, 65537, MiB, MiB + 7, 200 * MiB + 3]
SMALL = ["--window", "64K", "--max-memory", "256K", "--max-handles", "3"]


def run(*args, timeout=60, **kw):
    return subprocess.run([BIN, *map(str, args)], capture_output=True,
                          timeout=timeout, **kw)


def sum_line(path, data):
    return "%08x  %d  %s" % (zlib.crc32(data), len(data), path)


@pytest.fixture(scope="session", autouse=True)
def binary():
    if not os.access(BIN, os.X_OK):
        pytest.fail("no smmap program at %s (set SMMAP_BIN)" % BIN)


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """{size: (path, bytes)} for every size in SIZES. Random bytes, so that
    every offset holds different data and a misplaced window shows."""
    d = tmp_path_factory.mktemp("data")
    out = {}
    for n in SIZES:
        data = os.urandom(n)
        path = str(d / ("f%d" % n))
        with open(path, "wb") as f:
            f.write(data)
        out[n] = (path, data)
    return out


@pytest.fixture(scope="session")
def expected(files):
    return {n: sum_line(p, data) for n, (p, data) in files.items()}


# ------------------------------------------------------------------ sum

@pytest.mark.parametrize("opts", [SMALL, ["--static"], []],
                         ids=["small-limits", "static", "defaults"])
def test_sum_matches_zlib(files, expected, opts):
    r = run("sum", *opts, *(files[n][0] for n in SIZES))
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert r.stdout.decode().splitlines() == [expected[n] for n in SIZES]


def stats_of(r):
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


STAT_KEYS = {"mapped", "mapped_peak", "windows", "windows_peak", "files",
             "files_peak", "files_mapped", "mmap_calls", "munmap_calls", "hits",
             "misses", "evictions", "limit_exceeded", "failures", "retries",
             "preads", "files_read_not_mapped", "bytes_read_into_windows",
             "files_deleted"}


def test_sum_stats_within_limits(files, expected):
    r = run("sum", *SMALL, "--stats", *(files[n][0] for n in SIZES))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [expected[n] for n in SIZES]
    s = stats_of(r)
    held = s.pop("held")
    assert STAT_KEYS <= s.keys()
    assert all(isinstance(v, int) and v >= 0 for v in s.values())
    # every window left is idle (the cursors are gone) and named
    assert len(held) == s["windows"]
    names = {files[n][0] for n in SIZES}
    for h in held:
        assert h["path"] in names and h["users"] == h["cursors"] == 0, h
        assert h["begin"] < h["end"] and h["end"] - h["begin"] <= 64 * KiB, h
        assert h["read"] is False and h["deleted"] is False, h
    assert sum(h["end"] - h["begin"] for h in held) == s["mapped"]
    assert s["mapped_peak"] <= 256 * KiB
    assert s["windows_peak"] <= 3
    assert s["mapped"] <= s["mapped_peak"] and s["windows"] <= s["windows_peak"]
    assert s["mmap_calls"] - s["munmap_calls"] == s["windows"]
    assert s["files"] <= s["windows"]          # no cursor is left
    assert s["files_peak"] >= 1
    assert s["misses"] >= (200 * MiB) // (64 * KiB)
    assert s["evictions"] > 0
    assert s["limit_exceeded"] == 0 and s["failures"] == 0
    assert s["files_read_not_mapped"] == s["bytes_read_into_windows"] == 0


def test_limits_from_the_environment(files, expected):
    """SMMAP_* configure the manager; an option given on the command line
    wins over its variable."""
    path = files[MiB + 7][0]
    env = dict(os.environ, SMMAP_WINDOW_SIZE="64K", SMMAP_MAX_MEMORY="256K",
               SMMAP_MAX_HANDLES="3")
    r = run("sum", "--stats", path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [expected[MiB + 7]]
    s = stats_of(r)
    assert s["mapped_peak"] <= 256 * KiB and s["windows_peak"] <= 3, s
    assert max(h["end"] - h["begin"] for h in s["held"]) == 64 * KiB
    r = run("sum", "--stats", "--window", "128K", path, env=env)
    assert r.returncode == 0, r.stderr
    s = stats_of(r)
    assert max(h["end"] - h["begin"] for h in s["held"]) == 128 * KiB
    assert s["mapped_peak"] <= 256 * KiB


SYSFS = "/sys/devices/system/cpu/online"


@pytest.mark.skipif(not os.path.exists(SYSFS), reason="no sysfs")
@pytest.mark.parametrize("mode", [[], ["--static"]], ids=["sliding", "static"])
def test_sum_and_cat_of_a_sysfs_file(mode):
    """sysfs refuses every mapping and says 4096 bytes for a few: read."""
    with open(SYSFS, "rb") as f:
        data = f.read()
    r = run("sum", *mode, "--stats", SYSFS)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "%08x  %d  %s\n" % (zlib.crc32(data), len(data), SYSFS)
    s = stats_of(r)
    assert s["files_read_not_mapped"] == 1 and s["mmap_calls"] == 1
    assert s["bytes_read_into_windows"] >= len(data) and s["failures"] == 0
    r = run("cat", *mode, SYSFS)
    assert r.returncode == 0 and r.stdout == data, r.stderr


def test_sum_stats_static(files):
    path, data = files[MiB]
    r = run("sum", "--static", "--stats", path)
    assert r.returncode == 0, r.stderr
    s = stats_of(r)
    assert s["mapped_peak"] == len(data) and s["windows_peak"] == 1


def test_sum_reports_bad_files_and_goes_on(files, expected, tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    missing, directory = str(tmp_path / "missing"), str(tmp_path)
    good = [files[n][0] for n in (0, 4097, MiB)]
    args = [good[0], missing, good[1], directory, fifo, good[2]]
    r = run("sum", *SMALL, *args, timeout=10)  # a FIFO must not block
    assert r.returncode == 1
    assert r.stdout.decode().splitlines() == [expected[n] for n in (0, 4097, MiB)]
    errors = r.stderr.decode().splitlines()
    assert len(errors) == 3, errors
    for line, path in zip(errors, [missing, directory, fifo]):
        assert line.startswith("smmap: %s: " % path) and len(line) > len(path) + 9


def test_sum_option_forms(files, expected):
    path = files[65537][0]
    for args in (["--window=64K", "--max-memory=128k"],
                 ["--max-handles", "2", "--window", "1M"],
                 ["--max-memory", "1G"], ["--", path]):
        r = run("sum", *args, path)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout.decode().splitlines()[-1] == expected[65537]


BAD_SIZES = ["", "abc", "0", "00", "-1", "+1", " 1", "1 ", "1.5K", "0x10", "12Q",
             "1KK", "1KB", "K", "18446744073709551616", "17179869184G"]


@pytest.mark.parametrize("opt", ["--window", "--max-memory", "--max-handles"])
@pytest.mark.parametrize("value", BAD_SIZES)
def test_bad_size_is_usage_error(files, opt, value):
    r = run("sum", opt, value, files[1][0])
    assert r.returncode == 2, r.stderr
    assert r.stdout == b"" and r.stderr.startswith(b"smmap: " + opt.encode())
    assert r.stderr.endswith(b" (see smmap sum --help)\n") and r.stderr.count(b"\n") == 1


@pytest.mark.parametrize("args", [
    [], ["sum"], ["frob", "F"], ["bench", "--bogus"], ["bench", "--dir"], ["sum", "--bogus", "F"], ["sum", "-x", "F"],
    ["sum", "F", "--window"], ["sum", "--static=yes", "F"], ["sum", "--win=1M", "F"],
    ["sum", "--stats"], ["cat"], ["cat", "F", "1", "2", "3"], ["cat", "F", "1X"],
    ["cat", "F", "0", "-1"], ["cat", "F", "1.5K"], ["cat", "F", "18446744073709551616"],
])
def test_usage_errors(files, args):
    r = run(*(files[1][0] if a == "F" else a for a in args))
    assert r.returncode == 2, (args, r.stderr)
    assert r.stdout == b"" and r.stderr.count(b"\n") == 1, r.stderr
    assert r.stderr.startswith(b"smmap: ") and r.stderr.endswith(b"--help)\n"), r.stderr


def test_limits_the_library_rejects(files):
    r = run("sum", "--window", "1M", "--max-memory", "256K", files[1][0])
    assert r.returncode == 2 and r.stdout == b""
    assert len(r.stderr.splitlines()) == 1


def test_help_and_version():
    for args in (["--help"], ["-h"], ["sum", "--help"], ["cat", "-h"], ["bench", "--help"]):
        r = run(*args)
        assert r.returncode == 0 and r.stdout.startswith(b"usage: smmap"), (args, r)
        assert r.stderr == b""
    every = run("--help").stdout.decode()
    for option in ("--window", "--max-memory", "--max-handles", "--static", "--stats",
                   "--reps", "--case", "SMMAP_WINDOW_SIZE"):
        assert option in every, option
    assert run("sum", "--help").stdout.decode().splitlines()[0] == \
        "usage: smmap sum [OPTIONS] FILE..."
    with open(os.path.join(ROOT, "VERSION")) as f:
        ver = f.read().strip()
    r = run("--version")
    assert r.returncode == 0 and r.stdout.decode() == "smmap %s\n" % ver


# ------------------------------------------------------------- progress

def test_no_progress_in_a_pipe(files):
    r = run("sum", files[200 * MiB + 3][0], files[200 * MiB + 3][0])
    assert r.returncode == 0 and r.stderr == b""


def test_progress_on_a_terminal(files, expected):
    """400 MiB of work with stderr on a terminal draws a bar and clears it."""
    path = files[200 * MiB + 3][0]
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([BIN, "sum", path, path], stdout=subprocess.PIPE,
                             stderr=slave)
        os.close(slave)
        out = b""
        while True:  # drain the terminal while the program runs
            if select.select([master], [], [], 30)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the program closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        stdout, _ = p.communicate(timeout=30)
    finally:
        os.close(master)
    assert p.returncode == 0
    assert stdout.decode().splitlines() == [expected[200 * MiB + 3]] * 2
    text = out.decode()
    assert "%" in text and "MB/s" in text
    # the last thing written clears the bar: spaces, then a carriage return
    assert re.search(r"\r +\r$", text), repr(text[-120:])


# ------------------------------------------------------------------ cat

def size(text):
    """The value of a SIZE argument, as the program reads it."""
    units = {"k": KiB, "m": MiB, "g": 1024 * MiB}
    if text[-1:].lower() in units:
        return int(text[:-1]) * units[text[-1].lower()]
    return int(text)


@pytest.mark.parametrize("args", [
    [], ["0"], ["1"], ["4K"], ["4095", "2"], ["64k", "1M"], ["65535", "3"],
    ["1", "1M"], ["0", "0"], ["1m"], ["1000", "99999999"], ["1M", "1g"],
])
def test_cat_ranges(files, args):
    path, data = files[MiB + 7]
    r = run("cat", path, *args)
    assert r.returncode == 0, r.stderr
    off = size(args[0]) if args else 0
    end = off + size(args[1]) if len(args) > 1 else len(data)
    assert r.stdout == data[off:end]
    assert r.stderr == b""


def test_cat_across_small_windows(files):
    path, data = files[MiB + 7]
    r = run("cat", *SMALL, path, "1000", str(MiB))
    assert r.returncode == 0 and r.stdout == data[1000:1000 + MiB]


def test_cat_at_and_past_eof(files):
    path, data = files[65537]
    r = run("cat", path, "65537")
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""
    r = run("cat", path, "65537", "10")
    assert r.returncode == 0 and r.stdout == b""
    r = run("cat", path, "65538")
    assert r.returncode == 1 and r.stdout == b""
    assert len(r.stderr.splitlines()) == 1 and path.encode() in r.stderr
    r = run("cat", files[0][0])
    assert r.returncode == 0 and r.stdout == b""


def test_cat_bad_files(tmp_path):
    for path in (str(tmp_path / "missing"), str(tmp_path)):
        r = run("cat", path)
        assert r.returncode == 1 and r.stdout == b""
        assert r.stderr.decode().startswith("smmap: %s: " % path)


def test_cat_closed_pipe_is_quiet(files):
    """With SIGPIPE ignored, a reader that goes away gives exit 1, no message."""
    p = subprocess.Popen([BIN, "cat", files[200 * MiB + 3][0]], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN))
    p.stdout.read(10)
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=30) == 1 and err == b""


def test_bench_quick_json_names_every_case(tmp_path):
    """The case and implementation names are a stable interface (SPEC).
    One round each: the cold case reads the file from the disk per run."""
    r = run("bench", "--quick", "--json", "--reps", "1", "--dir", str(tmp_path), timeout=180)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    got = {(row["case"], row["impl"]) for row in rows}
    want = {("seq-scan", i) for i in ("sliding-default", "sliding-1m", "static",
                                      "raw-mmap-populate", "read-1m", "raw-mmap-1m")}
    want |= {("random-64b", i) for i in ("sliding-default", "sliding-smallcap", "pread",
                                        "raw-mmap", "sliding-batch")}
    want |= {("hit-path", i) for i in ("cursor", "raw-pointer", "cursor-use")}
    want |= {("threads", i) for i in ("1", "2", "raw-mmap-1", "raw-mmap-2")}
    # skipped, with its reason, where the file cannot leave the page cache
    if b"seq-scan-cold skipped: cannot drop the file from the page cache" not in r.stderr:
        want |= {("seq-scan-cold", i) for i in ("sliding-default", "sliding-seq", "static",
                                                "read-1m", "raw-mmap")}
    assert got == want
    for row in rows:
        assert set(row) == {"case", "impl", "value", "unit", "min", "max"}
        assert 0 < row["min"] <= row["value"] <= row["max"]
    assert list(tmp_path.iterdir()) == []  # the data file is gone


def test_bench_case_runs_only_that_case(tmp_path):
    r = run("bench", "--quick", "--json", "--reps", "1", "--case", "hit-path",
            "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(row["impl"] for row in rows) == ["cursor", "cursor-use", "raw-pointer"]
    assert {row["case"] for row in rows} == {"hit-path"}
