/*
 * gw_sec.h: identity and access inside stratad, the gateway half of
 * docs/security.md (rbac/ makes the decisions and does no I/O; these files
 * feed it bytes, key sets and the clock, and keep its state):
 *
 *   policy_store.c  the policy snapshot: loaded all-or-nothing at start, the token
 *                   pepper, the operator token from --admin-token-file, every change
 *                   made under one lock (mutate, persist crash-safely, swap), and the
 *                   storage names of (tenant, database) pairs;
 *   auth.c          THE credential check and THE access check: credentials from gRPC
 *                   metadata and HTTP headers (rbac_authz_parse), opaque tokens and
 *                   OIDC JWTs, rbac_check against the method table's privilege, the
 *                   failed-authentication limiter, the audit events of both checks;
 *   jwks_fetch.c    OIDC: the issuer configuration and its key set, from a file or
 *                   fetched through discovery over HTTPS (libcurl), refreshed;
 *   audit_log.c     the hash-chained audit file: a bounded queue, a writer thread,
 *                   rotation by size, reading it back for the admin RPC;
 *   h_admin.c       strata.v1.AdminService;
 *   methods.c       the privilege of every RPC, HTTP endpoint and Flight SQL command.
 *
 * Included by gw_int.h; nothing here needs gRPC types.
 */
#ifndef GW_SEC_H
#define GW_SEC_H

#include <stdio.h>

#include "strata/rbac.h"

struct gw_server;
struct gw_principal;
struct st_buf;

/* ---- the policy store (policy_store.c) ---------------------------------------------------- */

/*
 * At start, before the engine opens: the pepper (generated once, mode 0600), the policy
 * file (loaded all-or-nothing; a damaged file stops the start with its name and every
 * problem found), --cluster-id and --default-tenant against it, and the operator token
 * (read from --admin-token-file, or generated there). *created_token tells main to print
 * the new token once.
 */
enum st_code gw_policy_open(struct gw_server *s, bool *created_token, struct st_error *err);
/* After the engine opened: every database of the policy has its storage (created when
 * missing); on the first start of a policy, databases found in the engine are adopted
 * into the default tenant; storage no policy database names is reported. */
enum st_code gw_policy_reconcile(struct gw_server *s, struct st_error *err);
void gw_policy_close(void);
/* The current snapshot, referenced: rbac_snapshot_unref() it when done. */
struct rbac_snapshot *gw_policy_get(void);
/* The operator token text, for the start-up message only (never log it). */
const char *gw_policy_operator_token(void);

/*
 * Change the policy: under the one mutation lock, fn computes the next snapshot from
 * the current one (and may do engine work that must happen before the change is
 * durable, such as creating or dropping storage); then the policy file is replaced
 * crash-safely and the new snapshot published. fn returns ST_OK with *next, or an
 * error (nothing changes).
 */
typedef enum st_code (*gw_policy_fn)(const struct rbac_snapshot *cur, void *arg,
                                     struct rbac_snapshot **next, struct st_error *err);
enum st_code gw_policy_mutate(gw_policy_fn fn, void *arg, struct st_error *err);

/*
 * Storage names. A database is (tenant, name); the engine knows one flat namespace.
 * The default tenant's databases keep their own name; another tenant T's database D is
 * "T--D". "--" is forbidden in tenant and database names (rbac_name_check), so no name a
 * client can give is another pair's storage name, and the mapping is one-to-one.
 * Storage names are at most 64 bytes (the engine's limit): in tenants other than the
 * default one, tenant and database name together are at most 62 bytes.
 */
#define GW_ENGINE_NAME_MAX 64
enum st_code gw_engine_name(const char *tenant, const char *db, char out[GW_ENGINE_NAME_MAX + 1],
                            struct st_error *err);
/* The reverse: false when `engine` is no pair's storage name. */
bool gw_engine_name_parse(const char *engine, char tenant[RBAC_NAME_MAX + 1],
                          char db[RBAC_NAME_MAX + 1]);
const char *gw_default_tenant(void);

/* ---- credentials and the access check (auth.c) -------------------------------------------- */

void gw_principal_init(struct gw_principal *w);
void gw_principal_cleanup(struct gw_principal *w);

/* What a request carried, before anything is decided. */
#define GW_AUTHZ_VALUES_MAX 2
struct gw_cred_src {
    enum rbac_transport transport;
    struct rbac_bytes values[GW_AUTHZ_VALUES_MAX]; /* the first `authorization` values */
    size_t n_values;                               /* how many there were (capped) */
    struct rbac_bytes p[GW_AUTHZ_VALUES_MAX];      /* v1 HTTP: the first `p` values */
    size_t n_p;
};

/*
 * THE credential check. who->peer must be set. Order: the failed-attempt limiter
 * (ST_ELIMIT, who->rate_limited), exactly one well-formed credential (rbac_authz_parse;
 * HTTP malformed headers set who->malformed), then an opaque token against the policy or
 * a JWT against the OIDC key set. ST_EUNAUTHENTICATED with the one generic message on
 * any failure; the precise reason goes to the audit log. `method` names the RPC or
 * route for the audit log (a static string).
 */
enum st_code gw_authenticate(const struct gw_cred_src *src, const char *method,
                             struct gw_principal *who, struct st_error *err);

/*
 * THE access check: may `who` use `priv` on database `db` (the client's name, NULL when
 * the privilege names none) in its tenant? ST_OK; ST_EINVAL for a malformed database
 * name; ST_EPERMISSION with the one generic message (a database that does not exist and
 * one the principal may not use look the same); ST_ENOTFOUND only for administrators of
 * the tenant, for whom existence is no secret; ST_EUNAUTHENTICATED when the token went
 * away since authentication. Denials are audited with their reason.
 */
enum st_code gw_check(const struct gw_principal *who, enum rbac_priv priv, const char *db,
                      const char *method, struct st_error *err);

/*
 * The write check: like gw_check(RBAC_PRIV_WRITE), and when the database does not exist
 * but the principal may create databases in its tenant and would then hold write on it
 * (the operator; OIDC tenant administrators, who become its Owner), ST_OK with *create
 * set: call gw_db_create_for_write() on a pool thread before writing.
 */
enum st_code gw_check_write(const struct gw_principal *who, const char *db, const char *method,
                            bool *create, struct st_error *err);
/* Create the database a write named (policy record, then storage); ST_OK when it exists. */
enum st_code gw_db_create_for_write(const struct gw_principal *who, const char *db,
                                    const char *method, struct st_error *err);

/* The engine's name of the caller's database (its tenant's storage name). */
enum st_code gw_db_engine_name(const struct gw_principal *who, const char *db,
                               char out[GW_ENGINE_NAME_MAX + 1], struct st_error *err);

/*
 * For listings (ListDatabases, Flight SQL catalogs and schemas): the databases of the
 * caller's tenant it may see (those it holds a role on; all of them for administrators),
 * sorted, by the names the caller uses. Free with rbac_strv_free.
 */
enum st_code gw_visible_databases(const struct gw_principal *who, char ***names, size_t *n,
                                  struct st_error *err);
/* Whether the caller may query `db` (no audit event: for filtering listings). */
bool gw_may_query(const struct gw_principal *who, const char *db);

/* Audit helpers that fill time, principal, tenant and peer from `who`. */
struct rbac_audit_event;
void gw_audit_from(const struct gw_principal *who, struct rbac_audit_event *ev);

/* ---- the method table: privileges (methods.c) --------------------------------------------- */

/* Where a request's database comes from. */
enum gw_db_src {
    GW_DB_NONE = 0,  /* the privilege names no database */
    GW_DB_REQUEST,   /* a field of the request message */
    GW_DB_HEADER,    /* the `database` header (Flight SQL) */
    GW_DB_TICKET,    /* the ticket (DoGet) */
    GW_DB_QUERY_ARG, /* an HTTP query parameter */
};
const char *gw_db_src_name(enum gw_db_src s);

/* One HTTP endpoint: THE table for the HTTP side (http_server.c routes with it). */
struct gw_http_endpoint {
    const char *path;
    int route;            /* enum gw_route (gw_http.h) */
    bool get, post;       /* methods answered (HEAD goes with GET) */
    bool anonymous;       /* no credential looked at */
    enum rbac_priv priv;
    enum gw_db_src db_src;
    const char *db_param; /* GW_DB_QUERY_ARG: the parameter */
};
extern const struct gw_http_endpoint gw_http_endpoints[];
extern const size_t gw_n_http_endpoints;

/* Flight SQL commands: the privilege each needs (QUERY on the `database` header's
 * database; listing commands without a database need DB_LIST). */
struct gw_flightsql_priv {
    const char *command;    /* "CommandStatementQuery", ... */
    int qkind;              /* enum gw_qkind (gw_flight.h) */
    enum rbac_priv priv;
    enum rbac_priv priv_without_db; /* when no database is named */
};
extern const struct gw_flightsql_priv gw_flightsql_privs[];
extern const size_t gw_n_flightsql_privs;
/* The privilege a decoded Flight request (enum gw_qkind) needs. */
enum rbac_priv gw_flightsql_required_priv(int qkind, bool has_db);

/* `stratad --print-method-table`: every RPC, HTTP endpoint and Flight SQL command with
 * its privilege, scope and database source, as JSON (tests derive the role matrix). */
void gw_methods_print_json(FILE *f);

/* ---- OIDC (jwks_fetch.c) ------------------------------------------------------------------ */

/* Validate the OIDC settings and load or start fetching the key set (no-op without
 * --oidc-issuer). A bad setting or an unreadable --oidc-jwks-file stops the start; a
 * failed first fetch does not (JWTs are refused until a key set arrives). */
enum st_code gw_oidc_start(struct gw_server *s, struct st_error *err);
void gw_oidc_stop(void);
bool gw_oidc_enabled(void);
/* The configuration and the current key set, referenced (NULL when none yet); release
 * with gw_oidc_release. */
void gw_oidc_acquire(const struct rbac_oidc **cfg, struct rbac_keyset **keys);
void gw_oidc_release(struct rbac_keyset *keys);
/* A token named a key the set does not hold: refetch (or re-read the key file), at
 * most once per --oidc-jwks-min-interval. */
void gw_oidc_unknown_key(void);

/* ---- the audit log (audit_log.c) ---------------------------------------------------------- */

/* Open (continuing the chain of the newest file, verified first) and start the writer. */
enum st_code gw_audit_open(struct gw_server *s, const char *cluster_id, struct st_error *err);
/* Flush every queued event and stop the writer. */
void gw_audit_close(void);
/*
 * Queue one event (copied). Written within a group-commit window (audit_log.c); never
 * blocks the caller unless --audit-overflow=block and the queue is full; with drop, the
 * event is counted in strata_audit_dropped_total and a record of the loss is written into
 * the chain once there is room. Exception: an event of category "admin" (a policy
 * change or its refusal) is never dropped and returns only once it is on disk, so call
 * it from the pool, never from a gRPC worker or an MHD thread.
 */
void gw_audit(const struct rbac_audit_event *ev);

/* Read records back for AdminService/ReadAudit: records with seq > after_seq and time in
 * [since, until) (0 = open), of `tenant` (NULL = all), at most `limit`; *more when more
 * match. Strings are the stored lines without their newline. */
struct gw_audit_page {
    char **records;
    size_t n;
    uint64_t last_seq;
    bool more;
};
enum st_code gw_audit_read(uint64_t after_seq, uint32_t limit, int64_t since_ns,
                           int64_t until_ns, const char *tenant, struct gw_audit_page *out,
                           struct st_error *err);
void gw_audit_page_free(struct gw_audit_page *p);
/* Wait until every event queued so far is written (ReadAudit, tests); bounded by 10 s. */
void gw_audit_sync(void);

/* Counters for /metrics, rendered by gw_sec_metrics_render (auth.c). */
void gw__audit_metrics(struct st_buf *b);
void gw__oidc_metrics(struct st_buf *b);

#endif
