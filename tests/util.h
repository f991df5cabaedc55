/*
 * util.h - helpers shared by the smmap test suites: temporary files whose
 * bytes depend on their offset, the expected byte at any offset, and probes
 * of what the process holds (descriptors or handles, mappings or views:
 * util_posix.c asks /proc/self, util_win32.c walks handles and views). Used by the
 * suites and the fuzz target; failures go through the harness's checks
 * (harness.h), so each suite test gets its own directory (t_dir()) and
 * process from the runner. Outside a test (the fuzz target) a failed check
 * aborts and t_dir() is empty: util_path() and util_make_file() are for
 * tests only.
 */
#ifndef SMMAP_TEST_UTIL_H
#define SMMAP_TEST_UTIL_H

#include "harness.h"

#include <smmap.h>

#include <stddef.h>
#include <stdint.h>

#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* "<dir>/<name>" in the test's directory (t_dir()); the string lives as
 * long as the process. */
const char *util_path(const char *name);

/* The byte a file made with `salt` holds at offset off. Differs from its
 * neighbours and from offset-shifted copies of the pattern, and from the
 * same offset of a file with another salt. */
static inline unsigned char util_byte(uint32_t salt, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9E3779B97F4A7C15u ^ (uint64_t)salt * 0xD6E8FEB86659FD93u;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9u;
    x ^= x >> 29;
    return (unsigned char)(x ^ (off >> 8) ^ (off >> 16));
}

/* Fill dst with the bytes [off, off+len) of a file made with salt. */
void util_fill(uint32_t salt, uint64_t off, void *dst, size_t len);

/* Index of the first byte of buf that differs from the pattern at
 * [off, off+len), or -1 if all match. */
int64_t util_mismatch(uint32_t salt, uint64_t off, const void *buf, size_t len);

/* The whole expected content of a file of `size` bytes (malloc'd). */
unsigned char *util_image(uint32_t salt, uint64_t size);

/* Create the file `name` in the test directory with `size` pattern bytes;
 * returns its path. */
const char *util_make_file(const char *name, uint64_t size, uint32_t salt);

/* Append bytes [from, from+len) of the pattern to the file at path. */
void util_append(const char *path, uint64_t from, uint64_t len, uint32_t salt);

/* Write bytes [from, from+len) of the pattern at offset from of path,
 * creating or emptying the file first if create. */
void util_write_pattern(const char *path, int create, uint64_t from, uint64_t len,
                        uint32_t salt);

/* mkdir(path) and link(target, name) (a hard link) on every system. */
void util_mkdir(const char *path);
void util_link(const char *target, const char *name);

/* Cut (or extend) the file at path to size bytes, as truncate(2): 0 or -1.
 * Windows refuses to shrink a file while a view of it exists; under wine
 * the cut is then made by the host (as another system sharing the file
 * would), elsewhere on Windows the test is skipped. */
int util_truncate(const char *path, uint64_t size);

/* truncate(2) by this process, which Windows refuses for a file with a
 * view (then -1, never a way around it); rename(from, to) replacing to. */
int util_shrink_here(const char *path, uint64_t size);
int util_rename(const char *from, const char *to);

/* A manager made with options o (NULL for defaults); fails the test with
 * smmap_strerror's message if smmap_manager_new does not succeed. The one
 * way a suite makes a manager whose making it does not test, spelled
 *   util_manager(NULL)                                     every default
 *   UTIL_MANAGER(.kind = SMMAP_STATIC)
 *   UTIL_MANAGER(.window_size = 64 * KiB, .max_handles = 3)
 * naming only the fields the test depends on: the rest are zero, which
 * smmap_manager_new() reads as their defaults. (At least one field: C11
 * has no empty initializer.) */
smmap_manager *util_manager(const smmap_options *o);
#define UTIL_MANAGER(...) util_manager(&(smmap_options){__VA_ARGS__})

/* The manager's statistics now (smmap_manager_stats()), as a value. */
smmap_stats util_stats(const smmap_manager *m);

/* A cursor on path; fails the test if smmap_cursor_new does not succeed.
 * util_cursor(m, util_make_file("f", size, salt)) where the test needs no
 * path but the cursor's. */
smmap_cursor *util_cursor(smmap_manager *m, const char *path);

/* Read a file of size bytes made with salt through c, window by window
 * from offset 0 (each smmap_use() as much as its window holds), checking
 * the bytes; then that a use at size is SMMAP_EOF, which leaves c with no
 * window. */
void util_read_windows(smmap_cursor *c, uint32_t salt, uint64_t size);

/* Delete the file at path (unlink(2), DeleteFile): 0 or -1. Windows
 * refuses while a view of the file exists. */
int util_remove(const char *path);

void util_sleep_ms(unsigned ms);

/* Set (value non-NULL) or remove an environment variable. */
void util_setenv(const char *name, const char *value);

/* Skip the test where the system does not tell a deleted file that is
 * still open from one that is not: wine reports no pending deletion
 * (FileStandardInfo.DeletePending is always FALSE there). */
void util_require_deletion_seen(void);

/* Files of the test's directory that are deleted yet still held by this
 * process: " (deleted)" entries of /proc/self/maps and /proc/self/fd; on
 * Windows, open handles of files whose deletion is pending. */
int util_deleted_held(void);

/* Number of open descriptors (handles, on Windows) of this process. */
int util_count_fds(void);

/* 1 when running under valgrind, which is some 50 times slower, lays out
 * mappings so that neighbours merge, and handles SIGBUS its own way. */
int util_valgrind(void);

/* n, or fewer where the machine runs the test slowly, for loops whose
 * length is a matter of confidence, not of the property: under valgrind
 * n/25, and n/D where the environment sets SMMAP_TEST_SLOW=D
 * (scripts/test.sh does for emulators). At least 1. */
long util_ops(long n);

/* Skip the test when the platform itself gets wrong what it checks: a
 * mapping at a file offset above 4 GiB must show the file's bytes, and
 * the SIGBUS from a truncated mapping must name the faulting address.
 * Both fail under qemu-i386 7.2 (it drops the high bits of the offset and
 * reports the fault a page off); the probe runs in a child. */
void util_require_mmap_above_4gib(void);
void util_require_exact_sigbus(void);

/* 1 when built with AddressSanitizer, whose own SIGBUS handler reports
 * and exits rather than letting the signal end the process. */
int util_asan(void);

/* Sum of the lengths of the mappings of path in /proc/self/maps. */
uint64_t util_mapped_bytes(const char *path);

/* Number of open descriptors that refer to the file at path (by inode). */
int util_fds_of(const char *path);

/* One mapping of a file in /proc/self/maps. */
struct util_map {
    uint64_t offset, length;
};

/* Mappings of the file at path (matched by device and inode); fills up to
 * max entries of out (may be NULL) and returns the total count. */
int util_maps_of(const char *path, struct util_map *out, int max);

/* 1 if some mapping of path starts at file offset `offset`. */
int util_mapped_at(const char *path, uint64_t offset);

/* Deterministic pseudo-random numbers (splitmix64). */
uint64_t util_rand(uint64_t *state);
/* Uniform in [0, n), n > 0. */
uint64_t util_below(uint64_t *state, uint64_t n);

/* Python's clipping of a slice bound v to [0, size]: a negative one counts
 * from the end (INT64_MIN too). The model of smmap_buffer_read()'s bounds. */
uint64_t util_clip(int64_t v, uint64_t size);

size_t util_page(void);

#ifndef _WIN32
/* Bytes of [p, p + len) whose page is mapped in this process's page tables
 * (/proc/self/pagemap), as opposed to mapped on the next touch. The test
 * is skipped where that cannot be read or is not true to the host (qemu-user
 * shows the emulator's own tables). */
uint64_t util_resident(const void *p, size_t len);

/* Skip the test where windows are not mapped with their page tables filled
 * (MAP_POPULATE is Linux's; a -Dportable_posix build only advises WILLNEED). */
void util_require_populate(void);
#endif

/* A test that has no meaning on Windows (fork, signals, FIFOs, /proc...):
 * there it stays listed, skipped with the reason. Used as
 *   #ifdef _WIN32
 *   NOT_ON_WINDOWS(suite, name, "reason")
 *   #else
 *   TEST(suite, name) { ... }
 *   #endif */
#define NOT_ON_WINDOWS(suite, name, why)                                             \
    TEST(suite, name)                                                                \
    {                                                                                \
        SKIP(why);                                                                   \
    }

#endif
