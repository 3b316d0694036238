/*
 * tsbs_data.c: the TSBS cpu-only data stream (hosts, tags, the clamped
 * random walks) and its three text formats. See strata/tsbs.h for the model
 * and the determinism guarantees; tsbs_query.c builds the query instances
 * for the same configuration.
 *
 * Each host owns a PRNG stream seeded from (seed, host): first it draws its
 * nine non-hostname tags, then the ten starting values, then one step per
 * field per tick. So host i's series does not depend on the scale, and the
 * output does not depend on how the caller batches it.
 */
#include "strata/tsbs.h"

#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"
#include "tsbs_int.h"

const char *const tsbs_tag_names[TSBS_N_TAGS] = {
    "hostname", "region", "datacenter", "rack", "os",
    "arch", "team", "service", "service_version", "service_environment",
};

const char *const tsbs_field_names[TSBS_N_FIELDS] = {
    "usage_user", "usage_system", "usage_idle",  "usage_nice",  "usage_iowait",
    "usage_irq",  "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice",
};

/* Regions and their availability zones, as TSBS's devops host model lists them. */
struct region {
    const char *name;
    unsigned n_dc;
    const char *dc[4];
};
static const struct region regions[] = {
    {"us-east-1", 4, {"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"}},
    {"us-west-1", 2, {"us-west-1a", "us-west-1b"}},
    {"us-west-2", 3, {"us-west-2a", "us-west-2b", "us-west-2c"}},
    {"eu-west-1", 3, {"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
    {"eu-central-1", 2, {"eu-central-1a", "eu-central-1b"}},
    {"ap-southeast-1", 2, {"ap-southeast-1a", "ap-southeast-1b"}},
    {"ap-southeast-2", 2, {"ap-southeast-2a", "ap-southeast-2b"}},
    {"ap-northeast-1", 2, {"ap-northeast-1a", "ap-northeast-1c"}},
    {"sa-east-1", 3, {"sa-east-1a", "sa-east-1b", "sa-east-1c"}},
};
#define N_REGIONS (sizeof regions / sizeof regions[0])

static const char *const oses[] = {"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"};
static const char *const arches[] = {"x64", "x86"};
static const char *const teams[] = {"SF", "NYC", "LON", "CHI"};
static const char *const environments[] = {"production", "staging", "test"};

/* "0" .. "100": rack (0..99), service (0..19), service_version (0..1) and the values. */
static char small_ints[101][4];
static uint8_t small_int_len[101];

static void
init_small_ints(void)
{
    if (small_int_len[0])
        return;
    for (int i = 0; i <= 100; i++) {
        int n = 0;
        if (i >= 100)
            small_ints[i][n++] = (char)('0' + i / 100);
        if (i >= 10)
            small_ints[i][n++] = (char)('0' + i / 10 % 10);
        small_ints[i][n++] = (char)('0' + i % 10);
        small_ints[i][n] = '\0';
        small_int_len[i] = (uint8_t)n;
    }
}

/* Fixed point: the walk keeps value * 2^32. */
#define FX_ONE (INT64_C(1) << 32)
#define FX_MAX (100 * FX_ONE)

enum { T_REGION, T_DC, T_RACK, T_OS, T_ARCH, T_TEAM, T_SERVICE, T_VERSION, T_ENV, N_TAG_DRAWS };

struct host {
    struct tsbs__rng rng;
    int64_t fx[TSBS_N_FIELDS];
    uint8_t tag[N_TAG_DRAWS];
};

struct tsbs_gen {
    struct tsbs_config cfg;
    uint64_t ticks;
    uint64_t tick;     /* current tick */
    uint32_t next_host; /* next host to emit at the current tick */
    uint64_t rows_done;
    struct host *hosts;
    /* cache of the formatted time of the last row */
    int64_t time_cached;
    char time_iso[40];
    uint8_t time_iso_len;
    char time_ns[24];
    uint8_t time_ns_len;
};

enum st_code
tsbs_config_preset(const char *name, struct tsbs_config *out, struct st_error *err)
{
    struct tsbs_config c = {.seed = 123, .start_ns = TSBS_DEFAULT_START_NS,
                            .interval_ns = 10 * ST_NS_PER_SEC};
    int64_t span;
    if (!name)
        return st_error_set(err, ST_EINVAL, "size name missing");
    if (!strcmp(name, "smoke")) {
        c.scale = 10;
        span = 2 * 3600 * ST_NS_PER_SEC;
    } else if (!strcmp(name, "standard")) {
        c.scale = 100;
        span = 86400 * ST_NS_PER_SEC;
    } else if (!strcmp(name, "large")) {
        c.scale = 4000;
        span = 86400 * ST_NS_PER_SEC;
    } else {
        return st_error_set(err, ST_EINVAL,
                            "unknown size \"%s\" (expected smoke, standard or large)", name);
    }
    c.end_ns = c.start_ns + span;
    *out = c;
    return ST_OK;
}

enum st_code
tsbs_config_check(const struct tsbs_config *cfg, struct st_error *err)
{
    if (cfg->scale < 1 || cfg->scale > TSBS_SCALE_MAX)
        return st_error_set(err, ST_EINVAL, "scale %u out of range 1..%u", cfg->scale,
                            TSBS_SCALE_MAX);
    if (cfg->interval_ns <= 0)
        return st_error_set(err, ST_EINVAL, "interval must be positive");
    if (cfg->end_ns <= cfg->start_ns)
        return st_error_set(err, ST_EINVAL, "end must be after start");
    if (cfg->start_ns < 0)
        return st_error_set(err, ST_EINVAL, "start must not be before 1970-01-01");
    uint64_t ticks = tsbs_config_ticks(cfg);
    if (ticks > UINT64_MAX / cfg->scale || ticks * cfg->scale > (UINT64_C(1) << 48))
        return st_error_set(err, ST_EINVAL, "too many rows (limit 2^48)");
    return ST_OK;
}

uint64_t
tsbs_config_ticks(const struct tsbs_config *cfg)
{
    uint64_t span = (uint64_t)cfg->end_ns - (uint64_t)cfg->start_ns;
    return (span + (uint64_t)cfg->interval_ns - 1) / (uint64_t)cfg->interval_ns;
}

uint64_t
tsbs_config_rows(const struct tsbs_config *cfg)
{
    return tsbs_config_ticks(cfg) * cfg->scale;
}

int
tsbs_format_parse(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "lp"))
        return TSBS_FMT_LP;
    if (!strcmp(name, "csv-iso"))
        return TSBS_FMT_CSV_ISO;
    if (!strcmp(name, "csv-ns"))
        return TSBS_FMT_CSV_NS;
    return -1;
}

static void
host_init(struct host *h, uint64_t seed, uint32_t i)
{
    tsbs__rng_seed(&h->rng, seed, 1, i);
    unsigned region = (unsigned)tsbs__rng_below(&h->rng, N_REGIONS);
    h->tag[T_REGION] = (uint8_t)region;
    h->tag[T_DC] = (uint8_t)tsbs__rng_below(&h->rng, regions[region].n_dc);
    h->tag[T_RACK] = (uint8_t)tsbs__rng_below(&h->rng, 100);
    h->tag[T_OS] = (uint8_t)tsbs__rng_below(&h->rng, 3);
    h->tag[T_ARCH] = (uint8_t)tsbs__rng_below(&h->rng, 2);
    h->tag[T_TEAM] = (uint8_t)tsbs__rng_below(&h->rng, 4);
    h->tag[T_SERVICE] = (uint8_t)tsbs__rng_below(&h->rng, 20);
    h->tag[T_VERSION] = (uint8_t)tsbs__rng_below(&h->rng, 2);
    h->tag[T_ENV] = (uint8_t)tsbs__rng_below(&h->rng, 3);
    /* start uniform in [0, 100) */
    for (int f = 0; f < TSBS_N_FIELDS; f++)
        h->fx[f] = (int64_t)((tsbs__rng_next(&h->rng) >> 32) * 100);
}

/* One tick of every walk: step = sum of 12 uniforms in [0,1) minus 6, clamped to [0, 100]. */
static void
host_step(struct host *h)
{
    for (int f = 0; f < TSBS_N_FIELDS; f++) {
        int64_t sum = 0;
        for (int k = 0; k < 6; k++) {
            uint64_t u = tsbs__rng_next(&h->rng);
            sum += (int64_t)(u >> 32) + (int64_t)(u & 0xffffffffu);
        }
        int64_t v = h->fx[f] + sum - 6 * FX_ONE;
        h->fx[f] = v < 0 ? 0 : v > FX_MAX ? FX_MAX : v;
    }
}

struct tsbs_gen *
tsbs_gen_new(const struct tsbs_config *cfg, struct st_error *err)
{
    if (tsbs_config_check(cfg, err) != ST_OK)
        return NULL;
    init_small_ints();
    struct tsbs_gen *g = calloc(1, sizeof *g);
    if (g)
        g->hosts = calloc(cfg->scale, sizeof *g->hosts);
    if (!g || !g->hosts) {
        free(g);
        st_error_set(err, ST_ENOMEM, "out of memory for %u hosts", cfg->scale);
        return NULL;
    }
    g->cfg = *cfg;
    g->ticks = tsbs_config_ticks(cfg);
    g->time_cached = -1;
    for (uint32_t i = 0; i < cfg->scale; i++)
        host_init(&g->hosts[i], cfg->seed, i);
    return g;
}

void
tsbs_gen_free(struct tsbs_gen *g)
{
    if (!g)
        return;
    free(g->hosts);
    free(g);
}

bool
tsbs_gen_next(struct tsbs_gen *g, struct tsbs_row *out)
{
    if (g->tick >= g->ticks)
        return false;
    struct host *h = &g->hosts[g->next_host];
    out->time_ns = g->cfg.start_ns + (int64_t)g->tick * g->cfg.interval_ns;
    out->host = g->next_host;
    for (int f = 0; f < TSBS_N_FIELDS; f++)
        out->values[f] = h->fx[f] >> 32;
    host_step(h);
    if (++g->next_host == g->cfg.scale) {
        g->next_host = 0;
        g->tick++;
    }
    g->rows_done++;
    return true;
}

uint64_t
tsbs_gen_rows_done(const struct tsbs_gen *g)
{
    return g->rows_done;
}

static size_t
fmt_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

const char *
tsbs_gen_tag_value(const struct tsbs_gen *g, uint32_t host, unsigned tag, char *buf)
{
    const struct host *h = &g->hosts[host];
    switch (tag) {
    case 0: {
        memcpy(buf, "host_", 5);
        size_t n = fmt_u64(buf + 5, host);
        buf[5 + n] = '\0';
        return buf;
    }
    case 1: return regions[h->tag[T_REGION]].name;
    case 2: return regions[h->tag[T_REGION]].dc[h->tag[T_DC]];
    case 3: return small_ints[h->tag[T_RACK]];
    case 4: return oses[h->tag[T_OS]];
    case 5: return arches[h->tag[T_ARCH]];
    case 6: return teams[h->tag[T_TEAM]];
    case 7: return small_ints[h->tag[T_SERVICE]];
    case 8: return small_ints[h->tag[T_VERSION]];
    case 9: return environments[h->tag[T_ENV]];
    default: return "";
    }
}

const char *
tsbs_format_header(enum tsbs_format fmt)
{
    if (fmt == TSBS_FMT_LP)
        return "";
    return "time,hostname,region,datacenter,rack,os,arch,team,service,service_version,"
           "service_environment,usage_user,usage_system,usage_idle,usage_nice,usage_iowait,"
           "usage_irq,usage_softirq,usage_steal,usage_guest,usage_guest_nice\n";
}

static inline char *
put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *
put_str(char *p, const char *s)
{
    return put(p, s, strlen(s));
}

static void
cache_time(struct tsbs_gen *g, int64_t t)
{
    if (g->time_cached == t)
        return;
    g->time_cached = t;
    g->time_ns_len = (uint8_t)fmt_u64(g->time_ns, (uint64_t)t);
    st_format_rfc3339(t, g->time_iso, sizeof g->time_iso);
    g->time_iso_len = (uint8_t)strlen(g->time_iso);
}

size_t
tsbs_format_row(const struct tsbs_gen *cg, enum tsbs_format fmt, const struct tsbs_row *row,
                char *buf)
{
    struct tsbs_gen *g = (struct tsbs_gen *)cg; /* the time cache is not observable state */
    cache_time(g, row->time_ns);
    char host[TSBS_TAG_BUF];
    char *p = buf;
    if (fmt == TSBS_FMT_LP) {
        p = PUT_LIT(p, "cpu");
        for (unsigned t = 0; t < TSBS_N_TAGS; t++) {
            *p++ = ',';
            p = put_str(p, tsbs_tag_names[t]);
            *p++ = '=';
            p = put_str(p, tsbs_gen_tag_value(g, row->host, t, host));
        }
        *p++ = ' ';
        for (unsigned f = 0; f < TSBS_N_FIELDS; f++) {
            if (f)
                *p++ = ',';
            p = put_str(p, tsbs_field_names[f]);
            *p++ = '=';
            p = put(p, small_ints[row->values[f]], small_int_len[row->values[f]]);
            *p++ = 'i';
        }
        *p++ = ' ';
        p = put(p, g->time_ns, g->time_ns_len);
    } else {
        if (fmt == TSBS_FMT_CSV_ISO)
            p = put(p, g->time_iso, g->time_iso_len);
        else
            p = put(p, g->time_ns, g->time_ns_len);
        for (unsigned t = 0; t < TSBS_N_TAGS; t++) {
            *p++ = ',';
            p = put_str(p, tsbs_gen_tag_value(g, row->host, t, host));
        }
        for (unsigned f = 0; f < TSBS_N_FIELDS; f++) {
            *p++ = ',';
            p = put(p, small_ints[row->values[f]], small_int_len[row->values[f]]);
        }
    }
    *p++ = '\n';
    return (size_t)(p - buf);
}

size_t
tsbs_gen_fill(struct tsbs_gen *g, enum tsbs_format fmt, char *buf, size_t cap, size_t max_rows,
              size_t *len_out)
{
    size_t len = 0, n = 0;
    struct tsbs_row row;
    while (n < max_rows && cap - len >= TSBS_ROW_MAX && tsbs_gen_next(g, &row)) {
        len += tsbs_format_row(g, fmt, &row, buf + len);
        n++;
    }
    *len_out = len;
    return n;
}
