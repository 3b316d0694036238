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
