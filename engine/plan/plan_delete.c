/*
 * plan_delete.c: DELETE FROM t [WHERE ...] mapped onto the engine's
 * predicate deletes (a time range plus tag equalities). The WHERE clause is
 * bound like a query's, split on AND, and every conjunct must be one of
 *   time <op> <constant>       (op: = < <= > >=; BETWEEN is two of these)
 *   tag = '<string>'
 *   tag IN ('<string>', ...)
 * Anything else (fields, OR, NOT, LIKE, functions of columns) is refused
 * with the position of the offending condition: deleting by field values
 * or arbitrary predicates is not expressible as a durable predicate delete.
 */
#include "plan_int.h"

#include <string.h>

static enum st_code
refuse(struct plan_binder *b, uint32_t pos)
{
    plan__fail(b, ST_EUNSUPPORTED, pos,
               "DELETE supports only conditions on time (=, <, <=, >, >=, BETWEEN) and tag = / "
               "IN conditions, joined by AND");
    return ST_EUNSUPPORTED;
}

static bool
narrow(int64_t *lo, int64_t *hi, enum plan_fn fn, int64_t c)
{
    switch (fn) {
    case PF_EQ:
        if (c > *lo)
            *lo = c;
        if (c < INT64_MAX && c + 1 < *hi)
            *hi = c + 1;
        return true;
    case PF_GT:
        if (c == INT64_MAX)
            *hi = *lo; /* empty */
        else if (c + 1 > *lo)
            *lo = c + 1;
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
        if (c < INT64_MAX && c + 1 < *hi)
            *hi = c + 1;
        return true;
    default:
        return false;
    }
}

static enum st_code
add_tag(struct plan_binder *b, struct plan_delete *d, uint32_t *cap, const char *tag,
        uint32_t n, const char **vals, bool in)
{
    if (d->n_tags == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        struct plan_delete_tag *v = plan__alloc(b, ncap * sizeof *v);
        if (!v)
            return ST_ENOMEM;
        if (d->n_tags)
            memcpy(v, d->tags, d->n_tags * sizeof *v);
        d->tags = v;
        *cap = ncap;
    }
    struct plan_delete_tag *t = &d->tags[d->n_tags++];
    t->tag = tag;
    t->n_values = n;
    t->values = vals;
    t->in = in;
    return ST_OK;
}

static const char *
cstr(struct plan_binder *b, const struct plan_value *v)
{
    char *s = sql_arena_strndup(b->a, v->v.s.p, v->v.s.len);
    if (!s)
        plan__oom(b);
    return s;
}

enum st_code
plan__bind_delete(struct plan_binder *b, const struct sql_stmt *st, struct plan_delete *d)
{
    const struct cat_table *t = plan__lookup_table(b, st->table, st->table_pos);
    if (!t)
        return b->err ? b->err->code : ST_EBIND;
    struct plan_node *scan = plan__scan_node(b, t);
    if (!scan)
        return ST_ENOMEM;

    d->table = st->table;
    d->t_lo = INT64_MIN;
    d->t_hi = INT64_MAX;
    if (!st->where)
        return ST_OK;
    struct plan_scope sc = {.node = scan, .qual = st->table, .table_name = st->table};
    struct plan_mode m = {.sc = &sc, .agg = NULL, .clause = "DELETE"};
    struct plan_expr *pred = plan__bind_expr(b, &m, st->where);
    if (!pred)
        return b->err ? b->err->code : ST_EBIND;
    if (pred->type != PT_BOOL)
        return st_error_set_at(b->err, ST_ETYPE, st->where->pos,
                               "argument of WHERE must be boolean, not %s",
                               plan_type_name(pred->type));
    struct plan_expr *const *conj = &pred;
    uint32_t n = 1;
    if (pred->kind == PE_AND) {
        conj = pred->u.logic.args;
        n = pred->u.logic.n_args;
    }
    uint32_t cap = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct plan_expr *c = conj[i];
        if (c->kind == PE_CONST) {
            if (c->u.c.is_null || !c->u.c.v.b)
                d->t_hi = d->t_lo; /* matches nothing */
            continue;
        }
        if (c->kind == PE_CALL && c->u.call.fn >= PF_EQ && c->u.call.fn <= PF_GE &&
            c->u.call.fn != PF_NE) {
            const struct plan_expr *l = c->u.call.args[0], *r = c->u.call.args[1];
            if (l->kind != PE_COL || r->kind != PE_CONST || r->u.c.is_null)
                return refuse(b, c->pos);
            const struct plan_scan_col *sc_col = &scan->u.scan.out[l->u.col];
            if (sc_col->kind == CAT_COL_TIME && r->type == PT_TIME) {
                narrow(&d->t_lo, &d->t_hi, c->u.call.fn, r->u.c.v.i);
                continue;
            }
            if (sc_col->kind == CAT_COL_TAG && c->u.call.fn == PF_EQ && r->type == PT_STRING) {
                const char **vals = plan__alloc(b, sizeof *vals);
                if (!vals || !(vals[0] = cstr(b, &r->u.c)))
                    return ST_ENOMEM;
                if (add_tag(b, d, &cap, scan->cols[l->u.col].name, 1, vals, false) != ST_OK)
                    return ST_ENOMEM;
                continue;
            }
            return refuse(b, c->pos);
        }
        if (c->kind == PE_IN && !c->negated && !c->u.in.has_null &&
            c->u.in.arg->kind == PE_COL &&
            scan->u.scan.out[c->u.in.arg->u.col].kind == CAT_COL_TAG) {
            const char **vals = plan__alloc(b, (c->u.in.n + 1) * sizeof *vals);
            if (!vals)
                return ST_ENOMEM;
            for (uint32_t k = 0; k < c->u.in.n; k++)
                if (!(vals[k] = cstr(b, &c->u.in.vals[k])))
                    return ST_ENOMEM;
            if (add_tag(b, d, &cap, scan->cols[c->u.in.arg->u.col].name, c->u.in.n, vals, true) !=
                ST_OK)
                return ST_ENOMEM;
            continue;
        }
        return refuse(b, c->pos);
    }
    if (d->t_lo > d->t_hi)
        d->t_hi = d->t_lo;
    return ST_OK;
}
