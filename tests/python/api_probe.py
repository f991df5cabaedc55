#!/usr/bin/env python3
"""smmap's API call by call: the same calls against upstream's smmap (Debian's
python3-smmap) and against the drop-in, outcome against outcome.

    /usr/bin/python3 tests/python/api_probe.py --ours DIR [--json | --check]

DIR holds the installed drop-in (a directory with smmap/ in it, as
tests/python/run.sh makes). Each implementation runs every case in a worker
process of its own (both are imported as `smmap`); a case's outcome is what
it returns (type and, for plain values, the value) or the exception it
raises. An exception matches when the drop-in's is, or derives from, the
built-in type upstream raised. Prints the cases whose outcomes differ; with
--check, those that KNOWN (below: the differences docs/python.md lists with
their reasons) does not explain, failing if there are any, as
tests/python/test_api_parity.py and scripts/pypy.sh do.
"""
import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

UPSTREAM = "/usr/lib/python3/dist-packages"
PAGE = 4096
W = 16 * PAGE          # the window size of the sliding managers below
SIZE = 5 * W + 123     # the probed file's size

CASES = []


def upstream_installed():
    """Debian's python3-smmap, and not the drop-in's own Debian package
    that replaces it while tests/packaging runs."""
    d = os.path.join(UPSTREAM, "smmap")
    return os.path.isfile(os.path.join(d, "mman.py")) and not glob.glob(os.path.join(d, "_smmap*"))


# The differences docs/python.md lists: case name (a regular expression,
# matched whole) -> the row of its table ("Differences from smmap 5.0.2").
KNOWN = {
    r"version_info": "version (Debian's python3-smmap is 5.0.0 and says so)",
    r"(Sliding|Static)WindowMapManager\(window_1\)\.use": "window_size",
    r"SlidingWindowMapManager\(window_float\)\.use|use_region\((1\.5, 5|0, 5\.5|W \+ 0\.5, 5)\)\..*"
    r"|SlidingWindowMapBuffer\((1\.5|W \+ 0\.5, 10|0, 10\.5)\)\..*": "floats as sizes and offsets",
    r"(Sliding|Static)WindowMapManager\((memory|handles)_(str|none)\)(\.use)?":
        "limits of another type",
    r"(Sliding|Static)WindowMapManager\(handles_(0|negative)\)(\.use)?": "max_open_handles",
    r"manager_default_handles": "max_open_handles",
    r"make_cursor\((bytes|pathlike)\)\.use_region|cursor_fd_of_bytes_path": "paths",
    r"make_cursor\((missing|directory|none|float|negative_fd)\)": "make_cursor()",
    r"(unassociated|no_manager)\.copy": "copy.copy(cursor), assign()",
    r"unused\.size": "size() after unuse_region()",
    r"use_region\(offset=5\)\.(where|buffer)": "window geometry",
    r"use_region\((-5, 10|-5|10, -5)\)\..*|SlidingWindowMapBuffer\(-5\)\..*":
        "negative offsets and sizes",
    r"window_cursor_bad_manager": "WindowCursor(manager) with something else than a manager",
    r"map_type|map_mmap_methods": "map()",
    r"region_type|names_region": "region()",
    r"buffer_uninitialized_len|SlidingWindowMapBuffer\(SIZE\)\.begin_access": "len(buf)",
    r"SlidingWindowMapBuffer\((100|offset=100, size=50|SIZE - 1|100, flags=0)\)\.first_last"
    r"|buffer_begin_access_keeps_cursor": "buffer indexes",
    r"buffer\[(10:5|:0|0:30:3|::-1|len - 5:len \+ 5)\]": "buffer slices",
    r"buffer\[(0:10|W - 5:W \+ 5|-10:)\]": "buffer slice types",
    r"buffer_after_end_access": "misusing a cursor ..., or a buffer not in access",
}


def case(fn):
    CASES.append(fn)
    return fn


# ------------------------------------------------------------------ names

def public(module):
    """The public names of module that are smmap's: not the standard
    library's that its code imports for itself (sys, functools.reduce)."""
    import types

    def smmaps(obj):
        if isinstance(obj, types.ModuleType):
            return obj.__name__.startswith("smmap")
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            return (obj.__module__ or "").startswith("smmap")
        return True  # data: version_info, ALLOCATIONGRANULARITY...
    return sorted(n for n in dir(module) if not n.startswith("_") and smmaps(getattr(module, n)))


@case
def names_smmap(sm, path, data):
    return public(sm)


@case
def names_mman(sm, path, data):
    import smmap.mman
    return public(smmap.mman)


@case
def names_buf(sm, path, data):
    import smmap.buf
    return public(smmap.buf)


@case
def names_util(sm, path, data):
    import smmap.util
    return public(smmap.util)


def attributes(obj):
    """Public attributes, the protocols, and the private methods smmap's
    own suite calls (not its private fields: _fdict, _rlist, _region...)."""
    return sorted(n for n in dir(obj) if not n.startswith("_") or n in
                  ("__enter__", "__exit__", "__copy__", "__len__", "__getitem__",
                   "_destroy", "_collect_lru_region"))


@case
def names_managers(sm, path, data):
    return attributes(sm.SlidingWindowMapManager) + attributes(sm.StaticWindowMapManager)


@case
def names_cursor(sm, path, data):
    return attributes(sm.WindowCursor)


@case
def names_buffer(sm, path, data):
    return attributes(sm.SlidingWindowMapBuffer)


@case
def names_region(sm, path, data):
    return attributes(cursor(sm, path).use_region(0, 10).region())


@case
def all_lists(sm, path, data):
    import smmap.buf
    import smmap.mman
    import smmap.util
    return [m.__all__ for m in (smmap.mman, smmap.buf, smmap.util)]


@case
def import_is_64_bit_from_mman(sm, path, data):
    from smmap.mman import is_64_bit
    return is_64_bit()


@case
def version_info(sm, path, data):
    return sm.version_info


# --------------------------------------------------------------- managers

MANAGER_ARGS = {
    "default": {},
    "window_0": {"window_size": 0},
    "window_1": {"window_size": 1},
    "window_float": {"window_size": W + 0.5},
    "window_negative": {"window_size": -5},
    "window_str": {"window_size": "1"},
    "window_none": {"window_size": None},
    "window_over_memory": {"window_size": 4 * W, "max_memory_size": 2 * W},
    "memory_1": {"window_size": W, "max_memory_size": 1},
    "memory_0": {"window_size": W, "max_memory_size": 0},
    "memory_negative": {"window_size": W, "max_memory_size": -1},
    "memory_float": {"window_size": W, "max_memory_size": 8 * W + 0.5},
    "memory_str": {"window_size": W, "max_memory_size": "1"},
    "memory_none": {"window_size": W, "max_memory_size": None},
    "handles_0": {"window_size": W, "max_open_handles": 0},
    "handles_1": {"window_size": W, "max_open_handles": 1},
    "handles_negative": {"window_size": W, "max_open_handles": -1},
    "handles_float": {"window_size": W, "max_open_handles": 2.5},
    "handles_str": {"window_size": W, "max_open_handles": "2"},
    "handles_none": {"window_size": W, "max_open_handles": None},
    "unknown_keyword": {"window": W},
}


def manager_cases(kind):
    for label, kwargs in MANAGER_ARGS.items():
        def make(sm, path, data, kwargs=kwargs):
            return getattr(sm, kind)(**kwargs)

        def construct(sm, path, data, make=make):
            make(sm, path, data)
            return None

        def use(sm, path, data, make=make):
            # what a manager so made serves: a few reads across the file
            m = make(sm, path, data)
            c = m.make_cursor(path)
            out = []
            for ofs in (0, 2 * W + 5, SIZE - 10):
                c.use_region(ofs, 10)
                out.append(bytes(c.buffer()[:10]) == data[ofs:ofs + 10])
            return out

        construct.__name__ = "%s(%s)" % (kind, label)
        use.__name__ = "%s(%s).use" % (kind, label)
        CASES.append(construct)
        CASES.append(use)


manager_cases("SlidingWindowMapManager")
manager_cases("StaticWindowMapManager")


@case
def manager_positional(sm, path, data):
    m = sm.SlidingWindowMapManager(W, 64 * W, 10)
    return m.window_size(), m.max_mapped_memory_size(), m.max_file_handles()


@case
def manager_too_many_args(sm, path, data):
    return sm.SlidingWindowMapManager(W, 64 * W, 10, 0)


@case
def manager_accessor_types(sm, path, data):
    m = sm.SlidingWindowMapManager()
    return [type(f()).__name__ for f in (m.window_size, m.max_mapped_memory_size,
                                         m.max_file_handles, m.num_file_handles,
                                         m.num_open_files, m.mapped_memory_size, m.collect)]


@case
def manager_defaults(sm, path, data):
    m = sm.SlidingWindowMapManager()
    s = sm.StaticWindowMapManager()
    return (m.window_size(), m.max_mapped_memory_size(), s.window_size(),
            s.max_mapped_memory_size())


@case
def manager_default_handles(sm, path, data):
    return sm.SlidingWindowMapManager().max_file_handles() == sys.maxsize


@case
def collect_lru_region_sizes(sm, path, data):
    m = sm.SlidingWindowMapManager(window_size=W)
    return [m._collect_lru_region(n) for n in (0, 10, sys.maxsize)]


@case
def collect_lru_region_float(sm, path, data):
    m = sm.SlidingWindowMapManager(window_size=W)
    return m._collect_lru_region(1.5)


@case
def collect_lru_region_negative(sm, path, data):
    m = sm.SlidingWindowMapManager(window_size=W)
    return m._collect_lru_region(-1)


@case
def force_map_handle_removal_win(sm, path, data):
    return sm.SlidingWindowMapManager().force_map_handle_removal_win(os.path.dirname(path))


# ------------------------------------------------------------ make_cursor

def cursor_cases():
    def fd_of(path):
        return os.open(path, os.O_RDONLY)
    kinds = {
        "str": lambda path: path,
        "bytes": lambda path: path.encode(),
        "pathlike": lambda path: __import__("pathlib").Path(path),
        "fd": fd_of,
        "missing": lambda path: path + ".missing",
        "directory": os.path.dirname,
        "none": lambda path: None,
        "float": lambda path: 1.5,
        "negative_fd": lambda path: -1,
    }
    for label, arg in kinds.items():
        def make(sm, path, data, arg=arg):
            sm.SlidingWindowMapManager().make_cursor(arg(path))
            return None

        def use(sm, path, data, arg=arg):
            c = sm.SlidingWindowMapManager().make_cursor(arg(path))
            return bytes(c.use_region(1, 10).buffer()) == data[1:11]

        make.__name__ = "make_cursor(%s)" % label
        use.__name__ = "make_cursor(%s).use_region" % label
        CASES.extend([make, use])


cursor_cases()


# ---------------------------------------------------------------- cursors

def cursor(sm, path):
    return sm.SlidingWindowMapManager(window_size=W).make_cursor(path)


# every query of a cursor in the three states it can be in without a window
QUERIES = {
    "is_valid": lambda c: c.is_valid(),
    "is_associated": lambda c: c.is_associated(),
    "size": lambda c: c.size(),
    "file_size": lambda c: c.file_size(),
    "path_or_fd": lambda c: c.path_or_fd() is None,
    "path": lambda c: type(c.path()).__name__,
    "fd": lambda c: c.fd(),
    "buffer": lambda c: c.buffer(),
    "map": lambda c: c.map(),
    "ofs_begin": lambda c: c.ofs_begin(),
    "ofs_end": lambda c: c.ofs_end(),
    "includes_ofs": lambda c: c.includes_ofs(0),
    "region": lambda c: c.region(),
    "unuse_region": lambda c: c.unuse_region(),
    "_destroy": lambda c: c._destroy(),
    "use_region": lambda c: c.use_region(0, 10).is_valid(),
    "copy": lambda c: __import__("copy").copy(c).is_associated(),
    "with": lambda c: c.__enter__() is c and c.__exit__(None, None, None),
}
STATES = {
    "unassociated": lambda sm, path: sm.WindowCursor(sm.SlidingWindowMapManager()),
    "no_manager": lambda sm, path: sm.WindowCursor(),
    "no_region": lambda sm, path: cursor(sm, path),
    "unused": lambda sm, path: cursor(sm, path).use_region(0, 10).unuse_region() or None,
    "past_end": lambda sm, path: cursor(sm, path).use_region(SIZE, 10),
}


def query_cases():
    for state, make in STATES.items():
        for query, fn in QUERIES.items():
            def probe(sm, path, data, make=make, fn=fn, state=state):
                c = make(sm, path)
                if c is None:  # "unused": a cursor whose region was unused
                    c = cursor(sm, path)
                    c.use_region(0, 10)
                    c.unuse_region()
                return fn(c)
            probe.__name__ = "%s.%s" % (state, query)
            CASES.append(probe)


query_cases()


def use_region_cases():
    calls = {
        "(0, 10)": ((0, 10), {}),
        "()": ((), {}),
        "(offset=5)": ((), {"offset": 5}),
        "(5, size=10)": ((5,), {"size": 10}),
        "(1.5, 5)": ((1.5, 5), {}),
        "(0, 5.5)": ((0, 5.5), {}),
        "(W + 0.5, 5)": ((W + 0.5, 5), {}),
        "(True, 1)": ((True, 1), {}),
        "(-5, 10)": ((-5, 10), {}),
        "(-5)": ((-5,), {}),
        "(10, -5)": ((10, -5), {}),
        "(SIZE, 10)": ((SIZE, 10), {}),
        "(SIZE + 5, 10)": ((SIZE + 5, 10), {}),
        "('1', 10)": (("1", 10), {}),
        "(None, 10)": ((None, 10), {}),
        "(0, None)": ((0, None), {}),
        "(0, 10, 0)": ((0, 10, 0), {}),
        "(0, 10, flags=0)": ((0, 10), {"flags": 0}),
        "(0, 10, 0, 0)": ((0, 10, 0, 0), {}),
        "(bogus=1)": ((), {"bogus": 1}),
        "(2**64, 10)": ((2 ** 64, 10), {}),
    }
    for label, (args, kwargs) in calls.items():
        def valid(sm, path, data, args=args, kwargs=kwargs):
            return cursor(sm, path).use_region(*args, **kwargs).is_valid()

        def where(sm, path, data, args=args, kwargs=kwargs):
            c = cursor(sm, path).use_region(*args, **kwargs)
            return c.ofs_begin(), c.size(), c.ofs_end()

        def read(sm, path, data, args=args, kwargs=kwargs):
            c = cursor(sm, path).use_region(*args, **kwargs)
            b = c.buffer()
            ofs = int(c.ofs_begin())
            return len(b), bytes(b) == data[ofs:ofs + len(b)]

        for fn, what in ((valid, "is_valid"), (where, "where"), (read, "buffer")):
            fn.__name__ = "use_region%s.%s" % (label, what)
            CASES.append(fn)


use_region_cases()


@case
def includes_ofs_variants(sm, path, data):
    c = cursor(sm, path).use_region(10, 100)
    return [c.includes_ofs(x) for x in (9, 10, 10.5, 109, 110, -1, True)]


@case
def includes_ofs_str(sm, path, data):
    return cursor(sm, path).use_region(10, 100).includes_ofs("1")


@case
def cursor_path_kinds(sm, path, data):
    m = sm.SlidingWindowMapManager()
    out = []
    for p in (path, path.encode(), __import__("pathlib").Path(path)):
        c = m.make_cursor(p)
        out.append((c.path_or_fd() is p, type(c.path()).__name__))
    return out


@case
def cursor_fd_queries(sm, path, data):
    fd = os.open(path, os.O_RDONLY)
    try:
        c = sm.SlidingWindowMapManager().make_cursor(fd)
        return c.fd() == fd, c.path_or_fd() == fd
    finally:
        os.close(fd)


@case
def cursor_path_of_fd(sm, path, data):
    fd = os.open(path, os.O_RDONLY)
    try:
        return sm.SlidingWindowMapManager().make_cursor(fd).path()
    finally:
        os.close(fd)


@case
def cursor_fd_of_bytes_path(sm, path, data):
    return sm.SlidingWindowMapManager().make_cursor(path.encode()).fd()


@case
def cursor_assign_non_cursor(sm, path, data):
    return cursor(sm, path).assign(5)


@case
def cursor_assign(sm, path, data):
    a = cursor(sm, path).use_region(W + 3, 10)
    b = sm.WindowCursor()
    b.assign(a)
    return b.is_valid(), b.ofs_begin(), bytes(b.buffer()) == data[W + 3:W + 13]


@case
def cursor_copy(sm, path, data):
    a = cursor(sm, path).use_region(W + 3, 10)
    b = __import__("copy").copy(a)
    return b.is_valid(), b.ofs_begin(), bytes(b.buffer()) == data[W + 3:W + 13]


@case
def window_cursor_with_regions(sm, path, data):
    m = sm.SlidingWindowMapManager(window_size=W)
    c = sm.WindowCursor(manager=m, regions=m.MapRegionListCls(path))
    return c.is_associated(), bytes(c.use_region(5, 10).buffer()) == data[5:15]


@case
def window_cursor_bad_manager(sm, path, data):
    return sm.WindowCursor(5).is_associated()


@case
def buffer_view(sm, path, data):
    b = cursor(sm, path).use_region(W + 3, 10).buffer()
    return type(b).__name__, b.readonly, len(b), b.format, bytes(b) == data[W + 3:W + 13]


@case
def buffer_view_write(sm, path, data):
    b = cursor(sm, path).use_region(W + 3, 10).buffer()
    b[0] = 1


# ---------------------------------------------------------------- map()

@case
def map_type(sm, path, data):
    return type(cursor(sm, path).use_region(W + 3, 10).map()).__name__


@case
def map_as_sequence(sm, path, data):
    c = cursor(sm, path).use_region(W + 3, 10)
    m = c.map()
    r = c.region()
    base = r.ofs_begin()
    return (len(m) == r.size(), m[0] == data[base], m[-1] == data[base + len(m) - 1],
            m[:10] == data[base:base + 10], type(m[:10]).__name__, m[10:5],
            m[2:20:3] == data[base + 2:base + 20:3])


@case
def map_as_buffer(sm, path, data):
    import struct
    import zlib
    c = cursor(sm, path).use_region(W + 3, 10)
    m = c.map()
    base = c.region().ofs_begin()
    with memoryview(m) as v:
        view = (v.readonly, len(v) == len(m), bytes(v[:10]) == data[base:base + 10])
    whole = data[base:base + len(m)]
    return (view, struct.unpack_from(">L", m, 4) == struct.unpack_from(">L", data, base + 4),
            zlib.crc32(m) == zlib.crc32(whole), bytes(m) == whole)


@case
def map_index_errors(sm, path, data):
    m = cursor(sm, path).use_region(W + 3, 10).map()
    out = []
    for key in (len(m), -len(m) - 1, 1.5, "1"):
        try:
            m[key]
            out.append(None)
        except Exception as e:
            out.append(type(e).__name__)
    return out


@case
def map_write(sm, path, data):
    m = cursor(sm, path).use_region(W + 3, 10).map()
    m[0] = 1


@case
def map_mmap_methods(sm, path, data):
    import mmap
    m = cursor(sm, path).use_region(W + 3, 10).map()
    return sorted(n for n in dir(mmap.mmap) if not n.startswith("_") and not hasattr(m, n))


@case
def map_static_is_whole_file(sm, path, data):
    m = sm.StaticWindowMapManager().make_cursor(path).use_region(W, 10).map()
    return len(m) == SIZE, m[:] == data


# ---------------------------------------------------------------- regions

@case
def region_queries(sm, path, data):
    c = cursor(sm, path).use_region(W + 3, 10)
    r = c.region()
    return (r.client_count(), r.ofs_begin() <= W + 3 < r.ofs_end(),
            r.size() == r.ofs_end() - r.ofs_begin(), r.includes_ofs(W + 3),
            r.includes_ofs(r.ofs_end()), c.region() == r)


@case
def region_type(sm, path, data):
    return type(cursor(sm, path).use_region(W + 3, 10).region()).__name__


@case
def region_buffer(sm, path, data):
    c = cursor(sm, path).use_region(W + 3, 10)
    r = c.region()
    b = r.buffer()
    return len(b) == r.size(), bytes(b[:10]) == data[r.ofs_begin():r.ofs_begin() + 10]


# ---------------------------------------------------------------- buffers

def buf(sm, path, *args, **kwargs):
    return sm.SlidingWindowMapBuffer(cursor(sm, path), *args, **kwargs)


@case
def buffer_uninitialized(sm, path, data):
    b = sm.SlidingWindowMapBuffer()
    return b.cursor(), b.end_access(), b.begin_access()


@case
def buffer_uninitialized_len(sm, path, data):
    return len(sm.SlidingWindowMapBuffer())


@case
def buffer_uninitialized_index(sm, path, data):
    return sm.SlidingWindowMapBuffer()[0]


@case
def buffer_uninitialized_slice(sm, path, data):
    return sm.SlidingWindowMapBuffer()[0:1]


@case
def buffer_invalid_cursor(sm, path, data):
    return sm.SlidingWindowMapBuffer(sm.WindowCursor())


@case
def buffer_not_a_cursor(sm, path, data):
    return sm.SlidingWindowMapBuffer(5)


BUFFER_ARGS = {
    "()": ((), {}),
    "(100)": ((100,), {}),
    "(offset=100, size=50)": ((), {"offset": 100, "size": 50}),
    "(1.5)": ((1.5,), {}),
    "(W + 0.5, 10)": ((W + 0.5, 10), {}),
    "(0, 10.5)": ((0, 10.5), {}),
    "(-5)": ((-5,), {}),
    "(0, -5)": ((0, -5), {}),
    "(0, 0)": ((0, 0), {}),
    "(SIZE)": ((SIZE,), {}),
    "(SIZE - 1)": ((SIZE - 1,), {}),
    "(0, SIZE + 100)": ((0, SIZE + 100), {}),
    "(100, flags=0)": ((100,), {"flags": 0}),
    "('1')": (("1",), {}),
}


def buffer_cases():
    for label, (args, kwargs) in BUFFER_ARGS.items():
        def make(sm, path, data, args=args, kwargs=kwargs):
            return len(buf(sm, path, *args, **kwargs))

        def first(sm, path, data, args=args, kwargs=kwargs):
            b = buf(sm, path, *args, **kwargs)
            return b[0], b[len(b) - 1]

        def begin(sm, path, data, args=args, kwargs=kwargs):
            b = sm.SlidingWindowMapBuffer()
            return b.begin_access(cursor(sm, path), *args, **kwargs), len(b)

        for fn, what in ((make, "len"), (first, "first_last"), (begin, "begin_access")):
            fn.__name__ = "SlidingWindowMapBuffer%s.%s" % (label, what)
            CASES.append(fn)


buffer_cases()


def buffer_key_cases():
    keys = {
        "[0]": 0, "[-1]": -1, "[len]": "len", "[-len - 1]": "-len-1", "[1.5]": 1.5,
        "['1']": "1", "[None]": None, "[True]": True,
        "[0:10]": slice(0, 10), "[W - 5:W + 5]": slice(W - 5, W + 5),
        "[-10:]": slice(-10, None), "[:-10]": slice(None, -10), "[10:5]": slice(10, 5),
        "[:0]": slice(None, 0), "[0:30:3]": slice(0, 30, 3), "[::-1]": slice(None, None, -1),
        "[len - 5:len + 5]": "tail", "[:]": slice(None),
    }
    # a buffer from the file's start (smmap's indexes are right only there)
    # whose cursor was moved off its first window, and 3 * W long
    for label, key in keys.items():
        def probe(sm, path, data, key=key):
            b = buf(sm, path, 0, 3 * W)
            b.cursor().use_region(4 * W, 10)
            n = len(b)
            k = {"len": n, "-len-1": -n - 1, "tail": slice(n - 5, n + 5)}.get(key, key) \
                if key in ("len", "-len-1", "tail") else key
            r = b[k]
            if isinstance(r, int):
                return "int", r == data[:n][k]
            return type(r).__name__, bytes(r) == data[:n][k]
        probe.__name__ = "buffer%s" % label
        CASES.append(probe)


buffer_key_cases()


@case
def buffer_begin_access_keeps_cursor(sm, path, data):
    b = buf(sm, path)
    c = b.cursor()
    return b.begin_access(offset=10), b.cursor() is c, b[0] == data[10]


@case
def buffer_begin_access_other_cursor(sm, path, data):
    b = buf(sm, path)
    c = cursor(sm, path)
    return b.begin_access(c, 10), b.cursor() is c


@case
def buffer_end_access(sm, path, data):
    b = buf(sm, path)
    b.end_access()
    return len(b), b.cursor().is_valid(), b.cursor().is_associated()


@case
def buffer_after_end_access(sm, path, data):
    b = buf(sm, path)
    b.end_access()
    return b[0]


@case
def buffer_context(sm, path, data):
    with buf(sm, path) as b:
        first = b[0]
    return first == data[0], b.cursor().is_valid()


# ------------------------------------------------------------------ util

@case
def util_functions(sm, path, data):
    from smmap import util
    return (util.align_to_mmap(1, True), util.align_to_mmap(4097, False),
            util.align_to_mmap(1.5, True), util.is_64_bit(), util.ALLOCATIONGRANULARITY)


@case
def util_classes(sm, path, data):
    from smmap import util
    w = util.MapWindow(10, 20)
    w.align()
    rl = util.MapRegionList(path)
    r = util.MapRegion(path, 0, 100)
    return (repr(w), w.ofs_end(), rl.file_size(), rl.path_or_fd() == path, r.size(),
            r.client_count(), r.includes_ofs(50), bytes(r.buffer()[:10]) == data[:10])


# ------------------------------------------------------------------ driver

def outcome(fn, sm, path, data):
    """What the call gave: ["return", type, value] or ["raise", type, [the
    built-in types among its classes, most derived first]]."""
    def timeout(signum, frame):
        raise TimeoutError("no answer within 2 s")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(2)
    try:
        r = fn(sm, path, data)
    except Exception as e:
        # its type, and the built-in classes it is an instance of
        return ["raise", type(e).__name__, [c.__name__ for c in type(e).__mro__
                                            if c.__module__ == "builtins"]]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    plain = (type(None), bool, int, float, str, bytes, list, tuple)
    return ["return", type(r).__name__, json.loads(json.dumps(r, default=repr))
            if isinstance(r, plain) else None]


def worker():
    import gc
    import smmap
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data")
        data = bytes((i * 7 + i // 251) & 0xFF for i in range(SIZE))
        with open(path, "wb") as f:
            f.write(data)
        out = {"__file__": smmap.__file__}
        for fn in CASES:
            out[fn.__name__] = outcome(fn, smmap, path, data)
            gc.collect()
    json.dump(out, sys.stdout)


def run(impl_path):
    """Every case's outcome with smmap imported from impl_path."""
    env = dict(os.environ, PYTHONPATH=impl_path)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker"], env=env,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("worker failed: %s" % p.stderr[-2000:])
    out = json.loads(p.stdout)
    where = out.pop("__file__")
    if not where.startswith(os.path.join(impl_path, "smmap") + os.sep):
        raise RuntimeError("imported %s instead of the smmap in %s" % (where, impl_path))
    return out


def same(upstream, ours, name=""):
    if name.startswith("names_"):  # the drop-in may add names
        return ours[0] == "return" and set(upstream[2]) <= set(ours[2])
    if upstream[0] == "raise":
        return ours[0] == "raise" and upstream[2][0] in ours[2]
    return upstream == ours


def differences(ours_path):
    """{case: (upstream's outcome, ours)} for the cases that differ."""
    up, ours = run(UPSTREAM), run(ours_path)
    return {name: (up[name], ours[name]) for name in up if not same(up[name], ours[name], name)}


def check(diff):
    """The differences KNOWN does not explain, and the patterns of KNOWN
    that match no difference any more."""
    unexplained = {name: outcomes for name, outcomes in diff.items()
                   if not any(re.fullmatch(p, name) for p in KNOWN)}
    stale = [p for p in KNOWN if not any(re.fullmatch(p, name) for name in diff)]
    return unexplained, stale


def report(diff):
    return "\n".join("%s\n    smmap:   %s\n    drop-in: %s" % (name, u, o)
                     for name, (u, o) in diff.items())


def main():
    if "--worker" in sys.argv:
        return worker()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", required=True, help="directory holding the installed drop-in")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true",
                    help="print only the differences KNOWN does not list (and the stale"
                    " entries of KNOWN); exit 1 if there are any")
    args = ap.parse_args()
    diff = differences(os.path.abspath(args.ours))
    if args.json:
        json.dump(diff, sys.stdout, indent=1)
    elif args.check:
        unexplained, stale = check(diff)
        if unexplained:
            print(report(unexplained))
        for p in stale:
            print("no longer different: %s" % p)
        print("%d of %d cases differ from smmap, %d of them not known; %d known no longer differ"
              % (len(diff), len(CASES), len(unexplained), len(stale)))
        sys.exit(1 if unexplained or stale else 0)
    else:
        print(report(diff))
        print("%d of %d cases differ" % (len(diff), len(CASES)))


if __name__ == "__main__":
    main()
