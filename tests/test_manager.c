/*
 * test_manager.c - managers: kinds, effective options and defaults, invalid
 * options, statistics of use/unuse/reuse, collect, the static manager.
 */
#include "util.h"

#include <smmap.h>

#include <criterion/criterion.h>

#include <stdio.h>

#include <string.h>

TestSuite(manager, .init = util_setup, .fini = util_teardown);

static smmap_manager *make(int kind, size_t window, uint64_t max_memory, uint32_t handles)
{
    smmap_options o = {.kind = kind, .window_size = window, .max_memory = max_memory,
                       .max_handles = handles};
    return util_manager(&o);
}

Test(manager, version_string)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", SMMAP_VERSION_MAJOR, SMMAP_VERSION_MINOR,
             SMMAP_VERSION_PATCH);
    cr_assert_not_null(smmap_version_string());
    cr_assert_str_eq(smmap_version_string(), want);
}

Test(manager, defaults_null_options)
{
    smmap_manager *m = NULL;
    cr_assert_eq(smmap_manager_new(&m, NULL), 0);
    smmap_options o;
    memset(&o, 0xff, sizeof o);
    smmap_manager_options(m, &o);
    cr_assert_eq(o.kind, SMMAP_SLIDING);
    cr_assert_eq(o.flags, 0u);
    if (sizeof(void *) >= 8) {
        cr_assert_eq(o.window_size, (size_t)GiB, "window %zu", o.window_size);
        cr_assert_eq(o.max_memory, 8 * GiB, "max_memory %llu", (unsigned long long)o.max_memory);
    } else {
        cr_assert_eq(o.window_size, (size_t)(64 * MiB));
        cr_assert_eq(o.max_memory, GiB);
    }
    /* min(RLIMIT_NOFILE/2, vm.max_map_count/4), at least 16 */
    cr_assert_geq(o.max_handles, 16u);
    smmap_manager_free(m);
}

Test(manager, defaults_zero_options_equal_null)
{
    smmap_options zero = {0}, a, b;
    smmap_manager *m1, *m2;
    cr_assert_eq(smmap_manager_new(&m1, NULL), 0);
    cr_assert_eq(smmap_manager_new(&m2, &zero), 0);
    smmap_manager_options(m1, &a);
    smmap_manager_options(m2, &b);
    cr_assert_eq(a.kind, b.kind);
    cr_assert_eq(a.window_size, b.window_size);
    cr_assert_eq(a.max_memory, b.max_memory);
    cr_assert_eq(a.max_handles, b.max_handles);
    smmap_manager_free(m1);
    smmap_manager_free(m2);
}

Test(manager, explicit_options_reported)
{
    smmap_options o = {.kind = SMMAP_SLIDING, .flags = SMMAP_STRICT_LIMITS,
                       .window_size = 64 * KiB, .max_memory = 256 * KiB, .max_handles = 3};
    smmap_manager *m;
    cr_assert_eq(smmap_manager_new(&m, &o), 0);
    smmap_options e;
    smmap_manager_options(m, &e);
    cr_assert_eq(e.kind, SMMAP_SLIDING);
    cr_assert_eq(e.flags, SMMAP_STRICT_LIMITS);
    cr_assert_eq(e.window_size, (size_t)(64 * KiB));
    cr_assert_eq(e.max_memory, 256 * KiB);
    cr_assert_eq(e.max_handles, 3u);
    smmap_manager_free(m);
}

Test(manager, window_rounded_to_pages)
{
    size_t pg = util_page();
    smmap_options e;

    smmap_manager *m = make(SMMAP_SLIDING, 1, 64 * MiB, 0);
    smmap_manager_options(m, &e);
    cr_assert_eq(e.window_size, 2 * pg, "window 1 -> %zu, want two pages", e.window_size);
    smmap_manager_free(m);

    m = make(SMMAP_SLIDING, 3 * pg + 1, 64 * MiB, 0);
    smmap_manager_options(m, &e);
    cr_assert_eq(e.window_size, 4 * pg, "window 3p+1 -> %zu", e.window_size);
    smmap_manager_free(m);

    m = make(SMMAP_SLIDING, 5 * pg, 64 * MiB, 0);
    smmap_manager_options(m, &e);
    cr_assert_eq(e.window_size, 5 * pg);
    smmap_manager_free(m);
}

/* A default window is at most max_memory/8 (in whole pages, at least two). */
Test(manager, default_window_at_most_an_eighth_of_max_memory)
{
    size_t pg = util_page();
    smmap_options e;
    smmap_manager *m = make(SMMAP_SLIDING, 0, 1 * MiB, 0);
    smmap_manager_options(m, &e);
    cr_assert_eq(e.max_memory, 1 * MiB);
    cr_assert_eq(e.window_size, (size_t)(128 * KiB), "window %zu", e.window_size);
    smmap_manager_free(m);

    m = make(SMMAP_SLIDING, 0, 1 * MiB + 3 * pg, 0);
    smmap_manager_options(m, &e);
    /* max_memory/8, rounded up to whole pages */
    cr_assert_eq(e.window_size, ((1 * MiB + 3 * pg) / 8 + pg - 1) / pg * pg, "window %zu",
                 e.window_size);
    smmap_manager_free(m);

    if (sizeof(void *) >= 8) {
        /* the default stays 1 GiB when the cap is large */
        m = make(SMMAP_SLIDING, 0, 64 * GiB, 0);
        smmap_manager_options(m, &e);
        cr_assert_eq(e.window_size, (size_t)GiB);
        smmap_manager_free(m);
        m = make(SMMAP_SLIDING, 0, 4 * GiB, 0);
        smmap_manager_options(m, &e);
        cr_assert_eq(e.window_size, (size_t)(512 * MiB));
        smmap_manager_free(m);
    }

    /* an explicit window may take the whole cap */
    m = make(SMMAP_SLIDING, 1 * MiB, 1 * MiB, 0);
    smmap_manager_options(m, &e);
    cr_assert_eq(e.window_size, (size_t)(1 * MiB));
    smmap_manager_free(m);
}

Test(manager, max_memory_two_pages_is_enough)
{
    size_t pg = util_page();
    smmap_manager *m = make(SMMAP_SLIDING, 0, 2 * pg, 0);
    smmap_options e;
    smmap_manager_options(m, &e);
    cr_assert_eq(e.max_memory, 2 * pg);
    cr_assert_eq(e.window_size, 2 * pg, "at least two pages, at most the cap");
    smmap_manager_free(m);
}

Test(manager, static_kind_reported)
{
    smmap_manager *m = make(SMMAP_STATIC, 0, 0, 0);
    smmap_options e;
    smmap_manager_options(m, &e);
    cr_assert_eq(e.kind, SMMAP_STATIC);
    cr_assert_eq(e.window_size, 0u, "static manager reports window %zu", e.window_size);
    cr_assert_gt(e.max_memory, 0u);
    cr_assert_gt(e.max_handles, 0u);
    smmap_manager_free(m);
}

static void expect_einval(smmap_options o, const char *what)
{
    smmap_manager *m = (smmap_manager *)(uintptr_t)1;
    int rc = smmap_manager_new(&m, &o);
    cr_expect_eq(rc, SMMAP_EINVAL, "%s: got %d (%s)", what, rc, smmap_strerror(rc));
    if (rc == 0)
        smmap_manager_free(m);
}

Test(manager, invalid_options)
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
    cr_expect_eq(smmap_manager_new(NULL, NULL), SMMAP_EINVAL);
    smmap_options ok = {0};
    cr_expect_eq(smmap_manager_new(NULL, &ok), SMMAP_EINVAL);
}

Test(manager, null_arguments_do_not_crash)
{
    smmap_manager_free(NULL);
    smmap_stats st;
    memset(&st, 0, sizeof st);
    smmap_manager_stats(NULL, &st);
    smmap_options o;
    memset(&o, 0, sizeof o);
    smmap_manager_options(NULL, &o);
    cr_expect_leq(smmap_collect(NULL), 0);

    smmap_manager *m = make(SMMAP_SLIDING, 0, 0, 0);
    smmap_manager_stats(m, NULL);
    smmap_manager_options(m, NULL);
    smmap_manager_free(m);
}

Test(manager, fresh_stats_are_zero)
{
    smmap_manager *m = make(SMMAP_SLIDING, 64 * KiB, 0, 0);
    smmap_stats st;
    memset(&st, 0xab, sizeof st);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.mapped, 0u);
    cr_assert_eq(st.windows, 0u);
    cr_assert_eq(st.files, 0u);
    cr_assert_eq(st.mmap_calls, 0u);
    cr_assert_eq(st.hits, 0u);
    cr_assert_eq(st.misses, 0u);
    cr_assert_eq(st.evictions, 0u);
    smmap_manager_free(m);
}

/* use, reuse in the same window, unuse, use again: hits, misses, mmaps. */
Test(manager, use_unuse_reuse_stats)
{
    const char *p = util_make_file("f", 1 * MiB, 7);
    smmap_manager *m = make(SMMAP_SLIDING, 64 * KiB, 0, 0);
    smmap_cursor *c;
    cr_assert_eq(smmap_cursor_new(m, p, &c), 0);
    smmap_stats st;

    smmap_manager_stats(m, &st);
    cr_assert_eq(st.files, 1u, "files %llu after cursor_new", (unsigned long long)st.files);
    cr_assert_eq(st.windows, 0u, "cursor_new must not map");

    cr_assert_eq(smmap_use(c, 100, 10), 0);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.misses, 1u);
    cr_assert_eq(st.hits, 0u);
    cr_assert_eq(st.mmap_calls, 1u);
    cr_assert_eq(st.windows, 1u);
    cr_assert_eq(st.mapped, 64 * KiB, "mapped %llu", (unsigned long long)st.mapped);
    cr_assert_eq(st.files_mapped, 1u);
    const unsigned char *d1 = smmap_data(c);
    cr_assert_eq(util_mismatch(7, 100, d1, 10), -1);

    /* second use inside the same window: a hit, no new mapping */
    cr_assert_eq(smmap_use(c, 1000, 20), 0);
    cr_assert_eq(smmap_data(c), d1 + 900, "same window, pointer moves by the offset");
    smmap_unuse(c);
    cr_assert_eq(smmap_valid(c), 0);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.hits, 1u, "hits %llu after reuse + unuse", (unsigned long long)st.hits);
    cr_assert_eq(st.misses, 1u);
    cr_assert_eq(st.mmap_calls, 1u);
    cr_assert_eq(st.windows, 1u, "unused window stays cached");
    cr_assert_eq(st.munmap_calls, 0u);

    /* use again after unuse: the cached window is a hit */
    cr_assert_eq(smmap_use(c, 5000, 100), 0);
    cr_assert_eq(util_mismatch(7, 5000, smmap_data(c), 100), -1);
    smmap_unuse(c);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.hits, 2u, "hits %llu", (unsigned long long)st.hits);
    cr_assert_eq(st.misses, 1u);
    cr_assert_eq(st.mmap_calls, 1u);

    /* a far offset is a miss and maps a second window */
    cr_assert_eq(smmap_use(c, 512 * KiB, 100), 0);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.misses, 2u);
    cr_assert_eq(st.mmap_calls, 2u);
    cr_assert_eq(st.windows, 2u);
    cr_assert_eq(st.windows_peak, 2u);
    cr_assert_eq(st.mapped, 128 * KiB);
    cr_assert_eq(st.mapped_peak, 128 * KiB);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

Test(manager, dup_counts_users)
{
    const char *p = util_make_file("f", 1 * MiB, 8);
    smmap_manager *m = make(SMMAP_SLIDING, 64 * KiB, 0, 0);
    smmap_cursor *a, *b, *c;
    cr_assert_eq(smmap_cursor_new(m, p, &a), 0);
    cr_assert_eq(smmap_use(a, 4096, 64), 0);
    cr_assert_eq(smmap_window_users(a), 1);

    cr_assert_eq(smmap_cursor_dup(a, &b), 0);
    cr_assert_eq(smmap_valid(b), 1, "dup of a valid cursor uses the same window");
    cr_assert_eq(smmap_window_users(a), 2);
    cr_assert_eq(smmap_window_users(b), 2);
    cr_assert_eq(smmap_data(a), smmap_data(b));
    cr_assert_eq(smmap_size(a), smmap_size(b));
    cr_assert_eq(smmap_begin(b), 4096u);

    /* a third cursor made from the path, inside the same window */
    cr_assert_eq(smmap_cursor_new(m, p, &c), 0);
    cr_assert_eq(smmap_use(c, 8192, 16), 0);
    cr_assert_eq(smmap_window_users(c), 3);
    cr_assert_eq(smmap_window_users(a), 3);
    cr_assert_eq(smmap_data(c), smmap_data(a) + 4096);

    smmap_stats st;
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.windows, 1u);
    cr_assert_eq(st.mmap_calls, 1u);

    smmap_unuse(a);
    cr_assert_eq(smmap_window_users(b), 2);
    smmap_cursor_free(c);
    cr_assert_eq(smmap_window_users(b), 1);
    cr_assert_eq(util_mismatch(8, 4096, smmap_data(b), 64), -1);
    smmap_cursor_free(b);
    smmap_cursor_free(a);
    smmap_manager_free(m);
}

Test(manager, dup_of_idle_cursor)
{
    const char *p = util_make_file("f", 100 * KiB, 9);
    smmap_manager *m = make(SMMAP_SLIDING, 64 * KiB, 0, 0);
    smmap_cursor *a, *b;
    cr_assert_eq(smmap_cursor_new(m, p, &a), 0);
    cr_assert_eq(smmap_cursor_dup(a, &b), 0);
    cr_assert_eq(smmap_valid(b), 0);
    cr_assert_eq(smmap_associated(b), 1);
    cr_assert_eq(smmap_file_size(b), (int64_t)(100 * KiB));
    cr_assert_eq(smmap_use(b, 99 * KiB, 10), 0);
    cr_assert_eq(util_mismatch(9, 99 * KiB, smmap_data(b), 10), -1);
    smmap_stats st;
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.files, 1u, "a dup shares the file");
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

Test(manager, collect_unmaps_idle_only)
{
    const char *p = util_make_file("f", 1 * MiB, 10);
    smmap_manager *m = make(SMMAP_SLIDING, 64 * KiB, 0, 0);
    smmap_cursor *c, *h;
    cr_assert_eq(smmap_cursor_new(m, p, &c), 0);
    cr_assert_eq(smmap_cursor_new(m, p, &h), 0);
    cr_assert_eq(smmap_use(h, 900 * KiB, 100), 0); /* held */
    /* gaps between the windows keep the kernel from merging mappings */
    for (uint64_t off = 0; off < 512 * KiB; off += 128 * KiB) {
        cr_assert_eq(smmap_use(c, off, 100), 0);
        smmap_unuse(c);
    }
    smmap_stats st;
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.windows, 5u);
    cr_assert_eq(util_maps_of(p, NULL, 0), 5);

    cr_assert_eq(smmap_collect(m), 4);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.windows, 1u);
    cr_assert_eq(st.mapped, 64 * KiB);
    cr_assert_eq(st.munmap_calls, 4u);
    cr_assert_eq(util_maps_of(p, NULL, 0), 1);
    cr_assert(util_mapped_at(p, 896 * KiB), "held window [896K,960K) still mapped");
    cr_assert_eq(util_mismatch(10, 900 * KiB, smmap_data(h), 100), -1);
    cr_assert_eq(smmap_collect(m), 0);

    smmap_unuse(h);
    cr_assert_eq(smmap_collect(m), 1);
    cr_assert_eq(util_maps_of(p, NULL, 0), 0);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.mmap_calls, st.munmap_calls);
    cr_assert_eq(st.mapped, 0u);
    smmap_cursor_free(c);
    smmap_cursor_free(h);
    smmap_manager_free(m);
}

/* make_room unmaps idle windows oldest first, only until the request fits. */
Test(manager, make_room_evicts_oldest_only_as_needed)
{
    const char *p = util_make_file("f", 1 * MiB, 12);
    smmap_manager *m = make(SMMAP_SLIDING, 64 * KiB, 256 * KiB, 0);
    smmap_cursor *c;
    cr_assert_eq(smmap_cursor_new(m, p, &c), 0);
    const uint64_t at[4] = {0, 128 * KiB, 256 * KiB, 384 * KiB};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(smmap_use(c, at[i], 100), 0);
        smmap_unuse(c);
    }
    smmap_stats st;
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.mapped, 256 * KiB, "the cap is full");
    cr_assert_eq(smmap_make_room(m, 0), 0, "0 more bytes fit already");
    cr_assert_eq(smmap_make_room(m, 100 * KiB), 2, "two 64 KiB windows free 100 KiB");
    cr_assert_eq(smmap_window_users_at(c, at[0]), SMMAP_EOF, "the oldest went first");
    cr_assert_eq(smmap_window_users_at(c, at[1]), SMMAP_EOF);
    cr_assert_eq(smmap_window_users_at(c, at[2]), 0, "newer ones stay, idle");
    cr_assert_eq(smmap_window_users_at(c, at[3]), 0);
    cr_assert_eq(smmap_make_room(m, UINT64_MAX), 2, "nothing fits: every idle window goes");
    cr_assert_eq(smmap_make_room(NULL, 1), SMMAP_EINVAL);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* window_users_at counts a window's users whichever cursor holds it. */
Test(manager, window_users_at_counts_other_cursors)
{
    const char *p = util_make_file("f", 1 * MiB, 13);
    smmap_manager *m = make(SMMAP_SLIDING, 64 * KiB, 0, 0);
    smmap_cursor *a, *b;
    cr_assert_eq(smmap_cursor_new(m, p, &a), 0);
    cr_assert_eq(smmap_cursor_new(m, p, &b), 0);
    cr_assert_eq(smmap_use(a, 40 * KiB, 10), 0);
    uint64_t begin = smmap_window_begin(a);
    cr_assert_eq(smmap_use(b, 40 * KiB + 5, 10), 0);
    cr_assert_eq(smmap_window_users_at(b, begin), 2);
    smmap_unuse(a);
    cr_assert_eq(smmap_window_users_at(a, begin), 1, "b still uses it");
    smmap_unuse(b);
    cr_assert_eq(smmap_window_users_at(a, begin), 0, "idle, cached");
    cr_assert_eq(smmap_window_users_at(a, begin + 4096), SMMAP_EOF, "no window begins there");
    cr_assert_eq(smmap_window_users_at(NULL, begin), SMMAP_EINVAL);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

/* ------------------------------------------------------------- static */

Test(manager, static_maps_whole_file_once)
{
    uint64_t size = 3 * MiB + 123;
    const char *p = util_make_file("f", size, 11);
    smmap_manager *m = make(SMMAP_STATIC, 0, 0, 0);
    smmap_cursor *a, *b;
    cr_assert_eq(smmap_cursor_new(m, p, &a), 0);
    cr_assert_eq(smmap_cursor_new(m, p, &b), 0);

    cr_assert_eq(smmap_use(a, 10, 100), 0);
    cr_assert_eq(smmap_window_begin(a), 0u);
    cr_assert_eq(smmap_window_end(a), size);
    cr_assert_eq(util_mismatch(11, 10, smmap_data(a), 100), -1);

    cr_assert_eq(smmap_use(b, 2 * MiB + 7, 5000), 0);
    cr_assert_eq(smmap_size(b), 5000u);
    cr_assert_eq(util_mismatch(11, 2 * MiB + 7, smmap_data(b), 5000), -1);
    cr_assert_eq(smmap_data(b) - (2 * MiB + 7), smmap_data(a) - 10,
                 "both cursors see one mapping");
    cr_assert_eq(smmap_window_users(a), 2);

    /* size 0 means as much as the window holds: the rest of the file */
    cr_assert_eq(smmap_use(a, 1 * MiB, 0), 0);
    cr_assert_eq(smmap_size(a), size - 1 * MiB);
    cr_assert_eq(smmap_data(a) + smmap_size(a), smmap_data(b) - (2 * MiB + 7) + size);

    smmap_cursor_free(a);
    cr_assert_eq(smmap_window_users(b), 1);

    smmap_stats st;
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.mmap_calls, 1u);
    cr_assert_eq(st.windows, 1u);
    cr_assert_geq(st.mapped, size);
    cr_assert_lt(st.mapped, size + util_page());
    cr_assert_eq(st.misses, 1u);
    cr_assert_eq(util_maps_of(p, NULL, 0), 1);

    /* read everything through the static window */
    unsigned char *buf = malloc(size);
    cr_assert_eq(smmap_read(b, buf, size, 0), (int64_t)size);
    cr_assert_eq(util_mismatch(11, 0, buf, size), -1);
    free(buf);
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.mmap_calls, 1u);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

Test(manager, static_two_files)
{
    const char *p1 = util_make_file("f1", 300 * KiB, 12);
    const char *p2 = util_make_file("f2", 200 * KiB, 13);
    smmap_manager *m = make(SMMAP_STATIC, 0, 0, 0);
    smmap_cursor *a, *b;
    cr_assert_eq(smmap_cursor_new(m, p1, &a), 0);
    cr_assert_eq(smmap_cursor_new(m, p2, &b), 0);
    cr_assert_eq(smmap_use(a, 299 * KiB, 1024), 0);
    cr_assert_eq(smmap_use(b, 199 * KiB, 1024), 0);
    cr_assert_eq(util_mismatch(12, 299 * KiB, smmap_data(a), 1024), -1);
    cr_assert_eq(util_mismatch(13, 199 * KiB, smmap_data(b), 1024), -1);
    smmap_stats st;
    smmap_manager_stats(m, &st);
    cr_assert_eq(st.windows, 2u);
    cr_assert_eq(st.files, 2u);
    cr_assert_eq(st.mapped, 500 * KiB);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}
