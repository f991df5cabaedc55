/*
 * packls.c - list the objects of a git pack, as `git verify-pack -v` does.
 *
 *     packls PACKFILE
 *
 * Reads PACKFILE and the .idx beside it through one sliding smmap manager
 * with small windows (64 KiB windows, 1 MiB cap), so most zlib streams cross
 * window edges: each stream is inflated by feeding zlib the successive spans
 * of a cursor, never by copying the pack. Prints one line per object in
 * offset order:
 *
 *     OFFSET TYPE SIZE PACKED_SIZE
 *
 * TYPE is the object's real type, followed through delta chains; SIZE is the
 * size in the entry's header (for a delta, the size of the delta data, as
 * git prints it); PACKED_SIZE is the entry's bytes in the pack. A damaged
 * pack or idx gives one line "packls: PACK: offset N: reason" and exit 1.
 */
#define ZLIB_CONST /* next_in points into read-only mappings */
#include "smmap.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

enum { OBJ_COMMIT = 1, OBJ_TREE, OBJ_BLOB, OBJ_TAG, OBJ_OFS_DELTA = 6,
       OBJ_REF_DELTA };

static const char *const type_names[] = {
    [OBJ_COMMIT] = "commit", [OBJ_TREE] = "tree", [OBJ_BLOB] = "blob",
    [OBJ_TAG] = "tag",
};

/* One pack entry. Filled lazily by parse_entry(): a ref-delta's base can
 * lie anywhere in the pack, so headers are parsed when first needed. */
struct entry {
    uint64_t offset;    /* start of the entry in the pack */
    uint64_t end;       /* start of the next entry, or of the trailer */
    uint64_t data;      /* start of the zlib stream */
    uint64_t size;      /* inflated size from the header */
    size_t base;        /* index of the delta base in pack.entries */
    int type;           /* type in the header; 0 until parsed */
    int real;           /* resolved type; 0 until resolved */
};

/* Everything packls knows; global so that fail() can exit from anywhere
 * without a trail of error returns through a short program. */
static struct {
    const char *path;
    smmap_cursor *pack, *idx;
    uint64_t pack_end;     /* offset of the 20-byte trailer */
    uint32_t nr;           /* objects, per the idx */
    uint32_t fanout[256];
    uint64_t large_nr;     /* entries in the idx's large offsets table */
    struct entry *entries; /* sorted by offset */
} pack;

/* idx v2 layout: magic, version, fanout, then nr SHA-1s, CRCs, offsets. */
#define IDX_SHA1S 1032u
#define IDX_CRCS(nr) (IDX_SHA1S + 20u * (uint64_t)(nr))
#define IDX_OFFSETS(nr) (IDX_CRCS(nr) + 4u * (uint64_t)(nr))
#define IDX_LARGE(nr) (IDX_OFFSETS(nr) + 4u * (uint64_t)(nr))

/* Print "packls: PACK: [offset N: ]reason" and exit 1. Exiting is this
 * program's whole error handling: the OS takes back memory and mappings. */
static _Noreturn void vfail(int64_t off, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "packls: %s: ", pack.path);
    if (off >= 0)
        fprintf(stderr, "offset %" PRId64 ": ", off);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    exit(1);
}

static _Noreturn void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(-1, fmt, ap);
}

static _Noreturn void fail_at(uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail((int64_t)off, fmt, ap);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* Copy exactly len bytes at off of the idx; any short read means the idx
 * is damaged, since its size was checked against its object count. */
static void idx_read(uint64_t off, void *dst, size_t len)
{
    int64_t n = smmap_read(pack.idx, dst, len, off);
    if (n < 0)
        fail("idx: %s", smmap_strerror((int)n));
    if ((size_t)n != len)
        fail("idx: truncated at %" PRIu64, off);
}

/* The pack offset of the object at position i of the idx. */
static uint64_t idx_offset(uint32_t i)
{
    unsigned char b[8];
    idx_read(IDX_OFFSETS(pack.nr) + 4u * (uint64_t)i, b, 4);
    uint32_t v = be32(b);
    if (!(v & 0x80000000u))
        return v;
    /* The top bit makes the rest an index into the 64-bit offsets table,
     * used for objects past 2 GiB. */
    v &= 0x7fffffffu;
    if (v >= pack.large_nr)
        fail("idx: large offset %" PRIu32 " out of range", v);
    idx_read(IDX_LARGE(pack.nr) + 8u * (uint64_t)v, b, 8);
    return (uint64_t)be32(b) << 32 | be32(b + 4);
}

/* Position of sha1 in the idx's sorted SHA-1 table, or -1. */
static int64_t idx_find(const unsigned char *sha1)
{
    uint32_t lo = sha1[0] ? pack.fanout[sha1[0] - 1] : 0;
    uint32_t hi = pack.fanout[sha1[0]];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        unsigned char s[20];
        idx_read(IDX_SHA1S + 20u * (uint64_t)mid, s, 20);
        int cmp = memcmp(sha1, s, 20);
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Index in pack.entries of the entry starting at off, or -1. */
static int64_t entry_at(uint64_t off)
{
    size_t lo = 0, hi = pack.nr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pack.entries[mid].offset == off)
            return (int64_t)mid;
        if (pack.entries[mid].offset < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int by_offset(const void *a, const void *b)
{
    uint64_t x = ((const struct entry *)a)->offset;
    uint64_t y = ((const struct entry *)b)->offset;
    return (x > y) - (x < y);
}

/* Check both headers, read the idx's fanout and offsets, and sort the
 * entries by offset to find where each one ends. */
static void load(void)
{
    unsigned char b[12];
    int64_t pack_size = smmap_file_size(pack.pack);
    int64_t idx_size = smmap_file_size(pack.idx);

    if (pack_size < 32 || smmap_read(pack.pack, b, 12, 0) != 12 ||
        memcmp(b, "PACK", 4) != 0)
        fail_at(0, "not a git pack");
    if (be32(b + 4) != 2 && be32(b + 4) != 3)
        fail_at(4, "unsupported pack version %" PRIu32, be32(b + 4));
    pack.pack_end = (uint64_t)pack_size - 20;
    uint32_t pack_nr = be32(b + 8);

    if (idx_size < (int64_t)IDX_SHA1S + 40)
        fail("idx: too short");
    idx_read(0, b, 8);
    if (memcmp(b, "\377tOc", 4) != 0 || be32(b + 4) != 2)
        fail("idx: not a version 2 pack index");
    for (int i = 0; i < 256; i++) {
        idx_read(8 + 4u * (uint64_t)i, b, 4);
        pack.fanout[i] = be32(b);
        if (i > 0 && pack.fanout[i] < pack.fanout[i - 1])
            fail("idx: fanout table not sorted");
    }
    pack.nr = pack.fanout[255];
    if (pack.nr != pack_nr)
        fail_at(8, "pack has %" PRIu32 " objects, its idx %" PRIu32,
                pack_nr, pack.nr);
    /* What follows the 32-bit offsets is the large offsets table and two
     * SHA-1s (the pack's and the idx's own checksums). */
    uint64_t rest = (uint64_t)idx_size - 40;
    if (rest < IDX_LARGE(pack.nr) || (rest - IDX_LARGE(pack.nr)) % 8)
        fail("idx: size does not match %" PRIu32 " objects", pack.nr);
    pack.large_nr = (rest - IDX_LARGE(pack.nr)) / 8;

    pack.entries = calloc(pack.nr ? pack.nr : 1, sizeof *pack.entries);
    if (!pack.entries)
        fail("out of memory");
    for (uint32_t i = 0; i < pack.nr; i++)
        pack.entries[i].offset = idx_offset(i);
    qsort(pack.entries, pack.nr, sizeof *pack.entries, by_offset);
    for (uint32_t i = 0; i < pack.nr; i++) {
        struct entry *e = &pack.entries[i];
        e->end = i + 1 < pack.nr ? e[1].offset : pack.pack_end;
        if (e->offset < 12 || e->end <= e->offset)
            fail_at(e->offset, "bad offset in idx");
        if (e->end > pack.pack_end)
            fail_at(e->offset, "entry runs past the end of the pack");
    }
}

/* Parse the entry's header: type and size, then for a delta where its
 * base is. Headers are small, so a copying read is simplest. */
static void parse_entry(struct entry *e)
{
    unsigned char h[32];
    size_t len = e->end - e->offset < sizeof h ? e->end - e->offset : sizeof h;
    int64_t n = smmap_read(pack.pack, h, len, e->offset);
    if (n < 0)
        fail_at(e->offset, "%s", smmap_strerror((int)n));
    if ((size_t)n != len)
        fail_at(e->offset, "truncated entry");

    size_t i = 0;
    unsigned c = h[i++];
    unsigned shift = 4;
    e->type = (c >> 4) & 7;
    e->size = c & 15;
    while (c & 0x80) {
        if (i >= len || shift > 57)
            fail_at(e->offset, "bad entry header");
        c = h[i++];
        e->size |= (uint64_t)(c & 0x7f) << shift;
        shift += 7;
    }

    uint64_t base_off;
    if (e->type == OBJ_OFS_DELTA) {
        /* The distance back to the base, big-endian base-128 with an
         * implicit +1 per continuation byte (git's encoding). */
        uint64_t dist = 0;
        do {
            if (i >= len || dist >> 56)
                fail_at(e->offset, "bad ofs-delta header");
            c = h[i++];
            dist = (dist << 7) | (c & 0x7f);
            if (c & 0x80)
                dist++;
        } while (c & 0x80);
        if (dist == 0 || dist > e->offset)
            fail_at(e->offset, "ofs-delta base %" PRIu64 " bytes back", dist);
        base_off = e->offset - dist;
    } else if (e->type == OBJ_REF_DELTA) {
        if (len - i < 20)
            fail_at(e->offset, "truncated ref-delta header");
        int64_t pos = idx_find(h + i);
        if (pos < 0)
            fail_at(e->offset, "ref-delta base not in this pack");
        base_off = idx_offset((uint32_t)pos);
        i += 20;
    } else if (e->type >= OBJ_COMMIT && e->type <= OBJ_TAG) {
        e->real = e->type;
        e->data = e->offset + i;
        return;
    } else {
        fail_at(e->offset, "bad object type %d", e->type);
    }
    int64_t base = entry_at(base_off);
    if (base < 0)
        fail_at(e->offset, "delta base %" PRIu64 " is not an object", base_off);
    e->base = (size_t)base;
    e->data = e->offset + i;
}

/* The real type of entry e: walk the delta chain down to a whole object,
 * then record its type on every delta on the way. A chain longer than the
 * pack has objects is a loop. */
static int real_type(struct entry *e)
{
    struct entry *p = e;
    for (uint32_t depth = 0; !p->real; depth++) {
        if (depth > pack.nr)
            fail_at(e->offset, "delta chain loops");
        if (!p->type)
            parse_entry(p);
        if (!p->real)
            p = &pack.entries[p->base];
    }
    for (int t = p->real; e != p && !e->real; e = &pack.entries[e->base])
        e->real = t;
    return p->real;
}

/* Inflate the entry's zlib stream straight from the mapped windows: make
 * each next span of the pack current and hand it to zlib as it is. The
 * stream must end exactly where the entry ends and give e->size bytes. */
static void inflate_entry(const struct entry *e)
{
    static unsigned char out[64 * 1024]; /* inflated bytes are only counted */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        fail_at(e->offset, "zlib: out of memory");

    uint64_t pos = e->data, total = 0;
    int zr = Z_OK;
    /* Z_BUF_ERROR: no progress, so the entry's bytes ran out mid-stream.
     * Stop early on too much output, so a bad stream cannot run long. */
    while (zr == Z_OK && total <= e->size) {
        if (zs.avail_in == 0 && pos < e->end) {
            int rc = smmap_use(pack.pack, pos, 0); /* all the window holds */
            if (rc < 0)
                fail_at(e->offset, "%s", smmap_strerror(rc));
            size_t n = smmap_size(pack.pack);
            if (n > e->end - pos)
                n = (size_t)(e->end - pos);
            zs.next_in = smmap_data(pack.pack);
            zs.avail_in = (uInt)n; /* a span is at most one 64 KiB window */
            pos += n;
        }
        zs.next_out = out;
        zs.avail_out = sizeof out;
        zr = inflate(&zs, Z_NO_FLUSH);
        total += sizeof out - zs.avail_out;
    }
    if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
        fail_at(e->offset, "corrupt zlib stream (%s)",
                zs.msg ? zs.msg : zError(zr));
    uint64_t stream_end = pos - zs.avail_in;
    inflateEnd(&zs);
    if (total > e->size)
        fail_at(e->offset, "inflates to more than %" PRIu64 " bytes", e->size);
    if (zr != Z_STREAM_END)
        fail_at(e->offset, "truncated zlib stream");
    if (total != e->size)
        fail_at(e->offset, "inflates to %" PRIu64 " bytes, header says %"
                PRIu64, total, e->size);
    if (stream_end != e->end)
        fail_at(e->offset, "%" PRIu64 " stray bytes after the zlib stream",
                e->end - stream_end);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: packls PACKFILE\n", stderr);
        return 2;
    }
#ifdef _WIN32
    /* Lines end in "\n" alone, as git's do. */
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    pack.path = argv[1];
    size_t len = strlen(pack.path);
    if (len < 5 || strcmp(pack.path + len - 5, ".pack") != 0)
        fail("not a .pack file name");
    char *idx_path = malloc(len);
    if (!idx_path)
        fail("out of memory");
    memcpy(idx_path, pack.path, len - 5);
    strcpy(idx_path + len - 5, ".idx");

    /* One manager for both files. Windows this small make most streams
     * cross window edges; the cap bounds what is mapped at any time. */
    smmap_options opt = { .window_size = 64 * 1024, .max_memory = 1 << 20 };
    smmap_manager *m;
    int rc = smmap_manager_new(&m, &opt);
    if (rc < 0)
        fail("%s", smmap_strerror(rc));
    if ((rc = smmap_cursor_new(m, pack.path, &pack.pack)) < 0)
        fail("%s", smmap_strerror(rc));
    if ((rc = smmap_cursor_new(m, idx_path, &pack.idx)) < 0)
        fail("%s: %s", idx_path, smmap_strerror(rc));

    load();
    for (uint32_t i = 0; i < pack.nr; i++) {
        struct entry *e = &pack.entries[i];
        int type = real_type(e);
        inflate_entry(e);
        printf("%" PRIu64 " %s %" PRIu64 " %" PRIu64 "\n", e->offset,
               type_names[type], e->size, e->end - e->offset);
    }

    /* The idx records the pack's checksum: a damaged trailer, or an idx
     * made for another pack, shows here. */
    unsigned char want[20], have[20];
    idx_read((uint64_t)smmap_file_size(pack.idx) - 40, want, 20);
    if (smmap_read(pack.pack, have, 20, pack.pack_end) != 20 ||
        memcmp(want, have, 20) != 0)
        fail_at(pack.pack_end, "pack checksum differs from the idx's");

    free(pack.entries);
    free(idx_path);
    smmap_cursor_free(pack.idx);
    smmap_cursor_free(pack.pack);
    smmap_manager_free(m);
    return 0;
}
