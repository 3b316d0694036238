/*
 * test_lp.c: the line protocol parser (engine/lineproto): every escape in
 * every position, every value type and spelling, every error message with
 * its line and column, multi-line batches with bad lines in between, CRLF,
 * comments, newlines inside quoted strings, limits, and timestamp precision.
 */
#include "th.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "lp_int.h"
#include "strata/lp.h"

/* ---- helpers -------------------------------------------------------------- */

static struct lp_parser *P;
static struct lp_line L;
static struct lp_error E;

static void
reset_parser(const char *text, size_t len, const struct lp_limits *lim)
{
    lp_parser_free(P);
    P = lp_parser_new(text, len, lim);
    if (!P)
        th_fail(__FILE__, __LINE__, "lp_parser_new failed");
}

/* Count the lines and errors of a text with a parser of its own. */
static void
count_results(const char *text, size_t len, const struct lp_limits *lim, int *n_lines,
              int *n_errors)
{
    struct lp_parser *p = lp_parser_new(text, len, lim);
    struct lp_line l;
    struct lp_error e;
    enum lp_result r;
    *n_lines = *n_errors = 0;
    while ((r = lp_next(p, &l, &e)) != LP_END) {
        if (r == LP_LINE)
            (*n_lines)++;
        else
            (*n_errors)++;
    }
    lp_parser_free(p);
}

static bool
lpstr_eq(struct lp_str a, struct lp_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool
same_line(const struct lp_line *a, const struct lp_line *b)
{
    if (!lpstr_eq(a->measurement, b->measurement) || a->n_tags != b->n_tags ||
        a->n_fields != b->n_fields || a->has_time != b->has_time ||
        (a->has_time && a->time != b->time) || a->line_no != b->line_no ||
        !lpstr_eq(a->raw, b->raw))
        return false;
    for (uint32_t i = 0; i < a->n_tags; i++)
        if (!lpstr_eq(a->tags[i].key, b->tags[i].key) ||
            !lpstr_eq(a->tags[i].value, b->tags[i].value))
            return false;
    for (uint32_t i = 0; i < a->n_fields; i++) {
        const struct lp_field *x = &a->fields[i], *y = &b->fields[i];
        if (!lpstr_eq(x->key, y->key) || x->type != y->type)
            return false;
        if ((x->type == LP_FLOAT && memcmp(&x->v.f, &y->v.f, sizeof x->v.f) != 0) ||
            (x->type == LP_INT && x->v.i != y->v.i) || (x->type == LP_UINT && x->v.u != y->v.u) ||
            (x->type == LP_BOOL && x->v.b != y->v.b) ||
            (x->type == LP_STRING && !lpstr_eq(x->v.s, y->v.s)))
            return false;
    }
    return true;
}

/*
 * The parser reads ahead in 16- and 64-byte blocks when the buffer has room
 * and byte by byte near its end. Every helper below parses its text twice:
 * as an exact-size heap buffer (so the tail paths run and ASan sees any
 * over-read) and followed by a newline and a long comment (so the block
 * paths run); the first results must agree.
 */
static void
check_padded_agrees(const char *file, int line, const char *text, size_t len,
                    const struct lp_limits *lim, enum lp_result r0, const struct lp_line *l0,
                    const struct lp_error *e0)
{
    size_t pad = 300;
    char *buf = malloc(len + pad);
    memcpy(buf, text, len);
    buf[len] = '\n';
    buf[len + 1] = '#';
    memset(buf + len + 2, 'x', pad - 2);
    struct lp_parser *p = lp_parser_new(buf, len + pad, lim);
    struct lp_line l;
    struct lp_error e;
    enum lp_result r = lp_next(p, &l, &e);
    if (r != r0)
        th_fail(file, line, "\"%.*s\": padded result %d != %d", (int)len, text, (int)r, (int)r0);
    if (r == LP_ERROR && (e.line != e0->line || e.column != e0->column || e.code != e0->code ||
                          strcmp(e.msg, e0->msg) != 0))
        th_fail(file, line, "\"%.*s\": padded error %u:%u %s != %u:%u %s", (int)len, text, e.line,
                e.column, e.msg, e0->line, e0->column, e0->msg);
    if (r == LP_LINE) {
        /* Compare with raw pointers rebased onto the padded copy. */
        struct lp_line l0b = *l0;
        l0b.raw.p = buf + (l0->raw.p - text);
        if (!same_line(&l, &l0b))
            th_fail(file, line, "\"%.*s\": padded parse differs", (int)len, text);
    }
    lp_parser_free(p);
    free(buf);
}

/* Text copied to an exact-size heap buffer owned by the test (freed at exit). */
static const char *
exact_copy(const char *text, size_t len)
{
    static char *keep;
    free(keep);
    keep = malloc(len ? len : 1);
    memcpy(keep, text, len);
    return keep;
}

/* Parse text that must hold exactly one good line; L holds it. */
static const struct lp_line *
one_(const char *file, int line, const char *text0, size_t len, const struct lp_limits *lim)
{
    int nl, ne;
    const char *text = exact_copy(text0, len);
    count_results(text, len, lim, &nl, &ne);
    reset_parser(text, len, lim);
    enum lp_result r = lp_next(P, &L, &E);
    if (r != LP_LINE)
        th_fail(file, line, "expected a line from \"%.*s\", got %d: line %u col %u: %s", (int)len,
                text, (int)r, E.line, E.column, E.msg);
    if (nl != 1 || ne != 0)
        th_fail(file, line, "\"%.*s\": expected 1 line, 0 errors; got %d, %d", (int)len, text, nl,
                ne);
    check_padded_agrees(file, line, text, len, lim, r, &L, &E);
    return &L;
}
#define ONE(text) one_(__FILE__, __LINE__, text, sizeof(text) - 1, NULL)
#define ONE_LIM(text, lim) one_(__FILE__, __LINE__, text, sizeof(text) - 1, lim)

/* Parse text whose first line must fail at (line, col) with msg containing sub. */
static void
err_(const char *file, int ln, const char *text0, size_t len, const struct lp_limits *lim,
     uint32_t line, uint32_t col, const char *sub)
{
    const char *text = exact_copy(text0, len);
    reset_parser(text, len, lim);
    enum lp_result r = lp_next(P, &L, &E);
    if (r != LP_ERROR)
        th_fail(file, ln, "expected an error from \"%.*s\", got %d", (int)len, text, (int)r);
    if (E.line != line || E.column != col)
        th_fail(file, ln, "\"%.*s\": error at %u:%u, expected %u:%u (%s)", (int)len, text, E.line,
                E.column, line, col, E.msg);
    if (!strstr(E.msg, sub))
        th_fail(file, ln, "\"%.*s\": message \"%s\" lacks \"%s\"", (int)len, text, E.msg, sub);
    if (E.offset > len || E.first_line > E.line)
        th_fail(file, ln, "bad offset/first_line");
    check_padded_agrees(file, ln, text, len, lim, r, &L, &E);
}
#define ERR(text, line, col, sub)                                                                  \
    err_(__FILE__, __LINE__, text, sizeof(text) - 1, NULL, line, col, sub)
#define ERR_LIM(text, lim, line, col, sub)                                                         \
    err_(__FILE__, __LINE__, text, sizeof(text) - 1, lim, line, col, sub)

static bool
str_is(struct lp_str s, const char *lit, size_t n)
{
    return s.len == n && memcmp(s.p, lit, n) == 0;
}
#define ASSERT_STR(s, lit)                                                                         \
    do {                                                                                           \
        if (!str_is((s), lit, sizeof(lit) - 1))                                                    \
            th_fail(__FILE__, __LINE__, "%s: \"%.*s\" != \"%s\"", #s, (int)(s).len, (s).p, lit);  \
    } while (0)

static const char *
measurement_of(const char *text, size_t len)
{
    static char buf[256];
    reset_parser(text, len, NULL);
    if (lp_next(P, &L, &E) != LP_LINE)
        th_fail(__FILE__, __LINE__, "no line: %s", E.msg);
    snprintf(buf, sizeof buf, "%.*s", (int)L.measurement.len, L.measurement.p);
    return buf;
}

/* ---- the basic shape ------------------------------------------------------- */

TEST(lp_parses_a_full_line)
{
    const struct lp_line *l =
        ONE("cpu,host=a,region=eu usage=1.5,count=3i,ok=T,msg=\"hi\",n=4u 1700000000000000000");
    ASSERT_STR(l->measurement, "cpu");
    ASSERT_EQ_INT(l->n_tags, 2);
    ASSERT_STR(l->tags[0].key, "host");
    ASSERT_STR(l->tags[0].value, "a");
    ASSERT_STR(l->tags[1].key, "region");
    ASSERT_STR(l->tags[1].value, "eu");
    ASSERT_EQ_INT(l->n_fields, 5);
    ASSERT_STR(l->fields[0].key, "usage");
    ASSERT_EQ_INT(l->fields[0].type, LP_FLOAT);
    ASSERT_EQ_DBL(l->fields[0].v.f, 1.5);
    ASSERT_EQ_INT(l->fields[1].type, LP_INT);
    ASSERT_EQ_INT(l->fields[1].v.i, 3);
    ASSERT_EQ_INT(l->fields[2].type, LP_BOOL);
    ASSERT_TRUE(l->fields[2].v.b);
    ASSERT_EQ_INT(l->fields[3].type, LP_STRING);
    ASSERT_STR(l->fields[3].v.s, "hi");
    ASSERT_EQ_INT(l->fields[4].type, LP_UINT);
    ASSERT_EQ_U64(l->fields[4].v.u, 4);
    ASSERT_TRUE(l->has_time);
    ASSERT_EQ_INT(l->time, 1700000000000000000LL);
    ASSERT_EQ_INT(l->line_no, 1);
    ASSERT_STR(l->raw,
               "cpu,host=a,region=eu usage=1.5,count=3i,ok=T,msg=\"hi\",n=4u 1700000000000000000");
}

TEST(lp_minimal_line_without_tags_or_time)
{
    const struct lp_line *l = ONE("m f=1");
    ASSERT_STR(l->measurement, "m");
    ASSERT_EQ_INT(l->n_tags, 0);
    ASSERT_EQ_INT(l->n_fields, 1);
    ASSERT_FALSE(l->has_time);
}

TEST(lp_unescaped_strings_point_into_the_input)
{
    static const char text[] = "m,t=v f=\"s\"";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_TRUE(L.measurement.p == text);
    ASSERT_TRUE(L.tags[0].value.p == text + 4);
    ASSERT_TRUE(L.fields[0].v.s.p == text + 9);
}

TEST(lp_separators_are_one_or_more_spaces)
{
    const struct lp_line *l = ONE("m,t=v    f=1,g=2     17   ");
    ASSERT_EQ_INT(l->n_fields, 2);
    ASSERT_EQ_INT(l->time, 17);
    l = ONE("m f=1   ");
    ASSERT_FALSE(l->has_time);
    l = ONE("   \t  m f=1");
    ASSERT_STR(l->measurement, "m");
    ASSERT_STR(l->raw, "m f=1");
}

/* ---- escapes in every position ------------------------------------------------ */

TEST(lp_escapes_in_measurement)
{
    ASSERT_EQ_STR(measurement_of("a\\,b f=1", 8), "a,b");
    ASSERT_EQ_STR(measurement_of("a\\ b f=1", 8), "a b");
    ASSERT_EQ_STR(measurement_of("a\\\\b f=1", 8), "a\\b");
    /* '=' and '"' are not escapable in a measurement: the backslash stays. */
    ASSERT_EQ_STR(measurement_of("a\\=b f=1", 8), "a\\=b");
    ASSERT_EQ_STR(measurement_of("a\\\"b f=1", 8), "a\\\"b");
    ASSERT_EQ_STR(measurement_of("a\\xb f=1", 8), "a\\xb");
    ASSERT_EQ_STR(measurement_of("a=b f=1", 7), "a=b");
    ASSERT_EQ_STR(measurement_of("a\"b f=1", 7), "a\"b");
    ASSERT_EQ_STR(measurement_of("\\,\\ \\\\x f=1", 11), ", \\x");
    ASSERT_EQ_STR(measurement_of("a\\nb f=1", 8), "a\\nb");
}

TEST(lp_escapes_in_tag_keys)
{
    const struct lp_line *l = ONE("m,a\\,b=1,c\\ d=2,e\\=f=3,g\\\\h=4,i\\\"j=5,k\\xl=6,m\"n=7 f=1");
    ASSERT_EQ_INT(l->n_tags, 7);
    ASSERT_STR(l->tags[0].key, "a,b");
    ASSERT_STR(l->tags[1].key, "c d");
    ASSERT_STR(l->tags[2].key, "e=f");
    ASSERT_STR(l->tags[3].key, "g\\h");
    ASSERT_STR(l->tags[4].key, "i\\\"j");
    ASSERT_STR(l->tags[5].key, "k\\xl");
    ASSERT_STR(l->tags[6].key, "m\"n");
}

TEST(lp_escapes_in_tag_values)
{
    const struct lp_line *l =
        ONE("m,a=x\\,y,b=x\\ y,c=x\\=y,d=x=y,e=x\\\\y,f=x\\\"y,g=\"q\",h=x\\ty,i==,j=\\  v=1");
    ASSERT_EQ_INT(l->n_tags, 10);
    ASSERT_STR(l->tags[0].value, "x,y");
    ASSERT_STR(l->tags[1].value, "x y");
    ASSERT_STR(l->tags[2].value, "x=y");
    ASSERT_STR(l->tags[3].value, "x=y");
    ASSERT_STR(l->tags[4].value, "x\\y");
    ASSERT_STR(l->tags[5].value, "x\\\"y");
    ASSERT_STR(l->tags[6].value, "\"q\"");
    ASSERT_STR(l->tags[7].value, "x\\ty");
    ASSERT_STR(l->tags[8].value, "=");
    ASSERT_STR(l->tags[9].value, " ");
}

TEST(lp_escapes_in_field_keys)
{
    const struct lp_line *l = ONE("m a\\,b=1,c\\ d=2,e\\=f=3,g\\\\h=4,i\\\"j=5,k\\xl=6,m\"n=7");
    ASSERT_EQ_INT(l->n_fields, 7);
    ASSERT_STR(l->fields[0].key, "a,b");
    ASSERT_STR(l->fields[1].key, "c d");
    ASSERT_STR(l->fields[2].key, "e=f");
    ASSERT_STR(l->fields[3].key, "g\\h");
    ASSERT_STR(l->fields[4].key, "i\\\"j");
    ASSERT_STR(l->fields[5].key, "k\\xl");
    ASSERT_STR(l->fields[6].key, "m\"n");
}

TEST(lp_escapes_in_string_values)
{
    const struct lp_line *l = ONE("m a=\"x\\\"y\",b=\"x\\\\y\",c=\"x\\ny\",d=\"x\\,y\",e=\"\","
                                  "f=\"x\\\\\",g=\"\\\\\\\"\",h=\"a,b c=d\",i=\"x\\y\"");
    ASSERT_EQ_INT(l->n_fields, 9);
    ASSERT_STR(l->fields[0].v.s, "x\"y");
    ASSERT_STR(l->fields[1].v.s, "x\\y");
    ASSERT_STR(l->fields[2].v.s, "x\\ny");
    ASSERT_STR(l->fields[3].v.s, "x\\,y");
    ASSERT_STR(l->fields[4].v.s, "");
    ASSERT_STR(l->fields[5].v.s, "x\\");
    ASSERT_STR(l->fields[6].v.s, "\\\"");
    ASSERT_STR(l->fields[7].v.s, "a,b c=d");
    ASSERT_STR(l->fields[8].v.s, "x\\y");
}

TEST(lp_string_values_may_hold_newlines_and_tabs)
{
    const char text[] = "m s=\"line1\nline2\r\n\tline3\" 5\nm,t=x f=2";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 1);
    ASSERT_STR(L.fields[0].v.s, "line1\nline2\r\n\tline3");
    ASSERT_EQ_INT(L.time, 5);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 4);
    ASSERT_STR(L.tags[0].value, "x");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
}

TEST(lp_escaped_quote_and_backslash_newline_in_strings)
{
    /* An escaped quote does not end the string; a backslash before a newline is
     * kept, and the newline stays in the string. */
    const char text[] = "m s=\"a\\\"\nb\\\nc\"\nm f=1";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_STR(L.fields[0].v.s, "a\"\nb\\\nc");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 4);
}

TEST(lp_quotes_outside_string_values_do_not_join_lines)
{
    const char text[] = "m\",t=\"x f=1\nm a\"b=1 2\nm f=1 \"3\nm f=2";
    int nl, ne;
    count_results(text, sizeof text - 1, NULL, &nl, &ne);
    ASSERT_EQ_INT(nl, 3);
    ASSERT_EQ_INT(ne, 1); /* the third line: invalid timestamp */
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_STR(L.measurement, "m\"");
    ASSERT_STR(L.tags[0].value, "\"x");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_STR(L.fields[0].key, "a\"b");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.line, 3);
    ASSERT_EQ_INT(E.column, 7);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 4);
}

TEST(lp_utf8_names_and_values)
{
    const struct lp_line *l =
        ONE("temp\xc3\xa9rature,lieu=Z\xc3\xbcrich,e=\xf0\x9f\x99\x82 "
            "\xe6\xb8\xa9\xe5\xba\xa6=1,s=\"\xe2\x82\xac\" 1");
    ASSERT_STR(l->measurement, "temp\xc3\xa9rature");
    ASSERT_STR(l->tags[0].value, "Z\xc3\xbcrich");
    ASSERT_STR(l->tags[1].value, "\xf0\x9f\x99\x82");
    ASSERT_STR(l->fields[0].key, "\xe6\xb8\xa9\xe5\xba\xa6");
    ASSERT_STR(l->fields[1].v.s, "\xe2\x82\xac");
}

/* ---- value types ------------------------------------------------------------- */

static double
float_of(const char *v)
{
    char text[512];
    int n = snprintf(text, sizeof text, "m f=%s", v);
    one_(__FILE__, __LINE__, text, (size_t)n, NULL);
    if (L.fields[0].type != LP_FLOAT)
        th_fail(__FILE__, __LINE__, "\"%s\": not a float", v);
    return L.fields[0].v.f;
}

TEST(lp_float_forms)
{
    ASSERT_EQ_DBL(float_of("1"), 1.0);
    ASSERT_EQ_DBL(float_of("-1"), -1.0);
    ASSERT_EQ_DBL(float_of("1.5"), 1.5);
    ASSERT_EQ_DBL(float_of("-1.5"), -1.5);
    ASSERT_EQ_DBL(float_of("0.1"), 0.1);
    ASSERT_EQ_DBL(float_of("1e5"), 1e5);
    ASSERT_EQ_DBL(float_of("1E5"), 1e5);
    ASSERT_EQ_DBL(float_of("1e+5"), 1e5);
    ASSERT_EQ_DBL(float_of("1e-5"), 1e-5);
    ASSERT_EQ_DBL(float_of("-1.5e-3"), -1.5e-3);
    ASSERT_EQ_DBL(float_of("1.25E+2"), 125.0);
    ASSERT_EQ_DBL(float_of("00012.50"), 12.5);
    ASSERT_EQ_DBL(float_of("1e+21"), 1e21);
    ASSERT_EQ_DBL(float_of("0"), 0.0);
    ASSERT_TRUE(signbit(float_of("-0")));
    ASSERT_TRUE(signbit(float_of("-0.0e10")));
    ASSERT_FALSE(signbit(float_of("0.0")));
    /* Beyond the fast path: correctly rounded by strtod. */
    ASSERT_EQ_DBL(float_of("123456789012345678901234567890"), 123456789012345678901234567890.0);
    ASSERT_EQ_DBL(float_of("0.1000000000000000055511151231257827"), 0.1);
    ASSERT_EQ_DBL(float_of("1.7976931348623157e308"), 1.7976931348623157e308);
    ASSERT_EQ_DBL(float_of("4.9406564584124654e-324"), 4.9406564584124654e-324);
    ASSERT_EQ_DBL(float_of("9007199254740993"), 9007199254740992.0);
    ASSERT_EQ_DBL(float_of("3.14159265358979323846264338327950288"), 3.14159265358979323846);
    ASSERT_EQ_DBL(float_of("1e22"), 1e22);
    ASSERT_EQ_DBL(float_of("1e23"), 1e23);
    ASSERT_EQ_DBL(float_of("1e-22"), 1e-22);
    ASSERT_EQ_DBL(float_of("1e-400"), 0.0); /* underflow rounds to zero, as in InfluxDB */
    ASSERT_EQ_DBL(float_of("0e999999999999999999999"), 0.0);
    /* A long token through the heap buffer. */
    char big[400];
    memset(big, '0', sizeof big);
    big[0] = '1';
    big[1] = '.';
    big[sizeof big - 1] = '\0';
    ASSERT_EQ_DBL(float_of(big), 1.0);
}

TEST(lp_float_ignores_the_process_locale)
{
    static const char *const locs[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"};
    for (size_t i = 0; i < sizeof locs / sizeof locs[0]; i++)
        if (setlocale(LC_ALL, locs[i]))
            break;
    /* Whatever locale we got (maybe only C), the slow path must read '.'. */
    ASSERT_EQ_DBL(float_of("0.1000000000000000055511151231257827"), 0.1);
    ASSERT_EQ_DBL(float_of("1.5e300"), 1.5e300);
    setlocale(LC_ALL, "C");
}

TEST(lp_float_errors)
{
    ERR("m f=1e999", 1, 5, "float \"1e999\" of field \"f\" is out of range");
    ERR("m f=-1e999", 1, 5, "out of range");
    ERR("m f=1e308000", 1, 5, "out of range");
    char huge[400];
    int hn = snprintf(huge, sizeof huge, "m f=2");
    for (int i = 0; i < 308; i++)
        huge[hn++] = '0';
    err_(__FILE__, __LINE__, huge, (size_t)hn, NULL, 1, 5, "out of range");
    ERR("m f=.5", 1, 5, "write a digit before the '.'");
    ERR("m f=-.5", 1, 5, "write a digit before the '.'");
    ERR("m f=1.", 1, 5, "write a digit after the '.'");
    ERR("m f=+1", 1, 5, "a leading '+' is not allowed");
    ERR("m f=1e", 1, 5, "invalid value \"1e\" for field \"f\"");
    ERR("m f=1e+", 1, 5, "invalid value");
    ERR("m f=1.5.5", 1, 5, "invalid value \"1.5.5\"");
    ERR("m f=0x10", 1, 5, "invalid value \"0x10\"");
    ERR("m f=1_000", 1, 5, "invalid value");
    ERR("m f=-", 1, 5, "invalid value \"-\"");
    ERR("m f=nan", 1, 5, "NaN and infinity are not supported");
    ERR("m f=NaN", 1, 5, "NaN and infinity are not supported");
    ERR("m f=inf", 1, 5, "NaN and infinity are not supported");
    ERR("m f=-Inf", 1, 5, "NaN and infinity are not supported");
    ERR("m f=+inf", 1, 5, "NaN and infinity are not supported");
    ERR("m f=Infinity", 1, 5, "NaN and infinity are not supported");
    ERR("m f=1,g=abc", 1, 9, "(string values must be in double quotes)");
}

static int64_t
int_of(const char *v)
{
    char text[128];
    int n = snprintf(text, sizeof text, "m f=%s", v);
    one_(__FILE__, __LINE__, text, (size_t)n, NULL);
    if (L.fields[0].type != LP_INT)
        th_fail(__FILE__, __LINE__, "\"%s\": not an integer", v);
    return L.fields[0].v.i;
}

TEST(lp_integers)
{
    ASSERT_EQ_INT(int_of("0i"), 0);
    ASSERT_EQ_INT(int_of("-0i"), 0);
    ASSERT_EQ_INT(int_of("58i"), 58);
    ASSERT_EQ_INT(int_of("-58i"), -58);
    ASSERT_EQ_INT(int_of("007i"), 7);
    ASSERT_EQ_INT(int_of("9223372036854775807i"), INT64_MAX);
    ASSERT_EQ_INT(int_of("-9223372036854775808i"), INT64_MIN);
    ERR("m f=9223372036854775808i", 1, 5,
        "integer \"9223372036854775808i\" of field \"f\" is out of range (int64)");
    ERR("m f=-9223372036854775809i", 1, 5, "out of range (int64)");
    ERR("m f=99999999999999999999999i", 1, 5, "out of range (int64)");
    ERR("m f=1.5i", 1, 5, "integers have no fraction or exponent");
    ERR("m f=1e5i", 1, 5, "integers have no fraction or exponent");
    ERR("m f=i", 1, 5, "invalid value \"i\"");
    ERR("m f=-i", 1, 5, "invalid value \"-i\"");
    ERR("m f=1ii", 1, 5, "invalid value \"1ii\"");
    ERR("m f=1I", 1, 5, "invalid value \"1I\"");
}

TEST(lp_unsigned_integers)
{
    const struct lp_line *l = ONE("m a=0u,b=18446744073709551615u,c=42u");
    ASSERT_EQ_INT(l->fields[0].type, LP_UINT);
    ASSERT_EQ_U64(l->fields[0].v.u, 0);
    ASSERT_EQ_U64(l->fields[1].v.u, UINT64_MAX);
    ASSERT_EQ_U64(l->fields[2].v.u, 42);
    ERR("m f=18446744073709551616u", 1, 5,
        "unsigned integer \"18446744073709551616u\" of field \"f\" is out of range (uint64)");
    ERR("m f=99999999999999999999u", 1, 5, "out of range (uint64)");
    ERR("m f=-1u", 1, 5, "unsigned integer \"-1u\" of field \"f\" is negative");
    ERR("m f=-0u", 1, 5, "is negative");
    ERR("m f=1.0u", 1, 5, "integers have no fraction or exponent");
}

TEST(lp_booleans_every_spelling)
{
    static const char *const yes[] = {"t", "T", "true", "True", "TRUE"};
    static const char *const no[] = {"f", "F", "false", "False", "FALSE"};
    char text[64];
    for (int i = 0; i < 5; i++) {
        for (int b = 0; b < 2; b++) {
            int n = snprintf(text, sizeof text, "m x=%s,y=1", b ? yes[i] : no[i]);
            reset_parser(text, (size_t)n, NULL);
            ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
            ASSERT_EQ_INT(L.fields[0].type, LP_BOOL);
            ASSERT_EQ_INT(L.fields[0].v.b, b);
        }
    }
    ERR("m f=tRUE", 1, 5, "invalid value \"tRUE\" for field \"f\" (string values must be");
    ERR("m f=FaLsE", 1, 5, "invalid value \"FaLsE\"");
    ERR("m f=yes", 1, 5, "invalid value \"yes\"");
    ERR("m f=tr", 1, 5, "invalid value \"tr\"");
    ERR("m f=truee", 1, 5, "invalid value \"truee\"");
    ERR("m f=falsy", 1, 5, "invalid value \"falsy\"");
}

TEST(lp_string_errors)
{
    ERR("m f=\"abc", 1, 5, "unterminated string value of field \"f\"");
    ERR("m f=\"a\"x", 1, 8, "unexpected text after the string value of field \"f\"");
    ERR("m f=\"a\"\"b\"", 1, 8, "unexpected text after the string value");
    ERR("m f=\"a\\\"", 1, 5, "unterminated string");
    ERR("m f=\"a\0b\"", 1, 7, "NUL byte in string value of field \"f\"");
    ERR("m f=\"a\xff\"", 1, 7, "invalid UTF-8 in string value of field \"f\"");
    ERR("m f=\"a\xc3\"", 1, 7, "invalid UTF-8 in string value");
    ERR("m f=x\"a\"", 1, 5, "invalid value");
}

/* ---- structural errors with positions ------------------------------------------ */

TEST(lp_series_errors)
{
    ERR(",t=1 f=1", 1, 1, "missing measurement");
    ERR("m, f=1", 1, 3, "missing tag key after ','");
    ERR("m,=v f=1", 1, 3, "missing tag key after ','");
    ERR("m,t=v, f=1", 1, 7, "missing tag key after ','");
    ERR("m,t f=1", 1, 4, "missing '=' after tag key \"t\"");
    ERR("m,t,u=1 f=1", 1, 4, "missing '=' after tag key \"t\"");
    ERR("m,t", 1, 4, "missing '=' after tag key \"t\"");
    ERR("m,t= f=1", 1, 5, "missing value for tag key \"t\"");
    ERR("m,t=,u=1 f=1", 1, 5, "missing value for tag key \"t\"");
    ERR("m,t=", 1, 5, "missing value for tag key \"t\"");
}

TEST(lp_field_set_errors)
{
    ERR("m", 1, 2, "missing field set");
    ERR("m ", 1, 3, "missing field set");
    ERR("m,t=1", 1, 6, "missing field set");
    ERR("m,t=1   ", 1, 9, "missing field set");
    ERR("m =1", 1, 3, "missing field key");
    ERR("m f=1,", 1, 7, "missing field key after ','");
    ERR("m f=1,=2", 1, 7, "missing field key after ','");
    ERR("m f=1, g=2", 1, 7, "missing field key after ','");
    ERR("m f", 1, 4, "missing '=' after field key \"f\"");
    ERR("m f 1", 1, 4, "missing '=' after field key \"f\"");
    ERR("m f,g=1", 1, 4, "missing '=' after field key \"f\"");
    ERR("m f=", 1, 5, "missing value for field \"f\"");
    ERR("m f=,g=1", 1, 5, "missing value for field \"f\"");
    ERR("m f= 1", 1, 5, "missing value for field \"f\"");
}

TEST(lp_timestamp_errors)
{
    ERR("m f=1 abc", 1, 7, "invalid timestamp \"abc\" (expected an integer)");
    ERR("m f=1 1.5", 1, 7, "invalid timestamp \"1.5\"");
    ERR("m f=1 -", 1, 7, "invalid timestamp \"-\"");
    ERR("m f=1 12a", 1, 7, "invalid timestamp \"12a\"");
    ERR("m f=1 1\t", 1, 7, "invalid timestamp \"1\\x09\"");
    ERR("m f=1 # comment", 1, 7, "invalid timestamp \"#\"");
    ERR("m f=1 9223372036854775808", 1, 7,
        "timestamp \"9223372036854775808\" is out of range (int64)");
    ERR("m f=1 -9223372036854775809", 1, 7, "out of range (int64)");
    ERR("m f=1 99999999999999999999999", 1, 7, "out of range");
    ERR("m f=1 1 2", 1, 9, "unexpected text after the timestamp");
    const struct lp_line *l = ONE("m f=1 -9223372036854775808");
    ASSERT_EQ_INT(l->time, INT64_MIN);
    l = ONE("m f=1 9223372036854775807  ");
    ASSERT_EQ_INT(l->time, INT64_MAX);
    l = ONE("m f=1 -5");
    ASSERT_EQ_INT(l->time, -5);
    l = ONE("m f=1 000");
    ASSERT_EQ_INT(l->time, 0);
}

TEST(lp_trailing_backslash_is_rejected_everywhere)
{
    ERR("m\\", 1, 2, "measurement ends with a backslash");
    ERR("m\\\\ f=1", 1, 3, "measurement ends with a backslash");
    ERR("m,a\\\\=1 f=1", 1, 5, "tag key ends with a backslash");
    ERR("m,t=a\\\\ f=1", 1, 7, "tag value ends with a backslash");
    ERR("m,t=a\\", 1, 6, "tag value ends with a backslash");
    ERR("m a\\\\=1", 1, 5, "field key ends with a backslash");
    /* A backslash before the newline does not continue the line. */
    const char text[] = "m,t=a\\\nm f=1";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_CONTAINS(E.msg, "tag value ends with a backslash");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 2);
}

TEST(lp_reserved_time_key)
{
    ERR("m,time=1 f=1", 1, 3, "tag key \"time\" is reserved");
    ERR("m time=1", 1, 3, "field key \"time\" is reserved");
    ERR("m f=1,time=2", 1, 7, "field key \"time\" is reserved");
    const struct lp_line *l = ONE("m,Time=1,times=2,ti\\me=3 TIME=1,tim=2");
    ASSERT_STR(l->tags[2].key, "ti\\me");
    ASSERT_EQ_INT(l->n_tags, 3);
    ASSERT_EQ_INT(l->n_fields, 2);
    l = ONE("time f=1");
    ASSERT_STR(l->measurement, "time");
}

TEST(lp_duplicate_keys)
{
    ERR("m,a=1,a=2 f=1", 1, 7, "duplicate tag key \"a\"");
    ERR("m f=1,f=2", 1, 7, "duplicate field key \"f\"");
    ERR("m f=1,f=\"x\"", 1, 7, "duplicate field key \"f\"");
    ERR("m,a=1 a=2", 1, 7, "\"a\" is both a tag key and a field key");
    ERR("m,a\\ b=1,a\\ b=2 f=1", 1, 10, "duplicate tag key \"a b\"");
    ERR("m,x\\=y=1 x\\=y=1", 1, 10, "\"x=y\" is both a tag key and a field key");
    ERR("m,usage_user=1 usage_system=1,usage_idle=2,usage_user=4", 1, 44, "both");
    const struct lp_line *l = ONE("m,a=1,A=2,ab=3,b=4 aa=1,Aa=2,c=3");
    ASSERT_EQ_INT(l->n_tags, 4);
    ASSERT_EQ_INT(l->n_fields, 3);
    /* Many keys: duplicates found beyond the first table size too. */
    char text[20000];
    size_t o = (size_t)snprintf(text, sizeof text, "m ");
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%sfield%03d=%d", i ? "," : "", i, i);
    o += (size_t)snprintf(text + o, sizeof text - o, ",field123=1");
    err_(__FILE__, __LINE__, text, o, NULL, 1, (uint32_t)(o - strlen("field123=1") + 1),
         "duplicate field key \"field123\"");
    o -= strlen(",field123=1");
    one_(__FILE__, __LINE__, text, o, NULL);
    ASSERT_EQ_INT(L.n_fields, 500);
}

TEST(lp_control_characters_in_names)
{
    ERR("m\x01 f=1", 1, 2, "control character 0x01 in measurement");
    ERR("m\tf=1", 1, 2, "tab in measurement (only spaces separate the parts of a line)");
    ERR("m\r f=1", 1, 2, "carriage return in measurement");
    ERR("m,t\0=1 f=1", 1, 4, "control character 0x00 in tag key");
    ERR("m,t=a\tb f=1", 1, 6, "tab in tag value");
    ERR("m,t=\x7f f=1", 1, 5, "control character 0x7f in tag value");
    ERR("m,t=\xc2\x85 f=1", 1, 5, "control character U+0085 in tag value");
    ERR("m f\x1b=1", 1, 4, "control character 0x1b in field key");
    ERR("m,t=1\tf=1", 1, 6, "tab in tag value");
    ERR("m,t=1 f=1\t", 1, 9, "invalid value \"1\\x09\"");
    ERR("\x00 f=1", 1, 1, "control character 0x00 in measurement");
    /* Escaping does not make a control character acceptable. */
    ERR("m,t=a\\\tb f=1", 1, 7, "tab in tag value");
}

TEST(lp_invalid_utf8_is_rejected)
{
    ERR("\xfe f=1", 1, 1, "invalid UTF-8 in measurement");
    ERR("m,t=\xff f=1", 1, 5, "invalid UTF-8 in tag value");
    ERR("m,\x80=1 f=1", 1, 3, "invalid UTF-8 in tag key");
    ERR("m \xc0\xaf=1", 1, 3, "invalid UTF-8 in field key"); /* overlong '/' */
    ERR("m,t=\xed\xa0\x80 f=1", 1, 5, "invalid UTF-8");      /* surrogate */
    ERR("m,t=\xf4\x90\x80\x80 f=1", 1, 5, "invalid UTF-8");  /* above U+10FFFF */
    ERR("m,t=\xe0\x80\x80 f=1", 1, 5, "invalid UTF-8");      /* overlong 3-byte */
    ERR("m,t=\xf0\x80\x80\x80 f=1", 1, 5, "invalid UTF-8");  /* overlong 4-byte */
    ERR("m,t=\xe2\x82 f=1", 1, 5, "invalid UTF-8");          /* truncated */
    ERR("m,t=a\xe2\x82", 1, 6, "invalid UTF-8");             /* truncated at the end */
    ERR("m,t=\xf8\x88\x80\x80\x80 f=1", 1, 5, "invalid UTF-8");
    const struct lp_line *l = ONE("m,t=\xf4\x8f\xbf\xbf,u=\xef\xbf\xbf f=1");
    ASSERT_STR(l->tags[0].value, "\xf4\x8f\xbf\xbf");
}

TEST(lp_error_messages_are_printable_and_bounded)
{
    char text[2000];
    size_t o = (size_t)snprintf(text, sizeof text, "m ");
    for (int i = 0; i < 300; i++)
        text[o++] = "k\"\xc3\xa9"[i % 4];
    o += (size_t)snprintf(text + o, sizeof text - o, "=\x01\xfe");
    err_(__FILE__, __LINE__, text, o, NULL, 1, 304,
         "invalid value \"\\x01\\xfe\" for field \"k\\\"");
    for (const char *m = E.msg; *m; m++)
        ASSERT_TRUE(*m >= 0x20 && *m < 0x7f);
    ASSERT_TRUE(strlen(E.msg) < sizeof E.msg);
    /* A long name is cut in the message. */
    o = (size_t)snprintf(text, sizeof text, "m f=1,");
    for (int i = 0; i < 300; i++)
        text[o++] = 'a';
    o += (size_t)snprintf(text + o, sizeof text - o, "=\"\x01");
    err_(__FILE__, __LINE__, text, o, NULL, 1, 308, "unterminated string value of field \"aaa");
    ASSERT_CONTAINS(E.msg, "...\"");
    /* Worst case: a key and a value that both quote to 4 characters a byte.
     * The message is cut inside the quotes, never at its end. */
    o = (size_t)snprintf(text, sizeof text, "m ");
    for (int i = 0; i < 100; i++)
        text[o++] = '"';
    text[o++] = '=';
    for (int i = 0; i < 100; i++)
        text[o++] = '\xff';
    err_(__FILE__, __LINE__, text, o, NULL, 1, 104, "(string values must be in double quotes)");
    ASSERT_CONTAINS(E.msg, "invalid value \"\\xff");
    ASSERT_CONTAINS(E.msg, "...\" for field \"\\\"\\\"");
}

/* ---- batches, line numbers, CRLF, comments ----------------------------------------- */

TEST(lp_batch_with_bad_lines_in_between)
{
    const char text[] = "m f=1 1\nbad\nm f=2 2\nm f=\n\nm,t=1 f=3 3\nm f=1i,f=2i\nm f=4 4";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 1);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.line, 2);
    ASSERT_EQ_INT(E.column, 4);
    ASSERT_EQ_INT(E.first_line, 2);
    ASSERT_STR(E.raw, "bad");
    ASSERT_EQ_INT(E.code, ST_EPARSE);
    ASSERT_EQ_INT(E.offset, 11);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 3);
    ASSERT_EQ_DBL(L.fields[0].v.f, 2.0);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.line, 4);
    ASSERT_EQ_INT(E.column, 5);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 6);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.line, 7);
    ASSERT_EQ_INT(E.column, 8);
    ASSERT_CONTAINS(E.msg, "duplicate field key \"f\"");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 8);
    ASSERT_EQ_INT(L.time, 4);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
}

TEST(lp_errors_inside_multiline_strings_point_at_the_physical_line)
{
    const char text[] = "m f=\"a\nb\",g=x 1\nm f=1";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.first_line, 1);
    ASSERT_EQ_INT(E.line, 2);
    ASSERT_EQ_INT(E.column, 6);
    ASSERT_STR(E.raw, "m f=\"a\nb\",g=x 1");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 3);
}

TEST(lp_unterminated_string_costs_one_line)
{
    const char text[] = "m f=\"abc\nm f=2\nm,t=\\\" g=3";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.line, 1);
    ASSERT_EQ_INT(E.column, 5);
    ASSERT_CONTAINS(E.msg, "unterminated string");
    ASSERT_STR(E.raw, "m f=\"abc");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 2);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 3);
    ASSERT_STR(L.tags[0].value, "\\\"");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
}

TEST(lp_string_closing_on_a_later_line_joins_the_lines)
{
    /* As in InfluxDB: a quote opens a string that runs to the next quote. */
    const char text[] = "m f=\"abc\nm f=2\nm g=\"x\" 5\nm h=1";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR); /* `m f="abc\nm f=2\nm g="` then x... */
    ASSERT_EQ_INT(E.first_line, 1);
    ASSERT_EQ_INT(E.line, 3);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 4);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
}

TEST(lp_crlf_bodies)
{
    const char text[] = "m f=1 1\r\nm f=\"a\r\nb\" 2\r\n\r\nm f=3\r\n# c\r\nm f=4\r";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_STR(L.raw, "m f=1 1");
    ASSERT_EQ_INT(L.time, 1);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 2);
    ASSERT_STR(L.fields[0].v.s, "a\r\nb");
    ASSERT_EQ_INT(L.time, 2);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 5);
    ASSERT_FALSE(L.has_time);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 7);
    ASSERT_STR(L.raw, "m f=4");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
    /* Only one '\r' is dropped, and only at the end of a line. */
    ERR("m f=1 1\r\r\n", 1, 7, "invalid timestamp");
    ERR("m f=1\r 1", 1, 5, "invalid value \"1\\x0d\"");
}

TEST(lp_comments_and_blank_lines)
{
    const char text[] = "# header\n\n   \n\t\nm f=1\n  # indented\n#\n\r\nm f=2 # no\nm f=3";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 5);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.line, 9);
    ASSERT_EQ_INT(E.column, 7);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 10);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
    int nl, ne;
    static const char comments[] = "# only\n#comments\n\n";
    count_results(comments, sizeof comments - 1, NULL, &nl, &ne);
    ASSERT_EQ_INT(nl + ne, 0);
    count_results("", 0, NULL, &nl, &ne);
    ASSERT_EQ_INT(nl + ne, 0);
    static const char quoted[] = "# a comment with \"a quote\nm f=1";
    count_results(quoted, sizeof quoted - 1, NULL, &nl, &ne);
    ASSERT_EQ_INT(nl, 1);
}

TEST(lp_column_counts_leading_blanks)
{
    ERR("   m f=x", 1, 8, "invalid value \"x\"");
    const char text[] = "m f=1\n\t  m f=?";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.line, 2);
    ASSERT_EQ_INT(E.column, 8);
    ASSERT_STR(E.raw, "m f=?");
}

TEST(lp_error_without_an_error_buffer_still_skips_the_line)
{
    const char text[] = "bad\nm f=1";
    reset_parser(text, sizeof text - 1, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, NULL), LP_ERROR);
    ASSERT_EQ_INT(lp_next(P, &L, NULL), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 2);
}

/* ---- limits ------------------------------------------------------------------ */

TEST(lp_limits_defaults)
{
    struct lp_limits l;
    lp_limits_default(&l);
    ASSERT_EQ_INT(l.max_line_len, 1 << 20);
    ASSERT_EQ_INT(l.max_tags, 256);
    ASSERT_EQ_INT(l.max_fields, 1024);
    ASSERT_EQ_INT(l.max_name_len, 512);
    ASSERT_EQ_INT(l.max_tag_value_len, 64 << 10);
    ASSERT_EQ_INT(l.max_string_len, 1 << 20);
    /* Zero means the default. */
    struct lp_limits z = {0};
    reset_parser("m f=1", 5, &z);
    ASSERT_EQ_INT(P->lim.max_fields, 1024);
    ASSERT_EQ_INT(P->lim.max_line_len, 1 << 20);
}

TEST(lp_limit_line_length)
{
    struct lp_limits lim = {.max_line_len = 20};
    const char text[] = "m f=1 1\nm f=123456789012345678 1\nm f=12345678901234 1\r\nm f=2";
    reset_parser(text, sizeof text - 1, &lim);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
    ASSERT_EQ_INT(E.code, ST_ELIMIT);
    ASSERT_EQ_INT(E.line, 2);
    ASSERT_EQ_INT(E.column, 21);
    ASSERT_CONTAINS(E.msg, "line is too long (more than 20 bytes)");
    ASSERT_EQ_INT(E.raw.len, 20);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE); /* exactly 20 bytes before the CRLF */
    ASSERT_EQ_INT(L.raw.len, 20);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 4);
}

TEST(lp_limit_tags_and_fields)
{
    struct lp_limits lim = {.max_tags = 2, .max_fields = 2};
    ONE_LIM("m,a=1,b=2 x=1,y=2", &lim);
    ERR_LIM("m,a=1,b=2,c=3 f=1", &lim, 1, 11, "too many tags (limit 2)");
    ERR_LIM("m a=1,b=2,c=3", &lim, 1, 11, "too many fields (limit 2)");
    ASSERT_EQ_INT(E.code, ST_ELIMIT);
    /* Default limits, arrays growing well past their first size. */
    char text[40000];
    size_t o = (size_t)snprintf(text, sizeof text, "m");
    for (int i = 0; i < 256; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, ",t%d=v%d", i, i);
    o += (size_t)snprintf(text + o, sizeof text - o, " ");
    for (int i = 0; i < 1024; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%sf%d=%di", i ? "," : "", i, i);
    one_(__FILE__, __LINE__, text, o, NULL);
    ASSERT_EQ_INT(L.n_tags, 256);
    ASSERT_EQ_INT(L.n_fields, 1024);
    ASSERT_STR(L.tags[255].key, "t255");
    ASSERT_EQ_INT(L.fields[1023].v.i, 1023);
    size_t o2 = o + (size_t)snprintf(text + o, sizeof text - o, ",x=1");
    err_(__FILE__, __LINE__, text, o2, NULL, 1, (uint32_t)o + 2, "too many fields (limit 1024)");
}

TEST(lp_limit_name_and_value_lengths)
{
    struct lp_limits lim = {.max_name_len = 3, .max_tag_value_len = 3, .max_string_len = 3};
    ONE_LIM("abc,abd=abc abe=\"abc\"", &lim);
    ONE_LIM("a\\ b,a\\,b=a\\=b a\\ b=\"a\\\"b\"", &lim); /* unescaped lengths count */
    ERR_LIM("abcd f=1", &lim, 1, 1, "measurement is too long (4 bytes, limit 3)");
    ERR_LIM("m,abcd=1 f=1", &lim, 1, 3, "tag key is too long (4 bytes, limit 3)");
    ERR_LIM("m,t=abcd f=1", &lim, 1, 5, "tag value is too long (4 bytes, limit 3)");
    ERR_LIM("m abcd=1", &lim, 1, 3, "field key is too long (4 bytes, limit 3)");
    ERR_LIM("m s=\"abcd\"", &lim, 1, 5,
            "string value of field \"s\" is too long (4 bytes, limit 3)");
    ASSERT_EQ_INT(E.code, ST_ELIMIT);
}

/* ---- scratch memory and reuse ------------------------------------------------------ */

TEST(lp_escaped_strings_stay_valid_while_scratch_grows)
{
    /* The second line is much longer than the first and full of escapes. */
    char text[200000];
    size_t o = (size_t)snprintf(text, sizeof text, "a\\ b f=1\nm");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, ",k\\ %d=v\\,%d", i, i);
    o += (size_t)snprintf(text + o, sizeof text - o, " s=\"");
    for (int i = 0; i < 20000; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "\\\"");
    o += (size_t)snprintf(text + o, sizeof text - o, "\"");
    reset_parser(text, o, NULL);
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_STR(L.measurement, "a b");
    ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.n_tags, 200);
    for (int i = 0; i < 200; i++) {
        char k[32], v[32];
        int kn = snprintf(k, sizeof k, "k %d", i), vn = snprintf(v, sizeof v, "v,%d", i);
        ASSERT_TRUE(L.tags[i].key.len == (uint32_t)kn && !memcmp(L.tags[i].key.p, k, (size_t)kn));
        ASSERT_TRUE(L.tags[i].value.len == (uint32_t)vn &&
                    !memcmp(L.tags[i].value.p, v, (size_t)vn));
    }
    ASSERT_EQ_INT(L.fields[0].v.s.len, 20000);
    for (uint32_t i = 0; i < 20000; i++)
        ASSERT_TRUE(L.fields[0].v.s.p[i] == '"');
    const char *lo, *hi;
    lp__scratch_range(P, &lo, &hi);
    ASSERT_TRUE(L.tags[0].key.p >= lo && L.tags[0].key.p < hi);
}

TEST(lp_parser_reset_and_null_inputs)
{
    struct lp_parser *p = lp_parser_new(NULL, 0, NULL);
    ASSERT_TRUE(p != NULL);
    ASSERT_EQ_INT(lp_next(p, &L, &E), LP_END);
    lp_parser_reset(p, "m f=1\nm f=2", 11);
    ASSERT_EQ_INT(lp_next(p, &L, &E), LP_LINE);
    lp_parser_reset(p, "x g=\"s\\\"\" 9", 11);
    ASSERT_EQ_INT(lp_next(p, &L, &E), LP_LINE);
    ASSERT_EQ_INT(L.line_no, 1);
    ASSERT_STR(L.fields[0].v.s, "s\"");
    ASSERT_EQ_INT(L.time, 9);
    ASSERT_EQ_INT(lp_next(p, &L, &E), LP_END);
    lp_parser_reset(p, NULL, 5);
    ASSERT_EQ_INT(lp_next(p, &L, &E), LP_END);
    lp_parser_free(p);
    lp_parser_free(NULL);
    ASSERT_EQ_INT(lp_next(NULL, &L, &E), LP_END);
    ASSERT_EQ_STR(lp_field_type_name(LP_FLOAT), "float");
    ASSERT_EQ_STR(lp_field_type_name(LP_INT), "integer");
    ASSERT_EQ_STR(lp_field_type_name(LP_UINT), "unsigned");
    ASSERT_EQ_STR(lp_field_type_name(LP_BOOL), "boolean");
    ASSERT_EQ_STR(lp_field_type_name(LP_STRING), "string");
    ASSERT_EQ_STR(lp_field_type_name((enum lp_field_type)42), "unknown");
}

/* ---- precision --------------------------------------------------------------------- */

static int64_t
ns_of(int64_t t, enum lp_precision prec)
{
    int64_t ns = 0;
    if (lp_time_to_ns(t, prec, &ns) != 0)
        th_fail(__FILE__, __LINE__, "lp_time_to_ns(%lld, %d) failed", (long long)t, (int)prec);
    return ns;
}

TEST(lp_precision_conversion)
{
    ASSERT_EQ_INT(ns_of(7, LP_PREC_NS), 7);
    ASSERT_EQ_INT(ns_of(7, LP_PREC_US), 7000);
    ASSERT_EQ_INT(ns_of(7, LP_PREC_MS), 7000000);
    ASSERT_EQ_INT(ns_of(7, LP_PREC_S), 7000000000LL);
    ASSERT_EQ_INT(ns_of(-7, LP_PREC_S), -7000000000LL);
    ASSERT_EQ_INT(ns_of(INT64_MAX, LP_PREC_NS), INT64_MAX);
    ASSERT_EQ_INT(ns_of(INT64_MIN, LP_PREC_NS), INT64_MIN);
    ASSERT_EQ_INT(ns_of(9223372036LL, LP_PREC_S), 9223372036000000000LL);
    ASSERT_EQ_INT(ns_of(-9223372036LL, LP_PREC_S), -9223372036000000000LL);
    ASSERT_EQ_INT(ns_of(9223372036854775LL, LP_PREC_US), 9223372036854775000LL);
    int64_t ns = 123;
    ASSERT_EQ_INT(lp_time_to_ns(9223372037LL, LP_PREC_S, &ns), -1);
    ASSERT_EQ_INT(lp_time_to_ns(-9223372037LL, LP_PREC_S, &ns), -1);
    ASSERT_EQ_INT(lp_time_to_ns(9223372036855LL, LP_PREC_MS, &ns), -1);
    ASSERT_EQ_INT(lp_time_to_ns(9223372036854776LL, LP_PREC_US, &ns), -1);
    ASSERT_EQ_INT(lp_time_to_ns(INT64_MAX, LP_PREC_US, &ns), -1);
    ASSERT_EQ_INT(lp_time_to_ns(INT64_MIN, LP_PREC_MS, &ns), -1);
    ASSERT_EQ_INT(ns, 123); /* untouched on failure */
    ASSERT_EQ_INT(lp_time_to_ns(1, (enum lp_precision)99, &ns), -1);
    ASSERT_EQ_INT(lp_time_to_ns(1, LP_PREC_NS, NULL), -1);
}

TEST(lp_precision_auto_guesses_from_magnitude)
{
    ASSERT_EQ_INT(ns_of(1700000000LL, LP_PREC_AUTO), 1700000000000000000LL);
    ASSERT_EQ_INT(ns_of(1700000000123LL, LP_PREC_AUTO), 1700000000123000000LL);
    ASSERT_EQ_INT(ns_of(1700000000123456LL, LP_PREC_AUTO), 1700000000123456000LL);
    ASSERT_EQ_INT(ns_of(1700000000123456789LL, LP_PREC_AUTO), 1700000000123456789LL);
    ASSERT_EQ_INT(ns_of(0, LP_PREC_AUTO), 0);
    ASSERT_EQ_INT(ns_of(-1700000000LL, LP_PREC_AUTO), -1700000000000000000LL);
    /* The thresholds: < 5e9 s, < 5e12 ms, < 5e15 us, else ns. */
    ASSERT_EQ_INT(ns_of(4999999999LL, LP_PREC_AUTO), 4999999999000000000LL);
    ASSERT_EQ_INT(ns_of(5000000000LL, LP_PREC_AUTO), 5000000000000000LL);
    ASSERT_EQ_INT(ns_of(4999999999999LL, LP_PREC_AUTO), 4999999999999000000LL);
    ASSERT_EQ_INT(ns_of(5000000000000LL, LP_PREC_AUTO), 5000000000000000LL);
    ASSERT_EQ_INT(ns_of(4999999999999999LL, LP_PREC_AUTO), 4999999999999999000LL);
    ASSERT_EQ_INT(ns_of(5000000000000000LL, LP_PREC_AUTO), 5000000000000000LL);
    ASSERT_EQ_INT(ns_of(-4999999999LL, LP_PREC_AUTO), -4999999999000000000LL);
    ASSERT_EQ_INT(ns_of(INT64_MIN, LP_PREC_AUTO), INT64_MIN);
    ASSERT_EQ_INT(ns_of(INT64_MAX, LP_PREC_AUTO), INT64_MAX);
}

TEST(lp_precision_names)
{
    static const struct {
        const char *s;
        enum lp_precision p;
    } ok[] = {{"n", LP_PREC_NS},          {"ns", LP_PREC_NS},  {"nanosecond", LP_PREC_NS},
              {"u", LP_PREC_US},          {"us", LP_PREC_US},  {"microsecond", LP_PREC_US},
              {"ms", LP_PREC_MS},         {"millisecond", LP_PREC_MS}, {"s", LP_PREC_S},
              {"second", LP_PREC_S},      {"auto", LP_PREC_AUTO}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        enum lp_precision p = LP_PREC_AUTO;
        if (ok[i].p == LP_PREC_AUTO)
            p = LP_PREC_NS;
        ASSERT_EQ_INT(lp_precision_parse(ok[i].s, &p), 0);
        ASSERT_EQ_INT(p, ok[i].p);
    }
    static const char *const bad[] = {"", "NS", "Ns", "sec", "seconds", "m", "h", "ns ", "µs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum lp_precision p = LP_PREC_S;
        ASSERT_EQ_INT(lp_precision_parse(bad[i], &p), -1);
        ASSERT_EQ_INT(p, LP_PREC_S);
    }
    enum lp_precision p;
    ASSERT_EQ_INT(lp_precision_parse(NULL, &p), -1);
    ASSERT_EQ_INT(lp_precision_parse("ns", NULL), -1);
}

/* ---- a TSBS line ------------------------------------------------------------------- */

TEST(lp_tsbs_cpu_line)
{
    const struct lp_line *l = ONE(
        "cpu,hostname=host_0,region=eu-west-1,datacenter=eu-west-1b,rack=89,os=Ubuntu16.10,"
        "arch=x86,team=CHI,service=19,service_version=1,service_environment=test "
        "usage_user=58i,usage_system=2i,usage_idle=24i,usage_nice=61i,usage_iowait=22i,"
        "usage_irq=63i,usage_softirq=6i,usage_steal=44i,usage_guest=80i,usage_guest_nice=38i "
        "1451606400000000000");
    ASSERT_EQ_INT(l->n_tags, 10);
    ASSERT_EQ_INT(l->n_fields, 10);
    ASSERT_STR(l->tags[9].key, "service_environment");
    ASSERT_STR(l->tags[9].value, "test");
    ASSERT_STR(l->fields[9].key, "usage_guest_nice");
    ASSERT_EQ_INT(l->fields[9].v.i, 38);
    ASSERT_EQ_INT(l->time, 1451606400000000000LL);
}

/* ---- number paths: every digit count, block and tail ---------------------------------- */

TEST(lp_numbers_of_every_length)
{
    char text[128], digits[32];
    for (int n = 1; n <= 20; n++) {
        /* 1, 12, 123, ... and 9, 99, 999, ... */
        for (int form = 0; form < 2; form++) {
            for (int i = 0; i < n; i++)
                digits[i] = form ? '9' : (char)('1' + i % 9);
            digits[n] = '\0';
            unsigned long long want = strtoull(digits, NULL, 10);
            bool fits_u64 = n < 20 || strcmp(digits, "18446744073709551615") <= 0;
            bool fits_i64 = n < 19 || (n == 19 && strcmp(digits, "9223372036854775807") <= 0);
            int len = snprintf(text, sizeof text, "m i=%si,u=%su,f=%s %s", fits_i64 ? digits : "1",
                               fits_u64 ? digits : "1", digits, fits_i64 ? digits : "1");
            const struct lp_line *l = one_(__FILE__, __LINE__, text, (size_t)len, NULL);
            if (fits_i64) {
                ASSERT_EQ_INT(l->fields[0].v.i, (long long)want);
                ASSERT_EQ_INT(l->time, (long long)want);
            }
            if (fits_u64)
                ASSERT_EQ_U64(l->fields[1].v.u, want);
            ASSERT_EQ_DBL(l->fields[2].v.f, strtod(digits, NULL));
            /* Negative forms. */
            if (fits_i64) {
                len = snprintf(text, sizeof text, "m i=-%si,f=-%s -%s", digits, digits, digits);
                l = one_(__FILE__, __LINE__, text, (size_t)len, NULL);
                ASSERT_EQ_INT(l->fields[0].v.i, -(long long)want);
                ASSERT_EQ_INT(l->time, -(long long)want);
                ASSERT_EQ_DBL(l->fields[1].v.f, -strtod(digits, NULL));
            }
            /* One bad byte at every position of the number. */
            for (int bad = 0; bad < n; bad++) {
                char d2[32];
                memcpy(d2, digits, (size_t)n + 1);
                d2[bad] = bad % 2 ? '/' : ':'; /* the bytes around '0'..'9' */
                len = snprintf(text, sizeof text, "m i=%si", d2);
                err_(__FILE__, __LINE__, text, (size_t)len, NULL, 1, 5, "invalid value");
                len = snprintf(text, sizeof text, "m f=1 %s", d2);
                err_(__FILE__, __LINE__, text, (size_t)len, NULL, 1, 7, "invalid timestamp");
            }
        }
    }
    /* Floats with long fractions go through the same digit paths. */
    const struct lp_line *l = ONE("m a=12345678.123456789,b=0.0000000000000000001,c=1.5e-7");
    ASSERT_EQ_DBL(l->fields[0].v.f, 12345678.123456789);
    ASSERT_EQ_DBL(l->fields[1].v.f, 1e-19);
    ASSERT_EQ_DBL(l->fields[2].v.f, 1.5e-7);
}

/* ---- the duplicate check with many keys ------------------------------------------------- */

TEST(lp_duplicate_check_many_lines_of_64_keys)
{
    /* With 64 keys some lines pass the Bloom filter only after its exact
     * check; none may be rejected unless a key really repeats. */
    char text[4096];
    unsigned seed = 12345;
    for (int line = 0; line < 400; line++) {
        size_t o = (size_t)snprintf(text, sizeof text, "m");
        int nt = 20;
        int base = line * 1000;
        for (int i = 0; i < 64; i++) {
            seed = seed * 1103515245u + 12345u;
            o += (size_t)snprintf(text + o, sizeof text - o, "%sk%d_%u=%d",
                                  i == 0 ? "," : (i == nt ? " " : ","), base + i, seed % 7, i);
        }
        one_(__FILE__, __LINE__, text, o, NULL);
        ASSERT_EQ_INT(L.n_tags, nt);
        ASSERT_EQ_INT(L.n_fields, 64 - nt);
        /* Repeat the first tag key as the last field key: always caught. */
        char dup[64];
        int dn = snprintf(dup, sizeof dup, ",%.*s=1", (int)L.tags[0].key.len, L.tags[0].key.p);
        memcpy(text + o, dup, (size_t)dn);
        err_(__FILE__, __LINE__, text, o + (size_t)dn, NULL, 1, (uint32_t)o + 2,
             "is both a tag key and a field key");
    }
}

/* ---- out of memory ------------------------------------------------------------------ */

/*
 * OOM torture: parse a batch over and over, failing the k-th allocation the
 * parser makes for k = 1, 2, ... until a pass makes none fail. Every line
 * must come out as in a clean pass, or as an "out of memory" error for that
 * same line, after which the parser goes on.
 */
TEST(lp_out_of_memory_at_every_allocation)
{
    char text[60000];
    size_t o = 0;
    o += (size_t)snprintf(text + o, sizeof text - o, "m,t=a\\ b s=\"x\\\"y\" 1\n");
    o += (size_t)snprintf(text + o, sizeof text - o, "m");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, ",t%d=v%d", i, i);
    o += (size_t)snprintf(text + o, sizeof text - o, " ");
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%sf%d=%d", i ? "," : "", i, i);
    o += (size_t)snprintf(text + o, sizeof text - o, "\nm f=0.");
    for (int i = 0; i < 100; i++)
        text[o++] = '1';
    o += (size_t)snprintf(text + o, sizeof text - o, "\nm,k\\,=v g=2 3\nm f=1,f=2\n");

    /* The clean pass. */
    enum lp_result want[8];
    int n_want = 0;
    struct lp_parser *ref = lp_parser_new(text, o, NULL);
    while ((want[n_want] = lp_next(ref, &L, &E)) != LP_END)
        n_want++;
    lp_parser_free(ref);
    ASSERT_EQ_INT(n_want, 5);
    ASSERT_EQ_INT(want[4], LP_ERROR); /* the duplicate field */

    int n_oom_total = 0;
    for (unsigned k = 1;; k++) {
        struct lp_parser *p = lp_parser_new(text, o, NULL);
        p->alloc_countdown = k;
        int i = 0, n_oom = 0;
        enum lp_result r;
        while ((r = lp_next(p, &L, &E)) != LP_END) {
            ASSERT_TRUE(i < n_want);
            if (r == LP_ERROR && E.code == ST_ENOMEM) {
                ASSERT_EQ_STR(E.msg, "out of memory");
                n_oom++;
            } else {
                ASSERT_EQ_INT(r, want[i]);
            }
            i++;
        }
        ASSERT_EQ_INT(i, n_want);
        lp_parser_free(p);
        n_oom_total += n_oom;
        if (n_oom == 0)
            break;
        ASSERT_TRUE(k < 100);
    }
    /* Scratch, tags, tag positions, fields, field positions (several growths),
     * the duplicate table and the float buffer each failed once. */
    ASSERT_TRUE(n_oom_total >= 8);
}

TEST(lp_generation_counters_wrap)
{
    /* The Bloom filter and the exact table are stamped with per-line
     * generations; when one wraps, the table is cleared and stays correct. */
    char text[8000];
    size_t o = (size_t)snprintf(text, sizeof text, "m a=1,b=2\nm a=1,a=2\nm ");
    for (int i = 0; i < 70; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%sk%d=1", i ? "," : "", i);
    o += (size_t)snprintf(text + o, sizeof text - o, "\nm ");
    for (int i = 0; i < 70; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%sk%d=1", i ? "," : "", i % 69);
    reset_parser(text, o, NULL);
    for (int round = 0; round < 4; round++) {
        /* Round 0 grows the table; the others start at the edge of a wrap. */
        lp_parser_reset(P, text, o);
        if (round > 0)
            P->bloom_gen = (uint16_t)(UINT16_MAX - (round - 1));
        if (round > 0)
            P->dedup_gen = UINT32_MAX - (uint32_t)(round - 1);
        ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
        ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
        ASSERT_CONTAINS(E.msg, "duplicate field key \"a\"");
        ASSERT_EQ_INT(lp_next(P, &L, &E), LP_LINE);
        ASSERT_EQ_INT(L.n_fields, 70);
        ASSERT_EQ_INT(lp_next(P, &L, &E), LP_ERROR);
        ASSERT_CONTAINS(E.msg, "duplicate field key \"k0\"");
        ASSERT_EQ_INT(lp_next(P, &L, &E), LP_END);
    }
    /* A long run of lines through a wrap of the Bloom generation. */
    size_t n = 70000, len = n * 10;
    char *big = malloc(len);
    for (size_t i = 0; i < n; i++)
        memcpy(big + i * 10, "m a=1,b=2\n", 10);
    memcpy(big + (n - 1) * 10, "m b=1,b=2\n", 10);
    reset_parser(big, len, NULL);
    size_t lines = 0, errors = 0;
    enum lp_result r;
    while ((r = lp_next(P, &L, &E)) != LP_END) {
        lines += r == LP_LINE;
        errors += r == LP_ERROR;
    }
    ASSERT_EQ_INT(lines, n - 1);
    ASSERT_EQ_INT(errors, 1);
    lp_parser_free(P);
    P = NULL;
    free(big);
}
