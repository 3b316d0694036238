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

/* ---- exact bytes ----
 * The audit log is a hash chain over the exact bytes of every line: a change of one byte in
 * how a line is built breaks `strata audit verify` on every log written before it. These
 * lines were produced by the builder as it stood when they were pinned (per-byte appends);
 * any rewrite of the builder must reproduce them byte for byte, hashes included. */

/* Print a line as a C string literal (octal escapes for bytes >= 0x80, which no hex digit
 * can follow by accident), for a failure message and for re-pinning on a deliberate change
 * of the format. */
static void
print_c_literal(const char *s, size_t n)
{
    fputc('"', stderr);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(stderr, "\\%03o", c);
        else
            fputc(c, stderr);
    }
    fputs("\"\n", stderr);
}

static void
expect_lines(const struct st_buf *b, const char *const *want, size_t n_want)
{
    const char *p = (const char *)b->data, *end = p + b->len;
    for (size_t k = 0; k < n_want; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        ASSERT_TRUE(nl != NULL);
        size_t l = (size_t)(nl - p) + 1;
        if (l != strlen(want[k]) || memcmp(p, want[k], l) != 0) {
            fprintf(stderr, "audit line %zu differs; got:\n", k + 1);
            print_c_literal(p, l);
            th_fail(__FILE__, __LINE__, "audit line %zu is not the pinned bytes", k + 1);
        }
        p = nl + 1;
    }
    ASSERT_TRUE(p == end);
}

/* Events with every kind of field value the builder treats differently. */
static struct rbac_audit_event
pin_event(int i)
{
    struct rbac_audit_event ev = {0};
    ev.time_ns = TU_NOW + i * NS + 123456789; /* a fraction of a second */
    ev.rows = ev.bytes = ev.lines = ev.rejected = ev.duration_ns = -1; /* absent */
    switch (i) {
    case 1: /* every member present, plain ASCII, zero and large integers */
        ev.category = "query";
        ev.principal = "token:00000000000000aa";
        ev.tenant = "acme";
        ev.database = "metrics";
        ev.method = "/arrow.flight.protocol.FlightService/DoGet";
        ev.peer = "ipv6:[::1]:50514";
        ev.request_id = "req-0001";
        ev.outcome = RBAC_AUDIT_ALLOW;
        ev.reason = "ok";
        ev.detail = "all fine / nothing to see";
        ev.target = "user:bob";
        ev.sql = "SELECT host, max(usage_user) FROM cpu WHERE host = 'host_0' GROUP BY 1";
        ev.rows = 0;
        ev.bytes = INT64_MAX;
        ev.lines = 1;
        ev.rejected = 0;
        ev.duration_ns = 1500;
        break;
    case 2: /* every pointer NULL (principal becomes "anonymous"), every integer absent */
        ev.outcome = RBAC_AUDIT_DENY;
        break;
    case 3: /* empty strings; escapes and every control character */
        ev.category = "";
        ev.principal = "";
        ev.outcome = RBAC_AUDIT_UNAUTHENTICATED;
        ev.reason = "quote\" backslash\\ slash/ tab\t cr\r nl\n del\x7f";
        ev.detail = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12"
                    "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\x7e\x7f";
        ev.rows = 12;
        break;
    case 4: /* UTF-8, valid and not (every refused byte run becomes one U+FFFD) */
        ev.category = "write";
        ev.outcome = RBAC_AUDIT_ERROR;
        ev.tenant = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac \xc2\xa0";
        ev.database = "lone \x80 run \x80\x80\x80\x80\x80\x80 cut \xe2\x82x end \xe2";
        ev.method = "overlong \xc0\xaf surrogate \xed\xa0\x80 toobig \xf4\x90\x80\x80 ff \xff fe "
                    "\xfe f8 \xf8\x88\x80\x80\x80";
        ev.peer = "c1 \xc2\x85 zw \xe2\x80\x8b bidi \xe2\x80\xae iso \xe2\x81\xa6 bom \xef\xbb\xbf "
                  "ls \xe2\x80\xa8 ps \xe2\x80\xa9";
        ev.request_id = "extra cont \xc3\xa9\xa9 then \xc3\xa9\xc3";
        ev.reason = "max \xf4\x8f\xbf\xbf min4 \xf0\x90\x80\x80 last3 \xef\xbf\xbd";
        ev.lines = 5;
        ev.rejected = 2;
        break;
    case 5: /* secret-shaped values are redacted; an unknown outcome */
        ev.category = "authn";
        ev.principal = "strata_d_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
        ev.outcome = (enum rbac_audit_outcome)99;
        ev.detail = "bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        ev.target = "strata_x_not_a_token eyJ.no";
        ev.sql = "SELECT 'strata_o_' || 'x'";
        ev.duration_ns = 0;
        break;
    }
    return ev;
}

static void
pin_file(struct rbac_audit_chain *c, const char *cluster, uint64_t file_no, struct st_buf *b)
{
    ASSERT_OK(rbac_audit_genesis(c, cluster, file_no, TU_NOW, b, NULL));
    for (int i = 1; i <= 5; i++) {
        struct rbac_audit_event ev = pin_event(i);
        ASSERT_OK(rbac_audit_line(c, &ev, b, NULL));
    }
}

static const char *const pinned_sha256[] = {
    "{\"seq\":0,\"time\":\"2023-11-14T22:13:20Z\",\"type\":\"genesis\",\"format\":\"strata-au"
    "dit\",\"version\":1,\"chain\":\"sha256\",\"file\":0,\"cluster_id\":\"cluster-\\\"1\\\"\\"
    "u0001\303\251\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000"
    "000\",\"hash\":\"1b9ec1d4396c7c16838b129298ffd2538fd37daa3e2a0e8af3476f5cf04f0fb2\"}\n",
    "{\"seq\":1,\"time\":\"2023-11-14T22:13:21.123456789Z\",\"type\":\"event\",\"category\":"
    "\"query\",\"principal\":\"token:00000000000000aa\",\"tenant\":\"acme\",\"database\":\"me"
    "trics\",\"method\":\"/arrow.flight.protocol.FlightService/DoGet\",\"peer\":\"ipv6:[::1]:"
    "50514\",\"request_id\":\"req-0001\",\"outcome\":\"allow\",\"reason\":\"ok\",\"detail\":"
    "\"all fine / nothing to see\",\"target\":\"user:bob\",\"sql\":\"SELECT host, max(usage_u"
    "ser) FROM cpu WHERE host = 'host_0' GROUP BY 1\",\"rows\":0,\"bytes\":922337203685477580"
    "7,\"lines\":1,\"rejected\":0,\"duration_ns\":1500,\"prev\":\"1b9ec1d4396c7c16838b129298f"
    "fd2538fd37daa3e2a0e8af3476f5cf04f0fb2\",\"hash\":\"b639b3aa8cca3a3cfacbd6cbaf61b3306de37"
    "d1826ba5f159719e75d6f7ae655\"}\n",
    "{\"seq\":2,\"time\":\"2023-11-14T22:13:22.123456789Z\",\"type\":\"event\",\"principal\":"
    "\"anonymous\",\"outcome\":\"deny\",\"prev\":\"b639b3aa8cca3a3cfacbd6cbaf61b3306de37d1826"
    "ba5f159719e75d6f7ae655\",\"hash\":\"16654e0c5a5cdff00b03ddf86393eaeef37d4793bb8b4a2042fc"
    "d6db0c61ee39\"}\n",
    "{\"seq\":3,\"time\":\"2023-11-14T22:13:23.123456789Z\",\"type\":\"event\",\"category\":"
    "\"\",\"principal\":\"\",\"outcome\":\"unauthenticated\",\"reason\":\"quote\\\" backslash"
    "\\\\ slash/ tab\\u0009 cr\\u000d nl\\u000a del\\u007f\",\"detail\":\"\\u0001\\u0002\\u00"
    "03\\u0004\\u0005\\u0006\\u0007\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f\\"
    "u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001"
    "c\\u001d\\u001e\\u001f ~\\u007f\",\"rows\":12,\"prev\":\"16654e0c5a5cdff00b03ddf86393eae"
    "ef37d4793bb8b4a2042fcd6db0c61ee39\",\"hash\":\"abeaf784970378fb714f5b9e24e3319f60f9a59d1"
    "9ba350b99dee1d752876aa0\"}\n",
    "{\"seq\":4,\"time\":\"2023-11-14T22:13:24.123456789Z\",\"type\":\"event\",\"category\":"
    "\"write\",\"principal\":\"anonymous\",\"tenant\":\"caf\303\251 \342\202\254 \360\237\230"
    "\200 \346\227\245\346\234\254 \302\240\",\"database\":\"lone \\ufffd run \\ufffd\\ufffd "
    "cut \\ufffdx end \\ufffd\",\"method\":\"overlong \\ufffd surrogate \\ufffd toobig \\ufff"
    "d ff \\ufffd fe \\ufffd f8 \\ufffd\\ufffd\",\"peer\":\"c1 \\ufffd zw \\ufffd bidi \\ufff"
    "d iso \\ufffd bom \\ufffd ls \\ufffd ps \\ufffd\",\"request_id\":\"extra cont \\ufffd th"
    "en \303\251\\ufffd\",\"outcome\":\"error\",\"reason\":\"max \364\217\277\277 min4 \360"
    "\220\200\200 last3 \357\277\275\",\"lines\":5,\"rejected\":2,\"prev\":\"abeaf784970378fb"
    "714f5b9e24e3319f60f9a59d19ba350b99dee1d752876aa0\",\"hash\":\"b6de9be702eb7b9703c573bbf1"
    "f06a22ef8e3b361896a0ea60e0ab807a35531b\"}\n",
    "{\"seq\":5,\"time\":\"2023-11-14T22:13:25.123456789Z\",\"type\":\"event\",\"category\":"
    "\"authn\",\"principal\":\"[redacted]\",\"outcome\":\"unknown\",\"detail\":\"[redacted]\""
    ",\"target\":\"strata_x_not_a_token eyJ.no\",\"sql\":\"[redacted]\",\"duration_ns\":0,\"p"
    "rev\":\"b6de9be702eb7b9703c573bbf1f06a22ef8e3b361896a0ea60e0ab807a35531b\",\"hash\":\"6f"
    "652328cccffdf42736c04e7e7cde301257aa62aef6ba5d9fbc234cbb7f351e\"}\n",
    "{\"seq\":6,\"time\":\"2023-11-14T22:13:20Z\",\"type\":\"genesis\",\"format\":\"strata-au"
    "dit\",\"version\":1,\"chain\":\"sha256\",\"file\":1,\"cluster_id\":\"\",\"prev\":\"6f652"
    "328cccffdf42736c04e7e7cde301257aa62aef6ba5d9fbc234cbb7f351e\",\"hash\":\"9380d17dc98faa0"
    "00082a56c2eda83b149204dfb8836b0a842e5858dd8c18241\"}\n",
    "{\"seq\":7,\"time\":\"2023-11-14T22:13:21.123456789Z\",\"type\":\"event\",\"category\":"
    "\"query\",\"principal\":\"token:00000000000000aa\",\"tenant\":\"acme\",\"database\":\"me"
    "trics\",\"method\":\"/arrow.flight.protocol.FlightService/DoGet\",\"peer\":\"ipv6:[::1]:"
    "50514\",\"request_id\":\"req-0001\",\"outcome\":\"allow\",\"reason\":\"ok\",\"detail\":"
    "\"all fine / nothing to see\",\"target\":\"user:bob\",\"sql\":\"SELECT host, max(usage_u"
    "ser) FROM cpu WHERE host = 'host_0' GROUP BY 1\",\"rows\":0,\"bytes\":922337203685477580"
    "7,\"lines\":1,\"rejected\":0,\"duration_ns\":1500,\"prev\":\"9380d17dc98faa000082a56c2ed"
    "a83b149204dfb8836b0a842e5858dd8c18241\",\"hash\":\"43a1de07fe093399b809051db0288df823292"
    "701becaf9f8db9c5e5a51f6b46b\"}\n",
    "{\"seq\":8,\"time\":\"2023-11-14T22:13:22.123456789Z\",\"type\":\"event\",\"principal\":"
    "\"anonymous\",\"outcome\":\"deny\",\"prev\":\"43a1de07fe093399b809051db0288df823292701be"
    "caf9f8db9c5e5a51f6b46b\",\"hash\":\"fa0e85a064da8c57205f9fb5ab34b97146bf495f27b7eee5690b"
    "3be7830f2c92\"}\n",
    "{\"seq\":9,\"time\":\"2023-11-14T22:13:23.123456789Z\",\"type\":\"event\",\"category\":"
    "\"\",\"principal\":\"\",\"outcome\":\"unauthenticated\",\"reason\":\"quote\\\" backslash"
    "\\\\ slash/ tab\\u0009 cr\\u000d nl\\u000a del\\u007f\",\"detail\":\"\\u0001\\u0002\\u00"
    "03\\u0004\\u0005\\u0006\\u0007\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f\\"
    "u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001"
    "c\\u001d\\u001e\\u001f ~\\u007f\",\"rows\":12,\"prev\":\"fa0e85a064da8c57205f9fb5ab34b97"
    "146bf495f27b7eee5690b3be7830f2c92\",\"hash\":\"55d8aa6df69d3536ac9a0d5044a3b2853dc2ff318"
    "784c41b551cf97b89b4a0e8\"}\n",
    "{\"seq\":10,\"time\":\"2023-11-14T22:13:24.123456789Z\",\"type\":\"event\",\"category\":"
    "\"write\",\"principal\":\"anonymous\",\"tenant\":\"caf\303\251 \342\202\254 \360\237\230"
    "\200 \346\227\245\346\234\254 \302\240\",\"database\":\"lone \\ufffd run \\ufffd\\ufffd "
    "cut \\ufffdx end \\ufffd\",\"method\":\"overlong \\ufffd surrogate \\ufffd toobig \\ufff"
    "d ff \\ufffd fe \\ufffd f8 \\ufffd\\ufffd\",\"peer\":\"c1 \\ufffd zw \\ufffd bidi \\ufff"
    "d iso \\ufffd bom \\ufffd ls \\ufffd ps \\ufffd\",\"request_id\":\"extra cont \\ufffd th"
    "en \303\251\\ufffd\",\"outcome\":\"error\",\"reason\":\"max \364\217\277\277 min4 \360"
    "\220\200\200 last3 \357\277\275\",\"lines\":5,\"rejected\":2,\"prev\":\"55d8aa6df69d3536"
    "ac9a0d5044a3b2853dc2ff318784c41b551cf97b89b4a0e8\",\"hash\":\"72ec1a36e55cd2c6358fb36259"
    "6bf46ec98c1151de9e15c9905d1ffd87317469\"}\n",
    "{\"seq\":11,\"time\":\"2023-11-14T22:13:25.123456789Z\",\"type\":\"event\",\"category\":"
    "\"authn\",\"principal\":\"[redacted]\",\"outcome\":\"unknown\",\"detail\":\"[redacted]\""
    ",\"target\":\"strata_x_not_a_token eyJ.no\",\"sql\":\"[redacted]\",\"duration_ns\":0,\"p"
    "rev\":\"72ec1a36e55cd2c6358fb362596bf46ec98c1151de9e15c9905d1ffd87317469\",\"hash\":\"42"
    "ebddb5200fd24796dc4ffce21359ee6b813a09cf26059009d547008d022013\"}\n",
};

static const char *const pinned_hmac[] = {
    "{\"seq\":0,\"time\":\"2023-11-14T22:13:20Z\",\"type\":\"genesis\",\"format\":\"strata-au"
    "dit\",\"version\":1,\"chain\":\"hmac-sha256\",\"file\":0,\"cluster_id\":\"cluster1\",\"p"
    "rev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"hash\":\"c0"
    "61a49928ec6ca95491c6fddea3230f1e01f8cd24f3e8f56466cab9b8414c0b\"}\n",
    "{\"seq\":1,\"time\":\"2023-11-14T22:13:21.123456789Z\",\"type\":\"event\",\"category\":"
    "\"query\",\"principal\":\"token:00000000000000aa\",\"tenant\":\"acme\",\"database\":\"me"
    "trics\",\"method\":\"/arrow.flight.protocol.FlightService/DoGet\",\"peer\":\"ipv6:[::1]:"
    "50514\",\"request_id\":\"req-0001\",\"outcome\":\"allow\",\"reason\":\"ok\",\"detail\":"
    "\"all fine / nothing to see\",\"target\":\"user:bob\",\"sql\":\"SELECT host, max(usage_u"
    "ser) FROM cpu WHERE host = 'host_0' GROUP BY 1\",\"rows\":0,\"bytes\":922337203685477580"
    "7,\"lines\":1,\"rejected\":0,\"duration_ns\":1500,\"prev\":\"c061a49928ec6ca95491c6fddea"
    "3230f1e01f8cd24f3e8f56466cab9b8414c0b\",\"hash\":\"ff9a31dedc51d4d97f626d4b6d54fab533258"
    "47bcfaac2c6a5ad5a8623a6fcc8\"}\n",
    "{\"seq\":2,\"time\":\"2023-11-14T22:13:22.123456789Z\",\"type\":\"event\",\"principal\":"
    "\"anonymous\",\"outcome\":\"deny\",\"prev\":\"ff9a31dedc51d4d97f626d4b6d54fab53325847bcf"
    "aac2c6a5ad5a8623a6fcc8\",\"hash\":\"ffbff136a19fe3bb1993ee7297c8b3852a5a18c6795a243cda86"
    "ceb79eaeb0a7\"}\n",
    "{\"seq\":3,\"time\":\"2023-11-14T22:13:23.123456789Z\",\"type\":\"event\",\"category\":"
    "\"\",\"principal\":\"\",\"outcome\":\"unauthenticated\",\"reason\":\"quote\\\" backslash"
    "\\\\ slash/ tab\\u0009 cr\\u000d nl\\u000a del\\u007f\",\"detail\":\"\\u0001\\u0002\\u00"
    "03\\u0004\\u0005\\u0006\\u0007\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f\\"
    "u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001"
    "c\\u001d\\u001e\\u001f ~\\u007f\",\"rows\":12,\"prev\":\"ffbff136a19fe3bb1993ee7297c8b38"
    "52a5a18c6795a243cda86ceb79eaeb0a7\",\"hash\":\"a5a2a183a7294f4d64b378b704a9171bf35ef4307"
    "f6143d75c533db6204ab311\"}\n",
    "{\"seq\":4,\"time\":\"2023-11-14T22:13:24.123456789Z\",\"type\":\"event\",\"category\":"
    "\"write\",\"principal\":\"anonymous\",\"tenant\":\"caf\303\251 \342\202\254 \360\237\230"
    "\200 \346\227\245\346\234\254 \302\240\",\"database\":\"lone \\ufffd run \\ufffd\\ufffd "
    "cut \\ufffdx end \\ufffd\",\"method\":\"overlong \\ufffd surrogate \\ufffd toobig \\ufff"
    "d ff \\ufffd fe \\ufffd f8 \\ufffd\\ufffd\",\"peer\":\"c1 \\ufffd zw \\ufffd bidi \\ufff"
    "d iso \\ufffd bom \\ufffd ls \\ufffd ps \\ufffd\",\"request_id\":\"extra cont \\ufffd th"
    "en \303\251\\ufffd\",\"outcome\":\"error\",\"reason\":\"max \364\217\277\277 min4 \360"
    "\220\200\200 last3 \357\277\275\",\"lines\":5,\"rejected\":2,\"prev\":\"a5a2a183a7294f4d"
    "64b378b704a9171bf35ef4307f6143d75c533db6204ab311\",\"hash\":\"280a33ec29f25e705f8a88f774"
    "b6a98be1a405dcaebcc913a86c1bdb4deb9ba0\"}\n",
    "{\"seq\":5,\"time\":\"2023-11-14T22:13:25.123456789Z\",\"type\":\"event\",\"category\":"
    "\"authn\",\"principal\":\"[redacted]\",\"outcome\":\"unknown\",\"detail\":\"[redacted]\""
    ",\"target\":\"strata_x_not_a_token eyJ.no\",\"sql\":\"[redacted]\",\"duration_ns\":0,\"p"
    "rev\":\"280a33ec29f25e705f8a88f774b6a98be1a405dcaebcc913a86c1bdb4deb9ba0\",\"hash\":\"85"
    "a05bd645101a4408a4fce0ded39cc1f1b6085ba793f201ef88ea611cfa852e\"}\n",
};

TEST(audit_line_bytes_are_pinned)
{
    struct rbac_audit_chain c;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    ASSERT_OK(rbac_audit_chain_init(&c, NULL, 0, NULL));
    pin_file(&c, "cluster-\"1\"\x01\xc3\xa9", 0, &b);
    size_t len1 = b.len;
    pin_file(&c, NULL, 1, &b); /* a rotated file with no cluster id */
    expect_lines(&b, pinned_sha256, sizeof pinned_sha256 / sizeof *pinned_sha256);
    struct rbac_audit_verify_result r;
    ASSERT_OK(rbac_audit_verify(b.data, len1, NULL, 0, NULL, NULL, &r, NULL));
    ASSERT_EQ_INT(r.n_lines, 6);
    ASSERT_EQ_INT(verify((const char *)b.data + len1, b.len - len1, NULL, 0, r.last_hash, c.prev),
                  0);
    st_buf_reset(&b);

    uint8_t key[40];
    for (int i = 0; i < 40; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    ASSERT_OK(rbac_audit_chain_init(&c, key, sizeof key, NULL));
    pin_file(&c, "cluster1", 0, &b);
    expect_lines(&b, pinned_hmac, sizeof pinned_hmac / sizeof *pinned_hmac);
    ASSERT_EQ_INT(verify((const char *)b.data, b.len, key, sizeof key, NULL, NULL), 0);
    st_buf_cleanup(&b);
}

/* The 64 KiB ceiling applies to the finished line (newline included), after escaping, and
 * keeps one byte spare (the builder has always needed room for a terminating NUL after the
 * hash): a line of exactly 65,535 bytes is written, one byte more is refused, whatever mix
 * of plain and escaped bytes makes it up. */
static enum st_code
line_with_sql(char fill, size_t n, size_t *line_len)
{
    struct rbac_audit_chain c;
    ASSERT_OK(rbac_audit_chain_init(&c, NULL, 0, NULL));
    char *sql = malloc(n + 1);
    ASSERT_TRUE(sql != NULL);
    memset(sql, fill, n);
    sql[n] = 0;
    struct rbac_audit_event ev = pin_event(1);
    ev.sql = sql;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    struct st_error e;
    enum st_code rc = rbac_audit_line(&c, &ev, &b, &e);
    *line_len = b.len;
    if (rc != ST_OK) {
        ASSERT_EQ_INT(b.len, 0); /* nothing of a refused line reaches the output */
        ASSERT_EQ_INT(c.seq, 0);
        ASSERT_EQ_INT(e.code, ST_ELIMIT);
    }
    st_buf_cleanup(&b);
    free(sql);
    return rc;
}

TEST(audit_line_size_limit_is_exact)
{
    size_t base, l;
    ASSERT_OK(line_with_sql('a', 1, &base));
    size_t room = 65535 - base; /* sql bytes beyond the first that still fit */
    ASSERT_OK(line_with_sql('a', 1 + room, &l));
    ASSERT_EQ_INT(l, 65535);
    ASSERT_CODE(line_with_sql('a', 2 + room, &l), ST_ELIMIT);
    /* escaped: a control byte takes six */
    ASSERT_OK(line_with_sql('\x01', 1, &base));
    room = 65535 - base;
    ASSERT_OK(line_with_sql('\x01', 1 + room / 6, &l));
    ASSERT_EQ_INT(l, 65535 - room % 6);
    ASSERT_CODE(line_with_sql('\x01', 2 + room / 6, &l), ST_ELIMIT);
    /* far beyond: refused cleanly */
    ASSERT_CODE(line_with_sql('"', 200000, &l), ST_ELIMIT);
}
