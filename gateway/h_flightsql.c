/*
 * h_flightsql.c: Flight SQL commands and the results every Flight read produces.
 *
 * Commands (decoded by flightsql_cmd.c into a struct gw_query):
 *   CommandStatementQuery          run `query` on the database
 *   CommandPreparedStatementQuery  run the handle's query with its bound parameters
 *   TicketStatementQuery           its handle is one of ours (a prepared-statement handle)
 *   CommandGetCatalogs             one catalog: "public"
 *   CommandGetDbSchemas            "information_schema" (the views) and "iox" (the tables)
 *   CommandGetTables               the database's tables (schema "iox", type "BASE TABLE",
 *                                  or "TABLE" with the ODBC header) and the two views
 *                                  (schema "information_schema", type "VIEW"), ordered by
 *                                  schema then name; with include_schema, each row's
 *                                  table_schema holds the IPC-serialized Arrow schema a
 *                                  `SELECT *` of it returns
 *   CommandGetTableTypes           "BASE TABLE" (or "TABLE"), "VIEW"
 *   CommandGetSqlInfo              the SqlInfo table below (all ids, or those asked for,
 *                                  in the order asked; ids the server does not know are
 *                                  left out)
 * Anything else: INVALID_ARGUMENT "Unsupported message type".
 *
 * Results: a query runs through eng_query (cursor pulled batch by batch by the DoGet
 * stream); metadata commands build one in-memory batch here. Most are flat string
 * columns (strata/batch.h, the query encoder); CommandGetSqlInfo's dense union and
 * CommandGetTables' binary table_schema go through the nested encoder (arrow_ipc.h).
 *
 * The SqlInfo table claims only what this server does, and the Flight SQL tests check
 * each claim against the running server (tests/node/flightsql_metadata.test.mjs): a
 * listed function is one the SQL front end binds, a listed conversion is one CAST
 * accepts, the identifier rules are the lexer's, the name lengths come from the engine's
 * own name check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_flight.h"
#include "strata/arrow_ipc.h"
#include "strata/buf.h"

/* ---- string columns built row by row -------------------------------------------------------- */

#define MAX_STATIC_COLS 5

struct strcol {
    struct st_buf data;
    int32_t *offsets;
    uint32_t n, cap;
    uint8_t *validity;
    int64_t nulls;
};

struct sqlinfo; /* below */

struct gw_result {
    struct eng_cursor *cur;
    /* flat in-memory results */
    struct st_field fields[MAX_STATIC_COLS];
    struct st_schema schema;
    struct strcol sc[MAX_STATIC_COLS];
    struct st_column cols[MAX_STATIC_COLS];
    struct st_batch batch;
    /* nested in-memory results (GetSqlInfo; GetTables with schemas) */
    const struct arrow_type *ntypes;
    uint32_t n_ntypes;
    struct arrow_array ncols[MAX_STATIC_COLS];
    int64_t n_nrows;
    struct sqlinfo *info;
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

/* Append one value (s, len) or a NULL (s == NULL). */
static enum st_code
sc_push_n(struct strcol *c, const void *s, size_t len)
{
    if (c->n + 1 >= c->cap)
        ST_TRY(sc_grow(c));
    if (s) {
        if (len > (size_t)INT32_MAX - c->data.len)
            return ST_ELIMIT;
        ST_TRY(st_buf_append(&c->data, s, len));
        c->validity[c->n / 8] |= (uint8_t)(1u << (c->n % 8));
    } else
        c->nulls++;
    c->n++;
    c->offsets[c->n] = (int32_t)c->data.len;
    return ST_OK;
}

static enum st_code
sc_push(struct strcol *c, const char *s)
{
    return sc_push_n(c, s, s ? strlen(s) : 0);
}

/* The strcol as an arrow_array (for the nested encoder). */
static struct arrow_array
sc_array(struct strcol *c)
{
    return (struct arrow_array){
        .length = c->n,
        .null_count = c->nulls,
        .validity = c->nulls ? c->validity : NULL,
        .values = c->data.data,
        .offsets = c->offsets,
    };
}

/*
 * SQL LIKE with % and _ and backslash escapes; a NULL pattern matches everything.
 * Iterative, with one backtrack point (the last %), so any pattern costs at most
 * O(len(s) * len(p)): patterns come from clients.
 */
static bool
like(const char *s, const char *p)
{
    if (!p)
        return true;
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '%') {
            while (*p == '%')
                p++;
            if (!*p)
                return true;
            star_p = p;
            star_s = s;
            continue;
        }
        bool esc = *p == '\\' && p[1];
        if (!esc && *p == '_') {
            p++;
            s++;
            continue;
        }
        char want = esc ? p[1] : *p;
        if (*p && *s == want) {
            p += esc ? 2 : 1;
            s++;
            continue;
        }
        if (!star_p)
            return false;
        p = star_p;
        s = ++star_s;
    }
    while (*p == '%')
        p++;
    return *p == 0;
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

/* ---- CommandGetTables ----------------------------------------------------------------------- */

static const struct arrow_type tables_with_schema[] = {
    {.name = "catalog_name", .kind = ARROW_KIND_UTF8, .nullable = true},
    {.name = "db_schema_name", .kind = ARROW_KIND_UTF8, .nullable = true},
    {.name = "table_name", .kind = ARROW_KIND_UTF8},
    {.name = "table_type", .kind = ARROW_KIND_UTF8},
    {.name = "table_schema", .kind = ARROW_KIND_BINARY},
};

/* The IPC schema of `SELECT * FROM schema.table`, appended to c. */
static enum st_code
push_table_schema(const struct gw_query *q, const struct eng_query_opts *o, const char *schema,
                  const char *table, struct strcol *c, struct st_error *err)
{
    struct st_buf sql;
    st_buf_init(&sql, 4096);
    enum st_code rc = st_buf_printf(&sql, "SELECT * FROM \"%s\".\"", schema);
    for (const char *p = table; rc == ST_OK && *p; p++) /* a quote inside is doubled */
        rc = *p == '"' ? st_buf_append(&sql, "\"\"", 2) : st_buf_append_byte(&sql, (uint8_t)*p);
    if (rc == ST_OK)
        rc = st_buf_append_str(&sql, "\" LIMIT 0");
    if (rc != ST_OK) {
        st_buf_cleanup(&sql);
        return st_error_set(err, rc, "table name \"%.200s\" is too long", table);
    }
    struct eng_query_opts oo = *o;
    oo.params = NULL;
    oo.n_params = 0;
    struct eng_cursor *cur = NULL;
    rc = eng_query(gw_srv->eng, q->db, (const char *)sql.data, sql.len, &oo, &cur, err);
    st_buf_cleanup(&sql);
    if (rc != ST_OK)
        return rc;
    size_t len = 0;
    uint8_t *ipc = gw_schema_ipc(eng_cursor_schema(cur), &len, err);
    eng_cursor_free(cur);
    if (!ipc)
        return err ? err->code : ST_EINTERNAL;
    rc = sc_push_n(c, ipc, len);
    free(ipc);
    if (rc != ST_OK)
        return st_error_set(err, rc, "the table schemas are too large");
    return ST_OK;
}

static enum st_code
list_tables(const struct gw_query *q, struct gw_result *r, const struct eng_query_opts *o,
            struct st_error *err)
{
    static const char *const names[] = {"catalog_name", "db_schema_name", "table_name",
                                        "table_type", "table_schema"};
    static const bool nullable[] = {true, true, false, false, false};
    static_schema(r, q->include_schema ? 5 : 4, names, nullable);
    const char *base = q->plain_table_type ? "TABLE" : "BASE TABLE";
    bool want_base = q->n_table_types == 0, want_view = q->n_table_types == 0;
    for (size_t i = 0; i < q->n_table_types; i++) {
        if (!strcmp(q->table_types[i], base))
            want_base = true;
        if (!strcmp(q->table_types[i], "VIEW"))
            want_view = true;
    }
    if ((q->has_catalog && strcmp(q->catalog, CATALOG) != 0) || (!want_base && !want_view))
        return static_finish(r);
    /* information_schema.tables lists both, and ORDER BY gives the order the spec asks. */
    static const char sql[] = "SELECT table_schema, table_name, table_type FROM "
                              "information_schema.tables ORDER BY table_schema, table_name";
    struct eng_query_opts oo = *o;
    oo.params = NULL;
    oo.n_params = 0;
    struct eng_cursor *cur = NULL;
    ST_TRY(eng_query(gw_srv->eng, q->db, sql, sizeof sql - 1, &oo, &cur, err));
    const struct st_batch *b;
    enum st_code rc = ST_OK;
    while (rc == ST_OK && (rc = eng_cursor_next(cur, &b, err)) == ST_OK && b) {
        const struct st_column *cs = &b->cols[0], *cn = &b->cols[1], *ct = &b->cols[2];
        for (uint32_t row = 0; row < b->n_rows && rc == ST_OK; row++) {
            /* schema and type are the engine's own words; names are up to the name limit */
            char schema[64], type[32];
            snprintf(schema, sizeof schema, "%.*s",
                     (int)(cs->v.offsets[row + 1] - cs->v.offsets[row]),
                     cs->str_data + cs->v.offsets[row]);
            snprintf(type, sizeof type, "%.*s",
                     (int)(ct->v.offsets[row + 1] - ct->v.offsets[row]),
                     ct->str_data + ct->v.offsets[row]);
            char *name = strndup(cn->str_data + cn->v.offsets[row],
                                 (size_t)(cn->v.offsets[row + 1] - cn->v.offsets[row]));
            if (!name) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            bool view = !strcmp(type, "VIEW");
            bool keep = (view ? want_view : want_base) &&
                        like(schema, q->has_schema_pat ? q->schema_pat : NULL) &&
                        like(name, q->has_table_pat ? q->table_pat : NULL);
            if (keep && (sc_push(&r->sc[0], CATALOG) || sc_push(&r->sc[1], schema) ||
                         sc_push(&r->sc[2], name) || sc_push(&r->sc[3], view ? "VIEW" : base)))
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
            else if (keep && q->include_schema)
                rc = push_table_schema(q, o, schema, name, &r->sc[4], err);
            free(name);
        }
    }
    eng_cursor_free(cur);
    if (rc != ST_OK)
        return rc;
    if (!q->include_schema)
        return static_finish(r);
    for (int i = 0; i < 5; i++) {
        if (r->sc[i].cap == 0 && sc_grow(&r->sc[i]) != ST_OK)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        r->ncols[i] = sc_array(&r->sc[i]);
    }
    r->ntypes = tables_with_schema;
    r->n_ntypes = 5;
    r->n_nrows = r->sc[0].n;
    return ST_OK;
}

/* ---- CommandGetSqlInfo ---------------------------------------------------------------------- */

/* The result schema, as Arrow's Flight SQL reference (C++ SqlSchema::GetSqlInfoSchema). */
static const struct arrow_type item_utf8 = {.name = "item", .kind = ARROW_KIND_UTF8,
                                            .nullable = true};
static const struct arrow_type item_i32 = {.name = "item", .kind = ARROW_KIND_INT,
                                           .nullable = true, .bit_width = 32, .is_signed = true};
static const struct arrow_type entry_fields[] = {
    {.name = "key", .kind = ARROW_KIND_INT, .bit_width = 32, .is_signed = true},
    {.name = "value", .kind = ARROW_KIND_LIST, .nullable = true, .n_children = 1,
     .children = &item_i32},
};
static const struct arrow_type entries = {.name = "entries", .kind = ARROW_KIND_STRUCT,
                                          .n_children = 2, .children = entry_fields};
enum { U_STRING = 0, U_BOOL, U_BIGINT, U_INT32, U_STRING_LIST, U_INT32_MAP, U_N };
static const struct arrow_type union_children[U_N] = {
    {.name = "string_value", .kind = ARROW_KIND_UTF8},
    {.name = "bool_value", .kind = ARROW_KIND_BOOL},
    {.name = "bigint_value", .kind = ARROW_KIND_INT, .bit_width = 64, .is_signed = true},
    {.name = "int32_bitmask", .kind = ARROW_KIND_INT, .bit_width = 32, .is_signed = true},
    {.name = "string_list", .kind = ARROW_KIND_LIST, .n_children = 1, .children = &item_utf8},
    {.name = "int32_to_int32_list_map", .kind = ARROW_KIND_MAP, .n_children = 1,
     .children = &entries},
};
static const int8_t union_ids[U_N] = {0, 1, 2, 3, 4, 5};
static const struct arrow_type sqlinfo_schema[] = {
    {.name = "info_name", .kind = ARROW_KIND_INT, .bit_width = 32, .is_signed = false},
    {.name = "value", .kind = ARROW_KIND_DENSE_UNION, .n_children = U_N,
     .children = union_children, .type_ids = union_ids},
};

/* SqlInfo ids (Arrow FlightSql.proto, enum SqlInfo) this server answers. */
enum {
    SI_SERVER_NAME = 0,
    SI_SERVER_VERSION = 1,
    SI_SERVER_ARROW_VERSION = 2,
    SI_SERVER_READ_ONLY = 3,
    SI_SERVER_SQL = 4,
    SI_SERVER_SUBSTRAIT = 5,
    SI_SERVER_TRANSACTION = 8,
    SI_SERVER_CANCEL = 9,
    SI_SERVER_STATEMENT_TIMEOUT = 100,
    SI_DDL_CATALOG = 500,
    SI_DDL_SCHEMA = 501,
    SI_DDL_TABLE = 502,
    SI_IDENTIFIER_CASE = 503,
    SI_IDENTIFIER_QUOTE_CHAR = 504,
    SI_ALL_TABLES_ARE_SELECTABLE = 506,
    SI_NULL_ORDERING = 507,
    SI_NUMERIC_FUNCTIONS = 509,
    SI_STRING_FUNCTIONS = 510,
    SI_SYSTEM_FUNCTIONS = 511,
    SI_DATETIME_FUNCTIONS = 512,
    SI_SEARCH_STRING_ESCAPE = 513,
    SI_SUPPORTS_COLUMN_ALIASING = 515,
    SI_SUPPORTS_CONVERT = 517,
    SI_SUPPORTED_UNIONS = 540,
    SI_MAX_COLUMN_NAME_LENGTH = 543,
    SI_SCHEMA_TERM = 529,
    SI_CATALOG_TERM = 531,
    SI_SELECT_FOR_UPDATE = 536,
    SI_STORED_PROCEDURES = 537,
    SI_MAX_TABLE_NAME_LENGTH = 559,
    SI_TRANSACTIONS_SUPPORTED = 563,
    SI_BATCH_UPDATES = 572,
    SI_SAVEPOINTS = 573,
};

/* SqlSupportsConvert values for the types CAST knows (BIGINT, BIT, FLOAT, TIMESTAMP,
 * VARCHAR), and SqlSupportedCaseSensitivity / SqlNullOrdering / SqlSupportedTransaction. */
enum { CV_BIGINT = 0, CV_BIT = 2, CV_FLOAT = 6, CV_TIMESTAMP = 16, CV_VARCHAR = 19 };
enum { CASE_LOWERCASE = 3, NULLS_SORTED_HIGH = 0, TRANSACTION_NONE = 0 };

static const char *const numeric_fns[] = {"abs",  "ceil", "ceiling", "exp",   "floor", "ln",
                                          "log10", "pow", "power",   "round", "sqrt"};
static const char *const string_fns[] = {"char_length", "character_length", "concat", "length",
                                         "lower",       "replace",          "substr",
                                         "substring",   "trim",             "upper"};
static const char *const system_fns[] = {"coalesce", "nullif"};
static const char *const datetime_fns[] = {"date_bin", "date_trunc", "now"};

/* CAST(from AS to) the binder accepts, to a different type (engine/plan cast rules). */
static const struct {
    int32_t from;
    int32_t to[4];
    uint32_t n;
} converts[] = {
    {CV_BIGINT, {CV_BIT, CV_FLOAT, CV_TIMESTAMP, CV_VARCHAR}, 4},
    {CV_BIT, {CV_BIGINT, CV_FLOAT, CV_VARCHAR}, 3},
    {CV_FLOAT, {CV_BIGINT, CV_BIT, CV_VARCHAR}, 3},
    {CV_TIMESTAMP, {CV_BIGINT, CV_VARCHAR}, 2},
    {CV_VARCHAR, {CV_BIGINT, CV_BIT, CV_FLOAT, CV_TIMESTAMP}, 4},
};

enum vkind { V_STR, V_BOOL, V_I64, V_I32, V_LIST, V_CONVERT, V_NAME_MAX };

struct info_row {
    uint32_t id;
    enum vkind kind;
    const char *s;
    int64_t i;
    const char *const *list;
    uint32_t n_list;
};

#define LIST(a) V_LIST, NULL, 0, a, sizeof a / sizeof a[0]
static const struct info_row info_rows[] = {
    {SI_SERVER_NAME, V_STR, GW_PRODUCT, 0, NULL, 0},
    {SI_SERVER_VERSION, V_STR, GW_VERSION, 0, NULL, 0},
    /* the Arrow columnar format this server writes (IPC metadata V5) */
    {SI_SERVER_ARROW_VERSION, V_STR, "1.0.0", 0, NULL, 0},
    /* not read-only: DoPut runs CommandStatementUpdate (DELETE, h_update.c); queries run
     * read-only; writes go through the HTTP and gRPC write APIs */
    {SI_SERVER_READ_ONLY, V_BOOL, NULL, 0, NULL, 0},
    {SI_SERVER_SQL, V_BOOL, NULL, 1, NULL, 0},
    {SI_SERVER_SUBSTRAIT, V_BOOL, NULL, 0, NULL, 0},
    {SI_SERVER_TRANSACTION, V_I32, NULL, TRANSACTION_NONE, NULL, 0},
    {SI_SERVER_CANCEL, V_BOOL, NULL, 0, NULL, 0}, /* no CancelQuery action (gRPC cancel works) */
    {SI_SERVER_STATEMENT_TIMEOUT, V_I32, NULL, 0, NULL, 0}, /* handles are self-contained */
    {SI_DDL_CATALOG, V_BOOL, NULL, 0, NULL, 0},
    {SI_DDL_SCHEMA, V_BOOL, NULL, 0, NULL, 0},
    {SI_DDL_TABLE, V_BOOL, NULL, 0, NULL, 0},
    {SI_IDENTIFIER_CASE, V_I32, NULL, CASE_LOWERCASE, NULL, 0}, /* unquoted names fold */
    {SI_IDENTIFIER_QUOTE_CHAR, V_STR, "\"", 0, NULL, 0},
    {SI_ALL_TABLES_ARE_SELECTABLE, V_BOOL, NULL, 1, NULL, 0},
    {SI_NULL_ORDERING, V_I32, NULL, NULLS_SORTED_HIGH, NULL, 0}, /* ASC: NULLS LAST */
    {SI_NUMERIC_FUNCTIONS, LIST(numeric_fns)},
    {SI_STRING_FUNCTIONS, LIST(string_fns)},
    {SI_SYSTEM_FUNCTIONS, LIST(system_fns)},
    {SI_DATETIME_FUNCTIONS, LIST(datetime_fns)},
    {SI_SEARCH_STRING_ESCAPE, V_STR, "\\", 0, NULL, 0}, /* in metadata patterns */
    {SI_SUPPORTS_COLUMN_ALIASING, V_BOOL, NULL, 1, NULL, 0},
    {SI_SUPPORTS_CONVERT, V_CONVERT, NULL, 0, NULL, 0},
    {SI_SCHEMA_TERM, V_STR, "schema", 0, NULL, 0},
    {SI_CATALOG_TERM, V_STR, "catalog", 0, NULL, 0},
    {SI_SELECT_FOR_UPDATE, V_BOOL, NULL, 0, NULL, 0},
    {SI_STORED_PROCEDURES, V_BOOL, NULL, 0, NULL, 0},
    {SI_SUPPORTED_UNIONS, V_I32, NULL, 0, NULL, 0}, /* no UNION / UNION ALL */
    {SI_MAX_COLUMN_NAME_LENGTH, V_NAME_MAX, "column", 0, NULL, 0},
    {SI_MAX_TABLE_NAME_LENGTH, V_NAME_MAX, "table", 0, NULL, 0},
    {SI_TRANSACTIONS_SUPPORTED, V_BOOL, NULL, 0, NULL, 0},
    {SI_BATCH_UPDATES, V_BOOL, NULL, 0, NULL, 0},
    {SI_SAVEPOINTS, V_BOOL, NULL, 0, NULL, 0},
};
#undef LIST
#define N_INFO_ROWS (sizeof info_rows / sizeof info_rows[0])

/* The longest name the engine accepts for this kind, found through its own check. */
static int64_t
name_max(const char *kind)
{
    enum { BOUND = 65536 };
    char *buf = malloc(BOUND);
    if (!buf)
        return 0;
    memset(buf, 'a', BOUND);
    size_t good = 0, bad = BOUND; /* good passes (or is 0), bad fails (or is the bound) */
    while (bad - good > 1) {
        size_t mid = good + (bad - good) / 2;
        if (eng_name_check(kind, buf, mid, NULL) == ST_OK)
            good = mid;
        else
            bad = mid;
    }
    free(buf);
    return (int64_t)good;
}

/* Growable arrays of fixed-width values. */
struct vec {
    struct st_buf b;
};

static enum st_code
vec_i32(struct vec *v, int32_t x)
{
    return st_buf_append(&v->b, &x, sizeof x);
}

struct sqlinfo {
    struct vec name;          /* uint32 */
    struct vec ids;           /* int8 */
    struct vec offs;          /* int32 */
    struct strcol strs;       /* U_STRING */
    struct vec bools;         /* U_BOOL, uint8 */
    struct vec i64s;          /* U_BIGINT */
    struct vec i32s;          /* U_INT32 */
    struct vec list_offs;     /* U_STRING_LIST: offsets into items */
    struct strcol items;
    struct vec map_offs;      /* U_INT32_MAP: offsets into the entries */
    struct vec keys;          /* entries.key, int32 */
    struct vec val_offs;      /* entries.value: offsets into val_items */
    struct vec val_items;     /* int32 */
    int32_t n_child[U_N];
    struct arrow_array children[U_N], entry_children[2], list_item, val_item, entry;
};

static void
sqlinfo_free(struct sqlinfo *si)
{
    if (!si)
        return;
    struct vec *vs[] = {&si->name,      &si->ids,  &si->offs,     &si->bools,
                        &si->i64s,      &si->i32s, &si->list_offs, &si->map_offs,
                        &si->keys,      &si->val_offs, &si->val_items};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        st_buf_cleanup(&vs[i]->b);
    struct strcol *cs[] = {&si->strs, &si->items};
    for (size_t i = 0; i < 2; i++) {
        st_buf_cleanup(&cs[i]->data);
        free(cs[i]->offsets);
        free(cs[i]->validity);
    }
    free(si);
}

/* Append row r's value to the union; the type id and the offset into its child. */
static enum st_code
info_add(struct sqlinfo *si, const struct info_row *r)
{
    uint32_t id = r->id;
    int8_t tid;
    enum st_code rc = ST_OK;
    switch (r->kind) {
    case V_STR:
        tid = U_STRING;
        rc = sc_push(&si->strs, r->s);
        break;
    case V_BOOL: {
        tid = U_BOOL;
        uint8_t b = r->i != 0;
        rc = st_buf_append(&si->bools.b, &b, 1);
        break;
    }
    case V_I64:
    case V_NAME_MAX: {
        tid = U_BIGINT;
        int64_t v = r->kind == V_NAME_MAX ? name_max(r->s) : r->i;
        rc = st_buf_append(&si->i64s.b, &v, sizeof v);
        break;
    }
    case V_I32:
        tid = U_INT32;
        rc = vec_i32(&si->i32s, (int32_t)r->i);
        break;
    case V_LIST:
        tid = U_STRING_LIST;
        for (uint32_t i = 0; i < r->n_list && rc == ST_OK; i++)
            rc = sc_push(&si->items, r->list[i]);
        if (rc == ST_OK)
            rc = vec_i32(&si->list_offs, (int32_t)si->items.n);
        break;
    case V_CONVERT:
        tid = U_INT32_MAP;
        for (size_t i = 0; i < sizeof converts / sizeof converts[0] && rc == ST_OK; i++) {
            rc = vec_i32(&si->keys, converts[i].from);
            for (uint32_t k = 0; k < converts[i].n && rc == ST_OK; k++)
                rc = vec_i32(&si->val_items, converts[i].to[k]);
            if (rc == ST_OK)
                rc = vec_i32(&si->val_offs, (int32_t)(si->val_items.b.len / 4));
        }
        if (rc == ST_OK)
            rc = vec_i32(&si->map_offs, (int32_t)(si->keys.b.len / 4));
        break;
    default:
        return ST_EINTERNAL;
    }
    if (rc == ST_OK)
        rc = st_buf_append(&si->name.b, &id, sizeof id);
    if (rc == ST_OK)
        rc = st_buf_append(&si->ids.b, &tid, 1);
    if (rc == ST_OK)
        rc = vec_i32(&si->offs, si->n_child[tid]++);
    return rc;
}

static const struct info_row *
info_find(uint32_t id)
{
    for (size_t i = 0; i < N_INFO_ROWS; i++)
        if (info_rows[i].id == id)
            return &info_rows[i];
    return NULL;
}

static int
cmp_row(const void *a, const void *b)
{
    uint32_t x = ((const struct info_row *)a)->id, y = ((const struct info_row *)b)->id;
    return x < y ? -1 : x > y;
}

static enum st_code
sql_info(const struct gw_query *q, struct gw_result *r, struct st_error *err)
{
    struct sqlinfo *si = calloc(1, sizeof *si);
    if (!si)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    r->info = si;
    struct vec *vs[] = {&si->name, &si->ids,      &si->offs,     &si->bools,
                        &si->i64s, &si->i32s,     &si->list_offs, &si->map_offs,
                        &si->keys, &si->val_offs, &si->val_items};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        st_buf_init(&vs[i]->b, 16u << 20);
    st_buf_init(&si->strs.data, 16u << 20);
    st_buf_init(&si->items.data, 16u << 20);
    enum st_code rc = ST_OK;
    /* list and map offsets start at 0 */
    if (vec_i32(&si->list_offs, 0) || vec_i32(&si->map_offs, 0) || vec_i32(&si->val_offs, 0) ||
        sc_grow(&si->strs) || sc_grow(&si->items))
        rc = ST_ENOMEM;
    if (q->n_info == 0) {
        struct info_row sorted[N_INFO_ROWS];
        memcpy(sorted, info_rows, sizeof sorted);
        qsort(sorted, N_INFO_ROWS, sizeof sorted[0], cmp_row);
        for (size_t i = 0; i < N_INFO_ROWS && rc == ST_OK; i++)
            rc = info_add(si, &sorted[i]);
    } else {
        for (uint32_t i = 0; i < q->n_info && rc == ST_OK; i++) {
            const struct info_row *row = info_find(q->info[i]);
            if (row)
                rc = info_add(si, row);
        }
    }
    if (rc != ST_OK)
        return st_error_set(err, rc, "building the SqlInfo result: %s", st_strerror(rc));
    int64_t n = (int64_t)(si->name.b.len / 4);
    si->list_item = sc_array(&si->items);
    si->val_item = (struct arrow_array){.length = (int64_t)(si->val_items.b.len / 4),
                                        .values = si->val_items.b.data};
    si->entry_children[0] = (struct arrow_array){.length = (int64_t)(si->keys.b.len / 4),
                                                 .values = si->keys.b.data};
    si->entry_children[1] = (struct arrow_array){.length = (int64_t)(si->keys.b.len / 4),
                                                 .offsets = (const int32_t *)si->val_offs.b.data,
                                                 .children = &si->val_item};
    si->entry = (struct arrow_array){.length = (int64_t)(si->keys.b.len / 4),
                                     .children = si->entry_children};
    si->children[U_STRING] = sc_array(&si->strs);
    si->children[U_BOOL] = (struct arrow_array){.length = si->n_child[U_BOOL],
                                                .values = si->bools.b.data};
    si->children[U_BIGINT] = (struct arrow_array){.length = si->n_child[U_BIGINT],
                                                  .values = si->i64s.b.data};
    si->children[U_INT32] = (struct arrow_array){.length = si->n_child[U_INT32],
                                                 .values = si->i32s.b.data};
    si->children[U_STRING_LIST] = (struct arrow_array){
        .length = si->n_child[U_STRING_LIST],
        .offsets = (const int32_t *)si->list_offs.b.data,
        .children = &si->list_item};
    si->children[U_INT32_MAP] = (struct arrow_array){
        .length = si->n_child[U_INT32_MAP],
        .offsets = (const int32_t *)si->map_offs.b.data,
        .children = &si->entry};
    r->ncols[0] = (struct arrow_array){.length = n, .values = si->name.b.data};
    r->ncols[1] = (struct arrow_array){.length = n,
                                       .type_ids = (const int8_t *)si->ids.b.data,
                                       .offsets = (const int32_t *)si->offs.b.data,
                                       .children = si->children};
    r->ntypes = sqlinfo_schema;
    r->n_ntypes = 2;
    r->n_nrows = n;
    return ST_OK;
}

/* ---- results -------------------------------------------------------------------------------- */

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
        /* q->db is the storage name (a tenant's "T--name"): it never goes to the client */
        if (!eng_db_exists(gw_srv->eng, q->db))
            rc = st_error_set(err, ST_ENOTFOUND, "the database does not exist");
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
    case GW_Q_SQL_INFO:
        rc = sql_info(q, r, err);
        break;
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

static const struct st_schema *
flat_schema(const struct gw_result *r)
{
    return r->cur ? eng_cursor_schema(r->cur) : &r->schema;
}

struct arrow_encoder *
gw_result_encoder(const struct gw_result *r, const struct arrow_encoder_opts *o,
                  struct st_error *err)
{
    if (r->ntypes)
        return arrow_encoder_new_nested(r->ntypes, r->n_ntypes, o, err);
    return arrow_encoder_new(flat_schema(r), o, err);
}

uint8_t *
gw_result_schema_ipc(const struct gw_result *r, size_t *out_len, struct st_error *err)
{
    if (!r->ntypes)
        return gw_schema_ipc(flat_schema(r), out_len, err);
    struct arrow_encoder *enc = arrow_encoder_new_nested(r->ntypes, r->n_ntypes, NULL, err);
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

enum st_code
gw_result_next(struct gw_result *r, struct arrow_encoder *enc, bool *more, uint32_t *n_rows,
               struct st_error *err)
{
    *more = false;
    *n_rows = 0;
    if (r->cur) {
        const struct st_batch *b = NULL;
        ST_TRY(eng_cursor_next(r->cur, &b, err));
        if (!b)
            return ST_OK;
        ST_TRY(arrow_encode_batch(enc, b, err));
        *n_rows = b->n_rows;
        *more = true;
        return ST_OK;
    }
    if (r->sent)
        return ST_OK;
    r->sent = true;
    if (r->ntypes) {
        ST_TRY(arrow_encode_arrays(enc, r->ncols, r->n_nrows, err));
        *n_rows = (uint32_t)r->n_nrows;
    } else {
        ST_TRY(arrow_encode_batch(enc, &r->batch, err));
        *n_rows = r->batch.n_rows;
    }
    *more = true;
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
    sqlinfo_free(r->info);
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
