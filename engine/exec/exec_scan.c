/*
 * exec_scan.c: the scan operator, the leaf that turns storage batches into
 * chunks. One storage batch (one series, ascending time) becomes one chunk:
 *   - time and field columns point into the batch (no copy); validity
 *     bitmaps with NULLs are expanded to one byte per row; string fields
 *     get (pointer, length) pairs;
 *   - each tag is a const vector holding the series' value;
 *   - rows outside [t_lo, t_hi) are trimmed by binary search, so the time
 *     range is exact whatever storage's block granularity.
 * The series filter (tag conditions storage cannot express) is evaluated
 * here, once per series, on a one-row chunk of the series' tags, when
 * storage calls back. Cancellation and the deadline are checked per batch.
 */
#include "exec_int.h"

#include <stdlib.h>
#include <string.h>

struct scan_op {
    struct exec_op op;
    const struct plan_scan *ps;
    struct stor_scan_spec spec;
    void *scan;
    bool done;
    uint32_t n_cols;
    struct exec_chunk out;
    struct exec_vec *vecs;
    struct exec_col *nullbufs; /* per column: expanded validity */
    struct exec_col *strbufs;  /* per column: string pairs */
    struct plan_str *tagval;   /* per column: tag value of the current series */
    uint8_t *tagnull;
    const struct stor_series *tag_series; /* tagval holds this series' tags */
    uint32_t tag_series_id;
    /* series filter */
    struct exec_expr *sf;
    struct exec_chunk sfc;
    struct exec_vec *sfvecs;
    struct plan_str *sfval;
    uint8_t *sfnull;
    enum st_code sf_rc;
    struct st_error sf_err;
};

/* The tag value of a series for scan column c (NULL when absent). */
static const char *
tag_of(const struct scan_op *s, uint32_t c, const struct stor_series *se)
{
    uint32_t ti = s->ps->out[c].tag_index;
    return ti < se->n_tags ? se->tags[ti] : NULL;
}

static bool
series_cb(void *ctx, const struct stor_series *se)
{
    struct scan_op *s = ctx;
    for (uint32_t c = 0; c < s->n_cols; c++) {
        struct exec_vec *v = &s->sfvecs[c];
        v->type = s->op.pn->cols[c].type;
        v->is_const = true;
        v->v.p = &s->sfval[c];
        s->sfnull[c] = 1;
        if (s->ps->out[c].kind == CAT_COL_TAG) {
            const char *t = tag_of(s, c, se);
            if (t) {
                s->sfval[c].p = t;
                s->sfval[c].len = (uint32_t)strlen(t);
                s->sfnull[c] = 0;
            }
        } else {
            memset(&s->sfval[c], 0, sizeof s->sfval[c]);
        }
        v->nulls = s->sfnull[c] ? &s->sfnull[c] : NULL;
    }
    s->sfc.n = 1;
    s->sfc.n_cols = s->n_cols;
    s->sfc.cols = s->sfvecs;
    s->sfc.series = se;
    const struct exec_vec *r;
    struct st_error e;
    enum st_code rc = exec__expr_eval(s->sf, &s->sfc, &r, &e);
    if (rc != ST_OK) {
        /* conditions that can fail stay in the row filter, which reports
         * the error if a row of this series is read; resource errors stop */
        if ((rc == ST_ENOMEM || rc == ST_ELIMIT) && s->sf_rc == ST_OK) {
            s->sf_rc = rc;
            s->sf_err = e;
        }
        return rc != ST_ENOMEM && rc != ST_ELIMIT;
    }
    return !(r->nulls && r->nulls[0]) && r->v.b[0];
}

static uint32_t
lower_bound(const int64_t *t, uint32_t n, int64_t v)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static enum st_code
build_field(struct scan_op *s, uint32_t c, const struct st_column *col, uint32_t a, uint32_t n,
            struct st_error *err)
{
    struct exec_vec *v = &s->vecs[c];
    v->type = (enum plan_type)col->type;
    v->is_const = false;
    v->nulls = NULL;
    if (col->validity && col->null_count > 0) {
        struct exec_col *nb = &s->nullbufs[c];
        nb->type = PT_BOOL;
        ST_TRY(exec__col_reserve(s->op.ctx, nb, n, err));
        uint8_t *o = nb->data;
        bool any = false;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t r = a + i;
            o[i] = !((col->validity[r >> 3] >> (r & 7)) & 1);
            any |= o[i];
        }
        v->nulls = any ? o : NULL;
    }
    switch (col->type) {
    case ST_TYPE_BOOL:
        v->v.b = col->v.b + a;
        break;
    case ST_TYPE_STRING: {
        struct exec_col *sb = &s->strbufs[c];
        sb->type = PT_STRING;
        ST_TRY(exec__col_reserve(s->op.ctx, sb, n, err));
        struct plan_str *o = sb->data;
        for (uint32_t i = 0; i < n; i++) {
            int32_t x = col->v.offsets[a + i], y = col->v.offsets[a + i + 1];
            o[i].p = col->str_data + x;
            o[i].len = (uint32_t)(y - x);
        }
        v->v.s = o;
        break;
    }
    default:
        v->v.i64 = col->v.i64 + a;
        break;
    }
    return ST_OK;
}

static enum st_code
scan_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct scan_op *s = (struct scan_op *)op;
    struct exec_ctx *c = op->ctx;
    *out = NULL;
    while (!s->done) {
        ST_TRY(exec__check(c, err));
        const struct stor_batch *b = NULL;
        enum st_code rc = c->src->next(s->scan, &b, err);
        if (s->sf_rc != ST_OK) {
            if (err)
                *err = s->sf_err;
            return s->sf_rc;
        }
        if (rc != ST_OK)
            return rc;
        if (!b) {
            s->done = true;
            break;
        }
        uint32_t n = b->n_rows, a = 0, z = n;
        if (n == 0)
            continue;
        if (b->time[0] < s->spec.t_lo)
            a = lower_bound(b->time, n, s->spec.t_lo);
        if (b->time[n - 1] >= s->spec.t_hi)
            z = lower_bound(b->time, n, s->spec.t_hi);
        if (a >= z)
            continue;
        uint32_t m = z - a;
        c->stats.rows_scanned += m;
        if (b->series != s->tag_series || b->series->id != s->tag_series_id) {
            for (uint32_t k = 0; k < s->n_cols; k++) {
                if (s->ps->out[k].kind != CAT_COL_TAG)
                    continue;
                const char *t = tag_of(s, k, b->series);
                s->tagnull[k] = t == NULL;
                s->tagval[k].p = t ? t : "";
                s->tagval[k].len = t ? (uint32_t)strlen(t) : 0;
            }
            s->tag_series = b->series;
            s->tag_series_id = b->series->id;
        }
        for (uint32_t k = 0; k < s->n_cols; k++) {
            struct exec_vec *v = &s->vecs[k];
            const struct plan_scan_col *sc = &s->ps->out[k];
            switch (sc->kind) {
            case CAT_COL_TIME:
                v->type = PT_TIME;
                v->is_const = false;
                v->nulls = NULL;
                v->v.i64 = b->time + a;
                break;
            case CAT_COL_TAG:
                v->type = PT_STRING;
                v->is_const = true;
                v->nulls = s->tagnull[k] ? &s->tagnull[k] : NULL;
                v->v.s = &s->tagval[k];
                break;
            case CAT_COL_FIELD:
                ST_TRY(build_field(s, k, &b->fields[sc->field], a, m, err));
                break;
            }
        }
        s->out.n = m;
        s->out.series = b->series;
        *out = &s->out;
        return ST_OK;
    }
    return ST_OK;
}

static void
scan_free(struct exec_op *op)
{
    struct scan_op *s = (struct scan_op *)op;
    if (s->scan)
        op->ctx->src->close(s->scan);
    for (uint32_t k = 0; k < s->n_cols; k++) {
        if (s->nullbufs)
            exec__col_free(op->ctx, &s->nullbufs[k]);
        if (s->strbufs)
            exec__col_free(op->ctx, &s->strbufs[k]);
    }
    exec__expr_free(op->ctx, s->sf);
    free(s->vecs);
    free(s->nullbufs);
    free(s->strbufs);
    free(s->tagval);
    free(s->tagnull);
    free(s->sfvecs);
    free(s->sfval);
    free(s->sfnull);
    free(s);
}

static const struct exec_op_vt scan_vt = {scan_next, scan_free};

enum st_code
exec__scan_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op **out,
               struct st_error *err)
{
    struct scan_op *s = calloc(1, sizeof *s);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    s->op.vt = &scan_vt;
    s->op.ctx = c;
    s->op.pn = pn;
    *out = &s->op;
    s->ps = &pn->u.scan;
    s->spec = pn->u.scan.spec;
    if (c->window_scan == pn) {
        s->spec.t_lo = c->window_lo;
        s->spec.t_hi = c->window_hi;
    }
    if (c->full_scan == pn)
        s->spec.mode = STOR_SCAN_ALL;
    if (c->batch_rows && (s->spec.max_rows == 0 || s->spec.max_rows > c->batch_rows))
        s->spec.max_rows = c->batch_rows;
    uint32_t n = pn->n_cols ? pn->n_cols : 1;
    s->n_cols = pn->n_cols;
    s->vecs = calloc(n, sizeof *s->vecs);
    s->nullbufs = calloc(n, sizeof *s->nullbufs);
    s->strbufs = calloc(n, sizeof *s->strbufs);
    s->tagval = calloc(n, sizeof *s->tagval);
    s->tagnull = calloc(n, 1);
    s->sfvecs = calloc(n, sizeof *s->sfvecs);
    s->sfval = calloc(n, sizeof *s->sfval);
    s->sfnull = calloc(n, 1);
    if (!s->vecs || !s->nullbufs || !s->strbufs || !s->tagval || !s->tagnull || !s->sfvecs ||
        !s->sfval || !s->sfnull)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    s->out.n_cols = pn->n_cols;
    s->out.cols = s->vecs;
    if (s->spec.t_lo >= s->spec.t_hi) {
        s->done = true; /* the WHERE clause selects no time at all */
        return ST_OK;
    }
    if (s->ps->series_filter) {
        ST_TRY(exec__expr_compile(c, s->ps->series_filter, &s->sf, err));
        s->spec.series_filter = series_cb;
        s->spec.series_ctx = s;
    }
    c->stats.scans_opened++;
    return c->src->open(c->src->ctx, &s->spec, &s->scan, err);
}
