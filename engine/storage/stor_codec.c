/*
 * stor_codec.c: encodings of one column block (the rows of one series' row
 * group, one column) in a chunk file.
 *
 * Block layout:
 *   u8      codec (below)
 *   u8      flags: bit 0 = validity bitmap present, bit 1 = payload is zstd
 *   uvarint number of rows n
 *   [validity bitmap, (n + 7) / 8 bytes, bit i (LSB first) = row i not NULL]
 *   payload, or when zstd: uvarint raw length, then one zstd frame
 *
 * Codecs (NULL rows carry the previous value, so they cost nothing):
 *   1 DOD    int64 time: v0 as 8 bytes LE, uvarint zigzag(v1 - v0), then the
 *            zigzag'd deltas of deltas of rows 2.. bit-packed
 *   2 DELTA  int64 / uint64: v0 as 8 bytes LE, then zigzag'd (wrapping)
 *            deltas of rows 1.. bit-packed
 *   3 XOR    float64: each value's bits XOR the previous value's bits,
 *            byte-plane transposed (all byte 0s, then all byte 1s, ...),
 *            8 * n bytes (zstd almost always applies)
 *   4 BITS   bool: one bit per row, LSB first
 *   5 STR    string: uvarint length per row, then the bytes of every row
 *
 * Bit packing: groups of up to 128 values, each a u8 width (0..64) followed
 * by ceil(count * width / 8) bytes, values LSB first. Regular timestamps
 * pack to width 0 (one byte per 128 rows); a TSBS-style random walk packs to
 * 2-4 bits per value.
 *
 * zstd is applied on top of float and string payloads when it saves at least
 * an eighth; bit-packed integer and time payloads are left as they are.
 * Decoding checks every length against the block; a corrupt block gives
 * ST_ECORRUPT, never a crash (fuzzed through the chunk reader).
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "stor_int.h"

enum { CODEC_DOD = 1, CODEC_DELTA = 2, CODEC_XOR = 3, CODEC_BITS = 4, CODEC_STR = 5 };
#define FLAG_VALIDITY 1u
#define FLAG_ZSTD 2u
#define PACK_GROUP 128u
#define ZSTD_LEVEL 1
#define MAX_BLOCK_ROWS (1u << 24)

static inline uint64_t
zz(int64_t x)
{
    return ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
}

static inline int64_t
unzz(uint64_t x)
{
    return (int64_t)(x >> 1) ^ -(int64_t)(x & 1);
}

static inline unsigned
bits_of(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

static inline uint64_t
ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* ---- bit packing -------------------------------------------------------- */

static inline __attribute__((always_inline)) void
pack_w(uint8_t *p, const uint64_t *v, uint32_t cnt, unsigned w)
{
    uint64_t bit = 0;
    for (uint32_t i = 0; i < cnt; i++, bit += w) {
        uint64_t x = v[i];
        uint8_t *q = p + (bit >> 3);
        unsigned sh = (unsigned)(bit & 7);
        uint64_t lo = ld64(q) | (x << sh);
        memcpy(q, &lo, 8);
        if (w + 7 > 64 && sh && w + sh > 64)
            q[8] |= (uint8_t)(x >> (64 - sh));
    }
}

static void
pack_any(uint8_t *p, const uint64_t *v, uint32_t cnt, unsigned w)
{
    switch (w) {
#define W(k)                                                                                       \
    case k: pack_w(p, v, cnt, k); break;
#define W8(a) W(a) W(a + 1) W(a + 2) W(a + 3) W(a + 4) W(a + 5) W(a + 6) W(a + 7)
        W8(1) W8(9) W8(17) W8(25) W8(33) W8(41) W8(49) W8(57)
#undef W
#undef W8
    default: break;
    }
}

static enum st_code
pack(struct st_buf *out, const uint64_t *v, uint32_t n)
{
    for (uint32_t g = 0; g < n; g += PACK_GROUP) {
        uint32_t cnt = n - g < PACK_GROUP ? n - g : PACK_GROUP;
        uint64_t all = 0;
        for (uint32_t i = 0; i < cnt; i++)
            all |= v[g + i];
        unsigned w = bits_of(all);
        size_t nbytes = ((size_t)cnt * w + 7) / 8;
        ST_TRY(st_buf_reserve(out, 1 + nbytes + 16));
        uint8_t *p = out->data + out->len;
        *p++ = (uint8_t)w;
        memset(p, 0, nbytes + 16);
        if (w)
            pack_any(p, v + g, cnt, w);
        out->len += 1 + nbytes;
    }
    return ST_OK;
}

/* Unpack cnt values of width w from tmp (padded with 16 zero bytes). Called
 * with constant w and cnt from the switch below so that the compiler drops
 * the straddle test and unrolls the loop. */
static inline __attribute__((always_inline)) void
unpack_w(const uint8_t *tmp, uint64_t *out, uint32_t cnt, unsigned w)
{
    uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
    uint64_t bit = 0;
    for (uint32_t i = 0; i < cnt; i++, bit += w) {
        const uint8_t *q = tmp + (bit >> 3);
        unsigned sh = (unsigned)(bit & 7);
        uint64_t x = ld64(q) >> sh;
        if (w + 7 > 64 && sh && w + sh > 64)
            x |= (uint64_t)q[8] << (64 - sh);
        out[i] = x & mask;
    }
}

#define W8(a) W(a) W(a + 1) W(a + 2) W(a + 3) W(a + 4) W(a + 5) W(a + 6) W(a + 7)

static void
unpack_full(const uint8_t *tmp, uint64_t *out, unsigned w)
{
    switch (w) {
#define W(k)                                                                                       \
    case k: unpack_w(tmp, out, PACK_GROUP, k); break;
        W8(1) W8(9) W8(17) W8(25) W8(33) W8(41) W8(49) W8(57)
#undef W
    default: break;
    }
}

static void
unpack_part(const uint8_t *tmp, uint64_t *out, uint32_t cnt, unsigned w)
{
    switch (w) {
#define W(k)                                                                                       \
    case k: unpack_w(tmp, out, cnt, k); break;
        W8(1) W8(9) W8(17) W8(25) W8(33) W8(41) W8(49) W8(57)
#undef W
    default: break;
    }
}

static enum st_code
unpack(const uint8_t **pp, const uint8_t *end, uint64_t *v, uint32_t n, struct st_error *err)
{
    const uint8_t *p = *pp;
    uint8_t tmp[PACK_GROUP * 8 + 16];
    for (uint32_t g = 0; g < n; g += PACK_GROUP) {
        uint32_t cnt = n - g < PACK_GROUP ? n - g : PACK_GROUP;
        if (p >= end)
            return st_error_set(err, ST_ECORRUPT, "bit-packed group truncated");
        unsigned w = *p++;
        if (w > 64)
            return st_error_set(err, ST_ECORRUPT, "bad bit width %u", w);
        size_t nbytes = ((size_t)cnt * w + 7) / 8;
        if ((size_t)(end - p) < nbytes)
            return st_error_set(err, ST_ECORRUPT, "bit-packed group truncated");
        if (w == 0) {
            memset(v + g, 0, cnt * sizeof *v);
            continue;
        }
        memcpy(tmp, p, nbytes);
        memset(tmp + nbytes, 0, 16);
        p += nbytes;
        if (cnt == PACK_GROUP)
            unpack_full(tmp, v + g, w);
        else
            unpack_part(tmp, v + g, cnt, w);
    }
    *pp = p;
    return ST_OK;
}

/* ---- encode -------------------------------------------------------------- */

static enum st_code
maybe_zstd(struct st_buf *out, size_t payload_at, uint8_t *flags_byte)
{
    size_t raw = out->len - payload_at;
    if (raw < 64)
        return ST_OK;
    size_t cap = ZSTD_compressBound(raw);
    uint8_t *z = malloc(cap);
    if (!z)
        return ST_ENOMEM;
    size_t zn = ZSTD_compress(z, cap, out->data + payload_at, raw, ZSTD_LEVEL);
    if (!ZSTD_isError(zn) && zn + 10 < raw - raw / 8) {
        out->len = payload_at;
        enum st_code rc = st_buf_put_uvarint(out, raw);
        if (rc == ST_OK)
            rc = st_buf_append(out, z, zn);
        free(z);
        if (rc != ST_OK)
            return rc;
        *flags_byte |= FLAG_ZSTD;
        return ST_OK;
    }
    free(z);
    return ST_OK;
}

enum st_code
stor__enc_block(struct st_buf *out, uint8_t type, uint32_t n, const uint64_t *v,
                const uint8_t *valid, const uint32_t *slen, const uint8_t *sdata,
                struct st_error *err)
{
    enum st_code rc = ST_OK;
    uint8_t codec;
    switch (type) {
    case ST_TYPE_TIME: codec = CODEC_DOD; break;
    case ST_TYPE_INT:
    case ST_TYPE_UINT: codec = CODEC_DELTA; break;
    case ST_TYPE_FLOAT: codec = CODEC_XOR; break;
    case ST_TYPE_BOOL: codec = CODEC_BITS; break;
    case ST_TYPE_STRING: codec = CODEC_STR; break;
    default: return st_error_set(err, ST_EINTERNAL, "no codec for type %d", type);
    }
    bool has_nulls = false;
    if (valid)
        for (uint32_t i = 0; i < n && !has_nulls; i++)
            has_nulls = !valid[i];
    size_t start = out->len;
    uint64_t *tmp = NULL;
    uint8_t flags = has_nulls ? FLAG_VALIDITY : 0;
#define P(x)                                                                                       \
    do {                                                                                           \
        if ((rc = (x)) != ST_OK)                                                                   \
            goto fail;                                                                             \
    } while (0)
    P(st_buf_append_byte(out, codec));
    P(st_buf_append_byte(out, flags));
    P(st_buf_put_uvarint(out, n));
    if (has_nulls) {
        size_t nb = (n + 7) / 8;
        P(st_buf_append_zeros(out, nb));
        uint8_t *bm = out->data + out->len - nb;
        for (uint32_t i = 0; i < n; i++)
            if (valid[i])
                bm[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    size_t payload_at = out->len;
    if (n == 0)
        goto done;

    if (codec == CODEC_STR) {
        for (uint32_t i = 0; i < n; i++)
            P(st_buf_put_uvarint(out, has_nulls && !valid[i] ? 0 : slen[i]));
        for (uint32_t i = 0; i < n; i++)
            if (!(has_nulls && !valid[i]))
                P(st_buf_append(out, sdata + v[i], slen[i]));
    } else if (codec == CODEC_BITS) {
        size_t nb = (n + 7) / 8;
        P(st_buf_append_zeros(out, nb));
        uint8_t *bm = out->data + out->len - nb;
        for (uint32_t i = 0; i < n; i++)
            if (v[i] && !(has_nulls && !valid[i]))
                bm[i >> 3] |= (uint8_t)(1u << (i & 7));
    } else {
        tmp = malloc((size_t)n * sizeof *tmp);
        if (!tmp)
            P(ST_ENOMEM);
        /* NULL rows repeat the previous value (the first valid one before any). */
        uint64_t prev = 0;
        if (has_nulls) {
            for (uint32_t i = 0; i < n; i++)
                if (valid[i]) {
                    prev = v[i];
                    break;
                }
        }
        for (uint32_t i = 0; i < n; i++) {
            if (has_nulls && !valid[i])
                tmp[i] = prev;
            else
                tmp[i] = prev = v[i];
        }
        if (codec == CODEC_XOR) {
            P(st_buf_reserve(out, (size_t)n * 8));
            uint8_t *q = out->data + out->len;
            uint64_t last = 0;
            for (uint32_t i = 0; i < n; i++) {
                uint64_t x = tmp[i] ^ last;
                last = tmp[i];
                for (unsigned b = 0; b < 8; b++)
                    q[(size_t)b * n + i] = (uint8_t)(x >> (8 * b));
            }
            out->len += (size_t)n * 8;
        } else {
            uint8_t b8[8];
            st_store_u64le(b8, tmp[0]);
            P(st_buf_append(out, b8, 8));
            if (codec == CODEC_DOD) {
                if (n > 1) {
                    uint64_t d1 = tmp[1] - tmp[0];
                    P(st_buf_put_uvarint(out, zz((int64_t)d1)));
                    uint64_t prevd = d1;
                    for (uint32_t i = 2; i < n; i++) {
                        uint64_t d = tmp[i] - tmp[i - 1];
                        uint64_t dod = d - prevd;
                        prevd = d;
                        tmp[i - 2] = zz((int64_t)dod);
                    }
                    if (n > 2)
                        P(pack(out, tmp, n - 2));
                }
            } else {
                for (uint32_t i = n - 1; i >= 1; i--)
                    tmp[i] = zz((int64_t)(tmp[i] - tmp[i - 1]));
                if (n > 1)
                    P(pack(out, tmp + 1, n - 1));
            }
        }
    }
    /* zstd pays on floats and strings; on bit-packed integers it saved ~15%
     * of the bytes (TSBS: 4.2 -> 3.5 B/row) for ~20% of the ingest CPU, so
     * packed blocks stay as they are (docs/formats/chunk.md). */
    if (codec == CODEC_XOR || codec == CODEC_STR)
        P(maybe_zstd(out, payload_at, &out->data[start + 1]));
done:
    free(tmp);
    return ST_OK;
fail:
    free(tmp);
    out->len = start;
    return st_error_set(err, rc, "out of memory encoding a column block");
#undef P
}

/* ---- decode -------------------------------------------------------------- */

enum st_code
stor__dec_block(const uint8_t *p, size_t len, uint8_t type, uint32_t n, uint64_t *v,
                uint8_t *valid, uint32_t *slen, struct st_buf *sdata, struct st_error *err)
{
    const uint8_t *end = p + len;
    uint8_t *zbuf = NULL;
    enum st_code rc = ST_OK;
    if (len < 3)
        return st_error_set(err, ST_ECORRUPT, "column block too short");
    uint8_t codec = p[0], flags = p[1];
    p += 2;
    uint64_t nrows;
    if (st_get_uvarint(&p, end, &nrows) != 0 || nrows != n)
        return st_error_set(err, ST_ECORRUPT, "column block row count mismatch");
    uint8_t want;
    switch (type) {
    case ST_TYPE_TIME: want = CODEC_DOD; break;
    case ST_TYPE_INT:
    case ST_TYPE_UINT: want = CODEC_DELTA; break;
    case ST_TYPE_FLOAT: want = CODEC_XOR; break;
    case ST_TYPE_BOOL: want = CODEC_BITS; break;
    case ST_TYPE_STRING: want = CODEC_STR; break;
    default: return st_error_set(err, ST_ECORRUPT, "bad column type %d", type);
    }
    if (codec != want || (flags & ~(FLAG_VALIDITY | FLAG_ZSTD)))
        return st_error_set(err, ST_ECORRUPT, "unexpected codec %u or flags 0x%x", codec, flags);
    if (flags & FLAG_VALIDITY) {
        size_t nb = (n + 7) / 8;
        if ((size_t)(end - p) < nb)
            return st_error_set(err, ST_ECORRUPT, "validity bitmap truncated");
        for (uint32_t i = 0; i < n; i++)
            valid[i] = (p[i >> 3] >> (i & 7)) & 1;
        p += nb;
    } else {
        memset(valid, 1, n);
    }
    if (n == 0)
        return p == end ? ST_OK : st_error_set(err, ST_ECORRUPT, "trailing bytes in block");
    if (flags & FLAG_ZSTD) {
        uint64_t raw;
        if (st_get_uvarint(&p, end, &raw) != 0 || raw > ((uint64_t)n * 8 + 64) * 16 + (64u << 20))
            return st_error_set(err, ST_ECORRUPT, "bad zstd raw length");
        zbuf = malloc((size_t)raw + 16);
        if (!zbuf)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        size_t got = ZSTD_decompress(zbuf, (size_t)raw, p, (size_t)(end - p));
        if (ZSTD_isError(got) || got != raw) {
            free(zbuf);
            return st_error_set(err, ST_ECORRUPT, "zstd payload does not decompress");
        }
        p = zbuf;
        end = zbuf + raw;
    }

    if (codec == CODEC_STR) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t l;
            if (st_get_uvarint(&p, end, &l) != 0 || l > UINT32_MAX) {
                rc = st_error_set(err, ST_ECORRUPT, "string length truncated");
                goto out;
            }
            slen[i] = (uint32_t)l;
            total += l;
        }
        if ((uint64_t)(end - p) != total) {
            rc = st_error_set(err, ST_ECORRUPT, "string bytes do not match their lengths");
            goto out;
        }
        size_t base = sdata->len;
        if ((rc = st_buf_append(sdata, p, (size_t)total)) != ST_OK) {
            st_error_set(err, rc, "string data too large");
            goto out;
        }
        for (uint32_t i = 0; i < n; i++) {
            v[i] = base;
            base += slen[i];
        }
        p = end;
    } else if (codec == CODEC_BITS) {
        size_t nb = (n + 7) / 8;
        if ((size_t)(end - p) != nb) {
            rc = st_error_set(err, ST_ECORRUPT, "bool block length mismatch");
            goto out;
        }
        for (uint32_t i = 0; i < n; i++)
            v[i] = (p[i >> 3] >> (i & 7)) & 1;
        p = end;
    } else if (codec == CODEC_XOR) {
        if ((size_t)(end - p) != (size_t)n * 8) {
            rc = st_error_set(err, ST_ECORRUPT, "float block length mismatch");
            goto out;
        }
        uint64_t last = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t x = 0;
            for (unsigned b = 0; b < 8; b++)
                x |= (uint64_t)p[(size_t)b * n + i] << (8 * b);
            last ^= x;
            v[i] = last;
        }
        p = end;
    } else {
        if (end - p < 8) {
            rc = st_error_set(err, ST_ECORRUPT, "block truncated");
            goto out;
        }
        v[0] = st_load_u64le(p);
        p += 8;
        if (codec == CODEC_DOD) {
            if (n > 1) {
                uint64_t zd;
                if (st_get_uvarint(&p, end, &zd) != 0) {
                    rc = st_error_set(err, ST_ECORRUPT, "time delta truncated");
                    goto out;
                }
                uint64_t d = (uint64_t)unzz(zd);
                v[1] = v[0] + d;
                if (n > 2) {
                    if ((rc = unpack(&p, end, v + 2, n - 2, err)) != ST_OK)
                        goto out;
                    for (uint32_t i = 2; i < n; i++) {
                        d += (uint64_t)unzz(v[i]);
                        v[i] = v[i - 1] + d;
                    }
                }
            }
        } else if (n > 1) {
            if ((rc = unpack(&p, end, v + 1, n - 1, err)) != ST_OK)
                goto out;
            uint64_t acc = v[0];
            for (uint32_t i = 1; i < n; i++) {
                acc += (uint64_t)unzz(v[i]);
                v[i] = acc;
            }
        }
        if (p != end)
            rc = st_error_set(err, ST_ECORRUPT, "trailing bytes in block");
    }
out:
    free(zbuf);
    return rc;
}
