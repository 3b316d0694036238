/*
 * plan_value.c: the meaning of every scalar operation on single values:
 * arithmetic with overflow checks, comparison, CAST, LIKE, date_bin and
 * calendar truncation, and the scalar functions.
 *
 * This file is the one definition of scalar semantics. The binder uses it
 * to fold constants; the executor (engine/exec) calls it row by row for
 * everything that has no specialised vector kernel, and its kernels are
 * tested against it. Rules (docs/sql.md, "Types and NULLs"):
 *   - integer arithmetic never wraps: overflow is an error (ST_EINVAL);
 *   - division or modulo by zero is an error for every numeric type;
 *   - float results must be finite: an infinite or NaN result is an error;
 *   - NULL in, NULL out (the executor handles NULLs before calling here,
 *     except for coalesce, nullif and concat(), which see them).
 */
#include "strata/plan.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/clock.h"

const char *
plan_type_name(enum plan_type t)
{
    if (t == PT_INTERVAL)
        return "interval";
    return st_type_name((enum st_type)t);
}

enum st_type
plan_type_output(enum plan_type t)
{
    switch (t) {
    case PT_INTERVAL:
        return ST_TYPE_INT;
    case PT_NULL:
        return ST_TYPE_STRING; /* an all-NULL column of unknown type */
    default:
        return (enum st_type)t;
    }
}

static enum st_code
overflow(uint32_t pos, struct st_error *err)
{
    return st_error_set_at(err, ST_EINVAL, pos, "integer overflow");
}

static enum st_code
div_zero(uint32_t pos, struct st_error *err)
{
    return st_error_set_at(err, ST_EINVAL, pos, "division by zero");
}

static enum st_code
float_check(double f, uint32_t pos, struct st_error *err)
{
    if (!isfinite(f))
        return st_error_set_at(err, ST_EINVAL, pos, "float overflow (result is not finite)");
    return ST_OK;
}

static struct plan_value
v_null(enum plan_type t)
{
    struct plan_value v = {.type = t, .is_null = true};
    return v;
}

/* ---- arithmetic ----------------------------------------------------------- */

static enum st_code
arith_i64(enum plan_fn fn, int64_t a, int64_t b, int64_t *r, uint32_t pos, struct st_error *err)
{
    switch (fn) {
    case PF_ADD:
        if (__builtin_add_overflow(a, b, r))
            return overflow(pos, err);
        return ST_OK;
    case PF_SUB:
        if (__builtin_sub_overflow(a, b, r))
            return overflow(pos, err);
        return ST_OK;
    case PF_MUL:
        if (__builtin_mul_overflow(a, b, r))
            return overflow(pos, err);
        return ST_OK;
    case PF_DIV:
        if (b == 0)
            return div_zero(pos, err);
        if (a == INT64_MIN && b == -1)
            return overflow(pos, err);
        *r = a / b;
        return ST_OK;
    case PF_MOD:
        if (b == 0)
            return div_zero(pos, err);
        *r = (b == -1) ? 0 : a % b;
        return ST_OK;
    default:
        return st_error_set_at(err, ST_EINTERNAL, pos, "bad integer operator");
    }
}

static enum st_code
arith_u64(enum plan_fn fn, uint64_t a, uint64_t b, uint64_t *r, uint32_t pos, struct st_error *err)
{
    switch (fn) {
    case PF_ADD:
        if (__builtin_add_overflow(a, b, r))
            return overflow(pos, err);
        return ST_OK;
    case PF_SUB:
        if (__builtin_sub_overflow(a, b, r))
            return overflow(pos, err);
        return ST_OK;
    case PF_MUL:
        if (__builtin_mul_overflow(a, b, r))
            return overflow(pos, err);
        return ST_OK;
    case PF_DIV:
        if (b == 0)
            return div_zero(pos, err);
        *r = a / b;
        return ST_OK;
    case PF_MOD:
        if (b == 0)
            return div_zero(pos, err);
        *r = a % b;
        return ST_OK;
    default:
        return st_error_set_at(err, ST_EINTERNAL, pos, "bad unsigned operator");
    }
}

static enum st_code
arith_f64(enum plan_fn fn, double a, double b, double *r, uint32_t pos, struct st_error *err)
{
    switch (fn) {
    case PF_ADD:
        *r = a + b;
        break;
    case PF_SUB:
        *r = a - b;
        break;
    case PF_MUL:
        *r = a * b;
        break;
    case PF_DIV:
        if (b == 0.0)
            return div_zero(pos, err);
        *r = a / b;
        break;
    case PF_MOD:
        if (b == 0.0)
            return div_zero(pos, err);
        *r = fmod(a, b);
        break;
    default:
        return st_error_set_at(err, ST_EINTERNAL, pos, "bad float operator");
    }
    return float_check(*r, pos, err);
}

static enum st_code
arith(enum plan_fn fn, const struct plan_value *a, const struct plan_value *b,
      enum plan_type rt, struct plan_value *out, uint32_t pos, struct st_error *err)
{
    out->type = rt;
    out->is_null = false;
    switch (rt) {
    case PT_INT:
        return arith_i64(fn, a->v.i, b->v.i, &out->v.i, pos, err);
    case PT_UINT:
        return arith_u64(fn, a->v.u, b->v.u, &out->v.u, pos, err);
    case PT_FLOAT:
        return arith_f64(fn, a->v.f, b->v.f, &out->v.f, pos, err);
    case PT_TIME:
    case PT_INTERVAL:
        /* time +- interval, interval +- interval, time - time, interval * / int */
        return arith_i64(fn, a->v.i, b->v.i, &out->v.i, pos, err);
    default:
        return st_error_set_at(err, ST_EINTERNAL, pos, "arithmetic on %s", plan_type_name(rt));
    }
}

/* ---- comparison ----------------------------------------------------------- */

int
plan_value_cmp(const struct plan_value *a, const struct plan_value *b)
{
    if (a->type == PT_INT && b->type == PT_UINT) {
        if (a->v.i < 0)
            return -1;
        uint64_t x = (uint64_t)a->v.i;
        return x < b->v.u ? -1 : x > b->v.u;
    }
    if (a->type == PT_UINT && b->type == PT_INT)
        return -plan_value_cmp(b, a);
    switch (a->type) {
    case PT_INT:
    case PT_TIME:
    case PT_INTERVAL:
        return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    case PT_UINT:
        return a->v.u < b->v.u ? -1 : a->v.u > b->v.u;
    case PT_FLOAT:
        return a->v.f < b->v.f ? -1 : a->v.f > b->v.f;
    case PT_BOOL:
        return (int)a->v.b - (int)b->v.b;
    case PT_STRING: {
        uint32_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
        int c = n ? memcmp(a->v.s.p, b->v.s.p, n) : 0;
        if (c)
            return c < 0 ? -1 : 1;
        return a->v.s.len < b->v.s.len ? -1 : a->v.s.len > b->v.s.len;
    }
    case PT_NULL:
        return 0;
    }
    return 0;
}

/* ---- casts ---------------------------------------------------------------- */

static enum st_code
bad_input(const struct plan_value *v, const char *tname, uint32_t pos, struct st_error *err)
{
    uint32_t n = v->v.s.len > 60 ? 60 : v->v.s.len;
    return st_error_set_at(err, ST_EINVAL, pos, "invalid %s value '%.*s'", tname, (int)n, v->v.s.p);
}

static const char *
trim_span(const char *p, uint32_t n, uint32_t *out_n)
{
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *out_n = n;
    return p;
}

/* Parse an optionally signed decimal integer exactly. */
static int
parse_int_text(const char *p, uint32_t n, bool *neg, uint64_t *mag)
{
    p = trim_span(p, n, &n);
    *neg = false;
    if (n && (*p == '+' || *p == '-')) {
        *neg = *p == '-';
        p++, n--;
    }
    if (n == 0)
        return -1;
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

static int
parse_float_text(const char *p, uint32_t n, double *out)
{
    char buf[128];
    p = trim_span(p, n, &n);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    /* plain decimal syntax only: no hex floats, no "inf"/"nan" */
    for (uint32_t i = 0; i < n; i++) {
        char c = buf[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return -1;
    }
    char *end;
    double f = strtod(buf, &end);
    if (*end != '\0' || !isfinite(f))
        return -1;
    *out = f;
    return 0;
}

static enum st_code
to_string(const struct plan_value *v, struct sql_arena *a, struct plan_value *out, uint32_t pos,
          struct st_error *err)
{
    char buf[64];
    switch (v->type) {
    case PT_STRING:
        *out = *v;
        return ST_OK;
    case PT_INT:
        snprintf(buf, sizeof buf, "%" PRId64, v->v.i);
        break;
    case PT_UINT:
        snprintf(buf, sizeof buf, "%" PRIu64, v->v.u);
        break;
    case PT_FLOAT:
        snprintf(buf, sizeof buf, "%.15g", v->v.f);
        if (strtod(buf, NULL) != v->v.f)
            snprintf(buf, sizeof buf, "%.17g", v->v.f);
        break;
    case PT_BOOL:
        snprintf(buf, sizeof buf, "%s", v->v.b ? "true" : "false");
        break;
    case PT_TIME:
        st_format_rfc3339(v->v.i, buf, sizeof buf);
        break;
    case PT_INTERVAL:
        sql_format_interval(v->v.i, buf, sizeof buf);
        break;
    default:
        return st_error_set_at(err, ST_ETYPE, pos, "cannot cast %s to string",
                               plan_type_name(v->type));
    }
    size_t n = strlen(buf);
    char *s = sql_arena_strndup(a, buf, n);
    if (!s)
        return st_error_set_at(err, ST_ENOMEM, pos, "out of memory");
    out->type = PT_STRING;
    out->is_null = false;
    out->v.s.p = s;
    out->v.s.len = (uint32_t)n;
    return ST_OK;
}

enum st_code
plan_cast_value(const struct plan_value *v, enum plan_type to, struct sql_arena *a,
                struct plan_value *out, uint32_t pos, struct st_error *err)
{
    if (v->is_null || v->type == PT_NULL) {
        *out = v_null(to);
        return ST_OK;
    }
    if (v->type == to) {
        *out = *v;
        return ST_OK;
    }
    struct plan_value r = {.type = to};
    bool neg;
    uint64_t mag;
    switch (to) {
    case PT_INT:
    case PT_TIME:
    case PT_INTERVAL:
        switch (v->type) {
        case PT_INT:
        case PT_TIME:
        case PT_INTERVAL:
            r.v.i = v->v.i;
            break;
        case PT_UINT:
            if (v->v.u > (uint64_t)INT64_MAX)
                return st_error_set_at(err, ST_EINVAL, pos, "value out of range for %s",
                                       plan_type_name(to));
            r.v.i = (int64_t)v->v.u;
            break;
        case PT_FLOAT: {
            if (to == PT_TIME)
                goto unsupported;
            double t = trunc(v->v.f);
            if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0))
                return st_error_set_at(err, ST_EINVAL, pos, "value out of range for %s",
                                       plan_type_name(to));
            r.v.i = (int64_t)t;
            break;
        }
        case PT_BOOL:
            if (to != PT_INT)
                goto unsupported;
            r.v.i = v->v.b;
            break;
        case PT_STRING:
            if (to == PT_TIME) {
                if (st_parse_rfc3339(v->v.s.p, v->v.s.len, &r.v.i) != 0)
                    return st_error_set_at(
                        err, ST_EINVAL, pos,
                        "invalid timestamp '%.*s' (expected RFC 3339, e.g. '2016-01-01T00:00:00Z')",
                        (int)(v->v.s.len > 60 ? 60 : v->v.s.len), v->v.s.p);
                break;
            }
            if (to == PT_INTERVAL)
                goto unsupported;
            {
                int rc = parse_int_text(v->v.s.p, v->v.s.len, &neg, &mag);
                if (rc == -1)
                    return bad_input(v, "integer", pos, err);
                if (rc == -2 || (!neg && mag > (uint64_t)INT64_MAX) ||
                    (neg && mag > (uint64_t)INT64_MAX + 1))
                    return st_error_set_at(err, ST_EINVAL, pos, "value out of range for integer");
                r.v.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
            }
            break;
        default:
            goto unsupported;
        }
        break;
    case PT_UINT:
        switch (v->type) {
        case PT_INT:
        case PT_TIME:
            if (v->v.i < 0)
                return st_error_set_at(err, ST_EINVAL, pos, "value out of range for unsigned");
            r.v.u = (uint64_t)v->v.i;
            break;
        case PT_FLOAT: {
            double t = trunc(v->v.f);
            if (!(t >= 0.0 && t < 18446744073709551616.0))
                return st_error_set_at(err, ST_EINVAL, pos, "value out of range for unsigned");
            r.v.u = (uint64_t)t;
            break;
        }
        case PT_BOOL:
            r.v.u = v->v.b;
            break;
        case PT_STRING: {
            int rc = parse_int_text(v->v.s.p, v->v.s.len, &neg, &mag);
            if (rc == -1)
                return bad_input(v, "unsigned", pos, err);
            if (rc == -2 || (neg && mag != 0))
                return st_error_set_at(err, ST_EINVAL, pos, "value out of range for unsigned");
            r.v.u = mag;
            break;
        }
        default:
            goto unsupported;
        }
        break;
    case PT_FLOAT:
        switch (v->type) {
        case PT_INT:
            r.v.f = (double)v->v.i;
            break;
        case PT_UINT:
            r.v.f = (double)v->v.u;
            break;
        case PT_BOOL:
            r.v.f = v->v.b;
            break;
        case PT_STRING:
            if (parse_float_text(v->v.s.p, v->v.s.len, &r.v.f) != 0)
                return bad_input(v, "float", pos, err);
            break;
        default:
            goto unsupported;
        }
        break;
    case PT_BOOL:
        switch (v->type) {
        case PT_INT:
            r.v.b = v->v.i != 0;
            break;
        case PT_UINT:
            r.v.b = v->v.u != 0;
            break;
        case PT_FLOAT:
            r.v.b = v->v.f != 0.0;
            break;
        case PT_STRING: {
            uint32_t n;
            const char *p = trim_span(v->v.s.p, v->v.s.len, &n);
            static const char *const t[] = {"true", "t", "yes", "y", "on", "1"};
            static const char *const f[] = {"false", "f", "no", "n", "off", "0"};
            bool found = false;
            for (size_t i = 0; i < 6 && !found; i++) {
                if (strlen(t[i]) == n && strncasecmp(p, t[i], n) == 0)
                    r.v.b = true, found = true;
                else if (strlen(f[i]) == n && strncasecmp(p, f[i], n) == 0)
                    r.v.b = false, found = true;
            }
            if (!found)
                return bad_input(v, "boolean", pos, err);
            break;
        }
        default:
            goto unsupported;
        }
        break;
    case PT_STRING:
        return to_string(v, a, out, pos, err);
    default:
        goto unsupported;
    }
    *out = r;
    return ST_OK;
unsupported:
    return st_error_set_at(err, ST_ETYPE, pos, "cannot cast %s to %s", plan_type_name(v->type),
                           plan_type_name(to));
}

/* ---- LIKE ------------------------------------------------------------------ */

static inline unsigned char
fold(unsigned char c, bool icase)
{
    return (icase && c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Length of the UTF-8 sequence starting with byte c (1 for invalid bytes). */
static inline size_t
u8len(unsigned char c)
{
    if (c < 0xC0)
        return 1;
    if (c < 0xE0)
        return 2;
    if (c < 0xF0)
        return 3;
    return 4;
}

/*
 * Iterative matcher with one backtrack point (the last '%'): O(n * m) in
 * the worst case, no recursion. '_' matches one UTF-8 character; '\'
 * makes the next pattern byte literal.
 */
bool
plan_like_match(const char *s, size_t n, const char *pat, size_t pn, bool icase)
{
    size_t si = 0, pi = 0;
    size_t star_p = SIZE_MAX, star_s = 0;
    while (si < n) {
        if (pi < pn) {
            unsigned char pc = (unsigned char)pat[pi];
            if (pc == '%') {
                star_p = ++pi;
                star_s = si;
                continue;
            }
            if (pc == '_') {
                size_t l = u8len((unsigned char)s[si]);
                si += l <= n - si ? l : n - si;
                pi++;
                continue;
            }
            size_t plen = 1;
            if (pc == '\\' && pi + 1 < pn) {
                pc = (unsigned char)pat[pi + 1];
                plen = 2;
            }
            if (fold(pc, icase) == fold((unsigned char)s[si], icase)) {
                si++;
                pi += plen;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        /* backtrack: let the last % swallow one more character */
        star_s += u8len((unsigned char)s[star_s]);
        if (star_s > n)
            return false;
        si = star_s;
        pi = star_p;
    }
    while (pi < pn && pat[pi] == '%')
        pi++;
    return pi == pn;
}

/* ---- time ------------------------------------------------------------------ */

bool
plan_date_bin_exact(int64_t t, int64_t stride, int64_t origin, int64_t *out)
{
    /* floor division of (t - origin) by stride: 64-bit when nothing can
     * overflow (always, for real timestamps), else exact in 128 bits */
    int64_t d64, r64;
    if (!__builtin_sub_overflow(t, origin, &d64)) {
        int64_t q = d64 / stride;
        if (d64 % stride < 0)
            q--;
        if (!__builtin_mul_overflow(q, stride, &r64) && !__builtin_add_overflow(r64, origin, &r64)) {
            *out = r64;
            return true;
        }
    }
    __int128 d = (__int128)t - origin;
    __int128 q = d / stride;
    if (d % stride < 0)
        q--;
    __int128 r = q * stride + origin;
    if (r < INT64_MIN || r > INT64_MAX)
        return false;
    *out = (int64_t)r;
    return true;
}

int64_t
plan_date_bin(int64_t t, int64_t stride, int64_t origin)
{
    int64_t r;
    return plan_date_bin_exact(t, stride, origin, &r) ? r : INT64_MIN;
}

bool
plan_date_trunc_calendar(const char *unit, int64_t t, int64_t *out)
{
    const int64_t day = 86400 * ST_NS_PER_SEC;
    int64_t days = t / day - (t % day < 0);
    int64_t y;
    unsigned m, d;
    st_civil_from_days(days, &y, &m, &d);
    if (strcmp(unit, "month") == 0)
        d = 1;
    else if (strcmp(unit, "quarter") == 0)
        m = (m - 1) / 3 * 3 + 1, d = 1;
    else if (strcmp(unit, "year") == 0)
        m = 1, d = 1;
    else
        return false;
    __int128 r = (__int128)st_days_from_civil(y, m, d) * day;
    if (r < INT64_MIN) {
        *out = INT64_MIN;
        return false;
    }
    *out = (int64_t)r;
    return true;
}

/* ---- strings --------------------------------------------------------------- */

static enum st_code
new_string(struct sql_arena *a, size_t n, char **out, uint32_t pos, struct st_error *err)
{
    if (n > UINT32_MAX / 2)
        return st_error_set_at(err, ST_ELIMIT, pos, "string result too long");
    *out = sql_arena_alloc(a, n + 1);
    if (!*out)
        return st_error_set_at(err, ST_ENOMEM, pos, "out of memory");
    return ST_OK;
}

static size_t
u8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Byte offset of the k-th character (0-based), or n. */
static size_t
u8_offset(const char *s, size_t n, int64_t k)
{
    size_t i = 0;
    while (k > 0 && i < n) {
        i += u8len((unsigned char)s[i]);
        k--;
    }
    return i < n ? i : n;
}

static enum st_code
set_str(struct plan_value *out, char *p, size_t n)
{
    p[n] = '\0';
    out->type = PT_STRING;
    out->is_null = false;
    out->v.s.p = p;
    out->v.s.len = (uint32_t)n;
    return ST_OK;
}

/* ---- the function table ------------------------------------------------------ */

enum st_code
plan_eval_fn(enum plan_fn fn, const struct plan_value *args, uint32_t n_args,
             enum plan_type rt, struct sql_arena *a, struct plan_value *out, uint32_t pos,
             struct st_error *err)
{
    /* functions that look at NULLs themselves */
    switch (fn) {
    case PF_COALESCE:
        for (uint32_t i = 0; i < n_args; i++)
            if (!args[i].is_null) {
                *out = args[i];
                out->type = rt;
                return ST_OK;
            }
        *out = v_null(rt);
        return ST_OK;
    case PF_NULLIF:
        if (args[0].is_null || (!args[1].is_null && plan_value_cmp(&args[0], &args[1]) == 0))
            *out = v_null(rt);
        else
            *out = args[0];
        return ST_OK;
    case PF_CONCAT_FN: {
        size_t n = 0;
        for (uint32_t i = 0; i < n_args; i++)
            if (!args[i].is_null)
                n += args[i].v.s.len;
        char *p;
        ST_TRY(new_string(a, n, &p, pos, err));
        size_t o = 0;
        for (uint32_t i = 0; i < n_args; i++)
            if (!args[i].is_null && args[i].v.s.len) {
                memcpy(p + o, args[i].v.s.p, args[i].v.s.len);
                o += args[i].v.s.len;
            }
        return set_str(out, p, n);
    }
    default:
        break;
    }
    for (uint32_t i = 0; i < n_args; i++)
        if (args[i].is_null) {
            *out = v_null(rt);
            return ST_OK;
        }
    out->type = rt;
    out->is_null = false;
    const struct plan_value *x = &args[0];
    switch (fn) {
    case PF_ADD:
    case PF_SUB:
    case PF_MUL:
    case PF_DIV:
    case PF_MOD:
        return arith(fn, &args[0], &args[1], rt, out, pos, err);
    case PF_NEG:
        switch (rt) {
        case PT_INT:
        case PT_INTERVAL:
            if (x->v.i == INT64_MIN)
                return overflow(pos, err);
            out->v.i = -x->v.i;
            return ST_OK;
        case PT_FLOAT:
            out->v.f = -x->v.f;
            return ST_OK;
        default:
            return st_error_set_at(err, ST_EINTERNAL, pos, "negation of %s", plan_type_name(rt));
        }
    case PF_CONCAT: {
        size_t n = (size_t)args[0].v.s.len + args[1].v.s.len;
        char *p;
        ST_TRY(new_string(a, n, &p, pos, err));
        if (args[0].v.s.len)
            memcpy(p, args[0].v.s.p, args[0].v.s.len);
        if (args[1].v.s.len)
            memcpy(p + args[0].v.s.len, args[1].v.s.p, args[1].v.s.len);
        return set_str(out, p, n);
    }
    case PF_EQ:
    case PF_NE:
    case PF_LT:
    case PF_LE:
    case PF_GT:
    case PF_GE:
        out->type = PT_BOOL;
        out->v.b = plan_cmp_holds(fn, plan_value_cmp(&args[0], &args[1]));
        return ST_OK;
    case PF_DATE_BIN:
        if (!plan_date_bin_exact(args[1].v.i, args[0].v.i, args[2].v.i, &out->v.i))
            return st_error_set_at(err, ST_EINVAL, pos,
                                   "date_bin(): the bucket start is outside the timestamp range");
        return ST_OK;
    case PF_DATE_TRUNC: {
        char unit[16];
        uint32_t n = args[0].v.s.len < 15 ? args[0].v.s.len : 15;
        memcpy(unit, args[0].v.s.p, n);
        unit[n] = '\0';
        if (!plan_date_trunc_calendar(unit, args[1].v.i, &out->v.i)) {
            int64_t dummy;
            if (!plan_date_trunc_calendar(unit, 0, &dummy))
                return st_error_set_at(err, ST_EINVAL, pos, "unknown date_trunc unit '%s'", unit);
            return st_error_set_at(err, ST_EINVAL, pos,
                                   "date_trunc(): the start of the %s is outside the timestamp "
                                   "range",
                                   unit);
        }
        return ST_OK;
    }
    case PF_ABS:
        switch (rt) {
        case PT_INT:
            if (x->v.i == INT64_MIN)
                return overflow(pos, err);
            out->v.i = x->v.i < 0 ? -x->v.i : x->v.i;
            return ST_OK;
        case PT_UINT:
            out->v.u = x->v.u;
            return ST_OK;
        default:
            out->v.f = fabs(x->v.f);
            return ST_OK;
        }
    case PF_CEIL:
    case PF_FLOOR:
    case PF_ROUND:
        if (rt != PT_FLOAT) {
            *out = *x;
            return ST_OK;
        }
        if (fn == PF_CEIL)
            out->v.f = ceil(x->v.f);
        else if (fn == PF_FLOOR)
            out->v.f = floor(x->v.f);
        else if (n_args == 2) {
            int64_t d = args[1].v.i;
            if (d > 15 || d < -15)
                return st_error_set_at(err, ST_EINVAL, pos,
                                       "round() digits must be between -15 and 15");
            double m = pow(10.0, (double)d);
            double r = round(x->v.f * m) / m;
            out->v.f = isfinite(r) ? r : x->v.f;
        } else
            out->v.f = round(x->v.f);
        return ST_OK;
    case PF_SQRT:
        if (x->v.f < 0)
            return st_error_set_at(err, ST_EINVAL, pos,
                                   "cannot take the square root of a negative number");
        out->v.f = sqrt(x->v.f);
        return ST_OK;
    case PF_LN:
    case PF_LOG10:
        if (x->v.f <= 0)
            return st_error_set_at(err, ST_EINVAL, pos,
                                   "cannot take the logarithm of zero or a negative number");
        out->v.f = fn == PF_LN ? log(x->v.f) : log10(x->v.f);
        return ST_OK;
    case PF_EXP:
        out->v.f = exp(x->v.f);
        return float_check(out->v.f, pos, err);
    case PF_POWER:
        if (x->v.f == 0.0 && args[1].v.f < 0)
            return div_zero(pos, err);
        if (x->v.f < 0 && args[1].v.f != floor(args[1].v.f))
            return st_error_set_at(err, ST_EINVAL, pos,
                                   "a negative number raised to a non-integer power");
        out->v.f = pow(x->v.f, args[1].v.f);
        return float_check(out->v.f, pos, err);
    case PF_LOWER:
    case PF_UPPER: {
        char *p;
        ST_TRY(new_string(a, x->v.s.len, &p, pos, err));
        for (uint32_t i = 0; i < x->v.s.len; i++) {
            char c = x->v.s.p[i];
            if (fn == PF_LOWER && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            else if (fn == PF_UPPER && c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            p[i] = c;
        }
        return set_str(out, p, x->v.s.len);
    }
    case PF_LENGTH:
        out->v.i = (int64_t)u8_count(x->v.s.p, x->v.s.len);
        return ST_OK;
    case PF_SUBSTR: {
        /* SQL semantics: characters [start, start + len), 1-based, start may be < 1 */
        int64_t start = args[1].v.i, len = INT64_MAX;
        if (n_args == 3) {
            len = args[2].v.i;
            if (len < 0)
                return st_error_set_at(err, ST_EINVAL, pos,
                                       "negative substring length not allowed");
        }
        int64_t end;
        if (__builtin_add_overflow(start, len, &end))
            end = INT64_MAX;
        if (start < 1)
            start = 1;
        size_t b0 = 0, b1 = 0;
        if (end > start) {
            b0 = u8_offset(x->v.s.p, x->v.s.len, start - 1);
            b1 = end == INT64_MAX ? x->v.s.len
                                  : b0 + u8_offset(x->v.s.p + b0, x->v.s.len - b0, end - start);
        }
        out->v.s.p = x->v.s.p + b0;
        out->v.s.len = (uint32_t)(b1 - b0);
        return ST_OK;
    }
    case PF_TRIM: {
        uint32_t n;
        const char *p = x->v.s.p, *q;
        n = x->v.s.len;
        while (n && *p == ' ')
            p++, n--;
        q = p;
        while (n && q[n - 1] == ' ')
            n--;
        out->v.s.p = q;
        out->v.s.len = n;
        return ST_OK;
    }
    case PF_REPLACE: {
        const struct plan_value *from = &args[1], *to = &args[2];
        if (from->v.s.len == 0) {
            *out = *x;
            return ST_OK;
        }
        size_t count = 0;
        for (uint32_t i = 0; i + from->v.s.len <= x->v.s.len;) {
            if (memcmp(x->v.s.p + i, from->v.s.p, from->v.s.len) == 0) {
                count++;
                i += from->v.s.len;
            } else {
                i++;
            }
        }
        size_t n = x->v.s.len + count * to->v.s.len - count * from->v.s.len;
        char *p;
        ST_TRY(new_string(a, n, &p, pos, err));
        size_t o = 0;
        for (uint32_t i = 0; i < x->v.s.len;) {
            if (i + from->v.s.len <= x->v.s.len &&
                memcmp(x->v.s.p + i, from->v.s.p, from->v.s.len) == 0) {
                if (to->v.s.len)
                    memcpy(p + o, to->v.s.p, to->v.s.len);
                o += to->v.s.len;
                i += from->v.s.len;
            } else {
                p[o++] = x->v.s.p[i++];
            }
        }
        return set_str(out, p, n);
    }
    default:
        return st_error_set_at(err, ST_EINTERNAL, pos, "function %d has no scalar form", (int)fn);
    }
}
