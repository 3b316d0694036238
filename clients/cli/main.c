/*
 * main.c: the `strata` command: global options and environment, command
 * dispatch, help, and the one place errors become messages and exit codes.
 *
 *   strata [GLOBAL OPTIONS] COMMAND [ARGS...]
 *
 * Global options may also follow the command name. The manual is
 * docs/cli.md; `strata help COMMAND` and `strata COMMAND --help` print the
 * same usage text the commands use.
 */
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
    G_HOST = 1000,
    G_TOKEN,
    G_TOKEN_FILE,
    G_TLS_CA,
    G_TIMEOUT,
    G_DATABASE,
};

static const struct option global_opts[] = {
    {"host", required_argument, NULL, G_HOST},
    {"token", required_argument, NULL, G_TOKEN},
    {"token-file", required_argument, NULL, G_TOKEN_FILE},
    {"tls-ca", required_argument, NULL, G_TLS_CA},
    {"timeout", required_argument, NULL, G_TIMEOUT},
    {"database", required_argument, NULL, G_DATABASE},
};
#define N_GLOBAL (sizeof global_opts / sizeof global_opts[0])

static const char usage_text[] =
    "usage: strata [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  query      run SQL and print the result; without SQL on a terminal: the SQL shell\n"
    "  write      write line protocol from files or standard input\n"
    "  database   create | list | delete databases\n"
    "  token      create | list | revoke | rotate tokens\n"
    "  role       grant | revoke | list roles on databases\n"
    "  whoami     show who the server takes you for\n"
    "  check      ask whether an action would be allowed (dry run)\n"
    "  audit      read the server's audit log | verify audit files\n"
    "  backup     back up a database as line protocol | verify a backup\n"
    "  restore    restore a backup into a new or empty database\n"
    "  verify     read back and check stored data (a database, or everything)\n"
    "  admin      rotate-key: rewrap data keys under the current master key\n"
    "  ping       check that the server answers\n"
    "  version    print the version\n"
    "  help       help [COMMAND]\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --host URL         server, http://HOST:PORT or https://HOST:PORT\n"
    "                     (env STRATA_HOST; default " CLI_DEFAULT_HOST ")\n"
    "  --token TOKEN      bearer token (env STRATA_TOKEN)\n"
    "  --token-file FILE  read the token from FILE (keeps it out of `ps`)\n"
    "  --tls-ca FILE      PEM roots to trust for https (env STRATA_TLS_CA)\n"
    "  --timeout DUR      deadline of each call, e.g. 30s, 5m (default: none)\n"
    "  -d, --database DB  database (env STRATA_DATABASE)\n"
    "\n"
    "Exit status: 0 on success, else the error code (2 usage, 3 SQL parse, 6 not\n"
    "found, 8 not authenticated, 9 permission denied, 11 unreachable, 18 partial\n"
    "write, ...; see docs/cli.md).\n";

/* ---- errors ----------------------------------------------------------------- */

int
cli_fail(const struct st_error *err)
{
    enum st_code code = err->code != ST_OK ? err->code : ST_EINTERNAL;
    fprintf(stderr, "strata: %s\n", err->msg[0] ? err->msg : st_strerror(code));
    return (int)code;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "strata%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'strata %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return ST_EINVAL;
}

/* ---- options ---------------------------------------------------------------- */

bool
cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    }
    return false;
}

static int
global_option(struct cli *c, int code, const char *arg, const char *cmd)
{
    switch (code) {
    case G_HOST:
        c->host = arg;
        return 0;
    case G_TOKEN:
        c->token = arg;
        return 0;
    case G_TOKEN_FILE: {
        struct st_error err;
        free(c->token_buf);
        c->token_buf = read_secret_file(arg, &err);
        if (!c->token_buf) /* not a usage error: exit with its own code */
            exit(cli_fail(&err));
        c->token = c->token_buf;
        return 0;
    }
    case G_TLS_CA:
        c->tls_ca = arg;
        return 0;
    case G_TIMEOUT:
        if (parse_duration_ms(arg, &c->timeout_ms) != ST_OK) {
            cli_usage_error(cmd, "bad --timeout \"%s\" (try 30s, 5m)", arg);
            return -1;
        }
        return 0;
    case G_DATABASE:
        c->database = arg;
        c->database_from_env = false;
        return 0;
    }
    return 1; /* not a global option */
}

int
cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
           const struct option *cmd_opts, const char *cmd)
{
    static struct option all[64];
    static char shorts[64];
    size_t n = 0;
    for (const struct option *o = cmd_opts; o && o->name && n < 64 - N_GLOBAL - 1; o++)
        all[n++] = *o;
    for (size_t i = 0; i < N_GLOBAL; i++)
        all[n++] = global_opts[i];
    memset(&all[n], 0, sizeof all[n]);
    /* ':' first (after a '+'): a missing argument is ':', an unknown option '?' */
    const char *so = shortopts ? shortopts : "";
    bool stop = so[0] == '+';
    snprintf(shorts, sizeof shorts, "%s:%sd:", stop ? "+" : "", stop ? so + 1 : so);
    for (;;) {
        int ch = getopt_long(argc, argv, shorts, all, NULL);
        if (ch == -1) return -1;
        if (ch == 'd') ch = G_DATABASE;
        if (ch == '?') {
            cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
            return '?';
        }
        if (ch == ':') {
            cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
            return '?';
        }
        int g = global_option(c, ch, optarg, cmd);
        if (g < 0) return '?';
        if (g == 0) continue;
        return ch;
    }
}

/* ---- connection ------------------------------------------------------------- */

struct strata *
cli_conn(struct cli *c, struct st_error *err)
{
    if (c->conn) return c->conn;
    struct strata_opts o = {.token = c->token, .ca_file = c->tls_ca, .timeout_ms = c->timeout_ms};
    c->conn = strata_connect_opts(c->host, &o, err);
    return c->conn;
}

static int
cmd_version(struct cli *c, int argc, char **argv)
{
    (void)c;
    (void)argc;
    (void)argv;
    printf("strata %s\n", STRATA_CLIENT_VERSION);
    return 0;
}

struct command {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
};

static const struct command commands[] = {
    {"query", cmd_query},     {"write", cmd_write}, {"database", cmd_database},
    {"token", cmd_token},     {"role", cmd_role},   {"whoami", cmd_whoami},
    {"check", cmd_check},     {"audit", cmd_audit}, {"ping", cmd_ping},
    {"version", cmd_version}, {"backup", cmd_backup},  {"restore", cmd_restore},
    {"verify", cmd_verify_data}, {"admin", cmd_admin},
};

static const struct command *
find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static const char *
env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int
main(int argc, char **argv)
{
    struct cli c = {0};
    setlocale(LC_CTYPE, "");
    c.prog = "strata";
    c.host = env_or("STRATA_HOST", CLI_DEFAULT_HOST);
    c.token = env_or("STRATA_TOKEN", NULL);
    c.tls_ca = env_or("STRATA_TLS_CA", NULL);
    c.database = env_or("STRATA_DATABASE", NULL);
    c.database_from_env = c.database != NULL;
    strata_silence_grpc_log();

    /* global options up to the command name ('+': stop at the first word) */
    static const struct option none[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 0; /* 0: a full re-initialisation of GNU getopt */
    int rc = 0;
    for (;;) {
        /* "+" makes getopt stop at the first non-option: the command */
        int ch = cli_getopt(&c, argc, argv, "+h", none, NULL);
        if (ch == -1) break;
        if (ch == 'h') {
            fputs(usage_text, stdout);
            goto out;
        }
        rc = ST_EINVAL;
        goto out;
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        rc = ST_EINVAL;
        goto out;
    }
    const char *name = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0) {
        if (sub_argc < 2) {
            fputs(usage_text, stdout);
            goto out;
        }
        const struct command *cmd = find_command(sub_argv[1]);
        if (!cmd) {
            rc = cli_usage_error(NULL, "unknown command \"%s\"", sub_argv[1]);
            goto out;
        }
        char *hargv[] = {(char *)cmd->name, (char *)"--help", NULL};
        rc = cmd->fn(&c, 2, hargv);
        goto out;
    }
    const struct command *cmd = find_command(name);
    if (!cmd) {
        rc = cli_usage_error(NULL, "unknown command \"%s\"", name);
        goto out;
    }
    optind = 0;
    rc = cmd->fn(&c, sub_argc, sub_argv);
out:
    strata_close(c.conn);
    if (c.token_buf) {
        memset(c.token_buf, 0, strlen(c.token_buf));
        free(c.token_buf);
    }
    if (fflush(stdout) != 0 && rc == 0) rc = ST_EIO;
    return rc;
}
