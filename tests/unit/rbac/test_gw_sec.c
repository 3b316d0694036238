/*
 * test_gw_sec.c: the gateway's half of access control, without a running server:
 * storage names of (tenant, database) pairs (one-to-one, never reachable from a client
 * name), the policy store's start (files, modes, a damaged policy), the credential check
 * (every HTTP form, malformed headers, the failed-attempt limiter per address), the NUL
 * guard on protobuf strings, the method table's invariants, and the audit log files
 * (writer thread, rotation, the chain across files and restarts, a torn tail, reading
 * back per tenant).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_call.h"
#include "gw_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/v1/admin.pb-c.h"
#include "strata/v1/write.pb-c.h"
#include "th.h"

static struct gw_server srv;
struct gw_server *gw_srv = &srv;

static const char OP[] = "unit-test/provisioned:operator+token=0123456789";

/* A policy store in the test's directory with a provisioned operator token. */
static void
open_store(void)
{
    static char tok[512], pol[512], pep[512];
    snprintf(tok, sizeof tok, "%s", th_path("operator-token"));
    snprintf(pol, sizeof pol, "%s", th_path("security/policy.json"));
    snprintf(pep, sizeof pep, "%s", th_path("security/token-pepper"));
    FILE *f = fopen(tok, "w");
    ASSERT_TRUE(f != NULL);
    fputs(OP, f);
    fclose(f);
    srv.cfg.admin_token_file = tok;
    srv.cfg.policy_file = pol;
    srv.cfg.token_pepper_file = pep;
    bool created = true;
    struct st_error err;
    ASSERT_OK_E(gw_policy_open(&srv, &created, &err), &err);
    ASSERT_FALSE(created);
}

/* ---- storage names --------------------------------------------------------------------------- */

TEST(storage_names_are_one_to_one)
{
    open_store(); /* the default tenant is "default" */
    char en[GW_ENGINE_NAME_MAX + 1], t[RBAC_NAME_MAX + 1], d[RBAC_NAME_MAX + 1];
    struct st_error err;
    ASSERT_OK(gw_engine_name("default", "metrics", en, &err));
    ASSERT_EQ_STR(en, "metrics");
    ASSERT_OK(gw_engine_name(NULL, "metrics", en, &err));
    ASSERT_EQ_STR(en, "metrics");
    ASSERT_OK(gw_engine_name("acme", "metrics", en, &err));
    ASSERT_EQ_STR(en, "acme--metrics");
    /* no client name is another pair's storage name */
    ASSERT_CODE(gw_engine_name("default", "acme--metrics", en, &err), ST_EINVAL);
    ASSERT_CODE(gw_engine_name("acme", "x--y", en, &err), ST_EINVAL);
    /* 64 bytes at most: tenant + 2 + database */
    char db62[63];
    memset(db62, 'd', 62);
    db62[62] = '\0';
    ASSERT_OK(gw_engine_name("ab", db62 + 2, en, &err));
    ASSERT_CODE(gw_engine_name("abc", db62 + 2, en, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "at most 59 bytes");
    /* every pair of a set with '-' and '_' at the edges maps to a different name that
     * parses back to it */
    static const char *const ts[] = {"default", "a", "a-", "a_", "ab", "a-b", "b", "x-y-"};
    static const char *const ds[] = {"a", "b", "a-", "-", "b-c", "c", "1", "a_b"};
    char names[64][GW_ENGINE_NAME_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 8; j++) {
            if (rbac_name_check(RBAC_NAME_DATABASE, ds[j], strlen(ds[j]), NULL) != ST_OK)
                continue;
            ASSERT_OK(gw_engine_name(ts[i], ds[j], names[n], &err));
            ASSERT_TRUE(gw_engine_name_parse(names[n], t, d));
            ASSERT_EQ_STR(t, ts[i]);
            ASSERT_EQ_STR(d, ds[j]);
            for (size_t k = 0; k < n; k++)
                if (!strcmp(names[k], names[n]))
                    th_fail(__FILE__, __LINE__, "%s maps twice", names[n]);
            n++;
        }
    ASSERT_TRUE(n > 40);
    /* names the mapping never produces are nobody's */
    ASSERT_FALSE(gw_engine_name_parse("default--x", t, d));
    ASSERT_FALSE(gw_engine_name_parse("--x", t, d));
    ASSERT_FALSE(gw_engine_name_parse("a--", t, d));
    gw_policy_close();
}

/* ---- the policy store ------------------------------------------------------------------------ */

TEST(store_files_and_a_damaged_policy)
{
    const char *tok = th_path("gen-token");
    static char pol[512], pep[512];
    snprintf(pol, sizeof pol, "%s", th_path("sec/policy.json"));
    snprintf(pep, sizeof pep, "%s", th_path("sec/pepper"));
    srv.cfg.admin_token_file = (char *)tok;
    srv.cfg.policy_file = pol;
    srv.cfg.token_pepper_file = pep;
    bool created = false;
    struct st_error err;
    ASSERT_OK_E(gw_policy_open(&srv, &created, &err), &err);
    ASSERT_TRUE(created);
    ASSERT_TRUE(strncmp(gw_policy_operator_token(), "strata_o_", 9) == 0);
    struct stat st;
    ASSERT_EQ_INT(stat(tok, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT_EQ_INT(stat(pep, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT_EQ_INT(st.st_size, 32);
    /* the first start writes the policy once the engine was reconciled: simulate with
     * a change */
    struct rbac_snapshot *s = gw_policy_get();
    ASSERT_TRUE(s != NULL);
    rbac_snapshot_unref(s);
    gw_policy_close();
    /* a damaged policy file: refused, named, untouched */
    FILE *f = fopen(pol, "w");
    fputs("{\"format\": \"strata-rbac-policy\", \"version\": 1, \"tenants\": 3}", f);
    fclose(f);
    ASSERT_CODE(gw_policy_open(&srv, &created, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, pol);
    ASSERT_CONTAINS(err.msg, "refusing to start");
    uint8_t *data;
    size_t len;
    ASSERT_OK(st_file_read_all(pol, 4096, &data, &len, NULL));
    ASSERT_TRUE(strstr((char *)data, "\"tenants\": 3") != NULL);
    free(data);
    /* a token file with a space: refused with its name */
    f = fopen(tok, "w");
    fputs("not a token: it has spaces in it, 0123456789", f);
    fclose(f);
    unlink(pol);
    ASSERT_CODE(gw_policy_open(&srv, &created, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "not printable non-space");
}

/* ---- the credential check -------------------------------------------------------------------- */

static enum st_code
auth(enum rbac_transport tr, const char *hdr, const char *p, const char *peer,
     struct gw_principal *who)
{
    struct gw_cred_src src = {.transport = tr};
    if (hdr) {
        src.values[0] = (struct rbac_bytes){(const uint8_t *)hdr, strlen(hdr)};
        src.n_values = 1;
    }
    if (p) {
        src.p[0] = (struct rbac_bytes){(const uint8_t *)p, strlen(p)};
        src.n_p = 1;
    }
    snprintf(who->peer, sizeof who->peer, "%s", peer);
    return gw_authenticate(&src, "unit", who, NULL);
}

TEST(credential_forms_and_the_limiter)
{
    open_store();
    srv.cfg.auth_fail_limit = 3;
    srv.cfg.auth_fail_window_ns = 3600 * ST_NS_PER_SEC;
    struct gw_principal w;
    gw_principal_init(&w);
    char v[256], basic[256];
    snprintf(v, sizeof v, "Bearer %s", OP);
    ASSERT_OK(auth(RBAC_TRANSPORT_GRPC, v, NULL, "10.0.0.1:5", &w));
    ASSERT_TRUE(w.authenticated);
    ASSERT_EQ_INT(w.p.kind, RBAC_PRINCIPAL_OPERATOR);
    snprintf(v, sizeof v, "Token %s", OP);
    ASSERT_OK(auth(RBAC_TRANSPORT_HTTP, v, NULL, "10.0.0.1:5", &w));
    ASSERT_CODE(auth(RBAC_TRANSPORT_GRPC, v, NULL, "10.0.0.9:5", &w), ST_EUNAUTHENTICATED);
    char up[128];
    snprintf(up, sizeof up, "telegraf:%s", OP);
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(up), o = snprintf(basic, sizeof basic, "Basic ");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t)(uint8_t)up[i] << 16 | (i + 1 < n ? (uint8_t)up[i + 1] << 8 : 0) |
                     (i + 2 < n ? (uint8_t)up[i + 2] : 0);
        basic[o++] = tbl[x >> 18 & 63];
        basic[o++] = tbl[x >> 12 & 63];
        basic[o++] = i + 1 < n ? tbl[x >> 6 & 63] : '=';
        basic[o++] = i + 2 < n ? tbl[x & 63] : '=';
    }
    basic[o] = '\0';
    ASSERT_OK(auth(RBAC_TRANSPORT_HTTP, basic, NULL, "10.0.0.1:5", &w));
    ASSERT_OK(auth(RBAC_TRANSPORT_HTTP_V1, NULL, OP, "10.0.0.1:5", &w));
    ASSERT_CODE(auth(RBAC_TRANSPORT_HTTP, NULL, OP, "10.0.0.1:5", &w), ST_EUNAUTHENTICATED);
    /* malformed HTTP headers are marked (the HTTP side answers 400) */
    ASSERT_CODE(auth(RBAC_TRANSPORT_HTTP, "bearer abc", NULL, "10.0.0.2:5", &w),
                ST_EUNAUTHENTICATED);
    ASSERT_TRUE(w.malformed);
    ASSERT_CODE(auth(RBAC_TRANSPORT_HTTP, "Bearer strata_d_xyz", NULL, "10.0.0.2:5", &w),
                ST_EUNAUTHENTICATED);
    ASSERT_FALSE(w.malformed);
    /* three failures from one address: refused before its credential is looked at, even
     * the right one; another address is unaffected; missing credentials never count */
    for (int i = 0; i < 5; i++)
        ASSERT_CODE(auth(RBAC_TRANSPORT_GRPC, NULL, NULL, "10.0.0.3:7", &w), ST_EUNAUTHENTICATED);
    snprintf(v, sizeof v, "Bearer %s", OP);
    ASSERT_OK(auth(RBAC_TRANSPORT_GRPC, v, NULL, "10.0.0.3:8", &w));
    for (int i = 0; i < 3; i++)
        ASSERT_CODE(auth(RBAC_TRANSPORT_GRPC, "Bearer wrong-wrong-wrong-wrong-wrong-wrong", NULL,
                         "10.0.0.3:9", &w),
                    ST_EUNAUTHENTICATED);
    ASSERT_CODE(auth(RBAC_TRANSPORT_GRPC, v, NULL, "10.0.0.3:10", &w), ST_ELIMIT);
    ASSERT_TRUE(w.rate_limited);
    ASSERT_FALSE(w.authenticated);
    ASSERT_OK(auth(RBAC_TRANSPORT_GRPC, v, NULL, "10.0.0.4:10", &w));
    /* IPv6 peers are counted per address too */
    for (int i = 0; i < 3; i++)
        auth(RBAC_TRANSPORT_GRPC, "Bearer wrong-wrong-wrong-wrong-wrong-wrong", NULL,
             "[::1]:1000", &w);
    ASSERT_CODE(auth(RBAC_TRANSPORT_GRPC, v, NULL, "[::1]:2000", &w), ST_ELIMIT);
    /* the access check with the authenticated operator */
    ASSERT_OK(auth(RBAC_TRANSPORT_GRPC, v, NULL, "10.0.0.5:1", &w));
    struct st_error err;
    ASSERT_CODE(gw_check(&w, RBAC_PRIV_QUERY, "nosuchdb", "unit", &err), ST_ENOTFOUND);
    ASSERT_CODE(gw_check(&w, RBAC_PRIV_QUERY, "bad/name", "unit", &err), ST_EINVAL);
    ASSERT_OK(gw_check(&w, RBAC_PRIV_METRICS, NULL, "unit", &err));
    bool create = false;
    ASSERT_OK(gw_check_write(&w, "newdb", "unit", &create, &err));
    ASSERT_TRUE(create);
    gw_principal_cleanup(&w);
    struct gw_principal anon;
    gw_principal_init(&anon);
    ASSERT_OK(gw_check(&anon, RBAC_PRIV_HEALTH, NULL, "unit", &err));
    ASSERT_CODE(gw_check(&anon, RBAC_PRIV_WHOAMI, NULL, "unit", &err), ST_EUNAUTHENTICATED);
    gw_policy_close();
}

/* ---- protobuf strings ------------------------------------------------------------------------ */

TEST(protobuf_strings_with_nul_are_caught)
{
    /* WriteRequest{database = "a\0b"}: field 1, length 3 */
    static const uint8_t bad[] = {0x0a, 0x03, 'a', 0x00, 'b'};
    static const uint8_t good[] = {0x0a, 0x03, 'a', '-', 'b'};
    ASSERT_FALSE(gw_pb_strings_ok(&strata__v1__write_request__descriptor, bad, sizeof bad));
    ASSERT_TRUE(gw_pb_strings_ok(&strata__v1__write_request__descriptor, good, sizeof good));
    /* a NUL inside the line protocol (bytes) is data, not a string */
    static const uint8_t lp[] = {0x12, 0x02, 'x', 0x00};
    ASSERT_TRUE(gw_pb_strings_ok(&strata__v1__write_request__descriptor, lp, sizeof lp));
    /* nested: CreateTokenRequest{permissions = [{database = "m\0x"}]} */
    static const uint8_t nested[] = {0x1a, 0x05, 0x0a, 0x03, 'm', 0x00, 'x'};
    ASSERT_FALSE(gw_pb_strings_ok(&strata__v1__create_token_request__descriptor, nested,
                                  sizeof nested));
}

/* ---- the method table -------------------------------------------------------------------------- */

TEST(method_table_invariants)
{
    for (size_t i = 0; i < gw_n_methods; i++) {
        const struct gw_method *m = &gw_methods[i];
        enum rbac_scope sc = rbac_priv_scope(m->priv);
        if (m->anonymous && m->priv != RBAC_PRIV_HEALTH)
            th_fail(__FILE__, __LINE__, "%s is anonymous but needs %s", m->path,
                    rbac_priv_name(m->priv));
        if (sc == RBAC_SCOPE_DATABASE && m->db_src == GW_DB_NONE)
            th_fail(__FILE__, __LINE__, "%s needs a database but names no source", m->path);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(gw_methods[j].path, m->path))
                th_fail(__FILE__, __LINE__, "%s twice", m->path);
    }
    /* every AdminService RPC has its row */
    const ProtobufCServiceDescriptor *svc = &strata__v1__admin_service__descriptor;
    for (unsigned i = 0; i < svc->n_methods; i++) {
        char path[128];
        snprintf(path, sizeof path, "/strata.v1.AdminService/%s", svc->methods[i].name);
        bool found = false;
        for (size_t j = 0; j < gw_n_methods; j++)
            found |= !strcmp(gw_methods[j].path, path);
        if (!found)
            th_fail(__FILE__, __LINE__, "no row for %s", path);
    }
    for (size_t i = 0; i < gw_n_http_endpoints; i++) {
        const struct gw_http_endpoint *e = &gw_http_endpoints[i];
        if (rbac_priv_scope(e->priv) == RBAC_SCOPE_DATABASE && !e->db_param)
            th_fail(__FILE__, __LINE__, "%s needs a database but names no parameter", e->path);
    }
}

/* ---- the audit log ---------------------------------------------------------------------------- */

static void
audit_config(const char *dir, uint64_t max_bytes)
{
    static char d[512];
    snprintf(d, sizeof d, "%s", dir);
    srv.cfg.audit_dir = d;
    srv.cfg.audit_max_bytes = max_bytes;
    srv.cfg.audit_queue = 64;
    srv.cfg.audit_drop = false;
    srv.cfg.audit_key_file = NULL;
}

static void
emit(int n, const char *tenant)
{
    for (int i = 0; i < n; i++) {
        struct rbac_audit_event ev = {.time_ns = INT64_C(1700000000000000000) + i,
                                      .category = "query", .principal = "token:00000000000000aa",
                                      .tenant = tenant, .database = "metrics",
                                      .method = "DoGet", .outcome = RBAC_AUDIT_ALLOW,
                                      .reason = "ok", .sql = "SELECT * FROM cpu WHERE host = ?",
                                      .rows = i, .bytes = -1, .lines = -1, .rejected = -1,
                                      .duration_ns = 1000};
        gw_audit(&ev);
    }
}

/* Verify the files of a directory as one chain. Returns the number of events (genesis
 * lines not counted: rotation may add one at any write). */
static uint64_t
verify_dir(const char *dir)
{
    uint8_t prev[32];
    bool have = false;
    uint64_t lines = 0;
    for (int no = 1; no < 1000; no++) {
        char p[600];
        snprintf(p, sizeof p, "%s/audit-%06d.jsonl", dir, no);
        uint8_t *data;
        size_t len;
        if (access(p, F_OK) != 0)
            break;
        ASSERT_OK(st_file_read_all(p, 1u << 26, &data, &len, NULL));
        struct rbac_audit_verify_result r;
        struct st_error err;
        if (rbac_audit_verify(data, len, NULL, 0, have ? prev : NULL, NULL, &r, &err) != ST_OK)
            th_fail(__FILE__, __LINE__, "%s: %s", p, err.msg);
        memcpy(prev, r.last_hash, 32);
        have = true;
        for (const char *q = (const char *)data; (q = strstr(q, "\"type\":\"event\"")); q++)
            lines++;
        free(data);
    }
    return lines;
}

TEST(audit_rotation_restart_and_torn_tail)
{
    const char *dir = th_path("audit");
    audit_config(dir, 65536);
    struct st_error err;
    ASSERT_OK_E(gw_audit_open(&srv, "cluster-u", &err), &err);
    emit(600, "acme"); /* several 64 KiB files */
    gw_audit_sync();
    gw_audit_close();
    uint64_t lines = verify_dir(dir);
    char p[600];
    snprintf(p, sizeof p, "%s/audit-000003.jsonl", dir);
    ASSERT_EQ_INT(access(p, F_OK), 0);
    /* restart: the chain continues in the newest file */
    ASSERT_OK_E(gw_audit_open(&srv, "cluster-u", &err), &err);
    emit(10, "beta");
    gw_audit_close();
    ASSERT_EQ_U64(verify_dir(dir), lines + 10);
    /* a torn last line is cut at the next start */
    int last = 1;
    for (;; last++) {
        snprintf(p, sizeof p, "%s/audit-%06d.jsonl", dir, last + 1);
        if (access(p, F_OK) != 0)
            break;
    }
    snprintf(p, sizeof p, "%s/audit-%06d.jsonl", dir, last);
    int fd = open(p, O_WRONLY | O_APPEND);
    ASSERT_TRUE(write(fd, "{\"seq\":9", 8) == 8);
    close(fd);
    ASSERT_OK_E(gw_audit_open(&srv, "cluster-u", &err), &err);
    emit(3, "beta");
    gw_audit_close();
    ASSERT_EQ_U64(verify_dir(dir), lines + 13);
}

TEST(audit_read_back_by_tenant_and_page)
{
    audit_config(th_path("audit2"), 1u << 20);
    struct st_error err;
    ASSERT_OK_E(gw_audit_open(&srv, "cluster-u", &err), &err);
    emit(5, "acme");
    emit(7, "beta");
    struct gw_audit_page pg;
    ASSERT_OK(gw_audit_read(0, 100, 0, 0, "beta", &pg, &err));
    ASSERT_EQ_U64(pg.n, 7);
    for (size_t i = 0; i < pg.n; i++)
        ASSERT_CONTAINS(pg.records[i], "\"tenant\":\"beta\"");
    ASSERT_FALSE(pg.more);
    gw_audit_page_free(&pg);
    ASSERT_OK(gw_audit_read(0, 3, 0, 0, NULL, &pg, &err));
    ASSERT_EQ_U64(pg.n, 3);
    ASSERT_TRUE(pg.more);
    uint64_t after = pg.last_seq;
    gw_audit_page_free(&pg);
    ASSERT_OK(gw_audit_read(after, 100, 0, 0, NULL, &pg, &err));
    ASSERT_EQ_U64(pg.n, 12 - 3); /* seq 1..12 (the genesis is seq 0), three read before */
    gw_audit_page_free(&pg);
    /* time bounds: the events carry 1700000000.000000000 + i ns */
    ASSERT_OK(gw_audit_read(0, 100, INT64_C(1700000000000000003), INT64_C(1700000000000000005),
                            "acme", &pg, &err));
    ASSERT_EQ_U64(pg.n, 2);
    gw_audit_page_free(&pg);
    gw_audit_close();
}

/* The newest audit file's text (tests keep to one file: 1 MiB limit). */
static char *
audit_text(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/audit-000001.jsonl", dir);
    uint8_t *data = NULL;
    size_t len = 0;
    ASSERT_OK(st_file_read_all(p, 1u << 26, &data, &len, NULL));
    char *s = realloc(data, len + 1);
    ASSERT_TRUE(s != NULL);
    s[len] = '\0';
    return s;
}

static uint64_t
audit_counter(const char *name)
{
    struct st_buf b;
    st_buf_init(&b, 1u << 20);
    gw__audit_metrics(&b);
    ASSERT_OK(st_buf_append_byte(&b, 0));
    char key[96];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr((const char *)b.data, key);
    ASSERT_TRUE(at != NULL);
    uint64_t v = strtoull(at + strlen(key), NULL, 10);
    st_buf_cleanup(&b);
    return v;
}

static void
emit_admin(const char *target)
{
    struct rbac_audit_event ev = {.time_ns = st_now_ns(), .category = "admin",
                                  .principal = "token:00000000000000aa", .tenant = "acme",
                                  .method = "/strata.v1.AdminService/CreateToken",
                                  .outcome = RBAC_AUDIT_ALLOW, .reason = "ok", .target = target,
                                  .rows = -1, .bytes = -1, .lines = -1, .rejected = -1,
                                  .duration_ns = -1};
    gw_audit(&ev);
}

/* Group commit: events are written in batches (one fdatasync each), without anyone
 * asking for a sync, within the window; an admin event is on disk when gw_audit returns,
 * and is never dropped, even with --audit-overflow=drop and a full queue. */
TEST(audit_group_commit_and_admin_events_on_disk_before_return)
{
    const char *dir = th_path("audit3");
    audit_config(dir, 1u << 20);
    struct st_error err;
    ASSERT_OK_E(gw_audit_open(&srv, "cluster-u", &err), &err);
    uint64_t syncs0 = audit_counter("strata_audit_syncs_total");
    emit(200, "acme");
    /* written without gw_audit_sync, within the window (generous bound: busy machines) */
    uint64_t written = 0;
    for (int i = 0; i < 400 && (written = audit_counter("strata_audit_events_total")) < 200; i++)
        usleep(5000);
    ASSERT_EQ_U64(written, 200);
    uint64_t syncs = audit_counter("strata_audit_syncs_total") - syncs0;
    if (syncs == 0 || syncs > 100)
        th_fail(__FILE__, __LINE__, "%llu syncs for 200 events: no group commit",
                (unsigned long long)syncs);
    /* a trickle (one event every 0.5 ms, as a light-query load makes): batches of the
     * window, not one sync per event */
    syncs0 = audit_counter("strata_audit_syncs_total");
    for (int i = 0; i < 60; i++) {
        emit(1, "acme");
        usleep(500);
    }
    for (int i = 0; i < 400 && audit_counter("strata_audit_events_total") < 260; i++)
        usleep(5000);
    ASSERT_EQ_U64(audit_counter("strata_audit_events_total"), 260);
    syncs = audit_counter("strata_audit_syncs_total") - syncs0;
    if (syncs > 30)
        th_fail(__FILE__, __LINE__, "%llu syncs for 60 events 0.5 ms apart: no group commit",
                (unsigned long long)syncs);
    /* an admin change is on disk before gw_audit returns: no sync asked for */
    emit_admin("token:0000000000000abc");
    char *t = audit_text(dir);
    ASSERT_CONTAINS(t, "token:0000000000000abc");
    free(t);
    gw_audit_close();
    ASSERT_EQ_U64(verify_dir(dir), 261);

    /* drop mode with a tiny queue: query events may be dropped (and the loss recorded),
     * admin events never */
    dir = th_path("audit4");
    audit_config(dir, 1u << 20);
    srv.cfg.audit_queue = 2;
    srv.cfg.audit_drop = true;
    ASSERT_OK_E(gw_audit_open(&srv, "cluster-u", &err), &err);
    for (int round = 0; round < 20; round++) {
        emit(50, "acme");
        char target[40];
        snprintf(target, sizeof target, "token:%016d", round);
        emit_admin(target);
        t = audit_text(dir);
        ASSERT_CONTAINS(t, target);
        free(t);
    }
    gw_audit_close();
    verify_dir(dir);
    srv.cfg.audit_drop = false;
}
