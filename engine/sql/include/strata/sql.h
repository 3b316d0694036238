/*
 * sql.h: the interface to the SQL front end: the parser that turns SQL text
 * into an abstract syntax tree (AST), the AST itself, the normaliser that
 * strips literals before SQL reaches a log, and the arena that owns every
 * node of one query.
 *
 * Pipeline: text -> lexer (sql_lex.c) -> recursive-descent parser
 * (sql_parse.c) -> AST (this header) -> binder/planner (strata/plan.h).
 *
 * Invariants:
 *   - Every node carries `pos`, the byte offset in the SQL text of the
 *     construct it came from; every error carries the offset of its cause.
 *   - Unquoted identifiers are folded to lower case (ASCII); quoted ones
 *     ("Name") keep their case. Names in the AST are NUL-terminated strings.
 *   - Input is bounded: SQL_MAX_TEXT_LEN bytes, SQL_MAX_DEPTH levels of
 *     parenthesis/subquery nesting, SQL_MAX_HEIGHT levels of expression tree,
 *     SQL_MAX_LIST items in any list. Parsing
 *     never recurses deeper than SQL_MAX_DEPTH frames of the grammar, so a
 *     hostile query cannot exhaust the stack.
 *   - All memory belongs to one struct sql_arena; nothing is freed alone.
 */
#ifndef STRATA_SQL_H
#define STRATA_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/status.h"

#define SQL_MAX_TEXT_LEN (1u << 20) /* bytes of SQL text */
#define SQL_MAX_DEPTH 128           /* nesting of parentheses, NOT, subqueries */
#define SQL_MAX_HEIGHT 512          /* height of an expression tree (a+b+c+... chains) */
#define SQL_MAX_LIST 65536          /* items in a select list, IN list, ... */

/* ---- arena ------------------------------------------------------------- */

struct sql_arena_block;

/* A bump allocator: many small allocations, freed together. */
struct sql_arena {
    struct sql_arena_block *head;
    size_t total_bytes; /* bytes reserved from the system */
    size_t max_bytes;   /* ceiling on total_bytes */
};

void sql_arena_init(struct sql_arena *a, size_t max_bytes);
void sql_arena_cleanup(struct sql_arena *a);
/* Forget every allocation but keep one block for reuse. */
void sql_arena_reset(struct sql_arena *a);
/* n zeroed bytes aligned to 16; NULL when out of memory or over the ceiling. */
void *sql_arena_alloc(struct sql_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n). */
char *sql_arena_strndup(struct sql_arena *a, const char *s, size_t n);

/* ---- AST ---------------------------------------------------------------- */

enum sql_lit_kind {
    SQL_LIT_NULL = 0,
    SQL_LIT_BOOL,
    SQL_LIT_INT,       /* fits int64 */
    SQL_LIT_UINT,      /* above INT64_MAX, fits uint64 */
    SQL_LIT_FLOAT,
    SQL_LIT_STRING,
    SQL_LIT_TIMESTAMP, /* TIMESTAMP '...': ns since the epoch */
    SQL_LIT_INTERVAL,  /* INTERVAL '...': ns */
};

struct sql_literal {
    enum sql_lit_kind kind;
    union {
        bool b;
        int64_t i; /* INT, TIMESTAMP, INTERVAL */
        uint64_t u;
        double f;
        struct {
            const char *p; /* NUL-terminated, quotes removed */
            uint32_t len;
        } s;
    } v;
};

enum sql_op {
    /* unary */
    SQL_OP_NEG = 0,
    SQL_OP_NOT,
    /* arithmetic */
    SQL_OP_ADD,
    SQL_OP_SUB,
    SQL_OP_MUL,
    SQL_OP_DIV,
    SQL_OP_MOD,
    SQL_OP_CONCAT, /* || */
    /* comparison */
    SQL_OP_EQ,
    SQL_OP_NE,
    SQL_OP_LT,
    SQL_OP_LE,
    SQL_OP_GT,
    SQL_OP_GE,
    /* logic */
    SQL_OP_AND,
    SQL_OP_OR,
    /* POSIX regular expression match: ~ !~ ~* !~* */
    SQL_OP_RE_MATCH,
    SQL_OP_RE_NMATCH,
    SQL_OP_RE_IMATCH,
    SQL_OP_RE_NIMATCH,
};

/* A type named in CAST(x AS t) or x::t. */
enum sql_type_name {
    SQL_T_BIGINT = 0,
    SQL_T_UBIGINT,
    SQL_T_DOUBLE,
    SQL_T_STRING,
    SQL_T_BOOLEAN,
    SQL_T_TIMESTAMP,
};

enum sql_expr_kind {
    SQL_EXPR_LITERAL = 0,
    SQL_EXPR_COLUMN,   /* [qualifier.]name */
    SQL_EXPR_STAR,     /* [qualifier.]* (select lists only) */
    SQL_EXPR_PARAM,    /* $name */
    SQL_EXPR_UNARY,
    SQL_EXPR_BINARY,
    SQL_EXPR_FUNC,     /* name(args) | name(DISTINCT arg) | name(*) */
    SQL_EXPR_CASE,
    SQL_EXPR_CAST,
    SQL_EXPR_IN,       /* e [NOT] IN (list) */
    SQL_EXPR_BETWEEN,  /* e [NOT] BETWEEN lo AND hi */
    SQL_EXPR_IS_NULL,  /* e IS [NOT] NULL */
    SQL_EXPR_LIKE,     /* e [NOT] LIKE|ILIKE pattern */
    SQL_EXPR_SUBQUERY, /* (SELECT ...) as a value: parsed, refused by the binder */
};

struct sql_select;

struct sql_expr {
    enum sql_expr_kind kind;
    uint32_t pos;   /* byte offset of the construct (the operator for binary) */
    uint32_t start; /* first byte of the whole expression text */
    uint32_t end;   /* one past its last byte */
    uint32_t depth; /* height of the subtree (1 = leaf), bounded by SQL_MAX_HEIGHT */
    union {
        struct sql_literal lit;
        struct {
            const char *qual; /* NULL when unqualified */
            const char *name;
        } col;
        struct {
            const char *qual;
        } star;
        struct {
            const char *name; /* without the '$' */
        } param;
        struct {
            enum sql_op op;
            struct sql_expr *arg;
        } un;
        struct {
            enum sql_op op;
            struct sql_expr *l, *r;
        } bin;
        struct {
            const char *name; /* lower case */
            uint32_t n_args;
            struct sql_expr **args;
            bool distinct;
            bool star; /* count(*) */
        } func;
        struct {
            struct sql_expr *operand; /* CASE x WHEN ...; NULL for searched CASE */
            uint32_t n_when;
            struct sql_expr **when, **then;
            struct sql_expr *els; /* NULL when absent */
        } cas;
        struct {
            struct sql_expr *arg;
            enum sql_type_name to;
        } cast;
        struct {
            struct sql_expr *arg;
            uint32_t n;
            struct sql_expr **list;
            struct sql_select *subquery; /* IN (SELECT ...): refused by the binder */
            bool negated;
        } in;
        struct {
            struct sql_expr *arg, *lo, *hi;
            bool negated;
        } between;
        struct {
            struct sql_expr *arg;
            bool negated;
        } isnull;
        struct {
            struct sql_expr *arg, *pattern;
            bool negated;
            bool icase;
        } like;
        struct {
            struct sql_select *q;
        } subq;
    } u;
};

struct sql_select_item {
    struct sql_expr *e;
    const char *alias; /* NULL when none */
};

enum sql_nulls { SQL_NULLS_DEFAULT = 0, SQL_NULLS_FIRST, SQL_NULLS_LAST };

struct sql_order_item {
    struct sql_expr *e;
    bool desc;
    enum sql_nulls nulls;
};

enum sql_from_kind { SQL_FROM_TABLE = 0, SQL_FROM_SUBQUERY };

struct sql_from {
    enum sql_from_kind kind;
    uint32_t pos;
    const char *schema; /* "information_schema", "iox", ... or NULL */
    const char *name;   /* table name (TABLE) */
    struct sql_select *sub; /* SUBQUERY */
    const char *alias;  /* NULL when none */
};

struct sql_cte {
    const char *name;
    uint32_t pos;
    struct sql_select *q;
};

struct sql_select {
    uint32_t pos;
    uint32_t n_ctes;
    struct sql_cte *ctes;
    bool distinct;
    uint32_t n_distinct_on; /* DISTINCT ON (...) */
    struct sql_expr **distinct_on;
    uint32_t n_items;
    struct sql_select_item *items;
    struct sql_from *from; /* NULL: no FROM clause */
    struct sql_expr *where;
    uint32_t n_group;
    struct sql_expr **group;
    struct sql_expr *having;
    uint32_t n_order;
    struct sql_order_item *order;
    struct sql_expr *limit, *offset; /* NULL when absent */
};

enum sql_stmt_kind {
    SQL_STMT_SELECT = 0,
    SQL_STMT_EXPLAIN,
    SQL_STMT_SHOW_TABLES,
    SQL_STMT_SHOW_COLUMNS,
    SQL_STMT_DELETE,
};

struct sql_stmt {
    enum sql_stmt_kind kind;
    uint32_t pos;
    struct sql_select *select;   /* SELECT */
    struct sql_stmt *explained;  /* EXPLAIN: the statement explained */
    const char *table;           /* SHOW COLUMNS FROM t, DELETE FROM t */
    uint32_t table_pos;
    struct sql_expr *where;      /* DELETE ... WHERE (NULL: every row) */
};

/*
 * Parse one statement (an optional trailing ';' is allowed). On success
 * *out points into the arena. Errors: ST_EPARSE (syntax, with the offset of
 * the offending token), ST_EUNSUPPORTED (valid SQL this engine does not
 * run: joins, UNION, window functions, INSERT, ...), ST_ELIMIT (text too
 * long, nesting too deep, list too long), ST_ENOMEM.
 */
enum st_code sql_parse(const char *sql, size_t len, struct sql_arena *a, struct sql_stmt **out,
                       struct st_error *err);

/*
 * Render an expression as SQL text in a canonical form (lower-case
 * function names, single spaces): the column name of an unaliased select
 * item and the text EXPLAIN prints. Truncates to buflen-1 bytes.
 */
void sql_expr_format(const struct sql_expr *e, char *buf, size_t buflen);

/* An interval in its largest exact unit: "5 minutes", "1 hour", "90 seconds". */
void sql_format_interval(int64_t ns, char *buf, size_t buflen);

/* The SQL name of an operator ("+", "AND", "~"). */
const char *sql_op_name(enum sql_op op);

/*
 * Copy SQL into buf with every literal replaced by `?`, comments dropped
 * and whitespace collapsed to single spaces; never fails, always
 * NUL-terminates (when buflen > 0), never cuts a UTF-8 sequence in half.
 */
void sql_normalize(const char *sql, size_t len, char *buf, size_t buflen);

#endif
