/*
 * exec_limit.c: LIMIT and OFFSET. Skips `offset` rows, passes at most
 * `limit`, and stops pulling its input as soon as the limit is reached, so
 * the scans below stop reading.
 */
#include "exec_int.h"

#include <stdlib.h>

struct limit_op {
    struct exec_op op;
    uint64_t skipped, emitted;
    struct exec_vec *vecs;
    struct exec_chunk out;
};

static enum st_code
limit_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct limit_op *l = (struct limit_op *)op;
    uint64_t limit = op->pn->u.limit.limit, offset = op->pn->u.limit.offset;
    *out = NULL;
    while (l->emitted < limit) {
        const struct exec_chunk *in;
        ST_TRY(exec__op_next(op->child, &in, err));
        if (!in)
            return ST_OK;
        uint32_t a = 0, n = in->n;
        if (l->skipped < offset) {
            uint64_t skip = offset - l->skipped;
            if (skip >= n) {
                l->skipped += n;
                continue;
            }
            a = (uint32_t)skip;
            l->skipped = offset;
        }
        uint32_t m = n - a;
        if (m > limit - l->emitted)
            m = (uint32_t)(limit - l->emitted);
        l->emitted += m;
        if (a == 0 && m == n) {
            *out = in;
            return ST_OK;
        }
        for (uint32_t c = 0; c < in->n_cols; c++) {
            struct exec_vec v = in->cols[c];
            if (!v.is_const) {
                size_t es = exec__type_size(v.type);
                v.v.p = (const char *)v.v.p + a * es;
                if (v.nulls)
                    v.nulls += a;
            }
            l->vecs[c] = v;
        }
        l->out.n = m;
        l->out.n_cols = in->n_cols;
        l->out.series = in->series;
        *out = &l->out;
        return ST_OK;
    }
    return ST_OK;
}

static void
limit_free(struct exec_op *op)
{
    struct limit_op *l = (struct limit_op *)op;
    exec__op_free(op->child);
    free(l->vecs);
    free(l);
}

static const struct exec_op_vt limit_vt = {limit_next, limit_free};

enum st_code
exec__limit_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
                struct exec_op **out, struct st_error *err)
{
    struct limit_op *l = calloc(1, sizeof *l);
    if (!l) {
        exec__op_free(child);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    l->op.vt = &limit_vt;
    l->op.ctx = c;
    l->op.pn = pn;
    l->op.child = child;
    *out = &l->op;
    l->vecs = calloc(pn->n_cols ? pn->n_cols : 1, sizeof *l->vecs);
    l->out.cols = l->vecs;
    if (!l->vecs)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    return ST_OK;
}
