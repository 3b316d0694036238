/*
 * backup_scan.c: the live side of a backup: which tables a database has,
 * their columns, and their rows in the canonical order (backup_row.c).
 *
 * Rows are read with ordinary SQL through libstrata:
 *
 *   SELECT "time", <tags by name>, <fields by name> FROM "t"
 *     [WHERE time >= $lo] [AND time < $hi]
 *     ORDER BY "time", "<tag1>" NULLS FIRST, "<tag2>" NULLS FIRST, ...
 *
 * A large table is read in time windows, so that no single query has to
 * sort more than about rows_per_query rows: from count(*), min(time) and
 * max(time), [min, max] is cut into ceil(count / rows_per_query) windows of
 * equal width; the first window has no lower bound and the last none
 * above, so every row is read exactly once even when rows arrive during
 * the backup. Windows are consecutive in time, so their concatenation is
 * in canonical order; the iterator checks that order row by row (a server
 * that broke it, or sent a row twice, is an error, never a silent digest
 * change).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_int.h"

void
bk_strv_free(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int
strp_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run a query and read every batch through fn. */
typedef enum st_code (*batch_fn)(void *arg, struct strata_result *r, struct st_error *err);

static enum st_code
run_query(struct strata *c, const char *db, const char *sql, const struct strata_param *params,
          size_t n_params, batch_fn fn, void *arg, struct st_error *err)
{
    struct strata_result *r;
    ST_TRY(strata_query(c, db, sql, params, n_params, &r, err));
    enum st_code rc = fn ? fn(arg, r, err) : ST_OK;
    bool more;
    while (rc == ST_OK && (rc = strata_result_next(r, &more, err)) == ST_OK && more)
        rc = fn ? fn(arg, r, err) : ST_OK;
    strata_result_free(r);
    return rc;
}

struct names {
    char **v;
    size_t n;
};

static enum st_code
names_batch(void *arg, struct strata_result *r, struct st_error *err)
{
    struct names *nm = arg;
    if (!strata_result_batch(r)) return ST_OK;
    for (uint32_t i = 0; i < strata_result_n_rows(r); i++) {
        const char *s;
        size_t len;
        if (strata_result_get_string(r, 0, i, &s, &len) != ST_OK)
            return st_error_set(err, ST_ECORRUPT, "the server listed tables in a non-text column");
        if (len == 0 || memchr(s, '\0', len))
            return st_error_set(err, ST_ECORRUPT, "the server listed an invalid table name");
        char **v = realloc(nm->v, (nm->n + 1) * sizeof *v);
        if (!v) return st_error_set(err, ST_ENOMEM, "out of memory");
        nm->v = v;
        if (!(v[nm->n] = strndup(s, len))) return st_error_set(err, ST_ENOMEM, "out of memory");
        nm->n++;
    }
    return ST_OK;
}

enum st_code
bk_list_tables(struct strata *c, const char *db, char ***names, size_t *n, struct st_error *err)
{
    struct names nm = {0};
    enum st_code rc = run_query(
        c, db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'iox'", NULL,
        0, names_batch, &nm, err);
    if (rc != ST_OK) {
        bk_strv_free(nm.v, nm.n);
        return rc;
    }
    if (nm.n) qsort(nm.v, nm.n, sizeof *nm.v, strp_cmp);
    *names = nm.v;
    *n = nm.n;
    return ST_OK;
}

static enum st_code
select_from(struct st_buf *b, const char *what, const char *table, const char *tail)
{
    ST_TRY(st_buf_append_str(b, "SELECT "));
    ST_TRY(st_buf_append_str(b, what));
    ST_TRY(st_buf_append_str(b, " FROM "));
    ST_TRY(bk_sql_ident(b, table));
    ST_TRY(st_buf_append_str(b, tail));
    return st_buf_append_byte(b, '\0');
}

enum st_code
bk_table_schema(struct strata *c, const char *db, const char *table, struct bk_schema *s,
                struct bk_mcol **cols, uint32_t *n_cols, struct st_error *err)
{
    struct st_buf sql;
    st_buf_init(&sql, SIZE_MAX);
    bk_schema_init(s);
    *cols = NULL;
    *n_cols = 0;
    if (select_from(&sql, "*", table, " LIMIT 0") != ST_OK) {
        st_buf_cleanup(&sql);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    struct strata_result *r;
    enum st_code rc = strata_query(c, db, (const char *)sql.data, NULL, 0, &r, err);
    st_buf_cleanup(&sql);
    if (rc != ST_OK) return rc;
    uint32_t n = strata_result_n_columns(r);
    rc = bk_schema_set_table(s, table, strlen(table), err);
    struct bk_mcol *mc = calloc(n ? n : 1, sizeof *mc);
    if (!mc && rc == ST_OK) rc = st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n && rc == ST_OK; i++) {
        const char *name = strata_result_column_name(r, i);
        enum st_type type = strata_result_column_type(r, i);
        enum st_role role = strata_result_column_role(r, i);
        enum bk_kind kind = role == ST_ROLE_TIME  ? BK_TIME
                            : role == ST_ROLE_TAG ? BK_TAG
                                                  : BK_FIELD;
        if (role == ST_ROLE_NONE)
            rc = st_error_set(err, ST_ECORRUPT,
                              "table \"%s\": the server did not say whether column \"%s\" is a "
                              "tag or a field",
                              table, name);
        if (rc == ST_OK) rc = bk_schema_add(s, kind, name, strlen(name), type, -1, err);
        if (rc == ST_OK && !(mc[i].name = strdup(name)))
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
        mc[i].kind = kind;
        mc[i].type = type;
    }
    strata_result_free(r);
    if (rc == ST_OK) rc = bk_schema_finish(s, err);
    if (rc != ST_OK) {
        for (uint32_t i = 0; mc && i < n; i++)
            free(mc[i].name);
        free(mc);
        bk_schema_cleanup(s);
        return rc;
    }
    /* result columns of the ordered query: time, tags, fields */
    s->time_src = 0;
    for (uint32_t i = 0; i < s->n_tags; i++)
        s->tags[i].src = (int)(1 + i);
    for (uint32_t i = 0; i < s->n_fields; i++)
        s->fields[i].src = (int)(1 + s->n_tags + i);
    *cols = mc;
    *n_cols = n;
    return ST_OK;
}

static enum st_code
stats_batch(void *arg, struct strata_result *r, struct st_error *err)
{
    struct bk_stats *st = arg;
    if (!strata_result_batch(r) || strata_result_n_rows(r) == 0) return ST_OK;
    if (strata_result_n_columns(r) != 3)
        return st_error_set(err, ST_ECORRUPT, "unexpected reply to count(*), min, max");
    int64_t n = 0;
    uint64_t u = 0;
    enum st_code rc;
    if (strata_result_column_type(r, 0) == ST_TYPE_UINT) {
        rc = strata_result_get_uint(r, 0, 0, &u);
    } else {
        rc = strata_result_get_int(r, 0, 0, &n);
        if (n < 0) rc = ST_ECORRUPT;
        u = (uint64_t)n;
    }
    st->rows = u;
    if (rc == ST_OK && u > 0) {
        if (strata_result_is_null(r, 1, 0) || strata_result_is_null(r, 2, 0)) rc = ST_ECORRUPT;
        if (rc == ST_OK) rc = strata_result_get_time(r, 1, 0, &st->min_ns);
        if (rc == ST_OK) rc = strata_result_get_time(r, 2, 0, &st->max_ns);
    }
    if (rc != ST_OK)
        return st_error_set(err, ST_ECORRUPT, "unexpected reply to count(*), min(time), max(time)");
    return ST_OK;
}

enum st_code
bk_table_stats(struct strata *c, const char *db, const char *table, struct bk_stats *st,
               struct st_error *err)
{
    struct st_buf sql;
    st_buf_init(&sql, SIZE_MAX);
    memset(st, 0, sizeof *st);
    if (select_from(&sql, "count(*), min(time), max(time)", table, "") != ST_OK) {
        st_buf_cleanup(&sql);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    enum st_code rc = run_query(c, db, (const char *)sql.data, NULL, 0, stats_batch, st, err);
    st_buf_cleanup(&sql);
    return rc;
}

/* ---- the ordered iterator ------------------------------------------------------------ */

struct bk_live {
    struct strata *c;
    char *db;
    const struct bk_schema *s;
    char *sql_lo_hi, *sql_lo, *sql_hi, *sql_all;
    uint64_t n_windows, win; /* the next window to open */
    int64_t min_ns;
    uint64_t span, width;
    struct strata_result *r;
    uint32_t row, n_rows;
    const struct st_batch *b;
    struct bk_row cur;
    struct bk_key prev;
    bool done;
};

void
bk_live_close(struct bk_live *l)
{
    if (!l) return;
    strata_result_free(l->r);
    free(l->db);
    free(l->sql_lo_hi);
    free(l->sql_lo);
    free(l->sql_hi);
    free(l->sql_all);
    bk_row_free(&l->cur);
    bk_key_cleanup(&l->prev);
    free(l);
}

static char *
build_sql(const struct bk_schema *s, const char *where)
{
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    enum st_code rc = st_buf_append_str(&b, "SELECT \"time\"");
    for (uint32_t i = 0; i < s->n_tags && rc == ST_OK; i++) {
        rc = st_buf_append_str(&b, ", ");
        if (rc == ST_OK) rc = bk_sql_ident(&b, s->tags[i].name);
    }
    for (uint32_t i = 0; i < s->n_fields && rc == ST_OK; i++) {
        rc = st_buf_append_str(&b, ", ");
        if (rc == ST_OK) rc = bk_sql_ident(&b, s->fields[i].name);
    }
    if (rc == ST_OK) rc = st_buf_append_str(&b, " FROM ");
    if (rc == ST_OK) rc = bk_sql_ident(&b, s->table);
    if (rc == ST_OK) rc = st_buf_append_str(&b, where);
    if (rc == ST_OK) rc = st_buf_append_str(&b, " ORDER BY \"time\"");
    for (uint32_t i = 0; i < s->n_tags && rc == ST_OK; i++) {
        rc = st_buf_append_str(&b, ", ");
        if (rc == ST_OK) rc = bk_sql_ident(&b, s->tags[i].name);
        if (rc == ST_OK) rc = st_buf_append_str(&b, " NULLS FIRST");
    }
    if (rc == ST_OK) rc = st_buf_append_byte(&b, '\0');
    if (rc != ST_OK) {
        st_buf_cleanup(&b);
        return NULL;
    }
    return (char *)b.data;
}

struct bk_live *
bk_live_open(struct strata *c, const char *db, const struct bk_schema *s, const struct bk_stats *st,
             uint64_t rows_per_query, struct st_error *err)
{
    struct bk_live *l = calloc(1, sizeof *l);
    if (!l) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    bk_key_init(&l->prev);
    l->c = c;
    l->s = s;
    l->db = strdup(db);
    l->sql_all = build_sql(s, "");
    l->sql_lo = build_sql(s, " WHERE \"time\" >= $lo");
    l->sql_hi = build_sql(s, " WHERE \"time\" < $hi");
    l->sql_lo_hi = build_sql(s, " WHERE \"time\" >= $lo AND \"time\" < $hi");
    if (!l->db || !l->sql_all || !l->sql_lo || !l->sql_hi || !l->sql_lo_hi ||
        bk_row_alloc(&l->cur, s, err) != ST_OK) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        bk_live_close(l);
        return NULL;
    }
    if (rows_per_query == 0) rows_per_query = BK_DEFAULT_ROWS_PER_QUERY;
    l->n_windows = 1;
    if (st->rows > rows_per_query && st->max_ns > st->min_ns) {
        uint64_t span = (uint64_t)st->max_ns - (uint64_t)st->min_ns; /* < 2^64 */
        l->n_windows = (st->rows + rows_per_query - 1) / rows_per_query;
        if (l->n_windows > span) l->n_windows = span; /* windows at least 1 ns wide */
        if (l->n_windows > 1000000) l->n_windows = 1000000;
        l->width = span / l->n_windows + (span % l->n_windows != 0);
        l->span = span;
        l->min_ns = st->min_ns;
    }
    return l;
}

/* The lower bound of window w: min + w * width, at most max. Bounds only
 * grow with w, so the windows partition the time line. */
static int64_t
bound(const struct bk_live *l, uint64_t w)
{
    __uint128_t off = (__uint128_t)w * l->width;
    if (off > l->span) off = l->span;
    return (int64_t)((uint64_t)l->min_ns + (uint64_t)off);
}

static enum st_code
open_window(struct bk_live *l, struct st_error *err)
{
    uint64_t w = l->win++;
    struct strata_param p[2];
    size_t np = 0;
    const char *sql;
    if (l->n_windows == 1) {
        sql = l->sql_all;
    } else if (w == 0) {
        sql = l->sql_hi;
        p[np++] = (struct strata_param){"hi", ST_TYPE_INT, {.i = bound(l, 1)}};
    } else if (w + 1 == l->n_windows) {
        sql = l->sql_lo;
        p[np++] = (struct strata_param){"lo", ST_TYPE_INT, {.i = bound(l, w)}};
    } else {
        sql = l->sql_lo_hi;
        p[np++] = (struct strata_param){"lo", ST_TYPE_INT, {.i = bound(l, w)}};
        p[np++] = (struct strata_param){"hi", ST_TYPE_INT, {.i = bound(l, w + 1)}};
    }
    return strata_query(l->c, l->db, sql, p, np, &l->r, err);
}

static enum st_code
check_batch(const struct bk_live *l, const struct st_batch *b, struct st_error *err)
{
    const struct bk_schema *s = l->s;
    if (b->n_cols != 1 + s->n_tags + s->n_fields)
        return st_error_set(err, ST_ECORRUPT, "table \"%s\": the server sent %u columns, not %u",
                            s->table, b->n_cols, 1 + s->n_tags + s->n_fields);
    if (b->cols[0].type != ST_TYPE_TIME || b->cols[0].null_count)
        return st_error_set(err, ST_ECORRUPT, "table \"%s\": bad time column from the server",
                            s->table);
    for (uint32_t i = 0; i < s->n_tags; i++)
        if (b->cols[s->tags[i].src].type != ST_TYPE_STRING)
            return st_error_set(err, ST_ECORRUPT, "table \"%s\": tag \"%s\" is not a string",
                                s->table, s->tags[i].name);
    for (uint32_t i = 0; i < s->n_fields; i++)
        if (b->cols[s->fields[i].src].type != s->fields[i].type)
            return st_error_set(err, ST_ECORRUPT,
                                "table \"%s\": field \"%s\" changed its type during the backup",
                                s->table, s->fields[i].name);
    return ST_OK;
}

static void
get_string(const struct st_column *c, uint32_t row, struct bk_val *v)
{
    int32_t a = c->v.offsets[row], z = c->v.offsets[row + 1];
    v->v.s.p = c->str_data + a;
    v->v.s.len = z > a ? (size_t)(z - a) : 0;
}

enum st_code
bk_live_next(struct bk_live *l, const struct bk_row **row, struct st_error *err)
{
    *row = NULL;
    while (!l->done && (!l->b || l->row >= l->n_rows)) {
        if (!l->r) {
            if (l->win >= l->n_windows) {
                l->done = true;
                break;
            }
            ST_TRY(open_window(l, err));
        }
        bool more;
        ST_TRY(strata_result_next(l->r, &more, err));
        if (!more) {
            strata_result_free(l->r);
            l->r = NULL;
            l->b = NULL;
            continue;
        }
        l->b = strata_result_batch(l->r);
        l->row = 0;
        l->n_rows = l->b ? l->b->n_rows : 0;
        if (l->b) ST_TRY(check_batch(l, l->b, err));
    }
    if (l->done) return ST_OK;

    const struct bk_schema *s = l->s;
    const struct st_batch *b = l->b;
    uint32_t i = l->row++;
    struct bk_row *r = &l->cur;
    r->time = b->cols[0].v.i64[i];
    for (uint32_t t = 0; t < s->n_tags; t++) {
        const struct st_column *c = &b->cols[s->tags[t].src];
        r->tags[t].present = st_column_is_valid(c, i);
        if (r->tags[t].present) get_string(c, i, &r->tags[t]);
    }
    for (uint32_t f = 0; f < s->n_fields; f++) {
        const struct st_column *c = &b->cols[s->fields[f].src];
        struct bk_val *v = &r->fields[f];
        v->present = st_column_is_valid(c, i);
        if (!v->present) continue;
        switch (c->type) {
        case ST_TYPE_FLOAT:
            v->v.f = c->v.f64[i];
            break;
        case ST_TYPE_INT:
            v->v.i = c->v.i64[i];
            break;
        case ST_TYPE_UINT:
            v->v.u = c->v.u64[i];
            break;
        case ST_TYPE_BOOL:
            v->v.b = c->v.b[i] != 0;
            break;
        default:
            get_string(c, i, v);
            break;
        }
    }
    bool any = false;
    for (uint32_t f = 0; f < s->n_fields && !any; f++)
        any = r->fields[f].present;
    if (!any) {
        char key[200];
        bk_row_describe(s, r, key, sizeof key);
        return st_error_set(err, ST_ECORRUPT,
                            "table \"%s\": the row %s has no value in the fields read (was a "
                            "field added while this ran? then run it again)",
                            s->table, key);
    }
    if (l->prev.set) {
        int cmp = bk_key_cmp(&l->prev, s, r);
        if (cmp >= 0) {
            char key[200];
            bk_row_describe(s, r, key, sizeof key);
            return st_error_set(err, ST_ECORRUPT,
                                cmp == 0 ? "table \"%s\": the server returned the row %s twice"
                                         : "table \"%s\": the server returned rows out of order "
                                           "at %s",
                                s->table, key);
        }
    }
    ST_TRY(bk_key_set(&l->prev, s, r, err));
    *row = r;
    return ST_OK;
}
