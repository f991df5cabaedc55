/*
 * test_guard.c - the guarded copy under smmap_read: every length and
 * alignment around page edges copies the right bytes, and a copy that runs
 * into pages a truncation took away returns SMMAP_ETRUNC, whichever part of
 * the copy (first bytes, middle, last byte) hits them.
 */
#include "util.h"

#include <criterion/criterion.h>
#include <smmap.h>
#include <string.h>
#include <unistd.h>

TestSuite(guard, .init = util_setup, .fini = util_teardown);

static smmap_cursor *open_window(const char *p, smmap_manager **m)
{
    smmap_options o = {.window_size = 64 * KiB};
    cr_assert_eq(smmap_manager_new(m, &o), 0);
    smmap_cursor *c;
    cr_assert_eq(smmap_cursor_new(*m, p, &c), 0);
    cr_assert_eq(smmap_use(c, 0, 64 * KiB), 0, "one window holds the whole file");
    return c;
}

Test(guard, every_length_and_alignment_around_a_page_edge)
{
    const char *p = util_make_file("f", 64 * KiB, 91);
    smmap_manager *m;
    smmap_cursor *c = open_window(p, &m);
    size_t page = util_page();
    unsigned char buf[300], want[300];
    for (size_t len = 0; len <= 260; len++) {
        for (uint64_t off = page - 140; off <= page + 10; off += 7) {
            memset(buf, 0xA5, sizeof buf);
            cr_assert_eq(smmap_read(c, buf, len, off), (int64_t)len, "len %zu off %llu",
                         len, (unsigned long long)off);
            util_fill(91, off, want, len);
            cr_assert_eq(memcmp(buf, want, len), 0, "len %zu off %llu", len,
                         (unsigned long long)off);
            cr_assert_eq(buf[len], 0xA5, "wrote past the end: len %zu", len);
        }
    }
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

Test(guard, truncation_hit_anywhere_in_the_copy)
{
    const char *p = util_make_file("f", 64 * KiB, 92);
    smmap_manager *m;
    smmap_cursor *c = open_window(p, &m);
    size_t page = util_page();
    /* Pages 0 and 1 stay (page 1 partly, zero past the new end); page 2 on
     * is gone: touching it would raise SIGBUS. */
    cr_assert_eq(truncate(p, (off_t)(page + 37)), 0);
    unsigned char buf[300];
    for (size_t len = 1; len <= 260; len++) {
        for (uint64_t off = 2 * page - len - 3; off <= 2 * page + 3; off++) {
            if (off + len > 64 * KiB)
                continue;
            int64_t got = smmap_read(c, buf, len, off);
            if (off + len <= 2 * page) {
                cr_assert_eq(got, (int64_t)len, "len %zu off %llu: %s", len,
                             (unsigned long long)off, smmap_strerror((int)got));
                for (size_t i = 0; i < len; i++)
                    cr_assert_eq(buf[i], off + i < page + 37 ? util_byte(92, off + i) : 0);
            } else {
                cr_assert_eq(got, SMMAP_ETRUNC, "len %zu off %llu", len,
                             (unsigned long long)off);
            }
            /* Keep the window: a read that fails leaves the cursor without
             * one, and the next would re-read the size and see EOF. */
            cr_assert_eq(smmap_use(c, 0, 64 * KiB), 0);
        }
    }
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
