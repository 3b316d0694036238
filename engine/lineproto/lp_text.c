/*
 * lp_text.c: byte-level helpers of the line protocol parser: the byte class
 * table the scanners in lp_parse.c stop on, strict UTF-8 validation, and the
 * quoting of user text into error messages (so a message is always printable
 * ASCII, whatever the input held).
 */
#include <stdbool.h>
#include <string.h>

#include "lp_int.h"

#define LP_CLS(c)                                                                                  \
    ((c) < 0x20 || (c) == 0x7f ? LP_C_CTRL                                                         \
     : (c) >= 0x80             ? LP_C_HIGH                                                         \
     : (c) == ','              ? LP_C_COMMA                                                        \
     : (c) == ' '              ? LP_C_SPACE                                                        \
     : (c) == '='              ? LP_C_EQ                                                           \
     : (c) == '\\'             ? LP_C_BSL                                                          \
     : (c) == '"'              ? LP_C_QUOTE                                                        \
                               : 0)
#define LP_CLS4(b) LP_CLS(b), LP_CLS((b) + 1), LP_CLS((b) + 2), LP_CLS((b) + 3)
#define LP_CLS16(b) LP_CLS4(b), LP_CLS4((b) + 4), LP_CLS4((b) + 8), LP_CLS4((b) + 12)
#define LP_CLS64(b) LP_CLS16(b), LP_CLS16((b) + 16), LP_CLS16((b) + 32), LP_CLS16((b) + 48)

const uint8_t lp__cls[256] = {LP_CLS64(0), LP_CLS64(64), LP_CLS64(128), LP_CLS64(192)};

int
lp__utf8_len(const unsigned char *s, const unsigned char *end)
{
    unsigned c = s[0];
    int n;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0xc2) {
        return 0; /* continuation byte, or overlong 2-byte lead (C0, C1) */
    } else if (c < 0xe0) {
        n = 2;
    } else if (c < 0xf0) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c < 0xf5) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (end - s < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

void
lp__quote(char *dst, size_t dst_cap, const char *s, size_t len, size_t max_out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    if (max_out + 4 > dst_cap)
        max_out = dst_cap > 4 ? dst_cap - 4 : 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
        size_t rep = plain ? 1 : (c == '\\' || c == '"') ? 2 : 4;
        if (o + rep > max_out)
            break;
        if (plain) {
            dst[o++] = (char)c;
        } else if (rep == 2) {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (i < len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}
