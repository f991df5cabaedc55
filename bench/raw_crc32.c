/*
 * raw_crc32.c - the baseline for `smmap sum`: map the whole file at once
 * with MAP_POPULATE and run zlib's crc32 over it, printing what sum prints.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: raw-crc32 FILE\n", stderr);
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    uLong crc = crc32(0, Z_NULL, 0);
    if (size > 0) {
        const unsigned char *p = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        /* crc32 takes 32-bit lengths */
        for (size_t off = 0; off < size; off += 1u << 30) {
            size_t n = size - off < (1u << 30) ? size - off : (1u << 30);
            crc = crc32(crc, p + off, (uInt)n);
        }
        munmap((void *)p, size);
    }
    printf("%08lx  %zu  %s\n", crc, size, argv[1]);
    close(fd);
    return 0;
}
