/*
 * cli_sql.h: where SQL statements end, for the `strata` shell and scripts:
 * a ';' outside quoted strings ('...', with '' inside), quoted identifiers
 * ("...") and comments (-- to the end of the line, / * ... * /).
 */
#ifndef STRATA_CLI_SQL_H
#define STRATA_CLI_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

/* True when s[0..len) holds a terminating ';'; *end is the index just past it. */
bool sql_find_terminator(const char *s, size_t len, size_t *end);
/* True when s holds only whitespace and comments. */
bool sql_is_blank(const char *s);
/* True when the first keyword of s (after blanks and comments) is DELETE: the statement
 * goes to the server as an update (Flight SQL CommandStatementUpdate), not a query. */
bool sql_is_update(const char *s);

/* Run one statement and print its result (cmd_query.c); returns the exit code. */
int cli_run_sql(struct cli *c, const char *sql, const struct strata_param *params, size_t n_params,
                enum out_format fmt, bool timing);

#endif
