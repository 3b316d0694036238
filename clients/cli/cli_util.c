/*
 * cli_util.c: small parsers and helpers of the `strata` CLI: durations,
 * RFC 3339 times, sizes, secret files, confirmation prompts, a clock.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Digits of s into *v (no sign); the end in *end. */
static bool
digits(const char *s, uint64_t *v, const char **end)
{
    uint64_t x = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p)) {
        if (x > (UINT64_MAX - 9) / 10) return false;
        x = x * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *v = x;
    *end = p;
    return true;
}

enum st_code
parse_duration_ms(const char *s, int64_t *ms)
{
    uint64_t v;
    const char *end;
    if (!s || !digits(s, &v, &end)) return ST_EINVAL;
    uint64_t mult;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else if (strcmp(end, "d") == 0)
        mult = 86400000;
    else if (strcmp(end, "w") == 0)
        mult = 7 * 86400000ULL;
    else
        return ST_EINVAL;
    if (v > (uint64_t)INT64_MAX / mult) return ST_EINVAL;
    *ms = (int64_t)(v * mult);
    return ST_OK;
}

enum st_code
parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *end;
    if (!s || !digits(s, &v, &end)) return ST_EINVAL;
    uint64_t mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024;
    else if (*end == 'm' || *end == 'M')
        mult = 1024 * 1024;
    else if (*end == 'g' || *end == 'G')
        mult = 1024ULL * 1024 * 1024;
    else if (*end != '\0')
        return ST_EINVAL;
    if (*end && end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
        return ST_EINVAL;
    if (v > UINT64_MAX / mult) return ST_EINVAL;
    *out = v * mult;
    return ST_OK;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool
fixed(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return false;
        v = v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

enum st_code
parse_time_ns(const char *s, int64_t *ns)
{
    if (!s || !*s) return ST_EINVAL;
    /* an integer: nanoseconds since the epoch */
    const char *q = s;
    if (*q == '-') q++;
    if (isdigit((unsigned char)*q) && strspn(q, "0123456789") == strlen(q)) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno) return ST_EINVAL;
        *ns = v;
        return ST_OK;
    }
    const char *p = s;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    if (!fixed(&p, 4, &y) || *p++ != '-' || !fixed(&p, 2, &mo) || *p++ != '-' || !fixed(&p, 2, &d))
        return ST_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return ST_EINVAL;
    int64_t frac = 0;
    int64_t off_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!fixed(&p, 2, &h) || *p++ != ':' || !fixed(&p, 2, &mi) || *p++ != ':' ||
            !fixed(&p, 2, &sec))
            return ST_EINVAL;
        if (h > 23 || mi > 59 || sec > 60) return ST_EINVAL;
        if (*p == '.') {
            p++;
            int n = 0;
            while (isdigit((unsigned char)*p)) {
                if (n < 9) {
                    frac = frac * 10 + (*p - '0');
                    n++;
                }
                p++;
            }
            if (n == 0) return ST_EINVAL;
            while (n++ < 9)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            unsigned oh, om;
            p++;
            if (!fixed(&p, 2, &oh) || *p++ != ':' || !fixed(&p, 2, &om) || oh > 23 || om > 59)
                return ST_EINVAL;
            off_s = sign * (int64_t)(oh * 3600 + om * 60);
        } else {
            return ST_EINVAL;
        }
    }
    if (*p != '\0') return ST_EINVAL;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - off_s;
    if (secs > INT64_MAX / 1000000000 - 1 || secs < INT64_MIN / 1000000000 + 1) return ST_EINVAL;
    *ns = secs * 1000000000 + frac;
    return ST_OK;
}

char *
read_secret_file(const char *path, struct st_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        st_error_set(err, ST_EIO, "opening token file \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    char *buf = calloc(1, 16384);
    if (!buf) {
        fclose(f);
        st_error_set(err, ST_ENOMEM, "reading token file \"%s\"", path);
        return NULL;
    }
    if (!fgets(buf, 16384, f)) {
        fclose(f);
        free(buf);
        st_error_set(err, ST_EINVAL, "token file \"%s\" is empty", path);
        return NULL;
    }
    fclose(f);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0) {
        free(buf);
        st_error_set(err, ST_EINVAL, "token file \"%s\" is empty", path);
        return NULL;
    }
    return buf;
}

bool
confirm_typed(const char *prompt, const char *expect)
{
    if (!isatty(STDIN_FILENO)) return false;
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    char line[512];
    if (!fgets(line, sizeof line, stdin)) return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, expect) == 0;
}

double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
