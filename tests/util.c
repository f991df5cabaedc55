/*
 * util.c - see util.h.
 */
#include "util.h"

#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* Strings handed out by util_path(); they live as long as the test's
 * process. */
struct path_node {
    struct path_node *next;
    char path[];
};
static struct path_node *paths;

const char *util_path(const char *name)
{
    const char *dir = t_dir();
    size_t d = strlen(dir), n = strlen(name);
    struct path_node *node = malloc(sizeof *node + d + n + 2);
    ASSERT_NOT_NULL(node);
    node->next = paths;
    paths = node;
    char *p = node->path;
    memcpy(p, dir, d);
    p[d] = '/';
    memcpy(p + d + 1, name, n + 1);
    return p;
}

void util_fill(uint32_t salt, uint64_t off, void *dst, size_t len)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < len; i++)
        d[i] = util_byte(salt, off + i);
}

int64_t util_mismatch(uint32_t salt, uint64_t off, const void *buf, size_t len)
{
    const unsigned char *b = buf;
    for (size_t i = 0; i < len; i++)
        if (b[i] != util_byte(salt, off + i))
            return (int64_t)i;
    return -1;
}

unsigned char *util_image(uint32_t salt, uint64_t size)
{
    unsigned char *p = malloc(size ? size : 1);
    ASSERT_NOT_NULL(p);
    util_fill(salt, 0, p, size);
    return p;
}

static void write_pattern(int fd, uint64_t from, uint64_t len, uint32_t salt)
{
    static unsigned char chunk[64 * 1024];
    while (len > 0) {
        size_t n = len < sizeof chunk ? (size_t)len : sizeof chunk;
        util_fill(salt, from, chunk, n);
        ssize_t w = pwrite(fd, chunk, n, (off_t)from);
        ASSERT(w == (ssize_t)n, "pwrite: %s", strerror(errno));
        from += n;
        len -= n;
    }
}

const char *util_make_file(const char *name, uint64_t size, uint32_t salt)
{
    const char *p = util_path(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT(fd >= 0, "create %s: %s", p, strerror(errno));
    write_pattern(fd, 0, size, salt);
    close(fd);
    return p;
}

void util_append(const char *path, uint64_t from, uint64_t len, uint32_t salt)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
    write_pattern(fd, from, len, salt);
    close(fd);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UTIL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(UTIL_ASAN)
#define UTIL_ASAN 1
#endif

int util_asan(void)
{
#ifdef UTIL_ASAN
    return 1;
#else
    return 0;
#endif
}

smmap_manager *util_manager(const smmap_options *o)
{
    smmap_manager *m = NULL;
    int rc = smmap_manager_new(&m, o);
    ASSERT_EQ(rc, 0, "smmap_manager_new: %s", smmap_strerror(rc));
    ASSERT_NOT_NULL(m);
    return m;
}

smmap_cursor *util_cursor(smmap_manager *m, const char *path)
{
    smmap_cursor *c = NULL;
    int rc = smmap_cursor_new(m, path, &c);
    ASSERT_EQ(rc, 0, "smmap_cursor_new(%s): %s", path, smmap_strerror(rc));
    ASSERT_NOT_NULL(c);
    return c;
}

int util_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ASSERT_NOT_NULL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

int util_fds_of(const char *path)
{
    struct stat want;
    ASSERT(stat(path, &want) == 0, "stat %s: %s", path, strerror(errno));
    DIR *d = opendir("/proc/self/fd");
    ASSERT_NOT_NULL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstat(atoi(e->d_name), &st) == 0 && st.st_dev == want.st_dev &&
            st.st_ino == want.st_ino)
            n++;
    }
    closedir(d);
    return n;
}

int util_maps_of(const char *path, struct util_map *out, int max)
{
    struct stat want;
    ASSERT(stat(path, &want) == 0, "stat %s: %s", path, strerror(errno));
    FILE *f = fopen("/proc/self/maps", "re");
    ASSERT_NOT_NULL(f);
    char line[PATH_MAX + 256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long lo, hi, off, ino;
        unsigned maj, mnr;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &lo, &hi, perms, &off,
                   &maj, &mnr, &ino) != 7)
            continue;
        if (ino != (unsigned long long)want.st_ino || maj != major(want.st_dev) ||
            mnr != minor(want.st_dev))
            continue;
        if (out && n < max) {
            out[n].offset = off;
            out[n].length = hi - lo;
        }
        n++;
    }
    fclose(f);
    return n;
}

uint64_t util_mapped_bytes(const char *path)
{
    struct util_map m[1024];
    int n = util_maps_of(path, m, 1024);
    ASSERT_LE(n, 1024);
    uint64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += m[i].length;
    return sum;
}

int util_valgrind(void)
{
    return RUNNING_ON_VALGRIND;
}

/* Skips the test unless probe, run in a child (it may crash or leave a
 * signal handler behind), exits 0. */
static void require(int (*probe)(void), const char *reason)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(probe());
    int st;
    if (!(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0))
        SKIP("%s", reason);
}

static int probe_high_offset(void)
{
    const char *p = util_path("probe-4gib");
    const uint64_t at = 5 * GiB;
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)(at + util_page())) != 0 ||
        pwrite(fd, "smmap", 5, (off_t)at) != 5)
        return 1;
    char *m = mmap(NULL, util_page(), PROT_READ, MAP_SHARED, fd, (off_t)at);
    int ok = m != MAP_FAILED && memcmp(m, "smmap", 5) == 0;
    unlink(p);
    return !ok;
}

static volatile char *sigbus_want;
static void on_probe_sigbus(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    _exit(si->si_addr == (void *)sigbus_want ? 0 : 1);
}

static int probe_sigbus(void)
{
    const char *p = util_path("probe-sigbus");
    size_t pg = util_page();
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)(4 * pg)) != 0)
        return 1;
    char *m = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED || ftruncate(fd, 1) != 0)
        return 1;
    unlink(p);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_probe_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    sigbus_want = m + 2 * pg + 24;
    return *sigbus_want == 0x7f ? 2 : 3;
}

void util_require_mmap_above_4gib(void)
{
    require(probe_high_offset, "this platform's mmap does not map file offsets above 4 GiB "
                               "right (qemu-i386 7.2 drops the high bits)");
}

void util_require_exact_sigbus(void)
{
    require(probe_sigbus, "this platform's SIGBUS does not name the faulting address "
                          "(qemu-i386 7.2 reports it a page off)");
}

long util_ops(long n)
{
    const char *slow = getenv("SMMAP_TEST_SLOW");
    long d = util_valgrind() ? 25 : 1;
    if (slow && atol(slow) > 1)
        d *= atol(slow);
    return n / d > 0 ? n / d : 1;
}

int util_mapped_at(const char *path, uint64_t offset)
{
    struct util_map m[256];
    int n = util_maps_of(path, m, 256);
    for (int i = 0; i < n && i < 256; i++)
        if (m[i].offset == offset)
            return 1;
    return 0;
}

uint64_t util_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

uint64_t util_below(uint64_t *s, uint64_t n)
{
    return util_rand(s) % n;
}

uint64_t util_clip(int64_t v, uint64_t size)
{
    if (v < 0) {
        uint64_t back = (uint64_t)-(v + 1) + 1; /* -v, without overflow at INT64_MIN */
        return back >= size ? 0 : size - back;
    }
    return (uint64_t)v > size ? size : (uint64_t)v;
}

size_t util_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}
