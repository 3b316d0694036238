/*
 * arrow_nested_data.h: the sample data set of the nested Arrow encoder's tests
 * (test_arrow_nested.c) and of its node fixture (arrow_nested_fixture.c, decoded by
 * tests/node/flightsql_nested_decode.test.mjs): every nested kind the encoder has, with
 * nulls at every level that may hold them, a dense union with non-contiguous type ids,
 * and values that are a pure function of the row number (nd_* below), so the C side
 * builds the arrays and the expected JSON from the same rules.
 *
 * Columns (row i of n):
 *   id   uint32 not null                 i * 7 + 1
 *   u    dense_union<s: utf8 (id 5), b: bool (id 1), l: list<item: utf8> (id 7),
 *                    m: map<int32, list<int32>> (id 0), x: int64 (id 3)>   kind i % 5
 *   bin  binary                          i % 6 bytes (i + j) & 0xff; null when i % 9 == 4
 *   st   struct<a: int16, b: utf8 not null>   null when i % 11 == 3; a null when i % 4 == 1
 *   lst  list<item: int8 not null>       null when i % 13 == 0; i % 5 items (i * k - 60)
 */
#ifndef STRATA_ARROW_NESTED_DATA_H
#define STRATA_ARROW_NESTED_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/arrow_ipc.h"

#define ND_COLS 5

struct nd {
    int64_t n_rows;
    struct arrow_array cols[ND_COLS];
    void **allocs;
    size_t n_allocs;
};

/* The column types (static). */
const struct arrow_type *nd_types(void);

/* Build n_rows rows; aborts on ENOMEM. */
void nd_build(struct nd *d, int64_t n_rows);
void nd_free(struct nd *d);

/* The rules, for expectations. Union kinds: 0 s, 1 b, 2 l, 3 m, 4 x. */
int nd_kind(int64_t i);
bool nd_s_null(int64_t i);
int64_t nd_list_len(int64_t i);          /* u.l: items; item 1 is null */
int64_t nd_map_len(int64_t i);           /* u.m: entries, key i * 10 + k */
bool nd_map_value_null(int64_t i, int64_t k); /* value list null */
int64_t nd_x(int64_t i);
bool nd_bin_null(int64_t i);
bool nd_st_null(int64_t i);
bool nd_st_a_null(int64_t i);
int16_t nd_st_a(int64_t i);
bool nd_lst_null(int64_t i);

#endif
