/*
 * clock.h: time in nanoseconds since the Unix epoch, and a monotonic clock.
 * Wall time is read through one function so tests can pin it.
 */
#ifndef STRATA_CLOCK_H
#define STRATA_CLOCK_H

#include <stdint.h>

#define ST_NS_PER_SEC INT64_C(1000000000)
#define ST_NS_PER_MS INT64_C(1000000)
#define ST_NS_PER_US INT64_C(1000)

/* Wall-clock time, ns since the epoch (CLOCK_REALTIME, or the test override). */
int64_t st_now_ns(void);
/* Monotonic time in ns, for durations and deadlines. */
int64_t st_mono_ns(void);
/* Tests only: pin st_now_ns() to a fixed value; 0 restores the real clock. */
void st_clock_set_fixed(int64_t ns);

/*
 * Parse a duration: plain seconds or a number with a suffix
 * (ns, us, ms, s, m, h, d, w): "90", "30s", "5m", "24h", "7d".
 * Returns 0 and stores ns, or -1 on a malformed or overflowing value.
 */
int st_parse_duration(const char *s, int64_t *out_ns);

/*
 * Format ns since the epoch as RFC 3339 UTC with the shortest exact fraction
 * ("2016-01-01T00:00:00Z", "2016-01-01T00:00:00.5Z"). buf needs 40 bytes.
 */
void st_format_rfc3339(int64_t ns, char *buf, unsigned buflen);

/*
 * Parse an RFC 3339 / ISO 8601 timestamp: "2016-01-01T00:00:00Z",
 * fractions up to 9 digits, "+hh:mm" offsets, a space instead of "T", and a
 * bare date "2016-01-01" (midnight UTC). A missing offset means UTC.
 * Returns 0 and stores ns, or -1.
 */
int st_parse_rfc3339(const char *s, unsigned long len, int64_t *out_ns);

/* Proleptic Gregorian calendar arithmetic, no time zones: days since
 * 1970-01-01 for a date, and the date of a day number. */
int64_t st_days_from_civil(int64_t y, unsigned m, unsigned d);
void st_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
