/*
 * module.c - the module smmap._smmap (multi-phase initialisation: each
 * module object has its own state, the five types), and what the other
 * files share: errors, argument parsing, indexing. See smmapmodule.h.
 */
#include "smmapmodule.h"

module_state *get_state(PyObject *self, destructor dealloc)
{
    /* The topmost type with this dealloc: a subclass made in Python has
     * another one on CPython (subtype_dealloc), the same one on PyPy. */
    PyTypeObject *t = Py_TYPE(self);
    while (t->tp_dealloc != dealloc)
        t = t->tp_base;
    while (t->tp_base && t->tp_base->tp_dealloc == dealloc)
        t = t->tp_base;
#if PY_VERSION_HEX >= 0x03090000
    return PyType_GetModuleState(t);
#else
    PyObject *m = PyDict_GetItemString(t->tp_dict, MODULE_KEY);
    if (!m || !PyModule_Check(m)) {
        PyErr_SetString(PyExc_RuntimeError, "smmap._smmap type without its module");
        return NULL;
    }
    return PyModule_GetState(m);
#endif
}

/* ------------------------------------------------------------------ errors */

/* -errno -> OSError(errno, message, filename) (its subclass, e.g.
 * FileNotFoundError), SMMAP_EINVAL -> ValueError, any other library code ->
 * OSError(message) with .filename set. */
void set_error(int64_t code, PyObject *filename)
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

#ifdef PYPY_VERSION
PyObject *no_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kwds))
{
    PyErr_Format(PyExc_TypeError, "cannot create '%s' instances", type->tp_name);
    return NULL;
}

unsigned long pypy_frees;

int pypy_gc(module_state *st)
{
    unsigned long before = pypy_frees;
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *r = gc ? PyObject_CallMethod(gc, "collect", NULL) : NULL;
    Py_XDECREF(gc);
    if (!r)
        return -1;
    Py_DECREF(r);
    st->npinned_gc = st->npinned;
    return pypy_frees != before;
}
#endif

/* ------------------------------------------------------ argument parsing */

int fs_path(PyObject *o, PyObject **bytes)
{
    PyObject *p = PyOS_FSPath(o);
    if (!p)
        return 0;
    int ok = PyUnicode_FSConverter(p, bytes);
    Py_DECREF(p);
    return ok;
}

/* Match METH_FASTCALL arguments to names[0..n): positional ones first, then
 * keywords. out[] must start as NULL ("not given"). */
int parse_args(const char *fname, const char *const *names, int n, PyObject *const *args,
               Py_ssize_t nargs, PyObject *kwnames, PyObject **out)
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

int get_offset(PyObject *o, uint64_t *v, const char *what)
{
    if (PyFloat_Check(o)) {
        double d = PyFloat_AS_DOUBLE(o);
        if (d != d) {
            PyErr_Format(PyExc_ValueError, "%s: cannot convert float NaN to integer", what);
            return -1;
        }
        if (d <= -1.0) {
            PyErr_Format(PyExc_ValueError, "%s: must not be negative, got %R", what, o);
            return -1;
        }
        *v = d < 0 ? 0 : d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
        return 0;
    }
    /* Before 3.10, PyNumber_Index() returns an int subclass (True, an
     * IntEnum) as it is: read the value from what it returns. */
    PyObject *i = PyLong_CheckExact(o) ? Py_NewRef(o) : PyNumber_Index(o);
    if (!i) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: expected an int or a float, got %.200s", what,
                         Py_TYPE(o)->tp_name);
        }
        return -1;
    }
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(i, &overflow);
    int rc = 0;
    if (x == -1 && PyErr_Occurred()) {
        rc = -1;
    } else if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(i);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            u = UINT64_MAX;
        }
        *v = u;
    } else if (overflow < 0 || x < 0) {
        PyErr_Format(PyExc_ValueError, "%s: must not be negative, got %R", what, o);
        rc = -1;
    } else {
        *v = (uint64_t)x;
    }
    Py_DECREF(i);
    return rc;
}

/* ---------------------------------------------------------------- indexing */

/* A stepped slice reads the bytes it picks a piece of at most this many
 * bytes of file at a time, so that buf[::2**30] of a huge file reads a few
 * bytes rather than everything between them. */
enum { SLICE_PIECE = 64 * 1024 };

PyObject *slice_bytes(void *obj, read_fn read, Py_ssize_t start, Py_ssize_t step,
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

/* Turn an int index into a position in [0, size), or IndexError: the
 * library's rule (smmap_index), which C buffers follow too. */
static int index_of(PyObject *key, Py_ssize_t size, Py_ssize_t *pos)
{
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return -1;
    uint64_t at;
    if (smmap_index((uint64_t)size, (int64_t)i, &at) != 0) {
        PyErr_SetString(PyExc_IndexError, "index out of range");
        return -1;
    }
    *pos = (Py_ssize_t)at;
    return 0;
}

/* obj[key] for an object of size bytes read through read: an int gives the
 * byte, a slice bytes; range, if given, serves non-empty slices of step 1.
 * The slice's bounds are the library's (smmap_slice), as C buffers take
 * them; PySlice_Unpack only reads the slice object (None as open bounds). */
PyObject *subscript(void *obj, read_fn read, range_fn range, Py_ssize_t size, PyObject *key)
{
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(key, &start, &stop, &step) < 0)
            return NULL;
        uint64_t first;
        int64_t len = smmap_slice((uint64_t)size, (int64_t)start, (int64_t)stop,
                                  (int64_t)step, &first);
        if (len < 0) {
            set_error(len, NULL);
            return NULL;
        }
        if (range && step == 1 && len > 0)
            return range(obj, (Py_ssize_t)first, (Py_ssize_t)len);
        return slice_bytes(obj, read, (Py_ssize_t)first, step, (Py_ssize_t)len);
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

/* ------------------------------------------------------------------ module */

static PyTypeObject *new_type(PyObject *m, PyType_Spec *spec)
{
#if PY_VERSION_HEX >= 0x03090000
    return (PyTypeObject *)PyType_FromModuleAndSpec(m, spec, NULL);
#else
    PyObject *t = PyType_FromSpec(spec);
    if (t && PyObject_SetAttrString(t, MODULE_KEY, m) < 0)
        Py_CLEAR(t);
    return (PyTypeObject *)t;
#endif
}

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

/* An exception that is both base and AttributeError, which smmap raised
 * for the same misuse (its code reached for an attribute of None or of the
 * wrong object). */
static PyTypeObject *new_error(const char *name, const char *doc, PyObject *base)
{
    PyObject *bases = PyTuple_Pack(2, base, PyExc_AttributeError);
    PyObject *e = bases ? PyErr_NewExceptionWithDoc(name, doc, bases, NULL) : NULL;
    Py_XDECREF(bases);
    return (PyTypeObject *)e;
}

static int module_exec(PyObject *m)
{
    module_state *st = PyModule_GetState(m);
    st->pinned = NULL;
#ifdef PYPY_VERSION
    st->npinned = st->npinned_gc = 0;
#endif
    if (!(st->manager_type = new_type(m, &manager_spec)) ||
        !(st->cursor_type = new_type(m, &cursor_spec)) ||
        !(st->wmap_type = new_type(m, &wmap_spec)) ||
        !(st->region_type = new_type(m, &region_spec)) ||
        !(st->buffer_type = new_type(m, &buffer_spec)) ||
        !(st->state_error = new_error(
              "smmap.mman.CursorStateError",
              "A call that the cursor's or buffer's state does not allow: a cursor\n"
              "not associated with a file, or without a region in use; a buffer\n"
              "not in access. A ValueError, and an AttributeError as smmap raised.",
              PyExc_ValueError)) ||
        !(st->cursor_type_error = new_error(
              "smmap.mman.CursorTypeError",
              "Not a WindowCursor where one is needed. A TypeError, and an\n"
              "AttributeError as smmap raised.",
              PyExc_TypeError)))
        return -1;
#ifdef PYPY_VERSION
    if (!(st->span_type = new_type(m, &span_spec)) || add_type(m, "Span", st->span_type) < 0)
        return -1;
#endif
#if !defined(Py_TPFLAGS_DISALLOW_INSTANTIATION) && !defined(PYPY_VERSION)
    st->wmap_type->tp_new = NULL;
    st->region_type->tp_new = NULL;
#endif
#ifndef Py_bf_getbuffer
    *st->wmap_type->tp_as_buffer = wmap_as_buffer;
#endif
    if (add_type(m, "Manager", st->manager_type) < 0 ||
        add_type(m, "WindowCursor", st->cursor_type) < 0 ||
        add_type(m, "WindowMap", st->wmap_type) < 0 ||
        add_type(m, "Region", st->region_type) < 0 ||
        add_type(m, "SlidingWindowMapBuffer", st->buffer_type) < 0 ||
        add_type(m, "CursorStateError", st->state_error) < 0 ||
        add_type(m, "CursorTypeError", st->cursor_type_error) < 0 ||
        PyModule_AddIntConstant(m, "SLIDING", SMMAP_SLIDING) < 0 ||
        PyModule_AddIntConstant(m, "STATIC", SMMAP_STATIC) < 0 ||
        PyModule_AddStringConstant(m, "LIBRARY_VERSION", smmap_version_string()) < 0)
        return -1;
    return 0;
}

static int module_traverse(PyObject *m, visitproc visit, void *arg)
{
    module_state *st = PyModule_GetState(m);
    Py_VISIT(st->manager_type);
    Py_VISIT(st->cursor_type);
    Py_VISIT(st->wmap_type);
    Py_VISIT(st->region_type);
    Py_VISIT(st->buffer_type);
    Py_VISIT(st->state_error);
    Py_VISIT(st->cursor_type_error);
#ifdef PYPY_VERSION
    Py_VISIT(st->span_type);
#endif
    return 0;
}

static int module_clear(PyObject *m)
{
    module_state *st = PyModule_GetState(m);
    Py_CLEAR(st->manager_type);
    Py_CLEAR(st->cursor_type);
    Py_CLEAR(st->wmap_type);
    Py_CLEAR(st->region_type);
    Py_CLEAR(st->buffer_type);
    Py_CLEAR(st->state_error);
    Py_CLEAR(st->cursor_type_error);
#ifdef PYPY_VERSION
    Py_CLEAR(st->span_type);
#endif
    return 0;
}

static void module_free(void *m)
{
    module_clear((PyObject *)m);
}

/* The SMMAP_* variables (smmap_options_from_env) as (window_size,
 * max_memory, max_handles), 0 where unset; ValueError naming a bad one. */
static PyObject *options_from_env(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(a))
{
    smmap_options o = {0};
    char why[256];
    if (smmap_options_from_env(&o, why, sizeof why) != 0) {
        PyErr_SetString(PyExc_ValueError, why);
        return NULL;
    }
    return Py_BuildValue("(KKk)", (unsigned long long)o.window_size,
                         (unsigned long long)o.max_memory, (unsigned long)o.max_handles);
}

static PyMethodDef module_methods[] = {
    {"options_from_env", options_from_env, METH_NOARGS,
     "The limits SMMAP_WINDOW_SIZE, SMMAP_MAX_MEMORY and SMMAP_MAX_HANDLES set, as "
     "(window_size, max_memory, max_handles), 0 where unset."},
    {NULL, NULL, 0, NULL}};

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
    {0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "smmap._smmap",
    .m_doc = "libsmmap for the smmap drop-in package (use smmap, not this).",
    .m_size = sizeof(module_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__smmap(void)
{
    return PyModuleDef_Init(&module);
}
