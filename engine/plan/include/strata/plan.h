/*
 * plan.h: the interface to the binder and planner, the middle of the query
 * pipeline:
 *
 *   AST (strata/sql.h) --plan_build--> plan tree (this header) --> executor
 *
 * plan_build resolves names against a catalog database (struct cat_db),
 * types every expression, folds constants (now(), literals, parameters),
 * builds the operator tree and then applies the rules, one per file:
 * predicate pushdown (plan_rule_pushdown.c), projection pushdown
 * (plan_rule_projection.c), top-N (plan_rule_topn.c), time-window limit
 * pushdown (plan_rule_window.c) and the last-value scan (plan_rule_lastpoint.c).
 *
 * A plan is a tree of nodes; every node has a fixed output schema (cols)
 * and reads the output of its child by column index. Expressions are typed
 * trees over the child's columns. Everything lives in the caller's arena.
 *
 * Types: the six column types of st_type plus PT_INTERVAL (a duration in
 * ns: the type of INTERVAL literals and of time - time), which is returned
 * to clients as int64 nanoseconds.
 *
 * Errors (every one with the byte offset in the SQL text): ST_EBIND
 * (unknown table or column, with the closest existing name), ST_ETYPE (type
 * mismatch), ST_EUNSUPPORTED, ST_EINVAL (bad argument: negative LIMIT,
 * division by zero in a constant, ...), ST_ELIMIT.
 */
#ifndef STRATA_PLAN_H
#define STRATA_PLAN_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "strata/batch.h"
#include "strata/catalog.h"
#include "strata/sql.h"
#include "strata/status.h"
#include "strata/storage.h"

/* ---- types and values --------------------------------------------------- */

enum plan_type {
    PT_NULL = ST_TYPE_NULL, /* the type of a bare NULL */
    PT_TIME = ST_TYPE_TIME,
    PT_STRING = ST_TYPE_STRING,
    PT_FLOAT = ST_TYPE_FLOAT,
    PT_INT = ST_TYPE_INT,
    PT_UINT = ST_TYPE_UINT,
    PT_BOOL = ST_TYPE_BOOL,
    PT_INTERVAL, /* int64 ns */
};

/* "integer", "float", "timestamp", "interval", ... */
const char *plan_type_name(enum plan_type t);
/* The st_type a result column of this type is returned as. */
enum st_type plan_type_output(enum plan_type t);

struct plan_str {
    const char *p;
    uint32_t len;
};

struct plan_value {
    enum plan_type type;
    bool is_null;
    union {
        int64_t i; /* INT, TIME, INTERVAL */
        uint64_t u;
        double f;
        bool b;
        struct plan_str s;
    } v;
};

/* ---- expressions ---------------------------------------------------------- */

/* Scalar functions and operators. Arguments are already of the types the
 * function expects (the binder inserts casts). */
enum plan_fn {
    PF_ADD = 0, /* numeric, time+interval, interval+interval */
    PF_SUB,
    PF_MUL,
    PF_DIV,
    PF_MOD,
    PF_NEG,
    PF_CONCAT, /* || and concat(): string, NULL-skipping for concat() */
    PF_EQ,
    PF_NE,
    PF_LT,
    PF_LE,
    PF_GT,
    PF_GE,
    PF_DATE_BIN,   /* (interval const, time, origin const) */
    PF_DATE_TRUNC, /* calendar units: (unit const string, time) */
    PF_NOW,        /* folded at bind time */
    PF_ABS,
    PF_CEIL,
    PF_FLOOR,
    PF_ROUND,
    PF_SQRT,
    PF_LN,
    PF_LOG10,
    PF_EXP,
    PF_POWER,
    PF_LOWER,
    PF_UPPER,
    PF_LENGTH,
    PF_SUBSTR,
    PF_TRIM,
    PF_REPLACE,
    PF_COALESCE,
    PF_NULLIF,
    PF_CONCAT_FN, /* concat(a, b, ...): NULLs count as '' */
    PF__COUNT
};

enum plan_expr_kind {
    PE_CONST = 0,
    PE_COL,     /* u.col: index into the child's columns */
    PE_CALL,    /* u.call */
    PE_CAST,    /* u.cast.arg to e->type */
    PE_AND,     /* u.logic: n-ary, three-valued */
    PE_OR,
    PE_NOT,     /* u.logic.args[0] */
    PE_IS_NULL, /* u.logic.args[0]; negated = IS NOT NULL */
    PE_CASE,    /* searched CASE */
    PE_IN,      /* u.in: arg [NOT] IN (constant list) */
    PE_LIKE,    /* u.like: arg [NOT] LIKE constant pattern */
    PE_REGEX,   /* u.re: arg [!]~ constant POSIX extended regex */
};

struct plan_expr {
    enum plan_expr_kind kind;
    enum plan_type type;
    uint32_t pos;  /* byte offset in the SQL text, for runtime errors */
    bool negated;  /* IS NOT NULL, NOT IN, NOT LIKE, !~ */
    union {
        struct plan_value c;
        uint32_t col;
        struct {
            enum plan_fn fn;
            uint32_t n_args;
            struct plan_expr **args;
        } call;
        struct {
            struct plan_expr *arg;
        } cast;
        struct {
            uint32_t n_args;
            struct plan_expr **args;
        } logic;
        struct {
            uint32_t n_when;
            struct plan_expr **when, **then;
            struct plan_expr *els; /* never NULL: a NULL constant when absent */
        } cas;
        struct {
            struct plan_expr *arg;
            uint32_t n;
            struct plan_value *vals; /* sorted, no NULLs, of arg's type */
            bool has_null;           /* the list contained NULL */
        } in;
        struct {
            struct plan_expr *arg;
            struct plan_str pattern;
            bool icase;
        } like;
        struct {
            struct plan_expr *arg;
            struct plan_str pattern;
            regex_t *re; /* compiled; freed by plan_free_regexes */
        } re;
    } u;
};

/* ---- aggregates ----------------------------------------------------------- */

enum plan_agg_fn {
    PA_COUNT_STAR = 0,
    PA_COUNT,
    PA_COUNT_DISTINCT,
    PA_SUM,
    PA_MIN,
    PA_MAX,
    PA_AVG,
    PA_STDDEV,     /* sample */
    PA_STDDEV_POP,
    PA_VAR,        /* sample */
    PA_VAR_POP,
    PA_FIRST,      /* value at the earliest time (NULLs skipped) */
    PA_LAST,       /* value at the latest time (NULLs skipped) */
};

struct plan_agg {
    enum plan_agg_fn fn;
    struct plan_expr *arg;  /* NULL for count(*) */
    struct plan_expr *time; /* FIRST/LAST: the time column */
    enum plan_type type;    /* result type */
    uint32_t pos;
};

const char *plan_agg_name(enum plan_agg_fn fn);

/* ---- nodes ---------------------------------------------------------------- */

struct plan_col {
    const char *name;
    enum plan_type type;
    enum st_role role;
    bool nullable;
};

/* One output column of a scan. */
struct plan_scan_col {
    enum cat_col_kind kind;
    uint32_t tag_index; /* TAG */
    uint32_t field;     /* FIELD: index into spec field_cols */
};

struct plan_scan {
    const struct cat_table *table;
    struct stor_scan_spec spec;   /* table_id, time range, tag preds, fields, ranges, mode */
    struct plan_expr *series_filter; /* over this scan's output columns (tags only); or NULL */
    struct plan_scan_col *out;       /* one per node column */
    /* Time-window limit pushdown (plan_rule_window.c): read only the last
     * (or first) `window_buckets` buckets of `window_stride` ns, then widen
     * while the query above returns fewer than `window_need` rows. */
    bool window;
    bool window_desc;
    int64_t window_stride, window_origin;
    uint64_t window_need;
};

enum plan_node_kind {
    PN_SCAN = 0,
    PN_VALUES,      /* constant rows (information_schema, SELECT without FROM) */
    PN_FILTER,
    PN_PROJECT,
    PN_AGG,
    PN_SORT,
    PN_LIMIT,
    PN_DISTINCT,    /* n_on == 0: whole rows; else DISTINCT ON the first-seen row */
    PN_WINDOW,      /* root of a subtree run with a widening time window */
};

struct plan_sort_key {
    uint32_t col;
    bool desc;
    bool nulls_first;
};

struct plan_node {
    enum plan_node_kind kind;
    struct plan_node *child;
    uint32_t n_cols;
    struct plan_col *cols;
    union {
        struct plan_scan scan;
        struct {
            uint32_t n_rows;
            struct plan_value *rows; /* n_rows * n_cols, row-major */
        } values;
        struct {
            struct plan_expr *pred;
        } filter;
        struct {
            struct plan_expr **exprs; /* n_cols */
        } project;
        struct {
            uint32_t n_keys;
            struct plan_expr **keys;
            uint32_t n_aggs;
            struct plan_agg *aggs; /* output: keys, then aggregates */
            /* The scan below reads only each series' newest row
             * (plan_rule_lastpoint.c); when a last() argument is NULL there,
             * the executor starts over with a full scan. */
            bool lastpoint;
        } agg;
        struct {
            uint32_t n_keys;
            struct plan_sort_key *keys;
            uint64_t top;          /* 0: full sort; else keep only the first `top` rows */
        } sort;
        struct {
            uint64_t limit;        /* UINT64_MAX: none */
            uint64_t offset;
        } limit;
        struct {
            uint32_t n_on;
            uint32_t *on; /* column indexes */
        } distinct;
        struct {
            struct plan_node *scan; /* the windowed scan inside the subtree */
        } window;
    } u;
};

/* ---- statements ----------------------------------------------------------- */

struct plan_delete_tag {
    const char *tag;
    uint32_t n_values;
    const char **values;
    bool in; /* IN list (else =) */
};

struct plan_delete {
    const char *table;
    int64_t t_lo, t_hi;
    uint32_t n_tags;
    struct plan_delete_tag *tags;
};

enum plan_stmt_kind { PLAN_QUERY = 0, PLAN_EXPLAIN, PLAN_DELETE };

struct plan {
    enum plan_stmt_kind kind;
    struct plan_node *root;   /* QUERY, EXPLAIN (the plan explained) */
    struct plan_delete del;   /* DELETE */
    bool needs_db;            /* the statement reads a database */
};

struct plan_param {
    const char *name;
    struct plan_value value;
};

struct plan_ctx {
    struct sql_arena *arena;
    const struct cat_db *db; /* NULL: no database (only FROM-less SELECT works) */
    const char *db_name;     /* for information_schema.table_catalog; may be NULL */
    int64_t now_ns;          /* the value of now() for this statement */
    const struct plan_param *params;
    uint32_t n_params;
    uint32_t batch_rows;     /* target rows per batch */
    /* set by plan_build: compiled regexes to free */
    regex_t **regexes;
    uint32_t n_regexes, cap_regexes;
};

/* Bind and plan a parsed statement. */
enum st_code plan_build(struct plan_ctx *ctx, const struct sql_stmt *stmt, struct plan **out,
                        struct st_error *err);
/* Free the compiled regexes (everything else is in the arena). */
void plan_ctx_cleanup(struct plan_ctx *ctx);

/* ---- scalar semantics (shared by constant folding and the executor) ------ */

/* Evaluate a scalar function on values; strings are allocated in `a`. */
enum st_code plan_eval_fn(enum plan_fn fn, const struct plan_value *args, uint32_t n_args,
                          enum plan_type result_type, struct sql_arena *a, struct plan_value *out,
                          uint32_t pos, struct st_error *err);
/* CAST semantics. */
enum st_code plan_cast_value(const struct plan_value *v, enum plan_type to, struct sql_arena *a,
                             struct plan_value *out, uint32_t pos, struct st_error *err);
/* Three-way comparison of two non-NULL values of comparable types. */
int plan_value_cmp(const struct plan_value *a, const struct plan_value *b);
/* Whether a three-way comparison result c (<0, 0, >0) satisfies the
 * comparison fn (PF_EQ, PF_NE, PF_LT, PF_LE, PF_GT, PF_GE). */
static inline bool
plan_cmp_holds(enum plan_fn fn, int c)
{
    switch (fn) {
    case PF_EQ:
        return c == 0;
    case PF_NE:
        return c != 0;
    case PF_LT:
        return c < 0;
    case PF_LE:
        return c <= 0;
    case PF_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}
/* LIKE matching (% and _; backslash escapes); icase folds ASCII. */
bool plan_like_match(const char *s, size_t n, const char *pat, size_t pn, bool icase);
/* date_bin on one value: floor((t - origin) / stride) * stride + origin;
 * false when that bucket start lies outside the int64 range. */
bool plan_date_bin_exact(int64_t t, int64_t stride, int64_t origin, int64_t *out);
/* The same, saturated to INT64_MIN (for planning ranges, never for results). */
int64_t plan_date_bin(int64_t t, int64_t stride, int64_t origin);
/* date_trunc for calendar units ("month", "quarter", "year"): false if the
 * unit is unknown or the start lies before the timestamp range. */
bool plan_date_trunc_calendar(const char *unit, int64_t t, int64_t *out);

/* ---- EXPLAIN -------------------------------------------------------------- */

/* Estimate callback: fill *out for a scan spec (EXPLAIN prints it). */
typedef enum st_code (*plan_estimate_fn)(void *ctx, const struct stor_scan_spec *spec,
                                         struct stor_scan_estimate *out, struct st_error *err);

/* Render the plan as lines of text in the arena: one line per operator,
 * indented by depth, with each scan's pruning estimate when `est` is given. */
enum st_code plan_explain(const struct plan_node *root, struct sql_arena *a, plan_estimate_fn est,
                          void *est_ctx, const char ***lines_out, uint32_t *n_out,
                          struct st_error *err);

/* Render a bound expression (for EXPLAIN); columns by the child's names. */
void plan_expr_format(const struct plan_expr *e, const struct plan_col *cols, char *buf,
                      size_t buflen);

#endif
