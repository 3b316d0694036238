/*
 * rbac_audit.c: the audit log line format, its hash chain, and verification.
 * The gateway writes the lines to disk and rotates files; this file builds
 * and checks bytes.
 *
 * A line is one JSON object on one line, members in a fixed order:
 *     {"seq":N,"time":"<RFC 3339>", <event members>, "prev":"<64 hex>","hash":"<64 hex>"}\n
 *   seq   increases by exactly one per line, across files;
 *   prev  the hash of the previous line (64 zeros before the very first);
 *   hash  SHA-256 (or HMAC-SHA-256 with the audit key) of the line's bytes
 *         from '{' up to, not including, ',"hash":' — so it covers prev.
 * Each file starts with a genesis line ("type":"genesis", the cluster id, the
 * file number, the chain algorithm) whose prev is the hash of the last line
 * of the previous file: the chain runs through rotations unbroken.
 *
 * What verification catches: an edited line (its hash no longer matches), a
 * deleted, inserted or reordered line (prev or seq breaks), a torn last line
 * (not a complete object). What it cannot catch alone: someone who recomputes
 * every later hash (use an HMAC key they do not have), or whole lines cut off
 * the end (compare the last hash with an anchor kept elsewhere: the next
 * file's genesis, or the head the gateway records).
 *
 * No secret enters a line: rbac never passes one, and any field value that
 * looks like a Strata token or a JWT is replaced by "[redacted]".
 */
#include "rbac_int.h"

#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"

#define LINE_MAX_BYTES (64 * 1024)
#define HASH_SUFFIX ",\"hash\":\""
#define PREV_KEY ",\"prev\":\""

enum st_code
rbac_audit_chain_init(struct rbac_audit_chain *c, const uint8_t *key, size_t key_len,
                      struct st_error *err)
{
    memset(c, 0, sizeof *c);
    if (key) {
        if (key_len < 32 || key_len > sizeof c->key)
            return st_error_set(err, ST_EINVAL, "audit key must be 32..64 bytes");
        memcpy(c->key, key, key_len);
        c->key_len = key_len;
    }
    return ST_OK;
}

static int
line_hash(const uint8_t *key, size_t key_len, const uint8_t *p, size_t n, uint8_t out[32])
{
    if (key_len)
        return rbac__hmac_sha256(key, key_len, p, n, out);
    rbac__sha256(p, n, out);
    return 0;
}

/* Does s hold something shaped like a Strata token or a compact JWS? */
static bool
looks_secret(const char *s)
{
    for (const char *p = s; (p = strstr(p, "strata_")); p++)
        if ((p[7] == 'o' || p[7] == 'm' || p[7] == 'd') && p[8] == '_')
            return true;
    for (const char *p = s; (p = strstr(p, "eyJ")); p++) {
        size_t i = 3, segs = 0, run = 3;
        for (; p[i]; i++) {
            char c = p[i];
            bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '_';
            if (b64) {
                run++;
            } else if (c == '.' && run >= 4) {
                segs++;
                run = 0;
            } else {
                break;
            }
        }
        if (segs >= 1)
            return true;
    }
    return false;
}

/*
 * Building a line. The bytes are written straight to the end of the caller's buffer
 * (the line starts at `start`): plain runs with one copy, escapes as whole tokens, no
 * formatted output. The bytes are pinned by tests/unit/rbac/test_audit.c
 * (audit_line_bytes_are_pinned): every log ever written must still verify, so any change
 * here must reproduce them exactly.
 *
 * Ceiling: a line is at most LINE_LIMIT bytes, newline included, one below LINE_MAX_BYTES
 * (what the verifier accepts) because the first builder needed room for a NUL after the
 * hash; the same events are refused as always (audit_line_size_limit_is_exact). Each
 * write checks it, so a huge value is refused after at most 64 KiB of work.
 */
#define LINE_LIMIT (LINE_MAX_BYTES - 1)

struct lw {
    struct st_buf *b;
    size_t start; /* where the line begins in b */
};

/* Room for k more bytes of the line. */
static inline enum st_code
lw_room(struct lw *w, size_t k)
{
    struct st_buf *b = w->b;
    if (k > LINE_LIMIT || b->len - w->start > LINE_LIMIT - k)
        return ST_ELIMIT;
    return b->cap - b->len >= k ? ST_OK : st_buf_reserve(b, k);
}

static inline enum st_code
lw_put(struct lw *w, const void *p, size_t n)
{
    if (n == 0)
        return ST_OK;
    ST_TRY(lw_room(w, n));
    memcpy(w->b->data + w->b->len, p, n);
    w->b->len += n;
    return ST_OK;
}

#define LW_LIT(w, s) lw_put((w), (s), sizeof(s) - 1)

/* Decimal digits of v (no sign). */
static enum st_code
lw_u64(struct lw *w, uint64_t v)
{
    char d[20];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return lw_put(w, d + i, sizeof d - i);
}

/* ,"key": */
static enum st_code
lw_key(struct lw *w, const char *key)
{
    size_t n = strlen(key);
    ST_TRY(lw_room(w, n + 4));
    uint8_t *o = w->b->data + w->b->len;
    o[0] = ',';
    o[1] = '"';
    memcpy(o + 2, key, n);
    o[n + 2] = '"';
    o[n + 3] = ':';
    w->b->len += n + 4;
    return ST_OK;
}

/* Bytes a JSON string carries as they are: printable ASCII but the quote and backslash. */
static inline bool
plain(uint8_t c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* A JSON string: escapes, valid UTF-8 only. A byte >= 0x80 starts a run of itself and up
 * to three following continuation bytes (0x80..0xbf): the run is kept when it is valid
 * text (rbac__text_ok), else the whole run becomes one U+FFFD. */
static enum st_code
put_json_str(struct lw *w, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    ST_TRY(LW_LIT(w, "\""));
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (plain(c)) {
            size_t j = i + 1;
            while (j < n && plain(p[j]))
                j++;
            ST_TRY(lw_put(w, p + i, j - i));
            i = j;
        } else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ST_TRY(lw_put(w, e, 2));
            i++;
        } else if (c < 0x80) { /* C0 controls and DEL */
            char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
            ST_TRY(lw_put(w, e, 6));
            i++;
        } else {
            size_t l = 1;
            while (i + l < n && l < 4 && (p[i + l] & 0xc0) == 0x80)
                l++;
            if (rbac__text_ok((const char *)p + i, l))
                ST_TRY(lw_put(w, p + i, l));
            else
                ST_TRY(LW_LIT(w, "\\ufffd"));
            i += l;
        }
    }
    return LW_LIT(w, "\"");
}

static enum st_code
put_str_member(struct lw *w, const char *key, const char *v)
{
    if (!v)
        return ST_OK;
    ST_TRY(lw_key(w, key));
    return put_json_str(w, looks_secret(v) ? "[redacted]" : v);
}

static enum st_code
put_int_member(struct lw *w, const char *key, int64_t v)
{
    if (v < 0)
        return ST_OK;
    ST_TRY(lw_key(w, key));
    return lw_u64(w, (uint64_t)v);
}

/* Start a line at the end of out: {"seq":N,"time":"<RFC 3339>" */
static enum st_code
begin(struct lw *w, struct st_buf *out, uint64_t seq, int64_t time_ns)
{
    w->b = out;
    w->start = out->len;
    /* one allocation for a typical line instead of doubling from 64 bytes */
    if (out->cap - out->len < 512 && out->max - out->len >= 512 &&
        st_buf_reserve(out, 512) != ST_OK)
        return ST_ENOMEM;
    char ts[40];
    st_format_rfc3339(time_ns, ts, sizeof ts);
    ST_TRY(LW_LIT(w, "{\"seq\":"));
    ST_TRY(lw_u64(w, seq));
    ST_TRY(LW_LIT(w, ",\"time\":\""));
    ST_TRY(lw_put(w, ts, strlen(ts)));
    return LW_LIT(w, "\"");
}

/* Finish the line begun at w->start (its body is written, without prev and hash); on
 * any failure, drop what was written of it. */
static enum st_code
seal(struct rbac_audit_chain *c, struct lw *w, enum st_code rc, struct st_error *err)
{
    char hex[65]; /* rbac__hex adds a NUL */
    uint8_t h[32];
    if (rc == ST_OK) {
        rbac__hex(c->prev, 32, hex);
        rc = LW_LIT(w, PREV_KEY);
    }
    if (rc == ST_OK)
        rc = lw_put(w, hex, 64);
    if (rc == ST_OK)
        rc = LW_LIT(w, "\"");
    if (rc == ST_OK &&
        line_hash(c->key, c->key_len, w->b->data + w->start, w->b->len - w->start, h) != 0)
        rc = ST_EINTERNAL;
    if (rc == ST_OK) {
        rbac__hex(h, 32, hex);
        rc = LW_LIT(w, HASH_SUFFIX);
    }
    if (rc == ST_OK)
        rc = lw_put(w, hex, 64);
    if (rc == ST_OK)
        rc = LW_LIT(w, "\"}\n");
    if (rc != ST_OK) {
        w->b->len = w->start;
        if (rc == ST_ELIMIT)
            return st_error_set(err, rc, "audit line does not fit (at most %d bytes, or the "
                                         "output buffer is full)",
                                LINE_LIMIT);
        return st_error_set(err, rc, "audit line could not be built");
    }
    memcpy(c->prev, h, 32);
    c->seq++;
    return ST_OK;
}

enum st_code
rbac_audit_genesis(struct rbac_audit_chain *c, const char *cluster_id, uint64_t file_no,
                   int64_t time_ns, struct st_buf *out, struct st_error *err)
{
    struct lw w;
    enum st_code rc = begin(&w, out, c->seq, time_ns);
    if (rc == ST_OK)
        rc = LW_LIT(&w, ",\"type\":\"genesis\",\"format\":\"strata-audit\",\"version\":1,"
                        "\"chain\":\"");
    if (rc == ST_OK)
        rc = c->key_len ? LW_LIT(&w, "hmac-sha256") : LW_LIT(&w, "sha256");
    if (rc == ST_OK)
        rc = LW_LIT(&w, "\",\"file\":");
    if (rc == ST_OK)
        rc = lw_u64(&w, file_no);
    if (rc == ST_OK)
        rc = put_str_member(&w, "cluster_id", cluster_id ? cluster_id : "");
    return seal(c, &w, rc, err);
}

static const char *
outcome_name(enum rbac_audit_outcome o)
{
    switch (o) {
    case RBAC_AUDIT_ALLOW: return "allow";
    case RBAC_AUDIT_DENY: return "deny";
    case RBAC_AUDIT_UNAUTHENTICATED: return "unauthenticated";
    case RBAC_AUDIT_ERROR: return "error";
    }
    return "unknown";
}

enum st_code
rbac_audit_line(struct rbac_audit_chain *c, const struct rbac_audit_event *ev, struct st_buf *out,
                struct st_error *err)
{
    struct lw w;
    enum st_code rc = begin(&w, out, c->seq, ev->time_ns);
    if (rc == ST_OK)
        rc = LW_LIT(&w, ",\"type\":\"event\"");
    if (rc == ST_OK)
        rc = put_str_member(&w, "category", ev->category);
    if (rc == ST_OK)
        rc = put_str_member(&w, "principal", ev->principal ? ev->principal : "anonymous");
    if (rc == ST_OK)
        rc = put_str_member(&w, "tenant", ev->tenant);
    if (rc == ST_OK)
        rc = put_str_member(&w, "database", ev->database);
    if (rc == ST_OK)
        rc = put_str_member(&w, "method", ev->method);
    if (rc == ST_OK)
        rc = put_str_member(&w, "peer", ev->peer);
    if (rc == ST_OK)
        rc = put_str_member(&w, "request_id", ev->request_id);
    if (rc == ST_OK)
        rc = put_str_member(&w, "outcome", outcome_name(ev->outcome));
    if (rc == ST_OK)
        rc = put_str_member(&w, "reason", ev->reason);
    if (rc == ST_OK)
        rc = put_str_member(&w, "detail", ev->detail);
    if (rc == ST_OK)
        rc = put_str_member(&w, "target", ev->target);
    if (rc == ST_OK)
        rc = put_str_member(&w, "sql", ev->sql);
    if (rc == ST_OK)
        rc = put_int_member(&w, "rows", ev->rows);
    if (rc == ST_OK)
        rc = put_int_member(&w, "bytes", ev->bytes);
    if (rc == ST_OK)
        rc = put_int_member(&w, "lines", ev->lines);
    if (rc == ST_OK)
        rc = put_int_member(&w, "rejected", ev->rejected);
    if (rc == ST_OK)
        rc = put_int_member(&w, "duration_ns", ev->duration_ns);
    return seal(c, &w, rc, err);
}

/* ---- verification ---- */

static enum st_code
bad(struct rbac_audit_verify_result *r, uint64_t line, struct st_error *err, const char *why)
{
    r->bad_line = line;
    rbac__copy(r->reason, sizeof r->reason, why);
    return st_error_set(err, ST_ECORRUPT, "audit line %llu: %s", (unsigned long long)line, why);
}

enum st_code
rbac_audit_verify(const uint8_t *bytes, size_t len, const uint8_t *key, size_t key_len,
                  const uint8_t *expected_prev, const uint8_t *expected_last,
                  struct rbac_audit_verify_result *res, struct st_error *err)
{
    struct rbac_audit_verify_result local;
    struct rbac_audit_verify_result *r = res ? res : &local;
    memset(r, 0, sizeof *r);
    uint8_t prev[32] = {0};
    uint64_t seq = 0;
    size_t pos = 0;
    const size_t suffix_len = strlen(HASH_SUFFIX) + 64 + 2; /* ,"hash":"<64>"} */
    const size_t prev_len = strlen(PREV_KEY) + 64 + 1;      /* ,"prev":"<64>" */

    if (len == 0)
        return bad(r, 1, err, "empty file (no genesis line)");
    while (pos < len) {
        uint64_t no = r->n_lines + 1;
        const uint8_t *nl = memchr(bytes + pos, '\n', len - pos);
        if (!nl)
            return bad(r, no, err, "last line is incomplete (no newline)");
        const uint8_t *line = bytes + pos;
        size_t n = (size_t)(nl - line);
        pos += n + 1;
        if (n > LINE_MAX_BYTES || n < suffix_len + prev_len + 10)
            return bad(r, no, err, "line length is impossible");
        const uint8_t *sfx = line + n - suffix_len;
        uint8_t want[32], got[32], lprev[32];
        if (memcmp(sfx, HASH_SUFFIX, strlen(HASH_SUFFIX)) != 0 || line[n - 2] != '"' ||
            line[n - 1] != '}' ||
            rbac__unhex((const char *)sfx + strlen(HASH_SUFFIX), 64, want, 32) != 0)
            return bad(r, no, err, "no hash member at the end");
        size_t body = n - suffix_len;
        const uint8_t *pk = line + body - prev_len;
        if (memcmp(pk, PREV_KEY, strlen(PREV_KEY)) != 0 || line[body - 1] != '"' ||
            rbac__unhex((const char *)pk + strlen(PREV_KEY), 64, lprev, 32) != 0)
            return bad(r, no, err, "no prev member before the hash");
        if (line_hash(key, key_len, line, body, got) != 0)
            return bad(r, no, err, "hash failed");
        if (!rbac__memeq(got, want, 32))
            return bad(r, no, err, "hash does not match the line (edited, or wrong key)");
        char jwhy[64];
        json_t *j = rbac__json_load(line, n, 4, jwhy, sizeof jwhy);
        if (!j)
            return bad(r, no, err, "not a JSON object");
        json_t *js = json_object_get(j, "seq"), *jt = json_object_get(j, "type");
        bool genesis = jt && json_is_string(jt) && !strcmp(json_string_value(jt), "genesis");
        bool seq_ok = js && json_is_integer(js) && json_integer_value(js) >= 0;
        uint64_t lseq = seq_ok ? (uint64_t)json_integer_value(js) : 0;
        json_decref(j);
        if (!seq_ok)
            return bad(r, no, err, "no seq member");
        if (no == 1) {
            if (!genesis)
                return bad(r, no, err, "first line is not a genesis line");
            if (expected_prev && !rbac__memeq(lprev, expected_prev, 32))
                return bad(r, no, err, "genesis does not continue the previous file's chain");
        } else {
            if (genesis)
                return bad(r, no, err, "genesis line inside a file");
            if (!rbac__memeq(lprev, prev, 32))
                return bad(r, no, err, "prev does not match the previous line (line removed, "
                                       "inserted or reordered)");
            if (lseq != seq + 1)
                return bad(r, no, err, "seq is not consecutive");
        }
        memcpy(prev, got, 32);
        seq = lseq;
        r->n_lines = no;
        r->last_seq = lseq;
        memcpy(r->last_hash, got, 32);
    }
    if (expected_last && !rbac__memeq(prev, expected_last, 32))
        return bad(r, r->n_lines, err, "last line is not the expected chain head (lines "
                                       "missing at the end)");
    return ST_OK;
}
