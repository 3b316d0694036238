/*
 * exec_query.c: the executor's entry points. exec_open builds the operator
 * tree for a plan (exec__build, one constructor per plan node kind) and the
 * output converter; exec_next pulls the root operator and converts each
 * chunk into an st_batch; exec_close frees everything.
 */
#include "exec_int.h"

#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"

struct exec_query {
    struct exec_ctx ctx;
    struct exec_op *root;
    struct exec_output *output;
    bool done;
};

enum st_code
exec__build(struct exec_ctx *c, const struct plan_node *pn, struct exec_op **out,
            struct st_error *err)
{
    *out = NULL;
    struct exec_op *child = NULL;
    switch (pn->kind) {
    case PN_SCAN:
        return exec__scan_new(c, pn, out, err);
    case PN_VALUES:
        return exec__values_new(c, pn, out, err);
    case PN_WINDOW:
        return exec__window_new(c, pn, out, err);
    default:
        break;
    }
    ST_TRY(exec__build(c, pn->child, &child, err));
    switch (pn->kind) {
    case PN_FILTER:
        return exec__filter_new(c, pn, child, out, err);
    case PN_PROJECT:
        return exec__project_new(c, pn, child, out, err);
    case PN_AGG:
        return exec__agg_new(c, pn, child, out, err);
    case PN_SORT:
        return exec__sort_new(c, pn, child, out, err);
    case PN_LIMIT:
        return exec__limit_new(c, pn, child, out, err);
    case PN_DISTINCT:
        return exec__distinct_new(c, pn, child, out, err);
    default:
        exec__op_free(child);
        return st_error_set(err, ST_EINTERNAL, "unknown plan node %d", (int)pn->kind);
    }
}

void
exec__op_free(struct exec_op *op)
{
    if (op)
        op->vt->free(op);
}

enum st_code
exec_open(const struct plan_node *root, const struct exec_source *src,
          const struct exec_opts *opts, struct exec_query **out, struct st_error *err)
{
    *out = NULL;
    struct exec_query *q = calloc(1, sizeof *q);
    if (!q)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    struct exec_ctx *c = &q->ctx;
    c->src = src;
    c->cancel = opts ? opts->cancel : NULL;
    c->deadline = opts ? opts->deadline_mono_ns : 0;
    c->max_result_bytes =
        opts && opts->max_result_bytes ? opts->max_result_bytes : EXEC_DEFAULT_MAX_RESULT;
    c->mem_limit = opts && opts->mem_limit_bytes ? opts->mem_limit_bytes : EXEC_DEFAULT_MEM_LIMIT;
    c->batch_rows = opts && opts->batch_rows ? opts->batch_rows : EXEC_DEFAULT_ROWS;
    if (c->batch_rows > 65536)
        c->batch_rows = 65536;
    enum st_code rc = exec__check(c, err);
    if (rc == ST_OK)
        rc = exec__build(c, root, &q->root, err);
    if (rc == ST_OK)
        rc = exec__output_new(c, root, &q->output, err);
    if (rc != ST_OK) {
        exec_close(q);
        return rc;
    }
    *out = q;
    return ST_OK;
}

enum st_code
exec_next(struct exec_query *q, const struct st_batch **out, struct st_error *err)
{
    *out = NULL;
    if (q->done)
        return ST_OK;
    const struct exec_chunk *ch;
    enum st_code rc = exec__op_next(q->root, &ch, err);
    if (rc != ST_OK) {
        q->done = true;
        return rc;
    }
    if (!ch) {
        q->done = true;
        return ST_OK;
    }
    rc = exec__output_convert(q->output, ch, out, err);
    if (rc != ST_OK)
        q->done = true;
    return rc;
}

void
exec_get_stats(const struct exec_query *q, struct exec_stats *out)
{
    *out = q->ctx.stats;
}

void
exec_close(struct exec_query *q)
{
    if (!q)
        return;
    exec__op_free(q->root);
    exec__output_free(q->output);
    free(q);
}
