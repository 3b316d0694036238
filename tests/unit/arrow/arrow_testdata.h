/*
 * arrow_testdata.h: a small builder of columnar batches (strata/batch.h) for
 * tests, and the sample data sets the Arrow tests, the node fixtures and the
 * client tests share. Everything a builder allocates is freed by tb_free.
 */
#ifndef STRATA_ARROW_TESTDATA_H
#define STRATA_ARROW_TESTDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/batch.h"

#define TB_MAX_COLS 32

struct tb {
    uint32_t n_rows;
    uint32_t n_cols;
    struct st_field fields[TB_MAX_COLS];
    struct st_column cols[TB_MAX_COLS];
    void **allocs;
    size_t n_allocs;
    struct st_schema schema;
    struct st_batch batch;
};

void tb_init(struct tb *tb, uint32_t n_rows);
void tb_free(struct tb *tb);
/* Allocate zeroed memory freed with the builder. Aborts on ENOMEM. */
void *tb_alloc(struct tb *tb, size_t n);

/* Add a column and return its value array (n_rows zeroed slots) to fill. */
int64_t *tb_add_time(struct tb *tb, const char *name, enum st_role role, bool nullable);
int64_t *tb_add_int(struct tb *tb, const char *name, enum st_role role, bool nullable);
uint64_t *tb_add_uint(struct tb *tb, const char *name, enum st_role role, bool nullable);
double *tb_add_float(struct tb *tb, const char *name, enum st_role role, bool nullable);
uint8_t *tb_add_bool(struct tb *tb, const char *name, enum st_role role, bool nullable);
/* Strings: values[i] NULL marks a null row. lens may be NULL (strlen). */
void tb_add_string(struct tb *tb, const char *name, enum st_role role, bool nullable,
                   const char *const *values, const size_t *lens);
/* A column of the null type: every row null. */
void tb_add_null(struct tb *tb, const char *name);
/* Mark a row of a fixed-width or bool column null (its value slot is zeroed). */
void tb_set_null(struct tb *tb, uint32_t col, uint32_t row);

const struct st_schema *tb_schema(struct tb *tb);
const struct st_batch *tb_batch(struct tb *tb);

/* ---- sample data sets --------------------------------------------------- */

/* Every type and role, nulls in every nullable column on a row pattern that
 * crosses byte boundaries, extreme values (int64 min/max, 2^53 + 1, uint64
 * max, -0.0, +-inf, NaN, float denormals), empty, quoted and multi-byte
 * UTF-8 strings. Deterministic for a given n_rows and seed. */
void td_all_types(struct tb *tb, uint32_t n_rows, uint32_t seed);

/* time + one string column whose row i has length len_of(i) (a repeated
 * pattern starting with the row number). */
void td_strings(struct tb *tb, uint32_t n_rows, size_t (*len_of)(uint32_t row));

#endif
