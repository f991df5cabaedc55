"""The command-line half of the error catalogue (README, "Errors"): each bad
argument or bad file gives the exit status and the message the README's
table lists. Exit status 2 is a usage error (one line: the message and
the way to the help), 1 a file that could not be read.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/cli
"""
import os
import socket
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SMMAP_BIN", os.path.join(ROOT, "build", "smmap"))

def usage_line(command, message):
    """A usage error's one line: the message, then the help to read."""
    return "smmap: %s (see smmap %s--help)\n" % (message, command + " " if command else "")


def run(*args):
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, timeout=30)
    return r.returncode, r.stdout, r.stderr.decode()


@pytest.fixture
def f(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 4)  # 1024 bytes
    return str(path)


def usage_error(args, message):
    """Exit 2, nothing on stdout, one line on stderr."""
    code, out, err = run(*args)
    assert (code, out) == (2, b""), err
    command = args[0] if args and args[0] in ("sum", "cat", "bench") else ""
    assert err == usage_line(command, message), err


def test_no_arguments():
    usage_error([], "a command is needed: sum, cat or bench")


def test_unknown_command(f):
    usage_error(["frob", f], "unknown command 'frob'")


def test_unknown_option(f):
    usage_error(["sum", "--bogus", f], "unknown option '--bogus'")
    usage_error(["cat", "-x", f], "unknown option '-x'")


def test_option_without_its_value(f):
    usage_error(["sum", f, "--window"], "option '--window' needs a value")


def test_flag_given_a_value(f):
    usage_error(["sum", "--static=yes", f], "option '--static=yes' takes no value")


@pytest.mark.parametrize("opt,value", [("--window", "1.5K"), ("--max-memory", "12Q"),
                                       ("--window", "-1"),
                                       ("--max-memory", "18446744073709551616")])
def test_bad_size(f, opt, value):
    code, out, err = run("sum", opt, value, f)
    assert (code, out) == (2, b"")
    assert err == usage_line("sum", "%s '%s': not a size (digits, then K, M, G or T for "
                                    "powers of 1024)" % (opt, value)), err


@pytest.mark.parametrize("opt,value,most", [("--max-handles", "0", 2**32 - 1),
                                            ("--max-handles", "5G", 2**32 - 1),
                                            ("--window", "0", 2**64 - 1)])
def test_size_out_of_range(f, opt, value, most):
    code, out, err = run("sum", opt, value, f)
    assert (code, out) == (2, b"")
    assert err == usage_line("sum", "%s %s: must be between 1 and %d" % (opt, value, most)), err


PAGE = os.sysconf("SC_PAGESIZE")


@pytest.mark.parametrize("limits,says", [
    (["--window", "1M", "--max-memory", "256K"],
     "--window 1M: 1048576 bytes is more than max_memory (262144 bytes): "
     "one window must fit under the cap"),
    (["--window", "16G"],
     "--window 16G: 17179869184 bytes is more than max_memory (8589934592 bytes): "
     "one window must fit under the cap"),
    (["--max-memory", "1"],
     "--max-memory 1: 1 bytes is below the minimum of two pages (%d bytes)" % (2 * PAGE)),
    (["--max-memory", "4K"],
     "--max-memory 4K: 4096 bytes is below the minimum of two pages (%d bytes)" % (2 * PAGE)),
])
def test_limits_the_library_rejects(f, limits, says):
    """Named by the option that set them, with the values, on one line."""
    code, out, err = run("sum", *limits, f)
    assert (code, out, err) == (2, b"", usage_line("sum", says))


def run_env(env, *args):
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, timeout=30,
                       env=dict(os.environ, **env))
    return r.returncode, r.stdout, r.stderr.decode()


@pytest.mark.parametrize("name,value,says", [
    ("SMMAP_MAX_MEMORY", "12Q", "not a size (digits, then K, M, G or T for powers of 1024)"),
    ("SMMAP_WINDOW_SIZE", "0", "must be between 1 and"),
    ("SMMAP_MAX_HANDLES", "-3", "not a size"),
])
def test_bad_environment(f, name, value, says):
    code, out, err = run_env({name: value}, "sum", f)
    assert (code, out) == (2, b"")
    assert err.startswith("smmap: %s=%s: %s" % (name, value, says)), err
    assert err.endswith(" (see smmap sum --help)\n") and err.count("\n") == 1, err


def test_limits_from_the_environment_named(f):
    code, out, err = run_env({"SMMAP_WINDOW_SIZE": "2M"}, "sum", "--max-memory", "1M", f)
    assert (code, out) == (2, b"")
    assert err == usage_line("sum", "SMMAP_WINDOW_SIZE=2M: 2097152 bytes is more than "
                             "max_memory (1048576 bytes): one window must fit under the cap")


def test_sum_without_files():
    usage_error(["sum", "--stats"], "sum needs at least one FILE")


def test_sum_missing_file_others_still_summed(f, tmp_path):
    missing = str(tmp_path / "missing")
    code, out, err = run("sum", missing, f)
    assert code == 1
    assert out.decode().endswith("  1024  %s\n" % f)
    assert err == "smmap: %s: No such file or directory\n" % missing


def test_sum_directory(tmp_path):
    code, out, err = run("sum", tmp_path)
    assert (code, out, err) == (1, b"", "smmap: %s: Is a directory\n" % tmp_path)


def test_sum_fifo_does_not_block(tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    code, out, err = run("sum", fifo)
    assert (code, out, err) == (1, b"", "smmap: %s: not a regular file\n" % fifo)


def test_sum_device():
    code, out, err = run("sum", "/dev/null")
    assert (code, out, err) == (1, b"", "smmap: /dev/null: not a regular file\n")


def test_sum_socket(tmp_path):
    path = str(tmp_path / "sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        code, out, err = run("sum", path)
    assert (code, out, err) == (1, b"", "smmap: %s: No such device or address\n" % path)


def test_cat_argument_count(f):
    usage_error(["cat"], "cat needs FILE [OFFSET [LENGTH]]")
    usage_error(["cat", f, "1", "2", "3"], "cat needs FILE [OFFSET [LENGTH]]")


def test_cat_bad_offset_and_length(f):
    usage_error(["cat", f, "1X"], "invalid OFFSET '1X'")
    usage_error(["cat", f, "0", "1.5K"], "invalid LENGTH '1.5K'")


def test_cat_offset_past_end(f):
    code, out, err = run("cat", f, "1025")
    assert (code, out) == (1, b"")
    assert err == "smmap: %s: offset 1025 is past the end of the file (1024 bytes)\n" % f


def test_cat_missing_file(tmp_path):
    missing = str(tmp_path / "missing")
    code, out, err = run("cat", missing)
    assert (code, out, err) == (1, b"", "smmap: %s: No such file or directory\n" % missing)


def test_cat_path_through_a_file(f):
    code, out, err = run("cat", f + "/x")
    assert (code, out, err) == (1, b"", "smmap: %s/x: Not a directory\n" % f)


@pytest.mark.parametrize("args,says", [
    (["--bogus"], "unknown option '--bogus'"),
    (["--reps"], "option '--reps' needs a value"),
    (["--reps", "0"], "--reps '0': must be a count from 1 to 16"),
    (["--reps", "17"], "--reps '17': must be a count from 1 to 16"),
    (["--reps", "x"], "--reps 'x': must be a count from 1 to 16"),
    (["--case", "nope"], "--case 'nope': no such case; the cases are seq-scan random-64b "
                         "hit-path threads seq-scan-cold"),
    (["--case"], "option '--case' needs a value"),
])
def test_bench_bad_option(args, says):
    code, out, err = run("bench", *args)
    assert (code, out) == (2, b"")
    assert err == usage_line("bench", says), err


def test_bench_missing_directory(tmp_path):
    missing = str(tmp_path / "missing")
    code, out, err = run("bench", "--quick", "--dir", missing)
    assert (code, out) == (1, b"")
    assert err.startswith("smmap bench: %s/" % missing)
    assert err.endswith(": No such file or directory\n")


# bench: one short case (the whole quick bench reads its file from the disk
# for the cold case and took 30-37 s here); what it prints is checked all the same.
@pytest.mark.parametrize("args", [["--version"], ["--help"], ["sum", "F"], ["cat", "F"],
                                  ["bench", "--quick", "--reps", "1", "--case", "hit-path",
                                   "--dir", "D"]])
def test_output_to_a_full_device(f, args):
    """Everything the program writes is checked: a full disk is an error."""
    with open("/dev/full", "wb") as full:
        r = subprocess.run([BIN, *[{"F": f, "D": os.path.dirname(f)}.get(a, a) for a in args]],
                           stdout=full, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 1
    assert "write error" in r.stderr.decode()


def test_sum_file_truncated_while_read(tmp_path):
    """sum reads the windows directly; a file cut under it (inside a window
    or between two) gives one error line for that file, no SIGBUS, and the
    other files are still summed."""
    import time
    big, small = tmp_path / "big", tmp_path / "small"
    with open(big, "wb") as fh:
        fh.truncate(1 << 30)  # sparse: crc32 of it takes a few hundred ms
    small.write_bytes(b"hello\n")
    p = subprocess.Popen([BIN, "sum", "--window", "256M", str(big), str(small)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    maps = "/proc/%d/maps" % p.pid
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # wait until it reads big
        try:
            with open(maps) as m:
                if str(big) in m.read():
                    break
        except OSError:
            pass
        time.sleep(0.001)
    os.truncate(big, 4096)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, err
    assert err.decode() == "smmap: %s: file truncated while mapped\n" % big
    assert out.decode() == "363a3020  6  %s\n" % small


def test_bench_on_a_full_disk(tmp_path):
    """A write of the benchmark's data that cannot finish names the file,
    exits 1 and leaves nothing behind (ulimit -f stands in for a full disk)."""
    d = tmp_path / "d"
    d.mkdir()
    r = subprocess.run(["bash", "-c", "trap '' XFSZ; ulimit -f 1024; exec \"$0\" bench "
                        "--quick --dir \"$1\"", BIN, str(d)],
                       capture_output=True, timeout=60)
    err = r.stderr.decode()
    assert (r.returncode, r.stdout) == (1, b""), err
    assert err.startswith("smmap bench: %s/" % d) and err.endswith(": File too large\n"), err
    assert os.listdir(d) == []
