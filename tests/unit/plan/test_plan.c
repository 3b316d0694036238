/*
 * test_plan.c: the binder and planner against a fixed catalog: the shape
 * of plans after each rule (pushdown, projection, top-N, window,
 * lastpoint), constant folding and the integer-domain rewrite, errors with
 * positions and suggestions, EXPLAIN text, and the scalar semantics of
 * plan_value.c (arithmetic, casts, LIKE, date_bin, calendar truncation).
 */
#include "th.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../exec/exec_fake.h"
#include "plan_int.h"
#include "strata/plan.h"
#include "strata/sql.h"

struct planned {
    struct sql_arena a;
    struct plan_ctx ctx;
    struct plan *p;
};

static enum st_code
try_plan(struct planned *pl, const char *sql, struct st_error *err)
{
    sql_arena_init(&pl->a, 1 << 26);
    memset(&pl->ctx, 0, sizeof pl->ctx);
    pl->ctx.arena = &pl->a;
    pl->ctx.db = fake_catalog();
    pl->ctx.now_ns = 1451606400000000000LL;
    struct sql_stmt *st;
    enum st_code rc = sql_parse(sql, strlen(sql), &pl->a, &st, err);
    if (rc != ST_OK)
        return rc;
    return plan_build(&pl->ctx, st, &pl->p, err);
}

static struct plan_node *
plan_ok(struct planned *pl, const char *sql)
{
    struct st_error err;
    if (try_plan(pl, sql, &err) != ST_OK)
        th_fail(__FILE__, __LINE__, "\"%s\": %s @%lld", sql, err.msg, (long long)err.offset);
    return pl->p->root;
}

static void
done(struct planned *pl)
{
    plan_ctx_cleanup(&pl->ctx);
    sql_arena_cleanup(&pl->a);
}

static void
expect_plan_error(const char *sql, enum st_code code, long long off, const char *frag)
{
    struct planned pl;
    struct st_error err;
    enum st_code rc = try_plan(&pl, sql, &err);
    if (rc != code || (off >= 0 && err.offset != off) || !strstr(err.msg, frag))
        th_fail(__FILE__, __LINE__, "\"%s\": got %s @%lld \"%s\", expected %s @%lld \"%s\"", sql,
                st_code_name(rc), (long long)err.offset, err.msg, st_code_name(code), off, frag);
    done(&pl);
}

static const struct plan_node *
find(const struct plan_node *n, enum plan_node_kind k)
{
    for (; n; n = n->child) {
        if (n->kind == k)
            return n;
        if (n->kind == PN_WINDOW && k == PN_SCAN)
            return n->u.window.scan;
    }
    return NULL;
}

/* The EXPLAIN text (without estimates), lines joined by '\n'. */
static char *
explain(const struct plan_node *root, struct sql_arena *a)
{
    const char **lines;
    uint32_t n;
    struct st_error err;
    if (plan_explain(root, a, NULL, NULL, &lines, &n, &err) != ST_OK)
        th_fail(__FILE__, __LINE__, "explain: %s", err.msg);
    size_t total = 1;
    for (uint32_t i = 0; i < n; i++)
        total += strlen(lines[i]) + 1;
    char *s = sql_arena_alloc(a, total);
    for (uint32_t i = 0; i < n; i++) {
        strcat(s, lines[i]);
        strcat(s, "\n");
    }
    return s;
}

/* ---- rules ---------------------------------------------------------------------------- */

TEST(pushdown_time_tags_series_filter_and_ranges)
{
    struct planned pl;
    const struct plan_node *root = plan_ok(
        &pl, "SELECT usage FROM cpu WHERE host IN ('a','b') AND region != 'eu' AND "
             "time >= '2016-01-01T00:00:00Z' AND time < '2016-01-01T01:00:00Z' AND "
             "time > '2015-01-01T00:00:00Z' AND host LIKE 'a%' AND usage > 5.5 AND usage <= 90");
    const struct plan_node *scan = find(root, PN_SCAN);
    const struct stor_scan_spec *sp = &scan->u.scan.spec;
    ASSERT_EQ_INT(sp->t_lo, 1451606400000000000LL);
    ASSERT_EQ_INT(sp->t_hi, 1451610000000000000LL);
    ASSERT_EQ_INT(sp->n_tag_preds, 2);
    ASSERT_EQ_INT(sp->tag_preds[0].op, STOR_TAG_IN);
    ASSERT_EQ_INT(sp->tag_preds[0].n_values, 2);
    ASSERT_EQ_INT(sp->tag_preds[1].op, STOR_TAG_NE);
    ASSERT_EQ_INT(sp->tag_preds[1].tag_index, 1);
    ASSERT_TRUE(scan->u.scan.series_filter != NULL);
    ASSERT_EQ_INT(scan->u.scan.series_filter->kind, PE_LIKE);
    ASSERT_EQ_INT(sp->n_field_cols, 1);
    ASSERT_EQ_INT(sp->field_cols[0], 3);
    ASSERT_EQ_INT(sp->n_ranges, 1);
    ASSERT_EQ_DBL(sp->ranges[0].lo, 5.0);
    ASSERT_EQ_DBL(sp->ranges[0].hi, 90.0);
    /* the field conditions stay, in the integer domain */
    const struct plan_node *f = find(root, PN_FILTER);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ_INT(f->u.filter.pred->kind, PE_AND);
    const struct plan_expr *gt = f->u.filter.pred->u.logic.args[0];
    ASSERT_EQ_INT(gt->u.call.fn, PF_GT);
    ASSERT_EQ_INT(gt->u.call.args[1]->type, PT_INT);
    ASSERT_EQ_INT(gt->u.call.args[1]->u.c.v.i, 5);
    done(&pl);
}

TEST(pushdown_removes_an_empty_filter_and_empties_false_scans)
{
    struct planned pl;
    const struct plan_node *root = plan_ok(&pl, "SELECT usage FROM cpu WHERE host = 'a'");
    ASSERT_TRUE(find(root, PN_FILTER) == NULL);
    done(&pl);
    root = plan_ok(&pl, "SELECT usage FROM cpu WHERE 1 = 2");
    const struct plan_node *scan = find(root, PN_SCAN);
    ASSERT_TRUE(scan->u.scan.spec.t_lo >= scan->u.scan.spec.t_hi);
    done(&pl);
    /* a condition that may fail stays a row filter too (and is a series filter) */
    root = plan_ok(&pl, "SELECT usage FROM cpu WHERE CAST(host AS BIGINT) = 1");
    ASSERT_TRUE(find(root, PN_FILTER) != NULL);
    ASSERT_TRUE(find(root, PN_SCAN)->u.scan.series_filter != NULL);
    done(&pl);
    /* time = constant is a one-ns range */
    root = plan_ok(&pl, "SELECT usage FROM cpu WHERE time = 5");
    scan = find(root, PN_SCAN);
    ASSERT_EQ_INT(scan->u.scan.spec.t_lo, 5);
    ASSERT_EQ_INT(scan->u.scan.spec.t_hi, 6);
    done(&pl);
}

TEST(projection_reads_only_needed_fields)
{
    struct planned pl;
    const struct plan_node *root = plan_ok(&pl, "SELECT count(*) FROM cpu");
    ASSERT_EQ_INT(find(root, PN_SCAN)->u.scan.spec.n_field_cols, 0);
    done(&pl);
    root = plan_ok(&pl, "SELECT host, max(idle) FROM cpu WHERE note = 'x' GROUP BY host");
    const struct plan_node *scan = find(root, PN_SCAN);
    ASSERT_EQ_INT(scan->u.scan.spec.n_field_cols, 2);
    ASSERT_EQ_INT(scan->u.scan.spec.field_cols[0], 4);
    ASSERT_EQ_INT(scan->u.scan.spec.field_cols[1], 6);
    ASSERT_EQ_INT(scan->n_cols, 3); /* host, idle, note */
    done(&pl);
    root = plan_ok(&pl, "SELECT * FROM cpu");
    ASSERT_EQ_INT(find(root, PN_SCAN)->u.scan.spec.n_field_cols, 5);
    ASSERT_EQ_INT(root->n_cols, 8);
    ASSERT_EQ_STR(root->cols[0].name, "time");
    ASSERT_EQ_INT(root->cols[0].role, ST_ROLE_TIME);
    ASSERT_EQ_INT(root->cols[1].role, ST_ROLE_TAG);
    ASSERT_EQ_INT(root->cols[3].role, ST_ROLE_FIELD);
    done(&pl);
}

TEST(topn_window_and_lastpoint_rules)
{
    struct planned pl;
    const struct plan_node *root =
        plan_ok(&pl, "SELECT usage FROM cpu ORDER BY usage DESC LIMIT 10 OFFSET 5");
    ASSERT_EQ_INT(find(root, PN_SORT)->u.sort.top, 15);
    done(&pl);
    root = plan_ok(&pl, "SELECT date_bin(INTERVAL '1 minute', time, TIMESTAMP '2016-01-01T00:00:00Z') "
                        "AS m, max(usage) FROM cpu WHERE time < '2016-01-02T00:00:00Z' "
                        "GROUP BY m ORDER BY m DESC LIMIT 5");
    ASSERT_EQ_INT(root->kind, PN_WINDOW);
    const struct plan_scan *s = &root->u.window.scan->u.scan;
    ASSERT_TRUE(s->window && s->window_desc);
    ASSERT_EQ_INT(s->window_stride, 60000000000LL);
    ASSERT_EQ_INT(s->window_origin, 1451606400000000000LL);
    ASSERT_EQ_INT(s->window_need, 5);
    done(&pl);
    /* ascending too; not when the sort key is not the bucket */
    root = plan_ok(&pl, "SELECT date_trunc('hour', time) AS h, count(*) FROM cpu GROUP BY h "
                        "ORDER BY h LIMIT 3");
    ASSERT_EQ_INT(root->kind, PN_WINDOW);
    ASSERT_FALSE(root->u.window.scan->u.scan.window_desc);
    done(&pl);
    root = plan_ok(&pl, "SELECT date_bin(INTERVAL '1 minute', time) AS m, max(usage) AS x FROM cpu "
                        "GROUP BY m ORDER BY x DESC LIMIT 5");
    ASSERT_TRUE(root->kind != PN_WINDOW);
    done(&pl);
    /* lastpoint */
    root = plan_ok(&pl, "SELECT DISTINCT ON (host) * FROM cpu ORDER BY host, time DESC");
    ASSERT_EQ_INT(find(root, PN_SCAN)->u.scan.spec.mode, STOR_SCAN_LAST);
    done(&pl);
    root = plan_ok(&pl, "SELECT host, max(time), last(usage, time) FROM cpu WHERE region = 'us' "
                        "GROUP BY host");
    ASSERT_EQ_INT(find(root, PN_SCAN)->u.scan.spec.mode, STOR_SCAN_LAST);
    ASSERT_TRUE(find(root, PN_AGG)->u.agg.lastpoint);
    done(&pl);
    root = plan_ok(&pl, "SELECT * FROM cpu ORDER BY time DESC LIMIT 1");
    ASSERT_EQ_INT(find(root, PN_SCAN)->u.scan.spec.mode, STOR_SCAN_LAST);
    done(&pl);
    /* not: a field filter, a count, LIMIT 2, a non-tag key */
    const char *no[] = {
        "SELECT DISTINCT ON (host) * FROM cpu WHERE usage > 1 ORDER BY host, time DESC",
        "SELECT host, count(*), last(usage, time) FROM cpu GROUP BY host",
        "SELECT * FROM cpu ORDER BY time DESC LIMIT 2",
        "SELECT note, last(usage, time) FROM cpu GROUP BY note",
        "SELECT DISTINCT ON (host) * FROM cpu ORDER BY host, time",
        "SELECT host, first(usage, time) FROM cpu GROUP BY host",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        root = plan_ok(&pl, no[i]);
        if (find(root, PN_SCAN)->u.scan.spec.mode != STOR_SCAN_ALL)
            th_fail(__FILE__, __LINE__, "lastpoint applied to \"%s\"", no[i]);
        done(&pl);
    }
}

TEST(explain_text)
{
    struct planned pl;
    const struct plan_node *root =
        plan_ok(&pl, "SELECT host, avg(usage) AS a FROM cpu WHERE host = 'a' AND idle > 1 "
                     "GROUP BY host HAVING count(*) > 2 ORDER BY a DESC LIMIT 3");
    char *s = explain(root, &pl.a);
    ASSERT_EQ_STR(s, "Limit: limit=3\n"
                     "  TopN: a DESC NULLS FIRST keep=3\n"
                     "    Project: host, avg AS a\n"
                     "      Filter: (count > 2)\n"
                     "        Aggregate: keys=[host] aggs=[avg(usage), count(*)]\n"
                     "          Filter: (idle > 1.0)\n"
                     "            Scan: cpu time=[-inf, +inf) host = 'a' fields=[usage, idle] "
                     "range(idle)=[1, inf]\n");
    done(&pl);
}

/* ---- binding ----------------------------------------------------------------------------- */

TEST(constants_fold_at_plan_time)
{
    struct planned pl;
    const struct plan_node *root =
        plan_ok(&pl, "SELECT 1 + 2 * 3, now() - INTERVAL '1 hour', upper('a') || 'b', "
                     "CASE WHEN 1 > 2 THEN 'x' ELSE 'y' END, 5 IN (1, 5), NULL IS NULL");
    const struct plan_node *p = find(root, PN_PROJECT);
    for (uint32_t i = 0; i < p->n_cols; i++)
        ASSERT_EQ_INT(p->u.project.exprs[i]->kind, PE_CONST);
    ASSERT_EQ_INT(p->u.project.exprs[0]->u.c.v.i, 7);
    ASSERT_EQ_INT(p->u.project.exprs[1]->u.c.v.i, 1451602800000000000LL);
    ASSERT_EQ_STR(p->u.project.exprs[2]->u.c.v.s.p, "Ab");
    ASSERT_TRUE(p->u.project.exprs[4]->u.c.v.b);
    ASSERT_TRUE(p->u.project.exprs[5]->u.c.v.b);
    done(&pl);
    expect_plan_error("SELECT 1 + 9223372036854775807", ST_EINVAL, 9, "integer overflow");
}

TEST(binder_errors_with_positions_and_suggestions)
{
    expect_plan_error("SELECT usge FROM cpu", ST_EBIND, 7,
                      "column \"usge\" does not exist; did you mean \"usage\"?");
    expect_plan_error("SELECT usage FROM cpus", ST_EBIND, 18,
                      "table \"cpus\" does not exist; did you mean \"cpu\"?");
    expect_plan_error("SELECT hsot FROM cpu", ST_EBIND, 7, "did you mean \"host\"?");
    expect_plan_error("SELECT mxa(usage) FROM cpu", ST_EBIND, 7, "did you mean \"max\"?");
    expect_plan_error("SELECT usage FROM cpu WHERE usage", ST_ETYPE, 28, "must be boolean");
    expect_plan_error("SELECT usage FROM cpu WHERE note > 5", ST_ETYPE, 33,
                      "cannot compare string with integer");
    expect_plan_error("SELECT usage, count(*) FROM cpu", ST_EBIND, 7,
                      "must appear in the GROUP BY clause");
    expect_plan_error("SELECT * FROM mem WHERE x.used > 1", ST_EBIND, 24,
                      "table \"x\" is not in the FROM clause");
    expect_plan_error("SELECT usage FROM cpu WHERE host ~ '('", ST_EINVAL, 35,
                      "invalid regular expression");
}

TEST(params_bind_as_typed_constants)
{
    struct planned pl;
    sql_arena_init(&pl.a, 1 << 24);
    memset(&pl.ctx, 0, sizeof pl.ctx);
    pl.ctx.arena = &pl.a;
    pl.ctx.db = fake_catalog();
    struct plan_param params[2] = {
        {"h", {.type = PT_STRING, .v.s = {"a'--", 4}}},
        {"t", {.type = PT_STRING, .v.s = {"2016-01-01T00:00:00Z", 20}}},
    };
    pl.ctx.params = params;
    pl.ctx.n_params = 2;
    const char *sql = "SELECT usage FROM cpu WHERE host = $h AND time >= $t";
    struct sql_stmt *st;
    struct st_error err;
    ASSERT_OK_E(sql_parse(sql, strlen(sql), &pl.a, &st, &err), &err);
    ASSERT_OK_E(plan_build(&pl.ctx, st, &pl.p, &err), &err);
    const struct plan_node *scan = find(pl.p->root, PN_SCAN);
    ASSERT_EQ_STR(scan->u.scan.spec.tag_preds[0].values[0], "a'--");
    ASSERT_EQ_INT(scan->u.scan.spec.t_lo, 1451606400000000000LL);
    done(&pl);
}

TEST(delete_binding)
{
    struct planned pl;
    struct st_error err;
    ASSERT_OK_E(try_plan(&pl, "DELETE FROM cpu WHERE host = 'a' AND region IN ('x', 'y') AND "
                              "time >= 10 AND time <= 20",
                         &err),
                &err);
    ASSERT_EQ_INT(pl.p->kind, PLAN_DELETE);
    const struct plan_delete *d = &pl.p->del;
    ASSERT_EQ_STR(d->table, "cpu");
    ASSERT_EQ_INT(d->t_lo, 10);
    ASSERT_EQ_INT(d->t_hi, 21);
    ASSERT_EQ_INT(d->n_tags, 2);
    ASSERT_EQ_STR(d->tags[0].tag, "host");
    ASSERT_FALSE(d->tags[0].in);
    ASSERT_EQ_INT(d->tags[1].n_values, 2);
    ASSERT_TRUE(d->tags[1].in);
    done(&pl);
    expect_plan_error("DELETE FROM cpu WHERE usage = 1", ST_EUNSUPPORTED, 28, "DELETE supports only");
    expect_plan_error("DELETE FROM cpu WHERE NOT host = 'a'", ST_EUNSUPPORTED, 22,
                      "DELETE supports only");
}

/* ---- scalar semantics ----------------------------------------------------------------------- */

static struct plan_value
iv(int64_t x)
{
    struct plan_value v = {.type = PT_INT, .v.i = x};
    return v;
}

TEST(value_arithmetic_and_errors)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 20);
    struct plan_value args[2], out;
    struct st_error err;
    args[0] = iv(INT64_MAX);
    args[1] = iv(1);
    ASSERT_CODE(plan_eval_fn(PF_ADD, args, 2, PT_INT, &a, &out, 3, &err), ST_EINVAL);
    ASSERT_EQ_INT(err.offset, 3);
    args[0] = iv(INT64_MIN);
    args[1] = iv(-1);
    ASSERT_CODE(plan_eval_fn(PF_DIV, args, 2, PT_INT, &a, &out, 0, &err), ST_EINVAL);
    ASSERT_OK(plan_eval_fn(PF_MOD, args, 2, PT_INT, &a, &out, 0, &err));
    ASSERT_EQ_INT(out.v.i, 0);
    args[1] = iv(0);
    ASSERT_CODE(plan_eval_fn(PF_MOD, args, 2, PT_INT, &a, &out, 0, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "division by zero");
    struct plan_value u[2] = {{.type = PT_UINT, .v.u = 1}, {.type = PT_UINT, .v.u = 2}};
    ASSERT_CODE(plan_eval_fn(PF_SUB, u, 2, PT_UINT, &a, &out, 0, &err), ST_EINVAL);
    /* NULL in, NULL out */
    args[0].is_null = true;
    args[1] = iv(1);
    ASSERT_OK(plan_eval_fn(PF_ADD, args, 2, PT_INT, &a, &out, 0, &err));
    ASSERT_TRUE(out.is_null);
    /* mixed signed/unsigned comparison is exact */
    struct plan_value x = iv(-1), y = {.type = PT_UINT, .v.u = UINT64_MAX};
    ASSERT_EQ_INT(plan_value_cmp(&x, &y), -1);
    ASSERT_EQ_INT(plan_value_cmp(&y, &x), 1);
    sql_arena_cleanup(&a);
}

TEST(value_casts)
{
    struct sql_arena a;
    sql_arena_init(&a, 1 << 20);
    struct plan_value out;
    struct st_error err;
    struct plan_value s = {.type = PT_STRING, .v.s = {" -42 ", 5}};
    ASSERT_OK(plan_cast_value(&s, PT_INT, &a, &out, 0, &err));
    ASSERT_EQ_INT(out.v.i, -42);
    ASSERT_CODE(plan_cast_value(&s, PT_UINT, &a, &out, 0, &err), ST_EINVAL);
    struct plan_value big = {.type = PT_STRING, .v.s = {"99999999999999999999", 20}};
    ASSERT_CODE(plan_cast_value(&big, PT_INT, &a, &out, 0, &err), ST_EINVAL);
    struct plan_value nan = {.type = PT_STRING, .v.s = {"nan", 3}};
    ASSERT_CODE(plan_cast_value(&nan, PT_FLOAT, &a, &out, 0, &err), ST_EINVAL);
    struct plan_value f = {.type = PT_FLOAT, .v.f = 1e30};
    ASSERT_CODE(plan_cast_value(&f, PT_INT, &a, &out, 0, &err), ST_EINVAL);
    f.v.f = -0.9;
    ASSERT_OK(plan_cast_value(&f, PT_INT, &a, &out, 0, &err));
    ASSERT_EQ_INT(out.v.i, 0);
    f.v.f = 0.1;
    ASSERT_OK(plan_cast_value(&f, PT_STRING, &a, &out, 0, &err));
    ASSERT_EQ_STR(out.v.s.p, "0.1");
    struct plan_value t = {.type = PT_TIME, .v.i = 1500000000};
    ASSERT_OK(plan_cast_value(&t, PT_STRING, &a, &out, 0, &err));
    ASSERT_EQ_STR(out.v.s.p, "1970-01-01T00:00:01.5Z");
    struct plan_value b = {.type = PT_STRING, .v.s = {"YES", 3}};
    ASSERT_OK(plan_cast_value(&b, PT_BOOL, &a, &out, 0, &err));
    ASSERT_TRUE(out.v.b);
    struct plan_value n = {.type = PT_INT, .is_null = true};
    ASSERT_OK(plan_cast_value(&n, PT_STRING, &a, &out, 0, &err));
    ASSERT_TRUE(out.is_null);
    sql_arena_cleanup(&a);
}

TEST(like_matching)
{
    struct {
        const char *s, *p;
        bool icase, want;
    } c[] = {
        {"hello", "h%", false, true},      {"hello", "%llo", false, true},
        {"hello", "h_llo", false, true},   {"hello", "h_lo", false, false},
        {"hello", "%", false, true},       {"", "%", false, true},
        {"", "_", false, false},           {"a%b", "a\\%b", false, true},
        {"axb", "a\\%b", false, false},    {"HeLLo", "hello", true, true},
        {"héllo", "h_llo", false, true},   {"aaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%b", false, true},
        {"aaaaaaaaaaaaaaaaaaaaaa", "%a%a%a%a%b", false, false},
        {"abc", "abc%%", false, true},     {"abc", "ab", false, false},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (plan_like_match(c[i].s, strlen(c[i].s), c[i].p, strlen(c[i].p), c[i].icase) !=
            c[i].want)
            th_fail(__FILE__, __LINE__, "'%s' LIKE '%s'", c[i].s, c[i].p);
}

TEST(date_bin_and_calendar_truncation)
{
    const int64_t m = 60000000000LL;
    ASSERT_EQ_INT(plan_date_bin(0, m, 0), 0);
    ASSERT_EQ_INT(plan_date_bin(59999999999LL, m, 0), 0);
    ASSERT_EQ_INT(plan_date_bin(60000000000LL, m, 0), m);
    ASSERT_EQ_INT(plan_date_bin(-1, m, 0), -m);
    ASSERT_EQ_INT(plan_date_bin(10 * m + 5, m, 30000000000LL), 9 * m + 30000000000LL);
    ASSERT_EQ_INT(plan_date_bin(INT64_MIN + 5, m, 0), INT64_MIN);
    int64_t exact;
    ASSERT_FALSE(plan_date_bin_exact(INT64_MIN + 5, m, 0, &exact));
    ASSERT_TRUE(plan_date_bin_exact(INT64_MAX, m, 0, &exact));
    ASSERT_EQ_INT(exact, INT64_MAX - INT64_MAX % m);
    int64_t out;
    ASSERT_TRUE(plan_date_trunc_calendar("month", 1458045296000000000LL, &out)); /* 2016-03-15 */
    ASSERT_EQ_INT(out, 1456790400000000000LL);                                  /* 2016-03-01 */
    ASSERT_TRUE(plan_date_trunc_calendar("year", -1, &out));
    ASSERT_EQ_INT(out, -31536000000000000LL); /* 1969-01-01 */
    ASSERT_FALSE(plan_date_trunc_calendar("century", 0, &out));
}
