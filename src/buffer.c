/*
 * buffer.c - an array-like view of [offset, offset+size) of a file.
 *
 * A buffer owns a duplicate cursor and slides it as indexes move, so the
 * caller sees one array however many windows lie underneath. Indexes follow
 * Python: relative to the buffer's start, negative ones from its end.
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

int smmap_buffer_byte(smmap_buffer *b, int64_t index)
{
    if (!b)
        return SMMAP_EINVAL;
    uint64_t i = index < 0 ? b->size - (uint64_t)(-(index + 1)) - 1 : (uint64_t)index;
    if (i >= b->size)
        return SMMAP_EINVAL; /* also catches index < -size, which wrapped */
    unsigned char byte;
    int64_t n = smmap_read(b->c, &byte, 1, b->offset + i);
    if (n < 0)
        return (int)n;
    return n == 1 ? byte : SMMAP_ETRUNC;
}

/* Python's clipping of one slice bound to [0, size]. */
static uint64_t clip(int64_t v, uint64_t size)
{
    if (v < 0) {
        uint64_t back = (uint64_t)(-(v + 1)) + 1;
        return back >= size ? 0 : size - back;
    }
    return (uint64_t)v > size ? size : (uint64_t)v;
}

int64_t smmap_buffer_read(smmap_buffer *b, int64_t start, int64_t stop,
                          void *dst, size_t cap)
{
    if (!b || (!dst && cap))
        return SMMAP_EINVAL;
    uint64_t lo = clip(start, b->size), hi = clip(stop, b->size);
    if (hi <= lo)
        return 0;
    uint64_t n = hi - lo < cap ? hi - lo : cap;
    int64_t got = smmap_read(b->c, dst, (size_t)n, b->offset + lo);
    /* Fewer bytes than the buffer promised: the file shrank under it. */
    return got >= 0 && (uint64_t)got < n ? SMMAP_ETRUNC : got;
}
