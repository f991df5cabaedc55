/*
 * test_faults.c - every open, fstat, mmap and munmap call of a realistic
 * workload (and every copying read that falls back to pread) made to fail,
 * one at a time, with each of ENOMEM, EMFILE, ENFILE,
 * EIO, EACCES and ENODEV (built only with -Dfault_injection=true).
 *
 * The binary links the static library with its platform layer wrapped
 * (-Wl,--wrap): the wrappers count the calls of each kind (dup counts as
 * open) and fail the one SMMAP_FAULT names. The counters are process-wide,
 * so each (kind, errno, N) runs in a fresh process: the test re-executes
 * its own binary with SMMAP_FAULT set, and a constructor runs the workload
 * before the harness starts. A first run without a fault counts the calls.
 *
 * Each run must either succeed with the right bytes or fail with a clean
 * code: the injected -errno, with a message. An mmap ENOMEM or an open
 * EMFILE/ENFILE is retried after eviction, and an mmap ENODEV (the system
 * refuses to map the file) has the file read instead, so those must not
 * fail at all.
 * Afterwards no descriptor, no mapping of the files and no window or byte in
 * the statistics may be left; under ASan LeakSanitizer sees every run too.
 */
#include "os.h"
#include "util.h"

#include <smmap.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------ counting and failing calls */

/* The library's platform layer (src/os.h), wrapped at link time: each
 * wrapper counts the calls of its kind and, under SMMAP_FAULT="kind:N:errno",
 * makes the Nth fail with -errno before it reaches the system, as a failing
 * system call would. */
enum { K_OPEN, K_FSTAT, K_READ, K_MMAP, K_MUNMAP, K_N };
static const char *const kind_name[K_N] = {"open", "fstat", "read", "mmap", "munmap"};
static long calls[K_N];
static int fault_kind = -1, fault_err; /* the injected fault, from SMMAP_FAULT */
static long fault_nth;
static int fired;                       /* the Nth call of that kind failed */

/* Fail from now on the call spec ("kind:N:errno", errno with or without its
 * sign) names, counting calls afresh; NULL: fail none. */
static void set_fault(const char *spec)
{
    fault_kind = -1;
    fired = 0;
    memset(calls, 0, sizeof calls);
    for (int k = 0; spec && k < K_N; k++) {
        size_t n = strlen(kind_name[k]);
        if (!strncmp(spec, kind_name[k], n) && spec[n] == ':') {
            char *end;
            fault_kind = k;
            fault_nth = strtol(spec + n + 1, &end, 10);
            fault_err = abs((int)strtol(end + 1, NULL, 10));
        }
    }
}

/* -errno when this call is the one to fail, else 0. */
static int inject(int kind)
{
    if (++calls[kind] != fault_nth || kind != fault_kind)
        return 0;
    fired = 1;
    return -fault_err;
}

int __real_smmap__os_open(const char *path, os_file *out);
int __real_smmap__os_dup(int fd, os_file *out);
int __real_smmap__os_fstat(os_file f, struct os_stat *st);
int64_t __real_smmap__os_pread(os_file f, void *dst, size_t len, uint64_t offset);
int __real_smmap__os_map(os_file f, uint64_t offset, size_t len, int hint, void **out);
int __real_smmap__os_unmap(void *p, size_t len);
int __wrap_smmap__os_open(const char *path, os_file *out);
int __wrap_smmap__os_dup(int fd, os_file *out);
int __wrap_smmap__os_fstat(os_file f, struct os_stat *st);
int64_t __wrap_smmap__os_pread(os_file f, void *dst, size_t len, uint64_t offset);
int __wrap_smmap__os_map(os_file f, uint64_t offset, size_t len, int hint, void **out);
int __wrap_smmap__os_unmap(void *p, size_t len);

int __wrap_smmap__os_open(const char *path, os_file *out)
{
    int e = inject(K_OPEN);
    return e ? e : __real_smmap__os_open(path, out);
}
int __wrap_smmap__os_dup(int fd, os_file *out)
{
    int e = inject(K_OPEN);
    return e ? e : __real_smmap__os_dup(fd, out);
}
int __wrap_smmap__os_fstat(os_file f, struct os_stat *st)
{
    int e = inject(K_FSTAT);
    return e ? e : __real_smmap__os_fstat(f, st);
}
int64_t __wrap_smmap__os_pread(os_file f, void *dst, size_t len, uint64_t offset)
{
    int e = inject(K_READ);
    return e ? e : __real_smmap__os_pread(f, dst, len, offset);
}
int __wrap_smmap__os_map(os_file f, uint64_t offset, size_t len, int hint, void **out)
{
    int e = inject(K_MMAP);
    return e ? e : __real_smmap__os_map(f, offset, len, hint, out);
}
int __wrap_smmap__os_unmap(void *p, size_t len)
{
    int e = inject(K_MUNMAP);
    return e ? e : __real_smmap__os_unmap(p, len);
}

/* ------------------------------------------- the workload (child side) */

#define WINDOW (64 * KiB)
enum { SALT_A = 11, SALT_B = 12, SALT_C = 13 };
#define SIZE_A (1 * MiB + 100)
#define SIZE_B (200 * KiB + 3)
#define SIZE_C ((uint64_t)3000)

/* What one run saw. `bad` is the first thing that was wrong. */
struct run {
    char bad[512];
    int errors;       /* calls that returned a clean error */
};

static void bad(struct run *r, const char *fmt, ...)
{
    if (r->bad[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->bad, sizeof r->bad, fmt, ap);
    va_end(ap);
}

/* 1 if the call succeeded. A failure must be the injected -errno with a
 * message, and must not happen at all where the library retries. */
static int ok(struct run *r, int64_t rc, const char *what)
{
    if (rc >= 0)
        return 1;
    const char *msg = smmap_strerror((int)rc);
    if (!msg || !strcmp(msg, "unknown error"))
        bad(r, "%s: %lld has no message", what, (long long)rc);
    bool retried = (fault_kind == K_MMAP && (fault_err == ENOMEM || fault_err == ENODEV)) ||
                   (fault_kind == K_OPEN && (fault_err == EMFILE || fault_err == ENFILE));
    if (fault_kind < 0 || fault_kind == K_MUNMAP || retried)
        bad(r, "%s failed: %s", what, msg);
    else if (rc != -fault_err)
        bad(r, "%s: %lld (%s), injected -%d", what, (long long)rc, msg, fault_err);
    r->errors++;
    return 0;
}

static void check_bytes(struct run *r, uint32_t salt, uint64_t off, const void *p,
                        size_t len, const char *what)
{
    int64_t i = util_mismatch(salt, off, p, len);
    if (i >= 0)
        bad(r, "%s: wrong byte at %llu", what, (unsigned long long)(off + (uint64_t)i));
}

static smmap_cursor *cursor(struct run *r, smmap_manager *m, const char *path)
{
    smmap_cursor *c = NULL;
    if (!ok(r, smmap_cursor_new(m, path, &c), path))
        return NULL;
    return c;
}

/* use(off, len) and check the span: it starts at off, holds at least the
 * bytes asked up to EOF (len <= half a window), and holds the file's bytes. */
static void use(struct run *r, smmap_cursor *c, uint32_t salt, uint64_t fsize,
                uint64_t off, size_t len)
{
    if (!c)
        return;
    int rc = smmap_use(c, off, len);
    if (rc > 0)
        bad(r, "use(%llu, %zu) returned %d", (unsigned long long)off, len, rc);
    if (rc != 0) {
        ok(r, rc, "use");
        return;
    }
    size_t want = len && len < fsize - off ? len : (size_t)(fsize - off);
    if (smmap_begin(c) != off || smmap_size(c) < (want < WINDOW / 2 ? want : 1))
        bad(r, "use(%llu, %zu) gave [%llu, +%zu)", (unsigned long long)off, len,
            (unsigned long long)smmap_begin(c), smmap_size(c));
    else
        check_bytes(r, salt, off, smmap_data(c), smmap_size(c), "use");
}

static void readc(struct run *r, smmap_cursor *c, uint32_t salt, uint64_t fsize,
                  uint64_t off, size_t len, unsigned char *buf)
{
    if (!c)
        return;
    int64_t n = smmap_read(c, buf, len, off);
    if (!ok(r, n, "read"))
        return;
    uint64_t want = off >= fsize ? 0 : len < fsize - off ? len : fsize - off;
    if ((uint64_t)n != want)
        bad(r, "read(%llu, %zu) = %lld", (unsigned long long)off, len, (long long)n);
    else
        check_bytes(r, salt, off, buf, (size_t)n, "read");
}

static void workload(struct run *r, const char *dir)
{
    char a[4096], b[4096], c[4096], alias[4096];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    snprintf(alias, sizeof alias, "%s/sub/../a", dir);
    static unsigned char buf[320 * 1024];

    smmap_options so = {.window_size = WINDOW, .max_memory = 256 * KiB, .max_handles = 3};
    smmap_options st = {.kind = SMMAP_STATIC, .max_memory = 4 * MiB};
    smmap_manager *m = NULL, *ms = NULL;
    if (smmap_manager_new(&m, &so) != 0 || smmap_manager_new(&ms, &st) != 0) {
        bad(r, "smmap_manager_new failed");
        smmap_manager_free(m);
        return;
    }

    smmap_cursor *ca = cursor(r, m, a), *cb = cursor(r, m, b), *cc = cursor(r, m, c);
    smmap_cursor *cf = NULL, *cd = NULL, *c2 = cursor(r, m, alias);
    int fd = open(b, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        bad(r, "open %s: %s", b, strerror(errno));
    else if (!ok(r, smmap_cursor_new_fd(m, fd, &cf), "cursor_new_fd"))
        cf = NULL;
    if (fd >= 0)
        close(fd);

    /* uses across files, the cache full: misses, hits, evictions */
    use(r, ca, SALT_A, SIZE_A, 0, 100);
    use(r, ca, SALT_A, SIZE_A, 20000, 1000);
    use(r, ca, SALT_A, SIZE_A, 100 * KiB, 32 * KiB);
    use(r, cb, SALT_B, SIZE_B, 150 * KiB, 32 * KiB);
    use(r, cc, SALT_C, SIZE_C, 10, 0);
    use(r, ca, SALT_A, SIZE_A, SIZE_A - 50, 1000);
    use(r, c2, SALT_A, SIZE_A, 700 * KiB, 4096);
    use(r, cf, SALT_B, SIZE_B, 5, 64);

    /* a scan of a whole file, as `smmap sum` does it */
    for (uint64_t off = 0; cb && off < SIZE_B;) {
        int rc = smmap_use(cb, off, 0);
        if (rc != 0) {
            ok(r, rc, "scan");
            break;
        }
        check_bytes(r, SALT_B, off, smmap_data(cb), smmap_size(cb), "scan");
        off += smmap_size(cb);
    }

    /* copying reads: one across windows, then random ones (pread when full) */
    readc(r, ca, SALT_A, SIZE_A, 5000, 300 * KiB, buf);
    uint64_t rs = 42;
    for (int i = 0; i < 12; i++)
        readc(r, ca, SALT_A, SIZE_A, util_below(&rs, SIZE_A), 64, buf);
    readc(r, cb, SALT_B, SIZE_B, SIZE_B - 10, 100, buf);

    /* a duplicate, a buffer over a file */
    if (ca && ok(r, smmap_cursor_dup(ca, &cd), "dup"))
        use(r, cd, SALT_A, SIZE_A, 500 * KiB, 100);
    smmap_buffer *bf = NULL;
    if (cb && !ok(r, smmap_buffer_new(cb, 1000, 0, &bf), "buffer_new"))
        bf = NULL;
    if (bf) {
        const int64_t idx[] = {0, -1, 100000, 5};
        for (int i = 0; i < 4; i++) {
            int v = smmap_buffer_byte(bf, idx[i]);
            uint64_t at = 1000 + (idx[i] < 0 ? SIZE_B - 1000 + (uint64_t)idx[i] : (uint64_t)idx[i]);
            if (ok(r, v, "buffer_byte") && v != util_byte(SALT_B, at))
                bad(r, "buffer_byte(%lld) wrong", (long long)idx[i]);
        }
        int64_t n = smmap_buffer_read(bf, 0, 70000, buf, sizeof buf);
        if (ok(r, n, "buffer_read")) {
            if (n != 70000)
                bad(r, "buffer_read gave %lld", (long long)n);
            else
                check_bytes(r, SALT_B, 1000, buf, 70000, "buffer_read");
        }
    }

    /* give windows back, collect, re-read sizes, use again */
    smmap_unuse(ca);
    if (smmap_collect(m) < 0)
        bad(r, "collect failed");
    if (smmap_make_room(m, 128 * KiB) < 0)
        bad(r, "make_room failed");
    if (cf && ok(r, smmap_file_stat(cf), "file_stat") && smmap_file_size(cf) != (int64_t)SIZE_B)
        bad(r, "file_stat: %lld", (long long)smmap_file_size(cf));
    use(r, cf, SALT_B, SIZE_B, 199 * KiB, 100);
    use(r, ca, SALT_A, SIZE_A, 64 * KiB, 32 * KiB);
    readc(r, cd, SALT_A, SIZE_A, 900 * KiB, 200 * KiB, buf);

    /* a static manager: whole files, shared */
    smmap_cursor *sa = cursor(r, ms, a), *sc = cursor(r, ms, c), *sa2 = NULL;
    use(r, sa, SALT_A, SIZE_A, 0, 10);
    readc(r, sa, SALT_A, SIZE_A, 1 * MiB - 50, 4096, buf);
    use(r, sc, SALT_C, SIZE_C, 2999, 1);
    if (sa && ok(r, smmap_cursor_dup(sa, &sa2), "dup"))
        use(r, sa2, SALT_A, SIZE_A, 12345, 10);

    smmap_buffer_free(bf);
    smmap_cursor *all[] = {ca, cb, cc, cf, cd, c2, sa, sc, sa2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        smmap_cursor_free(all[i]);

    /* every cursor gone: collect leaves nothing, by the statistics */
    smmap_manager *ms_[] = {m, ms};
    for (int i = 0; i < 2; i++) {
        smmap_collect(ms_[i]);
        smmap_stats s = util_stats(ms_[i]);
        if (s.windows || s.mapped || s.files || s.files_mapped)
            bad(r, "manager %d after collect: %llu windows, %llu bytes, %llu files", i,
                (unsigned long long)s.windows, (unsigned long long)s.mapped,
                (unsigned long long)s.files);
        if (fired && fault_kind == K_MUNMAP && i == 0 && s.failures == 0)
            bad(r, "failed munmap not counted in failures");
        if (fault_kind < 0 && s.failures)
            bad(r, "failures counted in a clean run");
    }
    smmap_manager_free(m);
    smmap_manager_free(ms);
}

/* Mappings of the files a, b and c of dir. */
static int count_maps(const char *dir)
{
    static const char *const names[] = {"a", "b", "c"};
    int n = 0;
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        n += util_maps_of(p, NULL, 0);
    }
    return n;
}

/* The child: run the workload under SMMAP_FAULT, check what is left, print
 * the call counts ("calls O F M U fired X"), exit 0 if all was right. */
__attribute__((constructor)) static void child(void)
{
    const char *dir = getenv("SMMAP_FAULTS_DIR");
    if (!dir)
        return;
    set_fault(getenv("SMMAP_FAULT"));
    struct run r = {0};
    int fds0 = util_count_fds();
    workload(&r, dir);
    int fds = util_count_fds(), maps = count_maps(dir);
    if (fds != fds0)
        bad(&r, "%d descriptors left open", fds - fds0);
    /* A failed munmap leaves its mapping: nothing can undo it. */
    int maps_ok = fired && fault_kind == K_MUNMAP ? 1 : 0;
    if (maps > maps_ok)
        bad(&r, "%d mappings of the files left", maps);
    if (fault_kind >= 0 && !fired && fault_nth <= calls[fault_kind])
        bad(&r, "call %ld of %s did not fail", fault_nth, kind_name[fault_kind]);
    printf("calls %ld %ld %ld %ld %ld fired %d errors %d\n", calls[0], calls[1], calls[2],
           calls[3], calls[4], fired, r.errors);
    if (r.bad[0])
        fprintf(stderr, "%s\n", r.bad);
    fflush(NULL);
    exit(r.bad[0] ? 1 : 0); /* exit, not _exit: LeakSanitizer checks at exit */
}

/* ------------------------------------------------- the walk (test side) */

struct outcome {
    int status;           /* 0: the child exited 0 */
    long calls[K_N];
    int fired, errors;
    char out[4096];       /* everything the child wrote */
};

/* Run the workload in a fresh process of this binary with SMMAP_FAULT=spec
 * (none if NULL). */
static void spawn(const char *spec, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env), dirv[4200], faultv[128];
    ASSERT_NOT_NULL(env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "SMMAP_FAULT", 11) != 0)
            env[k++] = environ[i];
    snprintf(dirv, sizeof dirv, "SMMAP_FAULTS_DIR=%s", t_dir());
    env[k++] = dirv;
    if (spec) {
        snprintf(faultv, sizeof faultv, "SMMAP_FAULT=%s", spec);
        env[k++] = faultv;
    }
    int pipefd[2];
    ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ASSERT_GT(len, 0);
    exe[len] = 0;
    char *argv[] = {exe, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, argv, env);
    ASSERT_EQ(rc, 0, "posix_spawn: %s", strerror(rc));
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(pipefd[1]);
    size_t got = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(pipefd[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t room = sizeof o->out - 1 - got, take = (size_t)r < room ? (size_t)r : room;
        memcpy(o->out + got, tmp, take);
        got += take;
    }
    close(pipefd[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    o->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    const char *line = strstr(o->out, "calls ");
    if (!line || sscanf(line, "calls %ld %ld %ld %ld %ld fired %d errors %d", &o->calls[0],
                        &o->calls[1], &o->calls[2], &o->calls[3], &o->calls[4], &o->fired,
                        &o->errors) != 7)
        o->status = o->status ? o->status : 255;
}

static void make_files(void)
{
    util_make_file("a", SIZE_A, SALT_A);
    util_make_file("b", SIZE_B, SALT_B);
    util_make_file("c", SIZE_C, SALT_C);
    util_mkdir(util_path("sub"));
}

static void walk(int kind)
{
    static const int errs[] = {ENOMEM, EMFILE, ENFILE, EIO, EACCES, ENODEV};
    const long n_errs = (long)(sizeof errs / sizeof errs[0]);
    make_files();
    struct outcome o;
    spawn(NULL, &o);
    ASSERT_EQ(o.status, 0, "the workload without faults failed (%d):\n%s", o.status, o.out);
    long n = o.calls[kind];
    ASSERT_GT(n, 0, "the workload makes no %s call", kind_name[kind]);
    long runs = 0, injected = 0, errors = 0, failed = 0;
    for (size_t e = 0; e < sizeof errs / sizeof errs[0]; e++) {
        for (long i = 1; i <= n; i++) {
            char spec[64];
            /* "kind:N:errno": the hook negates the number it reads */
            snprintf(spec, sizeof spec, "%s:%ld:%d", kind_name[kind], i, errs[e]);
            spawn(spec, &o);
            runs++;
            injected += o.fired;
            errors += o.errors > 0;
            if (o.status != 0 && ++failed <= 10)
                EXPECT_FAIL("SMMAP_FAULT=%s: exit %d\n%s", spec, o.status, o.out);
        }
    }
    fprintf(stderr, "faults injected (%s): %ld in %ld runs (%ld calls x %ld errnos), "
            "%ld ended in a clean error, %ld wrong\n",
            kind_name[kind], injected, runs, n, n_errs, errors, failed);
    EXPECT_EQ(failed, 0, "%ld of %ld runs went wrong", failed, runs);
    EXPECT_EQ(injected, runs, "every run must inject its fault");
}

TEST(faults, open) { walk(K_OPEN); }
TEST(faults, fstat) { walk(K_FSTAT); }
TEST(faults, read) { walk(K_READ); }
TEST(faults, mmap) { walk(K_MMAP); }
TEST(faults, munmap) { walk(K_MUNMAP); }

/* SMMAP_FAULT="mmap:1:-12" fails the 1st mmap with ENOMEM, so its retry
 * succeeds; the errno may be written with or without its sign. */
TEST(faults, documented_spec_format)
{
    make_files();
    struct outcome o;
    spawn("mmap:1:-5", &o);
    EXPECT_EQ(o.status, 0, "SMMAP_FAULT=mmap:1:-5 (EIO):\n%s", o.out);
    spawn("open:1:-24", &o);
    EXPECT_EQ(o.status, 0, "SMMAP_FAULT=open:1:-24 (EMFILE, retried):\n%s", o.out);
}

/* The statistics count "failed mmap, open or fstat calls" (smmap.h). */
static uint64_t failures_after(const char *spec, int expect_rc)
{
    const char *p = util_make_file("f", 100 * KiB, 7);
    set_fault(spec);
    smmap_manager *m = util_manager(NULL);
    smmap_cursor *c = NULL;
    int rc = smmap_cursor_new(m, p, &c);
    if (rc == 0) {
        rc = (int)smmap_file_stat(c);
        rc = rc < 0 ? rc : smmap_use(c, 0, 10);
    }
    EXPECT_EQ(rc, expect_rc, "%s: got %d (%s)", spec, rc, smmap_strerror(rc));
    smmap_stats st = util_stats(m);
    smmap_cursor_free(c);
    smmap_manager_free(m);
    return st.failures;
}

TEST(faults, failed_open_counted)
{
    EXPECT_EQ(failures_after("open:1:5", -EIO), 1u, "a failed open is a failure");
}

TEST(faults, failed_fstat_of_new_cursor_counted)
{
    EXPECT_EQ(failures_after("fstat:1:5", -EIO), 1u, "a failed fstat is a failure");
}

TEST(faults, failed_file_stat_counted)
{
    EXPECT_EQ(failures_after("fstat:2:5", -EIO), 1u, "a failed fstat is a failure");
}

TEST(faults, failed_mmap_counted)
{
    /* fstat 1: the cursor, 2: smmap_file_stat, 3: the miss; then the mmap */
    EXPECT_EQ(failures_after("mmap:1:5", -EIO), 1u, "a failed mmap is a failure");
}

/* --------------------------------- files the system will not map (ENODEV) */

#define R_WINDOW (16 * KiB)
#define R_CAP (64 * KiB)
#define R_SIZE (1 * MiB + 777)

/* An order-sensitive sum, so that spans passed out of order show. */
static void mix(uint64_t *sum, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *sum = *sum * 31 + d[i];
}

static int scan_fn(void *arg, const unsigned char *d, size_t n, uint64_t at)
{
    (void)at;
    mix(arg, d, n);
    return 0;
}

/* The first mmap refused: that file is read into every window it gets
 * (tiny ones under a tiny cap, evicted and read again), through every
 * call; another file of the same manager is still mapped. */
TEST(faults, refused_file_read_into_windows)
{
    const char *p = util_make_file("f", R_SIZE, 8), *q = util_make_file("g", 100 * KiB, 9);
    set_fault("mmap:1:19");
    smmap_manager *m = UTIL_MANAGER(.window_size = R_WINDOW, .max_memory = R_CAP);
    smmap_cursor *c = util_cursor(m, p);
    util_read_windows(c, 8, R_SIZE);
    uint64_t seed = 3;
    static unsigned char buf[50000];
    for (int i = 0; i < 300; i++) {
        uint64_t off = util_below(&seed, R_SIZE + 10), len = 1 + util_below(&seed, sizeof buf);
        uint64_t want = off >= R_SIZE ? 0 : len < R_SIZE - off ? len : R_SIZE - off;
        ASSERT_EQ(smmap_read(c, buf, (size_t)len, off), (int64_t)want);
        ASSERT_EQ(util_mismatch(8, off, buf, (size_t)want), -1);
    }
    uint64_t sum = 0, want_sum = 0;
    unsigned char *image = util_image(8, R_SIZE);
    mix(&want_sum, image, R_SIZE);
    free(image);
    EXPECT_EQ(smmap_scan(c, 0, UINT64_MAX, scan_fn, &sum), (int64_t)R_SIZE);
    EXPECT_EQ(sum, want_sum);
    smmap_buffer *b = NULL;
    ASSERT_EQ(smmap_buffer_new(c, 5000, 0, &b), 0);
    EXPECT_EQ(smmap_buffer_byte(b, -1), util_byte(8, R_SIZE - 1));
    EXPECT_EQ(smmap_buffer_read(b, 0, 40000, buf, sizeof buf), 40000);
    EXPECT_EQ(util_mismatch(8, 5000, buf, 40000), -1);
    smmap_buffer_free(b);

    smmap_cursor *d = util_cursor(m, q);
    ASSERT_EQ(smmap_use(d, 1000, 100), 0);
    EXPECT_EQ(util_mismatch(9, 1000, smmap_data(d), 100), -1);
    EXPECT_EQ(util_mapped_at(q, 0), 1, "the other file is mapped");

    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.files_read_not_mapped, 1u);
    EXPECT_EQ(s.mmap_calls, 2u, "one refused for f, one for g");
    EXPECT_GE(s.bytes_read_into_windows, (uint64_t)R_SIZE);
    EXPECT_LE(s.mapped_peak, (uint64_t)R_CAP);
    EXPECT_GT(s.evictions, 0u);
    EXPECT_EQ(s.failures, 0u);
    EXPECT_EQ(util_maps_of(p, NULL, 0), 0, "f was mapped");
    smmap_cursor_free(c);
    smmap_cursor_free(d);
    EXPECT_GT(smmap_collect(m), 0);
    s = util_stats(m);
    EXPECT_EQ(s.mapped, 0u);
    EXPECT_EQ(s.windows, 0u);
    smmap_manager_free(m);
    set_fault(NULL);
}

/* A window read before the file was cut keeps its bytes: no fault is
 * possible. Once the size is seen, copies stop at the new end; a file that
 * grows is read to its new end. */
TEST(faults, refused_file_truncated_and_grown)
{
    const char *p = util_make_file("f", 256 * KiB, 4);
    set_fault("mmap:1:19");
    smmap_manager *m = UTIL_MANAGER(.window_size = 128 * KiB, .max_memory = 1 * MiB);
    smmap_cursor *c = util_cursor(m, p);
    ASSERT_EQ(smmap_use(c, 100 * KiB, 0), 0);
    ASSERT_EQ(util_truncate(p, 4 * KiB), 0);
    unsigned char buf[1000];
    EXPECT_EQ(smmap_read(c, buf, sizeof buf, 120 * KiB), (int64_t)sizeof buf);
    EXPECT_EQ(util_mismatch(4, 120 * KiB, buf, sizeof buf), -1, "the bytes as read");
    EXPECT_EQ(smmap_probe(c), 0);
    EXPECT_EQ(smmap_file_stat(c), (int64_t)(4 * KiB));
    EXPECT_EQ(smmap_read(c, buf, sizeof buf, 120 * KiB), 0);
    EXPECT_EQ(smmap_read(c, buf, sizeof buf, 4 * KiB - 10), 10);
    EXPECT_EQ(util_mismatch(4, 4 * KiB - 10, buf, 10), -1);
    util_append(p, 4 * KiB, 300 * KiB, 4);
    EXPECT_EQ(smmap_read(c, buf, sizeof buf, 250 * KiB), (int64_t)sizeof buf);
    EXPECT_EQ(util_mismatch(4, 250 * KiB, buf, sizeof buf), -1, "the grown bytes");
    smmap_stats s = util_stats(m);
    EXPECT_EQ(s.mmap_calls, 1u, "decided once, at the first refusal");
    EXPECT_EQ(s.files_read_not_mapped, 1u);
    smmap_cursor_free(c);
    smmap_manager_free(m);
    set_fault(NULL);
}
