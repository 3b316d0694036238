/*
 * backup_file.c: the rows of one table file of a backup, read back and
 * checked against the manifest (verify and restore both read files only
 * through here).
 *
 * Opening a file reads it once whole for its SHA-256 (so a changed file is
 * named as such even when it still decompresses), then streams it through
 * the gzip reader (capped at the manifest's lp_bytes) into the strict line
 * parser (backup_lp.c). Each row is checked to come strictly after the
 * previous one in the canonical order; the content digest, row count, time
 * range and size are accumulated and compared with the manifest at the end.
 * Errors name the file, and the line and column of the bad byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup_int.h"
#include "strata/file.h"

#define READ_CHUNK ((size_t)1 << 20)

struct bk_file {
    char *path;
    const struct bk_mtable *t;
    const struct bk_schema *s;
    struct bk_gzr *gz;
    struct st_buf buf, scratch, canon;
    size_t pos;
    bool eof;
    struct bk_row row;
    struct bk_key prev;
    struct bk_counts counts;
    struct bk_sha256 *content;
    uint64_t rows, lp_bytes, line_no, file_bytes;
    int64_t min_ns, max_ns;
    char file_sha[BK_SHA256_HEX];
};

void
bk_file_close(struct bk_file *f)
{
    if (!f) return;
    bk_gzr_close(f->gz);
    st_buf_cleanup(&f->buf);
    st_buf_cleanup(&f->scratch);
    st_buf_cleanup(&f->canon);
    bk_row_free(&f->row);
    bk_key_cleanup(&f->prev);
    bk_counts_free(&f->counts);
    bk_sha256_free(f->content);
    free(f->path);
    free(f);
}

/* SHA-256 and size of a whole file. */
static enum st_code
hash_file(const char *path, char hex[BK_SHA256_HEX], uint64_t *size, struct st_error *err)
{
    int fd = st_file_open(path, O_RDONLY, 0, err);
    if (fd < 0) return err ? err->code : ST_EIO;
    struct bk_sha256 *h = bk_sha256_new();
    unsigned char *b = malloc(READ_CHUNK);
    enum st_code rc = h && b ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
    *size = 0;
    while (rc == ST_OK) {
        ssize_t n = read(fd, b, READ_CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = st_error_set(err, ST_EIO, "reading \"%s\": %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        bk_sha256_update(h, b, (size_t)n);
        *size += (uint64_t)n;
    }
    if (rc == ST_OK) bk_sha256_final_hex(h, hex);
    bk_sha256_free(h);
    free(b);
    st_file_close(fd);
    return rc;
}

struct bk_file *
bk_file_open(const char *dir, const struct bk_mtable *t, const struct bk_schema *s,
             struct st_error *err)
{
    struct bk_file *f = calloc(1, sizeof *f);
    if (!f) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    f->t = t;
    f->s = s;
    f->line_no = 1;
    st_buf_init(&f->buf, BK_MAX_LINE + READ_CHUNK);
    st_buf_init(&f->scratch, BK_MAX_LINE + READ_CHUNK + 16);
    st_buf_init(&f->canon, BK_MAX_LINE + 16);
    bk_key_init(&f->prev);
    f->path = bk_path(dir, t->file);
    f->content = bk_sha256_new();
    if (!f->path || !f->content || bk_row_alloc(&f->row, s, err) != ST_OK ||
        bk_counts_alloc(&f->counts, s, err) != ST_OK) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        goto fail;
    }
    if (hash_file(f->path, f->file_sha, &f->file_bytes, err) != ST_OK) goto fail;
    f->gz = bk_gzr_open(f->path, t->lp_bytes, err);
    if (!f->gz) goto fail;
    return f;
fail:
    bk_file_close(f);
    return NULL;
}

/* Turn a parse error's offset in the row at buf[pos] into a line and column. */
static enum st_code
locate(struct bk_file *f, struct st_error *err)
{
    if (!err) return ST_ECORRUPT;
    enum st_code code = err->code;
    uint64_t line = f->line_no;
    size_t off = err->offset < 0 ? 0 : (size_t)err->offset, col0 = 0;
    const char *p = (const char *)f->buf.data + f->pos;
    for (size_t i = 0; i < off && f->pos + i < f->buf.len; i++)
        if (p[i] == '\n') {
            line++;
            col0 = i + 1;
        }
    char msg[ST_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return st_error_set(err, code, "%s: line %llu, column %zu: %s", f->t->file,
                        (unsigned long long)line, off - col0 + 1, msg);
}

enum st_code
bk_file_next(struct bk_file *f, const struct bk_row **row, const char **line, size_t *line_len,
             struct st_error *err)
{
    *row = NULL;
    for (;;) {
        size_t avail = f->buf.len - f->pos;
        if (avail == 0 && f->eof) return ST_OK;
        if (avail > 0) {
            size_t ll;
            const char *p = (const char *)f->buf.data + f->pos;
            enum bk_lp_status st =
                bk_lp_parse(f->s, p, avail, f->eof, &f->row, &f->scratch, &f->canon, &ll, err);
            if (st == BK_LP_ERROR) return locate(f, err);
            if (st == BK_LP_ROW) {
                if (f->prev.set) {
                    int cmp = bk_key_cmp(&f->prev, f->s, &f->row);
                    if (cmp >= 0) {
                        st_error_set_at(err, ST_ECORRUPT, 0, "%s",
                                        cmp == 0 ? "the row repeats the previous row's time and "
                                                   "tags"
                                                 : "the row is out of order (rows are sorted by "
                                                   "time, then tags)");
                        return locate(f, err);
                    }
                }
                ST_TRY(bk_key_set(&f->prev, f->s, &f->row, err));
                bk_sha256_update(f->content, p, ll);
                bk_counts_add(&f->counts, f->s, &f->row);
                if (f->rows == 0 || f->row.time < f->min_ns) f->min_ns = f->row.time;
                if (f->rows == 0 || f->row.time > f->max_ns) f->max_ns = f->row.time;
                f->rows++;
                f->lp_bytes += ll;
                for (size_t i = 0; i < ll; i++)
                    if (p[i] == '\n') f->line_no++;
                f->pos += ll;
                *row = &f->row;
                if (line) *line = p;
                if (line_len) *line_len = ll;
                return ST_OK;
            }
        }
        /* BK_LP_MORE (or nothing buffered): read on */
        if (f->pos > 0) {
            memmove(f->buf.data, f->buf.data + f->pos, avail);
            f->buf.len = avail;
            f->pos = 0;
        }
        if (st_buf_reserve(&f->buf, READ_CHUNK) != ST_OK)
            return st_error_set(err, ST_ENOMEM, "out of memory reading \"%s\"", f->t->file);
        size_t n;
        ST_TRY(bk_gzr_read(f->gz, f->buf.data + f->buf.len, READ_CHUNK, &n, err));
        f->buf.len += n;
        if (n == 0) f->eof = true;
    }
}

void
bk_report(strata_backup_diff_fn fn, void *arg, uint32_t *n, const char *table, const char *what,
          const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (*n)++;
    if (fn) {
        struct strata_backup_diff d = {.table = table, .what = what, .message = msg};
        fn(&d, arg);
    }
}

bool
bk_file_sha_check(const struct bk_file *f, strata_backup_diff_fn fn, void *arg, uint32_t *n_diffs)
{
    const struct bk_mtable *t = f->t;
    if (strcmp(f->file_sha, t->file_sha256) == 0 && f->file_bytes == t->file_bytes) return true;
    bk_report(fn, arg, n_diffs, t->name, "file",
              "%s: the file changed after the backup was written: %llu bytes with SHA-256 %s, the "
              "manifest says %llu bytes with SHA-256 %s",
              t->file, (unsigned long long)f->file_bytes, f->file_sha,
              (unsigned long long)t->file_bytes, t->file_sha256);
    return false;
}

void
bk_file_check_end(struct bk_file *f, strata_backup_diff_fn fn, void *arg, uint32_t *n_diffs)
{
    const struct bk_mtable *t = f->t;
    if (f->rows != t->rows)
        bk_report(fn, arg, n_diffs, t->name, "rows", "%s holds %llu rows, the manifest says %llu",
                  t->file, (unsigned long long)f->rows, (unsigned long long)t->rows);
    if (f->rows && t->has_range && (f->min_ns != t->time_min_ns || f->max_ns != t->time_max_ns))
        bk_report(fn, arg, n_diffs, t->name, "time range",
                  "%s spans time %lld to %lld, the manifest says %lld to %lld", t->file,
                  (long long)f->min_ns, (long long)f->max_ns, (long long)t->time_min_ns,
                  (long long)t->time_max_ns);
    for (uint32_t i = 0; i < t->n_cols; i++) {
        uint64_t n = bk_counts_get(&f->counts, f->s, t->cols[i].kind, t->cols[i].name, f->rows);
        if (n != t->cols[i].values)
            bk_report(fn, arg, n_diffs, t->name, "content",
                      "%s: column \"%s\" has a value in %llu rows, the manifest says %llu", t->file,
                      t->cols[i].name, (unsigned long long)n,
                      (unsigned long long)t->cols[i].values);
    }
    if (f->lp_bytes != t->lp_bytes)
        bk_report(fn, arg, n_diffs, t->name, "content",
                  "%s holds %llu bytes of line protocol, the manifest says %llu", t->file,
                  (unsigned long long)f->lp_bytes, (unsigned long long)t->lp_bytes);
    char hex[BK_SHA256_HEX];
    bk_sha256_final_hex(f->content, hex);
    if (strcmp(hex, t->content_sha256) != 0)
        bk_report(fn, arg, n_diffs, t->name, "content",
                  "%s: the content digest of its rows is %s, the manifest says %s", t->file, hex,
                  t->content_sha256);
}

uint64_t
bk_file_rows(const struct bk_file *f)
{
    return f->rows;
}

uint64_t
bk_file_lp_bytes(const struct bk_file *f)
{
    return f->lp_bytes;
}

uint64_t
bk_file_gz_bytes(const struct bk_file *f)
{
    return f->gz ? bk_gzr_file_bytes(f->gz) : 0;
}
