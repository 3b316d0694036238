/*
 * test_sql.c: the SQL front end: keyword table, lexer, parser (shapes,
 * case folding, literals, error positions, limits), expression formatting,
 * interval literals and the normaliser.
 */
#include "th.h"

#include <stdlib.h>
#include <string.h>

#include "sql_int.h"
#include "strata/sql.h"

/* ---- helpers ---------------------------------------------------------------- */

static struct sql_stmt *
parse_ok(struct sql_arena *a, const char *sql)
{
    struct sql_stmt *st = NULL;
    struct st_error err;
    enum st_code rc = sql_parse(sql, strlen(sql), a, &st, &err);
    if (rc != ST_OK)
        th_fail(__FILE__, __LINE__, "parse of \"%s\" failed: %s at %lld", sql, err.msg,
                (long long)err.offset);
    return st;
}

static void
expect_error(const char *sql, enum st_code code, long long offset, const char *fragment)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 24);
    struct sql_stmt *st = NULL;
    struct st_error err;
    enum st_code rc = sql_parse(sql, strlen(sql), &a, &st, &err);
    if (rc != code || (offset >= 0 && err.offset != offset) || !strstr(err.msg, fragment))
        th_fail(__FILE__, __LINE__, "\"%s\": got %s @%lld \"%s\", expected %s @%lld \"%s\"", sql,
                st_code_name(rc), (long long)err.offset, err.msg, st_code_name(code), offset,
                fragment);
    sql_arena_cleanup(&a);
}

/* The first select item, formatted. */
static void
item_text(const char *sql, char *buf, size_t n)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 24);
    struct sql_stmt *st = parse_ok(&a, sql);
    sql_expr_format(st->select->items[0].e, buf, n);
    sql_arena_cleanup(&a);
}

/* ---- keywords and lexer --------------------------------------------------------- */

TEST(keyword_table_is_sorted_and_complete)
{
    for (int k = 1; k < KW__COUNT; k++) {
        const char *name = sql__keyword_name((enum sql_kw)k);
        ASSERT_TRUE(name[0] != '\0');
        ASSERT_EQ_INT(sql__keyword(name, (uint32_t)strlen(name)), k);
        char lower[32];
        size_t n = strlen(name);
        for (size_t i = 0; i <= n; i++)
            lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
        ASSERT_EQ_INT(sql__keyword(lower, (uint32_t)n), k);
    }
    ASSERT_EQ_INT(sql__keyword("time", 4), KW_NONE);
    ASSERT_EQ_INT(sql__keyword("averyveryverylongword", 21), KW_NONE);
    ASSERT_TRUE(sql__keyword_reserved(KW_SELECT));
    ASSERT_FALSE(sql__keyword_reserved(KW_FIRST));
    ASSERT_FALSE(sql__keyword_reserved(KW_TIMESTAMP));
}

TEST(lexer_token_kinds_and_positions)
{
    const char *s = "SELECT a.\"B\"\"c\", 'it''s', 12, 1.5e3, .5, $p -- comment\n"
                    "/* block */ <> != <= >= || ~ !~ ~* !~* :: == %;";
    struct sql_lexer lx;
    sql__lex_init(&lx, s, (uint32_t)strlen(s));
    enum sql_tok want[] = {TK_IDENT,   TK_IDENT,  TK_DOT,    TK_QIDENT, TK_COMMA, TK_STRING,
                           TK_COMMA,   TK_INTEGER, TK_COMMA, TK_FLOAT,  TK_COMMA, TK_FLOAT,
                           TK_COMMA,   TK_PARAM,  TK_NE,     TK_NE,     TK_LE,    TK_GE,
                           TK_CONCAT,  TK_TILDE,  TK_NTILDE, TK_TILDE_STAR, TK_NTILDE_STAR,
                           TK_CAST,    TK_EQ,     TK_PERCENT, TK_SEMI,  TK_EOF};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct sql_token t = sql__lex_next(&lx);
        if (t.kind != want[i])
            th_fail(__FILE__, __LINE__, "token %zu: kind %d, expected %d at %u", i, t.kind,
                    want[i], t.pos);
        if (i == 0) {
            ASSERT_EQ_INT(t.kw, KW_SELECT);
            ASSERT_EQ_INT(t.pos, 0);
            ASSERT_EQ_INT(t.len, 6);
        }
        if (i == 3)
            ASSERT_EQ_INT(t.len, 6); /* "B""c" */
    }
}

TEST(lexer_errors_have_positions)
{
    struct {
        const char *sql;
        uint32_t pos;
        const char *msg;
    } cases[] = {
        {"SELECT 'abc", 7, "unterminated string"},
        {"SELECT \"abc", 7, "unterminated quoted identifier"},
        {"SELECT 1 /* x", 9, "unterminated block comment"},
        {"SELECT 1e+", 8, "exponent without digits"},
        {"SELECT $", 7, "parameter name"},
        {"SELECT @", 7, "unexpected character"},
        {"SELECT !", 7, "unexpected character '!'"},
        {"SELECT a|b", 8, "unexpected character '|'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sql_lexer lx;
        sql__lex_init(&lx, cases[i].sql, (uint32_t)strlen(cases[i].sql));
        struct sql_token t;
        do
            t = sql__lex_next(&lx);
        while (t.kind != TK_ERROR && t.kind != TK_EOF);
        ASSERT_EQ_INT(t.kind, TK_ERROR);
        ASSERT_EQ_INT(lx.err_pos, cases[i].pos);
        ASSERT_CONTAINS(lx.err_msg, cases[i].msg);
    }
    /* NUL inside the text */
    const char nul[] = "SELECT 'a\0b'";
    struct sql_lexer lx;
    sql__lex_init(&lx, nul, sizeof nul - 1);
    sql__lex_next(&lx);
    struct sql_token t = sql__lex_next(&lx);
    ASSERT_EQ_INT(t.kind, TK_ERROR);
    ASSERT_CONTAINS(lx.err_msg, "NUL");
}

/* ---- parser ------------------------------------------------------------------------- */

TEST(parser_select_shape)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 24);
    struct sql_stmt *st = parse_ok(&a, "WITH w AS (SELECT 1) SELECT DISTINCT ON (h) h, max(v) AS m "
                                       "FROM iox.cpu c WHERE t > 1 GROUP BY h HAVING count(*) > 1 "
                                       "ORDER BY m DESC NULLS LAST, 1 LIMIT 5 OFFSET 2;");
    ASSERT_EQ_INT(st->kind, SQL_STMT_SELECT);
    const struct sql_select *s = st->select;
    ASSERT_EQ_INT(s->n_ctes, 1);
    ASSERT_EQ_STR(s->ctes[0].name, "w");
    ASSERT_TRUE(s->distinct);
    ASSERT_EQ_INT(s->n_distinct_on, 1);
    ASSERT_EQ_INT(s->n_items, 2);
    ASSERT_EQ_STR(s->items[1].alias, "m");
    ASSERT_EQ_STR(s->from->schema, "iox");
    ASSERT_EQ_STR(s->from->name, "cpu");
    ASSERT_EQ_STR(s->from->alias, "c");
    ASSERT_TRUE(s->where != NULL);
    ASSERT_EQ_INT(s->n_group, 1);
    ASSERT_TRUE(s->having != NULL);
    ASSERT_EQ_INT(s->n_order, 2);
    ASSERT_TRUE(s->order[0].desc);
    ASSERT_EQ_INT(s->order[0].nulls, SQL_NULLS_LAST);
    ASSERT_EQ_INT(s->limit->u.lit.v.i, 5);
    ASSERT_EQ_INT(s->offset->u.lit.v.i, 2);
    sql_arena_cleanup(&a);
}

TEST(parser_other_statements)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 24);
    ASSERT_EQ_INT(parse_ok(&a, "show tables")->kind, SQL_STMT_SHOW_TABLES);
    struct sql_stmt *st = parse_ok(&a, "SHOW COLUMNS FROM \"Cpu\"");
    ASSERT_EQ_INT(st->kind, SQL_STMT_SHOW_COLUMNS);
    ASSERT_EQ_STR(st->table, "Cpu");
    st = parse_ok(&a, "EXPLAIN SELECT 1");
    ASSERT_EQ_INT(st->kind, SQL_STMT_EXPLAIN);
    ASSERT_EQ_INT(st->explained->kind, SQL_STMT_SELECT);
    st = parse_ok(&a, "DELETE FROM cpu WHERE time < 5");
    ASSERT_EQ_INT(st->kind, SQL_STMT_DELETE);
    ASSERT_EQ_STR(st->table, "cpu");
    ASSERT_TRUE(st->where != NULL);
    sql_arena_cleanup(&a);
}

TEST(parser_precedence_and_formatting)
{
    char buf[256];
    item_text("SELECT 1 + 2 * 3", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "1 + 2 * 3");
    item_text("SELECT (1 + 2) * 3", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "(1 + 2) * 3");
    item_text("SELECT a OR b AND NOT c = d", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "a OR b AND NOT c = d");
    item_text("SELECT (a OR b) AND c", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "(a OR b) AND c");
    item_text("SELECT x NOT BETWEEN 1 AND 2", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "x NOT BETWEEN 1 AND 2");
    item_text("SELECT x NOT IN (1, 'a') AND y IS NOT NULL", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "x NOT IN (1, 'a') AND y IS NOT NULL");
    item_text("SELECT h NOT ILIKE 'a%' OR h !~* 'x'", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "h NOT ILIKE 'a%' OR h !~* 'x'");
    item_text("SELECT COUNT(DISTINCT X), Count(*)", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "count(DISTINCT x)");
    item_text("SELECT x::BIGINT, CAST(y AS double precision)", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "CAST(x AS BIGINT)");
    item_text("SELECT CASE WHEN a THEN 'it''s' ELSE NULL END", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "CASE WHEN a THEN 'it''s' ELSE NULL END");
    item_text("SELECT date_bin(INTERVAL '60 seconds', time, TIMESTAMP '2016-01-01 00:00:00')",
              buf, sizeof buf);
    ASSERT_EQ_STR(buf,
                  "date_bin(INTERVAL '1 minute', time, TIMESTAMP '2016-01-01T00:00:00Z')");
    item_text("SELECT \"Weird Name\", \"select\"", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "\"Weird Name\"");
    item_text("SELECT -x, - 5, 2.50, $p", buf, sizeof buf);
    ASSERT_EQ_STR(buf, "-x");
}

TEST(parser_literals)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 24);
    struct sql_stmt *st = parse_ok(&a, "SELECT -9223372036854775808, 18446744073709551615, 1.5, "
                                       "'a''b', TRUE, NULL, INTERVAL '1h30m', TIMESTAMP "
                                       "'2016-01-01T00:00:01.5Z', -INTERVAL '1 second'");
    struct sql_select_item *it = st->select->items;
    ASSERT_EQ_INT(it[0].e->u.lit.kind, SQL_LIT_INT);
    ASSERT_TRUE(it[0].e->u.lit.v.i == INT64_MIN);
    ASSERT_EQ_INT(it[1].e->u.lit.kind, SQL_LIT_UINT);
    ASSERT_TRUE(it[1].e->u.lit.v.u == UINT64_MAX);
    ASSERT_EQ_DBL(it[2].e->u.lit.v.f, 1.5);
    ASSERT_EQ_STR(it[3].e->u.lit.v.s.p, "a'b");
    ASSERT_EQ_INT(it[3].e->u.lit.v.s.len, 3);
    ASSERT_TRUE(it[4].e->u.lit.v.b);
    ASSERT_EQ_INT(it[5].e->u.lit.kind, SQL_LIT_NULL);
    ASSERT_EQ_INT(it[6].e->u.lit.v.i, 5400LL * 1000000000);
    ASSERT_EQ_INT(it[7].e->u.lit.v.i, 1451606401500000000LL);
    ASSERT_EQ_INT(it[8].e->u.lit.v.i, -1000000000LL);
    sql_arena_cleanup(&a);
}

TEST(parser_case_folding)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 24);
    struct sql_stmt *st = parse_ok(&a, "SELECT UsAge, \"UsAge\", T.x FROM CPU T");
    ASSERT_EQ_STR(st->select->items[0].e->u.col.name, "usage");
    ASSERT_EQ_STR(st->select->items[1].e->u.col.name, "UsAge");
    ASSERT_EQ_STR(st->select->items[2].e->u.col.qual, "t");
    ASSERT_EQ_STR(st->select->from->name, "cpu");
    /* non-reserved keywords are names; after a dot any word is a name */
    st = parse_ok(&a, "SELECT first, last, timestamp, tables, c.select FROM c");
    ASSERT_EQ_STR(st->select->items[0].e->u.col.name, "first");
    ASSERT_EQ_STR(st->select->items[4].e->u.col.name, "select");
    sql_arena_cleanup(&a);
}

TEST(parser_error_positions)
{
    expect_error("", ST_EPARSE, 0, "empty query");
    expect_error("SELECT", ST_EPARSE, 6, "expected an expression, found end of input");
    expect_error("SELECT 1 FROM", ST_EPARSE, 13, "expected a table name");
    expect_error("SELECT a FROM t WHERE", ST_EPARSE, 21, "expected an expression");
    expect_error("SELECT (1", ST_EPARSE, 9, "expected \")\"");
    expect_error("SELECT f(1,", ST_EPARSE, 11, "expected an expression");
    expect_error("SELECT 1 2", ST_EPARSE, 9, "expected end of statement");
    expect_error("SELECT a FROM t ORDER 1", ST_EPARSE, 22, "expected BY");
    expect_error("SELECT CAST(1 AS)", ST_EPARSE, 16, "expected a type name");
    expect_error("SELECT CAST(1 AS blob)", ST_EPARSE, 17, "unknown type name \"blob\"");
    expect_error("SELECT 1 IS", ST_EPARSE, 11, "expected NULL after IS");
    expect_error("SELECT x BETWEEN 1", ST_EPARSE, 18, "expected AND");
    expect_error("SELECT x IN 1", ST_EPARSE, 12, "expected \"(\" after IN");
    expect_error("SELECT TIMESTAMP 'x'", ST_EPARSE, 17, "invalid timestamp 'x'");
    expect_error("SELECT INTERVAL '5 parsecs'", ST_EPARSE, 16, "unknown interval unit");
    expect_error("SELECT 1 UNION SELECT 2", ST_EUNSUPPORTED, 9, "set operations");
    expect_error("SELECT * FROM a LEFT JOIN b", ST_EUNSUPPORTED, 16, "joins");
    expect_error("SELECT rank() OVER ()", ST_EUNSUPPORTED, 14, "window functions");
    expect_error("UPDATE t SET x = 1", ST_EUNSUPPORTED, 0, "UPDATE is not supported");
    expect_error("EXPLAIN ANALYZE SELECT 1", ST_EUNSUPPORTED, 8, "EXPLAIN ANALYZE");
    expect_error("SHOW DATABASES", ST_EPARSE, 5, "expected TABLES or COLUMNS");
    expect_error("DELETE cpu", ST_EPARSE, 7, "expected FROM");
    expect_error("SELECT 1;SELECT 2", ST_EPARSE, 9, "expected end of statement");
}

TEST(parser_limits)
{
    /* nesting of parentheses */
    size_t depth = SQL_MAX_DEPTH + 10;
    char *s = malloc(2 * depth + 16);
    strcpy(s, "SELECT ");
    size_t n = strlen(s);
    for (size_t i = 0; i < depth; i++)
        s[n++] = '(';
    s[n++] = '1';
    for (size_t i = 0; i < depth; i++)
        s[n++] = ')';
    s[n] = '\0';
    expect_error(s, ST_ELIMIT, -1, "nested too deeply");
    free(s);
    /* NOT NOT NOT ... recursion */
    s = malloc(4 * depth + 16);
    strcpy(s, "SELECT ");
    for (size_t i = 0; i < depth; i++)
        strcat(s, "NOT ");
    strcat(s, "1");
    expect_error(s, ST_ELIMIT, -1, "nested too deeply");
    free(s);
    /* a long flat chain builds a tall tree: refused above SQL_MAX_HEIGHT */
    size_t terms = SQL_MAX_HEIGHT + 5;
    s = malloc(4 * terms + 16);
    strcpy(s, "SELECT 1");
    for (size_t i = 0; i < terms; i++)
        strcat(s, "+1");
    expect_error(s, ST_ELIMIT, -1, "expression nested too deeply");
    free(s);
    /* but a long IN list is fine */
    s = malloc(8 * 10000 + 64);
    strcpy(s, "SELECT x IN (0");
    n = strlen(s);
    for (int i = 1; i < 10000; i++)
        n += (size_t)sprintf(s + n, ",%d", i);
    strcpy(s + n, ")");
    struct sql_arena a;
    sql_arena_init(&a, 1 << 26);
    struct sql_stmt *st = parse_ok(&a, s);
    ASSERT_EQ_INT(st->select->items[0].e->u.in.n, 10000);
    sql_arena_cleanup(&a);
    free(s);
    /* text length */
    size_t big = SQL_MAX_TEXT_LEN + 1;
    s = malloc(big + 1);
    memset(s, ' ', big);
    memcpy(s, "SELECT 1", 8);
    s[big] = '\0';
    struct sql_stmt *st2;
    struct st_error err;
    sql_arena_init(&a, 1 << 24);
    ASSERT_CODE(sql_parse(s, big, &a, &st2, &err), ST_ELIMIT);
    ASSERT_CONTAINS(err.msg, "query text too long");
    sql_arena_cleanup(&a);
    free(s);
}

TEST(arena_enforces_its_ceiling)
{
    struct sql_arena a;
    sql_arena_init(&a, 10000);
    ASSERT_TRUE(sql_arena_alloc(&a, 100) != NULL);
    ASSERT_TRUE(sql_arena_alloc(&a, 20000) == NULL);
    sql_arena_reset(&a);
    ASSERT_TRUE(sql_arena_alloc(&a, 4000) != NULL);
    sql_arena_cleanup(&a);
    /* a tiny arena makes parsing fail cleanly */
    sql_arena_init(&a, 1024);
    struct sql_stmt *st;
    struct st_error err;
    const char *q = "SELECT a, b, c, d, e, f, g, h FROM t WHERE a = 1 AND b = 2 AND c = 3 "
                    "AND d = 4 AND e = 5 AND f = 6 AND g = 7 AND h IN (1,2,3,4,5,6,7,8,9)";
    ASSERT_CODE(sql_parse(q, strlen(q), &a, &st, &err), ST_ENOMEM);
    sql_arena_cleanup(&a);
}

TEST(interval_texts)
{
    struct {
        const char *s;
        int64_t ns;
    } ok[] = {
        {"1 second", 1000000000},      {"5 minutes", 300000000000},
        {"1 hour 30 minutes", 5400000000000}, {"1h30m", 5400000000000},
        {"2 days", 172800000000000},   {"1 week", 604800000000000},
        {"1.5 seconds", 1500000000},   {"250 ms", 250000000},
        {"7 us", 7000},                {"-3 s", -3000000000},
        {"  10   MINUTES ", 600000000000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v;
        const char *why = NULL;
        ASSERT_EQ_INT(sql__parse_interval(ok[i].s, strlen(ok[i].s), &v, &why), 0);
        ASSERT_EQ_INT(v, ok[i].ns);
    }
    const char *bad[] = {"", "minutes", "5", "5 parsecs", "1 month", "2 years", "1.5 ns",
                         "99999999999999 days", "5 m 5 m 5 m 5 m 5 m 5 m 5 m 5 m 5 m 5 m 5 m 5 m "
                         "5 m 5 m 5 m 5 m 5 m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        const char *why = NULL;
        ASSERT_EQ_INT(sql__parse_interval(bad[i], strlen(bad[i]), &v, &why), -1);
        ASSERT_TRUE(why != NULL);
    }
    char buf[64];
    sql_format_interval(90000000000, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "90 seconds");
    sql_format_interval(3600000000000, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "1 hour");
    sql_format_interval(-1500000, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "-1500 microseconds");
}

/* ---- normaliser ---------------------------------------------------------------------- */

static void
norm(const char *in, const char *want)
{
    char buf[256];
    sql_normalize(in, strlen(in), buf, sizeof buf);
    ASSERT_EQ_STR(buf, want);
}

TEST(normalize_strips_literals)
{
    norm("SELECT * FROM cpu WHERE host = 'secret' AND usage > 90.5",
         "SELECT * FROM cpu WHERE host = ? AND usage > ?");
    norm("select  a,\n\tb -- comment 'x'\n from t /* 'y' */ where x in (1, 2,3)",
         "select a, b from t where x in (?, ?,?)");
    norm("SELECT $p, \"Quoted Name\" FROM t", "SELECT $p, \"Quoted Name\" FROM t");
    norm("SELECT TIMESTAMP '2016-01-01', INTERVAL '5 minutes', -1",
         "SELECT TIMESTAMP ?, INTERVAL ?, -?");
    norm("SELECT 'unterminated secret", "SELECT ?");
    norm("   ", "");
    norm("SELECT 1e5, .5", "SELECT ?, ?");
    /* truncation never splits a UTF-8 character */
    char small[10];
    sql_normalize("SELECT héllo FROM t", 19, small, sizeof small);
    ASSERT_EQ_STR(small, "SELECT h");
    sql_normalize("SELECT 1", 8, small, 1);
    ASSERT_EQ_STR(small, "");
    sql_normalize(NULL, 0, small, sizeof small);
    ASSERT_EQ_STR(small, "");
}
