/*
 * log.c: leveled logging to stderr with one write(2) per line, so lines
 * from different threads never interleave.
 */
#include "strata/log.h"
#include "strata/clock.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static _Atomic int log_level = -1;
static _Atomic int log_json;

static const char *const level_names[] = {"error", "warn", "notice", "info", "debug"};

int
st_log_level_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (s && strcasecmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

enum st_log_level
st_log_get_level(void)
{
    int l = atomic_load_explicit(&log_level, memory_order_relaxed);
    if (l < 0) {
        l = st_log_level_parse(getenv("STRATA_LOG_LEVEL"));
        if (l < 0)
            l = ST_LOG_NOTICE;
        atomic_store(&log_level, l);
    }
    return (enum st_log_level)l;
}

void
st_log_set_level(enum st_log_level lvl)
{
    atomic_store(&log_level, (int)lvl);
}

void
st_log_set_json(int on)
{
    atomic_store(&log_json, on);
}

/* Append s to dst as the inside of a JSON or quoted string, escaping. */
static size_t
quote(char *dst, size_t cap, size_t n, const char *s)
{
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
        } else {
            dst[n++] = (char)c;
        }
    }
    return n;
}

void
st_log(enum st_log_level lvl, const char *sub, const char *fmt, ...)
{
    char msg[2048], line[4096], ts[40];
    va_list ap;
    size_t n;

    if (!ST_LOG_ENABLED(lvl))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st_format_rfc3339(st_now_ns() / ST_NS_PER_MS * ST_NS_PER_MS, ts, sizeof ts);
    if (atomic_load(&log_json))
        n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"sub\":\"%s\",\"msg\":\"",
                             ts, level_names[lvl], sub);
    else
        n = (size_t)snprintf(line, sizeof line, "%s level=%s sub=%s msg=\"", ts, level_names[lvl],
                             sub);
    n = quote(line, sizeof line - 4, n, msg);
    if (atomic_load(&log_json)) {
        line[n++] = '"';
        line[n++] = '}';
    } else {
        line[n++] = '"';
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
