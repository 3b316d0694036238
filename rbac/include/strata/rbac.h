/*
 * rbac.h: identity and access decisions for Strata (the whole public
 * interface of the rbac module).
 *
 * rbac does no I/O: no files, no sockets, no threads, no wall clock. The
 * caller (the gateway) hands in bytes, key sets and the current time, and gets
 * back credentials, principals, decisions with reasons, new policy snapshots
 * and audit lines. The only outside resource used is the OS CSPRNG
 * (st_random_bytes) when a token secret or id is minted.
 *
 * Parts, in the order a request meets them:
 *   1. rbac_authz_parse      Authorization header / metadata / `p=` -> credential
 *   2. rbac_token_authenticate   opaque token -> principal (by hash, constant time)
 *      rbac_jwt_verify           OIDC JWT -> principal (strict JWS + claims)
 *   3. rbac_check            principal x privilege x tenant x database -> decision
 *   4. rbac_policy_*         mutations producing new snapshots (guard rails)
 *   5. rbac_audit_*          hash-chained JSON audit lines and their verification
 *
 * Thread safety: snapshots, key sets and OIDC configurations are immutable
 * once built and reference counted (atomic), so any number of threads may
 * read them while the owner swaps in a new one. The only mutable field is a
 * token's coarse last-used time, updated with a relaxed atomic store.
 * Mutations never change their input snapshot; the caller serialises
 * mutations (take current, mutate, persist the bytes, swap) under one lock.
 *
 * Secrets: no function of this module ever puts a token, JWT, password or
 * pepper into an error message, a reason text, a principal id or an audit
 * line. Credential buffers should be wiped with rbac_credential_wipe().
 *
 * Errors: every authentication failure returns ST_EUNAUTHENTICATED with the
 * same generic message (RBAC_UNAUTHENTICATED_MSG); the precise reason is
 * returned separately, for the audit log only.
 */
#ifndef STRATA_RBAC_H
#define STRATA_RBAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/buf.h"
#include "strata/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ---------------------------------------------------------- */

#define RBAC_NAME_MAX 64          /* tenant and database names, bytes */
#define RBAC_TOKEN_NAME_MAX 128   /* token names, bytes */
#define RBAC_SUBJECT_MAX 256      /* OIDC user and group names (after prefix), bytes */
#define RBAC_ID_MAX 272           /* principal id text incl. NUL ("token:..." / "user:...") */
#define RBAC_CRED_MAX 8192        /* a credential (token or JWT), bytes */
#define RBAC_AUTHZ_VALUE_MAX 12288 /* one Authorization value, bytes */
#define RBAC_TOKEN_LEN 57         /* "strata_" kind "_" + 48 base64url chars */
#define RBAC_GROUPS_MAX 256       /* hard cap on groups taken from a JWT */
#define RBAC_PEPPER_MIN 32        /* bytes */
#define RBAC_PEPPER_MAX 128       /* bytes */
#define RBAC_DESCRIPTION_MAX 256  /* token descriptions, bytes */
/* A provisioned operator token (the --admin-token-file line) may be any 32..256
 * printable non-space ASCII characters; minted tokens are RBAC_TOKEN_LEN. */
#define RBAC_OPERATOR_TOKEN_MIN 32
#define RBAC_OPERATOR_TOKEN_MAX 256

/* The one message every authentication failure carries to a client. */
#define RBAC_UNAUTHENTICATED_MSG "the request was not authenticated"
/* The one message every authorization denial carries to a client. */
#define RBAC_DENIED_MSG "permission denied"

/* ---- names ----------------------------------------------------------- */

enum rbac_name_kind {
    RBAC_NAME_TENANT = 0, /* 1..64 of [A-Za-z0-9_-], first alphanumeric, no "--" */
    RBAC_NAME_DATABASE,   /* same rule as tenants ("--" is reserved: the gateway joins
                             tenant and database names with it for storage) */
    RBAC_NAME_TOKEN,      /* 1..128 printable ASCII, no leading/trailing space */
    RBAC_NAME_SUBJECT,    /* 1..256 bytes UTF-8, no control or bidi characters */
};

/* Validate a name; ST_EINVAL with the reason and the offending offset. */
enum st_code rbac_name_check(enum rbac_name_kind kind, const char *name, size_t len,
                             struct st_error *err);

/* ---- privileges and roles ------------------------------------------- */

/*
 * What an RPC needs. The gateway's per-method table names one of these per
 * method; rbac_priv_scope() says whether a database and/or tenant is needed.
 * Append-only: values are persisted nowhere but appear in audit reasons.
 */
enum rbac_priv {
    RBAC_PRIV_HEALTH = 0,   /* none:     health/readiness of the server */
    RBAC_PRIV_WHOAMI,       /* none:     describe the calling principal */
    RBAC_PRIV_QUERY,        /* database: read data (Flight DoGet, Flight SQL) */
    RBAC_PRIV_WRITE,        /* database: write line protocol */
    RBAC_PRIV_DB_LIST,      /* tenant:   list databases (result filtered) */
    RBAC_PRIV_DB_CREATE,    /* tenant:   create a database */
    RBAC_PRIV_DB_DELETE,    /* database: delete a database */
    RBAC_PRIV_TOKEN_CREATE, /* database (Owner) or tenant (admin): mint tokens */
    RBAC_PRIV_TOKEN_LIST,   /* database (Owner) or tenant (admin): list tokens */
    RBAC_PRIV_TOKEN_REVOKE, /* database (Owner) or tenant (admin): revoke/rotate */
    RBAC_PRIV_ROLE_GRANT,   /* database (Owner) or tenant (admin): grant/revoke roles */
    RBAC_PRIV_ROLE_LIST,    /* database (Owner) or tenant (admin): list grants, dry-run */
    RBAC_PRIV_AUDIT_READ,   /* tenant:   read the tenant's audit events */
    RBAC_PRIV_TENANT_ADMIN, /* cluster:  create/delete/list tenants, operator token */
    RBAC_PRIV_METRICS,      /* cluster:  server metrics (cover every tenant) */
    RBAC_PRIV_KEY_ROTATE,   /* cluster:  rewrap data keys under the current master key */
    RBAC_PRIV_DB_VERIFY,    /* database (Owner) or tenant (admin): scrub a database */
    RBAC_PRIV_VERIFY_ALL,   /* cluster:  scrub everything (every tenant, catalog, WAL) */
    RBAC_PRIV__COUNT
};

enum rbac_scope {
    RBAC_SCOPE_NONE = 0,  /* no tenant, no database */
    RBAC_SCOPE_DATABASE,  /* needs a database */
    RBAC_SCOPE_TENANT,    /* a tenant; the database argument is ignored */
    RBAC_SCOPE_DB_OR_TENANT, /* database if given (Owner suffices), else tenant (admin) */
    RBAC_SCOPE_CLUSTER,   /* the whole cluster (operator only) */
};

const char *rbac_priv_name(enum rbac_priv priv); /* "query", "db_create", ...; never NULL */
enum rbac_scope rbac_priv_scope(enum rbac_priv priv);

/*
 * Roles on one database, as a bit set. Write does NOT imply read (InfluxDB
 * semantics): a write-only token can ingest but not query. Owner = read +
 * write + manage the database's tokens and grants + delete it.
 */
#define RBAC_ROLE_READ 0x1u
#define RBAC_ROLE_WRITE 0x2u
#define RBAC_ROLE_OWNER 0x4u
/* Tenant-level role (grant with no database): administer databases, tokens
 * and grants of the tenant. Does not itself read or write data. */
#define RBAC_ROLE_TENANT_ADMIN 0x8u
#define RBAC_ROLE__DB_MASK (RBAC_ROLE_READ | RBAC_ROLE_WRITE | RBAC_ROLE_OWNER)

/* The database name that stands for every database of the tenant (present
 * and future) in token permissions and grants; read/write only. */
#define RBAC_DB_ALL "*"

/* ---- principals ------------------------------------------------------ */

enum rbac_principal_kind {
    RBAC_PRINCIPAL_NONE = 0,
    RBAC_PRINCIPAL_OPERATOR,   /* the operator token: everything, every tenant */
    RBAC_PRINCIPAL_MANAGEMENT, /* management token: administers its tenant, no data */
    RBAC_PRINCIPAL_DATABASE,   /* database token: roles on named databases or "*" */
    RBAC_PRINCIPAL_USER,       /* OIDC user: roles through user and group grants */
};

/*
 * An authenticated identity. Caller storage: rbac_principal_init() first,
 * rbac_principal_cleanup() after (frees the groups). Holds no secret.
 */
struct rbac_principal {
    enum rbac_principal_kind kind;
    char id[RBAC_ID_MAX];            /* audit id: "token:<16 hex>" or "user:<name>" */
    char tenant[RBAC_NAME_MAX + 1];  /* home tenant */
    uint64_t token_id;               /* token kinds only */
    char user[RBAC_SUBJECT_MAX + 1]; /* USER: mapped user name */
    char **groups;                   /* USER: mapped group names (owned) */
    size_t n_groups;
    bool mfa;                        /* USER: the amr/acr requirement was met */
    bool mfa_for_admin;              /* USER: administrative privileges need mfa */
    int64_t expires_ns;              /* credential expiry, 0 = none */
};

void rbac_principal_init(struct rbac_principal *p);
void rbac_principal_cleanup(struct rbac_principal *p);
const char *rbac_principal_kind_name(enum rbac_principal_kind k); /* never NULL */

/* ---- 1. Authorization header parsing -------------------------------- */

enum rbac_transport {
    RBAC_TRANSPORT_GRPC = 0, /* metadata `authorization`: Bearer only */
    RBAC_TRANSPORT_HTTP,     /* Authorization: Bearer, Token, Basic */
    RBAC_TRANSPORT_HTTP_V1,  /* as HTTP, plus the v1 `p=` query parameter */
};

#define RBAC_SCHEME_BEARER 0x1u
#define RBAC_SCHEME_TOKEN 0x2u
#define RBAC_SCHEME_BASIC 0x4u
#define RBAC_SCHEME_QUERY_P 0x8u

enum rbac_cred_kind {
    RBAC_CRED_NONE = 0,
    RBAC_CRED_OPAQUE, /* "strata_..." token, or a provisioned operator token (32..256
                         printable non-space ASCII that is not JWT-shaped) */
    RBAC_CRED_JWT,    /* three base64url segments (a provisioned operator token of that
                         shape is also tried as an opaque token by the caller) */
};

struct rbac_bytes {
    const uint8_t *ptr;
    size_t len;
};

struct rbac_authz_input {
    enum rbac_transport transport;
    unsigned schemes;                /* RBAC_SCHEME_* allowed; 0 = transport default */
    const struct rbac_bytes *values; /* every `authorization` value received */
    size_t n_values;
    const struct rbac_bytes *p_params; /* every raw `p` query value (v1 only) */
    size_t n_p_params;
    bool scheme_exact; /* schemes must be spelt exactly "Bearer", "Token", "Basic"
                          (InfluxDB's rule) instead of case-insensitively (RFC 7235) */
};

enum rbac_authz_reason {
    RBAC_AUTHZ_OK = 0,
    RBAC_AUTHZ_MISSING,      /* no credential at all */
    RBAC_AUTHZ_MULTIPLE,     /* more than one value / header plus p= */
    RBAC_AUTHZ_TOO_LARGE,    /* value over RBAC_AUTHZ_VALUE_MAX or credential over RBAC_CRED_MAX */
    RBAC_AUTHZ_MALFORMED,    /* not "<scheme> SP <credential>" */
    RBAC_AUTHZ_SCHEME,       /* scheme unknown or not allowed on this transport */
    RBAC_AUTHZ_CHARSET,      /* a byte no credential can contain */
    RBAC_AUTHZ_BASIC,        /* Basic value not canonical base64 of "user:token" */
    RBAC_AUTHZ_UNRECOGNISED, /* neither a Strata token nor a compact JWS */
};

/* The parsed credential: bytes point into the input or into `buf` (Basic). */
struct rbac_credential {
    enum rbac_cred_kind kind;
    unsigned scheme; /* the RBAC_SCHEME_* it came with */
    const uint8_t *ptr;
    size_t len;
    uint8_t buf[RBAC_CRED_MAX + 8];
};

/*
 * Find exactly one credential. Scheme names compare case-insensitively
 * (exactly with in->scheme_exact); exactly one space separates scheme and
 * credential; no other whitespace. A credential is printable non-space ASCII
 * (0x21..0x7e): that keeps CR, LF, NUL, spaces and non-ASCII out.
 * Any failure returns ST_EUNAUTHENTICATED (generic message) and the reason.
 * The credential bytes are never copied into err.
 */
enum st_code rbac_authz_parse(const struct rbac_authz_input *in, struct rbac_credential *out,
                              enum rbac_authz_reason *why, struct st_error *err);
const char *rbac_authz_reason_name(enum rbac_authz_reason r); /* never NULL */
/* Overwrite the credential (including the Basic decode buffer). */
void rbac_credential_wipe(struct rbac_credential *c);

/* ---- failures of authentication (for the audit log only) ------------ */

enum rbac_auth_reason {
    RBAC_AUTH_OK = 0,
    RBAC_AUTH_MALFORMED,   /* not a well-formed credential of its kind */
    RBAC_AUTH_TOO_LARGE,   /* over the size cap */
    RBAC_AUTH_UNKNOWN,     /* no such token (or revoked) */
    RBAC_AUTH_EXPIRED,     /* token or JWT expired */
    RBAC_AUTH_HEADER,      /* JWS header refused (alg, crit, b64, cty, JSON) */
    RBAC_AUTH_KEY,         /* no usable key for kid/alg */
    RBAC_AUTH_SIGNATURE,   /* signature length or verification */
    RBAC_AUTH_CLAIMS,      /* claims JSON or a claim refused (iss, aud, nbf, iat, user, groups) */
    RBAC_AUTH_MFA,         /* mfa required and not shown */
    RBAC_AUTH_INTERNAL,    /* allocation or crypto library failure */
};

struct rbac_auth_failure {
    enum rbac_auth_reason reason;
    char detail[192]; /* precise cause; never contains credential bytes */
};

const char *rbac_auth_reason_name(enum rbac_auth_reason r); /* never NULL */

/* ---- 2a. JWKS key sets and OIDC discovery --------------------------- */

struct rbac_keyset; /* immutable, refcounted */

#define RBAC_JWKS_MAX_LEN (256 * 1024)
#define RBAC_JWKS_MAX_KEYS 64

struct rbac_jwks_options {
    unsigned rsa_min_bits; /* 0 = 2048; values below 2048 are refused */
    unsigned rsa_max_bits; /* 0 = 8192 */
};

/*
 * Parse a JWKS document into a key set. Keys that fail validation (kty not
 * RSA/EC, use other than sig, alg not allowed for the key, RSA < min bits or
 * bad exponent, EC off-curve or not P-256/P-384, private parts present,
 * duplicate kid, ...) are skipped with a reason; the good ones are kept.
 * ST_OK with at least one key; ST_EPARSE on a malformed document; ST_EINVAL
 * when no key survives (err says why the first one failed).
 */
enum st_code rbac_jwks_parse(const uint8_t *doc, size_t len, const struct rbac_jwks_options *opt,
                             struct rbac_keyset **out, struct st_error *err);
struct rbac_keyset *rbac_keyset_ref(struct rbac_keyset *ks);
void rbac_keyset_unref(struct rbac_keyset *ks); /* NULL-safe */
size_t rbac_keyset_n_keys(const struct rbac_keyset *ks);
/* kid of key i ("" when the key has none). */
const char *rbac_keyset_kid(const struct rbac_keyset *ks, size_t i);
/* Keys skipped while parsing: their index in the document and the reason. */
size_t rbac_keyset_n_skipped(const struct rbac_keyset *ks);
const char *rbac_keyset_skipped(const struct rbac_keyset *ks, size_t i, size_t *doc_index);

/*
 * From an OpenID discovery document, return jwks_uri (malloc'd) after
 * checking that `issuer` equals expected_issuer exactly and that jwks_uri is
 * an https URL with the issuer's origin (scheme, host, port).
 */
enum st_code rbac_oidc_discovery_parse(const uint8_t *doc, size_t len,
                                       const char *expected_issuer, char **jwks_uri_out,
                                       struct st_error *err);

/* ---- 2b. JWT verification -------------------------------------------- */

/* JWS algorithms, as a bit set for the allow-list. */
#define RBAC_ALG_RS256 0x01u
#define RBAC_ALG_RS384 0x02u
#define RBAC_ALG_RS512 0x04u
#define RBAC_ALG_PS256 0x08u
#define RBAC_ALG_PS384 0x10u
#define RBAC_ALG_PS512 0x20u
#define RBAC_ALG_ES256 0x40u
#define RBAC_ALG_ES384 0x80u
#define RBAC_ALG_DEFAULT (RBAC_ALG_RS256 | RBAC_ALG_ES256)

enum rbac_mfa_mode {
    RBAC_MFA_OFF = 0,    /* amr/acr not looked at */
    RBAC_MFA_REQUIRED,   /* every token must show mfa */
    RBAC_MFA_FOR_ADMIN,  /* tokens without mfa are accepted, admin privileges denied */
};

struct rbac_claim_req {
    const char *name;  /* claim name */
    const char *value; /* string claim equal to this; "true"/"false" also match booleans */
};

/* What the caller configures for one issuer; copied by rbac_oidc_new(). */
struct rbac_oidc_config {
    const char *issuer;   /* exact `iss` */
    const char *audience; /* must be `aud` or in the `aud` array */
    const char *tenant;   /* tenant of the users of this issuer */
    unsigned algs;        /* RBAC_ALG_* allow-list; 0 = RBAC_ALG_DEFAULT */
    int64_t leeway_ns;    /* clock skew for exp/nbf/iat; 0 = 60 s; max 300 s */
    int64_t max_lifetime_ns; /* exp - iat limit; 0 = 24 h */
    size_t max_token_len; /* 0 = 8192; capped at RBAC_CRED_MAX */
    bool iat_optional;    /* default false: iat is required */
    const char *user_claim;   /* NULL = "sub" */
    const char *user_prefix;  /* prepended to the user name; NULL = "" */
    const char *groups_claim; /* NULL = no groups */
    const char *group_prefix; /* NULL = "" */
    size_t max_groups;        /* 0 = 64; capped at RBAC_GROUPS_MAX; more = refused */
    const struct rbac_claim_req *required; /* required claims */
    size_t n_required;
    enum rbac_mfa_mode mfa;
    const char *const *amr_values; /* any one in `amr` counts as mfa */
    size_t n_amr_values;
    const char *const *acr_values; /* `acr` equal to any one counts as mfa */
    size_t n_acr_values;
};

struct rbac_oidc; /* validated copy of a config; immutable */

enum st_code rbac_oidc_new(const struct rbac_oidc_config *cfg, struct rbac_oidc **out,
                           struct st_error *err);
void rbac_oidc_free(struct rbac_oidc *o); /* NULL-safe */

/*
 * Verify a compact JWS against `keys` at time now_ns and map it to a USER
 * principal of the configured tenant. Order: size cap, three canonical
 * base64url segments, header JSON (duplicates rejected), alg allow-list,
 * crit/b64/cty refused, kid -> key (bound to alg), signature length, EVP
 * verification, then claims (exp, nbf, iat, lifetime, iss, aud, user,
 * groups, required claims, mfa). ST_EUNAUTHENTICATED on any failure with the
 * generic message in err and the precise reason in why.
 */
enum st_code rbac_jwt_verify(const struct rbac_oidc *o, const struct rbac_keyset *keys,
                             const uint8_t *jwt, size_t len, int64_t now_ns,
                             struct rbac_principal *out, struct rbac_auth_failure *why,
                             struct st_error *err);

/* ---- 3. policy snapshots --------------------------------------------- */

struct rbac_snapshot; /* immutable, refcounted */

/*
 * A new policy with one tenant and no tokens. `pepper` (RBAC_PEPPER_MIN..MAX
 * bytes, or NULL) keys the token hashes (HMAC-SHA-512); without it tokens
 * are stored as plain SHA-512. The pepper is kept in memory, never
 * serialised (only an identifier of it is).
 */
enum st_code rbac_snapshot_new(const char *cluster_id, const char *first_tenant,
                               const uint8_t *pepper, size_t pepper_len, int64_t now_ns,
                               struct rbac_snapshot **out, struct st_error *err);
struct rbac_snapshot *rbac_snapshot_ref(struct rbac_snapshot *s);
void rbac_snapshot_unref(struct rbac_snapshot *s); /* NULL-safe */
/* Incremented by every mutation; lets the caller detect a lost update. */
uint64_t rbac_snapshot_generation(const struct rbac_snapshot *s);
const char *rbac_snapshot_cluster_id(const struct rbac_snapshot *s);
/* Whether database (tenant, name) exists. For the gateway's own use: never
 * reveal the answer to a principal without rbac_check. */
bool rbac_snapshot_has_database(const struct rbac_snapshot *s, const char *tenant,
                                const char *db);
bool rbac_snapshot_has_tenant(const struct rbac_snapshot *s, const char *tenant);

/* ---- opaque tokens ---------------------------------------------------- */

enum rbac_token_kind {
    RBAC_TOKEN_OPERATOR = 0, /* prefix "strata_o_" */
    RBAC_TOKEN_MANAGEMENT,   /* prefix "strata_m_" */
    RBAC_TOKEN_DATABASE,     /* prefix "strata_d_" */
};

/* A freshly minted secret; shown once, then wipe it (rbac_secret_wipe). */
struct rbac_secret {
    char text[RBAC_TOKEN_LEN + 1];
};
void rbac_secret_wipe(struct rbac_secret *s);

/*
 * Authenticate an opaque token: format and checksum, keyed hash, lookup by
 * hash, CRYPTO_memcmp, expiry. Fills a principal (no secret in it) and bumps
 * the token's coarse last-used time (minute resolution). ST_EUNAUTHENTICATED
 * on any failure, with the reason in why.
 */
enum st_code rbac_token_authenticate(const struct rbac_snapshot *s, const uint8_t *tok,
                                     size_t len, int64_t now_ns, struct rbac_principal *out,
                                     struct rbac_auth_failure *why, struct st_error *err);

/* Permissions asked for a new database token: roles on a database or "*". */
struct rbac_perm {
    const char *database; /* a database of the tenant, or RBAC_DB_ALL */
    unsigned roles;       /* RBAC_ROLE_READ | RBAC_ROLE_WRITE | RBAC_ROLE_OWNER */
};

struct rbac_token_spec {
    enum rbac_token_kind kind; /* MANAGEMENT or DATABASE */
    const char *tenant;        /* NULL = the actor's tenant */
    const char *name;          /* unique within the tenant */
    int64_t expires_ns;        /* 0 = never; else must be after now */
    const struct rbac_perm *perms; /* DATABASE: at least one */
    size_t n_perms;
    const char *description;   /* NULL or "" = none; printable text, <= RBAC_DESCRIPTION_MAX */
};

/* What listing shows about a token: never the secret, never the hash. */
struct rbac_token_info {
    uint64_t id;
    enum rbac_token_kind kind;
    char name[RBAC_TOKEN_NAME_MAX + 1];
    char tenant[RBAC_NAME_MAX + 1];
    char creator[RBAC_ID_MAX];
    int64_t created_ns;
    int64_t expires_ns;
    int64_t last_used_ns;
    char description[RBAC_DESCRIPTION_MAX + 1];
};

/* ---- 3a. decisions ------------------------------------------------------ */

enum rbac_reason {
    RBAC_OK = 0,
    RBAC_DENY_UNAUTHENTICATED, /* no principal */
    RBAC_DENY_REVOKED,         /* token no longer in the policy */
    RBAC_DENY_TENANT,          /* another tenant (reported like NO_GRANT to clients) */
    RBAC_DENY_NO_GRANT,        /* no role on that database (or it does not exist) */
    RBAC_DENY_PRIVILEGE,       /* holds roles there, but not this one */
    RBAC_DENY_NO_DATA,         /* management/admin identities cannot read or write data */
    RBAC_DENY_MFA,             /* administrative privilege without mfa */
    RBAC_DENY_ESCALATION,      /* would grant or mint more than the actor holds */
    RBAC_DENY_LAST_OWNER,      /* would remove the last Owner of a database */
    RBAC_DENY_INVALID,         /* malformed request (names, roles, arguments) */
    RBAC_DENY_NOT_FOUND,       /* visible to an administrator: no such object */
    RBAC_DENY_EXISTS,          /* already exists */
    RBAC_DENY_NOT_EMPTY,       /* a tenant that still has databases */
};

struct rbac_decision {
    enum rbac_reason reason;
    char text[256]; /* for the audit log; never a secret */
};

const char *rbac_reason_name(enum rbac_reason r); /* "no_grant", ...; never NULL */

/*
 * May principal p use privilege priv on (tenant, database)? tenant NULL =
 * p's home tenant; only the operator may name another tenant. database is
 * needed for RBAC_SCOPE_DATABASE privileges and optional for
 * RBAC_SCOPE_DB_OR_TENANT ones. Deny by default. For a principal that is not
 * an administrator of the tenant, a database that does not exist and one it
 * may not use give the same reason (RBAC_DENY_NO_GRANT) and text shape.
 * The same call with a described principal (rbac_principal_for_*) answers a
 * dry-run question.
 */
enum rbac_reason rbac_check(const struct rbac_snapshot *s, const struct rbac_principal *p,
                            enum rbac_priv priv, const char *tenant, const char *database,
                            struct rbac_decision *why);

/* Describe principals for dry-run checks (no credential involved). */
enum st_code rbac_principal_for_token(const struct rbac_snapshot *s, uint64_t token_id,
                                      struct rbac_principal *out, struct st_error *err);
enum st_code rbac_principal_for_user(const char *tenant, const char *user,
                                     const char *const *groups, size_t n_groups, bool mfa,
                                     struct rbac_principal *out, struct st_error *err);

/* The databases of `tenant` the principal may see (any role, or all for
 * administrators), sorted; free with rbac_strv_free. */
enum st_code rbac_db_list(const struct rbac_snapshot *s, const struct rbac_principal *p,
                          const char *tenant, char ***names_out, size_t *n_out,
                          struct rbac_decision *why, struct st_error *err);
void rbac_strv_free(char **v, size_t n);

/* ---- 4. mutations ----------------------------------------------------- */
/*
 * Every mutation checks the actor's authority and the guard rails against
 * `s`, and on success returns a new snapshot in *out (generation + 1); `s` is
 * never changed. On failure *out is NULL, `why` holds the audit reason and
 * the code is: ST_EPERMISSION (denied; identical for a database that does not
 * exist or belongs elsewhere), ST_EPRECONDITION (last Owner), ST_EINVAL (bad
 * name or argument), ST_EEXISTS, ST_ENOTFOUND (only to tenant
 * administrators), ST_ENOMEM. err carries a message safe for the client.
 */

enum rbac_subject_kind {
    RBAC_SUBJECT_USER = 0, /* an OIDC user name (after prefix) */
    RBAC_SUBJECT_GROUP,    /* an OIDC group name (after prefix) */
    RBAC_SUBJECT_TOKEN,    /* a token id, as 16 lower-case hex digits */
};

struct rbac_grant_info {
    char tenant[RBAC_NAME_MAX + 1];
    char database[RBAC_NAME_MAX + 1]; /* "" for a tenant-level grant */
    enum rbac_subject_kind subject_kind;
    char subject[RBAC_SUBJECT_MAX + 1];
    unsigned roles;
    char creator[RBAC_ID_MAX];
    int64_t created_ns;
};

/* Operator only. */
enum st_code rbac_policy_tenant_create(const struct rbac_snapshot *s,
                                       const struct rbac_principal *actor, const char *tenant,
                                       int64_t now_ns, struct rbac_snapshot **out,
                                       struct rbac_decision *why, struct st_error *err);
/* Operator only; the tenant must have no databases (ST_EPRECONDITION) and not
 * be the operator's; its tokens and grants go with it. */
enum st_code rbac_policy_tenant_delete(const struct rbac_snapshot *s,
                                       const struct rbac_principal *actor, const char *tenant,
                                       struct rbac_snapshot **out, struct rbac_decision *why,
                                       struct st_error *err);

/* Create a database record. An OIDC user who creates one becomes its Owner.
 * `owner_user` (or NULL) is made Owner as well. */
enum st_code rbac_policy_db_create(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                                   const char *tenant, const char *db, const char *owner_user,
                                   int64_t now_ns, struct rbac_snapshot **out,
                                   struct rbac_decision *why, struct st_error *err);
/* Delete a database record: its grants go, and tokens left with no
 * permission at all are revoked. */
enum st_code rbac_policy_db_delete(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                                   const char *tenant, const char *db, int64_t now_ns,
                                   struct rbac_snapshot **out, struct rbac_decision *why,
                                   struct st_error *err);

/*
 * Mint a token; the secret is written to *secret once. Guard rails: a
 * management token needs tenant authority; a database token's permissions
 * must each be held by the actor (Owner of that database, or tenant
 * authority; "*" needs tenant authority and allows read/write only).
 */
enum st_code rbac_policy_token_create(const struct rbac_snapshot *s,
                                      const struct rbac_principal *actor,
                                      const struct rbac_token_spec *spec, int64_t now_ns,
                                      struct rbac_snapshot **out, uint64_t *id_out,
                                      struct rbac_secret *secret, struct rbac_decision *why,
                                      struct st_error *err);
/* Revoke: takes effect on the next check. Refused for the operator token and
 * for a token that holds the last Owner role of a database. */
enum st_code rbac_policy_token_revoke(const struct rbac_snapshot *s,
                                      const struct rbac_principal *actor, uint64_t token_id,
                                      int64_t now_ns, struct rbac_snapshot **out,
                                      struct rbac_decision *why, struct st_error *err);
/* Rotate: new secret, same id, name and permissions; the old secret stops
 * working on the next check. new_expires_ns 0 keeps the expiry, otherwise it
 * must be in the future. The operator token is rotated by the operator. */
enum st_code rbac_policy_token_rotate(const struct rbac_snapshot *s,
                                      const struct rbac_principal *actor, uint64_t token_id,
                                      int64_t now_ns, int64_t new_expires_ns,
                                      struct rbac_snapshot **out, struct rbac_secret *secret,
                                      struct rbac_decision *why, struct st_error *err);
/*
 * Install (or replace) the operator token from its secret, e.g. the contents
 * of --admin-token-file: a minted "strata_o_" token (rbac_token_generate) or
 * any RBAC_OPERATOR_TOKEN_MIN..MAX printable non-space ASCII characters that
 * a deployment tool provisioned; either way only its (keyed) hash is kept.
 * Not a principal's action: the process does it at start. The operator's
 * home tenant is `tenant` (NULL = the first tenant).
 */
enum st_code rbac_policy_operator_install(const struct rbac_snapshot *s, const char *tenant,
                                          const uint8_t *tok, size_t len, int64_t now_ns,
                                          struct rbac_snapshot **out, struct st_error *err);
/* Make a new random token text of a kind (for --admin-token-file creation). */
enum st_code rbac_token_generate(enum rbac_token_kind kind, struct rbac_secret *out,
                                 struct st_error *err);
/* Whether bytes have the shape of a Strata token (prefix, length, checksum). */
bool rbac_token_well_formed(const uint8_t *tok, size_t len);
/* Whether bytes may be a provisioned operator token: RBAC_OPERATOR_TOKEN_MIN..MAX
 * printable non-space ASCII characters. */
bool rbac_operator_token_text_ok(const uint8_t *tok, size_t len);

/*
 * Grant roles (added to any the subject holds). db NULL with
 * RBAC_ROLE_TENANT_ADMIN grants the tenant role. Token subjects take
 * database roles only. The actor must hold what it grants.
 */
enum st_code rbac_policy_grant(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                               const char *tenant, const char *db, enum rbac_subject_kind kind,
                               const char *subject, unsigned roles, int64_t now_ns,
                               struct rbac_snapshot **out, struct rbac_decision *why,
                               struct st_error *err);
/* Remove roles; refused (ST_EPRECONDITION) when it would remove the last
 * Owner of the database. */
enum st_code rbac_policy_revoke(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                                const char *tenant, const char *db, enum rbac_subject_kind kind,
                                const char *subject, unsigned roles, int64_t now_ns,
                                struct rbac_snapshot **out, struct rbac_decision *why,
                                struct st_error *err);

/* List token metadata in `tenant` (NULL = the actor's). With `database`:
 * the tokens holding a permission on it, for its Owners and administrators.
 * Without: every token of the tenant, for administrators. The operator token
 * is shown to the operator only. Caller frees *out with free(). */
enum st_code rbac_policy_token_list(const struct rbac_snapshot *s,
                                    const struct rbac_principal *actor, const char *tenant,
                                    const char *database, struct rbac_token_info **out,
                                    size_t *n_out, struct rbac_decision *why,
                                    struct st_error *err);
/* List grants in `tenant`. With `database`: the grants on it and on "*", for
 * its Owners and administrators. Without: every grant of the tenant, for
 * administrators. Caller frees *out with free(). */
enum st_code rbac_policy_grant_list(const struct rbac_snapshot *s,
                                    const struct rbac_principal *actor, const char *tenant,
                                    const char *database, struct rbac_grant_info **out,
                                    size_t *n_out, struct rbac_decision *why,
                                    struct st_error *err);

/* ---- 4b. lookups for the caller's own use ------------------------------------------ */
/*
 * These read a snapshot without an authority check: they serve the gateway's
 * plumbing (naming a token by name, describing the caller to itself, listing
 * storage at start). Never hand their results to a principal without the
 * matching rbac_check / listing function having allowed it.
 */

/* The tenant the operator lives in and unnamed tenants default to. */
const char *rbac_snapshot_default_tenant(const struct rbac_snapshot *s);

struct rbac_db_info {
    char tenant[RBAC_NAME_MAX + 1];
    char name[RBAC_NAME_MAX + 1];
    char creator[RBAC_ID_MAX];
    int64_t created_ns;
};

/* One database record; false when (tenant, db) does not exist. */
bool rbac_db_info_get(const struct rbac_snapshot *s, const char *tenant, const char *db,
                      struct rbac_db_info *out);
/* Every database record of every tenant, sorted by (tenant, name); free() *out. */
enum st_code rbac_snapshot_databases(const struct rbac_snapshot *s, struct rbac_db_info **out,
                                     size_t *n_out, struct st_error *err);
/* The id of the token named `name` in `tenant`; ST_ENOTFOUND otherwise. */
enum st_code rbac_token_id_by_name(const struct rbac_snapshot *s, const char *tenant,
                                   const char *name, uint64_t *id_out, struct st_error *err);
/* Metadata of one token (never the secret or hash); ST_ENOTFOUND. */
enum st_code rbac_token_info_get(const struct rbac_snapshot *s, uint64_t id,
                                 struct rbac_token_info *out, struct st_error *err);
/*
 * The grants that apply to principal p in its home tenant: its user name and
 * groups (users) or its id (database tokens). Caller frees *out with free().
 */
enum st_code rbac_principal_grants(const struct rbac_snapshot *s, const struct rbac_principal *p,
                                   struct rbac_grant_info **out, size_t *n_out,
                                   struct st_error *err);
/* Tenant names, sorted: the operator only (RBAC_PRIV_TENANT_ADMIN). Free with rbac_strv_free. */
enum st_code rbac_tenant_list(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                              char ***names_out, size_t *n_out, struct rbac_decision *why,
                              struct st_error *err);

/* ---- 4a. persistence --------------------------------------------------- */

/*
 * Serialise a snapshot: canonical JSON (sorted, fixed key order), format
 * "strata-rbac-policy" version 1, token hashes included, pepper excluded.
 * Describe -> load -> describe gives the same bytes.
 */
enum st_code rbac_policy_describe(const struct rbac_snapshot *s, struct st_buf *out,
                                  struct st_error *err);

#define RBAC_POLICY_MAX_LEN (64u * 1024u * 1024u)
#define RBAC_LOAD_MAX_ERRORS 32

struct rbac_load_report {
    size_t n_errors; /* all errors found (only the first RBAC_LOAD_MAX_ERRORS kept) */
    struct {
        char where[64]; /* JSON path, e.g. "tokens[3].hash" */
        char msg[160];
    } errors[RBAC_LOAD_MAX_ERRORS];
};

/*
 * Load serialised bytes into a new snapshot, all or nothing: every error is
 * collected in `report` (may be NULL) and nothing is returned unless there
 * were none. The pepper must be the one the policy was written with
 * (ST_ECRYPTO otherwise). ST_EPARSE for malformed JSON, ST_EUNSUPPORTED for an
 * unknown format version, ST_EINVAL for invalid content.
 */
enum st_code rbac_policy_load(const uint8_t *bytes, size_t len, const uint8_t *pepper,
                              size_t pepper_len, struct rbac_snapshot **out,
                              struct rbac_load_report *report, struct st_error *err);

/* ---- 5. audit ------------------------------------------------------------ */

enum rbac_audit_outcome {
    RBAC_AUDIT_ALLOW = 0,
    RBAC_AUDIT_DENY,            /* authorization denied */
    RBAC_AUDIT_UNAUTHENTICATED, /* authentication failed */
    RBAC_AUDIT_ERROR,           /* the operation failed for another reason */
};

/*
 * One audit event. Strings may be NULL (omitted). Numbers < 0 are omitted.
 * `sql` must already be normalised by the caller (literals removed).
 * Any value that looks like a Strata token or a JWT is replaced by
 * "[redacted]" as a last line of defence.
 */
struct rbac_audit_event {
    int64_t time_ns;
    const char *category;  /* "authn", "authz", "admin", "query", "write" */
    const char *principal; /* rbac_principal.id, or "anonymous" */
    const char *tenant;
    const char *database;
    const char *method;    /* RPC or HTTP route */
    const char *peer;      /* client address */
    const char *request_id;
    enum rbac_audit_outcome outcome;
    const char *reason;    /* reason name (rbac_reason_name, rbac_auth_reason_name) */
    const char *detail;    /* reason text */
    const char *target;    /* object of an admin change ("token:..", "user:bob") */
    const char *sql;       /* normalised query text */
    int64_t rows;          /* query: rows returned */
    int64_t bytes;         /* request or response bytes */
    int64_t lines;         /* write: lines accepted */
    int64_t rejected;      /* write: lines rejected */
    int64_t duration_ns;
};

/* The running state of a chain: caller storage, kept across files. */
struct rbac_audit_chain {
    uint64_t seq;       /* sequence number of the next line */
    uint8_t prev[32];   /* hash of the last line written */
    uint8_t key[64];    /* optional HMAC key */
    size_t key_len;     /* 0 = plain SHA-256 */
};

/* Start a new chain (a fresh audit log). key may be NULL (plain SHA-256) or
 * 32..64 bytes (HMAC-SHA-256, so an editor without the key cannot re-chain). */
enum st_code rbac_audit_chain_init(struct rbac_audit_chain *c, const uint8_t *key,
                                   size_t key_len, struct st_error *err);

/*
 * Append the genesis line of a new file to `out`: it names the cluster, the
 * file number and carries the hash of the last line of the previous file,
 * so the chain continues across rotated files. Write it first in each file.
 */
enum st_code rbac_audit_genesis(struct rbac_audit_chain *c, const char *cluster_id,
                                uint64_t file_no, int64_t time_ns, struct st_buf *out,
                                struct st_error *err);
/* Append one event line (ending in '\n') to `out` and advance the chain. On
 * error the chain is unchanged. */
enum st_code rbac_audit_line(struct rbac_audit_chain *c, const struct rbac_audit_event *ev,
                             struct st_buf *out, struct st_error *err);

struct rbac_audit_verify_result {
    uint64_t bad_line;     /* 1-based number of the first bad line, 0 when all good */
    uint64_t n_lines;      /* lines checked */
    uint64_t last_seq;     /* seq of the last good line */
    uint8_t last_hash[32]; /* hash of the last good line (anchor for the next file) */
    char reason[128];
};

/*
 * Verify one audit file: every line's own hash, the link to the previous
 * line, consecutive seq numbers, and a genesis first line. `expected_prev`
 * (or NULL) is the hash the genesis must carry (the last hash of the previous
 * file); `expected_last` (or NULL) is an anchor the last line must match
 * (detects truncation at the end). ST_OK, or ST_ECORRUPT with bad_line set.
 */
enum st_code rbac_audit_verify(const uint8_t *bytes, size_t len, const uint8_t *key,
                               size_t key_len, const uint8_t *expected_prev,
                               const uint8_t *expected_last,
                               struct rbac_audit_verify_result *res, struct st_error *err);

#ifdef __cplusplus
}
#endif
#endif
