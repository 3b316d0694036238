/*
 * engine_write.c: eng_write and eng_delete_rows: line protocol in, schema
 * checked and extended, one WAL record per call, acknowledged when durable.
 *
 * Per line, in order: the table (created on first write), each tag and
 * field column (a type is fixed by its first write; a later line with
 * another type, or a tag and a field under one name, is rejected for that
 * line), the timestamp, then the row goes into the batch. Schema changes of
 * one call are made in one catalog transaction, opened at the first line
 * that needs one and committed (the catalog file saved) before the WAL
 * record is appended. Lines resolved before the transaction opened stay
 * valid: the catalog only grows.
 *
 * All or nothing unless opts.partial: with a bad line and !partial nothing
 * is written. The whole call is one WAL record, so a crash never shows half
 * of it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "strata/clock.h"
#include "strata/log.h"
#include "strata/lp.h"

#define MAX_LINE_TAGS 1024

struct wctx {
    struct eng *e;
    struct stor_db *db;
    uint32_t db_id;
    struct cat_snapshot *snap;
    struct cat_txn *txn;
    struct stor_wbatch *wb;
    const struct eng_write_opts *o;
    struct eng_write_result *res;
    uint32_t max_errors;
    enum st_code first_code;
    int64_t now_ns;
    /* the previous line's table (valid while no transaction is open) */
    const struct cat_table *last_t;
    char last_meas[512];
    uint32_t last_meas_len;
    /* the previous line's columns by position, for last_t */
    struct colslot *tagc, *fieldc;
};

#define SLOT_KEY 48
#define N_SLOTS 64

/* A column resolved for a key at one position of the previous line. */
struct colslot {
    uint32_t len; /* 0 = empty */
    uint32_t col_id;
    uint8_t type;
    char key[SLOT_KEY];
};

static inline uint64_t
ld8(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline bool
slot_hit(const struct colslot *sl, uint32_t i, const struct lp_str *k, uint8_t type,
         uint32_t *col_id)
{
    if (!sl || i >= N_SLOTS)
        return false;
    const struct colslot *c = &sl[i];
    uint32_t n = k->len;
    if (c->len != n || c->type != type)
        return false;
    if (n >= 8) {
        /* whole words, the last one overlapping: never reads outside the key */
        for (uint32_t j = 0; j + 8 <= n; j += 8)
            if (ld8(c->key + j) != ld8(k->p + j))
                return false;
        if (ld8(c->key + n - 8) != ld8(k->p + n - 8))
            return false;
    } else if (n >= 4) {
        uint32_t a, b, x, y;
        memcpy(&a, c->key, 4);
        memcpy(&b, k->p, 4);
        memcpy(&x, c->key + n - 4, 4);
        memcpy(&y, k->p + n - 4, 4);
        if (a != b || x != y)
            return false;
    } else {
        for (uint32_t j = 0; j < n; j++)
            if (c->key[j] != k->p[j])
                return false;
    }
    *col_id = c->col_id;
    return true;
}

static void
slot_set(struct colslot *sl, uint32_t i, const struct lp_str *k, uint8_t type, uint32_t col_id)
{
    if (!sl || i >= N_SLOTS)
        return;
    if (k->len > SLOT_KEY) {
        sl[i].len = 0;
        return;
    }
    sl[i].len = k->len;
    sl[i].type = type;
    sl[i].col_id = col_id;
    memcpy(sl[i].key, k->p, k->len);
}

static const struct cat_db *
cur_db(struct wctx *c)
{
    const struct cat_snapshot *s = c->txn ? cat_txn_draft(c->txn) : c->snap;
    return cat_snapshot_db_by_id(s, c->db_id);
}

static void
line_error(struct wctx *c, uint32_t line, uint32_t column, enum st_code code,
           const struct lp_str *raw, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
line_error(struct wctx *c, uint32_t line, uint32_t column, enum st_code code,
           const struct lp_str *raw, const char *fmt, ...)
{
    c->res->lines_rejected++;
    if (c->first_code == ST_OK)
        c->first_code = code;
    if (c->res->n_errors >= c->max_errors)
        return;
    if (!c->res->errors) {
        c->res->errors = calloc(c->max_errors, sizeof *c->res->errors);
        if (!c->res->errors)
            return;
    }
    struct eng_line_error *le = &c->res->errors[c->res->n_errors++];
    le->line = line;
    le->column = column ? column : 1;
    le->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(le->msg, sizeof le->msg, fmt, ap);
    va_end(ap);
    size_t n = raw && raw->p ? raw->len : 0;
    if (n >= sizeof le->excerpt)
        n = sizeof le->excerpt - 1;
    if (n)
        memcpy(le->excerpt, raw->p, n);
    le->excerpt[n] = '\0';
}

static enum st_type
lp_type(enum lp_field_type t)
{
    switch (t) {
    case LP_FLOAT: return ST_TYPE_FLOAT;
    case LP_INT: return ST_TYPE_INT;
    case LP_UINT: return ST_TYPE_UINT;
    case LP_BOOL: return ST_TYPE_BOOL;
    default: return ST_TYPE_STRING;
    }
}

static bool
is_time(const struct lp_str *s)
{
    return s->len == 4 && memcmp(s->p, "time", 4) == 0;
}

static enum st_code
open_txn(struct wctx *c, struct st_error *err)
{
    if (c->txn)
        return ST_OK;
    c->txn = cat_txn_begin(c->e->cat);
    c->last_t = NULL;
    return c->txn ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
}

/* Check one column of a line; *missing when it must be created. */
static enum st_code
check_col(const struct cat_table *t, const struct lp_str *name, enum cat_col_kind kind,
          enum st_type type, uint32_t *col_id, bool *missing, struct st_error *err)
{
    const struct cat_column *col = t ? cat_table_find_column_n(t, name->p, name->len) : NULL;
    if (!col) {
        *missing = true;
        return ST_OK;
    }
    if (col->kind != kind || (kind == CAT_COL_FIELD && col->type != type))
        return st_error_set(err, ST_ETYPE,
                            "invalid column type for column '%.*s', expected %s, got %s",
                            (int)name->len, name->p, cat_type_label(col->kind, col->type),
                            cat_type_label(kind, type));
    *col_id = col->id;
    return ST_OK;
}

static enum lp_precision
lp_prec(enum eng_precision p)
{
    switch (p) {
    case ENG_PREC_US: return LP_PREC_US;
    case ENG_PREC_MS: return LP_PREC_MS;
    case ENG_PREC_S: return LP_PREC_S;
    case ENG_PREC_AUTO: return LP_PREC_AUTO;
    default: return LP_PREC_NS;
    }
}

static const char *
prec_name(enum eng_precision p)
{
    static const char *const n[] = {"nanosecond", "microsecond", "millisecond", "second", "auto"};
    return (unsigned)p < 5 ? n[p] : "?";
}

/* Process one parsed line. Returns ST_OK, or a fatal error for the call
 * (line errors are recorded and return ST_OK). */
static enum st_code
do_line(struct wctx *c, const struct lp_line *ln, struct st_error *fatal)
{
    struct st_error e;
    st_error_clear(&e);
    const struct lp_str *raw = &ln->raw;
    uint32_t line = ln->line_no;

    /* table */
    const struct cat_table *t = NULL;
    if (!c->txn && c->last_t && c->last_meas_len == ln->measurement.len &&
        memcmp(c->last_meas, ln->measurement.p, ln->measurement.len) == 0)
        t = c->last_t;
    bool cached = t != NULL;
    if (!t)
        t = cat_db_find_table_n(cur_db(c), ln->measurement.p, ln->measurement.len);
    if (!cached && c->tagc && !c->txn) {
        memset(c->tagc, 0, N_SLOTS * sizeof *c->tagc);
        memset(c->fieldc, 0, N_SLOTS * sizeof *c->fieldc);
    }
    struct colslot *tagc = c->txn ? NULL : c->tagc, *fieldc = c->txn ? NULL : c->fieldc;

    uint32_t tag_ids[MAX_LINE_TAGS], field_ids[MAX_LINE_TAGS];
    if (ln->n_tags > MAX_LINE_TAGS || ln->n_fields > MAX_LINE_TAGS) {
        line_error(c, line, 1, ST_ELIMIT, raw, "more than %u tags or fields in one line",
                   MAX_LINE_TAGS);
        return ST_OK;
    }
    bool missing = t == NULL;
    bool only_time_field = true;
    /* The line's "measurement,tags" text as the series hint, when nothing in
     * it was escaped (every name and value points into the raw line). */
    const char *hint = NULL;
    uint32_t hint_len = 0;
    int64_t hinted = -1;
    bool known = false; /* hinted from an earlier batch: record it for this one */
    if (ln->measurement.p == raw->p) {
        const char *end = ln->measurement.p + ln->measurement.len;
        bool plain = true;
        for (uint32_t i = 0; i < ln->n_tags && plain; i++) {
            const struct lp_tag *tg = &ln->tags[i];
            plain = tg->key.p > raw->p && tg->value.p > tg->key.p &&
                    tg->value.p + tg->value.len <= raw->p + raw->len;
            end = tg->value.p + tg->value.len;
        }
        if (plain) {
            hint = raw->p;
            hint_len = (uint32_t)(end - raw->p);
            if (t) {
                hinted = stor_wbatch_hint_find(c->wb, hint, hint_len);
                if (hinted < 0 && !c->txn) { /* seen in an earlier batch? */
                    hinted = stor_wbatch_hint_known(c->wb, c->db, t, hint, hint_len);
                    known = hinted >= 0;
                }
            }
        }
    }
    for (uint32_t i = 0; i < ln->n_tags && hinted < 0; i++) {
        if (is_time(&ln->tags[i].key)) {
            line_error(c, line, 1, ST_EINVAL, raw,
                       "input tag \"time\" on measurement \"%.*s\" is invalid",
                       (int)ln->measurement.len, ln->measurement.p);
            return ST_OK;
        }
        if (slot_hit(tagc, i, &ln->tags[i].key, ST_TYPE_STRING, &tag_ids[i]))
            continue;
        bool miss = false;
        if (check_col(t, &ln->tags[i].key, CAT_COL_TAG, ST_TYPE_STRING, &tag_ids[i], &miss,
                      &e) != ST_OK) {
            line_error(c, line, 1, e.code, raw, "%s", e.msg);
            return ST_OK;
        }
        if (miss)
            missing = true;
        else
            slot_set(tagc, i, &ln->tags[i].key, ST_TYPE_STRING, tag_ids[i]);
    }
    for (uint32_t i = 0; i < ln->n_fields; i++) {
        if (is_time(&ln->fields[i].key))
            continue;
        only_time_field = false;
        uint8_t ft = (uint8_t)lp_type(ln->fields[i].type);
        if (slot_hit(fieldc, i, &ln->fields[i].key, ft, &field_ids[i]))
            continue;
        bool miss = false;
        if (check_col(t, &ln->fields[i].key, CAT_COL_FIELD, (enum st_type)ft, &field_ids[i],
                      &miss, &e) != ST_OK) {
            line_error(c, line, 1, e.code, raw, "%s", e.msg);
            return ST_OK;
        }
        if (miss)
            missing = true;
        else
            slot_set(fieldc, i, &ln->fields[i].key, ft, field_ids[i]);
    }
    if (only_time_field) {
        line_error(c, line, 1, ST_EINVAL, raw,
                   "invalid field name: input field \"time\" on measurement \"%.*s\" is invalid",
                   (int)ln->measurement.len, ln->measurement.p);
        return ST_OK;
    }

    if (missing) {
        /* Create what is missing in the transaction, checking again there:
         * another writer may have created it meanwhile. */
        enum st_code rc = open_txn(c, fatal);
        if (rc != ST_OK)
            return rc;
        t = cat_db_find_table_n(cur_db(c), ln->measurement.p, ln->measurement.len);
        if (!t) {
            rc = cat_txn_table_create(c->txn, c->db_id, ln->measurement.p, ln->measurement.len,
                                      &t, &e);
            if (rc != ST_OK) {
                line_error(c, line, 1, rc == ST_ENOMEM ? ST_ELIMIT : rc, raw, "%s", e.msg);
                return rc == ST_ENOMEM ? st_error_set(fatal, rc, "out of memory") : ST_OK;
            }
        }
        uint32_t tid = t->id;
        for (uint32_t i = 0; i < ln->n_tags + ln->n_fields; i++) {
            bool tag = i < ln->n_tags;
            const struct lp_str *key = tag ? &ln->tags[i].key : &ln->fields[i - ln->n_tags].key;
            if (!tag && is_time(key))
                continue;
            const struct cat_column *col;
            rc = cat_txn_column_add(c->txn, c->db_id, tid, key->p, key->len,
                                    tag ? CAT_COL_TAG : CAT_COL_FIELD,
                                    tag ? ST_TYPE_STRING
                                        : lp_type(ln->fields[i - ln->n_tags].type),
                                    &col, &e);
            if (rc != ST_OK) {
                line_error(c, line, 1, rc == ST_ENOMEM ? ST_ELIMIT : rc, raw, "%s", e.msg);
                return rc == ST_ENOMEM ? st_error_set(fatal, rc, "out of memory") : ST_OK;
            }
            if (tag)
                tag_ids[i] = col->id;
            else
                field_ids[i - ln->n_tags] = col->id;
        }
        t = cat_db_table_by_id(cur_db(c), tid);
    } else if (!c->txn) {
        c->last_t = t;
        if (ln->measurement.len <= sizeof c->last_meas) {
            memcpy(c->last_meas, ln->measurement.p, ln->measurement.len);
            c->last_meas_len = ln->measurement.len;
        } else {
            c->last_t = NULL;
        }
    }

    /* time */
    int64_t ts;
    if (ln->has_time) {
        if (lp_time_to_ns(ln->time, lp_prec(c->o->precision), &ts) != 0) {
            line_error(c, line, 1, ST_EINVAL, raw,
                       "timestamp, %lld, out of range for precision: %s", (long long)ln->time,
                       prec_name(c->o->precision));
            return ST_OK;
        }
    } else {
        ts = c->now_ns;
    }

    /* the row */
    struct stor_wb_mark mark;
    enum st_code rc;
    if (hinted >= 0) {
        rc = stor_wbatch_row_at(c->wb, (uint32_t)hinted, ts, &mark, &e);
    } else {
        struct stor_tag_kv kv[MAX_LINE_TAGS];
        for (uint32_t i = 0; i < ln->n_tags; i++) {
            kv[i].col_id = tag_ids[i];
            kv[i].value = ln->tags[i].value.p;
            kv[i].len = ln->tags[i].value.len;
        }
        rc = stor_wbatch_row(c->wb, c->db, t, kv, ln->n_tags, ts, &mark, &e);
    }
    if (rc == ST_OK) {
        struct stor_field_val fv[MAX_LINE_TAGS];
        uint32_t nf = 0;
        for (uint32_t i = 0; i < ln->n_fields; i++) {
            const struct lp_field *f = &ln->fields[i];
            if (is_time(&f->key))
                continue;
            struct stor_field_val *x = &fv[nf++];
            x->col_id = field_ids[i];
            x->type = (uint8_t)lp_type(f->type);
            switch (f->type) {
            case LP_FLOAT: memcpy(&x->bits, &f->v.f, 8); break;
            case LP_INT: x->bits = (uint64_t)f->v.i; break;
            case LP_UINT: x->bits = f->v.u; break;
            case LP_BOOL: x->bits = f->v.b ? 1 : 0; break;
            default:
                x->bits = 0;
                x->s = f->v.s.p;
                x->len = f->v.s.len;
            }
        }
        rc = stor_wbatch_fields_set(c->wb, fv, nf, &e);
        if (rc != ST_OK)
            stor_wbatch_rollback(c->wb, &mark);
    }
    if (rc == ST_ENOMEM || rc == ST_EINTERNAL) {
        if (fatal)
            *fatal = e;
        return rc;
    }
    if (rc != ST_OK) {
        line_error(c, line, 1, rc, raw, "%s", e.msg);
        return ST_OK;
    }
    if (hint && (hinted < 0 || known))
        stor_wbatch_hint_set(c->wb, hint, hint_len, !c->txn);
    c->res->lines_ok++;
    return ST_OK;
}

/* WAL append, durable wait, apply. */
static enum st_code
commit(struct eng *e, struct stor_db *db, struct stor_wbatch *wb, bool no_sync,
       struct st_error *err)
{
    struct st_buf rec;
    st_buf_init(&rec, (size_t)256 << 20);
    enum st_code rc = stor_wbatch_encode(wb, &rec, err);
    if (rc != ST_OK) {
        st_buf_cleanup(&rec);
        return rc;
    }
    uint64_t seq;
    stor_commit_lock(db);
    rc = wal_append(e->wal, rec.data, rec.len, &seq, err);
    if (rc != ST_OK) {
        stor_commit_unlock(db);
        st_buf_cleanup(&rec);
        return rc;
    }
    stor_commit_enqueue_unlock(db, wb, seq);
    st_buf_cleanup(&rec);
    struct st_error werr;
    st_error_clear(&werr);
    /* no_sync: acknowledge now, but never let unwritten records pile up */
    enum st_code wrc = !no_sync || wal_pending_bytes(e->wal) > ((size_t)16 << 20)
                           ? wal_sync(e->wal, seq, &werr)
                           : ST_OK;
    rc = stor_commit_finish(db, wb, wrc == ST_OK, err);
    if (wrc != ST_OK) {
        if (err)
            *err = werr;
        st_error_prefix(err, "write not acknowledged: ");
        return wrc;
    }
    if (rc != ST_OK)
        return rc;
    if (!e->o.background && stor_db_over_limit(db)) {
        struct st_error perr;
        if (eng__persist(e, db, false, &perr) != ST_OK)
            st_log(ST_LOG_ERROR, "engine", "persist after write failed: %s", perr.msg);
    }
    return ST_OK;
}

enum st_code
eng_write(struct eng *e, const char *db, const char *lp, size_t len,
          const struct eng_write_opts *opts, struct eng_write_result *res, struct st_error *err)
{
    struct eng_write_opts dflt = {0};
    struct eng_write_result dummy;
    if (!opts)
        opts = &dflt;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (!e || !db || (!lp && len))
        return st_error_set(err, ST_EINVAL, "bad arguments to eng_write");
    if ((unsigned)opts->precision > ENG_PREC_AUTO)
        return st_error_set(err, ST_EINVAL, "bad precision");

    struct wctx c;
    memset(&c, 0, sizeof c);
    c.e = e;
    c.o = opts;
    c.res = res;
    c.max_errors = opts->max_errors ? opts->max_errors : 100;
    c.now_ns = opts->now_ns ? opts->now_ns : st_now_ns();
    {
        /* a line without a timestamp gets the time truncated to the precision */
        int64_t unit = opts->precision == ENG_PREC_S    ? ST_NS_PER_SEC
                       : opts->precision == ENG_PREC_MS ? ST_NS_PER_MS
                       : opts->precision == ENG_PREC_US ? ST_NS_PER_US
                                                        : 1;
        c.now_ns -= c.now_ns % unit;
    }
    enum st_code rc = eng__db(e, db, opts->create_db, &c.db, &c.db_id, err);
    if (rc != ST_OK)
        return rc;
    c.snap = cat_store_snapshot(e->cat);
    c.wb = stor_wbatch_new(c.db_id);
    c.tagc = calloc(2 * N_SLOTS, sizeof *c.tagc);
    c.fieldc = c.tagc ? c.tagc + N_SLOTS : NULL;
    struct lp_limits lim;
    lp_limits_default(&lim);
    struct lp_parser *p = lp_parser_new(lp ? lp : "", len, &lim);
    if (!c.wb || !p) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        struct lp_line ln;
        struct lp_error pe;
        enum lp_result r = lp_next(p, &ln, &pe);
        if (r == LP_END)
            break;
        if (r == LP_ERROR) {
            /* the parser says which: malformed (EPARSE) or over a limit (ELIMIT);
             * running out of memory is not the line's fault */
            if (pe.code == ST_ENOMEM) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory parsing line %u", pe.line);
                goto out;
            }
            line_error(&c, pe.line, pe.column, pe.code == ST_ELIMIT ? ST_ELIMIT : ST_EPARSE,
                       &pe.raw, "%s", pe.msg);
            continue;
        }
        rc = do_line(&c, &ln, err);
        if (rc != ST_OK)
            goto out;
    }
    if (c.first_code != ST_OK && !opts->partial) {
        struct eng_line_error *le = res->n_errors ? &res->errors[0] : NULL;
        rc = st_error_set(err, c.first_code, "line %u: %s%s", le ? le->line : 0,
                          le ? le->msg : "rejected", res->lines_rejected > 1 ? " (and more)" : "");
        res->lines_ok = 0; /* nothing was written */
        goto out;
    }
    if (c.txn) {
        rc = cat_txn_commit(c.txn, err);
        c.txn = NULL;
        if (rc != ST_OK)
            goto out;
    }
    if (stor_wbatch_rows(c.wb) > 0) {
        res->fields_written = stor_wbatch_fields(c.wb);
        rc = commit(e, c.db, c.wb, opts->no_sync, err);
        if (rc != ST_OK)
            goto out_committed;
        atomic_fetch_add(&e->rows_written, stor_wbatch_rows(c.wb));
    }
    rc = c.first_code != ST_OK ? ST_EPARTIAL : ST_OK;
    if (rc == ST_EPARTIAL)
        st_error_set(err, ST_EPARTIAL, "partial write: %llu of %llu lines rejected",
                     (unsigned long long)res->lines_rejected,
                     (unsigned long long)(res->lines_rejected + res->lines_ok));
out_committed:
    atomic_fetch_add(&e->bytes_written, rc == ST_OK || rc == ST_EPARTIAL ? len : 0);
    if (rc != ST_OK && rc != ST_EPARTIAL) {
        res->lines_ok = 0;
        res->fields_written = 0;
    }
out:
    if (c.txn)
        cat_txn_abort(c.txn);
    lp_parser_free(p);
    cat_snapshot_unref(c.snap);
    stor_db_put(c.db);
    if (c.wb)
        stor_wbatch_free(c.wb);
    free(c.tagc);
    if (res == &dummy)
        eng_write_result_cleanup(res);
    return rc;
}

void
eng_write_result_cleanup(struct eng_write_result *res)
{
    if (!res)
        return;
    free(res->errors);
    res->errors = NULL;
    res->n_errors = 0;
}

/* ---- deletes ------------------------------------------------------------------ */

enum st_code
eng_delete_rows(struct eng *e, const char *db, const struct eng_delete *d, uint64_t *n_deleted,
                struct st_error *err)
{
    if (n_deleted)
        *n_deleted = 0;
    if (!e || !db || !d || !d->table)
        return st_error_set(err, ST_EINVAL, "bad arguments to eng_delete_rows");
    if (d->t_lo >= d->t_hi)
        return ST_OK;
    if (d->n_tags > 64)
        return st_error_set(err, ST_ELIMIT, "more than 64 tag conditions in a delete");
    struct stor_db *sdb;
    uint32_t db_id;
    ST_TRY(eng__db(e, db, false, &sdb, &db_id, err));
    struct cat_snapshot *snap = cat_store_snapshot(e->cat);
    const struct cat_table *t = cat_db_find_table(cat_snapshot_db_by_id(snap, db_id), d->table);
    enum st_code rc = ST_OK;
    struct stor_del_pred preds[64];
    if (!t) {
        rc = st_error_set(err, ST_ENOTFOUND, "table \"%s\" does not exist", d->table);
        goto out;
    }
    for (uint32_t i = 0; i < d->n_tags; i++) {
        const struct eng_tag_match *m = &d->tags[i];
        const struct cat_column *col = cat_table_find_column(t, m->tag);
        if (!m->tag || (m->op == ENG_TAG_EQ && m->n_values != 1) ||
            (m->op == ENG_TAG_IN && m->n_values == 0) || m->n_values > 65536) {
            rc = st_error_set(err, ST_EINVAL, "bad tag condition %u in a delete", i + 1);
            goto out;
        }
        for (uint32_t k = 0; k < m->n_values; k++)
            if (!m->values[k]) {
                rc = st_error_set(err, ST_EINVAL, "NULL value in a delete condition");
                goto out;
            }
        if (!col || col->kind != CAT_COL_TAG)
            goto out; /* no series has that tag: nothing matches */
        preds[i].col_id = col->id;
        preds[i].n_values = m->n_values;
        preds[i].values = m->values;
    }
    struct stor_wbatch *wb = stor_wbatch_new(db_id);
    if (!wb) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    rc = stor_wbatch_delete(wb, t->id, d->t_lo, d->t_hi, preds, d->n_tags, err);
    if (rc == ST_OK)
        rc = commit(e, sdb, wb, false, err);
    if (rc == ST_OK && n_deleted)
        *n_deleted = stor_wbatch_deleted_rows(wb);
    stor_wbatch_free(wb);
out:
    cat_snapshot_unref(snap);
    stor_db_put(sdb);
    return rc;
}
