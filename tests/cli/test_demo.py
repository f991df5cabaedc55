"""scripts/demo.sh, the README's first command, on a small file: a partial
file left by an interrupted run is made again (never summed as the data),
the data is written whole under a temporary name, and the script says where
the file stays and how to remove it."""
import json
import os
import subprocess
import zlib

from test_cli import BIN, ROOT

SIZE = 3 * 1024 * 1024 + 5


def demo(path):
    env = dict(os.environ, SMMAP_BIN=BIN, SMMAP_DEMO_FILE=str(path), SMMAP_DEMO_SIZE=str(SIZE))
    return subprocess.run(["sh", os.path.join(ROOT, "scripts", "demo.sh")], env=env,
                          capture_output=True, text=True, timeout=120)


def test_partial_file_is_made_again(tmp_path):
    path = tmp_path / "demo.bin"
    path.write_bytes(b"left by an interrupted run")
    r = demo(path)
    assert r.returncode == 0, r.stderr
    data = path.read_bytes()
    assert len(data) == SIZE
    lines = r.stdout.splitlines()
    assert lines[0] == "generating %s (%d random bytes)..." % (path, SIZE)
    assert lines[1] == "%08x  %d  %s" % (zlib.crc32(data), SIZE, path)
    assert lines[-1] == ("(the data file stays at %s for the next run; remove it with: rm %s)"
                         % (path, path))
    stats = json.loads(r.stderr.splitlines()[-1])
    assert stats["mapped_peak"] <= 8 * 1024 * 1024
    assert sorted(os.listdir(tmp_path)) == ["demo.bin"], "a temporary file was left"


def test_whole_file_is_kept(tmp_path):
    path = tmp_path / "demo.bin"
    assert demo(path).returncode == 0
    before = path.stat().st_mtime_ns
    r = demo(path)
    assert r.returncode == 0 and "generating" not in r.stdout
    assert path.stat().st_mtime_ns == before
