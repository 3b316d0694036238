/*
 * tu.c: see tu.h.
 */
#include "tu.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *
tu_key(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/jwt/%s.pem", th_source_dir(), name);
    FILE *f = fopen(path, "r");
    if (!f)
        th_fail(__FILE__, __LINE__, "cannot open %s", path);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        th_fail(__FILE__, __LINE__, "cannot read key %s", path);
    return k;
}

char *
tu_b64(const void *p, size_t n)
{
    char *o = malloc(n * 4 / 3 + 8);
    size_t l = rbac__b64url_encode(p, n, o);
    o[l] = '\0';
    return o;
}

char *
tu_b64s(const char *s)
{
    return tu_b64(s, strlen(s));
}

static char *
bn_b64(EVP_PKEY *k, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(k, param, &bn))
        th_fail(__FILE__, __LINE__, "no param %s", param);
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    uint8_t *buf = malloc(n);
    BN_bn2binpad(bn, buf, (int)n);
    char *r = tu_b64(buf, n);
    free(buf);
    BN_free(bn);
    return r;
}

char *
tu_jwk(EVP_PKEY *k, const char *kid, const char *extra)
{
    char *out = malloc(4096);
    char kidm[512] = "";
    if (kid)
        snprintf(kidm, sizeof kidm, ",\"kid\":\"%s\"", kid);
    if (EVP_PKEY_is_a(k, "RSA")) {
        char *n = bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0), *e = bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
        snprintf(out, 4096, "{\"kty\":\"RSA\"%s,\"n\":\"%s\",\"e\":\"%s\"%s}", kidm, n, e, extra);
        free(n);
        free(e);
    } else {
        char group[64];
        size_t gl;
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl);
        bool p384 = strcmp(group, "secp384r1") == 0;
        size_t c = p384 ? 48 : 32;
        char *x = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, c), *y = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, c);
        snprintf(out, 4096, "{\"kty\":\"EC\"%s,\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", kidm,
                 p384 ? "P-384" : "P-256", x, y, extra);
        free(x);
        free(y);
    }
    return out;
}

static const char *
md_of(const char *alg)
{
    if (strstr(alg, "384"))
        return "SHA384";
    if (strstr(alg, "512"))
        return "SHA512";
    return "SHA256";
}

uint8_t *
tu_sign_bytes(const char *msg, EVP_PKEY *key, const char *alg, size_t *len)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    if (EVP_DigestSignInit_ex(m, &pc, md_of(alg), NULL, NULL, key, NULL) != 1)
        th_fail(__FILE__, __LINE__, "sign init");
    if (alg[0] == 'P') {
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t sl = 0;
    EVP_DigestSign(m, NULL, &sl, (const uint8_t *)msg, strlen(msg));
    uint8_t *sig = malloc(sl);
    if (EVP_DigestSign(m, sig, &sl, (const uint8_t *)msg, strlen(msg)) != 1)
        th_fail(__FILE__, __LINE__, "sign");
    EVP_MD_CTX_free(m);
    if (alg[0] == 'E') { /* DER -> raw r||s */
        size_t c = strstr(alg, "384") ? 48 : 32;
        const uint8_t *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
        uint8_t *raw = malloc(2 * c);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)c);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + c, (int)c);
        ECDSA_SIG_free(es);
        free(sig);
        *len = 2 * c;
        return raw;
    }
    *len = sl;
    return sig;
}

char *
tu_jws_segments(const char *h64, const char *p64, EVP_PKEY *key, const char *alg)
{
    size_t n = strlen(h64) + strlen(p64) + 2;
    char *msg = malloc(n);
    snprintf(msg, n, "%s.%s", h64, p64);
    char *sig64;
    if (!key || !strcmp(alg, "none")) {
        sig64 = strdup("");
    } else {
        size_t sl;
        uint8_t *sig = tu_sign_bytes(msg, key, alg, &sl);
        sig64 = tu_b64(sig, sl);
        free(sig);
    }
    size_t tl = n + strlen(sig64) + 1;
    char *tok = malloc(tl);
    snprintf(tok, tl, "%s.%s", msg, sig64);
    free(msg);
    free(sig64);
    return tok;
}

char *
tu_jws(const char *header, const char *payload, EVP_PKEY *key, const char *alg)
{
    char *h = tu_b64s(header), *p = tu_b64s(payload);
    char *t = tu_jws_segments(h, p, key, alg);
    free(h);
    free(p);
    return t;
}

char *
tu_jws_hmac(const char *header, const char *payload, const void *key, size_t key_len,
            const char *md)
{
    char *h = tu_b64s(header), *p = tu_b64s(payload);
    size_t n = strlen(h) + strlen(p) + 2;
    char *msg = malloc(n);
    snprintf(msg, n, "%s.%s", h, p);
    uint8_t mac[64];
    unsigned ml = 0;
    HMAC(EVP_get_digestbyname(md), key, (int)key_len, (const uint8_t *)msg, strlen(msg), mac, &ml);
    char *s = tu_b64(mac, ml);
    size_t tl = n + strlen(s) + 1;
    char *tok = malloc(tl);
    snprintf(tok, tl, "%s.%s", msg, s);
    free(h);
    free(p);
    free(msg);
    free(s);
    return tok;
}

char *
tu_claims(const char *extra)
{
    char *c = malloc(16384);
    snprintf(c, 16384,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice\",\"iat\":%lld,\"exp\":%lld,"
             "\"groups\":[\"eng\"]%s}",
             TU_ISS, TU_AUD, (long long)(TU_NOW / NS - 10), (long long)(TU_NOW / NS + 3600),
             extra ? extra : "");
    return c;
}

struct rbac_keyset *
tu_keyset(void)
{
    EVP_PKEY *a = tu_key("rsa2048"), *b = tu_key("rsa2048b"), *c = tu_key("p256"),
             *d = tu_key("p384");
    char *ja = tu_jwk(a, "k-rsa", ""), *jb = tu_jwk(b, "k-rsa2", ",\"alg\":\"RS256\""),
         *jc = tu_jwk(c, "k-ec", ",\"use\":\"sig\""), *jd = tu_jwk(d, "k-ec384", "");
    char *doc = malloc(20000);
    snprintf(doc, 20000, "{\"keys\":[%s,%s,%s,%s]}", ja, jb, jc, jd);
    struct rbac_keyset *ks = NULL;
    struct st_error e;
    if (rbac_jwks_parse((const uint8_t *)doc, strlen(doc), NULL, &ks, &e) != ST_OK)
        th_fail(__FILE__, __LINE__, "keyset: %s", e.msg);
    free(ja);
    free(jb);
    free(jc);
    free(jd);
    free(doc);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(c);
    EVP_PKEY_free(d);
    return ks;
}

struct rbac_oidc *
tu_oidc(void)
{
    struct rbac_oidc_config c = {0};
    c.issuer = TU_ISS;
    c.audience = TU_AUD;
    c.tenant = "acme";
    c.algs = RBAC_ALG_RS256 | RBAC_ALG_ES256 | RBAC_ALG_ES384 | RBAC_ALG_PS256;
    c.groups_claim = "groups";
    struct rbac_oidc *o = NULL;
    struct st_error e;
    if (rbac_oidc_new(&c, &o, &e) != ST_OK)
        th_fail(__FILE__, __LINE__, "oidc: %s", e.msg);
    return o;
}

enum rbac_auth_reason
tu_verify(const struct rbac_oidc *o, const struct rbac_keyset *ks, const char *jwt, int64_t now)
{
    struct rbac_principal p;
    struct rbac_auth_failure f;
    struct st_error e;
    rbac_principal_init(&p);
    enum st_code rc = rbac_jwt_verify(o, ks, (const uint8_t *)jwt, strlen(jwt), now, &p, &f, &e);
    if (rc == ST_OK) {
        ASSERT_EQ_INT(f.reason, RBAC_AUTH_OK);
        ASSERT_EQ_INT(p.kind, RBAC_PRINCIPAL_USER);
    } else {
        ASSERT_EQ_INT(rc, ST_EUNAUTHENTICATED);
        ASSERT_EQ_STR(e.msg, RBAC_UNAUTHENTICATED_MSG);
        ASSERT_TRUE(f.reason != RBAC_AUTH_OK);
        ASSERT_EQ_INT(p.kind, RBAC_PRINCIPAL_NONE);
    }
    rbac_principal_cleanup(&p);
    return rc == ST_OK ? RBAC_AUTH_OK : f.reason;
}

/* ---- fixture ---- */

void
tu_fx_swap(struct tu_fx *fx, struct rbac_snapshot *n)
{
    if (!n)
        th_fail(__FILE__, __LINE__, "no snapshot");
    rbac_snapshot_unref(fx->s);
    fx->s = n;
}

enum st_code
tu_auth(const struct tu_fx *fx, const struct rbac_secret *sec, struct rbac_principal *p)
{
    struct rbac_auth_failure f;
    return rbac_token_authenticate(fx->s, (const uint8_t *)sec->text, strlen(sec->text), TU_NOW,
                                   p, &f, NULL);
}

static void
mint(struct tu_fx *fx, const struct rbac_principal *actor, enum rbac_token_kind kind,
     const char *tenant, const char *name, const char *db, unsigned roles, uint64_t *id,
     struct rbac_secret *sec)
{
    struct rbac_perm perm = {db, roles};
    struct rbac_token_spec spec = {kind, tenant, name, 0, db ? &perm : NULL, db ? 1 : 0};
    struct rbac_snapshot *n;
    struct rbac_decision why;
    struct st_error e;
    enum st_code rc = rbac_policy_token_create(fx->s, actor, &spec, TU_NOW, &n, id, sec, &why, &e);
    if (rc != ST_OK)
        th_fail(__FILE__, __LINE__, "mint %s: %s (%s)", name, e.msg, why.text);
    tu_fx_swap(fx, n);
}

/* n is passed by address: the call in the first argument fills it, and C does
 * not order the evaluation of arguments. */
static void
must(enum st_code rc, struct rbac_snapshot **n, struct tu_fx *fx, const struct st_error *e,
     const char *what)
{
    if (rc != ST_OK)
        th_fail(__FILE__, __LINE__, "%s: %s", what, e->msg);
    tu_fx_swap(fx, *n);
}

void
tu_fx_init(struct tu_fx *fx)
{
    struct st_error e;
    struct rbac_snapshot *n;
    struct rbac_decision why;
    memset(fx, 0, sizeof *fx);
    ASSERT_OK_E(rbac_snapshot_new("cluster1", "acme", NULL, 0, TU_NOW, &fx->s, &e), &e);
    ASSERT_OK_E(rbac_token_generate(RBAC_TOKEN_OPERATOR, &fx->op_sec, &e), &e);
    must(rbac_policy_operator_install(fx->s, NULL, (const uint8_t *)fx->op_sec.text,
                                      strlen(fx->op_sec.text), TU_NOW, &n, &e),
         &n, fx, &e, "operator");
    rbac_principal_init(&fx->op);
    ASSERT_OK(tu_auth(fx, &fx->op_sec, &fx->op));
    fx->op_id = fx->op.token_id;
    must(rbac_policy_tenant_create(fx->s, &fx->op, "beta", TU_NOW, &n, &why, &e), &n, fx, &e,
         "beta");
    must(rbac_policy_db_create(fx->s, &fx->op, NULL, "metrics", "alice", TU_NOW, &n, &why, &e), &n,
         fx, &e, "metrics");
    must(rbac_policy_db_create(fx->s, &fx->op, NULL, "logs", NULL, TU_NOW, &n, &why, &e), &n, fx,
         &e, "logs");
    must(rbac_policy_db_create(fx->s, &fx->op, "beta", "metrics", NULL, TU_NOW, &n, &why, &e), &n,
         fx, &e, "beta metrics");
    mint(fx, &fx->op, RBAC_TOKEN_MANAGEMENT, NULL, "mgmt", NULL, 0, &fx->mgmt_id, &fx->mgmt_sec);
    mint(fx, &fx->op, RBAC_TOKEN_MANAGEMENT, "beta", "beta-mgmt", NULL, 0, &fx->beta_mgmt_id,
         &fx->beta_mgmt_sec);
    rbac_principal_init(&fx->mgmt);
    ASSERT_OK(tu_auth(fx, &fx->mgmt_sec, &fx->mgmt));
    mint(fx, &fx->mgmt, RBAC_TOKEN_DATABASE, NULL, "owner", "metrics", RBAC_ROLE_OWNER,
         &fx->owner_id, &fx->owner_sec);
    mint(fx, &fx->mgmt, RBAC_TOKEN_DATABASE, NULL, "read", "metrics", RBAC_ROLE_READ,
         &fx->read_id, &fx->read_sec);
    mint(fx, &fx->mgmt, RBAC_TOKEN_DATABASE, NULL, "write", "metrics", RBAC_ROLE_WRITE,
         &fx->write_id, &fx->write_sec);
    mint(fx, &fx->mgmt, RBAC_TOKEN_DATABASE, NULL, "rw", "metrics",
         RBAC_ROLE_READ | RBAC_ROLE_WRITE, &fx->rw_id, &fx->rw_sec);
    mint(fx, &fx->mgmt, RBAC_TOKEN_DATABASE, NULL, "star", RBAC_DB_ALL,
         RBAC_ROLE_READ | RBAC_ROLE_WRITE, &fx->star_id, &fx->star_sec);
    mint(fx, &fx->mgmt, RBAC_TOKEN_DATABASE, NULL, "logs-read", "logs", RBAC_ROLE_READ,
         &fx->logs_read_id, &fx->logs_read_sec);
    rbac_principal_init(&fx->beta_mgmt);
    ASSERT_OK(tu_auth(fx, &fx->beta_mgmt_sec, &fx->beta_mgmt));
    mint(fx, &fx->beta_mgmt, RBAC_TOKEN_DATABASE, NULL, "beta-read", "metrics", RBAC_ROLE_READ,
         &fx->beta_read_id, &fx->beta_read_sec);
    must(rbac_policy_grant(fx->s, &fx->mgmt, NULL, "metrics", RBAC_SUBJECT_USER, "bob",
                           RBAC_ROLE_READ, TU_NOW, &n, &why, &e),
         &n, fx, &e, "bob");
    must(rbac_policy_grant(fx->s, &fx->mgmt, NULL, "metrics", RBAC_SUBJECT_GROUP, "eng",
                           RBAC_ROLE_WRITE, TU_NOW, &n, &why, &e),
         &n, fx, &e, "eng");
    must(rbac_policy_grant(fx->s, &fx->mgmt, NULL, NULL, RBAC_SUBJECT_USER, "dave",
                           RBAC_ROLE_TENANT_ADMIN, TU_NOW, &n, &why, &e),
         &n, fx, &e, "dave");
    struct rbac_principal *tp[] = {&fx->owner_tok, &fx->read_tok, &fx->write_tok, &fx->rw_tok,
                                   &fx->star_tok, &fx->beta_read};
    struct rbac_secret *ts[] = {&fx->owner_sec, &fx->read_sec, &fx->write_sec, &fx->rw_sec,
                                &fx->star_sec, &fx->beta_read_sec};
    for (size_t i = 0; i < 6; i++) {
        rbac_principal_init(tp[i]);
        ASSERT_OK(tu_auth(fx, ts[i], tp[i]));
    }
    const char *eng[] = {"eng"};
    rbac_principal_init(&fx->alice);
    rbac_principal_init(&fx->bob);
    rbac_principal_init(&fx->carol);
    rbac_principal_init(&fx->dave);
    rbac_principal_init(&fx->eve);
    ASSERT_OK(rbac_principal_for_user("acme", "alice", NULL, 0, false, &fx->alice, &e));
    ASSERT_OK(rbac_principal_for_user("acme", "bob", NULL, 0, false, &fx->bob, &e));
    ASSERT_OK(rbac_principal_for_user("acme", "carol", eng, 1, false, &fx->carol, &e));
    ASSERT_OK(rbac_principal_for_user("acme", "dave", NULL, 0, false, &fx->dave, &e));
    ASSERT_OK(rbac_principal_for_user("acme", "eve", NULL, 0, false, &fx->eve, &e));
}

void
tu_fx_cleanup(struct tu_fx *fx)
{
    struct rbac_principal *all[] = {&fx->op,       &fx->mgmt,     &fx->beta_mgmt, &fx->owner_tok,
                                    &fx->read_tok, &fx->write_tok, &fx->rw_tok,   &fx->star_tok,
                                    &fx->beta_read, &fx->alice,    &fx->bob,      &fx->carol,
                                    &fx->dave,     &fx->eve};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        rbac_principal_cleanup(all[i]);
    rbac_snapshot_unref(fx->s);
    fx->s = NULL;
}
