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
