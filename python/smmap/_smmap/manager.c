/*
 * manager.c - Manager, a libsmmap manager: the base of the managers in
 * smmap.mman, which turn smmap's keywords into the library's options.
 */
#include "smmapmodule.h"

#include <string.h>

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
        PyErr_Format(PyExc_OverflowError, "%s: %llu is more than this system can have",
                     ws > SIZE_MAX ? "window_size" : "max_open_handles",
                     ws > SIZE_MAX ? ws : max_handles);
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
    const char *field;
    char why[160];
    if (rc == SMMAP_EINVAL && smmap_options_check(&opt, &field, why, sizeof why) != 0) {
        /* the library's name for the field, as smmap's keyword */
        const char *name = strcmp(field, "max_memory") == 0    ? "max_memory_size"
                           : strcmp(field, "max_handles") == 0 ? "max_open_handles"
                                                               : field;
        PyErr_Format(PyExc_ValueError, "%s: %s", name, why);
        return -1;
    }
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
    PyTypeObject *type = Py_TYPE(self);
    if (self->m)
        free_manager(self->m);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

smmap_manager *manager_get(ManagerObject *self)
{
    if (!self->m)
        PyErr_SetString(PyExc_ValueError, "manager is not initialized");
    return self->m;
}

/* smmap_collect() if collect, else smmap_make_room(bytes). */
static int unmap_idle(smmap_manager *m, int collect, uint64_t bytes)
{
    int n;
    Py_BEGIN_ALLOW_THREADS
    n = collect ? smmap_collect(m) : smmap_make_room(m, bytes);
    Py_END_ALLOW_THREADS
    return n;
}

#ifdef PYPY_VERSION
/* Whether unmap_idle() left windows that objects PyPy has not freed yet
 * may hold: any window (collect), or no room for bytes more and one more
 * window. */
static int pypy_short(smmap_manager *m, int collect, uint64_t bytes)
{
    smmap_stats s;
    smmap_options o;
    smmap_manager_stats(m, &s);
    smmap_manager_options(m, &o);
    return s.windows > 0 && (collect || s.windows >= o.max_handles ||
                             s.mapped > o.max_memory || bytes > o.max_memory - s.mapped);
}

int pypy_unmap(smmap_manager *m, module_state *st, int collect, uint64_t bytes)
{
    int n = 0;
    /* Each collection frees the next link of chains such as a Region that
     * holds a cursor that holds a window's export; at most 8 of them. */
    for (int round = 0; round < 8 && pypy_short(m, collect, bytes); round++) {
        int freed = pypy_gc(st);
        if (freed < 0)
            return -1;
        int k = unmap_idle(m, collect, bytes);
        if (k < 0) {
            set_error(k, NULL);
            return -1;
        }
        n += k;
        if (!freed)
            break;
    }
    return n;
}
#endif

static PyObject *manager_unmap(ManagerObject *self, int collect, uint64_t bytes)
{
    smmap_manager *m = manager_get(self);
    if (!m)
        return NULL;
    int n = unmap_idle(m, collect, bytes);
    if (n < 0) {
        set_error(n, NULL);
        return NULL;
    }
#ifdef PYPY_VERSION
    module_state *st = get_state((PyObject *)self, (destructor)manager_dealloc);
    int k = st ? pypy_unmap(m, st, collect, bytes) : -1;
    if (k < 0)
        return NULL;
    n += k;
#endif
    return PyLong_FromLong(n);
}

static PyObject *manager_collect(ManagerObject *self, PyObject *Py_UNUSED(a))
{
    return manager_unmap(self, 1, 0);
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
        "{sKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsKsK}",
        "mapped", s.mapped, "mapped_peak", s.mapped_peak, "windows", s.windows,
        "windows_peak", s.windows_peak, "files", s.files, "files_peak", s.files_peak,
        "files_mapped", s.files_mapped, "mmap_calls", s.mmap_calls,
        "munmap_calls", s.munmap_calls, "hits", s.hits, "misses", s.misses,
        "evictions", s.evictions, "limit_exceeded", s.limit_exceeded,
        "failures", s.failures, "retries", s.retries, "preads", s.preads,
        "files_read_not_mapped", s.files_read_not_mapped,
        "bytes_read_into_windows", s.bytes_read_into_windows,
        "files_deleted", s.files_deleted);
}

static PyObject *manager_make_room(ManagerObject *self, PyObject *arg)
{
    unsigned long long bytes = PyLong_AsUnsignedLongLong(arg);
    if (bytes == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    return manager_unmap(self, 0, bytes);
}

static PyObject *manager_collect_path(ManagerObject *self, PyObject *arg)
{
    smmap_manager *m = manager_get(self);
    PyObject *prefix = NULL;
    if (!m || !fs_path(arg, &prefix))
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

/* One tuple per smmap_manager_walk() entry, appended to the list arg. */
static int walk_one(void *arg, const smmap_window_info *w)
{
    PyObject *path = w->path ? PyUnicode_DecodeFSDefault(w->path) : Py_NewRef(Py_None);
    PyObject *t = path ? Py_BuildValue("(NKKkkOO)", path, (unsigned long long)w->begin,
                                       (unsigned long long)w->end, (unsigned long)w->users,
                                       (unsigned long)w->cursors, w->read ? Py_True : Py_False,
                                       w->deleted ? Py_True : Py_False)
                       : NULL;
    int rc = t ? PyList_Append(arg, t) : -1;
    Py_XDECREF(t);
    return rc < 0 ? -1 : 0;
}

static PyObject *manager_windows(ManagerObject *self, PyObject *Py_UNUSED(a))
{
    smmap_manager *m = manager_get(self);
    PyObject *list = m ? PyList_New(0) : NULL;
    if (!list)
        return NULL;
    /* The walk holds the manager's lock, under which nothing here waits
     * for another thread: the list grows with the GIL held throughout. */
    int n = smmap_manager_walk(m, walk_one, list);
    if (n < 0) {
        if (!PyErr_Occurred())
            set_error(n, NULL);
        Py_DECREF(list);
        return NULL;
    }
    return list;
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
    {"windows", (PyCFunction)manager_windows, METH_NOARGS,
     "Who holds what: a list of (path, begin, end, users, cursors, read, deleted), one per "
     "window (users 0: idle, cached; read: filled by reads, the system refused to map the "
     "file; deleted: the file was found deleted or replaced) and one per open file without "
     "a window (begin == end == 0). path is None for a file known by fd only. An extension "
     "to smmap's API."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot manager_slots[] = {
    {Py_tp_dealloc, manager_dealloc},
    {Py_tp_doc, "A libsmmap manager; base of the managers in smmap.mman."},
    {Py_tp_methods, manager_methods},
    {Py_tp_init, manager_init},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL}};

PyType_Spec manager_spec = {
    .name = "smmap._smmap.Manager",
    .basicsize = sizeof(ManagerObject),
    .flags = TPFLAGS | Py_TPFLAGS_BASETYPE,
    .slots = manager_slots,
};
