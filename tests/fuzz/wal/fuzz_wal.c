/*
 * fuzz_wal.c: the WAL reader on arbitrary segment images: the segment
 * header, record framing and checksums (wal_scan_segment), and every record
 * that passes them through the engine's record decoder (stor_record_check).
 * Neither may crash, hang or read out of bounds on any input.
 */
#include <stddef.h>
#include <stdint.h>

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wal_scan_result res;
    struct st_error err;
    wal_scan_segment(data, size, 1u << 20, NULL, check_record, NULL, &res, &err);
    /* the bytes as one record body as well */
    stor_record_check(data, size, &err);
    return 0;
}
