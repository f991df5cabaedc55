"""The drop-in on every CPython it supports and on PyPy, with nothing but the
standard library (scripts/python-versions.sh runs it with each pyenv
interpreter, scripts/pypy.sh with PyPy, beside smmap's own suite). It covers
what depends on the interpreter: buffer exports and their release, slices,
the errors raised, the module's version, the calls that release files, and
windows held only by objects nothing references (freed at once by CPython,
at a garbage collection by PyPy)."""
import gc
import os
import random
import tempfile
import threading
import unittest

import smmap
from smmap import SlidingWindowMapBuffer, SlidingWindowMapManager, StaticWindowMapManager

PAGE = 4096
W = 16 * PAGE


class DropIn(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "data")
        n = 10 * W + 123
        self.data = random.Random(7).getrandbits(8 * n).to_bytes(n, "little")
        with open(self.path, "wb") as f:
            f.write(self.data)

    def tearDown(self):
        gc.collect()
        self.dir.cleanup()

    def test_version(self):
        self.assertTrue(smmap.__version__.startswith("5.0.2+libsmmap."))
        self.assertEqual(smmap.version_info, (5, 0, 2))

    def test_cursor_regions_and_views(self):
        for man in (SlidingWindowMapManager(window_size=W), StaticWindowMapManager()):
            c = man.make_cursor(self.path)
            for ofs in (0, W - 10, 5 * W + 7, len(self.data) - 1):
                c.use_region(ofs, 100)
                self.assertTrue(c.is_valid())
                self.assertEqual(bytes(c.buffer()), self.data[ofs:ofs + c.size()])
                with memoryview(c.buffer()) as v:
                    self.assertEqual(v[0], self.data[ofs])
            c.unuse_region()
            self.assertFalse(c.is_valid())

    def test_buffer_slices_and_release(self):
        man = SlidingWindowMapManager(window_size=W)
        c = man.make_cursor(self.path)
        with SlidingWindowMapBuffer(c, 3) as b:
            n = len(self.data) - 3
            self.assertEqual(len(b), n)
            for a, z, s in ((0, 10, 1), (W - 5, W + 5, 1), (-100, None, 1), (0, 3 * W, 7),
                            (None, None, -997)):
                self.assertEqual(b[a:z:s], self.data[3:][a:z:s])
            self.assertEqual(b[-1], self.data[-1])
            with self.assertRaises(IndexError):
                b[n]

    def test_int_subclasses_as_offsets(self):
        # Before 3.10 PyNumber_Index returns an int subclass as it is; the
        # extension once called itself on it forever (a crash).
        import enum

        class Off(enum.IntEnum):
            AT = W + 5

        m = SlidingWindowMapManager(window_size=W)
        c = m.make_cursor(self.path).use_region(Off.AT, True)
        self.assertEqual((c.ofs_begin(), c.size()), (W + 5, 1))
        self.assertEqual(bytes(c.buffer()), self.data[W + 5:W + 6])
        buf = SlidingWindowMapBuffer(m.make_cursor(self.path), offset=Off.AT)
        self.assertEqual(buf[0], self.data[W + 5])
        buf.end_access()
        c.unuse_region()

    def test_errors(self):
        man = SlidingWindowMapManager(window_size=W)
        with self.assertRaises(FileNotFoundError) as e:
            man.make_cursor(os.path.join(self.dir.name, "missing"))
        self.assertEqual(e.exception.errno, 2)
        with self.assertRaisesRegex(ValueError, "^max_open_handles: must be at least 1, got 0$"):
            SlidingWindowMapManager(max_open_handles=0)
        # a cap below the window (smmap's soft limits) is lifted to it
        self.assertEqual(SlidingWindowMapManager(window_size=W, max_memory_size=1)
                         .max_mapped_memory_size(), W)
        # misuse raises what smmap raised (AttributeError), as a ValueError too
        c = man.make_cursor(self.path)
        for exc in (AttributeError, ValueError):
            with self.assertRaises(exc):
                c.buffer()
        self.assertEqual(bytes(c.use_region(1.5, 3.5).buffer()), self.data[1:4])

    def test_truncated_under_mapping(self):
        man = SlidingWindowMapManager(window_size=4 * W)
        c = man.make_cursor(self.path)
        b = SlidingWindowMapBuffer(c)
        self.assertEqual(b[:10], self.data[:10])
        os.truncate(self.path, PAGE)
        with self.assertRaises(OSError):
            b[2 * W:2 * W + 10]
        b.end_access()

    def test_threads_share_a_manager(self):
        man = SlidingWindowMapManager(window_size=W, max_memory_size=3 * W)
        bad = []

        def work(seed):
            rnd = random.Random(seed)
            c = man.make_cursor(self.path)
            for _ in range(300):
                ofs = rnd.randrange(len(self.data) - 50)
                c.use_region(ofs, 50)
                if bytes(c.buffer()[:50]) != self.data[ofs:ofs + 50]:
                    bad.append(ofs)
        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(bad, [])

    def test_unreferenced_views_and_cursors_give_windows_back(self):
        man = SlidingWindowMapManager(window_size=W)
        c = man.make_cursor(self.path)
        for ofs in range(0, 8 * W, 2 * W):
            c.use_region(ofs, 10)
            self.assertEqual(c.buffer()[:10], self.data[ofs:ofs + 10])
            self.assertEqual(bytes(c.map()[:10]), self.data[ofs - ofs % (W // 2):][:10])
        buf = SlidingWindowMapBuffer(man.make_cursor(self.path))
        for ofs in range(W, 8 * W, 2 * W):
            self.assertEqual(buf[ofs:ofs + 10], self.data[ofs:ofs + 10])
        self.assertEqual(man.num_file_handles(), 8)
        del c, buf
        self.assertEqual(man.collect(), 8)
        self.assertEqual(man.num_file_handles(), 0)

    def test_limits_kept_while_views_are_dropped(self):
        man = SlidingWindowMapManager(window_size=W, max_open_handles=3)
        c = man.make_cursor(self.path)
        rnd = random.Random(3)
        for _ in range(200):
            ofs = rnd.randrange(len(self.data) - 20)
            self.assertEqual(c.use_region(ofs, 20).buffer()[:], self.data[ofs:ofs + 20])
            self.assertLessEqual(man.num_file_handles(), 3)

    def test_views_are_no_clients(self):
        # as smmap: the manager and the cursors using a window count, not
        # the views that keep it mapped
        man = SlidingWindowMapManager(window_size=W)
        c = man.make_cursor(self.path).use_region(0, 10)
        v = c.buffer()
        r = c.region()
        c.use_region(4 * W, 10)
        self.assertEqual(r.client_count(), 1)
        self.assertEqual(man.num_file_handles(), 2)
        self.assertEqual(v.tobytes(), self.data[:10])
        v.release()
        self.assertEqual(man.collect(), 1)

    def test_internal_types_cannot_be_made(self):
        c = SlidingWindowMapManager(window_size=W).make_cursor(self.path).use_region(0, 10)
        for obj in (c.map(), c.region()):
            with self.assertRaises(TypeError):
                type(obj)()

    def test_collect_path(self):
        man = SlidingWindowMapManager(window_size=W)
        c = man.make_cursor(self.path)
        for ofs in range(0, 8 * W, 2 * W):
            c.use_region(ofs, 10)
        c.unuse_region()
        self.assertEqual(man._collect_path(self.dir.name), 4)
        self.assertEqual(man.num_file_handles(), 0)


if __name__ == "__main__":
    unittest.main()
