/*
 * util.c - see util.h.
 */
#include "util.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

static char dir[PATH_MAX];

/* Strings handed out by util_path(), freed by util_teardown(). */
struct path_node {
    struct path_node *next;
    char path[];
};
static struct path_node *paths;

void util_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/smmap-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        cr_assert_fail("mkdtemp(%s): %s", dir, strerror(errno));
    /* Resolve symlinks so paths match what the kernel reports. */
    char real[PATH_MAX];
    if (realpath(dir, real))
        snprintf(dir, sizeof dir, "%s", real);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void util_teardown(void)
{
    if (dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    dir[0] = 0;
    while (paths) {
        struct path_node *n = paths->next;
        free(paths);
        paths = n;
    }
}

const char *util_dir(void)
{
    return dir;
}

const char *util_path(const char *name)
{
    size_t d = strlen(dir), n = strlen(name);
    struct path_node *node = malloc(sizeof *node + d + n + 2);
    cr_assert_not_null(node);
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
    cr_assert_not_null(p);
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
        cr_assert(w == (ssize_t)n, "pwrite: %s", strerror(errno));
        from += n;
        len -= n;
    }
}

const char *util_make_file(const char *name, uint64_t size, uint32_t salt)
{
    const char *p = util_path(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "create %s: %s", p, strerror(errno));
    write_pattern(fd, 0, size, salt);
    close(fd);
    return p;
}

void util_append(const char *path, uint64_t from, uint64_t len, uint32_t salt)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
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
    cr_assert_eq(rc, 0, "smmap_manager_new: %s", smmap_strerror(rc));
    cr_assert_not_null(m);
    return m;
}

smmap_cursor *util_cursor(smmap_manager *m, const char *path)
{
    smmap_cursor *c = NULL;
    int rc = smmap_cursor_new(m, path, &c);
    cr_assert_eq(rc, 0, "smmap_cursor_new(%s): %s", path, smmap_strerror(rc));
    cr_assert_not_null(c);
    return c;
}

int util_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
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
    cr_assert(stat(path, &want) == 0, "stat %s: %s", path, strerror(errno));
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
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
    cr_assert(stat(path, &want) == 0, "stat %s: %s", path, strerror(errno));
    FILE *f = fopen("/proc/self/maps", "re");
    cr_assert_not_null(f);
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
    cr_assert_leq(n, 1024);
    uint64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += m[i].length;
    return sum;
}

int util_valgrind(void)
{
    return RUNNING_ON_VALGRIND;
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

size_t util_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}
