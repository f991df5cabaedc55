"""Tests of examples/packls against `git verify-pack -v`.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/examples
The program is $SMMAP_PACKLS, by default build/examples/packls under the
repository root.
"""
import os
import random
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKLS = os.environ.get("SMMAP_PACKLS", os.path.join(ROOT, "build", "examples", "packls"))

KiB = 1024
WINDOW = 64 * KiB  # packls's window size
ERROR = re.compile(r"^packls: (.*): offset (\d+): \S.*$")
TYPES = ("commit", "tree", "blob", "tag")


def git(cwd, *args):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org",
               GIT_AUTHOR_DATE="2020-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2020-01-01T00:00:00Z")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True).stdout


def packls(pack):
    return subprocess.run([PACKLS, str(pack)], capture_output=True, text=True,
                          timeout=120)


def verify_pack(repo, pack):
    """OFFSET TYPE SIZE PACKED_SIZE lines from `git verify-pack -v`, in
    offset order, and the number of deltas git reports."""
    rows, deltas = [], 0
    for line in git(repo, "verify-pack", "-v", str(pack)).splitlines():
        f = line.split()
        if len(f) in (5, 7) and f[1] in TYPES:
            rows.append((int(f[4]), f[1], int(f[2]), int(f[3])))
            deltas += len(f) == 7
    rows.sort()
    return ["%d %s %d %d" % r for r in rows], deltas


def raw_types(pack, offsets):
    """The type field of each entry's header (6 ofs-delta, 7 ref-delta)."""
    data = pack.read_bytes()
    return {off: (data[off] >> 4) & 7 for off in offsets}


def words(rng, n):
    vocab = ["alpha", "beta", "gamma", "delta", "window", "cursor", "mmap",
             "pack", "inflate", "zlib", "stream", "offset", "git", "blob"]
    return "\n".join(" ".join(rng.choice(vocab) for _ in range(8))
                     for _ in range(n)) + "\n"


def make_repo(path):
    """A repository whose objects cover what packls must handle: text that
    changes a little per commit (long delta chains), files over 64 KiB that
    compress to more than a window (streams that cross windows), random
    bytes (stored nearly raw), more than 1 MiB in all (more than packls
    maps at once), renames, empty and tiny files, tags."""
    rng = random.Random(1234)
    git(path, "init", "-q")
    big = words(rng, 12000)                       # ~600 KiB of text
    noise = rng.randbytes(300 * KiB)              # incompressible
    for i in range(12):
        lines = big.splitlines(keepends=True)
        for _ in range(20):
            lines[rng.randrange(len(lines))] = words(rng, 1)
        big = "".join(lines)
        (path / "big.txt").write_text(big)
        (path / "noise.bin").write_bytes(noise[: 200 * KiB + i * 9 * KiB])
        (path / ("small%d.txt" % (i % 4))).write_text(words(rng, 1 + i))
        (path / "notes.md").write_text(words(rng, 40 + i))
        (path / "empty").write_text("")
        if i % 3 == 0:  # the pack outgrows packls's 1 MiB cap
            (path / ("data%d.bin" % i)).write_bytes(rng.randbytes(300 * KiB))
        if i == 5:
            git(path, "mv", "notes.md", "README.md")
            (path / "notes.md").write_text(words(rng, 30))
        if i == 8:
            git(path, "mv", "big.txt", "docs.txt")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "commit %d\n\n%s" % (i, words(rng, 3)))
        if i in (3, 9):
            git(path, "tag", "-a", "v%d" % i, "-m", "release %d" % i)


@pytest.fixture(scope="session", autouse=True)
def binary():
    if not os.access(PACKLS, os.X_OK):
        pytest.fail("no packls program at %s (set SMMAP_PACKLS)" % PACKLS)


@pytest.fixture(scope="session")
def repo(tmp_path_factory):
    path = tmp_path_factory.mktemp("repo")
    make_repo(path)
    git(path, "repack", "-adf", "--depth=50", "--window=50", "-q")
    return path


@pytest.fixture(scope="session")
def ofs_pack(repo):
    """The repository's pack: deltas name their base by offset."""
    (pack,) = (repo / ".git" / "objects" / "pack").glob("*.pack")
    return pack


@pytest.fixture(scope="session")
def ref_pack(repo, tmp_path_factory):
    """The same objects, deltas naming their base by SHA-1."""
    out = tmp_path_factory.mktemp("refpack")
    objects = git(repo, "rev-list", "--objects", "--all")
    subprocess.run(["git", "pack-objects", "-q", "--no-delta-base-offset",
                    "--window=50", "--depth=50", str(out / "ref")],
                   cwd=repo, input=objects, text=True, check=True,
                   capture_output=True)
    (pack,) = out.glob("*.pack")
    return pack


@pytest.fixture(scope="session")
def large_pack(repo, ofs_pack, tmp_path_factory):
    """The ofs pack with an idx that keeps every offset past 4096 in the
    64-bit table, as git does past 2 GiB."""
    out = tmp_path_factory.mktemp("large")
    pack = out / "large.pack"
    shutil.copy(ofs_pack, pack)
    git(repo, "index-pack", "--index-version=2,4096", "-o",
        str(out / "large.idx"), str(pack))
    return pack


def copy_pack(pack, dst, data):
    dst.mkdir()
    new = dst / pack.name
    new.write_bytes(data)
    shutil.copy(pack.with_suffix(".idx"), new.with_suffix(".idx"))
    return new


def assert_one_error(r, pack):
    """Exit 1 (not a signal), and exactly one well-formed error line."""
    assert r.returncode == 1, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    m = ERROR.match(lines[0])
    assert m and m.group(1) == str(pack), lines[0]
    return int(m.group(2))


@pytest.mark.parametrize("which", ["ofs_pack", "ref_pack", "large_pack"])
def test_matches_verify_pack(which, request, repo):
    pack = request.getfixturevalue(which)
    want, deltas = verify_pack(repo, pack)
    r = packls(pack)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.splitlines() == want
    assert len(want) > 50 and deltas > 10


def test_pack_covers_the_hard_cases(repo, ofs_pack, ref_pack):
    """Guard the fixtures: without these the comparison proves little."""
    rows, _ = verify_pack(repo, ofs_pack)
    offs = [int(r.split()[0]) for r in rows]
    assert 6 in raw_types(ofs_pack, offs).values()
    rows_ref, _ = verify_pack(repo, ref_pack)
    ref_types = raw_types(ref_pack, [int(r.split()[0]) for r in rows_ref])
    assert 7 in ref_types.values() and 6 not in ref_types.values()
    assert {r.split()[1] for r in rows} == set(TYPES)
    assert max(int(r.split()[3]) for r in rows) > 2 * WINDOW
    assert ofs_pack.stat().st_size > 1024 * KiB
    chain = git(repo, "verify-pack", "-v", str(ofs_pack))
    assert re.search(r"^chain length = ([2-9]|\d\d+):", chain, re.M)


def test_large_offsets_table_used(large_pack):
    idx = large_pack.with_suffix(".idx").read_bytes()
    nr = int.from_bytes(idx[8 + 255 * 4: 8 + 256 * 4], "big")
    large = len(idx) - 40 - (8 + 1024 + 28 * nr)
    assert large >= 8 * 10


def entries(repo, pack):
    """[(offset, packed_size, type)] in offset order."""
    rows, _ = verify_pack(repo, pack)
    return [(int(f[0]), int(f[3]), f[1]) for f in (r.split() for r in rows)]


def largest(repo, pack):
    return max(entries(repo, pack), key=lambda e: e[1])


@pytest.mark.parametrize("where", ["header", "middle", "entry", "one-byte"])
def test_truncated(repo, ofs_pack, tmp_path, where):
    data = ofs_pack.read_bytes()
    off, size, _ = largest(repo, ofs_pack)
    last = entries(repo, ofs_pack)[-1][0]
    cut = {"header": 10, "middle": len(data) // 2, "entry": off + size // 2,
           "one-byte": len(data) - 1}[where]
    pack = copy_pack(ofs_pack, tmp_path / "t", data[:cut])
    got = assert_one_error(packls(pack), pack)
    # The entry that now runs past the end is named (the trailer's 20
    # bytes are taken from the end of what is left).
    want = {"header": 0, "entry": off, "one-byte": last}.get(where)
    if want is not None:
        assert got == want


@pytest.mark.parametrize("which", ["ofs_pack", "ref_pack"])
def test_corrupt_zlib_data(repo, which, request, tmp_path):
    src = request.getfixturevalue(which)
    data = bytearray(src.read_bytes())
    off, size, _ = largest(repo, src)
    for i in range(off + size // 2, off + size // 2 + 16):
        data[i] ^= 0xFF
    pack = copy_pack(src, tmp_path / "c", bytes(data))
    assert assert_one_error(packls(pack), pack) == off


def test_bad_checksum_of_small_stream(repo, ofs_pack, tmp_path):
    """Damage the adler32 at the end of a small zlib stream: packls names
    that entry's offset."""
    data = bytearray(ofs_pack.read_bytes())
    off, size, _ = [e for e in entries(repo, ofs_pack) if e[2] == "tree"][0]
    data[off + size - 3] ^= 0x55  # inside the adler32 of the stream
    pack = copy_pack(ofs_pack, tmp_path / "b", bytes(data))
    assert assert_one_error(packls(pack), pack) == off


def test_random_damage_never_crashes(repo, ofs_pack, tmp_path):
    """Flip random bytes anywhere: packls lists the pack or reports one
    error, never dies by a signal."""
    rng = random.Random(99)
    good = ofs_pack.read_bytes()
    for n in range(40):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        pack = copy_pack(ofs_pack, tmp_path / ("r%d" % n), bytes(data))
        r = packls(pack)
        assert r.returncode in (0, 1), (n, r.returncode, r.stderr)
        if r.returncode == 1:
            assert_one_error(r, pack)


def test_damaged_idx(repo, ofs_pack, tmp_path):
    idx = ofs_pack.with_suffix(".idx").read_bytes()
    for name, data in [("short", idx[:100]), ("magic", b"xxxx" + idx[4:]),
                       ("fanout", idx[:8] + b"\xff" * 4 + idx[12:])]:
        d = tmp_path / name
        pack = copy_pack(ofs_pack, d, ofs_pack.read_bytes())
        pack.with_suffix(".idx").write_bytes(data)
        r = packls(pack)
        assert r.returncode == 1, (name, r.stderr)
        assert re.match(r"^packls: .*: idx: \S", r.stderr), r.stderr
        assert len(r.stderr.splitlines()) == 1


def test_usage_and_missing_files(tmp_path):
    r = subprocess.run([PACKLS], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("usage:")
    r = packls(tmp_path / "none.pack")
    assert r.returncode == 1 and "No such file" in r.stderr
    (tmp_path / "x.pack").write_bytes(b"PACK")
    r = packls(tmp_path / "x.pack")
    assert r.returncode == 1 and "x.idx" in r.stderr
