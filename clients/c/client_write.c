/*
 * client_write.c: line-protocol writes through strata.v1.WriteService/Write
 * (proto/strata/v1/write.proto).
 *
 * A request that reached the engine comes back with gRPC status OK and the
 * outcome in WriteResponse.code (0, ST_EPARTIAL, or the first bad line's
 * code) plus per-line errors; anything that stopped the request earlier is
 * a gRPC status mapped by client_conn.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "strata/v1/write.pb-c.h"

static Strata__V1__Precision
precision_of(enum strata_precision p)
{
    switch (p) {
    case STRATA_PRECISION_US:
        return STRATA__V1__PRECISION__PRECISION_MICROSECOND;
    case STRATA_PRECISION_MS:
        return STRATA__V1__PRECISION__PRECISION_MILLISECOND;
    case STRATA_PRECISION_S:
        return STRATA__V1__PRECISION__PRECISION_SECOND;
    case STRATA_PRECISION_AUTO:
        return STRATA__V1__PRECISION__PRECISION_AUTO;
    case STRATA_PRECISION_NS:
    default:
        return STRATA__V1__PRECISION__PRECISION_NANOSECOND;
    }
}

static void
copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

enum st_code
strata_write(struct strata *c, const char *database, const char *lp, size_t len,
             const struct strata_write_opts *opts, struct strata_write_result *res,
             struct st_error *err)
{
    struct strata_write_opts o = {0};
    if (opts) o = *opts;
    memset(res, 0, sizeof *res);
    if (!database || !*database) return st_error_set(err, ST_EINVAL, "a write needs a database");
    if (len > 0 && !lp) return st_error_set(err, ST_EINVAL, "no line protocol to write");

    Strata__V1__WriteRequest req = STRATA__V1__WRITE_REQUEST__INIT;
    req.database = (char *)database;
    req.line_protocol.data = (uint8_t *)lp;
    req.line_protocol.len = len;
    req.precision = precision_of(o.precision);
    req.partial = o.partial;
    req.no_sync = o.no_sync;
    ProtobufCMessage *resp;
    ST_TRY(strata__unary(c, "/strata.v1.WriteService/Write", &req.base,
                         &strata__v1__write_response__descriptor, &resp, err));
    Strata__V1__WriteResponse *w = (Strata__V1__WriteResponse *)resp;
    res->lines_accepted = w->lines_accepted;
    res->lines_rejected = w->lines_rejected;
    res->fields_written = w->fields_written;
    if (w->n_errors) {
        res->errors = calloc(w->n_errors, sizeof *res->errors);
        if (!res->errors) {
            protobuf_c_message_free_unpacked(resp, NULL);
            return st_error_set(err, ST_ENOMEM, "allocating write errors");
        }
        for (size_t i = 0; i < w->n_errors; i++) {
            const Strata__V1__LineError *le = w->errors[i];
            struct strata_line_error *e = &res->errors[i];
            e->line = le->line;
            e->column = le->column;
            e->code = le->code > 0 && le->code < 126 ? (enum st_code)le->code : ST_EINTERNAL;
            copy_text(e->message, sizeof e->message, le->message);
            copy_text(e->excerpt, sizeof e->excerpt, le->excerpt);
        }
        res->n_errors = (uint32_t)w->n_errors;
    }
    enum st_code rc = ST_OK;
    if (w->code != 0) {
        rc = w->code < 126 ? (enum st_code)w->code : ST_EINTERNAL;
        if (w->message && *w->message)
            st_error_set(err, rc, "%s", w->message);
        else if (res->n_errors)
            st_error_set(err, rc, "line %u: %s", res->errors[0].line, res->errors[0].message);
        else
            st_error_set(err, rc, "%s", st_strerror(rc));
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

void
strata_write_result_cleanup(struct strata_write_result *res)
{
    if (!res) return;
    free(res->errors);
    memset(res, 0, sizeof *res);
}
