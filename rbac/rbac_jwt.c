/*
 * rbac_jwt.c: verification of OIDC ID/access tokens (compact JWS, RFC 7515 and
 * 7519) with a strict parser in front of OpenSSL. The order follows the
 * attack catalogue (security-anchors.md s. 2.4): every check that needs no
 * key runs before the key is looked up, the signature is verified before the
 * claims are even decoded, and every failure looks the same to the caller.
 *
 *   1. size cap, exactly three non-empty segments of canonical base64url
 *   2. header: a JSON object (duplicates refused, depth <= 4); alg is a string
 *      naming an allowed algorithm exactly; crit, b64, cty, zip, enc refused;
 *      typ, if present, a string; jwk, jku, x5u, x5c, x5t ignored (never
 *      fetched, never used); kid, if present, a string of 1..256 bytes and
 *      only ever a lookup key
 *   3. key by kid (no kid: only in a one-key set); the key must allow the
 *      alg (its JWKS alg pin, or its type and curve)
 *   4. signature length equals the key's (RSA modulus bytes, 2 x coordinate)
 *   5. EVP verification over the ASCII "header.payload"
 *   6. claims: exp required, nbf and iat with leeway, lifetime cap, iss exact,
 *      aud (string or array) containing ours, user claim, groups, required
 *      claims, mfa through amr/acr
 */
#include "rbac_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KID_MAX 256
#define NS INT64_C(1000000000)

static const struct {
    const char *name;
    unsigned bit;
} alg_table[] = {
    {"RS256", RBAC_ALG_RS256}, {"RS384", RBAC_ALG_RS384}, {"RS512", RBAC_ALG_RS512},
    {"PS256", RBAC_ALG_PS256}, {"PS384", RBAC_ALG_PS384}, {"PS512", RBAC_ALG_PS512},
    {"ES256", RBAC_ALG_ES256}, {"ES384", RBAC_ALG_ES384},
};

unsigned
rbac__alg_from_name(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof alg_table / sizeof *alg_table; i++)
        if (len == 5 && memcmp(s, alg_table[i].name, 5) == 0)
            return alg_table[i].bit;
    return 0;
}

const char *
rbac__alg_name(unsigned alg)
{
    for (size_t i = 0; i < sizeof alg_table / sizeof *alg_table; i++)
        if (alg_table[i].bit == alg)
            return alg_table[i].name;
    return "?";
}

struct ctx {
    struct rbac_auth_failure *why;
    struct st_error *err;
};

static enum st_code
reject(struct ctx *c, enum rbac_auth_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum st_code
reject(struct ctx *c, enum rbac_auth_reason r, const char *fmt, ...)
{
    if (c->why) {
        c->why->reason = r;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why->detail, sizeof c->why->detail, fmt, ap);
        va_end(ap);
    }
    return st_error_set(c->err, ST_EUNAUTHENTICATED, RBAC_UNAUTHENTICATED_MSG);
}

/* A NumericDate as ns: a non-negative integer or finite real up to year 2262. */
static int
numeric_date(json_t *v, int64_t *ns)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > INT64_MAX / NS)
            return -1;
        *ns = (int64_t)i * NS;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < 0 || d >= (double)(INT64_MAX / NS))
            return -1;
        *ns = (int64_t)(d * 1e9);
        return 0;
    }
    return -1;
}

static bool
str_eq(json_t *v, const char *s)
{
    size_t n = strlen(s);
    return json_is_string(v) && json_string_length(v) == n &&
           memcmp(json_string_value(v), s, n) == 0;
}

static bool
aud_ok(json_t *aud, const char *ours)
{
    if (json_is_string(aud))
        return str_eq(aud, ours);
    if (!json_is_array(aud) || json_array_size(aud) == 0 || json_array_size(aud) > 64)
        return false;
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v))
            return false;
        if (str_eq(v, ours))
            found = true;
    }
    return found;
}

/* prefix + value into dst (RBAC_SUBJECT_MAX + 1), validated as a subject. */
static int
map_name(const char *prefix, json_t *v, char *dst)
{
    if (!json_is_string(v))
        return -1;
    size_t pl = strlen(prefix), vl = json_string_length(v);
    if (vl == 0 || pl + vl > RBAC_SUBJECT_MAX)
        return -1;
    memcpy(dst, prefix, pl);
    memcpy(dst + pl, json_string_value(v), vl);
    dst[pl + vl] = '\0';
    if (rbac_name_check(RBAC_NAME_SUBJECT, dst, pl + vl, NULL) != ST_OK)
        return -1;
    return 0;
}

static enum st_code
check_header(struct ctx *c, const struct rbac_oidc *o, json_t *h, unsigned *alg,
             const char **kid, size_t *kid_len)
{
    static const char *const refused[] = {"crit", "b64", "cty", "zip", "enc"};
    json_t *a = json_object_get(h, "alg");
    if (!a || !json_is_string(a))
        return reject(c, RBAC_AUTH_HEADER, "alg missing or not a string");
    *alg = rbac__alg_from_name(json_string_value(a), json_string_length(a));
    if (!*alg || !(*alg & o->algs))
        return reject(c, RBAC_AUTH_HEADER, "alg is not in the allow-list");
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (json_object_get(h, refused[i]))
            return reject(c, RBAC_AUTH_HEADER, "header parameter \"%s\" is not supported",
                          refused[i]);
    json_t *typ = json_object_get(h, "typ");
    if (typ && !json_is_string(typ))
        return reject(c, RBAC_AUTH_HEADER, "typ is not a string");
    json_t *k = json_object_get(h, "kid");
    *kid = NULL;
    *kid_len = 0;
    if (k) {
        if (!json_is_string(k) || json_string_length(k) == 0 ||
            json_string_length(k) > KID_MAX)
            return reject(c, RBAC_AUTH_HEADER, "kid is not a string of 1..%d bytes", KID_MAX);
        *kid = json_string_value(k);
        *kid_len = json_string_length(k);
    }
    return ST_OK;
}

static enum st_code
check_claims(struct ctx *c, const struct rbac_oidc *o, json_t *cl, int64_t now,
             struct rbac_principal *p)
{
    int64_t exp, nbf, iat = 0;
    json_t *v;
    bool have_iat = false;

    if (!(v = json_object_get(cl, "exp")))
        return reject(c, RBAC_AUTH_CLAIMS, "exp missing");
    if (numeric_date(v, &exp) != 0)
        return reject(c, RBAC_AUTH_CLAIMS, "exp is not a valid NumericDate");
    if (now >= exp && now - exp >= o->leeway_ns)
        return reject(c, RBAC_AUTH_EXPIRED, "expired %lld s ago (leeway %lld s)",
                      (long long)((now - exp) / NS), (long long)(o->leeway_ns / NS));
    if ((v = json_object_get(cl, "nbf"))) {
        if (numeric_date(v, &nbf) != 0)
            return reject(c, RBAC_AUTH_CLAIMS, "nbf is not a valid NumericDate");
        if (nbf > now && nbf - now > o->leeway_ns)
            return reject(c, RBAC_AUTH_CLAIMS, "not valid before %lld s from now",
                          (long long)((nbf - now) / NS));
    }
    if ((v = json_object_get(cl, "iat"))) {
        if (numeric_date(v, &iat) != 0)
            return reject(c, RBAC_AUTH_CLAIMS, "iat is not a valid NumericDate");
        if (iat > now && iat - now > o->leeway_ns)
            return reject(c, RBAC_AUTH_CLAIMS, "issued %lld s in the future",
                          (long long)((iat - now) / NS));
        have_iat = true;
    } else if (!o->iat_optional) {
        return reject(c, RBAC_AUTH_CLAIMS, "iat missing");
    }
    if (have_iat) {
        if (exp < iat)
            return reject(c, RBAC_AUTH_CLAIMS, "exp is before iat");
        if (exp - iat > o->max_lifetime_ns)
            return reject(c, RBAC_AUTH_CLAIMS, "lifetime %lld s exceeds %lld s",
                          (long long)((exp - iat) / NS), (long long)(o->max_lifetime_ns / NS));
    } else if (exp > now && exp - now > o->max_lifetime_ns + o->leeway_ns) {
        return reject(c, RBAC_AUTH_CLAIMS, "remaining lifetime exceeds %lld s",
                      (long long)(o->max_lifetime_ns / NS));
    }
    if (!(v = json_object_get(cl, "iss")) || !str_eq(v, o->issuer))
        return reject(c, RBAC_AUTH_CLAIMS, "iss missing or not the configured issuer");
    if (!(v = json_object_get(cl, "aud")) || !aud_ok(v, o->audience))
        return reject(c, RBAC_AUTH_CLAIMS, "aud missing or does not contain our audience");

    char user[RBAC_SUBJECT_MAX + 1];
    if (!(v = json_object_get(cl, o->user_claim)) || map_name(o->user_prefix, v, user) != 0)
        return reject(c, RBAC_AUTH_CLAIMS, "user claim \"%s\" missing or not a valid name",
                      o->user_claim);

    for (size_t i = 0; i < o->n_required; i++) {
        v = json_object_get(cl, o->required[i].name);
        const char *want = o->required[i].value;
        bool ok = v && (str_eq(v, want) || (json_is_true(v) && strcmp(want, "true") == 0) ||
                        (json_is_false(v) && strcmp(want, "false") == 0));
        if (!ok)
            return reject(c, RBAC_AUTH_CLAIMS, "required claim \"%s\" missing or different",
                          o->required[i].name);
    }

    bool mfa = false;
    if (o->mfa != RBAC_MFA_OFF) {
        json_t *amr = json_object_get(cl, "amr"), *acr = json_object_get(cl, "acr");
        if (amr) {
            size_t i;
            json_t *e;
            if (!json_is_array(amr) || json_array_size(amr) > 32)
                return reject(c, RBAC_AUTH_CLAIMS, "amr is not an array of strings");
            json_array_foreach(amr, i, e)
            {
                if (!json_is_string(e))
                    return reject(c, RBAC_AUTH_CLAIMS, "amr is not an array of strings");
                for (size_t k = 0; k < o->n_amr; k++)
                    if (str_eq(e, o->amr[k]))
                        mfa = true;
            }
        }
        if (acr) {
            if (!json_is_string(acr))
                return reject(c, RBAC_AUTH_CLAIMS, "acr is not a string");
            for (size_t k = 0; k < o->n_acr; k++)
                if (str_eq(acr, o->acr[k]))
                    mfa = true;
        }
        if (o->mfa == RBAC_MFA_REQUIRED && !mfa)
            return reject(c, RBAC_AUTH_MFA, "no accepted amr or acr value");
    }

    size_t n_groups = 0;
    json_t *groups = o->groups_claim ? json_object_get(cl, o->groups_claim) : NULL;
    if (groups) {
        if (!json_is_array(groups))
            return reject(c, RBAC_AUTH_CLAIMS, "groups claim is not an array");
        n_groups = json_array_size(groups);
        if (n_groups > o->max_groups)
            return reject(c, RBAC_AUTH_CLAIMS, "%zu groups, more than %zu", n_groups,
                          o->max_groups);
    }

    /* all checks passed: fill the principal */
    rbac_principal_cleanup(p);
    if (n_groups) {
        p->groups = calloc(n_groups, sizeof *p->groups);
        if (!p->groups)
            return reject(c, RBAC_AUTH_INTERNAL, "out of memory");
        for (size_t i = 0; i < n_groups; i++) {
            char g[RBAC_SUBJECT_MAX + 1];
            if (map_name(o->group_prefix, json_array_get(groups, i), g) != 0) {
                rbac_principal_cleanup(p);
                return reject(c, RBAC_AUTH_CLAIMS, "group %zu is not a valid name", i);
            }
            if (!(p->groups[i] = rbac__strdup(g))) {
                rbac_principal_cleanup(p);
                return reject(c, RBAC_AUTH_INTERNAL, "out of memory");
            }
            p->n_groups = i + 1;
        }
    }
    p->kind = RBAC_PRINCIPAL_USER;
    rbac__copy(p->user, sizeof p->user, user);
    snprintf(p->id, sizeof p->id, "user:%s", user);
    rbac__copy(p->tenant, sizeof p->tenant, o->tenant);
    p->mfa = mfa;
    p->mfa_for_admin = o->mfa == RBAC_MFA_FOR_ADMIN;
    p->expires_ns = exp;
    return ST_OK;
}

enum st_code
rbac_jwt_verify(const struct rbac_oidc *o, const struct rbac_keyset *keys, const uint8_t *jwt,
                size_t len, int64_t now_ns, struct rbac_principal *out,
                struct rbac_auth_failure *why, struct st_error *err)
{
    struct ctx c = {why, err};
    enum st_code rc;
    uint8_t *buf = NULL;
    json_t *hdr = NULL, *claims = NULL;
    char jwhy[96];

    if (why) {
        why->reason = RBAC_AUTH_OK;
        why->detail[0] = '\0';
    }
    if (!o || !keys || !jwt)
        return reject(&c, RBAC_AUTH_INTERNAL, "verifier not configured");
    if (len > o->max_token_len)
        return reject(&c, RBAC_AUTH_TOO_LARGE, "token of %zu bytes is over the %zu byte cap",
                      len, o->max_token_len);

    /* 1. three non-empty segments */
    const uint8_t *d1 = memchr(jwt, '.', len);
    const uint8_t *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)))
        return reject(&c, RBAC_AUTH_MALFORMED, "not three dot-separated segments");
    size_t hl = (size_t)(d1 - jwt), pl = (size_t)(d2 - d1 - 1), sl = len - (size_t)(d2 + 1 - jwt);
    if (hl == 0 || pl == 0 || sl == 0)
        return reject(&c, RBAC_AUTH_MALFORMED, "empty segment");

    buf = malloc(len); /* decoded segments are shorter than the text */
    if (!buf)
        return reject(&c, RBAC_AUTH_INTERNAL, "out of memory");
    uint8_t *hb = buf, *pb, *sb;
    size_t hbl, pbl, sbl;
    if (rbac__b64url_decode(jwt, hl, hb, len, &hbl) != 0) {
        rc = reject(&c, RBAC_AUTH_MALFORMED, "header is not canonical base64url");
        goto out;
    }
    pb = hb + hbl;
    if (rbac__b64url_decode(d1 + 1, pl, pb, len - hbl, &pbl) != 0) {
        rc = reject(&c, RBAC_AUTH_MALFORMED, "payload is not canonical base64url");
        goto out;
    }
    sb = pb + pbl;
    if (rbac__b64url_decode(d2 + 1, sl, sb, len - hbl - pbl, &sbl) != 0) {
        rc = reject(&c, RBAC_AUTH_MALFORMED, "signature is not canonical base64url");
        goto out;
    }

    /* 2. header */
    if (!(hdr = rbac__json_load(hb, hbl, 4, jwhy, sizeof jwhy))) {
        rc = reject(&c, RBAC_AUTH_HEADER, "header: %s", jwhy);
        goto out;
    }
    unsigned alg = 0;
    const char *kid = NULL;
    size_t kid_len = 0;
    if ((rc = check_header(&c, o, hdr, &alg, &kid, &kid_len)) != ST_OK)
        goto out;

    /* 3. key */
    const struct rbac__key *key = rbac__keyset_find(keys, kid, kid_len);
    if (!key) {
        rc = reject(&c, RBAC_AUTH_KEY, kid ? "no key with this kid" : "no kid and not a "
                                                                      "one-key set");
        goto out;
    }
    if (!(key->algs & alg)) {
        rc = reject(&c, RBAC_AUTH_KEY, "key does not allow %s", rbac__alg_name(alg));
        goto out;
    }
    /* 4 + 5. signature */
    if (sbl != key->sig_len) {
        rc = reject(&c, RBAC_AUTH_SIGNATURE, "signature is %zu bytes, expected %zu", sbl,
                    key->sig_len);
        goto out;
    }
    if (rbac__verify(key, alg, jwt, (size_t)(d2 - jwt), sb, sbl, jwhy, sizeof jwhy) != 0) {
        rc = reject(&c, RBAC_AUTH_SIGNATURE, "%s", jwhy);
        goto out;
    }

    /* 6. claims */
    if (!(claims = rbac__json_load(pb, pbl, 8, jwhy, sizeof jwhy))) {
        rc = reject(&c, RBAC_AUTH_CLAIMS, "claims: %s", jwhy);
        goto out;
    }
    rc = check_claims(&c, o, claims, now_ns, out);
out:
    json_decref(hdr);
    json_decref(claims);
    rbac__wipe(buf, len);
    free(buf);
    return rc;
}
