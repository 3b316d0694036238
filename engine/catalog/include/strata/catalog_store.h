/*
 * catalog_store.h: the writing side of the catalog, for the engine facade
 * and storage: load and persist the catalog file, and change the schema in
 * transactions that publish a new immutable snapshot (catalog.h).
 *
 * One transaction at a time (the store's mutex is held from begin to
 * commit/abort). While open, the transaction's draft is a complete snapshot
 * that the caller may read with the catalog.h lookups, so a batch of lines
 * can be checked in order against the schema it is building. Commit writes
 * the whole catalog to `catalog.bin` with an atomic replace (temporary
 * file, fsync, rename, directory fsync) BEFORE it is published, so a
 * database, table or column that anyone can see is already durable; a WAL
 * record never refers to an id the catalog file does not hold.
 */
#ifndef STRATA_CATALOG_STORE_H
#define STRATA_CATALOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/catalog.h"
#include "strata/status.h"

struct cat_store;
struct cat_txn;

struct cat_limits {
    uint32_t max_databases;         /* 0 = 1000 */
    uint32_t max_tables_per_db;     /* 0 = 4000 */
    uint32_t max_columns_per_table; /* 0 = 500, counting `time` */
};

#define CAT_DEFAULT_MAX_DATABASES 1000u
#define CAT_DEFAULT_MAX_TABLES 4000u
#define CAT_DEFAULT_MAX_COLUMNS 500u
#define CAT_MAX_DB_NAME_LEN 64u
#define CAT_MAX_NAME_LEN 512u

struct crypt_policy;

/*
 * Load `<dir>/catalog.bin`, or start an empty catalog when it does not
 * exist. `pol` (may be NULL: plaintext only; it must outlive the store)
 * says whether the file may be encrypted or plain and how new versions are
 * written (strata/crypt.h). Errors: ST_ECORRUPT (damaged file), ST_ECRYPTO
 * (encrypted under a key that is not configured, or the wrong mode),
 * ST_EIO. Nothing on disk changes when it fails.
 */
enum st_code cat_store_open(const char *dir, const struct cat_limits *limits,
                            const struct crypt_policy *pol, struct cat_store **out,
                            struct st_error *err);
void cat_store_close(struct cat_store *cs);
/* The current snapshot, with a reference the caller drops (cat_snapshot_unref). */
struct cat_snapshot *cat_store_snapshot(struct cat_store *cs);

/* Validate a name. kind: "database" (InfluxDB's rule: ASCII alphanumeric
 * first, then alphanumerics, '_' and '-'; at most 64 bytes) or anything else
 * ("table", "tag", "field", "column": at most 512 bytes, valid UTF-8, no
 * control characters, '/', '\\' or "..", no leading or trailing space). */
enum st_code cat_name_check(const char *kind, const char *name, size_t len, struct st_error *err);

/* Begin a transaction (blocks while another is open). Never fails. */
struct cat_txn *cat_txn_begin(struct cat_store *cs);
/* The draft: valid until the next change, commit or abort. */
const struct cat_snapshot *cat_txn_draft(struct cat_txn *t);
/* True when the draft differs from the published snapshot. */
bool cat_txn_dirty(const struct cat_txn *t);

/* ST_EEXISTS, ST_ELIMIT, ST_EINVAL (name). */
enum st_code cat_txn_db_create(struct cat_txn *t, const char *name, size_t len, uint32_t *id_out,
                               struct st_error *err);
/* ST_ENOTFOUND. */
enum st_code cat_txn_db_drop(struct cat_txn *t, const char *name, uint32_t *id_out,
                             struct st_error *err);
/* Create table `name` with its `time` column; ST_EEXISTS, ST_ELIMIT, ST_EINVAL. */
enum st_code cat_txn_table_create(struct cat_txn *t, uint32_t db_id, const char *name,
                                  size_t len, const struct cat_table **out, struct st_error *err);
/*
 * Add a column (kind TAG with type STRING, or FIELD with a field type).
 * ST_ETYPE when the name exists with another kind or type (message as
 * InfluxDB's: "invalid column type for column 'x', expected integer, got
 * float"), ST_ELIMIT, ST_EINVAL. Existing with the same kind and type: OK.
 * *out points into the draft (valid until the next change).
 */
enum st_code cat_txn_column_add(struct cat_txn *t, uint32_t db_id, uint32_t table_id,
                                const char *name, size_t len, enum cat_col_kind kind,
                                enum st_type type, const struct cat_column **out,
                                struct st_error *err);
/* Persist and publish the draft (a no-op when clean), then end the transaction.
 * On failure nothing is published and the transaction is ended. */
enum st_code cat_txn_commit(struct cat_txn *t, struct st_error *err);
void cat_txn_abort(struct cat_txn *t);

/* Name of a column kind+type as the type-conflict message prints it. */
const char *cat_type_label(enum cat_col_kind kind, enum st_type type);

/* Whether catalog.bin on disk is encrypted (false when there is none yet). */
bool cat_store_file_encrypted(struct cat_store *cs);
/* Whether catalog.bin exists. */
bool cat_store_file_exists(struct cat_store *cs);
/* Write catalog.bin again from the published snapshot, with a fresh data
 * key under the policy's current master key (key rotation, migration). */
enum st_code cat_store_resave(struct cat_store *cs, struct st_error *err);
/* Path of catalog.bin. */
const char *cat_store_path(const struct cat_store *cs);

/* Decode a plaintext catalog file image (for tests and the fuzz target). */
enum st_code cat_decode(const uint8_t *p, size_t len, const struct cat_limits *limits,
                        struct cat_snapshot **out, struct st_error *err);
/* Decode a catalog file image under a policy; `what` names it in messages. */
enum st_code cat_decode_file(const struct crypt_policy *pol, const char *what, const uint8_t *p,
                             size_t len, const struct cat_limits *limits,
                             struct cat_snapshot **out, struct st_error *err);

#endif
