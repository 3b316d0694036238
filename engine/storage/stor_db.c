/*
 * stor_db.c: the storage of each database: loading and dropping, the table
 * registries, immutable versions, the commit protocol, and applying batches
 * and deletes.
 *
 * Commit protocol (see stor_engine.h): batches enter a per-database queue in
 * sequence order while the caller holds `commit_mu` around its WAL append;
 * once the WAL has answered, the queue is drained from the head: a durable
 * batch is applied, a failed one dropped, and draining stops at the first
 * batch still waiting for the WAL. Whoever drains applies the others'
 * batches too; each writer returns once its own batch is done. So batches
 * are applied in sequence order, only when durable, and `vis_seq` moves past
 * a batch only after all of it is in place.
 *
 * Versions: `ver` is swapped under `ver_mu`; a reader takes the version and
 * `vis_seq` together under it. Applying a batch changes the version only when
 * it needs a new partition or a new active memtable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"

/* ---- tombstones ------------------------------------------------------------ */

void
stor__tomb_unref(struct stor_tomb *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < t->n_preds; i++) {
        for (uint32_t k = 0; k < t->preds[i].n_values; k++)
            free(t->preds[i].values ? t->preds[i].values[k] : NULL);
        free(t->preds[i].values);
        free(t->preds[i].lens);
    }
    free(t->preds);
    free(t);
}

bool
stor__tomb_matches_series(const struct stor_tomb *t, const struct stor_sent *s)
{
    for (uint32_t i = 0; i < t->n_preds; i++) {
        uint32_t len;
        const char *v = stor__series_tag(s, t->preds[i].col_id, &len);
        if (!v)
            return false;
        bool any = false;
        for (uint32_t k = 0; k < t->preds[i].n_values && !any; k++)
            any = t->preds[i].lens[k] == len && memcmp(t->preds[i].values[k], v, len) == 0;
        if (!any)
            return false;
    }
    return true;
}

/* ---- versions ------------------------------------------------------------- */

struct stor_part *
stor__part_new(uint32_t table_id, int64_t start)
{
    struct stor_part *p = calloc(1, sizeof *p);
    if (p) {
        atomic_init(&p->refs, 1);
        p->table_id = table_id;
        p->start = start;
    }
    return p;
}

void
stor__part_unref(struct stor_part *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < p->n_chunks; i++)
        stor__chunk_unref(p->chunks[i]);
    for (uint32_t i = 0; i < p->n_mems; i++)
        stor__mem_unref(p->mems[i]);
    free(p->chunks);
    free(p->mems);
    free(p);
}

void
stor__ver_unref(struct stor_dbver *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < v->n_parts; i++)
        stor__part_unref(v->parts[i]);
    for (uint32_t i = 0; i < v->n_tombs; i++)
        stor__tomb_unref(v->tombs[i]);
    free(v->parts);
    free(v->tombs);
    free(v);
}

struct stor_dbver *
stor__db_version(struct stor_db *db, uint64_t *vis)
{
    pthread_mutex_lock(&db->ver_mu);
    if (vis)
        *vis = atomic_load_explicit(&db->vis_seq, memory_order_acquire);
    struct stor_dbver *v = db->ver;
    atomic_fetch_add(&v->refs, 1);
    pthread_mutex_unlock(&db->ver_mu);
    return v;
}

void
stor__ver_tombs(const struct stor_dbver *v, uint32_t table_id, uint32_t *first, uint32_t *n)
{
    uint32_t lo = 0, hi = v->n_tombs;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (v->tombs[mid]->table_id < table_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t e = lo;
    while (e < v->n_tombs && v->tombs[e]->table_id == table_id)
        e++;
    *first = lo;
    *n = e - lo;
}

int64_t
stor__part_start(const struct stor *s, int64_t t)
{
    int64_t w = s->o.partition_ns;
    int64_t q = t / w;
    if (t % w != 0 && t < 0)
        q--;
    if (q < INT64_MIN / w)
        return INT64_MIN; /* the first partition is cut at the smallest time */
    return q * w;
}

int64_t
stor__part_end(const struct stor *s, int64_t start)
{
    int64_t w = s->o.partition_ns;
    if (start == INT64_MIN) {
        int64_t q = INT64_MIN / w; /* rounded toward zero: the first full partition */
        return q * w > INT64_MIN ? q * w : INT64_MIN + w;
    }
    return start > INT64_MAX - w ? INT64_MAX : start + w;
}

/* A shallow copy of a version (every part and tombstone referenced again). */
struct stor_dbver *
stor__ver_clone(const struct stor_dbver *v, uint32_t extra_parts, uint32_t extra_tombs)
{
    struct stor_dbver *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    atomic_init(&n->refs, 1);
    n->parts = calloc(v->n_parts + extra_parts + 1, sizeof *n->parts);
    n->tombs = calloc(v->n_tombs + extra_tombs + 1, sizeof *n->tombs);
    if (!n->parts || !n->tombs) {
        free(n->parts);
        free(n->tombs);
        free(n);
        return NULL;
    }
    for (uint32_t i = 0; i < v->n_parts; i++) {
        n->parts[i] = v->parts[i];
        atomic_fetch_add(&v->parts[i]->refs, 1);
    }
    n->n_parts = v->n_parts;
    for (uint32_t i = 0; i < v->n_tombs; i++) {
        n->tombs[i] = v->tombs[i];
        atomic_fetch_add(&v->tombs[i]->refs, 1);
    }
    n->n_tombs = v->n_tombs;
    return n;
}

/* A copy of a part with room for more chunks/mems; NULL on ENOMEM. */
struct stor_part *
stor__part_clone(const struct stor_part *p, uint32_t extra_chunks, uint32_t extra_mems)
{
    struct stor_part *n = stor__part_new(p->table_id, p->start);
    if (!n)
        return NULL;
    n->chunks = calloc(p->n_chunks + extra_chunks + 1, sizeof *n->chunks);
    n->mems = calloc(p->n_mems + extra_mems + 1, sizeof *n->mems);
    if (!n->chunks || !n->mems) {
        stor__part_unref(n);
        return NULL;
    }
    for (uint32_t i = 0; i < p->n_chunks; i++) {
        n->chunks[i] = p->chunks[i];
        atomic_fetch_add(&p->chunks[i]->refs, 1);
    }
    n->n_chunks = p->n_chunks;
    for (uint32_t i = 0; i < p->n_mems; i++) {
        n->mems[i] = p->mems[i];
        atomic_fetch_add(&p->mems[i]->refs, 1);
    }
    n->n_mems = p->n_mems;
    n->has_active = p->has_active;
    return n;
}

/* Position of (table, start) in the sorted parts, or where it would go. */
uint32_t
stor__ver_find(const struct stor_dbver *v, uint32_t table_id, int64_t start, bool *found)
{
    uint32_t lo = 0, hi = v->n_parts;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        const struct stor_part *p = v->parts[mid];
        if (p->table_id < table_id || (p->table_id == table_id && p->start < start))
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < v->n_parts && v->parts[lo]->table_id == table_id && v->parts[lo]->start == start;
    return lo;
}

/* Swap in a new version (caller holds ver_mu). */
static void
ver_publish(struct stor_db *db, struct stor_dbver *n)
{
    struct stor_dbver *old = db->ver;
    db->ver = n;
    stor__ver_unref(old);
}

/* ---- databases ----------------------------------------------------------- */

enum st_code
stor_open(const struct stor_options *o, struct stor **out, struct st_error *err)
{
    struct stor *s = calloc(1, sizeof *s);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    s->o = *o;
    if (s->o.partition_ns <= 0)
        s->o.partition_ns = STOR_DEFAULT_PARTITION_NS;
    if (!s->o.buffer_max_bytes)
        s->o.buffer_max_bytes = STOR_DEFAULT_BUFFER_MAX;
    if (s->o.persist_age_ns <= 0)
        s->o.persist_age_ns = STOR_DEFAULT_PERSIST_AGE_NS;
    if (!s->o.compact_chunks)
        s->o.compact_chunks = 4;
    if (!s->o.max_series_per_table)
        s->o.max_series_per_table = STOR_DEFAULT_MAX_SERIES;
    if (!s->o.max_tombstones_per_table)
        s->o.max_tombstones_per_table = STOR_DEFAULT_MAX_TOMBS;
    s->root = strdup(o->data_dir);
    if (s->o.block_cache_bytes != SIZE_MAX) {
        s->cache = stor__cache_new(s->o.block_cache_bytes ? s->o.block_cache_bytes
                                                          : (size_t)128 << 20);
        if (!s->cache) {
            free(s->root);
            s->root = NULL;
        }
    }
    if (!s->root) {
        free(s);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    s->o.data_dir = s->root;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return ST_OK;
}

static void
db_free(struct stor_db *db)
{
    stor__ver_unref(db->ver);
    for (uint32_t i = 0; i < db->n_tabs; i++)
        stor__table_free(db->tabs[i]);
    free(db->tabs);
    pthread_mutex_destroy(&db->commit_mu);
    pthread_cond_destroy(&db->commit_cv);
    pthread_mutex_destroy(&db->ver_mu);
    pthread_mutex_destroy(&db->tab_mu);
    pthread_mutex_destroy(&db->persist_mu);
    free(db->dir);
    free(db);
}

void
stor_db_put(struct stor_db *db)
{
    if (db && atomic_fetch_sub(&db->refs, 1) == 1)
        db_free(db);
}

void
stor_close(struct stor *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n_dbs; i++)
        stor_db_put(s->dbs[i]);
    free(s->dbs);
    stor__cache_free(s->cache);
    pthread_mutex_destroy(&s->mu);
    free(s->root);
    free(s);
}

struct stor_db *
stor_db_get(struct stor *s, uint32_t db_id)
{
    struct stor_db *db = NULL;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->n_dbs; i++)
        if (s->dbs[i]->id == db_id) {
            db = s->dbs[i];
            atomic_fetch_add(&db->refs, 1);
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return db;
}

struct cat_snapshot *
stor__cat(struct stor *s)
{
    return cat_store_snapshot(s->o.cat);
}

enum st_code
stor_db_load(struct stor *s, const struct cat_db *cdb, struct st_error *err)
{
    struct stor_db *ex = stor_db_get(s, cdb->id);
    if (ex) {
        stor_db_put(ex);
        return ST_OK;
    }
    struct stor_db *db = calloc(1, sizeof *db);
    if (!db)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    atomic_init(&db->refs, 1);
    db->s = s;
    db->id = cdb->id;
    size_t n = strlen(s->root) + 32;
    db->dir = malloc(n);
    db->ver = calloc(1, sizeof *db->ver);
    if (!db->dir || !db->ver) {
        free(db->dir);
        free(db->ver);
        free(db);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    atomic_init(&db->ver->refs, 1);
    snprintf(db->dir, n, "%s/db/%u", s->root, cdb->id);
    pthread_mutex_init(&db->commit_mu, NULL);
    pthread_cond_init(&db->commit_cv, NULL);
    pthread_mutex_init(&db->ver_mu, NULL);
    pthread_mutex_init(&db->tab_mu, NULL);
    pthread_mutex_init(&db->persist_mu, NULL);
    db->next_chunk_id = 1;
    enum st_code rc = stor__manifest_load(db, err);
    if (rc != ST_OK) {
        st_error_prefix(err, "database \"%s\": ", cdb->name);
        db_free(db);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    if (s->n_dbs == s->cap_dbs) {
        uint32_t cap = s->cap_dbs ? s->cap_dbs * 2 : 8;
        struct stor_db **a = realloc(s->dbs, cap * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&s->mu);
            db_free(db);
            return st_error_set(err, ST_ENOMEM, "out of memory");
        }
        s->dbs = a;
        s->cap_dbs = cap;
    }
    s->dbs[s->n_dbs++] = db;
    pthread_mutex_unlock(&s->mu);
    return ST_OK;
}

enum st_code
stor_db_drop(struct stor *s, uint32_t db_id, struct st_error *err)
{
    struct stor_db *db = NULL;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->n_dbs; i++)
        if (s->dbs[i]->id == db_id) {
            db = s->dbs[i];
            s->dbs[i] = s->dbs[--s->n_dbs];
            break;
        }
    pthread_mutex_unlock(&s->mu);
    if (!db)
        return ST_OK;
    atomic_store(&db->dropped, true);
    /* Wait for a running persist, then remove the files. Open views keep
     * their chunk files readable through open descriptors. */
    pthread_mutex_lock(&db->persist_mu);
    enum st_code rc = st_remove_tree(db->dir, err);
    pthread_mutex_unlock(&db->persist_mu);
    stor_db_put(db);
    return rc;
}

uint64_t
stor_db_persisted_seq(struct stor_db *db)
{
    return atomic_load(&db->persisted_seq);
}

uint64_t
stor_max_persisted_seq(struct stor *s)
{
    uint64_t m = 0;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->n_dbs; i++) {
        uint64_t p = atomic_load(&s->dbs[i]->persisted_seq);
        if (p > m)
            m = p;
    }
    pthread_mutex_unlock(&s->mu);
    return m;
}

uint64_t
stor_wal_safe_seq(struct stor *s, uint64_t last_seq)
{
    uint64_t safe = last_seq;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->n_dbs; i++) {
        struct stor_db *db = s->dbs[i];
        pthread_mutex_lock(&db->commit_mu);
        uint64_t fd = db->first_dirty;
        /* A batch queued but not applied yet is not in the buffers either. */
        if (db->pend_head && (!fd || db->pend_head->seq < fd))
            fd = db->pend_head->seq;
        pthread_mutex_unlock(&db->commit_mu);
        if (fd && fd - 1 < safe)
            safe = fd - 1;
    }
    pthread_mutex_unlock(&s->mu);
    return safe;
}

struct stor_table *
stor__db_table(struct stor_db *db, uint32_t table_id, struct st_error *err)
{
    pthread_mutex_lock(&db->tab_mu);
    if (table_id >= db->n_tabs) {
        uint32_t n = db->n_tabs ? db->n_tabs : 8;
        while (n <= table_id)
            n *= 2;
        struct stor_table **a = realloc(db->tabs, n * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&db->tab_mu);
            st_error_set(err, ST_ENOMEM, "out of memory");
            return NULL;
        }
        memset(a + db->n_tabs, 0, (n - db->n_tabs) * sizeof *a);
        db->tabs = a;
        db->n_tabs = n;
    }
    struct stor_table *t = db->tabs[table_id];
    if (!t) {
        t = db->tabs[table_id] = stor__table_new(table_id, db->s->o.max_series_per_table);
        if (!t)
            st_error_set(err, ST_ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&db->tab_mu);
    return t;
}

void
stor_get_stats(struct stor *s, struct stor_stats *out)
{
    memset(out, 0, sizeof *out);
    out->persists = atomic_load(&s->persists);
    stor__cache_stats(s->cache, &out->cache_bytes, &out->cache_hits, &out->cache_misses);
    out->compactions = atomic_load(&s->compactions);
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->n_dbs; i++) {
        struct stor_db *db = s->dbs[i];
        out->buffer_bytes += atomic_load(&db->mem_bytes);
        struct stor_dbver *v = stor__db_version(db, NULL);
        for (uint32_t p = 0; p < v->n_parts; p++) {
            out->chunks += v->parts[p]->n_chunks;
            for (uint32_t c = 0; c < v->parts[p]->n_chunks; c++) {
                const struct stor_chunk *ch = v->parts[p]->chunks[c];
                out->chunk_bytes += ch->file_len;
                uint32_t bad = atomic_load(&ch->n_bad);
                if (!bad)
                    continue;
                out->quarantined_chunks++;
                out->quarantined_groups += bad;
                if (atomic_load(&ch->whole_bad)) {
                    out->quarantined_rows += ch->n_rows;
                    continue;
                }
                for (uint32_t g = 0; g < ch->n_groups; g++)
                    if (stor__group_bad(ch, g))
                        out->quarantined_rows += ch->groups[g].n_rows;
            }
        }
        stor__ver_unref(v);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- applying -------------------------------------------------------------- */

struct need {
    uint32_t table_id;
    int64_t start;
};

static int
need_cmp(const void *a, const void *b)
{
    const struct need *x = a, *y = b;
    if (x->table_id != y->table_id)
        return x->table_id < y->table_id ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Make sure every (table, partition) in `need` has an active memtable. */
static enum st_code
ensure_active(struct stor_db *db, struct need *need, uint32_t n, struct st_error *err)
{
    qsort(need, n, sizeof *need, need_cmp);
    pthread_mutex_lock(&db->ver_mu);
    struct stor_dbver *cur = db->ver;
    uint32_t missing = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i && need[i].table_id == need[i - 1].table_id && need[i].start == need[i - 1].start)
            continue;
        bool found;
        uint32_t at = stor__ver_find(cur, need[i].table_id, need[i].start, &found);
        if (!found || !cur->parts[at]->has_active)
            missing++;
    }
    if (!missing) {
        pthread_mutex_unlock(&db->ver_mu);
        return ST_OK;
    }
    struct stor_dbver *nv = stor__ver_clone(cur, missing, 0);
    if (!nv)
        goto nomem;
    for (uint32_t i = 0; i < n; i++) {
        if (i && need[i].table_id == need[i - 1].table_id && need[i].start == need[i - 1].start)
            continue;
        bool found;
        uint32_t at = stor__ver_find(nv, need[i].table_id, need[i].start, &found);
        if (found && nv->parts[at]->has_active)
            continue;
        struct stor_part *np = found ? stor__part_clone(nv->parts[at], 0, 1)
                                     : stor__part_new(need[i].table_id, need[i].start);
        if (np && !found) {
            np->mems = calloc(1, sizeof *np->mems);
            if (!np->mems) {
                stor__part_unref(np);
                np = NULL;
            }
        }
        struct stor_mem *m = np ? stor__mem_new(need[i].table_id, need[i].start) : NULL;
        if (!m) {
            stor__part_unref(np);
            stor__ver_unref(nv);
            goto nomem;
        }
        np->mems[np->n_mems++] = m;
        np->has_active = true;
        if (found) {
            stor__part_unref(nv->parts[at]);
            nv->parts[at] = np;
        } else {
            memmove(&nv->parts[at + 1], &nv->parts[at], (nv->n_parts - at) * sizeof *nv->parts);
            nv->parts[at] = np;
            nv->n_parts++;
        }
    }
    ver_publish(db, nv);
    pthread_mutex_unlock(&db->ver_mu);
    return ST_OK;
nomem:
    pthread_mutex_unlock(&db->ver_mu);
    return st_error_set(err, ST_ENOMEM, "out of memory creating a partition buffer");
}

static struct stor_mem *
active_mem(const struct stor_dbver *v, uint32_t table_id, int64_t start)
{
    bool found;
    uint32_t at = stor__ver_find(v, table_id, start, &found);
    if (!found || !v->parts[at]->has_active)
        return NULL;
    const struct stor_part *p = v->parts[at];
    return p->mems[p->n_mems - 1];
}

static void
mark_dirty(struct stor_db *db, uint64_t seq)
{
    if (!db->first_dirty)
        db->first_dirty = seq;
    if (!db->first_dirty_since_freeze)
        db->first_dirty_since_freeze = seq;
    if (!db->dirty_since_mono)
        db->dirty_since_mono = st_mono_ns();
}

static enum st_code
apply_delete(struct stor_db *db, struct stor_wbatch *wb, uint64_t seq, struct st_error *err)
{
    struct stor_tomb *t = wb->tomb;
    t->seq = seq;
    struct stor_table *tab = stor__db_table(db, t->table_id, err);
    if (!tab)
        return err ? err->code : ST_ENOMEM;
    wb->deleted = stor__count_deleted(db, t);
    pthread_mutex_lock(&db->ver_mu);
    struct stor_dbver *cur = db->ver;
    uint32_t first, n;
    stor__ver_tombs(cur, t->table_id, &first, &n);
    if (n >= db->s->o.max_tombstones_per_table) {
        pthread_mutex_unlock(&db->ver_mu);
        return st_error_set(err, ST_ELIMIT,
                            "table has %u pending deletes (limit); persist and compact first", n);
    }
    struct stor_dbver *nv = stor__ver_clone(cur, 0, 1);
    if (!nv) {
        pthread_mutex_unlock(&db->ver_mu);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    uint32_t at = first + n; /* tombstones of a table are in sequence order */
    memmove(&nv->tombs[at + 1], &nv->tombs[at], (nv->n_tombs - at) * sizeof *nv->tombs);
    nv->tombs[at] = t;
    atomic_fetch_add(&t->refs, 1);
    nv->n_tombs++;
    ver_publish(db, nv);
    pthread_mutex_unlock(&db->ver_mu);
    stor__lvc_invalidate(tab, t, seq);
    mark_dirty(db, seq);
    atomic_store_explicit(&db->vis_seq, seq, memory_order_release);
    return ST_OK;
}

enum st_code
stor__apply(struct stor_db *db, struct stor_wbatch *wb, uint64_t seq, struct st_error *err)
{
    if (wb->kind == WB_DELETE)
        return apply_delete(db, wb, seq, err);
    struct stor *s = db->s;
    /* Partitions this batch touches. */
    uint32_t n_need = 0, cap_need = wb->n_ser + 8;
    struct need *need = malloc(cap_need * sizeof *need);
    if (!need)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < wb->n_ser; i++) {
        const struct wb_series *ws = &wb->ser[i];
        int64_t last = INT64_MIN;
        for (uint32_t r = 0; r < ws->n; r++) {
            int64_t st = stor__part_start(s, ws->time[r]);
            if (r && st == last)
                continue;
            last = st;
            if (n_need == cap_need) {
                cap_need *= 2;
                struct need *a = realloc(need, cap_need * sizeof *a);
                if (!a) {
                    free(need);
                    return st_error_set(err, ST_ENOMEM, "out of memory");
                }
                need = a;
            }
            need[n_need].table_id = ws->table_id;
            need[n_need].start = st;
            n_need++;
        }
    }
    enum st_code rc = ensure_active(db, need, n_need, err);
    free(need);
    if (rc != ST_OK)
        return rc;
    /* The active memtables cannot change under us: only this path (under
     * commit_mu) creates them, and a freeze also takes commit_mu. */
    struct stor_dbver *v = stor__db_version(db, NULL);
    size_t grew = 0;
    /* A memtable's write lock is held across consecutive series that go to
     * it (usually the whole batch), not taken per series: readers wait at
     * most one batch, and thousands of series per batch cost one lock. */
    struct stor_mem *locked = NULL, *last_m = NULL;
    size_t locked_before = 0;
    uint32_t last_table = UINT32_MAX;
    int64_t last_start = 0;
    for (uint32_t i = 0; i < wb->n_ser && rc == ST_OK; i++) {
        const struct wb_series *ws = &wb->ser[i];
        uint32_t lo = 0;
        while (lo < ws->n && rc == ST_OK) {
            int64_t st = stor__part_start(s, ws->time[lo]);
            uint32_t hi = lo + 1;
            while (hi < ws->n && stor__part_start(s, ws->time[hi]) == st)
                hi++;
            struct stor_mem *m = last_m && ws->table_id == last_table && st == last_start
                                     ? last_m
                                     : active_mem(v, ws->table_id, st);
            if (!m) {
                rc = st_error_set(err, ST_EINTERNAL, "no active buffer for a partition");
                break;
            }
            last_m = m;
            last_table = ws->table_id;
            last_start = st;
            if (m != locked) {
                if (locked) {
                    grew += locked->bytes - locked_before;
                    pthread_rwlock_unlock(&locked->lock);
                }
                pthread_rwlock_wrlock(&m->lock);
                locked = m;
                locked_before = m->bytes;
            }
            rc = stor__mem_append(m, ws, lo, hi, seq, wb->strs.data, err);
            lo = hi;
        }
    }
    if (locked) {
        grew += locked->bytes - locked_before;
        pthread_rwlock_unlock(&locked->lock);
    }
    /* the last-value cache, one table lock per run of series of a table */
    struct stor_table *tab_locked = NULL;
    for (uint32_t i = 0; i < wb->n_ser && rc == ST_OK; i++) {
        const struct wb_series *ws = &wb->ser[i];
        if (ws->tab != tab_locked) {
            if (tab_locked)
                pthread_mutex_unlock(&tab_locked->mu);
            tab_locked = ws->tab;
            pthread_mutex_lock(&tab_locked->mu);
        }
        stor__lvc_apply_locked(ws, wb->strs.data, seq);
    }
    if (tab_locked)
        pthread_mutex_unlock(&tab_locked->mu);
    stor__ver_unref(v);
    if (wb->n_ser)
        atomic_store_explicit(&db->rows_hint, (unsigned)(wb->rows / wb->n_ser),
                              memory_order_relaxed);
    atomic_fetch_add(&db->mem_bytes, grew);
    mark_dirty(db, seq);
    atomic_store_explicit(&db->vis_seq, seq, memory_order_release);
    return rc;
}

/* ---- commit protocol ---------------------------------------------------------- */

void
stor_commit_lock(struct stor_db *db)
{
    pthread_mutex_lock(&db->commit_mu);
}

void
stor_commit_unlock(struct stor_db *db)
{
    pthread_mutex_unlock(&db->commit_mu);
}

void
stor_commit_enqueue_unlock(struct stor_db *db, struct stor_wbatch *wb, uint64_t seq)
{
    wb->seq = seq;
    wb->state = 0;
    wb->next = NULL;
    if (db->pend_tail)
        db->pend_tail->next = wb;
    else
        db->pend_head = wb;
    db->pend_tail = wb;
    pthread_mutex_unlock(&db->commit_mu);
}

enum st_code
stor_commit_finish(struct stor_db *db, struct stor_wbatch *wb, bool durable, struct st_error *err)
{
    pthread_mutex_lock(&db->commit_mu);
    wb->state = durable ? 1 : 2;
    bool drained = false;
    while (db->pend_head && db->pend_head->state != 0) {
        struct stor_wbatch *h = db->pend_head;
        db->pend_head = h->next;
        if (!db->pend_head)
            db->pend_tail = NULL;
        if (h->state == 1) {
            st_error_clear(&h->apply_err);
            h->apply_rc = stor__apply(db, h, h->seq, &h->apply_err);
            if (h->apply_rc != ST_OK)
                st_log(ST_LOG_ERROR, "storage",
                       "applying durable record %llu failed (it is replayed on restart): %s",
                       (unsigned long long)h->seq, h->apply_err.msg);
        }
        h->state = 3;
        drained = true;
    }
    if (drained)
        pthread_cond_broadcast(&db->commit_cv);
    while (wb->state != 3)
        pthread_cond_wait(&db->commit_cv, &db->commit_mu);
    enum st_code rc = durable ? wb->apply_rc : ST_OK;
    if (rc != ST_OK && err)
        *err = wb->apply_err;
    pthread_mutex_unlock(&db->commit_mu);
    return rc;
}
