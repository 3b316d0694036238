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

#include "strata/buf.h"
#include "strata/clock.h"


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

static void fmt(struct st_tw *w, const struct sql_expr *e);

static void
fmt_child(struct st_tw *w, const struct sql_expr *c, int min)
{
    if (prec_of(c) < min) {
        st_tw_puts(w, "(");
        fmt(w, c);
        st_tw_puts(w, ")");
    } else {
        fmt(w, c);
    }
}

static void
fmt_name(struct st_tw *w, const char *name)
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
        st_tw_puts(w, name);
        return;
    }
    st_tw_puts(w, "\"");
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            st_tw_puts(w, "\"");
        st_tw_put(w, c, 1);
    }
    st_tw_puts(w, "\"");
}

static void
fmt_string(struct st_tw *w, const char *s, uint32_t n)
{
    st_tw_puts(w, "'");
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] == '\'')
            st_tw_puts(w, "'");
        st_tw_put(w, s + i, 1);
    }
    st_tw_puts(w, "'");
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
fmt_double(struct st_tw *w, double f)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", f);
    if (strtod(tmp, NULL) != f)
        snprintf(tmp, sizeof tmp, "%.17g", f);
    size_t tl = strlen(tmp);
    if (!strpbrk(tmp, ".eEni") && tl + 2 < sizeof tmp)
        memcpy(tmp + tl, ".0", 3);
    st_tw_puts(w, tmp);
}

static void
fmt_list(struct st_tw *w, struct sql_expr *const *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            st_tw_puts(w, ", ");
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
fmt(struct st_tw *w, const struct sql_expr *e)
{
    char tmp[64];
    switch (e->kind) {
    case SQL_EXPR_LITERAL:
        switch (e->u.lit.kind) {
        case SQL_LIT_NULL:
            st_tw_puts(w, "NULL");
            break;
        case SQL_LIT_BOOL:
            st_tw_puts(w, e->u.lit.v.b ? "true" : "false");
            break;
        case SQL_LIT_INT:
            st_tw_printf(w, "%" PRId64, e->u.lit.v.i);
            break;
        case SQL_LIT_UINT:
            st_tw_printf(w, "%" PRIu64, e->u.lit.v.u);
            break;
        case SQL_LIT_FLOAT:
            fmt_double(w, e->u.lit.v.f);
            break;
        case SQL_LIT_STRING:
            fmt_string(w, e->u.lit.v.s.p, e->u.lit.v.s.len);
            break;
        case SQL_LIT_TIMESTAMP:
            st_format_rfc3339(e->u.lit.v.i, tmp, sizeof tmp);
            st_tw_printf(w, "TIMESTAMP '%s'", tmp);
            break;
        case SQL_LIT_INTERVAL:
            sql_format_interval(e->u.lit.v.i, tmp, sizeof tmp);
            st_tw_printf(w, "INTERVAL '%s'", tmp);
            break;
        }
        break;
    case SQL_EXPR_COLUMN:
        if (e->u.col.qual) {
            fmt_name(w, e->u.col.qual);
            st_tw_puts(w, ".");
        }
        fmt_name(w, e->u.col.name);
        break;
    case SQL_EXPR_STAR:
        if (e->u.star.qual) {
            fmt_name(w, e->u.star.qual);
            st_tw_puts(w, ".");
        }
        st_tw_puts(w, "*");
        break;
    case SQL_EXPR_PARAM:
        st_tw_puts(w, "$");
        st_tw_puts(w, e->u.param.name);
        break;
    case SQL_EXPR_UNARY:
        if (e->u.un.op == SQL_OP_NOT) {
            st_tw_puts(w, "NOT ");
            fmt_child(w, e->u.un.arg, 4);
        } else {
            st_tw_puts(w, "-");
            fmt_child(w, e->u.un.arg, 10);
        }
        break;
    case SQL_EXPR_BINARY: {
        int p = prec_of(e);
        fmt_child(w, e->u.bin.l, p);
        st_tw_puts(w, " ");
        st_tw_puts(w, sql_op_name(e->u.bin.op));
        st_tw_puts(w, " ");
        fmt_child(w, e->u.bin.r, p + 1);
        break;
    }
    case SQL_EXPR_FUNC:
        st_tw_puts(w, e->u.func.name);
        st_tw_puts(w, "(");
        if (e->u.func.star)
            st_tw_puts(w, "*");
        if (e->u.func.distinct)
            st_tw_puts(w, "DISTINCT ");
        fmt_list(w, e->u.func.args, e->u.func.n_args);
        st_tw_puts(w, ")");
        break;
    case SQL_EXPR_CASE:
        st_tw_puts(w, "CASE");
        if (e->u.cas.operand) {
            st_tw_puts(w, " ");
            fmt(w, e->u.cas.operand);
        }
        for (uint32_t i = 0; i < e->u.cas.n_when; i++) {
            st_tw_puts(w, " WHEN ");
            fmt(w, e->u.cas.when[i]);
            st_tw_puts(w, " THEN ");
            fmt(w, e->u.cas.then[i]);
        }
        if (e->u.cas.els) {
            st_tw_puts(w, " ELSE ");
            fmt(w, e->u.cas.els);
        }
        st_tw_puts(w, " END");
        break;
    case SQL_EXPR_CAST:
        st_tw_puts(w, "CAST(");
        fmt(w, e->u.cast.arg);
        st_tw_puts(w, " AS ");
        st_tw_puts(w, type_name(e->u.cast.to));
        st_tw_puts(w, ")");
        break;
    case SQL_EXPR_IN:
        fmt_child(w, e->u.in.arg, 7);
        st_tw_puts(w, e->u.in.negated ? " NOT IN (" : " IN (");
        if (e->u.in.subquery)
            st_tw_puts(w, "SELECT ...");
        else
            fmt_list(w, e->u.in.list, e->u.in.n);
        st_tw_puts(w, ")");
        break;
    case SQL_EXPR_BETWEEN:
        fmt_child(w, e->u.between.arg, 7);
        st_tw_puts(w, e->u.between.negated ? " NOT BETWEEN " : " BETWEEN ");
        fmt_child(w, e->u.between.lo, 7);
        st_tw_puts(w, " AND ");
        fmt_child(w, e->u.between.hi, 7);
        break;
    case SQL_EXPR_IS_NULL:
        fmt_child(w, e->u.isnull.arg, 5);
        st_tw_puts(w, e->u.isnull.negated ? " IS NOT NULL" : " IS NULL");
        break;
    case SQL_EXPR_LIKE:
        fmt_child(w, e->u.like.arg, 7);
        st_tw_puts(w, e->u.like.negated ? " NOT" : "");
        st_tw_puts(w, e->u.like.icase ? " ILIKE " : " LIKE ");
        fmt_child(w, e->u.like.pattern, 7);
        break;
    case SQL_EXPR_SUBQUERY:
        st_tw_puts(w, "(SELECT ...)");
        break;
    }
}

void
sql_expr_format(const struct sql_expr *e, char *buf, size_t buflen)
{
    struct st_tw w = {buf, buflen, 0};
    if (buflen == 0)
        return;
    buf[0] = '\0';
    fmt(&w, e);
}
