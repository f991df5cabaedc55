"""What pip and pkg_resources see: gitdb (4.x) requires smmap>=3.0.1,<6, and
the drop-in's distribution metadata must meet that, or `pip check` reports a
conflict and `pip install GitPython` replaces the drop-in. gitdb's metadata is
written here as pip writes it (Debian's python3-gitdb drops the requirement)."""
import os
import subprocess
import sys

from conftest import TARGET


def gitdb_beside(tmp_path):
    info = tmp_path / "gitdb-4.0.11.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gitdb\nVersion: 4.0.11\n"
        "Requires-Python: >=3.7\nRequires-Dist: smmap<6,>=3.0.1\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([TARGET, str(tmp_path)])
    return env


def test_pkg_resources_require_gitdb(tmp_path):
    env = gitdb_beside(tmp_path)
    code = ("import warnings; warnings.simplefilter('ignore');"
            "import pkg_resources as p; p.require('gitdb');"
            "print(p.get_distribution('smmap').version, p.get_distribution('smmap').location)")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    version, location = r.stdout.split()
    assert version.startswith("5.0.2+libsmmap.") and location == TARGET


def test_pip_check_sees_no_smmap_conflict(tmp_path):
    env = gitdb_beside(tmp_path)
    r = subprocess.run([sys.executable, "-m", "pip", "check"], env=env, capture_output=True,
                       text=True)
    lines = [l for l in (r.stdout + r.stderr).splitlines() if "smmap" in l.lower()]
    assert lines == [], lines
