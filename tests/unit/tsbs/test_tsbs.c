/*
 * test_tsbs.c: unit tests of the TSBS cpu-only generator (bench/tsbs,
 * strata/tsbs.h): sizes, validation errors, the byte-exact determinism of
 * the stream (a golden hash pins it across machines and compilers), the
 * agreement of the three formats, the data model's invariants, and the query
 * instances.
 */
#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"
#include "strata/tsbs.h"
#include "th.h"

static uint64_t
fnv1a(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static struct tsbs_config
preset(const char *name)
{
    struct tsbs_config c;
    struct st_error err;
    ASSERT_OK_E(tsbs_config_preset(name, &c, &err), &err);
    return c;
}

TEST(presets_have_the_documented_sizes)
{
    struct tsbs_config sm = preset("smoke");
    ASSERT_EQ_U64(tsbs_config_rows(&sm), 7200);
    struct tsbs_config s = preset("standard");
    ASSERT_EQ_U64(tsbs_config_rows(&s), 864000);
    ASSERT_EQ_INT(s.scale, 100);
    ASSERT_EQ_U64(s.seed, 123);
    ASSERT_EQ_INT(s.start_ns, TSBS_DEFAULT_START_NS);
    ASSERT_EQ_INT(s.interval_ns, 10 * ST_NS_PER_SEC);
    struct tsbs_config l = preset("large");
    ASSERT_EQ_U64(tsbs_config_rows(&l), 34560000);

    struct tsbs_config c;
    struct st_error err;
    ASSERT_CODE(tsbs_config_preset("huge", &c, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "unknown size \"huge\"");
    ASSERT_CODE(tsbs_config_preset(NULL, &c, &err), ST_EINVAL);
}

TEST(config_check_rejects_bad_configurations)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    c.scale = 0;
    ASSERT_CODE(tsbs_config_check(&c, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "scale 0 out of range");
    c.scale = TSBS_SCALE_MAX + 1;
    ASSERT_CODE(tsbs_config_check(&c, &err), ST_EINVAL);
    c = preset("smoke");
    c.interval_ns = 0;
    ASSERT_CODE(tsbs_config_check(&c, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "interval must be positive");
    c = preset("smoke");
    c.end_ns = c.start_ns;
    ASSERT_CODE(tsbs_config_check(&c, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "end must be after start");
    c = preset("smoke");
    c.start_ns = -1;
    ASSERT_CODE(tsbs_config_check(&c, &err), ST_EINVAL);
    c = preset("smoke");
    c.scale = TSBS_SCALE_MAX;
    c.interval_ns = 1;
    c.end_ns = INT64_MAX;
    ASSERT_CODE(tsbs_config_check(&c, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "too many rows");
    ASSERT_TRUE(tsbs_gen_new(&c, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_EINVAL);
}

TEST(a_partial_last_interval_still_counts_a_tick)
{
    struct tsbs_config c = preset("smoke");
    c.end_ns = c.start_ns + 25 * ST_NS_PER_SEC; /* ticks at 0, 10, 20 s */
    ASSERT_EQ_U64(tsbs_config_ticks(&c), 3);
    ASSERT_EQ_U64(tsbs_config_rows(&c), 30);
}

/* The stream is pinned: any change to the PRNG, the model or the formats changes this hash. */
TEST(smoke_line_protocol_is_byte_identical_to_the_golden_stream)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    struct tsbs_gen *g = tsbs_gen_new(&c, &err);
    ASSERT_TRUE(g != NULL);
    size_t cap = 1 << 20, len;
    char *buf = malloc(cap);
    uint64_t h = UINT64_C(0xcbf29ce484222325), bytes = 0, rows = 0, n;
    while ((n = tsbs_gen_fill(g, TSBS_FMT_LP, buf, cap, SIZE_MAX, &len)) > 0) {
        if (rows == 0) {
            const char *first =
                "cpu,hostname=host_0,region=us-east-1,datacenter=us-east-1e,rack=93,"
                "os=Ubuntu15.10,arch=x86,team=SF,service=0,service_version=1,"
                "service_environment=production usage_user=53i,usage_system=12i,usage_idle=4i,"
                "usage_nice=81i,usage_iowait=34i,usage_irq=75i,usage_softirq=68i,usage_steal=36i,"
                "usage_guest=36i,usage_guest_nice=79i 1451606400000000000\n";
            ASSERT_TRUE(len > strlen(first));
            ASSERT_TRUE(memcmp(buf, first, strlen(first)) == 0);
        }
        h = fnv1a(h, buf, len);
        bytes += len;
        rows += n;
    }
    free(buf);
    ASSERT_EQ_U64(rows, 7200);
    ASSERT_EQ_U64(tsbs_gen_rows_done(g), 7200);
    tsbs_gen_free(g);
    ASSERT_EQ_U64(bytes, 2488687);
    ASSERT_EQ_U64(h, UINT64_C(0x0e7b1514e2547b8d));
}

TEST(rows_are_time_major_with_values_in_range)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    struct tsbs_gen *g = tsbs_gen_new(&c, &err);
    struct tsbs_row r;
    uint64_t i = 0;
    int moved = 0;
    int64_t prev[10][TSBS_N_FIELDS];
    while (tsbs_gen_next(g, &r)) {
        ASSERT_EQ_INT(r.host, i % 10);
        ASSERT_EQ_INT(r.time_ns, c.start_ns + (int64_t)(i / 10) * c.interval_ns);
        for (int f = 0; f < TSBS_N_FIELDS; f++) {
            ASSERT_TRUE(r.values[f] >= 0 && r.values[f] <= 100);
            if (i >= 10) {
                int64_t d = r.values[f] - prev[r.host][f];
                ASSERT_TRUE(d >= -7 && d <= 7); /* a step is at most 6 (Irwin-Hall) */
                moved += d != 0;
            }
            prev[r.host][f] = r.values[f];
        }
        i++;
    }
    ASSERT_EQ_U64(i, 7200);
    ASSERT_TRUE(moved > 7200 * 5); /* the walks do move */
    ASSERT_FALSE(tsbs_gen_next(g, &r));
    tsbs_gen_free(g);
}

TEST(a_host_is_the_same_at_every_scale)
{
    struct st_error err;
    struct tsbs_config a = preset("smoke"), b = preset("smoke");
    b.scale = 37;
    struct tsbs_gen *ga = tsbs_gen_new(&a, &err), *gb = tsbs_gen_new(&b, &err);
    char ba[TSBS_ROW_MAX], bb[TSBS_ROW_MAX];
    struct tsbs_row ra, rb;
    int compared = 0;
    while (tsbs_gen_next(ga, &ra)) {
        if (ra.host != 7)
            continue;
        do
            ASSERT_TRUE(tsbs_gen_next(gb, &rb));
        while (rb.host != 7);
        size_t la = tsbs_format_row(ga, TSBS_FMT_LP, &ra, ba);
        size_t lb = tsbs_format_row(gb, TSBS_FMT_LP, &rb, bb);
        ASSERT_EQ_INT(la, lb);
        ASSERT_TRUE(memcmp(ba, bb, la) == 0);
        compared++;
    }
    ASSERT_EQ_INT(compared, 720);
    tsbs_gen_free(ga);
    tsbs_gen_free(gb);
}

/* Rebuild the line protocol from the CSV fields and compare. */
TEST(the_three_formats_carry_the_same_rows)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    struct tsbs_gen *g = tsbs_gen_new(&c, &err);
    ASSERT_TRUE(strncmp(tsbs_format_header(TSBS_FMT_CSV_NS), "time,hostname,region,", 21) == 0);
    ASSERT_EQ_STR(tsbs_format_header(TSBS_FMT_LP), "");
    struct tsbs_row r;
    char lp[TSBS_ROW_MAX + 1], ns[TSBS_ROW_MAX + 1], ns_copy[TSBS_ROW_MAX + 1], iso[TSBS_ROW_MAX + 1], want[1024];
    while (tsbs_gen_next(g, &r)) {
        lp[tsbs_format_row(g, TSBS_FMT_LP, &r, lp)] = '\0';
        ns[tsbs_format_row(g, TSBS_FMT_CSV_NS, &r, ns)] = '\0';
        memcpy(ns_copy, ns, sizeof ns);
        iso[tsbs_format_row(g, TSBS_FMT_CSV_ISO, &r, iso)] = '\0';
        char *fields[21], *save = NULL, *p = ns;
        int n = 0;
        for (char *t = strtok_r(p, ",\n", &save); t && n < 21; t = strtok_r(NULL, ",\n", &save))
            fields[n++] = t;
        ASSERT_EQ_INT(n, 21);
        size_t w = (size_t)snprintf(want, sizeof want, "cpu");
        for (int t = 0; t < TSBS_N_TAGS; t++)
            w += (size_t)snprintf(want + w, sizeof want - w, ",%s=%s", tsbs_tag_names[t],
                                  fields[1 + t]);
        for (int f = 0; f < TSBS_N_FIELDS; f++)
            w += (size_t)snprintf(want + w, sizeof want - w, "%c%s=%si", f ? ',' : ' ',
                                  tsbs_field_names[f], fields[11 + f]);
        snprintf(want + w, sizeof want - w, " %s\n", fields[0]);
        ASSERT_EQ_STR(lp, want);
        /* the ISO time parses back to the same instant */
        char *comma = strchr(iso, ',');
        int64_t t;
        ASSERT_OK(st_parse_rfc3339(iso, (unsigned long)(comma - iso), &t));
        ASSERT_EQ_INT(t, r.time_ns);
        /* the two CSV forms differ only in the time column */
        ASSERT_EQ_STR(strchr(iso, ',') + 1, strchr(ns_copy, ',') + 1);
    }
    tsbs_gen_free(g);
}

TEST(tags_take_only_the_documented_values)
{
    struct st_error err;
    struct tsbs_config c = preset("standard");
    struct tsbs_gen *g = tsbs_gen_new(&c, &err);
    char buf[TSBS_TAG_BUF];
    int regions_seen = 0;
    const char *seen[16] = {0};
    for (uint32_t h = 0; h < c.scale; h++) {
        char want[32];
        snprintf(want, sizeof want, "host_%u", h);
        ASSERT_EQ_STR(tsbs_gen_tag_value(g, h, 0, buf), want);
        const char *region = tsbs_gen_tag_value(g, h, 1, buf);
        const char *dc = tsbs_gen_tag_value(g, h, 2, buf);
        ASSERT_TRUE(strncmp(dc, region, strlen(region)) == 0);
        ASSERT_EQ_INT(strlen(dc), strlen(region) + 1);
        int k;
        for (k = 0; k < regions_seen && strcmp(seen[k], region); k++)
            ;
        if (k == regions_seen)
            seen[regions_seen++] = region;
        int rack = atoi(tsbs_gen_tag_value(g, h, 3, buf));
        ASSERT_TRUE(rack >= 0 && rack <= 99);
        ASSERT_TRUE(strstr("Ubuntu16.10 Ubuntu16.04LTS Ubuntu15.10", tsbs_gen_tag_value(g, h, 4, buf)));
        ASSERT_TRUE(strstr("x64 x86", tsbs_gen_tag_value(g, h, 5, buf)));
        ASSERT_TRUE(strstr("SF NYC LON CHI", tsbs_gen_tag_value(g, h, 6, buf)));
        int svc = atoi(tsbs_gen_tag_value(g, h, 7, buf));
        ASSERT_TRUE(svc >= 0 && svc <= 19);
        ASSERT_TRUE(strstr("0 1", tsbs_gen_tag_value(g, h, 8, buf)));
        ASSERT_TRUE(strstr("production staging test", tsbs_gen_tag_value(g, h, 9, buf)));
    }
    ASSERT_EQ_INT(regions_seen, 9);
    ASSERT_EQ_STR(tsbs_gen_tag_value(g, 0, 10, buf), "");
    tsbs_gen_free(g);
}

TEST(fill_matches_row_by_row_and_respects_capacity)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    struct tsbs_gen *a = tsbs_gen_new(&c, &err), *b = tsbs_gen_new(&c, &err);
    size_t cap = 10000 * TSBS_ROW_MAX, len;
    char *buf = malloc(cap), row[TSBS_ROW_MAX];
    ASSERT_EQ_INT(tsbs_gen_fill(a, TSBS_FMT_CSV_ISO, buf, TSBS_ROW_MAX - 1, 10, &len), 0);
    ASSERT_EQ_INT(len, 0);
    size_t n = tsbs_gen_fill(a, TSBS_FMT_CSV_ISO, buf, cap, 1000, &len);
    ASSERT_EQ_INT(n, 1000);
    size_t off = 0;
    struct tsbs_row r;
    for (size_t i = 0; i < n; i++) {
        ASSERT_TRUE(tsbs_gen_next(b, &r));
        size_t l = tsbs_format_row(b, TSBS_FMT_CSV_ISO, &r, row);
        ASSERT_TRUE(memcmp(buf + off, row, l) == 0);
        off += l;
    }
    ASSERT_EQ_INT(off, len);
    /* a buffer for exactly 3 rows' worth of headroom takes 1 row at a time */
    ASSERT_EQ_INT(tsbs_gen_fill(a, TSBS_FMT_LP, buf, TSBS_ROW_MAX, 10, &len), 1);
    free(buf);
    tsbs_gen_free(a);
    tsbs_gen_free(b);
}

TEST(rows_fit_the_row_maximum_at_the_largest_scale)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    c.scale = TSBS_SCALE_MAX;
    c.end_ns = c.start_ns + c.interval_ns;
    struct tsbs_gen *g = tsbs_gen_new(&c, &err);
    ASSERT_TRUE(g != NULL);
    struct tsbs_row r;
    char buf[TSBS_ROW_MAX];
    size_t longest = 0;
    while (tsbs_gen_next(g, &r)) {
        if (r.host < TSBS_SCALE_MAX - 1000)
            continue;
        for (int f = 0; f < TSBS_N_FIELDS; f++)
            r.values[f] = 100; /* the widest values */
        for (int fmt = TSBS_FMT_LP; fmt <= TSBS_FMT_CSV_NS; fmt++) {
            size_t l = tsbs_format_row(g, (enum tsbs_format)fmt, &r, buf);
            if (l > longest)
                longest = l;
        }
    }
    ASSERT_TRUE(longest < TSBS_ROW_MAX);
    ASSERT_TRUE(longest > 300);
    tsbs_gen_free(g);
}

TEST(names_parse_both_ways)
{
    for (int t = 0; t < TSBS_Q__COUNT; t++)
        ASSERT_EQ_INT(tsbs_qtype_parse(tsbs_qtype_name((enum tsbs_qtype)t)), t);
    ASSERT_EQ_INT(tsbs_qtype_parse("no-such-query"), -1);
    ASSERT_EQ_INT(tsbs_qtype_parse(NULL), -1);
    ASSERT_TRUE(tsbs_qtype_name(TSBS_Q__COUNT) == NULL);
    ASSERT_EQ_INT(tsbs_dialect_parse("ours"), TSBS_DIALECT_OURS);
    ASSERT_EQ_INT(tsbs_dialect_parse("duckdb"), TSBS_DIALECT_DUCKDB);
    ASSERT_EQ_INT(tsbs_dialect_parse("duckdb-tsbs"), TSBS_DIALECT_DUCKDB_TSBS);
    ASSERT_EQ_INT(tsbs_dialect_parse("sqlite"), -1);
    ASSERT_EQ_INT(tsbs_format_parse("lp"), TSBS_FMT_LP);
    ASSERT_EQ_INT(tsbs_format_parse("csv-iso"), TSBS_FMT_CSV_ISO);
    ASSERT_EQ_INT(tsbs_format_parse("csv-ns"), TSBS_FMT_CSV_NS);
    ASSERT_EQ_INT(tsbs_format_parse("csv"), -1);
    ASSERT_EQ_INT(tsbs_format_parse(NULL), -1);
    ASSERT_EQ_INT(TSBS_Q__COUNT, 15);
}

TEST(query_instances_are_deterministic_and_well_formed)
{
    struct st_error err;
    struct tsbs_config c = preset("standard");
    int64_t data_end = c.start_ns + 8640 * c.interval_ns;
    for (int t = 0; t < TSBS_Q__COUNT; t++) {
        for (uint32_t k = 0; k < 50; k++) {
            struct tsbs_query q, q2;
            ASSERT_OK_E(tsbs_query_make(&c, c.seed, (enum tsbs_qtype)t, k, &q, &err), &err);
            ASSERT_OK_E(tsbs_query_make(&c, c.seed, (enum tsbs_qtype)t, k, &q2, &err), &err);
            ASSERT_TRUE(memcmp(&q, &q2, sizeof q) == 0);
            ASSERT_EQ_INT(q.origin_ns, c.start_ns);
            for (uint32_t i = 0; i < q.n_hosts; i++) {
                ASSERT_TRUE(q.hosts[i] < c.scale);
                for (uint32_t j = 0; j < i; j++)
                    ASSERT_TRUE(q.hosts[i] != q.hosts[j]);
            }
            if (t == TSBS_Q_LASTPOINT)
                continue;
            ASSERT_EQ_INT(q.hi_ns % ST_NS_PER_MS, 0);
            ASSERT_TRUE(q.hi_ns <= data_end);
            if (t == TSBS_Q_GROUPBY_ORDERBY_LIMIT) {
                ASSERT_TRUE(q.hi_ns >= c.start_ns + 3600 * ST_NS_PER_SEC);
                continue;
            }
            ASSERT_TRUE(q.lo_ns >= c.start_ns);
            int64_t w = q.hi_ns - q.lo_ns;
            const char *name = tsbs_qtype_name((enum tsbs_qtype)t);
            int64_t hours = strstr(name, "-12") || strstr(name, "double") || strstr(name, "high")
                                ? 12
                            : strstr(name, "cpu-max") ? 8
                                                      : 1;
            ASSERT_EQ_INT(w, hours * 3600 * ST_NS_PER_SEC);
        }
    }
    /* another seed, other instances */
    struct tsbs_query a, b;
    ASSERT_OK(tsbs_query_make(&c, 1, TSBS_Q_HIGH_CPU_1, 0, &a, &err));
    ASSERT_OK(tsbs_query_make(&c, 2, TSBS_Q_HIGH_CPU_1, 0, &b, &err));
    ASSERT_TRUE(a.lo_ns != b.lo_ns || a.hosts[0] != b.hosts[0]);
}

TEST(query_make_errors)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    struct tsbs_query q;
    c.scale = 5;
    ASSERT_CODE(tsbs_query_make(&c, 1, TSBS_Q_CPU_MAX_ALL_8, 0, &q, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "needs 8 hosts, scale is 5");
    ASSERT_CODE(tsbs_query_make(&c, 1, TSBS_Q__COUNT, 0, &q, &err), ST_EINVAL);
    c.interval_ns = 0;
    ASSERT_CODE(tsbs_query_make(&c, 1, TSBS_Q_LASTPOINT, 0, &q, &err), ST_EINVAL);
}

TEST(windows_longer_than_the_data_shrink_to_the_span)
{
    struct st_error err;
    struct tsbs_config c = preset("smoke");
    struct tsbs_query q;
    ASSERT_OK(tsbs_query_make(&c, 9, TSBS_Q_DOUBLE_GROUPBY_ALL, 3, &q, &err));
    ASSERT_EQ_INT(q.lo_ns, c.start_ns);
    ASSERT_EQ_INT(q.hi_ns, c.end_ns);
}

TEST(sql_renders_each_dialect)
{
    struct st_error err;
    struct tsbs_config c = preset("standard");
    char sql[TSBS_SQL_MAX];
    for (int t = 0; t < TSBS_Q__COUNT; t++) {
        struct tsbs_query q;
        ASSERT_OK(tsbs_query_make(&c, 123, (enum tsbs_qtype)t, 0, &q, &err));
        for (int d = TSBS_DIALECT_OURS; d <= TSBS_DIALECT_DUCKDB_TSBS; d++) {
            size_t n = tsbs_query_sql(&q, (enum tsbs_dialect)d, sql, sizeof sql);
            ASSERT_TRUE(n > 20 && n < sizeof sql);
            ASSERT_EQ_INT(strlen(sql), n);
            ASSERT_TRUE(!strchr(sql, '\t') && !strchr(sql, '\n'));
            ASSERT_TRUE(strncmp(sql, "SELECT ", 7) == 0);
            if (d == TSBS_DIALECT_OURS) {
                ASSERT_TRUE(!strstr(sql, "time_bucket") && !strstr(sql, "arg_max"));
            } else {
                ASSERT_TRUE(!strstr(sql, "date_bin") && !strstr(sql, "last("));
            }
        }
        /* a short buffer reports the full length and stays terminated */
        char small[16];
        size_t full = tsbs_query_sql(&q, TSBS_DIALECT_OURS, small, sizeof small);
        ASSERT_TRUE(full >= sizeof small);
        ASSERT_EQ_INT(strlen(small), sizeof small - 1);
    }
    struct tsbs_query q;
    ASSERT_OK(tsbs_query_make(&c, 123, TSBS_Q_SINGLE_GROUPBY_1_1_1, 0, &q, &err));
    q.lo_ns = c.start_ns + 5 * 3600 * ST_NS_PER_SEC + 17 * 60 * ST_NS_PER_SEC +
              23123 * ST_NS_PER_MS;
    q.hi_ns = q.lo_ns + 3600 * ST_NS_PER_SEC;
    q.hosts[0] = 9;
    tsbs_query_sql(&q, TSBS_DIALECT_OURS, sql, sizeof sql);
    ASSERT_EQ_STR(sql, "SELECT date_bin(INTERVAL '1 minute', time, TIMESTAMP "
                       "'2016-01-01T00:00:00Z') AS minute, max(usage_user) AS max_usage_user "
                       "FROM cpu WHERE hostname IN ('host_9') AND time >= "
                       "'2016-01-01T05:17:23.123Z' AND time < '2016-01-01T06:17:23.123Z' "
                       "GROUP BY minute ORDER BY minute");
    tsbs_query_sql(&q, TSBS_DIALECT_DUCKDB, sql, sizeof sql);
    ASSERT_EQ_STR(sql, "SELECT time_bucket(INTERVAL '1 minute', time, TIMESTAMP "
                       "'2016-01-01 00:00:00') AS minute, max(usage_user) AS max_usage_user "
                       "FROM cpu WHERE hostname IN ('host_9') AND time >= "
                       "TIMESTAMP '2016-01-01 05:17:23.123' AND time < "
                       "TIMESTAMP '2016-01-01 06:17:23.123' GROUP BY minute ORDER BY minute");
    ASSERT_OK(tsbs_query_make(&c, 123, TSBS_Q_LASTPOINT, 0, &q, &err));
    tsbs_query_sql(&q, TSBS_DIALECT_DUCKDB_TSBS, sql, sizeof sql);
    ASSERT_CONTAINS(sql, "SELECT DISTINCT ON (hostname) hostname, time, usage_user,");
    tsbs_query_sql(&q, TSBS_DIALECT_OURS, sql, sizeof sql);
    ASSERT_CONTAINS(sql, "last(usage_guest_nice, time) AS usage_guest_nice FROM cpu GROUP BY "
                         "hostname ORDER BY hostname");
    ASSERT_TRUE(tsbs_qtype_ordered(TSBS_Q_LASTPOINT));
    ASSERT_FALSE(tsbs_qtype_ordered(TSBS_Q_HIGH_CPU_ALL));
}
