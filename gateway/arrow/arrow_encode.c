/*
 * arrow_encode.c: result schema and columnar batches (strata/batch.h) to
 * Arrow IPC messages, for the gateway's Flight DoGet and for IPC files.
 *
 * Schema message: Message{version V5, header Schema{fields}}; each Field has
 * its name, nullable flag, type (always with its type table, even an empty
 * one), an empty children vector and, for columns that come from a table,
 * the metadata `iox::column::type` = `iox::column_type::<tag|timestamp|
 * field::float|field::integer|field::uinteger|field::string|field::boolean>`.
 * Types: TIME -> Timestamp(NANOSECOND, no zone); STRING -> Utf8; FLOAT ->
 * FloatingPoint(DOUBLE); INT -> Int(64, signed); UINT -> Int(64, unsigned);
 * BOOL -> Bool; NULL -> Null. Every non-default scalar is written explicitly.
 *
 * RecordBatch message: Message{version V5, header RecordBatch{length, nodes,
 * buffers}, bodyLength}. One FieldNode per column (rows, nulls); buffers per
 * column: validity (length 0 when the slice has no nulls), then values
 * (8 bytes each), bit-packed booleans, or int32 offsets + UTF-8 bytes. Every
 * buffer starts at an 8-aligned body offset and is zero-padded to 8.
 *
 * Splitting: the header of a RecordBatch message has the same length for
 * every batch of a schema (all its scalars are fixed-width), so the size of a
 * FlightData for rows [lo, hi) is known from the body size, which is computed
 * from the row count and, for strings, from two offsets. The encoder takes
 * the longest run of rows whose FlightData fits the target (binary search),
 * counting a validity bitmap for every column that has one, which can only
 * overestimate. A row too big for the target goes alone if it fits the hard
 * maximum.
 */
#include <stdlib.h>
#include <string.h>

#include "arrow_int.h"

struct enc_field {
    char *name;
    enum st_type type;
    enum st_role role;
    bool nullable;
};

struct arrow_encoder {
    struct enc_field *fields;
    uint32_t n_fields;
    struct arrow_kv *md; /* owned copies */
    uint32_t n_md;
    size_t target_bytes;
    size_t max_bytes;
    size_t rb_header_len; /* header length of every RecordBatch message */
    uint32_t n_buffers;   /* buffers per RecordBatch */
    int64_t (*nodes)[2];
    int64_t (*buffers)[2];
    struct st_buf header;
    struct st_buf body;
    /* the batch being encoded */
    const struct st_batch *batch;
    uint32_t next_row;
    bool active;
    /* arrow_encode_empty's batch (flat encoders) */
    struct st_column *empty_cols;
    struct st_batch empty;
    /* bytes kept free in front of every body, for arrow_flightdata_take's framing */
    size_t headroom;
    /* the caller's body allocator (opts.body_alloc), or NULL */
    void *(*body_alloc)(void *ctx, size_t need, size_t *cap);
    void *body_alloc_ctx;
    /* nested encoders (arrow_nested.c): the rows of the current batch */
    struct arrow_nested *nested;
    int64_t nested_rows, nested_next;
};

static uint32_t
buffers_of(enum st_type t)
{
    switch (t) {
    case ST_TYPE_NULL:
        return 0;
    case ST_TYPE_STRING:
        return 3;
    default:
        return 2;
    }
}

static const char *
iox_column_type(enum st_role role, enum st_type type)
{
    switch (role) {
    case ST_ROLE_TIME:
        return "iox::column_type::timestamp";
    case ST_ROLE_TAG:
        return "iox::column_type::tag";
    case ST_ROLE_FIELD:
        switch (type) {
        case ST_TYPE_FLOAT:
            return "iox::column_type::field::float";
        case ST_TYPE_INT:
            return "iox::column_type::field::integer";
        case ST_TYPE_UINT:
            return "iox::column_type::field::uinteger";
        case ST_TYPE_STRING:
            return "iox::column_type::field::string";
        case ST_TYPE_BOOL:
            return "iox::column_type::field::boolean";
        default:
            return NULL;
        }
    case ST_ROLE_NONE:
        break;
    }
    return NULL;
}

static size_t
pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* ---- messages ------------------------------------------------------------- */

enum st_code
arrow__fb_done(struct fbw *w, struct st_error *err)
{
    fbw_pad(w, 8, 0);
    if (w->rc != ST_OK)
        return st_error_set(err, w->rc, "encoding arrow message: %s", st_strerror(w->rc));
    return ST_OK;
}

size_t
arrow__write_message(struct fbw *w, uint8_t header_type, int64_t body_len)
{
    size_t root = fbw_root(w);
    struct fbw_field f[] = {
        {MSG_VERSION, FBW_I16, ARROW_V5, 0},
        {MSG_HEADER_TYPE, FBW_U8, header_type, 0},
        {MSG_HEADER, FBW_OFFSET, 0, 0},
        {MSG_BODY_LENGTH, FBW_I64, (uint64_t)body_len, 0},
    };
    size_t t = fbw_table(w, f, 4);
    fbw_patch(w, root, t);
    return f[2].pos;
}

void
arrow__write_kv_vector(struct fbw *w, size_t slot, const struct arrow_kv *kv, uint32_t n)
{
    size_t vec = fbw_offset_vector(w, n);
    fbw_patch(w, slot, vec);
    for (uint32_t i = 0; i < n; i++) {
        struct fbw_field f[] = {{KV_KEY, FBW_OFFSET, 0, 0}, {KV_VALUE, FBW_OFFSET, 0, 0}};
        size_t t = fbw_table(w, f, 2);
        fbw_patch(w, vec + 4 + 4 * (size_t)i, t);
        fbw_patch(w, f[0].pos, fbw_string(w, kv[i].key, strlen(kv[i].key)));
        fbw_patch(w, f[1].pos, fbw_string(w, kv[i].value, strlen(kv[i].value)));
    }
}

static uint8_t
type_tag(enum st_type t)
{
    switch (t) {
    case ST_TYPE_NULL:
        return ARROW_T_NULL;
    case ST_TYPE_TIME:
        return ARROW_T_TIMESTAMP;
    case ST_TYPE_STRING:
        return ARROW_T_UTF8;
    case ST_TYPE_FLOAT:
        return ARROW_T_FLOAT;
    case ST_TYPE_INT:
    case ST_TYPE_UINT:
        return ARROW_T_INT;
    case ST_TYPE_BOOL:
        return ARROW_T_BOOL;
    }
    return ARROW_T_NONE;
}

/* The type table of a field; every non-default value written explicitly. */
static size_t
write_type(struct fbw *w, enum st_type t)
{
    switch (t) {
    case ST_TYPE_TIME: {
        struct fbw_field f[] = {{TS_UNIT, FBW_I16, 3 /* NANOSECOND */, 0}};
        return fbw_table(w, f, 1);
    }
    case ST_TYPE_FLOAT: {
        struct fbw_field f[] = {{FLOAT_PRECISION, FBW_I16, 2 /* DOUBLE */, 0}};
        return fbw_table(w, f, 1);
    }
    case ST_TYPE_INT:
    case ST_TYPE_UINT: {
        struct fbw_field f[] = {{INT_BITWIDTH, FBW_I32, 64, 0},
                                {INT_SIGNED, FBW_U8, t == ST_TYPE_INT, 0}};
        return fbw_table(w, f, 2);
    }
    default: /* Utf8, Bool, Null: empty tables, still present (Arrow C++ needs them) */
        return fbw_table(w, NULL, 0);
    }
}

enum st_code
arrow_encode_schema(struct arrow_encoder *enc, struct arrow_msg *out, struct st_error *err)
{
    if (enc->nested) {
        ST_TRY(arrow__nested_schema(enc->nested, &enc->header, enc->md, enc->n_md, err));
        *out = (struct arrow_msg){.header = enc->header.data, .header_len = enc->header.len};
        return ST_OK;
    }
    struct fbw w;
    st_buf_reset(&enc->header);
    fbw_init(&w, &enc->header);
    size_t hdr = arrow__write_message(&w, ARROW_HDR_SCHEMA, 0);

    struct fbw_field sf[] = {{SCHEMA_FIELDS, FBW_OFFSET, 0, 0},
                             {SCHEMA_METADATA, FBW_OFFSET, 0, 0}};
    size_t schema = fbw_table(&w, sf, enc->n_md ? 2 : 1);
    fbw_patch(&w, hdr, schema);
    size_t vec = fbw_offset_vector(&w, enc->n_fields);
    fbw_patch(&w, sf[0].pos, vec);

    for (uint32_t i = 0; i < enc->n_fields; i++) {
        const struct enc_field *fd = &enc->fields[i];
        const char *iox = iox_column_type(fd->role, fd->type);
        struct fbw_field ff[] = {
            {FIELD_NAME, FBW_OFFSET, 0, 0},
            {FIELD_NULLABLE, FBW_U8, fd->nullable, 0},
            {FIELD_TYPE_TYPE, FBW_U8, type_tag(fd->type), 0},
            {FIELD_TYPE, FBW_OFFSET, 0, 0},
            {FIELD_CHILDREN, FBW_OFFSET, 0, 0},
            {FIELD_METADATA, FBW_OFFSET, 0, 0},
        };
        size_t t = fbw_table(&w, ff, iox ? 6 : 5);
        fbw_patch(&w, vec + 4 + 4 * (size_t)i, t);
        fbw_patch(&w, ff[0].pos, fbw_string(&w, fd->name, strlen(fd->name)));
        fbw_patch(&w, ff[3].pos, write_type(&w, fd->type));
        fbw_patch(&w, ff[4].pos, fbw_offset_vector(&w, 0));
        if (iox) {
            struct arrow_kv kv = {ARROW_IOX_COLUMN_TYPE, iox};
            arrow__write_kv_vector(&w, ff[5].pos, &kv, 1);
        }
    }
    if (enc->n_md) arrow__write_kv_vector(&w, sf[1].pos, enc->md, enc->n_md);
    ST_TRY(arrow__fb_done(&w, err));
    out->header = enc->header.data;
    out->header_len = enc->header.len;
    out->body = NULL;
    out->body_len = 0;
    out->n_rows = 0;
    return ST_OK;
}

/* The RecordBatch header for the nodes and buffers in enc, into enc->header. */
static enum st_code
write_record_batch_header(struct arrow_encoder *enc, uint32_t n_rows, size_t body_len,
                          struct st_error *err)
{
    struct fbw w;
    st_buf_reset(&enc->header);
    fbw_init(&w, &enc->header);
    size_t hdr = arrow__write_message(&w, ARROW_HDR_RECORD_BATCH, (int64_t)body_len);
    struct fbw_field f[] = {
        {RB_LENGTH, FBW_I64, n_rows, 0},
        {RB_NODES, FBW_OFFSET, 0, 0},
        {RB_BUFFERS, FBW_OFFSET, 0, 0},
    };
    size_t t = fbw_table(&w, f, 3);
    fbw_patch(&w, hdr, t);
    fbw_patch(&w, f[1].pos, fbw_struct16_vector(&w, enc->nodes, enc->n_fields));
    fbw_patch(&w, f[2].pos, fbw_struct16_vector(&w, enc->buffers, enc->n_buffers));
    return arrow__fb_done(&w, err);
}

/* ---- bodies --------------------------------------------------------------- */

int64_t
arrow__count_valid(const uint8_t *bm, uint64_t lo, uint64_t hi)
{
    int64_t c = 0;
    uint64_t i = lo;
    while (i < hi && (i & 7)) {
        c += (bm[i >> 3] >> (i & 7)) & 1;
        i++;
    }
    while (hi - i >= 8) {
        c += __builtin_popcount(bm[i >> 3]);
        i += 8;
    }
    while (i < hi) {
        c += (bm[i >> 3] >> (i & 7)) & 1;
        i++;
    }
    return c;
}

void
arrow__copy_bits(uint8_t *dst, const uint8_t *src, size_t src_bytes, uint64_t lo, uint64_t n)
{
    size_t nb = ((size_t)n + 7) / 8;
    unsigned s = lo & 7;
    size_t k0 = lo >> 3;
    if (s == 0) {
        memcpy(dst, src + k0, nb);
    } else {
        for (size_t j = 0; j < nb; j++) {
            size_t k = k0 + j;
            uint8_t a = (uint8_t)(src[k] >> s);
            uint8_t b = k + 1 < src_bytes ? (uint8_t)(src[k + 1] << (8 - s)) : 0;
            dst[j] = a | b;
        }
    }
    if (n & 7) dst[nb - 1] &= (uint8_t)((1u << (n & 7)) - 1);
}

/* Append a buffer of `len` bytes (copied from p, or zeroed when p is NULL),
 * record it, pad to 8; returns where its bytes are. */
static uint8_t *
add_buffer(struct arrow_encoder *enc, uint32_t *bi, const void *p, size_t len, enum st_code *rc)
{
    size_t at = enc->body.len;
    enc->buffers[*bi][0] = (int64_t)(at - enc->headroom); /* offsets count from the body */
    enc->buffers[*bi][1] = (int64_t)len;
    (*bi)++;
    if (*rc != ST_OK) return NULL;
    size_t padded = pad8(len);
    if (padded == 0) return NULL; /* an empty buffer: only its offset matters */
    *rc = st_buf_reserve(&enc->body, padded);
    if (*rc != ST_OK) return NULL;
    uint8_t *dst = enc->body.data + at;
    if (p && len)
        memcpy(dst, p, len);
    else if (len)
        memset(dst, 0, len);
    memset(dst + len, 0, padded - len);
    enc->body.len += padded;
    return dst;
}

static size_t
string_bytes(const struct st_column *c, uint32_t lo, uint32_t hi)
{
    int64_t d = (int64_t)c->v.offsets[hi] - (int64_t)c->v.offsets[lo];
    return d > 0 ? (size_t)d : 0;
}

/* Upper bound of the body size of rows [lo, hi) (exact when every column
 * with a validity bitmap has a null in the range). */
static size_t
body_bound(const struct arrow_encoder *enc, uint32_t lo, uint32_t hi)
{
    const struct st_batch *b = enc->batch;
    size_t n = hi - lo, sum = 0;
    for (uint32_t c = 0; c < b->n_cols; c++) {
        const struct st_column *col = &b->cols[c];
        if (col->type == ST_TYPE_NULL) continue;
        if (col->validity && col->null_count > 0) sum += pad8((n + 7) / 8);
        switch (col->type) {
        case ST_TYPE_BOOL:
            sum += pad8((n + 7) / 8);
            break;
        case ST_TYPE_STRING:
            sum += pad8((n + 1) * 4) + pad8(string_bytes(col, lo, hi));
            break;
        default:
            sum += n * 8;
            break;
        }
    }
    return sum;
}

static enum st_code
encode_rows(struct arrow_encoder *enc, uint32_t lo, uint32_t hi, struct st_error *err)
{
    const struct st_batch *b = enc->batch;
    uint32_t n = hi - lo, bi = 0;
    size_t bm_bytes = ((size_t)n + 7) / 8;
    size_t src_bm_bytes = ((size_t)b->n_rows + 7) / 8;
    /* One allocation per message: the headroom and the body's upper bound (from the
     * caller's allocator when it has one and the last body was taken). */
    size_t need = enc->headroom + body_bound(enc, lo, hi);
    st_buf_reset(&enc->body);
    if (!enc->body.data && enc->body_alloc) {
        size_t cap = 0;
        uint8_t *p = enc->body_alloc(enc->body_alloc_ctx, need, &cap);
        if (p && cap >= need) {
            enc->body.data = p;
            enc->body.cap = cap;
        } else {
            free(p);
        }
    }
    enum st_code rc = st_buf_reserve(&enc->body, need);
    if (rc == ST_OK) enc->body.len = enc->headroom;
    for (uint32_t c = 0; c < b->n_cols; c++) {
        const struct st_column *col = &b->cols[c];
        int64_t nulls = 0;
        if (col->type == ST_TYPE_NULL)
            nulls = n;
        else if (col->validity && col->null_count > 0)
            nulls = (int64_t)n - arrow__count_valid(col->validity, lo, hi);
        enc->nodes[c][0] = n;
        enc->nodes[c][1] = nulls;
        if (col->type == ST_TYPE_NULL) continue;
        if (nulls > 0) {
            uint8_t *dst = add_buffer(enc, &bi, NULL, bm_bytes, &rc);
            if (dst) arrow__copy_bits(dst, col->validity, src_bm_bytes, lo, n);
        } else {
            add_buffer(enc, &bi, NULL, 0, &rc);
        }
        switch (col->type) {
        case ST_TYPE_BOOL: {
            uint8_t *dst = add_buffer(enc, &bi, NULL, bm_bytes, &rc);
            if (dst)
                for (uint32_t i = 0; i < n; i++)
                    if (col->v.b[lo + i]) dst[i >> 3] |= (uint8_t)(1u << (i & 7));
            break;
        }
        case ST_TYPE_STRING: {
            int32_t base = col->v.offsets[lo];
            uint8_t *dst = add_buffer(enc, &bi, NULL, ((size_t)n + 1) * 4, &rc);
            if (dst)
                for (uint32_t i = 0; i <= n; i++)
                    st_store_u32le(dst + 4 * (size_t)i, (uint32_t)(col->v.offsets[lo + i] - base));
            size_t len = string_bytes(col, lo, hi);
            add_buffer(enc, &bi, len ? col->str_data + base : NULL, len, &rc);
            break;
        }
        default:
            add_buffer(enc, &bi, n ? (const uint8_t *)col->v.raw + (size_t)lo * 8 : NULL,
                       (size_t)n * 8, &rc);
            break;
        }
    }
    if (rc != ST_OK)
        return st_error_set(err, rc, "encoding arrow record batch: %s", st_strerror(rc));
    return write_record_batch_header(enc, n, enc->body.len - enc->headroom, err);
}

/* ---- public --------------------------------------------------------------- */

static enum st_code
check_schema_type(enum st_type t, const char *name, struct st_error *err)
{
    switch (t) {
    case ST_TYPE_NULL:
    case ST_TYPE_TIME:
    case ST_TYPE_STRING:
    case ST_TYPE_FLOAT:
    case ST_TYPE_INT:
    case ST_TYPE_UINT:
    case ST_TYPE_BOOL:
        return ST_OK;
    }
    return st_error_set(err, ST_EINVAL, "column \"%s\" has unknown type %d", name, (int)t);
}

/* The parts of an encoder both kinds share: budgets, buffers, schema metadata. */
static struct arrow_encoder *
encoder_alloc(const struct arrow_encoder_opts *opts, struct st_error *err)
{
    struct arrow_encoder *enc = calloc(1, sizeof *enc);
    if (!enc) {
        st_error_set(err, ST_ENOMEM, "allocating arrow encoder");
        return NULL;
    }
    enc->body_alloc = opts ? opts->body_alloc : NULL;
    enc->body_alloc_ctx = opts ? opts->body_alloc_ctx : NULL;
    enc->target_bytes = opts && opts->target_bytes ? opts->target_bytes : ARROW_FLIGHT_TARGET_BYTES;
    enc->max_bytes = opts && opts->max_bytes ? opts->max_bytes : ARROW_FLIGHT_MAX_BYTES;
    if (enc->max_bytes < enc->target_bytes) enc->max_bytes = enc->target_bytes;
    st_buf_init(&enc->header, SIZE_MAX); /* bounded by the schema's size */
    st_buf_init(&enc->body, SIZE_MAX);   /* bounded by max_bytes through splitting */
    if (opts && opts->n_schema_metadata) {
        enc->md = calloc(opts->n_schema_metadata, sizeof *enc->md);
        if (!enc->md) goto nomem;
        for (uint32_t i = 0; i < opts->n_schema_metadata; i++) {
            enc->n_md = i + 1;
            enc->md[i].key = strdup(opts->schema_metadata[i].key);
            enc->md[i].value = strdup(opts->schema_metadata[i].value);
            if (!enc->md[i].key || !enc->md[i].value) goto nomem;
        }
    }
    return enc;
nomem:
    st_error_set(err, ST_ENOMEM, "allocating arrow encoder");
    arrow_encoder_free(enc);
    return NULL;
}

/* Every RecordBatch header of the schema has rb_header_len bytes: it must fit the budget.
 * Sets the headroom: the largest FlightData framing in front of a body (field 2's tag,
 * length and the header, field 1000's tag and a length of up to 5 varint bytes), rounded
 * to 8 so that bodies start 8-aligned in memory too. */
static enum st_code
check_header_budget(struct arrow_encoder *enc, struct st_error *err)
{
    enc->headroom = (arrow__flightdata_size(enc->rb_header_len, 0, false, 0) + 2 + 5 + 7) &
                    ~(size_t)7;
    if (arrow__flightdata_size(enc->rb_header_len, 0, false, 0) > enc->target_bytes)
        return st_error_set(err, ST_ELIMIT,
                            "arrow record batch header of %zu bytes exceeds the "
                            "message budget of %zu bytes",
                            enc->rb_header_len, enc->target_bytes);
    return ST_OK;
}

struct arrow_encoder *
arrow_encoder_new(const struct st_schema *schema, const struct arrow_encoder_opts *opts,
                  struct st_error *err)
{
    struct arrow_encoder *enc = encoder_alloc(opts, err);
    if (!enc) return NULL;
    enc->n_fields = schema->n_fields;
    enc->fields = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *enc->fields);
    enc->nodes = calloc(schema->n_fields ? schema->n_fields : 1, sizeof *enc->nodes);
    if (!enc->fields || !enc->nodes) goto nomem;
    for (uint32_t i = 0; i < schema->n_fields; i++) {
        const struct st_field *f = &schema->fields[i];
        const char *name = f->name ? f->name : "";
        if (check_schema_type(f->type, name, err) != ST_OK) goto fail;
        enc->fields[i].name = strdup(name);
        if (!enc->fields[i].name) goto nomem;
        enc->fields[i].type = f->type;
        enc->fields[i].role = f->role;
        enc->fields[i].nullable = f->nullable;
        enc->n_buffers += buffers_of(f->type);
    }
    enc->buffers = calloc(enc->n_buffers ? enc->n_buffers : 1, sizeof *enc->buffers);
    if (!enc->buffers) goto nomem;
    /* Every RecordBatch header of this schema has this length. */
    if (write_record_batch_header(enc, 0, 0, err) != ST_OK) goto fail;
    enc->rb_header_len = enc->header.len;
    if (check_header_budget(enc, err) != ST_OK) goto fail;
    return enc;
nomem:
    st_error_set(err, ST_ENOMEM, "allocating arrow encoder");
fail:
    arrow_encoder_free(enc);
    return NULL;
}

struct arrow_encoder *
arrow_encoder_new_nested(const struct arrow_type *fields, uint32_t n_fields,
                         const struct arrow_encoder_opts *opts, struct st_error *err)
{
    struct arrow_encoder *enc = encoder_alloc(opts, err);
    if (!enc) return NULL;
    enc->nested = arrow__nested_new(fields, n_fields, err);
    if (!enc->nested ||
        arrow__nested_header_len(enc->nested, &enc->header, &enc->rb_header_len, err) != ST_OK ||
        check_header_budget(enc, err) != ST_OK) {
        arrow_encoder_free(enc);
        return NULL;
    }
    return enc;
}

void
arrow_encoder_free(struct arrow_encoder *enc)
{
    if (!enc) return;
    for (uint32_t i = 0; enc->fields && i < enc->n_fields; i++)
        free(enc->fields[i].name);
    for (uint32_t i = 0; i < enc->n_md; i++) {
        free((char *)enc->md[i].key);
        free((char *)enc->md[i].value);
    }
    free(enc->md);
    free(enc->empty_cols);
    arrow__nested_free(enc->nested);
    free(enc->fields);
    free(enc->nodes);
    free(enc->buffers);
    st_buf_cleanup(&enc->header);
    st_buf_cleanup(&enc->body);
    free(enc);
}

enum st_code
arrow_encode_batch(struct arrow_encoder *enc, const struct st_batch *batch, struct st_error *err)
{
    enc->active = false;
    if (enc->nested)
        return st_error_set(err, ST_EINVAL, "a nested arrow encoder takes arrow_encode_arrays");
    if (batch->n_cols != enc->n_fields)
        return st_error_set(err, ST_EINVAL, "batch has %u columns, schema has %u", batch->n_cols,
                            enc->n_fields);
    for (uint32_t c = 0; c < batch->n_cols; c++)
        if (batch->cols[c].type != enc->fields[c].type)
            return st_error_set(err, ST_EINVAL,
                                "column \"%s\" is %s in the batch, %s in the schema",
                                enc->fields[c].name, st_type_name(batch->cols[c].type),
                                st_type_name(enc->fields[c].type));
    enc->batch = batch;
    enc->next_row = 0;
    enc->active = true;
    return ST_OK;
}

enum st_code
arrow_encode_arrays(struct arrow_encoder *enc, const struct arrow_array *cols, int64_t n_rows,
                    struct st_error *err)
{
    enc->active = false;
    if (!enc->nested)
        return st_error_set(err, ST_EINVAL, "a flat arrow encoder takes arrow_encode_batch");
    if (!cols) return st_error_set(err, ST_EINVAL, "arrow_encode_arrays without arrays");
    ST_TRY(arrow__nested_begin(enc->nested, cols, n_rows, err));
    enc->nested_rows = n_rows;
    enc->nested_next = 0;
    enc->active = true;
    return ST_OK;
}

enum st_code
arrow_encode_empty(struct arrow_encoder *enc, struct st_error *err)
{
    static const int32_t zero_offset[1] = {0};
    static const uint64_t zero_value[1] = {0};
    enc->active = false;
    if (enc->nested) {
        ST_TRY(arrow__nested_begin(enc->nested, NULL, 0, err));
        enc->nested_rows = 0;
        enc->nested_next = 0;
        enc->active = true;
        return ST_OK;
    }
    if (!enc->empty_cols) {
        enc->empty_cols = calloc(enc->n_fields ? enc->n_fields : 1, sizeof *enc->empty_cols);
        if (!enc->empty_cols) return st_error_set(err, ST_ENOMEM, "allocating arrow encoder");
        for (uint32_t i = 0; i < enc->n_fields; i++) {
            struct st_column *c = &enc->empty_cols[i];
            c->type = enc->fields[i].type;
            if (c->type == ST_TYPE_STRING) {
                c->v.offsets = zero_offset;
                c->str_data = "";
            } else {
                c->v.raw = zero_value;
            }
        }
        enc->empty = (struct st_batch){0, enc->n_fields, enc->empty_cols};
    }
    return arrow_encode_batch(enc, &enc->empty, err);
}

static bool
nested_fits(struct arrow_encoder *enc, int64_t lo, int64_t hi, size_t budget)
{
    size_t body = arrow__nested_body_len(enc->nested, lo, hi);
    return arrow__flightdata_size(enc->rb_header_len, body, false, 0) <= budget;
}

/* arrow_encode_next of a nested encoder: the longest run of top-level rows that fits. */
static enum st_code
nested_next(struct arrow_encoder *enc, struct arrow_msg *out, bool *got, struct st_error *err)
{
    int64_t lo = enc->nested_next, end = enc->nested_rows, hi;
    if (end == 0) {
        hi = 0;
    } else if (nested_fits(enc, lo, end, enc->target_bytes)) {
        hi = end;
    } else {
        int64_t good = lo, bad = end;
        while (bad - good > 1) {
            int64_t mid = good + (bad - good) / 2;
            if (nested_fits(enc, lo, mid, enc->target_bytes))
                good = mid;
            else
                bad = mid;
        }
        hi = good;
        if (hi == lo) {
            if (!nested_fits(enc, lo, lo + 1, enc->max_bytes))
                return st_error_set(err, ST_ELIMIT,
                                    "row %lld needs more than %zu bytes in one arrow message",
                                    (long long)lo, enc->max_bytes);
            hi = lo + 1;
        }
    }
    ST_TRY(arrow__nested_encode(enc->nested, lo, hi, enc->headroom, &enc->header, &enc->body,
                                err));
    if (enc->header.len != enc->rb_header_len)
        return st_error_set(err, ST_EINTERNAL, "arrow record batch header length changed");
    enc->nested_next = hi;
    if (hi >= end) enc->active = false;
    out->header = enc->header.data;
    out->header_len = enc->header.len;
    out->body = enc->body.data + enc->headroom;
    out->body_len = enc->body.len - enc->headroom;
    out->n_rows = (uint32_t)(hi - lo);
    *got = true;
    return ST_OK;
}

static bool
fits(const struct arrow_encoder *enc, uint32_t lo, uint32_t hi, size_t budget)
{
    return arrow__flightdata_size(enc->rb_header_len, body_bound(enc, lo, hi), false, 0) <= budget;
}

enum st_code
arrow_encode_next(struct arrow_encoder *enc, struct arrow_msg *out, bool *got, struct st_error *err)
{
    *got = false;
    if (!enc->active) return ST_OK;
    if (enc->nested) return nested_next(enc, out, got, err);
    const struct st_batch *b = enc->batch;
    uint32_t lo = enc->next_row, hi;
    if (b->n_rows == 0) {
        hi = 0;
    } else if (fits(enc, lo, b->n_rows, enc->target_bytes)) {
        hi = b->n_rows;
    } else {
        /* the longest run that fits: lo..good fits, lo..bad does not */
        uint32_t good = lo, bad = b->n_rows;
        while (bad - good > 1) {
            uint32_t mid = good + (bad - good) / 2;
            if (fits(enc, lo, mid, enc->target_bytes))
                good = mid;
            else
                bad = mid;
        }
        hi = good;
        if (hi == lo) {
            if (!fits(enc, lo, lo + 1, enc->max_bytes))
                return st_error_set(err, ST_ELIMIT,
                                    "row %u needs more than %zu bytes in one arrow message", lo,
                                    enc->max_bytes);
            hi = lo + 1;
        }
    }
    ST_TRY(encode_rows(enc, lo, hi, err));
    if (enc->header.len != enc->rb_header_len)
        return st_error_set(err, ST_EINTERNAL, "arrow record batch header length changed");
    enc->next_row = hi;
    if (hi >= b->n_rows) enc->active = false;
    out->header = enc->header.data;
    out->header_len = enc->header.len;
    out->body = enc->body.data + enc->headroom;
    out->body_len = enc->body.len - enc->headroom;
    out->n_rows = hi - lo;
    *got = true;
    return ST_OK;
}

enum st_code
arrow_flightdata_take(struct arrow_encoder *enc, const struct arrow_msg *m, uint8_t **base,
                      size_t *off, size_t *len, struct st_error *err)
{
    if (!enc->body.data || m->body != enc->body.data + enc->headroom ||
        m->header != enc->header.data || m->header_len != enc->rb_header_len ||
        m->body_len != enc->body.len - enc->headroom)
        return st_error_set(err, ST_EINVAL,
                            "arrow_flightdata_take needs the record batch arrow_encode_next "
                            "returned last");
    size_t prefix = arrow__flightdata_size(m->header_len, m->body_len, false, 0) - m->body_len;
    if (prefix > enc->headroom)
        return st_error_set(err, ST_EINTERNAL, "arrow framing of %zu bytes exceeds the headroom",
                            prefix);
    size_t at = enc->headroom - prefix;
    struct st_buf w = {.data = enc->body.data + at, .len = 0, .cap = prefix, .max = prefix};
    enum st_code rc = st_buf_append_byte(&w, 0x12);
    if (rc == ST_OK) rc = st_buf_put_uvarint(&w, m->header_len);
    if (rc == ST_OK) rc = st_buf_append(&w, m->header, m->header_len);
    if (rc == ST_OK && m->body_len) rc = st_buf_append(&w, "\xc2\x3e", 2);
    if (rc == ST_OK && m->body_len) rc = st_buf_put_uvarint(&w, m->body_len);
    if (rc != ST_OK || w.len != prefix || w.data != enc->body.data + at)
        return st_error_set(err, ST_EINTERNAL, "arrow framing did not fit its headroom");
    *base = enc->body.data;
    *off = at;
    *len = prefix + m->body_len;
    st_buf_init(&enc->body, SIZE_MAX); /* the caller owns the bytes now */
    return ST_OK;
}
