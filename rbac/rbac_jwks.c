/*
 * rbac_jwks.c: JWKS documents -> immutable key sets, and the OpenID discovery
 * document -> jwks_uri. Bytes come in (the gateway fetches them); nothing is
 * ever fetched here, and no key is ever taken from a token (jwk, jku, x5u,
 * x5c are ignored by the verifier).
 *
 * Each key is validated on its own and skipped with a reason when it fails:
 *   - kty RSA or EC only ("oct" symmetric keys never come from a JWKS);
 *   - no private members (d, p, q, dp, dq, qi, oth, k);
 *   - use absent or "sig"; key_ops absent or containing "verify";
 *   - alg absent, or a supported asymmetric alg matching the key (then it
 *     pins the key to that alg, RFC 7517 s. 4.4);
 *   - RSA: canonical base64url n and e without leading zeros, odd modulus of
 *     rsa_min_bits..rsa_max_bits, odd exponent 3 <= e < 2^32;
 *   - EC: crv P-256 or P-384, x and y exactly the coordinate size, point on
 *     the curve (checked by OpenSSL);
 *   - kid absent or 1..256 bytes of text; a kid used twice disables all of
 *     its keys (a lookup must never be ambiguous).
 */
#include "rbac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KID_MAX 256

struct rbac_keyset *
rbac_keyset_ref(struct rbac_keyset *ks)
{
    if (ks)
        atomic_fetch_add_explicit(&ks->refs, 1, memory_order_relaxed);
    return ks;
}

static void
keyset_destroy(struct rbac_keyset *ks)
{
    for (size_t i = 0; i < ks->n_keys; i++) {
        free(ks->keys[i].kid);
        rbac__key_free(ks->keys[i].pkey);
    }
    for (size_t i = 0; i < ks->n_skipped; i++)
        free(ks->skipped[i].reason);
    free(ks->keys);
    free(ks->skipped);
    free(ks);
}

void
rbac_keyset_unref(struct rbac_keyset *ks)
{
    if (ks && atomic_fetch_sub_explicit(&ks->refs, 1, memory_order_acq_rel) == 1)
        keyset_destroy(ks);
}

size_t
rbac_keyset_n_keys(const struct rbac_keyset *ks)
{
    return ks ? ks->n_keys : 0;
}

const char *
rbac_keyset_kid(const struct rbac_keyset *ks, size_t i)
{
    if (!ks || i >= ks->n_keys)
        return "";
    return ks->keys[i].kid ? ks->keys[i].kid : "";
}

size_t
rbac_keyset_n_skipped(const struct rbac_keyset *ks)
{
    return ks ? ks->n_skipped : 0;
}

const char *
rbac_keyset_skipped(const struct rbac_keyset *ks, size_t i, size_t *doc_index)
{
    if (!ks || i >= ks->n_skipped)
        return "";
    if (doc_index)
        *doc_index = ks->skipped[i].index;
    return ks->skipped[i].reason;
}

const struct rbac__key *
rbac__keyset_find(const struct rbac_keyset *ks, const char *kid, size_t kid_len)
{
    if (!ks)
        return NULL;
    if (!kid)
        return ks->n_keys == 1 ? &ks->keys[0] : NULL;
    for (size_t i = 0; i < ks->n_keys; i++) {
        const struct rbac__key *k = &ks->keys[i];
        if (k->kid && k->kid_len == kid_len && memcmp(k->kid, kid, kid_len) == 0)
            return k;
    }
    return NULL;
}

/* A base64url member as bytes; returns malloc'd buffer or NULL with why. */
static uint8_t *
b64_member(json_t *jwk, const char *name, size_t *len, char *why, size_t why_len)
{
    json_t *v = json_object_get(jwk, name);
    if (!v || !json_is_string(v)) {
        snprintf(why, why_len, "member \"%s\" missing or not a string", name);
        return NULL;
    }
    size_t slen = json_string_length(v);
    if (slen == 0 || slen > 4096) {
        snprintf(why, why_len, "member \"%s\" has a bad length", name);
        return NULL;
    }
    uint8_t *buf = malloc(slen);
    if (!buf) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    if (rbac__b64url_decode((const uint8_t *)json_string_value(v), slen, buf, slen, len) != 0 ||
        *len == 0) {
        free(buf);
        snprintf(why, why_len, "member \"%s\" is not canonical base64url", name);
        return NULL;
    }
    return buf;
}

static unsigned
bit_length(const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    unsigned bits = (unsigned)(n - 1) * 8;
    for (uint8_t c = p[0]; c; c >>= 1)
        bits++;
    return bits;
}

static int
parse_rsa(json_t *jwk, const struct rbac_jwks_options *opt, struct rbac__key *k, char *why,
          size_t why_len)
{
    size_t n_len = 0, e_len = 0;
    int rc = -1;
    uint8_t *n = b64_member(jwk, "n", &n_len, why, why_len);
    uint8_t *e = n ? b64_member(jwk, "e", &e_len, why, why_len) : NULL;
    if (!n || !e)
        goto out;
    if (n[0] == 0 || e[0] == 0) {
        snprintf(why, why_len, "RSA n or e has a leading zero byte");
        goto out;
    }
    unsigned bits = bit_length(n, n_len);
    if (bits < opt->rsa_min_bits) {
        snprintf(why, why_len, "RSA modulus of %u bits is below %u", bits, opt->rsa_min_bits);
        goto out;
    }
    if (bits > opt->rsa_max_bits) {
        snprintf(why, why_len, "RSA modulus of %u bits is above %u", bits, opt->rsa_max_bits);
        goto out;
    }
    if (!(n[n_len - 1] & 1)) {
        snprintf(why, why_len, "RSA modulus is even");
        goto out;
    }
    if (e_len > 4) {
        snprintf(why, why_len, "RSA exponent is larger than 32 bits");
        goto out;
    }
    uint32_t ev = 0;
    for (size_t i = 0; i < e_len; i++)
        ev = ev << 8 | e[i];
    if (ev < 3 || !(ev & 1)) {
        snprintf(why, why_len, "RSA exponent %u is not an odd number >= 3", ev);
        goto out;
    }
    if (rbac__key_rsa(n, n_len, e, e_len, &k->pkey, why, why_len) != 0)
        goto out;
    k->kty = RBAC__KTY_RSA;
    k->bits = bits;
    k->sig_len = n_len;
    rc = 0;
out:
    free(n);
    free(e);
    return rc;
}

static int
parse_ec(json_t *jwk, struct rbac__key *k, char *why, size_t why_len)
{
    json_t *crv = json_object_get(jwk, "crv");
    if (!crv || !json_is_string(crv)) {
        snprintf(why, why_len, "EC key without crv");
        return -1;
    }
    size_t coord;
    if (strcmp(json_string_value(crv), "P-256") == 0) {
        k->crv = RBAC__CRV_P256;
        coord = 32;
    } else if (strcmp(json_string_value(crv), "P-384") == 0) {
        k->crv = RBAC__CRV_P384;
        coord = 48;
    } else {
        snprintf(why, why_len, "EC curve is not P-256 or P-384");
        return -1;
    }
    size_t x_len = 0, y_len = 0;
    int rc = -1;
    uint8_t *x = b64_member(jwk, "x", &x_len, why, why_len);
    uint8_t *y = x ? b64_member(jwk, "y", &y_len, why, why_len) : NULL;
    if (!x || !y)
        goto out;
    if (x_len != coord || y_len != coord) {
        snprintf(why, why_len, "EC coordinates are not %zu bytes each", coord);
        goto out;
    }
    if (rbac__key_ec(k->crv, x, y, coord, &k->pkey, why, why_len) != 0)
        goto out;
    k->kty = RBAC__KTY_EC;
    k->bits = (unsigned)coord * 8;
    k->sig_len = 2 * coord;
    rc = 0;
out:
    free(x);
    free(y);
    return rc;
}

/* Validate one JWK; 0 and a filled key, or -1 with the reason. */
static int
parse_key(json_t *jwk, const struct rbac_jwks_options *opt, struct rbac__key *k, char *why,
          size_t why_len)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    memset(k, 0, sizeof *k);
    if (!json_is_object(jwk)) {
        snprintf(why, why_len, "not a JSON object");
        return -1;
    }
    json_t *kty = json_object_get(jwk, "kty");
    if (!kty || !json_is_string(kty)) {
        snprintf(why, why_len, "kty missing or not a string");
        return -1;
    }
    const char *ktys = json_string_value(kty);
    bool rsa = strcmp(ktys, "RSA") == 0, ec = strcmp(ktys, "EC") == 0;
    if (!rsa && !ec) {
        snprintf(why, why_len, strcmp(ktys, "oct") == 0 ? "symmetric (oct) key refused"
                                                        : "kty is not RSA or EC");
        return -1;
    }
    for (size_t i = 0; i < sizeof private_members / sizeof *private_members; i++)
        if (json_object_get(jwk, private_members[i])) {
            snprintf(why, why_len, "private key member \"%s\" present", private_members[i]);
            return -1;
        }
    json_t *use = json_object_get(jwk, "use");
    if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        snprintf(why, why_len, "use is not \"sig\"");
        return -1;
    }
    json_t *ops = json_object_get(jwk, "key_ops");
    if (ops) {
        bool verify = false;
        size_t i;
        json_t *op;
        if (!json_is_array(ops)) {
            snprintf(why, why_len, "key_ops is not an array");
            return -1;
        }
        json_array_foreach(ops, i, op)
        {
            if (!json_is_string(op)) {
                snprintf(why, why_len, "key_ops holds a non-string");
                return -1;
            }
            if (strcmp(json_string_value(op), "verify") == 0)
                verify = true;
        }
        if (!verify) {
            snprintf(why, why_len, "key_ops does not allow \"verify\"");
            return -1;
        }
    }
    unsigned pin = 0;
    json_t *alg = json_object_get(jwk, "alg");
    if (alg) {
        if (!json_is_string(alg) ||
            !(pin = rbac__alg_from_name(json_string_value(alg), json_string_length(alg)))) {
            snprintf(why, why_len, "alg is not a supported asymmetric algorithm");
            return -1;
        }
    }
    json_t *kid = json_object_get(jwk, "kid");
    if (kid) {
        size_t kl = json_is_string(kid) ? json_string_length(kid) : 0;
        if (kl == 0 || kl > KID_MAX || !rbac__text_ok(json_string_value(kid), kl)) {
            snprintf(why, why_len, "kid is not a string of 1..%d text bytes", KID_MAX);
            return -1;
        }
    }
    if ((rsa ? parse_rsa(jwk, opt, k, why, why_len) : parse_ec(jwk, k, why, why_len)) != 0)
        return -1;
    unsigned fits = rsa ? (RBAC_ALG_RS256 | RBAC_ALG_RS384 | RBAC_ALG_RS512 | RBAC_ALG_PS256 |
                           RBAC_ALG_PS384 | RBAC_ALG_PS512)
                    : k->crv == RBAC__CRV_P256 ? RBAC_ALG_ES256
                                               : RBAC_ALG_ES384;
    if (pin && !(pin & fits)) {
        snprintf(why, why_len, "alg does not match the key type or curve");
        rbac__key_free(k->pkey);
        k->pkey = NULL;
        return -1;
    }
    k->algs = pin ? pin : fits;
    if (kid) {
        k->kid_len = json_string_length(kid);
        k->kid = rbac__strndup(json_string_value(kid), k->kid_len);
        if (!k->kid) {
            snprintf(why, why_len, "out of memory");
            rbac__key_free(k->pkey);
            k->pkey = NULL;
            return -1;
        }
    }
    return 0;
}

static int
add_skip(struct rbac_keyset *ks, size_t index, const char *reason)
{
    struct rbac__skip *n = realloc(ks->skipped, (ks->n_skipped + 1) * sizeof *n);
    if (!n)
        return -1;
    ks->skipped = n;
    char *r = rbac__strdup(reason);
    if (!r)
        return -1;
    ks->skipped[ks->n_skipped].index = index;
    ks->skipped[ks->n_skipped].reason = r;
    ks->n_skipped++;
    return 0;
}

enum st_code
rbac_jwks_parse(const uint8_t *doc, size_t len, const struct rbac_jwks_options *opt_in,
                struct rbac_keyset **out, struct st_error *err)
{
    struct rbac_jwks_options opt = {2048, 8192};
    char why[160];
    enum st_code rc = ST_OK;
    json_t *root = NULL;
    size_t *orig = NULL;

    *out = NULL;
    if (opt_in) {
        if (opt_in->rsa_min_bits)
            opt.rsa_min_bits = opt_in->rsa_min_bits;
        if (opt_in->rsa_max_bits)
            opt.rsa_max_bits = opt_in->rsa_max_bits;
    }
    if (opt.rsa_min_bits < 2048 || opt.rsa_max_bits < opt.rsa_min_bits ||
        opt.rsa_max_bits > 16384)
        return st_error_set(err, ST_EINVAL, "RSA key size limits must satisfy 2048 <= min <= "
                                            "max <= 16384");
    if (len > RBAC_JWKS_MAX_LEN)
        return st_error_set(err, ST_ELIMIT, "jwks document is larger than %d bytes",
                            RBAC_JWKS_MAX_LEN);
    root = rbac__json_load(doc, len, 6, why, sizeof why);
    if (!root)
        return st_error_set(err, ST_EPARSE, "jwks: %s", why);
    json_t *keys = json_object_get(root, "keys");
    if (!keys || !json_is_array(keys)) {
        json_decref(root);
        return st_error_set(err, ST_EPARSE, "jwks: member \"keys\" missing or not an array");
    }
    size_t n = json_array_size(keys);
    if (n > RBAC_JWKS_MAX_KEYS) {
        json_decref(root);
        return st_error_set(err, ST_ELIMIT, "jwks holds %zu keys, more than %d", n,
                            RBAC_JWKS_MAX_KEYS);
    }
    struct rbac_keyset *ks = calloc(1, sizeof *ks);
    if (!ks || (n && !(ks->keys = calloc(n, sizeof *ks->keys))) ||
        (n && !(orig = calloc(n, sizeof *orig)))) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
        goto fail;
    }
    atomic_init(&ks->refs, 1);
    for (size_t i = 0; i < n; i++) {
        struct rbac__key k;
        if (parse_key(json_array_get(keys, i), &opt, &k, why, sizeof why) != 0) {
            if (add_skip(ks, i, why) != 0) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                goto fail;
            }
            continue;
        }
        orig[ks->n_keys] = i;
        ks->keys[ks->n_keys++] = k;
    }
    /* a kid present more than once disables every key carrying it */
    if (ks->n_keys > 1) {
        bool *dup = calloc(ks->n_keys, sizeof *dup);
        if (!dup) {
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < ks->n_keys; i++)
            for (size_t j = i + 1; j < ks->n_keys; j++)
                if (ks->keys[i].kid && ks->keys[j].kid &&
                    ks->keys[i].kid_len == ks->keys[j].kid_len &&
                    memcmp(ks->keys[i].kid, ks->keys[j].kid, ks->keys[i].kid_len) == 0)
                    dup[i] = dup[j] = true;
        size_t kept = 0;
        for (size_t i = 0; i < ks->n_keys; i++) {
            if (!dup[i]) {
                ks->keys[kept++] = ks->keys[i];
                continue;
            }
            free(ks->keys[i].kid);
            rbac__key_free(ks->keys[i].pkey);
            if (add_skip(ks, orig[i], "kid appears on more than one key") != 0) {
                /* keep the set consistent for keyset_destroy */
                for (size_t j = i + 1; j < ks->n_keys; j++)
                    ks->keys[kept++] = ks->keys[j];
                ks->n_keys = kept;
                free(dup);
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                goto fail;
            }
        }
        ks->n_keys = kept;
        free(dup);
    }
    if (ks->n_keys == 0) {
        if (ks->n_skipped)
            rc = st_error_set(err, ST_EINVAL, "jwks has no usable key (key %zu: %s)",
                              ks->skipped[0].index, ks->skipped[0].reason);
        else
            rc = st_error_set(err, ST_EINVAL, "jwks has no keys");
        goto fail;
    }
    free(orig);
    json_decref(root);
    *out = ks;
    return ST_OK;
fail:
    free(orig);
    json_decref(root);
    if (ks)
        keyset_destroy(ks);
    return rc;
}
