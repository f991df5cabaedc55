"""smmap on a FUSE mount with direct_io (sshfs and many container and cluster
filesystems run so), where the kernel refuses a shared mapping of a file
with ENODEV (conftest.py mounts it and checks that), as Python's smmap and
our library before 0.3 made it. The library maps windows MAP_PRIVATE, as git
maps packs, which such a mount allows: every window must be mapped, with the
right bytes and within the limits. (Where a filesystem refuses private
mappings too, the manager reads the windows instead: test_refused.c and the
fault walk's mmap ENODEV test that path.)

The program is $SMMAP_BIN (as in tests/cli), the drop-in the package
installed in $SMMAP_PYTHONPATH (tests/fuse/run.sh installs it), the C tests
BUILD/tests/test_* (those named *fuse*; they read $SMMAP_TEST_FUSE_DIR).
"""
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import zlib

import pytest

from conftest import BIN, BUILD

KiB, MiB = 1024, 1024 * 1024
# Sizes off the page grid, an empty file, a few bytes, and a few MiB.
SIZES = [0, 3, 4095, 65537, 3 * MiB + 123]
CAP = 256 * KiB
SMALL = ["--window", "64K", "--max-memory", "256K", "--max-handles", "3"]
TARGET = os.environ.get("SMMAP_PYTHONPATH")


@pytest.fixture(scope="module")
def files(fuse):
    """{size: (path on the mount, bytes)}: seeded random bytes, so that
    every offset holds different data and a misplaced window shows."""
    out = {}
    for n in SIZES:
        data = random.Random(n).randbytes(n)
        out[n] = (fuse.put("f%d" % n, data), data)
    return out


def test_plain_reads_through_the_mount(files):
    """The passthrough itself: read(2) on the mount gives the source bytes."""
    for path, data in files.values():
        with open(path, "rb") as f:
            assert f.read() == data


def assert_mapped(stats, files=1):
    """Each file was mapped (privately), none read instead."""
    assert stats["files_read_not_mapped"] == 0, stats
    assert stats["bytes_read_into_windows"] == 0, stats
    assert stats["mmap_calls"] >= files and stats["failures"] == 0, stats


# ------------------------------------------------------------------ smmap

def run(*args, timeout=60):
    if not os.access(BIN, os.X_OK):
        pytest.fail("no smmap program at %s (set SMMAP_BIN)" % BIN)
    return subprocess.run([BIN, *map(str, args)], capture_output=True, timeout=timeout)


def sum_line(path, data):
    return "%08x  %d  %s" % (zlib.crc32(data), len(data), path)


def stats_of(r):
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


@pytest.mark.parametrize("opts", [SMALL, ["--static"], []],
                         ids=["small-limits", "static", "defaults"])
def test_sum_matches_zlib(files, opts):
    r = run("sum", *opts, *(files[n][0] for n in SIZES))
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert r.stdout.decode().splitlines() == [sum_line(*files[n]) for n in SIZES]


@pytest.mark.parametrize("size", [n for n in SIZES if n])
def test_sum_stats_one_file(fuse, files, size):
    """Many small windows read under the cap; the file counted once."""
    path, data = files[size]
    r = run("sum", *SMALL, "--stats", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [sum_line(path, data)]
    s = stats_of(r)
    assert_mapped(s)
    assert s["mapped_peak"] <= CAP
    assert s["misses"] >= size // (64 * KiB)


def test_sum_stats_all_files(fuse, files):
    nonempty = [n for n in SIZES if n]
    r = run("sum", *SMALL, "--stats", *(files[n][0] for n in nonempty))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [sum_line(*files[n]) for n in nonempty]
    s = stats_of(r)
    assert_mapped(s, len(nonempty))
    assert s["mapped_peak"] <= CAP


def test_sum_stats_static(fuse, files):
    path, data = files[SIZES[-1]]
    r = run("sum", "--static", "--stats", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [sum_line(path, data)]
    s = stats_of(r)
    assert_mapped(s)


def test_cat_whole_files(files):
    for path, data in files.values():
        r = run("cat", *SMALL, path)
        assert r.returncode == 0, (path, r.stderr)
        assert r.stdout == data, path


def test_cat_ranges(fuse, files):
    """Ranges that start and end inside windows and span several, against
    the same bytes read by dd from the mount."""
    path, data = files[SIZES[-1]]
    rnd = random.Random(1)
    for _ in range(12):
        off = rnd.randrange(len(data))
        n = rnd.choice([1, 4095, 32 * KiB + 1, 300 * KiB, len(data)])
        r = run("cat", *SMALL, path, off, n)
        assert r.returncode == 0, r.stderr
        assert r.stdout == data[off:off + n], (off, n)
        dd = subprocess.run(["dd", "if=" + path, "bs=64K", "skip=%d" % off, "count=%d" % n,
                             "iflag=skip_bytes,count_bytes,fullblock", "status=none"],
                            capture_output=True, check=True)
        assert dd.stdout == r.stdout, (off, n)
    r = run("cat", *SMALL, "--stats", path, MiB + 5, MiB)
    assert r.returncode == 0, r.stderr
    s = stats_of(r)
    assert_mapped(s)
    assert s["mapped_peak"] <= CAP


# ---------------------------------------------------------------- drop-in

def dropin():
    """The drop-in's smmap module, from $SMMAP_PYTHONPATH only."""
    if not TARGET:
        pytest.skip("SMMAP_PYTHONPATH is not set (tests/fuse/run.sh installs the drop-in)")
    if sys.path[0] != TARGET:
        sys.path.insert(0, TARGET)
    import smmap
    assert smmap.__file__.startswith(os.path.join(TARGET, "smmap")), smmap.__file__
    return smmap


@pytest.mark.parametrize("size", [n for n in SIZES if n])
def test_sliding_cursor(fuse, files, size):
    smmap = dropin()
    path, data = files[size]
    m = smmap.SlidingWindowMapManager(window_size=64 * KiB, max_memory_size=CAP,
                                      max_open_handles=3)
    c = m.make_cursor(path)
    rnd = random.Random(size)
    offsets = list(range(0, size, 32 * KiB - 7)) + [rnd.randrange(size) for _ in range(50)]
    for ofs in offsets:
        n = rnd.choice([1, 100, 32 * KiB])   # up to window/2: always whole
        assert c.use_region(ofs, n).is_valid(), ofs
        assert c.ofs_begin() == ofs and c.buffer() == data[ofs:ofs + n], ofs
    c.unuse_region()
    s = m.stats()
    assert_mapped(s)
    assert s["mapped_peak"] <= CAP


def test_static_cursor(fuse, files):
    smmap = dropin()
    m = smmap.StaticWindowMapManager()
    for size in SIZES[1:]:
        path, data = files[size]
        c = m.make_cursor(path).use_region(0, size)
        assert c.is_valid() and c.size() == size and c.buffer() == data, size
        c.unuse_region()
    s = m.stats()
    assert_mapped(s, len(SIZES) - 1)


def test_buffer(fuse, files):
    smmap = dropin()
    path, data = files[SIZES[-1]]
    m = smmap.SlidingWindowMapManager(window_size=64 * KiB, max_memory_size=CAP)
    buf = smmap.SlidingWindowMapBuffer(m.make_cursor(path))
    assert len(buf) == len(data) and buf[:] == data
    rnd = random.Random(2)
    for _ in range(300):
        i = rnd.randrange(len(data))
        assert buf[i] == data[i] and buf[i - len(data)] == data[i]
        j = rnd.randrange(i, min(len(data), i + 200 * KiB) + 1)
        assert buf[i:j] == data[i:j], (i, j)
    buf.end_access()
    assert m.stats()["mapped_peak"] <= CAP


# ------------------------------------------------------------------ gitdb

# gitdb reads packs and indexes through smmap's global manager
# (gitdb.util.mman); its counters show the files were read, not mapped.
READ_ALL = textwrap.dedent("""
    import binascii, hashlib, json, os, sys
    import smmap
    assert smmap.__file__.startswith(os.environ["SMMAP_PYTHONPATH"]), smmap.__file__
    from gitdb import GitDB
    from gitdb.util import mman
    db = GitDB(sys.argv[1])
    n = 0
    for line in sys.stdin:
        sha, typ, size = line.split()
        st = db.stream(binascii.unhexlify(sha))
        data = st.read()
        assert st.type.decode() == typ and st.size == int(size) == len(data), line
        assert hashlib.sha1(b"%s %d\\0" % (st.type, len(data)) + data).hexdigest() == sha
        n += 1
    print(n, json.dumps(mman.stats()))
""")


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def repo(fuse):
    """A repository made in the source directory (several commits, packed
    by `git gc`); its path on the mount."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    src = os.path.join(fuse.src, "repo")
    subprocess.run(["git", "init", "-q", src], check=True)
    git(src, "config", "user.email", "t@example.com")
    git(src, "config", "user.name", "t")
    rnd = random.Random(7)
    for commit in range(6):
        # edited text (deltas in the pack) and incompressible blobs
        for i in range(20):
            p = os.path.join(src, "f%02d.txt" % i)
            lines = open(p).read().splitlines() if os.path.exists(p) else []
            for _ in range(rnd.randint(1, 40)):
                lines.insert(rnd.randint(0, len(lines)),
                             "%d %s" % (rnd.getrandbits(40), "x" * rnd.randint(0, 90)))
            with open(p, "w") as f:
                f.write("\n".join(lines) + "\n")
        with open(os.path.join(src, "blob%d.bin" % commit), "wb") as f:
            f.write(rnd.randbytes(150000 + commit * 999))
        git(src, "add", "-A")
        git(src, "commit", "-qm", "commit %d" % commit)
    git(src, "gc", "-q")
    return src, os.path.join(fuse.mnt, "repo")


def test_gitdb_reads_every_object(fuse, repo):
    if not TARGET:
        pytest.skip("SMMAP_PYTHONPATH is not set (tests/fuse/run.sh installs the drop-in)")
    src, mnt = repo
    objects = os.path.join(mnt, ".git", "objects")
    assert any(n.endswith(".pack") for n in os.listdir(os.path.join(objects, "pack")))
    listing = git(src, "cat-file", "--batch-all-objects", "--batch-check")
    count = len(listing.splitlines())
    assert count > 100
    env = dict(os.environ, SMMAP_PYTHONPATH=TARGET, PYTHONPATH=os.pathsep.join(
        [TARGET] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    p = subprocess.run([sys.executable, "-c", READ_ALL, objects], input=listing, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    n, stats = p.stdout.split(" ", 1)
    assert int(n) == count
    s = json.loads(stats)
    # the pack and its index, at least
    assert_mapped(s, 2)


# -------------------------------------------------------------- C tests

def test_c_suite_fuse_tests(fuse):
    """The C tests named *fuse* (the harness's filter is a glob over
    SUITE/NAME), in whichever suite they are, run with the mount the
    fixture names in SMMAP_TEST_FUSE_DIR and SMMAP_TEST_FUSE_SRC."""
    suites = sorted(p for p in glob.glob(os.path.join(BUILD, "tests", "test_*"))
                    if os.path.isfile(p) and os.access(p, os.X_OK))
    assert os.environ["SMMAP_TEST_FUSE_DIR"] == fuse.mnt
    ran = 0
    for exe in suites:
        listed = subprocess.run([exe, "--list", "--filter", "*fuse*"], capture_output=True,
                                text=True, check=True).stdout.split()
        if not listed:
            continue
        r = subprocess.run([exe, "--filter", "*fuse*"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        # The mount was given, so none of them may skip for want of it.
        assert "# SKIP" not in r.stdout, r.stdout
        assert r.stdout.count("\nok ") == len(listed), r.stdout
        ran += len(listed)
    if not ran:
        pytest.skip("no C test named *fuse* in %s" % os.path.join(BUILD, "tests"))
