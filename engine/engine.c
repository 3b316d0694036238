/*
 * engine.c: the engine facade: open and recover, close, databases,
 * maintenance (persist, compaction, WAL truncation, the background thread),
 * statistics, and read views by name.
 *
 * Data directory:
 *   LOCK                 flock'ed while open (one engine per directory)
 *   catalog.bin          the catalog (cat_file.c)
 *   wal/<seq>.wal        WAL segments (wal_format.c)
 *   db/<db_id>/MANIFEST  chunks and tombstones of a database (stor_persist.c)
 *   db/<db_id>/<table_id>/<chunk_id>.chk   chunk files (stor_chunk.c)
 * Only ids appear in paths: no database, table or column name ever does.
 *
 * Recovery on open: the catalog; every database's manifest and chunk files;
 * then the WAL, replaying each record above its database's persisted
 * sequence. Torn WAL tails are cut (wal.c). Only then are unlisted chunk
 * files and directories of dropped databases removed: a failed open (a
 * missing key, a refused encryption mode) changes nothing.
 *
 * Encryption (engine_crypt.c): every part reads and writes its files under
 * one policy (e->pol) holding the engine's keyring.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"
#include "strata/storage.h"

static enum st_code
replay_cb(void *ctx, uint64_t seq, const uint8_t *rec, size_t len, struct st_error *err)
{
    struct eng *e = ctx;
    enum st_code rc = stor_replay(e->stor, seq, rec, len, err);
    if (rc != ST_OK)
        st_error_prefix(err, "replaying WAL record %llu: ", (unsigned long long)seq);
    return rc;
}

static void *bg_main(void *arg);

/* Remove db/<id> directories of databases the catalog no longer has (a
 * drop interrupted by a crash after the catalog was saved). */
static void
remove_dropped_dirs(struct eng *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/db", e->data_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        unsigned long id = strtoul(de->d_name, &end, 10);
        if (*end || end == de->d_name || id > UINT32_MAX ||
            cat_snapshot_db_by_id(s, (uint32_t)id))
            continue;
        char path[4200];
        struct st_error err;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        st_log(ST_LOG_NOTICE, "engine", "removing \"%s\": its database was dropped", path);
        if (st_remove_tree(path, &err) != ST_OK)
            st_log(ST_LOG_WARN, "engine", "%s", err.msg);
    }
    cat_snapshot_unref(s);
    closedir(d);
}

static enum st_code
lock_dir(struct eng *e, struct st_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/LOCK", e->data_dir);
    e->lock_fd = st_file_open(path, O_RDWR | O_CREAT, 0600, err);
    if (e->lock_fd < 0)
        return ST_EIO;
    if (flock(e->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return st_error_set(err, ST_EAGAIN, "data directory \"%s\" is in use by another process",
                            e->data_dir);
    return ST_OK;
}

struct eng *
eng_open(const struct eng_options *opts, struct st_error *err)
{
    if (!opts || !opts->data_dir || !opts->data_dir[0]) {
        st_error_set(err, ST_EINVAL, "no data directory");
        return NULL;
    }
    if (opts->partition_ns < 0) {
        st_error_set(err, ST_EINVAL, "partition width must be positive");
        return NULL;
    }
    struct eng *e = calloc(1, sizeof *e);
    if (!e) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    e->o = *opts;
    e->o.keyring = NULL; /* the engine keeps its own copy (e->keys) */
    e->lock_fd = -1;
    e->data_dir = strdup(opts->data_dir);
    pthread_mutex_init(&e->db_mu, NULL);
    pthread_mutex_init(&e->maint_mu, NULL);
    pthread_mutex_init(&e->bg_mu, NULL);
    pthread_cond_init(&e->bg_cv, NULL);
    enum st_code rc = eng__crypt_setup(e, opts, err);
    if (rc == ST_OK)
        rc = e->data_dir ? st_mkdir_p(e->data_dir, 0700, err)
                         : st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc == ST_OK)
        rc = lock_dir(e, err);
    /* Everything is read and checked first (the catalog, every manifest and
     * chunk, every WAL segment's header and key); nothing on disk changes
     * before that succeeded, so a wrong key or a refused mode leaves the
     * directory exactly as it was. */
    struct cat_limits lim = {opts->max_databases, opts->max_tables_per_db,
                             opts->max_columns_per_table};
    if (rc == ST_OK)
        rc = cat_store_open(e->data_dir, &lim, &e->pol, &e->cat, err);
    if (rc == ST_OK) {
        struct stor_options so = {
            .data_dir = e->data_dir,
            .cat = e->cat,
            .pol = &e->pol,
            .partition_ns = opts->partition_ns,
            .buffer_max_bytes = opts->buffer_max_bytes,
            .persist_age_ns = opts->persist_age_ns,
            .block_cache_bytes = opts->block_cache_bytes,
        };
        rc = stor_open(&so, &e->stor, err);
    }
    if (rc == ST_OK) {
        struct cat_snapshot *s = cat_store_snapshot(e->cat);
        for (uint32_t i = 0; i < cat_snapshot_n_dbs(s) && rc == ST_OK; i++)
            rc = stor_db_load(e->stor, cat_snapshot_db_at(s, i), err);
        cat_snapshot_unref(s);
    }
    if (rc == ST_OK) {
        char wdir[4096];
        snprintf(wdir, sizeof wdir, "%s/wal", e->data_dir);
        struct wal_options wo = {.dir = wdir, .pol = &e->pol,
                                 .group_commit_ns = opts->group_commit_ns};
        rc = wal_open(&wo, stor_max_persisted_seq(e->stor) + 1, replay_cb, e, &e->wal, err);
    }
    if (rc == ST_OK) {
        /* leftovers of interrupted persists and drops */
        stor_remove_orphans(e->stor);
        remove_dropped_dirs(e);
    }
    if (rc == ST_OK && opts->encryption_migrate)
        rc = eng__migrate(e, err);
    if (rc == ST_OK && opts->background) {
        if (pthread_create(&e->bg, NULL, bg_main, e) != 0)
            rc = st_error_set(err, ST_EINTERNAL, "cannot start the persist thread");
        else
            e->bg_running = true;
    }
    if (rc != ST_OK) {
        st_error_prefix(err, "opening \"%s\": ", opts->data_dir);
        eng_close(e);
        return NULL;
    }
    st_log(ST_LOG_INFO, "engine", "opened \"%s\" (WAL at sequence %llu)", e->data_dir,
           (unsigned long long)wal_last_seq(e->wal));
    return e;
}

void
eng_close(struct eng *e)
{
    if (!e)
        return;
    if (e->bg_running) {
        pthread_mutex_lock(&e->bg_mu);
        e->bg_stop = true;
        pthread_cond_signal(&e->bg_cv);
        pthread_mutex_unlock(&e->bg_mu);
        pthread_join(e->bg, NULL);
    }
    if (e->wal) {
        struct st_error err;
        if (wal_sync(e->wal, 0, &err) != ST_OK)
            st_log(ST_LOG_ERROR, "engine", "final WAL sync failed: %s", err.msg);
    }
    wal_close(e->wal);
    stor_close(e->stor);
    cat_store_close(e->cat);
    if (e->lock_fd >= 0)
        st_file_close(e->lock_fd);
    pthread_mutex_destroy(&e->db_mu);
    pthread_mutex_destroy(&e->maint_mu);
    pthread_mutex_destroy(&e->bg_mu);
    pthread_cond_destroy(&e->bg_cv);
    crypt_keyring_free(e->keys);
    free(e->data_dir);
    free(e);
}

/* ---- databases ------------------------------------------------------------------ */

enum st_code
eng_name_check(const char *kind, const char *name, size_t len, struct st_error *err)
{
    return cat_name_check(kind, name, len, err);
}

static enum st_code
db_create_locked(struct eng *e, const char *name, struct st_error *err)
{
    struct cat_txn *t = cat_txn_begin(e->cat);
    if (!t)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    enum st_code rc = cat_txn_db_create(t, name, strlen(name), NULL, err);
    if (rc != ST_OK) {
        cat_txn_abort(t);
        return rc;
    }
    rc = cat_txn_commit(t, err);
    if (rc != ST_OK)
        return rc;
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    const struct cat_db *db = cat_snapshot_find_db(s, name);
    rc = db ? stor_db_load(e->stor, db, err) : st_error_set(err, ST_EINTERNAL, "lost database");
    cat_snapshot_unref(s);
    return rc;
}

enum st_code
eng_db_create(struct eng *e, const char *db, struct st_error *err)
{
    if (!e || !db)
        return st_error_set(err, ST_EINVAL, "no database name");
    pthread_mutex_lock(&e->db_mu);
    enum st_code rc = db_create_locked(e, db, err);
    pthread_mutex_unlock(&e->db_mu);
    return rc;
}

enum st_code
eng_db_drop(struct eng *e, const char *db, struct st_error *err)
{
    if (!e || !db)
        return st_error_set(err, ST_EINVAL, "no database name");
    pthread_mutex_lock(&e->db_mu);
    struct cat_txn *t = cat_txn_begin(e->cat);
    uint32_t id = 0;
    enum st_code rc = t ? cat_txn_db_drop(t, db, &id, err) : ST_ENOMEM;
    if (rc != ST_OK)
        cat_txn_abort(t);
    else
        rc = cat_txn_commit(t, err);
    if (rc == ST_OK)
        rc = stor_db_drop(e->stor, id, err);
    pthread_mutex_unlock(&e->db_mu);
    return rc;
}

bool
eng_db_exists(struct eng *e, const char *db)
{
    if (!e || !db)
        return false;
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    bool ok = cat_snapshot_find_db(s, db) != NULL;
    cat_snapshot_unref(s);
    return ok;
}

enum st_code
eng_db_list(struct eng *e, char ***names_out, size_t *n_out, struct st_error *err)
{
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    uint32_t n = cat_snapshot_n_dbs(s);
    char **v = calloc(n + 1, sizeof *v);
    enum st_code rc = v ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n && rc == ST_OK; i++) {
        v[i] = strdup(cat_snapshot_db_at(s, i)->name);
        if (!v[i])
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
    }
    cat_snapshot_unref(s);
    if (rc != ST_OK) {
        eng_strv_free(v, n);
        return rc;
    }
    *names_out = v;
    *n_out = n;
    return ST_OK;
}

void
eng_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

enum st_code
eng__db(struct eng *e, const char *name, bool create, struct stor_db **out, uint32_t *db_id,
        struct st_error *err)
{
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    const struct cat_db *cdb = cat_snapshot_find_db(s, name);
    uint32_t id = cdb ? cdb->id : 0;
    cat_snapshot_unref(s);
    if (!cdb) {
        if (!create) {
            enum st_code rc = eng_name_check("database", name, strlen(name), err);
            return rc != ST_OK ? rc
                               : st_error_set(err, ST_ENOTFOUND, "database \"%s\" does not exist",
                                              name);
        }
        pthread_mutex_lock(&e->db_mu);
        enum st_code rc = db_create_locked(e, name, err);
        pthread_mutex_unlock(&e->db_mu);
        if (rc != ST_OK && rc != ST_EEXISTS)
            return rc;
        return eng__db(e, name, false, out, db_id, err);
    }
    *out = stor_db_get(e->stor, id);
    if (!*out)
        return st_error_set(err, ST_ENOTFOUND, "database \"%s\" does not exist", name);
    if (db_id)
        *db_id = id;
    return ST_OK;
}

/* ---- views ----------------------------------------------------------------------- */

enum st_code
stor_view_open(struct eng *e, const char *db, struct stor_view **out, struct st_error *err)
{
    if (!e || !db)
        return st_error_set(err, ST_EINVAL, "no database");
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    const struct cat_db *cdb = cat_snapshot_find_db(s, db);
    uint32_t id = cdb ? cdb->id : 0;
    cat_snapshot_unref(s);
    if (!cdb)
        return st_error_set(err, ST_ENOTFOUND, "database \"%s\" does not exist", db);
    return stor_view_open_id(e->stor, id, out, err);
}

/* ---- maintenance ------------------------------------------------------------------- */

static enum st_code
truncate_wal(struct eng *e, struct st_error *err)
{
    uint64_t safe = stor_wal_safe_seq(e->stor, wal_durable_seq(e->wal));
    return wal_truncate(e->wal, safe, err);
}

enum st_code
eng__persist(struct eng *e, struct stor_db *only, bool force, struct st_error *err)
{
    enum st_code rc = ST_OK;
    pthread_mutex_lock(&e->maint_mu);
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    bool did = false;
    for (uint32_t i = 0; i < cat_snapshot_n_dbs(s) && rc == ST_OK; i++) {
        const struct cat_db *cdb = cat_snapshot_db_at(s, i);
        struct stor_db *db = stor_db_get(e->stor, cdb->id);
        if (!db)
            continue;
        if (!only || db == only) {
            rc = stor_maintain(db, force, &did, err);
            if (rc != ST_OK)
                st_error_prefix(err, "database \"%s\": ", cdb->name);
        }
        stor_db_put(db);
    }
    cat_snapshot_unref(s);
    if (rc == ST_OK && (did || force))
        rc = truncate_wal(e, err);
    pthread_mutex_unlock(&e->maint_mu);
    return rc;
}

enum st_code
eng_persist(struct eng *e, struct st_error *err)
{
    if (!e)
        return st_error_set(err, ST_EINVAL, "no engine");
    ST_TRY(wal_sync(e->wal, 0, err));
    return eng__persist(e, NULL, true, err);
}

enum st_code
eng_sync(struct eng *e, struct st_error *err)
{
    if (!e)
        return st_error_set(err, ST_EINVAL, "no engine");
    return wal_sync(e->wal, 0, err);
}

void
eng_get_stats(struct eng *e, struct eng_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!e)
        return;
    out->rows_written = atomic_load(&e->rows_written);
    out->bytes_written = atomic_load(&e->bytes_written);
    struct wal_stats ws;
    wal_get_stats(e->wal, &ws);
    out->wal_bytes = ws.bytes_on_disk;
    struct stor_stats ss;
    stor_get_stats(e->stor, &ss);
    out->buffer_bytes = ss.buffer_bytes;
    out->chunks = ss.chunks;
    out->chunk_bytes = ss.chunk_bytes;
    out->persists = ss.persists;
    out->quarantined_chunks = ss.quarantined_chunks;
    out->quarantined_groups = ss.quarantined_groups;
    out->quarantined_rows = ss.quarantined_rows;
    out->encrypted = crypt_policy_encrypts(&e->pol);
}

static void *
bg_main(void *arg)
{
    struct eng *e = arg;
    int64_t tick_ns = 200 * ST_NS_PER_MS;
    pthread_mutex_lock(&e->bg_mu);
    while (!e->bg_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t at = (int64_t)ts.tv_sec * ST_NS_PER_SEC + ts.tv_nsec + tick_ns;
        ts.tv_sec = (time_t)(at / ST_NS_PER_SEC);
        ts.tv_nsec = (long)(at % ST_NS_PER_SEC);
        pthread_cond_timedwait(&e->bg_cv, &e->bg_mu, &ts);
        if (e->bg_stop)
            break;
        pthread_mutex_unlock(&e->bg_mu);
        struct st_error err;
        st_error_clear(&err);
        /* no_sync writes become durable within a tick */
        if (wal_pending_bytes(e->wal) && wal_sync(e->wal, 0, &err) != ST_OK)
            st_log(ST_LOG_ERROR, "engine", "background WAL sync failed: %s", err.msg);
        if (eng__persist(e, NULL, false, &err) != ST_OK)
            st_log(ST_LOG_ERROR, "engine", "background persist failed: %s", err.msg);
        pthread_mutex_lock(&e->bg_mu);
    }
    pthread_mutex_unlock(&e->bg_mu);
    return NULL;
}
