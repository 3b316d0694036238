/*
 * lp_time.c: timestamp precisions of the line protocol. A write request
 * names its precision (lp_precision_parse); the write path converts each
 * line's timestamp to nanoseconds since the epoch with lp_time_to_ns, which
 * refuses results outside int64 instead of wrapping.
 */
#include <string.h>

#include "lp_int.h"

int
lp_time_to_ns(int64_t t, enum lp_precision prec, int64_t *out_ns)
{
    if (!out_ns)
        return -1;
    if (prec == LP_PREC_AUTO) {
        /* Guess the unit from the magnitude, as InfluxDB 3 does. */
        uint64_t a = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
        if (a < UINT64_C(5000000000))
            prec = LP_PREC_S;
        else if (a < UINT64_C(5000000000000))
            prec = LP_PREC_MS;
        else if (a < UINT64_C(5000000000000000))
            prec = LP_PREC_US;
        else
            prec = LP_PREC_NS;
    }
    int64_t mul;
    switch (prec) {
    case LP_PREC_NS:
        mul = 1;
        break;
    case LP_PREC_US:
        mul = 1000;
        break;
    case LP_PREC_MS:
        mul = 1000000;
        break;
    case LP_PREC_S:
        mul = 1000000000;
        break;
    default:
        return -1;
    }
    int64_t r;
    if (__builtin_mul_overflow(t, mul, &r))
        return -1;
    *out_ns = r;
    return 0;
}

int
lp_precision_parse(const char *s, enum lp_precision *out)
{
    static const struct {
        const char *name;
        enum lp_precision prec;
    } names[] = {
        {"n", LP_PREC_NS},  {"ns", LP_PREC_NS},          {"nanosecond", LP_PREC_NS},
        {"u", LP_PREC_US},  {"us", LP_PREC_US},          {"microsecond", LP_PREC_US},
        {"ms", LP_PREC_MS}, {"millisecond", LP_PREC_MS}, {"s", LP_PREC_S},
        {"second", LP_PREC_S}, {"auto", LP_PREC_AUTO},
    };
    if (!s || !out)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].prec;
            return 0;
        }
    }
    return -1;
}
