/*
 * cat_file.c: the catalog file, `<data_dir>/catalog.bin`.
 *
 * The file is rewritten whole, atomically (temporary file, fsync, rename,
 * directory fsync), on every schema change, before the change is published.
 * It is a whole-file envelope (strata/crypt.h, crypt_envelope_*):
 *
 *   header   8 bytes  magic "STRTCAT1"
 *            u16 LE   format version (1)
 *            u16 LE   flags (bit 0: encrypted)
 *            u32 LE   body length (stored bytes)
 *   [encrypted: key area, 144 bytes: the file's data key wrapped under a
 *    master key, with the key's id]
 *   body     uvarint next_db_id, uvarint n_dbs, then per database:
 *              uvarint id, uvarint name_len, name bytes,
 *              uvarint next_table_id, uvarint n_tables, then per table:
 *                uvarint id, uvarint name_len, name bytes,
 *                uvarint next_col_id, uvarint n_columns, then per column:
 *                  uvarint id, uvarint name_len, name bytes, u8 kind, u8 type
 *            (encrypted: sealed with AES-256-GCM, block number 0, the tag
 *            after the ciphertext; the tag is checked before the body is read)
 *   trailer  u32 LE   CRC-32C of header and body (encrypted: of header and key area)
 *
 * Columns are in creation order; the first is `time` (id 0, kind TIME).
 * A tag's tag_index is its rank among the table's tags in that order.
 * The decoder checks everything (it is fuzzed): names, kinds and types,
 * unique names and ids, ascending column ids, bounded counts.
 */
#include <stdlib.h>
#include <string.h>

#include "cat_int.h"
#include "strata/buf.h"
#include "strata/crypt.h"

#define CAT_MAGIC "STRTCAT1"
#define CAT_VERSION 1
#define CAT_DECODE_MAX_DBS 100000u
#define CAT_DECODE_MAX_TABLES 1000000u
#define CAT_DECODE_MAX_COLS 100000u

static enum st_code
put_name(struct st_buf *b, const char *s)
{
    size_t n = strlen(s);
    ST_TRY(st_buf_put_uvarint(b, n));
    return st_buf_append(b, s, n);
}

enum st_code
cat__encode(const struct cat_snapshot *s, const struct crypt_policy *pol, uint8_t **out,
            size_t *len, struct st_error *err)
{
    struct st_buf b;
    enum st_code rc = ST_OK;
    st_buf_init(&b, SIZE_MAX);
#define P(x)                                                                                       \
    do {                                                                                           \
        if ((rc = (x)) != ST_OK)                                                                   \
            goto fail;                                                                             \
    } while (0)
    P(st_buf_put_uvarint(&b, s->next_db_id));
    P(st_buf_put_uvarint(&b, s->n_dbs));
    for (uint32_t i = 0; i < s->n_dbs; i++) {
        const struct cat_dnode *d = s->by_id[i];
        P(st_buf_put_uvarint(&b, d->pub.id));
        P(put_name(&b, d->pub.name));
        P(st_buf_put_uvarint(&b, d->next_table_id));
        P(st_buf_put_uvarint(&b, d->pub.n_tables));
        for (uint32_t j = 0; j < d->pub.n_tables; j++) {
            const struct cat_tnode *t = d->by_id[j];
            P(st_buf_put_uvarint(&b, t->pub.id));
            P(put_name(&b, t->pub.name));
            P(st_buf_put_uvarint(&b, t->next_col_id));
            P(st_buf_put_uvarint(&b, t->pub.n_columns));
            for (uint32_t k = 0; k < t->pub.n_columns; k++) {
                const struct cat_column *c = &t->cols[k];
                P(st_buf_put_uvarint(&b, c->id));
                P(put_name(&b, c->name));
                P(st_buf_append_byte(&b, (uint8_t)c->kind));
                P(st_buf_append_byte(&b, (uint8_t)c->type));
            }
        }
    }
#undef P
    struct st_buf f;
    st_buf_init(&f, SIZE_MAX);
    rc = crypt_envelope_build(pol, "catalog", CAT_MAGIC, CAT_VERSION, 0, b.data, b.len, &f, err);
    st_buf_cleanup(&b);
    if (rc != ST_OK) {
        st_buf_cleanup(&f);
        return rc;
    }
    *out = st_buf_take(&f, len);
    return ST_OK;
fail:
    st_buf_cleanup(&b);
    return st_error_set(err, rc, "out of memory encoding the catalog");
}

struct rd {
    const uint8_t *p, *end;
    struct st_error *err;
};

static int
get_u(struct rd *r, uint64_t max, uint64_t *v, const char *what)
{
    if (st_get_uvarint(&r->p, r->end, v) != 0) {
        st_error_set(r->err, ST_ECORRUPT, "truncated or bad varint reading %s", what);
        return -1;
    }
    if (*v > max) {
        st_error_set(r->err, ST_ECORRUPT, "%s %llu out of range", what, (unsigned long long)*v);
        return -1;
    }
    return 0;
}

static int
get_name(struct rd *r, const char *kind, const char **p, size_t *n)
{
    uint64_t len;
    if (get_u(r, CAT_MAX_NAME_LEN, &len, "name length") != 0)
        return -1;
    if ((size_t)(r->end - r->p) < len) {
        st_error_set(r->err, ST_ECORRUPT, "truncated %s name", kind);
        return -1;
    }
    if (cat_name_check(kind, (const char *)r->p, (size_t)len, r->err) != ST_OK) {
        if (r->err)
            r->err->code = ST_ECORRUPT;
        return -1;
    }
    *p = (const char *)r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

static int
get_byte(struct rd *r, uint8_t *v)
{
    if (r->p >= r->end) {
        st_error_set(r->err, ST_ECORRUPT, "truncated column");
        return -1;
    }
    *v = *r->p++;
    return 0;
}

static int
decode_table(struct rd *r, struct cat_dnode *d)
{
    uint64_t id, next_col, n_cols;
    const char *name;
    size_t nlen;
    if (get_u(r, UINT32_MAX - 1, &id, "table id") || get_name(r, "table", &name, &nlen) ||
        get_u(r, UINT32_MAX, &next_col, "next column id") ||
        get_u(r, CAT_DECODE_MAX_COLS, &n_cols, "column count"))
        return -1;
    if (cat_db_table_by_id(&d->pub, (uint32_t)id) || cat__find_tnode(d, name, nlen)) {
        st_error_set(r->err, ST_ECORRUPT, "duplicate table \"%.*s\"", (int)nlen, name);
        return -1;
    }
    struct cat_tnode *t = cat__tnode_new((uint32_t)id, name, nlen);
    if (!t || cat__dnode_insert(d, t) != 0) {
        cat__tnode_unref(t);
        st_error_set(r->err, ST_ENOMEM, "out of memory");
        return -1;
    }
    for (uint64_t k = 0; k < n_cols; k++) {
        uint64_t cid;
        uint8_t kind, type;
        if (get_u(r, UINT32_MAX - 1, &cid, "column id") || get_name(r, "column", &name, &nlen) ||
            get_byte(r, &kind) || get_byte(r, &type))
            return -1;
        bool first = k == 0;
        bool ok = first ? (cid == 0 && kind == CAT_COL_TIME && type == ST_TYPE_TIME &&
                           nlen == 4 && memcmp(name, "time", 4) == 0)
                        : (cid > t->cols[t->pub.n_columns - 1].id &&
                           ((kind == CAT_COL_TAG && type == ST_TYPE_STRING) ||
                            (kind == CAT_COL_FIELD && type >= ST_TYPE_STRING &&
                             type <= ST_TYPE_BOOL)));
        if (!ok || cat__find_column(t, name, nlen)) {
            st_error_set(r->err, ST_ECORRUPT, "bad column \"%.*s\" in table \"%s\"", (int)nlen,
                         name, t->pub.name);
            return -1;
        }
        if (!cat__tnode_add(t, (uint32_t)cid, name, nlen, kind, type)) {
            st_error_set(r->err, ST_ENOMEM, "out of memory");
            return -1;
        }
    }
    if (n_cols == 0) {
        st_error_set(r->err, ST_ECORRUPT, "table \"%s\" has no time column", t->pub.name);
        return -1;
    }
    if (next_col > t->next_col_id)
        t->next_col_id = (uint32_t)next_col;
    t->draft = false;
    return 0;
}

enum st_code
cat_decode(const uint8_t *buf, size_t len, const struct cat_limits *limits,
           struct cat_snapshot **out, struct st_error *err)
{
    return cat_decode_file(NULL, "catalog", buf, len, limits, out, err);
}

static enum st_code decode_body(const uint8_t *p, size_t len, struct cat_snapshot **out,
                                struct st_error *err);

enum st_code
cat_decode_file(const struct crypt_policy *pol, const char *what, const uint8_t *buf, size_t len,
                const struct cat_limits *limits, struct cat_snapshot **out, struct st_error *err)
{
    (void)limits;
    const uint8_t *body;
    size_t blen;
    uint16_t ver, flags;
    uint8_t *owned = NULL;
    ST_TRY(crypt_envelope_open(pol, "catalog", what, CAT_MAGIC, CAT_VERSION, 0, buf, len, &ver,
                               &flags, &body, &blen, &owned, err));
    enum st_code rc = decode_body(body, blen, out, err);
    free(owned);
    return rc;
}

static enum st_code
decode_body(const uint8_t *body, size_t blen, struct cat_snapshot **out, struct st_error *err)
{
    struct rd r = {body, body + blen, err};
    struct cat_snapshot *s = cat__snapshot_new();
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    uint64_t next_db, n_dbs;
    if (get_u(&r, UINT32_MAX, &next_db, "next database id") ||
        get_u(&r, CAT_DECODE_MAX_DBS, &n_dbs, "database count"))
        goto fail;
    for (uint64_t i = 0; i < n_dbs; i++) {
        uint64_t id, next_t, n_t;
        const char *name;
        size_t nlen;
        if (get_u(&r, UINT32_MAX - 1, &id, "database id") ||
            get_name(&r, "database", &name, &nlen) ||
            get_u(&r, UINT32_MAX, &next_t, "next table id") ||
            get_u(&r, CAT_DECODE_MAX_TABLES, &n_t, "table count"))
            goto fail;
        if (cat_snapshot_db_by_id(s, (uint32_t)id) || cat__find_dnode(s, name, nlen)) {
            st_error_set(err, ST_ECORRUPT, "duplicate database \"%.*s\"", (int)nlen, name);
            goto fail;
        }
        struct cat_dnode *d = cat__dnode_new((uint32_t)id, name, nlen);
        if (!d || cat__snapshot_insert(s, d) != 0) {
            cat__dnode_unref(d);
            st_error_set(err, ST_ENOMEM, "out of memory");
            goto fail;
        }
        for (uint64_t j = 0; j < n_t; j++)
            if (decode_table(&r, d) != 0)
                goto fail;
        if (next_t > d->next_table_id)
            d->next_table_id = (uint32_t)next_t;
        d->draft = false;
    }
    if (r.p != r.end) {
        st_error_set(err, ST_ECORRUPT, "trailing bytes in catalog");
        goto fail;
    }
    if (next_db > s->next_db_id)
        s->next_db_id = (uint32_t)next_db;
    *out = s;
    return ST_OK;
fail:
    cat_snapshot_unref(s);
    return err ? err->code : ST_ECORRUPT;
}
