/*
 * methods.c: THE method table of stratad's gRPC side. One row per RPC: its path, its
 * shape (unary / streaming), the privilege a caller needs before the handler runs
 * (checked by auth.c in one place), its request size limit, and its handler. Every
 * row is registered with gRPC core at start; any other path is UNIMPLEMENTED.
 * To add an RPC: add the row here and its handler in an h_*.c file.
 */
#include "gw_call.h"

#define FLIGHT "/arrow.flight.protocol.FlightService/"

struct gw_method gw_methods[] = {
    /* grpc.health.v1: no credential, like HTTP /health */
    {.path = "/grpc.health.v1.Health/Check", .name = "Health.Check", .kind = GW_UNARY,
     .priv = GW_PRIV_NONE, .max_request_bytes = 4096, .start = gw_h_health_check},
    {.path = "/grpc.health.v1.Health/Watch", .name = "Health.Watch", .kind = GW_SERVER_STREAM,
     .priv = GW_PRIV_NONE, .max_request_bytes = 4096, .start = gw_h_health_watch},
    /* arrow.flight.protocol.FlightService (and Flight SQL through it) */
    {.path = FLIGHT "DoGet", .name = "DoGet", .kind = GW_SERVER_STREAM, .priv = GW_PRIV_READ,
     .max_request_bytes = 4u << 20, .start = gw_h_do_get, .free_state = gw_h_flight_free},
    {.path = FLIGHT "GetFlightInfo", .name = "GetFlightInfo", .kind = GW_UNARY,
     .priv = GW_PRIV_READ, .max_request_bytes = 4u << 20, .start = gw_h_get_flight_info,
     .free_state = gw_h_flight_free},
    {.path = FLIGHT "GetSchema", .name = "GetSchema", .kind = GW_UNARY, .priv = GW_PRIV_READ,
     .max_request_bytes = 4u << 20, .start = gw_h_get_schema, .free_state = gw_h_flight_free},
    {.path = FLIGHT "Handshake", .name = "Handshake", .kind = GW_BIDI, .priv = GW_PRIV_READ,
     .max_request_bytes = 65536, .start = gw_h_handshake, .on_recv = gw_h_handshake_recv},
    {.path = FLIGHT "ListActions", .name = "ListActions", .kind = GW_SERVER_STREAM,
     .priv = GW_PRIV_READ, .max_request_bytes = 1024, .start = gw_h_list_actions},
    {.path = FLIGHT "DoAction", .name = "DoAction", .kind = GW_SERVER_STREAM,
     .priv = GW_PRIV_READ, .max_request_bytes = 4u << 20, .start = gw_h_do_action,
     .free_state = gw_h_flight_free},
    {.path = FLIGHT "DoPut", .name = "DoPut", .kind = GW_BIDI, .priv = GW_PRIV_READ,
     .start = gw_h_do_put, .on_recv = gw_h_do_put_recv, .free_state = gw_h_flight_free},
    /* strata.v1 */
    {.path = "/strata.v1.WriteService/Write", .name = "Write", .kind = GW_UNARY,
     .priv = GW_PRIV_WRITE, .start = gw_h_write, .free_state = gw_h_write_free},
};

const size_t gw_n_methods = sizeof gw_methods / sizeof gw_methods[0];
