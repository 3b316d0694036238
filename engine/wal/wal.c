/*
 * wal.c: the WAL writer (group commit, segments, truncation) and recovery
 * (see strata/wal.h; the on-disk format is described in wal_format.c).
 *
 * State under `mu`: the append buffer (records framed and numbered, not yet
 * written), the sequence counters, whether a flush is running, and the list
 * of segments. The flush itself (pwrite + fdatasync, maybe a roll to a new
 * segment) runs outside the mutex by one leader at a time; records appended
 * meanwhile go into the other buffer and form the next group.
 *
 * All segment bytes go through seg_write() and seg_read(): the one place
 * where an encryption envelope would seal or open them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strata/buf.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"
#include "strata/wal.h"

#define WAL_DEFAULT_SEGMENT (64ull << 20)
#define WAL_DEFAULT_MAX_RECORD (256u << 20)
#define WAL_MAX_SEGMENT_READ ((size_t)2 << 30)
#define WAL_FAIL_RING 32

struct seg {
    uint64_t first_seq;
    uint64_t bytes;
};

struct wal {
    char *dir;
    struct wal_options o;
    pthread_mutex_t mu;
    pthread_cond_t cv;

    struct st_buf buf;      /* records waiting for the next flush */
    uint64_t buf_first_seq; /* seq of the first record in buf (0 when empty) */
    uint64_t next_seq;      /* next to assign */
    uint64_t durable_seq;   /* every record <= this is durable (or failed) */
    bool flushing;          /* a leader owns the files */

    /* Sequence ranges whose flush failed: their waiters get an error. */
    struct {
        uint64_t lo, hi;
        struct st_error err;
    } fail[WAL_FAIL_RING];
    unsigned n_fail;

    /* Files: owned by the leader while flushing. */
    int fd;
    char path[4096];
    uint64_t seg_len;   /* durable length of the active segment */
    bool seg_records;   /* the active segment holds at least one record */
    bool need_roll;     /* start a new segment before the next write */
    struct seg *segs;   /* all segments, ascending; the last is the active one */
    size_t n_segs, cap_segs;

    uint64_t syncs, records;
};

/* ---- block I/O: the envelope hook ---------------------------------------- */

static enum st_code
seg_write(struct wal *w, const void *p, size_t n, uint64_t off, struct st_error *err)
{
    return st_file_pwrite_all(w->fd, p, n, (off_t)off, w->path, err);
}

static enum st_code
seg_read(const char *path, uint8_t **out, size_t *len, struct st_error *err)
{
    return st_file_read_all(path, WAL_MAX_SEGMENT_READ, out, len, err);
}

/* ---- segments ------------------------------------------------------------ */

static void
seg_path(const struct wal *w, uint64_t first_seq, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%016" PRIx64 ".wal", w->dir, first_seq);
}

static int
segs_push(struct wal *w, uint64_t first_seq, uint64_t bytes)
{
    if (w->n_segs == w->cap_segs) {
        size_t cap = w->cap_segs ? w->cap_segs * 2 : 16;
        struct seg *s = realloc(w->segs, cap * sizeof *s);
        if (!s)
            return -1;
        w->segs = s;
        w->cap_segs = cap;
    }
    w->segs[w->n_segs].first_seq = first_seq;
    w->segs[w->n_segs].bytes = bytes;
    w->n_segs++;
    return 0;
}

/* Create and sync a new segment starting at first_seq; it becomes active. */
static enum st_code
seg_create(struct wal *w, uint64_t first_seq, struct st_error *err)
{
    char path[sizeof w->path];
    uint8_t hdr[WAL_HEADER_LEN];
    seg_path(w, first_seq, path, sizeof path);
    int fd = st_file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600, err);
    if (fd < 0)
        return ST_EIO;
    wal_header_encode(hdr, first_seq);
    enum st_code rc = st_file_pwrite_all(fd, hdr, sizeof hdr, 0, path, err);
    if (rc == ST_OK)
        rc = st_file_fsync(fd, path, err);
    if (rc == ST_OK)
        rc = st_file_fsync_dir(w->dir, err);
    if (rc == ST_OK && segs_push(w, first_seq, WAL_HEADER_LEN) != 0)
        rc = st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc != ST_OK) {
        st_file_close(fd);
        unlink(path);
        return rc;
    }
    if (w->fd >= 0)
        st_file_close(w->fd);
    w->fd = fd;
    memcpy(w->path, path, sizeof path);
    w->seg_len = WAL_HEADER_LEN;
    w->seg_records = false;
    w->need_roll = false;
    return ST_OK;
}

/* ---- open / recovery ------------------------------------------------------ */

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static enum st_code
list_segments(const char *dir, uint64_t **out, size_t *n_out, struct st_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return st_error_set(err, ST_EIO, "opening WAL directory \"%s\": %s", dir, strerror(errno));
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (strlen(nm) != 20 || strcmp(nm + 16, ".wal") != 0)
            continue;
        char *end;
        uint64_t s = strtoull(nm, &end, 16);
        if (end != nm + 16)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                return st_error_set(err, ST_ENOMEM, "out of memory");
            }
            v = nv;
        }
        v[n++] = s;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_u64);
    *out = v;
    *n_out = n;
    return ST_OK;
}

static enum st_code
recover(struct wal *w, uint64_t min_next_seq, wal_replay_fn fn, void *ctx, struct st_error *err)
{
    uint64_t *firsts = NULL;
    size_t n = 0;
    ST_TRY(list_segments(w->dir, &firsts, &n, err));
    uint64_t last_seq = 0;
    enum st_code rc = ST_OK;
    for (size_t i = 0; i < n && rc == ST_OK; i++) {
        char path[sizeof w->path];
        uint8_t *buf = NULL;
        size_t len = 0;
        bool last = i + 1 == n;
        seg_path(w, firsts[i], path, sizeof path);
        rc = seg_read(path, &buf, &len, err);
        if (rc != ST_OK)
            break;
        struct wal_scan_result res;
        rc = wal_scan_segment(buf, len, w->o.max_record_len, fn, ctx, &res, err);
        free(buf);
        if (rc == ST_ECORRUPT && last && len < WAL_HEADER_LEN) {
            /* Crash while creating the segment: it never held a record. */
            st_log(ST_LOG_WARN, "wal", "segment \"%s\": incomplete header (%zu bytes), removed",
                   path, len);
            unlink(path);
            rc = ST_OK;
            continue;
        }
        if (rc != ST_OK) {
            st_error_prefix(err, "WAL segment \"%s\": ", path);
            break;
        }
        if (res.first_seq != firsts[i] || (last_seq && res.first_seq <= last_seq)) {
            rc = st_error_set(err, ST_ECORRUPT,
                              "WAL segment \"%s\": first sequence %" PRIu64
                              " does not follow %" PRIu64,
                              path, res.first_seq, last_seq);
            break;
        }
        if (res.corrupt) {
            rc = st_error_set(err, ST_ECORRUPT,
                              "WAL segment \"%s\": corrupt record at offset %zu (%s) followed by "
                              "valid records; refusing to drop acknowledged writes",
                              path, res.bad_offset, res.reason);
            break;
        }
        if (res.torn) {
            st_log(ST_LOG_WARN, "wal",
                   "segment \"%s\": torn tail at offset %zu (%s): cutting %zu bytes after record "
                   "%" PRIu64,
                   path, res.bad_offset, res.reason, len - res.good_len, res.last_seq);
            int fd = st_file_open(path, O_RDWR, 0, err);
            if (fd < 0) {
                rc = ST_EIO;
                break;
            }
            rc = st_file_truncate(fd, (off_t)res.good_len, path, err);
            if (rc == ST_OK)
                rc = st_file_fsync(fd, path, err);
            st_file_close(fd);
            if (rc != ST_OK)
                break;
        }
        if (res.n_records)
            last_seq = res.last_seq;
        else if (res.first_seq - 1 > last_seq)
            last_seq = res.first_seq - 1;
        if (segs_push(w, res.first_seq, res.good_len) != 0)
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
    }
    free(firsts);
    if (rc != ST_OK)
        return rc;
    w->next_seq = last_seq + 1;
    if (w->next_seq < min_next_seq)
        w->next_seq = min_next_seq;
    if (w->next_seq == 0)
        w->next_seq = 1;
    w->durable_seq = w->next_seq - 1;
    /* Reuse an empty last segment that starts at the next number; otherwise
     * appends go to a fresh segment and the old ones stay as they are. */
    if (w->n_segs && w->segs[w->n_segs - 1].bytes == WAL_HEADER_LEN &&
        w->segs[w->n_segs - 1].first_seq == w->next_seq) {
        seg_path(w, w->next_seq, w->path, sizeof w->path);
        w->fd = st_file_open(w->path, O_RDWR, 0, err);
        if (w->fd < 0)
            return ST_EIO;
        w->seg_len = WAL_HEADER_LEN;
        return ST_OK;
    }
    return seg_create(w, w->next_seq, err);
}

enum st_code
wal_open(const struct wal_options *opts, uint64_t min_next_seq, wal_replay_fn fn, void *ctx,
         struct wal **out, struct st_error *err)
{
    struct wal *w = calloc(1, sizeof *w);
    if (!w)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    w->o = *opts;
    if (!w->o.segment_bytes)
        w->o.segment_bytes = WAL_DEFAULT_SEGMENT;
    if (!w->o.max_record_len)
        w->o.max_record_len = WAL_DEFAULT_MAX_RECORD;
    w->fd = -1;
    w->dir = strdup(opts->dir);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    st_buf_init(&w->buf, SIZE_MAX);
    enum st_code rc = w->dir ? st_mkdir_p(w->dir, 0700, err)
                             : st_error_set(err, ST_ENOMEM, "out of memory");
    if (rc == ST_OK)
        rc = recover(w, min_next_seq, fn, ctx, err);
    if (rc != ST_OK) {
        wal_close(w);
        return rc;
    }
    *out = w;
    return ST_OK;
}

void
wal_close(struct wal *w)
{
    if (!w)
        return;
    if (w->fd >= 0 && w->buf.len)
        wal_sync(w, 0, NULL);
    st_file_close(w->fd);
    st_buf_cleanup(&w->buf);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->segs);
    free(w->dir);
    free(w);
}

/* ---- append and group commit ---------------------------------------------- */

enum st_code
wal_append(struct wal *w, const void *rec, size_t len, uint64_t *seq_out, struct st_error *err)
{
    uint8_t hdr[WAL_RECORD_HEADER_LEN];
    if (len == 0 || len > w->o.max_record_len)
        return st_error_set(err, ST_ELIMIT, "WAL record of %zu bytes (limit %u)", len,
                            w->o.max_record_len);
    pthread_mutex_lock(&w->mu);
    enum st_code rc = st_buf_reserve(&w->buf, WAL_RECORD_HEADER_LEN + len);
    if (rc != ST_OK) {
        pthread_mutex_unlock(&w->mu);
        return st_error_set(err, rc, "out of memory buffering a WAL record");
    }
    uint64_t seq = w->next_seq++;
    wal_record_frame(hdr, seq, rec, (uint32_t)len);
    memcpy(w->buf.data + w->buf.len, hdr, sizeof hdr);
    memcpy(w->buf.data + w->buf.len + sizeof hdr, rec, len);
    w->buf.len += sizeof hdr + len;
    if (!w->buf_first_seq)
        w->buf_first_seq = seq;
    w->records++;
    pthread_mutex_unlock(&w->mu);
    *seq_out = seq;
    return ST_OK;
}

static bool
failed_lookup(struct wal *w, uint64_t seq, struct st_error *err)
{
    unsigned n = w->n_fail < WAL_FAIL_RING ? w->n_fail : WAL_FAIL_RING;
    for (unsigned i = 0; i < n; i++) {
        if (seq >= w->fail[i].lo && seq <= w->fail[i].hi) {
            if (err)
                *err = w->fail[i].err;
            return true;
        }
    }
    return false;
}

/* Write and sync [data, len) for records first..last; called by the leader
 * without the mutex. */
static enum st_code
flush_io(struct wal *w, const uint8_t *data, size_t len, uint64_t first, struct st_error *err)
{
    enum st_code rc;
    if (w->need_roll || (w->seg_records && w->seg_len + len > w->o.segment_bytes)) {
        rc = seg_create(w, first, err);
        if (rc != ST_OK)
            return rc;
    }
    rc = seg_write(w, data, len, w->seg_len, err);
    if (rc == ST_OK)
        rc = st_file_fsync(w->fd, w->path, err);
    if (rc != ST_OK) {
        /* Cut back to the last durable byte; the next flush starts a new segment
         * because these sequence numbers are burned. */
        struct st_error e2;
        if (st_file_truncate(w->fd, (off_t)w->seg_len, w->path, &e2) == ST_OK)
            st_file_fsync(w->fd, w->path, &e2);
        w->need_roll = true;
        return rc;
    }
    w->seg_len += len;
    w->seg_records = true;
    w->segs[w->n_segs - 1].bytes = w->seg_len;
    return ST_OK;
}

enum st_code
wal_sync(struct wal *w, uint64_t seq, struct st_error *err)
{
    struct st_buf mine;
    st_buf_init(&mine, SIZE_MAX);
    pthread_mutex_lock(&w->mu);
    if (seq == 0)
        seq = w->next_seq - 1;
    for (;;) {
        if (failed_lookup(w, seq, err)) {
            pthread_mutex_unlock(&w->mu);
            st_buf_cleanup(&mine);
            return err ? err->code : ST_EIO;
        }
        if (seq <= w->durable_seq) {
            pthread_mutex_unlock(&w->mu);
            st_buf_cleanup(&mine);
            return ST_OK;
        }
        if (w->flushing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        /* Become the leader. */
        w->flushing = true;
        if (w->o.group_commit_ns > 0) {
            pthread_mutex_unlock(&w->mu);
            struct timespec ts = {(time_t)(w->o.group_commit_ns / ST_NS_PER_SEC),
                                  (long)(w->o.group_commit_ns % ST_NS_PER_SEC)};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&w->mu);
        }
        struct st_buf tmp = w->buf;
        w->buf = mine;
        mine = tmp;
        uint64_t first = w->buf_first_seq, last = w->next_seq - 1;
        w->buf_first_seq = 0;
        pthread_mutex_unlock(&w->mu);

        struct st_error ferr;
        st_error_clear(&ferr);
        enum st_code rc = mine.len ? flush_io(w, mine.data, mine.len, first, &ferr) : ST_OK;
        if (rc == ST_OK && mine.len)
            w->syncs++;
        st_buf_reset(&mine);

        pthread_mutex_lock(&w->mu);
        if (rc != ST_OK && first) {
            unsigned i = w->n_fail++ % WAL_FAIL_RING;
            w->fail[i].lo = first;
            w->fail[i].hi = last;
            w->fail[i].err = ferr;
            st_log(ST_LOG_ERROR, "wal", "flush of records %" PRIu64 "..%" PRIu64 " failed: %s",
                   first, last, ferr.msg);
        }
        if (last > w->durable_seq)
            w->durable_seq = last;
        w->flushing = false;
        pthread_cond_broadcast(&w->cv);
    }
}

/* ---- truncation ----------------------------------------------------------- */

enum st_code
wal_truncate(struct wal *w, uint64_t upto_seq, struct st_error *err)
{
    enum st_code rc = ST_OK;
    pthread_mutex_lock(&w->mu);
    while (w->flushing)
        pthread_cond_wait(&w->cv, &w->mu);
    w->flushing = true;
    /* Roll the active segment when everything in it is covered. */
    bool roll = w->seg_records && w->durable_seq <= upto_seq && w->buf.len == 0 &&
                w->next_seq - 1 <= upto_seq;
    uint64_t roll_first = w->next_seq;
    pthread_mutex_unlock(&w->mu);

    if (roll)
        rc = seg_create(w, roll_first, err);
    size_t keep_from = 0;
    for (size_t i = 0; i + 1 < w->n_segs; i++) {
        if (w->segs[i + 1].first_seq > upto_seq + 1)
            break;
        char path[sizeof w->path];
        seg_path(w, w->segs[i].first_seq, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = st_error_set(err, ST_EIO, "removing WAL segment \"%s\": %s", path,
                              strerror(errno));
            break;
        }
        keep_from = i + 1;
    }
    if (keep_from) {
        memmove(w->segs, w->segs + keep_from, (w->n_segs - keep_from) * sizeof *w->segs);
        w->n_segs -= keep_from;
    }

    pthread_mutex_lock(&w->mu);
    w->flushing = false;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ---- accessors ------------------------------------------------------------ */

uint64_t
wal_last_seq(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t s = w->next_seq - 1;
    pthread_mutex_unlock(&w->mu);
    return s;
}

uint64_t
wal_durable_seq(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t s = w->durable_seq;
    pthread_mutex_unlock(&w->mu);
    return s;
}

size_t
wal_pending_bytes(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->buf.len;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void
wal_get_stats(struct wal *w, struct wal_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&w->mu);
    while (w->flushing)
        pthread_cond_wait(&w->cv, &w->mu);
    for (size_t i = 0; i < w->n_segs; i++)
        out->bytes_on_disk += w->segs[i].bytes;
    out->n_segments = w->n_segs;
    out->syncs = w->syncs;
    out->records = w->records;
    pthread_mutex_unlock(&w->mu);
}
