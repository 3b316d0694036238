/*
 * sql_parse.c: the recursive-descent parser, second stage of the front
 * end. It pulls tokens from the lexer (sql_lex.c), with one token of
 * lookahead, and builds the AST of strata/sql.h in the caller's arena.
 *
 * Expressions use precedence climbing (lowest first):
 *   OR < AND < NOT < IS < comparison < BETWEEN/IN/LIKE < || ~ !~ < + - < * / %
 *   < unary - + < ::
 * which is PostgreSQL's order. Predicates (IS NULL, IN, BETWEEN, LIKE) are
 * handled as operators at their level of the climbing loop.
 *
 * Bounds: every recursive entry (parse_binary, subqueries) counts against
 * SQL_MAX_DEPTH, and every expression node records the height of its
 * subtree, refused above SQL_MAX_HEIGHT, so later recursive passes (binder,
 * printer, evaluator) are bounded too. Lists are capped at SQL_MAX_LIST.
 *
 * Errors name what was expected and what was found, at the offset of the
 * token found. Valid SQL outside the subset (joins, set operations, window
 * functions, data definition) gets ST_EUNSUPPORTED with a reason.
 */
#include "sql_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strata/clock.h"

struct parser {
    struct sql_lexer lx;
    struct sql_token cur, nxt;
    const char *src;
    struct sql_arena *a;
    struct st_error *err;
    uint32_t prev_end; /* one past the last byte of the previous token */
    unsigned depth;
    bool failed;
};

/* ---- errors and token handling ------------------------------------------ */

static void *
fail(struct parser *p, enum st_code code, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void *
fail(struct parser *p, enum st_code code, uint32_t pos, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    p->failed = true;
    char msg[ST_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st_error_set_at(p->err, code, pos, "%s", msg);
    return NULL;
}

static void *
oom(struct parser *p)
{
    return fail(p, ST_ENOMEM, p->cur.pos, "out of memory while parsing");
}

static void *
xalloc(struct parser *p, size_t n)
{
    void *r = sql_arena_alloc(p->a, n);
    if (!r)
        oom(p);
    return r;
}

static void
advance(struct parser *p)
{
    p->prev_end = p->cur.pos + p->cur.len;
    p->cur = p->nxt;
    if (p->cur.kind == TK_EOF || p->cur.kind == TK_ERROR)
        p->nxt = p->cur; /* sticky */
    else
        p->nxt = sql__lex_next(&p->lx);
}

/* A short description of the current token for "expected X, found Y". */
static void
describe(struct parser *p, const struct sql_token *t, char *buf, size_t n)
{
    switch (t->kind) {
    case TK_EOF:
        snprintf(buf, n, "end of input");
        return;
    case TK_STRING:
        snprintf(buf, n, "a string literal");
        return;
    case TK_INTEGER:
    case TK_FLOAT:
        snprintf(buf, n, "a number");
        return;
    case TK_ERROR:
        snprintf(buf, n, "%s", p->lx.err_msg ? p->lx.err_msg : "an invalid token");
        return;
    default: {
        unsigned len = t->len > 40 ? 40 : t->len;
        snprintf(buf, n, "\"%.*s%s\"", (int)len, p->src + t->pos, t->len > 40 ? "..." : "");
        return;
    }
    }
}

/* Report the current token as unexpected. */
static void *
unexpected(struct parser *p, const char *expected)
{
    if (p->cur.kind == TK_ERROR)
        return fail(p, ST_EPARSE, p->lx.err_pos, "%s", p->lx.err_msg);
    char what[96];
    describe(p, &p->cur, what, sizeof what);
    return fail(p, ST_EPARSE, p->cur.pos, "expected %s, found %s", expected, what);
}

static bool
is_kw(const struct parser *p, enum sql_kw kw)
{
    return p->cur.kind == TK_IDENT && p->cur.kw == kw;
}

static bool
accept_kw(struct parser *p, enum sql_kw kw)
{
    if (is_kw(p, kw)) {
        advance(p);
        return true;
    }
    return false;
}

static bool
expect_kw(struct parser *p, enum sql_kw kw)
{
    if (accept_kw(p, kw))
        return true;
    char exp[32];
    snprintf(exp, sizeof exp, "%s", sql__keyword_name(kw));
    unexpected(p, exp);
    return false;
}

static bool
accept(struct parser *p, enum sql_tok k)
{
    if (p->cur.kind == k) {
        advance(p);
        return true;
    }
    return false;
}

static bool
expect(struct parser *p, enum sql_tok k, const char *what)
{
    if (accept(p, k))
        return true;
    unexpected(p, what);
    return false;
}

static bool
enter(struct parser *p)
{
    if (++p->depth > SQL_MAX_DEPTH) {
        fail(p, ST_ELIMIT, p->cur.pos, "query nested too deeply (more than %d levels)",
             SQL_MAX_DEPTH);
        return false;
    }
    return true;
}

static void
leave(struct parser *p)
{
    p->depth--;
}

/* ---- identifiers and literals -------------------------------------------- */

/* Is the current token usable as a name? Reserved keywords are not. */
static bool
at_name(const struct parser *p)
{
    return p->cur.kind == TK_QIDENT ||
           (p->cur.kind == TK_IDENT && (p->cur.kw == KW_NONE || !sql__keyword_reserved(p->cur.kw)));
}

/* The current identifier as a string: folded to lower case unless quoted. */
static const char *
take_name(struct parser *p)
{
    const struct sql_token *t = &p->cur;
    char *s;
    if (t->kind == TK_QIDENT) {
        s = xalloc(p, t->len);
        if (!s)
            return NULL;
        uint32_t n = 0;
        for (uint32_t i = t->pos + 1; i + 1 < t->pos + t->len; i++) {
            s[n++] = p->src[i];
            if (p->src[i] == '"')
                i++; /* "" -> " */
        }
        s[n] = '\0';
        if (n == 0)
            return fail(p, ST_EPARSE, t->pos, "empty quoted identifier");
    } else {
        s = sql_arena_strndup(p->a, p->src + t->pos, t->len);
        if (!s)
            return oom(p);
        for (uint32_t i = 0; i < t->len; i++)
            if (s[i] >= 'A' && s[i] <= 'Z')
                s[i] = (char)(s[i] - 'A' + 'a');
    }
    advance(p);
    return s;
}

static const char *
expect_name(struct parser *p, const char *what)
{
    if (!at_name(p))
        return unexpected(p, what);
    return take_name(p);
}

static struct sql_expr *
new_expr(struct parser *p, enum sql_expr_kind k, uint32_t pos, uint32_t start)
{
    struct sql_expr *e = xalloc(p, sizeof *e);
    if (!e)
        return NULL;
    e->kind = k;
    e->pos = pos;
    e->start = start;
    e->end = start;
    e->depth = 1;
    return e;
}

/* Record a child's height; false (with the error set) when too tall. */
static bool
child(struct parser *p, struct sql_expr *parent, const struct sql_expr *c)
{
    if (!c)
        return true;
    if (c->depth + 1 > parent->depth)
        parent->depth = c->depth + 1;
    if (parent->depth > SQL_MAX_HEIGHT) {
        fail(p, ST_ELIMIT, parent->pos, "expression nested too deeply (more than %d levels)",
             SQL_MAX_HEIGHT);
        return false;
    }
    return true;
}

/* Unquote a string token ('' -> ') into the arena. */
static bool
string_value(struct parser *p, const struct sql_token *t, const char **out, uint32_t *len_out)
{
    char *s = sql_arena_alloc(p->a, t->len);
    if (!s) {
        oom(p);
        return false;
    }
    uint32_t n = 0;
    for (uint32_t i = t->pos + 1; i + 1 < t->pos + t->len; i++) {
        s[n++] = p->src[i];
        if (p->src[i] == '\'')
            i++;
    }
    s[n] = '\0';
    *out = s;
    *len_out = n;
    return true;
}

static struct sql_expr *
number_literal(struct parser *p)
{
    struct sql_token t = p->cur;
    struct sql_expr *e = new_expr(p, SQL_EXPR_LITERAL, t.pos, t.pos);
    if (!e)
        return NULL;
    e->end = t.pos + t.len;
    if (t.kind == TK_INTEGER) {
        uint64_t v = 0;
        for (uint32_t i = 0; i < t.len; i++) {
            unsigned d = (unsigned)(p->src[t.pos + i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                return fail(p, ST_EPARSE, t.pos, "integer literal out of range");
            v = v * 10 + d;
        }
        if (v <= (uint64_t)INT64_MAX) {
            e->u.lit.kind = SQL_LIT_INT;
            e->u.lit.v.i = (int64_t)v;
        } else {
            e->u.lit.kind = SQL_LIT_UINT;
            e->u.lit.v.u = v;
        }
    } else {
        char buf[400];
        if (t.len >= sizeof buf)
            return fail(p, ST_EPARSE, t.pos, "numeric literal too long");
        memcpy(buf, p->src + t.pos, t.len);
        buf[t.len] = '\0';
        errno = 0;
        char *endp;
        double f = strtod(buf, &endp);
        if (*endp != '\0' || errno == ERANGE || !(f - f == 0.0))
            return fail(p, ST_EPARSE, t.pos, "float literal out of range");
        e->u.lit.kind = SQL_LIT_FLOAT;
        e->u.lit.v.f = f;
    }
    advance(p);
    return e;
}

/* ---- expressions ---------------------------------------------------------- */

static struct sql_expr *parse_expr(struct parser *p);
static struct sql_expr *parse_binary(struct parser *p, int min_prec);
static struct sql_select *parse_select_stmt(struct parser *p);

enum {
    PREC_OR = 1,
    PREC_AND = 2,
    PREC_NOT = 3,
    PREC_IS = 4,
    PREC_CMP = 5,
    PREC_PRED = 6, /* BETWEEN IN LIKE */
    PREC_OTHER = 7, /* || ~ */
    PREC_ADD = 8,
    PREC_MUL = 9,
    PREC_UNARY = 10,
    PREC_CAST = 11,
};

static bool
parse_type_name(struct parser *p, enum sql_type_name *out)
{
    if (p->cur.kind != TK_IDENT) {
        unexpected(p, "a type name");
        return false;
    }
    uint32_t pos = p->cur.pos;
    char w[24];
    uint32_t n = p->cur.len < sizeof w - 1 ? p->cur.len : (uint32_t)sizeof w - 1;
    for (uint32_t i = 0; i < n; i++) {
        char c = p->src[p->cur.pos + i];
        w[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    w[n] = '\0';
    if (p->cur.len >= sizeof w - 1)
        w[0] = '\0';
    advance(p);
    static const struct {
        const char *name;
        enum sql_type_name t;
    } names[] = {
        {"bigint", SQL_T_BIGINT},     {"int", SQL_T_BIGINT},       {"integer", SQL_T_BIGINT},
        {"int8", SQL_T_BIGINT},       {"int64", SQL_T_BIGINT},     {"ubigint", SQL_T_UBIGINT},
        {"uint64", SQL_T_UBIGINT},    {"double", SQL_T_DOUBLE},    {"float", SQL_T_DOUBLE},
        {"float8", SQL_T_DOUBLE},     {"float64", SQL_T_DOUBLE},   {"real", SQL_T_DOUBLE},
        {"text", SQL_T_STRING},       {"varchar", SQL_T_STRING},   {"string", SQL_T_STRING},
        {"boolean", SQL_T_BOOLEAN},   {"bool", SQL_T_BOOLEAN},     {"timestamp", SQL_T_TIMESTAMP},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(w, names[i].name) != 0)
            continue;
        *out = names[i].t;
        if (*out == SQL_T_DOUBLE && strcmp(w, "double") == 0 && p->cur.kind == TK_IDENT &&
            p->cur.len == 9 && strncasecmp(p->src + p->cur.pos, "precision", 9) == 0)
            advance(p);
        if (*out == SQL_T_BIGINT && strcmp(w, "bigint") == 0 && p->cur.kind == TK_IDENT &&
            p->cur.len == 8 && strncasecmp(p->src + p->cur.pos, "unsigned", 8) == 0) {
            advance(p);
            *out = SQL_T_UBIGINT;
        }
        if (*out == SQL_T_STRING && strcmp(w, "varchar") == 0 && p->cur.kind == TK_LPAREN) {
            /* VARCHAR(n): the length is accepted and ignored */
            advance(p);
            if (!expect(p, TK_INTEGER, "a length") || !expect(p, TK_RPAREN, "\")\""))
                return false;
        }
        return true;
    }
    fail(p, ST_EPARSE, pos,
         "unknown type name \"%s\" (expected BIGINT, BIGINT UNSIGNED, DOUBLE, VARCHAR, BOOLEAN "
         "or TIMESTAMP)",
         w);
    return false;
}

/* Comma-separated expressions up to ')' (which is consumed). */
static bool
parse_expr_list(struct parser *p, struct sql_expr ***out, uint32_t *n_out, struct sql_expr *parent)
{
    uint32_t n = 0, cap = 4;
    struct sql_expr **v = xalloc(p, cap * sizeof *v);
    if (!v)
        return false;
    for (;;) {
        struct sql_expr *e = parse_expr(p);
        if (!e)
            return false;
        if (parent && !child(p, parent, e))
            return false;
        if (n == cap) {
            if (cap >= SQL_MAX_LIST) {
                fail(p, ST_ELIMIT, e->start, "list too long (more than %d items)", SQL_MAX_LIST);
                return false;
            }
            struct sql_expr **nv = xalloc(p, 2 * cap * sizeof *nv);
            if (!nv)
                return false;
            memcpy(nv, v, n * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[n++] = e;
        if (!accept(p, TK_COMMA))
            break;
    }
    if (!expect(p, TK_RPAREN, "\",\" or \")\""))
        return false;
    *out = v;
    *n_out = n;
    return true;
}

static struct sql_expr *
parse_function(struct parser *p, const char *name, uint32_t start)
{
    /* cur is '(' */
    struct sql_expr *e = new_expr(p, SQL_EXPR_FUNC, start, start);
    if (!e)
        return NULL;
    e->u.func.name = name;
    advance(p);
    if (accept(p, TK_STAR)) {
        e->u.func.star = true;
        if (!expect(p, TK_RPAREN, "\")\""))
            return NULL;
    } else if (accept(p, TK_RPAREN)) {
        /* no arguments */
    } else {
        if (accept_kw(p, KW_DISTINCT))
            e->u.func.distinct = true;
        else
            accept_kw(p, KW_ALL);
        if (!parse_expr_list(p, &e->u.func.args, &e->u.func.n_args, e))
            return NULL;
    }
    e->end = p->prev_end;
    if (is_kw(p, KW_OVER))
        return fail(p, ST_EUNSUPPORTED, p->cur.pos, "window functions (OVER) are not supported");
    return e;
}

static struct sql_expr *
parse_case(struct parser *p)
{
    uint32_t start = p->cur.pos;
    advance(p); /* CASE */
    struct sql_expr *e = new_expr(p, SQL_EXPR_CASE, start, start);
    if (!e)
        return NULL;
    if (is_kw(p, KW_END) || is_kw(p, KW_ELSE))
        return unexpected(p, "WHEN");
    if (!is_kw(p, KW_WHEN)) {
        e->u.cas.operand = parse_expr(p);
        if (!e->u.cas.operand || !child(p, e, e->u.cas.operand))
            return NULL;
    }
    uint32_t cap = 4;
    e->u.cas.when = xalloc(p, cap * sizeof(struct sql_expr *));
    e->u.cas.then = xalloc(p, cap * sizeof(struct sql_expr *));
    if (!e->u.cas.when || !e->u.cas.then)
        return NULL;
    while (accept_kw(p, KW_WHEN)) {
        if (e->u.cas.n_when == cap) {
            if (cap >= SQL_MAX_LIST)
                return fail(p, ST_ELIMIT, p->cur.pos, "too many WHEN branches");
            struct sql_expr **w = xalloc(p, 2 * cap * sizeof *w);
            struct sql_expr **t = xalloc(p, 2 * cap * sizeof *t);
            if (!w || !t)
                return NULL;
            memcpy(w, e->u.cas.when, cap * sizeof *w);
            memcpy(t, e->u.cas.then, cap * sizeof *t);
            e->u.cas.when = w;
            e->u.cas.then = t;
            cap *= 2;
        }
        struct sql_expr *w = parse_expr(p);
        if (!w || !child(p, e, w) || !expect_kw(p, KW_THEN))
            return NULL;
        struct sql_expr *t = parse_expr(p);
        if (!t || !child(p, e, t))
            return NULL;
        e->u.cas.when[e->u.cas.n_when] = w;
        e->u.cas.then[e->u.cas.n_when] = t;
        e->u.cas.n_when++;
    }
    if (e->u.cas.n_when == 0)
        return unexpected(p, "WHEN");
    if (accept_kw(p, KW_ELSE)) {
        e->u.cas.els = parse_expr(p);
        if (!e->u.cas.els || !child(p, e, e->u.cas.els))
            return NULL;
    }
    e->end = p->cur.pos + p->cur.len;
    if (!expect_kw(p, KW_END))
        return NULL;
    return e;
}

static struct sql_expr *
parse_primary(struct parser *p)
{
    struct sql_token t = p->cur;
    struct sql_expr *e;

    switch (t.kind) {
    case TK_INTEGER:
    case TK_FLOAT:
        return number_literal(p);
    case TK_STRING:
        e = new_expr(p, SQL_EXPR_LITERAL, t.pos, t.pos);
        if (!e)
            return NULL;
        e->u.lit.kind = SQL_LIT_STRING;
        if (!string_value(p, &t, &e->u.lit.v.s.p, &e->u.lit.v.s.len))
            return NULL;
        e->end = t.pos + t.len;
        advance(p);
        return e;
    case TK_PARAM:
        e = new_expr(p, SQL_EXPR_PARAM, t.pos, t.pos);
        if (!e)
            return NULL;
        e->u.param.name = sql_arena_strndup(p->a, p->src + t.pos + 1, t.len - 1);
        if (!e->u.param.name)
            return oom(p);
        e->end = t.pos + t.len;
        advance(p);
        return e;
    case TK_LPAREN: {
        advance(p);
        if (is_kw(p, KW_SELECT) || is_kw(p, KW_WITH)) {
            e = new_expr(p, SQL_EXPR_SUBQUERY, t.pos, t.pos);
            if (!e)
                return NULL;
            e->u.subq.q = parse_select_stmt(p);
            if (!e->u.subq.q)
                return NULL;
        } else {
            e = parse_expr(p);
            if (!e)
                return NULL;
            e->start = t.pos; /* keep the parentheses in the text span */
        }
        e->end = p->cur.pos + p->cur.len;
        if (!expect(p, TK_RPAREN, "\")\""))
            return NULL;
        return e;
    }
    case TK_IDENT:
        switch (t.kw) {
        case KW_NULL:
        case KW_TRUE:
        case KW_FALSE:
            e = new_expr(p, SQL_EXPR_LITERAL, t.pos, t.pos);
            if (!e)
                return NULL;
            e->u.lit.kind = t.kw == KW_NULL ? SQL_LIT_NULL : SQL_LIT_BOOL;
            e->u.lit.v.b = t.kw == KW_TRUE;
            e->end = t.pos + t.len;
            advance(p);
            return e;
        case KW_CASE:
            return parse_case(p);
        case KW_CAST: {
            advance(p);
            if (!expect(p, TK_LPAREN, "\"(\""))
                return NULL;
            e = new_expr(p, SQL_EXPR_CAST, t.pos, t.pos);
            if (!e)
                return NULL;
            e->u.cast.arg = parse_expr(p);
            if (!e->u.cast.arg || !child(p, e, e->u.cast.arg) || !expect_kw(p, KW_AS) ||
                !parse_type_name(p, &e->u.cast.to))
                return NULL;
            e->end = p->cur.pos + p->cur.len;
            if (!expect(p, TK_RPAREN, "\")\""))
                return NULL;
            return e;
        }
        case KW_INTERVAL:
        case KW_TIMESTAMP:
            if (p->nxt.kind == TK_STRING) {
                advance(p);
                struct sql_token st = p->cur;
                e = new_expr(p, SQL_EXPR_LITERAL, t.pos, t.pos);
                if (!e)
                    return NULL;
                const char *s;
                uint32_t n;
                if (!string_value(p, &st, &s, &n))
                    return NULL;
                if (t.kw == KW_INTERVAL) {
                    const char *why = NULL;
                    e->u.lit.kind = SQL_LIT_INTERVAL;
                    if (sql__parse_interval(s, n, &e->u.lit.v.i, &why) != 0)
                        return fail(p, ST_EPARSE, st.pos, "invalid interval '%.*s': %s",
                                    (int)(n > 60 ? 60 : n), s, why);
                } else {
                    e->u.lit.kind = SQL_LIT_TIMESTAMP;
                    if (st_parse_rfc3339(s, n, &e->u.lit.v.i) != 0)
                        return fail(p, ST_EPARSE, st.pos,
                                    "invalid timestamp '%.*s' (expected RFC 3339, e.g. "
                                    "'2016-01-01T00:00:00Z')",
                                    (int)(n > 60 ? 60 : n), s);
                }
                e->end = st.pos + st.len;
                advance(p);
                return e;
            }
            break;
        case KW_EXISTS:
            return fail(p, ST_EUNSUPPORTED, t.pos, "EXISTS subqueries are not supported");
        default:
            break;
        }
        if (!at_name(p))
            return unexpected(p, "an expression");
        /* fall through */
    case TK_QIDENT: {
        const char *name = take_name(p);
        if (!name)
            return NULL;
        if (t.kind == TK_IDENT && p->cur.kind == TK_LPAREN)
            return parse_function(p, name, t.pos);
        if (p->cur.kind == TK_DOT) {
            advance(p);
            if (p->cur.kind == TK_STAR) {
                e = new_expr(p, SQL_EXPR_STAR, t.pos, t.pos);
                if (!e)
                    return NULL;
                e->u.star.qual = name;
                e->end = p->cur.pos + 1;
                advance(p);
                return e;
            }
            if (p->cur.kind != TK_IDENT && p->cur.kind != TK_QIDENT)
                return unexpected(p, "a column name");
            e = new_expr(p, SQL_EXPR_COLUMN, t.pos, t.pos);
            if (!e)
                return NULL;
            e->u.col.qual = name;
            e->end = p->cur.pos + p->cur.len;
            /* after a dot any word is a name, even a keyword */
            if (p->cur.kind == TK_IDENT) {
                char *s = sql_arena_strndup(p->a, p->src + p->cur.pos, p->cur.len);
                if (!s)
                    return oom(p);
                for (char *c = s; *c; c++)
                    if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
                e->u.col.name = s;
                advance(p);
            } else {
                e->u.col.name = take_name(p);
                if (!e->u.col.name)
                    return NULL;
            }
            if (p->cur.kind == TK_DOT)
                return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                            "names with more than two parts are not supported");
            return e;
        }
        e = new_expr(p, SQL_EXPR_COLUMN, t.pos, t.pos);
        if (!e)
            return NULL;
        e->u.col.name = name;
        e->end = t.pos + t.len;
        return e;
    }
    case TK_STAR:
        return fail(p, ST_EPARSE, t.pos, "\"*\" is only allowed in a select list or count(*)");
    default:
        return unexpected(p, "an expression");
    }
}

/* Fold -literal into the literal (so -9223372036854775808 is an int64). */
static struct sql_expr *
negate_literal(struct parser *p, struct sql_expr *lit, uint32_t pos)
{
    struct sql_literal *l = &lit->u.lit;
    switch (l->kind) {
    case SQL_LIT_INT:
        l->v.i = -l->v.i;
        break;
    case SQL_LIT_UINT:
        if (l->v.u != (uint64_t)INT64_MAX + 1)
            return fail(p, ST_EPARSE, pos, "integer literal out of range");
        l->kind = SQL_LIT_INT;
        l->v.i = INT64_MIN;
        break;
    case SQL_LIT_FLOAT:
        l->v.f = -l->v.f;
        break;
    case SQL_LIT_INTERVAL:
        l->v.i = -l->v.i;
        break;
    default:
        return NULL; /* not foldable */
    }
    lit->pos = pos;
    lit->start = pos;
    return lit;
}

static struct sql_expr *
parse_prefix(struct parser *p)
{
    struct sql_token t = p->cur;
    if (is_kw(p, KW_NOT)) {
        advance(p);
        struct sql_expr *arg = parse_binary(p, PREC_IS);
        if (!arg)
            return NULL;
        struct sql_expr *e = new_expr(p, SQL_EXPR_UNARY, t.pos, t.pos);
        if (!e)
            return NULL;
        e->u.un.op = SQL_OP_NOT;
        e->u.un.arg = arg;
        e->end = arg->end;
        return child(p, e, arg) ? e : NULL;
    }
    if (t.kind == TK_MINUS || t.kind == TK_PLUS) {
        advance(p);
        struct sql_expr *arg = parse_binary(p, PREC_CAST);
        if (!arg)
            return NULL;
        if (t.kind == TK_PLUS) {
            arg->start = t.pos;
            return arg;
        }
        if (arg->kind == SQL_EXPR_LITERAL) {
            struct sql_expr *f = negate_literal(p, arg, t.pos);
            if (f)
                return f;
            if (p->failed)
                return NULL;
        }
        struct sql_expr *e = new_expr(p, SQL_EXPR_UNARY, t.pos, t.pos);
        if (!e)
            return NULL;
        e->u.un.op = SQL_OP_NEG;
        e->u.un.arg = arg;
        e->end = arg->end;
        return child(p, e, arg) ? e : NULL;
    }
    return parse_primary(p);
}

/* The binary operator at the current token and its precedence, or 0. */
static int
binop_at(const struct parser *p, enum sql_op *op)
{
    switch (p->cur.kind) {
    case TK_PLUS:
        *op = SQL_OP_ADD;
        return PREC_ADD;
    case TK_MINUS:
        *op = SQL_OP_SUB;
        return PREC_ADD;
    case TK_STAR:
        *op = SQL_OP_MUL;
        return PREC_MUL;
    case TK_SLASH:
        *op = SQL_OP_DIV;
        return PREC_MUL;
    case TK_PERCENT:
        *op = SQL_OP_MOD;
        return PREC_MUL;
    case TK_CONCAT:
        *op = SQL_OP_CONCAT;
        return PREC_OTHER;
    case TK_TILDE:
        *op = SQL_OP_RE_MATCH;
        return PREC_OTHER;
    case TK_NTILDE:
        *op = SQL_OP_RE_NMATCH;
        return PREC_OTHER;
    case TK_TILDE_STAR:
        *op = SQL_OP_RE_IMATCH;
        return PREC_OTHER;
    case TK_NTILDE_STAR:
        *op = SQL_OP_RE_NIMATCH;
        return PREC_OTHER;
    case TK_EQ:
        *op = SQL_OP_EQ;
        return PREC_CMP;
    case TK_NE:
        *op = SQL_OP_NE;
        return PREC_CMP;
    case TK_LT:
        *op = SQL_OP_LT;
        return PREC_CMP;
    case TK_LE:
        *op = SQL_OP_LE;
        return PREC_CMP;
    case TK_GT:
        *op = SQL_OP_GT;
        return PREC_CMP;
    case TK_GE:
        *op = SQL_OP_GE;
        return PREC_CMP;
    case TK_IDENT:
        if (p->cur.kw == KW_AND) {
            *op = SQL_OP_AND;
            return PREC_AND;
        }
        if (p->cur.kw == KW_OR) {
            *op = SQL_OP_OR;
            return PREC_OR;
        }
        return 0;
    default:
        return 0;
    }
}

static struct sql_expr *
parse_in(struct parser *p, struct sql_expr *left, bool negated, uint32_t pos)
{
    struct sql_expr *e = new_expr(p, SQL_EXPR_IN, pos, left->start);
    if (!e)
        return NULL;
    e->u.in.arg = left;
    e->u.in.negated = negated;
    if (!child(p, e, left) || !expect(p, TK_LPAREN, "\"(\" after IN"))
        return NULL;
    if (is_kw(p, KW_SELECT) || is_kw(p, KW_WITH)) {
        e->u.in.subquery = parse_select_stmt(p);
        if (!e->u.in.subquery)
            return NULL;
        e->end = p->cur.pos + p->cur.len;
        if (!expect(p, TK_RPAREN, "\")\""))
            return NULL;
        return e;
    }
    if (!parse_expr_list(p, &e->u.in.list, &e->u.in.n, e))
        return NULL;
    return e;
}

static struct sql_expr *
parse_binary(struct parser *p, int min_prec)
{
    if (!enter(p))
        return NULL;
    struct sql_expr *left = parse_prefix(p);
    while (left) {
        struct sql_token t = p->cur;
        enum sql_op op;
        int prec = binop_at(p, &op);

        if (prec == 0) {
            /* predicates and postfix forms */
            if (t.kind == TK_CAST && PREC_CAST >= min_prec) {
                advance(p);
                struct sql_expr *e = new_expr(p, SQL_EXPR_CAST, t.pos, left->start);
                if (!e || !child(p, e, left))
                    return NULL;
                e->u.cast.arg = left;
                if (!parse_type_name(p, &e->u.cast.to))
                    return NULL;
                e->end = p->prev_end;
                left = e;
                continue;
            }
            if (t.kind != TK_IDENT)
                break;
            if (t.kw == KW_IS && PREC_IS >= min_prec) {
                advance(p);
                bool neg = accept_kw(p, KW_NOT);
                uint32_t npos = p->cur.pos;
                if (!is_kw(p, KW_NULL)) {
                    if (is_kw(p, KW_TRUE) || is_kw(p, KW_FALSE) || is_kw(p, KW_DISTINCT))
                        return fail(p, ST_EUNSUPPORTED, npos,
                                    "only IS NULL and IS NOT NULL are supported");
                    return unexpected(p, "NULL after IS");
                }
                advance(p);
                struct sql_expr *e = new_expr(p, SQL_EXPR_IS_NULL, t.pos, left->start);
                if (!e || !child(p, e, left))
                    return NULL;
                e->u.isnull.arg = left;
                e->u.isnull.negated = neg;
                e->end = npos + 4;
                left = e;
                continue;
            }
            bool negated = false;
            enum sql_kw kw = t.kw;
            if (kw == KW_NOT && p->nxt.kind == TK_IDENT &&
                (p->nxt.kw == KW_IN || p->nxt.kw == KW_BETWEEN || p->nxt.kw == KW_LIKE ||
                 p->nxt.kw == KW_ILIKE)) {
                negated = true;
                kw = p->nxt.kw;
            }
            if ((kw == KW_IN || kw == KW_BETWEEN || kw == KW_LIKE || kw == KW_ILIKE) &&
                PREC_PRED >= min_prec) {
                if (negated)
                    advance(p);
                uint32_t kwpos = p->cur.pos;
                advance(p);
                struct sql_expr *e;
                if (kw == KW_IN) {
                    e = parse_in(p, left, negated, kwpos);
                    if (!e)
                        return NULL;
                    e->end = p->prev_end;
                } else if (kw == KW_BETWEEN) {
                    e = new_expr(p, SQL_EXPR_BETWEEN, kwpos, left->start);
                    if (!e || !child(p, e, left))
                        return NULL;
                    e->u.between.arg = left;
                    e->u.between.negated = negated;
                    e->u.between.lo = parse_binary(p, PREC_OTHER);
                    if (!e->u.between.lo || !child(p, e, e->u.between.lo) ||
                        !expect_kw(p, KW_AND))
                        return NULL;
                    e->u.between.hi = parse_binary(p, PREC_OTHER);
                    if (!e->u.between.hi || !child(p, e, e->u.between.hi))
                        return NULL;
                    e->end = e->u.between.hi->end;
                } else {
                    e = new_expr(p, SQL_EXPR_LIKE, kwpos, left->start);
                    if (!e || !child(p, e, left))
                        return NULL;
                    e->u.like.arg = left;
                    e->u.like.negated = negated;
                    e->u.like.icase = kw == KW_ILIKE;
                    e->u.like.pattern = parse_binary(p, PREC_OTHER);
                    if (!e->u.like.pattern || !child(p, e, e->u.like.pattern))
                        return NULL;
                    e->end = e->u.like.pattern->end;
                }
                left = e;
                continue;
            }
            break;
        }
        if (prec < min_prec)
            break;
        advance(p);
        struct sql_expr *right = parse_binary(p, prec + 1);
        if (!right)
            return NULL;
        struct sql_expr *e = new_expr(p, SQL_EXPR_BINARY, t.pos, left->start);
        if (!e)
            return NULL;
        e->u.bin.op = op;
        e->u.bin.l = left;
        e->u.bin.r = right;
        e->end = right->end;
        if (!child(p, e, left) || !child(p, e, right))
            return NULL;
        left = e;
    }
    leave(p);
    return left;
}

static struct sql_expr *
parse_expr(struct parser *p)
{
    return parse_binary(p, PREC_OR);
}

/* ---- SELECT --------------------------------------------------------------- */

static bool
grow(struct parser *p, void **v, uint32_t *cap, uint32_t n, size_t elem, uint32_t pos)
{
    if (n < *cap)
        return true;
    if (*cap >= SQL_MAX_LIST) {
        fail(p, ST_ELIMIT, pos, "list too long (more than %d items)", SQL_MAX_LIST);
        return false;
    }
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *nv = xalloc(p, ncap * elem);
    if (!nv)
        return false;
    if (n)
        memcpy(nv, *v, n * elem);
    *v = nv;
    *cap = ncap;
    return true;
}

/* An alias after an expression or table: AS name, or a bare non-reserved word. */
static bool
parse_alias(struct parser *p, const char **out)
{
    if (accept_kw(p, KW_AS)) {
        if (p->cur.kind == TK_QIDENT) {
            *out = take_name(p);
            return *out != NULL;
        }
        if (p->cur.kind == TK_IDENT) {
            /* after AS, any word is a name */
            char *s = sql_arena_strndup(p->a, p->src + p->cur.pos, p->cur.len);
            if (!s) {
                oom(p);
                return false;
            }
            for (char *c = s; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            advance(p);
            *out = s;
            return true;
        }
        unexpected(p, "an alias after AS");
        return false;
    }
    if (at_name(p)) {
        *out = take_name(p);
        return *out != NULL;
    }
    *out = NULL;
    return true;
}

static bool
parse_select_items(struct parser *p, struct sql_select *s)
{
    uint32_t cap = 0;
    for (;;) {
        if (!grow(p, (void **)&s->items, &cap, s->n_items, sizeof *s->items, p->cur.pos))
            return false;
        struct sql_select_item *it = &s->items[s->n_items];
        if (p->cur.kind == TK_STAR) {
            it->e = new_expr(p, SQL_EXPR_STAR, p->cur.pos, p->cur.pos);
            if (!it->e)
                return false;
            it->e->end = p->cur.pos + 1;
            advance(p);
            enum sql_op op;
            if (binop_at(p, &op) || p->cur.kind == TK_CAST) {
                fail(p, ST_EPARSE, it->e->pos,
                     "\"*\" is only allowed in a select list or count(*)");
                return false;
            }
        } else {
            it->e = parse_expr(p);
            if (!it->e)
                return false;
            if (it->e->kind != SQL_EXPR_STAR && !parse_alias(p, &it->alias))
                return false;
        }
        s->n_items++;
        if (!accept(p, TK_COMMA))
            break;
    }
    return true;
}

static bool
refuse_join(struct parser *p)
{
    if (p->cur.kind == TK_COMMA || is_kw(p, KW_JOIN) || is_kw(p, KW_INNER) || is_kw(p, KW_LEFT) ||
        is_kw(p, KW_RIGHT) || is_kw(p, KW_FULL) || is_kw(p, KW_CROSS) || is_kw(p, KW_NATURAL)) {
        fail(p, ST_EUNSUPPORTED, p->cur.pos, "joins are not supported");
        return false;
    }
    return true;
}

static struct sql_from *
parse_from(struct parser *p)
{
    struct sql_from *f = xalloc(p, sizeof *f);
    if (!f)
        return NULL;
    f->pos = p->cur.pos;
    if (accept(p, TK_LPAREN)) {
        f->kind = SQL_FROM_SUBQUERY;
        if (!is_kw(p, KW_SELECT) && !is_kw(p, KW_WITH))
            return unexpected(p, "SELECT in a subquery");
        f->sub = parse_select_stmt(p);
        if (!f->sub || !expect(p, TK_RPAREN, "\")\""))
            return NULL;
    } else {
        f->kind = SQL_FROM_TABLE;
        f->name = expect_name(p, "a table name");
        if (!f->name)
            return NULL;
        if (accept(p, TK_DOT)) {
            f->schema = f->name;
            f->name = expect_name(p, "a table name");
            if (!f->name)
                return NULL;
            if (p->cur.kind == TK_DOT)
                return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                            "names with more than two parts are not supported");
        }
    }
    if (!parse_alias(p, &f->alias))
        return NULL;
    if (!refuse_join(p))
        return NULL;
    return f;
}

static bool
parse_order_by(struct parser *p, struct sql_select *s)
{
    uint32_t cap = 0;
    for (;;) {
        if (!grow(p, (void **)&s->order, &cap, s->n_order, sizeof *s->order, p->cur.pos))
            return false;
        struct sql_order_item *o = &s->order[s->n_order];
        o->e = parse_expr(p);
        if (!o->e)
            return false;
        if (accept_kw(p, KW_DESC))
            o->desc = true;
        else
            accept_kw(p, KW_ASC);
        if (accept_kw(p, KW_NULLS)) {
            if (accept_kw(p, KW_FIRST))
                o->nulls = SQL_NULLS_FIRST;
            else if (accept_kw(p, KW_LAST))
                o->nulls = SQL_NULLS_LAST;
            else {
                unexpected(p, "FIRST or LAST after NULLS");
                return false;
            }
        }
        s->n_order++;
        if (!accept(p, TK_COMMA))
            return true;
    }
}

static bool
parse_group_by(struct parser *p, struct sql_select *s)
{
    uint32_t cap = 0;
    for (;;) {
        if (!grow(p, (void **)&s->group, &cap, s->n_group, sizeof *s->group, p->cur.pos))
            return false;
        s->group[s->n_group] = parse_expr(p);
        if (!s->group[s->n_group])
            return false;
        s->n_group++;
        if (!accept(p, TK_COMMA))
            return true;
    }
}

static struct sql_select *
parse_select_core(struct parser *p, struct sql_select *s)
{
    s->pos = p->cur.pos;
    if (!expect_kw(p, KW_SELECT))
        return NULL;
    if (accept_kw(p, KW_DISTINCT)) {
        s->distinct = true;
        if (accept_kw(p, KW_ON)) {
            if (!expect(p, TK_LPAREN, "\"(\" after DISTINCT ON") ||
                !parse_expr_list(p, &s->distinct_on, &s->n_distinct_on, NULL))
                return NULL;
        }
    } else {
        accept_kw(p, KW_ALL);
    }
    if (!parse_select_items(p, s))
        return NULL;
    if (accept_kw(p, KW_FROM)) {
        s->from = parse_from(p);
        if (!s->from)
            return NULL;
    }
    if (accept_kw(p, KW_WHERE)) {
        s->where = parse_expr(p);
        if (!s->where)
            return NULL;
    }
    if (is_kw(p, KW_GROUP)) {
        advance(p);
        if (!expect_kw(p, KW_BY) || !parse_group_by(p, s))
            return NULL;
    }
    if (accept_kw(p, KW_HAVING)) {
        s->having = parse_expr(p);
        if (!s->having)
            return NULL;
    }
    if (is_kw(p, KW_WINDOW))
        return fail(p, ST_EUNSUPPORTED, p->cur.pos, "window functions are not supported");
    if (is_kw(p, KW_UNION) || is_kw(p, KW_EXCEPT) || is_kw(p, KW_INTERSECT))
        return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                    "set operations (UNION, EXCEPT, INTERSECT) are not supported");
    if (is_kw(p, KW_ORDER)) {
        advance(p);
        if (!expect_kw(p, KW_BY) || !parse_order_by(p, s))
            return NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (!s->limit && accept_kw(p, KW_LIMIT)) {
            if (accept_kw(p, KW_ALL))
                continue;
            s->limit = parse_expr(p);
            if (!s->limit)
                return NULL;
        } else if (!s->offset && accept_kw(p, KW_OFFSET)) {
            s->offset = parse_expr(p);
            if (!s->offset)
                return NULL;
        }
    }
    if (is_kw(p, KW_UNION) || is_kw(p, KW_EXCEPT) || is_kw(p, KW_INTERSECT))
        return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                    "set operations (UNION, EXCEPT, INTERSECT) are not supported");
    return s;
}

static struct sql_select *
parse_select_stmt(struct parser *p)
{
    if (!enter(p))
        return NULL;
    struct sql_select *s = xalloc(p, sizeof *s);
    if (!s)
        return NULL;
    if (accept_kw(p, KW_WITH)) {
        uint32_t cap = 0;
        for (;;) {
            if (!grow(p, (void **)&s->ctes, &cap, s->n_ctes, sizeof *s->ctes, p->cur.pos))
                return NULL;
            struct sql_cte *c = &s->ctes[s->n_ctes];
            c->pos = p->cur.pos;
            c->name = expect_name(p, "a name for the WITH query");
            if (!c->name)
                return NULL;
            if (p->cur.kind == TK_LPAREN)
                return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                            "column lists on WITH queries are not supported");
            if (!expect_kw(p, KW_AS) || !expect(p, TK_LPAREN, "\"(\""))
                return NULL;
            c->q = parse_select_stmt(p);
            if (!c->q || !expect(p, TK_RPAREN, "\")\""))
                return NULL;
            s->n_ctes++;
            if (!accept(p, TK_COMMA))
                break;
        }
    }
    if (!parse_select_core(p, s))
        return NULL;
    leave(p);
    return s;
}

/* ---- statements ----------------------------------------------------------- */

static struct sql_stmt *parse_stmt(struct parser *p);

static struct sql_stmt *
parse_stmt(struct parser *p)
{
    struct sql_stmt *st = xalloc(p, sizeof *st);
    if (!st)
        return NULL;
    st->pos = p->cur.pos;
    if (p->cur.kind != TK_IDENT) {
        if (p->cur.kind == TK_LPAREN)
            return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                        "a parenthesised query at top level is not supported");
        return unexpected(p, "SELECT, WITH, EXPLAIN, SHOW or DELETE");
    }
    switch (p->cur.kw) {
    case KW_SELECT:
    case KW_WITH:
        st->kind = SQL_STMT_SELECT;
        st->select = parse_select_stmt(p);
        return st->select ? st : NULL;
    case KW_EXPLAIN:
        advance(p);
        if (is_kw(p, KW_ANALYZE))
            return fail(p, ST_EUNSUPPORTED, p->cur.pos, "EXPLAIN ANALYZE is not supported");
        st->kind = SQL_STMT_EXPLAIN;
        if (is_kw(p, KW_EXPLAIN))
            return fail(p, ST_EPARSE, p->cur.pos, "EXPLAIN cannot be nested");
        st->explained = parse_stmt(p);
        return st->explained ? st : NULL;
    case KW_SHOW:
        advance(p);
        if (accept_kw(p, KW_TABLES)) {
            st->kind = SQL_STMT_SHOW_TABLES;
            return st;
        }
        if (accept_kw(p, KW_COLUMNS)) {
            st->kind = SQL_STMT_SHOW_COLUMNS;
            if (!expect_kw(p, KW_FROM))
                return NULL;
            st->table_pos = p->cur.pos;
            st->table = expect_name(p, "a table name");
            return st->table ? st : NULL;
        }
        return unexpected(p, "TABLES or COLUMNS after SHOW");
    case KW_DELETE:
        advance(p);
        st->kind = SQL_STMT_DELETE;
        if (!expect_kw(p, KW_FROM))
            return NULL;
        st->table_pos = p->cur.pos;
        st->table = expect_name(p, "a table name");
        if (!st->table)
            return NULL;
        if (p->cur.kind == TK_DOT)
            return fail(p, ST_EUNSUPPORTED, p->cur.pos, "DELETE takes a plain table name");
        if (accept_kw(p, KW_WHERE)) {
            st->where = parse_expr(p);
            if (!st->where)
                return NULL;
        }
        return st;
    case KW_INSERT:
        return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                    "INSERT is not supported: write data as line protocol");
    case KW_UPDATE:
        return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                    "UPDATE is not supported: write the point again to overwrite it");
    case KW_CREATE:
    case KW_DROP:
        return fail(p, ST_EUNSUPPORTED, p->cur.pos,
                    "data definition is not supported: tables are created by writes");
    default:
        return unexpected(p, "SELECT, WITH, EXPLAIN, SHOW or DELETE");
    }
}

enum st_code
sql_parse(const char *sql, size_t len, struct sql_arena *a, struct sql_stmt **out,
          struct st_error *err)
{
    *out = NULL;
    if (len > SQL_MAX_TEXT_LEN)
        return st_error_set_at(err, ST_ELIMIT, SQL_MAX_TEXT_LEN,
                               "query text too long (%zu bytes, the limit is %u)", len,
                               SQL_MAX_TEXT_LEN);
    struct parser p = {.src = sql, .a = a, .err = err};
    sql__lex_init(&p.lx, sql, (uint32_t)len);
    p.nxt = sql__lex_next(&p.lx);
    advance(&p);
    if (p.cur.kind == TK_EOF)
        return st_error_set_at(err, ST_EPARSE, 0, "empty query");
    struct sql_stmt *st = parse_stmt(&p);
    if (st) {
        accept(&p, TK_SEMI);
        if (p.cur.kind != TK_EOF) {
            if (p.cur.kind == TK_ERROR)
                unexpected(&p, "");
            else if (p.cur.kind == TK_IDENT && p.cur.kw == KW_NONE)
                fail(&p, ST_EPARSE, p.cur.pos, "unexpected word \"%.*s\"",
                     (int)(p.cur.len > 40 ? 40 : p.cur.len), sql + p.cur.pos);
            else if (p.cur.kind == TK_IDENT || p.cur.kind == TK_QIDENT || p.cur.kind == TK_STRING ||
                     p.cur.kind == TK_INTEGER || p.cur.kind == TK_FLOAT ||
                     p.cur.kind == TK_PARAM || p.cur.kind == TK_LPAREN)
                unexpected(&p, "end of statement");
            else
                unexpected(&p, "an operator or end of statement");
            st = NULL;
        }
    }
    if (!st) {
        if (!p.failed)
            return st_error_set_at(err, ST_EINTERNAL, 0, "parser failed without an error");
        return err ? err->code : ST_EPARSE;
    }
    *out = st;
    return ST_OK;
}
