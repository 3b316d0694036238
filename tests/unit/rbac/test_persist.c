/*
 * test_persist.c: the policy file: describe -> load -> describe round trip,
 * tokens still authenticate after a reload, all-or-nothing loading with every
 * error collected, pepper mismatch, versions, strictness.
 */
#include "tu.h"

#include <stdlib.h>

static char *
describe(const struct rbac_snapshot *s, size_t *len)
{
    struct st_buf b;
    struct st_error e;
    st_buf_init(&b, 1 << 24);
    ASSERT_OK_E(rbac_policy_describe(s, &b, &e), &e);
    ASSERT_OK(st_buf_append_byte(&b, 0));
    size_t n;
    char *t = (char *)st_buf_take(&b, &n);
    *len = n - 1;
    return t;
}

TEST(persist_round_trip_is_exact)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_principal p;
    rbac_principal_init(&p);
    ASSERT_OK(tu_auth(&fx, &fx.read_sec, &p)); /* sets a last-used time */
    size_t len, len2;
    char *a = describe(fx.s, &len);
    ASSERT_CONTAINS(a, "\"format\": \"strata-rbac-policy\"");
    ASSERT_CONTAINS(a, "\"token_hash\": \"sha512\"");
    struct rbac_snapshot *s2;
    struct rbac_load_report rep;
    struct st_error e;
    ASSERT_OK_E(rbac_policy_load((const uint8_t *)a, len, NULL, 0, &s2, &rep, &e), &e);
    ASSERT_EQ_INT(rep.n_errors, 0);
    char *b = describe(s2, &len2);
    ASSERT_EQ_INT(len, len2);
    ASSERT_EQ_STR(a, b);
    ASSERT_EQ_U64(rbac_snapshot_generation(s2), rbac_snapshot_generation(fx.s));
    ASSERT_EQ_STR(rbac_snapshot_cluster_id(s2), "cluster1");
    /* the loaded policy decides the same */
    struct rbac_principal *ps[] = {&fx.op, &fx.mgmt, &fx.owner_tok, &fx.read_tok, &fx.write_tok,
                                   &fx.star_tok, &fx.alice, &fx.bob, &fx.carol, &fx.dave, &fx.eve,
                                   &fx.beta_read};
    const char *dbs[] = {"metrics", "logs", "nosuch", NULL};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        for (int k = 0; k < RBAC_PRIV__COUNT; k++)
            for (int d = 0; d < 4; d++) {
                struct rbac_decision x, y;
                ASSERT_EQ_INT(rbac_check(fx.s, ps[i], (enum rbac_priv)k, NULL, dbs[d], &x),
                              rbac_check(s2, ps[i], (enum rbac_priv)k, NULL, dbs[d], &y));
            }
    /* secrets still authenticate against the reloaded hashes */
    struct rbac_auth_failure f;
    ASSERT_OK(rbac_token_authenticate(s2, (const uint8_t *)fx.rw_sec.text, RBAC_TOKEN_LEN, TU_NOW,
                                      &p, &f, NULL));
    ASSERT_EQ_U64(p.token_id, fx.rw_id);
    /* no secret in the file */
    ASSERT_TRUE(strstr(a, fx.rw_sec.text) == NULL);
    ASSERT_TRUE(strstr(a, "strata_") == NULL);
    rbac_principal_cleanup(&p);
    rbac_snapshot_unref(s2);
    free(a);
    free(b);
    tu_fx_cleanup(&fx);
}

TEST(persist_pepper_must_match)
{
    uint8_t pepper[32], other[32];
    memset(pepper, 1, 32);
    memset(other, 2, 32);
    struct rbac_snapshot *s, *n, *l;
    ASSERT_OK(rbac_snapshot_new("c1", "main", pepper, 32, TU_NOW, &s, NULL));
    struct rbac_secret sec;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_OPERATOR, &sec, NULL));
    ASSERT_OK(rbac_policy_operator_install(s, NULL, (const uint8_t *)sec.text, RBAC_TOKEN_LEN,
                                           TU_NOW, &n, NULL));
    rbac_snapshot_unref(s);
    size_t len;
    char *a = describe(n, &len);
    ASSERT_CONTAINS(a, "hmac-sha512");
    ASSERT_TRUE(strstr(a, "\\u0001") == NULL);
    struct st_error e;
    ASSERT_CODE(rbac_policy_load((const uint8_t *)a, len, NULL, 0, &l, NULL, &e), ST_ECRYPTO);
    ASSERT_CODE(rbac_policy_load((const uint8_t *)a, len, other, 32, &l, NULL, &e), ST_ECRYPTO);
    ASSERT_TRUE(l == NULL);
    ASSERT_OK(rbac_policy_load((const uint8_t *)a, len, pepper, 32, &l, NULL, &e));
    struct rbac_principal p;
    rbac_principal_init(&p);
    ASSERT_OK(rbac_token_authenticate(l, (const uint8_t *)sec.text, RBAC_TOKEN_LEN, TU_NOW, &p,
                                      NULL, NULL));
    rbac_principal_cleanup(&p);
    rbac_snapshot_unref(l);
    /* a plain-hash policy refuses a pepper */
    ASSERT_OK(rbac_snapshot_new("c1", "main", NULL, 0, TU_NOW, &s, NULL));
    free(a);
    a = describe(s, &len);
    ASSERT_CODE(rbac_policy_load((const uint8_t *)a, len, pepper, 32, &l, NULL, &e), ST_ECRYPTO);
    rbac_snapshot_unref(s);
    rbac_snapshot_unref(n);
    free(a);
}

static enum st_code
load_str(const char *doc, struct rbac_load_report *rep, struct st_error *e)
{
    struct rbac_snapshot *s = (struct rbac_snapshot *)1;
    enum st_code rc = rbac_policy_load((const uint8_t *)doc, strlen(doc), NULL, 0, &s, rep, e);
    if (rc == ST_OK)
        rbac_snapshot_unref(s);
    else
        ASSERT_TRUE(s == NULL);
    return rc;
}

#define HEAD                                                                                      \
    "{\"format\":\"strata-rbac-policy\",\"version\":1,\"cluster_id\":\"c1\",\"generation\":3,"    \
    "\"default_tenant\":\"main\",\"token_hash\":\"sha512\",\"pepper_id\":null,"

TEST(persist_load_collects_every_error_and_loads_nothing)
{
    struct rbac_load_report rep;
    struct st_error e;
    ASSERT_OK(load_str(HEAD "\"tenants\":[{\"name\":\"main\",\"created_ns\":1}],\"databases\":[],"
                            "\"tokens\":[],\"grants\":[]}",
                       &rep, &e));
    /* five independent problems in one document */
    const char *bad = HEAD
        "\"tenants\":[{\"name\":\"main\",\"created_ns\":1},{\"name\":\"../x\",\"created_ns\":1}],"
        "\"databases\":[{\"tenant\":\"nope\",\"name\":\"db\",\"creator\":\"x\",\"created_ns\":1}],"
        "\"tokens\":[{\"id\":\"zz\",\"kind\":\"database\",\"tenant\":\"main\",\"name\":\"t\","
        "\"creator\":\"x\",\"created_ns\":1,\"expires_ns\":0,\"last_used_ns\":0,\"hash\":\"00\"}],"
        "\"grants\":[{\"tenant\":\"main\",\"database\":\"ghost\",\"subject\":\"user:bob\","
        "\"roles\":[\"read\",\"godmode\"],\"creator\":\"x\",\"created_ns\":1}],\"extra\":1}";
    ASSERT_CODE(load_str(bad, &rep, &e), ST_EINVAL);
    ASSERT_TRUE(rep.n_errors >= 6);
    ASSERT_CONTAINS(e.msg, "errors");
    bool saw_extra = false, saw_id = false, saw_role = false, saw_tenant = false;
    for (size_t i = 0; i < rep.n_errors && i < RBAC_LOAD_MAX_ERRORS; i++) {
        saw_extra |= strstr(rep.errors[i].msg, "unknown member") != NULL;
        saw_id |= strstr(rep.errors[i].where, ".id") != NULL;
        saw_role |= strstr(rep.errors[i].where, ".roles") != NULL;
        saw_tenant |= strstr(rep.errors[i].where, "tenants[1]") != NULL;
    }
    ASSERT_TRUE(saw_extra && saw_id && saw_role && saw_tenant);
    /* cross-record rules */
    const char *cross[] = {
        HEAD "\"tenants\":[{\"name\":\"main\",\"created_ns\":1},{\"name\":\"main\",\"created_ns\":1}],"
             "\"databases\":[],\"tokens\":[],\"grants\":[]}",
        HEAD "\"tenants\":[{\"name\":\"other\",\"created_ns\":1}],\"databases\":[],\"tokens\":[],"
             "\"grants\":[]}",
        HEAD "\"tenants\":[{\"name\":\"main\",\"created_ns\":1}],\"databases\":[],\"tokens\":[],"
             "\"grants\":[{\"tenant\":\"main\",\"database\":\"\",\"subject\":\"user:a\","
             "\"roles\":[\"read\"],\"creator\":\"x\",\"created_ns\":1}]}",
        HEAD "\"tenants\":[{\"name\":\"main\",\"created_ns\":1}],\"databases\":[],\"tokens\":[],"
             "\"grants\":[{\"tenant\":\"main\",\"database\":\"*\",\"subject\":\"user:a\","
             "\"roles\":[\"owner\"],\"creator\":\"x\",\"created_ns\":1}]}",
        HEAD "\"tenants\":[{\"name\":\"main\",\"created_ns\":1}],\"databases\":[],\"tokens\":[],"
             "\"grants\":[{\"tenant\":\"main\",\"database\":\"*\",\"subject\":\"token:00000000000000aa\","
             "\"roles\":[\"read\"],\"creator\":\"x\",\"created_ns\":1}]}",
    };
    for (size_t i = 0; i < sizeof cross / sizeof *cross; i++)
        ASSERT_CODE(load_str(cross[i], &rep, &e), ST_EINVAL);
    /* format, version, JSON */
    ASSERT_CODE(load_str("{\"format\":\"other\",\"version\":1}", &rep, &e), ST_EINVAL);
    ASSERT_CODE(load_str("{\"format\":\"strata-rbac-policy\",\"version\":2}", &rep, &e),
                ST_EUNSUPPORTED);
    ASSERT_CODE(load_str("{\"format\":\"strata-rbac-policy\",\"format\":\"strata-rbac-policy\"}",
                         &rep, &e),
                ST_EPARSE);
    ASSERT_CODE(load_str("", &rep, &e), ST_EPARSE);
    ASSERT_CODE(load_str("[[[[[[[[]]]]]]]]", &rep, &e), ST_EPARSE);
}

TEST(persist_tampered_file_is_refused_whole)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    size_t len;
    char *a = describe(fx.s, &len);
    /* two tokens with the same hash; a duplicate token id */
    char *h1 = strstr(a, "\"hash\": \"");
    char *h2 = strstr(h1 + 1, "\"hash\": \"");
    memcpy(h2 + 9, h1 + 9, 128);
    struct rbac_load_report rep;
    struct st_error e;
    struct rbac_snapshot *s = (struct rbac_snapshot *)1;
    ASSERT_CODE(rbac_policy_load((const uint8_t *)a, len, NULL, 0, &s, &rep, &e), ST_EINVAL);
    ASSERT_TRUE(s == NULL);
    ASSERT_CONTAINS(e.msg, "share a hash");
    free(a);
    tu_fx_cleanup(&fx);
}
