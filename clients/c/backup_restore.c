/*
 * backup_restore.c: strata_restore(), a backup into a new or empty
 * database through the write API.
 *
 *   1. load manifest.json and check it against SHA256SUMS;
 *   2. check every table file to be restored in full, offline (SHA-256,
 *      every line, order, counts, digests: backup_verify.c); nothing is
 *      written when anything is wrong;
 *   3. the target database must not exist (it is created; a server without
 *      the admin RPC creates it on the first write) or have no tables: a
 *      restore never mixes a backup into existing data;
 *   4. per table, stream the file again and send its lines in requests of
 *      about chunk_bytes, cut between rows, each all or nothing (no partial
 *      writes); a request the server refuses as overloaded is retried with
 *      backoff (writes of the same rows are idempotent: a row is identified
 *      by its time and tags);
 *   5. query count(*), min(time), max(time) of every restored table and
 *      compare them with the manifest.
 *
 * Tables without rows cannot be recreated through line protocol (a table
 * exists once a row is written to it); they are counted and skipped. A
 * column that is NULL in every row is not recreated either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup_int.h"

#define MAX_RETRIES 8

struct rctx {
    struct strata *c;
    const struct strata_restore_opts *o;
    const char *db;
    struct bk_pace pace;
    struct strata_backup_progress p;
};

static void
tick(struct rctx *r, bool force)
{
    if (!r->o->progress || (!force && !bk_pace_due(&r->pace))) return;
    r->p.elapsed_s = bk_pace_elapsed(&r->pace);
    r->o->progress(&r->p, r->o->progress_arg);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Step 3. */
static enum st_code
prepare_database(struct rctx *r, struct st_error *err)
{
    char **names = NULL;
    size_t n = 0;
    enum st_code rc = bk_list_tables(r->c, r->db, &names, &n, err);
    if (rc == ST_ENOTFOUND) {
        rc = strata_database_create(r->c, r->db, err);
        if (rc == ST_EUNSUPPORTED || rc == ST_EEXISTS) rc = ST_OK; /* the first write creates it */
        if (rc != ST_OK) st_error_prefix(err, "creating database \"%s\": ", r->db);
        return rc;
    }
    if (rc != ST_OK) return rc;
    if (n > 0) {
        char list[256] = "";
        size_t at = 0;
        for (size_t i = 0; i < n && at + 4 < sizeof list; i++) {
            int k = snprintf(list + at, sizeof list - at, "%s\"%s\"", i ? ", " : "", names[i]);
            at += k > 0 ? (size_t)k : 0;
        }
        if (at >= sizeof list) memcpy(list + sizeof list - 4, "...", 4);
        rc = st_error_set(err, ST_EPRECONDITION,
                          "database \"%s\" is not empty (%zu table%s: %s); restore writes only "
                          "into a new or empty database (choose another name with --database, or "
                          "delete this one first)",
                          r->db, n, n == 1 ? "" : "s", list);
    }
    bk_strv_free(names, n);
    return rc;
}

/* Send one chunk of whole lines; line0 is the file line it starts at, rows_done the
 * table's rows already written (both for the message when it fails). */
static enum st_code
send_chunk(struct rctx *r, const struct bk_mtable *t, const struct st_buf *chunk,
           uint64_t rows_done, uint64_t line0, struct st_error *err)
{
    struct strata_write_opts wo = {.precision = STRATA_PRECISION_NS, .no_sync = r->o->no_sync};
    struct strata_write_result res;
    enum st_code rc;
    long backoff = 100;
    for (int attempt = 0;; attempt++) {
        rc = strata_write(r->c, r->db, (const char *)chunk->data, chunk->len, &wo, &res, err);
        if (rc != ST_EAGAIN || attempt == MAX_RETRIES) break;
        strata_write_result_cleanup(&res);
        sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    if (rc != ST_OK) {
        char why[ST_ERROR_MSG_MAX];
        if (res.n_errors)
            snprintf(why, sizeof why, "line %llu of %s: %s",
                     (unsigned long long)(line0 + res.errors[0].line - 1), t->file,
                     res.errors[0].message);
        else
            snprintf(why, sizeof why, "%s", err ? err->msg : st_strerror(rc));
        st_error_set(err, rc,
                     "table \"%s\": the server refused a write (%s); %llu of its %llu rows were "
                     "restored before, and the database now holds a partial restore",
                     t->name, why, (unsigned long long)rows_done, (unsigned long long)t->rows);
    }
    strata_write_result_cleanup(&res);
    return rc;
}

struct first_diff {
    char msg[256];
};

static void
keep_first(const struct strata_backup_diff *d, void *arg)
{
    struct first_diff *fd = arg;
    if (!fd->msg[0]) snprintf(fd->msg, sizeof fd->msg, "%s", d->message);
}

/* Step 4 for one table. */
static enum st_code
restore_table(struct rctx *r, const struct bk_mtable *t, struct st_error *err)
{
    struct bk_schema s;
    struct st_buf chunk;
    uint64_t limit = r->o->chunk_bytes ? r->o->chunk_bytes : BK_DEFAULT_CHUNK;
    st_buf_init(&chunk, SIZE_MAX);
    enum st_code rc = bk_manifest_schema(t, &s, err);
    struct bk_file *f = rc == ST_OK ? bk_file_open(r->o->dir, t, &s, err) : NULL;
    if (rc == ST_OK && !f) rc = err ? err->code : ST_EIO;
    uint64_t rows_done = 0, chunk_rows = 0, line = 1, chunk_line0 = 1, lp0 = r->p.lp_bytes;
    while (rc == ST_OK) {
        const struct bk_row *row;
        const char *text;
        size_t len;
        rc = bk_file_next(f, &row, &text, &len, err);
        if (rc != ST_OK) break;
        if (row) {
            if (chunk.len == 0) chunk_line0 = line;
            if (st_buf_append(&chunk, text, len) != ST_OK) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            for (size_t i = 0; i < len; i++)
                line += text[i] == '\n';
            chunk_rows++;
        }
        if (chunk.len && (!row || chunk.len >= limit)) {
            rc = send_chunk(r, t, &chunk, rows_done, chunk_line0, err);
            if (rc != ST_OK) break;
            rows_done += chunk_rows;
            r->p.rows += chunk_rows;
            r->p.lp_bytes = lp0 + bk_file_lp_bytes(f);
            chunk_rows = 0;
            st_buf_reset(&chunk);
            tick(r, false);
        }
        if (!row) break;
    }
    if (rc == ST_OK) { /* the file was checked before; it must not have changed since */
        struct first_diff fd = {0};
        uint32_t n = 0;
        bk_file_check_end(f, keep_first, &fd, &n);
        if (n)
            rc = st_error_set(err, ST_ECORRUPT,
                              "table \"%s\": %s changed while it was being restored (%s); the "
                              "database holds what was read",
                              t->name, t->file, fd.msg);
    }
    bk_file_close(f);
    bk_schema_cleanup(&s);
    st_buf_cleanup(&chunk);
    return rc;
}

/* Step 5. */
static enum st_code
check_restored(struct rctx *r, const struct bk_mtable *t, struct st_error *err)
{
    struct bk_stats st;
    enum st_code rc = bk_table_stats(r->c, r->db, t->name, &st, err);
    if (rc != ST_OK) {
        st_error_prefix(err, "checking table \"%s\" after the restore: ", t->name);
        return rc;
    }
    if (st.rows != t->rows)
        return st_error_set(err, ST_ECORRUPT,
                            "table \"%s\" has %llu rows after the restore, the backup %llu",
                            t->name, (unsigned long long)st.rows, (unsigned long long)t->rows);
    if (st.min_ns != t->time_min_ns || st.max_ns != t->time_max_ns)
        return st_error_set(err, ST_ECORRUPT,
                            "table \"%s\" spans time %lld to %lld after the restore, the backup "
                            "%lld to %lld",
                            t->name, (long long)st.min_ns, (long long)st.max_ns,
                            (long long)t->time_min_ns, (long long)t->time_max_ns);
    return ST_OK;
}

enum st_code
strata_restore(struct strata *c, const struct strata_restore_opts *o,
               struct strata_restore_summary *out, struct st_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!c || !o || !o->dir || !*o->dir)
        return st_error_set(err, ST_EINVAL, "a restore needs a connection and a directory");
    struct rctx r = {.c = c, .o = o};
    struct bk_manifest m;
    bool *sel = NULL;
    uint32_t n_diffs = 0;
    uint64_t rows = 0;
    bk_pace_init(&r.pace);
    ST_TRY(bk_load_manifest(o->dir, &m, o->diff, o->diff_arg, &n_diffs, err));
    enum st_code rc = bk_select_tables(&m, o->tables, o->n_tables, &sel, err);
    r.db = o->database && *o->database ? o->database : m.database;
    if (rc == ST_OK)
        rc = bk_check_files(o->dir, &m, sel, o->diff, o->diff_arg, o->progress, o->progress_arg,
                            &n_diffs, &rows, err);
    if (rc == ST_OK && n_diffs)
        rc = st_error_set(err, ST_ECORRUPT,
                          "the backup in \"%s\" failed its check (%u problem%s); nothing was "
                          "written",
                          o->dir, n_diffs, n_diffs == 1 ? "" : "s");
    if (rc == ST_OK) rc = prepare_database(&r, err);

    r.p.phase = "restore";
    for (uint32_t i = 0; i < m.n_tables; i++)
        if (sel && sel[i]) {
            r.p.n_tables++;
            r.p.rows_total += m.tables[i].rows;
        }
    uint32_t n_written = 0, n_empty = 0;
    for (uint32_t i = 0; i < m.n_tables && rc == ST_OK; i++) {
        if (!sel[i]) continue;
        r.p.table = m.tables[i].name;
        r.p.table_index++;
        tick(&r, true);
        if (m.tables[i].rows == 0) {
            n_empty++;
            continue;
        }
        rc = restore_table(&r, &m.tables[i], err);
        n_written++;
    }
    r.p.table = NULL;
    for (uint32_t i = 0; i < m.n_tables && rc == ST_OK; i++)
        if (sel[i] && m.tables[i].rows > 0) rc = check_restored(&r, &m.tables[i], err);
    if (rc == ST_OK) {
        r.p.done = true;
        tick(&r, true);
        if (out) {
            out->n_tables = n_written;
            out->n_empty_tables = n_empty;
            out->rows = r.p.rows;
            out->lp_bytes = r.p.lp_bytes;
        }
    }
    free(sel);
    bk_manifest_cleanup(&m);
    return rc;
}
