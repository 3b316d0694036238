/*
 * test_secrets.c: no token, JWT or password bytes ever appear in anything rbac
 * produces for a caller: error messages, failure details, decision texts,
 * principal ids, listings, the policy file and audit lines. Every failure
 * path that sees a secret is driven with a known secret, and the outputs are
 * searched for it and for any 12-byte window of it.
 */
#include "tu.h"

#include <stdlib.h>

static void
assert_clean(const char *out, const char *secret)
{
    size_t n = strlen(secret);
    if (strstr(out, secret))
        th_fail(__FILE__, __LINE__, "secret found in \"%s\"", out);
    for (size_t i = 0; i + 12 <= n; i++) {
        char w[13];
        memcpy(w, secret + i, 12);
        w[12] = '\0';
        if (strstr(out, w))
            th_fail(__FILE__, __LINE__, "secret fragment \"%s\" found in \"%s\"", w, out);
    }
}

TEST(secrets_never_leave_rbac)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_keyset *ks = tu_keyset();
    struct rbac_oidc *o = tu_oidc();
    EVP_PKEY *rsa = tu_key("rsa2048");
    char *claims = tu_claims(NULL);
    char *jwt = tu_jws("{\"alg\":\"RS256\",\"kid\":\"k-rsa\"}", claims, rsa, "RS256");
    const char *pw_basic_user = "telegraf-password-user";

    /* the collected outputs */
    struct st_buf out;
    st_buf_init(&out, 1 << 24);
    struct rbac_audit_chain chain;
    ASSERT_OK(rbac_audit_chain_init(&chain, NULL, 0, NULL));
#define KEEP(s)                                                                                   \
    do {                                                                                          \
        ASSERT_OK(st_buf_append_str(&out, (s)));                                                  \
        ASSERT_OK(st_buf_append_byte(&out, '\n'));                                                \
    } while (0)

    const char *secrets[] = {fx.read_sec.text, fx.op_sec.text, fx.mgmt_sec.text, jwt};
    for (size_t k = 0; k < 4; k++) {
        const char *sec = secrets[k];
        size_t n = strlen(sec);
        /* mutate the secret in every way the catalogue lists, and feed each variant to
         * every entry point */
        for (int m = 0; m < 6; m++) {
            char *v = malloc(n + 8);
            memcpy(v, sec, n + 1);
            size_t vl = n;
            if (m == 1)
                vl = n - 1;
            if (m == 2)
                v[n / 2] ^= 1;
            if (m == 3) {
                v[n] = 'x';
                v[n + 1] = 0;
                vl = n + 1;
            }
            if (m == 4)
                for (size_t i = 0; i < n; i++)
                    if (v[i] >= 'a' && v[i] <= 'z')
                        v[i] -= 32;
            if (m == 5)
                vl = 12;
            struct st_error e;
            struct rbac_auth_failure f;
            struct rbac_principal p;
            rbac_principal_init(&p);
            rbac_token_authenticate(fx.s, (const uint8_t *)v, vl, TU_NOW + (m == 0 ? 0 : 1), &p,
                                    &f, &e);
            KEEP(e.msg);
            KEEP(f.detail);
            KEEP(p.id);
            rbac_principal_cleanup(&p);
            rbac_principal_init(&p);
            rbac_jwt_verify(o, ks, (const uint8_t *)v, vl, TU_NOW + (m == 0 ? 0 : 7200 * NS), &p,
                            &f, &e);
            KEEP(e.msg);
            KEEP(f.detail);
            KEEP(p.id);
            rbac_principal_cleanup(&p);
            /* header parsing with each scheme, twice, and as p= */
            char hv[9000];
            snprintf(hv, sizeof hv, "Bearer  %.*s", (int)vl, v);
            struct rbac_bytes b[2] = {{(const uint8_t *)hv, strlen(hv)},
                                      {(const uint8_t *)hv, strlen(hv)}};
            struct rbac_authz_input in = {.transport = RBAC_TRANSPORT_HTTP_V1, .values = b,
                                          .n_values = 2, .p_params = b, .n_p_params = 1};
            struct rbac_credential cred;
            enum rbac_authz_reason why;
            rbac_authz_parse(&in, &cred, &why, &e);
            KEEP(e.msg);
            KEEP(rbac_authz_reason_name(why));
            in.n_values = 1;
            rbac_authz_parse(&in, &cred, &why, &e);
            KEEP(e.msg);
            /* as an operator token file */
            struct rbac_snapshot *ns;
            rbac_policy_operator_install(fx.s, NULL, (const uint8_t *)v, vl, TU_NOW, &ns, &e);
            KEEP(e.msg);
            /* a mutated minted token may still be a valid provisioned operator token
             * (32..256 printable characters); anything else must be refused */
            if (m != 0 && !rbac_operator_token_text_ok((const uint8_t *)v, vl))
                ASSERT_TRUE(ns == NULL);
            else if (ns)
                rbac_snapshot_unref(ns);
            /* audit lines built from everything rbac said */
            struct rbac_audit_event ev = {.time_ns = TU_NOW, .category = "authn",
                                          .principal = p.id, .outcome = RBAC_AUDIT_UNAUTHENTICATED,
                                          .reason = rbac_auth_reason_name(f.reason),
                                          .detail = f.detail, .rows = -1, .bytes = -1,
                                          .lines = -1, .rejected = -1, .duration_ns = -1};
            ASSERT_OK(rbac_audit_line(&chain, &ev, &out, NULL));
            free(v);
        }
    }
    /* Basic with a password-user */
    char up[256], bv[400];
    snprintf(up, sizeof up, "%s:%s", pw_basic_user, "not-a-token-password-xyz");
    size_t bl = rbac__b64std_encode((const uint8_t *)up, strlen(up), bv + 6);
    memcpy(bv, "Basic ", 6);
    bv[6 + bl] = 0;
    struct rbac_bytes bb = {(const uint8_t *)bv, strlen(bv)};
    struct rbac_authz_input bin = {.transport = RBAC_TRANSPORT_HTTP, .values = &bb, .n_values = 1};
    struct rbac_credential cred;
    struct st_error e;
    rbac_authz_parse(&bin, &cred, NULL, &e);
    KEEP(e.msg);

    /* decisions, listings, mutations and the policy file */
    struct rbac_decision d;
    for (int k = 0; k < RBAC_PRIV__COUNT; k++) {
        rbac_check(fx.s, &fx.read_tok, (enum rbac_priv)k, NULL, "metrics", &d);
        KEEP(d.text);
        rbac_check(fx.s, &fx.op, (enum rbac_priv)k, "beta", "nosuch", &d);
        KEEP(d.text);
    }
    struct rbac_snapshot *n;
    struct rbac_secret fresh;
    ASSERT_OK(rbac_policy_token_rotate(fx.s, &fx.mgmt, fx.write_id, TU_NOW, 0, &n, &fresh, &d, &e));
    KEEP(d.text);
    rbac_snapshot_unref(n);
    rbac_policy_token_revoke(fx.s, &fx.read_tok, fx.mgmt_id, TU_NOW, &n, &d, &e);
    KEEP(d.text);
    KEEP(e.msg);
    struct rbac_token_info *ti;
    size_t nt;
    ASSERT_OK(rbac_policy_token_list(fx.s, &fx.op, NULL, NULL, &ti, &nt, &d, &e));
    for (size_t i = 0; i < nt; i++) {
        KEEP(ti[i].name);
        KEEP(ti[i].creator);
    }
    free(ti);
    ASSERT_OK(rbac_policy_describe(fx.s, &out, &e));
    ASSERT_OK(st_buf_append_byte(&out, 0));

    const char *all = (const char *)out.data;
    for (size_t k = 0; k < 4; k++)
        assert_clean(all, secrets[k]);
    assert_clean(all, fresh.text);
    assert_clean(all, "not-a-token-password-xyz");
    ASSERT_TRUE(strstr(all, "strata_o_") == NULL && strstr(all, "strata_d_") == NULL &&
                strstr(all, "strata_m_") == NULL);
    st_buf_cleanup(&out);
    free(jwt);
    free(claims);
    EVP_PKEY_free(rsa);
    rbac_oidc_free(o);
    rbac_keyset_unref(ks);
    tu_fx_cleanup(&fx);
}
