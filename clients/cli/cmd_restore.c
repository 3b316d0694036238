/*
 * cmd_restore.c: `strata restore`, a backup into a new or empty database.
 *
 *   strata restore DIR [--database DB] [--table T]... [--chunk-size SIZE]
 *                  [--no-sync] [--verify] [--quiet]
 *
 * libstrata checks the whole backup first (nothing is written when a file
 * is damaged; the problems go to stderr), refuses a database that has
 * tables, writes each table in all-or-nothing requests and compares row
 * counts and time ranges with the manifest at the end. --verify then runs
 * the full `backup verify` against the restored database. docs/backup.md.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_backup.h"

static const char usage[] =
    "usage: strata restore DIR [--database DB] [--table T]... [--chunk-size SIZE]\n"
    "                      [--no-sync] [--verify] [--quiet]\n"
    "\n"
    "Restore a backup made by `strata backup` into a new or empty database.\n"
    "The backup is checked in full before anything is written.\n"
    "\n"
    "  -d, --database DB    restore into DB (default: the database the backup is of)\n"
    "  -t, --table T        only this table of the backup (repeatable)\n"
    "      --chunk-size N   bytes of line protocol per write request (default 1M)\n"
    "      --no-sync        do not wait for the server's WAL fsync on each request\n"
    "      --verify         afterwards compare the database with the backup row by row\n"
    "  -q, --quiet          no progress line, no summary\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0; 12 the backup is damaged (nothing written) or the restored\n"
    "data differs; 19 the database is not empty; 11 DIR unreadable.\n";

enum { O_CHUNK = 1, O_NO_SYNC, O_VERIFY };

int
cmd_restore(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"table", required_argument, NULL, 't'},
        {"chunk-size", required_argument, NULL, O_CHUNK},
        {"no-sync", no_argument, NULL, O_NO_SYNC},
        {"verify", no_argument, NULL, O_VERIFY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    struct strata_restore_opts ro = {0};
    const char **tables = NULL;
    size_t n_tables = 0;
    bool quiet = false, verify = false;
    int ch, rc = 0;
    while ((ch = cli_getopt(c, argc, argv, "t:qh", opts, "restore")) != -1) {
        switch (ch) {
        case 't': {
            const char **nv = realloc(tables, (n_tables + 1) * sizeof *nv);
            if (!nv) {
                rc = ST_ENOMEM;
                goto out;
            }
            tables = nv;
            tables[n_tables++] = optarg;
            break;
        }
        case O_CHUNK:
            if (parse_size(optarg, &ro.chunk_bytes) != ST_OK || ro.chunk_bytes < 1024 ||
                ro.chunk_bytes > ((uint64_t)64 << 20)) {
                rc = cli_usage_error("restore", "bad --chunk-size \"%s\" (1k to 64M)", optarg);
                goto out;
            }
            break;
        case O_NO_SYNC:
            ro.no_sync = true;
            break;
        case O_VERIFY:
            verify = true;
            break;
        case 'q':
            quiet = true;
            break;
        default:
            rc = ST_EINVAL;
            goto out;
        }
    }
    if (optind + 1 != argc) {
        rc = cli_usage_error("restore", optind >= argc ? "which backup? give its directory"
                                                       : "one directory only");
        goto out;
    }
    struct st_error err;
    struct strata *conn = cli_conn(c, &err);
    if (!conn) {
        rc = cli_fail(&err);
        goto out;
    }
    bool progress = !quiet && isatty(STDERR_FILENO);
    struct diff_out dout = {stderr, progress};
    ro.dir = argv[optind];
    ro.database = c->database_from_env ? NULL : c->database;
    ro.tables = tables;
    ro.n_tables = n_tables;
    ro.progress = progress ? cli_backup_progress : NULL;
    ro.diff = cli_backup_diff;
    ro.diff_arg = &dout;
    struct strata_restore_summary sum;
    double t0 = now_s();
    if (strata_restore(conn, &ro, &sum, &err) != ST_OK) {
        if (progress) fputs("\r\033[K", stderr);
        rc = cli_fail(&err);
        goto out;
    }
    if (!quiet) {
        printf("restored %u table%s (%llu rows) from %s in %.2f s\n", sum.n_tables,
               sum.n_tables == 1 ? "" : "s", (unsigned long long)sum.rows, ro.dir, now_s() - t0);
        if (sum.n_empty_tables)
            printf("note: %u table%s without rows in the backup %s not recreated (line protocol "
                   "creates a table with its first row)\n",
                   sum.n_empty_tables, sum.n_empty_tables == 1 ? "" : "s",
                   sum.n_empty_tables == 1 ? "was" : "were");
    }
    if (verify) {
        struct diff_out vout = {stdout, progress};
        struct strata_verify_opts vo = {
            .dir = ro.dir,
            .database = ro.database,
            .tables = tables,
            .n_tables = n_tables,
            .diff = cli_backup_diff,
            .diff_arg = &vout,
            .progress = progress ? cli_backup_progress : NULL,
        };
        struct strata_verify_summary vs;
        if (strata_backup_verify(conn, &vo, &vs, &err) != ST_OK) {
            rc = cli_fail(&err);
            goto out;
        }
        if (!quiet)
            printf("verified: database \"%s\" matches %s row by row (%llu rows)\n", vs.database,
                   ro.dir, (unsigned long long)vs.rows);
    }
out:
    free(tables);
    return rc;
}
