/*
 * rbac_mutate.c: changes to the policy. Each mutation checks the actor's
 * authority with rbac_check(), then the guard rails, and only then clones the
 * snapshot and edits the clone; the input snapshot is never touched, so a
 * refused change leaves nothing behind and concurrent readers never see a
 * half-made one. Guard rails:
 *   - nobody grants or mints more than they hold (an Owner of a database can
 *     hand out read, write and Owner on that database only; "*" and
 *     management tokens need tenant authority; tenant admin needs tenant
 *     authority; tenants need the operator);
 *   - management tokens never receive data roles;
 *   - the last effective Owner of a database cannot be removed (revoking the
 *     role or the token that holds it) -> ST_EPRECONDITION;
 *   - deleting a database drops its grants and revokes tokens left with no
 *     permission;
 *   - the operator token is never revoked, only rotated by the operator.
 * Callers serialise mutations: each returns a snapshot one generation newer.
 */
#include "rbac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/hash.h"

static enum st_code
refuse(enum rbac_reason r, struct rbac_decision *why, struct st_error *err)
{
    switch (r) {
    case RBAC_DENY_LAST_OWNER:
    case RBAC_DENY_NOT_EMPTY:
        return st_error_set(err, ST_EPRECONDITION, "%s", why->text);
    case RBAC_DENY_INVALID:
        return st_error_set(err, ST_EINVAL, "%s", why->text);
    case RBAC_DENY_NOT_FOUND:
        return st_error_set(err, ST_ENOTFOUND, "%s", why->text);
    case RBAC_DENY_EXISTS:
        return st_error_set(err, ST_EEXISTS, "%s", why->text);
    default:
        return st_error_set(err, ST_EPERMISSION, RBAC_DENIED_MSG);
    }
}

/* Mutations accept why == NULL; the messages are built from it, so keep a local one. */
#define WHY_LOCAL                                                                                  \
    struct rbac_decision why_local_;                                                               \
    if (!why)                                                                                      \
    why = &why_local_

#define REFUSE(...) return refuse(rbac__decide(why, __VA_ARGS__), why, err)
#define CHECK(priv, t, db)                                                                         \
    do {                                                                                           \
        enum rbac_reason r_ = rbac_check(s, actor, (priv), (t), (db), why);                        \
        if (r_ != RBAC_OK)                                                                         \
            return refuse(r_, why, err);                                                           \
    } while (0)

static enum st_code
oom(struct rbac_snapshot *c, struct rbac_decision *why, struct st_error *err)
{
    rbac__snapshot_destroy(c);
    rbac__decide(why, RBAC_DENY_INVALID, "out of memory");
    return st_error_set(err, ST_ENOMEM, "out of memory");
}

static enum st_code
publish(const struct rbac_snapshot *s, struct rbac_snapshot *c, struct rbac_snapshot **out,
        struct rbac_decision *why, struct st_error *err)
{
    c->generation = s->generation + 1;
    if (rbac__snapshot_finish(c) != 0)
        return oom(c, why, err);
    *out = c;
    return ST_OK;
}

static void
token_hex(uint64_t id, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)id);
}

static bool
valid_db_name(const char *db)
{
    return db && rbac_name_check(RBAC_NAME_DATABASE, db, strlen(db), NULL) == ST_OK;
}

/* Add roles to the grant (t, db, kind, subject), creating it if needed. */
static int
push_grant(struct rbac_snapshot *c, const char *t, const char *db, enum rbac_subject_kind kind,
           const char *subject, unsigned roles, const char *creator, int64_t now)
{
    for (size_t i = 0; i < c->n_grants; i++) {
        struct rbac__grant *g = &c->grants[i];
        if (g->kind == kind && !strcmp(g->tenant, t) && !strcmp(g->db, db) &&
            !strcmp(g->subject, subject)) {
            g->roles |= roles;
            return 0;
        }
    }
    struct rbac__grant *n = realloc(c->grants, (c->n_grants + 1) * sizeof *n);
    if (!n)
        return -1;
    c->grants = n;
    struct rbac__grant *g = &c->grants[c->n_grants];
    memset(g, 0, sizeof *g);
    g->kind = kind;
    g->roles = roles;
    g->created_ns = now;
    if (!(g->tenant = rbac__strdup(t)) || !(g->db = rbac__strdup(db)) ||
        !(g->subject = rbac__strdup(subject)) || !(g->creator = rbac__strdup(creator))) {
        free(g->tenant);
        free(g->db);
        free(g->subject);
        free(g->creator);
        return -1;
    }
    c->n_grants++;
    return 0;
}

static void
drop_grant(struct rbac_snapshot *c, size_t i)
{
    struct rbac__grant *g = &c->grants[i];
    free(g->tenant);
    free(g->db);
    free(g->subject);
    free(g->creator);
    memmove(g, g + 1, (c->n_grants - i - 1) * sizeof *g);
    c->n_grants--;
}

/* Remove a token and every grant naming it. */
static void
drop_token(struct rbac_snapshot *c, uint64_t id)
{
    char hex[17];
    token_hex(id, hex);
    for (size_t i = 0; i < c->n_grants;) {
        if (c->grants[i].kind == RBAC_SUBJECT_TOKEN && !strcmp(c->grants[i].subject, hex))
            drop_grant(c, i);
        else
            i++;
    }
    for (size_t i = 0; i < c->n_tokens; i++) {
        if (c->tokens[i]->id != id)
            continue;
        struct rbac__token *t = c->tokens[i];
        free(t->tenant);
        free(t->name);
        free(t->creator);
        free(t->description);
        rbac__wipe(t->hash, sizeof t->hash);
        free(t);
        memmove(&c->tokens[i], &c->tokens[i + 1], (c->n_tokens - i - 1) * sizeof *c->tokens);
        c->n_tokens--;
        break;
    }
}

/* ---- tenants ---- */

enum st_code
rbac_policy_tenant_create(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                          const char *tenant, int64_t now_ns, struct rbac_snapshot **out,
                          struct rbac_decision *why, struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    CHECK(RBAC_PRIV_TENANT_ADMIN, NULL, NULL);
    if (!tenant || rbac_name_check(RBAC_NAME_TENANT, tenant, strlen(tenant), NULL) != ST_OK)
        REFUSE(RBAC_DENY_INVALID, "invalid tenant name");
    if (rbac__find_tenant(s, tenant))
        REFUSE(RBAC_DENY_EXISTS, "tenant \"%s\" already exists", tenant);
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return oom(NULL, why, err);
    struct rbac__tenant *n = realloc(c->tenants, (c->n_tenants + 1) * sizeof *n);
    if (!n)
        return oom(c, why, err);
    c->tenants = n;
    if (!(n[c->n_tenants].name = rbac__strdup(tenant)))
        return oom(c, why, err);
    n[c->n_tenants++].created_ns = now_ns;
    rbac__decide(why, RBAC_OK, "%s created tenant \"%s\"", actor->id, tenant);
    return publish(s, c, out, why, err);
}

enum st_code
rbac_policy_tenant_delete(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                          const char *tenant, struct rbac_snapshot **out,
                          struct rbac_decision *why, struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    CHECK(RBAC_PRIV_TENANT_ADMIN, NULL, NULL);
    if (!tenant || !rbac__find_tenant(s, tenant))
        REFUSE(RBAC_DENY_NOT_FOUND, "no such tenant");
    if (!strcmp(tenant, s->default_tenant) || !strcmp(tenant, actor->tenant))
        REFUSE(RBAC_DENY_INVALID, "tenant \"%s\" holds the operator and cannot be deleted",
               tenant);
    for (size_t i = 0; i < s->n_dbs; i++)
        if (!strcmp(s->dbs[i].tenant, tenant))
            REFUSE(RBAC_DENY_NOT_EMPTY, "tenant \"%s\" still has databases", tenant);
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return oom(NULL, why, err);
    for (size_t i = 0; i < c->n_tokens;) {
        if (!strcmp(c->tokens[i]->tenant, tenant))
            drop_token(c, c->tokens[i]->id);
        else
            i++;
    }
    for (size_t i = 0; i < c->n_grants;) {
        if (!strcmp(c->grants[i].tenant, tenant))
            drop_grant(c, i);
        else
            i++;
    }
    for (size_t i = 0; i < c->n_tenants; i++)
        if (!strcmp(c->tenants[i].name, tenant)) {
            free(c->tenants[i].name);
            memmove(&c->tenants[i], &c->tenants[i + 1],
                    (c->n_tenants - i - 1) * sizeof *c->tenants);
            c->n_tenants--;
            break;
        }
    rbac__decide(why, RBAC_OK, "%s deleted tenant \"%s\"", actor->id, tenant);
    return publish(s, c, out, why, err);
}

/* ---- databases ---- */

enum st_code
rbac_policy_db_create(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                      const char *tenant, const char *db, const char *owner_user, int64_t now_ns,
                      struct rbac_snapshot **out, struct rbac_decision *why,
                      struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    const char *t = tenant ? tenant : actor ? actor->tenant : NULL;
    CHECK(RBAC_PRIV_DB_CREATE, t, NULL);
    if (!valid_db_name(db))
        REFUSE(RBAC_DENY_INVALID, "invalid database name");
    if (owner_user && rbac_name_check(RBAC_NAME_SUBJECT, owner_user, strlen(owner_user), NULL))
        REFUSE(RBAC_DENY_INVALID, "invalid owner user name");
    if (rbac__find_db(s, t, db))
        REFUSE(RBAC_DENY_EXISTS, "database \"%s\" already exists", db);
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return oom(NULL, why, err);
    struct rbac__db *n = realloc(c->dbs, (c->n_dbs + 1) * sizeof *n);
    if (!n)
        return oom(c, why, err);
    c->dbs = n;
    struct rbac__db *d = &n[c->n_dbs];
    memset(d, 0, sizeof *d);
    d->created_ns = now_ns;
    c->n_dbs++;
    if (!(d->tenant = rbac__strdup(t)) || !(d->name = rbac__strdup(db)) ||
        !(d->creator = rbac__strdup(actor->id)))
        return oom(c, why, err);
    if (actor->kind == RBAC_PRINCIPAL_USER &&
        push_grant(c, t, db, RBAC_SUBJECT_USER, actor->user, RBAC_ROLE_OWNER, actor->id,
                   now_ns) != 0)
        return oom(c, why, err);
    if (owner_user && push_grant(c, t, db, RBAC_SUBJECT_USER, owner_user, RBAC_ROLE_OWNER,
                                 actor->id, now_ns) != 0)
        return oom(c, why, err);
    rbac__decide(why, RBAC_OK, "%s created database \"%s\" in tenant \"%s\"", actor->id, db, t);
    return publish(s, c, out, why, err);
}

enum st_code
rbac_policy_db_delete(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                      const char *tenant, const char *db, int64_t now_ns,
                      struct rbac_snapshot **out, struct rbac_decision *why,
                      struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    const char *t = tenant ? tenant : actor ? actor->tenant : NULL;
    CHECK(RBAC_PRIV_DB_DELETE, t, db);
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return oom(NULL, why, err);
    for (size_t i = 0; i < c->n_dbs; i++)
        if (!strcmp(c->dbs[i].tenant, t) && !strcmp(c->dbs[i].name, db)) {
            free(c->dbs[i].tenant);
            free(c->dbs[i].name);
            free(c->dbs[i].creator);
            memmove(&c->dbs[i], &c->dbs[i + 1], (c->n_dbs - i - 1) * sizeof *c->dbs);
            c->n_dbs--;
            break;
        }
    for (size_t i = 0; i < c->n_grants;) {
        if (!strcmp(c->grants[i].tenant, t) && !strcmp(c->grants[i].db, db))
            drop_grant(c, i);
        else
            i++;
    }
    /* database tokens of the tenant left without any permission are revoked */
    size_t revoked = 0;
    for (size_t i = 0; i < c->n_tokens;) {
        struct rbac__token *tok = c->tokens[i];
        bool keep = tok->kind != RBAC_TOKEN_DATABASE || strcmp(tok->tenant, t) != 0;
        if (!keep) {
            char hex[17];
            token_hex(tok->id, hex);
            for (size_t g = 0; g < c->n_grants && !keep; g++)
                keep = c->grants[g].kind == RBAC_SUBJECT_TOKEN &&
                       !strcmp(c->grants[g].subject, hex);
        }
        if (keep) {
            i++;
        } else {
            drop_token(c, tok->id);
            revoked++;
        }
    }
    (void)now_ns;
    rbac__decide(why, RBAC_OK, "%s deleted database \"%s\" of tenant \"%s\" (%zu tokens revoked)",
                 actor->id, db, t, revoked);
    return publish(s, c, out, why, err);
}

/* ---- tokens ---- */

static int
new_token_id(const struct rbac_snapshot *s, uint64_t *id)
{
    for (int tries = 0; tries < 16; tries++) {
        if (st_random_bytes(id, sizeof *id) != 0)
            return -1;
        if (*id != 0 && !rbac__find_token(s, *id))
            return 0;
    }
    return -1;
}

/* Fresh secret of a kind whose hash no token has. */
static int
new_secret(const struct rbac_snapshot *s, enum rbac_token_kind kind, struct rbac_secret *sec,
           uint8_t hash[64])
{
    for (int tries = 0; tries < 4; tries++) {
        if (rbac_token_generate(kind, sec, NULL) != ST_OK ||
            rbac__token_hash(s, (const uint8_t *)sec->text, RBAC_TOKEN_LEN, hash) != 0)
            return -1;
        if (!rbac__find_token_hash(s, hash))
            return 0;
    }
    return -1;
}

/* The roles `actor` may hand out on (t, db); db "*" or NULL = tenant level. */
static unsigned
held_roles(const struct rbac_snapshot *s, const struct rbac_principal *actor, const char *t,
           const char *db)
{
    bool gated;
    if (rbac__is_admin(s, actor, t, &gated))
        return RBAC_ROLE__DB_MASK | RBAC_ROLE_TENANT_ADMIN;
    if (!db || !strcmp(db, RBAC_DB_ALL))
        return 0;
    unsigned r = rbac__db_roles(s, actor, t, db);
    return (r & RBAC_ROLE_OWNER) ? RBAC_ROLE__DB_MASK : 0;
}

enum st_code
rbac_policy_token_create(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                         const struct rbac_token_spec *spec, int64_t now_ns,
                         struct rbac_snapshot **out, uint64_t *id_out, struct rbac_secret *secret,
                         struct rbac_decision *why, struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    const char *t = spec->tenant ? spec->tenant : actor ? actor->tenant : NULL;
    if (spec->kind == RBAC_TOKEN_MANAGEMENT) {
        CHECK(RBAC_PRIV_TOKEN_CREATE, t, NULL);
        if (spec->n_perms)
            REFUSE(RBAC_DENY_INVALID, "a management token takes no database permissions");
    } else if (spec->kind == RBAC_TOKEN_DATABASE) {
        if (spec->n_perms == 0 || spec->n_perms > 64 || !spec->perms) {
            CHECK(RBAC_PRIV_TOKEN_CREATE, t, NULL);
            REFUSE(RBAC_DENY_INVALID, "a database token needs 1..64 permissions");
        }
        for (size_t i = 0; i < spec->n_perms; i++) {
            const char *db = spec->perms[i].database;
            unsigned roles = spec->perms[i].roles;
            bool all = db && !strcmp(db, RBAC_DB_ALL);
            CHECK(RBAC_PRIV_TOKEN_CREATE, t, all || !valid_db_name(db) ? NULL : db);
            if (!all && !valid_db_name(db))
                REFUSE(RBAC_DENY_INVALID, "permission %zu: invalid database name", i);
            if (roles == 0 || (roles & ~RBAC_ROLE__DB_MASK))
                REFUSE(RBAC_DENY_INVALID, "permission %zu: roles must be read, write or owner",
                       i);
            if (all && (roles & RBAC_ROLE_OWNER))
                REFUSE(RBAC_DENY_INVALID, "permission %zu: \"*\" takes read and write only", i);
            for (size_t j = 0; j < i; j++)
                if (!strcmp(spec->perms[j].database, db))
                    REFUSE(RBAC_DENY_INVALID, "permission %zu repeats database \"%s\"", i, db);
            unsigned held = held_roles(s, actor, t, db);
            if (roles & ~held)
                REFUSE(RBAC_DENY_ESCALATION,
                       "%s may not mint roles it does not hold on \"%s\"", actor->id, db);
        }
    } else {
        REFUSE(RBAC_DENY_INVALID, "only management and database tokens can be created");
    }
    if (!spec->name || rbac_name_check(RBAC_NAME_TOKEN, spec->name, strlen(spec->name), NULL))
        REFUSE(RBAC_DENY_INVALID, "invalid token name");
    const char *desc = spec->description ? spec->description : "";
    if (strlen(desc) > RBAC_DESCRIPTION_MAX || !rbac__text_ok(desc, strlen(desc)))
        REFUSE(RBAC_DENY_INVALID, "invalid description (at most %d bytes of text without "
                                  "control characters)", RBAC_DESCRIPTION_MAX);
    for (size_t i = 0; i < s->n_tokens; i++)
        if (!strcmp(s->tokens[i]->tenant, t) && !strcmp(s->tokens[i]->name, spec->name))
            REFUSE(RBAC_DENY_EXISTS, "a token named \"%s\" already exists", spec->name);
    if (spec->expires_ns != 0 && spec->expires_ns <= now_ns)
        REFUSE(RBAC_DENY_INVALID, "expiry is not in the future");

    uint64_t id;
    uint8_t hash[64];
    struct rbac_secret sec;
    if (new_token_id(s, &id) != 0 || new_secret(s, spec->kind, &sec, hash) != 0) {
        rbac__decide(why, RBAC_DENY_INVALID, "random source failed");
        return st_error_set(err, ST_EINTERNAL, "the OS random source failed");
    }
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    struct rbac__token *tok = calloc(1, sizeof *tok);
    struct rbac__token **n = c ? realloc(c->tokens, (c->n_tokens + 1) * sizeof *n) : NULL;
    if (!c || !tok || !n) {
        free(tok);
        rbac_secret_wipe(&sec);
        return oom(c, why, err);
    }
    c->tokens = n;
    c->tokens[c->n_tokens++] = tok;
    tok->id = id;
    tok->kind = spec->kind;
    tok->created_ns = now_ns;
    tok->expires_ns = spec->expires_ns;
    atomic_init(&tok->last_used_ns, 0);
    memcpy(tok->hash, hash, sizeof hash);
    char hex[17];
    token_hex(id, hex);
    bool ok = (tok->tenant = rbac__strdup(t)) && (tok->name = rbac__strdup(spec->name)) &&
              (tok->creator = rbac__strdup(actor->id)) && (tok->description = rbac__strdup(desc));
    for (size_t i = 0; ok && i < spec->n_perms; i++)
        ok = push_grant(c, t, spec->perms[i].database, RBAC_SUBJECT_TOKEN, hex,
                        spec->perms[i].roles, actor->id, now_ns) == 0;
    if (!ok) {
        rbac_secret_wipe(&sec);
        return oom(c, why, err);
    }
    enum st_code rc = publish(s, c, out, why, err);
    if (rc != ST_OK) {
        rbac_secret_wipe(&sec);
        return rc;
    }
    *secret = sec;
    rbac_secret_wipe(&sec);
    if (id_out)
        *id_out = id;
    rbac__decide(why, RBAC_OK, "%s created %s token:%s \"%s\"", actor->id,
                 rbac__token_kind_name(spec->kind), hex, spec->name);
    return ST_OK;
}

/*
 * Find a token the actor may act on (revoke/rotate). Another tenant's token
 * looks exactly like a missing one.
 */
static enum st_code
token_authority(const struct rbac_snapshot *s, const struct rbac_principal *actor, uint64_t id,
                bool rotating, const struct rbac__token **out, struct rbac_decision *why,
                struct st_error *err)
{
    const struct rbac__token *tok = rbac__find_token(s, id);
    if (!tok || (actor && actor->kind != RBAC_PRINCIPAL_OPERATOR &&
                 strcmp(tok->tenant, actor->tenant) != 0)) {
        CHECK(RBAC_PRIV_TOKEN_REVOKE, NULL, NULL);
        REFUSE(RBAC_DENY_NOT_FOUND, "no token with this id");
    }
    if (tok->kind == RBAC_TOKEN_OPERATOR) {
        if (!rotating)
            REFUSE(RBAC_DENY_PRIVILEGE, "the operator token cannot be revoked, only rotated");
        CHECK(RBAC_PRIV_TENANT_ADMIN, NULL, NULL);
    } else if (tok->kind == RBAC_TOKEN_MANAGEMENT) {
        CHECK(RBAC_PRIV_TOKEN_REVOKE, tok->tenant, NULL);
    } else {
        bool gated;
        if (!actor || !rbac__is_admin(s, actor, tok->tenant, &gated)) {
            char hex[17];
            size_t n = 0;
            token_hex(tok->id, hex);
            for (size_t i = 0; i < s->n_grants; i++) {
                const struct rbac__grant *g = &s->grants[i];
                if (g->kind != RBAC_SUBJECT_TOKEN || strcmp(g->subject, hex) != 0)
                    continue;
                n++;
                CHECK(RBAC_PRIV_TOKEN_REVOKE, tok->tenant,
                      strcmp(g->db, RBAC_DB_ALL) ? g->db : NULL);
            }
            if (n == 0)
                CHECK(RBAC_PRIV_TOKEN_REVOKE, tok->tenant, NULL);
        }
    }
    *out = tok;
    return ST_OK;
}

enum st_code
rbac_policy_token_revoke(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                         uint64_t token_id, int64_t now_ns, struct rbac_snapshot **out,
                         struct rbac_decision *why, struct st_error *err)
{
    const struct rbac__token *tok;
    *out = NULL;
    WHY_LOCAL;
    enum st_code rc = token_authority(s, actor, token_id, false, &tok, why, err);
    if (rc != ST_OK)
        return rc;
    char hex[17];
    token_hex(tok->id, hex);
    bool effective = tok->expires_ns == 0 || now_ns < tok->expires_ns;
    for (size_t i = 0; effective && i < s->n_grants; i++) {
        const struct rbac__grant *g = &s->grants[i];
        if (g->kind == RBAC_SUBJECT_TOKEN && !strcmp(g->subject, hex) &&
            (g->roles & RBAC_ROLE_OWNER) && rbac__count_owners(s, g->tenant, g->db, g, now_ns) == 0)
            REFUSE(RBAC_DENY_LAST_OWNER,
                   "token:%s holds the last Owner role of database \"%s\"", hex, g->db);
    }
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return oom(NULL, why, err);
    drop_token(c, tok->id);
    rbac__decide(why, RBAC_OK, "%s revoked token:%s", actor->id, hex);
    return publish(s, c, out, why, err);
}

enum st_code
rbac_policy_token_rotate(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                         uint64_t token_id, int64_t now_ns, int64_t new_expires_ns,
                         struct rbac_snapshot **out, struct rbac_secret *secret,
                         struct rbac_decision *why, struct st_error *err)
{
    const struct rbac__token *tok;
    *out = NULL;
    WHY_LOCAL;
    enum st_code rc = token_authority(s, actor, token_id, true, &tok, why, err);
    if (rc != ST_OK)
        return rc;
    if (new_expires_ns != 0 && new_expires_ns <= now_ns)
        REFUSE(RBAC_DENY_INVALID, "expiry is not in the future");
    if (new_expires_ns != 0 && tok->kind == RBAC_TOKEN_OPERATOR)
        REFUSE(RBAC_DENY_INVALID, "the operator token does not expire");
    struct rbac_secret sec;
    uint8_t hash[64];
    if (new_secret(s, tok->kind, &sec, hash) != 0) {
        rbac__decide(why, RBAC_DENY_INVALID, "random source failed");
        return st_error_set(err, ST_EINTERNAL, "the OS random source failed");
    }
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c) {
        rbac_secret_wipe(&sec);
        return oom(NULL, why, err);
    }
    struct rbac__token *t = rbac__find_token(c, token_id);
    memcpy(t->hash, hash, sizeof hash);
    atomic_store_explicit(&t->last_used_ns, 0, memory_order_relaxed);
    if (new_expires_ns != 0)
        t->expires_ns = new_expires_ns;
    char hex[17];
    token_hex(token_id, hex);
    rc = publish(s, c, out, why, err);
    if (rc != ST_OK) {
        rbac_secret_wipe(&sec);
        return rc;
    }
    *secret = sec;
    rbac_secret_wipe(&sec);
    rbac__decide(why, RBAC_OK, "%s rotated token:%s", actor->id, hex);
    return ST_OK;
}

enum st_code
rbac_policy_operator_install(const struct rbac_snapshot *s, const char *tenant,
                             const uint8_t *tok, size_t len, int64_t now_ns,
                             struct rbac_snapshot **out, struct st_error *err)
{
    *out = NULL;
    if (!tok || !(rbac_token_well_formed(tok, len) ? tok[7] == 'o'
                                                    : rbac_operator_token_text_ok(tok, len)))
        return st_error_set(err, ST_EINVAL,
                            "the operator token must be a minted operator token or %d..%d printable "
                            "non-space ASCII characters",
                            RBAC_OPERATOR_TOKEN_MIN, RBAC_OPERATOR_TOKEN_MAX);
    const struct rbac__token *old = NULL;
    for (size_t i = 0; i < s->n_tokens; i++)
        if (s->tokens[i]->kind == RBAC_TOKEN_OPERATOR)
            old = s->tokens[i];
    const char *t = tenant ? tenant : old ? old->tenant : s->default_tenant;
    if (!rbac__find_tenant(s, t))
        return st_error_set(err, ST_EINVAL, "operator tenant does not exist");
    uint8_t hash[64];
    if (rbac__token_hash(s, tok, len, hash) != 0)
        return st_error_set(err, ST_EINTERNAL, "hash failed");
    const struct rbac__token *same = rbac__find_token_hash(s, hash);
    if (same && same != old)
        return st_error_set(err, ST_EEXISTS, "this secret belongs to another token");
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    uint64_t id = 0;
    if (old) {
        id = old->id;
        drop_token(c, old->id);
    } else if (new_token_id(s, &id) != 0) {
        rbac__snapshot_destroy(c);
        return st_error_set(err, ST_EINTERNAL, "the OS random source failed");
    }
    struct rbac__token *nt = calloc(1, sizeof *nt);
    struct rbac__token **n = realloc(c->tokens, (c->n_tokens + 1) * sizeof *n);
    if (n)
        c->tokens = n;
    if (!nt || !n) {
        free(nt);
        rbac__snapshot_destroy(c);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    c->tokens[c->n_tokens++] = nt;
    nt->id = id;
    nt->kind = RBAC_TOKEN_OPERATOR;
    nt->created_ns = old ? old->created_ns : now_ns;
    atomic_init(&nt->last_used_ns, 0);
    memcpy(nt->hash, hash, sizeof hash);
    if (!(nt->tenant = rbac__strdup(t)) || !(nt->name = rbac__strdup("_operator")) ||
        !(nt->creator = rbac__strdup("system")) || !(nt->description = rbac__strdup(""))) {
        rbac__snapshot_destroy(c);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    c->generation = s->generation + 1;
    if (rbac__snapshot_finish(c) != 0) {
        rbac__snapshot_destroy(c);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    *out = c;
    return ST_OK;
}

/* ---- grants ---- */

/* Validate a grant request and the actor's authority for it. */
static enum st_code
grant_prepare(const struct rbac_snapshot *s, const struct rbac_principal *actor, const char *t,
              const char *db, enum rbac_subject_kind kind, const char *subject, unsigned roles,
              bool granting, struct rbac_decision *why, struct st_error *err)
{
    bool tenant_level = db == NULL, all = db && !strcmp(db, RBAC_DB_ALL);
    CHECK(RBAC_PRIV_ROLE_GRANT, t, tenant_level || all || !valid_db_name(db) ? NULL : db);
    if (!tenant_level && !all && !valid_db_name(db))
        REFUSE(RBAC_DENY_INVALID, "invalid database name");
    if ((unsigned)kind > RBAC_SUBJECT_TOKEN || !subject)
        REFUSE(RBAC_DENY_INVALID, "invalid subject");
    if (kind == RBAC_SUBJECT_TOKEN) {
        uint8_t raw[8];
        if (rbac__unhex(subject, strlen(subject), raw, 8) != 0)
            REFUSE(RBAC_DENY_INVALID, "token subject must be 16 lower-case hex digits");
        const struct rbac__token *tok = rbac__find_token(s, strtoull(subject, NULL, 16));
        if (!tok || strcmp(tok->tenant, t) != 0 || tok->kind != RBAC_TOKEN_DATABASE)
            REFUSE(RBAC_DENY_INVALID, "no database token with this id in the tenant");
        if (tenant_level)
            REFUSE(RBAC_DENY_INVALID, "tokens take database roles only");
    } else if (rbac_name_check(RBAC_NAME_SUBJECT, subject, strlen(subject), NULL) != ST_OK) {
        REFUSE(RBAC_DENY_INVALID, "invalid subject name");
    }
    if (roles == 0)
        REFUSE(RBAC_DENY_INVALID, "no role given");
    if (tenant_level && roles != RBAC_ROLE_TENANT_ADMIN)
        REFUSE(RBAC_DENY_INVALID, "a grant without a database takes the tenant_admin role only");
    if (!tenant_level && (roles & ~RBAC_ROLE__DB_MASK))
        REFUSE(RBAC_DENY_INVALID, "a database grant takes read, write and owner only");
    if (all && (roles & RBAC_ROLE_OWNER))
        REFUSE(RBAC_DENY_INVALID, "\"*\" takes read and write only");
    if (granting) {
        unsigned held = held_roles(s, actor, t, tenant_level ? NULL : db);
        if (roles & ~held)
            REFUSE(RBAC_DENY_ESCALATION, "%s may not grant roles it does not hold", actor->id);
    }
    return ST_OK;
}

enum st_code
rbac_policy_grant(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                  const char *tenant, const char *db, enum rbac_subject_kind kind,
                  const char *subject, unsigned roles, int64_t now_ns,
                  struct rbac_snapshot **out, struct rbac_decision *why, struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    const char *t = tenant ? tenant : actor ? actor->tenant : NULL;
    enum st_code rc = grant_prepare(s, actor, t, db, kind, subject, roles, true, why, err);
    if (rc != ST_OK)
        return rc;
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return oom(NULL, why, err);
    if (push_grant(c, t, db ? db : "", kind, subject, roles, actor->id, now_ns) != 0)
        return oom(c, why, err);
    rbac__decide(why, RBAC_OK, "%s granted roles 0x%x on \"%s\" to %s:%s", actor->id, roles,
                 db ? db : "(tenant)", rbac__subject_kind_name(kind), subject);
    return publish(s, c, out, why, err);
}

enum st_code
rbac_policy_revoke(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                   const char *tenant, const char *db, enum rbac_subject_kind kind,
                   const char *subject, unsigned roles, int64_t now_ns,
                   struct rbac_snapshot **out, struct rbac_decision *why, struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    const char *t = tenant ? tenant : actor ? actor->tenant : NULL;
    enum st_code rc = grant_prepare(s, actor, t, db, kind, subject, roles, false, why, err);
    if (rc != ST_OK)
        return rc;
    const struct rbac__grant *g = rbac__find_grant(s, t, db ? db : "", kind, subject);
    if (!g || !(g->roles & roles))
        REFUSE(RBAC_DENY_NOT_FOUND, "%s:%s holds none of these roles there",
               rbac__subject_kind_name(kind), subject);
    if (db && (g->roles & roles & RBAC_ROLE_OWNER) &&
        rbac__count_owners(s, t, db, g, now_ns) == 0) {
        bool effective = true;
        if (kind == RBAC_SUBJECT_TOKEN) {
            const struct rbac__token *tok = rbac__find_token(s, strtoull(subject, NULL, 16));
            effective = tok && (tok->expires_ns == 0 || now_ns < tok->expires_ns);
        }
        if (effective)
            REFUSE(RBAC_DENY_LAST_OWNER, "cannot remove the last Owner of database \"%s\"", db);
    }
    struct rbac_snapshot *c = rbac__snapshot_clone(s);
    if (!c)
        return oom(NULL, why, err);
    for (size_t i = 0; i < c->n_grants; i++) {
        struct rbac__grant *h = &c->grants[i];
        if (h->kind == kind && !strcmp(h->tenant, t) && !strcmp(h->db, db ? db : "") &&
            !strcmp(h->subject, subject)) {
            h->roles &= ~roles;
            if (h->roles == 0)
                drop_grant(c, i);
            break;
        }
    }
    rbac__decide(why, RBAC_OK, "%s revoked roles 0x%x on \"%s\" from %s:%s", actor->id, roles,
                 db ? db : "(tenant)", rbac__subject_kind_name(kind), subject);
    return publish(s, c, out, why, err);
}

/* ---- listing ---- */

static void
fill_token_info(const struct rbac__token *t, struct rbac_token_info *i)
{
    memset(i, 0, sizeof *i);
    i->id = t->id;
    i->kind = t->kind;
    rbac__copy(i->name, sizeof i->name, t->name);
    rbac__copy(i->tenant, sizeof i->tenant, t->tenant);
    rbac__copy(i->creator, sizeof i->creator, t->creator);
    i->created_ns = t->created_ns;
    i->expires_ns = t->expires_ns;
    i->last_used_ns = atomic_load_explicit(&((struct rbac__token *)t)->last_used_ns,
                                           memory_order_relaxed);
    rbac__copy(i->description, sizeof i->description, t->description ? t->description : "");
}

enum st_code
rbac_policy_token_list(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                       const char *tenant, const char *database, struct rbac_token_info **out,
                       size_t *n_out, struct rbac_decision *why, struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    *n_out = 0;
    const char *t = tenant ? tenant : actor ? actor->tenant : NULL;
    CHECK(RBAC_PRIV_TOKEN_LIST, t, database);
    struct rbac_token_info *v = s->n_tokens ? calloc(s->n_tokens, sizeof *v) : NULL;
    if (s->n_tokens && !v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < s->n_tokens; i++) {
        const struct rbac__token *tok = s->tokens[i];
        if (strcmp(tok->tenant, t) != 0)
            continue;
        if (tok->kind == RBAC_TOKEN_OPERATOR && actor->kind != RBAC_PRINCIPAL_OPERATOR)
            continue;
        if (database) {
            char hex[17];
            token_hex(tok->id, hex);
            if (!rbac__find_grant(s, t, database, RBAC_SUBJECT_TOKEN, hex))
                continue;
        }
        fill_token_info(tok, &v[n++]);
    }
    *out = v;
    *n_out = n;
    return ST_OK;
}

enum st_code
rbac_policy_grant_list(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                       const char *tenant, const char *database, struct rbac_grant_info **out,
                       size_t *n_out, struct rbac_decision *why, struct st_error *err)
{
    *out = NULL;
    WHY_LOCAL;
    *n_out = 0;
    const char *t = tenant ? tenant : actor ? actor->tenant : NULL;
    CHECK(RBAC_PRIV_ROLE_LIST, t, database);
    struct rbac_grant_info *v = s->n_grants ? calloc(s->n_grants, sizeof *v) : NULL;
    if (s->n_grants && !v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < s->n_grants; i++) {
        const struct rbac__grant *g = &s->grants[i];
        if (strcmp(g->tenant, t) != 0)
            continue;
        if (database && strcmp(g->db, database) != 0 && strcmp(g->db, RBAC_DB_ALL) != 0)
            continue;
        struct rbac_grant_info *gi = &v[n++];
        rbac__copy(gi->tenant, sizeof gi->tenant, g->tenant);
        rbac__copy(gi->database, sizeof gi->database, g->db);
        gi->subject_kind = g->kind;
        rbac__copy(gi->subject, sizeof gi->subject, g->subject);
        gi->roles = g->roles;
        rbac__copy(gi->creator, sizeof gi->creator, g->creator);
        gi->created_ns = g->created_ns;
    }
    *out = v;
    *n_out = n;
    return ST_OK;
}

enum st_code
rbac_tenant_list(const struct rbac_snapshot *s, const struct rbac_principal *actor,
                 char ***names_out, size_t *n_out, struct rbac_decision *why,
                 struct st_error *err)
{
    *names_out = NULL;
    *n_out = 0;
    WHY_LOCAL;
    CHECK(RBAC_PRIV_TENANT_ADMIN, NULL, NULL);
    char **v = calloc(s->n_tenants ? s->n_tenants : 1, sizeof *v);
    if (!v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_tenants; i++) {
        if (!(v[i] = rbac__strdup(s->tenants[i].name))) {
            rbac_strv_free(v, i);
            return st_error_set(err, ST_ENOMEM, "out of memory");
        }
    }
    *names_out = v;
    *n_out = s->n_tenants;
    return ST_OK;
}
