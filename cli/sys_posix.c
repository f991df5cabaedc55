/*
 * sys_posix.c - the program's operating system calls (sys.h) on POSIX
 * systems.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char **sys_init(int argc, char **argv)
{
    (void)argc;
    return argv;
}

int64_t sys_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

bool sys_isatty(int fd)
{
    return isatty(fd);
}

int64_t sys_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

int64_t sys_write(int fd, const void *buf, size_t len)
{
    ssize_t w = write(fd, buf, len);
    return w < 0 ? -errno : w;
}

int64_t sys_pread(int fd, void *buf, size_t len, uint64_t offset)
{
    ssize_t n = pread(fd, buf, len, (off_t)offset);
    return n < 0 ? -errno : n;
}

int sys_close(int fd)
{
    return close(fd) == 0 ? 0 : -errno;
}

int sys_sync(int fd)
{
    return fdatasync(fd) == 0 ? 0 : -errno;
}

const char *sys_temp_dir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir ? dir : "/tmp";
}

long sys_pid(void)
{
    return (long)getpid();
}

int sys_create_temp(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* Gone from the directory at once, so that no exit path leaves it
     * behind; the descriptor keeps it. */
    unlink(path);
    return fd;
}

int sys_map(int fd, uint64_t offset, size_t len, const void **out)
{
#ifdef MAP_POPULATE
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)offset);
#else
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)offset);
#endif
    if (p == MAP_FAILED)
        return -errno;
#ifndef MAP_POPULATE
    /* Linux's MAP_POPULATE elsewhere: every page read and mapped now. */
    volatile const unsigned char *v = p;
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < len; i += (size_t)page)
        (void)v[i];
#endif
    *out = p;
    return 0;
}

void sys_unmap(const void *p, size_t len)
{
    munmap((void *)p, len);
}

int sys_map_sequential(int fd, uint64_t offset, size_t len, const void **out)
{
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)offset);
    if (p == MAP_FAILED)
        return -errno;
    (void)madvise(p, len, MADV_SEQUENTIAL); /* advice: refused, it changes nothing */
    *out = p;
    return 0;
}

#ifdef POSIX_FADV_DONTNEED
/* Touch len bytes of fresh memory (at most half of what is free) and free
 * them: the pages freed last are the first the page cache gets next. A
 * virtual machine may give memory that stays free back to its host (free
 * page reporting), and the first touch of such memory costs more than the
 * disk read: measured in a VM, cold scans ran at 0.4-0.7 or 1.2-1.5 GB/s
 * as that fell before or during them; after touching the file's size,
 * still some at 0.5; after one and a half times it, 0.8-1.5. In 2 MiB
 * pages where the system has them, as the page cache's large folios are:
 * touched in 4 KiB pages, all ran at 0.3-0.8. */
static void touch_memory(uint64_t len)
{
#ifdef _SC_AVPHYS_PAGES
    uint64_t half = (uint64_t)sysconf(_SC_AVPHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) / 2;
    len = len < half ? len : half;
#endif
    void *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return; /* the runs are only less even */
#ifdef MADV_HUGEPAGE
    (void)madvise(p, (size_t)len, MADV_HUGEPAGE);
#endif
    volatile unsigned char *v = p;
    for (uint64_t i = 0; i < len; i += 4096)
        v[i] = 1;
    munmap(p, (size_t)len);
}
#endif

int64_t sys_evict(int fd, uint64_t size)
{
#ifdef POSIX_FADV_DONTNEED
    int rc = sys_sync(fd);
    if (rc < 0)
        return rc;
    /* Length 0: to the end of the file. Pages still mapped somewhere stay. */
    rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (rc != 0)
        return -rc;
    if (size == 0)
        return 0;
    /* What stayed: mincore() on a mapping that reads nothing in. The
     * vector is char on some systems and unsigned char on others. */
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (size_t)((size + (uint64_t)page - 1) / (uint64_t)page);
    char *vec = malloc(pages);
    if (!vec)
        return -ENOMEM;
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED || mincore(p, (size_t)size, (void *)vec) != 0) {
        rc = -errno;
        if (p != MAP_FAILED)
            munmap(p, (size_t)size);
        free(vec);
        return rc;
    }
    munmap(p, (size_t)size);
    uint64_t cached = 0;
    for (size_t i = 0; i < pages; i++)
        cached += (uint64_t)(vec[i] & 1);
    free(vec);
    touch_memory(size + size / 2);
    cached *= (uint64_t)page;
    return (int64_t)(cached < size ? cached : size);
#else
    (void)fd, (void)size;
    return -ENOSYS;
#endif
}

struct sys_thread {
    pthread_t id;
};

int sys_thread_start(struct sys_thread **out, void *(*fn)(void *), void *arg)
{
    struct sys_thread *t = malloc(sizeof *t);
    if (!t)
        return -ENOMEM;
    int rc = pthread_create(&t->id, NULL, fn, arg);
    if (rc != 0) {
        free(t);
        return -rc;
    }
    *out = t;
    return 0;
}

void sys_thread_join(struct sys_thread *t)
{
    pthread_join(t->id, NULL);
    free(t);
}
