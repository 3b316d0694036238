/*
 * stor_scan.c: read views and scans (storage.h): the read path the query
 * executor builds on.
 *
 * A view pins one database version and its visible sequence number; a
 * scan walks the table's partitions (ascending or descending), in each the
 * series that pass the tag predicates (in series-id order), and for each
 * series produces batches of rows in ascending time:
 *
 *   - fast path: the series lives in exactly one chunk of the partition and
 *     in no memtable: its row groups are decoded one by one, skipping groups
 *     by time and by the field-range statistics;
 *   - merge path: otherwise every source (chunks oldest first, then
 *     memtables) is gathered into a rowset, which sorts and folds upserts;
 *     batches are slices of it.
 *
 * Deletes: memtable rows are dropped by tombstones newer than the row; chunk
 * rows by tombstones the chunk has not applied. Only tombstones visible to
 * the view count.
 *
 * STOR_SCAN_LAST answers from the last-value cache when its entry is valid
 * for the view, and otherwise finds the newest row by scanning partitions
 * newest first (and installs the answer in the cache when it can).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/clock.h"

/* ---- views ----------------------------------------------------------------- */

enum st_code
stor_view_open_id(struct stor *s, uint32_t db_id, struct stor_view **out, struct st_error *err)
{
    struct stor_db *db = stor_db_get(s, db_id);
    if (!db)
        return st_error_set(err, ST_ENOTFOUND, "database id %u is not loaded", db_id);
    struct stor_view *v = calloc(1, sizeof *v);
    if (!v) {
        stor_db_put(db);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    v->s = s;
    v->db = db;
    v->ver = stor__db_version(db, &v->vis);
    /* The catalog after the version: it holds every id the visible data uses. */
    v->cat = stor__cat(s);
    v->cdb = cat_snapshot_db_by_id(v->cat, db_id);
    if (!v->cdb) {
        stor_view_close(v);
        return st_error_set(err, ST_ENOTFOUND, "database was dropped");
    }
    *out = v;
    return ST_OK;
}

void
stor_view_close(struct stor_view *v)
{
    if (!v)
        return;
    for (uint32_t i = 0; i < v->n_allocs; i++)
        free(v->allocs[i]);
    free(v->allocs);
    stor__ver_unref(v->ver);
    cat_snapshot_unref(v->cat);
    stor_db_put(v->db);
    free(v);
}

const struct cat_db *
stor_view_db(const struct stor_view *v)
{
    return v ? v->cdb : NULL;
}

static int
view_keep(struct stor_view *v, void *p)
{
    if (v->n_allocs == v->cap_allocs) {
        uint32_t cap = v->cap_allocs ? v->cap_allocs * 2 : 8;
        void **a = realloc(v->allocs, cap * sizeof *a);
        if (!a)
            return -1;
        v->allocs = a;
        v->cap_allocs = cap;
    }
    v->allocs[v->n_allocs++] = p;
    return 0;
}

/* ---- series selection -------------------------------------------------------- */

static bool
tag_pred_holds(const struct stor_tag_pred *p, const struct stor_series *s)
{
    const char *v = p->tag_index < s->n_tags ? s->tags[p->tag_index] : NULL;
    if (!v)
        return false;
    bool in = false;
    for (uint32_t i = 0; i < p->n_values && !in; i++)
        in = p->values[i] && strcmp(p->values[i], v) == 0;
    switch (p->op) {
    case STOR_TAG_EQ:
    case STOR_TAG_IN: return in;
    case STOR_TAG_NE:
    case STOR_TAG_NOT_IN: return !in;
    }
    return false;
}

/* Per-scan memo of series decisions: 0 unknown, 1 pass, 2 fail. */
struct decide {
    uint8_t *d;
    uint32_t cap;
};

static bool
series_passes(const struct stor_scan_spec *sp, struct decide *dc, const struct stor_sent *se)
{
    uint32_t id = se->pub.id;
    if (id >= dc->cap) {
        uint32_t cap = dc->cap ? dc->cap : 256;
        while (cap <= id)
            cap *= 2;
        uint8_t *a = realloc(dc->d, cap);
        if (a) {
            memset(a + dc->cap, 0, cap - dc->cap);
            dc->d = a;
            dc->cap = cap;
        }
    }
    if (id < dc->cap && dc->d[id])
        return dc->d[id] == 1;
    bool ok = true;
    for (uint32_t i = 0; i < sp->n_tag_preds && ok; i++)
        ok = tag_pred_holds(&sp->tag_preds[i], &se->pub);
    if (ok && sp->series_filter)
        ok = sp->series_filter(sp->series_ctx, &se->pub);
    if (id < dc->cap)
        dc->d[id] = ok ? 1 : 2;
    return ok;
}

static int
u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Series ids with data in a part (sorted, unique). Caller frees. */
static uint32_t *
part_series(const struct stor_part *p, uint32_t *n_out)
{
    uint64_t total = 0;
    for (uint32_t c = 0; c < p->n_chunks; c++)
        total += p->chunks[c]->n_series;
    for (uint32_t m = 0; m < p->n_mems; m++) {
        pthread_rwlock_rdlock(&p->mems[m]->lock);
        total += p->mems[m]->n_ser;
        pthread_rwlock_unlock(&p->mems[m]->lock);
    }
    uint32_t *ids = malloc((total + 1) * sizeof *ids);
    if (!ids)
        return NULL;
    uint32_t n = 0;
    for (uint32_t c = 0; c < p->n_chunks; c++)
        for (uint32_t k = 0; k < p->chunks[c]->n_series; k++)
            ids[n++] = p->chunks[c]->ser[k].series_id;
    for (uint32_t m = 0; m < p->n_mems; m++) {
        pthread_rwlock_rdlock(&p->mems[m]->lock);
        for (uint32_t k = 0; k < p->mems[m]->n_ser && n < total; k++)
            ids[n++] = p->mems[m]->ser[k]->series_id;
        pthread_rwlock_unlock(&p->mems[m]->lock);
    }
    qsort(ids, n, sizeof *ids, u32_cmp);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!k || ids[i] != ids[k - 1])
            ids[k++] = ids[i];
    *n_out = k;
    return ids;
}

/* ---- gathering the rows of one series in one part ------------------------------- */

static uint32_t
series_tombs(struct stor_tomb *const *tombs, uint32_t n_tombs, const struct stor_sent *se,
             struct stor_tomb **out, uint32_t cap)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n_tombs && k < cap; i++)
        if (stor__tomb_matches_series(tombs[i], se))
            out[k++] = tombs[i];
    return k;
}

#define MAX_SERIES_TOMBS 1024

/* Append every visible row of series `se` in part p with time in [lo, hi)
 * (upserts merged, deletes applied) to rs, which must be empty. */
static enum st_code
gather(struct stor_cache *cache, const struct stor_part *p, uint64_t vis,
       struct stor_tomb *const *tombs, uint32_t n_tombs, const struct stor_sent *se, int64_t lo,
       int64_t hi, struct rowset *rs, struct st_error *err)
{
    struct stor_tomb *tb[MAX_SERIES_TOMBS];
    uint32_t nt = series_tombs(tombs, n_tombs, se, tb, MAX_SERIES_TOMBS);
    enum st_code rc = ST_OK;
    for (uint32_t c = 0; c < p->n_chunks && rc == ST_OK; c++) {
        const struct stor_chunk *ch = p->chunks[c];
        const struct chk_series *cs = stor__chunk_find(ch, se->pub.id);
        if (!cs || cs->t_max < lo || cs->t_min >= hi)
            continue;
        uint32_t from = rs->n;
        for (uint32_t g = 0; g < cs->n_groups && rc == ST_OK; g++)
            rc = stor__chunk_read_group(ch, &ch->groups[cs->first_group + g], lo, hi, cache, rs,
                                        err);
        if (rc == ST_OK)
            stor__rs_filter_tombs(rs, from, tb, nt, ch->applied_seq, vis);
    }
    for (uint32_t m = 0; m < p->n_mems && rc == ST_OK; m++) {
        pthread_rwlock_rdlock(&p->mems[m]->lock);
        const struct mem_series *ms = stor__mem_find(p->mems[m], se->pub.id);
        /* Only tombstones the view may see take part. */
        struct stor_tomb *vt[MAX_SERIES_TOMBS];
        uint32_t nv = 0;
        for (uint32_t k = 0; k < nt; k++)
            if (tb[k]->seq <= vis)
                vt[nv++] = tb[k];
        if (ms)
            rc = stor__mem_copy(ms, vis, vt, nv, lo, hi, rs);
        pthread_rwlock_unlock(&p->mems[m]->lock);
        if (rc != ST_OK)
            rc = st_error_set(err, rc, "out of memory reading a buffer");
    }
    if (rc == ST_OK && (rc = stor__rs_sort_dedup(rs)) != ST_OK)
        rc = st_error_set(err, rc, "out of memory merging rows");
    return rc;
}

uint64_t
stor__count_deleted(struct stor_db *db, const struct stor_tomb *t)
{
    uint64_t vis;
    struct stor_dbver *v = stor__db_version(db, &vis);
    struct stor_table *tab = stor__db_table(db, t->table_id, NULL);
    uint64_t n = 0;
    uint32_t first, nt;
    stor__ver_tombs(v, t->table_id, &first, &nt);
    struct rowset rs;
    stor__rs_init(&rs, NULL, NULL, 0);
    for (uint32_t i = 0; i < v->n_parts && tab; i++) {
        const struct stor_part *p = v->parts[i];
        if (p->table_id != t->table_id || p->start >= t->t_hi ||
            stor__part_end(db->s, p->start) <= t->t_lo)
            continue;
        uint32_t n_ids;
        uint32_t *ids = part_series(p, &n_ids);
        for (uint32_t k = 0; ids && k < n_ids; k++) {
            struct stor_sent *se = stor__series_at(tab, ids[k]);
            if (!se || !stor__tomb_matches_series(t, se))
                continue;
            stor__rs_reset(&rs);
            if (gather(db->s->cache, p, vis, v->tombs + first, nt, se, t->t_lo, t->t_hi, &rs,
                       NULL) == ST_OK)
                n += rs.n;
        }
        free(ids);
    }
    stor__rs_cleanup(&rs);
    stor__ver_unref(v);
    return n;
}

/* ---- scans ------------------------------------------------------------------- */

struct out_col {
    struct st_column col;
    uint8_t *bitmap;
    uint8_t *bools;
    int32_t *offsets;
    struct st_buf str;
    uint32_t cap;
};

struct stor_scan {
    struct stor_view *v;
    struct stor_scan_spec sp;
    const struct cat_table *ct;
    struct stor_table *tab;
    uint32_t *col_ids;
    uint8_t *types;
    int64_t lo, hi;
    struct stor_tomb **tombs; /* the table's tombstones visible to the view */
    uint32_t n_tombs;
    struct decide dc;
    /* partitions to visit, in order */
    uint32_t *parts;
    uint32_t n_parts, pi;
    /* series of the current partition */
    uint32_t *sids;
    uint32_t n_sids, si;
    /* current series */
    const struct stor_sent *cur;
    struct rowset rs;
    uint32_t rs_pos;
    const struct stor_chunk *fc;
    const struct chk_series *fcs;
    uint32_t fg;
    struct stor_tomb *ftb[MAX_SERIES_TOMBS];
    uint32_t n_ftb;
    bool f_direct; /* no tombstone touches this series in fc: batches point into the cache */
    struct scan_src {
        const struct stor_chunk *c;
        const struct chk_series *cs;
    } *srcs; /* the current series' chunks, in time order, when they do not overlap */
    uint32_t n_srcs, cap_srcs, src_i;
    /* the row group being emitted straight from cached blocks */
    struct cblock *gt;
    struct cblock **gc; /* per requested field; NULL = all NULL in this group */
    uint32_t g_pos, g_end;
    bool g_active;
    uint8_t *zeros; /* n rows of zero values / offsets / bitmap, for all-NULL columns */
    size_t zeros_len;
    /* LAST mode */
    uint32_t last_next, last_end;
    /* series that can match an EQ/IN tag predicate (from the tag postings) */
    uint32_t *cand;
    uint32_t n_cand;
    bool use_cand;
    /* output */
    struct stor_batch batch;
    struct st_column *cols;
    struct out_col *oc;
    bool done;
};

static void
group_release(struct stor_scan *s)
{
    if (!s->g_active)
        return;
    stor__cblock_put(s->gt);
    s->gt = NULL;
    for (uint32_t c = 0; c < s->sp.n_field_cols; c++) {
        stor__cblock_put(s->gc[c]);
        s->gc[c] = NULL;
    }
    s->g_active = false;
}

static void
scan_free(struct stor_scan *s)
{
    if (!s)
        return;
    if (s->gc)
        group_release(s);
    free(s->gc);
    free(s->cand);
    free(s->srcs);
    free(s->zeros);
    stor__rs_cleanup(&s->rs);
    for (uint32_t i = 0; i < s->sp.n_field_cols && s->oc; i++) {
        free(s->oc[i].bitmap);
        free(s->oc[i].bools);
        free(s->oc[i].offsets);
        st_buf_cleanup(&s->oc[i].str);
    }
    free(s->oc);
    free(s->cols);
    free(s->col_ids);
    free(s->types);
    free(s->tombs);
    free(s->dc.d);
    free(s->parts);
    free(s->sids);
    free((void *)s->sp.tag_preds);
    free((void *)s->sp.ranges);
    free(s);
}

void
stor_scan_close(struct stor_scan *s)
{
    scan_free(s);
}

static enum st_code
scan_setup(struct stor_view *v, const struct stor_scan_spec *spec, struct stor_scan **out,
           struct st_error *err)
{
    if (!v || !spec)
        return st_error_set(err, ST_EINVAL, "no view or scan spec");
    const struct cat_table *ct = cat_db_table_by_id(v->cdb, spec->table_id);
    if (!ct)
        return st_error_set(err, ST_ENOTFOUND, "table id %u does not exist", spec->table_id);
    struct stor_scan *s = calloc(1, sizeof *s);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    s->v = v;
    s->sp = *spec;
    s->sp.tag_preds = NULL;
    s->sp.ranges = NULL;
    s->ct = ct;
    s->lo = spec->t_lo;
    s->hi = spec->t_hi;
    uint32_t nf = spec->n_field_cols;
    s->col_ids = calloc(nf + 1, sizeof *s->col_ids);
    s->types = calloc(nf + 1, 1);
    s->cols = calloc(nf + 1, sizeof *s->cols);
    s->oc = calloc(nf + 1, sizeof *s->oc);
    s->gc = calloc(nf + 1, sizeof *s->gc);
    if (spec->n_tag_preds) {
        struct stor_tag_pred *tp = malloc(spec->n_tag_preds * sizeof *tp);
        if (tp)
            memcpy(tp, spec->tag_preds, spec->n_tag_preds * sizeof *tp);
        s->sp.tag_preds = tp;
    }
    if (spec->n_ranges) {
        struct stor_field_range *fr = malloc(spec->n_ranges * sizeof *fr);
        if (fr)
            memcpy(fr, spec->ranges, spec->n_ranges * sizeof *fr);
        s->sp.ranges = fr;
    }
    if (!s->col_ids || !s->types || !s->cols || !s->oc || !s->gc ||
        (spec->n_tag_preds && !s->sp.tag_preds) || (spec->n_ranges && !s->sp.ranges)) {
        scan_free(s);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < nf; i++) {
        const struct cat_column *c = cat_table_column_by_id(ct, spec->field_cols[i]);
        if (!c || c->kind != CAT_COL_FIELD) {
            uint32_t id = spec->field_cols[i];
            scan_free(s);
            return st_error_set(err, ST_EINVAL, "column id %u of table \"%s\" is not a field", id,
                                ct->name);
        }
        s->col_ids[i] = c->id;
        s->types[i] = (uint8_t)c->type;
        st_buf_init(&s->oc[i].str, (size_t)1 << 31);
    }
    s->sp.field_cols = s->col_ids;
    stor__rs_init(&s->rs, s->col_ids, s->types, nf);
    s->tab = stor__db_table(v->db, ct->id, err);
    if (!s->tab) {
        scan_free(s);
        return ST_ENOMEM;
    }
    /* Visible tombstones of the table. */
    uint32_t first, nt;
    stor__ver_tombs(v->ver, ct->id, &first, &nt);
    s->tombs = calloc(nt + 1, sizeof *s->tombs);
    if (!s->tombs) {
        scan_free(s);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < nt; i++)
        if (v->ver->tombs[first + i]->seq <= v->vis)
            s->tombs[s->n_tombs++] = v->ver->tombs[first + i];
    /* Candidate series from the tag postings of the most selective EQ/IN
     * predicate (every candidate is still checked against all predicates). */
    uint32_t total = atomic_load(&s->tab->n_series);
    for (uint32_t i = 0; i < spec->n_tag_preds; i++) {
        const struct stor_tag_pred *tp = &spec->tag_preds[i];
        if (tp->op != STOR_TAG_EQ && tp->op != STOR_TAG_IN)
            continue;
        const struct cat_column *col = NULL;
        for (uint32_t k = 0; k < ct->n_columns && !col; k++)
            if (ct->columns[k].kind == CAT_COL_TAG && ct->columns[k].tag_index == tp->tag_index)
                col = &ct->columns[k];
        uint32_t *ids = NULL, n = 0, cap = 0;
        bool ok = true;
        for (uint32_t k = 0; col && k < tp->n_values && ok; k++)
            if (tp->values[k])
                ok = stor__tag_series(s->tab, col->id, tp->values[k],
                                      (uint32_t)strlen(tp->values[k]), &ids, &n, &cap) == 0;
        if (!ok) {
            free(ids);
            continue;
        }
        if (!s->use_cand || n < s->n_cand) {
            free(s->cand);
            s->cand = ids;
            s->n_cand = n;
            s->use_cand = true;
        } else {
            free(ids);
        }
    }
    if (s->use_cand && (uint64_t)s->n_cand * 4 > total && s->n_cand > 64) {
        free(s->cand); /* not selective: walk the partitions' series instead */
        s->cand = NULL;
        s->n_cand = 0;
        s->use_cand = false;
    }
    if (s->use_cand && s->n_cand > 1) {
        qsort(s->cand, s->n_cand, sizeof *s->cand, u32_cmp);
        uint32_t k = 0;
        for (uint32_t i = 0; i < s->n_cand; i++)
            if (!k || s->cand[i] != s->cand[k - 1])
                s->cand[k++] = s->cand[i];
        s->n_cand = k;
    }
    /* Partitions overlapping the time range. */
    s->parts = calloc(v->ver->n_parts + 1, sizeof *s->parts);
    if (!s->parts) {
        scan_free(s);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < v->ver->n_parts; i++) {
        const struct stor_part *p = v->ver->parts[i];
        if (p->table_id != ct->id || p->start >= s->hi || stor__part_end(v->s, p->start) <= s->lo)
            continue;
        s->parts[s->n_parts++] = i;
    }
    if (spec->newest_partition_first)
        for (uint32_t i = 0; i < s->n_parts / 2; i++) {
            uint32_t t = s->parts[i];
            s->parts[i] = s->parts[s->n_parts - 1 - i];
            s->parts[s->n_parts - 1 - i] = t;
        }
    *out = s;
    return ST_OK;
}

enum st_code
stor_scan_open(struct stor_view *v, const struct stor_scan_spec *spec, struct stor_scan **out,
               struct st_error *err)
{
    struct stor_scan *s;
    ST_TRY(scan_setup(v, spec, &s, err));
    if (spec->mode == STOR_SCAN_LAST) {
        s->last_end = atomic_load(&s->tab->n_series);
        /* newest first for the fallback */
        for (uint32_t i = 0; i < s->n_parts; i++)
            s->parts[i] = 0;
        s->n_parts = 0;
        for (uint32_t i = v->ver->n_parts; i-- > 0;) {
            const struct stor_part *p = v->ver->parts[i];
            if (p->table_id != s->ct->id || p->start >= s->hi ||
                stor__part_end(v->s, p->start) <= s->lo)
                continue;
            s->parts[s->n_parts++] = i;
        }
    }
    *out = s;
    return ST_OK;
}

/* Build the output batch from rs rows [a, b). */
static enum st_code
emit(struct stor_scan *s, uint32_t a, uint32_t b, const struct stor_batch **out,
     struct st_error *err)
{
    uint32_t n = b - a;
    struct rowset *rs = &s->rs;
    for (uint32_t c = 0; c < s->sp.n_field_cols; c++) {
        struct out_col *oc = &s->oc[c];
        struct rs_col *rc = &rs->cols[c];
        if (n > oc->cap) {
            uint32_t cap = oc->cap ? oc->cap : 1024;
            while (cap < n)
                cap *= 2;
            uint8_t *bm = realloc(oc->bitmap, (cap + 7) / 8);
            if (bm)
                oc->bitmap = bm;
            uint8_t *bo = s->types[c] == ST_TYPE_BOOL ? realloc(oc->bools, cap) : oc->bools;
            if (bo)
                oc->bools = bo;
            int32_t *of = s->types[c] == ST_TYPE_STRING
                              ? realloc(oc->offsets, ((size_t)cap + 1) * sizeof *of)
                              : oc->offsets;
            if (of)
                oc->offsets = of;
            if (!bm || (s->types[c] == ST_TYPE_BOOL && !bo) ||
                (s->types[c] == ST_TYPE_STRING && !of))
                return st_error_set(err, ST_ENOMEM, "out of memory building a batch");
            oc->cap = cap;
        }
        struct st_column *col = &s->cols[c];
        memset(col, 0, sizeof *col);
        col->type = s->types[c];
        int64_t nulls = 0;
        if (n && memchr(rc->valid + a, 0, n)) {
            memset(oc->bitmap, 0, (n + 7) / 8);
            for (uint32_t i = 0; i < n; i++) {
                if (rc->valid[a + i])
                    oc->bitmap[i >> 3] |= (uint8_t)(1u << (i & 7));
                else {
                    nulls++;
                    rc->v[a + i] = 0;
                }
            }
        }
        col->null_count = nulls;
        col->validity = nulls ? oc->bitmap : NULL;
        switch (col->type) {
        case ST_TYPE_BOOL:
            for (uint32_t i = 0; i < n; i++)
                oc->bools[i] = (uint8_t)rc->v[a + i];
            col->v.b = oc->bools;
            break;
        case ST_TYPE_STRING: {
            st_buf_reset(&oc->str);
            oc->offsets[0] = 0;
            for (uint32_t i = 0; i < n; i++) {
                if (rc->valid[a + i] &&
                    st_buf_append(&oc->str, rs->sdata.data + rc->v[a + i], rc->slen[a + i]) !=
                        ST_OK)
                    return st_error_set(err, ST_ELIMIT, "string data of one batch over 2 GiB");
                oc->offsets[i + 1] = (int32_t)oc->str.len;
            }
            col->v.offsets = oc->offsets;
            col->str_data = oc->str.data ? (const char *)oc->str.data : "";
            break;
        }
        default: col->v.raw = rc->v + a; break;
        }
    }
    s->batch.series = &s->cur->pub;
    s->batch.n_rows = n;
    s->batch.time = rs->time + a;
    s->batch.fields = s->cols;
    *out = &s->batch;
    return ST_OK;
}

/* Point the batch at rows [a, b) of the cached group (no copy). */
static enum st_code
emit_group(struct stor_scan *s, uint32_t a, uint32_t b, const struct stor_batch **out,
           struct st_error *err)
{
    uint32_t n = b - a;
    size_t need = ((size_t)n + 1) * 8;
    if (s->zeros_len < need) {
        uint8_t *z = realloc(s->zeros, need);
        if (!z)
            return st_error_set(err, ST_ENOMEM, "out of memory building a batch");
        memset(z, 0, need);
        s->zeros = z;
        s->zeros_len = need;
    }
    for (uint32_t c = 0; c < s->sp.n_field_cols; c++) {
        struct st_column *col = &s->cols[c];
        const struct cblock *cb = s->gc[c];
        memset(col, 0, sizeof *col);
        col->type = s->types[c];
        if (!cb) { /* the column has no value in this group */
            col->validity = s->zeros;
            col->null_count = n;
            col->v.raw = s->zeros;
            if (col->type == ST_TYPE_STRING)
                col->str_data = "";
            continue;
        }
        switch (col->type) {
        case ST_TYPE_BOOL: col->v.b = cb->b + a; break;
        case ST_TYPE_STRING:
            col->v.offsets = cb->offsets + a;
            col->str_data = (const char *)cb->sdata;
            break;
        default: col->v.raw = cb->v + a; break;
        }
        if (!cb->bitmap)
            continue;
        int64_t nulls = 0;
        if ((a & 7) == 0) {
            col->validity = cb->bitmap + a / 8;
            for (uint32_t i = 0; i < n / 8; i++)
                nulls += 8 - __builtin_popcount(col->validity[i]);
            for (uint32_t i = n & ~7u; i < n; i++)
                nulls += !((col->validity[i >> 3] >> (i & 7)) & 1);
        } else {
            struct out_col *oc = &s->oc[c];
            if (n > oc->cap) {
                uint8_t *bm = realloc(oc->bitmap, (n + 7) / 8);
                if (!bm)
                    return st_error_set(err, ST_ENOMEM, "out of memory building a batch");
                oc->bitmap = bm;
                oc->cap = n;
                free(oc->bools);
                oc->bools = NULL;
                free(oc->offsets);
                oc->offsets = NULL;
                if (s->types[c] == ST_TYPE_BOOL || s->types[c] == ST_TYPE_STRING)
                    oc->cap = 0; /* emit() regrows its arrays */
            }
            memset(oc->bitmap, 0, (n + 7) / 8);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t j = a + i;
                if ((cb->bitmap[j >> 3] >> (j & 7)) & 1)
                    oc->bitmap[i >> 3] |= (uint8_t)(1u << (i & 7));
                else
                    nulls++;
            }
            col->validity = oc->bitmap;
        }
        col->null_count = nulls;
        if (!nulls)
            col->validity = NULL;
    }
    s->batch.series = &s->cur->pub;
    s->batch.n_rows = n;
    s->batch.time = (const int64_t *)s->gt->v + a;
    s->batch.fields = s->cols;
    *out = &s->batch;
    return ST_OK;
}

/* Load the blocks of a group into the scan; *empty when no row is in range. */
static enum st_code
group_load(struct stor_scan *s, const struct chk_group *g, bool *empty, struct st_error *err)
{
    struct stor_cache *cache = s->v->s->cache;
    const struct stor_chunk *c = s->fc;
    uint32_t n = g->n_rows;
    uint32_t gi = (uint32_t)(g - c->groups);
    *empty = true;
    if (stor__group_bad(c, gi))
        return ST_OK; /* quarantined: excluded from reads */
    enum st_code rc = stor__cache_get(cache, c, g->t_off, g->t_len, g->t_crc, ST_TYPE_TIME, n,
                                      &s->gt, err);
    if (rc == ST_OK)
        rc = stor__chunk_check_times(c, g, s->gt, err);
    if (rc != ST_OK) {
        if (err && !strstr(err->msg, "chunk \""))
            st_error_prefix(err, "chunk \"%s\": time block at offset %llu: ", c->path,
                            (unsigned long long)g->t_off);
        stor__cblock_put(s->gt);
        s->gt = NULL;
        if (rc == ST_ECORRUPT)
            stor__chunk_quarantine(c, gi, g->t_off, STOR_Q_DAMAGED, st_now_ns());
        return rc;
    }
    s->g_active = true;
    const int64_t *tt = (const int64_t *)s->gt->v;
    uint32_t a = 0, b = n;
    if (s->lo > tt[0]) { /* first row >= lo */
        uint32_t l = 0, h = n;
        while (l < h) {
            uint32_t m = (l + h) / 2;
            if (tt[m] < s->lo)
                l = m + 1;
            else
                h = m;
        }
        a = l;
    }
    if (s->hi <= tt[n - 1]) { /* first row >= hi */
        uint32_t l = a, h = n;
        while (l < h) {
            uint32_t m = (l + h) / 2;
            if (tt[m] < s->hi)
                l = m + 1;
            else
                h = m;
        }
        b = l;
    }
    s->g_pos = a;
    s->g_end = b;
    if (a >= b) {
        group_release(s);
        return ST_OK;
    }
    for (uint32_t i = 0; i < s->sp.n_field_cols; i++) {
        uint32_t idx = stor__chunk_col(c, s->col_ids[i]);
        const struct chk_ref *rf =
            idx != UINT32_MAX && c->col_types[idx] == s->types[i] ? stor__group_ref(c, g, idx)
                                                                   : NULL;
        if (!rf)
            continue;
        rc = stor__cache_get(cache, c, rf->off, rf->len, rf->crc, s->types[i], n, &s->gc[i], err);
        if (rc != ST_OK) {
            if (err && !strstr(err->msg, "chunk \""))
                st_error_prefix(err, "chunk \"%s\": block at offset %llu (column %u): ",
                                c->path, (unsigned long long)rf->off, s->col_ids[i]);
            group_release(s);
            if (rc == ST_ECORRUPT)
                stor__chunk_quarantine(c, gi, rf->off, STOR_Q_DAMAGED, st_now_ns());
            return rc;
        }
    }
    *empty = false;
    return ST_OK;
}

static bool
group_pruned(const struct stor_scan *s, const struct stor_chunk *c, const struct chk_group *g)
{
    if (g->t_max < s->lo || g->t_min >= s->hi)
        return true;
    for (uint32_t r = 0; r < s->sp.n_ranges; r++) {
        const struct stor_field_range *fr = &s->sp.ranges[r];
        uint32_t idx = stor__chunk_col(c, fr->col_id);
        const struct chk_ref *rf = NULL;
        for (uint32_t k = 0; k < g->n_refs && idx != UINT32_MAX; k++)
            if (c->crefs[g->first_ref + k].col == idx)
                rf = &c->crefs[g->first_ref + k];
        if (!rf)
            return true; /* all NULL: no row can satisfy a range */
        if (rf->has_stats && (rf->max < fr->lo || rf->min > fr->hi))
            return true;
    }
    return false;
}

static bool
mem_has_series(const struct stor_part *p, uint32_t sid)
{
    for (uint32_t m = 0; m < p->n_mems; m++) {
        pthread_rwlock_rdlock(&p->mems[m]->lock);
        bool has = stor__mem_find(p->mems[m], sid) != NULL;
        pthread_rwlock_unlock(&p->mems[m]->lock);
        if (has)
            return true;
    }
    return false;
}

/* Prepare the current series of the current part. */
static int
src_cmp(const void *a, const void *b)
{
    const struct scan_src *x = a, *y = b;
    return x->cs->t_min < y->cs->t_min ? -1 : x->cs->t_min > y->cs->t_min;
}

/* Start reading chunk source i of the current series (fast path). */
static void
src_begin(struct stor_scan *s, uint32_t i)
{
    s->src_i = i;
    s->fc = s->srcs[i].c;
    s->fcs = s->srcs[i].cs;
    s->fg = 0;
    s->f_direct = true;
    for (uint32_t k = 0; k < s->n_ftb; k++)
        if (s->ftb[k]->seq > s->fc->applied_seq)
            s->f_direct = false;
}

/* Prepare the current series of the current part. */
static enum st_code
series_start(struct stor_scan *s, const struct stor_part *p, struct st_error *err)
{
    uint32_t n = 0;
    for (uint32_t c = 0; c < p->n_chunks; c++) {
        const struct chk_series *cs = stor__chunk_find(p->chunks[c], s->cur->pub.id);
        if (!cs || cs->t_max < s->lo || cs->t_min >= s->hi)
            continue;
        if (n == s->cap_srcs) {
            uint32_t cap = s->cap_srcs ? s->cap_srcs * 2 : 8;
            struct scan_src *a = realloc(s->srcs, cap * sizeof *a);
            if (!a)
                return st_error_set(err, ST_ENOMEM, "out of memory");
            s->srcs = a;
            s->cap_srcs = cap;
        }
        s->srcs[n].c = p->chunks[c];
        s->srcs[n].cs = cs;
        n++;
    }
    stor__rs_reset(&s->rs);
    s->rs_pos = 0;
    s->fc = NULL;
    s->n_srcs = 0;
    bool in_mem = mem_has_series(p, s->cur->pub.id);
    if (n == 0 && !in_mem)
        return ST_OK;
    /* Chunks whose time ranges do not overlap are read one after the other,
     * in time order, without merging (the common case: each persist covers
     * later times). Overlaps and buffered rows go through the merge. */
    bool disjoint = !in_mem;
    if (disjoint && n > 1) {
        qsort(s->srcs, n, sizeof *s->srcs, src_cmp);
        for (uint32_t i = 1; i < n && disjoint; i++)
            disjoint = s->srcs[i].cs->t_min > s->srcs[i - 1].cs->t_max;
    }
    if (disjoint) {
        s->n_srcs = n;
        s->n_ftb = series_tombs(s->tombs, s->n_tombs, s->cur, s->ftb, MAX_SERIES_TOMBS);
        src_begin(s, 0);
        return ST_OK;
    }
    return gather(s->v->s->cache, p, s->v->vis, s->tombs, s->n_tombs, s->cur, s->lo, s->hi,
                  &s->rs, err);
}

/* The candidate series that have data in part p. */
static uint32_t *
cand_in_part(struct stor_scan *s, const struct stor_part *p, uint32_t *n_out)
{
    uint32_t *ids = malloc((s->n_cand + 1) * sizeof *ids);
    if (!ids)
        return NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_cand; i++) {
        bool in = false;
        for (uint32_t c = 0; c < p->n_chunks && !in; c++)
            in = stor__chunk_find(p->chunks[c], s->cand[i]) != NULL;
        if (!in)
            in = mem_has_series(p, s->cand[i]);
        if (in)
            ids[n++] = s->cand[i];
    }
    *n_out = n;
    return ids;
}

static enum st_code
next_all(struct stor_scan *s, const struct stor_batch **out, struct st_error *err)
{
    uint32_t maxr = s->sp.max_rows ? s->sp.max_rows : UINT32_MAX;
    for (;;) {
        if (s->g_active) {
            if (s->g_pos < s->g_end) {
                uint32_t a = s->g_pos;
                uint32_t b = s->g_end - a > maxr ? a + maxr : s->g_end;
                s->g_pos = b;
                return emit_group(s, a, b, out, err);
            }
            group_release(s);
        }
        if (s->rs_pos < s->rs.n) {
            uint32_t a = s->rs_pos;
            uint32_t b = s->rs.n - a > maxr ? a + maxr : s->rs.n;
            s->rs_pos = b;
            return emit(s, a, b, out, err);
        }
        if (s->fc) {
            if (s->fg < s->fcs->n_groups) {
                const struct chk_group *g = &s->fc->groups[s->fcs->first_group + s->fg++];
                if (group_pruned(s, s->fc, g))
                    continue;
                if (s->f_direct) {
                    bool empty;
                    ST_TRY(group_load(s, g, &empty, err));
                    continue;
                }
                stor__rs_reset(&s->rs);
                s->rs_pos = 0;
                ST_TRY(stor__chunk_read_group(s->fc, g, s->lo, s->hi, s->v->s->cache, &s->rs,
                                              err));
                stor__rs_filter_tombs(&s->rs, 0, s->ftb, s->n_ftb, s->fc->applied_seq, s->v->vis);
                continue;
            }
            if (s->src_i + 1 < s->n_srcs) {
                src_begin(s, s->src_i + 1);
                continue;
            }
            s->fc = NULL;
        }
        if (s->sids && s->si < s->n_sids) {
            const struct stor_part *p = s->v->ver->parts[s->parts[s->pi - 1]];
            uint32_t sid = s->sids[s->si++];
            struct stor_sent *se = stor__series_at(s->tab, sid);
            if (!se || !series_passes(&s->sp, &s->dc, se))
                continue;
            s->cur = se;
            ST_TRY(series_start(s, p, err));
            continue;
        }
        if (s->pi >= s->n_parts) {
            *out = NULL;
            s->done = true;
            return ST_OK;
        }
        const struct stor_part *p = s->v->ver->parts[s->parts[s->pi++]];
        free(s->sids);
        s->sids = s->use_cand ? cand_in_part(s, p, &s->n_sids) : part_series(p, &s->n_sids);
        s->si = 0;
        if (!s->sids)
            return st_error_set(err, ST_ENOMEM, "out of memory");
    }
}

/* LAST: the newest row of the next matching series. */
static enum st_code
next_last(struct stor_scan *s, const struct stor_batch **out, struct st_error *err)
{
    while (s->last_next < (s->use_cand ? s->n_cand : s->last_end)) {
        uint32_t sid = s->use_cand ? s->cand[s->last_next++] : s->last_next++;
        struct stor_sent *se = stor__series_at(s->tab, sid);
        if (!se || !series_passes(&s->sp, &s->dc, se))
            continue;
        s->cur = se;
        stor__rs_reset(&s->rs);
        /* The cache. */
        pthread_mutex_lock(&s->tab->mu);
        bool usable = se->lvc_state == LVC_VALID && se->lvc_seq <= s->v->vis;
        bool hit = false, none = false;
        if (usable) {
            if (!se->lvc_has_row || se->lvc.t < s->lo) {
                none = true;
            } else if (se->lvc.t < s->hi && stor__rs_reserve(&s->rs, 1) == ST_OK) {
                hit = true;
                s->rs.time[0] = se->lvc.t;
                for (uint32_t c = 0; c < s->rs.n_cols; c++) {
                    struct rs_col *rc = &s->rs.cols[c];
                    rc->valid[0] = 0;
                    rc->v[0] = 0;
                    for (uint32_t k = 0; k < se->lvc.n; k++) {
                        const struct lvc_field *f = &se->lvc.f[k];
                        if (f->col_id != rc->col_id || f->type != rc->type)
                            continue;
                        rc->valid[0] = 1;
                        if (f->type == ST_TYPE_STRING) {
                            rc->v[0] = s->rs.sdata.len;
                            rc->slen[0] = f->slen;
                            if (st_buf_append(&s->rs.sdata, f->s, f->slen) != ST_OK)
                                hit = false;
                        } else {
                            rc->v[0] = f->v.u;
                        }
                    }
                }
                s->rs.n = 1;
            }
        }
        pthread_mutex_unlock(&s->tab->mu);
        if (none)
            continue;
        if (hit)
            return emit(s, 0, 1, out, err);
        /* Scan partitions newest first. */
        stor__rs_reset(&s->rs);
        bool found = false;
        for (uint32_t i = 0; i < s->n_parts && !found; i++) {
            const struct stor_part *p = s->v->ver->parts[s->parts[i]];
            stor__rs_reset(&s->rs);
            ST_TRY(gather(s->v->s->cache, p, s->v->vis, s->tombs, s->n_tombs, se, s->lo, s->hi,
                          &s->rs, err));
            found = s->rs.n > 0;
        }
        if (s->hi == INT64_MAX && (found || s->lo == INT64_MIN))
            stor__lvc_install(s->tab, se, s->v->vis, &s->rs, found ? s->rs.n - 1 : 0, found);
        if (found)
            return emit(s, s->rs.n - 1, s->rs.n, out, err);
    }
    *out = NULL;
    s->done = true;
    return ST_OK;
}

enum st_code
stor_scan_next(struct stor_scan *s, const struct stor_batch **out, struct st_error *err)
{
    *out = NULL;
    if (!s || s->done)
        return ST_OK;
    enum st_code rc = s->sp.mode == STOR_SCAN_LAST ? next_last(s, out, err) : next_all(s, out, err);
    if (rc != ST_OK)
        s->done = true;
    return rc;
}

/* ---- estimates and series lists ------------------------------------------------ */

enum st_code
stor_scan_estimate(struct stor_view *v, const struct stor_scan_spec *spec,
                   struct stor_scan_estimate *out, struct st_error *err)
{
    struct stor_scan *s;
    ST_TRY(scan_setup(v, spec, &s, err));
    memset(out, 0, sizeof *out);
    out->t_min = INT64_MAX;
    out->t_max = INT64_MIN;
    out->series_total = atomic_load(&s->tab->n_series);
    uint8_t *seen = calloc(out->series_total + 1, 1);
    for (uint32_t i = 0; i < v->ver->n_parts; i++) {
        const struct stor_part *p = v->ver->parts[i];
        if (p->table_id != s->ct->id)
            continue;
        out->partitions_total++;
        for (uint32_t c = 0; c < p->n_chunks; c++)
            out->blocks_total += p->chunks[c]->n_groups;
        out->blocks_total += p->n_mems;
    }
    out->partitions_selected = s->n_parts;
    for (uint32_t pi = 0; pi < s->n_parts; pi++) {
        const struct stor_part *p = v->ver->parts[s->parts[pi]];
        for (uint32_t c = 0; c < p->n_chunks; c++) {
            const struct stor_chunk *ch = p->chunks[c];
            for (uint32_t k = 0; k < ch->n_series; k++) {
                const struct chk_series *cs = &ch->ser[k];
                struct stor_sent *se = stor__series_at(s->tab, cs->series_id);
                if (!se || !series_passes(&s->sp, &s->dc, se))
                    continue;
                for (uint32_t g = 0; g < cs->n_groups; g++) {
                    const struct chk_group *gr = &ch->groups[cs->first_group + g];
                    if (group_pruned(s, ch, gr))
                        continue;
                    out->blocks_selected++;
                    out->rows_selected += gr->n_rows;
                    if (seen && !seen[cs->series_id]) {
                        seen[cs->series_id] = 1;
                        out->series_selected++;
                    }
                    int64_t a = gr->t_min > s->lo ? gr->t_min : s->lo;
                    int64_t b = gr->t_max < s->hi - 1 ? gr->t_max : s->hi - 1;
                    if (a < out->t_min)
                        out->t_min = a;
                    if (b > out->t_max)
                        out->t_max = b;
                }
            }
        }
        for (uint32_t m = 0; m < p->n_mems; m++) {
            struct stor_mem *mem = p->mems[m];
            pthread_rwlock_rdlock(&mem->lock);
            bool any = false;
            for (uint32_t k = 0; k < mem->n_ser; k++) {
                const struct mem_series *ms = mem->ser[k];
                if (ms->t_max < s->lo || ms->t_min >= s->hi)
                    continue;
                struct stor_sent *se = stor__series_at(s->tab, ms->series_id);
                if (!se || !series_passes(&s->sp, &s->dc, se))
                    continue;
                any = true;
                out->rows_selected += ms->n;
                if (seen && ms->series_id < out->series_total && !seen[ms->series_id]) {
                    seen[ms->series_id] = 1;
                    out->series_selected++;
                }
                int64_t a = ms->t_min > s->lo ? ms->t_min : s->lo;
                int64_t b = ms->t_max < s->hi - 1 ? ms->t_max : s->hi - 1;
                if (a < out->t_min)
                    out->t_min = a;
                if (b > out->t_max)
                    out->t_max = b;
            }
            pthread_rwlock_unlock(&mem->lock);
            out->blocks_selected += any;
        }
    }
    free(seen);
    scan_free(s);
    return ST_OK;
}

static int
sent_ptr_cmp(const void *a, const void *b)
{
    const struct stor_series *x = *(const struct stor_series *const *)a;
    const struct stor_series *y = *(const struct stor_series *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

enum st_code
stor_series_list(struct stor_view *v, const struct stor_scan_spec *spec,
                 const struct stor_series *const **out, uint32_t *n_out, struct st_error *err)
{
    struct stor_scan *s;
    ST_TRY(scan_setup(v, spec, &s, err));
    uint32_t total = atomic_load(&s->tab->n_series);
    uint8_t *state = calloc(total + 1, 1); /* 1 candidate, 2 confirmed */
    const struct stor_series **list = calloc(total + 1, sizeof *list);
    enum st_code rc = ST_OK;
    if (!state || !list) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    struct rowset rs;
    stor__rs_init(&rs, NULL, NULL, 0);
    for (uint32_t pi = 0; pi < s->n_parts && rc == ST_OK; pi++) {
        const struct stor_part *p = v->ver->parts[s->parts[pi]];
        uint32_t n_ids;
        uint32_t *ids = part_series(p, &n_ids);
        if (!ids) {
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
            break;
        }
        for (uint32_t k = 0; k < n_ids && rc == ST_OK; k++) {
            uint32_t sid = ids[k];
            if (sid >= total || state[sid] == 2)
                continue;
            struct stor_sent *se = stor__series_at(s->tab, sid);
            if (!se || !series_passes(&s->sp, &s->dc, se))
                continue;
            /* Exact: the series must have a visible row in range here. Quick
             * answer when a chunk holds it wholly inside the range and no
             * visible delete touches it; otherwise read its times. */
            bool quick = false;
            bool touched = false;
            for (uint32_t t = 0; t < s->n_tombs && !touched; t++)
                touched = stor__tomb_matches_series(s->tombs[t], se);
            for (uint32_t c = 0; c < p->n_chunks && !quick && !touched; c++) {
                const struct chk_series *cs = stor__chunk_find(p->chunks[c], sid);
                quick = cs && cs->t_min >= s->lo && cs->t_max < s->hi &&
                        atomic_load(&p->chunks[c]->n_bad) == 0;
            }
            if (quick) {
                state[sid] = 2;
                continue;
            }
            stor__rs_reset(&rs);
            rc = gather(v->s->cache, p, v->vis, s->tombs, s->n_tombs, se, s->lo, s->hi, &rs, err);
            if (rc == ST_OK && rs.n)
                state[sid] = 2;
        }
        free(ids);
    }
    stor__rs_cleanup(&rs);
    uint32_t n = 0;
    for (uint32_t i = 0; i < total && rc == ST_OK; i++)
        if (state[i] == 2)
            list[n++] = &stor__series_at(s->tab, i)->pub;
    qsort(list, n, sizeof *list, sent_ptr_cmp);
    if (rc == ST_OK && view_keep(v, list) != 0)
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc == ST_OK) {
        *out = list;
        *n_out = n;
        list = NULL;
    }
out:
    free(list);
    free(state);
    scan_free(s);
    return rc;
}
