/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum on every WAL record and every
 * stored block. Uses the SSE4.2 instruction when the CPU has it.
 */
#ifndef STRATA_CRC32C_H
#define STRATA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) over n bytes. */
uint32_t st_crc32c(uint32_t crc, const void *data, size_t n);

#endif
