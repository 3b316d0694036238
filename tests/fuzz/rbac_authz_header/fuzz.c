/*
 * rbac_authz_header: fuzzes rbac_authz_parse. The input is split on 0x00
 * bytes into up to four values; the first byte picks the transport and how
 * many values are headers versus `p=` parameters. Checks the parser's
 * promises: a credential points into the input or into the Basic buffer, is
 * within the size cap, and contains only credential characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    struct rbac_bytes v[4];
    size_t n = 0, start = 1;
    for (size_t i = 1; i <= size && n < 4; i++)
        if (i == size || data[i] == 0) {
            v[n].ptr = data + start;
            v[n].len = i - start;
            n++;
            start = i + 1;
        }
    size_t n_hdr = (ctl >> 2) & 3;
    if (n_hdr > n)
        n_hdr = n;
    struct rbac_authz_input in = {.transport = (enum rbac_transport)(ctl % 3),
                                  .schemes = (ctl & 0x80) ? RBAC_SCHEME_BEARER : 0,
                                  .values = v, .n_values = n_hdr, .p_params = v + n_hdr,
                                  .n_p_params = n - n_hdr, .scheme_exact = (ctl & 0x40) != 0};
    struct rbac_credential *c = malloc(sizeof *c);
    enum rbac_authz_reason why;
    if (rbac_authz_parse(&in, c, &why, NULL) == ST_OK) {
        bool inside = (c->ptr >= data && c->ptr + c->len <= data + size) ||
                       (c->ptr >= c->buf && c->ptr + c->len <= c->buf + sizeof c->buf);
        if (!inside || c->len == 0 || c->len > RBAC_CRED_MAX || c->kind == RBAC_CRED_NONE)
            abort();
        /* printable non-space ASCII only; JWTs are base64url and dots only */
        for (size_t i = 0; i < c->len; i++) {
            uint8_t ch = c->ptr[i];
            if (ch <= 0x20 || ch >= 0x7f)
                abort();
            if (c->kind == RBAC_CRED_JWT &&
                !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
                abort();
        }
    } else if (why == RBAC_AUTHZ_OK) {
        abort();
    }
    rbac_credential_wipe(c);
    free(c);
    return 0;
}
