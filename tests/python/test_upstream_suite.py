"""smmap's own test suite (Debian's python3-smmap ships it as smmap.test),
copied beside a copy of our package in a temporary folder and run there,
unchanged, with pytest in a subprocess."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import TARGET

UPSTREAM = "/usr/lib/python3/dist-packages/smmap/test"


@pytest.mark.skipif(not os.path.isdir(UPSTREAM), reason="needs Debian's python3-smmap")
def test_smmap_own_suite(tmp_path):
    pkg = tmp_path / "smmap"
    shutil.copytree(os.path.join(TARGET, "smmap"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "test"))
    shutil.copytree(UPSTREAM, pkg / "test", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tmp_path)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "smmap/test"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert " passed" in p.stdout and "failed" not in p.stdout
    # and it ran against the copy of our package
    check = subprocess.run([sys.executable, "-c", "import smmap, smmap._smmap; print(smmap.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert check.stdout.strip() == str(pkg / "__init__.py")
