/*
 * stor_rowset.c: a rowset is the rows of one series gathered from one or
 * more sources (chunk row groups, memtables) for a chosen set of columns,
 * and the one place where upsert semantics are applied:
 *
 *   rows are appended oldest source first (chunks in sequence order, then
 *   memtables; inside a memtable, arrival order = sequence order);
 *   stor__rs_sort_dedup() sorts them by time, stably, and folds rows with
 *   the same time into one: for every column, the value of the last row in
 *   that order that has the column non-NULL. A column no row wrote is NULL.
 */
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"

void
stor__rs_init(struct rowset *rs, const uint32_t *col_ids, const uint8_t *types, uint32_t n_cols)
{
    memset(rs, 0, sizeof *rs);
    st_buf_init(&rs->sdata, SIZE_MAX);
    if (n_cols) {
        rs->cols = calloc(n_cols, sizeof *rs->cols);
        if (!rs->cols)
            return; /* stor__rs_reserve reports ENOMEM */
    }
    rs->n_cols = n_cols;
    for (uint32_t c = 0; c < n_cols; c++) {
        rs->cols[c].col_id = col_ids[c];
        rs->cols[c].type = types[c];
    }
}

void
stor__rs_cleanup(struct rowset *rs)
{
    for (uint32_t c = 0; c < rs->n_cols && rs->cols; c++) {
        free(rs->cols[c].valid);
        free(rs->cols[c].v);
        free(rs->cols[c].slen);
    }
    free(rs->cols);
    free(rs->time);
    st_buf_cleanup(&rs->sdata);
    memset(rs, 0, sizeof *rs);
}

void
stor__rs_reset(struct rowset *rs)
{
    rs->n = 0;
    st_buf_reset(&rs->sdata);
}

enum st_code
stor__rs_reserve(struct rowset *rs, uint32_t extra)
{
    if (rs->n_cols && !rs->cols)
        return ST_ENOMEM;
    if ((uint64_t)rs->n + extra <= rs->cap)
        return ST_OK;
    if ((uint64_t)rs->n + extra > UINT32_MAX / 2)
        return ST_ELIMIT;
    uint32_t cap = rs->cap ? rs->cap : 256;
    while (cap < rs->n + extra)
        cap *= 2;
    int64_t *t = realloc(rs->time, (size_t)cap * sizeof *t);
    if (!t)
        return ST_ENOMEM;
    rs->time = t;
    for (uint32_t c = 0; c < rs->n_cols; c++) {
        struct rs_col *col = &rs->cols[c];
        uint8_t *v = realloc(col->valid, cap);
        if (!v)
            return ST_ENOMEM;
        col->valid = v;
        uint64_t *x = realloc(col->v, (size_t)cap * 8);
        if (!x)
            return ST_ENOMEM;
        col->v = x;
        if (col->type == ST_TYPE_STRING) {
            uint32_t *l = realloc(col->slen, (size_t)cap * 4);
            if (!l)
                return ST_ENOMEM;
            col->slen = l;
        }
    }
    rs->cap = cap;
    return ST_OK;
}

struct idx_t {
    int64_t t;
    uint32_t i;
};

static int
idx_cmp(const void *a, const void *b)
{
    const struct idx_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

enum st_code
stor__rs_sort_dedup(struct rowset *rs)
{
    uint32_t n = rs->n;
    bool strictly = true;
    for (uint32_t i = 1; i < n && strictly; i++)
        strictly = rs->time[i] > rs->time[i - 1];
    if (strictly)
        return ST_OK;
    struct idx_t *ix = malloc((size_t)n * sizeof *ix);
    uint64_t *tmpv = malloc((size_t)n * 8);
    uint8_t *tmpb = malloc(n);
    uint32_t *tmpl = malloc((size_t)n * 4);
    int64_t *tmpt = malloc((size_t)n * 8);
    if (!ix || !tmpv || !tmpb || !tmpl || !tmpt) {
        free(ix);
        free(tmpv);
        free(tmpb);
        free(tmpl);
        free(tmpt);
        return ST_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        ix[i].t = rs->time[i];
        ix[i].i = i;
    }
    qsort(ix, n, sizeof *ix, idx_cmp); /* (time, position): stable */
    /* Output row k covers ix[gs .. ge) with equal times. */
    uint32_t out = 0;
    for (uint32_t gs = 0; gs < n;) {
        uint32_t ge = gs + 1;
        while (ge < n && ix[ge].t == ix[gs].t)
            ge++;
        tmpt[out++] = ix[gs].t;
        gs = ge;
    }
    for (uint32_t c = 0; c < rs->n_cols; c++) {
        struct rs_col *col = &rs->cols[c];
        uint32_t k = 0;
        for (uint32_t gs = 0; gs < n; k++) {
            uint32_t ge = gs + 1;
            while (ge < n && ix[ge].t == ix[gs].t)
                ge++;
            uint8_t ok = 0;
            uint64_t v = 0;
            uint32_t l = 0;
            for (uint32_t j = gs; j < ge; j++) {
                uint32_t src = ix[j].i;
                if (col->valid[src]) {
                    ok = 1;
                    v = col->v[src];
                    if (col->slen)
                        l = col->slen[src];
                }
            }
            tmpb[k] = ok;
            tmpv[k] = v;
            tmpl[k] = l;
            gs = ge;
        }
        memcpy(col->valid, tmpb, out);
        memcpy(col->v, tmpv, (size_t)out * 8);
        if (col->slen)
            memcpy(col->slen, tmpl, (size_t)out * 4);
    }
    memcpy(rs->time, tmpt, (size_t)out * 8);
    rs->n = out;
    free(ix);
    free(tmpv);
    free(tmpb);
    free(tmpl);
    free(tmpt);
    return ST_OK;
}

void
stor__rs_filter_tombs(struct rowset *rs, uint32_t from, struct stor_tomb *const *tombs,
                      uint32_t n_tombs, uint64_t applied_seq, uint64_t vis)
{
    uint32_t k = from;
    bool any = false;
    for (uint32_t j = 0; j < n_tombs && !any; j++)
        any = tombs[j]->seq > applied_seq && tombs[j]->seq <= vis;
    if (!any)
        return;
    for (uint32_t i = from; i < rs->n; i++) {
        bool dead = false;
        for (uint32_t j = 0; j < n_tombs && !dead; j++) {
            const struct stor_tomb *t = tombs[j];
            dead = t->seq > applied_seq && t->seq <= vis && rs->time[i] >= t->t_lo &&
                   rs->time[i] < t->t_hi;
        }
        if (dead)
            continue;
        if (k != i) {
            rs->time[k] = rs->time[i];
            for (uint32_t c = 0; c < rs->n_cols; c++) {
                struct rs_col *col = &rs->cols[c];
                col->valid[k] = col->valid[i];
                col->v[k] = col->v[i];
                if (col->slen)
                    col->slen[k] = col->slen[i];
            }
        }
        k++;
    }
    rs->n = k;
}
