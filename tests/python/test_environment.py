"""Configuration without code, and who holds what (extensions to smmap's
API, docs/python.md): SMMAP_WINDOW_SIZE, SMMAP_MAX_MEMORY and
SMMAP_MAX_HANDLES configure every manager made with default arguments (the
one gitdb makes at import among them), explicit arguments win, and a bad
value raises ValueError naming the variable; manager.windows() lists the
windows and open files against what the test holds."""
import gc
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import smmap
from conftest import KiB, MiB, PAGE, env_with_target, pattern

VARS = ("SMMAP_WINDOW_SIZE", "SMMAP_MAX_MEMORY", "SMMAP_MAX_HANDLES")


@pytest.fixture
def env(monkeypatch):
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_from_the_environment(env):
    env.setenv("SMMAP_WINDOW_SIZE", "64K")
    env.setenv("SMMAP_MAX_MEMORY", "1M")
    env.setenv("SMMAP_MAX_HANDLES", "7")
    m = smmap.SlidingWindowMapManager()
    assert (m.window_size(), m.max_mapped_memory_size(), m.max_file_handles()) == \
        (64 * KiB, MiB, 7)
    s = smmap.StaticWindowMapManager()
    assert (s.window_size(), s.max_mapped_memory_size(), s.max_file_handles()) == (0, MiB, 7)


def test_explicit_arguments_win(env):
    env.setenv("SMMAP_WINDOW_SIZE", "64K")
    env.setenv("SMMAP_MAX_MEMORY", "1M")
    m = smmap.SlidingWindowMapManager(window_size=128 * KiB, max_memory_size=4 * MiB,
                                      max_open_handles=3)
    assert (m.window_size(), m.max_mapped_memory_size(), m.max_file_handles()) == \
        (128 * KiB, 4 * MiB, 3)
    m = smmap.SlidingWindowMapManager(max_memory_size=2 * MiB)
    assert (m.window_size(), m.max_mapped_memory_size()) == (64 * KiB, 2 * MiB)


@pytest.mark.parametrize("name,value,says", [
    ("SMMAP_WINDOW_SIZE", "big", "SMMAP_WINDOW_SIZE=big: not a size"),
    ("SMMAP_MAX_MEMORY", "0", "SMMAP_MAX_MEMORY=0: must be between 1 and"),
    ("SMMAP_MAX_HANDLES", "5G", "SMMAP_MAX_HANDLES=5G: must be between 1 and 4294967295"),
])
def test_bad_variable_named(env, name, value, says):
    env.setenv(name, value)
    with pytest.raises(ValueError) as e:
        smmap.SlidingWindowMapManager()
    assert str(e.value).startswith(says)
    # every limit given: the environment is not read
    smmap.SlidingWindowMapManager(window_size=PAGE * 2, max_memory_size=MiB,
                                  max_open_handles=9)


def test_windows_lists_what_is_held(env, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(pattern(MiB, 1))
    b.write_bytes(pattern(10 * KiB, 2))
    m = smmap.SlidingWindowMapManager(window_size=64 * KiB)
    c1 = m.make_cursor(str(a)).use_region(0, 100)
    c2 = m.make_cursor(str(a)).use_region(10, 100)
    c3 = m.make_cursor(str(a)).use_region(300 * KiB, 100)
    c3.unuse_region()
    cb = m.make_cursor(str(b))
    held = sorted(m.windows())
    assert held == sorted([
        (str(a), 0, 64 * KiB, 2, 3, False, False),
        (str(a), 256 * KiB, 320 * KiB, 0, 3, False, False),
        (str(b), 0, 0, 0, 1, False, False),
    ]), held
    del c1, c2, c3, cb
    gc.collect()
    assert {h[3] for h in m.windows()} == {0}
    m.collect()
    assert m.windows() == []


def make_repo(root, files):
    """A repository of one commit of `files` small files, packed: its .idx is
    some 28 bytes an object."""
    repo = root / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for i in range(files):
        (repo / ("f%04d" % i)).write_text("file %d\n" % i)
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com",
                                 "commit", "-qm", "many"], ["gc", "-q"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return repo


READ = textwrap.dedent("""
    import binascii, sys
    from gitdb import GitDB
    db = GitDB(sys.argv[1])
    n = 0
    for line in sys.stdin:
        sha = line.split()[0]
        st = db.stream(binascii.unhexlify(sha))
        assert len(st.read()) == st.size
        n += 1
    print(n)
""")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_gitdb_index_larger_than_the_window(env, tmp_path):
    """gitdb refuses an index larger than its manager's window (gitdb #6);
    SMMAP_WINDOW_SIZE lifts the window of the manager gitdb makes at import.
    Here the default window is made small by the cap (SMMAP_MAX_MEMORY: a
    default window is at most an eighth of it) rather than by a 1 GiB index."""
    repo = make_repo(tmp_path, 800)
    packs = repo / ".git" / "objects" / "pack"
    idx = [p for p in packs.iterdir() if p.suffix == ".idx"][0]
    assert idx.stat().st_size > 16 * KiB
    listing = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects",
                              "--batch-check"], check=True, capture_output=True,
                             text=True).stdout
    base = env_with_target()
    for name in VARS:
        base.pop(name, None)

    def read(**limits):
        return subprocess.run([sys.executable, "-c", READ, str(repo / ".git" / "objects")],
                              input=listing, env=dict(base, **limits), capture_output=True,
                              text=True, timeout=120)

    small = read(SMMAP_MAX_MEMORY="128K")  # default window: 16 KiB
    assert small.returncode != 0
    assert ("is too large to fit into a mapped window (%d > %d)"
            % (idx.stat().st_size, 16 * KiB)) in small.stderr, small.stderr
    lifted = read(SMMAP_MAX_MEMORY="128K", SMMAP_WINDOW_SIZE="64K")
    assert lifted.returncode == 0, lifted.stderr
    assert int(lifted.stdout) == len(listing.splitlines()) > 800
