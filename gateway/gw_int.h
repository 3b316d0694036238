/*
 * gw_int.h: the private interface between the files of the gateway (stratad).
 *
 * stratad is one process with these threads:
 *   main        parses the configuration, starts everything, waits for SIGTERM/SIGINT
 *               and runs the shutdown sequence (main.c);
 *   acceptor    owns the listening socket, peeks at each new connection and hands it
 *               over once: to gRPC core (HTTP/2 preface, or TLS with ALPN h2 only) or
 *               to libmicrohttpd (anything else) (acceptor.c, tls_sniff.c);
 *   grpc-N      one completion queue each; every event of a call lands on the worker
 *               that owns the call, so call state needs no lock (grpc_server.c, call.c);
 *   pool-N      a bounded pool that runs engine work (queries, writes), never on a
 *               gRPC poller or MHD thread (pool.c);
 *   MHD         libmicrohttpd's own polling threads (http_server.c).
 *
 * Data flows: request -> auth.c (the single credential check) -> a handler
 * (h_*.c for gRPC, http_*.c for HTTP) -> engine.h -> status_map.c for errors.
 */
#ifndef GW_INT_H
#define GW_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/buf.h"
#include "strata/engine.h"
#include "strata/rbac.h"
#include "strata/status.h"

#define GW_VERSION "0.1.0"
#define GW_PRODUCT "Strata"

/* ---- connection classification (tls_sniff.c) -------------------------------------------- */

enum gw_sniff {
    GW_SNIFF_MORE = 0,  /* need more bytes */
    GW_SNIFF_BAD,       /* cannot be served: close */
    GW_SNIFF_GRPC,      /* plaintext HTTP/2 preface */
    GW_SNIFF_HTTP,      /* plaintext, anything else */
    GW_SNIFF_TLS_GRPC,  /* TLS ClientHello whose ALPN offers h2 and not http/1.1 */
    GW_SNIFF_TLS_HTTP,  /* TLS ClientHello offering http/1.1, or no ALPN */
};

#define GW_SNIFF_TLS_MAX 65536 /* bytes of TLS records we will look at */

/* Classify the first bytes of a plaintext connection. */
enum gw_sniff gw_sniff_plain(const uint8_t *p, size_t n);
/* Classify the first bytes of a TLS connection by its ClientHello's ALPN list. */
enum gw_sniff gw_sniff_tls(const uint8_t *p, size_t n);
const char *gw_sniff_name(enum gw_sniff s);

/* ---- configuration (config.c) ------------------------------------------------------------ */

/* A list setting (repeatable flag, comma-separated environment variable, JSON array). */
struct gw_strv {
    char **v;
    size_t n;
};

struct gw_config {
    char *config_file;
    char *data_dir;
    char *listen;          /* HOST:PORT as given */
    char *listen_host;     /* parsed */
    int listen_port;       /* parsed; 0 = pick a free port */
    char *port_file;
    char *admin_token_file;
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca;
    char *log_level;
    bool log_json;
    /* limits */
    uint64_t max_request_bytes;      /* HTTP body, raw and decompressed */
    uint64_t max_header_bytes;       /* HTTP request line + headers (431 beyond: http_server.c) */
    uint64_t max_grpc_message_bytes; /* largest gRPC request message */
    uint64_t max_flight_data_bytes;  /* target size of one FlightData (<= 4 MiB) */
    uint64_t max_result_bytes;       /* per query */
    uint32_t max_concurrent_queries;
    uint32_t max_connections;        /* HTTP connections at once */
    uint32_t max_pending;            /* connections still being classified */
    uint32_t max_streams_per_conn;   /* HTTP/2 streams per gRPC connection */
    int64_t query_timeout_ns;        /* 0 = only the client's deadline */
    int64_t http_timeout_ns;         /* idle/slow HTTP connection timeout */
    int64_t peek_timeout_ns;         /* classify a new connection within this */
    int64_t grpc_idle_ns;            /* close idle gRPC connections after this */
    int64_t handshake_timeout_ns;    /* gRPC (TLS) handshake deadline */
    int64_t keepalive_ns;            /* 0-row batch interval while a query is slow */
    int64_t test_doget_delay_ns;     /* tests only: pause before each DoGet batch; 0 = off */
    int64_t shutdown_grace_ns;
    uint32_t grpc_workers;
    uint32_t pool_threads;
    uint32_t pool_queue;
    bool self_test;                  /* loopback gRPC call at start */
    /* identity and access (docs/security.md) */
    char *cluster_id;                /* NULL = the policy's, or "strata" for a new policy */
    char *default_tenant;            /* NULL = the policy's, or "default" for a new policy */
    char *policy_file;               /* default DATA-DIR/security/policy.json */
    char *token_pepper_file;         /* default DATA-DIR/security/token-pepper */
    uint32_t auth_fail_limit;        /* failed authentications per peer and window; 0 = off */
    int64_t auth_fail_window_ns;
    /* audit log */
    char *audit_dir;                 /* default DATA-DIR/audit */
    uint64_t audit_max_bytes;        /* rotate a file beyond this */
    uint32_t audit_queue;            /* events waiting for the writer */
    char *audit_overflow;            /* "block" or "drop" */
    bool audit_drop;                 /* parsed audit_overflow */
    char *audit_key_file;            /* HMAC key for the chain (32..64 bytes) */
    bool audit_auth_success;         /* also log successful authentications */
    /* OIDC */
    char *oidc_issuer;
    char *oidc_audience;
    char *oidc_tenant;               /* NULL = the default tenant */
    char *oidc_jwks_file;            /* else discovery from the issuer */
    char *oidc_ca_file;              /* CA bundle for fetching discovery and JWKS */
    char *oidc_algorithms;           /* "RS256,ES256" */
    unsigned oidc_algs;              /* parsed */
    int64_t oidc_leeway_ns;
    uint64_t oidc_max_token_bytes;
    int64_t oidc_max_lifetime_ns;
    char *oidc_user_claim;
    char *oidc_user_prefix;
    char *oidc_groups_claim;
    char *oidc_group_prefix;
    char *oidc_required_claims;      /* "name=value,..." */
    char *oidc_require_mfa;          /* off | all | admin */
    char *oidc_mfa_amr;              /* accepted amr values, comma separated */
    char *oidc_mfa_acr;              /* accepted acr values, comma separated */
    int64_t oidc_jwks_refresh_ns;    /* refetch the key set this often */
    int64_t oidc_jwks_min_interval_ns; /* at most one fetch per this on unknown kids */
    int64_t oidc_fetch_timeout_ns;
    bool print_method_table;         /* --print-method-table: print, then exit 0 */
    /* encryption at rest and data protection (keys.c, integrity.c, h_maint.c) */
    char *master_key_file;           /* NULL = STRATA_MASTER_KEY, or DATA-DIR/keys/master.key */
    struct gw_strv previous_key_files; /* older keys, to read files not yet rewrapped */
    char *encryption;                /* "on" | "off" as given */
    bool encryption_on;              /* parsed */
    bool encryption_migrate;         /* convert the data directory to the configured mode */
    char *generate_master_key;       /* --generate-master-key FILE: write a key, then exit 0 */
    int64_t integrity_interval_ns;   /* canary check period; 0 = off */
    bool test_integrity_fault;       /* tests only: the canary comparison expects wrong values */
    /* engine tuning (eng_options) */
    int64_t partition_ns;            /* time partition width */
    uint64_t buffer_max_bytes;       /* persist a database's buffers beyond this */
    int64_t persist_age_ns;          /* persist buffers holding writes older than this */
    uint64_t block_cache_bytes;      /* decoded chunk blocks kept for scans (0 = none) */
};

/* Parse defaults < --config FILE / STRATA_CONFIG < STRATA_* env < flags. Returns ST_OK,
 * ST_EINVAL with a message naming the setting, or ST_EEXISTS when --help/--version
 * printed something and the process should exit 0. */
enum st_code gw_config_load(struct gw_config *c, int argc, char **argv, struct st_error *err);
void gw_config_cleanup(struct gw_config *c);
/* Parse "10MiB", "64KiB", "4096" into bytes; -1 when malformed. */
int gw_parse_size(const char *s, uint64_t *out);
/* Parse "RS256,ES256" into RBAC_ALG_* bits; 0 when a name is unknown. */
unsigned gw_oidc_parse_algs(const char *list);

/* ---- metrics (metrics.c) ------------------------------------------------------------------ */

enum gw_proto { GW_PROTO_GRPC = 0, GW_PROTO_HTTP = 1 };

void gw_metrics_init(void);
/* Count one finished request: method or route name, status (gRPC code or HTTP status),
 * duration. Names must be static strings. */
void gw_metrics_request(enum gw_proto p, const char *name, int status, int64_t dur_ns);
void gw_metrics_add_rows_written(uint64_t rows, uint64_t bytes);
void gw_metrics_add_rows_sent(uint64_t rows, uint64_t bytes);
void gw_metrics_conn(const char *route); /* a classified connection: grpc, http, tls-grpc... */
void gw_metrics_conn_dropped(const char *why);
/* Append the security counters (auth.c, audit_log.c, jwks_fetch.c) to a rendering. */
void gw_sec_metrics_render(struct st_buf *b);
/* Render the Prometheus text exposition into a malloc'd string. */
char *gw_metrics_render(struct eng *e, size_t *len_out);
extern atomic_int gw_active_queries;
extern atomic_int gw_active_writes;

/* ---- identity and access: the whole interface is gw_sec.h --------------------------------- */

/* Who a request is: filled once per request by the credential check (auth.c). */
struct gw_principal {
    struct rbac_principal p; /* kind RBAC_PRINCIPAL_NONE until authenticated */
    char peer[64];           /* client address "ip:port" (audit, failed-attempt limiter) */
    bool authenticated;
    bool rate_limited;       /* refused before its credential was looked at */
    bool malformed;          /* HTTP: Authorization header not "<scheme> <credential>" (400) */
};

/* ---- status mapping (status_map.c): one table each --------------------------------------- */

int gw_status_grpc(enum st_code code); /* grpc_status_code */
int gw_status_http(enum st_code code); /* HTTP status */
const char *gw_grpc_code_name(int grpc_code);

/* ---- work pool (pool.c) ------------------------------------------------------------------- */

typedef void (*gw_pool_fn)(void *arg);
enum st_code gw_pool_start(unsigned n_threads, unsigned queue_cap, struct st_error *err);
/* Queue fn(arg); ST_EAGAIN when the queue is full, ST_ESHUTDOWN after stop. */
enum st_code gw_pool_submit(gw_pool_fn fn, void *arg);
/* Finish queued work, then join the threads. */
void gw_pool_stop(void);

/* ---- the server as a whole ---------------------------------------------------------------- */

struct gw_tls {
    char *cert_pem;
    char *key_pem;
    char *ca_pem; /* client CA for mTLS, or NULL */
};

struct gw_server {
    struct gw_config cfg;
    struct eng *eng;
    struct eng_keyring *keys;        /* master keys (keys.c); NULL when none is configured */
    struct gw_tls tls;
    bool tls_on;
    int bound_port;
    atomic_int shutting_down;
};

extern struct gw_server *gw_srv; /* the one server of this process */

/* ---- gRPC side (grpc_server.c) ------------------------------------------------------------ */

enum st_code gw_grpc_start(struct gw_server *s, struct st_error *err);
/* Hand an accepted, classified fd to gRPC core (plaintext or TLS). gRPC owns it after. */
void gw_grpc_handoff(int listen_fd, int fd, bool tls);
/* The shutdown sequence of grpc-c-core.md: GOAWAY, grace, cancel, wait, destroy. */
void gw_grpc_stop(int64_t grace_ns);

/* ---- HTTP side (http_server.c) ------------------------------------------------------------ */

enum st_code gw_http_start(struct gw_server *s, struct st_error *err);
/* Hand an accepted fd to libmicrohttpd; it owns (and closes) it in every case. */
void gw_http_handoff(int fd, const void *sa, unsigned sa_len, bool tls);
/* Let in-flight requests finish for up to grace_ns, then stop the daemons. */
void gw_http_stop(int64_t grace_ns);

/* ---- acceptor (acceptor.c) ---------------------------------------------------------------- */

/* Bind and listen; returns the bound port in s->bound_port. */
enum st_code gw_acceptor_bind(struct gw_server *s, struct st_error *err);
enum st_code gw_acceptor_start(struct gw_server *s, struct st_error *err);
/* Close the listening socket and every unclassified connection; join the thread. */
void gw_acceptor_stop(void);

/* ---- ext shim (ext_shim.cc) --------------------------------------------------------------- */

/* Call grpc_core::TcpServerFdHandler::Handle(listener_fd, fd, NULL) on a handler that
 * gRPC core wrote into an `external:` pointer channel arg. */
void gw_ext_handle(void *handler, int listener_fd, int fd);

/* ---- master keys (keys.c) ----------------------------------------------------------------- */

/* Whether a data directory is new: missing, empty, or holding only a keys directory
 * without master.key (a first start stopped while creating the key). */
bool gw_data_dir_is_new(const char *dir);
/* Build s->keys (NULL when encryption is off and no key is configured) from the settings,
 * before anything is written to the data directory; creates DATA-DIR/keys/master.key on
 * the first start of a new directory (docs/operations.md "Master keys"). */
enum st_code gw_keys_open(struct gw_server *s, bool data_dir_new, struct st_error *err);
void gw_keys_close(struct gw_server *s);
/* --generate-master-key FILE: a new key file (mode 0600, never overwriting); its id. */
enum st_code gw_keys_generate(const char *path, char kid[ENG_KEY_ID_LEN + 1],
                              struct st_error *err);
/* The current key's id (NULL when none), where it came from ("--master-key-file '...'"),
 * whether it lives in DATA-DIR/keys/ and whether this start created it. */
const char *gw_keys_current_id(void);
const char *gw_keys_source(void);
bool gw_keys_in_data_dir(void);
bool gw_keys_generated(void);
/* The ids of the previous keys configured (not the current one). */
size_t gw_keys_previous_ids(const char (**ids)[ENG_KEY_ID_LEN + 1]);

/* ---- self-test (selftest.c) --------------------------------------------------------------- */

/* One loopback gRPC call through the public port (plaintext or TLS). */
enum st_code gw_selftest(struct gw_server *s, struct st_error *err);

#include "gw_sec.h"
#include "gw_dp.h"

#endif
