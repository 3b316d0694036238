/*
 * plan_rule_topn.c: ORDER BY ... LIMIT n [OFFSET m] keeps only the first
 * n + m rows while sorting (a bounded heap instead of a full sort), when
 * n + m is at most PLAN_MAX_TOPN.
 */
#include "plan_int.h"

void
plan__rule_topn(struct plan_node *root)
{
    for (struct plan_node *n = root; n; n = n->child) {
        if (n->kind != PN_LIMIT || !n->child || n->child->kind != PN_SORT)
            continue;
        uint64_t lim = n->u.limit.limit, off = n->u.limit.offset;
        if (lim == UINT64_MAX || off > PLAN_MAX_TOPN || lim > PLAN_MAX_TOPN - off)
            continue;
        n->child->u.sort.top = lim + off == 0 ? 1 : lim + off;
    }
}
