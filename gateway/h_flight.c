/*
 * h_flight.c: the Arrow Flight RPCs of stratad (arrow.flight.protocol.FlightService).
 *
 *   DoGet          a ticket (ticket.c: InfluxDB 3 JSON, or our Flight SQL ticket) ->
 *                  FlightData: the Schema message (app_metadata present and empty, as
 *                  InfluxDB sends), then RecordBatch messages, each at most
 *                  --max-flight-data-size, never an empty data_header. Engine batches
 *                  are pulled on the pool while fewer than GW_READAHEAD_BYTES (1 MiB) wait
 *                  to be sent and one SEND is in flight, so a small result needs one pool
 *                  round trip, a large one a task per ~0.5 MiB or more, and a client that stops
 *                  reading stops the query. While the engine is slow, a 0-row batch goes
 *                  out every --keepalive-interval. Client cancellation and deadlines stop
 *                  the query through eng_query_opts.cancel / deadline_mono_ns.
 *   GetFlightInfo  Flight SQL command -> FlightInfo{schema, echoed descriptor, one
 *                  endpoint without locations whose ticket carries the database and
 *                  the command}; PATH descriptors are UNIMPLEMENTED.
 *   GetSchema      the same schema as a SchemaResult.
 *   Handshake      echoes protocol_version and payload; answers with the header
 *                  `authorization: Bearer <token>` (JDBC); needs no database.
 *   ListActions    CreatePreparedStatement, ClosePreparedStatement.
 *   DoAction       CreatePreparedStatement (stateless handle with the query),
 *                  ClosePreparedStatement (nothing to free).
 *   DoPut          parameters for a prepared statement: returns a new handle with the
 *                  parameters inside (DoPutPreparedStatementResult).
 * ListFlights, PollFlightInfo and DoExchange are not registered: UNIMPLEMENTED.
 *
 * Access: each request is checked (auth.c) with the privilege methods.c gives its Flight
 * SQL command, on the database the client named; the query then runs on that database's
 * storage name (the tenant's, gw_engine_name), and its end is audited with the
 * normalised SQL (eng_sql_normalize: no literals), rows, bytes and duration.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flight.pb-c.h"
#include "flight_sql.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "gw_call.h"
#include "gw_flight.h"
#include "strata/arrow_ipc.h"
#include "strata/buf.h"
#include "strata/clock.h"
#include "strata/log.h"

/* ---- shared -------------------------------------------------------------------------------- */

struct fstate {
    struct gw_query q;
    struct gw_result *res;
    struct arrow_encoder *enc;
    struct eng_query_opts opts;
    bool opened, counted;
    int64_t engine_ns; /* time spent inside the engine for this query */
    /* unary answers computed on the pool */
    grpc_slice reply;
    bool has_reply;
    enum st_code rc;
    struct st_error err;
    /* DoPut */
    struct arrow_decoder *dec;
    struct st_buf ipc;
    bool have_desc;
    /* access and audit */
    char user_db[sizeof ((struct gw_query *)0)->db]; /* the client's name of the database */
    bool admitted; /* authorized: the end of the request is audited */
    uint64_t rows, bytes;
    int64_t start_ns;
};

#define AUDIT_SQL_MAX 4096

/* One audit event for a Flight request that was admitted to the engine. */
static void
audit_query(struct gw_call *c, struct fstate *f)
{
    static const char *const kinds[] = {
        [GW_Q_SQL] = NULL,
        [GW_Q_CATALOGS] = "CommandGetCatalogs",
        [GW_Q_DB_SCHEMAS] = "CommandGetDbSchemas",
        [GW_Q_TABLES] = "CommandGetTables",
        [GW_Q_TABLE_TYPES] = "CommandGetTableTypes",
        [GW_Q_SQL_INFO] = "CommandGetSqlInfo",
    };
    char *sql = NULL;
    if (f->q.kind == GW_Q_SQL && f->q.sql) {
        sql = malloc(AUDIT_SQL_MAX);
        if (sql)
            eng_sql_normalize(f->q.sql, f->q.sql_len, sql, AUDIT_SQL_MAX);
    } else if ((size_t)f->q.kind < sizeof kinds / sizeof kinds[0]) {
        sql = kinds[f->q.kind] ? strdup(kinds[f->q.kind]) : NULL;
    }
    bool ok = c->status == 0;
    struct rbac_audit_event ev = {.category = "query", .method = gw_call_method(c),
                                  .outcome = ok ? RBAC_AUDIT_ALLOW : RBAC_AUDIT_ERROR,
                                  .reason = ok ? "ok" : gw_grpc_code_name(c->status),
                                  .database = f->user_db[0] ? f->user_db : NULL, .sql = sql,
                                  .rows = (int64_t)f->rows, .bytes = (int64_t)f->bytes,
                                  .lines = -1, .rejected = -1,
                                  .duration_ns = st_mono_ns() - f->start_ns};
    gw_audit_from(&c->who, &ev);
    gw_audit(&ev);
    free(sql);
}

void
gw_h_flight_free(struct gw_call *c)
{
    struct fstate *f = c->hs;
    if (f->admitted)
        audit_query(c, f);
    gw_result_free(f->res);
    arrow_encoder_free(f->enc);
    arrow_decoder_free(f->dec);
    st_buf_cleanup(&f->ipc);
    gw_query_cleanup(&f->q);
    if (f->has_reply)
        grpc_slice_unref(f->reply);
    if (f->counted)
        atomic_fetch_sub(&gw_active_queries, 1);
    free(f);
    c->hs = NULL;
}

static struct fstate *
fstate_new(struct gw_call *c)
{
    struct fstate *f = calloc(1, sizeof *f);
    if (!f) {
        gw_call_finish(c, ST_ENOMEM, "out of memory");
        return NULL;
    }
    gw_query_init(&f->q);
    st_buf_init(&f->ipc, gw_srv->cfg.max_grpc_message_bytes);
    f->start_ns = st_mono_ns();
    c->hs = f;
    return f;
}

/* A malloc'd buffer as a slice without copying. */
static grpc_slice
take_slice(struct st_buf *b)
{
    size_t len;
    uint8_t *p = st_buf_take(b, &len);
    if (!p)
        return grpc_empty_slice();
    return grpc_slice_new(p, len, free);
}

/*
 * Message buffers: a record batch's FlightData is one malloc'd block that gRPC releases
 * once it has written it. A large result is a stream of such blocks of about the same
 * size (hundreds of KiB); allocating each afresh made the kernel fault in and clear
 * every page and unmap it again (about 5 % of stratad's time on high-cpu-all). Released
 * blocks are kept here for the next messages, process-wide (gRPC may release a block
 * after its call is gone), bounded in count and bytes.
 */
#define MSGBUF_N 16
#define MSGBUF_BYTES ((size_t)8 << 20)

static struct {
    pthread_mutex_t mu;
    struct {
        void *p;
        size_t cap;
    } b[MSGBUF_N];
    unsigned n;
    size_t bytes;
    bool closed;
} MB = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The encoder's body allocator: the smallest kept block that is large enough. */
static void *
msgbuf_get(void *ctx, size_t need, size_t *cap)
{
    (void)ctx;
    void *p = NULL;
    pthread_mutex_lock(&MB.mu);
    unsigned best = MSGBUF_N;
    for (unsigned i = 0; i < MB.n; i++)
        if (MB.b[i].cap >= need && (best == MSGBUF_N || MB.b[i].cap < MB.b[best].cap))
            best = i;
    if (best < MSGBUF_N) {
        p = MB.b[best].p;
        *cap = MB.b[best].cap;
        MB.bytes -= MB.b[best].cap;
        MB.b[best] = MB.b[--MB.n];
    }
    pthread_mutex_unlock(&MB.mu);
    return p;
}

/* gRPC is done with a message: keep its block, or free it. */
static void
msgbuf_put(void *p)
{
    size_t cap = malloc_usable_size(p);
    pthread_mutex_lock(&MB.mu);
    if (!MB.closed && MB.n < MSGBUF_N && MB.bytes + cap <= MSGBUF_BYTES) {
        MB.b[MB.n].p = p;
        MB.b[MB.n].cap = cap;
        MB.n++;
        MB.bytes += cap;
        p = NULL;
    }
    pthread_mutex_unlock(&MB.mu);
    free(p);
}

void
gw_flight_cleanup(void)
{
    pthread_mutex_lock(&MB.mu);
    for (unsigned i = 0; i < MB.n; i++)
        free(MB.b[i].p);
    MB.n = 0;
    MB.bytes = 0;
    MB.closed = true; /* blocks gRPC releases from now on are freed */
    pthread_mutex_unlock(&MB.mu);
}

/*
 * A record batch as a FlightData slice without copying its body: the encoder framed it in
 * place (arrow_flightdata_take) and gRPC hands the buffer back when it is done with it.
 */
static enum st_code
batch_slice(struct arrow_encoder *enc, const struct arrow_msg *m, grpc_slice *out,
            struct st_error *err)
{
    uint8_t *base;
    size_t off, len;
    ST_TRY(arrow_flightdata_take(enc, m, &base, &off, &len, err));
    *out = grpc_slice_new_with_user_data(base + off, len, msgbuf_put, base);
    return ST_OK;
}

static enum st_code
flightdata(const struct arrow_msg *m, bool app_meta, grpc_slice *out, struct st_error *err)
{
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    enum st_code rc = arrow_flightdata_append(&b, m, app_meta ? (const uint8_t *)"" : NULL, 0, err);
    if (rc != ST_OK) {
        st_buf_cleanup(&b);
        return rc;
    }
    *out = take_slice(&b);
    return ST_OK;
}

/* The database a Flight SQL request names: the `database` header (or its aliases), which
 * arrival copied into c->db. */
static const char *
header_db(struct gw_call *c)
{
    return c->db[0] ? c->db : NULL;
}

/* ODBC's x-influxdata-base-table-type header; -1 when invalid. */
static int
base_table_type(struct gw_call *c, struct gw_query *q)
{
    size_t n;
    const char *v = gw_call_md(c, "x-influxdata-base-table-type", &n);
    if (!v)
        return 0;
    if (n == 5 && !strncasecmp(v, "TABLE", 5))
        q->plain_table_type = true;
    else if (!(n == 10 && !strncasecmp(v, "BASE TABLE", 10)))
        return -1;
    return 0;
}

/* The privilege methods.c gives the decoded command (auth.c checks it). */
static enum rbac_priv
priv_of(const struct gw_query *q)
{
    return gw_flightsql_required_priv((int)q->kind, q->db[0] != '\0');
}

static void
fill_opts(struct gw_call *c, struct fstate *f)
{
    f->opts.params = f->q.params;
    f->opts.n_params = f->q.n_params;
    f->opts.deadline_mono_ns = c->deadline_mono_ns;
    f->opts.cancel = &c->cancel;
    f->opts.max_result_bytes = gw_srv->cfg.max_result_bytes;
    f->opts.read_only = true;
}

/* Authorize (the single check), move the query to its database's storage name (the
 * caller's tenant's), and take a query slot. 0 = go on. */
static int
admit(struct gw_call *c, struct fstate *f)
{
    struct st_error err;
    st_error_clear(&err);
    enum st_code rc = gw_call_authorize(c, priv_of(&f->q), f->q.db[0] ? f->q.db : NULL, &err);
    if (rc != ST_OK) {
        gw_call_finish(c, rc, err.msg);
        return -1;
    }
    snprintf(f->user_db, sizeof f->user_db, "%s", f->q.db);
    if (f->q.db[0]) {
        char en[GW_ENGINE_NAME_MAX + 1];
        if ((rc = gw_db_engine_name(&c->who, f->q.db, en, &err)) != ST_OK) {
            gw_call_finish(c, rc, err.msg);
            return -1;
        }
        snprintf(f->q.db, sizeof f->q.db, "%s", en);
    }
    f->admitted = true;
    if (atomic_fetch_add(&gw_active_queries, 1) >= (int)gw_srv->cfg.max_concurrent_queries) {
        atomic_fetch_sub(&gw_active_queries, 1);
        gw_call_finish(c, ST_EAGAIN, "too many concurrent queries, try again later");
        return -1;
    }
    f->counted = true;
    fill_opts(c, f);
    return 0;
}

/* ---- DoGet --------------------------------------------------------------------------------- */

static void
stream_fail(struct gw_call *c, enum st_code rc, const struct st_error *err)
{
    c->out_eof = true;
    c->out_code = rc;
    if (&c->out_err != err)
        c->out_err = *err;
}

/* A 0-row batch of the schema, handed to the call as its keep-alive message. */
static void
make_keepalive(struct gw_call *c, struct fstate *f)
{
    struct st_error err;
    struct arrow_msg m;
    bool got = false;
    grpc_slice ka;
    if (arrow_encode_empty(f->enc, &err) == ST_OK &&
        arrow_encode_next(f->enc, &m, &got, &err) == ST_OK && got &&
        flightdata(&m, false, &ka, &err) == ST_OK) {
        gw_call_arm_keepalive(c, ka);
        while (arrow_encode_next(f->enc, &m, &got, &err) == ST_OK && got)
            ;
    }
}

/*
 * --test-doget-batch-delay (tests only, 0 = off): wait before each batch, in steps of at
 * most 5 ms so that a cancelled call or a passed deadline ends the wait at once. It
 * makes any query slow on demand, to test keep-alives, deadlines and cancellation.
 */
static void
test_delay(struct gw_call *c)
{
    int64_t d = gw_srv->cfg.test_doget_delay_ns;
    if (d <= 0)
        return;
    int64_t end = st_mono_ns() + d;
    for (;;) {
        int64_t now = st_mono_ns();
        if (now >= end || atomic_load(&c->cancel) ||
            (c->deadline_mono_ns && now >= c->deadline_mono_ns))
            return;
        int64_t step = end - now < 5 * ST_NS_PER_MS ? end - now : 5 * ST_NS_PER_MS;
        struct timespec ts = {0, (long)step};
        nanosleep(&ts, NULL);
    }
}

/*
 * Pool: open the query (first task), then pull engine batches and hand their messages to
 * the worker (gw_call_push) until the result ends or GW_READAHEAD_BYTES wait to be sent.
 * The worker sends while this runs and asks for the next task once fewer than
 * GW_READAHEAD_LOW bytes are left, so a large result costs one pool task per ~0.5 MiB or more,
 * not one per batch, and the query stops when the client stops reading.
 */
static void
produce(struct gw_call *c)
{
    struct fstate *f = c->hs;
    struct st_error *err = &c->out_err;
    st_error_clear(err);
    grpc_slice s;
    if (!f->opened) {
        f->opened = true;
        int64_t t0 = st_mono_ns();
        enum st_code rc = gw_result_open(&f->q, &f->opts, &f->res, err);
        f->engine_ns += st_mono_ns() - t0;
        if (rc != ST_OK) {
            stream_fail(c, rc, err);
            return;
        }
        struct arrow_encoder_opts eo = {.target_bytes = gw_srv->cfg.max_flight_data_bytes,
                                        .body_alloc = msgbuf_get};
        f->enc = gw_result_encoder(f->res, &eo, err);
        struct arrow_msg m;
        if (!f->enc || (rc = arrow_encode_schema(f->enc, &m, err)) != ST_OK ||
            (rc = flightdata(&m, true, &s, err)) != ST_OK) {
            stream_fail(c, f->enc ? rc : ST_EINTERNAL, err);
            return;
        }
        /* The worker arms the keep-alive when it takes the schema, which goes out at once
         * while the first batches are computed: a slow query shows its schema, then
         * 0-row batches. */
        make_keepalive(c, f);
        gw_call_push(c, s);
    }
    for (;;) {
        bool more = false;
        uint32_t n_rows = 0;
        test_delay(c);
        int64_t t0 = st_mono_ns();
        enum st_code rc = gw_result_next(f->res, f->enc, &more, &n_rows, err);
        f->engine_ns += st_mono_ns() - t0;
        /* Report the engine's share in the trailers (x-strata-engine-ns), as InfluxDB
         * reports its execution durations there: clients and benchmarks can tell it from
         * the gateway's. */
        c->extra_trailer_key = "x-strata-engine-ns";
        snprintf(c->extra_trailer_val, sizeof c->extra_trailer_val, "%lld",
                 (long long)f->engine_ns);
        if (rc != ST_OK) {
            if (rc == ST_ECANCELLED && atomic_load(&c->cancel))
                st_error_set(err, ST_ECANCELLED, "the client cancelled the query");
            stream_fail(c, rc, err);
            return;
        }
        if (!more) {
            c->out_eof = true;
            c->out_code = ST_OK;
            return;
        }
        uint64_t bytes = 0;
        for (;;) {
            struct arrow_msg m;
            bool got = false;
            if ((rc = arrow_encode_next(f->enc, &m, &got, err)) != ST_OK) {
                stream_fail(c, rc, err);
                return;
            }
            if (!got)
                break;
            if ((rc = batch_slice(f->enc, &m, &s, err)) != ST_OK) {
                stream_fail(c, rc, err);
                return;
            }
            bytes += GRPC_SLICE_LENGTH(s);
            gw_call_push(c, s);
        }
        gw_metrics_add_rows_sent(n_rows, bytes);
        f->rows += n_rows;
        f->bytes += bytes;
        if (gw_call_queued_bytes(c) >= GW_READAHEAD_BYTES || atomic_load(&c->cancel))
            return;
    }
}

static void
produced(struct gw_call *c)
{
    gw_call_stream_kick(c);
}

static void
need(struct gw_call *c)
{
    if (gw_call_offload(c, produce, produced) != ST_OK) {
        c->out_eof = true;
        c->out_code = st_error_set(&c->out_err, ST_EAGAIN, "the server is overloaded");
        gw_call_stream_kick(c);
    }
}

void
gw_h_do_get(struct gw_call *c)
{
    struct fstate *f = fstate_new(c);
    if (!f)
        return;
    struct st_error err;
    st_error_clear(&err);
    Arrow__Flight__Protocol__Ticket *t =
        arrow__flight__protocol__ticket__unpack(NULL, c->req_len, c->req);
    if (!t) {
        gw_call_finish(c, ST_EINVAL, "Invalid ticket. Error: Invalid ticket");
        return;
    }
    enum st_code rc = gw_ticket_decode(t->ticket.data, t->ticket.len, header_db(c), &f->q, &err);
    arrow__flight__protocol__ticket__free_unpacked(t, NULL);
    if (rc != ST_OK) {
        gw_call_finish(c, rc, err.msg);
        return;
    }
    if (base_table_type(c, &f->q) != 0) {
        gw_call_finish(c, ST_EINVAL, "invalid x-influxdata-base-table-type header");
        return;
    }
    if (admit(c, f) != 0)
        return;
    gw_call_set_need(c, need);
    c->on_nudge = produced;
    gw_call_stream_kick(c);
}

/* ---- GetFlightInfo / GetSchema ------------------------------------------------------------- */

static void
plan_work(struct gw_call *c)
{
    struct fstate *f = c->hs;
    f->rc = gw_result_open(&f->q, &f->opts, &f->res, &f->err);
}

static uint8_t *
plan_schema(struct gw_call *c, size_t *len)
{
    struct fstate *f = c->hs;
    if (f->rc != ST_OK) {
        gw_call_fail(c, f->rc, &f->err);
        return NULL;
    }
    uint8_t *sch = gw_result_schema_ipc(f->res, len, &f->err);
    gw_result_free(f->res);
    f->res = NULL;
    if (!sch)
        gw_call_finish(c, ST_EINTERNAL, "cannot encode the result schema");
    return sch;
}

static void
info_done(struct gw_call *c)
{
    struct fstate *f = c->hs;
    size_t sl = 0, tl = 0;
    uint8_t *sch = plan_schema(c, &sl);
    if (!sch)
        return;
    /* the ticket names the database as the client does: DoGet checks and maps it again */
    uint8_t *tk = gw_ticket_encode(f->user_db, f->q.cmd, f->q.cmd_len, &tl);
    Arrow__Flight__Protocol__FlightDescriptor d = ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__INIT;
    d.type = ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD;
    d.cmd.data = f->q.cmd;
    d.cmd.len = f->q.cmd_len;
    Arrow__Flight__Protocol__Ticket t = ARROW__FLIGHT__PROTOCOL__TICKET__INIT;
    t.ticket.data = tk;
    t.ticket.len = tl;
    Arrow__Flight__Protocol__FlightEndpoint ep = ARROW__FLIGHT__PROTOCOL__FLIGHT_ENDPOINT__INIT;
    ep.ticket = &t;
    Arrow__Flight__Protocol__FlightEndpoint *eps[1] = {&ep};
    Arrow__Flight__Protocol__FlightInfo fi = ARROW__FLIGHT__PROTOCOL__FLIGHT_INFO__INIT;
    fi.schema.data = sch;
    fi.schema.len = sl;
    fi.flight_descriptor = &d;
    fi.n_endpoint = 1;
    fi.endpoint = eps;
    fi.total_records = -1;
    fi.total_bytes = -1;
    gw_call_reply(c, gw_pack(&fi.base));
    free(sch);
    free(tk);
}

static void
schema_done(struct gw_call *c)
{
    size_t sl = 0;
    uint8_t *sch = plan_schema(c, &sl);
    if (!sch)
        return;
    Arrow__Flight__Protocol__SchemaResult r = ARROW__FLIGHT__PROTOCOL__SCHEMA_RESULT__INIT;
    r.schema.data = sch;
    r.schema.len = sl;
    gw_call_reply(c, gw_pack(&r.base));
    free(sch);
}

static void
descriptor_call(struct gw_call *c, void (*done)(struct gw_call *))
{
    struct fstate *f = fstate_new(c);
    if (!f)
        return;
    struct st_error err;
    st_error_clear(&err);
    Arrow__Flight__Protocol__FlightDescriptor *d =
        arrow__flight__protocol__flight_descriptor__unpack(NULL, c->req_len, c->req);
    if (!d) {
        gw_call_finish(c, ST_EINVAL, "malformed FlightDescriptor");
        return;
    }
    enum st_code rc;
    if (d->type == ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__PATH)
        rc = st_error_set(&err, ST_EUNSUPPORTED, "Unsupported message type: FlightInfo with Path");
    else if (d->type != ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD)
        rc = st_error_set(&err, ST_EINVAL, "the FlightDescriptor has no command");
    else
        rc = gw_flightsql_decode(d->cmd.data, d->cmd.len, header_db(c), &f->q, &err);
    arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
    if (rc == ST_OK && base_table_type(c, &f->q) != 0)
        rc = st_error_set(&err, ST_EINVAL, "invalid x-influxdata-base-table-type header");
    if (rc != ST_OK) {
        gw_call_finish(c, rc, err.msg);
        return;
    }
    if (admit(c, f) != 0)
        return;
    if (gw_call_offload(c, plan_work, done) != ST_OK)
        gw_call_finish(c, ST_EAGAIN, "the server is overloaded, try again later");
}

void
gw_h_get_flight_info(struct gw_call *c)
{
    descriptor_call(c, info_done);
}

void
gw_h_get_schema(struct gw_call *c)
{
    descriptor_call(c, schema_done);
}

/* ---- Handshake ----------------------------------------------------------------------------- */

void
gw_h_handshake(struct gw_call *c)
{
    gw_call_recv(c);
}

void
gw_h_handshake_recv(struct gw_call *c, grpc_byte_buffer *bb)
{
    if (!bb) {
        gw_call_finish(c, ST_OK, NULL);
        return;
    }
    grpc_slice s = gw_bb_slice(bb);
    grpc_byte_buffer_destroy(bb);
    Arrow__Flight__Protocol__HandshakeRequest *q = arrow__flight__protocol__handshake_request__unpack(
        NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    if (!q) {
        gw_call_finish(c, ST_EINVAL, "malformed HandshakeRequest");
        return;
    }
    Arrow__Flight__Protocol__HandshakeResponse r = ARROW__FLIGHT__PROTOCOL__HANDSHAKE_RESPONSE__INIT;
    r.protocol_version = q->protocol_version;
    r.payload = q->payload;
    /* Echo the client's own bearer credential (what JDBC expects): the call was
     * authenticated with exactly this one value. */
    size_t alen;
    const char *a = gw_call_md(c, "authorization", &alen);
    if (a && alen > 7 && alen < sizeof c->init_md_val && !memcmp(a, "Bearer ", 7)) {
        memcpy(c->init_md_val, a, alen);
        c->init_md[0].key = grpc_slice_from_static_string("authorization");
        c->init_md[0].value = grpc_slice_from_static_buffer(c->init_md_val, alen);
        c->n_init_md = 1;
    }
    grpc_slice out = gw_pack(&r.base);
    arrow__flight__protocol__handshake_request__free_unpacked(q, NULL);
    gw_call_reply(c, out);
}

/* ---- ListActions / DoAction ---------------------------------------------------------------- */

static const struct {
    const char *type, *desc;
} actions[] = {
    {"CreatePreparedStatement", "Flight SQL: create a prepared statement (stateless handle)"},
    {"ClosePreparedStatement", "Flight SQL: close a prepared statement (nothing to free)"},
};

void
gw_h_list_actions(struct gw_call *c)
{
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        Arrow__Flight__Protocol__ActionType t = ARROW__FLIGHT__PROTOCOL__ACTION_TYPE__INIT;
        t.type = (char *)actions[i].type;
        t.description = (char *)actions[i].desc;
        gw_call_queue(c, gw_pack(&t.base));
    }
    c->out_eof = true;
    c->out_code = ST_OK;
    gw_call_stream_kick(c);
}

/* Bind every $name of the text to NULL, so the statement can be planned for its schema. */
static void
null_params(struct gw_query *q)
{
    const char *s = q->sql;
    struct st_error err;
    for (size_t i = 0; i < q->sql_len; i++) {
        if (s[i] != '$')
            continue;
        size_t j = i + 1;
        while (j < q->sql_len && (s[j] == '_' || (s[j] >= 'a' && s[j] <= 'z') ||
                                  (s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9')))
            j++;
        if (j > i + 1) {
            struct eng_param p = {.type = ST_TYPE_NULL};
            gw_query_add_param(q, s + i + 1, j - i - 1, &p, &err); /* duplicates refused: fine */
        }
        i = j - 1;
    }
}

static void
create_done(struct gw_call *c)
{
    struct fstate *f = c->hs;
    size_t sl = 0, hl = 0, pl = 0;
    uint8_t *sch = plan_schema(c, &sl);
    if (!sch)
        return;
    /* The parameter schema: one nullable Utf8 field per $name, in order of appearance. */
    struct st_field pf[GW_MAX_PARAMS];
    for (uint32_t i = 0; i < f->q.n_params; i++)
        pf[i] = (struct st_field){f->q.params[i].name, ST_TYPE_STRING, ST_ROLE_NONE, true};
    struct st_schema ps = {f->q.n_params, pf};
    struct st_error err;
    uint8_t *psch = gw_schema_ipc(&ps, &pl, &err);
    uint8_t *h = gw_handle_encode(f->q.sql, f->q.sql_len, NULL, 0, &hl);
    Arrow__Flight__Protocol__Sql__ActionCreatePreparedStatementResult r =
        ARROW__FLIGHT__PROTOCOL__SQL__ACTION_CREATE_PREPARED_STATEMENT_RESULT__INIT;
    r.prepared_statement_handle.data = h;
    r.prepared_statement_handle.len = hl;
    r.dataset_schema.data = sch;
    r.dataset_schema.len = sl;
    r.parameter_schema.data = psch;
    r.parameter_schema.len = psch ? pl : 0;
    size_t rl = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *rb = malloc(rl ? rl : 1);
    if (rb)
        protobuf_c_message_pack(&r.base, rb);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "type.googleapis.com/arrow.flight.protocol.sql.ActionCreatePreparedStatementResult";
    any.value.data = rb;
    any.value.len = rl;
    size_t al = protobuf_c_message_get_packed_size(&any.base);
    uint8_t *ab = malloc(al ? al : 1);
    if (ab)
        protobuf_c_message_pack(&any.base, ab);
    Arrow__Flight__Protocol__Result res = ARROW__FLIGHT__PROTOCOL__RESULT__INIT;
    res.body.data = ab;
    res.body.len = al;
    if (rb && ab) {
        gw_call_queue(c, gw_pack(&res.base));
        c->out_eof = true;
        c->out_code = ST_OK;
        gw_call_stream_kick(c);
    } else
        gw_call_finish(c, ST_ENOMEM, "out of memory");
    free(sch);
    free(psch);
    free(h);
    free(rb);
    free(ab);
}

void
gw_h_do_action(struct gw_call *c)
{
    struct fstate *f = fstate_new(c);
    if (!f)
        return;
    struct st_error err;
    st_error_clear(&err);
    Arrow__Flight__Protocol__Action *a =
        arrow__flight__protocol__action__unpack(NULL, c->req_len, c->req);
    if (!a || !a->type) {
        if (a)
            arrow__flight__protocol__action__free_unpacked(a, NULL);
        gw_call_finish(c, ST_EINVAL, "malformed Action");
        return;
    }
    enum st_code rc = ST_OK;
    bool create = false;
    Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, a->body.len, a->body.data);
    if (!strcmp(a->type, "CreatePreparedStatement")) {
        Arrow__Flight__Protocol__Sql__ActionCreatePreparedStatementRequest *q =
            any ? arrow__flight__protocol__sql__action_create_prepared_statement_request__unpack(
                      NULL, any->value.len, any->value.data)
                : NULL;
        if (!q || !q->query)
            rc = st_error_set(&err, ST_EINVAL, "malformed ActionCreatePreparedStatementRequest");
        else if (!header_db(c))
            rc = st_error_set(&err, ST_EINVAL, "no 'database' header in request");
        else if (strlen(q->query) > GW_MAX_SQL_BYTES || !(f->q.sql = strdup(q->query)))
            rc = st_error_set(&err, ST_ELIMIT, "the query text is too long");
        else {
            f->q.sql_len = strlen(f->q.sql);
            f->q.kind = GW_Q_SQL;
            snprintf(f->q.db, sizeof f->q.db, "%s", header_db(c));
            null_params(&f->q);
            create = true;
        }
        if (q)
            arrow__flight__protocol__sql__action_create_prepared_statement_request__free_unpacked(
                q, NULL);
    } else if (!strcmp(a->type, "ClosePreparedStatement")) {
        /* Handles carry everything: nothing to release. */
    } else
        rc = st_error_set(&err, ST_EINVAL, "unknown action '%.64s'", a->type);
    if (any)
        google__protobuf__any__free_unpacked(any, NULL);
    arrow__flight__protocol__action__free_unpacked(a, NULL);
    if (rc != ST_OK) {
        gw_call_finish(c, rc, err.msg);
        return;
    }
    if (!create) {
        gw_call_finish(c, ST_OK, NULL);
        return;
    }
    if (admit(c, f) != 0)
        return;
    if (gw_call_offload(c, plan_work, create_done) != ST_OK)
        gw_call_finish(c, ST_EAGAIN, "the server is overloaded, try again later");
}

/* ---- DoPut: parameters for a prepared statement -------------------------------------------- */

void
gw_h_do_put(struct gw_call *c)
{
    if (!fstate_new(c))
        return;
    gw_call_recv(c);
}

static void
put_finish(struct gw_call *c)
{
    struct fstate *f = c->hs;
    struct st_error err;
    st_error_clear(&err);
    if (!f->have_desc) {
        gw_call_finish(c, ST_EINVAL, "DoPut without a FlightDescriptor");
        return;
    }
    size_t hl = 0;
    uint8_t *h = gw_handle_encode(f->q.sql, f->q.sql_len, f->ipc.data, f->ipc.len, &hl);
    Arrow__Flight__Protocol__Sql__DoPutPreparedStatementResult r =
        ARROW__FLIGHT__PROTOCOL__SQL__DO_PUT_PREPARED_STATEMENT_RESULT__INIT;
    r.has_prepared_statement_handle_case =
        ARROW__FLIGHT__PROTOCOL__SQL__DO_PUT_PREPARED_STATEMENT_RESULT__HAS_PREPARED_STATEMENT_HANDLE_PREPARED_STATEMENT_HANDLE;
    r.prepared_statement_handle.data = h;
    r.prepared_statement_handle.len = hl;
    size_t rl = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *rb = malloc(rl ? rl : 1);
    if (!h || !rb) {
        free(h);
        free(rb);
        gw_call_finish(c, ST_ENOMEM, "out of memory");
        return;
    }
    protobuf_c_message_pack(&r.base, rb);
    Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
    pr.app_metadata.data = rb;
    pr.app_metadata.len = rl;
    gw_call_reply(c, gw_pack(&pr.base));
    free(h);
    free(rb);
}

void
gw_h_do_put_recv(struct gw_call *c, grpc_byte_buffer *bb)
{
    if (gw_update_recv(c, bb)) /* CommandStatementUpdate: h_update.c */
        return;
    struct fstate *f = c->hs;
    struct st_error err;
    st_error_clear(&err);
    if (!bb) {
        put_finish(c);
        return;
    }
    grpc_slice s = gw_bb_slice(bb);
    grpc_byte_buffer_destroy(bb);
    Arrow__Flight__Protocol__FlightData *d = arrow__flight__protocol__flight_data__unpack(
        NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    if (!d) {
        gw_call_finish(c, ST_EINVAL, "malformed FlightData");
        return;
    }
    enum st_code rc = ST_OK;
    if (!f->have_desc) {
        Arrow__Flight__Protocol__FlightDescriptor *fd = d->flight_descriptor;
        if (!fd || fd->type != ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD)
            rc = st_error_set(&err, ST_EINVAL, "the first FlightData needs a command descriptor");
        else if ((rc = gw_flightsql_decode(fd->cmd.data, fd->cmd.len, header_db(c), &f->q, &err)) ==
                 ST_OK) {
            static const char pq[] =
                "type.googleapis.com/arrow.flight.protocol.sql.CommandPreparedStatementQuery";
            if (!f->q.cmd || f->q.cmd_len < sizeof pq || !memmem(f->q.cmd, f->q.cmd_len, pq, sizeof pq - 1))
                rc = st_error_set(&err, ST_EUNSUPPORTED,
                                  "DoPut supports only CommandPreparedStatementQuery (this "
                                  "server is read-only over Flight SQL)");
            else {
                f->have_desc = true;
                f->q.n_params = 0; /* the new parameters replace the old ones */
                rc = gw_call_authorize(c, RBAC_PRIV_QUERY, f->q.db[0] ? f->q.db : NULL, &err);
            }
        }
    }
    if (rc == ST_OK && d->data_header.len) {
        struct arrow_msg m = {.header = d->data_header.data, .header_len = d->data_header.len,
                              .body = d->data_body.len ? d->data_body.data : NULL,
                              .body_len = d->data_body.len};
        rc = arrow_stream_append(&f->ipc, &m, &err);
        if (rc == ST_ELIMIT)
            st_error_set(&err, ST_ELIMIT, "the prepared-statement parameters are too large");
    }
    arrow__flight__protocol__flight_data__free_unpacked(d, NULL);
    if (rc == ST_OK && f->ipc.len) {
        /* validate what we have so far: it must decode */
        struct gw_query probe;
        gw_query_init(&probe);
        struct st_error e2;
        enum st_code r2 = gw_params_from_ipc(f->ipc.data, f->ipc.len, &probe, &e2);
        gw_query_cleanup(&probe);
        if (r2 != ST_OK && r2 != ST_EINVAL) {
            rc = r2;
            err = e2;
        }
    }
    if (rc != ST_OK) {
        gw_call_finish(c, rc, err.msg);
        return;
    }
    gw_call_recv(c);
}
