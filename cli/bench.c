/*
 * bench.c - `smmap bench`: the library against raw baselines, in one run.
 *
 * Every case runs its implementations interleaved, repetition by
 * repetition, on the same data and the same random offsets, and reports the
 * median with the minimum and maximum: on a shared, noisy machine only
 * ratios inside one run mean much, and the range shows how much. The file
 * is twice the default window in both modes, so that the library's cases
 * change windows as a big file makes them do.
 */
#include "bench.h"
#include "smmap.h"
#include "sys.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ull * 1024)

#define MAX_REPS 16
#define MAX_IMPLS 6

struct bench {
    bool quick, json;
    int fd;
    uint64_t size;
    int reps;
    uint64_t *offsets;     /* random offsets for the 64-byte reads */
    size_t n_offsets;
    volatile uint64_t sink; /* keeps the compiler from dropping the reads */
};

static double now(void)
{
    return (double)sys_now_ns() * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static _Noreturn void die(const char *what, int rc)
{
    fprintf(stderr, "smmap bench: %s: %s\n", what, smmap_strerror(rc));
    exit(1);
}

/* xorshift64*: fast, and its output differs from offset to offset. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* ----------------------------------------------------------------- data */

static void make_data(struct bench *b, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/smmap-bench-%ld.bin", dir, sys_pid());
    /* Deleted by the system, so that no exit path (a full disk below)
     * leaves it behind; everything reads it through fd. */
    int fd = sys_create_temp(path);
    if (fd < 0)
        die(path, fd);
    size_t chunk = 4 * MiB;
    uint64_t *buf = malloc(chunk), seed = 0x9e3779b97f4a7c15ull;
    if (!buf)
        die("memory", -ENOMEM);
    for (uint64_t done = 0; done < b->size; done += chunk) {
        for (size_t i = 0; i < chunk / 8; i++)
            buf[i] = next_random(&seed);
        for (size_t put = 0; put < chunk;) {
            int64_t w = sys_write(fd, (char *)buf + put, chunk - put);
            if (w == -EINTR)
                continue;
            if (w <= 0) /* a short write that cannot go on: the disk is full */
                die(path, w < 0 ? (int)w : -ENOSPC);
            put += (size_t)w;
        }
    }
    free(buf);
    int rc = sys_sync(fd);
    if (rc < 0)
        die(path, rc);
    b->fd = fd;
}

/* ------------------------------------------------------------- seq-scan */

static uint64_t sum_words(const unsigned char *p, size_t n)
{
    uint64_t s = 0, v;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        memcpy(&v, p + i, 8);
        s += v;
    }
    return s;
}

static double scan_smmap(struct bench *b, int kind, size_t window, int hint)
{
    smmap_options o = {.kind = kind, .window_size = window};
    smmap_manager *m;
    smmap_cursor *c;
    int rc = smmap_manager_new(&m, &o);
    if (rc == 0)
        rc = smmap_cursor_new_fd(m, b->fd, &c);
    if (rc == 0)
        rc = smmap_cursor_hint(c, hint);
    if (rc != 0)
        die("seq-scan", rc);
    double t = now();
    uint64_t s = 0, off = 0;
    while ((rc = smmap_use(c, off, 0)) == 0) {
        s += sum_words(smmap_data(c), smmap_size(c));
        off += smmap_size(c);
    }
    t = now() - t;
    if (rc != SMMAP_EOF || off != b->size)
        die("seq-scan", rc);
    smmap_cursor_free(c);
    smmap_manager_free(m);
    b->sink += s;
    return (double)b->size / t / 1e9;
}

static double scan_sliding_default(struct bench *b)
{
    return scan_smmap(b, SMMAP_SLIDING, 0, SMMAP_HINT_NORMAL);
}
static double scan_sliding_1m(struct bench *b)
{
    return scan_smmap(b, SMMAP_SLIDING, MiB, SMMAP_HINT_NORMAL);
}
static double scan_static(struct bench *b)
{
    return scan_smmap(b, SMMAP_STATIC, 0, SMMAP_HINT_NORMAL);
}
/* As `smmap sum` reads its files. */
static double scan_sliding_seq(struct bench *b)
{
    return scan_smmap(b, SMMAP_SLIDING, 0, SMMAP_HINT_SEQUENTIAL);
}

/* The whole file in one mapping, made by map (sys_map: populated;
 * sys_map_sequential: read in by the kernel's readahead as the scan faults
 * on its pages, what a plain mapping of a cold file gets). */
static double scan_whole(struct bench *b, int (*map)(int, uint64_t, size_t, const void **))
{
    double t = now();
    const void *p;
    int rc = map(b->fd, 0, (size_t)b->size, &p);
    if (rc < 0)
        die("mmap", rc);
    b->sink += sum_words(p, b->size);
    sys_unmap(p, (size_t)b->size);
    return (double)b->size / (now() - t) / 1e9;
}

static double scan_raw_mmap(struct bench *b) { return scan_whole(b, sys_map); }
static double scan_raw_mmap_seq(struct bench *b) { return scan_whole(b, sys_map_sequential); }

/* The floor of any 1 MiB window: the file mapped 1 MiB at a time, each
 * mapping populated, scanned and unmapped. Mappings that small cannot take
 * the 2 MiB page-table entries the kernel uses for a whole-file mapping of
 * large page-cache folios. */
static double scan_raw_1m(struct bench *b)
{
    double t = now();
    for (uint64_t off = 0; off < b->size; off += MiB) {
        size_t n = b->size - off < MiB ? (size_t)(b->size - off) : MiB;
        const void *p;
        int rc = sys_map(b->fd, off, n, &p);
        if (rc < 0)
            die("mmap", rc);
        b->sink += sum_words(p, n);
        sys_unmap(p, n);
    }
    return (double)b->size / (now() - t) / 1e9;
}

static double scan_read(struct bench *b)
{
    unsigned char *buf = malloc(MiB);
    if (!buf)
        die("memory", -ENOMEM);
    double t = now();
    uint64_t off = 0;
    int64_t n;
    while ((n = sys_pread(b->fd, buf, MiB, off)) > 0) {
        b->sink += sum_words(buf, (size_t)n);
        off += (uint64_t)n;
    }
    t = now() - t;
    free(buf);
    return (double)b->size / t / 1e9;
}

/* ----------------------------------------------------------- random-64b */

struct reader {
    struct bench *b;
    smmap_manager *m;          /* read through the library, or else */
    const unsigned char *raw;  /* memcpy from this whole-file mapping */
    bool batch;                /* the library's reads by smmap_read_many() */
    size_t first, count;
    double seconds;
};

/* Both loops use the first and the last word of every 64 bytes read. */
static uint64_t use_buf(const unsigned char *buf)
{
    uint64_t a, z;
    memcpy(&a, buf, 8);
    memcpy(&z, buf + 56, 8);
    return a ^ z;
}

static uint64_t read_smmap(struct reader *r, smmap_cursor *c)
{
    unsigned char buf[64];
    uint64_t s = 0;
    size_t j = r->first, n = r->b->n_offsets;
    for (size_t i = 0; i < r->count; i++, j = j + 1 == n ? 0 : j + 1) {
        if (smmap_read(c, buf, sizeof buf, r->b->offsets[j]) != (int64_t)sizeof buf)
            die("random-64b", SMMAP_EOF);
        s += use_buf(buf);
    }
    return s;
}

/* The same reads, BATCH offsets at a time, each batch then used. */
#define BATCH 256
static uint64_t read_smmap_many(struct reader *r, smmap_cursor *c)
{
    unsigned char buf[BATCH * 64];
    uint64_t offs[BATCH], s = 0;
    size_t j = r->first, n = r->b->n_offsets;
    for (size_t i = 0; i < r->count; i += BATCH) {
        size_t k = r->count - i < BATCH ? r->count - i : BATCH;
        for (size_t q = 0; q < k; q++, j = j + 1 == n ? 0 : j + 1)
            offs[q] = r->b->offsets[j];
        if (smmap_read_many(c, buf, 64, offs, k) != (int64_t)k)
            die("random-64b", SMMAP_EOF);
        for (size_t q = 0; q < k; q++)
            s += use_buf(buf + q * 64);
    }
    return s;
}

static uint64_t read_raw(struct reader *r)
{
    unsigned char buf[64];
    uint64_t s = 0;
    size_t j = r->first, n = r->b->n_offsets;
    for (size_t i = 0; i < r->count; i++, j = j + 1 == n ? 0 : j + 1) {
        memcpy(buf, r->raw + r->b->offsets[j], sizeof buf);
#ifdef __GNUC__
        /* The whole copy happens, as the library's does: without this the
         * compiler loads only the two words used. */
        __asm__ __volatile__("" : : "r"(buf) : "memory");
#endif
        s += use_buf(buf);
    }
    return s;
}

static void *read_random(void *arg)
{
    struct reader *r = arg;
    smmap_cursor *c = NULL;
    if (r->m) {
        int rc = smmap_cursor_new_fd(r->m, r->b->fd, &c);
        if (rc != 0)
            die("random-64b", rc);
    }
    uint64_t s = 0;
    double t = 0;
    /* The first pass maps and faults the windows in; the second, timed,
     * is the steady state of a long-lived manager. The raw mapping takes
     * the same two passes, so both are timed with warm caches. */
    for (int pass = 0; pass < 2; pass++) {
        t = now();
        s += !c ? read_raw(r) : r->batch ? read_smmap_many(r, c) : read_smmap(r, c);
    }
    r->seconds = now() - t;
    r->b->sink += s;
    smmap_cursor_free(c);
    return NULL;
}

/* threads readers, each with its own cursor on one manager with the given
 * cap, or on one populated mapping of the whole file (raw); Mops/s in all. */
static double random_run(struct bench *b, uint64_t cap, int threads, bool raw, bool batch)
{
    smmap_manager *m = NULL;
    const void *p = NULL;
    int rc = raw ? sys_map(b->fd, 0, (size_t)b->size, &p) : 0;
    if (rc == 0 && !raw) {
        smmap_options o = {.max_memory = cap};
        rc = smmap_manager_new(&m, &o);
    }
    if (rc != 0)
        die("random-64b", rc);
    struct reader r[2];
    struct sys_thread *tid[2];
    for (int i = 0; i < threads; i++) {
        r[i] = (struct reader){b, m, p, batch, b->n_offsets / 2 * (size_t)i, b->n_offsets, 0};
        rc = sys_thread_start(&tid[i], read_random, &r[i]);
        if (rc < 0)
            die("thread", rc);
    }
    double slowest = 0;
    for (int i = 0; i < threads; i++) {
        sys_thread_join(tid[i]);
        slowest = r[i].seconds > slowest ? r[i].seconds : slowest;
    }
    smmap_manager_free(m);
    if (raw)
        sys_unmap(p, (size_t)b->size);
    return (double)b->n_offsets * threads / slowest / 1e6;
}

static double random_default(struct bench *b) { return random_run(b, 0, 1, false, false); }
static double random_batch(struct bench *b) { return random_run(b, 0, 1, false, true); }
static double random_smallcap(struct bench *b) { return random_run(b, b->size / 8, 1, false, false); }
static double random_raw(struct bench *b) { return random_run(b, 0, 1, true, false); }
static double threads_1(struct bench *b) { return random_run(b, 0, 1, false, false); }
static double threads_2(struct bench *b) { return random_run(b, 0, 2, false, false); }
static double threads_raw_1(struct bench *b) { return random_run(b, 0, 1, true, false); }
static double threads_raw_2(struct bench *b) { return random_run(b, 0, 2, true, false); }

static double random_pread(struct bench *b)
{
    unsigned char buf[64];
    uint64_t s = 0;
    double t = now();
    for (size_t i = 0; i < b->n_offsets; i++) {
        int64_t n = sys_pread(b->fd, buf, sizeof buf, b->offsets[i]);
        if (n != (int64_t)sizeof buf)
            die("pread", n < 0 ? (int)n : SMMAP_EOF);
        s += buf[0];
    }
    t = now() - t;
    b->sink += s;
    return (double)b->n_offsets / t / 1e6;
}

/* ------------------------------------------------------------- hit-path */

#define HIT_OPS 20000000u

/* Offsets inside one 1 MiB window, 8-aligned so raw reads are aligned too. */
static uint64_t hit_offset(uint64_t *seed)
{
    return (next_random(seed) % (MiB / 8 - 1)) * 8;
}

/* use(offset, 8) as a C user writes it: smmap_get(), inline (view), or
 * smmap_use() and smmap_data(), two calls into the library. */
static double hit_cursor_run(struct bench *b, bool view)
{
    smmap_options o = {.window_size = 2 * MiB};
    smmap_manager *m;
    smmap_cursor *c;
    int rc = smmap_manager_new(&m, &o);
    if (rc == 0)
        rc = smmap_cursor_new_fd(m, b->fd, &c);
    if (rc == 0)
        rc = smmap_use(c, 0, MiB);
    if (rc != 0)
        die("hit-path", rc);
    /* In a local whose address is never taken, as hit_raw() keeps its base
     * pointer: c's own address went to smmap_cursor_new_fd(), so the
     * compiler would load c from memory at every access. */
    smmap_cursor *const cur = c;
    uint64_t seed = 42, s = 0, v;
    double t = now();
    if (view) {
        for (unsigned i = 0; i < HIT_OPS; i++) {
            const unsigned char *p;
            if (smmap_get(cur, hit_offset(&seed), 8, &p) < 8)
                die("hit-path", SMMAP_ECURSOR);
            memcpy(&v, p, 8);
            s += v;
        }
    } else {
        for (unsigned i = 0; i < HIT_OPS; i++) {
            if (smmap_use(cur, hit_offset(&seed), 8) != 0)
                die("hit-path", SMMAP_ECURSOR);
            memcpy(&v, smmap_data(cur), 8);
            s += v;
        }
    }
    t = now() - t;
    b->sink += s;
    smmap_cursor_free(c);
    smmap_manager_free(m);
    return t / HIT_OPS * 1e9;
}

static double hit_cursor(struct bench *b) { return hit_cursor_run(b, true); }
static double hit_cursor_use(struct bench *b) { return hit_cursor_run(b, false); }

static double hit_raw(struct bench *b)
{
    const void *p;
    int rc = sys_map(b->fd, 0, MiB, &p);
    if (rc < 0)
        die("mmap", rc);
    const unsigned char *base = p;
    uint64_t seed = 42, s = 0, v;
    double t = now();
    for (unsigned i = 0; i < HIT_OPS; i++) {
        memcpy(&v, base + hit_offset(&seed), 8);
        s += v;
    }
    t = now() - t;
    b->sink += s;
    sys_unmap(p, MiB);
    return t / HIT_OPS * 1e9;
}

/* ---------------------------------------------------------------- cases */

struct impl {
    const char *name;
    double (*run)(struct bench *);
};

struct bcase {
    const char *name, *unit;
    struct impl impls[MAX_IMPLS];
    int n;
    /* ratios to print: impl index over impl index */
    int ratios[4][2];
    int n_ratios;
    bool cold; /* the file is dropped from the page cache before every run */
};

static const struct bcase cases[] = {
    {"seq-scan", "GB/s",
     {{"sliding-default", scan_sliding_default}, {"sliding-1m", scan_sliding_1m},
      {"static", scan_static}, {"raw-mmap-populate", scan_raw_mmap},
      {"read-1m", scan_read}, {"raw-mmap-1m", scan_raw_1m}}, 6,
     {{0, 3}, {0, 4}, {1, 3}, {1, 5}}, 4, false},
    {"random-64b", "Mops/s",
     {{"sliding-default", random_default}, {"sliding-smallcap", random_smallcap},
      {"pread", random_pread}, {"raw-mmap", random_raw}, {"sliding-batch", random_batch}}, 5,
     {{0, 3}, {4, 3}, {0, 2}, {1, 2}}, 4, false},
    {"hit-path", "ns/op",
     {{"cursor", hit_cursor}, {"raw-pointer", hit_raw}, {"cursor-use", hit_cursor_use}}, 3,
     {{0, 1}, {2, 1}}, 2, false},
    {"threads", "Mops/s",
     {{"1", threads_1}, {"2", threads_2}, {"raw-mmap-1", threads_raw_1},
      {"raw-mmap-2", threads_raw_2}}, 4,
     {{1, 0}, {3, 2}, {1, 3}}, 3, false},
    /* Last: it leaves the file out of the page cache, which the cases
     * above read from. Every run reads the whole file from the disk, so
     * --quick's 3 rounds and the full bench's 5 take a few seconds per
     * implementation each. */
    {"seq-scan-cold", "GB/s",
     {{"sliding-default", scan_sliding_default}, {"sliding-seq", scan_sliding_seq},
      {"static", scan_static}, {"read-1m", scan_read}, {"raw-mmap", scan_raw_mmap_seq}}, 5,
     {{0, 3}, {1, 3}, {2, 3}, {4, 3}}, 4, true},
};

/* Drops the data file from the page cache: NULL, or why it cannot be. */
static const char *evict(struct bench *b)
{
    static char why[128];
    int64_t cached = sys_evict(b->fd, b->size);
    if (cached >= 0) /* all of it stays in tmpfs */
        return (uint64_t)cached > b->size / 100
                   ? "the file stays cached (a file system in memory? see --dir)"
                   : NULL;
    snprintf(why, sizeof why, "cannot drop the file from the page cache: %s",
             smmap_strerror((int)cached));
    return why;
}

static void run_case(struct bench *b, const struct bcase *bc)
{
    double samples[MAX_IMPLS][MAX_REPS], med[MAX_IMPLS];
    const char *why = bc->cold ? evict(b) : NULL;
    if (why) {
        fprintf(stderr, "smmap bench: %s skipped: %s\n", bc->name, why);
        return;
    }
    /* Round 0 is not counted: the first mapping of pages the page cache
     * holds costs more than every later one (measured: 1.8 GB/s against
     * 12-15 for the same scan), and it would fall on whichever ran first.
     * A cold run starts from the same empty cache every time. */
    for (int r = bc->cold ? 0 : -1; r < b->reps; r++)
        for (int i = 0; i < bc->n; i++) {
            if (bc->cold && (why = evict(b))) {
                fprintf(stderr, "smmap bench: %s: %s\n", bc->name, why);
                exit(1);
            }
            double v = bc->impls[i].run(b);
            if (r >= 0)
                samples[i][r] = v;
        }
    for (int i = 0; i < bc->n; i++) {
        double *v = samples[i];
        med[i] = median(v, b->reps);
        if (b->json)
            printf("{\"case\": \"%s\", \"impl\": \"%s\", \"value\": %.4f, \"unit\": \"%s\", "
                   "\"min\": %.4f, \"max\": %.4f}\n",
                   bc->name, bc->impls[i].name, med[i], bc->unit, v[0], v[b->reps - 1]);
        else
            printf("%-13s %-18s %10.3f %-6s (%.3f .. %.3f)\n", bc->name, bc->impls[i].name,
                   med[i], bc->unit, v[0], v[b->reps - 1]);
    }
    /* Ratios are for people; --json output stays one measurement a line. */
    FILE *out = b->json ? stderr : stdout;
    for (int k = 0; k < bc->n_ratios; k++) {
        int x = bc->ratios[k][0], y = bc->ratios[k][1];
        fprintf(out, "%-13s %s / %s = %.2fx\n", bc->name, bc->impls[x].name,
                bc->impls[y].name, med[x] / med[y]);
    }
    fflush(stdout);
}

/* A usage error of bench: one line naming the problem, and the way to the
 * help; exit 2. */
static _Noreturn void bench_usage_error(const char *fmt, const char *arg)
{
    fputs("smmap: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see smmap bench --help)\n", stderr);
    exit(2);
}

static _Noreturn void bench_help(void)
{
    printf("usage: smmap bench %s\n\n"
           "Measure the library against raw baselines on data it generates, in one run.\n\n"
           "  --quick      a smaller file (1.5 GiB on 64-bit systems) and 3 rounds, not 5\n"
           "  --json       one JSON object per implementation (case, impl, value, unit,\n"
           "               min, max); the ratios go to stderr\n"
           "  --reps N     N rounds of each case (1 to %d)\n"
           "  --case NAME  only the case NAME\n"
           "  --dir DIR    write the data file in DIR (default: $TMPDIR or /tmp)\n"
           "  -h, --help   print this help\n\n"
           "cases:", BENCH_OPERANDS, MAX_REPS);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        printf(" %s", cases[i].name);
    putchar('\n');
    exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1);
}

static int parse_reps(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s || *end || n < 1 || n > MAX_REPS) {
        char what[64];
        snprintf(what, sizeof what, "--reps '%.20s': must be a count from 1 to %d", s,
                 MAX_REPS);
        bench_usage_error("%s", what);
    }
    return (int)n;
}

int cmd_bench(int argc, char **argv)
{
    struct bench b = {.reps = 0};
    const char *dir = sys_temp_dir(), *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            bench_help();
        else if (!strcmp(argv[i], "--quick"))
            b.quick = true;
        else if (!strcmp(argv[i], "--json"))
            b.json = true;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            b.reps = parse_reps(argv[++i]);
        else if (!strcmp(argv[i], "--case") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strncmp(argv[i], "--dir=", 6))
            dir = argv[i] + 6;
        else if (!strcmp(argv[i], "--reps") || !strcmp(argv[i], "--case") ||
                 !strcmp(argv[i], "--dir"))
            bench_usage_error("option '%s' needs a value", argv[i]);
        else
            bench_usage_error("unknown option '%s'", argv[i]);
    }
    /* Two default windows' worth (2 GiB on 64-bit systems); --quick one
     * and a half, which still needs two. */
    smmap_options defaults = {0};
    smmap_manager *probe;
    int rc = smmap_manager_new(&probe, &defaults);
    if (rc != 0)
        die("manager", rc);
    smmap_manager_options(probe, &defaults);
    smmap_manager_free(probe);
    b.size = 2 * (uint64_t)defaults.window_size;
    if (b.quick)
        b.size = b.size / 4 * 3;
    if (!b.reps)
        b.reps = b.quick ? 3 : 5;
    bool known = !only;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        known |= only && !strcmp(only, cases[i].name);
    if (!known) {
        char what[256];
        int n = snprintf(what, sizeof what, "--case '%.40s': no such case; the cases are", only);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0] && n > 0 && (size_t)n < sizeof what; i++)
            n += snprintf(what + n, sizeof what - (size_t)n, " %s", cases[i].name);
        bench_usage_error("%s", what);
    }
    b.n_offsets = b.quick ? 1000000 : 2000000;
    b.offsets = malloc(b.n_offsets * sizeof *b.offsets);
    if (!b.offsets)
        die("memory", -ENOMEM);
    uint64_t seed = 7;
    for (size_t i = 0; i < b.n_offsets; i++)
        b.offsets[i] = next_random(&seed) % (b.size - 64);

    make_data(&b, dir);
    /* Read once so every case starts from the page cache. */
    b.sink += (uint64_t)scan_read(&b);
    if (!b.json)
        printf("smmap %s bench: %llu MiB file, %d repetitions: median (min .. max)\n",
               smmap_version_string(), (unsigned long long)(b.size / MiB), b.reps);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!only || !strcmp(only, cases[i].name))
            run_case(&b, &cases[i]);
    sys_close(b.fd);
    free(b.offsets);
    return 0;
}
