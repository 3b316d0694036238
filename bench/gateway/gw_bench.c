/*
 * gw_bench.c: end-to-end figures for stratad, measured from a client process.
 *
 *   gw_bench ingest --port P --token-file F --lp FILE [--writers N] [--batch LINES] [--db D]
 *                   [--gzip 1]
 *       N threads, each with one keep-alive HTTP/1.1 connection, post consecutive
 *       batches of the line-protocol file to /api/v3/write_lp (durable acks: no_sync=false)
 *       until the file is consumed. Prints rows/s over the whole run and the batch-ack
 *       latency p50/p99. --gzip 1 sends every batch gzip'd (Content-Encoding: gzip, as
 *       Telegraf and the client libraries can), compressed before the clock starts.
 *   gw_bench query --port P --token-file F --queries TSV --db D [--passes N]
 *       Runs every query of a `type<TAB>index<TAB>sql` file through Flight DoGet (gRPC C
 *       core client, one channel, JSON ticket as the InfluxDB clients send) and prints
 *       p50/p99 per query type; then, per type, the engine's share of each call (stratad
 *       reports it in the `x-strata-engine-ns` trailer) and the gateway's overhead, the
 *       client latency minus that share, measured on the same calls.
 *   gw_bench engine --data-dir DIR --queries TSV [--passes N]     (when the engine has eng_query)
 *       The same queries in-process through eng_query on the same data (stratad stopped),
 *       pulling every batch: the engine time the gateway overhead is measured against.
 *
 * Timing figures belong in docs/performance.md, never in tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#ifdef GW_BENCH_ENGINE
#include "strata/engine.h"
#endif

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    p[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return p;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double
pct(int64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

/* ---- ingest ------------------------------------------------------------------------------ */

struct batch {
    const char *p;
    size_t len;
    size_t lines;
    unsigned char *gz; /* the batch gzip'd (--gzip), or NULL */
    size_t gz_len;
};

static struct {
    int port;
    char token[300];
    const char *db;
    struct batch *batches;
    size_t n_batches;
    atomic_size_t next;
    int64_t *lat;
    atomic_size_t n_lat;
    atomic_size_t rows;
    atomic_int errors;
    bool gzip;
} I;

/* The batch as one gzip member (level 6, zlib's default). */
static void
gzip_batch(struct batch *b)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        fprintf(stderr, "deflateInit2 failed\n");
        exit(2);
    }
    size_t cap = deflateBound(&z, (uLong)b->len);
    b->gz = malloc(cap);
    z.next_in = (Bytef *)b->p;
    z.avail_in = (uInt)b->len;
    z.next_out = b->gz;
    z.avail_out = (uInt)cap;
    if (!b->gz || deflate(&z, Z_FINISH) != Z_STREAM_END) {
        fprintf(stderr, "gzip of a batch failed\n");
        exit(2);
    }
    b->gz_len = cap - z.avail_out;
    deflateEnd(&z);
}

static int
connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one response; return its status (bodies are drained by Content-Length). */
static int
read_response(int fd)
{
    char buf[8192];
    size_t have = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        int status = atoi(buf + 9);
        size_t clen = 0;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl && cl < end)
            clen = strtoull(cl + 17, NULL, 10);
        size_t body_have = have - (size_t)(end + 4 - buf);
        while (body_have < clen) {
            r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0)
                return -1;
            body_have += (size_t)r;
        }
        return status;
    }
}

static void *
writer(void *unused)
{
    (void)unused;
    int fd = connect_port(I.port);
    char hdr[1024];
    for (;;) {
        size_t i = atomic_fetch_add(&I.next, 1);
        if (i >= I.n_batches)
            break;
        const struct batch *b = &I.batches[i];
        const char *body = b->gz ? (const char *)b->gz : b->p;
        size_t body_len = b->gz ? b->gz_len : b->len;
        int hl = snprintf(hdr, sizeof hdr,
                          "POST /api/v3/write_lp?db=%s&precision=nanosecond&accept_partial=false "
                          "HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token %s\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n%sContent-Length: %zu\r\n\r\n",
                          I.db, I.token, b->gz ? "Content-Encoding: gzip\r\n" : "", body_len);
        int64_t t0 = now_ns();
        if (send_all(fd, hdr, (size_t)hl) || send_all(fd, body, body_len)) {
            atomic_fetch_add(&I.errors, 1);
            break;
        }
        int st = read_response(fd);
        int64_t dt = now_ns() - t0;
        if (st != 204) {
            if (atomic_fetch_add(&I.errors, 1) < 3)
                fprintf(stderr, "batch %zu: HTTP %d\n", i, st);
            if (st < 0)
                break;
            continue;
        }
        I.lat[atomic_fetch_add(&I.n_lat, 1)] = dt;
        atomic_fetch_add(&I.rows, b->lines);
    }
    close(fd);
    return NULL;
}

static int
ingest(const char *lp_path, int writers, size_t batch_lines)
{
    size_t len;
    char *lp = slurp(lp_path, &len);
    size_t cap = 1024;
    I.batches = malloc(cap * sizeof *I.batches);
    const char *p = lp, *end = lp + len;
    while (p < end) {
        const char *q = p;
        size_t lines = 0;
        while (q < end && lines < batch_lines) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            q = nl ? nl + 1 : end;
            lines++;
        }
        if (I.n_batches == cap)
            I.batches = realloc(I.batches, (cap *= 2) * sizeof *I.batches);
        I.batches[I.n_batches++] = (struct batch){p, (size_t)(q - p), lines, NULL, 0};
        p = q;
    }
    size_t gz_bytes = 0;
    for (size_t i = 0; I.gzip && i < I.n_batches; i++) {
        gzip_batch(&I.batches[i]);
        gz_bytes += I.batches[i].gz_len;
    }
    if (I.gzip)
        printf("gzip: %zu bytes of line protocol as %zu bytes\n", len, gz_bytes);
    I.lat = calloc(I.n_batches, sizeof *I.lat);
    pthread_t t[64];
    int64_t t0 = now_ns();
    for (int i = 0; i < writers; i++)
        pthread_create(&t[i], NULL, writer, NULL);
    for (int i = 0; i < writers; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    size_t n = atomic_load(&I.n_lat);
    printf("ingest writers=%d batch=%zu%s rows=%zu seconds=%.3f rows_per_s=%.0f ack_p50_ms=%.2f "
           "ack_p99_ms=%.2f errors=%d\n",
           writers, batch_lines, I.gzip ? " gzip=1" : "", (size_t)atomic_load(&I.rows), secs,
           (double)atomic_load(&I.rows) / secs, pct(I.lat, n, 0.5), pct(I.lat, n, 0.99),
           atomic_load(&I.errors));
    return atomic_load(&I.errors) ? 1 : 0;
}

/* ---- queries ----------------------------------------------------------------------------- */

struct q {
    char type[64];
    char *sql;
};

static struct q *
load_queries(const char *path, size_t *n_out)
{
    size_t len;
    char *t = slurp(path, &len);
    size_t cap = 256, n = 0;
    struct q *qs = malloc(cap * sizeof *qs);
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        char *a = strchr(line, '\t');
        char *b = a ? strchr(a + 1, '\t') : NULL;
        if (!b)
            continue;
        if (n == cap)
            qs = realloc(qs, (cap *= 2) * sizeof *qs);
        snprintf(qs[n].type, sizeof qs[n].type, "%.*s", (int)(a - line), line);
        qs[n].sql = b + 1;
        n++;
    }
    *n_out = n;
    return qs;
}

static void
report(const char *what, struct q *qs, size_t n, int64_t *lat, int passes);

/* Per type: client latency, the engine's share (x-strata-engine-ns trailer of the same
 * call) and the difference, the gateway's overhead (gRPC, encoding, hand-offs). */
static void
report_overhead(struct q *qs, size_t n, int64_t *lat, int64_t *eng, int passes)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(qs[i].type, qs[j].type))
                seen = true;
        if (seen)
            continue;
        static int64_t l[4096], e[4096], o[4096];
        size_t k = 0;
        for (int p = 0; p < passes; p++)
            for (size_t j = 0; j < n && k < 4096; j++)
                if (!strcmp(qs[i].type, qs[j].type)) {
                    size_t x = (size_t)p * n + j;
                    l[k] = lat[x];
                    e[k] = eng[x];
                    o[k] = lat[x] - eng[x];
                    k++;
                }
        double lp = pct(l, k, 0.5), ep = pct(e, k, 0.5), op = pct(o, k, 0.5);
        printf("overhead type=%s n=%zu latency_p50_ms=%.3f engine_p50_ms=%.3f "
               "gateway_p50_ms=%.3f gateway_pct_of_engine=%.1f\n",
               qs[i].type, k, lp, ep, op, ep > 0 ? 100.0 * op / ep : 0.0);
    }
}

static void
report(const char *what, struct q *qs, size_t n, int64_t *lat, int passes)
{
    /* group by type, in order of first appearance */
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(qs[i].type, qs[j].type))
                seen = true;
        if (seen)
            continue;
        int64_t v[4096];
        size_t k = 0;
        for (int p = 0; p < passes; p++)
            for (size_t j = 0; j < n && k < 4096; j++)
                if (!strcmp(qs[i].type, qs[j].type))
                    v[k++] = lat[(size_t)p * n + j];
        printf("%s type=%s n=%zu p50_ms=%.3f p99_ms=%.3f\n", what, qs[i].type, k,
               pct(v, k, 0.5), pct(v, k, 0.99));
    }
}

static int
query_grpc(int port, const char *db, const char *qpath, int passes)
{
    size_t n;
    struct q *qs = load_queries(qpath, &n);
    grpc_init();
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    grpc_channel_credentials *cr = grpc_insecure_credentials_create();
    grpc_arg a = {GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = -1}};
    grpc_channel_args args = {1, &a};
    grpc_channel *ch = grpc_channel_create(target, cr, &args);
    grpc_channel_credentials_release(cr);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    char auth[400];
    snprintf(auth, sizeof auth, "Bearer %s", I.token);
    int64_t *lat = calloc((size_t)passes * n, sizeof *lat);
    int64_t *eng = calloc((size_t)passes * n, sizeof *eng);
    int errors = 0;
    uint64_t bytes = 0;
    for (int p = -1; p < passes; p++) { /* pass -1 warms up */
        for (size_t i = 0; i < n; i++) {
            char *ticket = NULL;
            size_t tl = 0;
            FILE *m = open_memstream(&ticket, &tl);
            fprintf(m, "{\"database\":\"%s\",\"sql_query\":\"", db);
            for (const char *s = qs[i].sql; *s; s++) {
                if (*s == '"' || *s == '\\')
                    fputc('\\', m);
                fputc(*s, m);
            }
            fprintf(m, "\",\"query_type\":\"sql\",\"params\":{}}");
            fclose(m);
            /* Ticket{1: bytes} */
            uint8_t hdr[16];
            size_t hl = 0;
            hdr[hl++] = 0x0a;
            for (size_t v = tl; ; v >>= 7) {
                hdr[hl++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                if (v <= 0x7f)
                    break;
            }
            grpc_slice sl = grpc_slice_malloc(hl + tl);
            memcpy(GRPC_SLICE_START_PTR(sl), hdr, hl);
            memcpy(GRPC_SLICE_START_PTR(sl) + hl, ticket, tl);
            free(ticket);
            grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&sl, 1);
            grpc_slice_unref(sl);
            int64_t t0 = now_ns();
            gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                           gpr_time_from_seconds(300, GPR_TIMESPAN));
            grpc_call *call = grpc_channel_create_call(
                ch, NULL, 0, cq,
                grpc_slice_from_static_string("/arrow.flight.protocol.FlightService/DoGet"),
                NULL, dl, NULL);
            grpc_metadata md = {grpc_slice_from_static_string("authorization"),
                                grpc_slice_from_copied_string(auth)};
            grpc_op ops[4];
            memset(ops, 0, sizeof ops);
            grpc_metadata_array im, tm;
            grpc_metadata_array_init(&im);
            grpc_metadata_array_init(&tm);
            grpc_status_code st;
            grpc_slice details;
            ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
            ops[0].data.send_initial_metadata.count = 1;
            ops[0].data.send_initial_metadata.metadata = &md;
            ops[1].op = GRPC_OP_SEND_MESSAGE;
            ops[1].data.send_message.send_message = req;
            ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
            ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
            ops[3].data.recv_initial_metadata.recv_initial_metadata = &im;
            grpc_call_start_batch(call, ops, 4, (void *)1, NULL);
            grpc_completion_queue_pluck(cq, (void *)1, dl, NULL);
            for (;;) {
                grpc_byte_buffer *bb = NULL;
                grpc_op r;
                memset(&r, 0, sizeof r);
                r.op = GRPC_OP_RECV_MESSAGE;
                r.data.recv_message.recv_message = &bb;
                grpc_call_start_batch(call, &r, 1, (void *)2, NULL);
                grpc_completion_queue_pluck(cq, (void *)2, dl, NULL);
                if (!bb)
                    break;
                bytes += grpc_byte_buffer_length(bb);
                grpc_byte_buffer_destroy(bb);
            }
            grpc_op s;
            memset(&s, 0, sizeof s);
            s.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
            s.data.recv_status_on_client.trailing_metadata = &tm;
            s.data.recv_status_on_client.status = &st;
            s.data.recv_status_on_client.status_details = &details;
            grpc_call_start_batch(call, &s, 1, (void *)3, NULL);
            grpc_completion_queue_pluck(cq, (void *)3, dl, NULL);
            int64_t dt = now_ns() - t0;
            if (st != GRPC_STATUS_OK) {
                if (errors++ < 3) {
                    char *d = grpc_slice_to_c_string(details);
                    fprintf(stderr, "query %s: status %d: %s\n", qs[i].type, st, d);
                    gpr_free(d);
                }
            }
            if (p >= 0) {
                lat[(size_t)p * n + i] = dt;
                for (size_t k = 0; k < tm.count; k++)
                    if (!grpc_slice_str_cmp(tm.metadata[k].key, "x-strata-engine-ns")) {
                        char v[32];
                        size_t vl = GRPC_SLICE_LENGTH(tm.metadata[k].value);
                        snprintf(v, sizeof v, "%.*s", (int)vl,
                                 (const char *)GRPC_SLICE_START_PTR(tm.metadata[k].value));
                        eng[(size_t)p * n + i] = atoll(v);
                    }
            }
            grpc_slice_unref(details);
            grpc_slice_unref(md.value);
            grpc_metadata_array_destroy(&im);
            grpc_metadata_array_destroy(&tm);
            grpc_byte_buffer_destroy(req);
            grpc_call_unref(call);
        }
    }
    report("flight", qs, n, lat, passes);
    report_overhead(qs, n, lat, eng, passes);
    printf("flight bytes_received=%llu errors=%d\n", (unsigned long long)bytes, errors);
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_shutdown();
    return errors ? 1 : 0;
}

#ifdef GW_BENCH_ENGINE
static int
query_engine(const char *dir, const char *db, const char *qpath, int passes)
{
    size_t n;
    struct q *qs = load_queries(qpath, &n);
    struct st_error err;
    struct eng_options o = {.data_dir = dir};
    struct eng *e = eng_open(&o, &err);
    if (!e) {
        fprintf(stderr, "eng_open: %s\n", err.msg);
        return 2;
    }
    int64_t *lat = calloc((size_t)passes * n, sizeof *lat);
    for (int p = -1; p < passes; p++)
        for (size_t i = 0; i < n; i++) {
            struct eng_query_opts qo = {0};
            struct eng_cursor *c = NULL;
            int64_t t0 = now_ns();
            if (eng_query(e, db, qs[i].sql, strlen(qs[i].sql), &qo, &c, &err) == ST_OK) {
                const struct st_batch *b;
                while (eng_cursor_next(c, &b, &err) == ST_OK && b)
                    ;
                eng_cursor_free(c);
            }
            if (p >= 0)
                lat[(size_t)p * n + i] = now_ns() - t0;
        }
    report("engine", qs, n, lat, passes);
    eng_close(e);
    return 0;
}
#endif

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gw_bench ingest|query|engine [options] (see the file header)\n");
        return 2;
    }
    const char *mode = argv[1], *lp = NULL, *queries = NULL, *token_file = NULL, *dir = NULL;
    int writers = 1, passes = 3;
    size_t batch = 10000;
    I.db = "bench";
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port"))
            I.port = atoi(v);
        else if (!strcmp(k, "--token-file"))
            token_file = v;
        else if (!strcmp(k, "--lp"))
            lp = v;
        else if (!strcmp(k, "--writers"))
            writers = atoi(v);
        else if (!strcmp(k, "--batch"))
            batch = (size_t)atol(v);
        else if (!strcmp(k, "--db"))
            I.db = v;
        else if (!strcmp(k, "--queries"))
            queries = v;
        else if (!strcmp(k, "--passes"))
            passes = atoi(v);
        else if (!strcmp(k, "--data-dir"))
            dir = v;
        else if (!strcmp(k, "--gzip"))
            I.gzip = atoi(v) != 0;
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (token_file) {
        size_t l;
        char *t = slurp(token_file, &l);
        snprintf(I.token, sizeof I.token, "%.*s", (int)strcspn(t, "\r\n"), t);
        free(t);
    }
    if (writers < 1 || writers > 64 || passes < 1) {
        fprintf(stderr, "bad --writers or --passes\n");
        return 2;
    }
    if (!strcmp(mode, "ingest") && lp)
        return ingest(lp, writers, batch);
    if (!strcmp(mode, "query") && queries)
        return query_grpc(I.port, I.db, queries, passes);
#ifdef GW_BENCH_ENGINE
    if (!strcmp(mode, "engine") && queries && dir)
        return query_engine(dir, I.db, queries, passes);
#else
    (void)dir;
#endif
    fprintf(stderr, "missing or unknown arguments for '%s'\n", mode);
    return 2;
}
