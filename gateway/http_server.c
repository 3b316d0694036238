/*
 * http_server.c: stratad's HTTP/1.1 side on libmicrohttpd 0.9.75.
 *
 * Two daemons without listening sockets (MHD_USE_NO_LISTEN_SOCKET), fed by the acceptor
 * through MHD_add_connection: one plaintext, one HTTPS (GnuTLS, priority string with
 * TLS 1.2 as the floor and AEAD ECDHE suites only; MHD's default would accept TLS 1.0).
 * Each has its own epoll polling threads, a connection limit, an idle/slow-client
 * timeout and a per-connection memory pool (GW_HTTP_POOL_BYTES, or --max-header-size if
 * larger) that holds the request line, the headers and MHD's read buffer. The pool is
 * larger than the header limit so that bodies are read in ~100 KiB pieces instead of
 * ~16 KiB ones (a 3.4 MB write batch: ~30 recv calls and callbacks instead of ~220); the
 * header limit (--max-header-size, 431) is checked here on the first callback instead.
 *
 * Write bodies: collected in one buffer sized from Content-Length; buffers of finished
 * requests are kept for reuse (at most BODY_CACHE_N, BODY_CACHE_BYTES in all), so a
 * steady stream of batches does not fault in fresh pages and unmap them per request;
 * each appended piece is checked for ASCII while it is in the cache, which spares the
 * separate UTF-8 pass over line protocol (http_write.c).
 *
 * Lifecycle of a request (the access handler is called several times):
 *   1. first call: route (404/405, from the endpoint table of methods.c), credentials
 *      (auth.c, before any byte of the body is read) and parameters for writes, early 413
 *      from Content-Length; answers here never read the body;
 *   2. body calls: append to a bounded buffer; past --max-request-size answer 413 at once;
 *   3. last call: light routes answer inline; writes suspend the connection and run on
 *      the pool (the engine's fsync never blocks an MHD thread); the pool resumes it;
 *   4. after the resume: queue the response.
 * Shutdown: new requests get 503 with "Connection: close"; in-flight ones may finish
 * within the grace period; then the daemons stop (MHD closes every fd it owns).
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_http.h"
#include "strata/clock.h"
#include "strata/log.h"

static struct {
    struct MHD_Daemon *plain, *tls;
    atomic_int in_flight;
    atomic_int suspended; /* requests parked on the pool */
    atomic_int closing;
} H;

/* MHD's per-connection pool: request line, headers, read buffer (see above). */
#define GW_HTTP_POOL_BYTES ((size_t)256 << 10)
/* Body buffers kept for reuse: how many, their total, and the smallest worth keeping. */
#define BODY_CACHE_N 4
#define BODY_CACHE_BYTES ((size_t)32 << 20)
#define BODY_CACHE_MIN ((size_t)64 << 10)

static struct {
    pthread_mutex_t mu;
    struct {
        uint8_t *p;
        size_t cap;
    } b[BODY_CACHE_N];
    unsigned n;
    size_t bytes;
} BC = {.mu = PTHREAD_MUTEX_INITIALIZER};

enum st_code
gw_req_body_reserve(struct gw_req *r, size_t n)
{
    if (!r->body.data && n >= BODY_CACHE_MIN / 2) {
        pthread_mutex_lock(&BC.mu);
        unsigned best = BODY_CACHE_N;
        for (unsigned i = 0; i < BC.n; i++) /* the smallest that is large enough */
            if (BC.b[i].cap >= n && (best == BODY_CACHE_N || BC.b[i].cap < BC.b[best].cap))
                best = i;
        if (best < BODY_CACHE_N) {
            r->body.data = BC.b[best].p;
            r->body.cap = BC.b[best].cap;
            r->body.len = 0;
            BC.bytes -= BC.b[best].cap;
            BC.b[best] = BC.b[--BC.n];
        }
        pthread_mutex_unlock(&BC.mu);
    }
    return st_buf_reserve(&r->body, n);
}

/* Keep a finished request's body buffer for the next one, or free it. */
static void
body_release(struct st_buf *b)
{
    if (b->data && b->cap >= BODY_CACHE_MIN && b->cap <= BODY_CACHE_BYTES) {
        pthread_mutex_lock(&BC.mu);
        if (BC.n < BODY_CACHE_N && BC.bytes + b->cap <= BODY_CACHE_BYTES) {
            BC.b[BC.n].p = b->data;
            BC.b[BC.n].cap = b->cap;
            BC.n++;
            BC.bytes += b->cap;
            b->data = NULL;
            b->cap = b->len = 0;
        }
        pthread_mutex_unlock(&BC.mu);
    }
    st_buf_cleanup(b);
}

static void
body_cache_free(void)
{
    pthread_mutex_lock(&BC.mu);
    for (unsigned i = 0; i < BC.n; i++)
        free(BC.b[i].p);
    BC.n = 0;
    BC.bytes = 0;
    pthread_mutex_unlock(&BC.mu);
}

#define TLS_PRIORITIES                                                                             \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"           \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA"

void
gw_req_set(struct gw_req *r, int status, const char *ctype, const char *body, size_t len)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
    if (len) {
        r->resp = malloc(len);
        if (r->resp) {
            memcpy(r->resp, body, len);
            r->resp_len = len;
        }
    }
    r->status = status;
    r->ctype = ctype;
}

void
gw_req_add_header(struct gw_req *r, const char *name, const char *fmt, ...)
{
    if (r->n_hdrs >= (int)(sizeof r->hdrs / sizeof r->hdrs[0]))
        return;
    struct gw_hdr *h = &r->hdrs[r->n_hdrs++];
    h->name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof h->value, fmt, ap);
    va_end(ap);
}

/* Append s to b as a JSON string body (without quotes), escaping what JSON needs. */
static void
json_escape(struct st_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            st_buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            st_buf_printf(b, "\\u%04x", ch);
        else
            st_buf_append_byte(b, ch);
    }
}

void
gw_req_error(struct gw_req *r, int status, const char *msg)
{
    struct st_buf b;
    st_buf_init(&b, 8192);
    st_buf_append_str(&b, "{\"error\": \"");
    json_escape(&b, msg);
    st_buf_append_str(&b, "\"}");
    gw_req_set(r, status, "application/json", (const char *)b.data, b.len);
    st_buf_cleanup(&b);
}

void
gw_req_v2_error(struct gw_req *r, int status, const char *code, const char *msg)
{
    struct st_buf b;
    st_buf_init(&b, 8192);
    st_buf_printf(&b, "{\"code\":\"%s\",\"message\":\"", code);
    json_escape(&b, msg);
    st_buf_append_str(&b, "\"}");
    gw_req_set(r, status, "application/json", (const char *)b.data, b.len);
    st_buf_cleanup(&b);
}

/* Collect every Authorization header (and on v1 every p=): more than one is refused. */
static enum MHD_Result
collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct gw_cred_src *src = cls;
    if (kind == MHD_HEADER_KIND && !strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION)) {
        if (src->n_values < GW_AUTHZ_VALUES_MAX)
            src->values[src->n_values] =
                (struct rbac_bytes){(const uint8_t *)value, value ? strlen(value) : 0};
        src->n_values++;
    } else if (kind == MHD_GET_ARGUMENT_KIND && !strcmp(key, "p") &&
               src->transport == RBAC_TRANSPORT_HTTP_V1) {
        if (src->n_p < GW_AUTHZ_VALUES_MAX)
            src->p[src->n_p] = (struct rbac_bytes){(const uint8_t *)value, value ? strlen(value) : 0};
        src->n_p++;
    }
    return MHD_YES;
}

static const char MALFORMED[] =
    "Authorization header was malformed, the request was not in the form of 'Authorization: "
    "<auth-scheme> <token>', supported auth-schemes are Bearer, Token and Basic";

enum st_code
gw_req_authenticate(struct gw_req *r, struct st_error *err)
{
    if (!r->auth_done) {
        r->auth_done = true;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        r->who.peer[0] = '\0';
        if (ci && ci->client_addr) {
            char host[64];
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const void *)sa;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
                snprintf(r->who.peer, sizeof r->who.peer, "%s:%u", host, ntohs(in->sin_port));
            } else if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const void *)sa;
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
                snprintf(r->who.peer, sizeof r->who.peer, "[%s]:%u", host, ntohs(in6->sin6_port));
            }
        }
        struct gw_cred_src src = {
            .transport = r->route == GW_R_WRITE_V1 ? RBAC_TRANSPORT_HTTP_V1 : RBAC_TRANSPORT_HTTP};
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, collect, &src);
        if (src.n_values > GW_AUTHZ_VALUES_MAX)
            src.n_values = GW_AUTHZ_VALUES_MAX;
        if (src.n_p > GW_AUTHZ_VALUES_MAX)
            src.n_p = GW_AUTHZ_VALUES_MAX;
        st_error_clear(&r->auth_err);
        r->auth_rc = gw_authenticate(&src, r->route_name, &r->who, &r->auth_err);
        if (r->auth_rc != ST_OK && r->who.malformed)
            r->auth_rc = st_error_set(&r->auth_err, ST_EINVAL, "%s", MALFORMED);
    }
    if (r->auth_rc != ST_OK && err)
        *err = r->auth_err;
    return r->auth_rc;
}

enum st_code
gw_req_authorize(struct gw_req *r, enum rbac_priv need, const char *db, struct st_error *err)
{
    ST_TRY(gw_req_authenticate(r, err));
    return gw_check(&r->who, need, db, r->route_name, err);
}

void
gw_req_auth_error(struct gw_req *r, enum st_code rc, const struct st_error *err)
{
    if (rc == ST_EINVAL)
        gw_req_error(r, 400, err->msg);
    else if (rc == ST_EPERMISSION)
        gw_req_error(r, 403, "requestor is forbidden from requested resource");
    else if (rc == ST_ENOTFOUND)
        gw_req_error(r, 404, err->msg);
    else if (rc == ST_ELIMIT && r->who.rate_limited)
        gw_req_error(r, 429, err->msg);
    else
        gw_req_error(r, 401, "the request was not authenticated");
}

void
gw_req_too_large(struct gw_req *r)
{
    char msg[96];
    int n = snprintf(msg, sizeof msg, "max request size (%llu bytes) exceeded",
                     (unsigned long long)gw_srv->cfg.max_request_bytes);
    r->too_large = true;
    if (r->route == GW_R_WRITE_V2)
        gw_req_v2_error(r, 413, "request too large", msg);
    else
        gw_req_set(r, 413, "text/plain", msg, (size_t)n);
}

static int
queue(struct gw_req *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(r->resp_len, r->resp,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    r->resp = NULL; /* MHD frees it */
    if (r->ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    for (int i = 0; i < r->n_hdrs; i++)
        MHD_add_response_header(resp, r->hdrs[i].name, r->hdrs[i].value);
    if (atomic_load(&H.closing) || r->too_large)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    gw_metrics_request(GW_PROTO_HTTP, r->route_name, r->status, st_mono_ns() - r->start_ns);
    return ok;
}

/* mTLS on the HTTPS side: GnuTLS (inside MHD) asks for a client certificate when a
 * trust store is set, but does not insist; insist here, before any handler runs. */
static bool
client_cert_ok(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return false;
    gnutls_session_t sess = (gnutls_session_t)ci->tls_session;
    unsigned int n = 0, status = 0;
    if (!gnutls_certificate_get_peers(sess, &n) || n == 0)
        return false;
    return gnutls_certificate_verify_peers2(sess, &status) == 0 && status == 0;
}

static enum gw_route
route(const char *url, const char *method, const char **name)
{
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    bool post = !strcmp(method, "POST");
    if (!strcmp(method, "OPTIONS")) {
        *name = "OPTIONS";
        return GW_R_OPTIONS;
    }
    /* THE table of endpoints and their privileges: methods.c */
    for (size_t i = 0; i < gw_n_http_endpoints; i++) {
        const struct gw_http_endpoint *t = &gw_http_endpoints[i];
        if (!strcmp(url, t->path)) {
            *name = t->path;
            if ((get && t->get) || (post && t->post))
                return (enum gw_route)t->route;
            return (enum gw_route)-1; /* method not allowed */
        }
    }
    *name = "unknown";
    return GW_R_NONE;
}

static enum MHD_Result
add_len(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    size_t *n = cls;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF, or "&" and "=" */
    return MHD_YES;
}

/* The request line plus headers, as sent (query arguments and header values as MHD
 * decoded them: within a few bytes of the raw size). */
static size_t
header_bytes(struct MHD_Connection *conn, const char *url, const char *method,
             const char *version)
{
    size_t n = strlen(method) + strlen(url) + strlen(version) + 4;
    MHD_get_connection_values(conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, add_len, &n);
    return n;
}

static void
pool_work(void *arg)
{
    struct gw_req *r = arg;
    atomic_fetch_add(&gw_active_writes, 1);
    gw_write_work(r);
    atomic_fetch_sub(&gw_active_writes, 1);
    r->work_done = true;
    MHD_resume_connection(r->conn); /* r may be freed from here on */
    atomic_fetch_sub(&H.suspended, 1);
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct gw_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        gw_principal_init(&r->who);
        atomic_fetch_add(&H.in_flight, 1);
        r->conn = conn;
        r->tls = cls != NULL;
        r->start_ns = st_mono_ns();
        r->body_ascii = true;
        st_buf_init(&r->body, gw_srv->cfg.max_request_bytes);
        r->route = route(url, method, &r->route_name);
        if (header_bytes(conn, url, method, version) > gw_srv->cfg.max_header_bytes) {
            r->too_large = true; /* the body is not read: close after the answer */
            gw_req_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                         "the request line and headers are larger than --max-header-size");
            return queue(r);
        }
        if (atomic_load(&H.closing)) {
            gw_req_error(r, 503, "the server is shutting down");
            return queue(r);
        }
        if (r->tls && gw_srv->tls.ca_pem && !client_cert_ok(conn)) {
            gw_req_error(r, 403, "a client certificate signed by the configured CA is required");
            return queue(r);
        }
        if ((int)r->route == -1) {
            gw_req_set(r, 405, "text/plain", "method not allowed", 18);
            return queue(r);
        }
        switch (r->route) {
        case GW_R_NONE:
            gw_req_set(r, 404, "text/plain", "not found", 9);
            return queue(r);
        case GW_R_WRITE_V1:
        case GW_R_WRITE_V2:
        case GW_R_WRITE_V3: {
            int b = gw_write_begin(r);
            if (b < 0)
                return queue(r);
            if (b > 0) { /* too large by Content-Length */
                const char *ex = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_EXPECT);
                if (ex || r->content_length > gw_srv->cfg.max_request_bytes + GW_HTTP_DRAIN_MAX)
                    return queue(r); /* before 100-continue: the body is never sent */
            }
            return MHD_YES;
        }
        default:
            return MHD_YES; /* answered when the (empty) body is complete */
        }
    }
    if (r->responded)
        return MHD_YES;
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large) {
            /* Drain (bounded) so that clients that write the whole body before reading
             * still see the 413; past the bound, drop the connection. */
            r->drained += n;
            return r->drained > GW_HTTP_DRAIN_MAX ? MHD_NO : MHD_YES;
        }
        if (st_buf_append(&r->body, upload_data, n) != ST_OK) {
            r->too_large = true;
            st_buf_cleanup(&r->body);
            gw_req_too_large(r);
        } else if (r->body_ascii) {
            r->body_ascii = gw_ascii((const uint8_t *)upload_data, n);
        }
        return MHD_YES;
    }
    if (r->too_large)
        return queue(r);
    /* The body is complete. */
    switch (r->route) {
    case GW_R_HEALTH:
        gw_misc_health(r);
        return queue(r);
    case GW_R_PING:
        gw_misc_ping(r);
        return queue(r);
    case GW_R_METRICS:
        gw_misc_metrics(r);
        return queue(r);
    case GW_R_OPTIONS:
        gw_misc_options(r);
        return queue(r);
    case GW_R_WRITE_V1:
    case GW_R_WRITE_V2:
    case GW_R_WRITE_V3:
        if (r->work_done)
            return queue(r);
        if (!r->suspended) {
            r->suspended = true;
            atomic_fetch_add(&H.suspended, 1);
            MHD_suspend_connection(conn);
            enum st_code rc = gw_pool_submit(pool_work, r);
            if (rc != ST_OK) {
                atomic_fetch_sub(&H.suspended, 1);
                MHD_resume_connection(conn);
                r->work_done = true;
                if (r->route == GW_R_WRITE_V2)
                    gw_req_v2_error(r, 503, "unavailable",
                                    "this service is overloaded, please try again later");
                else
                    gw_req_error(r, 429, "this service is overloaded, please try again later");
            }
        }
        return MHD_YES;
    default:
        gw_req_set(r, 404, "text/plain", "not found", 9);
        return queue(r);
    }
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct gw_req *r = *con_cls;
    if (!r)
        return;
    gw_principal_cleanup(&r->who);
    body_release(&r->body);
    free(r->resp);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&H.in_flight, 1);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!ST_LOG_ENABLED(ST_LOG_INFO))
        return;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    st_log(ST_LOG_INFO, "http", "%s", buf);
}

static struct MHD_Daemon *
start_daemon(struct gw_server *s, bool tls)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    unsigned timeout_s = (unsigned)(s->cfg.http_timeout_ns / ST_NS_PER_SEC);
    size_t pool = s->cfg.max_header_bytes > GW_HTTP_POOL_BYTES ? (size_t)s->cfg.max_header_bytes
                                                                : GW_HTTP_POOL_BYTES;
    if (!tls)
        return MHD_start_daemon(
            flags, 0, NULL, NULL, access_cb, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
            MHD_OPTION_NOTIFY_COMPLETED, completed_cb,
            NULL, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)s->cfg.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
            MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_END);
    return MHD_start_daemon(
        flags | MHD_USE_TLS, 0, NULL, NULL, access_cb, (void *)1, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_HTTPS_MEM_CERT, s->tls.cert_pem, MHD_OPTION_HTTPS_MEM_KEY, s->tls.key_pem,
        MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
        s->tls.ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, s->tls.ca_pem,
        MHD_OPTION_END);
}

enum st_code
gw_http_start(struct gw_server *s, struct st_error *err)
{
    if (!s->tls_on) {
        H.plain = start_daemon(s, false);
        if (!H.plain)
            return st_error_set(err, ST_EIO, "cannot start the HTTP daemon (libmicrohttpd)");
    } else {
        H.tls = start_daemon(s, true);
        if (!H.tls)
            return st_error_set(err, ST_EINVAL,
                                "cannot start the HTTPS daemon: check --tls-cert and --tls-key");
    }
    return ST_OK;
}

void
gw_http_handoff(int fd, const void *sa, unsigned sa_len, bool tls)
{
    struct MHD_Daemon *d = tls ? H.tls : H.plain;
    /* MHD owns and closes the fd in every case, even when this fails. */
    if (MHD_add_connection(d, fd, sa, sa_len) != MHD_YES)
        gw_metrics_conn_dropped("http-refused");
}

void
gw_http_stop(int64_t grace_ns)
{
    atomic_store(&H.closing, 1);
    int64_t end = st_mono_ns() + grace_ns;
    while (atomic_load(&H.in_flight) > 0 && st_mono_ns() < end) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    /* Suspended requests are on the pool; MHD must not stop under them. */
    while (atomic_load(&H.suspended) > 0) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    if (H.plain)
        MHD_stop_daemon(H.plain);
    if (H.tls)
        MHD_stop_daemon(H.tls);
    H.plain = H.tls = NULL;
    body_cache_free();
}
