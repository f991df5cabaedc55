"""Shared set-up of the Python drop-in's tests.

The package under test is the one installed (pip install --target DIR .) in
the directory $SMMAP_PYTHONPATH; it goes first on sys.path so that neither
Debian's python3-smmap nor the source tree shadows it. tests/python/run.sh
does the installation and runs pytest.
"""
import mmap
import os
import random
import sys

import pytest

TARGET = os.environ.get("SMMAP_PYTHONPATH")
if not TARGET or not os.path.isdir(os.path.join(TARGET, "smmap")):
    raise pytest.UsageError(
        "SMMAP_PYTHONPATH must name a directory holding the installed smmap "
        "package (see tests/python/run.sh)")
TARGET = os.path.abspath(TARGET)
sys.path.insert(0, TARGET)

import smmap  # noqa: E402

if not os.path.abspath(smmap.__file__).startswith(TARGET + os.sep):
    raise pytest.UsageError("imported %s instead of the package in %s"
                            % (smmap.__file__, TARGET))

PAGE = mmap.PAGESIZE
KiB, MiB = 1024, 1024 * 1024


def pattern(size, seed=0):
    """size bytes that differ from offset to offset (a seeded random stream)."""
    return random.Random(seed).randbytes(size)


@pytest.fixture
def make_file(tmp_path):
    """make_file(size, seed=0, name=None) -> (path, data)"""
    count = [0]

    def make(size, seed=0, name=None):
        count[0] += 1
        path = tmp_path / (name or "data%d.bin" % count[0])
        data = pattern(size, seed)
        path.write_bytes(data)
        return str(path), data
    return make


def env_with_target():
    """os.environ with our package first on PYTHONPATH, for subprocesses."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [TARGET] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def file_mappings(path):
    """Number of mappings of path in this process (from /proc/self/maps)."""
    real = os.path.realpath(path)
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if line.rstrip("\n").endswith(" " + real))
