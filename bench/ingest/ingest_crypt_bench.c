/*
 * ingest_crypt_bench.c: the write path's cost with and without encryption
 * at rest, and with one writer or several pipelining their batches (what a
 * TSBS-style loader with several workers does), in one process on the same
 * data (bench only, never a test).
 *
 *   ingest_crypt_bench [--scale 100] [--hours 40] [--batch-lines 10000]
 *                      [--writers 1] [--rounds 2] [--dir /tmp/icb]
 *
 * The TSBS cpu-only batches are generated in memory first (strata/tsbs.h),
 * so neither the generator nor file reads count. Each round ingests them
 * into a fresh data directory through eng_write (durable acknowledgements,
 * the background thread on, as a server runs), then eng_persist, once in
 * plaintext and once encrypted, alternately. Per mode it prints the best
 * round: rows/s, CPU seconds per million rows (getrusage, all threads),
 * bytes on disk per row, and the ratio encrypted / plaintext.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "strata/clock.h"
#include "strata/engine.h"
#include "strata/tsbs.h"

struct batch {
    char *p;
    size_t len;
};

struct job {
    struct eng *e;
    struct batch *b;
    size_t n, *next;
    pthread_mutex_t *mu;
    int failed;
};

static void
die(const char *what, const struct st_error *err)
{
    fprintf(stderr, "ingest_crypt_bench: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    exit(1);
}

static double
cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void *
writer(void *arg)
{
    struct job *j = arg;
    for (;;) {
        pthread_mutex_lock(j->mu);
        size_t k = (*j->next)++;
        pthread_mutex_unlock(j->mu);
        if (k >= j->n)
            return NULL;
        struct eng_write_opts wo = {.create_db = true};
        struct st_error err;
        if (eng_write(j->e, "benchmark", j->b[k].p, j->b[k].len, &wo, NULL, &err) != ST_OK) {
            fprintf(stderr, "ingest_crypt_bench: eng_write: %s\n", err.msg);
            j->failed = 1;
            return NULL;
        }
    }
}

static uint64_t
du(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "du -sb '%s' 2>/dev/null", dir);
    FILE *f = popen(cmd, "r");
    unsigned long long n = 0;
    if (f) {
        if (fscanf(f, "%llu", &n) != 1)
            n = 0;
        pclose(f);
    }
    return n;
}

struct figures {
    double rows_s, cpu_per_m, bytes_row;
};

static void
one_run(const char *dir, struct batch *b, size_t nb, uint64_t rows, int writers, bool enc,
        struct figures *out)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        die("cannot clear the data directory", NULL);
    struct eng_keyring *kr = NULL;
    struct st_error err;
    if (enc) {
        kr = eng_keyring_new();
        if (!kr || eng_keyring_add_hex(kr, "000102030405060708090a0b0c0d0e0f"
                                           "101112131415161718191a1b1c1d1e1f",
                                       64, true, &err) != ST_OK)
            die("keyring", &err);
    }
    struct eng_options o = {.data_dir = dir, .background = true, .keyring = kr,
                            .encryption = enc};
    struct eng *e = eng_open(&o, &err);
    eng_keyring_free(kr);
    if (!e)
        die("eng_open", &err);
    size_t next = 0;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    struct job j = {e, b, nb, &next, &mu, 0};
    pthread_t th[64];
    double c0 = cpu_s();
    int64_t t0 = st_mono_ns();
    for (int i = 0; i < writers; i++)
        pthread_create(&th[i], NULL, writer, &j);
    for (int i = 0; i < writers; i++)
        pthread_join(th[i], NULL);
    if (j.failed)
        die("a write failed", NULL);
    if (eng_persist(e, &err) != ST_OK)
        die("eng_persist", &err);
    double wall = (double)(st_mono_ns() - t0) / 1e9, cpu = cpu_s() - c0;
    eng_close(e);
    out->rows_s = (double)rows / wall;
    out->cpu_per_m = cpu / ((double)rows / 1e6);
    out->bytes_row = (double)du(dir) / (double)rows;
}

int
main(int argc, char **argv)
{
    uint32_t scale = 100, per = 10000;
    int hours = 40, writers = 1, rounds = 2;
    const char *dir = "/tmp/ingest_crypt_bench";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--scale") && i + 1 < argc)
            scale = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(a, "--hours") && i + 1 < argc)
            hours = atoi(argv[++i]);
        else if (!strcmp(a, "--batch-lines") && i + 1 < argc)
            per = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(a, "--writers") && i + 1 < argc)
            writers = atoi(argv[++i]);
        else if (!strcmp(a, "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(a, "--dir") && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: ingest_crypt_bench [--scale N] [--hours H] [--batch-lines N] "
                            "[--writers N] [--rounds N] [--dir DIR]\n");
            return 2;
        }
    }
    if (writers < 1 || writers > 64 || rounds < 1 || hours < 1 || !per)
        die("bad arguments", NULL);
    struct tsbs_config cfg;
    struct st_error err;
    if (tsbs_config_preset("standard", &cfg, &err) != ST_OK)
        die("tsbs", &err);
    cfg.scale = scale;
    cfg.end_ns = cfg.start_ns + (int64_t)hours * 3600 * 1000000000LL;
    struct tsbs_gen *g = tsbs_gen_new(&cfg, &err);
    if (!g)
        die("tsbs", &err);
    size_t nb = 0, cap_b = 64;
    struct batch *b = malloc(cap_b * sizeof *b);
    uint64_t rows = 0;
    for (;;) {
        size_t cap = (size_t)per * TSBS_ROW_MAX + TSBS_ROW_MAX, len = 0;
        char *p = malloc(cap);
        size_t n = tsbs_gen_fill(g, TSBS_FMT_LP, p, cap, per, &len);
        if (!n) {
            free(p);
            break;
        }
        if (nb == cap_b)
            b = realloc(b, (cap_b *= 2) * sizeof *b);
        b[nb].p = realloc(p, len);
        b[nb++].len = len;
        rows += n;
    }
    tsbs_gen_free(g);
    fprintf(stderr, "ingest_crypt_bench: %" PRIu64 " rows (scale %u x %d h) in %zu batches, %d "
                    "writer(s), best of %d rounds\n",
            rows, scale, hours, nb, writers, rounds);
    struct figures best[2] = {{0, 1e9, 0}, {0, 1e9, 0}};
    for (int r = 0; r < rounds; r++) {
        for (int m = 0; m < 2; m++) {
            struct figures f;
            one_run(dir, b, nb, rows, writers, m == 1, &f);
            if (f.cpu_per_m < best[m].cpu_per_m)
                best[m] = f;
        }
    }
    for (int m = 0; m < 2; m++)
        printf("%-10s %10.0f rows/s  %6.3f CPU-s/M rows  %6.2f B/row\n",
               m ? "encrypted" : "plaintext", best[m].rows_s, best[m].cpu_per_m, best[m].bytes_row);
    printf("encrypted/plaintext CPU: %.3f\n", best[1].cpu_per_m / best[0].cpu_per_m);
    for (size_t i = 0; i < nb; i++)
        free(b[i].p);
    free(b);
    return 0;
}
