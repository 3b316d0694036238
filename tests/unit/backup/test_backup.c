/*
 * test_backup.c: unit tests of libstrata's backup internals (clients/c/
 * backup_*.c) without a server: the canonical line (escapes in every
 * position, every value type, float round trips in any locale), the row
 * order, the strict parser's acceptance and every refusal, gzip writing
 * (faults: short write, ENOSPC, fsync, rename) and reading (several
 * members, corruption, truncation, trailing bytes, size cap), manifest
 * encoding and every validation rule, SHA256SUMS, table file names, and an
 * offline check of a whole backup directory with edited files.
 * The same code against the real stratad: tests/integration/backup_*.
 */
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th.h"

#include "backup_int.h"
#include "strata/file.h"

static struct st_error E;

/* ---- helpers ---------------------------------------------------------------------- */

/* A schema from "kind:name:type" specs: kind t(ag) / f(ield); type s f i u b. */
static void
schema(struct bk_schema *s, const char *table, const char *const *cols, size_t n)
{
    bk_schema_init(s);
    ASSERT_OK_E(bk_schema_set_table(s, table, strlen(table), &E), &E);
    ASSERT_OK_E(bk_schema_add(s, BK_TIME, "time", 4, ST_TYPE_TIME, -1, &E), &E);
    for (size_t i = 0; i < n; i++) {
        const char *c = cols[i];
        enum bk_kind k = c[0] == 't' ? BK_TAG : BK_FIELD;
        enum st_type t = ST_TYPE_STRING;
        switch (c[2]) {
        case 'f':
            t = ST_TYPE_FLOAT;
            break;
        case 'i':
            t = ST_TYPE_INT;
            break;
        case 'u':
            t = ST_TYPE_UINT;
            break;
        case 'b':
            t = ST_TYPE_BOOL;
            break;
        }
        ASSERT_OK_E(bk_schema_add(s, k, c + 4, strlen(c + 4), t, -1, &E), &E);
    }
    ASSERT_OK_E(bk_schema_finish(s, &E), &E);
}

static void
set_str(struct bk_val *v, const char *s)
{
    v->present = true;
    v->v.s.p = s;
    v->v.s.len = strlen(s);
}

/* Format a row; returns a static copy of the line. */
static const char *
fmt(const struct bk_schema *s, const struct bk_row *r)
{
    static char out[4096];
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    ASSERT_OK_E(bk_row_format(s, r, &b, &E), &E);
    ASSERT_TRUE(b.len < sizeof out);
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    st_buf_cleanup(&b);
    return out;
}

/* Parse one line; returns the status and fills row (values in scratch). */
static enum bk_lp_status
parse(const struct bk_schema *s, const char *line, bool at_eof, struct bk_row *row,
      struct st_buf *scratch, size_t *len)
{
    struct st_buf canon;
    st_buf_init(&canon, SIZE_MAX);
    st_error_clear(&E);
    enum bk_lp_status st =
        bk_lp_parse(s, line, strlen(line), at_eof, row, scratch, &canon, len, &E);
    st_buf_cleanup(&canon);
    return st;
}

static void
write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ_U64(fwrite(p, 1, n, f), n);
    fclose(f);
}

static size_t
read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    ASSERT_TRUE(f != NULL);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* ---- the canonical line ------------------------------------------------------------ */

TEST(line_escapes_every_position)
{
    static const char *const cols[] = {"t:s:t ,=\\k\"", "f:s:f ,=\\s\"", "f:i:n"};
    struct bk_schema s;
    schema(&s, "m ,=\\\"x", cols, 3);
    struct bk_row r;
    ASSERT_OK_E(bk_row_alloc(&r, &s, &E), &E);
    r.time = -5;
    set_str(&r.tags[0], "v ,=\\\"w ✓");
    set_str(&r.fields[0], "a \"q\" \\ b,=\nline2\ttab");
    ASSERT_EQ_STR(fmt(&s, &r), "m\\ \\,=\\\\\"x,t\\ \\,\\=\\\\k\"=v\\ \\,\\=\\\\\"w\\ ✓ "
                               "f\\ \\,\\=\\\\s\"=\"a \\\"q\\\" \\\\ b,=\nline2\ttab\" -5\n");
    /* parse it back: the same values, and it is canonical */
    struct st_buf scratch;
    st_buf_init(&scratch, SIZE_MAX);
    struct bk_row back;
    ASSERT_OK_E(bk_row_alloc(&back, &s, &E), &E);
    size_t len;
    const char *line = fmt(&s, &r);
    ASSERT_EQ_INT(parse(&s, line, true, &back, &scratch, &len), BK_LP_ROW);
    ASSERT_EQ_U64(len, strlen(line));
    ASSERT_EQ_INT(back.time, -5);
    ASSERT_TRUE(back.tags[0].present && !back.fields[1].present);
    ASSERT_EQ_U64(back.tags[0].v.s.len, strlen("v ,=\\\"w ✓"));
    ASSERT_TRUE(memcmp(back.tags[0].v.s.p, "v ,=\\\"w ✓", back.tags[0].v.s.len) == 0);
    ASSERT_TRUE(memcmp(back.fields[0].v.s.p, r.fields[0].v.s.p, r.fields[0].v.s.len) == 0);
    ASSERT_EQ_INT(bk_row_cmp(&s, &r, &back), 0);
    bk_row_free(&r);
    bk_row_free(&back);
    st_buf_cleanup(&scratch);
    bk_schema_cleanup(&s);
}

TEST(line_every_type_sorted_keys_nulls_left_out)
{
    static const char *const cols[] = {"t:s:z", "t:s:a", "f:b:ok", "f:u:n",
                                       "f:i:c", "f:f:b", "f:s:s",  "f:f:gone"};
    struct bk_schema s;
    schema(&s, "cpu", cols, 8);
    struct bk_row r;
    ASSERT_OK_E(bk_row_alloc(&r, &s, &E), &E);
    r.time = 1700000000000000000;
    set_str(&r.tags[bk_schema_tag(&s, "z", 1)], "1");
    r.fields[bk_schema_field(&s, "ok", 2)] = (struct bk_val){.present = true, .v.b = false};
    r.fields[bk_schema_field(&s, "n", 1)] =
        (struct bk_val){.present = true, .v.u = 18446744073709551615u};
    r.fields[bk_schema_field(&s, "c", 1)] = (struct bk_val){.present = true, .v.i = INT64_MIN};
    r.fields[bk_schema_field(&s, "b", 1)] = (struct bk_val){.present = true, .v.f = -0.0};
    set_str(&r.fields[bk_schema_field(&s, "s", 1)], "");
    ASSERT_EQ_STR(fmt(&s, &r), "cpu,z=1 b=-0,c=-9223372036854775808i,"
                               "n=18446744073709551615u,ok=false,s=\"\" 1700000000000000000\n");
    bk_row_free(&r);
    bk_schema_cleanup(&s);
}

TEST(line_refuses_what_line_protocol_cannot_carry)
{
    static const char *const cols[] = {"t:s:t", "f:f:v"};
    struct bk_schema s;
    schema(&s, "m", cols, 2);
    struct bk_row r;
    ASSERT_OK_E(bk_row_alloc(&r, &s, &E), &E);
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    ASSERT_CODE(bk_row_format(&s, &r, &b, &E), ST_ECORRUPT); /* no field */
    ASSERT_CONTAINS(E.msg, "no field values");
    r.fields[0] = (struct bk_val){.present = true, .v.f = NAN};
    ASSERT_CODE(bk_row_format(&s, &r, &b, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "NaN");
    r.fields[0].v.f = -INFINITY;
    ASSERT_CODE(bk_row_format(&s, &r, &b, &E), ST_ECORRUPT);
    r.fields[0].v.f = 1;
    set_str(&r.tags[0], "ends\\");
    ASSERT_CODE(bk_row_format(&s, &r, &b, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "backslash");
    set_str(&r.tags[0], "");
    ASSERT_CODE(bk_row_format(&s, &r, &b, &E), ST_ECORRUPT);
    ASSERT_EQ_U64(b.len, 0); /* nothing half-written */
    st_buf_cleanup(&b);
    bk_row_free(&r);
    bk_schema_cleanup(&s);
}

TEST(floats_round_trip_exactly_in_any_locale)
{
    static const double v[] = {0.1,
                               0.30000000000000004,
                               -0.0,
                               0.0,
                               5e-324,
                               DBL_MIN,
                               DBL_MAX,
                               -DBL_MAX,
                               1.0 / 3,
                               1e21,
                               1e-7,
                               123456789012345678.0,
                               9007199254740993.0,
                               2.5,
                               -1e300,
                               4.35,
                               0.1 + 0.7,
                               1e15 + 0.3};
    /* a locale with a decimal comma, when installed, must not leak in */
    setlocale(LC_NUMERIC, "de_DE.UTF-8");
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char buf[40];
        size_t n = bk_format_float(v[i], buf, sizeof buf);
        ASSERT_EQ_U64(n, strlen(buf));
        ASSERT_TRUE(strchr(buf, ',') == NULL);
        double back;
        ASSERT_TRUE(bk_parse_float(buf, n, &back));
        ASSERT_TRUE(memcmp(&back, &v[i], sizeof back) == 0);
    }
    char buf[40];
    bk_format_float(0.1, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "0.1");
    bk_format_float(1e21, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "1e+21");
    bk_format_float(-0.0, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "-0");
    double d;
    ASSERT_FALSE(bk_parse_float("1.5x", 4, &d));
    ASSERT_FALSE(bk_parse_float("", 0, &d));
    setlocale(LC_NUMERIC, "C");
}

TEST(float_fast_path_is_printf_exactly)
{
    /* short decimals of every magnitude, near the edges of the fast path, and
     * arbitrary bit patterns: the fast text is always the %.15g..17g text */
    uint64_t x = 88172645463325252ull;
    char a[48], b[48];
    size_t checked = 0;
    for (int i = 0; i < 400000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        switch (i % 4) {
        case 0: { /* n / 10^k */
            static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
            d = (double)(int64_t)(x % 2000000000000ull - 1000000000000ull) / p10[(x >> 50) % 10];
            break;
        }
        case 1: /* any finite double */
            memcpy(&d, &x, sizeof d);
            if (!isfinite(d)) continue;
            break;
        case 2: /* around the limits 1e-4 and 1e15 */
            d = ((x >> 40) & 1 ? 1e15 : 1e-4) * (1 + ((double)(x % 2001) - 1000) * 1e-16);
            break;
        default: /* two-digit money-like values */
            d = (double)(x % 100000) / 100.0 * ((x >> 60) & 1 ? -1 : 1);
            break;
        }
        size_t na = bk_format_float(d, a, sizeof a), nb = bk_format_float_printf(d, b, sizeof b);
        if (na != nb || strcmp(a, b) != 0)
            th_fail(__FILE__, __LINE__, "%.17g: fast \"%s\", printf \"%s\"", d, a, b);
        checked++;
    }
    ASSERT_TRUE(checked > 350000);
    /* and reading: the fast decimal path agrees with strtod bit for bit */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char t[40];
        int digits = 1 + (int)(x % 17), dot = (int)((x >> 8) % (unsigned)(digits + 1));
        size_t k = 0;
        if ((x >> 20) & 1) t[k++] = '-';
        uint64_t y = x;
        for (int j = 0; j < digits; j++) {
            if (j == dot && j > 0) t[k++] = '.';
            t[k++] = (char)('0' + y % 10);
            y = y / 10 ^ (y << 7);
        }
        t[k] = '\0';
        double fast, slow = strtod(t, NULL);
        ASSERT_TRUE(bk_parse_float(t, k, &fast));
        if (memcmp(&fast, &slow, sizeof fast) != 0)
            th_fail(__FILE__, __LINE__, "\"%s\": %.17g, strtod %.17g", t, fast, slow);
    }
    static const double edge[] = {1e-4,
                                  0.00011,
                                  999999999999999.0,
                                  999999999999999.9,
                                  1e15,
                                  -0.0,
                                  0.0,
                                  123456789012345.0,
                                  0.1,
                                  0.5,
                                  100,
                                  -2.5e-5};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        bk_format_float(edge[i], a, sizeof a);
        bk_format_float_printf(edge[i], b, sizeof b);
        ASSERT_EQ_STR(a, b);
    }
}

/* ---- order ------------------------------------------------------------------------ */

TEST(order_time_then_tags_absent_first_bytewise)
{
    static const char *const cols[] = {"t:s:b", "t:s:a", "f:i:v"};
    struct bk_schema s;
    schema(&s, "m", cols, 3);
    struct bk_row x, y;
    ASSERT_OK_E(bk_row_alloc(&x, &s, &E), &E);
    ASSERT_OK_E(bk_row_alloc(&y, &s, &E), &E);
    x.time = y.time = 10;
    ASSERT_EQ_INT(bk_row_cmp(&s, &x, &y), 0);
    set_str(&y.tags[0], "z"); /* tag a: absent < "z" */
    ASSERT_TRUE(bk_row_cmp(&s, &x, &y) < 0);
    set_str(&x.tags[0], "y");
    ASSERT_TRUE(bk_row_cmp(&s, &x, &y) < 0);
    set_str(&x.tags[0], "z");
    set_str(&x.tags[1], "a"); /* tag b decides: "a" > absent */
    ASSERT_TRUE(bk_row_cmp(&s, &x, &y) > 0);
    set_str(&y.tags[1], "ab");
    ASSERT_TRUE(bk_row_cmp(&s, &x, &y) < 0); /* shorter first */
    set_str(&y.tags[1], "\xc3\xbc");
    ASSERT_TRUE(bk_row_cmp(&s, &x, &y) < 0); /* bytewise: 'a' < 0xc3 */
    y.time = 9;
    ASSERT_TRUE(bk_row_cmp(&s, &x, &y) > 0); /* time first */

    /* keys */
    struct bk_key k;
    bk_key_init(&k);
    ASSERT_OK_E(bk_key_set(&k, &s, &y, &E), &E);
    ASSERT_EQ_INT(bk_key_cmp(&k, &s, &y), 0);
    ASSERT_TRUE(bk_key_cmp(&k, &s, &x) < 0);
    bk_key_cleanup(&k);

    /* across schemas: tags matched by name */
    static const char *const cols2[] = {"t:s:a", "t:s:c", "f:i:v"};
    struct bk_schema s2;
    schema(&s2, "m", cols2, 3);
    struct bk_row z;
    ASSERT_OK_E(bk_row_alloc(&z, &s2, &E), &E);
    z.time = 10;
    set_str(&z.tags[0], "z");                      /* a=z, like x */
    ASSERT_TRUE(bk_row_cmp2(&s, &x, &s2, &z) > 0); /* x has b=a, z none */
    set_str(&z.tags[1], "c");
    x.tags[1].present = false;
    ASSERT_TRUE(bk_row_cmp2(&s, &x, &s2, &z) < 0); /* z has c=c, x none */
    z.tags[1].present = false;
    ASSERT_EQ_INT(bk_row_cmp2(&s, &x, &s2, &z), 0);
    bk_row_free(&x);
    bk_row_free(&y);
    bk_row_free(&z);
    bk_schema_cleanup(&s);
    bk_schema_cleanup(&s2);
}

/* ---- the strict parser ------------------------------------------------------------- */

TEST(parser_refuses_every_non_canonical_or_foreign_line)
{
    static const char *const cols[] = {"t:s:a", "t:s:b", "f:f:x", "f:i:y",
                                       "f:b:z", "f:s:s", "f:u:u"};
    struct bk_schema s;
    schema(&s, "m", cols, 7);
    struct bk_row r;
    ASSERT_OK_E(bk_row_alloc(&r, &s, &E), &E);
    struct st_buf scratch;
    st_buf_init(&scratch, SIZE_MAX);
    size_t len;
    static const struct {
        const char *line, *msg;
    } bad[] = {
        {"m,b=1,a=2 x=1 5\n", "canonical"}, /* tags out of order */
        {"m y=1i,x=1 5\n", "canonical"},    /* fields out of order */
        {"m x=1.50 5\n", "canonical"},      /* not the shortest float */
        {"m x=1e2 5\n", "canonical"},       /* %g writes 100 */
        {"m z=t 5\n", "boolean"},           /* only true / false */
        {"m z=True 5\n", "boolean"},
        {"m x=1i 5\n", "float"}, /* wrong type */
        {"m y=1 5\n", "integer"},
        {"m u=-1u 5\n", "unsigned"},
        {"m u=18446744073709551616u 5\n", "unsigned"},
        {"m y=9223372036854775808i 5\n", "integer"},
        {"m x=nan 5\n", "float"},
        {"m x=0x10 5\n", "float"},
        {"m s=abc 5\n", "quoted"},
        {"m x=1\n", "expected ','"}, /* no timestamp */
        {"m x=1 5 6\n", "timestamp"},
        {"m x=1  5\n", "timestamp"}, /* two spaces */
        {"m x=1 5 \n", "timestamp"},
        {"m x=1 99999999999999999999\n", "timestamp"},
        {"m,c=1 x=1 5\n", "not a tag column"},
        {"m w=1 5\n", "not a field column"},
        {"m,a=1,a=1 x=1 5\n", "twice"},
        {"m x=1,x=1 5\n", "twice"},
        {"n x=1 5\n", "not the table"},
        {"m 5\n", "missing '='"},
        {"m\n", "missing field set"},
        {"m,a x=1 5\n", "missing '='"},
        {"m x=1;y=2i 5\n", "float"},
        {"m,a=\\x x=1 5\n", "canonical"}, /* a needless escape */
        {"m,a=a=b x=1 5\n", "canonical"}, /* '=' in a tag value is escaped */
        {"m s=\"a\"b 5\n", "expected ','"},
        {"m\\ x=1 5\n", "not the table"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum bk_lp_status st = parse(&s, bad[i].line, true, &r, &scratch, &len);
        if (st != BK_LP_ERROR) th_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i].line);
        if (!strstr(E.msg, bad[i].msg))
            th_fail(__FILE__, __LINE__, "\"%s\": message \"%s\" lacks \"%s\"", bad[i].line, E.msg,
                    bad[i].msg);
        ASSERT_EQ_INT(E.code, ST_ECORRUPT);
        ASSERT_TRUE(E.offset >= 0 && (size_t)E.offset <= strlen(bad[i].line));
    }
    /* and accepts the canonical forms */
    static const char *const good[] = {
        "m x=1 5\n",
        "m,a=1,b=2 s=\"\",u=0u,x=-0.25,y=-7i,z=true -5\n",
        "m s=\"multi\nline \\\"q\\\"\" 0\n",
        "m,b=\\ \\,\\=\\\\x x=1e+300 9223372036854775807\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        enum bk_lp_status st = parse(&s, good[i], true, &r, &scratch, &len);
        if (st != BK_LP_ROW) th_fail(__FILE__, __LINE__, "refused \"%s\": %s", good[i], E.msg);
        ASSERT_EQ_U64(len, strlen(good[i]));
    }
    bk_row_free(&r);
    st_buf_cleanup(&scratch);
    bk_schema_cleanup(&s);
}

TEST(parser_asks_for_more_until_the_end_of_input)
{
    static const char *const cols[] = {"t:s:a", "f:s:s"};
    struct bk_schema s;
    schema(&s, "m", cols, 2);
    struct bk_row r;
    ASSERT_OK_E(bk_row_alloc(&r, &s, &E), &E);
    struct st_buf scratch;
    st_buf_init(&scratch, SIZE_MAX);
    size_t len;
    const char *full = "m,a=x\\ y s=\"one\ntwo\\\\\" 123\n";
    /* every proper prefix needs more, and is an error at the end of the file */
    for (size_t n = 0; n < strlen(full); n++) {
        char part[64];
        memcpy(part, full, n);
        part[n] = '\0';
        ASSERT_EQ_INT(parse(&s, part, false, &r, &scratch, &len), BK_LP_MORE);
        ASSERT_EQ_INT(parse(&s, part, true, &r, &scratch, &len), BK_LP_ERROR);
    }
    ASSERT_EQ_INT(parse(&s, full, false, &r, &scratch, &len), BK_LP_ROW);
    /* a second line after it is not consumed */
    char two[128];
    snprintf(two, sizeof two, "%sm s=\"z\" 124\n", full);
    ASSERT_EQ_INT(parse(&s, two, false, &r, &scratch, &len), BK_LP_ROW);
    ASSERT_EQ_U64(len, strlen(full));
    bk_row_free(&r);
    st_buf_cleanup(&scratch);
    bk_schema_cleanup(&s);
}

TEST(parser_refuses_a_line_over_64_mib)
{
    static const char *const cols[] = {"f:s:s"};
    struct bk_schema s;
    schema(&s, "m", cols, 1);
    struct bk_row r;
    ASSERT_OK_E(bk_row_alloc(&r, &s, &E), &E);
    struct st_buf scratch, canon;
    st_buf_init(&scratch, SIZE_MAX);
    st_buf_init(&canon, SIZE_MAX);
    size_t n = BK_MAX_LINE + 100, len;
    char *big = malloc(n);
    ASSERT_TRUE(big != NULL);
    memset(big, 'a', n);
    memcpy(big, "m s=\"", 5);
    big[n - 4] = '"';
    memcpy(big + n - 3, " 1\n", 3);
    ASSERT_EQ_INT(bk_lp_parse(&s, big, n, true, &r, &scratch, &canon, &len, &E), BK_LP_ERROR);
    ASSERT_CONTAINS(E.msg, "longer than 64 MiB");
    ASSERT_EQ_INT(E.offset, (int64_t)BK_MAX_LINE);
    /* not more input: the same answer before the end of the file */
    ASSERT_EQ_INT(bk_lp_parse(&s, big, n, false, &r, &scratch, &canon, &len, &E), BK_LP_ERROR);
    free(big);
    st_buf_cleanup(&scratch);
    st_buf_cleanup(&canon);
    bk_row_free(&r);
    bk_schema_cleanup(&s);
}

/* ---- gzip files -------------------------------------------------------------------- */

static void
gz_write(const char *dir, const char *name, const char *text, char raw_sha[BK_SHA256_HEX],
         char file_sha[BK_SHA256_HEX], uint64_t *file_bytes)
{
    struct bk_gzw *w = bk_gzw_open(dir, name, 6, &E);
    ASSERT_TRUE(w != NULL);
    ASSERT_OK_E(bk_gzw_write(w, text, strlen(text), &E), &E);
    uint64_t raw;
    ASSERT_OK_E(bk_gzw_finish(w, &raw, raw_sha, file_bytes, file_sha, &E), &E);
    ASSERT_EQ_U64(raw, strlen(text));
}

/* Read a gzip file whole; returns the code; text in out. */
static enum st_code
gz_read(const char *path, uint64_t max, char *out, size_t cap, size_t *n)
{
    struct bk_gzr *r = bk_gzr_open(path, max, &E);
    if (!r) return E.code;
    *n = 0;
    enum st_code rc;
    for (;;) {
        size_t got;
        rc = bk_gzr_read(r, out + *n, cap - *n, &got, &E);
        if (rc != ST_OK || got == 0) break;
        *n += got;
    }
    bk_gzr_close(r);
    return rc;
}

TEST(gzip_round_trip_members_and_damage)
{
    char rs[BK_SHA256_HEX], fs[BK_SHA256_HEX], fs2[BK_SHA256_HEX], buf[4096], gz[8192];
    uint64_t fb;
    gz_write(th_tmpdir(), "a.lp.gz", "hello\nworld\n", rs, fs, &fb);
    char want[BK_SHA256_HEX];
    bk_sha256_hex("hello\nworld\n", 12, want);
    ASSERT_EQ_STR(rs, want);
    size_t gn = read_file(th_path("a.lp.gz"), gz, sizeof gz);
    ASSERT_EQ_U64(gn, fb);
    bk_sha256_hex(gz, gn, want);
    ASSERT_EQ_STR(fs, want);
    ASSERT_TRUE(access(th_path(".a.lp.gz.tmp"), F_OK) != 0); /* renamed away */
    /* the same text gives the same bytes */
    gz_write(th_tmpdir(), "b.lp.gz", "hello\nworld\n", rs, fs2, &fb);
    ASSERT_EQ_STR(fs, fs2);

    size_t n = 0;
    ASSERT_OK(gz_read(th_path("a.lp.gz"), 100, buf, sizeof buf, &n));
    ASSERT_EQ_U64(n, 12);
    ASSERT_TRUE(memcmp(buf, "hello\nworld\n", 12) == 0);

    /* two members, as `cat a.gz b.gz` makes */
    char two[16384];
    memcpy(two, gz, gn);
    memcpy(two + gn, gz, gn);
    write_file(th_path("two.gz"), two, 2 * gn);
    ASSERT_OK(gz_read(th_path("two.gz"), 100, buf, sizeof buf, &n));
    ASSERT_EQ_U64(n, 24);

    /* more than the manifest announces */
    ASSERT_CODE(gz_read(th_path("two.gz"), 20, buf, sizeof buf, &n), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "more than the 20 bytes");

    /* trailing bytes after the last member */
    memcpy(two + gn, "junk", 4);
    write_file(th_path("trail.gz"), two, gn + 4);
    ASSERT_CODE(gz_read(th_path("trail.gz"), 100, buf, sizeof buf, &n), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "corrupt gzip data");

    /* truncated */
    write_file(th_path("short.gz"), gz, gn - 3);
    ASSERT_CODE(gz_read(th_path("short.gz"), 100, buf, sizeof buf, &n), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "ends inside a gzip member");

    /* a flipped byte anywhere is refused, or (padding bits, header fields gzip
     * ignores) reads back the same text: never different text (the file's
     * SHA-256 in the manifest catches the rest) */
    for (size_t i = 0; i < gn; i++) {
        memcpy(two, gz, gn);
        two[i] ^= 0x20;
        write_file(th_path("flip.gz"), two, gn);
        enum st_code rc = gz_read(th_path("flip.gz"), 100, buf, sizeof buf, &n);
        if (rc == ST_OK && (n != 12 || memcmp(buf, "hello\nworld\n", 12) != 0))
            th_fail(__FILE__, __LINE__, "flipped byte %zu of %zu read back as other text", i, gn);
    }

    /* empty, missing, not gzip */
    write_file(th_path("empty.gz"), "", 0);
    ASSERT_CODE(gz_read(th_path("empty.gz"), 100, buf, sizeof buf, &n), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "empty");
    ASSERT_CODE(gz_read(th_path("missing.gz"), 100, buf, sizeof buf, &n), ST_EIO);
    write_file(th_path("text.gz"), "hello\n", 6);
    ASSERT_CODE(gz_read(th_path("text.gz"), 100, buf, sizeof buf, &n), ST_ECORRUPT);
}

TEST(gzip_writer_faults_leave_no_file)
{
    static const struct st_fault faults[] = {
        {.op = ST_FAULT_WRITE, .err = ENOSPC, .path_substr = ".f.lp.gz.tmp"},
        {.op = ST_FAULT_WRITE, .err = EIO, .short_bytes = 3, .path_substr = ".f.lp.gz.tmp"},
        {.op = ST_FAULT_FSYNC, .err = EIO, .path_substr = ".f.lp.gz.tmp"},
        {.op = ST_FAULT_RENAME, .err = EIO},
        {.op = ST_FAULT_OPEN, .err = EACCES, .path_substr = ".f.lp.gz.tmp"},
    };
    char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    big[sizeof big - 1] = '\0';
    for (size_t k = 0; k < sizeof faults / sizeof faults[0]; k++) {
        st_fault_arm(&faults[k]);
        struct bk_gzw *w = bk_gzw_open(th_tmpdir(), "f.lp.gz", 1, &E);
        enum st_code rc = w ? ST_OK : E.code;
        if (w) {
            rc = bk_gzw_write(w, big, strlen(big), &E);
            if (rc == ST_OK) {
                char a[BK_SHA256_HEX], b[BK_SHA256_HEX];
                uint64_t x, y;
                rc = bk_gzw_finish(w, &x, a, &y, b, &E);
            } else {
                bk_gzw_abort(w);
            }
        }
        st_fault_disarm();
        if (rc == ST_OK) th_fail(__FILE__, __LINE__, "fault %zu did not fail the write", k);
        ASSERT_EQ_INT(rc, ST_EIO);
        ASSERT_TRUE(E.msg[0] != '\0');
        ASSERT_TRUE(access(th_path(".f.lp.gz.tmp"), F_OK) != 0);
        ASSERT_TRUE(access(th_path("f.lp.gz"), F_OK) != 0);
    }
}

/* ---- names ------------------------------------------------------------------------- */

TEST(table_file_names_are_safe_and_distinct)
{
    char *a = bk_table_file_name("cpu");
    ASSERT_EQ_STR(a, "cpu.lp.gz");
    free(a);
    static const char *const odd[] = {"../etc/passwd", ".hidden", "a/b", "a b",
                                      "A B",           "ü",       "x~y", "\"m,x y\""};
    char *names[8];
    for (size_t i = 0; i < 8; i++) {
        names[i] = bk_table_file_name(odd[i]);
        ASSERT_TRUE(bk_file_name_ok(names[i]));
        ASSERT_TRUE(strchr(names[i], '/') == NULL && names[i][0] != '.');
        for (size_t k = 0; k < i; k++)
            ASSERT_TRUE(strcmp(names[i], names[k]) != 0);
    }
    for (size_t i = 0; i < 8; i++)
        free(names[i]);
    char longname[600];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char *l = bk_table_file_name(longname);
    ASSERT_TRUE(bk_file_name_ok(l) && strlen(l) < 120);
    free(l);
    static const char *const refused[] = {"../x.lp.gz", "a/b.lp.gz", ".x.lp.gz",
                                          "x.lp",       "x.lp.gz/",  "",
                                          ".lp.gz",     "x y.lp.gz", "x\n.lp.gz"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (bk_file_name_ok(refused[i]))
            th_fail(__FILE__, __LINE__, "accepted file name \"%s\"", refused[i]);
}

/* ---- manifest ---------------------------------------------------------------------- */

static void
sample_manifest(struct bk_manifest *m)
{
    bk_manifest_init(m);
    m->database = strdup("db");
    m->client_version = strdup("0.1.0");
    m->server = strdup("127.0.0.1:1");
    m->created_at_ns = 1700000000123456789;
    m->all_tables = true;
    struct bk_mtable t = {0};
    t.name = strdup("cpu ✓");
    t.file = bk_table_file_name("cpu ✓");
    t.rows = 2;
    t.has_range = true;
    t.time_min_ns = -5;
    t.time_max_ns = 7;
    t.n_cols = 3;
    t.cols = calloc(3, sizeof *t.cols);
    t.cols[0] = (struct bk_mcol){strdup("time"), BK_TIME, ST_TYPE_TIME, 2};
    t.cols[1] = (struct bk_mcol){strdup("host"), BK_TAG, ST_TYPE_STRING, 1};
    t.cols[2] = (struct bk_mcol){strdup("v"), BK_FIELD, ST_TYPE_UINT, 2};
    t.lp_bytes = 40;
    t.file_bytes = 60;
    memset(t.content_sha256, 'a', 64);
    memset(t.file_sha256, 'b', 64);
    ASSERT_OK_E(bk_manifest_add(m, &t, &E), &E);
    struct bk_mtable e = {0};
    e.name = strdup("empty");
    e.file = strdup("empty.lp.gz");
    e.n_cols = 2;
    e.cols = calloc(2, sizeof *e.cols);
    e.cols[0] = (struct bk_mcol){strdup("time"), BK_TIME, ST_TYPE_TIME, 0};
    e.cols[1] = (struct bk_mcol){strdup("f"), BK_FIELD, ST_TYPE_BOOL, 0};
    e.file_bytes = 20;
    memset(e.content_sha256, 'c', 64);
    memset(e.file_sha256, 'd', 64);
    ASSERT_OK_E(bk_manifest_add(m, &e, &E), &E);
}

TEST(manifest_round_trip)
{
    struct bk_manifest m, back;
    sample_manifest(&m);
    char *text;
    size_t len;
    ASSERT_OK_E(bk_manifest_encode(&m, &text, &len, &E), &E);
    ASSERT_CONTAINS(text, "\"created_at\": \"2023-11-14T22:13:20.123456789Z\"");
    ASSERT_CONTAINS(text, "\"time_min_ns\": null");
    ASSERT_OK_E(bk_manifest_decode(text, len, &back, &E), &E);
    ASSERT_EQ_STR(back.database, "db");
    ASSERT_EQ_INT(back.created_at_ns, 1700000000123456789);
    ASSERT_EQ_INT(back.n_tables, 2);
    ASSERT_EQ_STR(back.tables[0].name, "cpu ✓");
    ASSERT_EQ_INT(back.tables[0].time_min_ns, -5);
    ASSERT_EQ_INT(back.tables[0].cols[2].type, ST_TYPE_UINT);
    ASSERT_FALSE(back.tables[1].has_range);
    char *again;
    size_t len2;
    ASSERT_OK_E(bk_manifest_encode(&back, &again, &len2, &E), &E);
    ASSERT_EQ_STR(again, text); /* encode(decode(x)) == x */
    free(text);
    free(again);
    bk_manifest_cleanup(&m);
    bk_manifest_cleanup(&back);
}

/* Replace the first `from` in the sample manifest's text by `to` and decode. */
static enum st_code
decode_edited(const char *from, const char *to)
{
    struct bk_manifest m, back;
    sample_manifest(&m);
    char *text;
    size_t len;
    ASSERT_OK_E(bk_manifest_encode(&m, &text, &len, &E), &E);
    bk_manifest_cleanup(&m);
    char *at = strstr(text, from);
    if (!at) th_fail(__FILE__, __LINE__, "no \"%s\" in the manifest", from);
    char edited[16384];
    snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    free(text);
    enum st_code rc = bk_manifest_decode(edited, strlen(edited), &back, &E);
    bk_manifest_cleanup(&back);
    return rc;
}

TEST(manifest_validation_refuses_each_bad_value)
{
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"\"strata-backup\"", "\"other\"", "not a Strata backup"},
        {"\"format_version\": 1", "\"format_version\": 0", "format_version"},
        {"\"database\": \"db\"", "\"database\": \"\"", "database"},
        {"\"database\": \"db\"", "\"database\": 5", "database"},
        {"\"all_tables\": true", "\"all_tables\": 1", "all_tables"},
        {"\"file\": \"cpu", "\"file\": \"../cpu", "file"},
        {"\"empty.lp.gz\"", "\"empty.txt\"", "file"},
        {"\"empty.lp.gz\"", "\"/etc/passwd.lp.gz\"", "file"},
        {"\"rows\": 2", "\"rows\": -2", "rows"},
        {"\"rows\": 2", "\"rows\": \"2\"", "rows"},
        {"\"time_min_ns\": -5", "\"time_min_ns\": 8", "time range"},
        {"\"time_min_ns\": -5", "\"time_min_ns\": null", "time range"},
        {"\"time_min_ns\": null", "\"time_min_ns\": 1", "null time range"},
        {"\"aaaa", "\"Aaaa", "content_sha256"},
        {"\"bbbb", "\"bbb", "file_sha256"},
        {"\"file_bytes\": 20", "\"file_bytes\": 0", "file_bytes"},
        {"\"kind\": \"tag\"", "\"kind\": \"label\"", "kind"},
        {"\"values\": 1", "\"values\": 3", "values"}, /* more values than rows */
        {"\"values\": 1", "\"values\": -1", "values"},
        {"\"kind\": \"tag\"", "\"kind\": \"time\"", "kind"},
        {"\"type\": \"unsigned\"", "\"type\": \"uint64\"", "column"},
        {"\"name\": \"host\"", "\"name\": \"time\"", "time column"},
        {"\"name\": \"v\"", "\"name\": \"host\"", "both a tag and a field"},
        {"\"name\": \"empty\"", "\"name\": \"cpu ✓\"", "listed twice"},
        {"\"tables\": [", "\"tables\": 5, \"x\": [", "tables"},
        {"\"format\":", "\"format\" 1", "line 2"}, /* malformed JSON: its position */
        {"\"server\"", "\"database\": \"x\", \"server\"", "duplicate"},
        {"\"columns\": [", "\"columns\": [], \"c\": [", "columns"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum st_code rc = decode_edited(cases[i].from, cases[i].to);
        if (rc == ST_OK)
            th_fail(__FILE__, __LINE__, "accepted %s -> %s", cases[i].from, cases[i].to);
        ASSERT_EQ_INT(rc, ST_ECORRUPT);
        if (!strstr(E.msg, cases[i].msg))
            th_fail(__FILE__, __LINE__, "%s -> %s: message \"%s\" lacks \"%s\"", cases[i].from,
                    cases[i].to, E.msg, cases[i].msg);
    }
    struct bk_manifest m;
    ASSERT_CODE(bk_manifest_decode("[1]", 3, &m, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "not an object");
    ASSERT_CODE(bk_manifest_decode("", 0, &m, &E), ST_ECORRUPT);
    char *same = bk_table_file_name("cpu ✓"), to[300];
    snprintf(to, sizeof to, "\"file\": \"%s\"", same);
    free(same);
    ASSERT_CODE(decode_edited("\"file\": \"empty.lp.gz\"", to), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "same file");
    ASSERT_CODE(decode_edited("\"format_version\": 1", "\"format_version\": 2"), ST_EUNSUPPORTED);
    ASSERT_CONTAINS(E.msg, "newer strata");
    /* unknown keys are ignored */
    ASSERT_OK_E(decode_edited("\"server_version\": null", "\"server_version\": \"9\", \"new\": 1"),
                &E);
}

TEST(sha256sums_lines)
{
    struct bk_manifest m;
    sample_manifest(&m);
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    char sha[BK_SHA256_HEX];
    memset(sha, 'e', 64);
    sha[64] = '\0';
    ASSERT_OK_E(bk_sums_encode(&m, sha, &b, &E), &E);
    bool found;
    char hex[BK_SHA256_HEX];
    ASSERT_OK_E(bk_sums_find((const char *)b.data, b.len, "manifest.json", &found, hex, &E), &E);
    ASSERT_TRUE(found);
    ASSERT_EQ_STR(hex, sha);
    ASSERT_OK_E(bk_sums_find((const char *)b.data, b.len, "empty.lp.gz", &found, hex, &E), &E);
    ASSERT_TRUE(found);
    ASSERT_EQ_STR(hex, m.tables[1].file_sha256);
    ASSERT_OK_E(bk_sums_find((const char *)b.data, b.len, "nope.lp.gz", &found, hex, &E), &E);
    ASSERT_FALSE(found);
    ASSERT_CODE(bk_sums_find("abc  x\n", 7, "x", &found, hex, &E), ST_ECORRUPT);
    st_buf_cleanup(&b);
    bk_manifest_cleanup(&m);
}

/* ---- a whole backup directory, offline --------------------------------------------- */

struct diffs {
    int n;
    char last[1024];
};

static void
on_diff(const struct strata_backup_diff *d, void *arg)
{
    struct diffs *x = arg;
    x->n++;
    snprintf(x->last, sizeof x->last, "%s: %s: %s", d->table ? d->table : "-", d->what, d->message);
}

/* A one-table backup in th_tmpdir()/b with the given lines. */
static void
make_backup(const char *text, uint64_t rows, int64_t lo, int64_t hi)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", th_path("b"));
    mkdir(dir, 0700);
    struct bk_manifest m;
    bk_manifest_init(&m);
    m.database = strdup("db");
    m.client_version = strdup("t");
    m.server = strdup("");
    m.all_tables = true;
    struct bk_mtable t = {0};
    t.name = strdup("m");
    t.file = strdup("m.lp.gz");
    t.rows = rows;
    t.has_range = rows > 0;
    t.time_min_ns = lo;
    t.time_max_ns = hi;
    t.n_cols = 3;
    t.cols = calloc(3, sizeof *t.cols);
    uint64_t h = 0; /* rows with the tag h */
    for (const char *q = text; (q = strstr(q, "m,h=")) != NULL; q++)
        h++;
    t.cols[0] = (struct bk_mcol){strdup("time"), BK_TIME, ST_TYPE_TIME, rows};
    t.cols[1] = (struct bk_mcol){strdup("h"), BK_TAG, ST_TYPE_STRING, h};
    t.cols[2] = (struct bk_mcol){strdup("v"), BK_FIELD, ST_TYPE_INT, rows};
    gz_write(dir, "m.lp.gz", text, t.content_sha256, t.file_sha256, &t.file_bytes);
    t.lp_bytes = strlen(text);
    ASSERT_OK_E(bk_manifest_add(&m, &t, &E), &E);
    char *mt;
    size_t ml;
    ASSERT_OK_E(bk_manifest_encode(&m, &mt, &ml, &E), &E);
    write_file(th_path("b/manifest.json"), mt, ml);
    char sha[BK_SHA256_HEX];
    bk_sha256_hex(mt, ml, sha);
    struct st_buf sums;
    st_buf_init(&sums, SIZE_MAX);
    ASSERT_OK_E(bk_sums_encode(&m, sha, &sums, &E), &E);
    write_file(th_path("b/SHA256SUMS"), sums.data, sums.len);
    st_buf_cleanup(&sums);
    free(mt);
    bk_manifest_cleanup(&m);
}

static enum st_code
verify_offline(struct diffs *d)
{
    memset(d, 0, sizeof *d);
    struct strata_verify_opts o = {
        .dir = th_path("b"), .offline = true, .diff = on_diff, .diff_arg = d};
    struct strata_verify_summary s;
    return strata_backup_verify(NULL, &o, &s, &E);
}

TEST(offline_check_of_a_backup_directory)
{
    struct diffs d;
    make_backup("m,h=a v=1i 1\nm v=2i 2\nm,h=a v=3i 2\n", 3, 1, 2);
    ASSERT_OK_E(verify_offline(&d), &E);
    ASSERT_EQ_INT(d.n, 0);

    /* the manifest's row count does not match the file */
    make_backup("m,h=a v=1i 1\nm v=2i 2\n", 3, 1, 2);
    ASSERT_CODE(verify_offline(&d), ST_ECORRUPT);
    ASSERT_CONTAINS(d.last, "column \"v\" has a value in 2 rows, the manifest says 3");
    ASSERT_EQ_INT(d.n, 3); /* rows, time's and v's value counts */

    /* rows out of order, a duplicate, a non-canonical line: named with line and column */
    make_backup("m v=2i 2\nm,h=a v=1i 1\n", 2, 1, 2);
    ASSERT_CODE(verify_offline(&d), ST_ECORRUPT);
    ASSERT_CONTAINS(d.last, "m.lp.gz: line 2, column 1: the row is out of order");
    make_backup("m,h=a v=1i 1\nm,h=a v=2i 1\n", 2, 1, 1);
    ASSERT_CODE(verify_offline(&d), ST_ECORRUPT);
    ASSERT_CONTAINS(d.last, "repeats the previous row");
    make_backup("m,h=a v=1i 1\nm,h=b v=01i 1\n", 2, 1, 1);
    ASSERT_CODE(verify_offline(&d), ST_ECORRUPT);
    ASSERT_CONTAINS(d.last, "line 2, column 9: the line is not in the canonical form");

    /* the manifest edited: SHA256SUMS tells */
    make_backup("m,h=a v=1i 1\n", 1, 1, 1);
    char mt[8192];
    size_t n = read_file(th_path("b/manifest.json"), mt, sizeof mt);
    char *at = strstr(mt, "\"database\": \"db\"");
    ASSERT_TRUE(at != NULL);
    at[14] = 'x';
    write_file(th_path("b/manifest.json"), mt, n);
    ASSERT_CODE(verify_offline(&d), ST_ECORRUPT);
    ASSERT_CONTAINS(d.last, "manifest.json was changed after the backup was written");

    /* SHA256SUMS missing */
    make_backup("m,h=a v=1i 1\n", 1, 1, 1);
    unlink(th_path("b/SHA256SUMS"));
    ASSERT_CODE(verify_offline(&d), ST_ECORRUPT);
    ASSERT_CONTAINS(d.last, "SHA256SUMS cannot be read");

    /* the table file missing */
    make_backup("m,h=a v=1i 1\n", 1, 1, 1);
    unlink(th_path("b/m.lp.gz"));
    ASSERT_CODE(verify_offline(&d), ST_ECORRUPT);
    ASSERT_CONTAINS(d.last, "m.lp.gz");

    /* no manifest at all: not a backup */
    unlink(th_path("b/manifest.json"));
    ASSERT_CODE(verify_offline(&d), ST_EIO);
    ASSERT_CONTAINS(E.msg, "no manifest.json");
}
