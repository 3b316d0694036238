/*
 * batch.h: the columnar batch that flows out of the engine and into the
 * Arrow encoder (gateway) or out of the Arrow decoder (client library).
 *
 * Layout follows Arrow's physical layout so encoding is a copy:
 *   - validity: NULL when the column has no nulls; else a bitmap, bit i
 *     (LSB first, byte i/8) is 1 when row i is valid. null_count is exact.
 *   - fixed-width values: a dense array of n_rows elements; the slot of a
 *     null row holds an unspecified value (0 by convention).
 *   - bool: one byte per row (0 or 1); the encoder bit-packs.
 *   - string: n_rows + 1 int32 offsets into `str_data`; row i is
 *     str_data[offsets[i] .. offsets[i+1]).
 *   - time: int64 ns since the epoch, no time zone.
 *
 * Ownership: a batch returned by a producer (engine cursor, decoder) is
 * borrowed; it stays valid until the producer's next call or release.
 */
#ifndef STRATA_BATCH_H
#define STRATA_BATCH_H

#include <stdbool.h>
#include <stdint.h>

enum st_type {
    ST_TYPE_NULL = 0, /* only for untyped NULL literals inside the planner */
    ST_TYPE_TIME,     /* int64 ns since the epoch */
    ST_TYPE_STRING,   /* UTF-8 */
    ST_TYPE_FLOAT,    /* double */
    ST_TYPE_INT,      /* int64 */
    ST_TYPE_UINT,     /* uint64 */
    ST_TYPE_BOOL,     /* uint8 0/1 */
};

/* Where a result column came from; the Arrow encoder turns it into the
 * InfluxDB `iox::column::type` field metadata. */
enum st_role {
    ST_ROLE_NONE = 0, /* computed expression */
    ST_ROLE_TIME,
    ST_ROLE_TAG,
    ST_ROLE_FIELD,
};

struct st_field {
    const char *name;
    enum st_type type;
    enum st_role role;
    bool nullable;
};

struct st_schema {
    uint32_t n_fields;
    const struct st_field *fields;
};

struct st_column {
    enum st_type type;
    const uint8_t *validity; /* NULL = all valid */
    int64_t null_count;
    union {
        const int64_t *i64; /* TIME, INT */
        const uint64_t *u64;
        const double *f64;
        const uint8_t *b;
        const int32_t *offsets; /* STRING: n_rows + 1 entries */
        const void *raw;
    } v;
    const char *str_data; /* STRING only */
};

struct st_batch {
    uint32_t n_rows;
    uint32_t n_cols;
    const struct st_column *cols;
};

const char *st_type_name(enum st_type t);

static inline bool
st_column_is_valid(const struct st_column *c, uint32_t row)
{
    return !c->validity || (c->validity[row >> 3] >> (row & 7)) & 1;
}

#endif
