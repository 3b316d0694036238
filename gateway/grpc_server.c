/*
 * grpc_server.c: the gRPC core server of stratad (C core API, libgrpc 1.51).
 *
 * Shape (grpc-c-core.md §3, §4, §13):
 *   - one completion queue per worker thread, all registered before grpc_server_start;
 *   - every method of the table (methods.c) registered without reading the payload:
 *     call.c reads a request message only after the call is authenticated; plus generic
 *     requests always posted, so a call to an unknown method is answered UNIMPLEMENTED
 *     instead of hanging to its deadline;
 *   - each worker keeps K requests posted per method on its own CQ and re-posts one
 *     when a call arrives, under the mutex that shutdown takes;
 *   - no listening socket of gRPC's own: connections come from the acceptor through
 *     the `external:plain` / `external:tls` listener hooks (single-port.md §3);
 *   - a per-worker timer list (streaming calls with a keep-alive, Watch calls) whose
 *     earliest time is the deadline given to grpc_completion_queue_next.
 * Shutdown (grpc-c-core.md §4.8), in order: stop re-posting; shutdown_and_notify;
 * wait for the tag up to the grace period; cancel_all_calls; wait until every call
 * context is freed; grpc_server_destroy; shut down and drain each CQ; join; destroy.
 */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_call.h"
#include "strata/clock.h"
#include "strata/log.h"

#define SLOTS_PER_METHOD 4

struct gw_worker {
    unsigned idx;
    grpc_completion_queue *cq;
    pthread_t thread;
    struct gw_call *timers; /* calls with a timer (doubly linked) */
};

static struct {
    grpc_server *srv;
    grpc_completion_queue *shutdown_cq;
    struct gw_worker *workers;
    unsigned n_workers;
    pthread_mutex_t post_mu;
    bool no_more_posts;
    atomic_int live;                 /* allocated call contexts */
    void *ext_plain, *ext_tls;       /* gRPC core writes its fd handlers here */
    grpc_server_credentials *creds_plain, *creds_tls;
    bool started;
} G = {.post_mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- pointer channel args for the external: hooks ---------------------------------------- */

static void *
ptr_copy(void *p)
{
    return p;
}
static void
ptr_destroy(void *p)
{
    (void)p;
}
static int
ptr_cmp(void *a, void *b)
{
    return a < b ? -1 : a > b;
}
static const grpc_arg_pointer_vtable ptr_vt = {ptr_copy, ptr_destroy, ptr_cmp};

/* ---- posting requests --------------------------------------------------------------------- */

static void
post(struct gw_worker *w, struct gw_method *m)
{
    pthread_mutex_lock(&G.post_mu);
    if (G.no_more_posts) {
        pthread_mutex_unlock(&G.post_mu);
        return;
    }
    struct gw_call *c = calloc(1, sizeof *c);
    if (!c) {
        pthread_mutex_unlock(&G.post_mu);
        st_log(ST_LOG_ERROR, "grpc", "out of memory posting a request slot");
        return;
    }
    c->w = w;
    c->m = m;
    c->t_new = (struct gw_tag){c, GW_TAG_NEW};
    c->t_close = (struct gw_tag){c, GW_TAG_CLOSE};
    c->t_send = (struct gw_tag){c, GW_TAG_SEND};
    c->t_recv = (struct gw_tag){c, GW_TAG_RECV};
    c->t_status = (struct gw_tag){c, GW_TAG_STATUS};
    c->t_wake = (struct gw_tag){c, GW_TAG_WAKE};
    c->t_nudge = (struct gw_tag){c, GW_TAG_NUDGE};
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->qmu, NULL);
    grpc_metadata_array_init(&c->req_md);
    gw_principal_init(&c->who);
    grpc_call_error e;
    if (m) {
        e = grpc_server_request_registered_call(G.srv, m->registered, &c->call, &c->deadline,
                                                &c->req_md, NULL, w->cq, w->cq, &c->t_new);
    } else {
        grpc_call_details_init(&c->details);
        e = grpc_server_request_call(G.srv, &c->call, &c->details, &c->req_md, w->cq, w->cq,
                                     &c->t_new);
    }
    if (e != GRPC_CALL_OK) {
        st_log(ST_LOG_ERROR, "grpc", "request_call failed: %d", (int)e);
        grpc_metadata_array_destroy(&c->req_md);
        if (!m)
            grpc_call_details_destroy(&c->details);
        pthread_mutex_destroy(&c->mu);
        pthread_mutex_destroy(&c->qmu);
        free(c);
    } else {
        atomic_fetch_add(&G.live, 1);
    }
    pthread_mutex_unlock(&G.post_mu);
}

static void
free_ctx(struct gw_call *c)
{
    if (c->m && c->m->free_state && c->hs)
        c->m->free_state(c);
    gw_principal_cleanup(&c->who);
    grpc_metadata_array_destroy(&c->req_md);
    if (!c->m)
        grpc_call_details_destroy(&c->details);
    if (c->first_msg)
        grpc_byte_buffer_destroy(c->first_msg);
    if (c->recv_buf)
        grpc_byte_buffer_destroy(c->recv_buf);
    if (c->send_buf)
        grpc_byte_buffer_destroy(c->send_buf);
    while (c->out_head) {
        struct gw_out *o = c->out_head;
        c->out_head = o->next;
        grpc_slice_unref(o->slice);
        free(o);
    }
    if (c->keepalive_armed)
        grpc_slice_unref(c->keepalive);
    if (c->ka_offered)
        grpc_slice_unref(c->ka_offer);
    free(c->req);
    if (c->call)
        grpc_call_unref(c->call);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->qmu);
    free(c);
    atomic_fetch_sub(&G.live, 1);
}

void
gw__call_unref(struct gw_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1) {
        gw_worker_timer_del(c);
        free_ctx(c);
    }
}

struct gw_worker *
gw_call_worker(struct gw_call *c)
{
    return c->w;
}

void
gw_worker_timer_add(struct gw_call *c)
{
    if (c->on_timer_list)
        return;
    struct gw_worker *w = c->w;
    c->tprev = NULL;
    c->tnext = w->timers;
    if (w->timers)
        w->timers->tprev = c;
    w->timers = c;
    c->on_timer_list = true;
}

void
gw_worker_timer_del(struct gw_call *c)
{
    if (!c->on_timer_list)
        return;
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        c->w->timers = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    c->tnext = c->tprev = NULL;
    c->on_timer_list = false;
}

/* ---- the worker loop ---------------------------------------------------------------------- */

static void *
worker_main(void *arg)
{
    struct gw_worker *w = arg;
    for (struct gw_method *m = gw_methods; m < gw_methods + gw_n_methods; m++)
        for (int k = 0; k < SLOTS_PER_METHOD; k++)
            post(w, m);
    for (int k = 0; k < SLOTS_PER_METHOD; k++)
        post(w, NULL);
    int64_t tick = gw_srv->cfg.keepalive_ns < ST_NS_PER_SEC ? gw_srv->cfg.keepalive_ns / 2
                                                             : ST_NS_PER_SEC / 2;
    for (;;) {
        gpr_timespec dl = w->timers ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                   gpr_time_from_nanos(tick, GPR_TIMESPAN))
                                    : gpr_inf_future(GPR_CLOCK_MONOTONIC);
        grpc_event ev = grpc_completion_queue_next(w->cq, dl, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE) {
            struct gw_tag *t = ev.tag;
            struct gw_call *c = t->call;
            if (t->kind == GW_TAG_NEW) {
                if (!ev.success) { /* shutting down: no call attached */
                    free_ctx(c);
                    continue;
                }
                post(w, (struct gw_method *)c->m);
            }
            gw__call_dispatch(c, t->kind, ev.success);
        }
        if (w->timers) {
            int64_t now = st_mono_ns();
            struct gw_call *c = w->timers, *next;
            for (; c; c = next) {
                next = c->tnext;
                gw__call_timer(c, now);
            }
        }
    }
    return NULL;
}

/* ---- start -------------------------------------------------------------------------------- */

static grpc_server_credentials *
tls_creds(struct gw_server *s)
{
    grpc_ssl_pem_key_cert_pair pair = {s->tls.key_pem, s->tls.cert_pem};
    grpc_ssl_server_certificate_config *cfg =
        grpc_ssl_server_certificate_config_create(s->tls.ca_pem, &pair, 1);
    grpc_ssl_server_credentials_options *o =
        grpc_ssl_server_credentials_create_options_using_config(
            s->tls.ca_pem ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            cfg);
    return grpc_ssl_server_credentials_create_with_options(o);
}

enum st_code
gw_grpc_start(struct gw_server *s, struct st_error *err)
{
    const struct gw_config *cf = &s->cfg;
    grpc_init();
    grpc_arg a[] = {
        {GRPC_ARG_INTEGER, (char *)GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}},
        {GRPC_ARG_INTEGER,
         (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         {.integer = (int)cf->max_grpc_message_bytes}},
        {GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, {.integer = -1}},
        {GRPC_ARG_INTEGER,
         (char *)GRPC_ARG_MAX_CONNECTION_IDLE_MS,
         {.integer = (int)(cf->grpc_idle_ns / ST_NS_PER_MS)}},
        {GRPC_ARG_INTEGER,
         (char *)GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
         {.integer = (int)(cf->handshake_timeout_ns / ST_NS_PER_MS)}},
        {GRPC_ARG_INTEGER,
         (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS,
         {.integer = (int)cf->max_streams_per_conn}},
        {GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_METADATA_SIZE, {.integer = 16 * 1024}},
        {GRPC_ARG_POINTER, (char *)"external:plain", {.pointer = {&G.ext_plain, &ptr_vt}}},
        {GRPC_ARG_POINTER, (char *)"external:tls", {.pointer = {&G.ext_tls, &ptr_vt}}},
    };
    grpc_channel_args args = {sizeof a / sizeof a[0], a};
    G.srv = grpc_server_create(&args, NULL);
    for (struct gw_method *m = gw_methods; m < gw_methods + gw_n_methods; m++) {
        m->registered =
            grpc_server_register_method(G.srv, m->path, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
        if (!m->registered)
            return st_error_set(err, ST_EINTERNAL, "cannot register gRPC method '%s'", m->path);
    }
    G.n_workers = cf->grpc_workers;
    G.workers = calloc(G.n_workers, sizeof *G.workers);
    if (!G.workers)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (unsigned i = 0; i < G.n_workers; i++) {
        G.workers[i].idx = i;
        G.workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(G.srv, G.workers[i].cq, NULL);
    }
    G.shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(G.srv, G.shutdown_cq, NULL);

    G.creds_plain = grpc_insecure_server_credentials_create();
    if (!s->tls_on)
        grpc_server_add_http2_port(G.srv, "external:plain", G.creds_plain);
    else {
        G.creds_tls = tls_creds(s);
        if (!G.creds_tls)
            return st_error_set(err, ST_EINVAL, "--tls-cert/--tls-key: gRPC rejected them");
        grpc_server_add_http2_port(G.srv, "external:tls", G.creds_tls);
    }
    /* add_http2_port returns 0 for external: ports even on success: check the handler. */
    if (!s->tls_on ? !G.ext_plain : !G.ext_tls)
        return st_error_set(err, ST_EINTERNAL,
                            "gRPC core did not create its external connection handler "
                            "(libgrpc changed? see single-port.md §5)");
    grpc_server_start(G.srv);
    G.started = true;
    for (unsigned i = 0; i < G.n_workers; i++) {
        if (pthread_create(&G.workers[i].thread, NULL, worker_main, &G.workers[i]) != 0)
            return st_error_set(err, ST_EIO, "cannot start gRPC worker thread");
        char name[16];
        snprintf(name, sizeof name, "grpc-%u", i);
        pthread_setname_np(G.workers[i].thread, name);
    }
    return ST_OK;
}

void
gw_grpc_handoff(int listen_fd, int fd, bool tls)
{
    gw_ext_handle(tls ? G.ext_tls : G.ext_plain, listen_fd, fd);
}

void
gw_grpc_stop(int64_t grace_ns)
{
    if (!G.srv)
        return;
    if (G.started) {
        pthread_mutex_lock(&G.post_mu);
        G.no_more_posts = true;
        pthread_mutex_unlock(&G.post_mu);
        static int shutdown_tag;
        grpc_server_shutdown_and_notify(G.srv, G.shutdown_cq, &shutdown_tag);
        gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                       gpr_time_from_nanos(grace_ns, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(G.shutdown_cq, dl, NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            st_log(ST_LOG_NOTICE, "grpc", "grace period over: cancelling the remaining calls");
            grpc_server_cancel_all_calls(G.srv);
            grpc_completion_queue_next(G.shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        }
        /* The shutdown tag does not mean our handlers are done: wait for every context. */
        int64_t t0 = st_mono_ns();
        while (atomic_load(&G.live) > 0) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            if (st_mono_ns() - t0 > 30 * ST_NS_PER_SEC) {
                st_log(ST_LOG_ERROR, "grpc", "%d calls still live 30 s after shutdown",
                       atomic_load(&G.live));
                t0 = st_mono_ns();
            }
        }
    }
    grpc_server_destroy(G.srv);
    G.srv = NULL;
    for (unsigned i = 0; i < G.n_workers; i++)
        grpc_completion_queue_shutdown(G.workers[i].cq);
    for (unsigned i = 0; i < G.n_workers; i++) {
        if (G.started)
            pthread_join(G.workers[i].thread, NULL);
        grpc_completion_queue_destroy(G.workers[i].cq);
    }
    grpc_completion_queue_shutdown(G.shutdown_cq);
    while (grpc_completion_queue_next(G.shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(G.shutdown_cq);
    if (G.creds_plain)
        grpc_server_credentials_release(G.creds_plain);
    if (G.creds_tls)
        grpc_server_credentials_release(G.creds_tls);
    free(G.workers);
    G.workers = NULL;
    grpc_shutdown();
    gw_flight_cleanup();
}
