/*
 * utf8.h: strict UTF-8 validation (no overlong forms, no surrogates, nothing
 * above U+10FFFF), with a fast path for ASCII, which is what line protocol
 * and names almost always are.
 */
#ifndef STRATA_UTF8_H
#define STRATA_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when p[0..n) is valid UTF-8; otherwise false and, when bad_at is not
 * NULL, the offset of the first byte of the first invalid sequence. */
bool st_utf8_valid(const void *p, size_t n, size_t *bad_at);

#endif
