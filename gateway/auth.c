/*
 * auth.c: credentials, in one place.
 *
 *   1. The operator token: read from --admin-token-file when the file exists (one line
 *      of 32..256 printable non-space ASCII characters, so deployment tools can
 *      provision it), otherwise generated from the OS CSPRNG, written with mode 0600 and
 *      printed once. Only its SHA-256 digest is kept for comparisons.
 *   2. Extraction: HTTP `Authorization: Bearer|Token|Basic ...` (schemes case-sensitive,
 *      exactly "<scheme> <credential>", else malformed -> 400), or `p=` on the v1 paths;
 *      gRPC `authorization` metadata (Bearer, Token, or Basic with the token as the
 *      password; any other form counts as no credential, as InfluxDB does).
 *   3. gw_authorize(): THE check every request passes through, with the privilege its
 *      method needs. Until RBAC lands, the operator token is the only principal and may
 *      do everything. The comparison hashes the presented bytes and compares digests
 *      with CRYPTO_memcmp, so neither content nor length leaks through timing.
 * Tokens are never logged: no function here formats one into a message.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gw_int.h"
#include "strata/file.h"
#include "strata/hash.h"
#include "strata/log.h"

#define TOKEN_MIN 32
#define TOKEN_MAX 256

static uint8_t op_digest[SHA256_DIGEST_LENGTH];
static char op_token[TOKEN_MAX + 1];
static bool op_ready;

static bool
token_char_ok(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f;
}

static enum st_code
read_token(const char *path, struct st_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ST_TRY(st_file_read_all(path, 4096, &data, &len, err));
    size_t n = len;
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        n--;
    enum st_code rc = ST_OK;
    if (n < TOKEN_MIN || n > TOKEN_MAX)
        rc = st_error_set(err, ST_EINVAL,
                          "--admin-token-file '%s': the token must be %d..%d characters, not %zu",
                          path, TOKEN_MIN, TOKEN_MAX, n);
    for (size_t i = 0; rc == ST_OK && i < n; i++)
        if (!token_char_ok(data[i]))
            rc = st_error_set(err, ST_EINVAL,
                              "--admin-token-file '%s': character %zu is not printable "
                              "non-space ASCII (one line, one token)",
                              path, i + 1);
    if (rc == ST_OK) {
        memcpy(op_token, data, n);
        op_token[n] = 0;
    }
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

static enum st_code
generate_token(const char *path, struct st_error *err)
{
    static const char b64u[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t rnd[32];
    if (st_random_bytes(rnd, sizeof rnd) != 0)
        return st_error_set(err, ST_EIO, "cannot read random bytes for the operator token");
    /* "strata_op_" + 43 base64url characters (256 bits). */
    size_t o = (size_t)snprintf(op_token, sizeof op_token, "strata_op_");
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < sizeof rnd; i++) {
        acc = acc << 8 | rnd[i];
        bits += 8;
        while (bits >= 6) {
            op_token[o++] = b64u[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits > 0)
        op_token[o++] = b64u[(acc << (6 - bits)) & 63];
    op_token[o] = 0;
    OPENSSL_cleanse(rnd, sizeof rnd);
    char line[TOKEN_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", op_token);
    enum st_code rc = st_file_write_atomic(path, line, (size_t)n, 0600, err);
    OPENSSL_cleanse(line, sizeof line);
    if (rc != ST_OK)
        st_error_prefix(err, "--admin-token-file: ");
    return rc;
}

enum st_code
gw_auth_init(const char *path, bool *generated, struct st_error *err)
{
    struct stat st;
    *generated = false;
    if (stat(path, &st) == 0) {
        ST_TRY(read_token(path, err));
        if (st.st_mode & 077)
            st_log(ST_LOG_WARN, "auth",
                   "operator token file '%s' is readable by group or others (mode %03o); "
                   "use chmod 600",
                   path, (unsigned)(st.st_mode & 0777));
    } else if (errno == ENOENT) {
        ST_TRY(generate_token(path, err));
        *generated = true;
    } else {
        return st_error_set(err, ST_EIO, "--admin-token-file '%s': %s", path, strerror(errno));
    }
    SHA256((const unsigned char *)op_token, strlen(op_token), op_digest);
    op_ready = true;
    return ST_OK;
}

void
gw_auth_cleanup(void)
{
    OPENSSL_cleanse(op_token, sizeof op_token);
    OPENSSL_cleanse(op_digest, sizeof op_digest);
    op_ready = false;
}

const char *
gw_auth_operator_token(void)
{
    return op_token;
}

/* Standard base64 (with optional padding) into out; returns the length or -1. */
static int
b64_decode(const char *s, size_t n, char *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int v;
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z')
            v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9')
            v = ch - '0' + 52;
        else if (ch == '+')
            v = 62;
        else if (ch == '/')
            v = 63;
        else if (ch == '=') {
            pad++;
            continue;
        } else
            return -1;
        if (pad)
            return -1; /* data after padding */
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            if (o >= cap)
                return -1;
            out[o++] = (char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    if (pad > 2)
        return -1;
    return (int)o;
}

/* Parse "<scheme> <value>" with the credential value at [v, v+vlen). */
static void
parse_scheme(struct gw_cred *c, const char *s, size_t n, bool strict)
{
    const char *sp = memchr(s, ' ', n);
    if (!sp) {
        c->malformed = strict;
        return;
    }
    size_t sl = (size_t)(sp - s);
    const char *v = sp + 1;
    size_t vl = n - sl - 1;
    if (vl == 0 || memchr(v, ' ', vl)) {
        c->malformed = strict;
        return;
    }
    if ((sl == 6 && memcmp(s, "Bearer", 6) == 0) || (sl == 5 && memcmp(s, "Token", 5) == 0)) {
        c->present = true;
        c->tok = v;
        c->tok_len = vl;
        return;
    }
    if (sl == 5 && memcmp(s, "Basic", 5) == 0) {
        int dl = b64_decode(v, vl, c->buf, sizeof c->buf - 1);
        if (dl < 0) {
            c->malformed = strict;
            return;
        }
        c->buf[dl] = 0;
        char *colon = memrchr(c->buf, ':', (size_t)dl);
        if (!colon || (strict && memchr(c->buf, ':', (size_t)(colon - c->buf)))) {
            c->malformed = strict;
            return;
        }
        c->present = true;
        c->tok = colon + 1;
        c->tok_len = (size_t)(c->buf + dl - (colon + 1));
        return;
    }
    c->malformed = strict;
}

void
gw_cred_from_http(struct gw_cred *c, const char *authorization, const char *p_param)
{
    memset(c, 0, sizeof *c);
    if (p_param && *p_param) {
        c->present = true;
        c->tok = p_param;
        c->tok_len = strlen(p_param);
        return;
    }
    if (!authorization)
        return;
    parse_scheme(c, authorization, strlen(authorization), true);
}

void
gw_cred_from_grpc(struct gw_cred *c, const char *value, size_t len)
{
    memset(c, 0, sizeof *c);
    if (!value)
        return;
    parse_scheme(c, value, len, false);
}

enum st_code
gw_authorize(const struct gw_cred *c, enum gw_priv need, const char *db, struct gw_principal *who,
             struct st_error *err)
{
    (void)db;
    memset(who, 0, sizeof *who);
    if (need == GW_PRIV_NONE) {
        snprintf(who->name, sizeof who->name, "anonymous");
        return ST_OK;
    }
    if (!c || !c->present || c->tok_len == 0 || c->tok_len > TOKEN_MAX * 4 || !op_ready)
        return st_error_set(err, ST_EUNAUTHENTICATED, "the request was not authenticated");
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)c->tok, c->tok_len, d);
    int diff = CRYPTO_memcmp(d, op_digest, sizeof d);
    OPENSSL_cleanse(d, sizeof d);
    if (diff != 0)
        return st_error_set(err, ST_EUNAUTHENTICATED, "the request was not authenticated");
    /* The operator may do everything; RBAC will decide per database and privilege here. */
    snprintf(who->name, sizeof who->name, "operator");
    who->can_create_db = true;
    return ST_OK;
}
