/*
 * hash.c: a multiply-mix string hash (8 bytes per step, 128-bit product
 * folded) and the OS random source.
 */
#include "strata/hash.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static inline uint64_t
rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

uint64_t
st_hash(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    const uint64_t k0 = 0xA0761D6478BD642Full, k1 = 0xE7037ED1A0B428DBull,
                   k2 = 0x8EBC6AF09C88C6E3ull;
    uint64_t h = seed ^ st_mix64(seed ^ k0, k1) ^ (uint64_t)n;
    size_t i = n;

    while (i >= 16) {
        h = st_mix64(rd64(p) ^ k1, rd64(p + 8) ^ h);
        p += 16;
        i -= 16;
    }
    uint64_t a = 0, b = 0;
    if (i >= 8) {
        a = rd64(p);
        b = rd64(p + i - 8);
    } else if (i >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + i - 4, 4);
        a = x;
        b = y;
    } else if (i > 0) {
        a = ((uint64_t)p[0] << 16) | ((uint64_t)p[i >> 1] << 8) | p[i - 1];
    }
    h = st_mix64(a ^ k2, b ^ h);
    return st_mix64(h ^ k0, (uint64_t)n ^ k1);
}

int
st_random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static uint64_t seed_value;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void
seed_init(void)
{
    if (st_random_bytes(&seed_value, sizeof seed_value) != 0)
        seed_value = 0x5EED5EED5EED5EEDull;
}

uint64_t
st_hash_seed(void)
{
    pthread_once(&seed_once, seed_init);
    return seed_value;
}
