"""Managers and cursors of the smmap drop-in.

WindowCursor and the manager's accessors live in the extension
(smmap/_smmap/); this module turns smmap's constructor keywords into the
library's options and keeps smmap's few rarely used helpers.
"""
import sys

from . import _smmap
from .util import MapRegion, MapRegionList, MapWindow

if hasattr(_smmap, "Span"):
    # PyPy never frees a memoryview that passed through C, so there the
    # extension hands out views as Spans (_smmap/cursor.c), made memoryviews
    # here.
    class WindowCursor(_smmap.WindowCursor):
        __doc__ = _smmap.WindowCursor.__doc__
        __slots__ = ()

        def buffer(self):
            return memoryview(_smmap.WindowCursor.buffer(self))
        buffer.__doc__ = _smmap.WindowCursor.buffer.__doc__
else:
    WindowCursor = _smmap.WindowCursor

__all__ = ["StaticWindowMapManager", "SlidingWindowMapManager", "WindowCursor"]


def _limits(max_memory_size, max_open_handles):
    """smmap's max_memory_size and max_open_handles as libsmmap options, where
    0 means the library's default."""
    if max_memory_size < 0:
        raise ValueError("max_memory_size must not be negative")
    if max_open_handles < 1:
        raise ValueError("max_open_handles must be at least 1")
    if max_open_handles == sys.maxsize:  # smmap's "no limit of our own"
        max_open_handles = 0
    return max_memory_size, min(max_open_handles, 2**32 - 1)


class StaticWindowMapManager(_smmap.Manager):
    """A manager that maps each file whole, once, and shares the mapping.

    max_memory_size: cap on mapped bytes (0: 8 GiB on 64-bit, 1 GiB on 32-bit);
    max_open_handles: cap on mappings (default: derived from the system limits).
    Both are soft limits, as in smmap: idle windows are unmapped least recently
    used first to stay below them; windows in use are never unmapped.
    window_size is accepted for compatibility; window_size() is 0 as whole
    files are mapped."""

    __slots__ = ()

    #{ Configuration (as smmap)
    MapRegionListCls = MapRegionList
    MapWindowCls = MapWindow
    MapRegionCls = MapRegion
    WindowCursorCls = WindowCursor
    #} END configuration

    _MB_in_bytes = 1024 * 1024

    def __init__(self, window_size=0, max_memory_size=0, max_open_handles=sys.maxsize):
        super().__init__(_smmap.STATIC, 0, *_limits(max_memory_size, max_open_handles))

    def make_cursor(self, path_or_fd):
        """:return: a cursor on the file at path (str, bytes or os.PathLike) or on
        the open file descriptor (the library duplicates it; you may close yours).
        The file is opened now: a missing file raises OSError here."""
        return self.WindowCursorCls(self, path_or_fd)

    def _collect_lru_region(self, size):
        """Unmap idle windows: all of them if size is 0, else the least recently
        used ones until size more bytes fit max_mapped_memory_size().
        :return: the number of windows unmapped"""
        if size < 0:
            raise ValueError("size must not be negative")
        return self.collect() if size == 0 else self._make_room(size)

    def force_map_handle_removal_win(self, base_path):
        """ONLY AVAILABLE ON WINDOWS, as in smmap: Windows lets no file be
        deleted, renamed over or shrunk while a mapping of it exists. Unmaps
        the idle windows of the files whose path starts with base_path and
        closes those files' handles; windows that cursors still use stay
        (unlike smmap, which closed them under their cursors).
        :return: the number of windows unmapped; None elsewhere"""
        if sys.platform != "win32":
            return None
        return self._collect_path(base_path)


class SlidingWindowMapManager(StaticWindowMapManager):
    """A manager that maps windows of window_size bytes, placed on a grid of
    window_size/2 so that any request of up to window_size/2 bytes inside a file
    is served whole and contiguous. Thread-safe: share it, one cursor per thread.

    window_size: negative for the default (1 GiB on 64-bit, 64 MiB on 32-bit,
    at most max_memory_size), 0 to map whole files (as StaticWindowMapManager),
    else rounded up to whole pages; it may not exceed max_memory_size."""

    __slots__ = ()

    def __init__(self, window_size=-1, max_memory_size=0, max_open_handles=sys.maxsize):
        kind = _smmap.STATIC if window_size == 0 else _smmap.SLIDING
        _smmap.Manager.__init__(self, kind, max(window_size, 0),
                                *_limits(max_memory_size, max_open_handles))
