/*
 * tls_sniff.c: decide, from the first bytes a client sent, which stack serves a
 * connection. Runs in the acceptor on bytes peeked with MSG_PEEK (nothing is consumed),
 * so every input here is untrusted and possibly incomplete; it is a fuzz target
 * (tests/fuzz/gw_sniff).
 *
 * Plaintext: the 24-byte HTTP/2 client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" means
 * gRPC (prior-knowledge h2c, what gRPC clients send); any byte that departs from it
 * means HTTP/1.1. A prefix of the preface is undecided ("P" could be POST or PUT).
 *
 * TLS: TLS records (type 22 handshake, version 3.x, length <= 2^14 + 2048) are
 * reassembled until the first handshake message, which must be a ClientHello, is
 * complete. Its extensions are walked for ALPN (type 16):
 *   ALPN lists http/1.1            -> HTTPS/1.1 (curl and Go clients offer h2 and http/1.1)
 *   ALPN lists h2 but not http/1.1 -> gRPC over TLS (what gRPC clients offer)
 *   no ALPN, or neither            -> HTTPS/1.1 (node's https module offers none)
 * Anything malformed, or longer than GW_SNIFF_TLS_MAX, is BAD.
 */
#include <string.h>

#include "gw_int.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN 24

enum gw_sniff
gw_sniff_plain(const uint8_t *p, size_t n)
{
    size_t k = n < PREFACE_LEN ? n : PREFACE_LEN;
    if (k == 0)
        return GW_SNIFF_MORE;
    if (memcmp(p, preface, k) != 0)
        return GW_SNIFF_HTTP;
    return k == PREFACE_LEN ? GW_SNIFF_GRPC : GW_SNIFF_MORE;
}

static uint32_t
be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Walk the ALPN extension body; set *h2 / *h11 when offered. 0 ok, -1 malformed. */
static int
alpn_scan(const uint8_t *p, size_t n, bool *h2, bool *h11)
{
    if (n < 2)
        return -1;
    size_t list = be16(p);
    if (list + 2 != n || list == 0)
        return -1;
    p += 2;
    while (list > 0) {
        size_t l = p[0];
        if (l == 0 || l + 1 > list)
            return -1;
        if (l == 2 && memcmp(p + 1, "h2", 2) == 0)
            *h2 = true;
        if (l == 8 && memcmp(p + 1, "http/1.1", 8) == 0)
            *h11 = true;
        p += l + 1;
        list -= l + 1;
    }
    return 0;
}

/* Parse a complete ClientHello body (after the 4-byte handshake header). */
static enum gw_sniff
client_hello(const uint8_t *p, size_t n)
{
    size_t off = 0;
    if (n < 2 + 32 + 1)
        return GW_SNIFF_BAD;
    if (p[0] != 3)
        return GW_SNIFF_BAD; /* legacy_version major must be 3 */
    off = 2 + 32;
    size_t sid = p[off];
    if (sid > 32 || off + 1 + sid > n)
        return GW_SNIFF_BAD;
    off += 1 + sid;
    if (off + 2 > n)
        return GW_SNIFF_BAD;
    size_t cs = be16(p + off);
    if (cs < 2 || (cs & 1) || off + 2 + cs > n)
        return GW_SNIFF_BAD;
    off += 2 + cs;
    if (off + 1 > n)
        return GW_SNIFF_BAD;
    size_t cm = p[off];
    if (cm < 1 || off + 1 + cm > n)
        return GW_SNIFF_BAD;
    off += 1 + cm;
    if (off == n)
        return GW_SNIFF_TLS_HTTP; /* no extensions at all: no ALPN */
    if (off + 2 > n)
        return GW_SNIFF_BAD;
    size_t ext = be16(p + off);
    off += 2;
    if (off + ext != n)
        return GW_SNIFF_BAD;
    bool h2 = false, h11 = false, seen = false;
    while (off < n) {
        if (off + 4 > n)
            return GW_SNIFF_BAD;
        uint32_t type = be16(p + off);
        size_t len = be16(p + off + 2);
        off += 4;
        if (off + len > n)
            return GW_SNIFF_BAD;
        if (type == 16) {
            if (seen || alpn_scan(p + off, len, &h2, &h11) != 0)
                return GW_SNIFF_BAD;
            seen = true;
        }
        off += len;
    }
    if (h2 && !h11)
        return GW_SNIFF_TLS_GRPC;
    return GW_SNIFF_TLS_HTTP;
}

enum gw_sniff
gw_sniff_tls(const uint8_t *p, size_t n)
{
    /* Reassemble the handshake layer from consecutive records into a local buffer. */
    static _Thread_local uint8_t hs[GW_SNIFF_TLS_MAX];
    size_t hs_len = 0, off = 0;
    if (n == 0)
        return GW_SNIFF_MORE;
    if (p[0] != 22)
        return GW_SNIFF_BAD;
    if (n > GW_SNIFF_TLS_MAX)
        n = GW_SNIFF_TLS_MAX;
    for (;;) {
        if (off + 5 > n)
            return n >= GW_SNIFF_TLS_MAX ? GW_SNIFF_BAD : GW_SNIFF_MORE;
        const uint8_t *r = p + off;
        if (r[0] != 22 || r[1] != 3)
            return GW_SNIFF_BAD;
        size_t rl = be16(r + 3);
        if (rl == 0 || rl > 16384 + 2048)
            return GW_SNIFF_BAD;
        if (off + 5 + rl > n)
            return n >= GW_SNIFF_TLS_MAX ? GW_SNIFF_BAD : GW_SNIFF_MORE;
        if (hs_len + rl > sizeof hs)
            return GW_SNIFF_BAD;
        memcpy(hs + hs_len, r + 5, rl);
        hs_len += rl;
        off += 5 + rl;
        if (hs_len >= 4) {
            if (hs[0] != 1)
                return GW_SNIFF_BAD; /* first handshake message must be ClientHello */
            size_t body = be24(hs + 1);
            if (body + 4 > sizeof hs)
                return GW_SNIFF_BAD;
            if (hs_len >= body + 4)
                return client_hello(hs + 4, body);
        }
    }
}

const char *
gw_sniff_name(enum gw_sniff s)
{
    switch (s) {
    case GW_SNIFF_MORE: return "more";
    case GW_SNIFF_BAD: return "bad";
    case GW_SNIFF_GRPC: return "grpc";
    case GW_SNIFF_HTTP: return "http";
    case GW_SNIFF_TLS_GRPC: return "tls-grpc";
    case GW_SNIFF_TLS_HTTP: return "tls-http";
    }
    return "?";
}
