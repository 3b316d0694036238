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

#include <stdio.h>
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

/* Append a JSON string: escapes, valid UTF-8 only (bad bytes -> U+FFFD). */
static enum st_code
put_json_str(struct st_buf *b, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    ST_TRY(st_buf_append_byte(b, '"'));
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            ST_TRY(st_buf_append_byte(b, '\\'));
            ST_TRY(st_buf_append_byte(b, c));
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[7] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15], 0};
            ST_TRY(st_buf_append(b, e, 6));
            i++;
        } else if (c < 0x80) {
            ST_TRY(st_buf_append_byte(b, c));
            i++;
        } else {
            size_t l = 1;
            while (i + l < n && l < 4 && (p[i + l] & 0xc0) == 0x80)
                l++;
            char tmp[5] = {0};
            memcpy(tmp, p + i, l);
            if (rbac__text_ok(tmp, l)) {
                ST_TRY(st_buf_append(b, p + i, l));
            } else {
                ST_TRY(st_buf_append_str(b, "\\ufffd"));
            }
            i += l;
        }
    }
    return st_buf_append_byte(b, '"');
}

static enum st_code
put_str_member(struct st_buf *b, const char *key, const char *v)
{
    if (!v)
        return ST_OK;
    ST_TRY(st_buf_printf(b, ",\"%s\":", key));
    return put_json_str(b, looks_secret(v) ? "[redacted]" : v);
}

static enum st_code
put_int_member(struct st_buf *b, const char *key, int64_t v)
{
    if (v < 0)
        return ST_OK;
    return st_buf_printf(b, ",\"%s\":%lld", key, (long long)v);
}

/* Finish a line whose body (from '{', without prev/hash) is in `line`. */
static enum st_code
seal(struct rbac_audit_chain *c, struct st_buf *line, struct st_buf *out, struct st_error *err)
{
    char hex[65];
    uint8_t h[32];
    rbac__hex(c->prev, 32, hex);
    enum st_code rc = st_buf_printf(line, PREV_KEY "%s\"", hex);
    if (rc == ST_OK && line_hash(c->key, c->key_len, line->data, line->len, h) != 0)
        rc = ST_EINTERNAL;
    if (rc == ST_OK) {
        rbac__hex(h, 32, hex);
        rc = st_buf_printf(line, HASH_SUFFIX "%s\"}\n", hex);
    }
    if (rc == ST_OK)
        rc = st_buf_append(out, line->data, line->len);
    if (rc != ST_OK)
        return st_error_set(err, rc, "audit line does not fit");
    memcpy(c->prev, h, 32);
    c->seq++;
    return ST_OK;
}

static enum st_code
begin(struct st_buf *line, uint64_t seq, int64_t time_ns)
{
    char ts[40];
    st_format_rfc3339(time_ns, ts, sizeof ts);
    return st_buf_printf(line, "{\"seq\":%llu,\"time\":\"%s\"", (unsigned long long)seq, ts);
}

enum st_code
rbac_audit_genesis(struct rbac_audit_chain *c, const char *cluster_id, uint64_t file_no,
                   int64_t time_ns, struct st_buf *out, struct st_error *err)
{
    struct st_buf line;
    st_buf_init(&line, LINE_MAX_BYTES);
    enum st_code rc = begin(&line, c->seq, time_ns);
    if (rc == ST_OK)
        rc = st_buf_printf(&line, ",\"type\":\"genesis\",\"format\":\"strata-audit\",\"version\":1,"
                                  "\"chain\":\"%s\",\"file\":%llu",
                           c->key_len ? "hmac-sha256" : "sha256", (unsigned long long)file_no);
    if (rc == ST_OK)
        rc = put_str_member(&line, "cluster_id", cluster_id ? cluster_id : "");
    rc = rc == ST_OK ? seal(c, &line, out, err) : st_error_set(err, rc, "audit line does not fit");
    st_buf_cleanup(&line);
    return rc;
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
    struct st_buf line;
    st_buf_init(&line, LINE_MAX_BYTES);
    enum st_code rc = begin(&line, c->seq, ev->time_ns);
    if (rc == ST_OK)
        rc = st_buf_append_str(&line, ",\"type\":\"event\"");
    if (rc == ST_OK)
        rc = put_str_member(&line, "category", ev->category);
    if (rc == ST_OK)
        rc = put_str_member(&line, "principal", ev->principal ? ev->principal : "anonymous");
    if (rc == ST_OK)
        rc = put_str_member(&line, "tenant", ev->tenant);
    if (rc == ST_OK)
        rc = put_str_member(&line, "database", ev->database);
    if (rc == ST_OK)
        rc = put_str_member(&line, "method", ev->method);
    if (rc == ST_OK)
        rc = put_str_member(&line, "peer", ev->peer);
    if (rc == ST_OK)
        rc = put_str_member(&line, "request_id", ev->request_id);
    if (rc == ST_OK)
        rc = put_str_member(&line, "outcome", outcome_name(ev->outcome));
    if (rc == ST_OK)
        rc = put_str_member(&line, "reason", ev->reason);
    if (rc == ST_OK)
        rc = put_str_member(&line, "detail", ev->detail);
    if (rc == ST_OK)
        rc = put_str_member(&line, "target", ev->target);
    if (rc == ST_OK)
        rc = put_str_member(&line, "sql", ev->sql);
    if (rc == ST_OK)
        rc = put_int_member(&line, "rows", ev->rows);
    if (rc == ST_OK)
        rc = put_int_member(&line, "bytes", ev->bytes);
    if (rc == ST_OK)
        rc = put_int_member(&line, "lines", ev->lines);
    if (rc == ST_OK)
        rc = put_int_member(&line, "rejected", ev->rejected);
    if (rc == ST_OK)
        rc = put_int_member(&line, "duration_ns", ev->duration_ns);
    rc = rc == ST_OK ? seal(c, &line, out, err)
                     : st_error_set(err, rc, "audit event is larger than %d bytes",
                                    LINE_MAX_BYTES);
    st_buf_cleanup(&line);
    return rc;
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
