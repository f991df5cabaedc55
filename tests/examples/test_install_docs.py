"""Tests of what ships around the library: the installed tree (through
installed.sh), the tutorial, the man page and the API reference.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/examples
The build directory is $SMMAP_BUILD, by default the one holding
$SMMAP_PACKLS (build/examples/packls under the repository root).
"""
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PACKLS = os.environ.get("SMMAP_PACKLS", os.path.join(ROOT, "build", "examples", "packls"))
BUILD = os.environ.get("SMMAP_BUILD", os.path.dirname(os.path.dirname(PACKLS)))
MAN = os.path.join(ROOT, "docs", "smmap.1")


def need(tool):
    if not shutil.which(tool):
        pytest.skip("%s is not installed" % tool)


def test_installed_tree():
    r = subprocess.run(["sh", os.path.join(HERE, "installed.sh"), BUILD],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "installed.sh: all checks passed" in r.stdout


def test_tutorial_runs():
    r = subprocess.run([os.path.join(BUILD, "examples", "tutorial")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.endswith("tutorial: all expectations held\n")


def test_man_page_renders_cleanly():
    need("groff")
    r = subprocess.run(["groff", "-man", "-ww", "-z", MAN],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    need("man")
    r = subprocess.run(["man", "-l", MAN], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = re.sub(".\b", "", r.stdout)  # drop bold and underline overstrikes
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                    "EXIT STATUS", "EXAMPLES"):
        assert re.search("^%s$" % section, text, re.M), section
    assert max(len(line) for line in text.splitlines()) <= 80


def test_man_page_covers_the_program():
    """Every command and option the program's --help names is in the man
    page, as are the spec's bench options."""
    r = subprocess.run([os.path.join(BUILD, "smmap"), "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    words = set(re.findall(r"--[a-z][a-z-]*", r.stdout))
    words |= set(re.findall(r"^\s*smmap ([a-z]+)", r.stdout, re.M))
    words |= {"bench", "--quick", "--json", "--dir"}
    man = open(MAN).read().replace("\\-", "-")
    missing = sorted(w for w in words if w not in man)
    assert not missing


def test_api_reference(tmp_path):
    """The doxygen reference builds without a warning (the Doxyfile makes
    warnings fail) and documents every function of the header."""
    need("doxygen")
    doxyfile = os.path.join(BUILD, "docs", "Doxyfile")
    config = open(doxyfile).read() + "\nOUTPUT_DIRECTORY = %s\n" % tmp_path
    r = subprocess.run(["doxygen", "-"], input=config, capture_output=True,
                       text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    page = (tmp_path / "html" / "smmap_8h.html").read_text()
    header = open(os.path.join(ROOT, "include", "smmap.h")).read()
    functions = re.findall(r"^SMMAP_API [^(]*?\b(smmap_\w+)\(", header, re.M)
    assert len(functions) > 20
    for name in functions:
        assert ">%s()<" % name in page, name
    assert "Using smmap" in (tmp_path / "html" / "index.html").read_text()
