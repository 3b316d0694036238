/*
 * cmd_backup.c: `strata backup` and `strata backup verify`, and the
 * progress line and difference report that `strata restore` shares.
 *
 *   strata backup [--database DB] --out DIR [--table T]... [--force]
 *                 [--compression N] [--rows-per-query N] [--quiet]
 *   strata backup verify DIR [--database DB] [--table T]... [--offline]
 *                 [--max-row-diffs N] [--rows-per-query N] [--quiet]
 *
 * A thin layer over libstrata's backup API (strata/backup.h); the format
 * and what the digests prove are in docs/backup.md. Differences found by
 * verify go to stdout, one per line (`TABLE: WHAT: message`), and the exit
 * status is 12 (ST_ECORRUPT) when there is any.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_backup.h"

static const char backup_usage[] =
    "usage: strata backup [--database DB] --out DIR [--table T]... [--force]\n"
    "                     [--compression N] [--rows-per-query N] [--quiet]\n"
    "       strata backup verify DIR [--database DB] [--table T]... [--offline]\n"
    "                     [--max-row-diffs N] [--rows-per-query N] [--quiet]\n"
    "\n"
    "Back up a database as gzip'd line protocol (DIR/<table>.lp.gz) with a manifest\n"
    "(DIR/manifest.json: rows, time range, columns and SHA-256 digests per table) and\n"
    "DIR/SHA256SUMS; or verify a backup against its manifest and the live database.\n"
    "\n"
    "  -d, --database DB      the database (backup: env STRATA_DATABASE; verify: the\n"
    "                         manifest's unless given)\n"
    "  -o, --out DIR          where to write the backup (created; must be empty)\n"
    "  -t, --table T          only this table (repeatable)\n"
    "      --force            write into a non-empty DIR (replaces the manifest)\n"
    "      --compression N    gzip level 1..9 (default 6)\n"
    "      --rows-per-query N rows per ordered query window (default 500000)\n"
    "      --offline          verify: check the files only, without the server\n"
    "      --max-row-diffs N  verify: differing rows shown per table (default 10)\n"
    "  -q, --quiet            no progress line, no summary\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0; 7 DIR not empty; 6 no such database or table; 11 DIR not\n"
    "writable or a file unreadable; 12 verify found differences.\n";

enum { O_FORCE = 1, O_COMPRESSION, O_ROWS_PER_QUERY, O_OFFLINE, O_MAX_ROW_DIFFS };

/* ---- shared with cmd_restore.c ------------------------------------------------------ */

static double
mib(uint64_t b)
{
    return (double)b / 1048576.0;
}

void
cli_backup_progress(const struct strata_backup_progress *p, void *arg)
{
    (void)arg;
    if (p->done) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        return;
    }
    double rate = p->elapsed_s > 0 ? (double)p->rows / p->elapsed_s : 0;
    char total[32] = "";
    if (p->rows_total) snprintf(total, sizeof total, "/%llu", (unsigned long long)p->rows_total);
    fprintf(stderr, "\r\033[K%s %s (%u/%u)  %llu%s rows  %.1f MiB  %.0f rows/s", p->phase,
            p->table ? p->table : "", p->table_index, p->n_tables, (unsigned long long)p->rows,
            total, mib(p->lp_bytes), rate);
    fflush(stderr);
}

void
cli_backup_diff(const struct strata_backup_diff *d, void *arg)
{
    struct diff_out *o = arg;
    if (o->progress) fputs("\r\033[K", stderr);
    fprintf(o->f, "%s: %s: %s\n", d->table ? d->table : "backup", d->what, d->message);
    fflush(o->f);
}

static bool
parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-') return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Append a --table value to a growing list. */
static int
add_table(const char ***v, size_t *n, const char *name, const char *cmd)
{
    const char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        fprintf(stderr, "strata: out of memory\n");
        return ST_ENOMEM;
    }
    nv[(*n)++] = name;
    *v = nv;
    (void)cmd;
    return 0;
}

/* ---- strata backup verify ----------------------------------------------------------- */

static int
cmd_verify(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"table", required_argument, NULL, 't'},
        {"offline", no_argument, NULL, O_OFFLINE},
        {"max-row-diffs", required_argument, NULL, O_MAX_ROW_DIFFS},
        {"rows-per-query", required_argument, NULL, O_ROWS_PER_QUERY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct strata_verify_opts vo = {0};
    const char **tables = NULL;
    size_t n_tables = 0;
    bool quiet = false;
    int ch, rc = 0;
    uint64_t v;
    while ((ch = cli_getopt(c, argc, argv, "t:qh", opts, "backup verify")) != -1) {
        switch (ch) {
        case 't':
            if ((rc = add_table(&tables, &n_tables, optarg, "backup verify"))) goto out;
            break;
        case O_OFFLINE:
            vo.offline = true;
            break;
        case O_MAX_ROW_DIFFS:
            if (!parse_count(optarg, 1, 1000000, &v)) {
                rc = cli_usage_error("backup verify", "bad --max-row-diffs \"%s\"", optarg);
                goto out;
            }
            vo.max_row_diffs = (uint32_t)v;
            break;
        case O_ROWS_PER_QUERY:
            if (!parse_count(optarg, 1000, 100000000, &v)) {
                rc = cli_usage_error("backup verify",
                                     "bad --rows-per-query \"%s\" (1000 to 100000000)", optarg);
                goto out;
            }
            vo.rows_per_query = v;
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
        rc = cli_usage_error("backup verify", optind >= argc ? "which backup? give its directory"
                                                             : "one directory only");
        goto out;
    }
    struct st_error err;
    struct strata *conn = NULL;
    if (!vo.offline && !(conn = cli_conn(c, &err))) {
        rc = cli_fail(&err);
        goto out;
    }
    bool progress = !quiet && isatty(STDERR_FILENO);
    struct diff_out dout = {stdout, progress};
    vo.dir = argv[optind];
    vo.database = c->database_from_env ? NULL : c->database;
    vo.tables = tables;
    vo.n_tables = n_tables;
    vo.diff = cli_backup_diff;
    vo.diff_arg = &dout;
    vo.progress = progress ? cli_backup_progress : NULL;
    struct strata_verify_summary sum;
    enum st_code code = strata_backup_verify(conn, &vo, &sum, &err);
    if (code != ST_OK) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!quiet) {
        if (vo.offline)
            printf("%s is intact: %u table%s, %llu rows (files only; no database was read)\n",
                   vo.dir, sum.n_tables, sum.n_tables == 1 ? "" : "s",
                   (unsigned long long)sum.rows);
        else
            printf("%s matches database \"%s\": %u table%s, %llu rows\n", vo.dir, sum.database,
                   sum.n_tables, sum.n_tables == 1 ? "" : "s", (unsigned long long)sum.rows);
    }
out:
    free(tables);
    return rc;
}

/* ---- strata backup --------------------------------------------------------------------- */

int
cmd_backup(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"table", required_argument, NULL, 't'},
        {"force", no_argument, NULL, O_FORCE},
        {"compression", required_argument, NULL, O_COMPRESSION},
        {"rows-per-query", required_argument, NULL, O_ROWS_PER_QUERY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(backup_usage, stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "verify") == 0) return cmd_verify(c, argc - 1, argv + 1);
    struct strata_backup_opts bo = {0};
    const char **tables = NULL;
    size_t n_tables = 0;
    bool quiet = false;
    int ch, rc = 0;
    uint64_t v;
    while ((ch = cli_getopt(c, argc, argv, "o:t:qh", opts, "backup")) != -1) {
        switch (ch) {
        case 'o':
            bo.dir = optarg;
            break;
        case 't':
            if ((rc = add_table(&tables, &n_tables, optarg, "backup"))) goto out;
            break;
        case O_FORCE:
            bo.force = true;
            break;
        case O_COMPRESSION:
            if (!parse_count(optarg, 1, 9, &v)) {
                rc = cli_usage_error("backup", "bad --compression \"%s\" (1 to 9)", optarg);
                goto out;
            }
            bo.compression_level = (int)v;
            break;
        case O_ROWS_PER_QUERY:
            if (!parse_count(optarg, 1000, 100000000, &v)) {
                rc = cli_usage_error("backup", "bad --rows-per-query \"%s\" (1000 to 100000000)",
                                     optarg);
                goto out;
            }
            bo.rows_per_query = v;
            break;
        case 'q':
            quiet = true;
            break;
        default:
            rc = ST_EINVAL;
            goto out;
        }
    }
    if (optind < argc) {
        rc = cli_usage_error(
            "backup", "unexpected argument \"%s\" (the directory goes after --out)", argv[optind]);
        goto out;
    }
    if (!c->database || !*c->database) {
        rc = cli_usage_error("backup", "no database: give --database DB or set STRATA_DATABASE");
        goto out;
    }
    if (!bo.dir || !*bo.dir) {
        rc = cli_usage_error("backup", "no directory: give --out DIR");
        goto out;
    }
    struct st_error err;
    struct strata *conn = cli_conn(c, &err);
    if (!conn) {
        rc = cli_fail(&err);
        goto out;
    }
    bool progress = !quiet && isatty(STDERR_FILENO);
    bo.database = c->database;
    bo.tables = tables;
    bo.n_tables = n_tables;
    bo.progress = progress ? cli_backup_progress : NULL;
    struct strata_backup_summary sum;
    double t0 = now_s();
    if (strata_backup(conn, &bo, &sum, &err) != ST_OK) {
        if (progress) fputs("\r\033[K", stderr);
        rc = cli_fail(&err);
        goto out;
    }
    if (!quiet)
        printf("backed up %u table%s (%llu rows) of \"%s\" to %s: %.1f MiB of line protocol, "
               "%.1f MiB gzip, in %.2f s\n",
               sum.n_tables, sum.n_tables == 1 ? "" : "s", (unsigned long long)sum.rows,
               bo.database, bo.dir, mib(sum.lp_bytes), mib(sum.file_bytes), now_s() - t0);
out:
    free(tables);
    return rc;
}
