/*
 * engine.h: the interface to the Strata engine, and the only engine header
 * the gateway and tools may include.
 *
 * The engine stores time series in databases of tables (measurements) with
 * tag, field and time columns; it takes writes as line protocol and answers
 * SQL with a pull stream of columnar batches. It knows nothing of gRPC,
 * protobuf, users or tenants: callers pass names and bytes, and decide who
 * may do what before they call.
 *
 * Threading: one `struct eng` is shared by all threads. Every function here
 * is thread-safe except that a cursor is used by one thread at a time.
 * Durability: eng_write returns only after the accepted lines are in the WAL
 * and fsync'd (unless no_sync is set); a crash never loses an acknowledged
 * write and never shows half of a batch.
 */
#ifndef STRATA_ENGINE_H
#define STRATA_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/batch.h"
#include "strata/status.h"

struct eng;
struct eng_cursor;

/* ---- open / close ---------------------------------------------------- */

struct eng_options {
    const char *data_dir;       /* required; created if missing (mode 0700) */
    int64_t partition_ns;       /* time partition width; 0 = 1 day */
    size_t buffer_max_bytes;    /* persist a database's buffers beyond this; 0 = default */
    int64_t persist_age_ns;     /* persist buffers older than this; 0 = default (10 min) */
    int64_t group_commit_ns;    /* max wait to batch WAL fsyncs; 0 = default */
    bool background;            /* run the persist thread (servers: true; tools/tests may not) */
    /* Limits (0 = the documented default). */
    uint32_t max_databases;
    uint32_t max_tables_per_db;
    uint32_t max_columns_per_table;
    /* Decoded chunk blocks kept in memory for scans (0 = 128 MiB; SIZE_MAX = none). */
    size_t block_cache_bytes;
};

/* Open (and recover) the engine on a data directory. NULL with err set on failure. */
struct eng *eng_open(const struct eng_options *opts, struct st_error *err);
/* Persist nothing more, sync the WAL, stop background work, free everything. NULL-safe. */
void eng_close(struct eng *e);

/* ---- databases ------------------------------------------------------- */

/* Validate a database, table or column name; ST_EINVAL with the reason. */
enum st_code eng_name_check(const char *kind, const char *name, size_t len, struct st_error *err);
enum st_code eng_db_create(struct eng *e, const char *db, struct st_error *err);
enum st_code eng_db_drop(struct eng *e, const char *db, struct st_error *err);
bool eng_db_exists(struct eng *e, const char *db);
/* Names of all databases, sorted; caller frees with eng_strv_free. */
enum st_code eng_db_list(struct eng *e, char ***names_out, size_t *n_out, struct st_error *err);
void eng_strv_free(char **v, size_t n);

/* ---- writes ---------------------------------------------------------- */

enum eng_precision {
    ENG_PREC_NS = 0,
    ENG_PREC_US,
    ENG_PREC_MS,
    ENG_PREC_S,
    ENG_PREC_AUTO, /* guess per timestamp from its magnitude (InfluxDB 3 `auto`) */
};

struct eng_write_opts {
    enum eng_precision precision;
    bool partial;        /* write the good lines even if some are bad */
    bool create_db;      /* create the database if it does not exist */
    bool no_sync;        /* acknowledge before the WAL fsync */
    int64_t now_ns;      /* time for lines without a timestamp; 0 = the clock */
    uint32_t max_errors; /* per-line errors to report; 0 = 100 */
};

struct eng_line_error {
    uint32_t line;        /* 1-based, counting every line of the body */
    uint32_t column;      /* 1-based byte column in that line */
    enum st_code code;    /* ST_EPARSE, ST_ETYPE, ST_ELIMIT, ST_EINVAL */
    char msg[256];
    char excerpt[64];     /* the start of the offending line */
};

struct eng_write_result {
    uint64_t lines_ok;
    uint64_t lines_rejected;
    uint64_t fields_written;
    uint32_t n_errors;             /* errors reported (<= max_errors) */
    struct eng_line_error *errors; /* owned; release with eng_write_result_cleanup */
};

/*
 * Write line protocol to a database.
 *   ST_OK         every line accepted and durable;
 *   ST_EPARTIAL   opts.partial and some lines rejected: the rest are durable;
 *   ST_EPARSE / ST_ETYPE / ST_ELIMIT
 *                 a line was rejected and !opts.partial: nothing was written;
 *   ST_ENOTFOUND  no such database and !opts.create_db;
 *   ST_EIO ...    nothing acknowledged.
 * Per-line errors are in res (also for ST_OK with blank lines: none).
 */
enum st_code eng_write(struct eng *e, const char *db, const char *lp, size_t len,
                       const struct eng_write_opts *opts, struct eng_write_result *res,
                       struct st_error *err);
void eng_write_result_cleanup(struct eng_write_result *res);

/* ---- deletes --------------------------------------------------------- */

enum eng_tag_op { ENG_TAG_EQ = 0, ENG_TAG_IN };

struct eng_tag_match {
    const char *tag;
    enum eng_tag_op op;
    uint32_t n_values;
    const char *const *values;
};

/* Delete the rows of `table` with time in [t_lo, t_hi) matching every tag match. */
struct eng_delete {
    const char *table;
    int64_t t_lo, t_hi;
    uint32_t n_tags;
    const struct eng_tag_match *tags;
};

/* Durable like a write; the rows disappear for every later reader. Returns
 * rows deleted when known, through n_deleted (may be NULL). */
enum st_code eng_delete_rows(struct eng *e, const char *db, const struct eng_delete *d,
                             uint64_t *n_deleted, struct st_error *err);

/* ---- queries --------------------------------------------------------- */

/* A typed query parameter, bound to `$name` in the SQL. */
struct eng_param {
    const char *name; /* without the '$' */
    enum st_type type; /* ST_TYPE_NULL for NULL */
    union {
        int64_t i;
        uint64_t u;
        double f;
        bool b;
        struct {
            const char *ptr;
            size_t len;
        } s;
    } v;
};

struct eng_query_opts {
    const struct eng_param *params;
    uint32_t n_params;
    int64_t deadline_mono_ns;      /* 0 = none; compared with st_mono_ns() */
    const atomic_int *cancel;      /* non-zero = stop with ST_ECANCELLED; may be NULL */
    uint64_t max_result_bytes;     /* 0 = default (1 GiB) */
    uint32_t batch_rows;           /* rows per output batch; 0 = 2048 */
    bool read_only;                /* refuse DELETE and other statements that change data */
};

/*
 * Start a query on database `db` (NULL or "" only for statements that need
 * none). Errors carry the byte offset in the SQL text. On success the
 * cursor owns everything the query needs until eng_cursor_free.
 */
enum st_code eng_query(struct eng *e, const char *db, const char *sql, size_t sql_len,
                       const struct eng_query_opts *opts, struct eng_cursor **out,
                       struct st_error *err);
/* The result schema; valid until eng_cursor_free. */
const struct st_schema *eng_cursor_schema(const struct eng_cursor *c);
/* Next batch, or *out = NULL at the end. The batch is valid until the next call. */
enum st_code eng_cursor_next(struct eng_cursor *c, const struct st_batch **out,
                             struct st_error *err);

struct eng_query_stats {
    uint64_t rows_out;
    uint64_t bytes_out;
    uint64_t rows_scanned;
    uint32_t partitions_read;
    uint32_t blocks_read;
    int64_t elapsed_ns;
};
void eng_cursor_stats(const struct eng_cursor *c, struct eng_query_stats *out);
void eng_cursor_free(struct eng_cursor *c);

/*
 * Copy SQL into buf with every literal replaced by `?` and whitespace
 * collapsed, for logs and audit (never log raw SQL). Always NUL-terminates.
 */
void eng_sql_normalize(const char *sql, size_t len, char *buf, size_t buflen);

/* ---- maintenance ----------------------------------------------------- */

/* Persist every in-memory buffer to chunk files and truncate the WAL. */
enum st_code eng_persist(struct eng *e, struct st_error *err);
/* Sync the WAL (for no_sync writes). */
enum st_code eng_sync(struct eng *e, struct st_error *err);

struct eng_stats {
    uint64_t rows_written;
    uint64_t bytes_written;
    uint64_t wal_bytes;
    uint64_t buffer_bytes;
    uint64_t chunks;
    uint64_t chunk_bytes;
    uint64_t persists;
};
void eng_get_stats(struct eng *e, struct eng_stats *out);

#endif
