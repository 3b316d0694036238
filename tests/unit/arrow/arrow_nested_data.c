/*
 * arrow_nested_data.c: builds the nested sample data set described in
 * arrow_nested_data.h (arrays owned by struct nd, freed by nd_free).
 */
#include "arrow_nested_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- types -------------------------------------------------------------------------------- */

static const struct arrow_type l_item = {.name = "item", .kind = ARROW_KIND_UTF8,
                                         .nullable = true};
static const struct arrow_type mv_item = {.name = "item", .kind = ARROW_KIND_INT,
                                          .bit_width = 32, .is_signed = true};
static const struct arrow_type m_entry_fields[] = {
    {.name = "key", .kind = ARROW_KIND_INT, .bit_width = 32, .is_signed = true},
    {.name = "value", .kind = ARROW_KIND_LIST, .nullable = true, .n_children = 1,
     .children = &mv_item},
};
static const struct arrow_type m_entries = {.name = "entries", .kind = ARROW_KIND_STRUCT,
                                            .n_children = 2, .children = m_entry_fields};
static const struct arrow_type u_children[] = {
    {.name = "s", .kind = ARROW_KIND_UTF8, .nullable = true},
    {.name = "b", .kind = ARROW_KIND_BOOL},
    {.name = "l", .kind = ARROW_KIND_LIST, .n_children = 1, .children = &l_item},
    {.name = "m", .kind = ARROW_KIND_MAP, .n_children = 1, .children = &m_entries},
    {.name = "x", .kind = ARROW_KIND_INT, .bit_width = 64, .is_signed = true},
};
static const int8_t u_ids[] = {5, 1, 7, 0, 3};
static const struct arrow_type st_fields[] = {
    {.name = "a", .kind = ARROW_KIND_INT, .nullable = true, .bit_width = 16, .is_signed = true},
    {.name = "b", .kind = ARROW_KIND_UTF8},
};
static const struct arrow_type lst_item = {.name = "item", .kind = ARROW_KIND_INT,
                                           .bit_width = 8, .is_signed = true};
static const struct arrow_type types[ND_COLS] = {
    {.name = "id", .kind = ARROW_KIND_INT, .bit_width = 32, .is_signed = false},
    {.name = "u", .kind = ARROW_KIND_DENSE_UNION, .n_children = 5, .children = u_children,
     .type_ids = u_ids},
    {.name = "bin", .kind = ARROW_KIND_BINARY, .nullable = true},
    {.name = "st", .kind = ARROW_KIND_STRUCT, .nullable = true, .n_children = 2,
     .children = st_fields},
    {.name = "lst", .kind = ARROW_KIND_LIST, .nullable = true, .n_children = 1,
     .children = &lst_item},
};

const struct arrow_type *
nd_types(void)
{
    return types;
}

/* ---- rules -------------------------------------------------------------------------------- */

int nd_kind(int64_t i) { return (int)(i % 5); }
bool nd_s_null(int64_t i) { return i % 15 == 0; }
int64_t nd_list_len(int64_t i) { return i % 4; }
int64_t nd_map_len(int64_t i) { return i % 3; }
bool nd_map_value_null(int64_t i, int64_t k) { return k == 1 && i >= 0; }
int64_t nd_x(int64_t i) { return (i - 100) * INT64_C(1000000000007); }
bool nd_bin_null(int64_t i) { return i % 9 == 4; }
bool nd_st_null(int64_t i) { return i % 11 == 3; }
bool nd_st_a_null(int64_t i) { return i % 4 == 1; }
int16_t nd_st_a(int64_t i) { return (int16_t)(i * 300 - 30000); }
bool nd_lst_null(int64_t i) { return i % 13 == 0; }

/* ---- building ------------------------------------------------------------------------------ */

struct grow {
    uint8_t *p;
    size_t len, cap;
};

static void
put(struct grow *g, const void *v, size_t n)
{
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        while (cap < g->len + n)
            cap *= 2;
        g->p = realloc(g->p, cap);
        if (!g->p) abort();
        g->cap = cap;
    }
    if (n) memcpy(g->p + g->len, v, n);
    g->len += n;
}

static void
put_i32(struct grow *g, int32_t v)
{
    put(g, &v, 4);
}

static void
bit(struct grow *g, int64_t i, bool valid)
{
    uint8_t z = 0;
    while (g->len <= (size_t)(i / 8))
        put(g, &z, 1);
    if (valid) g->p[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Keep g's memory with d; returns it. */
static void *
keep(struct nd *d, struct grow *g)
{
    d->allocs = realloc(d->allocs, (d->n_allocs + 1) * sizeof *d->allocs);
    if (!d->allocs) abort();
    if (!g->p) g->p = calloc(1, 8);
    if (!g->p) abort();
    d->allocs[d->n_allocs++] = g->p;
    return g->p;
}

static struct arrow_array *
arrays(struct nd *d, size_t n)
{
    struct grow g = {0};
    struct arrow_array z;
    memset(&z, 0, sizeof z);
    for (size_t i = 0; i < n; i++)
        put(&g, &z, sizeof z);
    return keep(d, &g);
}

void
nd_build(struct nd *d, int64_t n)
{
    memset(d, 0, sizeof *d);
    d->n_rows = n;
    struct grow id = {0}, tids = {0}, uoffs = {0};
    struct grow s_off = {0}, s_dat = {0}, s_val = {0}, b_val = {0}, l_off = {0}, li_off = {0},
                li_dat = {0}, li_val = {0}, m_off = {0}, mk = {0}, mv_off = {0}, mv_val = {0},
                mvi = {0}, x_val = {0};
    struct grow bin_off = {0}, bin_dat = {0}, bin_val = {0};
    struct grow st_val = {0}, a_val = {0}, a_dat = {0}, sb_off = {0}, sb_dat = {0};
    struct grow lst_off = {0}, lst_val = {0}, lst_dat = {0};
    int64_t cnt[5] = {0}, s_nulls = 0, li_nulls = 0, mv_nulls = 0, bin_nulls = 0, st_nulls = 0,
            a_nulls = 0, lst_nulls = 0, n_li = 0, n_keys = 0, n_mvi = 0, n_lsti = 0;
    char buf[64];
    put_i32(&s_off, 0);
    put_i32(&l_off, 0);
    put_i32(&li_off, 0);
    put_i32(&m_off, 0);
    put_i32(&mv_off, 0);
    put_i32(&bin_off, 0);
    put_i32(&sb_off, 0);
    put_i32(&lst_off, 0);
    for (int64_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)(i * 7 + 1);
        put(&id, &v, 4);
        int k = nd_kind(i);
        int8_t tid = u_ids[k];
        put(&tids, &tid, 1);
        put_i32(&uoffs, (int32_t)cnt[k]);
        switch (k) {
        case 0: /* s */
            bit(&s_val, cnt[0], !nd_s_null(i));
            if (nd_s_null(i)) {
                s_nulls++;
            } else {
                int len = snprintf(buf, sizeof buf, "s%lld", (long long)i);
                put(&s_dat, buf, (size_t)len);
            }
            put_i32(&s_off, (int32_t)s_dat.len);
            break;
        case 1: { /* b */
            uint8_t b = (i / 5) % 2 == 0;
            put(&b_val, &b, 1);
            break;
        }
        case 2: /* l */
            for (int64_t j = 0; j < nd_list_len(i); j++) {
                bit(&li_val, n_li, j != 1);
                if (j == 1) {
                    li_nulls++;
                } else {
                    int len = snprintf(buf, sizeof buf, "l%lld_%lld", (long long)i, (long long)j);
                    put(&li_dat, buf, (size_t)len);
                }
                put_i32(&li_off, (int32_t)li_dat.len);
                n_li++;
            }
            put_i32(&l_off, (int32_t)n_li);
            break;
        case 3: /* m */
            for (int64_t j = 0; j < nd_map_len(i); j++) {
                put_i32(&mk, (int32_t)(i * 10 + j));
                bit(&mv_val, n_keys, !nd_map_value_null(i, j));
                if (nd_map_value_null(i, j)) {
                    mv_nulls++;
                } else {
                    put_i32(&mvi, (int32_t)j);
                    put_i32(&mvi, (int32_t)-j);
                    put_i32(&mvi, (int32_t)i);
                    n_mvi += 3;
                }
                put_i32(&mv_off, (int32_t)n_mvi);
                n_keys++;
            }
            put_i32(&m_off, (int32_t)n_keys);
            break;
        case 4: { /* x */
            int64_t x = nd_x(i);
            put(&x_val, &x, 8);
            break;
        }
        }
        cnt[k]++;
        /* bin */
        bit(&bin_val, i, !nd_bin_null(i));
        if (nd_bin_null(i))
            bin_nulls++;
        else
            for (int64_t j = 0; j < i % 6; j++) {
                uint8_t b = (uint8_t)((i + j) & 0xff);
                put(&bin_dat, &b, 1);
            }
        put_i32(&bin_off, (int32_t)bin_dat.len);
        /* st */
        bit(&st_val, i, !nd_st_null(i));
        st_nulls += nd_st_null(i);
        bit(&a_val, i, !nd_st_a_null(i));
        a_nulls += nd_st_a_null(i);
        int16_t a = nd_st_a_null(i) ? 0 : nd_st_a(i);
        put(&a_dat, &a, 2);
        int len = snprintf(buf, sizeof buf, "b%lld", (long long)i);
        put(&sb_dat, buf, (size_t)len);
        put_i32(&sb_off, (int32_t)sb_dat.len);
        /* lst */
        bit(&lst_val, i, !nd_lst_null(i));
        if (nd_lst_null(i)) {
            lst_nulls++;
        } else {
            for (int64_t j = 0; j < i % 5; j++) {
                int8_t v8 = (int8_t)(uint8_t)(i * j - 60);
                put(&lst_dat, &v8, 1);
                n_lsti++;
            }
        }
        put_i32(&lst_off, (int32_t)n_lsti);
    }

    struct arrow_array *c = d->cols;
    c[0] = (struct arrow_array){.length = n, .values = keep(d, &id)};
    /* u */
    struct arrow_array *uc = arrays(d, 5);
    uc[0] = (struct arrow_array){.length = cnt[0], .null_count = s_nulls,
                                 .validity = keep(d, &s_val), .offsets = keep(d, &s_off),
                                 .values = keep(d, &s_dat)};
    uc[1] = (struct arrow_array){.length = cnt[1], .values = keep(d, &b_val)};
    struct arrow_array *li = arrays(d, 1);
    li[0] = (struct arrow_array){.length = n_li, .null_count = li_nulls,
                                 .validity = keep(d, &li_val), .offsets = keep(d, &li_off),
                                 .values = keep(d, &li_dat)};
    uc[2] = (struct arrow_array){.length = cnt[2], .offsets = keep(d, &l_off), .children = li};
    struct arrow_array *mvitems = arrays(d, 1);
    mvitems[0] = (struct arrow_array){.length = n_mvi, .values = keep(d, &mvi)};
    struct arrow_array *ef = arrays(d, 2);
    ef[0] = (struct arrow_array){.length = n_keys, .values = keep(d, &mk)};
    ef[1] = (struct arrow_array){.length = n_keys, .null_count = mv_nulls,
                                 .validity = keep(d, &mv_val), .offsets = keep(d, &mv_off),
                                 .children = mvitems};
    struct arrow_array *ent = arrays(d, 1);
    ent[0] = (struct arrow_array){.length = n_keys, .children = ef};
    uc[3] = (struct arrow_array){.length = cnt[3], .offsets = keep(d, &m_off), .children = ent};
    uc[4] = (struct arrow_array){.length = cnt[4], .values = keep(d, &x_val)};
    c[1] = (struct arrow_array){.length = n, .type_ids = keep(d, &tids),
                                .offsets = keep(d, &uoffs), .children = uc};
    c[2] = (struct arrow_array){.length = n, .null_count = bin_nulls,
                                .validity = keep(d, &bin_val), .offsets = keep(d, &bin_off),
                                .values = keep(d, &bin_dat)};
    struct arrow_array *sf = arrays(d, 2);
    sf[0] = (struct arrow_array){.length = n, .null_count = a_nulls, .validity = keep(d, &a_val),
                                 .values = keep(d, &a_dat)};
    sf[1] = (struct arrow_array){.length = n, .offsets = keep(d, &sb_off),
                                 .values = keep(d, &sb_dat)};
    c[3] = (struct arrow_array){.length = n, .null_count = st_nulls, .validity = keep(d, &st_val),
                                .children = sf};
    struct arrow_array *lsti = arrays(d, 1);
    lsti[0] = (struct arrow_array){.length = n_lsti, .values = keep(d, &lst_dat)};
    c[4] = (struct arrow_array){.length = n, .null_count = lst_nulls,
                                .validity = keep(d, &lst_val), .offsets = keep(d, &lst_off),
                                .children = lsti};
    /* arrays with no nulls carry no bitmap */
    if (!s_nulls) uc[0].validity = NULL;
}

void
nd_free(struct nd *d)
{
    for (size_t i = 0; i < d->n_allocs; i++)
        free(d->allocs[i]);
    free(d->allocs);
    memset(d, 0, sizeof *d);
}
