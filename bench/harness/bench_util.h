/*
 * bench_util.h: small helpers shared by the benchmark drivers in
 * bench/harness/: process memory figures from /proc, the disk usage of a
 * directory tree, percentiles, and JSON string output.
 */
#ifndef STRATA_BENCH_UTIL_H
#define STRATA_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>

/* A "VmXXX:" line of /proc/self/status in bytes ("VmHWM", "VmRSS"); 0 if unknown. */
uint64_t bu_proc_status_bytes(const char *key);

/*
 * Sum the sizes of every regular file under `path` (apparent: st_size;
 * allocated: st_blocks * 512, what du reports). Returns 0, or -1 with errno.
 */
int bu_dir_usage(const char *path, uint64_t *apparent, uint64_t *allocated);

/* CPU seconds (user + system, all threads) used by this process so far. */
double bu_cpu_seconds(void);

/* Sort v in place and return the nearest-rank percentile p (0..100); 0 for n == 0. */
int64_t bu_percentile(int64_t *v, size_t n, double p);

/* Write s as a JSON string literal (quotes included). */
void bu_json_str(FILE *f, const char *s);

#endif
