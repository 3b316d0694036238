/*
 * fuzz_chunk.c: the readers of storage files on arbitrary bytes: a chunk
 * image (header, footer, index, every column block decoded), and, by their
 * magic, a manifest or a catalog file. Checksums stop most mutations early,
 * so two more entry points take the bytes behind them directly: "I" + a
 * chunk index, "B" + type + row count (u16 LE) + one column block. Files may
 * be encrypted: the policy accepts both modes with a fixed test key (32
 * bytes of 0x42), the key of the corpus's enc-* seeds. None may crash, hang
 * or read out of bounds; damage must come back as an error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stor_int.h"
#include "strata/catalog_store.h"
#include "strata/engine.h"

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
    struct st_error err;
    if (size >= 8 && memcmp(data, "STRTMAN1", 8) == 0) {
        uint64_t pseq, next;
        struct chunk_meta *cm = NULL;
        struct stor_tomb **tb = NULL;
        struct man_qrec *qr = NULL;
        uint32_t nc = 0, nt = 0, nq = 0;
        stor__manifest_decode_file(policy(), "manifest", data, size, &pseq, &next, &cm, &nc, &tb,
                                   &nt, &qr, &nq, &err);
        free(cm);
        free(qr);
        for (uint32_t i = 0; i < nt; i++)
            stor__tomb_unref(tb[i]);
        free(tb);
        return 0;
    }
    if (size >= 8 && memcmp(data, "STRTENV1", 8) == 0) {
        /* a sealed file of another module (eng_file_seal), kind "policy" */
        static struct eng_keyring *kr;
        if (!kr) {
            kr = eng_keyring_new();
            eng_keyring_add_hex(kr, "42424242424242424242424242424242"
                                    "42424242424242424242424242424242",
                                64, true, NULL);
        }
        uint8_t *body = NULL;
        size_t n = 0;
        if (eng_file_unseal(kr, false, "policy", "sealed", data, size, &body, &n, NULL, &err) ==
            ST_OK)
            free(body);
        return 0;
    }
    if (size >= 8 && memcmp(data, "STRTCAT1", 8) == 0) {
        struct cat_snapshot *s = NULL;
        if (cat_decode_file(policy(), "catalog", data, size, NULL, &s, &err) == ST_OK)
            cat_snapshot_unref(s);
        return 0;
    }
    if (size >= 1 && data[0] == 'I') {
        stor__chunk_check_index(data + 1, size - 1, &err);
        return 0;
    }
    if (size >= 4 && data[0] == 'B') {
        uint8_t type = data[1] % 7;
        uint32_t n = (uint32_t)(data[2] | data[3] << 8) % (STOR_GROUP_ROWS + 1);
        uint64_t *v = malloc(((size_t)n + 1) * 8);
        uint8_t *valid = malloc((size_t)n + 1);
        uint32_t *slen = malloc(((size_t)n + 1) * 4);
        struct st_buf sd;
        st_buf_init(&sd, (size_t)64 << 20);
        if (v && valid && slen)
            stor__dec_block(data + 4, size - 4, type, n, v, valid, slen, &sd, &err);
        free(v);
        free(valid);
        free(slen);
        st_buf_cleanup(&sd);
        return 0;
    }
    stor__chunk_check_image(data, size, policy(), &err);
    return 0;
}
