/*
 * test_stress.c - 4 threads, each with its own cursors, hammer one manager
 * with tiny limits (64 KiB windows, 256 KiB cap, 3 handles) by random
 * uses, copying reads, buffer bytes and slices, dups and unuses; every byte
 * they get is checked against the file's content.
 *
 * CI runs it in every build, ThreadSanitizer's included. SMMAP_STRESS_OPS
 * sets the operations per thread (default 200000, fewer where util_ops()
 * says the run is slow: valgrind, emulators, sanitizers). The work done
 * goes to stderr in one line, "stress: ...".
 */
#include "util.h"

#include <smmap.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, FILES = 2 };
#define WINDOW (64 * KiB)
#define HALF (WINDOW / 2)

static const uint64_t file_size[FILES] = {4 * MiB + 333, 3 * MiB + 1};
static unsigned char *image[FILES];
static const char *path[FILES];
static smmap_manager *mgr;
static long ops_per_thread;

struct worker {
    pthread_t t;
    int id;
    long ops[6];      /* use, read, byte, slice, dup, unuse */
    uint64_t bytes;   /* bytes checked */
    bool failed;
};

/* Notes the result of a check (an EXPECT_*, reported at once) in a worker:
 * a failure ends its loop after this operation, since what follows a wrong
 * result says nothing new, while the other threads and the main thread's
 * checks of the statistics go on. Returns ok. */
static bool held(struct worker *w, bool ok)
{
    w->failed |= !ok;
    return ok;
}

/* use(off, len) on c and check the span against file f. */
static void check_use(struct worker *w, smmap_cursor *c, int f, uint64_t off, size_t len)
{
    int rc = smmap_use(c, off, len);
    if (!held(w, EXPECT_EQ(rc, 0, "use(%llu, %zu): %s", (unsigned long long)off, len,
                           smmap_strerror(rc))))
        return;
    size_t want = len < file_size[f] - off ? len : (size_t)(file_size[f] - off);
    size_t got = smmap_size(c);
    if (held(w, EXPECT(smmap_begin(c) == off && got >= want && got <= file_size[f] - off,
                       "use(%llu, %zu) gave [%llu, +%zu)", (unsigned long long)off, len,
                       (unsigned long long)smmap_begin(c), got)))
        held(w, EXPECT(memcmp(smmap_data(c), image[f] + off, got) == 0,
                       "use(%llu, %zu): wrong bytes", (unsigned long long)off, len));
    w->bytes += got;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t rs = 0x5eed0000u + (uint64_t)w->id;
    unsigned char *buf = malloc(256 * KiB);
    ASSERT_NOT_NULL(buf);
    smmap_cursor *c[FILES];
    smmap_buffer *b[FILES];
    uint64_t boff[FILES];
    for (int f = 0; f < FILES; f++) {
        c[f] = util_cursor(mgr, path[f]);
        boff[f] = util_below(&rs, file_size[f] / 2);
        int rc = smmap_buffer_new(c[f], boff[f], 0, &b[f]);
        ASSERT_EQ(rc, 0, "buffer on %s: %s", path[f], smmap_strerror(rc));
    }
    for (long i = 0; i < ops_per_thread && !w->failed; i++) {
        int f = (int)util_below(&rs, FILES);
        uint64_t size = file_size[f], off = util_below(&rs, size);
        unsigned op = (unsigned)util_below(&rs, 100);
        if (op < 35) { /* use: mostly small, sometimes up to half a window */
            size_t len = 1 + util_below(&rs, op < 5 ? HALF : 512);
            check_use(w, c[f], f, off, len);
            w->ops[0]++;
        } else if (op < 65) { /* copying read, now and then across windows */
            size_t len = op < 38 ? util_below(&rs, 200 * KiB) : util_below(&rs, 1024);
            int64_t n = smmap_read(c[f], buf, len, off);
            int64_t want = (int64_t)(len < size - off ? len : size - off);
            if (held(w, EXPECT_EQ(n, want, "read(%llu, %zu): %s", (unsigned long long)off, len,
                                  n < 0 ? smmap_strerror((int)n) : "wrong length")))
                held(w, EXPECT(memcmp(buf, image[f] + off, (size_t)n) == 0,
                               "read(%llu, %zu): wrong bytes", (unsigned long long)off, len));
            w->bytes += (uint64_t)(n > 0 ? n : 0);
            w->ops[1]++;
        } else if (op < 85) { /* buffer byte, negative indexes too */
            uint64_t bsize = smmap_buffer_size(b[f]);
            int64_t idx = (int64_t)util_below(&rs, bsize);
            if (op & 1)
                idx -= (int64_t)bsize;
            uint64_t at = boff[f] + (uint64_t)(idx < 0 ? idx + (int64_t)bsize : idx);
            int v = smmap_buffer_byte(b[f], idx);
            held(w, EXPECT_EQ(v, image[f][at], "buffer byte %lld (file offset %llu): %s",
                              (long long)idx, (unsigned long long)at,
                              v < 0 ? smmap_strerror(v) : "wrong byte"));
            w->bytes++;
            w->ops[2]++;
        } else if (op < 90) { /* buffer slice, negative bounds too */
            uint64_t bsize = smmap_buffer_size(b[f]);
            int64_t start = (int64_t)util_below(&rs, bsize);
            int64_t stop = start + (int64_t)util_below(&rs, 4096);
            if (op & 1) {
                start -= (int64_t)bsize;
                stop -= (int64_t)bsize;
            }
            int64_t n = smmap_buffer_read(b[f], start, stop, buf, 256 * KiB);
            uint64_t lo = util_clip(start, bsize), hi = util_clip(stop, bsize);
            int64_t want = hi > lo ? (int64_t)(hi - lo) : 0;
            if (held(w, EXPECT_EQ(n, want, "buffer slice [%lld, %lld): %s", (long long)start,
                                  (long long)stop,
                                  n < 0 ? smmap_strerror((int)n) : "wrong length")))
                held(w, EXPECT(memcmp(buf, image[f] + boff[f] + lo, (size_t)n) == 0,
                               "buffer slice [%lld, %lld): wrong bytes", (long long)start,
                               (long long)stop));
            w->bytes += (uint64_t)(n > 0 ? n : 0);
            w->ops[3]++;
        } else if (op < 95) { /* a dup shares the window, then moves on its own */
            smmap_cursor *d;
            int rc = smmap_cursor_dup(c[f], &d);
            if (!held(w, EXPECT_EQ(rc, 0, "dup: %s", smmap_strerror(rc))))
                break;
            if (smmap_valid(c[f]))
                held(w, EXPECT(smmap_data(d) == smmap_data(c[f]) && smmap_window_users(d) >= 2,
                               "dup does not share the cursor's window"));
            check_use(w, d, f, off, 1 + util_below(&rs, 256));
            smmap_cursor_free(d);
            w->ops[4]++;
        } else {
            smmap_unuse(c[f]);
            held(w, EXPECT(!smmap_valid(c[f]), "valid after unuse"));
            w->ops[5]++;
        }
    }
    for (int f = 0; f < FILES; f++) {
        smmap_buffer_free(b[f]);
        smmap_cursor_free(c[f]);
    }
    free(buf);
    return NULL;
}

/* SMMAP_STRESS_OPS as it says, or 200000 cut down on a slow machine. */
static long stress_ops(void)
{
    const char *s = getenv("SMMAP_STRESS_OPS");
    if (!s || !*s)
        return util_ops(200000);
    char *end;
    long n = strtol(s, &end, 10);
    ASSERT(*end == 0 && n > 0, "SMMAP_STRESS_OPS=%s is not a positive number", s);
    return n;
}

/* The default run takes some 2 minutes where mmap is slow; more operations
 * or TSan (5 times slower) may want SMMAP_TEST_TIMEOUT_SCALE. */
TEST(stress, four_threads_tiny_limits, .timeout = 900)
{
    ops_per_thread = stress_ops();
    for (int f = 0; f < FILES; f++) {
        char name[8];
        snprintf(name, sizeof name, "f%d", f);
        path[f] = util_make_file(name, file_size[f], 71 + (uint32_t)f);
        image[f] = util_image(71 + (uint32_t)f, file_size[f]);
    }
    mgr = UTIL_MANAGER(.window_size = WINDOW, .max_memory = 256 * KiB, .max_handles = 3);

    struct worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        ASSERT_EQ(pthread_create(&w[i].t, NULL, run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i].t, NULL);

    long total = 0, kinds[6] = {0};
    uint64_t bytes = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < 6; k++) {
            kinds[k] += w[i].ops[k];
            total += w[i].ops[k];
        }
        bytes += w[i].bytes;
    }
    smmap_stats st = util_stats(mgr);
    /* Soft limits: beyond them only by windows in use, at most one per
     * cursor (two cursors, two buffers and a dup a thread), and counted. */
    EXPECT_EQ(st.failures, 0);
    EXPECT_LE(st.windows_peak, 3 + THREADS * 5);
    EXPECT_LE(st.mapped_peak, 256 * KiB + THREADS * 5 * WINDOW);
    bool beyond = st.windows_peak > 3 || st.mapped_peak > 256 * KiB;
    EXPECT(!beyond || st.limit_exceeded, "peaks of %llu windows, %llu bytes not counted",
           (unsigned long long)st.windows_peak, (unsigned long long)st.mapped_peak);
    smmap_collect(mgr);
    st = util_stats(mgr);
    EXPECT_EQ(st.windows, 0, "after collect");
    EXPECT_EQ(st.mapped, 0, "after collect");
    EXPECT_EQ(st.files, 0, "after collect");
    smmap_manager_free(mgr);
    for (int f = 0; f < FILES; f++)
        free(image[f]);

    fprintf(stderr,
            "stress: %d threads x %ld ops = %ld (use %ld, read %ld, buffer byte %ld, "
            "slice %ld, dup %ld, unuse %ld), %llu bytes checked; %llu misses, %llu evictions, "
            "%llu preads\n",
            THREADS, ops_per_thread, total, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4],
            kinds[5], (unsigned long long)bytes, (unsigned long long)st.misses,
            (unsigned long long)st.evictions, (unsigned long long)st.preads);
}
