/*
 * fuzz_lp.c: libFuzzer target for the line protocol parser (lp.h).
 *
 * The input is one request body. It is parsed twice in lockstep, with the
 * default limits and with tiny ones, and every result is checked against the
 * promises of lp.h: strings have their stated length and lie inside the input
 * or the parser's scratch; names and tag values are non-empty valid UTF-8
 * without control characters and do not end in a backslash; keys are unique
 * and never "time"; floats are finite; counts respect the limits; line numbers
 * only grow; errors carry a position inside the input and a printable
 * message. Every accepted line is written back as line protocol (escaped) and
 * parsed again, which must give the same line. Both parsers must split the
 * body into the same lines, and a line accepted under tiny limits must be
 * accepted identically under the defaults. Any broken promise aborts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_int.h"
#include "strata/lp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_lp: check failed at line %d: %s\n", __LINE__, #c);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct ctx {
    const char *buf;
    size_t len;
    const struct lp_parser *p;
    const struct lp_limits *lim;
};

static void
check_in_input_or_scratch(const struct ctx *c, struct lp_str s)
{
    const char *lo, *hi;
    lp__scratch_range(c->p, &lo, &hi);
    if (s.len == 0 && s.p == NULL)
        return;
    CHECK(s.p != NULL);
    bool in_input = s.p >= c->buf && s.p + s.len <= c->buf + c->len;
    bool in_scratch = lo && s.p >= lo && s.p + s.len <= hi;
    CHECK(in_input || in_scratch);
}

static bool
valid_utf8(const unsigned char *s, size_t n, bool allow_ctrl, bool allow_nul)
{
    const unsigned char *e = s + n;
    while (s < e) {
        unsigned c = *s;
        if (c < 0x80) {
            if (c == 0 && !allow_nul)
                return false;
            if ((c < 0x20 || c == 0x7f) && !allow_ctrl)
                return false;
            s++;
            continue;
        }
        int k = lp__utf8_len(s, e);
        if (k == 0)
            return false;
        if (!allow_ctrl && lp__utf8_is_c1(s, k))
            return false;
        s += k;
    }
    return true;
}

static void
check_name(const struct ctx *c, struct lp_str s, uint32_t max)
{
    check_in_input_or_scratch(c, s);
    CHECK(s.len >= 1 && s.len <= max);
    CHECK(valid_utf8((const unsigned char *)s.p, s.len, false, false));
    CHECK(s.p[s.len - 1] != '\\');
}

static bool
str_eq(struct lp_str a, struct lp_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool
is_time(struct lp_str s)
{
    return s.len == 4 && memcmp(s.p, "time", 4) == 0;
}

static void
check_line(const struct ctx *c, const struct lp_line *l)
{
    const struct lp_limits *lim = c->lim;
    CHECK(l->line_no >= 1);
    CHECK(l->raw.p >= c->buf && l->raw.p + l->raw.len <= c->buf + c->len);
    CHECK(l->raw.len <= lim->max_line_len);
    check_name(c, l->measurement, lim->max_name_len);
    CHECK(l->n_tags <= lim->max_tags);
    CHECK(l->n_fields >= 1 && l->n_fields <= lim->max_fields);
    for (uint32_t i = 0; i < l->n_tags; i++) {
        check_name(c, l->tags[i].key, lim->max_name_len);
        check_name(c, l->tags[i].value, lim->max_tag_value_len);
        CHECK(!is_time(l->tags[i].key));
        for (uint32_t j = 0; j < i; j++)
            CHECK(!str_eq(l->tags[i].key, l->tags[j].key));
    }
    for (uint32_t i = 0; i < l->n_fields; i++) {
        const struct lp_field *f = &l->fields[i];
        check_name(c, f->key, lim->max_name_len);
        CHECK(!is_time(f->key));
        for (uint32_t j = 0; j < i; j++)
            CHECK(!str_eq(f->key, l->fields[j].key));
        for (uint32_t j = 0; j < l->n_tags; j++)
            CHECK(!str_eq(f->key, l->tags[j].key));
        switch (f->type) {
        case LP_FLOAT:
            CHECK(f->v.f == f->v.f && f->v.f - f->v.f == 0.0); /* finite */
            break;
        case LP_STRING:
            check_in_input_or_scratch(c, f->v.s);
            CHECK(f->v.s.len <= lim->max_string_len);
            CHECK(valid_utf8((const unsigned char *)f->v.s.p, f->v.s.len, true, false));
            break;
        case LP_INT:
        case LP_UINT:
        case LP_BOOL:
            break;
        default:
            CHECK(!"bad field type");
        }
    }
    if (l->has_time) {
        static const int64_t mul[] = {1, 1000, 1000000, 1000000000};
        int64_t ns, auto_ns;
        for (int prec = LP_PREC_NS; prec <= LP_PREC_S; prec++)
            if (lp_time_to_ns(l->time, (enum lp_precision)prec, &ns) == 0)
                CHECK(ns / mul[prec] == l->time && ns % mul[prec] == 0);
        if (lp_time_to_ns(l->time, LP_PREC_AUTO, &auto_ns) == 0)
            CHECK(auto_ns % (l->time ? l->time : 1) == 0);
    }
}

static void
check_error(const struct ctx *c, const struct lp_error *e)
{
    CHECK(e->line >= 1 && e->column >= 1);
    CHECK(e->first_line >= 1 && e->first_line <= e->line);
    CHECK(e->offset <= c->len);
    CHECK(e->code == ST_EPARSE || e->code == ST_ELIMIT || e->code == ST_ENOMEM);
    CHECK(e->raw.p >= c->buf && e->raw.p + e->raw.len <= c->buf + c->len);
    size_t n = strnlen(e->msg, sizeof e->msg);
    CHECK(n > 0 && n < sizeof e->msg);
    for (size_t i = 0; i < n; i++)
        CHECK(e->msg[i] >= 0x20 && e->msg[i] < 0x7f);
}

/* ---- write a line back as line protocol ------------------------------------------ */

struct out {
    char *p;
    size_t len, cap;
};

static void
put(struct out *o, const char *s, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = (o->len + n) * 2 + 64;
        char *np = realloc(o->p, cap);
        CHECK(np != NULL);
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void
put_escaped(struct out *o, struct lp_str s, const char *specials)
{
    for (uint32_t i = 0; i < s.len; i++) {
        if (strchr(specials, s.p[i]) && s.p[i] != '\0')
            put(o, "\\", 1);
        put(o, &s.p[i], 1);
    }
}

static void
serialize(struct out *o, const struct lp_line *l)
{
    char num[64];
    o->len = 0;
    put_escaped(o, l->measurement, ", \\");
    for (uint32_t i = 0; i < l->n_tags; i++) {
        put(o, ",", 1);
        put_escaped(o, l->tags[i].key, ",= \\");
        put(o, "=", 1);
        put_escaped(o, l->tags[i].value, ",= \\");
    }
    for (uint32_t i = 0; i < l->n_fields; i++) {
        const struct lp_field *f = &l->fields[i];
        put(o, i ? "," : " ", 1);
        put_escaped(o, f->key, ",= \\");
        put(o, "=", 1);
        int n = 0;
        switch (f->type) {
        case LP_FLOAT:
            n = snprintf(num, sizeof num, "%.17g", f->v.f);
            break;
        case LP_INT:
            n = snprintf(num, sizeof num, "%" PRId64 "i", f->v.i);
            break;
        case LP_UINT:
            n = snprintf(num, sizeof num, "%" PRIu64 "u", f->v.u);
            break;
        case LP_BOOL:
            n = snprintf(num, sizeof num, "%s", f->v.b ? "true" : "false");
            break;
        case LP_STRING:
            put(o, "\"", 1);
            put_escaped(o, f->v.s, "\"\\");
            put(o, "\"", 1);
            break;
        }
        put(o, num, (size_t)n);
    }
    if (l->has_time) {
        int n = snprintf(num, sizeof num, " %" PRId64, l->time);
        put(o, num, (size_t)n);
    }
}

static bool
same_line(const struct lp_line *a, const struct lp_line *b)
{
    if (!str_eq(a->measurement, b->measurement) || a->n_tags != b->n_tags ||
        a->n_fields != b->n_fields || a->has_time != b->has_time ||
        (a->has_time && a->time != b->time))
        return false;
    for (uint32_t i = 0; i < a->n_tags; i++)
        if (!str_eq(a->tags[i].key, b->tags[i].key) || !str_eq(a->tags[i].value, b->tags[i].value))
            return false;
    for (uint32_t i = 0; i < a->n_fields; i++) {
        const struct lp_field *x = &a->fields[i], *y = &b->fields[i];
        if (!str_eq(x->key, y->key) || x->type != y->type)
            return false;
        switch (x->type) {
        case LP_FLOAT:
            if (memcmp(&x->v.f, &y->v.f, sizeof x->v.f) != 0)
                return false;
            break;
        case LP_INT:
            if (x->v.i != y->v.i)
                return false;
            break;
        case LP_UINT:
            if (x->v.u != y->v.u)
                return false;
            break;
        case LP_BOOL:
            if (x->v.b != y->v.b)
                return false;
            break;
        case LP_STRING:
            if (!str_eq(x->v.s, y->v.s))
                return false;
            break;
        }
    }
    return true;
}

static void
check_round_trip(const struct lp_line *l, struct out *o)
{
    serialize(o, l);
    struct lp_parser *q = lp_parser_new(o->p, o->len, NULL);
    CHECK(q != NULL);
    struct lp_line l2;
    struct lp_error e2;
    enum lp_result r = lp_next(q, &l2, &e2);
    if (r != LP_LINE)
        fprintf(stderr, "round trip of \"%.*s\" failed: %s\n", (int)o->len, o->p, e2.msg);
    CHECK(r == LP_LINE);
    CHECK(same_line(l, &l2));
    CHECK(lp_next(q, &l2, &e2) == LP_END);
    lp_parser_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so any read past the end is caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct lp_limits def, tiny = {.max_line_len = 96,
                                  .max_tags = 3,
                                  .max_fields = 3,
                                  .max_name_len = 8,
                                  .max_tag_value_len = 8,
                                  .max_string_len = 8};
    lp_limits_default(&def);
    struct lp_parser *pd = lp_parser_new(buf, size, &def);
    struct lp_parser *pt = lp_parser_new(buf, size, &tiny);
    CHECK(pd && pt);
    struct ctx cd = {buf, size, pd, &def}, ct = {buf, size, pt, &tiny};

    size_t n_nl = 0;
    for (size_t i = 0; i < size; i++)
        n_nl += buf[i] == '\n';

    struct out o = {0};
    uint32_t last_line = 0;
    size_t calls = 0;
    for (;;) {
        struct lp_line ld, lt;
        struct lp_error ed, et;
        memset(&ed, 0x5a, sizeof ed);
        memset(&et, 0x5a, sizeof et);
        enum lp_result rd = lp_next(pd, &ld, &ed);
        enum lp_result rt = lp_next(pt, &lt, &et);
        CHECK(++calls <= n_nl + 2);
        if (rd == LP_END) {
            CHECK(rt == LP_END);
            break;
        }
        CHECK(rt != LP_END);
        /* Same logical line in both. */
        const char *raw_d = rd == LP_LINE ? ld.raw.p : ed.raw.p;
        const char *raw_t = rt == LP_LINE ? lt.raw.p : et.raw.p;
        uint32_t first_d = rd == LP_LINE ? ld.line_no : ed.first_line;
        uint32_t first_t = rt == LP_LINE ? lt.line_no : et.first_line;
        CHECK(raw_d == raw_t);
        CHECK(first_d == first_t);
        CHECK(first_d > last_line && first_d <= n_nl + 1);
        last_line = first_d;
        if (rt == LP_LINE) {
            check_line(&ct, &lt);
            CHECK(rd == LP_LINE);
            CHECK(same_line(&ld, &lt));
        } else {
            check_error(&ct, &et);
        }
        if (rd == LP_LINE) {
            check_line(&cd, &ld);
            check_round_trip(&ld, &o);
        } else {
            check_error(&cd, &ed);
            CHECK(ed.code != ST_ELIMIT || rt == LP_ERROR);
        }
    }
    CHECK(lp_next(pd, NULL, NULL) == LP_END);
    free(o.p);
    lp_parser_free(pd);
    lp_parser_free(pt);
    free(buf);
    return 0;
}
