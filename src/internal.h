/*
 * internal.h - the types the library's source files share.
 *
 * Locking: one mutex per manager (mu) guards the file list, the window
 * index, the LRU list, every window's users count and the counters. A
 * cursor's current window cannot be unmapped while the cursor holds it, so
 * the cursor's hit path reads its window without the lock. mmap, munmap,
 * open and close run outside the lock: eviction detaches victims under the
 * lock and unmaps them after releasing it.
 */
#ifndef SMMAP_INTERNAL_H
#define SMMAP_INTERNAL_H

#include "smmap.h"
#include "os.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ----------------------------------------------------------------- files */

/* One open file, shared by every cursor and window on the same device and
 * inode. Lives while a cursor or a window refers to it; holds one handle. */
struct file {
    struct file *next;           /* manager's file list */
    uint64_t dev, ino;
    os_file handle;
    char *path;                  /* the first path a cursor gave, or NULL */
    uint32_t cursors;            /* cursors bound to this file (and sweeps) */
    uint32_t windows;            /* windows of this file, pending included */
    _Atomic uint64_t size;       /* size as last seen by fstat */
    bool read;                   /* the system refused to map it: windows
                                  * are filled by reads (decided once) */
    bool gone;                   /* deleted or replaced: its windows go as
                                  * soon as no cursor holds the file */
};

/* --------------------------------------------------------------- windows */

enum { W_PENDING, W_READY };

/* One mapping of [begin, end) of a file. */
struct window {
    struct file *file;
    const unsigned char *data;   /* NULL while pending */
    uint64_t begin, end;
    uint64_t slot;               /* grid index: begin / half window */
    struct window *hnext;        /* index chain */
    struct window *lprev, *lnext;/* LRU list, only while idle */
    struct window *aprev, *anext;/* every window of the manager */
    uint32_t users;              /* cursors using it; 0 = idle, on the LRU */
    uint8_t state;
    bool indexed;                /* findable; false once superseded */
    bool copied;                 /* data is our memory, filled by reads */
};

/* ---------------------------------------------------------------- manager */

struct smmap_manager {
    os_mutex mu;
    os_cond mapped_cv;     /* a pending window became ready or failed */
    _Atomic uint32_t refs;        /* the owner's reference + one per cursor */
    int kind;
    unsigned flags;
    size_t window;                /* window size (sliding), page multiple */
    size_t half;                  /* grid step, page multiple, <= window/2 */
    uint64_t max_memory;
    uint32_t max_handles;

    struct file *files;
    struct window **index;        /* hash of (file, slot) -> window */
    size_t index_cap, indexed;
    struct window *lru_head, *lru_tail; /* idle windows, oldest first */
    struct window *all;           /* every window, superseded ones too */

    smmap_stats st;               /* hits excepted */
    _Atomic uint64_t hits;        /* cursors add theirs without the lock */
    _Atomic bool roomy;           /* far from the limits: cursors may keep spares */
    _Atomic uint64_t preads;
    _Atomic uint64_t swept_ms;    /* when files were last checked for deletion */
    smmap_manager *all_prev, *all_next; /* every manager, for fork */
};

/* options.c: a manager's settings after defaults and rounding, or
 * SMMAP_EINVAL with the field at fault and why (either may be NULL). */
struct limits {
    int kind;
    unsigned flags;
    size_t window, half;
    uint64_t max_memory;
    uint32_t max_handles;
};
HIDDEN int smmap__options_resolve(const smmap_options *opt, struct limits *out,
                                  const char **field, char *why, size_t len);

/* manager.c */
HIDDEN void smmap__mgr_ref(smmap_manager *m);
HIDDEN void smmap__mgr_unref(smmap_manager *m);
HIDDEN int smmap__mgr_open(smmap_manager *m, const char *path, int fd, os_file *out);
/* Takes h, even on error; path (NULL for an fd) names the file for
 * smmap_collect_path() unless it has a name already. */
HIDDEN int smmap__mgr_attach(smmap_manager *m, os_file h, const char *path,
                             struct file **out);
HIDDEN void smmap__mgr_detach(smmap_manager *m, struct file *f);
/* What a cursor asks of the manager when its own window does not hold a
 * request (smmap__mgr_acquire). */
struct request {
    uint64_t offset;
    size_t size;            /* 0: as much as one window holds */
    struct window *leaving; /* the cursor's window, released under the same
                             * lock (NULL for none) */
    int hint;               /* SMMAP_HINT_* for a window mapped for it */
    bool if_room;           /* only without evicting; else SMMAP__FULL */
};
/* smmap__mgr_acquire()'s answer to an if_room request that does not fit:
 * no window, no error; the cursor reads without one. */
#define SMMAP__FULL 1
/* A window that holds the request: 0 and *out in use by the caller,
 * SMMAP__FULL, or a negative error (then the leaving window is released
 * all the same). */
HIDDEN int smmap__mgr_acquire(smmap_manager *m, struct file *f,
                              const struct request *rq, struct window **out);
HIDDEN int64_t smmap__mgr_pread(smmap_manager *m, struct file *f, void *dst,
                                size_t len, uint64_t offset);
HIDDEN void smmap__mgr_release(smmap_manager *m, struct window *w);
HIDDEN void smmap__mgr_share(smmap_manager *m, struct file *f, struct window *w);
HIDDEN int smmap__mgr_users(smmap_manager *m, const struct window *w);
HIDDEN int smmap__mgr_users_at(smmap_manager *m, const struct file *f, uint64_t begin);
HIDDEN void smmap__mgr_add_hits(smmap_manager *m, uint64_t hits);
HIDDEN bool smmap__mgr_roomy(smmap_manager *m);
HIDDEN int smmap__mgr_failed(smmap_manager *m, int err);

/* window.c: placement, the index and the LRU list; callers hold m->mu. */
HIDDEN uint64_t smmap__win_slot(const smmap_manager *m, uint64_t offset);
HIDDEN uint64_t smmap__win_reach(const smmap_manager *m, uint64_t offset);
HIDDEN struct window *smmap__win_at(const smmap_manager *m, const struct file *f,
                                    uint64_t slot);
HIDDEN struct window *smmap__win_find(smmap_manager *m, const struct file *f,
                                      uint64_t offset, uint64_t need,
                                      uint64_t file_size);
HIDDEN void smmap__win_place(const smmap_manager *m, uint64_t offset, uint64_t need,
                             uint64_t file_size, uint64_t *begin, uint64_t *end);
HIDDEN int smmap__win_index_add(smmap_manager *m, struct window *w);
HIDDEN void smmap__win_index_del(smmap_manager *m, struct window *w);
HIDDEN void smmap__lru_push(smmap_manager *m, struct window *w);
HIDDEN void smmap__lru_del(smmap_manager *m, struct window *w);

/* ---------------------------------------------------------------- cursors */

#define SMMAP_SPARES 3

struct smmap_cursor {
    /* First, for the header's inline calls: view[0] shows w, view[1]
     * spare[0] (show_windows() in cursor.c keeps them so). */
    smmap_cursor_head head;
    smmap_manager *m;
    struct file *file;
    struct window *w;            /* current window, NULL if not valid */
    uint64_t begin;              /* span [begin, begin+size) inside w */
    const unsigned char *data;   /* the span's first byte; NULL without w */
    size_t size;
    uint64_t hits;               /* hits not yet added to the manager */
    uint64_t next_read;          /* where the last smmap_read() ended */
    /* Windows smmap_read() used before, kept in use while the manager is
     * roomy so that random reads over a few windows take no lock. */
    struct window *spare[SMMAP_SPARES];
    int nspare;
    char *path;                  /* as given, or NULL */
    int user_fd;                 /* as given, or -1 */
    int hint;                    /* SMMAP_HINT_* */
};

#endif
