/*
 * http_misc.c: the small HTTP endpoints.
 *   GET /health, /api/v1/health   "OK" (text/plain), 503 while shutting down; no credential
 *   GET|POST /ping                 InfluxDB-style JSON {"product_name","version","revision",
 *                                  "process_id"} with X-Influxdb-Version / X-Influxdb-Build /
 *                                  Request-Id headers; no credential (the JS client's
 *                                  getServerVersion() reads the header)
 *   GET /metrics                   Prometheus text (metrics.c); the operator only (the
 *                                  figures cover every tenant)
 *   OPTIONS *                      204 with permissive CORS headers, no credential
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_http.h"
#include "strata/hash.h"

void
gw_misc_health(struct gw_req *r)
{
    if (atomic_load(&gw_srv->shutting_down))
        gw_req_set(r, 503, "text/plain; charset=utf-8", "shutting down", 13);
    else
        gw_req_set(r, 200, "text/plain; charset=utf-8", "OK", 2);
}

void
gw_misc_ping(struct gw_req *r)
{
    uint8_t id[8];
    char rid[20];
    if (st_random_bytes(id, sizeof id) != 0)
        memset(id, 0, sizeof id);
    for (int i = 0; i < 8; i++)
        snprintf(rid + 2 * i, 3, "%02x", id[i]);
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"product_name\":\"" GW_PRODUCT "\",\"version\":\"" GW_VERSION
                     "\",\"revision\":\"\",\"process_id\":\"%ld\"}",
                     (long)getpid());
    gw_req_set(r, 200, "application/json", body, (size_t)n);
    gw_req_add_header(r, "X-Influxdb-Version", "%s", GW_VERSION);
    gw_req_add_header(r, "X-Influxdb-Build", "%s", GW_PRODUCT);
    gw_req_add_header(r, "Request-Id", "%s", rid);
    gw_req_add_header(r, "X-Request-Id", "%s", rid);
}

void
gw_misc_metrics(struct gw_req *r)
{
    struct st_error err;
    st_error_clear(&err);
    enum st_code rc = gw_req_authorize(r, RBAC_PRIV_METRICS, NULL, &err);
    if (rc != ST_OK) {
        gw_req_auth_error(r, rc, &err);
        return;
    }
    size_t len = 0;
    char *text = gw_metrics_render(gw_srv->eng, &len);
    if (!text) {
        gw_req_error(r, 500, "out of memory");
        return;
    }
    free(r->resp);
    r->resp = text;
    r->resp_len = len;
    r->status = 200;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

void
gw_misc_options(struct gw_req *r)
{
    gw_req_set(r, 204, NULL, NULL, 0);
    gw_req_add_header(r, "Access-Control-Allow-Origin", "*");
    gw_req_add_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    gw_req_add_header(r, "Access-Control-Allow-Headers", "*");
    gw_req_add_header(r, "Access-Control-Max-Age", "86400");
}
