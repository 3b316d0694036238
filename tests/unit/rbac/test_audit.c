/*
 * test_audit.c: audit lines and the hash chain: the line format, tamper
 * detection (edit, delete, reorder, insert, truncate), the chain across
 * rotated files, HMAC chains, and redaction of secret-looking values.
 */
#include "tu.h"

#include <stdlib.h>

static struct rbac_audit_event
event(int i)
{
    struct rbac_audit_event ev = {0};
    ev.time_ns = TU_NOW + i * NS;
    ev.category = i % 2 ? "query" : "write";
    ev.principal = "token:00000000000000aa";
    ev.tenant = "acme";
    ev.database = "metrics";
    ev.method = "/arrow.flight.protocol.FlightService/DoGet";
    ev.outcome = i == 3 ? RBAC_AUDIT_DENY : RBAC_AUDIT_ALLOW;
    ev.reason = i == 3 ? "no_grant" : "ok";
    ev.sql = "SELECT * FROM cpu WHERE host = ?";
    ev.rows = i * 10;
    ev.bytes = -1;
    ev.lines = -1;
    ev.rejected = -1;
    ev.duration_ns = 1500;
    return ev;
}

/* genesis + n events; returns the file and the chain state after it. */
static char *
make_file(struct rbac_audit_chain *c, uint64_t file_no, int n, size_t *len)
{
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    ASSERT_OK(rbac_audit_genesis(c, "cluster1", file_no, TU_NOW, &b, NULL));
    for (int i = 1; i <= n; i++) {
        struct rbac_audit_event ev = event(i);
        ASSERT_OK(rbac_audit_line(c, &ev, &b, NULL));
    }
    ASSERT_OK(st_buf_append_byte(&b, 0));
    char *t = (char *)st_buf_take(&b, len);
    (*len)--;
    return t;
}

/* Pointer to the start of line k (1-based) and its length with the newline. */
static char *
line_at(char *f, int k, size_t *l)
{
    char *p = f;
    for (int i = 1; i < k; i++)
        p = strchr(p, '\n') + 1;
    *l = (size_t)(strchr(p, '\n') - p) + 1;
    return p;
}

static uint64_t
verify(const char *f, size_t len, const uint8_t *key, size_t kl, const uint8_t *prev,
       const uint8_t *last)
{
    struct rbac_audit_verify_result r;
    struct st_error e;
    enum st_code rc = rbac_audit_verify((const uint8_t *)f, len, key, kl, prev, last, &r, &e);
    if (rc == ST_OK)
        return 0;
    ASSERT_EQ_INT(rc, ST_ECORRUPT);
    ASSERT_TRUE(r.bad_line > 0);
    return r.bad_line;
}

TEST(audit_line_format)
{
    struct rbac_audit_chain c;
    ASSERT_OK(rbac_audit_chain_init(&c, NULL, 0, NULL));
    size_t len;
    char *f = make_file(&c, 0, 3, &len);
    size_t l;
    char *g = line_at(f, 1, &l);
    ASSERT_TRUE(strncmp(g, "{\"seq\":0,\"time\":\"2023-11-14T22:13:20Z\",\"type\":\"genesis\"", 55) ==
                0);
    ASSERT_CONTAINS(f, "\"chain\":\"sha256\"");
    char *e1 = line_at(f, 2, &l);
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)l, e1);
    ASSERT_CONTAINS(line, "{\"seq\":1,\"time\":\"2023-11-14T22:13:21Z\",\"type\":\"event\","
                          "\"category\":\"query\",\"principal\":\"token:00000000000000aa\","
                          "\"tenant\":\"acme\",\"database\":\"metrics\"");
    ASSERT_CONTAINS(line, "\"outcome\":\"allow\",\"reason\":\"ok\"");
    ASSERT_CONTAINS(line, "\"rows\":10,\"duration_ns\":1500,\"prev\":\"");
    ASSERT_TRUE(strstr(line, "\"bytes\"") == NULL); /* negative numbers are omitted */
    ASSERT_EQ_INT(verify(f, len, NULL, 0, NULL, NULL), 0);
    /* every line is a JSON object on its own */
    for (int k = 1; k <= 4; k++) {
        char *p = line_at(f, k, &l);
        char why[64];
        json_t *j = rbac__json_load((const uint8_t *)p, l - 1, 4, why, sizeof why);
        ASSERT_TRUE(j != NULL);
        json_decref(j);
    }
    /* escaping: quotes, control characters, invalid UTF-8 */
    struct rbac_audit_event ev = event(1);
    ev.detail = "a\"b\\c\nd\x01\xff";
    struct st_buf b;
    st_buf_init(&b, 1 << 16);
    ASSERT_OK(rbac_audit_line(&c, &ev, &b, NULL));
    ASSERT_OK(st_buf_append_byte(&b, 0));
    ASSERT_CONTAINS((char *)b.data, "\"detail\":\"a\\\"b\\\\c\\u000ad\\u0001\\ufffd\"");
    st_buf_cleanup(&b);
    free(f);
}

TEST(audit_tampering_is_detected)
{
    struct rbac_audit_chain c;
    ASSERT_OK(rbac_audit_chain_init(&c, NULL, 0, NULL));
    size_t len, l, l2;
    char *f = make_file(&c, 0, 6, &len);
    char *t = malloc(len * 2 + 8);

    /* edit one byte of line 4 */
    memcpy(t, f, len);
    char *p = line_at(t, 4, &l);
    char *r = strstr(p, "\"rows\":30");
    r[8] = '9';
    ASSERT_EQ_INT(verify(t, len, NULL, 0, NULL, NULL), 4);
    /* delete line 3 */
    p = line_at(f, 3, &l);
    size_t off = (size_t)(p - f);
    memcpy(t, f, off);
    memcpy(t + off, p + l, len - off - l);
    ASSERT_EQ_INT(verify(t, len - l, NULL, 0, NULL, NULL), 3);
    /* swap lines 3 and 4 */
    char *p4 = line_at(f, 4, &l2);
    memcpy(t, f, off);
    memcpy(t + off, p4, l2);
    memcpy(t + off + l2, p, l);
    memcpy(t + off + l2 + l, p4 + l2, len - off - l - l2);
    ASSERT_EQ_INT(verify(t, len, NULL, 0, NULL, NULL), 3);
    /* insert a copy of line 3 after itself */
    memcpy(t, f, off + l);
    memcpy(t + off + l, p, l);
    memcpy(t + off + 2 * l, p + l, len - off - l);
    ASSERT_EQ_INT(verify(t, len + l, NULL, 0, NULL, NULL), 4);
    /* truncate in the middle of the last line */
    ASSERT_EQ_INT(verify(f, len - 10, NULL, 0, NULL, NULL), 7);
    /* truncate whole lines at the end: fine alone, caught by the anchor */
    char *p7 = line_at(f, 7, &l);
    size_t cut = (size_t)(p7 - f);
    ASSERT_EQ_INT(verify(f, cut, NULL, 0, NULL, NULL), 0);
    ASSERT_EQ_INT(verify(f, cut, NULL, 0, NULL, c.prev), 6);
    ASSERT_EQ_INT(verify(f, len, NULL, 0, NULL, c.prev), 0);
    /* remove the genesis line */
    p = line_at(f, 2, &l);
    ASSERT_EQ_INT(verify(p, len - (size_t)(p - f), NULL, 0, NULL, NULL), 1);
    ASSERT_EQ_INT(verify("", 0, NULL, 0, NULL, NULL), 1);
    ASSERT_EQ_INT(verify("garbage\n", 8, NULL, 0, NULL, NULL), 1);
    free(t);
    free(f);
}

TEST(audit_chain_continues_across_rotated_files)
{
    struct rbac_audit_chain c;
    ASSERT_OK(rbac_audit_chain_init(&c, NULL, 0, NULL));
    size_t l1, l2;
    char *f1 = make_file(&c, 0, 3, &l1);
    uint8_t end1[32];
    memcpy(end1, c.prev, 32);
    char *f2 = make_file(&c, 1, 3, &l2);
    struct rbac_audit_verify_result r;
    ASSERT_OK(rbac_audit_verify((const uint8_t *)f1, l1, NULL, 0, NULL, NULL, &r, NULL));
    ASSERT_TRUE(memcmp(r.last_hash, end1, 32) == 0);
    ASSERT_EQ_INT(r.last_seq, 3);
    /* the second file's genesis carries the first file's last hash; seq continues */
    ASSERT_EQ_INT(verify(f2, l2, NULL, 0, r.last_hash, NULL), 0);
    ASSERT_CONTAINS(f2, "{\"seq\":4,");
    uint8_t wrong[32] = {0};
    ASSERT_EQ_INT(verify(f2, l2, NULL, 0, wrong, NULL), 1);
    free(f1);
    free(f2);
}

TEST(audit_hmac_chain_needs_the_key)
{
    uint8_t key[32], other[32];
    memset(key, 9, 32);
    memset(other, 8, 32);
    struct rbac_audit_chain c;
    ASSERT_CODE(rbac_audit_chain_init(&c, key, 16, NULL), ST_EINVAL);
    ASSERT_OK(rbac_audit_chain_init(&c, key, 32, NULL));
    size_t len;
    char *f = make_file(&c, 0, 2, &len);
    ASSERT_CONTAINS(f, "\"chain\":\"hmac-sha256\"");
    ASSERT_EQ_INT(verify(f, len, key, 32, NULL, NULL), 0);
    ASSERT_EQ_INT(verify(f, len, other, 32, NULL, NULL), 1);
    ASSERT_EQ_INT(verify(f, len, NULL, 0, NULL, NULL), 1);
    free(f);
}

TEST(audit_redacts_secret_shaped_values)
{
    struct rbac_audit_chain c;
    ASSERT_OK(rbac_audit_chain_init(&c, NULL, 0, NULL));
    struct rbac_secret s;
    ASSERT_OK(rbac_token_generate(RBAC_TOKEN_DATABASE, &s, NULL));
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT '%s'", s.text);
    struct rbac_audit_event ev = event(1);
    ev.sql = sql;
    ev.detail = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
    ev.peer = "10.0.0.1:5000";
    struct st_buf b;
    st_buf_init(&b, 1 << 16);
    ASSERT_OK(rbac_audit_line(&c, &ev, &b, NULL));
    ASSERT_OK(st_buf_append_byte(&b, 0));
    ASSERT_TRUE(strstr((char *)b.data, s.text) == NULL);
    ASSERT_TRUE(strstr((char *)b.data, "eyJhbGci") == NULL);
    ASSERT_CONTAINS((char *)b.data, "\"sql\":\"[redacted]\"");
    ASSERT_CONTAINS((char *)b.data, "\"peer\":\"10.0.0.1:5000\"");
    st_buf_cleanup(&b);
}
