/*
 * stor_mem.c: memtables, the in-memory buffer of one table partition.
 *
 * A memtable holds, per series, rows in arrival order, row-major (see
 * struct mem_series): time, the sequence number of the batch that wrote
 * the row, validity bits and one value word per field ever written to that
 * series here (strings as offsets into the series' byte buffer). Rows are
 * appended in sequence order (the commit protocol guarantees it), so the
 * rows a reader at visible sequence V may see are a prefix. Sorting by time
 * and merging duplicates happen on read and on persist, not on write.
 *
 * The writer holds the write lock while appending; readers copy what they
 * need under the read lock (stor__mem_copy).
 */
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/hash.h"

struct stor_mem *
stor__mem_new(uint32_t table_id, int64_t part_start)
{
    struct stor_mem *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    static atomic_uint_fast64_t serials;
    atomic_init(&m->refs, 1);
    m->serial = atomic_fetch_add(&serials, 1) + 1;
    m->table_id = table_id;
    m->part_start = part_start;
    m->t_min = INT64_MAX;
    m->t_max = INT64_MIN;
    pthread_rwlock_init(&m->lock, NULL);
    return m;
}

static void
ms_free(struct mem_series *ms)
{
    free(ms->col_ids);
    free(ms->types);
    free(ms->rows);
    st_buf_cleanup(&ms->sdata);
    free(ms);
}

void
stor__mem_unref(struct stor_mem *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < m->n_ser; i++)
        ms_free(m->ser[i]);
    free(m->ser);
    free(m->slots);
    pthread_rwlock_destroy(&m->lock);
    free(m);
}

struct mem_series *
stor__mem_find(struct stor_mem *m, uint32_t series_id)
{
    if (!m->slot_cap)
        return NULL;
    uint32_t j = (uint32_t)st_hash_u64(series_id) & (m->slot_cap - 1);
    for (;;) {
        uint32_t v = m->slots[j];
        if (!v)
            return NULL;
        if (m->ser[v - 1]->series_id == series_id)
            return m->ser[v - 1];
        j = (j + 1) & (m->slot_cap - 1);
    }
}

static struct mem_series *
ms_get(struct stor_mem *m, uint32_t series_id)
{
    struct mem_series *ms = stor__mem_find(m, series_id);
    if (ms)
        return ms;
    if ((m->n_ser + 1) * 2 > m->slot_cap) {
        uint32_t cap = m->slot_cap ? m->slot_cap * 2 : 64;
        uint32_t *sl = calloc(cap, sizeof *sl);
        if (!sl)
            return NULL;
        for (uint32_t i = 0; i < m->n_ser; i++) {
            uint32_t j = (uint32_t)st_hash_u64(m->ser[i]->series_id) & (cap - 1);
            while (sl[j])
                j = (j + 1) & (cap - 1);
            sl[j] = i + 1;
        }
        free(m->slots);
        m->slots = sl;
        m->slot_cap = cap;
    }
    if (m->n_ser == m->cap_ser) {
        uint32_t cap = m->cap_ser ? m->cap_ser * 2 : 16;
        struct mem_series **a = realloc(m->ser, cap * sizeof *a);
        if (!a)
            return NULL;
        m->ser = a;
        m->cap_ser = cap;
    }
    ms = calloc(1, sizeof *ms);
    if (!ms)
        return NULL;
    ms->series_id = series_id;
    ms->stride = 2; /* time, seq: no columns yet */
    st_buf_init(&ms->sdata, SIZE_MAX);
    ms->t_min = INT64_MAX;
    ms->t_max = INT64_MIN;
    ms->sorted = true;
    m->ser[m->n_ser] = ms;
    uint32_t j = (uint32_t)st_hash_u64(series_id) & (m->slot_cap - 1);
    while (m->slots[j])
        j = (j + 1) & (m->slot_cap - 1);
    m->slots[j] = ++m->n_ser;
    m->bytes += sizeof *ms + 64;
    return ms;
}

/* Room for `extra` more rows. */
static int
ms_reserve(struct stor_mem *m, struct mem_series *ms, uint32_t extra)
{
    if (ms->n + extra <= ms->cap)
        return 0;
    uint32_t cap = ms->cap ? ms->cap * 2 : 8;
    while (cap < ms->n + extra)
        cap *= 2;
    uint64_t *r = realloc(ms->rows, (size_t)cap * ms->stride * 8);
    if (!r)
        return -1;
    ms->rows = r;
    m->bytes += (size_t)(cap - ms->cap) * ms->stride * 8;
    ms->cap = cap;
    return 0;
}

/* Add a column to the series: its rows are laid out again with the wider
 * stride (rare: a field the series never had before). */
static int
col_add(struct stor_mem *m, struct mem_series *ms, uint32_t col_id, uint8_t type)
{
    if (ms->n_cols == ms->cap_cols) {
        uint32_t cap = ms->cap_cols ? ms->cap_cols * 2 : 16;
        uint32_t *ids = realloc(ms->col_ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        ms->col_ids = ids;
        uint8_t *ty = realloc(ms->types, cap);
        if (!ty)
            return -1;
        ms->types = ty;
        ms->cap_cols = cap;
    }
    uint32_t nc = ms->n_cols + 1, vw = (nc + 63) / 64, stride = 2 + vw + nc;
    if (ms->cap) {
        uint64_t *r = calloc((size_t)ms->cap * stride, 8);
        if (!r)
            return -1;
        for (uint32_t i = 0; i < ms->n; i++) {
            const uint64_t *o = ms->rows + (size_t)i * ms->stride;
            uint64_t *q = r + (size_t)i * stride;
            q[0] = o[0];
            q[1] = o[1];
            memcpy(q + 2, o + 2, (size_t)ms->vwords * 8);
            memcpy(q + 2 + vw, o + 2 + ms->vwords, (size_t)ms->n_cols * 8);
        }
        m->bytes += (size_t)ms->cap * (stride - ms->stride) * 8;
        free(ms->rows);
        ms->rows = r;
    }
    ms->col_ids[ms->n_cols] = col_id;
    ms->types[ms->n_cols] = type;
    ms->n_cols = nc;
    ms->vwords = vw;
    ms->stride = stride;
    return 0;
}

/* Index of a column in the series (hint: where the caller expects it). */
static inline int64_t
col_index(const struct mem_series *ms, uint32_t col_id, uint32_t hint)
{
    if (hint < ms->n_cols && ms->col_ids[hint] == col_id)
        return hint;
    for (uint32_t c = 0; c < ms->n_cols; c++)
        if (ms->col_ids[c] == col_id)
            return c;
    return -1;
}

enum st_code
stor__mem_append(struct stor_mem *m, const struct wb_series *s, uint32_t lo, uint32_t hi,
                 uint64_t seq, const uint8_t *strs, struct st_error *err)
{
    struct stor_sent *se = s->ser;
    struct mem_series *ms;
    if (se->mcache_serial == m->serial) {
        ms = se->mcache_ms; /* the series appended here last time */
    } else {
        ms = ms_get(m, se->pub.id);
        if (!ms)
            goto nomem;
        se->mcache_serial = m->serial;
        se->mcache_ms = ms;
    }
    /* the series' column for each batch column (added when new) */
    uint32_t map_small[64];
    uint32_t *map = s->n_cols <= 64 ? map_small : malloc(s->n_cols * sizeof *map);
    if (!map)
        goto nomem;
    for (uint32_t c = 0; c < s->n_cols; c++) {
        int64_t j = col_index(ms, s->cols[c].col_id, c);
        if (j < 0) {
            if (col_add(m, ms, s->cols[c].col_id, s->cols[c].type) != 0)
                goto nomem_map;
            j = ms->n_cols - 1;
        }
        map[c] = (uint32_t)j;
    }
    if (ms_reserve(m, ms, hi - lo) != 0)
        goto nomem_map;
    uint32_t stride = ms->stride, vw = ms->vwords;
    uint64_t *row = ms->rows + (size_t)ms->n * stride;
    for (uint32_t i = lo; i < hi; i++, row += stride) {
        int64_t t = s->time[i];
        if (ms->n + (i - lo) > 0 && t < (int64_t)row[-(ptrdiff_t)stride])
            ms->sorted = false;
        row[0] = (uint64_t)t;
        row[1] = seq;
        memset(row + 2, 0, (size_t)(vw + ms->n_cols) * 8);
        if (t < ms->t_min)
            ms->t_min = t;
        if (t > ms->t_max)
            ms->t_max = t;
        uint64_t *vals = row + 2 + vw;
        for (uint32_t c = 0; c < s->n_cols; c++) {
            const struct wb_col *wc = &s->cols[c];
            if (!((wc->valid[i >> 3] >> (i & 7)) & 1))
                continue;
            uint32_t j = map[c];
            row[2 + (j >> 6)] |= (uint64_t)1 << (j & 63);
            if (wc->type != ST_TYPE_STRING) {
                vals[j] = wc->v[i];
                continue;
            }
            uint32_t len = wc->slen[i];
            vals[j] = ms->sdata.len;
            if (st_buf_put_u32le(&ms->sdata, len) != ST_OK ||
                st_buf_append(&ms->sdata, strs + wc->v[i], len) != ST_OK)
                goto nomem_map;
            m->bytes += 4 + (size_t)len;
        }
    }
    if (map != map_small)
        free(map);
    ms->n += hi - lo;
    if (!m->min_seq || seq < m->min_seq)
        m->min_seq = seq;
    if (seq > m->max_seq)
        m->max_seq = seq;
    if (ms->t_min < m->t_min)
        m->t_min = ms->t_min;
    if (ms->t_max > m->t_max)
        m->t_max = ms->t_max;
    return ST_OK;
nomem_map:
    if (map != map_small)
        free(map);
nomem:
    return st_error_set(err, ST_ENOMEM, "out of memory appending to a buffer");
}

enum st_code
stor__mem_copy(const struct mem_series *ms, uint64_t vis, struct stor_tomb *const *tombs,
               uint32_t n_tombs, int64_t t_lo, int64_t t_hi, struct rowset *rs)
{
    /* Visible rows are a prefix (rows arrive in sequence order). */
    uint32_t lo = 0, hi = ms->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (MS_SEQ(ms, mid) <= vis)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t n_vis = lo;
    if (n_vis == 0 || ms->t_max < t_lo || ms->t_min >= t_hi)
        return ST_OK;
    ST_TRY(stor__rs_reserve(rs, n_vis));
    /* Map the rowset's columns to this series' columns. */
    int32_t map_small[64];
    int32_t *map = rs->n_cols <= 64 ? map_small : malloc(rs->n_cols * sizeof *map);
    if (!map)
        return ST_ENOMEM;
    enum st_code rc_ = ST_OK;
    for (uint32_t c = 0; c < rs->n_cols; c++) {
        map[c] = -1;
        for (uint32_t k = 0; k < ms->n_cols; k++)
            if (ms->col_ids[k] == rs->cols[c].col_id && ms->types[k] == rs->cols[c].type)
                map[c] = (int32_t)k;
    }
    const uint32_t stride = ms->stride, vw = ms->vwords;
    for (uint32_t i = 0; i < n_vis; i++) {
        const uint64_t *row = ms->rows + (size_t)i * stride;
        int64_t t = (int64_t)row[0];
        if (t < t_lo || t >= t_hi)
            continue;
        bool dead = false;
        for (uint32_t k = 0; k < n_tombs && !dead; k++)
            dead = tombs[k]->seq > row[1] && t >= tombs[k]->t_lo && t < tombs[k]->t_hi;
        if (dead)
            continue;
        uint32_t r = rs->n++;
        rs->time[r] = t;
        const uint64_t *vals = row + 2 + vw;
        for (uint32_t c = 0; c < rs->n_cols; c++) {
            struct rs_col *rc = &rs->cols[c];
            int32_t j = map[c];
            uint8_t ok = j >= 0 && ((row[2 + (j >> 6)] >> (j & 63)) & 1);
            rc->valid[r] = ok;
            if (!ok) {
                rc->v[r] = 0;
            } else if (rc->type == ST_TYPE_STRING) {
                const uint8_t *sp = ms->sdata.data + vals[j];
                uint32_t len = st_load_u32le(sp);
                rc->v[r] = rs->sdata.len;
                rc->slen[r] = len;
                rc_ = st_buf_append(&rs->sdata, sp + 4, len);
                if (rc_ != ST_OK)
                    goto out;
            } else {
                rc->v[r] = vals[j];
            }
        }
    }
out:
    if (map != map_small)
        free(map);
    return rc_;
}
