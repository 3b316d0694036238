/*
 * auth.c: THE credential check and THE access check of stratad. Every gRPC call
 * (call.c) and every HTTP request (http_server.c) comes through here; the method table
 * (methods.c) says which privilege each needs and where its database comes from.
 *
 * Credential check (gw_authenticate), per request — so revoking or rotating a token
 * takes effect on the next request, also on connections that stay open:
 *   1. the failed-attempt limiter: a client address with --auth-fail-limit failed
 *      authentications in the current --auth-fail-window is refused
 *      (RESOURCE_EXHAUSTED / 429) before its credential is looked at; the burst is
 *      audited once, when it starts;
 *   2. exactly one well-formed credential (rbac_authz_parse): gRPC `authorization:
 *      Bearer`; HTTP Bearer, Token, Basic (password = token) and on v1 `p=`; schemes
 *      spelt exactly as InfluxDB does. HTTP answers a malformed header with 400;
 *   3. an opaque token by its keyed hash in the current policy snapshot, or a JWT against
 *      the OIDC issuer's key set (an unknown key id asks jwks_fetch.c for a refetch).
 * Every failure is the same UNAUTHENTICATED / 401 with one message; the reason goes to
 * the audit log only. Nothing here ever formats a credential into a message or a log.
 *
 * Access check (gw_check): rbac_check against the current snapshot with the principal's
 * home tenant; denials are audited with rbac's reason and answered with one generic
 * PERMISSION_DENIED, identical for a database that does not exist. Writes may create
 * a missing database (gw_check_write) when the principal could create it and would then
 * hold write on it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"
#include "strata/clock.h"
#include "strata/hash.h"
#include "strata/log.h"

/* ---- counters ----------------------------------------------------------------------------- */

#define N_AUTHZ_REASONS 9  /* enum rbac_authz_reason */
#define N_AUTH_REASONS 11  /* enum rbac_auth_reason */
#define N_DENY_REASONS 14  /* enum rbac_reason */

static struct {
    atomic_ullong ok_token, ok_jwt;
    atomic_ullong fail_authz[N_AUTHZ_REASONS];
    atomic_ullong fail_auth[N_AUTH_REASONS];
    atomic_ullong fail_oidc_off;
    atomic_ullong limited;
    atomic_ullong bursts;
    atomic_ullong denied[N_DENY_REASONS];
} C;

/* ---- principals ----------------------------------------------------------------------------- */

void
gw_principal_init(struct gw_principal *w)
{
    memset(w, 0, sizeof *w);
    rbac_principal_init(&w->p);
}

void
gw_principal_cleanup(struct gw_principal *w)
{
    rbac_principal_cleanup(&w->p);
    w->authenticated = false;
}

void
gw_audit_from(const struct gw_principal *who, struct rbac_audit_event *ev)
{
    ev->time_ns = st_now_ns();
    ev->principal = who && who->authenticated ? who->p.id : "anonymous";
    ev->tenant = who && who->authenticated ? who->p.tenant : NULL;
    ev->peer = who && who->peer[0] ? who->peer : NULL;
}

static struct rbac_audit_event
event(const struct gw_principal *who, const char *category, const char *method,
      enum rbac_audit_outcome outcome)
{
    struct rbac_audit_event ev = {.category = category, .method = method, .outcome = outcome,
                                  .rows = -1, .bytes = -1, .lines = -1, .rejected = -1,
                                  .duration_ns = -1};
    gw_audit_from(who, &ev);
    return ev;
}

/* ---- the failed-attempt limiter ------------------------------------------------------------- */

#define LIM_SLOTS 4096
#define LIM_PROBES 8

struct lim_slot {
    char ip[48];
    int64_t window_start;
    uint32_t failures;
};

static struct {
    pthread_mutex_t mu;
    struct lim_slot slots[LIM_SLOTS];
    uint64_t seed;
} L = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The address part of "ip:port" / "[v6]:port" (the limiter counts per address). */
static void
peer_ip(const char *peer, char out[48])
{
    const char *p = peer, *end = peer + strlen(peer);
    if (*p == '[') {
        const char *rb = strchr(p, ']');
        if (rb) {
            p++;
            end = rb;
        }
    } else {
        const char *colon = strrchr(p, ':');
        if (colon && !memchr(p, ':', (size_t)(colon - p)))
            end = colon; /* one colon: ipv4:port */
    }
    size_t n = (size_t)(end - p);
    if (n > 47)
        n = 47;
    memcpy(out, p, n);
    out[n] = '\0';
}

static struct lim_slot *
lim_slot(const char *ip, int64_t now, bool create)
{
    if (!L.seed)
        L.seed = st_hash_seed() | 1;
    uint64_t h = st_hash(ip, strlen(ip), L.seed);
    struct lim_slot *victim = NULL;
    for (int k = 0; k < LIM_PROBES; k++) {
        struct lim_slot *s = &L.slots[(h + (uint64_t)k) % LIM_SLOTS];
        if (s->ip[0] && !strcmp(s->ip, ip))
            return s;
        if (!victim || !s->ip[0] || s->window_start < victim->window_start)
            victim = s;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    snprintf(victim->ip, sizeof victim->ip, "%s", ip);
    victim->window_start = now;
    return victim;
}

static bool
lim_blocked(const char *ip)
{
    uint32_t limit = gw_srv->cfg.auth_fail_limit;
    if (!limit || !ip[0])
        return false;
    int64_t now = st_mono_ns();
    pthread_mutex_lock(&L.mu);
    struct lim_slot *s = lim_slot(ip, now, false);
    bool blocked = s && now - s->window_start < gw_srv->cfg.auth_fail_window_ns &&
                   s->failures >= limit;
    pthread_mutex_unlock(&L.mu);
    return blocked;
}

/* Count a failure; true when it is the one that reached the limit (a burst starts). */
static bool
lim_fail(const char *ip)
{
    uint32_t limit = gw_srv->cfg.auth_fail_limit;
    if (!limit || !ip[0])
        return false;
    int64_t now = st_mono_ns();
    pthread_mutex_lock(&L.mu);
    struct lim_slot *s = lim_slot(ip, now, true);
    if (now - s->window_start >= gw_srv->cfg.auth_fail_window_ns) {
        s->window_start = now;
        s->failures = 0;
    }
    bool burst = ++s->failures == limit;
    pthread_mutex_unlock(&L.mu);
    return burst;
}

/* ---- the credential check ------------------------------------------------------------------- */

static enum st_code
unauthenticated(struct gw_principal *who, const char *method, const char *reason,
                const char *detail, bool count, struct st_error *err)
{
    gw_principal_cleanup(who);
    struct rbac_audit_event ev = event(who, "authn", method, RBAC_AUDIT_UNAUTHENTICATED);
    ev.reason = reason;
    ev.detail = detail;
    gw_audit(&ev);
    char ip[48];
    peer_ip(who->peer, ip);
    if (count && lim_fail(ip)) {
        atomic_fetch_add(&C.bursts, 1);
        struct rbac_audit_event b = event(who, "authn", method, RBAC_AUDIT_DENY);
        char d[160];
        snprintf(d, sizeof d,
                 "%u failed authentications from this address within %llds: further requests "
                 "refused until the window ends",
                 gw_srv->cfg.auth_fail_limit,
                 (long long)(gw_srv->cfg.auth_fail_window_ns / ST_NS_PER_SEC));
        b.reason = "rate_limited";
        b.detail = d;
        gw_audit(&b);
        st_log(ST_LOG_WARN, "auth", "%s: %s", ip, d);
    }
    return st_error_set(err, ST_EUNAUTHENTICATED, RBAC_UNAUTHENTICATED_MSG);
}

enum st_code
gw_authenticate(const struct gw_cred_src *src, const char *method, struct gw_principal *who,
                struct st_error *err)
{
    gw_principal_cleanup(who);
    who->rate_limited = false;
    who->malformed = false;
    char ip[48];
    peer_ip(who->peer, ip);
    if (lim_blocked(ip)) {
        atomic_fetch_add(&C.limited, 1);
        who->rate_limited = true;
        return st_error_set(err, ST_ELIMIT,
                            "too many failed authentications from this address, try again later");
    }
    struct rbac_authz_input in = {
        .transport = src->transport,
        .values = src->values,
        .n_values = src->n_values,
        .p_params = src->p,
        .n_p_params = src->n_p,
        .scheme_exact = true,
    };
    struct rbac_credential cred;
    enum rbac_authz_reason azr = RBAC_AUTHZ_OK;
    if (rbac_authz_parse(&in, &cred, &azr, NULL) != ST_OK) {
        if ((unsigned)azr < N_AUTHZ_REASONS)
            atomic_fetch_add(&C.fail_authz[azr], 1);
        if (src->transport != RBAC_TRANSPORT_GRPC &&
            (azr == RBAC_AUTHZ_MALFORMED || azr == RBAC_AUTHZ_SCHEME ||
             azr == RBAC_AUTHZ_BASIC || azr == RBAC_AUTHZ_CHARSET))
            who->malformed = true;
        char reason[48];
        snprintf(reason, sizeof reason, "credential_%s", rbac_authz_reason_name(azr));
        enum st_code rc = unauthenticated(who, method, reason, NULL, azr != RBAC_AUTHZ_MISSING,
                                          err);
        rbac_credential_wipe(&cred);
        return rc;
    }
    struct rbac_snapshot *snap = gw_policy_get();
    int64_t now = st_now_ns();
    struct rbac_auth_failure f = {RBAC_AUTH_UNKNOWN, ""};
    enum st_code rc = ST_EUNAUTHENTICATED;
    bool jwt = cred.kind == RBAC_CRED_JWT;
    /* a provisioned operator token may look like a JWT: its hash is tried first */
    if (!jwt || rbac_operator_token_text_ok(cred.ptr, cred.len))
        rc = rbac_token_authenticate(snap, cred.ptr, cred.len, now, &who->p, &f, NULL);
    rbac_snapshot_unref(snap);
    bool oidc_off = false;
    if (rc != ST_OK && jwt) {
        const struct rbac_oidc *cfg = NULL;
        struct rbac_keyset *keys = NULL;
        if (!gw_oidc_enabled()) {
            oidc_off = true;
        } else {
            gw_oidc_acquire(&cfg, &keys);
            if (!keys) {
                f.reason = RBAC_AUTH_KEY;
                snprintf(f.detail, sizeof f.detail, "no OIDC key set loaded yet");
                gw_oidc_unknown_key();
            } else {
                rbac_principal_cleanup(&who->p);
                rc = rbac_jwt_verify(cfg, keys, cred.ptr, cred.len, now, &who->p, &f, NULL);
                if (rc != ST_OK && f.reason == RBAC_AUTH_KEY)
                    gw_oidc_unknown_key();
            }
            gw_oidc_release(keys);
        }
    }
    rbac_credential_wipe(&cred);
    if (rc != ST_OK) {
        if (oidc_off) {
            atomic_fetch_add(&C.fail_oidc_off, 1);
            return unauthenticated(who, method, "oidc_not_configured",
                                   "a JWT was presented but no OIDC issuer is configured", true,
                                   err);
        }
        if ((unsigned)f.reason < N_AUTH_REASONS)
            atomic_fetch_add(&C.fail_auth[f.reason], 1);
        return unauthenticated(who, method, rbac_auth_reason_name(f.reason), f.detail, true,
                               err);
    }
    who->authenticated = true;
    atomic_fetch_add(jwt && who->p.kind == RBAC_PRINCIPAL_USER ? &C.ok_jwt : &C.ok_token, 1);
    if (gw_srv->cfg.audit_auth_success) {
        struct rbac_audit_event ev = event(who, "authn", method, RBAC_AUDIT_ALLOW);
        ev.reason = "ok";
        ev.detail = rbac_principal_kind_name(who->p.kind);
        gw_audit(&ev);
    }
    return ST_OK;
}

/* ---- the access check ------------------------------------------------------------------------- */

static enum rbac_reason
decide(const struct gw_principal *who, enum rbac_priv priv, const char *db,
       struct rbac_decision *why)
{
    if (rbac_priv_scope(priv) == RBAC_SCOPE_NONE && priv == RBAC_PRIV_HEALTH) {
        why->reason = RBAC_OK;
        snprintf(why->text, sizeof why->text, "health needs no credential");
        return RBAC_OK;
    }
    if (!who || !who->authenticated) {
        why->reason = RBAC_DENY_UNAUTHENTICATED;
        snprintf(why->text, sizeof why->text, "not authenticated");
        return RBAC_DENY_UNAUTHENTICATED;
    }
    struct rbac_snapshot *s = gw_policy_get();
    enum rbac_reason r = rbac_check(s, &who->p, priv, NULL, db, why);
    rbac_snapshot_unref(s);
    return r;
}

static enum st_code
deny(const struct gw_principal *who, enum rbac_priv priv, const char *db, const char *method,
     enum rbac_reason r, const struct rbac_decision *why, struct st_error *err)
{
    if ((unsigned)r < N_DENY_REASONS)
        atomic_fetch_add(&C.denied[r], 1);
    struct rbac_audit_event ev =
        event(who, "authz", method,
              r == RBAC_DENY_UNAUTHENTICATED || r == RBAC_DENY_REVOKED ? RBAC_AUDIT_UNAUTHENTICATED
                                                                       : RBAC_AUDIT_DENY);
    ev.database = db;
    ev.reason = rbac_reason_name(r);
    ev.detail = why->text;
    ev.target = rbac_priv_name(priv);
    gw_audit(&ev);
    switch (r) {
    case RBAC_DENY_UNAUTHENTICATED:
    case RBAC_DENY_REVOKED:
        return st_error_set(err, ST_EUNAUTHENTICATED, RBAC_UNAUTHENTICATED_MSG);
    case RBAC_DENY_NOT_FOUND:
        /* only administrators of the tenant get here: existence is no secret to them */
        return st_error_set(err, ST_ENOTFOUND, "database \"%s\" does not exist", db ? db : "");
    default:
        return st_error_set(err, ST_EPERMISSION, RBAC_DENIED_MSG);
    }
}

static enum st_code
name_ok(const struct gw_principal *who, enum rbac_priv priv, const char *db, const char *method,
        struct st_error *err)
{
    struct st_error e;
    if (!db || rbac_name_check(RBAC_NAME_DATABASE, db, strlen(db), &e) == ST_OK)
        return ST_OK;
    struct rbac_audit_event ev = event(who, "authz", method, RBAC_AUDIT_DENY);
    ev.reason = "invalid";
    ev.detail = "malformed database name";
    ev.target = rbac_priv_name(priv);
    gw_audit(&ev);
    return st_error_set(err, ST_EINVAL, "invalid database name: %s", e.msg);
}

enum st_code
gw_check(const struct gw_principal *who, enum rbac_priv priv, const char *db, const char *method,
         struct st_error *err)
{
    ST_TRY(name_ok(who, priv, db, method, err));
    struct rbac_decision why;
    enum rbac_reason r = decide(who, priv, db, &why);
    if (r == RBAC_OK)
        return ST_OK;
    return deny(who, priv, db, method, r, &why, err);
}

bool
gw_may_query(const struct gw_principal *who, const char *db)
{
    struct rbac_decision why;
    return db && rbac_name_check(RBAC_NAME_DATABASE, db, strlen(db), NULL) == ST_OK &&
           decide(who, RBAC_PRIV_QUERY, db, &why) == RBAC_OK;
}

enum st_code
gw_check_write(const struct gw_principal *who, const char *db, const char *method, bool *create,
               struct st_error *err)
{
    *create = false;
    ST_TRY(name_ok(who, RBAC_PRIV_WRITE, db, method, err));
    struct rbac_decision why;
    enum rbac_reason r = decide(who, RBAC_PRIV_WRITE, db, &why);
    if (r == RBAC_OK)
        return ST_OK;
    if (who && who->authenticated &&
        (who->p.kind == RBAC_PRINCIPAL_OPERATOR || who->p.kind == RBAC_PRINCIPAL_USER)) {
        struct rbac_snapshot *s = gw_policy_get();
        struct rbac_decision cw;
        char en[GW_ENGINE_NAME_MAX + 1];
        bool creatable = !rbac_snapshot_has_database(s, who->p.tenant, db) &&
                         rbac_check(s, &who->p, RBAC_PRIV_DB_CREATE, NULL, NULL, &cw) == RBAC_OK &&
                         gw_engine_name(who->p.tenant, db, en, NULL) == ST_OK;
        rbac_snapshot_unref(s);
        if (creatable) {
            *create = true;
            return ST_OK;
        }
    }
    return deny(who, RBAC_PRIV_WRITE, db, method, r, &why, err);
}

struct create_arg {
    const struct gw_principal *who;
    const char *db;
    bool created;
    struct rbac_decision why;
};

static enum st_code
create_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
          struct st_error *err)
{
    struct create_arg *a = arg;
    *next = NULL;
    if (rbac_snapshot_has_database(cur, a->who->p.tenant, a->db))
        return ST_OK; /* someone else created it meanwhile */
    char en[GW_ENGINE_NAME_MAX + 1];
    ST_TRY(gw_engine_name(a->who->p.tenant, a->db, en, err));
    ST_TRY(rbac_policy_db_create(cur, &a->who->p, NULL, a->db, NULL, st_now_ns(), next, &a->why,
                                 err));
    enum st_code rc = eng_db_create(gw_srv->eng, en, err);
    if (rc == ST_EEXISTS)
        rc = ST_OK; /* empty storage left by an interrupted change: reuse it */
    if (rc != ST_OK) {
        rbac_snapshot_unref(*next);
        *next = NULL;
        return rc;
    }
    a->created = true;
    return ST_OK;
}

enum st_code
gw_db_create_for_write(const struct gw_principal *who, const char *db, const char *method,
                       struct st_error *err)
{
    struct create_arg a = {who, db, false, {RBAC_OK, ""}};
    enum st_code rc = gw_policy_mutate(create_fn, &a, err);
    if (a.created || rc != ST_OK) {
        struct rbac_audit_event ev =
            event(who, "admin", method, rc == ST_OK ? RBAC_AUDIT_ALLOW : RBAC_AUDIT_ERROR);
        ev.database = db;
        ev.reason = rc == ST_OK ? "ok" : st_code_name(rc);
        ev.detail = rc == ST_OK ? "database created by its first write" : err->msg;
        ev.target = "db_create";
        gw_audit(&ev);
    }
    if (rc != ST_OK)
        return rc;
    struct rbac_decision why;
    enum rbac_reason r = decide(who, RBAC_PRIV_WRITE, db, &why);
    return r == RBAC_OK ? ST_OK : deny(who, RBAC_PRIV_WRITE, db, method, r, &why, err);
}

enum st_code
gw_db_engine_name(const struct gw_principal *who, const char *db, char out[GW_ENGINE_NAME_MAX + 1],
                  struct st_error *err)
{
    return gw_engine_name(who && who->authenticated ? who->p.tenant : NULL, db, out, err);
}

enum st_code
gw_visible_databases(const struct gw_principal *who, char ***names, size_t *n,
                     struct st_error *err)
{
    *names = NULL;
    *n = 0;
    if (!who || !who->authenticated)
        return st_error_set(err, ST_EUNAUTHENTICATED, RBAC_UNAUTHENTICATED_MSG);
    struct rbac_snapshot *s = gw_policy_get();
    struct rbac_decision why;
    enum st_code rc = rbac_db_list(s, &who->p, NULL, names, n, &why, err);
    rbac_snapshot_unref(s);
    return rc;
}

/* ---- metrics ------------------------------------------------------------------------------ */

void
gw_sec_metrics_render(struct st_buf *b)
{
    st_buf_printf(b, "# HELP strata_auth_success_total Successful authentications.\n"
                     "# TYPE strata_auth_success_total counter\n"
                     "strata_auth_success_total{credential=\"token\"} %llu\n"
                     "strata_auth_success_total{credential=\"jwt\"} %llu\n",
                  (unsigned long long)atomic_load(&C.ok_token),
                  (unsigned long long)atomic_load(&C.ok_jwt));
    st_buf_printf(b, "# HELP strata_auth_failures_total Failed authentications by reason.\n"
                     "# TYPE strata_auth_failures_total counter\n");
    for (unsigned i = 1; i < N_AUTHZ_REASONS; i++)
        st_buf_printf(b, "strata_auth_failures_total{reason=\"credential_%s\"} %llu\n",
                      rbac_authz_reason_name((enum rbac_authz_reason)i),
                      (unsigned long long)atomic_load(&C.fail_authz[i]));
    for (unsigned i = 1; i < N_AUTH_REASONS; i++)
        st_buf_printf(b, "strata_auth_failures_total{reason=\"%s\"} %llu\n",
                      rbac_auth_reason_name((enum rbac_auth_reason)i),
                      (unsigned long long)atomic_load(&C.fail_auth[i]));
    st_buf_printf(b, "strata_auth_failures_total{reason=\"oidc_not_configured\"} %llu\n",
                  (unsigned long long)atomic_load(&C.fail_oidc_off));
    st_buf_printf(b,
                  "# HELP strata_auth_rate_limited_total Requests refused because their address "
                  "failed to authenticate too often.\n# TYPE strata_auth_rate_limited_total "
                  "counter\nstrata_auth_rate_limited_total %llu\n"
                  "# HELP strata_auth_rate_limit_bursts_total Addresses that reached "
                  "--auth-fail-limit.\n# TYPE strata_auth_rate_limit_bursts_total counter\n"
                  "strata_auth_rate_limit_bursts_total %llu\n",
                  (unsigned long long)atomic_load(&C.limited),
                  (unsigned long long)atomic_load(&C.bursts));
    st_buf_printf(b, "# HELP strata_access_denied_total Access checks refused, by reason.\n"
                     "# TYPE strata_access_denied_total counter\n");
    for (unsigned i = 1; i < N_DENY_REASONS; i++)
        st_buf_printf(b, "strata_access_denied_total{reason=\"%s\"} %llu\n",
                      rbac_reason_name((enum rbac_reason)i),
                      (unsigned long long)atomic_load(&C.denied[i]));
    gw__audit_metrics(b);
    gw__oidc_metrics(b);
}
