/*
 * cli.h: internals of the `strata` command-line tool (clients/cli), shared
 * by its files. The tool is a thin layer over libstrata (strata/client.h):
 * option parsing, output formats, the interactive SQL shell, chunked writes
 * and the admin commands. docs/cli.md is its manual.
 *
 * Exit status: 0 on success, otherwise the enum st_code of the error
 * (strata/status.h): 2 for usage errors (ST_EINVAL), 8 not authenticated,
 * 9 permission denied, 11 server unreachable (ST_EIO), 18 a partial write.
 * Errors go to stderr as "strata: <message>".
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "strata/client.h"

/* ---- context ---------------------------------------------------------------- */

struct cli {
    const char *prog;
    const char *host;       /* --host, STRATA_HOST, default http://127.0.0.1:8181 */
    const char *token;      /* --token, --token-file, STRATA_TOKEN */
    char *token_buf;        /* owned copy read from --token-file */
    const char *tls_ca;     /* --tls-ca, STRATA_TLS_CA */
    const char *database;   /* --database, STRATA_DATABASE */
    bool database_from_env; /* database came from STRATA_DATABASE */
    int64_t timeout_ms;     /* --timeout */
    struct strata *conn;    /* opened on first use */
};

#define CLI_DEFAULT_HOST "http://127.0.0.1:8181"

/* The connection, opened on first use. NULL with err set. */
struct strata *cli_conn(struct cli *c, struct st_error *err);

/* Print "strata: <message>" (with the SQL offset when known); return the code. */
int cli_fail(const struct st_error *err);
/* A usage error: print it and a hint, return ST_EINVAL. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Option handling shared by every command: the global options (--host,
 * --token, --token-file, --tls-ca, --timeout, --database) are accepted
 * before or after the command name. cli_getopt works like getopt_long over
 * `cmd_opts` plus the globals; it consumes the globals itself and returns
 * the command's own option characters. -1 at the end; '?' on an error
 * (already reported).
 */
int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
               const struct option *cmd_opts, const char *cmd);
/* True when `--help`/`-h` is among argv (checked before anything else). */
bool cli_wants_help(int argc, char **argv);

/* ---- commands --------------------------------------------------------------- */

int cmd_query(struct cli *c, int argc, char **argv);
int cmd_write(struct cli *c, int argc, char **argv);
int cmd_database(struct cli *c, int argc, char **argv);
int cmd_token(struct cli *c, int argc, char **argv);
int cmd_role(struct cli *c, int argc, char **argv);
int cmd_whoami(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_ping(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);  /* cmd_backup.c: backup, backup verify */
int cmd_restore(struct cli *c, int argc, char **argv); /* cmd_restore.c */
int cmd_verify_data(struct cli *c, int argc, char **argv); /* cmd_dp.c: strata verify */
int cmd_admin(struct cli *c, int argc, char **argv);   /* cmd_dp.c: admin rotate-key */

/* The interactive shell of `strata query` (cli_shell.c). */
int cli_shell(struct cli *c, const char *format);

/* ---- output formats (cli_out.c) --------------------------------------------- */

enum out_format { OUT_TABLE = 0, OUT_CSV, OUT_JSON, OUT_JSONL };

/* ST_EINVAL for an unknown name. */
enum st_code out_format_parse(const char *name, enum out_format *out);

enum cell_kind { CELL_NULL = 0, CELL_STR, CELL_INT, CELL_UINT, CELL_FLOAT, CELL_BOOL, CELL_TIME };

struct cell {
    enum cell_kind kind;
    union {
        struct {
            const char *p;
            size_t len;
        } s;
        int64_t i; /* INT, TIME (ns) */
        uint64_t u;
        double f;
        bool b;
    } v;
};

/*
 * A table being printed. Table format keeps the first rows (up to 10,000)
 * to size the columns, then streams the rest with those widths; CSV, JSON
 * and JSON lines stream every row at once.
 */
struct out;

struct out *out_begin(FILE *f, enum out_format fmt, const char *const *names, uint32_t n_cols);
/* Emit one row of n_cols cells. ST_ENOMEM or ST_EIO (write failed). */
enum st_code out_row(struct out *o, const struct cell *cells);
/* Finish (closing bracket, table rules, row count) and free. Returns the
 * first error seen. footer: print "(N rows)" after a table. */
enum st_code out_end(struct out *o, bool footer);
uint64_t out_rows(const struct out *o);

/* Formatting of single values, shared with messages. buf of >= 40 bytes. */
void fmt_time_rfc3339(int64_t ns, char *buf, size_t cap);
void fmt_double(double d, char *buf, size_t cap);

/* Print one query result in the format; the row count goes to *rows. */
enum st_code cli_print_result(struct strata_result *r, FILE *f, enum out_format fmt, bool footer,
                              uint64_t *rows, struct st_error *err);

/* ---- helpers (cli_util.c) --------------------------------------------------- */

/* "90", "90s", "15m", "12h", "30d", "2w", "500ms" -> milliseconds. */
enum st_code parse_duration_ms(const char *s, int64_t *ms);
/* An RFC 3339 time ("2024-01-02T03:04:05.5Z", "+01:00" offsets) or integer ns. */
enum st_code parse_time_ns(const char *s, int64_t *ns);
/* A size: "1048576", "512k", "4M", "1G" (powers of 1024). */
enum st_code parse_size(const char *s, uint64_t *out);
/* Read a secret from a file (first line, trailing newline removed). */
char *read_secret_file(const char *path, struct st_error *err);
/* Ask for confirmation on the terminal: the user must type `expect`. */
bool confirm_typed(const char *prompt, const char *expect);
/* Monotonic seconds. */
double now_s(void);

#endif
