/*
 * cat_int.h: the catalog's private structures, shared by cat_snapshot.c
 * (immutable snapshots and lookups), cat_txn.c (copy-on-write changes) and
 * cat_file.c (the catalog file).
 *
 * A snapshot is an array of database nodes, a database node an array of
 * table nodes. Nodes are refcounted and shared between snapshots: a change
 * copies only the path from the snapshot to the changed table. A node with
 * `draft` set belongs to an open transaction and may still change; once
 * published it never changes again.
 */
#ifndef STRATA_CAT_INT_H
#define STRATA_CAT_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "strata/catalog.h"
#include "strata/catalog_store.h"

struct cat_tnode {
    struct cat_table pub; /* first: a cat_table pointer is a cat_tnode pointer */
    atomic_uint refs;
    bool draft;
    uint32_t next_col_id;
    uint32_t cap;
    struct cat_column *cols; /* pub.columns */
    uint32_t *hash;          /* open addressing: column index + 1, 0 = empty */
    uint32_t hash_cap;       /* power of two, >= 2 * n_columns */
};

struct cat_dnode {
    struct cat_db pub; /* first */
    atomic_uint refs;
    bool draft;
    uint32_t next_table_id;
    uint32_t cap;
    struct cat_tnode **tables;       /* sorted by name */
    const struct cat_table **ptabs;  /* pub.tables: the same, as public pointers */
    struct cat_tnode **by_id;        /* sorted by id */
};

struct cat_snapshot {
    atomic_uint refs;
    uint64_t version;
    uint32_t next_db_id;
    uint32_t n_dbs, cap;
    struct cat_dnode **dbs;   /* sorted by name */
    struct cat_dnode **by_id; /* sorted by id */
};

struct cat_limits;

/* cat_snapshot.c */
struct cat_snapshot *cat__snapshot_new(void);
void cat__tnode_unref(struct cat_tnode *t);
void cat__dnode_unref(struct cat_dnode *d);
struct cat_tnode *cat__tnode_new(uint32_t id, const char *name, size_t len);
struct cat_dnode *cat__dnode_new(uint32_t id, const char *name, size_t len);
/* Append a column to a draft table node (no checks). NULL on ENOMEM. */
const struct cat_column *cat__tnode_add(struct cat_tnode *t, uint32_t id, const char *name,
                                        size_t len, enum cat_col_kind kind, enum st_type type);
/* Insert into draft nodes keeping both orders; -1 on ENOMEM. */
int cat__dnode_insert(struct cat_dnode *d, struct cat_tnode *t);
int cat__snapshot_insert(struct cat_snapshot *s, struct cat_dnode *d);
void cat__snapshot_remove(struct cat_snapshot *s, uint32_t db_id);
struct cat_dnode *cat__find_dnode(const struct cat_snapshot *s, const char *name, size_t len);
struct cat_tnode *cat__find_tnode(const struct cat_dnode *d, const char *name, size_t len);
const struct cat_column *cat__find_column(const struct cat_tnode *t, const char *name, size_t len);

/* cat_file.c */
struct crypt_policy;
/* The whole catalog file image (an envelope: encrypted under pol when it encrypts). */
enum st_code cat__encode(const struct cat_snapshot *s, const struct crypt_policy *pol,
                         uint8_t **out, size_t *len, struct st_error *err);

#endif
