/*
 * arrow_nested_fixture.c: writes the nested sample data set (arrow_nested_data.h) as an
 * Arrow IPC stream for tests/node/flightsql_nested_decode.test.mjs, where the real
 * apache-arrow npm package decodes it and compares every value.
 *
 *   arrow_nested_fixture DIR
 *
 * Writes DIR/nested.arrows (300 rows, split into many RecordBatches by a 2 KiB budget,
 * then an empty keep-alive batch, then the end marker) and DIR/nested.json (the
 * expected rows, built from the same rules; 64-bit values as decimal strings, binary as
 * arrays of byte values, union values as {"type": <child>, "v": <value>}).
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_nested_data.h"

#define ROWS 300

static void
die(const char *what, const struct st_error *err)
{
    fprintf(stderr, "arrow_nested_fixture: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static void
write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) die(path, NULL);
}

static json_t *
i64(int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return json_string(b);
}

static json_t *str_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
str_of(const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_string(buf);
}

static json_t *
row_json(int64_t i)
{
    json_t *r = json_object();
    json_object_set_new(r, "id", json_integer(i * 7 + 1));
    json_t *u = json_object(), *v;
    switch (nd_kind(i)) {
    case 0:
        json_object_set_new(u, "type", json_string("s"));
        v = nd_s_null(i) ? json_null() : str_of("s%lld", (long long)i);
        break;
    case 1:
        json_object_set_new(u, "type", json_string("b"));
        v = json_boolean((i / 5) % 2 == 0);
        break;
    case 2:
        json_object_set_new(u, "type", json_string("l"));
        v = json_array();
        for (int64_t k = 0; k < nd_list_len(i); k++)
            json_array_append_new(v, k == 1 ? json_null() : str_of("l%lld_%lld", (long long)i, (long long)k));
        break;
    case 3:
        json_object_set_new(u, "type", json_string("m"));
        v = json_array(); /* [[key, [values] | null], ...] */
        for (int64_t k = 0; k < nd_map_len(i); k++) {
            json_t *e = json_array(), *vals;
            json_array_append_new(e, json_integer(i * 10 + k));
            if (nd_map_value_null(i, k)) {
                vals = json_null();
            } else {
                vals = json_array();
                json_array_append_new(vals, json_integer(k));
                json_array_append_new(vals, json_integer(-k));
                json_array_append_new(vals, json_integer(i));
            }
            json_array_append_new(e, vals);
            json_array_append_new(v, e);
        }
        break;
    default:
        json_object_set_new(u, "type", json_string("x"));
        v = i64(nd_x(i));
        break;
    }
    json_object_set_new(u, "v", v);
    json_object_set_new(r, "u", u);
    if (nd_bin_null(i)) {
        json_object_set_new(r, "bin", json_null());
    } else {
        json_t *b = json_array();
        for (int64_t j = 0; j < i % 6; j++)
            json_array_append_new(b, json_integer((i + j) & 0xff));
        json_object_set_new(r, "bin", b);
    }
    if (nd_st_null(i)) {
        json_object_set_new(r, "st", json_null());
    } else {
        json_t *st = json_object();
        json_object_set_new(st, "a", nd_st_a_null(i) ? json_null() : json_integer(nd_st_a(i)));
        json_object_set_new(st, "b", str_of("b%lld", (long long)i));
        json_object_set_new(r, "st", st);
    }
    if (nd_lst_null(i)) {
        json_object_set_new(r, "lst", json_null());
    } else {
        json_t *l = json_array();
        for (int64_t k = 0; k < i % 5; k++)
            json_array_append_new(l, json_integer((int8_t)(uint8_t)(i * k - 60)));
        json_object_set_new(r, "lst", l);
    }
    return r;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: arrow_nested_fixture DIR\n");
        return 2;
    }
    struct st_error err;
    struct nd d;
    nd_build(&d, ROWS);
    struct arrow_encoder_opts o = {.target_bytes = 2048, .max_bytes = 8192};
    struct arrow_encoder *enc = arrow_encoder_new_nested(nd_types(), ND_COLS, &o, &err);
    if (!enc) die("encoder", &err);
    struct st_buf s;
    st_buf_init(&s, SIZE_MAX);
    struct arrow_msg m;
    bool got;
    int batches = 0;
    if (arrow_encode_schema(enc, &m, &err) || arrow_stream_append(&s, &m, &err))
        die("schema", &err);
    if (arrow_encode_arrays(enc, d.cols, d.n_rows, &err)) die("arrays", &err);
    for (;;) {
        if (arrow_encode_next(enc, &m, &got, &err)) die("batch", &err);
        if (!got) break;
        if (arrow_stream_append(&s, &m, &err)) die("append", &err);
        batches++;
    }
    if (arrow_encode_empty(enc, &err) || arrow_encode_next(enc, &m, &got, &err) || !got ||
        arrow_stream_append(&s, &m, &err) || arrow_stream_append_eos(&s, &err))
        die("keep-alive batch", &err);
    write_file(argv[1], "nested.arrows", s.data, s.len);

    json_t *root = json_object(), *rows = json_array();
    for (int64_t i = 0; i < ROWS; i++)
        json_array_append_new(rows, row_json(i));
    json_object_set_new(root, "rows", rows);
    json_object_set_new(root, "batches", json_integer(batches + 1));
    char *txt = json_dumps(root, JSON_COMPACT);
    if (!txt) die("json", NULL);
    write_file(argv[1], "nested.json", txt, strlen(txt));
    free(txt);
    json_decref(root);
    st_buf_cleanup(&s);
    arrow_encoder_free(enc);
    nd_free(&d);
    return 0;
}
