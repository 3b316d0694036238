/*
 * fuzz_backup_lp.c: the strict parser of backup lines (clients/c/backup_lp.c)
 * on arbitrary bytes. The first byte picks one of a few table schemas; the
 * rest is parsed line after line as a backup file would be, once as a whole
 * file and once cut at an arbitrary point (which must ask for more, never
 * accept a different row). Every accepted line must be exactly the
 * canonical text of the row parsed from it, and parse again to the same row.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup_int.h"

static void
make_schema(struct bk_schema *s, unsigned pick)
{
    static const struct {
        const char *table;
        const char *tags[3];
        const char *fields[6];
        enum st_type types[6];
    } sch[] = {
        {"m",
         {"a", "b", NULL},
         {"f", "i", "u", "o", "s", NULL},
         {ST_TYPE_FLOAT, ST_TYPE_INT, ST_TYPE_UINT, ST_TYPE_BOOL, ST_TYPE_STRING}},
        {"m ,=\"x",
         {"t ,=k", "\xc3\xbc", NULL},
         {"f ,=s", "v", NULL},
         {ST_TYPE_STRING, ST_TYPE_FLOAT}},
        {"cpu", {NULL}, {"v", NULL}, {ST_TYPE_INT}},
    };
    unsigned k = pick % (sizeof sch / sizeof sch[0]);
    bk_schema_init(s);
    if (bk_schema_set_table(s, sch[k].table, strlen(sch[k].table), NULL) != ST_OK ||
        bk_schema_add(s, BK_TIME, "time", 4, ST_TYPE_TIME, -1, NULL) != ST_OK)
        abort();
    for (int i = 0; sch[k].tags[i]; i++)
        if (bk_schema_add(s, BK_TAG, sch[k].tags[i], strlen(sch[k].tags[i]), ST_TYPE_STRING, -1,
                          NULL) != ST_OK)
            abort();
    for (int i = 0; sch[k].fields[i]; i++)
        if (bk_schema_add(s, BK_FIELD, sch[k].fields[i], strlen(sch[k].fields[i]), sch[k].types[i],
                          -1, NULL) != ST_OK)
            abort();
    if (bk_schema_finish(s, NULL) != ST_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    struct bk_schema s;
    make_schema(&s, data[0]);
    size_t cut = data[1];
    const char *p = (const char *)data + 2;
    size_t n = size - 2;
    struct bk_row row, again;
    struct st_buf scratch, scratch2, canon, out;
    st_buf_init(&scratch, SIZE_MAX);
    st_buf_init(&scratch2, SIZE_MAX);
    st_buf_init(&canon, SIZE_MAX);
    st_buf_init(&out, SIZE_MAX);
    if (bk_row_alloc(&row, &s, NULL) != ST_OK || bk_row_alloc(&again, &s, NULL) != ST_OK) abort();
    struct st_error err;
    size_t pos = 0;
    while (pos < n) {
        size_t len;
        enum bk_lp_status st =
            bk_lp_parse(&s, p + pos, n - pos, true, &row, &scratch, &canon, &len, &err);
        if (st == BK_LP_MORE) abort(); /* at the end of the input: never */
        if (st == BK_LP_ERROR) {
            if (err.offset < 0 || (size_t)err.offset > n - pos) abort();
            break;
        }
        if (len == 0 || len > n - pos || p[pos + len - 1] != '\n') abort();
        /* the line is the canonical text of its row */
        st_buf_reset(&out);
        if (bk_row_format(&s, &row, &out, NULL) != ST_OK) abort();
        if (out.len != len || memcmp(out.data, p + pos, len) != 0) abort();
        /* a prefix of it asks for more */
        size_t k = cut % len;
        size_t l2;
        if (bk_lp_parse(&s, p + pos, k, false, &again, &scratch2, &canon, &l2, &err) != BK_LP_MORE)
            abort();
        /* and parsing it again gives the same row */
        if (bk_lp_parse(&s, (const char *)out.data, out.len, true, &again, &scratch2, &canon, &l2,
                        &err) != BK_LP_ROW ||
            l2 != len || bk_row_cmp(&s, &row, &again) != 0)
            abort();
        pos += len;
    }
    bk_row_free(&row);
    bk_row_free(&again);
    st_buf_cleanup(&scratch);
    st_buf_cleanup(&scratch2);
    st_buf_cleanup(&canon);
    st_buf_cleanup(&out);
    bk_schema_cleanup(&s);
    return 0;
}
