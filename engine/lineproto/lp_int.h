/*
 * lp_int.h: internals of the line protocol parser, shared by its files and
 * by its unit tests and fuzz target (never by other engine parts).
 *
 * lp_parse.c holds the grammar and the driver (lp_next), lp_number.c the
 * numeric conversions, lp_text.c the byte classes, UTF-8 validation and the
 * quoting of user text into error messages, lp_time.c precisions.
 */
#ifndef STRATA_LP_INT_H
#define STRATA_LP_INT_H

#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/lp.h"

/* ---- byte classes (lp_text.c) ------------------------------------------ */

enum {
    LP_C_COMMA = 1,  /* ',' */
    LP_C_SPACE = 2,  /* ' ' */
    LP_C_EQ = 4,     /* '=' */
    LP_C_BSL = 8,    /* '\\' */
    LP_C_CTRL = 16,  /* 0x00-0x1f, 0x7f */
    LP_C_HIGH = 32,  /* 0x80-0xff: part of a multi-byte UTF-8 sequence */
    LP_C_QUOTE = 64, /* '"' */
};

extern const uint8_t lp__cls[256];

/*
 * Length (2-4) of the well-formed UTF-8 sequence starting at s (whose first
 * byte is >= 0x80), or 0 when it is malformed or truncated by end. Rejects
 * overlong forms, surrogates and code points above U+10FFFF.
 */
int lp__utf8_len(const unsigned char *s, const unsigned char *end);

/* Whether the sequence of length n at s encodes a C1 control (U+0080-U+009F). */
static inline bool
lp__utf8_is_c1(const unsigned char *s, int n)
{
    return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

/*
 * Quote user text for an error message: printable ASCII kept, '"' and '\\'
 * escaped with a backslash, any other byte as \xNN, at most max_out
 * characters of that, then "..." if the text was cut. Always NUL-terminates
 * dst (dst_cap >= 5).
 */
void lp__quote(char *dst, size_t dst_cap, const char *s, size_t len, size_t max_out);

/* ---- numbers (lp_number.c) ---------------------------------------------- */

/*
 * Convert a float token already checked against the grammar
 * (-?digits[.digits][(e|E)[+-]?digits]) of length len to a double,
 * correctly rounded and independent of the process locale. Returns 0, -1
 * when the magnitude overflows to infinity, -2 if strtod disagrees with the
 * grammar (a bug). `tmp` is a buffer of at least
 * len + 1 bytes for the slow path.
 */
int lp__float_slow(const char *tok, size_t len, char *tmp, locale_t loc, double *out);

/* ---- the parser ----------------------------------------------------------- */

struct lp_parser {
    const char *buf, *end;  /* the whole input */
    size_t safe8;           /* offsets below this have 8 readable input bytes */
    const char *pos;        /* next unparsed byte */
    const char *pls;        /* start of the physical line holding pos */
    uint32_t line_no;       /* physical line number of pos (saturating) */
    struct lp_limits lim;

    struct lp_tag *tags;
    const char **tag_pos;   /* raw start of each tag key, for error columns */
    uint32_t tags_cap;
    struct lp_field *fields;
    const char **field_pos; /* raw start of each field key */
    uint32_t fields_cap;

    char *scratch;          /* unescaped text of the current line */
    size_t scratch_len, scratch_cap;
    char *numbuf;           /* NUL-terminated copy of a float token (slow path) */
    size_t numbuf_cap;
    locale_t c_locale;      /* for strtod_l; created on first use */

    uint64_t *dedup;        /* open-addressing table: generation << 32 | key index */
    size_t dedup_cap;       /* entries, a power of two */
    uint32_t dedup_gen;     /* generation of the current line (never 0 in use) */
    uint16_t bloom[4096];   /* Bloom filter in front of the table: slot == bloom_gen is set */
    uint16_t bloom_gen;

    unsigned alloc_countdown; /* tests: when > 0, the allocation that takes it to 0 fails */

    /* The error of the line being parsed. */
    const char *e_at;
    enum st_code e_code;
    char e_msg[200];
};

/* Where the scratch memory currently lies (for the fuzz target's checks). */
static inline void
lp__scratch_range(const struct lp_parser *p, const char **lo, const char **hi)
{
    *lo = p->scratch;
    *hi = p->scratch ? p->scratch + p->scratch_cap : NULL;
}

#endif
