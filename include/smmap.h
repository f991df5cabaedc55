/*
 * smmap.h - windowed, read-only memory-mapped access to files of any size
 *
 * smmap maps files in windows and keeps the whole process within fixed limits
 * of mapped memory and mapping handles. A *manager* owns every mapping and
 * file descriptor; a *cursor* is a handle into one file that makes a window
 * current with smmap_use(); smmap_read() copies any byte range, spanning
 * windows; a *buffer* gives array-like access to a range of a file.
 *
 *     smmap_manager *m;
 *     smmap_cursor *c;
 *     int rc = smmap_manager_new(&m, NULL);          // sliding, defaults
 *     if (rc == 0) rc = smmap_cursor_new(m, "big.pack", &c);
 *     if (rc == 0) rc = smmap_use(c, 4096, 64);      // 64 bytes at 4096
 *     if (rc == 0) use_bytes(smmap_data(c), smmap_size(c));
 *     if (rc < 0) fprintf(stderr, "%s\n", smmap_strerror(rc));
 *     smmap_cursor_free(c);                          // NULL is fine
 *     smmap_manager_free(m);
 *
 * Errors: every call that can fail returns a negative int: -errno for a
 * system error (e.g. -ENOENT), or one of the SMMAP_E* codes below. Turn any
 * of them into a message with smmap_strerror(). No call aborts, asserts or
 * writes errno as its result for a caller's mistake. One convention for
 * every call:
 *   - an invalid argument (a NULL handle or pointer where one is needed, a
 *     value out of range) is SMMAP_EINVAL, which is -EINVAL;
 *   - a question that needs a window that is not there (the cursor uses
 *     none, or none is mapped where asked) is SMMAP_ECURSOR;
 *   - accessors of plain values (smmap_data(), smmap_size(), the offsets,
 *     the path) cannot fail: they return NULL, 0 or -1 as each one says.
 *
 * Threads: a manager may be shared by any number of threads. A cursor or a
 * buffer belongs to one thread at a time. A request that the cursor's current
 * window covers takes no lock; mmap and munmap never run under the manager's
 * lock.
 *
 * Files are opened read-only with O_CLOEXEC and mapped PROT_READ and
 * MAP_PRIVATE, as git maps packs: a FUSE mount with direct_io (sshfs, many
 * container and cluster filesystems) refuses shared mappings only. smmap
 * never writes to a file or a mapping, so no page is ever copied and a
 * private mapping shows the file as a shared one would.
 */
#ifndef SMMAP_H
#define SMMAP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every public call is marked SMMAP_API. The shared library is built with
 * SMMAP_BUILDING_SHARED and exports exactly these calls; the static library
 * is built with SMMAP_STATIC and exports nothing (a shared object that
 * links it keeps our symbols to itself). On Windows a program that links
 * the static library defines SMMAP_STATIC; otherwise it imports the calls
 * from smmap's DLL. Elsewhere programs define nothing. */
#if defined(SMMAP_BUILDING_SHARED)
#  if defined(_WIN32)
#    define SMMAP_API __declspec(dllexport)
#  else
#    define SMMAP_API __attribute__((visibility("default")))
#  endif
#elif defined(_WIN32) && !defined(SMMAP_STATIC)
#  define SMMAP_API __declspec(dllimport)
#else
#  define SMMAP_API
#endif

/* ---------------------------------------------------------------- version */

/* Version of the library the program was compiled against:
 * SMMAP_VERSION_MAJOR, _MINOR and _PATCH, which smmap_version.h defines
 * (meson writes it from the file VERSION, the one place the version is
 * kept). */
#include "smmap_version.h"

/* The same as one number to compare: MAJOR * 10000 + MINOR * 100 + PATCH
 * (0.1.0 is 100), as zstd's ZSTD_VERSION_NUMBER. */
#define SMMAP_VERSION_NUMBER \
    (SMMAP_VERSION_MAJOR * 10000 + SMMAP_VERSION_MINOR * 100 + SMMAP_VERSION_PATCH)

/* Version of the library the program runs with, "MAJOR.MINOR.PATCH", and as
 * SMMAP_VERSION_NUMBER counts it: a program can check at run time that the
 * library is at least the one it was compiled against. */
SMMAP_API const char *smmap_version_string(void);
SMMAP_API unsigned smmap_version_number(void);

/* ----------------------------------------------------------------- errors */

/* Library error codes. System errors are returned as -errno and never
 * collide with these, except SMMAP_EINVAL, which is the system's own. */
#define SMMAP_EOF       (-30001) /* offset at or past the end of the file */
#define SMMAP_ELIMIT    (-30002) /* limit reached, every window is in use */
#define SMMAP_ETRUNC    (-30003) /* file truncated under a mapping */
#define SMMAP_EINVAL    (-EINVAL) /* invalid argument */
#define SMMAP_ECURSOR   (-30005) /* no window: none in use, or none there */
#define SMMAP_ENOTREG   (-30006) /* not a regular file (FIFO, device, ...) */

/* A message for any code a smmap call returned, for 0 ("success") and for
 * any other int ("unknown error"). Never NULL; the string is static. */
SMMAP_API const char *smmap_strerror(int err);

/* --------------------------------------------------------------- managers */

/*
 * A manager owns all windows (mappings) and file descriptors of its cursors
 * and keeps them within its limits: at most max_memory bytes mapped and at
 * most max_handles windows. A window nobody uses stays mapped as a cache
 * until room is needed; then the least recently used idle window is unmapped
 * first, and only as many as needed. A window in use is never unmapped.
 *
 * When every window is in use and a new one does not fit, the manager maps
 * it anyway and counts limit_exceeded (smmap's soft limits), unless
 * SMMAP_STRICT_LIMITS is set: then the request fails with SMMAP_ELIMIT.
 *
 * Kinds:
 *  - SMMAP_SLIDING maps windows of window_size bytes on a grid of
 *    window_size/2: any request of up to window_size/2 bytes inside the file
 *    is served whole and contiguous. For huge files and 32-bit processes.
 *  - SMMAP_STATIC maps each file whole, once, and shares the mapping.
 *
 * One file reached by path, by fd or by another name (hard link, "a/../b")
 * shares one set of windows: files are identified by device and inode.
 *
 * Lifetime: smmap_manager_free() releases the caller's reference. Cursors
 * hold references too, so a manager freed while cursors live stays usable
 * through them and goes away with the last one.
 */
typedef struct smmap_manager smmap_manager;

#define SMMAP_SLIDING 0
#define SMMAP_STATIC  1

/* Fail with SMMAP_ELIMIT instead of exceeding a limit. */
#define SMMAP_STRICT_LIMITS 0x1u

/*
 * Options. Zero in any field means its default, so `smmap_options o = {0};`
 * or a NULL pointer gives a sliding manager with the defaults:
 *
 *                  64-bit    32-bit
 *   window_size    1 GiB     64 MiB     (sliding only)
 *   max_memory     8 GiB     1 GiB
 *   max_handles    min(RLIMIT_NOFILE/2, vm.max_map_count/4), at least 16
 *
 * window_size is rounded up to whole pages, and to at least two pages.
 * A default window_size is at most max_memory/8, so that a small cap still
 * holds several windows. A window_size set above max_memory is SMMAP_EINVAL.
 */
typedef struct smmap_options {
    int      kind;        /* SMMAP_SLIDING (0) or SMMAP_STATIC */
    unsigned flags;       /* SMMAP_STRICT_LIMITS */
    size_t   window_size; /* bytes per window (sliding) */
    uint64_t max_memory;  /* cap on mapped bytes, all files together */
    uint32_t max_handles; /* cap on windows (mappings), all files together */
} smmap_options;

/*
 * Make a manager. opt may be NULL (all defaults); it is not kept.
 * Returns 0 and sets *out, or:
 *   SMMAP_EINVAL  out NULL, unknown kind or flag, window_size > max_memory,
 *                 max_memory smaller than two pages (smmap_options_check()
 *                 says which, with the values)
 *   -ENOMEM       out of memory
 */
SMMAP_API int smmap_manager_new(smmap_manager **out, const smmap_options *opt);

/*
 * Why smmap_manager_new() would refuse opt (NULL: the defaults, which it
 * never refuses), for a message that names the problem. Returns 0, or
 * SMMAP_EINVAL and sets *field to the name of the field at fault
 * ("kind", "flags", "max_memory", "window_size") and writes why, a
 * sentence with the values (at most len bytes, NUL-terminated), e.g.
 * "4096 bytes is below the minimum of two pages (8192 bytes)". field and
 * why may be NULL. Since 0.3.0.
 */
SMMAP_API int smmap_options_check(const smmap_options *opt, const char **field,
                                  char *why, size_t len);

/*
 * Sizes as people write them: decimal digits, then optionally K, M, G or T
 * (either case) for powers of 1024: "64K", "1G", "4096". Returns 0 and sets
 * *out, or SMMAP_EINVAL (s or out NULL, anything else, or past UINT64_MAX).
 * Since 0.3.0.
 */
SMMAP_API int smmap_parse_size(const char *s, uint64_t *out);

/*
 * Configuration without code: set the fields of *opt that the environment
 * names, and leave the others as they are.
 *   SMMAP_WINDOW_SIZE    window_size   (a size, smmap_parse_size())
 *   SMMAP_MAX_MEMORY     max_memory    (a size)
 *   SMMAP_MAX_HANDLES    max_handles   (a count, K etc. allowed)
 * The library never reads the environment by itself: a program calls this
 * where its operator should have the last word, or before its own settings
 * where those should win (the smmap program and the Python drop-in do the
 * latter). An empty variable counts as unset. Returns 0, SMMAP_EINVAL for
 * opt NULL, or SMMAP_EINVAL for a value that is not a size or is 0 or out
 * of range, with a message that names the variable and its value written
 * to why (at most len bytes; why may be NULL); *opt is then unchanged.
 * Since 0.3.0.
 */
SMMAP_API int smmap_options_from_env(smmap_options *opt, char *why, size_t len);

/* Release the caller's reference; see "Lifetime" above. NULL is ignored. */
SMMAP_API void smmap_manager_free(smmap_manager *m);

/* The effective settings: kind, flags and the limits after defaults and
 * rounding (window_size is 0 for a static manager). For m NULL, *out is
 * zeroed (out NULL is ignored). */
SMMAP_API void smmap_manager_options(const smmap_manager *m, smmap_options *out);

/* Unmap every idle window now and close the files no cursor uses.
 * Returns the number of windows unmapped, or SMMAP_EINVAL for NULL. */
SMMAP_API int smmap_collect(smmap_manager *m);

/* Like smmap_collect(), for the files whose path starts with prefix (the
 * path the first cursor made by path gave for the file, as given; files
 * known only by fd never match). On Windows a file cannot be deleted,
 * renamed over or shrunk while a view of it exists: free the cursors on it,
 * then call this before such an operation (smmap's
 * force_map_handle_removal_win). Returns the number of windows unmapped,
 * or SMMAP_EINVAL for m or prefix NULL. */
SMMAP_API int smmap_collect_path(smmap_manager *m, const char *prefix);

/* Unmap idle windows, least recently used first, until bytes more bytes
 * and one more window fit the limits (or no idle window is left).
 * Returns the number of windows unmapped, or SMMAP_EINVAL for NULL. */
SMMAP_API int smmap_make_room(smmap_manager *m, uint64_t bytes);

/*
 * Files that cannot be mapped. Where the system refuses to map a file at
 * all (sysfs, filesystems without mmap, security modules that deny it;
 * mmap fails with ENODEV, EACCES, EPERM, EINVAL or ENOTSUP,
 * CreateFileMapping with a "not supported" or "access denied" error), the
 * manager reads that file's windows into memory of its own with positioned
 * reads instead: the same window geometry, limits (max_memory counts that
 * memory), LRU and calls, and no SIGBUS is possible. Decided once per
 * file, at its first refused mapping; counted in files_read_not_mapped and
 * bytes_read_into_windows. A window filled so holds the bytes as they were
 * when it was read: changes to the file show in windows read afterwards,
 * and a truncation never faults (smmap_file_stat() tells the new end,
 * after which copies stop there). A read that comes back short means the
 * file ends there (sysfs reports 4096 bytes for a few): the window ends
 * with it, and requests past it are SMMAP_EOF. A pseudo-file that reports
 * a size of 0 (procfs) stays SMMAP_ENOTREG.
 *
 * Deleted files. A file deleted (no name left: st_nlink 0, or on Windows
 * delete-pending) or replaced (the path its first cursor gave now names
 * another file, as when git renames a new pack over an old one) since it
 * was opened is given back as soon as no cursor holds it: its idle windows
 * are unmapped and its descriptor closed, so that the system can free its
 * disk space. Files are checked at smmap_collect(), at smmap_make_room(),
 * and at a miss of any cursor of the manager at most every 100 ms (two
 * system calls a file with windows); never on a hit. While a cursor holds
 * the file it holds the descriptor, and with it the space, anyway: its
 * windows stay cached and it reads on, and when the last such cursor is
 * freed they go at once. Counted in files_deleted. A relative path is
 * looked up from the current directory: after a chdir() a file may be seen
 * as replaced that is not, which costs only its cached windows.
 */

/* ------------------------------------------------------------- statistics */

/*
 * A snapshot of a manager's counters. Current values and peaks since the
 * manager was made. A hit is a request served by a window already mapped, a
 * miss one that mapped a new window. Hits a cursor serves from its current
 * window are added when the cursor leaves that window or is freed. Hits
 * that smmap_get() and smmap_read() serve from the cursor's views (inline,
 * or through the exported calls of the same names) are not counted: a
 * count would cost each of them a store.
 */
typedef struct smmap_stats {
    uint64_t mapped, mapped_peak;   /* bytes mapped */
    uint64_t windows, windows_peak; /* windows mapped (the handles) */
    uint64_t files, files_peak;     /* files the manager holds open */
    uint64_t files_mapped;          /* files with at least one window */
    uint64_t mmap_calls, munmap_calls;
    uint64_t hits, misses;
    uint64_t evictions;             /* idle windows unmapped for room */
    uint64_t limit_exceeded;        /* windows mapped beyond a soft limit */
    uint64_t failures;              /* failed open, fstat, mmap, munmap, pread */
    uint64_t retries;               /* mmap or open retried after eviction */
    uint64_t preads;                /* smmap_read() calls served by pread */
    /* since 0.3.0: */
    uint64_t files_read_not_mapped; /* files the system refused to map,
                                     * served by reads into windows */
    uint64_t bytes_read_into_windows;
    uint64_t files_deleted;         /* files found deleted or replaced */
} smmap_stats;

/* A consistent snapshot of the counters above; for m NULL, *out is zeroed
 * (out NULL is ignored). */
SMMAP_API void smmap_manager_stats(const smmap_manager *m, smmap_stats *out);

/* ------------------------------------------------------- who holds what */

/*
 * One entry of smmap_manager_walk(): a window, or an open file without
 * any (its cursors hold its descriptor). For "too many open files" and
 * "access denied" (Windows) reports: which files the process holds, which
 * windows of them, and how many cursors use each.
 */
typedef struct smmap_window_info {
    const char *path;      /* the path the file's first cursor gave, as given;
                            * NULL for a file known by fd only */
    uint64_t file_size;    /* its size as last seen */
    uint32_t cursors;      /* cursors on the file */
    uint32_t users;        /* cursors using this window; 0: idle, cached */
    uint64_t begin, end;   /* the window's file offsets; both 0 for a file
                            * without windows */
    int read;              /* 1: filled by reads (the system refused to map
                            * the file), 0: mapped (or being mapped) */
    int deleted;           /* 1: the file was found deleted or replaced */
} smmap_window_info;

/* Called by smmap_manager_walk() for each entry; 0 to go on, a negative
 * value of your own to stop the walk. */
typedef int (*smmap_walk_fn)(void *arg, const smmap_window_info *info);

/*
 * Call fn for every window of m, grouped by file, and once for every open
 * file that has no window. It runs under the manager's lock, so what it
 * sees is consistent and the strings in info stay valid until fn returns
 * (copy what you keep): fn must not call the library on m or its cursors,
 * and should be quick, as every other thread's miss waits for it (hits do
 * not). Returns the number of entries passed to fn, fn's negative value,
 * or SMMAP_EINVAL (m or fn NULL, or fn returned a positive value).
 * Since 0.3.0.
 */
SMMAP_API int smmap_manager_walk(const smmap_manager *m, smmap_walk_fn fn, void *arg);

/* ---------------------------------------------------------------- cursors */

/*
 * A cursor is a handle into one file. smmap_use() makes a window current;
 * the window stays mapped while the cursor uses it, and the pointer from
 * smmap_data() (or smmap_get()) is valid until the next smmap_use(),
 * smmap_get() that misses, smmap_read(), smmap_unuse() or
 * smmap_cursor_free() on this cursor (for a buffer's
 * cursor, also the next buffer call). Reading through that pointer carries
 * the usual mmap risk: if another process truncates the file, touching the
 * lost pages raises SIGBUS. smmap_read() and the buffer calls are guarded
 * and return SMMAP_ETRUNC instead.
 *
 * The guard: the first guarded call installs one process-wide handler. On
 * POSIX systems it is a SIGBUS handler (SA_SIGINFO|SA_NODEFER); it handles
 * only faults inside a guarded copy or on the span smmap_scan() gives its
 * callback, and passes every other SIGBUS to the handler that was
 * installed before it (or to the default action). A program that installs
 * its own SIGBUS handler later must chain to the previous one (as the
 * sigaction(2) old action), or truncation during a guarded call reaches its
 * handler. On Windows it is a vectored exception handler, first in line,
 * that handles the same faults (an in-page error or access violation on
 * the guarded range) and lets every other exception go on its way.
 *
 * Sizes. The library keeps each file's size as last seen: when the cursor
 * was made, at every request its windows do not hold (a miss re-reads it),
 * at smmap_file_stat(), and after any SMMAP_ETRUNC. A request that runs
 * past the end of the current window re-reads the size, so a grown file
 * is read to its new end. Copying calls (smmap_read(), the buffer calls)
 * stop at the size as the cursor last saw it (at its own misses,
 * smmap_file_stat() on it, or its SMMAP_ETRUNC; a size another cursor
 * read reaches it at its next miss): one that reaches past that size asks
 * it again first (without moving the cursor's window). A span the current
 * window holds is served from it as it is, without a size check.
 *
 * Truncation. A file cut shorter while mapped loses the pages wholly past
 * its new end: a guarded call that touches them returns SMMAP_ETRUNC (and
 * the size is read again). The page that holds the new end stays mapped and
 * shows zeros past the end (Linux; elsewhere its old bytes may remain),
 * without a fault. Until the
 * cursor has seen the new size, a copying call inside that page can
 * therefore show those zeros as bytes of the file; from then on its copies
 * stop at the new end, as pread(2) does. Spans of a window mapped before the cut
 * keep showing the zeros (and faulting on lost pages, which the probes
 * below report); windows mapped afterwards end at the new end. A caller that must know whether
 * bytes it read still belong to the file calls smmap_file_stat() after
 * reading them: asking the size on every read would cost a system call per
 * read.
 *
 * A cursor holds its file open (one descriptor per file, shared by all
 * cursors and windows of that file) until it is freed.
 *
 * fork(): a manager stays usable in a child forked at any moment, even while
 * other threads work on it (the library takes its locks around fork). In the
 * child, windows in use by the parent's other threads stay mapped and
 * counted, and cursors of those threads must not be used.
 */
typedef struct smmap_cursor smmap_cursor;

/*
 * Make a cursor on the file at path (opened O_RDONLY|O_CLOEXEC, without
 * blocking on FIFOs; on Windows a UTF-8 path, opened sharing read, write
 * and delete, its handle not inherited). Returns 0 and sets *out, or:
 *   SMMAP_EINVAL   m, path or out NULL, or path empty
 *   -ENOENT, -EACCES, ... from open(2) (Windows errors as the nearest errno)
 *   -EISDIR        path is a directory
 *   SMMAP_ENOTREG  a FIFO, socket or device, or a pseudo-file whose size
 *                  the kernel reports as 0 while it reads bytes
 *                  (/proc/self/status): its content exists only as read(2)
 *                  makes it and cannot be mapped
 *   -ENOMEM
 */
SMMAP_API int smmap_cursor_new(smmap_manager *m, const char *path,
                               smmap_cursor **out);

/*
 * Make a cursor on an open file descriptor. The manager duplicates fd, so
 * the caller may close its own right away (on Windows fd is a C runtime
 * descriptor, and the manager opens the file again through it, so that its
 * reads never move fd's position). Errors as smmap_cursor_new(), with
 * -EBADF for a closed or invalid fd or one not open for reading
 * (write-only, O_PATH), and SMMAP_EINVAL for fd < 0.
 */
SMMAP_API int smmap_cursor_new_fd(smmap_manager *m, int fd, smmap_cursor **out);

/* A second cursor on the same file, using the same window if c has one.
 * Returns 0 and sets *out, SMMAP_EINVAL or -ENOMEM. */
SMMAP_API int smmap_cursor_dup(const smmap_cursor *c, smmap_cursor **out);

/* Release the cursor's window and the cursor. NULL is ignored. */
SMMAP_API void smmap_cursor_free(smmap_cursor *c);

/*
 * Make [offset, offset+size) current. size 0 means as much as the window
 * holds from offset. The span may be shorter than asked at the end of the
 * file, and for size > window_size/2 also at a window edge; smmap_size()
 * tells what is usable. A request of up to window_size/2 bytes inside the
 * file is always whole. If the file grew, its new end is found.
 * A request that the current window holds is served from it without a
 * lock or a system call; any other request (one past the window's end
 * included) re-reads the file's size first. See "Sizes" and "Truncation"
 * above.
 * Returns 0, or:
 *   SMMAP_EOF     offset at or past the end of file (the file is re-read)
 *   SMMAP_EINVAL  c NULL, or offset + size overflows
 *   SMMAP_ELIMIT  strict limits and no room
 *   -ENOMEM, -EIO ... from mmap(2) or fstat(2), after one evict-and-retry
 * On error the cursor has no window in use (it is not valid).
 */
SMMAP_API int smmap_use(smmap_cursor *c, uint64_t offset, size_t size);

/* Stop using the current window (and the spares smmap_read() kept); they
 * stay cached as idle windows. Harmless if none. */
SMMAP_API void smmap_unuse(smmap_cursor *c);

/* ------------------------------------------------- the inline hit path */

/*
 * The calls a program makes per access, smmap_get() and smmap_read(), are
 * static inline here (GNU C and clang; other compilers, and programs that
 * define SMMAP_NO_INLINE, call the library instead), as liburing does: a
 * request the cursor's windows hold costs the caller a compare and an add,
 * and only other requests call into the library. They read the first bytes
 * of a cursor, laid out below; the layout is part of the ABI (the SONAME
 * changes with it). Only the library writes it; a program reads it
 * through these calls alone.
 */
typedef struct smmap_view {
    const unsigned char *base; /* the window's first byte; NULL for none */
    uint64_t begin;            /* its file offset */
    uint64_t len;              /* its length in bytes; 0 for none */
    uint64_t readable;         /* bytes from begin that copies may read: len
                                * cut at the file's size as the cursor last
                                * saw it */
} smmap_view;

/* view[0] is the cursor's window (smmap_use()'s); view[1] the window
 * smmap_read() used before it, kept as a spare (see smmap_read()). */
typedef struct smmap_cursor_head {
    smmap_view view[2];
} smmap_cursor_head;

/*
 * A pointer to [offset, offset + size) of c's file, as smmap_use(c,
 * offset, size) makes the span: returns the number of bytes readable at
 * *data, from offset to the end of the window (at least 1; at least size
 * for a size of up to window_size/2 inside the file, fewer only at the end
 * of the file or, for a larger size, at a window edge), or the errors of
 * smmap_use() (then *data is NULL). With data NULL it is smmap_use(c,
 * offset, size), hit or not, returning the count alone. A request the
 * cursor's window holds is served inline without a store; any other one is
 * smmap_use(c, offset, size). *data is valid as smmap_data()'s pointer is,
 * until the next call on c other than smmap_get() hits and the queries; the
 * span (smmap_data() and its kin) stays where smmap_use() or the last miss
 * put it. Hits are not counted in smmap_stats (a count is a store).
 * Since 0.4.0.
 */
SMMAP_API int64_t smmap__get_miss(smmap_cursor *c, uint64_t offset, size_t size);
#if (defined(__GNUC__) || defined(__clang__)) && !defined(SMMAP_NO_INLINE)
#define SMMAP__INLINE 1
#endif
#ifdef SMMAP__INLINE
static inline int64_t smmap_get(smmap_cursor *c, uint64_t offset, size_t size,
                                const unsigned char **data)
{
    if (__builtin_expect(c != NULL && data != NULL, 1)) {
        const smmap_view *v = &((const smmap_cursor_head *)c)->view[0];
        uint64_t rel = offset - v->begin; /* wraps when offset < begin */
        if (__builtin_expect(rel < v->len && size <= v->len - rel, 1)) {
            *data = v->base + rel;
            return (int64_t)(v->len - rel);
        }
    }
    /* The miss makes the window that holds offset view[0]; data is found
     * from it here rather than passed in, so that a caller's pointer never
     * has to live in memory. */
    int64_t n = smmap__get_miss(c, offset, size);
    if (data)
        *data = n > 0 ? ((const smmap_cursor_head *)c)->view[0].base +
                            (offset - ((const smmap_cursor_head *)c)->view[0].begin)
                      : NULL;
    return n;
}
#else
SMMAP_API int64_t smmap_get(smmap_cursor *c, uint64_t offset, size_t size,
                            const unsigned char **data);
#endif

/* The current span: start pointer (NULL if not valid), length in bytes,
 * absolute file offsets [begin, end), and whether it holds offset ofs.
 * Without a window in use: NULL, 0, and begin == end (where the last span
 * began, or 0), so that smmap_includes() is 0. */
SMMAP_API const unsigned char *smmap_data(const smmap_cursor *c);
SMMAP_API size_t   smmap_size(const smmap_cursor *c);
SMMAP_API uint64_t smmap_begin(const smmap_cursor *c);
SMMAP_API uint64_t smmap_end(const smmap_cursor *c);
SMMAP_API int      smmap_includes(const smmap_cursor *c, uint64_t ofs);

/* The current window itself (the span lies inside it): its absolute
 * [begin, end) and number of users: 0 when not valid; the users count is
 * SMMAP_ECURSOR then, SMMAP_EINVAL for c NULL. */
SMMAP_API uint64_t smmap_window_begin(const smmap_cursor *c);
SMMAP_API uint64_t smmap_window_end(const smmap_cursor *c);
SMMAP_API int      smmap_window_users(const smmap_cursor *c);

/* Users of the window of c's file that begins at begin, whoever uses it
 * (0 when it is idle in the cache), or SMMAP_ECURSOR when no such window is
 * mapped, SMMAP_EINVAL for NULL. */
SMMAP_API int smmap_window_users_at(const smmap_cursor *c, uint64_t begin);

/* Touch the last byte of the current span under the SIGBUS guard, so that
 * a caller about to hand the span out (as a Python memoryview, say) knows
 * that every page of it is still backed by the file at this moment:
 * truncation cuts a file's tail, so one probe covers the whole span. It
 * answers for pages, not bytes: the page holding a new end passes, with
 * zeros past that end (see "Truncation"). Returns 0, SMMAP_ETRUNC (the size
 * is then read again), SMMAP_ECURSOR (no window in use) or SMMAP_EINVAL
 * (NULL). */
SMMAP_API int smmap_probe(smmap_cursor *c);

/* Like smmap_probe(), for the byte at file offset `offset`, which may lie
 * anywhere in c's current window [smmap_window_begin, smmap_window_end), not
 * only in its span: a caller that hands out several pieces of one window
 * probes each piece's last byte without moving the span. Returns 0,
 * SMMAP_ETRUNC, SMMAP_ECURSOR (no window in use) or SMMAP_EINVAL (NULL, or
 * offset outside the window). */
SMMAP_API int smmap_probe_at(smmap_cursor *c, uint64_t offset);

/* 1 if the cursor has a window in use, else 0. */
SMMAP_API int smmap_valid(const smmap_cursor *c);

/* The file's size as last seen (see "Sizes"); SMMAP_EINVAL if c is NULL.
 * smmap_file_stat() re-reads it now: the size, or a negative error. */
SMMAP_API int64_t smmap_file_size(const smmap_cursor *c);
SMMAP_API int64_t smmap_file_stat(smmap_cursor *c);

/* The path the cursor was made from (NULL if made from an fd), and the fd
 * it was made from (-1 if made from a path, or c NULL). Strings live as the
 * cursor. */
SMMAP_API const char *smmap_cursor_path(const smmap_cursor *c);
SMMAP_API int smmap_cursor_fd(const smmap_cursor *c);

/*
 * Access hints: how this cursor will read, applied to the windows it maps
 * from now on (a window shared with other cursors keeps the advice it was
 * mapped with).
 *   SMMAP_HINT_NORMAL      the default: the kernel's readahead and fault-around
 *   SMMAP_HINT_SEQUENTIAL  windows will be consumed whole: map them populated
 *                          and advise sequential readahead
 *   SMMAP_HINT_RANDOM      advise random access (no readahead); costly for
 *                          scans of files that are not in the page cache
 *   SMMAP_HINT_WILLNEED    start reading the rest of the window on each
 *                          window change (madvise WILLNEED)
 *   SMMAP_HINT_POPULATE    map windows with their page tables filled in
 * "Populated" (here, and for a cursor that reads on past its window's end)
 * holds for windows the page cache holds: a window whose pages are on the
 * disk is mapped plain, and the kernel's readahead streams it in as it is
 * touched, so that the caller's work overlaps the reads (populating would
 * read it all first). Linux decides by mincore() on sampled pages, one per
 * 256 KiB and at most 16 (which
 * for a file neither the caller's nor writable by it says "held": those
 * are populated as before).
 * Returns 0, or SMMAP_EINVAL for a NULL cursor or an unknown hint.
 */
#define SMMAP_HINT_NORMAL     0
#define SMMAP_HINT_SEQUENTIAL 1
#define SMMAP_HINT_RANDOM     2
#define SMMAP_HINT_WILLNEED   3
#define SMMAP_HINT_POPULATE   4
SMMAP_API int smmap_cursor_hint(smmap_cursor *c, int hint);

/* ------------------------------------------------------ the copying read */

/*
 * Copy up to len bytes at offset into dst, spanning windows as needed, like
 * pread(2). A read that neither continues the cursor's previous one nor
 * starts in a window the cursor holds, when no mapped window holds it and
 * the limits are full, is served by pread(2) instead: mapping a window, faulting it in and evicting another costs
 * several times more than the system call for one random read. While the
 * manager is far from its limits, the cursor keeps up to three windows it
 * read before in use as spares, so random reads over a few windows take no
 * lock; smmap_unuse(), and smmap_use() when it changes window, release
 * them, and so does a read once the manager fills up. The cursor's window
 * afterwards is the last one read, or none, or the one before when the
 * newest spare (view[1]) served the read inline: that costs no store. A
 * read that runs past the size last seen re-reads it (see "Sizes"). Returns the number of bytes
 * copied (fewer than len only at end of file, 0 at or past it), or:
 *   SMMAP_EINVAL  c NULL, dst NULL with len > 0, len > INT64_MAX, or
 *                 offset + len past UINT64_MAX
 *   SMMAP_ETRUNC  the file shrank under a mapping
 *   errors of smmap_use()
 */
/* The inline smmap_read()'s calls: the guarded copy (len, or negative when
 * the source faulted), what follows a fault (SMMAP_ETRUNC, with the size
 * read again), and every read its views do not hold. Not for direct use. */
SMMAP_API int64_t smmap__read_hit(void *dst, const unsigned char *src, size_t len);
SMMAP_API int64_t smmap__read_fault(smmap_cursor *c);
SMMAP_API int64_t smmap__read_miss(smmap_cursor *c, void *dst, size_t len,
                                   uint64_t offset);
#ifdef SMMAP__INLINE
/* Inline: a read that the cursor's window or its newest spare holds
 * (view[0] or view[1]) is one call, to the guarded copy. */
static inline int64_t smmap_read(smmap_cursor *c, void *dst, size_t len, uint64_t offset)
{
    if (__builtin_expect(c != NULL && dst != NULL, 1)) {
        const smmap_view *v = ((const smmap_cursor_head *)c)->view;
        const unsigned char *src;
        uint64_t rel = offset - v[0].begin;
        if (__builtin_expect(rel < v[0].readable && len <= v[0].readable - rel, 1)) {
            src = v[0].base + rel;
        } else {
            rel = offset - v[1].begin;
            if (!(rel < v[1].readable && len <= v[1].readable - rel))
                return smmap__read_miss(c, dst, len, offset);
            src = v[1].base + rel;
        }
        int64_t n = smmap__read_hit(dst, src, len);
        return __builtin_expect(n >= 0, 1) ? n : smmap__read_fault(c);
    }
    return smmap__read_miss(c, dst, len, offset);
}
#else
SMMAP_API int64_t smmap_read(smmap_cursor *c, void *dst, size_t len,
                             uint64_t offset);
#endif

/*
 * n reads of len bytes, the i-th at offsets[i] into dst + i * len, as n
 * calls of smmap_read() would make them: for callers with many offsets at
 * hand (index lookups, a list of objects to fetch). One call keeps several
 * reads' cache misses in flight at once, where a loop of smmap_read() on
 * random offsets waits for most of them one by one. The batch stops at the
 * first read that comes back short (the end of the file) or fails.
 * Returns the number of reads done whole (n when all were; the short
 * read's bytes are copied, as smmap_read() copies them), or, when the first
 * read fails, its error (those of smmap_read(); SMMAP_EINVAL also for
 * offsets or dst NULL with n > 0, or n * len past SIZE_MAX or INT64_MAX).
 * Since 0.3.0.
 */
SMMAP_API int64_t smmap_read_many(smmap_cursor *c, void *dst, size_t len,
                                  const uint64_t *offsets, size_t n);

/* ------------------------------------------------ processing in place */

/* Called by smmap_scan() for each span: data holds len bytes of the file
 * from `offset`. Return 0 to go on, or a negative value of your own to stop
 * the scan (smmap_scan() then returns it). A positive value is a misuse: it
 * stops the scan with SMMAP_EINVAL, so that no result reads as a count. */
typedef int (*smmap_scan_fn)(void *arg, const unsigned char *data, size_t len,
                             uint64_t offset);

/*
 * Run fn over [offset, offset + len) of c's file straight from the mapped
 * windows, span after span in file order, each span as much as one window
 * holds: no copy, and a file truncated meanwhile is caught as in the
 * copying calls. Reading data inside fn is guarded: if the file loses the
 * pages under the span, fn is abandoned where it was (a non-local jump,
 * like longjmp(3): fn must hold no lock or allocation across its reads of
 * data that it would need to release) and smmap_scan() returns
 * SMMAP_ETRUNC. Faults anywhere else are not the guard's. fn may call the
 * library, including smmap_scan() on other cursors, but not use or read
 * through c itself.
 *
 * len is clipped at the end of the file (UINT64_MAX: to the end). Returns
 * the number of bytes passed to fn (less than len only at the end of the
 * file; 0 for an offset at or past it), or fn's negative value,
 * SMMAP_ETRUNC (also when the file turns out shorter than what was
 * scanned), an error of smmap_use(), or SMMAP_EINVAL (c or fn NULL).
 * Afterwards c uses the window of the last span.
 */
SMMAP_API int64_t smmap_scan(smmap_cursor *c, uint64_t offset, uint64_t len,
                             smmap_scan_fn fn, void *arg);

/* --------------------------------------------------------------- buffers */

/*
 * A buffer reads [offset, offset+size) of a file as one array, sliding the
 * windows underneath. Indexes are relative to offset; a negative index
 * counts from the end (-1 is the last byte). It uses its own duplicate of
 * the cursor it was made from, so that cursor stays the caller's.
 */
typedef struct smmap_buffer smmap_buffer;

/*
 * Make a buffer over [offset, offset+size) of c's file; size 0 means to the
 * end of the file, and a size past the end is clipped to it.
 * The file's size is read anew (fstat). Returns 0 and sets *out, or
 * SMMAP_EINVAL (c or out NULL), SMMAP_EOF (offset past the end of the
 * file; at the end gives an empty buffer), -ENOMEM, or an error of fstat(2).
 */
SMMAP_API int smmap_buffer_new(const smmap_cursor *c, uint64_t offset,
                               uint64_t size, smmap_buffer **out);

/* Free the buffer and its cursor (the one smmap_buffer_cursor() returned,
 * which becomes invalid). NULL is ignored. */
SMMAP_API void smmap_buffer_free(smmap_buffer *b);

/* Length of the buffer in bytes; 0 for NULL. */
SMMAP_API uint64_t smmap_buffer_size(const smmap_buffer *b);

/* The buffer's cursor, owned by the buffer (NULL for NULL): the caller may
 * query it, use it and unuse it (the buffer's calls move it as they need),
 * but must not free it. */
SMMAP_API smmap_cursor *smmap_buffer_cursor(smmap_buffer *b);

/*
 * The index and slice rules of buffers, Python's, for any sequence of size
 * items (the Python module's buffers and maps use them too):
 * smmap_index() turns index (negative: from the end) into a position in
 * [0, size): 0 and *pos, or SMMAP_EINVAL outside [-size, size) or for pos
 * NULL. smmap_slice() takes [start:stop:step] as Python does: negative
 * bounds count from the end, both are clipped (INT64_MIN and INT64_MAX
 * stand for an open bound), and a step may be negative; it sets *first to
 * the first position picked and returns how many are picked (0: none), or
 * SMMAP_EINVAL (first NULL, step 0 or INT64_MIN, size past INT64_MAX).
 * Since 0.3.0.
 */
SMMAP_API int smmap_index(uint64_t size, int64_t index, uint64_t *pos);
SMMAP_API int64_t smmap_slice(uint64_t size, int64_t start, int64_t stop, int64_t step,
                              uint64_t *first);

/* The byte at index (0..255), or SMMAP_EINVAL for b NULL or an index
 * outside [-size, size), SMMAP_ETRUNC, or an error of smmap_use(). */
SMMAP_API int smmap_buffer_byte(smmap_buffer *b, int64_t index);

/*
 * Copy the bytes [start, stop) of the buffer into dst, at most cap of them,
 * with Python's slice rules: negative values count from the end, both are
 * clipped to [0, size], and stop <= start gives 0 bytes.
 * Returns the bytes copied, or SMMAP_EINVAL (b NULL, dst NULL with cap > 0)
 * and the errors of smmap_read().
 */
SMMAP_API int64_t smmap_buffer_read(smmap_buffer *b, int64_t start,
                                    int64_t stop, void *dst, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* SMMAP_H */
