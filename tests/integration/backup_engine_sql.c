/*
 * backup_engine_sql.c: a test helper for tests/integration/backup_*.sh. It
 * opens the engine directly on a stopped stratad's data directory and runs
 * one SQL statement that changes data (DELETE), which the server's query
 * API refuses (it is read-only). Prints the first value of the result (the
 * rows deleted) and exits 0, or prints the error and exits with its code.
 *
 *   backup_engine_sql DATA_DIR DATABASE SQL
 */
#include <stdio.h>
#include <string.h>

#include "strata/engine.h"

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: backup_engine_sql DATA_DIR DATABASE SQL\n");
        return 2;
    }
    struct st_error err;
    struct eng_options eo = {.data_dir = argv[1]};
    struct eng *e = eng_open(&eo, &err);
    if (!e) {
        fprintf(stderr, "backup_engine_sql: opening %s: %s\n", argv[1], err.msg);
        return err.code;
    }
    struct eng_query_opts qo = {0};
    struct eng_cursor *cur;
    enum st_code rc = eng_query(e, argv[2], argv[3], strlen(argv[3]), &qo, &cur, &err);
    if (rc == ST_OK) {
        const struct st_batch *b;
        while ((rc = eng_cursor_next(cur, &b, &err)) == ST_OK && b)
            if (b->n_rows && b->n_cols &&
                (b->cols[0].type == ST_TYPE_INT || b->cols[0].type == ST_TYPE_UINT))
                printf("%lld\n", (long long)b->cols[0].v.i64[0]);
        eng_cursor_free(cur);
    }
    if (rc != ST_OK) fprintf(stderr, "backup_engine_sql: %s\n", err.msg);
    eng_close(e);
    return rc;
}
