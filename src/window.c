/*
 * window.c - where windows go and how they are found again.
 *
 * Sliding windows start on a grid of `half` bytes (<= window/2) and are
 * `window` bytes long, so the window of slot offset/half always holds at
 * least window/2 bytes from offset: a request that small is never cut at a
 * window edge. A static manager has one slot per file, the whole file.
 * Windows are found through a hash of (file, slot); idle windows sit on a
 * list in least-recently-used order. All of it runs under the manager lock.
 */
#include "internal.h"

#include <stdlib.h>

uint64_t smmap__win_slot(const smmap_manager *m, uint64_t offset)
{
    return m->half ? offset / m->half : 0;
}

/* The most bytes from offset that any window can hold: the window of
 * offset's own slot (any amount for a static manager). The geometry is
 * fixed when the manager is made, so no lock is needed. */
uint64_t smmap__win_reach(const smmap_manager *m, uint64_t offset)
{
    return m->half ? smmap__win_slot(m, offset) * m->half + m->window - offset
                   : UINT64_MAX;
}

/* Windows on even slots tile the file without overlapping, so a request
 * that fits one goes there: every page is then mapped once rather than
 * twice, which halves the page tables and TLB misses of random reads. A
 * request for as much as possible (need 0) takes the slot of its offset,
 * which holds the most after it. */
static uint64_t pick_slot(const smmap_manager *m, uint64_t offset, uint64_t need)
{
    uint64_t k = smmap__win_slot(m, offset);
    if ((k & 1) && need && offset - (k - 1) * m->half + need <= m->window)
        return k - 1;
    return k;
}

void smmap__win_place(const smmap_manager *m, uint64_t offset, uint64_t need,
                      uint64_t file_size, uint64_t *begin, uint64_t *end)
{
    uint64_t b = pick_slot(m, offset, need) * m->half;
    uint64_t e = m->half && file_size - b > m->window ? b + m->window : file_size;
    *begin = b;
    *end = e;
}

static bool win_covers(const struct window *w, uint64_t offset,
                       uint64_t need, uint64_t file_size)
{
    /* A window past the end the file has now was cut by a truncation: it
     * must not be handed out again (only its current users keep it). */
    if (offset < w->begin || offset >= w->end || w->end > file_size)
        return false;
    /* need is clipped at the end of the file, so a window ending there
     * covers any request that reaches it. */
    return need <= w->end - offset;
}

static size_t hash(const smmap_manager *m, const struct file *f, uint64_t slot)
{
    uint64_t h = ((uint64_t)(uintptr_t)f ^ (slot * 0x9E3779B97F4A7C15u));
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 32;
    return (size_t)h & (m->index_cap - 1);
}

struct window *smmap__win_at(const smmap_manager *m, const struct file *f,
                             uint64_t slot)
{
    if (!m->index_cap)
        return NULL;
    for (struct window *w = m->index[hash(m, f, slot)]; w; w = w->hnext)
        if (w->file == f && w->slot == slot)
            return w;
    return NULL;
}

struct window *smmap__win_find(smmap_manager *m, const struct file *f,
                               uint64_t offset, uint64_t need, uint64_t file_size)
{
    /* Two slots hold offset: its own and the one before. */
    uint64_t k = smmap__win_slot(m, offset), first = pick_slot(m, offset, need);
    struct window *w = smmap__win_at(m, f, first);
    if (w && win_covers(w, offset, need, file_size))
        return w;
    uint64_t other = first == k ? k - 1 : k;
    if (k > 0 && (w = smmap__win_at(m, f, other)) &&
        win_covers(w, offset, need, file_size))
        return w;
    return NULL;
}

/* Doubling keeps lookups O(1); if memory for a larger table is short the
 * chains just grow longer, which is slower but still correct. */
static void grow(smmap_manager *m)
{
    size_t cap = m->index_cap ? m->index_cap * 2 : 64;
    struct window **t = calloc(cap, sizeof *t);
    if (!t)
        return;
    size_t old_cap = m->index_cap;
    struct window **old = m->index;
    m->index = t;
    m->index_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        struct window *w = old[i], *next;
        for (; w; w = next) {
            next = w->hnext;
            size_t h = hash(m, w->file, w->slot);
            w->hnext = t[h];
            t[h] = w;
        }
    }
    free(old);
}

int smmap__win_index_add(smmap_manager *m, struct window *w)
{
    if (m->indexed >= m->index_cap)
        grow(m);
    if (!m->index_cap)
        return -1;
    size_t h = hash(m, w->file, w->slot);
    w->hnext = m->index[h];
    m->index[h] = w;
    w->indexed = true;
    m->indexed++;
    return 0;
}

void smmap__win_index_del(smmap_manager *m, struct window *w)
{
    if (!w->indexed)
        return;
    struct window **p = &m->index[hash(m, w->file, w->slot)];
    while (*p != w)
        p = &(*p)->hnext;
    *p = w->hnext;
    w->hnext = NULL;
    w->indexed = false;
    m->indexed--;
}

void smmap__lru_push(smmap_manager *m, struct window *w)
{
    w->lnext = NULL;
    w->lprev = m->lru_tail;
    if (m->lru_tail)
        m->lru_tail->lnext = w;
    else
        m->lru_head = w;
    m->lru_tail = w;
}

void smmap__lru_del(smmap_manager *m, struct window *w)
{
    if (w->lprev)
        w->lprev->lnext = w->lnext;
    else
        m->lru_head = w->lnext;
    if (w->lnext)
        w->lnext->lprev = w->lprev;
    else
        m->lru_tail = w->lprev;
    w->lprev = w->lnext = NULL;
}
