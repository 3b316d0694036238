/*
 * test_encryption.c: encryption at rest through the engine: no plaintext
 * anywhere in the data directory (WAL before a persist, chunks after it and
 * after compaction, manifests with deletes, the catalog), a wrong key or a
 * refused mode fails with a clear message and changes no byte, flipped bits
 * in every kind of encrypted file are detected and never returned as data,
 * key rotation then retiring the old key, rotation cut short by faults, and
 * migrations both ways (and resumed after a failure).
 */
#include "th.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "strata/buf.h"
#include "strata/file.h"
#include "strata/log.h"
#include "test_engine_files.h"
#include "test_engine_util.h"

#define MARK "Zq7MarkerXy"

/* The data directory: a subdirectory of the test's, so that the log file
 * beside it (quiet()) is not part of what the tests snapshot and search. */
static const char *
data_dir(void)
{
    static char d[1024];
    snprintf(d, sizeof d, "%s/data", th_tmpdir());
    return d;
}

/* Send the log (and failure messages) to stderr.log beside the data
 * directory: the expected error lines of damage tests are many. The
 * harness keeps the test directory when a test fails. */
static void
quiet(void)
{
    int fd = open(th_path("stderr.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
}

/* Lines naming the marker as measurement, tag key, tag value, field name and
 * string value, plus plain numeric data in another table. */
static void
write_marked(struct eng *e, int from, int n)
{
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    for (int i = from; i < from + n; i++) {
        st_buf_printf(&b, MARK ",host=h%d," MARK "_t=" MARK "_v%d " MARK "_f=\"" MARK " %d\",v=%di %d\n",
                      i % 3, i % 2, i, i, 1000 + i);
        st_buf_printf(&b, "cpu,host=h%d u=%d.25,n=%du %d\n", i % 4, i, i * 7, 1000 + i);
    }
    st_buf_append_byte(&b, 0);
    tu_write(e, "db" MARK, (const char *)b.data);
    st_buf_cleanup(&b);
}

static char *
dump_all(struct eng *e)
{
    char *a = tu_dump(e, "db" MARK, MARK), *b = tu_dump(e, "db" MARK, "cpu");
    char *out = malloc(strlen(a) + strlen(b) + 8);
    sprintf(out, "%s--\n%s", a, b);
    free(a);
    free(b);
    return out;
}

static struct stor_db *
the_db(struct eng *e)
{
    struct stor_db *db = NULL;
    uint32_t id;
    struct st_error err;
    ASSERT_OK_E(eng__db(e, "db" MARK, false, &db, &id, &err), &err);
    return db;
}

static void
assert_no_marker(const char *when)
{
    const char *hit = tf_grep(data_dir(), MARK);
    if (hit)
        th_fail(__FILE__, __LINE__, "%s: \"%s\" holds the marker in plaintext", when, hit);
}

TEST(encrypted_files_hold_no_plaintext)
{
    st_log_set_level(ST_LOG_ERROR);
    struct st_error err;
    /* the control: without encryption the marker is found, so the search works */
    char plain_dir[1024];
    snprintf(plain_dir, sizeof plain_dir, "%s/plain", data_dir());
    struct eng *e = tf_open(plain_dir, 0, false, false, &err);
    ASSERT_TRUE(e != NULL);
    write_marked(e, 0, 5);
    ASSERT_TRUE(tf_grep(plain_dir, MARK) != NULL);
    eng_close(e);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", plain_dir);
    ASSERT_EQ_INT(system(cmd), 0);

    e = tf_open(data_dir(), 1, true, false, &err);
    ASSERT_TRUE(e != NULL);
    struct eng_stats st;
    eng_get_stats(e, &st);
    ASSERT_TRUE(st.encrypted);
    write_marked(e, 0, 50);
    assert_no_marker("the WAL before a persist (catalog, segment)");
    ASSERT_OK_E(eng_persist(e, &err), &err);
    assert_no_marker("after a persist (chunks, manifest)");
    /* more chunks, a delete naming a marked tag value, then compaction */
    for (int r = 1; r < 4; r++) {
        write_marked(e, r * 50, 50);
        ASSERT_OK_E(eng_persist(e, &err), &err);
    }
    const char *vals[] = {MARK "_v1"};
    struct eng_tag_match m = {MARK "_t", ENG_TAG_EQ, 1, vals};
    struct eng_delete d = {MARK, 1000, 1010, 1, &m};
    ASSERT_OK_E(eng_delete_rows(e, "db" MARK, &d, NULL, &err), &err);
    write_marked(e, 200, 10);
    assert_no_marker("WAL with a delete");
    ASSERT_OK_E(eng_persist(e, &err), &err);
    assert_no_marker("manifest with a tombstone");
    struct stor_db *db = the_db(e);
    ASSERT_OK_E(stor_compact(db, &err), &err);
    stor_db_put(db);
    assert_no_marker("after compaction");
    char *before = dump_all(e);
    ASSERT_CONTAINS(before, MARK "_f=\"" MARK " 8\"");
    ASSERT_TRUE(strstr(before, MARK "_v1 1001 ") == NULL); /* deleted */
    ASSERT_CONTAINS(before, MARK "_v1 1011 ");
    eng_close(e);
    assert_no_marker("after close");

    /* the same data comes back after a restart */
    e = tf_open(data_dir(), 1, true, false, &err);
    ASSERT_TRUE(e != NULL);
    char *after = dump_all(e);
    ASSERT_EQ_STR(after, before);
    struct eng_verify_result vr;
    ASSERT_OK_E(eng_verify(e, NULL, NULL, NULL, NULL, &vr, &err), &err);
    ASSERT_TRUE(vr.files >= 4);
    ASSERT_EQ_U64(vr.problems, 0);
    free(after);
    free(before);
    eng_close(e);
}

static void
build_encrypted(int key, bool persist)
{
    struct st_error err;
    struct eng *e = tf_open(data_dir(), key, true, false, &err);
    ASSERT_TRUE(e != NULL);
    write_marked(e, 0, 40);
    if (persist) {
        ASSERT_OK_E(eng_persist(e, &err), &err);
        write_marked(e, 40, 40);
        ASSERT_OK_E(eng_persist(e, &err), &err);
    }
    write_marked(e, 80, 10);
    write_marked(e, 90, 10);
    eng_close(e);
}

static void
refused(int key, bool encryption, enum st_code code, const char *want1, const char *want2)
{
    struct tf_snap before, after;
    struct st_error err;
    char why[512];
    tf_snap_take(data_dir(), &before);
    struct eng *e = tf_open(data_dir(), key, encryption, false, &err);
    if (e)
        th_fail(__FILE__, __LINE__, "opened with key %d, encryption %d", key, encryption);
    ASSERT_EQ_INT(err.code, code);
    ASSERT_CONTAINS(err.msg, want1);
    if (want2)
        ASSERT_CONTAINS(err.msg, want2);
    tf_snap_take(data_dir(), &after);
    if (!tf_snap_equal(&before, &after, why, sizeof why))
        th_fail(__FILE__, __LINE__, "a refused open changed the directory: %s", why);
    tf_snap_free(&before);
    tf_snap_free(&after);
}

TEST(wrong_key_or_mode_fails_clearly_and_changes_nothing)
{
    st_log_set_level(ST_LOG_ERROR);
    build_encrypted(1, true);
    char k1[ENG_KEY_ID_LEN + 1], k2[ENG_KEY_ID_LEN + 1];
    tf_kid(1, k1);
    tf_kid(2, k2);
    /* a wrong key: names the key the files expect and the one configured */
    refused(2, true, ST_ECRYPTO, k1, k2);
    refused(2, true, ST_ECRYPTO, "not configured", NULL);
    /* no key, or encryption off */
    refused(0, false, ST_ECRYPTO, "is encrypted", NULL);
    refused(1, false, ST_ECRYPTO, "encryption is off", NULL);
    /* the right key still works */
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 1, true, false, &err);
    ASSERT_TRUE(e != NULL);
    ASSERT_EQ_U64(tu_count(e, "db" MARK, MARK), 100);
    eng_close(e);

    /* an unencrypted directory opened with encryption on */
    char plain[1024];
    snprintf(plain, sizeof plain, "%s/p", data_dir());
    e = tf_open(plain, 0, false, false, &err);
    ASSERT_TRUE(e != NULL);
    write_marked(e, 0, 3);
    eng_close(e);
    struct tf_snap before, after;
    char why[512];
    tf_snap_take(plain, &before);
    ASSERT_TRUE(tf_open(plain, 1, true, false, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "not encrypted, but encryption is on");
    ASSERT_CONTAINS(err.msg, "migration");
    tf_snap_take(plain, &after);
    ASSERT_TRUE(tf_snap_equal(&before, &after, why, sizeof why));
    tf_snap_free(&before);
    tf_snap_free(&after);
    /* encryption on without a key is a configuration error */
    struct eng_options o = {.data_dir = plain, .encryption = true};
    ASSERT_TRUE(eng_open(&o, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "no master key");
}

TEST(a_wrong_key_on_one_chunk_or_segment_fails_before_any_change)
{
    /* a rotation stopped at the first chunk leaves the WAL and the catalog
     * under key 2, the chunks and the manifest under key 1: key 2 alone is
     * refused, naming key 1 and the file, and nothing changes; both keys
     * open it */
    st_log_set_level(ST_LOG_ERROR);
    quiet();
    build_encrypted(1, true);
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 1, true, false, &err);
    ASSERT_TRUE(e != NULL);
    struct eng_keyring *k2 = tf_keyring(2), *k12 = tf_keyring2(1, 2);
    struct st_fault f = {.op = ST_FAULT_WRITE, .count = 0, .err = EIO, .path_substr = ".chk"};
    st_fault_arm(&f);
    ASSERT_TRUE(eng_rotate_key(e, k2, NULL, NULL, NULL, &err) != ST_OK);
    st_fault_disarm();
    ASSERT_CONTAINS(err.msg, ".chk");
    eng_close(e);
    char k1[ENG_KEY_ID_LEN + 1];
    tf_kid(1, k1);
    refused(2, true, ST_ECRYPTO, k1, "chunk");
    refused(1, true, ST_ECRYPTO, "catalog", "not configured");
    struct eng_options o = {.data_dir = data_dir(), .keyring = k12, .encryption = true};
    e = eng_open(&o, &err);
    ASSERT_TRUE(e != NULL);
    ASSERT_EQ_U64(tu_count(e, "db" MARK, MARK), 100);
    eng_close(e);
    eng_keyring_free(k2);
    eng_keyring_free(k12);
}

/* ---- bit flips ----------------------------------------------------------------- */

static bool
subset(const char *got, const char *all)
{
    const char *p = got;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        char line[1024];
        if (n >= sizeof line)
            return false;
        memcpy(line, p, n);
        line[n] = '\0';
        if (!strstr(all, line))
            return false;
        p += n;
    }
    return true;
}

/* Open and read everything; never wrong data: either an error naming the file,
 * or a subset of the truth. Returns 0 = all data, 1 = some missing, 2 = error. */
static int
probe(const char *file, const char *truth, bool *open_failed)
{
    struct st_error err;
    *open_failed = false;
    struct eng *e = tf_open(data_dir(), 1, true, false, &err);
    if (!e) {
        *open_failed = true;
        if (err.code != ST_ECORRUPT && err.code != ST_ECRYPTO)
            th_fail(__FILE__, __LINE__, "open failed with %s: %s", st_code_name(err.code),
                    err.msg);
        if (!strstr(err.msg, file))
            th_fail(__FILE__, __LINE__, "the error does not name \"%s\": %s", file, err.msg);
        return 2;
    }
    int outcome = 0;
    for (int pass = 0; pass < 2; pass++) {
        char *a = NULL, *b = NULL;
        enum st_code r1 = tu_dump_try(e, "db" MARK, MARK, &a, &err);
        if (r1 != ST_OK) {
            if (r1 != ST_ECORRUPT || !strstr(err.msg, file) || !strstr(err.msg, "offset"))
                th_fail(__FILE__, __LINE__, "scan error does not name file and block: %s: %s",
                        st_code_name(r1), err.msg);
            outcome = 2;
            continue; /* the group is quarantined now: the next pass skips it */
        }
        enum st_code r2 = tu_dump_try(e, "db" MARK, "cpu", &b, &err);
        if (r2 != ST_OK) {
            free(a);
            if (r2 != ST_ECORRUPT || !strstr(err.msg, file))
                th_fail(__FILE__, __LINE__, "scan error: %s", err.msg);
            outcome = 2;
            continue;
        }
        char *got = malloc(strlen(a) + strlen(b) + 8);
        sprintf(got, "%s--\n%s", a, b);
        if (!subset(got, truth))
            th_fail(__FILE__, __LINE__, "wrong data returned after a flip in \"%s\"", file);
        if (strcmp(got, truth) != 0 && outcome == 0)
            outcome = 1;
        free(got);
        free(a);
        free(b);
    }
    eng_close(e);
    return outcome;
}

static void
flip_file(const char *path, const struct tf_snap *snap, const char *truth, off_t lo, off_t hi,
          off_t step, bool must_detect, unsigned *detected)
{
    for (off_t off = lo; off < hi; off += step) {
        tf_snap_restore(data_dir(), snap);
        tf_flip(path, off, (uint8_t)(1u << (off % 8)));
        bool failed;
        int o = probe(path, truth, &failed);
        if (o)
            (*detected)++;
        else if (must_detect)
            th_fail(__FILE__, __LINE__, "a flipped bit at offset %lld of \"%s\" went unnoticed",
                    (long long)off, path);
    }
    tf_snap_restore(data_dir(), snap);
}

TEST(flipped_bits_in_every_kind_of_encrypted_file_are_detected)
{
    st_log_set_level(ST_LOG_ERROR);
    quiet(); /* the quarantine lines are expected */
    build_encrypted(1, true);
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 1, true, false, &err);
    char *truth = dump_all(e);
    eng_close(e);
    struct tf_snap snap;
    tf_snap_take(data_dir(), &snap);
    unsigned detected = 0;

    /* the catalog: every byte but the second (empty) key slot */
    char cat[1024];
    snprintf(cat, sizeof cat, "%s/catalog.bin", data_dir());
    off_t n = tf_size(cat);
    flip_file(cat, &snap, truth, 0, 16 + 72, 3, true, &detected);
    flip_file(cat, &snap, truth, 16 + 144, n, 3, true, &detected);

    /* the manifest */
    char **m;
    size_t nm = tf_find(data_dir(), "MANIFEST", &m);
    ASSERT_EQ_INT(nm, 1);
    n = tf_size(m[0]);
    flip_file(m[0], &snap, truth, 0, 16 + 72, 5, true, &detected);
    flip_file(m[0], &snap, truth, 16 + 144, n, 5, true, &detected);
    tf_paths_free(m, nm);

    /* a chunk: header, first key slot, every block, the index, the footer */
    char **c;
    size_t nc = tf_find(data_dir(), ".chk", &c);
    ASSERT_TRUE(nc >= 1);
    n = tf_size(c[0]);
    flip_file(c[0], &snap, truth, 0, 32 + 72, 3, true, &detected);
    flip_file(c[0], &snap, truth, 176, n, n / 150 + 1, true, &detected);
    /* the empty second slot carries no key: a flip there may go unnoticed, but
     * never changes what is read */
    flip_file(c[0], &snap, truth, 32 + 72, 176, 11, false, &detected);
    tf_paths_free(c, nc);

    /* WAL segments: header, key slot, records (the last record's damage is a
     * torn tail: that record is dropped; damage before it stops the open) */
    char **w;
    size_t nw = tf_find(data_dir(), ".wal", &w);
    ASSERT_TRUE(nw >= 1);
    for (size_t i = 0; i < nw; i++) {
        n = tf_size(w[i]);
        if (n <= 176)
            continue;
        flip_file(w[i], &snap, truth, 0, 32 + 72, 3, true, &detected);
        flip_file(w[i], &snap, truth, 176, n, n / 120 + 1, true, &detected);
    }
    tf_paths_free(w, nw);
    ASSERT_TRUE(detected > 300);
    tf_snap_free(&snap);
    free(truth);
}

/* ---- rotation ---------------------------------------------------------------------- */

static void
progress_count(void *ctx, const struct eng_rotate_progress *p)
{
    uint64_t *calls = ctx;
    (*calls)++;
    ASSERT_TRUE(p->files_done <= p->files_total);
}

TEST(rotation_then_retiring_the_old_key)
{
    st_log_set_level(ST_LOG_ERROR);
    build_encrypted(1, true);
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 1, true, false, &err);
    ASSERT_TRUE(e != NULL);
    char *truth = dump_all(e);
    struct eng_keyring *k2 = tf_keyring(2);
    struct eng_rotate_result res;
    uint64_t calls = 0;
    ASSERT_OK_E(eng_rotate_key(e, k2, progress_count, &calls, &res, &err), &err);
    char kid2[ENG_KEY_ID_LEN + 1];
    tf_kid(2, kid2);
    ASSERT_EQ_STR(res.new_key_id, kid2);
    ASSERT_TRUE(res.files >= 5); /* catalog, manifest, 2 chunks, a segment */
    ASSERT_EQ_U64(res.rewrapped, res.files);
    ASSERT_TRUE(calls > 0);
    /* a second run finds everything current (files written meanwhile too) */
    write_marked(e, 100, 5);
    ASSERT_OK_E(eng_rotate_key(e, k2, NULL, NULL, &res, &err), &err);
    ASSERT_TRUE(res.already_current >= 3);
    free(truth);
    truth = dump_all(e);
    eng_close(e);
    /* the old key alone no longer opens it; the new one alone does */
    char kid1[ENG_KEY_ID_LEN + 1];
    tf_kid(1, kid1);
    refused(1, true, ST_ECRYPTO, kid2, kid1);
    e = tf_open(data_dir(), 2, true, false, &err);
    ASSERT_TRUE(e != NULL);
    char *after = dump_all(e);
    ASSERT_EQ_STR(after, truth);
    ASSERT_OK_E(eng_verify(e, NULL, NULL, NULL, NULL, NULL, &err), &err);
    write_marked(e, 200, 5);
    ASSERT_OK_E(eng_persist(e, &err), &err);
    eng_close(e);
    assert_no_marker("after rotation");
    /* rotation needs encryption on and a key */
    e = tf_open(data_dir(), 2, true, false, &err);
    ASSERT_CODE(eng_rotate_key(e, NULL, NULL, NULL, NULL, &err), ST_EINVAL);
    struct eng_keyring *empty = eng_keyring_new();
    ASSERT_CODE(eng_rotate_key(e, empty, NULL, NULL, NULL, &err), ST_EINVAL);
    eng_keyring_free(empty);
    eng_close(e);
    char plain[1024];
    snprintf(plain, sizeof plain, "%s/p", data_dir());
    e = tf_open(plain, 0, false, false, &err);
    ASSERT_CODE(eng_rotate_key(e, k2, NULL, NULL, NULL, &err), ST_EINVAL);
    ASSERT_CONTAINS(err.msg, "encryption is off");
    eng_close(e);
    eng_keyring_free(k2);
    free(after);
    free(truth);
}

/* A rotation cut short by a fault at every point: every file still opens with
 * both keys, the data is intact, and running the rotation again completes. */
static void
rotation_fault(enum st_fault_op op, unsigned min_cases)
{
    st_log_set_level(ST_LOG_ERROR);
    quiet();
    build_encrypted(1, true);
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 1, true, false, &err);
    char *truth = dump_all(e);
    eng_close(e);
    struct tf_snap snap;
    tf_snap_take(data_dir(), &snap);
    struct eng_keyring *k2 = tf_keyring(2), *k12 = tf_keyring2(1, 2);
    unsigned fired_cases = 0;
    for (unsigned skip = 0; skip < 40; skip++) {
        tf_snap_restore(data_dir(), &snap);
        e = tf_open(data_dir(), 1, true, false, &err);
        ASSERT_TRUE(e != NULL);
        struct st_fault f = {.op = op, .skip = skip, .count = 0, .err = EIO};
        st_fault_arm(&f);
        enum st_code rc = eng_rotate_key(e, k2, NULL, NULL, NULL, &err);
        unsigned fired = st_fault_fired();
        st_fault_disarm();
        if (!fired) {
            ASSERT_OK_E(rc, &err);
            eng_close(e);
            break;
        }
        fired_cases++;
        ASSERT_TRUE(rc != ST_OK);
        ASSERT_CONTAINS(err.msg, "key rotation");
        eng_close(e);
        /* both keys configured: everything opens and reads */
        struct eng_options o = {.data_dir = data_dir(), .keyring = k12, .encryption = true};
        e = eng_open(&o, &err);
        if (!e)
            th_fail(__FILE__, __LINE__, "skip %u: open with both keys: %s", skip, err.msg);
        char *d = dump_all(e);
        ASSERT_EQ_STR(d, truth);
        free(d);
        /* the rotation completes when run again */
        ASSERT_OK_E(eng_rotate_key(e, k2, NULL, NULL, NULL, &err), &err);
        eng_close(e);
        e = tf_open(data_dir(), 2, true, false, &err);
        if (!e)
            th_fail(__FILE__, __LINE__, "skip %u: new key alone after finishing: %s", skip,
                    err.msg);
        d = dump_all(e);
        ASSERT_EQ_STR(d, truth);
        free(d);
        eng_close(e);
    }
    ASSERT_TRUE(fired_cases >= min_cases);
    tf_snap_free(&snap);
    eng_keyring_free(k2);
    eng_keyring_free(k12);
    free(truth);
}

TEST(rotation_cut_short_by_a_failed_rename_leaves_everything_openable)
{
    rotation_fault(ST_FAULT_RENAME, 2); /* the catalog and the manifest */
}

TEST(rotation_cut_short_by_a_failed_write_leaves_everything_openable)
{
    rotation_fault(ST_FAULT_WRITE, 6);
}

TEST(rotation_cut_short_by_a_failed_fsync_leaves_everything_openable)
{
    rotation_fault(ST_FAULT_FSYNC, 6);
}

/* ---- migration ------------------------------------------------------------------------ */

TEST(migration_encrypts_then_decrypts_a_data_directory)
{
    st_log_set_level(ST_LOG_ERROR);
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 0, false, false, &err);
    write_marked(e, 0, 40);
    ASSERT_OK_E(eng_persist(e, &err), &err);
    write_marked(e, 40, 20);
    ASSERT_OK_E(eng_persist(e, &err), &err);
    write_marked(e, 60, 10); /* in the WAL only */
    char *truth = dump_all(e);
    eng_close(e);
    ASSERT_TRUE(tf_grep(data_dir(), MARK) != NULL);
    e = tf_open(data_dir(), 1, true, true, &err);
    ASSERT_TRUE(e != NULL);
    char *d = dump_all(e);
    ASSERT_EQ_STR(d, truth);
    free(d);
    eng_close(e);
    assert_no_marker("after migrating to encrypted files");
    /* now an ordinary encrypted directory */
    e = tf_open(data_dir(), 1, true, false, &err);
    ASSERT_TRUE(e != NULL);
    d = dump_all(e);
    ASSERT_EQ_STR(d, truth);
    free(d);
    write_marked(e, 70, 5);
    free(truth);
    truth = dump_all(e);
    eng_close(e);
    /* and back: encryption off, the key to read, a migration */
    e = tf_open(data_dir(), 1, false, true, &err);
    ASSERT_TRUE(e != NULL);
    d = dump_all(e);
    ASSERT_EQ_STR(d, truth);
    free(d);
    eng_close(e);
    e = tf_open(data_dir(), 0, false, false, &err);
    if (!e)
        th_fail(__FILE__, __LINE__, "plain open after decrypting: %s", err.msg);
    d = dump_all(e);
    ASSERT_EQ_STR(d, truth);
    free(d);
    eng_close(e);
    free(truth);
}

TEST(a_failed_migration_is_finished_by_the_next_one)
{
    st_log_set_level(ST_LOG_ERROR);
    quiet();
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 0, false, false, &err);
    for (int r = 0; r < 3; r++) {
        write_marked(e, r * 30, 30);
        ASSERT_OK_E(eng_persist(e, &err), &err);
    }
    write_marked(e, 90, 10);
    char *truth = dump_all(e);
    eng_close(e);
    struct tf_snap snap;
    tf_snap_take(data_dir(), &snap);
    for (unsigned skip = 0; skip < 12; skip++) {
        tf_snap_restore(data_dir(), &snap);
        struct st_fault f = {.op = ST_FAULT_RENAME, .skip = skip, .count = 0, .err = EIO};
        st_fault_arm(&f);
        e = tf_open(data_dir(), 1, true, true, &err);
        unsigned fired = st_fault_fired();
        st_fault_disarm();
        if (e)
            eng_close(e);
        if (!fired)
            break;
        ASSERT_TRUE(e == NULL);
        /* a half-migrated directory is refused without migration ... */
        ASSERT_TRUE(tf_open(data_dir(), 1, true, false, &err) == NULL);
        ASSERT_EQ_INT(err.code, ST_ECRYPTO);
        /* ... and finished with it */
        e = tf_open(data_dir(), 1, true, true, &err);
        if (!e)
            th_fail(__FILE__, __LINE__, "skip %u: resumed migration: %s", skip, err.msg);
        char *d = dump_all(e);
        ASSERT_EQ_STR(d, truth);
        free(d);
        eng_close(e);
        assert_no_marker("after a resumed migration");
        e = tf_open(data_dir(), 1, true, false, &err);
        if (!e)
            th_fail(__FILE__, __LINE__, "skip %u: open after migration: %s", skip, err.msg);
        eng_close(e);
    }
    tf_snap_free(&snap);
    free(truth);
}

TEST(every_type_round_trips_encrypted_through_wal_chunks_and_restart)
{
    st_log_set_level(ST_LOG_ERROR);
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 3, true, false, &err);
    const char *lp = "t,k=a i=-5i,u=7u,f=2.5,b=true,s=\"x y\" 10\n"
                     "t,k=a i=6i,s=\"\" 11\n"
                     "t,k=b f=-0.0,b=false 10\n";
    tu_write(e, "db", lp);
    char *a = tu_dump(e, "db", "t");
    eng_close(e);
    e = tf_open(data_dir(), 3, true, false, &err);
    char *b = tu_dump(e, "db", "t");
    ASSERT_EQ_STR(b, a);
    ASSERT_OK(eng_persist(e, &err));
    char *c = tu_dump(e, "db", "t");
    ASSERT_EQ_STR(c, a);
    eng_close(e);
    e = tf_open(data_dir(), 3, true, false, &err);
    char *d = tu_dump(e, "db", "t");
    ASSERT_EQ_STR(d, a);
    eng_close(e);
    free(a);
    free(b);
    free(c);
    free(d);
}

/* ---- concurrency ------------------------------------------------------------------------ */

struct busy {
    struct eng *e;
    atomic_int *stop;
    int id, bad;
    unsigned done;
};

static void *
busy_writer(void *p)
{
    struct busy *b = p;
    for (int k = 0; !atomic_load(b->stop) && k < 400; k++) {
        char lp[256];
        snprintf(lp, sizeof lp, "w%d,h=a v=%di %d\nw%d,h=b v=%di %d\n", b->id, k, k, b->id, -k,
                 k);
        struct eng_write_opts wo = {.create_db = true};
        struct st_error err;
        if (eng_write(b->e, "busy", lp, strlen(lp), &wo, NULL, &err) != ST_OK)
            b->bad++;
        b->done++;
    }
    return NULL;
}

static void *
busy_reader(void *p)
{
    struct busy *b = p;
    while (!atomic_load(b->stop)) {
        char *d = NULL;
        struct st_error err;
        if (tu_dump_try(b->e, "busy", "w0", &d, &err) != ST_OK)
            b->bad++;
        free(d);
        b->done++;
    }
    return NULL;
}

TEST(rotation_and_verify_run_beside_writers_readers_and_persists)
{
    st_log_set_level(ST_LOG_ERROR);
    struct eng_keyring *k1 = tf_keyring(1);
    struct eng_options o = {.data_dir = data_dir(), .keyring = k1, .encryption = true,
                            .background = true, .buffer_max_bytes = 16 << 10,
                            .persist_age_ns = 1000000};
    struct st_error err;
    struct eng *e = eng_open(&o, &err);
    ASSERT_TRUE(e != NULL);
    tu_write(e, "busy", "w0,h=a v=0i 0\n");
    atomic_int stop = 0;
    struct busy w[2] = {{e, &stop, 0, 0, 0}, {e, &stop, 1, 0, 0}}, r = {e, &stop, 9, 0, 0};
    pthread_t th[3];
    pthread_create(&th[0], NULL, busy_writer, &w[0]);
    pthread_create(&th[1], NULL, busy_writer, &w[1]);
    pthread_create(&th[2], NULL, busy_reader, &r);
    for (int i = 0; i < 6; i++) {
        struct eng_keyring *k = tf_keyring(2 + i % 2);
        ASSERT_OK_E(eng_rotate_key(e, k, NULL, NULL, NULL, &err), &err);
        eng_keyring_free(k);
        ASSERT_OK_E(eng_verify(e, NULL, NULL, NULL, NULL, NULL, &err), &err);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ASSERT_EQ_INT(w[0].bad + w[1].bad + r.bad, 0);
    ASSERT_TRUE(w[0].done > 0 && r.done > 0);
    char *before = tu_dump(e, "busy", "w1");
    eng_close(e);
    /* the last rotation was to key 3: it alone opens everything */
    e = tf_open(data_dir(), 3, true, false, &err);
    if (!e)
        th_fail(__FILE__, __LINE__, "key 3 alone: %s", err.msg);
    char *after = tu_dump(e, "busy", "w1");
    ASSERT_EQ_STR(after, before);
    free(before);
    free(after);
    eng_close(e);
    eng_keyring_free(k1);
}

TEST(rotation_skips_a_quarantined_chunk_and_the_old_key_can_still_retire)
{
    st_log_set_level(ST_LOG_ERROR);
    quiet();
    build_encrypted(1, true);
    char **c;
    size_t nc = tf_find(data_dir(), ".chk", &c);
    ASSERT_TRUE(nc >= 2);
    char moved[2100];
    snprintf(moved, sizeof moved, "%s/away.bin", th_tmpdir());
    ASSERT_EQ_INT(rename(c[0], moved), 0); /* a chunk goes missing */
    struct st_error err;
    struct eng *e = tf_open(data_dir(), 1, true, false, &err);
    ASSERT_TRUE(e != NULL);
    struct eng_stats st;
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_chunks, 1);
    struct eng_keyring *k2 = tf_keyring(2);
    struct eng_rotate_result res;
    ASSERT_OK_E(eng_rotate_key(e, k2, NULL, NULL, &res, &err), &err);
    ASSERT_EQ_U64(res.skipped, 1);
    char *truth = dump_all(e);
    eng_close(e);
    /* the manifest records the quarantine: the new key alone opens the rest */
    e = tf_open(data_dir(), 2, true, false, &err);
    if (!e)
        th_fail(__FILE__, __LINE__, "key 2 alone: %s", err.msg);
    char *d = dump_all(e);
    ASSERT_EQ_STR(d, truth);
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_chunks, 1);
    free(d);
    free(truth);
    eng_close(e);
    eng_keyring_free(k2);
    tf_paths_free(c, nc);
}

TEST(sealed_files_for_other_modules)
{
    struct eng_keyring *k1 = tf_keyring(1), *k2 = tf_keyring(2), *k12 = tf_keyring2(1, 2);
    struct st_error err;
    const char *body = "{\"tokens\":[\"" MARK "\"]}";
    uint8_t *f, *out;
    size_t flen, olen;
    bool enc;
    ASSERT_OK_E(eng_file_seal(k1, "policy", body, strlen(body), &f, &flen, &err), &err);
    ASSERT_TRUE(eng_file_is_sealed(f, flen));
    ASSERT_TRUE(memmem(f, flen, MARK, strlen(MARK)) == NULL);
    ASSERT_OK_E(eng_file_unseal(k1, true, "policy", "p", f, flen, &out, &olen, &enc, &err), &err);
    ASSERT_TRUE(enc);
    ASSERT_EQ_STR((char *)out, body);
    free(out);
    /* any key of the ring opens it; another kind, another key or no key do not */
    ASSERT_OK(eng_file_unseal(k12, true, "policy", "p", f, flen, &out, &olen, NULL, &err));
    free(out);
    ASSERT_CODE(eng_file_unseal(k1, true, "pepper", "p", f, flen, &out, &olen, NULL, &err),
                ST_ECORRUPT);
    ASSERT_CODE(eng_file_unseal(k2, true, "policy", "p", f, flen, &out, &olen, NULL, &err),
                ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "not configured");
    ASSERT_CODE(eng_file_unseal(NULL, false, "policy", "p", f, flen, &out, &olen, NULL, &err),
                ST_ECRYPTO);
    /* every flipped bit outside the empty second key slot is caught */
    for (size_t bit = 0; bit < flen * 8; bit++) {
        size_t at = bit / 8;
        if (at >= 16 + 72 && at < 16 + 144)
            continue;
        f[at] ^= (uint8_t)(1u << (bit % 8));
        enum st_code rc = eng_file_unseal(k1, true, "policy", "p", f, flen, &out, &olen, NULL,
                                          &err);
        ASSERT_TRUE(rc == ST_ECORRUPT || rc == ST_ECRYPTO);
        f[at] ^= (uint8_t)(1u << (bit % 8));
    }
    free(f);
    /* plaintext: framed and checksummed; refused when encryption is required */
    ASSERT_OK(eng_file_seal(NULL, "policy", body, strlen(body), &f, &flen, &err));
    ASSERT_TRUE(memmem(f, flen, MARK, strlen(MARK)) != NULL);
    ASSERT_OK(eng_file_unseal(k1, false, "policy", "p", f, flen, &out, &olen, &enc, &err));
    ASSERT_FALSE(enc);
    free(out);
    ASSERT_CODE(eng_file_unseal(k1, true, "policy", "p", f, flen, &out, &olen, NULL, &err),
                ST_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "not encrypted");
    f[flen - 6] ^= 1;
    ASSERT_CODE(eng_file_unseal(NULL, false, "policy", "p", f, flen, &out, &olen, NULL, &err),
                ST_ECORRUPT);
    free(f);
    ASSERT_FALSE(eng_file_is_sealed((const uint8_t *)"{}", 2));
    ASSERT_CODE(eng_file_seal(k1, "Bad Kind", "x", 1, &f, &flen, &err), ST_EINVAL);
    ASSERT_CODE(eng_file_seal(k1, "", "x", 1, &f, &flen, &err), ST_EINVAL);
    eng_keyring_free(k1);
    eng_keyring_free(k2);
    eng_keyring_free(k12);
}
