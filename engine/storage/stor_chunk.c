/*
 * stor_chunk.c: chunk files, the immutable columnar files of one table
 * partition: writing, loading the index, reading blocks, verifying a file,
 * and the quarantine of damaged row groups.
 *
 * `<data_dir>/db/<db_id>/<table_id>/<chunk_id, 16 hex digits>.chk`:
 *
 *   header (32 bytes, then the key area when encrypted)
 *     0   8  magic "STRTCHK1"
 *     8   2  format version, u16 LE (1)
 *     10  2  flags, u16 LE (bit 0: encrypted; other bits unknown: refused)
 *     12  4  header length, u32 LE (32; encrypted: 176)
 *     16  4  table id, u32 LE
 *     20  8  reserved (0)
 *     28  4  CRC-32C of bytes 0..27
 *     32 144 encrypted only: the key area (two key slots, strata/crypt.h)
 *   blocks: column blocks (stor_codec.c), back to back
 *   index (uvarints unless noted):
 *     n_cols, per column: col_id, u8 type
 *     n_series, per series (series-major, in key order of creation):
 *       key_len, key (tags in column-id order: col_id, len, bytes)
 *       n_groups, per row group (<= 4096 rows, time-sorted, no duplicates):
 *         n_rows, t_min u64 LE, t_max u64 LE, time block: off, len, crc u32 LE
 *         n_refs, per non-NULL column: col index, off, len, crc u32 LE,
 *           null_count, u8 has_stats, [min f64 LE, max f64 LE]
 *   footer (48 bytes)
 *     0   8  index offset      8  4  index length     12  4  index CRC-32C
 *     16  8  min_seq           24  8  max_seq          32  8  rows
 *     40  4  CRC-32C of footer bytes 0..39             44  4  magic "SCHE"
 *
 * Plaintext chunks: every block has its CRC-32C in the index and the index
 * its CRC in the footer; each is checked on every read.
 *
 * Encrypted chunks: every block and the index are sealed with AES-256-GCM
 * under the chunk's data key, the block number being the block's byte
 * offset in the file (unique, so no nonce repeats, and a block moved to
 * another place does not open). A sealed block is the ciphertext then the
 * 16-byte tag; its length in the index counts both. No CRC covers sealed
 * bytes (those CRC fields are 0): the tag authenticates them and is
 * verified before any byte is decoded. The header's fixed part and the
 * footer stay plaintext with their CRCs (they hold no data).
 *
 * A damaged block is ST_ECORRUPT naming the file, the block offset and the
 * column; no row of it is returned, and its row group is quarantined (see
 * stor__chunk_quarantine). All block bytes pass through
 * chunk_write_block() / chunk_read_block().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stor_int.h"
#include "strata/clock.h"
#include "strata/crc32c.h"
#include "strata/file.h"
#include "strata/log.h"

#define CHK_MAGIC "STRTCHK1"
#define CHK_FOOT_MAGIC "SCHE"
#define CHK_VERSION 1
#define CHK_HDR 32u
#define CHK_ENC_HDR (CHK_HDR + CRYPT_SLOTS_LEN)
#define CHK_FOOT 48u
#define CHK_MAX_INDEX ((size_t)1 << 30)
#define CHK_MAX_BLOCK ((uint32_t)1 << 30)
#define CHK_KIND "chunk"
#define CHK_WBUF ((size_t)1 << 20)

/* ---- block I/O: the envelope hook ------------------------------------------ */

static enum st_code
chunk_read_block(const struct stor_chunk *c, uint64_t off, uint32_t len, uint32_t crc,
                 uint8_t *buf, uint32_t *plain_len, struct st_error *err)
{
    uint64_t hdr = c->enc ? CHK_ENC_HDR : CHK_HDR;
    if (off < hdr || off + len > c->file_len || (c->enc && len < CRYPT_TAG_LEN))
        return st_error_set(err, ST_ECORRUPT, "chunk \"%s\": block at offset %" PRIu64
                                              " lies outside the file",
                            c->path, off);
    ST_TRY(st_file_pread_all(c->fd, buf, len, (off_t)off, c->path, err));
    if (c->enc) {
        uint32_t n = len - CRYPT_TAG_LEN;
        if (crypt_open(&c->cf, CHK_KIND, off, buf, n, buf, NULL) != ST_OK)
            return st_error_set(err, ST_ECORRUPT,
                                "chunk \"%s\": block at offset %" PRIu64 " (%u bytes): "
                                "authentication tag mismatch (damaged or tampered)",
                                c->path, off, len);
        *plain_len = n;
        return ST_OK;
    }
    if (st_crc32c(0, buf, len) != crc)
        return st_error_set(err, ST_ECORRUPT,
                            "chunk \"%s\": block at offset %" PRIu64 " (%u bytes): checksum "
                            "mismatch",
                            c->path, off, len);
    *plain_len = len;
    return ST_OK;
}

enum st_code
stor__chunk_read_raw(const struct stor_chunk *c, uint64_t off, uint32_t len, uint32_t crc,
                     uint8_t *buf, uint32_t *plain_len, struct st_error *err)
{
    return chunk_read_block(c, off, len, crc, buf, plain_len, err);
}

static atomic_uint_fast64_t chunk_serial;

/* ---- writer ------------------------------------------------------------------ */

struct chunk_writer {
    int fd;
    char *path;
    uint64_t off;       /* file offset of the next block */
    struct st_buf wbuf; /* bytes from wbuf_off on, not yet written */
    uint64_t wbuf_off;
    uint32_t n_cols;
    uint32_t *col_ids;
    uint8_t *types;
    struct st_buf index; /* series part of the index */
    struct st_buf blk;
    uint32_t n_series;
    uint64_t n_rows;
    int64_t t_min, t_max;
    uint32_t table_id;
    int64_t part_start;
    bool enc;
    struct crypt_file cf;
};

static enum st_code
wbuf_flush(struct chunk_writer *w, struct st_error *err)
{
    if (!w->wbuf.len)
        return ST_OK;
    ST_TRY(st_file_pwrite_all(w->fd, w->wbuf.data, w->wbuf.len, (off_t)w->wbuf_off, w->path, err));
    w->wbuf_off += w->wbuf.len;
    st_buf_reset(&w->wbuf);
    return ST_OK;
}

/* Append n bytes at the writer's offset: sealed (block number = offset)
 * when encrypting. *stored gets the bytes written. */
static enum st_code
chunk_write_block(struct chunk_writer *w, const uint8_t *p, size_t n, uint32_t *stored,
                  struct st_error *err)
{
    size_t total = n + (w->enc ? CRYPT_TAG_LEN : 0);
    if (total > CHK_MAX_INDEX)
        return st_error_set(err, ST_ELIMIT, "chunk block too large");
    if (w->wbuf.len && w->wbuf.len + total > CHK_WBUF)
        ST_TRY(wbuf_flush(w, err));
    if (st_buf_reserve(&w->wbuf, total) != ST_OK)
        return st_error_set(err, ST_ENOMEM, "out of memory writing a chunk");
    uint8_t *q = w->wbuf.data + w->wbuf.len;
    if (w->enc)
        ST_TRY(crypt_seal(&w->cf, CHK_KIND, w->off, p, n, q, err));
    else
        memcpy(q, p, n);
    w->wbuf.len += total;
    w->off += total;
    *stored = (uint32_t)total;
    if (w->wbuf.len >= CHK_WBUF)
        ST_TRY(wbuf_flush(w, err));
    return ST_OK;
}

enum st_code
stor__cw_open(struct chunk_writer **out, const char *path, uint32_t table_id, int64_t part_start,
              const uint32_t *col_ids, const uint8_t *types, uint32_t n_cols,
              const struct crypt_policy *pol, struct st_error *err)
{
    struct chunk_writer *w = calloc(1, sizeof *w);
    if (!w)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    w->fd = -1;
    w->path = strdup(path);
    w->col_ids = malloc((n_cols + 1) * sizeof *w->col_ids);
    w->types = malloc(n_cols + 1);
    st_buf_init(&w->index, CHK_MAX_INDEX);
    st_buf_init(&w->blk, SIZE_MAX);
    st_buf_init(&w->wbuf, SIZE_MAX);
    if (!w->path || !w->col_ids || !w->types) {
        stor__cw_abort(w);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    memcpy(w->col_ids, col_ids, n_cols * sizeof *col_ids);
    memcpy(w->types, types, n_cols);
    w->n_cols = n_cols;
    w->table_id = table_id;
    w->part_start = part_start;
    w->t_min = INT64_MAX;
    w->t_max = INT64_MIN;
    uint8_t hdr[CHK_ENC_HDR] = {0};
    w->enc = crypt_policy_encrypts(pol);
    if (w->enc) {
        enum st_code rc = crypt_slots_new(pol->keys, CHK_KIND, &w->cf, hdr + CHK_HDR, err);
        if (rc != ST_OK) {
            stor__cw_abort(w);
            return rc;
        }
    }
    w->fd = st_file_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600, err);
    if (w->fd < 0) {
        stor__cw_abort(w);
        return ST_EIO;
    }
    uint32_t hl = w->enc ? CHK_ENC_HDR : CHK_HDR;
    memcpy(hdr, CHK_MAGIC, 8);
    hdr[8] = CHK_VERSION;
    hdr[10] = w->enc ? 1 : 0;
    st_store_u32le(hdr + 12, hl);
    st_store_u32le(hdr + 16, table_id);
    st_store_u32le(hdr + 28, st_crc32c(0, hdr, 28));
    if (st_buf_append(&w->wbuf, hdr, hl) != ST_OK) {
        stor__cw_abort(w);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    w->off = hl;
    *out = w;
    return ST_OK;
}

void
stor__cw_abort(struct chunk_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        st_file_close(w->fd);
        unlink(w->path);
    }
    crypt_file_cleanup(&w->cf);
    st_buf_cleanup(&w->index);
    st_buf_cleanup(&w->blk);
    st_buf_cleanup(&w->wbuf);
    free(w->col_ids);
    free(w->types);
    free(w->path);
    free(w);
}

static enum st_code
put_block(struct chunk_writer *w, uint64_t *off, uint32_t *len, uint32_t *crc,
          struct st_error *err)
{
    if (w->blk.len > CHK_MAX_BLOCK - CRYPT_TAG_LEN)
        return st_error_set(err, ST_ELIMIT, "column block too large");
    *off = w->off;
    *crc = w->enc ? 0 : st_crc32c(0, w->blk.data, w->blk.len);
    return chunk_write_block(w, w->blk.data, w->blk.len, len, err);
}
enum st_code
stor__cw_series(struct chunk_writer *w, const struct stor_sent *s, const struct rowset *rs,
                struct st_error *err)
{
    enum st_code rc = ST_OK;
    struct st_buf *ix = &w->index;
    if (rs->n == 0)
        return ST_OK;
    /* rowset columns must match the writer's, in order */
#define P(x)                                                                                       \
    do {                                                                                           \
        if ((rc = (x)) != ST_OK)                                                                   \
            return rc == ST_ENOMEM || rc == ST_ELIMIT                                              \
                       ? st_error_set(err, rc, "building a chunk index: %s", st_strerror(rc))      \
                       : rc;                                                                       \
    } while (0)
    P(st_buf_put_uvarint(ix, s->key_len));
    P(st_buf_append(ix, s->key, s->key_len));
    uint32_t n_groups = (rs->n + STOR_GROUP_ROWS - 1) / STOR_GROUP_ROWS;
    P(st_buf_put_uvarint(ix, n_groups));
    for (uint32_t g = 0; g < n_groups; g++) {
        uint32_t lo = g * STOR_GROUP_ROWS;
        uint32_t n = rs->n - lo < STOR_GROUP_ROWS ? rs->n - lo : STOR_GROUP_ROWS;
        uint64_t off = 0;
        uint32_t len = 0, crc = 0;
        st_buf_reset(&w->blk);
        rc = stor__enc_block(&w->blk, ST_TYPE_TIME, n, (const uint64_t *)rs->time + lo, NULL,
                             NULL, NULL, err);
        if (rc != ST_OK)
            return rc;
        P(put_block(w, &off, &len, &crc, err));
        P(st_buf_put_uvarint(ix, n));
        P(st_buf_put_u64le(ix, (uint64_t)rs->time[lo]));
        P(st_buf_put_u64le(ix, (uint64_t)rs->time[lo + n - 1]));
        P(st_buf_put_uvarint(ix, off));
        P(st_buf_put_uvarint(ix, len));
        P(st_buf_put_u32le(ix, crc));
        uint32_t n_refs = 0;
        for (uint32_t c = 0; c < rs->n_cols; c++) {
            for (uint32_t i = 0; i < n; i++)
                if (rs->cols[c].valid[lo + i]) {
                    n_refs++;
                    break;
                }
        }
        P(st_buf_put_uvarint(ix, n_refs));
        for (uint32_t c = 0; c < rs->n_cols; c++) {
            const struct rs_col *col = &rs->cols[c];
            uint32_t nulls = 0;
            bool has_stats = false;
            double mn = 0, mx = 0;
            for (uint32_t i = 0; i < n; i++) {
                if (!col->valid[lo + i]) {
                    nulls++;
                    continue;
                }
                double d;
                uint64_t bits = col->v[lo + i];
                if (col->type == ST_TYPE_INT)
                    d = (double)(int64_t)bits;
                else if (col->type == ST_TYPE_UINT)
                    d = (double)bits;
                else if (col->type == ST_TYPE_FLOAT)
                    memcpy(&d, &bits, 8);
                else
                    continue;
                if (d != d)
                    continue;
                if (!has_stats || d < mn)
                    mn = d;
                if (!has_stats || d > mx)
                    mx = d;
                has_stats = true;
            }
            if (nulls == n)
                continue;
            st_buf_reset(&w->blk);
            rc = stor__enc_block(&w->blk, col->type, n, col->v + lo, col->valid + lo,
                                 col->slen ? col->slen + lo : NULL, rs->sdata.data, err);
            if (rc != ST_OK)
                return rc;
            P(put_block(w, &off, &len, &crc, err));
            P(st_buf_put_uvarint(ix, c));
            P(st_buf_put_uvarint(ix, off));
            P(st_buf_put_uvarint(ix, len));
            P(st_buf_put_u32le(ix, crc));
            P(st_buf_put_uvarint(ix, nulls));
            P(st_buf_append_byte(ix, has_stats));
            if (has_stats) {
                uint64_t b;
                memcpy(&b, &mn, 8);
                P(st_buf_put_u64le(ix, b));
                memcpy(&b, &mx, 8);
                P(st_buf_put_u64le(ix, b));
            }
        }
    }
#undef P
    w->n_series++;
    w->n_rows += rs->n;
    if (rs->time[0] < w->t_min)
        w->t_min = rs->time[0];
    if (rs->time[rs->n - 1] > w->t_max)
        w->t_max = rs->time[rs->n - 1];
    return ST_OK;
}

enum st_code
stor__cw_finish(struct chunk_writer *w, uint64_t min_seq, uint64_t max_seq,
                struct chunk_meta *meta, struct st_error *err)
{
    struct st_buf head;
    enum st_code rc = ST_OK;
    st_buf_init(&head, CHK_MAX_INDEX);
    rc = st_buf_put_uvarint(&head, w->n_cols);
    for (uint32_t c = 0; c < w->n_cols && rc == ST_OK; c++) {
        rc = st_buf_put_uvarint(&head, w->col_ids[c]);
        if (rc == ST_OK)
            rc = st_buf_append_byte(&head, w->types[c]);
    }
    if (rc == ST_OK)
        rc = st_buf_put_uvarint(&head, w->n_series);
    if (rc == ST_OK)
        rc = st_buf_append(&head, w->index.data, w->index.len);
    if (rc != ST_OK) {
        st_buf_cleanup(&head);
        stor__cw_abort(w);
        return st_error_set(err, rc, "chunk index too large");
    }
    uint64_t ix_off = w->off;
    uint32_t ix_len = 0;
    uint32_t ix_crc = w->enc ? 0 : st_crc32c(0, head.data, head.len);
    rc = chunk_write_block(w, head.data, head.len, &ix_len, err);
    st_buf_cleanup(&head);
    uint8_t foot[CHK_FOOT] = {0};
    st_store_u64le(foot, ix_off);
    st_store_u32le(foot + 8, ix_len);
    st_store_u32le(foot + 12, ix_crc);
    st_store_u64le(foot + 16, min_seq);
    st_store_u64le(foot + 24, max_seq);
    st_store_u64le(foot + 32, w->n_rows);
    st_store_u32le(foot + 40, st_crc32c(0, foot, 40));
    memcpy(foot + 44, CHK_FOOT_MAGIC, 4);
    if (rc == ST_OK && st_buf_append(&w->wbuf, foot, CHK_FOOT) != ST_OK)
        rc = st_error_set(err, ST_ENOMEM, "out of memory writing a chunk");
    w->off += CHK_FOOT;
    if (rc == ST_OK)
        rc = wbuf_flush(w, err);
    if (rc == ST_OK)
        rc = st_file_fsync(w->fd, w->path, err);
    uint64_t file_len = w->off;
    if (rc != ST_OK) {
        stor__cw_abort(w);
        return rc;
    }
    st_file_close(w->fd);
    w->fd = -1;
    memset(meta, 0, sizeof *meta);
    meta->table_id = w->table_id;
    meta->part_start = w->part_start;
    meta->min_seq = min_seq;
    meta->max_seq = max_seq;
    meta->n_rows = w->n_rows;
    meta->t_min = w->t_min;
    meta->t_max = w->t_max;
    meta->file_len = file_len;
    if (!w->n_rows)
        unlink(w->path);
    crypt_file_cleanup(&w->cf);
    st_buf_cleanup(&w->index);
    st_buf_cleanup(&w->blk);
    st_buf_cleanup(&w->wbuf);
    free(w->col_ids);
    free(w->types);
    free(w->path);
    free(w);
    return ST_OK;
}

/* ---- reader ------------------------------------------------------------------ */

struct ird {
    const uint8_t *p, *end;
};

static int
iu(struct ird *r, uint64_t max, uint64_t *v)
{
    return st_get_uvarint(&r->p, r->end, v) != 0 || *v > max ? -1 : 0;
}

static int
ibytes(struct ird *r, size_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n)
        return -1;
    *out = r->p;
    r->p += n;
    return 0;
}

static int
ser_cmp(const void *a, const void *b)
{
    const struct chk_series *x = a, *y = b;
    return x->series_id < y->series_id ? -1 : x->series_id > y->series_id;
}

/* Parse the index into c. With tab == NULL, series ids are ordinals. */
static enum st_code
parse_index(struct stor_chunk *c, const uint8_t *ix, size_t len, struct stor_table *tab,
            const struct cat_table *ct, struct st_error *err)
{
    struct ird r = {ix, ix + len};
    uint64_t n_cols, n_series, v;
    const uint8_t *b;
#define BAD(what)                                                                                  \
    st_error_set(err, ST_ECORRUPT, "chunk \"%s\": bad index (%s)", c->path ? c->path : "?", what)
    if (iu(&r, 100000, &n_cols))
        return BAD("column count");
    c->col_ids = calloc(n_cols + 1, sizeof *c->col_ids);
    c->col_types = calloc(n_cols + 1, 1);
    if (!c->col_ids || !c->col_types)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < n_cols; i++) {
        if (iu(&r, UINT32_MAX, &v) || ibytes(&r, 1, &b))
            return BAD("column");
        if (b[0] < ST_TYPE_STRING || b[0] > ST_TYPE_BOOL)
            return BAD("column type");
        if (ct) {
            const struct cat_column *cc = cat_table_column_by_id(ct, (uint32_t)v);
            if (!cc || cc->kind != CAT_COL_FIELD || cc->type != b[0])
                return BAD("column does not match the catalog");
        }
        for (uint64_t k = 0; k < i; k++)
            if (c->col_ids[k] == v)
                return BAD("duplicate column");
        c->col_ids[i] = (uint32_t)v;
        c->col_types[i] = b[0];
    }
    c->n_cols = (uint32_t)n_cols;
    if (iu(&r, len, &n_series))
        return BAD("series count");
    c->ser = calloc(n_series + 1, sizeof *c->ser);
    if (!c->ser)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    uint32_t cap_g = 0, cap_r = 0;
    for (uint64_t i = 0; i < n_series; i++) {
        uint64_t key_len, n_groups;
        const uint8_t *key;
        if (iu(&r, STOR_MAX_KEY_LEN, &key_len) || ibytes(&r, (size_t)key_len, &key) ||
            iu(&r, len, &n_groups) || n_groups == 0)
            return BAD("series header");
        const uint8_t *kp = key, *kend = key + key_len;
        uint32_t prev = 0;
        bool first = true;
        while (kp < kend) {
            uint32_t cid, l;
            const char *val;
            if (stor__key_next(&kp, kend, &cid, &val, &l) || (!first && cid <= prev) || !l ||
                memchr(val, 0, l))
                return BAD("series key");
            if (ct) {
                const struct cat_column *cc = cat_table_column_by_id(ct, cid);
                if (!cc || cc->kind != CAT_COL_TAG)
                    return BAD("series key names a column that is not a tag");
            }
            first = false;
            prev = cid;
        }
        struct chk_series *cs = &c->ser[i];
        if (tab) {
            struct stor_sent *se;
            ST_TRY(stor__series_get(tab, ct, key, (uint32_t)key_len, true, &se, err));
            cs->series_id = se->pub.id;
        } else {
            cs->series_id = (uint32_t)i;
        }
        for (uint64_t k = 0; k < i; k++)
            if (c->ser[k].series_id == cs->series_id)
                return BAD("duplicate series");
        cs->first_group = c->n_groups;
        cs->n_groups = (uint32_t)n_groups;
        cs->t_min = INT64_MAX;
        cs->t_max = INT64_MIN;
        for (uint64_t g = 0; g < n_groups; g++) {
            if (c->n_groups == cap_g) {
                cap_g = cap_g ? cap_g * 2 : 64;
                struct chk_group *a = realloc(c->groups, cap_g * sizeof *a);
                if (!a)
                    return st_error_set(err, ST_ENOMEM, "out of memory");
                c->groups = a;
            }
            struct chk_group *gr = &c->groups[c->n_groups];
            uint64_t n_rows, off, blen, n_refs;
            const uint8_t *tb, *crc;
            if (iu(&r, STOR_GROUP_ROWS, &n_rows) || n_rows == 0 || ibytes(&r, 16, &tb) ||
                iu(&r, UINT64_MAX / 2, &off) || iu(&r, CHK_MAX_BLOCK, &blen) ||
                ibytes(&r, 4, &crc) || iu(&r, n_cols, &n_refs))
                return BAD("row group");
            gr->n_rows = (uint32_t)n_rows;
            gr->t_min = (int64_t)st_load_u64le(tb);
            gr->t_max = (int64_t)st_load_u64le(tb + 8);
            if (gr->t_min > gr->t_max || (g && gr->t_min <= c->groups[c->n_groups - 1].t_max))
                return BAD("row group times");
            gr->t_off = off;
            gr->t_len = (uint32_t)blen;
            gr->t_crc = st_load_u32le(crc);
            gr->first_ref = c->n_crefs;
            gr->n_refs = (uint32_t)n_refs;
            for (uint64_t k = 0; k < n_refs; k++) {
                if (c->n_crefs == cap_r) {
                    cap_r = cap_r ? cap_r * 2 : 256;
                    struct chk_ref *a = realloc(c->crefs, cap_r * sizeof *a);
                    if (!a)
                        return st_error_set(err, ST_ENOMEM, "out of memory");
                    c->crefs = a;
                }
                struct chk_ref *rf = &c->crefs[c->n_crefs];
                uint64_t col, nulls;
                const uint8_t *hs;
                if (iu(&r, n_cols ? n_cols - 1 : 0, &col) || n_cols == 0 ||
                    iu(&r, UINT64_MAX / 2, &off) || iu(&r, CHK_MAX_BLOCK, &blen) ||
                    ibytes(&r, 4, &crc) || iu(&r, n_rows, &nulls) || ibytes(&r, 1, &hs) ||
                    hs[0] > 1)
                    return BAD("column reference");
                if (k && col <= c->crefs[c->n_crefs - 1].col)
                    return BAD("column order");
                rf->col = (uint32_t)col;
                rf->off = off;
                rf->len = (uint32_t)blen;
                rf->crc = st_load_u32le(crc);
                rf->null_count = (uint32_t)nulls;
                rf->has_stats = hs[0];
                if (rf->has_stats) {
                    const uint8_t *st;
                    if (ibytes(&r, 16, &st))
                        return BAD("statistics");
                    uint64_t bits = st_load_u64le(st);
                    memcpy(&rf->min, &bits, 8);
                    bits = st_load_u64le(st + 8);
                    memcpy(&rf->max, &bits, 8);
                }
                c->n_crefs++;
            }
            cs->n_rows += n_rows;
            if (gr->t_min < cs->t_min)
                cs->t_min = gr->t_min;
            if (gr->t_max > cs->t_max)
                cs->t_max = gr->t_max;
            c->n_groups++;
        }
        c->n_series++;
    }
    if (r.p != r.end)
        return BAD("trailing bytes");
#undef BAD
    qsort(c->ser, c->n_series, sizeof *c->ser, ser_cmp);
    return ST_OK;
}

/* Check the header's fixed part and the footer; *hdr_len gets 32 or 176. */
static enum st_code
check_header_footer(const char *path, const uint8_t *hdr, const uint8_t *foot, uint64_t file_len,
                    uint32_t *hdr_len, uint64_t *ix_off, uint32_t *ix_len, uint32_t *ix_crc,
                    uint64_t *min_seq, uint64_t *max_seq, struct st_error *err)
{
    if (memcmp(hdr, CHK_MAGIC, 8) != 0 || st_load_u32le(hdr + 28) != st_crc32c(0, hdr, 28))
        return st_error_set(err, ST_ECORRUPT, "chunk \"%s\": bad header", path);
    uint16_t ver = (uint16_t)(hdr[8] | hdr[9] << 8), flags = (uint16_t)(hdr[10] | hdr[11] << 8);
    if (ver != CHK_VERSION)
        return st_error_set(err, ST_ECORRUPT, "chunk \"%s\": unsupported version %u", path, ver);
    if (flags & ~1u)
        return st_error_set(err, ST_EUNSUPPORTED, "chunk \"%s\": unsupported flags 0x%x", path,
                            flags);
    uint32_t hl = st_load_u32le(hdr + 12);
    if (hl != ((flags & 1u) ? CHK_ENC_HDR : CHK_HDR))
        return st_error_set(err, ST_ECORRUPT, "chunk \"%s\": bad header length %u", path, hl);
    if (memcmp(foot + 44, CHK_FOOT_MAGIC, 4) != 0 ||
        st_load_u32le(foot + 40) != st_crc32c(0, foot, 40))
        return st_error_set(err, ST_ECORRUPT, "chunk \"%s\": bad footer", path);
    *hdr_len = hl;
    *ix_off = st_load_u64le(foot);
    *ix_len = st_load_u32le(foot + 8);
    *ix_crc = st_load_u32le(foot + 12);
    *min_seq = st_load_u64le(foot + 16);
    *max_seq = st_load_u64le(foot + 24);
    if (*ix_off < hl || *ix_len > CHK_MAX_INDEX || *ix_off > file_len ||
        *ix_off + *ix_len + CHK_FOOT != file_len || ((flags & 1u) && *ix_len < CRYPT_TAG_LEN))
        return st_error_set(err, ST_ECORRUPT, "chunk \"%s\": bad index location", path);
    return ST_OK;
}

/* Open the index bytes in place (ix, ix_len stored bytes) after the header
 * and key checks; *plain_len gets the index length. */
static enum st_code
open_index(const char *path, bool enc, const struct crypt_file *cf, uint64_t ix_off, uint8_t *ix,
           uint32_t ix_len, uint32_t ix_crc, uint32_t *plain_len, struct st_error *err)
{
    if (!enc) {
        if (st_crc32c(0, ix, ix_len) != ix_crc)
            return st_error_set(err, ST_ECORRUPT, "chunk \"%s\": index checksum mismatch", path);
        *plain_len = ix_len;
        return ST_OK;
    }
    uint32_t n = ix_len - CRYPT_TAG_LEN;
    if (crypt_open(cf, CHK_KIND, ix_off, ix, n, ix, NULL) != ST_OK)
        return st_error_set(err, ST_ECORRUPT,
                            "chunk \"%s\": index (offset %" PRIu64 ") failed its authentication "
                            "check (damaged or tampered)",
                            path, ix_off);
    *plain_len = n;
    return ST_OK;
}

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;

static void
chunk_free(struct stor_chunk *c)
{
    if (c->fd >= 0)
        st_file_close(c->fd);
    if (atomic_load(&c->dead) && c->path)
        unlink(c->path);
    crypt_file_cleanup(&c->cf);
    free(c->path);
    free(c->col_ids);
    free(c->col_types);
    free(c->ser);
    free(c->groups);
    free(c->crefs);
    free(atomic_load(&c->qmap));
    free(c->qrecs);
    free(c);
}

void
stor__chunk_unref(struct stor_chunk *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        chunk_free(c);
}

static struct stor_chunk *
chunk_alloc(const char *path, const struct chunk_meta *meta)
{
    struct stor_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->serial = atomic_fetch_add(&chunk_serial, 1) + 1;
    c->fd = -1;
    c->path = strdup(path);
    if (!c->path) {
        free(c);
        return NULL;
    }
    c->id = meta->id;
    c->table_id = meta->table_id;
    c->part_start = meta->part_start;
    c->min_seq = meta->min_seq;
    c->max_seq = meta->max_seq;
    c->applied_seq = meta->applied_seq;
    c->n_rows = meta->n_rows;
    c->t_min = meta->t_min;
    c->t_max = meta->t_max;
    c->file_len = meta->file_len;
    return c;
}

struct stor_chunk *
stor__chunk_placeholder(const char *path, const struct chunk_meta *meta)
{
    return chunk_alloc(path, meta); /* no index: no read finds a series in it */
}

enum st_code
stor__chunk_open(const char *path, const struct chunk_meta *meta, struct stor_table *t,
                 const struct cat_table *ct, const struct crypt_policy *pol,
                 struct stor_chunk **out, struct st_error *err)
{
    struct stor_chunk *c = chunk_alloc(path, meta);
    if (!c)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    enum st_code rc = ST_OK;
    uint8_t hdr[CHK_ENC_HDR], foot[CHK_FOOT];
    uint8_t *ix = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        rc = st_error_set(err, ST_ENOTFOUND, "chunk \"%s\" is missing", path);
        goto out;
    }
    c->fd = st_file_open(path, O_RDONLY, 0, err);
    if (c->fd < 0) {
        rc = ST_EIO;
        goto out;
    }
    off_t end = lseek(c->fd, 0, SEEK_END);
    if (end < 0 || (uint64_t)end != meta->file_len || meta->file_len < CHK_HDR + CHK_FOOT) {
        rc = st_error_set(err, ST_ECORRUPT, "chunk \"%s\": size %lld, the manifest says %llu",
                          path, (long long)end, (unsigned long long)meta->file_len);
        goto out;
    }
    if ((rc = st_file_pread_all(c->fd, hdr, CHK_HDR, 0, path, err)) != ST_OK ||
        (rc = st_file_pread_all(c->fd, foot, CHK_FOOT, end - CHK_FOOT, path, err)) != ST_OK)
        goto out;
    uint64_t ix_off, min_seq, max_seq;
    uint32_t ix_len, ix_crc, hl;
    if ((rc = check_header_footer(path, hdr, foot, (uint64_t)end, &hl, &ix_off, &ix_len, &ix_crc,
                                  &min_seq, &max_seq, err)) != ST_OK)
        goto out;
    if (st_load_u32le(hdr + 16) != meta->table_id || min_seq != meta->min_seq ||
        max_seq != meta->max_seq) {
        rc = st_error_set(err, ST_ECORRUPT, "chunk \"%s\" does not match the manifest", path);
        goto out;
    }
    c->enc = hl == CHK_ENC_HDR;
    char what[4200];
    snprintf(what, sizeof what, "chunk \"%s\"", path);
    if ((rc = crypt_policy_check(pol, c->enc, what, err)) != ST_OK)
        goto out;
    if (c->enc) {
        if ((rc = st_file_pread_all(c->fd, hdr + CHK_HDR, CRYPT_SLOTS_LEN, CHK_HDR, path, err)) !=
            ST_OK)
            goto out;
        if ((rc = crypt_slots_open(pol->keys, CHK_KIND, hdr + CHK_HDR, &c->cf, err)) != ST_OK) {
            st_error_prefix(err, "%s: ", what);
            goto out;
        }
    }
    ix = malloc(ix_len + 1);
    if (!ix) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto out;
    }
    uint32_t plain;
    if ((rc = st_file_pread_all(c->fd, ix, ix_len, (off_t)ix_off, path, err)) != ST_OK ||
        (rc = open_index(path, c->enc, &c->cf, ix_off, ix, ix_len, ix_crc, &plain, err)) != ST_OK)
        goto out;
    rc = parse_index(c, ix, plain, t, ct, err);
out:
    if (ix)
        crypt_wipe(ix, ix_len);
    free(ix);
    if (rc != ST_OK) {
        chunk_free(c);
        return rc;
    }
    *out = c;
    return ST_OK;
}

const struct chk_series *
stor__chunk_find(const struct stor_chunk *c, uint32_t series_id)
{
    uint32_t lo = 0, hi = c->n_series;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        uint32_t v = c->ser[mid].series_id;
        if (v == series_id)
            return &c->ser[mid];
        if (v < series_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint32_t
stor__chunk_col(const struct stor_chunk *c, uint32_t col_id)
{
    for (uint32_t i = 0; i < c->n_cols; i++)
        if (c->col_ids[i] == col_id)
            return i;
    return UINT32_MAX;
}

const struct chk_ref *
stor__group_ref(const struct stor_chunk *c, const struct chk_group *g, uint32_t idx)
{
    if (idx == UINT32_MAX)
        return NULL;
    for (uint32_t k = 0; k < g->n_refs; k++)
        if (c->crefs[g->first_ref + k].col == idx)
            return &c->crefs[g->first_ref + k];
    return NULL;
}

static enum st_code
check_times(const struct stor_chunk *c, const struct chk_group *g, const int64_t *tt,
            struct st_error *err)
{
    uint32_t n = g->n_rows;
    for (uint32_t i = 1; i < n; i++)
        if (tt[i] <= tt[i - 1])
            return st_error_set(err, ST_ECORRUPT,
                                "chunk \"%s\": time block at offset %llu is not sorted", c->path,
                                (unsigned long long)g->t_off);
    if (tt[0] != g->t_min || tt[n - 1] != g->t_max)
        return st_error_set(err, ST_ECORRUPT,
                            "chunk \"%s\": time block at offset %llu disagrees with the index",
                            c->path, (unsigned long long)g->t_off);
    return ST_OK;
}

enum st_code
stor__chunk_check_times(const struct stor_chunk *c, const struct chk_group *g, struct cblock *tb,
                        struct st_error *err)
{
    if (atomic_load_explicit(&tb->times_ok, memory_order_relaxed))
        return ST_OK;
    ST_TRY(check_times(c, g, (const int64_t *)tb->v, err));
    atomic_store_explicit(&tb->times_ok, true, memory_order_relaxed);
    return ST_OK;
}

static void
name_block(const struct stor_chunk *c, uint64_t off, uint32_t col_id, bool is_time,
           struct st_error *err)
{
    if (err && !strstr(err->msg, "chunk \"")) {
        if (is_time)
            st_error_prefix(err, "chunk \"%s\": time block at offset %llu: ", c->path,
                            (unsigned long long)off);
        else
            st_error_prefix(err, "chunk \"%s\": block at offset %llu (column %u): ", c->path,
                            (unsigned long long)off, col_id);
    }
}

/* Append rows [a, b) of a cached block to a rowset column. */
static enum st_code
rs_from_cblock(struct rowset *rs, struct rs_col *col, uint32_t base, const struct cblock *cb,
               uint32_t a, uint32_t b)
{
    uint32_t k = b - a;
    if (cb->bitmap) {
        for (uint32_t i = 0; i < k; i++)
            col->valid[base + i] = (cb->bitmap[(a + i) >> 3] >> ((a + i) & 7)) & 1;
    } else {
        memset(col->valid + base, 1, k);
    }
    if (col->type == ST_TYPE_STRING) {
        for (uint32_t i = 0; i < k; i++) {
            int32_t o = cb->offsets[a + i], l = cb->offsets[a + i + 1] - o;
            col->v[base + i] = rs->sdata.len;
            col->slen[base + i] = (uint32_t)l;
            ST_TRY(st_buf_append(&rs->sdata, cb->sdata + o, (size_t)l));
        }
    } else {
        memcpy(col->v + base, cb->v + a, (size_t)k * 8);
    }
    return ST_OK;
}

/* Quarantine a group after a damaged block (ECORRUPT) was met reading it. */
static void
quarantine_on(const struct stor_chunk *c, const struct chk_group *g, uint64_t off,
              enum st_code rc)
{
    if (rc == ST_ECORRUPT)
        stor__chunk_quarantine(c, (uint32_t)(g - c->groups), off, STOR_Q_DAMAGED, st_now_ns());
}

enum st_code
stor__chunk_read_group(const struct stor_chunk *c, const struct chk_group *g, int64_t t_lo,
                       int64_t t_hi, struct stor_cache *cache, struct rowset *rs,
                       struct st_error *err)
{
    if (g->t_max < t_lo || g->t_min >= t_hi || stor__group_bad(c, (uint32_t)(g - c->groups)))
        return ST_OK;
    uint32_t n = g->n_rows;
    enum st_code rc = stor__rs_reserve(rs, n);
    if (rc != ST_OK)
        return st_error_set(err, rc, "out of memory reading a chunk");
    uint32_t base = rs->n;
    int64_t *tt = rs->time + base;
    struct cblock *tb = NULL;
    rc = stor__cache_get(cache, c, g->t_off, g->t_len, g->t_crc, ST_TYPE_TIME, n, &tb, err);
    if (rc != ST_OK) {
        name_block(c, g->t_off, 0, true, err);
        quarantine_on(c, g, g->t_off, rc);
        return rc;
    }
    rc = stor__chunk_check_times(c, g, tb, err);
    if (rc == ST_OK)
        memcpy(tt, tb->v, (size_t)n * 8);
    stor__cblock_put(tb);
    if (rc != ST_OK) {
        quarantine_on(c, g, g->t_off, rc);
        return rc;
    }
    uint32_t a = 0, b = n;
    while (a < n && tt[a] < t_lo)
        a++;
    while (b > a && tt[b - 1] >= t_hi)
        b--;
    if (a > 0)
        memmove(tt, tt + a, (size_t)(b - a) * 8);
    for (uint32_t ci = 0; ci < rs->n_cols; ci++) {
        struct rs_col *col = &rs->cols[ci];
        uint32_t idx = stor__chunk_col(c, col->col_id);
        const struct chk_ref *rf =
            idx != UINT32_MAX && c->col_types[idx] == col->type ? stor__group_ref(c, g, idx) : NULL;
        if (!rf) {
            memset(col->valid + base, 0, b - a);
            memset(col->v + base, 0, (size_t)(b - a) * 8);
            continue;
        }
        struct cblock *cb;
        rc = stor__cache_get(cache, c, rf->off, rf->len, rf->crc, col->type, n, &cb, err);
        if (rc != ST_OK) {
            name_block(c, rf->off, col->col_id, false, err);
            quarantine_on(c, g, rf->off, rc);
            return rc;
        }
        rc = rs_from_cblock(rs, col, base, cb, a, b);
        stor__cblock_put(cb);
        if (rc != ST_OK)
            return st_error_set(err, rc, "out of memory reading a chunk");
    }
    rs->n = base + (b - a);
    return ST_OK;
}

/* Check every block of every group of a parsed chunk c against the image
 * or file (read through rd), reporting each bad block to fn. */
struct blk_src {
    const uint8_t *img; /* an image in memory, or */
    int fd;             /* a file */
    const char *path;
    uint64_t data_end;  /* blocks lie in [hdr_len, data_end) */
    uint64_t hdr_len;
};

static enum st_code
check_blocks(const struct stor_chunk *c, const struct blk_src *src, chk_problem_fn fn, void *ctx,
             uint64_t *blocks, uint64_t *bytes, uint64_t *problems, struct st_error *err)
{
    uint32_t cap = 0;
    uint8_t *raw = NULL;
    uint64_t *v = malloc(((size_t)STOR_GROUP_ROWS + 1) * 8);
    uint8_t *valid = malloc((size_t)STOR_GROUP_ROWS + 1);
    uint32_t *slen = malloc(((size_t)STOR_GROUP_ROWS + 1) * 4);
    struct st_buf sd;
    st_buf_init(&sd, (size_t)1 << 31);
    enum st_code rc = v && valid && slen ? ST_OK : st_error_set(err, ST_ENOMEM, "out of memory");
    for (uint32_t gi = 0; gi < c->n_groups && rc == ST_OK; gi++) {
        const struct chk_group *gr = &c->groups[gi];
        uint32_t n = gr->n_rows;
        for (uint32_t k = 0; k <= gr->n_refs && rc == ST_OK; k++) {
            const struct chk_ref *rf = k ? &c->crefs[gr->first_ref + k - 1] : NULL;
            uint64_t off = rf ? rf->off : gr->t_off;
            uint32_t bl = rf ? rf->len : gr->t_len;
            uint32_t crc = rf ? rf->crc : gr->t_crc;
            uint8_t type = rf ? c->col_types[rf->col] : (uint8_t)ST_TYPE_TIME;
            const char *why = NULL;
            enum st_code code = ST_ECORRUPT;
            char msg[ST_ERROR_MSG_MAX];
            (*blocks)++;
            if (off < src->hdr_len || off > src->data_end || bl > src->data_end - off ||
                (c->enc && bl < CRYPT_TAG_LEN)) {
                why = "block lies outside the data area";
            } else {
                if (bl + 1u > cap) {
                    uint8_t *r2 = realloc(raw, (size_t)bl + 1);
                    if (!r2) {
                        rc = st_error_set(err, ST_ENOMEM, "out of memory");
                        break;
                    }
                    raw = r2;
                    cap = bl + 1;
                }
                struct st_error e2;
                if (src->img)
                    memcpy(raw, src->img + off, bl);
                else if (st_file_pread_all(src->fd, raw, bl, (off_t)off, src->path, &e2) != ST_OK) {
                    snprintf(msg, sizeof msg, "%s", e2.msg);
                    why = msg;
                    code = e2.code;
                }
                uint32_t plain = bl;
                if (!why && c->enc) {
                    plain = bl - CRYPT_TAG_LEN;
                    if (crypt_open(&c->cf, CHK_KIND, off, raw, plain, raw, NULL) != ST_OK)
                        why = "authentication tag mismatch (damaged or tampered)";
                } else if (!why && st_crc32c(0, raw, bl) != crc) {
                    why = "checksum mismatch";
                }
                *bytes += bl;
                st_buf_reset(&sd);
                if (!why && stor__dec_block(raw, plain, type, n, v, valid, slen, &sd, &e2) != ST_OK) {
                    snprintf(msg, sizeof msg, "does not decode: %s", e2.msg);
                    why = msg;
                }
                if (!why && !rf) {
                    struct st_error e3;
                    if (check_times(c, gr, (const int64_t *)v, &e3) != ST_OK)
                        why = "times are not sorted or disagree with the index";
                }
            }
            if (why) {
                (*problems)++;
                if (fn) {
                    struct chk_problem pb = {off, gi, code, why};
                    fn(ctx, &pb);
                }
            }
        }
    }
    if (raw)
        crypt_wipe(raw, cap);
    free(raw);
    free(v);
    free(valid);
    free(slen);
    st_buf_cleanup(&sd);
    return rc;
}

static void
first_problem(void *ctx, const struct chk_problem *p)
{
    struct st_error *err = ctx;
    if (err && err->code == ST_OK)
        st_error_set(err, p->code, "block at offset %" PRIu64 ": %s", p->off, p->reason);
}

enum st_code
stor__chunk_check_image(const uint8_t *img, size_t len, const struct crypt_policy *pol,
                        struct st_error *err)
{
    if (len < CHK_HDR + CHK_FOOT)
        return st_error_set(err, ST_ECORRUPT, "chunk too short");
    uint64_t ix_off, min_seq, max_seq;
    uint32_t ix_len, ix_crc, hl;
    ST_TRY(check_header_footer("image", img, img + len - CHK_FOOT, len, &hl, &ix_off, &ix_len,
                               &ix_crc, &min_seq, &max_seq, err));
    struct stor_chunk *c = calloc(1, sizeof *c);
    uint8_t *ix = malloc((size_t)ix_len + 1);
    if (!c || !ix) {
        free(c);
        free(ix);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    atomic_init(&c->refs, 1);
    c->fd = -1;
    c->file_len = len;
    c->enc = hl == CHK_ENC_HDR;
    enum st_code rc = crypt_policy_check(pol, c->enc, "chunk image", err);
    if (rc == ST_OK && c->enc)
        rc = len < CHK_ENC_HDR + CHK_FOOT
                 ? st_error_set(err, ST_ECORRUPT, "chunk too short")
                 : crypt_slots_open(pol->keys, CHK_KIND, img + CHK_HDR, &c->cf, err);
    uint32_t plain = 0;
    if (rc == ST_OK) {
        memcpy(ix, img + ix_off, ix_len);
        rc = open_index("image", c->enc, &c->cf, ix_off, ix, ix_len, ix_crc, &plain, err);
    }
    if (rc == ST_OK)
        rc = parse_index(c, ix, plain, NULL, NULL, err);
    if (rc == ST_OK) {
        /* Decode every block of every group, as a scan would. */
        struct blk_src src = {img, -1, "image", ix_off, hl};
        uint64_t blocks = 0, bytes = 0, problems = 0;
        if (err)
            st_error_clear(err);
        rc = check_blocks(c, &src, first_problem, err, &blocks, &bytes, &problems, err);
        if (rc == ST_OK && problems)
            rc = err ? err->code : ST_ECORRUPT;
    }
    free(ix);
    chunk_free(c);
    return rc;
}

enum st_code
stor__chunk_verify(const char *path, const struct crypt_policy *pol, chk_problem_fn fn, void *ctx,
                   uint64_t *blocks, uint64_t *bytes, uint64_t *problems, struct st_error *err)
{
    struct chk_problem whole = {0, UINT32_MAX, ST_ECORRUPT, NULL};
    struct st_error e2;
    st_error_clear(&e2);
    struct stor_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    atomic_init(&c->refs, 1);
    c->fd = -1;
    uint8_t hdr[CHK_ENC_HDR], foot[CHK_FOOT];
    uint8_t *ix = NULL;
    uint32_t ix_len = 0;
    enum st_code rc = ST_OK;
    c->fd = st_file_open(path, O_RDONLY, 0, &e2);
    off_t end = c->fd >= 0 ? lseek(c->fd, 0, SEEK_END) : -1;
    uint64_t ix_off = 0, min_seq, max_seq;
    uint32_t ix_crc, hl = CHK_HDR, plain = 0;
    if (c->fd < 0 || end < 0) {
        whole.code = ST_EIO;
        whole.reason = c->fd < 0 ? e2.msg : "cannot find the file size";
    } else if ((uint64_t)end < CHK_HDR + CHK_FOOT) {
        whole.reason = "file too short";
    } else if (st_file_pread_all(c->fd, hdr, CHK_HDR, 0, path, &e2) != ST_OK ||
               st_file_pread_all(c->fd, foot, CHK_FOOT, end - CHK_FOOT, path, &e2) != ST_OK ||
               check_header_footer(path, hdr, foot, (uint64_t)end, &hl, &ix_off, &ix_len,
                                   &ix_crc, &min_seq, &max_seq, &e2) != ST_OK) {
        whole.code = e2.code;
        whole.reason = e2.msg;
    } else {
        c->enc = hl == CHK_ENC_HDR;
        c->file_len = (uint64_t)end;
        if (crypt_policy_check(pol, c->enc, "the chunk", &e2) != ST_OK ||
            (c->enc &&
             (st_file_pread_all(c->fd, hdr + CHK_HDR, CRYPT_SLOTS_LEN, CHK_HDR, path, &e2) !=
                  ST_OK ||
              crypt_slots_open(pol->keys, CHK_KIND, hdr + CHK_HDR, &c->cf, &e2) != ST_OK))) {
            whole.code = e2.code;
            whole.reason = e2.msg;
        } else if (!(ix = malloc((size_t)ix_len + 1))) {
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
        } else if (st_file_pread_all(c->fd, ix, ix_len, (off_t)ix_off, path, &e2) != ST_OK ||
                   open_index(path, c->enc, &c->cf, ix_off, ix, ix_len, ix_crc, &plain, &e2) !=
                       ST_OK ||
                   parse_index(c, ix, plain, NULL, NULL, &e2) != ST_OK) {
            if (e2.code == ST_ENOMEM)
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
            whole.code = e2.code;
            whole.reason = e2.msg;
        }
    }
    if (rc == ST_OK && whole.reason) {
        (*problems)++;
        if (fn)
            fn(ctx, &whole);
    } else if (rc == ST_OK) {
        *bytes += (uint64_t)hl + ix_len + CHK_FOOT;
        struct blk_src src = {NULL, c->fd, path, ix_off, hl};
        rc = check_blocks(c, &src, fn, ctx, blocks, bytes, problems, err);
    }
    if (ix)
        crypt_wipe(ix, ix_len);
    free(ix);
    chunk_free(c);
    return rc;
}

/* ---- quarantine ------------------------------------------------------------- */

const char *
stor__qreason_name(uint8_t reason)
{
    switch (reason) {
    case STOR_Q_DAMAGED: return "damaged block";
    case STOR_Q_UNREADABLE: return "unreadable file";
    case STOR_Q_MISSING: return "missing file";
    default: return "unknown";
    }
}

uint32_t
stor__chunk_group_of(const struct stor_chunk *c, uint64_t off)
{
    for (uint32_t g = 0; g < c->n_groups; g++) {
        const struct chk_group *gr = &c->groups[g];
        if (gr->t_off == off)
            return g;
        for (uint32_t k = 0; k < gr->n_refs; k++)
            if (c->crefs[gr->first_ref + k].off == off)
                return g;
    }
    return UINT32_MAX;
}

bool
stor__chunk_quarantine(const struct stor_chunk *cc, uint32_t g, uint64_t off, uint8_t reason,
                       int64_t when_ns)
{
    struct stor_chunk *c = (struct stor_chunk *)cc; /* quarantine state is shared, not data */
    bool whole = g == UINT32_MAX;
    if (!whole && g >= c->n_groups)
        return false;
    pthread_mutex_lock(&q_mu);
    bool fresh = false;
    if (whole) {
        fresh = !atomic_load(&c->whole_bad);
        if (fresh) {
            atomic_store(&c->whole_bad, true);
            atomic_fetch_add(&c->n_bad, 1);
        }
    } else {
        atomic_uchar *m = atomic_load(&c->qmap);
        if (!m) {
            m = calloc(c->n_groups + 1, sizeof *m);
            if (m)
                atomic_store_explicit(&c->qmap, m, memory_order_release);
        }
        if (m && !atomic_load(&m[g])) {
            atomic_store(&m[g], reason);
            atomic_fetch_add(&c->n_bad, 1);
            fresh = true;
        }
    }
    if (fresh) {
        struct chk_qrec *a = realloc(c->qrecs, (c->n_qrecs + 1) * sizeof *a);
        if (a) {
            c->qrecs = a;
            a[c->n_qrecs++] = (struct chk_qrec){g, reason, off, when_ns};
        }
        atomic_store(&c->q_unsaved, true);
    }
    pthread_mutex_unlock(&q_mu);
    if (fresh && whole)
        st_log(ST_LOG_ERROR, "storage",
               "QUARANTINED chunk \"%s\" (%s): its %llu rows of table %u are excluded from every "
               "query until restored from a backup",
               c->path, stor__qreason_name(reason), (unsigned long long)c->n_rows, c->table_id);
    else if (fresh) {
        const struct chk_group *gr = &c->groups[g];
        st_log(ST_LOG_ERROR, "storage",
               "QUARANTINED row group %u of chunk \"%s\" (%s at offset %llu): its %u rows "
               "(time %lld..%lld) are excluded from every query until restored from a backup",
               g, c->path, stor__qreason_name(reason), (unsigned long long)off, gr->n_rows,
               (long long)gr->t_min, (long long)gr->t_max);
    }
    return fresh;
}

uint32_t
stor__chunk_qrecs(const struct stor_chunk *c, struct chk_qrec **out)
{
    pthread_mutex_lock(&q_mu);
    uint32_t n = c->n_qrecs;
    *out = NULL;
    if (n) {
        *out = malloc(n * sizeof **out);
        if (*out)
            memcpy(*out, c->qrecs, n * sizeof **out);
        else
            n = 0;
    }
    pthread_mutex_unlock(&q_mu);
    return n;
}

enum st_code
stor__chunk_check_index(const uint8_t *ix, size_t len, struct st_error *err)
{
    struct stor_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return ST_ENOMEM;
    atomic_init(&c->refs, 1);
    c->fd = -1;
    enum st_code rc = parse_index(c, ix, len, NULL, NULL, err);
    chunk_free(c);
    return rc;
}
