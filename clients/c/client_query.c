/*
 * client_query.c: SQL queries through Arrow Flight DoGet, and the result
 * stream with its typed accessors.
 *
 * The request is what the InfluxDB 3 client libraries send: a Ticket whose
 * bytes are the JSON object {"database", "sql_query", "query_type": "sql",
 * "params": {...}}. Parameters keep their types in JSON (strings, numbers,
 * true/false, null; uint64 above 2^63 are written as exact integers too).
 * The reply is a stream of FlightData: the Schema message, then RecordBatch
 * messages, each decoded by the Arrow decoder (gateway/arrow) into a batch
 * owned by the result. A FlightData without a data_header (app_metadata
 * only) is skipped rather than taken as the end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "flight.pb-c.h"
#include "strata/arrow_ipc.h"
#include "strata/buf.h"

#define TICKET_MAX ((size_t)16 << 20)

struct strata_result {
    struct strata *c;
    struct scall sc;
    bool call_live; /* sc holds a call to release */
    struct arrow_decoder *dec;
    const struct st_batch *batch;
    struct st_schema no_schema;
    bool finished;
    struct strata_result_stats stats;
};

/* ---- ticket ------------------------------------------------------------------ */

static bool
valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) < len) return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

static enum st_code
json_string(struct st_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    ST_TRY(st_buf_append_byte(b, '"'));
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            ST_TRY(st_buf_append_byte(b, '\\'));
            ST_TRY(st_buf_append_byte(b, ch));
        } else if (ch < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            ST_TRY(st_buf_append(b, esc, 6));
        } else {
            ST_TRY(st_buf_append_byte(b, ch));
        }
    }
    return st_buf_append_byte(b, '"');
}

static enum st_code
param_value(struct st_buf *b, const struct strata_param *p, struct st_error *err)
{
    switch (p->type) {
    case ST_TYPE_NULL:
        return st_buf_append_str(b, "null");
    case ST_TYPE_BOOL:
        return st_buf_append_str(b, p->v.b ? "true" : "false");
    case ST_TYPE_INT:
        return st_buf_printf(b, "%lld", (long long)p->v.i);
    case ST_TYPE_UINT:
        return st_buf_printf(b, "%llu", (unsigned long long)p->v.u);
    case ST_TYPE_FLOAT: {
        if (!isfinite(p->v.f))
            return st_error_set(err, ST_EINVAL, "parameter \"%s\" is not a finite number", p->name);
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.17g", p->v.f);
        /* keep it a JSON float so the server types it as one */
        if (!strpbrk(tmp, ".eE")) strcat(tmp, ".0");
        return st_buf_append_str(b, tmp);
    }
    case ST_TYPE_STRING: {
        const char *s = p->v.s ? p->v.s : "";
        size_t n = strlen(s);
        if (!valid_utf8(s, n))
            return st_error_set(err, ST_EINVAL, "parameter \"%s\" is not valid UTF-8", p->name);
        return json_string(b, s, n);
    }
    default:
        return st_error_set(err, ST_EINVAL, "parameter \"%s\" has a type (%s) a query cannot bind",
                            p->name, st_type_name(p->type));
    }
}

enum st_code
strata__ticket_json(const char *database, const char *sql, const struct strata_param *params,
                    size_t n_params, char **out, size_t *out_len, struct st_error *err)
{
    struct st_buf b;
    enum st_code rc;
    size_t dl = strlen(database), sl = strlen(sql);
    *out = NULL;
    if (!valid_utf8(database, dl))
        return st_error_set(err, ST_EINVAL, "the database name is not valid UTF-8");
    if (!valid_utf8(sql, sl))
        return st_error_set(err, ST_EINVAL, "the query text is not valid UTF-8");
    st_buf_init(&b, TICKET_MAX);
    rc = st_buf_append_str(&b, "{\"database\":");
    if (rc == ST_OK) rc = json_string(&b, database, dl);
    if (rc == ST_OK) rc = st_buf_append_str(&b, ",\"sql_query\":");
    if (rc == ST_OK) rc = json_string(&b, sql, sl);
    if (rc == ST_OK) rc = st_buf_append_str(&b, ",\"query_type\":\"sql\",\"params\":{");
    for (size_t i = 0; rc == ST_OK && i < n_params; i++) {
        const char *name = params[i].name;
        if (!name || !*name || !valid_utf8(name, strlen(name))) {
            st_buf_cleanup(&b);
            return st_error_set(err, ST_EINVAL, "parameter %zu has no valid name", i + 1);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(params[j].name, name) == 0) {
                st_buf_cleanup(&b);
                return st_error_set(err, ST_EINVAL, "parameter \"%s\" is given twice", name);
            }
        if (i > 0) rc = st_buf_append_byte(&b, ',');
        if (rc == ST_OK) rc = json_string(&b, name, strlen(name));
        if (rc == ST_OK) rc = st_buf_append_byte(&b, ':');
        if (rc == ST_OK) {
            struct st_error perr;
            rc = param_value(&b, &params[i], &perr);
            if (rc != ST_OK && rc != ST_ELIMIT && rc != ST_ENOMEM) {
                st_buf_cleanup(&b);
                if (err) *err = perr;
                return rc;
            }
        }
    }
    if (rc == ST_OK) rc = st_buf_append_str(&b, "}}");
    if (rc != ST_OK) {
        st_buf_cleanup(&b);
        return st_error_set(err, rc,
                            rc == ST_ELIMIT ? "the query ticket exceeds 16 MiB"
                                            : "building the query ticket");
    }
    if (st_buf_append_byte(&b, '\0') != ST_OK) { /* a C string too */
        st_buf_cleanup(&b);
        return st_error_set(err, ST_ENOMEM, "building the query ticket");
    }
    *out = (char *)st_buf_take(&b, out_len);
    (*out_len)--;
    return ST_OK;
}

/* ---- stream ------------------------------------------------------------------ */

static void
end_call(struct strata_result *r)
{
    if (r->call_live) {
        strata__call_release(&r->sc);
        r->call_live = false;
    }
    r->finished = true;
    r->batch = NULL;
}

/* Receive and decode FlightData until one message decodes: *type says what.
 * ARROW_MSG_EOS when the stream ended cleanly. */
static enum st_code
pull(struct strata_result *r, enum arrow_msg_type *type, struct st_error *err)
{
    for (;;) {
        grpc_slice msg;
        bool got;
        enum st_code rc = strata__call_recv(&r->sc, &msg, &got, err);
        if (rc != ST_OK) return rc;
        if (!got) {
            *type = ARROW_MSG_EOS;
            return ST_OK;
        }
        r->stats.messages++;
        r->stats.bytes += GRPC_SLICE_LENGTH(msg);
        Arrow__Flight__Protocol__FlightData *fd = arrow__flight__protocol__flight_data__unpack(
            NULL, GRPC_SLICE_LENGTH(msg), GRPC_SLICE_START_PTR(msg));
        grpc_slice_unref(msg);
        if (!fd)
            return st_error_set(err, ST_ECORRUPT, "malformed FlightData from %s", r->c->target);
        if (fd->data_header.len == 0) { /* app_metadata only: nothing to decode */
            arrow__flight__protocol__flight_data__free_unpacked(fd, NULL);
            continue;
        }
        rc = arrow_decode(r->dec, fd->data_header.data, fd->data_header.len, fd->data_body.data,
                          fd->data_body.len, type, err);
        arrow__flight__protocol__flight_data__free_unpacked(fd, NULL);
        if (rc != ST_OK) st_error_prefix(err, "decoding the result from %s: ", r->c->target);
        return rc;
    }
}

enum st_code
strata_query(struct strata *c, const char *database, const char *sql,
             const struct strata_param *params, size_t n_params, struct strata_result **out,
             struct st_error *err)
{
    char *ticket;
    size_t ticket_len;
    enum arrow_msg_type type;
    *out = NULL;
    if (!database || !sql)
        return st_error_set(err, ST_EINVAL, "a query needs a database and a query text");
    ST_TRY(strata__ticket_json(database, sql, params, n_params, &ticket, &ticket_len, err));

    Arrow__Flight__Protocol__Ticket t = ARROW__FLIGHT__PROTOCOL__TICKET__INIT;
    t.ticket.data = (uint8_t *)ticket;
    t.ticket.len = ticket_len;
    size_t len = arrow__flight__protocol__ticket__get_packed_size(&t);
    uint8_t *req = malloc(len ? len : 1);
    struct strata_result *r = calloc(1, sizeof *r);
    if (!req || !r) {
        free(ticket);
        free(req);
        free(r);
        return st_error_set(err, ST_ENOMEM, "starting a query");
    }
    arrow__flight__protocol__ticket__pack(&t, req);
    free(ticket);
    r->c = c;
    r->dec = arrow_decoder_new(NULL, err);
    enum st_code rc = r->dec ? ST_OK : ST_ENOMEM;
    if (rc == ST_OK) {
        rc = strata__call_start(c, "/arrow.flight.protocol.FlightService/DoGet", req, len, &r->sc,
                                err);
        r->call_live = true;
    }
    free(req);
    if (rc == ST_OK) rc = pull(r, &type, err);
    if (rc == ST_OK && type == ARROW_MSG_EOS)
        end_call(r); /* no schema at all: an empty result */
    else if (rc == ST_OK && type != ARROW_MSG_SCHEMA)
        rc = st_error_set(err, ST_ECORRUPT, "%s sent a result without a schema", c->target);
    if (rc != ST_OK) {
        strata_result_free(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

enum st_code
strata_result_next(struct strata_result *r, bool *more, struct st_error *err)
{
    enum arrow_msg_type type;
    *more = false;
    r->batch = NULL;
    if (r->finished) return ST_OK;
    enum st_code rc = pull(r, &type, err);
    if (rc != ST_OK) {
        end_call(r);
        return rc;
    }
    if (type == ARROW_MSG_EOS) {
        end_call(r);
        return ST_OK;
    }
    if (type != ARROW_MSG_RECORD_BATCH) {
        end_call(r);
        return st_error_set(err, ST_ECORRUPT, "%s sent a second schema", r->c->target);
    }
    r->batch = arrow_decoder_batch(r->dec);
    r->stats.batches++;
    r->stats.rows += r->batch->n_rows;
    *more = true;
    return ST_OK;
}

void
strata_result_free(struct strata_result *r)
{
    if (!r) return;
    end_call(r);
    arrow_decoder_free(r->dec);
    free(r);
}

void
strata_result_stats(const struct strata_result *r, struct strata_result_stats *out)
{
    *out = r->stats;
}

/* ---- accessors --------------------------------------------------------------- */

const struct st_schema *
strata_result_schema(const struct strata_result *r)
{
    const struct st_schema *s = r->dec ? arrow_decoder_schema(r->dec) : NULL;
    return s ? s : &r->no_schema;
}

uint32_t
strata_result_n_columns(const struct strata_result *r)
{
    return strata_result_schema(r)->n_fields;
}

const char *
strata_result_column_name(const struct strata_result *r, uint32_t col)
{
    const struct st_schema *s = strata_result_schema(r);
    return col < s->n_fields ? s->fields[col].name : NULL;
}

enum st_type
strata_result_column_type(const struct strata_result *r, uint32_t col)
{
    const struct st_schema *s = strata_result_schema(r);
    return col < s->n_fields ? s->fields[col].type : ST_TYPE_NULL;
}

enum st_role
strata_result_column_role(const struct strata_result *r, uint32_t col)
{
    const struct st_schema *s = strata_result_schema(r);
    return col < s->n_fields ? s->fields[col].role : ST_ROLE_NONE;
}

const struct st_batch *
strata_result_batch(const struct strata_result *r)
{
    return r->batch;
}

uint32_t
strata_result_n_rows(const struct strata_result *r)
{
    return r->batch ? r->batch->n_rows : 0;
}

static const struct st_column *
cell(const struct strata_result *r, uint32_t col, uint32_t row)
{
    if (!r->batch || col >= r->batch->n_cols || row >= r->batch->n_rows) return NULL;
    return &r->batch->cols[col];
}

bool
strata_result_is_null(const struct strata_result *r, uint32_t col, uint32_t row)
{
    const struct st_column *c = cell(r, col, row);
    return !c || !st_column_is_valid(c, row);
}

static enum st_code
typed(const struct strata_result *r, uint32_t col, uint32_t row, enum st_type want,
      const struct st_column **out)
{
    const struct st_column *c = cell(r, col, row);
    *out = c;
    if (!c) return ST_EINVAL;
    if (c->type != want) return ST_ETYPE;
    return ST_OK;
}

enum st_code
strata_result_get_int(const struct strata_result *r, uint32_t col, uint32_t row, int64_t *out)
{
    const struct st_column *c;
    *out = 0;
    ST_TRY(typed(r, col, row, ST_TYPE_INT, &c));
    if (st_column_is_valid(c, row)) *out = c->v.i64[row];
    return ST_OK;
}

enum st_code
strata_result_get_uint(const struct strata_result *r, uint32_t col, uint32_t row, uint64_t *out)
{
    const struct st_column *c;
    *out = 0;
    ST_TRY(typed(r, col, row, ST_TYPE_UINT, &c));
    if (st_column_is_valid(c, row)) *out = c->v.u64[row];
    return ST_OK;
}

enum st_code
strata_result_get_float(const struct strata_result *r, uint32_t col, uint32_t row, double *out)
{
    const struct st_column *c;
    *out = 0;
    ST_TRY(typed(r, col, row, ST_TYPE_FLOAT, &c));
    if (st_column_is_valid(c, row)) *out = c->v.f64[row];
    return ST_OK;
}

enum st_code
strata_result_get_bool(const struct strata_result *r, uint32_t col, uint32_t row, bool *out)
{
    const struct st_column *c;
    *out = false;
    ST_TRY(typed(r, col, row, ST_TYPE_BOOL, &c));
    if (st_column_is_valid(c, row)) *out = c->v.b[row] != 0;
    return ST_OK;
}

enum st_code
strata_result_get_string(const struct strata_result *r, uint32_t col, uint32_t row, const char **s,
                         size_t *len)
{
    const struct st_column *c;
    *s = "";
    *len = 0;
    ST_TRY(typed(r, col, row, ST_TYPE_STRING, &c));
    if (st_column_is_valid(c, row)) {
        *s = c->str_data + c->v.offsets[row];
        *len = (size_t)(c->v.offsets[row + 1] - c->v.offsets[row]);
    }
    return ST_OK;
}

enum st_code
strata_result_get_time(const struct strata_result *r, uint32_t col, uint32_t row, int64_t *out_ns)
{
    const struct st_column *c;
    *out_ns = 0;
    ST_TRY(typed(r, col, row, ST_TYPE_TIME, &c));
    if (st_column_is_valid(c, row)) *out_ns = c->v.i64[row];
    return ST_OK;
}
