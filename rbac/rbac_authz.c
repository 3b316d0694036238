/*
 * rbac_authz.c: finding the one credential of a request. The gateway passes
 * every `authorization` value it received (gRPC metadata or HTTP headers) and,
 * on v1 HTTP endpoints, every `p` query value; this file decides, without
 * looking anything up, whether there is exactly one well-formed credential
 * and what kind it is. Rules (fail closed):
 *   - exactly one value in total: two headers, a header plus `p=`, or two
 *     `p=` are refused, never "pick the stronger";
 *   - "<scheme> SP <credential>": one space, no tabs, no leading or trailing
 *     whitespace; the scheme compares case-insensitively (RFC 7235), or
 *     exactly when the caller asks for InfluxDB's rule (scheme_exact);
 *   - gRPC takes Bearer; HTTP takes Bearer, Token and Basic (the password is
 *     the token, the user name is ignored); v1 adds `p=`;
 *   - a credential is printable non-space ASCII: a Strata token or a compact
 *     JWS is A-Z a-z 0-9 . _ - only, but an operator token provisioned by a
 *     deployment tool may be any 32..256 such characters. CR, LF, NUL,
 *     spaces and non-ASCII never get through;
 *   - classification: "strata_" prefix -> opaque; three non-empty base64url
 *     segments -> JWT; any other 32..256 characters -> opaque (it can only
 *     ever match a provisioned operator token); anything else is refused;
 *   - size caps before any decoding.
 * Failures carry one generic message; the reason is for the audit log.
 */
#include "rbac_int.h"

#include <string.h>
#include <strings.h>

static bool
cred_char(uint8_t c)
{
    return c > 0x20 && c < 0x7f;
}

static bool
b64url_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static enum st_code
fail(enum rbac_authz_reason r, enum rbac_authz_reason *why, struct rbac_credential *out,
     struct st_error *err)
{
    if (why)
        *why = r;
    out->kind = RBAC_CRED_NONE;
    out->ptr = NULL;
    out->len = 0;
    return st_error_set(err, ST_EUNAUTHENTICATED, RBAC_UNAUTHENTICATED_MSG);
}

static enum rbac_cred_kind
classify(const uint8_t *p, size_t n)
{
    if (n >= 7 && memcmp(p, "strata_", 7) == 0)
        return RBAC_CRED_OPAQUE;
    size_t dots = 0, seg = 0;
    bool jws = true;
    for (size_t i = 0; i < n && jws; i++) {
        if (p[i] == '.') {
            if (seg == 0)
                jws = false;
            dots++;
            seg = 0;
        } else if (b64url_char(p[i])) {
            seg++;
        } else {
            jws = false;
        }
    }
    if (jws && dots == 2 && seg > 0)
        return RBAC_CRED_JWT;
    if (rbac_operator_token_text_ok(p, n))
        return RBAC_CRED_OPAQUE;
    return RBAC_CRED_NONE;
}

static bool
all_cred_chars(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!cred_char(p[i]))
            return false;
    return true;
}

enum st_code
rbac_authz_parse(const struct rbac_authz_input *in, struct rbac_credential *out,
                 enum rbac_authz_reason *why, struct st_error *err)
{
    unsigned schemes = in->schemes;
    if (schemes == 0)
        schemes = in->transport == RBAC_TRANSPORT_GRPC ? RBAC_SCHEME_BEARER
                  : in->transport == RBAC_TRANSPORT_HTTP
                      ? RBAC_SCHEME_BEARER | RBAC_SCHEME_TOKEN | RBAC_SCHEME_BASIC
                      : RBAC_SCHEME_BEARER | RBAC_SCHEME_TOKEN | RBAC_SCHEME_BASIC |
                            RBAC_SCHEME_QUERY_P;
    if (in->transport == RBAC_TRANSPORT_GRPC)
        schemes &= RBAC_SCHEME_BEARER | RBAC_SCHEME_TOKEN; /* never Basic or p= on gRPC */
    if (in->transport != RBAC_TRANSPORT_HTTP_V1)
        schemes &= ~RBAC_SCHEME_QUERY_P;

    out->kind = RBAC_CRED_NONE;
    out->scheme = 0;
    out->ptr = NULL;
    out->len = 0;

    size_t n_p = (schemes & RBAC_SCHEME_QUERY_P) ? in->n_p_params : 0;
    size_t total = in->n_values + n_p;
    if (total == 0)
        return fail(RBAC_AUTHZ_MISSING, why, out, err);
    if (total > 1)
        return fail(RBAC_AUTHZ_MULTIPLE, why, out, err);

    const uint8_t *cred;
    size_t cred_len;
    unsigned scheme;

    if (n_p == 1) {
        cred = in->p_params[0].ptr;
        cred_len = in->p_params[0].len;
        scheme = RBAC_SCHEME_QUERY_P;
        if (cred_len > RBAC_CRED_MAX)
            return fail(RBAC_AUTHZ_TOO_LARGE, why, out, err);
        if (cred_len == 0 || !cred)
            return fail(RBAC_AUTHZ_MALFORMED, why, out, err);
    } else {
        const uint8_t *v = in->values[0].ptr;
        size_t n = in->values[0].len;
        if (n > RBAC_AUTHZ_VALUE_MAX)
            return fail(RBAC_AUTHZ_TOO_LARGE, why, out, err);
        if (n == 0 || !v)
            return fail(RBAC_AUTHZ_MALFORMED, why, out, err);
        const uint8_t *sp = memchr(v, ' ', n);
        if (!sp || sp == v)
            return fail(RBAC_AUTHZ_MALFORMED, why, out, err);
        size_t slen = (size_t)(sp - v);
        for (size_t i = 0; i < slen; i++)
            if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z')))
                return fail(RBAC_AUTHZ_MALFORMED, why, out, err);
        int (*cmp)(const char *, const char *, size_t) = in->scheme_exact ? strncmp : strncasecmp;
        if (slen == 6 && cmp((const char *)v, "Bearer", 6) == 0)
            scheme = RBAC_SCHEME_BEARER;
        else if (slen == 5 && cmp((const char *)v, "Token", 5) == 0)
            scheme = RBAC_SCHEME_TOKEN;
        else if (slen == 5 && cmp((const char *)v, "Basic", 5) == 0)
            scheme = RBAC_SCHEME_BASIC;
        else
            return fail(RBAC_AUTHZ_SCHEME, why, out, err);
        if (!(schemes & scheme))
            return fail(RBAC_AUTHZ_SCHEME, why, out, err);
        cred = sp + 1;
        cred_len = n - slen - 1;
        if (cred_len == 0)
            return fail(RBAC_AUTHZ_MALFORMED, why, out, err);
    }

    if (scheme == RBAC_SCHEME_BASIC) {
        if (rbac__b64url_decoded_len(cred_len) > sizeof out->buf)
            return fail(RBAC_AUTHZ_TOO_LARGE, why, out, err);
        size_t dlen;
        if (rbac__b64std_decode(cred, cred_len, out->buf, sizeof out->buf, &dlen) != 0)
            return fail(RBAC_AUTHZ_BASIC, why, out, err);
        const uint8_t *colon = memchr(out->buf, ':', dlen);
        if (!colon) {
            rbac__wipe(out->buf, dlen);
            return fail(RBAC_AUTHZ_BASIC, why, out, err);
        }
        for (const uint8_t *u = out->buf; u < colon; u++)
            if (*u < 0x20 || *u == 0x7f) {
                rbac__wipe(out->buf, dlen);
                return fail(RBAC_AUTHZ_BASIC, why, out, err);
            }
        cred = colon + 1;
        cred_len = dlen - (size_t)(cred - out->buf);
        if (cred_len == 0) {
            rbac__wipe(out->buf, dlen);
            return fail(RBAC_AUTHZ_BASIC, why, out, err);
        }
    }
    if (cred_len > RBAC_CRED_MAX)
        return fail(RBAC_AUTHZ_TOO_LARGE, why, out, err);
    if (!all_cred_chars(cred, cred_len))
        return fail(RBAC_AUTHZ_CHARSET, why, out, err);
    enum rbac_cred_kind kind = classify(cred, cred_len);
    if (kind == RBAC_CRED_NONE)
        return fail(RBAC_AUTHZ_UNRECOGNISED, why, out, err);
    out->kind = kind;
    out->scheme = scheme;
    out->ptr = cred;
    out->len = cred_len;
    if (why)
        *why = RBAC_AUTHZ_OK;
    return ST_OK;
}

void
rbac_credential_wipe(struct rbac_credential *c)
{
    if (!c)
        return;
    rbac__wipe(c->buf, sizeof c->buf);
    c->ptr = NULL;
    c->len = 0;
    c->kind = RBAC_CRED_NONE;
}
