/*
 * plan_rule_pushdown.c: predicate pushdown, the first planner rule. A
 * WHERE filter sitting on a scan is split on AND and each condition goes as
 * far down as it can:
 *   time <op> constant            -> the scan's [t_lo, t_hi) (exact, dropped)
 *   tag = / != / IN / NOT IN 'str' -> stor_tag_pred (exact, dropped)
 *   any other condition on tags only (LIKE, ~, OR, IS NULL, ...)
 *                                 -> the series filter, evaluated once per
 *                                    series by storage (dropped, unless it can
 *                                    raise an error: then it stays as well, and
 *                                    the series filter lets the series through
 *                                    on error so the row-level check reports it)
 *   numeric field <op> constant   -> stor_field_range block-pruning hint (kept)
 *   constant true                 -> dropped; constant false/NULL -> empty scan
 * What is left stays in the filter; an empty filter is removed.
 */
#include "plan_int.h"

#include <math.h>
#include <string.h>

struct push {
    struct plan_binder *b;
    struct plan_node *scan;
    struct plan_expr **residual;
    uint32_t n_residual;
    struct plan_expr **series;
    uint32_t n_series;
    struct stor_tag_pred *tags;
    uint32_t n_tags;
    struct stor_field_range *ranges;
    uint32_t n_ranges;
};

static const struct plan_scan_col *
scol(const struct push *p, const struct plan_expr *e)
{
    if (e->kind != PE_COL)
        return NULL;
    return &p->scan->u.scan.out[e->u.col];
}

static bool
is_kind(const struct push *p, const struct plan_expr *e, enum cat_col_kind k)
{
    const struct plan_scan_col *c = scol(p, e);
    return c && c->kind == k;
}

static bool
narrow_time(struct plan_scan *s, enum plan_fn fn, int64_t c)
{
    int64_t *lo = &s->spec.t_lo, *hi = &s->spec.t_hi;
    switch (fn) {
    case PF_EQ:
        if (c > *lo)
            *lo = c;
        if (c == INT64_MAX)
            return true; /* [c, +inf) is right: nothing lies above INT64_MAX */
        if (c + 1 < *hi)
            *hi = c + 1;
        return true;
    case PF_GT:
        if (c == INT64_MAX) {
            *lo = INT64_MAX;
            *hi = INT64_MIN;
        } else if (c + 1 > *lo) {
            *lo = c + 1;
        }
        return true;
    case PF_GE:
        if (c > *lo)
            *lo = c;
        return true;
    case PF_LT:
        if (c < *hi)
            *hi = c;
        return true;
    case PF_LE:
        if (c != INT64_MAX && c + 1 < *hi)
            *hi = c + 1;
        return true;
    default:
        return false;
    }
}

/* A C string copy of a tag value; NULL if it holds a NUL byte (cannot be pushed). */
static const char *
tag_cstr(struct push *p, const struct plan_value *v)
{
    if (memchr(v->v.s.p, '\0', v->v.s.len))
        return NULL;
    return sql_arena_strndup(p->b->a, v->v.s.p, v->v.s.len);
}

static bool
try_tag_pred(struct push *p, const struct plan_expr *c)
{
    struct stor_tag_pred tp = {0};
    if (c->kind == PE_CALL && (c->u.call.fn == PF_EQ || c->u.call.fn == PF_NE)) {
        const struct plan_expr *l = c->u.call.args[0], *r = c->u.call.args[1];
        if (!is_kind(p, l, CAT_COL_TAG) || r->kind != PE_CONST || r->u.c.is_null ||
            r->type != PT_STRING)
            return false;
        const char **v = plan__alloc(p->b, sizeof *v);
        if (!v || !(v[0] = tag_cstr(p, &r->u.c)))
            return false;
        tp.tag_index = scol(p, l)->tag_index;
        tp.op = c->u.call.fn == PF_EQ ? STOR_TAG_EQ : STOR_TAG_NE;
        tp.n_values = 1;
        tp.values = v;
    } else if (c->kind == PE_IN) {
        if (!is_kind(p, c->u.in.arg, CAT_COL_TAG) || c->u.in.has_null || c->u.in.n == 0)
            return false;
        const char **v = plan__alloc(p->b, c->u.in.n * sizeof *v);
        if (!v)
            return false;
        for (uint32_t i = 0; i < c->u.in.n; i++)
            if (!(v[i] = tag_cstr(p, &c->u.in.vals[i])))
                return false;
        tp.tag_index = scol(p, c->u.in.arg)->tag_index;
        tp.op = c->negated ? STOR_TAG_NOT_IN : STOR_TAG_IN;
        tp.n_values = c->u.in.n;
        tp.values = v;
    } else {
        return false;
    }
    p->tags[p->n_tags++] = tp;
    return true;
}

struct refs {
    const struct push *p;
    bool tags_only;
    bool any;
};

static void
ref_check(void *ctx, uint32_t *col)
{
    struct refs *r = ctx;
    r->any = true;
    if (r->p->scan->u.scan.out[*col].kind != CAT_COL_TAG)
        r->tags_only = false;
}

/* Can evaluating this expression raise an error (overflow, bad cast, ...)? */
static bool
may_error(const struct plan_expr *e)
{
    switch (e->kind) {
    case PE_CONST:
    case PE_COL:
        return false;
    case PE_CAST:
        return true;
    case PE_CALL:
        switch (e->u.call.fn) {
        case PF_EQ:
        case PF_NE:
        case PF_LT:
        case PF_LE:
        case PF_GT:
        case PF_GE:
        case PF_CONCAT:
        case PF_CONCAT_FN:
        case PF_LOWER:
        case PF_UPPER:
        case PF_LENGTH:
        case PF_TRIM:
        case PF_REPLACE:
        case PF_COALESCE:
        case PF_NULLIF:
            break;
        default:
            return true;
        }
        for (uint32_t i = 0; i < e->u.call.n_args; i++)
            if (may_error(e->u.call.args[i]))
                return true;
        return false;
    case PE_AND:
    case PE_OR:
    case PE_NOT:
    case PE_IS_NULL:
        for (uint32_t i = 0; i < e->u.logic.n_args; i++)
            if (may_error(e->u.logic.args[i]))
                return true;
        return false;
    case PE_CASE:
        for (uint32_t i = 0; i < e->u.cas.n_when; i++)
            if (may_error(e->u.cas.when[i]) || may_error(e->u.cas.then[i]))
                return true;
        return may_error(e->u.cas.els);
    case PE_IN:
        return may_error(e->u.in.arg);
    case PE_LIKE:
        return may_error(e->u.like.arg);
    case PE_REGEX:
        return may_error(e->u.re.arg);
    }
    return true;
}

static double
to_double_low(const struct plan_value *v)
{
    switch (v->type) {
    case PT_INT:
        return (double)v->v.i - (v->v.i > (1LL << 53) || v->v.i < -(1LL << 53) ? 2048.0 : 0.0);
    case PT_UINT:
        return (double)v->v.u - (v->v.u > (1ULL << 53) ? 2048.0 : 0.0);
    default:
        return v->v.f;
    }
}

static double
to_double_high(const struct plan_value *v)
{
    switch (v->type) {
    case PT_INT:
        return (double)v->v.i + (v->v.i > (1LL << 53) || v->v.i < -(1LL << 53) ? 2048.0 : 0.0);
    case PT_UINT:
        return (double)v->v.u + (v->v.u > (1ULL << 53) ? 2048.0 : 0.0);
    default:
        return v->v.f;
    }
}

static void
try_field_range(struct push *p, const struct plan_expr *c)
{
    if (c->kind != PE_CALL || c->u.call.fn < PF_EQ || c->u.call.fn > PF_GE ||
        c->u.call.fn == PF_NE)
        return;
    const struct plan_expr *l = c->u.call.args[0], *r = c->u.call.args[1];
    if (!is_kind(p, l, CAT_COL_FIELD) || r->kind != PE_CONST || r->u.c.is_null ||
        !plan__is_numeric(r->type) || !plan__is_numeric(l->type))
        return;
    double lo = -INFINITY, hi = INFINITY;
    switch (c->u.call.fn) {
    case PF_EQ:
        lo = to_double_low(&r->u.c);
        hi = to_double_high(&r->u.c);
        break;
    case PF_GT:
    case PF_GE:
        lo = to_double_low(&r->u.c);
        break;
    default:
        hi = to_double_high(&r->u.c);
        break;
    }
    const struct plan_scan *s = &p->scan->u.scan;
    uint32_t col_id = s->spec.field_cols[scol(p, l)->field];
    for (uint32_t i = 0; i < p->n_ranges; i++)
        if (p->ranges[i].col_id == col_id) {
            if (lo > p->ranges[i].lo)
                p->ranges[i].lo = lo;
            if (hi < p->ranges[i].hi)
                p->ranges[i].hi = hi;
            return;
        }
    struct stor_field_range fr = {.col_id = col_id, .lo = lo, .hi = hi};
    p->ranges[p->n_ranges++] = fr;
}

/* Returns the residual predicate (NULL when nothing is left); *failed on OOM. */
static struct plan_expr *
push_filter(struct plan_binder *b, struct plan_expr *pred, struct plan_node *scan, bool *failed)
{
    struct plan_expr *const *conj = &pred;
    uint32_t n = 1;
    if (pred->kind == PE_AND) {
        conj = pred->u.logic.args;
        n = pred->u.logic.n_args;
    }
    struct plan_scan *s = &scan->u.scan;
    struct push p = {.b = b, .scan = scan};
    p.residual = plan__alloc(b, n * sizeof *p.residual);
    p.series = plan__alloc(b, n * sizeof *p.series);
    p.tags = plan__alloc(b, (n + s->spec.n_tag_preds) * sizeof *p.tags);
    p.ranges = plan__alloc(b, (n + s->spec.n_ranges) * sizeof *p.ranges);
    if (!p.residual || !p.series || !p.tags || !p.ranges) {
        *failed = true;
        return NULL;
    }
    for (uint32_t i = 0; i < s->spec.n_tag_preds; i++)
        p.tags[p.n_tags++] = s->spec.tag_preds[i];
    for (uint32_t i = 0; i < s->spec.n_ranges; i++)
        p.ranges[p.n_ranges++] = s->spec.ranges[i];

    for (uint32_t i = 0; i < n; i++) {
        struct plan_expr *c = conj[i];
        if (c->kind == PE_CONST) {
            if (c->u.c.is_null || !c->u.c.v.b) {
                s->spec.t_lo = INT64_MAX; /* matches nothing */
                s->spec.t_hi = INT64_MIN;
            }
            continue;
        }
        if (c->kind == PE_CALL && c->u.call.fn >= PF_EQ && c->u.call.fn <= PF_GE &&
            c->u.call.fn != PF_NE && is_kind(&p, c->u.call.args[0], CAT_COL_TIME) &&
            c->u.call.args[1]->kind == PE_CONST && !c->u.call.args[1]->u.c.is_null &&
            c->u.call.args[1]->type == PT_TIME) {
            narrow_time(s, c->u.call.fn, c->u.call.args[1]->u.c.v.i);
            continue;
        }
        if (try_tag_pred(&p, c))
            continue;
        struct refs r = {&p, true, false};
        plan__walk_cols(c, ref_check, &r);
        if (r.any && r.tags_only) {
            if (may_error(c)) {
                struct plan_expr *copy = plan__clone(b, c);
                if (!copy) {
                    *failed = true;
                    return NULL;
                }
                p.residual[p.n_residual++] = copy;
            }
            p.series[p.n_series++] = c;
            continue;
        }
        try_field_range(&p, c);
        p.residual[p.n_residual++] = c;
    }
    s->spec.tag_preds = p.tags;
    s->spec.n_tag_preds = p.n_tags;
    s->spec.ranges = p.ranges;
    s->spec.n_ranges = p.n_ranges;
    if (p.n_series) {
        struct plan_expr *sf = p.series[0];
        if (p.n_series > 1 || s->series_filter) {
            uint32_t extra = s->series_filter ? 1 : 0;
            struct plan_expr **v = plan__alloc(b, (p.n_series + extra) * sizeof *v);
            sf = plan__alloc(b, sizeof *sf);
            if (!v || !sf) {
                *failed = true;
                return NULL;
            }
            memcpy(v, p.series, p.n_series * sizeof *v);
            if (extra)
                v[p.n_series] = s->series_filter;
            sf->kind = PE_AND;
            sf->type = PT_BOOL;
            sf->pos = p.series[0]->pos;
            sf->u.logic.n_args = p.n_series + extra;
            sf->u.logic.args = v;
        }
        s->series_filter = sf;
    }
    if (p.n_residual == 0)
        return NULL;
    if (p.n_residual == 1)
        return p.residual[0];
    struct plan_expr *a = plan__alloc(b, sizeof *a);
    if (!a) {
        *failed = true;
        return NULL;
    }
    a->kind = PE_AND;
    a->type = PT_BOOL;
    a->pos = pred->pos;
    a->u.logic.n_args = p.n_residual;
    a->u.logic.args = p.residual;
    return a;
}

enum st_code
plan__rule_pushdown(struct plan_binder *b, struct plan_node **root)
{
    for (struct plan_node **link = root; *link; link = &(*link)->child) {
        struct plan_node *n = *link;
        if (n->kind != PN_FILTER || !n->child || n->child->kind != PN_SCAN)
            continue;
        bool failed = false;
        struct plan_expr *rest = push_filter(b, n->u.filter.pred, n->child, &failed);
        if (failed)
            return ST_ENOMEM;
        if (rest)
            n->u.filter.pred = rest;
        else
            *link = n->child;
    }
    return ST_OK;
}
