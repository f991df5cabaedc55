/*
 * test_leaks.c - lifetimes: after freeing everything every descriptor and
 * mapping is released; a manager freed before its cursors lives on through
 * them; failed calls leak nothing.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open cursors of every kind, map windows, read, make buffers. */
static void workout(smmap_manager *m, const char *p1, const char *p2, smmap_cursor *out[6],
                    smmap_buffer **buf)
{
    out[0] = util_cursor(m, p1);
    out[1] = util_cursor(m, p2);
    int fd = open(p1, O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, &out[2]), 0);
    close(fd);
    ASSERT_EQ(smmap_use(out[0], 10, 100), 0);
    ASSERT_EQ(smmap_cursor_dup(out[0], &out[3]), 0);
    ASSERT_EQ(smmap_use(out[1], 500 * KiB, 100), 0);
    ASSERT_EQ(smmap_use(out[2], 900 * KiB, 100), 0);
    unsigned char tmp[300 * 1024];
    ASSERT_EQ(smmap_read(out[3], tmp, sizeof tmp, 100 * KiB), (int64_t)sizeof tmp);
    ASSERT_EQ(util_mismatch(81, 100 * KiB, tmp, sizeof tmp), -1);
    out[4] = util_cursor(m, p2);
    ASSERT_EQ(smmap_read(out[4], tmp, sizeof tmp, 0), (int64_t)sizeof tmp);
    ASSERT_EQ(util_mismatch(82, 0, tmp, sizeof tmp), -1);
    ASSERT_EQ(smmap_cursor_dup(out[4], &out[5]), 0);
    ASSERT_EQ(smmap_buffer_new(out[1], 1000, 0, buf), 0);
    ASSERT_EQ(smmap_buffer_byte(*buf, -1), util_byte(82, 1 * MiB - 1));
    ASSERT_EQ(smmap_buffer_read(*buf, 0, 200 * 1024, tmp, sizeof tmp), 200 * 1024);
    ASSERT_EQ(util_mismatch(82, 1000, tmp, 200 * 1024), -1);
}

static void check_all_released(int kind)
{
    const char *p1 = util_make_file("f1", 1 * MiB, 81);
    const char *p2 = util_make_file("f2", 1 * MiB, 82);
    int fds0 = util_count_fds();
    ASSERT_EQ(util_maps_of(p1, NULL, 0), 0);

    smmap_manager *m = UTIL_MANAGER(.kind = kind,
                                    .window_size = kind == SMMAP_SLIDING ? 64 * KiB : 0);
    smmap_cursor *c[6];
    smmap_buffer *b;
    workout(m, p1, p2, c, &b);
    ASSERT_GT(util_maps_of(p1, NULL, 0), 0);
    ASSERT_GT(util_maps_of(p2, NULL, 0), 0);
    ASSERT_EQ(util_fds_of(p1), 1, "one descriptor per file");
    ASSERT_EQ(util_fds_of(p2), 1);
    ASSERT_EQ(util_count_fds(), fds0 + 2);

    smmap_buffer_free(b);
    for (int i = 0; i < 6; i++)
        smmap_cursor_free(c[i]);
    smmap_manager_free(m);
    ASSERT_EQ(util_maps_of(p1, NULL, 0), 0, "mappings of f1 left");
    ASSERT_EQ(util_maps_of(p2, NULL, 0), 0, "mappings of f2 left");
    ASSERT_EQ(util_fds_of(p1), 0);
    ASSERT_EQ(util_fds_of(p2), 0);
    ASSERT_EQ(util_count_fds(), fds0, "%d descriptors, %d before", util_count_fds(), fds0);
}

TEST(leaks, all_released_sliding)
{
    check_all_released(SMMAP_SLIDING);
}

TEST(leaks, all_released_static)
{
    check_all_released(SMMAP_STATIC);
}

/* Cursors freed, manager alive: the idle windows stay cached (and keep
 * their file open) until collect or the manager goes. */
TEST(leaks, cached_until_collect)
{
    const char *p1 = util_make_file("f1", 1 * MiB, 81);
    const char *p2 = util_make_file("f2", 1 * MiB, 82);
    int fds0 = util_count_fds();
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c[6];
    smmap_buffer *b;
    workout(m, p1, p2, c, &b);
    smmap_buffer_free(b);
    for (int i = 0; i < 6; i++)
        smmap_cursor_free(c[i]);
    smmap_stats st = util_stats(m);
    ASSERT_GT(st.windows, 0u, "idle windows are kept as a cache");
    /* Bytes, not lines: neighbouring windows may share one line of maps. */
    ASSERT_EQ(util_mapped_bytes(p1) + util_mapped_bytes(p2), st.mapped);
    int n = smmap_collect(m);
    ASSERT_EQ((uint64_t)n, st.windows);
    st = util_stats(m);
    ASSERT_EQ(st.windows, 0u);
    ASSERT_EQ(st.mapped, 0u);
    ASSERT_EQ(st.files, 0u, "no cursor uses the files: closed");
    ASSERT_EQ(util_maps_of(p1, NULL, 0), 0);
    ASSERT_EQ(util_maps_of(p2, NULL, 0), 0);
    ASSERT_EQ(util_count_fds(), fds0);
    smmap_manager_free(m);
    ASSERT_EQ(util_count_fds(), fds0);
}

/* Freeing a manager with idle cached windows releases them. */
TEST(leaks, manager_free_releases_cache)
{
    const char *p = util_make_file("f", 1 * MiB, 83);
    int fds0 = util_count_fds();
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    for (uint64_t off = 0; off < 1 * MiB; off += 128 * KiB)
        ASSERT_EQ(smmap_use(c, off, 10), 0);
    smmap_cursor_free(c);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 8);
    smmap_manager_free(m);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 0);
    ASSERT_EQ(util_count_fds(), fds0);
}

TEST(leaks, manager_freed_before_cursors)
{
    const char *p1 = util_make_file("f1", 1 * MiB, 81);
    const char *p2 = util_make_file("f2", 1 * MiB, 82);
    int fds0 = util_count_fds();
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_handles = 3);
    smmap_cursor *c[6];
    smmap_buffer *b;
    workout(m, p1, p2, c, &b);
    smmap_manager_free(m); /* the caller's reference only */

    /* everything keeps working through the cursors */
    unsigned char tmp[200 * 1024];
    for (int i = 0; i < 6; i++) {
        uint32_t salt = i == 1 || i >= 4 ? 82 : 81;
        uint64_t off = (uint64_t)i * 100 * KiB + 7;
        ASSERT_EQ(smmap_use(c[i], off, 1000), 0, "cursor %d", i);
        ASSERT_EQ(util_mismatch(salt, off, smmap_data(c[i]), 1000), -1);
        ASSERT_EQ(smmap_read(c[i], tmp, sizeof tmp, 1 * MiB - 150 * KiB), 150 * 1024);
        ASSERT_EQ(util_mismatch(salt, 1 * MiB - 150 * KiB, tmp, 150 * KiB), -1);
    }
    ASSERT_EQ(smmap_buffer_byte(b, 0), util_byte(82, 1000));
    smmap_cursor *d;
    ASSERT_EQ(smmap_cursor_dup(c[0], &d), 0);
    ASSERT_EQ(smmap_use(d, 700 * KiB, 10), 0);
    ASSERT_EQ(util_mismatch(81, 700 * KiB, smmap_data(d), 10), -1);
    smmap_buffer *b2;
    ASSERT_EQ(smmap_buffer_new(d, 5, 100, &b2), 0);
    ASSERT_EQ(smmap_buffer_byte(b2, 99), util_byte(81, 104));

    smmap_cursor_free(d);
    smmap_buffer_free(b);
    for (int i = 0; i < 5; i++)
        smmap_cursor_free(c[i]);
    /* the last cursors keep it alive */
    ASSERT_EQ(smmap_buffer_byte(b2, 0), util_byte(81, 5));
    ASSERT_EQ(smmap_use(c[5], 3, 3), 0);
    ASSERT_EQ(util_mismatch(82, 3, smmap_data(c[5]), 3), -1);
    smmap_cursor_free(c[5]);
    ASSERT_EQ(smmap_buffer_byte(b2, -1), util_byte(81, 104));
    smmap_buffer_free(b2);
    /* gone with the last one */
    ASSERT_EQ(util_maps_of(p1, NULL, 0), 0);
    ASSERT_EQ(util_maps_of(p2, NULL, 0), 0);
    ASSERT_EQ(util_count_fds(), fds0, "%d descriptors, %d before", util_count_fds(), fds0);
}

TEST(leaks, failed_calls_leak_nothing, .timeout = 10)
{
    const char *p = util_make_file("f", 100 * KiB, 84);
#ifndef _WIN32
    const char *fifo = util_path("fifo");
    ASSERT_EQ(mkfifo(fifo, 0600), 0);
#endif
    int fds0 = util_count_fds();
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c;
    for (int i = 0; i < 50; i++) {
        ASSERT_LT(smmap_cursor_new(m, util_path("missing"), &c), 0);
        ASSERT_LT(smmap_cursor_new(m, t_dir(), &c), 0);
        ASSERT_LT(smmap_cursor_new_fd(m, 1000000, &c), 0);
#ifdef _WIN32
        ASSERT_LT(smmap_cursor_new(m, "NUL", &c), 0);
#else
        ASSERT_LT(smmap_cursor_new(m, fifo, &c), 0);
        ASSERT_LT(smmap_cursor_new(m, "/dev/null", &c), 0);
        int dfd = open(t_dir(), O_RDONLY | O_DIRECTORY);
        ASSERT_LT(smmap_cursor_new_fd(m, dfd, &c), 0);
        close(dfd);
#endif
    }
    c = util_cursor(m, p);
    for (int i = 0; i < 50; i++) {
        ASSERT_EQ(smmap_use(c, 100 * KiB, 1), SMMAP_EOF);
        ASSERT_EQ(smmap_use(c, UINT64_MAX, 2), SMMAP_EINVAL);
        smmap_buffer *b;
        ASSERT_EQ(smmap_buffer_new(c, 200 * KiB, 1, &b), SMMAP_EOF);
    }
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.files, 1u);
    ASSERT_EQ(st.windows, 0u);
    ASSERT_EQ(util_count_fds(), fds0 + 1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
    ASSERT_EQ(util_count_fds(), fds0);
}

TEST(leaks, repeated_create_free)
{
    const char *p = util_make_file("f", 256 * KiB, 85);
    int fds0 = util_count_fds();
    for (int i = 0; i < 300; i++) {
        smmap_manager *m = UTIL_MANAGER(.kind = i % 2 ? SMMAP_STATIC : SMMAP_SLIDING,
                                        .window_size = i % 2 ? 0 : 64 * KiB);
        smmap_cursor *c = util_cursor(m, p), *d;
        ASSERT_EQ(smmap_use(c, (uint64_t)i * 700 % (256 * KiB), 16), 0);
        ASSERT_EQ(smmap_cursor_dup(c, &d), 0);
        if (i % 3 == 0)
            smmap_manager_free(m);
        smmap_cursor_free(c);
        smmap_cursor_free(d);
        if (i % 3 != 0)
            smmap_manager_free(m);
    }
    ASSERT_EQ(util_maps_of(p, NULL, 0), 0);
    ASSERT_EQ(util_count_fds(), fds0);
}
