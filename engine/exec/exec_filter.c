/*
 * exec_filter.c: the filter operator. The predicate is evaluated over the
 * whole chunk; rows where it is true (not false, not NULL) are kept. A
 * chunk where every row passes goes through untouched, one where none does
 * is skipped, otherwise the kept rows are gathered into the operator's own
 * buffers (const vectors, such as tags, stay const).
 */
#include "exec_int.h"

#include <stdlib.h>

struct filter_op {
    struct exec_op op;
    struct exec_expr *pred;
    uint32_t *sel;
    uint32_t sel_cap;
    struct exec_col *bufs;
    struct exec_vec *vecs;
    struct exec_chunk out;
};

static enum st_code
filter_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct filter_op *f = (struct filter_op *)op;
    for (;;) {
        const struct exec_chunk *in;
        ST_TRY(exec__op_next(op->child, &in, err));
        if (!in) {
            *out = NULL;
            return ST_OK;
        }
        const struct exec_vec *p;
        ST_TRY(exec__expr_eval(f->pred, in, &p, err));
        if (p->is_const) {
            if ((p->nulls && p->nulls[0]) || !p->v.b[0])
                continue;
            *out = in;
            return ST_OK;
        }
        if (in->n > f->sel_cap) {
            uint32_t *s = realloc(f->sel, in->n * sizeof *s);
            if (!s)
                return st_error_set(err, ST_ENOMEM, "out of memory");
            f->sel = s;
            f->sel_cap = in->n;
        }
        uint32_t k = 0;
        const uint8_t *b = p->v.b, *nl = p->nulls;
        if (nl) {
            for (uint32_t i = 0; i < in->n; i++) {
                f->sel[k] = i;
                k += b[i] & !nl[i];
            }
        } else {
            for (uint32_t i = 0; i < in->n; i++) {
                f->sel[k] = i;
                k += b[i] != 0;
            }
        }
        if (k == 0)
            continue;
        if (k == in->n) {
            *out = in;
            return ST_OK;
        }
        for (uint32_t c = 0; c < in->n_cols; c++)
            ST_TRY(exec__gather(op->ctx, &in->cols[c], f->sel, k, &f->bufs[c], &f->vecs[c], err));
        f->out.n = k;
        f->out.n_cols = in->n_cols;
        f->out.series = in->series;
        *out = &f->out;
        return ST_OK;
    }
}

static void
filter_free(struct exec_op *op)
{
    struct filter_op *f = (struct filter_op *)op;
    exec__op_free(op->child);
    exec__expr_free(op->ctx, f->pred);
    for (uint32_t c = 0; f->bufs && c < op->pn->n_cols; c++)
        exec__col_free(op->ctx, &f->bufs[c]);
    free(f->bufs);
    free(f->vecs);
    free(f->sel);
    free(f);
}

static const struct exec_op_vt filter_vt = {filter_next, filter_free};

enum st_code
exec__filter_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
                 struct exec_op **out, struct st_error *err)
{
    struct filter_op *f = calloc(1, sizeof *f);
    if (!f) {
        exec__op_free(child);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    f->op.vt = &filter_vt;
    f->op.ctx = c;
    f->op.pn = pn;
    f->op.child = child;
    *out = &f->op;
    uint32_t n = pn->n_cols ? pn->n_cols : 1;
    f->bufs = calloc(n, sizeof *f->bufs);
    f->vecs = calloc(n, sizeof *f->vecs);
    if (!f->bufs || !f->vecs)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    f->out.cols = f->vecs;
    return exec__expr_compile(c, pn->u.filter.pred, &f->pred, err);
}
