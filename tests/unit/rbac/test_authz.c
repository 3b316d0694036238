/*
 * test_authz.c: the strict base64 codecs and the Authorization header parser
 * (security-anchors.md s. 2.2 header rows): schemes per transport, case,
 * whitespace, multiple values, size caps, charset, Basic and p=.
 */
#include "tu.h"

#include <stdlib.h>

TEST(b64url_round_trip_and_canonicality)
{
    uint8_t in[64], out[64];
    char txt[128];
    for (size_t n = 0; n <= 40; n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(i * 37 + n);
        size_t l = rbac__b64url_encode(in, n, txt), dl = 99;
        ASSERT_EQ_INT(l, (n * 4 + 2) / 3);
        ASSERT_OK(rbac__b64url_decode((uint8_t *)txt, l, out, sizeof out, &dl));
        ASSERT_EQ_INT(dl, n);
        ASSERT_TRUE(memcmp(in, out, n) == 0);
    }
    size_t dl;
    const char *bad[] = {"A", "AB=", "AB==", "A+B/", "AB C", "AB\n", "AB!", "AAAAA", "AB",
                         "ABC"};
    /* "AB" -> 'B' has trailing bits set; "ABC": 'C' has trailing bits set */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ASSERT_EQ_INT(rbac__b64url_decode((const uint8_t *)bad[i], strlen(bad[i]), out,
                                          sizeof out, &dl),
                      -1);
    ASSERT_OK(rbac__b64url_decode((const uint8_t *)"AA", 2, out, sizeof out, &dl));
    ASSERT_OK(rbac__b64url_decode((const uint8_t *)"AAE", 3, out, sizeof out, &dl));
    ASSERT_EQ_INT(rbac__b64url_decode((const uint8_t *)"AAAA", 4, out, 2, &dl), -1); /* cap */
    /* standard alphabet with padding */
    ASSERT_OK(rbac__b64std_decode((const uint8_t *)"YTpi", 4, out, sizeof out, &dl));
    ASSERT_TRUE(dl == 3 && memcmp(out, "a:b", 3) == 0);
    ASSERT_OK(rbac__b64std_decode((const uint8_t *)"YQ==", 4, out, sizeof out, &dl));
    ASSERT_EQ_INT(dl, 1);
    const char *sbad[] = {"YQ", "YQ=", "YR==", "Y===", "=YQ=", "YQ=A", "Y-_A", ""};
    for (size_t i = 0; i < sizeof sbad / sizeof *sbad; i++)
        ASSERT_EQ_INT(rbac__b64std_decode((const uint8_t *)sbad[i], strlen(sbad[i]), out,
                                          sizeof out, &dl),
                      -1);
}

static enum rbac_authz_reason
parse_one(enum rbac_transport tr, const char *v, struct rbac_credential *c)
{
    struct rbac_bytes b = {(const uint8_t *)v, strlen(v)};
    struct rbac_authz_input in = {.transport = tr, .values = &b, .n_values = 1};
    enum rbac_authz_reason why = 99;
    struct st_error e;
    enum st_code rc = rbac_authz_parse(&in, c, &why, &e);
    if (rc == ST_OK) {
        ASSERT_EQ_INT(why, RBAC_AUTHZ_OK);
    } else {
        ASSERT_EQ_INT(rc, ST_EUNAUTHENTICATED);
        ASSERT_EQ_STR(e.msg, RBAC_UNAUTHENTICATED_MSG);
        ASSERT_EQ_INT(c->kind, RBAC_CRED_NONE);
    }
    return why;
}

static const char *TOK = "strata_d_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

TEST(authz_bearer_schemes_and_case)
{
    struct rbac_credential c;
    char v[256];
    const char *schemes[] = {"Bearer", "bearer", "BEARER", "BeArEr"};
    for (int i = 0; i < 4; i++) {
        snprintf(v, sizeof v, "%s %s", schemes[i], TOK);
        ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_GRPC, v, &c), RBAC_AUTHZ_OK);
        ASSERT_EQ_INT(c.kind, RBAC_CRED_OPAQUE);
        ASSERT_EQ_INT(c.len, strlen(TOK));
        ASSERT_TRUE(memcmp(c.ptr, TOK, c.len) == 0);
        ASSERT_EQ_INT(c.scheme, RBAC_SCHEME_BEARER);
    }
    snprintf(v, sizeof v, "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, v, &c), RBAC_AUTHZ_OK);
    ASSERT_EQ_INT(c.kind, RBAC_CRED_JWT);
    /* Token on HTTP, not on gRPC by default */
    snprintf(v, sizeof v, "Token %s", TOK);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, v, &c), RBAC_AUTHZ_OK);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_GRPC, v, &c), RBAC_AUTHZ_SCHEME);
    snprintf(v, sizeof v, "Baerer %s", TOK);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, v, &c), RBAC_AUTHZ_SCHEME);
    snprintf(v, sizeof v, "Digest %s", TOK);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, v, &c), RBAC_AUTHZ_SCHEME);
}

TEST(authz_malformed_values)
{
    struct rbac_credential c;
    char v[256];
    struct {
        const char *fmt;
        enum rbac_authz_reason r;
    } cases[] = {
        {"", RBAC_AUTHZ_MALFORMED},          {"Bearer", RBAC_AUTHZ_MALFORMED},
        {"Bearer ", RBAC_AUTHZ_MALFORMED},   {"%s", RBAC_AUTHZ_MALFORMED},
        {"Bearer  %s", RBAC_AUTHZ_CHARSET},  {"Bearer\t%s", RBAC_AUTHZ_MALFORMED},
        {" Bearer %s", RBAC_AUTHZ_MALFORMED}, {"Bearer %s ", RBAC_AUTHZ_CHARSET},
        {"Bearer %s\r\nX-Evil: 1", RBAC_AUTHZ_CHARSET}, {"Bearer %s,%s", RBAC_AUTHZ_OK},
        {"Bearer %s\xc3\xa9", RBAC_AUTHZ_CHARSET}, {"Bearer: %s", RBAC_AUTHZ_MALFORMED},
        {"Bearer abc", RBAC_AUTHZ_UNRECOGNISED}, {"Bearer a.b", RBAC_AUTHZ_UNRECOGNISED},
        {"Bearer a..b", RBAC_AUTHZ_UNRECOGNISED}, {"Bearer .a.b", RBAC_AUTHZ_UNRECOGNISED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(v, sizeof v, cases[i].fmt, TOK, TOK);
#pragma GCC diagnostic pop
        if (parse_one(RBAC_TRANSPORT_HTTP, v, &c) != cases[i].r)
            th_fail(__FILE__, __LINE__, "case %zu (%s)", i, cases[i].fmt);
    }
    /* an embedded NUL */
    char nul[80];
    int n = snprintf(nul, sizeof nul, "Bearer %s", TOK);
    nul[n - 3] = '\0';
    struct rbac_bytes b = {(const uint8_t *)nul, (size_t)n};
    struct rbac_authz_input in = {.transport = RBAC_TRANSPORT_GRPC, .values = &b, .n_values = 1};
    enum rbac_authz_reason why;
    ASSERT_CODE(rbac_authz_parse(&in, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_CHARSET);
}

TEST(authz_exactly_one_credential)
{
    struct rbac_credential c;
    enum rbac_authz_reason why;
    char good[128];
    snprintf(good, sizeof good, "Bearer %s", TOK);
    struct rbac_bytes vals[2] = {{(const uint8_t *)good, strlen(good)},
                                 {(const uint8_t *)"garbage", 7}};
    struct rbac_authz_input in = {.transport = RBAC_TRANSPORT_GRPC, .values = vals, .n_values = 0};
    ASSERT_CODE(rbac_authz_parse(&in, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_MISSING);
    in.n_values = 2; /* valid + garbage */
    ASSERT_CODE(rbac_authz_parse(&in, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_MULTIPLE);
    vals[1] = vals[0]; /* identical twice */
    ASSERT_CODE(rbac_authz_parse(&in, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_MULTIPLE);
    /* header plus p= on v1; two p= */
    struct rbac_bytes p[2] = {{(const uint8_t *)TOK, strlen(TOK)}, {(const uint8_t *)TOK, strlen(TOK)}};
    struct rbac_authz_input v1 = {.transport = RBAC_TRANSPORT_HTTP_V1, .values = vals,
                                  .n_values = 1, .p_params = p, .n_p_params = 1};
    ASSERT_CODE(rbac_authz_parse(&v1, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_MULTIPLE);
    v1.n_values = 0;
    ASSERT_OK(rbac_authz_parse(&v1, &c, &why, NULL));
    ASSERT_EQ_INT(c.scheme, RBAC_SCHEME_QUERY_P);
    ASSERT_EQ_INT(c.kind, RBAC_CRED_OPAQUE);
    v1.n_p_params = 2;
    ASSERT_CODE(rbac_authz_parse(&v1, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_MULTIPLE);
    /* p= is not looked at outside v1 */
    v1.transport = RBAC_TRANSPORT_HTTP;
    v1.n_p_params = 1;
    ASSERT_CODE(rbac_authz_parse(&v1, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_MISSING);
    /* a p value with a percent escape */
    struct rbac_bytes pe = {(const uint8_t *)"strata_d%5F", 11};
    struct rbac_authz_input v1b = {.transport = RBAC_TRANSPORT_HTTP_V1, .p_params = &pe,
                                   .n_p_params = 1};
    /* printable: it parses (as an opaque credential no token can match) */
    ASSERT_CODE(rbac_authz_parse(&v1b, &c, &why, NULL), ST_OK);
    ASSERT_EQ_INT(c.kind, RBAC_CRED_OPAQUE);
    /* a p value with a control character does not */
    struct rbac_bytes pc = {(const uint8_t *)"strata_d\x01", 9};
    v1b.p_params = &pc;
    ASSERT_CODE(rbac_authz_parse(&v1b, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_CHARSET);
}

TEST(authz_size_caps)
{
    struct rbac_credential c;
    char *v = malloc(1 << 20);
    memcpy(v, "Bearer ", 7);
    memset(v + 7, 'a', (1 << 20) - 8);
    v[(1 << 20) - 1] = '\0';
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_GRPC, v, &c), RBAC_AUTHZ_TOO_LARGE);
    v[16 * 1024] = '\0';
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_GRPC, v, &c), RBAC_AUTHZ_TOO_LARGE);
    v[7 + RBAC_CRED_MAX + 1] = '\0';
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_GRPC, v, &c), RBAC_AUTHZ_TOO_LARGE);
    free(v);
}

static char *
basic(const char *userpass)
{
    char *o = malloc(strlen(userpass) * 2 + 16);
    strcpy(o, "Basic ");
    size_t n = rbac__b64std_encode((const uint8_t *)userpass, strlen(userpass), o + 6);
    o[6 + n] = '\0';
    return o;
}

TEST(authz_basic_takes_the_password_as_token)
{
    struct rbac_credential c;
    char up[128];
    snprintf(up, sizeof up, "telegraf:%s", TOK);
    char *v = basic(up);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP_V1, v, &c), RBAC_AUTHZ_OK);
    ASSERT_EQ_INT(c.scheme, RBAC_SCHEME_BASIC);
    ASSERT_EQ_INT(c.len, strlen(TOK));
    ASSERT_TRUE(memcmp(c.ptr, TOK, c.len) == 0);
    rbac_credential_wipe(&c);
    ASSERT_TRUE(c.ptr == NULL);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_GRPC, v, &c), RBAC_AUTHZ_SCHEME);
    free(v);
    snprintf(up, sizeof up, ":%s", TOK); /* empty user is fine */
    v = basic(up);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, v, &c), RBAC_AUTHZ_OK);
    free(v);
    const char *bad[] = {"nocolon", "user:", "us\x01r:x", "a:b:c"};
    /* "a:b:c": the password "b:c" is printable but too short to be any credential */
    enum rbac_authz_reason want[] = {RBAC_AUTHZ_BASIC, RBAC_AUTHZ_BASIC, RBAC_AUTHZ_BASIC,
                                     RBAC_AUTHZ_UNRECOGNISED};
    for (int i = 0; i < 4; i++) {
        v = basic(bad[i]);
        ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, v, &c), want[i]);
        free(v);
    }
    char raw[128];
    snprintf(raw, sizeof raw, "Basic %s", TOK); /* not base64 of user:token */
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, raw, &c), RBAC_AUTHZ_BASIC);
    ASSERT_EQ_INT(parse_one(RBAC_TRANSPORT_HTTP, "Basic dXNlcjp0b2tlbg", &c), RBAC_AUTHZ_BASIC);
    /* schemes can be narrowed */
    snprintf(up, sizeof up, "u:%s", TOK);
    v = basic(up);
    struct rbac_bytes b = {(const uint8_t *)v, strlen(v)};
    struct rbac_authz_input in = {.transport = RBAC_TRANSPORT_HTTP, .schemes = RBAC_SCHEME_BEARER,
                                  .values = &b, .n_values = 1};
    enum rbac_authz_reason why;
    ASSERT_CODE(rbac_authz_parse(&in, &c, &why, NULL), ST_EUNAUTHENTICATED);
    ASSERT_EQ_INT(why, RBAC_AUTHZ_SCHEME);
    free(v);
}

TEST(names_are_strict)
{
    const char *good[] = {"metrics", "a", "db_1", "Tenant-B", "0abc"};
    for (size_t i = 0; i < 5; i++)
        ASSERT_OK(rbac_name_check(RBAC_NAME_DATABASE, good[i], strlen(good[i]), NULL));
    const char *bad[] = {"../tenant-b/metrics", "a/b", "a\\b", ".", "..", "", "*", "%2e%2e%2f",
                         "a\nb", " lead", "_x", "-x", "\xef\xbd\x8d\xef\xbd\x85",
                         "\xd1\x96nflux", "a\xe2\x80\x8b", "a\xe2\x80\xae", "a.b", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct st_error e;
        ASSERT_CODE(rbac_name_check(RBAC_NAME_DATABASE, bad[i], strlen(bad[i]), &e), ST_EINVAL);
    }
    char l[300];
    memset(l, 'a', sizeof l);
    ASSERT_OK(rbac_name_check(RBAC_NAME_DATABASE, l, 64, NULL));
    ASSERT_CODE(rbac_name_check(RBAC_NAME_DATABASE, l, 65, NULL), ST_EINVAL);
    ASSERT_CODE(rbac_name_check(RBAC_NAME_DATABASE, "a\0b", 3, NULL), ST_EINVAL);
    ASSERT_OK(rbac_name_check(RBAC_NAME_TOKEN, "CI writer #2", 12, NULL));
    ASSERT_CODE(rbac_name_check(RBAC_NAME_TOKEN, "x ", 2, NULL), ST_EINVAL);
    ASSERT_CODE(rbac_name_check(RBAC_NAME_TOKEN, "a\tb", 3, NULL), ST_EINVAL);
    ASSERT_OK(rbac_name_check(RBAC_NAME_SUBJECT, "J\xc3\xbcrgen@x", 9, NULL));
    ASSERT_CODE(rbac_name_check(RBAC_NAME_SUBJECT, "a\xc2\x85", 3, NULL), ST_EINVAL); /* C1 */
    ASSERT_CODE(rbac_name_check(RBAC_NAME_SUBJECT, "\xff", 1, NULL), ST_EINVAL);
    ASSERT_CODE(rbac_name_check(RBAC_NAME_SUBJECT, l, 257, NULL), ST_EINVAL);
}
