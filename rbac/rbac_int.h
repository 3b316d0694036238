/*
 * rbac_int.h: internals shared by the files of the rbac module (private: other
 * modules cannot include it). Holds the snapshot and key-set layouts, the
 * strict base64 and JSON helpers, and the crypto wrappers, which are the only
 * entry points to OpenSSL (rbac_crypto.c is the only file that includes it).
 */
#ifndef STRATA_RBAC_INT_H
#define STRATA_RBAC_INT_H

#include <jansson.h>
#include <stdatomic.h>

#include "strata/rbac.h"

/* ---- strict base64 (rbac_b64.c) --------------------------------------- */

/* Decoded size of n base64url characters without padding (n % 4 != 1). */
static inline size_t
rbac__b64url_decoded_len(size_t n)
{
    return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}
/*
 * Decode canonical base64url: alphabet A-Z a-z 0-9 - _, no padding, no
 * whitespace, length % 4 != 1, unused trailing bits zero. Returns 0 and the
 * length, or -1 (nothing useful in out). `cap` must hold the decoded size.
 */
int rbac__b64url_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                        size_t *out_len);
/* Encode as base64url without padding; returns the number of chars written
 * (4 * ceil(len / 3) at most); no NUL. */
size_t rbac__b64url_encode(const uint8_t *in, size_t len, char *out);
/* Standard base64 with padding (tests build Basic values with it). */
size_t rbac__b64std_encode(const uint8_t *in, size_t len, char *out);
/* Decode canonical standard base64 with mandatory padding (RFC 4648 s. 4). */
int rbac__b64std_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                        size_t *out_len);
/* Lower-case hex of n bytes into out (2n chars + NUL). */
void rbac__hex(const uint8_t *p, size_t n, char *out);
/* Parse exactly 2n lower-case hex chars; 0 or -1. */
int rbac__unhex(const char *s, size_t slen, uint8_t *out, size_t n);

/* ---- strict JSON (rbac_json.c) ---------------------------------------- */

/*
 * Load an object from untrusted bytes: nesting depth checked first (at most
 * max_depth), then json_loadb with JSON_REJECT_DUPLICATES (which also refuses
 * NUL in strings, invalid UTF-8, lone surrogates, trailing data, huge
 * numbers). The top level must be an object. NULL on error, with the reason
 * (and byte position) in why.
 */
json_t *rbac__json_load(const uint8_t *p, size_t n, unsigned max_depth, char *why,
                        size_t why_len);
/* Whether a UTF-8 string is a valid subject-like text: no C0/C1 controls, no
 * DEL, no bidi overrides or isolates, no zero-width or BOM characters. */
bool rbac__text_ok(const char *s, size_t len);

/* ---- crypto (rbac_crypto.c: the only OpenSSL user) --------------------- */

void rbac__sha256(const void *p, size_t n, uint8_t out[32]);
int rbac__hmac_sha256(const uint8_t *key, size_t key_len, const void *p, size_t n,
                      uint8_t out[32]);
int rbac__sha512(const void *p, size_t n, uint8_t out[64]);
int rbac__hmac_sha512(const uint8_t *key, size_t key_len, const void *p, size_t n,
                      uint8_t out[64]);
/* Constant-time equality (CRYPTO_memcmp). */
bool rbac__memeq(const void *a, const void *b, size_t n);
/* Wipe memory the compiler may not elide (OPENSSL_cleanse). */
void rbac__wipe(void *p, size_t n);

enum rbac__kty { RBAC__KTY_RSA = 1, RBAC__KTY_EC };
enum rbac__crv { RBAC__CRV_NONE = 0, RBAC__CRV_P256, RBAC__CRV_P384 };

/* A validated public key from a JWKS. */
struct rbac__key {
    char *kid;   /* NULL when the JWK has none */
    size_t kid_len;
    enum rbac__kty kty;
    enum rbac__crv crv;
    unsigned algs;  /* RBAC_ALG_* this key may verify (its alg pin, or its kty's) */
    unsigned bits;  /* RSA modulus bits; EC field bits */
    size_t sig_len; /* exact signature length */
    void *pkey;     /* EVP_PKEY * */
};

/* Build an RSA public key; n and e big-endian, already range-checked. */
int rbac__key_rsa(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len, void **pkey,
                  char *why, size_t why_len);
/* Build an EC public key from raw coordinates; checks the point is on the
 * curve and not the identity. */
int rbac__key_ec(enum rbac__crv crv, const uint8_t *x, const uint8_t *y, size_t coord_len,
                 void **pkey, char *why, size_t why_len);
void rbac__key_free(void *pkey);
/*
 * Verify a JWS signature over msg with key k for one RBAC_ALG_* bit. ES:
 * sig is raw r||s (each exactly the coordinate size, 0 < r,s < n), converted
 * to DER here. RSA: sig_len must equal the modulus size. 0 = valid.
 */
int rbac__verify(const struct rbac__key *k, unsigned alg, const uint8_t *msg, size_t msg_len,
                 const uint8_t *sig, size_t sig_len, char *why, size_t why_len);

/* ---- key sets (rbac_jwks.c) -------------------------------------------- */

struct rbac__skip {
    size_t index;
    char *reason;
};

struct rbac_keyset {
    atomic_long refs;
    struct rbac__key *keys;
    size_t n_keys;
    struct rbac__skip *skipped;
    size_t n_skipped;
};

/* Key for a token's kid (kid NULL: the only key of a one-key set). */
const struct rbac__key *rbac__keyset_find(const struct rbac_keyset *ks, const char *kid,
                                          size_t kid_len);

/* A validated OIDC issuer configuration (rbac_oidc.c). */
struct rbac__claim_req {
    char *name;
    char *value;
};

struct rbac_oidc {
    char *issuer;
    char *audience;
    char tenant[RBAC_NAME_MAX + 1];
    unsigned algs;
    int64_t leeway_ns;
    int64_t max_lifetime_ns;
    size_t max_token_len;
    bool iat_optional;
    char *user_claim;
    char *user_prefix;
    char *groups_claim; /* NULL = no groups */
    char *group_prefix;
    size_t max_groups;
    struct rbac__claim_req *required;
    size_t n_required;
    enum rbac_mfa_mode mfa;
    char **amr;
    size_t n_amr;
    char **acr;
    size_t n_acr;
};

/* Algorithm table (rbac_jwt.c). */
unsigned rbac__alg_from_name(const char *s, size_t len); /* 0 when unknown */
const char *rbac__alg_name(unsigned alg);

/* ---- snapshot layout (rbac_policy.c) ----------------------------------- */

struct rbac__tenant {
    char *name;
    int64_t created_ns;
};

struct rbac__db {
    char *tenant;
    char *name;
    char *creator;
    int64_t created_ns;
};

struct rbac__token {
    uint64_t id;
    enum rbac_token_kind kind;
    char *tenant;
    char *name;
    char *creator;
    char *description;           /* "" = none */
    int64_t created_ns;
    int64_t expires_ns;          /* 0 = never */
    _Atomic int64_t last_used_ns; /* coarse; the only mutable field */
    uint8_t hash[64];
};

struct rbac__grant {
    char *tenant;
    char *db; /* "" for a tenant-level grant, "*" for every database */
    enum rbac_subject_kind kind;
    char *subject;
    unsigned roles;
    char *creator;
    int64_t created_ns;
};

struct rbac_snapshot {
    atomic_long refs;
    uint64_t generation;
    char *cluster_id;
    char *default_tenant;
    uint8_t pepper[RBAC_PEPPER_MAX];
    size_t pepper_len; /* 0 = plain SHA-512 */
    struct rbac__tenant *tenants; /* sorted by name */
    size_t n_tenants;
    struct rbac__db *dbs; /* sorted by (tenant, name) */
    size_t n_dbs;
    struct rbac__token **tokens; /* sorted by id */
    size_t n_tokens;
    struct rbac__token **by_hash; /* the same records, sorted by hash */
    struct rbac__grant *grants;   /* sorted by (tenant, db, kind, subject) */
    size_t n_grants;
};

/* An empty, unshared snapshot (refs = 1). */
struct rbac_snapshot *rbac__snapshot_alloc(void);
/* A deep copy with refs = 1 (for a mutation to edit). NULL on ENOMEM. */
struct rbac_snapshot *rbac__snapshot_clone(const struct rbac_snapshot *s);
void rbac__snapshot_destroy(struct rbac_snapshot *s);
/* Sort everything and rebuild the hash index; -1 on ENOMEM. */
int rbac__snapshot_finish(struct rbac_snapshot *s);

const struct rbac__tenant *rbac__find_tenant(const struct rbac_snapshot *s, const char *t);
const struct rbac__db *rbac__find_db(const struct rbac_snapshot *s, const char *t,
                                     const char *db);
struct rbac__token *rbac__find_token(const struct rbac_snapshot *s, uint64_t id);
struct rbac__token *rbac__find_token_hash(const struct rbac_snapshot *s, const uint8_t h[64]);
const struct rbac__grant *rbac__find_grant(const struct rbac_snapshot *s, const char *t,
                                           const char *db, enum rbac_subject_kind k,
                                           const char *subject);

/* Hash a token text the way the snapshot stores it. 0 or -1. */
int rbac__token_hash(const struct rbac_snapshot *s, const uint8_t *tok, size_t len,
                     uint8_t out[64]);
/* The pepper identifier written to the policy file (16 hex chars + NUL). */
void rbac__pepper_id(const uint8_t *pepper, size_t len, char out[17]);
char rbac__token_kind_letter(enum rbac_token_kind k);
/* The principal kind a token kind authenticates as. */
enum rbac_principal_kind rbac__principal_kind(enum rbac_token_kind k);
const char *rbac__token_kind_name(enum rbac_token_kind k);
int rbac__token_kind_parse(const char *s, enum rbac_token_kind *out);
const char *rbac__subject_kind_name(enum rbac_subject_kind k);

/* ---- decisions shared with mutations (rbac_check.c) -------------------- */

/* Roles the principal holds on (tenant, db) through grants (db "*" included
 * for read/write); 0 for a database that does not exist. */
unsigned rbac__db_roles(const struct rbac_snapshot *s, const struct rbac_principal *p,
                        const char *tenant, const char *db);
/* Whether p administers the tenant (operator, its management token, tenant
 * admin grant). *gated is set when a user would be admin but lacks mfa. */
bool rbac__is_admin(const struct rbac_snapshot *s, const struct rbac_principal *p,
                    const char *tenant, bool *gated);
/* Effective Owners of a database, not counting grant `skip` (may be NULL)
 * and tokens expired at now_ns. */
size_t rbac__count_owners(const struct rbac_snapshot *s, const char *tenant, const char *db,
                          const struct rbac__grant *skip, int64_t now_ns);

/* Set a decision (printf-style text). Returns r. */
enum rbac_reason rbac__decide(struct rbac_decision *why, enum rbac_reason r, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

/* Duplicate a string / bytes as a NUL-terminated string; NULL on ENOMEM. */
char *rbac__strdup(const char *s);
char *rbac__strndup(const char *s, size_t n);
/* Copy into a fixed buffer, truncating; always NUL-terminates. */
void rbac__copy(char *dst, size_t cap, const char *src);

#endif
