/*
 * fuzz_auth.c: arbitrary bytes as an HTTP Authorization header, as a v1 p= parameter and
 * as gRPC authorization metadata, then through gw_authorize against a fixed operator
 * token. Checks: the credential points inside the input or the decode buffer, and only
 * the exact operator token is accepted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_int.h"

struct gw_server *gw_srv;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TOKEN[] = "fuzz-operator-token-0123456789abcdef";

static void
setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    char path[] = "/tmp/gw-fuzz-auth-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    if (write(fd, TOKEN, sizeof TOKEN - 1) != (ssize_t)(sizeof TOKEN - 1))
        abort();
    close(fd);
    bool gen;
    struct st_error err;
    if (gw_auth_init(path, &gen, &err) != ST_OK)
        abort();
    unlink(path);
}

static void
check(const struct gw_cred *c, const char *in, size_t n)
{
    struct gw_principal who;
    struct st_error err;
    if (c->present) {
        bool in_input = c->tok >= in && c->tok + c->tok_len <= in + n;
        bool in_buf = c->tok >= c->buf && c->tok + c->tok_len <= c->buf + sizeof c->buf;
        if (!in_input && !in_buf)
            abort();
    }
    enum st_code rc = gw_authorize(c, GW_PRIV_READ, "db", &who, &err);
    bool exact = c->present && c->tok_len == sizeof TOKEN - 1 &&
                 memcmp(c->tok, TOKEN, c->tok_len) == 0;
    if ((rc == ST_OK) != exact)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    size_t n = strlen(s);
    struct gw_cred c;
    gw_cred_from_http(&c, s, NULL);
    check(&c, s, n);
    gw_cred_from_http(&c, NULL, s);
    check(&c, s, n);
    gw_cred_from_grpc(&c, (const char *)data, size);
    check(&c, (const char *)data, size);
    free(s);
    return 0;
}
