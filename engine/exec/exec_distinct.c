/*
 * exec_distinct.c: DISTINCT and DISTINCT ON. A key table (exec_keytab)
 * remembers the tuples seen; a row passes when its tuple (every column,
 * or the DISTINCT ON columns) is new. The first row of each tuple wins, so
 * after a sort DISTINCT ON keeps the first row in ORDER BY order. When every
 * key is constant over a chunk (tags of a series) the chunk costs one
 * lookup.
 */
#include "exec_int.h"

#include <stdlib.h>

struct distinct_op {
    struct exec_op op;
    struct exec_keytab kt;
    uint32_t n_on;
    const uint32_t *on;
    uint32_t *all_on;
    const struct exec_vec **keys;
    uint32_t *sel;
    uint32_t sel_cap;
    struct exec_col *bufs;
    struct exec_vec *vecs;
    struct exec_chunk out;
};

static enum st_code
distinct_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct distinct_op *d = (struct distinct_op *)op;
    struct exec_ctx *c = op->ctx;
    for (;;) {
        const struct exec_chunk *in;
        ST_TRY(exec__op_next(op->child, &in, err));
        if (!in) {
            *out = NULL;
            return ST_OK;
        }
        if (in->n > d->sel_cap) {
            uint32_t *s = realloc(d->sel, in->n * sizeof *s);
            if (!s)
                return st_error_set(err, ST_ENOMEM, "out of memory");
            d->sel = s;
            d->sel_cap = in->n;
        }
        bool all_const = true;
        for (uint32_t k = 0; k < d->n_on; k++) {
            d->keys[k] = &in->cols[d->on[k]];
            all_const &= d->keys[k]->is_const;
        }
        uint32_t m = 0;
        if (all_const) {
            /* every row has the same key (tags of one series): one lookup */
            uint32_t id;
            bool added;
            uint64_t h = exec__hash_row(&d->kt, d->keys, 0);
            ST_TRY(exec__keytab_lookup(c, &d->kt, d->keys, 0, h, &id, &added, err));
            if (!added)
                continue;
            d->sel[0] = 0;
            m = 1;
        }
        for (uint32_t i = 0; !all_const && i < in->n; i++) {
            uint64_t h = exec__hash_row(&d->kt, d->keys, i);
            uint32_t id;
            bool added;
            ST_TRY(exec__keytab_lookup(c, &d->kt, d->keys, i, h, &id, &added, err));
            if (added)
                d->sel[m++] = i;
            if ((i & 1023) == 1023)
                ST_TRY(exec__tick(c, err));
        }
        if (m == 0)
            continue;
        if (m == in->n) {
            *out = in;
            return ST_OK;
        }
        for (uint32_t col = 0; col < in->n_cols; col++)
            ST_TRY(exec__gather(c, &in->cols[col], d->sel, m, &d->bufs[col], &d->vecs[col], err));
        d->out.n = m;
        d->out.n_cols = in->n_cols;
        d->out.series = in->series;
        *out = &d->out;
        return ST_OK;
    }
}

static void
distinct_free(struct exec_op *op)
{
    struct distinct_op *d = (struct distinct_op *)op;
    exec__op_free(op->child);
    exec__keytab_free(op->ctx, &d->kt);
    for (uint32_t i = 0; d->bufs && i < op->pn->n_cols; i++)
        exec__col_free(op->ctx, &d->bufs[i]);
    free(d->bufs);
    free(d->vecs);
    free(d->keys);
    free(d->sel);
    free(d->all_on);
    free(d);
}

static const struct exec_op_vt distinct_vt = {distinct_next, distinct_free};

enum st_code
exec__distinct_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
                   struct exec_op **out, struct st_error *err)
{
    struct distinct_op *d = calloc(1, sizeof *d);
    if (!d) {
        exec__op_free(child);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    d->op.vt = &distinct_vt;
    d->op.ctx = c;
    d->op.pn = pn;
    d->op.child = child;
    *out = &d->op;
    uint32_t n = pn->n_cols ? pn->n_cols : 1;
    d->bufs = calloc(n, sizeof *d->bufs);
    d->vecs = calloc(n, sizeof *d->vecs);
    d->keys = calloc(n, sizeof *d->keys);
    if (!d->bufs || !d->vecs || !d->keys)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    if (pn->u.distinct.n_on) {
        d->n_on = pn->u.distinct.n_on;
        d->on = pn->u.distinct.on;
    } else {
        d->all_on = calloc(n, sizeof *d->all_on);
        if (!d->all_on)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < pn->n_cols; i++)
            d->all_on[i] = i;
        d->n_on = pn->n_cols;
        d->on = d->all_on;
    }
    enum plan_type *types = calloc(d->n_on ? d->n_on : 1, sizeof *types);
    if (!types)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t k = 0; k < d->n_on; k++)
        types[k] = pn->cols[d->on[k]].type;
    enum st_code rc = exec__keytab_init(c, &d->kt, d->n_on, types, err);
    free(types);
    d->out.cols = d->vecs;
    return rc;
}
