/*
 * ticket.c: Flight tickets and prepared-statement handles, all untrusted bytes
 * (fuzz target tests/fuzz/gw_ticket).
 *
 * JSON ticket (what the official InfluxDB 3 clients send to DoGet):
 *   {"database": "db", "sql_query": "SELECT ...", "query_type": "sql", "params": {...}}
 *   database aliases: namespace_name, bucket, bucket-name (if several, they must agree);
 *   query_type "sql" (default) or "influxql" (refused: not supported); any other value
 *   is an invalid ticket; unknown keys are ignored; duplicate keys are refused.
 *   params: name -> null | true/false | integer | float | string (arrays and objects
 *   refused). Integers that fit int64 bind as INT, larger ones as UINT (InfluxDB binds
 *   every non-negative integer as UInt64; INT compares with integer and float columns
 *   without surprises, and is what the same literal in SQL would be).
 *
 * Protobuf tickets: Any{type_url, value}. ReadInfo (influxdata.iox.querier.v1) is
 *   {1: database, 2: sql_query, 3: query_type enum, 4: flightsql_command (Any bytes)}; it
 *   is what our GetFlightInfo hands out, so DoGet needs no server state. The few fields
 *   are read and written by hand here (no generated code exists for ReadInfo).
 *
 * Prepared-statement handle: {1: query string, 2: parameters (Arrow IPC stream)}; a
 *   handle that does not parse as that is taken as the raw UTF-8 query (legacy form).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "gw_flight.h"
#include "strata/arrow_ipc.h"
#include "strata/buf.h"

#define READINFO_URL "type.googleapis.com/influxdata.iox.querier.v1.ReadInfo"
#define FSQL_URL_PREFIX "type.googleapis.com/arrow.flight.protocol.sql."
#define QT_SQL 1
#define QT_INFLUXQL 2
#define QT_FLIGHT_SQL 3

void
gw_query_init(struct gw_query *q)
{
    memset(q, 0, sizeof *q);
}

void
gw_query_cleanup(struct gw_query *q)
{
    free(q->sql);
    free(q->params);
    free(q->strs);
    free(q->info);
    for (size_t i = 0; i < q->n_table_types; i++)
        free(q->table_types[i]);
    free(q->table_types);
    free(q->cmd);
    gw_query_init(q);
}

/* Copy bytes into the query's string store; returns the offset (pointers are fixed up
 * after all parameters are in, because the store may move). */
static enum st_code
store(struct gw_query *q, const char *s, size_t n, size_t *off)
{
    if (q->strs_len + n + 1 > q->strs_cap) {
        size_t cap = q->strs_cap ? q->strs_cap * 2 : 256;
        while (cap < q->strs_len + n + 1)
            cap *= 2;
        char *p = realloc(q->strs, cap);
        if (!p)
            return ST_ENOMEM;
        /* re-point existing parameters */
        for (uint32_t i = 0; i < q->n_params; i++) {
            q->params[i].name = p + (q->params[i].name - q->strs);
            if (q->params[i].type == ST_TYPE_STRING)
                q->params[i].v.s.ptr = p + (q->params[i].v.s.ptr - q->strs);
        }
        q->strs = p;
        q->strs_cap = cap;
    }
    memcpy(q->strs + q->strs_len, s, n);
    q->strs[q->strs_len + n] = 0;
    *off = q->strs_len;
    q->strs_len += n + 1;
    return ST_OK;
}

enum st_code
gw_query_add_param(struct gw_query *q, const char *name, size_t name_len, const struct eng_param *v,
                   struct st_error *err)
{
    if (q->n_params >= GW_MAX_PARAMS)
        return st_error_set(err, ST_ELIMIT, "more than %d query parameters", GW_MAX_PARAMS);
    if (name_len == 0 || name_len > 128)
        return st_error_set(err, ST_EINVAL, "a query parameter name must be 1..128 bytes");
    for (uint32_t i = 0; i < q->n_params; i++)
        if (strlen(q->params[i].name) == name_len && !memcmp(q->params[i].name, name, name_len))
            return st_error_set(err, ST_EINVAL, "query parameter '%.*s' given twice",
                                (int)name_len, name);
    if (q->n_params == q->params_cap) {
        uint32_t cap = q->params_cap ? q->params_cap * 2 : 8;
        if (cap > GW_MAX_PARAMS)
            cap = GW_MAX_PARAMS;
        struct eng_param *np = realloc(q->params, cap * sizeof *np);
        if (!np)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        q->params = np;
        q->params_cap = cap;
    }
    size_t noff, soff = 0;
    if (store(q, name, name_len, &noff) != ST_OK ||
        (v->type == ST_TYPE_STRING && store(q, v->v.s.ptr, v->v.s.len, &soff) != ST_OK))
        return st_error_set(err, ST_ENOMEM, "out of memory");
    struct eng_param *p = &q->params[q->n_params++];
    *p = *v;
    p->name = q->strs + noff;
    if (v->type == ST_TYPE_STRING)
        p->v.s.ptr = q->strs + soff;
    return ST_OK;
}

static enum st_code
set_sql(struct gw_query *q, const char *s, size_t n, struct st_error *err)
{
    if (n > GW_MAX_SQL_BYTES)
        return st_error_set(err, ST_ELIMIT, "the query text is longer than %u bytes",
                            GW_MAX_SQL_BYTES);
    if (memchr(s, 0, n))
        return st_error_set(err, ST_EINVAL, "the query text contains a NUL byte");
    free(q->sql);
    q->sql = malloc(n + 1);
    if (!q->sql)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    memcpy(q->sql, s, n);
    q->sql[n] = 0;
    q->sql_len = n;
    return ST_OK;
}

static enum st_code
set_db(struct gw_query *q, const char *s, size_t n, struct st_error *err)
{
    if (n >= sizeof q->db || memchr(s, 0, n))
        return st_error_set(err, ST_EINVAL, "Invalid ticket. Error: invalid database name");
    memcpy(q->db, s, n);
    q->db[n] = 0;
    return ST_OK;
}

static enum st_code
invalid(struct st_error *err)
{
    return st_error_set(err, ST_EINVAL, "Invalid ticket. Error: Invalid ticket");
}

/* ---- JSON --------------------------------------------------------------------------------- */

static enum st_code
json_param(struct gw_query *q, const char *name, json_t *v, struct st_error *err)
{
    struct eng_param p;
    memset(&p, 0, sizeof p);
    if (json_is_null(v))
        p.type = ST_TYPE_NULL;
    else if (json_is_boolean(v)) {
        p.type = ST_TYPE_BOOL;
        p.v.b = json_is_true(v);
    } else if (json_is_integer(v)) {
        p.type = ST_TYPE_INT;
        p.v.i = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        p.type = ST_TYPE_FLOAT;
        p.v.f = json_real_value(v);
    } else if (json_is_string(v)) {
        p.type = ST_TYPE_STRING;
        p.v.s.ptr = json_string_value(v);
        p.v.s.len = json_string_length(v);
    } else
        return st_error_set(err, ST_EINVAL,
                            "Invalid ticket. Error: query parameter '%.64s' must be null, a "
                            "boolean, a number or a string (arrays and objects are not supported)",
                            name);
    return gw_query_add_param(q, name, strlen(name), &p, err);
}

enum st_code
gw_ticket_json(const uint8_t *p, size_t n, struct gw_query *q, struct st_error *err)
{
    json_error_t je;
    /* Large integers: jansson refuses numbers beyond int64 as integers; decode them as
     * reals (JSON_DECODE_INT_AS_REAL is not used so ordinary integers stay exact). */
    json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return invalid(err);
    }
    enum st_code rc = ST_OK;
    const char *db = NULL;
    size_t dblen = 0;
    static const char *const db_keys[] = {"database", "namespace_name", "bucket", "bucket-name"};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(root, db_keys[i]);
        if (!v)
            continue;
        if (!json_is_string(v)) {
            rc = invalid(err);
            goto out;
        }
        if (db && (json_string_length(v) != dblen || memcmp(db, json_string_value(v), dblen))) {
            rc = st_error_set(err, ST_EINVAL,
                              "Invalid ticket. Error: conflicting database names in the ticket");
            goto out;
        }
        db = json_string_value(v);
        dblen = json_string_length(v);
    }
    json_t *sql = json_object_get(root, "sql_query");
    json_t *qt = json_object_get(root, "query_type");
    json_t *params = json_object_get(root, "params");
    if (!db || !json_is_string(sql)) {
        rc = invalid(err);
        goto out;
    }
    if (qt && !json_is_null(qt)) {
        if (!json_is_string(qt)) {
            rc = invalid(err);
            goto out;
        }
        const char *t = json_string_value(qt);
        if (!strcmp(t, "influxql"))
            q->influxql = true;
        else if (strcmp(t, "sql") != 0) {
            rc = invalid(err);
            goto out;
        }
    }
    if ((rc = set_db(q, db, dblen, err)) != ST_OK ||
        (rc = set_sql(q, json_string_value(sql), json_string_length(sql), err)) != ST_OK)
        goto out;
    if (params && !json_is_null(params)) {
        if (!json_is_object(params)) {
            rc = invalid(err);
            goto out;
        }
        const char *k;
        json_t *v;
        json_object_foreach(params, k, v)
        {
            if ((rc = json_param(q, k, v, err)) != ST_OK)
                goto out;
        }
    }
    q->kind = GW_Q_SQL;
    if (q->influxql)
        rc = st_error_set(err, ST_EUNSUPPORTED,
                          "InfluxQL queries are not supported; use query_type \"sql\"");
out:
    json_decref(root);
    return rc;
}

/* ---- tiny protobuf reader/writer ---------------------------------------------------------- */

struct pb_field {
    uint32_t num;
    int wt;
    uint64_t v;            /* varint */
    const uint8_t *p;      /* length-delimited */
    size_t n;
};

/* Read the next field of [*pp, end); 1 = got one, 0 = end, -1 = malformed. */
static int
pb_next(const uint8_t **pp, const uint8_t *end, struct pb_field *f)
{
    if (*pp >= end)
        return 0;
    uint64_t key;
    if (st_get_uvarint(pp, end, &key) != 0 || key >> 32)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if (f->num == 0)
        return -1;
    switch (f->wt) {
    case 0:
        return st_get_uvarint(pp, end, &f->v) == 0 ? 1 : -1;
    case 2: {
        uint64_t len;
        if (st_get_uvarint(pp, end, &len) != 0 || len > (uint64_t)(end - *pp))
            return -1;
        f->p = *pp;
        f->n = (size_t)len;
        *pp += len;
        return 1;
    }
    case 1:
        if (end - *pp < 8)
            return -1;
        *pp += 8;
        return 1;
    case 5:
        if (end - *pp < 4)
            return -1;
        *pp += 4;
        return 1;
    default:
        return -1;
    }
}

static void
pb_bytes(struct st_buf *b, uint32_t num, const void *p, size_t n)
{
    st_buf_put_uvarint(b, (uint64_t)num << 3 | 2);
    st_buf_put_uvarint(b, n);
    st_buf_append(b, p, n);
}

static enum st_code
readinfo(const uint8_t *p, size_t n, const char *hdr_db, struct gw_query *q, struct st_error *err)
{
    if (!p) /* an empty ReadInfo: protobuf-c hands over no pointer (found by fuzz_gw_ticket) */
        p = (const uint8_t *)"";
    const uint8_t *end = p + n;
    struct pb_field f;
    const uint8_t *db = NULL, *sql = NULL, *cmd = NULL;
    size_t dbn = 0, sqln = 0, cmdn = 0;
    uint64_t qt = 0;
    int r;
    while ((r = pb_next(&p, end, &f)) == 1) {
        if (f.num == 1 && f.wt == 2)
            db = f.p, dbn = f.n;
        else if (f.num == 2 && f.wt == 2)
            sql = f.p, sqln = f.n;
        else if (f.num == 3 && f.wt == 0)
            qt = f.v;
        else if (f.num == 4 && f.wt == 2)
            cmd = f.p, cmdn = f.n;
    }
    if (r < 0)
        return invalid(err);
    (void)hdr_db;
    char dbs[512];
    if (!db || dbn >= sizeof dbs)
        return invalid(err);
    memcpy(dbs, db, dbn);
    dbs[dbn] = 0;
    if (qt == QT_FLIGHT_SQL) {
        if (sqln || !cmd)
            return invalid(err);
        return gw_flightsql_decode(cmd, cmdn, dbs, q, err);
    }
    if (cmdn || !sql)
        return invalid(err);
    if (qt == QT_INFLUXQL)
        return st_error_set(err, ST_EUNSUPPORTED, "InfluxQL queries are not supported");
    if (qt != 0 && qt != QT_SQL)
        return invalid(err);
    ST_TRY(set_db(q, dbs, dbn, err));
    q->kind = GW_Q_SQL;
    return set_sql(q, (const char *)sql, sqln, err);
}

enum st_code
gw_ticket_decode(const uint8_t *p, size_t n, const char *hdr_db, struct gw_query *q,
                 struct st_error *err)
{
    if (n == 0)
        return invalid(err);
    if (p[0] != '{') { /* 0x0a (a protobuf field 1) is also '\n': do not skip on whitespace */
        Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, n, p);
        if (any) {
            enum st_code rc;
            if (any->type_url && !strcmp(any->type_url, READINFO_URL))
                rc = readinfo(any->value.data, any->value.len, hdr_db, q, err);
            else if (any->type_url && !strncmp(any->type_url, FSQL_URL_PREFIX,
                                               strlen(FSQL_URL_PREFIX))) {
                if (!hdr_db || !*hdr_db)
                    rc = st_error_set(err, ST_EINVAL, "no 'database' header in request");
                else
                    rc = gw_flightsql_decode(p, n, hdr_db, q, err);
            } else
                rc = invalid(err);
            google__protobuf__any__free_unpacked(any, NULL);
            return rc;
        }
        /* a bare ReadInfo */
        gw_query_cleanup(q);
        if (readinfo(p, n, hdr_db, q, err) == ST_OK)
            return ST_OK;
        gw_query_cleanup(q);
    }
    return gw_ticket_json(p, n, q, err);
}

uint8_t *
gw_ticket_encode(const char *db, const uint8_t *cmd, size_t cmd_len, size_t *out_len)
{
    struct st_buf ri, any;
    st_buf_init(&ri, SIZE_MAX);
    st_buf_init(&any, SIZE_MAX);
    pb_bytes(&ri, 1, db, strlen(db));
    st_buf_put_uvarint(&ri, 3 << 3 | 0);
    st_buf_put_uvarint(&ri, QT_FLIGHT_SQL);
    pb_bytes(&ri, 4, cmd, cmd_len);
    pb_bytes(&any, 1, READINFO_URL, strlen(READINFO_URL));
    pb_bytes(&any, 2, ri.data, ri.len);
    st_buf_cleanup(&ri);
    return st_buf_take(&any, out_len);
}

uint8_t *
gw_handle_encode(const char *sql, size_t sql_len, const uint8_t *params, size_t params_len,
                 size_t *out_len)
{
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    pb_bytes(&b, 1, sql, sql_len);
    if (params && params_len)
        pb_bytes(&b, 2, params, params_len);
    return st_buf_take(&b, out_len);
}

enum st_code
gw_handle_decode(const uint8_t *h, size_t n, struct gw_query *q, struct st_error *err)
{
    if (!h) /* an empty handle: protobuf-c hands over no pointer */
        h = (const uint8_t *)"";
    const uint8_t *p = h, *end = h + n;
    struct pb_field f;
    const uint8_t *sql = NULL, *par = NULL;
    size_t sqln = 0, parn = 0;
    int r;
    bool other = false;
    while ((r = pb_next(&p, end, &f)) == 1) {
        if (f.num == 1 && f.wt == 2)
            sql = f.p, sqln = f.n;
        else if (f.num == 2 && f.wt == 2)
            par = f.p, parn = f.n;
        else
            other = true;
    }
    if (r < 0 || !sql || other) /* legacy: the handle is the query text */
        return set_sql(q, (const char *)h, n, err);
    ST_TRY(set_sql(q, (const char *)sql, sqln, err));
    if (par)
        return gw_params_from_ipc(par, parn, q, err);
    return ST_OK;
}

enum st_code
gw_params_from_ipc(const uint8_t *ipc, size_t n, struct gw_query *q, struct st_error *err)
{
    struct arrow_decoder *d = arrow_decoder_new(NULL, err);
    if (!d)
        return ST_ENOMEM;
    size_t pos = 0;
    enum arrow_msg_type t;
    enum st_code rc;
    const struct st_batch *b = NULL;
    while ((rc = arrow_decode_stream_next(d, ipc, n, &pos, &t, err)) == ST_OK &&
           t != ARROW_MSG_EOS) {
        if (t == ARROW_MSG_RECORD_BATCH) {
            b = arrow_decoder_batch(d);
            break;
        }
    }
    if (rc == ST_OK)
        rc = gw_params_from_batch(arrow_decoder_schema(d), b, q, err);
    arrow_decoder_free(d);
    if (rc != ST_OK && err && err->code != rc)
        st_error_set(err, rc, "malformed prepared statement parameters");
    return rc;
}

enum st_code
gw_params_from_batch(const struct st_schema *s, const struct st_batch *b, struct gw_query *q,
                     struct st_error *err)
{
    if (!s || !b)
        return st_error_set(err, ST_EINVAL, "the parameter stream has no record batch");
    if (b->n_rows != 1)
        return st_error_set(err, ST_EINVAL,
                            "the parameter batch must have exactly one row, not %u", b->n_rows);
    for (uint32_t i = 0; i < s->n_fields && i < b->n_cols; i++) {
        const struct st_column *c = &b->cols[i];
        struct eng_param p;
        memset(&p, 0, sizeof p);
        const char *name = s->fields[i].name;
        if (name[0] == '$')
            name++;
        if (!st_column_is_valid(c, 0))
            p.type = ST_TYPE_NULL;
        else {
            p.type = c->type;
            switch (c->type) {
            case ST_TYPE_TIME:
            case ST_TYPE_INT:
                p.v.i = c->v.i64[0];
                break;
            case ST_TYPE_UINT:
                p.v.u = c->v.u64[0];
                break;
            case ST_TYPE_FLOAT:
                p.v.f = c->v.f64[0];
                break;
            case ST_TYPE_BOOL:
                p.v.b = c->v.b[0] != 0;
                break;
            case ST_TYPE_STRING:
                p.v.s.ptr = c->str_data + c->v.offsets[0];
                p.v.s.len = (size_t)(c->v.offsets[1] - c->v.offsets[0]);
                break;
            default:
                p.type = ST_TYPE_NULL;
            }
        }
        ST_TRY(gw_query_add_param(q, name, strlen(name), &p, err));
    }
    return ST_OK;
}
