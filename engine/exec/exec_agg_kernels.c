/*
 * exec_agg_kernels.c: the update loops of the aggregate functions.
 *
 * Two shapes per function: a range update (rows [a, b) all belong to one
 * group: the run-aware path, where a register accumulator runs over the
 * slice and touches the group's state once) and a row update (row i goes
 * to group gid[i]: the hash path for interleaved keys). The time-bucketed
 * queries of a time-series workload arrive as long runs of one group, so
 * the range loops are the hot ones; they are written to vectorise when the
 * vector has no NULLs.
 *
 * Numeric rules: integer sums are exact (128-bit accumulators: the range
 * loop adds low and high 32-bit halves separately so it vectorises, then
 * folds them into 128 bits) and overflow of the int64 result is an error;
 * float sums and variances accumulate strictly in row order, which is the
 * same before and after a restart or persist, so results are identical.
 * avg of integers divides the exact sum. Variance uses Welford's method.
 * first/last keep the value at the earliest/latest time; on equal times the
 * first row seen wins for first, the last row seen for last.
 */
#include "exec_agg_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool
uses_s128(const struct agg_state *s)
{
    enum plan_agg_fn f = s->pa->fn;
    return (f == PA_SUM || f == PA_AVG) && (s->in == PT_INT || s->in == PT_INTERVAL);
}

static bool
uses_u128(const struct agg_state *s)
{
    enum plan_agg_fn f = s->pa->fn;
    return (f == PA_SUM || f == PA_AVG) && s->in == PT_UINT;
}

static bool
is_var(enum plan_agg_fn f)
{
    return f == PA_STDDEV || f == PA_STDDEV_POP || f == PA_VAR || f == PA_VAR_POP;
}

static bool
uses_f(const struct agg_state *s)
{
    enum plan_agg_fn f = s->pa->fn;
    return ((f == PA_SUM || f == PA_AVG) && s->in == PT_FLOAT) || is_var(f);
}

static bool
uses_val(const struct agg_state *s)
{
    enum plan_agg_fn f = s->pa->fn;
    return f == PA_MIN || f == PA_MAX || f == PA_FIRST || f == PA_LAST;
}

static enum st_code
grow_array(struct exec_ctx *c, void **p, size_t es, uint32_t old_cap, uint32_t cap,
           struct st_error *err)
{
    ST_TRY(exec__mem(c, (int64_t)((size_t)(cap - old_cap) * es), err));
    void *n = realloc(*p, (size_t)cap * es);
    if (!n)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    memset((char *)n + (size_t)old_cap * es, 0, (size_t)(cap - old_cap) * es);
    *p = n;
    return ST_OK;
}

enum st_code
exec__agg_grow(struct exec_ctx *c, struct agg_state *s, uint32_t old_cap, uint32_t cap,
               struct st_error *err)
{
    ST_TRY(grow_array(c, (void **)&s->cnt, sizeof *s->cnt, old_cap, cap, err));
    if (uses_s128(s))
        ST_TRY(grow_array(c, (void **)&s->s128, sizeof *s->s128, old_cap, cap, err));
    if (uses_u128(s))
        ST_TRY(grow_array(c, (void **)&s->u128, sizeof *s->u128, old_cap, cap, err));
    if (uses_f(s))
        ST_TRY(grow_array(c, (void **)&s->f, sizeof *s->f, old_cap, cap, err));
    if (is_var(s->pa->fn))
        ST_TRY(grow_array(c, (void **)&s->m2, sizeof *s->m2, old_cap, cap, err));
    if (uses_val(s)) {
        ST_TRY(grow_array(c, (void **)&s->val, sizeof *s->val, old_cap, cap, err));
        ST_TRY(grow_array(c, (void **)&s->has, sizeof *s->has, old_cap, cap, err));
    }
    if (s->pa->fn == PA_FIRST || s->pa->fn == PA_LAST)
        ST_TRY(grow_array(c, (void **)&s->t, sizeof *s->t, old_cap, cap, err));
    return ST_OK;
}

void
exec__agg_state_free(struct exec_ctx *c, struct agg_state *s, uint32_t cap)
{
    size_t per = sizeof *s->cnt;
    if (s->s128)
        per += sizeof *s->s128;
    if (s->u128)
        per += sizeof *s->u128;
    if (s->f)
        per += sizeof *s->f;
    if (s->m2)
        per += sizeof *s->m2;
    if (s->val)
        per += sizeof *s->val + sizeof *s->has;
    if (s->t)
        per += sizeof *s->t;
    if (s->cnt)
        exec__mem(c, -(int64_t)(per * cap), NULL);
    free(s->cnt);
    free(s->s128);
    free(s->u128);
    free(s->f);
    free(s->m2);
    free(s->val);
    free(s->t);
    free(s->has);
    if (s->dset_init)
        exec__keytab_free(c, &s->dset);
    exec__mem(c, -(int64_t)s->strs_accounted, NULL);
    sql_arena_cleanup(&s->strs);
    memset(s, 0, sizeof *s);
}

/* ---- helpers ------------------------------------------------------------------------ */

static enum st_code
keep_string(struct exec_ctx *c, struct agg_state *s, struct plan_str in, struct plan_str *out,
            struct st_error *err)
{
    if (in.len == 0) {
        out->p = "";
        out->len = 0;
        return ST_OK;
    }
    char *p = sql_arena_alloc(&s->strs, in.len);
    if (!p)
        return st_error_set(err, ST_ENOMEM, "out of memory keeping aggregate strings");
    memcpy(p, in.p, in.len);
    size_t now = s->strs.total_bytes;
    if (now > s->strs_accounted) {
        ST_TRY(exec__mem(c, (int64_t)(now - s->strs_accounted), err));
        s->strs_accounted = now;
    }
    out->p = p;
    out->len = in.len;
    return ST_OK;
}

static int
str_cmp(const struct plan_str *a, const struct plan_str *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int r = n ? memcmp(a->p, b->p, n) : 0;
    if (r)
        return r;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Compare vector value i with a kept value (same type). */
static int
cmp_val(enum plan_type t, const struct exec_vec *v, uint32_t i, const union agg_val *k)
{
    switch (t) {
    case PT_FLOAT:
        return v->v.f64[i] < k->f ? -1 : v->v.f64[i] > k->f;
    case PT_UINT:
        return v->v.u64[i] < k->u ? -1 : v->v.u64[i] > k->u;
    case PT_BOOL:
        return (int)v->v.b[i] - (int)k->b;
    case PT_STRING:
        return str_cmp(&v->v.s[i], &k->s);
    default:
        return v->v.i64[i] < k->i ? -1 : v->v.i64[i] > k->i;
    }
}

static enum st_code
set_val(struct exec_ctx *c, struct agg_state *s, uint32_t g, const struct exec_vec *v, uint32_t i,
        struct st_error *err)
{
    union agg_val *k = &s->val[g];
    switch (s->in) {
    case PT_FLOAT:
        k->f = v->v.f64[i];
        break;
    case PT_UINT:
        k->u = v->v.u64[i];
        break;
    case PT_BOOL:
        k->b = v->v.b[i];
        break;
    case PT_STRING:
        ST_TRY(keep_string(c, s, v->v.s[i], &k->s, err));
        break;
    default:
        k->i = v->v.i64[i];
        break;
    }
    s->has[g] = 1;
    return ST_OK;
}

static inline bool
isnull(const struct exec_vec *v, uint32_t i)
{
    return v->nulls && v->nulls[i];
}

static enum st_code
distinct_add(struct exec_ctx *c, struct agg_state *s, uint32_t g, const struct exec_vec *v,
             uint32_t i, struct st_error *err)
{
    if (!s->dset_init) {
        enum plan_type types[2] = {PT_INT, s->in};
        ST_TRY(exec__keytab_init(c, &s->dset, 2, types, err));
        s->dset_init = true;
    }
    int64_t gv = g;
    struct exec_vec gvec = {.type = PT_INT, .is_const = true, .v.i64 = &gv};
    const struct exec_vec *keys[2] = {&gvec, v};
    uint64_t h = exec__hash_row(&s->dset, keys, i);
    uint32_t id;
    bool added;
    ST_TRY(exec__keytab_lookup(c, &s->dset, keys, i, h, &id, &added, err));
    s->cnt[g] += added;
    return ST_OK;
}

/* ---- range updates (one group, rows [a, b)) ------------------------------------------- */

static void
sum_i64_range(struct agg_state *s, uint32_t g, const struct exec_vec *v, uint32_t a, uint32_t b)
{
    const int64_t *x = v->v.i64;
    uint64_t lo = 0;
    int64_t hi = 0, n = 0;
    if (!v->nulls) {
        for (uint32_t i = a; i < b; i++) {
            lo += (uint32_t)x[i];
            hi += x[i] >> 32;
        }
        n = b - a;
    } else {
        for (uint32_t i = a; i < b; i++) {
            int64_t m = v->nulls[i] ? 0 : -1;
            lo += (uint32_t)(x[i] & m);
            hi += (x[i] & m) >> 32;
            n += m & 1;
        }
    }
    s->s128[g] += (__int128)hi * 4294967296 + (__int128)lo; /* no shift: hi may be < 0 */
    s->cnt[g] += n;
}

static void
sum_u64_range(struct agg_state *s, uint32_t g, const struct exec_vec *v, uint32_t a, uint32_t b)
{
    const uint64_t *x = v->v.u64;
    uint64_t lo = 0, hi = 0;
    int64_t n = 0;
    for (uint32_t i = a; i < b; i++) {
        uint64_t m = isnull(v, i) ? 0 : ~(uint64_t)0;
        lo += (uint32_t)(x[i] & m);
        hi += (x[i] & m) >> 32;
        n += (int64_t)(m & 1);
    }
    s->u128[g] += ((unsigned __int128)hi << 32) + lo;
    s->cnt[g] += n;
}

static void
sum_f64_range(struct agg_state *s, uint32_t g, const struct exec_vec *v, uint32_t a, uint32_t b)
{
    const double *x = v->v.f64;
    double acc = s->f[g];
    int64_t n = 0;
    if (!v->nulls) {
        for (uint32_t i = a; i < b; i++)
            acc += x[i];
        n = b - a;
    } else {
        for (uint32_t i = a; i < b; i++)
            if (!v->nulls[i]) {
                acc += x[i];
                n++;
            }
    }
    s->f[g] = acc;
    s->cnt[g] += n;
}

#define MINMAX_RANGE(T, FIELD, CMPOP)                                                             \
    do {                                                                                          \
        const T *x = (const T *)v->v.p;                                                           \
        uint32_t i = a;                                                                           \
        if (v->nulls)                                                                             \
            while (i < b && v->nulls[i])                                                          \
                i++;                                                                              \
        if (i == b)                                                                               \
            return ST_OK;                                                                         \
        T m = x[i];                                                                               \
        if (!v->nulls) {                                                                          \
            for (; i < b; i++)                                                                    \
                m = x[i] CMPOP m ? x[i] : m;                                                      \
        } else {                                                                                  \
            for (; i < b; i++)                                                                    \
                if (!v->nulls[i] && x[i] CMPOP m)                                                 \
                    m = x[i];                                                                     \
        }                                                                                         \
        if (!s->has[g] || m CMPOP s->val[g].FIELD) {                                              \
            s->val[g].FIELD = m;                                                                  \
            s->has[g] = 1;                                                                        \
        }                                                                                         \
        return ST_OK;                                                                             \
    } while (0)

static void
welford(struct agg_state *s, uint32_t g, double x)
{
    int64_t n = ++s->cnt[g];
    double d = x - s->f[g];
    s->f[g] += d / (double)n;
    s->m2[g] += d * (x - s->f[g]);
}

static double
as_double(const struct exec_vec *v, uint32_t i)
{
    switch (v->type) {
    case PT_FLOAT:
        return v->v.f64[i];
    case PT_UINT:
        return (double)v->v.u64[i];
    default:
        return (double)v->v.i64[i];
    }
}

enum st_code
exec__agg_update_range(struct exec_ctx *c, struct agg_state *s, uint32_t g,
                       const struct exec_vec *v, const struct exec_vec *t, uint32_t a, uint32_t b,
                       struct st_error *err)
{
    enum plan_agg_fn fn = s->pa->fn;
    switch (fn) {
    case PA_COUNT_STAR:
        s->cnt[g] += b - a;
        return ST_OK;
    case PA_COUNT:
        if (!v->nulls) {
            s->cnt[g] += b - a;
        } else {
            int64_t n = 0;
            for (uint32_t i = a; i < b; i++)
                n += !v->nulls[i];
            s->cnt[g] += n;
        }
        return ST_OK;
    case PA_COUNT_DISTINCT:
        for (uint32_t i = a; i < b; i++)
            if (!isnull(v, i))
                ST_TRY(distinct_add(c, s, g, v, i, err));
        return ST_OK;
    case PA_SUM:
    case PA_AVG:
        if (uses_s128(s))
            sum_i64_range(s, g, v, a, b);
        else if (uses_u128(s))
            sum_u64_range(s, g, v, a, b);
        else
            sum_f64_range(s, g, v, a, b);
        return ST_OK;
    case PA_MIN:
    case PA_MAX:
        switch (s->in) {
        case PT_INT:
        case PT_TIME:
        case PT_INTERVAL:
            if (fn == PA_MIN)
                MINMAX_RANGE(int64_t, i, <);
            MINMAX_RANGE(int64_t, i, >);
        case PT_UINT:
            if (fn == PA_MIN)
                MINMAX_RANGE(uint64_t, u, <);
            MINMAX_RANGE(uint64_t, u, >);
        case PT_FLOAT:
            if (fn == PA_MIN)
                MINMAX_RANGE(double, f, <);
            MINMAX_RANGE(double, f, >);
        default:
            for (uint32_t i = a; i < b; i++) {
                if (isnull(v, i))
                    continue;
                int cr = s->has[g] ? cmp_val(s->in, v, i, &s->val[g]) : 0;
                if (!s->has[g] || (fn == PA_MIN ? cr < 0 : cr > 0))
                    ST_TRY(set_val(c, s, g, v, i, err));
            }
            return ST_OK;
        }
    case PA_STDDEV:
    case PA_STDDEV_POP:
    case PA_VAR:
    case PA_VAR_POP:
        for (uint32_t i = a; i < b; i++)
            if (!isnull(v, i))
                welford(s, g, as_double(v, i));
        return ST_OK;
    case PA_FIRST:
    case PA_LAST: {
        int64_t best = -1;
        const int64_t *tv = t->v.i64;
        for (uint32_t i = a; i < b; i++) {
            if (isnull(v, i) || isnull(t, i))
                continue;
            if (best < 0 || (fn == PA_LAST ? tv[i] >= tv[best] : tv[i] < tv[best]))
                best = i;
        }
        if (best < 0)
            return ST_OK;
        if (!s->has[g] || (fn == PA_LAST ? tv[best] >= s->t[g] : tv[best] < s->t[g])) {
            ST_TRY(set_val(c, s, g, v, (uint32_t)best, err));
            s->t[g] = tv[best];
        }
        return ST_OK;
    }
    }
    return ST_OK;
}

/* ---- all the runs of a chunk ----------------------------------------------------------------- */

#define RUNS_MINMAX(T, FIELD, CMPOP)                                                              \
    do {                                                                                          \
        const T *x = (const T *)v->v.p;                                                           \
        for (uint32_t r = 0; r < n_runs; r++) {                                                   \
            uint32_t a = run_start[r], b = run_start[r + 1], g = run_gid[r];                      \
            T m = x[a];                                                                           \
            for (uint32_t i = a + 1; i < b; i++)                                                  \
                m = x[i] CMPOP m ? x[i] : m;                                                      \
            if (!s->has[g] || m CMPOP s->val[g].FIELD) {                                          \
                s->val[g].FIELD = m;                                                              \
                s->has[g] = 1;                                                                    \
            }                                                                                     \
        }                                                                                         \
        return ST_OK;                                                                             \
    } while (0)

enum st_code
exec__agg_update_runs(struct exec_ctx *c, struct agg_state *s, const uint32_t *run_start,
                      const uint32_t *run_gid, uint32_t n_runs, const struct exec_vec *v,
                      const struct exec_vec *t, struct st_error *err)
{
    enum plan_agg_fn fn = s->pa->fn;
    /* the common kernels without NULLs, with the dispatch hoisted out of the run loop */
    if (fn == PA_COUNT_STAR || ((fn == PA_COUNT) && !v->nulls)) {
        for (uint32_t r = 0; r < n_runs; r++)
            s->cnt[run_gid[r]] += run_start[r + 1] - run_start[r];
        return ST_OK;
    }
    if (v && !v->nulls && (fn == PA_MIN || fn == PA_MAX)) {
        switch (s->in) {
        case PT_INT:
        case PT_TIME:
        case PT_INTERVAL:
            if (fn == PA_MIN)
                RUNS_MINMAX(int64_t, i, <);
            RUNS_MINMAX(int64_t, i, >);
        case PT_FLOAT:
            if (fn == PA_MIN)
                RUNS_MINMAX(double, f, <);
            RUNS_MINMAX(double, f, >);
        default:
            break;
        }
    }
    if (v && !v->nulls && (fn == PA_SUM || fn == PA_AVG) && uses_s128(s)) {
        for (uint32_t r = 0; r < n_runs; r++)
            sum_i64_range(s, run_gid[r], v, run_start[r], run_start[r + 1]);
        return ST_OK;
    }
    for (uint32_t r = 0; r < n_runs; r++)
        ST_TRY(exec__agg_update_range(c, s, run_gid[r], v, t, run_start[r], run_start[r + 1], err));
    return ST_OK;
}

/* ---- row updates (row i goes to group gid[i]) --------------------------------------------- */

enum st_code
exec__agg_update_rows(struct exec_ctx *c, struct agg_state *s, const uint32_t *gid,
                      const struct exec_vec *v, const struct exec_vec *t, uint32_t n,
                      struct st_error *err)
{
    enum plan_agg_fn fn = s->pa->fn;
    switch (fn) {
    case PA_COUNT_STAR:
        for (uint32_t i = 0; i < n; i++)
            s->cnt[gid[i]]++;
        return ST_OK;
    case PA_COUNT:
        for (uint32_t i = 0; i < n; i++)
            s->cnt[gid[i]] += !isnull(v, i);
        return ST_OK;
    case PA_SUM:
    case PA_AVG:
        if (uses_s128(s)) {
            for (uint32_t i = 0; i < n; i++)
                if (!isnull(v, i)) {
                    s->s128[gid[i]] += v->v.i64[i];
                    s->cnt[gid[i]]++;
                }
        } else if (uses_u128(s)) {
            for (uint32_t i = 0; i < n; i++)
                if (!isnull(v, i)) {
                    s->u128[gid[i]] += v->v.u64[i];
                    s->cnt[gid[i]]++;
                }
        } else {
            for (uint32_t i = 0; i < n; i++)
                if (!isnull(v, i)) {
                    s->f[gid[i]] += v->v.f64[i];
                    s->cnt[gid[i]]++;
                }
        }
        return ST_OK;
    default:
        /* the rest go through the range kernel one row at a time */
        for (uint32_t i = 0; i < n; i++)
            ST_TRY(exec__agg_update_range(c, s, gid[i], v, t, i, i + 1, err));
        return ST_OK;
    }
}

/* ---- results --------------------------------------------------------------------------------- */

enum st_code
exec__agg_final(const struct agg_state *s, uint32_t g, struct plan_value *out,
                struct st_error *err)
{
    const struct plan_agg *pa = s->pa;
    out->type = pa->type;
    out->is_null = false;
    int64_t n = s->cnt[g];
    switch (pa->fn) {
    case PA_COUNT_STAR:
    case PA_COUNT:
    case PA_COUNT_DISTINCT:
        out->v.i = n;
        return ST_OK;
    case PA_SUM:
        if (n == 0) {
            out->is_null = true;
            return ST_OK;
        }
        if (uses_s128(s)) {
            __int128 v = s->s128[g];
            if (v > INT64_MAX || v < INT64_MIN)
                return st_error_set_at(err, ST_EINVAL, pa->pos, "integer overflow in sum()");
            out->v.i = (int64_t)v;
        } else if (uses_u128(s)) {
            unsigned __int128 v = s->u128[g];
            if (v > UINT64_MAX)
                return st_error_set_at(err, ST_EINVAL, pa->pos, "integer overflow in sum()");
            out->v.u = (uint64_t)v;
        } else {
            if (!isfinite(s->f[g]))
                return st_error_set_at(err, ST_EINVAL, pa->pos, "float overflow in sum()");
            out->v.f = s->f[g];
        }
        return ST_OK;
    case PA_AVG:
        if (n == 0) {
            out->is_null = true;
            return ST_OK;
        }
        if (uses_s128(s))
            out->v.f = (double)s->s128[g] / (double)n;
        else if (uses_u128(s))
            out->v.f = (double)s->u128[g] / (double)n;
        else
            out->v.f = s->f[g] / (double)n;
        if (!isfinite(out->v.f))
            return st_error_set_at(err, ST_EINVAL, pa->pos, "float overflow in avg()");
        return ST_OK;
    case PA_VAR:
    case PA_STDDEV:
    case PA_VAR_POP:
    case PA_STDDEV_POP: {
        bool pop = pa->fn == PA_VAR_POP || pa->fn == PA_STDDEV_POP;
        if (n < (pop ? 1 : 2)) {
            out->is_null = true;
            return ST_OK;
        }
        double var = s->m2[g] / (double)(pop ? n : n - 1);
        if (var < 0)
            var = 0;
        out->v.f = (pa->fn == PA_STDDEV || pa->fn == PA_STDDEV_POP) ? sqrt(var) : var;
        return ST_OK;
    }
    case PA_MIN:
    case PA_MAX:
    case PA_FIRST:
    case PA_LAST:
        if (!s->has[g]) {
            out->is_null = true;
            return ST_OK;
        }
        switch (pa->type) {
        case PT_FLOAT:
            out->v.f = s->val[g].f;
            break;
        case PT_UINT:
            out->v.u = s->val[g].u;
            break;
        case PT_BOOL:
            out->v.b = s->val[g].b;
            break;
        case PT_STRING:
            out->v.s = s->val[g].s;
            break;
        default:
            out->v.i = s->val[g].i;
            break;
        }
        return ST_OK;
    }
    return ST_OK;
}
