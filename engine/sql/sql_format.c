/*
 * sql_format.c: AST expressions back to SQL text, in one canonical form.
 *
 * Used for the names of unaliased result columns ("max(usage_user)"), in
 * EXPLAIN output and in error messages. Function names are lower case,
 * keywords upper case, binary operators spaced, and parentheses appear only
 * where precedence needs them. Literals print so that they parse back to
 * the same value (strings with '' escapes, timestamps as RFC 3339, intervals
 * in their largest exact unit). Output is truncated to the buffer.
 */
#include "sql_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"

struct w {
    char *buf;
    size_t cap, len;
};

static void
wput(struct w *w, const char *s, size_t n)
{
    if (w->cap == 0)
        return;
    size_t room = w->cap - 1 - w->len;
    if (n > room)
        n = room;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void
wstr(struct w *w, const char *s)
{
    wput(w, s, strlen(s));
}

static void wf(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
wf(struct w *w, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        wput(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

const char *
sql_op_name(enum sql_op op)
{
    switch (op) {
    case SQL_OP_NEG:
        return "-";
    case SQL_OP_NOT:
        return "NOT";
    case SQL_OP_ADD:
        return "+";
    case SQL_OP_SUB:
        return "-";
    case SQL_OP_MUL:
        return "*";
    case SQL_OP_DIV:
        return "/";
    case SQL_OP_MOD:
        return "%";
    case SQL_OP_CONCAT:
        return "||";
    case SQL_OP_EQ:
        return "=";
    case SQL_OP_NE:
        return "!=";
    case SQL_OP_LT:
        return "<";
    case SQL_OP_LE:
        return "<=";
    case SQL_OP_GT:
        return ">";
    case SQL_OP_GE:
        return ">=";
    case SQL_OP_AND:
        return "AND";
    case SQL_OP_OR:
        return "OR";
    case SQL_OP_RE_MATCH:
        return "~";
    case SQL_OP_RE_NMATCH:
        return "!~";
    case SQL_OP_RE_IMATCH:
        return "~*";
    case SQL_OP_RE_NIMATCH:
        return "!~*";
    }
    return "?";
}

/* Precedence as in sql_parse.c, for deciding parentheses. */
static int
prec_of(const struct sql_expr *e)
{
    switch (e->kind) {
    case SQL_EXPR_BINARY:
        switch (e->u.bin.op) {
        case SQL_OP_OR:
            return 1;
        case SQL_OP_AND:
            return 2;
        case SQL_OP_EQ:
        case SQL_OP_NE:
        case SQL_OP_LT:
        case SQL_OP_LE:
        case SQL_OP_GT:
        case SQL_OP_GE:
            return 5;
        case SQL_OP_CONCAT:
        case SQL_OP_RE_MATCH:
        case SQL_OP_RE_NMATCH:
        case SQL_OP_RE_IMATCH:
        case SQL_OP_RE_NIMATCH:
            return 7;
        case SQL_OP_ADD:
        case SQL_OP_SUB:
            return 8;
        default:
            return 9;
        }
    case SQL_EXPR_UNARY:
        return e->u.un.op == SQL_OP_NOT ? 3 : 10;
    case SQL_EXPR_IS_NULL:
        return 4;
    case SQL_EXPR_IN:
    case SQL_EXPR_BETWEEN:
    case SQL_EXPR_LIKE:
        return 6;
    default:
        return 12;
    }
}

static void fmt(struct w *w, const struct sql_expr *e);

static void
fmt_child(struct w *w, const struct sql_expr *c, int min)
{
    if (prec_of(c) < min) {
        wstr(w, "(");
        fmt(w, c);
        wstr(w, ")");
    } else {
        fmt(w, c);
    }
}

static void
fmt_name(struct w *w, const char *name)
{
    bool plain = name[0] != '\0' && !(name[0] >= '0' && name[0] <= '9');
    for (const char *c = name; *c && plain; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              (unsigned char)*c >= 0x80))
            plain = false;
    if (plain && sql__keyword(name, (uint32_t)strlen(name)) != KW_NONE &&
        sql__keyword_reserved(sql__keyword(name, (uint32_t)strlen(name))))
        plain = false;
    if (plain) {
        wstr(w, name);
        return;
    }
    wstr(w, "\"");
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            wstr(w, "\"");
        wput(w, c, 1);
    }
    wstr(w, "\"");
}

static void
fmt_string(struct w *w, const char *s, uint32_t n)
{
    wstr(w, "'");
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] == '\'')
            wstr(w, "'");
        wput(w, s + i, 1);
    }
    wstr(w, "'");
}

/* "5 minutes", "1 hour", "90 seconds", "1500 milliseconds". */
void
sql_format_interval(int64_t ns, char *buf, size_t n)
{
    static const struct {
        int64_t ns;
        const char *one, *many;
    } u[] = {
        {604800000000000, "week", "weeks"},   {86400000000000, "day", "days"},
        {3600000000000, "hour", "hours"},     {60000000000, "minute", "minutes"},
        {1000000000, "second", "seconds"},    {1000000, "millisecond", "milliseconds"},
        {1000, "microsecond", "microseconds"}, {1, "nanosecond", "nanoseconds"},
    };
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        if (a % (uint64_t)u[i].ns == 0 && (a != 0 || u[i].ns == 1)) {
            uint64_t k = a / (uint64_t)u[i].ns;
            snprintf(buf, n, "%s%" PRIu64 " %s", ns < 0 ? "-" : "", k, k == 1 ? u[i].one : u[i].many);
            return;
        }
    }
    snprintf(buf, n, "0 seconds");
}

static void
fmt_double(struct w *w, double f)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", f);
    if (strtod(tmp, NULL) != f)
        snprintf(tmp, sizeof tmp, "%.17g", f);
    size_t tl = strlen(tmp);
    if (!strpbrk(tmp, ".eEni") && tl + 2 < sizeof tmp)
        memcpy(tmp + tl, ".0", 3);
    wstr(w, tmp);
}

static void
fmt_list(struct w *w, struct sql_expr *const *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            wstr(w, ", ");
        fmt(w, v[i]);
    }
}

static const char *
type_name(enum sql_type_name t)
{
    switch (t) {
    case SQL_T_BIGINT:
        return "BIGINT";
    case SQL_T_UBIGINT:
        return "BIGINT UNSIGNED";
    case SQL_T_DOUBLE:
        return "DOUBLE";
    case SQL_T_STRING:
        return "VARCHAR";
    case SQL_T_BOOLEAN:
        return "BOOLEAN";
    case SQL_T_TIMESTAMP:
        return "TIMESTAMP";
    }
    return "?";
}

static void
fmt(struct w *w, const struct sql_expr *e)
{
    char tmp[64];
    switch (e->kind) {
    case SQL_EXPR_LITERAL:
        switch (e->u.lit.kind) {
        case SQL_LIT_NULL:
            wstr(w, "NULL");
            break;
        case SQL_LIT_BOOL:
            wstr(w, e->u.lit.v.b ? "true" : "false");
            break;
        case SQL_LIT_INT:
            wf(w, "%" PRId64, e->u.lit.v.i);
            break;
        case SQL_LIT_UINT:
            wf(w, "%" PRIu64, e->u.lit.v.u);
            break;
        case SQL_LIT_FLOAT:
            fmt_double(w, e->u.lit.v.f);
            break;
        case SQL_LIT_STRING:
            fmt_string(w, e->u.lit.v.s.p, e->u.lit.v.s.len);
            break;
        case SQL_LIT_TIMESTAMP:
            st_format_rfc3339(e->u.lit.v.i, tmp, sizeof tmp);
            wf(w, "TIMESTAMP '%s'", tmp);
            break;
        case SQL_LIT_INTERVAL:
            sql_format_interval(e->u.lit.v.i, tmp, sizeof tmp);
            wf(w, "INTERVAL '%s'", tmp);
            break;
        }
        break;
    case SQL_EXPR_COLUMN:
        if (e->u.col.qual) {
            fmt_name(w, e->u.col.qual);
            wstr(w, ".");
        }
        fmt_name(w, e->u.col.name);
        break;
    case SQL_EXPR_STAR:
        if (e->u.star.qual) {
            fmt_name(w, e->u.star.qual);
            wstr(w, ".");
        }
        wstr(w, "*");
        break;
    case SQL_EXPR_PARAM:
        wstr(w, "$");
        wstr(w, e->u.param.name);
        break;
    case SQL_EXPR_UNARY:
        if (e->u.un.op == SQL_OP_NOT) {
            wstr(w, "NOT ");
            fmt_child(w, e->u.un.arg, 4);
        } else {
            wstr(w, "-");
            fmt_child(w, e->u.un.arg, 10);
        }
        break;
    case SQL_EXPR_BINARY: {
        int p = prec_of(e);
        fmt_child(w, e->u.bin.l, p);
        wstr(w, " ");
        wstr(w, sql_op_name(e->u.bin.op));
        wstr(w, " ");
        fmt_child(w, e->u.bin.r, p + 1);
        break;
    }
    case SQL_EXPR_FUNC:
        wstr(w, e->u.func.name);
        wstr(w, "(");
        if (e->u.func.star)
            wstr(w, "*");
        if (e->u.func.distinct)
            wstr(w, "DISTINCT ");
        fmt_list(w, e->u.func.args, e->u.func.n_args);
        wstr(w, ")");
        break;
    case SQL_EXPR_CASE:
        wstr(w, "CASE");
        if (e->u.cas.operand) {
            wstr(w, " ");
            fmt(w, e->u.cas.operand);
        }
        for (uint32_t i = 0; i < e->u.cas.n_when; i++) {
            wstr(w, " WHEN ");
            fmt(w, e->u.cas.when[i]);
            wstr(w, " THEN ");
            fmt(w, e->u.cas.then[i]);
        }
        if (e->u.cas.els) {
            wstr(w, " ELSE ");
            fmt(w, e->u.cas.els);
        }
        wstr(w, " END");
        break;
    case SQL_EXPR_CAST:
        wstr(w, "CAST(");
        fmt(w, e->u.cast.arg);
        wstr(w, " AS ");
        wstr(w, type_name(e->u.cast.to));
        wstr(w, ")");
        break;
    case SQL_EXPR_IN:
        fmt_child(w, e->u.in.arg, 7);
        wstr(w, e->u.in.negated ? " NOT IN (" : " IN (");
        if (e->u.in.subquery)
            wstr(w, "SELECT ...");
        else
            fmt_list(w, e->u.in.list, e->u.in.n);
        wstr(w, ")");
        break;
    case SQL_EXPR_BETWEEN:
        fmt_child(w, e->u.between.arg, 7);
        wstr(w, e->u.between.negated ? " NOT BETWEEN " : " BETWEEN ");
        fmt_child(w, e->u.between.lo, 7);
        wstr(w, " AND ");
        fmt_child(w, e->u.between.hi, 7);
        break;
    case SQL_EXPR_IS_NULL:
        fmt_child(w, e->u.isnull.arg, 5);
        wstr(w, e->u.isnull.negated ? " IS NOT NULL" : " IS NULL");
        break;
    case SQL_EXPR_LIKE:
        fmt_child(w, e->u.like.arg, 7);
        wstr(w, e->u.like.negated ? " NOT" : "");
        wstr(w, e->u.like.icase ? " ILIKE " : " LIKE ");
        fmt_child(w, e->u.like.pattern, 7);
        break;
    case SQL_EXPR_SUBQUERY:
        wstr(w, "(SELECT ...)");
        break;
    }
}

void
sql_expr_format(const struct sql_expr *e, char *buf, size_t buflen)
{
    struct w w = {buf, buflen, 0};
    if (buflen == 0)
        return;
    buf[0] = '\0';
    fmt(&w, e);
}
