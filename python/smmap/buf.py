"""The buffer of the smmap drop-in: SlidingWindowMapBuffer, implemented in the
extension (smmap/_smmap/buffer.c) because indexing and slicing are its hot paths."""
from ._smmap import SlidingWindowMapBuffer

__all__ = ["SlidingWindowMapBuffer"]
