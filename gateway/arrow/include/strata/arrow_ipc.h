/*
 * arrow_ipc.h: the interface to Strata's Arrow IPC encoder and decoder.
 *
 * The encoder turns a result schema and columnar batches (strata/batch.h)
 * into Arrow IPC messages: one Schema message, then RecordBatch messages.
 * The gateway sends each message as one Flight `FlightData` (data_header =
 * the padded flatbuffer, data_body = the body); files and tests use the IPC
 * stream framing (continuation marker, length, header, body, end marker).
 * What is emitted, byte by byte, is described in docs/formats/arrow.md:
 * metadata version V5, 8-byte aligned buffers, explicit Int signedness and
 * float precision, Timestamp(ns) without time zone, Utf8 strings (tags too)
 * with the InfluxDB field metadata `iox::column::type`, bit-packed booleans,
 * validity bitmaps only when a column has nulls, no compression, no
 * dictionaries. Batches are split by rows so every FlightData stays within a
 * byte budget (2 MiB by default), counting protobuf framing and the header.
 *
 * The decoder is the reverse, for the C client: it takes untrusted message
 * bytes from the network and produces a schema and batches, checking every
 * offset and length (fuzzed by tests/fuzz/arrow_decode). It accepts what
 * this encoder writes and the common variants other Arrow writers produce
 * (other integer widths, float32, other timestamp units, LargeUtf8, null
 * type, legacy stream framing, 64-byte alignment); it refuses dictionaries,
 * nested types, compression and big-endian data with ST_EUNSUPPORTED.
 *
 * Threading: encoders and decoders are single-threaded objects; use one per
 * stream.
 */
#ifndef STRATA_ARROW_IPC_H
#define STRATA_ARROW_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/batch.h"
#include "strata/buf.h"
#include "strata/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Target size of one FlightData (the arrow-rs and InfluxDB 3 figure). */
#define ARROW_FLIGHT_TARGET_BYTES ((size_t)2 << 20)
/* Hard ceiling of one FlightData: the default gRPC receive limit (grpc-js). */
#define ARROW_FLIGHT_MAX_BYTES ((size_t)4 << 20)

/* The `iox::column::type` field metadata key and its values. */
#define ARROW_IOX_COLUMN_TYPE "iox::column::type"

/* One schema-level metadata entry (both strings are copied by the encoder). */
struct arrow_kv {
    const char *key;
    const char *value;
};

/* One encoded IPC message, borrowed from the encoder until its next call. */
struct arrow_msg {
    const uint8_t *header; /* flatbuffer Message, zero-padded to a multiple of 8 */
    size_t header_len;
    const uint8_t *body; /* buffers, each 8-aligned and zero-padded; NULL for a schema */
    size_t body_len;     /* a multiple of 8; 0 for a schema */
    uint32_t n_rows;     /* rows of a record batch; 0 for a schema */
};

/* ---- encoder --------------------------------------------------------- */

struct arrow_encoder;

struct arrow_encoder_opts {
    /* Split record batches so each FlightData (protobuf framing included)
     * is at most this many bytes; 0 = ARROW_FLIGHT_TARGET_BYTES. */
    size_t target_bytes;
    /* A single row bigger than target_bytes is sent alone when its
     * FlightData fits in this; otherwise ST_ELIMIT. 0 = ARROW_FLIGHT_MAX_BYTES. */
    size_t max_bytes;
    /* Optional schema-level custom metadata. */
    const struct arrow_kv *schema_metadata;
    uint32_t n_schema_metadata;
    /* Optional: where a flat encoder's record-batch bodies come from, so a caller that
     * takes them (arrow_flightdata_take) can recycle them instead of freeing them. Called
     * with the bytes the next message needs; returns a block from malloc() of at least
     * that many bytes and its size in *cap, or NULL (the encoder then allocates). */
    void *(*body_alloc)(void *ctx, size_t need, size_t *cap);
    void *body_alloc_ctx;
};

/*
 * Create an encoder for `schema` (copied: the caller's schema may go away).
 * Every field type must be one of enum st_type. opts may be NULL.
 * Returns NULL with err set (ST_EINVAL, ST_ENOMEM).
 */
struct arrow_encoder *arrow_encoder_new(const struct st_schema *schema,
                                        const struct arrow_encoder_opts *opts,
                                        struct st_error *err);
/* NULL-safe. */
void arrow_encoder_free(struct arrow_encoder *enc);

/* The Schema message. Valid until the next call on the encoder. */
enum st_code arrow_encode_schema(struct arrow_encoder *enc, struct arrow_msg *out,
                                 struct st_error *err);

/*
 * Start encoding a batch. The batch (borrowed until the last message of it
 * has been taken) must match the schema: n_cols == n_fields and each column's
 * type equal to its field's. ST_EINVAL otherwise.
 */
enum st_code arrow_encode_batch(struct arrow_encoder *enc, const struct st_batch *batch,
                                struct st_error *err);

/*
 * The next RecordBatch message of the current batch. *got is false when the
 * batch is finished. A batch of 0 rows gives exactly one 0-row message; a
 * larger one gives as many messages as the byte budget needs, in row order.
 * The message is valid until the next call on the encoder.
 * ST_ELIMIT when a single row does not fit in opts.max_bytes.
 */
enum st_code arrow_encode_next(struct arrow_encoder *enc, struct arrow_msg *out, bool *got,
                               struct st_error *err);

/*
 * A 0-row RecordBatch of the encoder's schema (flat or nested): start it like a batch,
 * then take its one message with arrow_encode_next. The keep-alive message.
 */
enum st_code arrow_encode_empty(struct arrow_encoder *enc, struct st_error *err);

/* ---- nested and extra types (Flight SQL metadata results) -------------- */

/*
 * Flight SQL's metadata results need Arrow types that no query column has: dense unions
 * (CommandGetSqlInfo), lists, maps and binary (CommandGetTables' serialized schemas).
 * A nested encoder takes a tree of arrow_type per column and, per batch, a matching
 * tree of arrow_array; it emits the same Schema and RecordBatch messages (V5, 8-aligned,
 * split by top-level rows to the byte budget) with the layouts of docs/formats/arrow.md.
 */
enum arrow_kind {
    ARROW_KIND_BOOL = 1,    /* values: one byte per row, 0 or 1 (bit-packed on the wire) */
    ARROW_KIND_INT,         /* values: bit_width / 8 bytes per row, native (little) endian */
    ARROW_KIND_UTF8,        /* offsets: length + 1 int32 into values (the bytes) */
    ARROW_KIND_BINARY,      /* as UTF8, any bytes */
    ARROW_KIND_LIST,        /* offsets: length + 1 int32 into the one child */
    ARROW_KIND_STRUCT,      /* children of the same length */
    ARROW_KIND_MAP,         /* offsets into the one child: a non-nullable STRUCT "entries"
                               of a non-nullable key and a value */
    ARROW_KIND_DENSE_UNION, /* type_ids (int8) and offsets (int32, one per row) into the
                               children; no validity of its own */
};

struct arrow_type {
    const char *name;
    enum arrow_kind kind;
    bool nullable;
    uint8_t bit_width;  /* INT: 8, 16, 32 or 64 */
    bool is_signed;     /* INT */
    bool keys_sorted;   /* MAP */
    uint32_t n_children; /* LIST, MAP: 1; STRUCT: >= 0; DENSE_UNION: 1..127 */
    const struct arrow_type *children;
    const int8_t *type_ids; /* DENSE_UNION: the id of each child, distinct, 0..127 */
};

struct arrow_array {
    int64_t length;
    int64_t null_count;      /* exact; 0 for unions and non-nullable fields */
    const uint8_t *validity; /* bit i (LSB first) = row i valid; may be NULL when null_count 0 */
    const void *values;      /* BOOL, INT: the values; UTF8, BINARY: the bytes */
    const int32_t *offsets;  /* UTF8, BINARY, LIST, MAP: length + 1; DENSE_UNION: length */
    const int8_t *type_ids;  /* DENSE_UNION: length */
    const struct arrow_array *children; /* one per child of the type */
};

/* Create an encoder for columns of these types (deep-copied). opts may be NULL.
 * ST_EINVAL for an inconsistent type tree (bad width, child counts, type ids). */
struct arrow_encoder *arrow_encoder_new_nested(const struct arrow_type *fields, uint32_t n_fields,
                                               const struct arrow_encoder_opts *opts,
                                               struct st_error *err);

/*
 * Start encoding n_rows rows of a nested encoder's columns (borrowed until the batch's
 * last message is taken). Every array is checked against its type first: lengths, null
 * counts against bitmaps, offsets (non-decreasing, inside the child), union type ids and
 * offsets; ST_EINVAL names the column and the problem. Messages come from
 * arrow_encode_next. arrow_encode_batch is ST_EINVAL on a nested encoder and this on a
 * flat one.
 */
enum st_code arrow_encode_arrays(struct arrow_encoder *enc, const struct arrow_array *cols,
                                 int64_t n_rows, struct st_error *err);

/* ---- framing --------------------------------------------------------- */

/* Size in bytes of the FlightData protobuf that arrow_flightdata_append writes. */
size_t arrow_flightdata_size(const struct arrow_msg *m, size_t app_metadata_len);

/*
 * Append one serialized arrow.flight.protocol.FlightData to `out`: field 2
 * data_header (never empty), field 3 app_metadata when app_metadata is
 * non-NULL (possibly 0 bytes long), field 1000 data_body when the body is
 * non-empty.
 */
enum st_code arrow_flightdata_append(struct st_buf *out, const struct arrow_msg *m,
                                     const uint8_t *app_metadata, size_t app_metadata_len,
                                     struct st_error *err);

/*
 * Zero-copy framing: the record batch arrow_encode_next returned last, as one serialized
 * FlightData (the bytes arrow_flightdata_append would write without app_metadata), built
 * in place. The encoder keeps room in front of every body for the framing, so only the
 * header is copied; the body stays where it was encoded. The caller takes the buffer:
 * the FlightData is (*base + *off, *len), and free(*base) releases it (any thread). The
 * encoder starts a new buffer for its next message; m is invalid afterwards.
 * ST_EINVAL when m is not that message (a schema, or an older one).
 */
enum st_code arrow_flightdata_take(struct arrow_encoder *enc, const struct arrow_msg *m,
                                   uint8_t **base, size_t *off, size_t *len,
                                   struct st_error *err);

/* Append one encapsulated IPC stream message: FF FF FF FF, int32 LE length, header, body. */
enum st_code arrow_stream_append(struct st_buf *out, const struct arrow_msg *m,
                                 struct st_error *err);
/* Append the end-of-stream marker FF FF FF FF 00 00 00 00. */
enum st_code arrow_stream_append_eos(struct st_buf *out, struct st_error *err);

/* ---- decoder --------------------------------------------------------- */

struct arrow_decoder;

struct arrow_decoder_limits {
    uint32_t max_columns; /* 0 = 4096 */
    uint32_t max_rows;    /* rows per record batch; 0 = 64 Mi */
    size_t max_name_len;  /* bytes per column name; 0 = 4096 */
};

enum arrow_msg_type {
    ARROW_MSG_NONE = 0,
    ARROW_MSG_SCHEMA = 1,
    ARROW_MSG_RECORD_BATCH = 3,
    ARROW_MSG_EOS = 100, /* end of an IPC stream (stream reader only) */
};

/* limits may be NULL. Returns NULL with err set on ST_ENOMEM. */
struct arrow_decoder *arrow_decoder_new(const struct arrow_decoder_limits *limits,
                                        struct st_error *err);
/* NULL-safe. */
void arrow_decoder_free(struct arrow_decoder *dec);

/*
 * Decode one IPC message given as a flatbuffer header (a FlightData
 * data_header, without the continuation prefix) and its body. The first
 * message must be a Schema, every later one a RecordBatch. *type tells which
 * was decoded. Errors: ST_ECORRUPT (malformed or inconsistent bytes, with the
 * reason), ST_EUNSUPPORTED (a valid Arrow feature this decoder does not
 * handle), ST_ELIMIT (over a limit), ST_ENOMEM. After an error the decoder
 * keeps its schema; the batch is gone.
 */
enum st_code arrow_decode(struct arrow_decoder *dec, const uint8_t *header, size_t header_len,
                          const uint8_t *body, size_t body_len, enum arrow_msg_type *type,
                          struct st_error *err);

/*
 * Decode the next message of an IPC stream held in memory, starting at
 * *pos (advanced past the message). Both the continuation framing and the
 * legacy one (no FF FF FF FF) are read. At the end marker, or at the end of
 * the data, *type is ARROW_MSG_EOS.
 */
enum st_code arrow_decode_stream_next(struct arrow_decoder *dec, const uint8_t *data, size_t len,
                                      size_t *pos, enum arrow_msg_type *type, struct st_error *err);

/* The schema, or NULL before one was decoded. Valid until arrow_decoder_free. */
const struct st_schema *arrow_decoder_schema(const struct arrow_decoder *dec);

/*
 * The last decoded record batch, or NULL. Its buffers are owned by the
 * decoder and stay valid until the next decode call. Every column is in
 * Strata's layout (batch.h): 64-bit values, one byte per bool, int32 string
 * offsets, exact null counts, validity NULL when there are no nulls.
 */
const struct st_batch *arrow_decoder_batch(const struct arrow_decoder *dec);

#ifdef __cplusplus
}
#endif
#endif
