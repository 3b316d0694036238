/*
 * exec_values.c: constant rows (PN_VALUES): information_schema views,
 * SHOW output and SELECT without FROM. Rows are emitted in chunks of at
 * most batch_rows.
 */
#include "exec_int.h"

#include <stdlib.h>
#include <string.h>

struct values_op {
    struct exec_op op;
    uint32_t next_row;
    struct exec_col *bufs;
    struct exec_vec *vecs;
    struct exec_chunk out;
};

static enum st_code
values_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct values_op *v = (struct values_op *)op;
    const struct plan_node *pn = op->pn;
    uint32_t total = pn->u.values.n_rows;
    *out = NULL;
    if (v->next_row >= total)
        return ST_OK;
    ST_TRY(exec__check(op->ctx, err));
    uint32_t n = total - v->next_row;
    if (n > op->ctx->batch_rows)
        n = op->ctx->batch_rows;
    for (uint32_t c = 0; c < pn->n_cols; c++) {
        struct exec_col *b = &v->bufs[c];
        b->type = pn->cols[c].type;
        ST_TRY(exec__col_reserve(op->ctx, b, n, err));
        size_t es = exec__type_size(b->type);
        bool any = false;
        for (uint32_t i = 0; i < n; i++) {
            const struct plan_value *pv =
                &pn->u.values.rows[(size_t)(v->next_row + i) * pn->n_cols + c];
            b->nulls[i] = pv->is_null;
            any |= pv->is_null;
            char *dst = (char *)b->data + i * es;
            if (pv->is_null) {
                memset(dst, 0, es);
                continue;
            }
            switch (b->type) {
            case PT_STRING:
                memcpy(dst, &pv->v.s, es);
                break;
            case PT_BOOL: {
                uint8_t x = pv->v.b;
                memcpy(dst, &x, 1);
                break;
            }
            case PT_NULL:
                break;
            default:
                memcpy(dst, &pv->v.i, 8);
                break;
            }
        }
        exec__col_vec(b, any, &v->vecs[c]);
    }
    v->out.n = n;
    v->next_row += n;
    *out = &v->out;
    return ST_OK;
}

static void
values_free(struct exec_op *op)
{
    struct values_op *v = (struct values_op *)op;
    for (uint32_t c = 0; v->bufs && c < op->pn->n_cols; c++)
        exec__col_free(op->ctx, &v->bufs[c]);
    free(v->bufs);
    free(v->vecs);
    free(v);
}

static const struct exec_op_vt values_vt = {values_next, values_free};

enum st_code
exec__values_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op **out,
                 struct st_error *err)
{
    struct values_op *v = calloc(1, sizeof *v);
    if (!v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    v->op.vt = &values_vt;
    v->op.ctx = c;
    v->op.pn = pn;
    *out = &v->op;
    v->bufs = calloc(pn->n_cols ? pn->n_cols : 1, sizeof *v->bufs);
    v->vecs = calloc(pn->n_cols ? pn->n_cols : 1, sizeof *v->vecs);
    if (!v->bufs || !v->vecs)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    v->out.n_cols = pn->n_cols;
    v->out.cols = v->vecs;
    return ST_OK;
}
