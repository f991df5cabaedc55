/*
 * sys.h - the operating system calls of the program and its bench, so that
 * smmap.c and bench.c stay plain C: sys_posix.c implements them for POSIX
 * systems, sys_win32.c for Windows.
 *
 * Descriptors are C runtime file descriptors (the library's
 * smmap_cursor_new_fd() takes one); paths are UTF-8, as the library's are.
 * Calls that can fail return 0 (or a count) or a negative errno, for
 * smmap_strerror().
 */
#ifndef SMMAP_CLI_SYS_H
#define SMMAP_CLI_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYS_STDOUT 1
#define SYS_STDERR 2

/* Call first: stdout and stderr then write bytes as they are (Windows'
 * text mode would put a CR before every LF), and the returned argv holds
 * the arguments in UTF-8 (Windows gives them in the ANSI code page). */
char **sys_init(int argc, char **argv);

/* A monotonic clock, in nanoseconds. */
int64_t sys_now_ns(void);

/* Whether fd is a terminal (a console on Windows). */
bool sys_isatty(int fd);

/* The size of the regular file at path, or -1 for anything else. */
int64_t sys_file_size(const char *path);

/* One write(2): the bytes written (fewer than len is no error), or -errno. */
int64_t sys_write(int fd, const void *buf, size_t len);

/* One pread(2): the bytes read (0 at the end of the file), or -errno. */
int64_t sys_pread(int fd, void *buf, size_t len, uint64_t offset);

int sys_close(int fd);

/* Write fd's data to the disk (fdatasync(2)), so that no write-back of it
 * runs later, beside what is being measured. */
int sys_sync(int fd);

/* The directory for temporary files: $TMPDIR, else the system's. */
const char *sys_temp_dir(void);

long sys_pid(void);

/* Create the file at path, which must not exist, for reading and writing,
 * to be deleted when closed (or when the process ends): an fd or -errno. */
int sys_create_temp(const char *path);

/* Map [offset, offset + len) of fd read-only with every page read in and
 * mapped, as MAP_POPULATE does, so that reading it takes no fault. offset
 * is a multiple of 64 KiB (Windows' allocation granularity). */
int sys_map(int fd, uint64_t offset, size_t len, const void **out);
void sys_unmap(const void *p, size_t len);

/* Map [offset, offset + len) of fd read-only without reading anything in:
 * pages come in as they are touched, advised for reading in order
 * (MADV_SEQUENTIAL). offset as for sys_map(). */
int sys_map_sequential(int fd, uint64_t offset, size_t len, const void **out);

/* Drop the file fd, size bytes long, from the page cache (its data written
 * to the disk first: dirty pages cannot be dropped), so that the next
 * reads of it go to the disk, into memory in the same state every time.
 * Returns how many of its bytes are still cached afterwards (0: all of it
 * is cold; all of it on a file system in memory), or -errno: -ENOSYS where
 * the system has no such call for a process without administrator rights
 * (Windows). */
int64_t sys_evict(int fd, uint64_t size);

struct sys_thread;

/* Run fn(arg) in a new thread; its result is ignored. */
int sys_thread_start(struct sys_thread **out, void *(*fn)(void *), void *arg);
/* Wait for the thread to end and release it. */
void sys_thread_join(struct sys_thread *t);

#endif
