/*
 * fuzz_sql.c: libFuzzer target for the SQL front end. Every input is SQL
 * text: it is normalised, parsed, bound and planned against a fixed
 * catalog (tests/unit/exec/exec_fake.c), explained, and then executed over
 * a small synthetic data set with a deadline and bounded memory and
 * result size. Nothing may crash, leak, hang or trip a sanitizer; errors
 * are expected and ignored. Parameters $a..$c are bound to an int, a
 * string and a timestamp so parameterised inputs get past the binder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec_fake.h"
#include "strata/clock.h"
#include "strata/exec.h"
#include "strata/plan.h"
#include "strata/sql.h"

static struct fake_db db;
static int initialised;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!initialised) {
        fake_db_init(&db, 6, 300, 17, true);
        initialised = 1;
    }
    if (size > 64 * 1024)
        return 0;
    const char *sql = (const char *)data;
    char norm[512];
    sql_normalize(sql, size, norm, sizeof norm);

    struct sql_arena a;
    sql_arena_init(&a, 64u << 20);
    struct sql_stmt *st = NULL;
    struct st_error err;
    struct plan_param params[3] = {
        {"a", {.type = PT_INT, .v.i = 42}},
        {"b", {.type = PT_STRING, .v.s = {"a", 1}}},
        {"c", {.type = PT_TIME, .v.i = 1000000000000LL}},
    };
    struct plan_ctx ctx = {.arena = &a, .db = fake_catalog(), .db_name = "db",
                           .now_ns = 2000000000000LL, .params = params, .n_params = 3,
                           .batch_rows = 64};
    if (sql_parse(sql, size, &a, &st, &err) == ST_OK) {
        struct plan *p = NULL;
        if (plan_build(&ctx, st, &p, &err) == ST_OK && p->root) {
            struct exec_source src;
            fake_source(&src, &db);
            const char **lines;
            uint32_t n;
            plan_explain(p->root, &a, src.estimate, src.ctx, &lines, &n, &err);
            struct exec_opts o = {.deadline_mono_ns = st_mono_ns() + 2 * ST_NS_PER_SEC,
                                  .max_result_bytes = 4u << 20,
                                  .mem_limit_bytes = 64u << 20,
                                  .batch_rows = 64};
            struct exec_query *q = NULL;
            if (exec_open(p->root, &src, &o, &q, &err) == ST_OK) {
                const struct st_batch *b;
                while (exec_next(q, &b, &err) == ST_OK && b) {
                    /* touch every value the batch claims to have */
                    for (uint32_t c = 0; c < b->n_cols; c++)
                        if (b->cols[c].type == ST_TYPE_STRING && b->n_rows)
                            (void)b->cols[c].str_data[0 * b->cols[c].v.offsets[b->n_rows]];
                }
                exec_close(q);
            }
        }
    }
    plan_ctx_cleanup(&ctx);
    sql_arena_cleanup(&a);
    return 0;
}
