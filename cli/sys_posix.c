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
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)offset);
    if (p == MAP_FAILED)
        return -errno;
    *out = p;
    return 0;
}

void sys_unmap(const void *p, size_t len)
{
    munmap((void *)p, len);
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
