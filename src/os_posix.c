/*
 * os_posix.c - the platform layer on POSIX systems (os.h): files, mappings,
 * threads, memory. guard_posix.c holds the rest (the SIGBUS guard).
 * tests/test_faults.c wraps the file and mapping calls to make each fail.
 *
 * POSIX calls only, with Linux's extras where Linux has them: MAP_POPULATE
 * and vm.max_map_count (/proc). Each has its portable way beside it, which
 * macOS and the BSDs take, and which a Linux build with -Dportable_posix=true
 * takes too (CI builds it so).
 */
#include "os.h"
#include "smmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) && !defined(SMMAP_PORTABLE_POSIX)
#define LINUX_EXTRAS 1
#endif


size_t smmap__os_page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* The most mappings the system lets a process have: Linux says it in
 * vm.max_map_count; elsewhere its default, as a sane bound. */
static uint64_t max_map_count(void)
{
    uint64_t maps = 65530;
#ifdef LINUX_EXTRAS
    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
    if (f) {
        unsigned long long v;
        if (fscanf(f, "%llu", &v) == 1 && v > 0)
            maps = v;
        fclose(f);
    }
#endif
    return maps;
}

/* A mapping costs one vm.max_map_count entry and, while its file is open,
 * shares one descriptor; keep well inside both. */
uint32_t smmap__os_default_handles(void)
{
    uint64_t nofile = 1024, maps = max_map_count();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        nofile = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : rl.rlim_cur;
    uint64_t h = nofile / 2 < maps / 4 ? nofile / 2 : maps / 4;
    if (h < 16)
        h = 16;
    return h > UINT32_MAX ? UINT32_MAX : (uint32_t)h;
}

int smmap__os_open(const char *path, os_file *out)
{
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; the caller
     * rejects anything but a regular file right after. */
    int r;
    do
        r = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    *out = r;
    return 0;
}

int smmap__os_dup(int fd, os_file *out)
{
    /* A descriptor that cannot read would be shared with every later
     * cursor on the same file (files are shared by identity), so that its
     * mmap failure would reach them too: refuse it here, as read(2) does. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
#ifdef O_PATH
    if (fl & O_PATH)
        return -EBADF;
#endif
    if ((fl & O_ACCMODE) == O_WRONLY)
        return -EBADF;
    int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (r < 0)
        return -errno;
    *out = r;
    return 0;
}

static void from_stat(const struct stat *s, struct os_stat *st)
{
    st->dev = (uint64_t)s->st_dev;
    st->ino = (uint64_t)s->st_ino;
    st->size = s->st_size > 0 ? (uint64_t)s->st_size : 0;
    st->links = (uint64_t)s->st_nlink;
    st->type = S_ISREG(s->st_mode) ? OS_REG : S_ISDIR(s->st_mode) ? OS_DIR : OS_OTHER;
}

int smmap__os_fstat(os_file fd, struct os_stat *st)
{
    struct stat s;
    if (fstat((int)fd, &s) != 0)
        return -errno;
    from_stat(&s, st);
    return 0;
}

int smmap__os_stat_path(const char *path, struct os_stat *st)
{
    struct stat s;
    if (stat(path, &s) != 0)
        return -errno;
    from_stat(&s, st);
    return 0;
}

int smmap__os_close(os_file fd)
{
    /* Linux releases the descriptor even when close reports EINTR, so
     * retrying could close a descriptor another thread just got. */
    return close((int)fd) == 0 ? 0 : -errno;
}

/* What mmap(2) says when the file, not the request, is the problem: no
 * mmap operation (ENODEV), refused by the filesystem or a security module
 * (EACCES, EPERM, ENOTSUP); EINVAL too, since our arguments are valid. */
static bool refused(int e)
{
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    if (e == EOPNOTSUPP)
        return true;
#endif
    return e == ENODEV || e == EACCES || e == EPERM || e == EINVAL || e == ENOTSUP;
}

#ifdef LINUX_EXTRAS
/* Whether the page cache holds the pages of the fresh mapping [p, p+len),
 * by one sampled page per 256 KiB, at most 16. mincore reads no page in (a
 * read that must not wait still starts the readahead it would wait for).
 * For a file that is neither the caller's nor writable by it, Linux 5.0
 * and later say every page is there: those are populated, as they always
 * were. One call per sampled page: a call over a range costs by its pages
 * (7-9 us for 1 MiB here, 16 single pages 6 us, 4 pages 1.6 us), and a
 * 1 MiB window changes every 170 us of a warm scan. */
static bool cached(void *p, size_t len)
{
    size_t page = smmap__os_page_size();
    size_t samples = len / (256 * 1024);
    samples = samples < 1 ? 1 : samples > 16 ? 16 : samples;
    for (size_t i = 0; i < samples; i++) {
        unsigned char v;
        size_t at = len / samples * i / page * page;
        if (mincore((char *)p + at, 1, (void *)&v) != 0 || !(v & 1))
            return false;
    }
    return true;
}

/* MADV_POPULATE_READ is Linux 5.14's; musl does not name it. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* The window with its page tables filled: in place, or, where the kernel
 * has no MADV_POPULATE_READ (before 5.14), mapped again with MAP_POPULATE
 * in place of p, which goes; p itself if that fails too (it faults in on
 * touch). */
static void *populated(void *p, size_t len, int fd, uint64_t offset)
{
    if (madvise(p, len, MADV_POPULATE_READ) == 0)
        return p;
    void *q = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, (off_t)offset);
    if (q == MAP_FAILED)
        return p;
    munmap(p, len);
    return q;
}
#endif

int smmap__os_map(os_file fd, uint64_t offset, size_t len, int hint, void **out)
{
    if (offset > (uint64_t)INT64_MAX)
        return -EOVERFLOW;
    /* Private, as git maps packs: some filesystems refuse shared mappings
     * and allow private ones, and a read-only private mapping shows the
     * page cache as a shared one does (no page is ever copied). */
    bool wants_pages = hint == SMMAP_HINT_POPULATE || hint == SMMAP_HINT_SEQUENTIAL;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, (int)fd, (off_t)offset);
    if (p == MAP_FAILED)
        return refused(errno) ? -ENODEV : -errno;
#ifdef LINUX_EXTRAS
    /* Populating reads the whole window before the caller sees a byte of
     * it: for pages in the page cache that saves a fault every 64 KiB, for
     * pages on the disk it stops the caller's work from overlapping the
     * reads (a cold scan measured 0.86x of a read(2) loop populated, 1.10x
     * streamed by the kernel's readahead as it faults). */
    if (wants_pages && cached(p, len))
        p = populated(p, len, (int)fd, offset);
#else
    /* Without MAP_POPULATE the pages are read in ahead; their page-table
     * entries are then filled on touch. */
    if (wants_pages)
        smmap__os_advise(p, len, SMMAP_HINT_WILLNEED);
#endif
    if (hint == SMMAP_HINT_SEQUENTIAL || hint == SMMAP_HINT_RANDOM)
        smmap__os_advise(p, len, hint);
    *out = p;
    return 0;
}

/* Advice is only advice: a kernel that refuses it changes nothing we rely
 * on. posix_madvise is madvise on Linux for these four. */
void smmap__os_advise(const void *p, size_t len, int hint)
{
    static const int advice[] = {
        [SMMAP_HINT_NORMAL] = POSIX_MADV_NORMAL,
        [SMMAP_HINT_SEQUENTIAL] = POSIX_MADV_SEQUENTIAL,
        [SMMAP_HINT_RANDOM] = POSIX_MADV_RANDOM,
        [SMMAP_HINT_WILLNEED] = POSIX_MADV_WILLNEED,
        [SMMAP_HINT_POPULATE] = POSIX_MADV_WILLNEED,
    };
    /* posix_madvise wants a page-aligned start. */
    uintptr_t page = smmap__os_page_size(), a = (uintptr_t)p & ~(page - 1);
    (void)posix_madvise((void *)a, len + ((uintptr_t)p - a), advice[hint]);
}

int64_t smmap__os_pread(os_file fd, void *dst, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread((int)fd, (char *)dst + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

int smmap__os_unmap(void *p, size_t len)
{
    return munmap(p, len) == 0 ? 0 : -errno;
}

uint64_t smmap__os_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- threads */

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(os_mutex) &&
               _Alignof(pthread_mutex_t) <= _Alignof(os_mutex), "os_mutex");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(os_cond) &&
               _Alignof(pthread_cond_t) <= _Alignof(os_cond), "os_cond");
#define MU(p) ((pthread_mutex_t *)(void *)(p))
#define CV(p) ((pthread_cond_t *)(void *)(p))

int smmap__os_mutex_init(os_mutex *mu)
{
    return -pthread_mutex_init(MU(mu), NULL);
}

void smmap__os_mutex_destroy(os_mutex *mu)
{
    pthread_mutex_destroy(MU(mu));
}

void smmap__os_mutex_lock(os_mutex *mu)
{
    pthread_mutex_lock(MU(mu));
}

void smmap__os_mutex_unlock(os_mutex *mu)
{
    pthread_mutex_unlock(MU(mu));
}

int smmap__os_cond_init(os_cond *cv)
{
    return -pthread_cond_init(CV(cv), NULL);
}

void smmap__os_cond_destroy(os_cond *cv)
{
    pthread_cond_destroy(CV(cv));
}

void smmap__os_cond_wait(os_cond *cv, os_mutex *mu)
{
    pthread_cond_wait(CV(cv), MU(mu));
}

void smmap__os_cond_broadcast(os_cond *cv)
{
    pthread_cond_broadcast(CV(cv));
}

static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;

void smmap__os_global_lock(void)
{
    pthread_mutex_lock(&global_mu);
}

void smmap__os_global_unlock(void)
{
    pthread_mutex_unlock(&global_mu);
}

void smmap__os_on_fork(void (*before)(void), void (*parent)(void), void (*child)(void))
{
    pthread_atfork(before, parent, child);
}

/* ----------------------------------------------------------------- memory */

void *smmap__os_alloc_aligned(size_t align, size_t size)
{
    return aligned_alloc(align, (size + align - 1) / align * align);
}

void smmap__os_free_aligned(void *p)
{
    free(p);
}
