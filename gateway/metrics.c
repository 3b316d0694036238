/*
 * metrics.c: the counters behind GET /metrics (Prometheus text format 0.0.4).
 *
 *   strata_requests_total{proto,method,code}          finished requests
 *   strata_request_errors_total{proto,method}         of which failed (gRPC != OK, HTTP >= 400)
 *   strata_request_duration_seconds{proto,method}     latency histogram
 *   strata_connections_total{route}                   classified connections (grpc, http, tls-*)
 *   strata_connections_dropped_total{reason}          closed before classification
 *   strata_rows_written_total, strata_write_bytes_total, strata_rows_sent_total,
 *   strata_sent_bytes_total, strata_active_queries, strata_active_writes
 *   strata_engine_*                                   from eng_get_stats (quarantine counters,
 *                                                     encryption included)
 *   strata_integrity_*, strata_key_rotations_total,
 *   strata_verify_*                                   data protection (gw_dp_metrics_render:
 *                                                     integrity.c, h_maint.c)
 *
 * Series are kept in a small fixed table keyed by static name pointers, under one
 * mutex taken once per finished request; names are code constants, never client input,
 * so the number of series is bounded by the code.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"
#include "strata/buf.h"
#include "strata/clock.h"

#define MAX_SERIES 256
#define MAX_HIST 96
#define MAX_LABELS 32

static const double bounds_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BOUNDS (sizeof bounds_s / sizeof bounds_s[0])

struct req_series {
    enum gw_proto proto;
    const char *name;
    int status;
    uint64_t count;
};

struct hist {
    enum gw_proto proto;
    const char *name;
    uint64_t buckets[N_BOUNDS + 1];
    double sum;
    uint64_t count, errors;
};

struct label_count {
    const char *label;
    uint64_t count;
};

static struct {
    pthread_mutex_t mu;
    struct req_series req[MAX_SERIES];
    size_t n_req;
    struct hist h[MAX_HIST];
    size_t n_h;
    struct label_count conn[MAX_LABELS], dropped[MAX_LABELS];
    size_t n_conn, n_dropped;
    _Atomic uint64_t rows_written, bytes_written, rows_sent, bytes_sent;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

atomic_int gw_active_queries;
atomic_int gw_active_writes;

void
gw_metrics_init(void)
{
}

static bool
same(const char *a, const char *b)
{
    return a == b || strcmp(a, b) == 0;
}

void
gw_metrics_request(enum gw_proto p, const char *name, int status, int64_t dur_ns)
{
    bool failed = p == GW_PROTO_GRPC ? status != 0 : status >= 400;
    double s = (double)dur_ns / 1e9;
    pthread_mutex_lock(&M.mu);
    size_t i;
    for (i = 0; i < M.n_req; i++)
        if (M.req[i].proto == p && M.req[i].status == status && same(M.req[i].name, name))
            break;
    if (i == M.n_req && M.n_req < MAX_SERIES)
        M.req[M.n_req++] = (struct req_series){p, name, status, 0};
    if (i < M.n_req)
        M.req[i].count++;
    for (i = 0; i < M.n_h; i++)
        if (M.h[i].proto == p && same(M.h[i].name, name))
            break;
    if (i == M.n_h && M.n_h < MAX_HIST) {
        memset(&M.h[i], 0, sizeof M.h[i]);
        M.h[i].proto = p;
        M.h[i].name = name;
        M.n_h++;
    }
    if (i < M.n_h) {
        size_t b = 0;
        while (b < N_BOUNDS && s > bounds_s[b])
            b++;
        M.h[i].buckets[b]++;
        M.h[i].sum += s;
        M.h[i].count++;
        if (failed)
            M.h[i].errors++;
    }
    pthread_mutex_unlock(&M.mu);
}

static void
label_inc(struct label_count *t, size_t *n, const char *label)
{
    pthread_mutex_lock(&M.mu);
    size_t i;
    for (i = 0; i < *n; i++)
        if (same(t[i].label, label))
            break;
    if (i == *n && *n < MAX_LABELS)
        t[(*n)++] = (struct label_count){label, 0};
    if (i < *n)
        t[i].count++;
    pthread_mutex_unlock(&M.mu);
}

void
gw_metrics_conn(const char *route)
{
    label_inc(M.conn, &M.n_conn, route);
}

void
gw_metrics_conn_dropped(const char *why)
{
    label_inc(M.dropped, &M.n_dropped, why);
}

void
gw_metrics_add_rows_written(uint64_t rows, uint64_t bytes)
{
    M.rows_written += rows;
    M.bytes_written += bytes;
}

void
gw_metrics_add_rows_sent(uint64_t rows, uint64_t bytes)
{
    M.rows_sent += rows;
    M.bytes_sent += bytes;
}

static const char *
pname(enum gw_proto p)
{
    return p == GW_PROTO_GRPC ? "grpc" : "http";
}

char *
gw_metrics_render(struct eng *e, size_t *len_out)
{
    struct st_buf b;
    st_buf_init(&b, 16u << 20);
    pthread_mutex_lock(&M.mu);
    st_buf_printf(&b, "# HELP strata_requests_total Finished requests by protocol, method "
                      "and status code.\n# TYPE strata_requests_total counter\n");
    for (size_t i = 0; i < M.n_req; i++)
        st_buf_printf(&b, "strata_requests_total{proto=\"%s\",method=\"%s\",code=\"%d\"} %llu\n",
                      pname(M.req[i].proto), M.req[i].name, M.req[i].status,
                      (unsigned long long)M.req[i].count);
    st_buf_printf(&b, "# HELP strata_request_errors_total Failed requests (gRPC status not OK, "
                      "HTTP status >= 400).\n# TYPE strata_request_errors_total counter\n");
    for (size_t i = 0; i < M.n_h; i++)
        st_buf_printf(&b, "strata_request_errors_total{proto=\"%s\",method=\"%s\"} %llu\n",
                      pname(M.h[i].proto), M.h[i].name, (unsigned long long)M.h[i].errors);
    st_buf_printf(&b, "# HELP strata_request_duration_seconds Request latency.\n"
                      "# TYPE strata_request_duration_seconds histogram\n");
    for (size_t i = 0; i < M.n_h; i++) {
        uint64_t cum = 0;
        for (size_t k = 0; k <= N_BOUNDS; k++) {
            cum += M.h[i].buckets[k];
            if (k < N_BOUNDS)
                st_buf_printf(&b,
                              "strata_request_duration_seconds_bucket{proto=\"%s\",method=\"%s\","
                              "le=\"%g\"} %llu\n",
                              pname(M.h[i].proto), M.h[i].name, bounds_s[k],
                              (unsigned long long)cum);
            else
                st_buf_printf(&b,
                              "strata_request_duration_seconds_bucket{proto=\"%s\",method=\"%s\","
                              "le=\"+Inf\"} %llu\n",
                              pname(M.h[i].proto), M.h[i].name, (unsigned long long)cum);
        }
        st_buf_printf(&b, "strata_request_duration_seconds_sum{proto=\"%s\",method=\"%s\"} %.9f\n",
                      pname(M.h[i].proto), M.h[i].name, M.h[i].sum);
        st_buf_printf(&b, "strata_request_duration_seconds_count{proto=\"%s\",method=\"%s\"} %llu\n",
                      pname(M.h[i].proto), M.h[i].name, (unsigned long long)M.h[i].count);
    }
    st_buf_printf(&b, "# HELP strata_connections_total Connections handed to a protocol stack.\n"
                      "# TYPE strata_connections_total counter\n");
    for (size_t i = 0; i < M.n_conn; i++)
        st_buf_printf(&b, "strata_connections_total{route=\"%s\"} %llu\n", M.conn[i].label,
                      (unsigned long long)M.conn[i].count);
    st_buf_printf(&b, "# HELP strata_connections_dropped_total Connections closed before they "
                      "were classified.\n# TYPE strata_connections_dropped_total counter\n");
    for (size_t i = 0; i < M.n_dropped; i++)
        st_buf_printf(&b, "strata_connections_dropped_total{reason=\"%s\"} %llu\n",
                      M.dropped[i].label, (unsigned long long)M.dropped[i].count);
    pthread_mutex_unlock(&M.mu);
    st_buf_printf(&b,
                  "# TYPE strata_rows_written_total counter\nstrata_rows_written_total %llu\n"
                  "# TYPE strata_write_bytes_total counter\nstrata_write_bytes_total %llu\n"
                  "# TYPE strata_rows_sent_total counter\nstrata_rows_sent_total %llu\n"
                  "# TYPE strata_sent_bytes_total counter\nstrata_sent_bytes_total %llu\n"
                  "# TYPE strata_active_queries gauge\nstrata_active_queries %d\n"
                  "# TYPE strata_active_writes gauge\nstrata_active_writes %d\n",
                  (unsigned long long)M.rows_written, (unsigned long long)M.bytes_written,
                  (unsigned long long)M.rows_sent, (unsigned long long)M.bytes_sent,
                  atomic_load(&gw_active_queries), atomic_load(&gw_active_writes));
    gw_sec_metrics_render(&b);
    if (e) {
        struct eng_stats es;
        memset(&es, 0, sizeof es);
        eng_get_stats(e, &es);
        st_buf_printf(&b,
                      "# TYPE strata_engine_rows_written_total counter\n"
                      "strata_engine_rows_written_total %llu\n"
                      "# TYPE strata_engine_bytes_written_total counter\n"
                      "strata_engine_bytes_written_total %llu\n"
                      "# TYPE strata_engine_wal_bytes gauge\nstrata_engine_wal_bytes %llu\n"
                      "# TYPE strata_engine_buffer_bytes gauge\nstrata_engine_buffer_bytes %llu\n"
                      "# TYPE strata_engine_chunks gauge\nstrata_engine_chunks %llu\n"
                      "# TYPE strata_engine_chunk_bytes gauge\nstrata_engine_chunk_bytes %llu\n"
                      "# TYPE strata_engine_persists_total counter\n"
                      "strata_engine_persists_total %llu\n",
                      (unsigned long long)es.rows_written, (unsigned long long)es.bytes_written,
                      (unsigned long long)es.wal_bytes, (unsigned long long)es.buffer_bytes,
                      (unsigned long long)es.chunks, (unsigned long long)es.chunk_bytes,
                      (unsigned long long)es.persists);
        st_buf_printf(&b,
                      "# HELP strata_engine_quarantined_chunks Chunk files holding data found "
                      "damaged and excluded from queries (restore it from a backup).\n"
                      "# TYPE strata_engine_quarantined_chunks gauge\n"
                      "strata_engine_quarantined_chunks %llu\n"
                      "# HELP strata_engine_quarantined_groups Row groups (or whole chunks) "
                      "quarantined.\n# TYPE strata_engine_quarantined_groups gauge\n"
                      "strata_engine_quarantined_groups %llu\n"
                      "# HELP strata_engine_quarantined_rows Rows excluded from queries because "
                      "their block is damaged.\n# TYPE strata_engine_quarantined_rows gauge\n"
                      "strata_engine_quarantined_rows %llu\n"
                      "# HELP strata_engine_encrypted Whether files are written encrypted at rest "
                      "(AES-256-GCM).\n# TYPE strata_engine_encrypted gauge\n"
                      "strata_engine_encrypted %d\n",
                      (unsigned long long)es.quarantined_chunks,
                      (unsigned long long)es.quarantined_groups,
                      (unsigned long long)es.quarantined_rows, es.encrypted ? 1 : 0);
    }
    gw_dp_metrics_render(&b);
    return (char *)st_buf_take(&b, len_out);
}
