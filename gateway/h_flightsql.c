/*
 * h_flightsql.c: Flight SQL commands and the results every Flight read produces.
 *
 * Commands (decoded by flightsql_cmd.c into a struct gw_query):
 *   CommandStatementQuery          run `query` on the database
 *   CommandPreparedStatementQuery  run the handle's query with its bound parameters
 *   TicketStatementQuery           its handle is one of ours (a prepared-statement handle)
 *   CommandGetCatalogs             one catalog: "public"
 *   CommandGetDbSchemas            "iox" (the database's tables) and "information_schema"
 *   CommandGetTables               the tables of the database (SHOW TABLES), typed
 *                                  "BASE TABLE" (or "TABLE" with the ODBC header)
 *   CommandGetTableTypes           "BASE TABLE" (or "TABLE"), "VIEW"
 * Anything else: INVALID_ARGUMENT "Unsupported message type".
 *
 * Results: a query runs through eng_query (cursor pulled batch by batch by the DoGet
 * stream); metadata commands build one small in-memory batch here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_flight.h"
#include "strata/arrow_ipc.h"
#include "strata/buf.h"

/* ---- results -------------------------------------------------------------------------------- */

#define MAX_STATIC_COLS 4

struct strcol {
    struct st_buf data;
    int32_t *offsets;
    uint32_t n, cap;
    uint8_t *validity;
    int64_t nulls;
};

struct gw_result {
    struct eng_cursor *cur;
    /* static results */
    struct st_field fields[MAX_STATIC_COLS];
    struct st_schema schema;
    struct strcol sc[MAX_STATIC_COLS];
    struct st_column cols[MAX_STATIC_COLS];
    struct st_batch batch;
    bool sent;
};

static enum st_code
sc_grow(struct strcol *c)
{
    uint32_t cap = c->cap ? c->cap * 2 : 16;
    int32_t *o = realloc(c->offsets, (cap + 1) * sizeof *o);
    if (!o)
        return ST_ENOMEM;
    if (!c->offsets)
        o[0] = 0;
    c->offsets = o;
    size_t old = c->cap ? c->cap / 8 + 1 : 0;
    uint8_t *v = realloc(c->validity, cap / 8 + 1);
    if (!v)
        return ST_ENOMEM;
    memset(v + old, 0, cap / 8 + 1 - old);
    c->validity = v;
    c->cap = cap;
    return ST_OK;
}

static enum st_code
sc_push(struct strcol *c, const char *s)
{
    if (c->n + 1 >= c->cap)
        ST_TRY(sc_grow(c));
    if (s) {
        ST_TRY(st_buf_append(&c->data, s, strlen(s)));
        c->validity[c->n / 8] |= (uint8_t)(1u << (c->n % 8));
    } else
        c->nulls++;
    c->n++;
    c->offsets[c->n] = (int32_t)c->data.len;
    return ST_OK;
}

/* SQL LIKE with % and _ and backslash escapes; NULL pattern matches all. */
static bool
like(const char *s, const char *p)
{
    if (!p)
        return true;
    for (; *p; p++, s++) {
        if (*p == '%') {
            while (p[1] == '%')
                p++;
            if (!p[1])
                return true;
            for (; *s; s++)
                if (like(s, p + 1))
                    return true;
            return like(s, p + 1);
        }
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '_') {
            if (!*s)
                return false;
            continue;
        }
        if (*s != *p)
            return false;
    }
    return *s == 0;
}

static void
static_schema(struct gw_result *r, int n, const char *const *names, const bool *nullable)
{
    for (int i = 0; i < n; i++) {
        r->fields[i] = (struct st_field){names[i], ST_TYPE_STRING, ST_ROLE_NONE, nullable[i]};
        st_buf_init(&r->sc[i].data, 64u << 20);
    }
    r->schema.n_fields = (uint32_t)n;
    r->schema.fields = r->fields;
}

static enum st_code
static_finish(struct gw_result *r)
{
    for (uint32_t i = 0; i < r->schema.n_fields; i++) {
        if (r->sc[i].cap == 0 && sc_grow(&r->sc[i]) != ST_OK)
            return ST_ENOMEM;
        r->cols[i] = (struct st_column){
            .type = ST_TYPE_STRING,
            .validity = r->sc[i].nulls ? r->sc[i].validity : NULL,
            .null_count = r->sc[i].nulls,
            .v.offsets = r->sc[i].offsets,
            .str_data = (const char *)(r->sc[i].data.data ? r->sc[i].data.data : (uint8_t *)""),
        };
    }
    r->batch.n_rows = r->schema.n_fields ? r->sc[0].n : 0;
    r->batch.n_cols = r->schema.n_fields;
    r->batch.cols = r->cols;
    return ST_OK;
}

static const char *CATALOG = "public";

static enum st_code
list_tables(const struct gw_query *q, struct gw_result *r, const struct eng_query_opts *o,
            struct st_error *err)
{
    static const char *const names[] = {"catalog_name", "db_schema_name", "table_name",
                                        "table_type"};
    static const bool nullable[] = {true, true, false, false};
    static_schema(r, 4, names, nullable);
    const char *base = q->plain_table_type ? "TABLE" : "BASE TABLE";
    bool want_base = q->n_table_types == 0, want_view = q->n_table_types == 0;
    for (size_t i = 0; i < q->n_table_types; i++) {
        if (!strcmp(q->table_types[i], base))
            want_base = true;
        if (!strcmp(q->table_types[i], "VIEW"))
            want_view = true;
    }
    if (q->has_catalog && strcmp(q->catalog, CATALOG) != 0)
        return static_finish(r);
    if (want_base && like("iox", q->has_schema_pat ? q->schema_pat : NULL)) {
        struct eng_cursor *cur = NULL;
        static const char show[] = "SHOW TABLES";
        struct eng_query_opts oo = *o;
        oo.params = NULL;
        oo.n_params = 0;
        ST_TRY(eng_query(gw_srv->eng, q->db, show, sizeof show - 1, &oo, &cur, err));
        const struct st_schema *s = eng_cursor_schema(cur);
        int col = -1;
        for (uint32_t i = 0; s && i < s->n_fields; i++)
            if (s->fields[i].type == ST_TYPE_STRING &&
                (col < 0 || !strcmp(s->fields[i].name, "table_name")))
                col = (int)i;
        const struct st_batch *b;
        enum st_code rc;
        while ((rc = eng_cursor_next(cur, &b, err)) == ST_OK && b) {
            if (col < 0)
                continue;
            const struct st_column *c = &b->cols[col];
            for (uint32_t row = 0; row < b->n_rows; row++) {
                if (!st_column_is_valid(c, row))
                    continue;
                int32_t a = c->v.offsets[row], z = c->v.offsets[row + 1];
                char name[512];
                snprintf(name, sizeof name, "%.*s", (int)(z - a), c->str_data + a);
                if (!like(name, q->has_table_pat ? q->table_pat : NULL))
                    continue;
                if (sc_push(&r->sc[0], CATALOG) || sc_push(&r->sc[1], "iox") ||
                    sc_push(&r->sc[2], name) || sc_push(&r->sc[3], base)) {
                    eng_cursor_free(cur);
                    return st_error_set(err, ST_ENOMEM, "out of memory");
                }
            }
        }
        eng_cursor_free(cur);
        if (rc != ST_OK)
            return rc;
    }
    (void)want_view;
    return static_finish(r);
}

enum st_code
gw_result_open(const struct gw_query *q, const struct eng_query_opts *o, struct gw_result **out,
               struct st_error *err)
{
    struct gw_result *r = calloc(1, sizeof *r);
    if (!r)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    enum st_code rc = ST_OK;
    switch (q->kind) {
    case GW_Q_SQL:
        rc = eng_query(gw_srv->eng, q->db, q->sql, q->sql_len, o, &r->cur, err);
        break;
    case GW_Q_CATALOGS: {
        static const char *const names[] = {"catalog_name"};
        static const bool nullable[] = {false};
        static_schema(r, 1, names, nullable);
        rc = sc_push(&r->sc[0], CATALOG);
        if (rc == ST_OK)
            rc = static_finish(r);
        break;
    }
    case GW_Q_DB_SCHEMAS: {
        static const char *const names[] = {"catalog_name", "db_schema_name"};
        static const bool nullable[] = {true, false};
        static_schema(r, 2, names, nullable);
        static const char *const schemas[] = {"information_schema", "iox"};
        if (!q->has_catalog || !strcmp(q->catalog, CATALOG))
            for (int i = 0; i < 2 && rc == ST_OK; i++)
                if (like(schemas[i], q->has_schema_pat ? q->schema_pat : NULL)) {
                    rc = sc_push(&r->sc[0], CATALOG);
                    if (rc == ST_OK)
                        rc = sc_push(&r->sc[1], schemas[i]);
                }
        if (rc == ST_OK)
            rc = static_finish(r);
        break;
    }
    case GW_Q_TABLES:
        if (!eng_db_exists(gw_srv->eng, q->db))
            rc = st_error_set(err, ST_ENOTFOUND, "Database '%s' not found", q->db);
        else
            rc = list_tables(q, r, o, err);
        break;
    case GW_Q_TABLE_TYPES: {
        static const char *const names[] = {"table_type"};
        static const bool nullable[] = {false};
        static_schema(r, 1, names, nullable);
        rc = sc_push(&r->sc[0], q->plain_table_type ? "TABLE" : "BASE TABLE");
        if (rc == ST_OK)
            rc = sc_push(&r->sc[0], "VIEW");
        if (rc == ST_OK)
            rc = static_finish(r);
        break;
    }
    }
    if (rc != ST_OK) {
        if (rc == ST_ENOMEM && err && err->code != ST_ENOMEM)
            st_error_set(err, ST_ENOMEM, "out of memory");
        gw_result_free(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

const struct st_schema *
gw_result_schema(const struct gw_result *r)
{
    return r->cur ? eng_cursor_schema(r->cur) : &r->schema;
}

enum st_code
gw_result_next(struct gw_result *r, const struct st_batch **b, struct st_error *err)
{
    if (r->cur)
        return eng_cursor_next(r->cur, b, err);
    *b = r->sent ? NULL : &r->batch;
    r->sent = true;
    return ST_OK;
}

void
gw_result_free(struct gw_result *r)
{
    if (!r)
        return;
    eng_cursor_free(r->cur);
    for (int i = 0; i < MAX_STATIC_COLS; i++) {
        st_buf_cleanup(&r->sc[i].data);
        free(r->sc[i].offsets);
        free(r->sc[i].validity);
    }
    free(r);
}

uint8_t *
gw_schema_ipc(const struct st_schema *s, size_t *out_len, struct st_error *err)
{
    struct arrow_encoder *enc = arrow_encoder_new(s, NULL, err);
    if (!enc)
        return NULL;
    struct arrow_msg m;
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    uint8_t *res = NULL;
    if (arrow_encode_schema(enc, &m, err) == ST_OK && arrow_stream_append(&b, &m, err) == ST_OK)
        res = st_buf_take(&b, out_len);
    st_buf_cleanup(&b);
    arrow_encoder_free(enc);
    return res;
}
