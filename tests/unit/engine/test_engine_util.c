/*
 * test_engine_util.c: see test_engine_util.h.
 */
#include "test_engine_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/buf.h"
#include "strata/catalog.h"
#include "th.h"

struct eng *
tu_open_opts(const struct eng_options *o)
{
    struct st_error err;
    struct eng *e = eng_open(o, &err);
    if (!e)
        th_fail(__FILE__, __LINE__, "eng_open: %s", err.msg);
    return e;
}

struct eng *
tu_open(const char *dir, bool background)
{
    struct eng_options o = {.data_dir = dir, .background = background};
    return tu_open_opts(&o);
}

enum st_code
tu_write_rc(struct eng *e, const char *db, const char *lp, bool partial,
            struct eng_write_result *res)
{
    struct eng_write_opts wo = {.create_db = true, .partial = partial};
    struct st_error err;
    return eng_write(e, db, lp, strlen(lp), &wo, res, &err);
}

void
tu_write(struct eng *e, const char *db, const char *lp)
{
    struct eng_write_opts wo = {.create_db = true};
    struct eng_write_result res;
    struct st_error err;
    enum st_code rc = eng_write(e, db, lp, strlen(lp), &wo, &res, &err);
    if (rc != ST_OK)
        th_fail(__FILE__, __LINE__, "eng_write: %s: %s", st_code_name(rc), err.msg);
    eng_write_result_cleanup(&res);
}

static int
line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum st_code dump_rc(struct eng *e, const char *db, const char *table, int64_t lo,
                            int64_t hi, bool last, uint32_t max_rows, char **out,
                            struct st_error *errp);

char *
tu_dump_ex(struct eng *e, const char *db, const char *table, int64_t lo, int64_t hi, bool last,
           uint32_t max_rows)
{
    struct st_error err;
    char *out = NULL;
    if (dump_rc(e, db, table, lo, hi, last, max_rows, &out, &err) != ST_OK)
        th_fail(__FILE__, __LINE__, "dump: %s", err.msg);
    return out;
}

enum st_code
tu_dump_try(struct eng *e, const char *db, const char *table, char **out, struct st_error *err)
{
    return dump_rc(e, db, table, INT64_MIN, INT64_MAX, false, 0, out, err);
}

static enum st_code
dump_rc(struct eng *e, const char *db, const char *table, int64_t lo, int64_t hi, bool last,
        uint32_t max_rows, char **out_p, struct st_error *errp)
{
    struct st_error err;
    struct stor_view *v;
    *out_p = NULL;
    if (stor_view_open(e, db, &v, &err) != ST_OK) {
        *errp = err;
        return err.code;
    }
    const struct cat_db *cdb = stor_view_db(v);
    const struct cat_table *t = cat_db_find_table(cdb, table);
    if (!t) {
        stor_view_close(v);
        *out_p = strdup("");
        return ST_OK;
    }
    uint32_t fids[512], nf = 0;
    const struct cat_column *fcol[512];
    const struct cat_column *tagcol[512];
    for (uint32_t i = 0; i < t->n_columns; i++) {
        const struct cat_column *c = &t->columns[i];
        if (c->kind == CAT_COL_FIELD) {
            fcol[nf] = c;
            fids[nf++] = c->id;
        } else if (c->kind == CAT_COL_TAG) {
            tagcol[c->tag_index] = c;
        }
    }
    struct stor_scan_spec sp = {.table_id = t->id, .t_lo = lo, .t_hi = hi, .field_cols = fids,
                                .n_field_cols = nf, .max_rows = max_rows,
                                .mode = last ? STOR_SCAN_LAST : STOR_SCAN_ALL};
    struct stor_scan *s;
    if (stor_scan_open(v, &sp, &s, &err) != ST_OK) {
        stor_view_close(v);
        *errp = err;
        return err.code;
    }
    char **lines = NULL;
    size_t n = 0, cap = 0;
    enum st_code rc = ST_OK;
    for (;;) {
        const struct stor_batch *b;
        if ((rc = stor_scan_next(s, &b, &err)) != ST_OK) {
            *errp = err;
            break;
        }
        if (!b)
            break;
        for (uint32_t r = 1; r < b->n_rows; r++)
            if (b->time[r] <= b->time[r - 1])
                th_fail(__FILE__, __LINE__, "batch times not strictly ascending");
        for (uint32_t r = 0; r < b->n_rows; r++) {
            struct st_buf l;
            st_buf_init(&l, SIZE_MAX);
            bool first = true;
            for (uint32_t k = 0; k < b->series->n_tags; k++) {
                if (!b->series->tags[k])
                    continue;
                st_buf_printf(&l, "%s%s=%s", first ? "" : ",", tagcol[k]->name,
                              b->series->tags[k]);
                first = false;
            }
            st_buf_printf(&l, " %" PRId64 " ", b->time[r]);
            first = true;
            for (uint32_t f = 0; f < nf; f++) {
                const struct st_column *c = &b->fields[f];
                if (!st_column_is_valid(c, r))
                    continue;
                st_buf_printf(&l, "%s%s=", first ? "" : ",", fcol[f]->name);
                first = false;
                switch (c->type) {
                case ST_TYPE_INT: st_buf_printf(&l, "%" PRId64 "i", c->v.i64[r]); break;
                case ST_TYPE_UINT: st_buf_printf(&l, "%" PRIu64 "u", c->v.u64[r]); break;
                case ST_TYPE_FLOAT: st_buf_printf(&l, "%.17g", c->v.f64[r]); break;
                case ST_TYPE_BOOL: st_buf_printf(&l, "%s", c->v.b[r] ? "true" : "false"); break;
                case ST_TYPE_STRING:
                    st_buf_printf(&l, "\"%.*s\"", c->v.offsets[r + 1] - c->v.offsets[r],
                                  c->str_data + c->v.offsets[r]);
                    break;
                default: break;
                }
            }
            st_buf_append_byte(&l, 0);
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                lines = realloc(lines, cap * sizeof *lines);
            }
            lines[n++] = (char *)st_buf_take(&l, NULL);
        }
    }
    stor_scan_close(s);
    stor_view_close(v);
    if (n)
        qsort(lines, n, sizeof *lines, line_cmp);
    struct st_buf out;
    st_buf_init(&out, SIZE_MAX);
    for (size_t i = 0; i < n; i++) {
        st_buf_printf(&out, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    st_buf_append_byte(&out, 0);
    if (rc != ST_OK) {
        st_buf_cleanup(&out);
        return rc;
    }
    *out_p = (char *)st_buf_take(&out, NULL);
    return ST_OK;
}

char *
tu_dump(struct eng *e, const char *db, const char *table)
{
    return tu_dump_ex(e, db, table, INT64_MIN, INT64_MAX, false, 0);
}

uint64_t
tu_count(struct eng *e, const char *db, const char *table)
{
    char *d = tu_dump(e, db, table);
    uint64_t n = 0;
    for (char *p = d; *p; p++)
        n += *p == '\n';
    free(d);
    return n;
}
