/*
 * plan_func.c: the scalar function table and the binding of calls: arity,
 * argument conversions and result type per function. Aggregates are bound
 * in plan_bind.c; this file knows only scalar functions.
 *
 *   now()                          timestamp, fixed for the whole statement
 *   date_bin(interval, time[, origin])   bucket start; stride > 0, origin
 *                                  defaults to 1970-01-01T00:00:00Z
 *   date_trunc(unit, time)         unit: nanosecond .. week (fixed widths,
 *                                  planned as date_bin; weeks start on
 *                                  Monday), month, quarter, year
 *   abs ceil floor round([x, digits]) sqrt ln log10 exp power
 *   lower upper length substr trim replace concat coalesce nullif
 */
#include "plan_int.h"

#include <string.h>

#include "strata/clock.h"

struct fn_row {
    const char *name;
    enum plan_fn fn;
    uint8_t min_args, max_args;
};

static const struct fn_row fn_table[] = {
    {"abs", PF_ABS, 1, 1},
    {"ceil", PF_CEIL, 1, 1},
    {"ceiling", PF_CEIL, 1, 1},
    {"char_length", PF_LENGTH, 1, 1},
    {"character_length", PF_LENGTH, 1, 1},
    {"coalesce", PF_COALESCE, 1, 64},
    {"concat", PF_CONCAT_FN, 1, 64},
    {"date_bin", PF_DATE_BIN, 2, 3},
    {"date_trunc", PF_DATE_TRUNC, 2, 2},
    {"exp", PF_EXP, 1, 1},
    {"floor", PF_FLOOR, 1, 1},
    {"length", PF_LENGTH, 1, 1},
    {"ln", PF_LN, 1, 1},
    {"log10", PF_LOG10, 1, 1},
    {"lower", PF_LOWER, 1, 1},
    {"now", PF_NOW, 0, 0},
    {"nullif", PF_NULLIF, 2, 2},
    {"pow", PF_POWER, 2, 2},
    {"power", PF_POWER, 2, 2},
    {"replace", PF_REPLACE, 3, 3},
    {"round", PF_ROUND, 1, 2},
    {"sqrt", PF_SQRT, 1, 1},
    {"substr", PF_SUBSTR, 2, 3},
    {"substring", PF_SUBSTR, 2, 3},
    {"trim", PF_TRIM, 1, 1},
    {"upper", PF_UPPER, 1, 1},
};
#define FN_N (sizeof fn_table / sizeof fn_table[0])

/* Every callable name, aggregates included, for suggestions. */
static const char *const all_names[] = {
    "abs",     "avg",        "ceil",        "ceiling",  "char_length", "character_length",
    "coalesce", "concat",    "count",       "date_bin", "date_trunc",  "exp",
    "first",   "floor",      "last",        "length",   "ln",          "log10",
    "lower",   "max",        "mean",        "min",      "now",         "nullif",
    "pow",     "power",      "replace",     "round",    "sqrt",        "stddev",
    "stddev_pop", "stddev_samp", "substr",  "substring", "sum",        "trim",
    "upper",   "var_pop",    "var_samp",    "variance",
};

const char *const *
plan__function_names(uint32_t *n)
{
    *n = sizeof all_names / sizeof all_names[0];
    return all_names;
}

static struct plan_expr *
numeric_arg(struct plan_binder *b, const char *fname, struct plan_expr *a)
{
    if (a->type == PT_NULL)
        return plan__coerce(b, a, PT_FLOAT);
    if (!plan__is_numeric(a->type))
        return plan__fail(b, ST_ETYPE, a->pos, "%s() needs a number, not %s", fname,
                          plan_type_name(a->type));
    return a;
}

static struct plan_expr *
typed_arg(struct plan_binder *b, const char *fname, struct plan_expr *a, enum plan_type t)
{
    if (a->type == t)
        return a;
    if (a->type == PT_NULL || (t == PT_FLOAT && plan__is_numeric(a->type)) ||
        (t == PT_INT && a->type == PT_UINT) ||
        (a->kind == PE_CONST && a->type == PT_STRING && (t == PT_TIME || t == PT_INTERVAL)))
        return plan__coerce(b, a, t);
    if (t == PT_INT && a->type == PT_FLOAT && a->kind == PE_CONST)
        return plan__coerce(b, a, t);
    if (t == PT_TIME && a->kind == PE_CONST && (a->type == PT_INT || a->type == PT_UINT))
        return plan__coerce(b, a, t); /* ns since the epoch */
    return plan__fail(b, ST_ETYPE, a->pos, "%s() needs %s here, not %s", fname, plan_type_name(t),
                      plan_type_name(a->type));
}

/* The common type of several expressions (numeric promotion; NULL adopts). */
static bool
common_type(struct plan_binder *b, const char *fname, struct plan_expr **args, uint32_t n,
            enum plan_type *out)
{
    enum plan_type t = PT_NULL;
    for (uint32_t i = 0; i < n; i++) {
        enum plan_type x = args[i]->type;
        if (x == PT_NULL || x == t)
            continue;
        if (t == PT_NULL) {
            t = x;
            continue;
        }
        if (plan__is_numeric(t) && plan__is_numeric(x)) {
            t = (t == PT_FLOAT || x == PT_FLOAT) ? PT_FLOAT : PT_INT;
            continue;
        }
        if (t == PT_TIME && x == PT_STRING && args[i]->kind == PE_CONST)
            continue;
        if (t == PT_STRING && x == PT_TIME) {
            t = PT_TIME;
            continue;
        }
        plan__fail(b, ST_ETYPE, args[i]->pos, "%s: cannot mix %s and %s", fname,
                   plan_type_name(t), plan_type_name(x));
        return false;
    }
    *out = t;
    return true;
}

static int64_t
fixed_unit_ns(const char *u)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {
        {"nanosecond", 1},          {"microsecond", 1000},       {"millisecond", 1000000},
        {"second", 1000000000},     {"minute", 60000000000},     {"hour", 3600000000000},
        {"day", 86400000000000},    {"week", 604800000000000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(units[i].name, u) == 0)
            return units[i].ns;
    return 0;
}

static struct plan_expr *
bind_date_bin(struct plan_binder *b, const struct sql_expr *call, struct plan_expr **args,
              uint32_t n)
{
    struct plan_expr *stride = args[0];
    if (stride->kind == PE_CONST && stride->type == PT_STRING)
        stride = plan__coerce(b, stride, PT_INTERVAL);
    if (!stride)
        return NULL;
    if (stride->kind != PE_CONST || stride->type != PT_INTERVAL)
        return plan__fail(b, ST_EUNSUPPORTED, args[0]->pos,
                          "date_bin() needs a constant interval as its first argument, e.g. "
                          "INTERVAL '1 minute'");
    if (stride->u.c.is_null || stride->u.c.v.i <= 0)
        return plan__fail(b, ST_EINVAL, args[0]->pos, "date_bin() needs a positive interval");
    struct plan_expr *t = typed_arg(b, "date_bin", args[1], PT_TIME);
    if (!t)
        return NULL;
    struct plan_expr *origin;
    if (n == 3) {
        origin = typed_arg(b, "date_bin", args[2], PT_TIME);
        if (!origin)
            return NULL;
        if (origin->kind != PE_CONST || origin->u.c.is_null)
            return plan__fail(b, ST_EUNSUPPORTED, args[2]->pos,
                              "date_bin() needs a constant origin timestamp");
    } else {
        struct plan_value z = {.type = PT_TIME};
        origin = plan__const(b, &z, call->pos);
        if (!origin)
            return NULL;
    }
    struct plan_expr *v[3] = {stride, t, origin};
    return plan__call(b, PF_DATE_BIN, PT_TIME, call->pos, 3, v);
}

static struct plan_expr *
bind_date_trunc(struct plan_binder *b, const struct sql_expr *call, struct plan_expr **args)
{
    struct plan_expr *u = args[0];
    if (u->kind != PE_CONST || u->type != PT_STRING || u->u.c.is_null)
        return plan__fail(b, ST_EUNSUPPORTED, u->pos,
                          "date_trunc() needs a constant unit such as 'hour'");
    char unit[16];
    uint32_t ul = u->u.c.v.s.len;
    if (ul >= sizeof unit)
        return plan__fail(b, ST_EINVAL, u->pos, "unknown date_trunc unit");
    for (uint32_t i = 0; i < ul; i++) {
        char c = u->u.c.v.s.p[i];
        unit[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    unit[ul] = '\0';
    if (ul > 1 && unit[ul - 1] == 's')
        unit[ul - 1] = '\0'; /* "hours" */
    struct plan_expr *t = typed_arg(b, "date_trunc", args[1], PT_TIME);
    if (!t)
        return NULL;
    int64_t ns = fixed_unit_ns(unit);
    if (ns) {
        /* a fixed width: date_bin with the epoch (weeks: Monday 1970-01-05) */
        struct plan_value sv = {.type = PT_INTERVAL, .v.i = ns};
        struct plan_value ov = {.type = PT_TIME, .v.i = ns == 604800000000000 ? 4 * 86400 * ST_NS_PER_SEC : 0};
        struct plan_expr *v[3] = {plan__const(b, &sv, u->pos), t, plan__const(b, &ov, u->pos)};
        if (!v[0] || !v[2])
            return NULL;
        return plan__call(b, PF_DATE_BIN, PT_TIME, call->pos, 3, v);
    }
    int64_t dummy;
    if (!plan_date_trunc_calendar(unit, 0, &dummy))
        return plan__fail(b, ST_EINVAL, u->pos,
                          "unknown date_trunc unit '%s' (expected second, minute, hour, day, "
                          "week, month, quarter or year)",
                          unit);
    struct plan_value uv = {.type = PT_STRING};
    char *s = sql_arena_strndup(b->a, unit, strlen(unit));
    if (!s)
        return plan__oom(b);
    uv.v.s.p = s;
    uv.v.s.len = (uint32_t)strlen(unit);
    struct plan_expr *v[2] = {plan__const(b, &uv, u->pos), t};
    if (!v[0])
        return NULL;
    return plan__call(b, PF_DATE_TRUNC, PT_TIME, call->pos, 2, v);
}

struct plan_expr *
plan__bind_function(struct plan_binder *b, const struct sql_expr *call, struct plan_expr **args,
                    uint32_t n)
{
    const char *name = call->u.func.name;
    const struct fn_row *row = NULL;
    for (size_t i = 0; i < FN_N; i++)
        if (strcmp(fn_table[i].name, name) == 0) {
            row = &fn_table[i];
            break;
        }
    if (!row) {
        uint32_t nn;
        const char *const *names = plan__function_names(&nn);
        const char *s = plan__suggest(name, names, nn);
        if (s)
            return plan__fail(b, ST_EBIND, call->pos,
                              "function \"%s\" does not exist; did you mean \"%s\"?", name, s);
        return plan__fail(b, ST_EBIND, call->pos, "function \"%s\" does not exist", name);
    }
    if (call->u.func.distinct || call->u.func.star)
        return plan__fail(b, ST_EPARSE, call->pos, "%s() is not an aggregate function", name);
    if (n < row->min_args || n > row->max_args) {
        if (row->min_args == row->max_args)
            return plan__fail(b, ST_ETYPE, call->pos, "%s() takes %u argument%s, not %u", name,
                              row->min_args, row->min_args == 1 ? "" : "s", n);
        return plan__fail(b, ST_ETYPE, call->pos, "%s() takes %u to %u arguments, not %u", name,
                          row->min_args, row->max_args, n);
    }
    enum plan_fn fn = row->fn;
    enum plan_type rt;
    switch (fn) {
    case PF_NOW: {
        struct plan_value v = {.type = PT_TIME, .v.i = b->ctx->now_ns};
        return plan__const(b, &v, call->pos);
    }
    case PF_DATE_BIN:
        return bind_date_bin(b, call, args, n);
    case PF_DATE_TRUNC:
        return bind_date_trunc(b, call, args);
    case PF_ABS:
    case PF_CEIL:
    case PF_FLOOR:
    case PF_ROUND:
        args[0] = numeric_arg(b, name, args[0]);
        if (!args[0])
            return NULL;
        rt = args[0]->type;
        if (n == 2) {
            args[1] = typed_arg(b, name, args[1], PT_INT);
            if (!args[1])
                return NULL;
        }
        break;
    case PF_SQRT:
    case PF_LN:
    case PF_LOG10:
    case PF_EXP:
    case PF_POWER:
        for (uint32_t i = 0; i < n; i++) {
            args[i] = numeric_arg(b, name, args[i]);
            if (args[i])
                args[i] = plan__coerce(b, args[i], PT_FLOAT);
            if (!args[i])
                return NULL;
        }
        rt = PT_FLOAT;
        break;
    case PF_LOWER:
    case PF_UPPER:
    case PF_TRIM:
    case PF_LENGTH:
        args[0] = typed_arg(b, name, args[0], PT_STRING);
        if (!args[0])
            return NULL;
        rt = fn == PF_LENGTH ? PT_INT : PT_STRING;
        break;
    case PF_SUBSTR:
        args[0] = typed_arg(b, name, args[0], PT_STRING);
        if (!args[0])
            return NULL;
        for (uint32_t i = 1; i < n; i++) {
            args[i] = typed_arg(b, name, args[i], PT_INT);
            if (!args[i])
                return NULL;
        }
        rt = PT_STRING;
        break;
    case PF_REPLACE:
        for (uint32_t i = 0; i < n; i++) {
            args[i] = typed_arg(b, name, args[i], PT_STRING);
            if (!args[i])
                return NULL;
        }
        rt = PT_STRING;
        break;
    case PF_CONCAT_FN:
        for (uint32_t i = 0; i < n; i++) {
            args[i] = plan__coerce(b, args[i], PT_STRING);
            if (!args[i])
                return NULL;
        }
        rt = PT_STRING;
        break;
    case PF_COALESCE:
    case PF_NULLIF:
        if (!common_type(b, name, args, n, &rt))
            return NULL;
        for (uint32_t i = 0; i < n; i++) {
            args[i] = plan__coerce(b, args[i], rt);
            if (!args[i])
                return NULL;
        }
        break;
    default:
        return plan__fail(b, ST_EINTERNAL, call->pos, "unhandled function %s", name);
    }
    return plan__call(b, fn, rt, call->pos, n, args);
}
