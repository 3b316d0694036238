/*
 * rbac_b64.c: strict base64 codecs for credentials. JWS segments and token
 * bodies use canonical base64url (RFC 4648 s. 5, no padding, zero trailing
 * bits) so exactly one text decodes to given bytes; HTTP Basic uses canonical
 * standard base64 with padding. Anything else (whitespace, '=', the other
 * alphabet, stray bits) is refused rather than repaired.
 */
#include "rbac_int.h"

#include <string.h>

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
url_val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static int
std_val(uint8_t c)
{
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    if (c == '-' || c == '_')
        return -1;
    return url_val(c);
}

/* Decode n chars (no padding) with the given value function. */
static int
decode(const uint8_t *in, size_t len, int (*val)(uint8_t), uint8_t *out, size_t cap,
       size_t *out_len)
{
    if (len % 4 == 1)
        return -1;
    size_t need = rbac__b64url_decoded_len(len);
    if (need > cap)
        return -1;
    size_t o = 0, i = 0;
    for (; i + 4 <= len; i += 4) {
        int a = val(in[i]), b = val(in[i + 1]), c = val(in[i + 2]), d = val(in[i + 3]);
        if ((a | b | c | d) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    size_t rest = len - i;
    if (rest == 2) {
        int a = val(in[i]), b = val(in[i + 1]);
        if ((a | b) < 0 || (b & 0x0f) != 0)
            return -1;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
    } else if (rest == 3) {
        int a = val(in[i]), b = val(in[i + 1]), c = val(in[i + 2]);
        if ((a | b | c) < 0 || (c & 0x03) != 0)
            return -1;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        out[o++] = (uint8_t)((b & 0x0f) << 4 | c >> 2);
    }
    *out_len = o;
    return 0;
}

int
rbac__b64url_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    return decode(in, len, url_val, out, cap, out_len);
}

int
rbac__b64std_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (len == 0 || len % 4 != 0)
        return -1;
    size_t pad = 0;
    if (in[len - 1] == '=')
        pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
    /* '=' anywhere else is refused by std_val */
    return decode(in, len - pad, std_val, out, cap, out_len);
}

static size_t
encode(const uint8_t *in, size_t len, char *out, const char *alpha)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
    }
    return o;
}

size_t
rbac__b64url_encode(const uint8_t *in, size_t len, char *out)
{
    return encode(in, len, out, url_alphabet);
}

size_t
rbac__b64std_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = encode(in, len, out, std_alphabet);
    while (o % 4 != 0)
        out[o++] = '=';
    return o;
}

void
rbac__hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int
rbac__unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else
                return -1;
            v = v << 4 | d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}
