/*
 * exec_expr.c: vectorized evaluation of bound expressions over chunks.
 *
 * A plan expression is compiled into a tree of evaluators, each with its
 * own output buffer sized for a chunk. Evaluation is bottom-up over the
 * whole chunk: a column reference returns the chunk's own vector (no copy),
 * a node whose inputs are all constant computes once and returns a const
 * vector (so tag predicates on a series chunk cost one evaluation), and
 * the common operators have typed loops:
 *   comparisons on int/time/float/unsigned/string/bool (vector-constant and
 *   vector-vector), integer and float arithmetic with overflow checks,
 *   time +/- interval, date_bin (one division per bucket, not per row, when
 *   time ascends), int -> float casts, IN lists, LIKE, regex, AND/OR/NOT
 *   with three-valued logic.
 * Everything else runs row by row through plan_eval_fn / plan_cast_value
 * (plan_value.c), the single definition of scalar semantics.
 *
 * CASE evaluates each THEN/ELSE branch only on the rows that reach it (a
 * guarded division never divides by zero); AND and OR evaluate all their
 * operands, as in PostgreSQL there is no guaranteed short-circuit order.
 * Errors found in rows whose inputs are NULL are ignored: NULL rows never
 * raise errors.
 */
#include "exec_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct exec_expr {
    const struct plan_expr *pe;
    struct exec_ctx *ctx;
    uint32_t n_args;
    struct exec_expr **args;
    const struct exec_vec **argv; /* the arguments' results during one evaluation */
    struct exec_col buf;
    struct exec_vec out;
    struct sql_arena strs; /* string results of the last evaluation */
    size_t strs_accounted;
    union {
        int64_t i;
        uint64_t u;
        double f;
        uint8_t b;
        struct plan_str s;
    } cdata;
    uint8_t cnull;
    /* CASE */
    uint32_t *sel_a, *sel_b, *sel_c;
    uint32_t sel_cap;
    struct exec_col *gbufs;
    struct exec_vec *gvecs;
    uint32_t n_gbufs;
    /* IN over integers */
    int64_t *in_i64;
};

/* ---- compile / free ---------------------------------------------------------------- */

static void
set_const_out(struct exec_expr *x, const struct plan_value *v)
{
    x->out.type = x->pe->type;
    x->out.is_const = true;
    x->cnull = v->is_null || v->type == PT_NULL;
    x->out.nulls = x->cnull ? &x->cnull : NULL;
    memset(&x->cdata, 0, sizeof x->cdata);
    if (!x->cnull) {
        switch (x->pe->type) {
        case PT_BOOL:
            x->cdata.b = v->v.b;
            break;
        case PT_STRING:
            x->cdata.s = v->v.s;
            break;
        case PT_FLOAT:
            x->cdata.f = v->v.f;
            break;
        case PT_UINT:
            x->cdata.u = v->v.u;
            break;
        default:
            x->cdata.i = v->v.i;
            break;
        }
    }
    x->out.v.p = &x->cdata;
}

enum st_code
exec__expr_compile(struct exec_ctx *c, const struct plan_expr *pe, struct exec_expr **out,
                   struct st_error *err)
{
    struct exec_expr *x = calloc(1, sizeof *x);
    if (!x)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    x->pe = pe;
    x->ctx = c;
    x->buf.type = pe->type;
    sql_arena_init(&x->strs, c->mem_limit);
    *out = x;
    struct plan_expr *const *args = NULL;
    uint32_t n = 0;
    switch (pe->kind) {
    case PE_CONST:
        set_const_out(x, &pe->u.c);
        return ST_OK;
    case PE_COL:
        return ST_OK;
    case PE_CALL:
        args = pe->u.call.args;
        n = pe->u.call.n_args;
        break;
    case PE_CAST:
        args = &pe->u.cast.arg;
        n = 1;
        break;
    case PE_AND:
    case PE_OR:
    case PE_NOT:
    case PE_IS_NULL:
        args = pe->u.logic.args;
        n = pe->u.logic.n_args;
        break;
    case PE_CASE:
        n = 2 * pe->u.cas.n_when + 1;
        break;
    case PE_IN:
        args = &pe->u.in.arg;
        n = 1;
        if (pe->u.in.arg->type == PT_INT || pe->u.in.arg->type == PT_TIME ||
            pe->u.in.arg->type == PT_INTERVAL) {
            x->in_i64 = malloc((pe->u.in.n + 1) * sizeof *x->in_i64);
            if (!x->in_i64)
                return st_error_set(err, ST_ENOMEM, "out of memory");
            for (uint32_t i = 0; i < pe->u.in.n; i++)
                x->in_i64[i] = pe->u.in.vals[i].v.i;
        }
        break;
    case PE_LIKE:
        args = &pe->u.like.arg;
        n = 1;
        break;
    case PE_REGEX:
        args = &pe->u.re.arg;
        n = 1;
        break;
    }
    x->n_args = n;
    x->args = calloc(n ? n : 1, sizeof *x->args);
    x->argv = calloc(n ? n : 1, sizeof *x->argv);
    if (!x->args || !x->argv)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const struct plan_expr *a;
        if (pe->kind == PE_CASE) {
            uint32_t w = pe->u.cas.n_when;
            a = i < w ? pe->u.cas.when[i] : i < 2 * w ? pe->u.cas.then[i - w] : pe->u.cas.els;
        } else {
            a = args[i];
        }
        ST_TRY(exec__expr_compile(c, a, &x->args[i], err));
    }
    return ST_OK;
}

void
exec__expr_free(struct exec_ctx *c, struct exec_expr *x)
{
    if (!x)
        return;
    for (uint32_t i = 0; x->args && i < x->n_args; i++)
        exec__expr_free(c, x->args[i]);
    free(x->args);
    free(x->argv);
    exec__col_free(c, &x->buf);
    exec__mem(c, -(int64_t)x->strs_accounted, NULL);
    sql_arena_cleanup(&x->strs);
    free(x->sel_a);
    free(x->sel_b);
    free(x->sel_c);
    for (uint32_t i = 0; i < x->n_gbufs; i++)
        exec__col_free(c, &x->gbufs[i]);
    free(x->gbufs);
    free(x->gvecs);
    free(x->in_i64);
    free(x);
}

/* ---- helpers ------------------------------------------------------------------------ */

static enum st_code
out_reserve(struct exec_expr *x, uint32_t n, struct st_error *err)
{
    x->buf.type = x->pe->type;
    ST_TRY(exec__col_reserve(x->ctx, &x->buf, n ? n : 1, err));
    x->out.type = x->pe->type;
    x->out.is_const = false;
    x->out.v.p = x->buf.data;
    x->out.nulls = NULL;
    return ST_OK;
}

/* out.nulls = OR of the given vectors' nulls (NULL when none has any). */
static void
merge_nulls(struct exec_expr *x, const struct exec_vec *const *v, uint32_t nv, uint32_t n)
{
    bool any = false;
    for (uint32_t k = 0; k < nv; k++)
        any |= v[k]->nulls != NULL;
    if (!any) {
        x->out.nulls = NULL;
        return;
    }
    uint8_t *o = x->buf.nulls;
    memset(o, 0, n);
    for (uint32_t k = 0; k < nv; k++) {
        if (!v[k]->nulls)
            continue;
        if (v[k]->is_const) {
            if (v[k]->nulls[0])
                memset(o, 1, n);
        } else {
            for (uint32_t i = 0; i < n; i++)
                o[i] |= v[k]->nulls[i];
        }
    }
    x->out.nulls = o;
}

static enum st_code
account_strings(struct exec_expr *x, struct st_error *err)
{
    size_t now = x->strs.total_bytes;
    if (now > x->strs_accounted) {
        ST_TRY(exec__mem(x->ctx, (int64_t)(now - x->strs_accounted), err));
        x->strs_accounted = now;
    }
    return ST_OK;
}

static void
store_value(struct exec_expr *x, uint32_t i, const struct plan_value *v)
{
    uint8_t *nl = x->buf.nulls;
    nl[i] = v->is_null;
    if (v->is_null)
        return;
    switch (x->pe->type) {
    case PT_BOOL:
        ((uint8_t *)x->buf.data)[i] = v->v.b;
        break;
    case PT_STRING:
        ((struct plan_str *)x->buf.data)[i] = v->v.s;
        break;
    case PT_FLOAT:
        ((double *)x->buf.data)[i] = v->v.f;
        break;
    case PT_UINT:
        ((uint64_t *)x->buf.data)[i] = v->v.u;
        break;
    case PT_NULL:
        break;
    default:
        ((int64_t *)x->buf.data)[i] = v->v.i;
        break;
    }
}

static bool
all_const(const struct exec_vec *const *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!a[i]->is_const)
            return false;
    return true;
}

static bool
null_aware(enum plan_fn fn)
{
    return fn == PF_COALESCE || fn == PF_NULLIF || fn == PF_CONCAT_FN;
}

/* Row by row through the scalar definition (plan_value.c). */
static enum st_code
eval_generic_call(struct exec_expr *x, const struct exec_vec *const *a, uint32_t n,
                  struct st_error *err)
{
    const struct plan_expr *pe = x->pe;
    uint32_t na = pe->u.call.n_args;
    struct plan_value vals[64];
    if (na > 64)
        return st_error_set_at(err, ST_ELIMIT, pe->pos, "too many arguments (at most 64)");
    bool constant = all_const(a, na);
    uint32_t rows = constant ? 1 : n;
    if (!constant)
        ST_TRY(out_reserve(x, n, err));
    bool any_null = false;
    for (uint32_t i = 0; i < rows; i++) {
        bool has_null = false;
        for (uint32_t k = 0; k < na; k++) {
            exec__vec_value(a[k], i, &vals[k]);
            has_null |= vals[k].is_null;
        }
        struct plan_value r;
        if (has_null && !null_aware(pe->u.call.fn)) {
            r.type = pe->type;
            r.is_null = true;
        } else {
            ST_TRY(plan_eval_fn(pe->u.call.fn, vals, na, pe->type, &x->strs, &r, pe->pos, err));
        }
        if (constant) {
            set_const_out(x, &r);
            return account_strings(x, err);
        }
        any_null |= r.is_null;
        store_value(x, i, &r);
        if ((i & 1023) == 1023)
            ST_TRY(exec__tick(x->ctx, err));
    }
    x->out.nulls = any_null ? x->buf.nulls : NULL;
    return account_strings(x, err);
}

/* ---- comparison kernels --------------------------------------------------------------- */

#define CMP_LOOPS(T, A, B, ac, bc)                                                                \
    do {                                                                                          \
        const T *pa = (A), *pb = (B);                                                            \
        if (!(ac) && !(bc)) {                                                                     \
            switch (fn) {                                                                         \
            case PF_EQ: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] == pb[i]; break;            \
            case PF_NE: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] != pb[i]; break;            \
            case PF_LT: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] < pb[i]; break;             \
            case PF_LE: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] <= pb[i]; break;            \
            case PF_GT: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] > pb[i]; break;             \
            default: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] >= pb[i]; break;               \
            }                                                                                     \
        } else if (!(ac)) {                                                                       \
            T k = pb[0];                                                                          \
            switch (fn) {                                                                         \
            case PF_EQ: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] == k; break;                \
            case PF_NE: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] != k; break;                \
            case PF_LT: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] < k; break;                 \
            case PF_LE: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] <= k; break;                \
            case PF_GT: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] > k; break;                 \
            default: for (uint32_t i = 0; i < n; i++) o[i] = pa[i] >= k; break;                   \
            }                                                                                     \
        } else {                                                                                  \
            T k = pa[0];                                                                          \
            switch (fn) {                                                                         \
            case PF_EQ: for (uint32_t i = 0; i < n; i++) o[i] = k == pb[i]; break;                \
            case PF_NE: for (uint32_t i = 0; i < n; i++) o[i] = k != pb[i]; break;                \
            case PF_LT: for (uint32_t i = 0; i < n; i++) o[i] = k < pb[i]; break;                 \
            case PF_LE: for (uint32_t i = 0; i < n; i++) o[i] = k <= pb[i]; break;                \
            case PF_GT: for (uint32_t i = 0; i < n; i++) o[i] = k > pb[i]; break;                 \
            default: for (uint32_t i = 0; i < n; i++) o[i] = k >= pb[i]; break;                   \
            }                                                                                     \
        }                                                                                         \
    } while (0)

static inline int
str_cmp(const struct plan_str *a, const struct plan_str *b)
{
    uint32_t m = a->len < b->len ? a->len : b->len;
    int r = m ? memcmp(a->p, b->p, m) : 0;
    if (r)
        return r;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Returns false when there is no typed kernel for these argument types. */
static bool
compare_kernel(struct exec_expr *x, const struct exec_vec *a, const struct exec_vec *b,
               uint32_t n)
{
    enum plan_fn fn = x->pe->u.call.fn;
    uint8_t *o = x->buf.data;
    if (a->type != b->type && !(a->type == PT_TIME && b->type == PT_TIME))
        return false;
    switch (a->type) {
    case PT_INT:
    case PT_TIME:
    case PT_INTERVAL:
        CMP_LOOPS(int64_t, a->v.i64, b->v.i64, a->is_const, b->is_const);
        return true;
    case PT_UINT:
        CMP_LOOPS(uint64_t, a->v.u64, b->v.u64, a->is_const, b->is_const);
        return true;
    case PT_FLOAT:
        CMP_LOOPS(double, a->v.f64, b->v.f64, a->is_const, b->is_const);
        return true;
    case PT_BOOL:
        CMP_LOOPS(uint8_t, a->v.b, b->v.b, a->is_const, b->is_const);
        return true;
    case PT_STRING:
        if (fn == PF_EQ || fn == PF_NE) {
            for (uint32_t i = 0; i < n; i++) {
                const struct plan_str *p = &a->v.s[a->is_const ? 0 : i];
                const struct plan_str *q = &b->v.s[b->is_const ? 0 : i];
                bool eq = p->len == q->len && (p->len == 0 || memcmp(p->p, q->p, p->len) == 0);
                o[i] = fn == PF_EQ ? eq : !eq;
            }
        } else {
            for (uint32_t i = 0; i < n; i++)
                o[i] = plan_cmp_holds(fn, str_cmp(&a->v.s[a->is_const ? 0 : i],
                                              &b->v.s[b->is_const ? 0 : i]));
        }
        return true;
    default:
        return false;
    }
}

/* ---- arithmetic kernels ------------------------------------------------------------------ */

#define ARITH_F64(OP)                                                                             \
    do {                                                                                          \
        if (!a->is_const && !b->is_const) {                                                       \
            for (uint32_t i = 0; i < n; i++)                                                      \
                o[i] = pa[i] OP pb[i];                                                            \
        } else if (!a->is_const) {                                                                \
            double k = pb[0];                                                                     \
            for (uint32_t i = 0; i < n; i++)                                                      \
                o[i] = pa[i] OP k;                                                                \
        } else {                                                                                  \
            double k = pa[0];                                                                     \
            for (uint32_t i = 0; i < n; i++)                                                      \
                o[i] = k OP pb[i];                                                                \
        }                                                                                         \
    } while (0)

#define ARITH_I64(BUILTIN)                                                                        \
    do {                                                                                          \
        for (uint32_t i = 0; i < n; i++) {                                                        \
            int64_t l = a->is_const ? pa[0] : pa[i], r = b->is_const ? pb[0] : pb[i];             \
            uint8_t f = (uint8_t)BUILTIN(l, r, &o[i]);                                            \
            bad |= nl ? (uint8_t)(f & !nl[i]) : f;                                                \
        }                                                                                         \
    } while (0)

/* Integer-like (int, time, interval) and float +, -, *. *done = false: no kernel. */
static enum st_code
arith_kernel(struct exec_expr *x, const struct exec_vec *a, const struct exec_vec *b, uint32_t n,
             bool *done, struct st_error *err)
{
    enum plan_fn fn = x->pe->u.call.fn;
    enum plan_type rt = x->pe->type;
    const uint8_t *nl = x->out.nulls;
    *done = false;
    if (fn != PF_ADD && fn != PF_SUB && fn != PF_MUL)
        return ST_OK;
    if (rt == PT_FLOAT) {
        if (a->type != PT_FLOAT || b->type != PT_FLOAT)
            return ST_OK;
        const double *pa = a->v.f64, *pb = b->v.f64;
        double *o = x->buf.data;
        if (fn == PF_ADD)
            ARITH_F64(+);
        else if (fn == PF_SUB)
            ARITH_F64(-);
        else
            ARITH_F64(*);
        for (uint32_t i = 0; i < n; i++)
            if (!isfinite(o[i]) && !(nl && nl[i]))
                return st_error_set_at(err, ST_EINVAL, x->pe->pos,
                                       "float overflow (result is not finite)");
        *done = true;
        return ST_OK;
    }
    if (rt != PT_INT && rt != PT_TIME && rt != PT_INTERVAL)
        return ST_OK;
    if (a->type == PT_FLOAT || a->type == PT_UINT || b->type == PT_FLOAT || b->type == PT_UINT ||
        exec__type_size(a->type) != 8 || exec__type_size(b->type) != 8 || a->type == PT_STRING ||
        b->type == PT_STRING)
        return ST_OK;
    const int64_t *pa = a->v.i64, *pb = b->v.i64;
    int64_t *o = x->buf.data;
    uint8_t bad = 0;
    if (fn == PF_ADD)
        ARITH_I64(__builtin_add_overflow);
    else if (fn == PF_SUB)
        ARITH_I64(__builtin_sub_overflow);
    else
        ARITH_I64(__builtin_mul_overflow);
    if (bad)
        return st_error_set_at(err, ST_EINVAL, x->pe->pos, "integer overflow");
    *done = true;
    return ST_OK;
}

/* date_bin over a time vector: one division per bucket while time ascends. */
static enum st_code
date_bin_kernel(struct exec_expr *x, const struct exec_vec *t, int64_t stride, int64_t origin,
                uint32_t n, struct st_error *err)
{
    int64_t *o = x->buf.data;
    const int64_t *in = t->v.i64;
    int64_t lo = 1, hi = 0, cur = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = in[i];
        if (v < lo || v >= hi) {
            int64_t next;
            if (v >= hi && lo <= hi && !__builtin_add_overflow(hi, stride, &next) && v < next) {
                /* the next bucket: no division */
                cur = hi;
                lo = hi;
                hi = next;
            } else {
                if (!plan_date_bin_exact(v, stride, origin, &cur)) {
                    if (t->nulls && t->nulls[i]) {
                        o[i] = 0;
                        lo = 1;
                        hi = 0;
                        continue;
                    }
                    return st_error_set_at(err, ST_EINVAL, x->pe->pos,
                                           "date_bin(): the bucket start is outside the "
                                           "timestamp range");
                }
                lo = cur;
                hi = __builtin_add_overflow(cur, stride, &hi) ? INT64_MAX : cur + stride;
            }
        }
        o[i] = cur;
    }
    return ST_OK;
}

static enum st_code
eval_call(struct exec_expr *x, const struct exec_chunk *in, struct st_error *err)
{
    const struct plan_expr *pe = x->pe;
    uint32_t na = pe->u.call.n_args;
    const struct exec_vec **a = x->argv;
    for (uint32_t k = 0; k < na; k++)
        ST_TRY(exec__expr_eval(x->args[k], in, &a[k], err));
    uint32_t n = in->n;
    if (all_const(a, na))
        return eval_generic_call(x, a, n, err);
    enum plan_fn fn = pe->u.call.fn;
    /* NULL in a constant argument: the whole result is NULL */
    if (!null_aware(fn))
        for (uint32_t k = 0; k < na; k++)
            if (a[k]->is_const && a[k]->nulls && a[k]->nulls[0]) {
                struct plan_value nv = {.type = pe->type, .is_null = true};
                set_const_out(x, &nv);
                return ST_OK;
            }
    switch (fn) {
    case PF_EQ:
    case PF_NE:
    case PF_LT:
    case PF_LE:
    case PF_GT:
    case PF_GE:
        ST_TRY(out_reserve(x, n, err));
        if (compare_kernel(x, a[0], a[1], n)) {
            merge_nulls(x, a, 2, n);
            return ST_OK;
        }
        break;
    case PF_ADD:
    case PF_SUB:
    case PF_MUL: {
        ST_TRY(out_reserve(x, n, err));
        merge_nulls(x, a, 2, n);
        bool done;
        ST_TRY(arith_kernel(x, a[0], a[1], n, &done, err));
        if (done)
            return ST_OK;
        break;
    }
    case PF_DATE_BIN:
        if (a[0]->is_const && a[2]->is_const && !a[1]->is_const) {
            ST_TRY(out_reserve(x, n, err));
            ST_TRY(date_bin_kernel(x, a[1], a[0]->v.i64[0], a[2]->v.i64[0], n, err));
            merge_nulls(x, &a[1], 1, n);
            return ST_OK;
        }
        break;
    default:
        break;
    }
    return eval_generic_call(x, a, n, err);
}

/* ---- casts ---------------------------------------------------------------------------------- */

static enum st_code
eval_cast(struct exec_expr *x, const struct exec_chunk *in, struct st_error *err)
{
    const struct exec_vec *a;
    ST_TRY(exec__expr_eval(x->args[0], in, &a, err));
    enum plan_type to = x->pe->type;
    uint32_t n = in->n;
    uint32_t rows = a->is_const ? 1 : n;
    /* same representation: reinterpret */
    if ((a->type == PT_INT || a->type == PT_TIME || a->type == PT_INTERVAL) &&
        (to == PT_INT || to == PT_INTERVAL || (to == PT_TIME && a->type == PT_INT))) {
        x->out = *a;
        x->out.type = to;
        return ST_OK;
    }
    if (a->is_const) {
        struct plan_value v, r;
        exec__vec_value(a, 0, &v);
        ST_TRY(plan_cast_value(&v, to, &x->strs, &r, x->pe->pos, err));
        set_const_out(x, &r);
        return account_strings(x, err);
    }
    ST_TRY(out_reserve(x, n, err));
    if (to == PT_FLOAT && (a->type == PT_INT || a->type == PT_UINT)) {
        double *o = x->buf.data;
        if (a->type == PT_INT)
            for (uint32_t i = 0; i < n; i++)
                o[i] = (double)a->v.i64[i];
        else
            for (uint32_t i = 0; i < n; i++)
                o[i] = (double)a->v.u64[i];
        merge_nulls(x, &a, 1, n);
        return ST_OK;
    }
    bool any_null = false;
    for (uint32_t i = 0; i < rows; i++) {
        struct plan_value v, r;
        exec__vec_value(a, i, &v);
        if (v.is_null) {
            r.type = to;
            r.is_null = true;
        } else {
            ST_TRY(plan_cast_value(&v, to, &x->strs, &r, x->pe->pos, err));
        }
        any_null |= r.is_null;
        store_value(x, i, &r);
    }
    x->out.nulls = any_null ? x->buf.nulls : NULL;
    return account_strings(x, err);
}

/* ---- logic ----------------------------------------------------------------------------------- */

static inline uint8_t
vb(const struct exec_vec *v, uint32_t i)
{
    return v->v.b[v->is_const ? 0 : i];
}

static inline uint8_t
vn(const struct exec_vec *v, uint32_t i)
{
    return v->nulls ? v->nulls[v->is_const ? 0 : i] : 0;
}

static enum st_code
eval_logic(struct exec_expr *x, const struct exec_chunk *in, struct st_error *err)
{
    const struct plan_expr *pe = x->pe;
    uint32_t n = in->n;
    if (pe->kind == PE_NOT || pe->kind == PE_IS_NULL) {
        const struct exec_vec *a;
        ST_TRY(exec__expr_eval(x->args[0], in, &a, err));
        if (a->is_const) {
            struct plan_value v = {.type = PT_BOOL};
            bool null = a->type == PT_NULL || (a->nulls && a->nulls[0]);
            if (pe->kind == PE_IS_NULL)
                v.v.b = null != pe->negated;
            else if (null)
                v.is_null = true;
            else
                v.v.b = !a->v.b[0];
            set_const_out(x, &v);
            return ST_OK;
        }
        ST_TRY(out_reserve(x, n, err));
        uint8_t *o = x->buf.data;
        if (pe->kind == PE_IS_NULL) {
            for (uint32_t i = 0; i < n; i++)
                o[i] = (uint8_t)((a->nulls ? a->nulls[i] : 0) != pe->negated);
            return ST_OK;
        }
        for (uint32_t i = 0; i < n; i++)
            o[i] = !a->v.b[i];
        merge_nulls(x, &a, 1, n);
        return ST_OK;
    }
    /* AND / OR, three-valued: for AND a false wins over NULL, for OR a true */
    bool is_and = pe->kind == PE_AND;
    uint32_t na = x->n_args;
    const struct exec_vec **a = x->argv;
    for (uint32_t k = 0; k < na; k++)
        ST_TRY(exec__expr_eval(x->args[k], in, &a[k], err));
    ST_TRY(out_reserve(x, n, err));
    uint8_t *o = x->buf.data, *nl = x->buf.nulls;
    memset(o, 0, n);   /* decided: a false (AND) or a true (OR) was seen */
    memset(nl, 0, n);  /* some operand was NULL */
    for (uint32_t k = 0; k < na; k++) {
        const struct exec_vec *v = a[k];
        if (v->is_const) {
            uint8_t null = vn(v, 0), val = v->v.b[0];
            uint8_t dec = !null && (is_and ? !val : val);
            if (dec)
                memset(o, 1, n);
            if (null)
                memset(nl, 1, n);
            continue;
        }
        if (v->nulls) {
            for (uint32_t i = 0; i < n; i++) {
                uint8_t null = v->nulls[i], val = v->v.b[i];
                o[i] |= (uint8_t)((!null) & (is_and ? !val : val));
                nl[i] |= null;
            }
        } else if (is_and) {
            for (uint32_t i = 0; i < n; i++)
                o[i] |= !v->v.b[i];
        } else {
            for (uint32_t i = 0; i < n; i++)
                o[i] |= v->v.b[i];
        }
    }
    bool any_null = false;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t decided = o[i];
        nl[i] = (uint8_t)((!decided) & nl[i]);
        any_null |= nl[i];
        o[i] = is_and ? !decided : decided;
    }
    x->out.nulls = any_null ? nl : NULL;
    return ST_OK;
}

/* ---- CASE -------------------------------------------------------------------------------------- */

static enum st_code
case_sel_reserve(struct exec_expr *x, uint32_t n, struct st_error *err)
{
    if (n <= x->sel_cap)
        return ST_OK;
    uint32_t cap = n < 64 ? 64 : n;
    uint32_t *a = realloc(x->sel_a, cap * sizeof *a);
    if (a)
        x->sel_a = a;
    uint32_t *b = realloc(x->sel_b, cap * sizeof *b);
    if (b)
        x->sel_b = b;
    uint32_t *c = realloc(x->sel_c, cap * sizeof *c);
    if (c)
        x->sel_c = c;
    if (!a || !b || !c)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    x->sel_cap = cap;
    return ST_OK;
}

/* A chunk holding rows sel[0..m) of `in`. */
static enum st_code
sub_chunk(struct exec_expr *x, const struct exec_chunk *in, const uint32_t *sel, uint32_t m,
          struct exec_chunk *out, struct st_error *err)
{
    if (x->n_gbufs < in->n_cols) {
        struct exec_col *g = realloc(x->gbufs, in->n_cols * sizeof *g);
        if (!g)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        x->gbufs = g;
        memset(g + x->n_gbufs, 0, (in->n_cols - x->n_gbufs) * sizeof *g);
        struct exec_vec *v = realloc(x->gvecs, in->n_cols * sizeof *v);
        if (!v)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        x->gvecs = v;
        x->n_gbufs = in->n_cols;
    }
    for (uint32_t c = 0; c < in->n_cols; c++)
        ST_TRY(exec__gather(x->ctx, &in->cols[c], sel, m, &x->gbufs[c], &x->gvecs[c], err));
    out->n = m;
    out->n_cols = in->n_cols;
    out->cols = x->gvecs;
    out->series = in->series;
    return ST_OK;
}

/* Write branch results v (over the rows sel[0..m)) into the output. */
static void
scatter(struct exec_expr *x, const struct exec_vec *v, const uint32_t *sel, uint32_t m,
        bool *any_null)
{
    size_t es = exec__type_size(x->pe->type);
    for (uint32_t k = 0; k < m; k++) {
        uint32_t src = v->is_const ? 0 : k, dst = sel[k];
        bool null = v->type == PT_NULL || (v->nulls && v->nulls[src]);
        x->buf.nulls[dst] = null;
        *any_null |= null;
        if (!null && x->pe->type != PT_NULL)
            memcpy((char *)x->buf.data + dst * es, (const char *)v->v.p + src * es, es);
    }
}

static enum st_code
eval_case(struct exec_expr *x, const struct exec_chunk *in, struct st_error *err)
{
    uint32_t n = in->n, w = x->pe->u.cas.n_when;
    ST_TRY(out_reserve(x, n, err));
    ST_TRY(case_sel_reserve(x, n, err));
    uint32_t *rem = x->sel_a, *next = x->sel_b, *hit = x->sel_c;
    for (uint32_t i = 0; i < n; i++)
        rem[i] = i;
    uint32_t n_rem = n;
    bool any_null = false, whole = true;
    struct exec_chunk sub;
    for (uint32_t k = 0; k <= w && n_rem > 0; k++) {
        const struct exec_chunk *src = in;
        if (!whole) {
            ST_TRY(sub_chunk(x, in, rem, n_rem, &sub, err));
            src = &sub;
        }
        if (k == w) {
            const struct exec_vec *v;
            ST_TRY(exec__expr_eval(x->args[2 * w], src, &v, err));
            scatter(x, v, rem, n_rem, &any_null);
            break;
        }
        const struct exec_vec *cond;
        ST_TRY(exec__expr_eval(x->args[k], src, &cond, err));
        uint32_t n_hit = 0, n_next = 0;
        for (uint32_t i = 0; i < n_rem; i++) {
            uint32_t j = cond->is_const ? 0 : i;
            bool t = !(cond->nulls && cond->nulls[j]) && cond->v.b[j];
            if (t)
                hit[n_hit++] = rem[i];
            else
                next[n_next++] = rem[i];
        }
        if (n_hit) {
            const struct exec_vec *v;
            if (n_hit == n && whole) {
                ST_TRY(exec__expr_eval(x->args[w + k], in, &v, err));
            } else {
                ST_TRY(sub_chunk(x, in, hit, n_hit, &sub, err));
                ST_TRY(exec__expr_eval(x->args[w + k], &sub, &v, err));
            }
            scatter(x, v, hit, n_hit, &any_null);
        }
        uint32_t *t = rem;
        rem = next;
        next = t;
        n_rem = n_next;
        whole = false;
    }
    x->out.nulls = any_null ? x->buf.nulls : NULL;
    return ST_OK;
}

/* ---- IN, LIKE, regex ----------------------------------------------------------------------------- */

static bool
in_find(const struct exec_expr *x, const struct exec_vec *a, uint32_t i)
{
    const struct plan_expr *pe = x->pe;
    uint32_t lo = 0, hi = pe->u.in.n;
    if (x->in_i64) {
        int64_t v = a->v.i64[i];
        if (hi <= 16) {
            for (uint32_t k = 0; k < hi; k++)
                if (x->in_i64[k] == v)
                    return true;
            return false;
        }
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (x->in_i64[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < pe->u.in.n && x->in_i64[lo] == v;
    }
    struct plan_value v;
    exec__vec_value(a, i, &v);
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = plan_value_cmp(&pe->u.in.vals[mid], &v);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static enum st_code
eval_match(struct exec_expr *x, const struct exec_chunk *in, struct st_error *err)
{
    const struct plan_expr *pe = x->pe;
    const struct exec_vec *a;
    ST_TRY(exec__expr_eval(x->args[0], in, &a, err));
    uint32_t n = in->n, rows = a->is_const ? 1 : n;
    uint8_t *o, *nl;
    uint8_t c_val = 0, c_null = 0;
    if (a->is_const) {
        o = &c_val;
        nl = &c_null;
    } else {
        ST_TRY(out_reserve(x, n, err));
        o = x->buf.data;
        nl = x->buf.nulls;
    }
    bool any_null = false;
    for (uint32_t i = 0; i < rows; i++) {
        nl[i] = 0;
        if (a->nulls && a->nulls[i]) {
            nl[i] = 1;
            any_null = true;
            o[i] = 0;
            continue;
        }
        bool m;
        switch (pe->kind) {
        case PE_IN:
            m = in_find(x, a, i);
            if (!m && pe->u.in.has_null) {
                nl[i] = 1;
                any_null = true;
                o[i] = 0;
                continue;
            }
            break;
        case PE_LIKE:
            m = plan_like_match(a->v.s[i].p, a->v.s[i].len, pe->u.like.pattern.p,
                                pe->u.like.pattern.len, pe->u.like.icase);
            break;
        default: {
            regmatch_t rm = {.rm_so = 0, .rm_eo = (regoff_t)a->v.s[i].len};
            const char *p = a->v.s[i].len ? a->v.s[i].p : "";
            m = regexec(pe->u.re.re, p, 1, &rm, REG_STARTEND) == 0;
            break;
        }
        }
        o[i] = m != pe->negated;
        if ((i & 255) == 255)
            ST_TRY(exec__tick(x->ctx, err));
    }
    if (a->is_const) {
        struct plan_value v = {.type = PT_BOOL, .is_null = c_null, .v.b = c_val};
        set_const_out(x, &v);
        return ST_OK;
    }
    x->out.nulls = any_null ? nl : NULL;
    return ST_OK;
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

enum st_code
exec__expr_eval(struct exec_expr *x, const struct exec_chunk *in, const struct exec_vec **out,
                struct st_error *err)
{
    enum st_code rc = ST_OK;
    const struct plan_expr *pe = x->pe;
    if (x->strs_accounted) {
        exec__mem(x->ctx, -(int64_t)x->strs_accounted, NULL);
        x->strs_accounted = 0;
    }
    sql_arena_reset(&x->strs);
    switch (pe->kind) {
    case PE_CONST:
        break;
    case PE_COL:
        *out = &in->cols[pe->u.col];
        return ST_OK;
    case PE_CALL:
        rc = eval_call(x, in, err);
        break;
    case PE_CAST:
        rc = eval_cast(x, in, err);
        break;
    case PE_AND:
    case PE_OR:
    case PE_NOT:
    case PE_IS_NULL:
        rc = eval_logic(x, in, err);
        break;
    case PE_CASE:
        rc = eval_case(x, in, err);
        break;
    case PE_IN:
    case PE_LIKE:
    case PE_REGEX:
        rc = eval_match(x, in, err);
        break;
    }
    *out = &x->out;
    return rc;
}
