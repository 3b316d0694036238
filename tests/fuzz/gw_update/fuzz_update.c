/*
 * fuzz_update.c: arbitrary bytes as the Any of a DoPut descriptor (Flight SQL
 * CommandStatementUpdate) and as a statement text. Every call returns a defined code; an
 * accepted update is a NUL-free statement of its reported length whose first keyword is
 * DELETE; the decoder agrees with gw_flightsql_is_update; nothing leaks (LSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_flight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = NULL;
    size_t len = 0;
    struct st_error err;
    enum st_code rc = gw_flightsql_decode_update(data, size, &sql, &len, &err);
    if ((unsigned)rc >= ST__COUNT)
        abort();
    if (rc == ST_OK) {
        if (!sql || strlen(sql) != len || !len || len > GW_MAX_SQL_BYTES)
            abort();
        if (!gw_flightsql_is_update(data, size))
            abort();
        if (gw_update_statement_check(sql, len, NULL) != ST_OK)
            abort();
    } else if (sql || len) {
        abort();
    }
    free(sql);
    /* the same bytes as a statement: a defined answer, an offset inside the text */
    rc = gw_update_statement_check((const char *)data, size, &err);
    if (rc != ST_OK && (err.offset < 0 || (size_t)err.offset > size))
        abort();
    return 0;
}
