/*
 * test_walk.c - smmap_manager_walk(): who holds what, checked against what
 * the test itself holds.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>
#include <string.h>

#define WINDOW (64 * KiB)
#define MAX_SEEN 64

struct seen {
    int n;
    struct {
        char path[512];
        smmap_window_info info;
    } e[MAX_SEEN];
};

static int record(void *arg, const smmap_window_info *info)
{
    struct seen *s = arg;
    if (s->n == MAX_SEEN)
        return -1;
    s->e[s->n].info = *info;
    snprintf(s->e[s->n].path, sizeof s->e[s->n].path, "%s", info->path ? info->path : "");
    s->e[s->n].info.path = NULL;
    s->n++;
    return 0;
}

static struct seen *walk(smmap_manager *m)
{
    static struct seen s;
    memset(&s, 0, sizeof s);
    int n = smmap_manager_walk(m, record, &s);
    EXPECT_EQ(n, s.n);
    return &s;
}

/* The entry of path's window that begins at begin, or NULL. */
static const smmap_window_info *entry(const struct seen *s, const char *path, uint64_t begin)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].path, path) && s->e[i].info.begin == begin)
            return &s->e[i].info;
    return NULL;
}

TEST(walk, windows_users_and_idle)
{
    const char *a = util_make_file("a", 1 * MiB, 1), *b = util_make_file("b", 100 * KiB, 2);
    smmap_manager *m = UTIL_MANAGER(.window_size = WINDOW);
    smmap_cursor *c1 = util_cursor(m, a), *c2 = util_cursor(m, a), *c3 = util_cursor(m, b);
    ASSERT_EQ(smmap_use(c1, 0, 100), 0);
    ASSERT_EQ(smmap_use(c2, 10, 100), 0);         /* the same window: 2 users */
    ASSERT_EQ(smmap_use(c3, 70 * KiB, 100), 0);   /* b's [64K, 100K) */
    ASSERT_EQ(smmap_use(c3, 200, 100), 0);        /* b's [0, 64K); the other idle */
    struct seen *s = walk(m);
    smmap_stats st = util_stats(m);
    EXPECT_EQ((uint64_t)s->n, st.windows, "one entry per window");
    const smmap_window_info *w = entry(s, a, 0);
    ASSERT_NOT_NULL(w);
    EXPECT_EQ(w->users, 2u);
    EXPECT_EQ(w->cursors, 2u);
    EXPECT_EQ(w->end, WINDOW);
    EXPECT_EQ(w->file_size, 1 * MiB);
    EXPECT_EQ(w->read, 0);
    EXPECT_EQ(w->deleted, 0);
    const smmap_window_info *b0 = entry(s, b, 0), *b1 = entry(s, b, WINDOW);
    ASSERT_NOT_NULL(b0);
    EXPECT_EQ(b0->users, 1u, "c3 uses b's first window");
    EXPECT_EQ(b0->cursors, 1u);
    ASSERT_NOT_NULL(b1);
    EXPECT_EQ(b1->users, 0u, "the window c3 left is idle, cached");
    EXPECT_EQ(b1->end, 100 * KiB);
    smmap_cursor_free(c1);
    s = walk(m);
    EXPECT_EQ(entry(s, a, 0)->users, 1u);
    EXPECT_EQ(entry(s, a, 0)->cursors, 1u);
    smmap_cursor_free(c2);
    smmap_cursor_free(c3);
    s = walk(m);
    for (int i = 0; i < s->n; i++) {
        EXPECT_EQ(s->e[i].info.users, 0u, "%s: in use after every cursor went", s->e[i].path);
        EXPECT_EQ(s->e[i].info.cursors, 0u);
    }
    smmap_collect(m);
    EXPECT_EQ(walk(m)->n, 0);
    smmap_manager_free(m);
}

/* A file a cursor holds open without a window, and one known by fd only. */
TEST(walk, open_files_without_windows)
{
    const char *a = util_make_file("a", 10 * KiB, 1);
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, a), *d = NULL;
    ASSERT_EQ(smmap_cursor_dup(c, &d), 0);
    struct seen *s = walk(m);
    ASSERT_EQ(s->n, 1);
    EXPECT_STR_EQ(s->e[0].path, a);
    EXPECT_EQ(s->e[0].info.cursors, 2u);
    EXPECT_EQ(s->e[0].info.begin, 0u);
    EXPECT_EQ(s->e[0].info.end, 0u, "no window");
    smmap_cursor_free(c);
    smmap_cursor_free(d);
    EXPECT_EQ(walk(m)->n, 0);
    smmap_manager_free(m);
}

static int stop_at_second(void *arg, const smmap_window_info *info)
{
    (void)info;
    return ++*(int *)arg == 2 ? -77 : 0;
}

static int positive(void *arg, const smmap_window_info *info)
{
    (void)arg, (void)info;
    return 1;
}

TEST(walk, stops_and_misuse)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = WINDOW);
    smmap_cursor *c = util_cursor(m, util_make_file("a", 1 * MiB, 1));
    for (uint64_t off = 0; off < 1 * MiB; off += WINDOW)
        ASSERT_EQ(smmap_use(c, off, 100), 0);
    int calls = 0;
    EXPECT_EQ(smmap_manager_walk(m, stop_at_second, &calls), -77);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(smmap_manager_walk(m, positive, NULL), SMMAP_EINVAL);
    EXPECT_EQ(smmap_manager_walk(NULL, positive, NULL), SMMAP_EINVAL);
    EXPECT_EQ(smmap_manager_walk(m, NULL, NULL), SMMAP_EINVAL);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
