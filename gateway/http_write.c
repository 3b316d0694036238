/*
 * http_write.c: the line-protocol write endpoints, with InfluxDB 3's parameters, status
 * codes and error bodies (research/influxdb3-protocol.md "Write (HTTP)"):
 *
 *   POST /write            v1: db (required), rp, precision (s|ms|us|u|ns|n, long names),
 *                          u ignored, p=<token>; all-or-nothing; errors {"error": "..."}
 *   POST /api/v2/write     bucket (required), org ignored, precision; all-or-nothing;
 *                          errors {"code": "invalid|...", "message": "..."}
 *   POST /api/v3/write_lp  db (required), precision (auto default), accept_partial
 *                          (default true), no_sync; partial errors as
 *                          {"error": "partial write of line protocol occurred",
 *                           "data": [{"error_message", "line_number", "original_line"}]}
 *                          with original_line cut to 20 bytes at a character boundary
 *   success: 204 No Content, empty body.
 *
 * Order of checks (first callback, before any body byte is read): credential (401 / 400
 * malformed / 429 for an address over --auth-fail-limit), parameters (400),
 * Content-Encoding (identity or gzip, else 400), Content-Length against
 * --max-request-size (413), then the write privilege on the named database (403, the
 * same whether or not it exists). The body limit applies again after gzip decompression
 * (413). A write by a principal allowed to create databases (and to write to what it
 * creates) creates a missing database, on the pool, before writing. The database's
 * storage name is its tenant's (gw_engine_name). Every write that passed the checks is
 * audited with its lines accepted and rejected.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gw_http.h"
#include "strata/utf8.h"
#include "strata/clock.h"
#include "strata/log.h"

static int
parse_precision(const char *s, bool v3, int *out)
{
    static const struct {
        const char *name;
        int p;
    } t[] = {{"ns", ENG_PREC_NS},          {"n", ENG_PREC_NS},         {"nanosecond", ENG_PREC_NS},
             {"us", ENG_PREC_US},          {"u", ENG_PREC_US},         {"microsecond", ENG_PREC_US},
             {"ms", ENG_PREC_MS},          {"millisecond", ENG_PREC_MS}, {"s", ENG_PREC_S},
             {"second", ENG_PREC_S},       {"auto", ENG_PREC_AUTO}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) {
            if (t[i].p == ENG_PREC_AUTO && !v3)
                return -1;
            *out = t[i].p;
            return 0;
        }
    return -1;
}

static int
parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

static void
bad_request(struct gw_req *r, const char *msg)
{
    if (r->route == GW_R_WRITE_V2)
        gw_req_v2_error(r, 400, "invalid", msg);
    else
        gw_req_error(r, 400, msg);
}

static const char *
arg(struct gw_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int
gw_write_begin(struct gw_req *r)
{
    struct st_error err;
    st_error_clear(&err);
    enum st_code rc = gw_req_authenticate(r, &err);
    if (rc != ST_OK) {
        gw_req_auth_error(r, rc, &err);
        return -1;
    }
    const char *db = NULL, *prec = arg(r, "precision");
    char msg[600];
    r->precision = ENG_PREC_NS;
    switch (r->route) {
    case GW_R_WRITE_V1: {
        db = arg(r, "db");
        if (!db || !*db) {
            bad_request(r, "missing query parameter 'db'");
            return -1;
        }
        const char *rp = arg(r, "rp");
        if (rp && *rp && strcasecmp(rp, "autogen") && strcasecmp(rp, "default") &&
            strcmp(rp, "''")) {
            snprintf(msg, sizeof msg, "retention policies are not supported: rp '%.100s'", rp);
            bad_request(r, msg);
            return -1;
        }
        break;
    }
    case GW_R_WRITE_V2:
        db = arg(r, "bucket");
        if (!db || !*db) {
            bad_request(r, "missing query parameter 'bucket'");
            return -1;
        }
        break;
    case GW_R_WRITE_V3: {
        db = arg(r, "db");
        if (!db || !*db) {
            bad_request(r, "missing query parameter 'db'");
            return -1;
        }
        r->precision = ENG_PREC_AUTO;
        r->partial = true;
        const char *ap = arg(r, "accept_partial"), *ns = arg(r, "no_sync");
        if (ap && parse_bool(ap, &r->partial) != 0) {
            bad_request(r, "invalid value for 'accept_partial': must be true or false");
            return -1;
        }
        if (ns && parse_bool(ns, &r->no_sync) != 0) {
            bad_request(r, "invalid value for 'no_sync': must be true or false");
            return -1;
        }
        break;
    }
    default:
        return -1;
    }
    if (prec && *prec && parse_precision(prec, r->route == GW_R_WRITE_V3, &r->precision) != 0) {
        snprintf(msg, sizeof msg, "invalid precision '%.40s'", prec);
        bad_request(r, msg);
        return -1;
    }
    size_t dblen = strlen(db);
    if (dblen >= sizeof r->db ||
        eng_name_check("database", db, dblen, &err) != ST_OK) {
        if (r->route == GW_R_WRITE_V2)
            gw_req_v2_error(r, 400, "invalid", err.msg[0] ? err.msg : "invalid database name");
        else
            gw_req_error(r, 400, err.msg[0] ? err.msg : "invalid database name");
        return -1;
    }
    memcpy(r->db, db, dblen + 1);
    const char *ce =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (ce && *ce && strcasecmp(ce, "identity") != 0) {
        if (strcasecmp(ce, "gzip") != 0) {
            snprintf(msg, sizeof msg, "unacceptable content-encoding: %.60s", ce);
            bad_request(r, msg);
            return -1;
        }
        r->gzip = true;
    }
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    r->content_length = cl ? strtoull(cl, NULL, 10) : 0;
    if (r->content_length > gw_srv->cfg.max_request_bytes) {
        gw_req_too_large(r);
        return 1;
    }
    if (r->content_length && gw_req_body_reserve(r, (size_t)r->content_length) != ST_OK) {
        gw_req_error(r, 503, "out of memory");
        return -1;
    }
    rc = gw_check_write(&r->who, r->db, r->route_name, &r->create_db, &err);
    if (rc != ST_OK) {
        gw_req_auth_error(r, rc, &err);
        return -1;
    }
    return 0;
}

static void
audit_write(struct gw_req *r, enum st_code rc, const struct eng_write_result *res, size_t len)
{
    struct rbac_audit_event ev = {.category = "write", .method = r->route_name,
                                  .outcome = rc == ST_OK || rc == ST_EPARTIAL ? RBAC_AUDIT_ALLOW
                                                                              : RBAC_AUDIT_ERROR,
                                  .reason = rc == ST_OK ? "ok" : st_code_name(rc),
                                  .database = r->db, .rows = -1, .bytes = (int64_t)len,
                                  .lines = res ? (int64_t)res->lines_ok : 0,
                                  .rejected = res ? (int64_t)res->lines_rejected : 0,
                                  .duration_ns = st_mono_ns() - r->start_ns};
    gw_audit_from(&r->who, &ev);
    gw_audit(&ev);
}

/* Inflate a gzip (possibly multi-member) body into out, at most max bytes, straight into
 * out's memory (no bounce buffer): sized for line protocol's usual ratio first, doubled
 * when needed. 0 ok, 1 too large, -1 malformed. */
static int
gunzip(const uint8_t *in, size_t n, struct st_buf *out, size_t max)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return -1;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    size_t first = n < max / 10 ? n * 10 : max;
    if (first < 65536)
        first = max < 65536 ? max : 65536;
    int ret = -1;
    if (st_buf_reserve(out, first) != ST_OK) {
        inflateEnd(&z);
        return 1;
    }
    for (;;) {
        uint8_t scratch;
        bool full = out->len == out->cap;
        if (full && out->cap < max && st_buf_reserve(out, out->cap) != ST_OK &&
            st_buf_reserve(out, max - out->len) != ST_OK) {
            ret = 1; /* no memory for more: as too large */
            break;
        }
        full = out->len == out->cap; /* at max: one more byte would be too many */
        size_t room = full ? 1 : out->cap - out->len;
        if (room > UINT_MAX)
            room = UINT_MAX;
        z.next_out = full ? &scratch : out->data + out->len;
        z.avail_out = (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        size_t got = room - z.avail_out;
        if (full && got) {
            ret = 1;
            break;
        }
        out->len += full ? 0 : got;
        if (zr == Z_STREAM_END) {
            if (z.avail_in == 0) {
                ret = 0;
                break;
            }
            if (inflateReset(&z) != Z_OK) /* another gzip member follows */
                break;
            continue;
        }
        if (zr == Z_BUF_ERROR && z.avail_out == 0)
            continue; /* the output was full: grow */
        if (zr != Z_OK)
            break;
        if (z.avail_in == 0 && z.avail_out != 0)
            break; /* truncated stream */
    }
    inflateEnd(&z);
    return ret;
}

bool
gw_ascii(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        acc |= w[0] | w[1] | w[2] | w[3];
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= p[i];
    return (acc & 0x8080808080808080ull) == 0;
}

/* Append s as a JSON string (with quotes). */
static void
json_str(struct st_buf *b, const char *s, size_t n)
{
    st_buf_append_byte(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            st_buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            st_buf_printf(b, "\\u%04x", ch);
        else
            st_buf_append_byte(b, ch);
    }
    st_buf_append_byte(b, '"');
}

/* The first `max` bytes of s, cut back to a UTF-8 character boundary. */
static size_t
cut_utf8(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void
line_error_json(struct st_buf *b, const struct eng_line_error *e)
{
    st_buf_append_str(b, "{\"error_message\":");
    json_str(b, e->msg, strlen(e->msg));
    st_buf_printf(b, ",\"line_number\":%u,\"original_line\":", e->line);
    json_str(b, e->excerpt, cut_utf8(e->excerpt, 20));
    st_buf_append_byte(b, '}');
}

static void
respond_error(struct gw_req *r, enum st_code rc, const struct st_error *err,
              const struct eng_write_result *res)
{
    int status = gw_status_http(rc);
    bool line_err = (rc == ST_EPARSE || rc == ST_ETYPE || rc == ST_ELIMIT || rc == ST_EINVAL ||
                     rc == ST_EPARTIAL) &&
                    res->n_errors > 0;
    if (r->route == GW_R_WRITE_V3 && line_err) {
        struct st_buf b;
        st_buf_init(&b, 1u << 20);
        bool limit = false;
        for (uint32_t i = 0; i < res->n_errors; i++)
            if (res->errors[i].code == ST_ELIMIT)
                limit = true;
        if (rc == ST_EPARTIAL) {
            st_buf_append_str(&b, "{\"error\":\"partial write of line protocol occurred\","
                                  "\"data\":[");
            for (uint32_t i = 0; i < res->n_errors; i++) {
                if (i)
                    st_buf_append_byte(&b, ',');
                line_error_json(&b, &res->errors[i]);
            }
            st_buf_append_str(&b, "]}");
        } else {
            st_buf_append_str(&b, "{\"error\":\"line protocol parsing error\",\"data\":");
            line_error_json(&b, &res->errors[0]);
            st_buf_append_byte(&b, '}');
        }
        gw_req_set(r, limit ? 422 : 400, "application/json", (const char *)b.data, b.len);
        st_buf_cleanup(&b);
        return;
    }
    char msg[700];
    if (line_err) {
        const struct eng_line_error *e = &res->errors[0];
        snprintf(msg, sizeof msg, "write buffer error: line protocol parse failed: line %u: %s",
                 e->line, e->msg);
        status = rc == ST_ELIMIT ? 422 : 400;
    } else
        snprintf(msg, sizeof msg, "%s", err->msg[0] ? err->msg : st_strerror(rc));
    if (r->route == GW_R_WRITE_V2) {
        const char *code = status == 404   ? "not found"
                           : status == 413 ? "request too large"
                           : status == 401 ? "unauthorized"
                           : status == 403 ? "forbidden"
                           : status < 500  ? "invalid"
                                           : "internal error";
        if (status == 503 || status == 429)
            code = "unavailable";
        gw_req_v2_error(r, status, code, msg);
    } else
        gw_req_error(r, status, msg);
}

void
gw_write_work(struct gw_req *r)
{
    struct st_error err;
    st_error_clear(&err);
    const uint8_t *body = r->body.data;
    size_t len = r->body.len;
    struct st_buf plain;
    st_buf_init(&plain, gw_srv->cfg.max_request_bytes);
    if (r->gzip) {
        int g = gunzip(body, len, &plain, gw_srv->cfg.max_request_bytes);
        if (g != 0) {
            char msg[96];
            if (g > 0) {
                snprintf(msg, sizeof msg, "max request size (%llu bytes) exceeded",
                         (unsigned long long)gw_srv->cfg.max_request_bytes);
                if (r->route == GW_R_WRITE_V2)
                    gw_req_v2_error(r, 413, "request too large", msg);
                else
                    gw_req_set(r, 413, "text/plain", msg, strlen(msg));
            } else
                bad_request(r, "the request body is not valid gzip");
            st_buf_cleanup(&plain);
            return;
        }
        body = plain.data;
        len = plain.len;
    }
    /* A plain body was checked for ASCII while it arrived, chunk by chunk while each was
     * still in the cache; only a body with other bytes (or a gzip'd one) is checked as
     * UTF-8 here. */
    size_t bad_at = 0;
    bool ascii = r->body_ascii && !r->gzip;
    if (len && !ascii && !st_utf8_valid(body, len, &bad_at)) {
        char msg[96];
        snprintf(msg, sizeof msg, "the request body is not valid UTF-8 (byte %zu)", bad_at);
        bad_request(r, msg);
        st_buf_cleanup(&plain);
        return;
    }
    struct eng_write_opts o = {
        .precision = (enum eng_precision)r->precision,
        .partial = r->partial,
        .no_sync = r->no_sync,
    };
    struct eng_write_result res;
    memset(&res, 0, sizeof res);
    char en[GW_ENGINE_NAME_MAX + 1];
    enum st_code rc = r->create_db ? gw_db_create_for_write(&r->who, r->db, r->route_name, &err)
                                   : ST_OK;
    if (rc == ST_OK)
        rc = gw_db_engine_name(&r->who, r->db, en, &err);
    if (rc != ST_OK) {
        if (rc == ST_EPERMISSION || rc == ST_EUNAUTHENTICATED)
            gw_req_auth_error(r, rc, &err);
        else
            respond_error(r, rc, &err, &res);
        st_buf_cleanup(&plain);
        return;
    }
    rc = eng_write(gw_srv->eng, en, len ? (const char *)body : "", len, &o, &res, &err);
    audit_write(r, rc, &res, len);
    if (rc == ST_OK || rc == ST_EPARTIAL)
        gw_metrics_add_rows_written(res.lines_ok, len);
    if (rc == ST_OK)
        gw_req_set(r, 204, NULL, NULL, 0);
    else
        respond_error(r, rc, &err, &res);
    eng_write_result_cleanup(&res);
    st_buf_cleanup(&plain);
}
