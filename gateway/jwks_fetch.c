/*
 * jwks_fetch.c: OIDC for stratad — the issuer's configuration (rbac_oidc_new from the
 * --oidc-* settings) and its key set, which rbac verifies JWTs against. rbac does no I/O:
 * this file reads or fetches the bytes and hands them over.
 *
 * Where the keys come from:
 *   --oidc-jwks-file   a JWKS document on disk, read at start (a bad file stops the
 *                      start) and read again every --oidc-jwks-refresh and, at most once
 *                      per --oidc-jwks-min-interval, when a token names an unknown key id;
 *   discovery          otherwise: GET ISSUER/.well-known/openid-configuration, believe it
 *                      only if its `issuer` is ours byte for byte and its `jwks_uri` is an
 *                      https URL on the issuer's own origin (rbac_oidc_discovery_parse),
 *                      then GET jwks_uri. With libcurl: https only, no redirects, no proxy,
 *                      TLS >= 1.2 with peer and host verification against --oidc-ca-file
 *                      (only that bundle when given), --oidc-fetch-timeout, at most
 *                      RBAC_JWKS_MAX_LEN (256 KiB) per document.
 * A key set is immutable and reference counted: a new one is swapped in under a mutex and
 * requests holding the old one finish with it. A fetch or parse error keeps the last good
 * set in use (and is retried), so an identity provider outage does not lock users out
 * before their tokens expire. Every fetch, success or failure, is counted for /metrics.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"

#define RETRY_MIN_NS (5 * ST_NS_PER_SEC)

static struct {
    bool enabled;
    struct rbac_oidc *cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rbac_keyset *keys;
    pthread_t thr;
    bool running, stop, want;
    int64_t last_attempt; /* monotonic */
    bool last_ok;
    int64_t retry_ns;
    /* settings */
    char *issuer, *jwks_file, *ca_file;
    int64_t refresh_ns, min_interval_ns, timeout_ns;
    atomic_ullong c_ok, c_fail, c_unknown, c_throttled;
} O = {.mu = PTHREAD_MUTEX_INITIALIZER};

bool
gw_oidc_enabled(void)
{
    return O.enabled;
}

void
gw_oidc_acquire(const struct rbac_oidc **cfg, struct rbac_keyset **keys)
{
    pthread_mutex_lock(&O.mu);
    *cfg = O.cfg;
    *keys = rbac_keyset_ref(O.keys);
    pthread_mutex_unlock(&O.mu);
}

void
gw_oidc_release(struct rbac_keyset *keys)
{
    rbac_keyset_unref(keys);
}

/* ---- fetching ------------------------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct st_buf *b = arg;
    size_t len = size * n;
    return st_buf_append(b, p, len) == ST_OK ? len : 0; /* 0: too large, curl stops */
}

static enum st_code
https_get(const char *url, struct st_buf *out, struct st_error *err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return st_error_set(err, ST_ENOMEM, "cannot start a fetch (libcurl)");
    char cerr[CURL_ERROR_SIZE] = "";
    long ms = (long)(O.timeout_ns / ST_NS_PER_MS);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (O.ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, O.ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* only the pinned bundle */
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms < 5000 ? ms : 5000L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RBAC_JWKS_MAX_LEN);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "stratad/" GW_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED)
        return st_error_set(err, ST_ELIMIT, "GET %.200s: larger than %d bytes", url,
                            RBAC_JWKS_MAX_LEN);
    if (cc != CURLE_OK)
        return st_error_set(err, ST_EIO, "GET %.200s: %s", url,
                            cerr[0] ? cerr : curl_easy_strerror(cc));
    if (status != 200)
        return st_error_set(err, ST_EIO, "GET %.200s: HTTP status %ld", url, status);
    return ST_OK;
}

static enum st_code
fetch_keys(struct rbac_keyset **out, struct st_error *err)
{
    struct st_buf b;
    st_buf_init(&b, RBAC_JWKS_MAX_LEN);
    enum st_code rc;
    if (O.jwks_file) {
        uint8_t *data = NULL;
        size_t len = 0;
        rc = st_file_read_all(O.jwks_file, RBAC_JWKS_MAX_LEN, &data, &len, err);
        if (rc == ST_OK)
            rc = rbac_jwks_parse(data, len, NULL, out, err);
        free(data);
        if (rc != ST_OK)
            st_error_prefix(err, "--oidc-jwks-file '%s': ", O.jwks_file);
        return rc;
    }
    size_t il = strlen(O.issuer);
    char *url = malloc(il + 40);
    if (!url)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    snprintf(url, il + 40, "%.*s/.well-known/openid-configuration",
             (int)(il && O.issuer[il - 1] == '/' ? il - 1 : il), O.issuer);
    rc = https_get(url, &b, err);
    free(url);
    char *jwks_uri = NULL;
    if (rc == ST_OK)
        rc = rbac_oidc_discovery_parse(b.data, b.len, O.issuer, &jwks_uri, err);
    if (rc == ST_OK) {
        st_buf_reset(&b);
        rc = https_get(jwks_uri, &b, err);
        if (rc == ST_OK)
            rc = rbac_jwks_parse(b.data, b.len, NULL, out, err);
    }
    free(jwks_uri);
    st_buf_cleanup(&b);
    if (rc != ST_OK)
        st_error_prefix(err, "OIDC discovery for '%s': ", O.issuer);
    return rc;
}

/* One attempt; swaps the key set in on success. Called without O.mu. */
static enum st_code
refresh(struct st_error *err)
{
    struct rbac_keyset *ks = NULL;
    enum st_code rc = fetch_keys(&ks, err);
    if (rc == ST_OK) {
        for (size_t i = 0; i < rbac_keyset_n_skipped(ks); i++) {
            size_t at = 0;
            const char *why = rbac_keyset_skipped(ks, i, &at);
            st_log(ST_LOG_WARN, "oidc", "key %zu of the key set skipped: %s", at, why);
        }
        pthread_mutex_lock(&O.mu);
        struct rbac_keyset *old = O.keys;
        O.keys = ks;
        pthread_mutex_unlock(&O.mu);
        rbac_keyset_unref(old);
        atomic_fetch_add(&O.c_ok, 1);
    } else {
        atomic_fetch_add(&O.c_fail, 1);
    }
    return rc;
}

static void *
fetcher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&O.mu);
    while (!O.stop) {
        int64_t now = st_mono_ns();
        int64_t next = O.last_attempt + (O.last_ok ? O.refresh_ns : O.retry_ns);
        bool due = now >= next ||
                   (O.want && now - O.last_attempt >= O.min_interval_ns);
        if (!due) {
            int64_t wait = next - now;
            if (O.want) {
                int64_t w2 = O.last_attempt + O.min_interval_ns - now;
                if (w2 < wait)
                    wait = w2;
            }
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t at = (int64_t)ts.tv_sec * ST_NS_PER_SEC + ts.tv_nsec + wait;
            ts.tv_sec = (time_t)(at / ST_NS_PER_SEC);
            ts.tv_nsec = (long)(at % ST_NS_PER_SEC);
            pthread_cond_timedwait(&O.cv, &O.mu, &ts);
            continue;
        }
        O.want = false;
        O.last_attempt = now;
        pthread_mutex_unlock(&O.mu);
        struct st_error err;
        enum st_code rc = refresh(&err);
        if (rc != ST_OK)
            st_log(ST_LOG_ERROR, "oidc", "%s (keeping the last good key set)", err.msg);
        pthread_mutex_lock(&O.mu);
        O.last_ok = rc == ST_OK;
        /* back off on errors: 5 s, doubling up to the refresh period */
        O.retry_ns = rc == ST_OK ? RETRY_MIN_NS
                                 : (O.retry_ns * 2 < O.refresh_ns ? O.retry_ns * 2 : O.refresh_ns);
    }
    pthread_mutex_unlock(&O.mu);
    return NULL;
}

void
gw_oidc_unknown_key(void)
{
    if (!O.enabled)
        return;
    atomic_fetch_add(&O.c_unknown, 1);
    pthread_mutex_lock(&O.mu);
    if (st_mono_ns() - O.last_attempt >= O.min_interval_ns) {
        O.want = true;
        pthread_cond_signal(&O.cv);
    } else {
        atomic_fetch_add(&O.c_throttled, 1);
    }
    pthread_mutex_unlock(&O.mu);
}

/* ---- configuration -------------------------------------------------------------------------- */

/* Split "a,b,c" into a NULL-free vector of strdup'd items (empty items refused). */
static enum st_code
split_list(const char *s, const char *flag, char ***out, size_t *n_out, struct st_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!s || !*s)
        return ST_OK;
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **v = calloc(n, sizeof *v);
    if (!v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    const char *p = s;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            rbac_strv_free(v, i);
            return st_error_set(err, ST_EINVAL, "--%s: empty item in '%.100s'", flag, s);
        }
        v[i] = strndup(p, len);
        if (!v[i]) {
            rbac_strv_free(v, i);
            return st_error_set(err, ST_ENOMEM, "out of memory");
        }
        p = e ? e + 1 : p + len;
    }
    *out = v;
    *n_out = n;
    return ST_OK;
}

static enum st_code
build_config(const struct gw_config *c, struct st_error *err)
{
    char **req = NULL, **amr = NULL, **acr = NULL;
    size_t n_req = 0, n_amr = 0, n_acr = 0;
    struct rbac_claim_req *claims = NULL;
    enum st_code rc = split_list(c->oidc_required_claims, "oidc-required-claims", &req, &n_req,
                                 err);
    if (rc == ST_OK)
        rc = split_list(c->oidc_mfa_amr, "oidc-mfa-amr", &amr, &n_amr, err);
    if (rc == ST_OK)
        rc = split_list(c->oidc_mfa_acr, "oidc-mfa-acr", &acr, &n_acr, err);
    if (rc == ST_OK && n_req && !(claims = calloc(n_req, sizeof *claims)))
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ST_OK && i < n_req; i++) {
        char *eq = strchr(req[i], '=');
        if (!eq || eq == req[i])
            rc = st_error_set(err, ST_EINVAL,
                              "--oidc-required-claims: '%.100s' is not name=value", req[i]);
        else {
            *eq = '\0';
            claims[i].name = req[i];
            claims[i].value = eq + 1;
        }
    }
    if (rc == ST_OK) {
        enum rbac_mfa_mode mfa = !strcmp(c->oidc_require_mfa, "all")     ? RBAC_MFA_REQUIRED
                                 : !strcmp(c->oidc_require_mfa, "admin") ? RBAC_MFA_FOR_ADMIN
                                                                         : RBAC_MFA_OFF;
        struct rbac_oidc_config oc = {
            .issuer = c->oidc_issuer,
            .audience = c->oidc_audience,
            .tenant = c->oidc_tenant ? c->oidc_tenant : gw_default_tenant(),
            .algs = c->oidc_algs,
            .leeway_ns = c->oidc_leeway_ns,
            .max_lifetime_ns = c->oidc_max_lifetime_ns,
            .max_token_len = (size_t)c->oidc_max_token_bytes,
            .user_claim = c->oidc_user_claim,
            .user_prefix = c->oidc_user_prefix,
            .groups_claim = c->oidc_groups_claim,
            .group_prefix = c->oidc_group_prefix,
            .required = claims,
            .n_required = n_req,
            .mfa = mfa,
            .amr_values = (const char *const *)amr,
            .n_amr_values = mfa == RBAC_MFA_OFF ? 0 : n_amr,
            .acr_values = (const char *const *)acr,
            .n_acr_values = mfa == RBAC_MFA_OFF ? 0 : n_acr,
        };
        rc = rbac_oidc_new(&oc, &O.cfg, err);
        if (rc != ST_OK)
            st_error_prefix(err, "OIDC settings: ");
    }
    free(claims);
    rbac_strv_free(req, n_req);
    rbac_strv_free(amr, n_amr);
    rbac_strv_free(acr, n_acr);
    return rc;
}

enum st_code
gw_oidc_start(struct gw_server *s, struct st_error *err)
{
    const struct gw_config *c = &s->cfg;
    if (!c->oidc_issuer)
        return ST_OK;
    ST_TRY(build_config(c, err));
    const char *tenant = c->oidc_tenant ? c->oidc_tenant : gw_default_tenant();
    struct rbac_snapshot *snap = gw_policy_get();
    if (snap && !rbac_snapshot_has_tenant(snap, tenant))
        st_log(ST_LOG_WARN, "oidc",
               "--oidc-tenant '%s' does not exist (yet): its users are refused until the "
               "operator creates it",
               tenant);
    rbac_snapshot_unref(snap);
    O.issuer = strdup(c->oidc_issuer);
    O.jwks_file = c->oidc_jwks_file ? strdup(c->oidc_jwks_file) : NULL;
    O.ca_file = c->oidc_ca_file ? strdup(c->oidc_ca_file) : NULL;
    if (!O.issuer || (c->oidc_jwks_file && !O.jwks_file) || (c->oidc_ca_file && !O.ca_file))
        return st_error_set(err, ST_ENOMEM, "out of memory");
    O.refresh_ns = c->oidc_jwks_refresh_ns;
    O.min_interval_ns = c->oidc_jwks_min_interval_ns;
    O.timeout_ns = c->oidc_fetch_timeout_ns;
    O.retry_ns = RETRY_MIN_NS;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return st_error_set(err, ST_EIO, "cannot initialise libcurl");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&O.cv, &ca);
    pthread_condattr_destroy(&ca);
    /* the first key set, now: a bad file stops the start, a failed fetch does not */
    O.last_attempt = st_mono_ns();
    enum st_code rc = refresh(err);
    if (rc != ST_OK) {
        if (O.jwks_file)
            return rc;
        st_log(ST_LOG_ERROR, "oidc", "%s: JWTs are refused until a key set is fetched", err->msg);
    }
    O.last_ok = rc == ST_OK;
    O.enabled = true;
    if (pthread_create(&O.thr, NULL, fetcher_main, NULL) != 0)
        return st_error_set(err, ST_EIO, "cannot start the OIDC key fetcher");
    pthread_setname_np(O.thr, "oidc-keys");
    O.running = true;
    st_log(ST_LOG_NOTICE, "oidc", "accepting JWTs from '%s' (keys from %s)", O.issuer,
           O.jwks_file ? O.jwks_file : "discovery");
    return ST_OK;
}

void
gw_oidc_stop(void)
{
    if (O.running) {
        pthread_mutex_lock(&O.mu);
        O.stop = true;
        pthread_cond_signal(&O.cv);
        pthread_mutex_unlock(&O.mu);
        pthread_join(O.thr, NULL);
        O.running = false;
    }
    if (O.issuer)
        curl_global_cleanup();
    O.enabled = false;
    rbac_keyset_unref(O.keys);
    O.keys = NULL;
    rbac_oidc_free(O.cfg);
    O.cfg = NULL;
    free(O.issuer);
    free(O.jwks_file);
    free(O.ca_file);
    O.issuer = O.jwks_file = O.ca_file = NULL;
}

void
gw__oidc_metrics(struct st_buf *b)
{
    if (!O.enabled)
        return;
    pthread_mutex_lock(&O.mu);
    size_t n = O.keys ? rbac_keyset_n_keys(O.keys) : 0;
    pthread_mutex_unlock(&O.mu);
    st_buf_printf(b,
                  "# HELP strata_oidc_key_fetches_total OIDC key set loads by outcome.\n"
                  "# TYPE strata_oidc_key_fetches_total counter\n"
                  "strata_oidc_key_fetches_total{outcome=\"ok\"} %llu\n"
                  "strata_oidc_key_fetches_total{outcome=\"error\"} %llu\n"
                  "# HELP strata_oidc_unknown_key_total Tokens naming a key the set lacks.\n"
                  "# TYPE strata_oidc_unknown_key_total counter\n"
                  "strata_oidc_unknown_key_total %llu\n"
                  "# HELP strata_oidc_refetch_throttled_total Unknown-key refetches skipped by "
                  "--oidc-jwks-min-interval.\n# TYPE strata_oidc_refetch_throttled_total counter\n"
                  "strata_oidc_refetch_throttled_total %llu\n"
                  "# HELP strata_oidc_keys Keys in the current set.\n"
                  "# TYPE strata_oidc_keys gauge\nstrata_oidc_keys %zu\n",
                  (unsigned long long)atomic_load(&O.c_ok),
                  (unsigned long long)atomic_load(&O.c_fail),
                  (unsigned long long)atomic_load(&O.c_unknown),
                  (unsigned long long)atomic_load(&O.c_throttled), n);
}
