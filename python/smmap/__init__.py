"""smmap drop-in: windowed, read-only memory-mapped file access within fixed
limits, backed by the C library libsmmap (see smmap.h).

Same public names and behaviour as smmap 5.x, with smmap's bugs fixed; the
differences are listed in the README ("Python drop-in").
"""
from ._smmap import LIBRARY_VERSION

__version__ = LIBRARY_VERSION
version_info = tuple(int(part) for part in LIBRARY_VERSION.split('.'))

# make everything available in the root package, as smmap does
from .mman import *  # noqa: E402,F401,F403
from .buf import *   # noqa: E402,F401,F403
