/*
 * lp.h: the interface to the line protocol parser.
 *
 *   <measurement>[,<tag_key>=<tag_value>...] <field_key>=<field_value>[,...] [<timestamp>]
 *
 * The parser walks a buffer line by line. Each call to lp_next() yields one
 * parsed line, or an error for one bad line (with its 1-based line number,
 * 1-based byte column and reason), after which the parser has already moved
 * to the next line: one bad line never affects the others. Blank lines and
 * `#` comment lines are skipped. The caller decides between all-or-nothing
 * and partial writes. The accepted grammar, every error message and the
 * differences from InfluxDB are in docs/formats/line-protocol.md.
 *
 * Lines end at `\n` (one `\r` right before it, or right before the end of
 * the buffer, is dropped, so CRLF bodies work), except that a `\n` inside a
 * quoted string field value belongs to the value: such a line spans several
 * physical lines.
 *
 * Strings in a parsed line (lp_str) point into the input buffer when the
 * text had no escapes, and into the parser's scratch memory otherwise; they
 * are valid until the next lp_next(), lp_parser_reset() or lp_parser_free()
 * call. They are not NUL-terminated. Every string is valid UTF-8. Names
 * (measurement, tag keys, field keys) and tag values are never empty, never
 * end with a backslash and never contain control characters (U+0000-U+001F,
 * U+007F-U+009F); string field values never contain NUL but may contain
 * newlines, tabs and other control characters.
 *
 * Within one line, tag keys are unique, field keys are unique, no key is both
 * a tag and a field, and no tag or field is named `time`. Float values are
 * finite. The parser knows nothing of the catalog: type conflicts with
 * existing columns are decided by the caller.
 *
 * Threading: a parser is used by one thread at a time; parsers share nothing.
 */
#ifndef STRATA_LP_H
#define STRATA_LP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/status.h"

struct lp_str {
    const char *p;
    uint32_t len;
};

enum lp_field_type { LP_FLOAT = 0, LP_INT, LP_UINT, LP_BOOL, LP_STRING };

struct lp_tag {
    struct lp_str key;
    struct lp_str value;
};

struct lp_field {
    struct lp_str key;
    enum lp_field_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        struct lp_str s;
    } v;
};

struct lp_line {
    uint32_t line_no;         /* 1-based physical line of the line's first byte */
    struct lp_str raw;        /* the line as written, without leading blanks and terminator */
    struct lp_str measurement;
    uint32_t n_tags;          /* in input order */
    const struct lp_tag *tags;
    uint32_t n_fields;        /* in input order; always >= 1 */
    const struct lp_field *fields;
    bool has_time;
    int64_t time;             /* as written; apply the precision with lp_time_to_ns */
};

/* A limit of 0 means "the default" (lp_parser_new and lp_parser_reset). */
struct lp_limits {
    uint32_t max_line_len;    /* bytes of one (logical) line; default 1 MiB */
    uint32_t max_tags;        /* default 256 */
    uint32_t max_fields;      /* default 1024 */
    uint32_t max_name_len;    /* measurement, tag key, field key (unescaped bytes); default 512 */
    uint32_t max_tag_value_len; /* unescaped bytes; default 64 KiB */
    uint32_t max_string_len;  /* string field value, unescaped bytes; default 1 MiB */
};

#define LP_DEFAULT_MAX_LINE_LEN (1u << 20)
#define LP_DEFAULT_MAX_TAGS 256u
#define LP_DEFAULT_MAX_FIELDS 1024u
#define LP_DEFAULT_MAX_NAME_LEN 512u
#define LP_DEFAULT_MAX_TAG_VALUE_LEN (64u << 10)
#define LP_DEFAULT_MAX_STRING_LEN (1u << 20)

/* Fill in the defaults above. */
void lp_limits_default(struct lp_limits *l);

struct lp_error {
    uint32_t line;            /* 1-based physical line of the offending byte */
    uint32_t column;          /* 1-based byte column of the offending byte within that line */
    char msg[200];            /* e.g. "missing value for tag key \"host\"" (NUL-terminated) */
    struct lp_str raw;        /* the offending line (valid like lp_line strings); for "line too
                                 long" only its first max_line_len bytes */
    /* Added fields (the ones above keep their meaning): */
    uint32_t first_line;      /* 1-based physical line where the bad line starts (<= line) */
    enum st_code code;        /* ST_EPARSE (malformed), ST_ELIMIT (a limit), ST_ENOMEM */
    uint64_t offset;          /* byte offset of the offending byte in the whole buffer */
};

struct lp_parser; /* opaque; allocate with lp_parser_new */

/*
 * A parser over buf[0..len) (buf may be NULL when len is 0). The buffer must
 * outlive the parser (or its next lp_parser_reset). limits may be NULL for
 * the defaults. NULL on ENOMEM.
 */
struct lp_parser *lp_parser_new(const char *buf, size_t len, const struct lp_limits *limits);
/* Restart on a new buffer with the same limits, keeping the allocations. */
void lp_parser_reset(struct lp_parser *p, const char *buf, size_t len);
/* NULL-safe. */
void lp_parser_free(struct lp_parser *p);

enum lp_result { LP_END = 0, LP_LINE = 1, LP_ERROR = -1 };

/*
 * Parse the next non-blank, non-comment line. LP_LINE fills *out; LP_ERROR
 * fills *err (err may be NULL) and has already skipped the bad line; LP_END
 * means the buffer is exhausted (and stays so). Never allocates per line
 * once the parser's arrays have grown to the widest line seen.
 */
enum lp_result lp_next(struct lp_parser *p, struct lp_line *out, struct lp_error *err);

enum lp_precision { LP_PREC_NS = 0, LP_PREC_US, LP_PREC_MS, LP_PREC_S, LP_PREC_AUTO };

/*
 * Convert a timestamp written at `prec` to ns since the epoch. AUTO guesses
 * from the magnitude as InfluxDB 3 does (|t|/1e9 < 5 -> s, < 5000 -> ms,
 * < 5e6 -> us, else ns). Returns 0, or -1 when the result overflows int64
 * (or prec is not a valid enum value, or out_ns is NULL).
 */
int lp_time_to_ns(int64_t t, enum lp_precision prec, int64_t *out_ns);

/* Parse a precision name: n ns nanosecond, u us microsecond, ms millisecond,
 * s second, auto (exact, case-sensitive). Returns 0 or -1. */
int lp_precision_parse(const char *s, enum lp_precision *out);

/* The name of a field type ("float", "integer", "unsigned", "boolean", "string"). */
const char *lp_field_type_name(enum lp_field_type t);

#endif
