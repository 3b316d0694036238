/*
 * cli_shell.c: the interactive SQL shell of `strata query` (libedit).
 *
 * Line editing and history (saved to $STRATA_HISTORY, else ~/.strata_history,
 * mode 0600, last 1000 entries). A statement may span lines and runs when a
 * line completes it with ';' (outside quotes and comments); several
 * statements on one line run in order. Lines starting with a backslash,
 * typed when no statement is pending, are shell commands:
 *   \q                 quit (so does Ctrl-D)
 *   \help              the list of commands
 *   \timing [on|off]   print the time and row count after each statement
 *   \format FORMAT     table, csv, json or jsonl
 *   \use DB            change the database
 * An error is printed and the shell goes on; its exit status is 0.
 */
#include <editline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_sql.h"
#include "strata/buf.h"

#define STATEMENT_MAX ((size_t)16 << 20)

static const char shell_help[] =
    "Statements end with ';' and may span lines.\n"
    "  \\q                 quit (or Ctrl-D)\n"
    "  \\help              this text\n"
    "  \\timing [on|off]   show the time and row count of each statement\n"
    "  \\format FORMAT     table, csv, json or jsonl\n"
    "  \\use DB            query another database\n";

struct shell {
    struct cli *c;
    enum out_format fmt;
    bool timing;
    char db[256];
};

static void
history_path(char *buf, size_t cap)
{
    const char *p = getenv("STRATA_HISTORY");
    const char *home = getenv("HOME");
    if (p && *p)
        snprintf(buf, cap, "%s", p);
    else if (home && *home)
        snprintf(buf, cap, "%s/.strata_history", home);
    else
        buf[0] = '\0';
}

/* A backslash command; returns false to quit. */
static bool
meta(struct shell *sh, char *line)
{
    char *cmd = line + 1, *arg = cmd + strcspn(cmd, " \t");
    if (*arg) {
        *arg++ = '\0';
        arg += strspn(arg, " \t");
        arg[strcspn(arg, " \t")] = '\0';
    }
    if (strcmp(cmd, "q") == 0 || strcmp(cmd, "quit") == 0) return false;
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "h") == 0 || strcmp(cmd, "?") == 0) {
        fputs(shell_help, stdout);
    } else if (strcmp(cmd, "timing") == 0) {
        if (!*arg)
            sh->timing = !sh->timing;
        else if (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0)
            sh->timing = arg[1] == 'n';
        else {
            fprintf(stderr, "\\timing takes on or off\n");
            return true;
        }
        printf("timing is %s\n", sh->timing ? "on" : "off");
    } else if (strcmp(cmd, "format") == 0) {
        if (out_format_parse(arg, &sh->fmt) != ST_OK)
            fprintf(stderr, "unknown format \"%s\" (table, csv, json, jsonl)\n", arg);
        else
            printf("format is %s\n", arg);
    } else if (strcmp(cmd, "use") == 0 || strcmp(cmd, "c") == 0) {
        if (!*arg) {
            fprintf(stderr, "\\use takes a database name\n");
        } else {
            snprintf(sh->db, sizeof sh->db, "%s", arg);
            sh->c->database = sh->db;
            printf("using database \"%s\"\n", sh->db);
        }
    } else {
        fprintf(stderr, "unknown command \\%s; type \\help\n", cmd);
    }
    return true;
}

int
cli_shell(struct cli *c, const char *format)
{
    struct shell sh = {.c = c};
    if (out_format_parse(format, &sh.fmt) != ST_OK) sh.fmt = OUT_TABLE;
    char hist[4096];
    history_path(hist, sizeof hist);
    using_history();
    stifle_history(1000);
    if (hist[0]) read_history(hist);
    printf("strata %s connected to %s%s%s%s. Type \\help for help, \\q to quit.\n",
           STRATA_CLIENT_VERSION, c->host, c->database ? ", database \"" : "",
           c->database ? c->database : "", c->database ? "\"" : "");

    struct st_buf pending;
    st_buf_init(&pending, STATEMENT_MAX);
    char prompt[300];
    for (;;) {
        if (pending.len == 0)
            snprintf(prompt, sizeof prompt, "%s> ", c->database ? c->database : "strata");
        else
            snprintf(prompt, sizeof prompt, "%*s-> ",
                     (int)(c->database ? strlen(c->database) : 6) - 1, "");
        char *line = readline(prompt);
        if (!line) {
            putchar('\n');
            break;
        }
        char *t = line + strspn(line, " \t");
        if (pending.len == 0 && *t == '\\') {
            add_history(t);
            bool go_on = meta(&sh, t);
            free(line);
            if (!go_on) break;
            continue;
        }
        if (pending.len == 0 && *t == '\0') {
            free(line);
            continue;
        }
        if (st_buf_append_str(&pending, line) != ST_OK ||
            st_buf_append_byte(&pending, '\n') != ST_OK) {
            fprintf(stderr, "statement longer than 16 MiB: discarded\n");
            st_buf_reset(&pending);
        }
        free(line);
        /* run every complete statement now in the buffer */
        for (;;) {
            size_t end;
            if (!sql_find_terminator((const char *)pending.data, pending.len, &end)) break;
            char *stmt = strndup((const char *)pending.data, end);
            memmove(pending.data, pending.data + end, pending.len - end);
            pending.len -= end;
            if (!stmt) break;
            char *h = strdup(stmt);
            if (h) {
                /* history keeps the statement on one line */
                for (char *q = h; *q; q++)
                    if (*q == '\n') *q = ' ';
                add_history(h);
                free(h);
            }
            stmt[end - 1] = '\0'; /* drop the ';' */
            if (!sql_is_blank(stmt)) cli_run_sql(c, stmt, NULL, 0, sh.fmt, sh.timing);
            free(stmt);
        }
        /* what is left may be only blank text after the last ';' */
        if (pending.len) {
            if (st_buf_append_byte(&pending, 0) == ST_OK) {
                bool blank = sql_is_blank((const char *)pending.data);
                pending.len--;
                if (blank) st_buf_reset(&pending);
            }
        }
    }
    st_buf_cleanup(&pending);
    if (hist[0]) {
        write_history(hist);
        chmod(hist, 0600);
    }
    return 0;
}
