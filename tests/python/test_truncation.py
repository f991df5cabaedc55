"""A file truncated under a mapping: zero-copy views are handed out only
after their last byte was probed under the library's SIGBUS guard, so
cursor.buffer(), cursor.map(), region().buffer(), memoryview(map) and buffer
slices raise OSError ("file truncated while mapped", errno None, filename
the path) instead of handing out memory that would kill the process. Views
whose bytes the file still covers keep working. Each scenario runs in a
subprocess: a missed probe would end it with SIGBUS, not fail an assert."""
import subprocess
import sys
import textwrap

import pytest

from conftest import PAGE, env_with_target

W = 16 * PAGE
MSG = "file truncated while mapped"

PRELUDE = textwrap.dedent("""
    import os, struct, sys
    import smmap
    path, W, PAGE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    data = open(path, "rb").read()
    m = smmap.SlidingWindowMapManager(window_size=W)

    def raises(what, fn):
        try:
            fn()
        except OSError as e:
            assert type(e) is OSError and e.errno is None, (what, repr(e))
            assert e.strerror == %r, (what, e.strerror)
            print(what, "OSError", e.filename == path or e.filename)
        else:
            print(what, "no error")
""" % MSG)


def run(make_file, body, size=4 * W):
    path, _ = make_file(size)
    p = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body), path, str(W),
                        str(PAGE)], env=env_with_target(), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, (p.returncode, p.stderr)  # -7: killed by SIGBUS
    return p.stdout.splitlines()


def test_cursor_buffer_and_map(make_file):
    out = run(make_file, """
        c = m.make_cursor(path).use_region(W + 5, 100)
        r = c.region()
        os.truncate(path, 10)
        raises("buffer", c.buffer)
        raises("map", c.map)
        raises("region", r.buffer)
        c.use_region(W + W // 2)                 # still inside the mapped window
        raises("buffer", c.buffer)
        print("valid", c.is_valid())
    """)
    assert out == ["buffer OSError True", "map OSError True", "region OSError True",
                   "buffer OSError True", "valid True"]


def test_map_taken_before(make_file):
    # a map() taken before the truncation: exporting it probes, reading it is guarded
    out = run(make_file, """
        c = m.make_cursor(path).use_region(0)
        mp = c.map()
        c2 = m.make_cursor(path)
        mp2 = c2.use_region(2 * W).map()
        c2.use_region(3 * W)                     # mp2 now holds its window alone
        os.truncate(path, 10)
        raises("memoryview", lambda: memoryview(mp))
        raises("unpack_from", lambda: struct.unpack_from(">L", mp, 100))
        raises("slice", lambda: mp[PAGE + 100:PAGE + 200])
        raises("index", lambda: mp[PAGE])
        raises("memoryview-unowned", lambda: memoryview(mp2))
        print("first page", mp[0:10] == data[0:10], mp[5] == data[5])
    """)
    assert out == ["memoryview OSError True", "unpack_from OSError True",
                   "slice OSError True", "index OSError True",
                   "memoryview-unowned OSError True", "first page True True"]


def test_buffer_slices(make_file):
    out = run(make_file, """
        buf = smmap.SlidingWindowMapBuffer(m.make_cursor(path))
        assert bytes(buf[W + 1:W + 65]) == data[W + 1:W + 65]
        os.truncate(path, 10)
        raises("in-window", lambda: buf[W + 100:W + 164])
        raises("across", lambda: buf[W - 10:W + 10])
        raises("byte", lambda: buf[W + 7])
    """)
    assert out == ["in-window OSError True", "across OSError True", "byte OSError True"]


def test_views_the_file_still_covers(make_file):
    # cut in the middle of a window: views below the cut work, views reaching
    # past its page raise (the probe is of the view's own last byte)
    out = run(make_file, """
        c = m.make_cursor(path).use_region(W, W // 2)
        buf = smmap.SlidingWindowMapBuffer(m.make_cursor(path))
        buf[W]
        cut = W + 3 * PAGE
        os.truncate(path, cut)
        print("below", c.use_region(W + 5, 100).buffer() == data[W + 5:W + 105],
              buf[W + 10:W + 74] == data[W + 10:W + 74],
              c.use_region(W, 3 * PAGE).buffer() == data[W:cut])
        raises("past", lambda: c.use_region(W + 2 * PAGE, 2 * PAGE).buffer())
        raises("slice-past", lambda: buf[cut + PAGE:cut + PAGE + 64])
        raises("map", c.map)
    """)
    assert out == ["below True True True", "past OSError True", "slice-past OSError True",
                   "map OSError True"]


@pytest.mark.parametrize("kind", ["sliding", "static"])
def test_views_before_truncation_are_still_valid_objects(make_file, kind):
    # views handed out before a truncation that spares them go on working,
    # and releasing them after the truncation unmaps cleanly
    out = run(make_file, """
        mm = smmap.SlidingWindowMapManager(window_size=W if %r == "sliding" else 0)
        c = mm.make_cursor(path)
        v = c.use_region(10, 50).buffer()
        os.truncate(path, 2 * PAGE)
        print("view", v == data[10:60])
        v.release()
        c.unuse_region()
        print("collected", mm.collect())
    """ % kind)
    assert out == ["view True", "collected 1"]
