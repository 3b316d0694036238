/*
 * th.h: the unit-test harness.
 *
 *     #include "th.h"
 *     TEST(wal_replays_acknowledged_records) {
 *         ASSERT_OK(wal_open(th_tmpdir(), ...));
 *         ASSERT_EQ_INT(n, 3);
 *     }
 *
 * Every TEST runs in a forked child with a timeout (TH_TIMEOUT seconds, env
 * TH_TIMEOUT overrides) and its own fresh temporary directory, so a crash or
 * hang fails one test, not the binary. `./test_x name-substring` runs a
 * subset; `./test_x --list` lists tests. A failing assertion prints
 * file:line and the values, then ends the child.
 */
#ifndef STRATA_TH_H
#define STRATA_TH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*th_fn)(void);
void th_register(const char *name, th_fn fn);
/* This test's temporary directory (created before the test, removed after a pass). */
const char *th_tmpdir(void);
/* A path inside th_tmpdir(); returns a static buffer rotated over 8 slots. */
const char *th_path(const char *name);
/* Abort the current test with a message. */
void th_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
/* Directory holding test data files (tests/), from the build (TH_SOURCE_DIR). */
const char *th_source_dir(void);
/* The build's bin/ directory (where stratad and strata are). */
const char *th_bin_dir(void);

#define TEST(name)                                                                                 \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void th_reg_##name(void) { th_register(#name, name); }   \
    static void name(void)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c))                                                                                  \
            th_fail(__FILE__, __LINE__, "expected true: %s", #c);                                \
    } while (0)
#define ASSERT_FALSE(c) ASSERT_TRUE(!(c))
#define ASSERT_EQ_INT(a, b)                                                                        \
    do {                                                                                           \
        long long th_a_ = (long long)(a), th_b_ = (long long)(b);                                  \
        if (th_a_ != th_b_)                                                                        \
            th_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, th_a_, th_b_);          \
    } while (0)
#define ASSERT_EQ_U64(a, b)                                                                        \
    do {                                                                                           \
        unsigned long long th_a_ = (unsigned long long)(a), th_b_ = (unsigned long long)(b);       \
        if (th_a_ != th_b_)                                                                        \
            th_fail(__FILE__, __LINE__, "%s == %s: %llu != %llu", #a, #b, th_a_, th_b_);          \
    } while (0)
#define ASSERT_EQ_DBL(a, b)                                                                        \
    do {                                                                                           \
        double th_a_ = (a), th_b_ = (b);                                                           \
        if (!(th_a_ == th_b_ || (th_a_ != th_a_ && th_b_ != th_b_)))                               \
            th_fail(__FILE__, __LINE__, "%s == %s: %.17g != %.17g", #a, #b, th_a_, th_b_);        \
    } while (0)
#define ASSERT_EQ_STR(a, b)                                                                        \
    do {                                                                                           \
        const char *th_a_ = (a), *th_b_ = (b);                                                     \
        if (!th_a_ || !th_b_ || strcmp(th_a_, th_b_) != 0)                                         \
            th_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                    \
                    th_a_ ? th_a_ : "(null)", th_b_ ? th_b_ : "(null)");                           \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *th_h_ = (hay), *th_n_ = (needle);                                              \
        if (!th_h_ || !strstr(th_h_, th_n_))                                                       \
            th_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",                        \
                    th_h_ ? th_h_ : "(null)", th_n_);                                              \
    } while (0)
/* For functions returning enum st_code with a struct st_error named in the call. */
#define ASSERT_OK_E(expr, errp)                                                                    \
    do {                                                                                           \
        int th_rc_ = (int)(expr);                                                                  \
        if (th_rc_ != 0)                                                                           \
            th_fail(__FILE__, __LINE__, "%s failed: code %d: %s", #expr, th_rc_,                 \
                    th_errmsg_((errp)->msg));                                                      \
    } while (0)
static inline const char *
th_errmsg_(const char *m)
{
    return m ? m : "";
}
#define ASSERT_OK(expr) ASSERT_EQ_INT((expr), 0)
#define ASSERT_CODE(expr, code) ASSERT_EQ_INT((expr), (code))

#endif
