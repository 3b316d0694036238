/*
 * stor_cache.c: decoded column blocks of chunk files, shared by all scans,
 * bounded in memory.
 *
 * A cached block is kept in the form a scan hands out (storage.h batches):
 * 8-byte values (time, integer, uinteger, float), one byte per boolean, or
 * int32 offsets plus bytes for strings, and an Arrow validity bitmap when
 * the block has NULLs. A scan that reads a row group whole (or a time slice
 * of it) points its batch straight into the cached arrays, so a warm scan
 * costs a hash lookup per block instead of a read, a checksum and a decode.
 *
 * Entries are refcounted: a scan holds the blocks of the group it is
 * emitting; eviction (least recently used first) only drops the cache's own
 * reference, so memory in use by a scan is freed when the scan lets go.
 * Keys are (chunk serial, block offset); chunk serials are never reused, so
 * a compacted-away chunk's entries can never be hit again and age out.
 * A cache of size 0 still works: every block is decoded for its reader and
 * freed after.
 */
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/hash.h"

struct stor_cache {
    pthread_mutex_t mu;
    size_t max, bytes;
    uint32_t n, used, slot_cap;
    struct cblock **slots; /* open addressing, NULL = empty, TOMB = removed */
    struct cblock lru;     /* sentinel: lru.next is the oldest */
    atomic_uint_fast64_t hits, misses;
};

static struct cblock tomb_marker;
#define TOMB (&tomb_marker)

struct stor_cache *
stor__cache_new(size_t max_bytes)
{
    struct stor_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max = max_bytes;
    c->lru.next = c->lru.prev = &c->lru;
    return c;
}

static void
cb_free(struct cblock *b)
{
    free(b->v);
    free(b->b);
    free(b->offsets);
    free(b->sdata);
    free(b->bitmap);
    free(b);
}

void
stor__cblock_put(struct cblock *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        cb_free(b);
}

void
stor__cache_free(struct stor_cache *c)
{
    if (!c)
        return;
    for (struct cblock *b = c->lru.next, *nx; b != &c->lru; b = nx) {
        nx = b->next;
        stor__cblock_put(b);
    }
    free(c->slots);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static uint64_t
key_hash(uint64_t serial, uint64_t off)
{
    return st_hash_u64(serial * 0x9E3779B97F4A7C15ull ^ off);
}

static void
lru_unlink(struct cblock *b)
{
    b->prev->next = b->next;
    b->next->prev = b->prev;
}

static void
lru_push(struct stor_cache *c, struct cblock *b)
{
    b->prev = c->lru.prev;
    b->next = &c->lru;
    c->lru.prev->next = b;
    c->lru.prev = b;
}

static struct cblock **
find_slot(struct stor_cache *c, uint64_t serial, uint64_t off)
{
    if (!c->slot_cap)
        return NULL;
    uint32_t j = (uint32_t)key_hash(serial, off) & (c->slot_cap - 1);
    for (uint32_t probes = 0; probes < c->slot_cap; probes++) {
        struct cblock *b = c->slots[j];
        if (!b)
            return NULL;
        if (b != TOMB && b->serial == serial && b->off == off)
            return &c->slots[j];
        j = (j + 1) & (c->slot_cap - 1);
    }
    return NULL;
}

static void
remove_entry(struct stor_cache *c, struct cblock *b)
{
    struct cblock **s = find_slot(c, b->serial, b->off);
    if (s)
        *s = TOMB;
    lru_unlink(b);
    c->bytes -= b->bytes;
    c->n--;
    stor__cblock_put(b);
}

static int
rehash(struct stor_cache *c, uint32_t cap)
{
    struct cblock **sl = calloc(cap, sizeof *sl);
    if (!sl)
        return -1;
    for (struct cblock *b = c->lru.next; b != &c->lru; b = b->next) {
        uint32_t j = (uint32_t)key_hash(b->serial, b->off) & (cap - 1);
        while (sl[j])
            j = (j + 1) & (cap - 1);
        sl[j] = b;
    }
    free(c->slots);
    c->slots = sl;
    c->slot_cap = cap;
    c->used = c->n;
    return 0;
}

/* Keep a new entry (takes one reference for the cache). */
static void
insert(struct stor_cache *c, struct cblock *b)
{
    if (b->bytes > c->max)
        return;
    while (c->bytes + b->bytes > c->max && c->lru.next != &c->lru)
        remove_entry(c, c->lru.next);
    if ((c->used + 1) * 2 > c->slot_cap) {
        /* rebuilding also clears the removed-entry markers */
        uint32_t cap = 1024;
        while (cap < (c->n + 1) * 4)
            cap *= 2;
        if (rehash(c, cap) != 0)
            return;
    }
    uint32_t j = (uint32_t)key_hash(b->serial, b->off) & (c->slot_cap - 1);
    while (c->slots[j] && c->slots[j] != TOMB)
        j = (j + 1) & (c->slot_cap - 1);
    if (!c->slots[j])
        c->used++;
    c->slots[j] = b;
    atomic_fetch_add(&b->refs, 1);
    lru_push(c, b);
    c->bytes += b->bytes;
    c->n++;
}

/* Decode a block into a new entry (one reference, the caller's). */
static enum st_code
decode(const struct stor_chunk *ch, uint64_t off, uint32_t len, uint32_t crc, uint8_t type,
       uint32_t n, struct cblock **out, struct st_error *err)
{
    struct cblock *b = calloc(1, sizeof *b);
    uint8_t *raw = malloc((size_t)len + 16);
    uint8_t *valid = malloc((size_t)n + 1);
    uint32_t *slen = type == ST_TYPE_STRING ? malloc(((size_t)n + 1) * 4) : NULL;
    struct st_buf sd;
    st_buf_init(&sd, (size_t)1 << 31);
    enum st_code rc = ST_OK;
    if (b)
        b->v = malloc(((size_t)n + 1) * 8);
    if (!b || !raw || !valid || !b->v || (type == ST_TYPE_STRING && !slen)) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory reading a chunk");
        goto fail;
    }
    atomic_init(&b->refs, 1);
    b->serial = ch->serial;
    b->off = off;
    b->n = n;
    b->type = type;
    uint32_t plain = 0;
    /* the checksum or GCM tag is verified before a byte is decoded */
    rc = stor__chunk_read_raw(ch, off, len, crc, raw, &plain, err);
    if (rc == ST_OK)
        rc = stor__dec_block(raw, plain, type, n, b->v, valid, slen, &sd, err);
    if (rc != ST_OK)
        goto fail;
    b->bytes = sizeof *b + (size_t)n * 8 + 64;
    uint64_t nulls = 0;
    for (uint32_t i = 0; i < n; i++)
        nulls += !valid[i];
    if (nulls) {
        b->bitmap = calloc((n + 7) / 8 + 8, 1);
        if (!b->bitmap) {
            rc = st_error_set(err, ST_ENOMEM, "out of memory reading a chunk");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (valid[i])
                b->bitmap[i >> 3] |= (uint8_t)(1u << (i & 7));
            else if (type != ST_TYPE_STRING)
                b->v[i] = 0;
        }
        b->null_count = (int64_t)nulls;
        b->bytes += (n + 7) / 8;
    }
    if (type == ST_TYPE_BOOL) {
        b->b = malloc((size_t)n + 1);
        if (!b->b) {
            rc = st_error_set(err, ST_ENOMEM, "out of memory reading a chunk");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++)
            b->b[i] = valid[i] ? (uint8_t)b->v[i] : 0;
    } else if (type == ST_TYPE_STRING) {
        if (sd.len > INT32_MAX) {
            rc = st_error_set(err, ST_ELIMIT, "string block over 2 GiB");
            goto fail;
        }
        b->offsets = malloc(((size_t)n + 1) * sizeof *b->offsets);
        if (!b->offsets) {
            rc = st_error_set(err, ST_ENOMEM, "out of memory reading a chunk");
            goto fail;
        }
        /* decoded strings are contiguous in row order, NULL rows empty */
        int32_t o = 0;
        b->offsets[0] = 0;
        for (uint32_t i = 0; i < n; i++) {
            o += valid[i] ? (int32_t)slen[i] : 0;
            b->offsets[i + 1] = o;
        }
        b->sdata = st_buf_take(&sd, &b->sdata_len);
        if (!b->sdata) {
            b->sdata = malloc(1);
            b->sdata_len = 0;
        }
        b->bytes += (size_t)n * 4 + b->sdata_len;
    }
    free(raw);
    free(valid);
    free(slen);
    st_buf_cleanup(&sd);
    *out = b;
    return ST_OK;
fail:
    if (b)
        cb_free(b);
    free(raw);
    free(valid);
    free(slen);
    st_buf_cleanup(&sd);
    return rc;
}

enum st_code
stor__cache_get(struct stor_cache *c, const struct stor_chunk *ch, uint64_t off, uint32_t len,
                uint32_t crc, uint8_t type, uint32_t n, struct cblock **out, struct st_error *err)
{
    if (c) {
        pthread_mutex_lock(&c->mu);
        struct cblock **s = find_slot(c, ch->serial, off);
        if (s) {
            struct cblock *b = *s;
            atomic_fetch_add(&b->refs, 1);
            lru_unlink(b);
            lru_push(c, b);
            pthread_mutex_unlock(&c->mu);
            atomic_fetch_add(&c->hits, 1);
            if (b->n != n || b->type != type) {
                stor__cblock_put(b);
                return st_error_set(err, ST_ECORRUPT,
                                    "chunk \"%s\": block at offset %llu read with two shapes",
                                    ch->path, (unsigned long long)off);
            }
            *out = b;
            return ST_OK;
        }
        pthread_mutex_unlock(&c->mu);
        atomic_fetch_add(&c->misses, 1);
    }
    struct cblock *b = NULL;
    ST_TRY(decode(ch, off, len, crc, type, n, &b, err));
    if (c) {
        pthread_mutex_lock(&c->mu);
        if (!find_slot(c, ch->serial, off))
            insert(c, b);
        pthread_mutex_unlock(&c->mu);
    }
    *out = b;
    return ST_OK;
}

void
stor__cache_stats(struct stor_cache *c, uint64_t *bytes, uint64_t *hits, uint64_t *misses)
{
    *bytes = *hits = *misses = 0;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    *bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
    *hits = atomic_load(&c->hits);
    *misses = atomic_load(&c->misses);
}
