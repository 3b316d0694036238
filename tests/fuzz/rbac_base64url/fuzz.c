/*
 * rbac_base64url: fuzzes the strict base64 decoders. Canonicality is the
 * property: whatever decodes must re-encode to exactly the input, so no two
 * texts ever decode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    uint8_t *out = malloc(size + 1);
    char *re = malloc(size + 8);
    size_t n;
    if (rbac__b64url_decode(data, size, out, size + 1, &n) == 0) {
        if (n != rbac__b64url_decoded_len(size))
            abort();
        size_t l = rbac__b64url_encode(out, n, re);
        if (l != size || memcmp(re, data, size) != 0)
            abort();
    }
    if (rbac__b64std_decode(data, size, out, size + 1, &n) == 0) {
        size_t l = rbac__b64std_encode(out, n, re);
        if (l != size || memcmp(re, data, size) != 0)
            abort();
    }
    free(out);
    free(re);
    return 0;
}
