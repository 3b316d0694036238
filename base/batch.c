/*
 * batch.c: names of the column types.
 */
#include "strata/batch.h"

const char *
st_type_name(enum st_type t)
{
    switch (t) {
    case ST_TYPE_NULL:
        return "null";
    case ST_TYPE_TIME:
        return "timestamp";
    case ST_TYPE_STRING:
        return "string";
    case ST_TYPE_FLOAT:
        return "float";
    case ST_TYPE_INT:
        return "integer";
    case ST_TYPE_UINT:
        return "unsigned";
    case ST_TYPE_BOOL:
        return "boolean";
    }
    return "unknown";
}
