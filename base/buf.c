/*
 * buf.c: bounded growable byte buffer (see strata/buf.h).
 */
#include "strata/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
st_buf_init(struct st_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
st_buf_cleanup(struct st_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

enum st_code
st_buf_reserve(struct st_buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *p;

    if (extra > b->max || b->len > b->max - extra)
        return ST_ELIMIT;
    need = b->len + extra;
    if (need <= b->cap)
        return ST_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    p = realloc(b->data, cap);
    if (!p)
        return ST_ENOMEM;
    b->data = p;
    b->cap = cap;
    return ST_OK;
}

enum st_code
st_buf_append(struct st_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return ST_OK;
    ST_TRY(st_buf_reserve(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return ST_OK;
}

enum st_code
st_buf_append_byte(struct st_buf *b, uint8_t c)
{
    ST_TRY(st_buf_reserve(b, 1));
    b->data[b->len++] = c;
    return ST_OK;
}

enum st_code
st_buf_append_str(struct st_buf *b, const char *s)
{
    return st_buf_append(b, s, strlen(s));
}

enum st_code
st_buf_append_zeros(struct st_buf *b, size_t n)
{
    if (n == 0)
        return ST_OK;
    ST_TRY(st_buf_reserve(b, n));
    memset(b->data + b->len, 0, n);
    b->len += n;
    return ST_OK;
}

enum st_code
st_buf_printf(struct st_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ST_EINVAL;
    ST_TRY(st_buf_reserve(b, (size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ST_OK;
}

enum st_code
st_buf_put_u32le(struct st_buf *b, uint32_t v)
{
    uint8_t t[4];
    st_store_u32le(t, v);
    return st_buf_append(b, t, 4);
}

enum st_code
st_buf_put_u64le(struct st_buf *b, uint64_t v)
{
    uint8_t t[8];
    st_store_u64le(t, v);
    return st_buf_append(b, t, 8);
}

enum st_code
st_buf_put_uvarint(struct st_buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    return st_buf_append(b, t, n);
}

uint8_t *
st_buf_take(struct st_buf *b, size_t *len_out)
{
    uint8_t *p = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int
st_get_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;

    while (p < end) {
        uint8_t c = *p++;
        if (shift == 63 && c > 1)
            return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
        shift += 7;
        if (shift > 63)
            return -1;
    }
    return -1;
}

void
st_tw_put(struct st_tw *w, const char *s, size_t n)
{
    if (w->cap == 0)
        return;
    size_t room = w->cap - 1 - w->len;
    if (n > room)
        n = room;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

void
st_tw_puts(struct st_tw *w, const char *s)
{
    st_tw_put(w, s, strlen(s));
}

void
st_tw_printf(struct st_tw *w, const char *fmt, ...)
{
    va_list ap;
    if (w->cap == 0 || w->len + 1 >= w->cap)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->buf[w->len] = '\0';
        return;
    }
    w->len += (size_t)n < w->cap - w->len ? (size_t)n : w->cap - w->len - 1;
}
