/*
 * test_engine_util.h: helpers for the engine tests: open an engine on the
 * test's directory, write line protocol, and read a table back as text
 * ("series|time|f1,f2,..." lines, sorted) through the storage scan API.
 */
#ifndef TEST_ENGINE_UTIL_H
#define TEST_ENGINE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/engine.h"
#include "strata/storage.h"

struct eng *tu_open(const char *dir, bool background);
struct eng *tu_open_opts(const struct eng_options *o);
/* Write with create_db; fails the test on error. */
void tu_write(struct eng *e, const char *db, const char *lp);
enum st_code tu_write_rc(struct eng *e, const char *db, const char *lp, bool partial,
                         struct eng_write_result *res);
/*
 * Dump table `table` of `db` as text, one row per line:
 *   tag1=v1,tag2=v2 <time> f1=<v>,f2=<v>   (NULL fields omitted)
 * rows ordered by series key then time; returns a malloc'd string.
 */
char *tu_dump(struct eng *e, const char *db, const char *table);
/* Same with a time range and the LAST mode. */
char *tu_dump_ex(struct eng *e, const char *db, const char *table, int64_t lo, int64_t hi,
                 bool last, uint32_t max_rows);
/* As tu_dump, returning the scan's error instead of failing the test. */
enum st_code tu_dump_try(struct eng *e, const char *db, const char *table, char **out,
                         struct st_error *err);
/* Number of rows in a table. */
uint64_t tu_count(struct eng *e, const char *db, const char *table);

#endif
