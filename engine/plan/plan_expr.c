/*
 * plan_expr.c: constructors and helpers for bound expressions: constants,
 * column references, calls, implicit conversion (coerce), constant folding
 * through the scalar semantics of plan_value.c, structural equality (used
 * to match select items with GROUP BY keys and to share aggregates) and a
 * walker over column references (used by the rules to remap columns).
 */
#include "plan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void *
plan__fail(struct plan_binder *b, enum st_code code, uint32_t pos, const char *fmt, ...)
{
    char msg[ST_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st_error_set_at(b->err, code, pos, "%s", msg);
    return NULL;
}

void *
plan__oom(struct plan_binder *b)
{
    return plan__fail(b, ST_ENOMEM, 0, "out of memory while planning");
}

void *
plan__alloc(struct plan_binder *b, size_t n)
{
    void *p = sql_arena_alloc(b->a, n);
    if (!p)
        plan__oom(b);
    return p;
}

struct plan_expr *
plan__const(struct plan_binder *b, const struct plan_value *v, uint32_t pos)
{
    struct plan_expr *e = plan__alloc(b, sizeof *e);
    if (!e)
        return NULL;
    e->kind = PE_CONST;
    e->type = v->type;
    e->pos = pos;
    e->u.c = *v;
    return e;
}

struct plan_expr *
plan__col(struct plan_binder *b, uint32_t col, enum plan_type t, uint32_t pos)
{
    struct plan_expr *e = plan__alloc(b, sizeof *e);
    if (!e)
        return NULL;
    e->kind = PE_COL;
    e->type = t;
    e->pos = pos;
    e->u.col = col;
    return e;
}

struct plan_expr *
plan__call(struct plan_binder *b, enum plan_fn fn, enum plan_type t, uint32_t pos, uint32_t n,
           struct plan_expr *const *args)
{
    struct plan_expr *e = plan__alloc(b, sizeof *e);
    struct plan_expr **v = n ? plan__alloc(b, n * sizeof *v) : NULL;
    if (!e || (n && !v))
        return NULL;
    e->kind = PE_CALL;
    e->type = t;
    e->pos = pos;
    e->u.call.fn = fn;
    e->u.call.n_args = n;
    e->u.call.args = v;
    for (uint32_t i = 0; i < n; i++)
        v[i] = args[i];
    return plan__fold(b, e);
}

bool
plan__is_numeric(enum plan_type t)
{
    return t == PT_INT || t == PT_UINT || t == PT_FLOAT;
}

struct plan_expr *
plan__coerce(struct plan_binder *b, struct plan_expr *e, enum plan_type t)
{
    if (!e || e->type == t)
        return e;
    if (e->kind == PE_CONST) {
        struct plan_value v;
        if (plan_cast_value(&e->u.c, t, b->a, &v, e->pos, b->err) != ST_OK)
            return NULL;
        return plan__const(b, &v, e->pos);
    }
    struct plan_expr *c = plan__alloc(b, sizeof *c);
    if (!c)
        return NULL;
    c->kind = PE_CAST;
    c->type = t;
    c->pos = e->pos;
    c->u.cast.arg = e;
    return c;
}

static bool
all_const(struct plan_expr *const *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i]->kind != PE_CONST)
            return false;
    return true;
}

struct plan_expr *
plan__fold(struct plan_binder *b, struct plan_expr *e)
{
    if (!e)
        return NULL;
    struct plan_value v;
    switch (e->kind) {
    case PE_CALL: {
        if (!all_const(e->u.call.args, e->u.call.n_args) || e->u.call.fn == PF_NOW)
            return e;
        struct plan_value args[8];
        if (e->u.call.n_args > 8)
            return e;
        for (uint32_t i = 0; i < e->u.call.n_args; i++)
            args[i] = e->u.call.args[i]->u.c;
        if (plan_eval_fn(e->u.call.fn, args, e->u.call.n_args, e->type, b->a, &v, e->pos,
                         b->err) != ST_OK)
            return NULL;
        v.type = e->type;
        return plan__const(b, &v, e->pos);
    }
    case PE_CAST:
        if (e->u.cast.arg->kind != PE_CONST)
            return e;
        if (plan_cast_value(&e->u.cast.arg->u.c, e->type, b->a, &v, e->pos, b->err) != ST_OK)
            return NULL;
        return plan__const(b, &v, e->pos);
    default:
        return e;
    }
}

static bool
value_equal(const struct plan_value *a, const struct plan_value *b)
{
    if (a->type != b->type || a->is_null != b->is_null)
        return false;
    if (a->is_null)
        return true;
    if (a->type == PT_FLOAT)
        return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    return plan_value_cmp(a, b) == 0;
}

static bool
list_equal(struct plan_expr *const *a, struct plan_expr *const *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!plan__expr_equal(a[i], b[i]))
            return false;
    return true;
}

bool
plan__expr_equal(const struct plan_expr *a, const struct plan_expr *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind || a->type != b->type || a->negated != b->negated)
        return false;
    switch (a->kind) {
    case PE_CONST:
        return value_equal(&a->u.c, &b->u.c);
    case PE_COL:
        return a->u.col == b->u.col;
    case PE_CALL:
        return a->u.call.fn == b->u.call.fn && a->u.call.n_args == b->u.call.n_args &&
               list_equal(a->u.call.args, b->u.call.args, a->u.call.n_args);
    case PE_CAST:
        return plan__expr_equal(a->u.cast.arg, b->u.cast.arg);
    case PE_AND:
    case PE_OR:
    case PE_NOT:
    case PE_IS_NULL:
        return a->u.logic.n_args == b->u.logic.n_args &&
               list_equal(a->u.logic.args, b->u.logic.args, a->u.logic.n_args);
    case PE_CASE:
        return a->u.cas.n_when == b->u.cas.n_when &&
               list_equal(a->u.cas.when, b->u.cas.when, a->u.cas.n_when) &&
               list_equal(a->u.cas.then, b->u.cas.then, a->u.cas.n_when) &&
               plan__expr_equal(a->u.cas.els, b->u.cas.els);
    case PE_IN:
        if (a->u.in.n != b->u.in.n || a->u.in.has_null != b->u.in.has_null ||
            !plan__expr_equal(a->u.in.arg, b->u.in.arg))
            return false;
        for (uint32_t i = 0; i < a->u.in.n; i++)
            if (!value_equal(&a->u.in.vals[i], &b->u.in.vals[i]))
                return false;
        return true;
    case PE_LIKE:
        return a->u.like.icase == b->u.like.icase &&
               a->u.like.pattern.len == b->u.like.pattern.len &&
               memcmp(a->u.like.pattern.p, b->u.like.pattern.p, a->u.like.pattern.len) == 0 &&
               plan__expr_equal(a->u.like.arg, b->u.like.arg);
    case PE_REGEX:
        return a->u.re.pattern.len == b->u.re.pattern.len &&
               memcmp(a->u.re.pattern.p, b->u.re.pattern.p, a->u.re.pattern.len) == 0 &&
               plan__expr_equal(a->u.re.arg, b->u.re.arg);
    }
    return false;
}

void
plan__walk_cols(struct plan_expr *e, void (*fn)(void *ctx, uint32_t *col), void *ctx)
{
    if (!e)
        return;
    switch (e->kind) {
    case PE_CONST:
        return;
    case PE_COL:
        fn(ctx, &e->u.col);
        return;
    case PE_CALL:
        for (uint32_t i = 0; i < e->u.call.n_args; i++)
            plan__walk_cols(e->u.call.args[i], fn, ctx);
        return;
    case PE_CAST:
        plan__walk_cols(e->u.cast.arg, fn, ctx);
        return;
    case PE_AND:
    case PE_OR:
    case PE_NOT:
    case PE_IS_NULL:
        for (uint32_t i = 0; i < e->u.logic.n_args; i++)
            plan__walk_cols(e->u.logic.args[i], fn, ctx);
        return;
    case PE_CASE:
        for (uint32_t i = 0; i < e->u.cas.n_when; i++) {
            plan__walk_cols(e->u.cas.when[i], fn, ctx);
            plan__walk_cols(e->u.cas.then[i], fn, ctx);
        }
        plan__walk_cols(e->u.cas.els, fn, ctx);
        return;
    case PE_IN:
        plan__walk_cols(e->u.in.arg, fn, ctx);
        return;
    case PE_LIKE:
        plan__walk_cols(e->u.like.arg, fn, ctx);
        return;
    case PE_REGEX:
        plan__walk_cols(e->u.re.arg, fn, ctx);
        return;
    }
}

static struct plan_expr **
clone_list(struct plan_binder *b, struct plan_expr *const *v, uint32_t n)
{
    struct plan_expr **r = plan__alloc(b, (n ? n : 1) * sizeof *r);
    if (!r)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        if (!(r[i] = plan__clone(b, v[i])))
            return NULL;
    return r;
}

struct plan_expr *
plan__clone(struct plan_binder *b, const struct plan_expr *e)
{
    if (!e)
        return NULL;
    struct plan_expr *c = plan__alloc(b, sizeof *c);
    if (!c)
        return NULL;
    *c = *e;
    switch (e->kind) {
    case PE_CONST:
    case PE_COL:
        return c;
    case PE_CALL:
        c->u.call.args = clone_list(b, e->u.call.args, e->u.call.n_args);
        return c->u.call.args ? c : NULL;
    case PE_CAST:
        c->u.cast.arg = plan__clone(b, e->u.cast.arg);
        return c->u.cast.arg ? c : NULL;
    case PE_AND:
    case PE_OR:
    case PE_NOT:
    case PE_IS_NULL:
        c->u.logic.args = clone_list(b, e->u.logic.args, e->u.logic.n_args);
        return c->u.logic.args ? c : NULL;
    case PE_CASE:
        c->u.cas.when = clone_list(b, e->u.cas.when, e->u.cas.n_when);
        c->u.cas.then = clone_list(b, e->u.cas.then, e->u.cas.n_when);
        c->u.cas.els = plan__clone(b, e->u.cas.els);
        return c->u.cas.when && c->u.cas.then && c->u.cas.els ? c : NULL;
    case PE_IN:
        c->u.in.arg = plan__clone(b, e->u.in.arg);
        return c->u.in.arg ? c : NULL;
    case PE_LIKE:
        c->u.like.arg = plan__clone(b, e->u.like.arg);
        return c->u.like.arg ? c : NULL;
    case PE_REGEX:
        c->u.re.arg = plan__clone(b, e->u.re.arg);
        return c->u.re.arg ? c : NULL;
    }
    return c;
}

static void
mark_found(void *ctx, uint32_t *col)
{
    (void)col;
    *(bool *)ctx = true;
}

bool
plan__has_cols(const struct plan_expr *e)
{
    bool found = false;
    plan__walk_cols((struct plan_expr *)e, mark_found, &found);
    return found;
}
