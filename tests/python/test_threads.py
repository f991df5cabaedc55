"""One manager with tiny limits shared by 4 threads, one cursor and one
buffer per thread, every read checked."""
import os
import random
import signal
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


def run_script(body, path, seconds=1.5):
    """Run body (Python source; PATH and SECONDS are defined for it) in a
    child interpreter: a crash there must fail the test, not end pytest."""
    import subprocess
    import sys
    import textwrap
    from conftest import env_with_target
    src = "PATH = %r\nSECONDS = %r\n" % (path, seconds) + textwrap.dedent(body)
    p = subprocess.run([sys.executable, "-c", src], env=env_with_target(),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    return p.stdout


RACE = """
import sys, threading, time
import smmap
sys.setswitchinterval(1e-6)
stop = False
def loop(fn):
    def run():
        while not stop:
            fn()
    return threading.Thread(target=run)
def race(*fns):
    global stop
    ts = [loop(fn) for fn in fns]
    for t in ts:
        t.start()
    time.sleep(SECONDS)
    stop = True
    for t in ts:
        t.join()
"""


def test_buffer_cursor_replaced_during_a_read(make_file):
    """begin_access(new cursor) in one thread while another reads across
    windows through the same buffer (the old cursor stays alive for it)."""
    path, data = make_file(256 * W)
    out = run_script(RACE + """
import random
data = open(PATH, "rb").read()
m = smmap.SlidingWindowMapManager(window_size=%d, max_memory_size=%d)
b = smmap.SlidingWindowMapBuffer(m.make_cursor(PATH))
rnd = random.Random(1)
bad = []
def read():
    o = rnd.randrange(len(data) - %d)
    try:
        if b[o:o + %d] != data[o:o + %d]:
            bad.append(o)
    except RuntimeError:
        pass
def swap():
    try:
        b.begin_access(m.make_cursor(PATH), 0)
    except RuntimeError:
        pass
race(read, swap)
print("bad", len(bad))
""" % (8 * W, 32 * W, 50 * W, 50 * W, 50 * W), path)
    assert out.strip() == "bad 0"


def test_cursor_assign_from_two_threads_leaks_nothing(make_file):
    """assign() runs part of its work without the GIL; a second assign()
    meanwhile gets RuntimeError instead of leaking a C cursor."""
    path, _ = make_file(64 * W)
    out = run_script(RACE + """
import gc
m = smmap.SlidingWindowMapManager(window_size=%d)
c = m.make_cursor(PATH)
srcs = [m.make_cursor(PATH).use_region(i * %d, 10) for i in range(4)]
n = [0, 0]
def assign(k):
    def run():
        n[k] += 1
        try:
            c.assign(srcs[(n[k] + k) %% 4])
        except RuntimeError:
            pass
    return run
race(assign(0), assign(1))
del c, srcs
gc.collect()
m.collect()
s = m.stats()
print(s["windows"], s["mapped"], s["files"])
""" % (2 * W, 2 * W), path)
    assert out.strip() == "0 0 0"


def test_finalizer_during_view_creation(make_file):
    """A garbage collection inside buffer() (memoryviews are GC objects)
    may finalize buffers on the same cursor, or run a __del__ that unuses
    it: the view handed out must still be right, and nothing crash."""
    path, _ = make_file(64 * W)
    out = run_script("""
import gc
import smmap
data = open(PATH, "rb").read()
m = smmap.SlidingWindowMapManager(window_size=%d)
c = m.make_cursor(PATH)
pool = [smmap.SlidingWindowMapBuffer(c) for _ in range(3000)]
class D:
    def __del__(self):
        try:
            c.unuse_region()
        except RuntimeError:
            pass
gc.set_threshold(1, 1, 1)
bad = 0
for i in range(3000):
    cyc = [pool.pop()]
    cyc.append(cyc)
    d = D()
    d.me = d
    del cyc, d
    o = (i * 4099) %% (len(data) - 64)
    v = c.use_region(o, 64).buffer()
    bad += bytes(v) != data[o:o + 64]
    del v
print("bad", bad)
""" % (2 * W), path)
    assert out.strip() == "bad 0"


def test_manager_init_twice_is_refused():
    """Re-running __init__ would free the C manager under cursors being
    made in other threads."""
    import pytest
    m = SlidingWindowMapManager()
    with pytest.raises(RuntimeError, match="already initialized"):
        m.__init__(window_size=W)
    assert m.window_size() != W


def test_cursor_init_while_another_thread_uses_it(make_file):
    """__init__ with a regions object whose path_or_fd() runs Python code
    (so lets other threads in) must not free the C cursor another thread
    is using."""
    path, _ = make_file(4 * 1024 * 1024)
    out = run_script(RACE + """
m = smmap.SlidingWindowMapManager(window_size=%d)
c = m.make_cursor(PATH)
class Regions:
    def path_or_fd(self):
        time.sleep(0)
        return PATH
i = [0]
def init():
    try:
        c.__init__(m, Regions())
    except RuntimeError:
        pass
def use():
    i[0] += 1
    try:
        c.use_region((i[0] * 70001) %% %d, 100)  # a miss nearly every time
    except (RuntimeError, ValueError):
        pass
race(init, use)
print("survived")
""" % (64 * 1024, 4000 * 1024), path, seconds=3)
    assert out.strip() == "survived"


def test_assign_dropping_the_last_manager_reference(make_file):
    """assign() that drops the last reference to the cursor's old manager
    (whose finalizer lets other threads in) leaks no C cursor or file."""
    path, _ = make_file(64 * W)
    out = run_script(RACE + """
import gc, os
m = smmap.SlidingWindowMapManager(window_size=%d)
fds = len(os.listdir("/proc/self/fd"))
c = m.make_cursor(PATH)
src = m.make_cursor(PATH)
class M(smmap.SlidingWindowMapManager):
    def __del__(self):
        time.sleep(0)
def via_temporary_manager():
    t = M(window_size=%d).make_cursor(PATH)
    try:
        c.assign(t)  # c then holds the only reference to t's manager
    except RuntimeError:
        pass
def from_src():
    try:
        c.assign(src)
    except RuntimeError:
        pass
race(via_temporary_manager, from_src)
c.__init__()
del c, src
gc.collect()
m.collect()
print(m.stats()["files"], len(os.listdir("/proc/self/fd")) - fds)
""" % (2 * W, 2 * W), path)
    assert out.strip() == "0 0"


def test_two_threads_initializing_one_manager():
    """Exactly one of two concurrent __init__ calls wins; the other gets
    RuntimeError (and its C manager is freed)."""
    from smmap import _smmap
    import sys
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(300):
            m = _smmap.Manager.__new__(_smmap.Manager)
            won = []
            bar = threading.Barrier(2)

            def run():
                bar.wait()
                try:
                    m.__init__()
                    won.append(1)
                except RuntimeError:
                    pass
            ts = [threading.Thread(target=run) for _ in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            assert len(won) == 1
    finally:
        sys.setswitchinterval(interval)


def test_fork_while_other_threads_work(make_file):
    """A child forked (os.fork, as multiprocessing's fork start method does)
    while other threads use the manager can use it at once: it used to
    block forever when another thread held the manager's lock."""
    path, data = make_file(64 * W + 17)
    m = SlidingWindowMapManager(window_size=W, max_memory_size=3 * W, max_open_handles=3)
    stop = threading.Event()

    def churn(seed):
        rnd = random.Random(seed)
        c = m.make_cursor(path)
        while not stop.is_set():
            ofs = rnd.randrange(len(data))
            c.use_region(ofs, rnd.randrange(1, W // 2))

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(20):
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    signal.alarm(10)  # a child that hangs dies of SIGALRM
                    rnd = random.Random(i)
                    c = m.make_cursor(path)
                    for _ in range(50):
                        ofs = rnd.randrange(len(data) - W)
                        assert c.use_region(ofs, W // 2).buffer() == data[ofs:ofs + W // 2]
                    status = 0
                finally:
                    os._exit(status)
            _, st = os.waitpid(pid, 0)
            assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, \
                "child %d: status %#x" % (i, st)
    finally:
        stop.set()
        for t in threads:
            t.join()
