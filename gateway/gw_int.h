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

#include "strata/engine.h"
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
    uint64_t max_header_bytes;       /* HTTP request line + headers (MHD memory pool) */
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
};

/* Parse defaults < --config FILE / STRATA_CONFIG < STRATA_* env < flags. Returns ST_OK,
 * ST_EINVAL with a message naming the setting, or ST_EEXISTS when --help/--version
 * printed something and the process should exit 0. */
enum st_code gw_config_load(struct gw_config *c, int argc, char **argv, struct st_error *err);
void gw_config_cleanup(struct gw_config *c);
/* Parse "10MiB", "64KiB", "4096" into bytes; -1 when malformed. */
int gw_parse_size(const char *s, uint64_t *out);

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
/* Render the Prometheus text exposition into a malloc'd string. */
char *gw_metrics_render(struct eng *e, size_t *len_out);
extern atomic_int gw_active_queries;
extern atomic_int gw_active_writes;

/* ---- authentication (auth.c): the one place credentials are checked ----------------------- */

enum gw_priv {
    GW_PRIV_NONE = 0,    /* health, ping: no credential needed */
    GW_PRIV_READ,        /* query a database */
    GW_PRIV_READ_SCHEMA, /* list databases, tables, columns */
    GW_PRIV_WRITE,       /* write to a database */
    GW_PRIV_ADMIN,       /* server administration */
};

struct gw_principal {
    char name[64];       /* for logs and audit: "operator" */
    bool can_create_db;  /* a write to a missing database creates it */
};

/* Read or create the operator token file (32..256 printable non-space ASCII). */
enum st_code gw_auth_init(const char *token_file, bool *generated, struct st_error *err);
void gw_auth_cleanup(void);
/* For the self-test and `make run` output: the operator token (never log it). */
const char *gw_auth_operator_token(void);

/* The credential a request carried, before it is checked. */
struct gw_cred {
    bool present;
    bool malformed;      /* an Authorization header not of the form "<scheme> <token>" */
    const char *tok;     /* points into `buf` or into the request */
    size_t tok_len;
    char buf[384];       /* decoded Basic password */
};

/* HTTP: Authorization (Bearer|Token|Basic, case-sensitive schemes) or, on v1 paths, p=. */
void gw_cred_from_http(struct gw_cred *c, const char *authorization, const char *p_param);
/* gRPC: the authorization metadata value (Bearer|Token|Basic); anything else = none. */
void gw_cred_from_grpc(struct gw_cred *c, const char *value, size_t len);

/*
 * THE access check. Every request goes through here with the privilege its method
 * needs and the database it names (NULL when none). ST_OK fills *who;
 * ST_EUNAUTHENTICATED for a missing or unknown credential; ST_EPERMISSION when the
 * principal may not do this (the same answer whether or not the database exists).
 * The RBAC module plugs in here.
 */
enum st_code gw_authorize(const struct gw_cred *c, enum gw_priv need, const char *db,
                          struct gw_principal *who, struct st_error *err);

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

/* ---- self-test (selftest.c) --------------------------------------------------------------- */

/* One loopback gRPC call through the public port (plaintext or TLS). */
enum st_code gw_selftest(struct gw_server *s, struct st_error *err);

#endif
