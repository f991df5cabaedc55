"""A real filesystem that refuses mmap, for tests/fuse.

The session fixture `fuse` mounts tests/fuse/passthrough.c (built by meson
next to the program, BUILD/tests/fuse/passthrough, where BUILD is the
directory of $SMMAP_BIN) over a fresh source directory. The passthrough
opens every file with direct_io, so the kernel refuses a shared mapping of
it with ENODEV (a private one it allows); the fixture checks that it does
before any test runs.
Tests write their files into the source directory and read them through
the mount. While mounted, SMMAP_TEST_FUSE_DIR names the mount and
SMMAP_TEST_FUSE_SRC the writable directory behind it, for the C tests.

Without root, /dev/fuse, fusermount3 or the passthrough, or when the mount
fails, every test is skipped with the reason. The mount is always undone:
by the fixture's finalizer (also on a failure, Ctrl-C or SIGTERM, which is
turned into KeyboardInterrupt below so that pytest tears down), and, if
pytest itself is killed outright, by the passthrough (PR_SET_PDEATHSIG).
"""
import errno
import mmap
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SMMAP_BIN", os.path.join(ROOT, "build", "smmap"))
BUILD = os.path.dirname(os.path.abspath(BIN))
PASSTHROUGH = os.path.join(BUILD, "tests", "fuse", "passthrough")

# A CI timeout or `kill` sends SIGTERM: let pytest unwind and unmount.
signal.signal(signal.SIGTERM, signal.default_int_handler)


def mounted(path):
    """path is a mount point (also when its FUSE process has died, where
    os.path.ismount() fails to stat it and says no)."""
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def why_not_fuse():
    """Why FUSE cannot be mounted here, or None."""
    if not sys.platform.startswith("linux"):
        return "FUSE tests run on Linux only"
    if os.geteuid() != 0:
        return "mounting FUSE needs root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("fusermount3") is None:
        return "no fusermount3 (Debian package fuse3)"
    if not os.access(PASSTHROUGH, os.X_OK):
        return ("no %s: meson builds it where pkg-config finds fuse3 "
                "(Debian package libfuse3-dev)" % PASSTHROUGH)
    return None


class Fuse:
    """src: the source directory; mnt: the same files through FUSE."""

    def __init__(self, src, mnt):
        self.src, self.mnt = src, mnt

    def put(self, name, data):
        """Write data to the source directory; return its path on the mount."""
        with open(os.path.join(self.src, name), "wb") as f:
            f.write(data)
        return os.path.join(self.mnt, name)


def mmap_error(path, access):
    """The errno mmap of path with access fails with, or None if it maps."""
    with open(path, "rb") as f:
        try:
            mmap.mmap(f.fileno(), 0, access=access).close()
        except OSError as e:
            return e.errno
    return None


def wait_mounted(proc, mnt, log):
    """None once mnt is mounted, else why it was not within 10 s."""
    deadline = time.monotonic() + 10
    while not mounted(mnt):
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            return ("cannot mount FUSE (passthrough exit status %s): %s"
                    % (proc.poll(), log.read().strip() or "no output"))
        time.sleep(0.02)
    return None


@pytest.fixture(scope="session")
def fuse(tmp_path_factory):
    reason = why_not_fuse()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("fuse")
    src, mnt = str(base / "src"), str(base / "mnt")
    os.mkdir(src)
    os.mkdir(mnt)
    log = open(base / "passthrough.log", "w+")
    # Its own session: a Ctrl-C reaches pytest alone, which then unmounts
    # in order rather than racing the filesystem's own exit.
    proc = subprocess.Popen(
        [PASSTHROUGH, src, mnt, "-f", "-o", "ro,fsname=smmap-fuse-test,max_threads=8"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

    def unmount():
        os.environ.pop("SMMAP_TEST_FUSE_DIR", None)
        os.environ.pop("SMMAP_TEST_FUSE_SRC", None)
        if mounted(mnt) and subprocess.run(["fusermount3", "-u", mnt],
                                           capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        # Unmounted, it exits by itself; one that never mounted may not.
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        assert not mounted(mnt), "%s is still mounted" % mnt

    try:
        reason = wait_mounted(proc, mnt, log)
        if reason:
            pytest.skip(reason)
        fs = Fuse(src, mnt)
        probe = fs.put("probe", os.urandom(mmap.PAGESIZE))
        got = mmap_error(probe, mmap.ACCESS_READ)
        if got != errno.ENODEV:
            pytest.fail("mmap of a file on the direct_io mount gave %s, not ENODEV: "
                        "these tests would not test a refused mapping"
                        % (errno.errorcode.get(got, got) if got else "a mapping"))
        os.remove(os.path.join(src, "probe"))
        os.environ["SMMAP_TEST_FUSE_DIR"] = mnt
        os.environ["SMMAP_TEST_FUSE_SRC"] = src
        yield fs
    finally:
        unmount()
