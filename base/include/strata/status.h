/*
 * status.h: the one error currency of Strata.
 *
 * Every fallible function returns an `enum st_code` and takes a NULL-safe
 * `struct st_error *` as its last argument. The message is defined only when
 * a non-OK code is returned. `offset` is the byte position in the input that
 * caused the error (SQL text, line protocol line, JSON document), or -1.
 *
 * The enum is append-only: values are never renumbered or reused, because
 * they travel on the wire (gRPC trailing metadata) and become CLI exit codes.
 * Keep every value below 126. The gateway maps codes to gRPC and HTTP status
 * in exactly one table each (gateway/status_map.c).
 *
 * Messages follow one style: lower case, no trailing period, say what failed
 * and on which quoted name, never contain a secret.
 */
#ifndef STRATA_STATUS_H
#define STRATA_STATUS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum st_code {
    ST_OK = 0,
    ST_ENOMEM = 1,          /* allocation failed */
    ST_EINVAL = 2,          /* invalid argument or configuration */
    ST_EPARSE = 3,          /* malformed input text (SQL, line protocol, JSON) */
    ST_EBIND = 4,           /* unknown table or column in a query */
    ST_ETYPE = 5,           /* type mismatch or schema conflict */
    ST_ENOTFOUND = 6,       /* named object does not exist */
    ST_EEXISTS = 7,         /* named object already exists */
    ST_EUNAUTHENTICATED = 8, /* no valid credential */
    ST_EPERMISSION = 9,     /* authenticated, not allowed */
    ST_ELIMIT = 10,         /* a configured limit was exceeded */
    ST_EIO = 11,            /* operating system I/O error */
    ST_ECORRUPT = 12,       /* checksum or format violation in stored data */
    ST_ECANCELLED = 13,     /* cancelled by the caller */
    ST_ETIMEOUT = 14,       /* deadline exceeded */
    ST_EAGAIN = 15,         /* temporarily unavailable, retry */
    ST_EUNSUPPORTED = 16,   /* valid but not supported */
    ST_EINTERNAL = 17,      /* a bug: invariant broken */
    ST_EPARTIAL = 18,       /* some items of a batch were rejected */
    ST_EPRECONDITION = 19,  /* refused to break an invariant (last owner) */
    ST_ECRYPTO = 20,        /* key missing, wrong key, authentication tag mismatch */
    ST_ESHUTDOWN = 21,      /* the service is shutting down */
    ST__COUNT               /* not a code: number of codes */
};

#define ST_ERROR_MSG_MAX 512

struct st_error {
    enum st_code code;
    int64_t offset;             /* byte offset in the input, or -1 */
    char msg[ST_ERROR_MSG_MAX]; /* NUL-terminated */
};

/* Symbolic name of a code ("EPARSE"); never NULL. */
const char *st_code_name(enum st_code code);

/* Short human description of a code ("parse error"); never NULL. */
const char *st_strerror(enum st_code code);

/* Reset an error buffer to OK. NULL-safe. */
void st_error_clear(struct st_error *err);

/*
 * Record an error and return `code`, so callers can write
 *     return st_error_set(err, ST_EPARSE, "unexpected %s", tok);
 * NULL-safe. The offset is set to -1.
 */
enum st_code st_error_set(struct st_error *err, enum st_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As st_error_set, with a byte offset into the input. */
enum st_code st_error_set_at(struct st_error *err, enum st_code code, int64_t offset,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prepend context ("opening wal: ") to an existing message. NULL-safe. */
void st_error_prefix(struct st_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Return early on any non-OK code. */
#define ST_TRY(expr)                                                                               \
    do {                                                                                           \
        enum st_code st_try_rc_ = (expr);                                                          \
        if (st_try_rc_ != ST_OK)                                                                   \
            return st_try_rc_;                                                                     \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
