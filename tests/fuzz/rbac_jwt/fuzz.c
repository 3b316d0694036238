/*
 * rbac_jwt: fuzzes rbac_jwt_verify with a fixed key set (the test keys of
 * tests/data/jwt) and a fixed clock. Mode 0 (first byte even): the rest is a
 * token as received. Mode 1 (odd): the rest is "<header JSON>\n<claims JSON>",
 * which the harness encodes and signs with the trusted P-256 key, so the
 * fuzzer reaches every header and claim check behind a valid signature.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

#define NOW (INT64_C(1700000000) * INT64_C(1000000000))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rbac_keyset *ks;
static struct rbac_oidc *oidc;
static EVP_PKEY *signer;

static EVP_PKEY *
load(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.pem", RBAC_FUZZ_KEYS, name);
    FILE *f = fopen(path, "r");
    if (!f)
        abort();
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        abort();
    return k;
}

static void
b64bn(EVP_PKEY *k, const char *param, size_t pad, char *out)
{
    BIGNUM *bn = NULL;
    uint8_t buf[600];
    if (!EVP_PKEY_get_bn_param(k, param, &bn))
        abort();
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    BN_bn2binpad(bn, buf, (int)n);
    out[rbac__b64url_encode(buf, n, out)] = '\0';
    BN_free(bn);
}

static void
init(void)
{
    EVP_PKEY *rsa = load("rsa2048");
    signer = load("p256");
    static char n[400], e[16], x[64], y[64], doc[2048];
    b64bn(rsa, OSSL_PKEY_PARAM_RSA_N, 0, n);
    b64bn(rsa, OSSL_PKEY_PARAM_RSA_E, 0, e);
    b64bn(signer, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
    b64bn(signer, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
    snprintf(doc, sizeof doc,
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k-rsa\",\"n\":\"%s\",\"e\":\"%s\"},"
             "{\"kty\":\"EC\",\"kid\":\"k-ec\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
             n, e, x, y);
    if (rbac_jwks_parse((const uint8_t *)doc, strlen(doc), NULL, &ks, NULL) != ST_OK)
        abort();
    EVP_PKEY_free(rsa);
    static const char *amr[] = {"mfa"};
    struct rbac_claim_req req[] = {{"tid", "acme"}};
    struct rbac_oidc_config c = {.issuer = "https://idp.example.com", .audience = "strata",
                                 .tenant = "acme", .algs = RBAC_ALG_RS256 | RBAC_ALG_ES256 |
                                                           RBAC_ALG_PS256,
                                 .groups_claim = "groups", .user_prefix = "oidc:",
                                 .required = req, .n_required = 1, .mfa = RBAC_MFA_FOR_ADMIN,
                                 .amr_values = amr, .n_amr_values = 1};
    if (rbac_oidc_new(&c, &oidc, NULL) != ST_OK)
        abort();
}

static char *
sign_es256(const char *h, size_t hl, const char *p, size_t pl, size_t *len)
{
    char *tok = malloc(2 * (hl + pl) + 200);
    size_t n = rbac__b64url_encode((const uint8_t *)h, hl, tok);
    tok[n++] = '.';
    n += rbac__b64url_encode((const uint8_t *)p, pl, tok + n);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint8_t der[80], raw[64];
    size_t dl = sizeof der;
    if (EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, signer, NULL) != 1 ||
        EVP_DigestSign(m, der, &dl, (const uint8_t *)tok, n) != 1)
        abort();
    EVP_MD_CTX_free(m);
    const uint8_t *dp = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &dp, (long)dl);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    tok[n++] = '.';
    n += rbac__b64url_encode(raw, 64, tok + n);
    *len = n;
    return tok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ks)
        init();
    if (size < 1 || size > 16384)
        return 0;
    const uint8_t *tok = data + 1;
    size_t len = size - 1;
    char *signed_tok = NULL;
    if (data[0] & 1) {
        const uint8_t *nl = memchr(tok, '\n', len);
        if (!nl)
            return 0;
        signed_tok = sign_es256((const char *)tok, (size_t)(nl - tok), (const char *)nl + 1,
                                len - (size_t)(nl - tok) - 1, &len);
        tok = (const uint8_t *)signed_tok;
    }
    struct rbac_principal p;
    struct rbac_auth_failure f;
    struct st_error e;
    rbac_principal_init(&p);
    enum st_code rc = rbac_jwt_verify(oidc, ks, tok, len, NOW, &p, &f, &e);
    if (rc == ST_OK) {
        if (p.kind != RBAC_PRINCIPAL_USER || strncmp(p.user, "oidc:", 5) != 0 ||
            strcmp(p.tenant, "acme") != 0 || p.expires_ns <= NOW - 60 * INT64_C(1000000000))
            abort();
    } else if (rc != ST_EUNAUTHENTICATED || f.reason == RBAC_AUTH_OK ||
               strcmp(e.msg, RBAC_UNAUTHENTICATED_MSG) != 0 || p.kind != RBAC_PRINCIPAL_NONE) {
        abort();
    }
    rbac_principal_cleanup(&p);
    free(signed_tok);
    return 0;
}
