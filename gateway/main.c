/*
 * main.c: stratad's entry point and its start and stop sequences.
 *
 * Start: block SIGINT/SIGTERM in every thread (gRPC starts threads of its own), load and
 * check the whole configuration, the master keys (keys.c: before anything is written to
 * the data directory; a new directory gets its key here), the access policy (all-or-nothing: a damaged policy
 * file stops here, before anything else is touched) with the token pepper and the
 * operator token, the TLS files, open the engine and reconcile it with the policy, open
 * the audit log, load or fetch the OIDC key set, start the integrity service (its first
 * canary check runs at once, on its own thread), start the pool, bind the port (a taken
 * port fails here), start gRPC core and the HTTP daemons, start the acceptor, run the
 * self-test (one gRPC call through the port), and only then write --port-file: a reader
 * of the port file can connect at once.
 *
 * Stop (SIGTERM or SIGINT): stop accepting (the listening socket and unclassified
 * connections close first); then, in parallel, the HTTP drain (in-flight writes
 * finish) and gRPC's graceful shutdown (grace period, then cancel); then the pool drains;
 * the integrity service stops and a running key rotation or verify is waited for;
 * the WAL is synced and the engine closed; the audit queue is written out; exit 0.
 * Nothing acknowledged is lost: a write is acknowledged only after eng_write returned,
 * which is durable.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_int.h"
#include "strata/file.h"
#include "strata/log.h"

struct gw_server *gw_srv;

static enum st_code
read_pem(const char *path, const char *what, char **out, struct st_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (st_file_read_all(path, 1u << 20, &data, &len, err) != ST_OK) {
        st_error_prefix(err, "%s: ", what);
        return ST_EINVAL;
    }
    if (!strstr((char *)data, "-----BEGIN ")) {
        free(data);
        return st_error_set(err, ST_EINVAL, "%s '%s': not a PEM file", what, path);
    }
    *out = (char *)data;
    return ST_OK;
}

static void *
http_stop_thread(void *arg)
{
    gw_http_stop(*(int64_t *)arg);
    return NULL;
}

static int
die(const struct st_error *err)
{
    fprintf(stderr, "stratad: %s\n", err->msg);
    return 1;
}

/* A start that fails once threads run: they are stopped before the process exits, or one of
 * them (the integrity check's first write, a persist, a JWKS fetch) races exit's teardown of
 * OpenSSL and the C library and can crash or hang the failed start. */
static int
die_running(struct gw_server *srv, const struct st_error *err)
{
    fprintf(stderr, "stratad: %s\n", err->msg);
    gw_integrity_stop();
    gw_maint_stop();
    gw_oidc_stop();
    if (srv->eng)
        eng_close(srv->eng);
    srv->eng = NULL;
    gw_audit_close();
    return 1;
}

int
main(int argc, char **argv)
{
    /* Signals: reset inherited SIG_IGN, then block, before any thread exists. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    static struct gw_server srv;
    gw_srv = &srv;
    struct st_error err;
    st_error_clear(&err);
    enum st_code rc = gw_config_load(&srv.cfg, argc, argv, &err);
    if (rc == ST_EEXISTS) { /* --help, --version, --print-method-table, --generate-master-key */
        if (srv.cfg.print_method_table)
            gw_methods_print_json(stdout);
        if (srv.cfg.generate_master_key) {
            char kid[ENG_KEY_ID_LEN + 1];
            rc = gw_keys_generate(srv.cfg.generate_master_key, kid, &err);
            if (rc != ST_OK)
                return die(&err);
            printf("wrote a new master key to %s (mode 0600); key id %s\n",
                   srv.cfg.generate_master_key, kid);
            free(srv.cfg.generate_master_key);
        }
        return 0;
    }
    if (rc != ST_OK)
        return die(&err);
    struct gw_config *cf = &srv.cfg;

    /* The port before anything is written or a thread started: a taken port ends the start
     * at once and changes nothing. */
    if (gw_acceptor_bind(&srv, &err) != ST_OK)
        return die(&err);
    /* Master keys first: nothing may be written to a directory whose key is missing. */
    bool data_dir_new = gw_data_dir_is_new(cf->data_dir);
    if (st_mkdir_p(cf->data_dir, 0700, &err) != ST_OK) {
        st_error_prefix(&err, "--data-dir: ");
        return die(&err);
    }
    if (gw_keys_open(&srv, data_dir_new, &err) != ST_OK)
        return die(&err);
    bool generated = false;
    if (gw_policy_open(&srv, &generated, &err) != ST_OK)
        return die(&err);
    if (cf->tls_cert) {
        if (read_pem(cf->tls_cert, "--tls-cert", &srv.tls.cert_pem, &err) != ST_OK ||
            read_pem(cf->tls_key, "--tls-key", &srv.tls.key_pem, &err) != ST_OK ||
            (cf->tls_client_ca &&
             read_pem(cf->tls_client_ca, "--tls-client-ca", &srv.tls.ca_pem, &err) != ST_OK))
            return die(&err);
        srv.tls_on = true;
    }
    struct eng_options eo = {
        .data_dir = cf->data_dir,
        .background = true,
        .partition_ns = cf->partition_ns,
        .buffer_max_bytes = (size_t)cf->buffer_max_bytes,
        .persist_age_ns = cf->persist_age_ns,
        .block_cache_bytes = cf->block_cache_bytes ? (size_t)cf->block_cache_bytes : SIZE_MAX,
        .keyring = srv.keys,
        .encryption = cf->encryption_on,
        .encryption_migrate = cf->encryption_migrate,
    };
    srv.eng = eng_open(&eo, &err);
    if (!srv.eng) {
        st_error_prefix(&err, "opening the engine on '%s': ", cf->data_dir);
        return die(&err);
    }
    if (gw_policy_reconcile(&srv, &err) != ST_OK) {
        st_error_prefix(&err, "the access policy and the engine's databases: ");
        return die_running(&srv, &err);
    }
    struct rbac_snapshot *snap = gw_policy_get();
    char cluster_id[RBAC_NAME_MAX + 1];
    snprintf(cluster_id, sizeof cluster_id, "%s", rbac_snapshot_cluster_id(snap));
    rbac_snapshot_unref(snap);
    if (gw_audit_open(&srv, cluster_id, &err) != ST_OK || gw_oidc_start(&srv, &err) != ST_OK)
        return die_running(&srv, &err);
    gw_metrics_init();
    if (gw_integrity_start(&srv, &err) != ST_OK)
        return die_running(&srv, &err);
    if (gw_pool_start(cf->pool_threads, cf->pool_queue, &err) != ST_OK ||
        gw_grpc_start(&srv, &err) != ST_OK || gw_http_start(&srv, &err) != ST_OK ||
        gw_acceptor_start(&srv, &err) != ST_OK)
        return die_running(&srv, &err);
    if (cf->self_test && gw_selftest(&srv, &err) != ST_OK)
        return die_running(&srv, &err);
    if (cf->port_file) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d\n", srv.bound_port);
        if (st_file_write_atomic(cf->port_file, buf, (size_t)n, 0644, &err) != ST_OK) {
            st_error_prefix(&err, "--port-file: ");
            return die_running(&srv, &err);
        }
    }
    const char *scheme = srv.tls_on ? "https" : "http";
    const char *h = cf->listen_host;
    bool v6 = strchr(h, ':') != NULL;
    printf("stratad %s listening on %s://%s%s%s:%d (gRPC and HTTP on one port%s)\n", GW_VERSION,
           scheme, v6 ? "[" : "", *h ? h : "0.0.0.0", v6 ? "]" : "", srv.bound_port,
           srv.tls_on ? ", TLS only" : "");
    printf("  data directory: %s\n", cf->data_dir);
    printf("  cluster id: %s; access policy: %s; audit log: %s\n", cluster_id, cf->policy_file,
           cf->audit_dir);
    if (gw_keys_current_id())
        printf("  encryption at rest: %s; master key %s %s%s\n",
               cf->encryption_on ? "on (AES-256-GCM)" : "off", gw_keys_current_id(),
               gw_keys_generated() ? "created in " : "from ", gw_keys_source());
    else
        printf("  encryption at rest: off (--encryption off)\n");
    if (gw_keys_in_data_dir())
        printf("    the key is inside the data directory: it protects against leaks of data "
               "files,\n    not of the whole directory; to move it out see docs/operations.md "
               "(\"Master keys\")\n");
    if (generated)
        printf("  operator token (generated, shown once; also in %s, mode 0600):\n    %s\n",
               cf->admin_token_file, gw_policy_operator_token());
    else
        printf("  operator token: in %s\n", cf->admin_token_file);
    char host[320];
    snprintf(host, sizeof host, "%s://%s%s%s:%d", scheme, v6 ? "[" : "",
             (*h && strcmp(h, "0.0.0.0") && strcmp(h, "::")) ? h : "127.0.0.1", v6 ? "]" : "",
             srv.bound_port);
    printf("  try:\n"
           "    echo 'cpu,host=a usage=0.5' | build/bin/strata --host %s --token-file %s "
           "write --database mydb -\n"
           "    build/bin/strata --host %s --token-file %s query --database mydb "
           "\"SELECT * FROM cpu\"\n",
           host, cf->admin_token_file, host, cf->admin_token_file);
    fflush(stdout);
    st_log(ST_LOG_NOTICE, "main", "listening on port %d", srv.bound_port);

    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    st_log(ST_LOG_NOTICE, "main", "signal %d: shutting down", sig);
    atomic_store(&srv.shutting_down, 1);
    gw_acceptor_stop();
    pthread_t ht;
    int64_t grace = cf->shutdown_grace_ns;
    bool ht_ok = pthread_create(&ht, NULL, http_stop_thread, &grace) == 0;
    if (!ht_ok)
        gw_http_stop(grace);
    gw_grpc_stop(grace);
    if (ht_ok)
        pthread_join(ht, NULL);
    gw_pool_stop();
    gw_integrity_stop();
    gw_maint_stop();
    if (eng_sync(srv.eng, &err) != ST_OK)
        st_log(ST_LOG_ERROR, "main", "syncing the WAL: %s", err.msg);
    eng_close(srv.eng);
    gw_oidc_stop();
    gw_audit_close();
    gw_policy_close();
    gw_keys_close(&srv);
    free(srv.tls.cert_pem);
    free(srv.tls.key_pem);
    free(srv.tls.ca_pem);
    gw_config_cleanup(cf);
    st_log(ST_LOG_NOTICE, "main", "stopped");
    return 0;
}
