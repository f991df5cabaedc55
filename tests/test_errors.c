/*
 * test_errors.c - the C half of the error catalogue (docs/errors.md): one
 * test per bad argument or bad file, checking the exact code and message
 * the table lists, and that nothing is left open or mapped.
 */
#include "util.h"

#include <smmap.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _WIN32
#include <io.h>
#define DEV_NULL "NUL"
#define pipe(p) _pipe(p, 4096, O_BINARY)
#else
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#define DEV_NULL "/dev/null"
#endif

static int fds0;

static void setup(void)
{
    fds0 = util_count_fds();
}

TEST_SUITE(errors, .init = setup)

/* rc is the code want, and smmap_strerror() gives msg for it. */
#define expect_code(rc, want, msg)                                                     \
    do {                                                                               \
        int64_t rc_ = (rc);                                                            \
        EXPECT_EQ(rc_, (int64_t)(want), "%s: got %lld (%s), want %s", #rc,          \
                     (long long)rc_, smmap_strerror((int)rc_), #want);                 \
        EXPECT_STR_EQ(smmap_strerror((int)(want)), msg);                            \
    } while (0)

/* A failed cursor_new leaves *out NULL, and nothing open. */
static void expect_new_fails(smmap_manager *m, const char *path, int want, const char *msg)
{
    smmap_cursor *c = (smmap_cursor *)(uintptr_t)1;
    int rc = smmap_cursor_new(m, path, &c);
    expect_code(rc, want, msg);
    EXPECT_NULL(c, "*out is NULL after an error");
    EXPECT_EQ(util_count_fds(), fds0, "descriptors left open");
}

static void expect_new_fd_fails(smmap_manager *m, int fd, int want, const char *msg)
{
    smmap_cursor *c = (smmap_cursor *)(uintptr_t)1;
    int rc = smmap_cursor_new_fd(m, fd, &c);
    expect_code(rc, want, msg);
    EXPECT_NULL(c, "*out is NULL after an error");
}

static void expect_manager_einval(smmap_options o)
{
    smmap_manager *m = (smmap_manager *)(uintptr_t)1;
    expect_code(smmap_manager_new(&m, &o), SMMAP_EINVAL, "Invalid argument");
    EXPECT_NULL(m);
}

/* ------------------------------------------------------------- managers */

TEST(errors, manager_out_null)
{
    expect_code(smmap_manager_new(NULL, NULL), SMMAP_EINVAL, "Invalid argument");
}

TEST(errors, manager_unknown_kind)
{
    expect_manager_einval((smmap_options){.kind = 2});
}

TEST(errors, manager_unknown_flag)
{
    expect_manager_einval((smmap_options){.flags = 0x2});
}

TEST(errors, manager_window_above_max_memory)
{
    expect_manager_einval((smmap_options){.window_size = 2 * MiB, .max_memory = 1 * MiB});
}

TEST(errors, manager_max_memory_below_two_pages)
{
    expect_manager_einval((smmap_options){.max_memory = 2 * util_page() - 1});
}

TEST(errors, collect_and_make_room_null)
{
    expect_code(smmap_collect(NULL), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_make_room(NULL, 1), SMMAP_EINVAL, "Invalid argument");
}

/* No error code to return: the output is zeroed, never left as it was. */
TEST(errors, stats_and_options_of_null)
{
    smmap_stats st;
    smmap_options o;
    memset(&st, 0xAB, sizeof st);
    memset(&o, 0xAB, sizeof o);
    smmap_manager_stats(NULL, &st);
    smmap_manager_options(NULL, &o);
    ASSERT_EQ(st.mmap_calls, 0);
    ASSERT_EQ(st.mapped_peak, 0);
    ASSERT_EQ(st.preads, 0);
    ASSERT_EQ(o.window_size, 0);
    ASSERT_EQ(o.max_memory, 0);
    ASSERT_EQ(o.kind, 0);
    smmap_manager_stats(NULL, NULL);
    smmap_manager_options(NULL, NULL);
}

/* -------------------------------------------------------- cursor by path */

TEST(errors, cursor_null_arguments)
{
    smmap_manager *m = util_manager(NULL);
    const char *p = util_make_file("f", 10, 1);
    smmap_cursor *c;
    expect_code(smmap_cursor_new(NULL, p, &c), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_cursor_new(m, NULL, &c), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_cursor_new(m, p, NULL), SMMAP_EINVAL, "Invalid argument");
    smmap_manager_free(m);
}

TEST(errors, cursor_empty_path)
{
    smmap_manager *m = util_manager(NULL);
    expect_new_fails(m, "", SMMAP_EINVAL, "Invalid argument");
    smmap_manager_free(m);
}

TEST(errors, cursor_missing_file)
{
    smmap_manager *m = util_manager(NULL);
    expect_new_fails(m, util_path("missing"), -ENOENT, "No such file or directory");
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_path_through_a_file, "Windows reports a path through a file as not found (ENOENT)")
#else
TEST(errors, cursor_path_through_a_file)
{
    smmap_manager *m = util_manager(NULL);
    util_make_file("f", 10, 1);
    expect_new_fails(m, util_path("f/x"), -ENOTDIR, "Not a directory");
    smmap_manager_free(m);
}
#endif

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_symlink_loop, "symbolic links need a privilege on Windows")
#else
TEST(errors, cursor_symlink_loop)
{
    smmap_manager *m = util_manager(NULL);
    ASSERT_EQ(symlink("loop", util_path("loop")), 0);
    expect_new_fails(m, util_path("loop"), -ELOOP, "Too many levels of symbolic links");
    smmap_manager_free(m);
}
#endif

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_name_too_long, "Windows names a too long component as not found")
#else
TEST(errors, cursor_name_too_long)
{
    smmap_manager *m = util_manager(NULL);
    char name[NAME_MAX + 2];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = 0;
    expect_new_fails(m, util_path(name), -ENAMETOOLONG, "File name too long");
    smmap_manager_free(m);
}
#endif

TEST(errors, cursor_directory)
{
    smmap_manager *m = util_manager(NULL);
    expect_new_fails(m, t_dir(), -EISDIR, "Is a directory");
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_fifo, "Windows has no FIFOs in the file system")
#else
TEST(errors, cursor_fifo, .timeout = 10)
{
    smmap_manager *m = util_manager(NULL);
    ASSERT_EQ(mkfifo(util_path("fifo"), 0600), 0);
    expect_new_fails(m, util_path("fifo"), SMMAP_ENOTREG, "not a regular file");
    smmap_manager_free(m);
}
#endif

TEST(errors, cursor_device)
{
    smmap_manager *m = util_manager(NULL);
    expect_new_fails(m, DEV_NULL, SMMAP_ENOTREG, "not a regular file");
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_pseudo_file, "Windows has no /proc")
#else
/* A pseudo-file whose size the kernel reports as 0 although read(2) gives
 * its content: refused when the cursor is made, never silently empty. An
 * empty regular file is still fine. */
TEST(errors, cursor_pseudo_file)
{
    smmap_manager *m = util_manager(NULL);
    expect_new_fails(m, "/proc/self/status", SMMAP_ENOTREG, "not a regular file");
    expect_new_fails(m, "/proc/version", SMMAP_ENOTREG, "not a regular file");
    smmap_cursor *c;
    ASSERT_EQ(smmap_cursor_new(m, util_make_file("empty", 0, 1), &c), 0);
    ASSERT_EQ(smmap_use(c, 0, 1), SMMAP_EOF);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
#endif

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_socket_path, "Windows has no Unix socket paths to open")
#else
/* open(2) of a Unix socket's path fails before smmap sees what it is. */
TEST(errors, cursor_socket_path)
{
    smmap_manager *m = util_manager(NULL);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", util_path("sock"));
    ASSERT_EQ(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    fds0++;
    expect_new_fails(m, util_path("sock"), -ENXIO, "No such device or address");
    close(s);
    smmap_manager_free(m);
}
#endif

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_out_of_descriptors, "Windows has no descriptor limit to lower")
#else
/* Out of descriptors, with no idle file to close: the retry fails too. */
TEST(errors, cursor_out_of_descriptors)
{
    smmap_manager *m = util_manager(NULL);
    const char *p = util_make_file("f", 100, 1);
    struct rlimit old, rl;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    rl = old;
    rl.rlim_cur = (rlim_t)fds0 + 8;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int held[64], n = 0;
    while (n < 64 && (held[n] = open(DEV_NULL, O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    ASSERT_EQ(errno, EMFILE);
    smmap_cursor *c = NULL;
    expect_code(smmap_cursor_new(m, p, &c), -EMFILE, "Too many open files");
    smmap_stats st = util_stats(m);
    EXPECT_EQ(st.retries, 1u, "retried once");
    while (n > 0)
        close(held[--n]);
    setrlimit(RLIMIT_NOFILE, &old);
    smmap_manager_free(m);
}
#endif

/* ---------------------------------------------------------- cursor by fd */

TEST(errors, cursor_fd_negative)
{
    smmap_manager *m = util_manager(NULL);
    expect_new_fd_fails(m, -1, SMMAP_EINVAL, "Invalid argument");
    smmap_manager_free(m);
}

TEST(errors, cursor_fd_closed)
{
    smmap_manager *m = util_manager(NULL);
    int fd = open(DEV_NULL, O_RDONLY);
    close(fd);
    expect_new_fd_fails(m, fd, -EBADF, "Bad file descriptor");
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_fd_directory, "msvcrt cannot open a directory as an fd")
#else
TEST(errors, cursor_fd_directory)
{
    smmap_manager *m = util_manager(NULL);
    int fd = open(t_dir(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd, 0);
    expect_new_fd_fails(m, fd, -EISDIR, "Is a directory");
    close(fd);
    smmap_manager_free(m);
}
#endif

TEST(errors, cursor_fd_pipe)
{
    smmap_manager *m = util_manager(NULL);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    expect_new_fd_fails(m, p[0], SMMAP_ENOTREG, "not a regular file");
    close(p[0]);
    close(p[1]);
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_fd_socket, "a Windows socket is no CRT descriptor")
#else
TEST(errors, cursor_fd_socket)
{
    smmap_manager *m = util_manager(NULL);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(s, 0);
    expect_new_fd_fails(m, s, SMMAP_ENOTREG, "not a regular file");
    close(s);
    smmap_manager_free(m);
}
#endif

/* Refused when the cursor is made, not at its first mapping: the file's
 * descriptor would be shared with later cursors on the same file. */
static void expect_fd_refused(int open_flags)
{
    smmap_manager *m = util_manager(NULL);
    int fd = open(util_make_file("f", 100, 1), open_flags);
    ASSERT_GE(fd, 0);
    expect_new_fd_fails(m, fd, -EBADF, "Bad file descriptor");
    close(fd);
    smmap_manager_free(m);
}

TEST(errors, cursor_fd_write_only)
{
    expect_fd_refused(O_WRONLY);
}

#ifdef _WIN32
NOT_ON_WINDOWS(errors, cursor_fd_o_path, "Windows has no O_PATH")
#else
TEST(errors, cursor_fd_o_path)
{
    expect_fd_refused(O_PATH);
}
#endif

/* ------------------------------------------------------------ use, dup */

TEST(errors, dup_null)
{
    smmap_cursor *d = (smmap_cursor *)(uintptr_t)1;
    expect_code(smmap_cursor_dup(NULL, &d), SMMAP_EINVAL, "Invalid argument");
    EXPECT_NULL(d);
}

TEST(errors, use_null_cursor)
{
    expect_code(smmap_use(NULL, 0, 1), SMMAP_EINVAL, "Invalid argument");
}

TEST(errors, use_at_end_of_file)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 5000, 1));
    expect_code(smmap_use(c, 5000, 1), SMMAP_EOF, "offset at or past the end of the file");
    expect_code(smmap_use(c, 1u << 30, 0), SMMAP_EOF, "offset at or past the end of the file");
    EXPECT_EQ(smmap_valid(c), 0);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, use_empty_file)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 0, 1));
    expect_code(smmap_use(c, 0, 0), SMMAP_EOF, "offset at or past the end of the file");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, use_offset_plus_size_overflows)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 5000, 1));
    expect_code(smmap_use(c, UINT64_MAX - 5, 10), SMMAP_EINVAL, "Invalid argument");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, use_strict_limit_reached)
{
    smmap_manager *m = UTIL_MANAGER(.flags = SMMAP_STRICT_LIMITS, .window_size = 64 * KiB,
                                    .max_handles = 1);
    const char *p = util_make_file("f", 1 * MiB, 1);
    smmap_cursor *a = util_cursor(m, p), *b = util_cursor(m, p);
    ASSERT_EQ(smmap_use(a, 0, 10), 0);
    expect_code(smmap_use(b, 512 * KiB, 10), SMMAP_ELIMIT,
                "limit reached: every window is in use");
    EXPECT_EQ(smmap_valid(b), 0);
    smmap_cursor_free(a);
    smmap_cursor_free(b);
    smmap_manager_free(m);
}

TEST(errors, hint_unknown)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 10, 1));
    expect_code(smmap_cursor_hint(c, 5), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_cursor_hint(c, -1), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_cursor_hint(NULL, SMMAP_HINT_NORMAL), SMMAP_EINVAL, "Invalid argument");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, window_users_at_no_window)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 1 * MiB, 1));
    expect_code(smmap_window_users_at(c, 0), SMMAP_ECURSOR, "no window in use or mapped there");
    expect_code(smmap_window_users_at(NULL, 0), SMMAP_EINVAL, "Invalid argument");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, probe_without_window)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 10, 1));
    expect_code(smmap_probe(c), SMMAP_ECURSOR, "no window in use or mapped there");
    expect_code(smmap_probe(NULL), SMMAP_EINVAL, "Invalid argument");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, probe_at_outside_window)
{
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 256 * KiB, 1));
    expect_code(smmap_probe_at(c, 0), SMMAP_ECURSOR, "no window in use or mapped there");
    ASSERT_EQ(smmap_use(c, 0, 100), 0);
    expect_code(smmap_probe_at(c, smmap_window_end(c)), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_probe_at(c, UINT64_MAX), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_probe_at(NULL, 0), SMMAP_EINVAL, "Invalid argument");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, file_stat_null)
{
    expect_code(smmap_file_stat(NULL), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_file_size(NULL), SMMAP_EINVAL, "Invalid argument");
}

/* --------------------------------------------------------------- reads */

TEST(errors, read_null_destination)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 100, 1));
    expect_code(smmap_read(c, NULL, 10, 0), SMMAP_EINVAL, "Invalid argument");
    EXPECT_EQ(smmap_read(c, NULL, 0, 0), 0, "nothing to copy is fine");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, read_length_above_int64_max)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 100, 1));
    unsigned char b[1];
    if (sizeof(size_t) > 4)
        expect_code(smmap_read(c, b, (size_t)INT64_MAX + 1, 0), SMMAP_EINVAL,
                    "Invalid argument");
    expect_code(smmap_read(NULL, b, 1, 0), SMMAP_EINVAL, "Invalid argument");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* Not an error: a read at or past the end copies nothing. */
TEST(errors, read_past_end_is_empty)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 100, 1));
    unsigned char b[10];
    EXPECT_EQ(smmap_read(c, b, sizeof b, 100), 0);
    EXPECT_EQ(smmap_read(c, b, sizeof b, 1000), 0);
    EXPECT_EQ(smmap_read(c, b, sizeof b, 95), 5);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, read_truncated_under_mapping)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 256 * KiB, 1);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(c, 100 * KiB, 20 * KiB), 0);
    ASSERT_EQ(util_truncate(p, 4096), 0);
    unsigned char b[4096];
    expect_code(smmap_read(c, b, sizeof b, 110 * KiB), SMMAP_ETRUNC,
                "file truncated while mapped");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, probe_truncated)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 256 * KiB, 1);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(c, 100 * KiB, 20 * KiB), 0);
    ASSERT_EQ(util_truncate(p, 4096), 0);
    expect_code(smmap_probe(c), SMMAP_ETRUNC, "file truncated while mapped");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* ------------------------------------------------------------- buffers */

TEST(errors, buffer_null_arguments)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 100, 1));
    smmap_buffer *b = (smmap_buffer *)(uintptr_t)1;
    expect_code(smmap_buffer_new(NULL, 0, 0, &b), SMMAP_EINVAL, "Invalid argument");
    EXPECT_NULL(b);
    expect_code(smmap_buffer_new(c, 0, 0, NULL), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_buffer_byte(NULL, 0), SMMAP_EINVAL, "Invalid argument");
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, buffer_offset_past_end)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 100, 1));
    smmap_buffer *b = (smmap_buffer *)(uintptr_t)1;
    expect_code(smmap_buffer_new(c, 101, 0, &b), SMMAP_EOF,
                "offset at or past the end of the file");
    EXPECT_NULL(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, buffer_index_out_of_range)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 100, 1));
    smmap_buffer *b;
    ASSERT_EQ(smmap_buffer_new(c, 10, 50, &b), 0);
    expect_code(smmap_buffer_byte(b, 50), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_buffer_byte(b, -51), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_buffer_byte(b, INT64_MIN), SMMAP_EINVAL, "Invalid argument");
    EXPECT_EQ(smmap_buffer_byte(b, -50), util_byte(1, 10));
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, buffer_read_null_destination)
{
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = util_cursor(m, util_make_file("f", 100, 1));
    smmap_buffer *b;
    ASSERT_EQ(smmap_buffer_new(c, 0, 0, &b), 0);
    expect_code(smmap_buffer_read(b, 0, 10, NULL, 10), SMMAP_EINVAL, "Invalid argument");
    expect_code(smmap_buffer_read(NULL, 0, 10, b, 10), SMMAP_EINVAL, "Invalid argument");
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

TEST(errors, buffer_truncated_under_mapping)
{
    util_require_exact_sigbus();
    const char *p = util_make_file("f", 256 * KiB, 1);
    smmap_manager *m = UTIL_MANAGER(.window_size = 64 * KiB);
    smmap_cursor *c = util_cursor(m, p);
    smmap_buffer *b;
    ASSERT_EQ(smmap_buffer_new(c, 0, 0, &b), 0);
    ASSERT_EQ(smmap_buffer_byte(b, 100 * KiB), util_byte(1, 100 * KiB));
    ASSERT_EQ(util_truncate(p, 4096), 0);
    expect_code(smmap_buffer_byte(b, 100 * KiB + 1), SMMAP_ETRUNC, "file truncated while mapped");
    unsigned char d[100];
    expect_code(smmap_buffer_read(b, 100 * KiB, 100 * KiB + 100, d, sizeof d), SMMAP_ETRUNC,
                "file truncated while mapped");
    smmap_buffer_free(b);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}

/* ------------------------------------------------------------ messages */

TEST(errors, strerror_unknown_and_success)
{
    EXPECT_STR_EQ(smmap_strerror(0), "success");
    EXPECT_STR_EQ(smmap_strerror(12345), "unknown error");
    EXPECT_STR_EQ(smmap_strerror(-30007), "unknown error");
    EXPECT_STR_EQ(smmap_strerror(INT_MIN), "unknown error");
}
