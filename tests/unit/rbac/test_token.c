/*
 * test_token.c: opaque tokens (security-anchors.md s. 2.2): format,
 * authentication by hash, look-alikes and pass-the-hash, expiry, revocation
 * and rotation effective on the next check, pepper, last-used.
 */
#include "tu.h"

#include <stdlib.h>

TEST(token_format)
{
    struct rbac_secret s;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_DATABASE, &s, NULL));
    ASSERT_EQ_INT(strlen(s.text), RBAC_TOKEN_LEN);
    ASSERT_TRUE(strncmp(s.text, "strata_d_", 9) == 0);
    ASSERT_TRUE(rbac_token_well_formed((const uint8_t *)s.text, RBAC_TOKEN_LEN));
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_OPERATOR, &s, NULL));
    ASSERT_TRUE(strncmp(s.text, "strata_o_", 9) == 0);
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_MANAGEMENT, &s, NULL));
    ASSERT_TRUE(strncmp(s.text, "strata_m_", 9) == 0);
    /* two tokens differ; 256 random bits each */
    struct rbac_secret t;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_MANAGEMENT, &t, NULL));
    ASSERT_TRUE(strcmp(s.text, t.text) != 0);
    /* every single-character change breaks the checksum */
    for (size_t i = 9; i < RBAC_TOKEN_LEN; i++) {
        char c = s.text[i];
        s.text[i] = c == 'A' ? 'B' : 'A';
        ASSERT_FALSE(rbac_token_well_formed((const uint8_t *)s.text, RBAC_TOKEN_LEN));
        s.text[i] = c;
    }
    s.text[7] = 'd'; /* kind letter is covered too */
    ASSERT_FALSE(rbac_token_well_formed((const uint8_t *)s.text, RBAC_TOKEN_LEN));
    rbac_secret_wipe(&s);
    ASSERT_EQ_INT(s.text[0], 0);
}

static enum rbac_auth_reason
auth_bytes(const struct tu_fx *fx, const char *p, size_t n)
{
    struct rbac_principal pr;
    struct rbac_auth_failure f;
    struct st_error e;
    rbac_principal_init(&pr);
    enum st_code rc = rbac_token_authenticate(fx->s, (const uint8_t *)p, n, TU_NOW, &pr, &f, &e);
    if (rc != ST_OK) {
        ASSERT_EQ_INT(rc, ST_EUNAUTHENTICATED);
        ASSERT_EQ_STR(e.msg, RBAC_UNAUTHENTICATED_MSG);
        ASSERT_EQ_INT(pr.kind, RBAC_PRINCIPAL_NONE);
    }
    rbac_principal_cleanup(&pr);
    return rc == ST_OK ? RBAC_AUTH_OK : f.reason;
}

static enum rbac_auth_reason
auth_str(const struct tu_fx *fx, const char *p)
{
    return auth_bytes(fx, p, strlen(p));
}

TEST(token_authentication_and_look_alikes)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    ASSERT_EQ_INT(fx.read_tok.kind, RBAC_PRINCIPAL_DATABASE);
    ASSERT_EQ_INT(fx.mgmt.kind, RBAC_PRINCIPAL_MANAGEMENT);
    ASSERT_EQ_INT(fx.op.kind, RBAC_PRINCIPAL_OPERATOR);
    ASSERT_EQ_STR(fx.beta_read.tenant, "beta");
    char id[32];
    snprintf(id, sizeof id, "token:%016llx", (unsigned long long)fx.read_id);
    ASSERT_EQ_STR(fx.read_tok.id, id);

    char v[128];
    const char *t = fx.read_sec.text;
    /* upper/lower-cased, truncated by one, first 12 chars, one extra char. Texts of
     * 32..256 printable characters that are not well-formed tokens are still looked up
     * (they could be a provisioned operator token), so they come back UNKNOWN, shorter
     * ones MALFORMED: refused either way. */
    for (size_t i = 0; t[i]; i++)
        v[i] = (char)((t[i] >= 'a' && t[i] <= 'z') ? t[i] - 32 : t[i]);
    v[strlen(t)] = '\0';
    ASSERT_EQ_INT(auth_str(&fx, v), RBAC_AUTH_UNKNOWN);
    ASSERT_EQ_INT(auth_bytes(&fx, t, strlen(t) - 1), RBAC_AUTH_UNKNOWN);
    ASSERT_EQ_INT(auth_bytes(&fx, t, 12), RBAC_AUTH_MALFORMED);
    snprintf(v, sizeof v, "%sA", t);
    ASSERT_EQ_INT(auth_str(&fx, v), RBAC_AUTH_UNKNOWN);
    ASSERT_EQ_INT(auth_str(&fx, ""), RBAC_AUTH_MALFORMED);
    /* a well-formed token nobody issued */
    struct rbac_secret other;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_DATABASE, &other, NULL));
    ASSERT_EQ_INT(auth_str(&fx, other.text), RBAC_AUTH_UNKNOWN);
    /* pass-the-hash: the stored SHA-512 hex, the id */
    const struct rbac__token *rec = rbac__find_token(fx.s, fx.read_id);
    char hex[129];
    rbac__hex(rec->hash, 64, hex);
    ASSERT_EQ_INT(auth_str(&fx, hex), RBAC_AUTH_UNKNOWN);
    ASSERT_EQ_INT(auth_str(&fx, id), RBAC_AUTH_MALFORMED);
    /* the same random part under another kind letter: the checksum covers the letter,
     * and as a text it matches no operator token */
    strcpy(v, t);
    v[7] = 'm';
    ASSERT_EQ_INT(auth_str(&fx, v), RBAC_AUTH_UNKNOWN);
    /* big inputs */
    char *big = malloc(1 << 20);
    memset(big, 'a', 1 << 20);
    ASSERT_EQ_INT(auth_bytes(&fx, big, 1 << 20), RBAC_AUTH_TOO_LARGE);
    ASSERT_EQ_INT(auth_bytes(&fx, big, 16 * 1024), RBAC_AUTH_TOO_LARGE);
    free(big);
    tu_fx_cleanup(&fx);
}

TEST(token_expiry_and_last_used)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_perm perm = {"metrics", RBAC_ROLE_READ};
    struct rbac_token_spec spec = {RBAC_TOKEN_DATABASE, NULL, "short", TU_NOW + 60 * NS, &perm, 1};
    struct rbac_snapshot *n;
    struct rbac_secret sec;
    uint64_t id;
    struct st_error e;
    ASSERT_OK_E(rbac_policy_token_create(fx.s, &fx.mgmt, &spec, TU_NOW, &n, &id, &sec, NULL, &e),
                &e);
    tu_fx_swap(&fx, n);
    struct rbac_principal p;
    struct rbac_auth_failure f;
    rbac_principal_init(&p);
    ASSERT_OK(rbac_token_authenticate(fx.s, (const uint8_t *)sec.text, RBAC_TOKEN_LEN,
                                      TU_NOW + 59 * NS, &p, &f, NULL));
    ASSERT_EQ_INT(p.expires_ns, TU_NOW + 60 * NS);
    ASSERT_CODE(rbac_token_authenticate(fx.s, (const uint8_t *)sec.text, RBAC_TOKEN_LEN,
                                        TU_NOW + 60 * NS, &p, &f, NULL),
                ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(f.reason, RBAC_AUTH_EXPIRED);
    /* last used: minute resolution, shown in listings */
    struct rbac_token_info *list;
    size_t nl;
    ASSERT_OK(rbac_policy_token_list(fx.s, &fx.mgmt, NULL, NULL, &list, &nl, NULL, NULL));
    bool seen = false;
    for (size_t i = 0; i < nl; i++)
        if (list[i].id == id) {
            seen = true;
            ASSERT_EQ_INT(list[i].last_used_ns, (TU_NOW + 59 * NS) - (TU_NOW + 59 * NS) % (60 * NS));
            ASSERT_EQ_STR(list[i].name, "short");
            ASSERT_EQ_INT(list[i].expires_ns, TU_NOW + 60 * NS);
        }
    ASSERT_TRUE(seen);
    free(list);
    /* an expiry in the past is refused at creation */
    spec.name = "past";
    spec.expires_ns = TU_NOW;
    ASSERT_CODE(rbac_policy_token_create(fx.s, &fx.mgmt, &spec, TU_NOW, &n, &id, &sec, NULL, &e),
                ST_EINVAL);
    rbac_principal_cleanup(&p);
    tu_fx_cleanup(&fx);
}

TEST(token_revoke_and_rotate_take_effect_on_the_next_check)
{
    struct tu_fx fx;
    tu_fx_init(&fx);
    struct rbac_snapshot *n;
    struct rbac_decision why;
    struct st_error e;
    struct rbac_principal p;
    rbac_principal_init(&p);
    /* revoke */
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.read_tok, RBAC_PRIV_QUERY, NULL, "metrics", &why), RBAC_OK);
    ASSERT_OK_E(rbac_policy_token_revoke(fx.s, &fx.mgmt, fx.read_id, TU_NOW, &n, &why, &e), &e);
    struct rbac_snapshot *old = rbac_snapshot_ref(fx.s);
    tu_fx_swap(&fx, n);
    ASSERT_CODE(tu_auth(&fx, &fx.read_sec, &p), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(rbac_check(fx.s, &fx.read_tok, RBAC_PRIV_QUERY, NULL, "metrics", &why),
                  RBAC_DENY_REVOKED);
    /* a request that started on the old snapshot still sees it */
    ASSERT_EQ_INT(rbac_check(old, &fx.read_tok, RBAC_PRIV_QUERY, NULL, "metrics", &why), RBAC_OK);
    rbac_snapshot_unref(old);
    /* rotate: same id, new secret; the old secret stops working */
    struct rbac_secret fresh;
    ASSERT_OK_E(rbac_policy_token_rotate(fx.s, &fx.mgmt, fx.rw_id, TU_NOW, 0, &n, &fresh, &why, &e),
                &e);
    tu_fx_swap(&fx, n);
    ASSERT_CODE(tu_auth(&fx, &fx.rw_sec, &p), ST_EUNAUTHENTICATED);
    ASSERT_OK(tu_auth(&fx, &fresh, &p));
    ASSERT_EQ_U64(p.token_id, fx.rw_id);
    ASSERT_EQ_INT(rbac_check(fx.s, &p, RBAC_PRIV_WRITE, NULL, "metrics", &why), RBAC_OK);
    /* the operator token is never revoked; only the operator rotates it */
    ASSERT_CODE(rbac_policy_token_revoke(fx.s, &fx.op, fx.op_id, TU_NOW, &n, &why, &e),
                ST_EPERMISSION);
    ASSERT_CODE(rbac_policy_token_rotate(fx.s, &fx.mgmt, fx.op_id, TU_NOW, 0, &n, &fresh, &why, &e),
                ST_EPERMISSION);
    ASSERT_OK(rbac_policy_token_rotate(fx.s, &fx.op, fx.op_id, TU_NOW, 0, &n, &fresh, &why, &e));
    tu_fx_swap(&fx, n);
    ASSERT_CODE(tu_auth(&fx, &fx.op_sec, &p), ST_EUNAUTHENTICATED);
    ASSERT_OK(tu_auth(&fx, &fresh, &p));
    ASSERT_EQ_INT(p.kind, RBAC_PRINCIPAL_OPERATOR);
    rbac_principal_cleanup(&p);
    tu_fx_cleanup(&fx);
}

TEST(token_operator_install_from_a_file_value)
{
    struct rbac_snapshot *s, *n;
    struct st_error e;
    ASSERT_OK(rbac_snapshot_new("c1", "main", NULL, 0, TU_NOW, &s, &e));
    /* too short, a space inside, a non-ASCII byte, 257 characters, a minted token of
     * another kind */
    char longest[300];
    memset(longest, 'k', 257);
    longest[257] = '\0';
    struct rbac_secret dtok;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_DATABASE, &dtok, NULL));
    const char *bad[] = {"", "apiv3_abc", "provisioned token with spaces 0123456789",
                         "provisioned-token-\xc3\xa9-0123456789-0123456789", longest, dtok.text};
    for (int i = 0; i < 6; i++)
        ASSERT_CODE(rbac_policy_operator_install(s, NULL, (const uint8_t *)bad[i], strlen(bad[i]),
                                                 TU_NOW, &n, &e),
                    ST_EINVAL);
    struct rbac_secret a, b;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_OPERATOR, &a, NULL));
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_OPERATOR, &b, NULL));
    ASSERT_OK(rbac_policy_operator_install(s, NULL, (const uint8_t *)a.text, RBAC_TOKEN_LEN, TU_NOW,
                                           &n, &e));
    rbac_snapshot_unref(s);
    s = n;
    struct rbac_principal p;
    rbac_principal_init(&p);
    ASSERT_OK(rbac_token_authenticate(s, (const uint8_t *)a.text, RBAC_TOKEN_LEN, TU_NOW, &p, NULL,
                                      NULL));
    uint64_t id = p.token_id;
    ASSERT_EQ_STR(p.tenant, "main");
    /* replacing keeps the id and retires the old secret */
    ASSERT_OK(rbac_policy_operator_install(s, NULL, (const uint8_t *)b.text, RBAC_TOKEN_LEN, TU_NOW,
                                           &n, &e));
    rbac_snapshot_unref(s);
    s = n;
    ASSERT_CODE(rbac_token_authenticate(s, (const uint8_t *)a.text, RBAC_TOKEN_LEN, TU_NOW, &p,
                                        NULL, NULL),
                ST_EUNAUTHENTICATED);
    ASSERT_OK(rbac_token_authenticate(s, (const uint8_t *)b.text, RBAC_TOKEN_LEN, TU_NOW, &p, NULL,
                                      NULL));
    ASSERT_EQ_U64(p.token_id, id);
    rbac_principal_cleanup(&p);
    rbac_snapshot_unref(s);
}

TEST(token_pepper_keys_the_hash)
{
    uint8_t pepper[32];
    memset(pepper, 7, sizeof pepper);
    struct rbac_snapshot *a, *b, *n;
    ASSERT_OK(rbac_snapshot_new("c1", "main", pepper, 32, TU_NOW, &a, NULL));
    ASSERT_OK(rbac_snapshot_new("c1", "main", NULL, 0, TU_NOW, &b, NULL));
    struct rbac_secret s;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_OPERATOR, &s, NULL));
    ASSERT_OK(rbac_policy_operator_install(a, NULL, (const uint8_t *)s.text, RBAC_TOKEN_LEN, TU_NOW,
                                           &n, NULL));
    rbac_snapshot_unref(a);
    a = n;
    ASSERT_OK(rbac_policy_operator_install(b, NULL, (const uint8_t *)s.text, RBAC_TOKEN_LEN, TU_NOW,
                                           &n, NULL));
    rbac_snapshot_unref(b);
    b = n;
    uint8_t plain[64];
    ASSERT_OK(rbac__sha512(s.text, RBAC_TOKEN_LEN, plain));
    ASSERT_TRUE(memcmp(a->tokens[0]->hash, plain, 64) != 0);
    ASSERT_TRUE(memcmp(b->tokens[0]->hash, plain, 64) == 0);
    ASSERT_CODE(rbac_snapshot_new("c1", "main", pepper, 31, TU_NOW, &n, NULL), ST_EINVAL);
    rbac_snapshot_unref(a);
    rbac_snapshot_unref(b);
}
