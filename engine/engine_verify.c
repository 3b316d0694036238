/*
 * engine_verify.c: eng_verify, the scrub of a database or of the whole data
 * directory: the catalog file, every WAL segment (whole directory only),
 * and each database's manifest and chunk files, all read back from disk and
 * checked block by block (strata/engine.h documents the contract).
 *
 * The parts do the reading (cat_decode_file, wal_verify, stor_verify_db);
 * this file walks them, turns their findings into eng_verify_problem
 * reports with the database named, keeps the counts and the progress, and
 * logs a summary. Quarantines that the storage scrub makes are logged there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"
#include "strata/wal.h"

struct vstate {
    struct eng *e;
    eng_verify_report_fn report;
    eng_verify_progress_fn progress;
    void *ctx;
    struct eng_verify_result *res;
    const char *db_name;
    uint64_t files_total, files_base;
};

static void
emit(struct vstate *v, enum eng_file_kind kind, const char *path, uint64_t off, enum st_code code,
     const char *reason, bool quarantined, bool known)
{
    st_log(ST_LOG_ERROR, "integrity", "%s%s%s\"%s\" at offset %llu: %s%s",
           v->db_name ? "database \"" : "", v->db_name ? v->db_name : "",
           v->db_name ? "\": " : "", path, (unsigned long long)off, reason,
           quarantined ? (known ? " (quarantined earlier)" : " (now quarantined)") : "");
    if (!v->report)
        return;
    struct eng_verify_problem p = {kind, path, v->db_name, off, code, reason, quarantined, known};
    v->report(v->ctx, &p);
}

static void
tick(struct vstate *v, uint64_t done)
{
    if (v->progress) {
        struct eng_verify_progress p = {v->files_base + done, v->files_total, v->res->problems};
        v->progress(v->ctx, &p);
    }
}

static void
wal_problem(void *arg, const struct wal_problem *p)
{
    emit(arg, ENG_FILE_WAL, p->path, p->offset, p->code, p->reason, false, false);
}

static enum st_code
wal_record(void *ctx, uint64_t seq, const uint8_t *rec, size_t len, struct st_error *err)
{
    (void)ctx;
    (void)seq;
    (void)err;
    struct st_error e2;
    /* a record whose tag or checksum verified but that does not decode */
    if (stor_record_check(rec, len, &e2) != ST_OK)
        return st_error_set(err, ST_ECORRUPT, "record %llu does not decode: %s",
                            (unsigned long long)seq, e2.msg);
    return ST_OK;
}

static void
stor_problem(void *arg, const struct stor_problem *p)
{
    struct vstate *v = arg;
    size_t n = strlen(p->path);
    enum eng_file_kind kind =
        n >= 8 && strcmp(p->path + n - 8, "MANIFEST") == 0 ? ENG_FILE_MANIFEST : ENG_FILE_CHUNK;
    emit(v, kind, p->path, p->off, p->code, p->reason, p->quarantined, p->known);
}

static void
stor_progress(void *arg, uint64_t done, uint64_t total)
{
    (void)total;
    tick(arg, done);
}

/* The catalog file read back and decoded. */
static enum st_code
verify_catalog(struct vstate *v, struct st_error *err)
{
    const char *path = cat_store_path(v->e->cat);
    uint8_t *buf = NULL;
    size_t len = 0;
    struct st_error e2;
    enum st_code rc = st_file_read_all(path, 256u << 20, &buf, &len, &e2);
    if (rc == ST_ENOTFOUND)
        return ST_OK;
    if (rc == ST_ENOMEM)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    v->res->files++;
    if (rc == ST_OK) {
        struct cat_snapshot *s = NULL;
        char what[4200];
        snprintf(what, sizeof what, "catalog \"%s\"", path);
        rc = cat_decode_file(&v->e->pol, what, buf, len, NULL, &s, &e2);
        if (rc == ST_OK)
            cat_snapshot_unref(s);
        v->res->blocks++;
        v->res->bytes += len;
    }
    free(buf);
    if (rc == ST_ENOMEM)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc != ST_OK) {
        v->res->problems++;
        emit(v, ENG_FILE_CATALOG, path, 0, rc, e2.msg, false, false);
    }
    return ST_OK;
}

static enum st_code
verify_db(struct vstate *v, const struct cat_db *cdb, struct st_error *err)
{
    struct stor_db *db = stor_db_get(v->e->stor, cdb->id);
    if (!db)
        return ST_OK;
    struct stor_verify_counts k;
    memset(&k, 0, sizeof k);
    v->db_name = cdb->name;
    uint64_t n = stor_db_file_count(db);
    enum st_code rc = stor_verify_db(db, stor_problem, v, stor_progress, v, &k, err);
    v->db_name = NULL;
    v->files_base += n;
    v->res->files += k.files;
    v->res->blocks += k.blocks;
    v->res->bytes += k.bytes;
    v->res->problems += k.problems;
    v->res->quarantined_groups += k.quarantined_groups;
    v->res->quarantined_chunks += k.quarantined_chunks;
    stor_db_put(db);
    if (rc != ST_OK)
        st_error_prefix(err, "verifying database \"%s\": ", cdb->name);
    return rc;
}

enum st_code
eng_verify(struct eng *e, const char *db, eng_verify_report_fn report,
           eng_verify_progress_fn progress, void *ctx, struct eng_verify_result *res,
           struct st_error *err)
{
    struct eng_verify_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (!e)
        return st_error_set(err, ST_EINVAL, "no engine");
    struct vstate v = {e, report, progress, ctx, res, NULL, 0, 0};
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    const struct cat_db *only = NULL;
    if (db) {
        only = cat_snapshot_find_db(s, db);
        if (!only) {
            cat_snapshot_unref(s);
            enum st_code rc = eng_name_check("database", db, strlen(db), err);
            return rc != ST_OK ? rc
                               : st_error_set(err, ST_ENOTFOUND, "database \"%s\" does not exist",
                                              db);
        }
    }
    struct wal_stats ws;
    wal_get_stats(e->wal, &ws);
    v.files_total = 1 + (db ? 0 : ws.n_segments);
    for (uint32_t i = 0; i < cat_snapshot_n_dbs(s); i++) {
        const struct cat_db *d = cat_snapshot_db_at(s, i);
        if (only && d != only)
            continue;
        struct stor_db *sd = stor_db_get(e->stor, d->id);
        if (sd) {
            v.files_total += stor_db_file_count(sd);
            stor_db_put(sd);
        }
    }
    int64_t t0 = st_mono_ns();
    enum st_code rc = verify_catalog(&v, err);
    v.files_base = 1;
    tick(&v, 0);
    if (rc == ST_OK && !db) {
        uint64_t files = 0, recs = 0, bytes = 0, problems = 0;
        rc = wal_verify(e->wal, wal_record, NULL, wal_problem, &v, &files, &recs, &bytes,
                        &problems, err);
        res->files += files;
        res->blocks += recs;
        res->bytes += bytes;
        res->problems += problems;
        v.files_base += ws.n_segments;
        tick(&v, 0);
    }
    for (uint32_t i = 0; i < cat_snapshot_n_dbs(s) && rc == ST_OK; i++) {
        const struct cat_db *d = cat_snapshot_db_at(s, i);
        if (!only || d == only)
            rc = verify_db(&v, d, err);
    }
    cat_snapshot_unref(s);
    if (rc != ST_OK)
        return rc;
    st_log(res->problems ? ST_LOG_ERROR : ST_LOG_INFO, "integrity",
           "verify %s%s%s: %llu files, %llu blocks, %llu bytes in %.1f s: %llu problems "
           "(%llu row groups and %llu chunks newly quarantined)",
           db ? "database \"" : "the data directory", db ? db : "", db ? "\"" : "",
           (unsigned long long)res->files, (unsigned long long)res->blocks,
           (unsigned long long)res->bytes, (double)(st_mono_ns() - t0) / 1e9,
           (unsigned long long)res->problems, (unsigned long long)res->quarantined_groups,
           (unsigned long long)res->quarantined_chunks);
    if (res->problems)
        return st_error_set(err, ST_ECORRUPT, "%llu problem%s found", (unsigned long long)res->problems,
                            res->problems == 1 ? "" : "s");
    return ST_OK;
}
