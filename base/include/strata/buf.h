/*
 * buf.h: a growable byte buffer with a mandatory maximum size.
 *
 * Every buffer that grows with untrusted input has a ceiling; appending past
 * it fails with ST_ELIMIT and leaves the buffer unchanged. `max == 0` is not
 * "unlimited": pass SIZE_MAX explicitly where a buffer is bounded elsewhere.
 */
#ifndef STRATA_BUF_H
#define STRATA_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "strata/status.h"

struct st_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* Initialise an empty buffer; allocates nothing and cannot fail. */
void st_buf_init(struct st_buf *b, size_t max);
/* Release the memory; the buffer is empty (and reusable) afterwards. */
void st_buf_cleanup(struct st_buf *b);
/* Make room for `extra` more bytes. */
enum st_code st_buf_reserve(struct st_buf *b, size_t extra);
enum st_code st_buf_append(struct st_buf *b, const void *p, size_t n);
enum st_code st_buf_append_byte(struct st_buf *b, uint8_t c);
enum st_code st_buf_append_str(struct st_buf *b, const char *s);
enum st_code st_buf_printf(struct st_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append n zero bytes. */
enum st_code st_buf_append_zeros(struct st_buf *b, size_t n);
/* Append little-endian integers. */
enum st_code st_buf_put_u32le(struct st_buf *b, uint32_t v);
enum st_code st_buf_put_u64le(struct st_buf *b, uint64_t v);
/* Append an unsigned LEB128 varint. */
enum st_code st_buf_put_uvarint(struct st_buf *b, uint64_t v);
/* Keep the allocation, drop the content. */
static inline void
st_buf_reset(struct st_buf *b)
{
    b->len = 0;
}
/* Take the bytes out: the caller frees the returned pointer with free(). */
uint8_t *st_buf_take(struct st_buf *b, size_t *len_out);

/* Little-endian loads/stores on unaligned memory. */
static inline uint32_t
st_load_u32le(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t
st_load_u64le(const void *p)
{
    return (uint64_t)st_load_u32le(p) | (uint64_t)st_load_u32le((const uint8_t *)p + 4) << 32;
}
static inline void
st_store_u32le(void *p, uint32_t v)
{
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}
static inline void
st_store_u64le(void *p, uint64_t v)
{
    st_store_u32le(p, (uint32_t)v);
    st_store_u32le((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/*
 * Read an unsigned LEB128 varint from [*p, end). Advances *p. Returns 0 on
 * success, -1 on truncation or overflow (more than 64 bits).
 */
int st_get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/*
 * A text writer into caller storage that truncates instead of failing: for
 * messages, EXPLAIN lines and normalised SQL, where a cut-short result is
 * acceptable and no allocation is wanted. buf is always NUL-terminated
 * (when cap > 0); len never exceeds cap - 1.
 */
struct st_tw {
    char *buf;
    size_t cap;
    size_t len;
};

static inline void
st_tw_init(struct st_tw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    if (cap)
        buf[0] = '\0';
}
void st_tw_put(struct st_tw *w, const char *s, size_t n);
void st_tw_puts(struct st_tw *w, const char *s);
void st_tw_printf(struct st_tw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
