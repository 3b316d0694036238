/*
 * rbac_oidc.c: OIDC issuer configuration (validated once, then immutable) and
 * the OpenID discovery document. The gateway fetches the discovery document
 * and the JWKS; this file only decides whether the discovery document may be
 * believed: its `issuer` must equal the configured issuer byte for byte
 * (OpenID Connect Discovery s. 4.3), and its jwks_uri must be an https URL on
 * the issuer's own origin, so a tampered document cannot point the gateway at
 * another host (SSRF, key substitution).
 */
#include "rbac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ISSUER_MAX 1024
#define PREFIX_MAX 64
#define CLAIM_NAME_MAX 128

void
rbac_oidc_free(struct rbac_oidc *o)
{
    if (!o)
        return;
    free(o->issuer);
    free(o->audience);
    free(o->user_claim);
    free(o->user_prefix);
    free(o->groups_claim);
    free(o->group_prefix);
    for (size_t i = 0; i < o->n_required; i++) {
        free(o->required[i].name);
        free(o->required[i].value);
    }
    free(o->required);
    rbac_strv_free(o->amr, o->n_amr);
    rbac_strv_free(o->acr, o->n_acr);
    free(o);
}

static bool
short_text(const char *s, size_t max, bool may_be_empty)
{
    if (!s)
        return may_be_empty;
    size_t n = strlen(s);
    return (may_be_empty || n > 0) && n <= max && rbac__text_ok(s, n);
}

static int
dup_list(const char *const *v, size_t n, char ***out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    char **d = calloc(n, sizeof *d);
    if (!d)
        return -1;
    *out = d;
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = rbac__strdup(v[i])))
            return -1;
    return 0;
}

enum st_code
rbac_oidc_new(const struct rbac_oidc_config *c, struct rbac_oidc **out, struct st_error *err)
{
    const unsigned all_algs = RBAC_ALG_RS256 | RBAC_ALG_RS384 | RBAC_ALG_RS512 |
                              RBAC_ALG_PS256 | RBAC_ALG_PS384 | RBAC_ALG_PS512 |
                              RBAC_ALG_ES256 | RBAC_ALG_ES384;
    *out = NULL;
    if (!short_text(c->issuer, ISSUER_MAX, false))
        return st_error_set(err, ST_EINVAL, "oidc issuer must be 1..%d bytes of text",
                            ISSUER_MAX);
    if (!short_text(c->audience, ISSUER_MAX, false))
        return st_error_set(err, ST_EINVAL, "oidc audience must be 1..%d bytes of text",
                            ISSUER_MAX);
    if (!c->tenant || rbac_name_check(RBAC_NAME_TENANT, c->tenant, strlen(c->tenant), err))
        return st_error_set(err, ST_EINVAL, "oidc tenant is not a valid tenant name");
    if (c->algs & ~all_algs)
        return st_error_set(err, ST_EINVAL, "oidc algorithm set holds unknown algorithms");
    if (c->leeway_ns < 0 || c->leeway_ns > 300 * INT64_C(1000000000))
        return st_error_set(err, ST_EINVAL, "oidc leeway must be between 0 and 300 s");
    if (c->max_lifetime_ns < 0 || c->max_lifetime_ns > 30 * 86400 * INT64_C(1000000000))
        return st_error_set(err, ST_EINVAL, "oidc max lifetime must be between 0 and 30 days");
    if (c->max_token_len > RBAC_CRED_MAX)
        return st_error_set(err, ST_EINVAL, "oidc max token length is above %d",
                            RBAC_CRED_MAX);
    if (c->user_claim && !short_text(c->user_claim, CLAIM_NAME_MAX, false))
        return st_error_set(err, ST_EINVAL, "oidc user claim name is invalid");
    if (c->groups_claim && !short_text(c->groups_claim, CLAIM_NAME_MAX, false))
        return st_error_set(err, ST_EINVAL, "oidc groups claim name is invalid");
    if (!short_text(c->user_prefix, PREFIX_MAX, true) ||
        !short_text(c->group_prefix, PREFIX_MAX, true))
        return st_error_set(err, ST_EINVAL, "oidc user/group prefix must be up to %d bytes "
                                            "of text", PREFIX_MAX);
    if (c->max_groups > RBAC_GROUPS_MAX)
        return st_error_set(err, ST_EINVAL, "oidc max groups is above %d", RBAC_GROUPS_MAX);
    if ((unsigned)c->mfa > RBAC_MFA_FOR_ADMIN)
        return st_error_set(err, ST_EINVAL, "oidc mfa mode is unknown");
    if (c->mfa != RBAC_MFA_OFF && c->n_amr_values == 0 && c->n_acr_values == 0)
        return st_error_set(err, ST_EINVAL, "oidc mfa needs accepted amr or acr values");
    for (size_t i = 0; i < c->n_required; i++)
        if (!short_text(c->required[i].name, CLAIM_NAME_MAX, false) || !c->required[i].value ||
            !short_text(c->required[i].value, ISSUER_MAX, true))
            return st_error_set(err, ST_EINVAL, "oidc required claim %zu is invalid", i);
    for (size_t i = 0; i < c->n_amr_values; i++)
        if (!short_text(c->amr_values[i], CLAIM_NAME_MAX, false))
            return st_error_set(err, ST_EINVAL, "oidc amr value %zu is invalid", i);
    for (size_t i = 0; i < c->n_acr_values; i++)
        if (!short_text(c->acr_values[i], ISSUER_MAX, false))
            return st_error_set(err, ST_EINVAL, "oidc acr value %zu is invalid", i);

    struct rbac_oidc *o = calloc(1, sizeof *o);
    if (!o)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    rbac__copy(o->tenant, sizeof o->tenant, c->tenant);
    o->algs = c->algs ? c->algs : RBAC_ALG_DEFAULT;
    o->leeway_ns = c->leeway_ns ? c->leeway_ns : 60 * INT64_C(1000000000);
    o->max_lifetime_ns = c->max_lifetime_ns ? c->max_lifetime_ns : 86400 * INT64_C(1000000000);
    o->max_token_len = c->max_token_len ? c->max_token_len : 8192;
    o->iat_optional = c->iat_optional;
    o->max_groups = c->max_groups ? c->max_groups : 64;
    o->mfa = c->mfa;
    bool ok = (o->issuer = rbac__strdup(c->issuer)) && (o->audience = rbac__strdup(c->audience)) &&
              (o->user_claim = rbac__strdup(c->user_claim ? c->user_claim : "sub")) &&
              (o->user_prefix = rbac__strdup(c->user_prefix ? c->user_prefix : "")) &&
              (o->group_prefix = rbac__strdup(c->group_prefix ? c->group_prefix : "")) &&
              (!c->groups_claim || (o->groups_claim = rbac__strdup(c->groups_claim)));
    if (ok && c->n_required) {
        o->required = calloc(c->n_required, sizeof *o->required);
        ok = o->required != NULL;
        for (size_t i = 0; ok && i < c->n_required; i++) {
            o->n_required = i + 1;
            ok = (o->required[i].name = rbac__strdup(c->required[i].name)) &&
                 (o->required[i].value = rbac__strdup(c->required[i].value));
        }
    }
    if (ok) {
        o->n_amr = c->n_amr_values;
        o->n_acr = c->n_acr_values;
        ok = dup_list(c->amr_values, c->n_amr_values, &o->amr) == 0 &&
             dup_list(c->acr_values, c->n_acr_values, &o->acr) == 0;
    }
    if (!ok) {
        rbac_oidc_free(o);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    *out = o;
    return ST_OK;
}

/* ---- discovery ---- */

struct origin {
    const char *host;
    size_t host_len;
    unsigned port;
};

/* Parse "https://host[:port][/path...]" strictly; 0 or -1. */
static int
https_origin(const char *u, size_t n, struct origin *o)
{
    if (n < 9 || memcmp(u, "https://", 8) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '#')
            return -1;
    }
    const char *a = u + 8, *end = u + n;
    const char *stop = a;
    while (stop < end && *stop != '/' && *stop != '?')
        stop++;
    if (memchr(a, '@', (size_t)(stop - a)))
        return -1; /* userinfo */
    const char *host_end = stop;
    o->port = 443;
    if (a < stop && *a == '[') {
        const char *rb = memchr(a, ']', (size_t)(stop - a));
        if (!rb)
            return -1;
        host_end = rb + 1;
    } else {
        const char *colon = memchr(a, ':', (size_t)(stop - a));
        if (colon)
            host_end = colon;
    }
    if (host_end == a)
        return -1;
    if (host_end < stop) {
        if (*host_end != ':' || host_end + 1 == stop)
            return -1;
        unsigned long port = 0;
        for (const char *p = host_end + 1; p < stop; p++) {
            if (*p < '0' || *p > '9' || port > 65535)
                return -1;
            port = port * 10 + (unsigned long)(*p - '0');
        }
        if (port == 0 || port > 65535)
            return -1;
        o->port = (unsigned)port;
    }
    o->host = a;
    o->host_len = (size_t)(host_end - a);
    return 0;
}

enum st_code
rbac_oidc_discovery_parse(const uint8_t *doc, size_t len, const char *expected_issuer,
                          char **jwks_uri_out, struct st_error *err)
{
    char why[128];
    *jwks_uri_out = NULL;
    if (len > RBAC_JWKS_MAX_LEN)
        return st_error_set(err, ST_ELIMIT, "discovery document is larger than %d bytes",
                            RBAC_JWKS_MAX_LEN);
    json_t *root = rbac__json_load(doc, len, 8, why, sizeof why);
    if (!root)
        return st_error_set(err, ST_EPARSE, "discovery document: %s", why);
    enum st_code rc;
    json_t *iss = json_object_get(root, "issuer");
    json_t *uri = json_object_get(root, "jwks_uri");
    struct origin oi, ou;
    if (!iss || !json_is_string(iss) || json_string_length(iss) != strlen(expected_issuer) ||
        memcmp(json_string_value(iss), expected_issuer, json_string_length(iss)) != 0) {
        rc = st_error_set(err, ST_EINVAL, "discovery document issuer does not equal the "
                                          "configured issuer");
    } else if (!uri || !json_is_string(uri) || json_string_length(uri) > ISSUER_MAX) {
        rc = st_error_set(err, ST_EINVAL, "discovery document has no usable jwks_uri");
    } else if (https_origin(expected_issuer, strlen(expected_issuer), &oi) != 0) {
        rc = st_error_set(err, ST_EINVAL, "issuer is not an https URL");
    } else if (https_origin(json_string_value(uri), json_string_length(uri), &ou) != 0) {
        rc = st_error_set(err, ST_EINVAL, "jwks_uri is not a plain https URL");
    } else if (oi.port != ou.port || oi.host_len != ou.host_len ||
               strncasecmp(oi.host, ou.host, oi.host_len) != 0) {
        rc = st_error_set(err, ST_EINVAL, "jwks_uri is not on the issuer's origin");
    } else if (!(*jwks_uri_out = rbac__strdup(json_string_value(uri)))) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
    } else {
        rc = ST_OK;
    }
    json_decref(root);
    return rc;
}
