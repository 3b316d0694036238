/*
 * h_write_grpc.c: strata.v1.WriteService/Write, line protocol over gRPC for the C
 * client (proto/strata/v1/write.proto). The request is authorized for write on its
 * database (auth.c: a principal that may create databases and write to what it creates
 * creates a missing one first), then eng_write runs on the pool on the database's
 * storage name, and the outcome is audited. Errors that stop the request
 * (unknown database, I/O, shutdown) are gRPC statuses with `strata-code`; once the
 * body was parsed the RPC returns OK and WriteResponse.code carries the outcome
 * (0, ST_EPARTIAL, or the first rejected line's code) with the per-line errors.
 */
#include <stdlib.h>
#include <string.h>

#include "gw_call.h"
#include "strata/clock.h"
#include "strata/v1/write.pb-c.h"

struct wstate {
    Strata__V1__WriteRequest *req;
    struct eng_write_result res;
    enum st_code rc;
    struct st_error err;
    bool create_db;
    int64_t start_ns;
};

void
gw_h_write_free(struct gw_call *c)
{
    struct wstate *w = c->hs;
    if (w->req)
        strata__v1__write_request__free_unpacked(w->req, NULL);
    eng_write_result_cleanup(&w->res);
    free(w);
    c->hs = NULL;
}

static void
work(struct gw_call *c)
{
    struct wstate *w = c->hs;
    static const enum eng_precision prec[] = {
        [STRATA__V1__PRECISION__PRECISION_UNSPECIFIED] = ENG_PREC_NS,
        [STRATA__V1__PRECISION__PRECISION_NANOSECOND] = ENG_PREC_NS,
        [STRATA__V1__PRECISION__PRECISION_MICROSECOND] = ENG_PREC_US,
        [STRATA__V1__PRECISION__PRECISION_MILLISECOND] = ENG_PREC_MS,
        [STRATA__V1__PRECISION__PRECISION_SECOND] = ENG_PREC_S,
        [STRATA__V1__PRECISION__PRECISION_AUTO] = ENG_PREC_AUTO,
    };
    struct eng_write_opts o = {
        .precision = prec[w->req->precision],
        .partial = w->req->partial,
        .no_sync = w->req->no_sync,
    };
    char en[GW_ENGINE_NAME_MAX + 1];
    w->rc = w->create_db ? gw_db_create_for_write(&c->who, w->req->database, gw_call_method(c),
                                                  &w->err)
                         : ST_OK;
    if (w->rc == ST_OK)
        w->rc = gw_db_engine_name(&c->who, w->req->database, en, &w->err);
    if (w->rc != ST_OK)
        return;
    atomic_fetch_add(&gw_active_writes, 1);
    const char *lp = w->req->line_protocol.len ? (const char *)w->req->line_protocol.data : "";
    w->rc = eng_write(gw_srv->eng, en, lp, w->req->line_protocol.len, &o, &w->res, &w->err);
    atomic_fetch_sub(&gw_active_writes, 1);
    if (w->rc == ST_OK || w->rc == ST_EPARTIAL)
        gw_metrics_add_rows_written(w->res.lines_ok, w->req->line_protocol.len);
    struct rbac_audit_event ev = {
        .category = "write", .method = gw_call_method(c),
        .outcome = w->rc == ST_OK || w->rc == ST_EPARTIAL ? RBAC_AUDIT_ALLOW : RBAC_AUDIT_ERROR,
        .reason = w->rc == ST_OK ? "ok" : st_code_name(w->rc), .database = w->req->database,
        .rows = -1, .bytes = (int64_t)w->req->line_protocol.len, .lines = (int64_t)w->res.lines_ok,
        .rejected = (int64_t)w->res.lines_rejected, .duration_ns = st_mono_ns() - w->start_ns};
    gw_audit_from(&c->who, &ev);
    gw_audit(&ev);
}

static void
done(struct gw_call *c)
{
    struct wstate *w = c->hs;
    bool line_outcome = w->rc == ST_OK || w->rc == ST_EPARTIAL ||
                        ((w->rc == ST_EPARSE || w->rc == ST_ETYPE || w->rc == ST_ELIMIT ||
                          w->rc == ST_EINVAL) &&
                         w->res.n_errors > 0);
    if (!line_outcome) {
        gw_call_finish(c, w->rc, w->err.msg);
        return;
    }
    Strata__V1__WriteResponse r = STRATA__V1__WRITE_RESPONSE__INIT;
    r.code = (uint32_t)w->rc;
    r.message = w->rc == ST_OK ? "" : w->err.msg;
    /* Without partial writes a rejected line means nothing was written. */
    r.lines_accepted = (w->rc == ST_OK || w->rc == ST_EPARTIAL) ? w->res.lines_ok : 0;
    r.lines_rejected = w->res.lines_rejected;
    r.fields_written = w->res.fields_written;
    Strata__V1__LineError *les = calloc(w->res.n_errors ? w->res.n_errors : 1, sizeof *les);
    Strata__V1__LineError **lp = calloc(w->res.n_errors ? w->res.n_errors : 1, sizeof *lp);
    if (!les || !lp) {
        free(les);
        free(lp);
        gw_call_finish(c, ST_ENOMEM, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < w->res.n_errors; i++) {
        const struct eng_line_error *e = &w->res.errors[i];
        strata__v1__line_error__init(&les[i]);
        les[i].line = e->line;
        les[i].column = e->column;
        les[i].code = (uint32_t)e->code;
        les[i].message = (char *)e->msg;
        les[i].excerpt = (char *)e->excerpt;
        lp[i] = &les[i];
    }
    r.n_errors = w->res.n_errors;
    r.errors = lp;
    gw_call_reply(c, gw_pack(&r.base));
    free(les);
    free(lp);
}

void
gw_h_write(struct gw_call *c)
{
    struct wstate *w = calloc(1, sizeof *w);
    if (!w) {
        gw_call_finish(c, ST_ENOMEM, "out of memory");
        return;
    }
    c->hs = w;
    w->start_ns = st_mono_ns();
    w->req = strata__v1__write_request__unpack(NULL, c->req_len, c->req);
    if (!w->req) {
        gw_call_finish(c, ST_EPARSE, "malformed WriteRequest");
        return;
    }
    if (!gw_pb_strings_ok(&strata__v1__write_request__descriptor, c->req, c->req_len)) {
        gw_call_finish(c, ST_EINVAL, "the database name holds a NUL byte");
        return;
    }
    if ((unsigned)w->req->precision > STRATA__V1__PRECISION__PRECISION_AUTO) {
        gw_call_finish(c, ST_EINVAL, "unknown precision");
        return;
    }
    const char *db = w->req->database;
    struct st_error err;
    st_error_clear(&err);
    if (!db || !*db) {
        gw_call_finish(c, ST_EINVAL, "the database name is missing");
        return;
    }
    if (eng_name_check("database", db, strlen(db), &err) != ST_OK) {
        gw_call_finish(c, ST_EINVAL, err.msg);
        return;
    }
    /* The privilege on this database: the same single check, now with its name. */
    enum st_code rc = gw_check_write(&c->who, db, gw_call_method(c), &w->create_db, &err);
    if (rc != ST_OK) {
        gw_call_finish(c, rc, err.msg);
        return;
    }
    if (gw_call_offload(c, work, done) != ST_OK)
        gw_call_finish(c, ST_EAGAIN, "the server is overloaded, try again later");
}
