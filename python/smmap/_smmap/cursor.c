/*
 * cursor.c - WindowCursor, a handle into one file; WindowMap, one window
 * exported without copying; Region, a window for introspection.
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
 */
#include "smmapmodule.h"

#include <errno.h>

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
    module_state *st;            /* of the module that made it */
    WindowMapObject **pprev, *next; /* in st->pinned while own is set */
};

static void cursor_dealloc(CursorObject *self);

static module_state *cursor_state(CursorObject *self)
{
    return get_state((PyObject *)self, (destructor)cursor_dealloc);
}

/* CursorStateError(msg); returns -1. */
static int state_error(CursorObject *self, const char *msg)
{
    module_state *st = cursor_state(self);
    if (st)
        PyErr_SetString((PyObject *)st->state_error, msg);
    return -1;
}

int cursor_check(CursorObject *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "WindowCursor is in use by another thread");
        return -1;
    }
    if (!self->c)
        return state_error(self, "WindowCursor is not associated with a file");
    return 0;
}

static int cursor_check_valid(CursorObject *self)
{
    if (cursor_check(self) < 0)
        return -1;
    if (!self->we)
        return state_error(self, "WindowCursor has no region in use (call use_region() first)");
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

/* The WindowMap keeps its window mapped by itself from now on (own is
 * set): listed, so that a Region can tell its user from the cursors. */
static void wmap_pin(WindowMapObject *w)
{
    module_state *st = w->st;
    w->next = st->pinned;
    w->pprev = &st->pinned;
    if (st->pinned)
        st->pinned->pprev = &w->next;
    st->pinned = w;
#ifdef PYPY_VERSION
    st->npinned++;
#endif
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
int cursor_leave(CursorObject *self)
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
        wmap_pin(w);
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

#ifdef PYPY_VERSION
/* After a miss that left the manager over one of its limits (it evicted
 * every idle window first), when views pinned at least half of its windows
 * since the last garbage collection: collect and unmap what it gave back.
 * Views nothing references any more so cost at most as many windows again
 * as the cursors and live views hold, and a collection at most every few
 * misses. The cursor is busy meanwhile: finalizers may end a buffer's
 * access on it. */
static int pypy_room(CursorObject *self)
{
    module_state *st = cursor_state(self);
    if (!st)
        return -1;
    Py_ssize_t fresh = st->npinned - st->npinned_gc;
    if (fresh <= 0)
        return 0;
    smmap_manager *m = ((ManagerObject *)self->manager)->m;
    smmap_stats s;
    smmap_options o;
    smmap_manager_stats(m, &s);
    smmap_manager_options(m, &o);
    if ((s.windows <= o.max_handles && s.mapped <= o.max_memory) ||
        (uint64_t)(2 * fresh) < s.windows)
        return 0;
    self->busy = 1;
    int rc = pypy_unmap(m, st, 0, 0);
    self->busy = 0;
    return rc < 0 ? -1 : 0;
}
#endif

/* Make [off, off+size) current. Returns 0 (the cursor may be invalid: end
 * of file) or -1 with an exception set. */
int cursor_use(CursorObject *self, uint64_t off, uint64_t size)
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
#ifdef PYPY_VERSION
        if (rc == 0 && pypy_room(self) < 0)
            return -1;
#endif
    }
    if (rc == 0 || rc == SMMAP_EOF)
        return 0;
    set_error(rc, self->path_or_fd);
    return -1;
}

/* Copy [off, off+n) of the file (guarded against truncation). Returns the
 * bytes copied, fewer only at end of file, or PYERR. */
int64_t cursor_read(CursorObject *self, void *dst, size_t n, uint64_t off)
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
#ifdef PYPY_VERSION
        if (r >= 0 && pypy_room(self) < 0)
            return PYERR;
#endif
    }
    if (r < 0) {
        set_error(r, self->path_or_fd);
        return PYERR;
    }
    return r;
}

void cursor_unuse(CursorObject *self)
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
    module_state *st = cursor_state(self);
    WindowMapObject *w = st ? PyObject_New(WindowMapObject, st->wmap_type) : NULL;
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
    w->st = st;
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

#ifdef PYPY_VERSION
static PyObject *span_new(WindowMapObject *w, const unsigned char *p, size_t n);
#endif

/* A read-only memoryview of [off, off+n), which lies in the current
 * window, after probing its last byte (on PyPy a Span, see there). */
static PyObject *make_view(CursorObject *self, uint64_t off, size_t n)
{
    WindowMapObject *w = cursor_window(self);
    if (!w || probe_view(self->c, self->we, off + n - 1, self->path_or_fd) < 0)
        return NULL;
#ifdef PYPY_VERSION
    return span_new(w, w->base + (off - w->begin), n);
#endif
    /* A memoryview of the WindowMap, whose export gives [off, off+n). */
    w->span = w->base + (off - w->begin);
    w->span_len = (Py_ssize_t)n;
    PyObject *v = PyMemoryView_FromObject((PyObject *)w);
    w->span = NULL;
    return v;
}

PyObject *cursor_view(CursorObject *self, uint64_t off, size_t n)
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
            wmap_pin(w);
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
        /* as os.fstat(), which smmap called on it */
        if (fd < 0) {
            set_error(-EBADF, NULL);
            return -1;
        }
        if (fd > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "file descriptor out of range");
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
        if (!fs_path(path_or_fd, &bytes))
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
    module_state *st = cursor_state(self);
    if (!st)
        return -1;
    if (manager != Py_None && !PyObject_TypeCheck(manager, st->manager_type)) {
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
    VISIT_TYPE(self);
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
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    PYPY_FREED();
    cursor_release(self);
    cursor_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
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
    /* size None is 0, "as much as the window holds", as smmap's "size or ..." */
    if (parse_args("use_region", names, 3, args, nargs, kwnames, a) < 0 ||
        (a[0] && get_offset(a[0], &off, "offset") < 0) ||
        (a[1] && a[1] != Py_None && get_offset(a[1], &size, "size") < 0))
        return NULL;
    /* flags (extra os.open flags in smmap) has no meaning here: files are
     * opened by the library, read-only. */
    if (cursor_check(self) < 0 || cursor_use(self, off, size) < 0)
        return NULL;
    return Py_NewRef(self);
}

PyObject *cursor_unuse_region(CursorObject *self, PyObject *Py_UNUSED(a))
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

/* Whether ofs (an int, or a float compared as it is, as smmap did) lies
 * in [begin, end): 1, 0, or -1 with an exception set. */
static int includes(PyObject *ofs, uint64_t begin, uint64_t end)
{
    if (PyFloat_Check(ofs)) {
        double d = PyFloat_AS_DOUBLE(ofs);
        return d >= (double)begin && d < (double)end;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(ofs, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    return !overflow && v >= 0 && (uint64_t)v >= begin && (uint64_t)v < end;
}

static PyObject *cursor_includes_ofs(CursorObject *self, PyObject *ofs)
{
    if (cursor_check_valid(self) < 0)
        return NULL;
    int in = includes(ofs, smmap_begin(self->c), smmap_end(self->c));
    return in < 0 ? NULL : PyBool_FromLong(in);
}

static PyObject *cursor_file_size(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (cursor_check(self) < 0)
        return NULL;
    return PyLong_FromLongLong(smmap_file_size(self->c));
}

static PyObject *cursor_path_or_fd(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (!self->path_or_fd) {
        state_error(self, "WindowCursor is not associated with a file");
        return NULL;
    }
    return Py_NewRef(self->path_or_fd);
}

static PyObject *cursor_path(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (!self->path_or_fd) {
        state_error(self, "WindowCursor is not associated with a file");
        return NULL;
    }
    if (PyLong_Check(self->path_or_fd)) {
        PyErr_SetString(PyExc_ValueError,
                        "Path queried although mapping was applied to a file descriptor");
        return NULL;
    }
    return Py_NewRef(self->path_or_fd);
}

static PyObject *cursor_fd(CursorObject *self, PyObject *Py_UNUSED(a))
{
    if (!self->path_or_fd) {
        state_error(self, "WindowCursor is not associated with a file");
        return NULL;
    }
    if (!PyLong_Check(self->path_or_fd)) {
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
    module_state *st = cursor_state(self);
    if (!st)
        return NULL;
    if (!PyObject_TypeCheck(rhs, st->cursor_type)) {
        PyErr_Format((PyObject *)st->cursor_type_error, "assign() needs a WindowCursor, not %.200s",
                     Py_TYPE(rhs)->tp_name);
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

static PyType_Slot cursor_slots[] = {
    {Py_tp_dealloc, cursor_dealloc},
    {Py_tp_doc, "WindowCursor(manager=None, regions=None)\n\n"
                "A handle into one file; make them with manager.make_cursor()."},
    {Py_tp_traverse, cursor_traverse},
    {Py_tp_clear, cursor_clear},
    {Py_tp_methods, cursor_methods},
    {Py_tp_init, cursor_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL}};

PyType_Spec cursor_spec = {
    .name = "smmap.mman.WindowCursor",
    .basicsize = sizeof(CursorObject),
    .flags = TPFLAGS | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = cursor_slots,
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
    PyTypeObject *type = Py_TYPE(w);
    PYPY_FREED();
    if (w->own) {
        *w->pprev = w->next;
        if (w->next)
            w->next->pprev = w->pprev;
#ifdef PYPY_VERSION
        w->st->npinned--;
#endif
        free_cursor(w->own);
    }
    Py_XDECREF(w->name);
    PyObject_Free(w);
    Py_DECREF(type);
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
    PYPY_FREED();
    w->exports--;
}

static Py_ssize_t wmap_length(WindowMapObject *w)
{
    return w->len;
}

static int64_t wmap_read_fn(void *obj, void *dst, size_t n, uint64_t pos)
{
    return wmap_read(obj, dst, n, (size_t)pos);
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

#ifndef Py_bf_getbuffer /* 3.8: module_exec sets them */
PyBufferProcs wmap_as_buffer = {
    .bf_getbuffer = (getbufferproc)wmap_getbuffer,
    .bf_releasebuffer = (releasebufferproc)wmap_releasebuffer,
};
#endif

static PyType_Slot wmap_slots[] = {
    NO_NEW_SLOT
    {Py_tp_dealloc, wmap_dealloc},
    {Py_tp_repr, wmap_repr},
    {Py_mp_length, wmap_length},
    {Py_mp_subscript, wmap_subscript},
#ifdef Py_bf_getbuffer
    {Py_bf_getbuffer, wmap_getbuffer},
    {Py_bf_releasebuffer, wmap_releasebuffer},
#endif
    {Py_tp_doc, "One mapped window, read-only. Like the mmap smmap returns from\n"
                "cursor.map(): indexing gives ints, slices give bytes, and it\n"
                "supports the buffer protocol. It keeps the window mapped while it\n"
                "lives."},
    {0, NULL}};

PyType_Spec wmap_spec = {
    .name = "smmap._smmap.WindowMap",
    .basicsize = sizeof(WindowMapObject),
    .flags = TPFLAGS | TPFLAGS_NO_NEW,
    .slots = wmap_slots,
};

#ifdef PYPY_VERSION
/* ------------------------------------------------------------------- span */

/*
 * PyPy (cpyext) never frees a memoryview that has passed through C: the C
 * object it makes for it refers to itself (PyPy 7.3). So on PyPy the views
 * are made in Python: cursor.buffer() and buffer slices return a Span, which
 * mman.py and buf.py turn into a memoryview at once. A Span holds the
 * WindowMap (so the window stays mapped) until its one export is released,
 * which PyPy does when the memoryview is collected: the window is given up
 * in that same garbage collection, not one later.
 */
typedef struct {
    PyObject_HEAD
    WindowMapObject *w; /* NULL once the export was released */
    const unsigned char *p;
    Py_ssize_t n;
    int exported;
} SpanObject;

static PyObject *span_new(WindowMapObject *w, const unsigned char *p, size_t n)
{
    module_state *st = get_state((PyObject *)w, (destructor)wmap_dealloc);
    SpanObject *s = st ? PyObject_New(SpanObject, st->span_type) : NULL;
    if (!s)
        return NULL;
    s->w = (WindowMapObject *)Py_NewRef(w);
    s->p = p;
    s->n = (Py_ssize_t)n;
    s->exported = 0;
    return (PyObject *)s;
}

static int span_getbuffer(SpanObject *s, Py_buffer *view, int flags)
{
    if (s->exported) {
        PyErr_SetString(PyExc_BufferError, "a Span is exported once");
        return -1;
    }
    if (PyBuffer_FillInfo(view, (PyObject *)s, (void *)s->p, s->n, 1, flags) < 0)
        return -1;
    s->exported = 1;
    return 0;
}

static void span_releasebuffer(SpanObject *s, Py_buffer *Py_UNUSED(view))
{
    PYPY_FREED();
    Py_CLEAR(s->w);
}

static void span_dealloc(SpanObject *s)
{
    PyTypeObject *type = Py_TYPE(s);
    PYPY_FREED();
    Py_XDECREF(s->w);
    PyObject_Free(s);
    Py_DECREF(type);
}

static PyType_Slot span_slots[] = {
    NO_NEW_SLOT
    {Py_tp_dealloc, span_dealloc},
    {Py_bf_getbuffer, span_getbuffer},
    {Py_bf_releasebuffer, span_releasebuffer},
    {Py_tp_doc, "Bytes of a window for one memoryview (PyPy); made by the extension."},
    {0, NULL}};

PyType_Spec span_spec = {
    .name = "smmap._smmap.Span",
    .basicsize = sizeof(SpanObject),
    .flags = TPFLAGS | TPFLAGS_NO_NEW,
    .slots = span_slots,
};
#endif

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
    module_state *st = cursor_state(cursor);
    RegionObject *r = st ? PyObject_GC_New(RegionObject, st->region_type) : NULL;
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
    VISIT_TYPE(r);
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
    PyTypeObject *type = Py_TYPE(r);
    PyObject_GC_UnTrack(r);
    PYPY_FREED();
    region_clear(r);
    PyObject_GC_Del(r);
    Py_DECREF(type);
}

/* As smmap: the manager counts as one client, each cursor using the window
 * as one more (not the views that keep it mapped: smmap's views were no
 * clients); a window that is no longer mapped has none. */
static PyObject *region_client_count(RegionObject *r, PyObject *Py_UNUSED(a))
{
    module_state *st = r->cursor && r->cursor->c ? cursor_state(r->cursor) : NULL;
    if (!st)
        return PyErr_Occurred() ? NULL : PyLong_FromLong(0);
    int n = smmap_window_users_at(r->cursor->c, r->begin);
    if (n < 0)
        return PyLong_FromLong(0);
    for (WindowMapObject *w = st->pinned; w; w = w->next)
        if (w->base == r->base && w->begin == r->begin)
            n--;
    return PyLong_FromLong(n + 1);
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
    int in = includes(ofs, r->begin, r->end);
    return in < 0 ? NULL : PyBool_FromLong(in);
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
    /* a is a Region, a type without subclasses */
    if (Py_TYPE(b) != Py_TYPE(a) || (op != Py_EQ && op != Py_NE))
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

static PyType_Slot region_slots[] = {
    NO_NEW_SLOT
    {Py_tp_dealloc, region_dealloc},
    {Py_tp_repr, region_repr},
    {Py_tp_hash, region_hash},
    {Py_tp_doc, "A cursor's window, for introspection (smmap's MapRegion)."},
    {Py_tp_traverse, region_traverse},
    {Py_tp_clear, region_clear},
    {Py_tp_richcompare, region_richcompare},
    {Py_tp_methods, region_methods},
    {0, NULL}};

PyType_Spec region_spec = {
    .name = "smmap._smmap.Region",
    .basicsize = sizeof(RegionObject),
    .flags = TPFLAGS | TPFLAGS_NO_NEW | Py_TPFLAGS_HAVE_GC,
    .slots = region_slots,
};
