/*
 * tu.h: helpers shared by the rbac unit tests: test keys from
 * tests/data/jwt, JWK/JWKS text built from them, JWS signing with OpenSSL in
 * the test itself (any header, payload and algorithm, including ones the
 * verifier must refuse), a default OIDC configuration, and a policy fixture
 * with every kind of principal.
 */
#ifndef STRATA_RBAC_TU_H
#define STRATA_RBAC_TU_H

#include <openssl/evp.h>

#include "rbac_int.h"
#include "th.h"

#define NS INT64_C(1000000000)
#define TU_NOW (INT64_C(1700000000) * NS)
#define TU_ISS "https://idp.example.com"
#define TU_AUD "strata"

/* Load tests/data/jwt/<name>.pem (private key). Never NULL (fails the test). */
EVP_PKEY *tu_key(const char *name);
/* JWK JSON text of the public part; `extra` is appended inside the object
 * (e.g. ",\"alg\":\"RS256\""), may be "". Caller frees. */
char *tu_jwk(EVP_PKEY *k, const char *kid, const char *extra);
/* base64url (no padding) of bytes; caller frees. */
char *tu_b64(const void *p, size_t n);
char *tu_b64s(const char *s);
/* Sign "h64.p64" with `alg` ("RS256", "PS256", "ES256", "HS256" with the key
 * bytes `hmac_key`, "none" = empty signature) and return the compact JWS. */
char *tu_jws_segments(const char *h64, const char *p64, EVP_PKEY *key, const char *alg);
/* The same from JSON texts. */
char *tu_jws(const char *header, const char *payload, EVP_PKEY *key, const char *alg);
/* Raw signature bytes of msg; caller frees; *len set. */
uint8_t *tu_sign_bytes(const char *msg, EVP_PKEY *key, const char *alg, size_t *len);
/* HMAC-signed JWS with the given secret (alg confusion attacks). */
char *tu_jws_hmac(const char *header, const char *payload, const void *key, size_t key_len,
                  const char *md);
/* Default claims: iss, aud, sub "alice", iat now-10, exp now+3600, groups ["eng"];
 * `extra` appended inside the object. Caller frees. */
char *tu_claims(const char *extra);

/* The trusted key set: k-rsa (rsa2048), k-rsa2 (rsa2048b), k-ec (p256),
 * k-ec384 (p384). */
struct rbac_keyset *tu_keyset(void);
/* Default OIDC config for tenant "acme" with groups claim "groups". */
struct rbac_oidc *tu_oidc(void);
/* Verify and return the failure reason (RBAC_AUTH_OK on success). */
enum rbac_auth_reason tu_verify(const struct rbac_oidc *o, const struct rbac_keyset *ks,
                                const char *jwt, int64_t now);

/* A policy with two tenants (acme, beta) and every kind of principal. */
struct tu_fx {
    struct rbac_snapshot *s;
    struct rbac_secret op_sec, mgmt_sec, beta_mgmt_sec, owner_sec, read_sec, write_sec, rw_sec,
        star_sec, beta_read_sec, logs_read_sec;
    uint64_t op_id, mgmt_id, beta_mgmt_id, owner_id, read_id, write_id, rw_id, star_id,
        beta_read_id, logs_read_id;
    struct rbac_principal op, mgmt, beta_mgmt, owner_tok, read_tok, write_tok, rw_tok, star_tok,
        beta_read, alice, bob, carol, dave, eve;
};
/* acme: databases metrics (Owner alice), logs; grants: bob read metrics,
 * group eng write metrics, dave tenant_admin; tokens: owner/read/write/rw on
 * metrics, star rw on "*", logs_read read on logs, a management token.
 * beta: database metrics, a management token, beta_read read on metrics. */
void tu_fx_init(struct tu_fx *fx);
void tu_fx_cleanup(struct tu_fx *fx);
/* Replace the fixture's snapshot (takes ownership of n). */
void tu_fx_swap(struct tu_fx *fx, struct rbac_snapshot *n);
/* Authenticate a secret against fx->s; returns the st_code. */
enum st_code tu_auth(const struct tu_fx *fx, const struct rbac_secret *sec,
                     struct rbac_principal *p);

#endif
