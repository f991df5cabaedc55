/*
 * fuzz_ops.c - libFuzzer target: the input is a program of operations on
 * managers with tiny limits (sliding and static, strict or soft), cursors
 * on a few small files, buffers, and the files themselves (truncated and
 * grown under the mappings). Every result is checked against a model of
 * the files' content and of the manager's promises by the harness's checks
 * (tests/harness.h): outside a test a failed ASSERT prints what differed on
 * stderr and aborts, which libFuzzer reports as a crash.
 *
 * What the model knows and checks:
 *  - content: each file's current bytes (a pattern that varies by offset
 *    and by the write that made it). Bytes through smmap_data(), smmap_read()
 *    and buffers must equal them.
 *  - truncation: a file shrunk since its windows were mapped is "dirty":
 *    its stale windows may still serve requests, so only the guarded calls
 *    are checked (SMMAP_ETRUNC, or bytes that equal the file where it still
 *    exists and zeros past its end - the kernel's view of a partial page),
 *    and raw pointers into it are never read, as the header warns. The
 *    "resync" operation unuses every cursor of the file and collects every
 *    manager; after it no stale window exists and the file is clean again.
 *  - wholeness: a request of up to window_size/2 bytes (sliding) or any
 *    request (static) that lies inside the file as the library last saw it
 *    is served whole.
 *  - limits: a strict manager never exceeds them; a soft one only when
 *    every other window is in use, and counts it in limit_exceeded.
 *  - counters: windows == mmap_calls - munmap_calls, mapped and windows at
 *    least what the cursors visibly use, users at least the cursors that
 *    share a window, no failures, everything back to zero after collect.
 *  - no descriptor and (under LeakSanitizer) no memory outlives a run.
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true; run:
 *   build-fuzz/tests/fuzz_ops NEW-CORPUS-DIR tests/fuzz/corpus -max_total_time=60
 */
#include "../util.h"

#include <smmap.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    NFILES = 4,
    NMGR = 2,
    NCUR = 8,
    NBUF = 4,
    MAX_PAGES = 24,   /* a file never grows past this many pages */
};

static size_t page;
static uint64_t max_file;
static char dir[PATH_MAX];
static char path[NFILES][3][PATH_MAX + 32]; /* three spellings of each file */
static int wfd[NFILES];                     /* the harness's write descriptors */
static int fd_mark;                         /* lowest free fd as a run starts */
static unsigned char *scratch;              /* read destination */
static bool trace;                          /* FUZZ_OPS_TRACE=1: name each operation */
static size_t scratch_len;

/* ------------------------------------------------------------ input */

struct in {
    const uint8_t *p;
    size_t n;
};

static bool more(const struct in *in)
{
    return in->n > 0;
}

static uint8_t u8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint16_t u16(struct in *in)
{
    return (uint16_t)(u8(in) | u8(in) << 8);
}

/* ------------------------------------------------------------ model */

struct file {
    unsigned char *data;   /* current content */
    uint64_t size;
    bool dirty;            /* shrunk while windows of it may exist */
    bool touched;          /* written this run: reset it for the next */
    uint32_t writes;       /* salt of the next write */
};

struct mgr {
    smmap_manager *m;
    bool live;             /* made and not released by the harness */
    bool strict;
    int kind;
    smmap_options eff;
};

struct cur {
    smmap_cursor *c;
    int mi, f;
};

struct buf {
    smmap_buffer *b;
    int mi, f;
    uint64_t off, size;
};

static struct file files[NFILES];
/* A lower bound of the size each manager last saw of each file (every
 * manager has its own view): it re-reads it on a miss, at EOF, for a new
 * cursor, smmap_file_stat() and a new buffer. */
static uint64_t seen[NMGR][NFILES];
static struct mgr mgrs[NMGR];
static struct cur curs[NCUR];
static struct buf bufs[NBUF];

/* Write [from, to) of file f with a fresh salt (one per file and write: a
 * run makes at most a few hundred writes), in the file and the model. */
static void write_range(int f, uint64_t from, uint64_t to)
{
    struct file *fl = &files[f];
    uint32_t salt = (uint32_t)f << 24 | fl->writes++;
    fl->touched = true;
    if (to > from) {
        util_fill(salt, from, fl->data + from, (size_t)(to - from));
        ssize_t w = pwrite(wfd[f], fl->data + from, (size_t)(to - from), (off_t)from);
        ASSERT(w == (ssize_t)(to - from), "pwrite: %s", strerror(errno));
    }
    if (to > fl->size)
        fl->size = to;
}

static void truncate_to(int f, uint64_t size)
{
    ASSERT(ftruncate(wfd[f], (off_t)size) == 0, "ftruncate: %s", strerror(errno));
    struct file *fl = &files[f];
    fl->touched = true;
    if (size < fl->size) {
        fl->dirty = true;
        for (int mi = 0; mi < NMGR; mi++)
            if (seen[mi][f] > size)
                seen[mi][f] = size;
    }
    fl->size = size;
}

/* Bytes [off, off+n) as a guarded call may return them: the file's bytes
 * where it exists; past its end (a dirty file's stale window into the
 * partial last page) zeros. */
static void check_bytes(const unsigned char *got, int f, uint64_t off, size_t n,
                        const char *what)
{
    const struct file *fl = &files[f];
    /* FAIL where a byte is wrong: an ASSERT a byte would cost a call each. */
    for (size_t i = 0; i < n; i++) {
        uint64_t o = off + i;
        unsigned char want = o < fl->size ? fl->data[o] : 0;
        if (o >= fl->size && !fl->dirty)
            FAIL("%s: byte at %llu is past the end (%llu) of clean file %d", what,
                 (unsigned long long)o, (unsigned long long)fl->size, f);
        if (got[i] != want)
            FAIL("%s: file %d byte %llu is %u, want %u", what, f, (unsigned long long)o,
                 got[i], want);
    }
}

/* ------------------------------------------------------------ setup */

static void cleanup(void)
{
    for (int f = 0; f < NFILES; f++)
        if (wfd[f] > 0)
            close(wfd[f]);
    if (dir[0])
        t_remove_tree(dir);
}

static void init_once(void)
{
    page = util_page();
    trace = getenv("FUZZ_OPS_TRACE") != NULL;
    max_file = MAX_PAGES * (uint64_t)page;
    scratch_len = (size_t)max_file + 4 * page;
    scratch = malloc(scratch_len);
    ASSERT(t_make_temp_dir(dir, sizeof dir, "fuzz") == 0, "temporary directory: %s",
           strerror(errno));
    const char *base = strrchr(dir, '/') + 1;
    for (int f = 0; f < NFILES; f++) {
        snprintf(path[f][0], sizeof path[f][0], "%s/f%d", dir, f);
        snprintf(path[f][1], sizeof path[f][1], "%s/../%s/./f%d", dir, base, f);
        snprintf(path[f][2], sizeof path[f][2], "%s/link%d", dir, f);
        wfd[f] = open(path[f][0], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT(wfd[f] >= 0, "create %s: %s", path[f][0], strerror(errno));
        ASSERT(link(path[f][0], path[f][2]) == 0, "link: %s", strerror(errno));
        files[f].data = malloc((size_t)max_file);
    }
    atexit(cleanup);
}

/* Each run starts from the same files: empty, under a page, a few pages
 * with a partial last one, many pages exactly. Only the files the last
 * run wrote are made again. */
static void reset_files(void)
{
    static bool made;
    const uint64_t sizes[NFILES] = {0, page / 2 + 3, 5 * page + 7, 12 * page};
    for (int f = 0; f < NFILES; f++) {
        if (!made || files[f].touched) {
            ASSERT(ftruncate(wfd[f], 0) == 0, "ftruncate: %s", strerror(errno));
            files[f].size = 0;
            files[f].writes = 0;
            write_range(f, 0, sizes[f]);
        }
        files[f].touched = false;
        for (int mi = 0; mi < NMGR; mi++)
            seen[mi][f] = 0;
        files[f].dirty = false;
    }
    made = true;
}

/* ------------------------------------------------------------ checks */

static void stats_of(int mi, smmap_stats *st)
{
    smmap_manager_stats(mgrs[mi].m, st);
}

static bool over_limits(int mi, const smmap_stats *st)
{
    return st->mapped > mgrs[mi].eff.max_memory || st->windows > mgrs[mi].eff.max_handles;
}

/* The window a valid cursor uses, identified by its mapping's address. */
static uintptr_t window_base(const smmap_cursor *c)
{
    return (uintptr_t)smmap_data(c) - (uintptr_t)(smmap_begin(c) - smmap_window_begin(c));
}

static void check_cursor(smmap_cursor *c, int mi, int f, bool read_raw)
{
    const struct mgr *mg = &mgrs[mi];
    const struct file *fl = &files[f];
    if (!smmap_valid(c)) {
        ASSERT(smmap_data(c) == NULL && smmap_size(c) == 0, "invalid cursor with a span");
        ASSERT(smmap_window_users(c) == SMMAP_ECURSOR, "invalid cursor with window users");
        ASSERT(smmap_probe(c) == SMMAP_ECURSOR && smmap_probe_at(c, 0) == SMMAP_ECURSOR,
               "probe of an invalid cursor");
        return;
    }
    uint64_t b = smmap_begin(c), e = smmap_end(c);
    uint64_t wb = smmap_window_begin(c), we = smmap_window_end(c);
    size_t n = smmap_size(c);
    ASSERT(smmap_data(c) != NULL && n > 0, "valid cursor without a span");
    ASSERT(e == b + n, "end %llu != begin %llu + size %zu", (unsigned long long)e,
           (unsigned long long)b, n);
    ASSERT(wb <= b && e <= we, "span [%llu, %llu) outside window [%llu, %llu)",
           (unsigned long long)b, (unsigned long long)e, (unsigned long long)wb,
           (unsigned long long)we);
    ASSERT(smmap_includes(c, b) && smmap_includes(c, e - 1) && !smmap_includes(c, e) &&
           (b == 0 || !smmap_includes(c, b - 1)), "includes() disagrees with the span");
    ASSERT_GE(smmap_window_users(c), 1, "users of a window in use");
    int at = smmap_window_users_at(c, wb);
    ASSERT(at >= 0 || at == SMMAP_ECURSOR, "window_users_at: %d", at);
    if (mg->kind == SMMAP_STATIC) {
        ASSERT(wb == 0, "static window begins at %llu", (unsigned long long)wb);
    } else {
        ASSERT(wb % page == 0, "window begin %llu not on a page", (unsigned long long)wb);
        ASSERT(we - wb <= mg->eff.window_size, "window of %llu bytes, size %zu",
               (unsigned long long)(we - wb), mg->eff.window_size);
    }
    if (!fl->dirty) {
        ASSERT(we <= fl->size, "window end %llu past the end %llu of clean file %d",
               (unsigned long long)we, (unsigned long long)fl->size, f);
        if (read_raw) {
            /* The span's ends and middle, through the raw pointer. */
            const unsigned char *d = smmap_data(c);
            size_t k = n < 64 ? n : 64;
            check_bytes(d, f, b, k, "data head");
            check_bytes(d + n - k, f, e - k, k, "data tail");
            check_bytes(d + n / 2, f, b + n / 2, 1, "data middle");
        }
        ASSERT_EQ(smmap_probe(c), 0, "probe of a clean span");
        ASSERT(smmap_probe_at(c, wb) == 0 && smmap_probe_at(c, we - 1) == 0,
               "probe_at of a clean window");
    } else {
        int p = smmap_probe(c), q = smmap_probe_at(c, we - 1);
        ASSERT(p == 0 || p == SMMAP_ETRUNC, "probe: %d", p);
        ASSERT(q == 0 || q == SMMAP_ETRUNC, "probe_at: %d", q);
    }
    ASSERT(smmap_probe_at(c, we) == SMMAP_EINVAL, "probe_at past the window");
}

/* Every live object and counter. */
static void check_all(bool read_raw)
{
    for (int mi = 0; mi < NMGR; mi++) {
        if (!mgrs[mi].live)
            continue;
        smmap_stats st;
        stats_of(mi, &st);
        ASSERT(st.failures == 0 && st.retries == 0, "manager %d: %llu failures", mi,
               (unsigned long long)st.failures);
        ASSERT(st.mmap_calls - st.munmap_calls == st.windows,
               "manager %d: mmap %llu - munmap %llu != windows %llu", mi,
               (unsigned long long)st.mmap_calls, (unsigned long long)st.munmap_calls,
               (unsigned long long)st.windows);
        ASSERT(st.windows <= st.windows_peak && st.mapped <= st.mapped_peak &&
               st.files <= st.files_peak && st.files_mapped <= st.files &&
               st.files <= NFILES, "manager %d: peaks or files inconsistent", mi);
        ASSERT((st.windows == 0) == (st.mapped == 0), "manager %d: %llu windows, %llu bytes",
               mi, (unsigned long long)st.windows, (unsigned long long)st.mapped);
        if (mgrs[mi].strict)
            ASSERT(!over_limits(mi, &st) && st.limit_exceeded == 0,
                   "strict manager %d over its limits: %llu bytes, %llu windows", mi,
                   (unsigned long long)st.mapped, (unsigned long long)st.windows);
        else if (over_limits(mi, &st))
            ASSERT(st.limit_exceeded > 0, "manager %d over its limits, none counted", mi);

        /* What the cursors visibly use: distinct windows, their bytes,
         * and how many cursors share each. */
        uintptr_t base[NCUR + NBUF];
        uint64_t len[NCUR + NBUF];
        int users[NCUR + NBUF], nwin = 0;
        bool has_file[NFILES] = {false};
        for (int i = 0; i < NCUR + NBUF; i++) {
            smmap_cursor *c;
            int f;
            if (i < NCUR) {
                if (!curs[i].c || curs[i].mi != mi)
                    continue;
                c = curs[i].c, f = curs[i].f;
            } else {
                const struct buf *bf = &bufs[i - NCUR];
                if (!bf->b || bf->mi != mi)
                    continue;
                c = smmap_buffer_cursor(bf->b), f = bf->f;
            }
            has_file[f] = true;
            check_cursor(c, mi, f, read_raw);
            if (!smmap_valid(c))
                continue;
            uintptr_t wbase = window_base(c);
            int j = 0;
            while (j < nwin && base[j] != wbase)
                j++;
            if (j == nwin) {
                base[j] = wbase;
                len[j] = smmap_window_end(c) - smmap_window_begin(c);
                users[j] = 0;
                nwin++;
            }
            users[j]++;
            ASSERT_GE(smmap_window_users(c), users[j], "users of a window vs cursors seen on it");
        }
        uint64_t bytes = 0;
        for (int j = 0; j < nwin; j++)
            bytes += len[j];
        ASSERT(st.windows >= (uint64_t)nwin && st.mapped >= bytes,
               "manager %d: %llu windows of %llu bytes, cursors use %d of %llu", mi,
               (unsigned long long)st.windows, (unsigned long long)st.mapped, nwin,
               (unsigned long long)bytes);
        int nf = 0;
        for (int f = 0; f < NFILES; f++)
            nf += has_file[f];
        ASSERT(st.files >= (uint64_t)nf, "manager %d: %llu files open, cursors on %d", mi,
               (unsigned long long)st.files, nf);
    }
}

/* ------------------------------------------------------------ choices */

static int pick_mgr(struct in *in)
{
    int mi = u8(in) % NMGR;
    return mgrs[mi].live ? mi : -1;
}

static int pick_cur(struct in *in, bool want_live)
{
    int i = u8(in) % NCUR;
    return (curs[i].c != NULL) == want_live ? i : -1;
}

static int pick_buf(struct in *in, bool want_live)
{
    int i = u8(in) % NBUF;
    return (bufs[i].b != NULL) == want_live ? i : -1;
}

/* An offset in or around file f: anywhere, near a page edge, near its end,
 * or absurdly large. */
static uint64_t pick_offset(struct in *in, int f)
{
    uint64_t size = files[f].size;
    uint8_t mode = u8(in);
    uint16_t r = u16(in);
    switch (mode % 8) {
    case 0: case 1: case 2:
        return r % (size + page);
    case 3: case 4:
        return (uint64_t)(r % (MAX_PAGES + 1)) * page + (int8_t)u8(in);
    case 5: case 6: {
        int64_t d = (int8_t)(r & 0xff);
        return d < 0 && (uint64_t)-d > size ? 0 : size + (uint64_t)d;
    }
    default:
        return (mode & 0x80) ? UINT64_MAX - r : (uint64_t)1 << (32 + r % 31);
    }
}

/* A size for a request at off: none, small, about half a window or a
 * window, up to a few windows, to a page or grid edge (give or take a few
 * bytes), or absurdly large. */
static size_t pick_size(struct in *in, int mi, uint64_t off)
{
    size_t w = mgrs[mi].eff.window_size ? mgrs[mi].eff.window_size : 8 * page;
    uint8_t mode = u8(in);
    uint16_t r = u16(in);
    switch (mode % 10) {
    case 8: case 9: {
        uint64_t step = mode & 0x40 ? page : w / 2;
        uint64_t edge = (off / step + 1 + (r >> 8) % 3) * step;
        int64_t d = (int8_t)(r & 0xff) % 4;
        return edge - off + (uint64_t)d;
    }
    case 0:
        return 0;
    case 1: case 2:
        return 1 + r % 64;
    case 3:
        return w / 2 - 8 + r % 16;
    case 4:
        return w - 8 + r % 16;
    case 5: case 6:
        return r % (4 * w + 1);
    default:
        return (mode & 0x80) ? SIZE_MAX - r : 1 + r % (size_t)max_file;
    }
}

/* ------------------------------------------------------------ operations */

static void op_manager_new(struct in *in, int mi)
{
    uint8_t b = u8(in);
    smmap_options o = {0};
    o.kind = b & 1 ? SMMAP_STATIC : SMMAP_SLIDING;
    o.flags = b & 2 ? SMMAP_STRICT_LIMITS : 0;
    uint8_t w = u8(in), mem = u8(in);
    o.window_size = w % 8 == 0 ? 0 : (w % 8) * page - (w & 0x80 ? w % 16 : 0);
    o.max_memory = (uint64_t)(mem % 24) * page + (mem & 0x80 ? mem % 16 : 0);
    o.max_handles = u8(in) % 7;
    bool bad = (o.max_memory && o.max_memory < 2 * page) ||
               (o.kind == SMMAP_SLIDING && o.window_size &&
                o.window_size > (o.max_memory ? o.max_memory : UINT64_MAX));
    smmap_manager *m = (smmap_manager *)1;
    int rc = smmap_manager_new(&m, &o);
    if (bad) {
        ASSERT(rc == SMMAP_EINVAL && m == NULL, "manager_new with bad options: %d", rc);
        /* Fall back to a valid tiny manager so that the run goes on. */
        o.window_size = 2 * page;
        o.max_memory = 8 * page;
        rc = smmap_manager_new(&m, &o);
    }
    ASSERT(rc == 0 && m, "manager_new: %d", rc);
    struct mgr *mg = &mgrs[mi];
    mg->m = m;
    mg->live = true;
    mg->kind = o.kind;
    mg->strict = o.flags & SMMAP_STRICT_LIMITS;
    smmap_manager_options(m, &mg->eff);
    const smmap_options *e = &mg->eff;
    ASSERT(e->kind == o.kind && e->flags == o.flags, "options: kind or flags changed");
    ASSERT(!o.max_memory || e->max_memory == o.max_memory, "max_memory changed");
    ASSERT(!o.max_handles || e->max_handles == o.max_handles, "max_handles changed");
    ASSERT(e->max_handles >= 1, "no handles");
    if (o.kind == SMMAP_STATIC) {
        ASSERT(e->window_size == 0, "static manager with a window size");
    } else {
        size_t ws = e->window_size;
        ASSERT(ws % page == 0 && ws >= 2 * page && ws <= e->max_memory,
               "window size %zu (asked %zu, cap %llu)", ws, o.window_size,
               (unsigned long long)e->max_memory);
        if (o.window_size)
            ASSERT(ws >= o.window_size || ws == e->max_memory / page * page,
                   "window size %zu below the %zu asked", ws, o.window_size);
        if (o.window_size > 2 * page)
            ASSERT(ws < o.window_size + page, "window size %zu rounded past %zu", ws,
                   o.window_size);
        else if (!o.window_size)
            ASSERT(ws < e->max_memory / 8 + page || ws == 2 * page,
                   "default window %zu above max_memory/8", ws);
    }
}

static void op_cursor_new(struct in *in)
{
    int mi = pick_mgr(in), i = pick_cur(in, false);
    uint8_t b = u8(in);
    int f = b % NFILES, how = (b >> 2) % 4;
    if (mi < 0 || i < 0)
        return;
    smmap_cursor *c = (smmap_cursor *)1;
    int rc;
    if (how == 3) {
        int fd = open(path[f][0], O_RDONLY | O_CLOEXEC);
        ASSERT(fd >= 0, "open: %s", strerror(errno));
        rc = smmap_cursor_new_fd(mgrs[mi].m, fd, &c);
        close(fd);
        ASSERT(rc != 0 || (smmap_cursor_fd(c) == fd && !smmap_cursor_path(c)), "fd cursor");
    } else {
        rc = smmap_cursor_new(mgrs[mi].m, path[f][how], &c);
        ASSERT(rc != 0 || !strcmp(smmap_cursor_path(c), path[f][how]), "path cursor");
    }
    ASSERT(rc == 0 && c, "cursor_new: %d", rc);
    ASSERT(!smmap_valid(c), "new cursor valid");
    ASSERT_EQ(smmap_file_size(c), files[f].size, "file size of a new cursor");
    seen[mi][f] = files[f].size;
    curs[i] = (struct cur){c, mi, f};
}

static void op_cursor_free(struct in *in)
{
    int i = pick_cur(in, true);
    if (i < 0)
        return;
    smmap_cursor_free(curs[i].c);
    curs[i].c = NULL;
}

static void op_cursor_dup(struct in *in)
{
    int s = pick_cur(in, true), d = pick_cur(in, false);
    if (s < 0 || d < 0)
        return;
    const smmap_cursor *c = curs[s].c;
    smmap_cursor *n = NULL;
    int rc = smmap_cursor_dup(c, &n);
    ASSERT(rc == 0 && n, "dup: %d", rc);
    ASSERT(smmap_valid(n) == smmap_valid(c), "dup: validity differs");
    if (smmap_valid(c))
        ASSERT(smmap_begin(n) == smmap_begin(c) && smmap_size(n) == smmap_size(c) &&
               window_base(n) == window_base(c), "dup: another span or window");
    curs[d] = (struct cur){n, curs[s].mi, curs[s].f};
}

static void op_use(struct in *in)
{
    int i = pick_cur(in, true);
    if (i < 0)
        return;
    struct cur *cu = &curs[i];
    int mi = cu->mi, f = cu->f;
    struct mgr *mg = &mgrs[mi];
    struct file *fl = &files[f];
    uint64_t off = pick_offset(in, f);
    size_t size = pick_size(in, mi, off);
    smmap_stats before, after;
    bool stats = mg->live;
    if (stats)
        stats_of(mi, &before);
    int rc = smmap_use(cu->c, off, size);
    bool overflow = size > UINT64_MAX - off;
    if (overflow) {
        ASSERT(rc == SMMAP_EINVAL && !smmap_valid(cu->c), "use(%llu, %zu) overflows: %d",
               (unsigned long long)off, size, rc);
        return;
    }
    if (rc == SMMAP_ELIMIT) {
        ASSERT(mg->strict, "ELIMIT from a soft manager");
        ASSERT(!smmap_valid(cu->c), "ELIMIT left the cursor valid");
        return;
    }
    if (stats) {
        stats_of(mi, &after);
        if (after.misses > before.misses || rc == SMMAP_EOF)
            seen[mi][f] = fl->size;
    }
    if (off >= fl->size && !fl->dirty) {
        ASSERT(rc == SMMAP_EOF && !smmap_valid(cu->c), "use(%llu) at/past end %llu: %d",
               (unsigned long long)off, (unsigned long long)fl->size, rc);
        return;
    }
    if (rc == SMMAP_EOF) {
        ASSERT(fl->dirty || off >= fl->size, "EOF inside the file");
        ASSERT(!smmap_valid(cu->c), "EOF left the cursor valid");
        return;
    }
    ASSERT(rc == 0, "use(%llu, %zu) of file %d (size %llu): %d %s", (unsigned long long)off,
           size, f, (unsigned long long)fl->size, rc, smmap_strerror(rc));
    ASSERT(smmap_valid(cu->c) && smmap_begin(cu->c) == off, "use: span begins at %llu, not %llu",
           (unsigned long long)smmap_begin(cu->c), (unsigned long long)off);
    size_t got = smmap_size(cu->c);
    if (size == 0)
        ASSERT(got == smmap_window_end(cu->c) - off, "use(size 0): %zu bytes, window to %llu",
               got, (unsigned long long)smmap_window_end(cu->c));
    else
        ASSERT(got <= size, "use: %zu bytes for %zu asked", got, size);
    if (!fl->dirty && size && off + size <= seen[mi][f] &&
        (mg->kind == SMMAP_STATIC || size <= mg->eff.window_size / 2))
        ASSERT(got == size, "use(%llu, %zu) of file %d (size %llu, seen %llu): only %zu bytes",
               (unsigned long long)off, size, f, (unsigned long long)fl->size,
               (unsigned long long)seen[mi][f], got);
    /* A soft manager goes over its limits only when every other window
     * is in use: none idle to evict when this one was mapped. */
    if (stats && after.mmap_calls > before.mmap_calls && !mg->strict &&
        over_limits(mi, &after)) {
        ASSERT(after.limit_exceeded > before.limit_exceeded, "over the limits, not counted");
        int n = smmap_make_room(mg->m, 0);
        ASSERT(n == 0, "over the limits with %d idle windows", n);
    }
}

static void op_unuse(struct in *in)
{
    int i = pick_cur(in, true);
    if (i < 0)
        return;
    smmap_unuse(curs[i].c);
    ASSERT(!smmap_valid(curs[i].c), "unuse left the cursor valid");
}

/* A copying read's result: n bytes of file f at off, or an error. */
static void check_read(int64_t n, int mi, int f, uint64_t off, size_t len, const char *what)
{
    const struct file *fl = &files[f];
    if (n == SMMAP_ELIMIT) {
        ASSERT(mgrs[mi].strict, "%s: ELIMIT from a soft manager", what);
        return;
    }
    if (n == SMMAP_ETRUNC) {
        ASSERT(fl->dirty, "%s: ETRUNC on clean file %d", what, f);
        return;
    }
    ASSERT(n >= 0, "%s(%llu, %zu) of file %d: %lld %s", what, (unsigned long long)off, len, f,
           (long long)n, smmap_strerror((int)n));
    ASSERT((uint64_t)n <= len, "%s: %lld bytes for %zu", what, (long long)n, len);
    uint64_t want = off < fl->size ? (fl->size - off < len ? fl->size - off : len) : 0;
    if (!fl->dirty)
        ASSERT((uint64_t)n == want, "%s(%llu, %zu) of file %d (size %llu): %lld bytes, want %llu",
               what, (unsigned long long)off, len, f, (unsigned long long)fl->size,
               (long long)n, (unsigned long long)want);
    check_bytes(scratch, f, off, (size_t)n, what);
}

static void op_read(struct in *in)
{
    int i = pick_cur(in, true);
    if (i < 0)
        return;
    struct cur *cu = &curs[i];
    uint64_t off = pick_offset(in, cu->f);
    size_t len = pick_size(in, cu->mi, off);
    if (len > scratch_len && len <= (size_t)INT64_MAX && len <= UINT64_MAX - off)
        len = scratch_len; /* keep within the destination */
    smmap_stats before, after;
    bool stats = mgrs[cu->mi].live;
    if (stats)
        stats_of(cu->mi, &before);
    int64_t n = smmap_read(cu->c, scratch, len, off);
    if ((uint64_t)len > (uint64_t)INT64_MAX || len > UINT64_MAX - off) {
        ASSERT(n == SMMAP_EINVAL, "read(%llu, %zu): %lld, want EINVAL",
               (unsigned long long)off, len, (long long)n);
        return;
    }
    check_read(n, cu->mi, cu->f, off, len, "read");
    if (stats) {
        stats_of(cu->mi, &after);
        if (after.misses > before.misses)
            seen[cu->mi][cu->f] = files[cu->f].size;
    }
}

static void op_buffer_new(struct in *in)
{
    int ci = pick_cur(in, true), bi = pick_buf(in, false);
    if (ci < 0 || bi < 0)
        return;
    const struct cur *cu = &curs[ci];
    struct file *fl = &files[cu->f];
    uint64_t off = pick_offset(in, cu->f) % (fl->size + 2);
    uint64_t size = u8(in) % 4 == 0 ? 0 : u16(in) % (fl->size + page);
    smmap_buffer *b = (smmap_buffer *)1;
    int rc = smmap_buffer_new(cu->c, off, size, &b);
    seen[cu->mi][cu->f] = fl->size;
    if (off > fl->size) {
        ASSERT(rc == SMMAP_EOF && b == NULL, "buffer at %llu past the end %llu: %d",
               (unsigned long long)off, (unsigned long long)fl->size, rc);
        return;
    }
    ASSERT(rc == 0 && b, "buffer_new(%llu, %llu): %d", (unsigned long long)off,
           (unsigned long long)size, rc);
    uint64_t avail = fl->size - off;
    uint64_t want = size == 0 || size > avail ? avail : size;
    ASSERT_EQ(smmap_buffer_size(b), want, "buffer size");
    bufs[bi] = (struct buf){b, cu->mi, cu->f, off, want};
}

static void op_buffer_free(struct in *in)
{
    int i = pick_buf(in, true);
    if (i < 0)
        return;
    smmap_buffer_free(bufs[i].b);
    bufs[i].b = NULL;
}

static void op_buffer_byte(struct in *in)
{
    int i = pick_buf(in, true);
    if (i < 0)
        return;
    const struct buf *bf = &bufs[i];
    const struct file *fl = &files[bf->f];
    int64_t size = (int64_t)bf->size;
    int64_t idx = (int64_t)(u16(in) % (2 * size + 5)) - size - 2;
    int v = smmap_buffer_byte(bf->b, idx);
    if (idx < -size || idx >= size) {
        ASSERT(v == SMMAP_EINVAL, "buffer byte %lld of %lld: %d", (long long)idx,
               (long long)size, v);
        return;
    }
    uint64_t pos = bf->off + (uint64_t)(idx < 0 ? size + idx : idx);
    if (v == SMMAP_ELIMIT) {
        ASSERT(mgrs[bf->mi].strict, "buffer byte: ELIMIT from a soft manager");
        return;
    }
    if (pos >= fl->size) {
        ASSERT(v == SMMAP_ETRUNC || (fl->dirty && v == 0),
               "buffer byte at %llu past the end %llu: %d", (unsigned long long)pos,
               (unsigned long long)fl->size, v);
        return;
    }
    if (v == SMMAP_ETRUNC) {
        ASSERT(fl->dirty, "buffer byte: ETRUNC on a clean file");
        return;
    }
    ASSERT(v == fl->data[pos], "buffer byte at %llu of file %d: %d, want %u",
           (unsigned long long)pos, bf->f, v, fl->data[pos]);
}

static void op_buffer_read(struct in *in)
{
    int i = pick_buf(in, true);
    if (i < 0)
        return;
    const struct buf *bf = &bufs[i];
    const struct file *fl = &files[bf->f];
    int64_t span = (int64_t)bf->size + 3;
    int64_t start = (int64_t)(u16(in) % (2 * span + 1)) - span;
    int64_t stop = (int64_t)(u16(in) % (2 * span + 1)) - span;
    if (u8(in) % 8 == 0)
        stop = u8(in) & 1 ? INT64_MAX : INT64_MIN;
    size_t cap = u8(in) % 4 == 0 ? u16(in) % 64 : scratch_len;
    int64_t n = smmap_buffer_read(bf->b, start, stop, scratch, cap);
    uint64_t lo = util_clip(start, bf->size), hi = util_clip(stop, bf->size);
    uint64_t want = hi > lo ? (hi - lo < cap ? hi - lo : cap) : 0;
    if (n == SMMAP_ELIMIT) {
        ASSERT(mgrs[bf->mi].strict, "buffer read: ELIMIT from a soft manager");
        return;
    }
    if (n == SMMAP_ETRUNC) {
        ASSERT(fl->dirty || bf->off + lo + want > fl->size,
               "buffer read [%llu, +%llu): ETRUNC inside clean file %d (size %llu)",
               (unsigned long long)(bf->off + lo), (unsigned long long)want, bf->f,
               (unsigned long long)fl->size);
        return;
    }
    ASSERT(n >= 0 && (uint64_t)n == want, "buffer read [%lld:%lld] cap %zu: %lld, want %llu",
           (long long)start, (long long)stop, cap, (long long)n, (unsigned long long)want);
    ASSERT(want == 0 || bf->off + lo + want <= fl->size || fl->dirty,
           "buffer read past the end of clean file %d", bf->f);
    check_bytes(scratch, bf->f, bf->off + lo, (size_t)n, "buffer read");
}

static void op_collect(struct in *in)
{
    int mi = pick_mgr(in);
    if (mi < 0)
        return;
    smmap_stats before, after;
    stats_of(mi, &before);
    int n = smmap_collect(mgrs[mi].m);
    stats_of(mi, &after);
    ASSERT(n >= 0 && (uint64_t)n == before.windows - after.windows,
           "collect: %d, windows %llu -> %llu", n, (unsigned long long)before.windows,
           (unsigned long long)after.windows);
    ASSERT(smmap_collect(mgrs[mi].m) == 0, "a second collect found idle windows");
}

static void op_make_room(struct in *in)
{
    int mi = pick_mgr(in);
    uint64_t bytes = (uint64_t)(u8(in) % 16) * page;
    if (mi < 0)
        return;
    smmap_stats before, after;
    stats_of(mi, &before);
    int n = smmap_make_room(mgrs[mi].m, bytes);
    stats_of(mi, &after);
    ASSERT(n >= 0 && (uint64_t)n == before.windows - after.windows &&
           after.evictions == before.evictions + (uint64_t)n, "make_room: %d", n);
    /* Now it fits, or no idle window is left: a second call evicts none. */
    n = smmap_make_room(mgrs[mi].m, bytes);
    ASSERT(n == 0, "make_room right after make_room evicted %d", n);
}

static void op_truncate(struct in *in)
{
    int f = u8(in) % NFILES;
    uint64_t size = files[f].size ? u16(in) % files[f].size : 0;
    truncate_to(f, size);
}

static void op_grow(struct in *in)
{
    int f = u8(in) % NFILES;
    uint64_t add = 1 + u16(in) % (3 * page);
    uint64_t to = files[f].size + add;
    if (to > max_file)
        to = max_file;
    write_range(f, files[f].size, to);
}

/* Overwrite bytes in place (the file keeps its size): mappings are shared,
 * so every window sees the new bytes at once. */
static void op_rewrite(struct in *in)
{
    int f = u8(in) % NFILES;
    if (!files[f].size)
        return;
    uint64_t from = u16(in) % files[f].size;
    uint64_t to = from + 1 + u16(in) % 512;
    write_range(f, from, to < files[f].size ? to : files[f].size);
}

/* Unuse everything on file f and collect every manager: no window from
 * before a truncation is left, so the file is clean again. */
static void op_resync(struct in *in)
{
    int f = u8(in) % NFILES;
    for (int i = 0; i < NCUR; i++)
        if (curs[i].c && curs[i].f == f)
            smmap_unuse(curs[i].c);
    for (int i = 0; i < NBUF; i++)
        if (bufs[i].b && bufs[i].f == f)
            smmap_unuse(smmap_buffer_cursor(bufs[i].b));
    /* A released manager cannot be reached: its idle windows of f stay
     * until its last cursor goes, so f stays dirty while it lives. */
    bool reachable = true;
    for (int mi = 0; mi < NMGR; mi++) {
        if (mgrs[mi].live) {
            smmap_collect(mgrs[mi].m);
            continue;
        }
        for (int i = 0; i < NCUR; i++)
            reachable &= !(curs[i].c && curs[i].mi == mi);
        for (int i = 0; i < NBUF; i++)
            reachable &= !(bufs[i].b && bufs[i].mi == mi);
    }
    if (reachable)
        files[f].dirty = false;
}

static void op_hint(struct in *in)
{
    int i = pick_cur(in, true);
    int h = u8(in) % 7 - 1;
    if (i < 0)
        return;
    int rc = smmap_cursor_hint(curs[i].c, h);
    ASSERT(rc == (h >= SMMAP_HINT_NORMAL && h <= SMMAP_HINT_POPULATE ? 0 : SMMAP_EINVAL),
           "hint %d: %d", h, rc);
}

static void op_stat(struct in *in)
{
    int i = pick_cur(in, true);
    if (i < 0)
        return;
    int64_t s = smmap_file_stat(curs[i].c);
    ASSERT(s == (int64_t)files[curs[i].f].size, "file_stat: %lld, want %llu", (long long)s,
           (unsigned long long)files[curs[i].f].size);
    ASSERT(smmap_file_size(curs[i].c) == s, "file_size after file_stat");
    seen[curs[i].mi][curs[i].f] = files[curs[i].f].size;
}

/* Release the harness's reference: the manager lives on through its
 * cursors, unreachable for new ones and for statistics. */
static void op_manager_free(struct in *in)
{
    int mi = pick_mgr(in);
    if (mi < 0)
        return;
    smmap_manager_free(mgrs[mi].m);
    mgrs[mi].live = false;
}

/* ------------------------------------------------------------ a run */

static void finish(void)
{
    for (int i = 0; i < NBUF; i++) {
        smmap_buffer_free(bufs[i].b);
        bufs[i].b = NULL;
    }
    for (int i = 0; i < NCUR; i++) {
        smmap_cursor_free(curs[i].c);
        curs[i].c = NULL;
    }
    for (int mi = 0; mi < NMGR; mi++) {
        struct mgr *mg = &mgrs[mi];
        if (mg->live) {
            smmap_collect(mg->m);
            smmap_stats st;
            stats_of(mi, &st);
            ASSERT(st.windows == 0 && st.mapped == 0 && st.files == 0 && st.files_mapped == 0 &&
                   st.mmap_calls == st.munmap_calls,
                   "manager %d after all freed: %llu windows, %llu bytes, %llu files, "
                   "mmap %llu munmap %llu", mi, (unsigned long long)st.windows,
                   (unsigned long long)st.mapped, (unsigned long long)st.files,
                   (unsigned long long)st.mmap_calls, (unsigned long long)st.munmap_calls);
            smmap_manager_free(mg->m);
        }
        *mg = (struct mgr){0};
    }
    int fd = dup(2);
    close(fd);
    ASSERT(fd == fd_mark, "a descriptor outlived the run (next free fd %d, was %d)", fd, fd_mark);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!page)
        init_once();
    fd_mark = dup(2);
    close(fd_mark);
    reset_files();
    struct in in = {data, size};
    for (int mi = 0; mi < NMGR; mi++)
        op_manager_new(&in, mi);
    check_all(true);
    static void (*const ops[])(struct in *) = {
        op_cursor_new, op_cursor_free, op_cursor_dup, op_use,        op_use,
        op_use,        op_unuse,       op_read,       op_read,       op_buffer_new,
        op_buffer_free, op_buffer_byte, op_buffer_read, op_collect,  op_make_room,
        op_truncate,   op_grow,        op_rewrite,    op_resync,     op_hint,
        op_stat,       op_manager_free,
    };
    static const char *const op_names[] = {
        "cursor_new", "cursor_free", "cursor_dup", "use", "use",
        "use", "unuse", "read", "read", "buffer_new",
        "buffer_free", "buffer_byte", "buffer_read", "collect", "make_room",
        "truncate", "grow", "rewrite", "resync", "hint",
        "stat", "manager_free",
    };
    const size_t nops = sizeof ops / sizeof ops[0];
    _Static_assert(sizeof ops / sizeof ops[0] == sizeof op_names / sizeof op_names[0],
                   "a name for every operation");
    for (int steps = 0; more(&in) && steps < 256; steps++) {
        size_t op = u8(&in) % nops;
        if (trace)
            fprintf(stderr, "op %d: %s\n", steps, op_names[op]);
        ops[op](&in);
        check_all(true);
    }
    finish();
    return 0;
}
