/*
 * test_threads.c - one manager shared by 4 threads, each with its own
 * cursor, random uses and reads verified byte for byte; small limits,
 * defaults and a static manager.
 */
#include "util.h"

#include <smmap.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif

TEST_SUITE(threads, .timeout = 180)

enum { THREADS = 4 };
#define OPS util_ops(50000)

struct shared {
    smmap_manager *m;
    const char *path[2];
    uint64_t size[2];
    unsigned char *img[2];
    size_t half; /* requests up to this many bytes must be whole */
};

struct worker {
    pthread_t t;
    struct shared *sh;
    int id;
    char err[256]; /* first failure, empty if none */
    uint64_t bytes;
};

#define WORKER_FAIL(...) do { snprintf(w->err, sizeof w->err, __VA_ARGS__); goto out; } while (0)

static void *run(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    int f = w->id % 2;
    uint64_t size = sh->size[f];
    const unsigned char *img = sh->img[f];
    smmap_cursor *c = NULL;
    unsigned char *buf = malloc(256 * KiB);
    int rc = smmap_cursor_new(sh->m, sh->path[f], &c);
    if (rc < 0 || !buf)
        WORKER_FAIL("cursor_new: %s", smmap_strerror(rc));
    uint64_t rs = 1000 + (uint64_t)w->id;
    for (int i = 0; i < OPS; i++) {
        uint64_t off = util_below(&rs, size);
        int kind = (int)util_below(&rs, 10);
        if (kind < 5) {
            size_t len = kind == 0 ? util_below(&rs, 256 * KiB) : util_below(&rs, 2048);
            int64_t want = (int64_t)(len < size - off ? len : size - off);
            int64_t got = smmap_read(c, buf, len, off);
            if (got != want)
                WORKER_FAIL("op %d read(%llu, %zu) = %lld (%s), want %lld", i,
                     (unsigned long long)off, len, (long long)got,
                     got < 0 ? smmap_strerror((int)got) : "", (long long)want);
            if (memcmp(buf, img + off, (size_t)got) != 0)
                WORKER_FAIL("op %d read(%llu, %zu): wrong bytes", i, (unsigned long long)off, len);
            w->bytes += (uint64_t)got;
        } else {
            size_t len = 1 + util_below(&rs, kind == 9 ? 4096 : sh->half);
            rc = smmap_use(c, off, len);
            if (rc < 0)
                WORKER_FAIL("op %d use(%llu, %zu): %s", i, (unsigned long long)off, len,
                     smmap_strerror(rc));
            size_t want = len < size - off ? len : (size_t)(size - off);
            if (smmap_size(c) != want)
                WORKER_FAIL("op %d use(%llu, %zu) gave %zu bytes", i, (unsigned long long)off, len,
                     smmap_size(c));
            if (smmap_begin(c) != off || memcmp(smmap_data(c), img + off, want) != 0)
                WORKER_FAIL("op %d use(%llu, %zu): wrong bytes", i, (unsigned long long)off, len);
            w->bytes += want;
            if (kind == 5)
                smmap_unuse(c);
        }
    }
out:
    smmap_cursor_free(c);
    free(buf);
    return NULL;
}

static void run_threads(const smmap_options *o, uint64_t size0, uint64_t size1)
{
    struct shared sh = {0};
    sh.m = util_manager(o);
    smmap_options e;
    smmap_manager_options(sh.m, &e);
    sh.half = e.kind == SMMAP_STATIC ? 256 * KiB : e.window_size / 2;
    if (sh.half > 256 * KiB)
        sh.half = 256 * KiB;
    sh.path[0] = util_make_file("f0", size0, 71);
    sh.path[1] = util_make_file("f1", size1, 72);
    sh.size[0] = size0;
    sh.size[1] = size1;
    sh.img[0] = util_image(71, size0);
    sh.img[1] = util_image(72, size1);

    struct worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].sh = &sh;
        w[i].id = i;
        ASSERT_EQ(pthread_create(&w[i].t, NULL, run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i].t, NULL);
    for (int i = 0; i < THREADS; i++) {
        EXPECT_STR_EQ(w[i].err, "", "thread %d: %s", i, w[i].err);
        EXPECT_GT(w[i].bytes, 0u);
    }

    smmap_stats st = util_stats(sh.m);
    ASSERT_EQ(st.mmap_calls - st.munmap_calls, st.windows);
    ASSERT_GT(st.hits + st.misses, (uint64_t)THREADS * OPS / 2);
    ASSERT_EQ(st.failures, 0u);
    /* beyond a cap only while every window was in use, at most one per
     * thread */
    if (st.windows_peak > e.max_handles || st.mapped_peak > e.max_memory)
        ASSERT_GT(st.limit_exceeded, 0u, "limits exceeded without being counted");
    ASSERT_LE(st.windows_peak, (uint64_t)e.max_handles + THREADS);
    if (e.kind == SMMAP_SLIDING)
        ASSERT_LE(st.mapped_peak, e.max_memory + THREADS * e.window_size);

    /* all cursors are gone: everything can be collected */
    smmap_collect(sh.m);
    st = util_stats(sh.m);
    ASSERT_EQ(st.windows, 0u);
    ASSERT_EQ(st.mapped, 0u);
    ASSERT_EQ(st.files, 0u);
    ASSERT_EQ(util_maps_of(sh.path[0], NULL, 0), 0);
    ASSERT_EQ(util_maps_of(sh.path[1], NULL, 0), 0);
    ASSERT_EQ(util_fds_of(sh.path[0]), 0);
    smmap_manager_free(sh.m);
    free(sh.img[0]);
    free(sh.img[1]);
}

TEST(threads, small_limits)
{
    smmap_options o = {.window_size = 64 * KiB, .max_memory = 256 * KiB, .max_handles = 3};
    run_threads(&o, 4 * MiB + 333, 3 * MiB + 1);
}

TEST(threads, small_limits_memory_bound)
{
    smmap_options o = {.window_size = 64 * KiB, .max_memory = 200 * KiB, .max_handles = 1000};
    run_threads(&o, 2 * MiB + 5, 2 * MiB + 7);
}

TEST(threads, defaults)
{
    run_threads(NULL, 8 * MiB + 1, 5 * MiB + 3);
}

TEST(threads, static_manager)
{
    smmap_options o = {.kind = SMMAP_STATIC};
    run_threads(&o, 6 * MiB + 1, 4 * MiB + 3);
}

/* Threads sharing one window through dup'd cursors: users count right. */
struct dup_arg {
    smmap_cursor *c;
    const unsigned char *expect;
    int ok;
};

static void *hold(void *arg)
{
    struct dup_arg *a = arg;
    a->ok = 1;
    for (int i = 0; i < 20000 && a->ok; i++) {
        if (smmap_use(a->c, 1000 + (uint64_t)(i % 50000), 64) != 0 ||
            smmap_data(a->c) != a->expect + (i % 50000) || smmap_window_users(a->c) < 1)
            a->ok = 0;
        if (i % 3 == 0)
            smmap_unuse(a->c);
    }
    smmap_unuse(a->c);
    return NULL;
}

TEST(threads, dup_cursors_share_window)
{
    const char *p = util_make_file("f", 1 * MiB, 73);
    smmap_manager *m = UTIL_MANAGER(.window_size = 128 * KiB, .max_handles = 4);
    smmap_cursor *base;
    ASSERT_EQ(smmap_cursor_new(m, p, &base), 0);
    ASSERT_EQ(smmap_use(base, 1000, 64), 0);
    struct dup_arg a[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ASSERT_EQ(smmap_cursor_dup(base, &a[i].c), 0);
        a[i].expect = smmap_data(base);
    }
    ASSERT_EQ(smmap_window_users(base), THREADS + 1);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hold, &a[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        EXPECT(a[i].ok, "thread %d saw another window", i);
    ASSERT_EQ(smmap_window_users(base), 1);
    smmap_stats st = util_stats(m);
    ASSERT_EQ(st.mmap_calls, 1u, "the held window is shared, never remapped");
    for (int i = 0; i < THREADS; i++)
        smmap_cursor_free(a[i].c);
    smmap_cursor_free(base);
    smmap_manager_free(m);
}

#ifdef _WIN32
NOT_ON_WINDOWS(threads, fork_while_others_work, "Windows has no fork")
#else
/* fork() while other threads work on the manager: the child, which has
 * only the thread that forked, uses the inherited manager at once. Before
 * the library took its locks around fork, a child forked while another
 * thread held the manager's lock (or was mapping a window) waited forever
 * at its first miss. */
struct churn {
    smmap_manager *m;
    const char *path;
    uint64_t size;
    atomic_int stop;
    atomic_int next;
    /* The workers' cursors, reachable from the forking thread: a child
     * has none of the workers' stacks, and valgrind's leak check in the
     * child would call their cursors lost. */
    smmap_cursor *cursors[3];
};

static void *churn_run(void *arg)
{
    struct churn *ch = arg;
    smmap_cursor *c = util_cursor(ch->m, ch->path);
    ch->cursors[atomic_fetch_add(&ch->next, 1)] = c;
    unsigned char buf[256];
    uint64_t rs = (uint64_t)(uintptr_t)&buf;
    while (!atomic_load(&ch->stop)) {
        uint64_t off = util_below(&rs, ch->size);
        smmap_read(c, buf, sizeof buf, off);
        smmap_use(c, util_below(&rs, ch->size), 1 + util_below(&rs, 32 * KiB));
    }
    smmap_cursor_free(c);
    return NULL;
}

/* The child: reads through a new cursor on the inherited manager and
 * checks the bytes; exits 0 when all were right. */
static int fork_child(struct churn *ch)
{
    smmap_cursor *c = NULL;
    if (smmap_cursor_new(ch->m, ch->path, &c) != 0)
        return 2;
    unsigned char buf[4096];
    uint64_t rs = 99;
    for (int i = 0; i < 200; i++) {
        uint64_t off = util_below(&rs, ch->size - sizeof buf);
        if (smmap_read(c, buf, sizeof buf, off) != (int64_t)sizeof buf ||
            util_mismatch(81, off, buf, sizeof buf) != -1)
            return 3;
        if (smmap_use(c, off, 1000) != 0 || util_mismatch(81, off, smmap_data(c), 1000) != -1)
            return 4;
    }
    smmap_cursor_free(c);
    smmap_manager_free(ch->m);
    return 0;
}

TEST(threads, fork_while_others_work, .timeout = 120)
{
    if (util_asan())
        SKIP("AddressSanitizer (gcc 12) does not take its allocator's lock around "
             "fork: a child forked while another thread allocates hangs in ASan's malloc");
    struct churn ch = {.size = 2 * MiB + 17};
    ch.path = util_make_file("f", ch.size, 81);
    ch.m = UTIL_MANAGER(.window_size = 64 * KiB, .max_memory = 192 * KiB, .max_handles = 3);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, churn_run, &ch), 0);
    while (atomic_load(&ch.next) < 3) /* every worker's cursor in ch */
        usleep(100);
    long forks = util_ops(40);
    for (long i = 0; i < forks; i++) {
        usleep(500);
        fflush(NULL);
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            alarm(10); /* a child that hangs dies of SIGALRM */
            _exit(fork_child(&ch));
        }
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "child %ld of %ld: %s %d", i, forks,
               WIFEXITED(status) ? "exit status" : "killed by signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    atomic_store(&ch.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    smmap_manager_free(ch.m);
}
#endif
