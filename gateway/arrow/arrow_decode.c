/*
 * arrow_decode.c: Arrow IPC messages from the network to Strata's columnar
 * batches (strata/batch.h), for the C client.
 *
 * Every byte is untrusted. The flatbuffer is read through the bounds-checked
 * reader (arrow_fb.c); every buffer of the body is checked to lie inside the
 * body and to be long enough for the row count; string offsets must start at
 * or after 0, never decrease and stay inside the data buffer; a validity
 * bitmap's zero bits must match the declared null count. Allocation is
 * bounded by the input: a column of n rows needs at least n bits of body (or
 * is a Null column, capped by max_rows), and decoded storage is at most 8
 * bytes per row.
 *
 * Values are copied into storage owned by the decoder and converted to
 * Strata's layout: integers of any width to int64/uint64, float32 to double,
 * timestamps of any unit to nanoseconds (overflow is an error), bit-packed
 * booleans to one byte per row, LargeUtf8 offsets to int32, string offsets
 * rebased to start at 0. The storage is reused from batch to batch.
 *
 * Column roles come back from the `iox::column::type` field metadata: tag,
 * timestamp, field::*; anything else is ST_ROLE_NONE.
 */
#include <stdlib.h>
#include <string.h>

#include "arrow_int.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the arrow decoder copies little-endian values directly: port it first"
#endif

struct dfield {
    uint8_t tag;   /* arrow type tag */
    uint8_t width; /* value bytes (INT, FLOAT) or offset bytes (UTF8 4, LARGE_UTF8 8) */
    bool is_signed;
    int64_t ts_mult; /* nanoseconds per unit (TIMESTAMP) */
    uint32_t n_buffers;
};

struct dstore {
    uint8_t *validity;
    size_t validity_cap;
    uint8_t *values; /* int64/uint64/double/bool bytes, or int32 offsets */
    size_t values_cap;
    uint8_t *data;
    size_t data_cap;
};

struct arrow_decoder {
    struct arrow_decoder_limits lim;
    bool have_schema;
    uint32_t n_fields;
    struct st_field *fields; /* names owned */
    struct dfield *src;
    struct st_schema schema;
    uint32_t n_buffers;
    struct st_column *cols;
    struct dstore *store;
    struct st_batch batch;
    bool have_batch;
};

#define CORRUPT(err, ...) st_error_set((err), ST_ECORRUPT, __VA_ARGS__)

/* ---- helpers -------------------------------------------------------------- */

static enum st_code
grow(uint8_t **p, size_t *cap, size_t need, struct st_error *err)
{
    if (need == 0) need = 1;
    if (need <= *cap) return ST_OK;
    uint8_t *np = realloc(*p, need);
    if (!np) return st_error_set(err, ST_ENOMEM, "allocating %zu bytes for an arrow column", need);
    *p = np;
    *cap = need;
    return ST_OK;
}

static int64_t
ld_i64(const uint8_t *p)
{
    return (int64_t)st_load_u64le(p);
}

static void
free_fields(struct st_field *fields, uint32_t n)
{
    for (uint32_t i = 0; fields && i < n; i++)
        free((char *)fields[i].name);
    free(fields);
}

struct arrow_decoder *
arrow_decoder_new(const struct arrow_decoder_limits *limits, struct st_error *err)
{
    struct arrow_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        st_error_set(err, ST_ENOMEM, "allocating arrow decoder");
        return NULL;
    }
    if (limits) d->lim = *limits;
    if (!d->lim.max_columns) d->lim.max_columns = 4096;
    if (!d->lim.max_rows) d->lim.max_rows = 64u << 20;
    if (!d->lim.max_name_len) d->lim.max_name_len = 4096;
    return d;
}

void
arrow_decoder_free(struct arrow_decoder *d)
{
    if (!d) return;
    free_fields(d->fields, d->n_fields);
    free(d->src);
    free(d->cols);
    for (uint32_t i = 0; d->store && i < d->n_fields; i++) {
        free(d->store[i].validity);
        free(d->store[i].values);
        free(d->store[i].data);
    }
    free(d->store);
    free(d);
}

const struct st_schema *
arrow_decoder_schema(const struct arrow_decoder *d)
{
    return d->have_schema ? &d->schema : NULL;
}

const struct st_batch *
arrow_decoder_batch(const struct arrow_decoder *d)
{
    return d->have_batch ? &d->batch : NULL;
}

/* ---- message -------------------------------------------------------------- */

struct msg {
    struct fbr fb;
    struct fbr_table header;
    uint8_t header_type;
    int64_t body_length;
};

static enum st_code
parse_message(const uint8_t *hdr, size_t len, struct msg *m, struct st_error *err)
{
    struct fbr_table root;
    int16_t version;
    bool present;
    m->fb.p = hdr;
    m->fb.len = len;
    if (len == 0) return CORRUPT(err, "empty arrow message header");
    if (fbr_root(&m->fb, &root) != 0)
        return CORRUPT(err, "malformed arrow message: bad root table");
    if (fbr_i16(&root, MSG_VERSION, 0, &version) != 0 ||
        fbr_u8(&root, MSG_HEADER_TYPE, 0, &m->header_type) != 0 ||
        fbr_i64(&root, MSG_BODY_LENGTH, 0, &m->body_length) != 0)
        return CORRUPT(err, "malformed arrow message: bad message fields");
    if (version < ARROW_V4 || version > ARROW_V5)
        return st_error_set(err, ST_EUNSUPPORTED,
                            "arrow metadata version %d is not supported (need V4 or V5)",
                            version + 1);
    if (m->body_length < 0) return CORRUPT(err, "malformed arrow message: negative body length");
    if (fbr_table_field(&root, MSG_HEADER, &m->header, &present) != 0)
        return CORRUPT(err, "malformed arrow message: bad header table");
    if (!present) return CORRUPT(err, "arrow message has no header");
    return ST_OK;
}

/* ---- schema --------------------------------------------------------------- */

static enum st_role
role_of(const char *v, uint32_t len)
{
    static const char tag[] = "iox::column_type::tag";
    static const char ts[] = "iox::column_type::timestamp";
    static const char field[] = "iox::column_type::field::";
    if (len == sizeof tag - 1 && memcmp(v, tag, len) == 0) return ST_ROLE_TAG;
    if (len == sizeof ts - 1 && memcmp(v, ts, len) == 0) return ST_ROLE_TIME;
    if (len > sizeof field - 1 && memcmp(v, field, sizeof field - 1) == 0) return ST_ROLE_FIELD;
    return ST_ROLE_NONE;
}

static const char *
arrow_type_name(uint8_t tag)
{
    static const char *const names[] = {"none",
                                        "null",
                                        "int",
                                        "floating point",
                                        "binary",
                                        "utf8",
                                        "bool",
                                        "decimal",
                                        "date",
                                        "time",
                                        "timestamp",
                                        "interval",
                                        "list",
                                        "struct",
                                        "union",
                                        "fixed size binary",
                                        "fixed size list",
                                        "map",
                                        "duration",
                                        "large binary",
                                        "large utf8",
                                        "large list",
                                        "run end encoded",
                                        "binary view",
                                        "utf8 view",
                                        "list view",
                                        "large list view"};
    return tag < sizeof names / sizeof names[0] ? names[tag] : "unknown";
}

static enum st_code
decode_field(const struct arrow_decoder *d, const struct fbr_table *ft, uint32_t idx,
             struct st_field *out, struct dfield *src, struct st_error *err)
{
    const char *name;
    uint32_t name_len, n;
    uint8_t nullable, tag;
    bool present, has_type;
    size_t vec;
    struct fbr_table type, sub;

    if (fbr_string_field(ft, FIELD_NAME, &name, &name_len, &present) != 0 ||
        fbr_u8(ft, FIELD_NULLABLE, 0, &nullable) != 0 ||
        fbr_u8(ft, FIELD_TYPE_TYPE, 0, &tag) != 0 ||
        fbr_table_field(ft, FIELD_TYPE, &type, &has_type) != 0)
        return CORRUPT(err, "malformed arrow schema: bad field %u", idx);
    if (name_len > d->lim.max_name_len)
        return st_error_set(err, ST_ELIMIT, "arrow field %u has a name of %u bytes (limit %zu)",
                            idx, name_len, d->lim.max_name_len);
    out->name = strndup(name, name_len);
    if (!out->name) return st_error_set(err, ST_ENOMEM, "allocating a column name");
    out->nullable = nullable != 0;
    out->role = ST_ROLE_NONE;

    if (fbr_table_field(ft, FIELD_DICTIONARY, &sub, &present) != 0)
        return CORRUPT(err, "malformed arrow schema: bad dictionary of field \"%s\"", out->name);
    if (present)
        return st_error_set(err, ST_EUNSUPPORTED,
                            "column \"%s\" is dictionary-encoded, which is not supported",
                            out->name);
    if (fbr_vector_field(ft, FIELD_CHILDREN, 4, &vec, &n, &present) != 0)
        return CORRUPT(err, "malformed arrow schema: bad children of field \"%s\"", out->name);
    if (n > 0)
        return st_error_set(err, ST_EUNSUPPORTED,
                            "column \"%s\" has a nested type, which is not supported", out->name);

    if (fbr_vector_field(ft, FIELD_METADATA, 4, &vec, &n, &present) != 0)
        return CORRUPT(err, "malformed arrow schema: bad metadata of field \"%s\"", out->name);
    for (uint32_t i = 0; i < n; i++) {
        struct fbr_table kv;
        const char *k, *v;
        uint32_t kl, vl;
        bool kp, vp;
        if (fbr_vector_table(ft->fb, vec, i, &kv) != 0 ||
            fbr_string_field(&kv, KV_KEY, &k, &kl, &kp) != 0 ||
            fbr_string_field(&kv, KV_VALUE, &v, &vl, &vp) != 0)
            return CORRUPT(err, "malformed arrow schema: bad metadata of field \"%s\"", out->name);
        if (kl == sizeof ARROW_IOX_COLUMN_TYPE - 1 && memcmp(k, ARROW_IOX_COLUMN_TYPE, kl) == 0)
            out->role = role_of(v, vl);
    }

    memset(src, 0, sizeof *src);
    src->tag = tag;
    src->n_buffers = 2;
    if (!has_type && (tag == ARROW_T_INT || tag == ARROW_T_FLOAT || tag == ARROW_T_TIMESTAMP))
        return CORRUPT(err, "arrow field \"%s\" has no type table", out->name);
    switch (tag) {
    case ARROW_T_NULL:
        out->type = ST_TYPE_NULL;
        src->n_buffers = 0;
        break;
    case ARROW_T_INT: {
        int32_t bw;
        uint8_t sgn;
        if (fbr_i32(&type, INT_BITWIDTH, 0, &bw) != 0 || fbr_u8(&type, INT_SIGNED, 0, &sgn) != 0)
            return CORRUPT(err, "malformed arrow schema: bad int type of \"%s\"", out->name);
        if (bw != 8 && bw != 16 && bw != 32 && bw != 64)
            return CORRUPT(err, "arrow field \"%s\" has an int bit width of %d", out->name, bw);
        src->width = (uint8_t)(bw / 8);
        src->is_signed = sgn != 0;
        out->type = sgn ? ST_TYPE_INT : ST_TYPE_UINT;
        break;
    }
    case ARROW_T_FLOAT: {
        int16_t prec;
        if (fbr_i16(&type, FLOAT_PRECISION, 0, &prec) != 0)
            return CORRUPT(err, "malformed arrow schema: bad float type of \"%s\"", out->name);
        if (prec == 1)
            src->width = 4;
        else if (prec == 2)
            src->width = 8;
        else
            return st_error_set(err, ST_EUNSUPPORTED,
                                "column \"%s\" is a half-precision float, which is not supported",
                                out->name);
        out->type = ST_TYPE_FLOAT;
        break;
    }
    case ARROW_T_TIMESTAMP: {
        static const int64_t mult[] = {1000000000, 1000000, 1000, 1};
        int16_t unit;
        if (fbr_i16(&type, TS_UNIT, 0, &unit) != 0)
            return CORRUPT(err, "malformed arrow schema: bad timestamp type of \"%s\"", out->name);
        if (unit < 0 || unit > 3)
            return CORRUPT(err, "arrow field \"%s\" has timestamp unit %d", out->name, unit);
        src->ts_mult = mult[unit];
        src->width = 8;
        out->type = ST_TYPE_TIME;
        break;
    }
    case ARROW_T_UTF8:
    case ARROW_T_LARGE_UTF8:
        src->width = tag == ARROW_T_UTF8 ? 4 : 8;
        src->n_buffers = 3;
        out->type = ST_TYPE_STRING;
        break;
    case ARROW_T_BOOL:
        out->type = ST_TYPE_BOOL;
        break;
    default:
        return st_error_set(err, ST_EUNSUPPORTED,
                            "column \"%s\" has arrow type %s (%u), which is not supported",
                            out->name, arrow_type_name(tag), tag);
    }
    return ST_OK;
}

static enum st_code
decode_schema(struct arrow_decoder *d, const struct msg *m, struct st_error *err)
{
    int16_t endianness;
    size_t vec;
    uint32_t n;
    bool present;
    enum st_code rc = ST_OK;

    if (d->have_schema) return CORRUPT(err, "a second arrow schema message in one stream");
    if (fbr_i16(&m->header, SCHEMA_ENDIANNESS, 0, &endianness) != 0 ||
        fbr_vector_field(&m->header, SCHEMA_FIELDS, 4, &vec, &n, &present) != 0)
        return CORRUPT(err, "malformed arrow schema");
    if (endianness != 0)
        return st_error_set(err, ST_EUNSUPPORTED, "big-endian arrow data is not supported");
    if (!present) return CORRUPT(err, "arrow schema has no fields vector");
    if (n > d->lim.max_columns)
        return st_error_set(err, ST_ELIMIT, "arrow schema has %u columns (limit %u)", n,
                            d->lim.max_columns);

    struct st_field *fields = calloc(n ? n : 1, sizeof *fields);
    struct dfield *src = calloc(n ? n : 1, sizeof *src);
    struct st_column *cols = calloc(n ? n : 1, sizeof *cols);
    struct dstore *store = calloc(n ? n : 1, sizeof *store);
    uint32_t n_buffers = 0;
    if (!fields || !src || !cols || !store) {
        rc = st_error_set(err, ST_ENOMEM, "allocating an arrow schema");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct fbr_table ft;
        if (fbr_vector_table(&m->fb, vec, i, &ft) != 0) {
            rc = CORRUPT(err, "malformed arrow schema: bad field %u", i);
            goto out;
        }
        rc = decode_field(d, &ft, i, &fields[i], &src[i], err);
        if (rc != ST_OK) goto out;
        n_buffers += src[i].n_buffers;
    }
    d->fields = fields;
    d->src = src;
    d->cols = cols;
    d->store = store;
    d->n_fields = n;
    d->n_buffers = n_buffers;
    d->schema.n_fields = n;
    d->schema.fields = fields;
    d->have_schema = true;
    return ST_OK;
out:
    free_fields(fields, n);
    free(src);
    free(cols);
    free(store);
    return rc;
}

/* ---- record batch --------------------------------------------------------- */

struct body {
    const uint8_t *p;
    size_t len;
    const uint8_t *buffers; /* the Buffer structs */
    uint32_t next;          /* next buffer index */
};

/* The next Buffer of the record batch, checked against the body. */
static enum st_code
next_buffer(struct body *b, const char *col, const uint8_t **p, size_t *len, struct st_error *err)
{
    const uint8_t *s = b->buffers + 16 * (size_t)b->next;
    int64_t off = ld_i64(s), n = ld_i64(s + 8);
    if (off < 0 || n < 0 || (uint64_t)off > b->len || (uint64_t)n > b->len - (uint64_t)off)
        return CORRUPT(err,
                       "arrow buffer %u of column \"%s\" (offset %lld, length %lld) is "
                       "outside the %zu-byte body",
                       b->next, col, (long long)off, (long long)n, b->len);
    *p = b->p + off;
    *len = (size_t)n;
    b->next++;
    return ST_OK;
}

static enum st_code
decode_validity(struct dstore *st, struct st_column *col, const char *name, int64_t nc, uint32_t n,
                const uint8_t *p, size_t len, struct st_error *err)
{
    size_t nb = ((size_t)n + 7) / 8;
    col->validity = NULL;
    col->null_count = 0;
    if (nc == 0 || n == 0) return ST_OK;
    if (len == 0) {
        if (nc > 0)
            return CORRUPT(err, "column \"%s\" has %lld nulls but no validity bitmap", name,
                           (long long)nc);
        return ST_OK; /* null count unknown (-1) and no bitmap: no nulls */
    }
    if (len < nb)
        return CORRUPT(err, "validity bitmap of column \"%s\" has %zu bytes, %u rows need %zu",
                       name, len, n, nb);
    ST_TRY(grow(&st->validity, &st->validity_cap, nb, err));
    memcpy(st->validity, p, nb);
    if (n & 7) st->validity[nb - 1] &= (uint8_t)((1u << (n & 7)) - 1);
    int64_t valid = 0;
    for (size_t i = 0; i < nb; i++)
        valid += __builtin_popcount(st->validity[i]);
    int64_t nulls = (int64_t)n - valid;
    if (nc > 0 && nulls != nc)
        return CORRUPT(err, "column \"%s\" declares %lld nulls, its bitmap has %lld", name,
                       (long long)nc, (long long)nulls);
    if (nulls > 0) {
        col->validity = st->validity;
        col->null_count = nulls;
    }
    return ST_OK;
}

static enum st_code
decode_fixed(struct dstore *st, struct st_column *col, const struct dfield *src, const char *name,
             uint32_t n, const uint8_t *p, size_t len, struct st_error *err)
{
    size_t need = (size_t)n * src->width;
    if (len < need)
        return CORRUPT(err, "values of column \"%s\" have %zu bytes, %u rows need %zu", name, len,
                       n, need);
    ST_TRY(grow(&st->values, &st->values_cap, (size_t)n * 8, err));
    uint8_t *dst = st->values;
    col->v.raw = dst;
    if (col->type == ST_TYPE_FLOAT && src->width == 4) {
        double *o = (double *)(void *)dst;
        for (uint32_t i = 0; i < n; i++) {
            float f;
            memcpy(&f, p + 4 * (size_t)i, 4);
            o[i] = f;
        }
        return ST_OK;
    }
    if (src->width == 8) {
        if (n) memcpy(dst, p, need);
    } else {
        int64_t *o = (int64_t *)(void *)dst;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *q = p + (size_t)i * src->width;
            switch (src->width) {
            case 1:
                o[i] = src->is_signed ? (int64_t)(int8_t)q[0] : (int64_t)q[0];
                break;
            case 2: {
                uint16_t u = (uint16_t)(q[0] | q[1] << 8);
                o[i] = src->is_signed ? (int64_t)(int16_t)u : (int64_t)u;
                break;
            }
            default: {
                uint32_t u = st_load_u32le(q);
                o[i] = src->is_signed ? (int64_t)(int32_t)u : (int64_t)u;
                break;
            }
            }
        }
    }
    if (col->type == ST_TYPE_TIME && src->ts_mult != 1) {
        int64_t *o = (int64_t *)(void *)dst;
        for (uint32_t i = 0; i < n; i++) {
            if (!st_column_is_valid(col, i)) {
                o[i] = 0;
                continue;
            }
            if (__builtin_mul_overflow(o[i], src->ts_mult, &o[i]))
                return st_error_set(err, ST_ELIMIT,
                                    "timestamp in row %u of column \"%s\" does not fit in "
                                    "nanoseconds",
                                    i, name);
        }
    }
    return ST_OK;
}

static enum st_code
decode_bool(struct dstore *st, struct st_column *col, const char *name, uint32_t n,
            const uint8_t *p, size_t len, struct st_error *err)
{
    size_t nb = ((size_t)n + 7) / 8;
    if (len < nb)
        return CORRUPT(err, "values of column \"%s\" have %zu bytes, %u booleans need %zu", name,
                       len, n, nb);
    ST_TRY(grow(&st->values, &st->values_cap, n, err));
    for (uint32_t i = 0; i < n; i++)
        st->values[i] = (p[i >> 3] >> (i & 7)) & 1;
    col->v.b = st->values;
    return ST_OK;
}

static enum st_code
decode_string(struct dstore *st, struct st_column *col, const struct dfield *src, const char *name,
              uint32_t n, struct body *b, struct st_error *err)
{
    const uint8_t *op, *dp;
    size_t olen, dlen;
    ST_TRY(next_buffer(b, name, &op, &olen, err));
    ST_TRY(next_buffer(b, name, &dp, &dlen, err));
    ST_TRY(grow(&st->values, &st->values_cap, ((size_t)n + 1) * 4, err));
    int32_t *o = (int32_t *)(void *)st->values;
    col->v.offsets = o;
    if (n == 0 && olen == 0) { /* writers may leave the offsets of an empty column out */
        o[0] = 0;
        col->str_data = "";
        return ST_OK;
    }
    size_t need = ((size_t)n + 1) * src->width;
    if (olen < need)
        return CORRUPT(err, "offsets of column \"%s\" have %zu bytes, %u rows need %zu", name, olen,
                       n, need);
    int64_t first = src->width == 4 ? (int32_t)st_load_u32le(op) : ld_i64(op);
    int64_t prev = first;
    if (first < 0)
        return CORRUPT(err, "offsets of column \"%s\" start at %lld", name, (long long)first);
    for (uint32_t i = 0; i <= n; i++) {
        const uint8_t *q = op + (size_t)i * src->width;
        int64_t v = src->width == 4 ? (int32_t)st_load_u32le(q) : ld_i64(q);
        if (v < prev) return CORRUPT(err, "offsets of column \"%s\" decrease at row %u", name, i);
        if ((uint64_t)v > dlen)
            return CORRUPT(err, "offset %lld of column \"%s\" is past its %zu data bytes",
                           (long long)v, name, dlen);
        if (v - first > INT32_MAX)
            return st_error_set(err, ST_ELIMIT, "column \"%s\" holds more than 2 GiB of strings",
                                name);
        o[i] = (int32_t)(v - first);
        prev = v;
    }
    size_t total = (size_t)o[n];
    ST_TRY(grow(&st->data, &st->data_cap, total, err));
    if (total) memcpy(st->data, dp + first, total);
    col->str_data = (const char *)st->data;
    return ST_OK;
}

static enum st_code
decode_record_batch(struct arrow_decoder *d, const struct msg *m, const uint8_t *body,
                    size_t body_len, struct st_error *err)
{
    int64_t length;
    size_t nodes, bufs;
    uint32_t n_nodes, n_bufs;
    bool has_nodes, has_bufs, present;
    struct fbr_table comp;

    if (!d->have_schema) return CORRUPT(err, "arrow record batch before the schema");
    if (fbr_i64(&m->header, RB_LENGTH, 0, &length) != 0 ||
        fbr_vector_field(&m->header, RB_NODES, 16, &nodes, &n_nodes, &has_nodes) != 0 ||
        fbr_vector_field(&m->header, RB_BUFFERS, 16, &bufs, &n_bufs, &has_bufs) != 0 ||
        fbr_table_field(&m->header, RB_COMPRESSION, &comp, &present) != 0)
        return CORRUPT(err, "malformed arrow record batch");
    if (present)
        return st_error_set(err, ST_EUNSUPPORTED,
                            "compressed arrow record batches are not "
                            "supported");
    if (length < 0) return CORRUPT(err, "arrow record batch has %lld rows", (long long)length);
    if ((uint64_t)length > d->lim.max_rows)
        return st_error_set(err, ST_ELIMIT, "arrow record batch has %lld rows (limit %u)",
                            (long long)length, d->lim.max_rows);
    if (n_nodes != d->n_fields)
        return CORRUPT(err, "arrow record batch has %u field nodes for %u columns", n_nodes,
                       d->n_fields);
    if (n_bufs != d->n_buffers)
        return CORRUPT(err, "arrow record batch has %u buffers, its schema needs %u", n_bufs,
                       d->n_buffers);
    if ((uint64_t)m->body_length > body_len)
        return CORRUPT(err, "arrow message body is %zu bytes, its header says %lld", body_len,
                       (long long)m->body_length);

    uint32_t n = (uint32_t)length;
    struct body b = {body, (size_t)m->body_length, m->fb.p + bufs, 0};
    for (uint32_t c = 0; c < d->n_fields; c++) {
        const struct dfield *src = &d->src[c];
        const char *name = d->fields[c].name;
        struct st_column *col = &d->cols[c];
        struct dstore *st = &d->store[c];
        const uint8_t *node = m->fb.p + nodes + 16 * (size_t)c;
        int64_t node_len = ld_i64(node), nc = ld_i64(node + 8);
        const uint8_t *p;
        size_t len;

        memset(col, 0, sizeof *col);
        col->type = d->fields[c].type;
        if (node_len != length)
            return CORRUPT(err, "column \"%s\" has %lld rows in a batch of %lld", name,
                           (long long)node_len, (long long)length);
        if (nc < -1 || nc > length)
            return CORRUPT(err, "column \"%s\" has a null count of %lld in %lld rows", name,
                           (long long)nc, (long long)length);
        if (src->tag == ARROW_T_NULL) { /* no buffers: every row is null */
            size_t nb = ((size_t)n + 7) / 8;
            ST_TRY(grow(&st->validity, &st->validity_cap, nb, err));
            memset(st->validity, 0, nb);
            col->validity = n ? st->validity : NULL;
            col->null_count = n;
            continue;
        }
        ST_TRY(next_buffer(&b, name, &p, &len, err));
        ST_TRY(decode_validity(st, col, name, nc, n, p, len, err));
        switch (col->type) {
        case ST_TYPE_STRING:
            ST_TRY(decode_string(st, col, src, name, n, &b, err));
            break;
        case ST_TYPE_BOOL:
            ST_TRY(next_buffer(&b, name, &p, &len, err));
            ST_TRY(decode_bool(st, col, name, n, p, len, err));
            break;
        default:
            ST_TRY(next_buffer(&b, name, &p, &len, err));
            ST_TRY(decode_fixed(st, col, src, name, n, p, len, err));
            break;
        }
    }
    d->batch.n_rows = n;
    d->batch.n_cols = d->n_fields;
    d->batch.cols = d->cols;
    d->have_batch = true;
    return ST_OK;
}

/* ---- public --------------------------------------------------------------- */

enum st_code
arrow_decode(struct arrow_decoder *d, const uint8_t *header, size_t header_len, const uint8_t *body,
             size_t body_len, enum arrow_msg_type *type, struct st_error *err)
{
    struct msg m;
    *type = ARROW_MSG_NONE;
    d->have_batch = false;
    ST_TRY(parse_message(header, header_len, &m, err));
    switch (m.header_type) {
    case ARROW_HDR_SCHEMA:
        ST_TRY(decode_schema(d, &m, err));
        *type = ARROW_MSG_SCHEMA;
        return ST_OK;
    case ARROW_HDR_RECORD_BATCH:
        ST_TRY(decode_record_batch(d, &m, body, body_len, err));
        *type = ARROW_MSG_RECORD_BATCH;
        return ST_OK;
    case ARROW_HDR_DICTIONARY_BATCH:
        return st_error_set(err, ST_EUNSUPPORTED, "arrow dictionary batches are not supported");
    default:
        return st_error_set(err, ST_EUNSUPPORTED, "arrow message type %u is not supported",
                            m.header_type);
    }
}

enum st_code
arrow_decode_stream_next(struct arrow_decoder *d, const uint8_t *data, size_t len, size_t *pos,
                         enum arrow_msg_type *type, struct st_error *err)
{
    size_t p = *pos;
    struct msg m;
    *type = ARROW_MSG_NONE;
    if (p > len)
        return st_error_set(err, ST_EINVAL, "stream position %zu is past its end %zu", p, len);
    if (p == len) {
        *type = ARROW_MSG_EOS;
        return ST_OK;
    }
    if (len - p < 4) return CORRUPT(err, "arrow stream truncated at byte %zu", p);
    uint32_t w = st_load_u32le(data + p);
    p += 4;
    if (w == 0xFFFFFFFFu) {
        if (len - p < 4) return CORRUPT(err, "arrow stream truncated at byte %zu", p);
        w = st_load_u32le(data + p);
        p += 4;
    }
    if (w == 0) {
        *pos = p;
        *type = ARROW_MSG_EOS;
        return ST_OK;
    }
    if (w > INT32_MAX || w > len - p)
        return CORRUPT(err, "arrow stream message at byte %zu claims %u header bytes, %zu remain",
                       *pos, w, len - p);
    const uint8_t *hdr = data + p;
    p += w;
    ST_TRY(parse_message(hdr, w, &m, err));
    if ((uint64_t)m.body_length > len - p)
        return CORRUPT(err, "arrow stream message at byte %zu claims a %lld-byte body, %zu remain",
                       *pos, (long long)m.body_length, len - p);
    const uint8_t *body = data + p;
    p += (size_t)m.body_length;
    ST_TRY(arrow_decode(d, hdr, w, body, (size_t)m.body_length, type, err));
    *pos = p;
    return ST_OK;
}
