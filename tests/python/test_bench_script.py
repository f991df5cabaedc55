"""bench/python_vs_upstream.py runs end to end on tiny data: every case for
every implementation, and gitdb reading the same objects on both smmaps."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import TARGET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bench", "python_vs_upstream.py")


@pytest.mark.skipif(not os.path.isdir("/usr/lib/python3/dist-packages/smmap") or
                    not os.path.isdir("/usr/lib/python3/dist-packages/gitdb") or
                    shutil.which("git") is None,
                    reason="needs Debian's python3-smmap, python3-gitdb and git")
def test_bench_runs(tmp_path):
    p = subprocess.run([sys.executable, SCRIPT, "--ours", TARGET, "--json", "--size", "4",
                        "--commits", "12", "--reps", "2", "-n", "2000", "--dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    got = {(r["case"], r["impl"]) for r in rows}
    for case in ("cursor-slice", "buf-slice", "buf-byte"):
        for impl in ("ours", "upstream", "floor"):
            assert (case, impl) in got
    for case in ("gitdb", "gitdb-info"):
        git = [r for r in rows if r["case"] == case]
        assert {r["impl"] for r in git} == {"ours", "upstream"}
        assert git[0]["objects"] == git[1]["objects"] > 12
    assert all(r["value"] > 0 for r in rows)
    assert os.listdir(tmp_path) == []  # the data is removed
