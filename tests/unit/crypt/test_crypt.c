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

TEST(keyrings_copy_merge_and_describe)
{
    struct crypt_keyring *a = ring_with(1), *b = ring_with(2);
    struct st_error e;
    char k1[17], k2[17], desc[256];
    crypt_keyring_current_id(a, k1);
    crypt_keyring_current_id(b, k2);
    struct crypt_keyring *c = crypt_keyring_copy(a);
    ASSERT_EQ_INT(crypt_keyring_count(c), 1);
    ASSERT_OK_E(crypt_keyring_merge(c, b, true, &e), &e);
    ASSERT_EQ_INT(crypt_keyring_count(c), 2);
    char cur[17];
    ASSERT_TRUE(crypt_keyring_current_id(c, cur));
    ASSERT_EQ_STR(cur, k2);
    crypt_keyring_describe(c, desc, sizeof desc);
    ASSERT_CONTAINS(desc, k1);
    ASSERT_CONTAINS(desc, k2);
    ASSERT_CONTAINS(desc, "(current)");
    /* merging again changes nothing; without make_current the current stays */
    ASSERT_OK(crypt_keyring_merge(c, a, false, &e));
    ASSERT_EQ_INT(crypt_keyring_count(c), 2);
    crypt_keyring_current_id(c, cur);
    ASSERT_EQ_STR(cur, k2);
    crypt_keyring_describe(NULL, desc, sizeof desc);
    ASSERT_EQ_STR(desc, "none");
    crypt_keyring_free(a);
    crypt_keyring_free(b);
    crypt_keyring_free(c);
}

TEST(key_slots_open_rotate_in_place_and_survive_a_torn_slot)
{
    struct crypt_keyring *old = ring_with(1), *nw = ring_with(2), *both = ring_with(1);
    struct st_error e;
    ASSERT_OK(crypt_keyring_merge(both, nw, true, &e));
    uint8_t file[16 + CRYPT_SLOTS_LEN + 32];
    memset(file, 0xAB, sizeof file);
    struct crypt_file f, g;
    ASSERT_OK_E(crypt_slots_new(old, "chunk", &f, file + 16, &e), &e);
    uint8_t ct[16 + 16];
    ASSERT_OK(crypt_seal(&f, "chunk", 5, (const uint8_t *)"sixteen bytes!!!", 16, ct, &e));
    char kids[2][17];
    ASSERT_EQ_INT(crypt_slots_kids(file + 16, kids), 1);
    ASSERT_TRUE(crypt_slots_current(old, file + 16));
    ASSERT_FALSE(crypt_slots_current(both, file + 16));
    /* the new key alone: a configuration problem naming the expected key */
    ASSERT_CODE(crypt_slots_open(nw, "chunk", file + 16, &g, &e), ST_ECRYPTO);
    ASSERT_CONTAINS(e.msg, kids[0]);
    ASSERT_CONTAINS(e.msg, "configured:");
    /* rotation in place through a file */
    const char *p = th_path("f.bin");
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ_INT(write(fd, file, sizeof file), (int)sizeof file);
    bool changed;
    ASSERT_OK_E(crypt_slots_rotate_fd(both, "chunk", fd, p, 16, &changed, &e), &e);
    ASSERT_TRUE(changed);
    ASSERT_OK_E(crypt_slots_rotate_fd(both, "chunk", fd, p, 16, &changed, &e), &e);
    ASSERT_FALSE(changed);
    uint8_t back[sizeof file];
    ASSERT_EQ_INT(pread(fd, back, sizeof back, 0), (int)sizeof back);
    /* nothing outside the key area moved */
    ASSERT_TRUE(memcmp(back, file, 16) == 0);
    ASSERT_TRUE(memcmp(back + 16 + CRYPT_SLOTS_LEN, file + 16 + CRYPT_SLOTS_LEN, 32) == 0);
    ASSERT_TRUE(crypt_slots_current(nw, back + 16));
    ASSERT_CODE(crypt_slots_open(old, "chunk", back + 16, &g, &e), ST_ECRYPTO);
    ASSERT_OK_E(crypt_slots_open(nw, "chunk", back + 16, &g, &e), &e);
    uint8_t pt[16];
    ASSERT_OK(crypt_open(&g, "chunk", 5, ct, 16, pt, &e));
    ASSERT_TRUE(memcmp(pt, "sixteen bytes!!!", 16) == 0);
    /* a rotation interrupted after the new slot was written: both slots hold
     * a key; a torn new slot is ignored while the old one still opens */
    uint8_t mid[CRYPT_SLOTS_LEN];
    memcpy(mid, file + 16, CRYPT_SLOTS_LEN);
    memcpy(mid + CRYPT_FILE_KEY_LEN, back + 16 + CRYPT_FILE_KEY_LEN, CRYPT_FILE_KEY_LEN);
    ASSERT_EQ_INT(crypt_slots_kids(mid, kids), 2);
    ASSERT_OK(crypt_slots_open(old, "chunk", mid, &g, &e));
    ASSERT_OK(crypt_slots_open(nw, "chunk", mid, &g, &e));
    mid[CRYPT_FILE_KEY_LEN + 40] ^= 1; /* torn new slot */
    ASSERT_OK(crypt_slots_open(both, "chunk", mid, &g, &e));
    ASSERT_CODE(crypt_slots_open(nw, "chunk", mid, &g, &e), ST_ECORRUPT);
    /* finishing it from there */
    ASSERT_EQ_INT(pwrite(fd, mid, sizeof mid, 16), (int)sizeof mid);
    ASSERT_OK_E(crypt_slots_rotate_fd(both, "chunk", fd, p, 16, &changed, &e), &e);
    ASSERT_TRUE(changed);
    ASSERT_EQ_INT(pread(fd, back, sizeof back, 0), (int)sizeof back);
    ASSERT_OK(crypt_slots_open(nw, "chunk", back + 16, &g, &e));
    ASSERT_EQ_INT(crypt_slots_kids(back + 16, kids), 1);
    /* an empty key area */
    memset(mid, 0, sizeof mid);
    ASSERT_CODE(crypt_slots_open(both, "chunk", mid, &g, &e), ST_ECORRUPT);
    close(fd);
    crypt_file_cleanup(&f);
    crypt_file_cleanup(&g);
    crypt_keyring_free(old);
    crypt_keyring_free(nw);
    crypt_keyring_free(both);
}

TEST(envelopes_round_trip_and_detect_every_flip)
{
    struct crypt_keyring *kr = ring_with(3);
    struct crypt_policy enc = {kr, true, false, true}, plain = {NULL, false, true, false};
    struct st_error e;
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    const char *body = "the body of a small file";
    ASSERT_OK_E(crypt_envelope_build(&enc, "catalog", "STRTCAT1", 1, 0, (const uint8_t *)body,
                                     strlen(body), &b, &e),
                &e);
    ASSERT_TRUE(memmem(b.data, b.len, "body", 4) == NULL);
    const uint8_t *out;
    size_t ol;
    uint16_t ver, fl;
    uint8_t *owned;
    ASSERT_OK_E(crypt_envelope_open(&enc, "catalog", "c", "STRTCAT1", 1, 0, b.data, b.len, &ver,
                                    &fl, &out, &ol, &owned, &e),
                &e);
    ASSERT_EQ_INT(ol, strlen(body));
    ASSERT_TRUE(memcmp(out, body, ol) == 0);
    free(owned);
    /* every bit outside the second (empty) key slot */
    for (size_t bit = 0; bit < b.len * 8; bit++) {
        size_t at = bit / 8;
        if (at >= 16 + CRYPT_FILE_KEY_LEN && at < 16 + CRYPT_SLOTS_LEN)
            continue;
        b.data[at] ^= (uint8_t)(1u << (bit % 8));
        enum st_code rc = crypt_envelope_open(&enc, "catalog", "c", "STRTCAT1", 1, 0, b.data,
                                              b.len, &ver, &fl, &out, &ol, &owned, &e);
        ASSERT_TRUE(rc == ST_ECORRUPT || rc == ST_ECRYPTO);
        b.data[at] ^= (uint8_t)(1u << (bit % 8));
    }
    /* the policy decides which modes open */
    ASSERT_CODE(crypt_envelope_open(&plain, "catalog", "c", "STRTCAT1", 1, 0, b.data, b.len, &ver,
                                    &fl, &out, &ol, &owned, &e),
                ST_ECRYPTO);
    ASSERT_CONTAINS(e.msg, "encrypted");
    ASSERT_OK(crypt_envelope_build(&plain, "catalog", "STRTCAT1", 1, 0, (const uint8_t *)body,
                                   strlen(body), &b, &e));
    ASSERT_CODE(crypt_envelope_open(&enc, "catalog", "c", "STRTCAT1", 1, 0, b.data, b.len, &ver,
                                    &fl, &out, &ol, &owned, &e),
                ST_ECRYPTO);
    ASSERT_CONTAINS(e.msg, "not encrypted");
    st_buf_cleanup(&b);
    crypt_keyring_free(kr);
}
