/*
 * cursor.c - the user's handle into one file: use/unuse, the hit path, and
 * the copying read.
 *
 * smmap_use() first checks the cursor's own window, without a lock: the
 * cursor holds that window, so nothing can unmap it meanwhile. Only a
 * request outside it goes to the manager (smmap__mgr_acquire). The
 * header's inline smmap_get() and smmap_read() check the same from the
 * cursor's public views, which show_windows() keeps in step with the
 * windows the cursor holds; their misses come back here.
 */
/* The exported smmap_get() and smmap_read(), for programs that cannot
 * inline them, are the header's inline bodies compiled here under other
 * names: here they are wanted even in a build that sets SMMAP_NO_INLINE
 * for everything. */
#undef SMMAP_NO_INLINE
#define smmap_get smmap__get_inline
#define smmap_read smmap__read_inline
#include "internal.h"
#undef smmap_get
#undef smmap_read
SMMAP_API int64_t smmap_get(smmap_cursor *c, uint64_t offset, size_t size,
                            const unsigned char **data);
SMMAP_API int64_t smmap_read(smmap_cursor *c, void *dst, size_t len, uint64_t offset);

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Cursors of different threads are written on every read; a cache line
 * each keeps them from slowing each other down (false sharing). */
#define CACHE_LINE 64
static smmap_cursor *cursor_alloc(void)
{
    smmap_cursor *c = smmap__os_alloc_aligned(CACHE_LINE, sizeof *c);
    if (c)
        memset(c, 0, sizeof *c);
    return c;
}

/* Publish w (NULL: none) as view i for the header's inline calls. A
 * copy may read up to the file's size as this cursor sees it now. */
static void show(smmap_cursor *c, int i, const struct window *w)
{
    smmap_view *v = &c->head.view[i];
    if (!w) {
        *v = (smmap_view){0};
        return;
    }
    uint64_t size = atomic_load_explicit(&c->file->size, memory_order_relaxed);
    v->base = w->data;
    v->begin = w->begin;
    v->len = w->end - w->begin;
    v->readable = size <= w->begin ? 0 : size - w->begin < v->len ? size - w->begin : v->len;
}

/* After any change of the current window or the spares, before the caller
 * gets control back: the views must never show a window the cursor has
 * given back. */
static void show_windows(smmap_cursor *c)
{
    show(c, 0, c->w);
    show(c, 1, c->nspare ? c->spare[0] : NULL);
}

static void drop_spares(smmap_cursor *c)
{
    while (c->nspare > 0)
        smmap__mgr_release(c->m, c->spare[--c->nspare]);
}

/* Keep the current window as the newest spare; return the window that
 * falls out (the oldest spare, or the current one when the manager is
 * short of room), for the caller to release. */
static struct window *keep_spare(smmap_cursor *c)
{
    struct window *w = c->w;
    if (!w)
        return NULL;
    if (!smmap__mgr_roomy(c->m)) {
        drop_spares(c);
        return w;
    }
    struct window *out = c->nspare == SMMAP_SPARES ? c->spare[--c->nspare] : NULL;
    memmove(c->spare + 1, c->spare, (size_t)c->nspare * sizeof *c->spare);
    c->spare[0] = w;
    c->nspare++;
    return out;
}

/* Leave the current window (without releasing it: the caller hands it
 * back or keeps it), adding the hits it served to the manager's. */
static struct window *forget(smmap_cursor *c)
{
    struct window *w = c->w;
    smmap__mgr_add_hits(c->m, c->hits);
    c->hits = 0;
    c->w = NULL;
    c->data = NULL;
    c->size = 0;
    return w;
}

/* Make [offset, offset + len) of w, the current window, the span. */
static inline void set_span(smmap_cursor *c, const struct window *w, uint64_t offset,
                            size_t len)
{
    c->begin = offset;
    c->data = w->data + (offset - w->begin);
    c->size = len;
}

static int cursor_make(smmap_manager *m, const char *path, int fd,
                       smmap_cursor **out)
{
    smmap_cursor *c = cursor_alloc();
    char *p = path ? strdup(path) : NULL;
    if (!c || (path && !p)) {
        smmap__os_free_aligned(c);
        free(p);
        return -ENOMEM;
    }
    os_file own;
    int rc = smmap__mgr_open(m, path, fd, &own);
    if (rc == 0)
        rc = smmap__mgr_attach(m, own, path, &c->file);
    if (rc != 0) {
        smmap__os_free_aligned(c);
        free(p);
        return rc;
    }
    smmap__mgr_ref(m);
    c->m = m;
    c->path = p;
    c->user_fd = path ? -1 : fd;
    *out = c;
    return 0;
}

int smmap_cursor_new(smmap_manager *m, const char *path, smmap_cursor **out)
{
    if (out)
        *out = NULL;
    if (!m || !path || !*path || !out)
        return SMMAP_EINVAL;
    return cursor_make(m, path, -1, out);
}

int smmap_cursor_new_fd(smmap_manager *m, int fd, smmap_cursor **out)
{
    if (out)
        *out = NULL;
    if (!m || fd < 0 || !out)
        return SMMAP_EINVAL;
    return cursor_make(m, NULL, fd, out);
}

int smmap_cursor_dup(const smmap_cursor *c, smmap_cursor **out)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return SMMAP_EINVAL;
    smmap_cursor *d = cursor_alloc();
    char *p = c->path ? strdup(c->path) : NULL;
    if (!d || (c->path && !p)) {
        smmap__os_free_aligned(d);
        free(p);
        return -ENOMEM;
    }
    *d = *c;
    d->path = p;
    d->hits = 0;
    d->nspare = 0;
    show_windows(d);
    smmap__mgr_share(c->m, c->file, c->w);
    smmap__mgr_ref(c->m);
    *out = d;
    return 0;
}

void smmap_unuse(smmap_cursor *c)
{
    if (!c)
        return;
    drop_spares(c);
    if (c->w)
        smmap__mgr_release(c->m, forget(c));
    show_windows(c);
}

void smmap_cursor_free(smmap_cursor *c)
{
    if (!c)
        return;
    smmap_unuse(c);
    smmap__mgr_detach(c->m, c->file);
    smmap__mgr_unref(c->m);
    free(c->path);
    smmap__os_free_aligned(c);
}

/* How a request reaches for windows: smmap_use() and smmap_scan() take the
 * one that holds it; smmap_read() keeps the windows it leaves as spares,
 * and a read that does not continue the last one takes a window only if
 * one fits without evicting (else it is read by pread). */
enum use_mode { USE_SPAN, USE_READ, USE_READ_IF_ROOM };

static inline int use(smmap_cursor *c, uint64_t offset, size_t size, enum use_mode mode);

/* The cursor's window does not hold the request: ask the manager. */
__attribute__((noinline)) static int
use_miss(smmap_cursor *c, uint64_t offset, size_t size, enum use_mode mode)
{
    /* No window holds more than its reach: asking for more would find no
     * mapped window good enough and map the same one again on every call. */
    uint64_t reach = smmap__win_reach(c->m, offset);
    if (size > reach)
        return use(c, offset, (size_t)reach, mode);
    /* A request that runs off the window's end from its second half reads
     * on through the file: map the next window with its page tables filled
     * in at once, as a populated whole-file mapping has them, rather than
     * fault by fault. Random requests almost never end up here. */
    const struct window *cur = c->w;
    struct request rq = {
        .offset = offset, .size = size, .hint = c->hint,
        .if_room = mode == USE_READ_IF_ROOM,
    };
    if (rq.hint == SMMAP_HINT_NORMAL && cur && offset >= cur->begin && offset <= cur->end &&
        offset + (size ? size : 1) > cur->end &&
        offset - cur->begin >= (cur->end - cur->begin) / 2)
        rq.hint = SMMAP_HINT_POPULATE;
    /* Spares serve smmap_read() alone: a cursor that moved on to
     * smmap_use() would otherwise hold them until it is freed. */
    if (mode == USE_SPAN)
        drop_spares(c);
    rq.leaving = mode == USE_SPAN ? c->w : keep_spare(c);
    forget(c);
    struct window *w;
    int rc = smmap__mgr_acquire(c->m, c->file, &rq, &w);
    if (rc != 0) {
        drop_spares(c); /* a cursor without a window holds nothing */
        show_windows(c);
        return rc;
    }
    uint64_t avail = w->end - offset;
    c->w = w;
    set_span(c, w, offset, size && size < avail ? size : (size_t)avail);
    show_windows(c);
    if (c->hint == SMMAP_HINT_WILLNEED && !w->copied)
        smmap__os_advise(c->data, (size_t)avail, c->hint);
    return 0;
}

int smmap_cursor_hint(smmap_cursor *c, int hint)
{
    if (!c || hint < SMMAP_HINT_NORMAL || hint > SMMAP_HINT_POPULATE)
        return SMMAP_EINVAL;
    c->hint = hint;
    return 0;
}

static inline int use(smmap_cursor *c, uint64_t offset, size_t size, enum use_mode mode)
{
    const struct window *w = c->w;
    if (w) {
        uint64_t rel = offset - w->begin; /* wraps when offset < begin */
        uint64_t len = w->end - w->begin;
        if (rel < len) {
            uint64_t avail = len - rel;
            /* A request past the window's end is a miss even when the
             * window ends where the file did: the file may have grown. */
            if (size <= avail) {
                set_span(c, w, offset, size && size < avail ? size : (size_t)avail);
                c->hits++;
                return 0;
            }
        }
    }
    if (size > UINT64_MAX - offset) {
        smmap_unuse(c);
        return SMMAP_EINVAL;
    }
    return use_miss(c, offset, size, mode);
}

int smmap_use(smmap_cursor *c, uint64_t offset, size_t size)
{
    return c ? use(c, offset, size, USE_SPAN) : SMMAP_EINVAL;
}

int64_t smmap__get_miss(smmap_cursor *c, uint64_t offset, size_t size)
{
    if (!c)
        return SMMAP_EINVAL;
    int rc = use(c, offset, size, USE_SPAN);
    return rc ? rc : (int64_t)(c->w->end - offset);
}

int64_t smmap_get(smmap_cursor *c, uint64_t offset, size_t size, const unsigned char **data)
{
    return smmap__get_inline(c, offset, size, data);
}

const unsigned char *smmap_data(const smmap_cursor *c)
{
    return c ? c->data : NULL;
}

size_t smmap_size(const smmap_cursor *c)
{
    return c && c->w ? c->size : 0;
}

uint64_t smmap_begin(const smmap_cursor *c)
{
    return c ? c->begin : 0;
}

uint64_t smmap_end(const smmap_cursor *c)
{
    return c ? c->begin + smmap_size(c) : 0;
}

int smmap_includes(const smmap_cursor *c, uint64_t ofs)
{
    return c && c->w && ofs >= c->begin && ofs - c->begin < c->size;
}

uint64_t smmap_window_begin(const smmap_cursor *c)
{
    return c && c->w ? c->w->begin : 0;
}

uint64_t smmap_window_end(const smmap_cursor *c)
{
    return c && c->w ? c->w->end : 0;
}

int smmap_window_users(const smmap_cursor *c)
{
    if (!c)
        return SMMAP_EINVAL;
    return c->w ? smmap__mgr_users(c->m, c->w) : SMMAP_ECURSOR;
}

int smmap_window_users_at(const smmap_cursor *c, uint64_t begin)
{
    return c ? smmap__mgr_users_at(c->m, c->file, begin) : SMMAP_EINVAL;
}

/* A guarded copy from the file's window; on a fault the size is read
 * again, so that the calls after this one stop at the new end. */
static inline int copy(smmap_cursor *c, void *dst, const unsigned char *src, size_t len)
{
    int rc = smmap__guard_copy(dst, src, len);
    if (rc == SMMAP_ETRUNC)
        smmap_file_stat(c);
    return rc;
}

int smmap_probe(smmap_cursor *c)
{
    if (!c)
        return SMMAP_EINVAL;
    if (!c->w || !c->size)
        return SMMAP_ECURSOR;
    unsigned char last;
    return copy(c, &last, smmap_data(c) + c->size - 1, 1);
}

int smmap_probe_at(smmap_cursor *c, uint64_t offset)
{
    if (!c)
        return SMMAP_EINVAL;
    if (!c->w)
        return SMMAP_ECURSOR;
    if (offset < c->w->begin || offset >= c->w->end)
        return SMMAP_EINVAL;
    unsigned char byte;
    return copy(c, &byte, c->w->data + (offset - c->w->begin), 1);
}

int64_t smmap_scan(smmap_cursor *c, uint64_t offset, uint64_t len,
                   smmap_scan_fn fn, void *arg)
{
    if (!c || !fn)
        return SMMAP_EINVAL;
    if (len > UINT64_MAX - offset)
        len = UINT64_MAX - offset;
    uint64_t done = 0;
    while (done < len) {
        uint64_t at = offset + done;
        int rc = use(c, at, 0, USE_SPAN);
        if (rc == SMMAP_EOF) {
            /* The miss read the size again: an end before what fn has
             * seen means the file was cut between two spans. */
            if (done && at > (uint64_t)smmap_file_size(c))
                return SMMAP_ETRUNC;
            break;
        }
        if (rc != 0)
            return rc;
        size_t n = len - done < c->size ? (size_t)(len - done) : c->size;
        rc = smmap__guard_call(fn, arg, c->data, n, at);
        if (rc == SMMAP_ETRUNC)
            smmap_file_stat(c);
        if (rc > 0)
            rc = SMMAP_EINVAL;
        if (rc != 0)
            return rc;
        done += n;
    }
    return (int64_t)done;
}

int smmap_valid(const smmap_cursor *c)
{
    return c && c->w;
}

int64_t smmap_file_size(const smmap_cursor *c)
{
    return c ? (int64_t)atomic_load_explicit(&c->file->size, memory_order_relaxed)
             : SMMAP_EINVAL;
}

int64_t smmap_file_stat(smmap_cursor *c)
{
    if (!c)
        return SMMAP_EINVAL;
    struct os_stat st;
    int rc = smmap__os_fstat(c->file->handle, &st);
    if (rc != 0)
        return smmap__mgr_failed(c->m, rc);
    atomic_store_explicit(&c->file->size, st.size, memory_order_relaxed);
    show_windows(c);
    return (int64_t)st.size;
}

const char *smmap_cursor_path(const smmap_cursor *c)
{
    return c ? c->path : NULL;
}

int smmap_cursor_fd(const smmap_cursor *c)
{
    return c ? c->user_fd : -1;
}

/* The count must fit the int64_t result; only a 64-bit size_t can miss. */
static bool too_long(size_t len)
{
#if SIZE_MAX > INT64_MAX
    return len > (size_t)INT64_MAX;
#else
    (void)len;
    return false;
#endif
}

/* Read [offset, offset+len) from w, the current window, which holds it,
 * and make it the span. */
static inline int64_t read_in(smmap_cursor *c, const struct window *w, void *dst,
                              size_t len, uint64_t offset)
{
    set_span(c, w, offset, len);
    c->hits++;
    c->next_read = offset + len;
    int rc = copy(c, dst, c->data, len);
    return rc ? rc : (int64_t)len;
}

/* Whether w holds [offset, offset + len). */
static inline bool holds(const struct window *w, uint64_t offset, size_t len)
{
    return offset >= w->begin && offset < w->end && len <= w->end - offset;
}

/* The fixup routine returns what the inline read returns, so the common
 * case is a jump to it. */
int64_t smmap__read_hit(void *dst, const unsigned char *src, size_t len)
{
#ifdef HAVE_FIXUP_COPY
    if (__builtin_expect(atomic_load_explicit(&smmap__guard_fixup, memory_order_relaxed), 1))
        return smmap__fixup_copy(dst, src, len);
#endif
    return smmap__guard_copy_slow(dst, src, len) ? -1 : (int64_t)len;
}

int64_t smmap__read_fault(smmap_cursor *c)
{
    if (c)
        smmap_file_stat(c);
    return SMMAP_ETRUNC;
}

/* Whether a read at offset starts in w or right at its end. */
static bool starts_in(const struct window *w, uint64_t offset)
{
    return w && offset >= w->begin && offset <= w->end;
}

/* Make spare i the current window; the current one, if any, becomes the
 * newest spare (view[1], which the inline read checks second). */
static struct window *promote(smmap_cursor *c, int i)
{
    struct window *s = c->spare[i], *w = c->w;
    if (w) {
        memmove(c->spare + 1, c->spare, (size_t)i * sizeof *c->spare);
        c->spare[0] = w;
    } else {
        memmove(c->spare + i, c->spare + i + 1, (size_t)(c->nspare - i - 1) * sizeof *c->spare);
        c->nspare--;
    }
    c->w = s;
    show_windows(c);
    return s;
}

/* Every read the header's inline smmap_read() does not serve from its two
 * views: the checks, a size to ask again, the older spares, reads across
 * windows or by pread. */
int64_t smmap__read_miss(smmap_cursor *c, void *dst, size_t len, uint64_t offset)
{
    if (!c || (!dst && len) || too_long(len) || len > UINT64_MAX - offset)
        return SMMAP_EINVAL;
    if (len == 0)
        return 0; /* an empty span would leave a window in use showing none */
    /* A read past the size last seen asks the size again (the file may
     * have grown, or been cut inside a window) and stops at it, as pread(2)
     * does; it moves no window, so a request inside the current one stays
     * on it. */
    uint64_t end = atomic_load_explicit(&c->file->size, memory_order_relaxed);
    if (len > end || offset > end - len) {
        int64_t now = smmap_file_stat(c);
        if (now < 0)
            return now;
        if (offset >= (uint64_t)now)
            return 0;
        if (len > (uint64_t)now - offset)
            len = (size_t)((uint64_t)now - offset);
    }
    /* The window holds it, yet the inline read did not take it: its view
     * showed a size the file has grown past since. */
    if (c->w && holds(c->w, offset, len)) {
        show_windows(c);
        return read_in(c, c->w, dst, len, offset);
    }
    for (int i = 0; i < c->nspare; i++)
        if (holds(c->spare[i], offset, len))
            return read_in(c, promote(c, i), dst, len, offset);
    /* A read that starts where the last one ended, or in a window the
     * cursor holds (an inline read from one records no end), continues its
     * work there; any other may be served by pread when no window fits. */
    bool on = offset == c->next_read || starts_in(c->w, offset);
    for (int i = 0; i < c->nspare && !on; i++)
        on = starts_in(c->spare[i], offset);
    enum use_mode mode = on ? USE_READ : USE_READ_IF_ROOM;
    unsigned char *out = dst;
    size_t done = 0;
    c->next_read = offset + len;
    while (done < len) {
        int rc = use(c, offset + done, len - done, mode);
        if (rc == SMMAP__FULL) {
            int64_t n = smmap__mgr_pread(c->m, c->file, out + done, len - done,
                                         offset + done);
            if (n < 0)
                return n;
            done += (size_t)n;
            break;
        }
        if (rc == SMMAP_EOF)
            break;
        if (rc == 0)
            rc = copy(c, out + done, smmap_data(c), c->size);
        if (rc != 0)
            return rc;
        done += c->size;
    }
    return (int64_t)done;
}

int64_t smmap_read(smmap_cursor *c, void *dst, size_t len, uint64_t offset)
{
    return smmap__read_inline(c, dst, len, offset);
}

/* How many reads ahead smmap_read_many() asks for the bytes: enough to keep
 * the CPU's cache-miss slots busy, few enough that a prefetched line is
 * still there when its read comes. */
#define READ_AHEAD 32

int64_t smmap_read_many(smmap_cursor *c, void *dst, size_t len,
                        const uint64_t *offsets, size_t n)
{
    if (!c || (n && (!offsets || (!dst && len))) || too_long(n) ||
        (len && (n > SIZE_MAX / len || too_long(n * len))))
        return SMMAP_EINVAL;
    unsigned char *out = dst;
    for (size_t i = 0; i < n; i++) {
        /* A prefetch never faults, so one into a page the file lost, or
         * outside every window, is harmless. */
        if (i + READ_AHEAD < n && len) {
            uint64_t ahead = offsets[i + READ_AHEAD];
            for (int k = 0; k < 2; k++) {
                const smmap_view *v = &c->head.view[k];
                uint64_t rel = ahead - v->begin;
                if (rel < v->len && len <= v->len - rel) {
                    __builtin_prefetch(v->base + rel);
                    __builtin_prefetch(v->base + rel + len - 1);
                    break;
                }
            }
        }
        int64_t r = smmap__read_inline(c, out + i * len, len, offsets[i]);
        if (r != (int64_t)len)
            return r < 0 && i == 0 ? r : (int64_t)i;
    }
    return (int64_t)n;
}
