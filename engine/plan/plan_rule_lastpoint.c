/*
 * plan_rule_lastpoint.c: lastpoint-shaped queries read only the newest row
 * of each series (STOR_SCAN_LAST, served by storage's last-value cache)
 * instead of every row. Two shapes qualify:
 *
 *   SELECT DISTINCT ON (tag, ...) ... FROM t [WHERE <tag conditions>]
 *       ORDER BY tag, ..., time DESC
 *   SELECT ... FROM t [WHERE <tag conditions>] ORDER BY time DESC LIMIT 1
 *
 *   SELECT tag, ..., max(time), last(field, time), ... FROM t
 *       [WHERE <tag and time conditions>] GROUP BY tag, ...
 *
 * All are correct on the newest rows alone: the newest row of a group of
 * series is the newest row of one of them, and storage's LAST mode returns
 * the newest row inside the scan's time range. The rest of the plan (sort,
 * DISTINCT ON, limit, aggregation) still runs, over one row per series.
 * last(x) skips NULLs, so when x is NULL in a newest row the answer may lie
 * in an older row: the aggregation then starts over with a full scan
 * (plan agg.lastpoint). The rule does not apply when a filter on fields
 * remains: it could reject a series' newest row and need an older one.
 */
#include "plan_int.h"

/* Follow a projection column down to a scan column; -1 if it is computed. */
static int
scan_col_of(const struct plan_node *proj, uint32_t col)
{
    const struct plan_expr *e = proj->u.project.exprs[col];
    return e->kind == PE_COL ? (int)e->u.col : -1;
}

static bool
eligible(const struct plan_node *scan)
{
    if (!scan || scan->kind != PN_SCAN)
        return false;
    const struct plan_scan *s = &scan->u.scan;
    return s->spec.mode == STOR_SCAN_ALL && !s->window;
}

static bool
eligible_scan(const struct plan_node *proj)
{
    return proj && proj->kind == PN_PROJECT && eligible(proj->child);
}

static bool
is_scan_kind(const struct plan_node *scan, const struct plan_expr *e, enum cat_col_kind k)
{
    return e && e->kind == PE_COL && scan->u.scan.out[e->u.col].kind == k;
}

/* GROUP BY tags with only max(time) and last(column, time) aggregates. */
static void
grouped_lastpoint(struct plan_node *agg)
{
    struct plan_node *scan = agg->child;
    if (!eligible(scan) || agg->u.agg.n_aggs == 0)
        return;
    for (uint32_t i = 0; i < agg->u.agg.n_keys; i++)
        if (!is_scan_kind(scan, agg->u.agg.keys[i], CAT_COL_TAG))
            return;
    for (uint32_t i = 0; i < agg->u.agg.n_aggs; i++) {
        const struct plan_agg *a = &agg->u.agg.aggs[i];
        bool ok = (a->fn == PA_MAX && is_scan_kind(scan, a->arg, CAT_COL_TIME)) ||
                  (a->fn == PA_LAST && a->arg && a->arg->kind == PE_COL &&
                   is_scan_kind(scan, a->time, CAT_COL_TIME));
        if (!ok)
            return;
    }
    scan->u.scan.spec.mode = STOR_SCAN_LAST;
    agg->u.agg.lastpoint = true;
}

static bool
key_is_time_desc(const struct plan_node *proj, const struct plan_sort_key *k)
{
    int c = scan_col_of(proj, k->col);
    return c >= 0 && k->desc && proj->child->u.scan.out[c].kind == CAT_COL_TIME;
}

void
plan__rule_lastpoint(struct plan_node *root)
{
    for (struct plan_node *n = root; n; n = n->child) {
        if (n->kind == PN_AGG) {
            grouped_lastpoint(n);
            continue;
        }
        struct plan_node *sort = n->child;
        if (!sort || sort->kind != PN_SORT)
            continue;
        struct plan_node *proj = sort->child;
        if (!eligible_scan(proj))
            continue;
        const struct plan_sort_key *keys = sort->u.sort.keys;
        bool ok = false;
        if (n->kind == PN_LIMIT && n->u.limit.limit == 1 && n->u.limit.offset == 0) {
            ok = key_is_time_desc(proj, &keys[0]);
        } else if (n->kind == PN_DISTINCT && n->u.distinct.n_on > 0) {
            uint32_t k = n->u.distinct.n_on;
            ok = sort->u.sort.n_keys > k && key_is_time_desc(proj, &keys[k]);
            for (uint32_t i = 0; ok && i < k; i++) {
                int c = scan_col_of(proj, n->u.distinct.on[i]);
                ok = c >= 0 && proj->child->u.scan.out[c].kind == CAT_COL_TAG;
            }
        }
        if (ok)
            proj->child->u.scan.spec.mode = STOR_SCAN_LAST;
    }
}
