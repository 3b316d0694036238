/*
 * test_lookup.c: the parts of rbac the gateway leans on beyond decisions:
 * provisioned operator tokens (any 32..256 printable non-space ASCII from
 * --admin-token-file), InfluxDB's exact scheme spelling, the reserved "--" in
 * tenant and database names (the gateway's storage separator), rotation with
 * a new expiry, token descriptions through describe/load, and the lookups for
 * the caller's own use (token by name, token info, a principal's own grants,
 * database records, the tenant list).
 */
#include <stdlib.h>
#include <string.h>

#include "tu.h"

static const char PROVISIONED[] = "deploy-tool/provisioned:token+with=punctuation!0123";

static enum st_code
install(struct rbac_snapshot **s, const char *tok)
{
    struct rbac_snapshot *n = NULL;
    struct st_error e;
    enum st_code rc =
        rbac_policy_operator_install(*s, NULL, (const uint8_t *)tok, strlen(tok), TU_NOW, &n, &e);
    if (rc == ST_OK) {
        rbac_snapshot_unref(*s);
        *s = n;
    }
    return rc;
}

static enum st_code
auth_text(const struct rbac_snapshot *s, const char *tok, struct rbac_principal *p,
          struct rbac_auth_failure *f)
{
    return rbac_token_authenticate(s, (const uint8_t *)tok, strlen(tok), TU_NOW, p, f, NULL);
}

TEST(provisioned_operator_token_authenticates_by_hash)
{
    uint8_t pepper[32];
    memset(pepper, 9, sizeof pepper);
    struct rbac_snapshot *s;
    ASSERT_OK(rbac_snapshot_new("c1", "main", pepper, sizeof pepper, TU_NOW, &s, NULL));
    ASSERT_OK(install(&s, PROVISIONED));
    struct rbac_principal p;
    rbac_principal_init(&p);
    struct rbac_auth_failure f;
    ASSERT_OK(auth_text(s, PROVISIONED, &p, &f));
    ASSERT_EQ_INT(p.kind, RBAC_PRINCIPAL_OPERATOR);
    /* one character off, truncated, extended: unknown */
    char v[128];
    snprintf(v, sizeof v, "%s", PROVISIONED);
    v[5] ^= 1;
    ASSERT_CODE(auth_text(s, v, &p, &f), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(f.reason, RBAC_AUTH_UNKNOWN);
    snprintf(v, sizeof v, "%.*s", (int)strlen(PROVISIONED) - 1, PROVISIONED);
    ASSERT_CODE(auth_text(s, v, &p, &f), ST_EUNAUTHENTICATED);
    snprintf(v, sizeof v, "%sx", PROVISIONED);
    ASSERT_CODE(auth_text(s, v, &p, &f), ST_EUNAUTHENTICATED);
    /* short or spaced texts are not even looked up */
    ASSERT_CODE(auth_text(s, "short-token", &p, &f), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(f.reason, RBAC_AUTH_MALFORMED);
    ASSERT_CODE(auth_text(s, "a token with spaces in it, long enough to count", &p, &f),
                ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(f.reason, RBAC_AUTH_MALFORMED);
    /* the hash is keyed: the plain SHA-512 of the text is not what is stored */
    uint8_t plain[64];
    ASSERT_OK(rbac__sha512(PROVISIONED, strlen(PROVISIONED), plain));
    ASSERT_TRUE(memcmp(s->tokens[0]->hash, plain, 64) != 0);
    /* the policy file carries the hash, never the text */
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    ASSERT_OK(rbac_policy_describe(s, &b, NULL));
    ASSERT_TRUE(memmem(b.data, b.len, PROVISIONED, strlen(PROVISIONED)) == NULL);
    st_buf_cleanup(&b);
    rbac_principal_cleanup(&p);
    rbac_snapshot_unref(s);
}

TEST(provisioned_text_never_matches_other_tokens)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_principal p;
    rbac_principal_init(&p);
    struct rbac_auth_failure f;
    /* a management token's text with the kind letter changed: not a token */
    char v[RBAC_TOKEN_LEN + 1];
    memcpy(v, fx.mgmt_sec.text, sizeof v);
    v[7] = 'd';
    ASSERT_CODE(auth_text(fx.s, v, &p, &f), ST_EUNAUTHENTICATED);
    /* minted tokens still work next to a provisioned operator token */
    ASSERT_OK(install(&fx.s, PROVISIONED));
    ASSERT_OK(tu_auth(&fx, &fx.read_sec, &p));
    ASSERT_EQ_INT(p.kind, RBAC_PRINCIPAL_DATABASE);
    ASSERT_OK(auth_text(fx.s, PROVISIONED, &p, &f));
    ASSERT_EQ_INT(p.kind, RBAC_PRINCIPAL_OPERATOR);
    ASSERT_EQ_U64(p.token_id, fx.op_id); /* replacing keeps the id */
    ASSERT_CODE(tu_auth(&fx, &fx.op_sec, &p), ST_EUNAUTHENTICATED);
    rbac_principal_cleanup(&p);
    tu_fx_cleanup(&fx);
}

static enum rbac_authz_reason
parse(const char *value, bool exact, enum rbac_transport tr, struct rbac_credential *c)
{
    struct rbac_bytes b = {(const uint8_t *)value, strlen(value)};
    struct rbac_authz_input in = {.transport = tr, .values = &b, .n_values = 1,
                                  .scheme_exact = exact};
    enum rbac_authz_reason why = RBAC_AUTHZ_OK;
    rbac_authz_parse(&in, c, &why, NULL);
    return why;
}

TEST(authz_exact_schemes_and_provisioned_credentials)
{
    struct rbac_credential c;
    char v[300];
    snprintf(v, sizeof v, "Bearer %s", PROVISIONED);
    ASSERT_EQ_INT(parse(v, true, RBAC_TRANSPORT_GRPC, &c), RBAC_AUTHZ_OK);
    ASSERT_EQ_INT(c.kind, RBAC_CRED_OPAQUE);
    ASSERT_EQ_INT(c.len, strlen(PROVISIONED));
    const char *spelt[] = {"bearer", "BEARER", "token", "BASIC"};
    for (int i = 0; i < 4; i++) {
        snprintf(v, sizeof v, "%s %s", spelt[i], PROVISIONED);
        ASSERT_EQ_INT(parse(v, true, RBAC_TRANSPORT_HTTP, &c), RBAC_AUTHZ_SCHEME);
    }
    snprintf(v, sizeof v, "bearer %s", PROVISIONED);
    ASSERT_EQ_INT(parse(v, false, RBAC_TRANSPORT_HTTP, &c), RBAC_AUTHZ_OK);
    /* JWT-shaped texts are JWTs; other short texts are nothing */
    ASSERT_EQ_INT(parse("Bearer aaaa.bbbb.cccc", true, RBAC_TRANSPORT_GRPC, &c), RBAC_AUTHZ_OK);
    ASSERT_EQ_INT(c.kind, RBAC_CRED_JWT);
    ASSERT_EQ_INT(parse("Bearer a+b.c/d.e=f", true, RBAC_TRANSPORT_GRPC, &c),
                  RBAC_AUTHZ_UNRECOGNISED);
    /* control and non-ASCII bytes never pass, whatever their length */
    snprintf(v, sizeof v, "Bearer %s\x7f", PROVISIONED);
    ASSERT_EQ_INT(parse(v, true, RBAC_TRANSPORT_GRPC, &c), RBAC_AUTHZ_CHARSET);
    snprintf(v, sizeof v, "Bearer %s\xe2\x80\x8b", PROVISIONED);
    ASSERT_EQ_INT(parse(v, true, RBAC_TRANSPORT_GRPC, &c), RBAC_AUTHZ_CHARSET);
    /* 257 characters: too long for an operator token, not a JWT */
    char longest[300];
    memset(longest, 'k', 257);
    longest[257] = '\0';
    snprintf(v, sizeof v, "Bearer %s", longest);
    ASSERT_EQ_INT(parse(v, true, RBAC_TRANSPORT_GRPC, &c), RBAC_AUTHZ_UNRECOGNISED);
    rbac_credential_wipe(&c);
}

TEST(names_reserve_the_storage_separator)
{
    struct st_error e;
    ASSERT_OK(rbac_name_check(RBAC_NAME_DATABASE, "a-b_c-d", 7, &e));
    ASSERT_CODE(rbac_name_check(RBAC_NAME_DATABASE, "a--b", 4, &e), ST_EINVAL);
    ASSERT_EQ_INT(e.offset, 1);
    ASSERT_CODE(rbac_name_check(RBAC_NAME_TENANT, "acme--prod", 10, &e), ST_EINVAL);
    ASSERT_CODE(rbac_name_check(RBAC_NAME_DATABASE, "x---", 4, &e), ST_EINVAL);
    ASSERT_OK(rbac_name_check(RBAC_NAME_TENANT, "x-", 2, &e));
}

TEST(rotate_with_a_new_expiry)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_snapshot *n;
    struct rbac_secret fresh;
    struct rbac_decision why;
    struct st_error e;
    ASSERT_CODE(rbac_policy_token_rotate(fx.s, &fx.mgmt, fx.read_id, TU_NOW, TU_NOW - NS, &n,
                                         &fresh, &why, &e),
                ST_EINVAL);
    ASSERT_CODE(rbac_policy_token_rotate(fx.s, &fx.op, fx.op_id, TU_NOW, TU_NOW + NS, &n, &fresh,
                                         &why, &e),
                ST_EINVAL);
    ASSERT_OK(rbac_policy_token_rotate(fx.s, &fx.mgmt, fx.read_id, TU_NOW, TU_NOW + 60 * NS, &n,
                                       &fresh, &why, &e));
    tu_fx_swap(&fx, n);
    struct rbac_token_info ti;
    ASSERT_OK(rbac_token_info_get(fx.s, fx.read_id, &ti, &e));
    ASSERT_EQ_INT(ti.expires_ns, TU_NOW + 60 * NS);
    struct rbac_principal p;
    rbac_principal_init(&p);
    ASSERT_OK(tu_auth(&fx, &fresh, &p));
    ASSERT_CODE(rbac_token_authenticate(fx.s, (const uint8_t *)fresh.text, RBAC_TOKEN_LEN,
                                        TU_NOW + 60 * NS, &p, NULL, NULL),
                ST_EUNAUTHENTICATED);
    rbac_principal_cleanup(&p);
    tu_fx_cleanup(&fx);
}

TEST(descriptions_are_kept_and_round_trip)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_perm perm = {"metrics", RBAC_ROLE_READ};
    struct rbac_token_spec spec = {RBAC_TOKEN_DATABASE, NULL, "dashboards", 0, &perm, 1,
                                   "grafana on host \"g1\" \xc3\xa9"};
    struct rbac_snapshot *n;
    uint64_t id;
    struct rbac_secret sec;
    struct rbac_decision why;
    struct st_error e;
    ASSERT_OK_E(rbac_policy_token_create(fx.s, &fx.mgmt, &spec, TU_NOW, &n, &id, &sec, &why, &e),
                &e);
    tu_fx_swap(&fx, n);
    struct rbac_token_info ti;
    ASSERT_OK(rbac_token_info_get(fx.s, id, &ti, &e));
    ASSERT_EQ_STR(ti.description, spec.description);
    struct st_buf a, b;
    st_buf_init(&a, SIZE_MAX);
    st_buf_init(&b, SIZE_MAX);
    ASSERT_OK(rbac_policy_describe(fx.s, &a, &e));
    struct rbac_snapshot *l;
    ASSERT_OK_E(rbac_policy_load(a.data, a.len, NULL, 0, &l, NULL, &e), &e);
    ASSERT_OK(rbac_policy_describe(l, &b, &e));
    ASSERT_EQ_U64(a.len, b.len);
    ASSERT_TRUE(memcmp(a.data, b.data, a.len) == 0);
    ASSERT_OK(rbac_token_info_get(l, id, &ti, &e));
    ASSERT_EQ_STR(ti.description, spec.description);
    rbac_snapshot_unref(l);
    /* control characters and over-long descriptions are refused */
    spec.name = "bad";
    spec.description = "line\nbreak";
    ASSERT_CODE(rbac_policy_token_create(fx.s, &fx.mgmt, &spec, TU_NOW, &n, &id, &sec, &why, &e),
                ST_EINVAL);
    char longd[RBAC_DESCRIPTION_MAX + 2];
    memset(longd, 'd', sizeof longd - 1);
    longd[sizeof longd - 1] = '\0';
    spec.description = longd;
    ASSERT_CODE(rbac_policy_token_create(fx.s, &fx.mgmt, &spec, TU_NOW, &n, &id, &sec, &why, &e),
                ST_EINVAL);
    /* an empty description in a policy file is an error (it is written only when set);
     * put one into the operator token's record, which has none */
    const char *key = "\"kind\": \"operator\"";
    uint8_t *at = memmem(a.data, a.len, key, strlen(key));
    ASSERT_TRUE(at != NULL);
    struct st_buf c;
    st_buf_init(&c, SIZE_MAX);
    ASSERT_OK(st_buf_append(&c, a.data, (size_t)(at - a.data)));
    ASSERT_OK(st_buf_append_str(&c, "\"description\": \"\", "));
    ASSERT_OK(st_buf_append(&c, at, a.len - (size_t)(at - a.data)));
    struct rbac_load_report rep;
    ASSERT_CODE(rbac_policy_load(c.data, c.len, NULL, 0, &l, &rep, &e), ST_EINVAL);
    st_buf_cleanup(&a);
    st_buf_cleanup(&b);
    st_buf_cleanup(&c);
    tu_fx_cleanup(&fx);
}

TEST(lookups_for_the_gateway)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct st_error e;
    uint64_t id = 0;
    ASSERT_OK(rbac_token_id_by_name(fx.s, "acme", "read", &id, &e));
    ASSERT_EQ_U64(id, fx.read_id);
    ASSERT_CODE(rbac_token_id_by_name(fx.s, "beta", "read", &id, &e), ST_ENOTFOUND);
    ASSERT_CODE(rbac_token_id_by_name(fx.s, "acme", "beta-read", &id, &e), ST_ENOTFOUND);
    ASSERT_EQ_STR(rbac_snapshot_default_tenant(fx.s), "acme");
    struct rbac_db_info di;
    ASSERT_TRUE(rbac_db_info_get(fx.s, "beta", "metrics", &di));
    ASSERT_EQ_STR(di.creator, fx.op.id);
    ASSERT_TRUE(!rbac_db_info_get(fx.s, "beta", "logs", &di));
    struct rbac_db_info *all;
    size_t n;
    ASSERT_OK(rbac_snapshot_databases(fx.s, &all, &n, &e));
    ASSERT_EQ_U64(n, 3);
    ASSERT_EQ_STR(all[0].tenant, "acme");
    ASSERT_EQ_STR(all[0].name, "logs");
    ASSERT_EQ_STR(all[2].tenant, "beta");
    free(all);
    /* a principal's own grants: carol through group eng; the read token its one grant */
    struct rbac_grant_info *g;
    ASSERT_OK(rbac_principal_grants(fx.s, &fx.carol, &g, &n, &e));
    ASSERT_EQ_U64(n, 1);
    ASSERT_EQ_INT(g[0].subject_kind, RBAC_SUBJECT_GROUP);
    ASSERT_EQ_INT(g[0].roles, RBAC_ROLE_WRITE);
    free(g);
    ASSERT_OK(rbac_principal_grants(fx.s, &fx.read_tok, &g, &n, &e));
    ASSERT_EQ_U64(n, 1);
    ASSERT_EQ_STR(g[0].database, "metrics");
    free(g);
    ASSERT_OK(rbac_principal_grants(fx.s, &fx.mgmt, &g, &n, &e));
    ASSERT_EQ_U64(n, 0);
    /* tenants: the operator only */
    char **t;
    struct rbac_decision why;
    ASSERT_OK(rbac_tenant_list(fx.s, &fx.op, &t, &n, &why, &e));
    ASSERT_EQ_U64(n, 2);
    ASSERT_EQ_STR(t[0], "acme");
    ASSERT_EQ_STR(t[1], "beta");
    rbac_strv_free(t, n);
    ASSERT_CODE(rbac_tenant_list(fx.s, &fx.mgmt, &t, &n, &why, &e), ST_EPERMISSION);
    tu_fx_cleanup(&fx);
}
