/*
 * storage.h: the read interface of time-partitioned storage, used by the
 * query executor. (The write side is internal to the engine facade.)
 *
 * A read view is a consistent snapshot of one database: the catalog, the
 * persisted chunks and the in-memory buffers as of one moment. It never sees
 * half of a write batch, and a persist, compaction or delete running beside
 * it changes nothing it sees. Views are cheap (refcounts, no copying).
 *
 * A scan of one table yields batches; every batch holds rows of exactly one
 * series (one tag set), in ascending time, already deduplicated (same series
 * and timestamp = one row, the later write winning per field) and with
 * deletes applied. For one series, its batches arrive in ascending time.
 * Batches of different series interleave (partition by partition, series by
 * series inside a partition).
 *
 * Pruning: the scan skips partitions by time, series by the tag predicates
 * and the series filter, and blocks by their time and value statistics.
 *
 * Ownership of this header: the storage work owns it; the query engine
 * (sql/plan/exec) builds on it. Extend it; do not change the meaning of what
 * is here without changing both sides.
 */
#ifndef STRATA_STORAGE_H
#define STRATA_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/batch.h"
#include "strata/catalog.h"
#include "strata/status.h"

struct eng;
struct stor_view;
struct stor_scan;

/* Open a read view of database `db`; ST_ENOTFOUND if it does not exist. */
enum st_code stor_view_open(struct eng *e, const char *db, struct stor_view **out,
                            struct st_error *err);
void stor_view_close(struct stor_view *v);
/* The catalog as of the view. */
const struct cat_db *stor_view_db(const struct stor_view *v);

/* A series: one tag set of a table. tags[i] is the value of the tag column
 * with tag_index i, or NULL when the series does not have that tag. */
struct stor_series {
    uint32_t id; /* unique within the table */
    uint32_t n_tags;
    const char *const *tags;
};

enum stor_tag_op { STOR_TAG_EQ = 0, STOR_TAG_NE, STOR_TAG_IN, STOR_TAG_NOT_IN };

/* A predicate on one tag; a series without the tag has NULL there, which
 * matches no EQ/IN and no NE/NOT_IN (SQL semantics). */
struct stor_tag_pred {
    uint32_t tag_index;
    enum stor_tag_op op;
    uint32_t n_values;
    const char *const *values;
};

/* Pruning hint on a numeric field: rows outside [lo, hi] are not needed.
 * Used only to skip whole blocks by min/max; rows are not filtered. */
struct stor_field_range {
    uint32_t col_id;
    double lo, hi; /* inclusive; -INFINITY / INFINITY when open */
};

enum stor_scan_mode {
    STOR_SCAN_ALL = 0, /* every matching row */
    STOR_SCAN_LAST,    /* only the newest row of each matching series (lastpoint),
                          served from the last-value cache when possible */
};

struct stor_scan_spec {
    uint32_t table_id;
    int64_t t_lo, t_hi; /* half-open [t_lo, t_hi); INT64_MIN/INT64_MAX when open */
    const struct stor_tag_pred *tag_preds; /* all must hold */
    uint32_t n_tag_preds;
    /* Exact per-series filter for anything the tag predicates cannot say
     * (LIKE, regex, OR); called at most once per series per scan. */
    bool (*series_filter)(void *ctx, const struct stor_series *s);
    void *series_ctx;
    const uint32_t *field_cols; /* field column ids to return, in this order */
    uint32_t n_field_cols;
    const struct stor_field_range *ranges;
    uint32_t n_ranges;
    uint32_t max_rows;          /* per batch; 0 = no limit (a whole block) */
    bool newest_partition_first; /* visit partitions in descending time */
    enum stor_scan_mode mode;
};

struct stor_batch {
    const struct stor_series *series;
    uint32_t n_rows;
    const int64_t *time;        /* ascending */
    const struct st_column *fields; /* n_field_cols columns, in spec order */
};

enum st_code stor_scan_open(struct stor_view *v, const struct stor_scan_spec *spec,
                            struct stor_scan **out, struct st_error *err);
/* Next batch; returns ST_OK with *out = NULL at the end. Valid until the next call. */
enum st_code stor_scan_next(struct stor_scan *s, const struct stor_batch **out,
                            struct st_error *err);
void stor_scan_close(struct stor_scan *s);

/* What a scan would read, without reading it (for EXPLAIN and the planner). */
struct stor_scan_estimate {
    uint32_t partitions_total, partitions_selected;
    uint32_t series_total, series_selected;
    uint64_t blocks_total, blocks_selected;
    uint64_t rows_selected; /* upper bound */
    int64_t t_min, t_max;   /* time bounds of the selected data; t_min > t_max if none */
};
enum st_code stor_scan_estimate(struct stor_view *v, const struct stor_scan_spec *spec,
                                struct stor_scan_estimate *out, struct st_error *err);

/* All series of a table that pass the tag predicates and filter (for SHOW /
 * DISTINCT on tags without touching field data). */
enum st_code stor_series_list(struct stor_view *v, const struct stor_scan_spec *spec,
                              const struct stor_series *const **out, uint32_t *n_out,
                              struct st_error *err);

#endif
