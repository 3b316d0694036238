/*
 * plan_rule_window.c: limit pushdown into time for "the newest (or oldest)
 * k buckets" queries, e.g. TSBS groupby-orderby-limit:
 *
 *   SELECT date_bin(INTERVAL '1 minute', time, ...) AS minute, max(x)
 *   FROM t WHERE time < '...' GROUP BY minute ORDER BY minute DESC LIMIT 5
 *
 * Shape: Limit -> Sort (first key a date_bin key, DESC or ASC) -> Project
 * -> [Filter] -> Aggregate -> [Filter] -> Scan. Every bucket that has rows
 * gives at least one output row, so the first k + offset rows come from the
 * k + offset newest buckets that have data. The executor (PN_WINDOW) reads
 * the estimate's newest time, scans only the aligned window of that many
 * buckets, and widens it (x4) while the result is short, until the window
 * covers the query's whole time range. Bucket boundaries are aligned with
 * date_bin's own stride and origin, so no bucket is ever cut in half.
 */
#include "plan_int.h"

enum st_code
plan__rule_window(struct plan_binder *b, struct plan_node **root)
{
    for (struct plan_node **link = root; *link; link = &(*link)->child) {
        struct plan_node *lim = *link;
        if (lim->kind != PN_LIMIT || lim->u.limit.limit == UINT64_MAX)
            continue;
        uint64_t need = lim->u.limit.limit + lim->u.limit.offset;
        if (need < lim->u.limit.limit || need == 0 || need > PLAN_MAX_TOPN)
            continue;
        struct plan_node *sort = lim->child;
        if (!sort || sort->kind != PN_SORT)
            continue;
        struct plan_node *proj = sort->child;
        if (!proj || proj->kind != PN_PROJECT)
            continue;
        const struct plan_expr *pe = proj->u.project.exprs[sort->u.sort.keys[0].col];
        if (pe->kind != PE_COL)
            continue;
        struct plan_node *agg = proj->child;
        if (agg && agg->kind == PN_FILTER)
            agg = agg->child;
        if (!agg || agg->kind != PN_AGG || pe->u.col >= agg->u.agg.n_keys)
            continue;
        const struct plan_expr *key = agg->u.agg.keys[pe->u.col];
        if (key->kind != PE_CALL || key->u.call.fn != PF_DATE_BIN)
            continue;
        const struct plan_expr *t = key->u.call.args[1];
        struct plan_node *scan = agg->child;
        if (scan && scan->kind == PN_FILTER)
            scan = scan->child;
        if (!scan || scan->kind != PN_SCAN || t->kind != PE_COL ||
            scan->u.scan.out[t->u.col].kind != CAT_COL_TIME ||
            scan->u.scan.spec.mode != STOR_SCAN_ALL || scan->u.scan.window)
            continue;
        struct plan_scan *s = &scan->u.scan;
        s->window = true;
        s->window_desc = sort->u.sort.keys[0].desc;
        s->window_stride = key->u.call.args[0]->u.c.v.i;
        s->window_origin = key->u.call.args[2]->u.c.v.i;
        s->window_need = need;
        s->spec.newest_partition_first = s->window_desc;
        struct plan_node *w = plan__alloc(b, sizeof *w);
        if (!w)
            return ST_ENOMEM;
        w->kind = PN_WINDOW;
        w->child = lim;
        w->n_cols = lim->n_cols;
        w->cols = lim->cols;
        w->u.window.scan = scan;
        *link = w;
        link = &w->child; /* continue below the window */
    }
    return ST_OK;
}
