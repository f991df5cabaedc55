"""Managers and cursors: every public method and keyword, window geometry,
the counters (handles, mapped memory, open files, client counts), LRU
eviction, copies, paths of every spelling, and errors."""
import copy
import os
import pathlib
import sys

import pytest

import smmap
from smmap import mman, util
from smmap.mman import SlidingWindowMapManager, StaticWindowMapManager, WindowCursor

from conftest import KiB, MiB, PAGE, file_mappings

W = 16 * PAGE  # a small window: 8 grid slots per 4 windows


def sliding(**kw):
    kw.setdefault("window_size", W)
    return SlidingWindowMapManager(**kw)


# ------------------------------------------------------------------ names

def test_public_names():
    for name in ("SlidingWindowMapManager", "StaticWindowMapManager", "WindowCursor",
                 "SlidingWindowMapBuffer"):
        assert hasattr(smmap, name)
    assert mman.__all__ == ["StaticWindowMapManager", "SlidingWindowMapManager", "WindowCursor"]
    for name in ("align_to_mmap", "is_64_bit", "MapWindow", "MapRegion", "MapRegionList",
                 "ALLOCATIONGRANULARITY"):
        assert hasattr(util, name)
    assert issubclass(SlidingWindowMapManager, StaticWindowMapManager)
    assert smmap.WindowCursor is WindowCursor
    assert isinstance(smmap.__version__, str) and smmap.version_info


def test_version_satisfies_smmap_clients():
    """gitdb and GitPython require smmap>=3.0.1,<6 of the installed
    distribution: the drop-in says it is smmap 5.0.2, with the C library's
    version as the local label, in the module and in its metadata alike."""
    import importlib.metadata
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
    from smmap._smmap import LIBRARY_VERSION
    assert smmap.__version__ == "5.0.2+libsmmap." + LIBRARY_VERSION
    assert smmap.version_info == (5, 0, 2)
    assert importlib.metadata.version("smmap") == smmap.__version__
    assert Version(smmap.__version__) in SpecifierSet(">=3.0.1,<6")
    root = pathlib.Path(__file__).resolve().parents[2]
    assert (root / "VERSION").read_text().strip() == LIBRARY_VERSION
    assert "version = '%s'" % smmap.__version__ in (root / "pyproject.toml").read_text()


def test_util():
    assert util.align_to_mmap(1, False) == 0
    assert util.align_to_mmap(1, True) == util.ALLOCATIONGRANULARITY
    assert util.align_to_mmap(util.ALLOCATIONGRANULARITY, True) == util.ALLOCATIONGRANULARITY
    assert util.is_64_bit() == (sys.maxsize > 2**32)


def test_util_region_list_paths(make_file):
    path, data = make_file(100)
    for item in (path, path.encode(), pathlib.Path(path)):
        assert util.MapRegionList(item).file_size() == 100
        r = util.MapRegion(item, 0, 100)
        assert r.buffer()[:] == data and r.client_count() == 1


# --------------------------------------------------------------- managers

def test_defaults():
    m = SlidingWindowMapManager()
    big = util.is_64_bit()
    assert m.window_size() == (1024 if big else 64) * MiB
    assert m.max_mapped_memory_size() == (8192 if big else 1024) * MiB
    assert 16 <= m.max_file_handles() < 2**32
    s = StaticWindowMapManager()
    assert s.window_size() == 0
    assert s.max_mapped_memory_size() == m.max_mapped_memory_size()
    for man in (m, s):
        assert man.num_file_handles() == man.num_open_files() == man.mapped_memory_size() == 0
        assert man.collect() == 0
        assert man._collect_lru_region(0) == 0
        assert man._collect_lru_region(10) == 0
        assert man._collect_lru_region(sys.maxsize) == 0
        assert man.force_map_handle_removal_win("/") is None


def test_keywords():
    m = SlidingWindowMapManager(window_size=W, max_memory_size=4 * W, max_open_handles=3)
    assert (m.window_size(), m.max_mapped_memory_size(), m.max_file_handles()) == (W, 4 * W, 3)
    # window sizes round up to whole pages (smmap: align_to_mmap)
    assert SlidingWindowMapManager(window_size=W + 1).window_size() == W + PAGE
    # negative window size: the default, at most max_memory/8
    assert SlidingWindowMapManager(-1, 64 * W).window_size() <= 8 * W
    # window size 0: whole files, as the static manager
    assert SlidingWindowMapManager(window_size=0).window_size() == 0
    assert StaticWindowMapManager(max_memory_size=8 * W).max_mapped_memory_size() == 8 * W
    assert SlidingWindowMapManager(max_open_handles=sys.maxsize).max_file_handles() < 2**32


@pytest.mark.parametrize("kw", [
    dict(max_open_handles=0), dict(max_open_handles=-5), dict(max_open_handles=0.5),
    dict(max_memory_size=float("nan")),
])
def test_bad_keywords(kw):
    with pytest.raises(ValueError, match="^%s: " % next(iter(kw))):
        SlidingWindowMapManager(**kw)


def test_limits_smmap_took_are_clipped(make_file):
    """smmap took any cap (soft limits): one below two pages, even negative,
    is two pages, the library's least; one below the window asked for is
    lifted to one window, which is what smmap mapped then. Floats are
    truncated."""
    path, data = make_file(4 * W)
    for kw, window, memory in (
            (dict(window_size=W, max_memory_size=1), W, W),
            (dict(window_size=W, max_memory_size=-1), W, W),
            (dict(max_memory_size=1), 2 * PAGE, 2 * PAGE),
            (dict(window_size=4 * W, max_memory_size=2 * W), 4 * W, 4 * W),
            (dict(window_size=W + 0.5, max_memory_size=8 * W + 0.5), W, 8 * W),
            (dict(window_size=1), 2 * PAGE, None)):
        m = SlidingWindowMapManager(**kw)
        assert m.window_size() == window
        assert memory is None or m.max_mapped_memory_size() == memory
        c = m.make_cursor(path)
        for ofs in (0, 2 * W + 5, 4 * W - 10):
            assert c.use_region(ofs, 10).buffer() == data[ofs:ofs + 10]
            assert m.mapped_memory_size() <= m.max_mapped_memory_size()
    assert SlidingWindowMapManager(max_open_handles=2.5).max_file_handles() == 2
    # a window larger than the default cap lifts it too (smmap: 8 GiB, soft)
    big = SlidingWindowMapManager(window_size=2 * mman._DEFAULT_MEMORY)
    assert big.max_mapped_memory_size() == big.window_size() == 2 * mman._DEFAULT_MEMORY


def test_geometry_and_counters(make_file):
    """Windows of W bytes on a W/2 grid; every request of up to W/2 bytes is
    whole; counters follow."""
    size = 10 * W + 123
    path, data = make_file(size)
    m = sliding()
    c = m.make_cursor(path)
    assert m.num_open_files() == 0 and m.num_file_handles() == 0
    for n in (1, 100, W // 4, W // 2):
        for ofs in list(range(0, size - n, W // 2 - 37)) + [size - n]:
            assert c.use_region(ofs, n).is_valid()
            assert c.size() == n and c.ofs_begin() == ofs and c.ofs_end() == ofs + n
            assert c.buffer() == data[ofs:ofs + n]
            r = c.region()
            assert r.ofs_begin() % (W // 2) == 0
            assert r.size() == min(W, size - r.ofs_begin())
            assert r.ofs_end() == r.ofs_begin() + r.size() <= size
            assert r.includes_ofs(ofs) and r.includes_ofs(ofs + n - 1)
            assert not r.includes_ofs(r.ofs_end()) and not r.includes_ofs(-1)
    handles = m.num_file_handles()
    assert 10 <= handles <= size // (W // 2) + 1  # at most one per grid slot
    assert m.num_open_files() == 1
    assert m.mapped_memory_size() <= handles * W
    # a second file
    path2, data2 = make_file(3 * W, seed=2)
    c2 = m.make_cursor(path2).use_region(W, 10)
    assert c2.buffer() == data2[W:W + 10]
    assert m.num_open_files() == 2 and m.num_file_handles() == handles + 1
    st = m.stats()
    assert st["windows"] == m.num_file_handles() and st["mapped"] == m.mapped_memory_size()
    # collecting keeps windows in use
    assert m.collect() == handles + 1 - 2  # all but the two windows in use
    assert m.num_file_handles() == 2
    c.unuse_region()
    c2.unuse_region()
    assert m.collect() == 2
    assert m.num_file_handles() == m.num_open_files() == m.mapped_memory_size() == 0


def test_size_zero_and_big_requests(make_file):
    size = 4 * W
    path, data = make_file(size)
    c = sliding().make_cursor(path)
    # size 0: as much as the window holds from offset
    assert c.use_region().is_valid() and c.ofs_begin() == 0 and c.size() == W
    assert c.use_region(W // 2 + 5).ofs_begin() == W // 2 + 5
    assert c.ofs_end() == c.region().ofs_end()
    # bigger than a window: what the window holds
    assert c.use_region(0, 10 * W).size() <= W
    assert c.use_region(10, sys.maxsize).is_valid()
    assert c.buffer() == data[10:c.ofs_end()]
    # near the end: cut at the end of the file
    assert c.use_region(size - 10, W // 2).size() == 10
    assert c.buffer() == data[-10:]


def test_end_of_file(make_file):
    path, data = make_file(3 * W + 5)
    c = sliding().make_cursor(path)
    assert c.use_region(0, 10).is_valid()
    assert not c.use_region(len(data), 1).is_valid()
    assert not c.use_region(len(data) + W * 100).is_valid()
    assert c.size() == 0 and c.region() is None
    assert c.use_region(len(data) - 1).size() == 1
    assert c.buffer() == data[-1:]


def test_static_manager(make_file):
    path, data = make_file(5 * W + 7)
    for m in (StaticWindowMapManager(), SlidingWindowMapManager(window_size=0)):
        c = m.make_cursor(path)
        assert c.use_region(3 * W, 10).is_valid()
        r = c.region()
        assert (r.ofs_begin(), r.size()) == (0, len(data))
        assert bytes(c.map()) == data
        assert c.use_region(0).size() == len(data)
        c2 = m.make_cursor(path).use_region(10)
        assert c2.region() == r and m.num_file_handles() == 1
        assert c2.region().client_count() == 3


def test_client_counts(make_file):
    """The manager counts as one client, each cursor using a window as one more."""
    path, _ = make_file(4 * W)
    m = sliding()
    c1 = m.make_cursor(path).use_region(100, 10)
    r = c1.region()
    assert r.client_count() == 2
    c2 = m.make_cursor(path).use_region(200, 10)
    assert c2.region() == r and r.client_count() == 3
    c3 = copy.copy(c1)
    assert c3.is_valid() and c3.region() == r and r.client_count() == 4
    c3.unuse_region()
    assert r.client_count() == 3
    del c3
    c2.use_region(3 * W)
    assert c2.region() != r
    assert r.client_count() == 2 and c2.region().client_count() == 2
    # as in smmap, a view is no client, although it keeps the window mapped
    # after its cursor left it
    v = c2.buffer()
    c1.use_region(3 * W + 1)
    assert c1.region() == c2.region() and c1.region().client_count() == 3
    c2.unuse_region()
    assert c1.region().client_count() == 2  # the manager and c1
    c1.unuse_region()
    r = c2.use_region(3 * W).region()
    c2.unuse_region()
    assert r.client_count() == 1 and m.collect() == 1  # the other window
    assert m.num_file_handles() == 1 and v == bytes(v)
    v.release()
    assert r.client_count() == 1 and m.collect() == 1
    assert r.client_count() == 0


def test_idle_region_is_manager_only(make_file):
    # as smmap's own suite: a region its cursor left is held by the manager only
    path, _ = make_file(4 * W)
    m = sliding()
    c = m.make_cursor(path).use_region(0, 10)
    r = c.region()
    c.use_region(3 * W, 10)
    assert c.region() != r and r.client_count() == 1
    assert m.num_file_handles() == 2


def test_region_count_after_its_cursor_left(make_file):
    path, _ = make_file(4 * W)
    m = sliding()
    c1 = m.make_cursor(path).use_region(0, 10)
    c2 = m.make_cursor(path).use_region(1, 10)
    r = c1.region()
    c1.use_region(3 * W, 10)
    assert r.client_count() == 2  # the manager and c2


def test_lru_eviction(make_file):
    """True LRU among idle windows, and only as many evictions as needed."""
    path, _ = make_file(16 * W)
    m = sliding(max_memory_size=3 * W)
    c = m.make_cursor(path)
    a, b, cc, d = 0, 4 * W, 8 * W, 12 * W
    for ofs in (a, b, cc, a):  # a is now the most recently used
        c.use_region(ofs, 10)
    c.unuse_region()
    st = m.stats()
    assert st["misses"] == 3 and m.num_file_handles() == 3
    c.use_region(d, 10)  # evicts b, the least recently used
    assert m.stats()["evictions"] == st["evictions"] + 1
    assert m.num_file_handles() == 3 and m.mapped_memory_size() <= 3 * W
    misses = m.stats()["misses"]
    c.use_region(a, 10)
    c.use_region(cc, 10)
    assert m.stats()["misses"] == misses  # a and cc stayed
    c.use_region(b, 10)
    assert m.stats()["misses"] == misses + 1


def test_max_open_handles(make_file):
    path, data = make_file(16 * W)
    m = sliding(max_open_handles=2)
    c = m.make_cursor(path)
    for ofs in range(0, 16 * W, W):
        assert c.use_region(ofs, 10).buffer() == data[ofs:ofs + 10]
        assert m.num_file_handles() <= 2
    # soft limits: windows in use are never unmapped, the limit is exceeded
    cursors = [m.make_cursor(path).use_region(ofs, 10) for ofs in range(0, 8 * W, W)]
    assert m.num_file_handles() >= 8
    assert m.stats()["limit_exceeded"] > 0
    del cursors


def test_collect_lru_region(make_file):
    path, _ = make_file(8 * W)
    m = sliding(max_memory_size=8 * W)
    c = m.make_cursor(path)
    for ofs in range(0, 8 * W, 2 * W):
        c.use_region(ofs, 10)
    c.unuse_region()
    n = m.num_file_handles()
    assert n == 4
    assert m._collect_lru_region(W) == 0  # it fits
    mapped = m.mapped_memory_size()
    # room for 8 * W - mapped + 2 windows more: the two oldest go, no more
    assert m._collect_lru_region(8 * W - mapped + 2 * W) == 2
    assert m.num_file_handles() == n - 2
    assert m._collect_lru_region(8 * W) == n - 2  # nothing fits: every idle window goes
    assert m.num_file_handles() == 0


def test_collect_path(make_file, tmp_path):
    """force_map_handle_removal_win's engine, on every system: the idle
    windows of the files under a prefix go, and those files' handles."""
    (tmp_path / "pack").mkdir()
    path, _ = make_file(8 * W, name="pack/a")
    other, _ = make_file(8 * W, name="b")
    m = sliding()
    for p in (path, other):
        c = m.make_cursor(p)
        for ofs in range(0, 8 * W, 2 * W):
            c.use_region(ofs, 10)
        c.unuse_region()
    assert m.num_file_handles() == 8 and m.num_open_files() == 2
    assert m._collect_path(pathlib.Path(tmp_path / "pack")) == 4
    assert m.num_file_handles() == 4 and m.num_open_files() == 1
    assert file_mappings(path) == 0 and file_mappings(other) == 4
    assert m._collect_path(str(tmp_path / "pack").encode()) == 0
    with pytest.raises(TypeError):
        m._collect_path(None)


# ---------------------------------------------------------------- cursors

def test_cursor_paths(make_file, tmp_path):
    path, data = make_file(3 * W)
    m = sliding()
    link = tmp_path / "link"
    os.link(path, link)
    fd = os.open(path, os.O_RDONLY)
    try:
        items = [path, path.encode(), pathlib.Path(path), str(link), fd]
        cursors = [m.make_cursor(item) for item in items]
        for item, c in zip(items, cursors):
            assert c.path_or_fd() is item
            assert c.is_associated() and not c.is_valid()
            assert c.file_size() == len(data)
            assert c.use_region(W + 1, 100).buffer() == data[W + 1:W + 101]
            if isinstance(item, int):
                assert c.fd() == fd
                with pytest.raises(ValueError):
                    c.path()
            else:
                assert c.path() is item
                with pytest.raises(ValueError):
                    c.fd()
        # one file however it was named: one window, one open file
        assert m.num_file_handles() == 1 and m.num_open_files() == 1
        assert cursors[0].region().client_count() == 1 + len(items)
    finally:
        os.close(fd)
    # the library holds its own descriptor: ours may be closed
    assert cursors[-1].use_region(0, 10).buffer() == data[:10]


def test_unassociated_cursor(make_file):
    path, data = make_file(W)
    m = sliding()
    ci = WindowCursor(m)
    assert not ci.is_valid() and not ci.is_associated()
    assert ci.size() == 0 and ci.region() is None
    # as smmap, every other call raises; AttributeError there, both here
    for call in (ci.use_region, ci.buffer, ci.map, ci.ofs_begin, ci.ofs_end, ci.file_size,
                 ci.path, ci.fd, ci.path_or_fd, lambda: ci.includes_ofs(0)):
        with pytest.raises(ValueError):
            call()
        with pytest.raises(AttributeError):
            call()
    ci.unuse_region()
    ci._destroy()
    WindowCursor()._destroy()
    # assign associates it
    cv = m.make_cursor(path)
    ci.assign(cv)
    assert ci.is_associated() and not ci.is_valid() and ci.path() == path
    assert ci.use_region(5, 5).buffer() == data[5:10]
    # a cursor made directly, as make_cursor does
    c = WindowCursor(m, util.MapRegionList(path))
    assert c.use_region(1, 2).buffer() == data[1:3]
    with pytest.raises(TypeError):
        WindowCursor(object())
    with pytest.raises(ValueError):
        WindowCursor(None, path)


def test_invalid_cursor_queries(make_file):
    path, data = make_file(W)
    c = sliding().make_cursor(path)
    for call in (c.buffer, c.map, c.ofs_begin, c.ofs_end, lambda: c.includes_ofs(0)):
        with pytest.raises(mman.CursorStateError):  # smmap: AttributeError
            call()
    assert c.use_region(10, 10).includes_ofs(10)
    assert not c.includes_ofs(9) and not c.includes_ofs(20) and not c.includes_ofs(-1)
    assert not c.includes_ofs(2**70)
    # floats compare as they are, as in smmap
    assert c.includes_ofs(10.5) and c.includes_ofs(19.9) and not c.includes_ofs(9.9)
    with pytest.raises(TypeError):
        c.includes_ofs("10")
    c.unuse_region()
    c.unuse_region()
    assert not c.is_valid() and c.is_associated()
    with pytest.raises(AttributeError):
        c.includes_ofs(10)


def test_use_region_arguments(make_file):
    path, data = make_file(2 * W)
    c = sliding().make_cursor(path)
    assert c.use_region(offset=3, size=4, flags=os.O_RDONLY).buffer() == data[3:7]
    assert c.use_region(3, size=4).size() == 4
    for bad in ((-1,), (0, -1)):
        with pytest.raises(ValueError):
            c.use_region(*bad)
    with pytest.raises(TypeError):
        c.use_region(1, 2, 3, 4)
    with pytest.raises(TypeError):
        c.use_region(bogus=1)
    with pytest.raises(TypeError):
        c.use_region(1, offset=1)
    with pytest.raises(TypeError):
        c.use_region("1")
    # past any file's end, as in smmap
    assert not c.use_region(2**64).is_valid() and not c.use_region(2**63).is_valid()
    # floats are truncated; a size of None is 0, as much as the window holds
    assert c.use_region(3.9, 4.5).buffer() == data[3:7]
    assert c.use_region(W - 10, None).size() == 10
    assert c.use_region(0.5).ofs_begin() == 0


def test_copy_and_assign(make_file):
    path, data = make_file(4 * W)
    m = sliding()
    c = m.make_cursor(path).use_region(W + 3, 50)
    for cpy in (copy.copy(c), WindowCursor()):
        if not cpy.is_associated():
            cpy.assign(c)
        assert type(cpy) is WindowCursor
        assert cpy.is_valid() and cpy.path_or_fd() is c.path_or_fd()
        assert (cpy.ofs_begin(), cpy.size()) == (c.ofs_begin(), c.size())
        assert cpy.buffer() == c.buffer() == data[W + 3:W + 53]
        # independent afterwards
        cpy.use_region(3 * W, 10)
        assert c.ofs_begin() == W + 3 and cpy.buffer() == data[3 * W:3 * W + 10]
    c.assign(c)  # self-assignment keeps it
    assert c.buffer() == data[W + 3:W + 53]
    other = m.make_cursor(make_file(W, seed=5)[0]).use_region(0, 10)
    c.assign(other)
    assert c.buffer() == other.buffer() and c.path() == other.path()
    with pytest.raises(TypeError):
        c.assign("x")


def test_context_manager_and_destroy(make_file):
    path, data = make_file(2 * W)
    m = sliding()
    with m.make_cursor(path) as c:
        assert c.use_region(0, 10).is_valid()
    assert not c.is_valid() and c.is_associated()
    c.use_region(0, 10)
    c._destroy()
    assert not c.is_valid()
    assert c.use_region(W, 10).buffer() == data[W:W + 10]  # still usable


def test_grown_file(make_file):
    path, data = make_file(W // 2)
    m = sliding()
    c = m.make_cursor(path)
    assert c.use_region(0).size() == W // 2
    more = bytes(range(256)) * (W // 256)
    with open(path, "ab") as f:
        f.write(more)
    # the size is re-read on a miss
    assert c.use_region(W // 2 + 10, 10).buffer() == more[10:20]
    assert c.file_size() == W // 2 + W


def test_cursor_outlives_manager(make_file):
    path, data = make_file(3 * W)
    m = sliding()
    c = m.make_cursor(path)
    del m
    assert c.use_region(2 * W, 10).buffer() == data[2 * W:2 * W + 10]
    assert c.use_region(0, 10).buffer() == data[:10]


def test_growth_across_the_old_end(tmp_path):
    """A request across the end a file had when its window was mapped sees
    the file grown, whole (up to window_size/2 bytes), whether that window
    is the cursor's own or idle in the manager's cache."""
    for idle in (False, True):
        path = tmp_path / ("grow%d" % idle)
        data = os.urandom(20000)
        path.write_bytes(data[:10000])
        m = SlidingWindowMapManager(window_size=64 * 1024)
        c = m.make_cursor(str(path))
        assert c.use_region(0, 100).ofs_end() == 100
        if idle:
            c.unuse_region()
        with open(path, "ab") as f:
            f.write(data[10000:])
        assert c.use_region(9990, 100).buffer() == data[9990:10090]
        assert c.file_size() == 20000
