/*
 * rbac_crypto.c: every call into OpenSSL made by rbac, behind small wrappers
 * (rbac_int.h): digests and HMACs for token hashes and the audit chain,
 * constant-time comparison, public keys built from JWK numbers, and JWS
 * signature verification with EVP. No other rbac file includes OpenSSL.
 *
 * JWS specifics (RFC 7518): RSnnn is RSASSA-PKCS1-v1_5, PSnnn is RSASSA-PSS
 * with MGF1 over the same hash and a salt as long as the hash, ESnnn
 * signatures are the raw big-endian r || s, each exactly as long as the
 * curve's coordinates (never DER), and must satisfy 0 < r, s < n before they
 * are converted to DER for EVP (the check that CVE-2022-21449 skipped).
 */
#include "rbac_int.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The digests and HMACs of every request (the token hash, the audit chain) use algorithms
 * fetched once: OpenSSL 3 otherwise looks the implementation up again on every call
 * (EVP_sha256() is only a name; HMAC() fetches the MAC and its digest each time), which
 * cost more than the hashing itself on short inputs. The HMAC prototypes hold the digest;
 * each call duplicates one and keys the copy, so threads share nothing mutable. Should a
 * fetch fail, the calls fall back to the one-shot functions. */
static pthread_once_t prefetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha512;
static EVP_MAC_CTX *hmac_proto256, *hmac_proto512;

static EVP_MAC_CTX *
hmac_proto(EVP_MAC *mac, const char *digest)
{
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end()};
    if (c && EVP_MAC_CTX_set_params(c, params) != 1) {
        EVP_MAC_CTX_free(c);
        c = NULL;
    }
    return c;
}

static void
prefetch(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac) {
        hmac_proto256 = hmac_proto(mac, "SHA256");
        hmac_proto512 = hmac_proto(mac, "SHA512");
        EVP_MAC_free(mac); /* the contexts hold their own reference */
    }
    ERR_clear_error();
}

static int
digest(const EVP_MD *fetched, const EVP_MD *fallback, const void *p, size_t n, uint8_t *out,
       unsigned want)
{
    pthread_once(&prefetch_once, prefetch);
    unsigned len = 0;
    if (EVP_Digest(p, n, out, &len, fetched ? fetched : fallback, NULL) != 1 || len != want) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

void
rbac__sha256(const void *p, size_t n, uint8_t out[32])
{
    if (digest(md_sha256, EVP_sha256(), p, n, out, 32) != 0)
        memset(out, 0, 32); /* cannot happen with the default provider; make it useless */
}

int
rbac__sha512(const void *p, size_t n, uint8_t out[64])
{
    return digest(md_sha512, EVP_sha512(), p, n, out, 64);
}

static int
hmac(EVP_MAC_CTX *const *proto, const EVP_MD *fallback, const uint8_t *key, size_t key_len,
     const void *p, size_t n, uint8_t *out, size_t want)
{
    pthread_once(&prefetch_once, prefetch);
    if (*proto) {
        EVP_MAC_CTX *c = EVP_MAC_CTX_dup(*proto);
        size_t len = 0;
        /* an empty key still needs a non-NULL pointer: NULL means "keep the old key" */
        int ok = c && EVP_MAC_init(c, key_len ? key : (const uint8_t *)"", key_len, NULL) == 1 &&
                 EVP_MAC_update(c, p, n) == 1 && EVP_MAC_final(c, out, &len, want) == 1 &&
                 len == want;
        EVP_MAC_CTX_free(c);
        if (!ok)
            ERR_clear_error();
        return ok ? 0 : -1;
    }
    unsigned len = 0;
    if (!HMAC(fallback, key, (int)key_len, p, n, out, &len) || len != want) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

int
rbac__hmac_sha256(const uint8_t *key, size_t key_len, const void *p, size_t n, uint8_t out[32])
{
    return hmac(&hmac_proto256, EVP_sha256(), key, key_len, p, n, out, 32);
}

int
rbac__hmac_sha512(const uint8_t *key, size_t key_len, const void *p, size_t n, uint8_t out[64])
{
    return hmac(&hmac_proto512, EVP_sha512(), key, key_len, p, n, out, 64);
}

bool
rbac__memeq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void
rbac__wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

void
rbac__key_free(void *pkey)
{
    EVP_PKEY_free(pkey);
}

int
rbac__key_rsa(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len, void **out,
              char *why, size_t why_len)
{
    int rc = -1;
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(params = OSSL_PARAM_BLD_to_param(bld))) {
        snprintf(why, why_len, "out of memory building RSA key");
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        snprintf(why, why_len, "RSA key refused by the crypto library");
        goto out;
    }
    *out = pkey;
    pkey = NULL;
    rc = 0;
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    ERR_clear_error();
    return rc;
}

static const char *
curve_group(enum rbac__crv crv)
{
    return crv == RBAC__CRV_P256 ? "prime256v1" : crv == RBAC__CRV_P384 ? "secp384r1" : NULL;
}

static int
curve_nid(enum rbac__crv crv)
{
    return crv == RBAC__CRV_P256 ? NID_X9_62_prime256v1 : NID_secp384r1;
}

int
rbac__key_ec(enum rbac__crv crv, const uint8_t *x, const uint8_t *y, size_t coord_len,
             void **out, char *why, size_t why_len)
{
    int rc = -1;
    uint8_t pub[1 + 2 * 66];
    EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
    EVP_PKEY *pkey = NULL;
    const char *group = curve_group(crv);

    if (!group || coord_len > 66) {
        snprintf(why, why_len, "unsupported curve");
        return -1;
    }
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x, coord_len);
    memcpy(pub + 1 + coord_len, y, coord_len);
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * coord_len),
        OSSL_PARAM_END,
    };
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        snprintf(why, why_len, "EC point is not on the curve");
        goto out;
    }
    cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!cctx || EVP_PKEY_public_check(cctx) != 1) {
        snprintf(why, why_len, "EC public key fails validation");
        goto out;
    }
    *out = pkey;
    pkey = NULL;
    rc = 0;
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(cctx);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

static const char *
alg_digest(unsigned alg)
{
    switch (alg) {
    case RBAC_ALG_RS256:
    case RBAC_ALG_PS256:
    case RBAC_ALG_ES256:
        return "SHA256";
    case RBAC_ALG_RS384:
    case RBAC_ALG_PS384:
    case RBAC_ALG_ES384:
        return "SHA384";
    case RBAC_ALG_RS512:
    case RBAC_ALG_PS512:
        return "SHA512";
    }
    return NULL;
}

/* Raw r||s -> DER, after range checks. Returns a malloc'd (OPENSSL) buffer. */
static int
ecdsa_raw_to_der(const struct rbac__key *k, const uint8_t *sig, size_t sig_len, uint8_t **der,
                 int *der_len, char *why, size_t why_len)
{
    int rc = -1;
    size_t half = sig_len / 2;
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
    EC_GROUP *grp = EC_GROUP_new_by_curve_name(curve_nid(k->crv));
    ECDSA_SIG *es = NULL;

    if (!r || !s || !grp) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    const BIGNUM *order = EC_GROUP_get0_order(grp);
    if (BN_is_zero(r) || BN_is_zero(s)) {
        snprintf(why, why_len, "ECDSA r or s is zero");
        goto out;
    }
    if (BN_cmp(r, order) >= 0 || BN_cmp(s, order) >= 0) {
        snprintf(why, why_len, "ECDSA r or s is not below the group order");
        goto out;
    }
    es = ECDSA_SIG_new();
    if (!es || ECDSA_SIG_set0(es, r, s) != 1) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    r = s = NULL; /* owned by es */
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(es, der);
    if (*der_len <= 0) {
        snprintf(why, why_len, "cannot encode ECDSA signature");
        goto out;
    }
    rc = 0;
out:
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    EC_GROUP_free(grp);
    return rc;
}

int
rbac__verify(const struct rbac__key *k, unsigned alg, const uint8_t *msg, size_t msg_len,
             const uint8_t *sig, size_t sig_len, char *why, size_t why_len)
{
    int rc = -1;
    const char *md = alg_digest(alg);
    bool is_ec = alg == RBAC_ALG_ES256 || alg == RBAC_ALG_ES384;
    bool is_pss = alg == RBAC_ALG_PS256 || alg == RBAC_ALG_PS384 || alg == RBAC_ALG_PS512;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *der = NULL;
    int der_len = 0;

    if (!md || !(k->algs & alg)) {
        snprintf(why, why_len, "algorithm not allowed for this key");
        return -1;
    }
    if ((is_ec && k->kty != RBAC__KTY_EC) || (!is_ec && k->kty != RBAC__KTY_RSA) ||
        (alg == RBAC_ALG_ES256 && k->crv != RBAC__CRV_P256) ||
        (alg == RBAC_ALG_ES384 && k->crv != RBAC__CRV_P384)) {
        snprintf(why, why_len, "algorithm does not match the key type");
        return -1;
    }
    if (sig_len != k->sig_len) {
        snprintf(why, why_len, "signature is %zu bytes, expected %zu", sig_len, k->sig_len);
        return -1;
    }
    if (is_ec) {
        if (ecdsa_raw_to_der(k, sig, sig_len, &der, &der_len, why, why_len) != 0)
            goto out;
        sig = der;
        sig_len = (size_t)der_len;
    }
    mctx = EVP_MD_CTX_new();
    if (!mctx || EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, k->pkey, NULL) != 1) {
        snprintf(why, why_len, "cannot start signature verification");
        goto out;
    }
    if (!is_ec) {
        int pad = is_pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, pad) != 1 ||
            (is_pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
            snprintf(why, why_len, "cannot set RSA padding");
            goto out;
        }
    }
    if (EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) != 1) {
        snprintf(why, why_len, "signature does not verify");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rc;
}
