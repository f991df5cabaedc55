/*
 * test_guard.c - the guarded copy under smmap_read: every length and
 * alignment around page edges copies the right bytes, and a copy that runs
 * into pages a truncation took away returns SMMAP_ETRUNC, whichever part of
 * the copy (first bytes, middle, last byte) hits them.
 */
#include "util.h"

#include <smmap.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static smmap_cursor *open_window(const char *p, smmap_manager **m)
{
    *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(*m, p);
    ASSERT_EQ(smmap_use(c, 0, 64 * KiB), 0, "one window holds the whole file");
    return c;
}

TEST(guard, every_length_and_alignment_around_a_page_edge)
{
    const char *p = util_make_file("f", 64 * KiB, 91);
    smmap_manager *m;
    smmap_cursor *c = open_window(p, &m);
    size_t page = util_page();
    unsigned char buf[300], want[300];
    for (size_t len = 0; len <= 260; len++) {
        for (uint64_t off = page - 140; off <= page + 10; off += 7) {
            memset(buf, 0xA5, sizeof buf);
            ASSERT_EQ(smmap_read(c, buf, len, off), (int64_t)len, "len %zu off %llu",
                         len, (unsigned long long)off);
            util_fill(91, off, want, len);
            ASSERT_EQ(memcmp(buf, want, len), 0, "len %zu off %llu", len,
                         (unsigned long long)off);
            ASSERT_EQ(buf[len], 0xA5, "wrote past the end: len %zu", len);
        }
    }
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* One copy of len bytes at off from a window of a 64 KiB file cut to
 * page + 37 bytes after it was mapped: pages 0 and 1 stay (page 1 zero
 * past the new end), page 2 on is gone and raises SIGBUS. A fresh file and
 * manager each time: after a fault the library knows the new size and
 * would not touch the lost pages again. */
static void copy_after_cut(size_t len, uint64_t off)
{
    size_t page = util_page();
    const char *p = util_make_file("f", 64 * KiB, 92);
    smmap_manager *m;
    smmap_cursor *c = open_window(p, &m);
    ASSERT_EQ(util_truncate(p, page + 37), 0);
    unsigned char buf[300];
    int64_t got = smmap_read(c, buf, len, off);
    if (off + len <= 2 * page) {
        ASSERT_EQ(got, (int64_t)len, "len %zu off %llu: %s", len, (unsigned long long)off,
                  smmap_strerror((int)got));
        /* Past the new end Linux shows zeros; a view under wine shows
         * whatever it held, which the header leaves unspecified. */
        for (size_t i = 0; i < len; i++)
            if (off + i < page + 37)
                ASSERT_EQ(buf[i], util_byte(92, off + i));
#ifndef _WIN32
            else
                ASSERT_EQ(buf[i], 0);
#endif
    } else {
        ASSERT_EQ(got, SMMAP_ETRUNC, "len %zu off %llu", len, (unsigned long long)off);
    }
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* The fault hits the first byte, the middle or the last byte of copies of
 * every size class of the copy routine (1-3, 4-7, 8-15, 16-32, 33-64 and
 * the long copy), and a copy that ends just before the lost page. */
TEST(guard, truncation_hit_anywhere_in_the_copy)
{
    util_require_exact_sigbus();
    const uint64_t edge = 2 * util_page();
    static const size_t lens[] = {1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33,
                                  63, 64, 65, 127, 128, 129, 255, 256, 260};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        size_t len = lens[i];
        copy_after_cut(len, edge);               /* first byte lost */
        copy_after_cut(len, edge - len / 2);     /* lost from the middle */
        copy_after_cut(len, edge - len + 1);     /* only the last byte lost */
        copy_after_cut(len, edge - len);         /* all kept */
    }
}

struct racer {
    smmap_cursor *c;
    int truncated_seen, reads;
    int bad;
};

/* Read the whole file in 256 KiB pieces, over and over, until a read
 * reports the truncation: every successful read must hold the original
 * bytes (the cut is page-aligned, so no page turns to zeros). */
static void *read_until_cut(void *arg)
{
    struct racer *r = arg;
    static unsigned char buf[256 * 1024];
    for (int round = 0; round < 100000 && !r->truncated_seen; round++) {
        for (uint64_t off = 0; off < 8 * MiB; off += sizeof buf) {
            int64_t got = smmap_read(r->c, buf, sizeof buf, off);
            __atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
            if (got == SMMAP_ETRUNC) {
                r->truncated_seen = 1;
                break;
            }
            if (got < 0 || util_mismatch(94, off, buf, (size_t)got) != -1) {
                r->bad++;
                return NULL;
            }
        }
    }
    return NULL;
}

/* Another thread truncates the file while this one copies from it: the
 * copy returns SMMAP_ETRUNC, the process lives. */
TEST(guard, truncation_during_a_copy_from_another_thread, .timeout = 30)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 8 * MiB, 94);
    smmap_manager *m = UTIL_MANAGER(.window_size = 16 * MiB);
    struct racer r = {.c = util_cursor(m, p)};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, read_until_cut, &r), 0);
    while (__atomic_load_n(&r.reads, __ATOMIC_RELAXED) < 64)
        usleep(100);
    ASSERT_EQ(util_truncate(p, 1 * MiB), 0);
    pthread_join(t, NULL);
    ASSERT_EQ(r.bad, 0, "a read returned wrong bytes or an unexpected error");
    ASSERT(r.truncated_seen, "no read saw the truncation");
    smmap_cursor_free(r.c);
    smmap_manager_free(m);
}
