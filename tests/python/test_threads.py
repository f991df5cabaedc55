"""One manager with tiny limits shared by 4 threads, one cursor and one
buffer per thread, every read checked."""
import random
import threading

from smmap import SlidingWindowMapBuffer, SlidingWindowMapManager

from conftest import PAGE

W = 4 * PAGE


def test_four_threads_tiny_limits(make_file):
    files = [make_file(40 * W + 123 * i, seed=i) for i in range(3)]
    m = SlidingWindowMapManager(window_size=W, max_memory_size=6 * W, max_open_handles=5)
    errors = []

    def work(seed):
        rnd = random.Random(seed)
        try:
            for _ in range(1500):
                path, data = rnd.choice(files)
                c = m.make_cursor(path)
                buf = SlidingWindowMapBuffer(m.make_cursor(path), rnd.randrange(W))
                for _ in range(5):
                    ofs = rnd.randrange(len(data))
                    n = rnd.randrange(1, W // 2 + 1)
                    assert c.use_region(ofs, n).buffer() == data[ofs:ofs + n]
                    i = rnd.randrange(len(buf))
                    base = len(data) - len(buf)
                    assert buf[i] == data[base + i]
                    a = rnd.randrange(len(buf))
                    b = a + rnd.randrange(3 * W)
                    assert buf[a:b] == data[base + a:base + b]
                    if rnd.random() < 0.2:
                        m.collect()
                    if rnd.random() < 0.1:
                        c.unuse_region()
        except Exception as e:  # reported below, with the thread's seed
            errors.append((seed, repr(e)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    st = m.stats()
    assert st["misses"] > 100 and st["evictions"] > 0
    m.collect()
    assert m.num_file_handles() == 0 and m.mapped_memory_size() == 0
    # Soft limits: they are exceeded only by windows in use, at most two per
    # thread (its cursor's and its buffer's) beyond the cap.
    assert st["mapped_peak"] <= 6 * W + 8 * W
    assert st["windows_peak"] <= 5 + 8


def test_one_cursor_misused_by_two_threads(make_file):
    """A cursor belongs to one thread at a time; sharing one must give
    RuntimeError (or right data), never a crash or wrong bytes."""
    path, data = make_file(64 * W)
    m = SlidingWindowMapManager(window_size=W, max_memory_size=4 * W)
    c = m.make_cursor(path)
    buf = SlidingWindowMapBuffer(c)
    bad = []

    def work(seed):
        rnd = random.Random(seed)
        for _ in range(3000):
            ofs = rnd.randrange(len(data) - 8)
            try:
                if rnd.random() < 0.5:
                    # the other thread may move the cursor between the calls:
                    # the view is of some window, and must stay readable
                    c.use_region(ofs, 8).buffer().tobytes()
                else:
                    if buf[ofs:ofs + 8] != data[ofs:ofs + 8]:
                        bad.append(("slice", ofs))
            except RuntimeError:
                pass
            except ValueError:
                pass  # the other thread left the cursor without a window
            except Exception as e:
                bad.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
