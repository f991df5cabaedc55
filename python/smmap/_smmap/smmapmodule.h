/*
 * smmapmodule.h - what the files of the CPython extension smmap._smmap
 * share. The extension is the C half of the `smmap` drop-in package, all
 * over the public API of smmap.h and CPython's public API:
 *
 *   module.c   the module (multi-phase init, its state), errors, argument
 *              parsing and the indexing shared by WindowMap and the buffer
 *   manager.c  Manager, the base of the managers in smmap.mman
 *   cursor.c   WindowCursor, WindowMap (a window exported without
 *              copying) and Region; how views work is told there
 *   buffer.c   SlidingWindowMapBuffer
 *
 * Types. All five are heap types, made by the module's exec function from
 * the specs below and kept in the module state, so that each module object
 * (a subinterpreter's, a re-import's) has types of its own. An object
 * reaches its module state through its type (get_state()): on 3.9+ the type
 * made by PyType_FromModuleAndSpec refers to its module; 3.8 has no such
 * reference, so there the type's dict holds the module under MODULE_KEY
 * (3.8 shows that attribute; nothing reads it but get_state()).
 *
 * What heap types cannot do the way the static types did, per version:
 * 3.8 takes no buffer slots in a spec (bpo-40724), so exec sets WindowMap's
 * after creation; before 3.10 (no Py_TPFLAGS_DISALLOW_INSTANTIATION) exec
 * clears tp_new of WindowMap and Region, which a spec otherwise inherits
 * from object (PyPy ignores that: there their spec has a tp_new that
 * refuses, NO_NEW_SLOT); before 3.10 (no Py_TPFLAGS_IMMUTABLETYPE) the
 * types accept new attributes.
 *
 * The GIL is released around every call that may open, mmap or munmap. A
 * request inside a cursor's current window cannot (it is the library's
 * lock-free hit path), so it runs with the GIL held: releasing it would
 * cost more than the call (about 28 ns against 5). Any other request
 * releases it, even one that finds another window already mapped: the
 * library cannot tell beforehand whether it will map, unmap or fstat.
 * Whenever the GIL is released with a cursor, the cursor is marked busy and
 * has left its WindowMap first, so no other thread can reach the C cursor
 * meanwhile.
 */
#ifndef SMMAPMODULE_H
#define SMMAPMODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <smmap.h>

#include <stdint.h>

#ifndef Py_NewRef
static inline PyObject *smmap_newref(PyObject *o) { Py_INCREF(o); return o; }
#define Py_NewRef(o) smmap_newref((PyObject *)(o))
#endif
#ifndef Py_XNewRef
static inline PyObject *smmap_xnewref(PyObject *o) { Py_XINCREF(o); return o; }
#define Py_XNewRef(o) smmap_xnewref((PyObject *)(o))
#endif

/* Type flags: immutable types where CPython can say so (3.10+), as the
 * static types were; NO_NEW for the types only the extension makes. */
#ifdef Py_TPFLAGS_IMMUTABLETYPE
#define TPFLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE)
#else
#define TPFLAGS Py_TPFLAGS_DEFAULT
#endif
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
#define TPFLAGS_NO_NEW Py_TPFLAGS_DISALLOW_INSTANTIATION
#else
#define TPFLAGS_NO_NEW 0
#endif
#ifdef PYPY_VERSION
PyObject *no_new(PyTypeObject *type, PyObject *args, PyObject *kwds);
#define NO_NEW_SLOT {Py_tp_new, (void *)no_new},
#else
#define NO_NEW_SLOT
#endif

/* An instance of a heap type refers to it, so a GC type visits it; on 3.8
 * subtype_traverse already visits the type of an instance of a subclass
 * made in Python, and visiting it again would count that reference twice
 * (bpo-40217). */
#if PY_VERSION_HEX >= 0x03090000
#define VISIT_TYPE(self) Py_VISIT(Py_TYPE(self))
#else
#define VISIT_TYPE(self) ((void)0)
#endif

#if PY_VERSION_HEX < 0x03090000
#define MODULE_KEY "_smmap_module"
#endif

/* Returned by the int64_t helpers when a Python exception is set. */
#define PYERR INT64_MIN

/* Only PyInit__smmap leaves the shared object; the rest binds inside it. */
#ifdef __GNUC__
#pragma GCC visibility push(hidden)
#endif

typedef struct WindowMapObject WindowMapObject;

typedef struct {
    PyTypeObject *manager_type, *cursor_type, *wmap_type, *region_type, *buffer_type;
    PyTypeObject *state_error, *cursor_type_error; /* CursorStateError, CursorTypeError */
    WindowMapObject *pinned; /* the WindowMaps that keep a window by themselves */
#ifdef PYPY_VERSION
    PyTypeObject *span_type; /* see cursor.c */
    Py_ssize_t npinned;      /* how many are in pinned */
    Py_ssize_t npinned_gc;   /* npinned after the last pypy_gc() */
#endif
} module_state;

typedef struct {
    PyObject_HEAD
    smmap_manager *m; /* NULL until __init__ ran */
} ManagerObject;

typedef struct {
    PyObject_HEAD
    smmap_cursor *c;       /* NULL: not associated with a file */
    PyObject *manager;     /* the manager given at creation, or NULL */
    PyObject *path_or_fd;  /* exactly what the caller gave, or NULL */
    WindowMapObject *win;  /* export of the current window, made on demand */
    uint64_t wb, we;       /* current window [wb, we); we == 0: none */
    int busy;              /* a call runs on c without the GIL */
} CursorObject;

extern PyType_Spec manager_spec, cursor_spec, wmap_spec, region_spec, buffer_spec;
#ifdef PYPY_VERSION
extern PyType_Spec span_spec;
#endif
#ifndef Py_bf_getbuffer
extern PyBufferProcs wmap_as_buffer;
#endif

/* module.c */

/* The state of the module that made self's type, which is the one whose
 * instances dealloc frees, or a subclass of it made in Python. NULL with
 * an exception only on 3.8, if someone took MODULE_KEY from the type. */
module_state *get_state(PyObject *self, destructor dealloc);
void set_error(int64_t code, PyObject *filename);
/* A path (str, bytes, os.PathLike) as bytes: PyUnicode_FSConverter(),
 * whose PyPy takes no os.PathLike, given os.fspath() of it. */
int fs_path(PyObject *o, PyObject **bytes);
int parse_args(const char *fname, const char *const *names, int n, PyObject *const *args,
               Py_ssize_t nargs, PyObject *kwnames, PyObject **out);
/* An offset or a size as smmap took them: an int, or a float truncated
 * toward zero; past 2**64 - 1 it is 2**64 - 1 (past any file's end). A
 * negative value or NaN is a ValueError, another type a TypeError, each
 * message starting with what. */
int get_offset(PyObject *o, uint64_t *v, const char *what);

/* Bytes of the positions start, start+step, ... (len of them) of a
 * sequence of the given size, read through read(obj, dst, n, pos). */
typedef int64_t (*read_fn)(void *obj, void *dst, size_t n, uint64_t pos);
typedef PyObject *(*range_fn)(void *obj, Py_ssize_t start, Py_ssize_t len);
PyObject *slice_bytes(void *obj, read_fn read, Py_ssize_t start, Py_ssize_t step,
                      Py_ssize_t len);
PyObject *subscript(void *obj, read_fn read, range_fn range, Py_ssize_t size, PyObject *key);

#ifdef PYPY_VERSION
/* PyPy frees an object at a garbage collection, not when its last reference
 * goes: views, cursors and buffers that nothing references any more keep
 * their windows in use until then, and an object of the extension freed by
 * one collection may hold the last reference to another, freed only by the
 * next. pypy_gc() runs the collector once: 1 if it freed or released
 * anything of the extension's (PYPY_FREED() counts that), 0 if not, -1
 * with an exception set. */
extern unsigned long pypy_frees;
#define PYPY_FREED() (pypy_frees++)
int pypy_gc(module_state *st);
#else
#define PYPY_FREED() ((void)0)
#endif

/* manager.c */

smmap_manager *manager_get(ManagerObject *self);
#ifdef PYPY_VERSION
/* After smmap_collect() (collect) or smmap_make_room(bytes) left windows in
 * use, or no room: run PyPy's collector and the call again, as long as the
 * collector frees objects of the extension. Returns the windows unmapped,
 * or -1 with an exception set. */
int pypy_unmap(smmap_manager *m, module_state *st, int collect, uint64_t bytes);
#endif

/* cursor.c */

int cursor_check(CursorObject *self);
int cursor_leave(CursorObject *self);
int cursor_use(CursorObject *self, uint64_t off, uint64_t size);
int64_t cursor_read(CursorObject *self, void *dst, size_t n, uint64_t off);
void cursor_unuse(CursorObject *self);
PyObject *cursor_view(CursorObject *self, uint64_t off, size_t n);
PyObject *cursor_unuse_region(CursorObject *self, PyObject *unused);

#ifdef __GNUC__
#pragma GCC visibility pop
#endif

#endif
