/*
 * stor_verify.c: the scrub of one database's files (stor_verify_db) and the
 * saving of quarantine records into the manifest.
 *
 * The scrub reads the manifest and every listed chunk back from disk,
 * independently of what is loaded and of the block cache, and checks every
 * block (stor__chunk_verify). A damaged row group of a loaded chunk is
 * quarantined on the spot (readers skip it from then on) and the manifest
 * is rewritten so the quarantine survives a restart. Chunks quarantined
 * before are reported again as known problems: their data is still lost to
 * queries until it is restored.
 *
 * Chunks are pinned by the version reference the scrub holds, so a
 * compaction running beside it cannot remove a file being read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"

enum st_code
stor__save_quarantine_locked(struct stor_db *db, bool *did, struct st_error *err)
{
    struct stor_dbver *v = stor__db_version(db, NULL);
    bool any = false;
    for (uint32_t p = 0; p < v->n_parts && !any; p++)
        for (uint32_t c = 0; c < v->parts[p]->n_chunks && !any; c++)
            any = atomic_load(&v->parts[p]->chunks[c]->q_unsaved);
    stor__ver_unref(v);
    if (!any)
        return ST_OK;
    pthread_mutex_lock(&db->ver_mu);
    enum st_code rc = stor__manifest_write(db, db->ver, atomic_load(&db->persisted_seq), err);
    pthread_mutex_unlock(&db->ver_mu);
    if (rc == ST_OK && did)
        *did = true;
    if (rc != ST_OK)
        st_error_prefix(err, "recording quarantined data in the manifest: ");
    return rc;
}

struct vctx {
    struct stor_db *db;
    const struct stor_chunk *c; /* the loaded chunk being checked */
    stor_problem_fn fn;
    void *ctx;
    struct stor_verify_counts *k;
};

static void
chunk_problem(void *arg, const struct chk_problem *p)
{
    struct vctx *x = arg;
    const struct stor_chunk *c = x->c;
    struct stor_problem sp = {c->path, p->off, p->code, p->reason, false, false};
    if (p->off == 0 || p->group == UINT32_MAX) {
        /* the file as a whole: its header, key, footer or index */
        sp.known = atomic_load(&c->whole_bad);
        if (p->code == ST_ECORRUPT || p->code == ST_ENOTFOUND) {
            if (stor__chunk_quarantine(c, UINT32_MAX, 0, STOR_Q_UNREADABLE, st_now_ns()))
                x->k->quarantined_chunks++;
            sp.quarantined = true;
        }
    } else {
        uint32_t g = stor__chunk_group_of(c, p->off);
        if (g != UINT32_MAX) {
            sp.known = stor__group_bad(c, g);
            if (p->code == ST_ECORRUPT) {
                if (stor__chunk_quarantine(c, g, p->off, STOR_Q_DAMAGED, st_now_ns()))
                    x->k->quarantined_groups++;
                sp.quarantined = true;
            }
        }
    }
    if (x->fn)
        x->fn(x->ctx, &sp);
}

enum st_code
stor_verify_db(struct stor_db *db, stor_problem_fn fn, void *ctx, stor_progress_fn progress,
               void *pctx, struct stor_verify_counts *k, struct st_error *err)
{
    const struct crypt_policy *pol = db->s->o.pol;
    uint64_t total = stor_db_file_count(db), done = 0;
    enum st_code rc = ST_OK;

    /* the manifest, read back */
    char path[4096];
    snprintf(path, sizeof path, "%s/MANIFEST", db->dir);
    uint8_t *buf = NULL;
    size_t len = 0;
    struct st_error e2;
    enum st_code r2 = st_file_read_all(path, ((size_t)1 << 30) + 4096, &buf, &len, &e2);
    if (r2 == ST_OK) {
        uint64_t pseq, next;
        struct chunk_meta *cm = NULL;
        struct stor_tomb **tb = NULL;
        struct man_qrec *qr = NULL;
        uint32_t nc = 0, nt = 0, nq = 0;
        char what[4200];
        snprintf(what, sizeof what, "manifest \"%s\"", path);
        r2 = stor__manifest_decode_file(pol, what, buf, len, &pseq, &next, &cm, &nc, &tb, &nt,
                                        &qr, &nq, &e2);
        free(cm);
        for (uint32_t i = 0; i < nt; i++)
            stor__tomb_unref(tb[i]);
        free(tb);
        free(qr);
        k->files++;
        k->bytes += len;
        k->blocks++;
    }
    free(buf);
    if (r2 == ST_ENOMEM)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    if (r2 != ST_OK && r2 != ST_ENOTFOUND) {
        struct stor_problem sp = {path, 0, r2, e2.msg, false, false};
        k->problems++;
        if (fn)
            fn(ctx, &sp);
    }
    if (progress)
        progress(pctx, ++done, total);

    /* every listed chunk */
    struct stor_dbver *v = stor__db_version(db, NULL);
    for (uint32_t p = 0; p < v->n_parts && rc == ST_OK; p++) {
        for (uint32_t i = 0; i < v->parts[p]->n_chunks && rc == ST_OK; i++) {
            const struct stor_chunk *c = v->parts[p]->chunks[i];
            k->files++;
            bool placeholder = atomic_load(&c->whole_bad) && c->n_groups == 0;
            if (placeholder) {
                /* quarantined when the database was loaded: report it again */
                struct chk_qrec *qr;
                uint32_t nq = stor__chunk_qrecs(c, &qr);
                uint8_t reason = nq ? qr[0].reason : STOR_Q_UNREADABLE;
                free(qr);
                char why[160];
                snprintf(why, sizeof why, "quarantined (%s): its data is excluded from queries",
                         stor__qreason_name(reason));
                struct stor_problem sp = {c->path, 0,
                                          reason == STOR_Q_MISSING ? ST_ENOTFOUND : ST_ECORRUPT,
                                          why, true, true};
                k->problems++;
                if (fn)
                    fn(ctx, &sp);
            } else {
                struct vctx x = {db, c, fn, ctx, k};
                rc = stor__chunk_verify(c->path, pol, chunk_problem, &x, &k->blocks, &k->bytes,
                                        &k->problems, err);
            }
            if (progress)
                progress(pctx, ++done, total);
        }
    }
    stor__ver_unref(v);
    if (rc == ST_OK) {
        pthread_mutex_lock(&db->persist_mu);
        if (!atomic_load(&db->dropped))
            rc = stor__save_quarantine_locked(db, NULL, err);
        pthread_mutex_unlock(&db->persist_mu);
    }
    return rc;
}
