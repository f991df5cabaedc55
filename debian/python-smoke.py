"""Smoke test of the built drop-in: it is ours, and it reads a file through
a sliding window smaller than the file."""
import os
import tempfile

import smmap

assert smmap.__version__.startswith(smmap.API_VERSION + "+libsmmap."), smmap.__version__
data = os.urandom(300000)
with tempfile.NamedTemporaryFile() as f:
    f.write(data)
    f.flush()
    m = smmap.SlidingWindowMapManager(window_size=65536, max_memory_size=1 << 20)
    c = m.make_cursor(f.name)
    got = bytearray()
    ofs = 0
    while ofs < len(data):
        c.use_region(ofs, 65536)
        chunk = bytes(c.buffer())
        got += chunk
        ofs += len(chunk)
    assert bytes(got) == data
print("smoke:", smmap.__file__, smmap.__version__)
