/*
 * test_wal.c: the WAL: append and replay, group commit, segments and
 * truncation, torn tails cut at every byte offset, bit flips, corruption in
 * the middle, and I/O faults (a failed flush is reported to its writers,
 * nothing acknowledged is lost, later writes work); and the same for
 * encrypted segments (no plaintext, every flipped bit detected, a wrong key
 * changes nothing, a segment is never appended to across opens, key rotation).
 */
#include "th.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/crypt.h"
#include "strata/file.h"
#include "strata/log.h"
#include "strata/wal.h"

struct got {
    uint64_t seq[4096];
    char rec[4096][32];
    size_t n;
};

static enum st_code
collect(void *ctx, uint64_t seq, const uint8_t *rec, size_t len, struct st_error *err)
{
    struct got *g = ctx;
    (void)err;
    if (g->n < 4096) {
        g->seq[g->n] = seq;
        size_t l = len < 31 ? len : 31;
        memcpy(g->rec[g->n], rec, l);
        g->rec[g->n][l] = 0;
        g->n++;
    }
    return ST_OK;
}

static struct wal *
open_wal(const char *dir, struct got *g, uint64_t seg_bytes)
{
    struct wal_options o = {.dir = dir, .segment_bytes = seg_bytes};
    struct wal *w;
    struct st_error err;
    if (g)
        memset(g, 0, sizeof *g);
    ASSERT_OK_E(wal_open(&o, 1, collect, g, &w, &err), &err);
    return w;
}

static uint64_t
append_sync(struct wal *w, const char *s)
{
    uint64_t seq;
    struct st_error err;
    ASSERT_OK_E(wal_append(w, s, strlen(s), &seq, &err), &err);
    ASSERT_OK_E(wal_sync(w, seq, &err), &err);
    return seq;
}

/* Path of the only (or last) segment with records. */
static void
last_segment(const char *dir, char *out, size_t cap, off_t min_size)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char best[256] = "";
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".wal"))
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        stat(p, &st);
        if (st.st_size >= min_size && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    closedir(d);
    snprintf(out, cap, "%s/%s", dir, best);
}

TEST(append_sync_and_replay_in_order)
{
    struct got g;
    const char *dir = th_path("wal");
    struct wal *w = open_wal(dir, &g, 0);
    ASSERT_EQ_INT(g.n, 0);
    ASSERT_EQ_U64(append_sync(w, "one"), 1);
    ASSERT_EQ_U64(append_sync(w, "two"), 2);
    ASSERT_EQ_U64(append_sync(w, "three"), 3);
    ASSERT_EQ_U64(wal_durable_seq(w), 3);
    wal_close(w);
    w = open_wal(dir, &g, 0);
    ASSERT_EQ_INT(g.n, 3);
    ASSERT_EQ_STR(g.rec[0], "one");
    ASSERT_EQ_STR(g.rec[2], "three");
    ASSERT_EQ_U64(g.seq[2], 3);
    ASSERT_EQ_U64(append_sync(w, "four"), 4);
    wal_close(w);
    w = open_wal(dir, &g, 0);
    ASSERT_EQ_INT(g.n, 4);
    ASSERT_EQ_STR(g.rec[3], "four");
    wal_close(w);
}

TEST(numbering_never_goes_back_below_min_next_seq)
{
    const char *dir = th_path("wal");
    struct wal_options o = {.dir = dir};
    struct wal *w;
    struct st_error err;
    ASSERT_OK_E(wal_open(&o, 500, NULL, NULL, &w, &err), &err);
    ASSERT_EQ_U64(append_sync(w, "x"), 500);
    ASSERT_OK_E(wal_truncate(w, 500, &err), &err);
    wal_close(w);
    /* every record truncated away: the empty segment still carries the number */
    ASSERT_OK_E(wal_open(&o, 1, NULL, NULL, &w, &err), &err);
    ASSERT_EQ_U64(append_sync(w, "y"), 501);
    wal_close(w);
}

TEST(rejects_empty_and_oversized_records)
{
    struct wal_options o = {.dir = th_path("wal"), .max_record_len = 16};
    struct wal *w;
    struct st_error err;
    uint64_t seq;
    ASSERT_OK_E(wal_open(&o, 1, NULL, NULL, &w, &err), &err);
    ASSERT_CODE(wal_append(w, "", 0, &seq, &err), ST_ELIMIT);
    ASSERT_CODE(wal_append(w, "01234567890123456", 17, &seq, &err), ST_ELIMIT);
    ASSERT_CONTAINS(err.msg, "17 bytes");
    wal_close(w);
}

TEST(torn_tail_cut_at_every_byte_offset_of_the_last_record)
{
    st_log_set_level(ST_LOG_ERROR); /* one "torn tail" line per offset otherwise */
    const char *dir = th_path("wal");
    struct got g;
    struct wal *w = open_wal(dir, &g, 0);
    append_sync(w, "first-record");
    append_sync(w, "second-record");
    append_sync(w, "last-record-here");
    wal_close(w);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 100);
    struct stat st;
    ASSERT_EQ_INT(stat(seg, &st), 0);
    off_t full = st.st_size;
    off_t last_start = full - (off_t)(WAL_RECORD_HEADER_LEN + strlen("last-record-here"));
    uint8_t *img = malloc((size_t)full);
    int fd = open(seg, O_RDONLY);
    ASSERT_EQ_INT(pread(fd, img, (size_t)full, 0), full);
    close(fd);
    for (off_t cut = last_start; cut < full; cut++) {
        fd = open(seg, O_WRONLY | O_TRUNC);
        ASSERT_EQ_INT(write(fd, img, (size_t)cut), cut);
        close(fd);
        w = open_wal(dir, &g, 0);
        ASSERT_EQ_INT(g.n, 2);
        ASSERT_EQ_STR(g.rec[1], "second-record");
        /* the tail was cut from the file */
        ASSERT_EQ_INT(stat(seg, &st), 0);
        ASSERT_EQ_INT(st.st_size, last_start);
        /* new records continue after the cut */
        ASSERT_EQ_U64(append_sync(w, "again"), 3);
        wal_close(w);
        w = open_wal(dir, &g, 0);
        ASSERT_EQ_INT(g.n, 3);
        ASSERT_EQ_STR(g.rec[2], "again");
        wal_close(w);
        /* reset: remove the segments and rewrite the original */
        DIR *d = opendir(dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strstr(de->d_name, ".wal"))
                continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
        fd = open(seg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_EQ_INT(write(fd, img, (size_t)full), full);
        close(fd);
    }
    free(img);
}

TEST(bit_flips_in_the_last_record_drop_only_it)
{
    st_log_set_level(ST_LOG_ERROR);
    const char *dir = th_path("wal");
    struct got g;
    struct wal *w = open_wal(dir, &g, 0);
    append_sync(w, "keep-me");
    append_sync(w, "flip-me-please");
    wal_close(w);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 40);
    struct stat st;
    stat(seg, &st);
    off_t last_start = st.st_size - (off_t)(WAL_RECORD_HEADER_LEN + strlen("flip-me-please"));
    for (off_t off = last_start; off < st.st_size; off++) {
        for (int bit = 0; bit < 8; bit += 3) {
            int fd = open(seg, O_RDWR);
            uint8_t b;
            ASSERT_EQ_INT(pread(fd, &b, 1, off), 1);
            uint8_t f = b ^ (uint8_t)(1u << bit);
            ASSERT_EQ_INT(pwrite(fd, &f, 1, off), 1);
            close(fd);
            struct wal_options o = {.dir = dir};
            struct st_error err;
            struct wal *w2;
            memset(&g, 0, sizeof g);
            ASSERT_OK_E(wal_open(&o, 1, collect, &g, &w2, &err), &err);
            ASSERT_EQ_INT(g.n, 1);
            ASSERT_EQ_STR(g.rec[0], "keep-me");
            wal_close(w2);
            /* restore the byte (the open cut the file: rewrite it whole) */
            fd = open(seg, O_RDWR);
            ASSERT_EQ_INT(pwrite(fd, &b, 1, off), 1);
            close(fd);
            ASSERT_EQ_INT(truncate(seg, st.st_size), 0);
            /* the empty segment created by the open above: drop it */
            DIR *d = opendir(dir);
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                char p[1024];
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                if (strstr(de->d_name, ".wal") && strcmp(p, seg) != 0)
                    unlink(p);
            }
            closedir(d);
        }
    }
}

TEST(corruption_followed_by_valid_records_refuses_to_open)
{
    const char *dir = th_path("wal");
    struct got g;
    struct wal *w = open_wal(dir, &g, 0);
    append_sync(w, "record-one");
    append_sync(w, "record-two");
    append_sync(w, "record-three");
    wal_close(w);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 60);
    int fd = open(seg, O_RDWR);
    uint8_t b;
    off_t off = WAL_HEADER_LEN + WAL_RECORD_HEADER_LEN + 3; /* inside record one */
    pread(fd, &b, 1, off);
    b ^= 0x40;
    pwrite(fd, &b, 1, off);
    close(fd);
    struct wal_options o = {.dir = dir};
    struct st_error err;
    struct wal *w2;
    ASSERT_CODE(wal_open(&o, 1, collect, &g, &w2, &err), ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "corrupt record at offset 32");
    ASSERT_CONTAINS(err.msg, ".wal");
}

TEST(bad_segment_header_is_corrupt)
{
    const char *dir = th_path("wal");
    struct wal *w = open_wal(dir, NULL, 0);
    append_sync(w, "abc");
    wal_close(w);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 40);
    int fd = open(seg, O_RDWR);
    pwrite(fd, "X", 1, 0);
    close(fd);
    struct wal_options o = {.dir = dir};
    struct st_error err;
    struct wal *w2;
    ASSERT_CODE(wal_open(&o, 1, NULL, NULL, &w2, &err), ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "bad magic");
}

TEST(segments_roll_and_truncate)
{
    const char *dir = th_path("wal");
    struct got g;
    struct wal *w = open_wal(dir, &g, 200);
    for (int i = 0; i < 40; i++) {
        char r[32];
        snprintf(r, sizeof r, "record-%02d-padding-padding", i);
        append_sync(w, r);
    }
    struct wal_stats st;
    wal_get_stats(w, &st);
    ASSERT_TRUE(st.n_segments > 5);
    struct st_error err;
    ASSERT_OK_E(wal_truncate(w, 30, &err), &err);
    wal_close(w);
    w = open_wal(dir, &g, 200);
    /* records up to 30 may be gone (whole segments only); 31..40 all there, in order */
    ASSERT_TRUE(g.n >= 10 && g.n < 40);
    ASSERT_EQ_U64(g.seq[g.n - 1], 40);
    for (size_t i = 1; i < g.n; i++)
        ASSERT_EQ_U64(g.seq[i], g.seq[i - 1] + 1);
    ASSERT_OK_E(wal_truncate(w, 40, &err), &err);
    wal_close(w);
    w = open_wal(dir, &g, 200);
    ASSERT_EQ_INT(g.n, 0);
    ASSERT_EQ_U64(append_sync(w, "after"), 41);
    wal_close(w);
}

struct gc_arg {
    struct wal *w;
    int n;
    int fails;
};

static void *
gc_writer(void *p)
{
    struct gc_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        uint64_t seq;
        struct st_error err;
        char r[32];
        snprintf(r, sizeof r, "w%d", i);
        if (wal_append(a->w, r, strlen(r), &seq, &err) != ST_OK ||
            wal_sync(a->w, seq, &err) != ST_OK || wal_durable_seq(a->w) < seq)
            a->fails++;
    }
    return NULL;
}

TEST(group_commit_shares_fsyncs_between_writers)
{
    const char *dir = th_path("wal");
    struct wal_options o = {.dir = dir, .group_commit_ns = 200000};
    struct wal *w;
    struct st_error err;
    ASSERT_OK_E(wal_open(&o, 1, NULL, NULL, &w, &err), &err);
    pthread_t th[8];
    struct gc_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (struct gc_arg){w, 50, 0};
        pthread_create(&th[i], NULL, gc_writer, &a[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ_INT(a[i].fails, 0);
    }
    struct wal_stats st;
    wal_get_stats(w, &st);
    ASSERT_EQ_U64(st.records, 400);
    ASSERT_TRUE(st.syncs < 400);
    wal_close(w);
    struct got g;
    w = open_wal(dir, &g, 0);
    ASSERT_EQ_INT(g.n, 400);
    wal_close(w);
}

static void
fault_case(enum st_fault_op op, int e)
{
    const char *dir = th_path("wal");
    struct got g;
    struct wal *w = open_wal(dir, &g, 0);
    append_sync(w, "before");
    struct st_fault f = {.op = op, .count = 1, .err = e, .short_bytes = 5,
                         .path_substr = ".wal"};
    st_fault_arm(&f);
    uint64_t seq;
    struct st_error err;
    ASSERT_OK_E(wal_append(w, "lost", 4, &seq, &err), &err);
    ASSERT_CODE(wal_sync(w, seq, &err), ST_EIO);
    ASSERT_CONTAINS(err.msg, e == ENOSPC ? "No space" : "Input/output");
    st_fault_disarm();
    /* the WAL recovers: the next write goes to a new segment */
    ASSERT_EQ_U64(append_sync(w, "after"), seq + 1);
    wal_close(w);
    w = open_wal(dir, &g, 0);
    ASSERT_EQ_INT(g.n, 2);
    ASSERT_EQ_STR(g.rec[0], "before");
    ASSERT_EQ_STR(g.rec[1], "after");
    wal_close(w);
}

TEST(enospc_on_write_refuses_the_record_and_recovers)
{
    fault_case(ST_FAULT_WRITE, ENOSPC);
}

TEST(fsync_failure_refuses_the_record_and_recovers)
{
    fault_case(ST_FAULT_FSYNC, EIO);
}

TEST(scan_segment_reports_torn_and_corrupt)
{
    uint8_t buf[256];
    wal_header_encode(buf, 7);
    size_t off = WAL_HEADER_LEN;
    const char *p1 = "hello";
    wal_record_frame(buf + off, 7, p1, 5);
    memcpy(buf + off + WAL_RECORD_HEADER_LEN, p1, 5);
    off += WAL_RECORD_HEADER_LEN + 5;
    struct wal_scan_result r;
    struct st_error err;
    ASSERT_OK(wal_scan_segment(buf, off, 0, NULL, NULL, NULL, &r, &err));
    ASSERT_EQ_U64(r.first_seq, 7);
    ASSERT_EQ_U64(r.last_seq, 7);
    ASSERT_FALSE(r.torn);
    ASSERT_OK(wal_scan_segment(buf, off - 1, 0, NULL, NULL, NULL, &r, &err));
    ASSERT_TRUE(r.torn);
    ASSERT_FALSE(r.corrupt);
    ASSERT_EQ_INT(r.good_len, WAL_HEADER_LEN);
    ASSERT_CODE(wal_scan_segment(buf, 10, 0, NULL, NULL, NULL, &r, &err), ST_ECORRUPT);
}

/* ---- encrypted segments ------------------------------------------------------ */

static struct crypt_keyring *
key_ring(uint8_t v)
{
    uint8_t k[CRYPT_KEY_LEN];
    for (int i = 0; i < CRYPT_KEY_LEN; i++)
        k[i] = (uint8_t)(v * 3 + i);
    struct crypt_keyring *kr = crypt_keyring_new();
    ASSERT_OK(crypt_keyring_add(kr, k, true, NULL));
    return kr;
}

static struct wal *
open_enc(const char *dir, struct got *g, const struct crypt_policy *pol, struct st_error *err)
{
    struct wal_options o = {.dir = dir, .pol = pol};
    struct wal *w = NULL;
    if (g)
        memset(g, 0, sizeof *g);
    if (wal_open(&o, 1, collect, g, &w, err) != ST_OK)
        return NULL;
    return w;
}

static uint8_t *
read_file(const char *p, size_t *len)
{
    struct st_error err;
    uint8_t *b = NULL;
    ASSERT_OK(st_file_read_all(p, 1 << 24, &b, len, &err));
    return b;
}

static off_t
tf_size_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static size_t
count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, ".wal") != NULL;
    closedir(d);
    return n;
}

TEST(encrypted_records_replay_and_hold_no_plaintext)
{
    struct crypt_keyring *kr = key_ring(1);
    struct crypt_policy pol = {kr, true, false, true};
    const char *dir = th_path("wal");
    struct got g;
    struct st_error err;
    struct wal *w = open_enc(dir, &g, &pol, &err);
    ASSERT_TRUE(w != NULL);
    append_sync(w, "secret-one");
    append_sync(w, "secret-two");
    wal_close(w);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 100);
    size_t len;
    uint8_t *b = read_file(seg, &len);
    ASSERT_TRUE(memmem(b, len, "secret", 6) == NULL);
    ASSERT_EQ_INT(len, WAL_ENC_HEADER_LEN + 2 * (WAL_RECORD_HEADER_LEN + 10 + WAL_TAG_LEN));
    free(b);
    size_t before = count_segments(dir);
    w = open_enc(dir, &g, &pol, &err);
    ASSERT_TRUE(w != NULL);
    ASSERT_EQ_INT(g.n, 2);
    ASSERT_EQ_STR(g.rec[0], "secret-one");
    ASSERT_EQ_STR(g.rec[1], "secret-two");
    /* never appended to across opens: a fresh segment (a fresh key) */
    ASSERT_EQ_INT(count_segments(dir), before + 1);
    ASSERT_EQ_U64(append_sync(w, "secret-three"), 3);
    wal_close(w);
    ASSERT_EQ_INT(tf_size_of(seg), WAL_ENC_HEADER_LEN + 2 * (WAL_RECORD_HEADER_LEN + 10 + 16));
    w = open_enc(dir, &g, &pol, &err);
    ASSERT_EQ_INT(g.n, 3);
    ASSERT_EQ_STR(g.rec[2], "secret-three");
    wal_close(w);
    /* plaintext policy: refused, naming the mode */
    struct crypt_policy plain = {NULL, false, true, false};
    ASSERT_TRUE(open_enc(dir, &g, &plain, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "encrypted");
    crypt_keyring_free(kr);
}

TEST(encrypted_torn_tail_cut_at_every_byte_offset_of_the_last_record)
{
    st_log_set_level(ST_LOG_ERROR);
    struct crypt_keyring *kr = key_ring(2);
    struct crypt_policy pol = {kr, true, false, true};
    const char *dir = th_path("wal");
    struct got g;
    struct st_error err;
    struct wal *w = open_enc(dir, &g, &pol, &err);
    append_sync(w, "first-record");
    append_sync(w, "last-record-here");
    wal_close(w);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 200);
    size_t full;
    uint8_t *img = read_file(seg, &full);
    size_t last_start = full - (WAL_RECORD_HEADER_LEN + strlen("last-record-here") + WAL_TAG_LEN);
    for (size_t cut = last_start; cut < full; cut++) {
        DIR *d = opendir(dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (strstr(de->d_name, ".wal"))
                unlink(p);
        }
        closedir(d);
        int fd = open(seg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_EQ_INT(write(fd, img, cut), (ssize_t)cut);
        close(fd);
        w = open_enc(dir, &g, &pol, &err);
        ASSERT_TRUE(w != NULL);
        ASSERT_EQ_INT(g.n, 1);
        ASSERT_EQ_STR(g.rec[0], "first-record");
        ASSERT_EQ_U64(append_sync(w, "again"), 2);
        wal_close(w);
        w = open_enc(dir, &g, &pol, &err);
        ASSERT_EQ_INT(g.n, 2);
        ASSERT_EQ_STR(g.rec[1], "again");
        wal_close(w);
    }
    free(img);
    crypt_keyring_free(kr);
}

TEST(encrypted_every_flipped_bit_is_detected_never_replayed)
{
    st_log_set_level(ST_LOG_ERROR);
    int fd2 = open(th_path("stderr.log"), O_WRONLY | O_CREAT, 0600);
    dup2(fd2, 2);
    close(fd2);
    struct crypt_keyring *kr = key_ring(3);
    struct crypt_policy pol = {kr, true, false, true};
    const char *dir = th_path("wal");
    struct got g;
    struct st_error err;
    struct wal *w = open_enc(dir, &g, &pol, &err);
    append_sync(w, "rec-a");
    append_sync(w, "rec-b");
    append_sync(w, "rec-c");
    wal_close(w);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 200);
    size_t full;
    uint8_t *img = read_file(seg, &full);
    size_t rec = WAL_RECORD_HEADER_LEN + 5 + WAL_TAG_LEN, last = full - rec;
    unsigned failed = 0, dropped = 0;
    for (size_t bit = 0; bit < full * 8; bit++) {
        size_t at = bit / 8;
        if (at >= WAL_KEYS_OFF + CRYPT_FILE_KEY_LEN && at < WAL_ENC_HEADER_LEN)
            continue; /* the empty second key slot */
        DIR *d = opendir(dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (strstr(de->d_name, ".wal"))
                unlink(p);
        }
        closedir(d);
        img[at] ^= (uint8_t)(1u << (bit % 8));
        int fd = open(seg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_EQ_INT(write(fd, img, full), (ssize_t)full);
        close(fd);
        img[at] ^= (uint8_t)(1u << (bit % 8));
        w = open_enc(dir, &g, &pol, &err);
        if (!w) {
            /* the header, the key (a flipped bit in a key id looks like an
             * unknown key: ECRYPTO), or damage before valid records */
            if (err.code != ST_ECORRUPT && err.code != ST_EUNSUPPORTED && err.code != ST_ECRYPTO)
                th_fail(__FILE__, __LINE__, "bit %zu: %s: %s", bit, st_code_name(err.code), err.msg);
            ASSERT_CONTAINS(err.msg, seg);
            ASSERT_TRUE(at < last);
            failed++;
            continue;
        }
        /* damage in the last record: a torn tail, that record alone dropped */
        ASSERT_TRUE(at >= last);
        ASSERT_EQ_INT(g.n, 2);
        ASSERT_EQ_STR(g.rec[0], "rec-a");
        ASSERT_EQ_STR(g.rec[1], "rec-b");
        dropped++;
        wal_close(w);
    }
    ASSERT_TRUE(failed > 1000);
    ASSERT_EQ_INT(dropped, rec * 8);
    free(img);
    crypt_keyring_free(kr);
}

TEST(encrypted_wrong_key_fails_and_changes_nothing_then_rotation_works)
{
    struct crypt_keyring *k1 = key_ring(4), *k2 = key_ring(5), *both = key_ring(4);
    ASSERT_OK(crypt_keyring_merge(both, k2, true, NULL));
    struct crypt_policy p1 = {k1, true, false, true}, p2 = {k2, true, false, true},
                        pb = {both, true, false, true};
    const char *dir = th_path("wal");
    struct got g;
    struct st_error err;
    struct wal *w = open_enc(dir, &g, &p1, &err);
    append_sync(w, "a");
    wal_close(w);
    w = open_enc(dir, &g, &p1, &err);
    append_sync(w, "b");
    wal_close(w);
    size_t n_before = count_segments(dir);
    ASSERT_TRUE(open_enc(dir, &g, &p2, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "not configured");
    ASSERT_EQ_INT(count_segments(dir), n_before); /* nothing created */
    w = open_enc(dir, &g, &pb, &err);
    ASSERT_TRUE(w != NULL);
    uint64_t rw, cur, plain;
    ASSERT_OK_E(wal_rotate_keys(w, &rw, &cur, &plain, &err), &err);
    ASSERT_EQ_U64(rw, n_before); /* the new segment was made under key 2 already */
    ASSERT_EQ_U64(cur, 1);
    ASSERT_EQ_U64(plain, 0);
    ASSERT_OK_E(wal_rotate_keys(w, &rw, &cur, &plain, &err), &err);
    ASSERT_EQ_U64(rw, 0);
    wal_close(w);
    w = open_enc(dir, &g, &p2, &err);
    ASSERT_TRUE(w != NULL);
    ASSERT_EQ_INT(g.n, 2);
    ASSERT_EQ_STR(g.rec[1], "b");
    uint64_t enc, pl;
    wal_mode_counts(w, &enc, &pl);
    ASSERT_EQ_U64(pl, 0);
    ASSERT_TRUE(enc >= 3);
    wal_close(w);
    crypt_keyring_free(k1);
    crypt_keyring_free(k2);
    crypt_keyring_free(both);
}

TEST(encrypted_failed_flush_starts_a_fresh_segment)
{
    struct crypt_keyring *kr = key_ring(6);
    struct crypt_policy pol = {kr, true, false, true};
    const char *dir = th_path("wal");
    struct got g;
    struct st_error err;
    struct wal *w = open_enc(dir, &g, &pol, &err);
    append_sync(w, "before");
    struct st_fault f = {.op = ST_FAULT_WRITE, .count = 1, .err = ENOSPC, .short_bytes = 9,
                         .path_substr = ".wal"};
    st_fault_arm(&f);
    uint64_t seq;
    ASSERT_OK(wal_append(w, "lost", 4, &seq, &err));
    ASSERT_CODE(wal_sync(w, seq, &err), ST_EIO);
    st_fault_disarm();
    ASSERT_EQ_U64(append_sync(w, "after"), seq + 1);
    wal_close(w);
    w = open_enc(dir, &g, &pol, &err);
    ASSERT_EQ_INT(g.n, 2);
    ASSERT_EQ_STR(g.rec[1], "after");
    wal_close(w);
    crypt_keyring_free(kr);
}

TEST(verify_reports_damage_in_any_segment)
{
    st_log_set_level(ST_LOG_ERROR);
    const char *dir = th_path("wal");
    struct got g;
    struct wal *w = open_wal(dir, &g, 0);
    append_sync(w, "one");
    append_sync(w, "two");
    append_sync(w, "three");
    uint64_t files = 0, recs = 0, bytes = 0, problems = 0;
    struct st_error err;
    ASSERT_OK(wal_verify(w, NULL, NULL, NULL, NULL, &files, &recs, &bytes, &problems, &err));
    ASSERT_EQ_U64(recs, 3);
    ASSERT_EQ_U64(problems, 0);
    char seg[1024];
    last_segment(dir, seg, sizeof seg, 40);
    int fd = open(seg, O_RDWR);
    uint8_t b = 0x55;
    ASSERT_EQ_INT(pwrite(fd, &b, 1, WAL_HEADER_LEN + WAL_RECORD_HEADER_LEN + 1), 1);
    close(fd);
    files = recs = bytes = problems = 0;
    ASSERT_OK(wal_verify(w, NULL, NULL, NULL, NULL, &files, &recs, &bytes, &problems, &err));
    ASSERT_EQ_U64(problems, 1);
    wal_close(w);
}
