/*
 * rbac_json.c: loading untrusted JSON (JWS headers and claims, JWKS and
 * discovery documents, policy files) and checking untrusted text. A nesting
 * pre-scan bounds the depth far below jansson's own limit, then jansson
 * parses with JSON_REJECT_DUPLICATES, because a duplicated member ("alg"
 * twice, "sub" twice) is the classic way to make two parsers disagree.
 */
#include "rbac_int.h"

#include <stdio.h>
#include <string.h>

/* Maximum nesting of [ and { outside strings; -1 when unbalanced. */
static long
max_depth_of(const uint8_t *p, size_t n, size_t *where)
{
    long depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                max = depth;
                *where = i;
            }
        } else if (c == ']' || c == '}') {
            if (--depth < 0) {
                *where = i;
                return -1;
            }
        }
    }
    return max;
}

json_t *
rbac__json_load(const uint8_t *p, size_t n, unsigned max_depth, char *why, size_t why_len)
{
    size_t where = 0;
    long d = max_depth_of(p, n, &where);
    if (d < 0) {
        snprintf(why, why_len, "unbalanced brackets at offset %zu", where);
        return NULL;
    }
    if ((unsigned long)d > max_depth) {
        snprintf(why, why_len, "nesting deeper than %u at offset %zu", max_depth, where);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        /* je.text may quote a fragment of the input: report only its position */
        snprintf(why, why_len, "invalid JSON at offset %d", je.position);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, why_len, "top level is not a JSON object");
        return NULL;
    }
    return j;
}

/* Decode one UTF-8 sequence; returns its length or 0 when invalid. */
static size_t
utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

bool
rbac__text_ok(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t l = utf8_next(p + i, len - i, &cp);
        if (l == 0)
            return false;
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return false; /* C0, DEL, C1 */
        if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
            (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff || cp == 0x2028 || cp == 0x2029)
            return false; /* zero-width, bidi marks/overrides/isolates, BOM, separators */
        i += l;
    }
    return true;
}
