/*
 * cmd_query.c: `strata query`: run SQL and print the result.
 *
 *   strata query [--database DB] [--format table|csv|json|jsonl]
 *                [--param NAME=VALUE]... [--timing] [SQL]
 *
 * With SQL as an argument it runs that statement. Without one it opens the
 * interactive shell when standard input is a terminal, and otherwise reads
 * statements separated by ';' from standard input and runs them in order,
 * stopping at the first error. A DELETE statement runs as an update (the
 * write privilege) and prints rows_deleted. Parameter values are typed like JSON
 * scalars: 42 and -7 are integers (above 2^63-1: unsigned), 1.5 and 2e3
 * floats, true/false booleans, null NULL, "text" a string; anything else is
 * taken as a string as written.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_sql.h"
#include "strata/buf.h"

#define MAX_PARAMS 256
#define SCRIPT_MAX ((size_t)64 << 20)

static const char usage[] =
    "usage: strata query [--database DB] [--format FORMAT] [--param NAME=VALUE]...\n"
    "                    [--timing] [SQL]\n"
    "\n"
    "Run SQL on a database and print the result. Without SQL: an interactive shell\n"
    "on a terminal, else statements separated by ';' read from standard input.\n"
    "DELETE FROM t WHERE ... deletes rows (needs write on the database) and prints\n"
    "how many.\n"
    "\n"
    "  -d, --database DB       the database (env STRATA_DATABASE)\n"
    "  -f, --format FORMAT     table (default), csv, json or jsonl\n"
    "  -p, --param NAME=VALUE  bind $NAME; VALUE typed like JSON: 42, -1.5, true,\n"
    "                          null, \"text\" (anything else is a string)\n"
    "      --timing            print the elapsed time and row count to stderr\n"
    "  -h, --help              this text\n";

enum { O_TIMING = 1 };

/* Parse NAME=VALUE into p (the name and string value point into arg). */
static enum st_code
parse_param(char *arg, struct strata_param *p)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return ST_EINVAL;
    *eq = '\0';
    p->name = arg[0] == '$' ? arg + 1 : arg;
    if (!*p->name) return ST_EINVAL;
    char *v = eq + 1;
    size_t n = strlen(v);
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        p->type = ST_TYPE_BOOL;
        p->v.b = v[0] == 't';
        return ST_OK;
    }
    if (strcmp(v, "null") == 0) {
        p->type = ST_TYPE_NULL;
        return ST_OK;
    }
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        /* "text": drop the quotes; \" and \\ stand for " and \ */
        char *w = v;
        for (size_t i = 1; i + 1 < n; i++) {
            if (v[i] == '\\' && i + 2 < n && (v[i + 1] == '"' || v[i + 1] == '\\')) i++;
            *w++ = v[i];
        }
        *w = '\0';
        p->type = ST_TYPE_STRING;
        p->v.s = v;
        return ST_OK;
    }
    const char *q = v[0] == '-' ? v + 1 : v;
    if (*q && strspn(q, "0123456789") == strlen(q)) {
        errno = 0;
        if (v[0] == '-') {
            long long x = strtoll(v, NULL, 10);
            if (!errno) {
                p->type = ST_TYPE_INT;
                p->v.i = x;
                return ST_OK;
            }
        } else {
            unsigned long long x = strtoull(v, NULL, 10);
            if (!errno) {
                if (x <= INT64_MAX) {
                    p->type = ST_TYPE_INT;
                    p->v.i = (int64_t)x;
                } else {
                    p->type = ST_TYPE_UINT;
                    p->v.u = x;
                }
                return ST_OK;
            }
        }
        /* out of range: keep it as text */
    } else if (*q && (isdigit((unsigned char)*q) || *q == '.')) {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (*end == '\0' && !errno && strspn(q, "0123456789.eE+-") == strlen(q)) {
            p->type = ST_TYPE_FLOAT;
            p->v.f = d;
            return ST_OK;
        }
    }
    p->type = ST_TYPE_STRING;
    p->v.s = v;
    return ST_OK;
}

/* Point at the error in the SQL text: the line and a caret under the byte. */
static void
show_position(const char *sql, int64_t offset)
{
    size_t len = strlen(sql);
    if (offset < 0 || (size_t)offset > len) return;
    size_t start = (size_t)offset, end = (size_t)offset;
    while (start > 0 && sql[start - 1] != '\n')
        start--;
    while (end < len && sql[end] != '\n')
        end++;
    size_t line = 1;
    for (size_t i = 0; i < start; i++)
        line += sql[i] == '\n';
    fprintf(stderr, "  at line %zu, column %zu:\n  %.*s\n  ", line, (size_t)offset - start + 1,
            (int)(end - start), sql + start);
    for (size_t i = start; i < (size_t)offset; i++) {
        unsigned char ch = (unsigned char)sql[i];
        if ((ch & 0xc0) == 0x80) continue; /* one column per UTF-8 character */
        fputc(ch == '\t' ? '\t' : ' ', stderr);
    }
    fputs("^\n", stderr);
}

/* DELETE: an update (Flight SQL CommandStatementUpdate); prints rows_deleted like a
 * one-row result. */
static int
run_update(struct strata *conn, const char *db, const char *sql, size_t n_params,
           enum out_format fmt, bool timing, double t0)
{
    struct st_error err;
    if (n_params)
        return cli_usage_error("query", "a DELETE statement takes no --param");
    int64_t rows = -1;
    enum st_code rc = strata_execute_update(conn, db, sql, &rows, &err);
    if (rc != ST_OK) {
        cli_fail(&err);
        if (err.offset >= 0) show_position(sql, err.offset);
        return (int)rc;
    }
    static const char *const names[] = {"rows_deleted"};
    struct cell cell = rows >= 0 ? (struct cell){.kind = CELL_INT, .v.i = rows}
                                 : (struct cell){.kind = CELL_NULL};
    struct out *o = out_begin(stdout, fmt, names, 1);
    rc = o ? out_row(o, &cell) : ST_ENOMEM;
    enum st_code rc2 = o ? out_end(o, fmt == OUT_TABLE) : ST_ENOMEM;
    fflush(stdout);
    if (rc == ST_OK) rc = rc2;
    if (rc != ST_OK) {
        st_error_set(&err, rc, "writing the result failed");
        return cli_fail(&err);
    }
    if (timing) fprintf(stderr, "update in %.3f s\n", now_s() - t0);
    return 0;
}

int
cli_run_sql(struct cli *c, const char *sql, const struct strata_param *params, size_t n_params,
            enum out_format fmt, bool timing)
{
    struct st_error err;
    if (!c->database || !*c->database)
        return cli_usage_error("query", "no database: give --database DB or set STRATA_DATABASE");
    struct strata *conn = cli_conn(c, &err);
    if (!conn) return cli_fail(&err);
    double t0 = now_s();
    if (sql_is_update(sql)) return run_update(conn, c->database, sql, n_params, fmt, timing, t0);
    struct strata_result *r;
    enum st_code rc = strata_query(conn, c->database, sql, params, n_params, &r, &err);
    if (rc != ST_OK) {
        cli_fail(&err);
        if (err.offset >= 0) show_position(sql, err.offset);
        return (int)rc;
    }
    uint64_t rows = 0;
    rc = cli_print_result(r, stdout, fmt, fmt == OUT_TABLE, &rows, &err);
    strata_result_free(r);
    fflush(stdout);
    if (rc != ST_OK) {
        cli_fail(&err);
        if (err.offset >= 0) show_position(sql, err.offset);
        return (int)rc;
    }
    if (timing)
        fprintf(stderr, "%llu row%s in %.3f s\n", (unsigned long long)rows, rows == 1 ? "" : "s",
                now_s() - t0);
    return 0;
}

/* Read all of standard input (bounded). */
static char *
read_stdin(struct st_error *err)
{
    struct st_buf b;
    st_buf_init(&b, SCRIPT_MAX);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, stdin)) > 0) {
        if (st_buf_append(&b, tmp, n) != ST_OK) {
            st_buf_cleanup(&b);
            st_error_set(err, ST_ELIMIT, "standard input holds more than 64 MiB of SQL");
            return NULL;
        }
    }
    if (ferror(stdin) || st_buf_append_byte(&b, 0) != ST_OK) {
        st_buf_cleanup(&b);
        st_error_set(err, ST_EIO, "reading standard input failed");
        return NULL;
    }
    size_t len;
    return (char *)st_buf_take(&b, &len);
}

static int
run_script(struct cli *c, char *text, const struct strata_param *params, size_t n_params,
           enum out_format fmt, bool timing)
{
    size_t len = strlen(text), pos = 0;
    while (pos < len) {
        size_t end;
        bool complete = sql_find_terminator(text + pos, len - pos, &end);
        size_t stmt_len = complete ? end : len - pos;
        char *stmt = text + pos;
        char saved = stmt[stmt_len];
        stmt[stmt_len] = '\0';
        if (complete && stmt_len > 0) stmt[stmt_len - 1] = '\0'; /* the ';' itself */
        int rc = 0;
        if (!sql_is_blank(stmt)) rc = cli_run_sql(c, stmt, params, n_params, fmt, timing);
        stmt[stmt_len] = saved;
        if (rc != 0) return rc;
        pos += stmt_len;
    }
    return 0;
}

int
cmd_query(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"param", required_argument, NULL, 'p'},
        {"timing", no_argument, NULL, O_TIMING},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    enum out_format fmt = OUT_TABLE;
    const char *fmt_name = "table";
    struct strata_param params[MAX_PARAMS];
    size_t n_params = 0;
    bool timing = false;
    int ch;
    while ((ch = cli_getopt(c, argc, argv, "f:p:h", opts, "query")) != -1) {
        switch (ch) {
        case 'f':
            if (out_format_parse(optarg, &fmt) != ST_OK)
                return cli_usage_error("query", "unknown format \"%s\" (table, csv, json, jsonl)",
                                       optarg);
            fmt_name = optarg;
            break;
        case 'p':
            if (n_params >= MAX_PARAMS)
                return cli_usage_error("query", "more than %d parameters", MAX_PARAMS);
            if (parse_param(optarg, &params[n_params]) != ST_OK)
                return cli_usage_error("query", "bad --param \"%s\" (want NAME=VALUE)", optarg);
            for (size_t i = 0; i < n_params; i++)
                if (strcmp(params[i].name, params[n_params].name) == 0)
                    return cli_usage_error("query", "parameter \"%s\" given twice", params[i].name);
            n_params++;
            break;
        case O_TIMING:
            timing = true;
            break;
        default:
            return ST_EINVAL;
        }
    }
    int n_sql = argc - optind;
    if (n_sql > 1) return cli_usage_error("query", "give the SQL as one argument (quote it)");
    if (n_sql == 1) return cli_run_sql(c, argv[optind], params, n_params, fmt, timing);
    if (isatty(STDIN_FILENO)) return cli_shell(c, fmt_name);
    struct st_error err;
    char *text = read_stdin(&err);
    if (!text) return cli_fail(&err);
    int rc = run_script(c, text, params, n_params, fmt, timing);
    free(text);
    return rc;
}
