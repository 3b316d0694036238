/*
 * exec_fake.c: the synthetic catalog and data source of exec_fake.h.
 */
#include "exec_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cat_column cpu_cols[] = {
    {"time", 0, CAT_COL_TIME, ST_TYPE_TIME, 0},    {"host", 1, CAT_COL_TAG, ST_TYPE_STRING, 0},
    {"region", 2, CAT_COL_TAG, ST_TYPE_STRING, 1}, {"usage", 3, CAT_COL_FIELD, ST_TYPE_INT, 0},
    {"idle", 4, CAT_COL_FIELD, ST_TYPE_FLOAT, 0},  {"ok", 5, CAT_COL_FIELD, ST_TYPE_BOOL, 0},
    {"note", 6, CAT_COL_FIELD, ST_TYPE_STRING, 0}, {"cnt", 7, CAT_COL_FIELD, ST_TYPE_UINT, 0},
};
static const struct cat_column mem_cols[] = {
    {"time", 0, CAT_COL_TIME, ST_TYPE_TIME, 0},
    {"host", 1, CAT_COL_TAG, ST_TYPE_STRING, 0},
    {"used", 2, CAT_COL_FIELD, ST_TYPE_INT, 0},
};
static const struct cat_table cpu_table = {"cpu", 1, 8, cpu_cols, 2};
static const struct cat_table mem_table = {"mem", 2, 3, mem_cols, 1};
static const struct cat_table *const tables[] = {&cpu_table, &mem_table};
static const struct cat_db the_db = {"db", 1, 2, tables};

const struct cat_db *
fake_catalog(void)
{
    return &the_db;
}

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *const hosts[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
static const char *const regions[] = {"us", "eu", NULL};
static const char *const notes[] = {"", "x", "hello", "Hello", "zz"};

void
fake_db_init(struct fake_db *f, uint32_t n_series, uint32_t n_rows, uint64_t seed,
             bool with_nulls)
{
    memset(f, 0, sizeof *f);
    f->db = the_db;
    f->n_series = n_series;
    f->series = calloc(n_series ? n_series : 1, sizeof *f->series);
    uint64_t s = seed | 1;
    for (uint32_t i = 0; i < n_series; i++) {
        struct fake_series *se = &f->series[i];
        se->tags[0] = hosts[i % 8];
        se->tags[1] = regions[i % 3];
        se->n_rows = n_rows;
        se->time = calloc(n_rows + 1, 8);
        se->usage = calloc(n_rows + 1, 8);
        se->idle = calloc(n_rows + 1, 8);
        se->ok = calloc(n_rows + 1, 1);
        se->note = calloc(n_rows + 1, sizeof *se->note);
        se->cnt = calloc(n_rows + 1, 8);
        se->usage_null = calloc(n_rows + 1, 1);
        se->idle_null = calloc(n_rows + 1, 1);
        se->ok_null = calloc(n_rows + 1, 1);
        se->note_null = calloc(n_rows + 1, 1);
        se->cnt_null = calloc(n_rows + 1, 1);
        for (uint32_t r = 0; r < n_rows; r++) {
            se->time[r] = (int64_t)r * 10000000000LL + (int64_t)i; /* 10 s apart */
            se->usage[r] = (int64_t)(rnd(&s) % 100);
            se->idle[r] = (double)(rnd(&s) % 1000) / 8.0;
            se->ok[r] = rnd(&s) & 1;
            se->note[r] = notes[rnd(&s) % 5];
            se->cnt[r] = rnd(&s) % 50;
            if (with_nulls) {
                se->usage_null[r] = (r + i) % 7 == 3;
                se->idle_null[r] = (r + i) % 7 == 5;
                se->ok_null[r] = (r + 2 * i) % 7 == 1;
                se->note_null[r] = (r + 3 * i) % 7 == 2;
                se->cnt_null[r] = (r + i) % 7 == 6;
            }
        }
    }
}

void
fake_db_free(struct fake_db *f)
{
    for (uint32_t i = 0; i < f->n_series; i++) {
        struct fake_series *se = &f->series[i];
        free(se->time);
        free(se->usage);
        free(se->idle);
        free(se->ok);
        free(se->note);
        free(se->cnt);
        free(se->usage_null);
        free(se->idle_null);
        free(se->ok_null);
        free(se->note_null);
        free(se->cnt_null);
    }
    free(f->series);
    memset(f, 0, sizeof *f);
}

/* ---- the source ------------------------------------------------------------ */

struct fake_scan {
    struct fake_db *f;
    struct stor_scan_spec spec;
    uint32_t si, row;      /* position */
    struct stor_series pub;
    struct stor_batch batch;
    struct st_column cols[8];
    uint8_t bitmaps[8][1024];
    uint8_t bools[4096];
    int32_t offsets[4097];
    char strs[4096 * 8];
    uint32_t cur_series;
    bool cur_ok;
};

static bool
tag_pred_holds(const struct stor_tag_pred *p, const char *v)
{
    if (!v)
        return false;
    bool in = false;
    for (uint32_t i = 0; i < p->n_values; i++)
        in |= strcmp(p->values[i], v) == 0;
    return (p->op == STOR_TAG_EQ || p->op == STOR_TAG_IN) ? in : !in;
}

static bool
series_selected(struct fake_scan *s, uint32_t i)
{
    struct fake_series *se = &s->f->series[i];
    for (uint32_t k = 0; k < s->spec.n_tag_preds; k++)
        if (!tag_pred_holds(&s->spec.tag_preds[k], se->tags[s->spec.tag_preds[k].tag_index]))
            return false;
    if (s->spec.series_filter) {
        struct stor_series pub = {i, 2, se->tags};
        s->f->filter_calls++;
        return s->spec.series_filter(s->spec.series_ctx, &pub);
    }
    return true;
}

static enum st_code
f_open(void *ctx, const struct stor_scan_spec *spec, void **out, struct st_error *err)
{
    struct fake_db *f = ctx;
    if (spec->table_id != 1 && spec->table_id != 2)
        return st_error_set(err, ST_ENOTFOUND, "no such table id");
    struct fake_scan *s = calloc(1, sizeof *s);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "oom");
    s->f = f;
    s->spec = *spec;
    s->cur_series = UINT32_MAX;
    f->opens++;
    if (spec->mode == STOR_SCAN_LAST)
        f->last_opens++;
    if (spec->table_id == 2)
        s->si = f->n_series; /* mem has no rows */
    *out = s;
    return ST_OK;
}

static void
put_col(struct fake_scan *s, uint32_t c, uint32_t col_id, const struct fake_series *se,
        uint32_t a, uint32_t n)
{
    struct st_column *col = &s->cols[c];
    memset(col, 0, sizeof *col);
    const uint8_t *nulls = NULL;
    switch (col_id) {
    case 3:
        col->type = ST_TYPE_INT;
        col->v.i64 = se->usage + a;
        nulls = se->usage_null;
        break;
    case 4:
        col->type = ST_TYPE_FLOAT;
        col->v.f64 = se->idle + a;
        nulls = se->idle_null;
        break;
    case 5:
        col->type = ST_TYPE_BOOL;
        memcpy(s->bools, se->ok + a, n);
        col->v.b = s->bools;
        nulls = se->ok_null;
        break;
    case 6: {
        col->type = ST_TYPE_STRING;
        size_t o = 0;
        s->offsets[0] = 0;
        for (uint32_t i = 0; i < n; i++) {
            size_t l = se->note_null[a + i] ? 0 : strlen(se->note[a + i]);
            memcpy(s->strs + o, se->note[a + i], l);
            o += l;
            s->offsets[i + 1] = (int32_t)o;
        }
        col->v.offsets = s->offsets;
        col->str_data = s->strs;
        nulls = se->note_null;
        break;
    }
    default:
        col->type = ST_TYPE_UINT;
        col->v.u64 = se->cnt + a;
        nulls = se->cnt_null;
        break;
    }
    memset(s->bitmaps[c], 0, sizeof s->bitmaps[c]);
    int64_t nn = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (nulls[a + i])
            nn++;
        else
            s->bitmaps[c][i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    col->null_count = nn;
    col->validity = nn ? s->bitmaps[c] : NULL;
}

static enum st_code
f_next(void *scan, const struct stor_batch **out, struct st_error *err)
{
    struct fake_scan *s = scan;
    struct fake_db *f = s->f;
    *out = NULL;
    uint32_t maxr = s->spec.max_rows && s->spec.max_rows < 4096 ? s->spec.max_rows : 4096;
    while (s->si < f->n_series) {
        if (s->cur_series != s->si) {
            s->cur_series = s->si;
            s->row = 0;
            s->cur_ok = series_selected(s, s->si);
        }
        struct fake_series *se = &f->series[s->si];
        if (!s->cur_ok || s->row >= se->n_rows) {
            s->si++;
            continue;
        }
        uint32_t a = s->row, n = se->n_rows - a < maxr ? se->n_rows - a : maxr;
        if (s->spec.mode == STOR_SCAN_LAST) {
            /* the newest row inside the range */
            int64_t best = -1;
            for (uint32_t r = 0; r < se->n_rows; r++)
                if (se->time[r] >= s->spec.t_lo && se->time[r] < s->spec.t_hi)
                    best = r;
            s->si++;
            if (best < 0)
                continue;
            a = (uint32_t)best;
            n = 1;
        } else {
            s->row += n;
        }
        s->pub.id = s->cur_series;
        s->pub.n_tags = 2;
        s->pub.tags = se->tags;
        for (uint32_t c = 0; c < s->spec.n_field_cols; c++)
            put_col(s, c, s->spec.field_cols[c], se, a, n);
        s->batch.series = &s->pub;
        s->batch.n_rows = n;
        s->batch.time = se->time + a;
        s->batch.fields = s->cols;
        *out = &s->batch;
        f->batches++;
        if (f->cancel_after_batches && (int)f->batches >= f->cancel_after_batches &&
            f->cancel_flag)
            atomic_store(f->cancel_flag, 1);
        return ST_OK;
    }
    (void)err;
    return ST_OK;
}

static void
f_close(void *scan)
{
    free(scan);
}

static enum st_code
f_estimate(void *ctx, const struct stor_scan_spec *spec, struct stor_scan_estimate *out,
           struct st_error *err)
{
    struct fake_db *f = ctx;
    f->estimates++;
    memset(out, 0, sizeof *out);
    out->t_min = INT64_MAX;
    out->t_max = INT64_MIN;
    out->partitions_total = out->partitions_selected = 1;
    out->series_total = f->n_series;
    for (uint32_t i = 0; spec->table_id == 1 && i < f->n_series; i++) {
        struct fake_series *se = &f->series[i];
        bool sel = true;
        for (uint32_t k = 0; k < spec->n_tag_preds; k++)
            if (!tag_pred_holds(&spec->tag_preds[k], se->tags[spec->tag_preds[k].tag_index]))
                sel = false;
        if (!sel)
            continue;
        out->series_selected++;
        for (uint32_t r = 0; r < se->n_rows; r++) {
            int64_t t = se->time[r];
            if (t < spec->t_lo || t >= spec->t_hi)
                continue;
            out->rows_selected++;
            if (t < out->t_min)
                out->t_min = t;
            if (t > out->t_max)
                out->t_max = t;
        }
    }
    out->blocks_total = out->blocks_selected = f->n_series;
    (void)err;
    return ST_OK;
}

void
fake_source(struct exec_source *src, struct fake_db *f)
{
    src->ctx = f;
    src->open = f_open;
    src->next = f_next;
    src->close = f_close;
    src->estimate = f_estimate;
}
