/*
 * exec_window.c: the time-window limit pushdown at run time (PN_WINDOW,
 * planned by plan_rule_window.c). The subtree below (limit, sort,
 * aggregate, scan) is first run over only the newest (or oldest) `need`
 * buckets, aligned to date_bin's stride and origin and anchored at the
 * newest (oldest) time storage reports for the scan; if the limit is not
 * filled, the window grows four-fold and the subtree runs again, until the
 * limit is filled or the window covers the query's whole time range. The
 * answer is therefore always the one the full scan would give. Each
 * attempt's output (at most the limit) is materialised and then emitted.
 */
#include "exec_int.h"

#include <stdlib.h>

struct window_op {
    struct exec_op op;
    struct exec_table t;
    bool ran;
    uint32_t emit_pos;
    struct exec_vec *vecs;
    struct exec_chunk out;
};

static int64_t
sat_add(int64_t a, __int128 b)
{
    __int128 r = (__int128)a + b;
    if (r > INT64_MAX)
        return INT64_MAX;
    if (r < INT64_MIN)
        return INT64_MIN;
    return (int64_t)r;
}

static enum st_code
run_attempt(struct window_op *w, int64_t lo, int64_t hi, struct st_error *err)
{
    struct exec_ctx *c = w->op.ctx;
    const struct plan_node *scan = w->op.pn->u.window.scan;
    struct exec_op *child = NULL;
    c->window_scan = scan;
    c->window_lo = lo;
    c->window_hi = hi;
    enum st_code rc = exec__build(c, w->op.pn->child, &child, err);
    c->window_scan = NULL;
    while (rc == ST_OK) {
        const struct exec_chunk *in;
        rc = exec__op_next(child, &in, err);
        if (rc != ST_OK || !in)
            break;
        rc = exec__table_append(c, &w->t, in, NULL, in->n, err);
    }
    exec__op_free(child);
    return rc;
}

static enum st_code
run(struct window_op *w, struct st_error *err)
{
    struct exec_ctx *c = w->op.ctx;
    const struct plan_scan *ps = &w->op.pn->u.window.scan->u.scan;
    const struct plan_node *lim = w->op.pn->child;
    int64_t lo_full = ps->spec.t_lo, hi_full = ps->spec.t_hi;
    struct stor_scan_estimate est;
    ST_TRY(c->src->estimate(c->src->ctx, &ps->spec, &est, err));
    if (est.t_min > est.t_max || lo_full >= hi_full)
        return run_attempt(w, lo_full, hi_full, err);
    __int128 buckets = ps->window_need;
    for (;;) {
        int64_t lo = lo_full, hi = hi_full;
        bool whole;
        if (ps->window_desc) {
            int64_t anchor = plan_date_bin(est.t_max, ps->window_stride, ps->window_origin);
            lo = sat_add(anchor, -(buckets - 1) * ps->window_stride);
            whole = lo <= lo_full;
            if (whole)
                lo = lo_full;
        } else {
            int64_t anchor = plan_date_bin(est.t_min, ps->window_stride, ps->window_origin);
            hi = sat_add(anchor, buckets * ps->window_stride);
            whole = hi >= hi_full;
            if (whole)
                hi = hi_full;
        }
        ST_TRY(run_attempt(w, lo, hi, err));
        if (whole || w->t.n_rows >= lim->u.limit.limit)
            return ST_OK;
        ST_TRY(exec__check(c, err));
        /* too few rows: start over with a wider window */
        w->t.n_rows = 0;
        buckets *= 4;
    }
}

static enum st_code
window_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct window_op *w = (struct window_op *)op;
    *out = NULL;
    if (!w->ran) {
        w->ran = true;
        ST_TRY(run(w, err));
    }
    if (w->emit_pos >= w->t.n_rows)
        return ST_OK;
    uint32_t n = w->t.n_rows - w->emit_pos;
    if (n > op->ctx->batch_rows)
        n = op->ctx->batch_rows;
    ST_TRY(exec__table_emit(op->ctx, &w->t, NULL, w->emit_pos, n, NULL, w->vecs, err));
    w->emit_pos += n;
    w->out.n = n;
    *out = &w->out;
    return ST_OK;
}

static void
window_free(struct exec_op *op)
{
    struct window_op *w = (struct window_op *)op;
    exec__table_free(op->ctx, &w->t);
    free(w->vecs);
    free(w);
}

static const struct exec_op_vt window_vt = {window_next, window_free};

enum st_code
exec__window_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op **out,
                 struct st_error *err)
{
    struct window_op *w = calloc(1, sizeof *w);
    if (!w)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    w->op.vt = &window_vt;
    w->op.ctx = c;
    w->op.pn = pn;
    *out = &w->op;
    uint32_t n = pn->n_cols ? pn->n_cols : 1;
    w->vecs = calloc(n, sizeof *w->vecs);
    enum plan_type *types = calloc(n, sizeof *types);
    if (!w->vecs || !types) {
        free(types);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < pn->n_cols; i++)
        types[i] = pn->cols[i].type;
    enum st_code rc = exec__table_init(c, &w->t, pn->n_cols, types, err);
    free(types);
    w->out.n_cols = pn->n_cols;
    w->out.cols = w->vecs;
    return rc;
}
