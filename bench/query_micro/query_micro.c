/*
 * query_micro.c: the SQL engine's own throughput, without storage. TSBS
 * cpu-only shaped data (100 hosts x 1 day at 10 s, ten int64 fields, held
 * in memory as ready batches of 2048 rows) is served by an in-memory
 * source, and each query runs through the real parser, planner and
 * executor (sql/plan/exec). The figures bound what the engine adds on top
 * of storage's decode: rows/s through filter, run-aware aggregation,
 * sorting and output.
 *
 *   query_micro [--hosts N] [--hours H] [--passes N] [--only NAME]
 *
 * Prints, per query: p50 and min wall time over the passes, and rows/s
 * scanned at the p50.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"
#include "strata/exec.h"
#include "strata/plan.h"
#include "strata/sql.h"

#define N_FIELDS 10
#define BATCH 2048

static const char *const field_names[N_FIELDS] = {
    "usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
    "usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"};

struct series {
    char host[16];
    const char *tags[2];
    uint32_t n;
    int64_t *time;
    int64_t *f[N_FIELDS];
};

static struct cat_column cols[2 + N_FIELDS];
static struct cat_table table = {"cpu", 1, 2 + N_FIELDS, cols, 1};
static const struct cat_table *tables[] = {&table};
static struct cat_db db = {"bench", 1, 1, tables};
static struct series *ser;
static uint32_t n_ser;

struct scan {
    struct stor_scan_spec spec;
    uint32_t si, row;
    bool cur_ok;
    struct stor_series pub;
    struct stor_batch b;
    struct st_column c[N_FIELDS];
};

static enum st_code
m_open(void *ctx, const struct stor_scan_spec *spec, void **out, struct st_error *err)
{
    (void)ctx;
    struct scan *s = calloc(1, sizeof *s);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "oom");
    s->spec = *spec;
    s->si = UINT32_MAX;
    *out = s;
    return ST_OK;
}

static bool
selected(struct scan *s, uint32_t i)
{
    for (uint32_t k = 0; k < s->spec.n_tag_preds; k++) {
        const struct stor_tag_pred *p = &s->spec.tag_preds[k];
        bool in = false;
        for (uint32_t v = 0; v < p->n_values; v++)
            in |= strcmp(p->values[v], ser[i].host) == 0;
        if (in != (p->op == STOR_TAG_EQ || p->op == STOR_TAG_IN))
            return false;
    }
    if (s->spec.series_filter) {
        struct stor_series pub = {i, 1, ser[i].tags};
        return s->spec.series_filter(s->spec.series_ctx, &pub);
    }
    return true;
}

/* first row >= t in series i */
static uint32_t
lb(const struct series *se, int64_t t)
{
    uint32_t lo = 0, hi = se->n;
    while (lo < hi) {
        uint32_t m = (lo + hi) / 2;
        if (se->time[m] < t)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

static enum st_code
m_next(void *scan, const struct stor_batch **out, struct st_error *err)
{
    struct scan *s = scan;
    (void)err;
    *out = NULL;
    for (;;) {
        if (s->si == UINT32_MAX || s->row == UINT32_MAX) {
            s->si = s->si == UINT32_MAX ? 0 : s->si + 1;
            if (s->si >= n_ser)
                return ST_OK;
            s->cur_ok = selected(s, s->si);
            s->row = s->cur_ok ? lb(&ser[s->si], s->spec.t_lo) : UINT32_MAX;
            continue;
        }
        const struct series *se = &ser[s->si];
        uint32_t end = lb(se, s->spec.t_hi);
        if (s->spec.mode == STOR_SCAN_LAST) {
            if (end == 0 || end <= s->row) {
                s->row = UINT32_MAX;
                continue;
            }
            s->row = end - 1;
        }
        if (s->row >= end) {
            s->row = UINT32_MAX;
            continue;
        }
        uint32_t n = end - s->row < BATCH ? end - s->row : BATCH;
        s->pub.id = s->si;
        s->pub.n_tags = 1;
        s->pub.tags = se->tags;
        for (uint32_t c = 0; c < s->spec.n_field_cols; c++) {
            memset(&s->c[c], 0, sizeof s->c[c]);
            s->c[c].type = ST_TYPE_INT;
            s->c[c].v.i64 = se->f[s->spec.field_cols[c] - 2] + s->row;
        }
        s->b.series = &s->pub;
        s->b.n_rows = n;
        s->b.time = se->time + s->row;
        s->b.fields = s->c;
        s->row += n;
        if (s->spec.mode == STOR_SCAN_LAST)
            s->row = UINT32_MAX;
        *out = &s->b;
        return ST_OK;
    }
}

static void
m_close(void *scan)
{
    free(scan);
}

static enum st_code
m_estimate(void *ctx, const struct stor_scan_spec *spec, struct stor_scan_estimate *out,
           struct st_error *err)
{
    (void)ctx;
    (void)err;
    memset(out, 0, sizeof *out);
    out->t_min = INT64_MAX;
    out->t_max = INT64_MIN;
    for (uint32_t i = 0; i < n_ser; i++) {
        uint32_t a = lb(&ser[i], spec->t_lo), z = lb(&ser[i], spec->t_hi);
        if (a < z) {
            if (ser[i].time[a] < out->t_min)
                out->t_min = ser[i].time[a];
            if (ser[i].time[z - 1] > out->t_max)
                out->t_max = ser[i].time[z - 1];
        }
    }
    return ST_OK;
}

static void
make_data(uint32_t hosts, uint32_t hours)
{
    cols[0] = (struct cat_column){"time", 0, CAT_COL_TIME, ST_TYPE_TIME, 0};
    cols[1] = (struct cat_column){"hostname", 1, CAT_COL_TAG, ST_TYPE_STRING, 0};
    for (uint32_t f = 0; f < N_FIELDS; f++)
        cols[2 + f] = (struct cat_column){field_names[f], 2 + f, CAT_COL_FIELD, ST_TYPE_INT, 0};
    n_ser = hosts;
    ser = calloc(hosts, sizeof *ser);
    uint32_t n = hours * 360;
    uint64_t rnd = 123;
    for (uint32_t i = 0; i < hosts; i++) {
        struct series *se = &ser[i];
        snprintf(se->host, sizeof se->host, "host_%u", i);
        se->tags[0] = se->host;
        se->n = n;
        se->time = malloc(n * 8);
        for (uint32_t r = 0; r < n; r++)
            se->time[r] = 1451606400000000000LL + (int64_t)r * 10000000000LL;
        for (uint32_t f = 0; f < N_FIELDS; f++) {
            se->f[f] = malloc(n * 8);
            int64_t v = 50;
            for (uint32_t r = 0; r < n; r++) {
                rnd ^= rnd << 13;
                rnd ^= rnd >> 7;
                rnd ^= rnd << 17;
                v += (int64_t)(rnd % 5) - 2;
                v = v < 0 ? 0 : v > 100 ? 100 : v;
                se->f[f][r] = v;
            }
        }
    }
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t
run_once(const char *sql, uint64_t *rows_scanned, uint64_t *rows_out)
{
    struct exec_source src = {NULL, m_open, m_next, m_close, m_estimate};
    struct sql_arena a;
    sql_arena_init(&a, 1 << 26);
    struct plan_ctx ctx = {.arena = &a, .db = &db, .now_ns = st_now_ns(), .batch_rows = BATCH};
    struct st_error err;
    int64_t t0 = st_mono_ns();
    struct sql_stmt *st;
    struct plan *p;
    struct exec_query *q;
    if (sql_parse(sql, strlen(sql), &a, &st, &err) != ST_OK ||
        plan_build(&ctx, st, &p, &err) != ST_OK ||
        exec_open(p->root, &src, &(struct exec_opts){.batch_rows = BATCH}, &q, &err) != ST_OK) {
        fprintf(stderr, "query_micro: %s: %s\n", sql, err.msg);
        exit(1);
    }
    const struct st_batch *b;
    enum st_code rc;
    while ((rc = exec_next(q, &b, &err)) == ST_OK && b)
        ;
    if (rc != ST_OK) {
        fprintf(stderr, "query_micro: %s: %s\n", sql, err.msg);
        exit(1);
    }
    int64_t t = st_mono_ns() - t0;
    struct exec_stats es;
    exec_get_stats(q, &es);
    *rows_scanned = es.rows_scanned;
    *rows_out = es.rows_out;
    exec_close(q);
    plan_ctx_cleanup(&ctx);
    sql_arena_cleanup(&a);
    return t;
}

int
main(int argc, char **argv)
{
    uint32_t hosts = 100, hours = 24, passes = 15;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hosts") && i + 1 < argc)
            hosts = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--hours") && i + 1 < argc)
            hours = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc)
            passes = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: query_micro [--hosts N] [--hours H] [--passes N] [--only NAME]\n");
            return 2;
        }
    }
    if (hosts < 1 || hosts > 100000 || hours < 1 || hours > 24 * 31 || passes < 1 || passes > 1000) {
        fprintf(stderr, "query_micro: out of range\n");
        return 2;
    }
    make_data(hosts, hours);
    static const struct {
        const char *name, *sql;
    } qs[] = {
        {"count", "SELECT count(*) FROM cpu"},
        {"max-1-minute-buckets",
         "SELECT date_bin(INTERVAL '1 minute', time, TIMESTAMP '2016-01-01T00:00:00Z') AS m, "
         "max(usage_user) FROM cpu GROUP BY m"},
        {"double-groupby-all",
         "SELECT date_bin(INTERVAL '1 hour', time, TIMESTAMP '2016-01-01T00:00:00Z') AS hour, "
         "hostname, avg(usage_user), avg(usage_system), avg(usage_idle), avg(usage_nice), "
         "avg(usage_iowait), avg(usage_irq), avg(usage_softirq), avg(usage_steal), "
         "avg(usage_guest), avg(usage_guest_nice) FROM cpu GROUP BY hour, hostname ORDER BY "
         "hour, hostname"},
        {"double-groupby-1",
         "SELECT date_bin(INTERVAL '1 hour', time) AS hour, hostname, avg(usage_user) FROM cpu "
         "GROUP BY hour, hostname ORDER BY hour, hostname"},
        {"filter-high-cpu", "SELECT * FROM cpu WHERE usage_user > 90"},
        {"hash-group-by-value", "SELECT usage_user, count(*) FROM cpu GROUP BY usage_user"},
        {"sort-topn", "SELECT hostname, time, usage_user FROM cpu ORDER BY usage_user DESC, time "
                      "LIMIT 10"},
        {"lastpoint", "SELECT hostname, max(time), last(usage_user, time) FROM cpu GROUP BY "
                      "hostname ORDER BY hostname"},
    };
    printf("data: %u hosts x %u h at 10 s = %llu rows, %d int64 fields, batches of %d rows\n",
           hosts, hours, (unsigned long long)hosts * hours * 360, N_FIELDS, BATCH);
    printf("%-22s %10s %10s %14s %10s\n", "query", "p50 ms", "min ms", "rows/s (p50)", "rows out");
    int64_t *t = malloc(passes * sizeof *t);
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        if (only && strcmp(only, qs[k].name))
            continue;
        uint64_t scanned = 0, out = 0;
        run_once(qs[k].sql, &scanned, &out); /* warm-up */
        for (uint32_t p = 0; p < passes; p++)
            t[p] = run_once(qs[k].sql, &scanned, &out);
        qsort(t, passes, sizeof *t, cmp_i64);
        double p50 = (double)t[passes / 2] / 1e6, mn = (double)t[0] / 1e6;
        printf("%-22s %10.3f %10.3f %14.3g %10llu\n", qs[k].name, p50, mn,
               (double)scanned / (p50 / 1e3), (unsigned long long)out);
    }
    free(t);
    return 0;
}
