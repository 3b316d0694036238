/*
 * sql_keywords.c: the keyword table of the SQL lexer.
 *
 * One row per keyword, sorted by spelling so a bare word is classified by a
 * binary search (at most 6 probes over the 63 entries) after folding it to
 * upper case into a small stack buffer. `reserved` keywords can never be
 * identifiers; the others (FIRST, LAST, TABLES, TIMESTAMP, ...) are keywords
 * only where the grammar expects them, so columns and functions may still
 * be called `first` or `timestamp`. A unit test checks the table is sorted
 * and that every enum value appears exactly once.
 */
#include "sql_int.h"

#include <string.h>

struct kw_row {
    const char *name;
    enum sql_kw kw;
    bool reserved;
};

static const struct kw_row kw_table[] = {
    {"ALL", KW_ALL, true},
    {"ANALYZE", KW_ANALYZE, false},
    {"AND", KW_AND, true},
    {"AS", KW_AS, true},
    {"ASC", KW_ASC, false},
    {"BETWEEN", KW_BETWEEN, true},
    {"BY", KW_BY, true},
    {"CASE", KW_CASE, true},
    {"CAST", KW_CAST, true},
    {"COLUMNS", KW_COLUMNS, false},
    {"CREATE", KW_CREATE, true},
    {"CROSS", KW_CROSS, true},
    {"DELETE", KW_DELETE, false},
    {"DESC", KW_DESC, false},
    {"DISTINCT", KW_DISTINCT, true},
    {"DROP", KW_DROP, true},
    {"ELSE", KW_ELSE, true},
    {"END", KW_END, true},
    {"EXCEPT", KW_EXCEPT, true},
    {"EXISTS", KW_EXISTS, true},
    {"EXPLAIN", KW_EXPLAIN, false},
    {"FALSE", KW_FALSE, true},
    {"FIRST", KW_FIRST, false},
    {"FROM", KW_FROM, true},
    {"FULL", KW_FULL, true},
    {"GROUP", KW_GROUP, true},
    {"HAVING", KW_HAVING, true},
    {"ILIKE", KW_ILIKE, true},
    {"IN", KW_IN, true},
    {"INNER", KW_INNER, true},
    {"INSERT", KW_INSERT, true},
    {"INTERSECT", KW_INTERSECT, true},
    {"INTERVAL", KW_INTERVAL, false},
    {"IS", KW_IS, true},
    {"JOIN", KW_JOIN, true},
    {"LAST", KW_LAST, false},
    {"LEFT", KW_LEFT, true},
    {"LIKE", KW_LIKE, true},
    {"LIMIT", KW_LIMIT, true},
    {"NATURAL", KW_NATURAL, true},
    {"NOT", KW_NOT, true},
    {"NULL", KW_NULL, true},
    {"NULLS", KW_NULLS, false},
    {"OFFSET", KW_OFFSET, true},
    {"ON", KW_ON, true},
    {"OR", KW_OR, true},
    {"ORDER", KW_ORDER, true},
    {"OUTER", KW_OUTER, true},
    {"OVER", KW_OVER, true},
    {"RIGHT", KW_RIGHT, true},
    {"SELECT", KW_SELECT, true},
    {"SHOW", KW_SHOW, false},
    {"TABLES", KW_TABLES, false},
    {"THEN", KW_THEN, true},
    {"TIMESTAMP", KW_TIMESTAMP, false},
    {"TRUE", KW_TRUE, true},
    {"UNION", KW_UNION, true},
    {"UPDATE", KW_UPDATE, true},
    {"USING", KW_USING, true},
    {"WHEN", KW_WHEN, true},
    {"WHERE", KW_WHERE, true},
    {"WINDOW", KW_WINDOW, true},
    {"WITH", KW_WITH, true},
};

#define KW_N (sizeof kw_table / sizeof kw_table[0])
_Static_assert(KW_N == KW__COUNT - 1, "every keyword has one row");

enum sql_kw
sql__keyword(const char *p, uint32_t len)
{
    char up[16];
    if (len == 0 || len >= sizeof up)
        return KW_NONE;
    for (uint32_t i = 0; i < len; i++) {
        char c = p[i];
        up[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    up[len] = '\0';
    size_t lo = 0, hi = KW_N;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(up, kw_table[mid].name);
        if (c == 0)
            return kw_table[mid].kw;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return KW_NONE;
}

static const struct kw_row *
kw_row(enum sql_kw kw)
{
    for (size_t i = 0; i < KW_N; i++)
        if (kw_table[i].kw == kw)
            return &kw_table[i];
    return NULL;
}

bool
sql__keyword_reserved(enum sql_kw kw)
{
    const struct kw_row *r = kw_row(kw);
    return r && r->reserved;
}

const char *
sql__keyword_name(enum sql_kw kw)
{
    const struct kw_row *r = kw_row(kw);
    return r ? r->name : "";
}
