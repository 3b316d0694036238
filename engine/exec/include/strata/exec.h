/*
 * exec.h: the interface to the vectorized executor, the last stage of the
 * query pipeline:
 *
 *   plan tree (strata/plan.h) --exec_open--> operator tree --exec_next-->
 *   struct st_batch (strata/batch.h), pulled one at a time
 *
 * Operators exchange chunks of up to `batch_rows` rows (2048 by default);
 * a scan chunk holds rows of one series, in ascending time, with the tags
 * as per-chunk constants. Data is read through a source (struct
 * exec_source): storage's scans in the engine, synthetic batches in tests.
 *
 * Cancellation and the deadline are checked between chunks and inside long
 * loops (sorting, aggregation output); the result size is bounded by
 * max_result_bytes; working memory (hash tables, sort buffers) by
 * mem_limit_bytes. All three fail the query with a clear error.
 *
 * Thread safety: one exec_query is used by one thread at a time.
 */
#ifndef STRATA_EXEC_H
#define STRATA_EXEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "strata/batch.h"
#include "strata/plan.h"
#include "strata/status.h"
#include "strata/storage.h"

/* Where scans read from: storage in the engine, fakes in unit tests. */
struct exec_source {
    void *ctx;
    enum st_code (*open)(void *ctx, const struct stor_scan_spec *spec, void **scan,
                         struct st_error *err);
    enum st_code (*next)(void *scan, const struct stor_batch **out, struct st_error *err);
    void (*close)(void *scan);
    enum st_code (*estimate)(void *ctx, const struct stor_scan_spec *spec,
                             struct stor_scan_estimate *out, struct st_error *err);
};

/* A source over a storage read view (exec_source_stor.c). */
void exec_source_storage(struct exec_source *src, struct stor_view *view);

struct exec_opts {
    const atomic_int *cancel;  /* non-zero: stop with ST_ECANCELLED; may be NULL */
    int64_t deadline_mono_ns;  /* 0: none; compared with st_mono_ns() */
    uint64_t max_result_bytes; /* 0: 1 GiB */
    uint64_t mem_limit_bytes;  /* working memory; 0: 1 GiB */
    uint32_t batch_rows;       /* 0: 2048 */
};

struct exec_stats {
    uint64_t rows_out;
    uint64_t bytes_out;
    uint64_t rows_scanned;
    uint32_t scans_opened;
};

struct exec_query;

/* Build the operator tree for a plan. The plan (and the view behind the
 * source) must outlive the query. */
enum st_code exec_open(const struct plan_node *root, const struct exec_source *src,
                       const struct exec_opts *opts, struct exec_query **out,
                       struct st_error *err);
/* The next batch of the result, or *out = NULL at the end. The batch uses
 * the plan root's column types (plan_type_output) and stays valid until the
 * next call or exec_close. */
enum st_code exec_next(struct exec_query *q, const struct st_batch **out, struct st_error *err);
void exec_get_stats(const struct exec_query *q, struct exec_stats *out);
void exec_close(struct exec_query *q);

#endif
