/*
 * test_crypto.c: the digests and HMACs of rbac_crypto.c against published vectors
 * (FIPS 180-2 "abc", RFC 4231 test cases 1, 2 and 6 — a key longer than the block —
 * and the empty key), from several threads at once, since the prefetched algorithms
 * and HMAC prototypes are shared by every request.
 */
#include "tu.h"

#include <pthread.h>
#include <stdio.h>

static void
hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

#define ASSERT_HEX(bytes, n, want)                                                             \
    do {                                                                                       \
        char h_[2 * 64 + 1];                                                                   \
        hex((bytes), (n), h_);                                                                 \
        ASSERT_EQ_STR(h_, (want));                                                             \
    } while (0)

TEST(sha256_and_sha512_match_fips_180_vectors)
{
    uint8_t d[64];
    rbac__sha256("abc", 3, d);
    ASSERT_HEX(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ASSERT_EQ_INT(rbac__sha512("abc", 3, d), 0);
    ASSERT_HEX(d, 64, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    rbac__sha256("", 0, d);
    ASSERT_HEX(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(hmac_matches_rfc_4231_vectors)
{
    uint8_t k1[20], k6[131], d[64];
    memset(k1, 0x0b, sizeof k1);
    memset(k6, 0xaa, sizeof k6);
    ASSERT_EQ_INT(rbac__hmac_sha256(k1, sizeof k1, "Hi There", 8, d), 0);
    ASSERT_HEX(d, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    ASSERT_EQ_INT(rbac__hmac_sha512(k1, sizeof k1, "Hi There", 8, d), 0);
    ASSERT_HEX(d, 64, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                      "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
    ASSERT_EQ_INT(rbac__hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
                                    28, d),
                  0);
    ASSERT_HEX(d, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    ASSERT_EQ_INT(rbac__hmac_sha256(k6, sizeof k6, m6, strlen(m6), d), 0);
    ASSERT_HEX(d, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    ASSERT_EQ_INT(rbac__hmac_sha512(k6, sizeof k6, m6, strlen(m6), d), 0);
    ASSERT_HEX(d, 64, "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                      "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598");
    /* the empty key: HMAC-SHA256("", "") */
    ASSERT_EQ_INT(rbac__hmac_sha256(NULL, 0, "", 0, d), 0);
    ASSERT_HEX(d, 32, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void *
hammer(void *arg)
{
    uintptr_t bad = 0;
    uint8_t k[20], d[64], want[64];
    memset(k, 0x0b, sizeof k);
    memcpy(want, arg, 64);
    for (int i = 0; i < 2000; i++) {
        if (rbac__hmac_sha512(k, sizeof k, "Hi There", 8, d) != 0 || memcmp(d, want, 64) != 0)
            bad++;
    }
    return (void *)bad;
}

TEST(hmac_from_many_threads_at_once)
{
    uint8_t k[20], want[64];
    memset(k, 0x0b, sizeof k);
    ASSERT_EQ_INT(rbac__hmac_sha512(k, sizeof k, "Hi There", 8, want), 0);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        ASSERT_EQ_INT(pthread_create(&t[i], NULL, hammer, want), 0);
    for (int i = 0; i < 8; i++) {
        void *bad = NULL;
        pthread_join(t[i], &bad);
        ASSERT_EQ_INT((uintptr_t)bad, 0);
    }
}
