/*
 * exec_table.c: materialised rows and key tables.
 *
 * An exec_table holds rows copied out of chunks, column by column (the
 * same typed layout as a vector), with string bytes copied into the
 * table's own arena: sorting, top-N, time windows and key storage use it.
 *
 * An exec_keytab is an exec_table of distinct key tuples plus an
 * open-addressing hash index (linear probing, load at most 1/2, the
 * tuple's 64-bit hash kept beside it so that growing never re-hashes
 * values). NULL keys form one group, as GROUP BY and DISTINCT require;
 * -0.0 and 0.0 are the same float key. Hashes are seeded per query
 * (st_hash_seed) so crafted strings cannot aim at one bucket.
 */
#include "exec_int.h"

#include <stdlib.h>
#include <string.h>

#include "strata/hash.h"

enum st_code
exec__table_init(struct exec_ctx *c, struct exec_table *t, uint32_t n_cols,
                 const enum plan_type *types, struct st_error *err)
{
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
    t->cols = calloc(n_cols ? n_cols : 1, sizeof *t->cols);
    t->any_null = calloc(n_cols ? n_cols : 1, sizeof *t->any_null);
    if (!t->cols || !t->any_null) {
        free(t->cols);
        free(t->any_null);
        t->cols = NULL;
        t->any_null = NULL;
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < n_cols; i++)
        t->cols[i].type = types[i];
    sql_arena_init(&t->strings, c->mem_limit);
    return ST_OK;
}

void
exec__table_free(struct exec_ctx *c, struct exec_table *t)
{
    if (t->cols)
        for (uint32_t i = 0; i < t->n_cols; i++)
            exec__col_free(c, &t->cols[i]);
    free(t->cols);
    free(t->any_null);
    exec__mem(c, -(int64_t)t->string_bytes, NULL);
    sql_arena_cleanup(&t->strings);
    memset(t, 0, sizeof *t);
}

static enum st_code
reserve(struct exec_ctx *c, struct exec_table *t, uint32_t n, struct st_error *err)
{
    if (n <= t->cap)
        return ST_OK;
    uint32_t cap = t->cap ? t->cap : 64;
    while (cap < n) {
        if (cap > UINT32_MAX / 2)
            return st_error_set(err, ST_ELIMIT, "too many rows");
        cap *= 2;
    }
    for (uint32_t i = 0; i < t->n_cols; i++)
        ST_TRY(exec__col_reserve(c, &t->cols[i], cap, err));
    t->cap = cap;
    return ST_OK;
}

static enum st_code
copy_string(struct exec_ctx *c, struct exec_table *t, const struct plan_str *in,
            struct plan_str *out, struct st_error *err)
{
    if (in->len == 0) {
        out->p = "";
        out->len = 0;
        return ST_OK;
    }
    ST_TRY(exec__mem(c, in->len, err));
    char *p = sql_arena_alloc(&t->strings, in->len);
    if (!p) {
        exec__mem(c, -(int64_t)in->len, NULL);
        return st_error_set(err, ST_ENOMEM, "out of memory copying strings");
    }
    memcpy(p, in->p, in->len);
    t->string_bytes += in->len;
    out->p = p;
    out->len = in->len;
    return ST_OK;
}

/* Copy value (vec, row) into column `ci` at table row `dst`. */
static enum st_code
put_value(struct exec_ctx *c, struct exec_table *t, uint32_t ci, uint32_t dst,
          const struct exec_vec *v, uint32_t row, struct st_error *err)
{
    struct exec_col *col = &t->cols[ci];
    uint32_t src = v->is_const ? 0 : row;
    bool null = v->type == PT_NULL || (v->nulls && v->nulls[src]);
    col->nulls[dst] = null;
    if (null) {
        t->any_null[ci] = true;
        memset((char *)col->data + (size_t)dst * exec__type_size(col->type), 0,
               exec__type_size(col->type));
        return ST_OK;
    }
    switch (col->type) {
    case PT_STRING:
        return copy_string(c, t, &v->v.s[src], &((struct plan_str *)col->data)[dst], err);
    case PT_BOOL:
        ((uint8_t *)col->data)[dst] = v->v.b[src];
        return ST_OK;
    case PT_NULL:
        return ST_OK;
    default:
        ((uint64_t *)col->data)[dst] = v->v.u64[src];
        return ST_OK;
    }
}

enum st_code
exec__table_append(struct exec_ctx *c, struct exec_table *t, const struct exec_chunk *in,
                   const uint32_t *sel, uint32_t n, struct st_error *err)
{
    if (n == 0)
        return ST_OK;
    if ((uint64_t)t->n_rows + n > UINT32_MAX / 2)
        return st_error_set(err, ST_ELIMIT, "too many rows");
    ST_TRY(reserve(c, t, t->n_rows + n, err));
    for (uint32_t ci = 0; ci < t->n_cols; ci++) {
        const struct exec_vec *v = &in->cols[ci];
        struct exec_col *col = &t->cols[ci];
        size_t es = exec__type_size(col->type);
        if (!v->is_const && v->type != PT_STRING && v->type != PT_NULL && !sel) {
            /* bulk copy */
            memcpy((char *)col->data + (size_t)t->n_rows * es, v->v.p, (size_t)n * es);
            if (v->nulls) {
                memcpy(col->nulls + t->n_rows, v->nulls, n);
                if (memchr(v->nulls, 1, n))
                    t->any_null[ci] = true;
            } else {
                memset(col->nulls + t->n_rows, 0, n);
            }
            continue;
        }
        for (uint32_t k = 0; k < n; k++)
            ST_TRY(put_value(c, t, ci, t->n_rows + k, v, sel ? sel[k] : k, err));
    }
    t->n_rows += n;
    return ST_OK;
}

enum st_code
exec__table_append_row(struct exec_ctx *c, struct exec_table *t,
                       const struct exec_vec *const *vecs, uint32_t row, struct st_error *err)
{
    if (t->n_rows >= UINT32_MAX / 2)
        return st_error_set(err, ST_ELIMIT, "too many rows");
    ST_TRY(reserve(c, t, t->n_rows + 1, err));
    for (uint32_t ci = 0; ci < t->n_cols; ci++)
        ST_TRY(put_value(c, t, ci, t->n_rows, vecs[ci], row, err));
    t->n_rows++;
    return ST_OK;
}

enum st_code
exec__table_emit(struct exec_ctx *c, const struct exec_table *t, const uint32_t *idx,
                 uint32_t first, uint32_t n, struct exec_col *bufs, struct exec_vec *vecs,
                 struct st_error *err)
{
    for (uint32_t ci = 0; ci < t->n_cols; ci++) {
        const struct exec_col *col = &t->cols[ci];
        if (!idx) {
            size_t es = exec__type_size(col->type);
            vecs[ci].type = col->type;
            vecs[ci].is_const = false;
            vecs[ci].v.p = (const char *)col->data + (size_t)first * es;
            vecs[ci].nulls = t->any_null[ci] ? col->nulls + first : NULL;
            continue;
        }
        struct exec_vec whole;
        exec__col_vec(col, t->any_null[ci], &whole);
        ST_TRY(exec__gather(c, &whole, idx, n, &bufs[ci], &vecs[ci], err));
    }
    return ST_OK;
}

enum st_code
exec__table_compact(struct exec_ctx *c, struct exec_table *t, const uint32_t *idx, uint32_t n,
                    struct st_error *err)
{
    struct exec_table nt;
    enum plan_type *types = malloc((t->n_cols ? t->n_cols : 1) * sizeof *types);
    if (!types)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < t->n_cols; i++)
        types[i] = t->cols[i].type;
    enum st_code rc0 = exec__table_init(c, &nt, t->n_cols, types, err);
    free(types);
    if (rc0 != ST_OK)
        return rc0;
    enum st_code rc = reserve(c, &nt, n ? n : 1, err);
    for (uint32_t ci = 0; rc == ST_OK && ci < t->n_cols; ci++) {
        struct exec_vec whole;
        exec__col_vec(&t->cols[ci], t->any_null[ci], &whole);
        for (uint32_t k = 0; rc == ST_OK && k < n; k++)
            rc = put_value(c, &nt, ci, k, &whole, idx[k], err);
    }
    if (rc != ST_OK) {
        exec__table_free(c, &nt);
        return rc;
    }
    nt.n_rows = n;
    exec__table_free(c, t);
    *t = nt;
    return ST_OK;
}

int
exec__table_cmp(const struct exec_table *t, uint32_t ci, uint32_t a, uint32_t b)
{
    const struct exec_col *col = &t->cols[ci];
    switch (col->type) {
    case PT_FLOAT: {
        double x = ((const double *)col->data)[a], y = ((const double *)col->data)[b];
        return x < y ? -1 : x > y;
    }
    case PT_UINT: {
        uint64_t x = ((const uint64_t *)col->data)[a], y = ((const uint64_t *)col->data)[b];
        return x < y ? -1 : x > y;
    }
    case PT_BOOL:
        return (int)((const uint8_t *)col->data)[a] - (int)((const uint8_t *)col->data)[b];
    case PT_STRING: {
        const struct plan_str *x = &((const struct plan_str *)col->data)[a];
        const struct plan_str *y = &((const struct plan_str *)col->data)[b];
        uint32_t n = x->len < y->len ? x->len : y->len;
        int r = n ? memcmp(x->p, y->p, n) : 0;
        if (r)
            return r < 0 ? -1 : 1;
        return x->len < y->len ? -1 : x->len > y->len;
    }
    case PT_NULL:
        return 0;
    default: {
        int64_t x = ((const int64_t *)col->data)[a], y = ((const int64_t *)col->data)[b];
        return x < y ? -1 : x > y;
    }
    }
}

/* ---- key tables ------------------------------------------------------------------- */

enum st_code
exec__keytab_init(struct exec_ctx *c, struct exec_keytab *kt, uint32_t n_keys,
                  const enum plan_type *types, struct st_error *err)
{
    memset(kt, 0, sizeof *kt);
    ST_TRY(exec__table_init(c, &kt->keys, n_keys, types, err));
    kt->seed = st_hash_seed();
    return ST_OK;
}

void
exec__keytab_free(struct exec_ctx *c, struct exec_keytab *kt)
{
    exec__table_free(c, &kt->keys);
    if (kt->slots)
        exec__mem(c, -(int64_t)((kt->mask + 1) * sizeof *kt->slots), NULL);
    if (kt->hashes)
        exec__mem(c, -(int64_t)(kt->keys.cap * sizeof *kt->hashes), NULL);
    free(kt->slots);
    free(kt->hashes);
    memset(kt, 0, sizeof *kt);
}

static inline uint64_t
hash_value(const struct exec_keytab *kt, const struct exec_vec *v, uint32_t row)
{
    uint32_t i = v->is_const ? 0 : row;
    if (v->type == PT_NULL || (v->nulls && v->nulls[i]))
        return 0x5bd1e9955bd1e995ull;
    switch (v->type) {
    case PT_STRING:
        return st_hash(v->v.s[i].p, v->v.s[i].len, kt->seed);
    case PT_BOOL:
        return st_hash_u64(v->v.b[i] ^ kt->seed);
    case PT_FLOAT: {
        double f = v->v.f64[i];
        if (f == 0.0)
            f = 0.0; /* -0.0 and 0.0 are one key */
        uint64_t bits;
        memcpy(&bits, &f, 8);
        return st_hash_u64(bits ^ kt->seed);
    }
    default:
        return st_hash_u64(v->v.u64[i] ^ kt->seed);
    }
}

uint64_t
exec__hash_row(const struct exec_keytab *kt, const struct exec_vec *const *keys, uint32_t row)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (uint32_t k = 0; k < kt->keys.n_cols; k++)
        h = st_mix64(h ^ hash_value(kt, keys[k], row), 0xBF58476D1CE4E5B9ull);
    return h;
}

static bool
row_equals(const struct exec_keytab *kt, const struct exec_vec *const *keys, uint32_t row,
           uint32_t id)
{
    for (uint32_t k = 0; k < kt->keys.n_cols; k++) {
        const struct exec_vec *v = keys[k];
        const struct exec_col *col = &kt->keys.cols[k];
        uint32_t i = v->is_const ? 0 : row;
        bool vn = v->type == PT_NULL || (v->nulls && v->nulls[i]);
        bool cn = col->nulls[id];
        if (vn || cn) {
            if (vn != cn)
                return false;
            continue;
        }
        switch (col->type) {
        case PT_STRING: {
            const struct plan_str *a = &v->v.s[i], *b = &((const struct plan_str *)col->data)[id];
            if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len) != 0))
                return false;
            break;
        }
        case PT_BOOL:
            if (v->v.b[i] != ((const uint8_t *)col->data)[id])
                return false;
            break;
        case PT_FLOAT:
            if (v->v.f64[i] != ((const double *)col->data)[id])
                return false;
            break;
        case PT_NULL:
            break;
        default:
            if (v->v.u64[i] != ((const uint64_t *)col->data)[id])
                return false;
            break;
        }
    }
    return true;
}

static enum st_code
grow_slots(struct exec_ctx *c, struct exec_keytab *kt, struct st_error *err)
{
    uint32_t ncap = kt->mask ? (kt->mask + 1) * 2 : 64;
    if (ncap == 0 || ncap > (1u << 31))
        return st_error_set(err, ST_ELIMIT, "too many groups");
    ST_TRY(exec__mem(c, (int64_t)ncap * (int64_t)sizeof(uint32_t), err));
    uint32_t *slots = calloc(ncap, sizeof *slots);
    if (!slots) {
        exec__mem(c, -(int64_t)ncap * (int64_t)sizeof(uint32_t), NULL);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    uint32_t mask = ncap - 1;
    for (uint32_t id = 0; id < kt->keys.n_rows; id++) {
        uint32_t s = (uint32_t)kt->hashes[id] & mask;
        while (slots[s])
            s = (s + 1) & mask;
        slots[s] = id + 1;
    }
    if (kt->slots)
        exec__mem(c, -(int64_t)((kt->mask + 1) * sizeof *kt->slots), NULL);
    free(kt->slots);
    kt->slots = slots;
    kt->mask = mask;
    return ST_OK;
}

enum st_code
exec__keytab_lookup_i64(struct exec_ctx *c, struct exec_keytab *kt, const struct exec_vec *key,
                        uint32_t row, uint32_t *id, bool *added, struct st_error *err)
{
    if (!kt->slots || (kt->keys.n_rows + 1) * 2 > kt->mask + 1)
        ST_TRY(grow_slots(c, kt, err));
    uint64_t v = key->v.u64[row];
    /* the same value exec__hash_row computes for one non-NULL integer key */
    uint64_t h = st_mix64(0x9E3779B97F4A7C15ull ^ st_hash_u64(v ^ kt->seed), 0xBF58476D1CE4E5B9ull);
    const uint64_t *data = kt->keys.cols[0].data;
    const uint8_t *nulls = kt->keys.cols[0].nulls;
    uint32_t s = (uint32_t)h & kt->mask;
    for (;;) {
        uint32_t e = kt->slots[s];
        if (!e)
            break;
        if (kt->hashes[e - 1] == h && data[e - 1] == v && !nulls[e - 1]) {
            *id = e - 1;
            *added = false;
            return ST_OK;
        }
        s = (s + 1) & kt->mask;
    }
    const struct exec_vec *keys[1] = {key};
    return exec__keytab_lookup(c, kt, keys, row, h, id, added, err);
}

enum st_code
exec__keytab_lookup(struct exec_ctx *c, struct exec_keytab *kt, const struct exec_vec *const *keys,
                    uint32_t row, uint64_t hash, uint32_t *id, bool *added, struct st_error *err)
{
    if (!kt->slots || (kt->keys.n_rows + 1) * 2 > kt->mask + 1)
        ST_TRY(grow_slots(c, kt, err));
    uint32_t s = (uint32_t)hash & kt->mask;
    for (;;) {
        uint32_t e = kt->slots[s];
        if (!e)
            break;
        if (kt->hashes[e - 1] == hash && row_equals(kt, keys, row, e - 1)) {
            *id = e - 1;
            *added = false;
            return ST_OK;
        }
        s = (s + 1) & kt->mask;
    }
    uint32_t old_cap = kt->keys.cap;
    ST_TRY(exec__table_append_row(c, &kt->keys, keys, row, err));
    if (kt->keys.cap != old_cap || !kt->hashes) {
        ST_TRY(exec__mem(c, (int64_t)(kt->keys.cap - old_cap) * 8, err));
        uint64_t *h = realloc(kt->hashes, (size_t)kt->keys.cap * sizeof *h);
        if (!h)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        kt->hashes = h;
    }
    uint32_t nid = kt->keys.n_rows - 1;
    kt->hashes[nid] = hash;
    kt->slots[s] = nid + 1;
    *id = nid;
    *added = true;
    return ST_OK;
}
