"""gitdb (Debian's python3-gitdb) unchanged on our smmap: every object of a
real pack, made here with git (several commits, then `git gc`), read and
checked against `git cat-file --batch-all-objects --batch-check`."""
import os
import random
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import env_with_target

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

READ_ALL = textwrap.dedent("""
    import binascii, hashlib, os, sys
    import smmap
    assert smmap.__file__.startswith(os.environ["SMMAP_PYTHONPATH"]), smmap.__file__
    from gitdb import GitDB
    from gitdb.pack import PackEntity
    objects = sys.argv[1]
    db = GitDB(objects)
    n = 0
    for line in sys.stdin:
        sha, typ, size = line.split()
        st = db.stream(binascii.unhexlify(sha))
        data = st.read()
        assert st.type.decode() == typ and st.size == int(size) == len(data), line
        assert hashlib.sha1(b"%s %d\\0" % (st.type, len(data)) + data).hexdigest() == sha
        n += 1
    # the pack walked in pack order, with its checksums and CRCs
    packdir = os.path.join(objects, "pack")
    walked = 0
    for name in sorted(os.listdir(packdir)):
        if name.endswith(".pack"):
            e = PackEntity(os.path.join(packdir, name))
            assert e.pack().checksum() == e.index().packfile_checksum()
            for info in e.info_iter():
                assert e.is_valid_stream(info.binsha, use_crc=True)
                walked += 1
            assert walked == e.index().size() == len(list(e.stream_iter()))
    print(n, walked, len(list(db.sha_iter())))
""")


def git(repo, *args, **kw):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, **kw).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("gitdb") / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    rnd = random.Random(7)
    for commit in range(8):
        # text files edited a little each time (deltas in the pack), plus
        # incompressible blobs that push objects across pack offsets
        for i in range(25):
            p = repo / ("f%02d.txt" % i)
            lines = p.read_text().splitlines() if p.exists() else []
            for _ in range(rnd.randint(1, 40)):
                lines.insert(rnd.randint(0, len(lines)),
                             "%d %s" % (rnd.getrandbits(40), "x" * rnd.randint(0, 90)))
            p.write_text("\n".join(lines) + "\n")
        (repo / ("blob%d.bin" % commit)).write_bytes(rnd.randbytes(200000 + commit * 999))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "commit %d" % commit)
    git(repo, "gc", "-q")
    return repo


def test_gitdb_reads_every_object(repo):
    objects = repo / ".git" / "objects"
    assert any(n.endswith(".pack") for n in os.listdir(objects / "pack"))
    listing = git(repo, "cat-file", "--batch-all-objects", "--batch-check")
    count = len(listing.splitlines())
    assert count > 200
    env = env_with_target()
    env["SMMAP_PYTHONPATH"] = env["PYTHONPATH"].split(os.pathsep)[0]
    p = subprocess.run([sys.executable, "-c", READ_ALL, str(objects)], input=listing,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(count)] * 3
