/*
 * test_exec.c: the executor over a synthetic source (exec_fake.c): answers
 * checked against values computed here from the source's arrays, the
 * run-aware and per-row aggregation paths against each other (one batch
 * size forces long runs, another one-row chunks), top-N against a full
 * sort, lazy CASE, time trimming, early stop of LIMIT, the time window,
 * the last-value restart on NULLs, cancellation mid-scan, the memory and
 * result limits, and the batches handed out (validity, strings, consts).
 */
#include "th.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_fake.h"
#include "strata/clock.h"
#include "strata/exec.h"
#include "strata/plan.h"
#include "strata/sql.h"

struct run {
    struct sql_arena a;
    struct plan_ctx ctx;
    struct exec_query *q;
    char **rows;
    size_t n_rows;
    enum st_code rc;
    struct st_error err;
};

static void
render(const struct st_column *c, uint32_t r, char *buf, size_t n)
{
    if (!st_column_is_valid(c, r)) {
        snprintf(buf, n, "NULL");
        return;
    }
    switch (c->type) {
    case ST_TYPE_INT:
    case ST_TYPE_TIME:
        snprintf(buf, n, "%lld", (long long)c->v.i64[r]);
        break;
    case ST_TYPE_UINT:
        snprintf(buf, n, "%llu", (unsigned long long)c->v.u64[r]);
        break;
    case ST_TYPE_FLOAT:
        snprintf(buf, n, "%.10g", c->v.f64[r]);
        break;
    case ST_TYPE_BOOL:
        snprintf(buf, n, "%s", c->v.b[r] ? "t" : "f");
        break;
    default:
        snprintf(buf, n, "%.*s", (int)(c->v.offsets[r + 1] - c->v.offsets[r]),
                 c->str_data + c->v.offsets[r]);
        break;
    }
}

/* Run sql over the source; rows rendered as "v1|v2|...". */
static void
run_sql(struct run *r, struct exec_source *src, const char *sql, const struct exec_opts *o)
{
    memset(r, 0, sizeof *r);
    sql_arena_init(&r->a, 1 << 26);
    r->ctx.arena = &r->a;
    r->ctx.db = fake_catalog();
    r->ctx.now_ns = 1000000000000LL;
    r->ctx.batch_rows = o && o->batch_rows ? o->batch_rows : 2048;
    struct sql_stmt *st;
    struct plan *p;
    r->rc = sql_parse(sql, strlen(sql), &r->a, &st, &r->err);
    if (r->rc == ST_OK)
        r->rc = plan_build(&r->ctx, st, &p, &r->err);
    if (r->rc == ST_OK)
        r->rc = exec_open(p->root, src, o, &r->q, &r->err);
    size_t cap = 0;
    while (r->rc == ST_OK) {
        const struct st_batch *b;
        r->rc = exec_next(r->q, &b, &r->err);
        if (r->rc != ST_OK || !b)
            break;
        for (uint32_t row = 0; row < b->n_rows; row++) {
            char line[1024] = "", cell[256];
            for (uint32_t c = 0; c < b->n_cols; c++) {
                render(&b->cols[c], row, cell, sizeof cell);
                if (c)
                    strcat(line, "|");
                strncat(line, cell, sizeof line - strlen(line) - 1);
            }
            if (r->n_rows == cap) {
                cap = cap ? cap * 2 : 64;
                r->rows = realloc(r->rows, cap * sizeof *r->rows);
            }
            r->rows[r->n_rows++] = strdup(line);
        }
    }
}

static void
run_free(struct run *r)
{
    exec_close(r->q);
    plan_ctx_cleanup(&r->ctx);
    sql_arena_cleanup(&r->a);
    for (size_t i = 0; i < r->n_rows; i++)
        free(r->rows[i]);
    free(r->rows);
}

static void
run_expect_ok(struct run *r, struct exec_source *src, const char *sql, const struct exec_opts *o)
{
    run_sql(r, src, sql, o);
    if (r->rc != ST_OK)
        th_fail(__FILE__, __LINE__, "\"%s\": %s: %s", sql, st_code_name(r->rc), r->err.msg);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
assert_same_rows(struct run *x, struct run *y, bool sort)
{
    if (sort) {
        qsort(x->rows, x->n_rows, sizeof *x->rows, cmp_str);
        qsort(y->rows, y->n_rows, sizeof *y->rows, cmp_str);
    }
    ASSERT_EQ_INT(x->n_rows, y->n_rows);
    for (size_t i = 0; i < x->n_rows; i++)
        ASSERT_EQ_STR(x->rows[i], y->rows[i]);
}

/* ---- answers against the arrays ------------------------------------------------------------ */

TEST(aggregates_match_the_data)
{
    struct fake_db f;
    fake_db_init(&f, 8, 1000, 42, true);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    run_expect_ok(&r, &src,
                  "SELECT host, count(*), count(usage), sum(usage), min(usage), max(idle), "
                  "avg(usage), sum(cnt), count(DISTINCT usage), last(usage, time), first(note) "
                  "FROM cpu GROUP BY host ORDER BY host",
                  NULL);
    ASSERT_EQ_INT(r.n_rows, 8);
    for (uint32_t i = 0; i < 8; i++) {
        const struct fake_series *se = &f.series[i];
        long long n = 0, sum = 0, mn = INT64_MAX, scnt = 0, last = -1;
        double mx = -INFINITY;
        bool seen[100] = {0};
        long long distinct = 0;
        const char *first = NULL;
        for (uint32_t k = 0; k < se->n_rows; k++) {
            if (!se->usage_null[k]) {
                n++;
                sum += se->usage[k];
                if (se->usage[k] < mn)
                    mn = se->usage[k];
                if (!seen[se->usage[k]]) {
                    seen[se->usage[k]] = true;
                    distinct++;
                }
                last = se->usage[k];
            }
            if (!se->idle_null[k] && se->idle[k] > mx)
                mx = se->idle[k];
            if (!se->cnt_null[k])
                scnt += (long long)se->cnt[k];
            if (!first && !se->note_null[k])
                first = se->note[k];
        }
        char want[512];
        snprintf(want, sizeof want, "%s|%u|%lld|%lld|%lld|%.10g|%.10g|%lld|%lld|%lld|%s",
                 se->tags[0], se->n_rows, n, sum, mn, mx, (double)sum / (double)n, scnt,
                 distinct, last, first);
        ASSERT_EQ_STR(r.rows[i], want);
    }
    run_free(&r);
    fake_db_free(&f);
}

TEST(run_aware_and_row_paths_agree)
{
    struct fake_db f;
    fake_db_init(&f, 6, 3000, 7, true);
    struct exec_source src;
    fake_source(&src, &f);
    const char *queries[] = {
        "SELECT date_bin(INTERVAL '1 minute', time) AS m, host, max(usage), sum(idle), "
        "avg(cnt), stddev(usage), min(note), count(ok), last(idle), first(usage) FROM cpu "
        "GROUP BY 1, 2",
        "SELECT region, ok, count(*), sum(usage), max(note) FROM cpu GROUP BY region, ok",
        "SELECT usage % 5 AS k, count(*), sum(idle), var_pop(idle) FROM cpu GROUP BY k",
    };
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        struct run a, b, c;
        struct exec_opts big = {.batch_rows = 4096}, one = {.batch_rows = 1},
                         seven = {.batch_rows = 7};
        run_expect_ok(&a, &src, queries[q], &big);
        run_expect_ok(&b, &src, queries[q], &one);
        run_expect_ok(&c, &src, queries[q], &seven);
        assert_same_rows(&a, &b, true);
        assert_same_rows(&a, &c, true);
        run_free(&a);
        run_free(&b);
        run_free(&c);
    }
    /* the same grouping over chunks that are not one series (a subquery) */
    struct run a, b;
    run_expect_ok(&a, &src, "SELECT host, sum(usage), max(idle) FROM cpu GROUP BY host", NULL);
    run_expect_ok(&b, &src,
                  "SELECT host, sum(usage), max(idle) FROM (SELECT host, usage, idle FROM cpu "
                  "ORDER BY idle) GROUP BY host",
                  NULL);
    assert_same_rows(&a, &b, true);
    run_free(&a);
    run_free(&b);
    fake_db_free(&f);
}

TEST(time_range_is_trimmed_exactly)
{
    struct fake_db f;
    fake_db_init(&f, 3, 100, 1, false);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    /* series i has rows at r*10s + i ns; [100s, 200s) holds rows 10..19 of series 0 only
     * for the lower bound, and rows 10..19 of every series */
    run_expect_ok(&r, &src,
                  "SELECT count(*), min(time), max(time) FROM cpu WHERE time >= 100000000000 AND "
                  "time < 200000000000",
                  NULL);
    ASSERT_EQ_STR(r.rows[0], "30|100000000000|190000000002");
    run_free(&r);
    run_expect_ok(&r, &src, "SELECT count(*) FROM cpu WHERE time > 100000000000", NULL);
    ASSERT_EQ_STR(r.rows[0], "269"); /* 3 x 90 rows from row 10, minus series 0's row 10 */
    run_free(&r);
    fake_db_free(&f);
}

TEST(topn_matches_full_sort)
{
    struct fake_db f;
    fake_db_init(&f, 5, 4000, 99, true);
    struct exec_source src;
    fake_source(&src, &f);
    struct run a, b;
    run_expect_ok(&a, &src,
                  "SELECT host, time, idle FROM cpu ORDER BY idle DESC NULLS LAST, time LIMIT 37",
                  NULL);
    run_expect_ok(&b, &src,
                  "SELECT host, time, idle FROM (SELECT host, time, idle FROM cpu ORDER BY idle "
                  "DESC NULLS LAST, time) LIMIT 37",
                  NULL);
    ASSERT_EQ_INT(a.n_rows, 37);
    assert_same_rows(&a, &b, false);
    run_free(&a);
    run_free(&b);
    /* ties keep input order (the sort is stable) */
    run_expect_ok(&a, &src, "SELECT host, time FROM cpu WHERE time < 30000000000 ORDER BY "
                            "region NULLS FIRST",
                  NULL);
    ASSERT_EQ_STR(a.rows[0], "c|2");
    ASSERT_EQ_STR(a.rows[1], "c|10000000002");
    run_free(&a);
    fake_db_free(&f);
}

TEST(case_evaluates_branches_lazily)
{
    struct fake_db f;
    fake_db_init(&f, 4, 500, 3, true);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    run_expect_ok(&r, &src,
                  "SELECT count(*) FROM cpu WHERE CASE WHEN usage = 0 THEN false ELSE 100 / "
                  "usage > 1 END",
                  NULL);
    run_free(&r);
    run_sql(&r, &src, "SELECT count(*) FROM cpu WHERE 100 / usage > 1", NULL);
    ASSERT_EQ_INT(r.rc, ST_EINVAL);
    ASSERT_CONTAINS(r.err.msg, "division by zero");
    run_free(&r);
    fake_db_free(&f);
}

/* ---- operators' behaviour --------------------------------------------------------------------- */

TEST(limit_stops_reading)
{
    struct fake_db f;
    fake_db_init(&f, 8, 5000, 5, false);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    struct exec_opts o = {.batch_rows = 100};
    run_expect_ok(&r, &src, "SELECT * FROM cpu LIMIT 150", &o);
    ASSERT_EQ_INT(r.n_rows, 150);
    ASSERT_TRUE(f.batches <= 3);
    run_free(&r);
    fake_db_free(&f);
}

TEST(series_filter_runs_once_per_series)
{
    struct fake_db f;
    fake_db_init(&f, 8, 2000, 5, false);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    struct exec_opts o = {.batch_rows = 100};
    run_expect_ok(&r, &src, "SELECT count(*) FROM cpu WHERE host LIKE '_' AND host ~ '[a-c]'", &o);
    ASSERT_EQ_STR(r.rows[0], "6000");
    ASSERT_EQ_INT(f.filter_calls, 8);
    run_free(&r);
    fake_db_free(&f);
}

TEST(time_window_widens_until_the_limit_is_met)
{
    struct fake_db f;
    fake_db_init(&f, 3, 2000, 9, false);
    struct exec_source src;
    fake_source(&src, &f);
    const char *q =
        "SELECT date_bin(INTERVAL '1 minute', time) AS m, max(usage), count(*) FROM cpu "
        "WHERE host != 'b' AND usage > 90 GROUP BY m ORDER BY m DESC LIMIT 4";
    struct run a, b;
    run_expect_ok(&a, &src, q, NULL);
    unsigned opens = f.opens;
    run_expect_ok(&b, &src,
                  "SELECT m, mx, n FROM (SELECT date_bin(INTERVAL '1 minute', time) AS m, "
                  "max(usage) AS mx, count(*) AS n FROM cpu WHERE host != 'b' AND usage > 90 "
                  "GROUP BY m) ORDER BY m DESC LIMIT 4",
                  NULL);
    ASSERT_EQ_INT(a.n_rows, 4);
    assert_same_rows(&a, &b, false);
    /* the filter keeps ~9% of the rows, so the first window (4 buckets) is short */
    ASSERT_TRUE(opens >= 2);
    run_free(&a);
    run_free(&b);
    /* ascending */
    run_expect_ok(&a, &src,
                  "SELECT date_bin(INTERVAL '1 minute', time) AS m, count(*) FROM cpu GROUP BY m "
                  "ORDER BY m LIMIT 3",
                  NULL);
    ASSERT_EQ_INT(a.n_rows, 3);
    ASSERT_EQ_STR(a.rows[0], "0|18");
    run_free(&a);
    fake_db_free(&f);
}

TEST(lastpoint_starts_over_on_null)
{
    struct fake_db f;
    fake_db_init(&f, 8, 300, 11, true);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    run_expect_ok(&r, &src,
                  "SELECT host, region, max(time), last(usage, time) FROM cpu GROUP BY host, "
                  "region ORDER BY host",
                  NULL);
    /* some series end with a NULL usage: the full scan must have run */
    ASSERT_EQ_INT(f.last_opens, 1);
    ASSERT_EQ_INT(f.opens, 2);
    for (uint32_t i = 0; i < 8; i++) {
        const struct fake_series *se = &f.series[i];
        long long last = -1;
        for (uint32_t k = 0; k < se->n_rows; k++)
            if (!se->usage_null[k])
                last = se->usage[k];
        char want[128];
        snprintf(want, sizeof want, "%s|%s|%lld|%lld", se->tags[0],
                 se->tags[1] ? se->tags[1] : "NULL", (long long)se->time[se->n_rows - 1], last);
        ASSERT_EQ_STR(r.rows[i], want);
    }
    run_free(&r);
    fake_db_free(&f);
    /* without NULLs one LAST scan answers */
    fake_db_init(&f, 8, 300, 11, false);
    fake_source(&src, &f);
    run_expect_ok(&r, &src, "SELECT host, last(usage, time) FROM cpu GROUP BY host", NULL);
    ASSERT_EQ_INT(f.opens, 1);
    ASSERT_EQ_INT(f.last_opens, 1);
    ASSERT_EQ_INT(r.n_rows, 8);
    run_free(&r);
    fake_db_free(&f);
}

TEST(cancel_and_deadline_stop_a_running_query)
{
    struct fake_db f;
    fake_db_init(&f, 8, 5000, 5, false);
    struct exec_source src;
    fake_source(&src, &f);
    atomic_int cancel = 0;
    f.cancel_after_batches = 3;
    f.cancel_flag = &cancel;
    struct exec_opts o = {.cancel = &cancel, .batch_rows = 100};
    struct run r;
    run_sql(&r, &src, "SELECT host, count(*) FROM cpu GROUP BY host", &o);
    ASSERT_EQ_INT(r.rc, ST_ECANCELLED);
    ASSERT_TRUE(f.batches < 10);
    run_free(&r);
    struct exec_opts d = {.deadline_mono_ns = st_mono_ns() - 1};
    run_sql(&r, &src, "SELECT 1", &d);
    ASSERT_EQ_INT(r.rc, ST_ETIMEOUT);
    run_free(&r);
    fake_db_free(&f);
}

TEST(memory_and_result_limits)
{
    struct fake_db f;
    fake_db_init(&f, 8, 5000, 5, false);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    struct exec_opts small_mem = {.mem_limit_bytes = 64 * 1024};
    run_sql(&r, &src, "SELECT time, host, count(*) FROM cpu GROUP BY time, host", &small_mem);
    ASSERT_EQ_INT(r.rc, ST_ELIMIT);
    ASSERT_CONTAINS(r.err.msg, "working memory");
    run_free(&r);
    run_sql(&r, &src, "SELECT * FROM cpu ORDER BY idle", &small_mem);
    ASSERT_EQ_INT(r.rc, ST_ELIMIT);
    run_free(&r);
    struct exec_opts small_out = {.max_result_bytes = 10000};
    run_sql(&r, &src, "SELECT * FROM cpu", &small_out);
    ASSERT_EQ_INT(r.rc, ST_ELIMIT);
    ASSERT_CONTAINS(r.err.msg, "max_result_bytes");
    run_free(&r);
    fake_db_free(&f);
}

TEST(output_batches_are_well_formed)
{
    struct fake_db f;
    fake_db_init(&f, 3, 50, 5, true);
    struct exec_source src;
    fake_source(&src, &f);
    struct sql_arena a;
    sql_arena_init(&a, 1 << 24);
    struct plan_ctx ctx = {.arena = &a, .db = fake_catalog()};
    const char *sql = "SELECT host, region, note, usage, ok, 'k' AS k, NULL AS n FROM cpu";
    struct sql_stmt *st;
    struct plan *p;
    struct st_error err;
    ASSERT_OK_E(sql_parse(sql, strlen(sql), &a, &st, &err), &err);
    ASSERT_OK_E(plan_build(&ctx, st, &p, &err), &err);
    struct exec_query *q;
    struct exec_opts o = {.batch_rows = 16};
    ASSERT_OK_E(exec_open(p->root, &src, &o, &q, &err), &err);
    const struct st_batch *b;
    uint32_t total = 0;
    while (exec_next(q, &b, &err) == ST_OK && b) {
        ASSERT_TRUE(b->n_rows <= 16);
        ASSERT_EQ_INT(b->n_cols, 7);
        for (uint32_t c = 0; c < b->n_cols; c++) {
            const struct st_column *col = &b->cols[c];
            int64_t nulls = 0;
            for (uint32_t r = 0; r < b->n_rows; r++)
                nulls += !st_column_is_valid(col, r);
            ASSERT_EQ_INT(nulls, col->null_count);
            if (col->type == ST_TYPE_STRING) {
                ASSERT_EQ_INT(col->v.offsets[0], 0);
                for (uint32_t r = 0; r < b->n_rows; r++)
                    ASSERT_TRUE(col->v.offsets[r + 1] >= col->v.offsets[r]);
            }
        }
        /* the constant column is expanded, the NULL column all invalid */
        for (uint32_t r = 0; r < b->n_rows; r++) {
            ASSERT_EQ_INT(b->cols[5].v.offsets[r + 1] - b->cols[5].v.offsets[r], 1);
            ASSERT_FALSE(st_column_is_valid(&b->cols[6], r));
        }
        total += b->n_rows;
    }
    ASSERT_EQ_INT(total, 150);
    struct exec_stats stats;
    exec_get_stats(q, &stats);
    ASSERT_EQ_INT(stats.rows_out, 150);
    ASSERT_EQ_INT(stats.rows_scanned, 150);
    ASSERT_TRUE(stats.bytes_out > 150 * 8);
    exec_close(q);
    plan_ctx_cleanup(&ctx);
    sql_arena_cleanup(&a);
    fake_db_free(&f);
}

TEST(expression_kernels_agree_with_scalar_semantics)
{
    struct fake_db f;
    fake_db_init(&f, 2, 400, 77, true);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    run_expect_ok(&r, &src,
                  "SELECT usage > 50, usage + 3, usage * usage - 7, idle * 2.0, idle - usage, "
                  "usage = cnt, note = 'x', note < 'h', date_bin(INTERVAL '1 minute', time, 5), "
                  "CAST(usage AS DOUBLE), usage IN (1, 2, 3, 50), note LIKE 'h%', ok OR usage > 90 "
                  "FROM cpu",
                  NULL);
    uint32_t k = 0;
    for (uint32_t s = 0; s < f.n_series; s++) {
        const struct fake_series *se = &f.series[s];
        for (uint32_t i = 0; i < se->n_rows; i++, k++) {
            char want[1024], t[64];
            bool un = se->usage_null[i], in = se->idle_null[i], cn = se->cnt_null[i],
                 nn = se->note_null[i], on = se->ok_null[i];
            long long u = se->usage[i];
            double id = se->idle[i];
            want[0] = '\0';
#define ADD(cond, ...)                                                                             \
    do {                                                                                           \
        if (cond)                                                                                  \
            snprintf(t, sizeof t, "NULL");                                                         \
        else                                                                                       \
            snprintf(t, sizeof t, __VA_ARGS__);                                                    \
        if (want[0])                                                                               \
            strcat(want, "|");                                                                     \
        strcat(want, t);                                                                           \
    } while (0)
            ADD(un, "%s", u > 50 ? "t" : "f");
            ADD(un, "%lld", u + 3);
            ADD(un, "%lld", u * u - 7);
            ADD(in, "%.10g", id * 2.0);
            ADD(in || un, "%.10g", id - (double)u);
            ADD(un || cn, "%s", (uint64_t)u == se->cnt[i] ? "t" : "f");
            ADD(nn, "%s", strcmp(se->note[i], "x") == 0 ? "t" : "f");
            ADD(nn, "%s", strcmp(se->note[i], "h") < 0 ? "t" : "f");
            ADD(false, "%lld", (long long)plan_date_bin(se->time[i], 60000000000LL, 5));
            ADD(un, "%.10g", (double)u);
            ADD(un, "%s", (u == 1 || u == 2 || u == 3 || u == 50) ? "t" : "f");
            ADD(nn, "%s", se->note[i][0] == 'h' ? "t" : "f");
            bool okv = !on && se->ok[i], big = !un && u > 90;
            ADD(!okv && !big && (on || un), "%s", okv || big ? "t" : "f");
#undef ADD
            ASSERT_EQ_STR(r.rows[k], want);
        }
    }
    run_free(&r);
    fake_db_free(&f);
}

TEST(distinct_keeps_the_first_row)
{
    struct fake_db f;
    fake_db_init(&f, 6, 100, 5, false);
    struct exec_source src;
    fake_source(&src, &f);
    struct run r;
    run_expect_ok(&r, &src, "SELECT DISTINCT region FROM cpu", NULL);
    ASSERT_EQ_INT(r.n_rows, 3);
    ASSERT_EQ_STR(r.rows[0], "us");
    ASSERT_EQ_STR(r.rows[1], "eu");
    ASSERT_EQ_STR(r.rows[2], "NULL");
    run_free(&r);
    run_expect_ok(&r, &src,
                  "SELECT DISTINCT ON (region) region, host FROM cpu ORDER BY region, host DESC",
                  NULL);
    ASSERT_EQ_INT(r.n_rows, 3);
    ASSERT_EQ_STR(r.rows[0], "eu|e");
    ASSERT_EQ_STR(r.rows[1], "us|d");
    ASSERT_EQ_STR(r.rows[2], "NULL|f");
    run_free(&r);
    fake_db_free(&f);
}

/* ---- through the real engine ------------------------------------------------------------------- */

#include <pthread.h>

#include "strata/engine.h"

struct qthread {
    struct eng *e;
    int errors;
    long long last_count;
    int regressions;
    atomic_int *stop;
};

static void *
query_loop(void *arg)
{
    struct qthread *t = arg;
    const char *sqls[] = {"SELECT count(*) FROM cpu",
                          "SELECT host, max(v), last(v, time) FROM cpu GROUP BY host",
                          "SELECT date_bin(INTERVAL '1 minute', time) AS m, avg(v) FROM cpu GROUP "
                          "BY m ORDER BY m DESC LIMIT 3"};
    for (int iter = 0; !atomic_load(t->stop); iter++) {
        const char *sql = sqls[iter % 3];
        struct eng_cursor *c;
        struct st_error err;
        if (eng_query(t->e, "db", sql, strlen(sql), NULL, &c, &err) != ST_OK) {
            t->errors++;
            continue;
        }
        const struct st_batch *b;
        enum st_code rc;
        while ((rc = eng_cursor_next(c, &b, &err)) == ST_OK && b)
            if (iter % 3 == 0) {
                long long n = b->cols[0].v.i64[0];
                if (n < t->last_count)
                    t->regressions++;
                t->last_count = n;
            }
        if (rc != ST_OK)
            t->errors++;
        eng_cursor_free(c);
    }
    return NULL;
}

TEST(concurrent_queries_while_writing_and_persisting)
{
    struct eng_options o = {.data_dir = th_path("data")};
    struct st_error err;
    struct eng *e = eng_open(&o, &err);
    ASSERT_TRUE(e != NULL);
    struct eng_write_opts wo = {.create_db = true, .no_sync = true};
    struct eng_write_result wr = {0};
    const char *first = "cpu,host=a v=0i 0\n";
    ASSERT_OK_E(eng_write(e, "db", first, strlen(first), &wo, &wr, &err), &err);
    eng_write_result_cleanup(&wr);
    atomic_int stop = 0;
    struct qthread t[2] = {{.e = e, .stop = &stop}, {.e = e, .stop = &stop}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ASSERT_EQ_INT(pthread_create(&th[i], NULL, query_loop, &t[i]), 0);
    char lp[64 * 100];
    for (int round = 1; round <= 40; round++) {
        size_t n = 0;
        for (int k = 0; k < 100; k++)
            n += (size_t)snprintf(lp + n, sizeof lp - n, "cpu,host=%c v=%di %lld\n", 'a' + k % 4,
                                  round * 100 + k, (long long)(round * 100 + k) * 1000000000LL);
        ASSERT_OK_E(eng_write(e, "db", lp, n, &wo, &wr, &err), &err);
        eng_write_result_cleanup(&wr);
        if (round % 10 == 0)
            ASSERT_OK_E(eng_persist(e, &err), &err);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ_INT(t[i].errors, 0);
        ASSERT_EQ_INT(t[i].regressions, 0);
    }
    struct eng_cursor *c;
    const char *q = "SELECT count(*) FROM cpu";
    ASSERT_OK_E(eng_query(e, "db", q, strlen(q), NULL, &c, &err), &err);
    const struct st_batch *b;
    ASSERT_OK_E(eng_cursor_next(c, &b, &err), &err);
    ASSERT_EQ_INT(b->cols[0].v.i64[0], 4001);
    eng_cursor_free(c);
    eng_close(e);
}
