/*
 * exec_util.c: the small shared pieces of the executor: cancellation and
 * deadline checks, working-memory accounting, owned column buffers, and
 * the gather/flatten kernels that copy selected rows of a vector.
 */
#include "exec_int.h"

#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"

enum st_code
exec__check(struct exec_ctx *c, struct st_error *err)
{
    if (c->cancel && atomic_load_explicit(c->cancel, memory_order_relaxed))
        return st_error_set(err, ST_ECANCELLED, "query cancelled");
    if (c->deadline && st_mono_ns() >= c->deadline)
        return st_error_set(err, ST_ETIMEOUT, "query deadline exceeded");
    return ST_OK;
}

enum st_code
exec__mem(struct exec_ctx *c, int64_t delta, struct st_error *err)
{
    if (delta < 0) {
        uint64_t d = (uint64_t)-delta;
        c->mem_used = d > c->mem_used ? 0 : c->mem_used - d;
        return ST_OK;
    }
    if (c->mem_used + (uint64_t)delta > c->mem_limit)
        return st_error_set(err, ST_ELIMIT,
                            "query needs more than %llu MiB of working memory (grouping, sorting "
                            "or DISTINCT)",
                            (unsigned long long)(c->mem_limit >> 20));
    c->mem_used += (uint64_t)delta;
    return ST_OK;
}

size_t
exec__type_size(enum plan_type t)
{
    switch (t) {
    case PT_BOOL:
        return 1;
    case PT_STRING:
        return sizeof(struct plan_str);
    case PT_NULL:
        return 1;
    default:
        return 8;
    }
}

enum st_code
exec__col_reserve(struct exec_ctx *c, struct exec_col *col, uint32_t n, struct st_error *err)
{
    if (n <= col->cap)
        return ST_OK;
    uint64_t cap = col->cap ? col->cap : 64;
    while (cap < n)
        cap *= 2;
    if (cap > UINT32_MAX)
        return st_error_set(err, ST_ELIMIT, "too many rows in one buffer");
    size_t es = exec__type_size(col->type);
    int64_t grow = (int64_t)((cap - col->cap) * (es + 1));
    ST_TRY(exec__mem(c, grow, err));
    void *d = realloc(col->data, cap * es);
    if (!d) {
        exec__mem(c, -grow, err);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    col->data = d;
    uint8_t *nl = realloc(col->nulls, cap);
    if (!nl) {
        exec__mem(c, -grow, err);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    col->nulls = nl;
    col->cap = (uint32_t)cap;
    return ST_OK;
}

void
exec__col_free(struct exec_ctx *c, struct exec_col *col)
{
    if (col->cap)
        exec__mem(c, -(int64_t)(col->cap * (exec__type_size(col->type) + 1)), NULL);
    free(col->data);
    free(col->nulls);
    col->data = NULL;
    col->nulls = NULL;
    col->cap = 0;
}

void
exec__col_vec(const struct exec_col *col, bool any_null, struct exec_vec *out)
{
    out->type = col->type;
    out->is_const = false;
    out->nulls = any_null ? col->nulls : NULL;
    out->v.p = col->data;
}

enum st_code
exec__gather(struct exec_ctx *c, const struct exec_vec *in, const uint32_t *sel, uint32_t n,
             struct exec_col *buf, struct exec_vec *out, struct st_error *err)
{
    if (in->is_const) {
        *out = *in;
        return ST_OK;
    }
    buf->type = in->type;
    ST_TRY(exec__col_reserve(c, buf, n ? n : 1, err));
    switch (exec__type_size(in->type)) {
    case 8: {
        const uint64_t *s = in->v.p;
        uint64_t *d = buf->data;
        for (uint32_t k = 0; k < n; k++)
            d[k] = s[sel[k]];
        break;
    }
    case 1: {
        const uint8_t *s = in->v.p;
        uint8_t *d = buf->data;
        for (uint32_t k = 0; k < n; k++)
            d[k] = s[sel[k]];
        break;
    }
    default: {
        const struct plan_str *s = in->v.p;
        struct plan_str *d = buf->data;
        for (uint32_t k = 0; k < n; k++)
            d[k] = s[sel[k]];
        break;
    }
    }
    bool any = false;
    if (in->nulls) {
        for (uint32_t k = 0; k < n; k++) {
            buf->nulls[k] = in->nulls[sel[k]];
            any |= buf->nulls[k];
        }
    }
    exec__col_vec(buf, any, out);
    return ST_OK;
}

enum st_code
exec__flatten(struct exec_ctx *c, const struct exec_vec *in, uint32_t n, struct exec_col *buf,
              struct exec_vec *out, struct st_error *err)
{
    if (!in->is_const) {
        *out = *in;
        return ST_OK;
    }
    buf->type = in->type;
    ST_TRY(exec__col_reserve(c, buf, n ? n : 1, err));
    size_t es = exec__type_size(in->type);
    for (uint32_t k = 0; k < n; k++)
        memcpy((char *)buf->data + k * es, in->v.p, es);
    bool null = in->nulls && in->nulls[0];
    memset(buf->nulls, null, n);
    exec__col_vec(buf, null, out);
    return ST_OK;
}

void
exec__vec_value(const struct exec_vec *v, uint32_t row, struct plan_value *out)
{
    uint32_t i = v->is_const ? 0 : row;
    out->type = v->type;
    out->is_null = v->type == PT_NULL || (v->nulls && v->nulls[i]);
    if (out->is_null) {
        memset(&out->v, 0, sizeof out->v);
        return;
    }
    switch (v->type) {
    case PT_BOOL:
        out->v.b = v->v.b[i] != 0;
        break;
    case PT_STRING:
        out->v.s = v->v.s[i];
        break;
    case PT_FLOAT:
        out->v.f = v->v.f64[i];
        break;
    case PT_UINT:
        out->v.u = v->v.u64[i];
        break;
    default:
        out->v.i = v->v.i64[i];
        break;
    }
}
