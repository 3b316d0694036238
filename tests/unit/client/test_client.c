/*
 * test_client.c: unit tests of libstrata (clients/c) against the scripted
 * gRPC server of mock_server.h, run in-process: URL parsing, the JSON
 * ticket, status mapping, queries (values, errors before and during the
 * stream, malformed replies, deadlines, cancellation), writes, every admin
 * call, TLS, and one handle shared by threads.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "th.h"

#include "arrow_testdata.h"
#include "client_int.h"
#include "mock_server.h"
#include "strata/client.h"

static struct st_error E;

static struct mock_server *
start_mock(void)
{
    struct mock_server *m = mock_server_start(NULL, NULL);
    ASSERT_TRUE(m != NULL);
    return m;
}

static struct strata *
connect_to(struct mock_server *m, const char *token)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", mock_server_port(m));
    struct strata *c = strata_connect(url, token, NULL, &E);
    if (!c) th_fail(__FILE__, __LINE__, "connect: %s", E.msg);
    return c;
}

/* ---- pieces without a server ---------------------------------------------------- */

TEST(url_parsing)
{
    char t[300];
    bool tls;
    ASSERT_OK(strata__parse_url("http://127.0.0.1:8181", &tls, t, sizeof t, &E));
    ASSERT_EQ_STR(t, "127.0.0.1:8181");
    ASSERT_FALSE(tls);
    ASSERT_OK(strata__parse_url("HTTPS://db.example.com/", &tls, t, sizeof t, &E));
    ASSERT_EQ_STR(t, "db.example.com:443");
    ASSERT_TRUE(tls);
    ASSERT_OK(strata__parse_url("http://localhost", &tls, t, sizeof t, &E));
    ASSERT_EQ_STR(t, "localhost:80");
    ASSERT_OK(strata__parse_url("http://[::1]:9000", &tls, t, sizeof t, &E));
    ASSERT_EQ_STR(t, "[::1]:9000");
    static const char *const bad[] = {
        "",
        "127.0.0.1:8181",
        "ftp://x",
        "http://",
        "http://:80",
        "http://h:0",
        "http://h:65536",
        "http://h:12a",
        "http://h/path",
        "http://u@h",
        "http://[::1",
        "http://[]:1",
        "http://h?q=1",
        "http://h:99999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (strata__parse_url(bad[i], &tls, t, sizeof t, &E) != ST_EINVAL)
            th_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        ASSERT_TRUE(E.msg[0] != '\0');
    }
}

TEST(ticket_is_the_influxdb3_json)
{
    char *j;
    size_t n;
    ASSERT_OK(strata__ticket_json("db1", "SELECT * FROM cpu", NULL, 0, &j, &n, &E));
    ASSERT_EQ_STR(j, "{\"database\":\"db1\",\"sql_query\":\"SELECT * FROM cpu\","
                     "\"query_type\":\"sql\",\"params\":{}}");
    ASSERT_EQ_INT(n, strlen(j));
    free(j);
    struct strata_param p[] = {
        {"s", ST_TYPE_STRING, {.s = "a\"b\\c\n\x01\xc3\xa9"}},
        {"i", ST_TYPE_INT, {.i = INT64_MIN}},
        {"u", ST_TYPE_UINT, {.u = UINT64_MAX}},
        {"f", ST_TYPE_FLOAT, {.f = 2.0}},
        {"g", ST_TYPE_FLOAT, {.f = 0.1}},
        {"b", ST_TYPE_BOOL, {.b = false}},
        {"n", ST_TYPE_NULL, {.i = 0}},
    };
    ASSERT_OK(strata__ticket_json("d\"b", "q", p, 7, &j, &n, &E));
    ASSERT_EQ_STR(j, "{\"database\":\"d\\\"b\",\"sql_query\":\"q\",\"query_type\":\"sql\","
                     "\"params\":{\"s\":\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\","
                     "\"i\":-9223372036854775808,\"u\":18446744073709551615,\"f\":2.0,"
                     "\"g\":0.10000000000000001,\"b\":false,\"n\":null}}");
    free(j);

    struct strata_param dup[] = {{"a", ST_TYPE_INT, {.i = 1}}, {"a", ST_TYPE_INT, {.i = 2}}};
    ASSERT_CODE(strata__ticket_json("d", "q", dup, 2, &j, &n, &E), ST_EINVAL);
    ASSERT_CONTAINS(E.msg, "twice");
    struct strata_param inf[] = {{"x", ST_TYPE_FLOAT, {.f = INFINITY}}};
    ASSERT_CODE(strata__ticket_json("d", "q", inf, 1, &j, &n, &E), ST_EINVAL);
    ASSERT_CONTAINS(E.msg, "finite");
    struct strata_param badu[] = {{"x", ST_TYPE_STRING, {.s = "\xff"}}};
    ASSERT_CODE(strata__ticket_json("d", "q", badu, 1, &j, &n, &E), ST_EINVAL);
    ASSERT_CONTAINS(E.msg, "UTF-8");
    struct strata_param badt[] = {{"x", ST_TYPE_TIME, {.i = 1}}};
    ASSERT_CODE(strata__ticket_json("d", "q", badt, 1, &j, &n, &E), ST_EINVAL);
    struct strata_param noname[] = {{"", ST_TYPE_INT, {.i = 1}}};
    ASSERT_CODE(strata__ticket_json("d", "q", noname, 1, &j, &n, &E), ST_EINVAL);
    ASSERT_CODE(strata__ticket_json("d", "\xc0\x80", NULL, 0, &j, &n, &E), ST_EINVAL);
    ASSERT_CODE(strata__ticket_json("\xed\xa0\x80", "q", NULL, 0, &j, &n, &E), ST_EINVAL);
}

TEST(status_mapping)
{
    grpc_metadata_array md;
    grpc_metadata_array_init(&md);
    ASSERT_CODE(strata__map_status(GRPC_STATUS_OK, "", 0, &md, "h:1", &E), ST_OK);
    ASSERT_CODE(strata__map_status(GRPC_STATUS_UNAUTHENTICATED, "nope", 4, &md, "h:1", &E),
                ST_EUNAUTHENTICATED);
    ASSERT_EQ_STR(E.msg, "nope");
    ASSERT_CODE(strata__map_status(GRPC_STATUS_UNAVAILABLE, "refused", 7, &md, "h:1", &E), ST_EIO);
    ASSERT_CONTAINS(E.msg, "cannot reach h:1");
    ASSERT_CODE(strata__map_status(GRPC_STATUS_DEADLINE_EXCEEDED, "", 0, &md, "h:1", &E),
                ST_ETIMEOUT);
    ASSERT_TRUE(E.msg[0] != '\0');
    ASSERT_CODE(strata__map_status((grpc_status_code)99, "x", 1, &md, "h:1", &E), ST_EINTERNAL);
    grpc_metadata m[2];
    m[0].key = grpc_slice_from_static_string("strata-code");
    m[0].value = grpc_slice_from_static_string("5");
    m[1].key = grpc_slice_from_static_string("strata-error-offset");
    m[1].value = grpc_slice_from_static_string("12");
    md.metadata = m;
    md.count = 2;
    ASSERT_CODE(strata__map_status(GRPC_STATUS_INVALID_ARGUMENT, "t", 1, &md, "h:1", &E), ST_ETYPE);
    ASSERT_EQ_INT(E.offset, 12);
    /* the trailer wins even over UNAVAILABLE (a server shutting down) */
    m[0].value = grpc_slice_from_static_string("21");
    ASSERT_CODE(strata__map_status(GRPC_STATUS_UNAVAILABLE, "bye", 3, &md, "h:1", &E),
                ST_ESHUTDOWN);
    /* garbage codes fall back to the gRPC status */
    m[0].value = grpc_slice_from_static_string("x1");
    ASSERT_CODE(strata__map_status(GRPC_STATUS_NOT_FOUND, "t", 1, &md, "h:1", &E), ST_ENOTFOUND);
    m[0].value = grpc_slice_from_static_string("500");
    ASSERT_CODE(strata__map_status(GRPC_STATUS_ALREADY_EXISTS, "t", 1, &md, "h:1", &E), ST_EEXISTS);
    for (int s = 0; s <= 16; s++)
        ASSERT_TRUE(s == 0 || strata__code_of_grpc((grpc_status_code)s) != ST_OK);
}

TEST(connect_rejects_bad_arguments)
{
    ASSERT_TRUE(strata_connect("tcp://x", NULL, NULL, &E) == NULL);
    ASSERT_EQ_INT(E.code, ST_EINVAL);
    ASSERT_TRUE(strata_connect("http://x:1", "bad\ntoken", NULL, &E) == NULL);
    ASSERT_EQ_INT(E.code, ST_EINVAL);
    ASSERT_CONTAINS(E.msg, "token");
    ASSERT_TRUE(strata_connect("https://x:1", "t", th_path("missing.pem"), &E) == NULL);
    ASSERT_EQ_INT(E.code, ST_EIO);
    FILE *f = fopen(th_path("junk.pem"), "w");
    fputs("not a certificate\n", f);
    fclose(f);
    ASSERT_TRUE(strata_connect("https://x:1", "t", th_path("junk.pem"), &E) == NULL);
    ASSERT_EQ_INT(E.code, ST_EINVAL);
    /* plaintext ignores the CA file; a handle is made without contacting anyone */
    struct strata *c = strata_connect("http://127.0.0.1:1", NULL, th_path("missing.pem"), &E);
    ASSERT_TRUE(c != NULL);
    ASSERT_EQ_STR(strata_target(c), "127.0.0.1:1");
    strata_close(c);
    strata_close(NULL);
}

TEST(unreachable_server_is_eio)
{
    struct strata *c = strata_connect("http://127.0.0.1:1", "good-token", NULL, &E);
    struct strata_result *r;
    ASSERT_CODE(strata_query(c, "db", "SELECT 1", NULL, 0, &r, &E), ST_EIO);
    ASSERT_CONTAINS(E.msg, "cannot reach 127.0.0.1:1");
    ASSERT_CODE(strata_ping(c, &E), ST_EIO);
    strata_close(c);
}

/* ---- queries ---------------------------------------------------------------------- */

TEST(ping_and_query_every_type)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    ASSERT_OK_E(strata_ping(c, &E), &E);
    struct strata_result *r;
    ASSERT_OK_E(strata_query(c, "db", "SELECT all_types", NULL, 0, &r, &E), &E);
    struct tb want;
    td_all_types(&want, 300, 5);
    ASSERT_EQ_INT(strata_result_n_columns(r), want.n_cols);
    for (uint32_t i = 0; i < want.n_cols; i++) {
        ASSERT_EQ_STR(strata_result_column_name(r, i), want.fields[i].name);
        ASSERT_EQ_INT(strata_result_column_type(r, i), want.fields[i].type);
    }
    ASSERT_EQ_INT(strata_result_column_role(r, 1), ST_ROLE_TAG);
    ASSERT_TRUE(strata_result_column_name(r, 99) == NULL);
    uint32_t row = 0;
    bool more;
    int batches = 0;
    const struct st_batch *wb = tb_batch(&want);
    for (;;) {
        ASSERT_OK_E(strata_result_next(r, &more, &E), &E);
        if (!more) break;
        batches++;
        const struct st_batch *b = strata_result_batch(r);
        for (uint32_t i = 0; i < b->n_rows; i++, row++) {
            int64_t t, n;
            ASSERT_OK(strata_result_get_time(r, 0, i, &t));
            ASSERT_EQ_INT(t, wb->cols[0].v.i64[row]);
            ASSERT_OK(strata_result_get_int(r, 3, i, &n));
            ASSERT_EQ_INT(strata_result_is_null(r, 3, i), !st_column_is_valid(&wb->cols[3], row));
            if (st_column_is_valid(&wb->cols[3], row))
                ASSERT_EQ_INT(n, wb->cols[3].v.i64[row]);
            else
                ASSERT_EQ_INT(n, 0);
            const char *s;
            size_t sl;
            ASSERT_OK(strata_result_get_string(r, 1, i, &s, &sl));
            ASSERT_EQ_INT(sl, wb->cols[1].v.offsets[row + 1] - wb->cols[1].v.offsets[row]);
            ASSERT_TRUE(memcmp(s, wb->cols[1].str_data + wb->cols[1].v.offsets[row], sl) == 0);
        }
    }
    ASSERT_EQ_INT(row, 300);
    ASSERT_TRUE(batches > 1); /* the mock splits at 16 KiB */
    struct strata_result_stats st;
    strata_result_stats(r, &st);
    ASSERT_EQ_U64(st.rows, 300);
    ASSERT_EQ_U64(st.batches, (uint64_t)batches);
    ASSERT_EQ_U64(st.messages, (uint64_t)batches + 1);
    ASSERT_TRUE(st.bytes > 0);
    /* after the end: still the end, no batch */
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_FALSE(more);
    ASSERT_TRUE(strata_result_batch(r) == NULL);
    ASSERT_EQ_INT(strata_result_n_rows(r), 0);
    strata_result_free(r);
    tb_free(&want);
    strata_close(c);
    mock_server_stop(m);
}

TEST(typed_accessors)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_result *r;
    bool more, b;
    int64_t i64;
    uint64_t u64;
    double f;
    const char *s;
    size_t sl;
    ASSERT_OK_E(strata_query(c, "db", "SELECT cli_sample", NULL, 0, &r, &E), &E);
    ASSERT_CODE(strata_result_get_int(r, 3, 0, &i64), ST_EINVAL); /* no batch yet */
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_TRUE(more);
    ASSERT_EQ_INT(strata_result_n_rows(r), 3);
    ASSERT_OK(strata_result_get_time(r, 0, 2, &i64));
    ASSERT_EQ_INT(i64, 1700000002000000123LL);
    ASSERT_OK(strata_result_get_string(r, 1, 2, &s, &sl));
    ASSERT_EQ_INT(sl, 6);
    ASSERT_TRUE(memcmp(s, "db,\"1\"", 6) == 0);
    ASSERT_OK(strata_result_get_float(r, 2, 0, &f));
    ASSERT_EQ_DBL(f, 12.5);
    ASSERT_TRUE(strata_result_is_null(r, 2, 1));
    ASSERT_OK(strata_result_get_float(r, 2, 1, &f));
    ASSERT_EQ_DBL(f, 0);
    ASSERT_OK(strata_result_get_int(r, 3, 2, &i64));
    ASSERT_EQ_INT(i64, 9007199254740993LL);
    ASSERT_OK(strata_result_get_bool(r, 4, 0, &b));
    ASSERT_TRUE(b);
    ASSERT_TRUE(strata_result_is_null(r, 4, 2));
    ASSERT_OK(strata_result_get_uint(r, 6, 0, &u64));
    ASSERT_EQ_U64(u64, UINT64_MAX);
    /* wrong type, out of range */
    ASSERT_CODE(strata_result_get_int(r, 2, 0, &i64), ST_ETYPE);
    ASSERT_CODE(strata_result_get_uint(r, 3, 0, &u64), ST_ETYPE);
    ASSERT_CODE(strata_result_get_float(r, 3, 0, &f), ST_ETYPE);
    ASSERT_CODE(strata_result_get_bool(r, 5, 0, &b), ST_ETYPE);
    ASSERT_CODE(strata_result_get_string(r, 0, 0, &s, &sl), ST_ETYPE);
    ASSERT_CODE(strata_result_get_time(r, 3, 0, &i64), ST_ETYPE);
    ASSERT_CODE(strata_result_get_int(r, 3, 3, &i64), ST_EINVAL);
    ASSERT_CODE(strata_result_get_int(r, 30, 0, &i64), ST_EINVAL);
    ASSERT_TRUE(strata_result_is_null(r, 30, 0));
    strata_result_free(r);
    strata_close(c);
    mock_server_stop(m);
}

TEST(empty_results)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_result *r;
    bool more;
    ASSERT_OK_E(strata_query(c, "db", "SELECT empty", NULL, 0, &r, &E), &E);
    ASSERT_EQ_INT(strata_result_n_columns(r), 0);
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_FALSE(more);
    strata_result_free(r);
    ASSERT_OK_E(strata_query(c, "db", "SELECT schema_only", NULL, 0, &r, &E), &E);
    ASSERT_EQ_INT(strata_result_n_columns(r), 10);
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_FALSE(more);
    strata_result_free(r);
    strata_close(c);
    mock_server_stop(m);
}

TEST(the_server_sees_the_ticket_and_token)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_result *r;
    bool more;
    struct strata_param p[] = {{"host", ST_TYPE_STRING, {.s = "a"}},
                               {"min", ST_TYPE_INT, {.i = 5}}};
    ASSERT_OK_E(strata_query(c, "mydb", "SELECT echo", p, 2, &r, &E), &E);
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_TRUE(more);
    const char *s;
    size_t n;
    ASSERT_OK(strata_result_get_string(r, 0, 0, &s, &n));
    char *ticket = strndup(s, n);
    ASSERT_EQ_STR(ticket, "{\"database\":\"mydb\",\"sql_query\":\"SELECT echo\",\"query_type\":"
                          "\"sql\",\"params\":{\"host\":\"a\",\"min\":5}}");
    free(ticket);
    ASSERT_OK(strata_result_get_string(r, 1, 0, &s, &n));
    ASSERT_EQ_INT(n, strlen("Bearer good-token"));
    ASSERT_TRUE(memcmp(s, "Bearer good-token", n) == 0);
    strata_result_free(r);
    strata_close(c);
    mock_server_stop(m);
}

TEST(query_errors_keep_the_server_code)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_result *r = (struct strata_result *)&E;
    ASSERT_CODE(strata_query(c, "db", "SELECT parse_error", NULL, 0, &r, &E), ST_EPARSE);
    ASSERT_TRUE(r == NULL);
    ASSERT_EQ_INT(E.offset, 7);
    ASSERT_CONTAINS(E.msg, "syntax error");
    ASSERT_CODE(strata_query(c, "db", "SELECT nosuch FROM t", NULL, 0, &r, &E), ST_EBIND);
    ASSERT_CONTAINS(E.msg, "table not found");
    ASSERT_CODE(strata_query(c, "db", "SELECT no_code", NULL, 0, &r, &E), ST_EPERMISSION);
    ASSERT_CODE(strata_query(c, NULL, "x", NULL, 0, &r, &E), ST_EINVAL);
    strata_close(c);

    c = connect_to(m, "wrong");
    ASSERT_CODE(strata_query(c, "db", "SELECT all_types", NULL, 0, &r, &E), ST_EUNAUTHENTICATED);
    strata_close(c);
    c = connect_to(m, NULL);
    ASSERT_CODE(strata_query(c, "db", "SELECT all_types", NULL, 0, &r, &E), ST_EUNAUTHENTICATED);
    ASSERT_CONTAINS(E.msg, "missing");
    strata_close(c);
    mock_server_stop(m);
}

TEST(errors_in_the_middle_of_a_stream)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_result *r;
    bool more;
    ASSERT_OK_E(strata_query(c, "db", "SELECT midstream_error", NULL, 0, &r, &E), &E);
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_TRUE(more);
    ASSERT_EQ_INT(strata_result_n_rows(r), 10);
    ASSERT_CODE(strata_result_next(r, &more, &E), ST_ELIMIT);
    ASSERT_FALSE(more);
    ASSERT_CONTAINS(E.msg, "memory limit");
    ASSERT_OK(strata_result_next(r, &more, &E)); /* reported once */
    ASSERT_FALSE(more);
    strata_result_free(r);

    ASSERT_OK_E(strata_query(c, "db", "SELECT bad_arrow", NULL, 0, &r, &E), &E);
    ASSERT_CODE(strata_result_next(r, &more, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "decoding the result");
    strata_result_free(r);

    /* an app_metadata-only FlightData is skipped, not taken as the end */
    ASSERT_OK_E(strata_query(c, "db", "SELECT app_metadata", NULL, 0, &r, &E), &E);
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_TRUE(more);
    ASSERT_EQ_INT(strata_result_n_rows(r), 4);
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_FALSE(more);
    strata_result_free(r);
    strata_close(c);
    mock_server_stop(m);
}

TEST(deadline_and_cancellation)
{
    struct mock_server *m = start_mock();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", mock_server_port(m));
    struct strata_opts o = {.token = "good-token", .timeout_ms = 300};
    struct strata *c = strata_connect_opts(url, &o, &E);
    struct strata_result *r;
    ASSERT_CODE(strata_query(c, "db", "SELECT slow", NULL, 0, &r, &E), ST_ETIMEOUT);
    strata_set_timeout(c, 0);
    /* free a result in the middle of a long stream: the call is cancelled */
    bool more;
    ASSERT_OK_E(strata_query(c, "db", "SELECT many", NULL, 0, &r, &E), &E);
    ASSERT_OK(strata_result_next(r, &more, &E));
    ASSERT_TRUE(more);
    strata_result_free(r);
    /* the handle still works afterwards (the mock finished the slow call first) */
    ASSERT_OK_E(strata_query(c, "db", "SELECT cli_sample", NULL, 0, &r, &E), &E);
    strata_result_free(r);
    strata_close(c);
    mock_server_stop(m);
}

struct thread_arg {
    struct strata *c;
    int rows;
    enum st_code rc;
};

static void *
query_thread(void *p)
{
    struct thread_arg *a = p;
    struct st_error err;
    for (int k = 0; k < 5; k++) {
        struct strata_result *r;
        bool more;
        a->rc = strata_query(a->c, "db", "SELECT all_types", NULL, 0, &r, &err);
        if (a->rc != ST_OK) return NULL;
        while ((a->rc = strata_result_next(r, &more, &err)) == ST_OK && more)
            a->rows += (int)strata_result_n_rows(r);
        strata_result_free(r);
        if (a->rc != ST_OK) return NULL;
    }
    return NULL;
}

TEST(one_handle_many_threads)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    pthread_t t[3];
    struct thread_arg a[3] = {{c, 0, ST_OK}, {c, 0, ST_OK}, {c, 0, ST_OK}};
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, query_thread, &a[i]);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        ASSERT_OK(a[i].rc);
        ASSERT_EQ_INT(a[i].rows, 5 * 300);
    }
    strata_close(c);
    mock_server_stop(m);
}

/* ---- writes ----------------------------------------------------------------------- */

TEST(writes_and_line_errors)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_write_result res;
    const char *lp = "cpu,host=a usage=1 1\ncpu,host=b usage=2 2\n";
    ASSERT_OK_E(strata_write(c, "db", lp, strlen(lp), NULL, &res, &E), &E);
    ASSERT_EQ_U64(res.lines_accepted, 2);
    ASSERT_EQ_INT(res.n_errors, 0);
    strata_write_result_cleanup(&res);

    const char *mixed = "cpu usage=1\ncpu bad\n\ncpu usage=3\ncpu also bad\n";
    struct strata_write_opts po = {.precision = STRATA_PRECISION_MS, .partial = true};
    ASSERT_CODE(strata_write(c, "db", mixed, strlen(mixed), &po, &res, &E), ST_EPARTIAL);
    ASSERT_EQ_U64(res.lines_accepted, 2);
    ASSERT_EQ_U64(res.lines_rejected, 2);
    ASSERT_EQ_INT(res.n_errors, 2);
    ASSERT_EQ_INT(res.errors[0].line, 2);
    ASSERT_EQ_INT(res.errors[1].line, 5);
    ASSERT_EQ_INT(res.errors[0].code, ST_EPARSE);
    ASSERT_EQ_STR(res.errors[0].excerpt, "cpu bad");
    ASSERT_CONTAINS(res.errors[0].message, "expected a field");
    strata_write_result_cleanup(&res);

    ASSERT_CODE(strata_write(c, "db", mixed, strlen(mixed), NULL, &res, &E), ST_EPARSE);
    ASSERT_EQ_U64(res.lines_accepted, 0);
    ASSERT_CONTAINS(E.msg, "line 2");
    strata_write_result_cleanup(&res);

    ASSERT_CODE(strata_write(c, "nodb", lp, strlen(lp), NULL, &res, &E), ST_ENOTFOUND);
    ASSERT_EQ_INT(res.n_errors, 0);
    strata_write_result_cleanup(&res);
    ASSERT_CODE(strata_write(c, "", lp, strlen(lp), NULL, &res, &E), ST_EINVAL);
    ASSERT_CODE(strata_write(c, "db", NULL, 5, NULL, &res, &E), ST_EINVAL);
    strata_close(c);

    c = connect_to(m, "read-only");
    ASSERT_CODE(strata_write(c, "db", lp, strlen(lp), NULL, &res, &E), ST_EPERMISSION);
    strata_write_result_cleanup(&res);
    strata_close(c);
    mock_server_stop(m);
}

/* ---- admin ------------------------------------------------------------------------ */

TEST(admin_databases)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    ASSERT_OK_E(strata_database_create(c, "newdb", &E), &E);
    ASSERT_CODE(strata_database_create(c, "exists", &E), ST_EEXISTS);
    ASSERT_CODE(strata_database_create(c, "bad name", &E), ST_EINVAL);
    struct strata_database *v;
    size_t n;
    ASSERT_OK(strata_database_list(c, &v, &n, &E));
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(v[0].name, "alpha");
    ASSERT_EQ_STR(v[0].created_by, "token:op");
    ASSERT_EQ_INT(v[1].created_at_ns, 1700000001000000000LL);
    strata_database_list_free(v, n);
    ASSERT_OK(strata_database_delete(c, "alpha", &E));
    ASSERT_CODE(strata_database_delete(c, "missing", &E), ST_ENOTFOUND);
    strata_close(c);
    c = connect_to(m, "read-only");
    ASSERT_CODE(strata_database_create(c, "x", &E), ST_EPERMISSION);
    strata_close(c);
    mock_server_stop(m);
}

TEST(admin_tokens)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_permission perms[] = {{"alpha", true, false}, {"*", false, true}};
    struct strata_token_spec spec = {"ingest", STRATA_TOKEN_DATABASE, perms, 2,
                                     3600,     "for telegraf"};
    struct strata_token t;
    char *secret;
    ASSERT_OK_E(strata_token_create(c, &spec, &t, &secret, &E), &E);
    ASSERT_EQ_STR(secret, "strata_secret_0123456789");
    ASSERT_EQ_STR(t.name, "ingest");
    ASSERT_EQ_STR(t.id, "tok-1");
    ASSERT_EQ_INT(t.kind, STRATA_TOKEN_DATABASE);
    ASSERT_EQ_INT(t.n_permissions, 2);
    ASSERT_EQ_STR(t.permissions[1].database, "*");
    ASSERT_TRUE(t.permissions[0].read && !t.permissions[0].write);
    ASSERT_EQ_INT(t.expires_at_ns, 1700000000000000000LL + 3600LL * 1000000000LL);
    ASSERT_EQ_STR(t.description, "for telegraf");
    free(secret);
    strata_token_cleanup(&t);

    struct strata_token *v;
    size_t n;
    ASSERT_OK(strata_token_list(c, false, NULL, &v, &n, &E));
    ASSERT_EQ_INT(n, 1);
    strata_token_list_free(v, n);
    ASSERT_OK(strata_token_list(c, true, "alpha", &v, &n, &E));
    ASSERT_EQ_INT(n, 2);
    ASSERT_TRUE(v[1].revoked);
    ASSERT_EQ_INT(v[1].kind, STRATA_TOKEN_MANAGEMENT);
    ASSERT_EQ_STR(strata_token_kind_name(v[1].kind), "management");
    strata_token_list_free(v, n);

    ASSERT_OK(strata_token_revoke(c, "tok-1", NULL, &t, &E));
    ASSERT_TRUE(t.revoked);
    ASSERT_EQ_STR(t.id, "tok-1");
    strata_token_cleanup(&t);
    ASSERT_OK(strata_token_revoke(c, NULL, "ingest", NULL, &E));
    ASSERT_CODE(strata_token_revoke(c, "nope", NULL, NULL, &E), ST_ENOTFOUND);
    ASSERT_CODE(strata_token_revoke(c, NULL, NULL, NULL, &E), ST_EINVAL);
    ASSERT_OK(strata_token_rotate(c, NULL, "ingest", 0, &t, &secret, &E));
    ASSERT_EQ_STR(secret, "strata_secret_rotated");
    ASSERT_EQ_INT(t.rotated_at_ns, 1700000000000000007LL);
    free(secret);
    strata_token_cleanup(&t);
    ASSERT_CODE(strata_token_rotate(c, "", "", 0, &t, &secret, &E), ST_EINVAL);
    strata_close(c);
    mock_server_stop(m);
}

TEST(admin_roles_whoami_check_audit)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct strata_principal alice = {STRATA_PRINCIPAL_USER, "alice"};
    struct strata_principal grp = {STRATA_PRINCIPAL_GROUP, "analysts"};
    ASSERT_OK_E(strata_role_grant(c, "alpha", "read", &grp, &E), &E);
    ASSERT_CODE(strata_role_grant(c, "alpha", "god", &alice, &E), ST_EINVAL);
    ASSERT_CODE(strata_role_revoke(c, "alpha", "owner", &alice, &E), ST_EPRECONDITION);
    ASSERT_OK(strata_role_revoke(c, "alpha", "read", &grp, &E));
    struct strata_principal none = {STRATA_PRINCIPAL_NONE, NULL};
    ASSERT_CODE(strata_role_grant(c, "alpha", "read", &none, &E), ST_EINVAL);
    ASSERT_CODE(strata_role_grant(c, "alpha", "read", NULL, &E), ST_EINVAL);
    struct strata_role_binding *v;
    size_t n;
    ASSERT_OK(strata_role_list(c, "alpha", NULL, &v, &n, &E));
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(v[0].role, "owner");
    ASSERT_EQ_INT(v[0].principal.kind, STRATA_PRINCIPAL_USER);
    ASSERT_EQ_STR(v[0].principal.name, "alice");
    ASSERT_EQ_INT(v[1].principal.kind, STRATA_PRINCIPAL_GROUP);
    ASSERT_EQ_STR(strata_principal_kind_name(v[1].principal.kind), "group");
    strata_role_list_free(v, n);
    ASSERT_OK(strata_role_list(c, NULL, &alice, &v, &n, &E));
    strata_role_list_free(v, n);

    struct strata_whoami w;
    ASSERT_OK(strata_whoami(c, &w, &E));
    ASSERT_EQ_STR(w.principal_id, "token:tok-op");
    ASSERT_EQ_INT(w.token_kind, STRATA_TOKEN_OPERATOR);
    ASSERT_EQ_INT(w.n_groups, 1);
    ASSERT_EQ_STR(w.groups[0], "ops");
    ASSERT_EQ_STR(w.tenant, "default");
    strata_whoami_cleanup(&w);

    struct strata_check_result cr;
    ASSERT_OK(strata_check(c, NULL, "read", "alpha", &cr, &E));
    ASSERT_TRUE(cr.allowed);
    ASSERT_OK(strata_check(c, &alice, "write", "alpha", &cr, &E));
    ASSERT_FALSE(cr.allowed);
    ASSERT_EQ_STR(cr.reason, "no_grant");

    struct strata_audit_page p;
    uint64_t after = 0;
    int total = 0, pages = 0;
    do {
        ASSERT_OK(strata_audit_read(c, after, 2, 0, 0, &p, &E));
        total += (int)p.n_records;
        pages++;
        if (p.n_records) ASSERT_CONTAINS(p.records[0], "\"seq\"");
        after = p.last_seq;
        bool more = p.more;
        strata_audit_page_cleanup(&p);
        if (!more) break;
    } while (pages < 10);
    ASSERT_EQ_INT(total, 5);
    ASSERT_EQ_INT(pages, 3);
    strata_close(c);
    mock_server_stop(m);
}

/* ---- TLS -------------------------------------------------------------------------- */

/* ---- data protection ------------------------------------------------------------ */

struct dp_seen {
    int progress;
    uint64_t last_done, last_total;
    int problems;
    char file[128], reason[128];
    uint64_t offset;
    bool quarantined;
};

static void
rot_progress(void *ctx, const struct strata_rotate_progress *p)
{
    struct dp_seen *s = ctx;
    s->progress++;
    s->last_done = p->files_done;
    s->last_total = p->files_total;
}

static void
scrub_problem(void *ctx, const struct strata_scrub_problem *p)
{
    struct dp_seen *s = ctx;
    s->problems++;
    snprintf(s->file, sizeof s->file, "%s", p->file);
    snprintf(s->reason, sizeof s->reason, "%s", p->reason);
    s->offset = p->offset;
    s->quarantined = p->quarantined;
}

static void
scrub_progress(void *ctx, const struct strata_scrub_progress *p)
{
    struct dp_seen *s = ctx;
    s->progress++;
    s->last_done = p->files_done;
}

TEST(rotate_key_streams_progress_then_totals)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct dp_seen seen = {0};
    struct strata_rotate_result r;
    ASSERT_OK_E(strata_rotate_key(c, rot_progress, &seen, &r, &E), &E);
    ASSERT_EQ_INT(seen.progress, 3);
    ASSERT_EQ_U64(seen.last_done, 4);
    ASSERT_EQ_U64(r.files, 4);
    ASSERT_EQ_U64(r.rewrapped, 3);
    ASSERT_EQ_U64(r.already_current, 1);
    ASSERT_EQ_STR(r.key_id, "75994c6f8af9575c");
    ASSERT_EQ_INT(r.n_previous_key_ids, 1);
    ASSERT_EQ_STR(r.previous_key_ids[0], "aff116fdf5636f26");
    strata_rotate_result_cleanup(&r);
    ASSERT_OK_E(strata_rotate_key(c, NULL, NULL, NULL, &E), &E);
    strata_close(c);
    c = connect_to(m, "read-only");
    ASSERT_CODE(strata_rotate_key(c, NULL, NULL, &r, &E), ST_EPERMISSION);
    ASSERT_EQ_INT(r.n_previous_key_ids, 0);
    strata_close(c);
    mock_server_stop(m);
}

TEST(scrub_problems_progress_summary_and_broken_streams)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    struct dp_seen seen = {0};
    struct strata_scrub_summary sum;
    ASSERT_OK_E(strata_scrub(c, "damaged", scrub_problem, scrub_progress, &seen, &sum, &E), &E);
    ASSERT_EQ_INT(seen.problems, 1);
    ASSERT_EQ_STR(seen.file, "db/1/1/0000000000000003.chk");
    ASSERT_EQ_U64(seen.offset, 176);
    ASSERT_TRUE(seen.quarantined);
    ASSERT_CONTAINS(seen.reason, "tag mismatch");
    ASSERT_EQ_INT(seen.progress, 1);
    ASSERT_EQ_U64(sum.problems, 1);
    ASSERT_EQ_U64(sum.files, 2);
    ASSERT_EQ_U64(sum.quarantined_groups, 1);
    ASSERT_OK_E(strata_scrub(c, NULL, NULL, NULL, NULL, &sum, &E), &E);
    ASSERT_EQ_U64(sum.problems, 0);
    ASSERT_CODE(strata_scrub(c, "cut", NULL, NULL, NULL, &sum, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "without its summary");
    ASSERT_CODE(strata_scrub(c, "garbage", NULL, NULL, NULL, &sum, &E), ST_ECORRUPT);
    ASSERT_CONTAINS(E.msg, "malformed Verify reply");
    ASSERT_CODE(strata_scrub(c, "missing", NULL, NULL, NULL, &sum, &E), ST_ENOTFOUND);
    strata_close(c);
    mock_server_stop(m);
}

TEST(execute_update_counts_rows_and_keeps_offsets)
{
    struct mock_server *m = start_mock();
    struct strata *c = connect_to(m, "good-token");
    int64_t rows = 0;
    ASSERT_OK_E(strata_execute_update(c, "alpha", "DELETE FROM cpu", &rows, &E), &E);
    ASSERT_EQ_INT(rows, 7);
    ASSERT_CODE(strata_execute_update(c, "alpha", "DELETE FROM cpu WHERE nosuch = 1", &rows, &E),
                ST_EBIND);
    ASSERT_EQ_INT(E.offset, 20);
    ASSERT_CODE(strata_execute_update(c, "alpha", "DELETE garbage", &rows, &E), ST_ECORRUPT);
    ASSERT_CODE(strata_execute_update(c, "", "DELETE FROM cpu", &rows, &E), ST_EINVAL);
    ASSERT_CODE(strata_execute_update(c, "alpha", NULL, &rows, &E), ST_EINVAL);
    strata_close(c);
    c = connect_to(m, "read-only");
    ASSERT_CODE(strata_execute_update(c, "alpha", "DELETE FROM cpu", &rows, &E), ST_EPERMISSION);
    ASSERT_EQ_INT(rows, -1);
    strata_close(c);
    mock_server_stop(m);
}

TEST(tls_with_a_private_ca)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1",
             th_path("key.pem"), th_path("cert.pem"));
    if (system(cmd) != 0) th_fail(__FILE__, __LINE__, "openssl could not make a test certificate");
    struct mock_server *m = mock_server_start(th_path("cert.pem"), th_path("key.pem"));
    ASSERT_TRUE(m != NULL);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", mock_server_port(m));
    struct strata *c = strata_connect(url, "good-token", th_path("cert.pem"), &E);
    ASSERT_TRUE(c != NULL);
    ASSERT_OK_E(strata_ping(c, &E), &E);
    struct strata_result *r;
    ASSERT_OK_E(strata_query(c, "db", "SELECT cli_sample", NULL, 0, &r, &E), &E);
    strata_result_free(r);
    strata_close(c);
    /* the system roots do not trust it */
    c = strata_connect(url, "good-token", NULL, &E);
    ASSERT_CODE(strata_ping(c, &E), ST_EIO);
    strata_close(c);
    /* plaintext to a TLS port fails too */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", mock_server_port(m));
    c = strata_connect(url, "good-token", NULL, &E);
    ASSERT_CODE(strata_ping(c, &E), ST_EIO);
    strata_close(c);
    mock_server_stop(m);
}
