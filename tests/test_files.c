/*
 * test_files.c - files: reached by path, by fd and by other names (one set
 * of windows), growing files, empty files, bad files and descriptors, and
 * the error messages.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _WIN32
#define DEV_NULL "NUL"
#else
#include <sys/wait.h>
#define DEV_NULL "/dev/null"
#endif

TEST(files, one_file_many_names_share_windows)
{
    const char *p = util_make_file("f", 1 * MiB, 61);
    util_mkdir(util_path("sub"));
    const char *dotdot = util_path("sub/../f");
    const char *link_p = util_path("hardlink");
    util_link(p, link_p);
#ifdef _WIN32
    /* Symbolic links need a privilege; names differ in case instead. */
    const char *sym_p = util_path("F");
#else
    const char *sym_p = util_path("symlink");
    ASSERT_EQ(symlink(p, sym_p), 0);
#endif

    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c[5];
    c[0] = util_cursor(m, p);
    int fd = open(p, O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, &c[1]), 0);
    close(fd);
    c[2] = util_cursor(m, dotdot);
    c[3] = util_cursor(m, link_p);
    c[4] = util_cursor(m, sym_p);

    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.files, 1u, "%llu files for one inode", (unsigned long long)st.files);
    ASSERT_EQ(util_fds_of(p), 1, "one descriptor per file");

    ASSERT_EQ(smmap_use(c[0], 300 * KiB, 100), 0);
    const unsigned char *d = smmap_data(c[0]);
    for (int i = 1; i < 5; i++) {
        ASSERT_EQ(smmap_use(c[i], 300 * KiB + (uint64_t)i, 100), 0, "cursor %d", i);
        ASSERT_EQ(smmap_data(c[i]), d + i, "cursor %d sees another mapping", i);
        ASSERT_EQ(smmap_window_users(c[i]), i + 1);
        ASSERT_EQ(util_mismatch(61, 300 * KiB + (uint64_t)i, smmap_data(c[i]), 100), -1);
    }
    ASSERT_EQ(smmap_window_users(c[0]), 5);
    st = util_stats(m);
    ASSERT_EQ(st.windows, 1u, "%llu windows", (unsigned long long)st.windows);
    ASSERT_EQ(st.mmap_calls, 1u);
    ASSERT_EQ(st.misses, 1u);
    ASSERT_EQ(st.files, 1u);
    ASSERT_EQ(st.files_mapped, 1u);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 1);

    ASSERT_STR_EQ(smmap_cursor_path(c[2]), dotdot);
    ASSERT_STR_EQ(smmap_cursor_path(c[3]), link_p);
    ASSERT_EQ(smmap_cursor_fd(c[1]), fd);

    for (int i = 0; i < 5; i++)
        smmap_cursor_free(c[i]);
    smmap_manager_free(m);
}

TEST(files, different_files_do_not_share)
{
    const char *p1 = util_make_file("f1", 256 * KiB, 62);
    const char *p2 = util_make_file("f2", 256 * KiB, 63);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *a = util_cursor(m, p1), *b = util_cursor(m, p2);
    ASSERT_EQ(smmap_use(a, 1000, 100), 0);
    ASSERT_EQ(smmap_use(b, 1000, 100), 0);
    ASSERT_EQ(util_mismatch(62, 1000, smmap_data(a), 100), -1);
    ASSERT_EQ(util_mismatch(63, 1000, smmap_data(b), 100), -1);
    ASSERT_EQ(smmap_window_users(a), 1);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.files, 2u);
    ASSERT_EQ(st.windows, 2u);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

static void check_growth(int kind)
{
    uint64_t old = 100 * KiB + 5, add = 300 * KiB + 11, size = old + add;
    const char *p = util_make_file("f", old, 64);
    smmap_manager *m = UTIL_MANAGER(.kind = kind, .window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p), *d = util_cursor(m, p);
    /* c holds the window at the old end; d has mapped nothing */
    ASSERT_EQ(smmap_use(c, old - 10, 10), 0);
    ASSERT_EQ(smmap_use(c, old - 10, 0), 0);
    ASSERT_EQ(smmap_size(c), 10u);
    ASSERT_EQ(smmap_use(d, old, 1), SMMAP_EOF);

    util_append(p, old, add, 64);

    unsigned char *buf = malloc(size);
    /* a read from before the old end runs on to the new end */
    int64_t got = smmap_read(c, buf, 2000, old - 1000);
    ASSERT_EQ(got, 2000, "read across the old end gave %lld", (long long)got);
    ASSERT_EQ(util_mismatch(64, old - 1000, buf, 2000), -1);

    /* use past the old end succeeds */
    int rc = smmap_use(d, old + 10, 100);
    ASSERT_EQ(rc, 0, "use past the old end: %s", smmap_strerror(rc));
    ASSERT_EQ(smmap_size(d), 100u);
    ASSERT_EQ(util_mismatch(64, old + 10, smmap_data(d), 100), -1);
    ASSERT_EQ(smmap_file_size(d), (int64_t)size);

    ASSERT_EQ(smmap_use(d, size - 5, 0), 0);
    ASSERT_EQ(smmap_size(d), 5u);
    ASSERT_EQ(smmap_use(d, size, 1), SMMAP_EOF);

    /* the whole new file */
    memset(buf, 0, size);
    ASSERT_EQ(smmap_read(c, buf, size + 100, 0), (int64_t)size);
    ASSERT_EQ(util_mismatch(64, 0, buf, size), -1);
    free(buf);
    smmap_cursor_free(c);
    smmap_cursor_free(d);
    smmap_manager_free(m);
}

TEST(files, growing_file_sliding)
{
    check_growth(SMMAP_SLIDING);
}

TEST(files, growing_file_static)
{
    check_growth(SMMAP_STATIC);
}

TEST(files, grows_after_cursor_creation)
{
    const char *p = util_make_file("f", 1000, 65);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    util_append(p, 1000, 500 * KiB, 65);
    ASSERT_EQ(smmap_use(c, 200 * KiB, 1000), 0);
    ASSERT_EQ(util_mismatch(65, 200 * KiB, smmap_data(c), 1000), -1);
    unsigned char buf[4096];
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 500 * KiB - 96), 1096);
    ASSERT_EQ(util_mismatch(65, 500 * KiB - 96, buf, 1096), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* A request that runs past the window holding the old end of the file
 * re-reads the size: after the file grew it is whole (up to window/2 bytes,
 * as the header promises), whether the window at the old end is the
 * cursor's own (idle = 0) or waits idle in the cache (idle = 1). */
static void check_growth_across_old_end(int kind, int idle)
{
    const char *p = util_make_file("f", 10000, 66);
    smmap_manager *m = UTIL_MANAGER(.kind = kind,
                                    .window_size = kind == SMMAP_SLIDING ? 64 * KiB : 0);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(c, 0, 100), 0);
    ASSERT_EQ(smmap_window_end(c), 10000u, "the window ends at the old end");
    if (idle)
        smmap_unuse(c);
    util_append(p, 10000, 10000, 66);
    int rc = smmap_use(c, 9990, 100);
    ASSERT_EQ(rc, 0, "use across the old end: %s", smmap_strerror(rc));
    ASSERT_EQ(smmap_size(c), 100u, "a request across the old end was cut there");
    ASSERT_EQ(util_mismatch(66, 9990, smmap_data(c), 100), -1);
    ASSERT_EQ(smmap_file_size(c), 20000);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(files, growth_across_old_end_own_window)
{
    check_growth_across_old_end(SMMAP_SLIDING, 0);
}

TEST(files, growth_across_old_end_idle_window)
{
    check_growth_across_old_end(SMMAP_SLIDING, 1);
}

TEST(files, growth_across_old_end_static)
{
    check_growth_across_old_end(SMMAP_STATIC, 0);
    check_growth_across_old_end(SMMAP_STATIC, 1);
}

/* A request that reaches past the end of a file that did not grow is cut
 * at the end, and asks the size again each time (the window does not hold
 * it), so a growth between two such calls is seen by the second. */
TEST(files, request_past_end_rereads_size)
{
    const char *p = util_make_file("f", 5000, 67);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(smmap_use(c, 4000, 2000), 0);
        ASSERT_EQ(smmap_size(c), 1000u);
    }
    util_append(p, 5000, 3000, 67);
    ASSERT_EQ(smmap_use(c, 4000, 2000), 0);
    ASSERT_EQ(smmap_size(c), 2000u);
    ASSERT_EQ(util_mismatch(67, 4000, smmap_data(c), 2000), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(files, empty_file)
{
    const char *p = util_make_file("empty", 0, 66);
    for (int kind = SMMAP_SLIDING; kind <= SMMAP_STATIC; kind++) {
        smmap_manager *m = UTIL_MANAGER(.kind = kind,
                                        .window_size = kind == SMMAP_SLIDING ? 64 * KiB : 0);
        smmap_cursor *c = util_cursor(m, p);
        ASSERT_EQ(smmap_file_size(c), 0);
        ASSERT_EQ(smmap_use(c, 0, 1), SMMAP_EOF);
        ASSERT_EQ(smmap_use(c, 0, 0), SMMAP_EOF);
        ASSERT_EQ(smmap_valid(c), 0);
        unsigned char buf[8];
        ASSERT_EQ(smmap_read(c, buf, sizeof buf, 0), 0);
        ASSERT_EQ(smmap_read(c, buf, sizeof buf, 5), 0);
        smmap_stats st = util_stats(m);
        ASSERT_EQ(st.windows, 0u);
        ASSERT_EQ(util_maps_of(p, NULL, 0), 0);
        smmap_cursor_free(c);
        smmap_manager_free(m);
    }
}

TEST(files, missing_file)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = (smmap_cursor *)(uintptr_t)1;
    ASSERT_EQ(smmap_cursor_new(m, util_path("nope"), &c), -ENOENT);
    ASSERT_EQ(smmap_cursor_new(m, util_path("nodir/nope"), &c), -ENOENT);
    const char *p = util_make_file("f", 10, 67);
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/x", p);
#ifdef _WIN32
    ASSERT_EQ(smmap_cursor_new(m, sub, &c), -ENOENT, "Windows: the path is not found");
#else
    ASSERT_EQ(smmap_cursor_new(m, sub, &c), -ENOTDIR);
#endif
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.files, 0u);
    smmap_manager_free(m);
}

TEST(files, directory)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c;
    ASSERT_EQ(smmap_cursor_new(m, t_dir(), &c), -EISDIR);
#ifndef _WIN32 /* msvcrt cannot open a directory as an fd */
    int fd = open(t_dir(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, &c), -EISDIR);
    close(fd);
#endif
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(files, fifo, "Windows has no FIFOs in the file system")
#else
/* Opening a FIFO with no writer must not block. */
TEST(files, fifo, .timeout = 10)
{
    const char *p = util_path("fifo");
    ASSERT_EQ(mkfifo(p, 0600), 0);
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c;
    ASSERT_EQ(smmap_cursor_new(m, p, &c), SMMAP_ENOTREG);
    int fd = open(p, O_RDONLY | O_NONBLOCK);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, &c), SMMAP_ENOTREG);
    close(fd);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.files, 0u);
    smmap_manager_free(m);
}
#endif

TEST(files, device)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c;
    ASSERT_EQ(smmap_cursor_new(m, DEV_NULL, &c), SMMAP_ENOTREG);
    smmap_manager_free(m);
}

TEST(files, bad_descriptors)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c;
    const char *p = util_make_file("f", 10, 68);
    int fd = open(p, O_RDONLY);
    ASSERT_GE(fd, 0);
    close(fd);
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, &c), -EBADF, "closed fd");
    ASSERT_EQ(smmap_cursor_new_fd(m, 1000000, &c), -EBADF, "fd never opened");
    ASSERT_EQ(smmap_cursor_new_fd(m, INT_MAX, &c), -EBADF, "fd INT_MAX");
    ASSERT_EQ(smmap_cursor_new_fd(m, -1, &c), SMMAP_EINVAL);
    ASSERT_EQ(smmap_cursor_new_fd(m, INT_MIN, &c), SMMAP_EINVAL);
    smmap_manager_free(m);
}

/* A descriptor opened write-only cannot be mapped for reading; refusing
 * it keeps it from becoming the descriptor that later cursors on the same
 * file (by path or by a readable fd) share. */
TEST(files, write_only_descriptor)
{
    const char *p = util_make_file("f", 100 * KiB, 69);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    int fd = open(p, O_WRONLY);
    ASSERT_GE(fd, 0);
    int fds = util_count_fds();
    smmap_cursor *c = NULL;
    ASSERT_EQ(smmap_cursor_new_fd(m, fd, &c), -EBADF);
    ASSERT_EQ(util_count_fds(), fds, "no descriptor kept");
    smmap_cursor *byp = util_cursor(m, p);
    ASSERT_EQ(smmap_use(byp, 0, 10), 0, "the file is not poisoned");
    ASSERT_EQ(util_mismatch(69, 0, smmap_data(byp), 10), -1);
    int rfd = open(p, O_RDONLY);
    ASSERT_EQ(smmap_cursor_new_fd(m, rfd, &c), 0, "a readable fd still works");
    ASSERT_EQ(smmap_use(c, 70 * KiB, 10), 0);
    ASSERT_EQ(util_mismatch(69, 70 * KiB, smmap_data(c), 10), -1);
    smmap_cursor_free(c);
    smmap_cursor_free(byp);
    close(rfd);
    close(fd);
    smmap_manager_free(m);
}

TEST(files, strerror_messages)
{
    const int codes[] = {SMMAP_EOF, SMMAP_ELIMIT, SMMAP_ETRUNC, SMMAP_EINVAL, SMMAP_ECURSOR,
                         SMMAP_ENOTREG, -ENOENT, -EBADF, -EISDIR, -ENOMEM};
    enum { N = sizeof codes / sizeof *codes };
    const char *msg[N];
    for (int i = 0; i < N; i++) {
        msg[i] = smmap_strerror(codes[i]);
        ASSERT_NOT_NULL(msg[i], "code %d", codes[i]);
        ASSERT_GT(strlen(msg[i]), 0u, "code %d", codes[i]);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ASSERT_STR_NE(msg[i], msg[j], "codes %d and %d share \"%s\"", codes[i],
                              codes[j], msg[i]);
    const char *unknown[] = {smmap_strerror(0), smmap_strerror(12345), smmap_strerror(INT_MIN),
                             smmap_strerror(INT_MAX), smmap_strerror(-29999),
                             smmap_strerror(-30000), smmap_strerror(-30007),
                             smmap_strerror(-99999)};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        ASSERT_NOT_NULL(unknown[i], "case %zu", i);
        ASSERT_GT(strlen(unknown[i]), 0u);
    }
    /* success is not reported as one of the errors */
    for (int i = 0; i < N; i++)
        ASSERT_STR_NE(smmap_strerror(0), msg[i]);
    /* unknown codes are not reported as a known library error */
    for (int i = 0; i < 6; i++) {
        ASSERT_STR_NE(smmap_strerror(12345), msg[i]);
        ASSERT_STR_NE(smmap_strerror(-30007), msg[i]);
    }
}

/* A file truncated under a mapping: the copying calls return SMMAP_ETRUNC
 * instead of letting SIGBUS kill the process. */
TEST(files, truncated_under_mapping, .timeout = 10)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 1 * MiB, 70);
    smmap_manager *m = UTIL_MANAGER(.window_size = 256 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    smmap_buffer *b;
    ASSERT_EQ(smmap_buffer_new(c, 0, 0, &b), 0);
    ASSERT_EQ(smmap_buffer_byte(b, 100 * KiB), util_byte(70, 100 * KiB));
    ASSERT_EQ(smmap_use(c, 0, 100), 0);
    unsigned char buf[4096];
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 50 * KiB), (int64_t)sizeof buf);

    ASSERT_EQ(util_truncate(p, 4096), 0);
    int64_t r = smmap_read(c, buf, sizeof buf, 60 * KiB);
    ASSERT_EQ(r, SMMAP_ETRUNC, "read of a lost page gave %lld (%s)", (long long)r,
                 smmap_strerror((int)r));
    int v = smmap_buffer_byte(b, 100 * KiB + 1);
    ASSERT_LT(v, 0, "byte of a lost page gave %d", v);
    /* what is still there reads fine */
    ASSERT_EQ(smmap_read(c, buf, 100, 0), 100);
    ASSERT_EQ(util_mismatch(70, 0, buf, 100), -1);
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

#ifndef _WIN32
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf own_jmp;
static volatile sig_atomic_t own_calls;

static void own_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    (void)ctx;
    own_calls++;
    siglongjmp(own_jmp, 1);
}
#endif

/* A window cut by a truncation is not handed out again once the library
 * knows the new size: a new cursor gets a window that ends at the new end
 * (SPEC: windows never reach past the end of the file), while a cursor
 * still on the old window keeps it. */
/* A file cut inside the page that then holds its end: the kernel shows
 * zeros past the new end in that page and raises no SIGBUS there. Once the
 * library knows the new size - from smmap_file_stat(), any miss, or a
 * SMMAP_ETRUNC from a lost page - its copying calls stop at the new end,
 * as pread(2) does. */
TEST(files, truncated_inside_last_page)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 64 * KiB, 71);
    smmap_manager *m = UTIL_MANAGER(.window_size = 256 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    smmap_buffer *b;
    ASSERT_EQ(smmap_buffer_new(c, 0, 0, &b), 0);
    unsigned char buf[256];
    ASSERT_EQ(smmap_read(c, buf, 100, 0), 100);
    ASSERT_EQ(smmap_window_end(c), 64 * KiB, "one window holds the file");
    ASSERT_EQ(util_truncate(p, 1000), 0);

    /* The library learns the size from a fault on a lost page... */
    ASSERT_EQ(smmap_read(c, buf, 100, 3 * util_page()), SMMAP_ETRUNC);
    ASSERT_EQ(smmap_file_size(c), 1000);
    /* ...and then reads, buffers and spans stop at the new end. */
    ASSERT_EQ(smmap_read(c, buf, 100, 2000), 0);
    ASSERT_EQ(smmap_read(c, buf, 100, 950), 50);
    ASSERT_EQ(util_mismatch(71, 950, buf, 50), -1);
    ASSERT_LT(smmap_buffer_byte(b, 2000), 0);
    ASSERT_EQ(smmap_buffer_read(b, 900, 1100, buf, sizeof buf), SMMAP_ETRUNC);
    /* A span the current window holds is served from it as it is; a new
     * window is cut at the new end. */
    smmap_unuse(c);
    ASSERT_EQ(smmap_use(c, 900, 200), 0);
    ASSERT_EQ(smmap_size(c), 100u);
    ASSERT_EQ(smmap_window_end(c), 1000u, "the cut window is not used again");
    ASSERT_EQ(smmap_use(c, 2000, 1), SMMAP_EOF);
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* The same when the size is asked for (no fault has told the library). */
TEST(files, truncated_inside_last_page_after_stat)
{
    const char *p = util_make_file("f", 64 * KiB, 72);
    smmap_manager *m = UTIL_MANAGER(.window_size = 256 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    unsigned char buf[256];
    ASSERT_EQ(smmap_read(c, buf, 100, 0), 100);
    ASSERT_EQ(util_truncate(p, 1000), 0);
    ASSERT_EQ(smmap_file_stat(c), 1000);
    ASSERT_EQ(smmap_read(c, buf, 100, 2000), 0);
    ASSERT_EQ(smmap_read(c, buf, 100, 950), 50);
    ASSERT_EQ(smmap_window_end(c), 64 * KiB, "the read moved no window");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(files, truncated_window_not_reused)
{
    const char *p = util_make_file("f", 1 * MiB, 77);
    smmap_manager *m = UTIL_MANAGER(.window_size = 512 * KiB);
    smmap_cursor *old = util_cursor(m, p), *idle = util_cursor(m, p);
    ASSERT_EQ(smmap_use(old, 0, 100), 0);
    ASSERT_EQ(smmap_use(idle, 600 * KiB, 100), 0);
    smmap_unuse(idle);
    ASSERT_EQ(util_truncate(p, 4096), 0);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(c, 0, 0), 0);
    ASSERT_EQ(smmap_window_end(c), 4096, "window [0,%llu) past the new end",
                 (unsigned long long)smmap_window_end(c));
    ASSERT_EQ(smmap_size(c), 4096);
    ASSERT_EQ(smmap_probe(c), 0);
    ASSERT_EQ(util_mismatch(77, 0, smmap_data(c), 4096), -1);
    ASSERT_EQ(smmap_window_end(old), 512 * KiB, "the old user keeps its window");
    smmap_cursor_free(old);
    smmap_cursor_free(idle);
    smmap_cursor_free(c);
    smmap_collect(m);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.windows, 0);
    ASSERT_EQ(st.mapped, 0);
    smmap_manager_free(m);
}

/* smmap_probe finds a span whose tail was truncated away, without a signal
 * reaching the program. */
TEST(files, probe_sees_truncation)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 256 * KiB, 73);
    smmap_manager *m = UTIL_MANAGER(.window_size = 128 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_probe(c), SMMAP_ECURSOR, "no window yet");
    ASSERT_EQ(smmap_use(c, 100 * KiB, 20 * KiB), 0);
    ASSERT_EQ(smmap_probe(c), 0);
    ASSERT_EQ(util_truncate(p, 110 * KiB), 0);
    ASSERT_EQ(smmap_probe(c), SMMAP_ETRUNC, "span [100K,120K) lost its tail");
    ASSERT_EQ(smmap_use(c, 100 * KiB, 8 * KiB), 0, "still in the same window");
    ASSERT_EQ(smmap_probe(c), 0, "[100K,108K) is still in the file");
    ASSERT_EQ(smmap_probe(NULL), SMMAP_EINVAL);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* smmap_probe_at reaches any byte of the window, not only the span, and
 * leaves the span where it was. */
TEST(files, probe_at_anywhere_in_window)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 256 * KiB, 74);
    smmap_manager *m = UTIL_MANAGER(.window_size = 128 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(c, 70 * KiB, 4 * KiB), 0);
    uint64_t wb = smmap_window_begin(c), we = smmap_window_end(c);
    ASSERT(wb < 70 * KiB && we > 120 * KiB, "window [%llu,%llu)",
              (unsigned long long)wb, (unsigned long long)we);
    ASSERT_EQ(smmap_probe_at(c, wb), 0);
    ASSERT_EQ(smmap_probe_at(c, we - 1), 0);
    ASSERT_EQ(smmap_probe_at(c, we), SMMAP_EINVAL, "past the window");
    if (wb > 0)
        ASSERT_EQ(smmap_probe_at(c, wb - 1), SMMAP_EINVAL, "before the window");
    ASSERT_EQ(util_truncate(p, 100 * KiB), 0);
    ASSERT_EQ(smmap_probe_at(c, 110 * KiB), SMMAP_ETRUNC, "a page past the new end");
    ASSERT_EQ(smmap_probe_at(c, 90 * KiB), 0, "still in the file");
    ASSERT_EQ(smmap_probe(c), 0, "the span [70K,74K) is untouched");
    ASSERT_EQ(smmap_begin(c), 70 * KiB);
    ASSERT_EQ(smmap_size(c), 4 * KiB);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(files, sent_sigbus_still_kills, "Windows has no signals; its guard is a vectored exception handler")
#else
static smmap_cursor *guarded_cursor(smmap_manager *m, const char *p)
{
    smmap_cursor *c = util_cursor(m, p);
    unsigned char buf[100];
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 1000), 100, "installs the guard");
    return c;
}

/* A SIGBUS sent to the process (not a fault) is not the guard's to
 * handle: with the default action before it, the process still ends. */
TEST(files, sent_sigbus_still_kills, .timeout = 10)
{
    if (util_valgrind() || util_asan())
        SKIP("valgrind and ASan handle SIGBUS their own way");
    const char *p = util_make_file("f", 64 * KiB, 75);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
        guarded_cursor(m, p);
        raise(SIGBUS);
        _exit(0); /* the signal was swallowed */
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
              "the process survived a sent SIGBUS (status %#x)", status);
}
#endif

#ifdef _WIN32
NOT_ON_WINDOWS(files, sent_sigbus_ignored_keeps_guard, "Windows has no signals; its guard is a vectored exception handler")
#else
/* With SIGBUS ignored before the guard came, a sent SIGBUS stays ignored
 * and the guard stays in place for the next truncation. */
TEST(files, sent_sigbus_ignored_keeps_guard, .timeout = 10)
{
    util_require_exact_sigbus();
    if (util_valgrind())
        SKIP("valgrind delivers SIGBUS its own way");
    ASSERT_NE(signal(SIGBUS, SIG_IGN), SIG_ERR);
    const char *p = util_make_file("f", 256 * KiB, 76);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = guarded_cursor(m, p);
    unsigned char buf[100];
    raise(SIGBUS);
    kill(getpid(), SIGBUS);
    ASSERT_EQ(util_truncate(p, 4096), 0);
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 32 * KiB), SMMAP_ETRUNC);
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 1000), 100);
    ASSERT_EQ(util_mismatch(76, 1000, buf, sizeof buf), -1);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
#endif

#ifdef _WIN32
NOT_ON_WINDOWS(files, sigbus_handler_chained, "Windows has no signals; its guard is a vectored exception handler")
#else
/* The library's SIGBUS guard chains to the handler installed before it: a
 * fault outside the library still reaches the program's handler. */
TEST(files, sigbus_handler_chained, .timeout = 10)
{
    util_require_exact_sigbus();
    if (util_valgrind())
        SKIP("valgrind delivers SIGBUS from a truncated mapping its own way");
    struct sigaction sa = {0};
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGBUS, &sa, NULL), 0);

    const char *p = util_make_file("f", 256 * KiB, 71);
    const char *q = util_make_file("g", 256 * KiB, 72);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    unsigned char buf[100];
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 1000), 100);
    /* make the library use its guard once: a truncated read */
    ASSERT_EQ(smmap_use(c, 0, 10), 0);
    ASSERT_EQ(util_truncate(p, 4096), 0);
    ASSERT_EQ(smmap_read(c, buf, sizeof buf, 32 * KiB), SMMAP_ETRUNC);
    ASSERT_EQ(own_calls, 0, "a guarded fault reached the program's handler");

    /* now a fault of the program's own */
    int fd = open(q, O_RDONLY);
    ASSERT_GE(fd, 0);
    volatile const unsigned char *map = mmap(NULL, 256 * KiB, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE((void *)map, MAP_FAILED);
    close(fd);
    ASSERT_EQ(map[0], util_byte(72, 0));
    ASSERT_EQ(util_truncate(q, 4096), 0);
    if (sigsetjmp(own_jmp, 1) == 0) {
        unsigned char x = map[128 * KiB];
        (void)x;
        FAIL("no SIGBUS reading a truncated page");
    }
    ASSERT_EQ(own_calls, 1);
    munmap((void *)map, 256 * KiB);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
#endif

/* smmap_collect_path() releases the files under a path: their idle windows
 * are unmapped and their handles closed, so that the system lets the file
 * be shrunk, renamed over and deleted (Windows refuses all three while a
 * view exists); files elsewhere keep their windows. */
TEST(files, collect_path_releases_the_files_under_it)
{
    util_mkdir(util_path("pack"));
    const char *p = util_make_file("pack/a", 300 * KiB, 77);
    const char *q = util_make_file("b", 300 * KiB, 78);
    const char *r = util_make_file("r", 10, 79);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p), *d = util_cursor(m, q);
    unsigned char buf[100];
    for (uint64_t off = 0; off < 300 * KiB; off += 50 * KiB) {
        ASSERT_EQ(smmap_read(c, buf, sizeof buf, off), 100);
        ASSERT_EQ(smmap_read(d, buf, sizeof buf, off), 100);
    }
    smmap_cursor_free(c);
    int p_windows = util_maps_of(p, NULL, 0), q_windows = util_maps_of(q, NULL, 0);
    ASSERT_GE(p_windows, 3);
    ASSERT_EQ(util_fds_of(p), 1, "the idle windows hold the file");
#ifdef _WIN32
    ASSERT_NE(util_shrink_here(p, 1000), 0, "Windows lets no view's file shrink");
#endif
    ASSERT_EQ(smmap_collect_path(m, util_path("pack/")), p_windows);
    ASSERT_EQ(util_maps_of(p, NULL, 0), 0);
    ASSERT_EQ(util_fds_of(p), 0);
    ASSERT_EQ(util_maps_of(q, NULL, 0), q_windows, "other files keep their windows");
    ASSERT_EQ(smmap_collect_path(m, util_path("pack/")), 0, "nothing left there");
    ASSERT_EQ(util_shrink_here(p, 1000), 0);
    ASSERT_EQ(util_rename(r, p), 0);
    ASSERT_EQ(remove(p), 0);
    ASSERT_EQ(smmap_collect_path(m, NULL), SMMAP_EINVAL);
    ASSERT_EQ(smmap_collect_path(NULL, "x"), SMMAP_EINVAL);
    smmap_cursor_free(d);
    smmap_manager_free(m);
}
