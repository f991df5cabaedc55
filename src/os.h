/*
 * os.h - the platform layer: everything the library asks of the operating
 * system. os_posix.c and guard_posix.c implement it for POSIX systems,
 * os_win32.c and guard_win32.c for Windows; no other source file includes
 * an operating system's header.
 *
 * Calls that can fail return 0 (or a count) or a negative errno, Windows
 * errors translated to the nearest errno.
 */
#ifndef SMMAP_OS_H
#define SMMAP_OS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fixup_copy.h"
#include "smmap.h"

/* Internal symbols stay out of the shared library's exports; PE objects
 * export only what is marked dllexport, so they need nothing. */
#if defined(__ELF__) || defined(__APPLE__)
#define HIDDEN __attribute__((visibility("hidden")))
#else
#define HIDDEN
#endif

/* A static library cannot hide symbols, so every internal function is
 * named smmap__* (libuv's uv__ convention) and never clashes with a
 * program's own names. */

/* ----------------------------------------------------------------- files */

/* An open file: a descriptor on POSIX, a HANDLE on Windows. */
typedef intptr_t os_file;

struct os_stat {
    uint64_t dev, ino, size;   /* dev and ino: the file's identity */
    uint64_t links;            /* names it has; 0 once deleted (on Windows
                                * also while its deletion is pending) */
    int type;                  /* OS_REG, OS_DIR, OS_OTHER */
};
enum { OS_REG, OS_DIR, OS_OTHER };

/* The page size: windows are whole pages at page offsets (Windows' views
 * start on the coarser allocation granularity, which smmap__os_map hides). */
HIDDEN size_t smmap__os_page_size(void);
/* A default handle limit well inside the process's own limits. */
HIDDEN uint32_t smmap__os_default_handles(void);
/* Open path (UTF-8) for reading; the handle is not inherited by children. */
HIDDEN int smmap__os_open(const char *path, os_file *out);
/* A handle of our own on the user's descriptor fd; -EBADF unless fd is
 * open for reading. */
HIDDEN int smmap__os_dup(int fd, os_file *out);
HIDDEN int smmap__os_fstat(os_file f, struct os_stat *st);
/* The same of the file path names now (which may be another file than one
 * opened by that path before). */
HIDDEN int smmap__os_stat_path(const char *path, struct os_stat *st);
HIDDEN int smmap__os_close(os_file f);
/* Map [offset, offset + len) read-only and private (nothing is ever
 * written, so no page is copied); offset is a page multiple. -ENODEV means
 * the system will not map this file at all (sysfs, a filesystem without
 * mmap, a security module that refuses): the caller reads it. */
HIDDEN int smmap__os_map(os_file f, uint64_t offset, size_t len, int hint, void **out);
HIDDEN void smmap__os_advise(const void *p, size_t len, int hint);
HIDDEN int smmap__os_unmap(void *p, size_t len);
/* Read up to len bytes at offset, without moving any file position; the
 * count read (short only at the end of the file) or -errno. */
HIDDEN int64_t smmap__os_pread(os_file f, void *dst, size_t len, uint64_t offset);

/* Milliseconds on a clock that never goes back. */
HIDDEN uint64_t smmap__os_now_ms(void);

/* ---------------------------------------------------------------- threads */

/* Room for the platform's own types (glibc's pthread_mutex_t and
 * pthread_cond_t: 40 and 48 bytes); each platform file checks they fit. */
typedef union {
    unsigned char opaque[64];
    void *align_p;
    uint64_t align_u;
} os_mutex, os_cond;

HIDDEN int smmap__os_mutex_init(os_mutex *mu);
HIDDEN void smmap__os_mutex_destroy(os_mutex *mu);
HIDDEN void smmap__os_mutex_lock(os_mutex *mu);
HIDDEN void smmap__os_mutex_unlock(os_mutex *mu);
HIDDEN int smmap__os_cond_init(os_cond *cv);
HIDDEN void smmap__os_cond_destroy(os_cond *cv);
HIDDEN void smmap__os_cond_wait(os_cond *cv, os_mutex *mu);
HIDDEN void smmap__os_cond_broadcast(os_cond *cv);
/* One process-wide lock, usable before anything is initialised. */
HIDDEN void smmap__os_global_lock(void);
HIDDEN void smmap__os_global_unlock(void);
/* Have fork(2) run before() in the parent first, then parent() or child()
 * (call once). Nothing happens where there is no fork. */
HIDDEN void smmap__os_on_fork(void (*before)(void), void (*parent)(void),
                              void (*child)(void));

/* ----------------------------------------------------------------- memory */

/* size bytes aligned to align (a power of two); freed by smmap__os_free_aligned. */
HIDDEN void *smmap__os_alloc_aligned(size_t align, size_t size);
HIDDEN void smmap__os_free_aligned(void *p);

/* ------------------------------------------------------------------ guard */

/* Whether copies take the fixup routine (fixup_copy.h): set once the
 * platform's handler is installed and can resume it (the handler is in
 * place for every thread by then, so a relaxed load suffices). */
HIDDEN extern _Atomic bool smmap__guard_fixup;
/* smmap__guard_copy() the other way: installs the handler on first use
 * and takes the portable path where the fixup one is not available. */
HIDDEN int smmap__guard_copy_slow(void *dst, const void *src, size_t len);

/* Copy len bytes from a mapping to dst: 0, or SMMAP_ETRUNC when the source
 * faulted because the file was cut short beneath it (SIGBUS on POSIX, an
 * in-page error or access violation on Windows). Any other fault, or one on
 * dst, is not ours and goes on as if we were not there. Inline, so that a
 * random read is one call into the copy routine: each instruction and store
 * on the way leaves the CPU fewer cache misses to wait for at once. */
static inline int smmap__guard_copy(void *dst, const void *src, size_t len)
{
#ifdef HAVE_FIXUP_COPY
    if (atomic_load_explicit(&smmap__guard_fixup, memory_order_relaxed))
        return smmap__fixup_copy(dst, src, len) < 0 ? SMMAP_ETRUNC : 0;
#endif
    return smmap__guard_copy_slow(dst, src, len);
}
/* Return fn(arg, data, len, offset), or SMMAP_ETRUNC when reading
 * [data, data + len) faulted because the file was cut short beneath it:
 * then fn is left where it was, by a non-local jump. Calls nest. */
HIDDEN int smmap__guard_call(smmap_scan_fn fn, void *arg, const unsigned char *data,
                             size_t len, uint64_t offset);

#endif
