/*
 * stor_persist.c: persisting memtables to chunk files, compacting the chunks
 * of a partition, and the manifest that lists a database's chunks.
 *
 * Persist: under the commit mutex the active memtables are frozen at the
 * visible sequence F (every row in them is <= F); the frozen memtables are
 * written as chunk files (sorted, upserts merged, deletes <= F applied);
 * the manifest is rewritten atomically listing the chunks and tombstones,
 * with persisted_seq = F; then a new version replaces the frozen memtables
 * with the chunks. Readers that still hold the old version keep reading the
 * memtables. The facade then truncates the WAL below the lowest sequence any
 * database still holds only in memory.
 *
 * Compaction: all chunks of a partition are merged into one (upserts
 * resolved in sequence order, deletes applied, tombstones no longer needed
 * dropped); the manifest is rewritten, then the old files are unlinked when
 * the last reader lets go of them.
 *
 * Manifest, `<data_dir>/db/<db_id>/MANIFEST`, replaced atomically, a
 * whole-file envelope (strata/crypt.h: plaintext, or encrypted with its own
 * data key under the master key):
 *   header  8 bytes "STRTMAN1", u16 LE version (1), u16 LE flags (bit 0:
 *           encrypted, bit 1: a quarantine list follows the tombstones),
 *           u32 LE body length
 *   [encrypted: key area, 144 bytes]
 *   body    (uvarints; zz = zigzag) persisted_seq, next_chunk_id, n_chunks, then
 *           per chunk: id, table_id, zz(part_start), min_seq, max_seq,
 *           applied_seq, n_rows, zz(t_min), zz(t_max), file_len;
 *           n_tombs, then per tombstone: table_id, seq, zz(t_lo), zz(t_hi),
 *           n_preds, per predicate: col_id, n_values, per value: len, bytes;
 *           [flag bit 1: n_quarantined, then per entry: chunk_id, group + 1
 *           (0 = the whole chunk), u8 reason, block offset, zz(when_ns)]
 *           (encrypted: sealed, block number 0)
 *   trailer u32 LE CRC-32C of header and body (encrypted: header and key area)
 * Chunk files not listed are leftovers of an interrupted persist and are
 * removed once the engine has opened (stor_remove_orphans).
 *
 * Quarantine: a chunk that cannot be opened (missing, wrong size, damaged
 * header, key area, footer or index) is listed as a placeholder, never read;
 * a row group with a damaged block is skipped by every read. Both are
 * recorded in the manifest (at the next manifest write: a persist, a
 * compaction, a maintenance pass or eng_verify) so they survive restarts.
 * Partitions holding quarantined data are not compacted: the damaged file
 * stays as it is for inspection and restore.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stor_int.h"
#include "strata/clock.h"
#include "strata/crc32c.h"
#include "strata/file.h"
#include "strata/log.h"

#define MAN_MAGIC "STRTMAN1"
#define MAN_VERSION 1
#define MAN_F_QUARANTINE 2u
#define MAN_MAX ((size_t)1 << 30)

static inline uint64_t
zz(int64_t x)
{
    return ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
}

static inline int64_t
unzz(uint64_t x)
{
    return (int64_t)(x >> 1) ^ -(int64_t)(x & 1);
}

void
stor__chunk_path(const struct stor_db *db, uint32_t table_id, uint64_t chunk_id, char *buf,
                 size_t cap)
{
    snprintf(buf, cap, "%s/%u/%016" PRIx64 ".chk", db->dir, table_id, chunk_id);
}

/* ---- manifest -------------------------------------------------------------- */

/* A manifest write failed: its quarantine records are still to be saved. */
static void
unsaved_again(const struct stor_dbver *v)
{
    for (uint32_t i = 0; i < v->n_parts; i++)
        for (uint32_t k = 0; k < v->parts[i]->n_chunks; k++)
            if (atomic_load(&v->parts[i]->chunks[k]->n_bad))
                atomic_store(&v->parts[i]->chunks[k]->q_unsaved, true);
}

enum st_code
stor__manifest_write(struct stor_db *db, const struct stor_dbver *v, uint64_t persisted_seq,
                     struct st_error *err)
{
    struct st_buf b;
    enum st_code rc = ST_OK;
    uint16_t flags = 0;
    st_buf_init(&b, MAN_MAX);
#define P(x)                                                                                       \
    do {                                                                                           \
        if ((rc = (x)) != ST_OK)                                                                   \
            goto fail;                                                                             \
    } while (0)
    P(st_buf_put_uvarint(&b, persisted_seq));
    P(st_buf_put_uvarint(&b, db->next_chunk_id));
    uint64_t n = 0, n_q = 0;
    for (uint32_t i = 0; i < v->n_parts; i++)
        n += v->parts[i]->n_chunks;
    P(st_buf_put_uvarint(&b, n));
    for (uint32_t i = 0; i < v->n_parts; i++) {
        for (uint32_t k = 0; k < v->parts[i]->n_chunks; k++) {
            const struct stor_chunk *c = v->parts[i]->chunks[k];
            P(st_buf_put_uvarint(&b, c->id));
            P(st_buf_put_uvarint(&b, c->table_id));
            P(st_buf_put_uvarint(&b, zz(c->part_start)));
            P(st_buf_put_uvarint(&b, c->min_seq));
            P(st_buf_put_uvarint(&b, c->max_seq));
            P(st_buf_put_uvarint(&b, c->applied_seq));
            P(st_buf_put_uvarint(&b, c->n_rows));
            P(st_buf_put_uvarint(&b, zz(c->t_min)));
            P(st_buf_put_uvarint(&b, zz(c->t_max)));
            P(st_buf_put_uvarint(&b, c->file_len));
            n_q += atomic_load(&c->n_bad) ? 1 : 0;
        }
    }
    P(st_buf_put_uvarint(&b, v->n_tombs));
    for (uint32_t i = 0; i < v->n_tombs; i++) {
        const struct stor_tomb *t = v->tombs[i];
        P(st_buf_put_uvarint(&b, t->table_id));
        P(st_buf_put_uvarint(&b, t->seq));
        P(st_buf_put_uvarint(&b, zz(t->t_lo)));
        P(st_buf_put_uvarint(&b, zz(t->t_hi)));
        P(st_buf_put_uvarint(&b, t->n_preds));
        for (uint32_t p = 0; p < t->n_preds; p++) {
            P(st_buf_put_uvarint(&b, t->preds[p].col_id));
            P(st_buf_put_uvarint(&b, t->preds[p].n_values));
            for (uint32_t k = 0; k < t->preds[p].n_values; k++) {
                P(st_buf_put_uvarint(&b, t->preds[p].lens[k]));
                P(st_buf_append(&b, t->preds[p].values[k], t->preds[p].lens[k]));
            }
        }
    }
    if (n_q) {
        /* the records of every chunk with quarantined data */
        struct st_buf q;
        st_buf_init(&q, MAN_MAX);
        uint64_t n_rec = 0;
        for (uint32_t i = 0; i < v->n_parts && rc == ST_OK; i++) {
            for (uint32_t k = 0; k < v->parts[i]->n_chunks && rc == ST_OK; k++) {
                const struct stor_chunk *c = v->parts[i]->chunks[k];
                if (!atomic_load(&c->n_bad))
                    continue;
                /* cleared before reading: a quarantine found meanwhile sets it again */
                atomic_store(&((struct stor_chunk *)c)->q_unsaved, false);
                struct chk_qrec *qr;
                uint32_t nq = stor__chunk_qrecs(c, &qr);
                for (uint32_t j = 0; j < nq && rc == ST_OK; j++) {
                    rc = st_buf_put_uvarint(&q, c->id);
                    if (rc == ST_OK)
                        rc = st_buf_put_uvarint(
                            &q, qr[j].group == UINT32_MAX ? 0 : (uint64_t)qr[j].group + 1);
                    if (rc == ST_OK)
                        rc = st_buf_append_byte(&q, qr[j].reason);
                    if (rc == ST_OK)
                        rc = st_buf_put_uvarint(&q, qr[j].off);
                    if (rc == ST_OK)
                        rc = st_buf_put_uvarint(&q, zz(qr[j].when_ns));
                    n_rec++;
                }
                free(qr);
            }
        }
        if (rc == ST_OK && n_rec) {
            flags |= MAN_F_QUARANTINE;
            rc = st_buf_put_uvarint(&b, n_rec);
            if (rc == ST_OK)
                rc = st_buf_append(&b, q.data, q.len);
        }
        st_buf_cleanup(&q);
        if (rc != ST_OK)
            goto fail;
    }
#undef P
    struct st_buf f;
    st_buf_init(&f, MAN_MAX + 4096);
    rc = crypt_envelope_build(db->s->o.pol, "manifest", MAN_MAGIC, MAN_VERSION, flags, b.data,
                              b.len, &f, err);
    st_buf_cleanup(&b);
    char path[4096];
    snprintf(path, sizeof path, "%s/MANIFEST", db->dir);
    if (rc == ST_OK)
        rc = st_mkdir_p(db->dir, 0700, err);
    if (rc == ST_OK)
        rc = st_file_write_atomic(path, f.data, f.len, 0600, err);
    st_buf_cleanup(&f);
    if (rc == ST_OK)
        db->man_encrypted = crypt_policy_encrypts(db->s->o.pol);
    else
        unsaved_again(v);
    return rc;
fail:
    st_buf_cleanup(&b);
    unsaved_again(v);
    return st_error_set(err, rc, "manifest too large");
}

enum st_code
stor__manifest_decode(const uint8_t *buf, size_t len, uint64_t *persisted_seq,
                      uint64_t *next_chunk_id, struct chunk_meta **chunks_out, uint32_t *n_chunks,
                      struct stor_tomb ***tombs_out, uint32_t *n_tombs_out, struct st_error *err)
{
    struct man_qrec *q = NULL;
    uint32_t nq = 0;
    enum st_code rc =
        stor__manifest_decode_file(NULL, "manifest", buf, len, persisted_seq, next_chunk_id,
                                   chunks_out, n_chunks, tombs_out, n_tombs_out, &q, &nq, err);
    free(q);
    return rc;
}

enum st_code
stor__manifest_decode_file(const struct crypt_policy *pol, const char *what, const uint8_t *file,
                           size_t flen, uint64_t *persisted_seq, uint64_t *next_chunk_id,
                           struct chunk_meta **chunks_out, uint32_t *n_chunks,
                           struct stor_tomb ***tombs_out, uint32_t *n_tombs_out,
                           struct man_qrec **q_out, uint32_t *n_q_out, struct st_error *err)
{
    *chunks_out = NULL;
    *tombs_out = NULL;
    *q_out = NULL;
    *n_chunks = *n_tombs_out = *n_q_out = 0;
    const uint8_t *body;
    size_t len;
    uint16_t ver, flags;
    uint8_t *owned = NULL;
    ST_TRY(crypt_envelope_open(pol, "manifest", what, MAN_MAGIC, MAN_VERSION, MAN_F_QUARANTINE,
                               file, flen, &ver, &flags, &body, &len, &owned, err));
    const uint8_t *p = body, *end = body + len;
    uint64_t n, v[10];
    enum st_code rc = ST_OK;
#define U(x)                                                                                       \
    do {                                                                                           \
        if (st_get_uvarint(&p, end, &(x)) != 0)                                                    \
            goto bad;                                                                              \
    } while (0)
#define NOMEM()                                                                                    \
    do {                                                                                           \
        rc = st_error_set(err, ST_ENOMEM, "out of memory");                                        \
        goto out;                                                                                  \
    } while (0)
    U(*persisted_seq);
    U(*next_chunk_id);
    U(n);
    if (n > len)
        goto bad;
    struct chunk_meta *cm = calloc(n + 1, sizeof *cm);
    if (!cm)
        NOMEM();
    *chunks_out = cm;
    for (uint64_t i = 0; i < n; i++) {
        for (int k = 0; k < 10; k++)
            U(v[k]);
        if (v[1] > UINT32_MAX || v[0] >= *next_chunk_id || v[3] > v[4])
            goto bad;
        cm[i].id = v[0];
        cm[i].table_id = (uint32_t)v[1];
        cm[i].part_start = unzz(v[2]);
        cm[i].min_seq = v[3];
        cm[i].max_seq = v[4];
        cm[i].applied_seq = v[5];
        cm[i].n_rows = v[6];
        cm[i].t_min = unzz(v[7]);
        cm[i].t_max = unzz(v[8]);
        cm[i].file_len = v[9];
        *n_chunks = (uint32_t)(i + 1);
    }
    U(n);
    if (n > len)
        goto bad;
    struct stor_tomb **tb = calloc(n + 1, sizeof *tb);
    if (!tb)
        NOMEM();
    *tombs_out = tb;
    for (uint64_t i = 0; i < n; i++) {
        struct stor_tomb *t = calloc(1, sizeof *t);
        if (!t)
            NOMEM();
        atomic_init(&t->refs, 1);
        tb[i] = t;
        *n_tombs_out = (uint32_t)(i + 1);
        uint64_t np;
        for (int k = 0; k < 4; k++)
            U(v[k]);
        U(np);
        if (v[0] > UINT32_MAX || np > 1024)
            goto bad;
        t->table_id = (uint32_t)v[0];
        t->seq = v[1];
        t->t_lo = unzz(v[2]);
        t->t_hi = unzz(v[3]);
        t->preds = calloc(np + 1, sizeof *t->preds);
        if (!t->preds)
            NOMEM();
        for (uint64_t q = 0; q < np; q++) {
            uint64_t col, nv;
            U(col);
            U(nv);
            if (col > UINT32_MAX || nv > 65536 || nv > (uint64_t)(end - p))
                goto bad;
            struct tomb_pred *pr = &t->preds[q];
            t->n_preds = (uint32_t)(q + 1);
            pr->col_id = (uint32_t)col;
            pr->values = calloc(nv + 1, sizeof *pr->values);
            pr->lens = calloc(nv + 1, sizeof *pr->lens);
            if (!pr->values || !pr->lens)
                NOMEM();
            for (uint64_t k = 0; k < nv; k++) {
                uint64_t l;
                U(l);
                if (l > (uint64_t)(end - p) || memchr(p, 0, (size_t)l))
                    goto bad;
                pr->values[k] = malloc((size_t)l + 1);
                if (!pr->values[k])
                    NOMEM();
                memcpy(pr->values[k], p, (size_t)l);
                pr->values[k][l] = '\0';
                pr->lens[k] = (uint32_t)l;
                pr->n_values = (uint32_t)(k + 1);
                p += l;
            }
        }
    }
    if (flags & MAN_F_QUARANTINE) {
        U(n);
        if (n > len)
            goto bad;
        struct man_qrec *qr = calloc(n + 1, sizeof *qr);
        if (!qr)
            NOMEM();
        *q_out = qr;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t cid, g, off, when;
            U(cid);
            U(g);
            if (p >= end)
                goto bad;
            uint8_t reason = *p++;
            U(off);
            U(when);
            if (g > UINT32_MAX || reason < STOR_Q_DAMAGED || reason > STOR_Q_MISSING)
                goto bad;
            qr[i].chunk_id = cid;
            qr[i].q.group = g ? (uint32_t)(g - 1) : UINT32_MAX;
            qr[i].q.reason = reason;
            qr[i].q.off = off;
            qr[i].q.when_ns = unzz(when);
            *n_q_out = (uint32_t)(i + 1);
        }
    }
    if (p != end)
        goto bad;
#undef U
#undef NOMEM
    goto out;
bad:
    rc = st_error_set(err, ST_ECORRUPT, "%s is malformed", what);
out:
    if (owned)
        crypt_wipe(owned, len);
    free(owned);
    return rc;
}

static void
manifest_free(struct chunk_meta *cm, struct stor_tomb **tb, uint32_t n_tombs)
{
    free(cm);
    for (uint32_t i = 0; i < n_tombs; i++)
        stor__tomb_unref(tb[i]);
    free(tb);
}

/* Remove chunk files the manifest does not list (ids in `keep`). */
static void
remove_orphans(struct stor_db *db, const uint64_t *keep_ids, const uint32_t *keep_tables,
               uint32_t n)
{
    DIR *d = opendir(db->dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        unsigned long tid = strtoul(de->d_name, &end, 10);
        if (*end || end == de->d_name)
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", db->dir, de->d_name);
        DIR *d2 = opendir(sub);
        if (!d2)
            continue;
        struct dirent *f;
        while ((f = readdir(d2)) != NULL) {
            size_t l = strlen(f->d_name);
            if (l < 5 || strcmp(f->d_name + l - 4, ".chk") != 0)
                continue;
            uint64_t id = strtoull(f->d_name, &end, 16);
            bool listed = false;
            for (uint32_t i = 0; i < n && !listed; i++)
                listed = keep_ids[i] == id && keep_tables[i] == tid;
            if (!listed) {
                char path[4200];
                snprintf(path, sizeof path, "%s/%s", sub, f->d_name);
                st_log(ST_LOG_NOTICE, "storage", "removing unlisted chunk file \"%s\"", path);
                unlink(path);
            }
        }
        closedir(d2);
    }
    closedir(d);
}

void
stor_db_remove_orphans(struct stor_db *db)
{
    pthread_mutex_lock(&db->persist_mu);
    if (atomic_load(&db->dropped)) {
        pthread_mutex_unlock(&db->persist_mu);
        return;
    }
    struct stor_dbver *v = stor__db_version(db, NULL);
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->n_parts; i++)
        n += v->parts[i]->n_chunks;
    uint64_t *ids = malloc((n + 1) * sizeof *ids);
    uint32_t *tids = malloc((n + 1) * sizeof *tids);
    if (ids && tids) {
        n = 0;
        for (uint32_t i = 0; i < v->n_parts; i++)
            for (uint32_t k = 0; k < v->parts[i]->n_chunks; k++) {
                ids[n] = v->parts[i]->chunks[k]->id;
                tids[n++] = v->parts[i]->chunks[k]->table_id;
            }
        remove_orphans(db, ids, tids, n);
    }
    free(ids);
    free(tids);
    stor__ver_unref(v);
    pthread_mutex_unlock(&db->persist_mu);
}

static int
chunk_seq_cmp(const void *a, const void *b)
{
    const struct stor_chunk *x = *(struct stor_chunk *const *)a, *y = *(struct stor_chunk *const *)b;
    return x->max_seq < y->max_seq ? -1 : x->max_seq > y->max_seq;
}

static int
tomb_cmp(const void *a, const void *b)
{
    const struct stor_tomb *x = *(struct stor_tomb *const *)a, *y = *(struct stor_tomb *const *)b;
    if (x->table_id != y->table_id)
        return x->table_id < y->table_id ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Open one listed chunk, or stand in for it when it is damaged or missing
 * (quarantined). Configuration problems (a key that is not configured, a
 * refused mode) and resource errors fail the load. */
static enum st_code
load_chunk(struct stor_db *db, const struct chunk_meta *m, struct stor_table *tab,
           const struct cat_table *ct, bool known_bad, struct stor_chunk **out,
           struct st_error *err)
{
    char cpath[4096];
    stor__chunk_path(db, m->table_id, m->id, cpath, sizeof cpath);
    if (known_bad) {
        *out = stor__chunk_placeholder(cpath, m);
        return *out ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
    }
    struct st_error e2;
    st_error_clear(&e2);
    enum st_code rc = stor__chunk_open(cpath, m, tab, ct, db->s->o.pol, out, &e2);
    if (rc == ST_OK)
        return ST_OK;
    /* damage is quarantined; a key that is not configured, a refused mode, a
     * format from a newer engine (valid checksums, unknown flags) or an I/O
     * error stops the open instead */
    if (rc != ST_ECORRUPT && rc != ST_ENOTFOUND) {
        if (err)
            *err = e2;
        return rc;
    }
    st_log(ST_LOG_ERROR, "storage", "%s", e2.msg);
    *out = stor__chunk_placeholder(cpath, m);
    if (!*out)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    stor__chunk_quarantine(*out, UINT32_MAX, 0,
                           rc == ST_ENOTFOUND ? STOR_Q_MISSING : STOR_Q_UNREADABLE, st_now_ns());
    atomic_fetch_add(&db->s->q_events, 1);
    return ST_OK;
}

enum st_code
stor__manifest_load(struct stor_db *db, struct st_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/MANIFEST", db->dir);
    uint8_t *buf = NULL;
    size_t len = 0;
    struct st_error e2;
    enum st_code rc = st_file_read_all(path, MAN_MAX + 4096, &buf, &len, &e2);
    if (rc == ST_ENOTFOUND)
        return ST_OK;
    if (rc != ST_OK) {
        if (err)
            *err = e2;
        return rc;
    }
    uint64_t pseq, next_id;
    struct chunk_meta *cm = NULL;
    struct stor_tomb **tb = NULL;
    struct man_qrec *qr = NULL;
    uint32_t n_chunks = 0, n_tombs = 0, n_q = 0;
    char what[4200];
    snprintf(what, sizeof what, "manifest \"%s\"", path);
    db->man_encrypted = len >= 12 && (buf[10] & 1);
    rc = stor__manifest_decode_file(db->s->o.pol, what, buf, len, &pseq, &next_id, &cm,
                                    &n_chunks, &tb, &n_tombs, &qr, &n_q, err);
    free(buf);
    if (rc != ST_OK) {
        manifest_free(cm, tb, n_tombs);
        free(qr);
        return rc;
    }
    struct cat_snapshot *cat = stor__cat(db->s);
    const struct cat_db *cdb = cat_snapshot_db_by_id(cat, db->id);
    struct stor_dbver *v = db->ver;
    for (uint32_t i = 0; i < n_chunks && rc == ST_OK; i++) {
        const struct cat_table *ct = cdb ? cat_db_table_by_id(cdb, cm[i].table_id) : NULL;
        if (!ct) {
            rc = st_error_set(err, ST_ECORRUPT, "%s lists a chunk of unknown table %u", what,
                              cm[i].table_id);
            break;
        }
        struct stor_table *tab = stor__db_table(db, cm[i].table_id, err);
        if (!tab) {
            rc = ST_ENOMEM;
            break;
        }
        bool whole_bad = false;
        for (uint32_t q = 0; q < n_q; q++)
            whole_bad |= qr[q].chunk_id == cm[i].id && qr[q].q.group == UINT32_MAX;
        struct stor_chunk *c;
        rc = load_chunk(db, &cm[i], tab, ct, whole_bad, &c, err);
        if (rc != ST_OK)
            break;
        /* the quarantine records of this chunk, as they were */
        for (uint32_t q = 0; q < n_q; q++) {
            if (qr[q].chunk_id != cm[i].id)
                continue;
            stor__chunk_quarantine(c, qr[q].q.group, qr[q].q.off, qr[q].q.reason,
                                   qr[q].q.when_ns);
        }
        atomic_store(&c->q_unsaved, false);
        bool found;
        uint32_t at = stor__ver_find(v, cm[i].table_id, cm[i].part_start, &found);
        if (!found) {
            struct stor_part **a = realloc(v->parts, (v->n_parts + 1) * sizeof *a);
            struct stor_part *p = stor__part_new(cm[i].table_id, cm[i].part_start);
            if (!a || !p) {
                if (a)
                    v->parts = a;
                free(p);
                stor__chunk_unref(c);
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            v->parts = a;
            memmove(&v->parts[at + 1], &v->parts[at], (v->n_parts - at) * sizeof *v->parts);
            v->parts[at] = p;
            v->n_parts++;
        }
        struct stor_part *p = v->parts[at];
        struct stor_chunk **a = realloc(p->chunks, (p->n_chunks + 1) * sizeof *a);
        if (!a) {
            stor__chunk_unref(c);
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
            break;
        }
        p->chunks = a;
        p->chunks[p->n_chunks++] = c;
    }
    for (uint32_t i = 0; i < v->n_parts; i++)
        qsort(v->parts[i]->chunks, v->parts[i]->n_chunks, sizeof(struct stor_chunk *),
              chunk_seq_cmp);
    if (rc == ST_OK && n_tombs) {
        v->tombs = tb;
        v->n_tombs = n_tombs;
        qsort(v->tombs, n_tombs, sizeof *v->tombs, tomb_cmp);
        tb = NULL;
        n_tombs = 0;
    }
    cat_snapshot_unref(cat);
    if (rc == ST_OK) {
        atomic_store(&db->persisted_seq, pseq);
        atomic_store(&db->vis_seq, pseq);
        db->next_chunk_id = next_id;
    }
    manifest_free(cm, tb, n_tombs);
    free(qr);
    return rc;
}

/* ---- helpers ------------------------------------------------------------------ */

/* The tombstones of a table matching a series. */
static uint32_t
series_tombs(const struct stor_dbver *v, uint32_t table_id, const struct stor_sent *se,
             struct stor_tomb **out, uint32_t cap)
{
    uint32_t first, n, k = 0;
    stor__ver_tombs(v, table_id, &first, &n);
    for (uint32_t i = 0; i < n && k < cap; i++)
        if (stor__tomb_matches_series(v->tombs[first + i], se))
            out[k++] = v->tombs[first + i];
    return k;
}

struct colset {
    uint32_t n, cap;
    uint32_t *ids;
    uint8_t *types;
};

static int
colset_add(struct colset *cs, uint32_t id, uint8_t type)
{
    for (uint32_t i = 0; i < cs->n; i++)
        if (cs->ids[i] == id)
            return 0;
    if (cs->n == cs->cap) {
        uint32_t cap = cs->cap ? cs->cap * 2 : 16;
        uint32_t *a = realloc(cs->ids, cap * sizeof *a);
        if (!a)
            return -1;
        cs->ids = a;
        uint8_t *b = realloc(cs->types, cap);
        if (!b)
            return -1;
        cs->types = b;
        cs->cap = cap;
    }
    cs->ids[cs->n] = id;
    cs->types[cs->n] = type;
    cs->n++;
    return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Open a chunk just written so it can join a version. */
static enum st_code
chunk_reopen(struct stor_db *db, const struct chunk_meta *m, struct stor_chunk **out,
             struct st_error *err)
{
    char path[4096];
    struct cat_snapshot *cat = stor__cat(db->s);
    const struct cat_db *cdb = cat_snapshot_db_by_id(cat, db->id);
    const struct cat_table *ct = cdb ? cat_db_table_by_id(cdb, m->table_id) : NULL;
    struct stor_table *tab = stor__db_table(db, m->table_id, err);
    enum st_code rc;
    if (!ct || !tab)
        rc = st_error_set(err, ST_ENOTFOUND, "table %u vanished during persist", m->table_id);
    else {
        stor__chunk_path(db, m->table_id, m->id, path, sizeof path);
        rc = stor__chunk_open(path, m, tab, ct, db->s->o.pol, out, err);
    }
    cat_snapshot_unref(cat);
    return rc;
}

/* Tombstones still needed after chunks changed: one is needed while some
 * chunk overlapping its range has not applied it, or some memtable may
 * hold rows older than it. */
static void
gc_tombs(struct stor_dbver *v)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < v->n_tombs; i++) {
        struct stor_tomb *t = v->tombs[i];
        bool needed = false;
        for (uint32_t p = 0; p < v->n_parts && !needed; p++) {
            const struct stor_part *pt = v->parts[p];
            if (pt->table_id != t->table_id)
                continue;
            for (uint32_t c = 0; c < pt->n_chunks && !needed; c++) {
                const struct stor_chunk *ch = pt->chunks[c];
                needed = ch->applied_seq < t->seq && ch->t_max >= t->t_lo && ch->t_min < t->t_hi;
            }
            for (uint32_t m = 0; m < pt->n_mems && !needed; m++)
                needed = pt->mems[m]->n_ser > 0 && pt->mems[m]->min_seq < t->seq;
        }
        if (needed)
            v->tombs[k++] = t;
        else
            stor__tomb_unref(t);
    }
    v->n_tombs = k;
}

/* ---- persist ------------------------------------------------------------------ */

struct frozen {
    uint32_t table_id;
    int64_t start;
    uint32_t n_mems;
    struct stor_mem **mems;
    struct stor_chunk *chunk; /* the result, or NULL when every row was deleted */
};

static enum st_code
write_frozen(struct stor_db *db, const struct stor_dbver *v, uint64_t F, struct frozen *fz,
             struct st_error *err)
{
    struct colset cols = {0};
    uint32_t *ids = NULL, n_ids = 0, cap_ids = 0;
    uint64_t min_seq = UINT64_MAX, max_seq = 0;
    enum st_code rc = ST_OK;
    for (uint32_t m = 0; m < fz->n_mems; m++) {
        struct stor_mem *mem = fz->mems[m];
        pthread_rwlock_rdlock(&mem->lock);
        if (mem->n_ser && mem->min_seq < min_seq)
            min_seq = mem->min_seq;
        if (mem->max_seq > max_seq)
            max_seq = mem->max_seq;
        for (uint32_t s = 0; s < mem->n_ser && rc == ST_OK; s++) {
            struct mem_series *ms = mem->ser[s];
            for (uint32_t c = 0; c < ms->n_cols; c++)
                if (colset_add(&cols, ms->col_ids[c], ms->types[c]) != 0)
                    rc = ST_ENOMEM;
            if (n_ids == cap_ids) {
                cap_ids = cap_ids ? cap_ids * 2 : 64;
                uint32_t *a = realloc(ids, cap_ids * sizeof *a);
                if (!a) {
                    rc = ST_ENOMEM;
                    break;
                }
                ids = a;
            }
            ids[n_ids++] = ms->series_id;
        }
        pthread_rwlock_unlock(&mem->lock);
    }
    if (rc != ST_OK) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory persisting");
        goto out;
    }
    if (n_ids == 0)
        goto out;
    qsort(ids, n_ids, sizeof *ids, u32_cmp);
    struct chunk_meta meta;
    char path[4096];
    uint64_t cid = db->next_chunk_id++;
    snprintf(path, sizeof path, "%s/%u", db->dir, fz->table_id);
    if ((rc = st_mkdir_p(path, 0700, err)) != ST_OK)
        goto out;
    stor__chunk_path(db, fz->table_id, cid, path, sizeof path);
    struct chunk_writer *w;
    if ((rc = stor__cw_open(&w, path, fz->table_id, fz->start, cols.ids, cols.types, cols.n,
                            db->s->o.pol, err)) != ST_OK)
        goto out;
    struct stor_table *tab = stor__db_table(db, fz->table_id, err);
    struct rowset rs;
    stor__rs_init(&rs, cols.ids, cols.types, cols.n);
    struct stor_tomb *tb[256];
    for (uint32_t i = 0; i < n_ids && rc == ST_OK && tab; i++) {
        if (i && ids[i] == ids[i - 1])
            continue;
        struct stor_sent *se = stor__series_at(tab, ids[i]);
        uint32_t nt = series_tombs(v, fz->table_id, se, tb, 256);
        stor__rs_reset(&rs);
        for (uint32_t m = 0; m < fz->n_mems && rc == ST_OK; m++) {
            pthread_rwlock_rdlock(&fz->mems[m]->lock);
            struct mem_series *ms = stor__mem_find(fz->mems[m], ids[i]);
            if (ms)
                rc = stor__mem_copy(ms, F, tb, nt, INT64_MIN, INT64_MAX, &rs);
            pthread_rwlock_unlock(&fz->mems[m]->lock);
        }
        if (rc == ST_OK)
            rc = stor__rs_sort_dedup(&rs);
        if (rc != ST_OK) {
            rc = st_error_set(err, rc, "out of memory persisting");
            break;
        }
        rc = stor__cw_series(w, se, &rs, err);
    }
    if (!tab && rc == ST_OK)
        rc = ST_ENOMEM;
    stor__rs_cleanup(&rs);
    if (rc != ST_OK) {
        stor__cw_abort(w);
        goto out;
    }
    if ((rc = stor__cw_finish(w, min_seq, max_seq, &meta, err)) != ST_OK)
        goto out;
    meta.id = cid;
    meta.applied_seq = F;
    if (meta.n_rows)
        rc = chunk_reopen(db, &meta, &fz->chunk, err);
out:
    free(cols.ids);
    free(cols.types);
    free(ids);
    return rc;
}

enum st_code
stor_persist(struct stor_db *db, struct st_error *err)
{
    enum st_code rc = ST_OK;
    pthread_mutex_lock(&db->persist_mu);
    if (atomic_load(&db->dropped)) {
        pthread_mutex_unlock(&db->persist_mu);
        return ST_OK;
    }
    /* Freeze. */
    pthread_mutex_lock(&db->commit_mu);
    pthread_mutex_lock(&db->ver_mu);
    uint64_t F = atomic_load(&db->vis_seq);
    struct stor_dbver *cur = db->ver;
    uint32_t n_fz = 0;
    for (uint32_t i = 0; i < cur->n_parts; i++)
        n_fz += cur->parts[i]->n_mems > 0;
    struct frozen *fz = calloc(n_fz + 1, sizeof *fz);
    struct stor_dbver *nv = fz ? stor__ver_clone(cur, 0, 0) : NULL;
    if (!nv) {
        pthread_mutex_unlock(&db->ver_mu);
        pthread_mutex_unlock(&db->commit_mu);
        pthread_mutex_unlock(&db->persist_mu);
        free(fz);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    bool tombs_dirty = db->first_dirty != 0;
    n_fz = 0;
    for (uint32_t i = 0; i < nv->n_parts; i++) {
        struct stor_part *p = nv->parts[i];
        if (!p->n_mems)
            continue;
        if (p->has_active) {
            struct stor_part *np = stor__part_clone(p, 0, 0);
            if (!np) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            np->has_active = false;
            stor__part_unref(p);
            nv->parts[i] = p = np;
        }
        fz[n_fz].table_id = p->table_id;
        fz[n_fz].start = p->start;
        fz[n_fz].n_mems = p->n_mems;
        fz[n_fz].mems = malloc(p->n_mems * sizeof(struct stor_mem *));
        if (!fz[n_fz].mems) {
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
            break;
        }
        for (uint32_t m = 0; m < p->n_mems; m++) {
            fz[n_fz].mems[m] = p->mems[m];
            atomic_fetch_add(&p->mems[m]->refs, 1);
        }
        n_fz++;
    }
    if (rc == ST_OK) {
        struct stor_dbver *old = db->ver;
        db->ver = nv;
        stor__ver_unref(old);
        db->first_dirty_since_freeze = 0;
        db->dirty_since_mono = 0;
    } else {
        stor__ver_unref(nv);
    }
    pthread_mutex_unlock(&db->ver_mu);
    pthread_mutex_unlock(&db->commit_mu);

    /* Write the chunks. */
    struct stor_dbver *v = stor__db_version(db, NULL);
    size_t freed = 0;
    for (uint32_t i = 0; i < n_fz && rc == ST_OK; i++)
        rc = write_frozen(db, v, F, &fz[i], err);
    stor__ver_unref(v);

    if (rc == ST_OK && (n_fz || tombs_dirty)) {
        /* Publish: frozen memtables out, chunks in, manifest first. */
        pthread_mutex_lock(&db->ver_mu);
        cur = db->ver;
        nv = stor__ver_clone(cur, 0, 0);
        if (!nv)
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n_fz && rc == ST_OK; i++) {
            bool found;
            uint32_t at = stor__ver_find(nv, fz[i].table_id, fz[i].start, &found);
            if (!found)
                continue;
            struct stor_part *np = stor__part_clone(nv->parts[at], 1, 0);
            if (!np) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            uint32_t k = 0;
            for (uint32_t m = 0; m < np->n_mems; m++) {
                bool was_frozen = false;
                for (uint32_t f = 0; f < fz[i].n_mems && !was_frozen; f++)
                    was_frozen = np->mems[m] == fz[i].mems[f];
                if (was_frozen)
                    stor__mem_unref(np->mems[m]);
                else
                    np->mems[k++] = np->mems[m];
            }
            np->n_mems = k;
            if (fz[i].chunk) {
                np->chunks[np->n_chunks++] = fz[i].chunk;
                atomic_fetch_add(&fz[i].chunk->refs, 1);
            }
            stor__part_unref(nv->parts[at]);
            if (np->n_chunks == 0 && np->n_mems == 0) {
                stor__part_unref(np);
                memmove(&nv->parts[at], &nv->parts[at + 1],
                        (nv->n_parts - at - 1) * sizeof *nv->parts);
                nv->n_parts--;
            } else {
                nv->parts[at] = np;
            }
        }
        if (rc == ST_OK) {
            gc_tombs(nv);
            rc = stor__manifest_write(db, nv, F, err);
        }
        if (rc == ST_OK) {
            struct stor_dbver *old = db->ver;
            db->ver = nv;
            stor__ver_unref(old);
        } else {
            stor__ver_unref(nv);
        }
        pthread_mutex_unlock(&db->ver_mu);
    }
    if (rc == ST_OK) {
        for (uint32_t i = 0; i < n_fz; i++)
            for (uint32_t m = 0; m < fz[i].n_mems; m++)
                freed += fz[i].mems[m]->bytes;
        pthread_mutex_lock(&db->commit_mu);
        db->first_dirty = db->first_dirty_since_freeze;
        pthread_mutex_unlock(&db->commit_mu);
        atomic_store(&db->persisted_seq, F);
        size_t have = atomic_load(&db->mem_bytes);
        atomic_fetch_sub(&db->mem_bytes, freed < have ? freed : have);
        atomic_fetch_add(&db->s->persists, 1);
    } else {
        /* The frozen memtables stay in the version (frozen); the next persist
         * writes them again. Chunk files written here are unlisted orphans. */
        for (uint32_t i = 0; i < n_fz; i++)
            if (fz[i].chunk)
                atomic_store(&fz[i].chunk->dead, true);
        st_error_prefix(err, "persist: ");
    }
    for (uint32_t i = 0; i < n_fz; i++) {
        for (uint32_t m = 0; m < fz[i].n_mems; m++)
            stor__mem_unref(fz[i].mems[m]);
        free(fz[i].mems);
        stor__chunk_unref(fz[i].chunk);
    }
    free(fz);
    pthread_mutex_unlock(&db->persist_mu);
    return rc;
}

/* ---- compaction --------------------------------------------------------------- */

/* Whether a part holds quarantined data (never compacted: the damaged file
 * is kept as it is). */
static bool
part_quarantined(const struct stor_part *p)
{
    for (uint32_t c = 0; c < p->n_chunks; c++)
        if (atomic_load(&p->chunks[c]->n_bad))
            return true;
    return false;
}

/* Merge chunks [from, n) of a partition (in max_seq order: always a run of
 * the newest, so that sequence ranges stay ordered) into one (force: even a
 * single chunk, to rewrite it under the current encryption policy). */
enum st_code
stor__compact_part(struct stor_db *db, uint32_t table_id, int64_t start, uint32_t from,
                   bool force, struct st_error *err)
{
    uint64_t vis;
    struct stor_dbver *v = stor__db_version(db, &vis);
    bool found;
    uint32_t at = stor__ver_find(v, table_id, start, &found);
    if (!found || from >= v->parts[at]->n_chunks ||
        v->parts[at]->n_chunks - from < (force ? 1u : 2u) || part_quarantined(v->parts[at])) {
        stor__ver_unref(v);
        return ST_OK;
    }
    struct stor_part *p = v->parts[at];
    struct colset cols = {0};
    uint32_t *ids = NULL, n_ids = 0;
    uint64_t min_seq = UINT64_MAX, max_seq = 0, total = 0;
    enum st_code rc = ST_OK;
    for (uint32_t c = from; c < p->n_chunks; c++) {
        struct stor_chunk *ch = p->chunks[c];
        total += ch->n_series;
        if (ch->min_seq < min_seq)
            min_seq = ch->min_seq;
        if (ch->max_seq > max_seq)
            max_seq = ch->max_seq;
        for (uint32_t k = 0; k < ch->n_cols; k++)
            if (colset_add(&cols, ch->col_ids[k], ch->col_types[k]) != 0)
                rc = ST_ENOMEM;
    }
    ids = malloc((total + 1) * sizeof *ids);
    if (!ids || rc != ST_OK) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory compacting");
        goto out;
    }
    for (uint32_t c = from; c < p->n_chunks; c++)
        for (uint32_t k = 0; k < p->chunks[c]->n_series; k++)
            ids[n_ids++] = p->chunks[c]->ser[k].series_id;
    qsort(ids, n_ids, sizeof *ids, u32_cmp);
    char path[4096];
    uint64_t cid = db->next_chunk_id++;
    stor__chunk_path(db, table_id, cid, path, sizeof path);
    struct chunk_writer *w;
    if ((rc = stor__cw_open(&w, path, table_id, start, cols.ids, cols.types, cols.n, db->s->o.pol,
                            err)) != ST_OK)
        goto out;
    struct stor_table *tab = stor__db_table(db, table_id, err);
    struct rowset rs;
    stor__rs_init(&rs, cols.ids, cols.types, cols.n);
    struct stor_tomb *tb[256];
    for (uint32_t i = 0; i < n_ids && rc == ST_OK && tab; i++) {
        if (i && ids[i] == ids[i - 1])
            continue;
        struct stor_sent *se = stor__series_at(tab, ids[i]);
        uint32_t nt = series_tombs(v, table_id, se, tb, 256);
        stor__rs_reset(&rs);
        for (uint32_t c = from; c < p->n_chunks && rc == ST_OK; c++) {
            const struct stor_chunk *ch = p->chunks[c];
            const struct chk_series *cs = stor__chunk_find(ch, ids[i]);
            if (!cs)
                continue;
            uint32_t first_row = rs.n;
            for (uint32_t g = 0; g < cs->n_groups && rc == ST_OK; g++)
                rc = stor__chunk_read_group(ch, &ch->groups[cs->first_group + g], INT64_MIN,
                                            INT64_MAX, NULL, &rs, err);
            if (rc == ST_OK)
                stor__rs_filter_tombs(&rs, first_row, tb, nt, ch->applied_seq, vis);
        }
        if (rc == ST_OK && (rc = stor__rs_sort_dedup(&rs)) != ST_OK)
            rc = st_error_set(err, rc, "out of memory compacting");
        if (rc == ST_OK)
            rc = stor__cw_series(w, se, &rs, err);
    }
    if (!tab && rc == ST_OK)
        rc = ST_ENOMEM;
    stor__rs_cleanup(&rs);
    if (rc != ST_OK) {
        stor__cw_abort(w);
        goto out;
    }
    struct chunk_meta meta;
    if ((rc = stor__cw_finish(w, min_seq, max_seq, &meta, err)) != ST_OK)
        goto out;
    meta.id = cid;
    meta.applied_seq = vis;
    struct stor_chunk *nc = NULL;
    if (meta.n_rows && (rc = chunk_reopen(db, &meta, &nc, err)) != ST_OK)
        goto out;
    /* Publish: the partition's chunks [from, n) (only persist_mu holders
     * change chunks, and we hold it) become the one new chunk. */
    pthread_mutex_lock(&db->ver_mu);
    struct stor_dbver *nv = stor__ver_clone(db->ver, 0, 0);
    uint32_t pos = nv ? stor__ver_find(nv, table_id, start, &found) : 0;
    struct stor_part *np = nv && found ? stor__part_clone(nv->parts[pos], 0, 0) : NULL;
    if (!np) {
        pthread_mutex_unlock(&db->ver_mu);
        stor__ver_unref(nv);
        if (nc)
            atomic_store(&nc->dead, true);
        stor__chunk_unref(nc);
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    struct stor_chunk **olds = np->chunks;
    uint32_t n_old = np->n_chunks;
    np->chunks = calloc(from + 2, sizeof *np->chunks);
    if (!np->chunks) {
        np->chunks = olds;
        pthread_mutex_unlock(&db->ver_mu);
        stor__part_unref(np);
        stor__ver_unref(nv);
        if (nc)
            atomic_store(&nc->dead, true);
        stor__chunk_unref(nc);
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    /* the older chunks stay (their references move over), then the new one */
    memcpy(np->chunks, olds, from * sizeof *olds);
    np->n_chunks = from;
    if (nc)
        np->chunks[np->n_chunks++] = nc;
    stor__part_unref(nv->parts[pos]);
    nv->parts[pos] = np;
    gc_tombs(nv);
    rc = stor__manifest_write(db, nv, atomic_load(&db->persisted_seq), err);
    if (rc == ST_OK) {
        struct stor_dbver *old = db->ver;
        db->ver = nv;
        stor__ver_unref(old);
        for (uint32_t c = from; c < n_old; c++)
            atomic_store(&olds[c]->dead, true);
        atomic_fetch_add(&db->s->compactions, 1);
    } else {
        if (nc)
            atomic_store(&nc->dead, true);
        stor__ver_unref(nv);
    }
    pthread_mutex_unlock(&db->ver_mu);
    for (uint32_t c = from; c < n_old; c++)
        stor__chunk_unref(olds[c]);
    free(olds);
out:
    free(cols.ids);
    free(cols.types);
    free(ids);
    stor__ver_unref(v);
    return rc;
}

/*
 * The run of newest chunks an automatic compaction merges: walking back from
 * the newest, a chunk joins while it holds at most twice the average rows of
 * those already in the run. Equal persists merge four at a time into one
 * four times larger, which then waits for three more of its size: a base-4
 * counter, so each row is rewritten about log4(chunks) times over a
 * partition's life (merging every chunk each time, as before, rewrote the
 * whole partition every few persists: quadratic over a large day). Returns
 * the first index of the run, or n when it is shorter than min_chunks.
 */
static uint32_t
pick_run(const struct stor_part *p, uint32_t min_chunks)
{
    uint32_t n = p->n_chunks, from = n;
    uint64_t sum = 0;
    while (from > 0) {
        uint64_t r = p->chunks[from - 1]->n_rows;
        uint32_t k = n - from;
        if (k && r * k > 2 * sum)
            break;
        sum += r;
        from--;
    }
    return n - from >= min_chunks ? from : n;
}

static enum st_code
compact_where(struct stor_db *db, uint32_t min_chunks, bool tiered, bool *did,
              struct st_error *err)
{
    enum st_code rc = ST_OK;
    struct stor_dbver *v = stor__db_version(db, NULL);
    for (uint32_t i = 0; i < v->n_parts && rc == ST_OK; i++) {
        const struct stor_part *p = v->parts[i];
        if (p->n_chunks < min_chunks || p->n_chunks < 2 || part_quarantined(p))
            continue;
        uint32_t from = tiered ? pick_run(p, min_chunks) : 0;
        if (from >= p->n_chunks)
            continue;
        rc = stor__compact_part(db, p->table_id, p->start, from, false, err);
        if (did)
            *did = true;
    }
    stor__ver_unref(v);
    return rc;
}

enum st_code
stor_compact(struct stor_db *db, struct st_error *err)
{
    pthread_mutex_lock(&db->persist_mu);
    enum st_code rc = atomic_load(&db->dropped) ? ST_OK : compact_where(db, 2, false, NULL, err);
    pthread_mutex_unlock(&db->persist_mu);
    return rc;
}

enum st_code
stor_maintain(struct stor_db *db, bool force, bool *did_work, struct st_error *err)
{
    struct stor *s = db->s;
    bool due = force || atomic_load(&db->mem_bytes) >= s->o.buffer_max_bytes;
    if (!due) {
        pthread_mutex_lock(&db->commit_mu);
        int64_t since = db->dirty_since_mono;
        pthread_mutex_unlock(&db->commit_mu);
        due = since && st_mono_ns() - since >= s->o.persist_age_ns;
    }
    enum st_code rc = ST_OK;
    if (due) {
        rc = stor_persist(db, err);
        if (did_work)
            *did_work = true;
    }
    if (rc == ST_OK) {
        pthread_mutex_lock(&db->persist_mu);
        if (!atomic_load(&db->dropped))
            rc = compact_where(db, s->o.compact_chunks, true, did_work, err);
        /* quarantines found by readers since the last manifest write */
        if (rc == ST_OK && !atomic_load(&db->dropped))
            rc = stor__save_quarantine_locked(db, did_work, err);
        pthread_mutex_unlock(&db->persist_mu);
    }
    return rc;
}

bool
stor_db_over_limit(struct stor_db *db)
{
    return atomic_load(&db->mem_bytes) >= db->s->o.buffer_max_bytes;
}
