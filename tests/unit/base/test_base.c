/*
 * test_base.c: status codes, buffers, varints, CRC-32C, clock parsing and
 * formatting, durable file helpers and fault injection.
 */
#include "th.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "strata/buf.h"
#include "strata/clock.h"
#include "strata/crc32c.h"
#include "strata/file.h"
#include "strata/hash.h"
#include "strata/status.h"

TEST(status_every_code_has_a_name)
{
    for (int c = 0; c < ST__COUNT; c++) {
        ASSERT_TRUE(strcmp(st_code_name((enum st_code)c), "EUNKNOWN") != 0);
        ASSERT_TRUE(strcmp(st_strerror((enum st_code)c), "unknown error") != 0);
    }
    ASSERT_EQ_STR(st_code_name((enum st_code)999), "EUNKNOWN");
    ASSERT_TRUE(ST__COUNT < 126);
}

TEST(status_error_set_and_prefix)
{
    struct st_error e;
    st_error_clear(&e);
    ASSERT_EQ_INT(e.offset, -1);
    ASSERT_EQ_INT(st_error_set_at(&e, ST_EPARSE, 17, "unexpected \"%s\"", "FROM"), ST_EPARSE);
    ASSERT_EQ_INT(e.offset, 17);
    st_error_prefix(&e, "query: ");
    ASSERT_EQ_STR(e.msg, "query: unexpected \"FROM\"");
    /* NULL-safe */
    ASSERT_EQ_INT(st_error_set(NULL, ST_EIO, "x"), ST_EIO);
}

TEST(buf_enforces_its_maximum)
{
    struct st_buf b;
    st_buf_init(&b, 10);
    ASSERT_OK(st_buf_append(&b, "0123456789", 10));
    ASSERT_CODE(st_buf_append_byte(&b, 'x'), ST_ELIMIT);
    ASSERT_EQ_INT(b.len, 10);
    st_buf_reset(&b);
    ASSERT_OK(st_buf_printf(&b, "%d-%s", 42, "ab"));
    ASSERT_EQ_INT(b.len, 5);
    ASSERT_TRUE(memcmp(b.data, "42-ab", 5) == 0);
    st_buf_cleanup(&b);
}

TEST(varint_round_trip_and_rejects_overflow)
{
    struct st_buf b;
    uint64_t vals[] = {0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX};
    st_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        ASSERT_OK(st_buf_put_uvarint(&b, vals[i]));
    const uint8_t *p = b.data, *end = b.data + b.len;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint64_t v;
        ASSERT_OK(st_get_uvarint(&p, end, &v));
        ASSERT_EQ_U64(v, vals[i]);
    }
    ASSERT_TRUE(p == end);
    uint8_t bad[11];
    memset(bad, 0xff, sizeof bad);
    p = bad;
    uint64_t v;
    ASSERT_EQ_INT(st_get_uvarint(&p, bad + sizeof bad, &v), -1);
    uint8_t trunc[] = {0x80};
    p = trunc;
    ASSERT_EQ_INT(st_get_uvarint(&p, trunc + 1, &v), -1);
    st_buf_cleanup(&b);
}

TEST(crc32c_check_value)
{
    ASSERT_EQ_U64(st_crc32c(0, "123456789", 9), 0xE3069283u);
    /* incremental = one shot */
    uint32_t c = st_crc32c(0, "1234", 4);
    c = st_crc32c(c, "56789", 5);
    ASSERT_EQ_U64(c, 0xE3069283u);
    char big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = (char)(i * 7);
    uint32_t whole = st_crc32c(0, big, 1000);
    uint32_t part = st_crc32c(st_crc32c(0, big, 333), big + 333, 667);
    ASSERT_EQ_U64(whole, part);
}

TEST(duration_parsing)
{
    int64_t ns;
    ASSERT_OK(st_parse_duration("90", &ns));
    ASSERT_EQ_INT(ns, 90 * ST_NS_PER_SEC);
    ASSERT_OK(st_parse_duration("30s", &ns));
    ASSERT_EQ_INT(ns, 30 * ST_NS_PER_SEC);
    ASSERT_OK(st_parse_duration("5m", &ns));
    ASSERT_EQ_INT(ns, 300 * ST_NS_PER_SEC);
    ASSERT_OK(st_parse_duration("24h", &ns));
    ASSERT_EQ_INT(ns, 86400 * ST_NS_PER_SEC);
    ASSERT_OK(st_parse_duration("7d", &ns));
    ASSERT_EQ_INT(ns, 7 * 86400 * ST_NS_PER_SEC);
    ASSERT_OK(st_parse_duration("250ms", &ns));
    ASSERT_EQ_INT(ns, 250 * ST_NS_PER_MS);
    ASSERT_EQ_INT(st_parse_duration("", &ns), -1);
    ASSERT_EQ_INT(st_parse_duration("-5s", &ns), -1);
    ASSERT_EQ_INT(st_parse_duration("5x", &ns), -1);
    ASSERT_EQ_INT(st_parse_duration("99999999999999999999", &ns), -1);
    ASSERT_EQ_INT(st_parse_duration("9999999999999d", &ns), -1);
}

TEST(rfc3339_round_trip)
{
    int64_t ns;
    char buf[40];
    ASSERT_OK(st_parse_rfc3339("2016-01-01T00:00:00Z", 20, &ns));
    ASSERT_EQ_INT(ns, INT64_C(1451606400000000000));
    st_format_rfc3339(ns, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "2016-01-01T00:00:00Z");
    ASSERT_OK(st_parse_rfc3339("2016-01-01T01:00:00.5+01:00", 27, &ns));
    ASSERT_EQ_INT(ns, INT64_C(1451606400500000000));
    st_format_rfc3339(ns, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "2016-01-01T00:00:00.5Z");
    ASSERT_OK(st_parse_rfc3339("1969-12-31T23:59:59.999999999Z", 30, &ns));
    ASSERT_EQ_INT(ns, -1);
    st_format_rfc3339(-1, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "1969-12-31T23:59:59.999999999Z");
    ASSERT_OK(st_parse_rfc3339("2024-02-29", 10, &ns));
    ASSERT_EQ_INT(st_parse_rfc3339("2023-02-29", 10, &ns), -1);
    ASSERT_EQ_INT(st_parse_rfc3339("2016-13-01T00:00:00Z", 20, &ns), -1);
    ASSERT_EQ_INT(st_parse_rfc3339("2016-01-01T00:00:00Zjunk", 24, &ns), -1);
    ASSERT_EQ_INT(st_parse_rfc3339("2016-01-01T25:00:00Z", 20, &ns), -1);
    ASSERT_OK(st_parse_rfc3339("2016-01-01 00:00:00", 19, &ns));
    ASSERT_EQ_INT(ns, INT64_C(1451606400000000000));
}

TEST(hash_is_stable_and_spreads)
{
    ASSERT_EQ_U64(st_hash("abc", 3, 1), st_hash("abc", 3, 1));
    ASSERT_TRUE(st_hash("abc", 3, 1) != st_hash("abd", 3, 1));
    ASSERT_TRUE(st_hash("abc", 3, 1) != st_hash("abc", 3, 2));
    ASSERT_TRUE(st_hash("", 0, 1) != st_hash("a", 1, 1));
    uint8_t r1[32], r2[32];
    ASSERT_OK(st_random_bytes(r1, sizeof r1));
    ASSERT_OK(st_random_bytes(r2, sizeof r2));
    ASSERT_TRUE(memcmp(r1, r2, 32) != 0);
}

TEST(file_atomic_write_and_read)
{
    struct st_error e;
    const char *p = th_path("x/y/file");
    ASSERT_OK_E(st_mkdir_p(th_path("x/y"), 0700, &e), &e);
    ASSERT_OK_E(st_file_write_atomic(p, "hello", 5, 0600, &e), &e);
    uint8_t *data;
    size_t len;
    ASSERT_OK_E(st_file_read_all(p, 100, &data, &len, &e), &e);
    ASSERT_EQ_INT(len, 5);
    ASSERT_EQ_STR((char *)data, "hello");
    free(data);
    ASSERT_CODE(st_file_read_all(p, 4, &data, &len, &e), ST_ELIMIT);
    ASSERT_CODE(st_file_read_all(th_path("missing"), 4, &data, &len, &e), ST_ENOTFOUND);
}

TEST(fault_injection_short_write_enospc)
{
    struct st_error e;
    struct st_fault f = {.op = ST_FAULT_WRITE, .err = ENOSPC, .short_bytes = 2, .count = 1};
    const char *p = th_path("f");
    int fd = st_file_open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600, &e);
    ASSERT_TRUE(fd >= 0);
    st_fault_arm(&f);
    ASSERT_CODE(st_file_write_all(fd, "abcdef", 6, p, &e), ST_EIO);
    ASSERT_CONTAINS(e.msg, "No space left on device");
    ASSERT_CONTAINS(e.msg, p);
    ASSERT_EQ_INT(st_fault_fired(), 1);
    /* count = 1: the next write succeeds */
    ASSERT_OK(st_file_write_all(fd, "gh", 2, p, &e));
    st_fault_disarm();
    close(fd);
    uint8_t *data;
    size_t len;
    ASSERT_OK(st_file_read_all(p, 100, &data, &len, &e));
    ASSERT_EQ_INT(len, 4); /* 2 torn bytes + 2 */
    free(data);
}

TEST(fault_injection_fsync_and_rename)
{
    struct st_error e;
    struct st_fault f = {.op = ST_FAULT_RENAME, .err = EIO};
    st_fault_arm(&f);
    ASSERT_CODE(st_file_write_atomic(th_path("g"), "x", 1, 0600, &e), ST_EIO);
    ASSERT_TRUE(access(th_path("g"), F_OK) != 0);
    ASSERT_TRUE(access(th_path("g.tmp"), F_OK) != 0);
    struct st_fault f2 = {.op = ST_FAULT_FSYNC, .err = EIO, .path_substr = "g.tmp"};
    st_fault_arm(&f2);
    ASSERT_CODE(st_file_write_atomic(th_path("g"), "x", 1, 0600, &e), ST_EIO);
    ASSERT_TRUE(access(th_path("g"), F_OK) != 0);
    st_fault_disarm();
    ASSERT_OK(st_file_write_atomic(th_path("g"), "x", 1, 0600, &e));
}

#include "strata/utf8.h"

TEST(utf8_validation_is_strict)
{
    size_t at = 99;
    ASSERT_TRUE(st_utf8_valid("", 0, &at));
    ASSERT_TRUE(st_utf8_valid("plain ascii that is longer than thirty-two bytes, surely", 56, NULL));
    ASSERT_TRUE(st_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15, NULL));
    ASSERT_FALSE(st_utf8_valid("abc\xc0\xaf", 5, &at)); /* overlong '/' */
    ASSERT_EQ_INT(at, 3);
    ASSERT_FALSE(st_utf8_valid("\xed\xa0\x80", 3, &at)); /* surrogate */
    ASSERT_FALSE(st_utf8_valid("\xf4\x90\x80\x80", 4, &at)); /* above U+10FFFF */
    ASSERT_FALSE(st_utf8_valid("0123456789abcdef0123456789abcdef0123456789\xe2\x82", 44, &at));
    ASSERT_EQ_INT(at, 42); /* truncated sequence after the fast path */
    ASSERT_FALSE(st_utf8_valid("\xff", 1, NULL));
}
