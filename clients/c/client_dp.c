/*
 * client_dp.c: the data-protection calls of libstrata: key rotation and scrubs
 * (strata.v1.AdminService RotateKey and Verify, both server-streaming: progress and
 * problems are handed to callbacks as they arrive), and updates (Flight SQL
 * CommandStatementUpdate through DoPut: one FlightData with the command descriptor, one
 * PutResult back with DoPutUpdateResult). The semantics are the server's
 * (docs/operations.md, docs/api.md); this file moves fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "flight.pb-c.h"
#include "flight_sql.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "strata/v1/admin.pb-c.h"

#define ADMIN "/strata.v1.AdminService/"

/* Start a server-streaming call with a packed request. */
static enum st_code
stream_start(struct strata *c, const char *method, const ProtobufCMessage *req, struct scall *sc,
             struct st_error *err)
{
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return st_error_set(err, ST_ENOMEM, "packing a request");
    protobuf_c_message_pack(req, buf);
    enum st_code rc = strata__call_start(c, method, buf, len, sc, err);
    free(buf);
    return rc;
}

/* ---- key rotation ------------------------------------------------------------- */

void
strata_rotate_result_cleanup(struct strata_rotate_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_previous_key_ids; i++)
        free(r->previous_key_ids[i]);
    free(r->previous_key_ids);
    memset(r, 0, sizeof *r);
}

static enum st_code
rotate_done(const Strata__V1__RotateKeyResponse *m, struct strata_rotate_result *out,
            struct st_error *err)
{
    if (!out) return ST_OK;
    out->files = m->files;
    out->rewrapped = m->rewrapped;
    out->already_current = m->already_current;
    out->skipped = m->skipped;
    snprintf(out->key_id, sizeof out->key_id, "%s", m->key_id ? m->key_id : "");
    if (!m->n_previous_key_ids) return ST_OK;
    out->previous_key_ids = calloc(m->n_previous_key_ids, sizeof *out->previous_key_ids);
    if (!out->previous_key_ids) return st_error_set(err, ST_ENOMEM, "copying a reply");
    for (size_t i = 0; i < m->n_previous_key_ids; i++) {
        out->previous_key_ids[i] = strdup(m->previous_key_ids[i] ? m->previous_key_ids[i] : "");
        if (!out->previous_key_ids[i]) return st_error_set(err, ST_ENOMEM, "copying a reply");
        out->n_previous_key_ids++;
    }
    return ST_OK;
}

enum st_code
strata_rotate_key(struct strata *c, strata_rotate_progress_fn fn, void *ctx,
                  struct strata_rotate_result *out, struct st_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c) return st_error_set(err, ST_EINVAL, "no connection");
    Strata__V1__RotateKeyRequest req = STRATA__V1__ROTATE_KEY_REQUEST__INIT;
    struct scall sc;
    enum st_code rc = stream_start(c, ADMIN "RotateKey", &req.base, &sc, err);
    bool done = false;
    while (rc == ST_OK) {
        grpc_slice msg;
        bool got;
        rc = strata__call_recv(&sc, &msg, &got, err);
        if (rc != ST_OK || !got) break;
        Strata__V1__RotateKeyResponse *m = strata__v1__rotate_key_response__unpack(
            NULL, GRPC_SLICE_LENGTH(msg), GRPC_SLICE_START_PTR(msg));
        grpc_slice_unref(msg);
        if (!m) {
            rc = st_error_set(err, ST_ECORRUPT, "malformed RotateKey reply from %s", c->target);
            break;
        }
        if (fn) {
            struct strata_rotate_progress p = {m->files_done, m->files_total};
            fn(ctx, &p);
        }
        if (m->done) {
            done = true;
            rc = rotate_done(m, out, err);
        }
        strata__v1__rotate_key_response__free_unpacked(m, NULL);
    }
    if (rc == ST_OK) rc = strata__call_finish(&sc, err);
    if (rc == ST_OK && !done)
        rc = st_error_set(err, ST_ECORRUPT, "%s ended the key rotation without its result",
                          c->target);
    strata__call_release(&sc);
    if (rc != ST_OK) strata_rotate_result_cleanup(out);
    return rc;
}

/* ---- scrubs ------------------------------------------------------------------- */

enum st_code
strata_scrub(struct strata *c, const char *database, strata_scrub_problem_fn problem_fn,
             strata_scrub_progress_fn progress_fn, void *ctx, struct strata_scrub_summary *out,
             struct st_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c) return st_error_set(err, ST_EINVAL, "no connection");
    Strata__V1__VerifyRequest req = STRATA__V1__VERIFY_REQUEST__INIT;
    req.database = (char *)(database ? database : "");
    struct scall sc;
    enum st_code rc = stream_start(c, ADMIN "Verify", &req.base, &sc, err);
    bool summary = false;
    while (rc == ST_OK) {
        grpc_slice msg;
        bool got;
        rc = strata__call_recv(&sc, &msg, &got, err);
        if (rc != ST_OK || !got) break;
        Strata__V1__VerifyResponse *m = strata__v1__verify_response__unpack(
            NULL, GRPC_SLICE_LENGTH(msg), GRPC_SLICE_START_PTR(msg));
        grpc_slice_unref(msg);
        if (!m) {
            rc = st_error_set(err, ST_ECORRUPT, "malformed Verify reply from %s", c->target);
            break;
        }
        switch (m->event_case) {
        case STRATA__V1__VERIFY_RESPONSE__EVENT_PROBLEM:
            if (problem_fn && m->problem) {
                const Strata__V1__VerifyProblem *q = m->problem;
                struct strata_scrub_problem p = {
                    .kind = q->kind ? q->kind : "", .file = q->file ? q->file : "",
                    .database = q->database ? q->database : "", .offset = q->offset,
                    .code = q->code ? q->code : "", .reason = q->reason ? q->reason : "",
                    .quarantined = q->quarantined, .known = q->known};
                problem_fn(ctx, &p);
            }
            break;
        case STRATA__V1__VERIFY_RESPONSE__EVENT_PROGRESS:
            if (progress_fn && m->progress) {
                struct strata_scrub_progress p = {m->progress->files_done,
                                                  m->progress->files_total,
                                                  m->progress->problems};
                progress_fn(ctx, &p);
            }
            break;
        case STRATA__V1__VERIFY_RESPONSE__EVENT_SUMMARY:
            summary = m->summary != NULL;
            if (out && m->summary) {
                const Strata__V1__VerifySummary *s = m->summary;
                *out = (struct strata_scrub_summary){
                    .files = s->files, .blocks = s->blocks, .bytes = s->bytes,
                    .problems = s->problems, .quarantined_groups = s->quarantined_groups,
                    .quarantined_chunks = s->quarantined_chunks,
                    .problems_not_listed = s->problems_not_listed,
                    .duration_ns = s->duration_ns};
            }
            break;
        default:
            break; /* a newer server's event: ignored */
        }
        strata__v1__verify_response__free_unpacked(m, NULL);
    }
    if (rc == ST_OK) rc = strata__call_finish(&sc, err);
    if (rc == ST_OK && !summary)
        rc = st_error_set(err, ST_ECORRUPT, "%s ended the scrub without its summary", c->target);
    strata__call_release(&sc);
    return rc;
}

/* ---- updates ------------------------------------------------------------------ */

enum st_code
strata_execute_update(struct strata *c, const char *database, const char *sql, int64_t *rows,
                      struct st_error *err)
{
    if (rows) *rows = -1;
    if (!c || !database || !*database || !sql)
        return st_error_set(err, ST_EINVAL, "name a database and a statement");
    Arrow__Flight__Protocol__Sql__CommandStatementUpdate cmd =
        ARROW__FLIGHT__PROTOCOL__SQL__COMMAND_STATEMENT_UPDATE__INIT;
    cmd.query = (char *)sql;
    size_t cl = protobuf_c_message_get_packed_size(&cmd.base);
    uint8_t *cb = malloc(cl ? cl : 1);
    if (!cb) return st_error_set(err, ST_ENOMEM, "packing a request");
    protobuf_c_message_pack(&cmd.base, cb);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementUpdate";
    any.value.data = cb;
    any.value.len = cl;
    size_t al = protobuf_c_message_get_packed_size(&any.base);
    uint8_t *ab = malloc(al ? al : 1);
    if (!ab) {
        free(cb);
        return st_error_set(err, ST_ENOMEM, "packing a request");
    }
    protobuf_c_message_pack(&any.base, ab);
    free(cb);
    Arrow__Flight__Protocol__FlightDescriptor fd = ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__INIT;
    fd.type = ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD;
    fd.cmd.data = ab;
    fd.cmd.len = al;
    Arrow__Flight__Protocol__FlightData d = ARROW__FLIGHT__PROTOCOL__FLIGHT_DATA__INIT;
    d.flight_descriptor = &fd;
    struct scall sc;
    size_t dl = protobuf_c_message_get_packed_size(&d.base);
    uint8_t *db = malloc(dl ? dl : 1);
    enum st_code rc = db ? ST_OK : st_error_set(err, ST_ENOMEM, "packing a request");
    if (db) {
        protobuf_c_message_pack(&d.base, db);
        rc = strata__call_start_md(c, "/arrow.flight.protocol.FlightService/DoPut", db, dl,
                                   database, &sc, err);
    }
    free(db);
    free(ab);
    if (!db) return rc;
    bool have = false;
    while (rc == ST_OK) {
        grpc_slice msg;
        bool got;
        rc = strata__call_recv(&sc, &msg, &got, err);
        if (rc != ST_OK || !got) break;
        Arrow__Flight__Protocol__PutResult *pr = arrow__flight__protocol__put_result__unpack(
            NULL, GRPC_SLICE_LENGTH(msg), GRPC_SLICE_START_PTR(msg));
        grpc_slice_unref(msg);
        Arrow__Flight__Protocol__Sql__DoPutUpdateResult *ur =
            pr ? arrow__flight__protocol__sql__do_put_update_result__unpack(
                     NULL, pr->app_metadata.len, pr->app_metadata.data)
               : NULL;
        if (ur) {
            have = true;
            if (rows) *rows = ur->record_count;
            arrow__flight__protocol__sql__do_put_update_result__free_unpacked(ur, NULL);
        } else {
            rc = st_error_set(err, ST_ECORRUPT, "malformed DoPut reply from %s", c->target);
        }
        if (pr) arrow__flight__protocol__put_result__free_unpacked(pr, NULL);
    }
    if (rc == ST_OK) rc = strata__call_finish(&sc, err);
    if (rc == ST_OK && !have)
        rc = st_error_set(err, ST_ECORRUPT, "%s sent no update result", c->target);
    strata__call_release(&sc);
    return rc;
}
