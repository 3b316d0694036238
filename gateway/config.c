/*
 * config.c: stratad's settings from four layers, each overriding the one before:
 * built-in defaults, a JSON file (--config FILE or STRATA_CONFIG), STRATA_* environment
 * variables, and command-line flags. One table lists every setting once: its flag, its
 * environment variable, its JSON key (the flag without "--"), its kind and its help
 * text, so --help, the JSON keys and the environment can never disagree.
 * The whole configuration is parsed and checked before anything starts; a bad value
 * fails with a message that names the setting and where it came from.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"
#include "strata/clock.h"
#include "strata/log.h"

enum kind { K_STR, K_SIZE, K_U32, K_DUR, K_BOOL, K_STRV };

struct opt {
    const char *flag; /* without "--" */
    const char *env;
    enum kind kind;
    size_t off;
    const char *def; /* default, as text (NULL = unset) */
    const char *help;
};

#define O(f) offsetof(struct gw_config, f)

static const struct opt opts[] = {
    {"config", "STRATA_CONFIG", K_STR, O(config_file), NULL,
     "JSON file with any of these settings (keys are the flag names)"},
    {"data-dir", "STRATA_DATA_DIR", K_STR, O(data_dir), "./strata-data",
     "data directory (created with mode 0700 if missing)"},
    {"listen", "STRATA_LISTEN", K_STR, O(listen), "127.0.0.1:8181",
     "HOST:PORT for gRPC and HTTP on one port; port 0 picks a free port"},
    {"port-file", "STRATA_PORT_FILE", K_STR, O(port_file), NULL,
     "write the bound port here (atomically) once connections are accepted"},
    {"admin-token-file", "STRATA_ADMIN_TOKEN_FILE", K_STR, O(admin_token_file), NULL,
     "operator token file: read if it exists, else generated (mode 0600); default DATA-DIR/operator-token"},
    {"tls-cert", "STRATA_TLS_CERT", K_STR, O(tls_cert), NULL,
     "PEM certificate chain; with --tls-key the port speaks TLS only"},
    {"tls-key", "STRATA_TLS_KEY", K_STR, O(tls_key), NULL, "PEM private key"},
    {"tls-client-ca", "STRATA_TLS_CLIENT_CA", K_STR, O(tls_client_ca), NULL,
     "PEM CA bundle: require client certificates signed by it (mTLS)"},
    {"log-level", "STRATA_LOG_LEVEL", K_STR, O(log_level), "notice",
     "error|warn|notice|info|debug"},
    {"log-json", "STRATA_LOG_JSON", K_BOOL, O(log_json), "false", "log as JSON lines"},
    {"max-request-size", "STRATA_MAX_REQUEST_SIZE", K_SIZE, O(max_request_bytes), "10MiB",
     "largest HTTP request body, before and after gzip (413 beyond)"},
    {"max-header-size", "STRATA_MAX_HEADER_SIZE", K_SIZE, O(max_header_bytes), "32KiB",
     "largest HTTP request line plus headers (431 beyond)"},
    {"max-grpc-message-size", "STRATA_MAX_GRPC_MESSAGE_SIZE", K_SIZE,
     O(max_grpc_message_bytes), "16MiB", "largest gRPC request message (RESOURCE_EXHAUSTED beyond)"},
    {"max-flight-data-size", "STRATA_MAX_FLIGHT_DATA_SIZE", K_SIZE, O(max_flight_data_bytes),
     "2MiB", "target size of one FlightData message (64KiB..4MiB)"},
    {"max-result-size", "STRATA_MAX_RESULT_SIZE", K_SIZE, O(max_result_bytes), "1GiB",
     "largest result of one query"},
    {"max-concurrent-queries", "STRATA_MAX_CONCURRENT_QUERIES", K_U32,
     O(max_concurrent_queries), "64", "queries running at once; more get UNAVAILABLE"},
    {"max-connections", "STRATA_MAX_CONNECTIONS", K_U32, O(max_connections), "1024",
     "HTTP connections at once"},
    {"max-pending-connections", "STRATA_MAX_PENDING_CONNECTIONS", K_U32, O(max_pending), "1024",
     "connections not yet classified; more are closed at accept"},
    {"max-streams-per-connection", "STRATA_MAX_STREAMS_PER_CONNECTION", K_U32,
     O(max_streams_per_conn), "256", "concurrent gRPC calls on one connection"},
    {"query-timeout", "STRATA_QUERY_TIMEOUT", K_DUR, O(query_timeout_ns), "5m",
     "longest a query may run (0 = only the client's deadline)"},
    {"http-timeout", "STRATA_HTTP_TIMEOUT", K_DUR, O(http_timeout_ns), "30s",
     "close an HTTP connection idle or stalled this long"},
    {"peek-timeout", "STRATA_PEEK_TIMEOUT", K_DUR, O(peek_timeout_ns), "5s",
     "a new connection must show its protocol within this (absolute)"},
    {"grpc-idle-timeout", "STRATA_GRPC_IDLE_TIMEOUT", K_DUR, O(grpc_idle_ns), "5m",
     "close gRPC connections without calls for this long"},
    {"handshake-timeout", "STRATA_HANDSHAKE_TIMEOUT", K_DUR, O(handshake_timeout_ns), "10s",
     "gRPC connection (TLS) handshake deadline"},
    {"keepalive-interval", "STRATA_KEEPALIVE_INTERVAL", K_DUR, O(keepalive_ns), "5s",
     "send an empty record batch this often while a query is slow"},
    {"test-doget-batch-delay", "STRATA_TEST_DOGET_BATCH_DELAY", K_DUR, O(test_doget_delay_ns),
     "0", "tests only: DoGet waits this long before producing each batch, so keep-alives, "
     "deadlines and cancellation can be tested on any query (0 = off; at most 60s)"},
    {"shutdown-grace", "STRATA_SHUTDOWN_GRACE", K_DUR, O(shutdown_grace_ns), "10s",
     "on SIGTERM, let calls finish this long before cancelling them"},
    {"grpc-workers", "STRATA_GRPC_WORKERS", K_U32, O(grpc_workers), "1",
     "gRPC completion-queue threads (1..64)"},
    {"pool-threads", "STRATA_POOL_THREADS", K_U32, O(pool_threads), "4",
     "engine worker threads for queries and writes (1..256)"},
    {"pool-queue", "STRATA_POOL_QUEUE", K_U32, O(pool_queue), "1024",
     "queued engine tasks beyond which requests get UNAVAILABLE / 429"},
    {"self-test", "STRATA_SELF_TEST", K_BOOL, O(self_test), "true",
     "make one loopback gRPC call through the port at start and fail if it does not work"},
    /* identity and access (docs/security.md) */
    {"cluster-id", "STRATA_CLUSTER_ID", K_STR, O(cluster_id), NULL,
     "this cluster's id (A-Z a-z 0-9 _ -); fixed when the policy is created (default strata), "
     "must match it afterwards"},
    {"default-tenant", "STRATA_DEFAULT_TENANT", K_STR, O(default_tenant), NULL,
     "the operator's tenant, fixed when the policy is created (default \"default\")"},
    {"policy-file", "STRATA_POLICY_FILE", K_STR, O(policy_file), NULL,
     "access policy (tenants, databases, tokens, grants); default DATA-DIR/security/policy.json"},
    {"token-pepper-file", "STRATA_TOKEN_PEPPER_FILE", K_STR, O(token_pepper_file), NULL,
     "key of the token hashes, generated once (mode 0600); default DATA-DIR/security/token-pepper"},
    {"auth-fail-limit", "STRATA_AUTH_FAIL_LIMIT", K_U32, O(auth_fail_limit), "20",
     "failed authentications per client address and window before its requests are refused "
     "(RESOURCE_EXHAUSTED / 429) until the window ends; 0 = no limit"},
    {"auth-fail-window", "STRATA_AUTH_FAIL_WINDOW", K_DUR, O(auth_fail_window_ns), "1m",
     "the window of --auth-fail-limit"},
    {"audit-dir", "STRATA_AUDIT_DIR", K_STR, O(audit_dir), NULL,
     "hash-chained audit log files (audit-NNNNNN.jsonl); default DATA-DIR/audit"},
    {"audit-max-bytes", "STRATA_AUDIT_MAX_BYTES", K_SIZE, O(audit_max_bytes), "64MiB",
     "start a new audit file beyond this size (the chain continues)"},
    {"audit-queue", "STRATA_AUDIT_QUEUE", K_U32, O(audit_queue), "65536",
     "audit events waiting for the writer thread"},
    {"audit-overflow", "STRATA_AUDIT_OVERFLOW", K_STR, O(audit_overflow), "block",
     "when the audit queue is full: block (the request waits) or drop (counted in /metrics "
     "and recorded in the chain)"},
    {"audit-key-file", "STRATA_AUDIT_KEY_FILE", K_STR, O(audit_key_file), NULL,
     "32..64 byte key: chain the audit log with HMAC-SHA-256 instead of SHA-256"},
    {"audit-auth-success", "STRATA_AUDIT_AUTH_SUCCESS", K_BOOL, O(audit_auth_success), "true",
     "write an event for every successful authentication too (failures always are)"},
    {"oidc-issuer", "STRATA_OIDC_ISSUER", K_STR, O(oidc_issuer), NULL,
     "accept JWTs from this issuer (exact iss); https URL for discovery"},
    {"oidc-audience", "STRATA_OIDC_AUDIENCE", K_STR, O(oidc_audience), NULL,
     "required aud value"},
    {"oidc-tenant", "STRATA_OIDC_TENANT", K_STR, O(oidc_tenant), NULL,
     "tenant of the issuer's users (default: the default tenant)"},
    {"oidc-jwks-file", "STRATA_OIDC_JWKS_FILE", K_STR, O(oidc_jwks_file), NULL,
     "JWKS file with the issuer's keys; without it the keys are discovered "
     "(ISSUER/.well-known/openid-configuration -> jwks_uri)"},
    {"oidc-ca-file", "STRATA_OIDC_CA_FILE", K_STR, O(oidc_ca_file), NULL,
     "PEM CA bundle trusted for discovery and JWKS fetches (default: the system's)"},
    {"oidc-algorithms", "STRATA_OIDC_ALGORITHMS", K_STR, O(oidc_algorithms), "RS256,ES256",
     "allowed JWS algorithms (RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384)"},
    {"oidc-leeway", "STRATA_OIDC_LEEWAY", K_DUR, O(oidc_leeway_ns), "60s",
     "clock skew allowed for exp, nbf and iat (at most 5m)"},
    {"oidc-max-token-bytes", "STRATA_OIDC_MAX_TOKEN_BYTES", K_SIZE, O(oidc_max_token_bytes),
     "8192", "largest JWT accepted"},
    {"oidc-max-lifetime", "STRATA_OIDC_MAX_LIFETIME", K_DUR, O(oidc_max_lifetime_ns), "24h",
     "largest exp - iat accepted"},
    {"oidc-user-claim", "STRATA_OIDC_USER_CLAIM", K_STR, O(oidc_user_claim), "sub",
     "claim naming the user"},
    {"oidc-user-prefix", "STRATA_OIDC_USER_PREFIX", K_STR, O(oidc_user_prefix), NULL,
     "prepended to user names (e.g. \"idp:\")"},
    {"oidc-groups-claim", "STRATA_OIDC_GROUPS_CLAIM", K_STR, O(oidc_groups_claim), NULL,
     "claim holding the user's groups (array of strings); none by default"},
    {"oidc-group-prefix", "STRATA_OIDC_GROUP_PREFIX", K_STR, O(oidc_group_prefix), NULL,
     "prepended to group names"},
    {"oidc-required-claims", "STRATA_OIDC_REQUIRED_CLAIMS", K_STR, O(oidc_required_claims), NULL,
     "claims that must hold a value: name=value[,name=value...]"},
    {"oidc-require-mfa", "STRATA_OIDC_REQUIRE_MFA", K_STR, O(oidc_require_mfa), "off",
     "off; all (tokens without mfa are refused); admin (administration needs mfa)"},
    {"oidc-mfa-amr", "STRATA_OIDC_MFA_AMR", K_STR, O(oidc_mfa_amr), "mfa,otp,hwk,swk",
     "amr values that count as mfa"},
    {"oidc-mfa-acr", "STRATA_OIDC_MFA_ACR", K_STR, O(oidc_mfa_acr), NULL,
     "acr values that count as mfa"},
    {"oidc-jwks-refresh", "STRATA_OIDC_JWKS_REFRESH", K_DUR, O(oidc_jwks_refresh_ns), "1h",
     "refetch a discovered key set this often (the last good set stays in use on errors)"},
    {"oidc-jwks-min-interval", "STRATA_OIDC_JWKS_MIN_INTERVAL", K_DUR,
     O(oidc_jwks_min_interval_ns), "30s",
     "at most one extra fetch per this when tokens name an unknown key id"},
    {"oidc-fetch-timeout", "STRATA_OIDC_FETCH_TIMEOUT", K_DUR, O(oidc_fetch_timeout_ns), "10s",
     "time limit of one discovery or JWKS fetch"},
    /* encryption at rest and data protection (docs/operations.md "Master keys") */
    {"encryption", "STRATA_ENCRYPTION", K_STR, O(encryption), "on",
     "on: every file the engine writes is AES-256-GCM encrypted under a master key; off: "
     "plaintext (a data directory in the other mode is refused unless --encryption-migrate)"},
    {"master-key-file", "STRATA_MASTER_KEY_FILE", K_STR, O(master_key_file), NULL,
     "the current master key: 64 hex characters, mode 0600 (or give the key itself in "
     "$STRATA_MASTER_KEY); default DATA-DIR/keys/master.key, created on the first start of a new "
     "data directory"},
    {"previous-master-key-file", "STRATA_PREVIOUS_MASTER_KEY_FILE", K_STRV,
     O(previous_key_files), NULL,
     "an older master key still needed to read files not yet rewrapped by `strata admin "
     "rotate-key` (repeatable; in the environment, comma-separated)"},
    {"encryption-migrate", "STRATA_ENCRYPTION_MIGRATE", K_BOOL, O(encryption_migrate), "false",
     "at start, convert the data directory to the --encryption mode (every file rewritten, "
     "crash-safe; an interrupted migration is finished by the next one)"},
    {"integrity-interval", "STRATA_INTEGRITY_INTERVAL", K_DUR, O(integrity_interval_ns), "60s",
     "write canary points to the internal integrity database and read them back through the "
     "query path this often (0 = off; at least 100ms)"},
    {"test-integrity-fault", "STRATA_TEST_INTEGRITY_FAULT", K_BOOL, O(test_integrity_fault),
     "false", "tests only: the integrity check compares the canaries with wrong values, so that "
     "its failure path (log, metrics, audit) can be seen"},
    /* engine tuning (docs/storage.md) */
    {"partition-duration", "STRATA_PARTITION_DURATION", K_DUR, O(partition_ns), "24h",
     "width of a time partition (1s..366d); choose it before the first write"},
    {"buffer-max-bytes", "STRATA_BUFFER_MAX_BYTES", K_SIZE, O(buffer_max_bytes), "64MiB",
     "persist a database's in-memory buffers to chunk files beyond this size (64KiB..64GiB)"},
    {"persist-age", "STRATA_PERSIST_AGE", K_DUR, O(persist_age_ns), "10m",
     "persist buffers holding writes older than this (10ms..7d)"},
    {"block-cache-bytes", "STRATA_BLOCK_CACHE_BYTES", K_SIZE, O(block_cache_bytes), "128MiB",
     "decoded chunk blocks kept in memory for scans (0 = no cache)"},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

int
gw_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    static const struct {
        const char *sfx;
        uint64_t mul;
    } sfx[] = {{"", 1},          {"B", 1},          {"KiB", 1ull << 10}, {"MiB", 1ull << 20},
               {"GiB", 1ull << 30}, {"TiB", 1ull << 40}, {"KB", 1000},       {"MB", 1000000},
               {"GB", 1000000000}, {"k", 1ull << 10},  {"K", 1ull << 10},  {"M", 1ull << 20},
               {"G", 1ull << 30}};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        if (strcmp(end, sfx[i].sfx) == 0) {
            if (v > UINT64_MAX / sfx[i].mul)
                return -1;
            *out = (uint64_t)v * sfx[i].mul;
            return 0;
        }
    }
    return -1;
}

unsigned
gw_oidc_parse_algs(const char *list)
{
    static const struct {
        const char *name;
        unsigned bit;
    } t[] = {{"RS256", RBAC_ALG_RS256}, {"RS384", RBAC_ALG_RS384}, {"RS512", RBAC_ALG_RS512},
             {"PS256", RBAC_ALG_PS256}, {"PS384", RBAC_ALG_PS384}, {"PS512", RBAC_ALG_PS512},
             {"ES256", RBAC_ALG_ES256}, {"ES384", RBAC_ALG_ES384}};
    unsigned algs = 0;
    const char *p = list;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if (strlen(t[i].name) == n && !memcmp(t[i].name, p, n))
                bit = t[i].bit;
        if (!bit)
            return 0;
        algs |= bit;
        p = e ? e + 1 : p + n;
    }
    return algs;
}

/* Which layer set each list setting last (a later layer replaces it). */
enum { LAYER_DEFAULT = 0, LAYER_FILE, LAYER_ENV, LAYER_FLAGS };
static int strv_layer[N_OPTS];
static int cur_layer;

static void
strv_clear(struct gw_strv *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

#define STRV_MAX 64

/* Append v (or, split, each comma-separated part of it) to a list setting. */
static enum st_code
strv_add(struct gw_strv *l, const char *v, bool split, const char *src, struct st_error *err)
{
    const char *p = v;
    for (;;) {
        const char *e = split ? strchr(p, ',') : NULL;
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0)
            return st_error_set(err, ST_EINVAL, "%s: an empty value in the list", src);
        if (l->n >= STRV_MAX)
            return st_error_set(err, ST_EINVAL, "%s: more than %d values", src, STRV_MAX);
        char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
        if (!nv)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        l->v = nv;
        if (!(l->v[l->n] = strndup(p, n)))
            return st_error_set(err, ST_ENOMEM, "out of memory");
        l->n++;
        if (!e)
            return ST_OK;
        p = e + 1;
    }
}

static enum st_code
set_value(struct gw_config *c, const struct opt *o, const char *v, const char *src,
          struct st_error *err)
{
    void *dst = (char *)c + o->off;
    switch (o->kind) {
    case K_STR: {
        char **p = dst;
        char *n = strdup(v);
        if (!n)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        free(*p);
        *p = n;
        return ST_OK;
    }
    case K_SIZE:
        if (gw_parse_size(v, dst) != 0)
            return st_error_set(err, ST_EINVAL,
                                "%s: '%s' is not a size (a number with optional B, KiB, MiB, GiB)",
                                src, v);
        return ST_OK;
    case K_U32: {
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (errno || end == v || *end || *v == '-' || n > UINT32_MAX)
            return st_error_set(err, ST_EINVAL, "%s: '%s' is not a non-negative integer", src, v);
        *(uint32_t *)dst = (uint32_t)n;
        return ST_OK;
    }
    case K_DUR:
        if (st_parse_duration(v, dst) != 0)
            return st_error_set(err, ST_EINVAL,
                                "%s: '%s' is not a duration (e.g. 30s, 5m, 500ms)", src, v);
        return ST_OK;
    case K_STRV: {
        /* a later layer (config file < environment < flags) replaces the whole list */
        struct gw_strv *l = dst;
        size_t idx = (size_t)(o - opts);
        if (strv_layer[idx] != cur_layer) {
            strv_clear(l);
            strv_layer[idx] = cur_layer;
        }
        return strv_add(l, v, cur_layer == LAYER_ENV, src, err);
    }
    case K_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
            *(bool *)dst = true;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
            *(bool *)dst = false;
        else
            return st_error_set(err, ST_EINVAL, "%s: '%s' is not true or false", src, v);
        return ST_OK;
    }
    return ST_EINTERNAL;
}

static const struct opt *
find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(opts[i].flag) == len && memcmp(opts[i].flag, name, len) == 0)
            return &opts[i];
    return NULL;
}

static void
usage(void)
{
    printf("usage: stratad [flags]\n\n"
           "Strata server: Arrow Flight / Flight SQL (gRPC) and line-protocol writes (HTTP)\n"
           "on one port. Every flag can also be given as the environment variable shown, or\n"
           "as a key of the JSON --config file (the flag name without its leading --, e.g.\n"
           "\"data-dir\"). Precedence: flags > environment > config file > defaults.\n\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        const char *arg = o->kind == K_STR    ? " VALUE"
                          : o->kind == K_SIZE ? " SIZE"
                          : o->kind == K_U32  ? " N"
                          : o->kind == K_DUR  ? " DURATION"
                          : o->kind == K_STRV ? " VALUE"
                                              : "[=BOOL]";
        printf("  --%s%s\n      %s\n      env %s", o->flag, arg, o->help, o->env);
        if (o->def)
            printf(", default %s", o->def);
        printf("\n");
    }
    printf("  --help     print this and exit\n  --version  print the version and exit\n"
           "  --print-method-table  print every RPC, HTTP endpoint and Flight SQL command\n"
           "             with the privilege it needs (JSON) and exit\n"
           "  --generate-master-key FILE  write a new random master key to FILE (mode 0600,\n"
           "             never overwriting), print its key id and exit\n"
           "  env STRATA_MASTER_KEY  the current master key itself (64 hex characters), instead\n"
           "             of --master-key-file; removed from the environment once read\n");
}

static enum st_code
load_json(struct gw_config *c, const char *path, struct st_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return st_error_set(err, ST_EINVAL, "config file '%s': line %d column %d: %s", path,
                            je.line, je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return st_error_set(err, ST_EINVAL, "config file '%s': the top level must be an object",
                            path);
    }
    const char *key;
    json_t *val;
    enum st_code rc = ST_OK;
    json_object_foreach(root, key, val)
    {
        const struct opt *o = find_flag(key, strlen(key));
        char src[300];
        snprintf(src, sizeof src, "config file '%s': key \"%s\"", path, key);
        if (!o || o->off == O(config_file)) {
            rc = st_error_set(err, ST_EINVAL, "%s: unknown setting", src);
            break;
        }
        if (o->kind == K_STRV && json_is_array(val)) {
            size_t i;
            json_t *item;
            json_array_foreach(val, i, item)
            {
                if (!json_is_string(item)) {
                    rc = st_error_set(err, ST_EINVAL, "%s: must be an array of strings", src);
                    break;
                }
                rc = set_value(c, o, json_string_value(item), src, err);
                if (rc != ST_OK)
                    break;
            }
            if (rc != ST_OK)
                break;
            continue;
        }
        char buf[64];
        const char *v;
        if (json_is_string(val))
            v = json_string_value(val);
        else if (json_is_integer(val) && json_integer_value(val) >= 0) {
            snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(val));
            v = buf;
        } else if (json_is_boolean(val))
            v = json_is_true(val) ? "true" : "false";
        else {
            rc = st_error_set(err, ST_EINVAL, "%s: must be a string, number or boolean", src);
            break;
        }
        rc = set_value(c, o, v, src, err);
        if (rc != ST_OK)
            break;
    }
    json_decref(root);
    return rc;
}

static enum st_code
parse_listen(struct gw_config *c, struct st_error *err)
{
    const char *l = c->listen;
    const char *colon = strrchr(l, ':');
    if (!colon || colon == l)
        return st_error_set(err, ST_EINVAL, "--listen: '%s' is not HOST:PORT", l);
    const char *h = l, *he = colon;
    if (*h == '[') { /* [::1]:8181 */
        if (he[-1] != ']')
            return st_error_set(err, ST_EINVAL, "--listen: '%s' is not HOST:PORT", l);
        h++;
        he--;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return st_error_set(err, ST_EINVAL, "--listen: port '%s' is not 0..65535", colon + 1);
    free(c->listen_host);
    c->listen_host = strndup(h, (size_t)(he - h));
    if (!c->listen_host)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    c->listen_port = (int)port;
    return ST_OK;
}

/* DATA-DIR/<rel> into *p when the setting was not given. */
static enum st_code
default_path(char **p, const char *dir, const char *rel, struct st_error *err)
{
    if (*p)
        return ST_OK;
    size_t n = strlen(dir) + strlen(rel) + 2;
    *p = malloc(n);
    if (!*p)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    snprintf(*p, n, "%s/%s", dir, rel);
    return ST_OK;
}

static enum st_code
name_setting(const char *flag, const char *v, struct st_error *err)
{
    struct st_error e;
    if (v && rbac_name_check(RBAC_NAME_TENANT, v, strlen(v), &e) != ST_OK)
        return st_error_set(err, ST_EINVAL, "--%s: '%.80s': %s", flag, v, e.msg);
    return ST_OK;
}

static enum st_code
validate_security(struct gw_config *c, struct st_error *err)
{
    ST_TRY(name_setting("cluster-id", c->cluster_id, err));
    ST_TRY(name_setting("default-tenant", c->default_tenant, err));
    ST_TRY(name_setting("oidc-tenant", c->oidc_tenant, err));
    ST_TRY(default_path(&c->policy_file, c->data_dir, "security/policy.json", err));
    ST_TRY(default_path(&c->token_pepper_file, c->data_dir, "security/token-pepper", err));
    ST_TRY(default_path(&c->audit_dir, c->data_dir, "audit", err));
    if (c->auth_fail_limit && c->auth_fail_window_ns < ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--auth-fail-window: must be at least 1s");
    if (c->audit_max_bytes < 65536 || c->audit_max_bytes > (1ull << 34))
        return st_error_set(err, ST_EINVAL, "--audit-max-bytes: must be 64KiB..16GiB");
    if (c->audit_queue < 16 || c->audit_queue > (1u << 24))
        return st_error_set(err, ST_EINVAL, "--audit-queue: must be 16..16777216");
    if (!strcmp(c->audit_overflow, "block"))
        c->audit_drop = false;
    else if (!strcmp(c->audit_overflow, "drop"))
        c->audit_drop = true;
    else
        return st_error_set(err, ST_EINVAL, "--audit-overflow: '%.40s' is not block or drop",
                            c->audit_overflow);
    c->oidc_algs = gw_oidc_parse_algs(c->oidc_algorithms);
    if (!c->oidc_algs)
        return st_error_set(err, ST_EINVAL,
                            "--oidc-algorithms: '%.200s' is not a comma-separated list of RS256, "
                            "RS384, RS512, PS256, PS384, PS512, ES256, ES384",
                            c->oidc_algorithms);
    if (c->oidc_leeway_ns < 0 || c->oidc_leeway_ns > 300 * ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--oidc-leeway: must be 0..5m");
    if (c->oidc_max_lifetime_ns < ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--oidc-max-lifetime: must be at least 1s");
    if (c->oidc_max_token_bytes < 256 || c->oidc_max_token_bytes > RBAC_CRED_MAX)
        return st_error_set(err, ST_EINVAL, "--oidc-max-token-bytes: must be 256..%d",
                            RBAC_CRED_MAX);
    if (strcmp(c->oidc_require_mfa, "off") && strcmp(c->oidc_require_mfa, "all") &&
        strcmp(c->oidc_require_mfa, "admin"))
        return st_error_set(err, ST_EINVAL, "--oidc-require-mfa: '%.40s' is not off, all or admin",
                            c->oidc_require_mfa);
    if (c->oidc_jwks_refresh_ns < ST_NS_PER_SEC || c->oidc_jwks_min_interval_ns < 0 ||
        c->oidc_fetch_timeout_ns < ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--oidc-jwks-refresh and --oidc-fetch-timeout must "
                                            "be at least 1s, --oidc-jwks-min-interval not negative");
    bool any_oidc = c->oidc_audience || c->oidc_tenant || c->oidc_jwks_file || c->oidc_ca_file ||
                    c->oidc_groups_claim || c->oidc_required_claims;
    if (!c->oidc_issuer && any_oidc)
        return st_error_set(err, ST_EINVAL, "OIDC settings given without --oidc-issuer");
    if (c->oidc_issuer && !c->oidc_audience)
        return st_error_set(err, ST_EINVAL, "--oidc-issuer: needs --oidc-audience");
    return ST_OK;
}

/* Encryption at rest, the integrity service and the engine's tuning. */
static enum st_code
validate_storage(struct gw_config *c, struct st_error *err)
{
    if (!strcmp(c->encryption, "on"))
        c->encryption_on = true;
    else if (!strcmp(c->encryption, "off"))
        c->encryption_on = false;
    else
        return st_error_set(err, ST_EINVAL, "--encryption: '%.40s' is not on or off",
                            c->encryption);
    if (c->master_key_file && !*c->master_key_file)
        return st_error_set(err, ST_EINVAL, "--master-key-file: must not be empty");
    if (c->integrity_interval_ns < 0 ||
        (c->integrity_interval_ns > 0 && c->integrity_interval_ns < 100 * ST_NS_PER_MS) ||
        c->integrity_interval_ns > INT64_C(86400) * ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--integrity-interval: must be 0 (off) or 100ms..24h");
    if (c->partition_ns < ST_NS_PER_SEC || c->partition_ns > INT64_C(366) * 86400 * ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--partition-duration: must be 1s..366d");
    if (c->buffer_max_bytes < 65536 || c->buffer_max_bytes > (64ull << 30))
        return st_error_set(err, ST_EINVAL, "--buffer-max-bytes: must be 64KiB..64GiB");
    if (c->persist_age_ns < 10 * ST_NS_PER_MS ||
        c->persist_age_ns > INT64_C(7) * 86400 * ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--persist-age: must be 10ms..7d");
    if (c->block_cache_bytes > (1ull << 40))
        return st_error_set(err, ST_EINVAL, "--block-cache-bytes: must be at most 1TiB");
    return ST_OK;
}

static enum st_code
validate(struct gw_config *c, struct st_error *err)
{
    ST_TRY(parse_listen(c, err));
    int lvl = st_log_level_parse(c->log_level);
    if (lvl < 0)
        return st_error_set(err, ST_EINVAL,
                            "--log-level: '%s' is not error, warn, notice, info or debug",
                            c->log_level);
    if (!c->data_dir || !*c->data_dir)
        return st_error_set(err, ST_EINVAL, "--data-dir: must not be empty");
    if (!c->admin_token_file) {
        size_t n = strlen(c->data_dir) + sizeof "/operator-token";
        c->admin_token_file = malloc(n);
        if (!c->admin_token_file)
            return st_error_set(err, ST_ENOMEM, "out of memory");
        snprintf(c->admin_token_file, n, "%s/operator-token", c->data_dir);
    }
    if (!!c->tls_cert != !!c->tls_key)
        return st_error_set(err, ST_EINVAL, "--tls-cert and --tls-key: give both or neither");
    if (c->tls_client_ca && !c->tls_cert)
        return st_error_set(err, ST_EINVAL, "--tls-client-ca: needs --tls-cert and --tls-key");
    if (c->max_request_bytes < 1024 || c->max_request_bytes > (1ull << 32))
        return st_error_set(err, ST_EINVAL, "--max-request-size: must be 1KiB..4GiB");
    if (c->max_header_bytes < 4096 || c->max_header_bytes > (16u << 20))
        return st_error_set(err, ST_EINVAL, "--max-header-size: must be 4KiB..16MiB");
    if (c->max_grpc_message_bytes < 65536 || c->max_grpc_message_bytes > (1u << 30))
        return st_error_set(err, ST_EINVAL, "--max-grpc-message-size: must be 64KiB..1GiB");
    if (c->max_flight_data_bytes < 65536 || c->max_flight_data_bytes > (4u << 20))
        return st_error_set(err, ST_EINVAL, "--max-flight-data-size: must be 64KiB..4MiB");
    if (c->max_concurrent_queries < 1)
        return st_error_set(err, ST_EINVAL, "--max-concurrent-queries: must be at least 1");
    if (c->max_connections < 1 || c->max_pending < 1 || c->max_streams_per_conn < 1)
        return st_error_set(err, ST_EINVAL, "connection limits must be at least 1");
    if (c->grpc_workers < 1 || c->grpc_workers > 64)
        return st_error_set(err, ST_EINVAL, "--grpc-workers: must be 1..64");
    if (c->pool_threads < 1 || c->pool_threads > 256)
        return st_error_set(err, ST_EINVAL, "--pool-threads: must be 1..256");
    if (c->pool_queue < 1)
        return st_error_set(err, ST_EINVAL, "--pool-queue: must be at least 1");
    if (c->peek_timeout_ns < ST_NS_PER_MS * 100 || c->http_timeout_ns < ST_NS_PER_SEC ||
        c->handshake_timeout_ns < ST_NS_PER_SEC || c->grpc_idle_ns < ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL,
                            "timeouts: --peek-timeout must be >= 100ms, --http-timeout, "
                            "--handshake-timeout and --grpc-idle-timeout >= 1s");
    if (c->keepalive_ns < ST_NS_PER_MS * 10)
        return st_error_set(err, ST_EINVAL, "--keepalive-interval: must be at least 10ms");
    if (c->test_doget_delay_ns < 0 || c->test_doget_delay_ns > 60 * ST_NS_PER_SEC)
        return st_error_set(err, ST_EINVAL, "--test-doget-batch-delay: must be 0..60s");
    if (c->shutdown_grace_ns < 0 || c->query_timeout_ns < 0)
        return st_error_set(err, ST_EINVAL, "durations must not be negative");
    ST_TRY(validate_security(c, err));
    ST_TRY(validate_storage(c, err));
    st_log_set_level((enum st_log_level)lvl);
    st_log_set_json(c->log_json);
    return ST_OK;
}

enum st_code
gw_config_load(struct gw_config *c, int argc, char **argv, struct st_error *err)
{
    memset(c, 0, sizeof *c);
    memset(strv_layer, 0, sizeof strv_layer);
    cur_layer = LAYER_DEFAULT;
    char src[200];
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opts[i].def) {
            snprintf(src, sizeof src, "default of --%s", opts[i].flag);
            ST_TRY(set_value(c, &opts[i], opts[i].def, src, err));
        }
    }
    /* Pass 1 over argv: --help, --version, --config. Flags are validated in pass 2. */
    const char *cfg = getenv("STRATA_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return ST_EEXISTS;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("stratad %s\n", GW_VERSION);
            return ST_EEXISTS;
        }
        if (!strcmp(argv[i], "--print-method-table")) {
            c->print_method_table = true; /* main prints it (methods.c) */
            return ST_EEXISTS;
        }
        if (!strcmp(argv[i], "--generate-master-key") ||
            !strncmp(argv[i], "--generate-master-key=", 22)) {
            const char *path = argv[i][21] == '=' ? argv[i] + 22 : i + 1 < argc ? argv[i + 1] : "";
            if (!*path)
                return st_error_set(err, ST_EINVAL, "--generate-master-key needs a file name");
            if (!(c->generate_master_key = strdup(path)))
                return st_error_set(err, ST_ENOMEM, "out of memory");
            return ST_EEXISTS; /* main writes the key (keys.c) */
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            cfg = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            cfg = argv[i] + 9;
    }
    if (cfg && *cfg) {
        cur_layer = LAYER_FILE;
        ST_TRY(load_json(c, cfg, err));
        ST_TRY(set_value(c, &opts[0], cfg, "--config", err));
    }
    cur_layer = LAYER_ENV;
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && opts[i].off != O(config_file)) {
            snprintf(src, sizeof src, "environment %s", opts[i].env);
            ST_TRY(set_value(c, &opts[i], v, src, err));
        }
    }
    cur_layer = LAYER_FLAGS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return st_error_set(err, ST_EINVAL, "unexpected argument '%s' (see --help)", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = find_flag(name, nlen);
        if (!o)
            return st_error_set(err, ST_EINVAL, "unknown flag '%.*s' (see --help)", (int)nlen + 2,
                                a);
        const char *v;
        if (eq)
            v = eq + 1;
        else if (o->kind == K_BOOL)
            v = "true";
        else if (i + 1 < argc)
            v = argv[++i];
        else
            return st_error_set(err, ST_EINVAL, "flag --%s needs a value", o->flag);
        snprintf(src, sizeof src, "--%s", o->flag);
        ST_TRY(set_value(c, o, v, src, err));
    }
    return validate(c, err);
}

void
gw_config_cleanup(struct gw_config *c)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (opts[i].kind == K_STR) {
            char **p = (char **)((char *)c + opts[i].off);
            free(*p);
            *p = NULL;
        } else if (opts[i].kind == K_STRV) {
            strv_clear((struct gw_strv *)(void *)((char *)c + opts[i].off));
        }
    free(c->generate_master_key);
    c->generate_master_key = NULL;
    free(c->listen_host);
    c->listen_host = NULL;
}
