"""SlidingWindowMapBuffer: indexes relative to the buffer's offset, Python's
slice rules (reversed and empty slices, clipping, steps), views inside one
window and copies across windows, begin/end_access, context manager."""
import random
import sys

import pytest

from smmap import SlidingWindowMapBuffer, SlidingWindowMapManager, StaticWindowMapManager
from smmap.mman import WindowCursor

from conftest import PAGE

W = 16 * PAGE


@pytest.fixture(params=["sliding", "tiny", "static"])
def man(request):
    return {
        "sliding": lambda: SlidingWindowMapManager(window_size=W),
        "tiny": lambda: SlidingWindowMapManager(window_size=2 * PAGE, max_memory_size=8 * PAGE,
                                                max_open_handles=3),
        "static": lambda: StaticWindowMapManager(),
    }[request.param]()


def test_indexes_are_relative(man, make_file):
    path, data = make_file(5 * W + 77)
    for offset, size in ((0, sys.maxsize), (1000, sys.maxsize), (W - 3, 2 * W), (3 * W, 10)):
        buf = SlidingWindowMapBuffer(man.make_cursor(path), offset, size)
        want = data[offset:offset + size]
        assert len(buf) == len(want)
        assert buf[0] == want[0] and buf[-1] == want[-1]
        assert buf[len(want) - 1] == want[-1] and buf[-len(want)] == want[0]
        rnd = random.Random(offset)
        for _ in range(200):
            i = rnd.randrange(len(want))
            assert buf[i] == want[i] and buf[i - len(want)] == want[i]
        for _ in range(100):
            a = rnd.randrange(len(want) + 1)
            b = rnd.randrange(a, len(want) + 1)
            assert buf[a:b] == want[a:b]
        for bad in (len(want), -len(want) - 1, 2**70):
            with pytest.raises(IndexError):
                buf[bad]


def test_python_slice_rules(man, make_file):
    path, data = make_file(3 * W + 5)
    buf = SlidingWindowMapBuffer(man.make_cursor(path), 7)
    want = data[7:]
    n = len(want)
    cases = [slice(None), slice(None, 0), slice(0, 0), slice(10, 5), slice(-1, -5),
             slice(n - 5, n + 100), slice(-10, None), slice(None, -10), slice(-n - 50, 3),
             slice(W - 4, W + 4), slice(5, 2 * W, 3), slice(None, None, -1),
             slice(2 * W, 10, -7), slice(None, None, 1000), slice(n + 5, n + 10)]
    for s in cases:
        got = buf[s]
        assert got == want[s], s
        assert isinstance(got, (bytes, memoryview))
    assert buf[:0] == b"" and buf[10:5] == b""  # smmap returns everything / hangs
    with pytest.raises(ValueError):
        buf[::0]
    with pytest.raises(TypeError):
        buf["x"]


def test_views_inside_a_window(make_file):
    """A slice inside one window is a zero-copy view; any request of up to
    window/2 bytes is one; longer ones across windows are bytes."""
    path, data = make_file(8 * W + 3)
    m = SlidingWindowMapManager(window_size=W)
    buf = SlidingWindowMapBuffer(m.make_cursor(path))
    for a in list(range(0, len(data) - W // 2, W // 2 - 1)) + [W // 2 - 1, W - 1]:
        v = buf[a:a + W // 2]
        assert isinstance(v, memoryview) and v.readonly and v == data[a:a + W // 2]
    big = buf[10:10 + 3 * W]
    assert isinstance(big, bytes) and big == data[10:10 + 3 * W]
    assert buf[:] == data


def test_begin_end_access(make_file):
    path, data = make_file(2 * W)
    m = SlidingWindowMapManager(window_size=W)
    c = m.make_cursor(path)
    with pytest.raises(ValueError):
        SlidingWindowMapBuffer(WindowCursor())  # not associated
    with pytest.raises(ValueError):
        SlidingWindowMapBuffer(c, len(data))  # past the end
    with pytest.raises(ValueError):
        SlidingWindowMapBuffer(c, -1)
    with pytest.raises(TypeError):
        SlidingWindowMapBuffer("not a cursor")
    buf = SlidingWindowMapBuffer()
    assert buf.cursor() is None and len(buf) == 0
    buf.end_access()
    buf.end_access()
    # not in access: as smmap's AttributeError (no cursor) or AssertionError
    # (after end_access()), a ValueError and an AttributeError
    for key in (0, slice(0, 10)):
        with pytest.raises(ValueError):
            buf[key]
        with pytest.raises(AttributeError):
            buf[key]
    assert buf.begin_access() is False  # no cursor yet
    assert buf.begin_access(c, len(data)) is False
    with pytest.raises(AttributeError):
        buf[0]
    assert buf.begin_access(c, 100) is True
    assert buf.cursor() is c and c.is_valid() and len(buf) == len(data) - 100
    assert buf[0] == data[100]
    assert buf.begin_access() is True and len(buf) == len(data) and buf[0] == data[0]
    assert buf.begin_access(offset=10, size=5) and len(buf) == 5 and buf[:] == data[10:15]
    assert buf.begin_access(size=2**64 - 1) and len(buf) == len(data)
    assert buf.begin_access(cursor=c, offset=1, size=3, flags=0) and buf[:] == data[1:4]
    buf.end_access()
    assert not c.is_valid() and c.is_associated() and len(buf) == 0
    with pytest.raises(ValueError):
        buf[0]
    assert buf.begin_access() and c.is_valid()
    # an empty buffer in access answers with IndexError and empty slices
    assert buf.begin_access(size=0) and len(buf) == 0 and buf[:10] == b""
    with pytest.raises(IndexError):
        buf[0]
    # floats are truncated, as smmap's arithmetic took them
    assert buf.begin_access(offset=2.5, size=3.9) and buf[:] == data[2:5]
    assert buf.begin_access()
    del buf  # ends access, as smmap
    assert not c.is_valid()
    b2 = SlidingWindowMapBuffer(cursor=c, offset=3, size=4, flags=0)
    assert b2[:] == data[3:7]
    del b2
    with SlidingWindowMapBuffer(c, 5) as buf:
        assert buf[0] == data[5]
    assert not c.is_valid() and len(buf) == 0


def test_buffer_moves_the_callers_cursor(make_file):
    # as in smmap the buffer uses the cursor it was given
    path, data = make_file(4 * W)
    c = SlidingWindowMapManager(window_size=W).make_cursor(path)
    buf = SlidingWindowMapBuffer(c)
    assert buf[3 * W + 1] == data[3 * W + 1]
    assert c.includes_ofs(3 * W + 1)


def test_bytes_across_the_end_of_a_grown_file(make_file):
    path, data = make_file(W)
    m = SlidingWindowMapManager(window_size=W)
    buf = SlidingWindowMapBuffer(m.make_cursor(path))
    assert len(buf) == W
    with open(path, "ab") as f:
        f.write(b"x" * 100)
    assert len(buf) == W  # fixed at begin_access
    assert buf.begin_access() and len(buf) == W + 100 and buf[-1] == ord("x")


def test_stepped_slices_read_only_what_they_pick(tmp_path):
    """buf[::2**30] of a 64 GiB sparse file picks 64 bytes: it must not
    first copy the 64 GiB between them (MemoryError before)."""
    path = str(tmp_path / "sparse")
    gib = 1 << 30
    with open(path, "wb") as f:
        for k in range(64):
            f.seek(k * gib)
            f.write(bytes([k + 1, 200 - k]))
        f.truncate(64 * gib)
    m = SlidingWindowMapManager(window_size=1 << 20, max_memory_size=8 << 20)
    buf = SlidingWindowMapBuffer(m.make_cursor(path))
    assert buf[::gib] == bytes(range(1, 65))
    assert buf[1::gib] == bytes(200 - k for k in range(64))
    assert buf[-1::-gib] == bytes(64)  # the last byte of each GiB: a hole
    assert buf[63 * gib::-gib] == bytes(range(64, 0, -1))
    assert m.stats()["mapped_peak"] <= 8 << 20


@pytest.mark.parametrize("step", [2, 3, -1, -7, 4093, 65535, 65536, 70000, -65537])
def test_stepped_slices_match_bytes(make_file, step):
    """Stepped slices are read a piece at a time: every piece boundary
    must give the same bytes as slicing the data."""
    path, data = make_file(300 * 1024 + 17)
    m = SlidingWindowMapManager(window_size=16 * PAGE)
    buf = SlidingWindowMapBuffer(m.make_cursor(path))
    for start, stop in [(None, None), (5, None), (None, -3), (1000, 250000), (-1, 0)]:
        assert buf[start:stop:step] == data[start:stop:step], (start, stop, step)
