/*
 * plan_bind.c: the binder. It resolves names in the AST against the
 * relation in scope (a table of the catalog snapshot, a subquery, a WITH
 * query or an information_schema view), types every expression, folds
 * constants, and assembles the operator chain of one SELECT:
 *
 *   Scan|Values|subquery -> Filter(WHERE) -> Agg(GROUP BY, aggregates)
 *   -> Filter(HAVING) -> Project(select list + hidden sort keys)
 *   -> Distinct -> Sort -> Distinct ON -> Limit -> Project(drop hidden)
 *
 * Name rules (docs/sql.md): GROUP BY accepts input columns, select-list
 * positions and select-list aliases (an input column wins over an alias of
 * the same name, as in PostgreSQL); ORDER BY accepts positions, output
 * names (aliases win) and expressions. In an aggregate query every column
 * outside an aggregate must be a GROUP BY key, or an expression of keys.
 *
 * Comparisons between an integer column and a float constant are rewritten
 * into the integer domain (usage_user > 90.5 becomes usage_user > 90), so
 * the executor compares integers; otherwise the integer side is converted
 * to float. Strings compared with time are parsed as RFC 3339.
 */
#include "plan_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- aggregates: names ----------------------------------------------------- */

static const struct {
    const char *name;
    enum plan_agg_fn fn;
} agg_names[] = {
    {"count", PA_COUNT},       {"sum", PA_SUM},           {"min", PA_MIN},
    {"max", PA_MAX},           {"avg", PA_AVG},           {"mean", PA_AVG},
    {"stddev", PA_STDDEV},     {"stddev_samp", PA_STDDEV}, {"stddev_pop", PA_STDDEV_POP},
    {"variance", PA_VAR},      {"var_samp", PA_VAR},      {"var_pop", PA_VAR_POP},
    {"first", PA_FIRST},       {"last", PA_LAST},
};

bool
plan__is_aggregate_name(const char *name)
{
    for (size_t i = 0; i < sizeof agg_names / sizeof agg_names[0]; i++)
        if (strcmp(agg_names[i].name, name) == 0)
            return true;
    return false;
}

const char *
plan_agg_name(enum plan_agg_fn fn)
{
    switch (fn) {
    case PA_COUNT_STAR:
    case PA_COUNT:
    case PA_COUNT_DISTINCT:
        return "count";
    case PA_SUM:
        return "sum";
    case PA_MIN:
        return "min";
    case PA_MAX:
        return "max";
    case PA_AVG:
        return "avg";
    case PA_STDDEV:
        return "stddev";
    case PA_STDDEV_POP:
        return "stddev_pop";
    case PA_VAR:
        return "variance";
    case PA_VAR_POP:
        return "var_pop";
    case PA_FIRST:
        return "first";
    case PA_LAST:
        return "last";
    }
    return "?";
}

bool
plan__contains_aggregate(const struct sql_expr *e)
{
    if (!e)
        return false;
    switch (e->kind) {
    case SQL_EXPR_FUNC:
        if (plan__is_aggregate_name(e->u.func.name))
            return true;
        for (uint32_t i = 0; i < e->u.func.n_args; i++)
            if (plan__contains_aggregate(e->u.func.args[i]))
                return true;
        return false;
    case SQL_EXPR_UNARY:
        return plan__contains_aggregate(e->u.un.arg);
    case SQL_EXPR_BINARY:
        return plan__contains_aggregate(e->u.bin.l) || plan__contains_aggregate(e->u.bin.r);
    case SQL_EXPR_CASE:
        if (plan__contains_aggregate(e->u.cas.operand) || plan__contains_aggregate(e->u.cas.els))
            return true;
        for (uint32_t i = 0; i < e->u.cas.n_when; i++)
            if (plan__contains_aggregate(e->u.cas.when[i]) ||
                plan__contains_aggregate(e->u.cas.then[i]))
                return true;
        return false;
    case SQL_EXPR_CAST:
        return plan__contains_aggregate(e->u.cast.arg);
    case SQL_EXPR_IN:
        if (plan__contains_aggregate(e->u.in.arg))
            return true;
        for (uint32_t i = 0; i < e->u.in.n; i++)
            if (plan__contains_aggregate(e->u.in.list[i]))
                return true;
        return false;
    case SQL_EXPR_BETWEEN:
        return plan__contains_aggregate(e->u.between.arg) ||
               plan__contains_aggregate(e->u.between.lo) ||
               plan__contains_aggregate(e->u.between.hi);
    case SQL_EXPR_IS_NULL:
        return plan__contains_aggregate(e->u.isnull.arg);
    case SQL_EXPR_LIKE:
        return plan__contains_aggregate(e->u.like.arg) ||
               plan__contains_aggregate(e->u.like.pattern);
    default:
        return false;
    }
}

/* ---- columns ----------------------------------------------------------------- */

static struct plan_expr *
bind_column(struct plan_binder *b, const struct plan_mode *m, const struct sql_expr *e)
{
    const char *name = e->u.col.name, *qual = e->u.col.qual;
    if (!m->sc || !m->sc->node)
        return plan__fail(b, ST_EBIND, e->pos, "column \"%s\" does not exist (no FROM clause)",
                          name);
    const struct plan_node *n = m->sc->node;
    if (qual && (!m->sc->qual || strcmp(qual, m->sc->qual) != 0))
        return plan__fail(b, ST_EBIND, e->pos,
                          "table \"%s\" is not in the FROM clause (the FROM clause names \"%s\")",
                          qual, m->sc->qual ? m->sc->qual : "a subquery without an alias");
    int found = -1;
    for (uint32_t i = 0; i < n->n_cols; i++) {
        if (strcmp(n->cols[i].name, name) != 0)
            continue;
        if (found >= 0)
            return plan__fail(b, ST_EBIND, e->pos, "column reference \"%s\" is ambiguous", name);
        found = (int)i;
    }
    if (found < 0) {
        const char **cands = plan__alloc(b, (n->n_cols + 1) * sizeof *cands);
        if (!cands)
            return NULL;
        for (uint32_t i = 0; i < n->n_cols; i++)
            cands[i] = n->cols[i].name;
        const char *s = plan__suggest(name, cands, n->n_cols);
        if (s)
            return plan__fail(b, ST_EBIND, e->pos,
                              "column \"%s\" does not exist; did you mean \"%s\"?", name, s);
        if (m->sc->table_name)
            return plan__fail(b, ST_EBIND, e->pos, "column \"%s\" does not exist in \"%s\"",
                              name, m->sc->table_name);
        return plan__fail(b, ST_EBIND, e->pos, "column \"%s\" does not exist", name);
    }
    return plan__col(b, (uint32_t)found, n->cols[found].type, e->pos);
}

/* ---- helpers -------------------------------------------------------------------- */

static struct plan_expr *
null_const(struct plan_binder *b, enum plan_type t, uint32_t pos)
{
    struct plan_value v = {.type = t, .is_null = true};
    return plan__const(b, &v, pos);
}

static struct plan_expr *
bool_const(struct plan_binder *b, bool x, uint32_t pos)
{
    struct plan_value v = {.type = PT_BOOL, .v.b = x};
    return plan__const(b, &v, pos);
}

/* A boolean operand: BOOL, or a bare NULL (becomes a boolean NULL). */
static struct plan_expr *
bool_operand(struct plan_binder *b, struct plan_expr *x, const char *what)
{
    if (!x)
        return NULL;
    if (x->type == PT_BOOL)
        return x;
    if (x->type == PT_NULL)
        return plan__coerce(b, x, PT_BOOL);
    return plan__fail(b, ST_ETYPE, x->pos, "argument of %s must be boolean, not %s", what,
                      plan_type_name(x->type));
}

static struct plan_expr *
new_logic(struct plan_binder *b, enum plan_expr_kind k, uint32_t pos, uint32_t n,
          struct plan_expr **args)
{
    struct plan_expr *e = plan__alloc(b, sizeof *e);
    if (!e)
        return NULL;
    e->kind = k;
    e->type = PT_BOOL;
    e->pos = pos;
    e->u.logic.n_args = n;
    e->u.logic.args = args;
    return e;
}

/* 0 = false, 1 = true, 2 = NULL */
static int
tv(const struct plan_expr *c)
{
    return c->u.c.is_null ? 2 : c->u.c.v.b;
}

/* AND / OR with flattening and constant folding (three-valued). */
static struct plan_expr *
make_logic(struct plan_binder *b, enum plan_expr_kind k, uint32_t pos, struct plan_expr *l,
           struct plan_expr *r)
{
    if (!l || !r)
        return NULL;
    if (l->kind == PE_CONST && r->kind == PE_CONST) {
        int x = tv(l), y = tv(r), res;
        if (k == PE_AND)
            res = (x == 0 || y == 0) ? 0 : (x == 2 || y == 2) ? 2 : 1;
        else
            res = (x == 1 || y == 1) ? 1 : (x == 2 || y == 2) ? 2 : 0;
        return res == 2 ? null_const(b, PT_BOOL, pos) : bool_const(b, res == 1, pos);
    }
    uint32_t nl = l->kind == k ? l->u.logic.n_args : 1;
    uint32_t nr = r->kind == k ? r->u.logic.n_args : 1;
    struct plan_expr **v = plan__alloc(b, (nl + nr) * sizeof *v);
    if (!v)
        return NULL;
    if (l->kind == k)
        memcpy(v, l->u.logic.args, nl * sizeof *v);
    else
        v[0] = l;
    if (r->kind == k)
        memcpy(v + nl, r->u.logic.args, nr * sizeof *v);
    else
        v[nl] = r;
    return new_logic(b, k, pos, nl + nr, v);
}

static struct plan_expr *
make_not(struct plan_binder *b, uint32_t pos, struct plan_expr *x)
{
    if (!x)
        return NULL;
    if (x->kind == PE_CONST)
        return x->u.c.is_null ? x : bool_const(b, !x->u.c.v.b, pos);
    struct plan_expr **v = plan__alloc(b, sizeof *v);
    if (!v)
        return NULL;
    v[0] = x;
    return new_logic(b, PE_NOT, pos, 1, v);
}

static enum plan_fn
cmp_fn(enum sql_op op)
{
    switch (op) {
    case SQL_OP_EQ:
        return PF_EQ;
    case SQL_OP_NE:
        return PF_NE;
    case SQL_OP_LT:
        return PF_LT;
    case SQL_OP_LE:
        return PF_LE;
    case SQL_OP_GT:
        return PF_GT;
    default:
        return PF_GE;
    }
}

static enum plan_fn
flip(enum plan_fn fn)
{
    switch (fn) {
    case PF_LT:
        return PF_GT;
    case PF_LE:
        return PF_GE;
    case PF_GT:
        return PF_LT;
    case PF_GE:
        return PF_LE;
    default:
        return fn;
    }
}

static const char *
cmp_name(enum plan_fn fn)
{
    static const char *const n[] = {[PF_EQ] = "=", [PF_NE] = "!=", [PF_LT] = "<",
                                    [PF_LE] = "<=", [PF_GT] = ">", [PF_GE] = ">="};
    return (fn >= PF_EQ && fn <= PF_GE) ? n[fn] : "?";
}

/*
 * integer column OP float constant, rewritten into the integer domain when
 * that is exact; NULL result (no error) means "not rewritable".
 */
static struct plan_expr *
int_domain_compare(struct plan_binder *b, enum plan_fn fn, struct plan_expr *l,
                   const struct plan_expr *c, uint32_t pos, bool *failed)
{
    *failed = false;
    double f = c->u.c.v.f, k;
    bool integral = floor(f) == f;
    switch (fn) {
    case PF_EQ:
    case PF_NE:
        if (!integral)
            return NULL;
        k = f;
        break;
    case PF_GT:
    case PF_LE:
        k = floor(f);
        break;
    default: /* LT, GE */
        k = ceil(f);
        break;
    }
    struct plan_value v = {.type = l->type};
    if (l->type == PT_INT) {
        if (!(k >= -9223372036854775808.0 && k < 9223372036854775808.0))
            return NULL;
        v.v.i = (int64_t)k;
    } else {
        if (!(k >= 0.0 && k < 18446744073709551616.0))
            return NULL;
        v.v.u = (uint64_t)k;
    }
    struct plan_expr *kc = plan__const(b, &v, c->pos);
    struct plan_expr *args[2] = {l, kc};
    struct plan_expr *r = kc ? plan__call(b, fn, PT_BOOL, pos, 2, args) : NULL;
    *failed = r == NULL;
    return r;
}

static struct plan_expr *
bind_compare(struct plan_binder *b, enum plan_fn fn, struct plan_expr *l, struct plan_expr *r,
             uint32_t pos)
{
    if (!l || !r)
        return NULL;
    if (l->type == PT_NULL || r->type == PT_NULL)
        return null_const(b, PT_BOOL, pos);
    if (l->kind == PE_CONST && r->kind != PE_CONST) {
        struct plan_expr *t = l;
        l = r;
        r = t;
        fn = flip(fn);
    }
    enum plan_type lt = l->type, rt = r->type;
    if (lt != rt) {
        bool ln = plan__is_numeric(lt), rn = plan__is_numeric(rt);
        if (ln && rn) {
            if ((lt == PT_INT || lt == PT_UINT) && rt == PT_FLOAT && r->kind == PE_CONST &&
                !r->u.c.is_null) {
                bool failed;
                struct plan_expr *x = int_domain_compare(b, fn, l, r, pos, &failed);
                if (x || failed)
                    return x;
            }
            if (lt == PT_FLOAT || rt == PT_FLOAT) {
                l = plan__coerce(b, l, PT_FLOAT);
                r = plan__coerce(b, r, PT_FLOAT);
            } else if (r->kind == PE_CONST) {
                /* int vs unsigned: convert the constant when it fits, else compare mixed */
                struct plan_value v;
                struct st_error scratch;
                if (plan_cast_value(&r->u.c, lt, b->a, &v, r->pos, &scratch) == ST_OK)
                    r = plan__const(b, &v, r->pos);
            }
        } else if (lt == PT_TIME && (rt == PT_STRING || rt == PT_INT || rt == PT_UINT)) {
            r = plan__coerce(b, r, PT_TIME);
        } else if (rt == PT_TIME && (lt == PT_STRING || lt == PT_INT || lt == PT_UINT)) {
            l = plan__coerce(b, l, PT_TIME);
        } else if (lt == PT_INTERVAL && (rt == PT_STRING || rt == PT_INT) && r->kind == PE_CONST) {
            r = plan__coerce(b, r, PT_INTERVAL);
        } else {
            return plan__fail(b, ST_ETYPE, pos, "cannot compare %s with %s (operator %s)",
                              plan_type_name(lt), plan_type_name(rt), cmp_name(fn));
        }
        if (!l || !r)
            return NULL;
    }
    struct plan_expr *args[2] = {l, r};
    return plan__call(b, fn, PT_BOOL, pos, 2, args);
}

static struct plan_expr *
bind_arith(struct plan_binder *b, enum sql_op op, struct plan_expr *l, struct plan_expr *r,
           uint32_t pos)
{
    if (!l || !r)
        return NULL;
    enum plan_fn fn = op == SQL_OP_ADD   ? PF_ADD
                      : op == SQL_OP_SUB ? PF_SUB
                      : op == SQL_OP_MUL ? PF_MUL
                      : op == SQL_OP_DIV ? PF_DIV
                                         : PF_MOD;
    enum plan_type lt = l->type, rt = r->type, res;
    if (lt == PT_NULL || rt == PT_NULL) {
        enum plan_type other = lt == PT_NULL ? rt : lt;
        return null_const(b, other == PT_NULL || other == PT_STRING ? PT_INT : other, pos);
    }
    /* string constants next to time or intervals are timestamps */
    if (lt == PT_STRING && l->kind == PE_CONST && (rt == PT_INTERVAL || rt == PT_TIME)) {
        l = plan__coerce(b, l, PT_TIME);
        if (!l)
            return NULL;
        lt = PT_TIME;
    }
    if (rt == PT_STRING && r->kind == PE_CONST && lt == PT_TIME && fn == PF_SUB) {
        r = plan__coerce(b, r, PT_TIME);
        if (!r)
            return NULL;
        rt = PT_TIME;
    }
    if (plan__is_numeric(lt) && plan__is_numeric(rt)) {
        res = (lt == PT_FLOAT || rt == PT_FLOAT) ? PT_FLOAT
              : (lt == PT_INT || rt == PT_INT)   ? PT_INT
                                                 : PT_UINT;
        l = plan__coerce(b, l, res);
        r = plan__coerce(b, r, res);
    } else if (lt == PT_TIME && rt == PT_INTERVAL && (fn == PF_ADD || fn == PF_SUB)) {
        res = PT_TIME;
    } else if (lt == PT_INTERVAL && rt == PT_TIME && fn == PF_ADD) {
        struct plan_expr *t = l;
        l = r;
        r = t;
        res = PT_TIME;
    } else if (lt == PT_TIME && rt == PT_TIME && fn == PF_SUB) {
        res = PT_INTERVAL;
    } else if (lt == PT_INTERVAL && rt == PT_INTERVAL && (fn == PF_ADD || fn == PF_SUB)) {
        res = PT_INTERVAL;
    } else if (lt == PT_INTERVAL && (rt == PT_INT || rt == PT_UINT) &&
               (fn == PF_MUL || fn == PF_DIV)) {
        r = plan__coerce(b, r, PT_INT);
        res = PT_INTERVAL;
    } else if ((lt == PT_INT || lt == PT_UINT) && rt == PT_INTERVAL && fn == PF_MUL) {
        struct plan_expr *t = plan__coerce(b, l, PT_INT);
        l = r;
        r = t;
        res = PT_INTERVAL;
    } else {
        return plan__fail(b, ST_ETYPE, pos, "operator %s cannot be applied to %s and %s",
                          sql_op_name(op), plan_type_name(lt), plan_type_name(rt));
    }
    if (!l || !r)
        return NULL;
    struct plan_expr *args[2] = {l, r};
    return plan__call(b, fn, res, pos, 2, args);
}

static bool
cast_allowed(enum plan_type from, enum plan_type to)
{
    if (from == to || from == PT_NULL || to == PT_STRING)
        return true;
    switch (to) {
    case PT_INT:
        return true;
    case PT_UINT:
        return from != PT_INTERVAL;
    case PT_FLOAT:
        return from == PT_INT || from == PT_UINT || from == PT_BOOL || from == PT_STRING;
    case PT_BOOL:
        return from == PT_INT || from == PT_UINT || from == PT_FLOAT || from == PT_STRING;
    case PT_TIME:
        return from == PT_INT || from == PT_UINT || from == PT_STRING;
    default:
        return false;
    }
}

static enum plan_type
sql_type(enum sql_type_name t)
{
    switch (t) {
    case SQL_T_BIGINT:
        return PT_INT;
    case SQL_T_UBIGINT:
        return PT_UINT;
    case SQL_T_DOUBLE:
        return PT_FLOAT;
    case SQL_T_STRING:
        return PT_STRING;
    case SQL_T_BOOLEAN:
        return PT_BOOL;
    case SQL_T_TIMESTAMP:
        return PT_TIME;
    }
    return PT_STRING;
}

/* ---- regular expressions and LIKE ----------------------------------------------- */

/* Refuse patterns that make regcomp/regexec expensive: backreferences and
 * large products of counted repetitions. */
static bool
regex_is_safe(const char *p, uint32_t n, const char **why)
{
    uint64_t product = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            if (p[i + 1] >= '1' && p[i + 1] <= '9') {
                *why = "backreferences are not supported";
                return false;
            }
            i++;
            continue;
        }
        if (p[i] == '{') {
            uint64_t lo = 0, hi = 0;
            uint32_t j = i + 1;
            while (j < n && p[j] >= '0' && p[j] <= '9' && lo < 100000)
                lo = lo * 10 + (uint64_t)(p[j++] - '0');
            hi = lo;
            if (j < n && p[j] == ',') {
                j++;
                hi = 0;
                bool any = false;
                while (j < n && p[j] >= '0' && p[j] <= '9' && hi < 100000) {
                    hi = hi * 10 + (uint64_t)(p[j++] - '0');
                    any = true;
                }
                if (!any)
                    hi = lo > 0 ? lo : 1; /* {m,}: the engine unrolls m copies */
            }
            if (hi < 1)
                hi = 1;
            product *= hi;
            if (product > PLAN_MAX_REGEX_REPEAT) {
                *why = "counted repetitions {m,n} are too large";
                return false;
            }
        }
    }
    return true;
}

static struct plan_expr *
bind_regex(struct plan_binder *b, enum sql_op op, struct plan_expr *l, struct plan_expr *r,
           uint32_t pos)
{
    if (!l || !r)
        return NULL;
    if (l->type == PT_NULL || r->type == PT_NULL)
        return null_const(b, PT_BOOL, pos);
    if (l->type != PT_STRING)
        return plan__fail(b, ST_ETYPE, l->pos, "regular expression match needs a string, not %s",
                          plan_type_name(l->type));
    if (r->kind != PE_CONST || r->type != PT_STRING)
        return plan__fail(b, ST_EUNSUPPORTED, r->pos,
                          "the regular expression must be a constant string");
    const struct plan_str *pat = &r->u.c.v.s;
    if (pat->len > PLAN_MAX_PATTERN_LEN)
        return plan__fail(b, ST_ELIMIT, r->pos,
                          "regular expression too long (%u bytes, the limit is %d)", pat->len,
                          PLAN_MAX_PATTERN_LEN);
    if (memchr(pat->p, '\0', pat->len))
        return plan__fail(b, ST_EINVAL, r->pos, "NUL byte in regular expression");
    const char *why = NULL;
    if (!regex_is_safe(pat->p, pat->len, &why))
        return plan__fail(b, ST_EUNSUPPORTED, r->pos, "regular expression refused: %s", why);
    struct plan_ctx *ctx = b->ctx;
    if (ctx->n_regexes == ctx->cap_regexes) {
        uint32_t ncap = ctx->cap_regexes ? ctx->cap_regexes * 2 : 4;
        if (ncap > 4096)
            return plan__fail(b, ST_ELIMIT, pos, "too many regular expressions in one query");
        regex_t **v = realloc(ctx->regexes, ncap * sizeof *v);
        if (!v)
            return plan__oom(b);
        ctx->regexes = v;
        ctx->cap_regexes = ncap;
    }
    regex_t *re = malloc(sizeof *re);
    if (!re)
        return plan__oom(b);
    int flags = REG_EXTENDED | REG_NOSUB;
    if (op == SQL_OP_RE_IMATCH || op == SQL_OP_RE_NIMATCH)
        flags |= REG_ICASE;
    int rc = regcomp(re, pat->p, flags);
    if (rc != 0) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        regfree(re);
        free(re);
        return plan__fail(b, ST_EINVAL, r->pos, "invalid regular expression: %s", msg);
    }
    ctx->regexes[ctx->n_regexes++] = re;
    struct plan_expr *e = plan__alloc(b, sizeof *e);
    if (!e)
        return NULL;
    e->kind = PE_REGEX;
    e->type = PT_BOOL;
    e->pos = pos;
    e->negated = op == SQL_OP_RE_NMATCH || op == SQL_OP_RE_NIMATCH;
    e->u.re.arg = l;
    e->u.re.pattern = *pat;
    e->u.re.re = re;
    if (l->kind == PE_CONST) {
        bool m = regexec(re, l->u.c.v.s.p, 0, NULL, 0) == 0;
        return bool_const(b, m != e->negated, pos);
    }
    return e;
}

static struct plan_expr *
bind_like(struct plan_binder *b, const struct sql_expr *ast, struct plan_expr *l,
          struct plan_expr *r)
{
    if (!l || !r)
        return NULL;
    if (l->type == PT_NULL || r->type == PT_NULL)
        return null_const(b, PT_BOOL, ast->pos);
    if (l->type != PT_STRING)
        return plan__fail(b, ST_ETYPE, l->pos, "LIKE needs a string, not %s",
                          plan_type_name(l->type));
    if (r->kind != PE_CONST || r->type != PT_STRING)
        return plan__fail(b, ST_EUNSUPPORTED, r->pos, "the LIKE pattern must be a constant string");
    if (r->u.c.v.s.len > PLAN_MAX_PATTERN_LEN)
        return plan__fail(b, ST_ELIMIT, r->pos,
                          "LIKE pattern too long (%u bytes, the limit is %d)", r->u.c.v.s.len,
                          PLAN_MAX_PATTERN_LEN);
    struct plan_expr *e = plan__alloc(b, sizeof *e);
    if (!e)
        return NULL;
    e->kind = PE_LIKE;
    e->type = PT_BOOL;
    e->pos = ast->pos;
    e->negated = ast->u.like.negated;
    e->u.like.arg = l;
    e->u.like.pattern = r->u.c.v.s;
    e->u.like.icase = ast->u.like.icase;
    if (l->kind == PE_CONST) {
        bool m = plan_like_match(l->u.c.v.s.p, l->u.c.v.s.len, e->u.like.pattern.p,
                                 e->u.like.pattern.len, e->u.like.icase);
        return bool_const(b, m != e->negated, ast->pos);
    }
    return e;
}

/* ---- IN ------------------------------------------------------------------------------- */

static int
value_qsort_cmp(const void *x, const void *y)
{
    return plan_value_cmp(x, y);
}

static struct plan_expr *
bind_in(struct plan_binder *b, const struct plan_mode *m, const struct sql_expr *ast)
{
    if (ast->u.in.subquery)
        return plan__fail(b, ST_EUNSUPPORTED, ast->pos, "IN (subquery) is not supported");
    struct plan_expr *arg = plan__bind_expr(b, m, ast->u.in.arg);
    if (!arg)
        return NULL;
    uint32_t n = ast->u.in.n;
    struct plan_expr **items = plan__alloc(b, n * sizeof *items);
    if (!items)
        return NULL;
    bool all_const = true;
    for (uint32_t i = 0; i < n; i++) {
        items[i] = plan__bind_expr(b, m, ast->u.in.list[i]);
        if (!items[i])
            return NULL;
        all_const &= items[i]->kind == PE_CONST;
    }
    if (!all_const || arg->type == PT_NULL) {
        /* x IN (a, b) == x = a OR x = b; NOT IN is its negation */
        struct plan_expr *acc = NULL;
        for (uint32_t i = 0; i < n; i++) {
            struct plan_expr *ai = i == 0 ? arg : plan__clone(b, arg);
            if (!ai)
                return NULL;
            struct plan_expr *eq = bind_compare(b, PF_EQ, ai, items[i], ast->pos);
            acc = acc ? make_logic(b, PE_OR, ast->pos, acc, eq) : eq;
            if (!acc)
                return NULL;
        }
        return ast->u.in.negated ? make_not(b, ast->pos, acc) : acc;
    }
    /* the comparison type: as for '=' against each item */
    enum plan_type t = arg->type;
    for (uint32_t i = 0; i < n; i++) {
        enum plan_type it = items[i]->type;
        if (it == PT_NULL || it == t)
            continue;
        if (plan__is_numeric(t) && plan__is_numeric(it)) {
            if (it == PT_FLOAT)
                t = PT_FLOAT;
        } else if (t == PT_TIME && (it == PT_STRING || it == PT_INT || it == PT_UINT)) {
            /* parsed below */
        } else {
            return plan__fail(b, ST_ETYPE, items[i]->pos, "cannot compare %s with %s in IN list",
                              plan_type_name(arg->type), plan_type_name(it));
        }
    }
    if (t == PT_FLOAT && arg->type != PT_FLOAT) {
        /* integer column: keep it integer when every float is integral */
        bool integral = true;
        for (uint32_t i = 0; i < n; i++)
            if (items[i]->type == PT_FLOAT && !items[i]->u.c.is_null &&
                floor(items[i]->u.c.v.f) != items[i]->u.c.v.f)
                integral = false;
        if (integral)
            t = arg->type;
    }
    arg = plan__coerce(b, arg, t);
    if (!arg)
        return NULL;
    struct plan_value *vals = plan__alloc(b, n * sizeof *vals);
    if (!vals)
        return NULL;
    uint32_t nv = 0;
    bool has_null = false;
    for (uint32_t i = 0; i < n; i++) {
        if (items[i]->type == PT_NULL || items[i]->u.c.is_null) {
            has_null = true;
            continue;
        }
        struct plan_expr *c = plan__coerce(b, items[i], t);
        if (!c)
            return NULL;
        vals[nv++] = c->u.c;
    }
    qsort(vals, nv, sizeof *vals, value_qsort_cmp);
    uint32_t w = 0;
    for (uint32_t i = 0; i < nv; i++)
        if (w == 0 || plan_value_cmp(&vals[w - 1], &vals[i]) != 0)
            vals[w++] = vals[i];
    struct plan_expr *e = plan__alloc(b, sizeof *e);
    if (!e)
        return NULL;
    e->kind = PE_IN;
    e->type = PT_BOOL;
    e->pos = ast->pos;
    e->negated = ast->u.in.negated;
    e->u.in.arg = arg;
    e->u.in.n = w;
    e->u.in.vals = vals;
    e->u.in.has_null = has_null;
    if (arg->kind == PE_CONST) {
        if (arg->u.c.is_null)
            return null_const(b, PT_BOOL, ast->pos);
        bool found = bsearch(&arg->u.c, vals, w, sizeof *vals, value_qsort_cmp) != NULL;
        if (!found && has_null)
            return null_const(b, PT_BOOL, ast->pos);
        return bool_const(b, found != e->negated, ast->pos);
    }
    return e;
}

/* ---- CASE ------------------------------------------------------------------------------- */

static struct plan_expr *
bind_case(struct plan_binder *b, const struct plan_mode *m, const struct sql_expr *ast)
{
    uint32_t n = ast->u.cas.n_when;
    struct plan_expr *operand = NULL;
    if (ast->u.cas.operand) {
        operand = plan__bind_expr(b, m, ast->u.cas.operand);
        if (!operand)
            return NULL;
    }
    struct plan_expr **when = plan__alloc(b, n * sizeof *when);
    struct plan_expr **then = plan__alloc(b, n * sizeof *then);
    if (!when || !then)
        return NULL;
    enum plan_type rt = PT_NULL;
    for (uint32_t i = 0; i <= n; i++) {
        const struct sql_expr *te = i < n ? ast->u.cas.then[i] : ast->u.cas.els;
        struct plan_expr *x = te ? plan__bind_expr(b, m, te) : NULL;
        if (te && !x)
            return NULL;
        if (i < n) {
            struct plan_expr *w = plan__bind_expr(b, m, ast->u.cas.when[i]);
            if (!w)
                return NULL;
            if (operand) {
                struct plan_expr *oc = i == 0 ? operand : plan__clone(b, operand);
                w = oc ? bind_compare(b, PF_EQ, oc, w, ast->u.cas.when[i]->pos) : NULL;
            }
            else
                w = bool_operand(b, w, "WHEN");
            if (!w)
                return NULL;
            when[i] = w;
            then[i] = x;
        }
        if (!x || x->type == PT_NULL || x->type == rt)
            goto next;
        if (rt == PT_NULL)
            rt = x->type;
        else if (plan__is_numeric(rt) && plan__is_numeric(x->type))
            rt = (rt == PT_FLOAT || x->type == PT_FLOAT) ? PT_FLOAT : PT_INT;
        else
            return plan__fail(b, ST_ETYPE, x->pos, "CASE results mix %s and %s",
                              plan_type_name(rt), plan_type_name(x->type));
    next:
        if (i == n) {
            struct plan_expr *els = x ? x : null_const(b, PT_NULL, ast->pos);
            if (!els)
                return NULL;
            struct plan_expr *e = plan__alloc(b, sizeof *e);
            if (!e)
                return NULL;
            for (uint32_t k = 0; k < n; k++)
                if (!(then[k] = plan__coerce(b, then[k], rt)))
                    return NULL;
            if (!(els = plan__coerce(b, els, rt)))
                return NULL;
            /* fold: leading constant-false WHENs drop, a constant-true WHEN decides */
            uint32_t w = 0;
            for (uint32_t k = 0; k < n; k++) {
                if (when[k]->kind == PE_CONST && (when[k]->u.c.is_null || !when[k]->u.c.v.b))
                    continue;
                if (when[k]->kind == PE_CONST && w == 0)
                    return then[k];
                when[w] = when[k];
                then[w] = then[k];
                w++;
            }
            if (w == 0)
                return els;
            e->kind = PE_CASE;
            e->type = rt;
            e->pos = ast->pos;
            e->u.cas.n_when = w;
            e->u.cas.when = when;
            e->u.cas.then = then;
            e->u.cas.els = els;
            return e;
        }
    }
    return NULL;
}

/* ---- aggregates --------------------------------------------------------------------- */

static int
find_time_column(const struct plan_node *n)
{
    for (uint32_t i = 0; i < n->n_cols; i++)
        if (n->cols[i].type == PT_TIME && strcmp(n->cols[i].name, "time") == 0)
            return (int)i;
    return -1;
}

static struct plan_expr *
bind_aggregate(struct plan_binder *b, const struct plan_mode *m, const struct sql_expr *e)
{
    struct plan_agg_ctx *ac = m->agg;
    const char *name = e->u.func.name;
    enum plan_agg_fn fn = PA_COUNT;
    for (size_t i = 0; i < sizeof agg_names / sizeof agg_names[0]; i++)
        if (strcmp(agg_names[i].name, name) == 0)
            fn = agg_names[i].fn;
    struct plan_agg ag = {.fn = fn, .pos = e->pos};
    if (e->u.func.star) {
        if (fn != PA_COUNT)
            return plan__fail(b, ST_EPARSE, e->pos, "%s(*) is not valid; only count(*)", name);
        ag.fn = PA_COUNT_STAR;
        ag.type = PT_INT;
    } else {
        uint32_t max_args = (fn == PA_FIRST || fn == PA_LAST) ? 2 : 1;
        if (e->u.func.n_args < 1 || e->u.func.n_args > max_args)
            return plan__fail(b, ST_ETYPE, e->pos,
                              max_args == 1 ? "%s() takes 1 argument, not %u"
                                            : "%s() takes 1 or 2 arguments, not %u",
                              name, e->u.func.n_args);
        struct plan_mode am = {.sc = ac->input, .agg = NULL, .clause = NULL};
        struct plan_expr *arg = plan__bind_expr(b, &am, e->u.func.args[0]);
        if (!arg)
            return NULL;
        if (e->u.func.distinct) {
            if (fn == PA_COUNT)
                ag.fn = PA_COUNT_DISTINCT;
            else if (fn != PA_MIN && fn != PA_MAX)
                return plan__fail(b, ST_EUNSUPPORTED, e->pos,
                                  "DISTINCT is only supported in count(), min() and max()");
        }
        enum plan_type t = arg->type;
        switch (ag.fn) {
        case PA_COUNT:
        case PA_COUNT_DISTINCT:
            if (t == PT_NULL && !(arg = plan__coerce(b, arg, PT_INT)))
                return NULL;
            ag.type = PT_INT;
            break;
        case PA_SUM:
            if (t == PT_NULL && !(arg = plan__coerce(b, arg, PT_INT)))
                return NULL;
            if (!plan__is_numeric(arg->type) && arg->type != PT_INTERVAL)
                return plan__fail(b, ST_ETYPE, arg->pos, "sum() needs a number, not %s",
                                  plan_type_name(t));
            ag.type = arg->type;
            break;
        case PA_AVG:
        case PA_STDDEV:
        case PA_STDDEV_POP:
        case PA_VAR:
        case PA_VAR_POP:
            if (t == PT_NULL && !(arg = plan__coerce(b, arg, PT_FLOAT)))
                return NULL;
            if (!plan__is_numeric(arg->type))
                return plan__fail(b, ST_ETYPE, arg->pos, "%s() needs a number, not %s", name,
                                  plan_type_name(t));
            ag.type = PT_FLOAT;
            break;
        case PA_MIN:
        case PA_MAX:
        case PA_FIRST:
        case PA_LAST:
            if (t == PT_NULL && !(arg = plan__coerce(b, arg, PT_INT)))
                return NULL;
            ag.type = arg->type;
            break;
        default:
            break;
        }
        ag.arg = arg;
        if ((ag.fn == PA_FIRST || ag.fn == PA_LAST) && e->u.func.n_args == 2) {
            ag.time = plan__bind_expr(b, &am, e->u.func.args[1]);
            if (ag.time && ag.time->type != PT_TIME)
                return plan__fail(b, ST_ETYPE, ag.time->pos,
                                  "the second argument of %s() must be a timestamp, not %s",
                                  name, plan_type_name(ag.time->type));
            if (!ag.time)
                return NULL;
        } else if (ag.fn == PA_FIRST || ag.fn == PA_LAST) {
            int tc = find_time_column(ac->input->node);
            if (tc < 0)
                return plan__fail(b, ST_EBIND, e->pos,
                                  "%s() needs a \"time\" column in the FROM relation", name);
            ag.time = plan__col(b, (uint32_t)tc, PT_TIME, e->pos);
            if (!ag.time)
                return NULL;
        }
    }
    for (uint32_t i = 0; i < ac->n_aggs; i++) {
        const struct plan_agg *x = &ac->aggs[i];
        if (x->fn == ag.fn && plan__expr_equal(x->arg, ag.arg) && plan__expr_equal(x->time, ag.time))
            return plan__col(b, ac->n_keys + i, x->type, e->pos);
    }
    if (ac->n_aggs == ac->cap_aggs) {
        uint32_t ncap = ac->cap_aggs ? ac->cap_aggs * 2 : 8;
        if (ncap > SQL_MAX_LIST)
            return plan__fail(b, ST_ELIMIT, e->pos, "too many aggregates");
        struct plan_agg *v = plan__alloc(b, ncap * sizeof *v);
        if (!v)
            return NULL;
        if (ac->n_aggs)
            memcpy(v, ac->aggs, ac->n_aggs * sizeof *v);
        ac->aggs = v;
        ac->cap_aggs = ncap;
    }
    ac->aggs[ac->n_aggs] = ag;
    return plan__col(b, ac->n_keys + ac->n_aggs++, ag.type, e->pos);
}

/* ---- expressions ----------------------------------------------------------------------- */

static struct plan_expr *
bind_param(struct plan_binder *b, const struct sql_expr *e)
{
    for (uint32_t i = 0; i < b->ctx->n_params; i++)
        if (strcmp(b->ctx->params[i].name, e->u.param.name) == 0) {
            struct plan_value v = b->ctx->params[i].value;
            if (v.type == PT_NULL)
                v.is_null = true;
            return plan__const(b, &v, e->pos);
        }
    return plan__fail(b, ST_EINVAL, e->pos, "no value supplied for parameter $%s",
                      e->u.param.name);
}

static struct plan_expr *
bind_literal(struct plan_binder *b, const struct sql_expr *e)
{
    const struct sql_literal *l = &e->u.lit;
    struct plan_value v = {0};
    switch (l->kind) {
    case SQL_LIT_NULL:
        v.type = PT_NULL;
        v.is_null = true;
        break;
    case SQL_LIT_BOOL:
        v.type = PT_BOOL;
        v.v.b = l->v.b;
        break;
    case SQL_LIT_INT:
        v.type = PT_INT;
        v.v.i = l->v.i;
        break;
    case SQL_LIT_UINT:
        v.type = PT_UINT;
        v.v.u = l->v.u;
        break;
    case SQL_LIT_FLOAT:
        v.type = PT_FLOAT;
        v.v.f = l->v.f;
        break;
    case SQL_LIT_STRING:
        v.type = PT_STRING;
        v.v.s.p = l->v.s.p;
        v.v.s.len = l->v.s.len;
        break;
    case SQL_LIT_TIMESTAMP:
        v.type = PT_TIME;
        v.v.i = l->v.i;
        break;
    case SQL_LIT_INTERVAL:
        v.type = PT_INTERVAL;
        v.v.i = l->v.i;
        break;
    }
    return plan__const(b, &v, e->pos);
}

static struct plan_expr *
bind_call(struct plan_binder *b, const struct plan_mode *m, const struct sql_expr *e)
{
    if (plan__is_aggregate_name(e->u.func.name)) {
        if (m->clause)
            return plan__fail(b, ST_EBIND, e->pos, "aggregate functions are not allowed in %s",
                              m->clause);
        return plan__fail(b, ST_EBIND, e->pos, "aggregate function calls cannot be nested");
    }
    uint32_t n = e->u.func.n_args;
    struct plan_expr **args = plan__alloc(b, (n ? n : 1) * sizeof *args);
    if (!args)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        args[i] = plan__bind_expr(b, m, e->u.func.args[i]);
        if (!args[i])
            return NULL;
    }
    return plan__bind_function(b, e, args, n);
}

static struct plan_expr *
bind_switch(struct plan_binder *b, const struct plan_mode *m, const struct sql_expr *e)
{
    struct plan_expr *l, *r;
    switch (e->kind) {
    case SQL_EXPR_LITERAL:
        return bind_literal(b, e);
    case SQL_EXPR_PARAM:
        return bind_param(b, e);
    case SQL_EXPR_COLUMN:
        if (m->agg)
            return plan__fail(b, ST_EBIND, e->pos,
                              "column \"%s\" must appear in the GROUP BY clause or be used in an "
                              "aggregate function",
                              e->u.col.name);
        return bind_column(b, m, e);
    case SQL_EXPR_STAR:
        return plan__fail(b, ST_EPARSE, e->pos, "\"*\" is not allowed here");
    case SQL_EXPR_SUBQUERY:
        return plan__fail(b, ST_EUNSUPPORTED, e->pos,
                          "subqueries in expressions are not supported (use WITH or FROM)");
    case SQL_EXPR_UNARY:
        l = plan__bind_expr(b, m, e->u.un.arg);
        if (!l)
            return NULL;
        if (e->u.un.op == SQL_OP_NOT)
            return make_not(b, e->pos, bool_operand(b, l, "NOT"));
        if (l->type == PT_NULL)
            return null_const(b, PT_INT, e->pos);
        if (l->type == PT_UINT && !(l = plan__coerce(b, l, PT_INT)))
            return NULL;
        if (l->type != PT_INT && l->type != PT_FLOAT && l->type != PT_INTERVAL)
            return plan__fail(b, ST_ETYPE, e->pos, "operator - cannot be applied to %s",
                              plan_type_name(l->type));
        return plan__call(b, PF_NEG, l->type, e->pos, 1, &l);
    case SQL_EXPR_BINARY:
        switch (e->u.bin.op) {
        case SQL_OP_AND:
        case SQL_OP_OR: {
            /* iterate down the left spine so long chains do not recurse */
            const char *what = e->u.bin.op == SQL_OP_AND ? "AND" : "OR";
            enum plan_expr_kind k = e->u.bin.op == SQL_OP_AND ? PE_AND : PE_OR;
            uint32_t ns = 0;
            const struct sql_expr *x = e;
            while (x->kind == SQL_EXPR_BINARY && x->u.bin.op == e->u.bin.op) {
                ns++;
                x = x->u.bin.l;
            }
            const struct sql_expr **spine = plan__alloc(b, ns * sizeof *spine);
            if (!spine)
                return NULL;
            ns = 0;
            x = e;
            while (x->kind == SQL_EXPR_BINARY && x->u.bin.op == e->u.bin.op) {
                spine[ns++] = x;
                x = x->u.bin.l;
            }
            struct plan_expr *acc = bool_operand(b, plan__bind_expr(b, m, x), what);
            while (acc && ns > 0) {
                const struct sql_expr *s = spine[--ns];
                struct plan_expr *rr = bool_operand(b, plan__bind_expr(b, m, s->u.bin.r), what);
                acc = make_logic(b, k, s->pos, acc, rr);
            }
            return acc;
        }
        default:
            break;
        }
        l = plan__bind_expr(b, m, e->u.bin.l);
        if (!l)
            return NULL;
        r = plan__bind_expr(b, m, e->u.bin.r);
        if (!r)
            return NULL;
        switch (e->u.bin.op) {
        case SQL_OP_EQ:
        case SQL_OP_NE:
        case SQL_OP_LT:
        case SQL_OP_LE:
        case SQL_OP_GT:
        case SQL_OP_GE:
            return bind_compare(b, cmp_fn(e->u.bin.op), l, r, e->pos);
        case SQL_OP_ADD:
        case SQL_OP_SUB:
        case SQL_OP_MUL:
        case SQL_OP_DIV:
        case SQL_OP_MOD:
            return bind_arith(b, e->u.bin.op, l, r, e->pos);
        case SQL_OP_CONCAT: {
            if (l->type == PT_NULL || r->type == PT_NULL)
                return null_const(b, PT_STRING, e->pos);
            l = plan__coerce(b, l, PT_STRING);
            r = l ? plan__coerce(b, r, PT_STRING) : NULL;
            if (!r)
                return NULL;
            struct plan_expr *args[2] = {l, r};
            return plan__call(b, PF_CONCAT, PT_STRING, e->pos, 2, args);
        }
        default:
            return bind_regex(b, e->u.bin.op, l, r, e->pos);
        }
    case SQL_EXPR_FUNC:
        return bind_call(b, m, e);
    case SQL_EXPR_CASE:
        return bind_case(b, m, e);
    case SQL_EXPR_CAST: {
        l = plan__bind_expr(b, m, e->u.cast.arg);
        if (!l)
            return NULL;
        enum plan_type to = sql_type(e->u.cast.to);
        if (!cast_allowed(l->type, to))
            return plan__fail(b, ST_ETYPE, e->pos, "cannot cast %s to %s",
                              plan_type_name(l->type), plan_type_name(to));
        struct plan_expr *c = plan__coerce(b, l, to);
        if (c && c != l && c->kind == PE_CAST)
            c->pos = e->pos;
        return c;
    }
    case SQL_EXPR_IN:
        return bind_in(b, m, e);
    case SQL_EXPR_BETWEEN: {
        struct plan_expr *x = plan__bind_expr(b, m, e->u.between.arg);
        struct plan_expr *lo = x ? plan__bind_expr(b, m, e->u.between.lo) : NULL;
        struct plan_expr *hi = lo ? plan__bind_expr(b, m, e->u.between.hi) : NULL;
        if (!hi)
            return NULL;
        struct plan_expr *x2 = plan__clone(b, x);
        if (!x2)
            return NULL;
        if (e->u.between.negated)
            return make_logic(b, PE_OR, e->pos, bind_compare(b, PF_LT, x, lo, e->pos),
                              bind_compare(b, PF_GT, x2, hi, e->pos));
        return make_logic(b, PE_AND, e->pos, bind_compare(b, PF_GE, x, lo, e->pos),
                          bind_compare(b, PF_LE, x2, hi, e->pos));
    }
    case SQL_EXPR_IS_NULL: {
        l = plan__bind_expr(b, m, e->u.isnull.arg);
        if (!l)
            return NULL;
        if (l->kind == PE_CONST)
            return bool_const(b, l->u.c.is_null != e->u.isnull.negated, e->pos);
        struct plan_expr **v = plan__alloc(b, sizeof *v);
        if (!v)
            return NULL;
        v[0] = l;
        struct plan_expr *x = new_logic(b, PE_IS_NULL, e->pos, 1, v);
        if (x)
            x->negated = e->u.isnull.negated;
        return x;
    }
    case SQL_EXPR_LIKE:
        l = plan__bind_expr(b, m, e->u.like.arg);
        r = l ? plan__bind_expr(b, m, e->u.like.pattern) : NULL;
        return bind_like(b, e, l, r);
    }
    return plan__fail(b, ST_EINTERNAL, e->pos, "unknown expression kind");
}

struct plan_expr *
plan__bind_expr(struct plan_binder *b, const struct plan_mode *m, const struct sql_expr *e)
{
    if (m->agg) {
        if (e->kind == SQL_EXPR_FUNC && plan__is_aggregate_name(e->u.func.name))
            return bind_aggregate(b, m, e);
        if (!plan__contains_aggregate(e)) {
            struct plan_mode pm = {.sc = m->agg->input, .agg = NULL, .clause = m->clause};
            struct plan_expr *x = plan__bind_expr(b, &pm, e);
            if (!x)
                return NULL;
            for (uint32_t k = 0; k < m->agg->n_keys; k++)
                if (plan__expr_equal(x, m->agg->keys[k]))
                    return plan__col(b, k, x->type, e->pos);
            if (!plan__has_cols(x))
                return x;
        }
    }
    return bind_switch(b, m, e);
}

/* ---- SELECT ---------------------------------------------------------------------------- */

static struct plan_node *
new_node(struct plan_binder *b, enum plan_node_kind k, struct plan_node *child, uint32_t n_cols)
{
    struct plan_node *n = plan__alloc(b, sizeof *n);
    if (!n)
        return NULL;
    n->kind = k;
    n->child = child;
    n->n_cols = n_cols;
    if (n_cols) {
        n->cols = plan__alloc(b, n_cols * sizeof *n->cols);
        if (!n->cols)
            return NULL;
    }
    return n;
}

/* A scan of a whole table; columns in catalog order (time, then creation order):
 * the order of SELECT *. */
struct plan_node *
plan__scan_node(struct plan_binder *b, const struct cat_table *t)
{
    struct plan_node *n = new_node(b, PN_SCAN, NULL, t->n_columns);
    if (!n)
        return NULL;
    struct plan_scan *s = &n->u.scan;
    s->table = t;
    s->out = plan__alloc(b, (t->n_columns + 1) * sizeof *s->out);
    uint32_t *fields = plan__alloc(b, (t->n_columns + 1) * sizeof *fields);
    if (!s->out || !fields)
        return NULL;
    uint32_t nf = 0;
    for (uint32_t i = 0; i < t->n_columns; i++) {
        const struct cat_column *c = &t->columns[i];
        struct plan_col *pc = &n->cols[i];
        pc->name = c->name;
        pc->type = (enum plan_type)c->type;
        s->out[i].kind = c->kind;
        switch (c->kind) {
        case CAT_COL_TIME:
            pc->role = ST_ROLE_TIME;
            pc->type = PT_TIME;
            pc->nullable = false;
            break;
        case CAT_COL_TAG:
            pc->role = ST_ROLE_TAG;
            pc->type = PT_STRING;
            pc->nullable = true;
            s->out[i].tag_index = c->tag_index;
            break;
        case CAT_COL_FIELD:
            pc->role = ST_ROLE_FIELD;
            pc->nullable = true;
            s->out[i].field = nf;
            fields[nf++] = c->id;
            break;
        }
    }
    s->spec.table_id = t->id;
    s->spec.t_lo = INT64_MIN;
    s->spec.t_hi = INT64_MAX;
    s->spec.field_cols = fields;
    s->spec.n_field_cols = nf;
    s->spec.max_rows = b->ctx->batch_rows;
    s->spec.mode = STOR_SCAN_ALL;
    return n;
}

const struct cat_table *
plan__lookup_table(struct plan_binder *b, const char *name, uint32_t pos)
{
    const struct cat_db *db = b->ctx->db;
    if (!db)
        return plan__fail(b, ST_EINVAL, pos, "no database selected: table \"%s\" needs one",
                          name);
    for (uint32_t i = 0; i < db->n_tables; i++)
        if (strcmp(db->tables[i]->name, name) == 0)
            return db->tables[i];
    const char **cands = plan__alloc(b, (db->n_tables + 1) * sizeof *cands);
    if (!cands)
        return NULL;
    for (uint32_t i = 0; i < db->n_tables; i++)
        cands[i] = db->tables[i]->name;
    const char *s = plan__suggest(name, cands, db->n_tables);
    if (s)
        return plan__fail(b, ST_EBIND, pos, "table \"%s\" does not exist; did you mean \"%s\"?",
                          name, s);
    return plan__fail(b, ST_EBIND, pos, "table \"%s\" does not exist in database \"%s\"", name,
                      db->name);
}

static struct plan_node *
bind_from(struct plan_binder *b, const struct sql_from *f, const struct plan_cte_scope *ctes,
          struct plan_scope *sc)
{
    sc->qual = f->alias;
    if (f->kind == SQL_FROM_SUBQUERY) {
        sc->node = plan__bind_select(b, f->sub, ctes);
        return sc->node;
    }
    if (!sc->qual)
        sc->qual = f->name;
    sc->table_name = f->name;
    if (!f->schema) {
        for (const struct plan_cte_scope *c = ctes; c; c = c->next)
            if (strcmp(c->cte->name, f->name) == 0) {
                sc->node = plan__bind_select(b, c->cte->q, c->next);
                return sc->node;
            }
    }
    if (f->schema && strcmp(f->schema, "information_schema") == 0) {
        sc->node = plan__info_schema(b, f->name, f->pos);
        return sc->node;
    }
    if (f->schema && strcmp(f->schema, "iox") != 0)
        return plan__fail(b, ST_EBIND, f->pos,
                          "schema \"%s\" does not exist (expected iox or information_schema)",
                          f->schema);
    const struct cat_table *t = plan__lookup_table(b, f->name, f->pos);
    if (!t)
        return NULL;
    sc->node = plan__scan_node(b, t);
    return sc->node;
}

/* One output column of the projection being built. */
struct item {
    struct plan_expr *e;
    const char *name;
    const struct sql_expr *ast; /* NULL for * expansions and hidden keys */
    bool aliased; /* name comes from AS */
};

struct items {
    uint32_t n, cap;
    struct item *v;
};

static struct item *
add_item(struct plan_binder *b, struct items *it, uint32_t pos)
{
    if (it->n == it->cap) {
        uint32_t ncap = it->cap ? it->cap * 2 : 16;
        if (ncap > 2 * SQL_MAX_LIST)
            return plan__fail(b, ST_ELIMIT, pos, "too many result columns");
        struct item *v = plan__alloc(b, ncap * sizeof *v);
        if (!v)
            return NULL;
        if (it->n)
            memcpy(v, it->v, it->n * sizeof *v);
        it->v = v;
        it->cap = ncap;
    }
    struct item *x = &it->v[it->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static const char *
expr_name(struct plan_binder *b, const struct sql_expr *ast)
{
    if (ast->kind == SQL_EXPR_COLUMN)
        return ast->u.col.name;
    char buf[256];
    sql_expr_format(ast, buf, sizeof buf);
    return sql_arena_strndup(b->a, buf, strlen(buf));
}

/* The role and nullability of an expression over `in`. */
static void
describe_expr(const struct plan_expr *e, const struct plan_node *in, enum st_role *role,
              bool *nullable)
{
    *role = ST_ROLE_NONE;
    *nullable = true;
    if (e->kind == PE_COL && in && e->u.col < in->n_cols) {
        *role = in->cols[e->u.col].role;
        *nullable = in->cols[e->u.col].nullable;
    } else if (e->kind == PE_CONST) {
        *nullable = e->u.c.is_null;
    }
}

/* Is the AST an integer literal (a select-list position)? */
static bool
position_of(const struct sql_expr *e, int64_t *k)
{
    if (e->kind == SQL_EXPR_LITERAL && e->u.lit.kind == SQL_LIT_INT) {
        *k = e->u.lit.v.i;
        return true;
    }
    return false;
}

static enum st_code
bind_limit(struct plan_binder *b, const struct sql_expr *e, const char *what, uint64_t *out)
{
    struct plan_mode m = {.sc = NULL, .agg = NULL, .clause = what};
    struct plan_expr *x = plan__bind_expr(b, &m, e);
    if (!x)
        return b->err ? b->err->code : ST_EINVAL;
    if (x->kind != PE_CONST)
        return st_error_set_at(b->err, ST_EINVAL, e->pos, "%s must be a constant", what);
    if (x->u.c.is_null)
        return ST_OK; /* LIMIT NULL: no limit */
    if (x->type == PT_INT) {
        if (x->u.c.v.i < 0)
            return st_error_set_at(b->err, ST_EINVAL, e->pos, "%s must not be negative", what);
        *out = (uint64_t)x->u.c.v.i;
    } else if (x->type == PT_UINT) {
        *out = x->u.c.v.u;
    } else {
        return st_error_set_at(b->err, ST_ETYPE, e->pos, "%s must be an integer, not %s", what,
                               plan_type_name(x->type));
    }
    return ST_OK;
}

/*
 * Resolve an ORDER BY / DISTINCT ON item to a projection column: a
 * position, an output name, an expression equal to a select item, or a new
 * hidden column (refused under DISTINCT).
 */
static int
resolve_output_ref(struct plan_binder *b, const struct plan_mode *m, struct items *it,
                   uint32_t n_visible, const struct sql_expr *ast, bool distinct,
                   const char *clause)
{
    int64_t k;
    if (position_of(ast, &k)) {
        if (k < 1 || k > (int64_t)n_visible) {
            plan__fail(b, ST_EBIND, ast->pos, "%s position %lld is not in the select list", clause,
                       (long long)k);
            return -1;
        }
        return (int)(k - 1);
    }
    if (ast->kind == SQL_EXPR_COLUMN && !ast->u.col.qual) {
        int found = -1;
        for (uint32_t i = 0; i < n_visible; i++) {
            if (strcmp(it->v[i].name, ast->u.col.name) != 0)
                continue;
            if (found >= 0 && !plan__expr_equal(it->v[found].e, it->v[i].e)) {
                plan__fail(b, ST_EBIND, ast->pos, "%s \"%s\" is ambiguous", clause,
                           ast->u.col.name);
                return -1;
            }
            if (found < 0)
                found = (int)i;
        }
        if (found >= 0)
            return found;
    }
    struct plan_mode om = *m;
    om.clause = clause;
    struct plan_expr *x = plan__bind_expr(b, &om, ast);
    if (!x)
        return -1;
    for (uint32_t i = 0; i < it->n; i++)
        if (plan__expr_equal(it->v[i].e, x))
            return (int)i;
    if (distinct) {
        plan__fail(b, ST_EBIND, ast->pos,
                   "for SELECT DISTINCT, %s expressions must appear in the select list", clause);
        return -1;
    }
    struct item *h = add_item(b, it, ast->pos);
    if (!h)
        return -1;
    h->e = x;
    h->name = expr_name(b, ast);
    if (!h->name) {
        plan__oom(b);
        return -1;
    }
    return (int)(it->n - 1);
}

static bool
select_has_aggregates(const struct sql_select *s)
{
    if (s->n_group || s->having)
        return true;
    for (uint32_t i = 0; i < s->n_items; i++)
        if (plan__contains_aggregate(s->items[i].e))
            return true;
    for (uint32_t i = 0; i < s->n_order; i++)
        if (plan__contains_aggregate(s->order[i].e))
            return true;
    return false;
}

/* GROUP BY keys, bound over the input. */
static bool
bind_group_keys(struct plan_binder *b, const struct sql_select *s, const struct plan_scope *sc,
                struct items *it, struct plan_agg_ctx *ac)
{
    ac->keys = plan__alloc(b, (s->n_group + 1) * sizeof *ac->keys);
    if (!ac->keys)
        return false;
    struct plan_mode pm = {.sc = sc, .agg = NULL, .clause = "GROUP BY"};
    for (uint32_t g = 0; g < s->n_group; g++) {
        const struct sql_expr *ge = s->group[g];
        struct plan_expr *key = NULL;
        int64_t k;
        if (position_of(ge, &k)) {
            if (k < 1 || k > (int64_t)it->n) {
                plan__fail(b, ST_EBIND, ge->pos, "GROUP BY position %lld is not in the select list",
                           (long long)k);
                return false;
            }
            const struct item *x = &it->v[k - 1];
            if (x->ast && plan__contains_aggregate(x->ast)) {
                plan__fail(b, ST_EBIND, ge->pos,
                           "GROUP BY position %lld refers to an aggregate function", (long long)k);
                return false;
            }
            key = x->ast ? plan__bind_expr(b, &pm, x->ast) : x->e;
        } else if (ge->kind == SQL_EXPR_COLUMN && !ge->u.col.qual) {
            /* an input column wins; else a select-list alias */
            bool is_input = false;
            for (uint32_t i = 0; i < sc->node->n_cols; i++)
                if (strcmp(sc->node->cols[i].name, ge->u.col.name) == 0)
                    is_input = true;
            if (!is_input)
                for (uint32_t i = 0; i < it->n; i++)
                    if (it->v[i].ast && it->v[i].aliased &&
                        strcmp(it->v[i].name, ge->u.col.name) == 0) {
                        if (plan__contains_aggregate(it->v[i].ast)) {
                            plan__fail(b, ST_EBIND, ge->pos,
                                       "GROUP BY \"%s\" refers to an aggregate function",
                                       ge->u.col.name);
                            return false;
                        }
                        key = plan__bind_expr(b, &pm, it->v[i].ast);
                        if (!key)
                            return false;
                        break;
                    }
            if (!key)
                key = plan__bind_expr(b, &pm, ge);
        } else {
            key = plan__bind_expr(b, &pm, ge);
        }
        if (!key)
            return false;
        bool dup = false;
        for (uint32_t i = 0; i < ac->n_keys; i++)
            if (plan__expr_equal(ac->keys[i], key))
                dup = true;
        if (!dup)
            ac->keys[ac->n_keys++] = key;
    }
    return true;
}

static struct plan_node *
make_filter(struct plan_binder *b, struct plan_node *child, struct plan_expr *pred)
{
    struct plan_node *f = new_node(b, PN_FILTER, child, child->n_cols);
    if (!f)
        return NULL;
    if (child->n_cols)
        memcpy(f->cols, child->cols, child->n_cols * sizeof *f->cols);
    f->u.filter.pred = pred;
    return f;
}

struct plan_node *
plan__bind_select(struct plan_binder *b, const struct sql_select *s,
                  const struct plan_cte_scope *outer)
{
    if (++b->depth > SQL_MAX_DEPTH)
        return plan__fail(b, ST_ELIMIT, s->pos, "queries nested too deeply");

    /* WITH: each query sees the ones before it */
    const struct plan_cte_scope *ctes = outer;
    for (uint32_t i = 0; i < s->n_ctes; i++) {
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(s->ctes[j].name, s->ctes[i].name) == 0)
                return plan__fail(b, ST_EBIND, s->ctes[i].pos,
                                  "WITH query name \"%s\" specified more than once",
                                  s->ctes[i].name);
        struct plan_cte_scope *c = plan__alloc(b, sizeof *c);
        if (!c)
            return NULL;
        c->cte = &s->ctes[i];
        c->next = ctes;
        ctes = c;
    }

    /* FROM */
    struct plan_scope sc = {0};
    struct plan_node *node;
    if (s->from) {
        node = bind_from(b, s->from, ctes, &sc);
    } else {
        node = new_node(b, PN_VALUES, NULL, 0);
        if (node)
            node->u.values.n_rows = 1;
        sc.node = node;
    }
    if (!node)
        return NULL;

    /* WHERE */
    if (s->where) {
        struct plan_mode m = {.sc = &sc, .agg = NULL, .clause = "WHERE"};
        struct plan_expr *pred = bool_operand(b, plan__bind_expr(b, &m, s->where), "WHERE");
        if (!pred)
            return NULL;
        node = make_filter(b, node, pred);
        if (!node)
            return NULL;
    }

    /* the select list, * expanded (ASTs only; bound below) */
    struct items it = {0};
    for (uint32_t i = 0; i < s->n_items; i++) {
        const struct sql_select_item *si = &s->items[i];
        if (si->e->kind == SQL_EXPR_STAR) {
            if (!s->from)
                return plan__fail(b, ST_EBIND, si->e->pos, "SELECT * needs a FROM clause");
            if (si->e->u.star.qual && (!sc.qual || strcmp(si->e->u.star.qual, sc.qual) != 0))
                return plan__fail(b, ST_EBIND, si->e->pos, "table \"%s\" is not in the FROM clause",
                                  si->e->u.star.qual);
            for (uint32_t c = 0; c < sc.node->n_cols; c++) {
                struct item *x = add_item(b, &it, si->e->pos);
                if (!x)
                    return NULL;
                x->e = plan__col(b, c, sc.node->cols[c].type, si->e->pos);
                if (!x->e)
                    return NULL;
                x->name = sc.node->cols[c].name;
            }
            continue;
        }
        struct item *x = add_item(b, &it, si->e->pos);
        if (!x)
            return NULL;
        x->ast = si->e;
        x->name = si->alias ? si->alias : expr_name(b, si->e);
        x->aliased = si->alias != NULL;
        if (!x->name)
            return plan__oom(b);
    }
    uint32_t n_visible = it.n;

    bool is_agg = select_has_aggregates(s);
    struct plan_agg_ctx ac = {.input = &sc};
    struct plan_mode m = {.sc = &sc, .agg = NULL, .clause = "SELECT"};
    struct plan_node *input = node;
    struct plan_expr *having = NULL;
    if (is_agg) {
        if (!bind_group_keys(b, s, &sc, &it, &ac))
            return NULL;
        m.agg = &ac;
    }
    for (uint32_t i = 0; i < n_visible; i++) {
        struct item *x = &it.v[i];
        if (x->ast) {
            x->e = plan__bind_expr(b, &m, x->ast);
            if (!x->e)
                return NULL;
        } else if (is_agg) {
            /* a column from *: must be a key */
            struct plan_expr *e = x->e;
            bool ok = false;
            for (uint32_t k = 0; k < ac.n_keys; k++)
                if (plan__expr_equal(e, ac.keys[k])) {
                    x->e = plan__col(b, k, e->type, e->pos);
                    ok = x->e != NULL;
                }
            if (!ok)
                return plan__fail(b, ST_EBIND, e->pos,
                                  "column \"%s\" must appear in the GROUP BY clause or be used in "
                                  "an aggregate function",
                                  x->name);
        }
    }
    if (s->having) {
        struct plan_mode hm = m;
        hm.clause = "HAVING";
        having = bool_operand(b, plan__bind_expr(b, &hm, s->having), "HAVING");
        if (!having)
            return NULL;
    }

    /* ORDER BY and DISTINCT ON: projection columns, maybe hidden */
    bool plain_distinct = s->distinct && s->n_distinct_on == 0;
    struct plan_sort_key *keys = NULL;
    if (s->n_order) {
        keys = plan__alloc(b, s->n_order * sizeof *keys);
        if (!keys)
            return NULL;
        for (uint32_t i = 0; i < s->n_order; i++) {
            const struct sql_order_item *o = &s->order[i];
            int c = resolve_output_ref(b, &m, &it, n_visible, o->e, plain_distinct, "ORDER BY");
            if (c < 0)
                return NULL;
            keys[i].col = (uint32_t)c;
            keys[i].desc = o->desc;
            keys[i].nulls_first = o->nulls == SQL_NULLS_DEFAULT ? o->desc
                                                                : o->nulls == SQL_NULLS_FIRST;
        }
    }
    uint32_t *on = NULL;
    if (s->n_distinct_on) {
        on = plan__alloc(b, s->n_distinct_on * sizeof *on);
        if (!on)
            return NULL;
        for (uint32_t i = 0; i < s->n_distinct_on; i++) {
            int c = resolve_output_ref(b, &m, &it, n_visible, s->distinct_on[i], false,
                                       "DISTINCT ON");
            if (c < 0)
                return NULL;
            on[i] = (uint32_t)c;
        }
        if (s->n_order) {
            /* the leading ORDER BY keys must be the DISTINCT ON keys */
            for (uint32_t i = 0; i < s->n_distinct_on; i++) {
                bool match = false;
                for (uint32_t j = 0; j < s->n_distinct_on && j < s->n_order; j++)
                    if (keys[j].col == on[i])
                        match = true;
                if (!match || s->n_order < s->n_distinct_on)
                    return plan__fail(b, ST_EBIND, s->distinct_on[i]->pos,
                                      "SELECT DISTINCT ON expressions must match the leading "
                                      "ORDER BY expressions");
            }
        }
    }

    /* Agg node (now that every aggregate is known) and HAVING */
    if (is_agg) {
        node = new_node(b, PN_AGG, input, ac.n_keys + ac.n_aggs);
        if (!node)
            return NULL;
        node->u.agg.n_keys = ac.n_keys;
        node->u.agg.keys = ac.keys;
        node->u.agg.n_aggs = ac.n_aggs;
        node->u.agg.aggs = ac.aggs;
        for (uint32_t k = 0; k < ac.n_keys; k++) {
            struct plan_col *c = &node->cols[k];
            const struct plan_expr *key = ac.keys[k];
            c->type = key->type;
            describe_expr(key, input, &c->role, &c->nullable);
            if (key->kind == PE_COL)
                c->name = input->cols[key->u.col].name;
            else {
                char buf[200];
                plan_expr_format(key, input->cols, buf, sizeof buf);
                c->name = sql_arena_strndup(b->a, buf, strlen(buf));
                if (!c->name)
                    return plan__oom(b);
            }
        }
        for (uint32_t i = 0; i < ac.n_aggs; i++) {
            struct plan_col *c = &node->cols[ac.n_keys + i];
            c->name = plan_agg_name(ac.aggs[i].fn);
            c->type = ac.aggs[i].type;
            c->nullable = !(ac.aggs[i].fn == PA_COUNT || ac.aggs[i].fn == PA_COUNT_STAR ||
                            ac.aggs[i].fn == PA_COUNT_DISTINCT);
        }
        if (having && !(having->kind == PE_CONST && !having->u.c.is_null && having->u.c.v.b)) {
            node = make_filter(b, node, having);
            if (!node)
                return NULL;
        }
    }

    /* Project */
    struct plan_node *proj = new_node(b, PN_PROJECT, node, it.n);
    if (!proj)
        return NULL;
    proj->u.project.exprs = plan__alloc(b, it.n * sizeof(struct plan_expr *));
    if (it.n && !proj->u.project.exprs)
        return NULL;
    for (uint32_t i = 0; i < it.n; i++) {
        struct plan_col *c = &proj->cols[i];
        proj->u.project.exprs[i] = it.v[i].e;
        c->name = it.v[i].name;
        c->type = it.v[i].e->type;
        describe_expr(it.v[i].e, node, &c->role, &c->nullable);
    }
    node = proj;

    if (plain_distinct) {
        struct plan_node *d = new_node(b, PN_DISTINCT, node, node->n_cols);
        if (!d)
            return NULL;
        if (node->n_cols)
            memcpy(d->cols, node->cols, node->n_cols * sizeof *d->cols);
        node = d;
    }
    if (s->n_order) {
        struct plan_node *so = new_node(b, PN_SORT, node, node->n_cols);
        if (!so)
            return NULL;
        if (node->n_cols)
            memcpy(so->cols, node->cols, node->n_cols * sizeof *so->cols);
        so->u.sort.n_keys = s->n_order;
        so->u.sort.keys = keys;
        node = so;
    }
    if (s->n_distinct_on) {
        struct plan_node *d = new_node(b, PN_DISTINCT, node, node->n_cols);
        if (!d)
            return NULL;
        if (node->n_cols)
            memcpy(d->cols, node->cols, node->n_cols * sizeof *d->cols);
        d->u.distinct.n_on = s->n_distinct_on;
        d->u.distinct.on = on;
        node = d;
    }
    if (s->limit || s->offset) {
        uint64_t limit = UINT64_MAX, offset = 0;
        if (s->limit && bind_limit(b, s->limit, "LIMIT", &limit) != ST_OK)
            return NULL;
        if (s->offset && bind_limit(b, s->offset, "OFFSET", &offset) != ST_OK)
            return NULL;
        struct plan_node *l = new_node(b, PN_LIMIT, node, node->n_cols);
        if (!l)
            return NULL;
        if (node->n_cols)
            memcpy(l->cols, node->cols, node->n_cols * sizeof *l->cols);
        l->u.limit.limit = limit;
        l->u.limit.offset = offset;
        node = l;
    }
    if (it.n > n_visible) {
        struct plan_node *p = new_node(b, PN_PROJECT, node, n_visible);
        if (!p)
            return NULL;
        p->u.project.exprs = plan__alloc(b, n_visible * sizeof(struct plan_expr *));
        if (!p->u.project.exprs)
            return NULL;
        for (uint32_t i = 0; i < n_visible; i++) {
            p->cols[i] = node->cols[i];
            p->u.project.exprs[i] = plan__col(b, i, node->cols[i].type, 0);
            if (!p->u.project.exprs[i])
                return NULL;
        }
        node = p;
    }
    b->depth--;
    return node;
}
