/*
 * test_catalog.c: the catalog: names, databases, tables, columns and their
 * type rules, limits, copy-on-write snapshots, persistence and its failure
 * modes (a failed save publishes nothing; a corrupt file does not load), and
 * the encrypted file (no names in plaintext, a wrong key or mode refused,
 * a resave under a new key).
 */
#include "th.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/catalog_store.h"
#include "strata/crypt.h"
#include "strata/file.h"

static struct cat_store *
open_store(const struct cat_limits *lim)
{
    struct cat_store *cs;
    struct st_error err;
    ASSERT_OK_E(cat_store_open(th_tmpdir(), lim, NULL, &cs, &err), &err);
    return cs;
}

/* db "metrics" with table "cpu" (host tag, usage integer field). */
static void
build_basic(struct cat_store *cs, uint32_t *db_id, uint32_t *t_id)
{
    struct st_error err;
    struct cat_txn *t = cat_txn_begin(cs);
    ASSERT_OK_E(cat_txn_db_create(t, "metrics", 7, db_id, &err), &err);
    const struct cat_table *tab;
    ASSERT_OK_E(cat_txn_table_create(t, *db_id, "cpu", 3, &tab, &err), &err);
    *t_id = tab->id;
    const struct cat_column *c;
    ASSERT_OK_E(cat_txn_column_add(t, *db_id, *t_id, "host", 4, CAT_COL_TAG, ST_TYPE_STRING, &c,
                                   &err),
                &err);
    ASSERT_OK_E(cat_txn_column_add(t, *db_id, *t_id, "usage", 5, CAT_COL_FIELD, ST_TYPE_INT, &c,
                                   &err),
                &err);
    ASSERT_OK_E(cat_txn_commit(t, &err), &err);
}

TEST(database_names_follow_influxdb_rules)
{
    struct st_error err;
    ASSERT_OK(cat_name_check("database", "metrics_1-a", 11, &err));
    ASSERT_CODE(cat_name_check("database", "", 0, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("database", "_x", 2, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("database", "a/b", 3, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("database", "..", 2, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("database", "a b", 3, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("database", "caf\xc3\xa9", 5, &err), ST_EINVAL);
    char longn[100];
    memset(longn, 'a', sizeof longn);
    ASSERT_CODE(cat_name_check("database", longn, 65, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "64 bytes");
    ASSERT_OK(cat_name_check("database", longn, 64, &err));
}

TEST(other_names_reject_path_and_control_characters)
{
    struct st_error err;
    ASSERT_OK(cat_name_check("table", "cpu load (%)", 12, &err));
    ASSERT_OK(cat_name_check("field", "caf\xc3\xa9", 5, &err));
    ASSERT_CODE(cat_name_check("table", "", 0, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("table", "a/b", 3, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("table", "a\\b", 3, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("table", "a..b", 4, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("table", "a\nb", 3, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("table", "a\0b", 3, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("table", " a", 2, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("table", "a ", 2, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("tag", "\xc3(", 2, &err), ST_EINVAL);
    ASSERT_CODE(cat_name_check("tag", "\xed\xa0\x80", 3, &err), ST_EINVAL); /* surrogate */
    ASSERT_CODE(cat_name_check("tag", "\xc0\x80", 2, &err), ST_EINVAL);     /* overlong */
    char big[600];
    memset(big, 'x', sizeof big);
    ASSERT_CODE(cat_name_check("column", big, 513, &err), ST_EINVAL);
    ASSERT_OK(cat_name_check("column", big, 512, &err));
}

TEST(tables_columns_and_lookups)
{
    struct cat_store *cs = open_store(NULL);
    uint32_t db_id, t_id;
    build_basic(cs, &db_id, &t_id);
    struct cat_snapshot *s = cat_store_snapshot(cs);
    const struct cat_db *db = cat_snapshot_find_db(s, "metrics");
    ASSERT_TRUE(db != NULL);
    ASSERT_EQ_INT(db->id, db_id);
    ASSERT_TRUE(cat_snapshot_db_by_id(s, db_id) == db);
    const struct cat_table *t = cat_db_find_table(db, "cpu");
    ASSERT_TRUE(t != NULL && cat_db_table_by_id(db, t_id) == t);
    ASSERT_EQ_INT(t->n_columns, 3);
    ASSERT_EQ_STR(t->columns[0].name, "time");
    ASSERT_EQ_INT(t->columns[0].kind, CAT_COL_TIME);
    const struct cat_column *host = cat_table_find_column(t, "host");
    ASSERT_EQ_INT(host->kind, CAT_COL_TAG);
    ASSERT_EQ_INT(host->tag_index, 0);
    ASSERT_EQ_INT(t->n_tags, 1);
    ASSERT_TRUE(cat_table_column_by_id(t, host->id) == host);
    ASSERT_TRUE(cat_table_find_column_n(t, "usagexx", 5) == cat_table_find_column(t, "usage"));
    ASSERT_TRUE(cat_table_find_column(t, "nope") == NULL);
    cat_snapshot_unref(s);
    cat_store_close(cs);
}

TEST(type_conflicts_are_rejected_with_influxdb_messages)
{
    struct cat_store *cs = open_store(NULL);
    uint32_t db_id, t_id;
    build_basic(cs, &db_id, &t_id);
    struct st_error err;
    struct cat_txn *t = cat_txn_begin(cs);
    const struct cat_column *c;
    ASSERT_CODE(cat_txn_column_add(t, db_id, t_id, "usage", 5, CAT_COL_FIELD, ST_TYPE_FLOAT, &c,
                                   &err),
                ST_ETYPE);
    ASSERT_EQ_STR(err.msg, "invalid column type for column 'usage', expected integer, got float");
    ASSERT_CODE(cat_txn_column_add(t, db_id, t_id, "host", 4, CAT_COL_FIELD, ST_TYPE_STRING, &c,
                                   &err),
                ST_ETYPE);
    ASSERT_EQ_STR(err.msg, "invalid column type for column 'host', expected tag, got string");
    ASSERT_CODE(cat_txn_column_add(t, db_id, t_id, "usage", 5, CAT_COL_TAG, ST_TYPE_STRING, &c,
                                   &err),
                ST_ETYPE);
    ASSERT_CODE(cat_txn_column_add(t, db_id, t_id, "time", 4, CAT_COL_FIELD, ST_TYPE_INT, &c,
                                   &err),
                ST_ETYPE);
    ASSERT_CONTAINS(err.msg, "expected timestamp");
    ASSERT_CODE(cat_txn_column_add(t, db_id, t_id, "u", 1, CAT_COL_FIELD, ST_TYPE_UINT, &c, &err),
                ST_OK);
    ASSERT_CODE(cat_txn_column_add(t, db_id, t_id, "u", 1, CAT_COL_FIELD, ST_TYPE_INT, &c, &err),
                ST_ETYPE);
    ASSERT_EQ_STR(err.msg, "invalid column type for column 'u', expected uinteger, got integer");
    /* same kind and type again: fine */
    ASSERT_OK(cat_txn_column_add(t, db_id, t_id, "usage", 5, CAT_COL_FIELD, ST_TYPE_INT, &c,
                                 &err));
    cat_txn_abort(t);
    cat_store_close(cs);
}

TEST(limits_on_databases_tables_and_columns)
{
    struct cat_limits lim = {.max_databases = 2, .max_tables_per_db = 2,
                             .max_columns_per_table = 3};
    struct cat_store *cs = open_store(&lim);
    struct st_error err;
    struct cat_txn *t = cat_txn_begin(cs);
    uint32_t a, b, c;
    ASSERT_OK(cat_txn_db_create(t, "a", 1, &a, &err));
    ASSERT_OK(cat_txn_db_create(t, "b", 1, &b, &err));
    ASSERT_CODE(cat_txn_db_create(t, "c", 1, &c, &err), ST_ELIMIT);
    ASSERT_CONTAINS(err.msg, "limit of 2 databases");
    ASSERT_CODE(cat_txn_db_create(t, "a", 1, &c, &err), ST_EEXISTS);
    const struct cat_table *tab;
    ASSERT_OK(cat_txn_table_create(t, a, "t1", 2, &tab, &err));
    uint32_t t1 = tab->id;
    ASSERT_OK(cat_txn_table_create(t, a, "t2", 2, &tab, &err));
    ASSERT_CODE(cat_txn_table_create(t, a, "t3", 2, &tab, &err), ST_ELIMIT);
    ASSERT_CODE(cat_txn_table_create(t, a, "t1", 2, &tab, &err), ST_EEXISTS);
    const struct cat_column *col;
    ASSERT_OK(cat_txn_column_add(t, a, t1, "x", 1, CAT_COL_FIELD, ST_TYPE_INT, &col, &err));
    ASSERT_OK(cat_txn_column_add(t, a, t1, "y", 1, CAT_COL_FIELD, ST_TYPE_INT, &col, &err));
    ASSERT_CODE(cat_txn_column_add(t, a, t1, "z", 1, CAT_COL_FIELD, ST_TYPE_INT, &col, &err),
                ST_ELIMIT);
    ASSERT_CONTAINS(err.msg, "limit of 3 columns");
    ASSERT_OK(cat_txn_commit(t, &err));
    cat_store_close(cs);
}

TEST(snapshots_are_immutable_and_persisted)
{
    struct cat_store *cs = open_store(NULL);
    uint32_t db_id, t_id;
    build_basic(cs, &db_id, &t_id);
    struct cat_snapshot *old = cat_store_snapshot(cs);
    struct st_error err;
    struct cat_txn *t = cat_txn_begin(cs);
    const struct cat_column *c;
    ASSERT_OK(cat_txn_column_add(t, db_id, t_id, "region", 6, CAT_COL_TAG, ST_TYPE_STRING, &c,
                                 &err));
    uint32_t db2;
    ASSERT_OK(cat_txn_db_create(t, "other", 5, &db2, &err));
    /* the published snapshot does not see the draft */
    ASSERT_TRUE(cat_snapshot_find_db(old, "other") == NULL);
    ASSERT_OK_E(cat_txn_commit(t, &err), &err);
    const struct cat_table *ot = cat_db_find_table(cat_snapshot_find_db(old, "metrics"), "cpu");
    ASSERT_EQ_INT(ot->n_columns, 3);
    ASSERT_TRUE(cat_snapshot_version(old) > 0);
    struct cat_snapshot *now = cat_store_snapshot(cs);
    ASSERT_TRUE(cat_snapshot_version(now) > cat_snapshot_version(old));
    ASSERT_EQ_INT(cat_db_find_table(cat_snapshot_find_db(now, "metrics"), "cpu")->n_columns, 4);
    cat_snapshot_unref(now);
    cat_snapshot_unref(old);
    cat_store_close(cs);

    cs = open_store(NULL);
    now = cat_store_snapshot(cs);
    ASSERT_EQ_INT(cat_snapshot_n_dbs(now), 2);
    ASSERT_EQ_STR(cat_snapshot_db_at(now, 0)->name, "metrics"); /* sorted by name */
    const struct cat_table *tt = cat_db_find_table(cat_snapshot_find_db(now, "metrics"), "cpu");
    ASSERT_EQ_INT(tt->n_columns, 4);
    const struct cat_column *reg = cat_table_find_column(tt, "region");
    ASSERT_EQ_INT(reg->tag_index, 1);
    /* ids keep growing after reload */
    t = cat_txn_begin(cs);
    ASSERT_OK(cat_txn_column_add(t, db_id, t_id, "z", 1, CAT_COL_FIELD, ST_TYPE_BOOL, &c, &err));
    ASSERT_TRUE(c->id > reg->id);
    cat_txn_abort(t);
    cat_snapshot_unref(now);
    cat_store_close(cs);
}

TEST(drop_database_and_ids_are_not_reused)
{
    struct cat_store *cs = open_store(NULL);
    uint32_t db_id, t_id;
    build_basic(cs, &db_id, &t_id);
    struct st_error err;
    struct cat_txn *t = cat_txn_begin(cs);
    uint32_t dropped;
    ASSERT_OK(cat_txn_db_drop(t, "metrics", &dropped, &err));
    ASSERT_EQ_INT(dropped, db_id);
    ASSERT_CODE(cat_txn_db_drop(t, "metrics", &dropped, &err), ST_ENOTFOUND);
    uint32_t again;
    ASSERT_OK(cat_txn_db_create(t, "metrics", 7, &again, &err));
    ASSERT_TRUE(again != db_id);
    ASSERT_OK(cat_txn_commit(t, &err));
    cat_store_close(cs);
    cs = open_store(NULL);
    t = cat_txn_begin(cs);
    uint32_t third;
    ASSERT_OK(cat_txn_db_create(t, "x3", 2, &third, &err));
    ASSERT_TRUE(third > again);
    cat_txn_abort(t);
    cat_store_close(cs);
}

TEST(failed_save_publishes_nothing)
{
    struct cat_store *cs = open_store(NULL);
    struct st_error err;
    struct st_fault f = {.op = ST_FAULT_RENAME, .count = 1, .err = EIO,
                         .path_substr = "catalog.bin"};
    struct cat_txn *t = cat_txn_begin(cs);
    uint32_t id;
    ASSERT_OK(cat_txn_db_create(t, "x", 1, &id, &err));
    st_fault_arm(&f);
    ASSERT_CODE(cat_txn_commit(t, &err), ST_EIO);
    st_fault_disarm();
    ASSERT_CONTAINS(err.msg, "saving the catalog");
    struct cat_snapshot *s = cat_store_snapshot(cs);
    ASSERT_TRUE(cat_snapshot_find_db(s, "x") == NULL);
    cat_snapshot_unref(s);
    /* fsync failure too */
    f.op = ST_FAULT_FSYNC;
    t = cat_txn_begin(cs);
    ASSERT_OK(cat_txn_db_create(t, "y", 1, &id, &err));
    st_fault_arm(&f);
    ASSERT_CODE(cat_txn_commit(t, &err), ST_EIO);
    st_fault_disarm();
    cat_store_close(cs);
    cs = open_store(NULL);
    s = cat_store_snapshot(cs);
    ASSERT_EQ_INT(cat_snapshot_n_dbs(s), 0);
    cat_snapshot_unref(s);
    cat_store_close(cs);
}

TEST(corrupt_catalog_file_does_not_load)
{
    struct cat_store *cs = open_store(NULL);
    uint32_t db_id, t_id;
    build_basic(cs, &db_id, &t_id);
    cat_store_close(cs);
    const char *p = th_path("catalog.bin");
    uint8_t *buf;
    size_t len;
    struct st_error err;
    ASSERT_OK(st_file_read_all(p, 1 << 20, &buf, &len, &err));
    for (size_t off = 0; off < len; off += 7) {
        buf[off] ^= 0x10;
        ASSERT_OK(st_file_write_atomic(p, buf, len, 0600, &err));
        struct cat_store *bad;
        enum st_code rc = cat_store_open(th_tmpdir(), NULL, NULL, &bad, &err);
        ASSERT_TRUE(rc == ST_ECORRUPT || rc == ST_EUNSUPPORTED);
        ASSERT_CONTAINS(err.msg, "catalog");
        buf[off] ^= 0x10;
    }
    /* and every decode of a truncated image fails cleanly */
    for (size_t l = 0; l < len; l++) {
        struct cat_snapshot *s;
        ASSERT_TRUE(cat_decode(buf, l, NULL, &s, &err) != ST_OK);
    }
    free(buf);
}

TEST(encrypted_catalog_hides_names_and_refuses_a_wrong_key)
{
    uint8_t k[CRYPT_KEY_LEN];
    memset(k, 7, sizeof k);
    struct crypt_keyring *kr = crypt_keyring_new(), *other = crypt_keyring_new();
    ASSERT_OK(crypt_keyring_add(kr, k, true, NULL));
    k[3] = 8;
    ASSERT_OK(crypt_keyring_add(other, k, true, NULL));
    struct crypt_policy pol = {kr, true, false, true}, wrong = {other, true, false, true},
                        plain = {NULL, false, true, false};
    struct cat_store *cs;
    struct st_error err;
    ASSERT_OK_E(cat_store_open(th_tmpdir(), NULL, &pol, &cs, &err), &err);
    ASSERT_FALSE(cat_store_file_exists(cs));
    uint32_t db_id, t_id;
    build_basic(cs, &db_id, &t_id);
    ASSERT_TRUE(cat_store_file_encrypted(cs));
    cat_store_close(cs);
    uint8_t *buf;
    size_t len;
    ASSERT_OK(st_file_read_all(th_path("catalog.bin"), 1 << 20, &buf, &len, &err));
    ASSERT_TRUE(memmem(buf, len, "metrics", 7) == NULL);
    ASSERT_TRUE(memmem(buf, len, "usage", 5) == NULL);
    ASSERT_CODE(cat_store_open(th_tmpdir(), NULL, &wrong, &cs, &err), ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "catalog");
    ASSERT_CONTAINS(err.msg, "not configured");
    ASSERT_CODE(cat_store_open(th_tmpdir(), NULL, &plain, &cs, &err), ST_ECRYPTO);
    ASSERT_CODE(cat_store_open(th_tmpdir(), NULL, NULL, &cs, &err), ST_ECRYPTO);
    /* a flipped bit in the sealed body: the tag catches it */
    buf[len - 10] ^= 1;
    struct cat_snapshot *s;
    ASSERT_CODE(cat_decode_file(&pol, "catalog", buf, len, NULL, &s, &err), ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "authentication");
    buf[len - 10] ^= 1;
    ASSERT_OK_E(cat_decode_file(&pol, "catalog", buf, len, NULL, &s, &err), &err);
    ASSERT_TRUE(cat_snapshot_find_db(s, "metrics") != NULL);
    cat_snapshot_unref(s);
    free(buf);
    /* a resave under a merged ring with the other key current */
    ASSERT_OK(crypt_keyring_merge(kr, other, true, NULL));
    ASSERT_OK_E(cat_store_open(th_tmpdir(), NULL, &pol, &cs, &err), &err);
    ASSERT_OK_E(cat_store_resave(cs, &err), &err);
    cat_store_close(cs);
    ASSERT_OK_E(cat_store_open(th_tmpdir(), NULL, &wrong, &cs, &err), &err);
    s = cat_store_snapshot(cs);
    ASSERT_TRUE(cat_snapshot_find_db(s, "metrics") != NULL);
    cat_snapshot_unref(s);
    cat_store_close(cs);
    crypt_keyring_free(kr);
    crypt_keyring_free(other);
}
