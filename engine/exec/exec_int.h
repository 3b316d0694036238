/*
 * exec_int.h: internals of the executor shared by its files: vectors and
 * chunks, the query context (cancellation, deadline, memory accounting),
 * owned column buffers, materialised tables and key tables, compiled
 * expressions, and the operator contract.
 *
 * Operator contract (every exec_op):
 *   next(op, &chunk): ST_OK with a chunk of n > 0 rows, or ST_OK with
 *   chunk == NULL at the end (and on every later call). The chunk and every
 *   vector in it stay valid until the next call of next() or free() on the
 *   same operator; the consumer must copy what it keeps longer. Errors end
 *   the operator: the caller frees it and stops.
 *
 * Vector contract (struct exec_vec): `is_const` vectors hold one value for
 * every row of the chunk at index 0. `nulls` is NULL when no row is NULL,
 * else one byte per row (one byte for a const vector), 1 = NULL; the data
 * slot of a NULL row is unspecified. Strings are (pointer, length) pairs
 * into memory that lives as long as the vector.
 */
#ifndef STRATA_EXEC_INT_H
#define STRATA_EXEC_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "strata/exec.h"
#include "strata/plan.h"
#include "strata/hash.h"
#include "strata/sql.h"

#define EXEC_DEFAULT_ROWS 2048
#define EXEC_DEFAULT_MEM_LIMIT (1ull << 30)
#define EXEC_DEFAULT_MAX_RESULT (1ull << 30)

/* ---- vectors and chunks ---------------------------------------------------- */

struct exec_vec {
    enum plan_type type;
    bool is_const;
    const uint8_t *nulls;
    union {
        const int64_t *i64; /* INT, TIME, INTERVAL */
        const uint64_t *u64;
        const double *f64;
        const uint8_t *b;
        const struct plan_str *s;
        const void *p;
    } v;
};

struct exec_chunk {
    uint32_t n;
    uint32_t n_cols;
    struct exec_vec *cols;
    const struct stor_series *series; /* set when every row is of one series */
};

static inline bool
exec_vec_null(const struct exec_vec *v, uint32_t i)
{
    return v->nulls && v->nulls[v->is_const ? 0 : i];
}

/* ---- the query context -------------------------------------------------------- */

struct exec_ctx {
    const struct exec_source *src;
    const atomic_int *cancel;
    int64_t deadline;
    uint64_t max_result_bytes;
    uint64_t mem_limit;
    uint64_t mem_used;
    uint32_t batch_rows;
    uint32_t tick;
    struct exec_stats stats;
    /* Overrides for scans built while set (exec_window.c, exec_agg.c):
     * the scan of plan node `window_scan` reads [window_lo, window_hi);
     * the scan of `full_scan` reads every row (STOR_SCAN_ALL). */
    const struct plan_node *window_scan;
    int64_t window_lo, window_hi;
    const struct plan_node *full_scan;
};

/* Cancellation and deadline: ST_ECANCELLED / ST_ETIMEOUT. */
enum st_code exec__check(struct exec_ctx *c, struct st_error *err);

/* The same, at most once per 1024 calls (for inner loops). */
static inline enum st_code
exec__tick(struct exec_ctx *c, struct st_error *err)
{
    if ((++c->tick & 1023) != 0)
        return ST_OK;
    return exec__check(c, err);
}

/* Account working memory (delta may be negative); ST_ELIMIT over the limit. */
enum st_code exec__mem(struct exec_ctx *c, int64_t delta, struct st_error *err);

/* ---- owned column buffers -------------------------------------------------------- */

size_t exec__type_size(enum plan_type t);

struct exec_col {
    enum plan_type type;
    uint32_t cap;
    void *data;
    uint8_t *nulls; /* cap bytes, allocated with data */
};

enum st_code exec__col_reserve(struct exec_ctx *c, struct exec_col *col, uint32_t n,
                               struct st_error *err);
void exec__col_free(struct exec_ctx *c, struct exec_col *col);
/* A vector over rows [0, n) of col; `any_null` says whether to expose nulls. */
void exec__col_vec(const struct exec_col *col, bool any_null, struct exec_vec *out);

/* out[k] = in[sel[k]] for k < n (const vectors stay const, no copy). */
enum st_code exec__gather(struct exec_ctx *c, const struct exec_vec *in, const uint32_t *sel,
                          uint32_t n, struct exec_col *buf, struct exec_vec *out,
                          struct st_error *err);
/* Expand a const vector to n rows in buf (non-const vectors are returned as is). */
enum st_code exec__flatten(struct exec_ctx *c, const struct exec_vec *in, uint32_t n,
                           struct exec_col *buf, struct exec_vec *out, struct st_error *err);

/* Read one value of a vector as a plan_value. */
void exec__vec_value(const struct exec_vec *v, uint32_t row, struct plan_value *out);

/* ---- materialised tables ------------------------------------------------------------- */

/* Rows copied out of chunks (strings included), for sort, windows, keys. */
struct exec_table {
    uint32_t n_cols;
    uint32_t n_rows;
    uint32_t cap;
    struct exec_col *cols;
    bool *any_null;          /* per column */
    struct sql_arena strings; /* string bytes of every row */
    size_t string_bytes;
};

enum st_code exec__table_init(struct exec_ctx *c, struct exec_table *t, uint32_t n_cols,
                              const enum plan_type *types, struct st_error *err);
void exec__table_free(struct exec_ctx *c, struct exec_table *t);
/* Append chunk rows (all when sel is NULL, else sel[0..n)). */
enum st_code exec__table_append(struct exec_ctx *c, struct exec_table *t,
                                const struct exec_chunk *in, const uint32_t *sel, uint32_t n,
                                struct st_error *err);
/* Append one row whose values are given per column as (vector, row). */
enum st_code exec__table_append_row(struct exec_ctx *c, struct exec_table *t,
                                    const struct exec_vec *const *vecs, uint32_t row,
                                    struct st_error *err);
/* A chunk view of rows idx[0..n) (or [first, first+n) when idx is NULL). */
enum st_code exec__table_emit(struct exec_ctx *c, const struct exec_table *t, const uint32_t *idx,
                              uint32_t first, uint32_t n, struct exec_col *bufs,
                              struct exec_vec *vecs, struct st_error *err);
/* Keep only rows idx[0..n), in that order. */
enum st_code exec__table_compact(struct exec_ctx *c, struct exec_table *t, const uint32_t *idx,
                                 uint32_t n, struct st_error *err);
/* Compare row a of table column with row b (NULLs compare by nulls_first). */
int exec__table_cmp(const struct exec_table *t, uint32_t col, uint32_t a, uint32_t b);

/* ---- key tables: distinct tuples with a hash index (GROUP BY, DISTINCT) ------------ */

struct exec_keytab {
    struct exec_table keys; /* one row per distinct tuple, in first-seen order */
    uint64_t *hashes;       /* per tuple */
    uint32_t *slots;        /* open addressing: tuple index + 1, 0 = empty */
    uint32_t mask;
    uint64_t seed;
};

enum st_code exec__keytab_init(struct exec_ctx *c, struct exec_keytab *kt, uint32_t n_keys,
                               const enum plan_type *types, struct st_error *err);
void exec__keytab_free(struct exec_ctx *c, struct exec_keytab *kt);
/* Hash of row `row` of the key vectors. */
uint64_t exec__hash_row(const struct exec_keytab *kt, const struct exec_vec *const *keys,
                        uint32_t row);
/* The tuple index of the row's keys, adding it when new (*added). */
enum st_code exec__keytab_lookup(struct exec_ctx *c, struct exec_keytab *kt,
                                 const struct exec_vec *const *keys, uint32_t row, uint64_t hash,
                                 uint32_t *id, bool *added, struct st_error *err);

/* Hash of one non-NULL int64-like key, equal to exec__hash_row's. */
static inline uint64_t
exec__keytab_hash_i64(const struct exec_keytab *kt, uint64_t v)
{
    return st_mix64(0x9E3779B97F4A7C15ull ^ st_hash_u64(v ^ kt->seed), 0xBF58476D1CE4E5B9ull);
}

/* Find a one-key tuple holding integer v (hash h); false when absent. */
static inline bool
exec__keytab_find_i64(const struct exec_keytab *kt, uint64_t v, uint64_t h, uint32_t *id)
{
    if (!kt->slots)
        return false;
    const uint64_t *data = (const uint64_t *)kt->keys.cols[0].data;
    const uint8_t *nulls = kt->keys.cols[0].nulls;
    for (uint32_t s = (uint32_t)h & kt->mask;; s = (s + 1) & kt->mask) {
        uint32_t e = kt->slots[s];
        if (!e)
            return false;
        if (kt->hashes[e - 1] == h && data[e - 1] == v && !nulls[e - 1]) {
            *id = e - 1;
            return true;
        }
    }
}

/* The same as exec__keytab_lookup for one non-NULL, non-const int64-like
 * key (INT, UINT, TIME, INTERVAL): hashed and compared inline. */
enum st_code exec__keytab_lookup_i64(struct exec_ctx *c, struct exec_keytab *kt,
                                     const struct exec_vec *key, uint32_t row, uint32_t *id,
                                     bool *added, struct st_error *err);

/* ---- expressions ----------------------------------------------------------------------- */

struct exec_expr;

enum st_code exec__expr_compile(struct exec_ctx *c, const struct plan_expr *pe,
                                struct exec_expr **out, struct st_error *err);
/* Evaluate over a chunk; *out is valid until the next evaluation or free. */
enum st_code exec__expr_eval(struct exec_expr *x, const struct exec_chunk *in,
                             const struct exec_vec **out, struct st_error *err);
void exec__expr_free(struct exec_ctx *c, struct exec_expr *x);

/* ---- operators ---------------------------------------------------------------------------- */

struct exec_op;

struct exec_op_vt {
    enum st_code (*next)(struct exec_op *op, const struct exec_chunk **out, struct st_error *err);
    void (*free)(struct exec_op *op);
};

struct exec_op {
    const struct exec_op_vt *vt;
    struct exec_ctx *ctx;
    const struct plan_node *pn;
    struct exec_op *child;
};

enum st_code exec__build(struct exec_ctx *c, const struct plan_node *pn, struct exec_op **out,
                         struct st_error *err);
void exec__op_free(struct exec_op *op);

static inline enum st_code
exec__op_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    return op->vt->next(op, out, err);
}

enum st_code exec__scan_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op **out,
                            struct st_error *err);
enum st_code exec__values_new(struct exec_ctx *c, const struct plan_node *pn,
                              struct exec_op **out, struct st_error *err);
enum st_code exec__filter_new(struct exec_ctx *c, const struct plan_node *pn,
                              struct exec_op *child, struct exec_op **out, struct st_error *err);
enum st_code exec__project_new(struct exec_ctx *c, const struct plan_node *pn,
                               struct exec_op *child, struct exec_op **out, struct st_error *err);
enum st_code exec__agg_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
                           struct exec_op **out, struct st_error *err);
enum st_code exec__sort_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
                            struct exec_op **out, struct st_error *err);
enum st_code exec__limit_new(struct exec_ctx *c, const struct plan_node *pn,
                             struct exec_op *child, struct exec_op **out, struct st_error *err);
enum st_code exec__distinct_new(struct exec_ctx *c, const struct plan_node *pn,
                                struct exec_op *child, struct exec_op **out,
                                struct st_error *err);
enum st_code exec__window_new(struct exec_ctx *c, const struct plan_node *pn,
                              struct exec_op **out, struct st_error *err);

/* ---- output ---------------------------------------------------------------------------------- */

struct exec_output;
enum st_code exec__output_new(struct exec_ctx *c, const struct plan_node *root,
                              struct exec_output **out, struct st_error *err);
/* Convert a chunk of the root into an st_batch (valid until the next call). */
enum st_code exec__output_convert(struct exec_output *o, const struct exec_chunk *in,
                                  const struct st_batch **out, struct st_error *err);
void exec__output_free(struct exec_output *o);

#endif
