/*
 * test_inline.c - the hit path of smmap_get() and smmap_read() that the
 * header inlines over the cursor's public head (two smmap_views: the
 * current window and the newest spare). Built twice (tests/meson.build):
 * as is, where GCC and clang inline both calls, and with SMMAP_NO_INLINE
 * (the inline_calls suite), where the same tests call the library's
 * exported functions.
 *
 * What can go wrong on this path is a view the library forgot to update:
 * one left on a window the cursor gave back (unmapped, or mapped again for
 * another file at the same address) serves stale or foreign bytes, and a
 * `readable` not cut at a new end serves bytes past it. So every test
 * checks the bytes it gets against the offset-dependent pattern of
 * util.h, and the views themselves (public, part of the ABI) against what
 * the cursor's queries say.
 */
#include "util.h"

#include <smmap.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The build must be the one its name says: otherwise inline_calls would
 * test the inline bodies twice and the exported functions never. */
#if defined(SMMAP_NO_INLINE) && defined(SMMAP__INLINE)
#error "SMMAP_NO_INLINE is defined, yet smmap.h inlined the hit path"
#endif
#if !defined(SMMAP_NO_INLINE) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(SMMAP__INLINE)
#error "GCC or clang without SMMAP_NO_INLINE, yet smmap.h did not inline the hit path"
#endif

static const smmap_view *views(const smmap_cursor *c)
{
    return ((const smmap_cursor_head *)c)->view;
}

/* The views must show the cursor's own windows as its queries report
 * them, with readable cut at the size it last saw, and the file's bytes
 * behind them (only the first and last readable byte: a view left on a
 * window that is gone or mapped for another file fails both or faults). */
static void check_views(const smmap_cursor *c, uint32_t salt, const char *when)
{
    const smmap_view *v = views(c);
    if (smmap_valid(c)) {
        ASSERT_EQ(v[0].begin, smmap_window_begin(c), "%s", when);
        ASSERT_EQ(v[0].len, smmap_window_end(c) - smmap_window_begin(c), "%s", when);
        ASSERT(v[0].base + (smmap_begin(c) - v[0].begin) == smmap_data(c),
               "%s: view[0] is not the window of the span", when);
    } else {
        ASSERT_EQ(v[0].len, 0u, "%s: a cursor without a window shows one", when);
    }
    uint64_t size = (uint64_t)smmap_file_size(c);
    for (int i = 0; i < 2; i++) {
        if (v[i].len == 0) {
            ASSERT_NULL(v[i].base, "%s: view[%d]", when, i);
            ASSERT_EQ(v[i].readable, 0u, "%s: view[%d]", when, i);
            continue;
        }
        ASSERT_NOT_NULL(v[i].base, "%s: view[%d]", when, i);
        uint64_t want = size <= v[i].begin ? 0
                        : size - v[i].begin < v[i].len ? size - v[i].begin
                                                       : v[i].len;
        ASSERT_EQ(v[i].readable, want, "%s: view[%d] [%llu,+%llu), file size %llu", when, i,
                  (unsigned long long)v[i].begin, (unsigned long long)v[i].len,
                  (unsigned long long)size);
        if (v[i].readable) {
            uint64_t last = v[i].readable - 1;
            ASSERT_EQ(v[i].base[0], util_byte(salt, v[i].begin), "%s: view[%d]", when, i);
            ASSERT_EQ(v[i].base[last], util_byte(salt, v[i].begin + last), "%s: view[%d]",
                      when, i);
        }
    }
}

/* smmap_get(c, off, size) inside the file: the count is the rest of the
 * window that now holds off, and the pointer shows the file's bytes there
 * (the first few hundred and the last, which is enough to catch a wrong
 * base or window). Returns the count. */
static int64_t check_get(smmap_cursor *c, uint32_t salt, uint64_t off, size_t size)
{
    const unsigned char *p = NULL;
    int64_t n = smmap_get(c, off, size, &p);
    ASSERT_GT(n, 0, "get(%llu, %zu): %s", (unsigned long long)off, size,
              smmap_strerror((int)n));
    ASSERT_NOT_NULL(p);
    ASSERT_LE(smmap_window_begin(c), off);
    ASSERT_EQ((uint64_t)n, smmap_window_end(c) - off, "get(%llu, %zu)",
              (unsigned long long)off, size);
    size_t k = n < 300 ? (size_t)n : 300;
    ASSERT_EQ(util_mismatch(salt, off, p, k), -1, "get(%llu, %zu)", (unsigned long long)off,
              size);
    ASSERT_EQ(p[n - 1], util_byte(salt, off + (uint64_t)n - 1), "get(%llu, %zu)",
              (unsigned long long)off, size);
    return n;
}

/* smmap_read(c, off, len) of a file of `size` bytes: what pread(2) would
 * give, and nothing written past the count. buf holds len + 64 bytes. */
static void check_read(smmap_cursor *c, uint32_t salt, uint64_t size, uint64_t off,
                       size_t len, unsigned char *buf)
{
    memset(buf, 0xA5, len + 64);
    int64_t want = off >= size ? 0 : (int64_t)(len < size - off ? len : size - off);
    int64_t got = smmap_read(c, buf, len, off);
    ASSERT_EQ(got, want, "read(%llu, %zu): %s", (unsigned long long)off, len,
              got < 0 ? smmap_strerror((int)got) : "short or long");
    ASSERT_EQ(util_mismatch(salt, off, buf, (size_t)got), -1, "read(%llu, %zu)",
              (unsigned long long)off, len);
    for (size_t i = (size_t)got; i < len + 64; i++)
        ASSERT_EQ(buf[i], 0xA5, "read(%llu, %zu) wrote byte %zu past its count",
                  (unsigned long long)off, len, i);
}

/* ------------------------------------------------------------ smmap_get */

/* Hits inside the window: the pointer and count for every size, the span
 * left where the miss put it, no window moved, nothing counted; a request
 * the window does not hold moves it. */
TEST(inline, get_hits_and_misses)
{
    const uint64_t size = 1 * MiB + 123;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 1));

    /* A fresh cursor has no view: the first call is a miss. */
    ASSERT_EQ(views(c)[0].len, 0u);
    int64_t n = check_get(c, 1, 300 * KiB + 5, 0);
    const uint64_t wb = smmap_window_begin(c), we = smmap_window_end(c);
    ASSERT_EQ(smmap_begin(c), 300 * KiB + 5, "the miss made the span");
    ASSERT_EQ(smmap_size(c), (size_t)n, "size 0: all the window holds");
    check_views(c, 1, "after the first miss");
    ASSERT_EQ(util_stats(m).misses, 1u);

    /* Every offset class of the window, sizes from 0 to all it holds. */
    uint64_t rs = 1;
    long hits = util_ops(4000);
    for (long i = 0; i < hits; i++) {
        uint64_t off = i < 2 ? (i == 0 ? wb : we - 1) : wb + util_below(&rs, we - wb);
        uint64_t room = we - off;
        size_t want = i % 4 == 0 ? 0 : i % 4 == 1 ? (size_t)room : (size_t)util_below(&rs, room) + 1;
        const unsigned char *p = NULL;
        n = smmap_get(c, off, want, &p);
        ASSERT_EQ(n, (int64_t)room, "get(%llu, %zu) in [%llu,%llu)", (unsigned long long)off,
                  want, (unsigned long long)wb, (unsigned long long)we);
        ASSERT(p == views(c)[0].base + (off - wb), "get(%llu) pointer", (unsigned long long)off);
        size_t k = want && want < 64 ? want : 64;
        if (k > room)
            k = (size_t)room;
        ASSERT_EQ(util_mismatch(1, off, p, k), -1, "get(%llu)", (unsigned long long)off);
        ASSERT_EQ(p[n - 1], util_byte(1, we - 1));
    }
    ASSERT_EQ(smmap_window_begin(c), wb, "a hit moved the window");
    ASSERT_EQ(smmap_begin(c), 300 * KiB + 5, "a hit moved the span");
    ASSERT_EQ(smmap_size(c), (size_t)(we - 300 * KiB - 5));

    /* One byte more than the window holds is a miss: another window,
     * whole for a request of up to window_size/2. */
    n = check_get(c, 1, we - 100, 200);
    ASSERT_GE(n, 200);
    ASSERT_GT(smmap_window_begin(c), wb, "a request past the window's end moved no window");
    ASSERT_EQ(smmap_begin(c), we - 100);
    ASSERT_EQ(smmap_size(c), 200u);
    check_views(c, 1, "after a miss past the end");
    /* A miss far away, below the window. */
    check_get(c, 1, 10, 0);
    ASSERT_LE(smmap_window_begin(c), 10u);
    check_views(c, 1, "after a miss below");

    /* The window was left twice: whatever it served is counted by now. */
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.misses, 3u, "%llu misses", (unsigned long long)st.misses);
#ifndef SMMAP_NO_INLINE
    ASSERT_EQ(st.hits, 0u, "inline hits reached the statistics");
#endif
    /* The check above could fail: smmap_use() hits are counted. */
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(smmap_use(c, 20 + (uint64_t)i, 1), 0);
    smmap_unuse(c);
    ASSERT_EQ(util_stats(m).hits, st.hits + 3);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* At the end of the file the count is what the file holds, and a grown
 * file is found: requests past the old end are misses, not hits of a view
 * cut at it. */
TEST(inline, get_at_end_and_after_growth)
{
    const uint64_t size = 100 * KiB + 7;
    const char *path = util_make_file("f", size, 2);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, path);
    const unsigned char *p;

    ASSERT_EQ(check_get(c, 2, size - 10, 0), 10);
    ASSERT_EQ(smmap_window_end(c), size);
    ASSERT_EQ(check_get(c, 2, size - 1, 1), 1, "a hit at the last byte");
    /* Asked for more than there is: the window ends at the file's end. */
    ASSERT_EQ(check_get(c, 2, size - 10, 100), 10);
    p = (const unsigned char *)&p;
    ASSERT_EQ(smmap_get(c, size, 0, &p), SMMAP_EOF);
    ASSERT_NULL(p);
    check_views(c, 2, "after EOF");

    util_append(path, size, 50 * KiB, 2);
    const uint64_t grown = size + 50 * KiB;
    check_get(c, 2, size + 3, 0);
    ASSERT_GT(smmap_window_end(c), size, "the new end was not found");
    ASSERT_EQ(smmap_file_size(c), (int64_t)grown);
    check_views(c, 2, "after growth");
    /* A read across the old end goes past readable: served whole. */
    unsigned char buf[2000 + 64];
    check_read(c, 2, grown, size - 1000, 2000, buf);
    check_read(c, 2, grown, grown - 5, 2000, buf);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* smmap_get() fails with want, and clears a pointer left over from before. */
#define ASSERT_GET_FAILS(c, off, size, want, ...)                           \
    do {                                                                    \
        const unsigned char *p_ = (const unsigned char *)&p_;               \
        ASSERT_EQ(smmap_get((c), (off), (size), &p_), (want), __VA_ARGS__); \
        ASSERT_NULL(p_);                                                    \
    } while (0)

TEST(inline, get_errors)
{
    const uint64_t size = 100 * KiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 3));

    /* Each error clears a pointer left over from before. */
    ASSERT_GET_FAILS(NULL, 0, 1, SMMAP_EINVAL, "NULL cursor");
    ASSERT_EQ(smmap_get(NULL, 0, 1, NULL), SMMAP_EINVAL);

    ASSERT_GET_FAILS(c, size, 0, SMMAP_EOF, "get at the end of the file");
    ASSERT_GET_FAILS(c, size + 12345, 1, SMMAP_EOF, "get past the end of the file");
    ASSERT_EQ(smmap_get(c, 100 * GiB, 0, NULL), SMMAP_EOF);

    /* From a cursor with a window: the error leaves it without one, and
     * without a view (the next hit would otherwise use a window given
     * back). */
    check_get(c, 3, 70 * KiB, 0);
    ASSERT_GET_FAILS(c, size, 0, SMMAP_EOF, "get at the end of the file");
    ASSERT(!smmap_valid(c));
    check_views(c, 3, "after EOF");
    check_get(c, 3, 70 * KiB, 0);
    ASSERT_GET_FAILS(c, UINT64_MAX - 5, 100, SMMAP_EINVAL, "offset + size overflows");
    ASSERT(!smmap_valid(c));
    check_views(c, 3, "after EINVAL");

    /* No data pointer: the count alone, as a miss and as a hit. */
    int64_t n = smmap_get(c, 1000, 10, NULL);
    ASSERT_GT(n, 0, "%s", smmap_strerror((int)n));
    ASSERT_EQ((uint64_t)n, smmap_window_end(c) - 1000);
    ASSERT_EQ(smmap_get(c, 1001, 0, NULL), n - 1);
    ASSERT_EQ(check_get(c, 3, 1002, 5), n - 2, "the window stays usable");
    check_views(c, 3, "after a NULL data pointer");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* ------------------------------------------------------ no stale views */

/* Windows given back and unmapped (smmap_unuse, smmap_collect) are no
 * longer shown: the next calls miss and map them again. Windows of
 * another file are mapped in between, so that a stale view would likely
 * point at their bytes rather than at nothing. */
TEST(inline, no_stale_views_after_collect)
{
    const uint64_t size = 1 * MiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 4));
    smmap_cursor *other = util_cursor(m, util_make_file("g", size, 5));
    unsigned char buf[1000 + 64];

    for (int round = 0; round < 4; round++) {
        /* A window and a spare: both views show something. */
        check_get(c, 4, 300 * KiB + 5, 0);
        check_read(c, 4, size, 700 * KiB + 3, 1000, buf);
        ASSERT_NE(views(c)[1].len, 0u, "round %d: the read kept no spare", round);
        check_views(c, 4, "window and spare");

        /* Windows in use (the spare too) survive a collect. */
        ASSERT_EQ(smmap_collect(m), 0, "round %d: a window in use was unmapped", round);
        check_read(c, 4, size, 300 * KiB + 5, 1000, buf);
        check_read(c, 4, size, 700 * KiB + 3, 1000, buf);
        check_views(c, 4, "after a collect");

        smmap_unuse(c);
        check_views(c, 4, "after unuse");
        ASSERT_EQ(views(c)[1].len, 0u, "unuse left a spare shown");
        ASSERT_GE(smmap_collect(m), 2, "round %d: the idle windows stayed", round);
        /* Map the other file's windows where c's were, likely. */
        util_read_windows(other, 5, size);
        smmap_unuse(other);

        if (round % 2) {
            check_read(c, 4, size, 300 * KiB + 5, 1000, buf);
            check_get(c, 4, 700 * KiB + 3, 100);
        } else {
            check_get(c, 4, 300 * KiB + 5, 100);
            check_read(c, 4, size, 700 * KiB + 3, 1000, buf);
        }
        check_views(c, 4, "after the windows came back");
        smmap_unuse(c);
        smmap_collect(m);
    }
    smmap_cursor_free(other);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* Under a small max_memory, misses evict idle windows (another cursor's,
 * or this cursor's own old ones) and the spares are given up as the
 * manager fills: every view must follow. Two files, so that an evicted
 * window's address is reused for other bytes. */
TEST(inline, no_stale_views_under_eviction)
{
    const uint64_t size = 1 * MiB + 999;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 256 * KiB);
    smmap_cursor *c[2] = {util_cursor(m, util_make_file("f", size, 6)),
                          util_cursor(m, util_make_file("g", size, 7))};
    unsigned char *buf = malloc(5000 + 64);
    ASSERT_NOT_NULL(buf);
    uint64_t rs = 6;
    /* However short util_ops() makes the loop, it runs on until misses
     * have evicted windows: that is what it is for. */
    long ops = util_ops(6000);
    for (long i = 0; i < ops || (util_stats(m).evictions < 5 && i < 100000); i++) {
        int k = (int)util_below(&rs, 2);
        uint32_t salt = (uint32_t)(6 + k);
        /* Anywhere (mostly misses); each read is followed by reads
         * inside the views it left (the inline hits). */
        uint64_t off = util_below(&rs, size + 100);
        size_t len = (size_t)util_below(&rs, 5000);
        switch (util_below(&rs, 8)) {
        case 0:
            smmap_unuse(c[k]);
            break;
        case 1:
        case 2:
            if (off < size)
                check_get(c[k], salt, off, len % 2000);
            break;
        default:
            check_read(c[k], salt, size, off, len, buf);
            if (views(c[k])[1].len) {
                off = views(c[k])[1].begin + util_below(&rs, views(c[k])[1].len);
                check_read(c[k], salt, size, off, len % 300, buf);
            }
            if (smmap_valid(c[k])) {
                off = smmap_window_begin(c[k]) + util_below(&rs, views(c[k])[0].len);
                check_read(c[k], salt, size, off, len % 300, buf);
            }
            break;
        }
        check_views(c[0], 6, "cursor 0");
        check_views(c[1], 7, "cursor 1");
    }
    smmap_stats st = util_stats(m);
    ASSERT_GT(st.evictions, 0u, "the test evicted nothing: it checked nothing it means to");
    free(buf);
    smmap_cursor_free(c[0]);
    smmap_cursor_free(c[1]);
    smmap_manager_free(m);
}

/* Cursors of several threads on one manager with little room: each
 * thread's misses evict windows the others gave back, never one a view
 * shows. The bytes each thread gets are checked in the thread. */
struct reader {
    smmap_cursor *c;
    uint64_t size, seed;
    long ops, bad;
};

static void *read_around(void *arg)
{
    struct reader *r = arg;
    unsigned char buf[600];
    for (long i = 0; i < r->ops; i++) {
        uint64_t off = util_below(&r->seed, r->size);
        size_t len = (size_t)util_below(&r->seed, sizeof buf) + 1;
        int op = (int)util_below(&r->seed, 4);
        if (op == 0) {
            const unsigned char *p;
            int64_t n = smmap_get(r->c, off, len, &p);
            if (n <= 0 || util_mismatch(8, off, p, (size_t)n < len ? (size_t)n : len) != -1)
                r->bad++;
        } else if (op == 3 && i % 16 == 0) {
            smmap_unuse(r->c);
        } else {
            int64_t want = (int64_t)(len < r->size - off ? len : r->size - off);
            if (smmap_read(r->c, buf, len, off) != want ||
                util_mismatch(8, off, buf, (size_t)want) != -1)
                r->bad++;
        }
    }
    return NULL;
}

TEST(inline, no_stale_views_across_threads, .timeout = 120)
{
    enum { THREADS = 4 };
    const uint64_t size = 2 * MiB + 5;
    const char *path = util_make_file("f", size, 8);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 512 * KiB);
    struct reader r[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct reader){.c = util_cursor(m, path), .size = size,
                               .seed = 100 + (uint64_t)i,
                               .ops = util_ops(20000) < 500 ? 500 : util_ops(20000)};
        ASSERT_EQ(pthread_create(&t[i], NULL, read_around, &r[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        EXPECT_EQ(r[i].bad, 0, "thread %d got wrong bytes or counts", i);
        check_views(r[i].c, 8, "after the threads");
        smmap_cursor_free(r[i].c);
    }
    ASSERT_GT(util_stats(m).evictions, 0u);
    smmap_manager_free(m);
}

/* ----------------------------------------------------------- smmap_read */

/* Reads that alternate between two windows are served by the views alone
 * (view[0] and view[1]): no miss, no counted hit, the window of the last
 * miss kept. An older spare is promoted by the library. */
TEST(inline, read_from_the_newest_spare)
{
    const uint64_t size = 1 * MiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 9));
    unsigned char buf[256 + 64];
    const uint64_t a = 100 * KiB, b = 500 * KiB, far = 900 * KiB;

    check_read(c, 9, size, a, 100, buf);
    check_read(c, 9, size, b, 100, buf);
    const uint64_t wb = smmap_window_begin(c);
    ASSERT_NE(views(c)[1].len, 0u, "no spare kept");
    ASSERT_LE(views(c)[1].begin, a);
    check_views(c, 9, "two windows");
    for (int i = 0; i < 200; i++) {
        uint64_t base = i % 2 ? a : b;
        check_read(c, 9, size, base + (uint64_t)(i * 37 % 1000), 1 + (size_t)i, buf);
    }
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.misses, 2u, "alternating reads mapped windows again");
    ASSERT_EQ(smmap_window_begin(c), wb, "a read from the spare moved the window");
    smmap_unuse(c);
#ifndef SMMAP_NO_INLINE
    ASSERT_EQ(util_stats(m).hits, 0u, "inline reads reached the statistics");
#endif

    /* Three windows: the oldest spare is not a view; reading it makes it
     * the window, and the one left becomes view[1]. */
    check_read(c, 9, size, a, 100, buf);
    check_read(c, 9, size, b, 100, buf);
    check_read(c, 9, size, far, 100, buf);
    const uint64_t far_begin = smmap_window_begin(c);
    ASSERT_GT(views(c)[1].begin, a, "view[1] is not the newest spare");
    check_read(c, 9, size, a + 50, 100, buf);
    ASSERT_LE(smmap_window_begin(c), a + 50, "the old spare was not promoted");
    ASSERT_EQ(views(c)[1].begin, far_begin, "the window left is not view[1]");
    check_views(c, 9, "after a promotion");
    check_read(c, 9, size, far + 10, 100, buf);
    check_read(c, 9, size, b + 10, 100, buf);
    ASSERT_EQ(util_stats(m).misses, 3u, "cached windows or spares were mapped again");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A read served inline from the spare records no end; the read that
 * continues it past that window must still map the next window when the
 * manager is full, not fall back to pread (which serves only reads that
 * start outside every window the cursor holds). */
TEST(inline, continuing_a_spare_read_maps)
{
    const uint64_t size = 1 * MiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_handles = 8);
    const char *path = util_make_file("f", size, 14);
    smmap_cursor *c = util_cursor(m, path), *other = util_cursor(m, path);
    unsigned char *buf = malloc(100000);
    ASSERT(buf != NULL);
    check_read(c, 14, size, 100, 100, buf);
    check_read(c, 14, size, 500 * KiB, 100, buf);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(smmap_use(other, 560 * KiB + (uint64_t)i * 56 * KiB, 0), 0);
    check_read(c, 14, size, 200, 100, buf); /* inline, from view[1] */
    smmap_stats before = util_stats(m);
    ASSERT_EQ(smmap_read(c, buf, 100000, 300), 100000);
    ASSERT_EQ(util_mismatch(14, 300, buf, 100000), -1);
    smmap_stats after = util_stats(m);
    ASSERT_EQ(after.preads, before.preads, "a continuing read went to pread");
    ASSERT_GT(after.misses, before.misses, "the continuing read mapped no window");
    free(buf);
    smmap_cursor_free(other);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* Random reads over a few windows, some across window edges and the end
 * of the file, interleaved with smmap_use() (which gives the spares up
 * when it changes window) and smmap_get(). */
TEST(inline, random_reads_with_uses)
{
    const uint64_t size = 300 * KiB + 77;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 10));
    unsigned char *buf = malloc(70 * KiB + 64);
    ASSERT_NOT_NULL(buf);
    uint64_t rs = 10;
    long ops = util_ops(20000);
    for (long i = 0; i < ops; i++) {
        uint64_t off = util_below(&rs, size + 200);
        size_t len = i % 50 == 0 ? (size_t)util_below(&rs, 70 * KiB) : (size_t)util_below(&rs, 600);
        int op = (int)util_below(&rs, 16);
        if (op == 0 && off < size) {
            uint64_t before = smmap_window_begin(c);
            int had = smmap_valid(c);
            ASSERT_EQ(smmap_use(c, off, 1), 0);
            if (!had || smmap_window_begin(c) != before)
                ASSERT_EQ(views(c)[1].len, 0u, "use changed window and kept a spare");
            ASSERT_EQ(smmap_data(c)[0], util_byte(10, off));
        } else if (op == 1 && off < size) {
            check_get(c, 10, off, len % 1000);
        } else {
            check_read(c, 10, size, off, len, buf);
        }
        check_views(c, 10, "random");
    }
    /* The counts at the end. */
    check_read(c, 10, size, size - 10, 100, buf);
    check_read(c, 10, size, size - 1, 1, buf);
    check_read(c, 10, size, size, 1, buf);
    check_read(c, 10, size, size + 5, 100, buf);
    check_read(c, 10, size, 0, 0, buf);
    ASSERT_EQ(smmap_read(c, NULL, 0, 5), 0);
    ASSERT_EQ(smmap_read(c, NULL, 5, 5), SMMAP_EINVAL);
    ASSERT_EQ(smmap_read(NULL, buf, 5, 5), SMMAP_EINVAL);
    ASSERT_EQ(smmap_read(c, buf, 10, UINT64_MAX - 5), SMMAP_EINVAL);
    free(buf);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* ----------------------------------------------------------- truncation */

/* A file cut shorter, the cut seen by smmap_file_stat(): reads in the old
 * range of the views stop at the new end (short count, or 0), the bytes
 * before it still right. The page that holds the new end still shows
 * something past it (zeros on Linux): a read that used a view's old
 * readable would copy those, or fault on the pages after. */
TEST(inline, truncation_seen_by_stat)
{
    const uint64_t size = 256 * KiB;
    const char *path = util_make_file("f", size, 11);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, path);
    unsigned char buf[1000 + 64];
    /* Windows and spares over the whole file, the current one holding
     * the new end. */
    check_read(c, 11, size, 200 * KiB, 1000, buf);
    check_read(c, 11, size, 10 * KiB, 1000, buf);
    check_read(c, 11, size, 100 * KiB, 1000, buf);
    ASSERT_NE(views(c)[1].len, 0u);
    const uint64_t cut = 100 * KiB + 37;
    ASSERT_LE(views(c)[0].begin, cut);
    ASSERT_GT(views(c)[0].begin + views(c)[0].len, cut + 1000);

    ASSERT_EQ(util_truncate(path, cut), 0);
    ASSERT_EQ(smmap_file_stat(c), (int64_t)cut);
    check_views(c, 11, "after the stat");
    ASSERT_EQ(views(c)[0].readable, cut - views(c)[0].begin);

    check_read(c, 11, cut, cut - 50, 200, buf);
    check_read(c, 11, cut, cut - 1, 1, buf);
    check_read(c, 11, cut, cut, 100, buf);
    check_read(c, 11, cut, cut + 1000, 100, buf);
    check_read(c, 11, cut, 200 * KiB, 100, buf);
    check_read(c, 11, cut, 10 * KiB, 1000, buf);
    /* Every offset around and past the new end, inside the old windows. */
    uint64_t rs = 11;
    long ops = util_ops(3000);
    for (long i = 0; i < ops; i++) {
        uint64_t off = i % 2 ? cut - 300 + util_below(&rs, 600)
                             : util_below(&rs, size);
        check_read(c, 11, cut, off, (size_t)util_below(&rs, 1000), buf);
        check_views(c, 11, "reads after the cut");
    }
    /* smmap_get past the new end: the end of the file; a new window ends
     * at the new end. */
    smmap_unuse(c);
    const unsigned char *p = (const unsigned char *)&p;
    ASSERT_EQ(smmap_get(c, cut, 0, &p), SMMAP_EOF);
    ASSERT_NULL(p);
    ASSERT_EQ(check_get(c, 11, cut - 10, 0), 10, "a window past the new end");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* Without the stat: an inline read from the spare (view[1]) touches a
 * page the cut took away, which is SMMAP_ETRUNC, not a crash; the size is
 * then known, and the reads from both views stop at the new end. */
TEST(inline, truncation_found_by_a_spare_read)
{
    util_require_exact_sigbus();
    const uint64_t size = 256 * KiB;
    const uint64_t cut = util_page() + 37;
    const char *path = util_make_file("f", size, 12);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, path);
    unsigned char buf[100 + 64];
    check_read(c, 12, size, 10, 100, buf);
    check_read(c, 12, size, 200 * KiB, 100, buf);
    ASSERT_EQ(views(c)[1].begin, 0u, "the first window is the spare");
    ASSERT_GT(views(c)[1].len, 20 * KiB + 100);

    ASSERT_EQ(util_truncate(path, cut), 0);
    int64_t r = smmap_read(c, buf, 100, 20 * KiB);
    ASSERT_EQ(r, SMMAP_ETRUNC, "read of a lost page gave %lld (%s)", (long long)r,
              smmap_strerror((int)r));
    ASSERT_EQ(smmap_file_size(c), (int64_t)cut, "the fault did not read the size");
    check_views(c, 12, "after the fault");
    check_read(c, 12, cut, 20 * KiB, 100, buf);
    check_read(c, 12, cut, 200 * KiB, 100, buf);
    check_read(c, 12, cut, cut - 30, 100, buf);
    check_read(c, 12, cut, 0, 100, buf);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* ------------------------------------------------------------------ dup */

/* A duplicate starts on the original's window, without its spares, and
 * reads on its own; freeing the original first leaves it working. */
TEST(inline, dup_outlives_the_original)
{
    const uint64_t size = 1 * MiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 13)), *d;
    unsigned char buf[3000 + 64];

    /* A duplicate of a cursor without a window. */
    ASSERT_EQ(smmap_cursor_dup(c, &d), 0);
    check_views(d, 13, "dup of an empty cursor");
    check_get(d, 13, 5, 0);
    check_read(d, 13, size, 800 * KiB, 3000, buf);
    smmap_cursor_free(d);

    check_get(c, 13, 500 * KiB, 0);
    check_read(c, 13, size, 100 * KiB, 1000, buf);
    ASSERT_NE(views(c)[1].len, 0u);
    ASSERT_EQ(smmap_cursor_dup(c, &d), 0);
    ASSERT_EQ(views(d)[0].begin, views(c)[0].begin);
    ASSERT(views(d)[0].base == views(c)[0].base, "the dup is not on the same window");
    ASSERT_EQ(views(d)[1].len, 0u, "the dup shows a spare it does not hold");
    check_views(d, 13, "the dup");
    ASSERT_EQ(smmap_window_users(d), 2);
    check_get(d, 13, 100 * KiB + 1, 0);
    check_read(d, 13, size, 100 * KiB + 2, 3000, buf);

    smmap_cursor_free(c);
    /* The original's spare is idle now: unmap it, and map another file
     * in its place, likely at its address. */
    ASSERT_GE(smmap_collect(m), 1);
    smmap_cursor *other = util_cursor(m, util_make_file("g", 256 * KiB, 14));
    util_read_windows(other, 14, 256 * KiB);
    ASSERT_EQ(smmap_window_users(d), 1);
    check_views(d, 13, "the dup after the original was freed");
    check_get(d, 13, 100 * KiB + 3, 10);
    check_read(d, 13, size, 100 * KiB + 4, 1000, buf);
    check_get(d, 13, 500 * KiB + 5, 10);
    check_read(d, 13, size, 700 * KiB, 3000, buf);
    check_read(d, 13, size, 100 * KiB, 3000, buf);
    check_read(d, 13, size, size - 100, 3000, buf);
    check_views(d, 13, "the dup at the end");
    smmap_cursor_free(other);
    smmap_cursor_free(d);
    smmap_collect(m);
    ASSERT_EQ(util_stats(m).windows, 0u, "a window outlived every cursor");
    smmap_manager_free(m);
}

/* ------------------------------------------------------- other managers */

/* A static manager maps the whole file as one window: every request after
 * the first is a hit of view[0], whose count runs to the end of the file. */
TEST(inline, static_manager)
{
    const uint64_t size = 1 * MiB + 3;
    smmap_manager *m = UTIL_MANAGER(.kind = SMMAP_STATIC);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 15));
    unsigned char buf[4000 + 64];
    ASSERT_EQ(check_get(c, 15, 12345, 0), (int64_t)(size - 12345));
    ASSERT_EQ(smmap_window_begin(c), 0u);
    ASSERT_EQ(smmap_window_end(c), size);
    check_views(c, 15, "static");
    uint64_t rs = 15;
    long ops = util_ops(2000);
    for (long i = 0; i < ops; i++) {
        uint64_t off = util_below(&rs, size + 10);
        if (i % 2 && off < size)
            ASSERT_EQ(check_get(c, 15, off, (size_t)util_below(&rs, 100)), (int64_t)(size - off));
        else
            check_read(c, 15, size, off, (size_t)util_below(&rs, 4000), buf);
    }
    ASSERT_EQ(util_stats(m).misses, 1u, "the one window was mapped again");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* An empty file has no window: nothing to show, every call misses and
 * finds the end. */
TEST(inline, empty_file)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 0, 16));
    unsigned char buf[16 + 64];
    const unsigned char *p = (const unsigned char *)&p;
    ASSERT_EQ(smmap_get(c, 0, 0, &p), SMMAP_EOF);
    ASSERT_NULL(p);
    check_read(c, 16, 0, 0, 16, buf);
    check_read(c, 16, 0, 5, 16, buf);
    check_views(c, 16, "empty file");
    ASSERT_EQ(views(c)[0].len, 0u);
    ASSERT_EQ(views(c)[1].len, 0u);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
