/*
 * rbac_check.c: the access decision. Given a snapshot, a principal, a
 * privilege and (tenant, database), say yes or why not; deny by default.
 *
 * Authority comes from three places:
 *   - kind: the operator token may do everything in every tenant; a
 *     management token administers its own tenant (databases, tokens,
 *     grants, audit) but never reads or writes data;
 *   - tenant-level grants (RBAC_ROLE_TENANT_ADMIN to a user or group): same
 *     authority as a management token, also without data access;
 *   - database grants (read, write, Owner) to users, groups (from the JWT's
 *     groups claim) and database tokens, on a database or on "*" (every
 *     database of the tenant, read/write only). Write does not imply read.
 *
 * Tenant isolation: a principal's tenant is fixed at authentication; naming
 * another tenant is refused before anything about it is looked at, and inside
 * its tenant a principal that is not an administrator gets the same answer
 * (RBAC_DENY_NO_GRANT, same text) for a database that does not exist as for
 * one it may not use.
 */
#include "rbac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
user_matches(const struct rbac__grant *g, const struct rbac_principal *p)
{
    if (p->kind == RBAC_PRINCIPAL_USER) {
        if (g->kind == RBAC_SUBJECT_USER)
            return strcmp(g->subject, p->user) == 0;
        if (g->kind == RBAC_SUBJECT_GROUP) {
            for (size_t i = 0; i < p->n_groups; i++)
                if (strcmp(g->subject, p->groups[i]) == 0)
                    return true;
        }
        return false;
    }
    if (p->kind == RBAC_PRINCIPAL_DATABASE && g->kind == RBAC_SUBJECT_TOKEN) {
        char id[17];
        snprintf(id, sizeof id, "%016llx", (unsigned long long)p->token_id);
        return strcmp(g->subject, id) == 0;
    }
    return false;
}

/* First grant index of (tenant, db) in the sorted grant array. */
static size_t
grants_lower(const struct rbac_snapshot *s, const char *t, const char *db)
{
    size_t lo = 0, hi = s->n_grants;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->grants[mid].tenant, t);
        if (!c)
            c = strcmp(s->grants[mid].db, db);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static unsigned
roles_on(const struct rbac_snapshot *s, const struct rbac_principal *p, const char *t,
         const char *db)
{
    unsigned r = 0;
    for (size_t i = grants_lower(s, t, db); i < s->n_grants; i++) {
        const struct rbac__grant *g = &s->grants[i];
        if (strcmp(g->tenant, t) != 0 || strcmp(g->db, db) != 0)
            break;
        if (user_matches(g, p))
            r |= g->roles;
    }
    return r;
}

unsigned
rbac__db_roles(const struct rbac_snapshot *s, const struct rbac_principal *p, const char *t,
               const char *db)
{
    if (!rbac__find_db(s, t, db))
        return 0;
    unsigned r = roles_on(s, p, t, db) | (roles_on(s, p, t, RBAC_DB_ALL) &
                                          (RBAC_ROLE_READ | RBAC_ROLE_WRITE));
    if (r & RBAC_ROLE_OWNER)
        r |= RBAC_ROLE_READ | RBAC_ROLE_WRITE;
    return r & RBAC_ROLE__DB_MASK;
}

bool
rbac__is_admin(const struct rbac_snapshot *s, const struct rbac_principal *p, const char *t,
               bool *gated)
{
    *gated = false;
    if (p->kind == RBAC_PRINCIPAL_OPERATOR)
        return true;
    if (strcmp(p->tenant, t) != 0)
        return false;
    if (p->kind == RBAC_PRINCIPAL_MANAGEMENT)
        return true;
    if (p->kind == RBAC_PRINCIPAL_USER && (roles_on(s, p, t, "") & RBAC_ROLE_TENANT_ADMIN)) {
        if (p->mfa_for_admin && !p->mfa) {
            *gated = true;
            return false;
        }
        return true;
    }
    return false;
}

size_t
rbac__count_owners(const struct rbac_snapshot *s, const char *t, const char *db,
                   const struct rbac__grant *skip, int64_t now_ns)
{
    size_t n = 0;
    for (size_t i = grants_lower(s, t, db); i < s->n_grants; i++) {
        const struct rbac__grant *g = &s->grants[i];
        if (strcmp(g->tenant, t) != 0 || strcmp(g->db, db) != 0)
            break;
        if (g == skip || !(g->roles & RBAC_ROLE_OWNER))
            continue;
        if (g->kind == RBAC_SUBJECT_TOKEN) {
            uint64_t id = strtoull(g->subject, NULL, 16);
            const struct rbac__token *tok = rbac__find_token(s, id);
            if (!tok || (tok->expires_ns != 0 && now_ns >= tok->expires_ns))
                continue;
        }
        n++;
    }
    return n;
}

/* The token behind a token principal must still exist, with the same kind
 * and tenant: revocation and rotation take effect on the next check. */
static bool
still_valid(const struct rbac_snapshot *s, const struct rbac_principal *p)
{
    if (p->kind == RBAC_PRINCIPAL_USER)
        return true;
    const struct rbac__token *t = rbac__find_token(s, p->token_id);
    if (!t || strcmp(t->tenant, p->tenant) != 0)
        return false;
    return rbac__principal_kind(t->kind) == p->kind;
}

static enum rbac_reason
no_grant(struct rbac_decision *why, const struct rbac_principal *p, enum rbac_priv priv,
         const char *t, const char *db)
{
    return rbac__decide(why, RBAC_DENY_NO_GRANT,
                        "%s has no role allowing %s on database \"%s\" of tenant \"%s\"", p->id,
                        rbac_priv_name(priv), db, t);
}

static enum rbac_reason
admin_only(struct rbac_decision *why, const struct rbac_principal *p, enum rbac_priv priv,
           const char *t, bool admin, bool gated)
{
    if (admin)
        return rbac__decide(why, RBAC_OK, "%s administers tenant \"%s\"", p->id, t);
    if (gated)
        return rbac__decide(why, RBAC_DENY_MFA, "%s needs mfa for %s", p->id,
                            rbac_priv_name(priv));
    return rbac__decide(why, RBAC_DENY_PRIVILEGE, "%s may not %s in tenant \"%s\"", p->id,
                        rbac_priv_name(priv), t);
}

enum rbac_reason
rbac_check(const struct rbac_snapshot *s, const struct rbac_principal *p, enum rbac_priv priv,
           const char *tenant, const char *database, struct rbac_decision *why)
{
    if (!p || p->kind == RBAC_PRINCIPAL_NONE || p->kind > RBAC_PRINCIPAL_USER)
        return rbac__decide(why, RBAC_DENY_UNAUTHENTICATED, "no authenticated principal");
    if (!s)
        return rbac__decide(why, RBAC_DENY_INVALID, "no policy");
    if ((unsigned)priv >= RBAC_PRIV__COUNT)
        return rbac__decide(why, RBAC_DENY_INVALID, "unknown privilege %d", (int)priv);
    if (!still_valid(s, p))
        return rbac__decide(why, RBAC_DENY_REVOKED, "%s was revoked or rotated", p->id);

    enum rbac_scope scope = rbac_priv_scope(priv);
    if (scope == RBAC_SCOPE_NONE)
        return rbac__decide(why, RBAC_OK, "%s is authenticated", p->id);

    const char *t = tenant ? tenant : p->tenant;
    if (p->kind != RBAC_PRINCIPAL_OPERATOR && strcmp(t, p->tenant) != 0)
        return rbac__decide(why, RBAC_DENY_TENANT, "%s of tenant \"%s\" named another tenant",
                            p->id, p->tenant);
    if (rbac_name_check(RBAC_NAME_TENANT, t, strlen(t), NULL) != ST_OK ||
        !rbac__find_tenant(s, t)) {
        if (p->kind == RBAC_PRINCIPAL_OPERATOR)
            return rbac__decide(why, RBAC_DENY_NOT_FOUND, "tenant does not exist");
        return rbac__decide(why, RBAC_DENY_TENANT, "%s: home tenant no longer exists", p->id);
    }
    if (scope == RBAC_SCOPE_CLUSTER) {
        if (p->kind == RBAC_PRINCIPAL_OPERATOR)
            return rbac__decide(why, RBAC_OK, "operator");
        return rbac__decide(why, RBAC_DENY_PRIVILEGE, "%s: %s is for the operator only", p->id,
                            rbac_priv_name(priv));
    }

    bool gated = false;
    bool admin = rbac__is_admin(s, p, t, &gated);

    if (scope == RBAC_SCOPE_TENANT || (scope == RBAC_SCOPE_DB_OR_TENANT && !database)) {
        if (priv == RBAC_PRIV_DB_LIST)
            return rbac__decide(why, RBAC_OK, "%s may list the databases it can see", p->id);
        return admin_only(why, p, priv, t, admin, gated);
    }

    /* database scope */
    if (!database)
        return rbac__decide(why, RBAC_DENY_INVALID, "%s needs a database", rbac_priv_name(priv));
    bool valid = rbac_name_check(RBAC_NAME_DATABASE, database, strlen(database), NULL) == ST_OK;
    bool exists = valid && rbac__find_db(s, t, database) != NULL;
    if (!valid)
        return no_grant(why, p, priv, t, "(invalid name)");

    if (priv == RBAC_PRIV_QUERY || priv == RBAC_PRIV_WRITE) {
        unsigned need = priv == RBAC_PRIV_QUERY ? RBAC_ROLE_READ : RBAC_ROLE_WRITE;
        if (p->kind == RBAC_PRINCIPAL_OPERATOR)
            return exists ? rbac__decide(why, RBAC_OK, "operator")
                          : rbac__decide(why, RBAC_DENY_NOT_FOUND,
                                         "database \"%s\" does not exist in tenant \"%s\"",
                                         database, t);
        if (p->kind == RBAC_PRINCIPAL_MANAGEMENT)
            return rbac__decide(why, RBAC_DENY_NO_DATA,
                                "%s is a management token and cannot read or write data", p->id);
        unsigned have = exists ? rbac__db_roles(s, p, t, database) : 0;
        if (have & need)
            return rbac__decide(why, RBAC_OK, "%s holds %s on \"%s\"", p->id,
                                need == RBAC_ROLE_READ ? "read" : "write", database);
        if (have)
            return rbac__decide(why, RBAC_DENY_PRIVILEGE,
                                "%s lacks %s on database \"%s\" (write does not imply read)",
                                p->id, need == RBAC_ROLE_READ ? "read" : "write", database);
        if (admin && exists)
            return rbac__decide(why, RBAC_DENY_NO_DATA,
                                "%s administers the tenant but holds no data role on \"%s\"",
                                p->id, database);
        return no_grant(why, p, priv, t, database);
    }

    /* administrative privileges on one database: tenant admins or its Owners */
    if (admin)
        return exists ? rbac__decide(why, RBAC_OK, "%s administers tenant \"%s\"", p->id, t)
                      : rbac__decide(why, RBAC_DENY_NOT_FOUND,
                                     "database \"%s\" does not exist in tenant \"%s\"", database,
                                     t);
    unsigned have = exists ? rbac__db_roles(s, p, t, database) : 0;
    unsigned own = exists && p->kind != RBAC_PRINCIPAL_MANAGEMENT
                       ? (roles_on(s, p, t, database) & RBAC_ROLE_OWNER)
                       : 0;
    if (own) {
        if (p->kind == RBAC_PRINCIPAL_USER && p->mfa_for_admin && !p->mfa)
            return rbac__decide(why, RBAC_DENY_MFA, "%s needs mfa for %s", p->id,
                                rbac_priv_name(priv));
        return rbac__decide(why, RBAC_OK, "%s owns \"%s\"", p->id, database);
    }
    if (gated && exists)
        return rbac__decide(why, RBAC_DENY_MFA, "%s needs mfa for %s", p->id,
                            rbac_priv_name(priv));
    if (have)
        return rbac__decide(why, RBAC_DENY_PRIVILEGE, "%s is not an Owner of \"%s\"", p->id,
                            database);
    return no_grant(why, p, priv, t, database);
}

enum st_code
rbac_db_list(const struct rbac_snapshot *s, const struct rbac_principal *p, const char *tenant,
             char ***names_out, size_t *n_out, struct rbac_decision *why, struct st_error *err)
{
    *names_out = NULL;
    *n_out = 0;
    if (rbac_check(s, p, RBAC_PRIV_DB_LIST, tenant, NULL, why) != RBAC_OK)
        return st_error_set(err, ST_EPERMISSION, RBAC_DENIED_MSG);
    const char *t = tenant ? tenant : p->tenant;
    bool gated;
    bool all = rbac__is_admin(s, p, t, &gated) || gated;
    char **v = s->n_dbs ? calloc(s->n_dbs, sizeof *v) : NULL;
    if (s->n_dbs && !v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < s->n_dbs; i++) {
        const struct rbac__db *d = &s->dbs[i];
        if (strcmp(d->tenant, t) != 0)
            continue;
        if (!all && rbac__db_roles(s, p, t, d->name) == 0)
            continue;
        if (!(v[n] = rbac__strdup(d->name))) {
            rbac_strv_free(v, n);
            return st_error_set(err, ST_ENOMEM, "out of memory");
        }
        n++;
    }
    *names_out = v;
    *n_out = n;
    return ST_OK;
}

enum st_code
rbac_principal_grants(const struct rbac_snapshot *s, const struct rbac_principal *p,
                      struct rbac_grant_info **out, size_t *n_out, struct st_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!p || (p->kind != RBAC_PRINCIPAL_USER && p->kind != RBAC_PRINCIPAL_DATABASE))
        return ST_OK;
    size_t n = 0;
    for (size_t i = 0; i < s->n_grants; i++)
        if (!strcmp(s->grants[i].tenant, p->tenant) && user_matches(&s->grants[i], p))
            n++;
    if (n == 0)
        return ST_OK;
    struct rbac_grant_info *v = calloc(n, sizeof *v);
    if (!v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < s->n_grants && k < n; i++) {
        const struct rbac__grant *g = &s->grants[i];
        if (strcmp(g->tenant, p->tenant) != 0 || !user_matches(g, p))
            continue;
        struct rbac_grant_info *gi = &v[k++];
        rbac__copy(gi->tenant, sizeof gi->tenant, g->tenant);
        rbac__copy(gi->database, sizeof gi->database, g->db);
        gi->subject_kind = g->kind;
        rbac__copy(gi->subject, sizeof gi->subject, g->subject);
        gi->roles = g->roles;
        rbac__copy(gi->creator, sizeof gi->creator, g->creator);
        gi->created_ns = g->created_ns;
    }
    *out = v;
    *n_out = k;
    return ST_OK;
}
