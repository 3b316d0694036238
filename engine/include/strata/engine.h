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
struct eng_keyring;

/* ---- master keys (encryption at rest; docs/encryption.md) ------------- */

/*
 * A keyring holds the master keys an engine may use: the current one wraps
 * the data key of every new file; older ones are kept only to open files
 * written before a rotation. A master key is 32 random bytes, named by its
 * key id (16 hex characters derived from the key; it reveals nothing of it).
 * Keys are never logged and never written to the data directory.
 */
#define ENG_KEY_ID_LEN 16 /* hex characters of a key id */

/* An empty keyring (NULL on ENOMEM); free with eng_keyring_free (NULL-safe,
 * wipes the keys). */
struct eng_keyring *eng_keyring_new(void);
void eng_keyring_free(struct eng_keyring *kr);
/* Add a key given as 64 hex characters (surrounding whitespace allowed;
 * e.g. from $STRATA_MASTER_KEY). The first key added, or one added with
 * make_current, is the current key. ST_EINVAL on a malformed key. */
enum st_code eng_keyring_add_hex(struct eng_keyring *kr, const char *hex, size_t len,
                                 bool make_current, struct st_error *err);
/* Add the key of a key file (64 hex characters). Refuses a file readable or
 * writable by group or others (ST_EPERMISSION, "run chmod 600"), a missing
 * one (ST_ENOTFOUND) and a malformed one (ST_EINVAL). */
enum st_code eng_keyring_add_file(struct eng_keyring *kr, const char *path, bool make_current,
                                  struct st_error *err);
/* Create a key file holding a fresh random key (mode 0600, never
 * overwriting: ST_EIO when it exists) and add the key to kr as current (kr
 * may be NULL). kid_out (may be NULL) gets its key id. For servers that
 * create a key on first start. */
enum st_code eng_key_generate_file(const char *path, struct eng_keyring *kr,
                                   char kid_out[ENG_KEY_ID_LEN + 1], struct st_error *err);
/* The current key's id; false when the keyring is empty. */
bool eng_keyring_current_id(const struct eng_keyring *kr, char out[ENG_KEY_ID_LEN + 1]);

/*
 * Sealed files for other modules (the policy store, a token pepper, ...):
 * a small file written whole, in the same envelope as the engine's catalog
 * and manifests (docs/encryption.md): magic "STRTENV1", a version, flags, a
 * length, the key area when encrypted, the body, a CRC-32C. With a keyring
 * holding a key the body is AES-256-GCM encrypted under a fresh data key
 * wrapped by the keyring's current key; with kr NULL it is plaintext (still
 * framed and checksummed). `kind` (1..24 characters a-z, 0-9, '-', e.g.
 * "policy") is bound into the wrapping and the tag: a file of one kind does
 * not open as another. Write *out with an atomic replace; free it with free().
 * ST_EINVAL (bad kind), ST_ENOMEM, ST_ECRYPTO.
 */
enum st_code eng_file_seal(const struct eng_keyring *kr, const char *kind, const void *body,
                           size_t len, uint8_t **out, size_t *out_len, struct st_error *err);
/*
 * Open a file written by eng_file_seal: the checksum, then (encrypted) the
 * data key under any key of kr and the tag, before a byte of the body is
 * returned (*body malloc'd, NUL-terminated, not counted; free it). With
 * require_encrypted a plaintext file is refused (ST_ECRYPTO, "... is not
 * encrypted"); an encrypted one needs kr. `what` names the file in messages.
 * *was_encrypted (may be NULL) says which it was, e.g. to seal it again
 * encrypted (a migration) or under a new key (after eng_rotate_key).
 * ST_ECORRUPT (damage, or not a sealed file), ST_ECRYPTO (no key, wrong key,
 * refused mode), ST_EUNSUPPORTED (a newer format), ST_ENOMEM.
 */
enum st_code eng_file_unseal(const struct eng_keyring *kr, bool require_encrypted,
                             const char *kind, const char *what, const uint8_t *file, size_t len,
                             uint8_t **body, size_t *body_len, bool *was_encrypted,
                             struct st_error *err);
/* Whether bytes start like a sealed file (to tell one from an older plain format). */
bool eng_file_is_sealed(const uint8_t *file, size_t len);

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
    /*
     * Encryption at rest (docs/encryption.md). With `encryption` every file
     * the engine writes (WAL segments, chunks, manifests, the catalog) is
     * AES-256-GCM encrypted under its own data key, wrapped by the keyring's
     * current master key. eng_open copies the keyring (the caller may free it
     * after). Servers turn encryption on; zeroed options mean no encryption.
     *
     * The data directory must be in the configured mode: an unencrypted one
     * opened with encryption on, or an encrypted one opened with encryption
     * off, is refused with ST_ECRYPTO saying so, and nothing is changed.
     * With `encryption_migrate` instead, eng_open converts it to the
     * configured mode (encrypting needs the key; decrypting needs the old
     * key in the keyring): every file is rewritten, crash-safe step by step;
     * an interrupted migration is finished by the next one.
     *
     * A file encrypted under a master key that is not in the keyring fails
     * the open with ST_ECRYPTO naming the key id the file expects and the
     * ids configured; nothing is changed.
     */
    const struct eng_keyring *keyring;
    bool encryption;
    bool encryption_migrate;
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
    /* Integrity: data excluded from queries because it was found damaged
     * (see eng_verify). Non-zero means data is lost to queries until it is
     * restored from a backup: export these as metrics and alert on them. */
    uint64_t quarantined_chunks; /* chunk files holding quarantined data */
    uint64_t quarantined_groups; /* row groups (or whole chunks) quarantined */
    uint64_t quarantined_rows;   /* rows excluded from queries */
    bool encrypted;              /* files are written encrypted */
};
void eng_get_stats(struct eng *e, struct eng_stats *out);

/* ---- key rotation ------------------------------------------------------ */

struct eng_rotate_progress {
    uint64_t files_done, files_total;
};
typedef void (*eng_rotate_progress_fn)(void *ctx, const struct eng_rotate_progress *p);

struct eng_rotate_result {
    uint64_t files;           /* files visited: catalog, manifests, chunks, WAL segments */
    uint64_t rewrapped;       /* data keys rewrapped (or small files rewritten) */
    uint64_t already_current; /* files already under the new key (a resumed rotation) */
    uint64_t skipped;         /* quarantined chunks whose header could not be opened */
    char new_key_id[ENG_KEY_ID_LEN + 1];
};

/*
 * Rotate the master key: new_keys' current key becomes the engine's current
 * key (every key of new_keys is added to the engine's keyring, so it may
 * hold the new key alone), then every file's data key is rewrapped under it
 * without rewriting any data: chunk and WAL headers in place (two key
 * slots: the new wrapping is made durable before the old one is cleared),
 * the catalog and manifests rewritten whole (atomic replace). Writes and
 * queries go on meanwhile; persists and compactions wait.
 *
 * Crash-safe: a crash (or an error) mid-rotation leaves every file openable
 * with the old key or the new one, as long as both are configured; running
 * the rotation again finishes it. After it returned ST_OK the old key can be
 * retired: open with the new key alone.
 *
 * Errors: ST_EINVAL (encryption is off, or new_keys is empty), ST_EIO,
 * ST_ECORRUPT (a damaged header), with the file named. res may be NULL.
 */
enum st_code eng_rotate_key(struct eng *e, const struct eng_keyring *new_keys,
                            eng_rotate_progress_fn progress, void *ctx,
                            struct eng_rotate_result *res, struct st_error *err);

/* ---- integrity: damaged data and the scrub ------------------------------ */

/*
 * Every stored block is verified (CRC-32C, or the GCM tag of an encrypted
 * file) before any byte of it is used. A query touching a damaged block
 * fails with ST_ECORRUPT naming the file and the block (eng_cursor_next);
 * none of its rows is ever returned. Its row group (one series' <= 4096
 * rows in that chunk) is then quarantined: later queries skip it and
 * succeed without those rows. A chunk file that cannot be opened (missing,
 * damaged header or index) is quarantined whole when the database loads.
 * Quarantined data is lost to queries until it is restored from a backup:
 * it is logged as an error (again at every start), counted in eng_stats,
 * recorded in the database's manifest, and its file is kept as it is
 * (never compacted). docs/storage.md and docs/encryption.md have the rules.
 */

enum eng_file_kind {
    ENG_FILE_CATALOG = 1,
    ENG_FILE_MANIFEST,
    ENG_FILE_CHUNK,
    ENG_FILE_WAL,
};

/* One problem found by eng_verify. Valid during the callback only. */
struct eng_verify_problem {
    enum eng_file_kind kind;
    const char *path;     /* the file */
    const char *db;       /* the database, or NULL (catalog, WAL) */
    uint64_t offset;      /* byte offset of the bad block or record; 0: the file as a whole */
    enum st_code code;    /* ST_ECORRUPT (checksum, tag, format), ST_ECRYPTO (key), ST_EIO */
    const char *reason;   /* e.g. "authentication tag mismatch (damaged or tampered)" */
    bool quarantined;     /* the data is quarantined: excluded from queries */
    bool known;           /* it was quarantined before this scrub */
};
typedef void (*eng_verify_report_fn)(void *ctx, const struct eng_verify_problem *p);

struct eng_verify_progress {
    uint64_t files_done, files_total;
    uint64_t problems;
};
typedef void (*eng_verify_progress_fn)(void *ctx, const struct eng_verify_progress *p);

struct eng_verify_result {
    uint64_t files;    /* files checked */
    uint64_t blocks;   /* blocks and records checked */
    uint64_t bytes;    /* bytes read */
    uint64_t problems; /* problems reported (including data quarantined before) */
    uint64_t quarantined_groups, quarantined_chunks; /* newly quarantined by this scrub */
};

/*
 * Scrub: read back and verify every block of every file of database `db`
 * (its manifest and chunk files), or of everything when db is NULL (also
 * the catalog and every WAL segment), from disk, bypassing every cache:
 * checksums or GCM tags (the tag is checked before anything is decoded),
 * decoding, time order, record structure. Each bad block is reported with
 * its file and offset. A damaged row group is quarantined (queries skip it;
 * logged as an error; counted in eng_stats) and recorded in the manifest.
 * Writes and queries go on meanwhile.
 *
 * Returns ST_OK when nothing is wrong, ST_ECORRUPT ("N problems found") when
 * something is (the details went to report), or another code when the scrub
 * could not run (ST_ENOTFOUND: no such database). report, progress and res
 * may be NULL.
 */
enum st_code eng_verify(struct eng *e, const char *db, eng_verify_report_fn report,
                        eng_verify_progress_fn progress, void *ctx,
                        struct eng_verify_result *res, struct st_error *err);

#endif
