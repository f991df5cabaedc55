/*
 * util.c - see util.h. What needs the operating system is in util_posix.c
 * and util_win32.c.
 */
#include "util.h"

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *util_make_file(const char *name, uint64_t size, uint32_t salt)
{
    const char *p = util_path(name);
    util_write_pattern(p, 1, 0, size, salt);
    return p;
}

void util_append(const char *path, uint64_t from, uint64_t len, uint32_t salt)
{
    util_write_pattern(path, 0, from, len, salt);
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

smmap_stats util_stats(const smmap_manager *m)
{
    smmap_stats st;
    smmap_manager_stats(m, &st);
    return st;
}

smmap_cursor *util_cursor(smmap_manager *m, const char *path)
{
    smmap_cursor *c = NULL;
    int rc = smmap_cursor_new(m, path, &c);
    ASSERT_EQ(rc, 0, "smmap_cursor_new(%s): %s", path, smmap_strerror(rc));
    ASSERT_NOT_NULL(c);
    return c;
}

void util_read_windows(smmap_cursor *c, uint32_t salt, uint64_t size)
{
    for (uint64_t off = 0; off < size; off += smmap_size(c)) {
        ASSERT_EQ(smmap_use(c, off, 0), 0, "use(%llu)", (unsigned long long)off);
        ASSERT_EQ(util_mismatch(salt, off, smmap_data(c), smmap_size(c)), -1, "at %llu",
                  (unsigned long long)off);
    }
    ASSERT_EQ(smmap_use(c, size, 0), SMMAP_EOF);
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
