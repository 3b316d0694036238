/*
 * cli_backup.h: what `strata backup` (cmd_backup.c) shares with
 * `strata restore` (cmd_restore.c): the progress line on a terminal and
 * the report of each difference found by a check.
 */
#ifndef STRATA_CLI_BACKUP_H
#define STRATA_CLI_BACKUP_H

#include <stdbool.h>
#include <stdio.h>

#include "strata/backup.h"

/* Where differences go; `progress`: a progress line may be on the terminal. */
struct diff_out {
    FILE *f;
    bool progress;
};

/* strata_backup_progress_fn: one line on stderr, redrawn in place; cleared when done. */
void cli_backup_progress(const struct strata_backup_progress *p, void *arg);
/* strata_backup_diff_fn with a struct diff_out: "TABLE: WHAT: message". */
void cli_backup_diff(const struct strata_backup_diff *d, void *arg);

#endif
