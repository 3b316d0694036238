/*
 * backup_manifest.c: manifest.json and SHA256SUMS of a backup.
 *
 * manifest.json (format version 1; docs/backup.md shows an example):
 *
 *   {
 *     "format": "strata-backup",
 *     "format_version": 1,
 *     "database": "metrics",
 *     "created_at": "2024-05-01T12:00:00.123456789Z",   (informative)
 *     "created_at_ns": 1714564800123456789,
 *     "client_version": "0.1.0",
 *     "server": "127.0.0.1:8181",
 *     "server_version": "0.1.0",                        (null: the server did not say)
 *     "all_tables": true,                               (false: a --table selection)
 *     "tables": [
 *       {
 *         "name": "cpu",
 *         "file": "cpu.lp.gz",
 *         "rows": 1000,
 *         "time_min_ns": 1700000000000000000,           (null when rows is 0)
 *         "time_max_ns": 1700000999000000000,
 *         "columns": [{"name": "time", "kind": "time", "type": "time", "values": 1000},
 *                     {"name": "host", "kind": "tag", "type": "string", "values": 990},
 *                     {"name": "usage", "kind": "field", "type": "float", "values": 1000}],
 *         "lp_bytes": 52000,                             (uncompressed)
 *         "content_sha256": "…64 hex digits…",
 *         "file_bytes": 9000,
 *         "file_sha256": "…64 hex digits…"
 *       }
 *     ]
 *   }
 *
 * Field types: "float", "integer", "unsigned", "boolean", "string"; tags
 * are "string", time is "time". Columns are listed in the source
 * database's order; "values" counts the rows in which a column is not NULL
 * (a column with 0 values cannot be recreated by a restore). Readers refuse a newer format_version
 * and ignore keys they do not know. The manifest is read from disk, so decoding validates every
 * value before anything uses it (file names in particular: one path component of safe bytes, so a
 * manifest cannot point outside its directory).
 *
 * SHA256SUMS lists `<sha256>  <file>` for every table file and for
 * manifest.json, so `sha256sum -c SHA256SUMS` checks a backup with standard
 * tools, and an edited manifest is detected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backup_int.h"
#include "strata/clock.h"

#define FORMAT_NAME "strata-backup"

void
bk_manifest_init(struct bk_manifest *m)
{
    memset(m, 0, sizeof *m);
}

void
bk_mtable_cleanup(struct bk_mtable *t)
{
    if (!t) return;
    free(t->name);
    free(t->file);
    for (uint32_t i = 0; i < t->n_cols; i++)
        free(t->cols[i].name);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

void
bk_manifest_cleanup(struct bk_manifest *m)
{
    if (!m) return;
    free(m->database);
    free(m->client_version);
    free(m->server);
    free(m->server_version);
    for (uint32_t i = 0; i < m->n_tables; i++)
        bk_mtable_cleanup(&m->tables[i]);
    free(m->tables);
    bk_manifest_init(m);
}

enum st_code
bk_manifest_add(struct bk_manifest *m, struct bk_mtable *t, struct st_error *err)
{
    if (m->n_tables >= BK_MAX_TABLES)
        return st_error_set(err, ST_ELIMIT, "more than %u tables", BK_MAX_TABLES);
    struct bk_mtable *v = realloc(m->tables, (m->n_tables + 1) * sizeof *v);
    if (!v) return st_error_set(err, ST_ENOMEM, "out of memory");
    m->tables = v;
    v[m->n_tables++] = *t;
    memset(t, 0, sizeof *t);
    return ST_OK;
}

static const struct {
    enum st_type type;
    const char *name;
} type_names[] = {
    {ST_TYPE_TIME, "time"},   {ST_TYPE_STRING, "string"}, {ST_TYPE_FLOAT, "float"},
    {ST_TYPE_INT, "integer"}, {ST_TYPE_UINT, "unsigned"}, {ST_TYPE_BOOL, "boolean"},
};

const char *
bk_type_name(enum st_type t)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].type == t) return type_names[i].name;
    return "unknown";
}

static bool
type_parse(const char *s, enum st_type *t)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(type_names[i].name, s) == 0) {
            *t = type_names[i].type;
            return true;
        }
    return false;
}

const char *
bk_kind_name(enum bk_kind k)
{
    return k == BK_TIME ? "time" : k == BK_TAG ? "tag" : "field";
}

/* ---- encode ------------------------------------------------------------------------ */

/* json_object_set_new that remembers a failure. */
static void
put(json_t *o, const char *k, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, k, v) != 0) *ok = false;
}

static json_t *
table_json(const struct bk_mtable *t, bool *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "name", json_string(t->name), ok);
    put(o, "file", json_string(t->file), ok);
    put(o, "rows", json_integer((json_int_t)t->rows), ok);
    put(o, "time_min_ns", t->has_range ? json_integer(t->time_min_ns) : json_null(), ok);
    put(o, "time_max_ns", t->has_range ? json_integer(t->time_max_ns) : json_null(), ok);
    json_t *cols = json_array();
    for (uint32_t i = 0; cols && i < t->n_cols; i++) {
        json_t *c = json_object();
        if (!c) {
            *ok = false;
            break;
        }
        put(c, "name", json_string(t->cols[i].name), ok);
        put(c, "kind", json_string(bk_kind_name(t->cols[i].kind)), ok);
        put(c, "type", json_string(bk_type_name(t->cols[i].type)), ok);
        put(c, "values", json_integer((json_int_t)t->cols[i].values), ok);
        if (json_array_append_new(cols, c) != 0) *ok = false;
    }
    put(o, "columns", cols, ok);
    put(o, "lp_bytes", json_integer((json_int_t)t->lp_bytes), ok);
    put(o, "content_sha256", json_string(t->content_sha256), ok);
    put(o, "file_bytes", json_integer((json_int_t)t->file_bytes), ok);
    put(o, "file_sha256", json_string(t->file_sha256), ok);
    return o;
}

enum st_code
bk_manifest_encode(const struct bk_manifest *m, char **out, size_t *len, struct st_error *err)
{
    bool ok = true;
    char when[64];
    st_format_rfc3339(m->created_at_ns, when, sizeof when);
    json_t *o = json_object();
    if (!o) return st_error_set(err, ST_ENOMEM, "out of memory");
    put(o, "format", json_string(FORMAT_NAME), &ok);
    put(o, "format_version", json_integer(STRATA_BACKUP_FORMAT_VERSION), &ok);
    put(o, "database", json_string(m->database), &ok);
    put(o, "created_at", json_string(when), &ok);
    put(o, "created_at_ns", json_integer(m->created_at_ns), &ok);
    put(o, "client_version", json_string(m->client_version ? m->client_version : ""), &ok);
    put(o, "server", json_string(m->server ? m->server : ""), &ok);
    put(o, "server_version",
        m->server_version && *m->server_version ? json_string(m->server_version) : json_null(),
        &ok);
    put(o, "all_tables", json_boolean(m->all_tables), &ok);
    json_t *tables = json_array();
    for (uint32_t i = 0; tables && i < m->n_tables; i++)
        if (json_array_append_new(tables, table_json(&m->tables[i], &ok)) != 0) ok = false;
    put(o, "tables", tables, &ok);
    char *text = ok ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!text) return st_error_set(err, ST_ENOMEM, "out of memory encoding the manifest");
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (!t2) {
        free(text);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    t2[n] = '\n';
    t2[n + 1] = '\0';
    *out = t2;
    *len = n + 1;
    return ST_OK;
}

/* ---- decode ------------------------------------------------------------------------ */

static enum st_code
bad(struct st_error *err, const char *where, const char *what)
{
    return st_error_set(err, ST_ECORRUPT, "manifest.json: %s: %s", where, what);
}

/* A string member without NUL bytes: NULL when missing or not a string. */
static const char *
get_str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return NULL;
    const char *s = json_string_value(v);
    return strlen(s) == json_string_length(v) ? s : NULL;
}

static bool
get_int(json_t *o, const char *k, int64_t min, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) return false;
    json_int_t x = json_integer_value(v);
    if (x < min) return false;
    *out = (int64_t)x;
    return true;
}

static bool
hex64(const char *s)
{
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

static enum st_code
decode_table(json_t *o, uint32_t idx, struct bk_mtable *t, struct st_error *err)
{
    char where[64];
    snprintf(where, sizeof where, "tables[%u]", idx);
    if (!json_is_object(o)) return bad(err, where, "not an object");
    const char *name = get_str(o, "name"), *file = get_str(o, "file");
    if (!name || !*name || strlen(name) > BK_MAX_NAME)
        return bad(err, where, "\"name\" is missing or invalid");
    if (!file || !bk_file_name_ok(file))
        return bad(err, where,
                   "\"file\" is missing or not a plain file name ending in .lp.gz (a manifest "
                   "may only name files inside its directory)");
    int64_t rows, lp_bytes, file_bytes;
    if (!get_int(o, "rows", 0, &rows)) return bad(err, where, "\"rows\" is not a count");
    if (!get_int(o, "lp_bytes", 0, &lp_bytes)) return bad(err, where, "\"lp_bytes\" is not a size");
    if (!get_int(o, "file_bytes", 1, &file_bytes))
        return bad(err, where, "\"file_bytes\" is not a size");
    const char *csha = get_str(o, "content_sha256"), *fsha = get_str(o, "file_sha256");
    if (!hex64(csha)) return bad(err, where, "\"content_sha256\" is not 64 hex digits");
    if (!hex64(fsha)) return bad(err, where, "\"file_sha256\" is not 64 hex digits");
    json_t *tmin = json_object_get(o, "time_min_ns"), *tmax = json_object_get(o, "time_max_ns");
    if (rows > 0) {
        if (!json_is_integer(tmin) || !json_is_integer(tmax) ||
            json_integer_value(tmin) > json_integer_value(tmax))
            return bad(err, where, "\"time_min_ns\" and \"time_max_ns\" are not a time range");
        t->time_min_ns = json_integer_value(tmin);
        t->time_max_ns = json_integer_value(tmax);
        t->has_range = true;
    } else if (!json_is_null(tmin) || !json_is_null(tmax)) {
        return bad(err, where, "a table without rows has a null time range");
    }
    json_t *cols = json_object_get(o, "columns");
    if (!json_is_array(cols) || json_array_size(cols) == 0 ||
        json_array_size(cols) > BK_MAX_COLUMNS)
        return bad(err, where, "\"columns\" is not a list of columns");
    t->name = strdup(name);
    t->file = strdup(file);
    t->cols = calloc(json_array_size(cols), sizeof *t->cols);
    if (!t->name || !t->file || !t->cols) return st_error_set(err, ST_ENOMEM, "out of memory");
    t->rows = (uint64_t)rows;
    t->lp_bytes = (uint64_t)lp_bytes;
    t->file_bytes = (uint64_t)file_bytes;
    memcpy(t->content_sha256, csha, BK_SHA256_HEX);
    memcpy(t->file_sha256, fsha, BK_SHA256_HEX);
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
    {
        snprintf(where, sizeof where, "tables[%u].columns[%zu]", idx, i);
        const char *cn = json_is_object(c) ? get_str(c, "name") : NULL;
        const char *ck = json_is_object(c) ? get_str(c, "kind") : NULL;
        const char *ct = json_is_object(c) ? get_str(c, "type") : NULL;
        enum st_type type;
        int64_t values;
        if (!cn || !*cn || strlen(cn) > BK_MAX_NAME || !ck || !ct || !type_parse(ct, &type) ||
            !get_int(c, "values", 0, &values) || (uint64_t)values > t->rows)
            return bad(err, where, "not a column {name, kind, type, values}");
        enum bk_kind kind;
        if (strcmp(ck, "time") == 0 && type == ST_TYPE_TIME)
            kind = BK_TIME;
        else if (strcmp(ck, "tag") == 0 && type == ST_TYPE_STRING)
            kind = BK_TAG;
        else if (strcmp(ck, "field") == 0 && type != ST_TYPE_TIME)
            kind = BK_FIELD;
        else
            return bad(err, where, "unknown kind, or a type the kind cannot have");
        t->cols[t->n_cols].name = strdup(cn);
        if (!t->cols[t->n_cols].name) return st_error_set(err, ST_ENOMEM, "out of memory");
        t->cols[t->n_cols].kind = kind;
        t->cols[t->n_cols].type = type;
        t->cols[t->n_cols].values = (uint64_t)values;
        t->n_cols++;
    }
    /* the columns must make a schema: one time column, unique names */
    struct bk_schema s;
    enum st_code rc = bk_manifest_schema(t, &s, err);
    bk_schema_cleanup(&s);
    if (rc != ST_OK) {
        snprintf(where, sizeof where, "tables[%u].columns", idx);
        char why[ST_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "invalid");
        return bad(err, where, why);
    }
    return ST_OK;
}

enum st_code
bk_manifest_decode(const char *text, size_t len, struct bk_manifest *m, struct st_error *err)
{
    bk_manifest_init(m);
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return st_error_set(err, ST_ECORRUPT, "manifest.json: line %d, column %d: %s", je.line,
                            je.column, je.text);
    enum st_code rc = ST_OK;
    const char *fmt, *db, *cv, *srv, *sv;
    int64_t ver, created;
    json_t *all, *tables;
    if (!json_is_object(o)) {
        rc = bad(err, "top level", "not an object");
        goto out;
    }
    fmt = get_str(o, "format");
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0) {
        rc =
            bad(err, "\"format\"", "not \"" FORMAT_NAME "\": this is not a Strata backup manifest");
        goto out;
    }
    if (!get_int(o, "format_version", 1, &ver)) {
        rc = bad(err, "\"format_version\"", "missing or invalid");
        goto out;
    }
    if (ver > STRATA_BACKUP_FORMAT_VERSION) {
        rc = st_error_set(err, ST_EUNSUPPORTED,
                          "manifest.json has format version %lld; this strata reads version %d "
                          "(use a newer strata)",
                          (long long)ver, STRATA_BACKUP_FORMAT_VERSION);
        goto out;
    }
    db = get_str(o, "database");
    cv = get_str(o, "client_version");
    srv = get_str(o, "server");
    all = json_object_get(o, "all_tables");
    tables = json_object_get(o, "tables");
    if (!db || !*db) {
        rc = bad(err, "\"database\"", "missing or invalid");
        goto out;
    }
    if (!get_int(o, "created_at_ns", INT64_MIN, &created)) {
        rc = bad(err, "\"created_at_ns\"", "missing or invalid");
        goto out;
    }
    if (!json_is_boolean(all)) {
        rc = bad(err, "\"all_tables\"", "missing or not a boolean");
        goto out;
    }
    if (!json_is_array(tables) || json_array_size(tables) > BK_MAX_TABLES) {
        rc = bad(err, "\"tables\"", "missing or not a list");
        goto out;
    }
    m->version = (uint32_t)ver;
    m->database = strdup(db);
    m->client_version = strdup(cv ? cv : "");
    m->server = strdup(srv ? srv : "");
    sv = get_str(o, "server_version"); /* a string, or null/absent: unknown */
    if (sv && *sv && !(m->server_version = strdup(sv))) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    m->created_at_ns = created;
    m->all_tables = json_is_true(all);
    m->tables = calloc(json_array_size(tables) + 1, sizeof *m->tables);
    if (!m->database || !m->client_version || !m->server || !m->tables) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t)
    {
        rc = decode_table(t, (uint32_t)i, &m->tables[m->n_tables], err);
        m->n_tables++; /* cleaned up with the manifest even when half filled */
        if (rc != ST_OK) goto out;
        for (uint32_t j = 0; j + 1 < m->n_tables; j++) {
            char where[32];
            snprintf(where, sizeof where, "tables[%zu]", i);
            if (strcmp(m->tables[j].name, m->tables[i].name) == 0) {
                rc = bad(err, where, "a table is listed twice");
                goto out;
            }
            if (strcmp(m->tables[j].file, m->tables[i].file) == 0) {
                rc = bad(err, where, "two tables name the same file");
                goto out;
            }
        }
    }
out:
    json_decref(o);
    if (rc != ST_OK) bk_manifest_cleanup(m);
    return rc;
}

enum st_code
bk_manifest_schema(const struct bk_mtable *t, struct bk_schema *s, struct st_error *err)
{
    bk_schema_init(s);
    ST_TRY(bk_schema_set_table(s, t->name, strlen(t->name), err));
    for (uint32_t i = 0; i < t->n_cols; i++)
        ST_TRY(bk_schema_add(s, t->cols[i].kind, t->cols[i].name, strlen(t->cols[i].name),
                             t->cols[i].type, -1, err));
    return bk_schema_finish(s, err);
}

/* ---- SHA256SUMS -------------------------------------------------------------------- */

enum st_code
bk_sums_encode(const struct bk_manifest *m, const char *manifest_sha, struct st_buf *out,
               struct st_error *err)
{
    for (uint32_t i = 0; i < m->n_tables; i++)
        if (st_buf_printf(out, "%s  %s\n", m->tables[i].file_sha256, m->tables[i].file) != ST_OK)
            return st_error_set(err, ST_ENOMEM, "out of memory");
    if (st_buf_printf(out, "%s  manifest.json\n", manifest_sha) != ST_OK)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    return ST_OK;
}

enum st_code
bk_sums_find(const char *text, size_t len, const char *file, bool *found, char hex[BK_SHA256_HEX],
             struct st_error *err)
{
    *found = false;
    size_t fl = strlen(file), line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        size_t n = (size_t)(le - p);
        if (n == 0) {
            p = le + 1;
            continue;
        }
        char h[BK_SHA256_HEX];
        if (n < 67 || (p[64] != ' ') || (p[65] != ' ' && p[65] != '*'))
            return st_error_set(err, ST_ECORRUPT,
                                "SHA256SUMS: line %zu is not \"<sha256>  <file>\"", line);
        memcpy(h, p, 64);
        h[64] = '\0';
        if (!hex64(h))
            return st_error_set(err, ST_ECORRUPT, "SHA256SUMS: line %zu: not a SHA-256", line);
        if (n - 66 == fl && memcmp(p + 66, file, fl) == 0) {
            *found = true;
            memcpy(hex, h, BK_SHA256_HEX);
        }
        p = le + 1;
    }
    return ST_OK;
}
