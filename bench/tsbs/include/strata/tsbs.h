/*
 * tsbs.h: the interface to the TSBS "cpu-only" workload generator used by
 * the benchmarks (and by tests that want realistic data).
 *
 * Data. One measurement, `cpu`; `scale` hosts, one series per host with ten
 * tags fixed for the life of the host (hostname, region, datacenter, rack,
 * os, arch, team, service, service_version, service_environment) and ten
 * integer fields (usage_user ... usage_guest_nice), each a random walk
 * clamped to [0, 100]. One row per host per interval, time-major and
 * host-minor: every host at t0, then every host at t0 + interval, ...
 * Rows = scale * ceil((end - start) / interval).
 *
 * Determinism. The stream depends only on (seed, scale, start, end,
 * interval) and is byte-identical on every machine and compiler: the
 * generator uses its own PRNG (xoshiro256** seeded through splitmix64, one
 * stream per host, so host i is the same at every scale) and only integer
 * arithmetic. The walk works in fixed point (value * 2^32); a step is the
 * Irwin-Hall sum of twelve uniforms minus six, which has mean 0 and variance
 * 1 like TSBS's N(0,1) step. Emitted values are the floor of the walk.
 *
 * Formats (all from the same stream):
 *   line protocol, ns timestamps (what TSBS writes for InfluxDB):
 *     cpu,hostname=host_0,region=...,service_environment=test usage_user=58i,...,usage_guest_nice=38i 1451606400000000000
 *   CSV with an RFC 3339 UTC time column ("2016-01-01T00:00:00Z"), or
 *   CSV with epoch-ns time; both with a header line
 *     time,hostname,region,...,service_environment,usage_user,...,usage_guest_nice
 *
 * Queries. The 15 TSBS cpu-only query types as seeded random instances
 * (window placed uniformly at random with millisecond granularity, random
 * distinct hosts), rendered in our SQL dialect (date_bin, RFC 3339 string
 * literals) or DuckDB's (time_bucket, TIMESTAMP literals). Instance k of a
 * type depends only on (seed, config, type, k), so both dialects describe
 * the same question and must give the same answer. bench/tsbs/queries_ours.md
 * documents each template.
 *
 * Nothing here is thread-safe; use one generator per thread.
 */
#ifndef STRATA_TSBS_H
#define STRATA_TSBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/status.h"

#define TSBS_N_TAGS 10
#define TSBS_N_FIELDS 10
/* Upper bound of one formatted row (any format, '\n' included) at any scale. */
#define TSBS_ROW_MAX 512
/* The largest scale the generator accepts (per-host state is ~130 bytes). */
#define TSBS_SCALE_MAX 1000000u
/* Default TSBS start: 2016-01-01T00:00:00Z. */
#define TSBS_DEFAULT_START_NS INT64_C(1451606400000000000)

/* Column names, in the order of the line protocol and the CSV columns. */
extern const char *const tsbs_tag_names[TSBS_N_TAGS];
extern const char *const tsbs_field_names[TSBS_N_FIELDS];

struct tsbs_config {
    uint64_t seed;
    uint32_t scale;      /* number of hosts, 1 .. TSBS_SCALE_MAX */
    int64_t start_ns;    /* first timestamp */
    int64_t end_ns;      /* exclusive: the last row is the last tick < end_ns */
    int64_t interval_ns; /* > 0 */
};

/*
 * A named size: "smoke" (scale 10 x 2 h = 7,200 rows), "standard" (scale 100
 * x 1 day = 864,000 rows), "large" (scale 4,000 x 1 day = 34,560,000 rows).
 * All use seed 123, start 2016-01-01T00:00:00Z and a 10 s interval.
 * ST_EINVAL for an unknown name.
 */
enum st_code tsbs_config_preset(const char *name, struct tsbs_config *out, struct st_error *err);
/* Validate a configuration (scale range, end > start, interval > 0, no overflow). */
enum st_code tsbs_config_check(const struct tsbs_config *cfg, struct st_error *err);
/* Ticks per host and total rows of a valid configuration. */
uint64_t tsbs_config_ticks(const struct tsbs_config *cfg);
uint64_t tsbs_config_rows(const struct tsbs_config *cfg);

/* ---- data ------------------------------------------------------------- */

struct tsbs_gen;

struct tsbs_row {
    int64_t time_ns;
    uint32_t host;                  /* 0 .. scale-1 */
    int64_t values[TSBS_N_FIELDS];  /* each in [0, 100] */
};

enum tsbs_format {
    TSBS_FMT_LP = 0,  /* line protocol, ns timestamps */
    TSBS_FMT_CSV_ISO, /* CSV, RFC 3339 UTC time */
    TSBS_FMT_CSV_NS,  /* CSV, epoch ns time */
};

/* Parse "lp", "csv-iso", "csv-ns"; -1 when unknown. */
int tsbs_format_parse(const char *name);

/* A generator positioned at the first row. NULL with err set (ST_EINVAL, ST_ENOMEM). */
struct tsbs_gen *tsbs_gen_new(const struct tsbs_config *cfg, struct st_error *err);
void tsbs_gen_free(struct tsbs_gen *g);
/* The next row, or false at the end of the stream. */
bool tsbs_gen_next(struct tsbs_gen *g, struct tsbs_row *out);
/* Rows returned so far. */
uint64_t tsbs_gen_rows_done(const struct tsbs_gen *g);
/*
 * Tag `tag` (index into tsbs_tag_names) of `host`: a static string, or, for
 * the hostname, `buf` (TSBS_TAG_BUF bytes) filled with "host_<i>".
 */
#define TSBS_TAG_BUF 24
const char *tsbs_gen_tag_value(const struct tsbs_gen *g, uint32_t host, unsigned tag, char *buf);

/* The CSV header line ('\n' included) or "" for line protocol; static storage. */
const char *tsbs_format_header(enum tsbs_format fmt);
/*
 * Format one row ('\n' included) into buf, which must hold TSBS_ROW_MAX
 * bytes. Returns the length written (not NUL-terminated).
 */
size_t tsbs_format_row(const struct tsbs_gen *g, enum tsbs_format fmt, const struct tsbs_row *row,
                       char *buf);
/*
 * Generate and format up to max_rows rows into buf[0 .. cap), stopping
 * before a row that might not fit (cap - len < TSBS_ROW_MAX). Returns the
 * rows written and their byte length in *len_out; 0 rows at the end of the
 * stream (or when cap < TSBS_ROW_MAX).
 */
size_t tsbs_gen_fill(struct tsbs_gen *g, enum tsbs_format fmt, char *buf, size_t cap,
                     size_t max_rows, size_t *len_out);

/* ---- queries ---------------------------------------------------------- */

enum tsbs_qtype {
    TSBS_Q_SINGLE_GROUPBY_1_1_1 = 0,
    TSBS_Q_SINGLE_GROUPBY_1_1_12,
    TSBS_Q_SINGLE_GROUPBY_1_8_1,
    TSBS_Q_SINGLE_GROUPBY_5_1_1,
    TSBS_Q_SINGLE_GROUPBY_5_1_12,
    TSBS_Q_SINGLE_GROUPBY_5_8_1,
    TSBS_Q_CPU_MAX_ALL_1,
    TSBS_Q_CPU_MAX_ALL_8,
    TSBS_Q_DOUBLE_GROUPBY_1,
    TSBS_Q_DOUBLE_GROUPBY_5,
    TSBS_Q_DOUBLE_GROUPBY_ALL,
    TSBS_Q_HIGH_CPU_1,
    TSBS_Q_HIGH_CPU_ALL,
    TSBS_Q_LASTPOINT,
    TSBS_Q_GROUPBY_ORDERBY_LIMIT,
    TSBS_Q__COUNT
};

enum tsbs_dialect {
    TSBS_DIALECT_OURS = 0,        /* Strata / InfluxDB-3-style SQL with date_bin */
    TSBS_DIALECT_DUCKDB,          /* DuckDB; lastpoint as arg_max (its best form) */
    TSBS_DIALECT_DUCKDB_TSBS,     /* DuckDB; lastpoint as TSBS's DISTINCT ON form */
};

/* "single-groupby-1-1-1", ...; NULL when out of range. */
const char *tsbs_qtype_name(enum tsbs_qtype t);
/* The type named `name`, or -1. */
int tsbs_qtype_parse(const char *name);
/* Parse "ours", "duckdb", "duckdb-tsbs"; -1 when unknown. */
int tsbs_dialect_parse(const char *name);
/* True when the query has an ORDER BY that fixes the row order (high-cpu has none). */
bool tsbs_qtype_ordered(enum tsbs_qtype t);

#define TSBS_QUERY_MAX_HOSTS 8

/* One random instance: the parameters every dialect renders. */
struct tsbs_query {
    enum tsbs_qtype type;
    uint32_t index;                          /* k: instance number within its type */
    uint32_t n_hosts;                        /* 0 = all hosts */
    uint32_t hosts[TSBS_QUERY_MAX_HOSTS];
    int64_t lo_ns, hi_ns;                    /* [lo, hi); lo unused for groupby-orderby-limit
                                                and both unused for lastpoint */
    int64_t origin_ns;                       /* date_bin / time_bucket origin (cfg start) */
};

/*
 * Make instance `index` of `type` for data generated with cfg, from the
 * query seed `seed`. Windows longer than the data span are shrunk to the
 * span (smoke size); host counts larger than the scale are an error.
 */
enum st_code tsbs_query_make(const struct tsbs_config *cfg, uint64_t seed, enum tsbs_qtype type,
                             uint32_t index, struct tsbs_query *out, struct st_error *err);
/*
 * Render a query as one line of SQL (no newline, no tab) into buf. Returns
 * the length the text needs, like snprintf; it is complete when < cap.
 * 4096 bytes always suffice.
 */
size_t tsbs_query_sql(const struct tsbs_query *q, enum tsbs_dialect d, char *buf, size_t cap);
#define TSBS_SQL_MAX 4096

#endif
