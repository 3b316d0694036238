/*
 * test_gw_dp.c: unit tests of stratad's data-protection pieces that need no running
 * server: the settings (encryption, keys, lists from three layers, the integrity interval,
 * the engine's tuning), the master keys at start (keys.c: a new directory's key, refusals,
 * previous keys, a stale temporary key file), the Flight SQL update decoder and statement
 * check (flightsql_update.c), and the internal database's name being nobody's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flight_sql.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "gw_flight.h"
#include "gw_int.h"
#include "strata/file.h"
#include "th.h"

static struct gw_server srv;
struct gw_server *gw_srv = &srv;

/* ---- settings ----------------------------------------------------------------------------- */

TEST(encryption_settings_and_defaults)
{
    struct gw_config c;
    struct st_error err;
    char *a0[] = {"stratad", NULL};
    ASSERT_OK_E(gw_config_load(&c, 1, a0, &err), &err);
    ASSERT_TRUE(c.encryption_on);
    ASSERT_FALSE(c.encryption_migrate);
    ASSERT_TRUE(c.master_key_file == NULL);
    ASSERT_EQ_U64(c.previous_key_files.n, 0);
    ASSERT_EQ_INT(c.integrity_interval_ns, 60 * 1000000000LL);
    ASSERT_EQ_INT(c.partition_ns, 86400 * 1000000000LL);
    ASSERT_EQ_U64(c.buffer_max_bytes, 64u << 20);
    ASSERT_EQ_INT(c.persist_age_ns, 600 * 1000000000LL);
    ASSERT_EQ_U64(c.block_cache_bytes, 128u << 20);
    gw_config_cleanup(&c);
    char *a1[] = {"stratad", "--encryption", "off", "--encryption-migrate", "--persist-age",
                  "200ms", "--block-cache-bytes", "0", "--integrity-interval", "0", NULL};
    ASSERT_OK_E(gw_config_load(&c, 10, a1, &err), &err);
    ASSERT_FALSE(c.encryption_on);
    ASSERT_TRUE(c.encryption_migrate);
    ASSERT_EQ_INT(c.persist_age_ns, 200 * 1000000LL);
    ASSERT_EQ_U64(c.block_cache_bytes, 0);
    ASSERT_EQ_INT(c.integrity_interval_ns, 0);
    gw_config_cleanup(&c);
    static const struct {
        const char *flag, *value, *msg;
    } bad[] = {
        {"--encryption", "maybe", "--encryption: 'maybe' is not on or off"},
        {"--integrity-interval", "10ms", "--integrity-interval: must be 0 (off) or 100ms..24h"},
        {"--integrity-interval", "2d", "--integrity-interval"},
        {"--persist-age", "1ms", "--persist-age: must be 10ms..7d"},
        {"--partition-duration", "500ms", "--partition-duration: must be 1s..366d"},
        {"--buffer-max-bytes", "1KiB", "--buffer-max-bytes: must be 64KiB..64GiB"},
        {"--block-cache-bytes", "2TiB", "--block-cache-bytes"},
        {"--master-key-file", "", "--master-key-file: must not be empty"},
        {"--previous-master-key-file", "", "an empty value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *a[] = {"stratad", (char *)bad[i].flag, (char *)bad[i].value, NULL};
        ASSERT_CODE(gw_config_load(&c, 3, a, &err), ST_EINVAL);
        ASSERT_CONTAINS(err.msg, bad[i].msg);
        gw_config_cleanup(&c);
    }
    char *g[] = {"stratad", "--generate-master-key", "k.key", NULL};
    ASSERT_CODE(gw_config_load(&c, 3, g, &err), ST_EEXISTS);
    ASSERT_EQ_STR(c.generate_master_key, "k.key");
    gw_config_cleanup(&c);
    char *g2[] = {"stratad", "--generate-master-key", NULL};
    ASSERT_CODE(gw_config_load(&c, 2, g2, &err), ST_EINVAL);
    gw_config_cleanup(&c);
}

TEST(list_settings_replace_by_layer_and_repeat_within_one)
{
    struct gw_config c;
    struct st_error err;
    const char *cfg = th_path("c.json");
    FILE *f = fopen(cfg, "w");
    ASSERT_TRUE(f != NULL);
    fputs("{\"previous-master-key-file\": [\"f1\", \"f2\"]}", f);
    fclose(f);
    char *a[] = {"stratad", "--config", (char *)cfg, NULL};
    ASSERT_OK_E(gw_config_load(&c, 3, a, &err), &err);
    ASSERT_EQ_U64(c.previous_key_files.n, 2);
    ASSERT_EQ_STR(c.previous_key_files.v[1], "f2");
    gw_config_cleanup(&c);
    setenv("STRATA_PREVIOUS_MASTER_KEY_FILE", "e1,e2,e3", 1);
    ASSERT_OK_E(gw_config_load(&c, 3, a, &err), &err);
    ASSERT_EQ_U64(c.previous_key_files.n, 3); /* the environment replaces the file's */
    ASSERT_EQ_STR(c.previous_key_files.v[2], "e3");
    gw_config_cleanup(&c);
    char *b[] = {"stratad", "--config", (char *)cfg, "--previous-master-key-file", "x1",
                 "--previous-master-key-file=x2", NULL};
    ASSERT_OK_E(gw_config_load(&c, 6, b, &err), &err);
    ASSERT_EQ_U64(c.previous_key_files.n, 2); /* flags replace, and repeat */
    ASSERT_EQ_STR(c.previous_key_files.v[0], "x1");
    ASSERT_EQ_STR(c.previous_key_files.v[1], "x2");
    gw_config_cleanup(&c);
    setenv("STRATA_PREVIOUS_MASTER_KEY_FILE", "e1,,e3", 1);
    ASSERT_CODE(gw_config_load(&c, 3, a, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "environment STRATA_PREVIOUS_MASTER_KEY_FILE: an empty value");
    gw_config_cleanup(&c);
    unsetenv("STRATA_PREVIOUS_MASTER_KEY_FILE");
    f = fopen(cfg, "w");
    fputs("{\"previous-master-key-file\": [\"f1\", 2]}", f);
    fclose(f);
    ASSERT_CODE(gw_config_load(&c, 3, a, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "must be an array of strings");
    gw_config_cleanup(&c);
}

/* ---- master keys ---------------------------------------------------------------------------- */

static char data[1024];

static void
config_for(const char *dir)
{
    memset(&srv, 0, sizeof srv);
    snprintf(data, sizeof data, "%s", dir);
    srv.cfg.data_dir = data;
    srv.cfg.encryption_on = true;
}

static void
write_key(const char *path, const char *hex, int mode)
{
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fprintf(f, "%s\n", hex);
    fclose(f);
    chmod(path, (mode_t)mode);
}

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

TEST(a_new_directory_gets_a_key)
{
    const char *d = th_path("new");
    ASSERT_TRUE(gw_data_dir_is_new(d));
    ASSERT_EQ_INT(mkdir(d, 0700), 0);
    ASSERT_TRUE(gw_data_dir_is_new(d));
    config_for(d);
    struct st_error err;
    ASSERT_OK_E(gw_keys_open(&srv, true, &err), &err);
    ASSERT_TRUE(srv.keys != NULL);
    ASSERT_TRUE(gw_keys_generated());
    ASSERT_TRUE(gw_keys_in_data_dir());
    char path[1200];
    snprintf(path, sizeof path, "%s/keys/master.key", d);
    struct stat st;
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT_EQ_INT(strlen(gw_keys_current_id()), 16);
    char kid[17];
    snprintf(kid, sizeof kid, "%s", gw_keys_current_id());
    gw_keys_close(&srv);
    ASSERT_FALSE(gw_data_dir_is_new(d));
    /* the next start finds it, and a stale temporary file of a crashed creation is harmless */
    ASSERT_OK_E(gw_keys_open(&srv, false, &err), &err);
    ASSERT_FALSE(gw_keys_generated());
    ASSERT_EQ_STR(gw_keys_current_id(), kid);
    gw_keys_close(&srv);
    const char *d2 = th_path("new2");
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s/keys", d2);
    ASSERT_OK(st_mkdir_p(tmp, 0700, &err));
    snprintf(tmp, sizeof tmp, "%s/keys/master.key.tmp", d2);
    write_key(tmp, "half", 0600);
    config_for(d2);
    ASSERT_TRUE(gw_data_dir_is_new(d2)); /* only a keys directory without master.key */
    ASSERT_OK_E(gw_keys_open(&srv, true, &err), &err);
    ASSERT_TRUE(access(tmp, F_OK) != 0);
    gw_keys_close(&srv);
    ASSERT_FALSE(gw_data_dir_is_new(d2));
}

TEST(keys_refused_with_reasons)
{
    const char *d = th_path("old");
    ASSERT_EQ_INT(mkdir(d, 0700), 0);
    char f[1200];
    snprintf(f, sizeof f, "%s/catalog.bin", d);
    write_key(f, "x", 0600); /* anything: the directory is not new */
    config_for(d);
    struct st_error err;
    ASSERT_CODE(gw_keys_open(&srv, false, &err), ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "no master key is configured");
    ASSERT_CONTAINS(err.msg, "--encryption-migrate");
    char keys[1200];
    snprintf(keys, sizeof keys, "%s/keys", d);
    ASSERT_TRUE(access(keys, F_OK) != 0); /* nothing created */
    /* encryption off and no key: plaintext, no keyring */
    srv.cfg.encryption_on = false;
    ASSERT_OK_E(gw_keys_open(&srv, false, &err), &err);
    ASSERT_TRUE(srv.keys == NULL);
    ASSERT_TRUE(gw_keys_current_id() == NULL);
    /* migration: a key is created for the existing directory */
    srv.cfg.encryption_on = true;
    srv.cfg.encryption_migrate = true;
    ASSERT_OK_E(gw_keys_open(&srv, false, &err), &err);
    ASSERT_TRUE(gw_keys_generated());
    gw_keys_close(&srv);
    /* a key file and the variable */
    const char *ka = th_path("a.key");
    write_key(ka, KEY_A, 0600);
    config_for(d);
    srv.cfg.master_key_file = (char *)ka;
    setenv("STRATA_MASTER_KEY", KEY_B, 1);
    ASSERT_CODE(gw_keys_open(&srv, false, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "both --master-key-file and STRATA_MASTER_KEY");
    /* a malformed variable is named, never shown */
    srv.cfg.master_key_file = NULL;
    setenv("STRATA_MASTER_KEY", "0011zz", 1);
    ASSERT_CODE(gw_keys_open(&srv, false, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "STRATA_MASTER_KEY: master key must be 64 hexadecimal");
    ASSERT_TRUE(strstr(err.msg, "0011zz") == NULL);
    ASSERT_TRUE(getenv("STRATA_MASTER_KEY") == NULL); /* removed once read */
    /* a loose key file, a missing one */
    const char *loose = th_path("loose.key");
    write_key(loose, KEY_A, 0640);
    srv.cfg.master_key_file = (char *)loose;
    ASSERT_CODE(gw_keys_open(&srv, false, &err), ST_EPERMISSION);
    ASSERT_CONTAINS(err.msg, "--master-key-file: ");
    ASSERT_CONTAINS(err.msg, "chmod 600");
    srv.cfg.master_key_file = (char *)th_path("missing.key");
    ASSERT_CODE(gw_keys_open(&srv, false, &err), ST_ENOTFOUND);
}

TEST(previous_keys_are_listed_without_the_current_one)
{
    const char *d = th_path("d");
    ASSERT_EQ_INT(mkdir(d, 0700), 0);
    const char *ka = th_path("a.key"), *kb = th_path("b.key");
    write_key(ka, KEY_A, 0600);
    write_key(kb, KEY_B, 0600);
    config_for(d);
    srv.cfg.master_key_file = (char *)kb;
    char *prev[] = {(char *)ka, (char *)kb, (char *)ka};
    srv.cfg.previous_key_files = (struct gw_strv){prev, 3};
    struct st_error err;
    ASSERT_OK_E(gw_keys_open(&srv, false, &err), &err);
    const char(*ids)[ENG_KEY_ID_LEN + 1];
    ASSERT_EQ_U64(gw_keys_previous_ids(&ids), 1);
    ASSERT_TRUE(strcmp(ids[0], gw_keys_current_id()) != 0);
    ASSERT_CONTAINS(gw_keys_source(), "--master-key-file");
    gw_keys_close(&srv);
    char *bad[] = {(char *)th_path("nope.key")};
    srv.cfg.previous_key_files = (struct gw_strv){bad, 1};
    ASSERT_CODE(gw_keys_open(&srv, false, &err), ST_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "--previous-master-key-file: ");
    char id[ENG_KEY_ID_LEN + 1];
    ASSERT_CODE(gw_keys_generate(ka, id, &err), ST_EEXISTS);
    ASSERT_CONTAINS(err.msg, "never overwritten");
    ASSERT_OK_E(gw_keys_generate(th_path("fresh.key"), id, &err), &err);
    ASSERT_EQ_INT(strlen(id), 16);
}

/* ---- Flight SQL updates ------------------------------------------------------------------- */

static size_t
pack_update(uint8_t *out, const char *type_url, const char *query, const char *txn)
{
    Arrow__Flight__Protocol__Sql__CommandStatementUpdate m =
        ARROW__FLIGHT__PROTOCOL__SQL__COMMAND_STATEMENT_UPDATE__INIT;
    m.query = (char *)query;
    if (txn) {
        m.has_transaction_id_case =
            ARROW__FLIGHT__PROTOCOL__SQL__COMMAND_STATEMENT_UPDATE__HAS_TRANSACTION_ID_TRANSACTION_ID;
        m.transaction_id.data = (uint8_t *)txn;
        m.transaction_id.len = strlen(txn);
    }
    uint8_t inner[4096];
    size_t n = protobuf_c_message_pack(&m.base, inner);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = (char *)type_url;
    any.value.data = inner;
    any.value.len = n;
    return protobuf_c_message_pack(&any.base, out);
}

#define UPD "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementUpdate"

TEST(update_decoding)
{
    uint8_t b[8192];
    char *sql;
    size_t len;
    struct st_error err;
    size_t n = pack_update(b, UPD, "DELETE FROM m WHERE host = 'a'", NULL);
    ASSERT_TRUE(gw_flightsql_is_update(b, n));
    ASSERT_OK_E(gw_flightsql_decode_update(b, n, &sql, &len, &err), &err);
    ASSERT_EQ_STR(sql, "DELETE FROM m WHERE host = 'a'");
    ASSERT_EQ_U64(len, strlen(sql));
    free(sql);
    static const struct {
        const char *url, *query, *txn;
        enum st_code code;
        const char *msg;
    } bad[] = {
        {UPD, "SELECT 1", NULL, ST_EINVAL, "only DELETE statements run as updates"},
        {UPD, "", NULL, ST_EINVAL, "the statement text is missing"},
        {UPD, "DELETE FROM m", "t", ST_EUNSUPPORTED, "transactions are not supported"},
        {"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery", "DELETE FROM m",
         NULL, ST_EINVAL, "not a CommandStatementUpdate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = pack_update(b, bad[i].url, bad[i].query, bad[i].txn);
        ASSERT_CODE(gw_flightsql_decode_update(b, n, &sql, &len, &err), bad[i].code);
        ASSERT_CONTAINS(err.msg, bad[i].msg);
        ASSERT_TRUE(sql == NULL);
    }
    /* a NUL inside the statement (protobuf-c would cut it short) */
    char q[] = "DELETE FROM m\0 WHERE x";
    uint8_t inner[64] = {0x0a, (uint8_t)(sizeof q - 1)};
    memcpy(inner + 2, q, sizeof q - 1);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = UPD;
    any.value.data = inner;
    any.value.len = 2 + sizeof q - 1;
    n = protobuf_c_message_pack(&any.base, b);
    ASSERT_CODE(gw_flightsql_decode_update(b, n, &sql, &len, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "NUL");
    /* too long */
    char *big = malloc(GW_MAX_SQL_BYTES + 20);
    ASSERT_TRUE(big != NULL);
    memcpy(big, "DELETE ", 7);
    memset(big + 7, ' ', GW_MAX_SQL_BYTES + 5);
    big[GW_MAX_SQL_BYTES + 12] = 0;
    Arrow__Flight__Protocol__Sql__CommandStatementUpdate bm =
        ARROW__FLIGHT__PROTOCOL__SQL__COMMAND_STATEMENT_UPDATE__INIT;
    bm.query = big;
    size_t in_len = protobuf_c_message_get_packed_size(&bm.base);
    uint8_t *bin = malloc(in_len), *bb = malloc(in_len + 200);
    ASSERT_TRUE(bin && bb);
    any.value.data = bin;
    any.value.len = protobuf_c_message_pack(&bm.base, bin);
    n = protobuf_c_message_pack(&any.base, bb);
    ASSERT_CODE(gw_flightsql_decode_update(bb, n, &sql, &len, &err), ST_ELIMIT);
    ASSERT_CONTAINS(err.msg, "longer than");
    free(big);
    free(bin);
    free(bb);
    ASSERT_FALSE(gw_flightsql_is_update((const uint8_t *)"\xff\xff", 2));
}

TEST(update_statement_check)
{
    static const struct {
        const char *sql;
        bool ok;
        int64_t offset;
    } t[] = {
        {"DELETE FROM m", true, 0},   {"delete from m", true, 0},
        {"  \n\tDeLeTe x", true, 0},  {"-- c\nDELETE FROM m", true, 0},
        {"/* a */ /**/DELETE", true, 0}, {"DELETE", true, 0},
        {"DELETEX FROM m", false, 0}, {"DELETE_ FROM m", false, 0},
        {"SELECT 1", false, 0},       {"  EXPLAIN DELETE FROM m", false, 2},
        {"/* never ends", false, 13}, {"", false, 0},
        {"-- only a comment", false, 17},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct st_error err;
        st_error_clear(&err);
        enum st_code rc = gw_update_statement_check(t[i].sql, strlen(t[i].sql), &err);
        if ((rc == ST_OK) != t[i].ok)
            th_fail(__FILE__, __LINE__, "\"%s\": got %s", t[i].sql, st_code_name(rc));
        if (!t[i].ok && err.offset != t[i].offset)
            th_fail(__FILE__, __LINE__, "\"%s\": offset %lld, want %lld", t[i].sql,
                    (long long)err.offset, (long long)t[i].offset);
    }
}

/* ---- the internal database ---------------------------------------------------------------- */

TEST(the_integrity_database_is_nobodys)
{
    struct st_error err;
    ASSERT_OK_E(eng_name_check("database", GW_INTEGRITY_DB, strlen(GW_INTEGRITY_DB), &err),
                &err);
    ASSERT_TRUE(gw_is_internal_db(GW_INTEGRITY_DB));
    ASSERT_FALSE(gw_is_internal_db("strata"));
    ASSERT_FALSE(gw_is_internal_db(NULL));
    /* no client-given name passes the name check with "--" in it, in any tenant */
    ASSERT_TRUE(rbac_name_check(RBAC_NAME_DATABASE, GW_INTEGRITY_DB, strlen(GW_INTEGRITY_DB),
                                NULL) != ST_OK);
    ASSERT_TRUE(rbac_name_check(RBAC_NAME_TENANT, "strata--integrity", 17, NULL) != ST_OK);
    ASSERT_TRUE(rbac_name_check(RBAC_NAME_DATABASE, "integrity--canary", 17, NULL) != ST_OK);
}

/* ---- the policy store under the master key -------------------------------------------------- */

static const char OPTOK[] = "unit-test/provisioned:operator+token=0123456789";

static enum st_code
open_policy(const char *dir, bool encrypt, bool migrate, struct st_error *err)
{
    static char tok[1200], pol[1200], pep[1200];
    snprintf(tok, sizeof tok, "%s/operator-token", dir);
    snprintf(pol, sizeof pol, "%s/security/policy.json", dir);
    snprintf(pep, sizeof pep, "%s/security/token-pepper", dir);
    FILE *f = fopen(tok, "w");
    fputs(OPTOK, f);
    fclose(f);
    srv.cfg.admin_token_file = tok;
    srv.cfg.policy_file = pol;
    srv.cfg.token_pepper_file = pep;
    srv.cfg.encryption_on = encrypt;
    srv.cfg.encryption_migrate = migrate;
    bool created;
    return gw_policy_open(&srv, &created, err);
}

static uint8_t *
slurp(const char *path, size_t *n)
{
    uint8_t *d = NULL;
    ASSERT_OK(st_file_read_all(path, 1 << 20, &d, n, NULL));
    return d;
}

TEST(the_policy_store_is_sealed_under_the_master_key)
{
    const char *d = th_path("p");
    ASSERT_EQ_INT(mkdir(d, 0700), 0);
    config_for(d);
    struct st_error err;
    ASSERT_OK_E(gw_keys_open(&srv, true, &err), &err);
    ASSERT_OK_E(open_policy(d, true, false, &err), &err);
    ASSERT_OK_E(gw_policy_reseal(&err), &err); /* writes the policy, sealed */
    char pol[1200], pep[1200];
    snprintf(pol, sizeof pol, "%s/security/policy.json", d);
    snprintf(pep, sizeof pep, "%s/security/token-pepper", d);
    size_t n1, n2;
    uint8_t *p1 = slurp(pol, &n1), *k1 = slurp(pep, &n2);
    ASSERT_TRUE(eng_file_is_sealed(p1, n1));
    ASSERT_TRUE(eng_file_is_sealed(k1, n2));
    ASSERT_TRUE(memmem(p1, n1, "default", 7) == NULL);
    /* resealing writes new bytes (a fresh data key) that open the same */
    ASSERT_OK_E(gw_policy_reseal(&err), &err);
    size_t n3;
    uint8_t *p2 = slurp(pol, &n3);
    ASSERT_TRUE(n3 != n1 || memcmp(p1, p2, n1) != 0);
    gw_policy_close();
    ASSERT_OK_E(open_policy(d, true, false, &err), &err);
    gw_policy_close();
    /* the other mode: refused, unless migrating */
    ASSERT_CODE(open_policy(d, false, false, &err), ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "is encrypted, but encryption is off");
    gw_policy_close();
    gw_keys_close(&srv);
    /* without the key at all: the pepper cannot be opened */
    srv.keys = NULL;
    ASSERT_CODE(open_policy(d, false, false, &err), ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "--token-pepper-file: ");
    gw_policy_close();
    free(p1);
    free(p2);
    free(k1);
}

TEST(a_plain_policy_with_encryption_on_needs_a_migration)
{
    const char *d = th_path("q");
    ASSERT_EQ_INT(mkdir(d, 0700), 0);
    config_for(d);
    srv.cfg.encryption_on = false;
    struct st_error err;
    ASSERT_OK_E(gw_keys_open(&srv, true, &err), &err); /* no key: plaintext */
    ASSERT_TRUE(srv.keys == NULL);
    ASSERT_OK_E(open_policy(d, false, false, &err), &err);
    gw_policy_close();
    /* a policy file written plain (as a server without encryption does) */
    char pol[1200];
    snprintf(pol, sizeof pol, "%s/security/policy.json", d);
    ASSERT_OK_E(open_policy(d, false, false, &err), &err);
    struct rbac_snapshot *s = gw_policy_get();
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    ASSERT_OK(rbac_policy_describe(s, &b, &err));
    ASSERT_OK(st_file_write_atomic(pol, b.data, b.len, 0600, &err));
    st_buf_cleanup(&b);
    rbac_snapshot_unref(s);
    gw_policy_close();
    config_for(d);
    srv.cfg.encryption_migrate = true;
    ASSERT_OK_E(gw_keys_open(&srv, false, &err), &err); /* migrate: a key is made */
    ASSERT_CODE(open_policy(d, true, false, &err), ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "is not encrypted, but encryption is on");
    ASSERT_CONTAINS(err.msg, "--encryption-migrate");
    gw_policy_close();
    ASSERT_OK_E(open_policy(d, true, true, &err), &err);
    gw_policy_close();
    gw_keys_close(&srv);
}
