/*
 * backup_row.c: the canonical line protocol of a backup, and the canonical
 * row order. Everything a backup digest means is decided here.
 *
 * A table's columns (struct bk_schema) are kept as tags and fields, each
 * sorted by name bytewise, so the text of a row does not depend on the order
 * in which a database happened to learn its columns. A row's canonical line:
 *
 *   MEASUREMENT[,TAGKEY=TAGVALUE]... FIELDKEY=VALUE[,FIELDKEY=VALUE]... TIME\n
 *
 *   - exactly one space between the parts, the timestamp always written, in
 *     nanoseconds, as a signed decimal integer;
 *   - tags that are present (non-NULL), in tag-name order; fields that are
 *     present, in field-name order (a NULL field is left out; a row has at
 *     least one field);
 *   - escapes: in the measurement `\` `,` and space; in tag keys, tag values
 *     and field keys `\` `,` `=` and space; in string values `\` and `"`;
 *     each written as a backslash and the character. Nothing else is
 *     escaped. A name or tag value that ends with a backslash cannot be
 *     written (line protocol forbids it) and is an error;
 *   - values: integers `-12i`, unsigned `12u`, booleans `true` / `false`,
 *     strings in double quotes (newlines and other bytes as they are),
 *     floats as %.15g when that reads back (strtod) to the same double,
 *     else %.16g, else %.17g (`-0` for negative zero; NaN and infinities
 *     are errors).
 *
 * The canonical order of rows: by time, then by the tag values in tag-name
 * order, an absent tag before any value, values compared bytewise (memcmp,
 * shorter first). Time and the tag values identify a row (a series at one
 * instant), so the order is total and a stream in strictly increasing order
 * has no duplicates.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_int.h"

/* ---- the C locale for numbers --------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void
make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static locale_t
numeric_c(void)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale;
}

static const double pow10_exact[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/*
 * The %.15g text of d without printf, for the common case of a value that
 * is exactly the double nearest to a short decimal in fixed notation:
 * |d| in [1e-4, 1e15) and |d| == c / 10^k (IEEE division, so the double
 * nearest to the decimal c * 10^-k, which is what strtod returns for it)
 * for an integer c < 10^15, k <= 15. Such a decimal has at most 15
 * significant digits, and at most one decimal of 15 digits or fewer reads
 * back to a given double (DBL_DIG), so it is the one %.15g prints; with the
 * smallest k it has no trailing zero, and %g's fixed style applies for
 * exponents -4 .. 14. Returns 0 when the case does not apply.
 */
static size_t
format_short(double d, char *buf, size_t cap)
{
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15) || cap < 40) return 0;
    for (int k = 0; k <= 15; k++) {
        double scaled = a * pow10_exact[k];
        if (scaled >= 1e15) return 0;
        double c = nearbyint(scaled);
        if (c / pow10_exact[k] != a) continue;
        uint64_t ci = (uint64_t)c, p = (uint64_t)pow10_exact[k];
        int n = snprintf(buf, cap, "%s%llu", signbit(d) ? "-" : "", (unsigned long long)(ci / p));
        if (k > 0) {
            uint64_t frac = ci % p;
            buf[n++] = '.';
            for (int i = k - 1; i >= 0; i--, frac /= 10)
                buf[n + i] = (char)('0' + frac % 10);
            n += k;
            buf[n] = '\0';
        }
        return (size_t)n;
    }
    return 0;
}

size_t
bk_format_float_printf(double d, char *buf, size_t cap)
{
    locale_t loc = numeric_c();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, d);
        if (prec == 17 || strtod(buf, NULL) == d) break;
    }
    if (loc) uselocale(old);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t
bk_format_float(double d, char *buf, size_t cap)
{
    size_t n = format_short(d, buf, cap);
    return n ? n : bk_format_float_printf(d, buf, cap);
}

bool
bk_parse_float(const char *p, size_t n, double *out)
{
    /* fast path: [-]digits[.digits] with at most 15 digits is c / 10^k with c and
     * 10^k exact doubles, and IEEE division rounds the quotient correctly, as
     * strtod rounds the decimal */
    size_t i = n > 0 && p[0] == '-', digits = 0, frac = 0;
    bool dot = false;
    uint64_t c = 0;
    for (; i < n && digits <= 15; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            c = c * 10 + (uint64_t)(p[i] - '0');
            digits++;
            frac += dot;
        } else if (p[i] == '.' && !dot && digits > 0 && i + 1 < n) {
            dot = true;
        } else {
            break;
        }
    }
    if (i == n && digits > 0 && digits <= 15) {
        double v = (double)c / pow10_exact[frac];
        *out = p[0] == '-' ? -v : v;
        return true;
    }
    char tmp[64];
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    locale_t loc = numeric_c();
    *out = loc ? strtod_l(tmp, &end, loc) : strtod(tmp, &end);
    return end == tmp + n;
}

/* ---- schema ----------------------------------------------------------------------- */

void
bk_schema_init(struct bk_schema *s)
{
    memset(s, 0, sizeof *s);
    s->time_src = -1;
}

static void
col_cleanup(struct bk_col *c)
{
    free(c->name);
    free(c->esc);
}

void
bk_schema_cleanup(struct bk_schema *s)
{
    if (!s) return;
    free(s->table);
    free(s->table_esc);
    for (uint32_t i = 0; i < s->n_tags; i++)
        col_cleanup(&s->tags[i]);
    for (uint32_t i = 0; i < s->n_fields; i++)
        col_cleanup(&s->fields[i]);
    free(s->tags);
    free(s->fields);
    bk_schema_init(s);
}

/* Escape `p` for a position: `specials` are the bytes to prefix with '\'. */
static char *
escape(const char *p, size_t n, const char *specials, size_t *out_len)
{
    size_t extra = 0;
    for (size_t i = 0; i < n; i++)
        if (strchr(specials, p[i]) && p[i]) extra++;
    char *e = malloc(n + extra + 1);
    if (!e) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] && strchr(specials, p[i])) e[k++] = '\\';
        e[k++] = p[i];
    }
    e[k] = '\0';
    *out_len = k;
    return e;
}

static bool
name_ok(const char *p, size_t n)
{
    return n > 0 && n <= BK_MAX_NAME && !memchr(p, '\0', n);
}

enum st_code
bk_schema_set_table(struct bk_schema *s, const char *name, size_t len, struct st_error *err)
{
    if (!name_ok(name, len)) return st_error_set(err, ST_EINVAL, "invalid table name");
    free(s->table);
    free(s->table_esc);
    s->table = strndup(name, len);
    s->table_len = len;
    s->table_esc = escape(name, len, "\\, ", &s->table_esc_len);
    if (!s->table || !s->table_esc) return st_error_set(err, ST_ENOMEM, "out of memory");
    return ST_OK;
}

enum st_code
bk_schema_add(struct bk_schema *s, enum bk_kind kind, const char *name, size_t len,
              enum st_type type, int src, struct st_error *err)
{
    if (kind == BK_TIME) {
        if (type != ST_TYPE_TIME)
            return st_error_set(err, ST_ECORRUPT, "column \"time\" is not a timestamp");
        if (s->time_src != -1 || len != 4 || memcmp(name, "time", 4) != 0)
            return st_error_set(err, ST_ECORRUPT, "a table has exactly one time column, \"time\"");
        s->time_src = src < 0 ? -2 : src; /* -2: present, no result index */
        return ST_OK;
    }
    if (!name_ok(name, len)) return st_error_set(err, ST_ECORRUPT, "invalid column name");
    if (len == 4 && memcmp(name, "time", 4) == 0)
        return st_error_set(err, ST_ECORRUPT, "a tag or field named \"time\" (the time column)");
    if (kind == BK_TAG && type != ST_TYPE_STRING)
        return st_error_set(err, ST_ECORRUPT, "tag column \"%.*s\" is not a string", (int)len,
                            name);
    if (kind == BK_FIELD && type != ST_TYPE_FLOAT && type != ST_TYPE_INT && type != ST_TYPE_UINT &&
        type != ST_TYPE_BOOL && type != ST_TYPE_STRING)
        return st_error_set(err, ST_ECORRUPT, "field column \"%.*s\" has type %s", (int)len, name,
                            st_type_name(type));
    if ((s->n_tags + s->n_fields) >= BK_MAX_COLUMNS)
        return st_error_set(err, ST_ELIMIT, "more than %u columns", BK_MAX_COLUMNS);
    struct bk_col **arr = kind == BK_TAG ? &s->tags : &s->fields;
    uint32_t *n = kind == BK_TAG ? &s->n_tags : &s->n_fields;
    struct bk_col *v = realloc(*arr, (*n + 1) * sizeof *v);
    if (!v) return st_error_set(err, ST_ENOMEM, "out of memory");
    *arr = v;
    struct bk_col *c = &v[*n];
    memset(c, 0, sizeof *c);
    c->name = strndup(name, len);
    c->name_len = len;
    c->type = type;
    c->src = src;
    c->esc = escape(name, len, "\\,= ", &c->esc_len);
    (*n)++;
    if (!c->name || !c->esc) return st_error_set(err, ST_ENOMEM, "out of memory");
    return ST_OK;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static int
col_cmp(const void *x, const void *y)
{
    const struct bk_col *a = x, *b = y;
    return bytes_cmp(a->name, a->name_len, b->name, b->name_len);
}

enum st_code
bk_schema_finish(struct bk_schema *s, struct st_error *err)
{
    if (!s->table) return st_error_set(err, ST_EINVAL, "schema without a table name");
    if (s->time_src == -1)
        return st_error_set(err, ST_ECORRUPT, "table \"%s\" has no time column", s->table);
    if (s->n_tags) qsort(s->tags, s->n_tags, sizeof *s->tags, col_cmp);
    if (s->n_fields) qsort(s->fields, s->n_fields, sizeof *s->fields, col_cmp);
    for (uint32_t i = 1; i < s->n_tags; i++)
        if (col_cmp(&s->tags[i - 1], &s->tags[i]) == 0)
            return st_error_set(err, ST_ECORRUPT, "table \"%s\": tag \"%s\" listed twice", s->table,
                                s->tags[i].name);
    for (uint32_t i = 1; i < s->n_fields; i++)
        if (col_cmp(&s->fields[i - 1], &s->fields[i]) == 0)
            return st_error_set(err, ST_ECORRUPT, "table \"%s\": field \"%s\" listed twice",
                                s->table, s->fields[i].name);
    for (uint32_t i = 0; i < s->n_tags; i++)
        if (bk_schema_field(s, s->tags[i].name, s->tags[i].name_len) >= 0)
            return st_error_set(err, ST_ECORRUPT, "table \"%s\": \"%s\" is both a tag and a field",
                                s->table, s->tags[i].name);
    return ST_OK;
}

static int
find_col(const struct bk_col *v, uint32_t n, const char *name, size_t len)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int r = bytes_cmp(v[mid].name, v[mid].name_len, name, len);
        if (r == 0) return (int)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int
bk_schema_tag(const struct bk_schema *s, const char *name, size_t len)
{
    return find_col(s->tags, s->n_tags, name, len);
}

int
bk_schema_field(const struct bk_schema *s, const char *name, size_t len)
{
    return find_col(s->fields, s->n_fields, name, len);
}

/* ---- rows ------------------------------------------------------------------------------ */

enum st_code
bk_row_alloc(struct bk_row *r, const struct bk_schema *s, struct st_error *err)
{
    memset(r, 0, sizeof *r);
    r->tags = calloc(s->n_tags ? s->n_tags : 1, sizeof *r->tags);
    r->fields = calloc(s->n_fields ? s->n_fields : 1, sizeof *r->fields);
    if (!r->tags || !r->fields) {
        bk_row_free(r);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    return ST_OK;
}

void
bk_row_free(struct bk_row *r)
{
    if (!r) return;
    free(r->tags);
    free(r->fields);
    r->tags = r->fields = NULL;
}

/* Append p escaped for `kind`: 0 measurement, 1 key or tag value, 2 string value. */
static enum st_code
put_escaped(struct st_buf *out, const char *p, size_t n, int kind)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        bool esc = ch == '\\' ||
                   (kind == 2 ? ch == '"' : (ch == ',' || ch == ' ' || (kind == 1 && ch == '=')));
        if (!esc) continue;
        ST_TRY(st_buf_append(out, p + run, i - run));
        ST_TRY(st_buf_append_byte(out, '\\'));
        run = i;
    }
    return st_buf_append(out, p + run, n - run);
}

static enum st_code
no_room(struct st_error *err)
{
    return st_error_set(err, ST_ENOMEM, "out of memory formatting a row");
}

enum st_code
bk_row_format(const struct bk_schema *s, const struct bk_row *r, struct st_buf *out,
              struct st_error *err)
{
    char num[48];
    size_t start = out->len;
    if (st_buf_append(out, s->table_esc, s->table_esc_len) != ST_OK) return no_room(err);
    if (s->table[s->table_len - 1] == '\\') goto trailing_backslash;
    for (uint32_t i = 0; i < s->n_tags; i++) {
        const struct bk_val *v = &r->tags[i];
        if (!v->present) continue;
        if (v->v.s.len == 0) {
            out->len = start;
            return st_error_set(err, ST_ECORRUPT,
                                "table \"%s\": tag \"%s\" has an empty value (line protocol "
                                "cannot write it)",
                                s->table, s->tags[i].name);
        }
        if (v->v.s.p[v->v.s.len - 1] == '\\' || s->tags[i].name[s->tags[i].name_len - 1] == '\\')
            goto trailing_backslash;
        if (st_buf_append_byte(out, ',') != ST_OK ||
            st_buf_append(out, s->tags[i].esc, s->tags[i].esc_len) != ST_OK ||
            st_buf_append_byte(out, '=') != ST_OK ||
            put_escaped(out, v->v.s.p, v->v.s.len, 1) != ST_OK)
            return no_room(err);
    }
    bool first = true;
    for (uint32_t i = 0; i < s->n_fields; i++) {
        const struct bk_val *v = &r->fields[i];
        const struct bk_col *c = &s->fields[i];
        if (!v->present) continue;
        if (c->name[c->name_len - 1] == '\\') goto trailing_backslash;
        if (st_buf_append_byte(out, first ? ' ' : ',') != ST_OK ||
            st_buf_append(out, c->esc, c->esc_len) != ST_OK ||
            st_buf_append_byte(out, '=') != ST_OK)
            return no_room(err);
        first = false;
        enum st_code rc = ST_OK;
        switch (c->type) {
        case ST_TYPE_FLOAT:
            if (!isfinite(v->v.f)) {
                out->len = start;
                return st_error_set(err, ST_ECORRUPT,
                                    "table \"%s\": field \"%s\" holds %s, which line protocol "
                                    "cannot write",
                                    s->table, c->name, isnan(v->v.f) ? "NaN" : "an infinity");
            }
            rc = st_buf_append(out, num, bk_format_float(v->v.f, num, sizeof num));
            break;
        case ST_TYPE_INT:
            rc = st_buf_printf(out, "%lldi", (long long)v->v.i);
            break;
        case ST_TYPE_UINT:
            rc = st_buf_printf(out, "%lluu", (unsigned long long)v->v.u);
            break;
        case ST_TYPE_BOOL:
            rc = st_buf_append_str(out, v->v.b ? "true" : "false");
            break;
        case ST_TYPE_STRING:
            rc = st_buf_append_byte(out, '"');
            if (rc == ST_OK) rc = put_escaped(out, v->v.s.p, v->v.s.len, 2);
            if (rc == ST_OK) rc = st_buf_append_byte(out, '"');
            break;
        default:
            out->len = start;
            return st_error_set(err, ST_EINTERNAL, "field of type %s", st_type_name(c->type));
        }
        if (rc != ST_OK) return no_room(err);
    }
    if (first) {
        out->len = start;
        char key[200];
        bk_row_describe(s, r, key, sizeof key);
        return st_error_set(err, ST_ECORRUPT,
                            "table \"%s\": the row %s has no field values (line protocol cannot "
                            "write it)",
                            s->table, key);
    }
    if (st_buf_printf(out, " %lld\n", (long long)r->time) != ST_OK) return no_room(err);
    return ST_OK;

trailing_backslash:
    out->len = start;
    return st_error_set(err, ST_ECORRUPT,
                        "table \"%s\": a name or tag value ends with a backslash, which line "
                        "protocol cannot write",
                        s->table);
}

/* ---- order ------------------------------------------------------------------------------- */

static int
val_cmp(const struct bk_val *a, const struct bk_val *b)
{
    if (!a->present || !b->present) return (int)a->present - (int)b->present;
    return bytes_cmp(a->v.s.p, a->v.s.len, b->v.s.p, b->v.s.len);
}

int
bk_row_cmp(const struct bk_schema *s, const struct bk_row *a, const struct bk_row *b)
{
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    for (uint32_t i = 0; i < s->n_tags; i++) {
        int r = val_cmp(&a->tags[i], &b->tags[i]);
        if (r) return r;
    }
    return 0;
}

int
bk_row_cmp2(const struct bk_schema *sa, const struct bk_row *a, const struct bk_schema *sb,
            const struct bk_row *b)
{
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    static const struct bk_val absent = {.present = false};
    uint32_t i = 0, j = 0;
    while (i < sa->n_tags || j < sb->n_tags) {
        int order;
        if (i == sa->n_tags)
            order = 1;
        else if (j == sb->n_tags)
            order = -1;
        else
            order = bytes_cmp(sa->tags[i].name, sa->tags[i].name_len, sb->tags[j].name,
                              sb->tags[j].name_len);
        const struct bk_val *x = order <= 0 ? &a->tags[i] : &absent;
        const struct bk_val *y = order >= 0 ? &b->tags[j] : &absent;
        int r = val_cmp(x, y);
        if (r) return r;
        if (order <= 0) i++;
        if (order >= 0) j++;
    }
    return 0;
}

void
bk_key_init(struct bk_key *k)
{
    memset(k, 0, sizeof *k);
    st_buf_init(&k->data, BK_MAX_LINE);
}

void
bk_key_cleanup(struct bk_key *k)
{
    free(k->present);
    free(k->off);
    free(k->len);
    st_buf_cleanup(&k->data);
    bk_key_init(k);
}

enum st_code
bk_key_set(struct bk_key *k, const struct bk_schema *s, const struct bk_row *r,
           struct st_error *err)
{
    if (k->n != s->n_tags || !k->present) {
        free(k->present);
        free(k->off);
        free(k->len);
        uint32_t n = s->n_tags ? s->n_tags : 1;
        k->present = calloc(n, sizeof *k->present);
        k->off = calloc(n, sizeof *k->off);
        k->len = calloc(n, sizeof *k->len);
        k->n = s->n_tags;
        if (!k->present || !k->off || !k->len) {
            k->n = 0;
            return st_error_set(err, ST_ENOMEM, "out of memory");
        }
    }
    st_buf_reset(&k->data);
    for (uint32_t i = 0; i < s->n_tags; i++) {
        k->present[i] = r->tags[i].present;
        k->off[i] = k->data.len;
        k->len[i] = r->tags[i].present ? r->tags[i].v.s.len : 0;
        if (k->present[i] && st_buf_append(&k->data, r->tags[i].v.s.p, k->len[i]) != ST_OK)
            return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    k->time = r->time;
    k->set = true;
    return ST_OK;
}

int
bk_key_cmp(const struct bk_key *k, const struct bk_schema *s, const struct bk_row *r)
{
    if (k->time != r->time) return k->time < r->time ? -1 : 1;
    for (uint32_t i = 0; i < s->n_tags && i < k->n; i++) {
        const struct bk_val *v = &r->tags[i];
        if (!k->present[i] || !v->present) {
            int d = (int)k->present[i] - (int)v->present;
            if (d) return d;
            continue;
        }
        int c = bytes_cmp((const char *)k->data.data + k->off[i], k->len[i], v->v.s.p, v->v.s.len);
        if (c) return c;
    }
    return 0;
}

/* ---- value counts ------------------------------------------------------------------- */

enum st_code
bk_counts_alloc(struct bk_counts *c, const struct bk_schema *s, struct st_error *err)
{
    c->tags = calloc(s->n_tags ? s->n_tags : 1, sizeof *c->tags);
    c->fields = calloc(s->n_fields ? s->n_fields : 1, sizeof *c->fields);
    if (!c->tags || !c->fields) {
        bk_counts_free(c);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    return ST_OK;
}

void
bk_counts_free(struct bk_counts *c)
{
    free(c->tags);
    free(c->fields);
    c->tags = c->fields = NULL;
}

void
bk_counts_add(struct bk_counts *c, const struct bk_schema *s, const struct bk_row *r)
{
    for (uint32_t i = 0; i < s->n_tags; i++)
        c->tags[i] += r->tags[i].present;
    for (uint32_t i = 0; i < s->n_fields; i++)
        c->fields[i] += r->fields[i].present;
}

uint64_t
bk_counts_get(const struct bk_counts *c, const struct bk_schema *s, enum bk_kind kind,
              const char *name, uint64_t rows)
{
    if (kind == BK_TIME) return rows;
    int i = kind == BK_TAG ? bk_schema_tag(s, name, strlen(name))
                           : bk_schema_field(s, name, strlen(name));
    if (i < 0) return 0;
    return kind == BK_TAG ? c->tags[i] : c->fields[i];
}

/* ---- messages ------------------------------------------------------------------------------ */

/* Append printable text: bytes outside printable ASCII as \xNN. */
static size_t
put_printable(char *buf, size_t at, size_t cap, const char *p, size_t n)
{
    for (size_t i = 0; i < n && at + 5 < cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            buf[at++] = (char)ch;
        else
            at += (size_t)snprintf(buf + at, cap - at, "\\x%02x", ch);
    }
    return at;
}

void
bk_row_describe(const struct bk_schema *s, const struct bk_row *r, char *buf, size_t cap)
{
    if (cap == 0) return;
    int n = snprintf(buf, cap, "time=%lld", (long long)r->time);
    size_t at = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    for (uint32_t i = 0; i < s->n_tags && at + 8 < cap; i++) {
        if (!r->tags[i].present) continue;
        buf[at++] = ' ';
        at = put_printable(buf, at, cap, s->tags[i].name, s->tags[i].name_len);
        if (at + 2 < cap) buf[at++] = '=';
        at = put_printable(buf, at, cap, r->tags[i].v.s.p, r->tags[i].v.s.len);
    }
    if (at + 4 >= cap && cap > 4) { /* cut short: say so */
        memcpy(buf + cap - 4, "...", 3);
        at = cap - 1;
    }
    buf[at < cap ? at : cap - 1] = '\0';
}

enum st_code
bk_sql_ident(struct st_buf *b, const char *name)
{
    ST_TRY(st_buf_append_byte(b, '"'));
    for (const char *p = name; *p; p++) {
        if (*p == '"') ST_TRY(st_buf_append_byte(b, '"'));
        ST_TRY(st_buf_append_byte(b, (uint8_t)*p));
    }
    return st_buf_append_byte(b, '"');
}
