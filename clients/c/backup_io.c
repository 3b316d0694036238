/*
 * backup_io.c: the files of a backup: SHA-256, gzip writing and reading,
 * and the names of table files.
 *
 * A table file is written as DIR/.NAME.tmp (created exclusively, mode 0600)
 * through zlib's gzip encoder (a header without name or time, so the same
 * rows always give the same bytes), fsync'd, renamed to DIR/NAME, and the
 * directory fsync'd (base/file.h, which also lets tests inject faults).
 * While writing, SHA-256 runs over the uncompressed text (the content
 * digest) and over the file bytes.
 *
 * Reading accepts one or more gzip members (as `gzip` and `cat a.gz b.gz`
 * make), refuses anything after the last member, caps the uncompressed size
 * (the manifest says how large it should be), and hashes the file bytes as
 * they are read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "backup_int.h"
#include "strata/file.h"

/* ---- SHA-256 ----------------------------------------------------------------------- */

struct bk_sha256 {
    EVP_MD_CTX *ctx;
};

struct bk_sha256 *
bk_sha256_new(void)
{
    struct bk_sha256 *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void
bk_sha256_update(struct bk_sha256 *h, const void *p, size_t n)
{
    if (n) EVP_DigestUpdate(h->ctx, p, n);
}

static void
to_hex(const unsigned char *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

void
bk_sha256_final_hex(struct bk_sha256 *h, char hex[BK_SHA256_HEX])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, d, &n);
    to_hex(d, n, hex);
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void
bk_sha256_free(struct bk_sha256 *h)
{
    if (!h) return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void
bk_sha256_hex(const void *p, size_t n, char hex[BK_SHA256_HEX])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    EVP_Digest(p, n, d, &dn, EVP_sha256(), NULL);
    to_hex(d, dn, hex);
}

/* ---- paths and names ------------------------------------------------------------------ */

char *
bk_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static bool
safe_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

#define NAME_KEEP 100 /* bytes of a table name kept in its file name */

char *
bk_table_file_name(const char *table)
{
    size_t n = strlen(table);
    bool clean = n > 0 && n <= NAME_KEEP && table[0] != '.';
    for (size_t i = 0; i < n && clean; i++)
        clean = safe_byte((unsigned char)table[i]);
    char buf[NAME_KEEP + 32];
    size_t k = 0;
    for (size_t i = 0; i < n && k < NAME_KEEP; i++)
        buf[k++] = safe_byte((unsigned char)table[i]) ? table[i] : '_';
    if (k > 0 && buf[0] == '.') buf[0] = '_';
    if (!clean) {
        char hex[BK_SHA256_HEX];
        bk_sha256_hex(table, n, hex);
        buf[k++] = '~';
        memcpy(buf + k, hex, 8);
        k += 8;
    }
    memcpy(buf + k, ".lp.gz", 7);
    return strdup(buf);
}

bool
bk_file_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n <= 6 || n > 200 || name[0] == '.' || strcmp(name + n - 6, ".lp.gz") != 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!safe_byte((unsigned char)name[i]) && name[i] != '~') return false;
    return true;
}

/* ---- gzip writer ------------------------------------------------------------------------ */

#define GZ_OUT 65536

struct bk_gzw {
    int fd;
    char *tmp, *final, *dir;
    z_stream z;
    bool z_live;
    struct bk_sha256 *raw_sha, *file_sha;
    uint64_t raw_bytes, file_bytes;
    unsigned char out[GZ_OUT];
};

void
bk_gzw_abort(struct bk_gzw *w)
{
    if (!w) return;
    if (w->fd >= 0) st_file_close(w->fd);
    if (w->tmp) unlink(w->tmp);
    if (w->z_live) deflateEnd(&w->z);
    bk_sha256_free(w->raw_sha);
    bk_sha256_free(w->file_sha);
    free(w->tmp);
    free(w->final);
    free(w->dir);
    free(w);
}

struct bk_gzw *
bk_gzw_open(const char *dir, const char *name, int level, struct st_error *err)
{
    struct bk_gzw *w = calloc(1, sizeof *w);
    if (!w) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    w->fd = -1;
    size_t tn = strlen(name) + 6;
    char *tname = malloc(tn);
    if (tname) snprintf(tname, tn, ".%s.tmp", name);
    w->tmp = tname ? bk_path(dir, tname) : NULL;
    free(tname);
    w->final = bk_path(dir, name);
    w->dir = strdup(dir);
    w->raw_sha = bk_sha256_new();
    w->file_sha = bk_sha256_new();
    if (!w->tmp || !w->final || !w->dir || !w->raw_sha || !w->file_sha) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        goto fail;
    }
    if (deflateInit2(&w->z, level < 1 || level > 9 ? 6 : level, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        st_error_set(err, ST_ENOMEM, "cannot start the gzip encoder");
        goto fail;
    }
    w->z_live = true;
    w->fd = st_file_open(w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0600, err);
    if (w->fd < 0) {
        char *keep = w->tmp; /* not ours to unlink: it may be another writer's */
        w->tmp = NULL;
        free(keep);
        goto fail;
    }
    return w;
fail:
    bk_gzw_abort(w);
    return NULL;
}

static enum st_code
deflate_some(struct bk_gzw *w, int flush, struct st_error *err)
{
    for (;;) {
        w->z.next_out = w->out;
        w->z.avail_out = GZ_OUT;
        int zr = deflate(&w->z, flush);
        if (zr == Z_STREAM_ERROR)
            return st_error_set(err, ST_EINTERNAL, "gzip encoder: %s",
                                w->z.msg ? w->z.msg : "stream error");
        size_t have = GZ_OUT - w->z.avail_out;
        if (have) {
            ST_TRY(st_file_write_all(w->fd, w->out, have, w->tmp, err));
            bk_sha256_update(w->file_sha, w->out, have);
            w->file_bytes += have;
        }
        if (flush == Z_FINISH ? zr == Z_STREAM_END : w->z.avail_out != 0) return ST_OK;
    }
}

enum st_code
bk_gzw_write(struct bk_gzw *w, const void *p, size_t n, struct st_error *err)
{
    bk_sha256_update(w->raw_sha, p, n);
    w->raw_bytes += n;
    const unsigned char *q = p;
    while (n) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        w->z.next_in = (unsigned char *)q;
        w->z.avail_in = chunk;
        ST_TRY(deflate_some(w, Z_NO_FLUSH, err));
        q += chunk;
        n -= chunk;
    }
    return ST_OK;
}

uint64_t
bk_gzw_file_bytes(const struct bk_gzw *w)
{
    return w->file_bytes;
}

enum st_code
bk_gzw_finish(struct bk_gzw *w, uint64_t *raw_bytes, char raw_sha[BK_SHA256_HEX],
              uint64_t *file_bytes, char file_sha[BK_SHA256_HEX], struct st_error *err)
{
    w->z.next_in = NULL;
    w->z.avail_in = 0;
    enum st_code rc = deflate_some(w, Z_FINISH, err);
    if (rc == ST_OK) rc = st_file_fsync(w->fd, w->tmp, err);
    if (rc == ST_OK) {
        st_file_close(w->fd);
        w->fd = -1;
        rc = st_file_rename(w->tmp, w->final, err);
    }
    if (rc != ST_OK) {
        bk_gzw_abort(w);
        return rc;
    }
    *raw_bytes = w->raw_bytes;
    *file_bytes = w->file_bytes;
    bk_sha256_final_hex(w->raw_sha, raw_sha);
    bk_sha256_final_hex(w->file_sha, file_sha);
    free(w->tmp);
    w->tmp = NULL; /* renamed: nothing to remove */
    bk_gzw_abort(w);
    return ST_OK;
}

/* ---- gzip reader ------------------------------------------------------------------------- */

#define GZ_IN 65536

struct bk_gzr {
    int fd;
    char *path;
    z_stream z;
    bool z_live;
    bool file_eof;   /* read(2) returned 0 */
    bool member_end; /* the last inflate ended a member */
    bool done;
    struct bk_sha256 *sha;
    uint64_t file_bytes, raw_bytes, raw_max;
    uint64_t in_off; /* file offset of next_in[0] */
    unsigned char in[GZ_IN];
};

void
bk_gzr_close(struct bk_gzr *r)
{
    if (!r) return;
    if (r->fd >= 0) st_file_close(r->fd);
    if (r->z_live) inflateEnd(&r->z);
    bk_sha256_free(r->sha);
    free(r->path);
    free(r);
}

struct bk_gzr *
bk_gzr_open(const char *path, uint64_t raw_max, struct st_error *err)
{
    struct bk_gzr *r = calloc(1, sizeof *r);
    if (!r) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    r->fd = -1;
    r->path = strdup(path);
    r->sha = bk_sha256_new();
    r->raw_max = raw_max;
    if (!r->path || !r->sha || inflateInit2(&r->z, 15 + 16) != Z_OK) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        bk_gzr_close(r);
        return NULL;
    }
    r->z_live = true;
    r->fd = st_file_open(path, O_RDONLY, 0, err);
    if (r->fd < 0) {
        bk_gzr_close(r);
        return NULL;
    }
    return r;
}

static enum st_code
fill(struct bk_gzr *r, struct st_error *err)
{
    r->in_off += (uint64_t)(r->z.next_in ? r->z.next_in - r->in : 0);
    ssize_t got;
    do
        got = read(r->fd, r->in, GZ_IN);
    while (got < 0 && errno == EINTR);
    if (got < 0) return st_error_set(err, ST_EIO, "reading \"%s\": %s", r->path, strerror(errno));
    r->z.next_in = r->in;
    r->z.avail_in = (uInt)got;
    if (got == 0) r->file_eof = true;
    bk_sha256_update(r->sha, r->in, (size_t)got);
    r->file_bytes += (uint64_t)got;
    return ST_OK;
}

static enum st_code
corrupt(struct bk_gzr *r, const char *why, struct st_error *err)
{
    uint64_t at = r->in_off + (uint64_t)(r->z.next_in ? r->z.next_in - r->in : 0);
    return st_error_set(err, ST_ECORRUPT, "\"%s\": corrupt gzip data near byte %llu: %s", r->path,
                        (unsigned long long)at, why);
}

enum st_code
bk_gzr_read(struct bk_gzr *r, void *out, size_t cap, size_t *n, struct st_error *err)
{
    *n = 0;
    if (r->done || cap == 0) return ST_OK;
    if (cap > (1u << 30)) cap = 1u << 30;
    r->z.next_out = out;
    r->z.avail_out = (uInt)cap;
    while (r->z.avail_out == cap) {
        if (r->z.avail_in == 0 && !r->file_eof) ST_TRY(fill(r, err));
        if (r->z.avail_in == 0 && r->file_eof) {
            if (r->file_bytes == 0) return corrupt(r, "the file is empty", err);
            if (!r->member_end) return corrupt(r, "the file ends inside a gzip member", err);
            r->done = true;
            break;
        }
        if (r->member_end) { /* another member follows */
            if (inflateReset(&r->z) != Z_OK) return corrupt(r, "cannot restart", err);
            r->member_end = false;
        }
        int zr = inflate(&r->z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            r->member_end = true;
        } else if (zr == Z_DATA_ERROR) {
            return corrupt(r, r->z.msg ? r->z.msg : "invalid data", err);
        } else if (zr == Z_MEM_ERROR) {
            return st_error_set(err, ST_ENOMEM, "out of memory decompressing \"%s\"", r->path);
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return corrupt(r, r->z.msg ? r->z.msg : "stream error", err);
        }
    }
    *n = cap - r->z.avail_out;
    r->raw_bytes += *n;
    if (r->raw_bytes > r->raw_max)
        return st_error_set(err, ST_ECORRUPT,
                            "\"%s\" holds more than the %llu bytes of line protocol the manifest "
                            "announces",
                            r->path, (unsigned long long)r->raw_max);
    return ST_OK;
}

void
bk_gzr_file_sha(struct bk_gzr *r, char hex[BK_SHA256_HEX])
{
    bk_sha256_final_hex(r->sha, hex);
}

uint64_t
bk_gzr_file_bytes(const struct bk_gzr *r)
{
    return r->file_bytes;
}
