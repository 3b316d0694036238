/*
 * backup_verify.c: strata_backup_verify(), a backup against itself and
 * against a live database; and the steps restore shares with it (loading
 * the manifest, checking every file offline, selecting tables).
 *
 * What is checked, in order:
 *   1. manifest.json parses and validates (else the backup cannot be
 *      checked at all: ST_ECORRUPT / ST_EIO); SHA256SUMS lists it with its
 *      SHA-256 and each table file with the SHA-256 the manifest gives;
 *   2. per table, the file: its SHA-256 and size; every line parsed
 *      strictly and canonical, rows strictly in canonical order; then rows,
 *      time range, size and content digest against the manifest
 *      (backup_file.c);
 *   3. unless offline, per table, the live database: the table exists, the
 *      same columns with the same kinds and types; then the file's rows and
 *      the live rows, both in canonical order, are merged like two sorted
 *      lists: a row on one side only, or with other values, is a
 *      difference (the first max_row_diffs are shown per table), and the
 *      live rows' count, time range and content digest are compared with
 *      the manifest; a table in the database that the backup lacks is a
 *      difference when the backup was of all tables.
 * Every difference goes to the caller's callback; the result is ST_OK only
 * when there was none.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup_int.h"
#include "strata/clock.h"
#include "strata/file.h"

/* ---- pacing ------------------------------------------------------------------------- */

void
bk_pace_init(struct bk_pace *p)
{
    p->t0 = (double)st_mono_ns() / 1e9;
    p->last = 0;
}

bool
bk_pace_due(struct bk_pace *p)
{
    double now = (double)st_mono_ns() / 1e9;
    if (now - p->last < 0.1) return false;
    p->last = now;
    return true;
}

double
bk_pace_elapsed(const struct bk_pace *p)
{
    return (double)st_mono_ns() / 1e9 - p->t0;
}

/* ---- the manifest ---------------------------------------------------------------------- */

enum st_code
bk_load_manifest(const char *dir, struct bk_manifest *m, strata_backup_diff_fn fn, void *arg,
                 uint32_t *n_diffs, struct st_error *err)
{
    bk_manifest_init(m);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return st_error_set(err, ST_EIO, "\"%s\" is not a directory", dir);
    char *mpath = bk_path(dir, "manifest.json"), *spath = bk_path(dir, "SHA256SUMS");
    uint8_t *text = NULL, *sums = NULL;
    size_t len = 0, slen = 0;
    enum st_code rc = mpath && spath ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc == ST_OK) {
        rc = st_file_read_all(mpath, BK_MAX_MANIFEST, &text, &len, err);
        if (rc == ST_ENOTFOUND)
            rc = st_error_set(err, ST_EIO,
                              "\"%s\" has no manifest.json: not a backup, or an incomplete one "
                              "(a backup writes its manifest last)",
                              dir);
    }
    if (rc == ST_OK) rc = bk_manifest_decode((const char *)text, len, m, err);
    if (rc == ST_OK) {
        char have[BK_SHA256_HEX], want[BK_SHA256_HEX];
        bk_sha256_hex(text, len, have);
        struct st_error serr;
        enum st_code src = st_file_read_all(spath, BK_MAX_SUMS, &sums, &slen, &serr);
        bool found = false;
        if (src != ST_OK) {
            bk_report(fn, arg, n_diffs, NULL, "manifest",
                      "SHA256SUMS cannot be read (%s), so manifest.json cannot be checked",
                      serr.msg);
        } else if ((src = bk_sums_find((const char *)sums, slen, "manifest.json", &found, want,
                                       &serr)) != ST_OK) {
            bk_report(fn, arg, n_diffs, NULL, "manifest", "%s", serr.msg);
        } else if (!found) {
            bk_report(fn, arg, n_diffs, NULL, "manifest", "SHA256SUMS does not list manifest.json");
        } else if (strcmp(have, want) != 0) {
            bk_report(fn, arg, n_diffs, NULL, "manifest",
                      "manifest.json was changed after the backup was written: its SHA-256 is "
                      "%s, SHA256SUMS says %s",
                      have, want);
        }
        for (uint32_t i = 0; src == ST_OK && i < m->n_tables; i++) {
            const struct bk_mtable *t = &m->tables[i];
            if (bk_sums_find((const char *)sums, slen, t->file, &found, want, &serr) != ST_OK)
                break;
            if (!found)
                bk_report(fn, arg, n_diffs, t->name, "manifest", "SHA256SUMS does not list %s",
                          t->file);
            else if (strcmp(want, t->file_sha256) != 0)
                bk_report(fn, arg, n_diffs, t->name, "manifest",
                          "SHA256SUMS and manifest.json disagree on the SHA-256 of %s", t->file);
        }
    }
    free(text);
    free(sums);
    free(mpath);
    free(spath);
    if (rc != ST_OK) bk_manifest_cleanup(m);
    return rc;
}

enum st_code
bk_select_tables(const struct bk_manifest *m, const char *const *names, size_t n, bool **selected,
                 struct st_error *err)
{
    bool *sel = calloc(m->n_tables ? m->n_tables : 1, sizeof *sel);
    if (!sel) return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < m->n_tables; i++)
        sel[i] = n == 0;
    for (size_t k = 0; k < n; k++) {
        bool found = false;
        for (uint32_t i = 0; i < m->n_tables; i++)
            if (strcmp(m->tables[i].name, names[k]) == 0) {
                sel[i] = true;
                found = true;
            }
        if (!found) {
            free(sel);
            return st_error_set(err, ST_ENOTFOUND, "the backup has no table \"%s\"", names[k]);
        }
    }
    *selected = sel;
    return ST_OK;
}

/* ---- files alone --------------------------------------------------------------------------- */

struct prog {
    strata_backup_progress_fn fn;
    void *arg;
    struct bk_pace pace;
    struct strata_backup_progress p;
};

static void
prog_tick(struct prog *pr, bool force)
{
    if (!pr->fn || (!force && !bk_pace_due(&pr->pace))) return;
    pr->p.elapsed_s = bk_pace_elapsed(&pr->pace);
    pr->fn(&pr->p, pr->arg);
}

static uint32_t
count_selected(const struct bk_manifest *m, const bool *sel)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->n_tables; i++)
        n += sel[i];
    return n;
}

static uint64_t
rows_selected(const struct bk_manifest *m, const bool *sel)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < m->n_tables; i++)
        if (sel[i]) n += m->tables[i].rows;
    return n;
}

/* A fatal error (out of memory) ends the check; a problem with the data is a difference. */
static bool
fatal(enum st_code rc)
{
    return rc == ST_ENOMEM || rc == ST_EINTERNAL;
}

/* Read one table file to its end; every problem is a difference. *rc for fatal errors. */
static void
check_one_file(const char *dir, const struct bk_mtable *t, struct prog *pr,
               strata_backup_diff_fn fn, void *arg, uint32_t *n_diffs, uint64_t *rows,
               enum st_code *rc, struct st_error *err)
{
    struct bk_schema s;
    struct st_error ferr;
    if (bk_manifest_schema(t, &s, &ferr) != ST_OK) {
        bk_report(fn, arg, n_diffs, t->name, "manifest", "%s", ferr.msg);
        bk_schema_cleanup(&s);
        return;
    }
    struct bk_file *f = bk_file_open(dir, t, &s, &ferr);
    if (!f) {
        if (fatal(ferr.code))
            *rc = st_error_set(err, ferr.code, "%s", ferr.msg);
        else
            bk_report(fn, arg, n_diffs, t->name, "file", "%s", ferr.msg);
        bk_schema_cleanup(&s);
        return;
    }
    bk_file_sha_check(f, fn, arg, n_diffs);
    uint64_t lp0 = pr->p.lp_bytes;
    for (;;) {
        const struct bk_row *r;
        enum st_code frc = bk_file_next(f, &r, NULL, NULL, &ferr);
        if (frc != ST_OK) {
            if (fatal(frc))
                *rc = st_error_set(err, frc, "%s", ferr.msg);
            else
                bk_report(fn, arg, n_diffs, t->name, "file", "%s", ferr.msg);
            break;
        }
        if (!r) {
            bk_file_check_end(f, fn, arg, n_diffs);
            break;
        }
        (*rows)++;
        pr->p.rows++;
        pr->p.lp_bytes = lp0 + bk_file_lp_bytes(f);
        prog_tick(pr, false);
    }
    bk_file_close(f);
    bk_schema_cleanup(&s);
}

enum st_code
bk_check_files(const char *dir, const struct bk_manifest *m, const bool *selected,
               strata_backup_diff_fn fn, void *fn_arg, strata_backup_progress_fn progress,
               void *progress_arg, uint32_t *n_diffs, uint64_t *rows, struct st_error *err)
{
    struct prog pr = {.fn = progress, .arg = progress_arg};
    bk_pace_init(&pr.pace);
    pr.p.phase = "check";
    pr.p.n_tables = count_selected(m, selected);
    pr.p.rows_total = rows_selected(m, selected);
    enum st_code rc = ST_OK;
    *rows = 0;
    for (uint32_t i = 0; i < m->n_tables && rc == ST_OK; i++) {
        if (!selected[i]) continue;
        pr.p.table = m->tables[i].name;
        pr.p.table_index++;
        prog_tick(&pr, true);
        check_one_file(dir, &m->tables[i], &pr, fn, fn_arg, n_diffs, rows, &rc, err);
    }
    pr.p.table = NULL;
    pr.p.done = true;
    if (rc == ST_OK) prog_tick(&pr, true);
    return rc;
}

/* ---- against the live database ------------------------------------------------------------- */

struct vctx {
    struct strata *c;
    const struct strata_verify_opts *o;
    const char *db;
    uint32_t n_diffs;
    uint64_t rows;
    struct prog pr;
};

static void diff(struct vctx *v, const char *table, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
diff(struct vctx *v, const char *table, const char *what, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bk_report(v->o->diff, v->o->diff_arg, &v->n_diffs, table, what, "%s", msg);
}

/* A line for a message: printable, without its newline, cut to about 160 bytes. */
static void
show_line(const char *p, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    if (n && p[n - 1] == '\n') n--;
    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (k >= 160) {
            memcpy(buf + k, "...", 3);
            k += 3;
            break;
        }
        if (ch == '\n')
            buf[k++] = '\\', buf[k++] = 'n';
        else if (ch < 0x20 || ch == 0x7f)
            k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", ch);
        else
            buf[k++] = (char)ch;
    }
    buf[k] = '\0';
}

/*
 * Columns: a column on one side only is a difference when it holds a value
 * there (a column that is NULL in every row carries no data, and a restore
 * cannot recreate it); a column on both sides must have the same kind and
 * type. `live_counts` are the live values per column of `ls`, counted
 * during the row scan.
 */
static void
schema_diffs(struct vctx *v, const struct bk_mtable *t, const struct bk_mcol *live, uint32_t n_live,
             const struct bk_schema *ls, const struct bk_counts *live_counts, uint64_t live_rows)
{
    for (uint32_t i = 0; i < t->n_cols; i++) {
        const struct bk_mcol *b = &t->cols[i];
        const struct bk_mcol *l = NULL;
        for (uint32_t k = 0; k < n_live && !l; k++)
            if (strcmp(live[k].name, b->name) == 0) l = &live[k];
        if (!l && b->values > 0)
            diff(v, t->name, "schema",
                 "column \"%s\" (%s %s, %llu values) is in the backup, not in the database",
                 b->name, bk_kind_name(b->kind), bk_type_name(b->type),
                 (unsigned long long)b->values);
        else if (l && (l->kind != b->kind || l->type != b->type))
            diff(v, t->name, "schema",
                 "column \"%s\" is a %s %s in the backup and a %s %s in the database", b->name,
                 bk_kind_name(b->kind), bk_type_name(b->type), bk_kind_name(l->kind),
                 bk_type_name(l->type));
    }
    for (uint32_t k = 0; k < n_live; k++) {
        bool found = false;
        for (uint32_t i = 0; i < t->n_cols && !found; i++)
            found = strcmp(live[k].name, t->cols[i].name) == 0;
        uint64_t n = bk_counts_get(live_counts, ls, live[k].kind, live[k].name, live_rows);
        if (!found && n > 0)
            diff(v, t->name, "schema",
                 "column \"%s\" (%s %s, %llu values) is in the database, not in the backup",
                 live[k].name, bk_kind_name(live[k].kind), bk_type_name(live[k].type),
                 (unsigned long long)n);
    }
}

struct side {
    uint64_t rows;
    int64_t min_ns, max_ns;
};

static void
side_add(struct side *s, int64_t t)
{
    if (s->rows == 0 || t < s->min_ns) s->min_ns = t;
    if (s->rows == 0 || t > s->max_ns) s->max_ns = t;
    s->rows++;
}

/* Merge the file's rows with the live rows of one table. */
static enum st_code
compare_table(struct vctx *v, const struct bk_mtable *t, struct st_error *err)
{
    struct bk_schema fs, ls;
    struct bk_mcol *lcols = NULL;
    uint32_t n_lcols = 0;
    struct st_error ferr;
    bk_schema_init(&fs);
    struct bk_counts lcounts = {0};
    enum st_code rc = bk_table_schema(v->c, v->db, t->name, &ls, &lcols, &n_lcols, err);
    if (rc != ST_OK) return rc;
    rc = bk_counts_alloc(&lcounts, &ls, err);

    struct bk_stats st;
    struct bk_file *f = NULL;
    struct bk_live *l = NULL;
    struct bk_sha256 *live_sha = bk_sha256_new();
    struct st_buf lline;
    st_buf_init(&lline, SIZE_MAX);
    struct side lside = {0};
    uint64_t lp_live = 0, n_row_diffs = 0;
    uint32_t max_rows = v->o->max_row_diffs ? v->o->max_row_diffs : 10;
    bool file_ok = false, file_failed = true;
    if (!live_sha) rc = st_error_set(err, ST_ENOMEM, "out of memory");

    /* the file side; any problem with it is a difference and the live side goes on alone */
    if (rc == ST_OK) {
        if (bk_manifest_schema(t, &fs, &ferr) != ST_OK) {
            diff(v, t->name, "manifest", "%s", ferr.msg);
        } else if (!(f = bk_file_open(v->o->dir, t, &fs, &ferr))) {
            if (fatal(ferr.code))
                rc = st_error_set(err, ferr.code, "%s", ferr.msg);
            else
                diff(v, t->name, "file", "%s", ferr.msg);
        } else {
            bk_file_sha_check(f, v->o->diff, v->o->diff_arg, &v->n_diffs);
            file_ok = true;
            file_failed = false;
        }
    }
    if (rc == ST_OK) rc = bk_table_stats(v->c, v->db, t->name, &st, err);
    if (rc == ST_OK) {
        l = bk_live_open(v->c, v->db, &ls, &st, v->o->rows_per_query, err);
        if (!l) rc = err ? err->code : ST_ENOMEM;
    }

    const struct bk_row *fr = NULL, *lr = NULL;
    const char *fline = NULL;
    size_t fline_len = 0;
    bool need_f = true, need_l = true;
    uint64_t lp0 = v->pr.p.lp_bytes;
    while (rc == ST_OK) {
        if (need_f) { /* the next file row; NULL once the file ended or failed */
            fr = NULL;
            need_f = false;
            enum st_code frc = file_ok ? bk_file_next(f, &fr, &fline, &fline_len, &ferr) : ST_OK;
            if (frc != ST_OK && fatal(frc)) {
                rc = st_error_set(err, frc, "%s", ferr.msg);
                break;
            }
            if (frc != ST_OK) {
                diff(v, t->name, "file", "%s", ferr.msg);
                file_ok = false;
                file_failed = true;
            } else if (file_ok && !fr) {
                bk_file_check_end(f, v->o->diff, v->o->diff_arg, &v->n_diffs);
                file_ok = false;
            } else if (fr) {
                v->rows++;
                v->pr.p.rows++;
                v->pr.p.lp_bytes = lp0 + bk_file_lp_bytes(f);
            }
        }
        if (need_l) { /* the next live row, and its canonical line */
            need_l = false;
            rc = bk_live_next(l, &lr, err);
            if (rc != ST_OK) break;
            if (lr) {
                st_buf_reset(&lline);
                rc = bk_row_format(&ls, lr, &lline, err);
                if (rc != ST_OK) break;
                bk_sha256_update(live_sha, lline.data, lline.len);
                bk_counts_add(&lcounts, &ls, lr);
                lp_live += lline.len;
                side_add(&lside, lr->time);
            }
        }
        if (!fr && !lr) break;
        int cmp = !fr ? 1 : !lr ? -1 : bk_row_cmp2(&fs, fr, &ls, lr);
        char a[200], b[200];
        if (cmp < 0) {
            if (++n_row_diffs <= max_rows) {
                show_line(fline, fline_len, a, sizeof a);
                diff(v, t->name, "row", "only in the backup: %s", a);
            }
            need_f = true;
        } else if (cmp > 0) {
            /* without a readable file, every live row would look new: count, do not list */
            if (!file_failed && ++n_row_diffs <= max_rows) {
                show_line((const char *)lline.data, lline.len, b, sizeof b);
                diff(v, t->name, "row", "only in the database: %s", b);
            }
            need_l = true;
        } else {
            if ((fline_len != lline.len || memcmp(fline, lline.data, lline.len) != 0) &&
                ++n_row_diffs <= max_rows) {
                show_line(fline, fline_len, a, sizeof a);
                show_line((const char *)lline.data, lline.len, b, sizeof b);
                diff(v, t->name, "row", "values differ: backup %s, database %s", a, b);
            }
            need_f = need_l = true;
        }
        prog_tick(&v->pr, false);
    }
    if (rc == ST_OK) {
        schema_diffs(v, t, lcols, n_lcols, &ls, &lcounts, lside.rows);
        if (n_row_diffs > max_rows)
            diff(v, t->name, "row", "%llu more rows differ",
                 (unsigned long long)(n_row_diffs - max_rows));
        if (lside.rows != t->rows)
            diff(v, t->name, "rows", "the database has %llu rows, the backup %llu",
                 (unsigned long long)lside.rows, (unsigned long long)t->rows);
        else if (t->rows && (lside.min_ns != t->time_min_ns || lside.max_ns != t->time_max_ns))
            diff(v, t->name, "time range",
                 "the database spans time %lld to %lld, the backup %lld to %lld",
                 (long long)lside.min_ns, (long long)lside.max_ns, (long long)t->time_min_ns,
                 (long long)t->time_max_ns);
        char hex[BK_SHA256_HEX];
        bk_sha256_final_hex(live_sha, hex);
        if (strcmp(hex, t->content_sha256) != 0)
            diff(v, t->name, "content",
                 "the content digest of the database's rows is %s, the backup's %s (%llu and "
                 "%llu bytes of line protocol)",
                 hex, t->content_sha256, (unsigned long long)lp_live,
                 (unsigned long long)t->lp_bytes);
    }
    for (uint32_t i = 0; i < n_lcols; i++)
        free(lcols[i].name);
    free(lcols);
    bk_counts_free(&lcounts);
    bk_live_close(l);
    bk_file_close(f);
    bk_sha256_free(live_sha);
    st_buf_cleanup(&lline);
    bk_schema_cleanup(&fs);
    bk_schema_cleanup(&ls);
    if (rc != ST_OK) st_error_prefix(err, "table \"%s\": ", t->name);
    return rc;
}

static bool
in_list(char **v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0) return true;
    return false;
}

enum st_code
strata_backup_verify(struct strata *c, const struct strata_verify_opts *o,
                     struct strata_verify_summary *out, struct st_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!o || !o->dir || !*o->dir) return st_error_set(err, ST_EINVAL, "verify needs a directory");
    if (!o->offline && !c) return st_error_set(err, ST_EINVAL, "verify needs a connection");
    struct vctx v = {.c = c, .o = o};
    struct bk_manifest m;
    bool *sel = NULL;
    char **live = NULL;
    size_t n_live = 0;
    ST_TRY(bk_load_manifest(o->dir, &m, o->diff, o->diff_arg, &v.n_diffs, err));
    enum st_code rc = bk_select_tables(&m, o->tables, o->n_tables, &sel, err);
    v.db = o->database && *o->database ? o->database : m.database;

    if (rc == ST_OK && o->offline) {
        rc = bk_check_files(o->dir, &m, sel, o->diff, o->diff_arg, o->progress, o->progress_arg,
                            &v.n_diffs, &v.rows, err);
    } else if (rc == ST_OK) {
        rc = bk_list_tables(c, v.db, &live, &n_live, err);
        v.pr.fn = o->progress;
        v.pr.arg = o->progress_arg;
        bk_pace_init(&v.pr.pace);
        v.pr.p.phase = "verify";
        v.pr.p.n_tables = count_selected(&m, sel);
        v.pr.p.rows_total = rows_selected(&m, sel);
        for (uint32_t i = 0; i < m.n_tables && rc == ST_OK; i++) {
            if (!sel[i]) continue;
            const struct bk_mtable *t = &m.tables[i];
            v.pr.p.table = t->name;
            v.pr.p.table_index++;
            prog_tick(&v.pr, true);
            if (in_list(live, n_live, t->name)) {
                rc = compare_table(&v, t, err);
                continue;
            }
            /* a table without rows holds no data: its absence is no difference */
            if (t->rows > 0)
                diff(&v, t->name, "table",
                     "table \"%s\" (%llu rows) is in the backup, not in database \"%s\"", t->name,
                     (unsigned long long)t->rows, v.db);
            check_one_file(o->dir, t, &v.pr, o->diff, o->diff_arg, &v.n_diffs, &v.rows, &rc, err);
        }
        for (size_t k = 0; rc == ST_OK && m.all_tables && o->n_tables == 0 && k < n_live; k++) {
            bool found = false;
            for (uint32_t i = 0; i < m.n_tables && !found; i++)
                found = strcmp(m.tables[i].name, live[k]) == 0;
            struct bk_stats st;
            if (!found && (rc = bk_table_stats(c, v.db, live[k], &st, err)) == ST_OK && st.rows > 0)
                diff(&v, live[k], "table",
                     "table \"%s\" (%llu rows) is in database \"%s\", not in the backup", live[k],
                     (unsigned long long)st.rows, v.db);
        }
        v.pr.p.table = NULL;
        v.pr.p.done = true;
        if (rc == ST_OK) prog_tick(&v.pr, true);
    }
    if (out) {
        out->n_tables = sel ? count_selected(&m, sel) : 0;
        out->rows = v.rows;
        out->n_differences = v.n_diffs;
        if (!o->offline && v.db) snprintf(out->database, sizeof out->database, "%s", v.db);
    }
    if (rc == ST_OK && v.n_diffs)
        rc = st_error_set(err, ST_ECORRUPT, "%u difference%s found", v.n_diffs,
                          v.n_diffs == 1 ? "" : "s");
    bk_strv_free(live, n_live);
    free(sel);
    bk_manifest_cleanup(&m);
    return rc;
}
