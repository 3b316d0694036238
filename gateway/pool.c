/*
 * pool.c: the bounded work pool that runs everything that may block (engine queries,
 * writes and their fsyncs), so that neither gRPC's poller threads nor libmicrohttpd's
 * threads ever wait on the engine. A full queue is an answer, not a wait: submit
 * returns ST_EAGAIN and the caller replies UNAVAILABLE / 429. Stopping drains the
 * queue (in-flight writes finish) and joins the threads.
 */
#include <pthread.h>
#include <stdlib.h>

#include "gw_int.h"

struct task {
    gw_pool_fn fn;
    void *arg;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct task *q;
    unsigned cap, head, len;
    pthread_t *threads;
    unsigned n_threads;
    bool stopping;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *
pool_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (P.len == 0 && !P.stopping)
            pthread_cond_wait(&P.cv, &P.mu);
        if (P.len == 0)
            break;
        struct task t = P.q[P.head];
        P.head = (P.head + 1) % P.cap;
        P.len--;
        pthread_mutex_unlock(&P.mu);
        t.fn(t.arg);
        pthread_mutex_lock(&P.mu);
    }
    pthread_mutex_unlock(&P.mu);
    return NULL;
}

enum st_code
gw_pool_start(unsigned n_threads, unsigned queue_cap, struct st_error *err)
{
    P.q = calloc(queue_cap, sizeof *P.q);
    P.threads = calloc(n_threads, sizeof *P.threads);
    if (!P.q || !P.threads)
        return st_error_set(err, ST_ENOMEM, "out of memory for the work pool");
    P.cap = queue_cap;
    for (unsigned i = 0; i < n_threads; i++) {
        if (pthread_create(&P.threads[i], NULL, pool_main, NULL) != 0)
            return st_error_set(err, ST_EIO, "cannot start pool thread %u", i);
        P.n_threads++;
    }
    return ST_OK;
}

enum st_code
gw_pool_submit(gw_pool_fn fn, void *arg)
{
    enum st_code rc = ST_OK;
    pthread_mutex_lock(&P.mu);
    if (P.stopping || !P.q)
        rc = ST_ESHUTDOWN;
    else if (P.len == P.cap)
        rc = ST_EAGAIN;
    else {
        P.q[(P.head + P.len) % P.cap] = (struct task){fn, arg};
        P.len++;
        pthread_cond_signal(&P.cv);
    }
    pthread_mutex_unlock(&P.mu);
    return rc;
}

void
gw_pool_stop(void)
{
    pthread_mutex_lock(&P.mu);
    P.stopping = true;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    for (unsigned i = 0; i < P.n_threads; i++)
        pthread_join(P.threads[i], NULL);
    free(P.threads);
    free(P.q);
    P.threads = NULL;
    P.q = NULL;
    P.n_threads = 0;
}
