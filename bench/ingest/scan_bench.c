/*
 * scan_bench.c: storage read-path figures on TSBS cpu-only data (bench only,
 * never a test): ingest the standard size through eng_write, persist, then
 * time full-table scans through storage.h (all 10 fields, one field, a time
 * window of one host) and last-value scans, cold (first pass) and warm.
 *
 *   scan_bench --data-dir DIR [--hosts 100] [--hours 24] [--passes 5]
 *
 * Prints one line per measurement: rows/s and decoded GB/s.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/catalog.h"
#include "strata/clock.h"
#include "strata/engine.h"
#include "strata/storage.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
die(const char *what, const struct st_error *err)
{
    fprintf(stderr, "scan_bench: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static void
ingest(struct eng *e, int hosts, int hours)
{
    static const char *regions[] = {"us-east-1", "us-west-1", "eu-west-1", "ap-south-1"};
    int64_t t0 = INT64_C(1451606400000000000);
    int steps = hours * 360;
    int64_t *val = calloc((size_t)hosts * 10, sizeof *val);
    for (int i = 0; i < hosts * 10; i++)
        val[i] = (int64_t)(next_rand() % 100);
    char *lp = malloc(10000 * 400);
    size_t off = 0;
    int lines = 0;
    for (int s = 0; s < steps; s++) {
        for (int h = 0; h < hosts; h++) {
            off += (size_t)sprintf(lp + off,
                                   "cpu,hostname=host_%d,region=%s,datacenter=%s%c,rack=%d,"
                                   "os=Ubuntu16.04LTS,arch=x64,team=SF,service=%d,"
                                   "service_version=%d,service_environment=test ",
                                   h, regions[h % 4], regions[h % 4], 'a' + h % 3, h % 100,
                                   h % 20, h % 2);
            for (int f = 0; f < 10; f++) {
                int64_t *v = &val[h * 10 + f];
                *v += (int64_t)(next_rand() % 5) - 2;
                if (*v < 0)
                    *v = 0;
                if (*v > 100)
                    *v = 100;
                off += (size_t)sprintf(lp + off, "%susage_%d=%" PRId64 "i", f ? "," : "", f, *v);
            }
            off += (size_t)sprintf(lp + off, " %" PRId64 "\n", t0 + (int64_t)s * 10000000000);
            if (++lines == 10000) {
                struct eng_write_opts wo = {.create_db = true};
                struct eng_write_result res;
                struct st_error err;
                if (eng_write(e, "bench", lp, off, &wo, &res, &err) != ST_OK)
                    die("eng_write", &err);
                eng_write_result_cleanup(&res);
                off = 0;
                lines = 0;
            }
        }
    }
    if (off) {
        struct eng_write_opts wo = {.create_db = true};
        struct eng_write_result res;
        struct st_error err;
        if (eng_write(e, "bench", lp, off, &wo, &res, &err) != ST_OK)
            die("eng_write", &err);
        eng_write_result_cleanup(&res);
    }
    free(lp);
    free(val);
}

struct fig {
    uint64_t rows, values;
};

static struct fig
scan(struct eng *e, int n_fields, int64_t lo, int64_t hi, int host, bool last)
{
    struct st_error err;
    struct stor_view *v;
    if (stor_view_open(e, "bench", &v, &err) != ST_OK)
        die("view", &err);
    const struct cat_table *t = cat_db_find_table(stor_view_db(v), "cpu");
    uint32_t ids[10];
    for (int f = 0; f < n_fields; f++) {
        char name[16];
        snprintf(name, sizeof name, "usage_%d", f);
        ids[f] = cat_table_find_column(t, name)->id;
    }
    char hn[32];
    snprintf(hn, sizeof hn, "host_%d", host);
    const char *vals[1] = {hn};
    struct stor_tag_pred p = {.tag_index = cat_table_find_column(t, "hostname")->tag_index,
                              .op = STOR_TAG_EQ, .n_values = 1, .values = vals};
    struct stor_scan_spec sp = {.table_id = t->id, .t_lo = lo, .t_hi = hi, .field_cols = ids,
                                .n_field_cols = (uint32_t)n_fields, .tag_preds = &p,
                                .n_tag_preds = host >= 0,
                                .mode = last ? STOR_SCAN_LAST : STOR_SCAN_ALL};
    struct stor_scan *s;
    if (stor_scan_open(v, &sp, &s, &err) != ST_OK)
        die("scan", &err);
    struct fig f = {0, 0};
    int64_t sink = 0;
    for (;;) {
        const struct stor_batch *b;
        if (stor_scan_next(s, &b, &err) != ST_OK)
            die("next", &err);
        if (!b)
            break;
        f.rows += b->n_rows;
        for (int c = 0; c < n_fields; c++)
            for (uint32_t r = 0; r < b->n_rows; r++)
                sink += b->fields[c].v.i64[r];
        f.values += (uint64_t)b->n_rows * (uint64_t)(n_fields + 1);
    }
    if (sink == 42)
        fputc(' ', stderr);
    stor_scan_close(s);
    stor_view_close(v);
    return f;
}

static void
report(const char *name, struct eng *e, int passes, int n_fields, int64_t lo, int64_t hi, int host,
       bool last)
{
    double best = 1e30, first = 0;
    struct fig f = {0, 0};
    for (int i = 0; i < passes; i++) {
        int64_t a = st_mono_ns();
        f = scan(e, n_fields, lo, hi, host, last);
        double s = (double)(st_mono_ns() - a) / 1e9;
        if (i == 0)
            first = s;
        if (s < best)
            best = s;
    }
    printf("%-34s rows %8" PRIu64 "  first %8.3f ms  best %8.3f ms  %7.1f M rows/s  %5.2f GB/s\n",
           name, f.rows, first * 1e3, best * 1e3, (double)f.rows / best / 1e6,
           (double)f.values * 8 / best / 1e9);
}

int
main(int argc, char **argv)
{
    const char *dir = NULL;
    int hosts = 100, hours = 24, passes = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data-dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--hosts"))
            hosts = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hours"))
            hours = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--passes"))
            passes = atoi(argv[i + 1]);
    }
    if (!dir) {
        fprintf(stderr, "usage: scan_bench --data-dir DIR [--hosts N] [--hours N] [--passes N]\n");
        return 2;
    }
    struct eng_options o = {.data_dir = dir};
    struct st_error err;
    struct eng *e = eng_open(&o, &err);
    if (!e)
        die("eng_open", &err);
    ingest(e, hosts, hours);
    if (eng_persist(e, &err) != ST_OK)
        die("eng_persist", &err);
    int64_t t0 = INT64_C(1451606400000000000), h = INT64_C(3600000000000);
    report("all rows, 10 fields", e, passes, 10, INT64_MIN, INT64_MAX, -1, false);
    report("all rows, 1 field", e, passes, 1, INT64_MIN, INT64_MAX, -1, false);
    report("12 h, all hosts, 10 fields", e, passes, 10, t0, t0 + 12 * h, -1, false);
    report("1 host, 1 h, 1 field", e, passes * 20, 1, t0 + 5 * h, t0 + 6 * h, 7, false);
    report("1 host, 12 h, 5 fields", e, passes * 20, 5, t0 + 5 * h, t0 + 17 * h, 7, false);
    report("last value, all hosts, 10 fields", e, passes, 10, INT64_MIN, INT64_MAX, -1, true);
    eng_close(e);
    return 0;
}
