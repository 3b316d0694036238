/*
 * engine_int.h: the engine facade's private state, shared by engine.c
 * (open, close, databases, maintenance), engine_write.c (writes and
 * deletes) and engine_query.c (queries, owned by the SQL work).
 *
 * The facade sequences the parts: line protocol -> catalog -> storage batch
 * -> WAL -> storage apply; and recovery: catalog -> storage (manifests,
 * chunks) -> WAL replay.
 */
#ifndef STRATA_ENGINE_INT_H
#define STRATA_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "strata/catalog_store.h"
#include "strata/crypt.h"
#include "strata/engine.h"
#include "strata/stor_engine.h"
#include "strata/wal.h"

struct eng_keyring {
    struct crypt_keyring *kr;
};

struct eng {
    struct eng_options o;
    char *data_dir;
    int lock_fd;
    /* encryption: the engine's own keyring (rotation adds to it) and the
     * policy every part reads and writes its files under */
    struct crypt_keyring *keys;
    struct crypt_policy pol;
    struct cat_store *cat;
    struct stor *stor;
    struct wal *wal;
    pthread_mutex_t db_mu;    /* database create / drop / load */
    pthread_mutex_t maint_mu; /* persist + WAL truncation */
    pthread_t bg;
    bool bg_running;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    bool bg_stop;
    atomic_uint_fast64_t rows_written, bytes_written;
};

/* The storage of database `name` (loaded on demand), with a reference. */
enum st_code eng__db(struct eng *e, const char *name, bool create, struct stor_db **out,
                     uint32_t *db_id, struct st_error *err);
/* Persist one database (or all when db == NULL) and truncate the WAL. */
enum st_code eng__persist(struct eng *e, struct stor_db *db, bool force, struct st_error *err);
/* Set up e->keys and e->pol from the options (engine_crypt.c). */
enum st_code eng__crypt_setup(struct eng *e, const struct eng_options *o, struct st_error *err);
/* Convert the opened data directory to the configured mode (engine_crypt.c). */
enum st_code eng__migrate(struct eng *e, struct st_error *err);

#endif
