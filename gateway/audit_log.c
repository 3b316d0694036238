/*
 * audit_log.c: the audit log files of stratad. rbac builds and verifies the lines
 * (rbac_audit_line, rbac_audit_genesis, rbac_audit_verify); this file queues events,
 * writes them from one thread, rotates files and reads them back.
 *
 * Files: --audit-dir/audit-NNNNNN.jsonl (NNNNNN from 000001), mode 0600, one JSON object
 * per line (format in rbac/rbac_audit.c and docs/security.md). Every file starts with a
 * genesis line carrying the hash of the previous file's last line, so the chain runs
 * through rotations and restarts: `strata audit verify audit-*.jsonl` checks them in order.
 *
 * Path of an event: gw_audit() copies it into one allocation and appends it to a
 * bounded queue (--audit-queue). The writer thread takes everything queued, builds the
 * lines, writes them with one write per file and one fdatasync per batch: group
 * commit. Requests never wait for the disk, with one exception below.
 *
 * Group commit: the writer is woken once when the queue goes from empty to non-empty,
 * not once per event; it then lets the batch gather for at most GROUP_WINDOW_NS (or
 * until GROUP_MAX_EVENTS / half the queue are waiting) before it writes and syncs. So
 * under load the log costs one fdatasync and one wake-up per window instead of one per
 * request (a profile of light Flight queries had the per-event fdatasync at 22 % of
 * stratad's CPU), and every event is on disk at most GROUP_WINDOW_NS plus one write
 * after its request ended.
 *
 * Which events wait for the disk (sync before reply): changes of the access policy
 * (category "admin", emitted by h_admin.c on the pool, after the change and before its
 * reply): gw_audit() returns only once the event's batch was written and synced, and
 * that batch goes at once, without waiting for the window. An acknowledged admin
 * change therefore always has its audit line on disk. Everything else (query and write
 * summaries, authentication and authorization outcomes) is never waited for: a crash
 * of the process or the machine can lose the events of the last window (at most
 * GROUP_WINDOW_NS of them). gw_audit_sync() (ReadAudit, tests) flushes at once too.
 *
 * When the queue is full: --audit-overflow=block makes the request wait for room
 * (nothing is ever lost); =drop counts the event in strata_audit_dropped_total and, once
 * there is room, a line recording how many were dropped goes into the chain, so the
 * loss is visible in the log itself. At shutdown the queue is written out before the
 * process exits.
 *
 * Start: the newest file is verified. A torn last line (a crash in the middle of a
 * write) is cut off; the chain then continues in that file. A file that fails
 * verification otherwise is left untouched and a new file is started whose genesis
 * continues from its last good line (the break stays visible to the verifier).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gw_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"

#define FILE_PREFIX "audit-"
#define FILE_SUFFIX ".jsonl"
#define LINE_BUF_MAX (1u << 20)
/* Group commit: how long the first event of a batch may wait for others, and how many
 * events make the writer go at once (also when half of --audit-queue is waiting). */
#define GROUP_WINDOW_NS (10 * ST_NS_PER_MS)
#define GROUP_MAX_EVENTS 1024u

struct aev {
    struct aev *next;
    struct rbac_audit_event ev; /* strings point into text[] */
    char text[];
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, space, idle;
    pthread_cond_t window; /* the writer's timed wait (CLOCK_MONOTONIC, set up once) */
    struct aev *head, *tail;
    size_t n, cap;
    bool drop;
    bool stop, running, busy;
    bool idle_wait;     /* the writer waits for a first event */
    bool windowing;     /* the writer lets a batch gather until first_ns + window */
    bool urgent;        /* an event waits for the disk, or a flush was asked for */
    int64_t first_ns;   /* when the queue last went from empty to non-empty */
    uint64_t drops_pending;
    uint64_t enqueued, written_seq; /* events queued / written and synced (or failed) */
    pthread_t thr;
    /* writer state (the writer thread only, after open) */
    char *dir;
    uint64_t max_bytes;
    char cluster_id[RBAC_NAME_MAX + 1];
    struct rbac_audit_chain chain;
    int fd;
    uint64_t file_no;
    uint64_t file_bytes;
    /* counters */
    atomic_ullong c_written, c_dropped, c_blocked, c_errors, c_files, c_syncs;
} A = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .nonempty = PTHREAD_COND_INITIALIZER,
       .space = PTHREAD_COND_INITIALIZER,
       .idle = PTHREAD_COND_INITIALIZER,
       .fd = -1};

static pthread_once_t window_once = PTHREAD_ONCE_INIT;

static void
window_init(void)
{
    pthread_condattr_t at;
    pthread_condattr_init(&at);
    pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
    pthread_cond_init(&A.window, &at);
    pthread_condattr_destroy(&at);
}

/* The events that are on disk before gw_audit() returns: changes of the access policy
 * (allowed or refused), whose replies must never claim a change the log may lose. */
static bool
needs_sync(const struct rbac_audit_event *ev)
{
    return ev->category && !strcmp(ev->category, "admin");
}

/* How many queued events make the writer go before the window ends. */
static size_t
high_water(void)
{
    size_t h = A.cap / 2 ? A.cap / 2 : 1;
    return h < GROUP_MAX_EVENTS ? h : GROUP_MAX_EVENTS;
}

/* Wake the writer if it waits and now has a reason to go (under A.mu). */
static void
poke_writer(void)
{
    if (A.idle_wait)
        pthread_cond_signal(&A.nonempty);
    else if (A.windowing && (A.urgent || A.stop || A.n >= high_water()))
        pthread_cond_signal(&A.window);
}

/* Wait until every event queued up to `seq` is written (or failed), at most 10 s. */
static void
wait_written(uint64_t seq)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    while (A.running && A.written_seq < seq)
        if (pthread_cond_timedwait(&A.idle, &A.mu, &dl) == ETIMEDOUT)
            break;
}

/* ---- queueing ------------------------------------------------------------------------------- */

static size_t
slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *
put(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*at, s, n);
    const char *r = *at;
    *at += n;
    return r;
}

void
gw_audit(const struct rbac_audit_event *ev)
{
    size_t n = slen(ev->category) + slen(ev->principal) + slen(ev->tenant) +
               slen(ev->database) + slen(ev->method) + slen(ev->peer) + slen(ev->request_id) +
               slen(ev->reason) + slen(ev->detail) + slen(ev->target) + slen(ev->sql);
    bool sync = needs_sync(ev);
    struct aev *a = malloc(sizeof *a + n);
    if (!a) {
        atomic_fetch_add(&A.c_dropped, 1);
        pthread_mutex_lock(&A.mu);
        A.drops_pending++;
        pthread_mutex_unlock(&A.mu);
        return;
    }
    a->next = NULL;
    a->ev = *ev;
    char *at = a->text;
    a->ev.category = put(&at, ev->category);
    a->ev.principal = put(&at, ev->principal);
    a->ev.tenant = put(&at, ev->tenant);
    a->ev.database = put(&at, ev->database);
    a->ev.method = put(&at, ev->method);
    a->ev.peer = put(&at, ev->peer);
    a->ev.request_id = put(&at, ev->request_id);
    a->ev.reason = put(&at, ev->reason);
    a->ev.detail = put(&at, ev->detail);
    a->ev.target = put(&at, ev->target);
    a->ev.sql = put(&at, ev->sql);
    pthread_mutex_lock(&A.mu);
    if (!A.running) {
        pthread_mutex_unlock(&A.mu);
        free(a); /* before open or after close: tools and unit tests */
        return;
    }
    if (A.n >= A.cap) {
        if (A.drop && !sync) {
            A.drops_pending++;
            pthread_mutex_unlock(&A.mu);
            atomic_fetch_add(&A.c_dropped, 1);
            free(a);
            return;
        }
        /* block (and admin events, which are never dropped): wait for room */
        atomic_fetch_add(&A.c_blocked, 1);
        while (A.n >= A.cap && !A.stop) {
            poke_writer();
            pthread_cond_wait(&A.space, &A.mu);
        }
    }
    if (A.tail)
        A.tail->next = a;
    else {
        A.head = a;
        A.first_ns = st_mono_ns();
    }
    A.tail = a;
    A.n++;
    uint64_t seq = ++A.enqueued;
    if (sync)
        A.urgent = true;
    poke_writer();
    if (sync)
        wait_written(seq);
    pthread_mutex_unlock(&A.mu);
}

/* ---- files ---------------------------------------------------------------------------------- */

static char *
file_path(uint64_t no)
{
    size_t n = strlen(A.dir) + 40;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/" FILE_PREFIX "%06llu" FILE_SUFFIX, A.dir, (unsigned long long)no);
    return p;
}

/* Numbers of the audit files in the directory, sorted. */
static enum st_code
list_files(uint64_t **out, size_t *n_out, struct st_error *err)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(A.dir);
    if (!d)
        return st_error_set(err, ST_EIO, "--audit-dir '%s': %s", A.dir, strerror(errno));
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    enum st_code rc = ST_OK;
    while ((e = readdir(d))) {
        unsigned long long no;
        char tail[8];
        if (sscanf(e->d_name, FILE_PREFIX "%llu%7s", &no, tail) != 2 ||
            strcmp(tail, FILE_SUFFIX) != 0 || no == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        v[n++] = no;
    }
    closedir(d);
    if (rc != ST_OK) {
        free(v);
        return rc;
    }
    for (size_t i = 1; i < n; i++) /* few files: insertion sort */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *out = v;
    *n_out = n;
    return ST_OK;
}

static enum st_code
open_file(uint64_t no, bool fresh, struct st_error *err)
{
    char *p = file_path(no);
    if (!p)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    int fd = st_file_open(p, O_WRONLY | O_APPEND | O_CREAT | (fresh ? O_EXCL : 0), 0600, err);
    free(p);
    if (fd < 0)
        return ST_EIO;
    if (A.fd >= 0)
        st_file_close(A.fd);
    A.fd = fd;
    A.file_no = no;
    if (fresh) {
        A.file_bytes = 0;
        atomic_fetch_add(&A.c_files, 1);
        if (st_file_fsync_dir(A.dir, err) != ST_OK)
            return ST_EIO;
    }
    return ST_OK;
}

/* Start file `no`: open it and put its genesis line into `out`. */
static enum st_code
start_file(uint64_t no, struct st_buf *out, struct st_error *err)
{
    ST_TRY(open_file(no, true, err));
    return rbac_audit_genesis(&A.chain, A.cluster_id, no, st_now_ns(), out, err);
}

static enum st_code
flush_buf(struct st_buf *b, struct st_error *err)
{
    if (!b->len)
        return ST_OK;
    char *p = file_path(A.file_no);
    enum st_code rc = p ? st_file_write_all(A.fd, b->data, b->len, p, err)
                        : st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc == ST_OK) {
        rc = st_file_fsync(A.fd, p, err);
        atomic_fetch_add(&A.c_syncs, 1);
    }
    free(p);
    if (rc == ST_OK)
        A.file_bytes += b->len;
    st_buf_reset(b);
    return rc;
}

/* Append one event's line to `out`, rotating first when the file would grow past the
 * limit (a file always holds its genesis and at least one event). */
static enum st_code
add_line(const struct rbac_audit_event *ev, struct st_buf *out, struct st_error *err)
{
    struct st_buf line;
    st_buf_init(&line, LINE_BUF_MAX);
    struct rbac_audit_chain save = A.chain;
    enum st_code rc = rbac_audit_line(&A.chain, ev, &line, err);
    if (rc == ST_OK && A.file_bytes + out->len + line.len > A.max_bytes &&
        A.file_bytes + out->len > 0) {
        /* rotate: the line is rebuilt after the new file's genesis */
        A.chain = save;
        rc = flush_buf(out, err);
        if (rc == ST_OK)
            rc = start_file(A.file_no + 1, out, err);
        st_buf_reset(&line);
        if (rc == ST_OK)
            rc = rbac_audit_line(&A.chain, ev, &line, err);
    }
    if (rc == ST_OK)
        rc = st_buf_append(out, line.data, line.len);
    st_buf_cleanup(&line);
    return rc;
}

/* ---- the writer thread ---------------------------------------------------------------------- */

static void
write_batch(struct aev *list, uint64_t dropped, struct st_buf *out)
{
    struct st_error err;
    enum st_code rc = ST_OK;
    if (dropped) {
        char d[160];
        snprintf(d, sizeof d,
                 "%llu audit events were dropped: the audit queue was full (--audit-overflow=drop)",
                 (unsigned long long)dropped);
        struct rbac_audit_event ev = {.time_ns = st_now_ns(), .category = "audit",
                                      .principal = "system", .outcome = RBAC_AUDIT_ERROR,
                                      .reason = "dropped", .detail = d, .rows = -1, .bytes = -1,
                                      .lines = (int64_t)dropped, .rejected = -1,
                                      .duration_ns = -1};
        rc = add_line(&ev, out, &err);
    }
    size_t n = 0;
    for (struct aev *a = list; a; a = a->next) {
        if (rc == ST_OK) {
            rc = add_line(&a->ev, out, &err);
            if (rc == ST_ELIMIT || rc == ST_EINVAL) { /* an event that cannot be a line */
                st_log(ST_LOG_ERROR, "audit", "event not written: %s", err.msg);
                atomic_fetch_add(&A.c_errors, 1);
                rc = ST_OK;
                continue;
            }
        }
        n++;
    }
    if (rc == ST_OK)
        rc = flush_buf(out, &err);
    if (rc != ST_OK) {
        atomic_fetch_add(&A.c_errors, 1);
        st_log(ST_LOG_ERROR, "audit", "writing the audit log failed, %zu events lost: %s", n,
               err.msg);
        st_buf_reset(out);
    } else {
        atomic_fetch_add(&A.c_written, n);
    }
}

/* Let the batch that just started gather until the window ends, enough events wait, an
 * event needs the disk, or the server stops (under A.mu). */
static void
gather(void)
{
    struct timespec dl;
    int64_t end = A.first_ns + GROUP_WINDOW_NS;
    dl.tv_sec = (time_t)(end / ST_NS_PER_SEC);
    dl.tv_nsec = (long)(end % ST_NS_PER_SEC);
    A.windowing = true;
    while (!A.urgent && !A.stop && A.n < high_water() && st_mono_ns() < end)
        if (pthread_cond_timedwait(&A.window, &A.mu, &dl) == ETIMEDOUT)
            break;
    A.windowing = false;
}

static void *
writer_main(void *arg)
{
    (void)arg;
    struct st_buf out;
    st_buf_init(&out, SIZE_MAX);
    pthread_mutex_lock(&A.mu);
    for (;;) {
        while (!A.head && !A.drops_pending && !A.stop) {
            A.idle_wait = true;
            pthread_cond_wait(&A.nonempty, &A.mu);
            A.idle_wait = false;
        }
        if (!A.head && !A.drops_pending && A.stop)
            break;
        if (A.head)
            gather();
        struct aev *list = A.head;
        uint64_t taken = A.enqueued, dropped = A.drops_pending;
        A.head = A.tail = NULL;
        A.n = 0;
        A.drops_pending = 0;
        A.urgent = false;
        A.busy = true;
        pthread_cond_broadcast(&A.space);
        pthread_mutex_unlock(&A.mu);
        write_batch(list, dropped, &out);
        while (list) {
            struct aev *next = list->next;
            free(list);
            list = next;
        }
        pthread_mutex_lock(&A.mu);
        A.busy = false;
        A.written_seq = taken;
        pthread_cond_broadcast(&A.idle);
    }
    pthread_mutex_unlock(&A.mu);
    st_buf_cleanup(&out);
    return NULL;
}

void
gw_audit_sync(void)
{
    pthread_mutex_lock(&A.mu);
    uint64_t want = A.enqueued;
    if (A.written_seq < want) {
        A.urgent = true;
        poke_writer();
    }
    wait_written(want);
    pthread_mutex_unlock(&A.mu);
}

/* ---- open / close --------------------------------------------------------------------------- */

static enum st_code
load_key(const char *path, struct st_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (st_file_read_all(path, 4096, &data, &len, err) != ST_OK) {
        st_error_prefix(err, "--audit-key-file: ");
        return ST_EINVAL;
    }
    enum st_code rc = rbac_audit_chain_init(&A.chain, data, len, err);
    if (rc != ST_OK)
        st_error_set(err, ST_EINVAL, "--audit-key-file '%s': the key must be 32..64 bytes, not %zu",
                     path, len);
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

/* Continue the chain from the newest file, cutting a torn last line. */
static enum st_code
resume(uint64_t no, bool *start_new, struct st_error *err)
{
    *start_new = false;
    char *p = file_path(no);
    if (!p)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    uint8_t *data = NULL;
    size_t len = 0;
    enum st_code rc = st_file_read_all(p, (size_t)1 << 34, &data, &len, err);
    if (rc != ST_OK) {
        free(p);
        return rc;
    }
    size_t good = len;
    while (good > 0 && data[good - 1] != '\n')
        good--;
    if (good < len) {
        st_log(ST_LOG_WARN, "audit",
               "'%s': cutting an incomplete last line (%zu bytes; a write interrupted by a crash)",
               p, len - good);
        int fd = st_file_open(p, O_WRONLY, 0600, err);
        rc = fd < 0 ? ST_EIO : st_file_truncate(fd, (off_t)good, p, err);
        if (rc == ST_OK)
            rc = st_file_fsync(fd, p, err);
        if (fd >= 0)
            st_file_close(fd);
    }
    struct rbac_audit_verify_result res;
    struct st_error ve;
    enum st_code vrc = rc == ST_OK ? rbac_audit_verify(data, good, A.chain.key, A.chain.key_len,
                                                       NULL, NULL, &res, &ve)
                                   : ST_OK;
    OPENSSL_cleanse(data, len);
    free(data);
    if (rc == ST_OK) {
        if (vrc == ST_OK) {
            A.chain.seq = res.last_seq + 1;
            memcpy(A.chain.prev, res.last_hash, 32);
            rc = open_file(no, false, err);
            A.file_bytes = good;
        } else {
            st_log(ST_LOG_ERROR, "audit",
                   "'%s' fails verification (%s): left as it is; a new file continues the chain "
                   "from its last good line",
                   p, ve.msg);
            if (res.n_lines > 0) {
                A.chain.seq = res.last_seq + 1;
                memcpy(A.chain.prev, res.last_hash, 32);
            }
            A.file_no = no;
            *start_new = true;
        }
    }
    free(p);
    return rc;
}

enum st_code
gw_audit_open(struct gw_server *s, const char *cluster_id, struct st_error *err)
{
    const struct gw_config *c = &s->cfg;
    pthread_once(&window_once, window_init);
    pthread_mutex_lock(&A.mu); /* a fresh start (tests open and close more than once) */
    A.stop = A.busy = A.idle_wait = A.windowing = A.urgent = false;
    A.head = A.tail = NULL;
    A.n = 0;
    A.drops_pending = A.enqueued = A.written_seq = 0;
    A.fd = -1;
    A.file_bytes = 0;
    pthread_mutex_unlock(&A.mu);
    A.dir = strdup(c->audit_dir);
    if (!A.dir)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    A.max_bytes = c->audit_max_bytes;
    A.cap = c->audit_queue;
    A.drop = c->audit_drop;
    snprintf(A.cluster_id, sizeof A.cluster_id, "%s", cluster_id);
    if (st_mkdir_p(A.dir, 0700, err) != ST_OK) {
        st_error_prefix(err, "--audit-dir: ");
        return ST_EIO;
    }
    if (c->audit_key_file)
        ST_TRY(load_key(c->audit_key_file, err));
    else
        ST_TRY(rbac_audit_chain_init(&A.chain, NULL, 0, err));
    uint64_t *nums;
    size_t n;
    ST_TRY(list_files(&nums, &n, err));
    bool start_new = n == 0;
    uint64_t last = n ? nums[n - 1] : 0;
    free(nums);
    enum st_code rc = ST_OK;
    if (n)
        rc = resume(last, &start_new, err);
    struct st_buf out;
    st_buf_init(&out, SIZE_MAX);
    if (rc == ST_OK && start_new) {
        rc = start_file(last + 1, &out, err);
        if (rc == ST_OK)
            rc = flush_buf(&out, err);
    }
    st_buf_cleanup(&out);
    if (rc != ST_OK) {
        st_error_prefix(err, "audit log: ");
        return rc;
    }
    A.running = true;
    if (pthread_create(&A.thr, NULL, writer_main, NULL) != 0) {
        A.running = false;
        return st_error_set(err, ST_EIO, "cannot start the audit writer thread");
    }
    pthread_setname_np(A.thr, "audit");
    return ST_OK;
}

void
gw_audit_close(void)
{
    pthread_mutex_lock(&A.mu);
    bool running = A.running;
    A.stop = true;
    pthread_cond_broadcast(&A.nonempty);
    pthread_cond_broadcast(&A.window);
    pthread_cond_broadcast(&A.space);
    pthread_mutex_unlock(&A.mu);
    if (running)
        pthread_join(A.thr, NULL);
    pthread_mutex_lock(&A.mu);
    A.running = false;
    pthread_mutex_unlock(&A.mu);
    if (A.fd >= 0)
        st_file_close(A.fd);
    A.fd = -1;
    rbac_audit_chain_init(&A.chain, NULL, 0, NULL); /* wipes the key */
    free(A.dir);
    A.dir = NULL;
}

/* ---- reading back --------------------------------------------------------------------------- */

static bool
line_matches(const char *line, size_t n, uint64_t after, int64_t since, int64_t until,
             const char *tenant, uint64_t *seq)
{
    json_error_t je;
    json_t *j = json_loadb(line, n, 0, &je);
    if (!j)
        return false;
    bool ok = false;
    json_t *js = json_object_get(j, "seq"), *jt = json_object_get(j, "time");
    if (json_is_integer(js) && json_integer_value(js) >= 0) {
        *seq = (uint64_t)json_integer_value(js);
        ok = *seq > after;
        if (ok && (since || until)) {
            int64_t t = 0;
            ok = json_is_string(jt) &&
                 st_parse_rfc3339(json_string_value(jt), json_string_length(jt), &t) == 0 &&
                 (!since || t >= since) && (!until || t < until);
        }
        if (ok && tenant) {
            json_t *jn = json_object_get(j, "tenant");
            ok = json_is_string(jn) && !strcmp(json_string_value(jn), tenant);
        }
    }
    json_decref(j);
    return ok;
}

enum st_code
gw_audit_read(uint64_t after_seq, uint32_t limit, int64_t since_ns, int64_t until_ns,
              const char *tenant, struct gw_audit_page *out, struct st_error *err)
{
    memset(out, 0, sizeof *out);
    if (!A.dir)
        return st_error_set(err, ST_EUNSUPPORTED, "the audit log is not open");
    gw_audit_sync();
    uint64_t *nums;
    size_t nf;
    ST_TRY(list_files(&nums, &nf, err));
    out->records = calloc(limit ? limit : 1, sizeof *out->records);
    if (!out->records) {
        free(nums);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    enum st_code rc = ST_OK;
    for (size_t f = 0; f < nf && rc == ST_OK && !out->more; f++) {
        char *p = file_path(nums[f]);
        uint8_t *data = NULL;
        size_t len = 0;
        rc = p ? st_file_read_all(p, (size_t)1 << 34, &data, &len, err)
               : st_error_set(err, ST_ENOMEM, "out of memory");
        free(p);
        if (rc == ST_ENOTFOUND || rc == ST_EIO) { /* rotated away meanwhile */
            rc = ST_OK;
            continue;
        }
        for (size_t pos = 0; rc == ST_OK && pos < len;) {
            uint8_t *nl = memchr(data + pos, '\n', len - pos);
            if (!nl)
                break; /* being written */
            size_t n = (size_t)(nl - (data + pos));
            uint64_t seq;
            if (line_matches((const char *)data + pos, n, after_seq, since_ns, until_ns, tenant,
                             &seq)) {
                if (out->n == limit) {
                    out->more = true;
                    break;
                }
                char *r = malloc(n + 1);
                if (!r) {
                    rc = st_error_set(err, ST_ENOMEM, "out of memory");
                    break;
                }
                memcpy(r, data + pos, n);
                r[n] = '\0';
                out->records[out->n++] = r;
                out->last_seq = seq;
            }
            pos += n + 1;
        }
        free(data);
    }
    free(nums);
    if (rc != ST_OK)
        gw_audit_page_free(out);
    return rc;
}

void
gw_audit_page_free(struct gw_audit_page *p)
{
    for (size_t i = 0; p->records && i < p->n; i++)
        free(p->records[i]);
    free(p->records);
    memset(p, 0, sizeof *p);
}

void
gw__audit_metrics(struct st_buf *b)
{
    pthread_mutex_lock(&A.mu);
    size_t depth = A.n;
    pthread_mutex_unlock(&A.mu);
    st_buf_printf(b,
                  "# HELP strata_audit_events_total Audit events written.\n"
                  "# TYPE strata_audit_events_total counter\nstrata_audit_events_total %llu\n"
                  "# HELP strata_audit_dropped_total Audit events dropped (queue full with "
                  "--audit-overflow=drop, or out of memory).\n"
                  "# TYPE strata_audit_dropped_total counter\nstrata_audit_dropped_total %llu\n"
                  "# HELP strata_audit_blocked_total Requests that waited for room in the audit "
                  "queue.\n# TYPE strata_audit_blocked_total counter\n"
                  "strata_audit_blocked_total %llu\n"
                  "# HELP strata_audit_write_errors_total Failed audit writes.\n"
                  "# TYPE strata_audit_write_errors_total counter\n"
                  "strata_audit_write_errors_total %llu\n"
                  "# HELP strata_audit_syncs_total Audit batches written and synced (group "
                  "commit: one fdatasync per batch).\n"
                  "# TYPE strata_audit_syncs_total counter\nstrata_audit_syncs_total %llu\n"
                  "# HELP strata_audit_files_total Audit files started by this process.\n"
                  "# TYPE strata_audit_files_total counter\nstrata_audit_files_total %llu\n"
                  "# HELP strata_audit_queue_depth Audit events waiting for the writer.\n"
                  "# TYPE strata_audit_queue_depth gauge\nstrata_audit_queue_depth %zu\n",
                  (unsigned long long)atomic_load(&A.c_written),
                  (unsigned long long)atomic_load(&A.c_dropped),
                  (unsigned long long)atomic_load(&A.c_blocked),
                  (unsigned long long)atomic_load(&A.c_errors),
                  (unsigned long long)atomic_load(&A.c_syncs),
                  (unsigned long long)atomic_load(&A.c_files), depth);
}
