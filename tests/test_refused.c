/*
 * test_refused.c - filesystems that refuse mappings (smmap.h, "Files that
 * cannot be mapped"). sysfs refuses every mapping: its files are read into
 * windows. A FUSE mount with direct_io refuses shared mappings only, so
 * its files are mapped privately; tests/fuse mounts one and names it in
 * SMMAP_TEST_FUSE_DIR (the mount) and SMMAP_TEST_FUSE_SRC (the directory it
 * shows). Each test is skipped where its filesystem is not there. The
 * fault walk (test_faults.c) reads regular files with every mmap refused.
 */
#include "util.h"

#include <smmap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bytes read(2) gives for path (as cat shows them), or skip. */
static size_t read_plain(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        SKIP("%s cannot be read here", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

#ifndef _WIN32
/* A sysfs attribute: the kernel says 4096 bytes, reads a few, and refuses
 * every mapping. */
static void sysfs_case(int kind)
{
    const char *path = "/sys/devices/system/cpu/online";
    unsigned char want[4096], got[4096];
    size_t len = read_plain(path, want, sizeof want);
    ASSERT_GT(len, 0u);
    smmap_manager *m = UTIL_MANAGER(.kind = kind,
                                    .window_size = kind == SMMAP_SLIDING ? 64 * KiB : 0);
    smmap_cursor *c = util_cursor(m, path);
    EXPECT_EQ(smmap_file_size(c), 4096, "the size sysfs reports");
    ASSERT_EQ(smmap_read(c, got, sizeof got, 0), (int64_t)len, "a read stops where the bytes end");
    EXPECT_EQ(memcmp(got, want, len), 0);
    ASSERT_EQ(smmap_use(c, 0, 0), 0);
    EXPECT_EQ(smmap_size(c), len);
    EXPECT_EQ(memcmp(smmap_data(c), want, len), 0);
    EXPECT_EQ(smmap_use(c, len, 0), SMMAP_EOF);
    EXPECT_EQ(smmap_use(c, 2, 1), 0);
    EXPECT_EQ(smmap_data(c)[0], want[2]);
    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.files_read_not_mapped, 1u);
    EXPECT_EQ(s.mmap_calls, 1u, "mapping is tried once per file");
    EXPECT_GE(s.bytes_read_into_windows, (uint64_t)len);
    EXPECT_EQ(s.failures, 0u, "a refused mapping is no failure");
    smmap_cursor_free(c);
    EXPECT_EQ(smmap_collect(m), 1);
    smmap_manager_free(m);
}
#endif

#ifdef _WIN32
/* wine reaches /sys through its Unix drive and maps it its own way. */
NOT_ON_WINDOWS(refused, sysfs_reads_as_cat_sliding, "sysfs is Linux's")
NOT_ON_WINDOWS(refused, sysfs_reads_as_cat_static, "sysfs is Linux's")
#else
TEST(refused, sysfs_reads_as_cat_sliding) { sysfs_case(SMMAP_SLIDING); }
TEST(refused, sysfs_reads_as_cat_static) { sysfs_case(SMMAP_STATIC); }
#endif

/* procfs says 0 bytes and reads many: no size to place windows by. */
TEST(refused, procfs_is_not_a_regular_file)
{
    const char *path = "/proc/self/status";
    unsigned char buf[64];
    read_plain(path, buf, sizeof buf);
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = NULL;
    EXPECT_EQ(smmap_cursor_new(m, path, &c), SMMAP_ENOTREG);
    EXPECT_NULL(c);
    smmap_manager_free(m);
}

#define FUSE_SIZE (3 * MiB + 4321)
#define FUSE_WINDOW (16 * KiB)
#define FUSE_CAP (64 * KiB)

/* The mount's copy of a file written into the directory it shows. */
static const char *fuse_file(const char *name, uint64_t size, uint32_t salt)
{
    const char *mnt = getenv("SMMAP_TEST_FUSE_DIR"), *src = getenv("SMMAP_TEST_FUSE_SRC");
    if (!mnt || !src || !*mnt || !*src)
        SKIP("no FUSE mount (tests/fuse sets SMMAP_TEST_FUSE_DIR and SMMAP_TEST_FUSE_SRC)");
    static char at_src[4096], at_mnt[4096];
    snprintf(at_src, sizeof at_src, "%s/%s-%s", src, t_name(), name);
    snprintf(at_mnt, sizeof at_mnt, "%s/%s-%s", mnt, t_name(), name);
    util_write_pattern(at_src, 1, 0, size, salt);
    return at_mnt;
}

/* Tiny windows under a tiny cap: many windows mapped, evicted, mapped
 * again, every one of them private (a shared one would be refused). */
TEST(refused, fuse_direct_io_tiny_windows)
{
    const char *path = fuse_file("data", FUSE_SIZE, 5);
    smmap_manager *m = UTIL_MANAGER(.window_size = FUSE_WINDOW, .max_memory = FUSE_CAP);
    smmap_cursor *c = util_cursor(m, path);
    util_read_windows(c, 5, FUSE_SIZE);
    uint64_t seed = 9;
    unsigned char buf[40000];
    for (int i = 0; i < 200; i++) {
        uint64_t off = util_below(&seed, FUSE_SIZE), len = 1 + util_below(&seed, sizeof buf);
        uint64_t want = len < FUSE_SIZE - off ? len : FUSE_SIZE - off;
        ASSERT_EQ(smmap_read(c, buf, (size_t)len, off), (int64_t)want);
        ASSERT_EQ(util_mismatch(5, off, buf, (size_t)want), -1, "read at %llu",
                  (unsigned long long)off);
    }
    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.files_read_not_mapped, 0u);
    EXPECT_GE(s.mmap_calls, FUSE_SIZE / FUSE_WINDOW);
    EXPECT_LE(s.mapped_peak, (uint64_t)FUSE_CAP);
    EXPECT_GT(s.evictions, 0u);
    EXPECT_EQ(s.failures, 0u);
    smmap_cursor_free(c);
    smmap_manager_free(m);
}
