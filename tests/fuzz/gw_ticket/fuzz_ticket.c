/*
 * fuzz_ticket.c: arbitrary bytes as a DoGet ticket (with and without a database header),
 * as a Flight SQL command and as a prepared-statement handle. Every call must return a
 * defined code and leave the query consistent (parameters within bounds, NUL-terminated
 * names); gw_query_cleanup must free everything (LSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_flight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(struct gw_query *q, enum st_code rc)
{
    if ((unsigned)rc >= ST__COUNT)
        abort();
    if (q->n_params > GW_MAX_PARAMS)
        abort();
    for (uint32_t i = 0; i < q->n_params; i++)
        if (!q->params[i].name || strlen(q->params[i].name) > 128)
            abort();
    if (rc == ST_OK && q->kind == GW_Q_SQL && (!q->sql || strlen(q->sql) != q->sql_len))
        abort();
    gw_query_cleanup(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_query q;
    struct st_error err;
    gw_query_init(&q);
    check(&q, gw_ticket_decode(data, size, NULL, &q, &err));
    gw_query_init(&q);
    check(&q, gw_ticket_decode(data, size, "db", &q, &err));
    gw_query_init(&q);
    check(&q, gw_flightsql_decode(data, size, "db", &q, &err));
    gw_query_init(&q);
    check(&q, gw_handle_decode(data, size, &q, &err));
    return 0;
}
