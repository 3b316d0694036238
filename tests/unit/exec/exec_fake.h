/*
 * exec_fake.h: a fixed catalog and a synthetic data source for the unit
 * tests of the planner and executor and for the SQL fuzz target: no
 * storage, no files. The source behaves like storage's scans (one series
 * per batch, ascending time, tag predicates, a series filter called once
 * per series, LAST mode, estimates), but returns whole series without
 * trimming time, so the executor's own time trimming is exercised.
 *
 * Table cpu: time, host (tag), region (tag), usage (int), idle (float),
 * ok (bool), note (string), cnt (uint). Table mem: time, host, used (int).
 */
#ifndef STRATA_EXEC_FAKE_H
#define STRATA_EXEC_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/exec.h"

struct fake_series {
    const char *tags[2];
    uint32_t n_rows;
    int64_t *time;
    int64_t *usage;
    double *idle;
    uint8_t *ok;
    const char **note;
    uint64_t *cnt;
    uint8_t *usage_null, *idle_null, *ok_null, *note_null, *cnt_null; /* 1 = NULL */
};

struct fake_db {
    struct cat_db db;
    uint32_t n_series;
    struct fake_series *series;
    /* counters the tests look at */
    unsigned opens, batches, filter_calls, last_opens, estimates;
    int cancel_after_batches; /* >0: set *cancel_flag after that many batches */
    atomic_int *cancel_flag;
};

/* The catalog alone (no rows). */
const struct cat_db *fake_catalog(void);
/* A database with n_series series of n_rows each, filled deterministically
 * from seed; every 7th value of each field is NULL when with_nulls. */
void fake_db_init(struct fake_db *f, uint32_t n_series, uint32_t n_rows, uint64_t seed,
                  bool with_nulls);
void fake_db_free(struct fake_db *f);
void fake_source(struct exec_source *src, struct fake_db *f);

#endif
