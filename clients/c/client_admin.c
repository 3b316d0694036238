/*
 * client_admin.c: the administration calls of libstrata, one per RPC of
 * strata.v1.AdminService (proto/strata/v1/admin.proto): databases, tokens,
 * roles, whoami, permission dry runs and audit reads. Each packs its
 * request, makes one unary call and copies the reply into caller-owned C
 * structs, so no protobuf type leaks into client.h. The semantics (who may
 * do what) are the server's; this file only moves the fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "strata/v1/admin.pb-c.h"

#define ADMIN "/strata.v1.AdminService/"

/* Copies with a sticky out-of-memory flag, checked once at the end. */
static char *
dup_s(bool *oom, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) *oom = true;
    return d;
}

static void *
calloc_n(bool *oom, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) *oom = true;
    return p;
}

static enum st_code
oom_error(struct st_error *err)
{
    return st_error_set(err, ST_ENOMEM, "copying a reply");
}

/* ---- names ------------------------------------------------------------------- */

const char *
strata_token_kind_name(enum strata_token_kind k)
{
    switch (k) {
    case STRATA_TOKEN_DATABASE:
        return "database";
    case STRATA_TOKEN_MANAGEMENT:
        return "management";
    case STRATA_TOKEN_OPERATOR:
        return "operator";
    default:
        return "unspecified";
    }
}

const char *
strata_principal_kind_name(enum strata_principal_kind k)
{
    switch (k) {
    case STRATA_PRINCIPAL_USER:
        return "user";
    case STRATA_PRINCIPAL_GROUP:
        return "group";
    case STRATA_PRINCIPAL_TOKEN:
        return "token";
    default:
        return "none";
    }
}

static enum strata_token_kind
kind_from(Strata__V1__TokenKind k)
{
    switch (k) {
    case STRATA__V1__TOKEN_KIND__TOKEN_KIND_DATABASE:
        return STRATA_TOKEN_DATABASE;
    case STRATA__V1__TOKEN_KIND__TOKEN_KIND_MANAGEMENT:
        return STRATA_TOKEN_MANAGEMENT;
    case STRATA__V1__TOKEN_KIND__TOKEN_KIND_OPERATOR:
        return STRATA_TOKEN_OPERATOR;
    default:
        return STRATA_TOKEN_UNSPECIFIED;
    }
}

static Strata__V1__TokenKind
kind_to(enum strata_token_kind k)
{
    switch (k) {
    case STRATA_TOKEN_DATABASE:
        return STRATA__V1__TOKEN_KIND__TOKEN_KIND_DATABASE;
    case STRATA_TOKEN_MANAGEMENT:
        return STRATA__V1__TOKEN_KIND__TOKEN_KIND_MANAGEMENT;
    case STRATA_TOKEN_OPERATOR:
        return STRATA__V1__TOKEN_KIND__TOKEN_KIND_OPERATOR;
    default:
        return STRATA__V1__TOKEN_KIND__TOKEN_KIND_UNSPECIFIED;
    }
}

/* ---- shared conversions ------------------------------------------------------ */

static void
principal_to(const struct strata_principal *p, Strata__V1__Principal *out)
{
    strata__v1__principal__init(out);
    if (!p) return;
    switch (p->kind) {
    case STRATA_PRINCIPAL_USER:
        out->kind_case = STRATA__V1__PRINCIPAL__KIND_USER;
        out->user = (char *)(p->name ? p->name : "");
        break;
    case STRATA_PRINCIPAL_GROUP:
        out->kind_case = STRATA__V1__PRINCIPAL__KIND_GROUP;
        out->group = (char *)(p->name ? p->name : "");
        break;
    case STRATA_PRINCIPAL_TOKEN:
        out->kind_case = STRATA__V1__PRINCIPAL__KIND_TOKEN_ID;
        out->token_id = (char *)(p->name ? p->name : "");
        break;
    default:
        break;
    }
}

static void
principal_from(bool *oom, const Strata__V1__Principal *p, struct strata_principal *out)
{
    out->kind = STRATA_PRINCIPAL_NONE;
    const char *name = "";
    if (p) {
        switch (p->kind_case) {
        case STRATA__V1__PRINCIPAL__KIND_USER:
            out->kind = STRATA_PRINCIPAL_USER;
            name = p->user;
            break;
        case STRATA__V1__PRINCIPAL__KIND_GROUP:
            out->kind = STRATA_PRINCIPAL_GROUP;
            name = p->group;
            break;
        case STRATA__V1__PRINCIPAL__KIND_TOKEN_ID:
            out->kind = STRATA_PRINCIPAL_TOKEN;
            name = p->token_id;
            break;
        default:
            break;
        }
    }
    out->name = dup_s(oom, name);
}

static void
permissions_from(bool *oom, Strata__V1__DatabasePermission **in, size_t n,
                 struct strata_permission **out, size_t *n_out)
{
    *out = calloc_n(oom, n, sizeof **out);
    *n_out = 0;
    if (!*out) return;
    for (size_t i = 0; i < n; i++) {
        (*out)[i].database = dup_s(oom, in[i]->database);
        (*out)[i].read = in[i]->read;
        (*out)[i].write = in[i]->write;
    }
    *n_out = n;
}

static void
permissions_free(struct strata_permission *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free((char *)p[i].database);
    free(p);
}

static void
token_from(bool *oom, const Strata__V1__TokenInfo *t, struct strata_token *out)
{
    memset(out, 0, sizeof *out);
    if (!t) {
        /* an absent token: every string empty */
        out->id = dup_s(oom, "");
        out->name = dup_s(oom, "");
        out->created_by = dup_s(oom, "");
        out->description = dup_s(oom, "");
        out->hint = dup_s(oom, "");
        return;
    }
    out->id = dup_s(oom, t->id);
    out->name = dup_s(oom, t->name);
    out->kind = kind_from(t->kind);
    permissions_from(oom, t->permissions, t->n_permissions, &out->permissions, &out->n_permissions);
    out->created_at_ns = t->created_at_ns;
    out->expires_at_ns = t->expires_at_ns;
    out->revoked = t->revoked;
    out->revoked_at_ns = t->revoked_at_ns;
    out->rotated_at_ns = t->rotated_at_ns;
    out->created_by = dup_s(oom, t->created_by);
    out->description = dup_s(oom, t->description);
    out->hint = dup_s(oom, t->hint);
}

void
strata_token_cleanup(struct strata_token *t)
{
    if (!t) return;
    free(t->id);
    free(t->name);
    permissions_free(t->permissions, t->n_permissions);
    free(t->created_by);
    free(t->description);
    free(t->hint);
    memset(t, 0, sizeof *t);
}

void
strata_token_list_free(struct strata_token *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        strata_token_cleanup(&v[i]);
    free(v);
}

static void
binding_from(bool *oom, const Strata__V1__RoleBinding *b, struct strata_role_binding *out)
{
    out->database = dup_s(oom, b->database);
    out->role = dup_s(oom, b->role);
    principal_from(oom, b->principal, &out->principal);
    out->granted_at_ns = b->granted_at_ns;
    out->granted_by = dup_s(oom, b->granted_by);
}

static void
binding_cleanup(struct strata_role_binding *b)
{
    free(b->database);
    free(b->role);
    free((char *)b->principal.name);
    free(b->granted_by);
}

void
strata_role_list_free(struct strata_role_binding *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        binding_cleanup(&v[i]);
    free(v);
}

/* Wipe and free a secret copied out of a reply. */
static char *
take_secret(bool *oom, char *s)
{
    char *d = dup_s(oom, s);
    if (s) memset(s, 0, strlen(s));
    return d;
}

/* ---- databases --------------------------------------------------------------- */

enum st_code
strata_database_create(struct strata *c, const char *name, struct st_error *err)
{
    Strata__V1__CreateDatabaseRequest req = STRATA__V1__CREATE_DATABASE_REQUEST__INIT;
    ProtobufCMessage *resp;
    req.name = (char *)(name ? name : "");
    ST_TRY(strata__unary(c, ADMIN "CreateDatabase", &req.base,
                         &strata__v1__create_database_response__descriptor, &resp, err));
    protobuf_c_message_free_unpacked(resp, NULL);
    return ST_OK;
}

enum st_code
strata_database_delete(struct strata *c, const char *name, struct st_error *err)
{
    Strata__V1__DeleteDatabaseRequest req = STRATA__V1__DELETE_DATABASE_REQUEST__INIT;
    ProtobufCMessage *resp;
    req.name = (char *)(name ? name : "");
    ST_TRY(strata__unary(c, ADMIN "DeleteDatabase", &req.base,
                         &strata__v1__delete_database_response__descriptor, &resp, err));
    protobuf_c_message_free_unpacked(resp, NULL);
    return ST_OK;
}

enum st_code
strata_database_list(struct strata *c, struct strata_database **out, size_t *n,
                     struct st_error *err)
{
    Strata__V1__ListDatabasesRequest req = STRATA__V1__LIST_DATABASES_REQUEST__INIT;
    ProtobufCMessage *resp;
    bool oom = false;
    *out = NULL;
    *n = 0;
    ST_TRY(strata__unary(c, ADMIN "ListDatabases", &req.base,
                         &strata__v1__list_databases_response__descriptor, &resp, err));
    Strata__V1__ListDatabasesResponse *r = (Strata__V1__ListDatabasesResponse *)resp;
    struct strata_database *v = calloc_n(&oom, r->n_databases, sizeof *v);
    for (size_t i = 0; v && i < r->n_databases; i++) {
        v[i].name = dup_s(&oom, r->databases[i]->name);
        v[i].created_at_ns = r->databases[i]->created_at_ns;
        v[i].created_by = dup_s(&oom, r->databases[i]->created_by);
    }
    size_t count = r->n_databases;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_database_list_free(v, v ? count : 0);
        return oom_error(err);
    }
    *out = v;
    *n = count;
    return ST_OK;
}

void
strata_database_list_free(struct strata_database *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].created_by);
    }
    free(v);
}

/* ---- tokens ------------------------------------------------------------------ */

enum st_code
strata_token_create(struct strata *c, const struct strata_token_spec *spec,
                    struct strata_token *out, char **secret, struct st_error *err)
{
    Strata__V1__CreateTokenRequest req = STRATA__V1__CREATE_TOKEN_REQUEST__INIT;
    ProtobufCMessage *resp;
    bool oom = false;
    memset(out, 0, sizeof *out);
    *secret = NULL;
    req.name = (char *)(spec->name ? spec->name : "");
    req.kind = kind_to(spec->kind);
    req.expires_in_seconds = spec->expires_in_s;
    req.description = (char *)(spec->description ? spec->description : "");
    Strata__V1__DatabasePermission *perms = NULL, **pp = NULL;
    if (spec->n_permissions) {
        perms = calloc(spec->n_permissions, sizeof *perms);
        pp = calloc(spec->n_permissions, sizeof *pp);
        if (!perms || !pp) {
            free(perms);
            free(pp);
            return st_error_set(err, ST_ENOMEM, "packing a token request");
        }
        for (size_t i = 0; i < spec->n_permissions; i++) {
            strata__v1__database_permission__init(&perms[i]);
            perms[i].database =
                (char *)(spec->permissions[i].database ? spec->permissions[i].database : "");
            perms[i].read = spec->permissions[i].read;
            perms[i].write = spec->permissions[i].write;
            pp[i] = &perms[i];
        }
        req.n_permissions = spec->n_permissions;
        req.permissions = pp;
    }
    enum st_code rc = strata__unary(c, ADMIN "CreateToken", &req.base,
                                    &strata__v1__create_token_response__descriptor, &resp, err);
    free(perms);
    free(pp);
    ST_TRY(rc);
    Strata__V1__CreateTokenResponse *r = (Strata__V1__CreateTokenResponse *)resp;
    token_from(&oom, r->token, out);
    *secret = take_secret(&oom, r->secret);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_token_cleanup(out);
        free(*secret);
        *secret = NULL;
        return oom_error(err);
    }
    return ST_OK;
}

enum st_code
strata_token_list(struct strata *c, bool include_revoked, const char *database,
                  struct strata_token **out, size_t *n, struct st_error *err)
{
    Strata__V1__ListTokensRequest req = STRATA__V1__LIST_TOKENS_REQUEST__INIT;
    ProtobufCMessage *resp;
    bool oom = false;
    *out = NULL;
    *n = 0;
    req.include_revoked = include_revoked;
    req.database = (char *)(database ? database : "");
    ST_TRY(strata__unary(c, ADMIN "ListTokens", &req.base,
                         &strata__v1__list_tokens_response__descriptor, &resp, err));
    Strata__V1__ListTokensResponse *r = (Strata__V1__ListTokensResponse *)resp;
    struct strata_token *v = calloc_n(&oom, r->n_tokens, sizeof *v);
    size_t count = r->n_tokens;
    for (size_t i = 0; v && i < count; i++)
        token_from(&oom, r->tokens[i], &v[i]);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_token_list_free(v, v ? count : 0);
        return oom_error(err);
    }
    *out = v;
    *n = count;
    return ST_OK;
}

enum st_code
strata_token_revoke(struct strata *c, const char *id, const char *name, struct strata_token *out,
                    struct st_error *err)
{
    Strata__V1__RevokeTokenRequest req = STRATA__V1__REVOKE_TOKEN_REQUEST__INIT;
    ProtobufCMessage *resp;
    bool oom = false;
    if (out) memset(out, 0, sizeof *out);
    if ((!id || !*id) && (!name || !*name))
        return st_error_set(err, ST_EINVAL, "name the token to revoke by id or by name");
    req.id = (char *)(id ? id : "");
    req.name = (char *)(name ? name : "");
    ST_TRY(strata__unary(c, ADMIN "RevokeToken", &req.base,
                         &strata__v1__revoke_token_response__descriptor, &resp, err));
    if (out) token_from(&oom, ((Strata__V1__RevokeTokenResponse *)resp)->token, out);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_token_cleanup(out);
        return oom_error(err);
    }
    return ST_OK;
}

enum st_code
strata_token_rotate(struct strata *c, const char *id, const char *name, uint64_t expires_in_s,
                    struct strata_token *out, char **secret, struct st_error *err)
{
    Strata__V1__RotateTokenRequest req = STRATA__V1__ROTATE_TOKEN_REQUEST__INIT;
    ProtobufCMessage *resp;
    bool oom = false;
    memset(out, 0, sizeof *out);
    *secret = NULL;
    if ((!id || !*id) && (!name || !*name))
        return st_error_set(err, ST_EINVAL, "name the token to rotate by id or by name");
    req.id = (char *)(id ? id : "");
    req.name = (char *)(name ? name : "");
    req.expires_in_seconds = expires_in_s;
    ST_TRY(strata__unary(c, ADMIN "RotateToken", &req.base,
                         &strata__v1__rotate_token_response__descriptor, &resp, err));
    Strata__V1__RotateTokenResponse *r = (Strata__V1__RotateTokenResponse *)resp;
    token_from(&oom, r->token, out);
    *secret = take_secret(&oom, r->secret);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_token_cleanup(out);
        free(*secret);
        *secret = NULL;
        return oom_error(err);
    }
    return ST_OK;
}

/* ---- roles ------------------------------------------------------------------- */

static enum st_code
role_change(struct strata *c, bool grant, const char *database, const char *role,
            const struct strata_principal *who, struct st_error *err)
{
    Strata__V1__Principal p;
    ProtobufCMessage *resp;
    if (!who || who->kind == STRATA_PRINCIPAL_NONE || !who->name || !*who->name)
        return st_error_set(err, ST_EINVAL, "a role change needs a user, a group or a token");
    principal_to(who, &p);
    if (grant) {
        Strata__V1__GrantRoleRequest req = STRATA__V1__GRANT_ROLE_REQUEST__INIT;
        req.database = (char *)(database ? database : "");
        req.role = (char *)(role ? role : "");
        req.principal = &p;
        ST_TRY(strata__unary(c, ADMIN "GrantRole", &req.base,
                             &strata__v1__grant_role_response__descriptor, &resp, err));
    } else {
        Strata__V1__RevokeRoleRequest req = STRATA__V1__REVOKE_ROLE_REQUEST__INIT;
        req.database = (char *)(database ? database : "");
        req.role = (char *)(role ? role : "");
        req.principal = &p;
        ST_TRY(strata__unary(c, ADMIN "RevokeRole", &req.base,
                             &strata__v1__revoke_role_response__descriptor, &resp, err));
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return ST_OK;
}

enum st_code
strata_role_grant(struct strata *c, const char *database, const char *role,
                  const struct strata_principal *who, struct st_error *err)
{
    return role_change(c, true, database, role, who, err);
}

enum st_code
strata_role_revoke(struct strata *c, const char *database, const char *role,
                   const struct strata_principal *who, struct st_error *err)
{
    return role_change(c, false, database, role, who, err);
}

enum st_code
strata_role_list(struct strata *c, const char *database, const struct strata_principal *who,
                 struct strata_role_binding **out, size_t *n, struct st_error *err)
{
    Strata__V1__ListRolesRequest req = STRATA__V1__LIST_ROLES_REQUEST__INIT;
    Strata__V1__Principal p;
    ProtobufCMessage *resp;
    bool oom = false;
    *out = NULL;
    *n = 0;
    req.database = (char *)(database ? database : "");
    if (who && who->kind != STRATA_PRINCIPAL_NONE) {
        principal_to(who, &p);
        req.principal = &p;
    }
    ST_TRY(strata__unary(c, ADMIN "ListRoles", &req.base,
                         &strata__v1__list_roles_response__descriptor, &resp, err));
    Strata__V1__ListRolesResponse *r = (Strata__V1__ListRolesResponse *)resp;
    size_t count = r->n_bindings;
    struct strata_role_binding *v = calloc_n(&oom, count, sizeof *v);
    for (size_t i = 0; v && i < count; i++)
        binding_from(&oom, r->bindings[i], &v[i]);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_role_list_free(v, v ? count : 0);
        return oom_error(err);
    }
    *out = v;
    *n = count;
    return ST_OK;
}

/* ---- whoami, check, audit ----------------------------------------------------- */

enum st_code
strata_whoami(struct strata *c, struct strata_whoami *out, struct st_error *err)
{
    Strata__V1__WhoAmIRequest req = STRATA__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *resp;
    bool oom = false;
    memset(out, 0, sizeof *out);
    ST_TRY(strata__unary(c, ADMIN "WhoAmI", &req.base, &strata__v1__who_am_iresponse__descriptor,
                         &resp, err));
    Strata__V1__WhoAmIResponse *r = (Strata__V1__WhoAmIResponse *)resp;
    out->principal_id = dup_s(&oom, r->principal_id);
    out->kind = dup_s(&oom, r->kind);
    out->name = dup_s(&oom, r->name);
    out->token_kind = kind_from(r->token_kind);
    permissions_from(&oom, r->permissions, r->n_permissions, &out->permissions,
                     &out->n_permissions);
    out->roles = calloc_n(&oom, r->n_roles, sizeof *out->roles);
    for (size_t i = 0; out->roles && i < r->n_roles; i++) {
        binding_from(&oom, r->roles[i], &out->roles[i]);
        out->n_roles = i + 1;
    }
    out->groups = calloc_n(&oom, r->n_groups, sizeof *out->groups);
    for (size_t i = 0; out->groups && i < r->n_groups; i++) {
        out->groups[i] = dup_s(&oom, r->groups[i]);
        out->n_groups = i + 1;
    }
    out->expires_at_ns = r->expires_at_ns;
    out->issuer = dup_s(&oom, r->issuer);
    out->tenant = dup_s(&oom, r->tenant);
    out->server_version = dup_s(&oom, r->server_version);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_whoami_cleanup(out);
        return oom_error(err);
    }
    return ST_OK;
}

void
strata_whoami_cleanup(struct strata_whoami *w)
{
    if (!w) return;
    free(w->principal_id);
    free(w->kind);
    free(w->name);
    permissions_free(w->permissions, w->n_permissions);
    for (size_t i = 0; w->roles && i < w->n_roles; i++)
        binding_cleanup(&w->roles[i]);
    free(w->roles);
    for (size_t i = 0; w->groups && i < w->n_groups; i++)
        free(w->groups[i]);
    free(w->groups);
    free(w->issuer);
    free(w->tenant);
    free(w->server_version);
    memset(w, 0, sizeof *w);
}

enum st_code
strata_check(struct strata *c, const struct strata_principal *who, const char *action,
             const char *database, struct strata_check_result *out, struct st_error *err)
{
    Strata__V1__CheckRequest req = STRATA__V1__CHECK_REQUEST__INIT;
    Strata__V1__Principal p;
    ProtobufCMessage *resp;
    memset(out, 0, sizeof *out);
    if (who && who->kind != STRATA_PRINCIPAL_NONE) {
        principal_to(who, &p);
        req.principal = &p;
    }
    req.action = (char *)(action ? action : "");
    req.database = (char *)(database ? database : "");
    ST_TRY(strata__unary(c, ADMIN "Check", &req.base, &strata__v1__check_response__descriptor,
                         &resp, err));
    Strata__V1__CheckResponse *r = (Strata__V1__CheckResponse *)resp;
    out->allowed = r->allowed;
    snprintf(out->reason, sizeof out->reason, "%s", r->reason ? r->reason : "");
    snprintf(out->detail, sizeof out->detail, "%s", r->detail ? r->detail : "");
    protobuf_c_message_free_unpacked(resp, NULL);
    return ST_OK;
}

enum st_code
strata_audit_read(struct strata *c, uint64_t after_seq, uint32_t limit, int64_t since_ns,
                  int64_t until_ns, struct strata_audit_page *out, struct st_error *err)
{
    Strata__V1__ReadAuditRequest req = STRATA__V1__READ_AUDIT_REQUEST__INIT;
    ProtobufCMessage *resp;
    bool oom = false;
    memset(out, 0, sizeof *out);
    req.after_seq = after_seq;
    req.limit = limit;
    req.since_ns = since_ns;
    req.until_ns = until_ns;
    ST_TRY(strata__unary(c, ADMIN "ReadAudit", &req.base,
                         &strata__v1__read_audit_response__descriptor, &resp, err));
    Strata__V1__ReadAuditResponse *r = (Strata__V1__ReadAuditResponse *)resp;
    out->records = calloc_n(&oom, r->n_records, sizeof *out->records);
    for (size_t i = 0; out->records && i < r->n_records; i++) {
        out->records[i] = dup_s(&oom, r->records[i]);
        out->n_records = i + 1;
    }
    out->last_seq = r->last_seq;
    out->more = r->more;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (oom) {
        strata_audit_page_cleanup(out);
        return oom_error(err);
    }
    return ST_OK;
}

void
strata_audit_page_cleanup(struct strata_audit_page *p)
{
    if (!p) return;
    for (size_t i = 0; p->records && i < p->n_records; i++)
        free(p->records[i]);
    free(p->records);
    memset(p, 0, sizeof *p);
}
