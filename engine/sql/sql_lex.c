/*
 * sql_lex.c: the SQL lexer, first stage of the front end.
 *
 * A table maps every byte to a character class, and one switch on the class
 * of the first byte decides the token kind; words are then classified with
 * the keyword table (sql_keywords.c). Tokens are (kind, offset, length)
 * views into the text: nothing is copied or allocated here, so the parser
 * and the normaliser (sql_normalize.c) share this code.
 *
 * Accepted: -- line comments, nested-free block comments, 'strings' with ''
 * for a quote, "identifiers" with "" for a quote, integers, decimals with
 * exponents, $name parameters, the operators of sql_int.h. Bytes >= 0x80
 * (UTF-8) may appear in words, strings and quoted identifiers. Control
 * characters other than whitespace, and NUL, are errors: SQL text must be
 * printable so that normalised logs stay clean.
 */
#include "sql_int.h"

enum cc {
    CC_ILLEGAL = 0,
    CC_SPACE,
    CC_ALPHA, /* letters, '_', and bytes of UTF-8 sequences */
    CC_DIGIT,
    CC_QUOTE,  /* ' */
    CC_DQUOTE, /* " */
    CC_DOLLAR,
    CC_MINUS,
    CC_SLASH,
    CC_DOT,
    CC_LT,
    CC_GT,
    CC_EQ,
    CC_BANG,
    CC_PIPE,
    CC_TILDE,
    CC_COLON,
    CC_SINGLE, /* ( ) , ; * + % : one-byte tokens */
};

static const uint8_t cc_table[256] = {
    ['\t'] = CC_SPACE, ['\n'] = CC_SPACE, ['\r'] = CC_SPACE, ['\f'] = CC_SPACE, ['\v'] = CC_SPACE,
    [' '] = CC_SPACE,
    ['a' ... 'z'] = CC_ALPHA, ['A' ... 'Z'] = CC_ALPHA, ['_'] = CC_ALPHA,
    [0x80 ... 0xff] = CC_ALPHA,
    ['0' ... '9'] = CC_DIGIT,
    ['\''] = CC_QUOTE, ['"'] = CC_DQUOTE, ['$'] = CC_DOLLAR, ['-'] = CC_MINUS, ['/'] = CC_SLASH,
    ['.'] = CC_DOT, ['<'] = CC_LT, ['>'] = CC_GT, ['='] = CC_EQ, ['!'] = CC_BANG, ['|'] = CC_PIPE,
    ['~'] = CC_TILDE, [':'] = CC_COLON,
    ['('] = CC_SINGLE, [')'] = CC_SINGLE, [','] = CC_SINGLE, [';'] = CC_SINGLE, ['*'] = CC_SINGLE,
    ['+'] = CC_SINGLE, ['%'] = CC_SINGLE,
};

static inline enum cc
cls(unsigned char c)
{
    return (enum cc)cc_table[c];
}

void
sql__lex_init(struct sql_lexer *lx, const char *src, uint32_t len)
{
    lx->src = src;
    lx->len = len;
    lx->pos = 0;
    lx->err_msg = NULL;
    lx->err_pos = 0;
}

static struct sql_token
tok(enum sql_tok k, uint32_t pos, uint32_t end)
{
    struct sql_token t = {k, KW_NONE, pos, end - pos};
    return t;
}

static struct sql_token
lex_error(struct sql_lexer *lx, uint32_t pos, const char *msg)
{
    lx->err_msg = msg;
    lx->err_pos = pos;
    lx->pos = lx->len; /* stop: everything after an error is unreliable */
    return tok(TK_ERROR, pos, pos);
}

/* Skip whitespace and comments; 0 on success, -1 on an unterminated comment. */
static int
skip_space(struct sql_lexer *lx)
{
    const char *s = lx->src;
    uint32_t p = lx->pos, n = lx->len;
    for (;;) {
        while (p < n && cls((unsigned char)s[p]) == CC_SPACE)
            p++;
        if (p + 1 < n && s[p] == '-' && s[p + 1] == '-') {
            while (p < n && s[p] != '\n')
                p++;
            continue;
        }
        if (p + 1 < n && s[p] == '/' && s[p + 1] == '*') {
            uint32_t start = p;
            p += 2;
            while (p + 1 < n && !(s[p] == '*' && s[p + 1] == '/'))
                p++;
            if (p + 1 >= n) {
                lx->pos = start;
                return -1;
            }
            p += 2;
            continue;
        }
        break;
    }
    lx->pos = p;
    return 0;
}

static struct sql_token
lex_number(struct sql_lexer *lx, uint32_t start)
{
    const char *s = lx->src;
    uint32_t p = start, n = lx->len;
    bool is_float = false;
    while (p < n && cls((unsigned char)s[p]) == CC_DIGIT)
        p++;
    if (p < n && s[p] == '.') {
        is_float = true;
        p++;
        while (p < n && cls((unsigned char)s[p]) == CC_DIGIT)
            p++;
    }
    if (p < n && (s[p] == 'e' || s[p] == 'E')) {
        uint32_t q = p + 1;
        if (q < n && (s[q] == '+' || s[q] == '-'))
            q++;
        if (q < n && cls((unsigned char)s[q]) == CC_DIGIT) {
            is_float = true;
            p = q;
            while (p < n && cls((unsigned char)s[p]) == CC_DIGIT)
                p++;
        } else {
            return lex_error(lx, p, "malformed number: exponent without digits");
        }
    }
    if (p < n && cls((unsigned char)s[p]) == CC_ALPHA)
        return lex_error(lx, p, "malformed number: letters after digits");
    lx->pos = p;
    return tok(is_float ? TK_FLOAT : TK_INTEGER, start, p);
}

/* A quoted run ('...' or "..."), the quote doubled inside. */
static struct sql_token
lex_quoted(struct sql_lexer *lx, uint32_t start, char q, enum sql_tok kind)
{
    const char *s = lx->src;
    uint32_t p = start + 1, n = lx->len;
    for (;;) {
        if (p >= n)
            return lex_error(lx, start, q == '\'' ? "unterminated string literal"
                                                  : "unterminated quoted identifier");
        unsigned char c = (unsigned char)s[p];
        if (c == (unsigned char)q) {
            if (p + 1 < n && s[p + 1] == q) {
                p += 2;
                continue;
            }
            p++;
            break;
        }
        if (c == 0)
            return lex_error(lx, p, "NUL byte in SQL text");
        p++;
    }
    lx->pos = p;
    return tok(kind, start, p);
}

struct sql_token
sql__lex_next(struct sql_lexer *lx)
{
    if (skip_space(lx) != 0)
        return lex_error(lx, lx->pos, "unterminated block comment");
    const char *s = lx->src;
    uint32_t p = lx->pos, n = lx->len;
    if (p >= n)
        return tok(TK_EOF, n, n);
    unsigned char c = (unsigned char)s[p];
    unsigned char c1 = p + 1 < n ? (unsigned char)s[p + 1] : 0;

    switch (cls(c)) {
    case CC_ALPHA: {
        uint32_t q = p + 1;
        while (q < n) {
            enum cc k = cls((unsigned char)s[q]);
            if (k != CC_ALPHA && k != CC_DIGIT)
                break;
            q++;
        }
        lx->pos = q;
        struct sql_token t = tok(TK_IDENT, p, q);
        t.kw = sql__keyword(s + p, q - p);
        return t;
    }
    case CC_DIGIT:
        return lex_number(lx, p);
    case CC_DOT:
        if (cls(c1) == CC_DIGIT)
            return lex_number(lx, p);
        lx->pos = p + 1;
        return tok(TK_DOT, p, p + 1);
    case CC_QUOTE:
        return lex_quoted(lx, p, '\'', TK_STRING);
    case CC_DQUOTE:
        return lex_quoted(lx, p, '"', TK_QIDENT);
    case CC_DOLLAR: {
        uint32_t q = p + 1;
        while (q < n && (cls((unsigned char)s[q]) == CC_ALPHA || cls((unsigned char)s[q]) == CC_DIGIT))
            q++;
        if (q == p + 1)
            return lex_error(lx, p, "expected a parameter name after '$'");
        lx->pos = q;
        return tok(TK_PARAM, p, q);
    }
    case CC_MINUS:
        lx->pos = p + 1;
        return tok(TK_MINUS, p, p + 1);
    case CC_SLASH:
        lx->pos = p + 1;
        return tok(TK_SLASH, p, p + 1);
    case CC_LT:
        if (c1 == '=') {
            lx->pos = p + 2;
            return tok(TK_LE, p, p + 2);
        }
        if (c1 == '>') {
            lx->pos = p + 2;
            return tok(TK_NE, p, p + 2);
        }
        lx->pos = p + 1;
        return tok(TK_LT, p, p + 1);
    case CC_GT:
        if (c1 == '=') {
            lx->pos = p + 2;
            return tok(TK_GE, p, p + 2);
        }
        lx->pos = p + 1;
        return tok(TK_GT, p, p + 1);
    case CC_EQ:
        lx->pos = p + (c1 == '=' ? 2 : 1);
        return tok(TK_EQ, p, lx->pos);
    case CC_BANG:
        if (c1 == '=') {
            lx->pos = p + 2;
            return tok(TK_NE, p, p + 2);
        }
        if (c1 == '~') {
            if (p + 2 < n && s[p + 2] == '*') {
                lx->pos = p + 3;
                return tok(TK_NTILDE_STAR, p, p + 3);
            }
            lx->pos = p + 2;
            return tok(TK_NTILDE, p, p + 2);
        }
        return lex_error(lx, p, "unexpected character '!'");
    case CC_PIPE:
        if (c1 == '|') {
            lx->pos = p + 2;
            return tok(TK_CONCAT, p, p + 2);
        }
        return lex_error(lx, p, "unexpected character '|'");
    case CC_TILDE:
        if (c1 == '*') {
            lx->pos = p + 2;
            return tok(TK_TILDE_STAR, p, p + 2);
        }
        lx->pos = p + 1;
        return tok(TK_TILDE, p, p + 1);
    case CC_COLON:
        if (c1 == ':') {
            lx->pos = p + 2;
            return tok(TK_CAST, p, p + 2);
        }
        return lex_error(lx, p, "unexpected character ':'");
    case CC_SINGLE: {
        enum sql_tok k;
        switch (c) {
        case '(':
            k = TK_LPAREN;
            break;
        case ')':
            k = TK_RPAREN;
            break;
        case ',':
            k = TK_COMMA;
            break;
        case ';':
            k = TK_SEMI;
            break;
        case '*':
            k = TK_STAR;
            break;
        case '+':
            k = TK_PLUS;
            break;
        default:
            k = TK_PERCENT;
            break;
        }
        lx->pos = p + 1;
        return tok(k, p, p + 1);
    }
    case CC_SPACE:
    case CC_ILLEGAL:
        break;
    }
    if (c == 0)
        return lex_error(lx, p, "NUL byte in SQL text");
    return lex_error(lx, p, "unexpected character");
}
