/*
 * h_maint.c: AdminService RotateKey and Verify (proto/strata/v1/admin.proto), the two
 * long-running data-protection jobs, and what /metrics says about them.
 *
 *   RotateKey  eng_rotate_key with the server's keyring (keys.c): every data key of every
 *              engine file is rewrapped under the current master key, then the sealed
 *              access policy and token pepper are written again under it
 *              (gw_policy_reseal); the operator only (RBAC_PRIV_KEY_ROTATE, checked on
 *              arrival). Refused while encryption is off.
 *   Verify     eng_verify of one database (its Owners and tenant administrators,
 *              RBAC_PRIV_DB_VERIFY) or of everything (the operator, RBAC_PRIV_VERIFY_ALL):
 *              each problem found (file relative to the data directory, block offset,
 *              reason, quarantined or not) is streamed, then a summary. A scrub that found
 *              problems still ends with OK: the summary says how many (the CLI turns that
 *              into its exit code); a scrub that could not run ends with its error.
 *
 * A job runs on a thread of its own, one at a time per server (a second request gets
 * UNAVAILABLE), and goes on to its end even if the caller goes away: the engine keeps
 * every step crash-safe, and stopping half-way would leave a rotation to be resumed. The
 * job's outcome is logged and audited by the job itself (category "admin"), so it is
 * recorded whether or not anyone is still listening.
 *
 * The call streams what the job reports: its `need` step (call.c) takes a pool thread
 * that waits up to a second for news (problems, progress, the end), queues them as
 * messages and returns; the worker sends them and asks again. The job's queue of problems
 * is bounded (JOB_MAX_ITEMS): beyond it problems are counted, not listed.
 * Shutdown waits for a running job (gw_maint_stop) before the engine closes.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_call.h"
#include "strata/clock.h"
#include "strata/log.h"
#include "strata/v1/admin.pb-c.h"

#define JOB_MAX_ITEMS 10000
#define WAIT_NS (ST_NS_PER_SEC)

enum job_kind { JOB_ROTATE = 0, JOB_VERIFY };

/* A packed VerifyResponse waiting to be sent. */
struct item {
    struct item *next;
    size_t len;
    uint8_t data[];
};

struct job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs; /* the thread's and the call's */
    enum job_kind kind;
    pthread_t thread;
    /* what to do */
    bool all;                                  /* Verify of everything */
    char engine_db[GW_ENGINE_NAME_MAX + 1];   /* Verify of one database: its storage name */
    char client_db[RBAC_NAME_MAX + 1];        /* ... and the caller's name for it */
    /* who asked (audit) */
    char principal[RBAC_ID_MAX], tenant[RBAC_NAME_MAX + 1], peer[64], method[64];
    /* news for the caller */
    uint64_t files_done, files_total, problems;
    bool progress_new;
    struct item *head, *tail;
    size_t n_items;
    uint64_t not_listed;
    bool done;
    /* outcome */
    enum st_code rc;
    struct st_error err;
    struct eng_rotate_result rres;
    struct eng_verify_result vres;
    int64_t start_ns, end_ns;
};

static struct {
    pthread_mutex_t mu;
    struct job *running; /* referenced by the slot while its thread runs */
    pthread_t thread;
    bool joinable;
    uint64_t rotations_ok, rotations_failed, verify_runs, verify_failed, verify_problems;
    uint64_t files_rewrapped;
} J = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void
job_unref(struct job *j)
{
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left)
        return;
    for (struct item *it = j->head, *n; it; it = n) {
        n = it->next;
        free(it);
    }
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* ---- the job thread --------------------------------------------------------------------------- */

static void
rotate_progress(void *ctx, const struct eng_rotate_progress *p)
{
    struct job *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->files_done = p->files_done;
    j->files_total = p->files_total;
    j->progress_new = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void
verify_progress(void *ctx, const struct eng_verify_progress *p)
{
    struct job *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->files_done = p->files_done;
    j->files_total = p->files_total;
    j->problems = p->problems;
    j->progress_new = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static const char *
kind_name(enum eng_file_kind k)
{
    switch (k) {
    case ENG_FILE_CATALOG: return "catalog";
    case ENG_FILE_MANIFEST: return "manifest";
    case ENG_FILE_CHUNK: return "chunk";
    case ENG_FILE_WAL: return "wal";
    }
    return "file";
}

/* A path as the caller sees it: relative to the data directory. */
static const char *
rel_path(const char *path)
{
    const char *d = gw_srv->cfg.data_dir;
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        n--;
    if (path && !strncmp(path, d, n) && path[n] == '/')
        return path + n + 1;
    return path ? path : "";
}

static void
verify_report(void *ctx, const struct eng_verify_problem *p)
{
    struct job *j = ctx;
    st_log(ST_LOG_ERROR, "verify", "%s %s offset %" PRIu64 ": %s (%s%s)", kind_name(p->kind),
           p->path ? p->path : "", p->offset, p->reason ? p->reason : "", st_code_name(p->code),
           p->quarantined ? ", quarantined" : "");
    Strata__V1__VerifyProblem pr = STRATA__V1__VERIFY_PROBLEM__INIT;
    pr.kind = (char *)kind_name(p->kind);
    pr.file = (char *)rel_path(p->path);
    const char *db = p->db ? p->db : "";
    if (!j->all && *db && !strcmp(db, j->engine_db))
        db = j->client_db;
    pr.database = (char *)db;
    pr.offset = p->offset;
    pr.code = (char *)st_code_name(p->code);
    pr.reason = (char *)(p->reason ? p->reason : "");
    pr.quarantined = p->quarantined;
    pr.known = p->known;
    Strata__V1__VerifyResponse r = STRATA__V1__VERIFY_RESPONSE__INIT;
    r.event_case = STRATA__V1__VERIFY_RESPONSE__EVENT_PROBLEM;
    r.problem = &pr;
    size_t n = protobuf_c_message_get_packed_size(&r.base);
    pthread_mutex_lock(&j->mu);
    struct item *it = j->n_items < JOB_MAX_ITEMS ? malloc(sizeof *it + n) : NULL;
    if (it) {
        it->next = NULL;
        it->len = protobuf_c_message_pack(&r.base, it->data);
        if (j->tail)
            j->tail->next = it;
        else
            j->head = it;
        j->tail = it;
        j->n_items++;
    } else {
        j->not_listed++;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void
audit_job(struct job *j, bool start)
{
    char detail[512], target[RBAC_NAME_MAX + 16];
    if (j->kind == JOB_ROTATE) {
        snprintf(target, sizeof target, "master_key:%s", gw_keys_current_id());
        if (start)
            snprintf(detail, sizeof detail, "key rotation started");
        else if (j->rc == ST_OK)
            snprintf(detail, sizeof detail,
                     "key rotation done: %" PRIu64 " files, %" PRIu64 " rewrapped, %" PRIu64
                     " already current, %" PRIu64 " skipped",
                     j->rres.files, j->rres.rewrapped, j->rres.already_current, j->rres.skipped);
        else
            snprintf(detail, sizeof detail, "key rotation failed: %s", j->err.msg);
    } else {
        snprintf(target, sizeof target, "verify:%s", j->all ? "*" : j->client_db);
        if (j->rc == ST_OK || j->rc == ST_ECORRUPT)
            snprintf(detail, sizeof detail,
                     "verify: %" PRIu64 " files, %" PRIu64 " blocks, %" PRIu64
                     " problems, %" PRIu64 " row groups and %" PRIu64 " chunks newly quarantined",
                     j->vres.files, j->vres.blocks, j->vres.problems, j->vres.quarantined_groups,
                     j->vres.quarantined_chunks);
        else
            snprintf(detail, sizeof detail, "verify could not run: %s", j->err.msg);
    }
    bool failed = !start && j->rc != ST_OK;
    struct rbac_audit_event ev = {
        .time_ns = st_now_ns(), .category = "admin", .principal = j->principal,
        .tenant = j->tenant, .peer = j->peer[0] ? j->peer : NULL, .method = j->method,
        .database = j->all || j->kind == JOB_ROTATE ? NULL : j->client_db, .target = target,
        .outcome = failed ? RBAC_AUDIT_ERROR : RBAC_AUDIT_ALLOW,
        .reason = start ? "started" : failed ? st_code_name(j->rc) : "ok", .detail = detail,
        .rows = -1, .bytes = -1, .lines = -1, .rejected = -1,
        .duration_ns = start ? -1 : j->end_ns - j->start_ns};
    gw_audit(&ev);
}

static void *
job_main(void *arg)
{
    struct job *j = arg;
    struct eng *e = gw_srv->eng;
    enum st_code rc;
    struct st_error err;
    st_error_clear(&err);
    if (j->kind == JOB_ROTATE) {
        audit_job(j, true);
        rc = eng_rotate_key(e, gw_srv->keys, rotate_progress, j, &j->rres, &err);
        /* the files outside the engine: the access policy and the token pepper */
        if (rc == ST_OK)
            rc = gw_policy_reseal(&err);
    } else {
        rc = eng_verify(e, j->all ? NULL : j->engine_db, verify_report, verify_progress, j,
                        &j->vres, &err);
    }
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->err = err;
    j->end_ns = st_mono_ns();
    pthread_mutex_unlock(&j->mu);
    double secs = (double)(j->end_ns - j->start_ns) / 1e9;
    pthread_mutex_lock(&J.mu);
    if (j->kind == JOB_ROTATE) {
        if (rc == ST_OK) {
            J.rotations_ok++;
            J.files_rewrapped += j->rres.rewrapped;
        } else {
            J.rotations_failed++;
        }
    } else {
        J.verify_runs++;
        if (rc != ST_OK && rc != ST_ECORRUPT)
            J.verify_failed++;
        J.verify_problems += j->vres.problems;
    }
    pthread_mutex_unlock(&J.mu);
    if (j->kind == JOB_ROTATE && rc == ST_OK)
        st_log(ST_LOG_NOTICE, "keys",
               "key rotation done in %.1f s: %" PRIu64 " files, %" PRIu64 " data keys rewrapped "
               "under master key %s, %" PRIu64 " already current, %" PRIu64 " skipped",
               secs, j->rres.files, j->rres.rewrapped, j->rres.new_key_id,
               j->rres.already_current, j->rres.skipped);
    else if (j->kind == JOB_ROTATE)
        st_log(ST_LOG_ERROR, "keys", "key rotation failed after %.1f s: %s (run it again to "
                                     "finish it; every file opens with the old or the new key)",
               secs, err.msg);
    else if (rc == ST_OK)
        st_log(ST_LOG_NOTICE, "verify",
               "verify of %s: %" PRIu64 " files, %" PRIu64 " blocks, %" PRIu64 " bytes in %.1f "
               "s: no problem",
               j->all ? "everything" : j->engine_db, j->vres.files, j->vres.blocks,
               j->vres.bytes, secs);
    else if (rc == ST_ECORRUPT)
        st_log(ST_LOG_ERROR, "verify",
               "verify of %s: %" PRIu64 " problems in %" PRIu64 " files (%" PRIu64
               " row groups, %" PRIu64 " chunks newly quarantined)",
               j->all ? "everything" : j->engine_db, j->vres.problems, j->vres.files,
               j->vres.quarantined_groups, j->vres.quarantined_chunks);
    else
        st_log(ST_LOG_ERROR, "verify", "verify of %s could not run: %s",
               j->all ? "everything" : j->engine_db, err.msg);
    audit_job(j, false);
    /* The server is free again before the caller hears the end: a client that starts the
     * next job as soon as this one's summary arrives must not be told one is running. */
    pthread_mutex_lock(&J.mu);
    J.running = NULL;
    pthread_mutex_unlock(&J.mu);
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    job_unref(j);
    return NULL;
}

/* Start a job: ST_EAGAIN when one runs; ST_ESHUTDOWN while shutting down. */
static enum st_code
job_start(struct job *j, struct st_error *err)
{
    pthread_mutex_lock(&J.mu);
    enum st_code rc = ST_OK;
    if (atomic_load(&gw_srv->shutting_down))
        rc = st_error_set(err, ST_ESHUTDOWN, "the server is shutting down");
    else if (J.running)
        rc = st_error_set(err, ST_EAGAIN, "a %s is running on this server; try again when it "
                                          "has finished",
                          J.running->kind == JOB_ROTATE ? "key rotation" : "verify");
    if (rc == ST_OK && J.joinable) {
        pthread_join(J.thread, NULL); /* the previous job's thread has ended */
        J.joinable = false;
    }
    if (rc == ST_OK) {
        j->refs = 2;
        j->start_ns = st_mono_ns();
        if (pthread_create(&J.thread, NULL, job_main, j) != 0) {
            rc = st_error_set(err, ST_EIO, "cannot start a thread for the job");
        } else {
            J.running = j;
            J.joinable = true;
        }
    }
    pthread_mutex_unlock(&J.mu);
    return rc;
}

void
gw_maint_stop(void)
{
    pthread_mutex_lock(&J.mu);
    bool join = J.joinable;
    bool busy = J.running != NULL;
    J.joinable = false;
    pthread_t t = J.thread;
    pthread_mutex_unlock(&J.mu);
    if (busy)
        st_log(ST_LOG_NOTICE, "main", "waiting for the running key rotation or verify to end");
    if (join)
        pthread_join(t, NULL);
}

/* ---- the call ------------------------------------------------------------------------------- */

struct mstate {
    struct job *job;
    bool final_queued;
};

void
gw_h_maint_free(struct gw_call *c)
{
    struct mstate *m = c->hs;
    if (!m)
        return;
    if (m->job)
        job_unref(m->job);
    free(m);
    c->hs = NULL;
}

static grpc_slice
rotate_msg(const struct job *j, bool done)
{
    Strata__V1__RotateKeyResponse r = STRATA__V1__ROTATE_KEY_RESPONSE__INIT;
    r.files_done = j->files_done;
    r.files_total = j->files_total;
    r.done = done;
    char *prev[64];
    if (done) {
        r.files = j->rres.files;
        r.rewrapped = j->rres.rewrapped;
        r.already_current = j->rres.already_current;
        r.skipped = j->rres.skipped;
        r.key_id = (char *)(j->rres.new_key_id[0] ? j->rres.new_key_id : "");
        const char(*ids)[ENG_KEY_ID_LEN + 1];
        size_t n = gw_keys_previous_ids(&ids);
        for (size_t i = 0; i < n && i < 64; i++)
            prev[r.n_previous_key_ids++] = (char *)ids[i];
        r.previous_key_ids = prev;
    }
    return gw_pack(&r.base);
}

static grpc_slice
verify_progress_msg(const struct job *j)
{
    Strata__V1__VerifyProgress p = STRATA__V1__VERIFY_PROGRESS__INIT;
    p.files_done = j->files_done;
    p.files_total = j->files_total;
    p.problems = j->problems;
    Strata__V1__VerifyResponse r = STRATA__V1__VERIFY_RESPONSE__INIT;
    r.event_case = STRATA__V1__VERIFY_RESPONSE__EVENT_PROGRESS;
    r.progress = &p;
    return gw_pack(&r.base);
}

static grpc_slice
verify_summary_msg(const struct job *j)
{
    Strata__V1__VerifySummary s = STRATA__V1__VERIFY_SUMMARY__INIT;
    s.files = j->vres.files;
    s.blocks = j->vres.blocks;
    s.bytes = j->vres.bytes;
    s.problems = j->vres.problems;
    s.quarantined_groups = j->vres.quarantined_groups;
    s.quarantined_chunks = j->vres.quarantined_chunks;
    s.problems_not_listed = j->not_listed;
    s.duration_ns = j->end_ns - j->start_ns;
    Strata__V1__VerifyResponse r = STRATA__V1__VERIFY_RESPONSE__INIT;
    r.event_case = STRATA__V1__VERIFY_RESPONSE__EVENT_SUMMARY;
    r.summary = &s;
    return gw_pack(&r.base);
}

/* On the pool: wait for news, queue it. */
static void
wait_news(struct gw_call *c)
{
    struct mstate *m = c->hs;
    struct job *j = m->job;
    pthread_mutex_lock(&j->mu);
    if (!j->done && !j->head && !j->progress_new && !atomic_load(&c->cancel)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t abs_ns = (int64_t)ts.tv_sec * ST_NS_PER_SEC + ts.tv_nsec + WAIT_NS;
        ts.tv_sec = (time_t)(abs_ns / ST_NS_PER_SEC);
        ts.tv_nsec = (long)(abs_ns % ST_NS_PER_SEC);
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    /* problems first, up to the read-ahead; then progress; the end once all went out */
    size_t bytes = 0;
    while (j->head && bytes < GW_READAHEAD_BYTES) {
        struct item *it = j->head;
        j->head = it->next;
        if (!j->head)
            j->tail = NULL;
        j->n_items--;
        bytes += it->len;
        gw_call_queue(c, grpc_slice_from_copied_buffer((const char *)it->data, it->len));
        free(it);
    }
    bool progress = j->progress_new;
    j->progress_new = false;
    bool end = j->done && !j->head;
    if (progress && !end)
        gw_call_queue(c, j->kind == JOB_ROTATE ? rotate_msg(j, false) : verify_progress_msg(j));
    if (end && !m->final_queued) {
        m->final_queued = true;
        bool ran = j->kind == JOB_ROTATE ? j->rc == ST_OK
                                         : j->rc == ST_OK || j->rc == ST_ECORRUPT;
        if (ran)
            gw_call_queue(c, j->kind == JOB_ROTATE ? rotate_msg(j, true) : verify_summary_msg(j));
        c->out_code = ran ? ST_OK : j->rc;
        if (!ran)
            c->out_err = j->err;
        c->out_eof = true;
    }
    pthread_mutex_unlock(&j->mu);
}

static void
need_news(struct gw_call *c)
{
    if (gw_call_offload(c, wait_news, NULL) != ST_OK)
        gw_call_finish(c, ST_EAGAIN, "the server is overloaded; the job goes on (see the log)");
}

static void
copy_who(struct job *j, struct gw_call *c)
{
    snprintf(j->principal, sizeof j->principal, "%s", c->who.p.id);
    snprintf(j->tenant, sizeof j->tenant, "%s", c->who.p.tenant);
    snprintf(j->peer, sizeof j->peer, "%s", c->who.peer);
    snprintf(j->method, sizeof j->method, "%s", gw_call_method(c));
}

void
gw_h_maint(struct gw_call *c)
{
    bool rotate = !strcmp(c->m->name, "Admin.RotateKey");
    struct st_error err;
    st_error_clear(&err);
    struct job *j = calloc(1, sizeof *j);
    struct mstate *m = calloc(1, sizeof *m);
    if (!j || !m) {
        free(j);
        free(m);
        gw_call_finish(c, ST_ENOMEM, "out of memory");
        return;
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t at;
    pthread_condattr_init(&at);
    pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &at);
    pthread_condattr_destroy(&at);
    j->refs = 1;
    m->job = j;
    c->hs = m;
    copy_who(j, c);
    enum st_code rc = ST_OK;
    if (rotate) {
        Strata__V1__RotateKeyRequest *q =
            strata__v1__rotate_key_request__unpack(NULL, c->req_len, c->req);
        if (!q)
            rc = st_error_set(&err, ST_EPARSE, "malformed request message");
        else
            strata__v1__rotate_key_request__free_unpacked(q, NULL);
        j->kind = JOB_ROTATE;
        if (rc == ST_OK && (!gw_srv->cfg.encryption_on || !gw_srv->keys))
            rc = st_error_set(&err, ST_EPRECONDITION,
                              "encryption at rest is off (--encryption off): there are no data "
                              "keys to rewrap");
    } else {
        j->kind = JOB_VERIFY;
        Strata__V1__VerifyRequest *q =
            strata__v1__verify_request__unpack(NULL, c->req_len, c->req);
        if (!q)
            rc = st_error_set(&err, ST_EPARSE, "malformed request message");
        else if (!gw_pb_strings_ok(&strata__v1__verify_request__descriptor, c->req, c->req_len))
            rc = st_error_set(&err, ST_EINVAL, "a string of the request holds a NUL byte");
        else if (!q->database || !*q->database) {
            j->all = true;
            rc = gw_check(&c->who, RBAC_PRIV_VERIFY_ALL, NULL, gw_call_method(c), &err);
        } else {
            rc = gw_check(&c->who, RBAC_PRIV_DB_VERIFY, q->database, gw_call_method(c), &err);
            if (rc == ST_OK)
                rc = gw_db_engine_name(&c->who, q->database, j->engine_db, &err);
            snprintf(j->client_db, sizeof j->client_db, "%.64s", q->database);
        }
        if (q)
            strata__v1__verify_request__free_unpacked(q, NULL);
    }
    if (rc == ST_OK)
        rc = job_start(j, &err);
    if (rc != ST_OK) {
        gw_call_fail(c, rc, &err);
        return;
    }
    gw_call_set_need(c, need_news);
    gw_call_stream_kick(c);
}

void
gw__maint_metrics(struct st_buf *b)
{
    pthread_mutex_lock(&J.mu);
    st_buf_printf(b,
                  "# HELP strata_key_rotations_total Master key rotations (AdminService "
                  "RotateKey) by result.\n# TYPE strata_key_rotations_total counter\n"
                  "strata_key_rotations_total{result=\"ok\"} %" PRIu64 "\n"
                  "strata_key_rotations_total{result=\"error\"} %" PRIu64 "\n"
                  "# HELP strata_key_rotation_files_rewrapped_total Data keys rewrapped by "
                  "rotations.\n# TYPE strata_key_rotation_files_rewrapped_total counter\n"
                  "strata_key_rotation_files_rewrapped_total %" PRIu64 "\n"
                  "# HELP strata_verify_runs_total Scrubs run (AdminService Verify).\n"
                  "# TYPE strata_verify_runs_total counter\nstrata_verify_runs_total %" PRIu64
                  "\n# HELP strata_verify_errors_total Scrubs that could not run.\n"
                  "# TYPE strata_verify_errors_total counter\nstrata_verify_errors_total %" PRIu64
                  "\n# HELP strata_verify_problems_total Problems reported by scrubs.\n"
                  "# TYPE strata_verify_problems_total counter\n"
                  "strata_verify_problems_total %" PRIu64 "\n"
                  "# HELP strata_maintenance_running 1 while a key rotation or verify runs.\n"
                  "# TYPE strata_maintenance_running gauge\nstrata_maintenance_running %d\n",
                  J.rotations_ok, J.rotations_failed, J.files_rewrapped, J.verify_runs,
                  J.verify_failed, J.verify_problems, J.running ? 1 : 0);
    pthread_mutex_unlock(&J.mu);
}
