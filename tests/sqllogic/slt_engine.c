/*
 * slt_engine.c: the in-process backend of the SQL logic tests: the engine
 * opened through engine.h on the test's data directory. Writes create the
 * database on first use; queries honour the options and parameters of the
 * test file.
 */
#include "slt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"
#include "strata/engine.h"

struct engine_ctx {
    struct eng *e;
    char dir[4096];
};

static struct engine_ctx the_ctx;

static int
do_open(struct engine_ctx *c, char *err, size_t errlen)
{
    struct eng_options o = {.data_dir = c->dir};
    struct st_error e;
    c->e = eng_open(&o, &e);
    if (!c->e) {
        snprintf(err, errlen, "eng_open: %s", e.msg);
        return -1;
    }
    return 0;
}

static int
be_open(void *ctx, const char *dir, char *err, size_t errlen)
{
    struct engine_ctx *c = ctx;
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    return do_open(c, err, errlen);
}

static void
be_close(void *ctx)
{
    struct engine_ctx *c = ctx;
    eng_close(c->e);
    c->e = NULL;
}

static int
be_restart(void *ctx, char *err, size_t errlen)
{
    struct engine_ctx *c = ctx;
    eng_close(c->e);
    c->e = NULL;
    return do_open(c, err, errlen);
}

static int
be_persist(void *ctx, char *err, size_t errlen)
{
    struct engine_ctx *c = ctx;
    struct st_error e;
    if (eng_persist(c->e, &e) != ST_OK) {
        snprintf(err, errlen, "eng_persist: %s", e.msg);
        return -1;
    }
    return 0;
}

static void
set_error(struct slt_result *res, enum st_code code, const struct st_error *e)
{
    res->ok = false;
    snprintf(res->code, sizeof res->code, "%s", st_code_name(code));
    res->offset = e->offset;
    snprintf(res->message, sizeof res->message, "%s", e->msg);
}

static void
be_write(void *ctx, const char *db, const char *lp, size_t len, struct slt_result *res)
{
    struct engine_ctx *c = ctx;
    struct eng_write_opts wo = {.create_db = true};
    struct eng_write_result wr = {0};
    struct st_error e;
    slt_result_reset(res);
    enum st_code rc = eng_write(c->e, db, lp, len, &wo, &wr, &e);
    if (rc != ST_OK) {
        set_error(res, rc, &e);
        if (wr.n_errors)
            snprintf(res->message, sizeof res->message, "line %u: %s", wr.errors[0].line,
                     wr.errors[0].msg);
    } else {
        res->ok = true;
    }
    eng_write_result_cleanup(&wr);
}

static int
param_value(const struct slt_param *p, struct eng_param *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->name = p->name;
    if (strcmp(p->type, "int") == 0) {
        out->type = ST_TYPE_INT;
        out->v.i = strtoll(p->value, NULL, 10);
    } else if (strcmp(p->type, "uint") == 0) {
        out->type = ST_TYPE_UINT;
        out->v.u = strtoull(p->value, NULL, 10);
    } else if (strcmp(p->type, "float") == 0) {
        out->type = ST_TYPE_FLOAT;
        out->v.f = strtod(p->value, NULL);
    } else if (strcmp(p->type, "string") == 0) {
        out->type = ST_TYPE_STRING;
        out->v.s.ptr = p->value;
        out->v.s.len = strlen(p->value);
    } else if (strcmp(p->type, "bool") == 0) {
        out->type = ST_TYPE_BOOL;
        out->v.b = strcmp(p->value, "true") == 0;
    } else if (strcmp(p->type, "time") == 0) {
        out->type = ST_TYPE_TIME;
        if (st_parse_rfc3339(p->value, strlen(p->value), &out->v.i) != 0) {
            snprintf(why, whylen, "bad time parameter value");
            return -1;
        }
    } else if (strcmp(p->type, "null") == 0) {
        out->type = ST_TYPE_NULL;
    } else {
        snprintf(why, whylen, "unknown parameter type \"%s\"", p->type);
        return -1;
    }
    return 0;
}

static void
be_query(void *ctx, const char *db, const char *sql, size_t len, const struct slt_options *o,
         struct slt_result *res)
{
    struct engine_ctx *c = ctx;
    struct st_error e;
    slt_result_reset(res);
    struct eng_param *params = calloc(o->n_params + 1, sizeof *params);
    for (size_t i = 0; i < o->n_params; i++) {
        char why[128];
        if (param_value(&o->params[i], &params[i], why, sizeof why) != 0) {
            res->ok = false;
            snprintf(res->code, sizeof res->code, "EINVAL");
            snprintf(res->message, sizeof res->message, "test file: %s", why);
            free(params);
            return;
        }
    }
    atomic_int cancel = o->cancel ? 1 : 0;
    struct eng_query_opts qo = {
        .params = params,
        .n_params = (uint32_t)o->n_params,
        .cancel = &cancel,
        .max_result_bytes = o->max_result_bytes,
        .batch_rows = o->batch_rows,
        .read_only = o->read_only,
    };
    if (o->deadline_ns)
        qo.deadline_mono_ns = st_mono_ns() + o->deadline_ns;
    struct eng_cursor *cur = NULL;
    enum st_code rc = eng_query(c->e, db, sql, len, &qo, &cur, &e);
    if (rc != ST_OK) {
        set_error(res, rc, &e);
        free(params);
        return;
    }
    const struct st_schema *s = eng_cursor_schema(cur);
    size_t nt = 0;
    for (uint32_t i = 0; i < s->n_fields && nt + 1 < sizeof res->types; i++)
        res->types[nt++] = slt_type_letter(s->fields[i].type);
    res->types[nt] = '\0';
    const struct st_batch *b;
    while ((rc = eng_cursor_next(cur, &b, &e)) == ST_OK && b) {
        if (b->n_cols != s->n_fields) {
            rc = ST_EINTERNAL;
            snprintf(e.msg, sizeof e.msg, "batch has %u columns, schema %u", b->n_cols,
                     s->n_fields);
            e.offset = -1;
            break;
        }
        for (uint32_t col = 0; col < b->n_cols; col++)
            if (b->cols[col].type != s->fields[col].type) {
                rc = ST_EINTERNAL;
                snprintf(e.msg, sizeof e.msg, "column %u: batch type %s, schema type %s", col,
                         st_type_name(b->cols[col].type), st_type_name(s->fields[col].type));
                e.offset = -1;
            }
        if (rc != ST_OK)
            break;
        slt_result_add_batch(res, b);
    }
    if (rc != ST_OK)
        set_error(res, rc, &e);
    else
        res->ok = true;
    eng_cursor_free(cur);
    free(params);
}

void
slt_engine_backend(struct slt_backend *b)
{
    b->ctx = &the_ctx;
    b->open = be_open;
    b->close = be_close;
    b->restart = be_restart;
    b->persist = be_persist;
    b->write = be_write;
    b->query = be_query;
}
