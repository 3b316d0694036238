/*
 * client_conn.c: libstrata's connection handle and the gRPC call machinery
 * every RPC of the library goes through: URL parsing, channel and
 * credentials, the synchronous call sequence (client_int.h), and the one
 * place where a gRPC status becomes an enum st_code.
 *
 * Status mapping: a Strata server sends its exact st_code in the trailing
 * metadata `strata-code` (decimal) and, for errors in an input text, the
 * byte offset in `strata-error-offset`; both win over the gRPC status. A
 * server without them (another Flight server, a proxy) is mapped from the
 * gRPC status; UNAVAILABLE without a code means the transport failed (no
 * server, TLS handshake refused, connection reset) and becomes ST_EIO.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "client_int.h"
#include "grpc/health/v1/health.pb-c.h"

#define TAG_SEND ((void *)(intptr_t)1)
#define TAG_STATUS ((void *)(intptr_t)2)
#define TAG_RECV ((void *)(intptr_t)3)
#define TAG_DRAIN ((void *)(intptr_t)4)

#define CA_FILE_MAX ((size_t)4 << 20)
#define DEFAULT_MAX_MESSAGE ((size_t)64 << 20)

char *
strata__strdup(const char *s)
{
    return strdup(s ? s : "");
}

/* ---- URL ------------------------------------------------------------------ */

enum st_code
strata__parse_url(const char *url, bool *tls, char *target, size_t target_len, struct st_error *err)
{
    const char *p;
    if (!url || !*url) return st_error_set(err, ST_EINVAL, "empty server url");
    if (strncasecmp(url, "http://", 7) == 0) {
        *tls = false;
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        *tls = true;
        p = url + 8;
    } else {
        return st_error_set(err, ST_EINVAL, "server url \"%s\" must start with http:// or https://",
                            url);
    }
    const char *host = p, *host_end;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close == p + 1)
            return st_error_set(err, ST_EINVAL, "server url \"%s\" has a bad IPv6 address", url);
        for (const char *q = p + 1; q < close; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return st_error_set(err, ST_EINVAL, "server url \"%s\" has a bad IPv6 address",
                                    url);
        host_end = close + 1;
        p = host_end;
    } else {
        while (*p && *p != ':' && *p != '/') {
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
                return st_error_set(err, ST_EINVAL,
                                    "server url \"%s\" has a bad character '%c' in its host", url,
                                    *p);
            p++;
        }
        host_end = p;
        if (host_end == host)
            return st_error_set(err, ST_EINVAL, "server url \"%s\" has no host", url);
    }
    unsigned long port = *tls ? 443 : 80;
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)*p))
            return st_error_set(err, ST_EINVAL, "server url \"%s\" has a bad port", url);
        port = 0;
        while (isdigit((unsigned char)*p)) {
            port = port * 10 + (unsigned long)(*p - '0');
            if (port > 65535) break;
            p++;
        }
        if (port == 0 || port > 65535)
            return st_error_set(err, ST_EINVAL, "server url \"%s\" has a port outside 1-65535",
                                url);
    }
    if (*p == '/') p++;
    if (*p)
        return st_error_set(err, ST_EINVAL,
                            "server url \"%s\" may not have a path, query or user part", url);
    int n = snprintf(target, target_len, "%.*s:%lu", (int)(host_end - host), host, port);
    if (n < 0 || (size_t)n >= target_len)
        return st_error_set(err, ST_EINVAL, "server url \"%s\" is too long", url);
    return ST_OK;
}

/* ---- connection ------------------------------------------------------------ */

static char *
read_file(const char *path, struct st_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        st_error_set(err, ST_EIO, "opening CA file \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CA_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        st_error_set(err, ST_ENOMEM, "reading CA file \"%s\"", path);
        return NULL;
    }
    size_t n = fread(buf, 1, CA_FILE_MAX + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || n == 0 || n > CA_FILE_MAX) {
        free(buf);
        st_error_set(err, bad ? ST_EIO : ST_EINVAL, "CA file \"%s\" %s", path,
                     bad      ? "cannot be read"
                     : n == 0 ? "is empty"
                              : "is larger than 4 MiB");
        return NULL;
    }
    buf[n] = '\0';
    if (!strstr(buf, "-----BEGIN CERTIFICATE-----")) {
        free(buf);
        st_error_set(err, ST_EINVAL, "CA file \"%s\" holds no PEM certificate", path);
        return NULL;
    }
    return buf;
}

struct strata *
strata_connect(const char *url, const char *token, const char *ca_file, struct st_error *err)
{
    struct strata_opts o = {.token = token, .ca_file = ca_file};
    return strata_connect_opts(url, &o, err);
}

struct strata *
strata_connect_opts(const char *url, const struct strata_opts *opts, struct st_error *err)
{
    struct strata_opts o = {0};
    bool tls;
    if (opts) o = *opts;
    struct strata *c = calloc(1, sizeof *c);
    if (!c) {
        st_error_set(err, ST_ENOMEM, "allocating a client handle");
        return NULL;
    }
    if (strata__parse_url(url, &tls, c->target, sizeof c->target, err) != ST_OK) {
        free(c);
        return NULL;
    }
    c->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 0;
    grpc_init();
    if (o.token && *o.token) {
        size_t n = strlen(o.token);
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)o.token[i];
            if (ch < 0x20 || ch > 0x7e) {
                st_error_set(err, ST_EINVAL,
                             "the token has a character a header cannot carry "
                             "(byte %zu)",
                             i);
                goto fail;
            }
        }
        c->auth_header = malloc(n + 8);
        if (!c->auth_header) {
            st_error_set(err, ST_ENOMEM, "allocating a client handle");
            goto fail;
        }
        memcpy(c->auth_header, "Bearer ", 7);
        memcpy(c->auth_header + 7, o.token, n + 1);
    }
    grpc_channel_credentials *creds;
    if (tls) {
        char *pem = NULL;
        if (o.ca_file && *o.ca_file) {
            pem = read_file(o.ca_file, err);
            if (!pem) goto fail;
        }
        creds = grpc_ssl_credentials_create(pem, NULL, NULL, NULL);
        free(pem);
    } else {
        creds = grpc_insecure_credentials_create();
    }
    if (!creds) {
        st_error_set(err, ST_EINTERNAL, "creating gRPC credentials failed");
        goto fail;
    }
    size_t max = o.max_message_bytes ? o.max_message_bytes : DEFAULT_MAX_MESSAGE;
    if (max > INT32_MAX) max = INT32_MAX;
    grpc_arg args[] = {
        {GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = (int)max}},
        {GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, {.integer = -1}},
        {GRPC_ARG_STRING,
         (char *)GRPC_ARG_PRIMARY_USER_AGENT_STRING,
         {.string = (char *)"strata-c/" STRATA_CLIENT_VERSION}},
    };
    grpc_channel_args ca = {sizeof args / sizeof args[0], args};
    c->channel = grpc_channel_create(c->target, creds, &ca);
    grpc_channel_credentials_release(creds);
    if (!c->channel) {
        st_error_set(err, ST_EINTERNAL, "creating a gRPC channel to %s failed", c->target);
        goto fail;
    }
    return c;
fail:
    free(c->auth_header);
    free(c);
    grpc_shutdown();
    return NULL;
}

void
strata_close(struct strata *c)
{
    if (!c) return;
    if (c->channel) grpc_channel_destroy(c->channel);
    if (c->auth_header) {
        memset(c->auth_header, 0, strlen(c->auth_header));
        free(c->auth_header);
    }
    free(c);
    grpc_shutdown();
}

static void
quiet_log(gpr_log_func_args *args)
{
    (void)args;
}

void
strata_silence_grpc_log(void)
{
    const char *keep = getenv("STRATA_GRPC_LOG");
    if (!keep || !*keep || strcmp(keep, "0") == 0) gpr_set_log_function(quiet_log);
}

void
strata_set_timeout(struct strata *c, int64_t timeout_ms)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

const char *
strata_target(const struct strata *c)
{
    return c->target;
}

/* ---- status ----------------------------------------------------------------- */

enum st_code
strata__code_of_grpc(grpc_status_code status)
{
    switch (status) {
    case GRPC_STATUS_OK:
        return ST_OK;
    case GRPC_STATUS_CANCELLED:
        return ST_ECANCELLED;
    case GRPC_STATUS_INVALID_ARGUMENT:
    case GRPC_STATUS_OUT_OF_RANGE:
        return ST_EINVAL;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return ST_ETIMEOUT;
    case GRPC_STATUS_NOT_FOUND:
        return ST_ENOTFOUND;
    case GRPC_STATUS_ALREADY_EXISTS:
        return ST_EEXISTS;
    case GRPC_STATUS_PERMISSION_DENIED:
        return ST_EPERMISSION;
    case GRPC_STATUS_UNAUTHENTICATED:
        return ST_EUNAUTHENTICATED;
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
        return ST_ELIMIT;
    case GRPC_STATUS_FAILED_PRECONDITION:
        return ST_EPRECONDITION;
    case GRPC_STATUS_ABORTED:
        return ST_EAGAIN;
    case GRPC_STATUS_UNIMPLEMENTED:
        return ST_EUNSUPPORTED;
    case GRPC_STATUS_UNAVAILABLE:
        return ST_EIO;
    case GRPC_STATUS_DATA_LOSS:
        return ST_ECORRUPT;
    case GRPC_STATUS_UNKNOWN:
    case GRPC_STATUS_INTERNAL:
    default:
        return ST_EINTERNAL;
    }
}

/* The value of trailer `key` as a non-negative decimal, or -1. */
static int64_t
trailer_num(const grpc_metadata_array *md, const char *key)
{
    for (size_t i = 0; md && i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, key) != 0) continue;
        const uint8_t *v = GRPC_SLICE_START_PTR(md->metadata[i].value);
        size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);
        if (n == 0 || n > 18) return -1;
        int64_t x = 0;
        for (size_t j = 0; j < n; j++) {
            if (v[j] < '0' || v[j] > '9') return -1;
            x = x * 10 + (v[j] - '0');
        }
        return x;
    }
    return -1;
}

enum st_code
strata__map_status(grpc_status_code status, const char *details, size_t details_len,
                   const grpc_metadata_array *trailers, const char *target, struct st_error *err)
{
    if (status == GRPC_STATUS_OK) return ST_OK;
    int64_t sc = trailer_num(trailers, "strata-code");
    int64_t off = trailer_num(trailers, "strata-error-offset");
    enum st_code code;
    if (sc > 0 && sc < 126) {
        code = (enum st_code)sc;
    } else {
        code = strata__code_of_grpc(status);
        if (status == GRPC_STATUS_UNAVAILABLE)
            return st_error_set(err, ST_EIO, "cannot reach %s: %.*s", target, (int)details_len,
                                details_len ? details : "unavailable");
        if (code == ST_OK) /* a status the mapping does not know */
            code = ST_EINTERNAL;
    }
    if (details_len == 0) {
        details = st_strerror(code);
        details_len = strlen(details);
    }
    if (details_len > ST_ERROR_MSG_MAX - 1) details_len = ST_ERROR_MSG_MAX - 1;
    if (off >= 0) return st_error_set_at(err, code, off, "%.*s", (int)details_len, details);
    return st_error_set(err, code, "%.*s", (int)details_len, details);
}

/* ---- calls ------------------------------------------------------------------ */

static grpc_event
wait_for(struct scall *sc, void *tag)
{
    return grpc_completion_queue_pluck(sc->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
}

static enum st_code
collect_status(struct scall *sc, const char *target, struct st_error *err)
{
    if (!sc->status_done) {
        wait_for(sc, TAG_STATUS);
        sc->status_done = true;
    }
    return strata__map_status(sc->status, (const char *)GRPC_SLICE_START_PTR(sc->details),
                              GRPC_SLICE_LENGTH(sc->details), &sc->trailing_md, target, err);
}

enum st_code
strata__call_start(struct strata *c, const char *method, const uint8_t *req, size_t req_len,
                   struct scall *sc, struct st_error *err)
{
    return strata__call_start_md(c, method, req, req_len, NULL, sc, err);
}

enum st_code
strata__call_start_md(struct strata *c, const char *method, const uint8_t *req, size_t req_len,
                      const char *database, struct scall *sc, struct st_error *err)
{
    memset(sc, 0, sizeof *sc);
    sc->details = grpc_empty_slice();
    grpc_metadata_array_init(&sc->initial_md);
    grpc_metadata_array_init(&sc->trailing_md);
    sc->target = c->target;
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
    if (c->timeout_ms > 0)
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                gpr_time_from_millis(c->timeout_ms, GPR_TIMESPAN));
    sc->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice m = grpc_slice_from_static_string(method);
    sc->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, sc->cq, m, NULL,
                                        deadline, NULL);
    if (!sc->cq || !sc->call)
        return st_error_set(err, ST_EINTERNAL, "starting a gRPC call to %s failed", method);

    grpc_metadata md[2];
    size_t n_md = 0;
    if (c->auth_header) {
        md[n_md].key = grpc_slice_from_static_string("authorization");
        md[n_md].value = grpc_slice_from_static_string(c->auth_header);
        n_md++;
    }
    if (database) {
        md[n_md].key = grpc_slice_from_static_string("database");
        md[n_md].value = grpc_slice_from_static_string(database);
        n_md++;
    }
    grpc_slice payload = grpc_slice_from_copied_buffer((const char *)req, req_len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);

    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = n_md;
    ops[0].data.send_initial_metadata.metadata = n_md ? md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &sc->initial_md;
    grpc_call_error ce = grpc_call_start_batch(sc->call, ops, 4, TAG_SEND, NULL);
    if (ce != GRPC_CALL_OK) {
        grpc_byte_buffer_destroy(bb);
        return st_error_set(err, ST_EINTERNAL, "gRPC refused the call to %s (error %d)", method,
                            (int)ce);
    }
    grpc_op st;
    memset(&st, 0, sizeof st);
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &sc->trailing_md;
    st.data.recv_status_on_client.status = &sc->status;
    st.data.recv_status_on_client.status_details = &sc->details;
    ce = grpc_call_start_batch(sc->call, &st, 1, TAG_STATUS, NULL);
    grpc_event ev = wait_for(sc, TAG_SEND);
    grpc_byte_buffer_destroy(bb);
    if (ce != GRPC_CALL_OK)
        return st_error_set(err, ST_EINTERNAL, "gRPC refused the status of %s (error %d)", method,
                            (int)ce);
    sc->status_started = true;
    if (!ev.success) { /* the call is dead: its status says why */
        sc->ended = true;
        enum st_code rc = collect_status(sc, c->target, err);
        return rc != ST_OK ? rc : st_error_set(err, ST_EIO, "the call to %s failed", c->target);
    }
    return ST_OK;
}

enum st_code
strata__call_recv(struct scall *sc, grpc_slice *msg, bool *got, struct st_error *err)
{
    *got = false;
    *msg = grpc_empty_slice();
    if (sc->ended) return collect_status(sc, sc->target, err);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &sc->recv;
    if (grpc_call_start_batch(sc->call, &op, 1, TAG_RECV, NULL) != GRPC_CALL_OK) {
        sc->ended = true;
        return st_error_set(err, ST_EINTERNAL, "gRPC refused to receive a message");
    }
    grpc_event ev = wait_for(sc, TAG_RECV);
    if (!ev.success || !sc->recv) {
        sc->ended = true;
        if (sc->recv) {
            grpc_byte_buffer_destroy(sc->recv);
            sc->recv = NULL;
        }
        return collect_status(sc, sc->target, err);
    }
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, sc->recv)) {
        grpc_byte_buffer_destroy(sc->recv);
        sc->recv = NULL;
        return st_error_set(err, ST_ECORRUPT, "a reply message could not be read");
    }
    *msg = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    grpc_byte_buffer_destroy(sc->recv);
    sc->recv = NULL;
    *got = true;
    return ST_OK;
}

enum st_code
strata__call_finish(struct scall *sc, struct st_error *err)
{
    sc->ended = true;
    return collect_status(sc, sc->target, err);
}

void
strata__call_release(struct scall *sc)
{
    if (sc->call) {
        if (sc->status_started && !sc->status_done) {
            grpc_call_cancel(sc->call, NULL);
            wait_for(sc, TAG_STATUS);
            sc->status_done = true;
        }
        grpc_call_unref(sc->call);
        sc->call = NULL;
    }
    if (sc->recv) {
        grpc_byte_buffer_destroy(sc->recv);
        sc->recv = NULL;
    }
    grpc_metadata_array_destroy(&sc->initial_md);
    grpc_metadata_array_destroy(&sc->trailing_md);
    grpc_slice_unref(sc->details);
    sc->details = grpc_empty_slice();
    if (sc->cq) {
        grpc_completion_queue_shutdown(sc->cq);
        while (
            grpc_completion_queue_pluck(sc->cq, TAG_DRAIN, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
                .type != GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(sc->cq);
        sc->cq = NULL;
    }
}

enum st_code
strata__unary(struct strata *c, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
              struct st_error *err)
{
    struct scall sc;
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    *resp = NULL;
    if (!buf) return st_error_set(err, ST_ENOMEM, "packing a request");
    protobuf_c_message_pack(req, buf);
    enum st_code rc = strata__call_start(c, method, buf, len, &sc, err);
    free(buf);
    if (rc == ST_OK) {
        grpc_slice msg;
        bool got;
        rc = strata__call_recv(&sc, &msg, &got, err);
        if (rc == ST_OK && !got) {
            rc = st_error_set(err, ST_ECORRUPT, "%s sent no reply to %s", c->target, method);
        } else if (rc == ST_OK) {
            *resp = protobuf_c_message_unpack(resp_desc, NULL, GRPC_SLICE_LENGTH(msg),
                                              GRPC_SLICE_START_PTR(msg));
            grpc_slice_unref(msg);
            rc = strata__call_finish(&sc, err);
            if (rc == ST_OK && !*resp)
                rc = st_error_set(err, ST_ECORRUPT, "malformed reply from %s to %s", c->target,
                                  method);
        }
    }
    strata__call_release(&sc);
    if (rc != ST_OK && *resp) {
        protobuf_c_message_free_unpacked(*resp, NULL);
        *resp = NULL;
    }
    return rc;
}

/* ---- health ----------------------------------------------------------------- */

enum st_code
strata_ping(struct strata *c, struct st_error *err)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp;
    req.service = (char *)"";
    ST_TRY(strata__unary(c, "/grpc.health.v1.Health/Check", &req.base,
                         &grpc__health__v1__health_check_response__descriptor, &resp, err));
    Grpc__Health__V1__HealthCheckResponse *r = (Grpc__Health__V1__HealthCheckResponse *)resp;
    bool serving = r->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (!serving) return st_error_set(err, ST_EAGAIN, "%s is not serving", c->target);
    return ST_OK;
}
