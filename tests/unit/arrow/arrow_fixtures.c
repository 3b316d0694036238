/*
 * arrow_fixtures.c: writes Arrow IPC fixtures for tests/node/arrow_decode.test.mjs,
 * where the real apache-arrow npm package decodes what Strata's encoder wrote.
 *
 *   arrow_fixtures DIR
 *   arrow_fixtures --corpus DIR    small seed streams for the fuzz target
 *
 * For each fixture NAME it writes DIR/NAME.arrows (IPC stream with end
 * marker), DIR/NAME.flight (each FlightData protobuf preceded by its uint32
 * little-endian length, as DoGet would send them) and DIR/NAME.json (what the
 * decoder must find: fields, metadata, every value column by column; 64-bit
 * integers and timestamps as decimal strings, non-finite and negative-zero
 * floats as "NaN", "Infinity", "-Infinity", "-0").
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_testdata.h"
#include "strata/arrow_ipc.h"

static void
die(const char *what, const struct st_error *err)
{
    fprintf(stderr, "arrow_fixtures: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static void
write_file(const char *dir, const char *name, const char *ext, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) die(path, NULL);
}

static json_t *
value_json(const struct st_column *c, uint32_t r)
{
    char buf[32];
    if (!st_column_is_valid(c, r)) return json_null();
    switch (c->type) {
    case ST_TYPE_TIME:
    case ST_TYPE_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)c->v.i64[r]);
        return json_string(buf);
    case ST_TYPE_UINT:
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)c->v.u64[r]);
        return json_string(buf);
    case ST_TYPE_FLOAT: {
        double d = c->v.f64[r];
        if (isnan(d)) return json_string("NaN");
        if (isinf(d)) return json_string(d > 0 ? "Infinity" : "-Infinity");
        if (d == 0 && signbit(d)) return json_string("-0");
        return json_real(d);
    }
    case ST_TYPE_BOOL:
        return json_boolean(c->v.b[r]);
    case ST_TYPE_STRING:
        return json_stringn(c->str_data + c->v.offsets[r],
                            (size_t)(c->v.offsets[r + 1] - c->v.offsets[r]));
    case ST_TYPE_NULL:
        break;
    }
    return json_null();
}

static const char *
iox_of(const struct st_field *f)
{
    switch (f->role) {
    case ST_ROLE_TIME:
        return "iox::column_type::timestamp";
    case ST_ROLE_TAG:
        return "iox::column_type::tag";
    case ST_ROLE_FIELD:
        switch (f->type) {
        case ST_TYPE_FLOAT:
            return "iox::column_type::field::float";
        case ST_TYPE_INT:
            return "iox::column_type::field::integer";
        case ST_TYPE_UINT:
            return "iox::column_type::field::uinteger";
        case ST_TYPE_STRING:
            return "iox::column_type::field::string";
        case ST_TYPE_BOOL:
            return "iox::column_type::field::boolean";
        default:
            return NULL;
        }
    default:
        return NULL;
    }
}

/* Write one fixture from the batches (all sharing tbs[0]'s schema). */
static void
fixture(const char *dir, const char *name, struct tb *tbs, int n_batches, size_t target)
{
    struct st_error err;
    struct arrow_encoder_opts o = {.target_bytes = target};
    struct arrow_encoder *enc = arrow_encoder_new(tb_schema(&tbs[0]), &o, &err);
    if (!enc) die("encoder", &err);
    struct st_buf stream, flight;
    st_buf_init(&stream, SIZE_MAX);
    st_buf_init(&flight, SIZE_MAX);
    struct arrow_msg m;
    int n_msgs = 0;

    if (arrow_encode_schema(enc, &m, &err) != ST_OK || arrow_stream_append(&stream, &m, &err))
        die("schema", &err);
    size_t at = flight.len;
    if (st_buf_put_u32le(&flight, 0) != ST_OK ||
        arrow_flightdata_append(&flight, &m, (const uint8_t *)"", 0, &err) != ST_OK)
        die("flight schema", &err);
    st_store_u32le(flight.data + at, (uint32_t)(flight.len - at - 4));

    for (int b = 0; b < n_batches; b++) {
        bool got;
        if (arrow_encode_batch(enc, tb_batch(&tbs[b]), &err) != ST_OK) die("batch", &err);
        for (;;) {
            if (arrow_encode_next(enc, &m, &got, &err) != ST_OK) die("next", &err);
            if (!got) break;
            n_msgs++;
            if (arrow_stream_append(&stream, &m, &err) != ST_OK) die("stream", &err);
            at = flight.len;
            if (st_buf_put_u32le(&flight, 0) != ST_OK ||
                arrow_flightdata_append(&flight, &m, NULL, 0, &err) != ST_OK)
                die("flight", &err);
            st_store_u32le(flight.data + at, (uint32_t)(flight.len - at - 4));
        }
    }
    if (arrow_stream_append_eos(&stream, &err) != ST_OK) die("eos", &err);
    write_file(dir, name, "arrows", stream.data, stream.len);
    write_file(dir, name, "flight", flight.data, flight.len);

    json_t *doc = json_object();
    json_t *fields = json_array();
    const struct st_schema *s = tb_schema(&tbs[0]);
    uint32_t rows = 0;
    for (int b = 0; b < n_batches; b++)
        rows += tbs[b].n_rows;
    for (uint32_t i = 0; i < s->n_fields; i++) {
        const char *iox = iox_of(&s->fields[i]);
        json_t *col = json_array();
        for (int b = 0; b < n_batches; b++)
            for (uint32_t r = 0; r < tbs[b].n_rows; r++)
                json_array_append_new(col, value_json(&tb_batch(&tbs[b])->cols[i], r));
        json_array_append_new(
            fields, json_pack("{s:s, s:s, s:b, s:o, s:o}", "name", s->fields[i].name, "type",
                              st_type_name(s->fields[i].type), "nullable", s->fields[i].nullable,
                              "iox", iox ? json_string(iox) : json_null(), "values", col));
    }
    json_object_set_new(doc, "fields", fields);
    json_object_set_new(doc, "rows", json_integer(rows));
    json_object_set_new(doc, "record_batches", json_integer(n_msgs));
    json_object_set_new(doc, "target_bytes",
                        json_integer((json_int_t)(target ? target : ARROW_FLIGHT_TARGET_BYTES)));
    json_object_set_new(doc, "max_bytes", json_integer((json_int_t)ARROW_FLIGHT_MAX_BYTES));
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text) die("json", NULL);
    write_file(dir, name, "json", text, strlen(text));
    free(text);
    json_decref(doc);
    st_buf_cleanup(&stream);
    st_buf_cleanup(&flight);
    arrow_encoder_free(enc);
}

static size_t
len_large(uint32_t row)
{
    return row == 7 ? (size_t)3 << 20 : 100000 + (size_t)row * 997;
}

/* Small IPC streams (continuation framing) as fuzz seeds. */
static void
corpus(const char *dir)
{
    struct tb t[2];
    char path[4096];
    struct {
        const char *name;
        uint32_t rows[2];
        int n;
    } seeds[] = {{"seed_all_types", {12, 0}, 1},
                 {"seed_two_batches", {5, 3}, 2},
                 {"seed_empty_batch", {0, 0}, 1},
                 {"seed_schema_only", {0, 0}, 0}};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        td_all_types(&t[0], seeds[i].rows[0], (uint32_t)i);
        td_all_types(&t[1], seeds[i].rows[1], (uint32_t)i + 7);
        fixture(dir, seeds[i].name, t, seeds[i].n, 0);
        tb_free(&t[0]);
        tb_free(&t[1]);
        /* keep the stream only */
        snprintf(path, sizeof path, "%s/%s.flight", dir, seeds[i].name);
        remove(path);
        snprintf(path, sizeof path, "%s/%s.json", dir, seeds[i].name);
        remove(path);
    }
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--corpus") == 0) {
        corpus(argv[2]);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: arrow_fixtures DIR | --corpus DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    struct tb t[2];

    td_all_types(&t[0], 200, 5);
    fixture(dir, "all_types", t, 1, 0);
    tb_free(&t[0]);

    td_all_types(&t[0], 0, 0);
    fixture(dir, "empty_batch", t, 1, 0);
    fixture(dir, "schema_only", t, 0, 0);
    tb_free(&t[0]);

    td_all_types(&t[0], 20000, 11);
    fixture(dir, "split_rows", t, 1, 64 << 10);
    tb_free(&t[0]);

    td_strings(&t[0], 40, len_large);
    fixture(dir, "large_strings", t, 1, 0);
    tb_free(&t[0]);

    td_all_types(&t[0], 50, 1);
    td_all_types(&t[1], 13, 2);
    fixture(dir, "multi_batch", t, 2, 0);
    tb_free(&t[0]);
    tb_free(&t[1]);
    return 0;
}
