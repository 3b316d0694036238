/*
 * stor_keys.c: storage's side of encryption at rest beyond reading and
 * writing files: key rotation over every chunk and manifest, migrations of a
 * database between plaintext and encrypted files, the count of files in
 * each mode, and the removal of unlisted chunk files once an open succeeded.
 *
 * Rotation rewraps a chunk's data key in place (two key slots in its
 * header, strata/crypt.h: the new wrapping is written and synced beside the
 * old one before the old one is cleared), so no data block is rewritten; a
 * manifest is small and simply written again under a fresh data key, with
 * the usual atomic replace. Both run under the database's persist mutex, so
 * no chunk or manifest is being written meanwhile.
 *
 * A migration rewrites what is in the other mode through the ordinary
 * paths: a persist (buffers become chunks in the new mode), a forced
 * compaction of each partition holding a chunk of the old mode (a new chunk
 * replaces them, atomically, through the manifest), then the manifest. Each
 * step is crash-safe; a migration cut short leaves a readable mix that the
 * next migration finishes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stor_int.h"
#include "strata/file.h"
#include "strata/log.h"

/* Databases loaded now, each with a reference. */
static struct stor_db **
dbs_ref(struct stor *s, uint32_t *n_out)
{
    pthread_mutex_lock(&s->mu);
    struct stor_db **v = calloc(s->n_dbs + 1, sizeof *v);
    uint32_t n = 0;
    for (uint32_t i = 0; v && i < s->n_dbs; i++) {
        v[n] = s->dbs[i];
        atomic_fetch_add(&v[n]->refs, 1);
        n++;
    }
    pthread_mutex_unlock(&s->mu);
    *n_out = n;
    return v;
}

static void
dbs_put(struct stor_db **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        stor_db_put(v[i]);
    free(v);
}

void
stor_remove_orphans(struct stor *s)
{
    uint32_t n;
    struct stor_db **v = dbs_ref(s, &n);
    for (uint32_t i = 0; v && i < n; i++)
        stor_db_remove_orphans(v[i]);
    dbs_put(v, n);
}

static bool
manifest_exists(const struct stor_db *db)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/MANIFEST", db->dir);
    return stat(path, &st) == 0;
}

/* Rewrap one chunk's key area in place. */
static enum st_code
rotate_chunk(struct stor *s, const struct stor_chunk *c, struct stor_key_counts *k,
             struct st_error *err)
{
    /* a chunk quarantined whole (never read again) is rotated when its header
     * still opens, and skipped otherwise */
    bool placeholder = atomic_load(&c->whole_bad);
    if (!placeholder && !c->enc) {
        k->plain++;
        return ST_OK;
    }
    struct st_error e2;
    int fd = st_file_open(c->path, O_RDWR, 0, &e2);
    if (fd < 0) {
        if (placeholder) { /* missing or unreadable */
            k->skipped++;
            return ST_OK;
        }
        if (err)
            *err = e2;
        return ST_EIO;
    }
    uint8_t hdr[16];
    enum st_code rc = st_file_pread_all(fd, hdr, sizeof hdr, 0, c->path, &e2);
    bool changed = false;
    if (rc == ST_OK && memcmp(hdr, "STRTCHK1", 8) == 0 && (hdr[10] & 1))
        rc = crypt_slots_rotate_fd(s->o.pol->keys, "chunk", fd, c->path, 32, &changed, &e2);
    else if (rc == ST_OK && !placeholder)
        rc = st_error_set(&e2, ST_ECORRUPT, "chunk \"%s\": header changed under the engine",
                          c->path);
    else if (rc == ST_OK)
        k->plain++;
    st_file_close(fd);
    if (rc != ST_OK && placeholder) {
        st_log(ST_LOG_WARN, "storage", "key rotation skipped quarantined chunk: %s", e2.msg);
        k->skipped++;
        return ST_OK;
    }
    if (rc != ST_OK) {
        if (err)
            *err = e2;
        st_error_prefix(err, "rotating the key of chunk \"%s\": ", c->path);
        return rc;
    }
    if (hdr[10] & 1)
        (*(changed ? &k->rewrapped : &k->current))++;
    return ST_OK;
}

uint64_t
stor_db_file_count(struct stor_db *db)
{
    struct stor_dbver *v = stor__db_version(db, NULL);
    uint64_t n = 1; /* the manifest */
    for (uint32_t i = 0; i < v->n_parts; i++)
        n += v->parts[i]->n_chunks;
    stor__ver_unref(v);
    return n;
}

enum st_code
stor_rotate_keys(struct stor *s, struct stor_key_counts *k, stor_progress_fn progress, void *ctx,
                 struct st_error *err)
{
    memset(k, 0, sizeof *k);
    if (!crypt_policy_encrypts(s->o.pol))
        return st_error_set(err, ST_EINVAL, "encryption is off: there are no keys to rotate");
    uint32_t n_dbs;
    struct stor_db **dbs = dbs_ref(s, &n_dbs);
    if (!dbs)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    uint64_t total = 0, done = 0;
    for (uint32_t i = 0; i < n_dbs; i++)
        total += stor_db_file_count(dbs[i]);
    enum st_code rc = ST_OK;
    for (uint32_t i = 0; i < n_dbs && rc == ST_OK; i++) {
        struct stor_db *db = dbs[i];
        pthread_mutex_lock(&db->persist_mu);
        if (atomic_load(&db->dropped)) {
            pthread_mutex_unlock(&db->persist_mu);
            continue;
        }
        struct stor_dbver *v = stor__db_version(db, NULL);
        for (uint32_t p = 0; p < v->n_parts && rc == ST_OK; p++) {
            for (uint32_t c = 0; c < v->parts[p]->n_chunks && rc == ST_OK; c++) {
                rc = rotate_chunk(s, v->parts[p]->chunks[c], k, err);
                k->files++;
                if (progress)
                    progress(ctx, ++done, total);
            }
        }
        stor__ver_unref(v);
        if (rc == ST_OK && manifest_exists(db)) {
            pthread_mutex_lock(&db->ver_mu);
            rc = stor__manifest_write(db, db->ver, atomic_load(&db->persisted_seq), err);
            pthread_mutex_unlock(&db->ver_mu);
            if (rc == ST_OK) {
                k->files++;
                k->rewrapped++;
            } else {
                st_error_prefix(err, "rewriting the manifest of database %u: ", db->id);
            }
        }
        if (progress)
            progress(ctx, ++done, total);
        pthread_mutex_unlock(&db->persist_mu);
    }
    dbs_put(dbs, n_dbs);
    return rc;
}

void
stor_db_mode_counts(struct stor_db *db, uint64_t *encrypted, uint64_t *plain)
{
    *encrypted = *plain = 0;
    pthread_mutex_lock(&db->persist_mu);
    if (manifest_exists(db))
        (*(db->man_encrypted ? encrypted : plain))++;
    pthread_mutex_unlock(&db->persist_mu);
    struct stor_dbver *v = stor__db_version(db, NULL);
    for (uint32_t p = 0; p < v->n_parts; p++)
        for (uint32_t c = 0; c < v->parts[p]->n_chunks; c++) {
            const struct stor_chunk *ch = v->parts[p]->chunks[c];
            if (!atomic_load(&ch->whole_bad))
                (*(ch->enc ? encrypted : plain))++;
        }
    stor__ver_unref(v);
}

enum st_code
stor_migrate(struct stor_db *db, uint64_t *rewritten, struct st_error *err)
{
    bool target = crypt_policy_encrypts(db->s->o.pol);
    *rewritten = 0;
    ST_TRY(stor_persist(db, err));
    enum st_code rc = ST_OK;
    pthread_mutex_lock(&db->persist_mu);
    if (atomic_load(&db->dropped)) {
        pthread_mutex_unlock(&db->persist_mu);
        return ST_OK;
    }
    /* the partitions to rewrite, from one version (compaction makes new ones) */
    struct stor_dbver *v = stor__db_version(db, NULL);
    for (uint32_t p = 0; p < v->n_parts && rc == ST_OK; p++) {
        const struct stor_part *pt = v->parts[p];
        uint32_t other = 0;
        bool bad = false;
        for (uint32_t c = 0; c < pt->n_chunks; c++) {
            other += pt->chunks[c]->enc != target && !atomic_load(&pt->chunks[c]->whole_bad);
            bad |= atomic_load(&pt->chunks[c]->n_bad) != 0;
        }
        if (!other)
            continue;
        if (bad) {
            st_log(ST_LOG_WARN, "storage",
                   "migration leaves a partition of table %u in database %u as it is: it holds "
                   "quarantined data",
                   pt->table_id, db->id);
            continue;
        }
        rc = stor__compact_part(db, pt->table_id, pt->start, 0, true, err);
        if (rc == ST_OK)
            *rewritten += other;
    }
    stor__ver_unref(v);
    if (rc == ST_OK && (manifest_exists(db) || *rewritten)) {
        pthread_mutex_lock(&db->ver_mu);
        rc = stor__manifest_write(db, db->ver, atomic_load(&db->persisted_seq), err);
        pthread_mutex_unlock(&db->ver_mu);
    }
    pthread_mutex_unlock(&db->persist_mu);
    return rc;
}
