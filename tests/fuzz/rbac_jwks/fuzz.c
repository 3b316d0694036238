/*
 * rbac_jwks: fuzzes rbac_jwks_parse (JWKS documents from an identity
 * provider) and rbac_oidc_discovery_parse. Every key kept must be findable by
 * its kid and carry a signature length consistent with its type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rbac_keyset *ks = NULL;
    if (rbac_jwks_parse(data, size, NULL, &ks, NULL) == ST_OK) {
        size_t n = rbac_keyset_n_keys(ks);
        if (n == 0 || n > RBAC_JWKS_MAX_KEYS)
            abort();
        for (size_t i = 0; i < n; i++) {
            const struct rbac__key *k = &ks->keys[i];
            if (k->kid && rbac__keyset_find(ks, k->kid, k->kid_len) != k)
                abort();
            if (k->kty == RBAC__KTY_EC ? k->sig_len != 64 && k->sig_len != 96
                                       : k->sig_len < 256 || k->sig_len > 1024)
                abort();
            if (k->algs == 0)
                abort();
        }
        for (size_t i = 0; i < rbac_keyset_n_skipped(ks); i++)
            (void)rbac_keyset_skipped(ks, i, NULL);
        rbac_keyset_unref(ks);
    } else if (ks) {
        abort();
    }
    char *uri = NULL;
    if (rbac_oidc_discovery_parse(data, size, "https://idp.example.com/realms/x", &uri, NULL) ==
        ST_OK) {
        if (!uri || strncmp(uri, "https://", 8) != 0)
            abort();
        free(uri);
    } else if (uri) {
        abort();
    }
    return 0;
}
