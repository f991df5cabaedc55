"""The Python half of the error catalogue (docs/errors.md): each bad
argument or bad file raises the exception, with the message, the table's
table lists. The library's -errno codes become OSError subclasses with
errno and filename, SMMAP_EINVAL a ValueError; the other library codes an
OSError whose message is the library's."""
import errno
import os
import socket
import subprocess
import sys
import textwrap

import pytest

import smmap
from smmap import SlidingWindowMapBuffer, SlidingWindowMapManager, WindowCursor

from conftest import PAGE, env_with_target


@pytest.fixture
def m():
    return SlidingWindowMapManager()


@pytest.fixture
def f(make_file):
    return make_file(10 * PAGE)[0]


def test_missing_file(m, tmp_path):
    path = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as e:
        m.make_cursor(path)
    assert e.value.errno == errno.ENOENT and e.value.filename == path
    assert str(e.value) == "[Errno 2] No such file or directory: %r" % path


def test_path_through_a_file(m, f):
    with pytest.raises(NotADirectoryError) as e:
        m.make_cursor(f + "/x")
    assert e.value.errno == errno.ENOTDIR and e.value.filename == f + "/x"


def test_directory(m, tmp_path):
    with pytest.raises(IsADirectoryError) as e:
        m.make_cursor(str(tmp_path))
    assert e.value.errno == errno.EISDIR and e.value.filename == str(tmp_path)


def test_fifo(m, tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    with pytest.raises(OSError) as e:  # and does not block
        m.make_cursor(fifo)
    assert e.value.filename == fifo
    assert e.value.strerror == "not a regular file"
    assert "not a regular file" in str(e.value)


def test_device(m):
    with pytest.raises(OSError) as e:
        m.make_cursor("/dev/null")
    assert e.value.filename == "/dev/null"
    assert e.value.strerror == "not a regular file"
    assert "not a regular file" in str(e.value)


def test_pseudo_file(m):
    """A file the kernel reports as empty but that reads bytes (/proc):
    refused at make_cursor(), never silently empty."""
    for path in ("/proc/self/status", "/proc/version"):
        with pytest.raises(OSError) as e:
            m.make_cursor(path)
        assert e.value.filename == path
        assert e.value.strerror == "not a regular file"


def test_socket_path(m, tmp_path):
    path = str(tmp_path / "sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        with pytest.raises(OSError) as e:
            m.make_cursor(path)
    assert e.value.errno == errno.ENXIO and e.value.filename == path


def test_closed_fd(m):
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as e:
        m.make_cursor(r)
    assert e.value.errno == errno.EBADF and e.value.filename is None
    assert str(e.value) == "[Errno 9] Bad file descriptor"


def test_write_only_fd(m, f):
    fd = os.open(f, os.O_WRONLY)
    try:
        with pytest.raises(OSError) as e:
            m.make_cursor(fd)
        assert e.value.errno == errno.EBADF
        # the refused fd did not become the one later cursors of f share
        c = m.make_cursor(f).use_region(0, 10)
        assert c.is_valid() and bytes(c.buffer()) == open(f, "rb").read(10)
    finally:
        os.close(fd)


def test_negative_fd(m):
    # as smmap's os.fstat() of it, at make_cursor() rather than later
    with pytest.raises(OSError) as e:
        m.make_cursor(-1)
    assert e.value.errno == errno.EBADF and str(e.value) == "[Errno 9] Bad file descriptor"


def test_empty_path(m):
    with pytest.raises(ValueError, match="^Invalid argument$"):
        m.make_cursor("")


def test_path_with_nul(m):
    with pytest.raises(ValueError, match="^embedded null byte$"):
        m.make_cursor("a\0b")


def test_path_of_wrong_type(m):
    with pytest.raises(TypeError, match="^expected str, bytes or os.PathLike object, not float$"):
        m.make_cursor(1.5)


def test_max_open_handles_below_one():
    for n in (0, -5):
        with pytest.raises(ValueError, match="^max_open_handles: must be at least 1, got %d$" % n):
            SlidingWindowMapManager(max_open_handles=n)


def test_limits_of_the_wrong_type():
    for kw in ("window_size", "max_memory_size", "max_open_handles"):
        with pytest.raises(TypeError, match="^%s: expected an int or a float, got str$" % kw):
            SlidingWindowMapManager(**{kw: "1"})
    with pytest.raises(ValueError, match="^max_memory_size: cannot convert float NaN to integer$"):
        SlidingWindowMapManager(max_memory_size=float("nan"))


def test_limits_the_library_rejects():
    """What smmap's keywords cannot reach (tests/python/test_mman.py
    shows them clipped) the library names: the field, in smmap's words."""
    from smmap import _smmap
    with pytest.raises(ValueError, match=r"^max_memory_size: 4096 bytes is below the minimum "
                                         r"of two pages \(8192 bytes\)$"):
        _smmap.Manager(_smmap.SLIDING, 0, PAGE, 0)
    with pytest.raises(ValueError, match="^window_size: "):
        _smmap.Manager(_smmap.SLIDING, 16 * PAGE, 8 * PAGE, 0)


def test_size_beyond_64_bits():
    """A size that does not fit 64 bits is never taken modulo 2**64: a
    window that large is refused, a cap that large is no cap."""
    with pytest.raises((ValueError, OverflowError), match="^window_size: "):
        SlidingWindowMapManager(window_size=2**64 + 16 * PAGE)
    assert SlidingWindowMapManager(max_memory_size=2**64 + 16 * PAGE).max_mapped_memory_size() \
        == 2**64 - 1


def test_unknown_keyword():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        SlidingWindowMapManager(bogus=1)


def test_negative_offset_and_size(m, f):
    c = m.make_cursor(f)
    with pytest.raises(ValueError, match="^offset: must not be negative, got -1$"):
        c.use_region(-1, 10)
    with pytest.raises(ValueError, match=r"^size: must not be negative, got -10.5$"):
        c.use_region(0, -10.5)
    with pytest.raises(TypeError, match="^offset: expected an int or a float, got str$"):
        c.use_region("1")


def test_offset_past_end_is_not_an_error(m, f):
    """As smmap: use_region past the end gives a cursor that is not valid."""
    c = m.make_cursor(f)
    assert c.use_region(10 * PAGE, 1) is c and not c.is_valid()


def test_unassociated_cursor():
    # ValueError, and AttributeError as smmap raised
    with pytest.raises(smmap.mman.CursorStateError,
                       match="^WindowCursor is not associated with a file$"):
        WindowCursor().use_region(0, 1)


def test_map_without_region(m, f):
    with pytest.raises(smmap.mman.CursorStateError,
                       match=r"^WindowCursor has no region in use \(call use_region\(\) first\)$"):
        m.make_cursor(f).map()


def test_buffer_not_in_access(m, f):
    b = SlidingWindowMapBuffer()
    with pytest.raises(smmap.mman.CursorStateError,
                       match=r"^SlidingWindowMapBuffer is not in access \(call begin_access\(\) first\)$"):
        b[0]


def test_path_and_fd_of_the_other_kind(m, f):
    with pytest.raises(ValueError, match="^File descriptor queried although mapping was generated from path$"):
        m.make_cursor(f).fd()
    fd = os.open(f, os.O_RDONLY)
    try:
        c = m.make_cursor(fd)
    finally:
        os.close(fd)
    with pytest.raises(ValueError, match="^Path queried although mapping was applied to a file descriptor$"):
        c.path()


def test_assign_non_cursor(m, f):
    # TypeError, and AttributeError as smmap raised
    with pytest.raises(smmap.mman.CursorTypeError, match=r"^assign\(\) needs a WindowCursor, not int$"):
        m.make_cursor(f).assign(5)
    with pytest.raises(smmap.mman.CursorTypeError, match="^cursor must be a WindowCursor, not int$"):
        SlidingWindowMapBuffer(5)


def test_region_of_a_released_window(m, f):
    c = m.make_cursor(f).use_region(0, 10)
    region = c.region()
    c.unuse_region()
    with pytest.raises(ValueError, match="^the cursor no longer uses this region$"):
        region.buffer()


def test_collect_negative(m):
    assert m._collect_lru_region(-1) == 0  # as smmap: nothing to make room for


def test_buffer_out_of_bounds(m, f, tmp_path):
    msg = "^Failed to allocate the buffer - probably the given offset is out of bounds$"
    empty = str(tmp_path / "empty")
    open(empty, "wb").close()
    with pytest.raises(ValueError, match=msg):
        SlidingWindowMapBuffer(m.make_cursor(empty))
    with pytest.raises(ValueError, match=msg):
        SlidingWindowMapBuffer(m.make_cursor(f), offset=10 * PAGE + 1)
    with pytest.raises(ValueError, match="^offset: must not be negative, got -1$"):
        SlidingWindowMapBuffer(m.make_cursor(f), offset=-1)


def test_buffer_index_out_of_range(m, f):
    b = SlidingWindowMapBuffer(m.make_cursor(f))
    for i in (10 * PAGE, -10 * PAGE - 1, 2**70):
        with pytest.raises(IndexError, match="^index out of range$"):
            b[i]


def test_buffer_index_of_wrong_type(m, f):
    b = SlidingWindowMapBuffer(m.make_cursor(f))
    with pytest.raises(TypeError, match="^indices must be integers or slices, not str$"):
        b["x"]
    with pytest.raises(TypeError, match="^indices must be integers or slices, not float$"):
        b[1.0]


TRUNCATED = textwrap.dedent("""
    import os, sys, smmap
    path, W = sys.argv[1], int(sys.argv[2])
    m = smmap.SlidingWindowMapManager(window_size=W)
    buf = smmap.SlidingWindowMapBuffer(m.make_cursor(path))
    assert buf[W + 5] == open(path, "rb").read()[W + 5]
    os.truncate(path, 10)
    for what, fn in (("byte", lambda: buf[W + 6]), ("slice", lambda: buf[100:3 * W])):
        try:
            fn()
        except OSError as e:
            print(what, type(e).__name__, e.errno, e.strerror,
                  "file truncated while mapped" in str(e))
""")


def test_truncated_under_mapping(make_file):
    w = 16 * PAGE
    path, _ = make_file(4 * w)
    p = subprocess.run([sys.executable, "-c", TRUNCATED, path, str(w)], env=env_with_target(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["byte OSError None file truncated while mapped True",
                                     "slice OSError None file truncated while mapped True"]
