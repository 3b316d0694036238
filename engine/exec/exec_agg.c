/*
 * exec_agg.c: the aggregation operator (GROUP BY and aggregates).
 *
 * Per input chunk: evaluate the key and argument expressions; find the runs
 * of rows whose keys do not change (tags are constant over a series chunk,
 * and date_bin of ascending time changes only at bucket boundaries, so a
 * chunk of one series holds a handful of runs); look each run's group up
 * once in the hash table (exec_keytab); then update every aggregate. With
 * long runs (on average 4 rows or more) the range kernels run once per run
 * with a register accumulator; with short runs (interleaved keys) each row
 * goes to its own group through the row kernels. This is the "run-aware"
 * aggregation: a bucketed time-series GROUP BY never pays a hash probe or
 * a state load/store per row.
 *
 * Bucket directories: when one key is date_bin(time) (or a fixed-width
 * date_trunc) and the other keys are constant over the chunk (tags of a
 * series), the group of a run is found without hashing: the other keys'
 * tuple is looked up once per chunk and owns a dense array from bucket
 * number to group id, and consecutive buckets need no division either.
 * Directories are capped (DIR_MAX_SLOTS each, DIR_MAX_BYTES in total);
 * beyond that the hash table answers as usual.
 *
 * Groups come out in the order they were first seen. Without GROUP BY
 * there is exactly one group, also for empty input.
 *
 * Last-value plans (plan agg.lastpoint): the scan below reads only the
 * newest row of each series. If a last() argument is NULL in such a row the
 * answer may be in an older row, so the operator discards its groups and
 * starts again over a full scan.
 */
#include "exec_agg_state.h"

#include <stdlib.h>
#include <string.h>

#define DIR_MAX_SLOTS (1u << 20)
#define DIR_MAX_BYTES (64u << 20)

/* Group ids of one tuple of the non-bucket keys, indexed by bucket number. */
struct bucket_dir {
    int64_t first;  /* bucket number of gid[0] */
    uint32_t cap;
    uint32_t *gid;  /* group id + 1; 0 = not yet seen */
};

struct agg_op {
    struct exec_op op;
    /* bucket directories (see the file comment) */
    int bkey;                 /* index of the date_bin key, -1 when none */
    int64_t bstride, borigin;
    struct exec_keytab dkeys; /* tuples of the other keys */
    bool dkeys_init;
    struct bucket_dir *dirs;
    uint32_t n_dirs, cap_dirs;
    uint64_t dir_bytes;
    const struct exec_vec **dkeyv;
    uint32_t n_keys, n_aggs;
    struct exec_expr **key_x;
    struct exec_expr **arg_x;
    struct exec_expr **time_x;
    struct exec_keytab kt;
    struct agg_state *st;
    uint32_t cap_groups;
    /* per chunk */
    const struct exec_vec **keyv;
    uint8_t *diff;
    uint32_t *run_start;
    uint32_t *row_gid;
    uint32_t *run_gid;
    uint32_t scratch_cap;
    const struct exec_vec **argv, **timev;
    struct exec_vec *argbuf, *timebuf;
    struct exec_col *flat_arg, *flat_time;
    /* output */
    bool consumed;
    uint32_t emit_pos;
    struct exec_col *obufs;
    struct exec_vec *ovecs;
    struct exec_chunk out;
    bool restarted;
};

static uint32_t
n_groups(const struct agg_op *g)
{
    return g->kt.keys.n_rows;
}

static enum st_code
ensure_groups(struct agg_op *g, uint32_t need, struct st_error *err)
{
    if (need <= g->cap_groups)
        return ST_OK;
    uint32_t cap = g->cap_groups ? g->cap_groups : 64;
    while (cap < need) {
        if (cap > UINT32_MAX / 2)
            return st_error_set(err, ST_ELIMIT, "too many groups");
        cap *= 2;
    }
    for (uint32_t a = 0; a < g->n_aggs; a++)
        ST_TRY(exec__agg_grow(g->op.ctx, &g->st[a], g->cap_groups, cap, err));
    g->cap_groups = cap;
    return ST_OK;
}

static void
free_dirs(struct agg_op *g)
{
    struct exec_ctx *c = g->op.ctx;
    for (uint32_t i = 0; i < g->n_dirs; i++)
        free(g->dirs[i].gid);
    free(g->dirs);
    g->dirs = NULL;
    g->n_dirs = g->cap_dirs = 0;
    exec__mem(c, -(int64_t)g->dir_bytes, NULL);
    g->dir_bytes = 0;
    if (g->dkeys_init)
        exec__keytab_free(c, &g->dkeys);
    g->dkeys_init = false;
}

static enum st_code
reset_groups(struct agg_op *g, struct st_error *err)
{
    struct exec_ctx *c = g->op.ctx;
    const struct plan_node *pn = g->op.pn;
    free_dirs(g);
    exec__keytab_free(c, &g->kt);
    for (uint32_t a = 0; a < g->n_aggs; a++) {
        exec__agg_state_free(c, &g->st[a], g->cap_groups);
        g->st[a].pa = &pn->u.agg.aggs[a];
        g->st[a].in = pn->u.agg.aggs[a].arg ? pn->u.agg.aggs[a].arg->type : PT_INT;
        sql_arena_init(&g->st[a].strs, c->mem_limit);
    }
    g->cap_groups = 0;
    enum plan_type *types = malloc((g->n_keys ? g->n_keys : 1) * sizeof *types);
    if (!types)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t k = 0; k < g->n_keys; k++)
        types[k] = pn->u.agg.keys[k]->type;
    enum st_code rc = exec__keytab_init(c, &g->kt, g->n_keys, types, err);
    free(types);
    if (rc != ST_OK)
        return rc;
    if (g->n_keys == 0) {
        /* one group, present even when no row arrives */
        uint32_t id;
        bool added;
        ST_TRY(exec__keytab_lookup(c, &g->kt, NULL, 0, 0, &id, &added, err));
        ST_TRY(ensure_groups(g, 1, err));
    }
    return ST_OK;
}

static enum st_code
scratch(struct agg_op *g, uint32_t n, struct st_error *err)
{
    if (n + 1 <= g->scratch_cap)
        return ST_OK;
    uint32_t cap = n + 1 < 256 ? 256 : n + 1;
    uint8_t *d = realloc(g->diff, cap);
    if (d)
        g->diff = d;
    uint32_t *r = realloc(g->run_start, cap * sizeof *r);
    if (r)
        g->run_start = r;
    uint32_t *q = realloc(g->row_gid, cap * sizeof *q);
    if (q)
        g->row_gid = q;
    uint32_t *u = realloc(g->run_gid, cap * sizeof *u);
    if (u)
        g->run_gid = u;
    if (!d || !r || !q || !u)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    g->scratch_cap = cap;
    return ST_OK;
}

/* Mark rows whose key differs from the previous row (diff[i] for i >= 1). */
static void
key_diff(const struct exec_vec *v, uint8_t *diff, uint32_t n)
{
    if (v->is_const)
        return;
    switch (v->type) {
    case PT_STRING:
        for (uint32_t i = 1; i < n; i++) {
            const struct plan_str *a = &v->v.s[i - 1], *b = &v->v.s[i];
            diff[i] |= a->len != b->len || (a->len && memcmp(a->p, b->p, a->len) != 0);
        }
        break;
    case PT_BOOL:
        for (uint32_t i = 1; i < n; i++)
            diff[i] |= v->v.b[i] != v->v.b[i - 1];
        break;
    case PT_NULL:
        break;
    default: {
        const uint64_t *x = v->v.u64;
        for (uint32_t i = 1; i < n; i++)
            diff[i] |= x[i] != x[i - 1];
        break;
    }
    }
    if (v->nulls)
        for (uint32_t i = 1; i < n; i++)
            diff[i] |= v->nulls[i] != v->nulls[i - 1];
}

static bool
has_null(const struct exec_vec *v, uint32_t n)
{
    if (!v->nulls)
        return false;
    return memchr(v->nulls, 1, v->is_const ? 1 : n) != NULL;
}

/* Start over on a full scan (see the file comment). */
static enum st_code
restart_full(struct agg_op *g, struct st_error *err)
{
    struct exec_ctx *c = g->op.ctx;
    const struct plan_node *scan = g->op.pn->child;
    exec__op_free(g->op.child);
    g->op.child = NULL;
    c->full_scan = scan;
    enum st_code rc = exec__build(c, scan, &g->op.child, err);
    c->full_scan = NULL;
    if (rc != ST_OK)
        return rc;
    g->restarted = true;
    return reset_groups(g, err);
}

/* The directory of the non-bucket keys of this chunk (they are const). */
static enum st_code
chunk_dir(struct agg_op *g, struct bucket_dir **out, struct st_error *err)
{
    struct exec_ctx *c = g->op.ctx;
    uint32_t nd = 0;
    for (uint32_t k = 0; k < g->n_keys; k++)
        if ((int)k != g->bkey)
            g->dkeyv[nd++] = g->keyv[k];
    if (!g->dkeys_init) {
        enum plan_type types[64];
        for (uint32_t k = 0; k < nd; k++)
            types[k] = g->dkeyv[k]->type;
        ST_TRY(exec__keytab_init(c, &g->dkeys, nd, types, err));
        g->dkeys_init = true;
    }
    uint32_t id;
    bool added;
    uint64_t h = exec__hash_row(&g->dkeys, g->dkeyv, 0);
    ST_TRY(exec__keytab_lookup(c, &g->dkeys, g->dkeyv, 0, h, &id, &added, err));
    if (added) {
        if (g->n_dirs == g->cap_dirs) {
            uint32_t cap = g->cap_dirs ? g->cap_dirs * 2 : 16;
            struct bucket_dir *d = realloc(g->dirs, cap * sizeof *d);
            if (!d)
                return st_error_set(err, ST_ENOMEM, "out of memory");
            g->dirs = d;
            g->cap_dirs = cap;
        }
        memset(&g->dirs[g->n_dirs++], 0, sizeof *g->dirs);
    }
    *out = &g->dirs[id];
    return ST_OK;
}

/* Make bucket number q addressable in d; false when over the caps. */
static bool
dir_cover(struct agg_op *g, struct bucket_dir *d, int64_t q)
{
    if (d->cap && q >= d->first && q - d->first < (int64_t)d->cap)
        return true;
    int64_t lo = d->cap ? (q < d->first ? q : d->first) : q;
    int64_t hi = d->cap ? (q >= d->first + (int64_t)d->cap ? q + 1 : d->first + d->cap) : q + 1;
    /* room to grow in the direction of travel */
    uint64_t want = (uint64_t)(hi - lo);
    if (want > DIR_MAX_SLOTS)
        return false;
    uint64_t cap = want < 64 ? 64 : want * 2;
    if (cap > DIR_MAX_SLOTS)
        cap = DIR_MAX_SLOTS;
    uint64_t add = (cap - d->cap) * sizeof(uint32_t);
    if (g->dir_bytes + add > DIR_MAX_BYTES ||
        exec__mem(g->op.ctx, (int64_t)add, NULL) != ST_OK)
        return false;
    uint32_t *n = calloc(cap, sizeof *n);
    if (!n) {
        exec__mem(g->op.ctx, -(int64_t)add, NULL);
        return false;
    }
    int64_t first = q < (d->cap ? d->first : q) ? lo - (int64_t)(cap - want) : lo;
    if (d->cap)
        memcpy(n + (d->first - first), d->gid, d->cap * sizeof *n);
    free(d->gid);
    d->gid = n;
    d->first = first;
    d->cap = (uint32_t)cap;
    g->dir_bytes += add;
    return true;
}

static enum st_code
lookup_run(struct agg_op *g, uint32_t row, uint32_t *gid, struct st_error *err)
{
    bool added;
    const struct exec_vec *k0 = g->keyv[0];
    if (g->n_keys == 1 && !k0->is_const && !(k0->nulls && k0->nulls[row]) &&
        (k0->type == PT_INT || k0->type == PT_UINT || k0->type == PT_TIME ||
         k0->type == PT_INTERVAL)) {
        ST_TRY(exec__keytab_lookup_i64(g->op.ctx, &g->kt, k0, row, gid, &added, err));
        if (added)
            ST_TRY(ensure_groups(g, n_groups(g), err));
        return ST_OK;
    }
    uint64_t h = exec__hash_row(&g->kt, g->keyv, row);
    ST_TRY(exec__keytab_lookup(g->op.ctx, &g->kt, g->keyv, row, h, gid, &added, err));
    if (added)
        ST_TRY(ensure_groups(g, n_groups(g), err));
    return ST_OK;
}

/* Group ids of the runs through the bucket directory; false: not usable here. */
static enum st_code
runs_by_directory(struct agg_op *g, uint32_t n_runs, bool *used, struct st_error *err)
{
    *used = false;
    const struct exec_vec *bv = g->keyv[g->bkey];
    if (bv->is_const || bv->type != PT_TIME)
        return ST_OK;
    for (uint32_t k = 0; k < g->n_keys; k++)
        if ((int)k != g->bkey && !g->keyv[k]->is_const)
            return ST_OK;
    struct bucket_dir *d;
    ST_TRY(chunk_dir(g, &d, err));
    int64_t prev_b = 0, prev_q = 0;
    bool have_prev = false;
    for (uint32_t r = 0; r < n_runs; r++) {
        uint32_t row = g->run_start[r];
        if (bv->nulls && bv->nulls[row]) {
            ST_TRY(lookup_run(g, row, &g->run_gid[r], err));
            continue;
        }
        int64_t b = bv->v.i64[row], q, step;
        if (have_prev && !__builtin_sub_overflow(b, prev_b, &step) && step == g->bstride) {
            q = prev_q + 1;
        } else {
            __int128 dq = ((__int128)b - g->borigin) / g->bstride;
            if (dq > INT64_MAX / 2 || dq < INT64_MIN / 2) {
                ST_TRY(lookup_run(g, row, &g->run_gid[r], err));
                continue;
            }
            q = (int64_t)dq;
        }
        prev_b = b;
        prev_q = q;
        have_prev = true;
        if (!dir_cover(g, d, q)) {
            ST_TRY(lookup_run(g, row, &g->run_gid[r], err));
            continue;
        }
        uint32_t *slot = &d->gid[q - d->first];
        if (*slot == 0) {
            uint32_t gid;
            ST_TRY(lookup_run(g, row, &gid, err));
            *slot = gid + 1;
        }
        g->run_gid[r] = *slot - 1;
    }
    *used = true;
    return ST_OK;
}

static enum st_code
consume(struct agg_op *g, const struct exec_chunk *in, bool *restart, struct st_error *err)
{
    struct exec_ctx *c = g->op.ctx;
    uint32_t n = in->n;
    ST_TRY(scratch(g, n, err));
    for (uint32_t k = 0; k < g->n_keys; k++)
        ST_TRY(exec__expr_eval(g->key_x[k], in, &g->keyv[k], err));
    /* aggregate inputs, const vectors expanded so kernels see plain arrays */
    const struct exec_vec **argv = g->argv, **timev = g->timev;
    struct exec_vec *argbuf = g->argbuf, *timebuf = g->timebuf;
    for (uint32_t a = 0; a < g->n_aggs; a++) {
        argv[a] = timev[a] = NULL;
        if (g->arg_x[a]) {
            const struct exec_vec *v;
            ST_TRY(exec__expr_eval(g->arg_x[a], in, &v, err));
            ST_TRY(exec__flatten(c, v, n, &g->flat_arg[a], &argbuf[a], err));
            argv[a] = &argbuf[a];
            if (g->op.pn->u.agg.lastpoint && !g->restarted &&
                g->st[a].pa->fn == PA_LAST && has_null(argv[a], n)) {
                *restart = true;
                return ST_OK;
            }
        }
        if (g->time_x[a]) {
            const struct exec_vec *v;
            ST_TRY(exec__expr_eval(g->time_x[a], in, &v, err));
            ST_TRY(exec__flatten(c, v, n, &g->flat_time[a], &timebuf[a], err));
            timev[a] = &timebuf[a];
        }
    }
    /* one integer key changing every few rows: a tight hash loop per row */
    const struct exec_vec *k0 = g->n_keys == 1 ? g->keyv[0] : NULL;
    if (k0 && !k0->is_const && !k0->nulls && g->bkey < 0 &&
        (k0->type == PT_INT || k0->type == PT_UINT || k0->type == PT_TIME ||
         k0->type == PT_INTERVAL) &&
        n > 64 && k0->v.u64[0] != k0->v.u64[n / 2] && k0->v.u64[n / 2] != k0->v.u64[n - 1]) {
        uint32_t *row_gid = g->row_gid;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t v = k0->v.u64[i];
            if (!exec__keytab_find_i64(&g->kt, v, exec__keytab_hash_i64(&g->kt, v), &row_gid[i]))
                ST_TRY(lookup_run(g, i, &row_gid[i], err));
        }
        for (uint32_t a = 0; a < g->n_aggs; a++)
            ST_TRY(exec__agg_update_rows(c, &g->st[a], row_gid, argv[a], timev[a], n, err));
        return ST_OK;
    }
    /* runs of equal keys */
    uint32_t n_runs = 0;
    memset(g->diff, 0, n);
    for (uint32_t k = 0; k < g->n_keys; k++)
        key_diff(g->keyv[k], g->diff, n);
    g->run_start[n_runs++] = 0;
    for (uint32_t i = 1; i < n; i++)
        if (g->diff[i])
            g->run_start[n_runs++] = i;
    g->run_start[n_runs] = n;
    /* one group per run: through a bucket directory, else one hash lookup */
    uint32_t *row_gid = g->row_gid, *rg = g->run_gid;
    enum st_code rc = ST_OK;
    bool by_dir = false;
    if (g->bkey >= 0)
        rc = runs_by_directory(g, n_runs, &by_dir, err);
    for (uint32_t r = 0; !by_dir && r < n_runs && rc == ST_OK; r++) {
        if (g->n_keys == 0)
            rg[r] = 0;
        else
            rc = lookup_run(g, g->run_start[r], &rg[r], err);
    }
    if (rc == ST_OK) {
        if (n_runs * 4 <= n || n_runs == 1) {
            for (uint32_t a = 0; a < g->n_aggs && rc == ST_OK; a++)
                rc = exec__agg_update_runs(c, &g->st[a], g->run_start, rg, n_runs, argv[a],
                                           timev[a], err);
        } else {
            for (uint32_t r = 0; r < n_runs; r++)
                for (uint32_t i = g->run_start[r]; i < g->run_start[r + 1]; i++)
                    row_gid[i] = rg[r];
            for (uint32_t a = 0; a < g->n_aggs && rc == ST_OK; a++)
                rc = exec__agg_update_rows(c, &g->st[a], row_gid, argv[a], timev[a], n, err);
        }
    }
    return rc;
}

static enum st_code
emit(struct agg_op *g, const struct exec_chunk **out, struct st_error *err)
{
    struct exec_ctx *c = g->op.ctx;
    uint32_t total = n_groups(g);
    *out = NULL;
    if (g->emit_pos >= total)
        return ST_OK;
    ST_TRY(exec__check(c, err));
    uint32_t n = total - g->emit_pos;
    if (n > c->batch_rows)
        n = c->batch_rows;
    ST_TRY(exec__table_emit(c, &g->kt.keys, NULL, g->emit_pos, n, NULL, g->ovecs, err));
    for (uint32_t a = 0; a < g->n_aggs; a++) {
        struct exec_col *b = &g->obufs[a];
        b->type = g->st[a].pa->type;
        ST_TRY(exec__col_reserve(c, b, n, err));
        size_t es = exec__type_size(b->type);
        bool any = false;
        for (uint32_t i = 0; i < n; i++) {
            struct plan_value v;
            ST_TRY(exec__agg_final(&g->st[a], g->emit_pos + i, &v, err));
            b->nulls[i] = v.is_null;
            any |= v.is_null;
            char *dst = (char *)b->data + (size_t)i * es;
            if (v.is_null)
                memset(dst, 0, es);
            else if (b->type == PT_STRING)
                memcpy(dst, &v.v.s, es);
            else if (b->type == PT_BOOL)
                *(uint8_t *)dst = v.v.b;
            else
                memcpy(dst, &v.v.i, 8);
        }
        exec__col_vec(b, any, &g->ovecs[g->n_keys + a]);
    }
    g->out.n = n;
    g->emit_pos += n;
    *out = &g->out;
    return ST_OK;
}

static enum st_code
agg_next(struct exec_op *op, const struct exec_chunk **out, struct st_error *err)
{
    struct agg_op *g = (struct agg_op *)op;
    while (!g->consumed) {
        const struct exec_chunk *in;
        ST_TRY(exec__op_next(op->child, &in, err));
        if (!in) {
            g->consumed = true;
            break;
        }
        bool restart = false;
        ST_TRY(consume(g, in, &restart, err));
        if (restart)
            ST_TRY(restart_full(g, err));
    }
    return emit(g, out, err);
}

static void
agg_free(struct exec_op *op)
{
    struct agg_op *g = (struct agg_op *)op;
    struct exec_ctx *c = op->ctx;
    exec__op_free(op->child);
    for (uint32_t k = 0; g->key_x && k < g->n_keys; k++)
        exec__expr_free(c, g->key_x[k]);
    for (uint32_t a = 0; a < g->n_aggs; a++) {
        if (g->arg_x)
            exec__expr_free(c, g->arg_x[a]);
        if (g->time_x)
            exec__expr_free(c, g->time_x[a]);
        if (g->st)
            exec__agg_state_free(c, &g->st[a], g->cap_groups);
        if (g->flat_arg)
            exec__col_free(c, &g->flat_arg[a]);
        if (g->flat_time)
            exec__col_free(c, &g->flat_time[a]);
        if (g->obufs)
            exec__col_free(c, &g->obufs[a]);
    }
    free_dirs(g);
    exec__keytab_free(c, &g->kt);
    free(g->key_x);
    free(g->dkeyv);
    free(g->arg_x);
    free(g->time_x);
    free(g->st);
    free(g->keyv);
    free(g->diff);
    free(g->run_start);
    free(g->row_gid);
    free(g->run_gid);
    free(g->argv);
    free(g->timev);
    free(g->argbuf);
    free(g->timebuf);
    free(g->flat_arg);
    free(g->flat_time);
    free(g->obufs);
    free(g->ovecs);
    free(g);
}

static const struct exec_op_vt agg_vt = {agg_next, agg_free};

enum st_code
exec__agg_new(struct exec_ctx *c, const struct plan_node *pn, struct exec_op *child,
              struct exec_op **out, struct st_error *err)
{
    struct agg_op *g = calloc(1, sizeof *g);
    if (!g) {
        exec__op_free(child);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    g->op.vt = &agg_vt;
    g->op.ctx = c;
    g->op.pn = pn;
    g->op.child = child;
    *out = &g->op;
    g->n_keys = pn->u.agg.n_keys;
    g->n_aggs = pn->u.agg.n_aggs;
    uint32_t nk = g->n_keys ? g->n_keys : 1, na = g->n_aggs ? g->n_aggs : 1;
    g->key_x = calloc(nk, sizeof *g->key_x);
    g->keyv = calloc(nk, sizeof *g->keyv);
    g->arg_x = calloc(na, sizeof *g->arg_x);
    g->time_x = calloc(na, sizeof *g->time_x);
    g->st = calloc(na, sizeof *g->st);
    g->flat_arg = calloc(na, sizeof *g->flat_arg);
    g->flat_time = calloc(na, sizeof *g->flat_time);
    g->obufs = calloc(na, sizeof *g->obufs);
    g->ovecs = calloc(pn->n_cols ? pn->n_cols : 1, sizeof *g->ovecs);
    g->argv = calloc(na, sizeof *g->argv);
    g->timev = calloc(na, sizeof *g->timev);
    g->argbuf = calloc(na, sizeof *g->argbuf);
    g->timebuf = calloc(na, sizeof *g->timebuf);
    if (!g->key_x || !g->keyv || !g->arg_x || !g->time_x || !g->st || !g->flat_arg ||
        !g->flat_time || !g->obufs || !g->ovecs || !g->argv || !g->timev || !g->argbuf ||
        !g->timebuf)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    g->out.n_cols = pn->n_cols;
    g->out.cols = g->ovecs;
    for (uint32_t k = 0; k < g->n_keys; k++)
        ST_TRY(exec__expr_compile(c, pn->u.agg.keys[k], &g->key_x[k], err));
    g->bkey = -1;
    g->dkeyv = calloc(nk, sizeof *g->dkeyv);
    if (!g->dkeyv)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t k = 0; k < g->n_keys && g->n_keys <= 64; k++) {
        const struct plan_expr *key = pn->u.agg.keys[k];
        if (key->kind == PE_CALL && key->u.call.fn == PF_DATE_BIN &&
            key->u.call.args[0]->kind == PE_CONST && key->u.call.args[2]->kind == PE_CONST &&
            !key->u.call.args[0]->u.c.is_null && key->u.call.args[0]->u.c.v.i > 0) {
            g->bkey = (int)k;
            g->bstride = key->u.call.args[0]->u.c.v.i;
            g->borigin = key->u.call.args[2]->u.c.v.i;
            break;
        }
    }
    for (uint32_t a = 0; a < g->n_aggs; a++) {
        const struct plan_agg *pa = &pn->u.agg.aggs[a];
        if (pa->arg)
            ST_TRY(exec__expr_compile(c, pa->arg, &g->arg_x[a], err));
        if (pa->time)
            ST_TRY(exec__expr_compile(c, pa->time, &g->time_x[a], err));
    }
    return reset_groups(g, err);
}
