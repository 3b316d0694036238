/*
 * exec_agg_state.h: aggregate states and their update kernels, shared by
 * the aggregation operator (exec_agg.c) and its kernels
 * (exec_agg_kernels.c). States are arrays indexed by group id
 * (structure of arrays), grown together when groups are added.
 */
#ifndef STRATA_EXEC_AGG_STATE_H
#define STRATA_EXEC_AGG_STATE_H

#include "exec_int.h"

union agg_val {
    int64_t i;
    uint64_t u;
    double f;
    uint8_t b;
    struct plan_str s;
};

struct agg_state {
    const struct plan_agg *pa;
    enum plan_type in;  /* argument type */
    int64_t *cnt;       /* rows counted (non-NULL inputs; all rows for count(*)) */
    __int128 *s128;     /* exact sums of int/interval */
    unsigned __int128 *u128; /* exact sums of unsigned */
    double *f;          /* float sums; the running mean for variance */
    double *m2;         /* variance: sum of squared deviations */
    union agg_val *val; /* min, max, first, last */
    int64_t *t;         /* first, last: the time of val */
    uint8_t *has;       /* min, max, first, last: val is set */
    struct exec_keytab dset;  /* count(DISTINCT): (group, value) pairs */
    bool dset_init;
    struct sql_arena strs;    /* string values kept by min/max/first/last */
    size_t strs_accounted;
};

/* Grow every state array to hold `cap` groups, zeroing the new ones. */
enum st_code exec__agg_grow(struct exec_ctx *c, struct agg_state *s, uint32_t old_cap,
                            uint32_t cap, struct st_error *err);
void exec__agg_state_free(struct exec_ctx *c, struct agg_state *s, uint32_t cap);

/* Update group g with rows [a, b) of v (t: the time vector for first/last). */
enum st_code exec__agg_update_range(struct exec_ctx *c, struct agg_state *s, uint32_t g,
                                    const struct exec_vec *v, const struct exec_vec *t,
                                    uint32_t a, uint32_t b, struct st_error *err);
/* Update group run_gid[r] with rows [run_start[r], run_start[r + 1]) of v,
 * for every run r < n_runs (one call for all the runs of a chunk). */
enum st_code exec__agg_update_runs(struct exec_ctx *c, struct agg_state *s,
                                   const uint32_t *run_start, const uint32_t *run_gid,
                                   uint32_t n_runs, const struct exec_vec *v,
                                   const struct exec_vec *t, struct st_error *err);
/* Update group gid[i] with row i of v, for i < n. */
enum st_code exec__agg_update_rows(struct exec_ctx *c, struct agg_state *s, const uint32_t *gid,
                                   const struct exec_vec *v, const struct exec_vec *t, uint32_t n,
                                   struct st_error *err);
/* The result of group g into out (typed as the aggregate's result). */
enum st_code exec__agg_final(const struct agg_state *s, uint32_t g, struct plan_value *out,
                             struct st_error *err);

#endif
