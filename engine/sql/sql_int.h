/*
 * sql_int.h: internals of the SQL front end shared by its files: the token
 * kinds and the lexer (sql_lex.c), the keyword table (sql_keywords.c).
 * Not visible outside engine/sql (and its unit tests).
 */
#ifndef STRATA_SQL_INT_H
#define STRATA_SQL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/sql.h"

enum sql_tok {
    TK_EOF = 0,
    TK_IDENT,    /* bare word (may be a keyword: see kw) */
    TK_QIDENT,   /* "quoted identifier" */
    TK_STRING,   /* 'string literal' */
    TK_INTEGER,  /* 123 */
    TK_FLOAT,    /* 1.5, .5, 1e9, 1.5E-3 */
    TK_PARAM,    /* $name */
    TK_LPAREN,
    TK_RPAREN,
    TK_COMMA,
    TK_DOT,
    TK_SEMI,
    TK_STAR,
    TK_PLUS,
    TK_MINUS,
    TK_SLASH,
    TK_PERCENT,
    TK_CONCAT,   /* || */
    TK_EQ,       /* = or == */
    TK_NE,       /* <> or != */
    TK_LT,
    TK_LE,
    TK_GT,
    TK_GE,
    TK_TILDE,    /* ~ */
    TK_NTILDE,   /* !~ */
    TK_TILDE_STAR,  /* ~* */
    TK_NTILDE_STAR, /* !~* */
    TK_CAST,     /* :: */
    TK_ERROR,    /* lexical error: see sql_lexer.err_msg */
};

/* Keywords; KW_NONE for an identifier that is not one. */
enum sql_kw {
    KW_NONE = 0,
    KW_ALL,
    KW_ANALYZE,
    KW_AND,
    KW_AS,
    KW_ASC,
    KW_BETWEEN,
    KW_BY,
    KW_CASE,
    KW_CAST,
    KW_COLUMNS,
    KW_CREATE,
    KW_CROSS,
    KW_DELETE,
    KW_DESC,
    KW_DISTINCT,
    KW_DROP,
    KW_ELSE,
    KW_END,
    KW_EXCEPT,
    KW_EXISTS,
    KW_EXPLAIN,
    KW_FALSE,
    KW_FIRST,
    KW_FROM,
    KW_FULL,
    KW_GROUP,
    KW_HAVING,
    KW_ILIKE,
    KW_IN,
    KW_INNER,
    KW_INSERT,
    KW_INTERSECT,
    KW_INTERVAL,
    KW_IS,
    KW_JOIN,
    KW_LAST,
    KW_LEFT,
    KW_LIKE,
    KW_LIMIT,
    KW_NATURAL,
    KW_NOT,
    KW_NULL,
    KW_NULLS,
    KW_OFFSET,
    KW_ON,
    KW_OR,
    KW_ORDER,
    KW_OUTER,
    KW_OVER,
    KW_RIGHT,
    KW_SELECT,
    KW_SHOW,
    KW_TABLES,
    KW_THEN,
    KW_TIMESTAMP,
    KW_TRUE,
    KW_UNION,
    KW_UPDATE,
    KW_USING,
    KW_WHEN,
    KW_WHERE,
    KW_WINDOW,
    KW_WITH,
    KW__COUNT
};

struct sql_token {
    enum sql_tok kind;
    enum sql_kw kw;  /* TK_IDENT only */
    uint32_t pos;    /* byte offset of the first byte */
    uint32_t len;    /* bytes of source text */
};

struct sql_lexer {
    const char *src;
    uint32_t len;
    uint32_t pos;
    const char *err_msg; /* set with TK_ERROR; err_pos says where */
    uint32_t err_pos;
};

void sql__lex_init(struct sql_lexer *lx, const char *src, uint32_t len);
/* The next token; skips whitespace and comments. TK_EOF at the end. */
struct sql_token sql__lex_next(struct sql_lexer *lx);

/* Keyword lookup for a bare word (any case); KW_NONE if it is not one. */
enum sql_kw sql__keyword(const char *p, uint32_t len);
/* A reserved keyword can never be a bare identifier or alias. */
bool sql__keyword_reserved(enum sql_kw kw);
/* The keyword's spelling in upper case. */
const char *sql__keyword_name(enum sql_kw kw);

/* Parse the text of INTERVAL '...' into ns: "5 minutes", "1 hour 30 minutes",
 * "10s", "2 days". On failure returns -1 and sets *why. */
int sql__parse_interval(const char *s, size_t len, int64_t *out_ns, const char **why);

#endif
