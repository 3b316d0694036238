/*
 * methods.c: THE method table of stratad. One row per RPC: its path, its shape (unary /
 * streaming), the privilege a caller needs (enum rbac_priv), where the database that
 * privilege applies to comes from, its request size limit and its handler. The same
 * file holds the HTTP endpoints' table (http_server.c routes with it) and the privilege
 * of each Flight SQL command. Every gRPC row is registered with gRPC core at start; any
 * other path is UNIMPLEMENTED.
 *
 * How the privilege is enforced (auth.c): every call is authenticated on arrival (except
 * `anonymous` rows); privileges whose scope names no database (none, tenant, cluster) are
 * checked on arrival too; database-scoped ones are checked by the handler as soon as it
 * has decoded the database from db_src, with this row's privilege. AdminService handlers
 * hand the check to rbac's mutations, which apply the same privilege per database.
 * `stratad --print-method-table` prints all of it as JSON; the role-matrix test derives
 * its expectations from that output.
 *
 * To add an RPC: add the row here and its handler in an h_*.c file.
 */
#include <jansson.h>

#include "gw_call.h"
#include "gw_flight.h"
#include "gw_http.h"

#define FLIGHT "/arrow.flight.protocol.FlightService/"
#define ADMIN "/strata.v1.AdminService/"

#define ADMIN_ROW(rpc, p, src)                                                                     \
    {.path = ADMIN #rpc, .name = "Admin." #rpc, .kind = GW_UNARY, .priv = (p), .db_src = (src),    \
     .max_request_bytes = 65536, .start = gw_h_admin, .free_state = gw_h_admin_free}

struct gw_method gw_methods[] = {
    /* grpc.health.v1: no credential, like HTTP /health */
    {.path = "/grpc.health.v1.Health/Check", .name = "Health.Check", .kind = GW_UNARY,
     .priv = RBAC_PRIV_HEALTH, .anonymous = true, .max_request_bytes = 4096,
     .start = gw_h_health_check},
    {.path = "/grpc.health.v1.Health/Watch", .name = "Health.Watch", .kind = GW_SERVER_STREAM,
     .priv = RBAC_PRIV_HEALTH, .anonymous = true, .max_request_bytes = 4096,
     .start = gw_h_health_watch},
    /* arrow.flight.protocol.FlightService (and Flight SQL through it) */
    {.path = FLIGHT "DoGet", .name = "DoGet", .kind = GW_SERVER_STREAM, .priv = RBAC_PRIV_QUERY,
     .db_src = GW_DB_TICKET, .max_request_bytes = 4u << 20, .start = gw_h_do_get,
     .free_state = gw_h_flight_free},
    {.path = FLIGHT "GetFlightInfo", .name = "GetFlightInfo", .kind = GW_UNARY,
     .priv = RBAC_PRIV_QUERY, .db_src = GW_DB_HEADER, .max_request_bytes = 4u << 20,
     .start = gw_h_get_flight_info, .free_state = gw_h_flight_free},
    {.path = FLIGHT "GetSchema", .name = "GetSchema", .kind = GW_UNARY, .priv = RBAC_PRIV_QUERY,
     .db_src = GW_DB_HEADER, .max_request_bytes = 4u << 20, .start = gw_h_get_schema,
     .free_state = gw_h_flight_free},
    {.path = FLIGHT "Handshake", .name = "Handshake", .kind = GW_BIDI, .priv = RBAC_PRIV_WHOAMI,
     .max_request_bytes = 65536, .start = gw_h_handshake, .on_recv = gw_h_handshake_recv},
    {.path = FLIGHT "ListActions", .name = "ListActions", .kind = GW_SERVER_STREAM,
     .priv = RBAC_PRIV_WHOAMI, .max_request_bytes = 1024, .start = gw_h_list_actions},
    {.path = FLIGHT "DoAction", .name = "DoAction", .kind = GW_SERVER_STREAM,
     .priv = RBAC_PRIV_QUERY, .db_src = GW_DB_HEADER, .max_request_bytes = 4u << 20,
     .start = gw_h_do_action, .free_state = gw_h_flight_free},
    /* DoPut: prepared-statement parameters (query), or CommandStatementUpdate (write,
     * h_update.c): the handler checks the privilege of what the first message asks */
    {.path = FLIGHT "DoPut", .name = "DoPut", .kind = GW_BIDI, .priv = RBAC_PRIV_QUERY,
     .db_src = GW_DB_HEADER, .start = gw_h_do_put, .on_recv = gw_h_do_put_recv,
     .free_state = gw_h_do_put_free},
    /* strata.v1 */
    {.path = "/strata.v1.WriteService/Write", .name = "Write", .kind = GW_UNARY,
     .priv = RBAC_PRIV_WRITE, .db_src = GW_DB_REQUEST, .start = gw_h_write,
     .free_state = gw_h_write_free},
    ADMIN_ROW(CreateDatabase, RBAC_PRIV_DB_CREATE, GW_DB_NONE),
    ADMIN_ROW(ListDatabases, RBAC_PRIV_DB_LIST, GW_DB_NONE),
    ADMIN_ROW(DeleteDatabase, RBAC_PRIV_DB_DELETE, GW_DB_REQUEST),
    ADMIN_ROW(CreateToken, RBAC_PRIV_TOKEN_CREATE, GW_DB_REQUEST),
    ADMIN_ROW(ListTokens, RBAC_PRIV_TOKEN_LIST, GW_DB_REQUEST),
    ADMIN_ROW(RevokeToken, RBAC_PRIV_TOKEN_REVOKE, GW_DB_REQUEST),
    ADMIN_ROW(RotateToken, RBAC_PRIV_TOKEN_REVOKE, GW_DB_REQUEST),
    ADMIN_ROW(GrantRole, RBAC_PRIV_ROLE_GRANT, GW_DB_REQUEST),
    ADMIN_ROW(RevokeRole, RBAC_PRIV_ROLE_GRANT, GW_DB_REQUEST),
    ADMIN_ROW(ListRoles, RBAC_PRIV_ROLE_LIST, GW_DB_REQUEST),
    ADMIN_ROW(WhoAmI, RBAC_PRIV_WHOAMI, GW_DB_NONE),
    ADMIN_ROW(Check, RBAC_PRIV_WHOAMI, GW_DB_REQUEST),
    ADMIN_ROW(ReadAudit, RBAC_PRIV_AUDIT_READ, GW_DB_NONE),
    ADMIN_ROW(CreateTenant, RBAC_PRIV_TENANT_ADMIN, GW_DB_NONE),
    ADMIN_ROW(ListTenants, RBAC_PRIV_TENANT_ADMIN, GW_DB_NONE),
    ADMIN_ROW(DeleteTenant, RBAC_PRIV_TENANT_ADMIN, GW_DB_NONE),
    /* data protection (h_maint.c): long jobs, streamed; Verify without a database (a scrub
     * of everything) needs RBAC_PRIV_VERIFY_ALL instead, checked by the handler */
    {.path = ADMIN "RotateKey", .name = "Admin.RotateKey", .kind = GW_SERVER_STREAM,
     .priv = RBAC_PRIV_KEY_ROTATE, .db_src = GW_DB_NONE, .max_request_bytes = 1024,
     .start = gw_h_maint, .free_state = gw_h_maint_free},
    {.path = ADMIN "Verify", .name = "Admin.Verify", .kind = GW_SERVER_STREAM,
     .priv = RBAC_PRIV_DB_VERIFY, .db_src = GW_DB_REQUEST, .max_request_bytes = 1024,
     .start = gw_h_maint, .free_state = gw_h_maint_free},
};

const size_t gw_n_methods = sizeof gw_methods / sizeof gw_methods[0];

/* The HTTP side. Credentials: Authorization (Bearer, Token, Basic) and on /write `p=`. */
const struct gw_http_endpoint gw_http_endpoints[] = {
    {"/health", GW_R_HEALTH, true, false, true, RBAC_PRIV_HEALTH, GW_DB_NONE, NULL},
    {"/api/v1/health", GW_R_HEALTH, true, false, true, RBAC_PRIV_HEALTH, GW_DB_NONE, NULL},
    {"/ping", GW_R_PING, true, true, true, RBAC_PRIV_HEALTH, GW_DB_NONE, NULL},
    {"/metrics", GW_R_METRICS, true, false, false, RBAC_PRIV_METRICS, GW_DB_NONE, NULL},
    {"/write", GW_R_WRITE_V1, false, true, false, RBAC_PRIV_WRITE, GW_DB_QUERY_ARG, "db"},
    {"/api/v2/write", GW_R_WRITE_V2, false, true, false, RBAC_PRIV_WRITE, GW_DB_QUERY_ARG,
     "bucket"},
    {"/api/v3/write_lp", GW_R_WRITE_V3, false, true, false, RBAC_PRIV_WRITE, GW_DB_QUERY_ARG,
     "db"},
};
const size_t gw_n_http_endpoints = sizeof gw_http_endpoints / sizeof gw_http_endpoints[0];

/* Flight SQL commands (through GetFlightInfo, GetSchema, DoGet, DoAction, DoPut; updates
 * through DoPut only): the database is the `database` header's (or the ticket's). The last column is the privilege
 * when no database is named; RBAC_PRIV_QUERY there means the command needs a database
 * (flightsql_cmd.c refuses it without one). A command that lists databases would take
 * RBAC_PRIV_DB_LIST there and filter with gw_visible_databases(). */
const struct gw_flightsql_priv gw_flightsql_privs[] = {
    {"CommandStatementQuery", GW_Q_SQL, RBAC_PRIV_QUERY, RBAC_PRIV_QUERY},
    {"CommandPreparedStatementQuery", GW_Q_SQL, RBAC_PRIV_QUERY, RBAC_PRIV_QUERY},
    {"CommandGetTables", GW_Q_TABLES, RBAC_PRIV_QUERY, RBAC_PRIV_QUERY},
    {"CommandGetCatalogs", GW_Q_CATALOGS, RBAC_PRIV_QUERY, RBAC_PRIV_QUERY},
    {"CommandGetDbSchemas", GW_Q_DB_SCHEMAS, RBAC_PRIV_QUERY, RBAC_PRIV_QUERY},
    {"CommandGetTableTypes", GW_Q_TABLE_TYPES, RBAC_PRIV_QUERY, RBAC_PRIV_QUERY},
    /* server facts only, no database involved */
    {"CommandGetSqlInfo", GW_Q_SQL_INFO, RBAC_PRIV_WHOAMI, RBAC_PRIV_WHOAMI},
    /* DELETE statements, through DoPut only (h_update.c); refused without a database */
    {"CommandStatementUpdate", GW_Q_UPDATE, RBAC_PRIV_WRITE, RBAC_PRIV_QUERY},
};
const size_t gw_n_flightsql_privs = sizeof gw_flightsql_privs / sizeof gw_flightsql_privs[0];

enum rbac_priv
gw_flightsql_required_priv(int qkind, bool has_db)
{
    for (size_t i = 0; i < gw_n_flightsql_privs; i++)
        if (gw_flightsql_privs[i].qkind == qkind)
            return has_db ? gw_flightsql_privs[i].priv : gw_flightsql_privs[i].priv_without_db;
    return RBAC_PRIV_QUERY;
}

const char *
gw_db_src_name(enum gw_db_src s)
{
    switch (s) {
    case GW_DB_NONE: return "none";
    case GW_DB_REQUEST: return "request";
    case GW_DB_HEADER: return "header";
    case GW_DB_TICKET: return "ticket";
    case GW_DB_QUERY_ARG: return "query_arg";
    }
    return "none";
}

static const char *
scope_name(enum rbac_scope s)
{
    switch (s) {
    case RBAC_SCOPE_NONE: return "none";
    case RBAC_SCOPE_DATABASE: return "database";
    case RBAC_SCOPE_TENANT: return "tenant";
    case RBAC_SCOPE_DB_OR_TENANT: return "db_or_tenant";
    case RBAC_SCOPE_CLUSTER: return "cluster";
    }
    return "none";
}

static json_t *
priv_json(enum rbac_priv p)
{
    return json_pack("{s:s,s:s}", "privilege", rbac_priv_name(p), "scope",
                     scope_name(rbac_priv_scope(p)));
}

void
gw_methods_print_json(FILE *f)
{
    static const char *const kinds[] = {"unary", "server_stream", "client_stream", "bidi"};
    json_t *root = json_object(), *rpcs = json_array(), *http = json_array(),
           *fsql = json_array(), *privs = json_array();
    for (size_t i = 0; i < gw_n_methods; i++) {
        const struct gw_method *m = &gw_methods[i];
        json_t *o = priv_json(m->priv);
        json_object_set_new(o, "path", json_string(m->path));
        json_object_set_new(o, "name", json_string(m->name));
        json_object_set_new(o, "kind", json_string(kinds[m->kind]));
        json_object_set_new(o, "database", json_string(gw_db_src_name(m->db_src)));
        json_object_set_new(o, "anonymous", json_boolean(m->anonymous));
        json_array_append_new(rpcs, o);
    }
    for (size_t i = 0; i < gw_n_http_endpoints; i++) {
        const struct gw_http_endpoint *e = &gw_http_endpoints[i];
        json_t *o = priv_json(e->priv), *meth = json_array();
        if (e->get)
            json_array_append_new(meth, json_string("GET"));
        if (e->post)
            json_array_append_new(meth, json_string("POST"));
        json_object_set_new(o, "path", json_string(e->path));
        json_object_set_new(o, "methods", meth);
        json_object_set_new(o, "database", json_string(gw_db_src_name(e->db_src)));
        if (e->db_param)
            json_object_set_new(o, "database_param", json_string(e->db_param));
        json_object_set_new(o, "anonymous", json_boolean(e->anonymous));
        json_array_append_new(http, o);
    }
    for (size_t i = 0; i < gw_n_flightsql_privs; i++) {
        const struct gw_flightsql_priv *c = &gw_flightsql_privs[i];
        json_t *o = priv_json(c->priv);
        json_object_set_new(o, "command", json_string(c->command));
        json_object_set_new(o, "database", json_string("header"));
        json_object_set_new(o, "privilege_without_database",
                            json_string(rbac_priv_name(c->priv_without_db)));
        json_array_append_new(fsql, o);
    }
    for (int p = 0; p < RBAC_PRIV__COUNT; p++)
        json_array_append_new(privs, priv_json((enum rbac_priv)p));
    json_object_set_new(root, "grpc", rpcs);
    json_object_set_new(root, "http", http);
    json_object_set_new(root, "flightsql", fsql);
    json_object_set_new(root, "privileges", privs);
    json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(root);
}
