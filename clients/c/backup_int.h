/*
 * backup_int.h: internals of libstrata's backup, verify and restore
 * (backup_*.c), shared by those files and by their unit tests and fuzz
 * targets; other modules cannot reach it.
 *
 * The pieces, bottom up:
 *   backup_row.c       a table's columns (struct bk_schema), a row
 *                      (struct bk_row), its canonical line-protocol text and
 *                      the canonical row order;
 *   backup_lp.c        the strict parser of that text (backup files are
 *                      untrusted input);
 *   backup_io.c        SHA-256, the gzip file writer (temporary name, fsync,
 *                      rename) and reader, file names for tables;
 *   backup_manifest.c  manifest.json and SHA256SUMS, written and validated;
 *   backup_scan.c      the live side: table list, schema, and an ordered
 *                      row iterator over a table in query windows;
 *   backup_file.c      the file side: a row iterator over a table file that
 *                      checks everything the manifest promises;
 *   backup_dump.c, backup_verify.c, backup_restore.c: the three operations.
 */
#ifndef STRATA_BACKUP_INT_H
#define STRATA_BACKUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/backup.h"
#include "strata/buf.h"

/* ---- limits -------------------------------------------------------------------- */

#define BK_MAX_LINE ((size_t)64 << 20)     /* longest line (row) read back */
#define BK_MAX_MANIFEST ((size_t)64 << 20) /* largest manifest.json read */
#define BK_MAX_SUMS ((size_t)16 << 20)     /* largest SHA256SUMS read */
#define BK_MAX_TABLES 100000u              /* tables in one manifest */
#define BK_MAX_COLUMNS 100000u             /* columns of one table */
#define BK_MAX_NAME 4096u                  /* bytes of a table or column name */
#define BK_DEFAULT_ROWS_PER_QUERY 500000u
#define BK_DEFAULT_CHUNK ((uint64_t)1 << 20)

/* ---- columns and rows (backup_row.c) ------------------------------------------------ */

struct bk_col {
    char *name; /* NUL-terminated (names cannot hold NUL) */
    size_t name_len;
    enum st_type type; /* tags: ST_TYPE_STRING */
    char *esc;         /* the escaped name as line protocol writes it */
    size_t esc_len;
    int src; /* column index in a query result; -1 when none */
};

/* A table's columns, tags and fields each sorted by name (bytewise). */
struct bk_schema {
    char *table;
    size_t table_len;
    char *table_esc; /* the escaped measurement */
    size_t table_esc_len;
    struct bk_col *tags;
    uint32_t n_tags;
    struct bk_col *fields;
    uint32_t n_fields;
    int time_src; /* column index of time in a query result; -1 when none */
};

enum bk_kind { BK_TIME = 0, BK_TAG, BK_FIELD };

/* Build a schema column by column (any order), then bk_schema_finish sorts
 * and checks: unique names, valid types, table and names not empty. */
void bk_schema_init(struct bk_schema *s);
enum st_code bk_schema_set_table(struct bk_schema *s, const char *name, size_t len,
                                 struct st_error *err);
enum st_code bk_schema_add(struct bk_schema *s, enum bk_kind kind, const char *name, size_t len,
                           enum st_type type, int src, struct st_error *err);
enum st_code bk_schema_finish(struct bk_schema *s, struct st_error *err);
void bk_schema_cleanup(struct bk_schema *s);
/* Index of a tag / field by name, or -1. */
int bk_schema_tag(const struct bk_schema *s, const char *name, size_t len);
int bk_schema_field(const struct bk_schema *s, const char *name, size_t len);

struct bk_val {
    bool present;
    union {
        int64_t i;
        uint64_t u;
        double f;
        bool b;
        struct {
            const char *p;
            size_t len;
        } s;
    } v;
};

/* A row of a schema: tags[n_tags] and fields[n_fields] in the schema's order. */
struct bk_row {
    int64_t time;
    struct bk_val *tags;
    struct bk_val *fields;
};

/* Allocate the value arrays of a row for a schema (all absent). */
enum st_code bk_row_alloc(struct bk_row *r, const struct bk_schema *s, struct st_error *err);
void bk_row_free(struct bk_row *r);

/*
 * Append the row's canonical line (with its '\n') to `out`. ST_ECORRUPT
 * when line protocol cannot carry the row: no field value, a name or tag
 * value ending with a backslash, a NaN or infinite float.
 */
enum st_code bk_row_format(const struct bk_schema *s, const struct bk_row *r, struct st_buf *out,
                           struct st_error *err);

/* The text of a float in a canonical line: %.15g when that reads back
 * (strtod) to exactly d, else %.16g, else %.17g; finite d only. buf of at
 * least 40 bytes; returns the length. bk_format_float takes a fast path for
 * short decimals; bk_format_float_printf is the definition (for tests). */
size_t bk_format_float(double d, char *buf, size_t cap);
size_t bk_format_float_printf(double d, char *buf, size_t cap);
/* strtod in the C locale over exactly [p, p+n); false when not a whole number. */
bool bk_parse_float(const char *p, size_t n, double *out);

/* Canonical order of two rows of the same schema: <0, 0, >0. */
int bk_row_cmp(const struct bk_schema *s, const struct bk_row *a, const struct bk_row *b);
/* The same for rows of two schemas (tags matched by name). */
int bk_row_cmp2(const struct bk_schema *sa, const struct bk_row *a, const struct bk_schema *sb,
                const struct bk_row *b);

/* A copy of a row's key (time and tags), to check the order of a stream. */
struct bk_key {
    bool set;
    int64_t time;
    uint32_t n;
    bool *present;
    size_t *off, *len;
    struct st_buf data;
};
void bk_key_init(struct bk_key *k);
void bk_key_cleanup(struct bk_key *k);
enum st_code bk_key_set(struct bk_key *k, const struct bk_schema *s, const struct bk_row *r,
                        struct st_error *err);
/* Canonical order of the key against a row of the same schema. */
int bk_key_cmp(const struct bk_key *k, const struct bk_schema *s, const struct bk_row *r);

/* Per-column counts of non-NULL values: tags[n_tags], fields[n_fields] in
 * the schema's order. */
struct bk_counts {
    uint64_t *tags, *fields;
};
enum st_code bk_counts_alloc(struct bk_counts *c, const struct bk_schema *s, struct st_error *err);
void bk_counts_free(struct bk_counts *c);
void bk_counts_add(struct bk_counts *c, const struct bk_schema *s, const struct bk_row *r);
/* The count of a column named by kind and name (rows for the time column; 0
 * for a column the schema does not have). */
uint64_t bk_counts_get(const struct bk_counts *c, const struct bk_schema *s, enum bk_kind kind,
                       const char *name, uint64_t rows);

/* "time=... host=a dc=x" for messages: the row's key, printable, cut to cap. */
void bk_row_describe(const struct bk_schema *s, const struct bk_row *r, char *buf, size_t cap);

/* SQL identifier in double quotes (inner quotes doubled), appended to b. */
enum st_code bk_sql_ident(struct st_buf *b, const char *name);

/* ---- the strict line parser (backup_lp.c) ------------------------------------------- */

enum bk_lp_status {
    BK_LP_ROW = 0, /* a row was parsed */
    BK_LP_MORE,    /* the row runs past the end of the input: read more */
    BK_LP_ERROR,   /* malformed; err says why, with the byte offset in the line */
};

/*
 * Parse one canonical line at [p, p+n) into `row` (a row of `s`; string
 * values point into `scratch` or into p). *line_len gets the bytes used,
 * newline included. at_eof: no more input follows (a line without its
 * newline is then an error, not BK_LP_MORE). The parse checks the syntax,
 * the measurement, every tag and field against the schema and its type,
 * and then that the line is exactly the canonical text of the row.
 * `canon` is a scratch buffer for that comparison.
 */
enum bk_lp_status bk_lp_parse(const struct bk_schema *s, const char *p, size_t n, bool at_eof,
                              struct bk_row *row, struct st_buf *scratch, struct st_buf *canon,
                              size_t *line_len, struct st_error *err);

/* ---- files (backup_io.c) ------------------------------------------------------------- */

#define BK_SHA256_LEN 32
#define BK_SHA256_HEX 65 /* 64 digits and NUL */

struct bk_sha256; /* opaque streaming SHA-256 */
struct bk_sha256 *bk_sha256_new(void);
void bk_sha256_update(struct bk_sha256 *h, const void *p, size_t n);
/* Final digest as 64 lower-case hex digits; the context can be reused after. */
void bk_sha256_final_hex(struct bk_sha256 *h, char hex[BK_SHA256_HEX]);
void bk_sha256_free(struct bk_sha256 *h);
void bk_sha256_hex(const void *p, size_t n, char hex[BK_SHA256_HEX]);

/* A gzip file being written: DIR/.NAME.tmp until bk_gzw_finish renames it. */
struct bk_gzw;
struct bk_gzw *bk_gzw_open(const char *dir, const char *name, int level, struct st_error *err);
enum st_code bk_gzw_write(struct bk_gzw *w, const void *p, size_t n, struct st_error *err);
/* Finish the stream, fsync, rename to DIR/NAME, fsync DIR; report the sizes
 * and SHA-256 of the uncompressed and of the file bytes. Frees w. */
enum st_code bk_gzw_finish(struct bk_gzw *w, uint64_t *raw_bytes, char raw_sha[BK_SHA256_HEX],
                           uint64_t *file_bytes, char file_sha[BK_SHA256_HEX],
                           struct st_error *err);
/* Remove the temporary file and free. NULL-safe. */
void bk_gzw_abort(struct bk_gzw *w);
/* Compressed bytes so far. */
uint64_t bk_gzw_file_bytes(const struct bk_gzw *w);

/* A gzip file being read (one or more members). */
struct bk_gzr;
/* raw_max: more uncompressed bytes than this is an error (ST_ECORRUPT). */
struct bk_gzr *bk_gzr_open(const char *path, uint64_t raw_max, struct st_error *err);
/* Up to cap uncompressed bytes; *n == 0 at the end (after the whole file
 * was read and every member ended). ST_ECORRUPT with the byte offset for bad data. */
enum st_code bk_gzr_read(struct bk_gzr *r, void *out, size_t cap, size_t *n, struct st_error *err);
/* SHA-256 and size of the file bytes read so far (all of them after the end). */
void bk_gzr_file_sha(struct bk_gzr *r, char hex[BK_SHA256_HEX]);
uint64_t bk_gzr_file_bytes(const struct bk_gzr *r);
void bk_gzr_close(struct bk_gzr *r);

/* The file name for a table: the name when it is made of [A-Za-z0-9._-] and
 * short, else a cleaned form plus "~" and 8 hex digits of its SHA-256; then
 * ".lp.gz". Malloc'd. */
char *bk_table_file_name(const char *table);
/* A file name a manifest may name: one path component of [A-Za-z0-9._~-],
 * not starting with '.', ending ".lp.gz", at most 200 bytes. */
bool bk_file_name_ok(const char *name);

/* Join dir and name with '/'; malloc'd (NULL when out of memory). */
char *bk_path(const char *dir, const char *name);

/* ---- manifest (backup_manifest.c) ---------------------------------------------------- */

struct bk_mcol {
    char *name;
    enum bk_kind kind;
    enum st_type type;
    uint64_t values; /* rows in which the column is not NULL */
};

struct bk_mtable {
    char *name;
    char *file;
    uint64_t rows;
    bool has_range; /* rows > 0 */
    int64_t time_min_ns, time_max_ns;
    struct bk_mcol *cols; /* as the source database listed them */
    uint32_t n_cols;
    uint64_t lp_bytes;
    char content_sha256[BK_SHA256_HEX];
    uint64_t file_bytes;
    char file_sha256[BK_SHA256_HEX];
};

struct bk_manifest {
    uint32_t version;
    char *database;
    int64_t created_at_ns;
    char *client_version;
    char *server; /* host:port the backup was read from */
    char *server_version; /* the server's version (WhoAmI), NULL when it did not say */
    bool all_tables;
    struct bk_mtable *tables;
    uint32_t n_tables;
};

void bk_manifest_init(struct bk_manifest *m);
void bk_manifest_cleanup(struct bk_manifest *m);
/* Append a table (the struct is moved in; its pointers are owned after). */
enum st_code bk_manifest_add(struct bk_manifest *m, struct bk_mtable *t, struct st_error *err);
void bk_mtable_cleanup(struct bk_mtable *t);

/* manifest.json text (malloc'd, NUL-terminated). */
enum st_code bk_manifest_encode(const struct bk_manifest *m, char **out, size_t *len,
                                struct st_error *err);
/* Parse and validate manifest.json text: every field present and of its
 * type, a known version, safe and unique file names, unique table names,
 * valid columns (one time column), hex digests, a time range iff rows > 0. */
enum st_code bk_manifest_decode(const char *text, size_t len, struct bk_manifest *m,
                                struct st_error *err);
/* The schema of a manifest table (for parsing its file). */
enum st_code bk_manifest_schema(const struct bk_mtable *t, struct bk_schema *s,
                                struct st_error *err);
const char *bk_type_name(enum st_type t);
const char *bk_kind_name(enum bk_kind k);

/* SHA256SUMS text for the tables' files and manifest.json. */
enum st_code bk_sums_encode(const struct bk_manifest *m, const char *manifest_sha,
                            struct st_buf *out, struct st_error *err);
/* Look a file up in SHA256SUMS text: true and its digest when listed. ST_ECORRUPT
 * for a malformed line. */
enum st_code bk_sums_find(const char *text, size_t len, const char *file, bool *found,
                          char hex[BK_SHA256_HEX], struct st_error *err);

/* ---- the live side (backup_scan.c) -------------------------------------------------- */

/* Tables of a database, sorted bytewise (ST_ENOTFOUND for no such database). */
enum st_code bk_list_tables(struct strata *c, const char *db, char ***names, size_t *n,
                            struct st_error *err);
void bk_strv_free(char **v, size_t n);

/* The live schema of a table (SELECT * ... LIMIT 0) with the result column
 * indexes of the ordered query, and the columns in the database's order. */
enum st_code bk_table_schema(struct strata *c, const char *db, const char *table,
                             struct bk_schema *s, struct bk_mcol **cols, uint32_t *n_cols,
                             struct st_error *err);

struct bk_stats {
    uint64_t rows;
    int64_t min_ns, max_ns; /* valid when rows > 0 */
};
enum st_code bk_table_stats(struct strata *c, const char *db, const char *table,
                            struct bk_stats *st, struct st_error *err);

/* An ordered iterator over a live table. The row is valid until the next call. */
struct bk_live;
struct bk_live *bk_live_open(struct strata *c, const char *db, const struct bk_schema *s,
                             const struct bk_stats *st, uint64_t rows_per_query,
                             struct st_error *err);
/* *row NULL at the end. ST_ECORRUPT when the server breaks the canonical
 * order or sends a row without fields. */
enum st_code bk_live_next(struct bk_live *l, const struct bk_row **row, struct st_error *err);
void bk_live_close(struct bk_live *l);

/* ---- the file side (backup_file.c) -------------------------------------------------- */

/* An iterator over the rows of a table file, checking as it goes: the file
 * bytes against t->file_sha256 at the end, every line strictly, the order,
 * and at the end rows, time range, lp_bytes and content digest against t. */
struct bk_file;
struct bk_file *bk_file_open(const char *dir, const struct bk_mtable *t, const struct bk_schema *s,
                             struct st_error *err);
/* *row NULL at the end; *line (may be NULL) the row's canonical text. Errors
 * name the file and the line. */
enum st_code bk_file_next(struct bk_file *f, const struct bk_row **row, const char **line,
                          size_t *line_len, struct st_error *err);
/* The file's bytes against the manifest's file_sha256 and file_bytes (read
 * at open): true when they match, else a "file" difference is reported. */
bool bk_file_sha_check(const struct bk_file *f, strata_backup_diff_fn fn, void *arg,
                       uint32_t *n_diffs);
/* After the end: rows, time range, size and content digest against the
 * manifest. Each mismatch goes to fn and is counted in *n_diffs. */
void bk_file_check_end(struct bk_file *f, strata_backup_diff_fn fn, void *arg, uint32_t *n_diffs);
uint64_t bk_file_rows(const struct bk_file *f);
uint64_t bk_file_lp_bytes(const struct bk_file *f);
uint64_t bk_file_gz_bytes(const struct bk_file *f);
void bk_file_close(struct bk_file *f);

/* ---- shared helpers (backup_verify.c) ------------------------------------------------ */

/* Count a difference in *n and hand it to fn (when not NULL). */
void bk_report(strata_backup_diff_fn fn, void *arg, uint32_t *n, const char *table,
               const char *what, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Read DIR/manifest.json and check it against DIR/SHA256SUMS (a mismatch or
 * a missing SHA256SUMS is a difference, reported through fn). */
enum st_code bk_load_manifest(const char *dir, struct bk_manifest *m, strata_backup_diff_fn fn,
                              void *arg, uint32_t *n_diffs, struct st_error *err);
/* Check every selected table file offline; differences go to fn. */
enum st_code bk_check_files(const char *dir, const struct bk_manifest *m, const bool *selected,
                            strata_backup_diff_fn fn, void *fn_arg,
                            strata_backup_progress_fn progress, void *progress_arg,
                            uint32_t *n_diffs, uint64_t *rows, struct st_error *err);
/* Mark the manifest tables named in names[] (all when n == 0); ST_ENOTFOUND
 * for a name not in the backup. *selected is malloc'd. */
enum st_code bk_select_tables(const struct bk_manifest *m, const char *const *names, size_t n,
                              bool **selected, struct st_error *err);

/* Progress pacing: true when a report is due (every ~100 ms). */
struct bk_pace {
    double t0, last;
};
void bk_pace_init(struct bk_pace *p);
bool bk_pace_due(struct bk_pace *p);
double bk_pace_elapsed(const struct bk_pace *p);

#endif
