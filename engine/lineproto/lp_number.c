/*
 * lp_number.c: the slow path of float conversion for the line protocol
 * parser. lp_parse.c converts the common floats itself (at most 19
 * significant digits and a small exponent, exactly, by Clinger's fast path);
 * everything else comes here and goes through strtod_l in the "C" locale, so
 * the result is correctly rounded and a process that called setlocale()
 * (with ',' as its decimal point) still parses "1.5" as one and a half.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lp_int.h"

int
lp__float_slow(const char *tok, size_t len, char *tmp, locale_t loc, double *out)
{
    memcpy(tmp, tok, len);
    tmp[len] = '\0';
    errno = 0;
    char *endp = NULL;
    double d = loc ? strtod_l(tmp, &endp, loc) : strtod(tmp, &endp);
    /* The token was checked against the grammar, so strtod reads all of it. */
    if (endp != tmp + len)
        return -2;
    /* ERANGE with a finite result is underflow: keep the nearest value (0 or a
     * subnormal), as InfluxDB does. Overflow gives +-HUGE_VAL = infinity. */
    if (isinf(d) || isnan(d))
        return -1;
    *out = d;
    return 0;
}
