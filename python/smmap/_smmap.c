/*
 * _smmap.c - the CPython extension under the `smmap` drop-in package: the
 * manager base, WindowCursor, SlidingWindowMapBuffer and the objects that
 * export a window without copying, all over the public API of smmap.h.
 *
 * Zero-copy views. A cursor hands out its current window through one
 * WindowMap object (cursor.map() returns it, cursor.buffer() and buffer
 * slices are memoryviews of it). While the cursor stays on that window its
 * own use keeps the window mapped, so the common case costs no extra user
 * and no lock. Before the cursor leaves the window (use of another window,
 * unuse, assign, destruction) cursor_leave() checks whether anything still
 * references the WindowMap; if so the WindowMap takes a duplicate cursor of
 * its own, which keeps the window mapped until the last view is released.
 *
 * Every view is a memoryview of the WindowMap whose export gives just the
 * view's bytes (make_view() sets the span before asking for it). Views are
 * counted through the buffer protocol, as mmapmodule.c counts its exports:
 * the extension uses CPython's public API only, no memoryview internals.
 *
 * Truncation. Touching a page of a mapping that the file no longer covers
 * raises SIGBUS. A view is handed out only after its last byte was touched
 * under the library's guard (smmap_probe_at()): if the file was cut below it,
 * the call raises OSError instead. probe_view() first touches the window's
 * last byte (hot in the cache; if it is there, so is every byte of the
 * window) and only if that fails the view's own last byte.
 *
 * The GIL is released around every call that may open, mmap or munmap. A
 * request inside the cursor's current window cannot (it is the library's
 * lock-free hit path), so it runs with the GIL held: releasing it would
 * cost more than the call (about 28 ns against 5). Any other request
 * releases it, even one that finds another window already mapped: the
 * library cannot tell beforehand whether it will map, unmap or fstat.
 * Whenever the GIL is released with a cursor, the cursor is marked busy and
 * has left its WindowMap first, so no other thread can reach the C cursor
 * meanwhile.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <smmap.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifndef Py_NewRef
static inline PyObject *smmap_newref(PyObject *o) { Py_INCREF(o); return o; }
#define Py_NewRef(o) smmap_newref((PyObject *)(o))
#endif
#ifndef Py_XNewRef
static inline PyObject *smmap_xnewref(PyObject *o) { Py_XINCREF(o); return o; }
#define Py_XNewRef(o) smmap_xnewref((PyObject *)(o))
#endif

/* Returned by the int64_t helpers when a Python exception is set. */
#define PYERR INT64_MIN

static PyTypeObject ManagerType, CursorType, WindowMapType, RegionType, BufferType;

/* ------------------------------------------------------------------ errors */

/* -errno -> OSError(errno, message, filename) (its subclass, e.g.
 * FileNotFoundError), SMMAP_EINVAL -> ValueError, any other library code ->
 * OSError(message) with .filename set. */
static void set_error(int64_t code, PyObject *filename)
{
    int rc = (int)code;
    const char *msg = smmap_strerror(rc);
    if (rc == SMMAP_EINVAL) {
        PyErr_SetString(PyExc_ValueError, msg);
        return;
    }
    /* OSError's filename: the path as given (str, bytes, or a PathLike's
     * fspath), none for an fd. */
    PyObject *name = NULL;
    if (filename && !PyLong_Check(filename)) {
        name = PyOS_FSPath(filename);
        if (!name)
            PyErr_Clear();
    }
    filename = name;
    PyObject *exc;
    if (rc < 0 && rc > -30000) /* library codes are -300xx */
        exc = PyObject_CallFunction(PyExc_OSError, "isO", -rc, msg,
                                    filename ? filename : Py_None);
    else /* no errno, but the message and the file, so str(e) reads well */
        exc = PyObject_CallFunction(PyExc_OSError, "OsO", Py_None, msg,
                                    filename ? filename : Py_None);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    Py_XDECREF(name);
}

/* ------------------------------------------------------ argument parsing */

/* Match METH_FASTCALL arguments to names[0..n): positional ones first, then
 * keywords. out[] must start as NULL ("not given"). */
static int parse_args(const char *fname, const char *const *names, int n,
                      PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames, PyObject **out)
{
    if (nargs > n) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)",
                     fname, n, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    Py_ssize_t nk = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nk; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int j = 0;
        while (j < n && PyUnicode_CompareWithASCIIString(key, names[j]) != 0)
            j++;
        if (j == n) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, key);
            return -1;
        }
        if (out[j]) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                         fname, names[j]);
            return -1;
        }
        out[j] = args[nargs + k];
    }
    return 0;
}

/* A non-negative integer: ValueError if negative, OverflowError past 2**64. */
static int get_u64(PyObject *o, uint64_t *v, const char *what)
{
    int overflow;
    long long x;
    if (PyLong_CheckExact(o)) {
        x = PyLong_AsLongLongAndOverflow(o, &overflow);
    } else {
        PyObject *i = PyNumber_Index(o);
        if (!i)
            return -1;
        int rc = get_u64(i, v, what);
        Py_DECREF(i);
        return rc;
    }
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(o);
        if (u == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        *v = u;
        return 0;
    }
    if (overflow < 0 || x < 0) {
        PyErr_Format(PyExc_ValueError, "%s must not be negative", what);
        return -1;
    }
    *v = (uint64_t)x;
    return 0;
}

/* ---------------------------------------------------------------- manager */

typedef struct {
    PyObject_HEAD
    smmap_manager *m; /* NULL until __init__ ran */
} ManagerObject;

static void free_manager(smmap_manager *m)
{
    /* The last reference unmaps every window. */
    Py_BEGIN_ALLOW_THREADS
    smmap_manager_free(m);
    Py_END_ALLOW_THREADS
}

/* An unsigned 64-bit count for "O&": OverflowError past 2**64 - 1 or below
 * 0, where the "K" format would wrap silently. */
static int to_u64(PyObject *o, void *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return 0;
    *(unsigned long long *)out = v;
    return 1;
}

/* Manager(kind, window_size, max_memory, max_handles): the library's
 * options as they are (0 = default); mman.py translates smmap's keywords. */
static int manager_init(ManagerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"kind", "window_size", "max_memory", "max_handles", NULL};
    int kind = SMMAP_SLIDING;
    unsigned long long ws = 0, mem = 0, max_handles = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|iO&O&O&", kwlist, &kind, to_u64, &ws,
                                     to_u64, &mem, to_u64, &max_handles))
        return -1;
    if (ws > SIZE_MAX || max_handles > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "window_size or max_handles too large");
        return -1;
    }
    /* Cursors being made in other threads use the C manager without the
     * GIL: it cannot be swapped under them. */
    if (self->m) {
        PyErr_SetString(PyExc_RuntimeError, "manager is already initialized");
        return -1;
    }
    smmap_options opt = {.kind = kind, .window_size = (size_t)ws, .max_memory = mem,
                         .max_handles = (uint32_t)max_handles};
    smmap_manager *m = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = smmap_manager_new(&m, &opt);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        set_error(rc, NULL);
        return -1;
    }
    if (self->m) { /* another thread's __init__ won meanwhile */
        free_manager(m);
        PyErr_SetString(PyExc_RuntimeError, "manager is already initialized");
        return -1;
    }
    self->m = m;
    return 0;
}

static void manager_dealloc(ManagerObject *self)
{
    if (self->m)
        free_manager(self->m);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static smmap_manager *manager_get(ManagerObject *self)
{
    if (!self->m)
        PyErr_SetString(PyExc_ValueError, "manager is not initialized");
    return self->m;
}

static PyObject *manager_collect(ManagerObject *self, PyObject *Py_UNUSED(a))
{
    smmap_manager *m = manager_get(self);
    if (!m)
        return NULL;
    int n;
    Py_BEGIN_ALLOW_THREADS
    n = smmap_collect(m);
    Py_END_ALLOW_THREADS
    if (n < 0) {
        set_error(n, NULL);
        return NULL;
    }
    return PyLong_FromLong(n);
}

static int manager_snapshot(ManagerObject *self, smmap_stats *st, smmap_options *opt)
{
    smmap_manager *m = manager_get(self);
    if (!m)
        return -1;
    if (st)
        smmap_manager_stats(m, st);
    if (opt)
        smmap_manager_options(m, opt);
    return 0;
}

#define STAT_GETTER(name, expr)                                               \
    static PyObject *manager_##name(ManagerObject *self, PyObject *Py_UNUSED(a)) \
    {                                                                         \
        smmap_stats st;                                                       \
        smmap_options opt;                                                    \
        if (manager_snapshot(self, &st, &opt) < 0)                            \
            return NULL;                                                      \
        (void)st;                                                             \
        (void)opt;                                                            \
        return PyLong_FromUnsignedLongLong(expr);                             \
    }
STAT_GETTER(num_file_handles, st.windows)
STAT_GETTER(num_open_files, st.files_mapped)
STAT_GETTER(mapped_memory_size, st.mapped)
STAT_GETTER(window_size, opt.window_size)
STAT_GETTER(max_file_handles, opt.max_handles)
STAT_GETTER(max_mapped_memory_size, opt.max_memory)

/* Every counter of smmap_stats, as a dict (not in smmap; for tests and
 * curious users). */
static PyObject *manager_stats(ManagerObject *self, PyObject *Py_UNUSED(a))
{
    smmap_stats s;
    if (manager_snapshot(self, &s, NULL) < 0)
        return NULL;
    return Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsK}",
        "mapped", s.mapped, "mapped_peak", s.mapped_peak, "windows", s.windows,
        "windows_peak", s.windows_peak, "files", s.files, "files_peak", s.files_peak,
        "files_mapped", s.files_mapped, "mmap_calls", s.mmap_calls,
        "munmap_calls", s.munmap_calls, "hits", s.hits, "misses", s.misses,
        "evictions", s.evictions, "limit_exceeded", s.limit_exceeded,
        "failures", s.failures, "retries", s.retries, "preads", s.preads);
}

static PyObject *manager_make_room(ManagerObject *self, PyObject *arg)
{
    smmap_manager *m = manager_get(self);
    unsigned long long bytes = PyLong_AsUnsignedLongLong(arg);
    if (!m || PyErr_Occurred())
        return NULL;
    int n;
    Py_BEGIN_ALLOW_THREADS
    n = smmap_make_room(m, bytes);
    Py_END_ALLOW_THREADS
    if (n < 0) {
        set_error(n, NULL);
        return NULL;
    }
    return PyLong_FromLong(n);
}

static PyObject *manager_collect_path(ManagerObject *self, PyObject *arg)
{
    smmap_manager *m = manager_get(self);
    PyObject *prefix = NULL;
    if (!m || !PyUnicode_FSConverter(arg, &prefix))
        return NULL;
    int n;
    const char *s = PyBytes_AS_STRING(prefix);
    Py_BEGIN_ALLOW_THREADS
    n = smmap_collect_path(m, s);
    Py_END_ALLOW_THREADS
    Py_DECREF(prefix);
    if (n < 0) {
        set_error(n, NULL);
        return NULL;
    }
    return PyLong_FromLong(n);
}

static PyMethodDef manager_methods[] = {
    {"_collect_path", (PyCFunction)manager_collect_path, METH_O,
     "Unmap the idle windows of the files under a path prefix; return how many."},
    {"_make_room", (PyCFunction)manager_make_room, METH_O,
     "Unmap least recently used idle windows until bytes more fit; return how many."},
    {"collect", (PyCFunction)manager_collect, METH_NOARGS,
     "Unmap every idle window now; return how many were unmapped."},
    {"num_file_handles", (PyCFunction)manager_num_file_handles, METH_NOARGS,
     "Number of windows (mappings) the manager holds."},
    {"num_open_files", (PyCFunction)manager_num_open_files, METH_NOARGS,
     "Number of files with at least one mapped window."},
    {"mapped_memory_size", (PyCFunction)manager_mapped_memory_size, METH_NOARGS,
     "Bytes mapped now, all files together."},
    {"window_size", (PyCFunction)manager_window_size, METH_NOARGS,
     "Size of a window in bytes; 0 when whole files are mapped."},
    {"max_file_handles", (PyCFunction)manager_max_file_handles, METH_NOARGS,
     "Cap on the number of windows."},
    {"max_mapped_memory_size", (PyCFunction)manager_max_mapped_memory_size, METH_NOARGS,
     "Cap on the bytes mapped."},
    {"stats", (PyCFunction)manager_stats, METH_NOARGS,
     "The library's counters (smmap_stats) as a dict."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ManagerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "smmap._smmap.Manager",
    .tp_basicsize = sizeof(ManagerObject),
    .tp_dealloc = (destructor)manager_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A libsmmap manager; base of the managers in smmap.mman.",
    .tp_methods = manager_methods,
    .tp_init = (initproc)manager_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ cursor */

typedef struct WindowMapObject WindowMapObject;

typedef struct {
    PyObject_HEAD
    smmap_cursor *c;       /* NULL: not associated with a file */
    PyObject *manager;     /* the manager given at creation, or NULL */
    PyObject *path_or_fd;  /* exactly what the caller gave, or NULL */
    WindowMapObject *win;  /* export of the current window, made on demand */
    uint64_t wb, we;       /* current window [wb, we); we == 0: none */
    int busy;              /* a call runs on c without the GIL */
} CursorObject;

/*
 * One window of one cursor, exported without copying. Exactly one of owner
 * and own keeps the window mapped: owner while that cursor stays on the
 * window (then owner->win == this), own (a duplicate cursor) after the
 * owner left while something still referenced this object.
 */
struct WindowMapObject {
    PyObject_HEAD
    CursorObject *owner;         /* borrowed; cleared by cursor_leave() */
    smmap_cursor *own;
    const unsigned char *base;   /* first byte of the window */
    uint64_t begin;              /* its file offset */
    Py_ssize_t len;
    Py_ssize_t exports;          /* live Py_buffer exports (every view) */
    const unsigned char *span;   /* what the next export gives, set by
                                    make_view() (NULL: the whole window),
                                    and probed already */
    Py_ssize_t span_len;
    PyObject *name;              /* the owner's path_or_fd, for errors */
};

static int cursor_check(CursorObject *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "WindowCursor is in use by another thread");
        return -1;
    }
    if (!self->c) {
        PyErr_SetString(PyExc_ValueError, "WindowCursor is not associated with a file");
        return -1;
    }
    return 0;
}

static int cursor_check_valid(CursorObject *self)
{
    if (cursor_check(self) < 0)
        return -1;
    if (!self->we) {
        PyErr_SetString(PyExc_ValueError,
                        "WindowCursor has no region in use (call use_region() first)");
        return -1;
    }
    return 0;
}

static void cursor_refresh(CursorObject *self)
{
    self->wb = smmap_window_begin(self->c);
    self->we = smmap_window_end(self->c);
}

/* Whether anything but its owner holds the WindowMap: a reference or an
 * export (every view is one, counted by the buffer protocol, as
 * mmapmodule.c counts its exports). */
static int wmap_in_use(WindowMapObject *w)
{
    return Py_REFCNT(w) > 1 || w->exports > 0;
}

/* The WindowMap loses its owner. */
static void wmap_disown(CursorObject *self)
{
    WindowMapObject *w = self->win;
    self->win = NULL;
    w->owner = NULL;
    Py_DECREF(w);
}

/* The WindowMap is about to lose its owner: if anything else holds it, it
 * must keep the window mapped by itself. */
static int cursor_leave(CursorObject *self)
{
    WindowMapObject *w = self->win;
    if (!w)
        return 0;
    if (wmap_in_use(w)) {
        int rc = smmap_cursor_dup(self->c, &w->own);
        if (rc != 0) {
            set_error(rc, NULL);
            return -1;
        }
    }
    wmap_disown(self);
    return 0;
}

static void free_cursor(smmap_cursor *c)
{
    /* May unmap windows and close the file, and free the manager. */
    Py_BEGIN_ALLOW_THREADS
    smmap_cursor_free(c);
    Py_END_ALLOW_THREADS
}

/* Make [off, off+size) current. Returns 0 (the cursor may be invalid: end
 * of file) or -1 with an exception set. */
static int cursor_use(CursorObject *self, uint64_t off, uint64_t size)
{
    size_t sz = size > SIZE_MAX ? SIZE_MAX : (size_t)size;
    int rc;
    if (off >= self->wb && off < self->we && sz <= self->we - off) {
        rc = smmap_use(self->c, off, sz); /* the hit path: cannot block */
    } else {
        if (cursor_leave(self) < 0)
            return -1;
        if (sz > UINT64_MAX - off)
            sz = (size_t)(UINT64_MAX - off); /* "as much as there is" */
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        rc = smmap_use(self->c, off, sz);
        Py_END_ALLOW_THREADS
        self->busy = 0;
        cursor_refresh(self);
    }
    if (rc == 0 || rc == SMMAP_EOF)
        return 0;
    set_error(rc, self->path_or_fd);
    return -1;
}

/* Copy [off, off+n) of the file (guarded against truncation). Returns the
 * bytes copied, fewer only at end of file, or PYERR. */
static int64_t cursor_read(CursorObject *self, void *dst, size_t n, uint64_t off)
{
    int64_t r;
    if (off >= self->wb && off < self->we && n <= self->we - off) {
        r = smmap_read(self->c, dst, n, off); /* inside the window */
    } else {
        if (cursor_leave(self) < 0)
            return PYERR;
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        r = smmap_read(self->c, dst, n, off);
        Py_END_ALLOW_THREADS
        self->busy = 0;
        cursor_refresh(self);
    }
    if (r < 0) {
        set_error(r, self->path_or_fd);
        return PYERR;
    }
    return r;
}

static void cursor_unuse(CursorObject *self)
{
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    smmap_unuse(self->c); /* a superseded window is unmapped here */
    Py_END_ALLOW_THREADS
    self->busy = 0;
    self->wb = self->we = 0;
}

/* The cursor's WindowMap, made on first use (borrowed reference). */
static WindowMapObject *cursor_window(CursorObject *self)
{
    if (self->win)
        return self->win;
    uint64_t len = self->we - self->wb;
    if (len > (uint64_t)PY_SSIZE_T_MAX) {
        PyErr_SetString(PyExc_OverflowError, "window larger than the address space");
        return NULL;
    }
    WindowMapObject *w = PyObject_New(WindowMapObject, &WindowMapType);
    if (!w)
        return NULL;
    w->owner = self;
    w->own = NULL;
    w->name = Py_XNewRef(self->path_or_fd);
    w->span = NULL;
    w->span_len = 0;
    w->base = smmap_data(self->c) - (smmap_begin(self->c) - self->wb);
    w->begin = self->wb;
    w->len = (Py_ssize_t)len;
    w->exports = 0;
    self->win = w;
    return w;
}

/* 0 if the bytes of c's current window, which ends at wend, are backed by
 * the file up to offset last, else -1 with OSError (file truncated while
 * mapped) set. */
static int probe_view(smmap_cursor *c, uint64_t wend, uint64_t last, PyObject *name)
{
    int rc = smmap_probe_at(c, wend - 1);
    if (rc == SMMAP_ETRUNC && last != wend - 1)
        rc = smmap_probe_at(c, last);
    if (rc == 0)
        return 0;
    set_error(rc, name);
    return -1;
}

/* A read-only memoryview of [off, off+n), which lies in the current
 * window, after probing its last byte. */
static PyObject *make_view(CursorObject *self, uint64_t off, size_t n)
{
    WindowMapObject *w = cursor_window(self);
    if (!w || probe_view(self->c, self->we, off + n - 1, self->path_or_fd) < 0)
        return NULL;
    /* A memoryview of the WindowMap, whose export gives [off, off+n). */
    w->span = w->base + (off - w->begin);
    w->span_len = (Py_ssize_t)n;
    PyObject *v = PyMemoryView_FromObject((PyObject *)w);
    w->span = NULL;
    return v;
}

static PyObject *cursor_view(CursorObject *self, uint64_t off, size_t n)
{
    /* Busy while the views are made: allocating them may run a garbage
     * collection, whose finalizers (a buffer ending its access, a __del__)
     * must not move this cursor off the window meanwhile. */
    self->busy = 1;
    PyObject *v = make_view(self, off, n);
    self->busy = 0;
    return v;
}

/* Drop the file: leave the window (handing the C cursor to a WindowMap
 * that outlives us instead of duplicating it) and free the cursor. */
static void cursor_release(CursorObject *self)
{
    WindowMapObject *w = self->win;
    if (w) {
        if (wmap_in_use(w)) {
            w->own = self->c;
            self->c = NULL;
        }
        wmap_disown(self);
    }
    if (self->c) {
        smmap_cursor *c = self->c;
        self->c = NULL;
        free_cursor(c);
    }
    self->wb = self->we = 0;
}

static int cursor_open(CursorObject *self, ManagerObject *man, PyObject *path_or_fd)
{
    smmap_manager *m = manager_get(man);
    if (!m)
        return -1;
    smmap_cursor *c = NULL;
    int rc;
    if (PyLong_Check(path_or_fd)) {
        long fd = PyLong_AsLong(path_or_fd);
        if (fd == -1 && PyErr_Occurred())
            return -1;
        if (fd < 0 || fd > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "file descriptor must not be negative");
            return -1;
        }
        Py_BEGIN_ALLOW_THREADS
        rc = smmap_cursor_new_fd(m, (int)fd, &c);
        Py_END_ALLOW_THREADS
        if (rc != 0) {
            set_error(rc, NULL);
            return -1;
        }
    } else {
        PyObject *bytes = NULL;
        if (!PyUnicode_FSConverter(path_or_fd, &bytes))
            return -1;
        const char *path = PyBytes_AS_STRING(bytes);
        Py_BEGIN_ALLOW_THREADS
        rc = smmap_cursor_new(m, path, &c);
        Py_END_ALLOW_THREADS
        Py_DECREF(bytes);
        if (rc != 0) {
            set_error(rc, path_or_fd);
            return -1;
        }
    }
    self->c = c;
    return 0;
}

/* WindowCursor(manager=None, regions=None): regions is what smmap's
 * make_cursor passes (a MapRegionList), or directly a path or an fd. */
static int cursor_init(CursorObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"manager", "regions", NULL};
    PyObject *manager = Py_None, *regions = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:WindowCursor", kwlist, &manager,
                                     &regions))
        return -1;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "WindowCursor is in use by another thread");
        return -1;
    }
    if (manager != Py_None && !PyObject_TypeCheck(manager, &ManagerType)) {
        PyErr_SetString(PyExc_TypeError, "manager must be a smmap manager");
        return -1;
    }
    PyObject *path_or_fd = NULL;
    if (regions != Py_None) {
        if (manager == Py_None) {
            PyErr_SetString(PyExc_ValueError, "a cursor on a file needs a manager");
            return -1;
        }
        if (!PyLong_Check(regions) && !PyUnicode_Check(regions) && !PyBytes_Check(regions) &&
            PyObject_HasAttrString(regions, "path_or_fd")) {
            path_or_fd = PyObject_CallMethod(regions, "path_or_fd", NULL);
            if (!path_or_fd)
                return -1;
        } else {
            path_or_fd = Py_NewRef(regions);
        }
    }
    /* path_or_fd() above may have let another thread in. */
    if (self->busy) {
        Py_XDECREF(path_or_fd);
        PyErr_SetString(PyExc_RuntimeError, "WindowCursor is in use by another thread");
        return -1;
    }
    /* Busy until the new file is open: both steps run without the GIL,
     * and another thread must not attach a cursor of its own meanwhile. */
    self->busy = 1;
    cursor_release(self);
    Py_CLEAR(self->path_or_fd);
    Py_CLEAR(self->manager);
    if (manager != Py_None)
        self->manager = Py_NewRef(manager);
    int rc = 0;
    if (path_or_fd) {
        self->path_or_fd = path_or_fd;
        rc = cursor_open(self, (ManagerObject *)manager, path_or_fd);
    }
    self->busy = 0;
    return rc;
}

static int cursor_traverse(CursorObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->manager);
    Py_VISIT(self->path_or_fd);
    return 0;
}

static int cursor_clear(CursorObject *self)
{
    Py_CLEAR(self->manager);
    Py_CLEAR(self->path_or_fd);
    return 0;
}

static void cursor_dealloc(CursorObject *self)
{
    PyObject_GC_UnTrack(self);
    cursor_release(self);
    cursor_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *cursor_use_region(CursorObject *self, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames)
{
    /* The hot path: use_region(offset[, size]) inside the current window. */
    if (!kwnames && (nargs == 1 || nargs == 2) && self->we && !self->busy &&
        PyLong_CheckExact(args[0]) && (nargs == 1 || PyLong_CheckExact(args[1]))) {
        int o1, o2 = 0;
        long long o = PyLong_AsLongLongAndOverflow(args[0], &o1);
        long long n = nargs == 2 ? PyLong_AsLongLongAndOverflow(args[1], &o2) : 0;
        if (!o1 && !o2 && o >= 0 && n >= 0 && (uint64_t)o >= self->wb &&
            (uint64_t)o < self->we && (uint64_t)n <= self->we - (uint64_t)o &&
            smmap_use(self->c, (uint64_t)o, (size_t)n) == 0)
            return Py_NewRef(self);
    }
    static const char *const names[] = {"offset", "size", "flags"};
    PyObject *a[3] = {NULL, NULL, NULL};
    uint64_t off = 0, size = 0;
    if (parse_args("use_region", names, 3, args, nargs, kwnames, a) < 0 ||
        (a[0] && get_u64(a[0], &off, "offset") < 0) ||
        (a[1] && get_u64(a[1], &size, "size") < 0))
        return NULL;
    /* flags (extra os.open flags in smmap) has no meaning here: files are
     * opened by the library, read-only. */
    if (cursor_check(self) < 0 || cursor_use(self, off, size) < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *cursor_unuse_region(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "WindowCursor is in use by another thread");
        return NULL;
    }
    if (self->c) {
        if (cursor_leave(self) < 0)
            return NULL;
        cursor_unuse(self);
    }
    Py_RETURN_NONE;
}

static PyObject *cursor_buffer(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (cursor_check_valid(self) < 0)
        return NULL;
    return cursor_view(self, smmap_begin(self->c), smmap_size(self->c));
}

/* The cursor's WindowMap, once the window's last byte is probed. */
static PyObject *cursor_wmap(CursorObject *self)
{
    WindowMapObject *w = cursor_window(self);
    if (!w || probe_view(self->c, self->we, self->we - 1, self->path_or_fd) < 0)
        return NULL;
    return Py_NewRef(w);
}

static PyObject *cursor_map(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (cursor_check_valid(self) < 0)
        return NULL;
    return cursor_wmap(self);
}

static PyObject *cursor_is_valid(CursorObject *self, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(self->we != 0);
}

static PyObject *cursor_is_associated(CursorObject *self, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(self->c != NULL);
}

static PyObject *cursor_size(CursorObject *self, PyObject *Py_UNUSED(a))
{
    return PyLong_FromSize_t(self->c && !self->busy ? smmap_size(self->c) : 0);
}

static PyObject *cursor_ofs_begin(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (cursor_check_valid(self) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(smmap_begin(self->c));
}

static PyObject *cursor_ofs_end(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (cursor_check_valid(self) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(smmap_end(self->c));
}

static PyObject *cursor_includes_ofs(CursorObject *self, PyObject *ofs)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(ofs, &overflow);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    if (overflow || v < 0 || !self->c || self->busy)
        Py_RETURN_FALSE;
    return PyBool_FromLong(smmap_includes(self->c, (uint64_t)v));
}

static PyObject *cursor_file_size(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (cursor_check(self) < 0)
        return NULL;
    return PyLong_FromLongLong(smmap_file_size(self->c));
}

static PyObject *cursor_path_or_fd(CursorObject *self, PyObject *Py_UNUSED(a))
{
    return Py_NewRef(self->path_or_fd ? self->path_or_fd : Py_None);
}

static PyObject *cursor_path(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (!self->path_or_fd || PyLong_Check(self->path_or_fd)) {
        PyErr_SetString(PyExc_ValueError,
                        "Path queried although mapping was applied to a file descriptor");
        return NULL;
    }
    return Py_NewRef(self->path_or_fd);
}

static PyObject *cursor_fd(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (!self->path_or_fd || !PyLong_Check(self->path_or_fd)) {
        PyErr_SetString(PyExc_ValueError,
                        "File descriptor queried although mapping was generated from path");
        return NULL;
    }
    return Py_NewRef(self->path_or_fd);
}

static PyObject *region_new(CursorObject *cursor);

static PyObject *cursor_region(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (!self->we || self->busy)
        Py_RETURN_NONE;
    return region_new(self);
}

/* Become a copy of rhs: same manager and file, and the same window and
 * span if rhs has one (a duplicate C cursor). */
static int cursor_assign_from(CursorObject *self, CursorObject *rhs)
{
    if (self == rhs)
        return 0;
    if (self->busy || rhs->busy) {
        PyErr_SetString(PyExc_RuntimeError, "WindowCursor is in use by another thread");
        return -1;
    }
    smmap_cursor *dup = NULL;
    if (rhs->c) {
        int rc = smmap_cursor_dup(rhs->c, &dup);
        if (rc != 0) {
            set_error(rc, NULL);
            return -1;
        }
    }
    /* Busy until dup is in place: releasing runs without the GIL. The old
     * manager and path go only then, as freeing them may let threads in. */
    self->busy = 1;
    cursor_release(self);
    PyObject *old_manager = self->manager, *old_path = self->path_or_fd;
    self->manager = Py_XNewRef(rhs->manager);
    self->path_or_fd = Py_XNewRef(rhs->path_or_fd);
    self->c = dup;
    if (dup)
        cursor_refresh(self);
    self->busy = 0;
    Py_XDECREF(old_manager);
    Py_XDECREF(old_path);
    return 0;
}

static PyObject *cursor_assign(CursorObject *self, PyObject *rhs)
{
    if (!PyObject_TypeCheck(rhs, &CursorType)) {
        PyErr_SetString(PyExc_TypeError, "assign() needs a WindowCursor");
        return NULL;
    }
    if (cursor_assign_from(self, (CursorObject *)rhs) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *cursor_copy(CursorObject *self, PyObject *Py_UNUSED(a))
{
    PyObject *cpy = PyObject_CallObject((PyObject *)Py_TYPE(self), NULL);
    if (cpy && cursor_assign_from((CursorObject *)cpy, self) < 0)
        Py_CLEAR(cpy);
    return cpy;
}

static PyObject *cursor_enter(CursorObject *self, PyObject *Py_UNUSED(a))
{
    return Py_NewRef(self);
}

static PyObject *cursor_exit(CursorObject *self, PyObject *Py_UNUSED(args))
{
    return cursor_unuse_region(self, NULL);
}

static PyMethodDef cursor_methods[] = {
    {"use_region", (PyCFunction)(void (*)(void))cursor_use_region,
     METH_FASTCALL | METH_KEYWORDS,
     "use_region(offset=0, size=0, flags=0) -> self\n\n"
     "Point at a window holding offset; size 0 means as much as it holds. At\n"
     "or past the end of the file the cursor becomes invalid (is_valid())."},
    {"unuse_region", (PyCFunction)cursor_unuse_region, METH_NOARGS,
     "Stop using the current window (it stays cached); harmless if none."},
    {"buffer", (PyCFunction)cursor_buffer, METH_NOARGS,
     "A read-only memoryview of [ofs_begin(), ofs_end()), without copying.\n"
     "It keeps its window mapped until it is released."},
    {"map", (PyCFunction)cursor_map, METH_NOARGS,
     "The whole current window as a read-only, mmap-like object (slices are\n"
     "bytes; memoryview() of it does not copy)."},
    {"is_valid", (PyCFunction)cursor_is_valid, METH_NOARGS, "True if a window is in use."},
    {"is_associated", (PyCFunction)cursor_is_associated, METH_NOARGS,
     "True if the cursor is bound to a file."},
    {"size", (PyCFunction)cursor_size, METH_NOARGS, "Bytes usable from ofs_begin()."},
    {"ofs_begin", (PyCFunction)cursor_ofs_begin, METH_NOARGS,
     "Absolute offset of the first usable byte."},
    {"ofs_end", (PyCFunction)cursor_ofs_end, METH_NOARGS,
     "Absolute offset one past the last usable byte."},
    {"includes_ofs", (PyCFunction)cursor_includes_ofs, METH_O,
     "True if the absolute offset lies in [ofs_begin(), ofs_end())."},
    {"file_size", (PyCFunction)cursor_file_size, METH_NOARGS,
     "Size of the file as last seen."},
    {"path_or_fd", (PyCFunction)cursor_path_or_fd, METH_NOARGS,
     "The path or file descriptor the cursor was made from."},
    {"path", (PyCFunction)cursor_path, METH_NOARGS,
     "The path the cursor was made from (ValueError if made from an fd)."},
    {"fd", (PyCFunction)cursor_fd, METH_NOARGS,
     "The fd the cursor was made from (ValueError if made from a path)."},
    {"region", (PyCFunction)cursor_region, METH_NOARGS,
     "The window in use (client_count(), ofs_begin(), ...), or None."},
    {"assign", (PyCFunction)cursor_assign, METH_O,
     "Make this cursor a copy of another one."},
    {"__copy__", (PyCFunction)cursor_copy, METH_NOARGS, "copy.copy() support."},
    {"_destroy", (PyCFunction)cursor_unuse_region, METH_NOARGS,
     "Release the window in use (as smmap; the cursor stays associated)."},
    {"__enter__", (PyCFunction)cursor_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)cursor_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyTypeObject CursorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "smmap.mman.WindowCursor",
    .tp_basicsize = sizeof(CursorObject),
    .tp_dealloc = (destructor)cursor_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "WindowCursor(manager=None, regions=None)\n\n"
              "A handle into one file; make them with manager.make_cursor().",
    .tp_traverse = (traverseproc)cursor_traverse,
    .tp_clear = (inquiry)cursor_clear,
    .tp_methods = cursor_methods,
    .tp_init = (initproc)cursor_init,
    .tp_new = PyType_GenericNew,
};

/* --------------------------------------------------------------- WindowMap */

/* Copy n bytes at offset rel of the window, guarded against truncation:
 * through the duplicate cursor, or through the owner, whose span is put
 * back afterwards (both reads stay in the window: the lock-free hit path). */
static int64_t wmap_read(WindowMapObject *w, void *dst, size_t n, size_t rel)
{
    int64_t r;
    if (w->own) {
        r = smmap_read(w->own, dst, n, w->begin + rel);
    } else {
        smmap_cursor *c = w->owner->c;
        uint64_t b = smmap_begin(c);
        size_t s = smmap_size(c);
        r = smmap_read(c, dst, n, w->begin + rel);
        int rc = smmap_use(c, b, s);
        if (r >= 0 && rc != 0)
            r = rc;
    }
    if (r >= 0 && (uint64_t)r < n)
        r = SMMAP_ETRUNC;
    if (r < 0) {
        set_error(r, w->name);
        return PYERR;
    }
    return r;
}

static void wmap_dealloc(WindowMapObject *w)
{
    if (w->own)
        free_cursor(w->own);
    Py_XDECREF(w->name);
    PyObject_Free(w);
}

/* The span make_view() asked for (probed by it), or else the whole
 * window, once its last byte is probed. */
static int wmap_getbuffer(WindowMapObject *w, Py_buffer *view, int flags)
{
    uint64_t end = w->begin + (uint64_t)w->len;
    if (w->span) {
        if (PyBuffer_FillInfo(view, (PyObject *)w, (void *)w->span, w->span_len, 1, flags) < 0)
            return -1;
    } else if (probe_view(w->own ? w->own : w->owner->c, end, end - 1, w->name) < 0 ||
               PyBuffer_FillInfo(view, (PyObject *)w, (void *)w->base, w->len, 1, flags) < 0) {
        return -1;
    }
    w->exports++;
    return 0;
}

static void wmap_releasebuffer(WindowMapObject *w, Py_buffer *Py_UNUSED(view))
{
    w->exports--;
}

static Py_ssize_t wmap_length(WindowMapObject *w)
{
    return w->len;
}

/* Bytes of the positions start, start+step, ... (len of them) of a
 * sequence of the given size, read through read(obj, dst, n, pos). */
typedef int64_t (*read_fn)(void *obj, void *dst, size_t n, uint64_t pos);

/* A stepped slice reads the bytes it picks a piece of at most this many
 * bytes of file at a time, so that buf[::2**30] of a huge file reads a few
 * bytes rather than everything between them. */
enum { SLICE_PIECE = 64 * 1024 };

static PyObject *slice_bytes(void *obj, read_fn read, Py_ssize_t start, Py_ssize_t step,
                             Py_ssize_t len)
{
    if (len <= 0)
        return PyBytes_FromStringAndSize(NULL, 0);
    PyObject *out = PyBytes_FromStringAndSize(NULL, len);
    if (!out)
        return NULL;
    char *dst = PyBytes_AS_STRING(out);
    if (step == 1) {
        if (read(obj, dst, (size_t)len, (uint64_t)start) == PYERR)
            Py_CLEAR(out);
        return out;
    }
    Py_ssize_t astep = step > 0 ? step : -step;
    /* k picks span (k - 1) * astep + 1 bytes */
    Py_ssize_t per = astep < SLICE_PIECE ? (SLICE_PIECE - 1) / astep + 1 : 1;
    char *piece = PyMem_Malloc(per == 1 ? 1 : SLICE_PIECE);
    if (!piece) {
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i += per) {
        Py_ssize_t k = len - i < per ? len - i : per;
        Py_ssize_t first = start + i * step, last = first + (k - 1) * step;
        Py_ssize_t lo = first < last ? first : last;
        if (read(obj, piece, (size_t)((k - 1) * astep + 1), (uint64_t)lo) == PYERR) {
            Py_CLEAR(out);
            break;
        }
        for (Py_ssize_t j = 0; j < k; j++)
            dst[i + j] = piece[first - lo + j * step];
    }
    PyMem_Free(piece);
    return out;
}

/* Turn an int index into a position in [0, size), or IndexError. */
static int index_of(PyObject *key, Py_ssize_t size, Py_ssize_t *pos)
{
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return -1;
    if (i < 0)
        i += size;
    if (i < 0 || i >= size) {
        PyErr_SetString(PyExc_IndexError, "index out of range");
        return -1;
    }
    *pos = i;
    return 0;
}

static int64_t wmap_read_fn(void *obj, void *dst, size_t n, uint64_t pos)
{
    return wmap_read(obj, dst, n, (size_t)pos);
}

typedef PyObject *(*range_fn)(void *obj, Py_ssize_t start, Py_ssize_t len);

/* obj[key] for an object of size bytes read through read: an int gives the
 * byte, a slice bytes; range, if given, serves non-empty slices of step 1. */
static PyObject *subscript(void *obj, read_fn read, range_fn range, Py_ssize_t size,
                           PyObject *key)
{
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(key, &start, &stop, &step) < 0)
            return NULL;
        Py_ssize_t len = PySlice_AdjustIndices(size, &start, &stop, step);
        if (range && step == 1 && len > 0)
            return range(obj, start, len);
        return slice_bytes(obj, read, start, step, len);
    }
    if (!PyIndex_Check(key)) {
        PyErr_Format(PyExc_TypeError, "indices must be integers or slices, not %.200s",
                     Py_TYPE(key)->tp_name);
        return NULL;
    }
    Py_ssize_t i;
    unsigned char byte;
    if (index_of(key, size, &i) < 0 || read(obj, &byte, 1, (uint64_t)i) == PYERR)
        return NULL;
    return PyLong_FromLong(byte);
}

/* As mmap: an int gives the byte, a slice gives bytes. */
static PyObject *wmap_subscript(WindowMapObject *w, PyObject *key)
{
    return subscript(w, wmap_read_fn, NULL, w->len, key);
}

static PyObject *wmap_repr(WindowMapObject *w)
{
    return PyUnicode_FromFormat("<smmap window [%llu, %llu)>",
                                (unsigned long long)w->begin,
                                (unsigned long long)(w->begin + (uint64_t)w->len));
}

static PyMappingMethods wmap_as_mapping = {
    .mp_length = (lenfunc)wmap_length,
    .mp_subscript = (binaryfunc)wmap_subscript,
};

static PyBufferProcs wmap_as_buffer = {
    .bf_getbuffer = (getbufferproc)wmap_getbuffer,
    .bf_releasebuffer = (releasebufferproc)wmap_releasebuffer,
};

static PyTypeObject WindowMapType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "smmap._smmap.WindowMap",
    .tp_basicsize = sizeof(WindowMapObject),
    .tp_dealloc = (destructor)wmap_dealloc,
    .tp_repr = (reprfunc)wmap_repr,
    .tp_as_mapping = &wmap_as_mapping,
    .tp_as_buffer = &wmap_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One mapped window, read-only. Like the mmap smmap returns from\n"
              "cursor.map(): indexing gives ints, slices give bytes, and it\n"
              "supports the buffer protocol. It keeps the window mapped while it\n"
              "lives.",
};

/* ------------------------------------------------------------------ region */

/* The window a cursor used when region() was called. It does not keep the
 * window mapped (smmap's region did not count as a client either). */
typedef struct {
    PyObject_HEAD
    CursorObject *cursor;
    const unsigned char *base;
    uint64_t begin, end;
} RegionObject;

static PyObject *region_new(CursorObject *cursor)
{
    /* The window as it is now: allocating may run a finalizer that moves
     * the cursor. */
    uint64_t begin = cursor->wb, end = cursor->we;
    const unsigned char *base = smmap_data(cursor->c) - (smmap_begin(cursor->c) - begin);
    RegionObject *r = PyObject_GC_New(RegionObject, &RegionType);
    if (!r)
        return NULL;
    r->cursor = (CursorObject *)Py_NewRef(cursor);
    r->begin = begin;
    r->end = end;
    r->base = base;
    PyObject_GC_Track(r);
    return (PyObject *)r;
}

/* Whether the cursor still uses this very window. */
static int region_current(RegionObject *r)
{
    CursorObject *c = r->cursor;
    return c->c && !c->busy && c->we && c->wb == r->begin && c->we == r->end &&
           smmap_data(c->c) - (smmap_begin(c->c) - c->wb) == r->base;
}

static int region_traverse(RegionObject *r, visitproc visit, void *arg)
{
    Py_VISIT(r->cursor);
    return 0;
}

static int region_clear(RegionObject *r)
{
    Py_CLEAR(r->cursor);
    return 0;
}

static void region_dealloc(RegionObject *r)
{
    PyObject_GC_UnTrack(r);
    region_clear(r);
    PyObject_GC_Del(r);
}

/* As smmap: the manager counts as one client, each user as one more; a
 * window that is no longer mapped has none. */
static PyObject *region_client_count(RegionObject *r, PyObject *Py_UNUSED(a))
{
    if (!r->cursor || !r->cursor->c)
        return PyLong_FromLong(0);
    int n = smmap_window_users_at(r->cursor->c, r->begin);
    return PyLong_FromLong(n >= 0 ? n + 1 : 0);
}

static PyObject *region_ofs_begin(RegionObject *r, PyObject *Py_UNUSED(a))
{
    return PyLong_FromUnsignedLongLong(r->begin);
}

static PyObject *region_ofs_end(RegionObject *r, PyObject *Py_UNUSED(a))
{
    return PyLong_FromUnsignedLongLong(r->end);
}

static PyObject *region_size(RegionObject *r, PyObject *Py_UNUSED(a))
{
    return PyLong_FromUnsignedLongLong(r->end - r->begin);
}

static PyObject *region_includes_ofs(RegionObject *r, PyObject *ofs)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(ofs, &overflow);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    return PyBool_FromLong(!overflow && v >= 0 && (uint64_t)v >= r->begin &&
                           (uint64_t)v < r->end);
}

static PyObject *region_buffer(RegionObject *r, PyObject *Py_UNUSED(a))
{
    if (!r->cursor || !region_current(r)) {
        PyErr_SetString(PyExc_ValueError, "the cursor no longer uses this region");
        return NULL;
    }
    return cursor_wmap(r->cursor);
}

static PyObject *region_repr(RegionObject *r)
{
    return PyUnicode_FromFormat("MapRegion<%llu, %llu>", (unsigned long long)r->begin,
                                (unsigned long long)(r->end - r->begin));
}

static PyObject *region_richcompare(PyObject *a, PyObject *b, int op)
{
    if (!PyObject_TypeCheck(b, &RegionType) || (op != Py_EQ && op != Py_NE))
        Py_RETURN_NOTIMPLEMENTED;
    RegionObject *x = (RegionObject *)a, *y = (RegionObject *)b;
    int eq = x->base == y->base && x->begin == y->begin && x->end == y->end;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static Py_hash_t region_hash(RegionObject *r)
{
    Py_hash_t h = (Py_hash_t)((uintptr_t)r->base >> 4) ^ (Py_hash_t)r->begin;
    return h == -1 ? -2 : h;
}

static PyMethodDef region_methods[] = {
    {"client_count", (PyCFunction)region_client_count, METH_NOARGS,
     "Users of the window plus one for the manager (as smmap)."},
    {"ofs_begin", (PyCFunction)region_ofs_begin, METH_NOARGS, "File offset of the window."},
    {"ofs_end", (PyCFunction)region_ofs_end, METH_NOARGS, "One past its last byte."},
    {"size", (PyCFunction)region_size, METH_NOARGS, "Its size in bytes."},
    {"includes_ofs", (PyCFunction)region_includes_ofs, METH_O,
     "True if the absolute offset lies in the window."},
    {"buffer", (PyCFunction)region_buffer, METH_NOARGS,
     "The window (as cursor.map()) while the cursor still uses it."},
    {"map", (PyCFunction)region_buffer, METH_NOARGS, "Same as buffer()."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject RegionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "smmap._smmap.Region",
    .tp_basicsize = sizeof(RegionObject),
    .tp_dealloc = (destructor)region_dealloc,
    .tp_repr = (reprfunc)region_repr,
    .tp_hash = (hashfunc)region_hash,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A cursor's window, for introspection (smmap's MapRegion).",
    .tp_traverse = (traverseproc)region_traverse,
    .tp_clear = (inquiry)region_clear,
    .tp_richcompare = region_richcompare,
    .tp_methods = region_methods,
};

/* ------------------------------------------------------------------ buffer */

/* [offset, offset+size) of the cursor's file as one array. The cursor is
 * the caller's, as in smmap: the buffer moves it. */
typedef struct {
    PyObject_HEAD
    CursorObject *cursor; /* NULL or a WindowCursor */
    uint64_t offset, size;
} BufferObject;

/* begin_access(): returns 1 if usable, 0 if not, -1 with an exception. */
static int buffer_begin(BufferObject *self, PyObject *cursor, PyObject *ofs, PyObject *sz)
{
    uint64_t offset = 0, size = UINT64_MAX;
    if ((ofs && get_u64(ofs, &offset, "offset") < 0) ||
        (sz && get_u64(sz, &size, "size") < 0))
        return -1;
    if (cursor && cursor != Py_None) {
        if (!PyObject_TypeCheck(cursor, &CursorType)) {
            PyErr_SetString(PyExc_TypeError, "cursor must be a WindowCursor");
            return -1;
        }
        Py_INCREF(cursor);
        Py_XSETREF(self->cursor, (CursorObject *)cursor);
    }
    CursorObject *c = self->cursor;
    if (!c || !c->c)
        return 0;
    /* Held: another thread may replace self->cursor while this one runs
     * without the GIL (so in every buffer call below). */
    Py_INCREF(c);
    int ok = cursor_check(c) < 0 || cursor_use(c, offset, 0) < 0 ? -1 : c->we != 0;
    /* The length is fixed now, from the file as it is now. */
    int64_t fsize = ok == 1 ? smmap_file_stat(c->c) : 0;
    if (fsize < 0) {
        set_error(fsize, c->path_or_fd);
        ok = -1;
    }
    if (ok == 1) {
        uint64_t avail = (uint64_t)fsize > offset ? (uint64_t)fsize - offset : 0;
        self->offset = offset;
        self->size = size < avail ? size : avail;
    }
    Py_DECREF(c);
    return ok;
}

static int buffer_init(BufferObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"cursor", "offset", "size", "flags", NULL};
    PyObject *cursor = Py_None, *ofs = NULL, *sz = NULL, *flags = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOOO:SlidingWindowMapBuffer", kwlist,
                                     &cursor, &ofs, &sz, &flags))
        return -1;
    self->size = 0;
    if (cursor == Py_None)
        return 0;
    int ok = buffer_begin(self, cursor, ofs, sz);
    if (ok == 0)
        PyErr_SetString(PyExc_ValueError,
                        "Failed to allocate the buffer - probably the given offset is out of bounds");
    return ok == 1 ? 0 : -1;
}

static PyObject *buffer_begin_access(BufferObject *self, PyObject *const *args,
                                     Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"cursor", "offset", "size", "flags"};
    PyObject *a[4] = {NULL, NULL, NULL, NULL};
    if (parse_args("begin_access", names, 4, args, nargs, kwnames, a) < 0)
        return NULL;
    int ok = buffer_begin(self, a[0], a[1], a[2]);
    return ok < 0 ? NULL : PyBool_FromLong(ok);
}

static PyObject *buffer_end_access(BufferObject *self, PyObject *Py_UNUSED(a))
{
    self->size = 0;
    if (!self->cursor)
        Py_RETURN_NONE;
    CursorObject *c = (CursorObject *)Py_NewRef(self->cursor);
    PyObject *r = cursor_unuse_region(c, NULL);
    Py_DECREF(c);
    return r;
}

static PyObject *buffer_cursor(BufferObject *self, PyObject *Py_UNUSED(a))
{
    return Py_NewRef(self->cursor ? (PyObject *)self->cursor : Py_None);
}

static Py_ssize_t buffer_length(BufferObject *self)
{
    if (self->size > (uint64_t)PY_SSIZE_T_MAX) {
        PyErr_SetString(PyExc_OverflowError, "buffer larger than sys.maxsize");
        return -1;
    }
    return (Py_ssize_t)self->size;
}

/* One access of a buffer: its cursor (a reference held for the call) and
 * its offset, as they were when the call began. */
typedef struct {
    CursorObject *c;
    uint64_t offset;
} BufferCall;

static int64_t buffer_read_fn(void *obj, void *dst, size_t n, uint64_t pos)
{
    BufferCall *k = obj;
    int64_t r = cursor_read(k->c, dst, n, k->offset + pos);
    if (r != PYERR && (uint64_t)r < n) { /* the file shrank under the buffer */
        set_error(SMMAP_ETRUNC, k->c->path_or_fd);
        return PYERR;
    }
    return r;
}

/* A slice inside one window is a view; one across windows is copied. */
static PyObject *buffer_range(void *obj, Py_ssize_t lo, Py_ssize_t n)
{
    BufferCall *k = obj;
    CursorObject *c = k->c;
    uint64_t off = k->offset + (uint64_t)lo;
    if (!(off >= c->wb && off < c->we && (uint64_t)n <= c->we - off)) {
        if (cursor_use(c, off, (uint64_t)n) < 0)
            return NULL;
    }
    if (c->we && (uint64_t)n <= c->we - off)
        return cursor_view(c, off, (size_t)n);
    return slice_bytes(k, buffer_read_fn, lo, 1, n);
}


static PyObject *buffer_subscript(BufferObject *self, PyObject *key)
{
    if (PyLong_CheckExact(key)) {
        /* buf[i]: the hot path, a guarded one-byte read in the window */
        Py_ssize_t i = PyLong_AsSsize_t(key);
        if (i == -1 && PyErr_Occurred()) {
            PyErr_SetString(PyExc_IndexError, "index out of range");
            return NULL;
        }
        CursorObject *c = self->cursor;
        if (i < 0)
            i += (Py_ssize_t)self->size;
        uint64_t off = self->offset + (uint64_t)i;
        unsigned char byte;
        if (i >= 0 && (uint64_t)i < self->size && !c->busy && off >= c->wb &&
            off < c->we && smmap_read(c->c, &byte, 1, off) == 1)
            return PyLong_FromLong(byte);
    }
    Py_ssize_t size = buffer_length(self);
    if (size < 0)
        return NULL;
    if (size > 0 && cursor_check(self->cursor) < 0)
        return NULL;
    /* size > 0 means a cursor (begin_access succeeded); an empty buffer
     * only answers with empty slices and IndexError. */
    BufferCall k = {(CursorObject *)Py_XNewRef(self->cursor), self->offset};
    PyObject *r = subscript(&k, buffer_read_fn, buffer_range, size, key);
    Py_XDECREF(k.c);
    return r;
}

static int buffer_traverse(BufferObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cursor);
    return 0;
}

static int buffer_clear(BufferObject *self)
{
    Py_CLEAR(self->cursor);
    return 0;
}

static void buffer_dealloc(BufferObject *self)
{
    PyObject_GC_UnTrack(self);
    /* As smmap's __del__: end_access() releases the cursor's window. */
    if (self->cursor && self->cursor->c && !self->cursor->busy) {
        PyObject *type, *value, *tb; /* a dealloc must keep a pending error */
        PyErr_Fetch(&type, &value, &tb);
        if (cursor_leave(self->cursor) == 0)
            cursor_unuse(self->cursor);
        else
            PyErr_WriteUnraisable((PyObject *)self);
        PyErr_Restore(type, value, tb);
    }
    buffer_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *buffer_enter(BufferObject *self, PyObject *Py_UNUSED(a))
{
    return Py_NewRef(self);
}

static PyObject *buffer_exit(BufferObject *self, PyObject *Py_UNUSED(args))
{
    return buffer_end_access(self, NULL);
}

static PyMethodDef buffer_methods[] = {
    {"begin_access", (PyCFunction)(void (*)(void))buffer_begin_access,
     METH_FASTCALL | METH_KEYWORDS,
     "begin_access(cursor=None, offset=0, size=sys.maxsize, flags=0) -> bool\n\n"
     "(Re)start using the buffer on [offset, offset+size) of the cursor's file;\n"
     "size is clipped to the end of the file. False if offset is past the end."},
    {"end_access", (PyCFunction)buffer_end_access, METH_NOARGS,
     "Stop using the buffer; its cursor releases its window."},
    {"cursor", (PyCFunction)buffer_cursor, METH_NOARGS, "The cursor, or None."},
    {"__enter__", (PyCFunction)buffer_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)buffer_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyMappingMethods buffer_as_mapping = {
    .mp_length = (lenfunc)buffer_length,
    .mp_subscript = (binaryfunc)buffer_subscript,
};

static PyTypeObject BufferType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "smmap.buf.SlidingWindowMapBuffer",
    .tp_basicsize = sizeof(BufferObject),
    .tp_dealloc = (destructor)buffer_dealloc,
    .tp_as_mapping = &buffer_as_mapping,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "SlidingWindowMapBuffer(cursor=None, offset=0, size=sys.maxsize, flags=0)\n\n"
              "Bytes [offset, offset+size) of the cursor's file as one array, windows\n"
              "sliding underneath. Indexes are relative to offset; negative ones count\n"
              "from the end. buf[i] is an int; a slice is a memoryview when it lies in\n"
              "one window, else bytes.",
    .tp_traverse = (traverseproc)buffer_traverse,
    .tp_clear = (inquiry)buffer_clear,
    .tp_methods = buffer_methods,
    .tp_init = (initproc)buffer_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ module */

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "smmap._smmap",
    .m_doc = "libsmmap for the smmap drop-in package (use smmap, not this).",
    .m_size = -1,
};

/* PyModule_AddObjectRef() is 3.10's; this runs on 3.8 too. */
static int add_type(PyObject *m, const char *name, PyTypeObject *type)
{
    Py_INCREF(type);
    if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__smmap(void)
{
    PyTypeObject *types[] = {&ManagerType, &CursorType, &WindowMapType, &RegionType,
                             &BufferType};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (PyType_Ready(types[i]) < 0)
            return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (add_type(m, "Manager", &ManagerType) < 0 ||
        add_type(m, "WindowCursor", &CursorType) < 0 ||
        add_type(m, "WindowMap", &WindowMapType) < 0 ||
        add_type(m, "Region", &RegionType) < 0 ||
        add_type(m, "SlidingWindowMapBuffer", &BufferType) < 0 ||
        PyModule_AddIntConstant(m, "SLIDING", SMMAP_SLIDING) < 0 ||
        PyModule_AddIntConstant(m, "STATIC", SMMAP_STATIC) < 0 ||
        PyModule_AddStringConstant(m, "LIBRARY_VERSION", smmap_version_string()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
