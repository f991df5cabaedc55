"""Zero-copy views: cursor.buffer(), cursor.map() and buffer slices keep their
window mapped until released - across unuse_region(), collect(), moving the
cursor and dropping cursor and manager - and read the right bytes meanwhile."""
import copy
import gc
import os
import random
import struct

import pytest

from smmap import SlidingWindowMapBuffer, SlidingWindowMapManager, StaticWindowMapManager

from conftest import PAGE, file_mappings

W = 16 * PAGE


def test_buffer_is_a_readonly_view(make_file):
    path, data = make_file(4 * W)
    c = SlidingWindowMapManager(window_size=W).make_cursor(path).use_region(W + 5, 100)
    v = c.buffer()
    assert isinstance(v, memoryview) and v.readonly and len(v) == 100
    assert v == data[W + 5:W + 105] and v[0] == data[W + 5] and v[-1] == data[W + 104]
    with pytest.raises(TypeError):
        v[0] = 1
    assert struct.unpack_from(">L", v, 4)[0] == struct.unpack_from(">L", data, W + 9)[0]


def test_view_survives_unuse_collect_and_manager(make_file):
    path, data = make_file(6 * W)
    m = SlidingWindowMapManager(window_size=W)
    c = m.make_cursor(path)
    v = c.use_region(2 * W + 1, W // 2).buffer()
    s = v[10:20]                      # a slice of the view shares its export
    mp = c.map()
    c.unuse_region()
    assert m.collect() == 0           # the window is still in use by the views
    assert m.num_file_handles() == 1
    c.use_region(5 * W, 10)           # the cursor moves on
    c.unuse_region()
    assert m.collect() == 1           # only the cursor's new window goes
    del c, m
    gc.collect()
    assert file_mappings(path) == 1
    assert v == data[2 * W + 1:2 * W + 1 + W // 2]
    assert s == data[2 * W + 11:2 * W + 21]
    assert len(mp) == W and mp[0:4] == data[2 * W:2 * W + 4] and bytes(mp) == data[2 * W:3 * W]
    v.release()
    assert s.tobytes() == data[2 * W + 11:2 * W + 21]
    del s, mp
    gc.collect()
    assert file_mappings(path) == 0   # the last view took the window with it


def test_window_counts_while_views_live(make_file):
    path, data = make_file(4 * W)
    m = SlidingWindowMapManager(window_size=W, max_memory_size=2 * W)
    c = m.make_cursor(path)
    views = []
    for ofs in (0, W, 2 * W, 3 * W - 1):
        views.append((ofs, c.use_region(ofs, 10).buffer()))
    c.unuse_region()
    m.collect()
    # every window a view holds stays, over the soft limit
    assert m.num_file_handles() == 4
    for ofs, v in views:
        assert v == data[ofs:ofs + 10]
    del views, v
    assert m.collect() == 4 and m.num_file_handles() == 0


def test_no_extra_client_without_views(make_file):
    path, _ = make_file(4 * W)
    m = SlidingWindowMapManager(window_size=W)
    c = m.make_cursor(path).use_region(0, 10)
    c.buffer()
    c.map()
    c.buffer()[1:3].tobytes()
    r = c.region()
    assert r.client_count() == 2
    c.use_region(3 * W, 10)
    assert r.client_count() == 1
    c.unuse_region()
    assert m.collect() == 2 and m.num_file_handles() == 0


def test_buffer_slices_are_views(make_file):
    path, data = make_file(5 * W)
    m = SlidingWindowMapManager(window_size=W)
    buf = SlidingWindowMapBuffer(m.make_cursor(path), 100)
    v = buf[W:W + 200]
    assert isinstance(v, memoryview) and v == data[W + 100:W + 300]
    buf.end_access()
    buf.cursor().use_region(4 * W)
    m.collect()
    assert v == data[W + 100:W + 300]
    del buf
    gc.collect()
    assert v.tobytes() == data[W + 100:W + 300]


def test_map_is_mmap_like(make_file):
    path, data = make_file(3 * W + 11)
    for m in (SlidingWindowMapManager(window_size=W), StaticWindowMapManager()):
        c = m.make_cursor(path).use_region(W + 5)
        mp = c.map()
        r = c.region()
        b = r.ofs_begin()
        want = data[b:r.ofs_end()]
        assert c.map() is mp and r.buffer() is mp and r.map() is mp
        assert len(mp) == r.size() == len(want)
        assert mp[0] == want[0] and mp[-1] == want[-1]
        assert mp[3:40] == want[3:40] and isinstance(mp[3:40], bytes)
        assert mp[-20:] == want[-20:] and mp[::7] == want[::7] and mp[40:3] == b""
        # slices compare as bytes, as gitdb needs for its sha bisection
        assert mp[:20] < b"\xff" * 21 and b"" < mp[:20]
        assert memoryview(mp) == want and bytes(mp) == want
        assert struct.unpack_from(">Q", mp, 8)[0] == struct.unpack_from(">Q", want, 8)[0]
        with pytest.raises(IndexError):
            mp[len(want)]
        assert memoryview(mp).readonly
        assert "smmap window" in repr(mp)


def test_views_are_independent(make_file):
    """The window reuses a view nobody else holds; one that is held, sliced,
    exported, released or weakly referenced is never changed afterwards."""
    import weakref
    path, data = make_file(4 * W)
    m = SlidingWindowMapManager(window_size=W)
    c = m.make_cursor(path)
    buf = SlidingWindowMapBuffer(m.make_cursor(path))
    held = [(o, c.use_region(o, 64).buffer()) for o in (0, 100, W + 7, 3 * W)]
    held += [(o, buf[o:o + 64]) for o in (5, 1000, 2 * W + 1)]
    sub = c.use_region(200, 64).buffer()[8:16]            # a slice of a dropped view
    exported = memoryview(c.use_region(300, 64).buffer())  # re-exported, view dropped
    r = c.use_region(400, 64).buffer()
    ref = weakref.ref(r)
    del r
    with c.use_region(500, 64).buffer() as rel:
        assert rel == data[500:564]
    for o in range(0, 4 * W - 64, 997):                   # views made and dropped
        assert c.use_region(o, 64).buffer() == data[o:o + 64]
        assert buf[o + 1:o + 33] == data[o + 1:o + 33]
    for o, v in held:
        assert v == data[o:o + 64] and len(v) == 64 and v.nbytes == 64
    assert sub == data[208:216] and exported == data[300:364]
    assert ref() is None or ref() == data[400:464]
    with pytest.raises(ValueError):
        rel[0]                                            # still released
    assert hash(c.use_region(9, 8).buffer()) == hash(data[9:17])
    assert hash(c.use_region(19, 8).buffer()) == hash(data[19:27])


def test_view_of_a_view_after_cursor_death(make_file):
    path, data = make_file(2 * W)
    c = SlidingWindowMapManager(window_size=W).make_cursor(path).use_region(7, 50)
    v = c.buffer()
    del c
    gc.collect()
    assert v[5:10] == data[12:17]


def test_nothing_leaks(make_file):
    """Cursors, copies, buffers, views and maps in every order: afterwards no
    descriptor, mapping or window is left."""
    path, data = make_file(8 * W)
    fds = len(os.listdir("/proc/self/fd"))
    m = SlidingWindowMapManager(window_size=W, max_memory_size=4 * W)
    rnd = random.Random(3)
    keep = []
    for i in range(3000):
        c = m.make_cursor(path if i % 2 else path.encode())
        ofs = rnd.randrange(len(data))
        c.use_region(ofs, rnd.randrange(1, W))
        what = rnd.randrange(6)
        if what == 0:
            keep.append(c.buffer())
        elif what == 1:
            keep.append(c.map())
        elif what == 2:
            keep.append(copy.copy(c))
        elif what == 3:
            buf = SlidingWindowMapBuffer(c, ofs // 2)
            keep.append(buf[: W // 2])
        elif what == 4:
            keep.append(c.region())
        if len(keep) > 20:
            del keep[rnd.randrange(len(keep))]
        if i % 500 == 0:
            m.collect()
    del keep, c, buf
    gc.collect()
    assert m.collect() >= 0 and m.num_file_handles() == 0 and m.num_open_files() == 0
    assert file_mappings(path) == 0
    del m
    assert len(os.listdir("/proc/self/fd")) == fds
