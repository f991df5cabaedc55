/*
 * test_cursor.c - cursors: what they report before and after smmap_use(),
 * spans and windows, end of file, overflow, NULL arguments, and the
 * guarantee that a request of up to window_size/2 bytes is whole.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>
#include <stdlib.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void expect_invalid(const smmap_cursor *c)
{
    ASSERT_EQ(smmap_valid(c), 0);
    ASSERT_NULL(smmap_data(c));
    ASSERT_EQ(smmap_size(c), 0u);
    ASSERT_EQ(smmap_includes(c, 0), 0);
    ASSERT_EQ(smmap_window_begin(c), 0u);
    ASSERT_EQ(smmap_window_end(c), 0u);
    ASSERT_EQ(smmap_window_users(c), SMMAP_ECURSOR, "users %d of an invalid cursor",
                  smmap_window_users(c));
}

TEST(cursor, fresh_cursor_from_path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", util_make_file("f", 12345, 1));
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    char given[4096];
    memcpy(given, p, sizeof p);
    memset(p, 'x', strlen(p)); /* the cursor must have kept its own copy */
    expect_invalid(c);
    ASSERT_EQ(smmap_file_size(c), 12345);
    ASSERT_EQ(smmap_file_stat(c), 12345);
    ASSERT_NOT_NULL(smmap_cursor_path(c));
    ASSERT_STR_EQ(smmap_cursor_path(c), given);
    ASSERT_EQ(smmap_cursor_fd(c), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(cursor, fresh_cursor_from_fd)
{
    const char *p = util_make_file("f", 100 * KiB, 2);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    int fd = open(p, O_RDONLY);
    ASSERT_GE(fd, 0);
    smmap_cursor *c = NULL;
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, &c), 0);
    ASSERT_EQ(smmap_cursor_fd(c), fd);
    ASSERT_NULL(smmap_cursor_path(c));
    ASSERT_EQ(smmap_file_size(c), (int64_t)(100 * KiB));
    /* the manager duplicated fd: closing ours must not matter */
    close(fd);
    ASSERT_EQ(smmap_use(c, 70 * KiB, 1000), 0);
    ASSERT_EQ(util_mismatch(2, 70 * KiB, smmap_data(c), 1000), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(cursor, span_and_window_after_use)
{
    size_t pg = util_page();
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 3));
    uint64_t off = 300 * KiB + 17;
    ASSERT_EQ(smmap_use(c, off, 1000), 0);
    ASSERT_EQ(smmap_valid(c), 1);
    ASSERT_EQ(smmap_size(c), 1000u);
    ASSERT_EQ(smmap_begin(c), off);
    ASSERT_EQ(smmap_end(c), off + 1000);
    ASSERT(smmap_includes(c, off));
    ASSERT(smmap_includes(c, off + 999));
    ASSERT(!smmap_includes(c, off + 1000 + 64 * KiB));
    ASSERT(!smmap_includes(c, 0));
    uint64_t wb = smmap_window_begin(c), we = smmap_window_end(c);
    ASSERT_LE(wb, off);
    ASSERT_GE(we, off + 1000);
    ASSERT_EQ(wb % pg, 0u, "window begin %llu not page aligned", (unsigned long long)wb);
    ASSERT_LE(we - wb, 64 * KiB);
    ASSERT_EQ(smmap_window_users(c), 1);
    ASSERT_EQ(util_mismatch(3, off, smmap_data(c), 1000), -1);
    /* the whole window is readable through the pointer and correct */
    const unsigned char *wdata = smmap_data(c) - (off - wb);
    ASSERT_EQ(util_mismatch(3, wb, wdata, we - wb), -1);

    smmap_unuse(c);
    expect_invalid(c);
    smmap_unuse(c); /* harmless twice */
    expect_invalid(c);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(cursor, size_zero_means_rest_of_window)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 4));
    ASSERT_EQ(smmap_use(c, 100 * KiB + 5, 0), 0);
    ASSERT_GT(smmap_size(c), 0u);
    ASSERT_EQ(smmap_end(c), smmap_window_end(c),
                 "size 0 gives as much as the window holds");
    ASSERT_GE(smmap_size(c), 32 * KiB);
    ASSERT_EQ(util_mismatch(4, 100 * KiB + 5, smmap_data(c), smmap_size(c)), -1);

    /* near the end of the file: up to the end */
    ASSERT_EQ(smmap_use(c, 1 * MiB - 10, 0), 0);
    ASSERT_EQ(smmap_size(c), 10u);
    ASSERT_EQ(util_mismatch(4, 1 * MiB - 10, smmap_data(c), 10), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(cursor, end_of_file)
{
    uint64_t size = 200 * KiB + 3;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 5));

    /* clipped at the end */
    ASSERT_EQ(smmap_use(c, size - 100, 1000), 0);
    ASSERT_EQ(smmap_size(c), 100u);
    ASSERT_EQ(smmap_end(c), size);
    ASSERT_EQ(util_mismatch(5, size - 100, smmap_data(c), 100), -1);
    /* last byte */
    ASSERT_EQ(smmap_use(c, size - 1, 1), 0);
    ASSERT_EQ(smmap_size(c), 1u);
    ASSERT_EQ(smmap_data(c)[0], util_byte(5, size - 1));

    /* at and past the end; the cursor is left not valid */
    ASSERT_EQ(smmap_use(c, size, 1), SMMAP_EOF);
    expect_invalid(c);
    ASSERT_EQ(smmap_use(c, 10, 10), 0);
    ASSERT_EQ(smmap_use(c, size, 0), SMMAP_EOF);
    expect_invalid(c);
    ASSERT_EQ(smmap_use(c, size + 1, 1), SMMAP_EOF);
    ASSERT_EQ(smmap_use(c, 10 * GiB, 1), SMMAP_EOF);
    ASSERT_EQ(smmap_use(c, (uint64_t)INT64_MAX, 0), SMMAP_EOF);
    expect_invalid(c);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(cursor, offset_plus_size_overflow)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 10 * KiB, 6));
    ASSERT_EQ(smmap_use(c, 0, 10), 0);
    ASSERT_EQ(smmap_use(c, UINT64_MAX - 5, 10), SMMAP_EINVAL);
    expect_invalid(c);
    ASSERT_EQ(smmap_use(c, UINT64_MAX, 1), SMMAP_EINVAL);
    ASSERT_EQ(smmap_use(c, UINT64_MAX, SIZE_MAX), SMMAP_EINVAL);
    if (sizeof(size_t) >= 8)
        ASSERT_EQ(smmap_use(c, 1, SIZE_MAX), SMMAP_EINVAL);
    /* still usable afterwards */
    ASSERT_EQ(smmap_use(c, 5, 10), 0);
    ASSERT_EQ(util_mismatch(6, 5, smmap_data(c), 10), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(cursor, null_arguments)
{
    const char *p = util_make_file("f", 10 * KiB, 7);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = (smmap_cursor *)(uintptr_t)1;

    ASSERT_EQ(smmap_cursor_new(NULL, p, &c), SMMAP_EINVAL);
    ASSERT_EQ(smmap_cursor_new(m, NULL, &c), SMMAP_EINVAL);
    ASSERT_EQ(smmap_cursor_new(m, p, NULL), SMMAP_EINVAL);
    ASSERT_EQ(smmap_cursor_new(m, "", &c), SMMAP_EINVAL);
    int fd = open(p, O_RDONLY);
    ASSERT_EQ(smmap_cursor_new_fd(NULL, fd, &c), SMMAP_EINVAL);
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, NULL), SMMAP_EINVAL);
    ASSERT_EQ(smmap_cursor_new_fd(m, -1, &c), SMMAP_EINVAL);
    ASSERT_EQ(smmap_cursor_new_fd(m, -12345, &c), SMMAP_EINVAL);
    close(fd);
    ASSERT_EQ(smmap_cursor_dup(NULL, &c), SMMAP_EINVAL);

    smmap_cursor *ok = util_cursor(m, p);
    ASSERT_EQ(smmap_cursor_dup(ok, NULL), SMMAP_EINVAL);

    smmap_cursor_free(NULL);
    ASSERT_EQ(smmap_use(NULL, 0, 1), SMMAP_EINVAL);
    smmap_unuse(NULL);
    ASSERT_NULL(smmap_data(NULL));
    ASSERT_EQ(smmap_size(NULL), 0u);
    (void)smmap_begin(NULL);
    (void)smmap_end(NULL);
    ASSERT_EQ(smmap_includes(NULL, 0), 0);
    ASSERT_EQ(smmap_window_begin(NULL), 0u);
    ASSERT_EQ(smmap_window_end(NULL), 0u);
    ASSERT_EQ(smmap_window_users(NULL), SMMAP_EINVAL);
    ASSERT_EQ(smmap_valid(NULL), 0);
    ASSERT_EQ(smmap_file_size(NULL), SMMAP_EINVAL);
    ASSERT_LT(smmap_file_stat(NULL), 0);
    ASSERT_NULL(smmap_cursor_path(NULL));
    ASSERT_EQ(smmap_cursor_fd(NULL), -1);
    smmap_cursor_free(ok);
    smmap_manager_free(m);
}

TEST(cursor, file_stat_rereads_size)
{
    const char *p = util_make_file("f", 5000, 8);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_file_size(c), 5000);
    util_append(p, 5000, 3000, 8);
    ASSERT_EQ(smmap_file_stat(c), 8000);
    /* a miss re-reads the size too */
    ASSERT_EQ(smmap_use(c, 7000, 1000), 0);
    ASSERT_EQ(smmap_file_size(c), 8000);
    ASSERT_EQ(util_mismatch(8, 7000, smmap_data(c), 1000), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* Requests of up to window/2 bytes inside the file are whole and
 * contiguous, for several window sizes, at random and at grid edges. */
static void check_half_window(size_t window, uint64_t file_size, uint32_t salt, int rounds)
{
    char name[32];
    snprintf(name, sizeof name, "f%zu", window);
    const char *p = util_make_file(name, file_size, salt);
    unsigned char *img = util_image(salt, file_size);
    smmap_manager *m = UTIL_MANAGER(.window_size = window);
    smmap_options e;
    smmap_manager_options(m, &e);
    size_t half = e.window_size / 2;
    smmap_cursor *c = util_cursor(m, p);
    uint64_t rs = window * 31 + salt;
    for (long i = 0; i < util_ops(rounds); i++) {
        uint64_t off, want;
        switch (i % 4) {
        case 0: /* anywhere */
            off = util_below(&rs, file_size);
            want = 1 + util_below(&rs, half);
            break;
        case 1: /* exactly half a window */
            off = util_below(&rs, file_size);
            want = half;
            break;
        case 2: /* ending just past a page boundary */
            off = (util_below(&rs, file_size / util_page()) + 1) * util_page();
            off = off > half / 2 ? off - util_below(&rs, half / 2) - 1 : 0;
            want = half;
            break;
        default: /* starting just below a multiple of half */
            off = util_below(&rs, file_size / half + 1) * half;
            off = off >= 1 + 3 ? off - 1 - util_below(&rs, 3) : 0;
            want = 1 + util_below(&rs, half);
            break;
        }
        if (off >= file_size)
            off = file_size - 1;
        uint64_t expect = want < file_size - off ? want : file_size - off;
        int rc = smmap_use(c, off, want);
        ASSERT_EQ(rc, 0, "window %zu: use(%llu, %llu): %s", window,
                     (unsigned long long)off, (unsigned long long)want, smmap_strerror(rc));
        ASSERT_EQ(smmap_size(c), expect, "window %zu: use(%llu, %llu) gave %zu bytes",
                     window, (unsigned long long)off, (unsigned long long)want,
                     smmap_size(c));
        ASSERT_EQ(smmap_begin(c), off);
        ASSERT_LE(smmap_window_end(c) - smmap_window_begin(c), e.window_size);
        ASSERT(memcmp(smmap_data(c), img + off, expect) == 0,
                  "window %zu: wrong bytes at %llu (+%lld)", window, (unsigned long long)off,
                  (long long)util_mismatch(salt, off, smmap_data(c), expect));
    }
    smmap_cursor_free(c);
    smmap_manager_free(m);
    free(img);
}

TEST(cursor, half_window_requests_whole)
{
    size_t pg = util_page();
    check_half_window(64 * KiB, 4 * MiB + 1234, 21, 20000);
    check_half_window(2 * pg, 1 * MiB + 77, 22, 20000);
    check_half_window(5 * pg, 1 * MiB + 5, 23, 20000);
    check_half_window(1 * MiB, 6 * MiB + 999, 24, 5000);
}

/* Larger requests may be cut at a window edge, never elsewhere. */
TEST(cursor, large_requests_start_at_offset)
{
    uint64_t size = 2 * MiB + 100;
    unsigned char *img = util_image(25, size);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, 25));
    uint64_t rs = 99;
    for (int i = 0; i < 5000; i++) {
        uint64_t off = util_below(&rs, size);
        size_t want = 32 * KiB + 1 + util_below(&rs, 200 * KiB);
        ASSERT_EQ(smmap_use(c, off, want), 0);
        size_t got = smmap_size(c);
        ASSERT_GE(got, 1u);
        ASSERT_LE(got, want);
        ASSERT_LE(got, size - off);
        ASSERT_EQ(smmap_begin(c), off);
        ASSERT(got == want || got == size - off || smmap_end(c) == smmap_window_end(c),
                  "use(%llu, %zu): short span [%llu,%llu) not at the edge of window "
                  "[%llu,%llu)", (unsigned long long)off, want,
                  (unsigned long long)smmap_begin(c), (unsigned long long)smmap_end(c),
                  (unsigned long long)smmap_window_begin(c),
                  (unsigned long long)smmap_window_end(c));
        ASSERT(memcmp(smmap_data(c), img + off, got) == 0);
    }
    smmap_cursor_free(c);
    smmap_manager_free(m);
    free(img);
}

/* A request longer than any window can hold is served as far as the window
 * of its offset reaches; asked again, it finds that window mapped rather
 * than mapping it anew, and so does another cursor. */
TEST(cursor, long_requests_reuse_windows)
{
    const char *p = util_make_file("f", 1 * MiB, 26);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p), *d = util_cursor(m, p);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(smmap_use(c, 40000, 60000), 0);
        ASSERT_EQ(smmap_window_begin(c), 32 * KiB);
        ASSERT_EQ(smmap_size(c), 96 * KiB - 40000, "cut at the window end");
        ASSERT_EQ(util_mismatch(26, 40000, smmap_data(c), smmap_size(c)), -1);
    }
    ASSERT_EQ(smmap_use(d, 40000, 60000), 0);
    ASSERT_EQ(smmap_window_users(d), 2, "d shares c's window");
    smmap_unuse(c);
    smmap_unuse(d);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.mmap_calls, 1, "mapped %llu times", (unsigned long long)st.mmap_calls);
    ASSERT_EQ(st.munmap_calls, 0);
    ASSERT_EQ(st.hits, 5);
    smmap_cursor_free(c);
    smmap_cursor_free(d);
    smmap_manager_free(m);
}

/* A cursor that runs off its window's end from its second half is reading
 * on: the next window comes with its page tables filled in. A first window
 * and a jump elsewhere are mapped as usual, to be faulted in on touch. */
#ifdef _WIN32
NOT_ON_WINDOWS(cursor, reading_on_maps_the_next_window_populated,
               "page tables are read from Linux's /proc/self/pagemap")
#else
static uint64_t window_resident(const smmap_cursor *c)
{
    const unsigned char *w = smmap_data(c) - (smmap_begin(c) - smmap_window_begin(c));
    return util_resident(w, (size_t)(smmap_window_end(c) - smmap_window_begin(c)));
}

TEST(cursor, reading_on_maps_the_next_window_populated)
{
    util_require_populate();
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 31));
    ASSERT_EQ(smmap_use(c, 0, 0), 0);
    ASSERT_EQ(window_resident(c), 0, "a first window: faulted in on touch");
    ASSERT_EQ(smmap_use(c, 64 * KiB, 0), 0, "on from the window's end");
    ASSERT_EQ(smmap_window_begin(c), 64 * KiB);
    ASSERT_EQ(window_resident(c), 64 * KiB, "populated");
    ASSERT_EQ(smmap_use(c, 128 * KiB - 10, 100), 0, "across the end, from the second half");
    ASSERT_EQ(smmap_window_begin(c), 96 * KiB);
    ASSERT_EQ(window_resident(c), 64 * KiB, "populated");
    ASSERT_EQ(smmap_use(c, 700 * KiB, 10), 0, "a jump");
    ASSERT_EQ(smmap_window_begin(c), 640 * KiB);
    ASSERT_EQ(window_resident(c), 0, "not populated");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
#endif
