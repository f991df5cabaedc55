/*
 * test_scan.c - smmap_scan(): the guarded in-place walk over a range. Spans
 * come in file order, cover the range exactly, hold the file's bytes and
 * never exceed a window; the range is clipped at the end; fn's stop value
 * comes back; a truncation inside a span or between spans is SMMAP_ETRUNC,
 * also inside nested guarded calls; a fault that is not on the span is
 * not the guard's.
 */
#include "util.h"

#include <smmap.h>
#include <string.h>
#include <unistd.h>

#define SALT 131

struct walk {
    uint64_t next;       /* where the next span must start */
    uint64_t max_span;
    int spans;
    int stop_at;         /* return -777 at this span (1-based); 0: never */
    const char *cut;     /* truncate this file to cut_to at span cut_at */
    uint64_t cut_to;
    int cut_at;
    uint64_t touch;      /* after the cut, read data[touch] (relative) */
    smmap_cursor *inner; /* scan this cursor from inside each span */
};

static int check_span(void *arg, const unsigned char *data, size_t len, uint64_t offset)
{
    struct walk *w = arg;
    w->spans++;
    ASSERT_EQ(offset, w->next, "spans in file order, without gaps");
    ASSERT_GT(len, 0);
    ASSERT_EQ(util_mismatch(SALT, offset, data, len), -1, "span at %llu",
              (unsigned long long)offset);
    if (len > w->max_span)
        w->max_span = len;
    w->next = offset + len;
    if (w->inner) {
        struct walk in = {0};
        ASSERT_EQ(smmap_scan(w->inner, 0, UINT64_MAX, check_span, &in),
                  (int64_t)smmap_file_size(w->inner));
    }
    if (w->cut && w->spans == w->cut_at) {
        ASSERT_EQ(util_truncate(w->cut, w->cut_to), 0);
        volatile unsigned char b = data[w->touch];
        (void)b;
    }
    return w->spans == w->stop_at ? -777 : 0;
}

TEST(scan, whole_file_in_window_spans)
{
    const uint64_t size = 300 * KiB + 123;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, SALT));
    struct walk w = {0};
    ASSERT_EQ(smmap_scan(c, 0, UINT64_MAX, check_span, &w), (int64_t)size);
    ASSERT_EQ(w.next, size);
    ASSERT_LE(w.max_span, 64 * KiB, "a span is never more than a window");
    ASSERT_GE(w.spans, 5);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(scan, range_is_clipped_at_the_end)
{
    const uint64_t size = 200 * KiB + 7;
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", size, SALT));
    uint64_t starts[] = {0, 1, 64 * KiB - 1, 100 * KiB + 3, size - 1};
    uint64_t lens[] = {0, 1, 5000, 64 * KiB, 64 * KiB + 1, 150 * KiB, UINT64_MAX};
    for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
        for (size_t j = 0; j < sizeof lens / sizeof *lens; j++) {
            struct walk w = {.next = starts[i]};
            uint64_t left = size - starts[i];
            uint64_t want = lens[j] < left ? lens[j] : left;
            ASSERT_EQ(smmap_scan(c, starts[i], lens[j], check_span, &w), (int64_t)want,
                      "offset %llu len %llu", (unsigned long long)starts[i],
                      (unsigned long long)lens[j]);
            ASSERT_EQ(w.next, starts[i] + want);
        }
    }
    struct walk w = {.next = size};
    ASSERT_EQ(smmap_scan(c, size, 10, check_span, &w), 0, "at the end: nothing");
    ASSERT_EQ(smmap_scan(c, size + 5000, 10, check_span, &w), 0, "past the end: nothing");
    ASSERT_EQ(w.spans, 0);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(scan, stop_value_of_fn_is_returned)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 256 * KiB, SALT));
    struct walk w = {.stop_at = 2};
    ASSERT_EQ(smmap_scan(c, 0, UINT64_MAX, check_span, &w), -777);
    ASSERT_EQ(w.spans, 2, "no span after the one that stopped");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

static int positive(void *arg, const unsigned char *data, size_t len, uint64_t offset)
{
    (void)data, (void)len, (void)offset;
    ++*(int *)arg;
    return 5;
}

TEST(scan, positive_value_of_fn_is_a_misuse)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 256 * KiB, SALT));
    int calls = 0;
    ASSERT_EQ(smmap_scan(c, 0, UINT64_MAX, positive, &calls), SMMAP_EINVAL,
              "not a byte count");
    ASSERT_EQ(calls, 1, "the scan stopped at once");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(scan, bad_arguments)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 10, SALT));
    struct walk w = {0};
    ASSERT_EQ(smmap_scan(NULL, 0, 1, check_span, &w), SMMAP_EINVAL);
    ASSERT_EQ(smmap_scan(c, 0, 1, NULL, &w), SMMAP_EINVAL);
    ASSERT_EQ(smmap_scan(c, UINT64_MAX - 1, UINT64_MAX, check_span, &w), 0,
              "offset + len overflows: clipped, past the end");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* One window of 256 KiB holds the file; the cut takes every page from the
 * second on, and fn then reads a lost page. */
TEST(scan, truncation_inside_a_span)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 256 * KiB, SALT);
    smmap_manager *m = UTIL_MANAGER(.window_size = 1 * MiB);
    smmap_cursor *c = util_cursor(m, p);
    struct walk w = {.cut = p, .cut_to = util_page(), .cut_at = 1, .touch = 200 * KiB};
    ASSERT_EQ(smmap_scan(c, 0, UINT64_MAX, check_span, &w), SMMAP_ETRUNC);
    ASSERT_EQ(smmap_file_size(c), (int64_t)util_page(), "the size was read again");
    struct walk again = {0};
    ASSERT_EQ(smmap_scan(c, 0, util_page(), check_span, &again), (int64_t)util_page(),
              "the cursor goes on from the new size");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* The file is cut inside the first window to less than fn has seen; the
 * next span's miss finds the end before where it would start. */
TEST(scan, truncation_between_spans)
{
    const char *p = util_make_file("f", 256 * KiB, SALT);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    struct walk w = {.cut = p, .cut_to = 10000, .cut_at = 1, .touch = 10};
    ASSERT_EQ(smmap_scan(c, 0, UINT64_MAX, check_span, &w), SMMAP_ETRUNC);
    ASSERT_EQ(w.spans, 1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* fn scans another file in full inside each span, then the outer file is
 * cut and read: the inner calls must leave the outer guard in place. */
TEST(scan, nested_scans_keep_the_outer_guard)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 256 * KiB, SALT);
    const char *q = util_make_file("g", 100 * KiB + 1, SALT);
    smmap_manager *m = UTIL_MANAGER(.window_size = 1 * MiB);
    smmap_cursor *c = util_cursor(m, p), *d = util_cursor(m, q);
    struct walk w = {.inner = d};
    ASSERT_EQ(smmap_scan(c, 0, UINT64_MAX, check_span, &w), 256 * KiB);
    struct walk cut = {.inner = d, .cut = p, .cut_to = util_page(), .cut_at = 1,
                       .touch = 128 * KiB};
    ASSERT_EQ(smmap_scan(c, 0, UINT64_MAX, check_span, &cut), SMMAP_ETRUNC);
    smmap_cursor_free(d);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
