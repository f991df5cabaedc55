"""smmap drop-in: windowed, read-only memory-mapped file access within fixed
limits, backed by the C library libsmmap (see smmap.h).

Same public names and behaviour as smmap 5.x, with smmap's bugs fixed; the
differences are listed in docs/python.md ("Differences from smmap 5.0.2").
"""
from ._smmap import LIBRARY_VERSION

# The smmap API this package provides, with the C library's version as the
# local label: gitdb and GitPython require smmap>=3.0.1,<6, and pip,
# pkg_resources and importlib.metadata compare this number (pyproject.toml
# states it too; tests/python checks that the three agree).
API_VERSION = "5.0.2"
__version__ = API_VERSION + "+libsmmap." + LIBRARY_VERSION
version_info = tuple(int(part) for part in API_VERSION.split("."))

# make everything available in the root package, as smmap does
from .mman import *  # noqa: E402,F401,F403
from .buf import *   # noqa: E402,F401,F403
