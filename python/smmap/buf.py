"""The buffer of the smmap drop-in: SlidingWindowMapBuffer, implemented in the
extension (smmap/_smmap/buffer.c) because indexing and slicing are its hot paths."""
from . import _smmap

__all__ = ["SlidingWindowMapBuffer"]

if hasattr(_smmap, "Span"):
    class SlidingWindowMapBuffer(_smmap.SlidingWindowMapBuffer):
        # PyPy: the extension gives a slice inside one window as a Span, made
        # a memoryview here (see smmap.mman).
        __doc__ = _smmap.SlidingWindowMapBuffer.__doc__
        __slots__ = ()

        def __getitem__(self, key, _getitem=_smmap.SlidingWindowMapBuffer.__getitem__,
                        _Span=_smmap.Span):
            item = _getitem(self, key)
            return memoryview(item) if type(item) is _Span else item
else:
    SlidingWindowMapBuffer = _smmap.SlidingWindowMapBuffer
