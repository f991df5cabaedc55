/*
 * test_large.c - files larger than 4 GiB: offsets above 2^32 through use,
 * the copying read and a buffer, with small windows and with the defaults,
 * on 64-bit and 32-bit builds alike (cross/i386.txt); the default limits by
 * pointer size.
 *
 * The file is sparse: a few pattern runs (util_byte) above 4 GiB, one
 * across the 4 GiB line, zeros elsewhere.
 */
#include "util.h"

#include <smmap.h>

#include <stdlib.h>
#include <string.h>

#define SALT 77u
#define FOUR_G (4 * GiB)
#define SIZE (5 * GiB + 4321) /* not a page multiple */

/* The pattern runs written into the sparse file. */
static const struct run {
    uint64_t off, len;
} runs[] = {
    {FOUR_G - 3000, 6000},      /* across 2^32 */
    {FOUR_G + 12345, 8192},
    {FOUR_G + 700 * MiB + 1, 5000},
    {SIZE - 70000, 70000},      /* up to the end */
};
#define NRUNS (sizeof runs / sizeof runs[0])

static const char *make_big(void)
{
    const char *p = util_path("big");
    util_write_pattern(p, 1, 0, 0, SALT);
    ASSERT_EQ(util_truncate(p, SIZE), 0); /* sparse: runs[] alone hold data */
    for (size_t i = 0; i < NRUNS; i++)
        util_append(p, runs[i].off, runs[i].len, SALT);
    return p;
}

static unsigned char expect_byte(uint64_t off)
{
    for (size_t i = 0; i < NRUNS; i++)
        if (off >= runs[i].off && off - runs[i].off < runs[i].len)
            return util_byte(SALT, off);
    return 0;
}

/* Index of the first byte of buf that differs from the file at off, or -1. */
static int64_t mismatch(const unsigned char *buf, uint64_t off, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != expect_byte(off + i))
            return (int64_t)i;
    return -1;
}

/* Every run (and a hole) through smmap_use and smmap_read. */
static void check_file(smmap_manager *m, const char *path)
{
    smmap_cursor *c = util_cursor(m, path);
    ASSERT_EQ(smmap_file_size(c), (int64_t)SIZE);
    smmap_options o;
    smmap_manager_options(m, &o);
    size_t half = o.window_size / 2;
    unsigned char *buf = malloc(256 * KiB);
    ASSERT_NOT_NULL(buf);

    for (size_t i = 0; i < NRUNS; i++) {
        uint64_t off = runs[i].off;
        size_t len = (size_t)runs[i].len;
        if (len > half)
            len = half;
        int rc = smmap_use(c, off, len);
        ASSERT_EQ(rc, 0, "use(%llu): %s", (unsigned long long)off, smmap_strerror(rc));
        ASSERT_EQ(smmap_begin(c), off);
        ASSERT_EQ(smmap_size(c), len, "size %zu, asked %zu", smmap_size(c), len);
        ASSERT(smmap_window_begin(c) <= off && smmap_window_end(c) >= off + len);
        ASSERT(smmap_includes(c, off + len - 1));
        int64_t bad = mismatch(smmap_data(c), off, len);
        ASSERT_EQ(bad, -1, "use: byte %lld of %llu differs", (long long)bad,
                     (unsigned long long)off);

        /* The run with its edges: zeros before and after it. */
        uint64_t from = off - 1000;
        size_t n = (size_t)runs[i].len + 2000;
        if (n > 256 * KiB)
            n = 256 * KiB;
        int64_t got = smmap_read(c, buf, n, from);
        uint64_t want = from + n > SIZE ? SIZE - from : n;
        ASSERT_EQ(got, (int64_t)want, "read(%llu, %zu) = %lld",
                     (unsigned long long)from, n, (long long)got);
        bad = mismatch(buf, from, (size_t)got);
        ASSERT_EQ(bad, -1, "read: byte %lld of %llu differs", (long long)bad,
                     (unsigned long long)from);
    }

    /* A hole reads as zeros; a byte right above 2^32 and the last byte. */
    memset(buf, 0xAA, 4096);
    ASSERT_EQ(smmap_read(c, buf, 4096, FOUR_G + 300 * MiB), 4096);
    ASSERT_EQ(mismatch(buf, FOUR_G + 300 * MiB, 4096), -1);
    ASSERT_EQ(smmap_use(c, FOUR_G, 1), 0);
    ASSERT_EQ(smmap_data(c)[0], expect_byte(FOUR_G));
    ASSERT_EQ(smmap_use(c, SIZE - 1, 1), 0);
    ASSERT_EQ(smmap_data(c)[0], expect_byte(SIZE - 1));
    ASSERT_EQ(smmap_begin(c), SIZE - 1);

    /* At and past the end. */
    ASSERT_EQ(smmap_read(c, buf, 100, SIZE - 10), 10);
    ASSERT_EQ(mismatch(buf, SIZE - 10, 10), -1);
    ASSERT_EQ(smmap_read(c, buf, 100, SIZE), 0);
    ASSERT_EQ(smmap_use(c, SIZE, 1), SMMAP_EOF);
    ASSERT_EQ(smmap_use(c, SIZE + FOUR_G, 1), SMMAP_EOF);

    free(buf);
    smmap_cursor_free(c);
}

TEST(large, sliding_small_windows_above_4gib)
{
    util_require_mmap_above_4gib();
    const char *p = make_big();
    smmap_manager *m = UTIL_MANAGER(.window_size = 1 * MiB, .max_memory = 4 * MiB,
                                    .max_handles = 4);
    check_file(m, p);
    smmap_stats st = util_stats(m);
    ASSERT_LE(st.mapped_peak, 4 * MiB);
    ASSERT_LE(st.windows_peak, 4);
    smmap_manager_free(m);
}

TEST(large, sliding_defaults_above_4gib)
{
    util_require_mmap_above_4gib();
    const char *p = make_big();
    smmap_manager *m = util_manager(NULL);
    check_file(m, p);
    smmap_manager_free(m);
}

/* Reads across 2^32 that span several small windows. */
TEST(large, read_across_4gib_spans_windows)
{
    util_require_mmap_above_4gib();
    const char *p = make_big();
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 256 * KiB,
                                    .max_handles = 4);
    smmap_cursor *c = util_cursor(m, p);
    size_t n = 300 * KiB;
    unsigned char *buf = malloc(n);
    ASSERT_NOT_NULL(buf);
    uint64_t from = FOUR_G - 150 * KiB - 7;
    ASSERT_EQ(smmap_read(c, buf, n, from), (int64_t)n);
    ASSERT_EQ(mismatch(buf, from, n), -1);
    /* Backwards, a window at a time, so that each read maps a new one. */
    for (uint64_t off = FOUR_G + 16 * KiB; off > FOUR_G - 16 * KiB; off -= 1000) {
        ASSERT_EQ(smmap_read(c, buf, 2000, off), 2000);
        ASSERT_EQ(mismatch(buf, off, 2000), -1, "at %llu", (unsigned long long)off);
    }
    free(buf);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(large, buffer_above_4gib)
{
    util_require_mmap_above_4gib();
    const char *p = make_big();
    smmap_manager *m = UTIL_MANAGER(.window_size = 1 * MiB, .max_memory = 4 * MiB);
    smmap_cursor *c = util_cursor(m, p);
    smmap_buffer *b = NULL;
    ASSERT_EQ(smmap_buffer_new(c, FOUR_G, 0, &b), 0);
    ASSERT_EQ(smmap_buffer_size(b), SIZE - FOUR_G);
    ASSERT_EQ(smmap_buffer_byte(b, 0), expect_byte(FOUR_G));
    ASSERT_EQ(smmap_buffer_byte(b, 12345), expect_byte(FOUR_G + 12345));
    ASSERT_EQ(smmap_buffer_byte(b, -1), expect_byte(SIZE - 1));
    ASSERT_EQ(smmap_buffer_byte(b, -70000), expect_byte(SIZE - 70000));
    ASSERT_EQ(smmap_buffer_byte(b, (int64_t)(SIZE - FOUR_G)), SMMAP_EINVAL);
    unsigned char buf[9000];
    ASSERT_EQ(smmap_buffer_read(b, 12000, 21000, buf, sizeof buf), 9000);
    ASSERT_EQ(mismatch(buf, FOUR_G + 12000, 9000), -1);
    ASSERT_EQ(smmap_buffer_read(b, -5000, -1, buf, sizeof buf), 4999);
    ASSERT_EQ(mismatch(buf, SIZE - 5000, 4999), -1);
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A static manager maps the whole 5 GiB file on 64-bit; a 32-bit process
 * cannot: smmap_use fails with nothing left accounted. */
TEST(large, static_above_4gib)
{
    const char *p = make_big();
    smmap_manager *m = UTIL_MANAGER(.kind = SMMAP_STATIC);
    smmap_cursor *c = util_cursor(m, p);
    int rc = smmap_use(c, FOUR_G + 12345, 100);
    smmap_stats st;
    if (sizeof(void *) >= 8) {
        ASSERT_EQ(rc, 0, "use: %s", smmap_strerror(rc));
        ASSERT_EQ(smmap_window_begin(c), 0);
        ASSERT_EQ(smmap_window_end(c), SIZE);
        ASSERT_EQ(mismatch(smmap_data(c), FOUR_G + 12345, 100), -1);
        unsigned char buf[4000];
        ASSERT_EQ(smmap_read(c, buf, sizeof buf, FOUR_G - 2000), (int64_t)sizeof buf);
        ASSERT_EQ(mismatch(buf, FOUR_G - 2000, sizeof buf), -1);
        st = util_stats(m);
        ASSERT_EQ(st.mapped, SIZE);
        ASSERT_EQ(st.windows, 1);
    } else {
        ASSERT(rc < 0, "a 5 GiB static window on 32-bit: %d", rc);
        ASSERT_EQ(smmap_valid(c), 0);
        /* The copying read may still serve it (by pread). */
        unsigned char byte = 0;
        int64_t n = smmap_read(c, &byte, 1, FOUR_G);
        ASSERT(n < 0 || (n == 1 && byte == expect_byte(FOUR_G)), "read: %lld", (long long)n);
        st = util_stats(m);
        ASSERT_EQ(st.mapped, 0);
        ASSERT_EQ(st.windows, 0);
    }
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(large, defaults_by_pointer_size)
{
    smmap_manager *m = util_manager(NULL);
    smmap_options o;
    smmap_manager_options(m, &o);
    ASSERT_EQ(o.kind, SMMAP_SLIDING);
    if (sizeof(void *) == 4) {
        ASSERT_EQ(o.window_size, (size_t)(64 * MiB), "window %zu", o.window_size);
        ASSERT_EQ(o.max_memory, 1 * GiB);
    } else {
        ASSERT_EQ(sizeof(void *), 8);
        ASSERT_EQ(o.window_size, (size_t)(1 * GiB), "window %zu", o.window_size);
        ASSERT_EQ(o.max_memory, 8 * GiB);
    }
    smmap_manager_free(m);
}
