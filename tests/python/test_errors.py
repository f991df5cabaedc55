"""Errors: C error codes become Python exceptions (OSError with errno and
filename, ValueError for bad arguments), and a file truncated under its
mapping raises OSError from the module's reading calls instead of killing
the process with SIGBUS."""
import errno
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from smmap import SlidingWindowMapBuffer, SlidingWindowMapManager

from conftest import PAGE, env_with_target

W = 16 * PAGE


def test_missing_file(tmp_path):
    m = SlidingWindowMapManager()
    missing = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as e:
        m.make_cursor(missing)
    assert e.value.errno == errno.ENOENT and e.value.filename == missing
    with pytest.raises(FileNotFoundError) as e:
        m.make_cursor(missing.encode())
    assert e.value.filename == missing.encode()
    with pytest.raises(FileNotFoundError) as e:
        m.make_cursor(pathlib.Path(missing))
    assert e.value.filename == missing


def test_not_regular_files(tmp_path):
    m = SlidingWindowMapManager()
    with pytest.raises(IsADirectoryError):
        m.make_cursor(str(tmp_path))
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    with pytest.raises(OSError) as e:  # and does not block on the FIFO
        m.make_cursor(fifo)
    assert e.value.filename == fifo and "regular" in str(e.value).lower()
    with pytest.raises(OSError):
        m.make_cursor("/dev/null")


def test_bad_fds_and_paths(make_file):
    m = SlidingWindowMapManager()
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as e:
        m.make_cursor(r)  # closed
    assert e.value.errno == errno.EBADF
    with pytest.raises(OSError) as e:
        m.make_cursor(-1)
    assert e.value.errno == errno.EBADF
    with pytest.raises(ValueError):
        m.make_cursor("a\0b")
    with pytest.raises(TypeError):
        m.make_cursor(1.5)
    with pytest.raises((ValueError, OSError)):
        m.make_cursor("")


def test_empty_file(make_file, tmp_path):
    path = str(tmp_path / "empty")
    open(path, "wb").close()
    m = SlidingWindowMapManager()
    c = m.make_cursor(path)
    assert c.file_size() == 0 and not c.use_region(0).is_valid()
    with pytest.raises(ValueError):
        SlidingWindowMapBuffer(c)


TRUNCATE = textwrap.dedent("""
    import os, sys
    import smmap
    path, W = sys.argv[1], int(sys.argv[2])
    m = smmap.SlidingWindowMapManager(window_size=W)
    c = m.make_cursor(path)
    buf = smmap.SlidingWindowMapBuffer(m.make_cursor(path))
    mp = c.use_region(W // 2, 10).map()
    assert buf[W + 5] == open(path, "rb").read()[W + 5]
    os.truncate(path, 10)
    def expect_oserror(what, fn):
        try:
            fn()
        except OSError as e:
            print(what, "OSError", e)
        else:
            print(what, "no error")
    expect_oserror("byte", lambda: buf[W + 6])
    expect_oserror("slice", lambda: buf[100:3 * W])
    expect_oserror("map", lambda: mp[2 * PAGE:2 * PAGE + 10])
    expect_oserror("mapbyte", lambda: mp[-1])
    print("alive", buf[3], mp[3])
""").replace("PAGE", str(PAGE))


def test_truncated_under_mapping(make_file):
    path, data = make_file(4 * W)
    p = subprocess.run([sys.executable, "-c", TRUNCATE, path, str(W)], env=env_with_target(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    for what in ("byte", "slice", "map", "mapbyte"):
        assert any(line.startswith(what + " OSError") for line in lines), p.stdout
    assert lines[-1] == "alive %d %d" % (data[3], data[3])
