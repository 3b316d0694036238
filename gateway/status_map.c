/*
 * status_map.c: THE mapping of Strata's error currency (enum st_code) to gRPC status
 * codes and to HTTP statuses: one table each, used by every handler. The gRPC side
 * also sends the numeric st_code as trailing metadata `strata-code`, so a client can
 * rebuild the exact code. docs/errors.md documents these tables; keep them in step.
 */
#include <grpc/status.h>

#include "gw_int.h"

static const struct {
    int grpc;
    int http;
} map[ST__COUNT] = {
    [ST_OK] = {GRPC_STATUS_OK, 200},
    [ST_ENOMEM] = {GRPC_STATUS_RESOURCE_EXHAUSTED, 503},
    [ST_EINVAL] = {GRPC_STATUS_INVALID_ARGUMENT, 400},
    [ST_EPARSE] = {GRPC_STATUS_INVALID_ARGUMENT, 400},
    [ST_EBIND] = {GRPC_STATUS_INVALID_ARGUMENT, 400},
    [ST_ETYPE] = {GRPC_STATUS_INVALID_ARGUMENT, 400},
    [ST_ENOTFOUND] = {GRPC_STATUS_NOT_FOUND, 404},
    [ST_EEXISTS] = {GRPC_STATUS_ALREADY_EXISTS, 409},
    [ST_EUNAUTHENTICATED] = {GRPC_STATUS_UNAUTHENTICATED, 401},
    [ST_EPERMISSION] = {GRPC_STATUS_PERMISSION_DENIED, 403},
    [ST_ELIMIT] = {GRPC_STATUS_RESOURCE_EXHAUSTED, 422},
    [ST_EIO] = {GRPC_STATUS_INTERNAL, 500},
    [ST_ECORRUPT] = {GRPC_STATUS_DATA_LOSS, 500},
    [ST_ECANCELLED] = {GRPC_STATUS_CANCELLED, 499},
    [ST_ETIMEOUT] = {GRPC_STATUS_DEADLINE_EXCEEDED, 504},
    [ST_EAGAIN] = {GRPC_STATUS_UNAVAILABLE, 429},
    [ST_EUNSUPPORTED] = {GRPC_STATUS_UNIMPLEMENTED, 501},
    [ST_EINTERNAL] = {GRPC_STATUS_INTERNAL, 500},
    [ST_EPARTIAL] = {GRPC_STATUS_INVALID_ARGUMENT, 400},
    [ST_EPRECONDITION] = {GRPC_STATUS_FAILED_PRECONDITION, 409},
    [ST_ECRYPTO] = {GRPC_STATUS_INTERNAL, 500},
    [ST_ESHUTDOWN] = {GRPC_STATUS_UNAVAILABLE, 503},
};

int
gw_status_grpc(enum st_code code)
{
    if ((unsigned)code >= ST__COUNT)
        return GRPC_STATUS_UNKNOWN;
    return map[code].grpc;
}

int
gw_status_http(enum st_code code)
{
    if ((unsigned)code >= ST__COUNT || map[code].http == 0)
        return 500;
    return map[code].http;
}

const char *
gw_grpc_code_name(int c)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (c < 0 || c >= (int)(sizeof names / sizeof names[0]))
        return "UNKNOWN";
    return names[c];
}
