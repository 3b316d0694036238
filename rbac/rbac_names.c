/*
 * rbac_names.c: the naming rules (tenants, databases, tokens, OIDC subjects),
 * the names of the module's enums as they appear in audit lines, principal
 * storage, and small string helpers. Tenant and database names are plain
 * ASCII identifiers so that no path, URL, SQL or Unicode trick (`..`, `/`,
 * `%2e`, homoglyphs, zero-width or bidi characters) can reach storage or
 * logs, and no normalisation can fold one name into another.
 */
#include "rbac_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
rbac__strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *
rbac__strdup(const char *s)
{
    return rbac__strndup(s, strlen(s));
}

void
rbac__copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool
ident_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return !first && (c == '_' || c == '-');
}

enum st_code
rbac_name_check(enum rbac_name_kind kind, const char *name, size_t len, struct st_error *err)
{
    const char *what;
    switch (kind) {
    case RBAC_NAME_TENANT:
    case RBAC_NAME_DATABASE:
        what = kind == RBAC_NAME_TENANT ? "tenant" : "database";
        if (!name || len == 0)
            return st_error_set(err, ST_EINVAL, "%s name is empty", what);
        if (len > RBAC_NAME_MAX)
            return st_error_set(err, ST_EINVAL, "%s name is longer than %d bytes", what,
                                RBAC_NAME_MAX);
        for (size_t i = 0; i < len; i++) {
            if (!ident_char(name[i], i == 0))
                return st_error_set_at(err, ST_EINVAL, (int64_t)i,
                                       "%s name may contain only A-Z a-z 0-9 _ - and must start "
                                       "with a letter or digit (byte %zu)",
                                       what, i);
            /* "--" is reserved: the gateway joins tenant and database with it to name
             * storage, and no name may contain the separator */
            if (i > 0 && name[i] == '-' && name[i - 1] == '-')
                return st_error_set_at(err, ST_EINVAL, (int64_t)i - 1,
                                       "%s name may not contain \"--\" (byte %zu)", what, i - 1);
        }
        return ST_OK;
    case RBAC_NAME_TOKEN:
        if (!name || len == 0)
            return st_error_set(err, ST_EINVAL, "token name is empty");
        if (len > RBAC_TOKEN_NAME_MAX)
            return st_error_set(err, ST_EINVAL, "token name is longer than %d bytes",
                                RBAC_TOKEN_NAME_MAX);
        if (name[0] == ' ' || name[len - 1] == ' ')
            return st_error_set(err, ST_EINVAL, "token name starts or ends with a space");
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
                return st_error_set_at(err, ST_EINVAL, (int64_t)i,
                                       "token name may contain only printable ASCII (byte %zu)",
                                       i);
        return ST_OK;
    case RBAC_NAME_SUBJECT:
        if (!name || len == 0)
            return st_error_set(err, ST_EINVAL, "subject is empty");
        if (len > RBAC_SUBJECT_MAX)
            return st_error_set(err, ST_EINVAL, "subject is longer than %d bytes",
                                RBAC_SUBJECT_MAX);
        if (memchr(name, '\0', len) || !rbac__text_ok(name, len))
            return st_error_set(err, ST_EINVAL,
                                "subject is not UTF-8 text free of control characters");
        return ST_OK;
    }
    return st_error_set(err, ST_EINVAL, "unknown name kind");
}

/* ---- enum names ---- */

static const char *const priv_names[RBAC_PRIV__COUNT] = {
    [RBAC_PRIV_HEALTH] = "health",           [RBAC_PRIV_WHOAMI] = "whoami",
    [RBAC_PRIV_QUERY] = "query",             [RBAC_PRIV_WRITE] = "write",
    [RBAC_PRIV_DB_LIST] = "db_list",         [RBAC_PRIV_DB_CREATE] = "db_create",
    [RBAC_PRIV_DB_DELETE] = "db_delete",     [RBAC_PRIV_TOKEN_CREATE] = "token_create",
    [RBAC_PRIV_TOKEN_LIST] = "token_list",   [RBAC_PRIV_TOKEN_REVOKE] = "token_revoke",
    [RBAC_PRIV_ROLE_GRANT] = "role_grant",   [RBAC_PRIV_ROLE_LIST] = "role_list",
    [RBAC_PRIV_AUDIT_READ] = "audit_read",   [RBAC_PRIV_TENANT_ADMIN] = "tenant_admin",
    [RBAC_PRIV_METRICS] = "metrics",         [RBAC_PRIV_KEY_ROTATE] = "key_rotate",
    [RBAC_PRIV_DB_VERIFY] = "db_verify",     [RBAC_PRIV_VERIFY_ALL] = "verify_all",
};

static const enum rbac_scope priv_scopes[RBAC_PRIV__COUNT] = {
    [RBAC_PRIV_HEALTH] = RBAC_SCOPE_NONE,
    [RBAC_PRIV_WHOAMI] = RBAC_SCOPE_NONE,
    [RBAC_PRIV_QUERY] = RBAC_SCOPE_DATABASE,
    [RBAC_PRIV_WRITE] = RBAC_SCOPE_DATABASE,
    [RBAC_PRIV_DB_LIST] = RBAC_SCOPE_TENANT,
    [RBAC_PRIV_DB_CREATE] = RBAC_SCOPE_TENANT,
    [RBAC_PRIV_DB_DELETE] = RBAC_SCOPE_DATABASE,
    [RBAC_PRIV_TOKEN_CREATE] = RBAC_SCOPE_DB_OR_TENANT,
    [RBAC_PRIV_TOKEN_LIST] = RBAC_SCOPE_DB_OR_TENANT,
    [RBAC_PRIV_TOKEN_REVOKE] = RBAC_SCOPE_DB_OR_TENANT,
    [RBAC_PRIV_ROLE_GRANT] = RBAC_SCOPE_DB_OR_TENANT,
    [RBAC_PRIV_ROLE_LIST] = RBAC_SCOPE_DB_OR_TENANT,
    [RBAC_PRIV_AUDIT_READ] = RBAC_SCOPE_TENANT,
    [RBAC_PRIV_TENANT_ADMIN] = RBAC_SCOPE_CLUSTER,
    [RBAC_PRIV_METRICS] = RBAC_SCOPE_CLUSTER,
    [RBAC_PRIV_KEY_ROTATE] = RBAC_SCOPE_CLUSTER,
    [RBAC_PRIV_DB_VERIFY] = RBAC_SCOPE_DB_OR_TENANT,
    [RBAC_PRIV_VERIFY_ALL] = RBAC_SCOPE_CLUSTER,
};

const char *
rbac_priv_name(enum rbac_priv priv)
{
    if ((unsigned)priv >= RBAC_PRIV__COUNT)
        return "unknown";
    return priv_names[priv];
}

enum rbac_scope
rbac_priv_scope(enum rbac_priv priv)
{
    if ((unsigned)priv >= RBAC_PRIV__COUNT)
        return RBAC_SCOPE_CLUSTER;
    return priv_scopes[priv];
}

const char *
rbac_reason_name(enum rbac_reason r)
{
    switch (r) {
    case RBAC_OK: return "ok";
    case RBAC_DENY_UNAUTHENTICATED: return "unauthenticated";
    case RBAC_DENY_REVOKED: return "revoked";
    case RBAC_DENY_TENANT: return "other_tenant";
    case RBAC_DENY_NO_GRANT: return "no_grant";
    case RBAC_DENY_PRIVILEGE: return "privilege";
    case RBAC_DENY_NO_DATA: return "no_data_access";
    case RBAC_DENY_MFA: return "mfa_required";
    case RBAC_DENY_ESCALATION: return "escalation";
    case RBAC_DENY_LAST_OWNER: return "last_owner";
    case RBAC_DENY_INVALID: return "invalid";
    case RBAC_DENY_NOT_FOUND: return "not_found";
    case RBAC_DENY_EXISTS: return "exists";
    case RBAC_DENY_NOT_EMPTY: return "not_empty";
    }
    return "unknown";
}

const char *
rbac_auth_reason_name(enum rbac_auth_reason r)
{
    switch (r) {
    case RBAC_AUTH_OK: return "ok";
    case RBAC_AUTH_MALFORMED: return "malformed";
    case RBAC_AUTH_TOO_LARGE: return "too_large";
    case RBAC_AUTH_UNKNOWN: return "unknown_credential";
    case RBAC_AUTH_EXPIRED: return "expired";
    case RBAC_AUTH_HEADER: return "jws_header";
    case RBAC_AUTH_KEY: return "no_key";
    case RBAC_AUTH_SIGNATURE: return "signature";
    case RBAC_AUTH_CLAIMS: return "claims";
    case RBAC_AUTH_MFA: return "mfa_required";
    case RBAC_AUTH_INTERNAL: return "internal";
    }
    return "unknown";
}

const char *
rbac_authz_reason_name(enum rbac_authz_reason r)
{
    switch (r) {
    case RBAC_AUTHZ_OK: return "ok";
    case RBAC_AUTHZ_MISSING: return "missing";
    case RBAC_AUTHZ_MULTIPLE: return "multiple";
    case RBAC_AUTHZ_TOO_LARGE: return "too_large";
    case RBAC_AUTHZ_MALFORMED: return "malformed";
    case RBAC_AUTHZ_SCHEME: return "scheme";
    case RBAC_AUTHZ_CHARSET: return "charset";
    case RBAC_AUTHZ_BASIC: return "basic";
    case RBAC_AUTHZ_UNRECOGNISED: return "unrecognised";
    }
    return "unknown";
}

const char *
rbac_principal_kind_name(enum rbac_principal_kind k)
{
    switch (k) {
    case RBAC_PRINCIPAL_NONE: return "none";
    case RBAC_PRINCIPAL_OPERATOR: return "operator";
    case RBAC_PRINCIPAL_MANAGEMENT: return "management";
    case RBAC_PRINCIPAL_DATABASE: return "database";
    case RBAC_PRINCIPAL_USER: return "user";
    }
    return "unknown";
}

char
rbac__token_kind_letter(enum rbac_token_kind k)
{
    return k == RBAC_TOKEN_OPERATOR ? 'o' : k == RBAC_TOKEN_MANAGEMENT ? 'm' : 'd';
}

enum rbac_principal_kind
rbac__principal_kind(enum rbac_token_kind k)
{
    return k == RBAC_TOKEN_OPERATOR     ? RBAC_PRINCIPAL_OPERATOR
           : k == RBAC_TOKEN_MANAGEMENT ? RBAC_PRINCIPAL_MANAGEMENT
                                        : RBAC_PRINCIPAL_DATABASE;
}

const char *
rbac__token_kind_name(enum rbac_token_kind k)
{
    return k == RBAC_TOKEN_OPERATOR ? "operator"
           : k == RBAC_TOKEN_MANAGEMENT ? "management"
                                        : "database";
}

int
rbac__token_kind_parse(const char *s, enum rbac_token_kind *out)
{
    if (strcmp(s, "operator") == 0)
        *out = RBAC_TOKEN_OPERATOR;
    else if (strcmp(s, "management") == 0)
        *out = RBAC_TOKEN_MANAGEMENT;
    else if (strcmp(s, "database") == 0)
        *out = RBAC_TOKEN_DATABASE;
    else
        return -1;
    return 0;
}

const char *
rbac__subject_kind_name(enum rbac_subject_kind k)
{
    return k == RBAC_SUBJECT_USER ? "user" : k == RBAC_SUBJECT_GROUP ? "group" : "token";
}

/* ---- principals ---- */

void
rbac_principal_init(struct rbac_principal *p)
{
    memset(p, 0, sizeof *p);
}

void
rbac_principal_cleanup(struct rbac_principal *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_groups; i++)
        free(p->groups[i]);
    free(p->groups);
    memset(p, 0, sizeof *p);
}

enum rbac_reason
rbac__decide(struct rbac_decision *why, enum rbac_reason r, const char *fmt, ...)
{
    if (why) {
        why->reason = r;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->text, sizeof why->text, fmt, ap);
        va_end(ap);
    }
    return r;
}

void
rbac_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
