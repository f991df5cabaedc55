"""Managers and cursors of the smmap drop-in.

WindowCursor and the manager's accessors live in the extension
(smmap/_smmap/); this module turns smmap's constructor keywords into the
library's options and keeps smmap's few rarely used helpers.
"""
import operator
import sys
from mmap import PAGESIZE

from . import _smmap
from ._smmap import CursorStateError, CursorTypeError  # noqa: F401 (extensions)
from .util import MapRegion, MapRegionList, MapWindow, is_64_bit

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


# The library's smallest cap on mapped memory (a window is at least two
# pages), and its default cap, smmap's too.
_MIN_MEMORY = 2 * PAGESIZE
_DEFAULT_MEMORY = (8192 if is_64_bit() else 1024) * 1024 * 1024


def _number(name, value):
    """An int as smmap's arithmetic took it: an int, or a float truncated."""
    if isinstance(value, float):
        try:
            return int(value)
        except (OverflowError, ValueError) as e:
            raise type(e)("%s: %s" % (name, e)) from None
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError("%s: expected an int or a float, got %s"
                        % (name, type(value).__name__)) from None


def _from_env(window, memory, handles, default_window):
    """The limits left at their defaults, from SMMAP_WINDOW_SIZE,
    SMMAP_MAX_MEMORY and SMMAP_MAX_HANDLES where those are set (the library's
    smmap_options_from_env): so that the manager a program makes with no
    arguments, as gitdb and GitPython do at import, is configured without
    code. A limit given explicitly wins; a bad variable raises ValueError
    naming it."""
    if window != default_window and memory != 0 and handles != sys.maxsize:
        return window, memory, handles
    env_window, env_memory, env_handles = _smmap.options_from_env()
    if window == default_window and env_window:
        window = env_window
    if memory == 0 and env_memory:
        memory = env_memory
    if handles == sys.maxsize and env_handles:
        handles = env_handles
    return window, memory, handles


def _options(window_size, max_memory_size, max_open_handles, default_window=None):
    """smmap's keywords as window_size (an int, as given) and the library's
    max_memory and max_handles (0: its default), with the environment's for
    those left at their defaults (default_window: window_size's; None where
    it means nothing). smmap took any limits, soft ones: a cap below two
    pages (also negative) is two pages, and one below the window_size asked
    for is lifted to one window, which is what smmap mapped then."""
    window = _number("window_size", window_size)
    memory = _number("max_memory_size", max_memory_size)
    handles = _number("max_open_handles", max_open_handles)
    window, memory, handles = _from_env(window, memory, handles, default_window)
    if handles < 1:
        raise ValueError("max_open_handles: must be at least 1, got %d" % handles)
    if memory != 0:
        memory = max(memory, _MIN_MEMORY)
    pages = max(-(-window // PAGESIZE), 2) * PAGESIZE
    if window > 0 and pages > (memory or _DEFAULT_MEMORY):
        memory = pages
    if handles == sys.maxsize:  # smmap's "no limit of our own"
        handles = 0
    return min(window, 2**64 - 1), min(memory, 2**64 - 1), min(handles, 2**32 - 1)


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
        _, memory, handles = _options(window_size, max_memory_size, max_open_handles)
        super().__init__(_smmap.STATIC, 0, memory, handles)

    def make_cursor(self, path_or_fd):
        """:return: a cursor on the file at path (str, bytes or os.PathLike) or on
        the open file descriptor (the library duplicates it; you may close yours).
        The file is opened now: a missing file raises OSError here."""
        if path_or_fd is None:  # WindowCursor's "no file"
            raise TypeError("path_or_fd: expected a path or a file descriptor, got None")
        return self.WindowCursorCls(self, path_or_fd)

    def _collect_lru_region(self, size):
        """Unmap idle windows: all of them if size is 0, else the least recently
        used ones until size more bytes fit max_mapped_memory_size() (none for
        a negative size, as smmap).
        :return: the number of windows unmapped"""
        size = _number("size", size)
        if size < 0:
            return 0
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
    at most max_memory_size/8), 0 to map whole files (as
    StaticWindowMapManager), else rounded up to whole pages (at least two); a
    max_memory_size below it is lifted to it."""

    __slots__ = ()

    def __init__(self, window_size=-1, max_memory_size=0, max_open_handles=sys.maxsize):
        window, memory, handles = _options(window_size, max_memory_size, max_open_handles,
                                           default_window=-1)
        kind = _smmap.SLIDING if window else _smmap.STATIC
        _smmap.Manager.__init__(self, kind, max(window, 0), memory, handles)
