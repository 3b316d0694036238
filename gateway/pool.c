/*
 * pool.c: the bounded work pool that runs everything that may block (engine queries,
 * writes and their fsyncs), so that neither gRPC's poller threads nor libmicrohttpd's
 * threads ever wait on the engine. A full queue is an answer, not a wait: submit
 * returns ST_EAGAIN and the caller replies UNAVAILABLE / 429. Stopping drains the
 * queue (in-flight writes finish) and joins the threads.
 *
 * Hand-off: a task submitted while a thread is idle goes straight to that thread (the
 * one idle the shortest time: its caches are warm) and wakes only it, through its own
 * semaphore posted after the pool's lock is released, so the woken thread never finds
 * the lock still held by the submitter. Only when every thread is busy does a task wait
 * in the queue, which the threads drain before going idle. One futex wake per task at
 * most, and none when a busy thread picks the next task up itself (a profile of large
 * DoGet results had the old shared condition variable's wake-ups and lock hand-overs at
 * a third of the pool's context switches).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "gw_int.h"

struct task {
    gw_pool_fn fn;
    void *arg;
};

struct pool_thread {
    pthread_t thr;
    sem_t wake;
    struct task task;          /* handed over while idle (under P.mu) */
    bool has_task;
    struct pool_thread *next;  /* idle stack */
};

static struct {
    pthread_mutex_t mu;
    struct task *q;
    unsigned cap, head, len;
    struct pool_thread *threads;
    unsigned n_threads;
    struct pool_thread *idle; /* LIFO */
    bool stopping;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *
pool_main(void *arg)
{
    struct pool_thread *me = arg;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        struct task t;
        if (P.len > 0) {
            t = P.q[P.head];
            P.head = (P.head + 1) % P.cap;
            P.len--;
        } else if (P.stopping) {
            break;
        } else {
            me->next = P.idle;
            P.idle = me;
            pthread_mutex_unlock(&P.mu);
            while (sem_wait(&me->wake) != 0 && errno == EINTR)
                ;
            pthread_mutex_lock(&P.mu);
            if (!me->has_task)
                continue; /* stopping */
            t = me->task;
            me->has_task = false;
        }
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
    if (!P.q || !P.threads) {
        free(P.q);
        free(P.threads);
        P.q = NULL;
        P.threads = NULL;
        return st_error_set(err, ST_ENOMEM, "out of memory for the work pool");
    }
    P.cap = queue_cap;
    P.head = P.len = 0;
    P.idle = NULL;
    P.stopping = false;
    for (unsigned i = 0; i < n_threads; i++) {
        struct pool_thread *t = &P.threads[i];
        if (sem_init(&t->wake, 0, 0) != 0)
            return st_error_set(err, ST_EIO, "cannot start pool thread %u", i);
        if (pthread_create(&t->thr, NULL, pool_main, t) != 0) {
            sem_destroy(&t->wake);
            return st_error_set(err, ST_EIO, "cannot start pool thread %u", i);
        }
        P.n_threads++;
    }
    return ST_OK;
}

enum st_code
gw_pool_submit(gw_pool_fn fn, void *arg)
{
    pthread_mutex_lock(&P.mu);
    if (P.stopping || !P.q) {
        pthread_mutex_unlock(&P.mu);
        return ST_ESHUTDOWN;
    }
    struct pool_thread *t = P.idle;
    if (t) {
        P.idle = t->next;
        t->task = (struct task){fn, arg};
        t->has_task = true;
        pthread_mutex_unlock(&P.mu);
        sem_post(&t->wake);
        return ST_OK;
    }
    enum st_code rc = ST_OK;
    if (P.len == P.cap)
        rc = ST_EAGAIN;
    else {
        P.q[(P.head + P.len) % P.cap] = (struct task){fn, arg};
        P.len++;
    }
    pthread_mutex_unlock(&P.mu);
    return rc;
}

void
gw_pool_stop(void)
{
    pthread_mutex_lock(&P.mu);
    P.stopping = true;
    while (P.idle) {
        struct pool_thread *t = P.idle;
        P.idle = t->next;
        sem_post(&t->wake); /* has_task is false: the thread sees `stopping` */
    }
    pthread_mutex_unlock(&P.mu);
    for (unsigned i = 0; i < P.n_threads; i++) {
        pthread_join(P.threads[i].thr, NULL);
        sem_destroy(&P.threads[i].wake);
    }
    free(P.threads);
    free(P.q);
    P.threads = NULL;
    P.q = NULL;
    P.n_threads = 0;
    P.idle = NULL;
}
