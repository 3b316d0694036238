/*
 * arrow_int.h: internals of the Arrow IPC module (gateway/arrow), shared by
 * its files and its unit tests, unreachable from other modules.
 *
 * Two small flatbuffer tools live here: a forward (front-to-back) writer
 * whose every offset points forward, and a reader that checks every offset,
 * length and count against the buffer before it touches a byte. Both work on
 * positions relative to the start of the flatbuffer, which the IPC framing
 * keeps 8-aligned.
 */
#ifndef STRATA_ARROW_INT_H
#define STRATA_ARROW_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/arrow_ipc.h"
#include "strata/buf.h"

/* ---- Arrow flatbuffer schema constants (format/Message.fbs, Schema.fbs) ---- */

enum {
    ARROW_V4 = 3, /* MetadataVersion: V1 = 0 ... V4 = 3, V5 = 4 */
    ARROW_V5 = 4,
};

enum arrow_header_type {
    ARROW_HDR_NONE = 0,
    ARROW_HDR_SCHEMA = 1,
    ARROW_HDR_DICTIONARY_BATCH = 2,
    ARROW_HDR_RECORD_BATCH = 3,
};

enum arrow_type_tag {
    ARROW_T_NONE = 0,
    ARROW_T_NULL = 1,
    ARROW_T_INT = 2,
    ARROW_T_FLOAT = 3,
    ARROW_T_BINARY = 4,
    ARROW_T_UTF8 = 5,
    ARROW_T_BOOL = 6,
    ARROW_T_TIMESTAMP = 10,
    ARROW_T_LIST = 12,
    ARROW_T_STRUCT = 13,
    ARROW_T_UNION = 14,
    ARROW_T_MAP = 17,
    ARROW_T_LARGE_UTF8 = 20,
};

/* Table slots (flatbuffer field ids). */
enum {
    MSG_VERSION = 0,
    MSG_HEADER_TYPE = 1,
    MSG_HEADER = 2,
    MSG_BODY_LENGTH = 3,
    SCHEMA_ENDIANNESS = 0,
    SCHEMA_FIELDS = 1,
    SCHEMA_METADATA = 2,
    FIELD_NAME = 0,
    FIELD_NULLABLE = 1,
    FIELD_TYPE_TYPE = 2,
    FIELD_TYPE = 3,
    FIELD_DICTIONARY = 4,
    FIELD_CHILDREN = 5,
    FIELD_METADATA = 6,
    KV_KEY = 0,
    KV_VALUE = 1,
    INT_BITWIDTH = 0,
    INT_SIGNED = 1,
    FLOAT_PRECISION = 0,
    TS_UNIT = 0,
    TS_TIMEZONE = 1,
    RB_LENGTH = 0,
    RB_NODES = 1,
    RB_BUFFERS = 2,
    RB_COMPRESSION = 3,
    UNION_MODE = 0,     /* int16: Sparse = 0, Dense = 1 */
    UNION_TYPE_IDS = 1, /* vector of int32 */
    MAP_KEYS_SORTED = 0,
};

enum { ARROW_UNION_DENSE = 1 };

/* Size of a serialized FlightData with these parts (arrow_frame.c). */
size_t arrow__flightdata_size(size_t header_len, size_t body_len, bool has_app, size_t app_len);

/* ---- shared by the flat encoder (arrow_encode.c) and the nested one (arrow_nested.c) ---- */

struct fbw;
/* Message{version V5, header_type, header, bodyLength}; returns the slot of `header`. */
size_t arrow__write_message(struct fbw *w, uint8_t header_type, int64_t body_len);
/* A vector of KeyValue tables patched into `slot`. */
void arrow__write_kv_vector(struct fbw *w, size_t slot, const struct arrow_kv *kv, uint32_t n);
/* Pad the flatbuffer to 8 and report a sticky writer error. */
enum st_code arrow__fb_done(struct fbw *w, struct st_error *err);
/* Set bits of bm in [lo, hi). */
int64_t arrow__count_valid(const uint8_t *bm, uint64_t lo, uint64_t hi);
/* Bits [lo, lo + n) of src (src_bytes long) to dst from bit 0; trailing bits 0. */
void arrow__copy_bits(uint8_t *dst, const uint8_t *src, size_t src_bytes, uint64_t lo, uint64_t n);

/* The nested encoder behind arrow_encoder_new_nested (arrow_nested.c). It writes into
 * the encoder's header and body buffers. */
struct arrow_nested;
struct arrow_nested *arrow__nested_new(const struct arrow_type *fields, uint32_t n_fields,
                                       struct st_error *err);
void arrow__nested_free(struct arrow_nested *n);
enum st_code arrow__nested_schema(struct arrow_nested *n, struct st_buf *header,
                                  const struct arrow_kv *md, uint32_t n_md,
                                  struct st_error *err);
/* Length of every RecordBatch header of this schema. */
enum st_code arrow__nested_header_len(struct arrow_nested *n, struct st_buf *header,
                                      size_t *len, struct st_error *err);
/* Check and take (borrow) cols for n_rows rows; cols NULL = an empty batch. */
enum st_code arrow__nested_begin(struct arrow_nested *n, const struct arrow_array *cols,
                                 int64_t n_rows, struct st_error *err);
/* Encode rows [lo, hi) of the current batch into header and body; the body's bytes start
 * `headroom` bytes into the body buffer (arrow_flightdata_take writes the framing there). */
enum st_code arrow__nested_encode(struct arrow_nested *n, int64_t lo, int64_t hi,
                                  size_t headroom, struct st_buf *header, struct st_buf *body,
                                  struct st_error *err);
/* Exact body length of rows [lo, hi) (what arrow__nested_encode would write). */
size_t arrow__nested_body_len(struct arrow_nested *n, int64_t lo, int64_t hi);

/* ---- forward flatbuffer writer ----------------------------------------- */

/* Errors are sticky: after the first failure every call is a no-op and
 * fbw.rc holds the code (ST_ENOMEM or ST_ELIMIT from the buffer). */
struct fbw {
    struct st_buf *b;
    enum st_code rc;
};

enum fbw_kind { FBW_U8 = 1, FBW_I16 = 2, FBW_I32 = 4, FBW_I64 = 8, FBW_OFFSET = 5 };

struct fbw_field {
    uint16_t slot;
    uint8_t kind;   /* enum fbw_kind */
    uint64_t value; /* scalars; ignored for FBW_OFFSET */
    size_t pos;     /* out: where an FBW_OFFSET field was written, to patch */
};

void fbw_init(struct fbw *w, struct st_buf *b);
/* Pad with zeros until (len + phase) % align == 0. */
void fbw_pad(struct fbw *w, size_t align, size_t phase);
/* Write the root offset placeholder at position 0; returns its position. */
size_t fbw_root(struct fbw *w);
/* Write a vtable and a table holding `fields`; returns the table position. */
size_t fbw_table(struct fbw *w, struct fbw_field *fields, size_t n);
/* Make the uoffset at `at` point to `target` (target > at). */
void fbw_patch(struct fbw *w, size_t at, size_t target);
/* Write a string (length, bytes, NUL); returns its position. */
size_t fbw_string(struct fbw *w, const char *s, size_t len);
/* Write a vector of n uoffset slots; slot i is at the returned position + 4 + 4i. */
size_t fbw_offset_vector(struct fbw *w, uint32_t n);
/* Write a vector of n structs of two int64 each (FieldNode, Buffer). */
size_t fbw_struct16_vector(struct fbw *w, const int64_t (*items)[2], uint32_t n);
/* Write a vector of n int32 scalars (Union.typeIds). */
size_t fbw_i32_vector(struct fbw *w, const int32_t *v, uint32_t n);

/* ---- bounds-checked flatbuffer reader ------------------------------------ */

struct fbr {
    const uint8_t *p;
    size_t len;
};

struct fbr_table {
    const struct fbr *fb;
    size_t pos; /* the table */
    size_t vt;  /* its vtable */
    uint16_t vt_len;
};

/* Each returns 0, or -1 when the bytes are malformed (nothing was read then). */
int fbr_root(const struct fbr *fb, struct fbr_table *out);
int fbr_table_at(const struct fbr *fb, size_t pos, struct fbr_table *out);
/* Scalar fields: *out is `def` when the field is absent. */
int fbr_u8(const struct fbr_table *t, unsigned slot, uint8_t def, uint8_t *out);
int fbr_i16(const struct fbr_table *t, unsigned slot, int16_t def, int16_t *out);
int fbr_i32(const struct fbr_table *t, unsigned slot, int32_t def, int32_t *out);
int fbr_i64(const struct fbr_table *t, unsigned slot, int64_t def, int64_t *out);
/* Offset fields: *present is false (and 0 returned) when absent. */
int fbr_table_field(const struct fbr_table *t, unsigned slot, struct fbr_table *out, bool *present);
int fbr_string_field(const struct fbr_table *t, unsigned slot, const char **s, uint32_t *len,
                     bool *present);
/* A vector of n elements of elem_size bytes; *data is its first element. */
int fbr_vector_field(const struct fbr_table *t, unsigned slot, size_t elem_size, size_t *data,
                     uint32_t *n, bool *present);
/* Element i of a vector of tables whose first element is at `data`. */
int fbr_vector_table(const struct fbr *fb, size_t data, uint32_t i, struct fbr_table *out);

#endif
