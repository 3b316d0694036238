/*
 * exec_sort.c: ORDER BY, with a top-N mode for ORDER BY ... LIMIT.
 *
 * Input rows are materialised into an exec_table and an index permutation
 * is sorted with a stable bottom-up merge sort (ties keep input order, so
 * results are deterministic). NULLs sort first or last per key as the plan
 * says (by default last for ASC, first for DESC, as in PostgreSQL).
 *
 * Top-N (plan sort.top = k): whenever the table holds more than
 * max(2k, 4096) rows, it is sorted and cut to its first k rows, so memory
 * stays O(k). Once k rows are known, an incoming row is first compared with
 * the k-th (the worst kept): unless it sorts strictly before it, it can
 * never be in the answer (ties keep input order) and is not copied at all,
 * so a small LIMIT over many rows costs about one comparison per row.
 * Cancellation is checked during merge passes.
 */
#include "exec_int.h"

#include <stdlib.h>
#include <string.h>

struct sort_op {
    struct exec_op op;
    struct exec_table t;
    uint32_t *idx, *tmp;
    uint32_t idx_cap;
    bool have_threshold;    /* top-N: row top-1 of t is the k-th best so far */
    uint32_t *sel;
    uint32_t sel_cap;
    bool sorted;
    uint32_t n_out, emit_pos;
    struct exec_col *bufs;
    struct exec_vec *vecs;
    struct exec_chunk out;
};

static int
cmp_rows(const struct sort_op *s, uint32_t a, uint32_t b)
{
    const struct plan_node *pn = s->op.pn;
    for (uint32_t k = 0; k < pn->u.sort.n_keys; k++) {
        const struct plan_sort_key *key = &pn->u.sort.keys[k];
        const struct exec_col *col = &s->t.cols[key->col];
        bool na = s->t.any_null[key->col] && col->nulls[a];
        bool nb = s->t.any_null[key->col] && col->nulls[b];
        if (na || nb) {
            if (na && nb)
                continue;
            return na == key->nulls_first ? -1 : 1;
        }
        int r = exec__table_cmp(&s->t, key->col, a, b);
        if (r)
            return key->desc ? -r : r;
    }
    return 0;
}

/* Compare row i of a chunk with row r of the table, by the sort keys. */
static int
cmp_chunk_row(const struct sort_op *s, const struct exec_chunk *in, uint32_t i, uint32_t r)
{
    const struct plan_node *pn = s->op.pn;
    for (uint32_t k = 0; k < pn->u.sort.n_keys; k++) {
        const struct plan_sort_key *key = &pn->u.sort.keys[k];
        const struct exec_vec *v = &in->cols[key->col];
        const struct exec_col *col = &s->t.cols[key->col];
        uint32_t j = v->is_const ? 0 : i;
        bool na = v->type == PT_NULL || (v->nulls && v->nulls[j]);
        bool nb = s->t.any_null[key->col] && col->nulls[r];
        if (na || nb) {
            if (na && nb)
                continue;
            return na == key->nulls_first ? -1 : 1;
        }
        int c;
        switch (col->type) {
        case PT_FLOAT: {
            double x = v->v.f64[j], y = ((const double *)col->data)[r];
            c = x < y ? -1 : x > y;
            break;
        }
        case PT_UINT: {
            uint64_t x = v->v.u64[j], y = ((const uint64_t *)col->data)[r];
            c = x < y ? -1 : x > y;
            break;
        }
        case PT_BOOL:
            c = (int)v->v.b[j] - (int)((const uint8_t *)col->data)[r];
            break;
        case PT_STRING: {
            const struct plan_str *x = &v->v.s[j], *y = &((const struct plan_str *)col->data)[r];
            uint32_t n = x->len < y->len ? x->len : y->len;
            c = n ? memcmp(x->p, y->p, n) : 0;
            if (c == 0)
                c = x->len < y->len ? -1 : x->len > y->len;
            else
                c = c < 0 ? -1 : 1;
            break;
        }
        case PT_NULL:
            c = 0;
            break;
        default: {
            int64_t x = v->v.i64[j], y = ((const int64_t *)col->data)[r];
            c = x < y ? -1 : x > y;
            break;
        }
        }
        if (c)
            return key->desc ? -c : c;
    }
    return 0;
}

static enum st_code
sort_idx(struct sort_op *s, struct st_error *err)
{
    uint32_t n = s->t.n_rows;
    if (n > s->idx_cap) {
        uint32_t *i = realloc(s->idx, n * sizeof *i);
        if (i)
            s->idx = i;
        uint32_t *t = realloc(s->tmp, n * sizeof *t);
        if (t)
            s->tmp = t;
        if (!i || !t)
            return st_error_set(err, ST_ENOMEM, "out of memory sorting");
        s->idx_cap = n;
    }
    for (uint32_t i = 0; i < n; i++)
        s->idx[i] = i;
    uint32_t *src = s->idx, *dst = s->tmp;
    for (uint32_t w = 1; w < n; w *= 2) {
        ST_TRY(exec__check(s->op.ctx, err));
        for (uint32_t lo = 0; lo < n; lo += 2 * w) {
            uint32_t mid = lo + w < n ? lo + w : n;
            uint32_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = cmp_rows(s, src[j], src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        uint32_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != s->idx) {
        memcpy(s->idx, src, n * sizeof *src);
    }
    return ST_OK;
}

static enum st_code
sort_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct sort_op *s = (struct sort_op *)op;
    struct exec_ctx *c = op->ctx;
    uint64_t top = op->pn->u.sort.top;
    *out = NULL;
    if (!s->sorted) {
        for (;;) {
            const struct exec_chunk *in;
            ST_TRY(exec__op_next(op->child, &in, err));
            if (!in)
                break;
            if (s->have_threshold) {
                /* keep only rows that sort before the k-th best */
                if (in->n > s->sel_cap) {
                    uint32_t *sel = realloc(s->sel, in->n * sizeof *sel);
                    if (!sel)
                        return st_error_set(err, ST_ENOMEM, "out of memory");
                    s->sel = sel;
                    s->sel_cap = in->n;
                }
                uint32_t m = 0, kth = (uint32_t)top - 1;
                for (uint32_t i = 0; i < in->n; i++) {
                    s->sel[m] = i;
                    m += cmp_chunk_row(s, in, i, kth) < 0;
                }
                ST_TRY(exec__table_append(c, &s->t, in, s->sel, m, err));
            } else {
                ST_TRY(exec__table_append(c, &s->t, in, NULL, in->n, err));
            }
            if (top && s->t.n_rows > (top * 2 > 4096 ? top * 2 : 4096)) {
                ST_TRY(sort_idx(s, err));
                ST_TRY(exec__table_compact(c, &s->t, s->idx, (uint32_t)top, err));
                s->have_threshold = true;
            }
        }
        ST_TRY(sort_idx(s, err));
        s->n_out = s->t.n_rows;
        if (top && s->n_out > top)
            s->n_out = (uint32_t)top;
        s->sorted = true;
    }
    if (s->emit_pos >= s->n_out)
        return ST_OK;
    ST_TRY(exec__check(c, err));
    uint32_t n = s->n_out - s->emit_pos;
    if (n > c->batch_rows)
        n = c->batch_rows;
    ST_TRY(exec__table_emit(c, &s->t, s->idx + s->emit_pos, 0, n, s->bufs, s->vecs, err));
    s->emit_pos += n;
    s->out.n = n;
    *out = &s->out;
    return ST_OK;
}

static void
sort_free(struct exec_op *op)
{
    struct sort_op *s = (struct sort_op *)op;
    exec__op_free(op->child);
    exec__table_free(op->ctx, &s->t);
    for (uint32_t i = 0; s->bufs && i < op->pn->n_cols; i++)
        exec__col_free(op->ctx, &s->bufs[i]);
    free(s->bufs);
    free(s->vecs);
    free(s->idx);
    free(s->tmp);
    free(s->sel);
    free(s);
}

static const struct exec_op_vt sort_vt = {sort_next, sort_free};

enum st_code
exec__sort_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
               struct exec_op **out, struct st_error *err)
{
    struct sort_op *s = calloc(1, sizeof *s);
    if (!s) {
        exec__op_free(child);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    s->op.vt = &sort_vt;
    s->op.ctx = c;
    s->op.pn = pn;
    s->op.child = child;
    *out = &s->op;
    uint32_t n = pn->n_cols ? pn->n_cols : 1;
    s->bufs = calloc(n, sizeof *s->bufs);
    s->vecs = calloc(n, sizeof *s->vecs);
    enum plan_type *types = calloc(n, sizeof *types);
    if (!s->bufs || !s->vecs || !types) {
        free(types);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < pn->n_cols; i++)
        types[i] = pn->cols[i].type;
    enum st_code rc = exec__table_init(c, &s->t, pn->n_cols, types, err);
    free(types);
    s->out.n_cols = pn->n_cols;
    s->out.cols = s->vecs;
    return rc;
}
