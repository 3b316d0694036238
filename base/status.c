/*
 * status.c: names and descriptions of the status codes, and the error buffer
 * helpers. See strata/status.h for the conventions.
 */
#include "strata/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
} code_info[ST__COUNT] = {
    [ST_OK] = {"OK", "success"},
    [ST_ENOMEM] = {"ENOMEM", "out of memory"},
    [ST_EINVAL] = {"EINVAL", "invalid argument"},
    [ST_EPARSE] = {"EPARSE", "parse error"},
    [ST_EBIND] = {"EBIND", "unknown table or column"},
    [ST_ETYPE] = {"ETYPE", "type mismatch"},
    [ST_ENOTFOUND] = {"ENOTFOUND", "not found"},
    [ST_EEXISTS] = {"EEXISTS", "already exists"},
    [ST_EUNAUTHENTICATED] = {"EUNAUTHENTICATED", "unauthenticated"},
    [ST_EPERMISSION] = {"EPERMISSION", "permission denied"},
    [ST_ELIMIT] = {"ELIMIT", "limit exceeded"},
    [ST_EIO] = {"EIO", "i/o error"},
    [ST_ECORRUPT] = {"ECORRUPT", "data corruption detected"},
    [ST_ECANCELLED] = {"ECANCELLED", "cancelled"},
    [ST_ETIMEOUT] = {"ETIMEOUT", "deadline exceeded"},
    [ST_EAGAIN] = {"EAGAIN", "temporarily unavailable"},
    [ST_EUNSUPPORTED] = {"EUNSUPPORTED", "not supported"},
    [ST_EINTERNAL] = {"EINTERNAL", "internal error"},
    [ST_EPARTIAL] = {"EPARTIAL", "partially applied"},
    [ST_EPRECONDITION] = {"EPRECONDITION", "failed precondition"},
    [ST_ECRYPTO] = {"ECRYPTO", "cryptographic check failed"},
    [ST_ESHUTDOWN] = {"ESHUTDOWN", "shutting down"},
};

const char *
st_code_name(enum st_code code)
{
    if ((unsigned)code >= ST__COUNT || !code_info[code].name)
        return "EUNKNOWN";
    return code_info[code].name;
}

const char *
st_strerror(enum st_code code)
{
    if ((unsigned)code >= ST__COUNT || !code_info[code].text)
        return "unknown error";
    return code_info[code].text;
}

void
st_error_clear(struct st_error *err)
{
    if (!err)
        return;
    err->code = ST_OK;
    err->offset = -1;
    err->msg[0] = '\0';
}

static enum st_code
error_vset(struct st_error *err, enum st_code code, int64_t offset, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    err->offset = offset;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

enum st_code
st_error_set(struct st_error *err, enum st_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, code, -1, fmt, ap);
    va_end(ap);
    return code;
}

enum st_code
st_error_set_at(struct st_error *err, enum st_code code, int64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, code, offset, fmt, ap);
    va_end(ap);
    return code;
}

void
st_error_prefix(struct st_error *err, const char *fmt, ...)
{
    char prefix[ST_ERROR_MSG_MAX];
    char old[ST_ERROR_MSG_MAX];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s%s", prefix, old);
}
