/*
 * engine_query.c: the query half of the engine facade (engine.h):
 * eng_query, the cursor functions and eng_sql_normalize.
 *
 *   SQL text --sql_parse--> AST --plan_build--> plan --exec_open--> cursor
 *
 * A cursor owns everything its query needs until eng_cursor_free: the
 * arena (AST, plan), the compiled regular expressions, the storage read
 * view (a consistent snapshot: writes, persists and deletes that happen
 * while the cursor is open do not change its answer), and the executor.
 *
 * EXPLAIN answers with one row per line of the plan (column "plan"),
 * including storage's estimate of the partitions, series and blocks each
 * scan will read. DELETE runs at once through eng_delete_rows and answers
 * one row with the column "rows_deleted"; it is refused when
 * opts.read_only is set.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"
#include "strata/engine.h"
#include "strata/exec.h"
#include "strata/plan.h"
#include "strata/sql.h"
#include "strata/storage.h"

#define QUERY_ARENA_MAX (256u << 20) /* AST, plan and constant rows of one statement */

struct eng_cursor {
    struct sql_arena arena;
    struct plan_ctx pctx;
    struct stor_view *view;
    struct exec_source src;
    struct exec_query *q;
    const struct plan_node *root;
    struct st_field *fields;
    struct st_schema schema;
    int64_t started_ns;
    int64_t elapsed_ns;
};

/* A source for statements without a database: any scan is a bug. */
static enum st_code
no_open(void *ctx, const struct stor_scan_spec *spec, void **scan, struct st_error *err)
{
    (void)ctx;
    (void)spec;
    *scan = NULL;
    return st_error_set(err, ST_EINVAL, "no database selected");
}

static enum st_code
no_next(void *scan, const struct stor_batch **out, struct st_error *err)
{
    (void)scan;
    (void)err;
    *out = NULL;
    return ST_OK;
}

static void
no_close(void *scan)
{
    (void)scan;
}

static enum st_code
no_estimate(void *ctx, const struct stor_scan_spec *spec, struct stor_scan_estimate *out,
            struct st_error *err)
{
    (void)ctx;
    (void)spec;
    (void)err;
    memset(out, 0, sizeof *out);
    out->t_min = INT64_MAX;
    out->t_max = INT64_MIN;
    return ST_OK;
}

static enum st_code
estimate_cb(void *ctx, const struct stor_scan_spec *spec, struct stor_scan_estimate *out,
            struct st_error *err)
{
    const struct exec_source *src = ctx;
    return src->estimate(src->ctx, spec, out, err);
}

void
eng_cursor_free(struct eng_cursor *c)
{
    if (!c)
        return;
    exec_close(c->q);
    plan_ctx_cleanup(&c->pctx);
    stor_view_close(c->view);
    free(c->fields);
    sql_arena_cleanup(&c->arena);
    free(c);
}

/* A constant-rows node with one string column per `names`, rows of strings. */
static struct plan_node *
text_rows(struct sql_arena *a, const char *col, const char *const *lines, uint32_t n)
{
    struct plan_node *pn = sql_arena_alloc(a, sizeof *pn);
    struct plan_col *cols = sql_arena_alloc(a, sizeof *cols);
    struct plan_value *rows = sql_arena_alloc(a, (n ? n : 1) * sizeof *rows);
    if (!pn || !cols || !rows)
        return NULL;
    cols[0].name = col;
    cols[0].type = PT_STRING;
    pn->kind = PN_VALUES;
    pn->n_cols = 1;
    pn->cols = cols;
    pn->u.values.n_rows = n;
    pn->u.values.rows = rows;
    for (uint32_t i = 0; i < n; i++) {
        rows[i].type = PT_STRING;
        rows[i].v.s.p = lines[i];
        rows[i].v.s.len = (uint32_t)strlen(lines[i]);
    }
    return pn;
}

static enum st_code
convert_params(struct eng_cursor *c, const struct eng_query_opts *o, struct st_error *err)
{
    if (!o || o->n_params == 0)
        return ST_OK;
    if (o->n_params > 4096)
        return st_error_set(err, ST_ELIMIT, "too many parameters (%u, the limit is 4096)",
                            o->n_params);
    struct plan_param *pp = sql_arena_alloc(&c->arena, o->n_params * sizeof *pp);
    if (!pp)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < o->n_params; i++) {
        const struct eng_param *p = &o->params[i];
        if (!p->name || !*p->name)
            return st_error_set(err, ST_EINVAL, "parameter %u has no name", i + 1);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(o->params[j].name, p->name) == 0)
                return st_error_set(err, ST_EINVAL, "parameter $%s is given twice", p->name);
        pp[i].name = p->name;
        struct plan_value *v = &pp[i].value;
        v->type = (enum plan_type)p->type;
        switch (p->type) {
        case ST_TYPE_NULL:
            v->is_null = true;
            break;
        case ST_TYPE_TIME:
        case ST_TYPE_INT:
            v->v.i = p->v.i;
            break;
        case ST_TYPE_UINT:
            v->v.u = p->v.u;
            break;
        case ST_TYPE_FLOAT:
            if (!(p->v.f - p->v.f == 0.0))
                return st_error_set(err, ST_EINVAL, "parameter $%s is not a finite number",
                                    p->name);
            v->v.f = p->v.f;
            break;
        case ST_TYPE_BOOL:
            v->v.b = p->v.b;
            break;
        case ST_TYPE_STRING:
            if (p->v.s.len > SQL_MAX_TEXT_LEN)
                return st_error_set(err, ST_ELIMIT, "parameter $%s is too long", p->name);
            v->v.s.p = p->v.s.ptr ? p->v.s.ptr : "";
            v->v.s.len = (uint32_t)p->v.s.len;
            break;
        default:
            return st_error_set(err, ST_EINVAL, "parameter $%s has an unknown type", p->name);
        }
    }
    c->pctx.params = pp;
    c->pctx.n_params = o->n_params;
    return ST_OK;
}

/* Lines describing a DELETE (for EXPLAIN DELETE). */
static enum st_code
explain_delete(struct eng_cursor *c, const struct plan_delete *d, struct st_error *err)
{
    char buf[1024];
    const char *lines[2];
    char lo[48] = "-inf", hi[48] = "+inf";
    if (d->t_lo != INT64_MIN)
        st_format_rfc3339(d->t_lo, lo, sizeof lo);
    if (d->t_hi != INT64_MAX)
        st_format_rfc3339(d->t_hi, hi, sizeof hi);
    size_t n = (size_t)snprintf(buf, sizeof buf, "Delete: %s time=[%s, %s)", d->table, lo, hi);
    for (uint32_t i = 0; i < d->n_tags && n < sizeof buf; i++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, " %s %s (", d->tags[i].tag,
                              d->tags[i].in ? "IN" : "=");
        for (uint32_t k = 0; k < d->tags[i].n_values && n < sizeof buf; k++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s'%s'", k ? ", " : "",
                                  d->tags[i].values[k]);
        if (n < sizeof buf)
            n += (size_t)snprintf(buf + n, sizeof buf - n, ")");
    }
    lines[0] = sql_arena_strndup(&c->arena, buf, strlen(buf));
    if (!lines[0] || !(c->root = text_rows(&c->arena, "plan", lines, 1)))
        return st_error_set(err, ST_ENOMEM, "out of memory");
    return ST_OK;
}

static enum st_code
run_delete(struct eng *e, const char *db, struct eng_cursor *c, const struct plan_delete *d,
           struct st_error *err)
{
    uint64_t n = 0;
    if (d->t_lo < d->t_hi) {
        struct eng_tag_match *tm = sql_arena_alloc(&c->arena, (d->n_tags + 1) * sizeof *tm);
        if (!tm)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < d->n_tags; i++) {
            tm[i].tag = d->tags[i].tag;
            tm[i].op = d->tags[i].in ? ENG_TAG_IN : ENG_TAG_EQ;
            tm[i].n_values = d->tags[i].n_values;
            tm[i].values = d->tags[i].values;
        }
        struct eng_delete ed = {.table = d->table, .t_lo = d->t_lo, .t_hi = d->t_hi,
                                .n_tags = d->n_tags, .tags = tm};
        /* the snapshot is not needed to delete; let it go first */
        stor_view_close(c->view);
        c->view = NULL;
        ST_TRY(eng_delete_rows(e, db, &ed, &n, err));
    }
    struct plan_node *pn = sql_arena_alloc(&c->arena, sizeof *pn);
    struct plan_col *col = sql_arena_alloc(&c->arena, sizeof *col);
    struct plan_value *row = sql_arena_alloc(&c->arena, sizeof *row);
    if (!pn || !col || !row)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    col->name = "rows_deleted";
    col->type = PT_INT;
    pn->kind = PN_VALUES;
    pn->n_cols = 1;
    pn->cols = col;
    pn->u.values.n_rows = 1;
    pn->u.values.rows = row;
    row->type = PT_INT;
    row->v.i = n > INT64_MAX ? INT64_MAX : (int64_t)n;
    c->root = pn;
    return ST_OK;
}

static enum st_code
prepare(struct eng *e, const char *db, const char *sql, size_t sql_len,
        const struct eng_query_opts *opts, struct eng_cursor *c, struct st_error *err)
{
    struct sql_stmt *stmt;
    ST_TRY(sql_parse(sql, sql_len, &c->arena, &stmt, err));
    bool has_db = db && *db;
    if (has_db)
        ST_TRY(stor_view_open(e, db, &c->view, err));
    if (c->view)
        exec_source_storage(&c->src, c->view);
    else
        c->src = (struct exec_source){NULL, no_open, no_next, no_close, no_estimate};
    c->pctx.arena = &c->arena;
    c->pctx.db = c->view ? stor_view_db(c->view) : NULL;
    c->pctx.db_name = has_db ? db : NULL;
    c->pctx.now_ns = st_now_ns();
    c->pctx.batch_rows = opts && opts->batch_rows ? opts->batch_rows : 2048;
    if (c->pctx.batch_rows > 65536)
        c->pctx.batch_rows = 65536;
    ST_TRY(convert_params(c, opts, err));
    struct plan *p;
    ST_TRY(plan_build(&c->pctx, stmt, &p, err));
    switch (p->kind) {
    case PLAN_QUERY:
        c->root = p->root;
        return ST_OK;
    case PLAN_DELETE:
        if (opts && opts->read_only)
            return st_error_set_at(err, ST_EPERMISSION, stmt->pos,
                                   "DELETE is not allowed: the query is read-only");
        return run_delete(e, db, c, &p->del, err);
    case PLAN_EXPLAIN:
        if (!p->root)
            return explain_delete(c, &p->del, err);
        {
            const char **lines;
            uint32_t n;
            ST_TRY(plan_explain(p->root, &c->arena, estimate_cb, &c->src, &lines, &n, err));
            c->root = text_rows(&c->arena, "plan", lines, n);
            if (!c->root)
                return st_error_set(err, ST_ENOMEM, "out of memory");
        }
        return ST_OK;
    }
    return st_error_set(err, ST_EINTERNAL, "unknown plan kind");
}

enum st_code
eng_query(struct eng *e, const char *db, const char *sql, size_t sql_len,
          const struct eng_query_opts *opts, struct eng_cursor **out, struct st_error *err)
{
    if (!out)
        return st_error_set(err, ST_EINVAL, "no cursor pointer");
    *out = NULL;
    if (!e || (!sql && sql_len))
        return st_error_set(err, ST_EINVAL, "no engine or no SQL text");
    if (sql_len > SQL_MAX_TEXT_LEN)
        return st_error_set_at(err, ST_ELIMIT, SQL_MAX_TEXT_LEN,
                               "query text too long (%zu bytes, the limit is %u)", sql_len,
                               SQL_MAX_TEXT_LEN);
    struct eng_cursor *c = calloc(1, sizeof *c);
    if (!c)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    c->started_ns = st_mono_ns();
    sql_arena_init(&c->arena, QUERY_ARENA_MAX);
    enum st_code rc = prepare(e, db, sql ? sql : "", sql_len, opts, c, err);
    if (rc == ST_OK) {
        c->fields = calloc(c->root->n_cols ? c->root->n_cols : 1, sizeof *c->fields);
        if (!c->fields)
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
    }
    if (rc == ST_OK) {
        for (uint32_t i = 0; i < c->root->n_cols; i++) {
            const struct plan_col *pc = &c->root->cols[i];
            c->fields[i].name = pc->name;
            c->fields[i].type = plan_type_output(pc->type);
            c->fields[i].role = pc->role;
            c->fields[i].nullable = pc->nullable;
        }
        c->schema.n_fields = c->root->n_cols;
        c->schema.fields = c->fields;
        struct exec_opts eo = {
            .cancel = opts ? opts->cancel : NULL,
            .deadline_mono_ns = opts ? opts->deadline_mono_ns : 0,
            .max_result_bytes = opts ? opts->max_result_bytes : 0,
            .batch_rows = c->pctx.batch_rows,
        };
        rc = exec_open(c->root, &c->src, &eo, &c->q, err);
    }
    if (rc != ST_OK) {
        eng_cursor_free(c);
        return rc;
    }
    *out = c;
    return ST_OK;
}

const struct st_schema *
eng_cursor_schema(const struct eng_cursor *c)
{
    return c ? &c->schema : NULL;
}

enum st_code
eng_cursor_next(struct eng_cursor *c, const struct st_batch **out, struct st_error *err)
{
    if (!out)
        return st_error_set(err, ST_EINVAL, "no batch pointer");
    *out = NULL;
    if (!c)
        return st_error_set(err, ST_EINVAL, "no cursor");
    enum st_code rc = exec_next(c->q, out, err);
    c->elapsed_ns = st_mono_ns() - c->started_ns;
    return rc;
}

void
eng_cursor_stats(const struct eng_cursor *c, struct eng_query_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    struct exec_stats es;
    exec_get_stats(c->q, &es);
    out->rows_out = es.rows_out;
    out->bytes_out = es.bytes_out;
    out->rows_scanned = es.rows_scanned;
    out->elapsed_ns = c->elapsed_ns ? c->elapsed_ns : st_mono_ns() - c->started_ns;
    /* what the scans were planned to read, per storage's estimate */
    for (const struct plan_node *n = c->root; n && c->view; n = n->child) {
        const struct plan_node *s = n->kind == PN_WINDOW ? n->u.window.scan : n;
        if (s->kind != PN_SCAN)
            continue;
        struct stor_scan_estimate e;
        if (stor_scan_estimate(c->view, &s->u.scan.spec, &e, NULL) == ST_OK) {
            out->partitions_read += e.partitions_selected;
            out->blocks_read += (uint32_t)(e.blocks_selected > UINT32_MAX ? UINT32_MAX
                                                                          : e.blocks_selected);
        }
        if (n->kind == PN_WINDOW)
            break;
    }
}

void
eng_sql_normalize(const char *sql, size_t len, char *buf, size_t buflen)
{
    sql_normalize(sql, len, buf, buflen);
}
