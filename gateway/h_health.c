/*
 * h_health.c: the standard gRPC health service (grpc.health.v1.Health). Check answers
 * SERVING for the server ("") and for the services stratad implements, NOT_FOUND for any
 * other name, and NOT_SERVING once shutdown has begun. Watch sends the current status
 * and then holds the stream open until the client leaves or the server shuts down.
 * No credential is needed, like HTTP /health, so load balancers can probe.
 */
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "gw_call.h"

static const char *const services[] = {
    "",
    "arrow.flight.protocol.FlightService",
    "strata.v1.WriteService",
    "grpc.health.v1.Health",
};

/* -1 unknown service, else the status. */
static int
status_of(const char *svc)
{
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        if (strcmp(svc, services[i]) == 0)
            return atomic_load(&gw_srv->shutting_down)
                       ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
                       : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    return -1;
}

static grpc_slice
response(int st)
{
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
    return gw_pack(&r.base);
}

static int
decode(struct gw_call *c)
{
    Grpc__Health__V1__HealthCheckRequest *q =
        grpc__health__v1__health_check_request__unpack(NULL, c->req_len, c->req);
    if (!q) {
        gw_call_finish(c, ST_EPARSE, "malformed HealthCheckRequest");
        return -2;
    }
    int st = status_of(q->service ? q->service : "");
    grpc__health__v1__health_check_request__free_unpacked(q, NULL);
    return st;
}

void
gw_h_health_check(struct gw_call *c)
{
    int st = decode(c);
    if (st == -2)
        return;
    if (st < 0) {
        gw_call_finish(c, ST_ENOTFOUND, "unknown service");
        return;
    }
    gw_call_reply(c, response(st));
}

void
gw_h_health_watch(struct gw_call *c)
{
    int st = decode(c);
    if (st == -2)
        return;
    if (st < 0)
        st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    gw_call_queue(c, response(st));
    gw_worker_timer_add(c); /* ended by the timer at shutdown, or by the client */
    gw_call_stream_kick(c);
}
