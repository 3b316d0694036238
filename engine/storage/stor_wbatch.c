/*
 * stor_wbatch.c: write batches (the rows of one eng_write, grouped by
 * series) and the engine's WAL record format.
 *
 * A batch is built line by line by the facade; rows of one series stay in
 * line order, so a later line wins an upsert. The batch is serialized into
 * one WAL record, and on recovery a record is decoded back into a batch and
 * applied exactly as the live write was.
 *
 * Record format (all integers uvarint unless noted; zz = zigzag):
 *
 *   WRITE   u8 1, db_id, n_series, then per series:
 *             table_id, key_len, key (tags in column-id order: col_id, len, bytes),
 *             n_rows, n_rows x zz(time - previous time) (previous starts at 0),
 *             n_cols, then per column:
 *               col_id, u8 type, validity bitmap ((n_rows + 7) / 8 bytes, LSB first),
 *               then per valid row: INT/UINT zz(value - previous valid value),
 *               FLOAT 8 bytes LE, BOOL 1 byte, STRING len + bytes
 *   DELETE  u8 2, db_id, table_id, t_lo u64 LE, t_hi u64 LE, n_preds, then per
 *             predicate: col_id, n_values, per value: len, bytes
 *
 * Every id in a record exists in the catalog file (the catalog is saved
 * before the record is appended); a record that does not decode against it
 * is corrupt.
 *
 * Memory: the per-series arrays of a batch (times, validity bitmaps,
 * values) come from the batch's arena, a few large blocks freed together
 * with the batch. A batch over thousands of series with a few rows each
 * (TSBS at scale: each line a different host) would otherwise make a
 * dozen small allocations per series and free them again, per batch.
 */
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/hash.h"

#define WB_MAX_ROWS_PER_SERIES (1u << 28)

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

/* ---- the arena ------------------------------------------------------------ */

struct wb_blk {
    struct wb_blk *next;
    size_t cap, used;
    max_align_t data[];
};

#define WB_BLK_MIN ((size_t)64 << 10)
#define WB_BLK_MAX ((size_t)4 << 20)

/* n bytes (16-aligned, uninitialised) that live until the batch is freed. */
static void *
wb_alloc(struct stor_wbatch *wb, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct wb_blk *b = wb->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = b ? b->cap * 2 : WB_BLK_MIN;
        if (cap > WB_BLK_MAX)
            cap = WB_BLK_MAX;
        if (cap < n)
            cap = n;
        struct wb_blk *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->cap = cap;
        nb->used = 0;
        if (b && n > b->cap / 2) {
            /* a big one-off: keep filling the current block */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            wb->arena = nb;
        }
        b = nb;
    }
    void *p = (uint8_t *)b->data + b->used;
    b->used += n;
    return p;
}

static void
wb_arena_free(struct stor_wbatch *wb)
{
    for (struct wb_blk *b = wb->arena, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    wb->arena = NULL;
}

struct stor_wbatch *
stor_wbatch_new(uint32_t db_id)
{
    struct stor_wbatch *wb = calloc(1, sizeof *wb);
    if (!wb)
        return NULL;
    wb->db_id = db_id;
    wb->kind = WB_WRITE;
    wb->cur = UINT32_MAX;
    st_buf_init(&wb->strs, (size_t)1 << 31);
    st_buf_init(&wb->keybuf, STOR_MAX_KEY_LEN);
    st_buf_init(&wb->hbuf, (size_t)64 << 20);
    return wb;
}

void
stor_wbatch_free(struct stor_wbatch *wb)
{
    if (!wb)
        return;
    wb_arena_free(wb);
    free(wb->ser);
    free(wb->slots);
    st_buf_cleanup(&wb->strs);
    st_buf_cleanup(&wb->keybuf);
    st_buf_cleanup(&wb->hbuf);
    free(wb->hints);
    free(wb->hslots);
    stor__tomb_unref(wb->tomb);
    free(wb);
}

uint64_t
stor_wbatch_rows(const struct stor_wbatch *wb)
{
    return wb->rows;
}

uint64_t
stor_wbatch_fields(const struct stor_wbatch *wb)
{
    return wb->fields;
}

uint64_t
stor_wbatch_deleted_rows(const struct stor_wbatch *wb)
{
    return wb->deleted;
}

/* ---- building ----------------------------------------------------------- */

static uint64_t
ws_hash(uint32_t table_id, uint64_t key_hash)
{
    return st_hash_u64(key_hash ^ ((uint64_t)table_id * 0x9E3779B97F4A7C15ull));
}

static int
slots_rebuild(struct stor_wbatch *wb, uint32_t cap)
{
    uint32_t *sl = calloc(cap, sizeof *sl);
    if (!sl)
        return -1;
    for (uint32_t i = 0; i < wb->n_ser; i++) {
        uint32_t j = (uint32_t)ws_hash(wb->ser[i].table_id, wb->ser[i].ser->hash) & (cap - 1);
        while (sl[j])
            j = (j + 1) & (cap - 1);
        sl[j] = i + 1;
    }
    free(wb->slots);
    wb->slots = sl;
    wb->slot_cap = cap;
    return 0;
}

/* The batch series for (table, key), or -1. */
static int64_t
ws_find(const struct stor_wbatch *wb, uint32_t table_id, uint64_t key_hash, const uint8_t *key,
        uint32_t key_len)
{
    if (!wb->slot_cap)
        return -1;
    uint32_t j = (uint32_t)ws_hash(table_id, key_hash) & (wb->slot_cap - 1);
    for (;;) {
        uint32_t v = wb->slots[j];
        if (!v)
            return -1;
        const struct wb_series *s = &wb->ser[v - 1];
        if (s->table_id == table_id && s->ser->hash == key_hash && s->ser->key_len == key_len &&
            memcmp(s->ser->key, key, key_len) == 0)
            return v - 1;
        j = (j + 1) & (wb->slot_cap - 1);
    }
}

/* Give a new series the columns of template tp, all arrays in one block. */
static int
ws_prefill(struct stor_wbatch *wb, struct wb_series *s, const struct wb_series *tp)
{
    uint32_t cap = s->cap_hint ? s->cap_hint : 4, nc = tp->n_cols;
    size_t bm = ((size_t)(cap + 7) / 8 + 15) & ~(size_t)15;
    size_t total = (size_t)cap * 8 + (((size_t)nc * sizeof(struct wb_col) + 15) & ~(size_t)15);
    for (uint32_t c = 0; c < nc; c++)
        total += bm + (size_t)cap * 8 +
                 (tp->cols[c].type == ST_TYPE_STRING ? (((size_t)cap * 4 + 15) & ~(size_t)15) : 0);
    uint8_t *p = wb_alloc(wb, total);
    if (!p)
        return -1;
    s->time = (int64_t *)p;
    p += (size_t)cap * 8;
    s->cols = (struct wb_col *)p;
    p += ((size_t)nc * sizeof(struct wb_col) + 15) & ~(size_t)15;
    for (uint32_t c = 0; c < nc; c++) {
        struct wb_col *col = &s->cols[c];
        col->col_id = tp->cols[c].col_id;
        col->type = tp->cols[c].type;
        col->valid = p;
        memset(p, 0, bm);
        p += bm;
        col->v = (uint64_t *)p;
        p += (size_t)cap * 8;
        col->slen = NULL;
        if (col->type == ST_TYPE_STRING) {
            col->slen = (uint32_t *)p;
            p += ((size_t)cap * 4 + 15) & ~(size_t)15;
        }
    }
    s->n_cols = s->cap_cols = nc;
    s->cap = cap;
    return 0;
}

/* Index of the batch series for (table, series), adding it when new; -1 on ENOMEM. */
static int64_t
ws_get(struct stor_wbatch *wb, struct stor_table *tab, const struct cat_table *ct,
       struct stor_sent *se)
{
    int64_t f = ws_find(wb, tab->id, se->hash, se->key, se->key_len);
    if (f >= 0)
        return f;
    if (wb->n_ser == wb->cap_ser) {
        uint32_t cap = wb->cap_ser ? wb->cap_ser * 2 : 16;
        struct wb_series *a = realloc(wb->ser, cap * sizeof *a);
        if (!a)
            return -1;
        wb->ser = a;
        wb->cap_ser = cap;
    }
    struct wb_series *s = &wb->ser[wb->n_ser];
    memset(s, 0, sizeof *s);
    s->table_id = tab->id;
    s->tab = tab;
    s->ser = se;
    s->ct = ct;
    s->cap_hint = wb->first_cap;
    /* lay out its columns like the series before it of the same table: the
     * lines of one table usually carry the same fields */
    if (wb->n_ser && wb->ser[wb->n_ser - 1].table_id == tab->id &&
        wb->ser[wb->n_ser - 1].n_cols && ws_prefill(wb, s, &wb->ser[wb->n_ser - 1]) != 0)
        return -1;
    wb->n_ser++;
    if (wb->n_ser * 2 > wb->slot_cap) {
        if (slots_rebuild(wb, wb->slot_cap ? wb->slot_cap * 2 : 64) != 0) {
            wb->n_ser--;
            return -1;
        }
    } else {
        uint32_t j = (uint32_t)ws_hash(tab->id, se->hash) & (wb->slot_cap - 1);
        while (wb->slots[j])
            j = (j + 1) & (wb->slot_cap - 1);
        wb->slots[j] = wb->n_ser;
    }
    return wb->n_ser - 1;
}

/* Room for `extra` more rows in a series' arrays (grown in the arena). */
static int
ws_reserve(struct stor_wbatch *wb, struct wb_series *s, uint32_t extra)
{
    if (s->n + extra <= s->cap)
        return 0;
    if ((uint64_t)s->n + extra > WB_MAX_ROWS_PER_SERIES)
        return -1;
    uint32_t cap = s->cap ? s->cap * 2 : (s->cap_hint ? s->cap_hint : 4);
    while (cap < s->n + extra)
        cap *= 2;
    int64_t *t = wb_alloc(wb, (size_t)cap * 8);
    if (!t)
        return -1;
    if (s->n)
        memcpy(t, s->time, (size_t)s->n * 8);
    s->time = t;
    for (uint32_t c = 0; c < s->n_cols; c++) {
        struct wb_col *col = &s->cols[c];
        size_t ob = (s->cap + 7) / 8, nb = (cap + 7) / 8;
        uint8_t *v = wb_alloc(wb, nb);
        uint64_t *x = wb_alloc(wb, (size_t)cap * 8);
        uint32_t *l = col->type == ST_TYPE_STRING ? wb_alloc(wb, (size_t)cap * 4) : NULL;
        if (!v || !x || (col->type == ST_TYPE_STRING && !l))
            return -1;
        memcpy(v, col->valid, ob);
        memset(v + ob, 0, nb - ob);
        col->valid = v;
        if (s->n)
            memcpy(x, col->v, (size_t)s->n * 8);
        col->v = x;
        if (l) {
            if (s->n)
                memcpy(l, col->slen, (size_t)s->n * 4);
            col->slen = l;
        }
    }
    s->cap = cap;
    return 0;
}

static struct wb_col *
ws_col(struct stor_wbatch *wb, struct wb_series *s, uint32_t col_id, uint8_t type)
{
    if (s->hint < s->n_cols && s->cols[s->hint].col_id == col_id)
        return &s->cols[s->hint++];
    for (uint32_t c = 0; c < s->n_cols; c++)
        if (s->cols[c].col_id == col_id) {
            s->hint = c + 1;
            return &s->cols[c];
        }
    if (s->n_cols == s->cap_cols) {
        uint32_t cap = s->cap_cols ? s->cap_cols * 2 : 16;
        struct wb_col *a = wb_alloc(wb, cap * sizeof *a);
        if (!a)
            return NULL;
        if (s->n_cols)
            memcpy(a, s->cols, s->n_cols * sizeof *a);
        s->cols = a;
        s->cap_cols = cap;
    }
    struct wb_col *col = &s->cols[s->n_cols];
    memset(col, 0, sizeof *col);
    col->col_id = col_id;
    col->type = type;
    size_t cap = s->cap ? s->cap : 1;
    col->valid = wb_alloc(wb, (cap + 7) / 8);
    col->v = wb_alloc(wb, cap * 8);
    if (type == ST_TYPE_STRING)
        col->slen = wb_alloc(wb, cap * 4);
    if (!col->valid || !col->v || (type == ST_TYPE_STRING && !col->slen))
        return NULL;
    memset(col->valid, 0, (cap + 7) / 8);
    s->n_cols++;
    s->hint = s->n_cols;
    return col;
}

/* Start each series' arrays at the size the last batch needed. */
static void
first_cap_init(struct stor_wbatch *wb, struct stor_db *db)
{
    uint32_t hint = atomic_load_explicit(&db->rows_hint, memory_order_relaxed), cap = 4;
    while (cap < hint && cap < 4096)
        cap *= 2;
    wb->first_cap = cap;
}

enum st_code
stor_wbatch_row(struct stor_wbatch *wb, struct stor_db *db, const struct cat_table *t,
                const struct stor_tag_kv *tags, uint32_t n_tags, int64_t time_ns,
                struct stor_wb_mark *mark, struct st_error *err)
{
    struct stor_tag_kv kv_small[32];
    struct stor_tag_kv *kv = n_tags <= 32 ? kv_small : malloc(n_tags * sizeof *kv);
    if (!kv)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    memcpy(kv, tags, n_tags * sizeof *kv);
    struct st_buf *key = &wb->keybuf;
    enum st_code rc = stor__key_build(kv, n_tags, key, err);
    if (kv != kv_small)
        free(kv);
    if (rc != ST_OK)
        return rc;
    if (mark) {
        mark->n_series = wb->n_ser;
        mark->series = UINT32_MAX;
        mark->rows = wb->rows;
        mark->fields = wb->fields;
    }
    uint64_t h = st_hash(key->data, key->len, st_hash_seed());
    int64_t i = ws_find(wb, t->id, h, key->data, (uint32_t)key->len);
    if (i < 0) {
        if (!wb->first_cap)
            first_cap_init(wb, db);
        struct stor_table *tab = stor__db_table(db, t->id, err);
        if (!tab)
            return err ? err->code : ST_ENOMEM;
        struct stor_sent *se = NULL;
        ST_TRY(stor__series_get(tab, t, key->data, (uint32_t)key->len, false, &se, err));
        i = ws_get(wb, tab, t, se);
        if (i < 0)
            return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    struct wb_series *s = &wb->ser[i];
    if (ws_reserve(wb, s, 1) != 0)
        return st_error_set(err, ST_ELIMIT, "too many rows for one series in one batch");
    if (mark) {
        mark->series = (uint32_t)i;
        mark->n_rows = s->n;
    }
    s->time[s->n++] = time_ns;
    s->hint = 0;
    wb->cur = (uint32_t)i;
    wb->rows++;
    return ST_OK;
}

/* The hash of a hint text (the last one is kept: a line's hint is looked up,
 * then maybe recorded, with one hash). */
static uint64_t
hint_hash(struct stor_wbatch *wb, const void *hint, uint32_t len)
{
    if (wb->h_text != hint || wb->h_len != len) {
        wb->h_hash = st_hash(hint, len, st_hash_seed());
        wb->h_text = hint;
        wb->h_len = len;
    }
    return wb->h_hash;
}

int64_t
stor_wbatch_hint_find(struct stor_wbatch *wb, const void *hint, uint32_t len)
{
    if (!wb->hslot_cap)
        return -1;
    uint64_t h = hint_hash(wb, hint, len);
    uint32_t j = (uint32_t)h & (wb->hslot_cap - 1);
    for (;;) {
        uint32_t v = wb->hslots[j];
        if (!v)
            return -1;
        const struct wb_hint *x = &wb->hints[v - 1];
        if (x->h == h && x->len == len && memcmp(wb->hbuf.data + x->off, hint, len) == 0)
            return x->ser < wb->n_ser ? (int64_t)x->ser : -1;
        j = (j + 1) & (wb->hslot_cap - 1);
    }
}

/* Record the batch-local hint text -> batch series `ser`. */
static void
batch_hint_add(struct stor_wbatch *wb, const void *hint, uint32_t len, uint32_t ser)
{
    if (wb->n_hints == wb->cap_hints) {
        uint32_t cap = wb->cap_hints ? wb->cap_hints * 2 : 64;
        struct wb_hint *a = realloc(wb->hints, cap * sizeof *a);
        if (!a)
            return;
        wb->hints = a;
        wb->cap_hints = cap;
    }
    if ((wb->n_hints + 1) * 2 > wb->hslot_cap) {
        uint32_t cap = wb->hslot_cap ? wb->hslot_cap * 2 : 128;
        uint32_t *sl = calloc(cap, sizeof *sl);
        if (!sl)
            return;
        for (uint32_t i = 0; i < wb->n_hints; i++) {
            uint32_t j = (uint32_t)wb->hints[i].h & (cap - 1);
            while (sl[j])
                j = (j + 1) & (cap - 1);
            sl[j] = i + 1;
        }
        free(wb->hslots);
        wb->hslots = sl;
        wb->hslot_cap = cap;
    }
    size_t off = wb->hbuf.len;
    if (st_buf_append(&wb->hbuf, hint, len) != ST_OK)
        return;
    struct wb_hint *x = &wb->hints[wb->n_hints];
    x->h = hint_hash(wb, hint, len);
    x->off = (uint32_t)off;
    x->len = len;
    x->ser = ser;
    uint32_t j = (uint32_t)x->h & (wb->hslot_cap - 1);
    while (wb->hslots[j])
        j = (j + 1) & (wb->hslot_cap - 1);
    wb->hslots[j] = ++wb->n_hints;
}

void
stor_wbatch_hint_set(struct stor_wbatch *wb, const void *hint, uint32_t len, bool lasting)
{
    if (wb->cur >= wb->n_ser || stor_wbatch_hint_find(wb, hint, len) >= 0)
        return;
    batch_hint_add(wb, hint, len, wb->cur);
    /* and across batches: the text names this series for good */
    struct wb_series *s = &wb->ser[wb->cur];
    if (lasting && !s->ser->hint)
        stor__hint_put(s->tab, s->ser, hint, len, hint_hash(wb, hint, len));
}

int64_t
stor_wbatch_hint_known(struct stor_wbatch *wb, struct stor_db *db, const struct cat_table *t,
                       const void *hint, uint32_t len)
{
    struct stor_table *tab = stor__db_table(db, t->id, NULL);
    if (!tab)
        return -1;
    struct stor_sent *se = stor__hint_get(tab, hint, len, hint_hash(wb, hint, len));
    if (!se)
        return -1;
    if (!wb->first_cap)
        first_cap_init(wb, db);
    /* the batch-local hint is recorded by hint_set once the row is good */
    return ws_get(wb, tab, t, se);
}

enum st_code
stor_wbatch_row_at(struct stor_wbatch *wb, uint32_t series, int64_t time_ns,
                   struct stor_wb_mark *mark, struct st_error *err)
{
    if (series >= wb->n_ser)
        return st_error_set(err, ST_EINTERNAL, "no such batch series");
    struct wb_series *s = &wb->ser[series];
    if (ws_reserve(wb, s, 1) != 0)
        return st_error_set(err, ST_ELIMIT, "too many rows for one series in one batch");
    if (mark) {
        mark->n_series = wb->n_ser;
        mark->series = series;
        mark->n_rows = s->n;
        mark->rows = wb->rows;
        mark->fields = wb->fields;
    }
    s->time[s->n++] = time_ns;
    s->hint = 0;
    wb->cur = series;
    wb->rows++;
    return ST_OK;
}

static struct wb_col *
cur_col(struct stor_wbatch *wb, uint32_t col_id, uint8_t type, struct st_error *err)
{
    if (wb->cur >= wb->n_ser) {
        st_error_set(err, ST_EINTERNAL, "field set without a row");
        return NULL;
    }
    struct wb_col *c = ws_col(wb, &wb->ser[wb->cur], col_id, type);
    if (!c)
        st_error_set(err, ST_ENOMEM, "out of memory");
    else if (c->type != type) {
        st_error_set(err, ST_EINTERNAL, "column %u written with two types", col_id);
        return NULL;
    }
    return c;
}

static enum st_code
set_bits(struct stor_wbatch *wb, uint32_t col_id, uint8_t type, uint64_t bits,
         struct st_error *err)
{
    struct wb_col *c = cur_col(wb, col_id, type, err);
    if (!c)
        return err ? err->code : ST_ENOMEM;
    struct wb_series *s = &wb->ser[wb->cur];
    uint32_t r = s->n - 1;
    if (!((c->valid[r >> 3] >> (r & 7)) & 1))
        wb->fields++;
    c->valid[r >> 3] |= (uint8_t)(1u << (r & 7));
    c->v[r] = bits;
    return ST_OK;
}

enum st_code
stor_wbatch_field_i64(struct stor_wbatch *wb, uint32_t col_id, enum st_type type, int64_t v,
                      struct st_error *err)
{
    return set_bits(wb, col_id, (uint8_t)type, (uint64_t)v, err);
}

enum st_code
stor_wbatch_field_f64(struct stor_wbatch *wb, uint32_t col_id, double v, struct st_error *err)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    return set_bits(wb, col_id, ST_TYPE_FLOAT, b, err);
}

enum st_code
stor_wbatch_field_bool(struct stor_wbatch *wb, uint32_t col_id, bool v, struct st_error *err)
{
    return set_bits(wb, col_id, ST_TYPE_BOOL, v ? 1 : 0, err);
}

enum st_code
stor_wbatch_field_str(struct stor_wbatch *wb, uint32_t col_id, const char *p, uint32_t len,
                      struct st_error *err)
{
    size_t off = wb->strs.len;
    enum st_code rc = st_buf_append(&wb->strs, p, len);
    if (rc != ST_OK)
        return st_error_set(err, rc, "string data of one batch over %zu bytes", wb->strs.max);
    ST_TRY(set_bits(wb, col_id, ST_TYPE_STRING, off, err));
    struct wb_series *s = &wb->ser[wb->cur];
    struct wb_col *c = ws_col(wb, s, col_id, ST_TYPE_STRING);
    c->slen[s->n - 1] = len;
    return ST_OK;
}

enum st_code
stor_wbatch_fields_set(struct stor_wbatch *wb, const struct stor_field_val *f, uint32_t n,
                       struct st_error *err)
{
    if (wb->cur >= wb->n_ser)
        return st_error_set(err, ST_EINTERNAL, "fields set without a row");
    struct wb_series *s = &wb->ser[wb->cur];
    uint32_t r = s->n - 1;
    uint8_t bit = (uint8_t)(1u << (r & 7));
    for (uint32_t i = 0; i < n; i++) {
        struct wb_col *c;
        if (s->hint < s->n_cols && s->cols[s->hint].col_id == f[i].col_id)
            c = &s->cols[s->hint++]; /* the usual case: same fields in the same order */
        else
            c = ws_col(wb, s, f[i].col_id, f[i].type);
        if (!c)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        if (c->type != f[i].type)
            return st_error_set(err, ST_EINTERNAL, "column %u written with two types",
                                f[i].col_id);
        uint64_t bits = f[i].bits;
        if (f[i].type == ST_TYPE_STRING) {
            bits = wb->strs.len;
            enum st_code rc = st_buf_append(&wb->strs, f[i].s, f[i].len);
            if (rc != ST_OK)
                return st_error_set(err, rc, "string data of one batch over %zu bytes",
                                    wb->strs.max);
            c->slen[r] = f[i].len;
        }
        if (!(c->valid[r >> 3] & bit))
            wb->fields++;
        c->valid[r >> 3] |= bit;
        c->v[r] = bits;
    }
    return ST_OK;
}

void
stor_wbatch_rollback(struct stor_wbatch *wb, const struct stor_wb_mark *mark)
{
    if (mark->series != UINT32_MAX && mark->series < wb->n_ser) {
        struct wb_series *s = &wb->ser[mark->series];
        for (uint32_t r = mark->n_rows; r < s->n; r++)
            for (uint32_t c = 0; c < s->n_cols; c++)
                s->cols[c].valid[r >> 3] &= (uint8_t) ~(1u << (r & 7));
        s->n = mark->n_rows;
    }
    while (wb->n_ser > mark->n_series) {
        --wb->n_ser; /* its arrays stay in the arena until the batch is freed */
        if (slots_rebuild(wb, wb->slot_cap ? wb->slot_cap : 64) != 0) {
            /* Keep the old (now stale) slots out of reach: a lookup must not
             * land on a removed series. */
            memset(wb->slots, 0, wb->slot_cap * sizeof *wb->slots);
            for (uint32_t i = 0; i < wb->n_ser; i++) {
                uint32_t j = (uint32_t)ws_hash(wb->ser[i].table_id, wb->ser[i].ser->hash) &
                             (wb->slot_cap - 1);
                while (wb->slots[j])
                    j = (j + 1) & (wb->slot_cap - 1);
                wb->slots[j] = i + 1;
            }
        }
    }
    wb->rows = mark->rows;
    wb->fields = mark->fields;
    wb->cur = UINT32_MAX;
}

enum st_code
stor_wbatch_delete(struct stor_wbatch *wb, uint32_t table_id, int64_t t_lo, int64_t t_hi,
                   const struct stor_del_pred *preds, uint32_t n_preds, struct st_error *err)
{
    struct stor_tomb *t = calloc(1, sizeof *t);
    if (!t)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    atomic_init(&t->refs, 1);
    t->table_id = table_id;
    t->t_lo = t_lo;
    t->t_hi = t_hi;
    t->preds = n_preds ? calloc(n_preds, sizeof *t->preds) : NULL;
    if (n_preds && !t->preds)
        goto nomem;
    t->n_preds = n_preds;
    for (uint32_t i = 0; i < n_preds; i++) {
        struct tomb_pred *p = &t->preds[i];
        p->col_id = preds[i].col_id;
        p->values = calloc(preds[i].n_values ? preds[i].n_values : 1, sizeof *p->values);
        p->lens = calloc(preds[i].n_values ? preds[i].n_values : 1, sizeof *p->lens);
        if (!p->values || !p->lens)
            goto nomem;
        p->n_values = preds[i].n_values;
        for (uint32_t k = 0; k < p->n_values; k++) {
            p->values[k] = strdup(preds[i].values[k]);
            if (!p->values[k])
                goto nomem;
            p->lens[k] = (uint32_t)strlen(p->values[k]);
        }
    }
    stor__tomb_unref(wb->tomb);
    wb->tomb = t;
    wb->kind = WB_DELETE;
    return ST_OK;
nomem:
    stor__tomb_unref(t);
    return st_error_set(err, ST_ENOMEM, "out of memory");
}

/* ---- encoding ------------------------------------------------------------ */

static inline uint8_t *
put_uv(uint8_t *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *q++ = (uint8_t)v;
    return q;
}

enum st_code
stor_wbatch_encode(const struct stor_wbatch *wb, struct st_buf *b, struct st_error *err)
{
    enum st_code rc = ST_OK;
#define P(x)                                                                                       \
    do {                                                                                           \
        if ((rc = (x)) != ST_OK)                                                                   \
            goto fail;                                                                             \
    } while (0)
    P(st_buf_append_byte(b, (uint8_t)wb->kind));
    P(st_buf_put_uvarint(b, wb->db_id));
    if (wb->kind == WB_DELETE) {
        const struct stor_tomb *t = wb->tomb;
        P(st_buf_put_uvarint(b, t->table_id));
        P(st_buf_put_u64le(b, (uint64_t)t->t_lo));
        P(st_buf_put_u64le(b, (uint64_t)t->t_hi));
        P(st_buf_put_uvarint(b, t->n_preds));
        for (uint32_t i = 0; i < t->n_preds; i++) {
            P(st_buf_put_uvarint(b, t->preds[i].col_id));
            P(st_buf_put_uvarint(b, t->preds[i].n_values));
            for (uint32_t k = 0; k < t->preds[i].n_values; k++) {
                P(st_buf_put_uvarint(b, t->preds[i].lens[k]));
                P(st_buf_append(b, t->preds[i].values[k], t->preds[i].lens[k]));
            }
        }
        return ST_OK;
    }
    uint32_t n_nonempty = 0;
    for (uint32_t i = 0; i < wb->n_ser; i++)
        n_nonempty += wb->ser[i].n > 0;
    P(st_buf_put_uvarint(b, n_nonempty));
    for (uint32_t i = 0; i < wb->n_ser; i++) {
        const struct wb_series *s = &wb->ser[i];
        if (!s->n)
            continue;
        /* the worst case of this series, reserved once, then written directly */
        size_t need = 40 + s->ser->key_len + (size_t)s->n * 10;
        for (uint32_t c = 0; c < s->n_cols; c++) {
            const struct wb_col *col = &s->cols[c];
            need += 16 + (s->n + 7) / 8 + (size_t)s->n * 10;
            if (col->type == ST_TYPE_STRING)
                for (uint32_t r = 0; r < s->n; r++)
                    if ((col->valid[r >> 3] >> (r & 7)) & 1)
                        need += col->slen[r];
        }
        P(st_buf_reserve(b, need));
        uint8_t *q = b->data + b->len;
        q = put_uv(q, s->table_id);
        q = put_uv(q, s->ser->key_len);
        memcpy(q, s->ser->key, s->ser->key_len);
        q += s->ser->key_len;
        q = put_uv(q, s->n);
        int64_t prev = 0;
        for (uint32_t r = 0; r < s->n; r++) {
            q = put_uv(q, zz((int64_t)((uint64_t)s->time[r] - (uint64_t)prev)));
            prev = s->time[r];
        }
        q = put_uv(q, s->n_cols);
        for (uint32_t c = 0; c < s->n_cols; c++) {
            const struct wb_col *col = &s->cols[c];
            q = put_uv(q, col->col_id);
            *q++ = col->type;
            memcpy(q, col->valid, (s->n + 7) / 8);
            q += (s->n + 7) / 8;
            uint64_t pv = 0;
            for (uint32_t r = 0; r < s->n; r++) {
                if (!((col->valid[r >> 3] >> (r & 7)) & 1))
                    continue;
                switch (col->type) {
                case ST_TYPE_FLOAT:
                    st_store_u64le(q, col->v[r]);
                    q += 8;
                    break;
                case ST_TYPE_BOOL: *q++ = (uint8_t)col->v[r]; break;
                case ST_TYPE_STRING:
                    q = put_uv(q, col->slen[r]);
                    memcpy(q, wb->strs.data + col->v[r], col->slen[r]);
                    q += col->slen[r];
                    break;
                default:
                    q = put_uv(q, zz((int64_t)(col->v[r] - pv)));
                    pv = col->v[r];
                }
            }
        }
        b->len = (size_t)(q - b->data);
    }
#undef P
    return ST_OK;
fail:
    return st_error_set(err, rc, "encoding a WAL record: %s", st_strerror(rc));
}

/* ---- decoding -------------------------------------------------------------- */

struct rd {
    const uint8_t *p, *end;
};

static int
rd_u(struct rd *r, uint64_t *v)
{
    return st_get_uvarint(&r->p, r->end, v);
}

static int
rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n)
        return -1;
    *out = r->p;
    r->p += n;
    return 0;
}

#define BAD(msg) st_error_set(err, ST_ECORRUPT, "WAL record: %s", msg)

/* Decode a record into wb. With db == NULL only the structure is checked. */
static enum st_code
decode(const uint8_t *rec, size_t len, struct stor_db *db, const struct cat_db *cdb,
       struct stor_wbatch *wb, struct st_error *err)
{
    struct rd r = {rec, rec + len};
    uint64_t kind, db_id, v;
    const uint8_t *bytes;
    if (len < 2)
        return BAD("too short");
    kind = *r.p++;
    if (rd_u(&r, &db_id) != 0 || db_id > UINT32_MAX)
        return BAD("bad database id");
    wb->db_id = (uint32_t)db_id;
    if (kind == WB_DELETE) {
        uint64_t table_id, n_preds;
        if (rd_u(&r, &table_id) != 0 || table_id > UINT32_MAX || rd_bytes(&r, 16, &bytes) != 0 ||
            rd_u(&r, &n_preds) != 0 || n_preds > 1024)
            return BAD("bad delete header");
        int64_t lo = (int64_t)st_load_u64le(bytes), hi = (int64_t)st_load_u64le(bytes + 8);
        struct stor_del_pred *preds = calloc(n_preds ? n_preds : 1, sizeof *preds);
        const char ***vals = calloc(n_preds ? n_preds : 1, sizeof *vals);
        enum st_code rc = preds && vals ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
        uint64_t got = 0;
        for (; got < n_preds && rc == ST_OK; got++) {
            uint64_t col, nv;
            if (rd_u(&r, &col) != 0 || col > UINT32_MAX || rd_u(&r, &nv) != 0 || nv > 65536) {
                rc = BAD("bad delete predicate");
                break;
            }
            vals[got] = calloc(nv ? nv : 1, sizeof(char *));
            if (!vals[got]) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            preds[got].col_id = (uint32_t)col;
            preds[got].n_values = (uint32_t)nv;
            preds[got].values = vals[got];
            for (uint64_t k = 0; k < nv && rc == ST_OK; k++) {
                uint64_t l;
                if (rd_u(&r, &l) != 0 || rd_bytes(&r, (size_t)l, &bytes) != 0 ||
                    memchr(bytes, 0, (size_t)l)) {
                    rc = BAD("bad delete value");
                    break;
                }
                char *s = malloc((size_t)l + 1);
                if (!s) {
                    rc = st_error_set(err, ST_ENOMEM, "out of memory");
                    break;
                }
                memcpy(s, bytes, (size_t)l);
                s[l] = '\0';
                vals[got][k] = s;
            }
        }
        if (rc == ST_OK && r.p != r.end)
            rc = BAD("trailing bytes");
        if (rc == ST_OK)
            rc = stor_wbatch_delete(wb, (uint32_t)table_id, lo, hi, preds, (uint32_t)n_preds, err);
        for (uint64_t i = 0; i < n_preds && vals; i++) {
            if (!vals[i])
                continue;
            for (uint32_t k = 0; k < preds[i].n_values; k++)
                free((char *)vals[i][k]);
            free(vals[i]);
        }
        free(vals);
        free(preds);
        return rc;
    }
    if (kind != WB_WRITE)
        return BAD("unknown record kind");
    uint64_t n_series;
    if (rd_u(&r, &n_series) != 0 || n_series > len)
        return BAD("bad series count");
    for (uint64_t i = 0; i < n_series; i++) {
        uint64_t table_id, key_len, n_rows, n_cols;
        const uint8_t *key;
        if (rd_u(&r, &table_id) != 0 || table_id > UINT32_MAX || rd_u(&r, &key_len) != 0 ||
            key_len > STOR_MAX_KEY_LEN || rd_bytes(&r, (size_t)key_len, &key) != 0 ||
            rd_u(&r, &n_rows) != 0 || n_rows == 0 || n_rows > (uint64_t)(r.end - r.p) ||
            n_rows > WB_MAX_ROWS_PER_SERIES)
            return BAD("bad series header");
        /* the key must parse */
        const struct cat_table *ct = NULL;
        const uint8_t *kp = key, *kend = key + key_len;
        uint32_t prev_col = 0;
        bool first = true;
        while (kp < kend) {
            uint32_t c, l;
            const char *val;
            if (stor__key_next(&kp, kend, &c, &val, &l) != 0 || (!first && c <= prev_col) ||
                l == 0 || memchr(val, 0, l))
                return BAD("bad series key");
            first = false;
            prev_col = c;
        }
        struct wb_series tmp, *s = &tmp;
        memset(&tmp, 0, sizeof tmp);
        if (db) {
            ct = cat_db_table_by_id(cdb, (uint32_t)table_id);
            if (!ct)
                return BAD("unknown table id");
            kp = key;
            while (kp < kend) {
                uint32_t c, l;
                const char *val;
                stor__key_next(&kp, kend, &c, &val, &l);
                const struct cat_column *col = cat_table_column_by_id(ct, c);
                if (!col || col->kind != CAT_COL_TAG)
                    return BAD("series key names a column that is not a tag");
            }
            struct stor_table *tab = stor__db_table(db, (uint32_t)table_id, err);
            if (!tab)
                return err ? err->code : ST_ENOMEM;
            struct stor_sent *se;
            ST_TRY(stor__series_get(tab, ct, key, (uint32_t)key_len, false, &se, err));
            int64_t idx = ws_get(wb, tab, ct, se);
            if (idx < 0)
                return st_error_set(err, ST_ENOMEM, "out of memory");
            s = &wb->ser[idx];
        }
        uint32_t base = s->n;
        if (ws_reserve(wb, s, (uint32_t)n_rows) != 0)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        enum st_code rc = ST_OK;
        int64_t prev = 0;
        for (uint64_t k = 0; k < n_rows; k++) {
            if (rd_u(&r, &v) != 0) {
                rc = BAD("truncated times");
                goto series_out;
            }
            prev = (int64_t)((uint64_t)prev + (uint64_t)unzz(v));
            s->time[base + k] = prev;
        }
        s->n = base + (uint32_t)n_rows;
        wb->rows += n_rows;
        if (rd_u(&r, &n_cols) != 0 || n_cols > 100000) {
            rc = BAD("bad column count");
            goto series_out;
        }
        for (uint64_t c = 0; c < n_cols; c++) {
            uint64_t col_id;
            const uint8_t *bm;
            if (rd_u(&r, &col_id) != 0 || col_id > UINT32_MAX || r.p >= r.end) {
                rc = BAD("bad column header");
                goto series_out;
            }
            uint8_t type = *r.p++;
            if (type < ST_TYPE_STRING || type > ST_TYPE_BOOL) {
                rc = BAD("bad column type");
                goto series_out;
            }
            if (ct) {
                const struct cat_column *cc = cat_table_column_by_id(ct, (uint32_t)col_id);
                if (!cc || cc->kind != CAT_COL_FIELD || cc->type != type) {
                    rc = BAD("column does not match the catalog");
                    goto series_out;
                }
            }
            if (rd_bytes(&r, (size_t)((n_rows + 7) / 8), &bm) != 0) {
                rc = BAD("truncated validity");
                goto series_out;
            }
            struct wb_col *col = ws_col(wb, s, (uint32_t)col_id, type);
            if (!col || col->type != type) {
                rc = col ? BAD("column written with two types")
                         : st_error_set(err, ST_ENOMEM, "out of memory");
                goto series_out;
            }
            uint64_t pv = 0;
            for (uint32_t k = 0; k < n_rows; k++) {
                if (!((bm[k >> 3] >> (k & 7)) & 1))
                    continue;
                uint32_t row = base + k;
                uint64_t val = 0;
                if (type == ST_TYPE_INT || type == ST_TYPE_UINT) {
                    if (rd_u(&r, &val) != 0) {
                        rc = BAD("truncated value");
                        goto series_out;
                    }
                    pv += (uint64_t)unzz(val);
                    val = pv;
                } else if (type == ST_TYPE_FLOAT) {
                    if (rd_bytes(&r, 8, &bytes) != 0) {
                        rc = BAD("truncated value");
                        goto series_out;
                    }
                    val = st_load_u64le(bytes);
                } else if (type == ST_TYPE_BOOL) {
                    if (rd_bytes(&r, 1, &bytes) != 0 || bytes[0] > 1) {
                        rc = BAD("bad boolean");
                        goto series_out;
                    }
                    val = bytes[0];
                } else {
                    uint64_t l;
                    if (rd_u(&r, &l) != 0 || rd_bytes(&r, (size_t)l, &bytes) != 0) {
                        rc = BAD("truncated string");
                        goto series_out;
                    }
                    val = wb->strs.len;
                    if (st_buf_append(&wb->strs, bytes, (size_t)l) != ST_OK) {
                        rc = st_error_set(err, ST_ELIMIT, "WAL record strings too large");
                        goto series_out;
                    }
                    col->slen[row] = (uint32_t)l;
                }
                if (!((col->valid[row >> 3] >> (row & 7)) & 1))
                    wb->fields++;
                col->valid[row >> 3] |= (uint8_t)(1u << (row & 7));
                col->v[row] = val;
            }
        }
    series_out:
        if (rc != ST_OK)
            return rc;
    }
    if (r.p != r.end)
        return BAD("trailing bytes");
    return ST_OK;
}

enum st_code
stor_record_check(const uint8_t *rec, size_t len, struct st_error *err)
{
    struct stor_wbatch *wb = stor_wbatch_new(0);
    if (!wb)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    enum st_code rc = decode(rec, len, NULL, NULL, wb, err);
    stor_wbatch_free(wb);
    return rc;
}

enum st_code
stor_replay(struct stor *s, uint64_t seq, const uint8_t *rec, size_t len, struct st_error *err)
{
    struct rd r = {rec, rec + len};
    uint64_t db_id;
    if (len < 2)
        return BAD("too short");
    r.p++;
    if (rd_u(&r, &db_id) != 0 || db_id > UINT32_MAX)
        return BAD("bad database id");
    struct stor_db *db = stor_db_get(s, (uint32_t)db_id);
    if (!db)
        return ST_OK; /* dropped database */
    enum st_code rc = ST_OK;
    if (seq <= atomic_load(&db->persisted_seq))
        goto out;
    struct cat_snapshot *cat = stor__cat(s);
    const struct cat_db *cdb = cat_snapshot_db_by_id(cat, (uint32_t)db_id);
    struct stor_wbatch *wb = stor_wbatch_new((uint32_t)db_id);
    if (!wb || !cdb) {
        rc = cdb ? st_error_set(err, ST_ENOMEM, "out of memory") : ST_OK;
    } else {
        rc = decode(rec, len, db, cdb, wb, err);
        if (rc == ST_OK) {
            pthread_mutex_lock(&db->commit_mu);
            rc = stor__apply(db, wb, seq, err);
            pthread_mutex_unlock(&db->commit_mu);
        }
    }
    stor_wbatch_free(wb);
    cat_snapshot_unref(cat);
out:
    stor_db_put(db);
    return rc;
}
