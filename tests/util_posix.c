/*
 * util_posix.c - the test helpers that ask a POSIX system (util.h): files
 * written at an offset, truncation, descriptors and mappings as
 * /proc/self shows them, probes of the platform in a child process.
 */
#include "util.h"

#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

void util_write_pattern(const char *path, int create, uint64_t from, uint64_t len,
                        uint32_t salt)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
    ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
    static unsigned char chunk[64 * 1024];
    while (len > 0) {
        size_t n = len < sizeof chunk ? (size_t)len : sizeof chunk;
        util_fill(salt, from, chunk, n);
        ssize_t w = pwrite(fd, chunk, n, (off_t)from);
        ASSERT(w == (ssize_t)n, "pwrite: %s", strerror(errno));
        from += n;
        len -= n;
    }
    close(fd);
}

void util_mkdir(const char *path)
{
    ASSERT_EQ(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

void util_link(const char *target, const char *name)
{
    ASSERT_EQ(link(target, name), 0, "link %s: %s", name, strerror(errno));
}

int util_truncate(const char *path, uint64_t size)
{
    return truncate(path, (off_t)size);
}

int util_shrink_here(const char *path, uint64_t size)
{
    return truncate(path, (off_t)size);
}

int util_rename(const char *from, const char *to)
{
    return rename(from, to);
}

int util_remove(const char *path)
{
    return unlink(path);
}

void util_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void util_require_populate(void)
{
#ifdef SMMAP_PORTABLE_POSIX
    SKIP("a portable POSIX build has no MAP_POPULATE: it advises WILLNEED instead");
#endif
}

void util_setenv(const char *name, const char *value)
{
    ASSERT_EQ(value ? setenv(name, value, 1) : unsetenv(name), 0, "%s", name);
}

void util_require_deletion_seen(void)
{
    /* st_nlink says it on every POSIX system. */
}

/* A /proc/self name of a file of the test's directory that is deleted. */
static int deleted_here(const char *name)
{
    const char *dir = t_dir(), *tag = " (deleted)";
    size_t n = strlen(name), d = strlen(dir), t = strlen(tag);
    return n > d + t && !strncmp(name, dir, d) && name[d] == '/' && !strcmp(name + n - t, tag);
}

int util_deleted_held(void)
{
    int n = 0;
    FILE *f = fopen("/proc/self/maps", "re");
    ASSERT_NOT_NULL(f);
    char line[PATH_MAX + 256];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        const char *name = strchr(line, '/');
        n += name && deleted_here(name);
    }
    fclose(f);
    DIR *d = opendir("/proc/self/fd");
    ASSERT_NOT_NULL(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char link[300], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (e->d_name[0] == '.' || len <= 0)
            continue;
        target[len] = 0;
        n += deleted_here(target);
    }
    closedir(d);
    return n;
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

size_t util_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* Pages of [p, p + len) present in the page tables, or -1 if pagemap
 * cannot tell. */
static int64_t present_pages(const void *p, size_t len)
{
    size_t page = util_page();
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int64_t n = 0;
    uintptr_t first = (uintptr_t)p / page, last = ((uintptr_t)p + len - 1) / page;
    for (uintptr_t i = first; i <= last; i++) {
        uint64_t e;
        if (pread(fd, &e, sizeof e, (off_t)(i * sizeof e)) != (ssize_t)sizeof e) {
            n = -1;
            break;
        }
        n += (int64_t)(e >> 63);
    }
    close(fd);
    return n;
}

/* Whether pagemap tells a mapping populated from one touched nowhere. */
static int probe_pagemap(void)
{
    size_t page = util_page(), len = 4 * page;
    void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    void *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = a != MAP_FAILED && b != MAP_FAILED && present_pages(a, len) == 4 &&
             present_pages(b, len) == 0;
    if (a != MAP_FAILED)
        munmap(a, len);
    if (b != MAP_FAILED)
        munmap(b, len);
    return ok;
}

uint64_t util_resident(const void *p, size_t len)
{
    static int usable = -1;
    if (usable < 0)
        usable = probe_pagemap();
    if (!usable)
        SKIP("/proc/self/pagemap does not show this process's page tables (qemu-user)");
    int64_t n = present_pages(p, len);
    ASSERT(n >= 0, "pagemap read failed");
    return (uint64_t)n * util_page();
}
