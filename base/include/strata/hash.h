/*
 * hash.h: a fast non-cryptographic 64-bit hash for hash tables (series keys,
 * group keys, dictionaries). Not for anything an attacker must not predict
 * collisions of: tables keyed by untrusted strings use a per-process random
 * seed (st_hash_seed()).
 */
#ifndef STRATA_HASH_H
#define STRATA_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
st_mix64(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Finalizer for integer keys. */
static inline uint64_t
st_hash_u64(uint64_t x)
{
    return st_mix64(x ^ 0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull);
}

uint64_t st_hash(const void *p, size_t n, uint64_t seed);

/* A random seed drawn once per process. */
uint64_t st_hash_seed(void);

/* Fill buf with n bytes from the OS CSPRNG (getrandom). Returns 0 or -1. */
int st_random_bytes(void *buf, size_t n);

#endif
