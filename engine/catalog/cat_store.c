/*
 * cat_store.c: the catalog store: the published snapshot, schema-changing
 * transactions (copy on write), and name validation.
 *
 * Locking: `txn_mu` serialises transactions (held from cat_txn_begin to
 * commit or abort); `pub_mu` guards only the swap of the published snapshot
 * pointer and the taking of a reference on it, so readers wait at most for
 * a pointer swap, never for a transaction or its fsync.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_int.h"
#include "strata/utf8.h"
#include "strata/crypt.h"
#include "strata/file.h"
#include "strata/log.h"

struct cat_store {
    char *path; /* <dir>/catalog.bin */
    const struct crypt_policy *pol;
    bool file_exists, file_encrypted; /* catalog.bin as last read or written (under txn_mu) */
    struct cat_limits lim;
    pthread_mutex_t txn_mu;
    pthread_mutex_t pub_mu;
    struct cat_snapshot *cur;
    uint32_t next_col_id; /* store-wide, never goes back even when a transaction fails */
};

struct cat_txn {
    struct cat_store *cs;
    struct cat_snapshot *draft;
    bool dirty;
};

/* ---- names -------------------------------------------------------------- */

enum st_code
cat_name_check(const char *kind, const char *name, size_t len, struct st_error *err)
{
    const unsigned char *p = (const unsigned char *)name;
    if (!kind)
        kind = "name";
    if (!name || len == 0)
        return st_error_set(err, ST_EINVAL, "%s name is empty", kind);
    if (strcmp(kind, "database") == 0) {
        if (len > CAT_MAX_DB_NAME_LEN)
            return st_error_set(err, ST_EINVAL, "database name is longer than %u bytes",
                                CAT_MAX_DB_NAME_LEN);
        for (size_t i = 0; i < len; i++) {
            unsigned char c = p[i];
            bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (!(alnum || (i > 0 && (c == '_' || c == '-'))))
                return st_error_set(err, ST_EINVAL,
                                    "invalid character in database name at byte %zu: must be "
                                    "ASCII, starting with a letter or digit, containing only "
                                    "letters, digits, underscores or hyphens",
                                    i + 1);
        }
        return ST_OK;
    }
    if (len > CAT_MAX_NAME_LEN)
        return st_error_set(err, ST_EINVAL, "%s name is longer than %u bytes", kind,
                            CAT_MAX_NAME_LEN);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c < 0x20 || c == 0x7f)
            return st_error_set(err, ST_EINVAL, "%s name contains a control character at byte %zu",
                                kind, i + 1);
        if (c == '/' || c == '\\')
            return st_error_set(err, ST_EINVAL, "%s name contains '%c' at byte %zu", kind, c,
                                i + 1);
        if (c == '.' && i + 1 < len && p[i + 1] == '.')
            return st_error_set(err, ST_EINVAL, "%s name contains \"..\" at byte %zu", kind, i + 1);
    }
    if (p[0] == ' ' || p[len - 1] == ' ')
        return st_error_set(err, ST_EINVAL, "%s name has a leading or trailing space", kind);
    if (!st_utf8_valid(p, len, NULL))
        return st_error_set(err, ST_EINVAL, "%s name is not valid UTF-8", kind);
    return ST_OK;
}

const char *
cat_type_label(enum cat_col_kind kind, enum st_type type)
{
    if (kind == CAT_COL_TIME)
        return "timestamp";
    if (kind == CAT_COL_TAG)
        return "tag";
    switch (type) {
    case ST_TYPE_FLOAT: return "float";
    case ST_TYPE_INT: return "integer";
    case ST_TYPE_UINT: return "uinteger";
    case ST_TYPE_BOOL: return "boolean";
    case ST_TYPE_STRING: return "string";
    default: return "unknown";
    }
}

/* ---- open / close ------------------------------------------------------- */

enum st_code
cat_store_open(const char *dir, const struct cat_limits *limits, const struct crypt_policy *pol,
               struct cat_store **out, struct st_error *err)
{
    struct cat_store *cs = calloc(1, sizeof *cs);
    if (!cs)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    size_t n = strlen(dir) + sizeof "/catalog.bin";
    cs->path = malloc(n);
    if (!cs->path) {
        free(cs);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    snprintf(cs->path, n, "%s/catalog.bin", dir);
    cs->pol = pol;
    if (limits)
        cs->lim = *limits;
    if (!cs->lim.max_databases)
        cs->lim.max_databases = CAT_DEFAULT_MAX_DATABASES;
    if (!cs->lim.max_tables_per_db)
        cs->lim.max_tables_per_db = CAT_DEFAULT_MAX_TABLES;
    if (!cs->lim.max_columns_per_table)
        cs->lim.max_columns_per_table = CAT_DEFAULT_MAX_COLUMNS;
    pthread_mutex_init(&cs->txn_mu, NULL);
    pthread_mutex_init(&cs->pub_mu, NULL);

    uint8_t *buf = NULL;
    size_t len = 0;
    struct st_error e2;
    st_error_clear(&e2);
    enum st_code rc = st_file_read_all(cs->path, 256u << 20, &buf, &len, &e2);
    if (rc == ST_ENOTFOUND) {
        cs->cur = cat__snapshot_new();
        if (!cs->cur)
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
        else
            rc = ST_OK;
    } else if (rc == ST_OK) {
        char what[4200];
        snprintf(what, sizeof what, "catalog \"%s\"", cs->path);
        cs->file_exists = true;
        cs->file_encrypted = len >= 12 && (buf[10] & 1);
        rc = cat_decode_file(pol, what, buf, len, NULL, &cs->cur, err);
        if (rc != ST_OK && err && !strstr(err->msg, "catalog \""))
            st_error_prefix(err, "%s: ", what);
        free(buf);
    } else {
        if (err)
            *err = e2;
    }
    if (rc != ST_OK) {
        cat_store_close(cs);
        return rc;
    }
    cs->next_col_id = 1;
    for (uint32_t i = 0; i < cs->cur->n_dbs; i++)
        for (uint32_t j = 0; j < cs->cur->dbs[i]->pub.n_tables; j++)
            if (cs->cur->dbs[i]->tables[j]->next_col_id > cs->next_col_id)
                cs->next_col_id = cs->cur->dbs[i]->tables[j]->next_col_id;
    *out = cs;
    return ST_OK;
}

void
cat_store_close(struct cat_store *cs)
{
    if (!cs)
        return;
    cat_snapshot_unref(cs->cur);
    pthread_mutex_destroy(&cs->txn_mu);
    pthread_mutex_destroy(&cs->pub_mu);
    free(cs->path);
    free(cs);
}

struct cat_snapshot *
cat_store_snapshot(struct cat_store *cs)
{
    pthread_mutex_lock(&cs->pub_mu);
    struct cat_snapshot *s = cs->cur;
    cat_snapshot_ref(s);
    pthread_mutex_unlock(&cs->pub_mu);
    return s;
}

/* ---- transactions ------------------------------------------------------- */

static struct cat_snapshot *
snapshot_clone(const struct cat_snapshot *src)
{
    struct cat_snapshot *s = cat__snapshot_new();
    if (!s)
        return NULL;
    s->version = src->version + 1;
    s->next_db_id = src->next_db_id;
    if (src->n_dbs) {
        s->dbs = malloc(src->n_dbs * sizeof *s->dbs);
        s->by_id = malloc(src->n_dbs * sizeof *s->by_id);
        if (!s->dbs || !s->by_id) {
            cat_snapshot_unref(s);
            return NULL;
        }
        memcpy(s->dbs, src->dbs, src->n_dbs * sizeof *s->dbs);
        memcpy(s->by_id, src->by_id, src->n_dbs * sizeof *s->by_id);
        for (uint32_t i = 0; i < src->n_dbs; i++)
            atomic_fetch_add(&src->dbs[i]->refs, 1);
        s->n_dbs = s->cap = src->n_dbs;
    }
    return s;
}

struct cat_txn *
cat_txn_begin(struct cat_store *cs)
{
    struct cat_txn *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_lock(&cs->txn_mu);
    t->cs = cs;
    return t;
}

/* The draft, created on first use (a clone of the published snapshot). */
static struct cat_snapshot *
draft_get(struct cat_txn *t)
{
    if (!t->draft)
        t->draft = snapshot_clone(t->cs->cur);
    return t->draft;
}

const struct cat_snapshot *
cat_txn_draft(struct cat_txn *t)
{
    return t->draft ? t->draft : t->cs->cur;
}

bool
cat_txn_dirty(const struct cat_txn *t)
{
    return t->dirty;
}

static void
replace_ptr(void **arr, uint32_t n, const void *old, void *neu)
{
    for (uint32_t i = 0; i < n; i++)
        if (arr[i] == old)
            arr[i] = neu;
}

/* Make db `id` in the draft a private (draft) node; NULL when absent or ENOMEM. */
static struct cat_dnode *
draft_db(struct cat_txn *t, uint32_t id, struct st_error *err)
{
    struct cat_snapshot *s = draft_get(t);
    if (!s) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    struct cat_dnode *d = (struct cat_dnode *)cat_snapshot_db_by_id(s, id);
    if (!d) {
        st_error_set(err, ST_ENOTFOUND, "database id %u does not exist", id);
        return NULL;
    }
    if (d->draft)
        return d;
    struct cat_dnode *c = cat__dnode_new(d->pub.id, d->pub.name, strlen(d->pub.name));
    if (!c) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    c->next_table_id = d->next_table_id;
    for (uint32_t i = 0; i < d->pub.n_tables; i++) {
        atomic_fetch_add(&d->tables[i]->refs, 1);
        if (cat__dnode_insert(c, d->tables[i]) != 0) {
            cat__tnode_unref(d->tables[i]);
            cat__dnode_unref(c);
            st_error_set(err, ST_ENOMEM, "out of memory");
            return NULL;
        }
    }
    replace_ptr((void **)s->dbs, s->n_dbs, d, c);
    replace_ptr((void **)s->by_id, s->n_dbs, d, c);
    cat__dnode_unref(d);
    return c;
}

static struct cat_tnode *
draft_table(struct cat_txn *t, struct cat_dnode *d, uint32_t table_id, struct st_error *err)
{
    struct cat_tnode *tn = (struct cat_tnode *)cat_db_table_by_id(&d->pub, table_id);
    if (!tn) {
        st_error_set(err, ST_ENOTFOUND, "table id %u does not exist", table_id);
        return NULL;
    }
    if (tn->draft)
        return tn;
    struct cat_tnode *c = cat__tnode_new(tn->pub.id, tn->pub.name, strlen(tn->pub.name));
    if (!c) {
        st_error_set(err, ST_ENOMEM, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < tn->pub.n_columns; i++) {
        const struct cat_column *col = &tn->cols[i];
        if (!cat__tnode_add(c, col->id, col->name, strlen(col->name), col->kind, col->type)) {
            cat__tnode_unref(c);
            st_error_set(err, ST_ENOMEM, "out of memory");
            return NULL;
        }
    }
    c->next_col_id = tn->next_col_id;
    replace_ptr((void **)d->tables, d->pub.n_tables, tn, c);
    replace_ptr((void **)d->by_id, d->pub.n_tables, tn, c);
    for (uint32_t i = 0; i < d->pub.n_tables; i++)
        if (d->ptabs[i] == &tn->pub)
            d->ptabs[i] = &c->pub;
    cat__tnode_unref(tn);
    return c;
}

enum st_code
cat_txn_db_create(struct cat_txn *t, const char *name, size_t len, uint32_t *id_out,
                  struct st_error *err)
{
    ST_TRY(cat_name_check("database", name, len, err));
    const struct cat_snapshot *cur = cat_txn_draft(t);
    if (cat__find_dnode(cur, name, len))
        return st_error_set(err, ST_EEXISTS, "database \"%.*s\" already exists", (int)len, name);
    if (cur->n_dbs >= t->cs->lim.max_databases)
        return st_error_set(err, ST_ELIMIT,
                            "adding a new database would exceed the limit of %u databases",
                            t->cs->lim.max_databases);
    struct cat_snapshot *s = draft_get(t);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    struct cat_dnode *d = cat__dnode_new(s->next_db_id, name, len);
    if (!d || cat__snapshot_insert(s, d) != 0) {
        cat__dnode_unref(d);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    t->dirty = true;
    if (id_out)
        *id_out = d->pub.id;
    return ST_OK;
}

enum st_code
cat_txn_db_drop(struct cat_txn *t, const char *name, uint32_t *id_out, struct st_error *err)
{
    size_t len = strlen(name);
    if (!cat__find_dnode(cat_txn_draft(t), name, len))
        return st_error_set(err, ST_ENOTFOUND, "database \"%s\" does not exist", name);
    struct cat_snapshot *s = draft_get(t);
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    struct cat_dnode *d = cat__find_dnode(s, name, len);
    if (id_out)
        *id_out = d->pub.id;
    cat__snapshot_remove(s, d->pub.id);
    t->dirty = true;
    return ST_OK;
}

enum st_code
cat_txn_table_create(struct cat_txn *t, uint32_t db_id, const char *name, size_t len,
                     const struct cat_table **out, struct st_error *err)
{
    ST_TRY(cat_name_check("table", name, len, err));
    const struct cat_db *db0 = cat_snapshot_db_by_id(cat_txn_draft(t), db_id);
    if (!db0)
        return st_error_set(err, ST_ENOTFOUND, "database id %u does not exist", db_id);
    struct cat_tnode *ex = cat__find_tnode((const struct cat_dnode *)db0, name, len);
    if (ex) {
        if (out)
            *out = &ex->pub;
        return st_error_set(err, ST_EEXISTS, "table \"%.*s\" already exists", (int)len, name);
    }
    if (db0->n_tables >= t->cs->lim.max_tables_per_db)
        return st_error_set(err, ST_ELIMIT,
                            "update to schema would exceed the limit of %u tables in database "
                            "\"%s\"",
                            t->cs->lim.max_tables_per_db, db0->name);
    struct cat_dnode *d = draft_db(t, db_id, err);
    if (!d)
        return err ? err->code : ST_ENOMEM;
    struct cat_tnode *tn = cat__tnode_new(d->next_table_id, name, len);
    if (!tn)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    if (!cat__tnode_add(tn, 0, "time", 4, CAT_COL_TIME, ST_TYPE_TIME) ||
        cat__dnode_insert(d, tn) != 0) {
        cat__tnode_unref(tn);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    t->dirty = true;
    if (out)
        *out = &tn->pub;
    return ST_OK;
}

enum st_code
cat_txn_column_add(struct cat_txn *t, uint32_t db_id, uint32_t table_id, const char *name,
                   size_t len, enum cat_col_kind kind, enum st_type type,
                   const struct cat_column **out, struct st_error *err)
{
    const struct cat_db *db0 = cat_snapshot_db_by_id(cat_txn_draft(t), db_id);
    const struct cat_table *t0 = db0 ? cat_db_table_by_id(db0, table_id) : NULL;
    if (!t0)
        return st_error_set(err, ST_ENOTFOUND, "table id %u does not exist", table_id);
    const struct cat_column *ex = cat__find_column((const struct cat_tnode *)t0, name, len);
    if (ex) {
        if (ex->kind == kind && (kind != CAT_COL_FIELD || ex->type == type)) {
            if (out)
                *out = ex;
            return ST_OK;
        }
        return st_error_set(err, ST_ETYPE,
                            "invalid column type for column '%.*s', expected %s, got %s",
                            (int)len, name, cat_type_label(ex->kind, ex->type),
                            cat_type_label(kind, type));
    }
    if (kind == CAT_COL_TIME || (kind == CAT_COL_TAG && type != ST_TYPE_STRING) ||
        (kind == CAT_COL_FIELD && (type < ST_TYPE_STRING || type > ST_TYPE_BOOL)))
        return st_error_set(err, ST_EINVAL, "bad column kind or type for '%.*s'", (int)len, name);
    ST_TRY(cat_name_check(kind == CAT_COL_TAG ? "tag" : "field", name, len, err));
    if (t0->n_columns >= t->cs->lim.max_columns_per_table)
        return st_error_set(err, ST_ELIMIT,
                            "update to schema would exceed the limit of %u columns in table "
                            "\"%s\"",
                            t->cs->lim.max_columns_per_table, t0->name);
    struct cat_dnode *d = draft_db(t, db_id, err);
    if (!d)
        return err ? err->code : ST_ENOMEM;
    struct cat_tnode *tn = draft_table(t, d, table_id, err);
    if (!tn)
        return err ? err->code : ST_ENOMEM;
    /* Column ids come from one store-wide counter that never goes back, so an
     * id handed out by a transaction that then failed is never reused for
     * another column while this process runs. */
    uint32_t cid = t->cs->next_col_id > tn->next_col_id ? t->cs->next_col_id : tn->next_col_id;
    const struct cat_column *c = cat__tnode_add(tn, cid, name, len, kind, type);
    if (c)
        t->cs->next_col_id = cid + 1;
    if (!c)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    t->dirty = true;
    if (out)
        *out = c;
    return ST_OK;
}

static void
undraft(struct cat_snapshot *s)
{
    for (uint32_t i = 0; i < s->n_dbs; i++) {
        struct cat_dnode *d = s->dbs[i];
        if (!d->draft)
            continue;
        d->draft = false;
        for (uint32_t j = 0; j < d->pub.n_tables; j++)
            d->tables[j]->draft = false;
    }
}

static void
txn_end(struct cat_txn *t)
{
    cat_snapshot_unref(t->draft);
    pthread_mutex_unlock(&t->cs->txn_mu);
    free(t);
}

enum st_code
cat_txn_commit(struct cat_txn *t, struct st_error *err)
{
    if (!t->dirty) {
        txn_end(t);
        return ST_OK;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    enum st_code rc = cat__encode(t->draft, t->cs->pol, &buf, &len, err);
    if (rc == ST_OK) {
        rc = st_file_write_atomic(t->cs->path, buf, len, 0600, err);
        if (rc != ST_OK)
            st_error_prefix(err, "saving the catalog: ");
        else {
            t->cs->file_exists = true;
            t->cs->file_encrypted = crypt_policy_encrypts(t->cs->pol);
        }
    }
    free(buf);
    if (rc == ST_OK) {
        undraft(t->draft);
        pthread_mutex_lock(&t->cs->pub_mu);
        struct cat_snapshot *old = t->cs->cur;
        t->cs->cur = t->draft;
        t->draft = NULL;
        pthread_mutex_unlock(&t->cs->pub_mu);
        cat_snapshot_unref(old);
    }
    txn_end(t);
    return rc;
}

void
cat_txn_abort(struct cat_txn *t)
{
    if (t)
        txn_end(t);
}

/* ---- the file ----------------------------------------------------------------- */

bool
cat_store_file_encrypted(struct cat_store *cs)
{
    pthread_mutex_lock(&cs->txn_mu);
    bool e = cs->file_encrypted;
    pthread_mutex_unlock(&cs->txn_mu);
    return e;
}

bool
cat_store_file_exists(struct cat_store *cs)
{
    pthread_mutex_lock(&cs->txn_mu);
    bool e = cs->file_exists;
    pthread_mutex_unlock(&cs->txn_mu);
    return e;
}

const char *
cat_store_path(const struct cat_store *cs)
{
    return cs->path;
}

enum st_code
cat_store_resave(struct cat_store *cs, struct st_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    pthread_mutex_lock(&cs->txn_mu);
    struct cat_snapshot *s = cat_store_snapshot(cs);
    enum st_code rc = cat__encode(s, cs->pol, &buf, &len, err);
    if (rc == ST_OK)
        rc = st_file_write_atomic(cs->path, buf, len, 0600, err);
    if (rc == ST_OK) {
        cs->file_exists = true;
        cs->file_encrypted = crypt_policy_encrypts(cs->pol);
    } else {
        st_error_prefix(err, "saving the catalog: ");
    }
    free(buf);
    cat_snapshot_unref(s);
    pthread_mutex_unlock(&cs->txn_mu);
    return rc;
}
