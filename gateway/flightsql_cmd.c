/*
 * flightsql_cmd.c: decode a Flight SQL command (google.protobuf.Any with type_url
 * type.googleapis.com/arrow.flight.protocol.sql.<Name>, untrusted bytes from
 * FlightDescriptor.cmd or a ticket) into a struct gw_query. Pure: no engine, no gRPC
 * (fuzzed through tests/fuzz/gw_ticket). The commands and what they produce are listed
 * in h_flightsql.c, which runs them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight_sql.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "gw_flight.h"

#define URL(n) "type.googleapis.com/arrow.flight.protocol.sql." n

static enum st_code
unsupported(struct st_error *err)
{
    return st_error_set(err, ST_EINVAL, "Unsupported message type");
}

static void
copy_opt(char *dst, size_t cap, bool *has, const char *src)
{
    if (!src)
        return;
    *has = true;
    snprintf(dst, cap, "%s", src);
}

enum st_code
gw_flightsql_decode(const uint8_t *anyb, size_t n, const char *db, struct gw_query *q,
                    struct st_error *err)
{
    Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, n, anyb);
    if (!any || !any->type_url) {
        if (any)
            google__protobuf__any__free_unpacked(any, NULL);
        return st_error_set(err, ST_EINVAL, "Error while planning Flight SQL : malformed command");
    }
    enum st_code rc = ST_OK;
    const char *u = any->type_url;
    const uint8_t *v = any->value.data;
    size_t vl = any->value.len;
    /* Every command but CommandGetSqlInfo (server-wide facts) works on one database. */
    bool needs_db = strcmp(u, URL("CommandGetSqlInfo")) != 0;
    if (needs_db && (!db || !*db))
        rc = st_error_set(err, ST_EINVAL, "no 'database' header in request");
    else if (!db)
        q->db[0] = 0;
    else if (strlen(db) >= sizeof q->db)
        rc = st_error_set(err, ST_EINVAL, "Invalid 'database' header in request");
    else
        snprintf(q->db, sizeof q->db, "%s", db);
    if (rc != ST_OK)
        goto out;
#define DECODE(T, fn, var)                                                                         \
    T *var = fn##__unpack(NULL, vl, v);                                                           \
    if (!var) {                                                                                    \
        rc = st_error_set(err, ST_EINVAL, "Error while planning Flight SQL : malformed %s",      \
                          u + sizeof(URL("")) - 1);                                                \
        goto out;                                                                                  \
    }
    if (!strcmp(u, URL("CommandStatementQuery"))) {
        DECODE(Arrow__Flight__Protocol__Sql__CommandStatementQuery,
               arrow__flight__protocol__sql__command_statement_query, m);
        q->kind = GW_Q_SQL;
        if (!m->query || strlen(m->query) > GW_MAX_SQL_BYTES)
            rc = st_error_set(err, ST_EINVAL, "the query text is missing or too long");
        else if (!(q->sql = strdup(m->query)))
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
        else
            q->sql_len = strlen(q->sql);
        arrow__flight__protocol__sql__command_statement_query__free_unpacked(m, NULL);
    } else if (!strcmp(u, URL("CommandPreparedStatementQuery"))) {
        DECODE(Arrow__Flight__Protocol__Sql__CommandPreparedStatementQuery,
               arrow__flight__protocol__sql__command_prepared_statement_query, m);
        q->kind = GW_Q_SQL;
        rc = gw_handle_decode(m->prepared_statement_handle.data, m->prepared_statement_handle.len,
                              q, err);
        arrow__flight__protocol__sql__command_prepared_statement_query__free_unpacked(m, NULL);
    } else if (!strcmp(u, URL("TicketStatementQuery"))) {
        DECODE(Arrow__Flight__Protocol__Sql__TicketStatementQuery,
               arrow__flight__protocol__sql__ticket_statement_query, m);
        q->kind = GW_Q_SQL;
        rc = gw_handle_decode(m->statement_handle.data, m->statement_handle.len, q, err);
        arrow__flight__protocol__sql__ticket_statement_query__free_unpacked(m, NULL);
    } else if (!strcmp(u, URL("CommandGetCatalogs"))) {
        q->kind = GW_Q_CATALOGS;
    } else if (!strcmp(u, URL("CommandGetDbSchemas"))) {
        DECODE(Arrow__Flight__Protocol__Sql__CommandGetDbSchemas,
               arrow__flight__protocol__sql__command_get_db_schemas, m);
        q->kind = GW_Q_DB_SCHEMAS;
        if (m->has_catalog_case)
            copy_opt(q->catalog, sizeof q->catalog, &q->has_catalog, m->catalog);
        if (m->has_db_schema_filter_pattern_case)
            copy_opt(q->schema_pat, sizeof q->schema_pat, &q->has_schema_pat,
                     m->db_schema_filter_pattern);
        arrow__flight__protocol__sql__command_get_db_schemas__free_unpacked(m, NULL);
    } else if (!strcmp(u, URL("CommandGetTables"))) {
        DECODE(Arrow__Flight__Protocol__Sql__CommandGetTables,
               arrow__flight__protocol__sql__command_get_tables, m);
        q->kind = GW_Q_TABLES;
        if (m->has_catalog_case)
            copy_opt(q->catalog, sizeof q->catalog, &q->has_catalog, m->catalog);
        if (m->has_db_schema_filter_pattern_case)
            copy_opt(q->schema_pat, sizeof q->schema_pat, &q->has_schema_pat,
                     m->db_schema_filter_pattern);
        if (m->has_table_name_filter_pattern_case)
            copy_opt(q->table_pat, sizeof q->table_pat, &q->has_table_pat,
                     m->table_name_filter_pattern);
        q->include_schema = m->include_schema;
        if (m->n_table_types > 16) {
            rc = st_error_set(err, ST_ELIMIT, "CommandGetTables names %zu table types (limit 16)",
                              m->n_table_types);
        } else if (m->n_table_types) {
            q->table_types = calloc(m->n_table_types, sizeof *q->table_types);
            for (size_t i = 0; q->table_types && i < m->n_table_types; i++)
                if ((q->table_types[i] = strdup(m->table_types[i])))
                    q->n_table_types++;
            if (q->n_table_types != m->n_table_types)
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
        }
        arrow__flight__protocol__sql__command_get_tables__free_unpacked(m, NULL);
    } else if (!strcmp(u, URL("CommandGetSqlInfo"))) {
        DECODE(Arrow__Flight__Protocol__Sql__CommandGetSqlInfo,
               arrow__flight__protocol__sql__command_get_sql_info, m);
        q->kind = GW_Q_SQL_INFO;
        if (m->n_info > GW_MAX_SQL_INFO_IDS)
            rc = st_error_set(err, ST_ELIMIT, "CommandGetSqlInfo asks for %zu ids (limit %d)",
                              m->n_info, GW_MAX_SQL_INFO_IDS);
        else if (m->n_info) {
            free(q->info);
            q->n_info = 0;
            q->info = malloc(m->n_info * sizeof *q->info);
            if (!q->info)
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
            else {
                memcpy(q->info, m->info, m->n_info * sizeof *q->info);
                q->n_info = (uint32_t)m->n_info;
            }
        }
        arrow__flight__protocol__sql__command_get_sql_info__free_unpacked(m, NULL);
    } else if (!strcmp(u, URL("CommandGetXdbcTypeInfo"))) {
        rc = st_error_set(err, ST_EUNSUPPORTED, "%s is not supported", u + sizeof(URL("")) - 1);
    } else if (!strcmp(u, URL("CommandGetTableTypes"))) {
        q->kind = GW_Q_TABLE_TYPES;
    } else
        rc = unsupported(err);
#undef DECODE
    if (rc == ST_OK) {
        q->cmd = malloc(n);
        if (!q->cmd)
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
        else {
            memcpy(q->cmd, anyb, n);
            q->cmd_len = n;
        }
    }
out:
    google__protobuf__any__free_unpacked(any, NULL);
    return rc;
}

