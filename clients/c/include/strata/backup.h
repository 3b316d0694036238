/*
 * backup.h: out-of-band backups of a Strata database in line protocol
 * (part of libstrata, since 0.2).
 *
 * strata_backup() reads every table of a database through the query API and
 * writes one gzip'd line-protocol file per table plus a manifest;
 * strata_backup_verify() re-reads a backup, checks it against its manifest
 * and compares it row by row with live data; strata_restore() writes a
 * backup into a new or empty database through the write API. The format and
 * the guarantees are in docs/backup.md; in short:
 *
 *   DIR/<table>.lp.gz  the table's rows as line protocol, one line per row,
 *                      in the canonical order (time, then the tag values in
 *                      tag-name order, absent first, bytewise) and the
 *                      canonical spelling (tags and fields sorted by name,
 *                      NULL fields left out, shortest round-trip floats,
 *                      `i`/`u` integers, `true`/`false`, ns timestamps);
 *   DIR/manifest.json  format version, database, time of the backup, and per
 *                      table: file, rows, time range, columns, the SHA-256
 *                      of the line protocol (the content digest) and of the
 *                      file;
 *   DIR/SHA256SUMS     `sha256sum -c` format, for every file above.
 *
 * Because the content digest is taken over the canonical text, the same rows
 * give the same digest whatever the database, the storage layout or the
 * compression; verify recomputes it from the files and from the live data.
 *
 * Every function returns an enum st_code and fills the NULL-safe st_error;
 * the codes double as exit codes of the `strata` CLI (docs/cli.md).
 */
#ifndef STRATA_BACKUP_H
#define STRATA_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The manifest format this library writes (and the newest it reads). */
#define STRATA_BACKUP_FORMAT_VERSION 1

/* Progress of a backup, verify or restore, reported after each batch of rows
 * (at most about ten times a second) and once more with `done` at the end. */
struct strata_backup_progress {
    const char *phase;    /* "backup", "check", "verify", "restore" */
    const char *table;    /* the table being worked on; NULL between tables */
    uint32_t table_index; /* 1-based */
    uint32_t n_tables;
    uint64_t rows;       /* rows done so far, all tables */
    uint64_t rows_total; /* rows expected in all (0 when unknown) */
    uint64_t lp_bytes;   /* line protocol bytes so far (uncompressed) */
    uint64_t file_bytes; /* gzip bytes written or read so far */
    double elapsed_s;
    bool done;
};
typedef void (*strata_backup_progress_fn)(const struct strata_backup_progress *p, void *arg);

/* ---- backup ------------------------------------------------------------------ */

struct strata_backup_opts {
    const char *database;      /* required */
    const char *dir;           /* required; created (mode 0700) when missing */
    const char *const *tables; /* only these tables (each must exist); NULL: all */
    size_t n_tables;
    bool force;              /* write into a non-empty dir (replaces manifest and files) */
    int compression_level;   /* gzip level 1..9; 0: 6 */
    uint64_t rows_per_query; /* rows per ordered query window; 0: 500,000 */
    strata_backup_progress_fn progress;
    void *progress_arg;
};

struct strata_backup_summary {
    uint32_t n_tables;
    uint64_t rows;
    uint64_t lp_bytes;   /* line protocol, uncompressed */
    uint64_t file_bytes; /* gzip files */
};

/*
 * Back up `opts->database` into `opts->dir`. Files are written to temporary
 * names, fsync'd and renamed; the manifest is written last, so a directory
 * without manifest.json is an incomplete backup. On failure every file this
 * call created is removed again.
 * Errors: ST_EINVAL (bad options), ST_EEXISTS (dir not empty and !force),
 * ST_EIO (dir not writable, disk full), ST_ENOTFOUND (no such database or
 * table), ST_ECORRUPT (the server sent rows out of order or a row that line
 * protocol cannot carry), and every error of strata_query.
 * `out` may be NULL.
 */
enum st_code strata_backup(struct strata *c, const struct strata_backup_opts *opts,
                           struct strata_backup_summary *out, struct st_error *err);

/* ---- verify -------------------------------------------------------------------- */

/* One difference found by verify. */
struct strata_backup_diff {
    const char *table; /* NULL for the backup as a whole */
    const char *what;  /* "file", "manifest", "rows", "time range", "content", "row",
                          "schema", "table" */
    const char *message;
};
typedef void (*strata_backup_diff_fn)(const struct strata_backup_diff *d, void *arg);

struct strata_verify_opts {
    const char *dir;           /* required */
    const char *database;      /* compare with this database; NULL: the manifest's */
    const char *const *tables; /* only these tables of the backup; NULL: all */
    size_t n_tables;
    bool offline;               /* check the files only; no server (c may be NULL) */
    uint32_t max_row_diffs;     /* differing rows reported per table; 0: 10 */
    uint64_t rows_per_query;    /* 0: 500,000 */
    strata_backup_diff_fn diff; /* called for each difference; may be NULL */
    void *diff_arg;
    strata_backup_progress_fn progress;
    void *progress_arg;
};

struct strata_verify_summary {
    uint32_t n_tables;
    uint64_t rows;          /* rows read from the backup files */
    uint32_t n_differences; /* differences reported */
    char database[256];     /* the database compared with ("" offline; cut to 255 bytes) */
};

/*
 * Check a backup: SHA256SUMS against manifest.json, every file's SHA-256,
 * the line protocol of every file (parsed, canonical, in canonical order,
 * of the table's columns and types), its row count, time range and content
 * digest against the manifest; then, unless offline, the live database:
 * the same tables and columns, and row by row the same data (reporting the
 * first max_row_diffs differing rows of each table), which implies the same
 * row counts, time ranges and content digests.
 * Returns ST_OK when nothing differs, ST_ECORRUPT when something does (each
 * difference went to opts->diff), and other codes when the check could not
 * be done (ST_EIO no readable manifest, ST_EIO/ST_EUNAUTHENTICATED/... from
 * the server). `out` may be NULL.
 */
enum st_code strata_backup_verify(struct strata *c, const struct strata_verify_opts *opts,
                                  struct strata_verify_summary *out, struct st_error *err);

/* ---- restore ------------------------------------------------------------------- */

struct strata_restore_opts {
    const char *dir;           /* required */
    const char *database;      /* restore into this database; NULL: the manifest's */
    const char *const *tables; /* only these tables of the backup; NULL: all */
    size_t n_tables;
    uint64_t chunk_bytes; /* bytes of line protocol per write request; 0: 1 MiB */
    bool no_sync;         /* let the server answer before its WAL fsync */
    strata_backup_progress_fn progress;
    void *progress_arg;
    strata_backup_diff_fn diff; /* problems found by the check before writing */
    void *diff_arg;
};

struct strata_restore_summary {
    uint32_t n_tables;       /* tables written */
    uint32_t n_empty_tables; /* tables without rows in the backup (not recreated) */
    uint64_t rows;
    uint64_t lp_bytes;
};

/*
 * Restore a backup into a new or empty database. First the whole backup is
 * checked offline (as strata_backup_verify with offline set; nothing is
 * written if anything is wrong: ST_ECORRUPT). Then the target database must
 * not exist or have no tables (else ST_EPRECONDITION); it is created when
 * missing. Each table file is sent in requests of about chunk_bytes, each
 * all or nothing (a request refused as overloaded is retried). At the end
 * the row count and time range of every restored table are compared with
 * the manifest (ST_ECORRUPT when they differ). A failure part way leaves the
 * rows of the requests already acknowledged; the message says how far it
 * got. `out` may be NULL.
 */
enum st_code strata_restore(struct strata *c, const struct strata_restore_opts *opts,
                            struct strata_restore_summary *out, struct st_error *err);

#ifdef __cplusplus
}
#endif
#endif
