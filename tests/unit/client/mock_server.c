/*
 * mock_server.c: the scripted gRPC server of mock_server.h.
 *
 * One thread, one completion queue, one call at a time: post a generic
 * request, take the call, read its single request message, answer from the
 * script (initial metadata, the reply messages one batch each, then the
 * status with `strata-code` / `strata-error-offset` trailers as stratad sends
 * them), release, post the next request. Every request is logged as one line
 * to the log file given to mock_server_log (the CLI tests grep it).
 *
 * DoGet script (by sql_query in the JSON ticket):
 *   SELECT all_types        300 rows of every type, split into 16 KiB FlightData
 *   SELECT cli_sample       3 rows with the awkward values the CLI formats
 *   SELECT empty            no message at all, status OK
 *   SELECT schema_only      the schema, no batch
 *   SELECT echo             1 row: the ticket JSON, the authorization value
 *   SELECT parse_error      INVALID_ARGUMENT, strata-code 3, offset 7
 *   SELECT midstream_error  schema and one batch, then RESOURCE_EXHAUSTED, code 10
 *   SELECT bad_arrow        a FlightData whose header is not a flatbuffer
 *   SELECT app_metadata     schema, an app_metadata-only FlightData, one batch
 *   SELECT no_code          PERMISSION_DENIED without a strata-code trailer
 *   SELECT slow             waits 1.5 s before answering (client deadlines)
 *   SELECT many             20 batches of 1000 rows (progress, streaming)
 *   anything else           INVALID_ARGUMENT, code 4 (EBIND), "table not found"
 * Write: database "nodb" is NOT_FOUND (6); lines containing "bad" are
 * rejected with ST_EPARSE; partial decides the outcome code.
 * Admin: canned answers that echo the request's fields (see each handler).
 */
#include "mock_server.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "arrow_testdata.h"
#include "flight.pb-c.h"
#include "flight_sql.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "strata/arrow_ipc.h"
#include "strata/v1/admin.pb-c.h"
#include "strata/v1/write.pb-c.h"

#define TAG_NEW ((void *)(intptr_t)1)
#define TAG_OP ((void *)(intptr_t)2)
#define TAG_SHUTDOWN ((void *)(intptr_t)3)
#define MAX_REPLIES 256

struct mock_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    int port;
    bool shutdown_seen;
};

struct reply {
    grpc_status_code status;
    int code;         /* strata-code trailer; 0 = none */
    long long offset; /* strata-error-offset; -1 = none */
    char msg[256];
    grpc_slice msgs[MAX_REPLIES];
    int n_msgs;
    int delay_ms;
};

static FILE *
log_file(void)
{
    static FILE *f;
    static bool tried;
    if (!tried) {
        tried = true;
        const char *p = getenv("STRATA_MOCK_LOG");
        if (p && *p) f = fopen(p, "a");
    }
    return f;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
logf_(const char *fmt, ...)
{
    FILE *f = log_file();
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

static void
fail(struct reply *r, grpc_status_code status, int code, const char *msg)
{
    r->status = status;
    r->code = code;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

static void
add_msg(struct reply *r, const void *p, size_t n)
{
    if (r->n_msgs < MAX_REPLIES) r->msgs[r->n_msgs++] = grpc_slice_from_copied_buffer(p, n);
}

static void
add_pb(struct reply *r, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    protobuf_c_message_pack(m, b);
    add_msg(r, b, n);
    free(b);
}

/* ---- DoGet ------------------------------------------------------------------ */

static void
add_flight(struct reply *r, const struct arrow_msg *m, bool app)
{
    struct st_buf b;
    struct st_error err;
    st_buf_init(&b, SIZE_MAX);
    arrow_flightdata_append(&b, m, app ? (const uint8_t *)"" : NULL, 0, &err);
    add_msg(r, b.data, b.len);
    st_buf_cleanup(&b);
}

/* Schema plus `n_batches` copies of the batch (or none when batch is NULL). */
static void
add_result(struct reply *r, struct tb *tb, int n_batches, size_t target)
{
    struct st_error err;
    struct arrow_encoder_opts o = {.target_bytes = target};
    struct arrow_encoder *enc = arrow_encoder_new(tb_schema(tb), &o, &err);
    struct arrow_msg m;
    bool got;
    arrow_encode_schema(enc, &m, &err);
    add_flight(r, &m, true);
    for (int i = 0; i < n_batches; i++) {
        arrow_encode_batch(enc, tb_batch(tb), &err);
        while (arrow_encode_next(enc, &m, &got, &err) == ST_OK && got)
            add_flight(r, &m, false);
    }
    arrow_encoder_free(enc);
}

static void
cli_sample(struct tb *tb)
{
    static const char *const host[] = {"server-a", "server-b", "db,\"1\""};
    static const char *const msg[] = {"hello", "line\nbreak, \"quoted\"",
                                      "\xc3\xbcn\xc3\xaf \xe2\x9c\x93"};
    tb_init(tb, 3);
    int64_t *t = tb_add_time(tb, "time", ST_ROLE_TIME, false);
    tb_add_string(tb, "host", ST_ROLE_TAG, true, host, NULL);
    double *usage = tb_add_float(tb, "usage", ST_ROLE_FIELD, true);
    int64_t *count = tb_add_int(tb, "count", ST_ROLE_FIELD, true);
    uint8_t *ok = tb_add_bool(tb, "ok", ST_ROLE_FIELD, true);
    tb_add_string(tb, "msg", ST_ROLE_FIELD, true, msg, NULL);
    uint64_t *big = tb_add_uint(tb, "big", ST_ROLE_FIELD, true);
    t[0] = 1700000000000000000LL;
    t[1] = 1700000001500000000LL;
    t[2] = 1700000002000000123LL;
    usage[0] = 12.5;
    usage[2] = -0.25;
    count[0] = 1;
    count[1] = -2;
    count[2] = 9007199254740993LL;
    ok[0] = 1;
    big[0] = UINT64_MAX;
    big[2] = 42;
    tb_set_null(tb, 2, 1);
    tb_set_null(tb, 4, 2);
}

static void
do_get(struct reply *r, const uint8_t *req, size_t len, const char *auth)
{
    Arrow__Flight__Protocol__Ticket *t = arrow__flight__protocol__ticket__unpack(NULL, len, req);
    if (!t) {
        fail(r, GRPC_STATUS_INVALID_ARGUMENT, 2, "Invalid ticket");
        return;
    }
    json_error_t je;
    json_t *doc =
        json_loadb((const char *)t->ticket.data, t->ticket.len, JSON_REJECT_DUPLICATES, &je);
    const char *raw = doc ? json_string_value(json_object_get(doc, "sql_query")) : NULL;
    /* the script matches on the text without comment lines and outer space */
    char sqlbuf[4096] = "";
    const char *sql = NULL;
    if (raw) {
        size_t k = 0;
        for (const char *p = raw; *p && k + 1 < sizeof sqlbuf;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            const char *q = p + strspn(p, " \t");
            if (!(q[0] == '-' && q[1] == '-')) {
                if (k && k + 1 < sizeof sqlbuf) sqlbuf[k++] = ' ';
                for (size_t i = 0; i < n && k + 1 < sizeof sqlbuf; i++)
                    sqlbuf[k++] = p[i];
            }
            p = nl ? nl + 1 : p + n;
        }
        sqlbuf[k] = '\0';
        char *s = sqlbuf + strspn(sqlbuf, " \t");
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        sql = s;
    }
    const char *db = doc ? json_string_value(json_object_get(doc, "database")) : NULL;
    logf_("DoGet db=%s sql=%s", db ? db : "?", sql ? sql : "?");
    struct tb tb;
    if (!sql || !db) {
        fail(r, GRPC_STATUS_INVALID_ARGUMENT, 2, "Invalid ticket");
    } else if (strcmp(sql, "SELECT all_types") == 0) {
        td_all_types(&tb, 300, 5);
        add_result(r, &tb, 1, 16 << 10);
        tb_free(&tb);
    } else if (strcmp(sql, "SELECT cli_sample") == 0) {
        cli_sample(&tb);
        add_result(r, &tb, 1, 0);
        tb_free(&tb);
    } else if (strcmp(sql, "SELECT empty") == 0) {
        /* nothing */
    } else if (strcmp(sql, "SELECT schema_only") == 0) {
        td_all_types(&tb, 0, 0);
        add_result(r, &tb, 0, 0);
        tb_free(&tb);
    } else if (strcmp(sql, "SELECT echo") == 0) {
        char *ticket = strndup((const char *)t->ticket.data, t->ticket.len);
        const char *vals[1] = {ticket};
        const char *avals[1] = {auth ? auth : "(none)"};
        tb_init(&tb, 1);
        tb_add_string(&tb, "ticket", ST_ROLE_NONE, false, vals, NULL);
        tb_add_string(&tb, "authorization", ST_ROLE_NONE, false, avals, NULL);
        add_result(r, &tb, 1, 0);
        tb_free(&tb);
        free(ticket);
    } else if (strcmp(sql, "SELECT parse_error") == 0) {
        fail(r, GRPC_STATUS_INVALID_ARGUMENT, 3, "syntax error at \"parse_error\"");
        r->offset = 7;
    } else if (strcmp(sql, "SELECT midstream_error") == 0) {
        td_all_types(&tb, 10, 1);
        add_result(r, &tb, 1, 0);
        tb_free(&tb);
        fail(r, GRPC_STATUS_RESOURCE_EXHAUSTED, 10, "query memory limit exceeded");
    } else if (strcmp(sql, "SELECT bad_arrow") == 0) {
        td_all_types(&tb, 1, 1);
        add_result(r, &tb, 0, 0);
        tb_free(&tb);
        add_msg(r, "\x12\x08\xff\xff\xff\x7f\x00\x00\x00\x00", 10);
    } else if (strcmp(sql, "SELECT app_metadata") == 0) {
        td_all_types(&tb, 4, 2);
        add_result(r, &tb, 0, 0);
        add_msg(r,
                "\x1a\x03"
                "abc",
                5);
        add_result(r, &tb, 1, 0);
        /* drop the second schema message: keep only the batch */
        grpc_slice_unref(r->msgs[2]);
        memmove(&r->msgs[2], &r->msgs[3], sizeof r->msgs[0] * (size_t)(r->n_msgs - 3));
        r->n_msgs--;
        tb_free(&tb);
    } else if (strcmp(sql, "SELECT no_code") == 0) {
        fail(r, GRPC_STATUS_PERMISSION_DENIED, 0, "Permission denied");
    } else if (strcmp(sql, "SELECT slow") == 0) {
        r->delay_ms = 1500;
        td_all_types(&tb, 1, 1);
        add_result(r, &tb, 1, 0);
        tb_free(&tb);
    } else if (strcmp(sql, "SELECT many") == 0) {
        td_all_types(&tb, 1000, 3);
        add_result(r, &tb, 20, 0);
        tb_free(&tb);
    } else {
        char m[200];
        snprintf(m, sizeof m, "table not found in \"%s\"", sql);
        fail(r, GRPC_STATUS_INVALID_ARGUMENT, 4, m);
    }
    json_decref(doc);
    arrow__flight__protocol__ticket__free_unpacked(t, NULL);
}

/* ---- Write ------------------------------------------------------------------ */

static void
do_write(struct reply *r, const uint8_t *req, size_t len)
{
    Strata__V1__WriteRequest *w = strata__v1__write_request__unpack(NULL, len, req);
    if (!w) {
        fail(r, GRPC_STATUS_INVALID_ARGUMENT, 2, "malformed write request");
        return;
    }
    uint32_t lines = 0, bad = 0;
    Strata__V1__WriteResponse resp = STRATA__V1__WRITE_RESPONSE__INIT;
    Strata__V1__LineError errs[100], *perrs[100];
    char excerpts[100][21];
    const char *p = (const char *)w->line_protocol.data, *end = p + w->line_protocol.len;
    uint32_t lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        if (le > p) {
            lines++;
            if (memmem(p, (size_t)(le - p), "bad", 3)) {
                if (bad < 100) {
                    strata__v1__line_error__init(&errs[bad]);
                    errs[bad].line = lineno;
                    errs[bad].column = 1;
                    errs[bad].code = 3;
                    errs[bad].message = (char *)"expected a field after the tags";
                    snprintf(excerpts[bad], sizeof excerpts[bad], "%.*s",
                             (int)(le - p > 20 ? 20 : le - p), p);
                    errs[bad].excerpt = excerpts[bad];
                    perrs[bad] = &errs[bad];
                }
                bad++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    logf_("Write db=%s precision=%d partial=%d no_sync=%d bytes=%zu lines=%u", w->database,
          (int)w->precision, (int)w->partial, (int)w->no_sync, w->line_protocol.len, lines);
    if (strcmp(w->database, "nodb") == 0) {
        fail(r, GRPC_STATUS_NOT_FOUND, 6, "database \"nodb\" not found");
    } else {
        resp.n_errors = bad < 100 ? bad : 100;
        resp.errors = perrs;
        resp.lines_rejected = bad;
        if (bad == 0) {
            resp.lines_accepted = lines;
        } else if (w->partial) {
            resp.code = 18;
            resp.lines_accepted = lines - bad;
            resp.message = (char *)"some lines were rejected";
        } else {
            resp.code = 3;
            resp.lines_rejected = lines;
            resp.message = (char *)"";
        }
        resp.fields_written = resp.lines_accepted;
        add_pb(r, &resp.base);
    }
    strata__v1__write_request__free_unpacked(w, NULL);
}

/* ---- Admin ------------------------------------------------------------------ */

#define T0 1700000000000000000LL

static void
token_info(Strata__V1__TokenInfo *ti, const char *id, const char *name)
{
    strata__v1__token_info__init(ti);
    ti->id = (char *)id;
    ti->name = (char *)name;
    ti->kind = STRATA__V1__TOKEN_KIND__TOKEN_KIND_DATABASE;
    ti->created_at_ns = T0;
    ti->created_by = (char *)"token:op";
    ti->hint = (char *)"strata_ab";
}

static void
do_admin(struct reply *r, const char *m, const uint8_t *req, size_t len)
{
    logf_("Admin %s bytes=%zu", m, len);
    if (strcmp(m, "CreateDatabase") == 0) {
        Strata__V1__CreateDatabaseRequest *q =
            strata__v1__create_database_request__unpack(NULL, len, req);
        if (strcmp(q->name, "exists") == 0) {
            fail(r, GRPC_STATUS_ALREADY_EXISTS, 7, "database \"exists\" already exists");
        } else if (strcmp(q->name, "bad name") == 0) {
            fail(r, GRPC_STATUS_INVALID_ARGUMENT, 2, "invalid database name \"bad name\"");
        } else {
            Strata__V1__Database d = STRATA__V1__DATABASE__INIT;
            Strata__V1__CreateDatabaseResponse resp = STRATA__V1__CREATE_DATABASE_RESPONSE__INIT;
            d.name = q->name;
            d.created_at_ns = T0;
            resp.database = &d;
            add_pb(r, &resp.base);
        }
        strata__v1__create_database_request__free_unpacked(q, NULL);
    } else if (strcmp(m, "ListDatabases") == 0) {
        Strata__V1__Database a = STRATA__V1__DATABASE__INIT, b = STRATA__V1__DATABASE__INIT;
        Strata__V1__Database *v[2] = {&a, &b};
        Strata__V1__ListDatabasesResponse resp = STRATA__V1__LIST_DATABASES_RESPONSE__INIT;
        a.name = (char *)"alpha";
        a.created_at_ns = T0;
        a.created_by = (char *)"token:op";
        b.name = (char *)"beta";
        b.created_at_ns = T0 + 1000000000LL;
        resp.n_databases = 2;
        resp.databases = v;
        add_pb(r, &resp.base);
    } else if (strcmp(m, "DeleteDatabase") == 0) {
        Strata__V1__DeleteDatabaseRequest *q =
            strata__v1__delete_database_request__unpack(NULL, len, req);
        if (strcmp(q->name, "missing") == 0) {
            fail(r, GRPC_STATUS_NOT_FOUND, 6, "database \"missing\" not found");
        } else {
            Strata__V1__DeleteDatabaseResponse resp = STRATA__V1__DELETE_DATABASE_RESPONSE__INIT;
            add_pb(r, &resp.base);
        }
        strata__v1__delete_database_request__free_unpacked(q, NULL);
    } else if (strcmp(m, "CreateToken") == 0) {
        Strata__V1__CreateTokenRequest *q =
            strata__v1__create_token_request__unpack(NULL, len, req);
        Strata__V1__TokenInfo ti;
        Strata__V1__CreateTokenResponse resp = STRATA__V1__CREATE_TOKEN_RESPONSE__INIT;
        token_info(&ti, "tok-1", q->name);
        ti.kind = q->kind;
        ti.n_permissions = q->n_permissions;
        ti.permissions = q->permissions;
        ti.expires_at_ns =
            q->expires_in_seconds ? T0 + (int64_t)q->expires_in_seconds * 1000000000LL : 0;
        ti.description = q->description;
        resp.token = &ti;
        resp.secret = (char *)"strata_secret_0123456789";
        logf_("CreateToken name=%s kind=%d perms=%zu expires_in=%llu", q->name, (int)q->kind,
              q->n_permissions, (unsigned long long)q->expires_in_seconds);
        for (size_t i = 0; i < q->n_permissions; i++)
            logf_("  perm db=%s read=%d write=%d", q->permissions[i]->database,
                  (int)q->permissions[i]->read, (int)q->permissions[i]->write);
        add_pb(r, &resp.base);
        strata__v1__create_token_request__free_unpacked(q, NULL);
    } else if (strcmp(m, "ListTokens") == 0) {
        Strata__V1__ListTokensRequest *q = strata__v1__list_tokens_request__unpack(NULL, len, req);
        Strata__V1__TokenInfo a, b;
        Strata__V1__DatabasePermission p = STRATA__V1__DATABASE_PERMISSION__INIT, *pp[1] = {&p};
        Strata__V1__TokenInfo *v[2] = {&a, &b};
        Strata__V1__ListTokensResponse resp = STRATA__V1__LIST_TOKENS_RESPONSE__INIT;
        token_info(&a, "tok-1", "ingest");
        p.database = (char *)"alpha";
        p.write = true;
        a.n_permissions = 1;
        a.permissions = pp;
        token_info(&b, "tok-2", "old");
        b.kind = STRATA__V1__TOKEN_KIND__TOKEN_KIND_MANAGEMENT;
        b.revoked = true;
        b.revoked_at_ns = T0 + 5;
        resp.n_tokens = q->include_revoked ? 2 : 1;
        resp.tokens = v;
        add_pb(r, &resp.base);
        strata__v1__list_tokens_request__free_unpacked(q, NULL);
    } else if (strcmp(m, "RevokeToken") == 0 || strcmp(m, "RotateToken") == 0) {
        bool rotate = m[1] == 'o';
        char *id, *name;
        if (rotate) {
            Strata__V1__RotateTokenRequest *q =
                strata__v1__rotate_token_request__unpack(NULL, len, req);
            id = strdup(q->id);
            name = strdup(q->name);
            strata__v1__rotate_token_request__free_unpacked(q, NULL);
        } else {
            Strata__V1__RevokeTokenRequest *q =
                strata__v1__revoke_token_request__unpack(NULL, len, req);
            id = strdup(q->id);
            name = strdup(q->name);
            strata__v1__revoke_token_request__free_unpacked(q, NULL);
        }
        logf_("%s id=%s name=%s", m, id, name);
        if (strcmp(id, "nope") == 0 || strcmp(name, "nope") == 0) {
            fail(r, GRPC_STATUS_NOT_FOUND, 6, "token not found");
        } else {
            Strata__V1__TokenInfo ti;
            token_info(&ti, *id ? id : "tok-9", *name ? name : "by-id");
            if (rotate) {
                Strata__V1__RotateTokenResponse resp = STRATA__V1__ROTATE_TOKEN_RESPONSE__INIT;
                ti.rotated_at_ns = T0 + 7;
                resp.token = &ti;
                resp.secret = (char *)"strata_secret_rotated";
                add_pb(r, &resp.base);
            } else {
                Strata__V1__RevokeTokenResponse resp = STRATA__V1__REVOKE_TOKEN_RESPONSE__INIT;
                ti.revoked = true;
                ti.revoked_at_ns = T0 + 9;
                resp.token = &ti;
                add_pb(r, &resp.base);
            }
        }
        free(id);
        free(name);
    } else if (strcmp(m, "GrantRole") == 0 || strcmp(m, "RevokeRole") == 0) {
        Strata__V1__GrantRoleRequest *q = strata__v1__grant_role_request__unpack(NULL, len, req);
        const char *who = !q->principal                                                  ? "-"
                          : q->principal->kind_case == STRATA__V1__PRINCIPAL__KIND_USER  ? "user"
                          : q->principal->kind_case == STRATA__V1__PRINCIPAL__KIND_GROUP ? "group"
                          : q->principal->kind_case == STRATA__V1__PRINCIPAL__KIND_TOKEN_ID
                              ? "token"
                              : "-";
        const char *name = q->principal && q->principal->kind_case ? q->principal->user : "";
        logf_("%s db=%s role=%s %s=%s", m, q->database, q->role, who, name);
        if (strcmp(q->role, "owner") == 0 && m[0] == 'R') {
            fail(r, GRPC_STATUS_FAILED_PRECONDITION, 19,
                 "cannot remove the last owner of database");
        } else if (strcmp(q->role, "god") == 0) {
            fail(r, GRPC_STATUS_INVALID_ARGUMENT, 2, "unknown role \"god\"");
        } else if (m[0] == 'G') {
            Strata__V1__GrantRoleResponse resp = STRATA__V1__GRANT_ROLE_RESPONSE__INIT;
            add_pb(r, &resp.base);
        } else {
            Strata__V1__RevokeRoleResponse resp = STRATA__V1__REVOKE_ROLE_RESPONSE__INIT;
            add_pb(r, &resp.base);
        }
        strata__v1__grant_role_request__free_unpacked(q, NULL);
    } else if (strcmp(m, "ListRoles") == 0) {
        Strata__V1__RoleBinding a = STRATA__V1__ROLE_BINDING__INIT,
                                b = STRATA__V1__ROLE_BINDING__INIT;
        Strata__V1__Principal pa = STRATA__V1__PRINCIPAL__INIT, pb = STRATA__V1__PRINCIPAL__INIT;
        Strata__V1__RoleBinding *v[2] = {&a, &b};
        Strata__V1__ListRolesResponse resp = STRATA__V1__LIST_ROLES_RESPONSE__INIT;
        pa.kind_case = STRATA__V1__PRINCIPAL__KIND_USER;
        pa.user = (char *)"alice";
        pb.kind_case = STRATA__V1__PRINCIPAL__KIND_GROUP;
        pb.group = (char *)"analysts";
        a.database = (char *)"alpha";
        a.role = (char *)"owner";
        a.principal = &pa;
        a.granted_at_ns = T0;
        a.granted_by = (char *)"token:op";
        b.database = (char *)"alpha";
        b.role = (char *)"read";
        b.principal = &pb;
        b.granted_at_ns = T0;
        resp.n_bindings = 2;
        resp.bindings = v;
        add_pb(r, &resp.base);
    } else if (strcmp(m, "WhoAmI") == 0) {
        Strata__V1__WhoAmIResponse resp = STRATA__V1__WHO_AM_IRESPONSE__INIT;
        char *groups[1] = {(char *)"ops"};
        resp.principal_id = (char *)"token:tok-op";
        resp.kind = (char *)"token";
        resp.name = (char *)"operator";
        resp.token_kind = STRATA__V1__TOKEN_KIND__TOKEN_KIND_OPERATOR;
        resp.n_groups = 1;
        resp.groups = groups;
        resp.tenant = (char *)"default";
        add_pb(r, &resp.base);
    } else if (strcmp(m, "Check") == 0) {
        Strata__V1__CheckRequest *q = strata__v1__check_request__unpack(NULL, len, req);
        Strata__V1__CheckResponse resp = STRATA__V1__CHECK_RESPONSE__INIT;
        resp.allowed = strcmp(q->action, "read") == 0;
        resp.reason = (char *)(resp.allowed ? "granted" : "no_grant");
        resp.detail = (char *)(resp.allowed ? "role read on alpha" : "no role grants this");
        add_pb(r, &resp.base);
        strata__v1__check_request__free_unpacked(q, NULL);
    } else if (strcmp(m, "ReadAudit") == 0) {
        Strata__V1__ReadAuditRequest *q = strata__v1__read_audit_request__unpack(NULL, len, req);
        Strata__V1__ReadAuditResponse resp = STRATA__V1__READ_AUDIT_RESPONSE__INIT;
        char recs[5][96], *pr[5];
        uint32_t limit = q->limit ? q->limit : 1000;
        size_t n = 0;
        for (uint64_t s = q->after_seq + 1; s <= 5 && n < limit; s++, n++) {
            snprintf(recs[n], sizeof recs[n], "{\"seq\":%llu,\"event\":\"auth\",\"ok\":true}",
                     (unsigned long long)s);
            pr[n] = recs[n];
        }
        resp.n_records = n;
        resp.records = pr;
        resp.last_seq = q->after_seq + n;
        resp.more = resp.last_seq < 5;
        add_pb(r, &resp.base);
        strata__v1__read_audit_request__free_unpacked(q, NULL);
    } else if (strcmp(m, "RotateKey") == 0) {
        /* two progress messages, then the totals */
        Strata__V1__RotateKeyResponse p = STRATA__V1__ROTATE_KEY_RESPONSE__INIT;
        p.files_total = 4;
        p.files_done = 1;
        add_pb(r, &p.base);
        p.files_done = 4;
        add_pb(r, &p.base);
        char *prev[] = {(char *)"aff116fdf5636f26"};
        p.done = true;
        p.files = 4;
        p.rewrapped = 3;
        p.already_current = 1;
        p.key_id = (char *)"75994c6f8af9575c";
        p.n_previous_key_ids = 1;
        p.previous_key_ids = prev;
        add_pb(r, &p.base);
    } else if (strcmp(m, "Verify") == 0) {
        /* "": clean; "damaged": one problem; "cut": a problem and no summary;
         * "garbage": a malformed message */
        Strata__V1__VerifyRequest *q = strata__v1__verify_request__unpack(NULL, len, req);
        const char *db = q && q->database ? q->database : "";
        Strata__V1__VerifyResponse v = STRATA__V1__VERIFY_RESPONSE__INIT;
        Strata__V1__VerifyProblem pr = STRATA__V1__VERIFY_PROBLEM__INIT;
        Strata__V1__VerifyProgress pg = STRATA__V1__VERIFY_PROGRESS__INIT;
        Strata__V1__VerifySummary sm = STRATA__V1__VERIFY_SUMMARY__INIT;
        if (!strcmp(db, "missing")) {
            fail(r, GRPC_STATUS_NOT_FOUND, 6, "database \"missing\" does not exist");
        } else if (!strcmp(db, "garbage")) {
            add_msg(r, "\xff\xff\xff", 3);
        } else {
            bool bad = !strcmp(db, "damaged") || !strcmp(db, "cut");
            if (bad) {
                pr.kind = (char *)"chunk";
                pr.file = (char *)"db/1/1/0000000000000003.chk";
                pr.database = (char *)db;
                pr.offset = 176;
                pr.code = (char *)"ECORRUPT";
                pr.reason = (char *)"authentication tag mismatch (damaged or tampered)";
                pr.quarantined = true;
                v.event_case = STRATA__V1__VERIFY_RESPONSE__EVENT_PROBLEM;
                v.problem = &pr;
                add_pb(r, &v.base);
            }
            pg.files_done = pg.files_total = 2;
            pg.problems = bad;
            v.event_case = STRATA__V1__VERIFY_RESPONSE__EVENT_PROGRESS;
            v.progress = &pg;
            add_pb(r, &v.base);
            if (strcmp(db, "cut") != 0) {
                sm.files = 2;
                sm.blocks = 9;
                sm.bytes = 4096;
                sm.problems = bad;
                sm.quarantined_groups = bad;
                sm.duration_ns = 1000000;
                v.event_case = STRATA__V1__VERIFY_RESPONSE__EVENT_SUMMARY;
                v.summary = &sm;
                add_pb(r, &v.base);
            }
        }
        if (q) strata__v1__verify_request__free_unpacked(q, NULL);
    } else {
        fail(r, GRPC_STATUS_UNIMPLEMENTED, 16, "method not implemented");
    }
}

/* ---- DoPut: Flight SQL updates --------------------------------------------------------- */

static void
do_put(struct reply *r, const uint8_t *req, size_t len)
{
    Arrow__Flight__Protocol__FlightData *d =
        arrow__flight__protocol__flight_data__unpack(NULL, len, req);
    Google__Protobuf__Any *any =
        d && d->flight_descriptor ? google__protobuf__any__unpack(
                                        NULL, d->flight_descriptor->cmd.len,
                                        d->flight_descriptor->cmd.data)
                                  : NULL;
    Arrow__Flight__Protocol__Sql__CommandStatementUpdate *u =
        any ? arrow__flight__protocol__sql__command_statement_update__unpack(
                  NULL, any->value.len, any->value.data)
            : NULL;
    logf_("DoPut update=%s", u && u->query ? u->query : "(none)");
    if (!u || !u->query) {
        fail(r, GRPC_STATUS_INVALID_ARGUMENT, 2, "not an update");
    } else if (strstr(u->query, "nosuch")) {
        fail(r, GRPC_STATUS_INVALID_ARGUMENT, 4, "column \"nosuch\" does not exist");
        r->offset = 20;
    } else if (strstr(u->query, "garbage")) {
        Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
        pr.app_metadata.data = (uint8_t *)"\xff\xff";
        pr.app_metadata.len = 2;
        add_pb(r, &pr.base);
    } else {
        Arrow__Flight__Protocol__Sql__DoPutUpdateResult ur =
            ARROW__FLIGHT__PROTOCOL__SQL__DO_PUT_UPDATE_RESULT__INIT;
        ur.record_count = 7;
        uint8_t meta[16];
        Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
        pr.app_metadata.data = meta;
        pr.app_metadata.len = protobuf_c_message_pack(&ur.base, meta);
        add_pb(r, &pr.base);
    }
    if (u) arrow__flight__protocol__sql__command_statement_update__free_unpacked(u, NULL);
    if (any) google__protobuf__any__free_unpacked(any, NULL);
    if (d) arrow__flight__protocol__flight_data__free_unpacked(d, NULL);
}

/* ---- dispatch ---------------------------------------------------------------- */

static void
dispatch(struct reply *r, const char *method, const uint8_t *req, size_t len, const char *auth)
{
    r->status = GRPC_STATUS_OK;
    r->offset = -1;
    if (strcmp(method, "/grpc.health.v1.Health/Check") == 0) {
        Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
        resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        add_pb(r, &resp.base);
        return;
    }
    if (!auth) {
        fail(r, GRPC_STATUS_UNAUTHENTICATED, 8, "missing bearer token");
        return;
    }
    bool good = strcmp(auth, "Bearer good-token") == 0;
    bool ro = strcmp(auth, "Bearer read-only") == 0;
    if (!good && !ro) {
        fail(r, GRPC_STATUS_UNAUTHENTICATED, 8, "unknown or expired token");
        return;
    }
    if (strcmp(method, "/arrow.flight.protocol.FlightService/DoGet") == 0) {
        do_get(r, req, len, auth);
    } else if (strcmp(method, "/arrow.flight.protocol.FlightService/DoPut") == 0) {
        if (ro)
            fail(r, GRPC_STATUS_PERMISSION_DENIED, 9, "permission denied");
        else
            do_put(r, req, len);
    } else if (strcmp(method, "/strata.v1.WriteService/Write") == 0) {
        if (ro)
            fail(r, GRPC_STATUS_PERMISSION_DENIED, 9, "permission denied");
        else
            do_write(r, req, len);
    } else if (strncmp(method, "/strata.v1.AdminService/", 24) == 0) {
        if (ro)
            fail(r, GRPC_STATUS_PERMISSION_DENIED, 9, "permission denied");
        else
            do_admin(r, method + 24, req, len);
    } else {
        fail(r, GRPC_STATUS_UNIMPLEMENTED, 16, "method not implemented");
    }
}

static bool
wait_tag(struct mock_server *m, void *tag)
{
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(m->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) return false;
        if (ev.tag == TAG_SHUTDOWN) {
            m->shutdown_seen = true;
            if (tag == TAG_SHUTDOWN) return true;
            continue;
        }
        if (ev.tag == tag) return ev.success != 0;
    }
}

static void
serve_one(struct mock_server *m, grpc_call *call, grpc_call_details *details,
          grpc_metadata_array *md)
{
    grpc_byte_buffer *bb = NULL;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    grpc_call_start_batch(call, &op, 1, TAG_OP, NULL);
    wait_tag(m, TAG_OP);
    grpc_slice req = grpc_empty_slice();
    if (bb) {
        grpc_byte_buffer_reader rd;
        grpc_byte_buffer_reader_init(&rd, bb);
        req = grpc_byte_buffer_reader_readall(&rd);
        grpc_byte_buffer_reader_destroy(&rd);
        grpc_byte_buffer_destroy(bb);
    }
    char *method = grpc_slice_to_c_string(details->method);
    char *auth = NULL;
    for (size_t i = 0; i < md->count; i++)
        if (grpc_slice_str_cmp(md->metadata[i].key, "authorization") == 0)
            auth = grpc_slice_to_c_string(md->metadata[i].value);
    struct reply *r = calloc(1, sizeof *r);
    dispatch(r, method, GRPC_SLICE_START_PTR(req), GRPC_SLICE_LENGTH(req), auth);
    grpc_slice_unref(req);
    if (r->delay_ms) {
        struct timespec ts = {r->delay_ms / 1000, (long)(r->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }

    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    grpc_call_start_batch(call, ops, 1, TAG_OP, NULL);
    wait_tag(m, TAG_OP);
    for (int i = 0; i < r->n_msgs; i++) {
        grpc_byte_buffer *out = grpc_raw_byte_buffer_create(&r->msgs[i], 1);
        memset(ops, 0, sizeof ops);
        ops[0].op = GRPC_OP_SEND_MESSAGE;
        ops[0].data.send_message.send_message = out;
        grpc_call_start_batch(call, ops, 1, TAG_OP, NULL);
        wait_tag(m, TAG_OP);
        grpc_byte_buffer_destroy(out);
        grpc_slice_unref(r->msgs[i]);
    }
    char code[16], off[24];
    grpc_metadata tr[2];
    size_t n_tr = 0;
    if (r->code) {
        snprintf(code, sizeof code, "%d", r->code);
        tr[n_tr].key = grpc_slice_from_static_string("strata-code");
        tr[n_tr].value = grpc_slice_from_static_string(code);
        n_tr++;
    }
    if (r->offset >= 0) {
        snprintf(off, sizeof off, "%lld", r->offset);
        tr[n_tr].key = grpc_slice_from_static_string("strata-error-offset");
        tr[n_tr].value = grpc_slice_from_static_string(off);
        n_tr++;
    }
    int cancelled = 0;
    grpc_slice details_s = grpc_slice_from_copied_string(r->msg);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[0].data.send_status_from_server.status = r->status;
    ops[0].data.send_status_from_server.status_details = &details_s;
    ops[0].data.send_status_from_server.trailing_metadata_count = n_tr;
    ops[0].data.send_status_from_server.trailing_metadata = n_tr ? tr : NULL;
    ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[1].data.recv_close_on_server.cancelled = &cancelled;
    grpc_call_start_batch(call, ops, 2, TAG_OP, NULL);
    grpc_slice_unref(details_s);
    wait_tag(m, TAG_OP);
    free(r);
    gpr_free(method);
    gpr_free(auth);
}

static void *
loop(void *arg)
{
    struct mock_server *m = arg;
    while (!m->shutdown_seen) {
        grpc_call *call = NULL;
        grpc_call_details details;
        grpc_metadata_array md;
        grpc_call_details_init(&details);
        grpc_metadata_array_init(&md);
        if (grpc_server_request_call(m->server, &call, &details, &md, m->cq, m->cq, TAG_NEW) !=
            GRPC_CALL_OK)
            break;
        bool ok = wait_tag(m, TAG_NEW);
        if (ok && call) serve_one(m, call, &details, &md);
        if (call) grpc_call_unref(call);
        grpc_call_details_destroy(&details);
        grpc_metadata_array_destroy(&md);
        if (!ok) break;
    }
    while (!m->shutdown_seen)
        wait_tag(m, TAG_SHUTDOWN);
    return NULL;
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 1 << 20);
    size_t n = fread(b, 1, (1 << 20) - 1, f);
    fclose(f);
    b[n] = 0;
    return b;
}

struct mock_server *
mock_server_start(const char *cert_file, const char *key_file)
{
    grpc_init();
    struct mock_server *m = calloc(1, sizeof *m);
    grpc_arg a[] = {
        {GRPC_ARG_INTEGER, (char *)GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}},
        {GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = 64 << 20}}};
    grpc_channel_args args = {2, a};
    m->server = grpc_server_create(&args, NULL);
    m->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(m->server, m->cq, NULL);
    grpc_server_credentials *creds;
    if (cert_file) {
        char *cert = slurp(cert_file), *key = slurp(key_file);
        if (!cert || !key) {
            fprintf(stderr, "mock_server: cannot read %s / %s\n", cert_file, key_file);
            return NULL;
        }
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        grpc_ssl_server_certificate_config *cfg =
            grpc_ssl_server_certificate_config_create(NULL, &pair, 1);
        grpc_ssl_server_credentials_options *o =
            grpc_ssl_server_credentials_create_options_using_config(
                GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, cfg);
        creds = grpc_ssl_server_credentials_create_with_options(o);
        free(cert);
        free(key);
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    m->port = grpc_server_add_http2_port(m->server, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    if (m->port == 0) {
        fprintf(stderr, "mock_server: cannot listen on 127.0.0.1\n");
        return NULL;
    }
    grpc_server_start(m->server);
    pthread_create(&m->thread, NULL, loop, m);
    return m;
}

int
mock_server_port(const struct mock_server *m)
{
    return m->port;
}

void
mock_server_stop(struct mock_server *m)
{
    if (!m) return;
    grpc_server_shutdown_and_notify(m->server, m->cq, TAG_SHUTDOWN);
    grpc_server_cancel_all_calls(m->server);
    pthread_join(m->thread, NULL);
    grpc_server_destroy(m->server);
    grpc_completion_queue_shutdown(m->cq);
    while (grpc_completion_queue_next(m->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(m->cq);
    free(m);
    grpc_shutdown();
}
