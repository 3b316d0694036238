/*
 * backup_lp.c: the strict parser of a backup file's lines.
 *
 * A backup file is untrusted input (it sat on some disk, and may have been
 * edited, truncated or corrupted), so every line is parsed in full and
 * checked against the table's schema from the manifest before anything is
 * believed or restored:
 *
 *   - the syntax of line protocol, with the escapes of each position (see
 *     docs/formats/line-protocol.md), as the canonical writer produces it:
 *     one space between parts, a timestamp always present, a '\n' at the end;
 *   - the measurement is the table; every tag and field is a column of the
 *     schema, at most once, and every field value has the column's type;
 *   - then the line must be byte for byte the canonical text of the row it
 *     describes (backup_row.c): this one comparison rules out every other
 *     spelling (unsorted keys, `1.50`, `t`, unneeded escapes), so a file
 *     that passes holds exactly what its content digest says.
 *
 * The parser never reads past [p, p+n). A line that continues past the end
 * (a string value with newlines may make it long) asks for more input with
 * BK_LP_MORE, unless at_eof. Errors carry the byte offset in the line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backup_int.h"

struct lp {
    const char *p;
    size_t n;
    size_t pos;
    bool at_eof;
    struct st_buf *scratch;
    struct st_error *err;
    enum bk_lp_status status; /* BK_LP_MORE or BK_LP_ERROR once something stopped the parse */
};

static bool fail(struct lp *l, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool
fail(struct lp *l, size_t at, const char *fmt, ...)
{
    char msg[ST_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    l->status = BK_LP_ERROR;
    st_error_set_at(l->err, ST_ECORRUPT, (int64_t)at, "%s", msg);
    return false;
}

/* True when byte pos exists; else MORE (or an error at the end of the input). */
static bool
have(struct lp *l, size_t pos)
{
    if (pos >= BK_MAX_LINE) return fail(l, pos, "line is longer than 64 MiB");
    if (pos < l->n) return true;
    if (l->at_eof) return fail(l, pos, "unexpected end of file inside a line");
    l->status = BK_LP_MORE;
    return false;
}

/*
 * Read a name or tag value up to an unescaped byte of `stops` (not
 * consumed). `esc` lists the bytes a backslash escapes here. *out points to
 * the unescaped bytes (into the input when there were no escapes).
 */
static bool
read_token(struct lp *l, const char *stops, const char *esc, const char **out, size_t *out_len)
{
    size_t start = l->pos;
    bool escaped = false;
    size_t i = l->pos;
    for (;;) {
        if (!have(l, i)) return false;
        char ch = l->p[i];
        if (ch == '\\') {
            if (!have(l, i + 1)) return false;
            if (l->p[i + 1] == '\n') { /* a backslash does not continue a line */
                i++;
                break;
            }
            if (l->p[i + 1] && strchr(esc, l->p[i + 1])) escaped = true;
            i += 2;
            continue;
        }
        if (strchr(stops, ch) || ch == '\n') break;
        i++;
    }
    l->pos = i;
    if (!escaped) {
        *out = l->p + start;
        *out_len = i - start;
        return true;
    }
    size_t at = l->scratch->len;
    for (size_t k = start; k < i; k++) {
        if (l->p[k] == '\\' && k + 1 < i && l->p[k + 1] && strchr(esc, l->p[k + 1])) k++;
        l->scratch->data[l->scratch->len++] = (uint8_t)l->p[k];
    }
    *out = (const char *)l->scratch->data + at;
    *out_len = l->scratch->len - at;
    return true;
}

/* A string value after its opening quote, up to the closing one (consumed). */
static bool
read_string(struct lp *l, const char **out, size_t *out_len)
{
    size_t start = l->pos;
    bool escaped = false;
    size_t i = l->pos;
    for (;;) {
        if (!have(l, i)) return false;
        char ch = l->p[i];
        if (ch == '\\') {
            if (!have(l, i + 1)) return false;
            if (l->p[i + 1] == '"' || l->p[i + 1] == '\\') escaped = true;
            i += 2;
            continue;
        }
        if (ch == '"') break;
        i++;
    }
    l->pos = i + 1;
    if (!escaped) {
        *out = l->p + start;
        *out_len = i - start;
        return true;
    }
    size_t at = l->scratch->len;
    for (size_t k = start; k < i; k++) {
        if (l->p[k] == '\\' && (l->p[k + 1] == '"' || l->p[k + 1] == '\\')) k++;
        l->scratch->data[l->scratch->len++] = (uint8_t)l->p[k];
    }
    *out = (const char *)l->scratch->data + at;
    *out_len = l->scratch->len - at;
    return true;
}

static bool
parse_u64(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool
parse_i64(const char *p, size_t n, int64_t *out)
{
    bool neg = n > 0 && p[0] == '-';
    uint64_t u;
    if (!parse_u64(p + neg, n - neg, &u)) return false;
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1) return false;
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)u;
    }
    return true;
}

static bool
parse_value(struct lp *l, const struct bk_col *c, struct bk_val *v)
{
    size_t at = l->pos;
    if (c->type == ST_TYPE_STRING) {
        if (!have(l, l->pos)) return false;
        if (l->p[l->pos] != '"')
            return fail(l, at, "field \"%s\" is a string column; its value must be quoted",
                        c->name);
        l->pos++;
        if (!read_string(l, &v->v.s.p, &v->v.s.len)) return false;
        v->present = true;
        return true;
    }
    size_t i = l->pos;
    for (;;) {
        if (!have(l, i)) return false;
        char ch = l->p[i];
        if (ch == ',' || ch == ' ' || ch == '\n') break;
        i++;
    }
    const char *tok = l->p + at;
    size_t n = i - at;
    l->pos = i;
    bool ok = false;
    switch (c->type) {
    case ST_TYPE_INT:
        ok = n > 1 && tok[n - 1] == 'i' && parse_i64(tok, n - 1, &v->v.i);
        break;
    case ST_TYPE_UINT:
        ok = n > 1 && tok[n - 1] == 'u' && parse_u64(tok, n - 1, &v->v.u);
        break;
    case ST_TYPE_BOOL:
        if (n == 4 && memcmp(tok, "true", 4) == 0) {
            v->v.b = true;
            ok = true;
        } else if (n == 5 && memcmp(tok, "false", 5) == 0) {
            v->v.b = false;
            ok = true;
        }
        break;
    case ST_TYPE_FLOAT:
        /* digits, sign, '.', exponent only: strtod would also take "nan", "0x1p3" */
        ok = n > 0;
        for (size_t k = 0; k < n && ok; k++)
            ok = (tok[k] >= '0' && tok[k] <= '9') || tok[k] == '-' || tok[k] == '+' ||
                 tok[k] == '.' || tok[k] == 'e';
        ok = ok && bk_parse_float(tok, n, &v->v.f);
        break;
    default:
        break;
    }
    if (!ok) {
        switch (c->type) {
        case ST_TYPE_INT:
            return fail(l, at, "field \"%s\" is an integer column; its value must look like -12i",
                        c->name);
        case ST_TYPE_UINT:
            return fail(l, at, "field \"%s\" is an unsigned column; its value must look like 12u",
                        c->name);
        case ST_TYPE_BOOL:
            return fail(l, at, "field \"%s\" is a boolean column; its value must be true or false",
                        c->name);
        default:
            return fail(l, at, "field \"%s\" is a float column; its value must be a finite number",
                        c->name);
        }
    }
    v->present = true;
    return true;
}

/* A name from the file for a message: at most 100 bytes, control bytes as '?'. */
static void
quote_name(char *buf, size_t cap, const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 100 && k + 1 < cap; i++)
        buf[k++] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
    buf[k] = '\0';
}

/* The first byte where a and b differ. */
static size_t
first_diff(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0;
    while (i < an && i < bn && a[i] == b[i])
        i++;
    return i;
}

static bool
parse_line(struct lp *l, const struct bk_schema *s, struct bk_row *row)
{
    const char *name;
    size_t len;
    for (uint32_t i = 0; i < s->n_tags; i++)
        row->tags[i].present = false;
    for (uint32_t i = 0; i < s->n_fields; i++)
        row->fields[i].present = false;

    /* measurement */
    if (!read_token(l, ", ", ",\\ ", &name, &len)) return false;
    if (len != s->table_len || memcmp(name, s->table, len) != 0)
        return fail(l, 0, "the measurement is not the table \"%s\"", s->table);

    /* tags */
    while (l->p[l->pos] == ',') {
        size_t at = ++l->pos;
        if (!read_token(l, "=, ", ",= \\", &name, &len)) return false;
        if (l->p[l->pos] != '=') return fail(l, l->pos, "missing '=' after a tag key");
        int t = bk_schema_tag(s, name, len);
        if (t < 0) {
            char nm[128];
            quote_name(nm, sizeof nm, name, len);
            return fail(l, at, "tag \"%s\" is not a tag column of the table", nm);
        }
        if (row->tags[t].present) return fail(l, at, "tag \"%s\" appears twice", s->tags[t].name);
        l->pos++;
        if (!read_token(l, ", ", ",= \\", &row->tags[t].v.s.p, &row->tags[t].v.s.len)) return false;
        row->tags[t].present = true;
    }
    if (l->p[l->pos] != ' ') return fail(l, l->pos, "missing field set");
    l->pos++;

    /* fields */
    for (;;) {
        size_t at = l->pos;
        if (!read_token(l, "=, ", ",= \\", &name, &len)) return false;
        if (l->p[l->pos] != '=') return fail(l, l->pos, "missing '=' after a field key");
        int f = bk_schema_field(s, name, len);
        if (f < 0) {
            char nm[128];
            quote_name(nm, sizeof nm, name, len);
            return fail(l, at, "field \"%s\" is not a field column of the table", nm);
        }
        if (row->fields[f].present)
            return fail(l, at, "field \"%s\" appears twice", s->fields[f].name);
        l->pos++;
        if (!parse_value(l, &s->fields[f], &row->fields[f])) return false;
        if (!have(l, l->pos)) return false;
        if (l->p[l->pos] == ',') {
            l->pos++;
            continue;
        }
        if (l->p[l->pos] == ' ') break;
        return fail(l, l->pos, "expected ',' or a space after a field value");
    }
    l->pos++;

    /* timestamp and newline */
    size_t at = l->pos, i = l->pos;
    for (;;) {
        if (!have(l, i)) return false;
        if (l->p[i] == '\n') break;
        if (i - at > 21) return fail(l, at, "invalid timestamp");
        i++;
    }
    if (!parse_i64(l->p + at, i - at, &row->time))
        return fail(l, at, "invalid timestamp (nanoseconds expected)");
    l->pos = i + 1;
    return true;
}

enum bk_lp_status
bk_lp_parse(const struct bk_schema *s, const char *p, size_t n, bool at_eof, struct bk_row *row,
            struct st_buf *scratch, struct st_buf *canon, size_t *line_len, struct st_error *err)
{
    struct lp l = {.p = p, .n = n, .at_eof = at_eof, .scratch = scratch, .err = err};
    *line_len = 0;
    /* unescaped bytes never outnumber the line's: reserve once, pointers stay valid */
    size_t need = n < BK_MAX_LINE ? n : BK_MAX_LINE;
    st_buf_reset(scratch);
    if (st_buf_reserve(scratch, need + 1) != ST_OK) {
        st_error_set(err, ST_ENOMEM, "out of memory reading a backup line");
        return BK_LP_ERROR;
    }
    if (n == 0) {
        if (at_eof) {
            st_error_set_at(err, ST_ECORRUPT, 0, "unexpected end of file");
            return BK_LP_ERROR;
        }
        return BK_LP_MORE;
    }
    if (!parse_line(&l, s, row)) return l.status;

    /* the line must be the row's canonical text */
    struct st_error ferr;
    st_buf_reset(canon);
    if (bk_row_format(s, row, canon, &ferr) != ST_OK) {
        st_error_set_at(err, ferr.code == ST_ENOMEM ? ST_ENOMEM : ST_ECORRUPT, 0, "%s", ferr.msg);
        return BK_LP_ERROR;
    }
    if (canon->len != l.pos || memcmp(canon->data, p, l.pos) != 0) {
        size_t d = first_diff((const char *)canon->data, canon->len, p, l.pos);
        st_error_set_at(err, ST_ECORRUPT, (int64_t)d,
                        "the line is not in the canonical form a backup writes (it differs "
                        "from \"%.*s\" at this byte)",
                        (int)(canon->len - 1 < 120 ? canon->len - 1 : 120),
                        (const char *)canon->data);
        return BK_LP_ERROR;
    }
    *line_len = l.pos;
    return BK_LP_ROW;
}
