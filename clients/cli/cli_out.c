/*
 * cli_out.c: the output formats of `strata`: aligned tables, CSV (RFC 4180),
 * JSON arrays and JSON lines, for query results and admin listings alike.
 *
 * Values: timestamps are RFC 3339 in UTC with as many fractional digits as
 * needed (2023-11-14T22:13:20.5Z); floats are the shortest text that reads
 * back to the same double; 64-bit integers are exact. NULL is an empty cell
 * in tables and CSV and null in JSON; non-finite floats are NaN/+Inf/-Inf in
 * tables and CSV and null in JSON (JSON has no such numbers).
 *
 * Tables: columns are sized from the first 10,000 rows (display width of
 * UTF-8, wide characters counted twice), numbers right-aligned; control
 * characters and invalid UTF-8 are shown escaped (\n, \t, \x01) so a row
 * stays on one line. CSV: a header row, CRLF line ends, fields quoted when
 * they hold a comma, a quote, CR or LF, quotes doubled. JSON: one object per
 * row keyed by column name; strings escaped per RFC 8259, invalid UTF-8
 * replaced by U+FFFD.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "cli.h"
#include "strata/clock.h"
#include "strata/buf.h"

#define TABLE_SIZING_ROWS 10000

struct out {
    FILE *f;
    enum out_format fmt;
    uint32_t n_cols;
    char **names;
    uint64_t rows;
    enum st_code rc;
    /* table */
    size_t *width;
    bool *right;
    bool *kind_known;
    char ***held; /* rows kept for sizing: n_held x n_cols strings */
    size_t n_held;
    bool flushed; /* header printed, widths fixed */
    struct st_buf line;
};

enum st_code
out_format_parse(const char *name, enum out_format *out)
{
    static const struct {
        const char *name;
        enum out_format f;
    } names[] = {{"table", OUT_TABLE}, {"pretty", OUT_TABLE}, {"csv", OUT_CSV},
                 {"json", OUT_JSON},   {"jsonl", OUT_JSONL},  {"ndjson", OUT_JSONL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].f;
            return ST_OK;
        }
    return ST_EINVAL;
}

/* ---- values ------------------------------------------------------------------ */

void
fmt_time_rfc3339(int64_t ns, char *buf, size_t cap)
{
    st_format_rfc3339(ns, buf, (unsigned)cap);
}

void
fmt_double(double d, char *buf, size_t cap)
{
    if (isnan(d)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, cap, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) return;
    }
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t
utf8_len(const unsigned char *p, size_t avail, uint32_t *cp)
{
    unsigned c = p[0];
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2;
        *cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        *cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        *cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        *cp = *cp << 6 | (p[i] & 0x3f);
    }
    if ((len == 2 && *cp < 0x80) || (len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
        *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

/* Terminal columns taken by a (clean, escaped) UTF-8 string. */
static size_t
display_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_len(p + i, n - i, &cp);
        if (l == 0) {
            i++;
            w++;
            continue;
        }
        int cw = wcwidth((wchar_t)cp);
        w += cw < 0 ? 1 : (size_t)cw;
        i += l;
    }
    return w;
}

/* Text of a cell for tables (escape) and CSV (raw). */
static enum st_code
cell_text(struct st_buf *b, const struct cell *c, bool escape)
{
    char tmp[64];
    switch (c->kind) {
    case CELL_NULL:
        return ST_OK;
    case CELL_INT:
        return st_buf_printf(b, "%lld", (long long)c->v.i);
    case CELL_UINT:
        return st_buf_printf(b, "%llu", (unsigned long long)c->v.u);
    case CELL_FLOAT:
        fmt_double(c->v.f, tmp, sizeof tmp);
        return st_buf_append_str(b, tmp);
    case CELL_BOOL:
        return st_buf_append_str(b, c->v.b ? "true" : "false");
    case CELL_TIME:
        fmt_time_rfc3339(c->v.i, tmp, sizeof tmp);
        return st_buf_append_str(b, tmp);
    case CELL_STR:
        break;
    }
    if (!escape) return st_buf_append(b, c->v.s.p, c->v.s.len);
    const unsigned char *p = (const unsigned char *)c->v.s.p;
    for (size_t i = 0; i < c->v.s.len;) {
        uint32_t cp;
        size_t l = utf8_len(p + i, c->v.s.len - i, &cp);
        enum st_code rc;
        if (l == 0) {
            rc = st_buf_printf(b, "\\x%02x", p[i]);
            i++;
        } else if (cp == '\n') {
            rc = st_buf_append_str(b, "\\n");
            i++;
        } else if (cp == '\t') {
            rc = st_buf_append_str(b, "\\t");
            i++;
        } else if (cp == '\r') {
            rc = st_buf_append_str(b, "\\r");
            i++;
        } else if (cp < 0x20 || cp == 0x7f) {
            rc = st_buf_printf(b, "\\x%02x", (unsigned)cp);
            i++;
        } else {
            rc = st_buf_append(b, p + i, l);
            i += l;
        }
        if (rc != ST_OK) return rc;
    }
    return ST_OK;
}

static enum st_code
json_str(struct st_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    ST_TRY(st_buf_append_byte(b, '"'));
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_len(p + i, n - i, &cp);
        enum st_code rc;
        if (l == 0) {
            rc = st_buf_append_str(b, "\\ufffd");
            i++;
            if (rc != ST_OK) return rc;
            continue;
        }
        switch (cp) {
        case '"':
            rc = st_buf_append_str(b, "\\\"");
            break;
        case '\\':
            rc = st_buf_append_str(b, "\\\\");
            break;
        case '\n':
            rc = st_buf_append_str(b, "\\n");
            break;
        case '\r':
            rc = st_buf_append_str(b, "\\r");
            break;
        case '\t':
            rc = st_buf_append_str(b, "\\t");
            break;
        case '\b':
            rc = st_buf_append_str(b, "\\b");
            break;
        case '\f':
            rc = st_buf_append_str(b, "\\f");
            break;
        default:
            if (cp < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15]};
                rc = st_buf_append(b, e, 6);
            } else {
                rc = st_buf_append(b, p + i, l);
            }
        }
        if (rc != ST_OK) return rc;
        i += l;
    }
    return st_buf_append_byte(b, '"');
}

static enum st_code
json_value(struct st_buf *b, const struct cell *c)
{
    char tmp[64];
    switch (c->kind) {
    case CELL_NULL:
        return st_buf_append_str(b, "null");
    case CELL_INT:
        return st_buf_printf(b, "%lld", (long long)c->v.i);
    case CELL_UINT:
        return st_buf_printf(b, "%llu", (unsigned long long)c->v.u);
    case CELL_FLOAT:
        if (!isfinite(c->v.f)) return st_buf_append_str(b, "null");
        fmt_double(c->v.f, tmp, sizeof tmp);
        return st_buf_append_str(b, tmp);
    case CELL_BOOL:
        return st_buf_append_str(b, c->v.b ? "true" : "false");
    case CELL_TIME:
        fmt_time_rfc3339(c->v.i, tmp, sizeof tmp);
        return json_str(b, tmp, strlen(tmp));
    case CELL_STR:
        return json_str(b, c->v.s.p, c->v.s.len);
    }
    return ST_OK;
}

static enum st_code
csv_field(struct st_buf *b, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) return st_buf_append(b, s, n);
    ST_TRY(st_buf_append_byte(b, '"'));
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') ST_TRY(st_buf_append_byte(b, '"'));
        ST_TRY(st_buf_append_byte(b, (uint8_t)s[i]));
    }
    return st_buf_append_byte(b, '"');
}

/* ---- the printer ---------------------------------------------------------------- */

static void
emit(struct out *o, const void *p, size_t n)
{
    if (o->rc == ST_OK && n && fwrite(p, 1, n, o->f) != n) o->rc = ST_EIO;
}

static void
emit_line(struct out *o)
{
    emit(o, o->line.data, o->line.len);
    st_buf_reset(&o->line);
}

struct out *
out_begin(FILE *f, enum out_format fmt, const char *const *names, uint32_t n_cols)
{
    struct out *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->f = f;
    o->fmt = fmt;
    o->n_cols = n_cols;
    st_buf_init(&o->line, SIZE_MAX);
    o->names = calloc(n_cols ? n_cols : 1, sizeof *o->names);
    o->width = calloc(n_cols ? n_cols : 1, sizeof *o->width);
    o->right = calloc(n_cols ? n_cols : 1, sizeof *o->right);
    o->kind_known = calloc(n_cols ? n_cols : 1, sizeof *o->kind_known);
    if (!o->names || !o->width || !o->right || !o->kind_known) {
        o->rc = ST_ENOMEM;
        return o;
    }
    for (uint32_t i = 0; i < n_cols; i++) {
        o->names[i] = strdup(names[i] ? names[i] : "");
        if (!o->names[i]) {
            o->rc = ST_ENOMEM;
            return o;
        }
        o->width[i] = display_width(o->names[i]);
    }
    if (fmt == OUT_CSV) {
        for (uint32_t i = 0; i < n_cols && o->rc == ST_OK; i++) {
            if (i) st_buf_append_byte(&o->line, ',');
            o->rc = csv_field(&o->line, o->names[i], strlen(o->names[i]));
        }
        if (n_cols) st_buf_append_str(&o->line, "\r\n");
        emit_line(o);
    } else if (fmt == OUT_JSON) {
        emit(o, "[", 1);
    }
    return o;
}

static void
table_rule(struct out *o)
{
    st_buf_append_byte(&o->line, '+');
    for (uint32_t i = 0; i < o->n_cols; i++) {
        for (size_t k = 0; k < o->width[i] + 2; k++)
            st_buf_append_byte(&o->line, '-');
        st_buf_append_byte(&o->line, '+');
    }
    st_buf_append_byte(&o->line, '\n');
    emit_line(o);
}

static void
table_cells(struct out *o, char *const *cells, bool header)
{
    st_buf_append_byte(&o->line, '|');
    for (uint32_t i = 0; i < o->n_cols; i++) {
        size_t w = display_width(cells[i]);
        size_t pad = o->width[i] > w ? o->width[i] - w : 0;
        st_buf_append_byte(&o->line, ' ');
        if (o->right[i] && !header)
            for (size_t k = 0; k < pad; k++)
                st_buf_append_byte(&o->line, ' ');
        st_buf_append_str(&o->line, cells[i]);
        if (!o->right[i] || header)
            for (size_t k = 0; k < pad; k++)
                st_buf_append_byte(&o->line, ' ');
        st_buf_append_str(&o->line, " |");
    }
    st_buf_append_byte(&o->line, '\n');
    emit_line(o);
}

static void
free_row(char **row, uint32_t n)
{
    for (uint32_t i = 0; row && i < n; i++)
        free(row[i]);
    free(row);
}

static void
table_flush(struct out *o)
{
    if (o->flushed) return;
    o->flushed = true;
    if (o->n_cols == 0) return;
    table_rule(o);
    table_cells(o, o->names, true);
    table_rule(o);
    for (size_t r = 0; r < o->n_held; r++) {
        table_cells(o, o->held[r], false);
        free_row(o->held[r], o->n_cols);
    }
    free(o->held);
    o->held = NULL;
    o->n_held = 0;
}

enum st_code
out_row(struct out *o, const struct cell *cells)
{
    if (o->rc != ST_OK) return o->rc;
    o->rows++;
    if (o->fmt == OUT_TABLE) {
        char **row = calloc(o->n_cols ? o->n_cols : 1, sizeof *row);
        if (!row) return o->rc = ST_ENOMEM;
        struct st_buf t;
        st_buf_init(&t, SIZE_MAX);
        for (uint32_t i = 0; i < o->n_cols; i++) {
            st_buf_reset(&t);
            if (cell_text(&t, &cells[i], true) != ST_OK || st_buf_append_byte(&t, 0) != ST_OK) {
                st_buf_cleanup(&t);
                free_row(row, o->n_cols);
                return o->rc = ST_ENOMEM;
            }
            row[i] = strdup((const char *)t.data);
            if (!row[i]) {
                st_buf_cleanup(&t);
                free_row(row, o->n_cols);
                return o->rc = ST_ENOMEM;
            }
            if (cells[i].kind != CELL_NULL && !o->kind_known[i]) {
                o->kind_known[i] = true;
                o->right[i] = cells[i].kind == CELL_INT || cells[i].kind == CELL_UINT ||
                              cells[i].kind == CELL_FLOAT;
            }
        }
        st_buf_cleanup(&t);
        if (o->flushed) {
            table_cells(o, row, false);
            free_row(row, o->n_cols);
            return o->rc;
        }
        for (uint32_t i = 0; i < o->n_cols; i++) {
            size_t w = display_width(row[i]);
            if (w > o->width[i]) o->width[i] = w;
        }
        char ***nh = realloc(o->held, (o->n_held + 1) * sizeof *nh);
        if (!nh) {
            free_row(row, o->n_cols);
            return o->rc = ST_ENOMEM;
        }
        o->held = nh;
        o->held[o->n_held++] = row;
        if (o->n_held >= TABLE_SIZING_ROWS) table_flush(o);
        return o->rc;
    }
    enum st_code rc = ST_OK;
    if (o->fmt == OUT_CSV) {
        struct st_buf t;
        st_buf_init(&t, SIZE_MAX);
        for (uint32_t i = 0; i < o->n_cols && rc == ST_OK; i++) {
            if (i) rc = st_buf_append_byte(&o->line, ',');
            st_buf_reset(&t);
            if (rc == ST_OK) rc = cell_text(&t, &cells[i], false);
            if (rc == ST_OK) rc = csv_field(&o->line, (const char *)t.data, t.len);
        }
        st_buf_cleanup(&t);
        if (rc == ST_OK) rc = st_buf_append_str(&o->line, "\r\n");
    } else {
        if (o->fmt == OUT_JSON && o->rows > 1) rc = st_buf_append_str(&o->line, ",\n");
        if (rc == ST_OK) rc = st_buf_append_byte(&o->line, '{');
        for (uint32_t i = 0; i < o->n_cols && rc == ST_OK; i++) {
            if (i) rc = st_buf_append_byte(&o->line, ',');
            if (rc == ST_OK) rc = json_str(&o->line, o->names[i], strlen(o->names[i]));
            if (rc == ST_OK) rc = st_buf_append_byte(&o->line, ':');
            if (rc == ST_OK) rc = json_value(&o->line, &cells[i]);
        }
        if (rc == ST_OK) rc = st_buf_append_byte(&o->line, '}');
        if (rc == ST_OK && o->fmt == OUT_JSONL) rc = st_buf_append_byte(&o->line, '\n');
    }
    if (rc != ST_OK) return o->rc = rc;
    emit_line(o);
    return o->rc;
}

uint64_t
out_rows(const struct out *o)
{
    return o->rows;
}

enum st_code
out_end(struct out *o, bool footer)
{
    if (!o) return ST_ENOMEM;
    if (o->rc == ST_OK) {
        switch (o->fmt) {
        case OUT_TABLE:
            table_flush(o);
            if (o->n_cols) table_rule(o);
            if (footer) {
                char f[48];
                snprintf(f, sizeof f, "(%llu row%s)\n", (unsigned long long)o->rows,
                         o->rows == 1 ? "" : "s");
                emit(o, f, strlen(f));
            }
            break;
        case OUT_JSON:
            emit(o, "]\n", 2);
            break;
        default:
            break;
        }
    }
    enum st_code rc = o->rc;
    if (rc == ST_OK && ferror(o->f)) rc = ST_EIO;
    for (size_t r = 0; r < o->n_held; r++)
        free_row(o->held[r], o->n_cols);
    free(o->held);
    free_row(o->names, o->n_cols);
    free(o->width);
    free(o->right);
    free(o->kind_known);
    st_buf_cleanup(&o->line);
    free(o);
    return rc;
}

/* ---- query results -------------------------------------------------------------- */

enum st_code
cli_print_result(struct strata_result *r, FILE *f, enum out_format fmt, bool footer, uint64_t *rows,
                 struct st_error *err)
{
    uint32_t n = strata_result_n_columns(r);
    const char **names = calloc(n ? n : 1, sizeof *names);
    struct cell *cells = calloc(n ? n : 1, sizeof *cells);
    if (!names || !cells) {
        free(names);
        free(cells);
        return st_error_set(err, ST_ENOMEM, "allocating the output");
    }
    for (uint32_t i = 0; i < n; i++)
        names[i] = strata_result_column_name(r, i);
    struct out *o = out_begin(f, fmt, names, n);
    enum st_code rc = o ? ST_OK : st_error_set(err, ST_ENOMEM, "allocating the output");
    bool more;
    while (rc == ST_OK && (rc = strata_result_next(r, &more, err)) == ST_OK && more) {
        const struct st_batch *b = strata_result_batch(r);
        for (uint32_t row = 0; row < b->n_rows && rc == ST_OK; row++) {
            for (uint32_t c = 0; c < n; c++) {
                const struct st_column *col = &b->cols[c];
                struct cell *x = &cells[c];
                if (!st_column_is_valid(col, row)) {
                    x->kind = CELL_NULL;
                    continue;
                }
                switch (col->type) {
                case ST_TYPE_TIME:
                    x->kind = CELL_TIME;
                    x->v.i = col->v.i64[row];
                    break;
                case ST_TYPE_INT:
                    x->kind = CELL_INT;
                    x->v.i = col->v.i64[row];
                    break;
                case ST_TYPE_UINT:
                    x->kind = CELL_UINT;
                    x->v.u = col->v.u64[row];
                    break;
                case ST_TYPE_FLOAT:
                    x->kind = CELL_FLOAT;
                    x->v.f = col->v.f64[row];
                    break;
                case ST_TYPE_BOOL:
                    x->kind = CELL_BOOL;
                    x->v.b = col->v.b[row] != 0;
                    break;
                case ST_TYPE_STRING:
                    x->kind = CELL_STR;
                    x->v.s.p = col->str_data + col->v.offsets[row];
                    x->v.s.len = (size_t)(col->v.offsets[row + 1] - col->v.offsets[row]);
                    break;
                default:
                    x->kind = CELL_NULL;
                    break;
                }
            }
            enum st_code orc = out_row(o, cells);
            if (orc != ST_OK)
                rc = st_error_set(err, orc, "writing the output: %s", st_strerror(orc));
        }
    }
    if (rows) *rows = o ? out_rows(o) : 0;
    /* on a server error, still close what was printed (table rules, JSON bracket) */
    enum st_code erc = out_end(o, footer && rc == ST_OK);
    if (rc == ST_OK && erc != ST_OK)
        rc = st_error_set(err, erc, "writing the output: %s", st_strerror(erc));
    free(names);
    free(cells);
    return rc;
}
