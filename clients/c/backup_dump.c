/*
 * backup_dump.c: strata_backup(), a database to a directory of gzip'd line
 * protocol files and a manifest.
 *
 * The order of work, so that a failure leaves nothing half-done behind:
 *   1. look at the directory: it must be missing or empty (or --force);
 *   2. ask the server for the tables, and each table's columns and
 *      count/min/max (an unknown database or table fails here, before
 *      anything is written);
 *   3. create the directory if needed; with --force remove an old
 *      manifest.json and SHA256SUMS first, so that no old manifest can end
 *      up describing a mix of old and new files;
 *   4. per table, read its rows in canonical order (backup_scan.c), format
 *      each as its canonical line (backup_row.c) into DIR/.FILE.tmp through
 *      gzip, hashing the text as it goes; fsync and rename;
 *   5. write manifest.json, then SHA256SUMS, each atomically.
 * On any error every file this call created is removed (and the directory,
 * when this call created it and it is empty again).
 *
 * The rows are read with ordinary queries while the database stays live:
 * the backup of each table is consistent with itself (every row once, in
 * order), but rows written while the backup runs may or may not be in it;
 * the manifest records what was read (row counts and time ranges are those
 * of the rows written to the file).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_int.h"
#include "strata/clock.h"
#include "strata/file.h"

#define FLUSH_BYTES ((size_t)256 << 10)

struct dump_table {
    char *name;
    struct bk_schema s;
    struct bk_mcol *cols;
    uint32_t n_cols;
    struct bk_stats st;
};

struct dump {
    struct strata *c;
    const struct strata_backup_opts *o;
    struct dump_table *t;
    size_t n_t;
    char **created; /* files to remove on failure */
    size_t n_created;
    bool made_dir;
    struct bk_pace pace;
    struct strata_backup_progress prog;
};

static void
progress(struct dump *d, bool force)
{
    if (!d->o->progress || (!force && !bk_pace_due(&d->pace))) return;
    d->prog.elapsed_s = bk_pace_elapsed(&d->pace);
    d->o->progress(&d->prog, d->o->progress_arg);
}

/* Is dir missing (*exists false), or an empty directory? */
static enum st_code
inspect_dir(const char *dir, bool force, bool *exists, struct st_error *err)
{
    struct stat st;
    *exists = false;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT) return ST_OK;
        return st_error_set(err, ST_EIO, "\"%s\": %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return st_error_set(err, ST_EEXISTS, "\"%s\" exists and is not a directory", dir);
    *exists = true;
    DIR *dh = opendir(dir);
    if (!dh)
        return st_error_set(err, ST_EIO, "cannot read directory \"%s\": %s", dir, strerror(errno));
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(dh);
    if (n && !force)
        return st_error_set(err, ST_EEXISTS,
                            "directory \"%s\" is not empty (%zu entr%s); a backup goes into a new "
                            "or empty directory (--force writes into it anyway)",
                            dir, n, n == 1 ? "y" : "ies");
    return ST_OK;
}

static void
free_tables(struct dump *d)
{
    for (size_t i = 0; i < d->n_t; i++) {
        free(d->t[i].name);
        bk_schema_cleanup(&d->t[i].s);
        for (uint32_t k = 0; k < d->t[i].n_cols; k++)
            free(d->t[i].cols[k].name);
        free(d->t[i].cols);
    }
    free(d->t);
    d->t = NULL;
    d->n_t = 0;
}

/* Steps 2: the tables to back up, with their schemas and statistics. */
static enum st_code
plan_tables(struct dump *d, struct st_error *err)
{
    char **names;
    size_t n;
    ST_TRY(bk_list_tables(d->c, d->o->database, &names, &n, err));
    enum st_code rc = ST_OK;
    for (size_t i = 0; i < d->o->n_tables && rc == ST_OK; i++) {
        bool found = false;
        for (size_t k = 0; k < n && !found; k++)
            found = strcmp(names[k], d->o->tables[i]) == 0;
        if (!found)
            rc = st_error_set(err, ST_ENOTFOUND, "table \"%s\" does not exist in database \"%s\"",
                              d->o->tables[i], d->o->database);
        for (size_t k = 0; k < i && rc == ST_OK; k++)
            if (strcmp(d->o->tables[k], d->o->tables[i]) == 0)
                rc = st_error_set(err, ST_EINVAL, "table \"%s\" is named twice", d->o->tables[i]);
    }
    if (rc == ST_OK && !(d->t = calloc(n ? n : 1, sizeof *d->t)))
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == ST_OK; i++) {
        bool want = d->o->n_tables == 0;
        for (size_t k = 0; k < d->o->n_tables && !want; k++)
            want = strcmp(names[i], d->o->tables[k]) == 0;
        if (!want) continue;
        struct dump_table *t = &d->t[d->n_t++];
        t->name = names[i];
        names[i] = NULL;
        rc = bk_table_schema(d->c, d->o->database, t->name, &t->s, &t->cols, &t->n_cols, err);
        if (rc == ST_OK) rc = bk_table_stats(d->c, d->o->database, t->name, &t->st, err);
        if (rc != ST_OK) st_error_prefix(err, "table \"%s\": ", t->name);
        d->prog.rows_total += t->st.rows;
    }
    bk_strv_free(names, n);
    return rc;
}

static enum st_code
remember(struct dump *d, const char *path, struct st_error *err)
{
    char **v = realloc(d->created, (d->n_created + 1) * sizeof *v);
    if (!v) return st_error_set(err, ST_ENOMEM, "out of memory");
    d->created = v;
    if (!(v[d->n_created] = strdup(path))) return st_error_set(err, ST_ENOMEM, "out of memory");
    d->n_created++;
    return ST_OK;
}

/* Step 4 for one table. */
static enum st_code
dump_table(struct dump *d, struct dump_table *t, struct bk_manifest *m, struct st_error *err)
{
    const char *dir = d->o->dir;
    struct bk_mtable mt = {0};
    mt.name = strdup(t->name);
    mt.file = bk_table_file_name(t->name);
    if (!mt.name || !mt.file) {
        bk_mtable_cleanup(&mt);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < m->n_tables; i++)
        if (strcmp(m->tables[i].file, mt.file) == 0) {
            bk_mtable_cleanup(&mt);
            return st_error_set(err, ST_EEXISTS, "tables \"%s\" and \"%s\" map to one file name",
                                m->tables[i].name, t->name);
        }
    if (d->o->force) { /* a temporary file left by an interrupted backup */
        char tmp[256];
        snprintf(tmp, sizeof tmp, ".%s.tmp", mt.file);
        char *p = bk_path(dir, tmp);
        if (p) unlink(p);
        free(p);
    }
    struct st_buf line;
    st_buf_init(&line, SIZE_MAX);
    struct bk_live *l = NULL;
    struct bk_counts counts = {0};
    struct bk_gzw *w = bk_gzw_open(dir, mt.file, d->o->compression_level, err);
    enum st_code rc = w ? ST_OK : (err ? err->code : ST_EIO);
    if (rc == ST_OK) rc = bk_counts_alloc(&counts, &t->s, err);
    if (rc == ST_OK) {
        l = bk_live_open(d->c, d->o->database, &t->s, &t->st, d->o->rows_per_query, err);
        if (!l) rc = err ? err->code : ST_ENOMEM;
    }
    uint64_t lp0 = d->prog.lp_bytes, file0 = d->prog.file_bytes;
    while (rc == ST_OK) {
        const struct bk_row *r;
        rc = bk_live_next(l, &r, err);
        if (rc != ST_OK || !r) break;
        rc = bk_row_format(&t->s, r, &line, err);
        if (rc != ST_OK) break;
        bk_counts_add(&counts, &t->s, r);
        if (mt.rows == 0 || r->time < mt.time_min_ns) mt.time_min_ns = r->time;
        if (mt.rows == 0 || r->time > mt.time_max_ns) mt.time_max_ns = r->time;
        mt.rows++;
        d->prog.rows++;
        if (line.len >= FLUSH_BYTES) {
            rc = bk_gzw_write(w, line.data, line.len, err);
            d->prog.lp_bytes += line.len;
            st_buf_reset(&line);
            d->prog.file_bytes = file0 + bk_gzw_file_bytes(w);
            progress(d, false);
        }
    }
    bk_live_close(l);
    if (rc == ST_OK && line.len) {
        rc = bk_gzw_write(w, line.data, line.len, err);
        d->prog.lp_bytes += line.len;
    }
    st_buf_cleanup(&line);
    if (rc == ST_OK) {
        char *final = bk_path(dir, mt.file);
        rc = final ? remember(d, final, err) : st_error_set(err, ST_ENOMEM, "out of memory");
        free(final);
    }
    if (rc == ST_OK) {
        rc = bk_gzw_finish(w, &mt.lp_bytes, mt.content_sha256, &mt.file_bytes, mt.file_sha256, err);
        w = NULL;
    }
    bk_gzw_abort(w);
    if (rc != ST_OK) {
        bk_counts_free(&counts);
        st_error_prefix(err, "table \"%s\": ", t->name);
        bk_mtable_cleanup(&mt);
        return rc;
    }
    for (uint32_t i = 0; i < t->n_cols; i++)
        t->cols[i].values =
            bk_counts_get(&counts, &t->s, t->cols[i].kind, t->cols[i].name, mt.rows);
    bk_counts_free(&counts);
    d->prog.lp_bytes = lp0 + mt.lp_bytes;
    d->prog.file_bytes = file0 + mt.file_bytes;
    mt.has_range = mt.rows > 0;
    if (!mt.has_range) mt.time_min_ns = mt.time_max_ns = 0;
    mt.cols = t->cols;
    mt.n_cols = t->n_cols;
    t->cols = NULL;
    t->n_cols = 0;
    return bk_manifest_add(m, &mt, err);
}

/* Step 5. */
static enum st_code
write_manifest(struct dump *d, const struct bk_manifest *m, struct st_error *err)
{
    char *text, sha[BK_SHA256_HEX];
    size_t len;
    ST_TRY(bk_manifest_encode(m, &text, &len, err));
    bk_sha256_hex(text, len, sha);
    char *mpath = bk_path(d->o->dir, "manifest.json");
    char *spath = bk_path(d->o->dir, "SHA256SUMS");
    struct st_buf sums;
    st_buf_init(&sums, SIZE_MAX);
    enum st_code rc = mpath && spath ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc == ST_OK) rc = remember(d, mpath, err);
    if (rc == ST_OK) rc = st_file_write_atomic(mpath, text, len, 0600, err);
    if (rc == ST_OK) rc = bk_sums_encode(m, sha, &sums, err);
    if (rc == ST_OK) rc = remember(d, spath, err);
    if (rc == ST_OK) rc = st_file_write_atomic(spath, sums.data, sums.len, 0600, err);
    st_buf_cleanup(&sums);
    free(text);
    free(mpath);
    free(spath);
    return rc;
}

static void
undo(struct dump *d)
{
    for (size_t i = 0; i < d->n_created; i++)
        unlink(d->created[i]);
    if (d->made_dir) rmdir(d->o->dir); /* only succeeds when empty */
}

enum st_code
strata_backup(struct strata *c, const struct strata_backup_opts *o,
              struct strata_backup_summary *out, struct st_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !o || !o->database || !*o->database || !o->dir || !*o->dir)
        return st_error_set(err, ST_EINVAL,
                            "a backup needs a connection, a database and a directory");
    if (o->compression_level < 0 || o->compression_level > 9)
        return st_error_set(err, ST_EINVAL, "compression level %d is not 1..9",
                            o->compression_level);
    struct dump d = {.c = c, .o = o};
    struct bk_manifest m;
    bk_manifest_init(&m);
    bk_pace_init(&d.pace);
    d.prog.phase = "backup";
    int64_t started = st_now_ns();
    bool exists;

    enum st_code rc = inspect_dir(o->dir, o->force, &exists, err);
    if (rc == ST_OK) rc = plan_tables(&d, err);
    if (rc == ST_OK && !exists) {
        rc = st_mkdir_p(o->dir, 0700, err);
        d.made_dir = rc == ST_OK;
    }
    if (rc == ST_OK && exists && o->force) {
        char *p = bk_path(o->dir, "SHA256SUMS"), *q = bk_path(o->dir, "manifest.json");
        if (p && unlink(p) != 0 && errno != ENOENT)
            rc = st_error_set(err, ST_EIO, "removing \"%s\": %s", p, strerror(errno));
        if (rc == ST_OK && q && unlink(q) != 0 && errno != ENOENT)
            rc = st_error_set(err, ST_EIO, "removing \"%s\": %s", q, strerror(errno));
        free(p);
        free(q);
    }
    m.database = strdup(o->database);
    m.client_version = strdup(STRATA_CLIENT_VERSION);
    m.server = strdup(strata_target(c));
    struct strata_whoami who;
    if (rc == ST_OK && strata_whoami(c, &who, NULL) == ST_OK) { /* unknown when it fails */
        if (who.server_version && *who.server_version)
            m.server_version = strdup(who.server_version);
        strata_whoami_cleanup(&who);
    }
    m.created_at_ns = started;
    m.all_tables = o->n_tables == 0;
    if (rc == ST_OK && (!m.database || !m.client_version || !m.server))
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
    d.prog.n_tables = (uint32_t)d.n_t;
    for (size_t i = 0; i < d.n_t && rc == ST_OK; i++) {
        d.prog.table = d.t[i].name;
        d.prog.table_index = (uint32_t)i + 1;
        progress(&d, true);
        rc = dump_table(&d, &d.t[i], &m, err);
    }
    d.prog.table = NULL;
    if (rc == ST_OK) rc = write_manifest(&d, &m, err);
    if (rc != ST_OK) {
        undo(&d);
    } else {
        d.prog.done = true;
        progress(&d, true);
        if (out) {
            out->n_tables = m.n_tables;
            out->rows = d.prog.rows;
            out->lp_bytes = d.prog.lp_bytes;
            out->file_bytes = d.prog.file_bytes;
        }
    }
    bk_strv_free(d.created, d.n_created);
    free_tables(&d);
    bk_manifest_cleanup(&m);
    return rc;
}
