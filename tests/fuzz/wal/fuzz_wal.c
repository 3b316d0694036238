/*
 * fuzz_wal.c: the WAL reader on arbitrary segment images: the segment
 * header, record framing and checksums (wal_scan_segment), and every record
 * that passes them through the engine's record decoder (stor_record_check).
 * Encrypted segments too: the policy accepts both modes and holds a fixed
 * test key (32 bytes of 0x42), the key of the corpus's enc-* seeds, so
 * mutations of their headers, key slots, frames and sealed payloads are
 * explored. Neither may crash, hang or read out of bounds on any input.
 */
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "strata/crypt.h"
#include "strata/stor_engine.h"
#include "strata/wal.h"

static enum st_code
check_record(void *ctx, uint64_t seq, const uint8_t *rec, size_t len, struct st_error *err)
{
    (void)ctx;
    (void)seq;
    (void)err;
    struct st_error e2;
    stor_record_check(rec, len, &e2);
    return ST_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct crypt_policy *
policy(void)
{
    static struct crypt_policy pol;
    if (!pol.keys) {
        uint8_t k[CRYPT_KEY_LEN];
        memset(k, 0x42, sizeof k);
        pol.keys = crypt_keyring_new();
        crypt_keyring_add(pol.keys, k, true, NULL);
        pol.accept_plain = pol.accept_encrypted = true;
    }
    return &pol;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wal_scan_result res;
    struct st_error err;
    wal_scan_segment(data, size, 1u << 20, policy(), check_record, NULL, &res, &err);
    /* the bytes as one record body as well */
    stor_record_check(data, size, &err);
    return 0;
}
