/*
 * gw_http.h: the HTTP/1.1 side of stratad, shared by http_server.c (libmicrohttpd
 * daemons, request lifecycle, body collection, suspend/resume around pool work),
 * http_write.c (the three line-protocol write endpoints) and http_misc.c (/health,
 * /ping, /metrics, OPTIONS).
 *
 * A request lives in one `struct gw_req` from its first callback to MHD's completion
 * notice. Handlers never block an MHD thread: work that touches the engine runs on the
 * pool while the connection is suspended, and the response is queued when MHD calls
 * back after the resume.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <microhttpd.h>

#include "gw_int.h"
#include "strata/buf.h"

enum gw_route {
    GW_R_NONE = 0,
    GW_R_HEALTH,
    GW_R_PING,
    GW_R_METRICS,
    GW_R_WRITE_V1,
    GW_R_WRITE_V2,
    GW_R_WRITE_V3,
    GW_R_OPTIONS,
};

struct gw_hdr {
    const char *name;
    char value[128];
};

struct gw_req {
    struct MHD_Connection *conn;
    enum gw_route route;
    const char *route_name;  /* static, for metrics */
    int64_t start_ns;
    bool tls;
    bool body_started, too_large, responded, suspended, work_done;
    bool body_ascii;         /* every body byte so far is ASCII (checked while appending) */
    struct st_buf body;
    uint64_t content_length; /* 0 when not given */
    uint64_t drained;        /* body bytes discarded after a 413 */
    /* the response, built by a handler (possibly on the pool) */
    int status;
    char *resp;              /* malloc'd */
    size_t resp_len;
    const char *ctype;       /* static; NULL = none */
    struct gw_hdr hdrs[6];
    int n_hdrs;
    /* write parameters (http_write.c) */
    char db[512];
    int precision;           /* enum eng_precision */
    bool partial, no_sync, gzip;
    bool create_db;          /* the write creates its database first (gw_check_write) */
    struct gw_principal who;
    bool auth_done;          /* the credential check ran (once per request) */
    enum st_code auth_rc;
    struct st_error auth_err;
};

/* Bytes of a too-large body we still read (and drop) so the client sees the 413. */
#define GW_HTTP_DRAIN_MAX (64u << 20)

/* Make room for a body of n bytes, reusing a buffer of an earlier request when one is
 * cached (http_server.c): a 10,000-line batch is a few MiB, and a fresh allocation per
 * request costs a page fault per 4 KiB and a munmap. */
enum st_code gw_req_body_reserve(struct gw_req *r, size_t n);
/* Whether n bytes are all ASCII (http_write.c). */
bool gw_ascii(const uint8_t *p, size_t n);

/* Set the 413 answer (v2 JSON shape on /api/v2/write). */
void gw_req_too_large(struct gw_req *r);
/* Build the response (copies body). */
void gw_req_set(struct gw_req *r, int status, const char *ctype, const char *body, size_t len);
void gw_req_add_header(struct gw_req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The InfluxDB-style {"error": "..."} body with a status. */
void gw_req_error(struct gw_req *r, int status, const char *msg);

/* http_write.c: validate parameters and credentials on the first callback; 0 = go on
 * collecting the body, -1 = a response is set (error), 1 = Content-Length is over the
 * limit (the 413 is set; the body may still be drained). */
int gw_write_begin(struct gw_req *r);
/* On the pool: decompress, write, set the response. */
void gw_write_work(struct gw_req *r);
/* The v2 {"code","message"} error body. */
void gw_req_v2_error(struct gw_req *r, int status, const char *code, const char *msg);

/* http_misc.c */
void gw_misc_health(struct gw_req *r);
void gw_misc_ping(struct gw_req *r);
void gw_misc_metrics(struct gw_req *r);
void gw_misc_options(struct gw_req *r);

/* THE credential check for this request (Authorization headers, or p= on v1 paths),
 * once; then THE access check for `need` on `db` (auth.c). */
enum st_code gw_req_authorize(struct gw_req *r, enum rbac_priv need, const char *db,
                              struct st_error *err);
/* Authenticate only (writes check their database separately, gw_check_write). */
enum st_code gw_req_authenticate(struct gw_req *r, struct st_error *err);
/* Answer a failed check (401, 400 malformed header, 403, 404 for administrators, 429
 * rate-limited) in InfluxDB's shapes. */
void gw_req_auth_error(struct gw_req *r, enum st_code rc, const struct st_error *err);

#endif
