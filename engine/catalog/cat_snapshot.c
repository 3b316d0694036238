/*
 * cat_snapshot.c: immutable, refcounted catalog snapshots and their
 * lookups (catalog.h), plus the node helpers the transaction code uses to
 * build a new snapshot by copy on write (cat_int.h).
 *
 * Lookups never lock: a snapshot does not change once published.
 * Databases and tables are found by binary search (by name or by id);
 * columns by name through a small open-addressing hash per table, and by id
 * through binary search (ids grow in creation order).
 */
#include <stdlib.h>
#include <string.h>

#include "cat_int.h"
#include "strata/hash.h"

static uint64_t
name_hash(const char *p, size_t n)
{
    return st_hash(p, n, st_hash_seed());
}

static int
name_cmp(const char *a, const char *b, size_t blen)
{
    size_t alen = strlen(a);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static char *
dupn(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* ---- nodes ------------------------------------------------------------ */

struct cat_tnode *
cat__tnode_new(uint32_t id, const char *name, size_t len)
{
    struct cat_tnode *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->pub.name = dupn(name, len);
    if (!t->pub.name) {
        free(t);
        return NULL;
    }
    t->pub.id = id;
    atomic_init(&t->refs, 1);
    t->draft = true;
    return t;
}

void
cat__tnode_unref(struct cat_tnode *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < t->pub.n_columns; i++)
        free((char *)t->cols[i].name);
    free(t->cols);
    free(t->hash);
    free((char *)t->pub.name);
    free(t);
}

static int
tnode_rehash(struct cat_tnode *t, uint32_t cap)
{
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h)
        return -1;
    for (uint32_t i = 0; i < t->pub.n_columns; i++) {
        uint64_t k = name_hash(t->cols[i].name, strlen(t->cols[i].name));
        uint32_t j = (uint32_t)k & (cap - 1);
        while (h[j])
            j = (j + 1) & (cap - 1);
        h[j] = i + 1;
    }
    free(t->hash);
    t->hash = h;
    t->hash_cap = cap;
    return 0;
}

const struct cat_column *
cat__tnode_add(struct cat_tnode *t, uint32_t id, const char *name, size_t len,
               enum cat_col_kind kind, enum st_type type)
{
    if (t->pub.n_columns == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 8;
        struct cat_column *c = realloc(t->cols, cap * sizeof *c);
        if (!c)
            return NULL;
        t->cols = c;
        t->cap = cap;
        t->pub.columns = c;
    }
    if ((t->pub.n_columns + 1) * 2 > t->hash_cap) {
        if (tnode_rehash(t, t->hash_cap ? t->hash_cap * 2 : 16) != 0)
            return NULL;
    }
    char *nm = dupn(name, len);
    if (!nm)
        return NULL;
    struct cat_column *c = &t->cols[t->pub.n_columns];
    c->name = nm;
    c->id = id;
    c->kind = kind;
    c->type = type;
    c->tag_index = 0;
    if (kind == CAT_COL_TAG)
        c->tag_index = t->pub.n_tags++;
    uint32_t j = (uint32_t)name_hash(name, len) & (t->hash_cap - 1);
    while (t->hash[j])
        j = (j + 1) & (t->hash_cap - 1);
    t->hash[j] = ++t->pub.n_columns;
    if (id >= t->next_col_id)
        t->next_col_id = id + 1;
    return c;
}

const struct cat_column *
cat__find_column(const struct cat_tnode *t, const char *name, size_t len)
{
    if (!t->hash_cap)
        return NULL;
    uint32_t j = (uint32_t)name_hash(name, len) & (t->hash_cap - 1);
    for (;;) {
        uint32_t v = t->hash[j];
        if (!v)
            return NULL;
        const struct cat_column *c = &t->cols[v - 1];
        if (strncmp(c->name, name, len) == 0 && c->name[len] == '\0')
            return c;
        j = (j + 1) & (t->hash_cap - 1);
    }
}

struct cat_dnode *
cat__dnode_new(uint32_t id, const char *name, size_t len)
{
    struct cat_dnode *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->pub.name = dupn(name, len);
    if (!d->pub.name) {
        free(d);
        return NULL;
    }
    d->pub.id = id;
    atomic_init(&d->refs, 1);
    d->draft = true;
    d->next_table_id = 1;
    return d;
}

void
cat__dnode_unref(struct cat_dnode *d)
{
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < d->pub.n_tables; i++)
        cat__tnode_unref(d->tables[i]);
    free(d->tables);
    free(d->ptabs);
    free(d->by_id);
    free((char *)d->pub.name);
    free(d);
}

int
cat__dnode_insert(struct cat_dnode *d, struct cat_tnode *t)
{
    uint32_t n = d->pub.n_tables;
    if (n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 8;
        struct cat_tnode **a = realloc(d->tables, cap * sizeof *a);
        if (!a)
            return -1;
        d->tables = a;
        const struct cat_table **p = realloc(d->ptabs, cap * sizeof *p);
        if (!p)
            return -1;
        d->ptabs = p;
        struct cat_tnode **b = realloc(d->by_id, cap * sizeof *b);
        if (!b)
            return -1;
        d->by_id = b;
        d->cap = cap;
    }
    uint32_t i = 0;
    while (i < n && strcmp(d->tables[i]->pub.name, t->pub.name) < 0)
        i++;
    memmove(&d->tables[i + 1], &d->tables[i], (n - i) * sizeof *d->tables);
    memmove(&d->ptabs[i + 1], &d->ptabs[i], (n - i) * sizeof *d->ptabs);
    d->tables[i] = t;
    d->ptabs[i] = &t->pub;
    uint32_t j = 0;
    while (j < n && d->by_id[j]->pub.id < t->pub.id)
        j++;
    memmove(&d->by_id[j + 1], &d->by_id[j], (n - j) * sizeof *d->by_id);
    d->by_id[j] = t;
    d->pub.n_tables = n + 1;
    d->pub.tables = d->ptabs;
    if (t->pub.id >= d->next_table_id)
        d->next_table_id = t->pub.id + 1;
    return 0;
}

struct cat_tnode *
cat__find_tnode(const struct cat_dnode *d, const char *name, size_t len)
{
    uint32_t lo = 0, hi = d->pub.n_tables;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = name_cmp(d->tables[mid]->pub.name, name, len);
        if (c == 0)
            return d->tables[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- snapshots ---------------------------------------------------------- */

struct cat_snapshot *
cat__snapshot_new(void)
{
    struct cat_snapshot *s = calloc(1, sizeof *s);
    if (s) {
        atomic_init(&s->refs, 1);
        s->next_db_id = 1;
    }
    return s;
}

void
cat_snapshot_ref(struct cat_snapshot *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
}

void
cat_snapshot_unref(struct cat_snapshot *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < s->n_dbs; i++)
        cat__dnode_unref(s->dbs[i]);
    free(s->dbs);
    free(s->by_id);
    free(s);
}

int
cat__snapshot_insert(struct cat_snapshot *s, struct cat_dnode *d)
{
    uint32_t n = s->n_dbs;
    if (n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        struct cat_dnode **a = realloc(s->dbs, cap * sizeof *a);
        if (!a)
            return -1;
        s->dbs = a;
        struct cat_dnode **b = realloc(s->by_id, cap * sizeof *b);
        if (!b)
            return -1;
        s->by_id = b;
        s->cap = cap;
    }
    uint32_t i = 0;
    while (i < n && strcmp(s->dbs[i]->pub.name, d->pub.name) < 0)
        i++;
    memmove(&s->dbs[i + 1], &s->dbs[i], (n - i) * sizeof *s->dbs);
    s->dbs[i] = d;
    uint32_t j = 0;
    while (j < n && s->by_id[j]->pub.id < d->pub.id)
        j++;
    memmove(&s->by_id[j + 1], &s->by_id[j], (n - j) * sizeof *s->by_id);
    s->by_id[j] = d;
    s->n_dbs = n + 1;
    if (d->pub.id >= s->next_db_id)
        s->next_db_id = d->pub.id + 1;
    return 0;
}

void
cat__snapshot_remove(struct cat_snapshot *s, uint32_t db_id)
{
    for (uint32_t i = 0; i < s->n_dbs; i++) {
        if (s->dbs[i]->pub.id == db_id) {
            memmove(&s->dbs[i], &s->dbs[i + 1], (s->n_dbs - i - 1) * sizeof *s->dbs);
            break;
        }
    }
    for (uint32_t i = 0; i < s->n_dbs; i++) {
        if (s->by_id[i]->pub.id == db_id) {
            cat__dnode_unref(s->by_id[i]);
            memmove(&s->by_id[i], &s->by_id[i + 1], (s->n_dbs - i - 1) * sizeof *s->by_id);
            s->n_dbs--;
            return;
        }
    }
}

struct cat_dnode *
cat__find_dnode(const struct cat_snapshot *s, const char *name, size_t len)
{
    uint32_t lo = 0, hi = s->n_dbs;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = name_cmp(s->dbs[mid]->pub.name, name, len);
        if (c == 0)
            return s->dbs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- public lookups ----------------------------------------------------- */

uint32_t
cat_snapshot_n_dbs(const struct cat_snapshot *s)
{
    return s ? s->n_dbs : 0;
}

uint64_t
cat_snapshot_version(const struct cat_snapshot *s)
{
    return s ? s->version : 0;
}

const struct cat_db *
cat_snapshot_db_at(const struct cat_snapshot *s, uint32_t i)
{
    return s && i < s->n_dbs ? &s->dbs[i]->pub : NULL;
}

const struct cat_db *
cat_snapshot_find_db(const struct cat_snapshot *s, const char *name)
{
    if (!s || !name)
        return NULL;
    struct cat_dnode *d = cat__find_dnode(s, name, strlen(name));
    return d ? &d->pub : NULL;
}

const struct cat_db *
cat_snapshot_db_by_id(const struct cat_snapshot *s, uint32_t id)
{
    if (!s)
        return NULL;
    uint32_t lo = 0, hi = s->n_dbs;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        uint32_t v = s->by_id[mid]->pub.id;
        if (v == id)
            return &s->by_id[mid]->pub;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct cat_table *
cat_db_find_table(const struct cat_db *db, const char *name)
{
    if (!db || !name)
        return NULL;
    struct cat_tnode *t = cat__find_tnode((const struct cat_dnode *)db, name, strlen(name));
    return t ? &t->pub : NULL;
}

const struct cat_table *
cat_db_table_by_id(const struct cat_db *db, uint32_t id)
{
    if (!db)
        return NULL;
    const struct cat_dnode *d = (const struct cat_dnode *)db;
    uint32_t lo = 0, hi = d->pub.n_tables;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        uint32_t v = d->by_id[mid]->pub.id;
        if (v == id)
            return &d->by_id[mid]->pub;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct cat_column *
cat_table_find_column(const struct cat_table *t, const char *name)
{
    if (!t || !name)
        return NULL;
    return cat__find_column((const struct cat_tnode *)t, name, strlen(name));
}

const struct cat_column *
cat_table_column_by_id(const struct cat_table *t, uint32_t id)
{
    if (!t)
        return NULL;
    uint32_t lo = 0, hi = t->n_columns;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        uint32_t v = t->columns[mid].id;
        if (v == id)
            return &t->columns[mid];
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct cat_db *
cat_snapshot_find_db_n(const struct cat_snapshot *s, const char *name, size_t len)
{
    struct cat_dnode *d = s && name ? cat__find_dnode(s, name, len) : NULL;
    return d ? &d->pub : NULL;
}

const struct cat_table *
cat_db_find_table_n(const struct cat_db *db, const char *name, size_t len)
{
    struct cat_tnode *t = db && name ? cat__find_tnode((const struct cat_dnode *)db, name, len)
                                     : NULL;
    return t ? &t->pub : NULL;
}

const struct cat_column *
cat_table_find_column_n(const struct cat_table *t, const char *name, size_t len)
{
    return t && name ? cat__find_column((const struct cat_tnode *)t, name, len) : NULL;
}
