/*
 * lp_bench.c: micro-benchmark of the line protocol parser alone.
 *
 * Generates TSBS cpu-only lines in memory, deterministically (fixed seed):
 * one measurement `cpu`, the 10 TSBS host tags (hostname, region,
 * datacenter, rack, os, arch, team, service, service_version,
 * service_environment), the 10 usage_* fields as integers (`usage_user=58i`,
 * a clamped random walk in [0, 100] per host), nanosecond timestamps 10 s
 * apart, rows time-major and host-minor, as tsbs_generate_data writes them.
 * Then parses the whole buffer with lp_next several times and prints the
 * median (and best/worst) rows/s and MB/s, from the thread's CPU time (what
 * one core does, robust on a shared machine) and from the wall clock (which
 * includes time stolen by other processes). Nothing but parsing is timed: no
 * catalog, no WAL. Every run checks that all rows parsed and that the field
 * checksum matches the generator's.
 *
 *   lp_bench [--hosts N] [--rows N] [--runs N]
 *
 * Figures are recorded in bench/micro_lp/README.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata/lp.h"

static uint64_t rng_state = 123;

static uint64_t
rng(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double
uniform(void)
{
    return (double)(rng() >> 11) * (1.0 / 9007199254740992.0);
}

/* An approximately standard normal step (Irwin-Hall, 12 uniforms). */
static double
normal(void)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += uniform();
    return s - 6.0;
}

static const char *const regions[] = {"us-east-1",      "us-west-1",      "us-west-2",
                                      "eu-west-1",      "eu-central-1",   "ap-southeast-1",
                                      "ap-southeast-2", "ap-northeast-1", "sa-east-1"};
static const char *const zones[][4] = {
    {"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"},
    {"us-west-1a", "us-west-1b", NULL, NULL},
    {"us-west-2a", "us-west-2b", "us-west-2c", NULL},
    {"eu-west-1a", "eu-west-1b", "eu-west-1c", NULL},
    {"eu-central-1a", "eu-central-1b", NULL, NULL},
    {"ap-southeast-1a", "ap-southeast-1b", NULL, NULL},
    {"ap-southeast-2a", "ap-southeast-2b", NULL, NULL},
    {"ap-northeast-1a", "ap-northeast-1c", NULL, NULL},
    {"sa-east-1a", "sa-east-1b", "sa-east-1c", NULL},
};
static const char *const oses[] = {"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"};
static const char *const arches[] = {"x64", "x86"};
static const char *const teams[] = {"SF", "NYC", "LON", "CHI"};
static const char *const envs[] = {"production", "staging", "test"};
static const char *const field_names[] = {"usage_user",    "usage_system", "usage_idle",
                                          "usage_nice",    "usage_iowait", "usage_irq",
                                          "usage_softirq", "usage_steal",  "usage_guest",
                                          "usage_guest_nice"};

struct host {
    char tags[256];
    double usage[10];
};

static char *
generate(int n_hosts, long n_rows, size_t *len_out, int64_t *checksum)
{
    struct host *hosts = calloc((size_t)n_hosts, sizeof *hosts);
    size_t cap = (size_t)n_rows * 400 + 4096, len = 0;
    char *buf = malloc(cap);
    if (!hosts || !buf) {
        fprintf(stderr, "lp_bench: out of memory\n");
        exit(1);
    }
    for (int h = 0; h < n_hosts; h++) {
        int r = (int)(rng() % 9);
        int nz = 0;
        while (nz < 4 && zones[r][nz])
            nz++;
        snprintf(hosts[h].tags, sizeof hosts[h].tags,
                 "hostname=host_%d,region=%s,datacenter=%s,rack=%d,os=%s,arch=%s,team=%s,"
                 "service=%d,service_version=%d,service_environment=%s",
                 h, regions[r], zones[r][rng() % (uint64_t)nz], (int)(rng() % 100),
                 oses[rng() % 3], arches[rng() % 2], teams[rng() % 4], (int)(rng() % 20),
                 (int)(rng() % 2), envs[rng() % 3]);
        for (int f = 0; f < 10; f++)
            hosts[h].usage[f] = uniform() * 100.0;
    }
    int64_t ts = INT64_C(1451606400000000000), sum = 0;
    for (long row = 0; row < n_rows; row++) {
        struct host *hp = &hosts[row % n_hosts];
        if (row && row % n_hosts == 0)
            ts += INT64_C(10000000000);
        len += (size_t)snprintf(buf + len, cap - len, "cpu,%s ", hp->tags);
        for (int f = 0; f < 10; f++) {
            double u = hp->usage[f] + normal();
            u = u < 0 ? 0 : u > 100 ? 100 : u;
            hp->usage[f] = u;
            long v = (long)u;
            sum += v;
            len += (size_t)snprintf(buf + len, cap - len, "%s%s=%ldi", f ? "," : "",
                                    field_names[f], v);
        }
        len += (size_t)snprintf(buf + len, cap - len, " %" PRId64 "\n", ts);
    }
    free(hosts);
    *len_out = len;
    *checksum = sum;
    return buf;
}

static double
clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    int n_hosts = 100, runs = 7;
    long n_rows = 500000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hosts") && i + 1 < argc)
            n_hosts = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            n_rows = atol(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: lp_bench [--hosts N] [--rows N] [--runs N]\n");
            return 2;
        }
    }
    if (n_hosts < 1 || n_rows < 1 || runs < 1 || runs > 101) {
        fprintf(stderr, "lp_bench: bad arguments\n");
        return 2;
    }
    size_t len;
    int64_t want_sum;
    char *buf = generate(n_hosts, n_rows, &len, &want_sum);
    printf("lp_bench: %ld rows, %d hosts, %.1f MB, %.1f B/row, %d runs\n", n_rows, n_hosts,
           (double)len / 1e6, (double)len / (double)n_rows, runs);

    double cpu[101], wall[101];
    struct lp_parser *p = lp_parser_new(buf, len, NULL);
    if (!p) {
        fprintf(stderr, "lp_bench: out of memory\n");
        return 1;
    }
    for (int r = 0; r < runs; r++) {
        lp_parser_reset(p, buf, len);
        struct lp_line l;
        struct lp_error e;
        long rows = 0, errors = 0;
        int64_t sum = 0;
        uint64_t tsum = 0;
        double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
        enum lp_result res;
        while ((res = lp_next(p, &l, &e)) != LP_END) {
            if (res == LP_ERROR) {
                errors++;
                continue;
            }
            rows++;
            for (uint32_t f = 0; f < l.n_fields; f++)
                sum += l.fields[f].v.i;
            tsum += (uint64_t)l.time + l.n_tags;
        }
        cpu[r] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        wall[r] = clock_s(CLOCK_MONOTONIC) - w0;
        if (rows != n_rows || errors || sum != want_sum || tsum == 0) {
            fprintf(stderr, "lp_bench: run %d: %ld rows, %ld errors, checksum %" PRId64
                            " (want %" PRId64 ")\n",
                    r, rows, errors, sum, want_sum);
            return 1;
        }
    }
    lp_parser_free(p);
    qsort(cpu, (size_t)runs, sizeof cpu[0], cmp_double);
    qsort(wall, (size_t)runs, sizeof wall[0], cmp_double);
    double med = cpu[runs / 2], wmed = wall[runs / 2];
    printf("cpu time:  median %.2f M rows/s, %.0f MB/s  (best %.2f, worst %.2f M rows/s)\n",
           (double)n_rows / med / 1e6, (double)len / med / 1e6, (double)n_rows / cpu[0] / 1e6,
           (double)n_rows / cpu[runs - 1] / 1e6);
    printf("wall time: median %.2f M rows/s, %.0f MB/s  (best %.2f, worst %.2f M rows/s)\n",
           (double)n_rows / wmed / 1e6, (double)len / wmed / 1e6, (double)n_rows / wall[0] / 1e6,
           (double)n_rows / wall[runs - 1] / 1e6);
    free(buf);
    return 0;
}
