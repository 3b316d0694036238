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
 * Encryption: with an encrypting policy, seg_create() gives every segment a
 * fresh data key (wrapped in its header); wal_append() frames each record
 * with room for its GCM tag, and the flush leader seals the records in
 * place (block number = sequence number) once it knows the segment they go
 * to, right before the write (seal_records()). A segment found at recovery
 * is never appended to when encrypted: a record number there may already
 * have been sealed once under its key, so a fresh segment (fresh key) is
 * started instead. Replay opens records through wal_scan_segment().
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
#include "strata/crypt.h"
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
    bool encrypt;          /* the policy encrypts: records are framed for sealing */
    bool seg_enc;          /* the active segment is encrypted (cf is its key) */
    struct crypt_file cf;
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

/* Create and sync a new segment starting at first_seq; it becomes active.
 * O_TRUNC: a segment of that name left by an earlier process (never with a
 * durable record, see recover()) is replaced, and with it its key. */
static enum st_code
seg_create(struct wal *w, uint64_t first_seq, struct st_error *err)
{
    char path[sizeof w->path];
    uint8_t hdr[WAL_ENC_HEADER_LEN];
    struct crypt_file cf;
    size_t hl = WAL_HEADER_LEN;
    memset(&cf, 0, sizeof cf);
    if (w->encrypt) {
        wal_header_encode_encrypted(hdr, first_seq);
        ST_TRY(crypt_slots_new(w->o.pol->keys, "wal", &cf, hdr + WAL_KEYS_OFF, err));
        hl = WAL_ENC_HEADER_LEN;
    } else {
        wal_header_encode(hdr, first_seq);
    }
    seg_path(w, first_seq, path, sizeof path);
    int fd = st_file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600, err);
    if (fd < 0) {
        crypt_file_cleanup(&cf);
        return ST_EIO;
    }
    enum st_code rc = st_file_pwrite_all(fd, hdr, hl, 0, path, err);
    if (rc == ST_OK)
        rc = st_file_fsync(fd, path, err);
    if (rc == ST_OK)
        rc = st_file_fsync_dir(w->dir, err);
    if (rc == ST_OK) {
        /* a leftover of the same name is replaced, not listed twice */
        if (w->n_segs && w->segs[w->n_segs - 1].first_seq == first_seq)
            w->n_segs--;
        if (segs_push(w, first_seq, hl) != 0)
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
    }
    if (rc != ST_OK) {
        st_file_close(fd);
        unlink(path);
        crypt_file_cleanup(&cf);
        return rc;
    }
    if (w->fd >= 0)
        st_file_close(w->fd);
    w->fd = fd;
    memcpy(w->path, path, sizeof path);
    crypt_file_cleanup(&w->cf);
    w->cf = cf;
    w->seg_enc = w->encrypt;
    w->seg_len = hl;
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

/* The full header length a segment image claims (32 or 176): a last segment
 * shorter than that is a crash during its creation. */
static size_t
full_header_len(const uint8_t *buf, size_t len)
{
    return len >= 12 && (buf[10] & 1) ? WAL_ENC_HEADER_LEN : WAL_HEADER_LEN;
}

/* Check every segment's header and key before anything is changed. */
static enum st_code
preflight(struct wal *w, const uint64_t *firsts, size_t n, struct st_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char path[sizeof w->path];
        uint8_t hdr[WAL_ENC_HEADER_LEN];
        seg_path(w, firsts[i], path, sizeof path);
        int fd = st_file_open(path, O_RDONLY, 0, err);
        if (fd < 0)
            return ST_EIO;
        ssize_t got = pread(fd, hdr, sizeof hdr, 0);
        st_file_close(fd);
        if (got < 0)
            return st_error_set(err, ST_EIO, "reading WAL segment \"%s\": %s", path,
                                strerror(errno));
        if (i + 1 == n && (size_t)got < full_header_len(hdr, (size_t)got))
            continue; /* a half-created last segment: recover() removes it */
        uint64_t first;
        size_t hl;
        bool enc;
        enum st_code rc = wal_header_check(hdr, (size_t)got, w->o.pol, &first, &hl, &enc, err);
        if (rc != ST_OK) {
            st_error_prefix(err, "WAL segment \"%s\": ", path);
            return rc;
        }
    }
    return ST_OK;
}

static enum st_code
recover(struct wal *w, uint64_t min_next_seq, wal_replay_fn fn, void *ctx, struct st_error *err)
{
    uint64_t *firsts = NULL;
    size_t n = 0;
    ST_TRY(list_segments(w->dir, &firsts, &n, err));
    enum st_code rc = preflight(w, firsts, n, err);
    if (rc != ST_OK) {
        free(firsts);
        return rc;
    }
    uint64_t last_seq = 0;
    bool last_plain = false; /* the last segment found is plaintext */
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
        rc = wal_scan_segment(buf, len, w->o.max_record_len, w->o.pol, fn, ctx, &res, err);
        size_t full = full_header_len(buf, len);
        free(buf);
        if (rc == ST_ECORRUPT && last && len < full) {
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
        last_plain = !res.encrypted;
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
    /* Reuse an empty plaintext last segment that starts at the next number
     * when writing plaintext; otherwise appends go to a fresh segment and the
     * old ones stay as they are. An encrypted one is never reused: its key
     * may already have sealed that record number (a torn write now cut). */
    if (!w->encrypt && last_plain && w->n_segs &&
        w->segs[w->n_segs - 1].bytes == WAL_HEADER_LEN &&
        w->segs[w->n_segs - 1].first_seq == w->next_seq) {
        seg_path(w, w->next_seq, w->path, sizeof w->path);
        w->fd = st_file_open(w->path, O_RDWR, 0, err);
        if (w->fd < 0)
            return ST_EIO;
        w->seg_len = WAL_HEADER_LEN;
        w->seg_enc = false;
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
    w->encrypt = crypt_policy_encrypts(opts->pol);
    if (w->encrypt && crypt_keyring_count(opts->pol->keys) == 0) {
        free(w);
        return st_error_set(err, ST_ECRYPTO, "WAL encryption needs a master key");
    }
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
    crypt_file_cleanup(&w->cf);
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
    size_t tag = w->encrypt ? WAL_TAG_LEN : 0;
    pthread_mutex_lock(&w->mu);
    enum st_code rc = st_buf_reserve(&w->buf, WAL_RECORD_HEADER_LEN + len + tag);
    if (rc != ST_OK) {
        pthread_mutex_unlock(&w->mu);
        return st_error_set(err, rc, "out of memory buffering a WAL record");
    }
    uint64_t seq = w->next_seq++;
    if (tag)
        wal_record_frame_sealed(hdr, seq, (uint32_t)(len + tag)); /* sealed at flush */
    else
        wal_record_frame(hdr, seq, rec, (uint32_t)len);
    memcpy(w->buf.data + w->buf.len, hdr, sizeof hdr);
    memcpy(w->buf.data + w->buf.len + sizeof hdr, rec, len);
    if (tag)
        memset(w->buf.data + w->buf.len + sizeof hdr + len, 0, tag);
    w->buf.len += sizeof hdr + len + tag;
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

/* Seal the framed records of a flush in place under the active segment's key. */
static enum st_code
seal_records(struct wal *w, uint8_t *data, size_t len, struct st_error *err)
{
    size_t off = 0;
    while (off + WAL_RECORD_HEADER_LEN <= len) {
        uint32_t stored = st_load_u32le(data + off);
        uint64_t seq = st_load_u64le(data + off + 8);
        uint8_t *p = data + off + WAL_RECORD_HEADER_LEN;
        ST_TRY(crypt_seal(&w->cf, "wal", seq, p, stored - WAL_TAG_LEN, p, err));
        off += WAL_RECORD_HEADER_LEN + stored;
    }
    return ST_OK;
}

/* Write and sync [data, len) for records first..last; called by the leader
 * without the mutex. */
static enum st_code
flush_io(struct wal *w, uint8_t *data, size_t len, uint64_t first, struct st_error *err)
{
    enum st_code rc;
    if (w->need_roll || w->seg_enc != w->encrypt ||
        (w->seg_records && w->seg_len + len > w->o.segment_bytes)) {
        rc = seg_create(w, first, err);
        if (rc != ST_OK)
            return rc;
    }
    if (w->encrypt) {
        rc = seal_records(w, data, len, err);
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

/* ---- key rotation, verification --------------------------------------------- */

/* Take the files for the caller (as a flush leader would). */
static void
own_files(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->flushing)
        pthread_cond_wait(&w->cv, &w->mu);
    w->flushing = true;
    pthread_mutex_unlock(&w->mu);
}

static void
release_files(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    w->flushing = false;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

enum st_code
wal_rotate_keys(struct wal *w, uint64_t *rewrapped, uint64_t *current, uint64_t *plain,
                struct st_error *err)
{
    enum st_code rc = ST_OK;
    *rewrapped = *current = *plain = 0;
    if (!w->o.pol || !w->o.pol->keys)
        return st_error_set(err, ST_ECRYPTO, "no master key configured");
    own_files(w);
    for (size_t i = 0; i < w->n_segs && rc == ST_OK; i++) {
        char path[sizeof w->path];
        uint8_t hdr[WAL_HEADER_LEN];
        seg_path(w, w->segs[i].first_seq, path, sizeof path);
        int fd = st_file_open(path, O_RDWR, 0, err);
        if (fd < 0) {
            rc = ST_EIO;
            break;
        }
        rc = st_file_pread_all(fd, hdr, sizeof hdr, 0, path, err);
        if (rc == ST_OK && !(hdr[10] & 1)) {
            (*plain)++;
        } else if (rc == ST_OK) {
            bool changed = false;
            rc = crypt_slots_rotate_fd(w->o.pol->keys, "wal", fd, path, WAL_KEYS_OFF, &changed,
                                       err);
            if (rc == ST_OK)
                (*(changed ? rewrapped : current))++;
        }
        st_file_close(fd);
        if (rc != ST_OK)
            st_error_prefix(err, "rotating the key of WAL segment \"%s\": ", path);
    }
    release_files(w);
    return rc;
}

void
wal_mode_counts(struct wal *w, uint64_t *encrypted, uint64_t *plain)
{
    *encrypted = *plain = 0;
    own_files(w);
    for (size_t i = 0; i < w->n_segs; i++) {
        char path[sizeof w->path];
        uint8_t hdr[WAL_HEADER_LEN];
        seg_path(w, w->segs[i].first_seq, path, sizeof path);
        int fd = st_file_open(path, O_RDONLY, 0, NULL);
        if (fd < 0)
            continue;
        if (pread(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr)
            (*((hdr[10] & 1) ? encrypted : plain))++;
        st_file_close(fd);
    }
    release_files(w);
}

enum st_code
wal_verify(struct wal *w, wal_replay_fn fn, void *fn_ctx, wal_problem_fn report,
           void *report_ctx, uint64_t *files, uint64_t *records, uint64_t *bytes,
           uint64_t *problems, struct st_error *err)
{
    /* The segments and their durable lengths now; bytes below those never
     * change (a failed flush cuts back to the durable length, no lower). */
    own_files(w);
    size_t n = w->n_segs;
    struct seg *segs = malloc((n + 1) * sizeof *segs);
    if (segs)
        memcpy(segs, w->segs, n * sizeof *segs);
    release_files(w);
    if (!segs)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    enum st_code rc = ST_OK;
    for (size_t i = 0; i < n && rc == ST_OK; i++) {
        char path[sizeof w->path];
        seg_path(w, segs[i].first_seq, path, sizeof path);
        struct wal_problem pb = {.path = path};
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* truncated away meanwhile */
            pb.code = ST_EIO;
            pb.reason = strerror(errno);
            (*problems)++;
            if (report)
                report(report_ctx, &pb);
            continue;
        }
        size_t len = (size_t)segs[i].bytes;
        uint8_t *buf = malloc(len + 1);
        if (!buf) {
            close(fd);
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
            break;
        }
        struct st_error e2;
        enum st_code r2 = st_file_pread_all(fd, buf, len, 0, path, &e2);
        close(fd);
        (*files)++;
        struct wal_scan_result res;
        memset(&res, 0, sizeof res);
        if (r2 == ST_OK)
            r2 = wal_scan_segment(buf, len, w->o.max_record_len, w->o.pol, fn, fn_ctx, &res,
                                  &e2);
        free(buf);
        if (r2 != ST_OK) {
            if (r2 == ST_ENOMEM) {
                rc = st_error_set(err, ST_ENOMEM, "out of memory");
                break;
            }
            pb.code = r2;
            pb.reason = e2.msg;
            (*problems)++;
            if (report)
                report(report_ctx, &pb);
            continue;
        }
        *records += res.n_records;
        *bytes += len;
        if (res.torn) {
            char why[160];
            snprintf(why, sizeof why, "%s%s", res.reason,
                     res.corrupt ? ", followed by valid records" : " (torn or damaged tail)");
            pb.code = ST_ECORRUPT;
            pb.offset = res.bad_offset;
            pb.seq = res.last_seq + 1;
            pb.reason = why;
            (*problems)++;
            if (report)
                report(report_ctx, &pb);
        }
    }
    free(segs);
    return rc;
}
