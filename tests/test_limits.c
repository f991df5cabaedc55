/*
 * test_limits.c - the manager's limits: LRU order of eviction among idle
 * windows (by handles and by memory), windows in use are never evicted,
 * caps hold through long random runs, soft and strict limits.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#define W (64 * KiB)

/* use [off, off+16) and leave it idle; checks the bytes. */
static void touch(smmap_cursor *c, uint64_t off, uint32_t salt)
{
    int rc = smmap_use(c, off, 16);
    ASSERT_EQ(rc, 0, "use(%llu): %s", (unsigned long long)off, smmap_strerror(rc));
    ASSERT_EQ(util_mismatch(salt, off, smmap_data(c), 16), -1);
    smmap_unuse(c);
}

/* Windows A, B, C at gaps (so the kernel cannot merge mappings), touch A,
 * then D: B, the least recently used, must be the one unmapped. */
static void check_lru_abcd(smmap_manager *m)
{
    const char *p = util_make_file("f", 1 * MiB, 51);
    smmap_cursor *c = util_cursor(m, p);
    const uint64_t A = 0, B = 128 * KiB, C = 256 * KiB, D = 384 * KiB;
    touch(c, A, 51);
    touch(c, B, 51);
    touch(c, C, 51);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.windows, 3u);
    ASSERT_EQ(st.misses, 3u);
    ASSERT_EQ(st.evictions, 0u);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 3);

    touch(c, A + 100, 51); /* A is now the most recently used */
    st = util_stats(m);
    ASSERT_EQ(st.hits, 1u);
    ASSERT_EQ(st.misses, 3u);

    touch(c, D, 51);
    st = util_stats(m);
    ASSERT_EQ(st.misses, 4u);
    ASSERT_EQ(st.evictions, 1u, "evict only as much as needed: %llu evictions",
                 (unsigned long long)st.evictions);
    ASSERT_EQ(st.windows, 3u);
    ASSERT_EQ(st.munmap_calls, 1u);
    ASSERT(util_mapped_at(p, A), "A (touched) was evicted");
    ASSERT(!util_mapped_at(p, B), "B (least recently used) is still mapped");
    ASSERT(util_mapped_at(p, C), "C was evicted instead of B");
    ASSERT(util_mapped_at(p, D));
    ASSERT_EQ(util_maps_of(p, NULL, 0), 3);

    /* the same seen through hits and misses: A and C hit, B misses */
    touch(c, A + 200, 51);
    touch(c, C + 200, 51);
    st = util_stats(m);
    ASSERT_EQ(st.misses, 4u, "A or C had been evicted");
    ASSERT_EQ(st.hits, 3u);
    touch(c, B + 200, 51);
    st = util_stats(m);
    ASSERT_EQ(st.misses, 5u, "B was not evicted");
    /* now D was the least recently used */
    ASSERT(!util_mapped_at(p, D));
    ASSERT(util_mapped_at(p, A) && util_mapped_at(p, B) && util_mapped_at(p, C));
    smmap_cursor_free(c);
}

TEST(limits, lru_by_handles)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_handles = 3);
    check_lru_abcd(m);
    smmap_manager_free(m);
}

TEST(limits, lru_by_memory)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_memory = 3 * W, .max_handles = 1000);
    check_lru_abcd(m);
    smmap_manager_free(m);
}

/* A long random sequence against a model LRU cache of `cap` windows. */
static void check_lru_model(smmap_manager *m, int cap)
{
    enum { SLOTS = 8 };
    const char *p = util_make_file("f", 2 * MiB, 52);
    smmap_cursor *c = util_cursor(m, p);
    int model[SLOTS]; /* model[0] most recent; -1 empty */
    int n = 0;
    uint64_t misses = 0, rs = 52;
    for (int i = 0; i < 3000; i++) {
        int s = (int)util_below(&rs, SLOTS);
        int at = -1;
        for (int k = 0; k < n; k++)
            if (model[k] == s)
                at = k;
        if (at < 0) {
            misses++;
            if (n < cap)
                n++;
            at = n - 1; /* drop the least recent if full */
        }
        memmove(model + 1, model, (size_t)at * sizeof *model);
        model[0] = s;

        /* stay in the first half so slot s always maps the window at s*256K */
        touch(c, (uint64_t)s * 256 * KiB + util_below(&rs, W / 2 - 16), 52);
        smmap_stats st = util_stats(m);
        ASSERT_EQ(st.misses, misses, "step %d (slot %d): %llu misses, LRU model %llu", i,
                     s, (unsigned long long)st.misses, (unsigned long long)misses);
        ASSERT_EQ(st.windows, (uint64_t)n);
        if (i % 100 == 0)
            for (int k = 0; k < n; k++)
                ASSERT(util_mapped_at(p, (uint64_t)model[k] * 256 * KiB),
                          "step %d: slot %d should be mapped", i, model[k]);
    }
    smmap_cursor_free(c);
}

TEST(limits, lru_matches_model_handles)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_handles = 4);
    check_lru_model(m, 4);
    smmap_manager_free(m);
}

TEST(limits, lru_matches_model_memory)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_memory = 5 * W + W / 2,
                                    .max_handles = 1000);
    check_lru_model(m, 5);
    smmap_manager_free(m);
}

/* Windows held by cursors survive any churn, with valid data pointers. */
static void check_in_use_kept(smmap_manager *m, uint64_t max_windows)
{
    uint64_t fsize = 4 * MiB;
    const char *p = util_make_file("f", fsize, 53);
    smmap_cursor *h1 = util_cursor(m, p), *h2 = util_cursor(m, p), *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(h1, 1 * MiB + 5, 1000), 0);
    ASSERT_EQ(smmap_use(h2, 3 * MiB + 5, 1000), 0);
    const unsigned char *d1 = smmap_data(h1), *d2 = smmap_data(h2);
    uint64_t w1 = smmap_window_begin(h1), w2 = smmap_window_begin(h2);
    uint64_t rs = 53;
    unsigned char buf[100 * 1024];
    for (int i = 0; i < 2000; i++) {
        uint64_t off = util_below(&rs, fsize);
        if (i % 2) {
            ASSERT_EQ(smmap_use(c, off, 100), 0);
            ASSERT_EQ(util_mismatch(53, off, smmap_data(c), smmap_size(c)), -1);
        } else {
            int64_t got = smmap_read(c, buf, sizeof buf, off);
            ASSERT_GT(got, 0);
            ASSERT_EQ(util_mismatch(53, off, buf, (size_t)got), -1);
        }
        smmap_stats st = util_stats(m);
        ASSERT_LE(st.windows, max_windows);
        ASSERT_EQ(st.limit_exceeded, 0u);
    }
    smmap_stats st = util_stats(m);
    ASSERT_GT(st.evictions, 100u, "the churn evicted");
    ASSERT_EQ(smmap_data(h1), d1);
    ASSERT_EQ(smmap_data(h2), d2);
    ASSERT_EQ(util_mismatch(53, 1 * MiB + 5, d1, 1000), -1);
    ASSERT_EQ(util_mismatch(53, 3 * MiB + 5, d2, 1000), -1);
    ASSERT(util_mapped_at(p, w1), "held window unmapped");
    ASSERT(util_mapped_at(p, w2), "held window unmapped");
    /* collect does not touch them either */
    smmap_unuse(c);
    smmap_collect(m);
    ASSERT(util_mapped_at(p, w1) && util_mapped_at(p, w2));
    ASSERT_EQ(util_mismatch(53, 1 * MiB + 5, d1, 1000), -1);
    ASSERT_EQ(smmap_window_users(h1), 1);
    smmap_cursor_free(c);
    smmap_cursor_free(h1);
    smmap_cursor_free(h2);
}

TEST(limits, in_use_never_evicted_handles)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_handles = 3);
    check_in_use_kept(m, 3);
    smmap_manager_free(m);
}

TEST(limits, in_use_never_evicted_memory)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_memory = 3 * W, .max_handles = 1000);
    check_in_use_kept(m, 3);
    smmap_manager_free(m);
}

/* 100 000 random accesses, every byte checked, within 256 KiB and 3
 * windows. */
TEST(limits, caps_hold_under_random_access, .timeout = 60)
{
    const uint64_t cap = 256 * KiB;
    uint64_t fsize = 4 * MiB + 12345;
    const char *p = util_make_file("f", fsize, 54);
    unsigned char *img = util_image(54, fsize);
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_memory = cap, .max_handles = 3);
    smmap_cursor *a = util_cursor(m, p), *b = util_cursor(m, p);
    unsigned char *buf = malloc(300 * KiB);
    uint64_t rs = 54, bytes = 0;
    for (long i = 0; i < util_ops(100000); i++) {
        smmap_cursor *c = util_below(&rs, 3) ? a : b;
        uint64_t off = util_below(&rs, fsize);
        int kind = (int)util_below(&rs, 10);
        if (kind < 5) {
            size_t len = kind == 0 ? util_below(&rs, 300 * KiB) : util_below(&rs, 4096);
            int64_t want = (int64_t)(len < fsize - off ? len : fsize - off);
            int64_t got = smmap_read(c, buf, len, off);
            ASSERT_EQ(got, want, "op %ld read(%llu, %zu) = %lld", i, (unsigned long long)off,
                         len, (long long)got);
            ASSERT(memcmp(buf, img + off, (size_t)got) == 0, "op %ld read(%llu, %zu) bytes",
                      i, (unsigned long long)off, len);
            bytes += (uint64_t)got;
        } else {
            size_t len = kind < 9 ? 1 + util_below(&rs, W / 2) : 1 + util_below(&rs, 4 * W);
            int rc = smmap_use(c, off, len);
            ASSERT_EQ(rc, 0, "op %ld use(%llu, %zu): %s", i, (unsigned long long)off, len,
                         smmap_strerror(rc));
            size_t got = smmap_size(c);
            uint64_t left = fsize - off;
            if (len <= W / 2)
                ASSERT_EQ(got, len < left ? len : left, "op %ld use(%llu, %zu) gave %zu", i,
                             (unsigned long long)off, len, got);
            else
                ASSERT(got >= 1 && got <= len);
            ASSERT(memcmp(smmap_data(c), img + off, got) == 0, "op %ld use(%llu, %zu) bytes",
                      i, (unsigned long long)off, len);
            bytes += got;
            if (util_below(&rs, 4) == 0)
                smmap_unuse(c);
        }
        smmap_stats st = util_stats(m);
        ASSERT_LE(st.mapped, cap, "op %ld: %llu bytes mapped", i,
                      (unsigned long long)st.mapped);
        ASSERT_LE(st.windows, 3u, "op %ld: %llu windows", i, (unsigned long long)st.windows);
        if (i % 10000 == 0)
            ASSERT_LE(util_maps_of(p, NULL, 0), 3, "op %ld: /proc/self/maps", i);
    }
    smmap_stats st = util_stats(m);
    ASSERT_LE(st.mapped_peak, cap);
    ASSERT_LE(st.windows_peak, 3u);
    ASSERT_EQ(st.limit_exceeded, 0u);
    ASSERT_GT(st.evictions, 1000u);
    ASSERT_EQ(st.mmap_calls - st.munmap_calls, st.windows);
    ASSERT_GT(bytes, 100 * MiB / 10);
    free(buf);
    free(img);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

/* Memory alone binding: a 160 KiB cap holds two 64 KiB windows. */
TEST(limits, memory_cap_binding, .timeout = 60)
{
    const uint64_t cap = 160 * KiB;
    uint64_t fsize = 2 * MiB;
    unsigned char *img = util_image(55, fsize);
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_memory = cap, .max_handles = 1000);
    smmap_cursor *c = util_cursor(m, util_make_file("f", fsize, 55));
    unsigned char *buf = malloc(200 * KiB);
    uint64_t rs = 55;
    for (int i = 0; i < 20000; i++) {
        uint64_t off = util_below(&rs, fsize);
        size_t len = util_below(&rs, i % 10 ? 2000 : 200 * KiB);
        int64_t got = smmap_read(c, buf, len, off);
        ASSERT_EQ(got, (int64_t)(len < fsize - off ? len : fsize - off));
        ASSERT(memcmp(buf, img + off, (size_t)got) == 0);
        smmap_stats st = util_stats(m);
        ASSERT_LE(st.mapped, cap, "op %d: %llu bytes mapped", i,
                      (unsigned long long)st.mapped);
    }
    smmap_stats st = util_stats(m);
    ASSERT_LE(st.mapped_peak, cap);
    ASSERT_LE(st.windows_peak, 2u);
    ASSERT_EQ(st.limit_exceeded, 0u);
    free(buf);
    free(img);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(limits, soft_limit_exceeded_when_all_in_use)
{
    const char *p = util_make_file("f", 1 * MiB, 56);
    smmap_manager *m = UTIL_MANAGER(.window_size = W, .max_handles = 2);
    smmap_cursor *a = util_cursor(m, p), *b = util_cursor(m, p), *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(a, 0, 10), 0);
    ASSERT_EQ(smmap_use(b, 256 * KiB, 10), 0);
    ASSERT_EQ(smmap_use(c, 512 * KiB, 10), 0, "soft limit: mapped anyway");
    ASSERT_EQ(util_mismatch(56, 512 * KiB, smmap_data(c), 10), -1);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.windows, 3u);
    ASSERT_EQ(st.limit_exceeded, 1u);
    ASSERT_EQ(st.evictions, 0u);
    ASSERT_EQ(util_mismatch(56, 0, smmap_data(a), 10), -1);
    ASSERT_EQ(util_mismatch(56, 256 * KiB, smmap_data(b), 10), -1);
    /* once windows are idle again, the next miss gets back under the cap */
    smmap_unuse(a);
    smmap_unuse(b);
    smmap_unuse(c);
    ASSERT_EQ(smmap_use(a, 768 * KiB, 10), 0);
    st = util_stats(m);
    ASSERT_LE(st.windows, 2u, "%llu windows after a miss with idle ones to evict",
                  (unsigned long long)st.windows);
    ASSERT_EQ(st.limit_exceeded, 1u);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

static void check_strict(smmap_manager *m)
{
    const char *p = util_make_file("f", 1 * MiB, 57);
    smmap_cursor *a = util_cursor(m, p), *b = util_cursor(m, p), *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(a, 0, 10), 0);
    ASSERT_EQ(smmap_use(b, 256 * KiB, 10), 0);
    ASSERT_EQ(smmap_use(c, 20, 10), 0, "a hit needs no room");
    ASSERT_EQ(smmap_use(c, 512 * KiB, 10), SMMAP_ELIMIT);
    ASSERT_EQ(smmap_valid(c), 0);
    ASSERT_NULL(smmap_data(c));
    /* a random read with no room is served by pread, not a window */
    unsigned char buf[16];
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 600 * KiB), (int64_t)sizeof buf);
    ASSERT_EQ(util_mismatch(57, 600 * KiB, buf, sizeof buf), -1);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.preads, 1u);
    ASSERT_EQ(st.windows, 2u);
    ASSERT_EQ(st.limit_exceeded, 0u);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 2);
    smmap_unuse(b);
    ASSERT_EQ(smmap_use(c, 512 * KiB, 10), 0);
    ASSERT_EQ(util_mismatch(57, 512 * KiB, smmap_data(c), 10), -1);
    st = util_stats(m);
    ASSERT_EQ(st.windows, 2u);
    ASSERT_EQ(st.evictions, 1u);
    ASSERT(!util_mapped_at(p, 256 * KiB) && util_mapped_at(p, 0));
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_cursor_free(c);
}

TEST(limits, strict_handles)
{
    smmap_manager *m = UTIL_MANAGER(.flags = SMMAP_STRICT_LIMITS, .window_size = W,
                                    .max_handles = 2);
    check_strict(m);
    smmap_manager_free(m);
}

TEST(limits, strict_memory)
{
    smmap_manager *m = UTIL_MANAGER(.flags = SMMAP_STRICT_LIMITS, .window_size = W,
                                    .max_memory = 2 * W, .max_handles = 100);
    check_strict(m);
    smmap_manager_free(m);
}
