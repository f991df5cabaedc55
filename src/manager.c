/*
 * manager.c - limits, the LRU of idle windows, files, statistics, collect.
 *
 * smmap__mgr_acquire() is the whole window decision: reuse a mapped window, or make
 * room (evicting the least recently used idle windows, only as many as
 * needed) and map a new one. Work that may block - mmap, munmap, fstat,
 * close - runs with the lock released: a new window is published as
 * pending, so others wait for it rather than map it twice, and victims are
 * detached under the lock and unmapped after it (struct reap).
 *
 * Two kinds of file bend that picture. A file the system will not map
 * (sysfs, a filesystem without mmap) has its windows filled by reads into
 * memory of our own: same geometry, same limits and LRU. A file deleted
 * or replaced since it was opened (sweep) has its windows given back as
 * soon as no cursor holds it, so that its space on the disk is freed.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What to unmap and close once the lock is released. */
struct reap {
    struct window *windows;
    struct file *files;
};

/* Room for a full set of spares more; checked again at each miss, so
 * cursors give their spares back as the manager fills up. */
static void update_room_locked(smmap_manager *m)
{
    uint64_t w = m->window;
    bool roomy = m->st.mapped + w * SMMAP_SPARES <= m->max_memory &&
                 m->st.windows + SMMAP_SPARES < m->max_handles;
    atomic_store_explicit(&m->roomy, roomy, memory_order_relaxed);
}

bool smmap__mgr_roomy(smmap_manager *m)
{
    return m->window && atomic_load_explicit(&m->roomy, memory_order_relaxed);
}

/* ---------------------------------------------------------------- fork */

/* A child forked while another thread holds a manager's lock would wait
 * for it forever, and a window another thread was mapping would stay
 * pending for good. So fork takes every manager's lock first (all managers
 * are on one list for this), and the child, whose only thread is the one
 * that forked, drops the pending windows no thread of its own will finish. */
static smmap_manager *all; /* guarded by the platform's global lock */

static void before_fork(void)
{
    smmap__os_global_lock();
    for (smmap_manager *m = all; m; m = m->all_next)
        smmap__os_mutex_lock(&m->mu);
}

static void after_fork_in_parent(void)
{
    for (smmap_manager *m = all; m; m = m->all_next)
        smmap__os_mutex_unlock(&m->mu);
    smmap__os_global_unlock();
}

static void after_fork_in_child(void)
{
    for (smmap_manager *m = all; m; m = m->all_next) {
        for (size_t i = 0; i < m->index_cap; i++) {
            struct window *w = m->index[i], *next;
            for (; w; w = next) {
                next = w->hnext;
                /* Stays in use (by a thread the child lacks), unfindable. */
                if (w->state == W_PENDING)
                    smmap__win_index_del(m, w);
            }
        }
        /* Waiters of the parent's other threads are gone with them. */
        smmap__os_cond_init(&m->mapped_cv);
        smmap__os_mutex_unlock(&m->mu);
    }
    smmap__os_global_unlock();
}

static void list_add(smmap_manager *m)
{
    static bool fork_handlers;
    smmap__os_global_lock();
    if (!fork_handlers) {
        smmap__os_on_fork(before_fork, after_fork_in_parent, after_fork_in_child);
        fork_handlers = true;
    }
    m->all_next = all;
    if (all)
        all->all_prev = m;
    all = m;
    smmap__os_global_unlock();
}

static void list_del(smmap_manager *m)
{
    smmap__os_global_lock();
    if (m->all_prev)
        m->all_prev->all_next = m->all_next;
    else
        all = m->all_next;
    if (m->all_next)
        m->all_next->all_prev = m->all_prev;
    smmap__os_global_unlock();
}

/* ------------------------------------------------------------- managers */

int smmap_manager_new(smmap_manager **out, const smmap_options *opt)
{
    if (!out)
        return SMMAP_EINVAL;
    *out = NULL;
    struct limits l;
    int rc = smmap__options_resolve(opt, &l, NULL, NULL, 0);
    if (rc != 0)
        return rc;

    smmap_manager *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    if (smmap__os_mutex_init(&m->mu) != 0) {
        free(m);
        return -ENOMEM;
    }
    if (smmap__os_cond_init(&m->mapped_cv) != 0) {
        smmap__os_mutex_destroy(&m->mu);
        free(m);
        return -ENOMEM;
    }
    atomic_init(&m->refs, 1);
    atomic_init(&m->hits, 0);
    atomic_init(&m->preads, 0);
    m->kind = l.kind;
    m->flags = l.flags;
    m->window = l.window;
    m->half = l.half;
    m->max_memory = l.max_memory;
    m->max_handles = l.max_handles;
    update_room_locked(m);
    list_add(m);
    *out = m;
    return 0;
}

void smmap_manager_options(const smmap_manager *m, smmap_options *out)
{
    if (!out)
        return;
    if (!m) {
        *out = (smmap_options){0};
        return;
    }
    *out = (smmap_options){
        .kind = m->kind,
        .flags = m->flags,
        .window_size = m->window,
        .max_memory = m->max_memory,
        .max_handles = m->max_handles,
    };
}

void smmap_manager_stats(const smmap_manager *m, smmap_stats *out)
{
    if (!out)
        return;
    if (!m) {
        *out = (smmap_stats){0};
        return;
    }
    smmap_manager *mm = (smmap_manager *)m; /* the lock is not state */
    smmap__os_mutex_lock(&mm->mu);
    *out = m->st;
    smmap__os_mutex_unlock(&mm->mu);
    out->hits += atomic_load_explicit(&mm->hits, memory_order_relaxed);
    out->preads = atomic_load_explicit(&mm->preads, memory_order_relaxed);
}

/* Who holds what: every window, file by file, and each open file without
 * one. Under the lock, so that the paths stay valid while fn reads them. */
int smmap_manager_walk(const smmap_manager *cm, smmap_walk_fn fn, void *arg)
{
    if (!cm || !fn)
        return SMMAP_EINVAL;
    smmap_manager *m = (smmap_manager *)cm; /* the lock is not state */
    int n = 0, rc = 0;
    smmap__os_mutex_lock(&m->mu);
    for (struct file *f = m->files; f && rc == 0; f = f->next) {
        smmap_window_info info = {
            .path = f->path,
            .file_size = atomic_load_explicit(&f->size, memory_order_relaxed),
            .cursors = f->cursors,
            .deleted = f->gone,
        };
        bool any = false;
        for (const struct window *w = m->all; w && rc == 0; w = w->anext) {
            if (w->file != f)
                continue;
            info.begin = w->begin;
            info.end = w->end;
            info.users = w->users;
            info.read = w->copied;
            any = true;
            rc = fn(arg, &info);
            n++;
        }
        if (!any && rc == 0) {
            rc = fn(arg, &info);
            n++;
        }
    }
    smmap__os_mutex_unlock(&m->mu);
    return rc ? (rc > 0 ? SMMAP_EINVAL : rc) : n;
}

/* A failed system call, for the statistics; returns err. */
int smmap__mgr_failed(smmap_manager *m, int err)
{
    smmap__os_mutex_lock(&m->mu);
    m->st.failures++;
    smmap__os_mutex_unlock(&m->mu);
    return err;
}

int64_t smmap__mgr_pread(smmap_manager *m, struct file *f, void *dst, size_t len,
                         uint64_t offset)
{
    atomic_fetch_add_explicit(&m->preads, 1, memory_order_relaxed);
    int64_t n = smmap__os_pread(f->handle, dst, len, offset);
    return n < 0 ? smmap__mgr_failed(m, (int)n) : n;
}

void smmap__mgr_add_hits(smmap_manager *m, uint64_t hits)
{
    if (hits)
        atomic_fetch_add_explicit(&m->hits, hits, memory_order_relaxed);
}

static bool full_locked(const smmap_manager *m, uint64_t len)
{
    return m->st.mapped + len > m->max_memory || m->st.windows + 1 > m->max_handles;
}

/* ------------------------------------------------------ reaping (unlocked) */

/* Take f, which nothing holds any more, off the file list and queue it for
 * reap(). */
static void drop_file_locked(smmap_manager *m, struct file *f, struct reap *r)
{
    struct file **p = &m->files;
    while (*p != f)
        p = &(*p)->next;
    *p = f->next;
    m->st.files--;
    f->next = r->files;
    r->files = f;
}

/* Take w out of every structure and the accounting, and queue it (and its
 * file, if nothing else holds that) for reap(). w must not be on the LRU. */
static void detach_locked(smmap_manager *m, struct window *w, struct reap *r)
{
    struct file *f = w->file;
    smmap__win_index_del(m, w);
    if (w->aprev)
        w->aprev->anext = w->anext;
    else
        m->all = w->anext;
    if (w->anext)
        w->anext->aprev = w->aprev;
    m->st.mapped -= w->end - w->begin;
    m->st.windows--;
    update_room_locked(m);
    if (w->data && !w->copied)
        m->st.munmap_calls++;
    if (--f->windows == 0) {
        m->st.files_mapped--;
        if (f->cursors == 0)
            drop_file_locked(m, f, r);
    }
    w->lnext = r->windows;
    r->windows = w;
}

static void reap(smmap_manager *m, struct reap *r)
{
    unsigned failed = 0;
    for (struct window *w = r->windows, *next; w; w = next) {
        next = w->lnext;
        if (w->copied)
            smmap__os_free_aligned((void *)w->data);
        else if (w->data && smmap__os_unmap((void *)w->data, w->end - w->begin) != 0)
            failed++;
        free(w);
    }
    for (struct file *f = r->files, *next; f; f = next) {
        next = f->next;
        smmap__os_close(f->handle);
        free(f->path);
        free(f);
    }
    r->windows = NULL;
    r->files = NULL;
    if (failed) {
        smmap__os_mutex_lock(&m->mu);
        m->st.failures += failed;
        smmap__os_mutex_unlock(&m->mu);
    }
}

static void evict_lru_locked(smmap_manager *m, struct reap *r)
{
    struct window *w = m->lru_head;
    smmap__lru_del(m, w);
    detach_locked(m, w, r);
}

/* Evict idle windows, oldest first, until len more bytes and one more
 * window fit the limits or none is idle; returns how many went. */
static int evict_for_locked(smmap_manager *m, uint64_t len, struct reap *r)
{
    int n = 0;
    while (m->lru_head && (len > UINT64_MAX - m->st.mapped || full_locked(m, len))) {
        evict_lru_locked(m, r);
        m->st.evictions++;
        n++;
    }
    return n;
}

static int collect_locked(smmap_manager *m, struct reap *r)
{
    int n = 0;
    while (m->lru_head) {
        evict_lru_locked(m, r);
        n++;
    }
    return n;
}

/* ------------------------------------------------------- deleted files */

/* How often a miss checks the files: two system calls a file, for an event
 * as rare as a deletion. collect and make_room check every time. */
#define SWEEP_MS 100

/* Unmap f's idle windows; the last one closes f when no cursor holds it. */
static int give_back_locked(smmap_manager *m, struct file *f, struct reap *r)
{
    int n = 0;
    for (struct window *w = m->lru_head, *next; w; w = next) {
        next = w->lnext;
        if (w->file == f) {
            smmap__lru_del(m, w);
            detach_locked(m, w, r);
            n++;
        }
    }
    return n;
}

/* Whether the file has lost its last name, or path names another file now
 * (a pack replaced by rename). A relative path is taken from the current
 * directory, so a process that changed directory may see a file as
 * replaced that is not: that costs its cached windows, nothing else. */
static bool file_gone(os_file h, uint64_t dev, uint64_t ino, const char *path)
{
    struct os_stat st;
    if (smmap__os_fstat(h, &st) != 0)
        return false;
    if (st.links == 0)
        return true;
    return path && smmap__os_stat_path(path, &st) == 0 && (st.dev != dev || st.ino != ino);
}

struct check {
    struct file *f;
    const char *path;
    bool gone;
};

/* Find the files with windows that were deleted or replaced, and give
 * back the windows of those no cursor holds (a cursor holds the file's
 * descriptor, and with it the space, anyway). The system calls run
 * outside the lock, each file pinned as a cursor pins it. Unless forced,
 * at most once per SWEEP_MS. Returns the windows given back. */
static int sweep(smmap_manager *m, bool force, struct reap *r)
{
    uint64_t now = smmap__os_now_ms();
    if (!force && now - atomic_load_explicit(&m->swept_ms, memory_order_relaxed) < SWEEP_MS)
        return 0;
    smmap__os_mutex_lock(&m->mu);
    atomic_store_explicit(&m->swept_ms, now, memory_order_relaxed);
    size_t n = 0;
    for (struct file *f = m->files; f; f = f->next)
        n += !f->gone && f->windows;
    struct check *c = n ? malloc(n * sizeof *c) : NULL;
    if (!c) {
        smmap__os_mutex_unlock(&m->mu);
        return 0;
    }
    n = 0;
    for (struct file *f = m->files; f; f = f->next) {
        if (!f->gone && f->windows) {
            f->cursors++;
            c[n++] = (struct check){.f = f, .path = f->path};
        }
    }
    smmap__os_mutex_unlock(&m->mu);
    for (size_t i = 0; i < n; i++)
        c[i].gone = file_gone(c[i].f->handle, c[i].f->dev, c[i].f->ino, c[i].path);
    int given = 0;
    smmap__os_mutex_lock(&m->mu);
    for (size_t i = 0; i < n; i++) {
        struct file *f = c[i].f;
        f->cursors--;
        if (c[i].gone && !f->gone) {
            f->gone = true;
            m->st.files_deleted++;
        }
        if (f->cursors == 0 && f->windows == 0)
            drop_file_locked(m, f, r); /* its windows went while pinned */
        else if (f->gone && f->cursors == 0)
            given += give_back_locked(m, f, r);
    }
    smmap__os_mutex_unlock(&m->mu);
    free(c);
    return given;
}

int smmap_make_room(smmap_manager *m, uint64_t bytes)
{
    if (!m)
        return SMMAP_EINVAL;
    struct reap r = {0};
    int given = sweep(m, true, &r);
    smmap__os_mutex_lock(&m->mu);
    int n = given + evict_for_locked(m, bytes, &r);
    smmap__os_mutex_unlock(&m->mu);
    reap(m, &r);
    return n;
}

int smmap__mgr_users_at(smmap_manager *m, const struct file *f, uint64_t begin)
{
    smmap__os_mutex_lock(&m->mu);
    const struct window *w = smmap__win_at(m, f, smmap__win_slot(m, begin));
    int n = w && w->begin == begin && w->state == W_READY ? (int)w->users : SMMAP_ECURSOR;
    smmap__os_mutex_unlock(&m->mu);
    return n;
}

int smmap_collect_path(smmap_manager *m, const char *prefix)
{
    if (!m || !prefix)
        return SMMAP_EINVAL;
    size_t len = strlen(prefix);
    struct reap r = {0};
    int n = 0;
    smmap__os_mutex_lock(&m->mu);
    for (struct window *w = m->lru_head, *next; w; w = next) {
        next = w->lnext;
        const char *name = w->file->path;
        if (name && strncmp(name, prefix, len) == 0) {
            smmap__lru_del(m, w);
            detach_locked(m, w, &r);
            n++;
        }
    }
    smmap__os_mutex_unlock(&m->mu);
    reap(m, &r);
    return n;
}

/* Unmap every idle window and close the files left unused; retries=1
 * counts the call as the retry of a failed open or mmap. */
static int collect(smmap_manager *m, unsigned retries)
{
    struct reap r = {0};
    int given = sweep(m, true, &r);
    smmap__os_mutex_lock(&m->mu);
    m->st.retries += retries;
    int n = given + collect_locked(m, &r);
    smmap__os_mutex_unlock(&m->mu);
    reap(m, &r);
    return n;
}

int smmap_collect(smmap_manager *m)
{
    return m ? collect(m, 0) : SMMAP_EINVAL;
}

/* ------------------------------------------------------------- lifetime */

void smmap__mgr_ref(smmap_manager *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* The last reference goes when no cursor exists, so every window left is
 * idle and every file is held only by its windows. */
void smmap__mgr_unref(smmap_manager *m)
{
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    list_del(m);
    struct reap r = {0};
    collect_locked(m, &r);
    reap(m, &r);
    free(m->index);
    smmap__os_cond_destroy(&m->mapped_cv);
    smmap__os_mutex_destroy(&m->mu);
    free(m);
}

void smmap_manager_free(smmap_manager *m)
{
    if (m)
        smmap__mgr_unref(m);
}

/* ----------------------------------------------------------------- files */

/* A file that says it is empty yet reads bytes (/proc/self/status and its
 * kind) cannot be mapped: its content exists only as read(2) makes it. A
 * second fstat tells it from an empty file that grew meanwhile. */
static bool unsized(os_file h)
{
    unsigned char byte;
    struct os_stat st;
    return smmap__os_pread(h, &byte, 1, 0) == 1 && smmap__os_fstat(h, &st) == 0 &&
           st.size == 0;
}

int smmap__mgr_attach(smmap_manager *m, os_file h, const char *path, struct file **out)
{
    struct os_stat st;
    int rc = smmap__os_fstat(h, &st);
    if (rc != 0)
        smmap__mgr_failed(m, rc);
    else if (st.type != OS_REG)
        rc = st.type == OS_DIR ? -EISDIR : SMMAP_ENOTREG;
    else if (st.size == 0 && unsized(h))
        rc = SMMAP_ENOTREG;
    /* Copied before the lock is taken; dropped if the file has a name. */
    char *name = rc == 0 && path ? strdup(path) : NULL;
    if (rc == 0 && path && !name)
        rc = -ENOMEM;
    if (rc != 0) {
        smmap__os_close(h);
        return rc;
    }
    smmap__os_mutex_lock(&m->mu);
    struct file *f = m->files;
    while (f && !(f->dev == st.dev && f->ino == st.ino))
        f = f->next;
    if (f) {
        f->cursors++;
        atomic_store_explicit(&f->size, st.size, memory_order_relaxed);
        if (!f->path) {
            f->path = name;
            name = NULL;
        }
        smmap__os_mutex_unlock(&m->mu);
        smmap__os_close(h); /* the file is open already; share that handle */
        free(name);
        *out = f;
        return 0;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        smmap__os_mutex_unlock(&m->mu);
        smmap__os_close(h);
        free(name);
        return -ENOMEM;
    }
    f->dev = st.dev;
    f->ino = st.ino;
    f->handle = h;
    f->path = name;
    f->cursors = 1;
    atomic_init(&f->size, st.size);
    f->next = m->files;
    m->files = f;
    if (++m->st.files > m->st.files_peak)
        m->st.files_peak = m->st.files;
    smmap__os_mutex_unlock(&m->mu);
    *out = f;
    return 0;
}

void smmap__mgr_detach(smmap_manager *m, struct file *f)
{
    struct reap r = {0};
    smmap__os_mutex_lock(&m->mu);
    if (--f->cursors == 0 && f->windows == 0)
        drop_file_locked(m, f, &r);
    else if (f->cursors == 0 && f->gone)
        give_back_locked(m, f, &r);
    smmap__os_mutex_unlock(&m->mu);
    reap(m, &r);
}

/* Open or dup with one retry after closing idle files, for EMFILE/ENFILE. */
int smmap__mgr_open(smmap_manager *m, const char *path, int fd, os_file *out)
{
    int rc = path ? smmap__os_open(path, out) : smmap__os_dup(fd, out);
    if (rc != -EMFILE && rc != -ENFILE)
        return rc ? smmap__mgr_failed(m, rc) : 0;
    collect(m, 1);
    rc = path ? smmap__os_open(path, out) : smmap__os_dup(fd, out);
    return rc ? smmap__mgr_failed(m, rc) : 0;
}

/* ------------------------------------------------------------- windows */

static void take_locked(smmap_manager *m, struct window *w)
{
    if (w->users++ == 0)
        smmap__lru_del(m, w);
}

static void release_locked(smmap_manager *m, struct window *w, struct reap *r)
{
    if (--w->users > 0)
        return;
    if (w->indexed)
        smmap__lru_push(m, w);  /* stays mapped as a cache */
    else
        detach_locked(m, w, r); /* superseded by a longer window */
}

void smmap__mgr_release(smmap_manager *m, struct window *w)
{
    struct reap r = {0};
    smmap__os_mutex_lock(&m->mu);
    release_locked(m, w, &r);
    smmap__os_mutex_unlock(&m->mu);
    reap(m, &r);
}

/* A duplicate cursor: one more user of the file and of its window. */
void smmap__mgr_share(smmap_manager *m, struct file *f, struct window *w)
{
    smmap__os_mutex_lock(&m->mu);
    f->cursors++;
    if (w)
        w->users++; /* in use already, so not on the LRU */
    smmap__os_mutex_unlock(&m->mu);
}

int smmap__mgr_users(smmap_manager *m, const struct window *w)
{
    smmap__os_mutex_lock(&m->mu);
    int n = (int)w->users;
    smmap__os_mutex_unlock(&m->mu);
    return n;
}

/* Room for len more bytes and one more window. When the idle windows do
 * not free enough, the limits are soft (counted) unless strict. */
static int make_room_locked(smmap_manager *m, uint64_t len, struct reap *r)
{
    evict_for_locked(m, len, r);
    if (!full_locked(m, len))
        return 0;
    if (m->flags & SMMAP_STRICT_LIMITS)
        return SMMAP_ELIMIT;
    m->st.limit_exceeded++;
    return 0;
}

static int map_new_locked(smmap_manager *m, struct file *f, uint64_t offset,
                          uint64_t need, uint64_t file_size, bool if_room,
                          struct reap *r, struct window **out)
{
    uint64_t begin, end;
    smmap__win_place(m, offset, need, file_size, &begin, &end);
    if (end - begin > SIZE_MAX)
        return -ENOMEM; /* a static window larger than the address space */
    if (if_room && full_locked(m, end - begin))
        return SMMAP__FULL;
    /* A window on the same slot ended short of the grown file; it goes
     * now if idle, else when its last user leaves. */
    uint64_t slot = smmap__win_slot(m, begin);
    struct window *old = smmap__win_at(m, f, slot);
    if (old && old->users == 0) {
        smmap__lru_del(m, old);
        detach_locked(m, old, r);
    } else if (old) {
        smmap__win_index_del(m, old);
    }
    int rc = make_room_locked(m, end - begin, r);
    if (rc != 0)
        return rc;
    struct window *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    *w = (struct window){
        .file = f, .begin = begin, .end = end, .slot = slot,
        .users = 1, .state = W_PENDING, .copied = f->read,
    };
    if (smmap__win_index_add(m, w) != 0) {
        free(w);
        return -ENOMEM;
    }
    w->anext = m->all;
    if (m->all)
        m->all->aprev = w;
    m->all = w;
    m->st.mapped += end - begin;
    if (m->st.mapped > m->st.mapped_peak)
        m->st.mapped_peak = m->st.mapped;
    if (++m->st.windows > m->st.windows_peak)
        m->st.windows_peak = m->st.windows;
    update_room_locked(m);
    if (f->windows++ == 0)
        m->st.files_mapped++;
    m->st.misses++;
    *out = w;
    return 0;
}

/* One try at w's bytes, outside the lock: mapped, or for a file the system
 * will not map (copied), read into memory of our own. *got is how many
 * there are: a read that comes back short found the end of the file. */
static int fill(struct window *w, bool copied, int hint, void **p, uint64_t *got,
                unsigned *mmap_calls)
{
    size_t len = (size_t)(w->end - w->begin);
    *got = len;
    if (!copied) {
        ++*mmap_calls;
        return smmap__os_map(w->file->handle, w->begin, len, hint, p);
    }
    void *buf = smmap__os_alloc_aligned(smmap__os_page_size(), len);
    if (!buf)
        return -ENOMEM;
    int64_t n = smmap__os_pread(w->file->handle, buf, len, w->begin);
    if (n <= 0) {
        smmap__os_free_aligned(buf);
        return n < 0 ? (int)n : SMMAP_EOF;
    }
    *p = buf;
    *got = (uint64_t)n;
    return 0;
}

/* Fill the pending window w; on ENOMEM (address space, vm.max_map_count)
 * unmap every idle window and try once more. When the system refuses to
 * map the file, it is read from then on: decided once per file. */
static int map_pending(smmap_manager *m, struct window *w, int hint)
{
    void *p = NULL;
    uint64_t got = 0;
    unsigned calls = 0, retried = 0;
    bool copied = w->copied, refused = false;
    int rc;
    for (;;) {
        rc = fill(w, copied, hint, &p, &got, &calls);
        if (rc == -ENOMEM && !retried) {
            collect(m, 0); /* the retry is counted below, with the result */
            retried = 1;
            continue;
        }
        if (rc == -ENODEV && !copied) {
            copied = refused = true;
            continue;
        }
        break;
    }
    struct reap r = {0};
    smmap__os_mutex_lock(&m->mu);
    m->st.mmap_calls += calls;
    m->st.retries += retried;
    struct file *f = w->file;
    if (refused && !f->read) {
        f->read = true;
        m->st.files_read_not_mapped++;
    }
    if (rc == 0) {
        w->data = p;
        w->copied = copied;
        w->state = W_READY;
        if (copied) {
            m->st.bytes_read_into_windows += got;
            if (got < w->end - w->begin) {
                m->st.mapped -= w->end - w->begin - got;
                w->end = w->begin + got;
                atomic_store_explicit(&f->size, w->end, memory_order_relaxed);
                update_room_locked(m);
            }
        }
    } else {
        if (rc != SMMAP_EOF)
            m->st.failures++;
        if (rc == SMMAP_EOF)
            atomic_store_explicit(&f->size, w->begin, memory_order_relaxed);
        detach_locked(m, w, &r);
    }
    smmap__os_cond_broadcast(&m->mapped_cv);
    smmap__os_mutex_unlock(&m->mu);
    reap(m, &r);
    return rc;
}

int smmap__mgr_acquire(smmap_manager *m, struct file *f, const struct request *rq,
                       struct window **out)
{
    const uint64_t offset = rq->offset;
    const size_t size = rq->size;
    struct reap r = {0};
    struct window *w = NULL;
    bool restat = true, created = false;
    int rc = 0;

    sweep(m, false, &r);
    smmap__os_mutex_lock(&m->mu);
    if (rq->leaving)
        release_locked(m, rq->leaving, &r);
    uint64_t fsize = atomic_load_explicit(&f->size, memory_order_relaxed), need;
    for (;;) {
        /* A request past the size last seen asks for the size first: a
         * window at the old end would serve it cut short. */
        need = offset >= fsize ? 0 : size < fsize - offset ? size : fsize - offset;
        if (offset < fsize && (!restat || size <= fsize - offset)) {
            w = smmap__win_find(m, f, offset, need, fsize);
            if (w && w->state == W_PENDING) {
                smmap__os_cond_wait(&m->mapped_cv, &m->mu);
                continue;
            }
            if (w) {
                take_locked(m, w);
                m->st.hits++;
                break;
            }
        }
        if (!restat) {
            rc = offset < fsize ? map_new_locked(m, f, offset, need, fsize, rq->if_room, &r, &w)
                                : SMMAP_EOF;
            created = rc == 0;
            break;
        }
        if (rq->if_room && offset < fsize) {
            uint64_t begin, end;
            smmap__win_place(m, offset, need, fsize, &begin, &end);
            if (full_locked(m, end - begin)) {
                rc = SMMAP__FULL;
                break;
            }
        }
        /* A miss: the file may have grown or shrunk since it was last seen. */
        restat = false;
        smmap__os_mutex_unlock(&m->mu);
        struct os_stat st;
        rc = smmap__os_fstat(f->handle, &st);
        smmap__os_mutex_lock(&m->mu);
        if (rc != 0) {
            m->st.failures++;
            break;
        }
        fsize = st.size;
        atomic_store_explicit(&f->size, fsize, memory_order_relaxed);
    }
    smmap__os_mutex_unlock(&m->mu);
    reap(m, &r);
    if (created)
        rc = map_pending(m, w, rq->hint);
    /* A file read rather than mapped may end before the size it reports
     * (sysfs says 4096 for a few bytes): the window then ends short. */
    if (rc == 0 && offset >= w->end) {
        smmap__mgr_release(m, w);
        rc = SMMAP_EOF;
    }
    *out = rc == 0 ? w : NULL;
    return rc;
}
