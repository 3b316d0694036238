/*
 * plan_build.c: the planner's entry point. Binds the statement
 * (plan_bind.c, plan_delete.c, plan_infoschema.c) and then applies the
 * rules in order: predicate pushdown, last-value scan, projection
 * pushdown, top-N, time-window limit pushdown. Each rule lives in its own
 * file and rewrites the plan in place.
 */
#include "plan_int.h"

#include <stdlib.h>
#include <string.h>

static enum st_code
apply_rules(struct plan_binder *b, struct plan_node **root)
{
    ST_TRY(plan__rule_pushdown(b, root));
    plan__rule_lastpoint(*root);
    ST_TRY(plan__rule_projection(b, *root));
    plan__rule_topn(*root);
    ST_TRY(plan__rule_window(b, root));
    return ST_OK;
}

static enum st_code
build_root(struct plan_binder *b, const struct sql_stmt *st, struct plan *p)
{
    switch (st->kind) {
    case SQL_STMT_SELECT:
        p->root = plan__bind_select(b, st->select, NULL);
        break;
    case SQL_STMT_SHOW_TABLES:
        p->root = plan__show_tables(b);
        break;
    case SQL_STMT_SHOW_COLUMNS:
        p->root = plan__show_columns(b, st->table, st->table_pos);
        break;
    case SQL_STMT_DELETE:
        return plan__bind_delete(b, st, &p->del);
    case SQL_STMT_EXPLAIN:
        return st_error_set_at(b->err, ST_EPARSE, st->pos, "EXPLAIN cannot be nested");
    }
    if (!p->root)
        return b->err->code != ST_OK ? b->err->code : ST_EINTERNAL;
    return apply_rules(b, &p->root);
}

enum st_code
plan_build(struct plan_ctx *ctx, const struct sql_stmt *stmt, struct plan **out,
           struct st_error *err)
{
    struct st_error local;
    if (!err)
        err = &local;
    st_error_clear(err);
    *out = NULL;
    if (ctx->batch_rows == 0)
        ctx->batch_rows = 2048;
    struct plan_binder b = {.ctx = ctx, .a = ctx->arena, .err = err};
    struct plan *p = sql_arena_alloc(ctx->arena, sizeof *p);
    if (!p)
        return st_error_set(err, ST_ENOMEM, "out of memory while planning");
    enum st_code rc;
    if (stmt->kind == SQL_STMT_EXPLAIN) {
        p->kind = PLAN_EXPLAIN;
        rc = build_root(&b, stmt->explained, p);
    } else {
        p->kind = stmt->kind == SQL_STMT_DELETE ? PLAN_DELETE : PLAN_QUERY;
        rc = build_root(&b, stmt, p);
    }
    if (rc != ST_OK) {
        if (err->code == ST_OK)
            st_error_set(err, rc, "planning failed");
        return rc;
    }
    *out = p;
    return ST_OK;
}

void
plan_ctx_cleanup(struct plan_ctx *ctx)
{
    for (uint32_t i = 0; i < ctx->n_regexes; i++) {
        regfree(ctx->regexes[i]);
        free(ctx->regexes[i]);
    }
    free(ctx->regexes);
    ctx->regexes = NULL;
    ctx->n_regexes = ctx->cap_regexes = 0;
}
