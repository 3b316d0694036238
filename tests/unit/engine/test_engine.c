/*
 * test_engine.c: the engine facade end to end: writes, schema rules,
 * upserts, deletes, persist, restart, last-value scans.
 */
#include "th.h"

#include <stdlib.h>
#include <string.h>

#include "strata/engine.h"
#include "test_engine_util.h"

TEST(write_then_scan_from_buffer_and_after_persist_and_restart)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    tu_write(e, "db1",
             "cpu,host=a,region=eu usage=1i,idle=2.5 1000\n"
             "cpu,host=b,region=eu usage=3i 1000\n"
             "cpu,host=a,region=eu usage=5i 2000\n");
    const char *want = "host=a,region=eu 1000 usage=1i,idle=2.5\n"
                       "host=a,region=eu 2000 usage=5i\n"
                       "host=b,region=eu 1000 usage=3i\n";
    char *d = tu_dump(e, "db1", "cpu");
    ASSERT_EQ_STR(d, want);
    free(d);
    struct st_error err;
    ASSERT_OK_E(eng_persist(e, &err), &err);
    d = tu_dump(e, "db1", "cpu");
    ASSERT_EQ_STR(d, want);
    free(d);
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    d = tu_dump(e, "db1", "cpu");
    ASSERT_EQ_STR(d, want);
    free(d);
    eng_close(e);
}

TEST(missing_database_bad_names_and_type_conflicts)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    struct eng_write_opts wo = {0};
    struct eng_write_result res;
    ASSERT_CODE(eng_write(e, "nodb", "m f=1", 5, &wo, &res, &err), ST_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "\"nodb\" does not exist");
    wo.create_db = true;
    ASSERT_CODE(eng_write(e, "../x", "m f=1", 5, &wo, &res, &err), ST_EINVAL);
    ASSERT_CODE(eng_db_create(e, "a/b", &err), ST_EINVAL);
    tu_write(e, "db", "m,t=a f=1i,g=1.5 10\n");
    /* a later line with another type is rejected for that line only (partial) */
    const char *lp = "m,t=a f=2i 20\n"
                     "m,t=a f=2.5 30\n"
                     "m f=\"s\",t=1i 40\n"
                     "m,time=x f=3i 50\n"
                     "m time=1i 60\n"
                     "m,t=b f=4i,time=9i 70\n"
                     "bad line here\n";
    ASSERT_CODE(tu_write_rc(e, "db", lp, true, &res), ST_EPARTIAL);
    ASSERT_EQ_U64(res.lines_ok, 1);
    ASSERT_EQ_U64(res.lines_rejected, 6);
    ASSERT_EQ_INT(res.n_errors, 6);
    ASSERT_EQ_INT(res.errors[0].line, 2);
    ASSERT_EQ_INT(res.errors[0].code, ST_ETYPE);
    ASSERT_EQ_STR(res.errors[0].msg,
                  "invalid column type for column 'f', expected integer, got float");
    ASSERT_EQ_STR(res.errors[0].excerpt, "m,t=a f=2.5 30");
    ASSERT_EQ_INT(res.errors[1].line, 3);
    ASSERT_EQ_STR(res.errors[1].msg,
                  "invalid column type for column 'f', expected integer, got string");
    ASSERT_EQ_INT(res.errors[2].line, 4);
    ASSERT_CONTAINS(res.errors[2].msg, "time"); /* the parser refuses a tag named time */
    ASSERT_EQ_INT(res.errors[3].line, 5); /* a field named time: the parser refuses it */
    ASSERT_CONTAINS(res.errors[3].msg, "time");
    ASSERT_EQ_INT(res.errors[4].line, 6);
    ASSERT_EQ_INT(res.errors[5].line, 7);
    ASSERT_EQ_INT(res.errors[5].code, ST_EPARSE);
    eng_write_result_cleanup(&res);
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "t=a 10 f=1i,g=1.5\n"
                     "t=a 20 f=2i\n");
    free(d);
    /* all or nothing without partial: nothing written, not even the new table */
    ASSERT_CODE(tu_write_rc(e, "db", "n v=1i 1\nm f=1.5 2\n", false, &res), ST_ETYPE);
    ASSERT_EQ_U64(res.lines_ok, 0);
    eng_write_result_cleanup(&res);
    ASSERT_EQ_U64(tu_count(e, "db", "n"), 0);
    struct stor_view *v;
    ASSERT_OK(stor_view_open(e, "db", &v, &err));
    ASSERT_TRUE(cat_db_find_table(stor_view_db(v), "n") == NULL);
    stor_view_close(v);
    eng_close(e);
}

TEST(tag_and_field_under_one_name_conflict)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct eng_write_result res;
    /* in one line: the parser refuses it */
    ASSERT_CODE(tu_write_rc(e, "db", "m,x=a x=1i 1\n", false, &res), ST_EPARSE);
    ASSERT_CONTAINS(res.errors[0].msg, "both a tag key and a field key");
    eng_write_result_cleanup(&res);
    tu_write(e, "db", "m,x=a y=1i 1\n");
    ASSERT_CODE(tu_write_rc(e, "db", "m y=1i,x=2i 2\n", false, &res), ST_ETYPE);
    eng_write_result_cleanup(&res);
    ASSERT_CODE(tu_write_rc(e, "db", "m,y=q x=2i 2\n", false, &res), ST_ETYPE);
    ASSERT_EQ_STR(res.errors[0].msg, "invalid column type for column 'y', expected integer, got tag");
    eng_write_result_cleanup(&res);
    eng_close(e);
}

TEST(limits_from_options)
{
    struct eng_options o = {.data_dir = th_tmpdir(), .max_databases = 1, .max_tables_per_db = 1,
                            .max_columns_per_table = 3};
    struct eng *e = tu_open_opts(&o);
    struct st_error err;
    struct eng_write_result res;
    tu_write(e, "a", "m,t=x f=1i 1\n");
    ASSERT_CODE(eng_db_create(e, "b", &err), ST_ELIMIT);
    ASSERT_CODE(tu_write_rc(e, "a", "other f=1i 1\n", false, &res), ST_ELIMIT);
    eng_write_result_cleanup(&res);
    ASSERT_CODE(tu_write_rc(e, "a", "m,t=x g=1i 1\n", false, &res), ST_ELIMIT);
    ASSERT_CONTAINS(res.errors[0].msg, "limit of 3 columns");
    eng_write_result_cleanup(&res);
    eng_close(e);
}

TEST(every_type_round_trips_through_buffer_chunk_and_restart)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    const char *lp = "m,t=a i=-9223372036854775808i,u=18446744073709551615u,f=-0.5,b=true,"
                     "s=\"\" 1\n"
                     "m,t=a i=9223372036854775807i,u=0u,f=1e300,b=false,s=\"h\\\"i\" 2\n"
                     "m,t=a s=\"only a string\" 3\n";
    tu_write(e, "db", lp);
    char *before = tu_dump(e, "db", "m");
    ASSERT_CONTAINS(before, "i=-9223372036854775808i");
    ASSERT_CONTAINS(before, "u=18446744073709551615u");
    ASSERT_CONTAINS(before, "s=\"h\"i\"");
    ASSERT_CONTAINS(before, "t=a 3 s=\"only a string\"\n");
    struct st_error err;
    ASSERT_OK_E(eng_persist(e, &err), &err);
    char *after = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(after, before);
    free(after);
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    after = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(after, before);
    free(after);
    free(before);
    eng_close(e);
}

TEST(upserts_merge_fields_later_wins_across_buffer_chunks_and_restart)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m,h=a x=1i,y=1i 100\nm,h=a x=2i 100\n");
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 100 x=2i,y=1i\n");
    free(d);
    ASSERT_OK(eng_persist(e, &err));
    tu_write(e, "db", "m,h=a y=3i,z=3i 100\n"); /* buffer over chunk */
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 100 x=2i,y=3i,z=3i\n");
    free(d);
    ASSERT_OK(eng_persist(e, &err));
    tu_write(e, "db", "m,h=a z=4i 100\n");
    ASSERT_OK(eng_persist(e, &err)); /* three chunks now */
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 100 x=2i,y=3i,z=4i\n");
    free(d);
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 100 x=2i,y=3i,z=4i\n");
    free(d);
    /* WAL replay after restart keeps the order too */
    tu_write(e, "db", "m,h=a x=5i 100\nm,h=a x=6i 100\n");
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 100 x=6i,y=3i,z=4i\n");
    free(d);
    eng_close(e);
}

static void
del(struct eng *e, const char *db, const char *table, int64_t lo, int64_t hi, const char *tag,
    const char *val, uint64_t want)
{
    struct eng_tag_match m = {.tag = tag, .op = ENG_TAG_EQ, .n_values = 1,
                              .values = (const char *const[]){val}};
    struct eng_delete d = {.table = table, .t_lo = lo, .t_hi = hi, .n_tags = tag ? 1 : 0,
                           .tags = tag ? &m : NULL};
    uint64_t n;
    struct st_error err;
    ASSERT_OK_E(eng_delete_rows(e, db, &d, &n, &err), &err);
    ASSERT_EQ_U64(n, want);
}

TEST(deletes_apply_to_buffers_chunks_and_survive_restart_and_compaction)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m,h=a v=1i 10\nm,h=a v=2i 20\nm,h=b v=3i 10\nm,h=b v=4i 20\n");
    ASSERT_OK(eng_persist(e, &err));
    tu_write(e, "db", "m,h=a v=5i 30\nm,h=b v=6i 30\n");
    del(e, "db", "m", 15, 35, "h", "a", 2); /* chunk row 20 and buffer row 30 */
    char *want = "h=a 10 v=1i\nh=b 10 v=3i\nh=b 20 v=4i\nh=b 30 v=6i\n";
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, want);
    free(d);
    /* a write after the delete is visible again */
    tu_write(e, "db", "m,h=a v=7i 20\n");
    want = "h=a 10 v=1i\nh=a 20 v=7i\nh=b 10 v=3i\nh=b 20 v=4i\nh=b 30 v=6i\n";
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, want);
    free(d);
    eng_close(e);
    e = tu_open(th_tmpdir(), false); /* delete replayed from the WAL */
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, want);
    free(d);
    ASSERT_OK(eng_persist(e, &err)); /* tombstone goes to the manifest */
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, want);
    free(d);
    /* delete everything of h=b, then compact */
    del(e, "db", "m", INT64_MIN, INT64_MAX, "h", "b", 3);
    ASSERT_OK(eng_persist(e, &err));
    struct eng_stats st;
    eng_get_stats(e, &st);
    ASSERT_TRUE(st.chunks >= 2);
    want = "h=a 10 v=1i\nh=a 20 v=7i\n";
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, want);
    free(d);
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, want);
    free(d);
    /* a delete with no tag condition, and one on a tag nobody has */
    del(e, "db", "m", 0, 15, NULL, NULL, 1);
    del(e, "db", "m", 0, 100, "nosuchtag", "x", 0);
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 20 v=7i\n");
    free(d);
    eng_close(e);
}

TEST(delete_in_and_errors)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    tu_write(e, "db", "m,h=a v=1i 1\nm,h=b v=1i 1\nm,h=c v=1i 1\n");
    struct eng_tag_match m = {.tag = "h", .op = ENG_TAG_IN, .n_values = 2,
                              .values = (const char *const[]){"a", "c"}};
    struct eng_delete d = {.table = "m", .t_lo = INT64_MIN, .t_hi = INT64_MAX, .n_tags = 1,
                           .tags = &m};
    uint64_t n;
    struct st_error err;
    ASSERT_OK(eng_delete_rows(e, "db", &d, &n, &err));
    ASSERT_EQ_U64(n, 2);
    char *s = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(s, "h=b 1 v=1i\n");
    free(s);
    d.table = "nope";
    ASSERT_CODE(eng_delete_rows(e, "db", &d, &n, &err), ST_ENOTFOUND);
    ASSERT_CODE(eng_delete_rows(e, "nodb", &d, &n, &err), ST_ENOTFOUND);
    d.table = "m";
    m.op = ENG_TAG_EQ; /* EQ needs exactly one value */
    ASSERT_CODE(eng_delete_rows(e, "db", &d, &n, &err), ST_EINVAL);
    eng_close(e);
}

TEST(last_value_scan_from_cache_and_after_restart)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m,h=a v=1i,w=1i 10\nm,h=a v=2i 20\nm,h=b v=3i 15\n");
    char *d = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, true, 0);
    ASSERT_EQ_STR(d, "h=a 20 v=2i\nh=b 15 v=3i\n");
    free(d);
    tu_write(e, "db", "m,h=a w=9i 20\nm,h=b v=0i 5\n"); /* merge at the max time; older row */
    d = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, true, 0);
    ASSERT_EQ_STR(d, "h=a 20 v=2i,w=9i\nh=b 15 v=3i\n");
    free(d);
    /* with a time range, the newest row inside it */
    d = tu_dump_ex(e, "db", "m", 0, 16, true, 0);
    ASSERT_EQ_STR(d, "h=a 10 v=1i,w=1i\nh=b 15 v=3i\n");
    free(d);
    ASSERT_OK(eng_persist(e, &err));
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    for (int i = 0; i < 2; i++) { /* fallback scan, then the installed cache */
        d = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, true, 0);
        ASSERT_EQ_STR(d, "h=a 20 v=2i,w=9i\nh=b 15 v=3i\n");
        free(d);
    }
    del(e, "db", "m", 18, 25, "h", "a", 1);
    d = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, true, 0);
    ASSERT_EQ_STR(d, "h=a 10 v=1i,w=1i\nh=b 15 v=3i\n");
    free(d);
    eng_close(e);
}

TEST(max_rows_splits_batches_and_time_ranges_prune)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    char lp[64 * 1000];
    size_t off = 0;
    for (int i = 0; i < 1000; i++)
        off += (size_t)snprintf(lp + off, sizeof lp - off, "m,h=a v=%di %d\n", i, i * 10);
    tu_write(e, "db", lp);
    ASSERT_OK(eng_persist(e, &err));
    char *full = tu_dump(e, "db", "m");
    char *split = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, false, 7);
    ASSERT_EQ_STR(split, full);
    free(split);
    free(full);
    char *r = tu_dump_ex(e, "db", "m", 100, 130, false, 0);
    ASSERT_EQ_STR(r, "h=a 100 v=10i\nh=a 110 v=11i\nh=a 120 v=12i\n");
    free(r);
    eng_close(e);
}

/* ---- faults, corruption, concurrency, restart ---------------------------------- */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include "strata/file.h"
#include "strata/log.h"

static void
fault_write(enum st_fault_op op, int e, const char *substr)
{
    st_log_set_level(ST_LOG_ERROR + 0);
    struct eng *en = tu_open(th_tmpdir(), false);
    tu_write(en, "db", "m,h=a v=1i 1\n");
    struct st_fault f = {.op = op, .count = 1, .err = e, .path_substr = substr};
    st_fault_arm(&f);
    struct eng_write_result res;
    enum st_code rc = tu_write_rc(en, "db", "m,h=a v=2i 2\n", false, &res);
    st_fault_disarm();
    ASSERT_CODE(rc, ST_EIO);
    ASSERT_EQ_U64(res.lines_ok, 0);
    eng_write_result_cleanup(&res);
    /* refused: not visible; the acknowledged row is */
    char *d = tu_dump(en, "db", "m");
    ASSERT_EQ_STR(d, "h=a 1 v=1i\n");
    free(d);
    tu_write(en, "db", "m,h=a v=3i 3\n"); /* writes work again */
    eng_close(en);
    en = tu_open(th_tmpdir(), false);
    d = tu_dump(en, "db", "m");
    ASSERT_EQ_STR(d, "h=a 1 v=1i\nh=a 3 v=3i\n");
    free(d);
    eng_close(en);
}

TEST(enospc_on_the_wal_refuses_the_write)
{
    fault_write(ST_FAULT_WRITE, ENOSPC, "/wal/");
}

TEST(fsync_failure_on_the_wal_refuses_the_write)
{
    fault_write(ST_FAULT_FSYNC, EIO, "/wal/");
}

TEST(catalog_save_failure_refuses_the_write)
{
    st_log_set_level(ST_LOG_ERROR);
    struct eng *e = tu_open(th_tmpdir(), false);
    tu_write(e, "db", "m v=1i 1\n");
    struct st_fault f = {.op = ST_FAULT_RENAME, .count = 1, .err = EIO,
                         .path_substr = "catalog.bin"};
    st_fault_arm(&f);
    struct eng_write_result res;
    ASSERT_CODE(tu_write_rc(e, "db", "newtable v=1i 1\n", false, &res), ST_EIO);
    st_fault_disarm();
    eng_write_result_cleanup(&res);
    ASSERT_EQ_U64(tu_count(e, "db", "newtable"), 0);
    tu_write(e, "db", "newtable v=2i 2\n");
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    char *d = tu_dump(e, "db", "newtable");
    ASSERT_EQ_STR(d, " 2 v=2i\n");
    free(d);
    eng_close(e);
}

static void
fault_persist(enum st_fault_op op, int e, const char *substr)
{
    st_log_set_level(ST_LOG_ERROR);
    struct eng *en = tu_open(th_tmpdir(), false);
    tu_write(en, "db", "m,h=a v=1i 1\nm,h=b v=2i 2\n");
    struct st_fault f = {.op = op, .count = 1, .err = e, .path_substr = substr};
    st_fault_arm(&f);
    struct st_error err;
    enum st_code rc = eng_persist(en, &err);
    st_fault_disarm();
    ASSERT_CODE(rc, ST_EIO);
    ASSERT_CONTAINS(err.msg, "persist");
    const char *want = "h=a 1 v=1i\nh=b 2 v=2i\n";
    char *d = tu_dump(en, "db", "m");
    ASSERT_EQ_STR(d, want);
    free(d);
    tu_write(en, "db", "m,h=a v=3i 3\n");
    eng_close(en); /* the WAL still holds everything */
    en = tu_open(th_tmpdir(), false);
    d = tu_dump(en, "db", "m");
    ASSERT_EQ_STR(d, "h=a 1 v=1i\nh=a 3 v=3i\nh=b 2 v=2i\n");
    free(d);
    ASSERT_OK_E(eng_persist(en, &err), &err); /* and a later persist works */
    eng_close(en);
    en = tu_open(th_tmpdir(), false);
    d = tu_dump(en, "db", "m");
    ASSERT_EQ_STR(d, "h=a 1 v=1i\nh=a 3 v=3i\nh=b 2 v=2i\n");
    free(d);
    eng_close(en);
}

TEST(enospc_writing_a_chunk_fails_the_persist_and_loses_nothing)
{
    fault_persist(ST_FAULT_WRITE, ENOSPC, ".chk");
}

TEST(fsync_failure_on_a_chunk_fails_the_persist_and_loses_nothing)
{
    fault_persist(ST_FAULT_FSYNC, EIO, ".chk");
}

TEST(failed_manifest_rename_fails_the_persist_and_loses_nothing)
{
    fault_persist(ST_FAULT_RENAME, EIO, "MANIFEST");
}

/* Find a chunk file under dir (recursively). */
static int
find_chunk(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    int found = -1;
    while (found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".chk")) {
            snprintf(out, cap, "%s", p);
            found = 0;
        } else if (de->d_type == DT_DIR) {
            found = find_chunk(p, out, cap);
        }
    }
    closedir(d);
    return found;
}

TEST(corrupted_chunk_block_is_reported_never_returned)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    char lp[64 * 100];
    size_t off = 0;
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(lp + off, sizeof lp - off, "m,h=a v=%di %d\n", i * 3, i);
    tu_write(e, "db", lp);
    struct st_error err;
    ASSERT_OK(eng_persist(e, &err));
    eng_close(e);
    char chunk[2048];
    ASSERT_EQ_INT(find_chunk(th_tmpdir(), chunk, sizeof chunk), 0);
    int fd = open(chunk, O_RDWR);
    uint8_t b;
    ASSERT_EQ_INT(pread(fd, &b, 1, 40), 1); /* inside the first data block */
    b ^= 0x01;
    ASSERT_EQ_INT(pwrite(fd, &b, 1, 40), 1);
    close(fd);
    e = tu_open(th_tmpdir(), false);
    struct stor_view *v;
    ASSERT_OK(stor_view_open(e, "db", &v, &err));
    const struct cat_table *t = cat_db_find_table(stor_view_db(v), "m");
    uint32_t id = cat_table_find_column(t, "v")->id;
    struct stor_scan_spec sp = {.table_id = t->id, .t_lo = INT64_MIN, .t_hi = INT64_MAX,
                                .field_cols = &id, .n_field_cols = 1};
    struct stor_scan *s;
    ASSERT_OK(stor_scan_open(v, &sp, &s, &err));
    const struct stor_batch *bt;
    ASSERT_CODE(stor_scan_next(s, &bt, &err), ST_ECORRUPT);
    ASSERT_TRUE(bt == NULL);
    ASSERT_CONTAINS(err.msg, chunk);
    ASSERT_CONTAINS(err.msg, "block at offset 32");
    ASSERT_CONTAINS(err.msg, "checksum mismatch");
    /* the scan stays failed */
    ASSERT_OK(stor_scan_next(s, &bt, &err));
    ASSERT_TRUE(bt == NULL);
    stor_scan_close(s);
    stor_view_close(v);
    eng_close(e);
}

/* Writers put batches of SER rows (one per series) with b = batch id at one
 * time; readers check that every batch they see is whole. */
#define CC_SER 10
#define CC_WRITERS 3
#define CC_BATCHES 60

struct cc {
    struct eng *e;
    int id;
    atomic_int *stop;
    int bad;
    unsigned seen;
};

static void *
cc_writer(void *p)
{
    struct cc *c = p;
    char lp[CC_SER * 64];
    for (int k = 0; k < CC_BATCHES; k++) {
        int b = c->id * 1000 + k;
        size_t off = 0;
        for (int s = 0; s < CC_SER; s++)
            off += (size_t)snprintf(lp + off, sizeof lp - off, "t%d,h=s%d b=%di %d\n", c->id % 2,
                                    s, b, b);
        struct eng_write_opts wo = {.create_db = true};
        struct eng_write_result res;
        struct st_error err;
        if (eng_write(c->e, "cc", lp, off, &wo, &res, &err) != ST_OK)
            c->bad++;
        eng_write_result_cleanup(&res);
    }
    return NULL;
}

static void *
cc_reader(void *p)
{
    struct cc *c = p;
    static _Thread_local uint16_t count[CC_WRITERS * 1000];
    while (!atomic_load(c->stop)) {
        struct stor_view *v;
        struct st_error err;
        if (stor_view_open(c->e, "cc", &v, &err) != ST_OK)
            continue;
        memset(count, 0, sizeof count);
        int64_t newest[2][CC_SER];
        for (int tb = 0; tb < 2; tb++)
            for (int k = 0; k < CC_SER; k++)
                newest[tb][k] = INT64_MIN;
        for (int tb = 0; tb < 2; tb++) {
            char name[8];
            snprintf(name, sizeof name, "t%d", tb);
            const struct cat_table *t = cat_db_find_table(stor_view_db(v), name);
            if (!t)
                continue;
            uint32_t id = cat_table_find_column(t, "b")->id;
            struct stor_scan_spec sp = {.table_id = t->id, .t_lo = INT64_MIN, .t_hi = INT64_MAX,
                                        .field_cols = &id, .n_field_cols = 1, .max_rows = 5};
            struct stor_scan *s;
            if (stor_scan_open(v, &sp, &s, &err) != ST_OK) {
                c->bad++;
                continue;
            }
            for (;;) {
                const struct stor_batch *b;
                if (stor_scan_next(s, &b, &err) != ST_OK) {
                    c->bad++;
                    break;
                }
                if (!b)
                    break;
                int sn = atoi(b->series->tags[0] + 1);
                for (uint32_t r = 0; r < b->n_rows; r++) {
                    int64_t x = b->fields[0].v.i64[r];
                    if (x < 0 || x >= CC_WRITERS * 1000 || b->time[r] != x)
                        c->bad++;
                    else
                        count[x]++;
                    if (sn >= 0 && sn < CC_SER && b->time[r] > newest[tb][sn])
                        newest[tb][sn] = b->time[r];
                }
            }
            stor_scan_close(s);
            /* the last-value answer in the same view agrees with the full scan */
            sp.mode = STOR_SCAN_LAST;
            if (stor_scan_open(v, &sp, &s, &err) != ST_OK) {
                c->bad++;
                continue;
            }
            for (;;) {
                const struct stor_batch *b;
                if (stor_scan_next(s, &b, &err) != ST_OK) {
                    c->bad++;
                    break;
                }
                if (!b)
                    break;
                int sn = atoi(b->series->tags[0] + 1);
                if (b->n_rows != 1 || sn < 0 || sn >= CC_SER || b->time[0] != newest[tb][sn] ||
                    b->fields[0].v.i64[0] != b->time[0])
                    c->bad++;
            }
            stor_scan_close(s);
        }
        stor_view_close(v);
        for (int x = 0; x < CC_WRITERS * 1000; x++)
            if (count[x] && count[x] != CC_SER)
                c->bad++;
        c->seen++;
    }
    return NULL;
}

TEST(readers_see_whole_batches_while_writers_and_persists_run)
{
    st_log_set_level(ST_LOG_ERROR);
    struct eng_options o = {.data_dir = th_tmpdir(), .background = true,
                            .buffer_max_bytes = 64 << 10, .persist_age_ns = 1000000};
    struct eng *e = tu_open_opts(&o);
    atomic_int stop = 0;
    struct cc w[CC_WRITERS], r[2];
    pthread_t tw[CC_WRITERS], tr[2];
    for (int i = 0; i < 2; i++) {
        r[i] = (struct cc){e, i, &stop, 0, 0};
        pthread_create(&tr[i], NULL, cc_reader, &r[i]);
    }
    for (int i = 0; i < CC_WRITERS; i++) {
        w[i] = (struct cc){e, i, &stop, 0, 0};
        pthread_create(&tw[i], NULL, cc_writer, &w[i]);
    }
    for (int k = 0; k < 10; k++) { /* explicit persists beside the background ones */
        struct st_error err;
        ASSERT_OK_E(eng_persist(e, &err), &err);
        usleep(5000);
    }
    for (int i = 0; i < CC_WRITERS; i++) {
        pthread_join(tw[i], NULL);
        ASSERT_EQ_INT(w[i].bad, 0);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(tr[i], NULL);
        ASSERT_EQ_INT(r[i].bad, 0);
        ASSERT_TRUE(r[i].seen > 0);
    }
    ASSERT_EQ_U64(tu_count(e, "cc", "t0") + tu_count(e, "cc", "t1"),
                  (uint64_t)CC_WRITERS * CC_BATCHES * CC_SER);
    eng_close(e);
}

TEST(restart_reproduces_the_same_data)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    char lp[64 * 400];
    size_t off = 0;
    for (int i = 0; i < 400; i++)
        off += (size_t)snprintf(lp + off, sizeof lp - off,
                                "cpu,host=h%d,dc=d%d u=%di,f=%d.5,s=\"x%d\" %lld\n", i % 7, i % 3,
                                i, i % 5, i % 4, (long long)(i / 7) * 86400000000000LL / 20);
    tu_write(e, "db", lp);
    ASSERT_OK(eng_persist(e, &err));
    tu_write(e, "db", "cpu,host=h1,dc=d1 u=-1i 0\ncpu,host=h9 b=true 5\nmem,host=h1 x=1u 7\n");
    del(e, "db", "cpu", 0, 86400000000000LL / 2, "host", "h2", 10);
    char *cpu = tu_dump(e, "db", "cpu"), *mem = tu_dump(e, "db", "mem");
    char *last = tu_dump_ex(e, "db", "cpu", INT64_MIN, INT64_MAX, true, 0);
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    char *cpu2 = tu_dump(e, "db", "cpu"), *mem2 = tu_dump(e, "db", "mem");
    char *last2 = tu_dump_ex(e, "db", "cpu", INT64_MIN, INT64_MAX, true, 0);
    ASSERT_EQ_STR(cpu2, cpu);
    ASSERT_EQ_STR(mem2, mem);
    ASSERT_EQ_STR(last2, last);
    /* and after persisting + compacting everything */
    ASSERT_OK(eng_persist(e, &err));
    free(cpu2);
    cpu2 = tu_dump(e, "db", "cpu");
    ASSERT_EQ_STR(cpu2, cpu);
    eng_close(e);
    free(cpu);
    free(mem);
    free(last);
    free(cpu2);
    free(mem2);
    free(last2);
}

TEST(drop_database_removes_data_and_a_new_one_starts_empty)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m v=1i 1\n");
    ASSERT_OK(eng_persist(e, &err));
    tu_write(e, "db", "m v=2i 2\n");
    ASSERT_TRUE(eng_db_exists(e, "db"));
    ASSERT_OK(eng_db_drop(e, "db", &err));
    ASSERT_FALSE(eng_db_exists(e, "db"));
    ASSERT_CODE(eng_db_drop(e, "db", &err), ST_ENOTFOUND);
    tu_write(e, "db", "m v=3i 3\n");
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, " 3 v=3i\n");
    free(d);
    eng_close(e);
    e = tu_open(th_tmpdir(), false); /* the old WAL records are not replayed into it */
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, " 3 v=3i\n");
    free(d);
    char **names;
    size_t n;
    ASSERT_OK(eng_db_list(e, &names, &n, &err));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_STR(names[0], "db");
    eng_strv_free(names, n);
    eng_close(e);
}

TEST(second_open_of_a_directory_is_refused)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct eng_options o = {.data_dir = th_tmpdir()};
    struct st_error err;
    ASSERT_TRUE(eng_open(&o, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_EAGAIN);
    ASSERT_CONTAINS(err.msg, "in use");
    eng_close(e);
}

TEST(estimates_and_series_lists)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m,h=a,r=x v=1i 10\nm,h=b,r=x v=2i 20\nm,h=c,r=y v=3i 30\n");
    ASSERT_OK(eng_persist(e, &err));
    tu_write(e, "db", "m,h=d,r=y v=4i 40\n");
    del(e, "db", "m", 0, 100, "h", "c", 1);
    struct stor_view *v;
    ASSERT_OK(stor_view_open(e, "db", &v, &err));
    const struct cat_table *t = cat_db_find_table(stor_view_db(v), "m");
    uint32_t r_idx = cat_table_find_column(t, "r")->tag_index;
    struct stor_tag_pred p = {.tag_index = r_idx, .op = STOR_TAG_EQ, .n_values = 1,
                              .values = (const char *const[]){"y"}};
    struct stor_scan_spec sp = {.table_id = t->id, .t_lo = INT64_MIN, .t_hi = INT64_MAX,
                                .tag_preds = &p, .n_tag_preds = 1};
    const struct stor_series *const *list;
    uint32_t n;
    ASSERT_OK(stor_series_list(v, &sp, &list, &n, &err));
    ASSERT_EQ_INT(n, 1); /* c was deleted: only d */
    uint32_t h_idx = cat_table_find_column(t, "h")->tag_index;
    ASSERT_EQ_STR(list[0]->tags[h_idx], "d");
    sp.n_tag_preds = 0;
    ASSERT_OK(stor_series_list(v, &sp, &list, &n, &err));
    ASSERT_EQ_INT(n, 3);
    p.op = STOR_TAG_NE;
    sp.n_tag_preds = 1;
    ASSERT_OK(stor_series_list(v, &sp, &list, &n, &err));
    ASSERT_EQ_INT(n, 2);
    struct stor_scan_estimate est;
    sp.n_tag_preds = 0;
    sp.t_lo = 15;
    sp.t_hi = 35;
    ASSERT_OK(stor_scan_estimate(v, &sp, &est, &err));
    ASSERT_EQ_INT(est.partitions_total, 1);
    ASSERT_EQ_INT(est.partitions_selected, 1);
    ASSERT_TRUE(est.rows_selected >= 2);
    ASSERT_TRUE(est.t_min >= 15 && est.t_max < 35);
    sp.t_lo = 1000000;
    sp.t_hi = 2000000;
    ASSERT_OK(stor_scan_estimate(v, &sp, &est, &err));
    ASSERT_EQ_U64(est.rows_selected, 0);
    ASSERT_TRUE(est.t_min > est.t_max);
    /* errors */
    sp.table_id = 999;
    struct stor_scan *s;
    ASSERT_CODE(stor_scan_open(v, &sp, &s, &err), ST_ENOTFOUND);
    sp.table_id = t->id;
    uint32_t tag_as_field = cat_table_find_column(t, "h")->id;
    sp.field_cols = &tag_as_field;
    sp.n_field_cols = 1;
    ASSERT_CODE(stor_scan_open(v, &sp, &s, &err), ST_EINVAL);
    stor_view_close(v);
    ASSERT_CODE(stor_view_open(e, "nodb", &v, &err), ST_ENOTFOUND);
    eng_close(e);
}

TEST(views_do_not_change_under_later_writes_persists_and_deletes)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m,h=a v=1i 1\nm,h=a v=2i 2\n");
    struct stor_view *v;
    ASSERT_OK(stor_view_open(e, "db", &v, &err));
    tu_write(e, "db", "m,h=a v=3i 3\nm,h=a v=9i 1\n");
    del(e, "db", "m", 2, 3, "h", "a", 1);
    ASSERT_OK(eng_persist(e, &err));
    const struct cat_table *t = cat_db_find_table(stor_view_db(v), "m");
    uint32_t id = cat_table_find_column(t, "v")->id;
    struct stor_scan_spec sp = {.table_id = t->id, .t_lo = INT64_MIN, .t_hi = INT64_MAX,
                                .field_cols = &id, .n_field_cols = 1};
    struct stor_scan *s;
    ASSERT_OK(stor_scan_open(v, &sp, &s, &err));
    const struct stor_batch *b;
    ASSERT_OK(stor_scan_next(s, &b, &err));
    ASSERT_EQ_INT(b->n_rows, 2);
    ASSERT_EQ_INT(b->fields[0].v.i64[0], 1);
    ASSERT_EQ_INT(b->fields[0].v.i64[1], 2);
    ASSERT_OK(stor_scan_next(s, &b, &err));
    ASSERT_TRUE(b == NULL);
    stor_scan_close(s);
    stor_view_close(v);
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 1 v=9i\nh=a 3 v=3i\n");
    free(d);
    eng_close(e);
}

static void
cache_case(size_t cache_bytes)
{
    struct eng_options o = {.data_dir = th_tmpdir(), .block_cache_bytes = cache_bytes};
    struct eng *e = tu_open_opts(&o);
    struct st_error err;
    char lp[80 * 3000];
    for (int part = 0; part < 3; part++) { /* three disjoint chunks per series */
        size_t off = 0;
        for (int i = part * 3000; i < part * 3000 + 3000; i++) {
            if (i % 3)
                off += (size_t)snprintf(lp + off, sizeof lp - off,
                                        "m,h=h%d v=%di,s=\"x%d\",b=%s %d\n", i % 2, i, i % 5,
                                        i % 7 ? "true" : "false", i);
            else /* rows without v: NULLs at unaligned positions */
                off += (size_t)snprintf(lp + off, sizeof lp - off, "m,h=h%d w=%d.5 %d\n", i % 2,
                                        i, i);
        }
        tu_write(e, "db", lp);
        ASSERT_OK(eng_persist(e, &err));
    }
    char *full = tu_dump(e, "db", "m");
    for (int pass = 0; pass < 2; pass++) { /* cold, then warm */
        uint32_t sizes[] = {0, 3, 7, 2048};
        for (int k = 0; k < 4; k++) {
            char *d = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, false, sizes[k]);
            ASSERT_EQ_STR(d, full);
            free(d);
        }
        char *w = tu_dump_ex(e, "db", "m", 2995, 6011, false, 5);
        uint64_t n = 0;
        for (char *q = w; *q; q++)
            n += *q == '\n';
        ASSERT_EQ_U64(n, 6011 - 2995);
        free(w);
    }
    free(full);
    eng_close(e);
}

TEST(scans_over_disjoint_chunks_with_nulls_and_the_block_cache)
{
    cache_case(0);
}

TEST(scans_with_a_tiny_block_cache_and_without_one)
{
    cache_case(4096);
    cache_case(SIZE_MAX);
}

TEST(compaction_merges_chunks_resolves_upserts_and_drops_applied_deletes)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    /* five persists into one partition, each overwriting part of the last */
    for (int round = 0; round < 5; round++) {
        char lp[64 * 50];
        size_t off = 0;
        for (int i = round * 10; i < round * 10 + 30; i++)
            off += (size_t)snprintf(lp + off, sizeof lp - off, "m,h=a v=%di,r%d=1i %d\n",
                                    round * 100 + i, round, i);
        tu_write(e, "db", lp);
        if (round == 2)
            del(e, "db", "m", 0, 5, "h", "a", 5);
        struct eng_stats st;
        ASSERT_OK_E(eng_persist(e, &err), &err);
        eng_get_stats(e, &st);
        ASSERT_TRUE(st.chunks <= 4); /* compacted once 4 accumulate */
    }
    struct eng_stats st;
    eng_get_stats(e, &st);
    char *before = tu_dump(e, "db", "m");
    /* rows 0..4 deleted (they were written before the delete), the rest: last round wins v */
    ASSERT_TRUE(strstr(before, "h=a 4 ") == NULL);
    ASSERT_CONTAINS(before, "h=a 5 v=5i,r0=1i\n");
    ASSERT_CONTAINS(before, "h=a 25 v=225i,r0=1i,r1=1i,r2=1i\n");
    ASSERT_CONTAINS(before, "h=a 69 v=469i,r4=1i\n");
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    char *after = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(after, before);
    free(after);
    free(before);
    eng_close(e);
}

TEST(extreme_timestamps_and_small_partitions)
{
    struct eng_options o = {.data_dir = th_tmpdir(), .partition_ns = 1000};
    struct eng *e = tu_open_opts(&o);
    struct st_error err;
    const char *lp = "m v=1i -9223372036854775806\n"
                     "m v=2i -9223372036854775000\n"
                     "m v=3i -1\nm v=4i 0\nm v=5i 999\nm v=6i 1000\n"
                     "m v=7i 9223372036854775806\n";
    tu_write(e, "db", lp);
    char *d1 = tu_dump(e, "db", "m");
    ASSERT_OK(eng_persist(e, &err));
    char *d2 = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d2, d1);
    ASSERT_EQ_U64(tu_count(e, "db", "m"), 7);
    char *r = tu_dump_ex(e, "db", "m", INT64_MIN, -9223372036854775000LL + 1, false, 0);
    ASSERT_EQ_STR(r, " -9223372036854775000 v=2i\n -9223372036854775806 v=1i\n");
    free(r);
    r = tu_dump_ex(e, "db", "m", -1, 1000, false, 0);
    ASSERT_EQ_STR(r, " -1 v=3i\n 0 v=4i\n 999 v=5i\n");
    free(r);
    r = tu_dump_ex(e, "db", "m", 9223372036854775806LL, INT64_MAX, false, 0);
    ASSERT_EQ_STR(r, " 9223372036854775806 v=7i\n");
    free(r);
    r = tu_dump_ex(e, "db", "m", INT64_MIN, INT64_MAX, true, 0);
    ASSERT_EQ_STR(r, " 9223372036854775806 v=7i\n");
    free(r);
    eng_close(e);
    e = tu_open_opts(&o);
    char *d3 = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d3, d1);
    free(d1);
    free(d2);
    free(d3);
    eng_close(e);
}

static void
flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    ASSERT_EQ_INT(pread(fd, &b, 1, off), 1);
    b ^= 0x20;
    ASSERT_EQ_INT(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

TEST(damaged_manifest_stops_the_open_a_missing_or_cut_chunk_is_quarantined)
{
    st_log_set_level(ST_LOG_ERROR);
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m,h=a v=1i 1\n");
    ASSERT_OK(eng_persist(e, &err));
    tu_write(e, "db", "m,h=b v=2i 2\n");
    eng_close(e);
    char man[1024];
    snprintf(man, sizeof man, "%s/db/1/MANIFEST", th_tmpdir());
    flip_byte(man, 20);
    struct eng_options o = {.data_dir = th_tmpdir()};
    ASSERT_TRUE(eng_open(&o, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "MANIFEST");
    flip_byte(man, 20);
    e = tu_open(th_tmpdir(), false);
    eng_close(e);
    char chunk[2048];
    ASSERT_EQ_INT(find_chunk(th_tmpdir(), chunk, sizeof chunk), 0);
    char moved[2100];
    snprintf(moved, sizeof moved, "%s.away", chunk);
    ASSERT_EQ_INT(rename(chunk, moved), 0);
    /* a missing chunk: the database opens, that chunk's rows are quarantined */
    e = tu_open(th_tmpdir(), false);
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=b 2 v=2i\n");
    free(d);
    struct eng_stats st;
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_chunks, 1);
    ASSERT_EQ_U64(st.quarantined_rows, 1);
    eng_close(e);
    ASSERT_EQ_INT(rename(moved, chunk), 0);
    e = tu_open(th_tmpdir(), false);
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 1 v=1i\nh=b 2 v=2i\n");
    free(d);
    eng_close(e);
    /* a chunk cut short does not match its manifest entry: quarantined too */
    ASSERT_EQ_INT(truncate(chunk, 40), 0);
    e = tu_open(th_tmpdir(), false);
    d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=b 2 v=2i\n");
    free(d);
    eng_get_stats(e, &st);
    ASSERT_EQ_U64(st.quarantined_chunks, 1);
    eng_close(e);
}

TEST(unlisted_chunk_files_are_removed_on_open)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m,h=a v=1i 1\n");
    ASSERT_OK(eng_persist(e, &err));
    eng_close(e);
    char orphan[1024];
    snprintf(orphan, sizeof orphan, "%s/db/1/1/00000000000000ff.chk", th_tmpdir());
    int fd = open(orphan, O_WRONLY | O_CREAT, 0600);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(write(fd, "junk", 4), 4);
    close(fd);
    e = tu_open(th_tmpdir(), false);
    ASSERT_TRUE(access(orphan, F_OK) != 0);
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, "h=a 1 v=1i\n");
    free(d);
    eng_close(e);
}

TEST(corrupt_wal_in_the_middle_stops_the_open_and_a_torn_tail_does_not)
{
    st_log_set_level(ST_LOG_ERROR);
    struct eng *e = tu_open(th_tmpdir(), false);
    tu_write(e, "db", "m v=1i 1\n");
    tu_write(e, "db", "m v=2i 2\n");
    tu_write(e, "db", "m v=3i 3\n");
    eng_close(e);
    char seg[1024];
    snprintf(seg, sizeof seg, "%s/wal/0000000000000001.wal", th_tmpdir());
    struct stat st;
    ASSERT_EQ_INT(stat(seg, &st), 0);
    /* torn tail: cut into the last record */
    ASSERT_EQ_INT(truncate(seg, st.st_size - 3), 0);
    e = tu_open(th_tmpdir(), false);
    char *d = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(d, " 1 v=1i\n 2 v=2i\n");
    free(d);
    eng_close(e);
    /* damage in the first record, valid ones after it */
    flip_byte(seg, 32 + 20);
    struct eng_options o = {.data_dir = th_tmpdir()};
    struct st_error err;
    ASSERT_TRUE(eng_open(&o, &err) == NULL);
    ASSERT_EQ_INT(err.code, ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "refusing to drop acknowledged writes");
}

/* Rows of table m matching tag preds, as "h:time" lines (sorted by the scan order). */
static char *
pred_scan(struct eng *e, const char *tag, enum stor_tag_op op, const char *const *vals,
          uint32_t nv, bool last)
{
    struct st_error err;
    struct stor_view *v;
    ASSERT_OK(stor_view_open(e, "db", &v, &err));
    const struct cat_table *t = cat_db_find_table(stor_view_db(v), "m");
    uint32_t id = cat_table_find_column(t, "v")->id;
    uint32_t hidx = cat_table_find_column(t, "h")->tag_index;
    struct stor_tag_pred p = {.tag_index = cat_table_find_column(t, tag)->tag_index, .op = op,
                              .n_values = nv, .values = vals};
    struct stor_scan_spec sp = {.table_id = t->id, .t_lo = INT64_MIN, .t_hi = INT64_MAX,
                                .field_cols = &id, .n_field_cols = 1, .tag_preds = &p,
                                .n_tag_preds = 1, .mode = last ? STOR_SCAN_LAST : STOR_SCAN_ALL};
    struct stor_scan *s;
    ASSERT_OK(stor_scan_open(v, &sp, &s, &err));
    static char out[1 << 16];
    size_t off = 0;
    out[0] = 0;
    for (;;) {
        const struct stor_batch *b;
        ASSERT_OK(stor_scan_next(s, &b, &err));
        if (!b)
            break;
        for (uint32_t r = 0; r < b->n_rows; r++)
            off += (size_t)snprintf(out + off, sizeof out - off, "%s:%lld ",
                                    b->series->tags[hidx], (long long)b->time[r]);
    }
    stor_scan_close(s);
    stor_view_close(v);
    return out;
}

TEST(tag_predicates_select_series_through_the_postings)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    char lp[80 * 300];
    size_t off = 0;
    for (int i = 0; i < 100; i++) /* 100 series; g only on every tenth */
        off += (size_t)snprintf(lp + off, sizeof lp - off, "m,h=h%02d%s v=%di %d\n", i,
                                i % 10 == 0 ? ",g=x" : "", i, i);
    tu_write(e, "db", lp);
    for (int round = 0; round < 2; round++) {
        const char *one[] = {"h07"};
        ASSERT_EQ_STR(pred_scan(e, "h", STOR_TAG_EQ, one, 1, false), "h07:7 ");
        const char *two[] = {"h42", "h03", "nope"};
        ASSERT_EQ_STR(pred_scan(e, "h", STOR_TAG_IN, two, 3, false), "h03:3 h42:42 ");
        ASSERT_EQ_STR(pred_scan(e, "h", STOR_TAG_IN, two, 3, true), "h03:3 h42:42 ");
        const char *gx[] = {"x"};
        ASSERT_EQ_STR(pred_scan(e, "g", STOR_TAG_EQ, gx, 1, false),
                      "h00:0 h10:10 h20:20 h30:30 h40:40 h50:50 h60:60 h70:70 h80:80 h90:90 ");
        /* NE: a series without the tag matches no NE (SQL semantics) */
        const char *gy[] = {"y"};
        ASSERT_EQ_STR(pred_scan(e, "g", STOR_TAG_NE, gy, 1, false),
                      "h00:0 h10:10 h20:20 h30:30 h40:40 h50:50 h60:60 h70:70 h80:80 h90:90 ");
        ASSERT_EQ_STR(pred_scan(e, "h", STOR_TAG_EQ, gy, 1, false), "");
        /* again from chunks, then after a restart (postings rebuilt from them) */
        if (round == 0) {
            ASSERT_OK(eng_persist(e, &err));
            eng_close(e);
            e = tu_open(th_tmpdir(), false);
        }
    }
    eng_close(e);
}

TEST(directories_of_dropped_databases_are_removed_on_open)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    tu_write(e, "db", "m v=1i 1\n");
    ASSERT_OK(eng_persist(e, &err));
    eng_close(e);
    char left[1024];
    snprintf(left, sizeof left, "%s/db/77/3", th_tmpdir()); /* as a crashed drop leaves it */
    ASSERT_OK(st_mkdir_p(left, 0700, &err));
    e = tu_open(th_tmpdir(), false);
    snprintf(left, sizeof left, "%s/db/77", th_tmpdir());
    ASSERT_TRUE(access(left, F_OK) != 0);
    ASSERT_EQ_U64(tu_count(e, "db", "m"), 1);
    eng_close(e);
}

TEST(per_line_errors_carry_the_parser_code_limit_or_parse)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    /* 300 tags: over the parser's limit (256) */
    char lp[8192];
    size_t off = (size_t)snprintf(lp, sizeof lp, "m");
    for (int i = 0; i < 300; i++)
        off += (size_t)snprintf(lp + off, sizeof lp - off, ",t%d=v", i);
    off += (size_t)snprintf(lp + off, sizeof lp - off, " f=1i 1\nm f=\"unterminated 2\nm g=2i 3\n");
    struct eng_write_result res;
    ASSERT_CODE(tu_write_rc(e, "db", lp, true, &res), ST_EPARTIAL);
    ASSERT_EQ_U64(res.lines_ok, 1);
    ASSERT_EQ_U64(res.lines_rejected, 2);
    ASSERT_EQ_INT(res.n_errors, 2);
    ASSERT_EQ_INT(res.errors[0].code, ST_ELIMIT);
    ASSERT_EQ_INT(res.errors[0].line, 1);
    ASSERT_EQ_INT(res.errors[1].code, ST_EPARSE);
    eng_write_result_cleanup(&res);
    /* without partial, the first bad line's code is the call's */
    ASSERT_CODE(tu_write_rc(e, "db", lp, false, &res), ST_ELIMIT);
    eng_write_result_cleanup(&res);
    eng_close(e);
}

TEST(automatic_compaction_merges_runs_of_similar_chunks_not_the_whole_partition)
{
    struct eng *e = tu_open(th_tmpdir(), false);
    struct st_error err;
    struct eng_stats st;
    /* equal persists into one partition, each overwriting a row of the last */
    for (int round = 0; round < 8; round++) {
        char lp[64 * 40];
        size_t off = 0;
        for (int i = 0; i < 20; i++)
            off += (size_t)snprintf(lp + off, sizeof lp - off, "m,h=a v=%di %d\n", round * 100 + i,
                                    round * 19 + i);
        tu_write(e, "db", lp);
        ASSERT_OK_E(eng_persist(e, &err), &err);
        eng_get_stats(e, &st);
        /* 4 equal chunks merge into one; the 4x chunk waits for 3 more of its size */
        uint64_t want = round < 3 ? (uint64_t)round + 1 : round < 7 ? (uint64_t)round - 2 : 2;
        ASSERT_EQ_U64(st.chunks, want);
    }
    char *before = tu_dump(e, "db", "m");
    /* upserts across chunks resolved: time 19 was written by rounds 0 and 1, 1 wins */
    ASSERT_CONTAINS(before, "h=a 19 v=100i\n");
    ASSERT_CONTAINS(before, "h=a 152 v=719i\n");
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    char *after = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(after, before);
    free(before);
    free(after);
    eng_close(e);
}

TEST(a_failed_schema_change_leaves_no_series_hint_behind)
{
    /* a line creating a tag column whose catalog save fails: the next batch
     * with the same text must create the column, not reuse the series the
     * failed batch registered (its key names a column the catalog lacks) */
    st_log_set_level(ST_LOG_ERROR);
    struct eng *e = tu_open(th_tmpdir(), false);
    tu_write(e, "db", "m,h=a v=1i 1\n");
    struct st_fault f = {.op = ST_FAULT_RENAME, .count = 1, .err = EIO,
                         .path_substr = "catalog.bin"};
    st_fault_arm(&f);
    struct eng_write_result res;
    ASSERT_CODE(tu_write_rc(e, "db", "m,h=a,nt=x v=2i 2\n", false, &res), ST_EIO);
    st_fault_disarm();
    eng_write_result_cleanup(&res);
    tu_write(e, "db", "m,h=a,nt=x v=3i 3\n");
    tu_write(e, "db", "m,h=a,nt=x v=4i 4\n"); /* found by its text now */
    char *before = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(before, "h=a 1 v=1i\nh=a,nt=x 3 v=3i\nh=a,nt=x 4 v=4i\n");
    eng_close(e);
    e = tu_open(th_tmpdir(), false);
    char *after = tu_dump(e, "db", "m");
    ASSERT_EQ_STR(after, before);
    free(before);
    free(after);
    eng_close(e);
}
