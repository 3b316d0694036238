/*
 * stor_mem.c: memtables, the in-memory buffer of one table partition.
 *
 * A memtable holds, per series, rows in arrival order: time, the sequence
 * number of the batch that wrote the row, and one column per field ever
 * written to that series here (a validity bitmap plus 8-byte values; strings
 * as offsets into a per-column byte buffer). Rows are appended in sequence
 * order (the commit protocol guarantees it), so the rows a reader at visible
 * sequence V may see are a prefix. Sorting by time and merging duplicates
 * happen on read and on persist, not on write.
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
    atomic_init(&m->refs, 1);
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
    for (uint32_t c = 0; c < ms->n_cols; c++) {
        struct mem_col *col = &ms->cols[c];
        free(col->valid);
        free(col->v.i);
        free(col->soff);
        free(col->slen);
        st_buf_cleanup(&col->sdata);
    }
    free(ms->cols);
    free(ms->time);
    free(ms->seq);
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

static void *
grow(void *p, size_t old_n, size_t new_n, size_t elem)
{
    uint8_t *q = realloc(p, new_n * elem);
    if (q && new_n > old_n)
        memset(q + old_n * elem, 0, (new_n - old_n) * elem);
    return q;
}

static int
ms_reserve(struct stor_mem *m, struct mem_series *ms, uint32_t extra)
{
    if (ms->n + extra <= ms->cap)
        return 0;
    uint32_t cap = ms->cap ? ms->cap : 64;
    while (cap < ms->n + extra)
        cap *= 2;
    int64_t *t = grow(ms->time, ms->cap, cap, sizeof *t);
    if (!t)
        return -1;
    ms->time = t;
    uint64_t *s = grow(ms->seq, ms->cap, cap, sizeof *s);
    if (!s)
        return -1;
    ms->seq = s;
    for (uint32_t c = 0; c < ms->n_cols; c++) {
        struct mem_col *col = &ms->cols[c];
        uint8_t *v = grow(col->valid, (ms->cap + 7) / 8, (cap + 7) / 8, 1);
        if (!v)
            return -1;
        col->valid = v;
        uint64_t *x = grow(col->v.u, ms->cap, cap, 8);
        if (!x)
            return -1;
        col->v.u = x;
        if (col->type == ST_TYPE_STRING) {
            uint64_t *o = grow(col->soff, ms->cap, cap, 8);
            if (!o)
                return -1;
            col->soff = o;
            uint32_t *l = grow(col->slen, ms->cap, cap, 4);
            if (!l)
                return -1;
            col->slen = l;
        }
    }
    m->bytes += (size_t)(cap - ms->cap) * (16 + (size_t)ms->n_cols * 9);
    ms->cap = cap;
    return 0;
}

static struct mem_col *
col_get(struct stor_mem *m, struct mem_series *ms, uint32_t col_id, uint8_t type)
{
    for (uint32_t c = 0; c < ms->n_cols; c++)
        if (ms->cols[c].col_id == col_id)
            return &ms->cols[c];
    if (ms->n_cols == ms->cap_cols) {
        uint32_t cap = ms->cap_cols ? ms->cap_cols * 2 : 8;
        struct mem_col *a = realloc(ms->cols, cap * sizeof *a);
        if (!a)
            return NULL;
        ms->cols = a;
        ms->cap_cols = cap;
    }
    struct mem_col *col = &ms->cols[ms->n_cols];
    memset(col, 0, sizeof *col);
    col->col_id = col_id;
    col->type = type;
    st_buf_init(&col->sdata, SIZE_MAX);
    size_t cap = ms->cap ? ms->cap : 1;
    col->valid = calloc((cap + 7) / 8, 1);
    col->v.u = calloc(cap, 8);
    if (type == ST_TYPE_STRING) {
        col->soff = calloc(cap, 8);
        col->slen = calloc(cap, 4);
    }
    if (!col->valid || !col->v.u || (type == ST_TYPE_STRING && (!col->soff || !col->slen))) {
        free(col->valid);
        free(col->v.u);
        free(col->soff);
        free(col->slen);
        return NULL;
    }
    ms->n_cols++;
    m->bytes += (size_t)cap * 9;
    return col;
}

enum st_code
stor__mem_append(struct stor_mem *m, uint32_t series_id, const struct wb_series *s, uint32_t lo,
                 uint32_t hi, uint64_t seq, const uint8_t *strs, struct st_error *err)
{
    struct mem_series *ms = ms_get(m, series_id);
    if (!ms || ms_reserve(m, ms, hi - lo) != 0)
        goto nomem;
    uint32_t base = ms->n;
    for (uint32_t i = lo; i < hi; i++) {
        int64_t t = s->time[i];
        uint32_t r = base + (i - lo);
        if (r > 0 && t < ms->time[r - 1])
            ms->sorted = false;
        ms->time[r] = t;
        ms->seq[r] = seq;
        if (t < ms->t_min)
            ms->t_min = t;
        if (t > ms->t_max)
            ms->t_max = t;
    }
    for (uint32_t c = 0; c < s->n_cols; c++) {
        const struct wb_col *wc = &s->cols[c];
        struct mem_col *col = col_get(m, ms, wc->col_id, wc->type);
        if (!col)
            goto nomem;
        if (wc->type != ST_TYPE_STRING) {
            /* Copy the run of values (a NULL row's value is never read), then the bits. */
            memcpy(col->v.u + base, wc->v + lo, (size_t)(hi - lo) * 8);
            for (uint32_t i = lo; i < hi; i++) {
                uint32_t r = base + (i - lo);
                col->valid[r >> 3] |= (uint8_t)(((wc->valid[i >> 3] >> (i & 7)) & 1) << (r & 7));
            }
            continue;
        }
        for (uint32_t i = lo; i < hi; i++) {
            if (!((wc->valid[i >> 3] >> (i & 7)) & 1))
                continue;
            uint32_t r = base + (i - lo);
            col->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
            col->soff[r] = col->sdata.len;
            col->slen[r] = wc->slen[i];
            if (st_buf_append(&col->sdata, strs + wc->v[i], wc->slen[i]) != ST_OK)
                goto nomem;
            m->bytes += wc->slen[i];
        }
    }
    ms->n = base + (hi - lo);
    if (!m->min_seq || seq < m->min_seq)
        m->min_seq = seq;
    if (seq > m->max_seq)
        m->max_seq = seq;
    if (ms->t_min < m->t_min)
        m->t_min = ms->t_min;
    if (ms->t_max > m->t_max)
        m->t_max = ms->t_max;
    return ST_OK;
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
        if (ms->seq[mid] <= vis)
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
            if (ms->cols[k].col_id == rs->cols[c].col_id && ms->cols[k].type == rs->cols[c].type)
                map[c] = (int32_t)k;
    }
    for (uint32_t i = 0; i < n_vis; i++) {
        int64_t t = ms->time[i];
        if (t < t_lo || t >= t_hi)
            continue;
        bool dead = false;
        for (uint32_t k = 0; k < n_tombs && !dead; k++)
            dead = tombs[k]->seq > ms->seq[i] && t >= tombs[k]->t_lo && t < tombs[k]->t_hi;
        if (dead)
            continue;
        uint32_t r = rs->n++;
        rs->time[r] = t;
        for (uint32_t c = 0; c < rs->n_cols; c++) {
            struct rs_col *rc = &rs->cols[c];
            if (map[c] < 0) {
                rc->valid[r] = 0;
                rc->v[r] = 0;
                continue;
            }
            const struct mem_col *mc = &ms->cols[map[c]];
            uint8_t ok = (mc->valid[i >> 3] >> (i & 7)) & 1;
            rc->valid[r] = ok;
            if (!ok) {
                rc->v[r] = 0;
            } else if (rc->type == ST_TYPE_STRING) {
                rc->v[r] = rs->sdata.len;
                rc->slen[r] = mc->slen[i];
                rc_ = st_buf_append(&rs->sdata, mc->sdata.data + mc->soff[i], mc->slen[i]);
                if (rc_ != ST_OK)
                    goto out;
            } else {
                rc->v[r] = mc->v.u[i];
            }
        }
    }
out:
    if (map != map_small)
        free(map);
    return rc_;
}
