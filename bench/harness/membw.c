/*
 * membw.c: the memory read-bandwidth baseline of a benchmark run. Sums a
 * large array of 64-bit integers (a read-only, vectorisable scan) with 1 and
 * with N threads and prints the median GB/s of several repetitions as JSON,
 * so every report carries its own denominator for "fraction of bandwidth"
 * (the machine is shared and noisy; see docs/performance.md).
 *
 *   membw [--mib 512] [--reps 7] [--threads 2]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "strata/clock.h"

struct worker {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
    pthread_barrier_t *start;
};

static uint64_t
sum_u64(const uint64_t *p, size_t n)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++)
        s0 += p[i];
    return s0 + s1 + s2 + s3;
}

static void *
work(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(w->start);
    w->sum = sum_u64(w->p, w->n);
    return NULL;
}

/* One timed scan of the whole array with `nt` threads; returns GB/s. */
static double
scan(const uint64_t *a, size_t n, int nt, uint64_t *check)
{
    pthread_t tid[64];
    struct worker w[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)nt + 1);
    size_t per = n / (size_t)nt;
    for (int t = 0; t < nt; t++) {
        w[t] = (struct worker){a + (size_t)t * per, t == nt - 1 ? n - (size_t)t * per : per, 0,
                               &start};
        pthread_create(&tid[t], NULL, work, &w[t]);
    }
    pthread_barrier_wait(&start);
    int64_t t0 = st_mono_ns();
    uint64_t s = 0;
    for (int t = 0; t < nt; t++) {
        pthread_join(tid[t], NULL);
        s += w[t].sum;
    }
    int64_t t1 = st_mono_ns();
    pthread_barrier_destroy(&start);
    *check += s;
    return (double)(n * sizeof *a) / (double)(t1 - t0);
}

static double
median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
    long mib = 512, reps = 7, threads = 2;
    for (int i = 1; i < argc; i++) {
        long *dst = !strcmp(argv[i], "--mib")       ? &mib
                    : !strcmp(argv[i], "--reps")    ? &reps
                    : !strcmp(argv[i], "--threads") ? &threads
                                                    : NULL;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, "usage: membw [--mib N] [--reps N] [--threads N]\n");
            return 2;
        }
        char *end;
        *dst = strtol(argv[++i], &end, 10);
        if (*end || *dst < 1) {
            fprintf(stderr, "membw: %s: expected a positive integer\n", argv[i - 1]);
            return 2;
        }
    }
    if (mib > 16384 || reps > 101 || threads > 64) {
        fprintf(stderr, "membw: limits: --mib <= 16384, --reps <= 101, --threads <= 64\n");
        return 2;
    }
    size_t n = (size_t)mib * 1024 * 1024 / sizeof(uint64_t);
    uint64_t *a = malloc(n * sizeof *a);
    if (!a) {
        fprintf(stderr, "membw: cannot allocate %ld MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = i * UINT64_C(0x9e3779b97f4a7c15);
    double g1[101], gn[101];
    uint64_t check = 0;
    for (long r = 0; r < reps; r++) {
        g1[r] = scan(a, n, 1, &check);
        gn[r] = scan(a, n, (int)threads, &check);
    }
    double m1 = median(g1, (int)reps), mn = median(gn, (int)reps);
    fprintf(stderr, "membw: read %ld MiB: 1 thread %.1f GB/s, %ld threads %.1f GB/s (median of %ld)\n",
            mib, m1, threads, mn, reps);
    printf("{\"mib\":%ld,\"reps\":%ld,\"read_gbps_1t\":%.3f,\"threads\":%ld,\"read_gbps_nt\":%.3f,"
           "\"read_gbps_1t_max\":%.3f,\"read_gbps_nt_max\":%.3f,\"check\":%llu}\n",
           mib, reps, m1, threads, mn, g1[reps - 1], gn[reps - 1], (unsigned long long)(check & 0xffff));
    free(a);
    return 0;
}
