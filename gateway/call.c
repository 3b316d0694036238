/*
 * call.c: the life of one gRPC call on the server, from the new-call event to the
 * free. It owns the batch discipline of grpc-c-core.md so handlers never start a
 * batch themselves:
 *   arrival   re-post (grpc_server.c), RECV_CLOSE in its own batch, authenticate
 *             (auth.c) and check the method's privilege when it names no database,
 *             deadline, then — only for an authenticated call — read the single request
 *             message (so an unauthenticated client never gets a large message
 *             accepted: the limits before authentication are gRPC core's metadata cap
 *             and its flow-control window), then m->start;
 *   unary     gw_call_reply: {initial md, message, status} in one batch;
 *   streams   gw_call_queue + gw_call_stream_kick: one SEND in flight; the next message
 *             goes out from the previous one's completion; when fewer than
 *             GW_READAHEAD_LOW bytes wait, the handler's `need` step produces more
 *             (normally on the pool, up to GW_READAHEAD_BYTES), which is the
 *             backpressure; the last message travels with the status. A producer on the
 *             pool hands messages over with gw_call_push, which wakes the worker only
 *             when it is starved (nothing to send, no SEND in flight): while a SEND is in
 *             flight its completion picks the next message up, so a stream costs about
 *             one worker wake-up per message, not two;
 *   offload   gw_call_offload: run a function on the pool, then come back to the worker
 *             through an empty batch (the "wake"). Empty batches touch no call state in
 *             gRPC core (the completion is queued at once), so pool threads start them
 *             without the call's lock;
 *   finish    gw_call_finish: status + `strata-code` trailer; the handler reference is
 *             dropped when the status batch completes; the context is freed when no
 *             batch and no pool task is left (refs == 0).
 * A client that cancels, disconnects or runs out of deadline completes RECV_CLOSE with
 * cancelled=1: the engine is told through c->cancel, and streaming stops.
 */
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_call.h"
#include "strata/clock.h"
#include "strata/log.h"

static void pump(struct gw_call *c);
static void arm_keepalive(struct gw_call *c, grpc_slice msg);

static grpc_call_error
start(struct gw_call *c, const grpc_op *ops, size_t n, struct gw_tag *tag)
{
    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_lock(&c->mu);
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    pthread_mutex_unlock(&c->mu);
    if (e != GRPC_CALL_OK) {
        atomic_fetch_sub(&c->refs, 1);
        st_log(ST_LOG_ERROR, "grpc", "start_batch failed: %d", (int)e);
    }
    return e;
}

bool
gw_call_is_cancelled(const struct gw_call *c)
{
    return (c->close_done && c->cancelled) || atomic_load(&c->cancel);
}

const char *
gw_call_md(const struct gw_call *c, const char *key, size_t *len)
{
    for (size_t i = 0; i < c->req_md.count; i++) {
        const grpc_metadata *m = &c->req_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, key) == 0) {
            *len = GRPC_SLICE_LENGTH(m->value);
            return (const char *)GRPC_SLICE_START_PTR(m->value);
        }
    }
    *len = 0;
    return NULL;
}

grpc_slice
gw_pack(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    grpc_slice s = grpc_slice_malloc(n);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    return s;
}

static bool
strings_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth)
{
    if (n == 0) /* an empty message (possibly no pointer at all) has no strings */
        return true;
    const uint8_t *end = p + n;
    if (depth > 32)
        return false;
    while (p < end) {
        uint64_t tag, len;
        if (st_get_uvarint(&p, end, &tag) != 0)
            return true; /* malformed: the unpack already judged the bytes */
        switch (tag & 7) {
        case 0:
            if (st_get_uvarint(&p, end, &len) != 0)
                return true;
            break;
        case 1:
            p += 8;
            break;
        case 5:
            p += 4;
            break;
        case 2: {
            if (st_get_uvarint(&p, end, &len) != 0 || len > (uint64_t)(end - p))
                return true;
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
            if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)len))
                return false;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !strings_ok(f->descriptor, p, (size_t)len, depth + 1))
                return false;
            p += len;
            break;
        }
        default:
            return false; /* groups: never used by our protos */
        }
    }
    return true;
}

bool
gw_pb_strings_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
    return strings_ok(d, p, n, 0);
}

grpc_slice
gw_bb_slice(grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return grpc_empty_slice();
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    return s;
}

/* ---- finishing ---------------------------------------------------------------------------- */

static void
finish_batch(struct gw_call *c, int grpc_status, const char *msg, enum st_code code,
             grpc_slice *last_msg)
{
    if (c->status_started) {
        if (last_msg)
            grpc_slice_unref(*last_msg);
        return;
    }
    c->status_started = true;
    c->status = grpc_status;
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].data.send_initial_metadata.count = c->n_init_md;
        ops[n].data.send_initial_metadata.metadata = c->n_init_md ? c->init_md : NULL;
        n++;
        c->md_sent = true;
    }
    if (last_msg) {
        c->send_buf = grpc_raw_byte_buffer_create(last_msg, 1);
        grpc_slice_unref(*last_msg);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->send_buf;
        n++;
    }
    char codebuf[16], offbuf[24];
    grpc_metadata trailer[3];
    size_t n_trailer = 0;
    if (code != ST_OK) {
        snprintf(codebuf, sizeof codebuf, "%d", (int)code);
        trailer[n_trailer].key = grpc_slice_from_static_string("strata-code");
        trailer[n_trailer].value = grpc_slice_from_static_string(codebuf);
        n_trailer++;
    }
    if (code != ST_OK && c->err_offset >= 0) {
        snprintf(offbuf, sizeof offbuf, "%lld", (long long)c->err_offset);
        trailer[n_trailer].key = grpc_slice_from_static_string("strata-error-offset");
        trailer[n_trailer].value = grpc_slice_from_static_string(offbuf);
        n_trailer++;
    }
    if (c->extra_trailer_key) {
        trailer[n_trailer].key = grpc_slice_from_static_string(c->extra_trailer_key);
        trailer[n_trailer].value = grpc_slice_from_static_string(c->extra_trailer_val);
        n_trailer++;
    }
    grpc_slice details = grpc_slice_from_copied_string(msg ? msg : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)grpc_status;
    ops[n].data.send_status_from_server.status_details = msg ? &details : NULL;
    ops[n].data.send_status_from_server.trailing_metadata_count = n_trailer;
    ops[n].data.send_status_from_server.trailing_metadata = n_trailer ? trailer : NULL;
    n++;
    if (start(c, ops, n, &c->t_status) != GRPC_CALL_OK) {
        /* The call is unusable (pitfall 7): cancel it; drop the handler reference. */
        grpc_call_cancel(c->call, NULL);
        grpc_slice_unref(details);
        gw_worker_timer_del(c);
        gw__call_unref(c);
        return;
    }
    grpc_slice_unref(details);
    int64_t dur = st_mono_ns() - c->start_ns;
    gw_metrics_request(GW_PROTO_GRPC, c->m ? c->m->name : "unknown", grpc_status, dur);
    if (grpc_status != 0 && ST_LOG_ENABLED(ST_LOG_INFO))
        st_log(ST_LOG_INFO, "grpc", "%s -> %s: %s", c->m ? c->m->path : "(unknown method)",
               gw_grpc_code_name(grpc_status), msg ? msg : "");
}

void
gw_call_finish(struct gw_call *c, enum st_code code, const char *msg)
{
    finish_batch(c, gw_status_grpc(code), code == ST_OK ? NULL : msg, code, NULL);
}

void
gw_call_fail(struct gw_call *c, enum st_code code, const struct st_error *err)
{
    c->err_offset = err ? err->offset : -1;
    gw_call_finish(c, code, err ? err->msg : NULL);
}

void
gw_call_finish_grpc(struct gw_call *c, int grpc_status, const char *msg)
{
    finish_batch(c, grpc_status, msg, ST_OK, NULL);
}

void
gw_call_reply(struct gw_call *c, grpc_slice msg)
{
    finish_batch(c, 0, NULL, ST_OK, &msg);
}

/* ---- streaming out ------------------------------------------------------------------------ */

/* Append msg to the call's outgoing queue. For a producer (`from_producer`), returns
 * whether the worker waits for exactly this (it found the queue empty while the producer
 * ran; the flag is consumed). On allocation failure the message is dropped and the call
 * ends with ST_ENOMEM. */
static bool
enqueue(struct gw_call *c, grpc_slice msg, bool from_producer)
{
    struct gw_out *o = malloc(sizeof *o);
    if (!o) {
        grpc_slice_unref(msg);
        if (!c->out_eof) {
            c->out_eof = true;
            c->out_code = st_error_set(&c->out_err, ST_ENOMEM, "out of memory");
        }
        return false;
    }
    o->slice = msg;
    o->next = NULL;
    pthread_mutex_lock(&c->qmu);
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_bytes += GRPC_SLICE_LENGTH(msg);
    bool wake = from_producer && c->starved;
    if (wake)
        c->starved = false;
    pthread_mutex_unlock(&c->qmu);
    return wake;
}

void
gw_call_queue(struct gw_call *c, grpc_slice msg)
{
    (void)enqueue(c, msg, false);
}

size_t
gw_call_queued_bytes(struct gw_call *c)
{
    pthread_mutex_lock(&c->qmu);
    size_t n = c->out_bytes;
    pthread_mutex_unlock(&c->qmu);
    return n;
}

/*
 * A producer on the pool hands a message over: queued like gw_call_queue, and the worker
 * is woken (a nudge) only if it waits for exactly this, i.e. it found the queue empty
 * while this producer was running and has no SEND in flight. Otherwise the completion of
 * the SEND in flight, or the end of the task, picks the message up.
 */
void
gw_call_push(struct gw_call *c, grpc_slice msg)
{
    if (enqueue(c, msg, true))
        gw_call_nudge(c);
}

/* Pop the next queued message; *empty_after tells whether the queue is now empty. When
 * there is none and a producer runs on the pool, the worker is starved from here on:
 * the producer's next gw_call_push wakes it (decided under the same lock, so no message
 * is ever left waiting for a wake-up that does not come). */
static struct gw_out *
pop(struct gw_call *c, bool *empty_after)
{
    pthread_mutex_lock(&c->qmu);
    bool ka = c->ka_offered;
    grpc_slice ka_msg = c->ka_offer;
    c->ka_offered = false;
    struct gw_out *o = c->out_head;
    if (o) {
        c->out_head = o->next;
        if (!c->out_head)
            c->out_tail = NULL;
        c->out_bytes -= GRPC_SLICE_LENGTH(o->slice);
    } else if (c->in_pool) {
        c->starved = true;
    }
    *empty_after = c->out_head == NULL;
    pthread_mutex_unlock(&c->qmu);
    if (ka)
        arm_keepalive(c, ka_msg);
    return o;
}

void
gw_call_set_need(struct gw_call *c, gw_need_fn fn)
{
    c->need = fn;
}

static void
send_one(struct gw_call *c, grpc_slice s)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].data.send_initial_metadata.count = c->n_init_md;
        ops[n].data.send_initial_metadata.metadata = c->n_init_md ? c->init_md : NULL;
        n++;
        c->md_sent = true;
    }
    c->send_buf = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->send_buf;
    n++;
    c->send_busy = true;
    c->last_send_ns = st_mono_ns();
    if (start(c, ops, n, &c->t_send) != GRPC_CALL_OK) {
        c->send_busy = false;
        grpc_byte_buffer_destroy(c->send_buf);
        c->send_buf = NULL;
        grpc_call_cancel(c->call, NULL);
        atomic_store(&c->cancel, 1);
    }
}

static void
pump(struct gw_call *c)
{
    for (;;) {
        if (c->status_started || c->send_busy)
            return;
        if (gw_call_is_cancelled(c)) {
            if (!c->in_pool)
                gw_call_finish(c, ST_ECANCELLED, "the client cancelled the call");
            return; /* a running producer sees c->cancel; its wake finishes the call */
        }
        bool empty_after;
        struct gw_out *o = pop(c, &empty_after);
        if (o) {
            grpc_slice s = o->slice;
            free(o);
            /* out_eof and out_code are written by the producer only while in_pool */
            if (empty_after && !c->in_pool && c->out_eof && c->out_code == ST_OK) {
                c->last_send_ns = st_mono_ns();
                finish_batch(c, 0, NULL, ST_OK, &s); /* last message with the status */
                return;
            }
            send_one(c, s);
            /* read-ahead: produce the next messages while this one is on its way */
            if (!c->in_pool && !c->out_eof && c->need &&
                gw_call_queued_bytes(c) < GW_READAHEAD_LOW)
                c->need(c);
            return;
        }
        if (c->in_pool)
            return; /* starved (pop): the producer will push or wake us */
        if (c->out_eof) {
            gw_call_fail(c, c->out_code, &c->out_err);
            return;
        }
        if (!c->need)
            return;
        c->need(c);
        if (!c->in_pool)
            return; /* need answered without the pool (finished, or failed) */
        /* again: the producer may have pushed already; otherwise we are starved now */
    }
}

void
gw_call_stream_kick(struct gw_call *c)
{
    pump(c);
}

/* On the worker: the offered keep-alive becomes the armed one. */
static void
arm_keepalive(struct gw_call *c, grpc_slice msg)
{
    if (c->keepalive_armed)
        grpc_slice_unref(c->keepalive);
    c->keepalive = msg;
    c->keepalive_armed = true;
    if (!c->last_send_ns)
        c->last_send_ns = st_mono_ns();
    gw_worker_timer_add(c);
}

void
gw_call_arm_keepalive(struct gw_call *c, grpc_slice msg)
{
    pthread_mutex_lock(&c->qmu);
    if (c->ka_offered)
        grpc_slice_unref(c->ka_offer);
    c->ka_offer = msg;
    c->ka_offered = true;
    pthread_mutex_unlock(&c->qmu);
}

void
gw__call_timer(struct gw_call *c, int64_t now)
{
    if (c->status_started)
        return;
    if (c->keepalive_armed && c->in_pool && !c->send_busy && !gw_call_is_cancelled(c) &&
        now - c->last_send_ns >= gw_srv->cfg.keepalive_ns) {
        send_one(c, grpc_slice_ref(c->keepalive));
        return;
    }
    if (!c->in_pool && c->m && c->m->kind == GW_SERVER_STREAM && !c->keepalive_armed &&
        atomic_load(&gw_srv->shutting_down)) {
        /* Watch-style calls with nothing to produce: end them on shutdown. */
        gw_call_finish(c, ST_OK, NULL);
    }
}

/* ---- pool hand-off ------------------------------------------------------------------------ */

static void
pool_trampoline(void *arg)
{
    struct gw_call *c = arg;
    c->pool_fn(c);
    /* An empty batch: no call state is touched, the completion is queued at once. No
     * lock: the worker may be inside a SEND of this call right now. */
    grpc_call_error e = grpc_call_start_batch(c->call, NULL, 0, &c->t_wake, NULL);
    if (e != GRPC_CALL_OK)
        st_log(ST_LOG_ERROR, "grpc", "wake batch failed: %d", (int)e);
}

void
gw_call_nudge(struct gw_call *c)
{
    atomic_fetch_add(&c->refs, 1); /* the task's own reference keeps c alive meanwhile */
    grpc_call_error e = grpc_call_start_batch(c->call, NULL, 0, &c->t_nudge, NULL);
    if (e != GRPC_CALL_OK) {
        atomic_fetch_sub(&c->refs, 1);
        st_log(ST_LOG_ERROR, "grpc", "nudge batch failed: %d", (int)e);
    }
}

enum st_code
gw_call_offload(struct gw_call *c, void (*fn)(struct gw_call *c), void (*done)(struct gw_call *c))
{
    c->pool_fn = fn;
    c->pool_done = done;
    c->in_pool = true;
    atomic_fetch_add(&c->refs, 1); /* dropped by the wake's completion */
    enum st_code rc = gw_pool_submit(pool_trampoline, c);
    if (rc != ST_OK) {
        c->in_pool = false;
        atomic_fetch_sub(&c->refs, 1);
    }
    return rc;
}

/* ---- receiving ---------------------------------------------------------------------------- */

void
gw_call_recv(struct gw_call *c)
{
    if (c->recv_busy || c->status_started)
        return;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    c->recv_busy = true;
    if (start(c, &op, 1, &c->t_recv) != GRPC_CALL_OK) {
        c->recv_busy = false;
        gw_call_finish(c, ST_EINTERNAL, "cannot receive");
    }
}

const char *
gw_call_method(const struct gw_call *c)
{
    return c->m ? c->m->path : "(unknown method)";
}

enum st_code
gw_call_authorize(struct gw_call *c, enum rbac_priv need, const char *db, struct st_error *err)
{
    return gw_check(&c->who, need, db, gw_call_method(c), err);
}

/* The client address as "ip:port" (gRPC says "ipv4:1.2.3.4:5" / "ipv6:[::1]:5"). */
static void
call_peer(struct gw_call *c)
{
    char *p = grpc_call_get_peer(c->call);
    const char *v = p ? p : "";
    if (!strncmp(v, "ipv4:", 5) || !strncmp(v, "ipv6:", 5))
        v += 5;
    snprintf(c->who.peer, sizeof c->who.peer, "%s", v);
    gpr_free(p);
}

/* Authenticate (every call but the anonymous ones) and check privileges that name no
 * database; database-scoped ones are the handler's, once it has the name. */
static enum st_code
call_admit(struct gw_call *c, struct st_error *err)
{
    if (c->m->anonymous)
        return ST_OK;
    struct gw_cred_src src = {.transport = RBAC_TRANSPORT_GRPC};
    for (size_t i = 0; i < c->req_md.count; i++) {
        const grpc_metadata *m = &c->req_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "authorization") != 0)
            continue;
        if (src.n_values < GW_AUTHZ_VALUES_MAX)
            src.values[src.n_values] = (struct rbac_bytes){GRPC_SLICE_START_PTR(m->value),
                                                           GRPC_SLICE_LENGTH(m->value)};
        src.n_values++;
    }
    if (src.n_values > GW_AUTHZ_VALUES_MAX)
        src.n_values = GW_AUTHZ_VALUES_MAX; /* more than one is refused all the same */
    ST_TRY(gw_authenticate(&src, c->m->path, &c->who, err));
    enum rbac_scope scope = rbac_priv_scope(c->m->priv);
    if (scope == RBAC_SCOPE_NONE || scope == RBAC_SCOPE_TENANT || scope == RBAC_SCOPE_CLUSTER)
        return gw_check(&c->who, c->m->priv, NULL, c->m->path, err);
    return ST_OK;
}

/* The request message of a unary or server-streaming call, read after admission. */
static void
first_message(struct gw_call *c, grpc_byte_buffer *bb)
{
    if (!bb) {
        gw_call_finish(c, ST_EINVAL, "the request message is missing");
        return;
    }
    grpc_slice s = gw_bb_slice(bb);
    grpc_byte_buffer_destroy(bb);
    size_t max = c->m->max_request_bytes ? c->m->max_request_bytes
                                         : gw_srv->cfg.max_grpc_message_bytes;
    c->req_len = GRPC_SLICE_LENGTH(s);
    if (c->req_len > max) {
        grpc_slice_unref(s);
        gw_call_finish(c, ST_ELIMIT, "request message larger than this method allows");
        return;
    }
    c->req = malloc(c->req_len ? c->req_len : 1);
    if (!c->req) {
        grpc_slice_unref(s);
        gw_call_finish(c, ST_ENOMEM, "out of memory");
        return;
    }
    memcpy(c->req, GRPC_SLICE_START_PTR(s), c->req_len);
    grpc_slice_unref(s);
    c->m->start(c);
}

/* ---- arrival ------------------------------------------------------------------------------ */

static int64_t
deadline_mono(const struct gw_call *c)
{
    int64_t cap = gw_srv->cfg.query_timeout_ns;
    int64_t now = st_mono_ns(), dl = 0;
    gpr_timespec d = c->deadline;
    if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) != 0) {
        gpr_timespec left = gpr_time_sub(d, gpr_now(d.clock_type));
        int64_t ns = (int64_t)left.tv_sec * ST_NS_PER_SEC + left.tv_nsec;
        if (ns < 0)
            ns = 0;
        if (ns < INT64_C(1) << 62)
            dl = now + ns;
    }
    if (cap > 0 && (dl == 0 || now + cap < dl))
        dl = now + cap;
    return dl;
}

static void
arrive(struct gw_call *c)
{
    c->start_ns = st_mono_ns();
    atomic_store(&c->refs, 1); /* the handler's reference */
    c->err_offset = -1;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (start(c, &op, 1, &c->t_close) != GRPC_CALL_OK) {
        grpc_call_cancel(c->call, NULL);
        gw__call_unref(c);
        return;
    }
    if (!c->m) {
        char *m = grpc_slice_to_c_string(c->details.method);
        char msg[300];
        snprintf(msg, sizeof msg, "method '%.200s' is not implemented by this server", m);
        gpr_free(m);
        gw_call_finish_grpc(c, GRPC_STATUS_UNIMPLEMENTED, msg);
        return;
    }
    if (atomic_load(&gw_srv->shutting_down)) {
        gw_call_finish(c, ST_ESHUTDOWN, "the server is shutting down");
        return;
    }
    /* THE credential check (auth.c); handlers check database privileges by name. */
    struct st_error err;
    st_error_clear(&err);
    call_peer(c);
    enum st_code rc = call_admit(c, &err);
    if (rc != ST_OK) {
        gw_call_finish(c, rc, err.msg);
        return;
    }
    size_t dlen;
    const char *db = gw_call_md(c, "database", &dlen);
    static const char *const aliases[] = {"bucket", "bucket-name", "iox-namespace-name"};
    for (size_t i = 0; !db && i < 3; i++)
        db = gw_call_md(c, aliases[i], &dlen);
    if (db) {
        if (dlen >= sizeof c->db) {
            gw_call_finish(c, ST_EINVAL, "Invalid 'database' header in request");
            return;
        }
        memcpy(c->db, db, dlen);
        c->db[dlen] = 0;
    }
    c->deadline_mono_ns = deadline_mono(c);
    if (c->m->kind == GW_UNARY || c->m->kind == GW_SERVER_STREAM) {
        c->first_pending = true;
        gw_call_recv(c); /* first_message() when it arrives */
        return;
    }
    c->m->start(c);
}

void
gw__call_dispatch(struct gw_call *c, enum gw_tag_kind kind, int ok)
{
    switch (kind) {
    case GW_TAG_NEW:
        arrive(c);
        return;
    case GW_TAG_CLOSE:
        c->close_done = true;
        if (c->cancelled)
            atomic_store(&c->cancel, 1);
        if (c->cancelled && !c->in_pool && !c->send_busy && !c->status_started &&
            !c->recv_busy && c->on_timer_list) {
            /* a parked stream (keep-alive, Watch): end it now */
            gw_call_finish(c, ST_ECANCELLED, "the client cancelled the call");
        }
        gw__call_unref(c);
        return;
    case GW_TAG_SEND:
        c->send_busy = false;
        if (c->send_buf) {
            grpc_byte_buffer_destroy(c->send_buf);
            c->send_buf = NULL;
        }
        if (!ok)
            atomic_store(&c->cancel, 1);
        pump(c);
        gw__call_unref(c);
        return;
    case GW_TAG_RECV: {
        c->recv_busy = false;
        grpc_byte_buffer *bb = c->recv_buf;
        c->recv_buf = NULL;
        if (!ok || gw_call_is_cancelled(c)) {
            if (bb)
                grpc_byte_buffer_destroy(bb);
            gw_call_finish(c, ST_ECANCELLED, "the client cancelled the call");
        } else if (c->first_pending) {
            c->first_pending = false;
            first_message(c, bb);
        } else if (c->m && c->m->on_recv) {
            c->m->on_recv(c, bb);
        } else if (bb) {
            grpc_byte_buffer_destroy(bb);
        }
        gw__call_unref(c);
        return;
    }
    case GW_TAG_STATUS:
        if (c->send_buf) {
            grpc_byte_buffer_destroy(c->send_buf);
            c->send_buf = NULL;
        }
        gw_worker_timer_del(c);
        gw__call_unref(c); /* the batch */
        gw__call_unref(c); /* the handler reference */
        return;
    case GW_TAG_NUDGE:
        if (!c->status_started) {
            if (c->on_nudge)
                c->on_nudge(c);
            else
                pump(c);
        }
        gw__call_unref(c);
        return;
    case GW_TAG_WAKE: {
        c->in_pool = false;
        pthread_mutex_lock(&c->qmu);
        c->starved = false; /* the producer is done: nobody pushes any more */
        pthread_mutex_unlock(&c->qmu);
        void (*done)(struct gw_call *) = c->pool_done;
        c->pool_done = NULL;
        if (done)
            done(c);
        else if (c->m && c->m->on_wake)
            c->m->on_wake(c);
        else
            pump(c);
        gw__call_unref(c);
        return;
    }
    }
}
