/*
 * test_crypt.c: master keys, key files, file-key wrapping and rotation,
 * block sealing, and that every kind of tampering is detected.
 */
#include "th.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/crypt.h"

static void
fill_key(uint8_t k[CRYPT_KEY_LEN], uint8_t v)
{
    for (int i = 0; i < CRYPT_KEY_LEN; i++)
        k[i] = (uint8_t)(v + i);
}

static struct crypt_keyring *
ring_with(uint8_t v)
{
    uint8_t k[CRYPT_KEY_LEN];
    struct crypt_keyring *kr = crypt_keyring_new();
    fill_key(k, v);
    ASSERT_OK(crypt_keyring_add(kr, k, true, NULL));
    return kr;
}

TEST(hex_key_parsing)
{
    uint8_t k[CRYPT_KEY_LEN];
    struct st_error e;
    char hex[80];
    for (int i = 0; i < 64; i++)
        hex[i] = "0123456789abcdef"[i % 16];
    hex[64] = '\n';
    hex[65] = '\0';
    ASSERT_OK(crypt_key_parse_hex(hex, 65, k, &e));
    ASSERT_EQ_INT(k[0], 0x01);
    ASSERT_EQ_INT(k[31], 0xef);
    ASSERT_CODE(crypt_key_parse_hex(hex, 63, k, &e), ST_EINVAL);
    ASSERT_CONTAINS(e.msg, "64 hexadecimal characters");
    hex[5] = 'g';
    ASSERT_CODE(crypt_key_parse_hex(hex, 64, k, &e), ST_EINVAL);
    ASSERT_CONTAINS(e.msg, "not hexadecimal");
}

TEST(key_file_generate_load_and_permissions)
{
    uint8_t k1[CRYPT_KEY_LEN], k2[CRYPT_KEY_LEN];
    struct st_error e;
    const char *p = th_path("master.key");
    ASSERT_OK_E(crypt_key_generate_file(p, k1, &e), &e);
    struct stat st;
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT_OK_E(crypt_key_load_file(p, k2, &e), &e);
    ASSERT_TRUE(memcmp(k1, k2, CRYPT_KEY_LEN) == 0);
    /* never overwrite an existing key */
    ASSERT_CODE(crypt_key_generate_file(p, k2, &e), ST_EIO);
    chmod(p, 0644);
    ASSERT_CODE(crypt_key_load_file(p, k2, &e), ST_EPERMISSION);
    ASSERT_CONTAINS(e.msg, "chmod 600");
    ASSERT_CODE(crypt_key_load_file(th_path("nope"), k2, &e), ST_ENOTFOUND);
}

TEST(seal_open_round_trip)
{
    struct crypt_keyring *kr = ring_with(1);
    struct crypt_file f, g;
    uint8_t rec[CRYPT_FILE_KEY_LEN];
    struct st_error e;
    const char *msg = "cpu,host=a usage=1 1";
    size_t n = strlen(msg);
    uint8_t ct[64], pt[64];

    ASSERT_OK_E(crypt_file_new(kr, "wal", &f, rec, &e), &e);
    ASSERT_OK_E(crypt_seal(&f, "wal", 7, (const uint8_t *)msg, n, ct, &e), &e);
    ASSERT_TRUE(memcmp(ct, msg, n) != 0);
    ASSERT_OK_E(crypt_file_open(kr, "wal", rec, &g, &e), &e);
    ASSERT_OK_E(crypt_open(&g, "wal", 7, ct, n, pt, &e), &e);
    ASSERT_TRUE(memcmp(pt, msg, n) == 0);
    /* empty block */
    ASSERT_OK(crypt_seal(&f, "wal", 8, NULL, 0, ct, &e));
    ASSERT_OK(crypt_open(&g, "wal", 8, ct, 0, pt, &e));
    crypt_file_cleanup(&f);
    crypt_file_cleanup(&g);
    crypt_keyring_free(kr);
}

TEST(every_flipped_bit_is_detected)
{
    struct crypt_keyring *kr = ring_with(1);
    struct crypt_file f;
    uint8_t rec[CRYPT_FILE_KEY_LEN], ct[48], pt[32];
    struct st_error e;
    uint8_t msg[32];
    memset(msg, 'x', sizeof msg);
    ASSERT_OK(crypt_file_new(kr, "chunk", &f, rec, &e));
    ASSERT_OK(crypt_seal(&f, "chunk", 3, msg, 32, ct, &e));
    for (int bit = 0; bit < 48 * 8; bit++) {
        ct[bit / 8] ^= (uint8_t)(1 << (bit % 8));
        ASSERT_CODE(crypt_open(&f, "chunk", 3, ct, 32, pt, &e), ST_ECRYPTO);
        ct[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    }
    ASSERT_CONTAINS(e.msg, "block 3 failed its authentication check");
    /* wrong block number or file kind: moved blocks are detected */
    ASSERT_CODE(crypt_open(&f, "chunk", 4, ct, 32, pt, &e), ST_ECRYPTO);
    ASSERT_CODE(crypt_open(&f, "wal", 3, ct, 32, pt, &e), ST_ECRYPTO);
    ASSERT_OK(crypt_open(&f, "chunk", 3, ct, 32, pt, &e));
    /* a flipped bit in the key record */
    for (int i = 0; i < CRYPT_FILE_KEY_LEN; i++) {
        struct crypt_file g;
        rec[i] ^= 0x10;
        ASSERT_CODE(crypt_file_open(kr, "chunk", rec, &g, &e), ST_ECRYPTO);
        rec[i] ^= 0x10;
    }
    crypt_keyring_free(kr);
}

TEST(wrong_key_fails_with_a_clear_message)
{
    struct crypt_keyring *kr = ring_with(1), *other = ring_with(2);
    struct crypt_file f, g;
    uint8_t rec[CRYPT_FILE_KEY_LEN];
    struct st_error e;
    char kid[17];
    ASSERT_OK(crypt_file_new(kr, "wal", &f, rec, &e));
    ASSERT_CODE(crypt_file_open(other, "wal", rec, &g, &e), ST_ECRYPTO);
    ASSERT_TRUE(crypt_keyring_current_id(kr, kid));
    ASSERT_CONTAINS(e.msg, kid);
    ASSERT_CONTAINS(e.msg, "not configured");
    /* same id but different material cannot happen by accident; a forged
     * record with a known kid and garbage fails verification */
    memset(rec + 24, 0, 32);
    ASSERT_CODE(crypt_file_open(kr, "wal", rec, &g, &e), ST_ECRYPTO);
    crypt_keyring_free(kr);
    crypt_keyring_free(other);
}

TEST(rotation_rewraps_without_touching_data)
{
    uint8_t k1[CRYPT_KEY_LEN], k2[CRYPT_KEY_LEN];
    struct crypt_keyring *old = crypt_keyring_new(), *both = crypt_keyring_new(),
                         *newonly = crypt_keyring_new();
    struct crypt_file f, g;
    uint8_t rec[CRYPT_FILE_KEY_LEN], ct[20], pt[4];
    struct st_error e;
    bool changed;

    fill_key(k1, 1);
    fill_key(k2, 100);
    ASSERT_OK(crypt_keyring_add(old, k1, true, &e));
    ASSERT_OK(crypt_keyring_add(both, k1, false, &e));
    ASSERT_OK(crypt_keyring_add(both, k2, true, &e));
    ASSERT_OK(crypt_keyring_add(newonly, k2, true, &e));

    ASSERT_OK(crypt_file_new(old, "chunk", &f, rec, &e));
    ASSERT_OK(crypt_seal(&f, "chunk", 0, (const uint8_t *)"data", 4, ct, &e));
    ASSERT_CODE(crypt_file_open(newonly, "chunk", rec, &g, &e), ST_ECRYPTO);
    ASSERT_OK_E(crypt_file_rewrap(both, "chunk", rec, &changed, &e), &e);
    ASSERT_TRUE(changed);
    ASSERT_OK_E(crypt_file_rewrap(both, "chunk", rec, &changed, &e), &e);
    ASSERT_FALSE(changed);
    /* the old key can now be retired */
    ASSERT_OK_E(crypt_file_open(newonly, "chunk", rec, &g, &e), &e);
    ASSERT_OK(crypt_open(&g, "chunk", 0, ct, 4, pt, &e));
    ASSERT_TRUE(memcmp(pt, "data", 4) == 0);
    crypt_keyring_free(old);
    crypt_keyring_free(both);
    crypt_keyring_free(newonly);
}

TEST(empty_keyring_refuses)
{
    struct crypt_keyring *kr = crypt_keyring_new();
    struct crypt_file f;
    uint8_t rec[CRYPT_FILE_KEY_LEN];
    struct st_error e;
    ASSERT_CODE(crypt_file_new(kr, "wal", &f, rec, &e), ST_ECRYPTO);
    ASSERT_CONTAINS(e.msg, "no master key");
    crypt_keyring_free(kr);
}
