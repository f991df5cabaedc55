"""smmap's API call by call (tests/python/api_probe.py): every call of the
probe behaves as in upstream's smmap (Debian's python3-smmap, the same code
as 5.0.2), except the differences docs/python.md lists ("Differences from
smmap 5.0.2"), each named in api_probe.KNOWN by its row. A new difference
fails the test, and so does a known one that no longer differs."""
import pytest

import api_probe
from conftest import TARGET

@pytest.mark.skipif(not api_probe.upstream_installed(), reason="needs Debian's python3-smmap")
def test_calls_behave_as_in_smmap():
    unexplained, stale = api_probe.check(api_probe.differences(TARGET))
    assert not unexplained, api_probe.report(unexplained)
    assert not stale, "no longer different: %s" % stale


def test_probe_outcomes():
    """The probe's own judgement: a value, or an exception matched through
    the built-in types the drop-in's exception derives from."""
    up = ["raise", "AttributeError", ["AttributeError", "Exception", "BaseException", "object"]]
    both = ["raise", "CursorStateError",
            ["ValueError", "AttributeError", "Exception", "BaseException", "object"]]
    assert api_probe.same(up, both)
    assert not api_probe.same(both, up)
    assert api_probe.same(["return", "int", 3], ["return", "int", 3])
    assert not api_probe.same(["return", "int", 3], ["return", "bool", True])
    assert api_probe.same(["return", "list", ["a"]], ["return", "list", ["a", "b"]], "names_x")
    assert not api_probe.same(["return", "list", ["a", "c"]], ["return", "list", ["a"]], "names_x")
