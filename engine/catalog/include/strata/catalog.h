/*
 * catalog.h: the interface to the schema catalog: databases, tables
 * (measurements) and their columns.
 *
 * Readers never lock: they take an immutable, refcounted snapshot
 * (cat_snapshot) and look names up in it; a writer that adds a database,
 * table or column publishes a new snapshot (copy on write). A column's type
 * is fixed by its first write. Every table has the column `time`.
 *
 * Identifiers are stable for the life of the data directory: a column id is
 * never reused within its table, a table id never within its database.
 *
 * Ownership of this header: the storage work owns it; the query engine
 * (sql/plan/exec) only reads through it.
 */
#ifndef STRATA_CATALOG_H
#define STRATA_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/batch.h"
#include "strata/status.h"

enum cat_col_kind { CAT_COL_TIME = 0, CAT_COL_TAG, CAT_COL_FIELD };

struct cat_column {
    const char *name;
    uint32_t id;            /* stable id within the table */
    enum cat_col_kind kind;
    enum st_type type;      /* TIME for time, STRING for tags, the field's type */
    uint32_t tag_index;     /* tags only: index into stor_series.tags */
};

struct cat_table {
    const char *name;
    uint32_t id;
    uint32_t n_columns;     /* in creation order; `time` is first */
    const struct cat_column *columns;
    uint32_t n_tags;        /* number of tag columns */
};

struct cat_db {
    const char *name;
    uint32_t id;
    uint32_t n_tables;      /* sorted by name */
    const struct cat_table *const *tables;
};

struct cat_snapshot;

/* Take and drop a reference on a snapshot. */
void cat_snapshot_ref(struct cat_snapshot *s);
void cat_snapshot_unref(struct cat_snapshot *s);

uint32_t cat_snapshot_n_dbs(const struct cat_snapshot *s);
const struct cat_db *cat_snapshot_db_at(const struct cat_snapshot *s, uint32_t i); /* sorted */
const struct cat_db *cat_snapshot_find_db(const struct cat_snapshot *s, const char *name);
const struct cat_table *cat_db_find_table(const struct cat_db *db, const char *name);
const struct cat_column *cat_table_find_column(const struct cat_table *t, const char *name);
const struct cat_column *cat_table_column_by_id(const struct cat_table *t, uint32_t id);
/* Lookups by stable id (NULL when absent). */
const struct cat_db *cat_snapshot_db_by_id(const struct cat_snapshot *s, uint32_t id);
const struct cat_table *cat_db_table_by_id(const struct cat_db *db, uint32_t id);
/* Lookups by a name that is not NUL-terminated. */
const struct cat_db *cat_snapshot_find_db_n(const struct cat_snapshot *s, const char *name,
                                            size_t len);
const struct cat_table *cat_db_find_table_n(const struct cat_db *db, const char *name, size_t len);
const struct cat_column *cat_table_find_column_n(const struct cat_table *t, const char *name,
                                                 size_t len);
/* A counter that grows with every published change (for caches). */
uint64_t cat_snapshot_version(const struct cat_snapshot *s);

#endif
