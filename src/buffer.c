/*
 * buffer.c - an array-like view of [offset, offset+size) of a file.
 *
 * A buffer owns a duplicate cursor and slides it as indexes move, so the
 * caller sees one array however many windows lie underneath. Indexes follow
 * Python: relative to the buffer's start, negative ones from its end; the
 * rules are smmap_index() and smmap_slice(), which the Python module's
 * buffers and maps apply too.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

struct smmap_buffer {
    smmap_cursor *c;
    uint64_t offset, size;
};

int smmap_buffer_new(const smmap_cursor *c, uint64_t offset, uint64_t size,
                     smmap_buffer **out)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return SMMAP_EINVAL;
    smmap_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    int rc = smmap_cursor_dup(c, &b->c);
    int64_t fsize = rc == 0 ? smmap_file_stat(b->c) : rc;
    if (fsize >= 0 && offset > (uint64_t)fsize)
        fsize = SMMAP_EOF;
    if (fsize < 0) {
        smmap_cursor_free(b->c);
        free(b);
        return (int)fsize;
    }
    uint64_t avail = (uint64_t)fsize - offset;
    b->offset = offset;
    b->size = size == 0 || size > avail ? avail : size;
    *out = b;
    return 0;
}

void smmap_buffer_free(smmap_buffer *b)
{
    if (!b)
        return;
    smmap_cursor_free(b->c);
    free(b);
}

uint64_t smmap_buffer_size(const smmap_buffer *b)
{
    return b ? b->size : 0;
}

smmap_cursor *smmap_buffer_cursor(smmap_buffer *b)
{
    return b ? b->c : NULL;
}

int smmap_index(uint64_t size, int64_t index, uint64_t *pos)
{
    if (!pos)
        return SMMAP_EINVAL;
    /* -(index + 1) cannot overflow, even for INT64_MIN */
    uint64_t i = index < 0 ? size - (uint64_t)(-(index + 1)) - 1 : (uint64_t)index;
    if (i >= size)
        return SMMAP_EINVAL; /* also catches index < -size, which wrapped */
    *pos = i;
    return 0;
}

/* One bound of a slice, clipped as Python clips it: into [0, size] for a
 * forward slice, into [-1, size - 1] for a backward one. */
static int64_t clip(int64_t v, int64_t size, int64_t step)
{
    if (v < 0) {
        v += size;
        if (v < 0)
            v = step < 0 ? -1 : 0;
    } else if (v >= size) {
        v = step < 0 ? size - 1 : size;
    }
    return v;
}

int64_t smmap_slice(uint64_t size, int64_t start, int64_t stop, int64_t step, uint64_t *first)
{
    if (!first || step == 0 || step == INT64_MIN || size > INT64_MAX)
        return SMMAP_EINVAL;
    int64_t n = (int64_t)size, lo = clip(start, n, step), hi = clip(stop, n, step);
    int64_t count = step > 0 ? (lo < hi ? (hi - lo - 1) / step + 1 : 0)
                             : (hi < lo ? (lo - hi - 1) / -step + 1 : 0);
    *first = count ? (uint64_t)lo : 0;
    return count;
}

int smmap_buffer_byte(smmap_buffer *b, int64_t index)
{
    if (!b)
        return SMMAP_EINVAL;
    uint64_t i;
    if (smmap_index(b->size, index, &i) != 0)
        return SMMAP_EINVAL;
    unsigned char byte;
    int64_t n = smmap_read(b->c, &byte, 1, b->offset + i);
    if (n < 0)
        return (int)n;
    return n == 1 ? byte : SMMAP_ETRUNC;
}

int64_t smmap_buffer_read(smmap_buffer *b, int64_t start, int64_t stop,
                          void *dst, size_t cap)
{
    if (!b || (!dst && cap))
        return SMMAP_EINVAL;
    uint64_t lo;
    int64_t count = smmap_slice(b->size, start, stop, 1, &lo);
    if (count <= 0)
        return count;
    uint64_t n = (uint64_t)count < cap ? (uint64_t)count : cap;
    int64_t got = smmap_read(b->c, dst, (size_t)n, b->offset + lo);
    /* Fewer bytes than the buffer promised: the file shrank under it. */
    return got >= 0 && (uint64_t)got < n ? SMMAP_ETRUNC : got;
}
