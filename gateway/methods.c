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
    /* strata.v1 */
    {.path = "/strata.v1.WriteService/Write", .name = "Write", .kind = GW_UNARY,
     .priv = GW_PRIV_WRITE, .start = gw_h_write, .free_state = gw_h_write_free},
};

const size_t gw_n_methods = sizeof gw_methods / sizeof gw_methods[0];
