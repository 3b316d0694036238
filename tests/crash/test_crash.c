/*
 * test_crash.c: kill -9 during ingest, then recover.
 *
 * Each round forks a child that opens the engine on the test directory and
 * writes batches through eng_write (durable acknowledgements), persisting
 * now and then (so kills also land in persists, compactions and WAL
 * truncations). After eng_write returns ST_OK for batch k, the child writes
 * k to a pipe. The parent kills the child with SIGKILL after a random delay,
 * reopens the directory and checks:
 *   - every acknowledged batch is present with all its rows and values;
 *   - every batch present at all is whole (no half batch), and no row
 *     appears twice;
 * then starts the next round. A batch k holds ROWS_PER_BATCH rows over
 * SERIES series at times k * 1000 + j, with v = k * 7 + j. The same runs
 * over an encrypted data directory.
 *
 * Key rotation: a child rotates the master key of a directory with many
 * chunk files and is killed at a random moment; with both keys configured
 * everything must open and read the same, and the scrub must find nothing;
 * the next round rotates back. At the end the last key alone opens it.
 */
#include "th.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strata/catalog.h"
#include "strata/engine.h"
#include "strata/log.h"
#include "strata/storage.h"

#define ROUNDS 24
#define SERIES 8
#define ROWS_PER_SERIES 25
#define ROWS_PER_BATCH (SERIES * ROWS_PER_SERIES)
#define MAX_BATCH 100000

/* Test key v as a keyring (0: none). */
static struct eng_keyring *
ring(int v)
{
    if (!v)
        return NULL;
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned)((v * 53 + i * 7) & 0xff));
    struct eng_keyring *kr = eng_keyring_new();
    if (eng_keyring_add_hex(kr, hex, 64, true, NULL) != ST_OK)
        th_fail(__FILE__, __LINE__, "test key");
    return kr;
}

static struct eng *
open_dir(const char *dir, int key, size_t buffer, struct st_error *err)
{
    struct eng_keyring *kr = ring(key);
    struct eng_options o = {.data_dir = dir, .buffer_max_bytes = buffer, .keyring = kr,
                            .encryption = key != 0};
    struct eng *e = eng_open(&o, err);
    eng_keyring_free(kr);
    return e;
}

static void
child(const char *dir, int fd, uint32_t start, int key)
{
    struct st_error err;
    struct eng *e = open_dir(dir, key, 256 << 10, &err);
    if (!e) {
        fprintf(stderr, "child: eng_open: %s\n", err.msg);
        _exit(3);
    }
    static char lp[ROWS_PER_BATCH * 64];
    for (uint32_t k = start;; k++) {
        size_t off = 0;
        for (int j = 0; j < ROWS_PER_SERIES; j++)
            for (int s = 0; s < SERIES; s++)
                off += (size_t)snprintf(lp + off, sizeof lp - off, "m,h=s%d b=%ui,v=%ui %llu\n", s,
                                        k, k * 7 + (uint32_t)j,
                                        (unsigned long long)k * 1000 + (unsigned)j);
        struct eng_write_opts wo = {.create_db = true};
        struct eng_write_result res;
        if (eng_write(e, "crash", lp, off, &wo, &res, &err) != ST_OK) {
            fprintf(stderr, "child: eng_write: %s\n", err.msg);
            _exit(4);
        }
        eng_write_result_cleanup(&res);
        if (write(fd, &k, sizeof k) != sizeof k)
            _exit(5);
        if (k % 5 == 0 && eng_persist(e, &err) != ST_OK) {
            fprintf(stderr, "child: eng_persist: %s\n", err.msg);
            _exit(6);
        }
    }
}

/* Check the directory; returns the highest batch id present. */
static uint32_t
verify(const char *dir, const uint8_t *acked, uint32_t max_acked, int key)
{
    struct st_error err;
    struct eng *e = open_dir(dir, key, 0, &err);
    if (!e)
        th_fail(__FILE__, __LINE__, "reopen after kill: %s", err.msg);
    static uint16_t count[MAX_BATCH];
    memset(count, 0, sizeof count);
    uint32_t max_seen = 0;
    struct stor_view *v;
    if (stor_view_open(e, "crash", &v, &err) == ST_OK) {
        const struct cat_table *t = cat_db_find_table(stor_view_db(v), "m");
        if (t) {
            uint32_t ids[2] = {cat_table_find_column(t, "b")->id,
                               cat_table_find_column(t, "v")->id};
            struct stor_scan_spec sp = {.table_id = t->id, .t_lo = INT64_MIN, .t_hi = INT64_MAX,
                                        .field_cols = ids, .n_field_cols = 2};
            struct stor_scan *s;
            ASSERT_OK_E(stor_scan_open(v, &sp, &s, &err), &err);
            for (;;) {
                const struct stor_batch *b;
                ASSERT_OK_E(stor_scan_next(s, &b, &err), &err);
                if (!b)
                    break;
                for (uint32_t r = 0; r < b->n_rows; r++) {
                    ASSERT_TRUE(st_column_is_valid(&b->fields[0], r));
                    ASSERT_TRUE(st_column_is_valid(&b->fields[1], r));
                    int64_t k = b->fields[0].v.i64[r];
                    int64_t j = b->time[r] - k * 1000;
                    ASSERT_TRUE(k >= 0 && k < MAX_BATCH && j >= 0 && j < ROWS_PER_SERIES);
                    ASSERT_EQ_INT(b->fields[1].v.i64[r], k * 7 + j);
                    count[k]++;
                    if ((uint32_t)k > max_seen)
                        max_seen = (uint32_t)k;
                }
            }
            stor_scan_close(s);
        }
        stor_view_close(v);
    }
    for (uint32_t k = 0; k <= max_seen || k <= max_acked; k++) {
        if (acked[k] && count[k] != ROWS_PER_BATCH)
            th_fail(__FILE__, __LINE__, "acknowledged batch %u has %u of %d rows", k, count[k],
                    ROWS_PER_BATCH);
        if (count[k] && count[k] != ROWS_PER_BATCH)
            th_fail(__FILE__, __LINE__, "batch %u is half visible: %u of %d rows", k, count[k],
                    ROWS_PER_BATCH);
    }
    eng_close(e);
    return max_seen;
}

static void
ingest_rounds(int rounds, int key)
{
    st_log_set_level(ST_LOG_ERROR);
    const char *dir = th_path("data");
    static uint8_t acked[MAX_BATCH];
    memset(acked, 0, sizeof acked);
    uint32_t next = 1, max_acked = 0, total_acked = 0;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int round = 0; round < rounds; round++) {
        int p[2];
        ASSERT_EQ_INT(pipe(p), 0);
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child(dir, p[1], next, key);
        }
        close(p[1]);
        /* let it run 20..220 ms, then kill it wherever it is */
        struct timespec ts = {0, (long)(20 + rand() % 200) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        uint32_t k;
        while (read(p[0], &k, sizeof k) == sizeof k) {
            ASSERT_TRUE(k < MAX_BATCH);
            acked[k] = 1;
            total_acked++;
            if (k > max_acked)
                max_acked = k;
        }
        close(p[0]);
        int st;
        waitpid(pid, &st, 0);
        ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        uint32_t seen = verify(dir, acked, max_acked, key);
        next = (seen > max_acked ? seen : max_acked) + 1;
    }
    /* the test did exercise something */
    ASSERT_TRUE(total_acked > (uint32_t)rounds);
    fprintf(stderr, "crash%s: %d rounds, %u batches acknowledged\n", key ? " (encrypted)" : "",
            rounds, total_acked);
}

TEST(sigkill_during_ingest_loses_no_acknowledged_batch)
{
    ingest_rounds(ROUNDS, 0);
}

TEST(sigkill_during_encrypted_ingest_loses_no_acknowledged_batch)
{
    ingest_rounds(20, 4);
}

/* Every row of table m as text, sorted by the scan's order. */
static char *
dump(struct eng *e)
{
    struct st_error err;
    struct stor_view *v;
    ASSERT_OK_E(stor_view_open(e, "rot", &v, &err), &err);
    const struct cat_table *t = cat_db_find_table(stor_view_db(v), "m");
    uint32_t id = cat_table_find_column(t, "v")->id;
    struct stor_scan_spec sp = {.table_id = t->id, .t_lo = INT64_MIN, .t_hi = INT64_MAX,
                                .field_cols = &id, .n_field_cols = 1};
    struct stor_scan *s;
    ASSERT_OK_E(stor_scan_open(v, &sp, &s, &err), &err);
    size_t cap = 1 << 20, off = 0;
    char *out = malloc(cap);
    out[0] = 0;
    for (;;) {
        const struct stor_batch *b;
        ASSERT_OK_E(stor_scan_next(s, &b, &err), &err);
        if (!b)
            break;
        for (uint32_t r = 0; r < b->n_rows && off + 64 < cap; r++)
            off += (size_t)snprintf(out + off, cap - off, "%s %lld %lld\n", b->series->tags[0],
                                    (long long)b->time[r], (long long)b->fields[0].v.i64[r]);
    }
    stor_scan_close(s);
    stor_view_close(v);
    return out;
}

static struct eng *
open_both(const char *dir, struct st_error *err)
{
    struct eng_keyring *kr = ring(1);
    struct eng_keyring *k2 = ring(2);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned)((2 * 53 + i * 7) & 0xff));
    eng_keyring_add_hex(kr, hex, 64, false, NULL);
    eng_keyring_free(k2);
    struct eng_options o = {.data_dir = dir, .keyring = kr, .encryption = true};
    struct eng *e = eng_open(&o, err);
    eng_keyring_free(kr);
    return e;
}

TEST(sigkill_during_key_rotation_leaves_everything_openable)
{
    st_log_set_level(ST_LOG_ERROR);
    const char *dir = th_path("data");
    struct st_error err;
    /* many chunk files: a partition per batch, a persist per batch */
    struct eng_keyring *k1 = ring(1);
    struct eng_options o = {.data_dir = dir, .keyring = k1, .encryption = true,
                            .partition_ns = 1000};
    struct eng *e = eng_open(&o, &err);
    eng_keyring_free(k1);
    ASSERT_TRUE(e != NULL);
    for (int k = 0; k < 120; k++) {
        char lp[256];
        snprintf(lp, sizeof lp, "m,h=a v=%di %d\nm,h=b v=%di %d\n", k, k * 1000, -k,
                 k * 1000 + 1);
        struct eng_write_opts wo = {.create_db = true};
        ASSERT_OK_E(eng_write(e, "rot", lp, strlen(lp), &wo, NULL, &err), &err);
        ASSERT_OK_E(eng_persist(e, &err), &err);
    }
    char *truth = dump(e);
    eng_close(e);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int key = 1; /* the current key of the files that rotated last */
    for (int round = 0; round < 20; round++) {
        int to = key == 1 ? 2 : 1;
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
            struct eng *ce = open_both(dir, &err);
            if (!ce)
                _exit(3);
            struct eng_keyring *nk = ring(to);
            eng_rotate_key(ce, nk, NULL, NULL, NULL, &err);
            eng_keyring_free(nk);
            _exit(0); /* no close: as abrupt as the kill */
        }
        struct timespec ts = {0, (long)(rand() % 120) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        ASSERT_TRUE(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
        e = open_both(dir, &err);
        if (!e)
            th_fail(__FILE__, __LINE__, "round %d: open with both keys: %s", round, err.msg);
        char *d = dump(e);
        ASSERT_EQ_STR(d, truth);
        free(d);
        ASSERT_OK_E(eng_verify(e, NULL, NULL, NULL, NULL, NULL, &err), &err);
        eng_close(e);
        key = to;
    }
    /* finish on the last key; then it alone opens the directory */
    e = open_both(dir, &err);
    struct eng_keyring *last = ring(key);
    ASSERT_OK_E(eng_rotate_key(e, last, NULL, NULL, NULL, &err), &err);
    eng_keyring_free(last);
    eng_close(e);
    e = open_dir(dir, key, 0, &err);
    if (!e)
        th_fail(__FILE__, __LINE__, "the last key alone: %s", err.msg);
    char *d = dump(e);
    ASSERT_EQ_STR(d, truth);
    free(d);
    eng_close(e);
    e = open_dir(dir, key == 1 ? 2 : 1, 0, &err);
    ASSERT_TRUE(e == NULL);
    free(truth);
}
