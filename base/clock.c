/*
 * clock.c: wall and monotonic clocks, durations, RFC 3339 formatting and
 * parsing with proleptic Gregorian day arithmetic (no time zone database).
 */
#include "strata/clock.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t fixed_now;

int64_t
st_now_ns(void)
{
    int64_t f = atomic_load_explicit(&fixed_now, memory_order_relaxed);
    if (f)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * ST_NS_PER_SEC + ts.tv_nsec;
}

int64_t
st_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * ST_NS_PER_SEC + ts.tv_nsec;
}

void
st_clock_set_fixed(int64_t ns)
{
    atomic_store(&fixed_now, ns);
}

int
st_parse_duration(const char *s, int64_t *out_ns)
{
    int64_t v = 0, mul;
    const char *p = s;

    if (!s || !isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        int d = *p++ - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (*p == '\0' || strcmp(p, "s") == 0)
        mul = ST_NS_PER_SEC;
    else if (strcmp(p, "ns") == 0)
        mul = 1;
    else if (strcmp(p, "us") == 0)
        mul = ST_NS_PER_US;
    else if (strcmp(p, "ms") == 0)
        mul = ST_NS_PER_MS;
    else if (strcmp(p, "m") == 0)
        mul = 60 * ST_NS_PER_SEC;
    else if (strcmp(p, "h") == 0)
        mul = 3600 * ST_NS_PER_SEC;
    else if (strcmp(p, "d") == 0)
        mul = 86400 * ST_NS_PER_SEC;
    else if (strcmp(p, "w") == 0)
        mul = 7 * 86400 * ST_NS_PER_SEC;
    else
        return -1;
    if (v > INT64_MAX / mul)
        return -1;
    *out_ns = v * mul;
    return 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t
st_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void
st_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

void
st_format_rfc3339(int64_t ns, char *buf, unsigned buflen)
{
    int64_t secs = ns / ST_NS_PER_SEC, frac = ns % ST_NS_PER_SEC;
    if (frac < 0) {
        frac += ST_NS_PER_SEC;
        secs -= 1;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    int64_t y;
    unsigned m, d;
    st_civil_from_days(days, &y, &m, &d);
    char fr[16] = "";
    if (frac) {
        snprintf(fr, sizeof fr, ".%09lld", (long long)frac);
        size_t l = strlen(fr);
        while (l > 1 && fr[l - 1] == '0')
            fr[--l] = '\0';
    }
    snprintf(buf, buflen, "%04lld-%02u-%02uT%02d:%02d:%02d%sZ", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), fr);
}

static int
digits(const char *s, unsigned long len, unsigned long *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || !isdigit((unsigned char)s[*i]))
            return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

int
st_parse_rfc3339(const char *s, unsigned long len, int64_t *out_ns)
{
    unsigned long i = 0;
    int y, mo, d, h = 0, mi = 0, se = 0;
    int64_t frac = 0;
    int64_t off = 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' || digits(s, len, &i, 2, &mo) ||
        i >= len || s[i++] != '-' || digits(s, len, &i, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    if (i < len) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return -1;
        i++;
        if (digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
            digits(s, len, &i, 2, &mi))
            return -1;
        if (i < len && s[i] == ':') {
            i++;
            if (digits(s, len, &i, 2, &se))
                return -1;
        }
        if (h > 23 || mi > 59 || se > 60)
            return -1;
        if (se == 60)
            se = 59; /* leap second: clamp */
        if (i < len && s[i] == '.') {
            int nd = 0;
            i++;
            while (i < len && isdigit((unsigned char)s[i])) {
                if (nd < 9) {
                    frac = frac * 10 + (s[i] - '0');
                    nd++;
                }
                i++;
            }
            if (nd == 0)
                return -1;
            for (; nd < 9; nd++)
                frac *= 10;
        }
        if (i < len) {
            if (s[i] == 'Z' || s[i] == 'z') {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
                if (digits(s, len, &i, 2, &oh))
                    return -1;
                if (i < len && s[i] == ':')
                    i++;
                if (i < len && digits(s, len, &i, 2, &om))
                    return -1;
                if (oh > 23 || om > 59)
                    return -1;
                off = sign * ((int64_t)oh * 3600 + om * 60);
            } else {
                return -1;
            }
        }
    }
    if (i != len)
        return -1;
    int64_t days = st_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - off;
    if (secs > INT64_MAX / ST_NS_PER_SEC - 1 || secs < INT64_MIN / ST_NS_PER_SEC + 1)
        return -1;
    *out_ns = secs * ST_NS_PER_SEC + frac;
    return 0;
}
