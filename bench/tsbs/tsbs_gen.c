/*
 * tsbs_gen.c: command-line front end of the TSBS cpu-only generator
 * (strata/tsbs.h). Writes the data set as line protocol or CSV, or the query
 * instances in one SQL dialect, to stdout or a file.
 *
 *   tsbs_gen --size standard --format lp --out cpu.lp
 *   tsbs_gen --scale 100 --start 2016-01-01T00:00:00Z --span 1d --interval 10s --seed 123
 *   tsbs_gen --size standard --queries ours --per-type 20 > queries_ours.tsv
 *
 * Query output is one instance per line: "<type>\t<index>\t<sql>\n".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/clock.h"
#include "strata/tsbs.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: tsbs_gen [options]\n"
            "  --size NAME        smoke | standard | large (default standard); the options\n"
            "                     below override parts of it\n"
            "  --seed N           PRNG seed (default 123)\n"
            "  --scale N          hosts (smoke 10, standard 100, large 4000)\n"
            "  --start TIME       RFC 3339 start (default 2016-01-01T00:00:00Z)\n"
            "  --end TIME         RFC 3339 end, exclusive\n"
            "  --span DUR         end = start + DUR (e.g. 2h, 1d)\n"
            "  --interval DUR     time between rows of a host (default 10s)\n"
            "  --format F         lp | csv-iso | csv-ns (default lp)\n"
            "  --queries DIALECT  write query instances instead of data: ours | duckdb |\n"
            "                     duckdb-tsbs (lastpoint as DISTINCT ON)\n"
            "  --per-type N       query instances per type (default 20)\n"
            "  --type NAME        only this query type (repeatable)\n"
            "  --out FILE         write to FILE instead of stdout\n"
            "  --count            print rows and bytes to stderr at the end\n"
            "  --help\n");
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
write_all(FILE *f, const void *p, size_t n)
{
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int
gen_data(const struct tsbs_config *cfg, enum tsbs_format fmt, FILE *out, bool count)
{
    struct st_error err;
    struct tsbs_gen *g = tsbs_gen_new(cfg, &err);
    if (!g) {
        fprintf(stderr, "tsbs_gen: %s\n", err.msg);
        return 1;
    }
    size_t cap = 4u << 20;
    char *buf = malloc(cap);
    if (!buf) {
        tsbs_gen_free(g);
        fprintf(stderr, "tsbs_gen: out of memory\n");
        return 1;
    }
    const char *hdr = tsbs_format_header(fmt);
    uint64_t bytes = strlen(hdr), rows = 0;
    int rc = write_all(out, hdr, bytes);
    size_t len, n;
    while (rc == 0 && (n = tsbs_gen_fill(g, fmt, buf, cap, SIZE_MAX, &len)) > 0) {
        rc = write_all(out, buf, len);
        bytes += len;
        rows += n;
    }
    if (rc == 0 && fflush(out) != 0)
        rc = -1;
    free(buf);
    tsbs_gen_free(g);
    if (rc) {
        fprintf(stderr, "tsbs_gen: write failed: %s\n", strerror(errno));
        return 1;
    }
    if (count)
        fprintf(stderr, "rows %llu bytes %llu bytes/row %.1f\n", (unsigned long long)rows,
                (unsigned long long)bytes, rows ? (double)bytes / (double)rows : 0.0);
    return 0;
}

static int
gen_queries(const struct tsbs_config *cfg, enum tsbs_dialect d, uint32_t per_type,
            const bool *types, FILE *out)
{
    struct st_error err;
    char sql[TSBS_SQL_MAX];
    for (int t = 0; t < TSBS_Q__COUNT; t++) {
        if (!types[t])
            continue;
        for (uint32_t k = 0; k < per_type; k++) {
            struct tsbs_query q;
            if (tsbs_query_make(cfg, cfg->seed, (enum tsbs_qtype)t, k, &q, &err) != ST_OK) {
                fprintf(stderr, "tsbs_gen: %s\n", err.msg);
                return 1;
            }
            size_t n = tsbs_query_sql(&q, d, sql, sizeof sql);
            if (n >= sizeof sql) {
                fprintf(stderr, "tsbs_gen: query text too long\n");
                return 1;
            }
            if (fprintf(out, "%s\t%u\t%s\n", tsbs_qtype_name((enum tsbs_qtype)t), k, sql) < 0) {
                fprintf(stderr, "tsbs_gen: write failed: %s\n", strerror(errno));
                return 1;
            }
        }
    }
    if (fflush(out) != 0) {
        fprintf(stderr, "tsbs_gen: write failed: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    enum { O_SIZE = 1, O_SEED, O_SCALE, O_START, O_END, O_SPAN, O_INTERVAL, O_FORMAT, O_QUERIES,
           O_PER_TYPE, O_TYPE, O_OUT, O_COUNT, O_HELP };
    static const struct option opts[] = {
        {"size", required_argument, 0, O_SIZE},       {"seed", required_argument, 0, O_SEED},
        {"scale", required_argument, 0, O_SCALE},     {"start", required_argument, 0, O_START},
        {"end", required_argument, 0, O_END},         {"span", required_argument, 0, O_SPAN},
        {"interval", required_argument, 0, O_INTERVAL},
        {"format", required_argument, 0, O_FORMAT},   {"queries", required_argument, 0, O_QUERIES},
        {"per-type", required_argument, 0, O_PER_TYPE},
        {"type", required_argument, 0, O_TYPE},       {"out", required_argument, 0, O_OUT},
        {"count", no_argument, 0, O_COUNT},           {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    struct st_error err;
    struct tsbs_config cfg;
    const char *size = "standard";
    /* first pass: the size preset, so the other options override it in any order */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = argv[i + 1];
        else if (!strncmp(argv[i], "--size=", 7))
            size = argv[i] + 7;
    }
    if (tsbs_config_preset(size, &cfg, &err) != ST_OK) {
        fprintf(stderr, "tsbs_gen: %s\n", err.msg);
        return 2;
    }
    int64_t span = cfg.end_ns - cfg.start_ns, end = 0;
    bool have_end = false, count = false;
    int fmt = TSBS_FMT_LP, dialect = -1;
    uint64_t per_type = 20;
    bool types[TSBS_Q__COUNT], any_type = false;
    memset(types, 0, sizeof types);
    const char *out_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case O_SIZE:
            break;
        case O_SEED:
            if (parse_u64(optarg, UINT64_MAX, &v)) {
                fprintf(stderr, "tsbs_gen: --seed: not an unsigned integer: \"%s\"\n", optarg);
                return 2;
            }
            cfg.seed = v;
            break;
        case O_SCALE:
            if (parse_u64(optarg, TSBS_SCALE_MAX, &v) || v == 0) {
                fprintf(stderr, "tsbs_gen: --scale: expected 1..%u: \"%s\"\n", TSBS_SCALE_MAX,
                        optarg);
                return 2;
            }
            cfg.scale = (uint32_t)v;
            break;
        case O_START:
        case O_END: {
            int64_t ns;
            if (st_parse_rfc3339(optarg, strlen(optarg), &ns)) {
                fprintf(stderr, "tsbs_gen: --%s: not an RFC 3339 time: \"%s\"\n",
                        c == O_START ? "start" : "end", optarg);
                return 2;
            }
            if (c == O_START) {
                cfg.start_ns = ns;
            } else {
                end = ns;
                have_end = true;
            }
            break;
        }
        case O_SPAN:
        case O_INTERVAL: {
            int64_t ns;
            if (st_parse_duration(optarg, &ns) || ns <= 0) {
                fprintf(stderr, "tsbs_gen: --%s: not a positive duration: \"%s\"\n",
                        c == O_SPAN ? "span" : "interval", optarg);
                return 2;
            }
            if (c == O_SPAN) {
                span = ns;
                have_end = false;
            } else {
                cfg.interval_ns = ns;
            }
            break;
        }
        case O_FORMAT:
            fmt = tsbs_format_parse(optarg);
            if (fmt < 0) {
                fprintf(stderr, "tsbs_gen: --format: expected lp, csv-iso or csv-ns: \"%s\"\n",
                        optarg);
                return 2;
            }
            break;
        case O_QUERIES:
            dialect = tsbs_dialect_parse(optarg);
            if (dialect < 0) {
                fprintf(stderr,
                        "tsbs_gen: --queries: expected ours, duckdb or duckdb-tsbs: \"%s\"\n",
                        optarg);
                return 2;
            }
            break;
        case O_PER_TYPE:
            if (parse_u64(optarg, 100000, &v) || v == 0) {
                fprintf(stderr, "tsbs_gen: --per-type: expected 1..100000: \"%s\"\n", optarg);
                return 2;
            }
            per_type = v;
            break;
        case O_TYPE: {
            int t = tsbs_qtype_parse(optarg);
            if (t < 0) {
                fprintf(stderr, "tsbs_gen: --type: unknown query type \"%s\"\n", optarg);
                return 2;
            }
            types[t] = any_type = true;
            break;
        }
        case O_OUT:
            out_path = optarg;
            break;
        case O_COUNT:
            count = true;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tsbs_gen: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (have_end)
        cfg.end_ns = end;
    else if (span > INT64_MAX - cfg.start_ns) {
        fprintf(stderr, "tsbs_gen: start + span overflows\n");
        return 2;
    } else
        cfg.end_ns = cfg.start_ns + span;
    if (tsbs_config_check(&cfg, &err) != ST_OK) {
        fprintf(stderr, "tsbs_gen: %s\n", err.msg);
        return 2;
    }
    if (!any_type)
        for (int t = 0; t < TSBS_Q__COUNT; t++)
            types[t] = true;

    FILE *out = stdout;
    if (out_path) {
        out = fopen(out_path, "wb");
        if (!out) {
            fprintf(stderr, "tsbs_gen: cannot create \"%s\": %s\n", out_path, strerror(errno));
            return 1;
        }
    }
    int rc = dialect >= 0
                 ? gen_queries(&cfg, (enum tsbs_dialect)dialect, (uint32_t)per_type, types, out)
                 : gen_data(&cfg, (enum tsbs_format)fmt, out, count);
    if (out_path && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "tsbs_gen: closing \"%s\": %s\n", out_path, strerror(errno));
        rc = 1;
    }
    return rc;
}
