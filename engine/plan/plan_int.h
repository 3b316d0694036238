/*
 * plan_int.h: internals of the binder and planner shared by its files:
 * the binder state, expression constructors and helpers (plan_expr.c),
 * the function table (plan_func.c), name suggestions (plan_suggest.c),
 * the virtual tables (plan_infoschema.c) and the rules (plan_rule_*.c).
 */
#ifndef STRATA_PLAN_INT_H
#define STRATA_PLAN_INT_H

#include "strata/plan.h"

/* Limits of the binder (documented in docs/sql.md). */
#define PLAN_MAX_PATTERN_LEN 1024   /* LIKE and regex patterns */
#define PLAN_MAX_REGEX_REPEAT 1000  /* product of {m,n} bounds in a regex */
#define PLAN_MAX_TOPN 1000000       /* LIMIT+OFFSET kept by a top-N sort */

struct plan_cte_scope {
    const struct sql_cte *cte;
    const struct plan_cte_scope *next; /* the CTEs visible where this one was defined */
};

/* A relation visible to expressions: the output of `node`. */
struct plan_scope {
    struct plan_node *node;
    const char *qual;               /* table name or alias; NULL for unnamed */
    const char *table_name;         /* for messages */
};

struct plan_agg_ctx {
    uint32_t n_keys;
    struct plan_expr **keys;        /* bound over the input */
    uint32_t n_aggs, cap_aggs;
    struct plan_agg *aggs;
    const struct plan_scope *input; /* to bind aggregate arguments */
};

struct plan_binder {
    struct plan_ctx *ctx;
    struct sql_arena *a;
    struct st_error *err;
    unsigned depth; /* nested SELECTs */
};

/* How an expression is bound. */
struct plan_mode {
    const struct plan_scope *sc; /* the input relation (NULL: no columns) */
    struct plan_agg_ctx *agg;    /* non-NULL: aggregate query (select list, HAVING, ORDER BY) */
    const char *clause;          /* "WHERE", "GROUP BY", ... for "not allowed in" errors */
};

/* ---- plan_bind.c ---- */
struct plan_expr *plan__bind_expr(struct plan_binder *b, const struct plan_mode *m,
                                  const struct sql_expr *e);
struct plan_node *plan__bind_select(struct plan_binder *b, const struct sql_select *s,
                                    const struct plan_cte_scope *ctes);
bool plan__is_aggregate_name(const char *name);
/* The table named `name` of the current database, or an error with a suggestion. */
const struct cat_table *plan__lookup_table(struct plan_binder *b, const char *name, uint32_t pos);
/* A scan of every column of t (catalog order). */
struct plan_node *plan__scan_node(struct plan_binder *b, const struct cat_table *t);
bool plan__contains_aggregate(const struct sql_expr *e);

/* ---- plan_expr.c ---- */
void *plan__alloc(struct plan_binder *b, size_t n);
struct plan_expr *plan__const(struct plan_binder *b, const struct plan_value *v, uint32_t pos);
struct plan_expr *plan__col(struct plan_binder *b, uint32_t col, enum plan_type t, uint32_t pos);
struct plan_expr *plan__call(struct plan_binder *b, enum plan_fn fn, enum plan_type t,
                             uint32_t pos, uint32_t n, struct plan_expr *const *args);
/* Convert to type t: constants are folded now (errors at their position),
 * other expressions get a PE_CAST node. */
struct plan_expr *plan__coerce(struct plan_binder *b, struct plan_expr *e, enum plan_type t);
/* Fold a call/cast/logic node whose arguments are all constants. */
struct plan_expr *plan__fold(struct plan_binder *b, struct plan_expr *e);
bool plan__expr_equal(const struct plan_expr *a, const struct plan_expr *b);
/* A deep copy: expressions are trees, never DAGs, because the rules
 * rewrite column indexes in place (so a subtree used twice is cloned). */
struct plan_expr *plan__clone(struct plan_binder *b, const struct plan_expr *e);
bool plan__is_numeric(enum plan_type t);
/* Call fn(ctx, &col) for every PE_COL in the tree (pointer to the index). */
void plan__walk_cols(struct plan_expr *e, void (*fn)(void *ctx, uint32_t *col), void *ctx);
/* Does the expression reference any column? */
bool plan__has_cols(const struct plan_expr *e);

/* ---- plan_func.c ---- */
/* Bind a scalar function call whose arguments are bound. */
struct plan_expr *plan__bind_function(struct plan_binder *b, const struct sql_expr *call,
                                      struct plan_expr **args, uint32_t n_args);
/* Is `name` a scalar function this engine knows? (for suggestions) */
const char *const *plan__function_names(uint32_t *n);

/* ---- plan_suggest.c ---- */
/* The candidate closest to `name` by edit distance, when close enough; else NULL. */
const char *plan__suggest(const char *name, const char *const *cands, uint32_t n);

/* ---- plan_infoschema.c ---- */
struct plan_node *plan__info_schema(struct plan_binder *b, const char *name, uint32_t pos);
struct plan_node *plan__show_tables(struct plan_binder *b);
struct plan_node *plan__show_columns(struct plan_binder *b, const char *table, uint32_t pos);
/* The Arrow-style data type name of a column ("Int64", "Dictionary(Int32, Utf8)"). */
const char *plan__column_data_type(const struct cat_column *c);

/* ---- plan_delete.c ---- */
enum st_code plan__bind_delete(struct plan_binder *b, const struct sql_stmt *st,
                               struct plan_delete *out);

/* ---- rules ---- */
enum st_code plan__rule_pushdown(struct plan_binder *b, struct plan_node **root);
enum st_code plan__rule_projection(struct plan_binder *b, struct plan_node *root);
void plan__rule_topn(struct plan_node *root);
void plan__rule_lastpoint(struct plan_node *root);
enum st_code plan__rule_window(struct plan_binder *b, struct plan_node **root);

/* ---- errors ---- */
void *plan__fail(struct plan_binder *b, enum st_code code, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void *plan__oom(struct plan_binder *b);

#endif
