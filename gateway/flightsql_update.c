/*
 * flightsql_update.c: decode a Flight SQL update (CommandStatementUpdate, packed in
 * google.protobuf.Any in the first FlightData's descriptor of a DoPut) and check that
 * its statement is one Strata runs as an update. Pure: no engine, no gRPC (fuzz target
 * tests/fuzz/gw_update). h_update.c runs what this accepts.
 *
 * The only statement that changes data is DELETE (docs/sql.md); the check is lexical
 * (the first keyword after blanks and comments), so a query sent as an update is refused
 * before anything is planned, and an update can never run as a query or the reverse.
 * Transactions are not supported: a transaction id is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "flight_sql.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "gw_flight.h"

#define UPDATE_URL "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementUpdate"

bool
gw_flightsql_is_update(const uint8_t *anyb, size_t n)
{
    Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, n, anyb);
    bool yes = any && any->type_url && !strcmp(any->type_url, UPDATE_URL);
    if (any)
        google__protobuf__any__free_unpacked(any, NULL);
    return yes;
}

/* Offset of the first keyword: blanks, `-- ...` lines and `/ * ... * /` comments skipped;
 * -1 when a block comment does not end. */
static long
first_token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            i++;
        } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            const char *e = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (s[k] == '*' && s[k + 1] == '/') {
                    e = s + k;
                    break;
                }
            if (!e)
                return -1;
            i = (size_t)(e - s) + 2;
        } else {
            break;
        }
    }
    return (long)i;
}

enum st_code
gw_update_statement_check(const char *sql, size_t n, struct st_error *err)
{
    long at = first_token(sql, n);
    if (at < 0)
        return st_error_set_at(err, ST_EPARSE, (int64_t)n, "unterminated comment");
    size_t i = (size_t)at;
    static const char kw[] = "delete";
    size_t k = 0;
    while (k < sizeof kw - 1 && i + k < n && (sql[i + k] | 0x20) == kw[k])
        k++;
    bool ok = k == sizeof kw - 1;
    if (ok && i + k < n) {
        char c = sql[i + k];
        ok = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_');
    }
    if (!ok)
        return st_error_set_at(err, ST_EINVAL, (int64_t)i,
                               "only DELETE statements run as updates (queries go through "
                               "CommandStatementQuery)");
    return ST_OK;
}

/* Whether field 1 (query) of the encoded message holds a NUL byte: protobuf-c hands the
 * string over NUL-terminated, so "DELETE ...\0..." would silently lose its tail. */
static bool
query_has_nul(const uint8_t *p, size_t n)
{
    if (n == 0) /* an empty message: protobuf-c may hand over no pointer */
        return false;
    const uint8_t *end = p + n;
    while (p < end) {
        uint64_t tag, v;
        if (st_get_uvarint(&p, end, &tag) != 0)
            return false;
        switch (tag & 7) {
        case 0:
            if (st_get_uvarint(&p, end, &v) != 0)
                return false;
            break;
        case 1:
            if ((size_t)(end - p) < 8)
                return false;
            p += 8;
            break;
        case 5:
            if ((size_t)(end - p) < 4)
                return false;
            p += 4;
            break;
        case 2:
            if (st_get_uvarint(&p, end, &v) != 0 || v > (uint64_t)(end - p))
                return false;
            if (tag >> 3 == 1 && memchr(p, 0, (size_t)v))
                return true;
            p += v;
            break;
        default:
            return false;
        }
    }
    return false;
}

enum st_code
gw_flightsql_decode_update(const uint8_t *anyb, size_t n, char **sql, size_t *sql_len,
                           struct st_error *err)
{
    *sql = NULL;
    *sql_len = 0;
    Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, n, anyb);
    if (!any || !any->type_url || strcmp(any->type_url, UPDATE_URL) != 0) {
        if (any)
            google__protobuf__any__free_unpacked(any, NULL);
        return st_error_set(err, ST_EINVAL, "not a CommandStatementUpdate");
    }
    enum st_code rc = ST_OK;
    Arrow__Flight__Protocol__Sql__CommandStatementUpdate *m =
        arrow__flight__protocol__sql__command_statement_update__unpack(NULL, any->value.len,
                                                                        any->value.data);
    if (!m)
        rc = st_error_set(err, ST_EINVAL, "malformed CommandStatementUpdate");
    else if (m->has_transaction_id_case ==
             ARROW__FLIGHT__PROTOCOL__SQL__COMMAND_STATEMENT_UPDATE__HAS_TRANSACTION_ID_TRANSACTION_ID)
        rc = st_error_set(err, ST_EUNSUPPORTED, "transactions are not supported");
    else if (!m->query || !*m->query)
        rc = st_error_set(err, ST_EINVAL, "the statement text is missing");
    else if (strlen(m->query) > GW_MAX_SQL_BYTES)
        rc = st_error_set(err, ST_ELIMIT, "the statement text is longer than %u bytes",
                          GW_MAX_SQL_BYTES);
    else if (query_has_nul(any->value.data, any->value.len))
        rc = st_error_set(err, ST_EINVAL, "the statement text holds a NUL byte");
    else if ((rc = gw_update_statement_check(m->query, strlen(m->query), err)) == ST_OK) {
        *sql_len = strlen(m->query);
        *sql = strdup(m->query);
        if (!*sql)
            rc = st_error_set(err, ST_ENOMEM, "out of memory");
    }
    if (m)
        arrow__flight__protocol__sql__command_statement_update__free_unpacked(m, NULL);
    google__protobuf__any__free_unpacked(any, NULL);
    return rc;
}
