/*
 * slt_result.c: rendering of result values as text for comparison with the
 * expected rows of a test file:
 *   NULL -> NULL; empty string -> (empty); strings with \t \n \\ escaped;
 *   integers in decimal; floats with 12 significant digits (an integral
 *   value gets ".0"); booleans true/false; timestamps RFC 3339 UTC with the
 *   shortest exact fraction.
 */
#include "slt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"

char
slt_type_letter(enum st_type t)
{
    switch (t) {
    case ST_TYPE_INT:
        return 'I';
    case ST_TYPE_UINT:
        return 'U';
    case ST_TYPE_FLOAT:
        return 'R';
    case ST_TYPE_STRING:
        return 'T';
    case ST_TYPE_BOOL:
        return 'B';
    case ST_TYPE_TIME:
        return 'D';
    default:
        return '?';
    }
}

void
slt_result_reset(struct slt_result *r)
{
    for (size_t i = 0; i < r->n_rows; i++)
        free(r->rows[i]);
    free(r->rows);
    memset(r, 0, sizeof *r);
    r->offset = -1;
}

struct sbuf {
    char *p;
    size_t len, cap;
};

static void
put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void
render(struct sbuf *b, const struct st_column *c, uint32_t row)
{
    char tmp[64];
    if (!st_column_is_valid(c, row)) {
        puts_(b, "NULL");
        return;
    }
    switch (c->type) {
    case ST_TYPE_INT:
        snprintf(tmp, sizeof tmp, "%" PRId64, c->v.i64[row]);
        break;
    case ST_TYPE_UINT:
        snprintf(tmp, sizeof tmp, "%" PRIu64, c->v.u64[row]);
        break;
    case ST_TYPE_FLOAT: {
        double f = c->v.f64[row];
        if (f == 0)
            f = 0; /* -0 */
        snprintf(tmp, sizeof tmp, "%.12g", f);
        if (!strpbrk(tmp, ".ein"))
            strncat(tmp, ".0", sizeof tmp - strlen(tmp) - 1);
        break;
    }
    case ST_TYPE_BOOL:
        snprintf(tmp, sizeof tmp, "%s", c->v.b[row] ? "true" : "false");
        break;
    case ST_TYPE_TIME:
        st_format_rfc3339(c->v.i64[row], tmp, sizeof tmp);
        break;
    case ST_TYPE_STRING: {
        int32_t a = c->v.offsets[row], z = c->v.offsets[row + 1];
        if (a == z) {
            puts_(b, "(empty)");
            return;
        }
        for (int32_t i = a; i < z; i++) {
            char ch = c->str_data[i];
            if (ch == '\t')
                puts_(b, "\\t");
            else if (ch == '\n')
                puts_(b, "\\n");
            else if (ch == '\\')
                puts_(b, "\\\\");
            else
                put(b, &ch, 1);
        }
        return;
    }
    default:
        snprintf(tmp, sizeof tmp, "?");
        break;
    }
    puts_(b, tmp);
}

int
slt_result_add_batch(struct slt_result *r, const struct st_batch *b)
{
    for (uint32_t row = 0; row < b->n_rows; row++) {
        struct sbuf s = {0};
        puts_(&s, "");
        for (uint32_t c = 0; c < b->n_cols; c++) {
            if (c)
                puts_(&s, "\t");
            render(&s, &b->cols[c], row);
        }
        if (r->n_rows == r->cap_rows) {
            size_t cap = r->cap_rows ? r->cap_rows * 2 : 64;
            char **nr = realloc(r->rows, cap * sizeof *nr);
            if (!nr)
                return -1;
            r->rows = nr;
            r->cap_rows = cap;
        }
        r->rows[r->n_rows++] = s.p;
    }
    return 0;
}
