/*
 * test_integrity.c: integrity checks through the engine: a query touching a
 * damaged block fails naming the file and the block and never returns its
 * rows; the row group is quarantined (later queries skip it, eng_stats
 * counts it, the manifest records it across restarts, compaction leaves it
 * alone); eng_verify reads every block of every file back from disk
 * (bypassing the block cache), reports each problem with its file and
 * offset, quarantines what it finds, and counts and reports progress.
 * Plaintext and encrypted directories alike.
 */
#include "th.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/buf.h"
#include "strata/log.h"
#include "test_engine_files.h"
#include "test_engine_util.h"

static const char *
data_dir(void)
{
    static char d[1024];
    snprintf(d, sizeof d, "%s/data", th_tmpdir());
    return d;
}

static void
quiet(void)
{
    st_log_set_level(ST_LOG_ERROR);
    int fd = open(th_path("stderr.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
}

static struct eng *
open_mode(int key, size_t cache)
{
    struct st_error err;
    struct eng_keyring *kr = tf_keyring(key);
    struct eng_options o = {.data_dir = data_dir(), .keyring = kr, .encryption = key != 0,
                            .block_cache_bytes = cache};
    struct eng *e = eng_open(&o, &err);
    eng_keyring_free(kr);
    if (!e)
        th_fail(__FILE__, __LINE__, "open: %s", err.msg);
    return e;
}

/* Two series of 5000 rows each (two row groups each) in one chunk, a second
 * chunk with a few more rows. */
static void
build(int key)
{
    struct eng *e = open_mode(key, 0);
    struct st_error err;
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 5000; i++)
        st_buf_printf(&b, "m,h=a v=%di,s=\"x%d\" %d\nm,h=b v=%di %d\n", i, i % 10, i, -i, i);
    st_buf_append_byte(&b, 0);
    tu_write(e, "db", (const char *)b.data);
    st_buf_cleanup(&b);
    ASSERT_OK_E(eng_persist(e, &err), &err);
    tu_write(e, "db", "m,h=c v=1i 1\n");
    ASSERT_OK_E(eng_persist(e, &err), &err);
    eng_close(e);
}

/* The chunk holding series a and b (the biggest). */
static void
big_chunk(char *out, size_t cap)
{
    char **c;
    size_t n = tf_find(data_dir(), ".chk", &c);
    ASSERT_TRUE(n >= 2);
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (tf_size(c[i]) > tf_size(c[best]))
            best = i;
    snprintf(out, cap, "%s", c[best]);
    tf_paths_free(c, n);
}

static uint64_t
lines(const char *s)
{
    uint64_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void
query_then_quarantine(int key, size_t cache)
{
    quiet();
    build(key);
    char chunk[2048];
    big_chunk(chunk, sizeof chunk);
    /* the first block after the header: series a's first time block */
    tf_flip(chunk, key ? 176 + 3 : 32 + 3, 0x10);
    struct eng *e = open_mode(key, cache);
    struct st_error err;
    char *d = NULL;
    ASSERT_CODE(tu_dump_try(e, "db", "m", &d, &err), ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, chunk);
    ASSERT_CONTAINS(err.msg, key ? "block at offset 176" : "block at offset 32");
    ASSERT_CONTAINS(err.msg, key ? "authentication tag mismatch" : "checksum mismatch");
    struct eng_stats st;
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_groups, 1);
    ASSERT_EQ_U64(st.quarantined_rows, 4096);
    /* now excluded: the other 5000 + 904 + 1 rows come back, right */
    ASSERT_OK_E(tu_dump_try(e, "db", "m", &d, &err), &err);
    ASSERT_EQ_U64(lines(d), 10001 - 4096);
    ASSERT_TRUE(strstr(d, "h=a 0 ") == NULL);
    ASSERT_CONTAINS(d, "h=a 4096 v=4096i,s=\"x6\"\n");
    ASSERT_CONTAINS(d, "h=b 0 v=0i\n");
    /* last-value and series lists go around it too */
    char *last = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, true, 0);
    ASSERT_CONTAINS(last, "h=a 4999 ");
    free(last);
    /* recorded in the manifest at the next persist: survives a restart */
    ASSERT_OK_E(eng_persist(e, &err), &err);
    eng_close(e);
    e = open_mode(key, cache);
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_groups, 1);
    char *d2 = NULL;
    ASSERT_OK_E(tu_dump_try(e, "db", "m", &d2, &err), &err);
    ASSERT_EQ_STR(d2, d);
    /* the scrub reports it as known */
    struct eng_verify_result vr;
    ASSERT_CODE(eng_verify(e, NULL, NULL, NULL, NULL, &vr, &err), ST_ECORRUPT);
    ASSERT_EQ_U64(vr.problems, 1);
    ASSERT_EQ_U64(vr.quarantined_groups, 0);
    free(d);
    free(d2);
    eng_close(e);
}

TEST(a_query_touching_a_bad_block_fails_then_its_group_is_quarantined)
{
    query_then_quarantine(0, 0);
}

TEST(same_without_a_block_cache)
{
    query_then_quarantine(0, SIZE_MAX);
}

TEST(same_encrypted_the_tag_detects_it)
{
    query_then_quarantine(5, 0);
}

struct seen {
    unsigned n;
    char paths[8][2048];
    uint64_t offs[8];
    bool quarantined[8], known[8];
    enum eng_file_kind kinds[8];
    unsigned progress_calls;
    uint64_t last_done, total;
};

static void
report(void *ctx, const struct eng_verify_problem *p)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->paths[s->n], sizeof s->paths[0], "%s", p->path);
        s->offs[s->n] = p->offset;
        s->quarantined[s->n] = p->quarantined;
        s->known[s->n] = p->known;
        s->kinds[s->n] = p->kind;
    }
    ASSERT_TRUE(p->reason && p->reason[0]);
    s->n++;
}

static void
progress(void *ctx, const struct eng_verify_progress *p)
{
    struct seen *s = ctx;
    s->progress_calls++;
    ASSERT_TRUE(p->files_done <= p->files_total);
    ASSERT_TRUE(p->files_done >= s->last_done);
    s->last_done = p->files_done;
    s->total = p->files_total;
}

static void
verify_finds(int key)
{
    quiet();
    build(key);
    struct eng *e = open_mode(key, 0);
    struct st_error err;
    struct seen s;
    memset(&s, 0, sizeof s);
    struct eng_verify_result vr;
    ASSERT_OK_E(eng_verify(e, NULL, report, progress, &s, &vr, &err), &err);
    ASSERT_EQ_U64(vr.problems, 0);
    ASSERT_EQ_INT(s.n, 0);
    ASSERT_TRUE(vr.files >= 5); /* catalog, a segment, the manifest, two chunks */
    ASSERT_TRUE(vr.blocks > 10);
    ASSERT_TRUE(s.progress_calls >= 3);
    ASSERT_EQ_U64(s.last_done, s.total);
    /* warm the block cache, then damage two blocks of different groups on disk:
     * queries are served from memory, the scrub reads the disk */
    char *good = tu_dump(e, "db", "m");
    char chunk[2048];
    big_chunk(chunk, sizeof chunk);
    off_t base = key ? 176 : 32;
    tf_flip(chunk, base + 2, 0x01);
    off_t end = tf_size(chunk);
    tf_flip(chunk, end / 2, 0x40); /* somewhere among later blocks */
    char *still = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(still, good);
    free(still);
    memset(&s, 0, sizeof s);
    ASSERT_CODE(eng_verify(e, "db", report, progress, &s, &vr, &err), ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "2 problems");
    ASSERT_EQ_U64(vr.problems, 2);
    ASSERT_EQ_INT(s.n, 2);
    ASSERT_EQ_STR(s.paths[0], chunk);
    ASSERT_EQ_U64(s.offs[0], (uint64_t)base);
    ASSERT_EQ_INT(s.kinds[0], ENG_FILE_CHUNK);
    ASSERT_TRUE(s.quarantined[0] && !s.known[0]);
    ASSERT_TRUE(s.offs[1] > s.offs[0]);
    ASSERT_TRUE(vr.quarantined_groups >= 1);
    struct eng_stats st;
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_groups, vr.quarantined_groups);
    char *after = tu_dump(e, "db", "m");
    ASSERT_TRUE(lines(after) < lines(good));
    free(after);
    /* the manifest holds the quarantine now (eng_verify wrote it) */
    eng_close(e);
    e = open_mode(key, 0);
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_groups, vr.quarantined_groups);
    memset(&s, 0, sizeof s);
    ASSERT_CODE(eng_verify(e, NULL, report, NULL, &s, &vr, &err), ST_ECORRUPT);
    ASSERT_TRUE(s.known[0]);
    ASSERT_EQ_U64(vr.quarantined_groups, 0);
    /* unknown or invalid database */
    ASSERT_CODE(eng_verify(e, "nope", NULL, NULL, NULL, NULL, &err), ST_ENOTFOUND);
    ASSERT_CODE(eng_verify(e, "no/pe", NULL, NULL, NULL, NULL, &err), ST_EINVAL);
    free(good);
    eng_close(e);
}

TEST(verify_reports_each_bad_block_and_quarantines_it)
{
    verify_finds(0);
}

TEST(verify_reports_each_bad_block_and_quarantines_it_encrypted)
{
    verify_finds(7);
}

TEST(verify_checks_the_catalog_the_wal_and_manifests)
{
    for (int key = 0; key <= 3; key += 3) {
        quiet();
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir());
        ASSERT_EQ_INT(system(cmd), 0);
        build(key);
        struct eng *e = open_mode(key, 0);
        struct st_error err;
        for (int i = 0; i < 5; i++) {
            char lp[64];
            snprintf(lp, sizeof lp, "m,h=w v=%di %d\n", i, 100000 + i);
            tu_write(e, "db", lp);
        }
        /* damage on disk while the engine runs: a middle WAL record, the
         * catalog body, the manifest body */
        char **w;
        size_t nw = tf_find(data_dir(), ".wal", &w);
        char *seg = w[nw - 1];
        off_t sl = tf_size(seg);
        tf_flip(seg, (key ? 176 : 32) + (sl - (key ? 176 : 32)) / 3, 0x02);
        char cat[1200], man[1200];
        snprintf(cat, sizeof cat, "%s/catalog.bin", data_dir());
        snprintf(man, sizeof man, "%s/db/1/MANIFEST", data_dir());
        tf_flip(cat, tf_size(cat) - 10, 0x04);
        tf_flip(man, tf_size(man) - 10, 0x04);
        struct seen s;
        memset(&s, 0, sizeof s);
        struct eng_verify_result vr;
        ASSERT_CODE(eng_verify(e, NULL, report, NULL, &s, &vr, &err), ST_ECORRUPT);
        ASSERT_EQ_U64(vr.problems, 3);
        bool got_cat = false, got_wal = false, got_man = false;
        for (unsigned i = 0; i < s.n && i < 8; i++) {
            got_cat |= s.kinds[i] == ENG_FILE_CATALOG && !strcmp(s.paths[i], cat);
            got_man |= s.kinds[i] == ENG_FILE_MANIFEST && !strcmp(s.paths[i], man);
            got_wal |= s.kinds[i] == ENG_FILE_WAL && !strcmp(s.paths[i], seg) && s.offs[i] > 0;
        }
        ASSERT_TRUE(got_cat && got_man && got_wal);
        /* one database: its manifest and chunks, and the catalog */
        memset(&s, 0, sizeof s);
        ASSERT_CODE(eng_verify(e, "db", report, NULL, &s, &vr, &err), ST_ECORRUPT);
        ASSERT_EQ_U64(vr.problems, 2);
        tf_paths_free(w, nw);
        eng_close(e);
    }
}

TEST(compaction_leaves_a_partition_with_quarantined_data_alone)
{
    quiet();
    struct eng *e = open_mode(0, 0);
    struct st_error err;
    for (int r = 0; r < 3; r++) {
        char lp[128];
        snprintf(lp, sizeof lp, "m,h=a v=%di %d\nm,h=b v=%di %d\n", r, r, r, r);
        tu_write(e, "db", lp);
        ASSERT_OK_E(eng_persist(e, &err), &err);
    }
    eng_close(e);
    char **c;
    size_t n = tf_find(data_dir(), ".chk", &c);
    ASSERT_EQ_INT(n, 3);
    tf_flip(c[0], 33, 0x08);
    e = open_mode(0, 0);
    ASSERT_CODE(eng_verify(e, NULL, NULL, NULL, NULL, NULL, &err), ST_ECORRUPT);
    /* a fourth chunk would normally trigger a compaction of the partition */
    tu_write(e, "db", "m,h=a v=9i 9\n");
    ASSERT_OK_E(eng_persist(e, &err), &err);
    struct eng_stats st;
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.chunks, 4);
    ASSERT_TRUE(tf_size(c[0]) > 0); /* the damaged file is kept */
    char *d = tu_dump(e, "db", "m");
    ASSERT_CONTAINS(d, "h=a 9 v=9i\n");
    ASSERT_TRUE(strstr(d, "h=a 0 ") == NULL);
    free(d);
    tf_paths_free(c, n);
    eng_close(e);
}
