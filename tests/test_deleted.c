/*
 * test_deleted.c - files deleted or replaced under a manager are given
 * back (smmap.h, "Deleted files"): what git gc does to packs under a
 * long-running reader. Nothing of the old file may stay mapped or open
 * once no cursor holds it and the next miss (a while after the last
 * check), smmap_collect() or smmap_make_room() came; a cursor still on it
 * keeps reading it.
 */
#include "util.h"

#include <smmap.h>

#define WINDOW (64 * KiB)
#define SIZE (1 * MiB + 123)
/* Longer than the library's interval between two checks on a miss. */
#define PAST_INTERVAL_MS 150

static smmap_manager *manager(void)
{
    util_require_deletion_seen();
    return UTIL_MANAGER(.window_size = WINDOW, .max_memory = 64 * MiB);
}

/* Map a (made with salt), let go of it, delete it: idle windows of a
 * deleted file. */
static void map_then_delete(smmap_manager *m, const char *a, uint32_t salt)
{
    smmap_cursor *c = util_cursor(m, a);
    util_read_windows(c, salt, SIZE);
    smmap_cursor_free(c);
    ASSERT_GT(util_stats(m).windows, 1u, "the windows stay cached");
    if (util_remove(a) != 0)
        SKIP("this system refuses to delete a file while a view of it exists");
    ASSERT_GT(util_deleted_held(), 0, "the deleted file is still held before a check");
}

TEST(deleted, given_back_at_next_miss)
{
    const char *a = util_make_file("a", SIZE, 1), *b = util_make_file("b", SIZE, 2);
    smmap_manager *m = manager();
    smmap_cursor *cb = util_cursor(m, b);
    int fds = util_count_fds();
    map_then_delete(m, a, 1);
    util_sleep_ms(PAST_INTERVAL_MS);
    ASSERT_EQ(smmap_use(cb, 100, 10), 0); /* a miss, on another file */
    EXPECT_EQ(util_deleted_held(), 0, "the deleted file is still mapped or open");
    EXPECT_EQ(util_count_fds(), fds, "its descriptor was not closed");
    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.files_deleted, 1u);
    EXPECT_EQ(s.windows, 1u, "only b's window is left");
    EXPECT_EQ(s.mapped, WINDOW);
    EXPECT_EQ(s.files, 1u);
    smmap_cursor_free(cb);
    smmap_manager_free(m);
}

/* The check on a miss is bounded in time: one right after another finds
 * nothing new, so a deletion in between waits for the interval (or for a
 * collect). */
TEST(deleted, miss_checks_at_most_once_per_interval)
{
    const char *a = util_make_file("a", SIZE, 1), *b = util_make_file("b", SIZE, 2);
    smmap_manager *m = manager();
    smmap_cursor *cb = util_cursor(m, b);
    ASSERT_EQ(smmap_collect(m), 0); /* a check now, with nothing deleted */
    map_then_delete(m, a, 1);
    ASSERT_EQ(smmap_use(cb, 100, 10), 0);
    smmap_stats s = util_stats(m);
    if (s.files_deleted == 0)
        EXPECT_GT(s.windows, 2u, "the idle windows went without a check");
    util_sleep_ms(PAST_INTERVAL_MS);
    ASSERT_EQ(smmap_use(cb, 600 * KiB, 10), 0);
    EXPECT_EQ(util_stats(m).files_deleted, 1u);
    EXPECT_EQ(util_deleted_held(), 0);
    smmap_cursor_free(cb);
    smmap_manager_free(m);
}

TEST(deleted, given_back_at_collect_and_make_room)
{
    const char *a = util_make_file("a", SIZE, 1);
    smmap_manager *m = manager();
    map_then_delete(m, a, 1);
    uint64_t windows = util_stats(m).windows;
    int n = smmap_make_room(m, 0); /* room for nothing: only the check frees */
    EXPECT_EQ((uint64_t)n, windows, "windows given back");
    EXPECT_EQ(util_deleted_held(), 0);
    EXPECT_EQ(util_stats(m).files, 0u);

    a = util_make_file("a2", SIZE, 3);
    map_then_delete(m, a, 3);
    EXPECT_GT(smmap_collect(m), 0);
    EXPECT_EQ(util_deleted_held(), 0);
    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.files_deleted, 2u);
    EXPECT_EQ(s.windows, 0u);
    EXPECT_EQ(s.mapped, 0u);
    smmap_manager_free(m);
}

/* Replaced by rename, as git does with a rewritten pack or index: the
 * name now leads to the new file, which reads as itself. The old one kept
 * another name here (a hard link), so only the path tells it was
 * replaced. */
TEST(deleted, replaced_by_rename)
{
    const char *a = util_make_file("a", SIZE, 1);
    util_link(a, util_path("old"));
    smmap_manager *m = manager();
    smmap_cursor *c = util_cursor(m, a);
    util_read_windows(c, 1, SIZE);
    smmap_cursor_free(c);
    ASSERT_GT(util_mapped_bytes(util_path("old")), 0u);
    util_make_file("new", SIZE / 2, 7);
    if (util_rename(util_path("new"), a) != 0)
        SKIP("this system refuses to replace a file while a view of it exists");
    util_sleep_ms(PAST_INTERVAL_MS);
    c = util_cursor(m, a);
    util_read_windows(c, 7, SIZE / 2);
    EXPECT_EQ(util_mapped_bytes(util_path("old")), 0u, "the replaced file is still mapped");
    EXPECT_EQ(util_fds_of(util_path("old")), 0, "the replaced file is still open");
    EXPECT_EQ(util_stats(m).files_deleted, 1u);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A cursor holds the file's descriptor, and with it the disk space: its
 * windows stay cached, and it reads on (mapping new windows) after the
 * deletion; when it goes, its windows go with it, without a check. */
TEST(deleted, in_use_keeps_working_until_let_go)
{
    if (util_valgrind())
        SKIP("valgrind 3.19 stops on mapping a deleted file (aspacem assertion "
             "'!is_freeslot(ix)' in its segment names)");
    const char *a = util_make_file("a", SIZE, 1);
    smmap_manager *m = manager();
    smmap_cursor *c = util_cursor(m, a);
    ASSERT_EQ(smmap_use(c, 0, 100), 0);
    if (util_remove(a) != 0) {
        smmap_cursor_free(c);
        SKIP("this system refuses to delete a file while a view of it exists");
    }
    EXPECT_EQ(smmap_collect(m), 0, "a window in use went");
    EXPECT_EQ(util_stats(m).files_deleted, 1u);
    util_read_windows(c, 1, SIZE);
    unsigned char buf[300];
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 700 * KiB), (int64_t)sizeof buf);
    EXPECT_EQ(util_mismatch(1, 700 * KiB, buf, sizeof buf), -1);
    EXPECT_GT(util_deleted_held(), 0);
    smmap_cursor_free(c);
    EXPECT_EQ(util_deleted_held(), 0, "the file outlived its last cursor");
    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.windows, 0u);
    EXPECT_EQ(s.files, 0u);
    smmap_manager_free(m);
}

/* A file that is still there is left alone by every check. */
TEST(deleted, files_still_there_stay_cached)
{
    const char *a = util_make_file("a", SIZE, 1);
    util_link(a, util_path("other-name"));
    smmap_manager *m = UTIL_MANAGER(.window_size = WINDOW, .max_memory = 64 * MiB);
    smmap_cursor *c = util_cursor(m, a);
    util_read_windows(c, 1, SIZE);
    uint64_t windows = util_stats(m).windows;
    ASSERT_EQ(util_remove(util_path("other-name")), 0); /* a has its name still */
    EXPECT_EQ(smmap_make_room(m, 0), 0);
    util_sleep_ms(PAST_INTERVAL_MS);
    ASSERT_EQ(smmap_use(c, 0, 10), 0);
    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.files_deleted, 0u);
    EXPECT_EQ(s.windows, windows);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
