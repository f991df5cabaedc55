/*
 * buffer.c - SlidingWindowMapBuffer: bytes [offset, offset+size) of a
 * cursor's file as one array, windows sliding underneath.
 */
#include "smmapmodule.h"

/* [offset, offset+size) of the cursor's file as one array. The cursor is
 * the caller's, as in smmap: the buffer moves it. */
typedef struct {
    PyObject_HEAD
    CursorObject *cursor; /* NULL or a WindowCursor */
    uint64_t offset, size;
    int active;           /* between a successful begin_access() and end_access() */
} BufferObject;

static void buffer_dealloc(BufferObject *self);

static module_state *buffer_state(BufferObject *self)
{
    return get_state((PyObject *)self, (destructor)buffer_dealloc);
}

/* begin_access(): returns 1 if usable, 0 if not, -1 with an exception. */
static int buffer_begin(BufferObject *self, PyObject *cursor, PyObject *ofs, PyObject *sz)
{
    uint64_t offset = 0, size = UINT64_MAX;
    if ((ofs && get_offset(ofs, &offset, "offset") < 0) ||
        (sz && get_offset(sz, &size, "size") < 0))
        return -1;
    if (cursor && cursor != Py_None) {
        module_state *st = buffer_state(self);
        if (!st)
            return -1;
        if (!PyObject_TypeCheck(cursor, st->cursor_type)) {
            PyErr_Format((PyObject *)st->cursor_type_error,
                         "cursor must be a WindowCursor, not %.200s", Py_TYPE(cursor)->tp_name);
            return -1;
        }
        Py_INCREF(cursor);
        Py_XSETREF(self->cursor, (CursorObject *)cursor);
    }
    CursorObject *c = self->cursor;
    if (!c || !c->c) {
        self->size = 0;
        self->active = 0;
        return 0;
    }
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
    } else {
        self->size = 0;
    }
    self->active = ok == 1;
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
    self->active = 0;
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
    self->active = 0;
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
        uint64_t pos, off;
        unsigned char byte;
        if (smmap_index(self->size, (int64_t)i, &pos) == 0 && !c->busy &&
            (off = self->offset + pos) >= c->wb && off < c->we &&
            smmap_read(c->c, &byte, 1, off) == 1)
            return PyLong_FromLong(byte);
    }
    if (!self->active) { /* smmap: AttributeError on its cursor None */
        module_state *st = buffer_state(self);
        if (st)
            PyErr_SetString((PyObject *)st->state_error,
                            "SlidingWindowMapBuffer is not in access (call begin_access() first)");
        return NULL;
    }
    Py_ssize_t size = buffer_length(self);
    if (size < 0)
        return NULL;
    if (size > 0 && cursor_check(self->cursor) < 0)
        return NULL;
    /* An empty buffer in access (size 0 asked for) only answers with empty
     * slices and IndexError. */
    BufferCall k = {(CursorObject *)Py_XNewRef(self->cursor), self->offset};
    PyObject *r = subscript(&k, buffer_read_fn, buffer_range, size, key);
    Py_XDECREF(k.c);
    return r;
}

static int buffer_traverse(BufferObject *self, visitproc visit, void *arg)
{
    VISIT_TYPE(self);
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
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    PYPY_FREED();
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
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
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

static PyType_Slot buffer_slots[] = {
    {Py_tp_dealloc, buffer_dealloc},
    {Py_mp_length, buffer_length},
    {Py_mp_subscript, buffer_subscript},
    {Py_tp_doc, "SlidingWindowMapBuffer(cursor=None, offset=0, size=sys.maxsize, flags=0)\n\n"
                "Bytes [offset, offset+size) of the cursor's file as one array, windows\n"
                "sliding underneath. Indexes are relative to offset; negative ones count\n"
                "from the end. buf[i] is an int; a slice is a memoryview when it lies in\n"
                "one window, else bytes."},
    {Py_tp_traverse, buffer_traverse},
    {Py_tp_clear, buffer_clear},
    {Py_tp_methods, buffer_methods},
    {Py_tp_init, buffer_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL}};

PyType_Spec buffer_spec = {
    .name = "smmap.buf.SlidingWindowMapBuffer",
    .basicsize = sizeof(BufferObject),
    .flags = TPFLAGS | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = buffer_slots,
};
