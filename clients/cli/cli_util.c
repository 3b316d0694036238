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
#include "strata/clock.h"

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
    int64_t ns;
    if (st_parse_duration(s, &ns) != 0)
        return ST_EINVAL;
    *ms = ns / ST_NS_PER_MS;
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
    return st_parse_rfc3339(s, strlen(s), ns) == 0 ? ST_OK : ST_EINVAL;
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
