/*
 * rbac_token.c: opaque API tokens — their text format, minting, and
 * authentication by hash.
 *
 * Format (57 ASCII bytes):  "strata_" K "_" B
 *   K  the kind letter: o (operator), m (management), d (database)
 *   B  48 chars of base64url (no padding) encoding 36 bytes:
 *        32 bytes from the OS CSPRNG (256 bits of entropy)
 *      || CRC-32C (little-endian) over the 9-byte prefix and the 32 bytes.
 * The fixed prefix lets secret scanners find leaked tokens, and the checksum
 * lets them (and us) tell a real token from a look-alike without a lookup.
 * The checksum is public information and proves nothing about validity.
 *
 * Storage: only HMAC-SHA-512(pepper, text) — or SHA-512(text) without a
 * pepper — is kept, with id, name, kind, tenant, creator, times. A presented
 * token is hashed, the hash is looked up, and the stored hash compared with
 * CRYPTO_memcmp. The secret is returned once, at creation or rotation.
 *
 * The one exception to the format is the operator token read from
 * --admin-token-file: deployment tools provision it, so it may be any 32..256
 * printable non-space ASCII characters. It is hashed and looked up the same
 * way, and a text that is not a well-formed Strata token can only ever match
 * the operator's record.
 */
#include "rbac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/buf.h"
#include "strata/crc32c.h"
#include "strata/hash.h"

#define PREFIX_LEN 9
#define RANDOM_LEN 32
#define BODY_LEN 36
#define LAST_USED_GRANULE_NS (60 * INT64_C(1000000000))

void
rbac_secret_wipe(struct rbac_secret *s)
{
    if (s)
        rbac__wipe(s->text, sizeof s->text);
}

enum st_code
rbac_token_generate(enum rbac_token_kind kind, struct rbac_secret *out, struct st_error *err)
{
    uint8_t body[BODY_LEN];
    if ((unsigned)kind > RBAC_TOKEN_DATABASE)
        return st_error_set(err, ST_EINVAL, "unknown token kind");
    memcpy(out->text, "strata_x_", PREFIX_LEN);
    out->text[7] = rbac__token_kind_letter(kind);
    if (st_random_bytes(body, RANDOM_LEN) != 0)
        return st_error_set(err, ST_EINTERNAL, "the OS random source failed");
    uint32_t crc = st_crc32c(0, out->text, PREFIX_LEN);
    crc = st_crc32c(crc, body, RANDOM_LEN);
    st_store_u32le(body + RANDOM_LEN, crc);
    size_t n = rbac__b64url_encode(body, BODY_LEN, out->text + PREFIX_LEN);
    out->text[PREFIX_LEN + n] = '\0';
    rbac__wipe(body, sizeof body);
    return ST_OK;
}

/* Kind from a well-formed token, or -1. */
static int
token_kind_of(const uint8_t *tok, size_t len)
{
    uint8_t body[BODY_LEN];
    size_t n;
    if (len != RBAC_TOKEN_LEN || memcmp(tok, "strata_", 7) != 0 || tok[8] != '_')
        return -1;
    int kind = tok[7] == 'o' ? RBAC_TOKEN_OPERATOR
               : tok[7] == 'm' ? RBAC_TOKEN_MANAGEMENT
               : tok[7] == 'd' ? RBAC_TOKEN_DATABASE
                               : -1;
    if (kind < 0)
        return -1;
    if (rbac__b64url_decode(tok + PREFIX_LEN, len - PREFIX_LEN, body, sizeof body, &n) != 0 ||
        n != BODY_LEN)
        return -1;
    uint32_t crc = st_crc32c(st_crc32c(0, tok, PREFIX_LEN), body, RANDOM_LEN);
    bool ok = st_load_u32le(body + RANDOM_LEN) == crc;
    rbac__wipe(body, sizeof body);
    return ok ? kind : -1;
}

bool
rbac_token_well_formed(const uint8_t *tok, size_t len)
{
    return tok && token_kind_of(tok, len) >= 0;
}

bool
rbac_operator_token_text_ok(const uint8_t *tok, size_t len)
{
    if (!tok || len < RBAC_OPERATOR_TOKEN_MIN || len > RBAC_OPERATOR_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (tok[i] <= 0x20 || tok[i] >= 0x7f)
            return false;
    return true;
}

/* The principal a token stands for; holds no secret. */
static void
fill_principal(const struct rbac__token *t, struct rbac_principal *out)
{
    rbac_principal_cleanup(out);
    out->kind = rbac__principal_kind(t->kind);
    out->token_id = t->id;
    snprintf(out->id, sizeof out->id, "token:%016llx", (unsigned long long)t->id);
    rbac__copy(out->tenant, sizeof out->tenant, t->tenant);
    out->expires_ns = t->expires_ns;
}

static enum st_code
auth_fail(struct rbac_auth_failure *why, enum rbac_auth_reason r, const char *detail,
          struct st_error *err)
{
    if (why) {
        why->reason = r;
        rbac__copy(why->detail, sizeof why->detail, detail);
    }
    return st_error_set(err, ST_EUNAUTHENTICATED, RBAC_UNAUTHENTICATED_MSG);
}

enum st_code
rbac_token_authenticate(const struct rbac_snapshot *s, const uint8_t *tok, size_t len,
                        int64_t now_ns, struct rbac_principal *out,
                        struct rbac_auth_failure *why, struct st_error *err)
{
    uint8_t h[64];
    if (why) {
        why->reason = RBAC_AUTH_OK;
        why->detail[0] = '\0';
    }
    if (!s || !tok)
        return auth_fail(why, RBAC_AUTH_INTERNAL, "no policy", err);
    if (len > RBAC_CRED_MAX)
        return auth_fail(why, RBAC_AUTH_TOO_LARGE, "token over the size cap", err);
    int kind = token_kind_of(tok, len);
    if (kind < 0 && !rbac_operator_token_text_ok(tok, len))
        return auth_fail(why, RBAC_AUTH_MALFORMED, "not a well-formed strata token", err);
    if (rbac__token_hash(s, tok, len, h) != 0)
        return auth_fail(why, RBAC_AUTH_INTERNAL, "hash failed", err);
    struct rbac__token *t = rbac__find_token_hash(s, h);
    rbac__wipe(h, sizeof h);
    /* A minted token must carry its record's kind letter; any other text can only be
     * a provisioned operator token. */
    if (!t || (kind >= 0 ? (int)t->kind != kind && t->kind != RBAC_TOKEN_OPERATOR
                         : t->kind != RBAC_TOKEN_OPERATOR))
        return auth_fail(why, RBAC_AUTH_UNKNOWN, "no such token (never issued, revoked or "
                                                 "rotated)", err);
    if (t->expires_ns != 0 && now_ns >= t->expires_ns) {
        if (why) {
            why->reason = RBAC_AUTH_EXPIRED;
            snprintf(why->detail, sizeof why->detail, "token:%016llx expired",
                     (unsigned long long)t->id);
        }
        return st_error_set(err, ST_EUNAUTHENTICATED, RBAC_UNAUTHENTICATED_MSG);
    }
    int64_t last = atomic_load_explicit(&t->last_used_ns, memory_order_relaxed);
    if (now_ns - last >= LAST_USED_GRANULE_NS)
        atomic_store_explicit(&t->last_used_ns, now_ns - now_ns % LAST_USED_GRANULE_NS,
                              memory_order_relaxed);
    fill_principal(t, out);
    return ST_OK;
}

enum st_code
rbac_principal_for_token(const struct rbac_snapshot *s, uint64_t token_id,
                         struct rbac_principal *out, struct st_error *err)
{
    const struct rbac__token *t = rbac__find_token(s, token_id);
    if (!t)
        return st_error_set(err, ST_ENOTFOUND, "no token with this id");
    fill_principal(t, out);
    return ST_OK;
}

enum st_code
rbac_principal_for_user(const char *tenant, const char *user, const char *const *groups,
                        size_t n_groups, bool mfa, struct rbac_principal *out,
                        struct st_error *err)
{
    if (!tenant || rbac_name_check(RBAC_NAME_TENANT, tenant, strlen(tenant), err) != ST_OK)
        return ST_EINVAL;
    if (!user || rbac_name_check(RBAC_NAME_SUBJECT, user, strlen(user), err) != ST_OK)
        return ST_EINVAL;
    if (n_groups > RBAC_GROUPS_MAX)
        return st_error_set(err, ST_EINVAL, "more than %d groups", RBAC_GROUPS_MAX);
    for (size_t i = 0; i < n_groups; i++)
        if (!groups[i] || rbac_name_check(RBAC_NAME_SUBJECT, groups[i], strlen(groups[i]),
                                          err) != ST_OK)
            return ST_EINVAL;
    rbac_principal_cleanup(out);
    if (n_groups) {
        out->groups = calloc(n_groups, sizeof *out->groups);
        if (!out->groups)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        for (size_t i = 0; i < n_groups; i++) {
            if (!(out->groups[i] = rbac__strdup(groups[i]))) {
                rbac_principal_cleanup(out);
                return st_error_set(err, ST_ENOMEM, "out of memory");
            }
            out->n_groups = i + 1;
        }
    }
    out->kind = RBAC_PRINCIPAL_USER;
    rbac__copy(out->user, sizeof out->user, user);
    snprintf(out->id, sizeof out->id, "user:%s", user);
    rbac__copy(out->tenant, sizeof out->tenant, tenant);
    out->mfa = mfa;
    out->mfa_for_admin = false;
    return ST_OK;
}
