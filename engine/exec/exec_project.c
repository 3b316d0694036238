/*
 * exec_project.c: the projection operator: one expression per output
 * column, evaluated over each input chunk. Column references pass the
 * input vector through without copying.
 */
#include "exec_int.h"

#include <stdlib.h>

struct project_op {
    struct exec_op op;
    struct exec_expr **exprs;
    struct exec_vec *vecs;
    struct exec_chunk out;
};

static enum st_code
project_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct project_op *p = (struct project_op *)op;
    const struct exec_chunk *in;
    ST_TRY(exec__op_next(op->child, &in, err));
    if (!in) {
        *out = NULL;
        return ST_OK;
    }
    for (uint32_t c = 0; c < op->pn->n_cols; c++) {
        const struct exec_vec *v;
        ST_TRY(exec__expr_eval(p->exprs[c], in, &v, err));
        p->vecs[c] = *v;
    }
    p->out.n = in->n;
    p->out.series = in->series;
    *out = &p->out;
    return ST_OK;
}

static void
project_free(struct exec_op *op)
{
    struct project_op *p = (struct project_op *)op;
    exec__op_free(op->child);
    for (uint32_t c = 0; p->exprs && c < op->pn->n_cols; c++)
        exec__expr_free(op->ctx, p->exprs[c]);
    free(p->exprs);
    free(p->vecs);
    free(p);
}

static const struct exec_op_vt project_vt = {project_next, project_free};

enum st_code
exec__project_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
                  struct exec_op **out, struct st_error *err)
{
    struct project_op *p = calloc(1, sizeof *p);
    if (!p) {
        exec__op_free(child);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    p->op.vt = &project_vt;
    p->op.ctx = c;
    p->op.pn = pn;
    p->op.child = child;
    *out = &p->op;
    uint32_t n = pn->n_cols ? pn->n_cols : 1;
    p->exprs = calloc(n, sizeof *p->exprs);
    p->vecs = calloc(n, sizeof *p->vecs);
    if (!p->exprs || !p->vecs)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    p->out.n_cols = pn->n_cols;
    p->out.cols = p->vecs;
    for (uint32_t i = 0; i < pn->n_cols; i++)
        ST_TRY(exec__expr_compile(c, pn->u.project.exprs[i], &p->exprs[i], err));
    return ST_OK;
}
