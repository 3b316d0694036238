/*
 * wal_format.c: the WAL segment format, and its checking parser.
 *
 * A segment is `<data_dir>/wal/<first_seq as 16 hex digits>.wal`:
 *
 *   header (32 bytes)
 *     0   8  magic "STRTWAL1"
 *     8   2  format version, u16 LE (1)
 *     10  2  flags, u16 LE (0; bit 0 reserved: envelope-encrypted body)
 *     12  4  header length, u32 LE (32)
 *     16  8  first_seq, u64 LE: sequence number of the first record
 *     24  4  reserved (0)
 *     28  4  CRC-32C of bytes 0..27, u32 LE
 *   records, back to back, each:
 *     0   4  payload length L, u32 LE (1 .. max_record_len)
 *     4   4  CRC-32C, u32 LE, over bytes 0..3 then bytes 8..16+L
 *     8   8  sequence number, u64 LE
 *     16  L  payload (opaque to the WAL: the engine's record)
 *
 * Inside a segment sequence numbers go up by exactly one from first_seq.
 * A later segment starts above the last record of the one before (a gap is
 * allowed: numbers burned by a failed flush are never reused).
 *
 * Torn tail: the first record that is incomplete, has a bad length, a bad
 * CRC or an unexpected sequence number ends the valid part. If a valid
 * record with a higher sequence number appears later in the same segment,
 * the damage is in the middle (bit rot, not a crash) and the segment is
 * reported corrupt; otherwise it is a torn tail that recovery cuts.
 */
#include <stdio.h>
#include <string.h>

#include "strata/buf.h"
#include "strata/crc32c.h"
#include "strata/wal.h"

#define WAL_MAGIC "STRTWAL1"
#define WAL_VERSION 1

void
wal_header_encode(uint8_t out[WAL_HEADER_LEN], uint64_t first_seq)
{
    memset(out, 0, WAL_HEADER_LEN);
    memcpy(out, WAL_MAGIC, 8);
    out[8] = WAL_VERSION;
    st_store_u32le(out + 12, WAL_HEADER_LEN);
    st_store_u64le(out + 16, first_seq);
    st_store_u32le(out + 28, st_crc32c(0, out, 28));
}

static uint32_t
record_crc(const uint8_t *hdr, const void *payload, uint32_t len)
{
    uint32_t c = st_crc32c(0, hdr, 4);
    c = st_crc32c(c, hdr + 8, 8);
    return st_crc32c(c, payload, len);
}

void
wal_record_frame(uint8_t hdr[WAL_RECORD_HEADER_LEN], uint64_t seq, const void *payload,
                 uint32_t len)
{
    st_store_u32le(hdr, len);
    st_store_u64le(hdr + 8, seq);
    st_store_u32le(hdr + 4, record_crc(hdr, payload, len));
}

/* Why the record at `off` is not valid, or NULL when it is. */
static const char *
record_check(const uint8_t *buf, size_t len, size_t off, uint64_t want_seq, uint32_t max_len,
             uint32_t *plen)
{
    if (len - off < WAL_RECORD_HEADER_LEN)
        return "incomplete record header";
    const uint8_t *h = buf + off;
    uint32_t l = st_load_u32le(h);
    if (l == 0 || l > max_len)
        return "bad record length";
    if (len - off - WAL_RECORD_HEADER_LEN < l)
        return "incomplete record";
    if (st_load_u32le(h + 4) != record_crc(h, h + WAL_RECORD_HEADER_LEN, l))
        return "checksum mismatch";
    if (want_seq && st_load_u64le(h + 8) != want_seq)
        return "unexpected sequence number";
    *plen = l;
    return NULL;
}

enum st_code
wal_scan_segment(const uint8_t *buf, size_t len, uint32_t max_record_len, wal_replay_fn fn,
                 void *ctx, struct wal_scan_result *res, struct st_error *err)
{
    memset(res, 0, sizeof *res);
    if (!max_record_len)
        max_record_len = 256u << 20;
    if (len < WAL_HEADER_LEN)
        return st_error_set(err, ST_ECORRUPT, "segment header is truncated (%zu bytes)", len);
    if (memcmp(buf, WAL_MAGIC, 8) != 0)
        return st_error_set(err, ST_ECORRUPT, "not a WAL segment (bad magic)");
    if (st_load_u32le(buf + 28) != st_crc32c(0, buf, 28))
        return st_error_set(err, ST_ECORRUPT, "segment header checksum mismatch");
    uint16_t ver = (uint16_t)(buf[8] | buf[9] << 8);
    uint16_t flags = (uint16_t)(buf[10] | buf[11] << 8);
    if (ver != WAL_VERSION || st_load_u32le(buf + 12) != WAL_HEADER_LEN)
        return st_error_set(err, ST_ECORRUPT, "unsupported WAL format version %u", ver);
    if (flags != 0)
        return st_error_set(err, ST_EUNSUPPORTED, "unsupported WAL segment flags 0x%x", flags);
    uint64_t first = st_load_u64le(buf + 16);
    if (first == 0 || first > UINT64_MAX / 2)
        return st_error_set(err, ST_ECORRUPT, "bad first sequence number in segment header");

    res->first_seq = first;
    res->last_seq = first - 1;
    size_t off = WAL_HEADER_LEN;
    uint64_t seq = first;
    while (off < len) {
        uint32_t l = 0;
        const char *why = record_check(buf, len, off, seq, max_record_len, &l);
        if (why) {
            res->torn = true;
            res->bad_offset = off;
            snprintf(res->reason, sizeof res->reason, "%s", why);
            /* A valid later record means damage in the middle, not a torn tail. */
            for (size_t o = off + 1; o + WAL_RECORD_HEADER_LEN <= len; o++) {
                uint64_t s2 = st_load_u64le(buf + o + 8);
                if (s2 <= seq || s2 - seq > (uint64_t)1 << 32)
                    continue;
                uint32_t l2;
                if (!record_check(buf, len, o, 0, max_record_len, &l2)) {
                    res->corrupt = true;
                    break;
                }
            }
            break;
        }
        if (fn) {
            enum st_code rc = fn(ctx, seq, buf + off + WAL_RECORD_HEADER_LEN, l, err);
            if (rc != ST_OK)
                return rc;
        }
        off += WAL_RECORD_HEADER_LEN + l;
        res->last_seq = seq;
        res->n_records++;
        seq++;
    }
    res->good_len = res->torn ? res->bad_offset : len;
    return ST_OK;
}
