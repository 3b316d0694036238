/*
 * fuzz_auth.c: arbitrary bytes through stratad's credential check (gateway/auth.c,
 * gw_authenticate) against a real policy store holding a provisioned operator token.
 * The first byte picks the transport (gRPC, HTTP, HTTP v1) and how many of the
 * NUL-separated values are `authorization` values and how many `p=` values. Checks: no
 * crash or sanitizer report, a principal comes back exactly when the input carries the
 * operator token once in a form the transport accepts, and an authenticated principal is
 * the operator.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_int.h"
#include "strata/file.h"

static struct gw_server srv;
struct gw_server *gw_srv = &srv;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TOKEN[] = "fuzz-operator-token/0123456789:abcdef+xyz";

static char dir[] = "/tmp/gw-fuzz-auth-XXXXXX";

static void
remove_dir(void)
{
    st_remove_tree(dir, NULL);
}

static void
setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (!mkdtemp(dir))
        abort();
    atexit(remove_dir);
    static char tok[300], pol[300], pep[300];
    snprintf(tok, sizeof tok, "%s/token", dir);
    snprintf(pol, sizeof pol, "%s/policy.json", dir);
    snprintf(pep, sizeof pep, "%s/pepper", dir);
    FILE *f = fopen(tok, "w");
    if (!f || fputs(TOKEN, f) < 0 || fclose(f) != 0)
        abort();
    srv.cfg.admin_token_file = tok;
    srv.cfg.policy_file = pol;
    srv.cfg.token_pepper_file = pep;
    bool created;
    struct st_error err;
    if (gw_policy_open(&srv, &created, &err) != ST_OK) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

/* Does `v` carry the operator token in a form `tr` accepts? (the oracle) */
static bool
carries_token(const uint8_t *v, size_t n, enum rbac_transport tr, bool as_p)
{
    size_t tl = sizeof TOKEN - 1;
    if (as_p)
        return n == tl && !memcmp(v, TOKEN, tl);
    if (n == 7 + tl && !memcmp(v, "Bearer ", 7) && !memcmp(v + 7, TOKEN, tl))
        return true;
    if (tr != RBAC_TRANSPORT_GRPC && n == 6 + tl && !memcmp(v, "Token ", 6) &&
        !memcmp(v + 6, TOKEN, tl))
        return true;
    return false; /* Basic forms are possible but the fuzzer is not expected to find them */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    struct gw_cred_src src = {.transport = (enum rbac_transport)(ctl % 3)};
    struct rbac_bytes v[4];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 4; i++)
        if (i == size || data[i] == 0) {
            v[n].ptr = data + start;
            v[n].len = i - start;
            n++;
            start = i + 1;
        }
    size_t n_hdr = (ctl >> 2) & 3;
    if (n_hdr > n)
        n_hdr = n;
    for (size_t i = 0; i < n_hdr && i < GW_AUTHZ_VALUES_MAX; i++)
        src.values[i] = v[i];
    src.n_values = n_hdr > GW_AUTHZ_VALUES_MAX ? GW_AUTHZ_VALUES_MAX : n_hdr;
    for (size_t i = n_hdr; i < n && src.n_p < GW_AUTHZ_VALUES_MAX; i++)
        src.p[src.n_p++] = v[i];
    struct gw_principal who;
    gw_principal_init(&who);
    snprintf(who.peer, sizeof who.peer, "10.0.0.%u:1234", ctl);
    struct st_error err;
    enum st_code rc = gw_authenticate(&src, "fuzz", &who, &err);
    bool p_counts = src.transport == RBAC_TRANSPORT_HTTP_V1;
    size_t total = src.n_values + (p_counts ? src.n_p : 0);
    bool one = total == 1 && (src.n_values == 1 ? carries_token(src.values[0].ptr,
                                                                src.values[0].len,
                                                                src.transport, false)
                                                : carries_token(src.p[0].ptr, src.p[0].len,
                                                                src.transport, true));
    if (rc == ST_OK && (!who.authenticated || who.p.kind != RBAC_PRINCIPAL_OPERATOR))
        abort();
    if (one && rc != ST_OK)
        abort();
    if (rc == ST_OK && total != 1)
        abort();
    gw_principal_cleanup(&who);
    return 0;
}
