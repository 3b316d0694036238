/*
 * test_gateway.c: unit tests of stratad's pure pieces (no sockets, no gRPC calls):
 * tls_sniff.c, status_map.c, config.c and ticket.c.
 */
#include <grpc/status.h>
#include <stdlib.h>
#include <string.h>

#include "gw_flight.h"
#include "gw_int.h"
#include "th.h"

/* The server struct the gateway files refer to; unit tests need no running server. */
static struct gw_server srv;
struct gw_server *gw_srv = &srv;
/* engine functions the linked gateway objects reference but these tests never call */
#include "strata/engine.h"

static size_t
hello(uint8_t *out, const char *const *alpn, int n_alpn)
{
    uint8_t body[512];
    size_t b = 0;
    body[b++] = 3, body[b++] = 3;
    memset(body + b, 7, 32), b += 32;
    body[b++] = 0;                              /* session id */
    body[b++] = 0, body[b++] = 2, body[b++] = 0x13, body[b++] = 0x01; /* one suite */
    body[b++] = 1, body[b++] = 0;               /* compression */
    uint8_t ext[256];
    size_t e = 0;
    if (n_alpn >= 0) {
        uint8_t list[128];
        size_t l = 0;
        for (int i = 0; i < n_alpn; i++) {
            list[l++] = (uint8_t)strlen(alpn[i]);
            memcpy(list + l, alpn[i], strlen(alpn[i]));
            l += strlen(alpn[i]);
        }
        ext[e++] = 0, ext[e++] = 16, ext[e++] = 0, ext[e++] = (uint8_t)(l + 2);
        ext[e++] = 0, ext[e++] = (uint8_t)l;
        memcpy(ext + e, list, l), e += l;
    }
    body[b++] = 0, body[b++] = (uint8_t)e;
    memcpy(body + b, ext, e), b += e;
    size_t o = 0;
    out[o++] = 22, out[o++] = 3, out[o++] = 1, out[o++] = 0, out[o++] = (uint8_t)(b + 4);
    out[o++] = 1, out[o++] = 0, out[o++] = 0, out[o++] = (uint8_t)b;
    memcpy(out + o, body, b);
    return o + b;
}

TEST(sniff_plaintext)
{
    const char *pre = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    ASSERT_EQ_INT(gw_sniff_plain((const uint8_t *)pre, 24), GW_SNIFF_GRPC);
    ASSERT_EQ_INT(gw_sniff_plain((const uint8_t *)pre, 5), GW_SNIFF_MORE);
    ASSERT_EQ_INT(gw_sniff_plain((const uint8_t *)"P", 1), GW_SNIFF_MORE);
    ASSERT_EQ_INT(gw_sniff_plain((const uint8_t *)"POST /", 6), GW_SNIFF_HTTP);
    ASSERT_EQ_INT(gw_sniff_plain((const uint8_t *)"\x16\x03", 2), GW_SNIFF_HTTP);
    ASSERT_EQ_INT(gw_sniff_plain((const uint8_t *)"", 0), GW_SNIFF_MORE);
}

TEST(sniff_tls_alpn_routing)
{
    uint8_t buf[1024];
    const char *h2[] = {"h2"}, *both[] = {"h2", "http/1.1"}, *h11[] = {"http/1.1"},
               *other[] = {"spdy/3"};
    size_t n = hello(buf, h2, 1);
    ASSERT_EQ_INT(gw_sniff_tls(buf, n), GW_SNIFF_TLS_GRPC);
    for (size_t k = 0; k < n; k++)
        ASSERT_EQ_INT(gw_sniff_tls(buf, k), k == 0 ? GW_SNIFF_MORE : GW_SNIFF_MORE);
    n = hello(buf, both, 2);
    ASSERT_EQ_INT(gw_sniff_tls(buf, n), GW_SNIFF_TLS_HTTP);
    n = hello(buf, h11, 1);
    ASSERT_EQ_INT(gw_sniff_tls(buf, n), GW_SNIFF_TLS_HTTP);
    n = hello(buf, other, 1);
    ASSERT_EQ_INT(gw_sniff_tls(buf, n), GW_SNIFF_TLS_HTTP);
    n = hello(buf, NULL, -1);
    ASSERT_EQ_INT(gw_sniff_tls(buf, n), GW_SNIFF_TLS_HTTP);
    ASSERT_EQ_INT(gw_sniff_tls((const uint8_t *)"GET / HTTP/1.1", 14), GW_SNIFF_BAD);
    n = hello(buf, h2, 1);
    buf[5] = 2; /* a ServerHello, not a ClientHello */
    ASSERT_EQ_INT(gw_sniff_tls(buf, n), GW_SNIFF_BAD);
}

TEST(sniff_tls_split_records)
{
    uint8_t one[1024], two[1100];
    const char *h2[] = {"h2"};
    size_t n = hello(one, h2, 1);
    size_t hs = n - 5, cut = 10;
    size_t o = 0;
    two[o++] = 22, two[o++] = 3, two[o++] = 1, two[o++] = 0, two[o++] = (uint8_t)cut;
    memcpy(two + o, one + 5, cut), o += cut;
    two[o++] = 22, two[o++] = 3, two[o++] = 1, two[o++] = 0, two[o++] = (uint8_t)(hs - cut);
    memcpy(two + o, one + 5 + cut, hs - cut), o += hs - cut;
    ASSERT_EQ_INT(gw_sniff_tls(two, o), GW_SNIFF_TLS_GRPC);
    ASSERT_EQ_INT(gw_sniff_tls(two, 20), GW_SNIFF_MORE);
}

TEST(status_tables)
{
    ASSERT_EQ_INT(gw_status_grpc(ST_OK), GRPC_STATUS_OK);
    ASSERT_EQ_INT(gw_status_grpc(ST_EUNAUTHENTICATED), GRPC_STATUS_UNAUTHENTICATED);
    ASSERT_EQ_INT(gw_status_http(ST_EUNAUTHENTICATED), 401);
    ASSERT_EQ_INT(gw_status_grpc(ST_EPERMISSION), GRPC_STATUS_PERMISSION_DENIED);
    ASSERT_EQ_INT(gw_status_http(ST_EPERMISSION), 403);
    ASSERT_EQ_INT(gw_status_grpc(ST_ENOTFOUND), GRPC_STATUS_NOT_FOUND);
    ASSERT_EQ_INT(gw_status_grpc(ST_EPARSE), GRPC_STATUS_INVALID_ARGUMENT);
    ASSERT_EQ_INT(gw_status_http(ST_EAGAIN), 429);
    ASSERT_EQ_INT(gw_status_grpc(ST_ESHUTDOWN), GRPC_STATUS_UNAVAILABLE);
    for (int c = 0; c < ST__COUNT; c++) {
        ASSERT_TRUE(gw_status_http((enum st_code)c) >= 200);
        ASSERT_TRUE(gw_status_grpc((enum st_code)c) >= 0);
        ASSERT_TRUE((c == ST_OK) == (gw_status_grpc((enum st_code)c) == 0));
    }
    ASSERT_EQ_INT(gw_status_grpc((enum st_code)999), GRPC_STATUS_UNKNOWN);
    ASSERT_EQ_STR(gw_grpc_code_name(16), "UNAUTHENTICATED");
}

TEST(config_defaults_and_flags)
{
    struct gw_config c;
    struct st_error err;
    char *argv[] = {"stratad", "--listen", "0.0.0.0:0", "--max-request-size=2MiB",
                    "--query-timeout", "30s", "--log-json", NULL};
    ASSERT_OK_E(gw_config_load(&c, 7, argv, &err), &err);
    ASSERT_EQ_STR(c.listen_host, "0.0.0.0");
    ASSERT_EQ_INT(c.listen_port, 0);
    ASSERT_EQ_U64(c.max_request_bytes, 2u << 20);
    ASSERT_EQ_INT(c.query_timeout_ns, 30 * 1000000000LL);
    ASSERT_TRUE(c.log_json);
    ASSERT_EQ_U64(c.max_flight_data_bytes, 2u << 20);
    ASSERT_CONTAINS(c.admin_token_file, "operator-token");
    gw_config_cleanup(&c);
}

TEST(config_errors_name_the_setting)
{
    struct gw_config c;
    struct st_error err;
    char *a1[] = {"stratad", "--listen", "host-without-port", NULL};
    ASSERT_CODE(gw_config_load(&c, 3, a1, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "--listen");
    gw_config_cleanup(&c);
    char *a2[] = {"stratad", "--max-request-size", "12parsecs", NULL};
    ASSERT_CODE(gw_config_load(&c, 3, a2, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "--max-request-size");
    gw_config_cleanup(&c);
    char *a3[] = {"stratad", "--tls-cert", "x.pem", NULL};
    ASSERT_CODE(gw_config_load(&c, 3, a3, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "--tls-key");
    gw_config_cleanup(&c);
    char *a4[] = {"stratad", "--nope", NULL};
    ASSERT_CODE(gw_config_load(&c, 2, a4, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "--nope");
    gw_config_cleanup(&c);
    char *a5[] = {"stratad", "--listen", "1.2.3.4:70000", NULL};
    ASSERT_CODE(gw_config_load(&c, 3, a5, &err), ST_EINVAL);
    gw_config_cleanup(&c);
    uint64_t v;
    ASSERT_EQ_INT(gw_parse_size("64KiB", &v), 0);
    ASSERT_EQ_U64(v, 65536);
    ASSERT_EQ_INT(gw_parse_size("-1", &v), -1);
    ASSERT_EQ_INT(gw_parse_size("99999999999999999999", &v), -1);
}

/* Credentials, the access check, the policy store and the storage names: the security
 * tests in tests/unit/rbac/test_gw_sec.c (they need the policy store and the engine). */

TEST(tickets)
{
    struct gw_query q;
    struct st_error err;
    gw_query_init(&q);
    const char *t = "{\"params\":{\"h\":\"a\",\"n\":5,\"f\":1.5,\"b\":false,\"z\":null},"
                    "\"sql_query\":\"SELECT 1\",\"bucket\":\"db1\"}";
    ASSERT_OK_E(gw_ticket_decode((const uint8_t *)t, strlen(t), NULL, &q, &err), &err);
    ASSERT_EQ_STR(q.db, "db1");
    ASSERT_EQ_STR(q.sql, "SELECT 1");
    ASSERT_EQ_INT(q.n_params, 5);
    ASSERT_EQ_STR(q.params[0].name, "h");
    ASSERT_EQ_INT(q.params[1].type, ST_TYPE_INT);
    ASSERT_EQ_INT(q.params[2].type, ST_TYPE_FLOAT);
    ASSERT_EQ_INT(q.params[3].type, ST_TYPE_BOOL);
    ASSERT_EQ_INT(q.params[4].type, ST_TYPE_NULL);
    gw_query_cleanup(&q);
    static const char *const bad[] = {
        "", "[]", "{\"database\":\"d\"}", "{\"database\":1,\"sql_query\":\"x\"}",
        "{\"database\":\"a\",\"bucket\":\"b\",\"sql_query\":\"x\"}",
        "{\"database\":\"a\",\"sql_query\":\"x\",\"query_type\":\"flux\"}",
        "{\"database\":\"a\",\"sql_query\":\"x\",\"params\":{\"p\":{}}}",
        "{\"database\":\"a\",\"database\":\"a\",\"sql_query\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_query_init(&q);
        ASSERT_CODE(gw_ticket_decode((const uint8_t *)bad[i], strlen(bad[i]), NULL, &q, &err),
                    ST_EINVAL);
        gw_query_cleanup(&q);
    }
    const char *iq = "{\"database\":\"a\",\"sql_query\":\"x\",\"query_type\":\"influxql\"}";
    gw_query_init(&q);
    ASSERT_CODE(gw_ticket_decode((const uint8_t *)iq, strlen(iq), NULL, &q, &err),
                ST_EUNSUPPORTED);
    gw_query_cleanup(&q);
}

TEST(flightsql_ticket_round_trip)
{
    /* Any(CommandStatementQuery{query: "SELECT 2"}) */
    static const char url[] = "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery";
    uint8_t cmd[128];
    size_t n = 0;
    cmd[n++] = 0x0a, cmd[n++] = (uint8_t)(sizeof url - 1);
    memcpy(cmd + n, url, sizeof url - 1), n += sizeof url - 1;
    cmd[n++] = 0x12, cmd[n++] = 10, cmd[n++] = 0x0a, cmd[n++] = 8;
    memcpy(cmd + n, "SELECT 2", 8), n += 8;
    size_t tl;
    uint8_t *tk = gw_ticket_encode("dbx", cmd, n, &tl);
    struct gw_query q;
    struct st_error err;
    gw_query_init(&q);
    ASSERT_OK_E(gw_ticket_decode(tk, tl, NULL, &q, &err), &err);
    ASSERT_EQ_STR(q.db, "dbx");
    ASSERT_EQ_STR(q.sql, "SELECT 2");
    ASSERT_EQ_INT(q.kind, GW_Q_SQL);
    gw_query_cleanup(&q);
    free(tk);
    size_t hl;
    uint8_t *h = gw_handle_encode("SELECT $x", 9, NULL, 0, &hl);
    gw_query_init(&q);
    ASSERT_OK(gw_handle_decode(h, hl, &q, &err));
    ASSERT_EQ_STR(q.sql, "SELECT $x");
    gw_query_cleanup(&q);
    free(h);
    gw_query_init(&q); /* legacy: raw query text */
    ASSERT_OK(gw_handle_decode((const uint8_t *)"SELECT 3", 8, &q, &err));
    ASSERT_EQ_STR(q.sql, "SELECT 3");
    gw_query_cleanup(&q);
}

/* Empty protobuf fields reach the decoders without a pointer (protobuf-c): an Any holding
 * an empty ReadInfo is refused cleanly and an empty prepared-statement handle decodes to an
 * empty statement (the ReadInfo case was a fuzz finding: NULL + 0, undefined behaviour). */
TEST(empty_readinfo_refused_empty_handle_is_an_empty_statement)
{
    static const char url[] = "type.googleapis.com/influxdata.iox.querier.v1.ReadInfo";
    uint8_t any[80];
    size_t n = 0;
    any[n++] = 0x0a, any[n++] = (uint8_t)(sizeof url - 1);
    memcpy(any + n, url, sizeof url - 1), n += sizeof url - 1;
    struct gw_query q;
    struct st_error err;
    gw_query_init(&q);
    ASSERT_CODE(gw_ticket_decode(any, n, NULL, &q, &err), ST_EINVAL);
    gw_query_cleanup(&q);
    any[n++] = 0x12, any[n++] = 0; /* value present but empty */
    gw_query_init(&q);
    ASSERT_CODE(gw_ticket_decode(any, n, NULL, &q, &err), ST_EINVAL);
    gw_query_cleanup(&q);
    /* an empty handle is the legacy raw-text form of an empty statement, which the SQL
     * front end then refuses ("empty statement") */
    gw_query_init(&q);
    ASSERT_OK(gw_handle_decode(NULL, 0, &q, &err));
    ASSERT_EQ_INT(q.sql_len, 0);
    gw_query_cleanup(&q);
}

/* Parameters and CommandGetSqlInfo ids live in arrays allocated on use: every count from
 * none to the limit, with string values (the string store moves as it grows and the
 * parameters are re-pointed), and one more than the limit refused. */
TEST(ticket_parameters_grow_to_the_limit)
{
    struct gw_query q;
    struct st_error err;
    gw_query_init(&q);
    ASSERT_TRUE(q.params == NULL && q.n_params == 0 && q.info == NULL && q.n_info == 0);
    gw_query_cleanup(&q);
    static const uint32_t counts[] = {0, 1, 8, 9, 100, GW_MAX_PARAMS, GW_MAX_PARAMS + 1};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        uint32_t n = counts[c];
        size_t cap = 128 + (size_t)n * 64;
        char *t = malloc(cap);
        size_t l = (size_t)snprintf(t, cap, "{\"database\":\"d\",\"sql_query\":\"SELECT 1\"");
        if (n)
            l += (size_t)snprintf(t + l, cap - l, ",\"params\":{");
        for (uint32_t i = 0; i < n; i++)
            l += (size_t)(i % 2 ? snprintf(t + l, cap - l, "%s\"p%u\":%u", i ? "," : "", i, i)
                                : snprintf(t + l, cap - l, "%s\"p%u\":\"value %u\"", i ? "," : "",
                                           i, i));
        snprintf(t + l, cap - l, "%s}", n ? "}" : "");
        gw_query_init(&q);
        enum st_code rc = gw_ticket_decode((const uint8_t *)t, strlen(t), NULL, &q, &err);
        if (n > GW_MAX_PARAMS) {
            ASSERT_CODE(rc, ST_ELIMIT);
        } else {
            ASSERT_OK_E(rc, &err);
            ASSERT_EQ_INT(q.n_params, n);
            for (uint32_t i = 0; i < n; i++) {
                char want[32];
                snprintf(want, sizeof want, "p%u", i);
                ASSERT_EQ_STR(q.params[i].name, want);
                if (i % 2) {
                    ASSERT_EQ_INT(q.params[i].type, ST_TYPE_INT);
                    ASSERT_EQ_INT(q.params[i].v.i, i);
                } else {
                    snprintf(want, sizeof want, "value %u", i);
                    ASSERT_EQ_INT(q.params[i].type, ST_TYPE_STRING);
                    ASSERT_EQ_INT(q.params[i].v.s.len, strlen(want));
                    ASSERT_TRUE(memcmp(q.params[i].v.s.ptr, want, strlen(want)) == 0);
                }
            }
        }
        gw_query_cleanup(&q);
        ASSERT_TRUE(q.params == NULL && q.n_params == 0 && q.strs == NULL);
        free(t);
    }
}

/* Any(CommandGetSqlInfo{info: ids}) with n ids 0, 1, 2, ... */
static uint8_t *
sql_info_any(uint32_t n, size_t *len)
{
    static const char url[] = "type.googleapis.com/arrow.flight.protocol.sql.CommandGetSqlInfo";
    uint8_t *v = malloc((size_t)n * 3 + 1), *a = malloc((size_t)n * 3 + 128);
    size_t vl = 0, al = 0;
    for (uint32_t i = 0; i < n; i++) { /* unpacked: tag 1 varint, then the id (< 16384) */
        v[vl++] = 0x08;
        if (i < 128) {
            v[vl++] = (uint8_t)i;
        } else {
            v[vl++] = (uint8_t)(0x80 | (i & 0x7f));
            v[vl++] = (uint8_t)(i >> 7);
        }
    }
    a[al++] = 0x0a, a[al++] = (uint8_t)(sizeof url - 1);
    memcpy(a + al, url, sizeof url - 1), al += sizeof url - 1;
    a[al++] = 0x12;
    for (size_t x = vl; ; x >>= 7) { /* length varint */
        a[al++] = (uint8_t)((x & 0x7f) | (x > 0x7f ? 0x80 : 0));
        if (x <= 0x7f)
            break;
    }
    memcpy(a + al, v, vl), al += vl;
    free(v);
    *len = al;
    return a;
}

TEST(flightsql_sql_info_ids)
{
    static const uint32_t counts[] = {0, 1, 3, GW_MAX_SQL_INFO_IDS, GW_MAX_SQL_INFO_IDS + 1};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        uint32_t n = counts[c];
        size_t len;
        uint8_t *any = sql_info_any(n, &len);
        struct gw_query q;
        struct st_error err;
        gw_query_init(&q);
        enum st_code rc = gw_flightsql_decode(any, len, "db", &q, &err);
        if (n > GW_MAX_SQL_INFO_IDS) {
            ASSERT_CODE(rc, ST_ELIMIT);
            ASSERT_TRUE(q.info == NULL && q.n_info == 0);
        } else {
            ASSERT_OK_E(rc, &err);
            ASSERT_EQ_INT(q.kind, GW_Q_SQL_INFO);
            ASSERT_EQ_INT(q.n_info, n);
            for (uint32_t i = 0; i < n; i++)
                ASSERT_EQ_INT(q.info[i], i);
        }
        gw_query_cleanup(&q);
        ASSERT_TRUE(q.info == NULL && q.n_info == 0);
        free(any);
    }
}
