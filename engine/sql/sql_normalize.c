/*
 * sql_normalize.c: SQL text for logs and audit records, with every literal
 * replaced by `?` (so values a user typed, possibly secrets, never reach a
 * log), comments dropped and whitespace collapsed.
 *
 * It runs the lexer over the text and copies token by token: strings and
 * numbers become `?`; TIMESTAMP '...' and INTERVAL '...' become
 * TIMESTAMP ? and INTERVAL ?; identifiers, keywords, quoted identifiers,
 * $parameters and operators are copied; one space separates tokens that
 * had whitespace or a comment between them. At a lexical error the rest of
 * the text becomes a single `?`. Output is truncated at a token boundary or
 * a UTF-8 character boundary, never in the middle of a character.
 */
#include "sql_int.h"

#include <string.h>

struct out {
    char *buf;
    size_t cap; /* usable bytes, excluding the NUL */
    size_t len;
    bool full;
};

static void
put(struct out *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (n > o->cap - o->len) {
        n = o->cap - o->len;
        /* back off to a UTF-8 boundary: never emit a partial sequence */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        o->full = true;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

void
sql_normalize(const char *sql, size_t len, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return;
    struct out o = {buf, buflen - 1, 0, false};
    if (!sql)
        len = 0;
    if (len > SQL_MAX_TEXT_LEN)
        len = SQL_MAX_TEXT_LEN;
    struct sql_lexer lx;
    sql__lex_init(&lx, sql, (uint32_t)len);
    uint32_t prev_end = 0;
    bool first = true;
    for (;;) {
        struct sql_token t = sql__lex_next(&lx);
        if (t.kind == TK_EOF)
            break;
        if (!first && t.pos > prev_end)
            put(&o, " ", 1);
        if (t.kind == TK_ERROR) {
            put(&o, "?", 1);
            break;
        }
        first = false;
        switch (t.kind) {
        case TK_STRING:
        case TK_INTEGER:
        case TK_FLOAT:
            put(&o, "?", 1);
            break;
        default:
            put(&o, sql + t.pos, t.len);
            break;
        }
        prev_end = t.pos + t.len;
        if (o.full)
            break;
    }
    buf[o.len] = '\0';
}
