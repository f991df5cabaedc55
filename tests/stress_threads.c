/*
 * stress_threads.c - 4 threads, each with its own cursors, hammer one
 * manager with tiny limits (64 KiB windows, 256 KiB cap, 3 handles) by
 * random uses, copying reads, buffer bytes and slices, dups and unuses;
 * every byte they get is checked against the file's content.
 *
 * A plain program rather than a Criterion suite: it is the test CI runs
 * under ThreadSanitizer, where Criterion's runner cannot start (its shared
 * arena collides with TSan's memory layout). It prints a line in
 * Criterion's "Synthesis:" format, so scripts/test.sh counts it with the
 * suites. Usage: stress_threads [OPS_PER_THREAD] (default 1000000).
 */
#include "util.h"

#include <smmap.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { THREADS = 4, FILES = 2 };
#define WINDOW (64 * KiB)
#define HALF (WINDOW / 2)

static const uint64_t file_size[FILES] = {4 * MiB + 333, 3 * MiB + 1};
static unsigned char *image[FILES];
static char path[FILES][4096];
static smmap_manager *mgr;
static long ops_per_thread = 1000000;

struct worker {
    pthread_t t;
    int id;
    long ops[6];      /* use, read, byte, slice, dup, unuse */
    uint64_t bytes;   /* bytes checked */
    char err[512];    /* the first failure, empty if none */
};

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

static void fail(struct worker *w, const char *fmt, ...)
{
    if (w->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

/* Python's clipping of a slice bound to [0, size]. */
static uint64_t clip(int64_t v, uint64_t size)
{
    if (v < 0)
        return (uint64_t)-v >= size ? 0 : size - (uint64_t)-v;
    return (uint64_t)v > size ? size : (uint64_t)v;
}

/* use(off, len) on c and check the span against file f. */
static void check_use(struct worker *w, smmap_cursor *c, int f, uint64_t off, size_t len)
{
    int rc = smmap_use(c, off, len);
    if (rc != 0) {
        fail(w, "use(%llu, %zu): %s", (unsigned long long)off, len, smmap_strerror(rc));
        return;
    }
    size_t want = len < file_size[f] - off ? len : (size_t)(file_size[f] - off);
    size_t got = smmap_size(c);
    if (smmap_begin(c) != off || got < want || got > file_size[f] - off)
        fail(w, "use(%llu, %zu) gave [%llu, +%zu)", (unsigned long long)off, len,
             (unsigned long long)smmap_begin(c), got);
    else if (memcmp(smmap_data(c), image[f] + off, got) != 0)
        fail(w, "use(%llu, %zu): wrong bytes", (unsigned long long)off, len);
    w->bytes += got;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t rs = 0x5eed0000u + (uint64_t)w->id;
    unsigned char *buf = malloc(256 * KiB);
    smmap_cursor *c[FILES] = {NULL, NULL};
    smmap_buffer *b[FILES] = {NULL, NULL};
    uint64_t boff[FILES] = {0, 0};
    if (!buf) {
        fail(w, "out of memory");
        return NULL;
    }
    for (int f = 0; f < FILES; f++) {
        int rc = smmap_cursor_new(mgr, path[f], &c[f]);
        if (rc == 0) {
            boff[f] = below(&rs, file_size[f] / 2);
            rc = smmap_buffer_new(c[f], boff[f], 0, &b[f]);
        }
        if (rc != 0) {
            fail(w, "cursor/buffer on %s: %s", path[f], smmap_strerror(rc));
            goto out;
        }
    }
    for (long i = 0; i < ops_per_thread && !w->err[0]; i++) {
        int f = (int)below(&rs, FILES);
        uint64_t size = file_size[f], off = below(&rs, size);
        unsigned op = (unsigned)below(&rs, 100);
        if (op < 35) { /* use: mostly small, sometimes up to half a window */
            size_t len = 1 + below(&rs, op < 5 ? HALF : 512);
            check_use(w, c[f], f, off, len);
            w->ops[0]++;
        } else if (op < 65) { /* copying read, now and then across windows */
            size_t len = op < 38 ? below(&rs, 200 * KiB) : below(&rs, 1024);
            int64_t n = smmap_read(c[f], buf, len, off);
            int64_t want = (int64_t)(len < size - off ? len : size - off);
            if (n != want)
                fail(w, "read(%llu, %zu) = %lld (%s), want %lld", (unsigned long long)off,
                     len, (long long)n, n < 0 ? smmap_strerror((int)n) : "", (long long)want);
            else if (memcmp(buf, image[f] + off, (size_t)n) != 0)
                fail(w, "read(%llu, %zu): wrong bytes", (unsigned long long)off, len);
            w->bytes += (uint64_t)(n > 0 ? n : 0);
            w->ops[1]++;
        } else if (op < 85) { /* buffer byte, negative indexes too */
            uint64_t bsize = smmap_buffer_size(b[f]);
            int64_t idx = (int64_t)below(&rs, bsize);
            if (op & 1)
                idx -= (int64_t)bsize;
            uint64_t at = boff[f] + (uint64_t)(idx < 0 ? idx + (int64_t)bsize : idx);
            int v = smmap_buffer_byte(b[f], idx);
            if (v != image[f][at])
                fail(w, "buffer byte %lld (file offset %llu) = %d (%s), want %d",
                     (long long)idx, (unsigned long long)at, v,
                     v < 0 ? smmap_strerror(v) : "", image[f][at]);
            w->bytes++;
            w->ops[2]++;
        } else if (op < 90) { /* buffer slice, negative bounds too */
            uint64_t bsize = smmap_buffer_size(b[f]);
            int64_t start = (int64_t)below(&rs, bsize), stop = start + (int64_t)below(&rs, 4096);
            if (op & 1) {
                start -= (int64_t)bsize;
                stop -= (int64_t)bsize;
            }
            int64_t n = smmap_buffer_read(b[f], start, stop, buf, 256 * KiB);
            uint64_t lo = clip(start, bsize), hi = clip(stop, bsize);
            int64_t want = hi > lo ? (int64_t)(hi - lo) : 0;
            if (n != want)
                fail(w, "buffer slice [%lld, %lld) = %lld (%s), want %lld", (long long)start,
                     (long long)stop, (long long)n, n < 0 ? smmap_strerror((int)n) : "",
                     (long long)want);
            else if (memcmp(buf, image[f] + boff[f] + lo, (size_t)n) != 0)
                fail(w, "buffer slice [%lld, %lld): wrong bytes", (long long)start,
                     (long long)stop);
            w->bytes += (uint64_t)(n > 0 ? n : 0);
            w->ops[3]++;
        } else if (op < 95) { /* a dup shares the window, then moves on its own */
            smmap_cursor *d;
            int rc = smmap_cursor_dup(c[f], &d);
            if (rc != 0) {
                fail(w, "dup: %s", smmap_strerror(rc));
                break;
            }
            if (smmap_valid(c[f]) && (smmap_data(d) != smmap_data(c[f]) ||
                                      smmap_window_users(d) < 2))
                fail(w, "dup does not share the cursor's window");
            check_use(w, d, f, off, 1 + below(&rs, 256));
            smmap_cursor_free(d);
            w->ops[4]++;
        } else {
            smmap_unuse(c[f]);
            if (smmap_valid(c[f]))
                fail(w, "valid after unuse");
            w->ops[5]++;
        }
    }
out:
    for (int f = 0; f < FILES; f++) {
        smmap_buffer_free(b[f]);
        smmap_cursor_free(c[f]);
    }
    free(buf);
    return NULL;
}

static int make_file(int f, const char *dir)
{
    snprintf(path[f], sizeof path[f], "%s/f%d", dir, f);
    image[f] = malloc(file_size[f]);
    if (!image[f])
        return -1;
    for (uint64_t i = 0; i < file_size[f]; i++)
        image[f][i] = util_byte(71 + (uint32_t)f, i);
    int fd = open(path[f], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    uint64_t done = 0;
    while (done < file_size[f]) {
        ssize_t n = write(fd, image[f] + done, file_size[f] - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (uint64_t)n;
    }
    return close(fd);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        ops_per_thread = strtol(argv[1], NULL, 10);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/smmap-stress-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir) || make_file(0, dir) != 0 || make_file(1, dir) != 0) {
        perror("stress_threads: test files");
        return 1;
    }
    smmap_options o = {.window_size = WINDOW, .max_memory = 256 * KiB, .max_handles = 3};
    int rc = smmap_manager_new(&mgr, &o);
    if (rc != 0) {
        fprintf(stderr, "smmap_manager_new: %s\n", smmap_strerror(rc));
        return 1;
    }

    struct worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        if (pthread_create(&w[i].t, NULL, run, &w[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i].t, NULL);

    int failed = 0;
    long total = 0, kinds[6] = {0};
    uint64_t bytes = 0;
    for (int i = 0; i < THREADS; i++) {
        if (w[i].err[0]) {
            fprintf(stderr, "thread %d: %s\n", i, w[i].err);
            failed = 1;
        }
        for (int k = 0; k < 6; k++) {
            kinds[k] += w[i].ops[k];
            total += w[i].ops[k];
        }
        bytes += w[i].bytes;
    }
    smmap_stats st;
    smmap_manager_stats(mgr, &st);
    /* Soft limits: beyond them only by windows in use, at most one per
     * cursor (two cursors, two buffers and a dup a thread), and counted. */
    bool beyond = st.windows_peak > 3 || st.mapped_peak > 256 * KiB;
    if (st.failures || st.windows_peak > 3 + THREADS * 5 ||
        st.mapped_peak > 256 * KiB + THREADS * 5 * WINDOW || (beyond && !st.limit_exceeded)) {
        fprintf(stderr, "stats: %llu failures, peaks %llu windows, %llu bytes\n",
                (unsigned long long)st.failures, (unsigned long long)st.windows_peak,
                (unsigned long long)st.mapped_peak);
        failed = 1;
    }
    smmap_collect(mgr);
    smmap_manager_stats(mgr, &st);
    if (st.windows || st.mapped || st.files) {
        fprintf(stderr, "after collect: %llu windows, %llu bytes, %llu files\n",
                (unsigned long long)st.windows, (unsigned long long)st.mapped,
                (unsigned long long)st.files);
        failed = 1;
    }
    smmap_manager_free(mgr);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    for (int f = 0; f < FILES; f++)
        free(image[f]);

    printf("stress_threads: %d threads x %ld ops = %ld (use %ld, read %ld, buffer byte %ld, "
           "slice %ld, dup %ld, unuse %ld), %llu bytes checked; %llu misses, %llu evictions, "
           "%llu preads\n",
           THREADS, ops_per_thread, total, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4],
           kinds[5], (unsigned long long)bytes, (unsigned long long)st.misses,
           (unsigned long long)st.evictions, (unsigned long long)st.preads);
    printf("[====] Synthesis: Tested: 1 | Passing: %d | Failing: %d | Crashing: 0\n",
           !failed, failed);
    return failed;
}
