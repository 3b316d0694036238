/*
 * test_arrow.c: unit tests of the Arrow IPC encoder and decoder
 * (gateway/arrow): reference bytes, round trips of every type with nulls,
 * splitting under a byte budget, alignment, FlightData framing, and every
 * error the decoder reports on hostile input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "th.h"

#include "arrow_int.h"
#include "arrow_testdata.h"
#include "strata/arrow_ipc.h"

/* ---- helpers -------------------------------------------------------------- */

static struct st_error E;

static struct arrow_encoder *
enc_new(struct tb *tb, size_t target, size_t max)
{
    struct arrow_encoder_opts o = {.target_bytes = target, .max_bytes = max};
    struct arrow_encoder *enc = arrow_encoder_new(tb_schema(tb), &o, &E);
    if (!enc) th_fail(__FILE__, __LINE__, "arrow_encoder_new: %s", E.msg);
    return enc;
}

/* Encode tb as a whole IPC stream into out; returns the number of record
 * batch messages; checks each FlightData against `target`. */
static int
encode_stream(struct tb *tb, size_t target, size_t max, struct st_buf *out)
{
    struct arrow_encoder *enc = enc_new(tb, target, max);
    struct arrow_msg m;
    bool got;
    int n = 0;
    ASSERT_OK_E(arrow_encode_schema(enc, &m, &E), &E);
    ASSERT_OK_E(arrow_stream_append(out, &m, &E), &E);
    ASSERT_OK_E(arrow_encode_batch(enc, tb_batch(tb), &E), &E);
    for (;;) {
        ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
        if (!got) break;
        ASSERT_EQ_INT(m.header_len % 8, 0);
        ASSERT_EQ_INT(m.body_len % 8, 0);
        if (m.n_rows > 1 && target) ASSERT_TRUE(arrow_flightdata_size(&m, 0) <= target);
        ASSERT_OK_E(arrow_stream_append(out, &m, &E), &E);
        n++;
    }
    ASSERT_OK_E(arrow_stream_append_eos(out, &E), &E);
    arrow_encoder_free(enc);
    return n;
}

static bool
same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* Rows [0, got->n_rows) of `got` equal rows [off, ...) of `want`. */
static void
assert_rows_equal(const struct st_batch *want, uint32_t off, const struct st_batch *got)
{
    ASSERT_EQ_INT(got->n_cols, want->n_cols);
    ASSERT_TRUE(off + got->n_rows <= want->n_rows);
    for (uint32_t c = 0; c < want->n_cols; c++) {
        const struct st_column *w = &want->cols[c], *g = &got->cols[c];
        ASSERT_EQ_INT(g->type, w->type);
        int64_t nulls = 0;
        for (uint32_t i = 0; i < got->n_rows; i++) {
            uint32_t r = off + i;
            bool wv = st_column_is_valid(w, r), gv = st_column_is_valid(g, i);
            if (wv != gv)
                th_fail(__FILE__, __LINE__, "column %u row %u: validity %d != %d", c, r, gv, wv);
            if (!wv) {
                nulls++;
                continue;
            }
            switch (w->type) {
            case ST_TYPE_TIME:
            case ST_TYPE_INT:
                ASSERT_EQ_INT(g->v.i64[i], w->v.i64[r]);
                break;
            case ST_TYPE_UINT:
                ASSERT_EQ_U64(g->v.u64[i], w->v.u64[r]);
                break;
            case ST_TYPE_FLOAT:
                if (!same_double(g->v.f64[i], w->v.f64[r]))
                    th_fail(__FILE__, __LINE__, "column %u row %u: %.17g != %.17g", c, r,
                            g->v.f64[i], w->v.f64[r]);
                break;
            case ST_TYPE_BOOL:
                ASSERT_EQ_INT(g->v.b[i], w->v.b[r] != 0);
                break;
            case ST_TYPE_STRING: {
                size_t wl = (size_t)(w->v.offsets[r + 1] - w->v.offsets[r]);
                size_t gl = (size_t)(g->v.offsets[i + 1] - g->v.offsets[i]);
                ASSERT_EQ_U64(gl, wl);
                ASSERT_TRUE(
                    memcmp(g->str_data + g->v.offsets[i], w->str_data + w->v.offsets[r], wl) == 0);
                break;
            }
            case ST_TYPE_NULL:
                break;
            }
        }
        ASSERT_EQ_INT(g->null_count, nulls);
        if (nulls == 0) ASSERT_TRUE(g->validity == NULL);
    }
}

/* Decode a whole stream and compare it to tb; returns the number of batches. */
static int
decode_and_compare(struct tb *tb, const struct st_buf *s)
{
    struct arrow_decoder *dec = arrow_decoder_new(NULL, &E);
    ASSERT_TRUE(dec != NULL);
    size_t pos = 0;
    enum arrow_msg_type t;
    uint32_t row = 0;
    int n = 0;
    ASSERT_OK_E(arrow_decode_stream_next(dec, s->data, s->len, &pos, &t, &E), &E);
    ASSERT_EQ_INT(t, ARROW_MSG_SCHEMA);
    const struct st_schema *sc = arrow_decoder_schema(dec);
    const struct st_schema *want = tb_schema(tb);
    ASSERT_EQ_INT(sc->n_fields, want->n_fields);
    for (uint32_t i = 0; i < sc->n_fields; i++) {
        ASSERT_EQ_STR(sc->fields[i].name, want->fields[i].name);
        ASSERT_EQ_INT(sc->fields[i].type, want->fields[i].type);
        ASSERT_EQ_INT(sc->fields[i].nullable, want->fields[i].nullable);
        enum st_role r = want->fields[i].role;
        if (r == ST_ROLE_FIELD &&
            (want->fields[i].type == ST_TYPE_TIME || want->fields[i].type == ST_TYPE_NULL))
            r = ST_ROLE_NONE; /* no iox type for those */
        ASSERT_EQ_INT(sc->fields[i].role, r);
    }
    for (;;) {
        ASSERT_OK_E(arrow_decode_stream_next(dec, s->data, s->len, &pos, &t, &E), &E);
        if (t == ARROW_MSG_EOS) break;
        ASSERT_EQ_INT(t, ARROW_MSG_RECORD_BATCH);
        const struct st_batch *b = arrow_decoder_batch(dec);
        assert_rows_equal(tb_batch(tb), row, b);
        row += b->n_rows;
        n++;
    }
    ASSERT_EQ_INT(pos, s->len);
    ASSERT_EQ_INT(row, tb->n_rows);
    arrow_decoder_free(dec);
    return n;
}

static int
hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Parse a hex string (spaces ignored) into out. */
static size_t
unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    while (*h) {
        if (*h == ' ' || *h == '\n') {
            h++;
            continue;
        }
        out[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
        h += 2;
    }
    return n;
}

/* ---- reference bytes ------------------------------------------------------ */

/* The minimal stream `x: Int64 not null`, one row = 7, as laid out by the
 * forward-writer algorithm (shared research arrow-ipc-flight.md 3.3). */
static const char ref_minimal[] =
    "ffffffff 88000000"
    "14000000 0c001300 10001200 0c000400 00000000 10000000 0000000000000000"
    "10000000 0400 01 00 08000800 00000400 08000000 04000000 01000000 14000000"
    "10001200 04001000 11000800 00000c00 10000000 10000000 1c000000 24000000"
    "00 02 0000 01000000 7800 08000900 04000800 0000 0a000000 40000000 01 000000"
    "00000000 00000000"
    "ffffffff 88000000"
    "14000000 0c001300 10001200 0c000400 00000000 10000000 0800000000000000"
    "14000000 0400 03 00 0a001400 04000c00 1000 0000 0c000000 0100000000000000"
    "0c000000 20000000 00000000 01000000 0100000000000000 0000000000000000"
    "00000000 02000000 0000000000000000 0000000000000000"
    "0000000000000000 0800000000000000"
    "0700000000000000"
    "ffffffff 00000000";

TEST(minimal_stream_matches_reference_bytes)
{
    struct tb tb;
    tb_init(&tb, 1);
    tb_add_int(&tb, "x", ST_ROLE_NONE, false)[0] = 7;
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    ASSERT_EQ_INT(encode_stream(&tb, 0, 0, &s), 1);
    uint8_t want[512];
    size_t wn = unhex(ref_minimal, want);
    ASSERT_EQ_INT(wn, 304);
    ASSERT_EQ_INT(s.len, wn);
    for (size_t i = 0; i < wn; i++)
        if (s.data[i] != want[i])
            th_fail(__FILE__, __LINE__, "byte %zu: %02x != %02x", i, s.data[i], want[i]);
    st_buf_cleanup(&s);
    tb_free(&tb);
}

TEST(flightdata_framing_matches_reference_bytes)
{
    struct tb tb;
    tb_init(&tb, 1);
    tb_add_int(&tb, "x", ST_ROLE_NONE, false)[0] = 7;
    struct arrow_encoder *enc = enc_new(&tb, 0, 0);
    struct arrow_msg m;
    bool got;
    struct st_buf fd;
    st_buf_init(&fd, SIZE_MAX);
    ASSERT_OK(arrow_encode_schema(enc, &m, &E));
    ASSERT_OK(arrow_flightdata_append(&fd, &m, NULL, 0, &E));
    ASSERT_EQ_INT(fd.len, 139); /* 12 88 01 <136> */
    ASSERT_EQ_INT(arrow_flightdata_size(&m, 0), 139);
    ASSERT_TRUE(fd.data[0] == 0x12 && fd.data[1] == 0x88 && fd.data[2] == 0x01);
    ASSERT_TRUE(memcmp(fd.data + 3, m.header, 136) == 0);

    st_buf_reset(&fd);
    ASSERT_OK(arrow_encode_batch(enc, tb_batch(&tb), &E));
    ASSERT_OK(arrow_encode_next(enc, &m, &got, &E));
    ASSERT_TRUE(got);
    ASSERT_OK(arrow_flightdata_append(&fd, &m, NULL, 0, &E));
    ASSERT_EQ_INT(fd.len, 150); /* ... c2 3e 08 <8 bytes> */
    ASSERT_TRUE(fd.data[139] == 0xc2 && fd.data[140] == 0x3e && fd.data[141] == 0x08);
    ASSERT_EQ_INT(fd.data[142], 7);

    /* app_metadata present but empty: 1a 00 between header and body */
    st_buf_reset(&fd);
    ASSERT_OK(arrow_flightdata_append(&fd, &m, (const uint8_t *)"", 0, &E));
    ASSERT_EQ_INT(fd.len, 152);
    ASSERT_TRUE(fd.data[139] == 0x1a && fd.data[140] == 0x00 && fd.data[141] == 0xc2);
    ASSERT_OK(arrow_encode_next(enc, &m, &got, &E));
    ASSERT_FALSE(got);

    struct arrow_msg empty = {0};
    ASSERT_CODE(arrow_flightdata_append(&fd, &empty, NULL, 0, &E), ST_EINVAL);
    ASSERT_CODE(arrow_stream_append(&fd, &empty, &E), ST_EINVAL);
    st_buf_cleanup(&fd);
    arrow_encoder_free(enc);
    tb_free(&tb);
}

/* ---- layout ---------------------------------------------------------------- */

TEST(schema_carries_types_and_iox_metadata)
{
    struct tb tb;
    td_all_types(&tb, 3, 1);
    struct arrow_encoder *enc = enc_new(&tb, 0, 0);
    struct arrow_msg m;
    ASSERT_OK(arrow_encode_schema(enc, &m, &E));
    struct fbr fb = {m.header, m.header_len};
    struct fbr_table root, schema, field, type;
    bool present;
    int16_t version;
    uint8_t ht;
    ASSERT_OK(fbr_root(&fb, &root));
    ASSERT_OK(fbr_i16(&root, MSG_VERSION, 0, &version));
    ASSERT_EQ_INT(version, ARROW_V5);
    ASSERT_OK(fbr_u8(&root, MSG_HEADER_TYPE, 0, &ht));
    ASSERT_EQ_INT(ht, ARROW_HDR_SCHEMA);
    ASSERT_OK(fbr_table_field(&root, MSG_HEADER, &schema, &present));
    size_t vec;
    uint32_t n;
    ASSERT_OK(fbr_vector_field(&schema, SCHEMA_FIELDS, 4, &vec, &n, &present));
    ASSERT_EQ_INT(n, tb.n_cols);
    static const struct {
        uint8_t tag;
        const char *iox;
    } want[] = {
        {ARROW_T_TIMESTAMP, "iox::column_type::timestamp"},
        {ARROW_T_UTF8, "iox::column_type::tag"},
        {ARROW_T_FLOAT, "iox::column_type::field::float"},
        {ARROW_T_INT, "iox::column_type::field::integer"},
        {ARROW_T_INT, "iox::column_type::field::uinteger"},
        {ARROW_T_BOOL, "iox::column_type::field::boolean"},
        {ARROW_T_UTF8, "iox::column_type::field::string"},
        {ARROW_T_INT, NULL},
        {ARROW_T_TIMESTAMP, NULL},
        {ARROW_T_NULL, NULL},
    };
    ASSERT_EQ_INT(n, sizeof want / sizeof want[0]);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t tag;
        ASSERT_OK(fbr_vector_table(&fb, vec, i, &field));
        ASSERT_OK(fbr_u8(&field, FIELD_TYPE_TYPE, 0, &tag));
        ASSERT_EQ_INT(tag, want[i].tag);
        ASSERT_OK(fbr_table_field(&field, FIELD_TYPE, &type, &present));
        ASSERT_TRUE(present); /* always, even for Utf8, Bool and Null */
        size_t cv, mv;
        uint32_t cn, mn;
        ASSERT_OK(fbr_vector_field(&field, FIELD_CHILDREN, 4, &cv, &cn, &present));
        ASSERT_TRUE(present);
        ASSERT_EQ_INT(cn, 0);
        ASSERT_OK(fbr_vector_field(&field, FIELD_METADATA, 4, &mv, &mn, &present));
        ASSERT_EQ_INT(mn, want[i].iox ? 1 : 0);
        if (want[i].iox) {
            struct fbr_table kv;
            const char *s;
            uint32_t sl;
            ASSERT_OK(fbr_vector_table(&fb, mv, 0, &kv));
            ASSERT_OK(fbr_string_field(&kv, KV_VALUE, &s, &sl, &present));
            ASSERT_EQ_INT(sl, strlen(want[i].iox));
            ASSERT_TRUE(memcmp(s, want[i].iox, sl) == 0 && s[sl] == '\0'); /* NUL-terminated */
        }
        if (tag == ARROW_T_INT) {
            int32_t bw;
            uint8_t sg;
            ASSERT_OK(fbr_i32(&type, INT_BITWIDTH, 0, &bw));
            ASSERT_OK(fbr_u8(&type, INT_SIGNED, 9, &sg));
            ASSERT_EQ_INT(bw, 64);
            ASSERT_EQ_INT(sg, i == 4 ? 0 : 1); /* written explicitly either way */
        } else if (tag == ARROW_T_FLOAT) {
            int16_t p;
            ASSERT_OK(fbr_i16(&type, FLOAT_PRECISION, 0, &p));
            ASSERT_EQ_INT(p, 2);
        } else if (tag == ARROW_T_TIMESTAMP) {
            int16_t u;
            const char *tz;
            uint32_t tzl;
            ASSERT_OK(fbr_i16(&type, TS_UNIT, 0, &u));
            ASSERT_EQ_INT(u, 3);
            ASSERT_OK(fbr_string_field(&type, TS_TIMEZONE, &tz, &tzl, &present));
            ASSERT_FALSE(present);
        }
    }
    arrow_encoder_free(enc);
    tb_free(&tb);
}

TEST(record_batch_buffers_are_8_aligned_and_inside_the_body)
{
    struct tb tb;
    td_all_types(&tb, 37, 2);
    struct arrow_encoder *enc = enc_new(&tb, 0, 0);
    struct arrow_msg m;
    bool got;
    ASSERT_OK(arrow_encode_batch(enc, tb_batch(&tb), &E));
    ASSERT_OK(arrow_encode_next(enc, &m, &got, &E));
    struct fbr fb = {m.header, m.header_len};
    struct fbr_table root, rb;
    bool present;
    int64_t body_len, len;
    ASSERT_OK(fbr_root(&fb, &root));
    ASSERT_OK(fbr_i64(&root, MSG_BODY_LENGTH, -1, &body_len));
    ASSERT_EQ_INT(body_len, m.body_len);
    ASSERT_OK(fbr_table_field(&root, MSG_HEADER, &rb, &present));
    ASSERT_OK(fbr_i64(&rb, RB_LENGTH, -1, &len));
    ASSERT_EQ_INT(len, 37);
    size_t bufs, nodes;
    uint32_t nb, nn;
    ASSERT_OK(fbr_vector_field(&rb, RB_BUFFERS, 16, &bufs, &nb, &present));
    ASSERT_OK(fbr_vector_field(&rb, RB_NODES, 16, &nodes, &nn, &present));
    ASSERT_EQ_INT(bufs % 8, 0); /* struct vectors start 8-aligned */
    ASSERT_EQ_INT(nodes % 8, 0);
    ASSERT_EQ_INT(nn, tb.n_cols);
    ASSERT_EQ_INT(nb, 2 + 3 + 2 + 2 + 2 + 2 + 3 + 2 + 2 + 0);
    int64_t prev_end = 0;
    for (uint32_t i = 0; i < nb; i++) {
        int64_t off = (int64_t)st_load_u64le(m.header + bufs + 16 * i);
        int64_t l = (int64_t)st_load_u64le(m.header + bufs + 16 * i + 8);
        ASSERT_EQ_INT(off % 8, 0);
        ASSERT_TRUE(off >= prev_end);
        ASSERT_TRUE(off + l <= body_len);
        prev_end = off + l;
    }
    /* the null column's node says all rows are null; time has none */
    ASSERT_EQ_INT((int64_t)st_load_u64le(m.header + nodes + 16 * 9 + 8), 37);
    ASSERT_EQ_INT((int64_t)st_load_u64le(m.header + nodes + 8), 0);
    /* padding is zero */
    for (size_t i = (size_t)prev_end; i < m.body_len; i++)
        ASSERT_EQ_INT(m.body[i], 0);
    arrow_encoder_free(enc);
    tb_free(&tb);
}

/* ---- round trips ---------------------------------------------------------- */

TEST(roundtrip_every_type_with_nulls)
{
    for (uint32_t n = 0; n < 70; n += 3) {
        struct tb tb;
        td_all_types(&tb, n, n);
        struct st_buf s;
        st_buf_init(&s, SIZE_MAX);
        ASSERT_EQ_INT(encode_stream(&tb, 0, 0, &s), 1);
        ASSERT_EQ_INT(decode_and_compare(&tb, &s), 1);
        st_buf_cleanup(&s);
        tb_free(&tb);
    }
}

TEST(empty_batch_gives_one_zero_row_message)
{
    struct tb tb;
    td_all_types(&tb, 0, 0);
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    ASSERT_EQ_INT(encode_stream(&tb, 0, 0, &s), 1);
    ASSERT_EQ_INT(decode_and_compare(&tb, &s), 1);
    st_buf_cleanup(&s);
    tb_free(&tb);
}

TEST(schema_without_columns)
{
    struct tb tb;
    tb_init(&tb, 5);
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    ASSERT_EQ_INT(encode_stream(&tb, 0, 0, &s), 1);
    ASSERT_EQ_INT(decode_and_compare(&tb, &s), 1);
    st_buf_cleanup(&s);
    tb_free(&tb);
}

TEST(split_by_rows_under_a_small_budget)
{
    struct tb tb;
    td_all_types(&tb, 5000, 7);
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    int n = encode_stream(&tb, 8192, 0, &s);
    ASSERT_TRUE(n > 20);
    ASSERT_EQ_INT(decode_and_compare(&tb, &s), n);
    st_buf_cleanup(&s);
    tb_free(&tb);
}

static size_t
len_100k(uint32_t row)
{
    return 100000 + row % 1000;
}

TEST(split_by_string_bytes_at_2mib)
{
    struct tb tb;
    td_strings(&tb, 60, len_100k);
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    int n = encode_stream(&tb, 0, 0, &s); /* default 2 MiB target, checked per message */
    ASSERT_TRUE(n >= 3);
    ASSERT_EQ_INT(decode_and_compare(&tb, &s), n);
    st_buf_cleanup(&s);
    tb_free(&tb);
}

static size_t
len_one_big(uint32_t row)
{
    return row == 1 ? (size_t)3 << 20 : 10;
}

TEST(a_row_over_the_target_goes_alone)
{
    struct tb tb;
    td_strings(&tb, 3, len_one_big);
    struct arrow_encoder *enc = enc_new(&tb, 0, 0);
    struct arrow_msg m;
    bool got;
    uint32_t rows[4] = {0};
    int n = 0;
    ASSERT_OK(arrow_encode_batch(enc, tb_batch(&tb), &E));
    for (;;) {
        ASSERT_OK_E(arrow_encode_next(enc, &m, &got, &E), &E);
        if (!got) break;
        ASSERT_TRUE(n < 4);
        rows[n++] = m.n_rows;
        ASSERT_TRUE(arrow_flightdata_size(&m, 0) <= ARROW_FLIGHT_MAX_BYTES);
    }
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_INT(rows[0], 1);
    ASSERT_EQ_INT(rows[1], 1);
    ASSERT_EQ_INT(rows[2], 1);
    arrow_encoder_free(enc);
    tb_free(&tb);
}

static size_t
len_5m(uint32_t row)
{
    return row == 0 ? 10 : (size_t)5 << 20;
}

TEST(a_row_over_the_maximum_is_elimit)
{
    struct tb tb;
    td_strings(&tb, 2, len_5m);
    struct arrow_encoder *enc = enc_new(&tb, 0, 0);
    struct arrow_msg m;
    bool got;
    ASSERT_OK(arrow_encode_batch(enc, tb_batch(&tb), &E));
    ASSERT_OK(arrow_encode_next(enc, &m, &got, &E));
    ASSERT_TRUE(got);
    ASSERT_EQ_INT(m.n_rows, 1);
    ASSERT_CODE(arrow_encode_next(enc, &m, &got, &E), ST_ELIMIT);
    ASSERT_CONTAINS(E.msg, "row 1");
    arrow_encoder_free(enc);
    tb_free(&tb);
}

TEST(batch_must_match_schema)
{
    struct tb a, b;
    td_all_types(&a, 4, 0);
    tb_init(&b, 4);
    tb_add_int(&b, "x", ST_ROLE_NONE, false);
    struct arrow_encoder *enc = enc_new(&a, 0, 0);
    ASSERT_CODE(arrow_encode_batch(enc, tb_batch(&b), &E), ST_EINVAL);
    ASSERT_CONTAINS(E.msg, "columns");
    struct tb c;
    tb_init(&c, 1);
    tb_add_float(&c, "x", ST_ROLE_NONE, false);
    struct arrow_encoder *enc2 = enc_new(&b, 0, 0);
    ASSERT_CODE(arrow_encode_batch(enc2, tb_batch(&c), &E), ST_EINVAL);
    ASSERT_CONTAINS(E.msg, "\"x\"");
    arrow_encoder_free(enc);
    arrow_encoder_free(enc2);
    tb_free(&a);
    tb_free(&b);
    tb_free(&c);
}

TEST(encoder_rejects_unknown_types_and_tiny_budgets)
{
    struct st_field f = {"x", (enum st_type)99, ST_ROLE_NONE, false};
    struct st_schema s = {1, &f};
    ASSERT_TRUE(arrow_encoder_new(&s, NULL, &E) == NULL);
    ASSERT_EQ_INT(E.code, ST_EINVAL);
    f.type = ST_TYPE_INT;
    struct arrow_encoder_opts o = {.target_bytes = 64};
    ASSERT_TRUE(arrow_encoder_new(&s, &o, &E) == NULL);
    ASSERT_EQ_INT(E.code, ST_ELIMIT);
}

TEST(schema_metadata_is_written)
{
    struct tb tb;
    td_all_types(&tb, 1, 0);
    struct arrow_kv kv[] = {{"iox::influxql::group_key::metadata", "{}"}, {"k", ""}};
    struct arrow_encoder_opts o = {.schema_metadata = kv, .n_schema_metadata = 2};
    struct arrow_encoder *enc = arrow_encoder_new(tb_schema(&tb), &o, &E);
    ASSERT_TRUE(enc != NULL);
    struct arrow_msg m;
    ASSERT_OK(arrow_encode_schema(enc, &m, &E));
    struct fbr fb = {m.header, m.header_len};
    struct fbr_table root, schema, k1;
    bool present;
    size_t v;
    uint32_t n;
    const char *s;
    uint32_t sl;
    ASSERT_OK(fbr_root(&fb, &root));
    ASSERT_OK(fbr_table_field(&root, MSG_HEADER, &schema, &present));
    ASSERT_OK(fbr_vector_field(&schema, SCHEMA_METADATA, 4, &v, &n, &present));
    ASSERT_EQ_INT(n, 2);
    ASSERT_OK(fbr_vector_table(&fb, v, 1, &k1));
    ASSERT_OK(fbr_string_field(&k1, KV_VALUE, &s, &sl, &present));
    ASSERT_TRUE(present); /* empty value still written */
    ASSERT_EQ_INT(sl, 0);
    /* and the decoder does not mind */
    struct arrow_decoder *dec = arrow_decoder_new(NULL, &E);
    enum arrow_msg_type t;
    ASSERT_OK(arrow_decode(dec, m.header, m.header_len, NULL, 0, &t, &E));
    arrow_decoder_free(dec);
    arrow_encoder_free(enc);
    tb_free(&tb);
}

/* ---- crafted messages for the decoder ------------------------------------ */

struct xfield {
    const char *name;
    uint8_t tag;
    int32_t bitwidth;  /* INT */
    int is_signed;     /* INT */
    int16_t precision; /* FLOAT */
    int16_t unit;      /* TIMESTAMP */
    bool no_type_table;
    bool dictionary;
    bool child;
};

static void
craft_schema(struct st_buf *out, const struct xfield *xf, uint32_t n, int16_t version,
             int16_t endianness)
{
    struct fbw w;
    st_buf_reset(out);
    fbw_init(&w, out);
    size_t root = fbw_root(&w);
    struct fbw_field mf[] = {{MSG_VERSION, FBW_I16, (uint64_t)version, 0},
                             {MSG_HEADER_TYPE, FBW_U8, ARROW_HDR_SCHEMA, 0},
                             {MSG_HEADER, FBW_OFFSET, 0, 0}};
    fbw_patch(&w, root, fbw_table(&w, mf, 3));
    struct fbw_field sf[] = {{SCHEMA_ENDIANNESS, FBW_I16, (uint64_t)endianness, 0},
                             {SCHEMA_FIELDS, FBW_OFFSET, 0, 0}};
    fbw_patch(&w, mf[2].pos, fbw_table(&w, sf, 2));
    size_t vec = fbw_offset_vector(&w, n);
    fbw_patch(&w, sf[1].pos, vec);
    for (uint32_t i = 0; i < n; i++) {
        struct fbw_field ff[6] = {{FIELD_NAME, FBW_OFFSET, 0, 0},
                                  {FIELD_TYPE_TYPE, FBW_U8, xf[i].tag, 0},
                                  {FIELD_CHILDREN, FBW_OFFSET, 0, 0}};
        size_t nf = 3, type_i = 0, dict_i = 0;
        if (!xf[i].no_type_table) {
            type_i = nf;
            ff[nf++] = (struct fbw_field){FIELD_TYPE, FBW_OFFSET, 0, 0};
        }
        if (xf[i].dictionary) {
            dict_i = nf;
            ff[nf++] = (struct fbw_field){FIELD_DICTIONARY, FBW_OFFSET, 0, 0};
        }
        fbw_patch(&w, vec + 4 + 4 * i, fbw_table(&w, ff, nf));
        fbw_patch(&w, ff[0].pos, fbw_string(&w, xf[i].name, strlen(xf[i].name)));
        if (type_i) {
            struct fbw_field tf[2];
            size_t nt = 0;
            if (xf[i].tag == ARROW_T_INT) {
                tf[nt++] = (struct fbw_field){INT_BITWIDTH, FBW_I32, (uint64_t)xf[i].bitwidth, 0};
                tf[nt++] = (struct fbw_field){INT_SIGNED, FBW_U8, (uint64_t)xf[i].is_signed, 0};
            } else if (xf[i].tag == ARROW_T_FLOAT) {
                tf[nt++] =
                    (struct fbw_field){FLOAT_PRECISION, FBW_I16, (uint64_t)xf[i].precision, 0};
            } else if (xf[i].tag == ARROW_T_TIMESTAMP) {
                tf[nt++] = (struct fbw_field){TS_UNIT, FBW_I16, (uint64_t)xf[i].unit, 0};
                tf[nt++] = (struct fbw_field){TS_TIMEZONE, FBW_OFFSET, 0, 0};
            }
            fbw_patch(&w, ff[type_i].pos, fbw_table(&w, tf, nt));
            if (xf[i].tag == ARROW_T_TIMESTAMP) fbw_patch(&w, tf[1].pos, fbw_string(&w, "UTC", 3));
        }
        if (dict_i) {
            struct fbw_field df[] = {{0, FBW_I64, 0, 0}};
            fbw_patch(&w, ff[dict_i].pos, fbw_table(&w, df, 1));
        }
        size_t cv = fbw_offset_vector(&w, xf[i].child ? 1 : 0);
        fbw_patch(&w, ff[2].pos, cv);
        if (xf[i].child) {
            struct fbw_field chf[] = {{FIELD_TYPE_TYPE, FBW_U8, ARROW_T_BOOL, 0}};
            fbw_patch(&w, cv + 4, fbw_table(&w, chf, 1));
        }
    }
    fbw_pad(&w, 8, 0);
    if (w.rc != ST_OK) th_fail(__FILE__, __LINE__, "craft_schema failed");
}

static void
craft_rb(struct st_buf *out, int64_t length, const int64_t (*nodes)[2], uint32_t nn,
         const int64_t (*bufs)[2], uint32_t nb, int64_t body_len, bool compression)
{
    struct fbw w;
    st_buf_reset(out);
    fbw_init(&w, out);
    size_t root = fbw_root(&w);
    struct fbw_field mf[] = {{MSG_VERSION, FBW_I16, ARROW_V5, 0},
                             {MSG_HEADER_TYPE, FBW_U8, ARROW_HDR_RECORD_BATCH, 0},
                             {MSG_HEADER, FBW_OFFSET, 0, 0},
                             {MSG_BODY_LENGTH, FBW_I64, (uint64_t)body_len, 0}};
    fbw_patch(&w, root, fbw_table(&w, mf, 4));
    struct fbw_field rf[] = {{RB_LENGTH, FBW_I64, (uint64_t)length, 0},
                             {RB_NODES, FBW_OFFSET, 0, 0},
                             {RB_BUFFERS, FBW_OFFSET, 0, 0},
                             {RB_COMPRESSION, FBW_OFFSET, 0, 0}};
    fbw_patch(&w, mf[2].pos, fbw_table(&w, rf, compression ? 4 : 3));
    fbw_patch(&w, rf[1].pos, fbw_struct16_vector(&w, nodes, nn));
    fbw_patch(&w, rf[2].pos, fbw_struct16_vector(&w, bufs, nb));
    if (compression) {
        struct fbw_field cf[] = {{0, FBW_U8, 1, 0}};
        fbw_patch(&w, rf[3].pos, fbw_table(&w, cf, 1));
    }
    fbw_pad(&w, 8, 0);
    if (w.rc != ST_OK) th_fail(__FILE__, __LINE__, "craft_rb failed");
}

/* A decoder that has accepted the given one-field schema. */
static struct arrow_decoder *
dec_with(const struct xfield *xf, uint32_t n)
{
    struct st_buf h;
    st_buf_init(&h, SIZE_MAX);
    craft_schema(&h, xf, n, ARROW_V5, 0);
    struct arrow_decoder *dec = arrow_decoder_new(NULL, &E);
    enum arrow_msg_type t;
    ASSERT_OK_E(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), &E);
    ASSERT_EQ_INT(t, ARROW_MSG_SCHEMA);
    st_buf_cleanup(&h);
    return dec;
}

static enum st_code
decode_rb(struct arrow_decoder *dec, int64_t length, const int64_t (*nodes)[2], uint32_t nn,
          const int64_t (*bufs)[2], uint32_t nb, const uint8_t *body, size_t body_len)
{
    struct st_buf h;
    st_buf_init(&h, SIZE_MAX);
    craft_rb(&h, length, nodes, nn, bufs, nb, (int64_t)body_len, false);
    enum arrow_msg_type t;
    enum st_code rc = arrow_decode(dec, h.data, h.len, body, body_len, &t, &E);
    st_buf_cleanup(&h);
    return rc;
}

TEST(decoder_accepts_other_widths_units_and_large_utf8)
{
    struct xfield xf[] = {
        {"i8", ARROW_T_INT, 8, 1, 0, 0, false, false, false},
        {"u16", ARROW_T_INT, 16, 0, 0, 0, false, false, false},
        {"i32", ARROW_T_INT, 32, 1, 0, 0, false, false, false},
        {"f32", ARROW_T_FLOAT, 0, 0, 1, 0, false, false, false},
        {"ts_ms", ARROW_T_TIMESTAMP, 0, 0, 0, 1, false, false, false},
        {"ls", ARROW_T_LARGE_UTF8, 0, 0, 0, 0, false, false, false},
        {"u8", ARROW_T_UTF8, 0, 0, 0, 0, true, false, false}, /* no type table: tolerated */
    };
    struct arrow_decoder *dec = dec_with(xf, 7);
    const struct st_schema *s = arrow_decoder_schema(dec);
    ASSERT_EQ_INT(s->fields[0].type, ST_TYPE_INT);
    ASSERT_EQ_INT(s->fields[1].type, ST_TYPE_UINT);
    ASSERT_EQ_INT(s->fields[3].type, ST_TYPE_FLOAT);
    ASSERT_EQ_INT(s->fields[4].type, ST_TYPE_TIME);
    ASSERT_EQ_INT(s->fields[5].type, ST_TYPE_STRING);

    uint8_t body[256] = {0};
    /* 2 rows each */
    body[0] = 0xfe;
    body[1] = 0x05; /* i8: -2, 5 @0 */
    body[8] = 0xff;
    body[9] = 0xff;
    body[10] = 1;                            /* u16: 65535, 1 @8 */
    st_store_u32le(body + 16, (uint32_t)-7); /* i32 @16 */
    st_store_u32le(body + 20, 70000);
    float f0 = 1.5f, f1 = -0.25f; /* f32 @24 */
    memcpy(body + 24, &f0, 4);
    memcpy(body + 28, &f1, 4);
    st_store_u64le(body + 32, 1700000000000ULL); /* ts ms @32 */
    st_store_u64le(body + 40, (uint64_t)-1);
    st_store_u64le(body + 48, 0); /* large offsets @48: 0,2,5 */
    st_store_u64le(body + 56, 2);
    st_store_u64le(body + 64, 5);
    memcpy(body + 72, "abcde", 5); /* @72 */
    st_store_u32le(body + 80, 3);  /* utf8 offsets @80: 3,3,4 (not 0-based) */
    st_store_u32le(body + 84, 3);
    st_store_u32le(body + 88, 4);
    memcpy(body + 96, "xyzw", 4); /* @96 */
    int64_t nodes[7][2] = {{2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, 0}, {2, -1}};
    int64_t bufs[16][2] = {{0, 0},  {0, 2},  {8, 0},   {8, 4},   {16, 0}, {16, 8},
                           {24, 0}, {24, 8}, {32, 0},  {32, 16}, {48, 0}, {48, 24},
                           {72, 5}, {80, 0}, {80, 12}, {96, 4}};
    ASSERT_OK_E(decode_rb(dec, 2, nodes, 7, bufs, 16, body, 104), &E);
    const struct st_batch *b = arrow_decoder_batch(dec);
    ASSERT_EQ_INT(b->n_rows, 2);
    ASSERT_EQ_INT(b->cols[0].v.i64[0], -2);
    ASSERT_EQ_INT(b->cols[0].v.i64[1], 5);
    ASSERT_EQ_U64(b->cols[1].v.u64[0], 65535);
    ASSERT_EQ_U64(b->cols[1].v.u64[1], 1);
    ASSERT_EQ_INT(b->cols[2].v.i64[0], -7);
    ASSERT_EQ_INT(b->cols[2].v.i64[1], 70000);
    ASSERT_EQ_DBL(b->cols[3].v.f64[0], 1.5);
    ASSERT_EQ_DBL(b->cols[3].v.f64[1], -0.25);
    ASSERT_EQ_INT(b->cols[4].v.i64[0], 1700000000000000000LL);
    ASSERT_EQ_INT(b->cols[4].v.i64[1], -1000000);
    ASSERT_EQ_INT(b->cols[5].v.offsets[1], 2);
    ASSERT_TRUE(memcmp(b->cols[5].str_data, "abcde", 5) == 0);
    ASSERT_EQ_INT(b->cols[6].v.offsets[0], 0); /* rebased */
    ASSERT_EQ_INT(b->cols[6].v.offsets[2], 1);
    ASSERT_EQ_INT(b->cols[6].str_data[0], 'w');
    ASSERT_TRUE(b->cols[6].validity == NULL); /* null count -1 without bitmap: no nulls */
    arrow_decoder_free(dec);
}

TEST(decoder_null_count_unknown_uses_the_bitmap)
{
    struct xfield xf[] = {{"i", ARROW_T_INT, 64, 1, 0, 0, false, false, false}};
    struct arrow_decoder *dec = dec_with(xf, 1);
    uint8_t body[32] = {0x05}; /* rows 0 and 2 valid */
    int64_t nodes[1][2] = {{3, -1}};
    int64_t bufs[2][2] = {{0, 1}, {8, 24}};
    ASSERT_OK_E(decode_rb(dec, 3, nodes, 1, bufs, 2, body, 32), &E);
    const struct st_batch *b = arrow_decoder_batch(dec);
    ASSERT_EQ_INT(b->cols[0].null_count, 1);
    ASSERT_FALSE(st_column_is_valid(&b->cols[0], 1));
    arrow_decoder_free(dec);
}

TEST(decoder_rejects_malformed_record_batches)
{
    struct xfield xs[] = {{"s", ARROW_T_UTF8, 0, 0, 0, 0, false, false, false}};
    struct xfield xi[] = {{"i", ARROW_T_INT, 64, 1, 0, 0, false, false, false}};
    uint8_t body[64] = {0};
    int64_t n1[1][2] = {{2, 0}};
    struct arrow_decoder *dec = dec_with(xs, 1);

    /* offsets decrease */
    st_store_u32le(body + 0, 0);
    st_store_u32le(body + 4, 3);
    st_store_u32le(body + 8, 2);
    int64_t b1[3][2] = {{0, 0}, {0, 12}, {16, 8}};
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b1, 3, body, 24), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "decrease");
    ASSERT_TRUE(arrow_decoder_batch(dec) == NULL);
    /* offset past the data */
    st_store_u32le(body + 8, 9);
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b1, 3, body, 24), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "past");
    /* negative first offset */
    st_store_u32le(body + 0, (uint32_t)-1);
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b1, 3, body, 24), ST_ECORRUPT);
    st_store_u32le(body + 0, 0);
    /* offsets buffer too short (n entries instead of n + 1) */
    int64_t b2[3][2] = {{0, 0}, {0, 8}, {16, 8}};
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b2, 3, body, 24), ST_ECORRUPT);
    /* buffer outside the body */
    int64_t b3[3][2] = {{0, 0}, {0, 12}, {16, 9}};
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b3, 3, body, 24), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "outside");
    int64_t b4[3][2] = {{0, 0}, {-8, 12}, {16, 8}};
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b4, 3, body, 24), ST_ECORRUPT);
    int64_t b5[3][2] = {{0, 0}, {INT64_MAX, 12}, {16, 8}};
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b5, 3, body, 24), ST_ECORRUPT);
    /* wrong buffer count, wrong node count */
    ASSERT_CODE(decode_rb(dec, 2, n1, 1, b1, 2, body, 24), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "buffers");
    int64_t n2[2][2] = {{2, 0}, {2, 0}};
    ASSERT_CODE(decode_rb(dec, 2, n2, 2, b1, 3, body, 24), ST_ECORRUPT);
    /* node length differs from the batch length */
    int64_t n3[1][2] = {{3, 0}};
    ASSERT_CODE(decode_rb(dec, 2, n3, 1, b1, 3, body, 24), ST_ECORRUPT);
    /* null count out of range */
    int64_t n4[1][2] = {{2, 3}};
    ASSERT_CODE(decode_rb(dec, 2, n4, 1, b1, 3, body, 24), ST_ECORRUPT);
    /* nulls declared, no bitmap */
    int64_t n5[1][2] = {{2, 1}};
    ASSERT_CODE(decode_rb(dec, 2, n5, 1, b1, 3, body, 24), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "no validity bitmap");
    /* negative length */
    ASSERT_CODE(decode_rb(dec, -1, n1, 1, b1, 3, body, 24), ST_ECORRUPT);
    arrow_decoder_free(dec);

    dec = dec_with(xi, 1);
    /* null count does not match the bitmap */
    uint8_t body2[32] = {0x01};
    int64_t nn[1][2] = {{2, 2}};
    int64_t bb[2][2] = {{0, 1}, {8, 16}};
    ASSERT_CODE(decode_rb(dec, 2, nn, 1, bb, 2, body2, 24), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "bitmap");
    /* values too short for the rows */
    int64_t nz[1][2] = {{2, 0}};
    int64_t bs[2][2] = {{0, 0}, {8, 8}};
    ASSERT_CODE(decode_rb(dec, 2, nz, 1, bs, 2, body2, 24), ST_ECORRUPT);
    /* header says a bigger body than given */
    struct st_buf h;
    st_buf_init(&h, SIZE_MAX);
    int64_t bok[2][2] = {{0, 0}, {8, 16}};
    craft_rb(&h, 2, nz, 1, bok, 2, 64, false);
    enum arrow_msg_type t;
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, body2, 24, &t, &E), ST_ECORRUPT);
    /* compression */
    craft_rb(&h, 2, nz, 1, bok, 2, 24, true);
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, body2, 24, &t, &E), ST_EUNSUPPORTED);
    st_buf_cleanup(&h);
    arrow_decoder_free(dec);
}

TEST(decoder_rejects_timestamp_overflow)
{
    struct xfield xf[] = {{"t", ARROW_T_TIMESTAMP, 0, 0, 0, 0 /* seconds */, false, false, false}};
    struct arrow_decoder *dec = dec_with(xf, 1);
    uint8_t body[16] = {0};
    st_store_u64le(body, (uint64_t)INT64_MAX / 10);
    int64_t nodes[1][2] = {{1, 0}};
    int64_t bufs[2][2] = {{0, 0}, {0, 8}};
    ASSERT_CODE(decode_rb(dec, 1, nodes, 1, bufs, 2, body, 8), ST_ELIMIT);
    ASSERT_CONTAINS(E.msg, "\"t\"");
    arrow_decoder_free(dec);
}

TEST(decoder_rejects_unsupported_schemas)
{
    static const struct {
        struct xfield f;
        enum st_code code;
        const char *msg;
    } cases[] = {
        {{"d", ARROW_T_UTF8, 0, 0, 0, 0, false, true, false}, ST_EUNSUPPORTED, "dictionary"},
        {{"l", ARROW_T_UTF8, 0, 0, 0, 0, false, false, true}, ST_EUNSUPPORTED, "nested"},
        {{"h", ARROW_T_FLOAT, 0, 0, 0, 0, false, false, false}, ST_EUNSUPPORTED, "half"},
        {{"w", ARROW_T_INT, 12, 1, 0, 0, false, false, false}, ST_ECORRUPT, "bit width"},
        {{"n", ARROW_T_INT, 64, 1, 0, 0, true, false, false}, ST_ECORRUPT, "no type table"},
        {{"u", ARROW_T_TIMESTAMP, 0, 0, 0, 7, false, false, false}, ST_ECORRUPT, "unit"},
        {{"x", 8 /* Date */, 0, 0, 0, 0, false, false, false}, ST_EUNSUPPORTED, "date"},
        {{"y", 200, 0, 0, 0, 0, false, false, false}, ST_EUNSUPPORTED, "unknown"},
    };
    struct st_buf h;
    st_buf_init(&h, SIZE_MAX);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct arrow_decoder *dec = arrow_decoder_new(NULL, &E);
        enum arrow_msg_type t;
        craft_schema(&h, &cases[i].f, 1, ARROW_V5, 0);
        ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), cases[i].code);
        ASSERT_CONTAINS(E.msg, cases[i].msg);
        ASSERT_TRUE(arrow_decoder_schema(dec) == NULL);
        arrow_decoder_free(dec);
    }
    struct xfield ok = {"i", ARROW_T_INT, 64, 1, 0, 0, false, false, false};
    struct arrow_decoder *dec = arrow_decoder_new(NULL, &E);
    enum arrow_msg_type t;
    craft_schema(&h, &ok, 1, 1 /* V2 */, 0);
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), ST_EUNSUPPORTED);
    ASSERT_CONTAINS(E.msg, "version");
    craft_schema(&h, &ok, 1, ARROW_V5, 1);
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), ST_EUNSUPPORTED);
    ASSERT_CONTAINS(E.msg, "big-endian");
    /* V4 is fine; a second schema is not */
    craft_schema(&h, &ok, 1, ARROW_V4, 0);
    ASSERT_OK(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E));
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "second");
    arrow_decoder_free(dec);
    st_buf_cleanup(&h);
}

TEST(decoder_enforces_limits)
{
    struct xfield xf[3] = {{"a", ARROW_T_BOOL, 0, 0, 0, 0, false, false, false},
                           {"b", ARROW_T_BOOL, 0, 0, 0, 0, false, false, false},
                           {"a-much-longer-name", ARROW_T_BOOL, 0, 0, 0, 0, false, false, false}};
    struct st_buf h;
    st_buf_init(&h, SIZE_MAX);
    craft_schema(&h, xf, 3, ARROW_V5, 0);
    struct arrow_decoder_limits lim = {.max_columns = 2};
    struct arrow_decoder *dec = arrow_decoder_new(&lim, &E);
    enum arrow_msg_type t;
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), ST_ELIMIT);
    arrow_decoder_free(dec);
    struct arrow_decoder_limits lim2 = {.max_name_len = 8};
    dec = arrow_decoder_new(&lim2, &E);
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), ST_ELIMIT);
    arrow_decoder_free(dec);
    struct arrow_decoder_limits lim3 = {.max_rows = 10};
    dec = arrow_decoder_new(&lim3, &E);
    ASSERT_OK(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E));
    uint8_t body[64] = {0};
    int64_t nodes[3][2] = {{11, 0}, {11, 0}, {11, 0}};
    int64_t bufs[6][2] = {{0, 0}, {0, 2}, {8, 0}, {8, 2}, {16, 0}, {16, 2}};
    ASSERT_CODE(decode_rb(dec, 11, nodes, 3, bufs, 6, body, 24), ST_ELIMIT);
    arrow_decoder_free(dec);
    st_buf_cleanup(&h);
}

TEST(decoder_rejects_bad_messages)
{
    struct arrow_decoder *dec = arrow_decoder_new(NULL, &E);
    enum arrow_msg_type t;
    uint8_t junk[16] = {0xff, 0xff, 0xff, 0x7f};
    ASSERT_CODE(arrow_decode(dec, junk, 0, NULL, 0, &t, &E), ST_ECORRUPT);
    ASSERT_CODE(arrow_decode(dec, junk, 3, NULL, 0, &t, &E), ST_ECORRUPT);
    ASSERT_CODE(arrow_decode(dec, junk, 16, NULL, 0, &t, &E), ST_ECORRUPT);
    /* a record batch before any schema */
    struct st_buf h;
    st_buf_init(&h, SIZE_MAX);
    int64_t nodes[1][2] = {{0, 0}};
    int64_t bufs[2][2] = {{0, 0}, {0, 0}};
    craft_rb(&h, 0, nodes, 1, bufs, 2, 0, false);
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "before the schema");
    /* a dictionary batch */
    h.data[0x26] = ARROW_HDR_DICTIONARY_BATCH;
    ASSERT_CODE(arrow_decode(dec, h.data, h.len, NULL, 0, &t, &E), ST_EUNSUPPORTED);
    st_buf_cleanup(&h);
    arrow_decoder_free(dec);
}

TEST(stream_reader_framing)
{
    struct tb tb;
    td_all_types(&tb, 10, 3);
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    encode_stream(&tb, 0, 0, &s);
    /* legacy framing: drop every continuation marker */
    struct st_buf legacy;
    st_buf_init(&legacy, SIZE_MAX);
    for (size_t i = 0; i < s.len;) {
        ASSERT_EQ_U64(st_load_u32le(s.data + i), 0xFFFFFFFFu);
        uint32_t hl = st_load_u32le(s.data + i + 4);
        if (hl == 0) {
            st_buf_append(&legacy, "\0\0\0\0", 4);
            break;
        }
        struct fbr fb = {s.data + i + 8, hl};
        struct fbr_table root;
        int64_t bl;
        ASSERT_OK(fbr_root(&fb, &root));
        ASSERT_OK(fbr_i64(&root, MSG_BODY_LENGTH, 0, &bl));
        st_buf_append(&legacy, s.data + i + 4, 4 + hl + (size_t)bl);
        i += 8 + hl + (size_t)bl;
    }
    ASSERT_EQ_INT(decode_and_compare(&tb, &legacy), 1);
    /* no end marker at all is also an end */
    legacy.len -= 4;
    ASSERT_EQ_INT(decode_and_compare(&tb, &legacy), 1);

    /* truncation anywhere is an error, never a crash */
    struct arrow_decoder *d = NULL;
    for (size_t cut = 1; cut < s.len - 8; cut += 5) {
        arrow_decoder_free(d);
        d = arrow_decoder_new(NULL, &E);
        size_t p = 0;
        enum arrow_msg_type t = ARROW_MSG_NONE;
        enum st_code rc = ST_OK;
        while (rc == ST_OK && t != ARROW_MSG_EOS)
            rc = arrow_decode_stream_next(d, s.data, cut, &p, &t, &E);
        if (rc == ST_OK) ASSERT_TRUE(p == cut); /* ended exactly between two messages */
    }
    arrow_decoder_free(d);
    size_t p = s.len + 1;
    enum arrow_msg_type t;
    d = arrow_decoder_new(NULL, &E);
    ASSERT_CODE(arrow_decode_stream_next(d, s.data, s.len, &p, &t, &E), ST_EINVAL);
    arrow_decoder_free(d);
    st_buf_cleanup(&legacy);
    st_buf_cleanup(&s);
    tb_free(&tb);
}

TEST(random_corruption_never_crashes)
{
    struct tb tb;
    td_all_types(&tb, 40, 9);
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    encode_stream(&tb, 0, 0, &s);
    uint8_t *copy = malloc(s.len);
    uint32_t x = 12345;
    int errors = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, s.data, s.len);
        int flips = 1 + iter % 4;
        for (int k = 0; k < flips; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % s.len;
            x = x * 1103515245u + 12345u;
            copy[at] ^= (uint8_t)(1u << ((x >> 16) & 7));
        }
        struct arrow_decoder *d = arrow_decoder_new(NULL, &E);
        size_t p = 0;
        enum arrow_msg_type t = ARROW_MSG_NONE;
        enum st_code rc = ST_OK;
        for (int m = 0; m < 10 && rc == ST_OK && t != ARROW_MSG_EOS; m++)
            rc = arrow_decode_stream_next(d, copy, s.len, &p, &t, &E);
        if (rc != ST_OK) {
            errors++;
            ASSERT_TRUE(E.msg[0] != '\0');
        }
        arrow_decoder_free(d);
    }
    ASSERT_TRUE(errors > 0);
    free(copy);
    st_buf_cleanup(&s);
    tb_free(&tb);
}
