/*
 * log.h: the server log (not the audit log). Lines go to stderr as
 *   2026-11-27T23:20:23.123Z level=info sub=wal msg="..."
 * or as JSON when configured. Never pass secrets to it: tokens, JWTs,
 * passwords and SQL literals do not belong in any log line.
 * The log configuration is the only process-wide mutable state.
 */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

enum st_log_level { ST_LOG_ERROR = 0, ST_LOG_WARN, ST_LOG_NOTICE, ST_LOG_INFO, ST_LOG_DEBUG };

/* Set the most verbose level printed (default: NOTICE, or $STRATA_LOG_LEVEL). */
void st_log_set_level(enum st_log_level lvl);
enum st_log_level st_log_get_level(void);
/* Emit JSON lines instead of key=value text. */
void st_log_set_json(int on);
/* Parse "error|warn|notice|info|debug"; -1 when unknown. */
int st_log_level_parse(const char *s);

void st_log(enum st_log_level lvl, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ST_LOG_ENABLED(lvl) ((lvl) <= st_log_get_level())

#endif
