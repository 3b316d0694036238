/*
 * lp_parse.c: the line protocol parser, first stage of the write path
 * (HTTP/gRPC body -> lp_next -> catalog -> WAL -> buffers).
 *
 * How a call to lp_next works:
 *
 *  1. Skip blank lines, leading spaces/tabs and `#` comment lines.
 *  2. Find the end of the logical line. The common case is one memchr for
 *     '\n' and one for '"' on that physical line: without a quote there is no
 *     string value, so the line ends at the '\n'. With a quote, a small state
 *     machine (logical_end) walks the structure of the line (series, field
 *     keys, values) so that a '\n' inside a quoted string value does not end
 *     the line. It agrees with the parser on every valid line, and on a bad
 *     line it still says where the next line starts. A string left open at
 *     the end of the buffer ends its line at the first '\n', so one stray
 *     quote costs one line, not the rest of the body. One '\r' before the
 *     terminator is dropped.
 *  3. Advance the parser past the line (so an error leaves it on the next
 *     one), check the line length, and parse [ls, le) left to right. Token
 *     ends come from a cursor over a 64-bit map of the "interesting" bytes
 *     (delimiters, backslash, quote, control, non-ASCII) of each 64-byte
 *     block (struct cursor); a plain token costs a count of trailing zeros,
 *     and anything unusual (escapes, UTF-8, control characters) drops to a
 *     byte-by-byte slow path. Integers and timestamps are checked and
 *     converted 8 digits at a time; other floats go through Clinger's fast
 *     path or strtod_l. Names and tag values point into the input unless they
 *     hold escapes, in which case they are unescaped into per-line scratch
 *     memory reserved to the line's length before the first byte is written
 *     (so no pointer handed out for this line can move).
 *  4. Duplicate keys (and a key used as tag and field): each key goes into a
 *     Bloom filter as it is scanned; only if the filter fires (or the line
 *     has more than 64 keys) does an exact hash table look at the line.
 *
 * An error records the offending byte, a code and a message; lp_next turns
 * the byte into a physical line and column. Nothing is allocated per line:
 * the tag and field arrays, the scratch and the duplicate table grow to the
 * widest line seen and are reused.
 */
#include <float.h>
#include <stdio.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "lp_int.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Characters of a name or value shown in an error message (so that any
 * message, with two of them, fits struct lp_error.msg). */
#define SHOW_NAME 40
#define SHOW_VALUE 32

enum kind { K_MEAS, K_TAG_KEY, K_TAG_VALUE, K_FIELD_KEY };

static const char *const kind_name[] = {"measurement", "tag key", "tag value", "field key"};
/* Bytes that a backslash escapes in each kind (any other "\x" stays as is). */
static const uint8_t kind_esc[] = {
    LP_C_COMMA | LP_C_SPACE | LP_C_BSL,
    LP_C_COMMA | LP_C_SPACE | LP_C_EQ | LP_C_BSL,
    LP_C_COMMA | LP_C_SPACE | LP_C_EQ | LP_C_BSL,
    LP_C_COMMA | LP_C_SPACE | LP_C_EQ | LP_C_BSL,
};
#define STRING_ESC (LP_C_QUOTE | LP_C_BSL)

static inline unsigned
cls(const char *s)
{
    return lp__cls[(unsigned char)*s];
}

static inline uint32_t
sat_add_u32(uint32_t a, uint64_t b)
{
    uint64_t r = (uint64_t)a + b;
    return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* ---- limits, lifecycle -------------------------------------------------- */

void
lp_limits_default(struct lp_limits *l)
{
    l->max_line_len = LP_DEFAULT_MAX_LINE_LEN;
    l->max_tags = LP_DEFAULT_MAX_TAGS;
    l->max_fields = LP_DEFAULT_MAX_FIELDS;
    l->max_name_len = LP_DEFAULT_MAX_NAME_LEN;
    l->max_tag_value_len = LP_DEFAULT_MAX_TAG_VALUE_LEN;
    l->max_string_len = LP_DEFAULT_MAX_STRING_LEN;
}

const char *
lp_field_type_name(enum lp_field_type t)
{
    switch (t) {
    case LP_FLOAT:
        return "float";
    case LP_INT:
        return "integer";
    case LP_UINT:
        return "unsigned";
    case LP_BOOL:
        return "boolean";
    case LP_STRING:
        return "string";
    }
    return "unknown";
}

#define INITIAL_KEYS 16u

struct lp_parser *
lp_parser_new(const char *buf, size_t len, const struct lp_limits *limits)
{
    struct lp_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    lp_limits_default(&p->lim);
    if (limits) {
        if (limits->max_line_len)
            p->lim.max_line_len = limits->max_line_len;
        if (limits->max_tags)
            p->lim.max_tags = limits->max_tags;
        if (limits->max_fields)
            p->lim.max_fields = limits->max_fields;
        if (limits->max_name_len)
            p->lim.max_name_len = limits->max_name_len;
        if (limits->max_tag_value_len)
            p->lim.max_tag_value_len = limits->max_tag_value_len;
        if (limits->max_string_len)
            p->lim.max_string_len = limits->max_string_len;
    }
    p->tags_cap = p->lim.max_tags < INITIAL_KEYS ? p->lim.max_tags : INITIAL_KEYS;
    p->fields_cap = p->lim.max_fields < INITIAL_KEYS ? p->lim.max_fields : INITIAL_KEYS;
    p->tags = malloc(p->tags_cap * sizeof *p->tags);
    p->tag_pos = malloc(p->tags_cap * sizeof *p->tag_pos);
    p->fields = malloc(p->fields_cap * sizeof *p->fields);
    p->field_pos = malloc(p->fields_cap * sizeof *p->field_pos);
    p->dedup_cap = 64;
    p->dedup = calloc(p->dedup_cap, sizeof *p->dedup);
    if (!p->tags || !p->tag_pos || !p->fields || !p->field_pos || !p->dedup) {
        lp_parser_free(p);
        return NULL;
    }
    lp_parser_reset(p, buf, len);
    return p;
}

void
lp_parser_reset(struct lp_parser *p, const char *buf, size_t len)
{
    if (!buf)
        len = 0;
    p->buf = buf;
    p->end = buf ? buf + len : NULL;
    p->safe8 = len >= 8 ? len - 7 : 0;
    p->pos = buf;
    p->pls = buf;
    p->line_no = 1;
    p->scratch_len = 0;
}

void
lp_parser_free(struct lp_parser *p)
{
    if (!p)
        return;
    free(p->tags);
    free(p->tag_pos);
    free(p->fields);
    free(p->field_pos);
    free(p->scratch);
    free(p->numbuf);
    free(p->dedup);
    if (p->c_locale)
        freelocale(p->c_locale);
    free(p);
}

/* ---- errors ------------------------------------------------------------- */

static void fail(struct lp_parser *p, const char *at, enum st_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), cold));

static void
fail(struct lp_parser *p, const char *at, enum st_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->e_msg, sizeof p->e_msg, fmt, ap);
    va_end(ap);
    p->e_at = at;
    p->e_code = code;
}

/* A quoted copy of a name or value for a message (a static-size buffer). */
struct shown {
    char s[SHOW_NAME + 8];
};

static struct shown
show(const char *s, size_t len, size_t max)
{
    struct shown r;
    lp__quote(r.s, sizeof r.s, s, len, max);
    return r;
}

static const char *
token_end(const char *s, const char *le)
{
    while (s < le && *s != ',' && *s != ' ')
        s++;
    return s;
}

static void
fail_ctrl(struct lp_parser *p, const char *at, unsigned c, const char *what)
{
    if (c == '\t')
        fail(p, at, ST_EPARSE, "tab in %s (only spaces separate the parts of a line)", what);
    else if (c == '\r')
        fail(p, at, ST_EPARSE, "carriage return in %s", what);
    else
        fail(p, at, ST_EPARSE, "control character 0x%02x in %s", c, what);
}

/* ---- memory ------------------------------------------------------------------ */

/*
 * Every allocation made while parsing goes through here, so that tests can
 * make one of them fail (p->alloc_countdown) and check the "out of memory"
 * path of each.
 */
static void *
lp_realloc(struct lp_parser *p, void *ptr, size_t n)
{
    if (UNLIKELY(p->alloc_countdown > 0) && --p->alloc_countdown == 0)
        return NULL;
    return realloc(ptr, n);
}

/*
 * Make room for the unescaped text of the whole current line. Called before
 * the first byte of the line is written to scratch, so growing it moves
 * nothing that was handed out.
 */
static bool
reserve_scratch(struct lp_parser *p, size_t line_len)
{
    if (p->scratch_cap >= line_len)
        return true;
    size_t cap = (line_len + 4095) & ~(size_t)4095;
    char *n = lp_realloc(p, p->scratch, cap);
    if (!n)
        return false;
    p->scratch = n;
    p->scratch_cap = cap;
    return true;
}

/* Copy s[0..len) to scratch, turning each "\x" with x in esc_mask into x. */
static void
unescape(struct lp_parser *p, const char *s, const char *e, unsigned esc_mask, struct lp_str *out)
{
    char *d0 = p->scratch + p->scratch_len, *d = d0;
    while (s < e) {
        if (*s == '\\' && s + 1 < e && (cls(s + 1) & esc_mask)) {
            *d++ = s[1];
            s += 2;
        } else {
            *d++ = *s++;
        }
    }
    out->p = d0;
    out->len = (uint32_t)(d - d0);
    p->scratch_len += out->len;
}

/* ---- fast scanning ------------------------------------------------------------- */

/*
 * Token ends are found through a cursor over the "interesting" bytes of the
 * buffer: ',' ' ' '=' '\\' '"', control characters and non-ASCII (exactly
 * the bytes whose lp__cls is not 0). The cursor holds a 64-bit map of them
 * for one 64-byte block (four SSE2 compares-and-masks, or a byte loop at the
 * end of the buffer); the next one is a shift, a mask and a count of
 * trailing zeros. So a run of short tokens does not pay a vector load and
 * compare each, whose latency would add up token after token. A block may
 * reach past the current line, never past the buffer; results are clamped
 * to the limit the caller passes.
 */
struct cursor {
    const char *base; /* bits describes [base, base + 64) */
    uint64_t bits;
    const char *bufend;
};

#ifdef __SSE2__
static inline __attribute__((always_inline)) __m128i
load16(const char *s)
{
    return _mm_loadu_si128((const __m128i *)(const void *)s);
}

static inline __m128i
eq8(__m128i v, char c)
{
    return _mm_cmpeq_epi8(v, _mm_set1_epi8(c));
}

/* Bytes that are control characters or part of a multi-byte sequence. */
static inline __m128i
ctrl_or_high(__m128i v)
{
    /* Signed compare: 0x00-0x1f and 0x80-0xff are both "less than 0x20". */
    return _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), eq8(v, 0x7f));
}

static inline __attribute__((always_inline)) uint64_t
mask16(const char *s)
{
    __m128i v = load16(s);
    /* v + 1 < 0x22 (signed) catches 0x00-0x20 (controls and space), 0x7f
     * and 0x80-0xff in one compare. */
    __m128i low = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(1)), _mm_set1_epi8(0x22));
    __m128i m = _mm_or_si128(_mm_or_si128(eq8(v, ','), eq8(v, '=')),
                             _mm_or_si128(eq8(v, '\\'), eq8(v, '"')));
    return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(m, low));
}
#endif

static __attribute__((noinline)) uint64_t
block_bits_tail(const char *s, const char *bufend)
{
    uint64_t b = 0;
    size_t n = bufend - s < 64 ? (size_t)(bufend - s) : 64;
    for (size_t i = 0; i < n; i++)
        if (lp__cls[(unsigned char)s[i]])
            b |= UINT64_C(1) << i;
    return b;
}

static inline __attribute__((always_inline)) uint64_t
block_bits(const char *s, const char *bufend)
{
#ifdef __SSE2__
    if (LIKELY(bufend - s >= 64))
        return mask16(s) | mask16(s + 16) << 16 | mask16(s + 32) << 32 | mask16(s + 48) << 48;
#endif
    return block_bits_tail(s, bufend);
}

static inline __attribute__((always_inline)) void
cursor_init(struct cursor *c, const char *s, const char *bufend)
{
    c->base = s;
    c->bits = block_bits(s, bufend);
    c->bufend = bufend;
}

/*
 * The first interesting byte in [s, limit), or limit; s >= c->base, limit <=
 * bufend. The byte returned (if not limit) is taken to be consumed: its bit
 * is cleared, so the next call finds the one after it without depending on
 * where the caller has got to (the common case: it only checks that the bit
 * is not behind s). Callers never ask again for a byte at or before one
 * they were given.
 */
static inline __attribute__((always_inline)) const char *
cursor_next(struct cursor *c, const char *s, const char *limit)
{
    for (;;) {
        uint64_t b = c->bits;
        if (LIKELY(b != 0)) {
            const char *r = c->base + __builtin_ctzll(b);
            if (LIKELY(r >= s)) {
                if (UNLIKELY(r >= limit))
                    return limit;
                c->bits = b & (b - 1);
                return r;
            }
            size_t off = (size_t)(s - c->base);
            c->bits = off < 64 ? b & (~UINT64_C(0) << off) : 0;
            continue;
        }
        /* This block holds nothing more: map the next one, from s if s is past it. */
        if (limit - c->base <= 64)
            return limit;
        const char *nb = c->base + 64;
        if (nb < s)
            nb = s;
        if (nb >= limit)
            return limit;
        c->base = nb;
        c->bits = block_bits(nb, c->bufend);
    }
}

/* The first '"', '\\', control or non-ASCII byte in [s, le), or le (string values). */
static inline const char *
find_string_special(const char *s, const char *le, const char *bufend)
{
#ifdef __SSE2__
    while (s < le && bufend - s >= 16) {
        __m128i v = load16(s);
        __m128i m = _mm_or_si128(_mm_or_si128(eq8(v, '"'), eq8(v, '\\')), ctrl_or_high(v));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits) {
            s += __builtin_ctz(bits);
            return s < le ? s : le;
        }
        s += 16;
    }
    if (s >= le)
        return le;
#endif
    const unsigned brk = LP_C_QUOTE | LP_C_BSL | LP_C_CTRL | LP_C_HIGH;
    while (s < le && !(cls(s) & brk))
        s++;
    return s;
}

/* The number of ASCII digits at the start of [s, e). */
static inline size_t
count_digits(const char *s, const char *e)
{
    const char *q = s;
    while (q < e && (unsigned)((unsigned char)*q - '0') <= 9)
        q++;
    return (size_t)(q - s);
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LP_SWAR 1
#endif

static const uint64_t low_bytes[8] = {
    0,
    UINT64_C(0xff),
    UINT64_C(0xffff),
    UINT64_C(0xffffff),
    UINT64_C(0xffffffff),
    UINT64_C(0xffffffffff),
    UINT64_C(0xffffffffffff),
    UINT64_C(0xffffffffffffff),
};

/* 2^(8 * (8 - n)): shifts n digits to the top of a word by a multiplication. */
static const uint64_t top_shift[9] = {
    0,
    UINT64_C(1) << 56,
    UINT64_C(1) << 48,
    UINT64_C(1) << 40,
    UINT64_C(1) << 32,
    UINT64_C(1) << 24,
    UINT64_C(1) << 16,
    UINT64_C(1) << 8,
    1,
};

#ifdef LP_SWAR
static inline __attribute__((always_inline)) uint64_t
load8(const char *s)
{
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

/* The low n (1..8) bytes of x are ASCII digits. */
static inline __attribute__((always_inline)) bool
swar_is_digits(uint64_t x, size_t n)
{
    /* Each byte becomes 0x33 iff it was '0'..'9' (a carry out of +6 only
     * leaves a byte that already failed, towards the bytes after it). */
    uint64_t t = (x & UINT64_C(0xf0f0f0f0f0f0f0f0)) |
                 (((x + UINT64_C(0x0606060606060606)) & UINT64_C(0xf0f0f0f0f0f0f0f0)) >> 4);
    uint64_t m = n >= 8 ? ~UINT64_C(0) : low_bytes[n];
    return ((t ^ UINT64_C(0x3333333333333333)) & m) == 0;
}

/*
 * The value of the n (1..8) ASCII digits at the start of x: the digits are
 * moved to the top of the little-endian word (the bytes after them fall off;
 * a borrow from subtracting '0' only runs towards those bytes), then combined
 * in pairs, quads and octets.
 */
static inline __attribute__((always_inline)) uint64_t
swar_value(uint64_t x, size_t n)
{
    uint64_t c = (x - UINT64_C(0x3030303030303030)) * top_shift[n];
    c = (c * 10 + (c >> 8)) & UINT64_C(0x00ff00ff00ff00ff);
    c = (c * 100 + (c >> 16)) & UINT64_C(0x0000ffff0000ffff);
    return (c * 10000 + (c >> 32)) & UINT64_C(0xffffffff);
}
#endif

/*
 * Whether [s, s + n) are all ASCII digits, and if so (and n <= 19) their
 * value in *v. One 8-byte load serves both for up to 8 digits.
 */
static inline __attribute__((always_inline)) bool
digits_parse(const char *s, size_t n, const char *bufend, uint64_t *v)
{
#ifdef LP_SWAR
    if (LIKELY(bufend - s >= 24)) {
        if (LIKELY(n <= 8)) {
            uint64_t x = load8(s);
            *v = swar_value(x, n);
            return swar_is_digits(x, n);
        }
        if (n <= 16) {
            uint64_t x = load8(s), y = load8(s + n - 8);
            *v = swar_value(x, n - 8) * 100000000 + swar_value(y, 8);
            return ((int)swar_is_digits(x, 8) & (int)swar_is_digits(y, 8)) != 0;
        }
        if (n <= 19) {
            uint64_t x = load8(s), y = load8(s + n - 16), z = load8(s + n - 8);
            *v = (swar_value(x, n - 16) * 100000000 + swar_value(y, 8)) * 100000000 +
                 swar_value(z, 8);
            return ((int)swar_is_digits(x, 8) & (int)swar_is_digits(y, 8) &
                    (int)swar_is_digits(z, 8)) != 0;
        }
    }
#endif
    if (count_digits(s, s + n) != n)
        return false;
    if (n <= 19) {
        uint64_t r = 0;
        for (size_t i = 0; i < n; i++)
            r = r * 10 + (unsigned)((unsigned char)s[i] - '0');
        *v = r;
    }
    return true;
}

/* The value of n (1..19) ASCII digits at s (already known to be digits). */
static inline __attribute__((always_inline)) uint64_t
digits_value(const char *s, size_t n, const char *bufend)
{
    uint64_t v = 0;
    digits_parse(s, n, bufend, &v);
    return v;
}

/* The value of n ASCII digits (any n); *big when it exceeds uint64. */
static uint64_t
digits_value_long(const char *s, size_t n, bool *big)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            *big = true;
            return UINT64_MAX;
        }
        v = v * 10 + d;
    }
    return v;
}

static const uint64_t pow10_u64[] = {1,
                                     10,
                                     100,
                                     1000,
                                     10000,
                                     100000,
                                     1000000,
                                     10000000,
                                     100000000,
                                     1000000000,
                                     10000000000,
                                     100000000000,
                                     1000000000000,
                                     10000000000000,
                                     100000000000000,
                                     1000000000000000,
                                     10000000000000000,
                                     100000000000000000,
                                     1000000000000000000,
                                     UINT64_C(10000000000000000000)};

/* ---- names and tag values ------------------------------------------------- */

/* The length limit of a name or value of kind k. */
static inline uint32_t
max_len(const struct lp_parser *p, enum kind k)
{
    return k == K_TAG_VALUE ? p->lim.max_tag_value_len : p->lim.max_name_len;
}

static inline __attribute__((always_inline)) bool
is_stop(char c, enum kind k)
{
    return c == ',' || c == ' ' || ((k == K_TAG_KEY || k == K_FIELD_KEY) && c == '=');
}

static __attribute__((noinline)) const char *
fail_too_long(struct lp_parser *p, const char *start, enum kind k, uint32_t len)
{
    fail(p, start, ST_ELIMIT, "%s is too long (%u bytes, limit %u)", kind_name[k], (unsigned)len,
         (unsigned)max_len(p, k));
    return NULL;
}

/*
 * The rest of scan_text, from the first byte that is interesting but not a
 * delimiter of kind k: escapes, control characters, non-ASCII, and '=' or
 * '"' where they are plain.
 */
static __attribute__((noinline)) const char *
scan_text_slow(struct lp_parser *p, const char *start, const char *s, const char *ls,
               const char *le, enum kind k, struct lp_str *out)
{
    bool esc = false;
    while (s != le && !is_stop(*s, k)) {
        unsigned cl = cls(s);
        if (cl & LP_C_BSL) {
            if (s + 1 < le && (cls(s + 1) & kind_esc[k])) {
                esc = true;
                s += 2;
            } else {
                s++; /* kept literally; the next byte is scanned as usual */
            }
        } else if (cl & LP_C_CTRL) {
            fail_ctrl(p, s, (unsigned char)*s, kind_name[k]);
            return NULL;
        } else if (cl & LP_C_HIGH) {
            int n = lp__utf8_len((const unsigned char *)s, (const unsigned char *)le);
            if (n == 0) {
                fail(p, s, ST_EPARSE, "invalid UTF-8 in %s", kind_name[k]);
                return NULL;
            }
            if (lp__utf8_is_c1((const unsigned char *)s, n)) {
                fail(p, s, ST_EPARSE, "control character U+%04X in %s",
                     (unsigned)(((unsigned char)s[0] & 0x1f) << 6 | ((unsigned char)s[1] & 0x3f)),
                     kind_name[k]);
                return NULL;
            }
            s += n;
        } else {
            s++; /* '=' in a measurement or tag value, '"' anywhere in a name */
        }
        while (s < le && !lp__cls[(unsigned char)*s])
            s++;
    }
    if (s > start && s[-1] == '\\') {
        fail(p, s - 1, ST_EPARSE, "%s ends with a backslash", kind_name[k]);
        return NULL;
    }
    if (!esc) {
        out->p = start;
        out->len = (uint32_t)(s - start);
    } else {
        if (!reserve_scratch(p, (size_t)(le - ls))) {
            fail(p, start, ST_ENOMEM, "out of memory");
            return NULL;
        }
        unescape(p, start, s, kind_esc[k], out);
    }
    if (out->len > max_len(p, k))
        return fail_too_long(p, start, k, out->len);
    return s;
}

/*
 * Scan a measurement, tag key, tag value or field key starting at s; stop at
 * the first unescaped delimiter of its kind or at le. Checks control
 * characters, UTF-8, a trailing backslash and the length limit. Returns the
 * stop position, or NULL with the error recorded. Inlined per kind: a plain
 * name costs one cursor step.
 */
static inline __attribute__((always_inline)) const char *
scan_text(struct lp_parser *p, struct cursor *c, const char *s, const char *ls, const char *le,
          enum kind k, struct lp_str *out)
{
    const char *start = s;
    s = cursor_next(c, s, le);
    if (UNLIKELY(s != le && !is_stop(*s, k)))
        return scan_text_slow(p, start, s, ls, le, k, out);
    out->p = start;
    out->len = (uint32_t)(s - start);
    if (UNLIKELY(out->len > max_len(p, k)))
        return fail_too_long(p, start, k, out->len);
    return s;
}

static inline bool
is_time(const struct lp_str *k)
{
    return k->len == 4 && memcmp(k->p, "time", 4) == 0;
}

/* ---- field values ------------------------------------------------------- */

static inline bool
at_delim(const char *s, const char *le)
{
    return s == le || *s == ',' || *s == ' ';
}

static bool
ieq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

/* A value that fits no type: say why as precisely as we can. Returns NULL. */
static __attribute__((noinline, cold)) const char *
fail_value(struct lp_parser *p, const char *t, const char *le, const struct lp_field *f)
{
    const char *e = token_end(t, le);
    size_t n = (size_t)(e - t);
    struct shown v = show(t, n, SHOW_VALUE), k = show(f->key.p, f->key.len, SHOW_NAME);
    const char *u = t;
    size_t un = n;
    if (un && (*u == '-' || *u == '+')) {
        u++;
        un--;
    }
    if (n == 0) {
        fail(p, t, ST_EPARSE, "missing value for field \"%s\"", k.s);
        return NULL;
    }
    if (ieq(u, un, "nan") || ieq(u, un, "inf") || ieq(u, un, "infinity")) {
        fail(p, t, ST_EPARSE, "field \"%s\": NaN and infinity are not supported (got \"%s\")", k.s,
             v.s);
        return NULL;
    }
    const char *hint = "";
    char u0 = un ? *u : '\0';
    bool digit = u0 >= '0' && u0 <= '9';
    if (*t == '+')
        hint = " (a leading '+' is not allowed)";
    else if (u0 == '.')
        hint = " (write a digit before the '.')";
    else if (digit && t[n - 1] == '.')
        hint = " (write a digit after the '.')";
    else if (digit && (t[n - 1] == 'i' || t[n - 1] == 'u') &&
             (memchr(t, '.', n) || memchr(t, 'e', n) || memchr(t, 'E', n)))
        hint = " (integers have no fraction or exponent)";
    else if (un && !digit)
        hint = " (string values must be in double quotes)";
    fail(p, t, ST_EPARSE, "invalid value \"%s\" for field \"%s\"%s", v.s, k.s, hint);
    return NULL;
}

/* A boolean: the token [s, e) ends at a delimiter. */
static const char *
parse_bool(struct lp_parser *p, const char *s, const char *e, const char *le, struct lp_field *f)
{
    size_t n = (size_t)(e - s);
    int b = -1;
    if (!at_delim(e, le))
        return fail_value(p, s, le, f);
    if (n == 1) {
        b = (*s == 't' || *s == 'T') ? 1 : 0;
    } else if (n == 4) {
        if (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))
            b = 1;
    } else if (n == 5) {
        if (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))
            b = 0;
    }
    if (b < 0)
        return fail_value(p, s, le, f);
    f->type = LP_BOOL;
    f->v.b = b == 1;
    return e;
}

#if FLT_EVAL_METHOD == 0
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#endif

static __attribute__((noinline)) const char *
fail_int_range(struct lp_parser *p, const char *t, const char *e, const struct lp_field *f,
               bool neg, char suffix)
{
    struct shown vs = show(t, (size_t)(e - t), SHOW_VALUE);
    struct shown ks = show(f->key.p, f->key.len, SHOW_NAME);
    if (suffix == 'i')
        fail(p, t, ST_EPARSE, "integer \"%s\" of field \"%s\" is out of range (int64)", vs.s,
             ks.s);
    else
        fail(p, t, ST_EPARSE, "unsigned integer \"%s\" of field \"%s\" is %s", vs.s, ks.s,
             neg ? "negative" : "out of range (uint64)");
    return NULL;
}

/* A float: -?digits[.digits][(e|E)[+-]?digits], the whole token [t, e). */
static const char *
parse_float(struct lp_parser *p, const char *t, const char *e, const char *le, struct lp_field *f)
{
    const char *s = t;
    bool neg = *s == '-';
    s += neg;
    const char *ds = s;
    size_t n_int = count_digits(ds, e);
    if (UNLIKELY(n_int == 0))
        return fail_value(p, t, le, f);
    s = ds + n_int;
    bool exact = n_int <= 19;
    uint64_t m = exact ? digits_value(ds, n_int, p->end) : 0;
    size_t n_frac = 0;
    if (s < e && *s == '.') {
        const char *fs = s + 1;
        n_frac = count_digits(fs, e);
        if (UNLIKELY(n_frac == 0))
            return fail_value(p, t, le, f);
        if (exact && n_int + n_frac <= 19)
            m = m * pow10_u64[n_frac] + digits_value(fs, n_frac, p->end);
        else
            exact = false;
        s = fs + n_frac;
    }
    long exp10 = 0;
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        bool eneg = false;
        if (s < e && (*s == '+' || *s == '-')) {
            eneg = *s == '-';
            s++;
        }
        const char *es = s;
        while (s < e && (unsigned)((unsigned char)*s - '0') <= 9) {
            if (exp10 < 100000)
                exp10 = exp10 * 10 + ((unsigned char)*s - '0');
            s++;
        }
        if (UNLIKELY(s == es))
            return fail_value(p, t, le, f);
        if (eneg)
            exp10 = -exp10;
    }
    if (UNLIKELY(s != e))
        return fail_value(p, t, le, f);
    f->type = LP_FLOAT;
#if FLT_EVAL_METHOD == 0
    /* Clinger's fast path: m and 10^|e| are exact doubles, so one IEEE
     * multiplication or division rounds correctly. */
    long e10 = exp10 - (long)n_frac;
    if (exact && m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        f->v.f = neg ? -d : d;
        return e;
    }
    if (exact && m == 0) {
        f->v.f = neg ? -0.0 : 0.0;
        return e;
    }
#endif
    size_t len = (size_t)(e - t);
    char stack[64];
    char *tmp = stack;
    if (len + 1 > sizeof stack) {
        if (p->numbuf_cap < len + 1) {
            char *nb = lp_realloc(p, p->numbuf, len + 1);
            if (!nb) {
                fail(p, t, ST_ENOMEM, "out of memory");
                return NULL;
            }
            p->numbuf = nb;
            p->numbuf_cap = len + 1;
        }
        tmp = p->numbuf;
    }
    if (!p->c_locale)
        p->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    int rc = lp__float_slow(t, len, tmp, p->c_locale, &f->v.f);
    if (UNLIKELY(rc != 0)) {
        struct shown vs = show(t, len, SHOW_VALUE);
        struct shown ks = show(f->key.p, f->key.len, SHOW_NAME);
        if (rc == -1)
            fail(p, t, ST_EPARSE, "float \"%s\" of field \"%s\" is out of range", vs.s, ks.s);
        else
            fail(p, t, ST_EINTERNAL, "cannot convert float \"%s\" of field \"%s\"", vs.s, ks.s);
        return NULL;
    }
    return e;
}

/*
 * A number: the token [t, e), where e is the first interesting byte after t
 * (or le). Integers and unsigned integers take the SWAR path; the rest is a
 * float.
 */
static inline __attribute__((always_inline)) const char *
parse_number(struct lp_parser *p, const char *t, const char *e, const char *le, struct lp_field *f)
{
    if (UNLIKELY(e != le && *e != ',' && *e != ' '))
        return fail_value(p, t, le, f);
    char suffix = e[-1];
    if (suffix != 'i' && suffix != 'u')
        return parse_float(p, t, e, le, f);
    bool neg = *t == '-';
    const char *ds = t + neg;
    size_t n = (size_t)(e - 1 - ds);
    uint64_t v = 0;
    if (UNLIKELY(e - 1 <= ds || !digits_parse(ds, n, p->end, &v)))
        return fail_value(p, t, le, f);
    bool big = false;
    if (UNLIKELY(n > 19))
        v = digits_value_long(ds, n, &big);
    if (suffix == 'i') {
        if (UNLIKELY(big || v > (neg ? UINT64_C(1) << 63 : (uint64_t)INT64_MAX)))
            return fail_int_range(p, t, e, f, neg, suffix);
        f->type = LP_INT;
        f->v.i = neg ? (int64_t)(0 - v) : (int64_t)v;
    } else {
        if (UNLIKELY(neg || big))
            return fail_int_range(p, t, e, f, neg, suffix);
        f->type = LP_UINT;
        f->v.u = v;
    }
    return e;
}

static const char *
parse_string(struct lp_parser *p, const char *s, const char *ls, const char *le,
             struct lp_field *f)
{
    const char *q = s + 1, *cs = q;
    bool esc = false;
    for (;;) {
        q = find_string_special(q, le, p->end);
        if (UNLIKELY(q == le)) {
            struct shown ks = show(f->key.p, f->key.len, SHOW_NAME);
            fail(p, s, ST_EPARSE, "unterminated string value of field \"%s\" (no closing '\"')",
                 ks.s);
            return NULL;
        }
        unsigned c = cls(q);
        if (c & LP_C_QUOTE)
            break;
        if (c & LP_C_BSL) {
            if (q + 1 < le && (cls(q + 1) & STRING_ESC)) {
                esc = true;
                q += 2;
            } else {
                q++;
            }
            continue;
        }
        if (c & LP_C_CTRL) {
            if (UNLIKELY(*q == '\0')) {
                struct shown ks = show(f->key.p, f->key.len, SHOW_NAME);
                fail(p, q, ST_EPARSE, "NUL byte in string value of field \"%s\"", ks.s);
                return NULL;
            }
            q++;
            continue;
        }
        int n = lp__utf8_len((const unsigned char *)q, (const unsigned char *)le);
        if (UNLIKELY(n == 0)) {
            struct shown ks = show(f->key.p, f->key.len, SHOW_NAME);
            fail(p, q, ST_EPARSE, "invalid UTF-8 in string value of field \"%s\"", ks.s);
            return NULL;
        }
        q += n;
    }
    f->type = LP_STRING;
    if (LIKELY(!esc)) {
        f->v.s.p = cs;
        f->v.s.len = (uint32_t)(q - cs);
    } else {
        if (!reserve_scratch(p, (size_t)(le - ls))) {
            fail(p, s, ST_ENOMEM, "out of memory");
            return NULL;
        }
        unescape(p, cs, q, STRING_ESC, &f->v.s);
    }
    if (UNLIKELY(f->v.s.len > p->lim.max_string_len)) {
        struct shown ks = show(f->key.p, f->key.len, SHOW_NAME);
        fail(p, s, ST_ELIMIT, "string value of field \"%s\" is too long (%u bytes, limit %u)",
             ks.s, (unsigned)f->v.s.len, (unsigned)p->lim.max_string_len);
        return NULL;
    }
    q++; /* the closing quote */
    if (UNLIKELY(!at_delim(q, le))) {
        struct shown ks = show(f->key.p, f->key.len, SHOW_NAME);
        fail(p, q, ST_EPARSE, "unexpected text after the string value of field \"%s\"", ks.s);
        return NULL;
    }
    return q;
}

static inline __attribute__((always_inline)) const char *
parse_value(struct lp_parser *p, struct cursor *c, const char *s, const char *ls, const char *le,
            struct lp_field *f)
{
    if (UNLIKELY(s == le))
        return fail_value(p, s, le, f);
    char ch = *s;
    if (LIKELY((ch >= '0' && ch <= '9') || ch == '-'))
        return parse_number(p, s, cursor_next(c, s, le), le, f);
    if (ch == '"')
        return parse_string(p, s, ls, le, f);
    if (ch == 't' || ch == 'T' || ch == 'f' || ch == 'F')
        return parse_bool(p, s, cursor_next(c, s, le), le, f);
    return fail_value(p, s, le, f);
}

/* ---- timestamp ------------------------------------------------------------ */

static __attribute__((noinline, cold)) const char *
fail_time(struct lp_parser *p, const char *t, const char *le, bool range)
{
    const char *e = t;
    while (e < le && *e != ' ')
        e++;
    struct shown vs = show(t, (size_t)(e - t), SHOW_VALUE);
    if (range)
        fail(p, t, ST_EPARSE, "timestamp \"%s\" is out of range (int64)", vs.s);
    else
        fail(p, t, ST_EPARSE, "invalid timestamp \"%s\" (expected an integer)", vs.s);
    return NULL;
}

static inline __attribute__((always_inline)) const char *
parse_time(struct lp_parser *p, struct cursor *c, const char *t, const char *le, int64_t *out)
{
    const char *e = cursor_next(c, t, le);
    bool neg = *t == '-';
    const char *ds = t + neg;
    if (UNLIKELY(e <= ds || (e != le && *e != ' ')))
        return fail_time(p, t, le, false);
    size_t n = (size_t)(e - ds);
    uint64_t v = 0;
    if (UNLIKELY(!digits_parse(ds, n, p->end, &v)))
        return fail_time(p, t, le, false);
    bool big = false;
    if (UNLIKELY(n > 19))
        v = digits_value_long(ds, n, &big);
    if (UNLIKELY(big || v > (neg ? UINT64_C(1) << 63 : (uint64_t)INT64_MAX)))
        return fail_time(p, t, le, true);
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return e;
}

/* ---- duplicate keys --------------------------------------------------------- */

#define HASH_MUL1 UINT64_C(0x9e3779b97f4a7c15)
#define HASH_MUL2 UINT64_C(0xc2b2ae3d27d4eb4f)

/*
 * A hash of every byte of a key: up to 16 bytes as two (possibly
 * overlapping) 8-byte words, longer keys fold their middle in 8 bytes at a
 * time. A key shorter than 8 bytes is read with one 8-byte load and masked
 * when it lies in the input with 8 readable bytes (the usual case), else
 * copied.
 */
static inline __attribute__((always_inline)) uint64_t
key_hash(const struct lp_parser *p, const struct lp_str *k)
{
    const char *s = k->p;
    uint32_t n = k->len;
    uint64_t a, b = 0;
#ifdef LP_SWAR
    if (n >= 8) {
        a = load8(s);
        b = load8(s + n - 8);
        for (uint32_t i = 8; UNLIKELY(i + 8 < n); i += 8)
            a = (a ^ load8(s + i)) * HASH_MUL2;
    } else if (LIKELY((uintptr_t)s - (uintptr_t)p->buf < p->safe8)) {
        a = load8(s) & low_bytes[n];
    } else {
        a = 0;
        memcpy(&a, s, n);
    }
#else
    uint32_t i = 0;
    a = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        a = (a ^ x) * HASH_MUL2;
    }
    memcpy(&b, s + i, n - i);
#endif
    return (a ^ b * HASH_MUL2 ^ n) * HASH_MUL1;
}

static inline bool
str_eq(const struct lp_str *a, const struct lp_str *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/*
 * Duplicate keys are found in two steps. While a line is scanned, each key
 * goes into a Bloom filter (bloom_add): two of 4096 slots per key hash,
 * tested and set without a branch, next to the scanning work that the CPU
 * overlaps it with; a slot is "set" when it holds this line's generation, so
 * nothing is ever cleared. If no key found both its slots set, the keys are
 * distinct: the usual case (a false alarm is about 1 line in 1000 at 20
 * keys). Otherwise, and for lines with more than 64 keys, check_duplicates
 * runs an exact open-addressing table of key indexes (also stamped with a
 * per-line generation) to find the duplicate, if there is one.
 */
static inline __attribute__((always_inline)) unsigned
bloom_add(struct lp_parser *p, const struct lp_str *k, uint16_t gen)
{
    uint64_t h = key_hash(p, k);
    unsigned a = (unsigned)(h >> 52), b = (unsigned)(h >> 40) & 4095;
    unsigned hit = (p->bloom[a] == gen) & (p->bloom[b] == gen);
    p->bloom[a] = gen;
    p->bloom[b] = gen;
    return hit;
}

static inline uint16_t
bloom_next_gen(struct lp_parser *p)
{
    if (UNLIKELY(++p->bloom_gen == 0)) {
        memset(p->bloom, 0, sizeof p->bloom);
        p->bloom_gen = 1;
    }
    return p->bloom_gen;
}

/* The exact check behind the Bloom filter. */
static int
check_duplicates(struct lp_parser *p, uint32_t nt, uint32_t nf)
{
    uint32_t n = nt + nf;
    unsigned bits = 6;
    while ((UINT64_C(1) << bits) < 2 * (uint64_t)n)
        bits++;
    size_t cap = (size_t)1 << bits;
    if (cap > p->dedup_cap) {
        uint64_t *d = lp_realloc(p, p->dedup, cap * sizeof *d);
        if (!d) {
            fail(p, p->field_pos[0], ST_ENOMEM, "out of memory");
            return -1;
        }
        p->dedup = d;
        p->dedup_cap = cap;
        memset(p->dedup, 0, cap * sizeof *d);
        p->dedup_gen = 0;
    }
    if (UNLIKELY(++p->dedup_gen == 0)) {
        memset(p->dedup, 0, p->dedup_cap * sizeof *p->dedup);
        p->dedup_gen = 1;
    }
    const uint64_t stamp = (uint64_t)p->dedup_gen << 32;
    const size_t mask = cap - 1;
    uint64_t *tab = p->dedup;
    for (uint32_t i = 0; i < n; i++) {
        const struct lp_str *k = i < nt ? &p->tags[i].key : &p->fields[i - nt].key;
        size_t h = (size_t)(key_hash(p, k) >> (64 - bits));
        for (;;) {
            uint64_t e = tab[h];
            if ((e & ~UINT64_C(0xffffffff)) != stamp) {
                tab[h] = stamp | i;
                break;
            }
            uint32_t j = (uint32_t)e;
            const struct lp_str *o = j < nt ? &p->tags[j].key : &p->fields[j - nt].key;
            if (UNLIKELY(str_eq(k, o))) {
                struct shown ks = show(k->p, k->len, SHOW_NAME);
                if (i < nt)
                    fail(p, p->tag_pos[i], ST_EPARSE, "duplicate tag key \"%s\"", ks.s);
                else if (j >= nt)
                    fail(p, p->field_pos[i - nt], ST_EPARSE, "duplicate field key \"%s\"", ks.s);
                else
                    fail(p, p->field_pos[i - nt], ST_EPARSE,
                         "\"%s\" is both a tag key and a field key", ks.s);
                return -1;
            }
            h = (h + 1) & mask;
        }
    }
    return 0;
}

/* ---- one line ------------------------------------------------------------- */

static uint32_t
grown_cap(uint32_t cap, uint32_t max)
{
    return cap > max / 2 ? max : cap * 2;
}

static bool
grow_tags(struct lp_parser *p)
{
    uint32_t nc = grown_cap(p->tags_cap, p->lim.max_tags);
    struct lp_tag *t = lp_realloc(p, p->tags, (size_t)nc * sizeof *t);
    if (!t)
        return false;
    p->tags = t;
    const char **pos = lp_realloc(p, p->tag_pos, (size_t)nc * sizeof *pos);
    if (!pos)
        return false;
    p->tag_pos = pos;
    p->tags_cap = nc;
    return true;
}

static bool
grow_fields(struct lp_parser *p)
{
    uint32_t nc = grown_cap(p->fields_cap, p->lim.max_fields);
    struct lp_field *f = lp_realloc(p, p->fields, (size_t)nc * sizeof *f);
    if (!f)
        return false;
    p->fields = f;
    const char **pos = lp_realloc(p, p->field_pos, (size_t)nc * sizeof *pos);
    if (!pos)
        return false;
    p->field_pos = pos;
    p->fields_cap = nc;
    return true;
}

static int
parse_line(struct lp_parser *p, const char *ls, const char *le, struct lp_line *out)
{
    const char *s = ls;
    uint32_t nt = 0, nf = 0;
    struct cursor cur;
    p->scratch_len = 0;
    cursor_init(&cur, ls, p->end);
    const uint16_t gen = bloom_next_gen(p);
    unsigned maybe_dup = 0;

    s = scan_text(p, &cur, s, ls, le, K_MEAS, &out->measurement);
    if (!s)
        return -1;
    if (UNLIKELY(out->measurement.len == 0)) {
        fail(p, s, ST_EPARSE, "missing measurement");
        return -1;
    }
    while (s < le && *s == ',') {
        s++;
        if (UNLIKELY(nt == p->tags_cap)) {
            if (nt == p->lim.max_tags) {
                fail(p, s, ST_ELIMIT, "too many tags (limit %u)", (unsigned)p->lim.max_tags);
                return -1;
            }
            if (!grow_tags(p)) {
                fail(p, s, ST_ENOMEM, "out of memory");
                return -1;
            }
        }
        struct lp_tag *t = &p->tags[nt];
        const char *ks = s;
        p->tag_pos[nt] = ks;
        s = scan_text(p, &cur, s, ls, le, K_TAG_KEY, &t->key);
        if (!s)
            return -1;
        if (UNLIKELY(t->key.len == 0)) {
            fail(p, s, ST_EPARSE, "missing tag key after ','");
            return -1;
        }
        if (UNLIKELY(s == le || *s != '=')) {
            struct shown k = show(t->key.p, t->key.len, SHOW_NAME);
            fail(p, s, ST_EPARSE, "missing '=' after tag key \"%s\"", k.s);
            return -1;
        }
        if (UNLIKELY(is_time(&t->key))) {
            fail(p, ks, ST_EPARSE, "tag key \"time\" is reserved (it names the timestamp)");
            return -1;
        }
        maybe_dup |= bloom_add(p, &t->key, gen);
        s++;
        s = scan_text(p, &cur, s, ls, le, K_TAG_VALUE, &t->value);
        if (!s)
            return -1;
        if (UNLIKELY(t->value.len == 0)) {
            struct shown k = show(t->key.p, t->key.len, SHOW_NAME);
            fail(p, s, ST_EPARSE, "missing value for tag key \"%s\"", k.s);
            return -1;
        }
        nt++;
    }
    while (s < le && *s == ' ')
        s++;
    if (UNLIKELY(s == le)) {
        fail(p, s, ST_EPARSE, "missing field set (a line needs at least one <field>=<value>)");
        return -1;
    }
    for (;;) {
        if (UNLIKELY(nf == p->fields_cap)) {
            if (nf == p->lim.max_fields) {
                fail(p, s, ST_ELIMIT, "too many fields (limit %u)", (unsigned)p->lim.max_fields);
                return -1;
            }
            if (!grow_fields(p)) {
                fail(p, s, ST_ENOMEM, "out of memory");
                return -1;
            }
        }
        struct lp_field *f = &p->fields[nf];
        const char *ks = s;
        p->field_pos[nf] = ks;
        s = scan_text(p, &cur, s, ls, le, K_FIELD_KEY, &f->key);
        if (!s)
            return -1;
        if (UNLIKELY(f->key.len == 0)) {
            fail(p, s, ST_EPARSE, nf ? "missing field key after ','" : "missing field key");
            return -1;
        }
        if (UNLIKELY(s == le || *s != '=')) {
            struct shown k = show(f->key.p, f->key.len, SHOW_NAME);
            fail(p, s, ST_EPARSE, "missing '=' after field key \"%s\"", k.s);
            return -1;
        }
        if (UNLIKELY(is_time(&f->key))) {
            fail(p, ks, ST_EPARSE, "field key \"time\" is reserved (it names the timestamp)");
            return -1;
        }
        maybe_dup |= bloom_add(p, &f->key, gen);
        s = parse_value(p, &cur, s + 1, ls, le, f);
        if (!s)
            return -1;
        nf++;
        if (s < le && *s == ',') {
            s++;
            continue;
        }
        break;
    }
    out->has_time = false;
    while (s < le && *s == ' ')
        s++;
    if (s < le) {
        s = parse_time(p, &cur, s, le, &out->time);
        if (!s)
            return -1;
        out->has_time = true;
        while (s < le && *s == ' ')
            s++;
        if (UNLIKELY(s < le)) {
            fail(p, s, ST_EPARSE, "unexpected text after the timestamp");
            return -1;
        }
    }
    if (UNLIKELY(maybe_dup || nt + nf > 64) && check_duplicates(p, nt, nf) != 0)
        return -1;
    out->n_tags = nt;
    out->tags = p->tags;
    out->n_fields = nf;
    out->fields = p->fields;
    return 0;
}

/* ---- splitting lines ---------------------------------------------------- */

/*
 * The end of the logical line starting at ls (its terminating '\n', or end)
 * when its first physical line holds a '"' (which may open a string value
 * containing newlines). *n_nl gets the number of '\n' inside the line. A
 * string still open at the end of the buffer is not a string: the line then
 * ends at phys_end, the first '\n'.
 */
static const char *
logical_end(const char *ls, const char *end, const char *phys_end, uint32_t *n_nl)
{
    enum { S_SERIES, S_FIELDS, S_KEY, S_VALUE_START, S_VALUE, S_STRING } st = S_SERIES;
    const char *s = ls;
    uint64_t nl = 0;
    while (s < end) {
        char c = *s;
        if (st == S_STRING) {
            if (c == '\\' && s + 1 < end) {
                nl += s[1] == '\n';
                s += 2;
                continue;
            }
            if (c == '"')
                st = S_VALUE;
            else if (c == '\n')
                nl++;
            s++;
            continue;
        }
        if (c == '\n')
            break;
        if (c == '\\') {
            s += (s + 1 < end && s[1] != '\n') ? 2 : 1;
            if (st == S_FIELDS)
                st = S_KEY;
            else if (st == S_VALUE_START)
                st = S_VALUE;
            continue;
        }
        switch (st) {
        case S_SERIES:
            if (c == ' ')
                st = S_FIELDS;
            break;
        case S_FIELDS:
            st = c == ' ' ? S_FIELDS : c == '=' ? S_VALUE_START : S_KEY;
            break;
        case S_KEY:
            if (c == '=') {
                st = S_VALUE_START;
            } else if (c == ' ') {
                /* The timestamp (or garbage): no string can start after it. */
                const char *e = memchr(s, '\n', (size_t)(end - s));
                s = e ? e : end;
                goto done;
            }
            break;
        case S_VALUE_START:
        case S_VALUE:
            if (st == S_VALUE_START && c == '"') {
                st = S_STRING;
            } else if (c == ',') {
                st = S_KEY;
            } else if (c == ' ') {
                const char *e = memchr(s, '\n', (size_t)(end - s));
                s = e ? e : end;
                goto done;
            } else {
                st = S_VALUE;
            }
            break;
        case S_STRING:
            break;
        }
        s++;
    }
    if (st == S_STRING) {
        *n_nl = 0;
        return phys_end;
    }
done:
    *n_nl = nl > UINT32_MAX ? UINT32_MAX : (uint32_t)nl;
    return s;
}

static void
fill_error(const struct lp_parser *p, struct lp_error *err, const char *ls, size_t raw_len,
           const char *pls0, uint32_t line0)
{
    if (!err)
        return;
    const char *at = p->e_at;
    uint32_t line = line0;
    const char *lstart = pls0;
    const char *q = ls;
    while (q < at && (q = memchr(q, '\n', (size_t)(at - q))) != NULL) {
        line = sat_add_u32(line, 1);
        lstart = ++q;
    }
    uint64_t col = (uint64_t)(at - lstart) + 1;
    err->line = line;
    err->column = col > UINT32_MAX ? UINT32_MAX : (uint32_t)col;
    err->first_line = line0;
    err->code = p->e_code;
    err->offset = (uint64_t)(at - p->buf);
    memcpy(err->msg, p->e_msg, sizeof err->msg);
    err->msg[sizeof err->msg - 1] = '\0';
    err->raw.p = ls;
    err->raw.len = raw_len > UINT32_MAX ? UINT32_MAX : (uint32_t)raw_len;
}

enum lp_result
lp_next(struct lp_parser *p, struct lp_line *out, struct lp_error *err)
{
    if (!p || !p->buf)
        return LP_END;
    const char *s = p->pos, *end = p->end;

    /* Blank lines, leading blanks, comments. */
    for (;;) {
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s == end) {
            p->pos = end;
            return LP_END;
        }
        char c = *s;
        if (c == '\n') {
            s++;
            p->line_no = sat_add_u32(p->line_no, 1);
            p->pls = s;
        } else if (c == '\r' && (s + 1 == end || s[1] == '\n')) {
            s++;
        } else if (c == '#') {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            s = nl ? nl : end;
        } else {
            break;
        }
    }

    const char *ls = s;
    const char *pls0 = p->pls;
    uint32_t line0 = p->line_no;
    const char *nl = memchr(ls, '\n', (size_t)(end - ls));
    const char *lend = nl ? nl : end;
    uint32_t n_inner = 0;
    if (UNLIKELY(memchr(ls, '"', (size_t)(lend - ls)) != NULL))
        lend = logical_end(ls, end, lend, &n_inner);
    const char *le = lend;
    if (le > ls && le[-1] == '\r')
        le--;
    if (lend < end) {
        p->pos = lend + 1;
        p->line_no = sat_add_u32(line0, (uint64_t)n_inner + 1);
        p->pls = lend + 1;
    } else {
        p->pos = end;
        p->line_no = sat_add_u32(line0, n_inner);
        p->pls = end;
    }

    size_t len = (size_t)(le - ls);
    if (UNLIKELY(len > p->lim.max_line_len)) {
        p->e_at = ls + p->lim.max_line_len;
        p->e_code = ST_ELIMIT;
        snprintf(p->e_msg, sizeof p->e_msg, "line is too long (more than %u bytes)",
                 (unsigned)p->lim.max_line_len);
        fill_error(p, err, ls, p->lim.max_line_len, pls0, line0);
        return LP_ERROR;
    }
    if (LIKELY(parse_line(p, ls, le, out) == 0)) {
        out->line_no = line0;
        out->raw.p = ls;
        out->raw.len = (uint32_t)len;
        return LP_LINE;
    }
    fill_error(p, err, ls, len, pls0, line0);
    return LP_ERROR;
}
