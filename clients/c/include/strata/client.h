/*
 * client.h: libstrata, the C client library of Strata (stable API, since 0.1).
 *
 * One handle (struct strata) talks to one stratad over gRPC, plaintext
 * (http://host:port) or TLS (https://host:port). It runs SQL queries and
 * hands back the result as a stream of decoded columnar batches, writes line
 * protocol, and calls the administration RPCs. No gRPC or protobuf type
 * appears here.
 *
 *     struct st_error err;
 *     struct strata *c = strata_connect("http://127.0.0.1:8181", token, NULL, &err);
 *     struct strata_result *r;
 *     if (strata_query(c, "mydb", "SELECT host, usage FROM cpu", NULL, 0, &r, &err) == ST_OK) {
 *         bool more;
 *         while (strata_result_next(r, &more, &err) == ST_OK && more)
 *             for (uint32_t i = 0; i < strata_result_n_rows(r); i++) ...
 *         strata_result_free(r);
 *     }
 *     strata_close(c);
 *
 * Errors: every fallible call returns an enum st_code (strata/status.h) and
 * fills the NULL-safe struct st_error with a message (and, for errors in the
 * SQL text, the byte offset). Server errors keep the server's exact code (the
 * `strata-code` trailer); a server that does not send one has its gRPC status
 * mapped (UNAUTHENTICATED -> ST_EUNAUTHENTICATED, PERMISSION_DENIED ->
 * ST_EPERMISSION, NOT_FOUND -> ST_ENOTFOUND, INVALID_ARGUMENT -> ST_EINVAL,
 * DEADLINE_EXCEEDED -> ST_ETIMEOUT, RESOURCE_EXHAUSTED -> ST_ELIMIT,
 * UNIMPLEMENTED -> ST_EUNSUPPORTED, ...). A server that cannot be reached
 * is ST_EIO. Malformed replies are ST_ECORRUPT. The codes double as the
 * `strata` CLI's exit codes.
 *
 * Threads: a handle may be used by several threads at once (each call has its
 * own completion queue). A result, and every struct filled by a call, belongs
 * to the calling thread. Free every result before strata_close.
 *
 * Memory: structs filled by a call own their strings; release them with the
 * matching _cleanup/_free function. Strings returned by accessors are
 * borrowed (valid as documented).
 */
#ifndef STRATA_CLIENT_H
#define STRATA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/batch.h"
#include "strata/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STRATA_CLIENT_VERSION "0.1.0"

/* ---- connection ---------------------------------------------------------- */

struct strata;

struct strata_opts {
    const char *token;        /* sent as `authorization: Bearer <token>`; NULL: none */
    const char *ca_file;      /* PEM file of trusted roots for https; NULL: system roots */
    int64_t timeout_ms;       /* deadline of every call; 0: none */
    size_t max_message_bytes; /* largest reply message accepted; 0: 64 MiB */
};

/*
 * Create a handle for the server at `url`: "http://HOST[:PORT]" (plaintext)
 * or "https://HOST[:PORT]" (TLS; the certificate must match HOST). HOST may
 * be a name, an IPv4 address or a bracketed IPv6 address; the default port
 * is 80 for http and 443 for https. Nothing is sent until the first call,
 * so an unreachable server shows up there (ST_EIO).
 * Returns NULL with err set: ST_EINVAL (bad URL, a token with characters a
 * header cannot carry), ST_EIO (unreadable ca_file), ST_ENOMEM.
 */
struct strata *strata_connect(const char *url, const char *token, const char *ca_file,
                              struct st_error *err);
/* The same with every option; opts may be NULL. */
struct strata *strata_connect_opts(const char *url, const struct strata_opts *opts,
                                   struct st_error *err);
/* Close the channel and free the handle. NULL-safe. */
void strata_close(struct strata *c);
/* Change the deadline of later calls (milliseconds; 0: none). */
void strata_set_timeout(struct strata *c, int64_t timeout_ms);
/* "HOST:PORT" as dialled. */
const char *strata_target(const struct strata *c);

/* Keep gRPC's own diagnostics ("E1127 ... Handshake failed") off stderr:
 * they go through the process-wide gRPC log, which this silences for the
 * whole process (every failure still reaches the caller through st_error).
 * Setting STRATA_GRPC_LOG=1 in the environment keeps them. */
void strata_silence_grpc_log(void);

/* Ask the server's health service whether it serves (grpc.health.v1.Health/Check).
 * ST_OK when serving; ST_EAGAIN when it answers NOT_SERVING. */
enum st_code strata_ping(struct strata *c, struct st_error *err);

/* ---- queries --------------------------------------------------------------- */

/* A value bound to `$name` in the SQL text. type is one of ST_TYPE_NULL,
 * ST_TYPE_STRING, ST_TYPE_FLOAT (finite), ST_TYPE_INT, ST_TYPE_UINT,
 * ST_TYPE_BOOL. */
struct strata_param {
    const char *name; /* without the '$' */
    enum st_type type;
    union {
        int64_t i;
        uint64_t u;
        double f;
        bool b;
        const char *s; /* UTF-8, NUL-terminated */
    } v;
};

struct strata_result;

/*
 * Run `sql` on `database` (Flight DoGet with the InfluxDB 3 JSON ticket) and
 * wait for the result schema. On ST_OK *out is a result stream to read with
 * strata_result_next and release with strata_result_free. Errors from the
 * server (parse, bind, permission, ...) are returned here when the server
 * reports them before any data, or later from strata_result_next.
 */
enum st_code strata_query(struct strata *c, const char *database, const char *sql,
                          const struct strata_param *params, size_t n_params,
                          struct strata_result **out, struct st_error *err);

/* The result schema (0 columns when the server sent none). Valid until free. */
const struct st_schema *strata_result_schema(const struct strata_result *r);
uint32_t strata_result_n_columns(const struct strata_result *r);
/* NULL / ST_TYPE_NULL when col is out of range. */
const char *strata_result_column_name(const struct strata_result *r, uint32_t col);
enum st_type strata_result_column_type(const struct strata_result *r, uint32_t col);
/* Where the column came from: time, tag, field, or none (computed). */
enum st_role strata_result_column_role(const struct strata_result *r, uint32_t col);

/*
 * Read the next batch. *more is true with a batch to look at, false at the
 * end of the result (ST_OK) . A batch may have 0 rows. An error that ends the
 * stream (from the server, a broken connection, a malformed message) is
 * returned once; the result is finished after it.
 */
enum st_code strata_result_next(struct strata_result *r, bool *more, struct st_error *err);
/* The current batch (NULL before the first next and after the end). Valid
 * until the next strata_result_next or strata_result_free. */
const struct st_batch *strata_result_batch(const struct strata_result *r);
/* Rows in the current batch (0 when there is none). */
uint32_t strata_result_n_rows(const struct strata_result *r);

/*
 * Typed access to the current batch. Each returns ST_EINVAL when col or row
 * is out of range (or there is no batch) and ST_ETYPE when the column is of
 * another type. A null row gives ST_OK and a zero value: test with
 * strata_result_is_null. Strings are borrowed, not NUL-terminated, valid as
 * the batch.
 */
bool strata_result_is_null(const struct strata_result *r, uint32_t col, uint32_t row);
enum st_code strata_result_get_int(const struct strata_result *r, uint32_t col, uint32_t row,
                                   int64_t *out);
enum st_code strata_result_get_uint(const struct strata_result *r, uint32_t col, uint32_t row,
                                    uint64_t *out);
enum st_code strata_result_get_float(const struct strata_result *r, uint32_t col, uint32_t row,
                                     double *out);
enum st_code strata_result_get_bool(const struct strata_result *r, uint32_t col, uint32_t row,
                                    bool *out);
enum st_code strata_result_get_string(const struct strata_result *r, uint32_t col, uint32_t row,
                                      const char **s, size_t *len);
/* Nanoseconds since the Unix epoch, for ST_TYPE_TIME columns. */
enum st_code strata_result_get_time(const struct strata_result *r, uint32_t col, uint32_t row,
                                    int64_t *out_ns);

struct strata_result_stats {
    uint64_t rows;     /* rows received so far */
    uint64_t batches;  /* record batches received */
    uint64_t messages; /* FlightData messages received */
    uint64_t bytes;    /* their protobuf bytes */
};
void strata_result_stats(const struct strata_result *r, struct strata_result_stats *out);

/* Cancel the query if it is still running and free everything. NULL-safe. */
void strata_result_free(struct strata_result *r);

/* ---- writes ---------------------------------------------------------------- */

enum strata_precision {
    STRATA_PRECISION_NS = 0,
    STRATA_PRECISION_US,
    STRATA_PRECISION_MS,
    STRATA_PRECISION_S,
    STRATA_PRECISION_AUTO, /* guessed per timestamp from its magnitude */
};

struct strata_write_opts {
    enum strata_precision precision;
    bool partial; /* write the good lines even when some are bad */
    bool no_sync; /* acknowledge before the server's WAL fsync */
};

struct strata_line_error {
    uint32_t line;   /* 1-based line of the body sent */
    uint32_t column; /* 1-based byte column; 0 when unknown */
    enum st_code code;
    char message[256];
    char excerpt[80]; /* the start of the line */
};

struct strata_write_result {
    uint64_t lines_accepted;
    uint64_t lines_rejected;
    uint64_t fields_written;
    uint32_t n_errors; /* may be fewer than lines_rejected (the server caps them) */
    struct strata_line_error *errors;
};

/*
 * Write line protocol (strata.v1.WriteService/Write). One call is one
 * request: keep it under the server's request size limit (the `strata`
 * CLI sends large inputs in chunks). opts may be NULL (nanoseconds, all or
 * nothing). Returns ST_OK (every line written), ST_EPARTIAL (opts.partial
 * and some lines rejected), or, with !opts.partial, the code of the first bad
 * line (ST_EPARSE, ST_ETYPE, ST_ELIMIT, ...) and nothing written; the
 * per-line errors are in res either way. Other errors (authentication,
 * permission, unknown database, I/O) leave res empty. res must be released
 * with strata_write_result_cleanup (also after an error).
 */
enum st_code strata_write(struct strata *c, const char *database, const char *lp, size_t len,
                          const struct strata_write_opts *opts, struct strata_write_result *res,
                          struct st_error *err);
void strata_write_result_cleanup(struct strata_write_result *res);

/* ---- administration (strata.v1.AdminService) ------------------------------ */

/* Databases. */
struct strata_database {
    char *name;
    int64_t created_at_ns;
    char *created_by;
};
enum st_code strata_database_create(struct strata *c, const char *name, struct st_error *err);
enum st_code strata_database_delete(struct strata *c, const char *name, struct st_error *err);
enum st_code strata_database_list(struct strata *c, struct strata_database **out, size_t *n,
                                  struct st_error *err);
void strata_database_list_free(struct strata_database *v, size_t n);

/* Tokens. */
enum strata_token_kind {
    STRATA_TOKEN_UNSPECIFIED = 0,
    STRATA_TOKEN_DATABASE = 1,   /* read and/or write on listed databases */
    STRATA_TOKEN_MANAGEMENT = 2, /* administers databases, tokens and roles */
    STRATA_TOKEN_OPERATOR = 3,   /* the server's bootstrap token */
};

struct strata_permission {
    const char *database; /* a name or "*" */
    bool read;
    bool write;
};

struct strata_token_spec {
    const char *name;
    enum strata_token_kind kind; /* DATABASE or MANAGEMENT */
    const struct strata_permission *permissions;
    size_t n_permissions;
    uint64_t expires_in_s;   /* 0: never */
    const char *description; /* may be NULL */
};

/* A token as the server describes it; never holds the secret. */
struct strata_token {
    char *id;
    char *name;
    enum strata_token_kind kind;
    struct strata_permission *permissions; /* database strings owned */
    size_t n_permissions;
    int64_t created_at_ns;
    int64_t expires_at_ns; /* 0: never */
    bool revoked;
    int64_t revoked_at_ns;
    int64_t rotated_at_ns;
    char *created_by;
    char *description;
    char *hint;
};

/* Create a token. *secret (malloc'd, free() it, and wipe it) is shown once. */
enum st_code strata_token_create(struct strata *c, const struct strata_token_spec *spec,
                                 struct strata_token *out, char **secret, struct st_error *err);
/* database: only tokens with a permission on it (NULL: all). */
enum st_code strata_token_list(struct strata *c, bool include_revoked, const char *database,
                               struct strata_token **out, size_t *n, struct st_error *err);
/* Name the token by id, or (id NULL) by name. out may be NULL. */
enum st_code strata_token_revoke(struct strata *c, const char *id, const char *name,
                                 struct strata_token *out, struct st_error *err);
/* New secret for the same token; the old one stops working at once.
 * expires_in_s 0 keeps the expiry. */
enum st_code strata_token_rotate(struct strata *c, const char *id, const char *name,
                                 uint64_t expires_in_s, struct strata_token *out, char **secret,
                                 struct st_error *err);
void strata_token_cleanup(struct strata_token *t);
void strata_token_list_free(struct strata_token *v, size_t n);
const char *strata_token_kind_name(enum strata_token_kind k); /* "database", ... */

/* Roles. */
enum strata_principal_kind {
    STRATA_PRINCIPAL_NONE = 0,
    STRATA_PRINCIPAL_USER = 1,  /* OIDC user */
    STRATA_PRINCIPAL_GROUP = 2, /* OIDC group */
    STRATA_PRINCIPAL_TOKEN = 3, /* token id */
};

struct strata_principal {
    enum strata_principal_kind kind;
    const char *name;
};

struct strata_role_binding {
    char *database;
    char *role;
    struct strata_principal principal; /* name owned */
    int64_t granted_at_ns;
    char *granted_by;
};

/* role: "owner", "write" or "read" (the server defines the set). */
enum st_code strata_role_grant(struct strata *c, const char *database, const char *role,
                               const struct strata_principal *who, struct st_error *err);
enum st_code strata_role_revoke(struct strata *c, const char *database, const char *role,
                                const struct strata_principal *who, struct st_error *err);
/* database NULL: all the caller may manage; who NULL: every principal. */
enum st_code strata_role_list(struct strata *c, const char *database,
                              const struct strata_principal *who, struct strata_role_binding **out,
                              size_t *n, struct st_error *err);
void strata_role_list_free(struct strata_role_binding *v, size_t n);
const char *strata_principal_kind_name(enum strata_principal_kind k); /* "user", ... */

/* Who the server thinks the caller is. */
struct strata_whoami {
    char *principal_id;
    char *kind; /* "token" or "user" */
    char *name;
    enum strata_token_kind token_kind;
    struct strata_permission *permissions;
    size_t n_permissions;
    struct strata_role_binding *roles;
    size_t n_roles;
    char **groups;
    size_t n_groups;
    int64_t expires_at_ns;
    char *issuer;
    char *tenant;
    char *server_version; /* the server's version ("" from servers before 0.1.1) */
};
enum st_code strata_whoami(struct strata *c, struct strata_whoami *out, struct st_error *err);
void strata_whoami_cleanup(struct strata_whoami *w);

/* Dry run: would `who` (NULL: the caller) be allowed `action` ("read",
 * "write", "manage") on `database`? Nothing is executed. */
struct strata_check_result {
    bool allowed;
    char reason[64];
    char detail[256];
};
enum st_code strata_check(struct strata *c, const struct strata_principal *who, const char *action,
                          const char *database, struct strata_check_result *out,
                          struct st_error *err);

/* Audit records (JSON lines, hash-chained, exactly as stored). */
struct strata_audit_page {
    char **records;
    size_t n_records;
    uint64_t last_seq;
    bool more; /* ask again with after_seq = last_seq */
};
enum st_code strata_audit_read(struct strata *c, uint64_t after_seq, uint32_t limit,
                               int64_t since_ns, int64_t until_ns, struct strata_audit_page *out,
                               struct st_error *err);
void strata_audit_page_cleanup(struct strata_audit_page *p);

/* ---- data protection (strata.v1.AdminService RotateKey and Verify; Flight SQL updates) -- */

/*
 * Rewrap every data key of the server's files under its current master key (the operator
 * only; docs/operations.md "Master keys"). Progress goes to fn (may be NULL) while it runs;
 * returns when the rotation ended. ST_EPRECONDITION when the server's encryption is off,
 * ST_EAGAIN while another key rotation or verify runs, else the rotation's error (run it
 * again to finish it). out may be NULL; release it with strata_rotate_result_cleanup.
 */
struct strata_rotate_progress {
    uint64_t files_done, files_total;
};
struct strata_rotate_result {
    uint64_t files;           /* files visited */
    uint64_t rewrapped;       /* data keys rewrapped */
    uint64_t already_current; /* files already under the current key */
    uint64_t skipped;         /* quarantined chunks whose header could not be opened */
    char key_id[17];          /* the current master key's id */
    char **previous_key_ids;  /* older keys the server has configured: no longer needed */
    size_t n_previous_key_ids;
};
typedef void (*strata_rotate_progress_fn)(void *ctx, const struct strata_rotate_progress *p);
enum st_code strata_rotate_key(struct strata *c, strata_rotate_progress_fn fn, void *ctx,
                               struct strata_rotate_result *out, struct st_error *err);
void strata_rotate_result_cleanup(struct strata_rotate_result *r);

/*
 * Scrub stored data (AdminService Verify; `strata verify`): every block of `database`
 * (NULL: everything, the operator only) is read back from disk and checked. Each problem
 * goes to problem_fn as it is found (strings valid during the call only), progress to
 * progress_fn (both may be NULL). Returns ST_OK when the scrub ran, whatever it found:
 * out->problems says how many problems there were (a damaged block is quarantined:
 * excluded from queries). Another code when it could not run (ST_ENOTFOUND,
 * ST_EPERMISSION, ST_EAGAIN while another key rotation or scrub runs, ...).
 */
struct strata_scrub_problem {
    const char *kind;     /* "catalog", "manifest", "chunk" or "wal" */
    const char *file;     /* relative to the server's data directory */
    const char *database; /* "" when none */
    uint64_t offset;      /* of the bad block or record; 0: the whole file */
    const char *code;     /* "ECORRUPT", "ECRYPTO", "EIO" */
    const char *reason;
    bool quarantined;     /* excluded from queries */
    bool known;           /* quarantined before this scrub */
};
struct strata_scrub_progress {
    uint64_t files_done, files_total, problems;
};
struct strata_scrub_summary {
    uint64_t files, blocks, bytes, problems;
    uint64_t quarantined_groups, quarantined_chunks; /* newly quarantined */
    uint64_t problems_not_listed;                    /* beyond the server's listing limit */
    int64_t duration_ns;
};
typedef void (*strata_scrub_problem_fn)(void *ctx, const struct strata_scrub_problem *p);
typedef void (*strata_scrub_progress_fn)(void *ctx, const struct strata_scrub_progress *p);
enum st_code strata_scrub(struct strata *c, const char *database,
                          strata_scrub_problem_fn problem_fn,
                          strata_scrub_progress_fn progress_fn, void *ctx,
                          struct strata_scrub_summary *out, struct st_error *err);

/*
 * Run a statement that changes data (Flight SQL CommandStatementUpdate through DoPut):
 * `DELETE FROM table WHERE <time range and tag conditions>` on `database`, with the
 * write privilege. *rows (may be NULL) gets the rows deleted when the server knows them
 * (-1 otherwise). Errors carry the offset in the SQL text like queries.
 */
enum st_code strata_execute_update(struct strata *c, const char *database, const char *sql,
                                   int64_t *rows, struct st_error *err);

#ifdef __cplusplus
}
#endif
#endif
