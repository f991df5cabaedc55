"""Files deleted or replaced under a manager (what `git gc` does to packs
under a long-running GitPython): once no cursor holds the file, mman.collect()
and the next miss a while later give back its windows and its descriptor, so
/proc/self/maps and /proc/self/fd show no "(deleted)" entry of it. A cursor
still on the file keeps reading it until it is let go."""
import gc
import os
import sys
import time

import pytest

import smmap
from conftest import KiB, MiB, pattern

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="counts /proc/self entries")

# Longer than the library's interval between two checks on a miss.
PAST_INTERVAL = 0.15


def deleted_held(directory):
    """(deleted) entries of files under directory in /proc/self/maps and fd."""
    prefix, n = str(directory) + os.sep, 0
    with open("/proc/self/maps") as f:
        for line in f:
            name = line.rstrip("\n").partition("/")[2]
            n += ("/" + name).startswith(prefix) and name.endswith(" (deleted)")
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        n += target.startswith(prefix) and target.endswith(" (deleted)")
    return n


def read_through(man, path, data, window):
    c = man.make_cursor(path)
    for off in range(0, len(data), window // 2):
        assert c.use_region(off, window // 2).is_valid()
        assert c.buffer()[:] == data[off:off + c.size()]
    del c
    gc.collect()


@pytest.fixture
def old_and_new(tmp_path):
    """A file made, mapped through a manager, let go of and deleted; another
    file written under the same name, as git writes a new pack."""
    def make(man, window, replace):
        path = str(tmp_path / "pack")
        data = pattern(3 * MiB + 17, 1)
        with open(path, "wb") as f:
            f.write(data)
        read_through(man, path, data, window)
        assert man.num_open_files() == 1
        assert deleted_held(tmp_path) == 0
        new = pattern(MiB, 2)
        if replace:
            with open(path + ".tmp", "wb") as f:
                f.write(new)
            os.rename(path + ".tmp", path)
        else:
            os.remove(path)
            with open(path, "wb") as f:
                f.write(new)
        assert deleted_held(tmp_path) > 0, "nothing held before the check"
        return path, new
    return make


@pytest.mark.parametrize("replace", [False, True], ids=["delete", "rename"])
def test_collect_gives_back(tmp_path, old_and_new, replace):
    man = smmap.SlidingWindowMapManager(window_size=256 * KiB)
    path, new = old_and_new(man, 256 * KiB, replace)
    assert man.collect() > 0
    assert deleted_held(tmp_path) == 0
    assert man.num_open_files() == 0
    assert man.mapped_memory_size() == 0
    assert man.stats()["files_deleted"] == 1
    read_through(man, path, new, 256 * KiB)


def test_next_miss_gives_back(tmp_path, old_and_new):
    man = smmap.SlidingWindowMapManager(window_size=256 * KiB)
    other = str(tmp_path / "other")
    with open(other, "wb") as f:
        f.write(pattern(MiB, 3))
    keep = man.make_cursor(other)
    path, new = old_and_new(man, 256 * KiB, False)
    time.sleep(PAST_INTERVAL)
    assert keep.use_region(100, 10).is_valid()  # a miss on another file
    assert deleted_held(tmp_path) == 0
    assert man.num_open_files() == 1
    assert man.stats()["files_deleted"] == 1


def test_cursor_in_use_keeps_reading(tmp_path):
    man = smmap.StaticWindowMapManager()
    path = str(tmp_path / "pack")
    data = pattern(2 * MiB + 5, 4)
    with open(path, "wb") as f:
        f.write(data)
    c = man.make_cursor(path).use_region(0, 100)
    os.remove(path)
    man.collect()
    assert c.is_valid() and c.buffer()[:] == data[:100]
    assert c.use_region(MiB, 1000).buffer()[:] == data[MiB:MiB + 1000]
    assert deleted_held(tmp_path) > 0
    c.unuse_region()
    del c
    gc.collect()
    assert deleted_held(tmp_path) == 0, "the file outlived its last cursor"
    assert man.num_open_files() == 0
