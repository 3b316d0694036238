/*
 * h_update.c: Flight SQL updates (ExecuteUpdate): DoPut whose first FlightData carries
 * the descriptor Any(CommandStatementUpdate{query}). Strata's only statement that changes
 * data is DELETE (docs/sql.md), so that is what runs here: with the write privilege on the
 * `database` header's database (a write-only token may delete; the method table's
 * CommandStatementUpdate row), through eng_query with read_only off. The reply is one
 * PutResult whose app_metadata is DoPutUpdateResult{record_count = rows deleted}.
 *
 * DoPut's other use (parameters for prepared statements) stays in h_flight.c: its
 * on_recv hands every message here first (gw_update_recv, a one-line hook); the first
 * message decides, and an update call keeps its state in c->ext, freed by
 * gw_h_do_put_free (the DoPut row's free_state). Later messages of an update call may
 * carry no data (an empty schema is tolerated; 1 MiB at most). The statement runs on the
 * pool once the client half-closes; the result goes out through the call's stream queue.
 * Every update that passed the checks is audited (category "write", normalised SQL, rows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight.pb-c.h"
#include "flight_sql.pb-c.h"
#include "gw_call.h"
#include "gw_flight.h"
#include "strata/clock.h"

#define UPDATE_EXTRA_MAX (1u << 20) /* bytes of further FlightData an update may carry */

struct upd {
    char *sql;
    size_t sql_len;
    char db[512];
    uint64_t extra_bytes;
};

static void
upd_free(struct upd *u)
{
    if (!u)
        return;
    free(u->sql);
    free(u);
}

void
gw_h_do_put_free(struct gw_call *c)
{
    upd_free(c->ext);
    c->ext = NULL;
    gw_h_flight_free(c);
}

static void
audit_update(struct gw_call *c, const struct upd *u, enum st_code rc, const struct st_error *err,
             int64_t rows, int64_t t0)
{
    char norm[1024];
    eng_sql_normalize(u->sql, u->sql_len, norm, sizeof norm);
    struct rbac_audit_event ev = {.category = "write", .method = gw_call_method(c),
                                  .database = u->db, .sql = norm,
                                  .outcome = rc == ST_OK ? RBAC_AUDIT_ALLOW : RBAC_AUDIT_ERROR,
                                  .reason = rc == ST_OK ? "ok" : st_code_name(rc),
                                  .detail = rc == ST_OK ? NULL : err->msg, .rows = rows,
                                  .bytes = -1, .lines = -1, .rejected = -1,
                                  .duration_ns = st_mono_ns() - t0};
    gw_audit_from(&c->who, &ev);
    gw_audit(&ev);
}

/* The rows_deleted count of a DELETE's one-row result. */
static enum st_code
read_count(struct eng_cursor *cur, int64_t *rows, struct st_error *err)
{
    const struct st_schema *s = eng_cursor_schema(cur);
    if (s->n_fields != 1 || s->fields[0].type != ST_TYPE_INT ||
        strcmp(s->fields[0].name, "rows_deleted") != 0)
        return st_error_set(err, ST_EINVAL, "the statement did not run as an update");
    const struct st_batch *b = NULL;
    *rows = -1;
    while (*rows < 0) {
        ST_TRY(eng_cursor_next(cur, &b, err));
        if (!b)
            break;
        if (b->n_rows && st_column_is_valid(&b->cols[0], 0))
            *rows = b->cols[0].v.i64[0];
    }
    return ST_OK;
}

/* On the pool: run the statement, queue the PutResult (or the error). */
static void
work(struct gw_call *c)
{
    struct upd *u = c->ext;
    struct st_error err;
    st_error_clear(&err);
    int64_t t0 = st_mono_ns(), rows = -1;
    char en[GW_ENGINE_NAME_MAX + 1];
    enum st_code rc = gw_db_engine_name(&c->who, u->db, en, &err);
    struct eng_cursor *cur = NULL;
    if (rc == ST_OK) {
        struct eng_query_opts o = {.deadline_mono_ns = c->deadline_mono_ns, .cancel = &c->cancel,
                                   .read_only = false};
        rc = eng_query(gw_srv->eng, en, u->sql, u->sql_len, &o, &cur, &err);
    }
    if (rc == ST_OK)
        rc = read_count(cur, &rows, &err);
    eng_cursor_free(cur);
    audit_update(c, u, rc, &err, rows, t0);
    if (rc == ST_OK) {
        Arrow__Flight__Protocol__Sql__DoPutUpdateResult ur =
            ARROW__FLIGHT__PROTOCOL__SQL__DO_PUT_UPDATE_RESULT__INIT;
        ur.record_count = rows;
        uint8_t meta[16];
        Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
        pr.app_metadata.data = meta;
        pr.app_metadata.len = protobuf_c_message_pack(&ur.base, meta);
        gw_call_queue(c, gw_pack(&pr.base));
    } else {
        c->out_err = err;
    }
    c->out_code = rc;
    c->out_eof = true;
}

/* The first message: an update or not. */
static bool
first(struct gw_call *c, grpc_byte_buffer *bb)
{
    grpc_slice s = gw_bb_slice(bb);
    Arrow__Flight__Protocol__FlightData *d = arrow__flight__protocol__flight_data__unpack(
        NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    const Arrow__Flight__Protocol__FlightDescriptor *fd = d ? d->flight_descriptor : NULL;
    if (!fd || fd->type != ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD ||
        !gw_flightsql_is_update(fd->cmd.data, fd->cmd.len)) {
        if (d)
            arrow__flight__protocol__flight_data__free_unpacked(d, NULL);
        return false; /* h_flight.c's DoPut */
    }
    grpc_byte_buffer_destroy(bb);
    struct st_error err;
    st_error_clear(&err);
    struct upd *u = calloc(1, sizeof *u);
    enum st_code rc = u ? ST_OK : st_error_set(&err, ST_ENOMEM, "out of memory");
    c->ext = u;
    if (rc == ST_OK)
        rc = gw_flightsql_decode_update(fd->cmd.data, fd->cmd.len, &u->sql, &u->sql_len, &err);
    if (rc == ST_OK && !c->db[0])
        rc = st_error_set(&err, ST_EINVAL, "no 'database' header in request");
    if (rc == ST_OK) {
        snprintf(u->db, sizeof u->db, "%s", c->db);
        u->extra_bytes = d->data_header.len + d->data_body.len;
        rc = gw_call_authorize(c, RBAC_PRIV_WRITE, u->db, &err);
    }
    arrow__flight__protocol__flight_data__free_unpacked(d, NULL);
    if (rc != ST_OK) {
        gw_call_fail(c, rc, &err);
        return true;
    }
    gw_call_recv(c);
    return true;
}

bool
gw_update_recv(struct gw_call *c, grpc_byte_buffer *bb)
{
    struct upd *u = c->ext;
    if (!u)
        return bb ? first(c, bb) : false;
    if (bb) {
        /* later messages: tolerated, never used */
        u->extra_bytes += grpc_byte_buffer_length(bb);
        grpc_byte_buffer_destroy(bb);
        if (u->extra_bytes > UPDATE_EXTRA_MAX) {
            gw_call_finish(c, ST_EINVAL, "CommandStatementUpdate takes no data");
            return true;
        }
        gw_call_recv(c);
        return true;
    }
    if (gw_call_offload(c, work, NULL) != ST_OK)
        gw_call_finish(c, ST_EAGAIN, "the server is overloaded, try again later");
    return true;
}
