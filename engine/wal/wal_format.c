/*
 * wal_format.c: the WAL segment format, and its checking parser.
 *
 * A segment is `<data_dir>/wal/<first_seq as 16 hex digits>.wal`:
 *
 *   header (32 bytes, then the key area when encrypted)
 *     0   8  magic "STRTWAL1"
 *     8   2  format version, u16 LE (1)
 *     10  2  flags, u16 LE (bit 0: encrypted; other bits unknown: refused)
 *     12  4  header length, u32 LE (32; encrypted: 176)
 *     16  8  first_seq, u64 LE: sequence number of the first record
 *     24  4  reserved (0)
 *     28  4  CRC-32C of bytes 0..27, u32 LE
 *     32 144 encrypted only: the key area (two key slots, strata/crypt.h):
 *            the segment's data key wrapped under a master key, with its id
 *   records, back to back, each:
 *     0   4  payload length L, u32 LE (1 .. max_record_len; encrypted: the
 *            stored length, plaintext + 16)
 *     4   4  CRC-32C, u32 LE: plaintext segments over bytes 0..3 then bytes
 *            8..16+L; encrypted segments over bytes 0..3 and 8..15 only
 *     8   8  sequence number, u64 LE
 *     16  L  payload (opaque to the WAL: the engine's record); encrypted:
 *            AES-256-GCM ciphertext then the 16-byte tag, under the
 *            segment's data key, block number = the sequence number
 *
 * Encrypted payloads rely on the GCM tag alone (no CRC covers them); the tag
 * is verified before any plaintext byte is handed on. The frame CRC keeps
 * torn-tail detection cheap and exact.
 *
 * Inside a segment sequence numbers go up by exactly one from first_seq.
 * A later segment starts above the last record of the one before (a gap is
 * allowed: numbers burned by a failed flush are never reused).
 *
 * Torn tail: the first record that is incomplete, has a bad length, a bad
 * CRC, an unexpected sequence number or (encrypted) a tag that does not
 * verify ends the valid part. If a valid record with a higher sequence
 * number appears later in the same segment, the damage is in the middle
 * (bit rot, not a crash) and the segment is reported corrupt; otherwise it
 * is a torn tail that recovery cuts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/buf.h"
#include "strata/crc32c.h"
#include "strata/crypt.h"
#include "strata/wal.h"

#define WAL_MAGIC "STRTWAL1"
#define WAL_VERSION 1
#define WAL_KIND "wal"

static void
header_encode(uint8_t out[WAL_HEADER_LEN], uint64_t first_seq, bool enc)
{
    memset(out, 0, WAL_HEADER_LEN);
    memcpy(out, WAL_MAGIC, 8);
    out[8] = WAL_VERSION;
    out[10] = enc ? 1 : 0;
    st_store_u32le(out + 12, enc ? WAL_ENC_HEADER_LEN : WAL_HEADER_LEN);
    st_store_u64le(out + 16, first_seq);
    st_store_u32le(out + 28, st_crc32c(0, out, 28));
}

void
wal_header_encode(uint8_t out[WAL_HEADER_LEN], uint64_t first_seq)
{
    header_encode(out, first_seq, false);
}

void
wal_header_encode_encrypted(uint8_t out[WAL_HEADER_LEN], uint64_t first_seq)
{
    header_encode(out, first_seq, true);
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

void
wal_record_frame_sealed(uint8_t hdr[WAL_RECORD_HEADER_LEN], uint64_t seq, uint32_t stored)
{
    st_store_u32le(hdr, stored);
    st_store_u64le(hdr + 8, seq);
    st_store_u32le(hdr + 4, record_crc(hdr, NULL, 0));
}

enum st_code
wal_header_check(const uint8_t *buf, size_t len, const struct crypt_policy *pol,
                 uint64_t *first_seq, size_t *header_len, bool *encrypted, struct st_error *err)
{
    if (len < WAL_HEADER_LEN)
        return st_error_set(err, ST_ECORRUPT, "segment header is truncated (%zu bytes)", len);
    if (memcmp(buf, WAL_MAGIC, 8) != 0)
        return st_error_set(err, ST_ECORRUPT, "not a WAL segment (bad magic)");
    if (st_load_u32le(buf + 28) != st_crc32c(0, buf, 28))
        return st_error_set(err, ST_ECORRUPT, "segment header checksum mismatch");
    uint16_t ver = (uint16_t)(buf[8] | buf[9] << 8);
    uint16_t flags = (uint16_t)(buf[10] | buf[11] << 8);
    if (ver != WAL_VERSION)
        return st_error_set(err, ST_ECORRUPT, "unsupported WAL format version %u", ver);
    if (flags & ~1u)
        return st_error_set(err, ST_EUNSUPPORTED, "unsupported WAL segment flags 0x%x", flags);
    bool enc = flags & 1u;
    uint32_t hl = st_load_u32le(buf + 12);
    if (hl != (enc ? WAL_ENC_HEADER_LEN : WAL_HEADER_LEN))
        return st_error_set(err, ST_ECORRUPT, "bad WAL segment header length %u", hl);
    uint64_t first = st_load_u64le(buf + 16);
    if (first == 0 || first > UINT64_MAX / 2)
        return st_error_set(err, ST_ECORRUPT, "bad first sequence number in segment header");
    ST_TRY(crypt_policy_check(pol, enc, "the segment", err));
    if (enc) {
        if (len < WAL_ENC_HEADER_LEN)
            return st_error_set(err, ST_ECORRUPT, "segment key area is truncated (%zu bytes)",
                                len);
        struct crypt_file f;
        enum st_code rc = crypt_slots_open(pol->keys, WAL_KIND, buf + WAL_KEYS_OFF, &f, err);
        crypt_file_cleanup(&f);
        if (rc != ST_OK)
            return rc;
    }
    *first_seq = first;
    *header_len = hl;
    *encrypted = enc;
    return ST_OK;
}

/* Scratch for opening sealed records. */
struct opener {
    const struct crypt_file *cf;
    uint8_t *buf;
    size_t cap;
};

/* Why the record at `off` is not valid, or NULL when it is. For a sealed
 * record, *plain gets its opened payload (in op->buf). */
static const char *
record_check(const uint8_t *buf, size_t len, size_t off, uint64_t want_seq, uint32_t max_len,
             struct opener *op, const uint8_t **plain, uint32_t *plen)
{
    if (len - off < WAL_RECORD_HEADER_LEN)
        return "incomplete record header";
    const uint8_t *h = buf + off;
    uint32_t l = st_load_u32le(h);
    uint32_t min = op ? WAL_TAG_LEN + 1 : 1;
    if (l < min || l > max_len + (op ? WAL_TAG_LEN : 0))
        return "bad record length";
    if (len - off - WAL_RECORD_HEADER_LEN < l)
        return "incomplete record";
    if (st_load_u32le(h + 4) != record_crc(h, h + WAL_RECORD_HEADER_LEN, op ? 0 : l))
        return "checksum mismatch";
    uint64_t seq = st_load_u64le(h + 8);
    if (want_seq && seq != want_seq)
        return "unexpected sequence number";
    if (!op) {
        *plain = h + WAL_RECORD_HEADER_LEN;
        *plen = l;
        return NULL;
    }
    uint32_t n = l - WAL_TAG_LEN;
    if (op->cap < n) {
        size_t cap = op->cap ? op->cap : 4096;
        while (cap < n)
            cap *= 2;
        uint8_t *nb = realloc(op->buf, cap);
        if (!nb)
            return "out of memory opening a record";
        op->buf = nb;
        op->cap = cap;
    }
    struct st_error e;
    if (crypt_open(op->cf, WAL_KIND, seq, h + WAL_RECORD_HEADER_LEN, n, op->buf, &e) != ST_OK)
        return "authentication tag mismatch";
    *plain = op->buf;
    *plen = n;
    return NULL;
}

enum st_code
wal_scan_segment(const uint8_t *buf, size_t len, uint32_t max_record_len,
                 const struct crypt_policy *pol, wal_replay_fn fn, void *ctx,
                 struct wal_scan_result *res, struct st_error *err)
{
    memset(res, 0, sizeof *res);
    if (!max_record_len)
        max_record_len = 256u << 20;
    uint64_t first;
    size_t hl;
    bool enc;
    ST_TRY(wal_header_check(buf, len, pol, &first, &hl, &enc, err));
    struct crypt_file cf;
    struct opener op = {&cf, NULL, 0};
    if (enc && crypt_slots_open(pol->keys, WAL_KIND, buf + WAL_KEYS_OFF, &cf, err) != ST_OK)
        return err ? err->code : ST_ECRYPTO;

    res->encrypted = enc;
    res->header_len = hl;
    res->first_seq = first;
    res->last_seq = first - 1;
    size_t off = hl;
    uint64_t seq = first;
    enum st_code rc = ST_OK;
    while (off < len) {
        uint32_t l = 0;
        const uint8_t *plain = NULL;
        const char *why =
            record_check(buf, len, off, seq, max_record_len, enc ? &op : NULL, &plain, &l);
        if (why) {
            res->torn = true;
            res->bad_offset = off;
            snprintf(res->reason, sizeof res->reason, "%s", why);
            /* A valid later record means damage in the middle, not a torn tail. */
            for (size_t o = off + 1; o + WAL_RECORD_HEADER_LEN <= len; o++) {
                uint64_t s2 = st_load_u64le(buf + o + 8);
                if (s2 <= seq || s2 - seq > (uint64_t)1 << 32)
                    continue;
                const uint8_t *p2;
                uint32_t l2;
                if (!record_check(buf, len, o, 0, max_record_len, enc ? &op : NULL, &p2, &l2)) {
                    res->corrupt = true;
                    break;
                }
            }
            break;
        }
        if (fn) {
            rc = fn(ctx, seq, plain, l, err);
            if (rc != ST_OK)
                break;
        }
        off += WAL_RECORD_HEADER_LEN + (enc ? l + WAL_TAG_LEN : l);
        res->last_seq = seq;
        res->n_records++;
        seq++;
    }
    if (op.buf)
        crypt_wipe(op.buf, op.cap);
    free(op.buf);
    if (enc)
        crypt_file_cleanup(&cf);
    res->good_len = res->torn ? res->bad_offset : len;
    return rc;
}
