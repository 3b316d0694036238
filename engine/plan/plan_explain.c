/*
 * plan_explain.c: the text of EXPLAIN. One line per operator, children
 * indented under their parent, expressions printed over the names of the
 * columns they read. A scan line shows what the planner pushed into
 * storage (time range, tag predicates, series filter, fields read, block
 * pruning ranges, scan mode) and, when an estimate callback is given, what
 * storage says it will read: partitions, series and blocks selected out of
 * the total, and an upper bound on rows.
 */
#include "plan_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/buf.h"
#include "strata/clock.h"


static void
w_time(struct st_tw *w, int64_t t)
{
    char buf[48];
    st_format_rfc3339(t, buf, sizeof buf);
    st_tw_puts(w, buf);
}

static void
w_value(struct st_tw *w, const struct plan_value *v)
{
    if (v->is_null) {
        st_tw_puts(w, "NULL");
        return;
    }
    char buf[64];
    switch (v->type) {
    case PT_INT:
        st_tw_printf(w, "%" PRId64, v->v.i);
        break;
    case PT_UINT:
        st_tw_printf(w, "%" PRIu64, v->v.u);
        break;
    case PT_FLOAT:
        snprintf(buf, sizeof buf, "%.15g", v->v.f);
        if (strtod(buf, NULL) != v->v.f)
            snprintf(buf, sizeof buf, "%.17g", v->v.f);
        st_tw_puts(w, buf);
        if (!strpbrk(buf, ".eEni"))
            st_tw_puts(w, ".0");
        break;
    case PT_BOOL:
        st_tw_puts(w, v->v.b ? "true" : "false");
        break;
    case PT_STRING:
        st_tw_puts(w, "'");
        for (uint32_t i = 0; i < v->v.s.len; i++) {
            if (v->v.s.p[i] == '\'')
                st_tw_puts(w, "'");
            st_tw_put(w, v->v.s.p + i, 1);
        }
        st_tw_puts(w, "'");
        break;
    case PT_TIME:
        st_tw_puts(w, "TIMESTAMP '");
        w_time(w, v->v.i);
        st_tw_puts(w, "'");
        break;
    case PT_INTERVAL:
        sql_format_interval(v->v.i, buf, sizeof buf);
        st_tw_printf(w, "INTERVAL '%s'", buf);
        break;
    case PT_NULL:
        st_tw_puts(w, "NULL");
        break;
    }
}

static const char *const fn_names[PF__COUNT] = {
    [PF_ADD] = "+",          [PF_SUB] = "-",          [PF_MUL] = "*",
    [PF_DIV] = "/",          [PF_MOD] = "%",          [PF_NEG] = "-",
    [PF_CONCAT] = "||",      [PF_EQ] = "=",           [PF_NE] = "!=",
    [PF_LT] = "<",           [PF_LE] = "<=",          [PF_GT] = ">",
    [PF_GE] = ">=",          [PF_DATE_BIN] = "date_bin", [PF_DATE_TRUNC] = "date_trunc",
    [PF_NOW] = "now",        [PF_ABS] = "abs",        [PF_CEIL] = "ceil",
    [PF_FLOOR] = "floor",    [PF_ROUND] = "round",    [PF_SQRT] = "sqrt",
    [PF_LN] = "ln",          [PF_LOG10] = "log10",    [PF_EXP] = "exp",
    [PF_POWER] = "power",    [PF_LOWER] = "lower",    [PF_UPPER] = "upper",
    [PF_LENGTH] = "length",  [PF_SUBSTR] = "substr",  [PF_TRIM] = "trim",
    [PF_REPLACE] = "replace", [PF_COALESCE] = "coalesce", [PF_NULLIF] = "nullif",
    [PF_CONCAT_FN] = "concat",
};

static void w_expr(struct st_tw *w, const struct plan_expr *e, const struct plan_col *cols);

static void
w_list(struct st_tw *w, struct plan_expr *const *v, uint32_t n, const struct plan_col *cols,
       const char *sep)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            st_tw_puts(w, sep);
        w_expr(w, v[i], cols);
    }
}

static void
w_expr(struct st_tw *w, const struct plan_expr *e, const struct plan_col *cols)
{
    switch (e->kind) {
    case PE_CONST:
        w_value(w, &e->u.c);
        return;
    case PE_COL:
        if (cols)
            st_tw_puts(w, cols[e->u.col].name);
        else
            st_tw_printf(w, "#%u", e->u.col);
        return;
    case PE_CALL: {
        enum plan_fn fn = e->u.call.fn;
        if (fn <= PF_GE && fn != PF_NEG) {
            st_tw_puts(w, "(");
            w_expr(w, e->u.call.args[0], cols);
            st_tw_printf(w, " %s ", fn_names[fn]);
            w_expr(w, e->u.call.args[1], cols);
            st_tw_puts(w, ")");
            return;
        }
        if (fn == PF_NEG) {
            st_tw_puts(w, "-");
            w_expr(w, e->u.call.args[0], cols);
            return;
        }
        st_tw_puts(w, fn < PF__COUNT && fn_names[fn] ? fn_names[fn] : "?");
        st_tw_puts(w, "(");
        w_list(w, e->u.call.args, e->u.call.n_args, cols, ", ");
        st_tw_puts(w, ")");
        return;
    }
    case PE_CAST:
        st_tw_puts(w, "CAST(");
        w_expr(w, e->u.cast.arg, cols);
        st_tw_printf(w, " AS %s)", plan_type_name(e->type));
        return;
    case PE_AND:
    case PE_OR:
        st_tw_puts(w, "(");
        w_list(w, e->u.logic.args, e->u.logic.n_args, cols, e->kind == PE_AND ? " AND " : " OR ");
        st_tw_puts(w, ")");
        return;
    case PE_NOT:
        st_tw_puts(w, "NOT ");
        w_expr(w, e->u.logic.args[0], cols);
        return;
    case PE_IS_NULL:
        w_expr(w, e->u.logic.args[0], cols);
        st_tw_puts(w, e->negated ? " IS NOT NULL" : " IS NULL");
        return;
    case PE_CASE:
        st_tw_puts(w, "CASE");
        for (uint32_t i = 0; i < e->u.cas.n_when; i++) {
            st_tw_puts(w, " WHEN ");
            w_expr(w, e->u.cas.when[i], cols);
            st_tw_puts(w, " THEN ");
            w_expr(w, e->u.cas.then[i], cols);
        }
        st_tw_puts(w, " ELSE ");
        w_expr(w, e->u.cas.els, cols);
        st_tw_puts(w, " END");
        return;
    case PE_IN:
        w_expr(w, e->u.in.arg, cols);
        st_tw_puts(w, e->negated ? " NOT IN (" : " IN (");
        for (uint32_t i = 0; i < e->u.in.n; i++) {
            if (i)
                st_tw_puts(w, ", ");
            if (i == 16) {
                st_tw_printf(w, "... %u more", e->u.in.n - 16);
                break;
            }
            w_value(w, &e->u.in.vals[i]);
        }
        if (e->u.in.has_null)
            st_tw_puts(w, e->u.in.n ? ", NULL" : "NULL");
        st_tw_puts(w, ")");
        return;
    case PE_LIKE: {
        w_expr(w, e->u.like.arg, cols);
        st_tw_puts(w, e->negated ? " NOT" : "");
        st_tw_puts(w, e->u.like.icase ? " ILIKE " : " LIKE ");
        struct plan_value v = {.type = PT_STRING, .v.s = e->u.like.pattern};
        w_value(w, &v);
        return;
    }
    case PE_REGEX: {
        w_expr(w, e->u.re.arg, cols);
        st_tw_puts(w, e->negated ? " !~ " : " ~ ");
        struct plan_value v = {.type = PT_STRING, .v.s = e->u.re.pattern};
        w_value(w, &v);
        return;
    }
    }
}

void
plan_expr_format(const struct plan_expr *e, const struct plan_col *cols, char *buf, size_t buflen)
{
    struct st_tw w = {buf, buflen, 0};
    if (buflen)
        buf[0] = '\0';
    w_expr(&w, e, cols);
}

/* ---- operators ------------------------------------------------------------------- */

struct lines {
    struct sql_arena *a;
    const char **v;
    uint32_t n, cap;
};

static enum st_code
emit(struct lines *l, unsigned depth, const char *text, struct st_error *err)
{
    if (l->n == l->cap) {
        uint32_t ncap = l->cap ? l->cap * 2 : 16;
        const char **v = sql_arena_alloc(l->a, ncap * sizeof *v);
        if (!v)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = ncap;
    }
    size_t n = strlen(text);
    char *s = sql_arena_alloc(l->a, n + 2 * depth + 1);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    memset(s, ' ', 2 * depth);
    memcpy(s + 2 * depth, text, n + 1);
    l->v[l->n++] = s;
    return ST_OK;
}

static const char *
tag_op(enum stor_tag_op op)
{
    switch (op) {
    case STOR_TAG_EQ:
        return "=";
    case STOR_TAG_NE:
        return "!=";
    case STOR_TAG_IN:
        return "IN";
    default:
        return "NOT IN";
    }
}

static const char *
tag_name(const struct cat_table *t, uint32_t tag_index)
{
    for (uint32_t i = 0; i < t->n_columns; i++)
        if (t->columns[i].kind == CAT_COL_TAG && t->columns[i].tag_index == tag_index)
            return t->columns[i].name;
    return "?";
}

static const char *
col_name_by_id(const struct cat_table *t, uint32_t id)
{
    for (uint32_t i = 0; i < t->n_columns; i++)
        if (t->columns[i].id == id)
            return t->columns[i].name;
    return "?";
}

static void
w_scan(struct st_tw *w, const struct plan_node *n)
{
    const struct plan_scan *s = &n->u.scan;
    const struct stor_scan_spec *sp = &s->spec;
    st_tw_printf(w, "Scan: %s", s->table->name);
    if (sp->mode == STOR_SCAN_LAST)
        st_tw_puts(w, " mode=last-value");
    st_tw_puts(w, " time=[");
    if (sp->t_lo == INT64_MIN)
        st_tw_puts(w, "-inf");
    else
        w_time(w, sp->t_lo);
    st_tw_puts(w, ", ");
    if (sp->t_hi == INT64_MAX)
        st_tw_puts(w, "+inf");
    else
        w_time(w, sp->t_hi);
    st_tw_puts(w, ")");
    if (s->window)
        st_tw_printf(w, " window=%s %" PRIu64 " rows of %" PRId64 "ns buckets", s->window_desc ? "newest" : "oldest",
           s->window_need, s->window_stride);
    for (uint32_t i = 0; i < sp->n_tag_preds; i++) {
        const struct stor_tag_pred *tp = &sp->tag_preds[i];
        st_tw_printf(w, " %s %s ", tag_name(s->table, tp->tag_index), tag_op(tp->op));
        if (tp->op == STOR_TAG_IN || tp->op == STOR_TAG_NOT_IN)
            st_tw_puts(w, "(");
        for (uint32_t k = 0; k < tp->n_values; k++) {
            if (k)
                st_tw_puts(w, ", ");
            if (k == 8) {
                st_tw_printf(w, "... %u more", tp->n_values - 8);
                break;
            }
            struct plan_value v = {.type = PT_STRING,
                                   .v.s = {tp->values[k], (uint32_t)strlen(tp->values[k])}};
            w_value(w, &v);
        }
        if (tp->op == STOR_TAG_IN || tp->op == STOR_TAG_NOT_IN)
            st_tw_puts(w, ")");
    }
    if (s->series_filter) {
        st_tw_puts(w, " series_filter=");
        w_expr(w, s->series_filter, n->cols);
    }
    st_tw_puts(w, " fields=[");
    for (uint32_t i = 0; i < sp->n_field_cols; i++) {
        if (i)
            st_tw_puts(w, ", ");
        st_tw_puts(w, col_name_by_id(s->table, sp->field_cols[i]));
    }
    st_tw_puts(w, "]");
    for (uint32_t i = 0; i < sp->n_ranges; i++) {
        const struct stor_field_range *r = &sp->ranges[i];
        st_tw_printf(w, " range(%s)=[%g, %g]", col_name_by_id(s->table, r->col_id), r->lo, r->hi);
    }
}

static enum st_code
explain_node(const struct plan_node *n, unsigned depth, struct lines *l, plan_estimate_fn est,
             void *est_ctx, struct st_error *err)
{
    char buf[2048];
    struct st_tw w = {buf, sizeof buf, 0};
    buf[0] = '\0';
    const struct plan_col *in = n->child ? n->child->cols : NULL;
    switch (n->kind) {
    case PN_SCAN:
        w_scan(&w, n);
        break;
    case PN_VALUES:
        st_tw_printf(&w, "Values: %u row%s", n->u.values.n_rows, n->u.values.n_rows == 1 ? "" : "s");
        break;
    case PN_FILTER:
        st_tw_puts(&w, "Filter: ");
        w_expr(&w, n->u.filter.pred, in);
        break;
    case PN_PROJECT:
        st_tw_puts(&w, "Project: ");
        for (uint32_t i = 0; i < n->n_cols; i++) {
            if (i)
                st_tw_puts(&w, ", ");
            w_expr(&w, n->u.project.exprs[i], in);
            if (n->u.project.exprs[i]->kind != PE_COL ||
                strcmp(in[n->u.project.exprs[i]->u.col].name, n->cols[i].name) != 0)
                st_tw_printf(&w, " AS %s", n->cols[i].name);
        }
        break;
    case PN_AGG:
        st_tw_puts(&w, "Aggregate: keys=[");
        w_list(&w, n->u.agg.keys, n->u.agg.n_keys, in, ", ");
        st_tw_puts(&w, "] aggs=[");
        for (uint32_t i = 0; i < n->u.agg.n_aggs; i++) {
            const struct plan_agg *a = &n->u.agg.aggs[i];
            if (i)
                st_tw_puts(&w, ", ");
            st_tw_puts(&w, plan_agg_name(a->fn));
            st_tw_puts(&w, "(");
            if (a->fn == PA_COUNT_STAR)
                st_tw_puts(&w, "*");
            else {
                if (a->fn == PA_COUNT_DISTINCT)
                    st_tw_puts(&w, "DISTINCT ");
                w_expr(&w, a->arg, in);
            }
            st_tw_puts(&w, ")");
        }
        st_tw_puts(&w, "]");
        break;
    case PN_SORT:
        st_tw_puts(&w, n->u.sort.top ? "TopN: " : "Sort: ");
        for (uint32_t i = 0; i < n->u.sort.n_keys; i++) {
            const struct plan_sort_key *k = &n->u.sort.keys[i];
            st_tw_printf(&w, "%s%s %s NULLS %s", i ? ", " : "", in[k->col].name, k->desc ? "DESC" : "ASC",
               k->nulls_first ? "FIRST" : "LAST");
        }
        if (n->u.sort.top)
            st_tw_printf(&w, " keep=%" PRIu64, n->u.sort.top);
        break;
    case PN_LIMIT:
        st_tw_puts(&w, "Limit:");
        if (n->u.limit.limit != UINT64_MAX)
            st_tw_printf(&w, " limit=%" PRIu64, n->u.limit.limit);
        if (n->u.limit.offset)
            st_tw_printf(&w, " offset=%" PRIu64, n->u.limit.offset);
        break;
    case PN_DISTINCT:
        if (n->u.distinct.n_on == 0) {
            st_tw_puts(&w, "Distinct");
        } else {
            st_tw_puts(&w, "DistinctOn: ");
            for (uint32_t i = 0; i < n->u.distinct.n_on; i++)
                st_tw_printf(&w, "%s%s", i ? ", " : "", in[n->u.distinct.on[i]].name);
        }
        break;
    case PN_WINDOW:
        st_tw_printf(&w, "TimeWindow: read the %s buckets first, widen until the limit is met",
           n->u.window.scan->u.scan.window_desc ? "newest" : "oldest");
        break;
    }
    ST_TRY(emit(l, depth, buf, err));
    if (n->kind == PN_SCAN && est) {
        struct stor_scan_estimate e;
        ST_TRY(est(est_ctx, &n->u.scan.spec, &e, err));
        w.len = 0;
        buf[0] = '\0';
        st_tw_printf(&w, "partitions=%u/%u series=%u/%u blocks=%" PRIu64 "/%" PRIu64 " rows<=%" PRIu64,
           e.partitions_selected, e.partitions_total, e.series_selected, e.series_total,
           e.blocks_selected, e.blocks_total, e.rows_selected);
        ST_TRY(emit(l, depth + 1, buf, err));
    }
    return ST_OK;
}

enum st_code
plan_explain(const struct plan_node *root, struct sql_arena *a, plan_estimate_fn est,
             void *est_ctx, const char ***lines_out, uint32_t *n_out, struct st_error *err)
{
    struct lines l = {.a = a};
    unsigned depth = 0;
    /* a plan is a chain (no joins): walk it without recursion */
    for (const struct plan_node *n = root; n; n = n->child)
        ST_TRY(explain_node(n, depth++, &l, est, est_ctx, err));
    *lines_out = l.v;
    *n_out = l.n;
    return ST_OK;
}
