/*
 * tsbs_int.h: internals shared by the TSBS generator's files: the PRNG.
 *
 * splitmix64 turns a seed (and a stream number) into well-mixed state;
 * xoshiro256** is the generator. Both are defined by their published
 * recurrences and use only 64-bit integer arithmetic, so every machine
 * produces the same sequence.
 */
#ifndef TSBS_INT_H
#define TSBS_INT_H

#include <stdint.h>

struct tsbs__rng {
    uint64_t s[4];
};

static inline uint64_t
tsbs__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Seed a stream from (seed, a, b): distinct (a, b) give independent streams. */
static inline void
tsbs__rng_seed(struct tsbs__rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed;
    x ^= tsbs__splitmix64(&(uint64_t){a * UINT64_C(0xd1b54a32d192ed03) + 1});
    x ^= tsbs__splitmix64(&(uint64_t){b * UINT64_C(0x8cb92ba72f3d8dd7) + 7});
    for (int i = 0; i < 4; i++)
        r->s[i] = tsbs__splitmix64(&x);
}

static inline uint64_t
tsbs__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t
tsbs__rng_next(struct tsbs__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = tsbs__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = tsbs__rotl(s[3], 45);
    return result;
}

/* Uniform integer in [0, n), n <= 2^32 (multiply-shift on the high 32 bits). */
static inline uint64_t
tsbs__rng_below(struct tsbs__rng *r, uint64_t n)
{
    return ((tsbs__rng_next(r) >> 32) * n) >> 32;
}

/* Uniform integer in [0, n) for any n > 0 (128-bit multiply-shift). */
static inline uint64_t
tsbs__rng_below64(struct tsbs__rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)tsbs__rng_next(r) * n) >> 64);
}

#endif
