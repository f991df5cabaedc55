/*
 * tutorial.c - smmap's usage guide, step by step, in C.
 *
 * Walks through a manager, a cursor, a buffer, the limits, the statistics
 * and the errors on an 8 MiB file it writes to $TMPDIR (or /tmp; %TEMP% on
 * Windows), checking every claim as it goes. Exits 1 at the first broken
 * expectation, so the build runs it as a test. docs/using-smmap.md tells
 * the same story.
 */
#include "smmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* write, close, unlink: mingw-w64 has them too */
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

/* Not assert(): a release build (NDEBUG) must still check. */
#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "tutorial.c:%d: expected %s\n", __LINE__, #cond); \
            exit(1);                                                       \
        }                                                                  \
    } while (0)

#define FILE_SIZE (8u << 20)

/* The byte at offset i of the test file: varies with i, and a prime period
 * never lines up with pages, so a misplaced window shows. */
static unsigned char pattern(uint64_t i)
{
    return (unsigned char)(i % 251);
}

/* Windows sets no TMPDIR and has no /tmp. */
static const char *temp_dir(void)
{
    const char *dir = getenv("TMPDIR");
#ifdef _WIN32
    if (!dir || !*dir)
        dir = getenv("TEMP");
#endif
    return dir && *dir ? dir : "/tmp";
}

/* Write the 8 MiB test file (smmap's FileCreator) and return its path. */
static char *make_file(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/smmap-tutorial-XXXXXX", temp_dir());
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    static unsigned char block[64 * 1024];
    for (uint64_t off = 0; off < FILE_SIZE; off += sizeof block) {
        for (size_t i = 0; i < sizeof block; i++)
            block[i] = pattern(off + i);
        CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
    }
    CHECK(close(fd) == 0);
    return path;
}

int main(void)
{
#ifdef _WIN32
    /* Lines end in "\n" alone, as on POSIX systems. */
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    char *path = make_file();

    /* --- Managers. One per application; NULL options give a sliding
     * manager with the defaults for this pointer size. */
    smmap_manager *mman;
    CHECK(smmap_manager_new(&mman, NULL) == 0);
    smmap_options opt;
    smmap_manager_options(mman, &opt);
    CHECK(opt.kind == SMMAP_SLIDING);
    /* A default window leaves room for several under the memory cap. */
    CHECK(opt.window_size > 0 && opt.window_size <= opt.max_memory / 8);
    CHECK(opt.max_handles >= 16);
    printf("smmap %s: window %zu bytes, max memory %" PRIu64 " bytes, "
           "max handles %" PRIu32 "\n", smmap_version_string(),
           opt.window_size, opt.max_memory, opt.max_handles);

    /* --- Cursors. Associated with the file, but not yet usable. */
    smmap_cursor *c;
    CHECK(smmap_cursor_new(mman, path, &c) == 0);
    CHECK(!smmap_valid(c));
    CHECK(smmap_data(c) == NULL);
    CHECK(smmap_file_size(c) == FILE_SIZE);
    CHECK(strcmp(smmap_cursor_path(c), path) == 0);

    /* As much as possible from offset 0 (size 0 means "what the window
     * holds"); then always ask the cursor how much it has. */
    CHECK(smmap_use(c, 0, 0) == 0);
    CHECK(smmap_valid(c));
    CHECK(smmap_size(c) > 0);
    const unsigned char *d = smmap_data(c);
    CHECK(d[0] == pattern(0));                          /* first byte */
    for (int i = 1; i < 10; i++)                        /* the next 9 */
        CHECK(d[i] == pattern((uint64_t)i));
    CHECK(d[smmap_size(c) - 1] == pattern(smmap_size(c) - 1)); /* last */

    /* Absolute offsets of the span, and whether it holds an offset. */
    CHECK(smmap_begin(c) == 0);
    CHECK(smmap_begin(c) < smmap_end(c));
    CHECK(smmap_end(c) - smmap_begin(c) == smmap_size(c));
    CHECK(smmap_includes(c, 100));
    CHECK(!smmap_includes(c, smmap_end(c)));

    /* Out of bounds: the cursor becomes invalid and says why. */
    CHECK(smmap_use(c, FILE_SIZE, 100) == SMMAP_EOF);
    CHECK(!smmap_valid(c));
    /* Everything after the first 100 bytes. */
    CHECK(smmap_use(c, 100, 0) == 0);
    CHECK(smmap_begin(c) == 100 && smmap_data(c)[0] == pattern(100));
    /* A span is never longer than the file. */
    CHECK(smmap_use(c, FILE_SIZE - 10, 100) == 0);
    CHECK(smmap_size(c) == 10 && smmap_end(c) == FILE_SIZE);

    /* Release the window; it stays mapped as a cache. */
    smmap_unuse(c);
    CHECK(!smmap_valid(c));

    /* --- The copying read spans windows, like pread(2). */
    unsigned char tmp[16];
    CHECK(smmap_read(c, tmp, sizeof tmp, 4096) == (int64_t)sizeof tmp);
    CHECK(tmp[0] == pattern(4096) && tmp[15] == pattern(4111));
    CHECK(smmap_read(c, tmp, sizeof tmp, FILE_SIZE - 4) == 4); /* short */
    CHECK(smmap_read(c, tmp, sizeof tmp, FILE_SIZE) == 0);     /* at EOF */
    uint64_t our_window = smmap_window_begin(c); /* the last one read */

    /* --- Buffers: the whole file as one array; windows slide beneath. */
    smmap_buffer *buf;
    CHECK(smmap_buffer_new(c, 0, 0, &buf) == 0);
    CHECK(smmap_buffer_size(buf) == FILE_SIZE);
    CHECK(smmap_buffer_byte(buf, 0) == pattern(0));               /* first */
    CHECK(smmap_buffer_byte(buf, -1) == pattern(FILE_SIZE - 1));  /* last */
    CHECK(smmap_buffer_read(buf, -10, FILE_SIZE, tmp, sizeof tmp) == 10);
    for (int i = 0; i < 10; i++)                            /* last ten */
        CHECK(tmp[i] == pattern(FILE_SIZE - 10 + (uint64_t)i));
    CHECK(smmap_buffer_read(buf, 1, 10, tmp, sizeof tmp) == 9);
    CHECK(tmp[0] == pattern(1) && tmp[8] == pattern(9));
    /* Out of range is an error, not a crash; an empty or reversed range
     * is empty (smmap's buf[:0] and reversed slices are not). */
    CHECK(smmap_buffer_byte(buf, FILE_SIZE) == SMMAP_EINVAL);
    CHECK(smmap_buffer_byte(buf, -(int64_t)FILE_SIZE - 1) == SMMAP_EINVAL);
    CHECK(smmap_buffer_read(buf, 0, 0, tmp, sizeof tmp) == 0);
    CHECK(smmap_buffer_read(buf, 10, 5, tmp, sizeof tmp) == 0);
    /* The buffer uses its own cursor; ours is untouched. */
    CHECK(smmap_buffer_cursor(buf) != c);
    CHECK(smmap_valid(c) && smmap_window_begin(c) == our_window);
    smmap_buffer_free(buf);

    /* A buffer over a part of the file: indexes start at its offset. */
    CHECK(smmap_buffer_new(c, 10, 100, &buf) == 0);
    CHECK(smmap_buffer_size(buf) == 100);
    CHECK(smmap_buffer_byte(buf, 0) == pattern(10));
    CHECK(smmap_buffer_byte(buf, -1) == pattern(109));
    smmap_buffer_free(buf);

    /* --- Statistics: a snapshot of the manager's counters. */
    smmap_stats st;
    smmap_manager_stats(mman, &st);
    CHECK(st.windows >= 1 && st.mapped > 0);
    CHECK(st.mapped <= st.mapped_peak && st.mapped_peak <= opt.max_memory);
    CHECK(st.files == 1);
    CHECK(st.misses >= 1 && st.mmap_calls >= 1);
    printf("default manager: %" PRIu64 " windows, %" PRIu64 " bytes mapped, "
           "%" PRIu64 " hits, %" PRIu64 " misses\n",
           st.windows, st.mapped, st.hits, st.misses);

    /* --- collect(): unmap every idle window now (ours, once released). */
    smmap_unuse(c);
    CHECK(smmap_collect(mman) >= 1);
    smmap_manager_stats(mman, &st);
    CHECK(st.windows == 0 && st.mapped == 0);
    smmap_cursor_free(c);

    /* --- Limits: 1 MiB windows and at most 4 MiB mapped. Reading all
     * 8 MiB evicts the least recently used idle windows as it goes. */
    smmap_manager *small;
    smmap_options lim = { .window_size = 1 << 20, .max_memory = 4 << 20 };
    CHECK(smmap_manager_new(&small, &lim) == 0);
    CHECK(smmap_cursor_new(small, path, &c) == 0);
    uint64_t off = 0, sum = 0, want = 0;
    while (smmap_use(c, off, 0) == 0) {
        for (size_t i = 0; i < smmap_size(c); i++)
            sum += smmap_data(c)[i];
        off += smmap_size(c);
    }
    for (uint64_t i = 0; i < FILE_SIZE; i++)
        want += pattern(i);
    CHECK(off == FILE_SIZE && sum == want);
    smmap_manager_stats(small, &st);
    CHECK(st.mapped_peak <= lim.max_memory);
    CHECK(st.evictions > 0 && st.limit_exceeded == 0);
    printf("4 MiB cap: read %" PRIu64 " bytes, peak %" PRIu64 " mapped, "
           "%" PRIu64 " evictions\n", off, st.mapped_peak, st.evictions);
    smmap_cursor_free(c);
    smmap_manager_free(small);

    /* --- Errors: negative ints; smmap_strerror() names any of them. */
    int rc = smmap_cursor_new(mman, "/nonexistent/file", &c);
    CHECK(rc == -ENOENT);
    printf("error %d: %s\n", rc, smmap_strerror(rc));
    CHECK(strcmp(smmap_strerror(rc), strerror(ENOENT)) == 0);
    CHECK(smmap_cursor_new(mman, "", &c) == SMMAP_EINVAL);
    CHECK(smmap_cursor_new(mman, "/", &c) == -EISDIR);
    const int codes[] = { SMMAP_EOF, SMMAP_ELIMIT, SMMAP_ETRUNC,
                          SMMAP_EINVAL, SMMAP_ECURSOR, SMMAP_ENOTREG, 12345 };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        CHECK(smmap_strerror(codes[i]) && *smmap_strerror(codes[i]));
    smmap_options bad = { .window_size = 1 << 20, .max_memory = 1 << 19 };
    smmap_manager *none;
    CHECK(smmap_manager_new(&none, &bad) == SMMAP_EINVAL);

    smmap_manager_free(mman);
    CHECK(unlink(path) == 0);
    puts("tutorial: all expectations held");
    return 0;
}
