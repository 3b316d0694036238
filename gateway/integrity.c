/*
 * integrity.c: the integrity service. A thread of stratad proves, on an interval
 * (--integrity-interval, default 60 s; 0 = off), that what the server acknowledges can be
 * read back exactly through the path every query takes:
 *
 *   1. write: one run of CANARY_ROWS points, in one eng_write (one WAL record, fsync'd),
 *      to table `canary` of the internal database GW_INTEGRITY_DB. A run is one series:
 *      a random 64-bit id (tag `run`, 16 hex digits), rows i = 0..CANARY_ROWS-1 (field
 *      `i`) at times t+i (t a whole microsecond), and fields of every type (vi integer,
 *      vu unsigned, vf float, vb boolean, vs string with quotes, backslashes, commas, '='
 *      and UTF-8), each value a function of (run, i), so any row read back can be checked
 *      on its own, and damage quarantines whole runs (a row group is one series' rows);
 *   2. read back through eng_query: every canary row of the last `window`
 *      (50 intervals, clamped to 1 min..6 h), ordered by run and i;
 *   3. compare exactly: the run just written is there whole; every run written by this
 *      process that is still in the window is there whole (a lost run keeps the check red
 *      until it leaves the window); every row of every run (also runs from before a
 *      restart, persisted to chunks) has exactly its values, once.
 *
 * Outcome: strata_integrity_checks_total, strata_integrity_failures_total,
 * strata_integrity_last_success_timestamp_seconds, strata_integrity_last_check_ok in
 * /metrics. A failure is loud: an error log line with the reason (which names the file and
 * block when the engine found a damaged one), the metrics, and an audit event (category
 * "integrity"); the return to green is logged too. Old canaries are deleted (eng_delete_rows)
 * once they are older than two windows, at most once per window.
 *
 * The database is created at start and hidden: its storage name maps to no (tenant,
 * database) pair (gw_dp.h), so no request can name it, and no listing shows it.
 * --test-integrity-fault (tests only) makes the comparison expect wrong values.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_int.h"
#include "strata/buf.h"
#include "strata/clock.h"
#include "strata/hash.h"
#include "strata/log.h"

#define CANARY_ROWS 4
#define CANARY_TABLE "canary"
#define REMEMBER 4096 /* runs of this process checked while in the window */
#define REASON_MAX 400

struct run_rec {
    uint64_t id;
    int64_t t;
};

static struct {
    pthread_mutex_t mu;       /* the counters and the run ring */
    pthread_mutex_t check_mu; /* one check at a time */
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop;
    struct gw_server *s;
    int64_t window_ns;
    int64_t last_prune_ns;
    struct run_rec ring[REMEMBER];
    size_t ring_n, ring_head;
    /* outcome */
    uint64_t checks, failures, rows_checked;
    int64_t last_success_ns, last_check_ns;
    bool last_ok, any_check, red;
    char last_reason[REASON_MAX];
} I = {.mu = PTHREAD_MUTEX_INITIALIZER, .check_mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- the canary values: a function of (run, i) ----------------------------------------- */

static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct canary {
    int64_t vi;
    uint64_t vu;
    double vf;
    bool vb;
    char vs[96];
};

static void
canary_values(uint64_t run, unsigned i, struct canary *c)
{
    uint64_t h = mix(run ^ ((uint64_t)i * 0x632be59bd9b4e019ull));
    c->vi = (int64_t)mix(h + 1);
    c->vu = mix(h + 2);
    /* a binary fraction: exact in the WAL, in chunks, in the text of line protocol */
    c->vf = (double)(int32_t)(uint32_t)mix(h + 3) / 1024.0;
    c->vb = mix(h + 4) & 1;
    snprintf(c->vs, sizeof c->vs, "canary \"%u\" \\ a,b=c \xc3\xa9\xe2\x82\xac %016" PRIx64, i,
             mix(h + 5));
}

/* Line protocol for a run. */
static enum st_code
canary_lines(uint64_t run, int64_t t, struct st_buf *b)
{
    enum st_code rc = ST_OK;
    for (unsigned i = 0; rc == ST_OK && i < CANARY_ROWS; i++) {
        struct canary c;
        canary_values(run, i, &c);
        rc = st_buf_printf(b, CANARY_TABLE ",run=%016" PRIx64 " i=%ui,vi=%" PRId64 "i,vu=%" PRIu64
                              "u,vf=%.17g,vb=%s,vs=\"",
                           run, i, c.vi, c.vu, c.vf, c.vb ? "true" : "false");
        for (const char *p = c.vs; rc == ST_OK && *p; p++) {
            if (*p == '"' || *p == '\\')
                rc = st_buf_append_byte(b, '\\');
            if (rc == ST_OK)
                rc = st_buf_append_byte(b, (uint8_t)*p);
        }
        if (rc == ST_OK)
            rc = st_buf_printf(b, "\" %" PRId64 "\n", t + (int64_t)i);
    }
    return rc;
}

/* ---- reading back ------------------------------------------------------------------------ */

enum { C_RUN = 0, C_I, C_VI, C_VU, C_VF, C_VB, C_VS, C_TIME, N_COLS };
static const enum st_type col_types[N_COLS] = {ST_TYPE_STRING, ST_TYPE_INT,    ST_TYPE_INT,
                                               ST_TYPE_UINT,   ST_TYPE_FLOAT,  ST_TYPE_BOOL,
                                               ST_TYPE_STRING, ST_TYPE_TIME};

struct seen_run {
    uint64_t id;
    int64_t t;
    unsigned rows;
};

struct check {
    uint64_t cur;        /* the run written by this check */
    int64_t cur_t;
    bool fault;          /* --test-integrity-fault */
    struct seen_run *runs;
    size_t n_runs, cap_runs;
    uint64_t rows;
    char reason[REASON_MAX];
};

static bool
fail(struct check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool
fail(struct check *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->reason, sizeof k->reason, fmt, ap);
    va_end(ap);
    return false;
}

static bool
parse_hex64(const char *p, size_t n, uint64_t *out)
{
    if (n != 16)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

static const char *
str_at(const struct st_column *c, uint32_t r, size_t *n)
{
    *n = (size_t)(c->v.offsets[r + 1] - c->v.offsets[r]);
    return c->str_data + c->v.offsets[r];
}

/* One row read back: its run and index, then every value against the function. */
static bool
check_row(struct check *k, const struct st_batch *b, uint32_t r)
{
    for (int c = 0; c < N_COLS; c++)
        if (!st_column_is_valid(&b->cols[c], r))
            return fail(k, "canary row %" PRIu64 " has a NULL %s", k->rows,
                        c == C_RUN ? "run" : c == C_I ? "i" : "value");
    size_t n;
    const char *s = str_at(&b->cols[C_RUN], r, &n);
    uint64_t run;
    if (!parse_hex64(s, n, &run))
        return fail(k, "canary row with a malformed run tag '%.*s'", (int)(n > 40 ? 40 : n), s);
    int64_t iv = b->cols[C_I].v.i64[r];
    if (iv < 0 || iv >= CANARY_ROWS)
        return fail(k, "canary run %016" PRIx64 ": index %" PRId64 " out of range", run, iv);
    unsigned i = (unsigned)iv;
    int64_t t = b->cols[C_TIME].v.i64[r] - (int64_t)i; /* the run's time */
    struct seen_run *sr = k->n_runs ? &k->runs[k->n_runs - 1] : NULL;
    if (!sr || sr->id != run) {
        if (k->n_runs == k->cap_runs) {
            size_t cap = k->cap_runs ? k->cap_runs * 2 : 256;
            struct seen_run *v = realloc(k->runs, cap * sizeof *v);
            if (!v)
                return fail(k, "out of memory");
            k->runs = v;
            k->cap_runs = cap;
        }
        sr = &k->runs[k->n_runs++];
        *sr = (struct seen_run){run, t, 0};
    }
    if (i != sr->rows)
        return fail(k, "canary run %016" PRIx64 ": row %u %s", run, i,
                    i < sr->rows ? "appears twice" : "is missing");
    if (t != sr->t)
        return fail(k, "canary run %016" PRIx64 " row %u: time %" PRId64 ", expected %" PRId64,
                    run, i, t, sr->t);
    sr->rows++;
    struct canary want;
    canary_values(run, i, &want);
    if (k->fault && run == k->cur)
        want.vi++;
    const char *where = NULL;
    char got[160] = "", exp[160] = "";
    if (b->cols[C_VI].v.i64[r] != want.vi) {
        where = "vi";
        snprintf(got, sizeof got, "%" PRId64, b->cols[C_VI].v.i64[r]);
        snprintf(exp, sizeof exp, "%" PRId64, want.vi);
    } else if (b->cols[C_VU].v.u64[r] != want.vu) {
        where = "vu";
        snprintf(got, sizeof got, "%" PRIu64, b->cols[C_VU].v.u64[r]);
        snprintf(exp, sizeof exp, "%" PRIu64, want.vu);
    } else if (memcmp(&b->cols[C_VF].v.f64[r], &want.vf, sizeof want.vf) != 0) {
        where = "vf";
        snprintf(got, sizeof got, "%.17g", b->cols[C_VF].v.f64[r]);
        snprintf(exp, sizeof exp, "%.17g", want.vf);
    } else if ((b->cols[C_VB].v.b[r] != 0) != want.vb) {
        where = "vb";
        snprintf(got, sizeof got, "%s", b->cols[C_VB].v.b[r] ? "true" : "false");
        snprintf(exp, sizeof exp, "%s", want.vb ? "true" : "false");
    } else {
        s = str_at(&b->cols[C_VS], r, &n);
        if (n != strlen(want.vs) || memcmp(s, want.vs, n) != 0) {
            where = "vs";
            snprintf(got, sizeof got, "%.*s", (int)(n > 100 ? 100 : n), s);
            snprintf(exp, sizeof exp, "%s", want.vs);
        }
    }
    if (where)
        return fail(k, "canary run %016" PRIx64 " row %u: field %s reads back as %s, expected %s",
                    run, i, where, got, exp);
    k->rows++;
    return true;
}

static bool
read_back(struct gw_server *s, struct check *k, int64_t lo)
{
    static const char sql[] = "SELECT run, i, vi, vu, vf, vb, vs, time FROM " CANARY_TABLE
                              " WHERE time >= $lo ORDER BY run, time";
    struct eng_param p = {.name = "lo", .type = ST_TYPE_TIME, .v.i = lo};
    struct eng_query_opts o = {.params = &p, .n_params = 1, .read_only = true,
                               .deadline_mono_ns = st_mono_ns() + 60 * ST_NS_PER_SEC};
    struct eng_cursor *cur = NULL;
    struct st_error err;
    enum st_code rc = eng_query(s->eng, GW_INTEGRITY_DB, sql, sizeof sql - 1, &o, &cur, &err);
    if (rc != ST_OK)
        return fail(k, "reading the canaries back: %s (%s)", err.msg, st_code_name(rc));
    const struct st_schema *sch = eng_cursor_schema(cur);
    bool ok = sch->n_fields == N_COLS;
    for (uint32_t c = 0; ok && c < N_COLS; c++)
        ok = sch->fields[c].type == col_types[c];
    if (!ok) {
        eng_cursor_free(cur);
        return fail(k, "the canary table has an unexpected schema");
    }
    for (;;) {
        const struct st_batch *b = NULL;
        rc = eng_cursor_next(cur, &b, &err);
        if (rc != ST_OK) {
            eng_cursor_free(cur);
            return fail(k, "reading the canaries back: %s (%s)", err.msg, st_code_name(rc));
        }
        if (!b)
            break;
        for (uint32_t r = 0; r < b->n_rows; r++)
            if (!check_row(k, b, r)) {
                eng_cursor_free(cur);
                return false;
            }
    }
    eng_cursor_free(cur);
    return true;
}

/* Every run read back whole; the current one and every run this process wrote in the window
 * present. */
static bool
check_runs(struct check *k, int64_t lo)
{
    bool cur_seen = false;
    for (size_t i = 0; i < k->n_runs; i++) {
        if (k->runs[i].rows != CANARY_ROWS)
            return fail(k, "canary run %016" PRIx64 " has %u of %d rows", k->runs[i].id,
                        k->runs[i].rows, CANARY_ROWS);
        cur_seen = cur_seen || k->runs[i].id == k->cur;
    }
    if (!cur_seen)
        return fail(k, "the canary run %016" PRIx64 " just written is not read back", k->cur);
    pthread_mutex_lock(&I.mu);
    bool ok = true;
    for (size_t j = 0; ok && j < I.ring_n; j++) {
        const struct run_rec *rr = &I.ring[(I.ring_head + REMEMBER - 1 - j) % REMEMBER];
        if (rr->t < lo)
            continue;
        bool found = false;
        for (size_t i = 0; !found && i < k->n_runs; i++)
            found = k->runs[i].id == rr->id;
        if (!found)
            ok = fail(k, "canary run %016" PRIx64 " written at %" PRId64 " is gone", rr->id,
                      rr->t);
    }
    pthread_mutex_unlock(&I.mu);
    return ok;
}

static void
remember(uint64_t id, int64_t t)
{
    pthread_mutex_lock(&I.mu);
    I.ring[I.ring_head] = (struct run_rec){id, t};
    I.ring_head = (I.ring_head + 1) % REMEMBER;
    if (I.ring_n < REMEMBER)
        I.ring_n++;
    pthread_mutex_unlock(&I.mu);
}

/* Delete canaries older than two windows, at most once per window. */
static void
prune(struct gw_server *s, int64_t now)
{
    if (now - I.last_prune_ns < I.window_ns)
        return;
    I.last_prune_ns = now;
    struct eng_delete d = {.table = CANARY_TABLE, .t_lo = INT64_MIN, .t_hi = now - 2 * I.window_ns};
    struct st_error err;
    enum st_code rc = eng_delete_rows(s->eng, GW_INTEGRITY_DB, &d, NULL, &err);
    if (rc != ST_OK && rc != ST_ENOTFOUND && rc != ST_EBIND)
        st_log(ST_LOG_WARN, "integrity", "deleting old canaries: %s", err.msg);
}

static void
audit_failure(const char *reason)
{
    struct rbac_audit_event ev = {.time_ns = st_now_ns(), .category = "integrity",
                                  .principal = "system", .method = "integrity-check",
                                  .database = GW_INTEGRITY_DB, .outcome = RBAC_AUDIT_ERROR,
                                  .reason = "integrity_failure", .detail = reason, .rows = -1,
                                  .bytes = -1, .lines = -1, .rejected = -1, .duration_ns = -1};
    gw_audit(&ev);
}

static enum st_code
run_check(struct gw_server *s, struct st_error *err)
{
    struct check k = {.fault = s->cfg.test_integrity_fault};
    int64_t now = st_now_ns();
    bool ok = true;
    if (st_random_bytes(&k.cur, sizeof k.cur) != 0)
        ok = fail(&k, "cannot read random bytes for a canary run id");
    /* a run's rows are at t .. t+CANARY_ROWS-1 ns, t a whole microsecond: a window bound
     * (also a whole microsecond) never cuts a run */
    k.cur_t = now - now % 1000;
    struct st_buf lp;
    st_buf_init(&lp, 1u << 20);
    if (ok && canary_lines(k.cur, k.cur_t, &lp) != ST_OK)
        ok = fail(&k, "out of memory");
    if (ok) {
        struct eng_write_opts wo = {.precision = ENG_PREC_NS, .create_db = true};
        struct eng_write_result wr;
        memset(&wr, 0, sizeof wr);
        struct st_error e;
        enum st_code rc = eng_write(s->eng, GW_INTEGRITY_DB, (const char *)lp.data, lp.len, &wo,
                                    &wr, &e);
        if (rc != ST_OK)
            ok = fail(&k, "writing the canaries: %s (%s)", wr.n_errors ? wr.errors[0].msg : e.msg,
                      st_code_name(rc));
        eng_write_result_cleanup(&wr);
    }
    st_buf_cleanup(&lp);
    int64_t lo = k.cur_t - I.window_ns;
    if (ok)
        ok = read_back(s, &k, lo) && check_runs(&k, lo);
    if (ok)
        remember(k.cur, k.cur_t);
    free(k.runs);
    if (ok)
        prune(s, now);

    pthread_mutex_lock(&I.mu);
    I.checks++;
    I.any_check = true;
    I.last_check_ns = st_now_ns();
    I.last_ok = ok;
    I.rows_checked += k.rows;
    bool was_red = I.red;
    if (ok) {
        I.last_success_ns = I.last_check_ns;
        I.red = false;
    } else {
        I.failures++;
        I.red = true;
        snprintf(I.last_reason, sizeof I.last_reason, "%s", k.reason);
    }
    uint64_t failures = I.failures;
    pthread_mutex_unlock(&I.mu);
    if (!ok) {
        st_log(ST_LOG_ERROR, "integrity", "integrity check FAILED: %s", k.reason);
        audit_failure(k.reason);
        return st_error_set(err, ST_ECORRUPT, "integrity check failed: %s", k.reason);
    }
    if (was_red)
        st_log(ST_LOG_NOTICE, "integrity",
               "integrity check green again (%" PRIu64 " rows read back; %" PRIu64
               " failures so far)",
               k.rows, failures);
    else if (ST_LOG_ENABLED(ST_LOG_INFO))
        st_log(ST_LOG_INFO, "integrity", "integrity check ok: %" PRIu64 " canary rows read back",
               k.rows);
    return ST_OK;
}

enum st_code
gw_integrity_check_now(struct st_error *err)
{
    if (!I.s)
        return st_error_set(err, ST_EPRECONDITION, "the integrity service is off");
    pthread_mutex_lock(&I.check_mu);
    enum st_code rc = run_check(I.s, err);
    pthread_mutex_unlock(&I.check_mu);
    return rc;
}

static void *
service(void *arg)
{
    struct gw_server *s = arg;
    int64_t interval = s->cfg.integrity_interval_ns;
    pthread_mutex_lock(&I.mu);
    while (!I.stop) {
        pthread_mutex_unlock(&I.mu);
        if (!atomic_load(&s->shutting_down))
            gw_integrity_check_now(NULL);
        pthread_mutex_lock(&I.mu);
        int64_t until = st_mono_ns() + interval;
        while (!I.stop) {
            int64_t left = until - st_mono_ns();
            if (left <= 0)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t abs_ns = (int64_t)ts.tv_sec * ST_NS_PER_SEC + ts.tv_nsec + left;
            ts.tv_sec = (time_t)(abs_ns / ST_NS_PER_SEC);
            ts.tv_nsec = (long)(abs_ns % ST_NS_PER_SEC);
            pthread_cond_timedwait(&I.cv, &I.mu, &ts);
        }
    }
    pthread_mutex_unlock(&I.mu);
    return NULL;
}

enum st_code
gw_integrity_start(struct gw_server *s, struct st_error *err)
{
    int64_t iv = s->cfg.integrity_interval_ns;
    if (iv <= 0) {
        st_log(ST_LOG_NOTICE, "integrity", "the integrity service is off "
                                           "(--integrity-interval 0)");
        return ST_OK;
    }
    int64_t w = 50 * iv;
    if (w < 60 * ST_NS_PER_SEC)
        w = 60 * ST_NS_PER_SEC;
    if (w > INT64_C(6) * 3600 * ST_NS_PER_SEC)
        w = INT64_C(6) * 3600 * ST_NS_PER_SEC;
    I.window_ns = w;
    I.s = s;
    enum st_code rc = eng_db_create(s->eng, GW_INTEGRITY_DB, err);
    if (rc != ST_OK && rc != ST_EEXISTS) {
        st_error_prefix(err, "the integrity service's database: ");
        I.s = NULL;
        return rc;
    }
    pthread_condattr_t at;
    pthread_condattr_init(&at);
    pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
    pthread_cond_init(&I.cv, &at);
    pthread_condattr_destroy(&at);
    I.stop = false;
    if (pthread_create(&I.thread, NULL, service, s) != 0) {
        I.s = NULL;
        return st_error_set(err, ST_EIO, "cannot start the integrity service thread");
    }
    I.running = true;
    st_log(ST_LOG_NOTICE, "integrity",
           "integrity service: %d canary rows every %.3g s, read back over the last %.0f s",
           CANARY_ROWS, (double)iv / 1e9, (double)w / 1e9);
    return ST_OK;
}

void
gw_integrity_stop(void)
{
    if (!I.running)
        return;
    pthread_mutex_lock(&I.mu);
    I.stop = true;
    pthread_cond_broadcast(&I.cv);
    pthread_mutex_unlock(&I.mu);
    pthread_join(I.thread, NULL);
    pthread_cond_destroy(&I.cv);
    I.running = false;
    pthread_mutex_lock(&I.check_mu); /* a check_now from elsewhere has ended */
    I.s = NULL;
    pthread_mutex_unlock(&I.check_mu);
}

void
gw__integrity_metrics(struct st_buf *b)
{
    pthread_mutex_lock(&I.mu);
    st_buf_printf(b,
                  "# HELP strata_integrity_enabled Whether the integrity service runs "
                  "(--integrity-interval).\n# TYPE strata_integrity_enabled gauge\n"
                  "strata_integrity_enabled %d\n"
                  "# HELP strata_integrity_checks_total Integrity checks run (canaries written "
                  "and read back).\n# TYPE strata_integrity_checks_total counter\n"
                  "strata_integrity_checks_total %" PRIu64 "\n"
                  "# HELP strata_integrity_failures_total Integrity checks that failed (the "
                  "log says why).\n# TYPE strata_integrity_failures_total counter\n"
                  "strata_integrity_failures_total %" PRIu64 "\n"
                  "# HELP strata_integrity_last_success_timestamp_seconds Unix time of the last "
                  "check that passed (0: none yet).\n"
                  "# TYPE strata_integrity_last_success_timestamp_seconds gauge\n"
                  "strata_integrity_last_success_timestamp_seconds %.3f\n"
                  "# HELP strata_integrity_last_check_timestamp_seconds Unix time of the last "
                  "check (0: none yet).\n"
                  "# TYPE strata_integrity_last_check_timestamp_seconds gauge\n"
                  "strata_integrity_last_check_timestamp_seconds %.3f\n"
                  "# HELP strata_integrity_last_check_ok 1 when the last check passed.\n"
                  "# TYPE strata_integrity_last_check_ok gauge\n"
                  "strata_integrity_last_check_ok %d\n"
                  "# HELP strata_integrity_rows_checked_total Canary rows read back and "
                  "compared.\n# TYPE strata_integrity_rows_checked_total counter\n"
                  "strata_integrity_rows_checked_total %" PRIu64 "\n",
                  I.running ? 1 : 0, I.checks, I.failures, (double)I.last_success_ns / 1e9,
                  (double)I.last_check_ns / 1e9, I.any_check && I.last_ok ? 1 : 0,
                  I.rows_checked);
    pthread_mutex_unlock(&I.mu);
}

void
gw_dp_metrics_render(struct st_buf *b)
{
    gw__integrity_metrics(b);
    gw__maint_metrics(b);
}
