/*
 * tsbs_query.c: the TSBS cpu-only query set as seeded random instances, and
 * their rendering as SQL in our dialect and DuckDB's.
 *
 * An instance is a parameter set (type, hosts, window) drawn from a PRNG
 * stream seeded by (seed, type, index): instance k of a type is the same
 * whatever else is generated, and every dialect renders the same
 * parameters. Windows have a fixed length per type, start uniformly at
 * random in [start, end - length] with millisecond granularity (TSBS uses
 * nanoseconds; milliseconds keep DuckDB's microsecond TIMESTAMP exact and do
 * not change which 10 s rows fall inside). Hosts are distinct, drawn
 * uniformly. The templates are documented in bench/tsbs/queries_ours.md.
 */
#include "strata/tsbs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "strata/clock.h"
#include "tsbs_int.h"

#define HOUR_NS (3600 * ST_NS_PER_SEC)
#define MIN_NS (60 * ST_NS_PER_SEC)

struct qdef {
    const char *name;
    uint32_t n_metrics; /* aggregated metrics (single-groupby, double-groupby) */
    uint32_t n_hosts;   /* 0 = all */
    int64_t window_ns;
};

static const struct qdef qdefs[TSBS_Q__COUNT] = {
    [TSBS_Q_SINGLE_GROUPBY_1_1_1] = {"single-groupby-1-1-1", 1, 1, 1 * HOUR_NS},
    [TSBS_Q_SINGLE_GROUPBY_1_1_12] = {"single-groupby-1-1-12", 1, 1, 12 * HOUR_NS},
    [TSBS_Q_SINGLE_GROUPBY_1_8_1] = {"single-groupby-1-8-1", 1, 8, 1 * HOUR_NS},
    [TSBS_Q_SINGLE_GROUPBY_5_1_1] = {"single-groupby-5-1-1", 5, 1, 1 * HOUR_NS},
    [TSBS_Q_SINGLE_GROUPBY_5_1_12] = {"single-groupby-5-1-12", 5, 1, 12 * HOUR_NS},
    [TSBS_Q_SINGLE_GROUPBY_5_8_1] = {"single-groupby-5-8-1", 5, 8, 1 * HOUR_NS},
    [TSBS_Q_CPU_MAX_ALL_1] = {"cpu-max-all-1", TSBS_N_FIELDS, 1, 8 * HOUR_NS},
    [TSBS_Q_CPU_MAX_ALL_8] = {"cpu-max-all-8", TSBS_N_FIELDS, 8, 8 * HOUR_NS},
    [TSBS_Q_DOUBLE_GROUPBY_1] = {"double-groupby-1", 1, 0, 12 * HOUR_NS},
    [TSBS_Q_DOUBLE_GROUPBY_5] = {"double-groupby-5", 5, 0, 12 * HOUR_NS},
    [TSBS_Q_DOUBLE_GROUPBY_ALL] = {"double-groupby-all", TSBS_N_FIELDS, 0, 12 * HOUR_NS},
    [TSBS_Q_HIGH_CPU_1] = {"high-cpu-1", 0, 1, 12 * HOUR_NS},
    [TSBS_Q_HIGH_CPU_ALL] = {"high-cpu-all", 0, 0, 12 * HOUR_NS},
    [TSBS_Q_LASTPOINT] = {"lastpoint", TSBS_N_FIELDS, 0, 0},
    [TSBS_Q_GROUPBY_ORDERBY_LIMIT] = {"groupby-orderby-limit", 1, 0, 1 * HOUR_NS},
};

const char *
tsbs_qtype_name(enum tsbs_qtype t)
{
    return (unsigned)t < TSBS_Q__COUNT ? qdefs[t].name : NULL;
}

int
tsbs_qtype_parse(const char *name)
{
    for (int t = 0; name && t < TSBS_Q__COUNT; t++)
        if (!strcmp(name, qdefs[t].name))
            return t;
    return -1;
}

int
tsbs_dialect_parse(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "ours"))
        return TSBS_DIALECT_OURS;
    if (!strcmp(name, "duckdb"))
        return TSBS_DIALECT_DUCKDB;
    if (!strcmp(name, "duckdb-tsbs"))
        return TSBS_DIALECT_DUCKDB_TSBS;
    return -1;
}

bool
tsbs_qtype_ordered(enum tsbs_qtype t)
{
    return t != TSBS_Q_HIGH_CPU_1 && t != TSBS_Q_HIGH_CPU_ALL;
}

/* Uniform millisecond offset in [0, span_ns] (rounded down to whole ms). */
static int64_t
rand_ms_offset(struct tsbs__rng *r, int64_t span_ns)
{
    uint64_t n_ms = (uint64_t)(span_ns / ST_NS_PER_MS) + 1;
    return (int64_t)tsbs__rng_below64(r, n_ms) * ST_NS_PER_MS;
}

enum st_code
tsbs_query_make(const struct tsbs_config *cfg, uint64_t seed, enum tsbs_qtype type,
                uint32_t index, struct tsbs_query *out, struct st_error *err)
{
    ST_TRY(tsbs_config_check(cfg, err));
    if ((unsigned)type >= TSBS_Q__COUNT)
        return st_error_set(err, ST_EINVAL, "unknown query type %d", (int)type);
    const struct qdef *d = &qdefs[type];
    if (d->n_hosts > cfg->scale)
        return st_error_set(err, ST_EINVAL, "query type \"%s\" needs %u hosts, scale is %u",
                            d->name, d->n_hosts, cfg->scale);
    struct tsbs__rng r;
    tsbs__rng_seed(&r, seed, 1000 + (uint64_t)type, index);
    memset(out, 0, sizeof *out);
    out->type = type;
    out->index = index;
    out->origin_ns = cfg->start_ns;
    /* The last row is at start + (ticks-1)*interval; data lies in [start, data_end). */
    int64_t data_end = cfg->start_ns + (int64_t)tsbs_config_ticks(cfg) * cfg->interval_ns;
    int64_t span = data_end - cfg->start_ns;
    if (type == TSBS_Q_LASTPOINT) {
        out->lo_ns = cfg->start_ns;
        out->hi_ns = data_end;
    } else if (type == TSBS_Q_GROUPBY_ORDERBY_LIMIT) {
        /* a random end in [start + 1 h, data_end] (the end of a random 1 h window) */
        int64_t w = d->window_ns < span ? d->window_ns : span;
        out->hi_ns = cfg->start_ns + w + rand_ms_offset(&r, span - w);
        out->lo_ns = INT64_MIN;
    } else {
        int64_t w = d->window_ns < span ? d->window_ns : span;
        out->lo_ns = cfg->start_ns + rand_ms_offset(&r, span - w);
        out->hi_ns = out->lo_ns + w;
    }
    out->n_hosts = d->n_hosts;
    for (uint32_t i = 0; i < d->n_hosts; i++) {
        uint32_t h;
        bool dup;
        do {
            h = (uint32_t)tsbs__rng_below(&r, cfg->scale);
            dup = false;
            for (uint32_t j = 0; j < i; j++)
                dup |= out->hosts[j] == h;
        } while (dup);
        out->hosts[i] = h;
    }
    return ST_OK;
}

/* ---- rendering ---------------------------------------------------------- */

struct out {
    char *buf;
    size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void
emit(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* A time literal: RFC 3339 with milliseconds (ours), or a DuckDB TIMESTAMP literal. */
static void
emit_time(struct out *o, enum tsbs_dialect d, int64_t ns)
{
    int64_t secs = ns / ST_NS_PER_SEC;
    int64_t ms = ns % ST_NS_PER_SEC / ST_NS_PER_MS;
    char base[40];
    st_format_rfc3339(secs * ST_NS_PER_SEC, base, sizeof base); /* ...:SSZ */
    size_t n = strlen(base);
    base[n - 1] = '\0'; /* drop the Z */
    if (d == TSBS_DIALECT_OURS) {
        emit(o, "'%s.%03lldZ'", base, (long long)ms);
    } else {
        char *t = strchr(base, 'T');
        if (t)
            *t = ' ';
        emit(o, "TIMESTAMP '%s.%03lld'", base, (long long)ms);
    }
}

static void
emit_bucket(struct out *o, enum tsbs_dialect d, const char *unit, int64_t origin_ns)
{
    if (d == TSBS_DIALECT_OURS) {
        char org[40];
        st_format_rfc3339(origin_ns, org, sizeof org);
        emit(o, "date_bin(INTERVAL '1 %s', time, TIMESTAMP '%s')", unit, org);
    } else {
        char org[40];
        st_format_rfc3339(origin_ns, org, sizeof org);
        size_t n = strlen(org);
        org[n - 1] = '\0';
        char *t = strchr(org, 'T');
        if (t)
            *t = ' ';
        emit(o, "time_bucket(INTERVAL '1 %s', time, TIMESTAMP '%s')", unit, org);
    }
}

static void
emit_hosts(struct out *o, const struct tsbs_query *q)
{
    emit(o, "hostname IN (");
    for (uint32_t i = 0; i < q->n_hosts; i++)
        emit(o, "%s'host_%u'", i ? ", " : "", q->hosts[i]);
    emit(o, ")");
}

static void
emit_window(struct out *o, enum tsbs_dialect d, const struct tsbs_query *q)
{
    emit(o, "time >= ");
    emit_time(o, d, q->lo_ns);
    emit(o, " AND time < ");
    emit_time(o, d, q->hi_ns);
}

static void
emit_aggs(struct out *o, const char *fn, const char *prefix, uint32_t n)
{
    for (uint32_t f = 0; f < n; f++)
        emit(o, ", %s(%s) AS %s_%s", fn, tsbs_field_names[f], prefix, tsbs_field_names[f]);
}

size_t
tsbs_query_sql(const struct tsbs_query *q, enum tsbs_dialect d, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};
    const struct qdef *def = &qdefs[q->type];
    switch (q->type) {
    case TSBS_Q_SINGLE_GROUPBY_1_1_1:
    case TSBS_Q_SINGLE_GROUPBY_1_1_12:
    case TSBS_Q_SINGLE_GROUPBY_1_8_1:
    case TSBS_Q_SINGLE_GROUPBY_5_1_1:
    case TSBS_Q_SINGLE_GROUPBY_5_1_12:
    case TSBS_Q_SINGLE_GROUPBY_5_8_1:
    case TSBS_Q_CPU_MAX_ALL_1:
    case TSBS_Q_CPU_MAX_ALL_8: {
        bool minute = def->n_metrics != TSBS_N_FIELDS;
        emit(&o, "SELECT ");
        emit_bucket(&o, d, minute ? "minute" : "hour", q->origin_ns);
        emit(&o, " AS %s", minute ? "minute" : "hour");
        emit_aggs(&o, "max", "max", def->n_metrics);
        emit(&o, " FROM cpu WHERE ");
        emit_hosts(&o, q);
        emit(&o, " AND ");
        emit_window(&o, d, q);
        emit(&o, " GROUP BY %s ORDER BY %s", minute ? "minute" : "hour",
             minute ? "minute" : "hour");
        break;
    }
    case TSBS_Q_DOUBLE_GROUPBY_1:
    case TSBS_Q_DOUBLE_GROUPBY_5:
    case TSBS_Q_DOUBLE_GROUPBY_ALL:
        emit(&o, "SELECT ");
        emit_bucket(&o, d, "hour", q->origin_ns);
        emit(&o, " AS hour, hostname");
        emit_aggs(&o, "avg", "mean", def->n_metrics);
        emit(&o, " FROM cpu WHERE ");
        emit_window(&o, d, q);
        emit(&o, " GROUP BY hour, hostname ORDER BY hour, hostname");
        break;
    case TSBS_Q_HIGH_CPU_1:
    case TSBS_Q_HIGH_CPU_ALL:
        emit(&o, "SELECT * FROM cpu WHERE usage_user > 90.0 AND ");
        emit_window(&o, d, q);
        if (q->n_hosts) {
            emit(&o, " AND ");
            emit_hosts(&o, q);
        }
        break;
    case TSBS_Q_LASTPOINT:
        if (d == TSBS_DIALECT_DUCKDB_TSBS) {
            emit(&o, "SELECT DISTINCT ON (hostname) hostname, time");
            for (uint32_t f = 0; f < TSBS_N_FIELDS; f++)
                emit(&o, ", %s", tsbs_field_names[f]);
            emit(&o, " FROM cpu ORDER BY hostname, time DESC");
        } else {
            const char *sel = d == TSBS_DIALECT_OURS ? "last" : "arg_max";
            emit(&o, "SELECT hostname, max(time) AS time");
            for (uint32_t f = 0; f < TSBS_N_FIELDS; f++)
                emit(&o, ", %s(%s, time) AS %s", sel, tsbs_field_names[f], tsbs_field_names[f]);
            emit(&o, " FROM cpu GROUP BY hostname ORDER BY hostname");
        }
        break;
    case TSBS_Q_GROUPBY_ORDERBY_LIMIT:
        emit(&o, "SELECT ");
        emit_bucket(&o, d, "minute", q->origin_ns);
        emit(&o, " AS minute, max(usage_user) AS max_usage_user FROM cpu WHERE time < ");
        emit_time(&o, d, q->hi_ns);
        emit(&o, " GROUP BY minute ORDER BY minute DESC LIMIT 5");
        break;
    default:
        emit(&o, "SELECT 'unknown query type'");
        break;
    }
    return o.len;
}
