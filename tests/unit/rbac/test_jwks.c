/*
 * test_jwks.c: JWKS parsing with hostile keys (small RSA, e = 1 and other bad
 * exponents, symmetric keys, off-curve points, enc keys, private members,
 * mismatched alg pins, duplicate kids, non-canonical numbers) and the OpenID
 * discovery document checks (issuer equality, https, same origin).
 */
#include "tu.h"

#include <stdlib.h>

static enum st_code
parse(const char *doc, struct rbac_keyset **ks, struct st_error *e)
{
    return rbac_jwks_parse((const uint8_t *)doc, strlen(doc), NULL, ks, e);
}

/* A one-good-key document plus `bad`; returns the skip reason of `bad`. */
static const char *
skip_reason(const char *bad, char *out, size_t cap)
{
    EVP_PKEY *k = tu_key("p256");
    char *good = tu_jwk(k, "good", "");
    char *doc = malloc(strlen(good) + strlen(bad) + 32);
    sprintf(doc, "{\"keys\":[%s,%s]}", good, bad);
    struct rbac_keyset *ks;
    struct st_error e;
    ASSERT_OK_E(parse(doc, &ks, &e), &e);
    ASSERT_EQ_INT(rbac_keyset_n_keys(ks), 1);
    ASSERT_EQ_STR(rbac_keyset_kid(ks, 0), "good");
    ASSERT_EQ_INT(rbac_keyset_n_skipped(ks), 1);
    size_t idx = 99;
    snprintf(out, cap, "%s", rbac_keyset_skipped(ks, 0, &idx));
    ASSERT_EQ_INT(idx, 1);
    rbac_keyset_unref(ks);
    free(doc);
    free(good);
    EVP_PKEY_free(k);
    return out;
}

TEST(jwks_good_keys_load_with_their_kids)
{
    struct rbac_keyset *ks = tu_keyset();
    ASSERT_EQ_INT(rbac_keyset_n_keys(ks), 4);
    ASSERT_EQ_INT(rbac_keyset_n_skipped(ks), 0);
    ASSERT_TRUE(rbac__keyset_find(ks, "k-ec", 4) != NULL);
    ASSERT_TRUE(rbac__keyset_find(ks, "k-e", 3) == NULL);
    ASSERT_TRUE(rbac__keyset_find(ks, NULL, 0) == NULL);
    ASSERT_EQ_INT(rbac__keyset_find(ks, "k-rsa2", 6)->algs, RBAC_ALG_RS256);
    ASSERT_EQ_INT(rbac__keyset_find(ks, "k-ec384", 7)->algs, RBAC_ALG_ES384);
    ASSERT_EQ_INT(rbac__keyset_find(ks, "k-rsa", 5)->sig_len, 256);
    rbac_keyset_unref(ks);
    rbac_keyset_unref(NULL);
}

TEST(jwks_hostile_keys_are_skipped_with_reasons)
{
    char r[256], bad[8192];
    EVP_PKEY *small = tu_key("rsa1024"), *rsa = tu_key("rsa2048"), *ec = tu_key("p256");
    char *j = tu_jwk(small, "small", "");
    ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "below 2048");
    free(j);
    /* e = 1 (forgeable with OpenSSL), e = 2 (even), e = 0, e of 5 bytes */
    const char *exps[] = {"AQ", "Ag", "AA", "AQAAAAE"};
    const char *why[] = {"not an odd number", "not an odd number", "leading zero",
                         "larger than 32 bits"};
    for (int i = 0; i < 4; i++) {
        j = tu_jwk(rsa, "e", "");
        char *e = strstr(j, "\"e\":\"");
        char *end = strchr(e + 5, '"');
        snprintf(bad, sizeof bad, "%.*s\"e\":\"%s%s", (int)(e - j), j, exps[i], end);
        ASSERT_CONTAINS(skip_reason(bad, r, sizeof r), why[i]);
        free(j);
    }
    /* symmetric key, unknown kty, use enc, key_ops without verify, private parts */
    ASSERT_CONTAINS(skip_reason("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h\"}", r, sizeof r),
                    "symmetric");
    ASSERT_CONTAINS(skip_reason("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}", r, sizeof r),
                    "kty");
    ASSERT_CONTAINS(skip_reason("{\"x\":1}", r, sizeof r), "kty");
    ASSERT_CONTAINS(skip_reason("7", r, sizeof r), "object");
    j = tu_jwk(rsa, "enc", ",\"use\":\"enc\"");
    ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "use");
    free(j);
    j = tu_jwk(rsa, "ops", ",\"key_ops\":[\"encrypt\"]");
    ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "verify");
    free(j);
    j = tu_jwk(rsa, "priv", ",\"d\":\"AQAB\"");
    ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "private");
    free(j);
    /* alg pins that do not fit, or are symmetric / none */
    const char *pins[] = {",\"alg\":\"ES256\"", ",\"alg\":\"HS256\"", ",\"alg\":\"none\"",
                          ",\"alg\":7"};
    for (int i = 0; i < 4; i++) {
        j = tu_jwk(rsa, "pin", pins[i]);
        ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "alg");
        free(j);
    }
    j = tu_jwk(ec, "pin", ",\"alg\":\"ES384\"");
    ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "alg");
    free(j);
    /* EC point off the curve, wrong curve, short coordinates */
    j = tu_jwk(ec, "off", "");
    char *x = strstr(j, "\"x\":\"") + 5;
    x[3] = x[3] == 'A' ? 'B' : 'A';
    ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "curve");
    free(j);
    ASSERT_CONTAINS(skip_reason("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}", r,
                                sizeof r),
                    "P-256");
    ASSERT_CONTAINS(skip_reason("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
                                r, sizeof r),
                    "32 bytes");
    /* non-canonical base64url in n, and a leading zero byte */
    j = tu_jwk(rsa, "pad", "");
    char *n = strstr(j, "\"n\":\"") + 5;
    char *ne = strchr(n, '"');
    snprintf(bad, sizeof bad, "%.*s==%s", (int)(ne - j), j, ne);
    ASSERT_CONTAINS(skip_reason(bad, r, sizeof r), "canonical");
    snprintf(bad, sizeof bad, "%.*sAA%s", (int)(n - j), j, n);
    ASSERT_TRUE(strstr(skip_reason(bad, r, sizeof r), "leading zero") ||
                strstr(r, "canonical"));
    free(j);
    /* kid not a string / control characters */
    j = tu_jwk(rsa, "a\\u0001b", "");
    ASSERT_CONTAINS(skip_reason(j, r, sizeof r), "kid");
    free(j);
    EVP_PKEY_free(small);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

TEST(jwks_duplicate_kid_disables_both_keys)
{
    EVP_PKEY *a = tu_key("rsa2048"), *b = tu_key("rsa2048b"), *c = tu_key("p256");
    char *ja = tu_jwk(a, "same", ""), *jb = tu_jwk(b, "same", ""), *jc = tu_jwk(c, "other", "");
    char doc[16384];
    snprintf(doc, sizeof doc, "{\"keys\":[%s,%s,%s]}", ja, jc, jb);
    struct rbac_keyset *ks;
    ASSERT_OK(parse(doc, &ks, NULL));
    ASSERT_EQ_INT(rbac_keyset_n_keys(ks), 1);
    ASSERT_EQ_STR(rbac_keyset_kid(ks, 0), "other");
    ASSERT_EQ_INT(rbac_keyset_n_skipped(ks), 2);
    rbac_keyset_unref(ks);
    free(ja);
    free(jb);
    free(jc);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(c);
}

TEST(jwks_document_errors)
{
    struct rbac_keyset *ks;
    struct st_error e;
    ASSERT_CODE(parse("", &ks, &e), ST_EPARSE);
    ASSERT_CODE(parse("[]", &ks, &e), ST_EPARSE);
    ASSERT_CODE(parse("{\"keys\":{}}", &ks, &e), ST_EPARSE);
    ASSERT_CODE(parse("{\"keys\":[],\"keys\":[]}", &ks, &e), ST_EPARSE);
    ASSERT_CODE(parse("{\"keys\":[]}", &ks, &e), ST_EINVAL);
    ASSERT_CODE(parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}", &ks, &e), ST_EINVAL);
    ASSERT_CONTAINS(e.msg, "symmetric");
    ASSERT_TRUE(ks == NULL);
    char *big = malloc(RBAC_JWKS_MAX_LEN + 10);
    memset(big, ' ', RBAC_JWKS_MAX_LEN + 10);
    ASSERT_CODE(rbac_jwks_parse((const uint8_t *)big, RBAC_JWKS_MAX_LEN + 10, NULL, &ks, &e),
                ST_ELIMIT);
    free(big);
    char many[8192] = "{\"keys\":[";
    for (int i = 0; i < 65; i++)
        strcat(many, i ? ",{}" : "{}");
    strcat(many, "]}");
    ASSERT_CODE(parse(many, &ks, &e), ST_ELIMIT);
    struct rbac_jwks_options opt = {1024, 0};
    ASSERT_CODE(rbac_jwks_parse((const uint8_t *)"{}", 2, &opt, &ks, &e), ST_EINVAL);
    /* a stricter minimum refuses 2048-bit keys */
    EVP_PKEY *a = tu_key("rsa2048");
    char *ja = tu_jwk(a, "a", "");
    char doc[4200];
    snprintf(doc, sizeof doc, "{\"keys\":[%s]}", ja);
    opt.rsa_min_bits = 3072;
    ASSERT_CODE(rbac_jwks_parse((const uint8_t *)doc, strlen(doc), &opt, &ks, &e), ST_EINVAL);
    free(ja);
    EVP_PKEY_free(a);
}

static enum st_code
disc(const char *doc, const char *iss, char **uri)
{
    return rbac_oidc_discovery_parse((const uint8_t *)doc, strlen(doc), iss, uri, NULL);
}

TEST(discovery_requires_same_origin_https)
{
    char *u;
    const char *iss = "https://idp.example.com/realms/x";
    ASSERT_OK(disc("{\"issuer\":\"https://idp.example.com/realms/x\","
                   "\"jwks_uri\":\"https://idp.example.com/realms/x/certs\"}",
                   iss, &u));
    ASSERT_EQ_STR(u, "https://idp.example.com/realms/x/certs");
    free(u);
    ASSERT_OK(disc("{\"issuer\":\"https://idp.example.com/realms/x\","
                   "\"jwks_uri\":\"https://IDP.example.com:443/k\"}",
                   iss, &u));
    free(u);
    const char *bad[] = {
        "{\"issuer\":\"https://idp.example.com/realms/y\",\"jwks_uri\":\"https://idp.example.com/k\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x/\",\"jwks_uri\":\"https://idp.example.com/k\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"http://idp.example.com/k\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://evil.example.com/k\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://idp.example.com:8443/k\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://idp.example.com@evil/k\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://idp.example.com.evil/k\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://idp.example.com/k#f\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://idp.example.com\\\\@evil/\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://169.254.169.254/\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":7}",
        "{\"issuer\":\"https://idp.example.com/realms/x\"}",
        "{\"issuer\":\"https://idp.example.com/realms/x\",\"jwks_uri\":\"https://idp.example.com/k\","
        "\"jwks_uri\":\"https://evil/k\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        u = (char *)1;
        if (disc(bad[i], iss, &u) == ST_OK)
            th_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
        ASSERT_TRUE(u == NULL);
    }
    ASSERT_CODE(disc("{\"issuer\":\"http://idp\",\"jwks_uri\":\"https://idp/k\"}", "http://idp",
                     &u),
                ST_EINVAL);
}
