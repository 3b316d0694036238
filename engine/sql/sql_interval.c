/*
 * sql_interval.c: the text of INTERVAL literals.
 *
 * Accepted: one or more "<number> <unit>" pairs ("1 hour 30 minutes",
 * "90 seconds", "1.5 hours") and the compact InfluxDB forms ("5m", "10s",
 * "1h30m"). Units: nanosecond(s) ns, microsecond(s) us, millisecond(s) ms,
 * second(s) sec(s) s, minute(s) min(s) m, hour(s) h, day(s) d, week(s) w.
 * Months and years have no fixed length in nanoseconds and are refused.
 * The result must be exact in ns and fit int64; overflow is an error.
 */
#include "sql_int.h"

#include <string.h>

struct unit {
    const char *name;
    int64_t ns;
};

static const struct unit units[] = {
    {"nanosecond", 1},
    {"nanoseconds", 1},
    {"ns", 1},
    {"microsecond", 1000},
    {"microseconds", 1000},
    {"us", 1000},
    {"millisecond", 1000000},
    {"milliseconds", 1000000},
    {"ms", 1000000},
    {"second", 1000000000},
    {"seconds", 1000000000},
    {"sec", 1000000000},
    {"secs", 1000000000},
    {"s", 1000000000},
    {"minute", 60000000000},
    {"minutes", 60000000000},
    {"min", 60000000000},
    {"mins", 60000000000},
    {"m", 60000000000},
    {"hour", 3600000000000},
    {"hours", 3600000000000},
    {"h", 3600000000000},
    {"day", 86400000000000},
    {"days", 86400000000000},
    {"d", 86400000000000},
    {"week", 604800000000000},
    {"weeks", 604800000000000},
    {"w", 604800000000000},
};

static bool
is_month_unit(const char *p, size_t n)
{
    static const char *const names[] = {"month", "months", "mon", "mons", "year",
                                        "years", "y",      "mo",  "yr",   "yrs"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncmp(names[i], p, n) == 0)
            return true;
    return false;
}

int
sql__parse_interval(const char *s, size_t len, int64_t *out_ns, const char **why)
{
    size_t i = 0;
    __int128 total = 0;
    int n_parts = 0;
    bool neg_all = false;

    while (i < len && s[i] == ' ')
        i++;
    if (i < len && s[i] == '-') {
        neg_all = true;
        i++;
    }
    for (;;) {
        while (i < len && s[i] == ' ')
            i++;
        if (i >= len)
            break;
        /* number: digits with an optional fraction */
        __int128 whole = 0;
        int64_t frac_num = 0, frac_den = 1;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            whole = whole * 10 + (s[i] - '0');
            if (whole > INT64_MAX) {
                *why = "interval out of range";
                return -1;
            }
            i++;
        }
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                if (frac_den < 1000000000000000000LL / 10) {
                    frac_num = frac_num * 10 + (s[i] - '0');
                    frac_den *= 10;
                }
                i++;
            }
        }
        if (i == start || (i == start + 1 && s[start] == '.')) {
            *why = "expected a number in the interval";
            return -1;
        }
        while (i < len && s[i] == ' ')
            i++;
        size_t u0 = i;
        while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            i++;
        size_t ulen = i - u0;
        char unit[16];
        if (ulen == 0 || ulen >= sizeof unit) {
            *why = ulen == 0 ? "expected a unit in the interval (second, minute, hour, day, ...)"
                             : "unknown interval unit";
            return -1;
        }
        for (size_t k = 0; k < ulen; k++) {
            char c = s[u0 + k];
            unit[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        unit[ulen] = '\0';
        int64_t mul = 0;
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
            if (strcmp(units[k].name, unit) == 0) {
                mul = units[k].ns;
                break;
            }
        if (mul == 0) {
            *why = is_month_unit(unit, ulen)
                       ? "intervals in months or years are not supported (no fixed length)"
                       : "unknown interval unit";
            return -1;
        }
        __int128 part = whole * mul;
        if (frac_num) {
            __int128 f = (__int128)frac_num * mul;
            if (f % frac_den != 0) {
                *why = "interval is not a whole number of nanoseconds";
                return -1;
            }
            part += f / frac_den;
        }
        total += part;
        if (total > INT64_MAX) {
            *why = "interval out of range";
            return -1;
        }
        n_parts++;
        if (n_parts > 16) {
            *why = "interval has too many parts";
            return -1;
        }
    }
    if (n_parts == 0) {
        *why = "empty interval";
        return -1;
    }
    *out_ns = (int64_t)(neg_all ? -total : total);
    return 0;
}
