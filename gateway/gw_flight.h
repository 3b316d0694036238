/*
 * gw_flight.h: what a Flight request asks for, decoded (ticket.c, h_flightsql.c), and
 * how its result is produced (h_flightsql.c), shared with the Flight handlers
 * (h_flight.c). A `struct gw_query` is self-contained: tickets carry everything, so no
 * server state lives between GetFlightInfo and DoGet, or between the prepared-statement
 * actions.
 */
#ifndef GW_FLIGHT_H
#define GW_FLIGHT_H

#include "gw_int.h"
#include "strata/batch.h"

enum gw_qkind {
    GW_Q_SQL = 0,      /* run sql on db */
    GW_Q_CATALOGS,     /* Flight SQL CommandGetCatalogs */
    GW_Q_DB_SCHEMAS,   /* CommandGetDbSchemas */
    GW_Q_TABLES,       /* CommandGetTables */
    GW_Q_TABLE_TYPES,  /* CommandGetTableTypes */
    GW_Q_SQL_INFO,     /* CommandGetSqlInfo */
};
/* CommandStatementUpdate's kind in the privilege table (methods.c): not a query kind, since
 * an update runs through DoPut only (h_update.c), never as a gw_query. */
#define GW_Q_UPDATE 100

#define GW_MAX_PARAMS 256
#define GW_MAX_SQL_INFO_IDS 1024 /* ids one CommandGetSqlInfo may ask for */
#define GW_MAX_SQL_BYTES (1u << 20)

struct gw_query {
    enum gw_qkind kind;
    char db[512];
    char *sql;                 /* owned */
    size_t sql_len;
    /* Parameters: allocated on the first one (most queries have none, and clearing room for
     * GW_MAX_PARAMS in every request cost more than a light query's ticket parse). */
    struct eng_param *params;  /* owned; n_params used of params_cap */
    uint32_t n_params;         /* names and string values point into `strs` */
    uint32_t params_cap;
    char *strs;                /* owned backing store of parameter names and strings */
    size_t strs_len, strs_cap;
    bool influxql;             /* query_type "influxql" */
    /* metadata commands */
    bool has_catalog, has_schema_pat, has_table_pat;
    char catalog[256], schema_pat[256], table_pat[512];
    char **table_types;        /* owned */
    size_t n_table_types;
    bool include_schema;
    bool plain_table_type;     /* x-influxdata-base-table-type: TABLE */
    uint32_t *info;            /* owned: CommandGetSqlInfo ids, in request order */
    uint32_t n_info;           /* 0 = every id the server knows (info NULL) */
    /* the Flight SQL command bytes (Any) this query came from, for tickets */
    uint8_t *cmd;
    size_t cmd_len;
};

/* An empty query: every member zero (about 1.6 KiB; the arrays are allocated on use). */
void gw_query_init(struct gw_query *q);
/* Free what q owns and make it empty again. */
void gw_query_cleanup(struct gw_query *q);
/* Add a parameter (name without '$'); string values are copied. */
enum st_code gw_query_add_param(struct gw_query *q, const char *name, size_t name_len,
                                const struct eng_param *v, struct st_error *err);

/*
 * Decode a DoGet ticket (untrusted; fuzz target gw_ticket), in this order:
 *   1. Any(influxdata.iox.querier.v1.ReadInfo): our own Flight SQL tickets (and IOx's);
 *   2. Any(arrow.flight.protocol.sql.<Command>) sent directly as a ticket;
 *   3. the InfluxDB 3 JSON ticket {"database","sql_query","query_type","params"}
 *      (aliases namespace_name, bucket, bucket-name; unknown keys ignored).
 * hdr_db is the `database` header (for case 2). ST_EINVAL with "Invalid ticket" when
 * nothing decodes; ST_EUNSUPPORTED for InfluxQL.
 */
enum st_code gw_ticket_decode(const uint8_t *p, size_t n, const char *hdr_db, struct gw_query *q,
                              struct st_error *err);
/* Parse just the JSON ticket (exposed for the fuzz target). */
enum st_code gw_ticket_json(const uint8_t *p, size_t n, struct gw_query *q, struct st_error *err);
/* Build the ticket for a Flight SQL command: Any(ReadInfo{database, FLIGHT_SQL_MESSAGE,
 * flightsql_command = cmd}). Returns a malloc'd buffer. */
uint8_t *gw_ticket_encode(const char *db, const uint8_t *cmd, size_t cmd_len, size_t *out_len);

/*
 * Decode a Flight SQL command packed in Any (FlightDescriptor.cmd, or a ticket's
 * flightsql_command) into q. db is the database it applies to. ST_EINVAL
 * "Unsupported message type" for other commands.
 */
enum st_code gw_flightsql_decode(const uint8_t *any, size_t n, const char *db, struct gw_query *q,
                                 struct st_error *err);

/*
 * Flight SQL updates (flightsql_update.c, fuzz target gw_update): whether Any bytes hold a
 * CommandStatementUpdate; decode one into its statement text (*sql malloc'd), refusing a
 * transaction id, an empty or oversized text, a NUL byte, and any statement but DELETE
 * (gw_update_statement_check: the first keyword after blanks and comments).
 */
bool gw_flightsql_is_update(const uint8_t *any, size_t n);
enum st_code gw_flightsql_decode_update(const uint8_t *any, size_t n, char **sql,
                                        size_t *sql_len, struct st_error *err);
enum st_code gw_update_statement_check(const char *sql, size_t n, struct st_error *err);

/* Prepared-statement handles: {1: query, 2: parameters as an Arrow IPC stream}. */
uint8_t *gw_handle_encode(const char *sql, size_t sql_len, const uint8_t *params,
                          size_t params_len, size_t *out_len);
enum st_code gw_handle_decode(const uint8_t *h, size_t n, struct gw_query *q,
                              struct st_error *err);
/* Bind the one-row record batch of an Arrow IPC stream as parameters, by field name. */
enum st_code gw_params_from_ipc(const uint8_t *ipc, size_t n, struct gw_query *q,
                                struct st_error *err);

enum st_code gw_params_from_batch(const struct st_schema *s, const struct st_batch *b,
                                  struct gw_query *q, struct st_error *err);

/* ---- results (h_flightsql.c) -------------------------------------------------------------- */

struct gw_result;
struct arrow_encoder;
struct arrow_encoder_opts;
/* Run q (on a pool thread): start the engine query, or build the metadata result. */
enum st_code gw_result_open(const struct gw_query *q, const struct eng_query_opts *o,
                            struct gw_result **out, struct st_error *err);
/* An Arrow encoder for the result's schema: flat for queries and most metadata, nested
 * for CommandGetSqlInfo (dense union) and CommandGetTables with schemas (binary). */
struct arrow_encoder *gw_result_encoder(const struct gw_result *r,
                                        const struct arrow_encoder_opts *o,
                                        struct st_error *err);
/* The result schema, IPC-encapsulated (FlightInfo.schema, SchemaResult). malloc'd. */
uint8_t *gw_result_schema_ipc(const struct gw_result *r, size_t *out_len, struct st_error *err);
/* Pull the next batch and start encoding it into enc (made by gw_result_encoder); *more is
 * false at the end; *n_rows = its rows. */
enum st_code gw_result_next(struct gw_result *r, struct arrow_encoder *enc, bool *more,
                            uint32_t *n_rows, struct st_error *err);
void gw_result_free(struct gw_result *r);

/* The IPC-encapsulated schema (FF FF FF FF, length, flatbuffer) of a result schema. */
uint8_t *gw_schema_ipc(const struct st_schema *s, size_t *out_len, struct st_error *err);

#endif
