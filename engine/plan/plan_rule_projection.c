/*
 * plan_rule_projection.c: projection pushdown. A scan starts out producing
 * every column of its table; this rule finds the columns its consumers
 * actually read (the filter above it, then the projection or aggregation
 * above that, and the series filter), keeps only those, remaps the column
 * indexes in those expressions, and asks storage only for the fields still
 * needed. count(*) reads no field at all.
 */
#include "plan_int.h"

#include <string.h>

struct mark {
    bool *used;
};

static void
mark_col(void *ctx, uint32_t *col)
{
    ((struct mark *)ctx)->used[*col] = true;
}

static void
remap_col(void *ctx, uint32_t *col)
{
    *col = ((const uint32_t *)ctx)[*col];
}

/* Apply fn to every expression of `x` that reads its child's columns. */
static bool
for_consumer_exprs(struct plan_node *x, void (*fn)(void *, uint32_t *), void *ctx)
{
    switch (x->kind) {
    case PN_FILTER:
        plan__walk_cols(x->u.filter.pred, fn, ctx);
        return true;
    case PN_PROJECT:
        for (uint32_t i = 0; i < x->n_cols; i++)
            plan__walk_cols(x->u.project.exprs[i], fn, ctx);
        return true;
    case PN_AGG:
        for (uint32_t i = 0; i < x->u.agg.n_keys; i++)
            plan__walk_cols(x->u.agg.keys[i], fn, ctx);
        for (uint32_t i = 0; i < x->u.agg.n_aggs; i++) {
            plan__walk_cols(x->u.agg.aggs[i].arg, fn, ctx);
            plan__walk_cols(x->u.agg.aggs[i].time, fn, ctx);
        }
        return true;
    default:
        return false; /* reads columns positionally: keep everything */
    }
}

static enum st_code
prune(struct plan_binder *b, struct plan_node *consumer, struct plan_node *filter,
      struct plan_node *scan)
{
    uint32_t n = scan->n_cols;
    bool *used = plan__alloc(b, (n + 1) * sizeof *used);
    uint32_t *map = plan__alloc(b, (n + 1) * sizeof *map);
    if (!used || !map)
        return ST_ENOMEM;
    struct mark m = {used};
    if (filter)
        for_consumer_exprs(filter, mark_col, &m);
    if (!for_consumer_exprs(consumer, mark_col, &m))
        return ST_OK;
    plan__walk_cols(scan->u.scan.series_filter, mark_col, &m);

    struct plan_scan *s = &scan->u.scan;
    uint32_t k = 0, nf = 0;
    uint32_t *fields = plan__alloc(b, (s->spec.n_field_cols + 1) * sizeof *fields);
    if (!fields)
        return ST_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (!used[i])
            continue;
        map[i] = k;
        scan->cols[k] = scan->cols[i];
        struct plan_scan_col oc = s->out[i];
        if (oc.kind == CAT_COL_FIELD) {
            fields[nf] = s->spec.field_cols[oc.field];
            oc.field = nf++;
        }
        s->out[k] = oc;
        k++;
    }
    scan->n_cols = k;
    s->spec.field_cols = fields;
    s->spec.n_field_cols = nf;
    if (filter) {
        filter->n_cols = k;
        memcpy(filter->cols, scan->cols, k * sizeof *scan->cols);
        for_consumer_exprs(filter, remap_col, map);
    }
    for_consumer_exprs(consumer, remap_col, map);
    plan__walk_cols(s->series_filter, remap_col, map);
    return ST_OK;
}

enum st_code
plan__rule_projection(struct plan_binder *b, struct plan_node *root)
{
    struct plan_node *prev2 = NULL, *prev = NULL;
    for (struct plan_node *n = root; n; n = n->child) {
        if (n->kind == PN_SCAN && prev) {
            if (prev->kind == PN_FILTER) {
                if (prev2)
                    ST_TRY(prune(b, prev2, prev, n));
            } else {
                ST_TRY(prune(b, prev, NULL, n));
            }
        }
        prev2 = prev;
        prev = n;
    }
    return ST_OK;
}
