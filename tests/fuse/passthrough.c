/*
 * passthrough.c - a read-only FUSE filesystem (libfuse3) that shows a
 * source directory and opens every file with direct_io. The kernel refuses
 * a shared mapping of a direct_io file (mmap fails with ENODEV), which is
 * what tests/fuse needs: a real filesystem on which smmap must serve
 * windows by reading instead of mapping.
 *
 * usage: passthrough SOURCE MOUNTPOINT [FUSE OPTIONS, e.g. -f -o ro]
 *
 * Every operation works on descriptors relative to SOURCE (no shared
 * state), so libfuse's worker threads need no locking.
 */
#define _POSIX_C_SOURCE 200809L /* openat, fdopendir, pread */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int src_fd = -1;

/* FUSE paths start with '/'; openat() wants them relative to SOURCE. */
static const char *rel(const char *path)
{
    return path[1] ? path + 1 : ".";
}

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    /* No caching of names or attributes: the tests create and grow files
     * in SOURCE after mounting, and a lookup must see them at once. */
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->attr_timeout = 0;
    return NULL;
}

static int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    int rc = fi ? fstat((int)fi->fh, st) : fstatat(src_fd, rel(path), st, 0);
    return rc < 0 ? -errno : 0;
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off;
    (void)fi;
    (void)flags;
    int fd = openat(src_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = errno;
        close(fd);
        return -err;
    }
    /* Offset 0 to the filler: libfuse takes the whole listing at once. */
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (fill(buf, e->d_name, NULL, 0, 0) != 0)
            break;
    closedir(d);
    return 0;
}

static int pt_open(const char *path, struct fuse_file_info *fi)
{
    if ((fi->flags & O_ACCMODE) != O_RDONLY)
        return -EROFS;
    int fd = openat(src_fd, rel(path), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    /* The point of this filesystem: no page cache, hence no mmap. */
    fi->direct_io = 1;
    return 0;
}

static int pt_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    (void)path;
    /* With direct_io a short count goes to the reader as it is, like a
     * short read(2), so one pread() is enough. */
    ssize_t n = pread((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int pt_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    close((int)fi->fh);
    return 0;
}

static const struct fuse_operations ops = {
    .init = pt_init,
    .getattr = pt_getattr,
    .readdir = pt_readdir,
    .open = pt_open,
    .read = pt_read,
    .release = pt_release,
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE MOUNTPOINT [FUSE OPTIONS]\n", argv[0]);
        return 2;
    }
    src_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src_fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
        return 1;
    }
    /* A test that mounts this and is killed outright must not leave the
     * mount behind: SIGTERM when the parent dies makes libfuse unmount and
     * return. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* libfuse parses the rest: the program name, then MOUNTPOINT and the
     * options. */
    argv[1] = argv[0];
    return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
