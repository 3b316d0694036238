/*
 * exec_output.c: chunks of the plan root into struct st_batch, the
 * Arrow-shaped batch the gateway encodes (strata/batch.h). Fixed-width
 * columns point at the chunk's own arrays when they can (no copy);
 * constants are expanded; NULL flags become validity bitmaps; strings are
 * copied into one data buffer with int32 offsets. Every byte handed out is
 * counted against max_result_bytes, and the query fails with ST_ELIMIT
 * once the result would exceed it.
 */
#include "exec_int.h"

#include <stdlib.h>
#include <string.h>

struct out_col {
    enum plan_type ptype;
    struct st_column col;
    uint8_t *bitmap;
    void *data; /* expanded constants */
    int32_t *offsets;
    char *strs;
    size_t cap_rows, cap_strs;
};

struct exec_output {
    struct exec_ctx *ctx;
    uint32_t n_cols;
    struct out_col *cols;
    struct st_column *stcols;
    struct st_batch batch;
};

static enum st_code
grow(void **p, size_t *cap, size_t need, size_t es, struct st_error *err)
{
    if (need <= *cap)
        return ST_OK;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    void *n = realloc(*p, nc * es);
    if (!n)
        return st_error_set(err, ST_ENOMEM, "out of memory building a result batch");
    *p = n;
    *cap = nc;
    return ST_OK;
}

enum st_code
exec__output_new(struct exec_ctx *c, const struct plan_node *root, struct exec_output **out,
                 struct st_error *err)
{
    struct exec_output *o = calloc(1, sizeof *o);
    if (!o)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    *out = o;
    o->ctx = c;
    o->n_cols = root->n_cols;
    o->cols = calloc(root->n_cols ? root->n_cols : 1, sizeof *o->cols);
    o->stcols = calloc(root->n_cols ? root->n_cols : 1, sizeof *o->stcols);
    if (!o->cols || !o->stcols)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < root->n_cols; i++)
        o->cols[i].ptype = root->cols[i].type;
    o->batch.n_cols = root->n_cols;
    o->batch.cols = o->stcols;
    return ST_OK;
}

static enum st_code
convert_col(struct exec_output *o, struct out_col *oc, const struct exec_vec *v, uint32_t n,
            uint64_t *bytes, struct st_error *err)
{
    struct st_column *col = &oc->col;
    memset(col, 0, sizeof *col);
    col->type = plan_type_output(oc->ptype);
    size_t cap_rows = oc->cap_rows;
    /* validity */
    bool all_null = v->type == PT_NULL || (v->is_const && v->nulls && v->nulls[0]);
    if (all_null || (!v->is_const && v->nulls)) {
        size_t need = (n + 7) / 8;
        size_t bcap = cap_rows / 8;
        if (need > bcap || !oc->bitmap) {
            uint8_t *b = realloc(oc->bitmap, need + 8);
            if (!b)
                return st_error_set(err, ST_ENOMEM, "out of memory");
            oc->bitmap = b;
        }
        memset(oc->bitmap, 0, need);
        int64_t nulls = 0;
        for (uint32_t i = 0; i < n; i++) {
            bool null = all_null || v->nulls[i];
            if (!null)
                oc->bitmap[i >> 3] |= (uint8_t)(1u << (i & 7));
            nulls += null;
        }
        if (nulls) {
            col->validity = oc->bitmap;
            col->null_count = nulls;
            *bytes += need;
        }
    }
    if (col->type == ST_TYPE_STRING) {
        ST_TRY(grow((void **)&oc->offsets, &oc->cap_rows, (size_t)n + 1, sizeof(int32_t), err));
        size_t total = 0;
        if (!all_null) {
            for (uint32_t i = 0; i < n; i++) {
                uint32_t j = v->is_const ? 0 : i;
                if (!(v->nulls && v->nulls[j]))
                    total += v->v.s[j].len;
            }
        }
        if (total > INT32_MAX)
            return st_error_set(err, ST_ELIMIT, "string data of one result batch over 2 GiB");
        ST_TRY(grow((void **)&oc->strs, &oc->cap_strs, total + 1, 1, err));
        size_t off = 0;
        oc->offsets[0] = 0;
        if (v->is_const && !all_null && n > 0) {
            /* a tag of a series chunk: one value repeated; copy by doubling */
            uint32_t len = v->v.s[0].len;
            for (uint32_t i = 0; i < n; i++)
                oc->offsets[i + 1] = (int32_t)((size_t)(i + 1) * len);
            if (len) {
                memcpy(oc->strs, v->v.s[0].p, len);
                size_t have = len;
                while (have < total) {
                    size_t c = have <= total - have ? have : total - have;
                    memcpy(oc->strs + have, oc->strs, c);
                    have += c;
                }
            }
            col->v.offsets = oc->offsets;
            col->str_data = oc->strs;
            *bytes += (size_t)(n + 1) * 4 + total;
            return ST_OK;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint32_t j = v->is_const ? 0 : i;
            if (!all_null && !(v->nulls && v->nulls[j]) && v->v.s[j].len) {
                memcpy(oc->strs + off, v->v.s[j].p, v->v.s[j].len);
                off += v->v.s[j].len;
            }
            oc->offsets[i + 1] = (int32_t)off;
        }
        col->v.offsets = oc->offsets;
        col->str_data = oc->strs;
        *bytes += (size_t)(n + 1) * 4 + total;
        return ST_OK;
    }
    size_t es = col->type == ST_TYPE_BOOL ? 1 : 8;
    *bytes += (size_t)n * es;
    if (!v->is_const && v->type != PT_NULL) {
        col->v.raw = v->v.p;
        return ST_OK;
    }
    size_t cap = oc->cap_rows;
    ST_TRY(grow(&oc->data, &cap, n ? n : 1, 8, err));
    oc->cap_rows = cap;
    if (all_null)
        memset(oc->data, 0, (size_t)n * es);
    else
        for (uint32_t i = 0; i < n; i++)
            memcpy((char *)oc->data + (size_t)i * es, v->v.p, es);
    col->v.raw = oc->data;
    return ST_OK;
}

enum st_code
exec__output_convert(struct exec_output *o, const struct exec_chunk *in,
                     const struct st_batch **out, struct st_error *err)
{
    uint64_t bytes = 0;
    for (uint32_t c = 0; c < o->n_cols; c++) {
        ST_TRY(convert_col(o, &o->cols[c], &in->cols[c], in->n, &bytes, err));
        o->stcols[c] = o->cols[c].col;
    }
    struct exec_ctx *ctx = o->ctx;
    if (ctx->stats.bytes_out + bytes > ctx->max_result_bytes)
        return st_error_set(err, ST_ELIMIT,
                            "result larger than the limit of %llu bytes (max_result_bytes)",
                            (unsigned long long)ctx->max_result_bytes);
    ctx->stats.bytes_out += bytes;
    ctx->stats.rows_out += in->n;
    o->batch.n_rows = in->n;
    *out = &o->batch;
    return ST_OK;
}

void
exec__output_free(struct exec_output *o)
{
    if (!o)
        return;
    for (uint32_t c = 0; o->cols && c < o->n_cols; c++) {
        free(o->cols[c].bitmap);
        free(o->cols[c].data);
        free(o->cols[c].offsets);
        free(o->cols[c].strs);
    }
    free(o->cols);
    free(o->stcols);
    free(o);
}
