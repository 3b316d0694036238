/*
 * test_arrow_nested.c: unit tests of the nested Arrow encoder (gateway/arrow/
 * arrow_nested.c, arrow_encoder_new_nested / arrow_encode_arrays): the exact body and
 * FieldNode/Buffer lists of a dense union, re-based child ranges when rows are split,
 * the Schema flatbuffer of every nested type read back with the bounds-checked reader,
 * byte budgets, the 0-row keep-alive batch of both encoder kinds, and every error the
 * type and array checks report. The real apache-arrow package decodes the sample data
 * set in tests/node/flightsql_nested_decode.test.mjs.
 */
#include <stdlib.h>
#include <string.h>

#include "th.h"

#include "arrow_int.h"
#include "arrow_nested_data.h"
#include "strata/arrow_ipc.h"

static struct st_error E;

/* ---- a small union: u = dense_union<s: utf8 (id 0), x: int64 (id 1)> --------------------- */

static const struct arrow_type small_children[] = {
    {.name = "s", .kind = ARROW_KIND_UTF8},
    {.name = "x", .kind = ARROW_KIND_INT, .bit_width = 64, .is_signed = true},
};
static const int8_t small_ids[] = {0, 1};
static const struct arrow_type small_type = {.name = "u", .kind = ARROW_KIND_DENSE_UNION,
                                             .n_children = 2, .children = small_children,
                                             .type_ids = small_ids};

/* rows: s "ab", x 7, s "c" */
static const int8_t small_tids[] = {0, 1, 0};
static const int32_t small_offs[] = {0, 0, 1};
static const int32_t s_offs[] = {0, 2, 3};
static const int64_t x_vals[] = {7};

static void
small_arrays(struct arrow_array *u, struct arrow_array ch[2])
{
    ch[0] = (struct arrow_array){.length = 2, .offsets = s_offs, .values = "abc"};
    ch[1] = (struct arrow_array){.length = 1, .values = x_vals};
    *u = (struct arrow_array){.length = 3, .type_ids = small_tids, .offsets = small_offs,
                              .children = ch};
}

/* Buffer i of the last RecordBatch header in hdr: offset and length. */
static void
rb_vectors(const uint8_t *hdr, size_t len, const uint8_t **nodes, uint32_t *n_nodes,
           const uint8_t **bufs, uint32_t *n_bufs, int64_t *rows, int64_t *body_len)
{
    struct fbr fb = {hdr, len};
    struct fbr_table root, rb;
    bool present;
    size_t nd, bf;
    ASSERT_OK(fbr_root(&fb, &root));
    ASSERT_OK(fbr_i64(&root, MSG_BODY_LENGTH, -1, body_len));
    ASSERT_OK(fbr_table_field(&root, MSG_HEADER, &rb, &present));
    ASSERT_TRUE(present);
    ASSERT_OK(fbr_i64(&rb, RB_LENGTH, -1, rows));
    ASSERT_OK(fbr_vector_field(&rb, RB_NODES, 16, &nd, n_nodes, &present));
    ASSERT_OK(fbr_vector_field(&rb, RB_BUFFERS, 16, &bf, n_bufs, &present));
    ASSERT_EQ_INT(nd % 8, 0); /* struct vectors 8-aligned */
    ASSERT_EQ_INT(bf % 8, 0);
    *nodes = hdr + nd;
    *bufs = hdr + bf;
}

static void
assert_pairs(const uint8_t *v, uint32_t n, const int64_t (*want)[2], uint32_t n_want)
{
    ASSERT_EQ_INT(n, n_want);
    for (uint32_t i = 0; i < n; i++) {
        if ((int64_t)st_load_u64le(v + 16 * i) != want[i][0] ||
            (int64_t)st_load_u64le(v + 16 * i + 8) != want[i][1])
            th_fail(__FILE__, __LINE__, "pair %u: (%lld, %lld), want (%lld, %lld)", i,
                    (long long)st_load_u64le(v + 16 * i),
                    (long long)st_load_u64le(v + 16 * i + 8), (long long)want[i][0],
                    (long long)want[i][1]);
    }
}

TEST(dense_union_body_is_exact)
{
    struct arrow_encoder *enc = arrow_encoder_new_nested(&small_type, 1, NULL, &E);
    ASSERT_TRUE(enc != NULL);
    struct arrow_array u, ch[2];
    small_arrays(&u, ch);
    ASSERT_OK_E(arrow_encode_arrays(enc, &u, 3, &E), &E);
    struct arrow_msg m;
    bool got;
    ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
    ASSERT_TRUE(got);
    ASSERT_EQ_INT(m.n_rows, 3);
    static const uint8_t body[56] = {
        0, 1, 0, 0, 0, 0, 0, 0,                         /* type ids 0 1 0 */
        0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, /* offsets 0 0 1 */
        0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, /* s offsets 0 2 3 */
        'a', 'b', 'c', 0, 0, 0, 0, 0,                   /* s bytes */
        7, 0, 0, 0, 0, 0, 0, 0,                         /* x */
    };
    ASSERT_EQ_INT(m.body_len, sizeof body);
    ASSERT_TRUE(memcmp(m.body, body, sizeof body) == 0);
    const uint8_t *nodes, *bufs;
    uint32_t nn, nb;
    int64_t rows, bl;
    rb_vectors(m.header, m.header_len, &nodes, &nn, &bufs, &nb, &rows, &bl);
    ASSERT_EQ_INT(rows, 3);
    ASSERT_EQ_INT(bl, 56);
    static const int64_t want_nodes[][2] = {{3, 0}, {2, 0}, {1, 0}};
    /* union: ids, offsets (no validity in V5); s: validity, offsets, bytes; x: validity, values */
    static const int64_t want_bufs[][2] = {{0, 3},  {8, 12},  {24, 0}, {24, 12},
                                           {40, 3}, {48, 0}, {48, 8}};
    assert_pairs(nodes, nn, want_nodes, 3);
    assert_pairs(bufs, nb, want_bufs, 7);
    ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
    ASSERT_FALSE(got);
    arrow_encoder_free(enc);
}

TEST(split_union_rebases_child_ranges)
{
    struct arrow_nested *n = arrow__nested_new(&small_type, 1, &E);
    ASSERT_TRUE(n != NULL);
    struct arrow_array u, ch[2];
    small_arrays(&u, ch);
    ASSERT_OK_E(arrow__nested_begin(n, &u, 3, &E), &E);
    struct st_buf hdr, body;
    st_buf_init(&hdr, SIZE_MAX);
    st_buf_init(&body, SIZE_MAX);
    ASSERT_OK_E(arrow__nested_encode(n, 1, 3, 0, &hdr, &body, &E), &E); /* x 7, s "c" */
    static const uint8_t want[] = {
        1, 0, 0, 0, 0, 0, 0, 0,                         /* type ids 1 0 */
        0, 0, 0, 0, 0, 0, 0, 0,                         /* offsets re-based: 0 0 */
        0, 0, 0, 0, 1, 0, 0, 0,                         /* s offsets 0 1 */
        'c', 0, 0, 0, 0, 0, 0, 0,                       /* s bytes */
        7, 0, 0, 0, 0, 0, 0, 0,                         /* x */
    };
    ASSERT_EQ_INT(body.len, sizeof want);
    ASSERT_TRUE(memcmp(body.data, want, sizeof want) == 0);
    ASSERT_EQ_U64(arrow__nested_body_len(n, 1, 3), sizeof want);
    const uint8_t *nodes, *bufs;
    uint32_t nn, nb;
    int64_t rows, bl;
    rb_vectors(hdr.data, hdr.len, &nodes, &nn, &bufs, &nb, &rows, &bl);
    static const int64_t want_nodes[][2] = {{2, 0}, {1, 0}, {1, 0}};
    assert_pairs(nodes, nn, want_nodes, 3);
    ASSERT_EQ_INT(rows, 2);
    /* a range with no row of a child gives that child an empty node */
    ASSERT_OK_E(arrow__nested_encode(n, 1, 2, 0, &hdr, &body, &E), &E);
    rb_vectors(hdr.data, hdr.len, &nodes, &nn, &bufs, &nb, &rows, &bl);
    static const int64_t want_nodes2[][2] = {{1, 0}, {0, 0}, {1, 0}};
    assert_pairs(nodes, nn, want_nodes2, 3);
    st_buf_cleanup(&hdr);
    st_buf_cleanup(&body);
    arrow__nested_free(n);
}

/* ---- schema ------------------------------------------------------------------------------- */

static void
field_at(const struct fbr *fb, size_t vec, uint32_t i, struct fbr_table *f, const char *name,
         uint8_t tag, uint8_t nullable, uint32_t n_children, size_t *children)
{
    const char *s;
    uint32_t sl;
    bool present;
    uint8_t v;
    ASSERT_OK(fbr_vector_table(fb, vec, i, f));
    ASSERT_OK(fbr_string_field(f, FIELD_NAME, &s, &sl, &present));
    if (sl != strlen(name) || memcmp(s, name, sl) != 0)
        th_fail(__FILE__, __LINE__, "field %.*s, want %s", (int)sl, s, name);
    ASSERT_EQ_INT(s[sl], 0); /* NUL-terminated */
    ASSERT_OK(fbr_u8(f, FIELD_TYPE_TYPE, 0, &v));
    ASSERT_EQ_INT(v, tag);
    ASSERT_OK(fbr_u8(f, FIELD_NULLABLE, 9, &v));
    ASSERT_EQ_INT(v, nullable); /* written explicitly */
    struct fbr_table t;
    ASSERT_OK(fbr_table_field(f, FIELD_TYPE, &t, &present));
    ASSERT_TRUE(present); /* every type table present, even empty ones */
    uint32_t n;
    ASSERT_OK(fbr_vector_field(f, FIELD_CHILDREN, 4, children, &n, &present));
    ASSERT_TRUE(present);
    ASSERT_EQ_INT(n, n_children);
}

TEST(schema_of_every_nested_type)
{
    struct arrow_encoder *enc = arrow_encoder_new_nested(nd_types(), ND_COLS, NULL, &E);
    ASSERT_TRUE(enc != NULL);
    struct arrow_msg m;
    ASSERT_OK_E(arrow_encode_schema(enc, &m, &E), &E);
    ASSERT_EQ_INT(m.header_len % 8, 0);
    struct fbr fb = {m.header, m.header_len};
    struct fbr_table root, sch, f, t, g, h;
    bool present;
    int16_t ver;
    uint8_t ht;
    ASSERT_OK(fbr_root(&fb, &root));
    ASSERT_OK(fbr_i16(&root, MSG_VERSION, 0, &ver));
    ASSERT_EQ_INT(ver, ARROW_V5);
    ASSERT_OK(fbr_u8(&root, MSG_HEADER_TYPE, 0, &ht));
    ASSERT_EQ_INT(ht, ARROW_HDR_SCHEMA);
    ASSERT_OK(fbr_table_field(&root, MSG_HEADER, &sch, &present));
    size_t top, ch, ch2, ch3;
    uint32_t n;
    ASSERT_OK(fbr_vector_field(&sch, SCHEMA_FIELDS, 4, &top, &n, &present));
    ASSERT_EQ_INT(n, ND_COLS);

    /* id: Int(32, unsigned) */
    int32_t bw;
    uint8_t sg;
    field_at(&fb, top, 0, &f, "id", ARROW_T_INT, 0, 0, &ch);
    ASSERT_OK(fbr_table_field(&f, FIELD_TYPE, &t, &present));
    ASSERT_OK(fbr_i32(&t, INT_BITWIDTH, 0, &bw));
    ASSERT_OK(fbr_u8(&t, INT_SIGNED, 9, &sg));
    ASSERT_EQ_INT(bw, 32);
    ASSERT_EQ_INT(sg, 0);

    /* u: Union{mode Dense, typeIds [5, 1, 7, 0, 3]} with 5 children */
    field_at(&fb, top, 1, &f, "u", ARROW_T_UNION, 0, 5, &ch);
    ASSERT_OK(fbr_table_field(&f, FIELD_TYPE, &t, &present));
    int16_t mode;
    ASSERT_OK(fbr_i16(&t, UNION_MODE, 0, &mode));
    ASSERT_EQ_INT(mode, ARROW_UNION_DENSE);
    size_t ids;
    ASSERT_OK(fbr_vector_field(&t, UNION_TYPE_IDS, 4, &ids, &n, &present));
    ASSERT_EQ_INT(n, 5);
    static const int32_t want_ids[] = {5, 1, 7, 0, 3};
    for (uint32_t i = 0; i < 5; i++)
        ASSERT_EQ_INT((int32_t)st_load_u32le(m.header + ids + 4 * i), want_ids[i]);
    field_at(&fb, ch, 0, &g, "s", ARROW_T_UTF8, 1, 0, &ch2);
    field_at(&fb, ch, 1, &g, "b", ARROW_T_BOOL, 0, 0, &ch2);
    field_at(&fb, ch, 2, &g, "l", ARROW_T_LIST, 0, 1, &ch2);
    field_at(&fb, ch2, 0, &h, "item", ARROW_T_UTF8, 1, 0, &ch3);
    /* m: Map{keysSorted 0} -> entries: Struct_ not null -> key Int32 not null, value List */
    field_at(&fb, ch, 3, &g, "m", ARROW_T_MAP, 0, 1, &ch2);
    ASSERT_OK(fbr_table_field(&g, FIELD_TYPE, &t, &present));
    ASSERT_OK(fbr_u8(&t, MAP_KEYS_SORTED, 9, &sg));
    ASSERT_EQ_INT(sg, 0);
    field_at(&fb, ch2, 0, &h, "entries", ARROW_T_STRUCT, 0, 2, &ch3);
    field_at(&fb, ch3, 0, &h, "key", ARROW_T_INT, 0, 0, &ch2);
    field_at(&fb, ch3, 1, &h, "value", ARROW_T_LIST, 1, 1, &ch2);
    field_at(&fb, ch, 4, &g, "x", ARROW_T_INT, 0, 0, &ch2);
    /* bin: Binary (tag 4), an empty type table */
    field_at(&fb, top, 2, &f, "bin", ARROW_T_BINARY, 1, 0, &ch);
    field_at(&fb, top, 3, &f, "st", ARROW_T_STRUCT, 1, 2, &ch);
    field_at(&fb, ch, 0, &g, "a", ARROW_T_INT, 1, 0, &ch2);
    field_at(&fb, top, 4, &f, "lst", ARROW_T_LIST, 1, 1, &ch);
    arrow_encoder_free(enc);
}

/* ---- batches ------------------------------------------------------------------------------ */

TEST(sample_splits_under_budget_and_covers_every_row)
{
    struct nd d;
    nd_build(&d, 300);
    struct arrow_encoder_opts o = {.target_bytes = 2048, .max_bytes = 4096};
    struct arrow_encoder *enc = arrow_encoder_new_nested(nd_types(), ND_COLS, &o, &E);
    ASSERT_TRUE(enc != NULL);
    ASSERT_OK_E(arrow_encode_arrays(enc, d.cols, d.n_rows, &E), &E);
    struct arrow_msg m;
    bool got;
    int64_t rows = 0;
    int msgs = 0;
    for (;;) {
        ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
        if (!got) break;
        msgs++;
        ASSERT_TRUE(arrow_flightdata_size(&m, 0) <= 2048);
        ASSERT_EQ_INT(m.body_len % 8, 0);
        const uint8_t *nodes, *bufs;
        uint32_t nn, nb;
        int64_t r, bl;
        rb_vectors(m.header, m.header_len, &nodes, &nn, &bufs, &nb, &r, &bl);
        ASSERT_EQ_INT(r, m.n_rows);
        ASSERT_EQ_INT(bl, (int64_t)m.body_len);
        for (uint32_t i = 0; i < nb; i++) { /* every buffer 8-aligned, inside the body */
            int64_t off = (int64_t)st_load_u64le(bufs + 16 * i);
            int64_t len = (int64_t)st_load_u64le(bufs + 16 * i + 8);
            ASSERT_EQ_INT(off % 8, 0);
            ASSERT_TRUE(off + len <= bl);
        }
        rows += m.n_rows;
    }
    ASSERT_EQ_INT(rows, 300);
    ASSERT_TRUE(msgs > 3);
    arrow_encoder_free(enc);
    nd_free(&d);
}

TEST(a_row_over_the_maximum_is_elimit)
{
    static char big[9000];
    memset(big, 'z', sizeof big);
    static const struct arrow_type t = {.name = "b", .kind = ARROW_KIND_BINARY};
    int32_t offs[2] = {0, (int32_t)sizeof big};
    struct arrow_array a = {.length = 1, .offsets = offs, .values = big};
    struct arrow_encoder_opts o = {.target_bytes = 2048, .max_bytes = 4096};
    struct arrow_encoder *enc = arrow_encoder_new_nested(&t, 1, &o, &E);
    ASSERT_OK_E(arrow_encode_arrays(enc, &a, 1, &E), &E);
    struct arrow_msg m;
    bool got;
    ASSERT_CODE(arrow_encode_next(enc, &m, &got, &E), ST_ELIMIT);
    ASSERT_CONTAINS(E.msg, "row 0");
    arrow_encoder_free(enc);
}

TEST(empty_batch_of_both_kinds)
{
    struct arrow_encoder *enc = arrow_encoder_new_nested(nd_types(), ND_COLS, NULL, &E);
    ASSERT_OK_E(arrow_encode_empty(enc, &E), &E);
    struct arrow_msg m;
    bool got;
    ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
    ASSERT_TRUE(got);
    ASSERT_EQ_INT(m.n_rows, 0);
    const uint8_t *nodes, *bufs;
    uint32_t nn, nb;
    int64_t rows, bl;
    rb_vectors(m.header, m.header_len, &nodes, &nn, &bufs, &nb, &rows, &bl);
    ASSERT_EQ_INT(rows, 0);
    for (uint32_t i = 0; i < nn; i++)
        ASSERT_EQ_INT(st_load_u64le(nodes + 16 * i), 0);
    for (size_t i = 0; i < m.body_len; i++) /* only zeroed offsets */
        ASSERT_EQ_INT(m.body[i], 0);
    ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
    ASSERT_FALSE(got);
    arrow_encoder_free(enc);

    static const struct st_field ff[] = {{"t", ST_TYPE_TIME, ST_ROLE_TIME, false},
                                         {"s", ST_TYPE_STRING, ST_ROLE_TAG, true},
                                         {"n", ST_TYPE_NULL, ST_ROLE_NONE, true}};
    struct st_schema sc = {3, ff};
    enc = arrow_encoder_new(&sc, NULL, &E);
    ASSERT_OK_E(arrow_encode_empty(enc, &E), &E);
    ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
    ASSERT_TRUE(got);
    ASSERT_EQ_INT(m.n_rows, 0);
    ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
    ASSERT_FALSE(got);
    arrow_encoder_free(enc);
}

TEST(encoder_kinds_do_not_mix)
{
    struct arrow_encoder *enc = arrow_encoder_new_nested(&small_type, 1, NULL, &E);
    struct st_batch b = {0, 0, NULL};
    ASSERT_CODE(arrow_encode_batch(enc, &b, &E), ST_EINVAL);
    ASSERT_CODE(arrow_encode_arrays(enc, NULL, 0, &E), ST_EINVAL);
    arrow_encoder_free(enc);
    static const struct st_field ff[] = {{"t", ST_TYPE_TIME, ST_ROLE_TIME, false}};
    struct st_schema sc = {1, ff};
    enc = arrow_encoder_new(&sc, NULL, &E);
    struct arrow_array a = {0};
    ASSERT_CODE(arrow_encode_arrays(enc, &a, 0, &E), ST_EINVAL);
    arrow_encoder_free(enc);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void
bad_type(const struct arrow_type *t, const char *want)
{
    struct arrow_encoder *enc = arrow_encoder_new_nested(t, 1, NULL, &E);
    if (enc) th_fail(__FILE__, __LINE__, "type accepted, want error \"%s\"", want);
    ASSERT_EQ_INT(E.code, ST_EINVAL);
    ASSERT_CONTAINS(E.msg, want);
}

TEST(type_errors)
{
    bad_type(&(struct arrow_type){.name = "i", .kind = ARROW_KIND_INT, .bit_width = 12},
             "bit width of 12");
    bad_type(&(struct arrow_type){.name = "l", .kind = ARROW_KIND_LIST}, "needs 1 child");
    bad_type(&(struct arrow_type){.name = "s", .kind = ARROW_KIND_UTF8, .n_children = 1,
                                  .children = small_children},
             "leaf type has children");
    bad_type(&(struct arrow_type){.name = "m", .kind = ARROW_KIND_MAP, .n_children = 1,
                                  .children = small_children},
             "arrow map \"m\" needs");
    static const int8_t dup[] = {3, 3};
    bad_type(&(struct arrow_type){.name = "u", .kind = ARROW_KIND_DENSE_UNION, .n_children = 2,
                                  .children = small_children, .type_ids = dup},
             "negative or repeated");
    static const int8_t neg[] = {0, -1};
    bad_type(&(struct arrow_type){.name = "u", .kind = ARROW_KIND_DENSE_UNION, .n_children = 2,
                                  .children = small_children, .type_ids = neg},
             "negative or repeated");
    bad_type(&(struct arrow_type){.name = "u", .kind = ARROW_KIND_DENSE_UNION}, "needs 1..127");
    bad_type(&(struct arrow_type){.name = "k", .kind = (enum arrow_kind)99}, "unknown kind");
    /* nested too deep */
    struct arrow_type chain[20];
    for (int i = 0; i < 20; i++)
        chain[i] = (struct arrow_type){.name = "l", .kind = ARROW_KIND_LIST, .n_children = 1,
                                       .children = &chain[i + 1]};
    chain[19] = (struct arrow_type){.name = "leaf", .kind = ARROW_KIND_BOOL};
    bad_type(&chain[0], "nested deeper");
}

static void
bad_batch(const struct arrow_type *t, const struct arrow_array *a, int64_t rows, const char *want)
{
    struct arrow_encoder *enc = arrow_encoder_new_nested(t, 1, NULL, &E);
    ASSERT_TRUE(enc != NULL);
    ASSERT_CODE(arrow_encode_arrays(enc, a, rows, &E), ST_EINVAL);
    ASSERT_CONTAINS(E.msg, want);
    struct arrow_msg m;
    bool got = true;
    ASSERT_OK(arrow_encode_next(enc, &m, &got, &E)); /* nothing half-started */
    ASSERT_FALSE(got);
    arrow_encoder_free(enc);
}

TEST(array_errors)
{
    static const struct arrow_type s = {.name = "s", .kind = ARROW_KIND_UTF8};
    static const struct arrow_type sn = {.name = "s", .kind = ARROW_KIND_UTF8, .nullable = true};
    static const struct arrow_type i32 = {.name = "i", .kind = ARROW_KIND_INT, .bit_width = 32};
    static const int32_t offs[] = {0, 1, 2}, down[] = {0, 2, 1}, neg[] = {-1, 0, 1};
    static const uint8_t bm[] = {0x01}; /* row 0 valid, row 1 null */
    bad_batch(&s, &(struct arrow_array){.length = 2, .offsets = offs, .values = "ab"}, 3,
              "has 2 rows, 3 needed");
    bad_batch(&s, &(struct arrow_array){.length = 2, .offsets = down, .values = "ab"}, 2,
              "decrease at row 2");
    bad_batch(&s, &(struct arrow_array){.length = 2, .offsets = neg, .values = "ab"}, 2,
              "start below 0");
    bad_batch(&s, &(struct arrow_array){.length = 2, .values = "ab"}, 2, "has no offsets");
    bad_batch(&s, &(struct arrow_array){.length = 2, .offsets = offs}, 2, "has no bytes");
    bad_batch(&s,
              &(struct arrow_array){.length = 2, .null_count = 1, .validity = bm, .offsets = offs,
                                    .values = "ab"},
              2, "has nulls but cannot");
    bad_batch(&sn, &(struct arrow_array){.length = 2, .null_count = 1, .offsets = offs,
                                         .values = "ab"},
              2, "no bitmap");
    bad_batch(&sn,
              &(struct arrow_array){.length = 2, .null_count = 2, .validity = bm, .offsets = offs,
                                    .values = "ab"},
              2, "disagrees with its null count");
    bad_batch(&sn, &(struct arrow_array){.length = 2, .null_count = 3, .offsets = offs}, 2,
              "null count of 3");
    bad_batch(&i32, &(struct arrow_array){.length = 2}, 2, "has no values");
    static const struct arrow_type lt = {.name = "l", .kind = ARROW_KIND_LIST, .n_children = 1,
                                         .children = &i32};
    static const int32_t loffs[] = {0, 2, 5};
    static const int32_t vals[] = {1, 2, 3, 4};
    struct arrow_array child = {.length = 4, .values = vals};
    bad_batch(&lt, &(struct arrow_array){.length = 2, .offsets = loffs, .children = &child}, 2,
              "has 4 rows, 5 needed");
    bad_batch(&lt, &(struct arrow_array){.length = 2, .offsets = loffs}, 2, "no child arrays");

    struct arrow_array u, ch[2];
    small_arrays(&u, ch);
    static const int8_t bad_ids[] = {0, 2, 0};
    struct arrow_array x = u;
    x.type_ids = bad_ids;
    bad_batch(&small_type, &x, 3, "type id 2, which names no child");
    static const int32_t back[] = {1, 0, 0};
    x = u;
    x.offsets = back;
    bad_batch(&small_type, &x, 3, "out of order");
    static const int32_t far[] = {0, 0, 5};
    x = u;
    x.offsets = far;
    bad_batch(&small_type, &x, 3, "has 2 rows, 6 needed");
    x = u;
    x.null_count = 1;
    x.validity = bm;
    bad_batch(&small_type, &x, 3, "has nulls but cannot");
    x = u;
    x.type_ids = NULL;
    bad_batch(&small_type, &x, 3, "no type ids or offsets");
}

/* ---- zero-copy framing -------------------------------------------------------------------- */

/* Every message of enc, framed in place, equals arrow_flightdata_append's bytes. */
static int
take_equals_append(struct arrow_encoder *enc)
{
    struct arrow_msg m;
    bool got;
    int n = 0;
    for (;;) {
        ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
        if (!got) break;
        struct st_buf want;
        st_buf_init(&want, SIZE_MAX);
        ASSERT_OK_E(arrow_flightdata_append(&want, &m, NULL, 0, &E), &E);
        uint8_t *base;
        size_t off, len;
        ASSERT_OK_E(arrow_flightdata_take(enc, &m, &base, &off, &len, &E), &E);
        ASSERT_EQ_U64(len, want.len);
        ASSERT_TRUE(memcmp(base + off, want.data, len) == 0);
        ASSERT_EQ_INT((uintptr_t)(base + off + len - m.body_len) % 8, 0); /* body 8-aligned */
        /* the message is gone from the encoder: taking it again is refused */
        ASSERT_CODE(arrow_flightdata_take(enc, &m, &base, &off, &len, &E), ST_EINVAL);
        free(base);
        st_buf_cleanup(&want);
        n++;
    }
    return n;
}

TEST(flightdata_take_frames_in_place)
{
    struct nd d;
    nd_build(&d, 300);
    struct arrow_encoder_opts o = {.target_bytes = 2048, .max_bytes = 4096};
    struct arrow_encoder *enc = arrow_encoder_new_nested(nd_types(), ND_COLS, &o, &E);
    ASSERT_OK_E(arrow_encode_arrays(enc, d.cols, d.n_rows, &E), &E);
    ASSERT_TRUE(take_equals_append(enc) > 3);
    ASSERT_OK_E(arrow_encode_empty(enc, &E), &E);
    ASSERT_EQ_INT(take_equals_append(enc), 1);
    /* the schema has no body to frame */
    struct arrow_msg m;
    uint8_t *base;
    size_t off, len;
    ASSERT_OK_E(arrow_encode_schema(enc, &m, &E), &E);
    ASSERT_CODE(arrow_flightdata_take(enc, &m, &base, &off, &len, &E), ST_EINVAL);
    arrow_encoder_free(enc);
    nd_free(&d);

    /* a flat encoder, rows split over several messages, a body over 127 bytes and under */
    static const struct st_field ff[] = {{"t", ST_TYPE_TIME, ST_ROLE_TIME, false},
                                         {"v", ST_TYPE_INT, ST_ROLE_FIELD, true}};
    int64_t t[3000], v[3000];
    uint8_t bm[375];
    memset(bm, 0xff, sizeof bm);
    bm[3] = 0x0f;
    for (int i = 0; i < 3000; i++) {
        t[i] = i;
        v[i] = i * 3;
    }
    struct st_column cols[2] = {{.type = ST_TYPE_TIME, .v.i64 = t},
                                {.type = ST_TYPE_INT, .validity = bm, .null_count = 4,
                                 .v.i64 = v}};
    struct st_schema sc = {2, ff};
    struct st_batch b = {3000, 2, cols};
    struct arrow_encoder_opts o2 = {.target_bytes = 16384};
    enc = arrow_encoder_new(&sc, &o2, &E);
    ASSERT_OK_E(arrow_encode_batch(enc, &b, &E), &E);
    ASSERT_TRUE(take_equals_append(enc) > 1);
    b.n_rows = 3;
    ASSERT_OK_E(arrow_encode_batch(enc, &b, &E), &E);
    ASSERT_EQ_INT(take_equals_append(enc), 1);
    arrow_encoder_free(enc);
}

/* opts.body_alloc: a flat encoder takes its record-batch bodies from the caller (a block
 * large enough is used as it is, a too small one is freed and replaced, NULL means the
 * encoder allocates), and the framed messages are the same bytes either way. */
struct pool_stub {
    int calls, given;
    size_t cap; /* size of the blocks handed out; 0 = hand out nothing */
};

static void *
stub_alloc(void *ctx, size_t need, size_t *cap)
{
    struct pool_stub *ps = ctx;
    ps->calls++;
    ASSERT_TRUE(need > 0);
    if (!ps->cap)
        return NULL;
    ps->given++;
    *cap = ps->cap;
    return malloc(ps->cap);
}

TEST(flightdata_take_with_caller_body_allocator)
{
    static const struct st_field ff[] = {{"t", ST_TYPE_TIME, ST_ROLE_TIME, false},
                                         {"v", ST_TYPE_INT, ST_ROLE_FIELD, true}};
    int64_t t[3000], v[3000];
    for (int i = 0; i < 3000; i++) {
        t[i] = i;
        v[i] = i * 7;
    }
    struct st_column cols[2] = {{.type = ST_TYPE_TIME, .v.i64 = t},
                                {.type = ST_TYPE_INT, .v.i64 = v}};
    struct st_schema sc = {2, ff};
    struct st_batch b = {3000, 2, cols};
    size_t caps[] = {1u << 20, 64, 0}; /* large enough, too small, none */
    for (int k = 0; k < 3; k++) {
        struct pool_stub ps = {.cap = caps[k]};
        struct arrow_encoder_opts o = {.target_bytes = 16384, .body_alloc = stub_alloc,
                                       .body_alloc_ctx = &ps};
        struct arrow_encoder *enc = arrow_encoder_new(&sc, &o, &E);
        ASSERT_OK_E(arrow_encode_batch(enc, &b, &E), &E);
        int n = take_equals_append(enc);
        ASSERT_TRUE(n > 1);
        ASSERT_EQ_INT(ps.calls, n); /* asked once per message: every body was taken */
        ASSERT_EQ_INT(ps.given, caps[k] ? n : 0);
        arrow_encoder_free(enc);
    }
}
