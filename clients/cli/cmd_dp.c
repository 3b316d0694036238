/*
 * cmd_dp.c: the data-protection commands of `strata` (docs/cli.md):
 *
 *   strata verify [--database DB] [--format FORMAT] [-q]
 *       scrub a database (or, without --database, everything: the operator only): each
 *       bad block is printed as it is found, then a summary; exit status 0 when nothing is
 *       wrong, 12 (ECORRUPT) when something is;
 *   strata admin rotate-key [-q]
 *       rewrap every data key under the server's current master key, with progress on a
 *       terminal; then the previous keys can be retired (docs/operations.md).
 *
 * Progress lines go to standard error, and only when it is a terminal.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage_verify[] =
    "usage: strata verify [--database DB] [--format FORMAT] [-q]\n"
    "\n"
    "Read back every block the server stores for a database (without --database:\n"
    "everything, the catalog and the WAL included; the operator only) and check its\n"
    "checksum or authentication tag. Each bad block is printed with its file and\n"
    "offset; damaged data is quarantined (queries skip it: restore it from a backup).\n"
    "\n"
    "  -d, --database DB    the database to scrub (env STRATA_DATABASE is not used)\n"
    "  -f, --format FORMAT  problems as text (default), table, csv, json or jsonl\n"
    "  -q, --quiet          no progress line, no summary\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 nothing wrong, 12 problems found, else the error's code.\n";

struct vctx {
    bool progress;
    bool text;
    struct out *o;
    uint64_t shown;
};

static void
clear_progress(const struct vctx *v)
{
    if (v->progress) fputs("\r\033[K", stderr);
}

static void
on_problem(void *arg, const struct strata_scrub_problem *p)
{
    struct vctx *v = arg;
    clear_progress(v);
    v->shown++;
    if (v->text) {
        printf("%s %s offset %llu%s%s%s: %s [%s%s]\n", p->kind, p->file,
               (unsigned long long)p->offset, p->database[0] ? " (database " : "", p->database,
               p->database[0] ? ")" : "", p->reason, p->code,
               p->quarantined ? (p->known ? ", quarantined before" : ", quarantined") : "");
        fflush(stdout);
        return;
    }
    struct cell row[8] = {
        {.kind = CELL_STR, .v.s = {p->kind, strlen(p->kind)}},
        {.kind = CELL_STR, .v.s = {p->file, strlen(p->file)}},
        {.kind = CELL_STR, .v.s = {p->database, strlen(p->database)}},
        {.kind = CELL_UINT, .v.u = p->offset},
        {.kind = CELL_STR, .v.s = {p->code, strlen(p->code)}},
        {.kind = CELL_STR, .v.s = {p->reason, strlen(p->reason)}},
        {.kind = CELL_BOOL, .v.b = p->quarantined},
        {.kind = CELL_BOOL, .v.b = p->known},
    };
    if (v->o) out_row(v->o, row);
}

static void
on_verify_progress(void *arg, const struct strata_scrub_progress *p)
{
    struct vctx *v = arg;
    if (!v->progress) return;
    fprintf(stderr, "\r\033[Kverifying: %llu/%llu files, %llu problem%s",
            (unsigned long long)p->files_done, (unsigned long long)p->files_total,
            (unsigned long long)p->problems, p->problems == 1 ? "" : "s");
    fflush(stderr);
}

static void
human_bytes(uint64_t n, char *buf, size_t cap)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)n;
    int i = 0;
    while (d >= 1024 && i < 4) {
        d /= 1024;
        i++;
    }
    snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

int
cmd_verify_data(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage_verify, stdout);
        return 0;
    }
    bool quiet = false, text = true;
    enum out_format fmt = OUT_TABLE;
    int ch;
    while ((ch = cli_getopt(c, argc, argv, "f:qh", opts, "verify")) != -1) {
        if (ch == 'q') {
            quiet = true;
        } else if (ch == 'f') {
            if (!strcmp(optarg, "text")) {
                text = true;
            } else if (out_format_parse(optarg, &fmt) == ST_OK) {
                text = false;
            } else {
                return cli_usage_error("verify",
                                       "unknown format \"%s\" (text, table, csv, json, jsonl)",
                                       optarg);
            }
        } else {
            return ST_EINVAL;
        }
    }
    if (optind < argc) return cli_usage_error("verify", "takes no argument (use --database)");
    /* a scrub of everything is asked for explicitly: STRATA_DATABASE does not narrow it */
    const char *db = c->database_from_env ? NULL : c->database;
    struct st_error err;
    struct strata *s = cli_conn(c, &err);
    if (!s) return cli_fail(&err);
    struct vctx v = {.progress = !quiet && isatty(STDERR_FILENO), .text = text};
    static const char *const names[] = {"kind", "file",   "database",    "offset",
                                        "code", "reason", "quarantined", "known"};
    if (!text) v.o = out_begin(stdout, fmt, names, 8);
    struct strata_scrub_summary sum;
    enum st_code rc = strata_scrub(s, db, on_problem, on_verify_progress, &v, &sum, &err);
    clear_progress(&v);
    if (v.o) out_end(v.o, false);
    fflush(stdout);
    if (rc != ST_OK) return cli_fail(&err);
    if (!quiet) {
        char bytes[32];
        human_bytes(sum.bytes, bytes, sizeof bytes);
        fprintf(stderr, "verified %s: %llu file%s, %llu block%s, %s in %.2f s: ",
                db ? db : "everything", (unsigned long long)sum.files, sum.files == 1 ? "" : "s",
                (unsigned long long)sum.blocks, sum.blocks == 1 ? "" : "s", bytes,
                (double)sum.duration_ns / 1e9);
        if (!sum.problems)
            fprintf(stderr, "no problem\n");
        else
            fprintf(stderr,
                    "%llu problem%s (%llu row group%s and %llu chunk%s newly quarantined)%s\n",
                    (unsigned long long)sum.problems, sum.problems == 1 ? "" : "s",
                    (unsigned long long)sum.quarantined_groups,
                    sum.quarantined_groups == 1 ? "" : "s",
                    (unsigned long long)sum.quarantined_chunks,
                    sum.quarantined_chunks == 1 ? "" : "s",
                    sum.problems_not_listed ? "; the server listed only the first ones" : "");
    }
    return sum.problems ? ST_ECORRUPT : 0;
}

/* ---- strata admin ------------------------------------------------------------- */

static const char usage_admin[] =
    "usage: strata admin rotate-key [-q]\n"
    "\n"
    "  rotate-key   rewrap the data key of every file the server stores under its current\n"
    "               master key (the operator only). Start stratad with the new key as\n"
    "               --master-key-file and the old one as --previous-master-key-file, run\n"
    "               this, then restart without the old key (docs/operations.md).\n"
    "\n"
    "  -q, --quiet  no progress line\n"
    "  -h, --help   this text\n";

static void
on_rotate_progress(void *arg, const struct strata_rotate_progress *p)
{
    bool *show = arg;
    if (!*show) return;
    fprintf(stderr, "\r\033[Krewrapping data keys: %llu/%llu files",
            (unsigned long long)p->files_done, (unsigned long long)p->files_total);
    fflush(stderr);
}

static int
rotate_key(struct cli *c, bool quiet)
{
    struct st_error err;
    struct strata *s = cli_conn(c, &err);
    if (!s) return cli_fail(&err);
    bool show = !quiet && isatty(STDERR_FILENO);
    struct strata_rotate_result r;
    enum st_code rc = strata_rotate_key(s, on_rotate_progress, &show, &r, &err);
    if (show) fputs("\r\033[K", stderr);
    if (rc != ST_OK) return cli_fail(&err);
    printf("rotated: %llu files, %llu data keys rewrapped under master key %s "
           "(%llu already current, %llu skipped)\n",
           (unsigned long long)r.files, (unsigned long long)r.rewrapped, r.key_id,
           (unsigned long long)r.already_current, (unsigned long long)r.skipped);
    if (r.skipped)
        printf("%llu quarantined chunk%s could not be opened and kept the old wrapping: "
               "restore %s from a backup before retiring the old key\n",
               (unsigned long long)r.skipped, r.skipped == 1 ? "" : "s",
               r.skipped == 1 ? "it" : "them");
    if (r.n_previous_key_ids) {
        printf("no file needs the previous key%s any more (", r.n_previous_key_ids == 1 ? "" : "s");
        for (size_t i = 0; i < r.n_previous_key_ids; i++)
            printf("%s%s", i ? ", " : "", r.previous_key_ids[i]);
        printf("): restart stratad without --previous-master-key-file, then retire %s\n",
               r.n_previous_key_ids == 1 ? "it" : "them");
    }
    strata_rotate_result_cleanup(&r);
    return 0;
}

int
cmd_admin(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage_admin, stdout);
        return 0;
    }
    bool quiet = false;
    int ch;
    while ((ch = cli_getopt(c, argc, argv, "qh", opts, "admin")) != -1) {
        if (ch != 'q') return ST_EINVAL;
        quiet = true;
    }
    if (optind >= argc) return cli_usage_error("admin", "say rotate-key");
    const char *sub = argv[optind];
    if (strcmp(sub, "rotate-key") != 0)
        return cli_usage_error("admin", "unknown subcommand \"%s\" (rotate-key)", sub);
    if (argc - optind > 1) return cli_usage_error("admin", "rotate-key takes no argument");
    return rotate_key(c, quiet);
}
