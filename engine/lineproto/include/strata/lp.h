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
 * and partial writes.
 *
 * Strings in a parsed line (lp_str) point into the input buffer when the
 * text had no escapes, and into the parser's scratch memory otherwise; they
 * are valid until the next lp_next() call or lp_parser_cleanup(). They are
 * not NUL-terminated. Unescaped names and values never contain NUL or other
 * control characters (those are rejected).
 *
 * The parser knows nothing of the catalog: type conflicts with existing
 * columns are decided by the caller.
 */
#ifndef STRATA_LP_H
#define STRATA_LP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    struct lp_str raw;        /* the whole line as written */
    struct lp_str measurement;
    uint32_t n_tags;          /* in input order */
    const struct lp_tag *tags;
    uint32_t n_fields;        /* in input order */
    const struct lp_field *fields;
    bool has_time;
    int64_t time;             /* as written; apply the precision with lp_time_to_ns */
};

struct lp_limits {
    uint32_t max_line_len;    /* bytes; default 1 MiB */
    uint32_t max_tags;        /* default 256 */
    uint32_t max_fields;      /* default 1024 */
    uint32_t max_name_len;    /* measurement, tag key, field key; default 512 */
    uint32_t max_tag_value_len; /* default 64 KiB */
    uint32_t max_string_len;  /* string field value; default 1 MiB */
};

/* Fill in the defaults above. */
void lp_limits_default(struct lp_limits *l);

struct lp_error {
    uint32_t line;            /* 1-based physical line */
    uint32_t column;          /* 1-based byte column within the line */
    char msg[200];            /* e.g. "invalid field value: integer out of range" */
    struct lp_str raw;        /* the offending line (valid like lp_line strings) */
};

struct lp_parser; /* opaque; allocate with lp_parser_new */

/* A parser over buf[0..len). The buffer must outlive the parser. NULL on ENOMEM. */
struct lp_parser *lp_parser_new(const char *buf, size_t len, const struct lp_limits *limits);
void lp_parser_free(struct lp_parser *p);

enum lp_result { LP_END = 0, LP_LINE = 1, LP_ERROR = -1 };

/* Parse the next non-blank, non-comment line. */
enum lp_result lp_next(struct lp_parser *p, struct lp_line *out, struct lp_error *err);

enum lp_precision { LP_PREC_NS = 0, LP_PREC_US, LP_PREC_MS, LP_PREC_S, LP_PREC_AUTO };

/*
 * Convert a timestamp written at `prec` to ns since the epoch. AUTO guesses
 * from the magnitude as InfluxDB 3 does (|t|/1e9 < 5 -> s, < 5000 -> ms,
 * < 5e6 -> us, else ns). Returns 0, or -1 when the result overflows int64.
 */
int lp_time_to_ns(int64_t t, enum lp_precision prec, int64_t *out_ns);

/* Parse a precision name: n ns nanosecond, u us microsecond, ms millisecond,
 * s second, auto. Returns 0 or -1. */
int lp_precision_parse(const char *s, enum lp_precision *out);

#endif
