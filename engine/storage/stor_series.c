/*
 * stor_series.c: the series registry of a table and its last-value cache.
 *
 * A series is a table's tag set, identified by a canonical key (tags in
 * column-id order, each as uvarint column id, uvarint length, bytes) and
 * numbered densely from 0 in order of first appearance in this process.
 * Ids are not stored on disk (chunk files and WAL records carry the keys),
 * so they are rebuilt on open: chunks first, then WAL replay.
 *
 * The registry only grows. Lookup and insert take the table mutex; readers
 * reach a series by id without locking through pages of pointers that never
 * move (a page is published before any id in it is handed out).
 *
 * Last-value cache: per series, the newest row (largest time; the fields
 * of every write at that time merged, later writes winning) and the last
 * sequence number that touched the series. A reader at visible sequence V
 * may use the row only when that sequence is <= V; otherwise it scans. A
 * series first seen in a chunk file starts UNKNOWN (its newest row is
 * somewhere on disk) until a reader computes and installs it; a series
 * created by a write starts VALID and empty. A delete makes the matching
 * series UNKNOWN again.
 */
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/hash.h"

struct stor_table *
stor__table_new(uint32_t id, uint32_t max_series)
{
    struct stor_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->id = id;
    t->max_series = max_series;
    if (t->max_series > SER_PAGE * SER_DIR)
        t->max_series = SER_PAGE * SER_DIR;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

static void
lvc_row_clear(struct lvc_row *r)
{
    for (uint32_t i = 0; i < r->n; i++)
        free(r->f[i].s);
    r->n = 0;
}

void
stor__table_free(struct stor_table *t)
{
    if (!t)
        return;
    uint32_t n = atomic_load(&t->n_series);
    for (uint32_t i = 0; i < n; i++) {
        struct stor_sent *s = stor__series_at(t, i);
        if (!s)
            continue;
        lvc_row_clear(&s->lvc);
        free(s->lvc.f);
        free(s->hint);
        free((void *)s->pub.tags);
        free(s->key);
        free(s);
    }
    for (uint32_t i = 0; i < SER_DIR; i++)
        free(atomic_load(&t->pages[i]));
    for (uint32_t i = 0; i < t->post_cap; i++) {
        if (!t->posts[i])
            continue;
        free(t->posts[i]->val);
        free(t->posts[i]->ids);
        free(t->posts[i]);
    }
    free(t->posts);
    free(t->slots);
    free(t->hslots);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static int
kv_cmp(const void *a, const void *b)
{
    const struct stor_tag_kv *x = a, *y = b;
    return x->col_id < y->col_id ? -1 : x->col_id > y->col_id;
}

enum st_code
stor__key_build(struct stor_tag_kv *tags, uint32_t n, struct st_buf *key, struct st_error *err)
{
    st_buf_reset(key);
    /* Insertion sort: tag sets are small and usually already in order. */
    for (uint32_t i = 1; i < n; i++) {
        struct stor_tag_kv x = tags[i];
        uint32_t j = i;
        while (j > 0 && tags[j - 1].col_id > x.col_id) {
            tags[j] = tags[j - 1];
            j--;
        }
        tags[j] = x;
    }
    (void)kv_cmp;
    size_t need = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i && tags[i].col_id == tags[i - 1].col_id)
            return st_error_set(err, ST_EINVAL, "duplicate tag column %u in a series key",
                                tags[i].col_id);
        need += 10 + 5 + tags[i].len;
    }
    if (need > key->max || st_buf_reserve(key, need + 1) != ST_OK) /* +1: never NULL */
        return st_error_set(err, ST_ELIMIT, "series key longer than %zu bytes", key->max);
    uint8_t *q = key->data;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v = tags[i].col_id;
        while (v >= 0x80) {
            *q++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *q++ = (uint8_t)v;
        v = tags[i].len;
        while (v >= 0x80) {
            *q++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *q++ = (uint8_t)v;
        memcpy(q, tags[i].value, tags[i].len);
        q += tags[i].len;
    }
    key->len = (size_t)(q - key->data);
    if (key->len > STOR_MAX_KEY_LEN)
        return st_error_set(err, ST_ELIMIT, "series key longer than %u bytes", STOR_MAX_KEY_LEN);
    return ST_OK;
}

int
stor__key_next(const uint8_t **p, const uint8_t *end, uint32_t *col_id, const char **v,
               uint32_t *len)
{
    uint64_t c, l;
    if (st_get_uvarint(p, end, &c) != 0 || c > UINT32_MAX || st_get_uvarint(p, end, &l) != 0 ||
        l > (uint64_t)(end - *p))
        return -1;
    *col_id = (uint32_t)c;
    *v = (const char *)*p;
    *len = (uint32_t)l;
    *p += l;
    return 0;
}

const char *
stor__series_tag(const struct stor_sent *s, uint32_t col_id, uint32_t *len)
{
    const uint8_t *p = s->key, *end = s->key + s->key_len;
    uint32_t c, l;
    const char *v;
    while (p < end && stor__key_next(&p, end, &c, &v, &l) == 0) {
        if (c == col_id) {
            *len = l;
            return v;
        }
        if (c > col_id)
            break;
    }
    return NULL;
}

static int
slots_grow(struct stor_table *t)
{
    uint32_t cap = t->slot_cap ? t->slot_cap * 2 : 64;
    uint32_t *sl = calloc(cap, sizeof *sl);
    if (!sl)
        return -1;
    uint32_t n = atomic_load(&t->n_series);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = (uint32_t)stor__series_at(t, i)->hash & (cap - 1);
        while (sl[j])
            j = (j + 1) & (cap - 1);
        sl[j] = i + 1;
    }
    free(t->slots);
    t->slots = sl;
    t->slot_cap = cap;
    return 0;
}

/* Build the tags array (by tag_index) of a new series; values point into its key. */
static int
series_tags(struct stor_sent *s, const struct cat_table *ct)
{
    uint32_t n = ct ? ct->n_tags : 0;
    const char **tags = calloc(n ? n : 1, sizeof *tags);
    if (!tags)
        return -1;
    /* The key stores values without NUL terminators: keep a NUL-terminated copy
     * of the key's values right after the key bytes. */
    const uint8_t *p = s->key, *end = s->key + s->key_len;
    char *vals = (char *)s->key + s->key_len;
    uint32_t c, l;
    const char *v;
    while (p < end && stor__key_next(&p, end, &c, &v, &l) == 0) {
        memcpy(vals, v, l);
        vals[l] = '\0';
        const struct cat_column *col = cat_table_column_by_id(ct, c);
        if (col && col->kind == CAT_COL_TAG && col->tag_index < n)
            tags[col->tag_index] = vals;
        vals += l + 1;
    }
    s->pub.tags = tags;
    s->pub.n_tags = n;
    return 0;
}

static int postings_add(struct stor_table *t, const struct stor_sent *s);

enum st_code
stor__series_get(struct stor_table *t, const struct cat_table *ct, const uint8_t *key,
                 uint32_t key_len, bool from_chunk, struct stor_sent **out, struct st_error *err)
{
    uint64_t h = st_hash(key, key_len, st_hash_seed());
    pthread_mutex_lock(&t->mu);
    if (t->slot_cap) {
        uint32_t j = (uint32_t)h & (t->slot_cap - 1);
        for (;;) {
            uint32_t v = t->slots[j];
            if (!v)
                break;
            struct stor_sent *s = stor__series_at(t, v - 1);
            if (s->hash == h && s->key_len == key_len && memcmp(s->key, key, key_len) == 0) {
                pthread_mutex_unlock(&t->mu);
                *out = s;
                return ST_OK;
            }
            j = (j + 1) & (t->slot_cap - 1);
        }
    }
    uint32_t id = atomic_load(&t->n_series);
    if (id >= t->max_series) {
        pthread_mutex_unlock(&t->mu);
        return st_error_set(err, ST_ELIMIT, "table would exceed the limit of %u series",
                            t->max_series);
    }
    if ((id + 1) * 2 > t->slot_cap && slots_grow(t) != 0)
        goto nomem;
    struct stor_sent **pg = atomic_load(&t->pages[id >> SER_PAGE_BITS]);
    if (!pg) {
        pg = calloc(SER_PAGE, sizeof *pg);
        if (!pg)
            goto nomem;
        atomic_store_explicit(&t->pages[id >> SER_PAGE_BITS], pg, memory_order_release);
    }
    struct stor_sent *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    /* key bytes, then a NUL-terminated copy of every value (at most key_len + n). */
    s->key = malloc((size_t)key_len * 2 + 1);
    if (!s->key) {
        free(s);
        goto nomem;
    }
    if (key_len)
        memcpy(s->key, key, key_len);
    s->key_len = key_len;
    s->hash = h;
    s->pub.id = id;
    if (series_tags(s, ct) != 0) {
        free(s->key);
        free(s);
        goto nomem;
    }
    s->lvc_state = from_chunk ? LVC_UNKNOWN : LVC_VALID;
    s->lvc.t = INT64_MIN;
    if (postings_add(t, s) != 0) {
        /* postings are only a scan accelerator, but a series missing from them
         * would be skipped by a tag scan: refuse the series instead */
        free((void *)s->pub.tags);
        free(s->key);
        free(s);
        goto nomem;
    }
    pg[id & (SER_PAGE - 1)] = s;
    atomic_store_explicit(&t->n_series, id + 1, memory_order_release);
    uint32_t j = (uint32_t)h & (t->slot_cap - 1);
    while (t->slots[j])
        j = (j + 1) & (t->slot_cap - 1);
    t->slots[j] = id + 1;
    pthread_mutex_unlock(&t->mu);
    *out = s;
    return ST_OK;
nomem:
    pthread_mutex_unlock(&t->mu);
    return st_error_set(err, ST_ENOMEM, "out of memory adding a series");
}

/* ---- cross-batch hints ---------------------------------------------------------- */

struct stor_sent *
stor__hint_get(struct stor_table *t, const void *text, uint32_t len, uint64_t h)
{
    struct stor_sent *found = NULL;
    pthread_mutex_lock(&t->mu);
    if (t->hslot_cap) {
        uint32_t j = (uint32_t)h & (t->hslot_cap - 1);
        for (;;) {
            uint32_t v = t->hslots[j];
            if (!v)
                break;
            struct stor_sent *s = stor__series_at(t, v - 1);
            if (s->hint_hash == h && s->hint_len == len && memcmp(s->hint, text, len) == 0) {
                found = s;
                break;
            }
            j = (j + 1) & (t->hslot_cap - 1);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return found;
}

void
stor__hint_put(struct stor_table *t, struct stor_sent *s, const void *text, uint32_t len,
               uint64_t h)
{
    pthread_mutex_lock(&t->mu);
    if (s->hint || t->hint_bytes + len > STOR_HINT_BYTES)
        goto out;
    if ((t->n_hints + 1) * 2 > t->hslot_cap) {
        uint32_t cap = t->hslot_cap ? t->hslot_cap * 2 : 256;
        uint32_t *sl = calloc(cap, sizeof *sl);
        if (!sl)
            goto out;
        for (uint32_t i = 0; i < t->hslot_cap; i++) {
            uint32_t v = t->hslots[i];
            if (!v)
                continue;
            uint32_t j = (uint32_t)stor__series_at(t, v - 1)->hint_hash & (cap - 1);
            while (sl[j])
                j = (j + 1) & (cap - 1);
            sl[j] = v;
        }
        free(t->hslots);
        t->hslots = sl;
        t->hslot_cap = cap;
    }
    s->hint = malloc(len ? len : 1);
    if (!s->hint)
        goto out;
    memcpy(s->hint, text, len);
    s->hint_len = len;
    s->hint_hash = h;
    uint32_t j = (uint32_t)h & (t->hslot_cap - 1);
    while (t->hslots[j])
        j = (j + 1) & (t->hslot_cap - 1);
    t->hslots[j] = s->pub.id + 1;
    t->n_hints++;
    t->hint_bytes += len;
out:
    pthread_mutex_unlock(&t->mu);
}

/* ---- tag postings ------------------------------------------------------------ */

static uint64_t
post_hash(uint32_t col_id, const char *v, uint32_t len)
{
    return st_hash(v, len, st_hash_seed() ^ ((uint64_t)col_id * 0x9E3779B97F4A7C15ull));
}

static struct posting **
post_slot(struct stor_table *t, uint64_t h, uint32_t col_id, const char *v, uint32_t len)
{
    uint32_t j = (uint32_t)h & (t->post_cap - 1);
    for (;;) {
        struct posting *p = t->posts[j];
        if (!p || (p->h == h && p->col_id == col_id && p->vlen == len &&
                   memcmp(p->val, v, len) == 0))
            return &t->posts[j];
        j = (j + 1) & (t->post_cap - 1);
    }
}

/* Record series id under each of its tags (table mutex held). */
static int
postings_add(struct stor_table *t, const struct stor_sent *s)
{
    const uint8_t *p = s->key, *end = s->key + s->key_len;
    uint32_t c, l;
    const char *v;
    while (p < end && stor__key_next(&p, end, &c, &v, &l) == 0) {
        if ((t->n_posts + 1) * 2 > t->post_cap) {
            uint32_t cap = t->post_cap ? t->post_cap * 2 : 64;
            struct posting **a = calloc(cap, sizeof *a);
            if (!a)
                return -1;
            for (uint32_t i = 0; i < t->post_cap; i++) {
                struct posting *x = t->posts[i];
                if (!x)
                    continue;
                uint32_t j = (uint32_t)x->h & (cap - 1);
                while (a[j])
                    j = (j + 1) & (cap - 1);
                a[j] = x;
            }
            free(t->posts);
            t->posts = a;
            t->post_cap = cap;
        }
        uint64_t h = post_hash(c, v, l);
        struct posting **sl = post_slot(t, h, c, v, l);
        struct posting *x = *sl;
        if (!x) {
            x = calloc(1, sizeof *x);
            if (!x || !(x->val = malloc(l + 1))) {
                free(x);
                return -1;
            }
            memcpy(x->val, v, l);
            x->h = h;
            x->col_id = c;
            x->vlen = l;
            *sl = x;
            t->n_posts++;
        }
        if (x->n == x->cap) {
            uint32_t cap = x->cap ? x->cap * 2 : 4;
            uint32_t *a = realloc(x->ids, cap * sizeof *a);
            if (!a)
                return -1;
            x->ids = a;
            x->cap = cap;
        }
        x->ids[x->n++] = s->pub.id;
    }
    return 0;
}

int
stor__tag_series(struct stor_table *t, uint32_t col_id, const char *value, uint32_t len,
                 uint32_t **ids, uint32_t *n, uint32_t *cap)
{
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    if (t->post_cap) {
        struct posting *x = *post_slot(t, post_hash(col_id, value, len), col_id, value, len);
        if (x && x->n) {
            if (*n + x->n > *cap) {
                uint32_t c = *cap ? *cap : 16;
                while (c < *n + x->n)
                    c *= 2;
                uint32_t *a = realloc(*ids, c * sizeof *a);
                if (!a)
                    rc = -1;
                else {
                    *ids = a;
                    *cap = c;
                }
            }
            if (!rc) {
                memcpy(*ids + *n, x->ids, x->n * sizeof **ids);
                *n += x->n;
            }
        }
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* ---- last-value cache ------------------------------------------------------ */

static struct lvc_field *
lvc_slot(struct lvc_row *r, uint32_t col_id, uint8_t type)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (r->f[i].col_id == col_id)
            return &r->f[i];
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 8;
        struct lvc_field *f = realloc(r->f, cap * sizeof *f);
        if (!f)
            return NULL;
        r->f = f;
        r->cap = cap;
    }
    struct lvc_field *f = &r->f[r->n++];
    memset(f, 0, sizeof *f);
    f->col_id = col_id;
    f->type = type;
    return f;
}

static bool
lvc_set(struct lvc_field *f, uint8_t type, uint64_t bits, const char *s, uint32_t slen)
{
    f->type = type;
    if (type == ST_TYPE_STRING) {
        char *c = malloc(slen + 1);
        if (!c)
            return false;
        memcpy(c, s, slen);
        c[slen] = '\0';
        free(f->s);
        f->s = c;
        f->slen = slen;
    } else {
        f->v.u = bits;
    }
    return true;
}

void
stor__lvc_apply_locked(const struct wb_series *s, const uint8_t *strs, uint64_t seq)
{
    struct stor_sent *se = s->ser;
    if (s->n == 0)
        return;
    int64_t tmax = s->time[0];
    for (uint32_t i = 1; i < s->n; i++)
        if (s->time[i] > tmax)
            tmax = s->time[i];
    se->lvc_seq = seq;
    if (se->lvc_state != LVC_VALID || (se->lvc_has_row && tmax < se->lvc.t))
        return;
    if (!se->lvc_has_row || tmax > se->lvc.t) {
        lvc_row_clear(&se->lvc);
        se->lvc.t = tmax;
        se->lvc_has_row = true;
    }
    bool ok = true;
    for (uint32_t i = 0; i < s->n && ok; i++) {
        if (s->time[i] != tmax)
            continue;
        for (uint32_t c = 0; c < s->n_cols && ok; c++) {
            const struct wb_col *col = &s->cols[c];
            if (!((col->valid[i >> 3] >> (i & 7)) & 1))
                continue;
            struct lvc_field *f;
            if (c < se->lvc.n && se->lvc.f[c].col_id == col->col_id)
                f = &se->lvc.f[c]; /* the usual case: same fields, same order */
            else if (c == se->lvc.n && c < se->lvc.cap) {
                f = &se->lvc.f[se->lvc.n++]; /* filling a cleared row in order */
                memset(f, 0, sizeof *f);
                f->col_id = col->col_id;
                f->type = col->type;
            } else
                f = lvc_slot(&se->lvc, col->col_id, col->type);
            bool str = col->type == ST_TYPE_STRING;
            ok = f && lvc_set(f, col->type, col->v[i], str ? (const char *)strs + col->v[i] : NULL,
                              str ? col->slen[i] : 0);
        }
    }
    if (!ok) {
        /* Out of memory: forget the row; readers will scan. */
        lvc_row_clear(&se->lvc);
        se->lvc_has_row = false;
        se->lvc_state = LVC_UNKNOWN;
    }
}

void
stor__lvc_invalidate(struct stor_table *t, const struct stor_tomb *tomb, uint64_t seq)
{
    uint32_t n = atomic_load(&t->n_series);
    pthread_mutex_lock(&t->mu);
    for (uint32_t i = 0; i < n; i++) {
        struct stor_sent *s = stor__series_at(t, i);
        if (!stor__tomb_matches_series(tomb, s))
            continue;
        s->lvc_seq = seq;
        if (s->lvc_state == LVC_VALID && s->lvc_has_row && s->lvc.t >= tomb->t_lo &&
            s->lvc.t < tomb->t_hi) {
            lvc_row_clear(&s->lvc);
            s->lvc_has_row = false;
            s->lvc_state = LVC_UNKNOWN;
        }
    }
    pthread_mutex_unlock(&t->mu);
}

void
stor__lvc_install(struct stor_table *t, struct stor_sent *s, uint64_t vis, const struct rowset *rs,
                  uint32_t row, bool has_row)
{
    pthread_mutex_lock(&t->mu);
    if (s->lvc_state != LVC_UNKNOWN || s->lvc_seq > vis) {
        pthread_mutex_unlock(&t->mu);
        return;
    }
    lvc_row_clear(&s->lvc);
    s->lvc_has_row = has_row;
    bool ok = true;
    if (has_row) {
        s->lvc.t = rs->time[row];
        for (uint32_t c = 0; c < rs->n_cols && ok; c++) {
            const struct rs_col *col = &rs->cols[c];
            if (!col->valid[row])
                continue;
            struct lvc_field *f = lvc_slot(&s->lvc, col->col_id, col->type);
            ok = f && lvc_set(f, col->type, col->v[row],
                              col->type == ST_TYPE_STRING
                                  ? (const char *)rs->sdata.data + col->v[row]
                                  : NULL,
                              col->type == ST_TYPE_STRING ? col->slen[row] : 0);
        }
    }
    if (ok)
        s->lvc_state = LVC_VALID;
    else
        lvc_row_clear(&s->lvc);
    pthread_mutex_unlock(&t->mu);
}
