/*
 * gw_call.h: the gRPC call context and the method table, shared by grpc_server.c
 * (completion queues, request posting, shutdown), call.c (batches, refcounts,
 * finishing, streaming out), methods.c (the table) and the handlers h_*.c.
 *
 * Rules (grpc-c-core.md, each learnt from a crash):
 *   - every event of a call arrives on its owner worker's CQ, so handler state is
 *     touched by one thread at a time: the worker, or a pool task while the call is
 *     "parked" in the pool (then the worker touches only the send side);
 *   - `refs` counts the handler reference plus one per batch in flight plus one per
 *     pool task; the context is freed and the call unref'd only at zero (on the
 *     worker: a pool thread adds a reference for a nudge only while its task's own
 *     reference is held);
 *   - RECV_CLOSE_ON_SERVER is posted first, in its own batch;
 *   - at most one SEND_MESSAGE and one RECV_MESSAGE in flight;
 *   - batches with operations are started on the worker, under `mu`; pool threads
 *     start only empty batches (wake, nudge), which gRPC core completes without
 *     touching the call, so they take no lock.
 */
#ifndef GW_CALL_H
#define GW_CALL_H

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "gw_int.h"

struct gw_call;
struct gw_worker;

enum gw_tag_kind {
    GW_TAG_NEW,
    GW_TAG_CLOSE,
    GW_TAG_SEND,
    GW_TAG_RECV,
    GW_TAG_STATUS,
    GW_TAG_WAKE,
    GW_TAG_NUDGE, /* a pool task has something to send before it finishes */
};

struct gw_tag {
    struct gw_call *call;
    enum gw_tag_kind kind;
};

enum gw_stream_kind { GW_UNARY, GW_SERVER_STREAM, GW_CLIENT_STREAM, GW_BIDI };

struct gw_method {
    const char *path;
    const char *name;               /* short name for metrics: "DoGet" */
    enum gw_stream_kind kind;
    enum rbac_priv priv;            /* what the caller must be allowed (rbac.h) */
    enum gw_db_src db_src;          /* where the database the privilege applies to comes from */
    bool anonymous;                 /* no credential looked at (health) */
    size_t max_request_bytes;       /* 0 = --max-grpc-message-size */
    /* Called on the worker once the call is authenticated. For GW_UNARY and
     * GW_SERVER_STREAM the request message is c->req (NULL if the client sent none). */
    void (*start)(struct gw_call *c);
    /* Client streams: each message (bb == NULL at the end of the stream). */
    void (*on_recv)(struct gw_call *c, grpc_byte_buffer *bb);
    /* A pool task finished (gw_call_wake). */
    void (*on_wake)(struct gw_call *c);
    /* Release handler state (any thread, once, when the call is freed). */
    void (*free_state)(struct gw_call *c);
    void *registered;               /* grpc_server_register_method handle */
};

/* One queued outgoing message (streaming). */
struct gw_out {
    grpc_slice slice;
    struct gw_out *next;
};

struct gw_call {
    struct gw_worker *w;
    const struct gw_method *m;      /* NULL for a generic (unknown method) call */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array req_md;
    grpc_call_details details;      /* generic requests only */
    grpc_byte_buffer *first_msg;    /* registered unary-request methods */
    grpc_byte_buffer *recv_buf;
    grpc_byte_buffer *send_buf;
    int cancelled;                  /* written by the core when RECV_CLOSE completes */
    atomic_int refs;
    pthread_mutex_t mu;
    bool close_done, status_started, send_busy, recv_busy, md_sent, in_pool;
    bool first_pending;             /* the request message is read after authentication */
    atomic_int cancel;              /* tells the engine to stop */
    struct gw_tag t_new, t_close, t_send, t_recv, t_status, t_wake, t_nudge;
    bool starved;                   /* guarded by qmu: the worker waits for a gw_call_push */
    void (*on_nudge)(struct gw_call *c);
    int64_t start_ns, deadline_mono_ns;
    struct gw_principal who;
    char db[512];                   /* the `database` header (Flight SQL), if any */
    int status;                     /* gRPC status sent */
    /* decoded request (registered unary-request methods) */
    uint8_t *req;
    size_t req_len;
    /* outgoing stream */
    struct gw_out *out_head, *out_tail; /* guarded by qmu: the producer may run ahead */
    size_t out_bytes;               /* bytes queued (not yet handed to a SEND) */
    pthread_mutex_t qmu;
    bool out_eof;                   /* producer is done: send the status after the queue */
    enum st_code out_code;          /* final status of the stream */
    struct st_error out_err;
    int64_t last_send_ns;           /* for keep-alive */
    grpc_slice keepalive;           /* a 0-row batch message; empty when not armed */
    bool keepalive_armed;
    grpc_slice ka_offer;            /* guarded by qmu: the keep-alive to arm (from the pool) */
    bool ka_offered;
    int64_t err_offset;             /* sent as strata-error-offset when >= 0 */
    /* one extra trailing metadata entry (DoGet: x-strata-engine-ns) */
    const char *extra_trailer_key;
    char extra_trailer_val[32];
    /* initial metadata to send (Handshake's authorization echo) */
    grpc_metadata init_md[1];
    size_t n_init_md;
    char init_md_val[400];
    /* pool hand-off */
    void (*pool_fn)(struct gw_call *c);
    void (*pool_done)(struct gw_call *c);
    void (*need)(struct gw_call *c);
    /* handler-private state */
    void *hs;
    void *ext; /* a second handler's state (DoPut updates: h_update.c) */
    /* timers: streaming calls are on the worker's list */
    struct gw_call *tnext, *tprev;
    bool on_timer_list;
};

/* ---- call.c ---------------------------------------------------------------------------- */

/* Finish with a status (and `strata-code` trailing metadata when code != OK).
 * msg may be NULL. Sends initial metadata if not yet sent. */
void gw_call_finish(struct gw_call *c, enum st_code code, const char *msg);
/* Finish with err's code and message, and its input offset (strata-error-offset). */
void gw_call_fail(struct gw_call *c, enum st_code code, const struct st_error *err);
/* Finish with an explicit gRPC status (UNIMPLEMENTED for unknown methods...). */
void gw_call_finish_grpc(struct gw_call *c, int grpc_status, const char *msg);
/* Send one reply message and OK status in one batch (unary). Takes the slice. */
void gw_call_reply(struct gw_call *c, grpc_slice msg);
/* Pack a protobuf-c message into a slice. */
grpc_slice gw_pack(const ProtobufCMessage *m);
/* Whether no string field of the encoded message of type `d` (nested messages included)
 * holds a NUL byte: protobuf-c hands strings over NUL-terminated, so "a\0b" would become
 * "a" without a word. Call after a successful unpack of the same bytes. */
bool gw_pb_strings_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n);
/* Read a whole byte buffer into a contiguous slice (decompressing); unref it after. */
grpc_slice gw_bb_slice(grpc_byte_buffer *bb);

/* Streaming out: queue a message (takes the slice; any thread); gw_call_stream_kick
 * starts sending on the worker. One SEND is in flight at a time. While it is, and fewer
 * than GW_READAHEAD_LOW bytes wait, the handler's `need` step produces the next
 * messages on the pool, up to GW_READAHEAD_BYTES queued: bounded read-ahead, so a
 * stalled client stalls the query, and one pool task covers several messages. When the
 * queue drains and the producer set out_eof, the status goes out (with the last message
 * when possible). */
#define GW_READAHEAD_BYTES ((size_t)1 << 20)
#define GW_READAHEAD_LOW ((size_t)512 << 10)
size_t gw_call_queued_bytes(struct gw_call *c);
void gw_call_queue(struct gw_call *c, grpc_slice msg);
/* From a producer on the pool: queue a message (takes the slice) and wake the worker if
 * it waits for one (nothing to send, no SEND in flight); see call.c. */
void gw_call_push(struct gw_call *c, grpc_slice msg);
void gw_call_stream_kick(struct gw_call *c);
/* Set by streaming handlers: called on the worker when the queue is empty and
 * !out_eof, to produce more (normally: submit a pool task). */
typedef void (*gw_need_fn)(struct gw_call *c);
void gw_call_set_need(struct gw_call *c, gw_need_fn fn);

/* Run fn(c) on the pool; when it returns, the worker gets on_wake (or `done` if given).
 * Returns ST_EAGAIN when the pool is full (the call is untouched). */
enum st_code gw_call_offload(struct gw_call *c, void (*fn)(struct gw_call *c),
                             void (*done)(struct gw_call *c));
/* From a pool task: wake the worker while the task goes on, so that what it queued so
 * far can go out; the worker calls c->on_nudge (or sends). Each nudge is one wake-up:
 * gw_call_push nudges only when needed. */
void gw_call_nudge(struct gw_call *c);
/* Post RECV_MESSAGE (client streams); the message arrives in m->on_recv. */
void gw_call_recv(struct gw_call *c);

/* Metadata lookup (lower-case key); returns a pointer to the value and its length. */
const char *gw_call_md(const struct gw_call *c, const char *key, size_t *len);
/* Keep-alive (from the worker or the producer on the pool; takes the slice): the worker
 * arms the message when it next looks at the queue, then sends it every
 * --keepalive-interval while a pool task runs and nothing else is being sent. */
void gw_call_arm_keepalive(struct gw_call *c, grpc_slice msg);
bool gw_call_is_cancelled(const struct gw_call *c);
/* The access check (auth.c) for this call's principal, with the privilege and the
 * database the handler now knows (the client's name for it). */
enum st_code gw_call_authorize(struct gw_call *c, enum rbac_priv need, const char *db,
                               struct st_error *err);
/* The method's path, for logs and audit events. */
const char *gw_call_method(const struct gw_call *c);

/* ---- grpc_server.c --------------------------------------------------------------------- */

struct gw_worker *gw_call_worker(struct gw_call *c);
void gw_worker_timer_add(struct gw_call *c);
void gw_worker_timer_del(struct gw_call *c);
void gw__call_unref(struct gw_call *c);     /* drop one ref; frees at zero */
void gw__call_dispatch(struct gw_call *c, enum gw_tag_kind kind, int ok);
void gw__call_timer(struct gw_call *c, int64_t now);

/* ---- methods.c ------------------------------------------------------------------------- */

extern struct gw_method gw_methods[];
extern const size_t gw_n_methods;

/* ---- handlers (h_*.c) ------------------------------------------------------------------ */

void gw_h_health_check(struct gw_call *c);
void gw_h_health_watch(struct gw_call *c);
void gw_h_write(struct gw_call *c);
void gw_h_do_get(struct gw_call *c);
void gw_h_get_flight_info(struct gw_call *c);
void gw_h_get_schema(struct gw_call *c);
void gw_h_handshake(struct gw_call *c);
void gw_h_handshake_recv(struct gw_call *c, grpc_byte_buffer *bb);
void gw_h_list_actions(struct gw_call *c);
void gw_h_do_action(struct gw_call *c);
void gw_h_do_put(struct gw_call *c);
void gw_h_do_put_recv(struct gw_call *c, grpc_byte_buffer *bb);
void gw_h_list_flights(struct gw_call *c);
void gw_h_flight_free(struct gw_call *c);
/* Free the message buffers DoGet keeps for reuse (at the end of gw_grpc_stop). */
void gw_flight_cleanup(void);
void gw_h_write_free(struct gw_call *c);
void gw_h_admin(struct gw_call *c);      /* strata.v1.AdminService (h_admin.c) */
void gw_h_admin_free(struct gw_call *c);
/* Flight SQL CommandStatementUpdate through DoPut (h_update.c): h_flight.c's DoPut
 * on_recv calls gw_update_recv first; true = the message was an update's (taken). */
bool gw_update_recv(struct gw_call *c, grpc_byte_buffer *bb);
void gw_h_do_put_free(struct gw_call *c); /* DoPut's free_state: the update, then fstate */
void gw_h_maint(struct gw_call *c);      /* AdminService RotateKey and Verify (h_maint.c) */
void gw_h_maint_free(struct gw_call *c);

#endif
