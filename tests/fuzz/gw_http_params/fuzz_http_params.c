/*
 * fuzz_http_params.c: arbitrary HTTP write requests through the gateway's real handling
 * (gateway/http_write.c gw_write_begin, then gw_write_work), as libmicrohttpd would hand
 * them over: the query arguments of /write, /api/v2/write and /api/v3/write_lp (db,
 * bucket, rp, precision, accept_partial, no_sync, p, unknown ones), the headers
 * (Authorization, Content-Encoding, Content-Length, others) and the body (gzip or not).
 *
 * Input: byte 0 picks the route (bits 0-1: v1, v2, v3, v3) and whether the harness adds
 * the operator's `Authorization: Bearer` header (bit 2 clear) so most inputs get past the
 * credential check to the parameters. Then the query string up to the first '\n' (split on
 * '&' and the first '=', as libmicrohttpd does after unescaping: any byte but NUL), then
 * header lines "Name: value" up to an empty line, then the body.
 *
 * This file defines the three libmicrohttpd functions the gateway calls on a request
 * (lookup a value, iterate values, connection info), so the request needs no socket; the
 * engine is absent (gw_srv->eng NULL): a write that passes every check ends at eng_write
 * with EINVAL, and a database created by a first write fails at eng_db_create, so the
 * policy file never changes. Checks: no crash or sanitizer report; every request ends
 * with a response status in 200..599, and 204 never happens (nothing can be written).
 */
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_http.h"
#include "strata/file.h"

static struct gw_server srv;
struct gw_server *gw_srv = &srv;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TOKEN[] = "fuzz-operator-token/0123456789:abcdef+xyz";
static char dir[] = "/tmp/gw-fuzz-http-XXXXXX";

#define MAX_KV 64

struct kv {
    enum MHD_ValueKind kind;
    char *key, *value;
};

/* The request being fuzzed (one at a time). */
static struct {
    struct kv kv[MAX_KV];
    size_t n;
} Q;

/* ---- libmicrohttpd, as far as the gateway asks ---------------------------------------------- */

const char *
MHD_lookup_connection_value(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                            const char *key)
{
    (void)connection;
    for (size_t i = 0; i < Q.n; i++) {
        if (!(Q.kv[i].kind & kind))
            continue;
        bool same = Q.kv[i].kind == MHD_HEADER_KIND ? !strcasecmp(Q.kv[i].key, key)
                                                    : !strcmp(Q.kv[i].key, key);
        if (same)
            return Q.kv[i].value;
    }
    return NULL;
}

int
MHD_get_connection_values(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                          MHD_KeyValueIterator iterator, void *iterator_cls)
{
    (void)connection;
    int n = 0;
    for (size_t i = 0; i < Q.n; i++) {
        if (!(Q.kv[i].kind & kind))
            continue;
        n++;
        if (iterator && iterator(iterator_cls, Q.kv[i].kind, Q.kv[i].key, Q.kv[i].value) != MHD_YES)
            break;
    }
    return n;
}

const union MHD_ConnectionInfo *
MHD_get_connection_info(struct MHD_Connection *connection,
                        enum MHD_ConnectionInfoType info_type, ...)
{
    (void)connection;
    (void)info_type;
    return NULL;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void
remove_dir(void)
{
    st_remove_tree(dir, NULL);
}

static void
setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (!mkdtemp(dir))
        abort();
    atexit(remove_dir);
    static char tok[300], pol[300], pep[300];
    snprintf(tok, sizeof tok, "%s/token", dir);
    snprintf(pol, sizeof pol, "%s/policy.json", dir);
    snprintf(pep, sizeof pep, "%s/pepper", dir);
    FILE *f = fopen(tok, "w");
    if (!f || fputs(TOKEN, f) < 0 || fclose(f) != 0)
        abort();
    srv.cfg.admin_token_file = tok;
    srv.cfg.policy_file = pol;
    srv.cfg.token_pepper_file = pep;
    srv.cfg.max_request_bytes = 1u << 20;
    bool created;
    struct st_error err;
    if (gw_policy_open(&srv, &created, &err) != ST_OK) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

static void
add(enum MHD_ValueKind kind, const char *k, size_t kn, const char *v, size_t vn)
{
    if (Q.n >= MAX_KV)
        return;
    struct kv *e = &Q.kv[Q.n];
    e->kind = kind;
    e->key = strndup(k, kn);
    e->value = strndup(v, vn);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return;
    }
    Q.n++;
}

/* "a=1&b&c=" -> (a, 1), (b, ""), (c, ""), as libmicrohttpd hands arguments over. */
static void
parse_query(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && p[e] != '&')
            e++;
        const char *eq = memchr(p + i, '=', e - i);
        if (e > i) {
            if (eq)
                add(MHD_GET_ARGUMENT_KIND, p + i, (size_t)(eq - (p + i)), eq + 1,
                    (size_t)(p + e - eq - 1));
            else
                add(MHD_GET_ARGUMENT_KIND, p + i, e - i, "", 0);
        }
        i = e + 1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    static const enum gw_route routes[] = {GW_R_WRITE_V1, GW_R_WRITE_V2, GW_R_WRITE_V3,
                                           GW_R_WRITE_V3};
    static const char *const names[] = {"/write", "/api/v2/write", "/api/v3/write_lp",
                                        "/api/v3/write_lp"};
    uint8_t sel = data[0];
    /* NUL bytes cannot reach the gateway through libmicrohttpd's C strings: cut there */
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    const char *nl = memchr(p, '\n', n);
    size_t qn = nl ? (size_t)(nl - p) : n;
    const char *nul = memchr(p, 0, qn);
    parse_query(p, nul ? (size_t)(nul - p) : qn);
    size_t at = nl ? qn + 1 : n;
    while (at < n) { /* header lines up to an empty one */
        const char *l = p + at;
        const char *e = memchr(l, '\n', n - at);
        size_t ln = e ? (size_t)(e - l) : n - at;
        at += ln + 1;
        if (ln == 0)
            break;
        const char *colon = memchr(l, ':', ln);
        if (!colon || memchr(l, 0, ln))
            continue;
        const char *v = colon + 1;
        while (v < l + ln && *v == ' ')
            v++;
        add(MHD_HEADER_KIND, l, (size_t)(colon - l), v, (size_t)(l + ln - v));
    }
    if (!(sel & 4)) {
        char auth[128];
        int an = snprintf(auth, sizeof auth, "Bearer %s", TOKEN);
        add(MHD_HEADER_KIND, "Authorization", 13, auth, (size_t)an);
    }
    struct gw_req r;
    memset(&r, 0, sizeof r);
    gw_principal_init(&r.who);
    st_buf_init(&r.body, gw_srv->cfg.max_request_bytes);
    r.route = routes[sel & 3];
    r.route_name = names[sel & 3];
    int b = gw_write_begin(&r);
    if (b == 0) {
        size_t bn = at < n ? n - at : 0;
        if (st_buf_append(&r.body, p + (at < n ? at : n), bn) != ST_OK)
            gw_req_too_large(&r);
        else
            gw_write_work(&r);
    }
    if (r.status < 200 || r.status > 599 || r.status == 204)
        abort();
    gw_principal_cleanup(&r.who);
    st_buf_cleanup(&r.body);
    free(r.resp);
    for (size_t i = 0; i < Q.n; i++) {
        free(Q.kv[i].key);
        free(Q.kv[i].value);
    }
    Q.n = 0;
    return 0;
}
