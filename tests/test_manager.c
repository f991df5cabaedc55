/*
 * test_manager.c - managers: kinds, effective options and defaults, invalid
 * options, statistics of use/unuse/reuse, collect, the static manager.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>
#include <stdlib.h>

#include <string.h>

TEST(manager, version_string)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", SMMAP_VERSION_MAJOR, SMMAP_VERSION_MINOR,
             SMMAP_VERSION_PATCH);
    ASSERT_NOT_NULL(smmap_version_string());
    ASSERT_STR_EQ(smmap_version_string(), want);
}

TEST(manager, version_number)
{
    unsigned major, minor, patch;
    ASSERT_EQ(sscanf(smmap_version_string(), "%u.%u.%u", &major, &minor, &patch), 3);
    ASSERT_EQ(smmap_version_number(), major * 10000 + minor * 100 + patch);
    ASSERT_EQ(smmap_version_number(), SMMAP_VERSION_NUMBER);
    ASSERT(SMMAP_VERSION_NUMBER >= 300, "0.3.0 or later");
}

TEST(manager, defaults_null_options)
{
    smmap_manager *m = NULL;
    ASSERT_EQ(smmap_manager_new(&m, NULL), 0);
    smmap_options o;
    memset(&o, 0xff, sizeof o);
    smmap_manager_options(m, &o);
    ASSERT_EQ(o.kind, SMMAP_SLIDING);
    ASSERT_EQ(o.flags, 0u);
    if (sizeof(void *) >= 8) {
        ASSERT_EQ(o.window_size, (size_t)GiB, "window %zu", o.window_size);
        ASSERT_EQ(o.max_memory, 8 * GiB, "max_memory %llu", (unsigned long long)o.max_memory);
    } else {
        ASSERT_EQ(o.window_size, (size_t)(64 * MiB));
        ASSERT_EQ(o.max_memory, GiB);
    }
    /* min(RLIMIT_NOFILE/2, vm.max_map_count/4), at least 16 */
    ASSERT_GE(o.max_handles, 16u);
    smmap_manager_free(m);
}

TEST(manager, defaults_zero_options_equal_null)
{
    smmap_options zero = {0}, a, b;
    smmap_manager *m1, *m2;
    ASSERT_EQ(smmap_manager_new(&m1, NULL), 0);
    ASSERT_EQ(smmap_manager_new(&m2, &zero), 0);
    smmap_manager_options(m1, &a);
    smmap_manager_options(m2, &b);
    ASSERT_EQ(a.kind, b.kind);
    ASSERT_EQ(a.window_size, b.window_size);
    ASSERT_EQ(a.max_memory, b.max_memory);
    ASSERT_EQ(a.max_handles, b.max_handles);
    smmap_manager_free(m1);
    smmap_manager_free(m2);
}

TEST(manager, explicit_options_reported)
{
    smmap_options o = {.kind = SMMAP_SLIDING, .flags = SMMAP_STRICT_LIMITS,
                       .window_size = 64 * KiB, .max_memory = 256 * KiB, .max_handles = 3};
    smmap_manager *m;
    ASSERT_EQ(smmap_manager_new(&m, &o), 0);
    smmap_options e;
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.kind, SMMAP_SLIDING);
    ASSERT_EQ(e.flags, SMMAP_STRICT_LIMITS);
    ASSERT_EQ(e.window_size, (size_t)(64 * KiB));
    ASSERT_EQ(e.max_memory, 256 * KiB);
    ASSERT_EQ(e.max_handles, 3u);
    smmap_manager_free(m);
}

TEST(manager, window_rounded_to_pages)
{
    size_t pg = util_page();
    smmap_options e;

    smmap_manager *m = UTIL_MANAGER(.window_size = 1, .max_memory = 64 * MiB);
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.window_size, 2 * pg, "window 1 -> %zu, want two pages", e.window_size);
    smmap_manager_free(m);

    m = UTIL_MANAGER(.window_size = 3 * pg + 1, .max_memory = 64 * MiB);
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.window_size, 4 * pg, "window 3p+1 -> %zu", e.window_size);
    smmap_manager_free(m);

    m = UTIL_MANAGER(.window_size = 5 * pg, .max_memory = 64 * MiB);
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.window_size, 5 * pg);
    smmap_manager_free(m);
}

/* A default window is at most max_memory/8 (in whole pages, at least two). */
TEST(manager, default_window_at_most_an_eighth_of_max_memory)
{
    size_t pg = util_page();
    smmap_options e;
    smmap_manager *m = UTIL_MANAGER(.max_memory = 1 * MiB);
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.max_memory, 1 * MiB);
    ASSERT_EQ(e.window_size, (size_t)(128 * KiB), "window %zu", e.window_size);
    smmap_manager_free(m);

    m = UTIL_MANAGER(.max_memory = 1 * MiB + 3 * pg);
    smmap_manager_options(m, &e);
    /* max_memory/8, rounded up to whole pages */
    ASSERT_EQ(e.window_size, ((1 * MiB + 3 * pg) / 8 + pg - 1) / pg * pg, "window %zu",
                 e.window_size);
    smmap_manager_free(m);

    if (sizeof(void *) >= 8) {
        /* the default stays 1 GiB when the cap is large */
        m = UTIL_MANAGER(.max_memory = 64 * GiB);
        smmap_manager_options(m, &e);
        ASSERT_EQ(e.window_size, (size_t)GiB);
        smmap_manager_free(m);
        m = UTIL_MANAGER(.max_memory = 4 * GiB);
        smmap_manager_options(m, &e);
        ASSERT_EQ(e.window_size, (size_t)(512 * MiB));
        smmap_manager_free(m);
    }

    /* an explicit window may take the whole cap */
    m = UTIL_MANAGER(.window_size = 1 * MiB, .max_memory = 1 * MiB);
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.window_size, (size_t)(1 * MiB));
    smmap_manager_free(m);
}

TEST(manager, max_memory_two_pages_is_enough)
{
    size_t pg = util_page();
    smmap_manager *m = UTIL_MANAGER(.max_memory = 2 * pg);
    smmap_options e;
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.max_memory, 2 * pg);
    ASSERT_EQ(e.window_size, 2 * pg, "at least two pages, at most the cap");
    smmap_manager_free(m);
}

TEST(manager, static_kind_reported)
{
    smmap_manager *m = UTIL_MANAGER(.kind = SMMAP_STATIC);
    smmap_options e;
    smmap_manager_options(m, &e);
    ASSERT_EQ(e.kind, SMMAP_STATIC);
    ASSERT_EQ(e.window_size, 0u, "static manager reports window %zu", e.window_size);
    ASSERT_GT(e.max_memory, 0u);
    ASSERT_GT(e.max_handles, 0u);
    smmap_manager_free(m);
}

static void expect_einval(smmap_options o, const char *what)
{
    smmap_manager *m = (smmap_manager *)(uintptr_t)1;
    int rc = smmap_manager_new(&m, &o);
    EXPECT_EQ(rc, SMMAP_EINVAL, "%s: got %d (%s)", what, rc, smmap_strerror(rc));
    if (rc == 0)
        smmap_manager_free(m);
}

TEST(manager, invalid_options)
{
    size_t pg = util_page();
    expect_einval((smmap_options){.kind = 2}, "kind 2");
    expect_einval((smmap_options){.kind = -1}, "kind -1");
    expect_einval((smmap_options){.flags = 0x2}, "flag 0x2");
    expect_einval((smmap_options){.flags = SMMAP_STRICT_LIMITS | 0x80000000u}, "flag high bit");
    expect_einval((smmap_options){.window_size = 2 * MiB, .max_memory = 1 * MiB},
                  "window > max_memory");
    expect_einval((smmap_options){.max_memory = 2 * pg - 1}, "max_memory < 2 pages");
    expect_einval((smmap_options){.max_memory = 1}, "max_memory 1");
    expect_einval((smmap_options){.max_memory = pg}, "max_memory 1 page");
    EXPECT_EQ(smmap_manager_new(NULL, NULL), SMMAP_EINVAL);
    smmap_options ok = {0};
    EXPECT_EQ(smmap_manager_new(NULL, &ok), SMMAP_EINVAL);
}

TEST(manager, null_arguments_do_not_crash)
{
    smmap_manager_free(NULL);
    smmap_stats st;
    memset(&st, 0, sizeof st);
    smmap_manager_stats(NULL, &st);
    smmap_options o;
    memset(&o, 0, sizeof o);
    smmap_manager_options(NULL, &o);
    EXPECT_LE(smmap_collect(NULL), 0);

    smmap_manager *m = util_manager(NULL);
    smmap_manager_stats(m, NULL);
    smmap_manager_options(m, NULL);
    smmap_manager_free(m);
}

TEST(manager, fresh_stats_are_zero)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_stats st;
    memset(&st, 0xab, sizeof st); /* every field written, none left as it was */
    smmap_manager_stats(m, &st);
    ASSERT_EQ(st.mapped, 0u);
    ASSERT_EQ(st.windows, 0u);
    ASSERT_EQ(st.files, 0u);
    ASSERT_EQ(st.mmap_calls, 0u);
    ASSERT_EQ(st.hits, 0u);
    ASSERT_EQ(st.misses, 0u);
    ASSERT_EQ(st.evictions, 0u);
    smmap_manager_free(m);
}

/* use, reuse in the same window, unuse, use again: hits, misses, mmaps. */
TEST(manager, use_unuse_reuse_stats)
{
    const char *p = util_make_file("f", 1 * MiB, 7);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c;
    ASSERT_EQ(smmap_cursor_new(m, p, &c), 0);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.files, 1u, "files %llu after cursor_new", (unsigned long long)st.files);
    ASSERT_EQ(st.windows, 0u, "cursor_new must not map");

    ASSERT_EQ(smmap_use(c, 100, 10), 0);
    st = util_stats(m);
    ASSERT_EQ(st.misses, 1u);
    ASSERT_EQ(st.hits, 0u);
    ASSERT_EQ(st.mmap_calls, 1u);
    ASSERT_EQ(st.windows, 1u);
    ASSERT_EQ(st.mapped, 64 * KiB, "mapped %llu", (unsigned long long)st.mapped);
    ASSERT_EQ(st.files_mapped, 1u);
    const unsigned char *d1 = smmap_data(c);
    ASSERT_EQ(util_mismatch(7, 100, d1, 10), -1);

    /* second use inside the same window: a hit, no new mapping */
    ASSERT_EQ(smmap_use(c, 1000, 20), 0);
    ASSERT_EQ(smmap_data(c), d1 + 900, "same window, pointer moves by the offset");
    smmap_unuse(c);
    ASSERT_EQ(smmap_valid(c), 0);
    st = util_stats(m);
    ASSERT_EQ(st.hits, 1u, "hits %llu after reuse + unuse", (unsigned long long)st.hits);
    ASSERT_EQ(st.misses, 1u);
    ASSERT_EQ(st.mmap_calls, 1u);
    ASSERT_EQ(st.windows, 1u, "unused window stays cached");
    ASSERT_EQ(st.munmap_calls, 0u);

    /* use again after unuse: the cached window is a hit */
    ASSERT_EQ(smmap_use(c, 5000, 100), 0);
    ASSERT_EQ(util_mismatch(7, 5000, smmap_data(c), 100), -1);
    smmap_unuse(c);
    st = util_stats(m);
    ASSERT_EQ(st.hits, 2u, "hits %llu", (unsigned long long)st.hits);
    ASSERT_EQ(st.misses, 1u);
    ASSERT_EQ(st.mmap_calls, 1u);

    /* a far offset is a miss and maps a second window */
    ASSERT_EQ(smmap_use(c, 512 * KiB, 100), 0);
    st = util_stats(m);
    ASSERT_EQ(st.misses, 2u);
    ASSERT_EQ(st.mmap_calls, 2u);
    ASSERT_EQ(st.windows, 2u);
    ASSERT_EQ(st.windows_peak, 2u);
    ASSERT_EQ(st.mapped, 128 * KiB);
    ASSERT_EQ(st.mapped_peak, 128 * KiB);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(manager, dup_counts_users)
{
    const char *p = util_make_file("f", 1 * MiB, 8);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *a, *b, *c;
    ASSERT_EQ(smmap_cursor_new(m, p, &a), 0);
    ASSERT_EQ(smmap_use(a, 4096, 64), 0);
    ASSERT_EQ(smmap_window_users(a), 1);

    ASSERT_EQ(smmap_cursor_dup(a, &b), 0);
    ASSERT_EQ(smmap_valid(b), 1, "dup of a valid cursor uses the same window");
    ASSERT_EQ(smmap_window_users(a), 2);
    ASSERT_EQ(smmap_window_users(b), 2);
    ASSERT_EQ(smmap_data(a), smmap_data(b));
    ASSERT_EQ(smmap_size(a), smmap_size(b));
    ASSERT_EQ(smmap_begin(b), 4096u);

    /* a third cursor made from the path, inside the same window */
    ASSERT_EQ(smmap_cursor_new(m, p, &c), 0);
    ASSERT_EQ(smmap_use(c, 8192, 16), 0);
    ASSERT_EQ(smmap_window_users(c), 3);
    ASSERT_EQ(smmap_window_users(a), 3);
    ASSERT_EQ(smmap_data(c), smmap_data(a) + 4096);

    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.windows, 1u);
    ASSERT_EQ(st.mmap_calls, 1u);

    smmap_unuse(a);
    ASSERT_EQ(smmap_window_users(b), 2);
    smmap_cursor_free(c);
    ASSERT_EQ(smmap_window_users(b), 1);
    ASSERT_EQ(util_mismatch(8, 4096, smmap_data(b), 64), -1);
    smmap_cursor_free(b);
    smmap_cursor_free(a);
    smmap_manager_free(m);
}

TEST(manager, dup_of_idle_cursor)
{
    const char *p = util_make_file("f", 100 * KiB, 9);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *a, *b;
    ASSERT_EQ(smmap_cursor_new(m, p, &a), 0);
    ASSERT_EQ(smmap_cursor_dup(a, &b), 0);
    ASSERT_EQ(smmap_valid(b), 0);
    ASSERT_EQ(smmap_file_size(b), (int64_t)(100 * KiB));
    ASSERT_EQ(smmap_use(b, 99 * KiB, 10), 0);
    ASSERT_EQ(util_mismatch(9, 99 * KiB, smmap_data(b), 10), -1);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.files, 1u, "a dup shares the file");
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

TEST(manager, collect_unmaps_idle_only)
{
    const char *p = util_make_file("f", 1 * MiB, 10);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c, *h;
    ASSERT_EQ(smmap_cursor_new(m, p, &c), 0);
    ASSERT_EQ(smmap_cursor_new(m, p, &h), 0);
    ASSERT_EQ(smmap_use(h, 900 * KiB, 100), 0); /* held */
    /* gaps between the windows keep the kernel from merging mappings */
    for (uint64_t off = 0; off < 512 * KiB; off += 128 * KiB) {
        ASSERT_EQ(smmap_use(c, off, 100), 0);
        smmap_unuse(c);
    }
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.windows, 5u);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 5);

    ASSERT_EQ(smmap_collect(m), 4);
    st = util_stats(m);
    ASSERT_EQ(st.windows, 1u);
    ASSERT_EQ(st.mapped, 64 * KiB);
    ASSERT_EQ(st.munmap_calls, 4u);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 1);
    ASSERT(util_mapped_at(p, 896 * KiB), "held window [896K,960K) still mapped");
    ASSERT_EQ(util_mismatch(10, 900 * KiB, smmap_data(h), 100), -1);
    ASSERT_EQ(smmap_collect(m), 0);

    smmap_unuse(h);
    ASSERT_EQ(smmap_collect(m), 1);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 0);
    st = util_stats(m);
    ASSERT_EQ(st.mmap_calls, st.munmap_calls);
    ASSERT_EQ(st.mapped, 0u);
    smmap_cursor_free(c);
    smmap_cursor_free(h);
    smmap_manager_free(m);
}

/* make_room unmaps idle windows oldest first, only until the request fits. */
TEST(manager, make_room_evicts_oldest_only_as_needed)
{
    const char *p = util_make_file("f", 1 * MiB, 12);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 256 * KiB);
    smmap_cursor *c;
    ASSERT_EQ(smmap_cursor_new(m, p, &c), 0);
    const uint64_t at[4] = {0, 128 * KiB, 256 * KiB, 384 * KiB};
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(smmap_use(c, at[i], 100), 0);
        smmap_unuse(c);
    }
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.mapped, 256 * KiB, "the cap is full");
    ASSERT_EQ(smmap_make_room(m, 0), 0, "0 more bytes fit already");
    ASSERT_EQ(smmap_make_room(m, 100 * KiB), 2, "two 64 KiB windows free 100 KiB");
    ASSERT_EQ(smmap_window_users_at(c, at[0]), SMMAP_ECURSOR, "the oldest went first");
    ASSERT_EQ(smmap_window_users_at(c, at[1]), SMMAP_ECURSOR);
    ASSERT_EQ(smmap_window_users_at(c, at[2]), 0, "newer ones stay, idle");
    ASSERT_EQ(smmap_window_users_at(c, at[3]), 0);
    ASSERT_EQ(smmap_make_room(m, UINT64_MAX), 2, "nothing fits: every idle window goes");
    ASSERT_EQ(smmap_make_room(NULL, 1), SMMAP_EINVAL);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* window_users_at counts a window's users whichever cursor holds it. */
TEST(manager, window_users_at_counts_other_cursors)
{
    const char *p = util_make_file("f", 1 * MiB, 13);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *a, *b;
    ASSERT_EQ(smmap_cursor_new(m, p, &a), 0);
    ASSERT_EQ(smmap_cursor_new(m, p, &b), 0);
    ASSERT_EQ(smmap_use(a, 40 * KiB, 10), 0);
    uint64_t begin = smmap_window_begin(a);
    ASSERT_EQ(smmap_use(b, 40 * KiB + 5, 10), 0);
    ASSERT_EQ(smmap_window_users_at(b, begin), 2);
    smmap_unuse(a);
    ASSERT_EQ(smmap_window_users_at(a, begin), 1, "b still uses it");
    smmap_unuse(b);
    ASSERT_EQ(smmap_window_users_at(a, begin), 0, "idle, cached");
    ASSERT_EQ(smmap_window_users_at(a, begin + 4096), SMMAP_ECURSOR, "no window begins there");
    ASSERT_EQ(smmap_window_users_at(NULL, begin), SMMAP_EINVAL);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

/* ------------------------------------------------------------- static */

TEST(manager, static_maps_whole_file_once)
{
    uint64_t size = 3 * MiB + 123;
    const char *p = util_make_file("f", size, 11);
    smmap_manager *m = UTIL_MANAGER(.kind = SMMAP_STATIC);
    smmap_cursor *a, *b;
    ASSERT_EQ(smmap_cursor_new(m, p, &a), 0);
    ASSERT_EQ(smmap_cursor_new(m, p, &b), 0);

    ASSERT_EQ(smmap_use(a, 10, 100), 0);
    ASSERT_EQ(smmap_window_begin(a), 0u);
    ASSERT_EQ(smmap_window_end(a), size);
    ASSERT_EQ(util_mismatch(11, 10, smmap_data(a), 100), -1);

    ASSERT_EQ(smmap_use(b, 2 * MiB + 7, 5000), 0);
    ASSERT_EQ(smmap_size(b), 5000u);
    ASSERT_EQ(util_mismatch(11, 2 * MiB + 7, smmap_data(b), 5000), -1);
    ASSERT_EQ(smmap_data(b) - (2 * MiB + 7), smmap_data(a) - 10,
                 "both cursors see one mapping");
    ASSERT_EQ(smmap_window_users(a), 2);

    /* size 0 means as much as the window holds: the rest of the file */
    ASSERT_EQ(smmap_use(a, 1 * MiB, 0), 0);
    ASSERT_EQ(smmap_size(a), size - 1 * MiB);
    ASSERT_EQ(smmap_data(a) + smmap_size(a), smmap_data(b) - (2 * MiB + 7) + size);

    smmap_cursor_free(a);
    ASSERT_EQ(smmap_window_users(b), 1);

    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.mmap_calls, 1u);
    ASSERT_EQ(st.windows, 1u);
    ASSERT_GE(st.mapped, size);
    ASSERT_LT(st.mapped, size + util_page());
    ASSERT_EQ(st.misses, 1u);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 1);

    /* read everything through the static window */
    unsigned char *buf = malloc(size);
    ASSERT_EQ(smmap_read(b, buf, size, 0), (int64_t)size);
    ASSERT_EQ(util_mismatch(11, 0, buf, size), -1);
    free(buf);
    st = util_stats(m);
    ASSERT_EQ(st.mmap_calls, 1u);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

TEST(manager, static_two_files)
{
    const char *p1 = util_make_file("f1", 300 * KiB, 12);
    const char *p2 = util_make_file("f2", 200 * KiB, 13);
    smmap_manager *m = UTIL_MANAGER(.kind = SMMAP_STATIC);
    smmap_cursor *a, *b;
    ASSERT_EQ(smmap_cursor_new(m, p1, &a), 0);
    ASSERT_EQ(smmap_cursor_new(m, p2, &b), 0);
    ASSERT_EQ(smmap_use(a, 299 * KiB, 1024), 0);
    ASSERT_EQ(smmap_use(b, 199 * KiB, 1024), 0);
    ASSERT_EQ(util_mismatch(12, 299 * KiB, smmap_data(a), 1024), -1);
    ASSERT_EQ(util_mismatch(13, 199 * KiB, smmap_data(b), 1024), -1);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.windows, 2u);
    ASSERT_EQ(st.files, 2u);
    ASSERT_EQ(st.mapped, 500 * KiB);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}
