/*
 * test_read.c - the copying read smmap_read(): whole files through small
 * windows, random ranges, end of file, bad arguments, and where it leaves
 * the cursor.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

/* The test pattern must make misplaced bytes visible: it differs from
 * copies of itself shifted by any small or window-sized distance, and
 * between salts. Otherwise the other tests could pass on wrong offsets. */
TEST(read, pattern_is_offset_sensitive)
{
    enum { N = 4096 };
    static const uint64_t shifts[] = {1, 2, 3, 4, 7, 8, 255, 256, 4096, 32768, 65536,
                                      1 << 20, 1ull << 32};
    for (size_t s = 0; s < sizeof shifts / sizeof *shifts; s++) {
        for (uint64_t base = 0; base < 3 * GiB; base += GiB / 3) {
            int same = 0;
            for (uint64_t i = 0; i < N; i++)
                same += util_byte(1, base + i) == util_byte(1, base + i + shifts[s]);
            ASSERT_LT(same, N / 64, "shift %llu: %d of %d bytes equal",
                         (unsigned long long)shifts[s], same, N);
        }
    }
    int same = 0;
    for (uint64_t i = 0; i < N; i++)
        same += util_byte(1, i) == util_byte(2, i);
    ASSERT_LT(same, N / 64);
}

TEST(read, whole_file_through_small_windows)
{
    uint64_t size = 3 * MiB + 4321;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 256 * KiB,
                                    .max_handles = 3);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 31));
    unsigned char *buf = malloc(size + 100);
    memset(buf, 0, size + 100);
    /* a first read, then one that continues it: windows, never pread */
    ASSERT_EQ(smmap_read(c, buf, 1000, 0), 1000);
    ASSERT_EQ(smmap_read(c, buf + 1000, size - 1000, 1000), (int64_t)(size - 1000));
    ASSERT_EQ(util_mismatch(31, 0, buf, size), -1, "first wrong byte at %lld",
                 (long long)util_mismatch(31, 0, buf, size));
    ASSERT_EQ(buf[size], 0, "read wrote past what it returned");
    /* the cursor holds the last window read, or none */
    ASSERT(!smmap_valid(c) ||
              (smmap_window_begin(c) <= size - 1 && size - 1 < smmap_window_end(c)),
              "window [%llu,%llu) is not the last one read",
              (unsigned long long)smmap_window_begin(c),
              (unsigned long long)smmap_window_end(c));
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.preads, 0u, "a continuing read was served by pread");
    ASSERT_GE(st.misses, size / (64 * KiB), "a 3 MiB read with 64 KiB windows maps many");
    ASSERT_LE(st.windows_peak, 3u);
    ASSERT_LE(st.mapped_peak, 256 * KiB);

    /* past the end: what is there */
    memset(buf, 0, size + 100);
    ASSERT_EQ(smmap_read(c, buf, size + 100, 0), (int64_t)size);
    ASSERT_EQ(util_mismatch(31, 0, buf, size), -1);
    ASSERT_EQ(buf[size], 0, "read wrote past what it returned");
    free(buf);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(read, random_ranges)
{
    uint64_t size = 2 * MiB + 17;
    unsigned char *img = util_image(32, size);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 32));
    unsigned char *buf = malloc(400 * KiB);
    uint64_t rs = 32;
    for (int i = 0; i < 3000; i++) {
        uint64_t off = util_below(&rs, size + 1000);
        size_t len = i % 3 == 0 ? util_below(&rs, 400 * KiB) : util_below(&rs, 300);
        int64_t want = off >= size ? 0 : (int64_t)(len < size - off ? len : size - off);
        uint64_t before = smmap_window_begin(c);
        int64_t got = smmap_read(c, buf, len, off);
        ASSERT_EQ(got, want, "read(%llu, %zu) = %lld, want %lld", (unsigned long long)off,
                     len, (long long)got, (long long)want);
        ASSERT(memcmp(buf, img + off, (size_t)want) == 0, "read(%llu, %zu) wrong bytes",
                  (unsigned long long)off, len);
        /* The window afterwards is the last one read, or the one before
         * when the read was served inline from the newest spare. */
        if (want > 0 && smmap_valid(c)) {
            uint64_t last = off + (uint64_t)want - 1;
            ASSERT((smmap_window_begin(c) <= last && last < smmap_window_end(c)) ||
                       smmap_window_begin(c) == before,
                      "read(%llu, %zu) left window [%llu,%llu)", (unsigned long long)off, len,
                      (unsigned long long)smmap_window_begin(c),
                      (unsigned long long)smmap_window_end(c));
        }
    }
    free(buf);
    free(img);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(read, end_of_file_and_lengths)
{
    uint64_t size = 100 * KiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 33));
    unsigned char buf[256];
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, size - 10), 10);
    ASSERT_EQ(util_mismatch(33, size - 10, buf, 10), -1);
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, size), 0);
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, size + 1), 0);
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 100 * GiB), 0);
    ASSERT_EQ(smmap_read(c, buf, 0, 5), 0);
    ASSERT_EQ(smmap_read(c, NULL, 0, 5), 0, "NULL dst with len 0 is fine");
    ASSERT_EQ(smmap_read(c, buf, 1, 0), 1);
    ASSERT_EQ(buf[0], util_byte(33, 0));
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(read, bad_arguments)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 10 * KiB, 34));
    unsigned char buf[16];
    ASSERT_EQ(smmap_read(NULL, buf, sizeof buf, 0), SMMAP_EINVAL);
    ASSERT_EQ(smmap_read(c, NULL, 10, 0), SMMAP_EINVAL);
    if (sizeof(size_t) >= 8)
        ASSERT_EQ(smmap_read(c, buf, (size_t)INT64_MAX + 1, 0), SMMAP_EINVAL);
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 0), (int64_t)sizeof buf);
    ASSERT_EQ(util_mismatch(34, 0, buf, sizeof buf), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(read, static_manager)
{
    uint64_t size = 1 * MiB + 3;
    smmap_manager *m = UTIL_MANAGER(.kind = SMMAP_STATIC);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 35));
    unsigned char *buf = malloc(size);
    ASSERT_EQ(smmap_read(c, buf, size, 0), (int64_t)size);
    ASSERT_EQ(util_mismatch(35, 0, buf, size), -1);
    ASSERT_EQ(smmap_read(c, buf, 1000, size - 500), 500);
    ASSERT_EQ(util_mismatch(35, size - 500, buf, 500), -1);
    free(buf);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A read leaves its cursor on a window; a later smmap_use elsewhere and a
 * read through a dup must not disturb each other. */
TEST(read, read_after_use_and_dup)
{
    uint64_t size = 1 * MiB;
    const char *p = util_make_file("f", size, 36);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p), *d;
    ASSERT_EQ(smmap_use(c, 500 * KiB, 100), 0);
    ASSERT_EQ(smmap_cursor_dup(c, &d), 0);
    unsigned char buf[300 * 1024];
    ASSERT_EQ(smmap_read(d, buf, sizeof buf, 10), (int64_t)sizeof buf);
    ASSERT_EQ(util_mismatch(36, 10, buf, sizeof buf), -1);
    /* c still on its window */
    ASSERT_EQ(smmap_begin(c), 500 * KiB);
    ASSERT_EQ(util_mismatch(36, 500 * KiB, smmap_data(c), 100), -1);
    ASSERT_EQ(smmap_read(c, buf, 1000, 900 * KiB), 1000);
    ASSERT_EQ(util_mismatch(36, 900 * KiB, buf, 1000), -1);
    smmap_cursor_free(d);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A read that does not continue the previous one, when no mapped window
 * holds it and the limits are full, is served by pread; a continuing read
 * or one a mapped window holds uses windows. */
TEST(read, pread_when_full_and_random)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_handles = 2);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 37));
    unsigned char buf[100];
    smmap_stats st;

    ASSERT_EQ(smmap_read(c, buf, 100, 0), 100);
    ASSERT_EQ(util_mismatch(37, 0, buf, 100), -1);
    ASSERT_EQ(smmap_read(c, buf, 100, 300 * KiB), 100); /* not full yet: a window */
    ASSERT_EQ(util_mismatch(37, 300 * KiB, buf, 100), -1);
    st = util_stats(m);
    ASSERT_EQ(st.misses, 2u);
    ASSERT_EQ(st.preads, 0u);

    ASSERT_EQ(smmap_read(c, buf, 100, 600 * KiB), 100); /* random, full: pread */
    ASSERT_EQ(util_mismatch(37, 600 * KiB, buf, 100), -1);
    st = util_stats(m);
    ASSERT_EQ(st.preads, 1u);
    ASSERT_EQ(st.misses, 2u);
    ASSERT_EQ(st.windows, 2u);
    ASSERT_EQ(st.evictions, 0u);

    ASSERT_EQ(smmap_read(c, buf, 100, 600 * KiB + 100), 100); /* continues: window */
    ASSERT_EQ(util_mismatch(37, 600 * KiB + 100, buf, 100), -1);
    st = util_stats(m);
    ASSERT_EQ(st.preads, 1u);
    ASSERT_EQ(st.misses, 3u);
    ASSERT_EQ(st.evictions, 1u);
    ASSERT_EQ(st.windows, 2u);

    /* a mapped window holds it: served from the window */
    uint64_t hits = st.hits;
    ASSERT_EQ(smmap_read(c, buf, 10, 300 * KiB + 10), 10);
    ASSERT_EQ(util_mismatch(37, 300 * KiB + 10, buf, 10), -1);
    smmap_unuse(c);
    st = util_stats(m);
    ASSERT_EQ(st.preads, 1u, "a read a mapped window holds went to pread");
    ASSERT_GT(st.hits, hits);
    ASSERT_EQ(st.misses, 3u);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A read over several windows maps each once: read again, it finds them
 * all mapped (the last request of the walk reaches past every window). */
TEST(read, long_reads_reuse_windows)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 1 * MiB,
                                    .max_handles = 64);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 27));
    size_t len = 200000;
    unsigned char *buf = malloc(len);
    for (int i = 0; i < 5; i++) {
        memset(buf, 0, len);
        ASSERT_EQ(smmap_read(c, buf, len, 1000), (int64_t)len);
        ASSERT_EQ(util_mismatch(27, 1000, buf, len), -1);
    }
    smmap_unuse(c);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.mmap_calls, 4, "[1000, 201000) lies in 4 windows; mapped %llu",
                 (unsigned long long)st.mmap_calls);
    ASSERT_EQ(st.munmap_calls, 0);
    smmap_cursor_free(c);
    smmap_manager_free(m);
    free(buf);
}

/* The spare windows random reads keep are given back when the cursor
 * changes window with smmap_use(): collect then unmaps them. */
TEST(read, use_releases_spares)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 1 * MiB,
                                    .max_handles = 64);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 28));
    unsigned char b[16];
    for (uint64_t off = 0; off < 4; off++) {
        ASSERT_EQ(smmap_read(c, b, sizeof b, off * 256 * KiB + 5), (int64_t)sizeof b);
        ASSERT_EQ(util_mismatch(28, off * 256 * KiB + 5, b, sizeof b), -1);
    }
    smmap_collect(m);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.windows, 4, "the current window and three spares stay");
    ASSERT_EQ(smmap_use(c, 900 * KiB, 16), 0);
    smmap_collect(m);
    st = util_stats(m);
    ASSERT_EQ(st.windows, 1, "%llu windows left in use", (unsigned long long)st.windows);
    ASSERT_EQ(smmap_window_users_at(c, 0), SMMAP_ECURSOR, "the spare at 0 was unmapped");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A read of no bytes copies nothing and leaves the cursor's span as it
 * was, rather than an empty span in a window still in use. */
TEST(read, empty_read_keeps_span)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 256 * KiB, 29));
    unsigned char b[8];
    ASSERT_EQ(smmap_read(c, b, 8, 100), 8);
    ASSERT_EQ(smmap_read(c, b, 0, 200), 0);
    ASSERT_EQ(smmap_read(c, NULL, 0, 300), 0);
    ASSERT_EQ(smmap_begin(c), 100);
    ASSERT_EQ(smmap_size(c), 8);
    ASSERT_EQ(smmap_probe(c), 0);
    ASSERT(smmap_includes(c, 107));
    ASSERT_EQ(smmap_read(c, b, 0, 1 * MiB), 0, "past the end: 0, as pread");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* smmap_read_many() makes the reads n calls of smmap_read() would, across
 * windows and in any order, and stops at the first short read. */
TEST(read, read_many_matches_single_reads)
{
    const uint64_t size = 3 * MiB + 333;
    smmap_manager *m = UTIL_MANAGER(.window_size = 256 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 41));
    enum { N = 500, LEN = 100 };
    uint64_t offs[N], seed = 5;
    unsigned char *got = malloc(N * LEN), one[LEN];
    ASSERT_NOT_NULL(got);
    for (int i = 0; i < N; i++)
        offs[i] = util_below(&seed, size - LEN + 1);
    ASSERT_EQ(smmap_read_many(c, got, LEN, offs, N), N);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(util_mismatch(41, offs[i], got + i * LEN, LEN), -1, "read %d", i);
        ASSERT_EQ(smmap_read(c, one, LEN, offs[i]), LEN);
        ASSERT(memcmp(one, got + i * LEN, LEN) == 0, "read %d again", i);
    }
    /* The third read runs past the end: two whole, its bytes copied. */
    uint64_t tail[4] = {0, 1 * MiB, size - 10, 5};
    memset(got, 0xA5, 4 * LEN);
    ASSERT_EQ(smmap_read_many(c, got, LEN, tail, 4), 2);
    ASSERT_EQ(util_mismatch(41, size - 10, got + 2 * LEN, 10), -1);
    ASSERT_EQ(got[3 * LEN], 0xA5, "nothing after the short read");
    uint64_t past[2] = {size, 0};
    ASSERT_EQ(smmap_read_many(c, got, LEN, past, 2), 0, "the first read is empty");
    ASSERT_EQ(smmap_read_many(c, got, LEN, offs, 0), 0);
    ASSERT_EQ(smmap_read_many(c, got, 0, offs, 3), 3, "empty reads");
    free(got);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(read, read_many_bad_arguments)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1000, 42));
    uint64_t offs[2] = {0, 10};
    unsigned char buf[20];
    ASSERT_EQ(smmap_read_many(NULL, buf, 10, offs, 2), SMMAP_EINVAL);
    ASSERT_EQ(smmap_read_many(c, NULL, 10, offs, 2), SMMAP_EINVAL);
    ASSERT_EQ(smmap_read_many(c, buf, 10, NULL, 2), SMMAP_EINVAL);
    ASSERT_EQ(smmap_read_many(c, buf, SIZE_MAX / 2, offs, 3), SMMAP_EINVAL, "n * len overflows");
    uint64_t wrap[1] = {UINT64_MAX - 3};
    ASSERT_EQ(smmap_read_many(c, buf, 10, wrap, 1), SMMAP_EINVAL, "the first read's error");
    ASSERT_EQ(smmap_read_many(c, NULL, 0, NULL, 0), 0, "nothing to do");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
