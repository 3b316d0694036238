/*
 * plan_infoschema.c: the virtual tables information_schema.tables and
 * information_schema.columns, and SHOW TABLES / SHOW COLUMNS, built as
 * constant rows (PN_VALUES) from the catalog snapshot at planning time.
 *
 * Names follow InfluxDB 3: the catalog is "public", user tables live in
 * schema "iox" (type "BASE TABLE"), the two views in "information_schema".
 * Columns are listed in the order SELECT * returns them (catalog order:
 * time, then the order the columns were first written), and
 * data_type uses Arrow's names: Timestamp(Nanosecond, None) for time,
 * Dictionary(Int32, Utf8) for tags, Float64, Int64, UInt64, Boolean, Utf8.
 */
#include "plan_int.h"

#include <string.h>

const char *
plan__column_data_type(const struct cat_column *c)
{
    switch (c->kind) {
    case CAT_COL_TIME:
        return "Timestamp(Nanosecond, None)";
    case CAT_COL_TAG:
        return "Dictionary(Int32, Utf8)";
    case CAT_COL_FIELD:
        break;
    }
    switch (c->type) {
    case ST_TYPE_FLOAT:
        return "Float64";
    case ST_TYPE_INT:
        return "Int64";
    case ST_TYPE_UINT:
        return "UInt64";
    case ST_TYPE_BOOL:
        return "Boolean";
    case ST_TYPE_STRING:
        return "Utf8";
    default:
        return "Null";
    }
}

struct rows {
    struct plan_binder *b;
    struct plan_node *n;
    uint32_t cap;
};

static struct plan_value *
next_row(struct rows *r)
{
    struct plan_node *n = r->n;
    if (n->u.values.n_rows == r->cap) {
        uint32_t ncap = r->cap ? r->cap * 2 : 16;
        struct plan_value *v = plan__alloc(r->b, (size_t)ncap * n->n_cols * sizeof *v);
        if (!v)
            return NULL;
        if (n->u.values.n_rows)
            memcpy(v, n->u.values.rows, (size_t)n->u.values.n_rows * n->n_cols * sizeof *v);
        n->u.values.rows = v;
        r->cap = ncap;
    }
    return &n->u.values.rows[(size_t)n->u.values.n_rows++ * n->n_cols];
}

static struct plan_value
str(const char *s)
{
    struct plan_value v = {.type = PT_STRING, .v.s = {s, (uint32_t)strlen(s)}};
    return v;
}

static struct plan_node *
values_node(struct plan_binder *b, const char *const *names, const enum plan_type *types,
            uint32_t n)
{
    struct plan_node *node = plan__alloc(b, sizeof *node);
    if (!node)
        return NULL;
    node->kind = PN_VALUES;
    node->n_cols = n;
    node->cols = plan__alloc(b, n * sizeof *node->cols);
    if (!node->cols)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        node->cols[i].name = names[i];
        node->cols[i].type = types[i];
        node->cols[i].nullable = false;
    }
    return node;
}

static const char *const tables_cols[] = {"table_catalog", "table_schema", "table_name",
                                          "table_type"};
static const enum plan_type tables_types[] = {PT_STRING, PT_STRING, PT_STRING, PT_STRING};

static struct plan_node *
tables_view(struct plan_binder *b)
{
    struct plan_node *n = values_node(b, tables_cols, tables_types, 4);
    if (!n)
        return NULL;
    struct rows r = {b, n, 0};
    const struct cat_db *db = b->ctx->db;
    for (uint32_t i = 0; db && i < db->n_tables; i++) {
        struct plan_value *v = next_row(&r);
        if (!v)
            return NULL;
        v[0] = str("public");
        v[1] = str("iox");
        v[2] = str(db->tables[i]->name);
        v[3] = str("BASE TABLE");
    }
    static const char *const views[] = {"columns", "tables"};
    for (int i = 0; i < 2; i++) {
        struct plan_value *v = next_row(&r);
        if (!v)
            return NULL;
        v[0] = str("public");
        v[1] = str("information_schema");
        v[2] = str(views[i]);
        v[3] = str("VIEW");
    }
    return n;
}

static const char *const columns_cols[] = {"table_catalog", "table_schema", "table_name",
                                           "column_name",   "ordinal_position", "is_nullable",
                                           "data_type"};
static const enum plan_type columns_types[] = {PT_STRING, PT_STRING, PT_STRING, PT_STRING,
                                               PT_INT,    PT_STRING, PT_STRING};

/* Rows for one table's columns; `show` selects the SHOW COLUMNS layout. */
static bool
add_table_columns(struct rows *r, const struct cat_table *t, bool show)
{
    for (uint32_t i = 0; i < t->n_columns; i++) {
        struct plan_value *v = next_row(r);
        if (!v)
            return false;
        const struct cat_column *c = &t->columns[i];
        v[0] = str("public");
        v[1] = str("iox");
        v[2] = str(t->name);
        v[3] = str(c->name);
        if (show) {
            v[4] = str(plan__column_data_type(c));
            v[5] = str(c->kind == CAT_COL_TIME ? "NO" : "YES");
        } else {
            v[4].type = PT_INT;
            v[4].v.i = (int64_t)i + 1;
            v[5] = str(c->kind == CAT_COL_TIME ? "NO" : "YES");
            v[6] = str(plan__column_data_type(c));
        }
    }
    return true;
}

static struct plan_node *
columns_view(struct plan_binder *b)
{
    struct plan_node *n = values_node(b, columns_cols, columns_types, 7);
    if (!n)
        return NULL;
    struct rows r = {b, n, 0};
    const struct cat_db *db = b->ctx->db;
    for (uint32_t i = 0; db && i < db->n_tables; i++)
        if (!add_table_columns(&r, db->tables[i], false))
            return NULL;
    return n;
}

struct plan_node *
plan__info_schema(struct plan_binder *b, const char *name, uint32_t pos)
{
    if (strcmp(name, "tables") == 0)
        return tables_view(b);
    if (strcmp(name, "columns") == 0)
        return columns_view(b);
    static const char *const cands[] = {"tables", "columns"};
    const char *s = plan__suggest(name, cands, 2);
    if (s)
        return plan__fail(b, ST_EBIND,
                          pos, "table \"information_schema.%s\" does not exist; did you mean \"%s\"?",
                          name, s);
    return plan__fail(b, ST_EBIND, pos,
                      "table \"information_schema.%s\" does not exist (there are tables and "
                      "columns)",
                      name);
}

struct plan_node *
plan__show_tables(struct plan_binder *b)
{
    return tables_view(b);
}

static const char *const show_cols[] = {"table_catalog", "table_schema", "table_name",
                                        "column_name",   "data_type",    "is_nullable"};
static const enum plan_type show_types[] = {PT_STRING, PT_STRING, PT_STRING,
                                            PT_STRING, PT_STRING, PT_STRING};

struct plan_node *
plan__show_columns(struct plan_binder *b, const char *table, uint32_t pos)
{
    const struct cat_table *t = plan__lookup_table(b, table, pos);
    if (!t)
        return NULL;
    struct plan_node *n = values_node(b, show_cols, show_types, 6);
    if (!n)
        return NULL;
    struct rows r = {b, n, 0};
    if (!add_table_columns(&r, t, true))
        return NULL;
    return n;
}
