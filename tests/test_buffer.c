/*
 * test_buffer.c - buffers: byte and range access to [offset, offset+size)
 * of a file, negative indexes, Python slice rules, clipping at the end of
 * the file, and reads spanning many windows.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

static smmap_buffer *make_buffer(smmap_cursor *c, uint64_t off, uint64_t size)
{
    smmap_buffer *b = NULL;
    int rc = smmap_buffer_new(c, off, size, &b);
    ASSERT_EQ(rc, 0, "smmap_buffer_new(%llu, %llu): %s", (unsigned long long)off,
                 (unsigned long long)size, smmap_strerror(rc));
    ASSERT_NOT_NULL(b);
    return b;
}

/* Python's slice of a sequence of length n: the [begin, begin+len) taken. */
static void py_slice(int64_t n, int64_t start, int64_t stop, int64_t *begin, int64_t *len)
{
    if (start < 0)
        start = start < -n ? 0 : start + n;
    else if (start > n)
        start = n;
    if (stop < 0)
        stop = stop < -n ? 0 : stop + n;
    else if (stop > n)
        stop = n;
    *begin = start;
    *len = stop > start ? stop - start : 0;
}

TEST(buffer, sizes_and_clipping)
{
    uint64_t fsize = 100 * KiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", fsize, 41));
    smmap_buffer *b;

    b = make_buffer(c, 0, 0);
    ASSERT_EQ(smmap_buffer_size(b), fsize, "size 0 means to the end of the file");
    smmap_buffer_free(b);

    b = make_buffer(c, 1000, 0);
    ASSERT_EQ(smmap_buffer_size(b), fsize - 1000);
    smmap_buffer_free(b);

    b = make_buffer(c, 1000, 500);
    ASSERT_EQ(smmap_buffer_size(b), 500u);
    smmap_buffer_free(b);

    b = make_buffer(c, fsize - 10, 1000);
    ASSERT_EQ(smmap_buffer_size(b), 10u, "a size past the end is clipped");
    smmap_buffer_free(b);

    b = make_buffer(c, 5, UINT64_MAX);
    ASSERT_EQ(smmap_buffer_size(b), fsize - 5);
    smmap_buffer_free(b);

    b = make_buffer(c, fsize, 0);
    ASSERT_EQ(smmap_buffer_size(b), 0u, "offset at the end gives an empty buffer");
    ASSERT_EQ(smmap_buffer_byte(b, 0), SMMAP_EINVAL);
    ASSERT_EQ(smmap_buffer_byte(b, -1), SMMAP_EINVAL);
    unsigned char x[4];
    ASSERT_EQ(smmap_buffer_read(b, 0, 10, x, sizeof x), 0);
    smmap_buffer_free(b);

    b = (smmap_buffer *)(uintptr_t)1;
    ASSERT_EQ(smmap_buffer_new(c, fsize + 1, 0, &b), SMMAP_EOF);
    ASSERT_EQ(smmap_buffer_new(c, 10 * GiB, 5, &b), SMMAP_EOF);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(buffer, byte_access_and_negative_indexes)
{
    uint64_t fsize = 300 * KiB, off = 12345, size = 200 * KiB + 7;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", fsize, 42));
    smmap_buffer *b = make_buffer(c, off, size);
    int64_t n = (int64_t)size;

    ASSERT_EQ(smmap_buffer_byte(b, 0), util_byte(42, off));
    ASSERT_EQ(smmap_buffer_byte(b, n - 1), util_byte(42, off + size - 1));
    ASSERT_EQ(smmap_buffer_byte(b, -1), util_byte(42, off + size - 1));
    ASSERT_EQ(smmap_buffer_byte(b, -n), util_byte(42, off));
    ASSERT_EQ(smmap_buffer_byte(b, -2), util_byte(42, off + size - 2));
    ASSERT_EQ(smmap_buffer_byte(b, n), SMMAP_EINVAL);
    ASSERT_EQ(smmap_buffer_byte(b, -n - 1), SMMAP_EINVAL);
    ASSERT_EQ(smmap_buffer_byte(b, INT64_MAX), SMMAP_EINVAL);
    ASSERT_EQ(smmap_buffer_byte(b, INT64_MIN), SMMAP_EINVAL);

    /* every byte, forwards then backwards through windows */
    for (int64_t i = 0; i < n; i += 1 + (i % 7))
        ASSERT_EQ(smmap_buffer_byte(b, i), util_byte(42, off + (uint64_t)i), "index %lld",
                     (long long)i);
    for (int64_t i = -1; i >= -n; i -= 1 + (-i % 5))
        ASSERT_EQ(smmap_buffer_byte(b, i), util_byte(42, off + (uint64_t)(n + i)),
                     "index %lld", (long long)i);
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(buffer, slices_follow_python_rules)
{
    uint64_t fsize = 200 * KiB, off = 3333, size = 150 * KiB;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", fsize, 43));
    smmap_buffer *b = make_buffer(c, off, size);
    int64_t n = (int64_t)size;
    unsigned char *dst = malloc(size + 16);

    struct { int64_t start, stop; int64_t len; } fixed[] = {
        {0, n, n},          {0, INT64_MAX, n},   {INT64_MIN, INT64_MAX, n},
        {-10, n, 10},       {-10, INT64_MAX, 10}, {0, -1, n - 1},
        {5, 2, 0},          {5, 5, 0},           {0, 0, 0},
        {-1000000000, 5, 5}, {n, n + 10, 0},     {n + 5, 2, 0},
        {-1, -2, 0},        {-5, -1, 4},         {INT64_MIN, INT64_MIN, 0},
        {100, 101, 1},      {-n, -n + 3, 3},     {-n - 1, 3, 3},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        int64_t begin, len;
        py_slice(n, fixed[i].start, fixed[i].stop, &begin, &len);
        ASSERT_EQ(len, fixed[i].len, "reference slice broken");
        memset(dst, 0, size + 16);
        int64_t got = smmap_buffer_read(b, fixed[i].start, fixed[i].stop, dst, size + 16);
        ASSERT_EQ(got, len, "[%lld:%lld] gave %lld bytes, want %lld",
                     (long long)fixed[i].start, (long long)fixed[i].stop, (long long)got,
                     (long long)len);
        ASSERT_EQ(util_mismatch(43, off + (uint64_t)begin, dst, (size_t)len), -1,
                     "[%lld:%lld] wrong bytes", (long long)fixed[i].start,
                     (long long)fixed[i].stop);
    }

    /* random slices, random caps */
    uint64_t rs = 43;
    for (int i = 0; i < 2000; i++) {
        int64_t start = (int64_t)util_below(&rs, 2 * size + 20) - n - 10;
        int64_t stop = (int64_t)util_below(&rs, 2 * size + 20) - n - 10;
        size_t cap = i % 4 == 0 ? util_below(&rs, 1000) : size + 16;
        int64_t begin, len;
        py_slice(n, start, stop, &begin, &len);
        if ((uint64_t)len > cap)
            len = (int64_t)cap;
        int64_t got = smmap_buffer_read(b, start, stop, dst, cap);
        ASSERT_EQ(got, len, "[%lld:%lld] cap %zu gave %lld, want %lld", (long long)start,
                     (long long)stop, cap, (long long)got, (long long)len);
        ASSERT_EQ(util_mismatch(43, off + (uint64_t)begin, dst, (size_t)len), -1);
    }

    /* cap limits what is copied: nothing past it is written */
    memset(dst, 0xEE, 64);
    ASSERT_EQ(smmap_buffer_read(b, 0, n, dst, 10), 10);
    ASSERT_EQ(util_mismatch(43, off, dst, 10), -1);
    for (int i = 10; i < 64; i++)
        ASSERT_EQ(dst[i], 0xEE, "byte %d written past cap", i);

    ASSERT_EQ(smmap_buffer_read(b, 0, n, NULL, 0), 0);
    ASSERT_EQ(smmap_buffer_read(b, 0, n, NULL, 10), SMMAP_EINVAL);
    ASSERT_EQ(smmap_buffer_read(NULL, 0, n, dst, 10), SMMAP_EINVAL);
    free(dst);
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(buffer, spans_many_windows)
{
    size_t pg = util_page();
    uint64_t fsize = 2 * MiB + 999, off = 7777, size = fsize - 7777 - 1234;
    smmap_manager *m = UTIL_MANAGER(.window_size = 2 * pg, .max_memory = 8 * pg,
                                    .max_handles = 3);
    smmap_cursor *c = util_cursor(m, util_make_file("f", fsize, 44));
    smmap_buffer *b = make_buffer(c, off, size);
    ASSERT_EQ(smmap_buffer_size(b), size);
    unsigned char *dst = malloc(size);
    /* in pieces, each continuing the last: the windows slide */
    for (uint64_t at = 0; at < size; at += 10000) {
        uint64_t n = size - at < 10000 ? size - at : 10000;
        ASSERT_EQ(smmap_buffer_read(b, (int64_t)at, (int64_t)(at + n), dst + at, n),
                     (int64_t)n);
    }
    ASSERT_EQ(util_mismatch(44, off, dst, size), -1, "first wrong byte at %lld",
                 (long long)util_mismatch(44, off, dst, size));
    smmap_stats st = util_stats(m);
    ASSERT_GT(st.misses, 200u, "2 MiB read on through 8 KiB windows: %llu misses",
                 (unsigned long long)st.misses);
    /* at once */
    memset(dst, 0, size);
    ASSERT_EQ(smmap_buffer_read(b, 0, (int64_t)size, dst, size), (int64_t)size);
    ASSERT_EQ(util_mismatch(44, off, dst, size), -1, "first wrong byte at %lld",
                 (long long)util_mismatch(44, off, dst, size));
    ASSERT_EQ(smmap_buffer_read(b, -(int64_t)(100 * KiB), INT64_MAX, dst, size),
                 (int64_t)(100 * KiB));
    ASSERT_EQ(util_mismatch(44, off + size - 100 * KiB, dst, 100 * KiB), -1);
    uint64_t rs = 44;
    for (int i = 0; i < 20000; i++) {
        int64_t idx = (int64_t)util_below(&rs, size);
        if (i & 1)
            idx -= (int64_t)size;
        uint64_t abs = off + (uint64_t)(idx < 0 ? idx + (int64_t)size : idx);
        ASSERT_EQ(smmap_buffer_byte(b, idx), util_byte(44, abs), "index %lld",
                     (long long)idx);
    }
    st = util_stats(m);
    ASSERT_LE(st.windows_peak, 3u);
    free(dst);
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(buffer, own_cursor)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 45));
    ASSERT_EQ(smmap_use(c, 800 * KiB, 64), 0);
    const unsigned char *d = smmap_data(c);
    smmap_buffer *b = make_buffer(c, 0, 0);
    smmap_cursor *bc = smmap_buffer_cursor(b);
    ASSERT_NOT_NULL(bc);
    ASSERT_NE(bc, c, "the buffer uses its own duplicate");
    ASSERT_EQ(smmap_buffer_byte(b, 10), util_byte(45, 10));
    unsigned char tmp[1000];
    ASSERT_EQ(smmap_buffer_read(b, 300 * KiB, 300 * KiB + 1000, tmp, sizeof tmp), 1000);
    ASSERT_EQ(util_mismatch(45, 300 * KiB, tmp, 1000), -1);
    /* the caller's cursor did not move */
    ASSERT_EQ(smmap_valid(c), 1);
    ASSERT_EQ(smmap_data(c), d);
    ASSERT_EQ(smmap_begin(c), 800 * KiB);
    ASSERT_EQ(util_mismatch(45, 800 * KiB, smmap_data(c), 64), -1);
    /* the buffer outlives the cursor it was made from */
    smmap_cursor_free(c);
    ASSERT_EQ(smmap_buffer_byte(b, -1), util_byte(45, 1 * MiB - 1));
    ASSERT_EQ(smmap_buffer_read(b, 5, 1005, tmp, sizeof tmp), 1000);
    ASSERT_EQ(util_mismatch(45, 5, tmp, 1000), -1);
    smmap_buffer_free(b);
    smmap_manager_free(m);
}

TEST(buffer, empty_file)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("empty", 0, 46));
    smmap_buffer *b = make_buffer(c, 0, 0);
    ASSERT_EQ(smmap_buffer_size(b), 0u);
    ASSERT_EQ(smmap_buffer_byte(b, 0), SMMAP_EINVAL);
    unsigned char x[8];
    ASSERT_EQ(smmap_buffer_read(b, 0, 8, x, sizeof x), 0);
    smmap_buffer_free(b);
    ASSERT_EQ(smmap_buffer_new(c, 1, 0, &b), SMMAP_EOF);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(buffer, null_arguments)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1000, 47));
    smmap_buffer *b = (smmap_buffer *)(uintptr_t)1;
    ASSERT_EQ(smmap_buffer_new(NULL, 0, 0, &b), SMMAP_EINVAL);
    ASSERT_EQ(smmap_buffer_new(c, 0, 0, NULL), SMMAP_EINVAL);
    smmap_buffer_free(NULL);
    ASSERT_EQ(smmap_buffer_size(NULL), 0u);
    ASSERT_NULL(smmap_buffer_cursor(NULL));
    ASSERT_EQ(smmap_buffer_byte(NULL, 0), SMMAP_EINVAL);
    unsigned char x[8];
    ASSERT_EQ(smmap_buffer_read(NULL, 0, 8, x, sizeof x), SMMAP_EINVAL);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
