/*
 * arrow_testdata.c: the batch builder and sample data sets of
 * arrow_testdata.h. Test code: allocation failure aborts.
 */
#include "arrow_testdata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
tb_init(struct tb *tb, uint32_t n_rows)
{
    memset(tb, 0, sizeof *tb);
    tb->n_rows = n_rows;
}

void
tb_free(struct tb *tb)
{
    for (size_t i = 0; i < tb->n_allocs; i++)
        free(tb->allocs[i]);
    free(tb->allocs);
    memset(tb, 0, sizeof *tb);
}

void *
tb_alloc(struct tb *tb, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    void **na = realloc(tb->allocs, (tb->n_allocs + 1) * sizeof *na);
    if (!p || !na) {
        fprintf(stderr, "tb_alloc: out of memory\n");
        abort();
    }
    tb->allocs = na;
    tb->allocs[tb->n_allocs++] = p;
    return p;
}

static struct st_column *
add(struct tb *tb, const char *name, enum st_type type, enum st_role role, bool nullable)
{
    if (tb->n_cols >= TB_MAX_COLS) {
        fprintf(stderr, "tb: too many columns\n");
        abort();
    }
    uint32_t c = tb->n_cols++;
    size_t nlen = strlen(name) + 1;
    char *copy = tb_alloc(tb, nlen);
    memcpy(copy, name, nlen);
    tb->fields[c].name = copy;
    tb->fields[c].type = type;
    tb->fields[c].role = role;
    tb->fields[c].nullable = nullable;
    tb->cols[c].type = type;
    return &tb->cols[c];
}

int64_t *
tb_add_time(struct tb *tb, const char *name, enum st_role role, bool nullable)
{
    struct st_column *c = add(tb, name, ST_TYPE_TIME, role, nullable);
    int64_t *v = tb_alloc(tb, (size_t)tb->n_rows * 8);
    c->v.i64 = v;
    return v;
}

int64_t *
tb_add_int(struct tb *tb, const char *name, enum st_role role, bool nullable)
{
    struct st_column *c = add(tb, name, ST_TYPE_INT, role, nullable);
    int64_t *v = tb_alloc(tb, (size_t)tb->n_rows * 8);
    c->v.i64 = v;
    return v;
}

uint64_t *
tb_add_uint(struct tb *tb, const char *name, enum st_role role, bool nullable)
{
    struct st_column *c = add(tb, name, ST_TYPE_UINT, role, nullable);
    uint64_t *v = tb_alloc(tb, (size_t)tb->n_rows * 8);
    c->v.u64 = v;
    return v;
}

double *
tb_add_float(struct tb *tb, const char *name, enum st_role role, bool nullable)
{
    struct st_column *c = add(tb, name, ST_TYPE_FLOAT, role, nullable);
    double *v = tb_alloc(tb, (size_t)tb->n_rows * 8);
    c->v.f64 = v;
    return v;
}

uint8_t *
tb_add_bool(struct tb *tb, const char *name, enum st_role role, bool nullable)
{
    struct st_column *c = add(tb, name, ST_TYPE_BOOL, role, nullable);
    uint8_t *v = tb_alloc(tb, tb->n_rows);
    c->v.b = v;
    return v;
}

static uint8_t *
validity_of(struct tb *tb, struct st_column *c)
{
    if (!c->validity) {
        size_t nb = ((size_t)tb->n_rows + 7) / 8;
        uint8_t *bm = tb_alloc(tb, nb);
        memset(bm, 0xff, nb);
        c->validity = bm;
    }
    return (uint8_t *)c->validity;
}

void
tb_add_string(struct tb *tb, const char *name, enum st_role role, bool nullable,
              const char *const *values, const size_t *lens)
{
    struct st_column *c = add(tb, name, ST_TYPE_STRING, role, nullable);
    size_t total = 0;
    for (uint32_t i = 0; i < tb->n_rows; i++)
        if (values[i]) total += lens ? lens[i] : strlen(values[i]);
    int32_t *off = tb_alloc(tb, ((size_t)tb->n_rows + 1) * 4);
    char *data = tb_alloc(tb, total);
    size_t pos = 0;
    for (uint32_t i = 0; i < tb->n_rows; i++) {
        off[i] = (int32_t)pos;
        if (values[i]) {
            size_t l = lens ? lens[i] : strlen(values[i]);
            memcpy(data + pos, values[i], l);
            pos += l;
        } else {
            uint8_t *bm = validity_of(tb, c);
            bm[i >> 3] &= (uint8_t) ~(1u << (i & 7));
            c->null_count++;
        }
    }
    off[tb->n_rows] = (int32_t)pos;
    c->v.offsets = off;
    c->str_data = data;
}

void
tb_add_null(struct tb *tb, const char *name)
{
    struct st_column *c = add(tb, name, ST_TYPE_NULL, ST_ROLE_NONE, true);
    c->validity = tb_alloc(tb, ((size_t)tb->n_rows + 7) / 8);
    c->null_count = tb->n_rows;
}

void
tb_set_null(struct tb *tb, uint32_t col, uint32_t row)
{
    struct st_column *c = &tb->cols[col];
    uint8_t *bm = validity_of(tb, c);
    if (!((bm[row >> 3] >> (row & 7)) & 1)) return;
    bm[row >> 3] &= (uint8_t) ~(1u << (row & 7));
    c->null_count++;
    if (c->type == ST_TYPE_BOOL)
        ((uint8_t *)c->v.raw)[row] = 0;
    else if (c->type != ST_TYPE_STRING)
        memset((uint8_t *)c->v.raw + (size_t)row * 8, 0, 8);
}

const struct st_schema *
tb_schema(struct tb *tb)
{
    tb->schema.n_fields = tb->n_cols;
    tb->schema.fields = tb->fields;
    return &tb->schema;
}

const struct st_batch *
tb_batch(struct tb *tb)
{
    tb->batch.n_rows = tb->n_rows;
    tb->batch.n_cols = tb->n_cols;
    tb->batch.cols = tb->cols;
    return &tb->batch;
}

/* ---- data sets ------------------------------------------------------------ */

static uint32_t
mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

void
td_all_types(struct tb *tb, uint32_t n, uint32_t seed)
{
    static const char *const words[] = {
        "server-a", "", "say \"hi\" \\ bye", "ünïcødé ✓", "comma,space tab\t", "line\nbreak",
        "日本語",   "x"};
    static const int64_t ints[] = {
        0, 1, -2, INT64_MIN, INT64_MAX, 9007199254740993LL, -9007199254740993LL, 42};
    static const uint64_t uints[] = {0, 1, UINT64_MAX, 9007199254740993ULL, 4, 1ULL << 63};
    const double floats[] = {12.5, -0.0, INFINITY, -INFINITY, 1e-310, 99.25, 1.0 / 3, NAN};

    tb_init(tb, n);
    int64_t *time = tb_add_time(tb, "time", ST_ROLE_TIME, false);
    const char **host = tb_alloc(tb, (size_t)(n ? n : 1) * sizeof *host);
    const char **msg = tb_alloc(tb, (size_t)(n ? n : 1) * sizeof *msg);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = mix(i + seed);
        host[i] = words[r % 8] == words[1] ? "server-b" : words[r % 8];
        msg[i] = (i % 7 == 3) ? NULL : words[(r >> 3) % 8];
    }
    tb_add_string(tb, "host", ST_ROLE_TAG, true, host, NULL);
    double *usage = tb_add_float(tb, "usage", ST_ROLE_FIELD, true);
    int64_t *count = tb_add_int(tb, "count", ST_ROLE_FIELD, true);
    uint64_t *big = tb_add_uint(tb, "big", ST_ROLE_FIELD, true);
    uint8_t *ok = tb_add_bool(tb, "ok", ST_ROLE_FIELD, true);
    tb_add_string(tb, "msg", ST_ROLE_FIELD, true, msg, NULL);
    int64_t *expr = tb_add_int(tb, "expr", ST_ROLE_NONE, false);
    int64_t *t2 = tb_add_time(tb, "t2", ST_ROLE_NONE, true);
    tb_add_null(tb, "nothing");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = mix(i * 31 + seed);
        time[i] = 1700000000000000000LL + (int64_t)i * 1000000000LL + (r % 1000);
        usage[i] = floats[r % 8];
        count[i] = ints[(r >> 4) % 8];
        big[i] = uints[(r >> 8) % 6];
        ok[i] = (r >> 12) & 1;
        expr[i] = (int64_t)i * 3 - 7;
        t2[i] = -(int64_t)i * 123456789LL;
    }
    /* nulls: a pattern that crosses byte boundaries and leaves whole bytes clear */
    for (uint32_t i = 0; i < n; i++) {
        if (i % 5 == 1) tb_set_null(tb, 2, i);                        /* usage */
        if (i % 9 == 4 || (i >= 16 && i < 24)) tb_set_null(tb, 3, i); /* count */
        if (i % 11 == 0) tb_set_null(tb, 4, i);                       /* big */
        if (i % 3 == 2) tb_set_null(tb, 5, i);                        /* ok */
        if (i % 13 == 12) tb_set_null(tb, 8, i);                      /* t2 */
    }
}

void
td_strings(struct tb *tb, uint32_t n, size_t (*len_of)(uint32_t row))
{
    tb_init(tb, n);
    int64_t *time = tb_add_time(tb, "time", ST_ROLE_TIME, false);
    const char **vals = tb_alloc(tb, (size_t)(n ? n : 1) * sizeof *vals);
    size_t *lens = tb_alloc(tb, (size_t)(n ? n : 1) * sizeof *lens);
    for (uint32_t i = 0; i < n; i++) {
        size_t l = len_of(i);
        char *s = tb_alloc(tb, l + 1);
        int k = snprintf(s, l + 1, "%u:", i);
        for (size_t j = (size_t)(k < 0 ? 0 : k); j < l; j++)
            s[j] = (char)('a' + (i + j) % 26);
        vals[i] = s;
        lens[i] = l;
        time[i] = (int64_t)i;
    }
    tb_add_string(tb, "s", ST_ROLE_FIELD, true, vals, lens);
}
