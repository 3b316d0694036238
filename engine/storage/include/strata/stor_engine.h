/*
 * stor_engine.h: the write and maintenance side of storage, for the engine
 * facade (the engine/ facade files). The query executor uses storage.h only.
 *
 * Storage keeps, per database, time partitions of each table: in-memory
 * buffers (memtables) that take writes, and immutable chunk files written by
 * a persist. A database's state is published as immutable versions; a read
 * view pins one version plus the database's visible sequence number.
 *
 * Write protocol (the facade sequences it; the WAL is not known here):
 *
 *     stor_wbatch_* ... build the batch (rows grouped by series)
 *     stor_wbatch_encode(wb, &rec)                 -> the WAL record
 *     stor_commit_lock(db)
 *     wal_append(rec) -> seq                       (or stor_commit_unlock on error)
 *     stor_commit_enqueue_unlock(db, wb, seq)
 *     ok = wal_sync(seq)
 *     stor_commit_finish(db, wb, ok)               -> applied and visible, in seq order
 *
 * Batches of one database become visible strictly in sequence order and
 * whole: a batch is applied only after it is durable, and the database's
 * visible sequence moves past it only when every table it touches is done.
 */
#ifndef STRATA_STOR_ENGINE_H
#define STRATA_STOR_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/buf.h"
#include "strata/catalog.h"
#include "strata/status.h"

struct stor;
struct stor_db;
struct stor_wbatch;

struct cat_store;
struct crypt_policy;

struct stor_options {
    const char *data_dir;
    struct cat_store *cat;     /* the catalog (views take their snapshot from it) */
    const struct crypt_policy *pol; /* encryption of manifests and chunks; NULL = plaintext;
                                       must outlive the storage */
    int64_t partition_ns;      /* 0 = 1 day */
    size_t buffer_max_bytes;   /* per database; 0 = 64 MiB */
    int64_t persist_age_ns;    /* 0 = 10 min */
    uint32_t compact_chunks;   /* compact a partition holding this many chunks; 0 = 4 */
    uint32_t max_series_per_table; /* 0 = 10,000,000 */
    uint32_t max_tombstones_per_table; /* 0 = 10,000 */
    size_t block_cache_bytes;  /* decoded chunk blocks kept for scans; 0 = 128 MiB,
                                  SIZE_MAX = none */
};

enum st_code stor_open(const struct stor_options *o, struct stor **out, struct st_error *err);
void stor_close(struct stor *s);

/* Load (or create, when it has no directory yet) the storage of database
 * `db` from its manifest and chunk files. */
enum st_code stor_db_load(struct stor *s, const struct cat_db *db, struct st_error *err);
/* The storage of a database, with a reference (NULL when not loaded). */
struct stor_db *stor_db_get(struct stor *s, uint32_t db_id);
void stor_db_put(struct stor_db *db);
/* Forget a database and remove its files (after the catalog dropped it). */
enum st_code stor_db_drop(struct stor *s, uint32_t db_id, struct st_error *err);
/* Everything of this database up to this sequence is in chunk files. */
uint64_t stor_db_persisted_seq(struct stor_db *db);
/* Highest persisted sequence over all databases (for WAL numbering). */
uint64_t stor_max_persisted_seq(struct stor *s);
/* The WAL may drop every record <= the returned sequence: all databases
 * have persisted what those records hold. `last_seq` is the WAL's last. */
uint64_t stor_wal_safe_seq(struct stor *s, uint64_t last_seq);

/* ---- write batches ----------------------------------------------------- */

struct stor_wbatch *stor_wbatch_new(uint32_t db_id);
void stor_wbatch_free(struct stor_wbatch *wb);
/* Rows in the batch, field values in the batch. */
uint64_t stor_wbatch_rows(const struct stor_wbatch *wb);
uint64_t stor_wbatch_fields(const struct stor_wbatch *wb);

/* A tag of a series being looked up: the tag column's id and the value. */
struct stor_tag_kv {
    uint32_t col_id;
    const char *value;
    uint32_t len;
};

/* Mark / roll back: lets the facade drop the rows of one rejected line. */
struct stor_wb_mark {
    uint32_t n_series;
    uint32_t series;   /* the series the row went to, or UINT32_MAX */
    uint32_t n_rows;   /* that series' row count before the row */
    uint64_t rows, fields; /* batch counters before the row */
};

/*
 * Start a row of table `t` for the series with these tags (any order; no
 * duplicates; values non-empty) at time_ns. Resolves or creates the series
 * in the table's registry (ST_ELIMIT past max_series_per_table).
 */
enum st_code stor_wbatch_row(struct stor_wbatch *wb, struct stor_db *db,
                             const struct cat_table *t, const struct stor_tag_kv *tags,
                             uint32_t n_tags, int64_t time_ns, struct stor_wb_mark *mark,
                             struct st_error *err);
/*
 * Fast path for repeated tag sets: a hint is the exact text that named the
 * table and tag set (e.g. the line's "measurement,tags" bytes when nothing
 * was escaped); the same hint always means the same series within a batch.
 * hint_find returns the batch series index or -1; row_at starts a row for
 * it; hint_set records the hint for the current row's series.
 */
int64_t stor_wbatch_hint_find(struct stor_wbatch *wb, const void *hint, uint32_t len);
/* Across batches: when this hint text named a series of table t before (it
 * was recorded by hint_set after a good row), add that series to the batch
 * and return its index; -1 when the text is new. Saves building and hashing
 * the canonical key and the registry lookup for every series of a batch.
 * Call hint_set after the row is good, as for a new series. */
int64_t stor_wbatch_hint_known(struct stor_wbatch *wb, struct stor_db *db,
                               const struct cat_table *t, const void *hint, uint32_t len);
enum st_code stor_wbatch_row_at(struct stor_wbatch *wb, uint32_t series, int64_t time_ns,
                                struct stor_wb_mark *mark, struct st_error *err);
/* lasting: also remember the text across batches. Only when every column the
 * line names is in the published catalog (no schema change of this call
 * created one): a later batch that finds the series by its text skips the
 * column checks, and a schema change that fails to commit must not leave a
 * text mapped to columns the catalog does not hold. */
void stor_wbatch_hint_set(struct stor_wbatch *wb, const void *hint, uint32_t len, bool lasting);
/* Set a field of the current row (type is the column's). */
enum st_code stor_wbatch_field_i64(struct stor_wbatch *wb, uint32_t col_id, enum st_type type,
                                   int64_t v, struct st_error *err);
enum st_code stor_wbatch_field_f64(struct stor_wbatch *wb, uint32_t col_id, double v,
                                   struct st_error *err);
enum st_code stor_wbatch_field_bool(struct stor_wbatch *wb, uint32_t col_id, bool v,
                                    struct st_error *err);
enum st_code stor_wbatch_field_str(struct stor_wbatch *wb, uint32_t col_id, const char *p,
                                   uint32_t len, struct st_error *err);
/* All fields of the current row at once (the fast path for a line). */
struct stor_field_val {
    uint32_t col_id;
    uint8_t type;  /* ST_TYPE_* of the column */
    uint64_t bits; /* INT/UINT/FLOAT bits, BOOL 0/1 */
    const char *s; /* STRING */
    uint32_t len;
};
enum st_code stor_wbatch_fields_set(struct stor_wbatch *wb, const struct stor_field_val *f,
                                    uint32_t n, struct st_error *err);
/* Drop everything added since `mark` (the current row of a bad line). */
void stor_wbatch_rollback(struct stor_wbatch *wb, const struct stor_wb_mark *mark);

/* A delete: rows of table_id with time in [t_lo, t_hi) whose tags match
 * every predicate (tag column id EQ one of the values). */
struct stor_del_pred {
    uint32_t col_id;
    uint32_t n_values;
    const char *const *values;
};
enum st_code stor_wbatch_delete(struct stor_wbatch *wb, uint32_t table_id, int64_t t_lo,
                                int64_t t_hi, const struct stor_del_pred *preds, uint32_t n_preds,
                                struct st_error *err);
/* Rows the delete removed, counted when it was applied. */
uint64_t stor_wbatch_deleted_rows(const struct stor_wbatch *wb);

/* Serialize the batch as one WAL record (format: docs/formats/wal.md). */
enum st_code stor_wbatch_encode(const struct stor_wbatch *wb, struct st_buf *out,
                                struct st_error *err);
/* Replay one WAL record: decode it against the catalog and apply it at seq.
 * Records of databases not loaded, or at or below their persisted sequence,
 * are skipped. */
enum st_code stor_replay(struct stor *s, uint64_t seq, const uint8_t *rec, size_t len,
                         struct st_error *err);
/* Decode only (tests, fuzzing): ST_ECORRUPT on any malformed record. */
enum st_code stor_record_check(const uint8_t *rec, size_t len, struct st_error *err);

/* ---- commit --------------------------------------------------------------- */

void stor_commit_lock(struct stor_db *db);
void stor_commit_unlock(struct stor_db *db);
void stor_commit_enqueue_unlock(struct stor_db *db, struct stor_wbatch *wb, uint64_t seq);
/* durable = the WAL said the record is durable. Returns when the batch is
 * applied (or dropped, when !durable), with the result of applying it. */
enum st_code stor_commit_finish(struct stor_db *db, struct stor_wbatch *wb, bool durable,
                                struct st_error *err);

/* ---- maintenance ---------------------------------------------------------- */

/* Persist every memtable of the database to chunk files, write the manifest. */
enum st_code stor_persist(struct stor_db *db, struct st_error *err);
/* Persist when the buffers are over the size limit or older than the age
 * limit; compact partitions with many chunks. *did_work set when it did. */
enum st_code stor_maintain(struct stor_db *db, bool force, bool *did_work, struct st_error *err);
/* The database's buffers are over the size limit (a persist is due). */
bool stor_db_over_limit(struct stor_db *db);
/* Compact every partition with more than one chunk (tests, tools). */
enum st_code stor_compact(struct stor_db *db, struct st_error *err);

/* ---- after open: cleanup ----------------------------------------------------- */

/* Remove chunk files that no manifest lists (left by an interrupted persist).
 * The facade calls it once the whole open (WAL replay included) succeeded,
 * so that a failed open changes nothing. */
void stor_remove_orphans(struct stor *s);
void stor_db_remove_orphans(struct stor_db *db);

/* ---- encryption: key rotation and migration ----------------------------------- */

typedef void (*stor_progress_fn)(void *ctx, uint64_t done, uint64_t total);

struct stor_key_counts {
    uint64_t files;     /* chunk files and manifests visited */
    uint64_t rewrapped; /* data keys rewrapped (chunks) or files rewritten (manifests) */
    uint64_t current;   /* chunks already under the current key */
    uint64_t plain;     /* unencrypted chunks (left alone) */
    uint64_t skipped;   /* quarantined chunks whose header did not open */
};
/*
 * Rewrap the data key of every listed chunk of every database under the
 * policy's current master key (in place, two key slots: strata/crypt.h),
 * then rewrite every manifest under a fresh data key. Crash-safe per file.
 * The caller keeps persists and compactions out while it runs.
 */
enum st_code stor_rotate_keys(struct stor *s, struct stor_key_counts *counts,
                              stor_progress_fn progress, void *ctx, struct st_error *err);
/*
 * Migration: rewrite every chunk of the database that is not in the
 * policy's mode (encrypted or plain) through a compaction of its partition,
 * then the manifest. Quarantined data is left as it is. *rewritten counts
 * the chunks rewritten.
 */
enum st_code stor_migrate(struct stor_db *db, uint64_t *rewritten, struct st_error *err);
/* Files of a database in each mode: the manifest and the readable chunks. */
void stor_db_mode_counts(struct stor_db *db, uint64_t *encrypted, uint64_t *plain);

/* ---- integrity ------------------------------------------------------------------- */

/* A problem found by stor_verify_db. */
struct stor_problem {
    const char *path;   /* the manifest or chunk file */
    uint64_t off;       /* the bad block, 0 for the file as a whole */
    enum st_code code;  /* ST_ECORRUPT, ST_ECRYPTO, ST_EIO, ST_ENOTFOUND */
    const char *reason;
    bool quarantined;   /* the data is (now) quarantined */
    bool known;         /* it was quarantined before this check */
};
typedef void (*stor_problem_fn)(void *ctx, const struct stor_problem *p);
struct stor_verify_counts {
    uint64_t files, blocks, bytes, problems;
    uint64_t quarantined_groups, quarantined_chunks; /* newly quarantined by this check */
};
/*
 * Read the database's manifest and every listed chunk back from disk and
 * check every block (checksum or GCM tag, decoding, time order), reporting
 * each problem. Damaged row groups of loaded chunks are quarantined and the
 * manifest is rewritten to record them. progress gets (files done, total).
 */
enum st_code stor_verify_db(struct stor_db *db, stor_problem_fn fn, void *ctx,
                            stor_progress_fn progress, void *pctx,
                            struct stor_verify_counts *counts, struct st_error *err);
/* Files stor_verify_db will check (manifest + listed chunks). */
uint64_t stor_db_file_count(struct stor_db *db);

struct stor_stats {
    uint64_t quarantined_chunks; /* chunks with quarantined data */
    uint64_t quarantined_groups; /* row groups (and whole chunks) excluded from reads */
    uint64_t quarantined_rows;   /* rows excluded from reads */
    uint64_t cache_bytes, cache_hits, cache_misses;
    uint64_t buffer_bytes;
    uint64_t chunks;
    uint64_t chunk_bytes;
    uint64_t persists;
    uint64_t compactions;
};
void stor_get_stats(struct stor *s, struct stor_stats *out);

/* Open a read view of a database by id (stor_view_open in the facade
 * resolves the name and calls this). */
struct stor_view;
enum st_code stor_view_open_id(struct stor *s, uint32_t db_id, struct stor_view **out,
                               struct st_error *err);

#endif
