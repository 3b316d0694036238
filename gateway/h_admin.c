/*
 * h_admin.c: strata.v1.AdminService (proto/strata/v1/admin.proto), the administration
 * RPCs that the `strata database|token|role|whoami|check|audit` commands call.
 *
 * Every call was authenticated on arrival (call.c) and, for privileges that name no
 * database, checked there too (methods.c gives each RPC its privilege). The rest of the
 * authority check is rbac's: each change goes through an rbac_policy_* mutation, which
 * applies the same privileges per database and the guard rails (nobody grants or mints
 * more than it holds, the last Owner stays, another tenant's objects look exactly like
 * missing ones), under the policy store's one lock (gw_policy_mutate: compute, engine
 * work, write the policy file, publish). Listings come from rbac's listing functions,
 * which filter by authority. Every change, allowed or refused, is one audit event with
 * rbac's reason.
 *
 * The work runs on the pool (it writes files: the policy, storage, the token file), the
 * reply is sent from the call's worker. Token secrets exist only in the reply of
 * CreateToken / RotateToken and are wiped from our buffers once packed.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_call.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/log.h"
#include "strata/v1/admin.pb-c.h"

#define AUDIT_READ_DEFAULT 1000
#define AUDIT_READ_MAX 10000
#define EXPIRES_MAX_S (INT64_C(100) * 366 * 86400)

/* ---- a small arena for building replies ---------------------------------------------------- */

struct arena {
    void **blocks;
    size_t n, cap;
    bool oom;
};

static void *
al(struct arena *a, size_t n)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        void **b = realloc(a->blocks, cap * sizeof *b);
        if (!b) {
            a->oom = true;
            return NULL;
        }
        a->blocks = b;
        a->cap = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        a->oom = true;
        return NULL;
    }
    a->blocks[a->n++] = p;
    return p;
}

static char *
sdup(struct arena *a, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = al(a, n);
    if (d)
        memcpy(d, s ? s : "", n);
    return d ? d : (char *)"";
}

static void
arena_free(struct arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

/* ---- the call's state ------------------------------------------------------------------------ */

struct adm {
    const char *op;         /* "CreateDatabase", ... */
    ProtobufCMessage *req;
    grpc_slice reply;
    bool has_reply;
    enum st_code rc;
    struct st_error err;
};

void
gw_h_admin_free(struct gw_call *c)
{
    struct adm *a = c->hs;
    if (a->req)
        protobuf_c_message_free_unpacked(a->req, NULL);
    if (a->has_reply)
        grpc_slice_unref(a->reply);
    free(a);
    c->hs = NULL;
}

static void
reply(struct adm *a, const ProtobufCMessage *m)
{
    a->reply = gw_pack(m);
    a->has_reply = true;
}

static const struct rbac_principal *
actor(struct gw_call *c)
{
    return &c->who.p;
}

#define FAIL(a, code, ...) ((a)->rc = st_error_set(&(a)->err, (code), __VA_ARGS__))

/* One audit event for a change (or its refusal). */
static void
audit_change(struct gw_call *c, const char *database, const char *target, enum st_code rc,
             const struct rbac_decision *why, const struct st_error *err)
{
    struct rbac_audit_event ev = {.category = "admin", .method = gw_call_method(c),
                                  .database = database, .target = target, .rows = -1,
                                  .bytes = -1, .lines = -1, .rejected = -1, .duration_ns = -1};
    gw_audit_from(&c->who, &ev);
    if (rc == ST_OK) {
        ev.outcome = RBAC_AUDIT_ALLOW;
        ev.reason = "ok";
        ev.detail = why ? why->text : NULL;
    } else {
        bool denied = rc == ST_EPERMISSION || rc == ST_EPRECONDITION;
        ev.outcome = denied ? RBAC_AUDIT_DENY : RBAC_AUDIT_ERROR;
        ev.reason = why && why->reason != RBAC_OK ? rbac_reason_name(why->reason)
                                                  : st_code_name(rc);
        ev.detail = why && why->reason != RBAC_OK ? why->text : err ? err->msg : NULL;
    }
    gw_audit(&ev);
}

static int64_t
expiry(uint64_t seconds, int64_t now, bool *ok)
{
    *ok = seconds <= (uint64_t)EXPIRES_MAX_S;
    return seconds && *ok ? now + (int64_t)seconds * ST_NS_PER_SEC : 0;
}

static bool
parse_token_id(const char *s, uint64_t *id)
{
    if (!s || strlen(s) != 16)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *id = v;
    return v != 0;
}

static Strata__V1__TokenKind
kind_to_pb(enum rbac_token_kind k)
{
    switch (k) {
    case RBAC_TOKEN_OPERATOR: return STRATA__V1__TOKEN_KIND__TOKEN_KIND_OPERATOR;
    case RBAC_TOKEN_MANAGEMENT: return STRATA__V1__TOKEN_KIND__TOKEN_KIND_MANAGEMENT;
    case RBAC_TOKEN_DATABASE: return STRATA__V1__TOKEN_KIND__TOKEN_KIND_DATABASE;
    }
    return STRATA__V1__TOKEN_KIND__TOKEN_KIND_UNSPECIFIED;
}

static const char *
role_name(unsigned bit)
{
    switch (bit) {
    case RBAC_ROLE_READ: return "read";
    case RBAC_ROLE_WRITE: return "write";
    case RBAC_ROLE_OWNER: return "owner";
    case RBAC_ROLE_TENANT_ADMIN: return "tenant_admin";
    }
    return "";
}

static unsigned
role_parse(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "read"))
        return RBAC_ROLE_READ;
    if (!strcmp(s, "write"))
        return RBAC_ROLE_WRITE;
    if (!strcmp(s, "owner"))
        return RBAC_ROLE_OWNER;
    if (!strcmp(s, "tenant_admin"))
        return RBAC_ROLE_TENANT_ADMIN;
    return 0;
}

static const unsigned role_bits[] = {RBAC_ROLE_OWNER, RBAC_ROLE_READ, RBAC_ROLE_WRITE,
                                     RBAC_ROLE_TENANT_ADMIN};

/* ---- conversions ------------------------------------------------------------------------------ */

/* The token's permissions, from its grants. `only` (or NULL) keeps one database: what a
 * database's Owner may see of tokens that also hold rights elsewhere. */
static void
token_perms(struct arena *ar, const struct rbac_snapshot *s, uint64_t id, const char *only,
            Strata__V1__DatabasePermission ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    struct rbac_principal p;
    rbac_principal_init(&p);
    struct rbac_grant_info *g = NULL;
    size_t n = 0;
    if (rbac_principal_for_token(s, id, &p, NULL) == ST_OK && p.kind == RBAC_PRINCIPAL_DATABASE &&
        rbac_principal_grants(s, &p, &g, &n, NULL) == ST_OK && n) {
        Strata__V1__DatabasePermission **v = al(ar, n * sizeof *v);
        size_t k = 0;
        for (size_t i = 0; v && i < n; i++) {
            if (only && strcmp(g[i].database, only) != 0)
                continue;
            Strata__V1__DatabasePermission *d = al(ar, sizeof *d);
            if (!d)
                break;
            strata__v1__database_permission__init(d);
            d->database = sdup(ar, g[i].database);
            d->owner = (g[i].roles & RBAC_ROLE_OWNER) != 0;
            d->read = d->owner || (g[i].roles & RBAC_ROLE_READ);
            d->write = d->owner || (g[i].roles & RBAC_ROLE_WRITE);
            v[k++] = d;
        }
        *out = v;
        *n_out = k;
    }
    free(g);
    rbac_principal_cleanup(&p);
}

static Strata__V1__TokenInfo *
token_pb(struct arena *ar, const struct rbac_snapshot *s, const struct rbac_token_info *t,
         const char *only_db)
{
    Strata__V1__TokenInfo *o = al(ar, sizeof *o);
    if (!o)
        return NULL;
    strata__v1__token_info__init(o);
    char id[17];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)t->id);
    o->id = sdup(ar, id);
    o->name = sdup(ar, t->name);
    o->kind = kind_to_pb(t->kind);
    o->created_at_ns = t->created_ns;
    o->expires_at_ns = t->expires_ns;
    o->created_by = sdup(ar, t->creator);
    o->description = sdup(ar, t->description);
    o->hint = sdup(ar, t->kind == RBAC_TOKEN_MANAGEMENT ? "strata_m_"
                       : t->kind == RBAC_TOKEN_DATABASE ? "strata_d_"
                                                        : "");
    if (t->kind == RBAC_TOKEN_DATABASE)
        token_perms(ar, s, t->id, only_db, &o->permissions, &o->n_permissions);
    return o;
}

static void
subject_pb(struct arena *ar, enum rbac_subject_kind k, const char *subject,
           Strata__V1__Principal *p)
{
    strata__v1__principal__init(p);
    switch (k) {
    case RBAC_SUBJECT_USER:
        p->kind_case = STRATA__V1__PRINCIPAL__KIND_USER;
        p->user = sdup(ar, subject);
        break;
    case RBAC_SUBJECT_GROUP:
        p->kind_case = STRATA__V1__PRINCIPAL__KIND_GROUP;
        p->group = sdup(ar, subject);
        break;
    case RBAC_SUBJECT_TOKEN:
        p->kind_case = STRATA__V1__PRINCIPAL__KIND_TOKEN_ID;
        p->token_id = sdup(ar, subject);
        break;
    }
}

static Strata__V1__RoleBinding *
binding_pb(struct arena *ar, const struct rbac_grant_info *g, unsigned role)
{
    Strata__V1__RoleBinding *b = al(ar, sizeof *b);
    Strata__V1__Principal *p = al(ar, sizeof *p);
    if (!b || !p)
        return NULL;
    strata__v1__role_binding__init(b);
    b->database = sdup(ar, g->database);
    b->role = sdup(ar, role_name(role));
    subject_pb(ar, g->subject_kind, g->subject, p);
    b->principal = p;
    b->granted_at_ns = g->created_ns;
    b->granted_by = sdup(ar, g->creator);
    return b;
}

/* Expand grants into one binding per role. */
static Strata__V1__RoleBinding **
bindings_pb(struct arena *ar, const struct rbac_grant_info *g, size_t n, size_t *n_out)
{
    Strata__V1__RoleBinding **v = al(ar, (n * 4 + 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++)
        for (size_t r = 0; r < 4; r++)
            if (g[i].roles & role_bits[r]) {
                Strata__V1__RoleBinding *b = binding_pb(ar, &g[i], role_bits[r]);
                if (b)
                    v[k++] = b;
            }
    *n_out = k;
    return v;
}

static int
cmp_binding(const void *x, const void *y)
{
    const Strata__V1__RoleBinding *a = *(Strata__V1__RoleBinding *const *)x;
    const Strata__V1__RoleBinding *b = *(Strata__V1__RoleBinding *const *)y;
    int c = strcmp(a->database, b->database);
    if (!c)
        c = strcmp(a->role, b->role);
    if (!c)
        c = (int)a->principal->kind_case - (int)b->principal->kind_case;
    if (!c) {
        const char *pa = a->principal->user, *pb = b->principal->user; /* oneof: same slot */
        c = strcmp(pa ? pa : "", pb ? pb : "");
    }
    return c;
}

/* Parse the Principal of a request into an rbac subject. */
static enum st_code
subject_parse(const Strata__V1__Principal *p, enum rbac_subject_kind *k, const char **subject,
              struct st_error *err)
{
    if (!p)
        return st_error_set(err, ST_EINVAL, "name a user, a group or a token");
    switch (p->kind_case) {
    case STRATA__V1__PRINCIPAL__KIND_USER:
        *k = RBAC_SUBJECT_USER;
        *subject = p->user;
        break;
    case STRATA__V1__PRINCIPAL__KIND_GROUP:
        *k = RBAC_SUBJECT_GROUP;
        *subject = p->group;
        break;
    case STRATA__V1__PRINCIPAL__KIND_TOKEN_ID:
        *k = RBAC_SUBJECT_TOKEN;
        *subject = p->token_id;
        break;
    default:
        return st_error_set(err, ST_EINVAL, "name a user, a group or a token");
    }
    if (!*subject || !**subject)
        return st_error_set(err, ST_EINVAL, "the principal's name is empty");
    return ST_OK;
}

static const char *
subject_prefix(enum rbac_subject_kind k)
{
    return k == RBAC_SUBJECT_USER ? "user:" : k == RBAC_SUBJECT_GROUP ? "group:" : "token:";
}

/* ---- databases -------------------------------------------------------------------------------- */

struct db_arg {
    const struct rbac_principal *actor;
    const char *name;
    struct rbac_decision why;
};

static enum st_code
db_create_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
             struct st_error *err)
{
    struct db_arg *a = arg;
    char en[GW_ENGINE_NAME_MAX + 1];
    ST_TRY(rbac_policy_db_create(cur, a->actor, NULL, a->name, NULL, st_now_ns(), next, &a->why,
                                 err));
    enum st_code rc = gw_engine_name(a->actor->tenant, a->name, en, err);
    if (rc == ST_OK) {
        rc = eng_db_create(gw_srv->eng, en, err);
        if (rc == ST_EEXISTS)
            rc = ST_OK; /* empty storage left by an interrupted change: reuse it */
    }
    if (rc != ST_OK) {
        rbac_snapshot_unref(*next);
        *next = NULL;
    }
    return rc;
}

static enum st_code
db_delete_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
             struct st_error *err)
{
    struct db_arg *a = arg;
    char en[GW_ENGINE_NAME_MAX + 1];
    ST_TRY(rbac_policy_db_delete(cur, a->actor, NULL, a->name, st_now_ns(), next, &a->why, err));
    /* storage first: a crash before the policy is written leaves an empty database */
    enum st_code rc = gw_engine_name(a->actor->tenant, a->name, en, err);
    if (rc == ST_OK) {
        rc = eng_db_drop(gw_srv->eng, en, err);
        if (rc == ST_ENOTFOUND)
            rc = ST_OK;
    }
    if (rc != ST_OK) {
        rbac_snapshot_unref(*next);
        *next = NULL;
    }
    return rc;
}

static Strata__V1__Database *
db_pb(struct arena *ar, const struct rbac_db_info *d)
{
    Strata__V1__Database *o = al(ar, sizeof *o);
    if (!o)
        return NULL;
    strata__v1__database__init(o);
    o->name = sdup(ar, d->name);
    o->created_at_ns = d->created_ns;
    o->created_by = sdup(ar, d->creator);
    return o;
}

static void
op_create_database(struct gw_call *c, struct adm *a, struct arena *ar)
{
    const Strata__V1__CreateDatabaseRequest *q = (const void *)a->req;
    char en[GW_ENGINE_NAME_MAX + 1];
    if (gw_engine_name(actor(c)->tenant, q->name, en, &a->err) != ST_OK) {
        a->rc = ST_EINVAL;
        audit_change(c, q->name, "db_create", a->rc, NULL, &a->err);
        return;
    }
    struct db_arg arg = {actor(c), q->name, {RBAC_OK, ""}};
    a->rc = gw_policy_mutate(db_create_fn, &arg, &a->err);
    audit_change(c, q->name, "db_create", a->rc, &arg.why, &a->err);
    if (a->rc != ST_OK)
        return;
    struct rbac_snapshot *s = gw_policy_get();
    struct rbac_db_info d;
    rbac_db_info_get(s, actor(c)->tenant, q->name, &d);
    rbac_snapshot_unref(s);
    Strata__V1__CreateDatabaseResponse r = STRATA__V1__CREATE_DATABASE_RESPONSE__INIT;
    r.database = db_pb(ar, &d);
    reply(a, &r.base);
}

static void
op_list_databases(struct gw_call *c, struct adm *a, struct arena *ar)
{
    struct rbac_snapshot *s = gw_policy_get();
    char **names = NULL;
    size_t n = 0;
    struct rbac_decision why;
    a->rc = rbac_db_list(s, actor(c), NULL, &names, &n, &why, &a->err);
    if (a->rc == ST_OK) {
        Strata__V1__ListDatabasesResponse r = STRATA__V1__LIST_DATABASES_RESPONSE__INIT;
        r.databases = al(ar, (n + 1) * sizeof *r.databases);
        for (size_t i = 0; r.databases && i < n; i++) {
            struct rbac_db_info d;
            if (rbac_db_info_get(s, actor(c)->tenant, names[i], &d))
                r.databases[r.n_databases++] = db_pb(ar, &d);
        }
        if (!ar->oom)
            reply(a, &r.base);
    }
    rbac_strv_free(names, n);
    rbac_snapshot_unref(s);
}

static void
op_delete_database(struct gw_call *c, struct adm *a, struct arena *ar)
{
    (void)ar;
    const Strata__V1__DeleteDatabaseRequest *q = (const void *)a->req;
    struct db_arg arg = {actor(c), q->name, {RBAC_OK, ""}};
    if (gw_check(&c->who, RBAC_PRIV_DB_DELETE, q->name, gw_call_method(c), &a->err) != ST_OK) {
        a->rc = a->err.code; /* audited by the check */
        return;
    }
    a->rc = gw_policy_mutate(db_delete_fn, &arg, &a->err);
    audit_change(c, q->name, "db_delete", a->rc, &arg.why, &a->err);
    if (a->rc == ST_OK) {
        Strata__V1__DeleteDatabaseResponse r = STRATA__V1__DELETE_DATABASE_RESPONSE__INIT;
        reply(a, &r.base);
    }
}

/* ---- tokens ----------------------------------------------------------------------------------- */

struct tok_arg {
    const struct rbac_principal *actor;
    struct rbac_token_spec spec;
    uint64_t id;
    int64_t new_expires;
    bool revoke;
    struct rbac_secret secret;
    struct rbac_decision why;
    bool operator_rotated;
};

static enum st_code
tok_create_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
              struct st_error *err)
{
    struct tok_arg *a = arg;
    return rbac_policy_token_create(cur, a->actor, &a->spec, st_now_ns(), next, &a->id,
                                    &a->secret, &a->why, err);
}

/* Write the operator token file with the new secret (before the policy: a crash in
 * between leaves the file's token, which the next start installs). */
static enum st_code
write_operator_file(const struct rbac_secret *sec, struct st_error *err)
{
    char line[RBAC_TOKEN_LEN + 2];
    int n = snprintf(line, sizeof line, "%s\n", sec->text);
    enum st_code rc =
        st_file_write_atomic(gw_srv->cfg.admin_token_file, line, (size_t)n, 0600, err);
    OPENSSL_cleanse(line, sizeof line);
    if (rc != ST_OK)
        st_error_prefix(err, "writing --admin-token-file: ");
    return rc;
}

static enum st_code
tok_change_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
              struct st_error *err)
{
    struct tok_arg *a = arg;
    int64_t now = st_now_ns();
    if (a->revoke)
        return rbac_policy_token_revoke(cur, a->actor, a->id, now, next, &a->why, err);
    ST_TRY(rbac_policy_token_rotate(cur, a->actor, a->id, now, a->new_expires, next, &a->secret,
                                    &a->why, err));
    struct rbac_token_info ti;
    if (rbac_token_info_get(cur, a->id, &ti, NULL) == ST_OK && ti.kind == RBAC_TOKEN_OPERATOR) {
        enum st_code rc = write_operator_file(&a->secret, err);
        if (rc != ST_OK) {
            rbac_snapshot_unref(*next);
            *next = NULL;
            rbac_secret_wipe(&a->secret);
            return rc;
        }
        a->operator_rotated = true;
    }
    return ST_OK;
}

static void
op_create_token(struct gw_call *c, struct adm *a, struct arena *ar)
{
    const Strata__V1__CreateTokenRequest *q = (const void *)a->req;
    struct tok_arg arg = {.actor = actor(c)};
    arg.spec.name = q->name;
    arg.spec.tenant = q->tenant && *q->tenant ? q->tenant : NULL;
    arg.spec.description = q->description;
    bool ok;
    arg.spec.expires_ns = expiry(q->expires_in_seconds, st_now_ns(), &ok);
    struct rbac_perm *perms = NULL;
    if (!ok) {
        FAIL(a, ST_EINVAL, "expires_in_seconds is too large");
    } else if (q->kind == STRATA__V1__TOKEN_KIND__TOKEN_KIND_MANAGEMENT) {
        arg.spec.kind = RBAC_TOKEN_MANAGEMENT;
        if (q->n_permissions)
            FAIL(a, ST_EINVAL, "a management token takes no database permissions");
    } else if (q->kind == STRATA__V1__TOKEN_KIND__TOKEN_KIND_DATABASE) {
        arg.spec.kind = RBAC_TOKEN_DATABASE;
        perms = al(ar, (q->n_permissions + 1) * sizeof *perms);
        for (size_t i = 0; perms && i < q->n_permissions; i++) {
            const Strata__V1__DatabasePermission *p = q->permissions[i];
            perms[i].database = p->database;
            perms[i].roles = (p->read ? RBAC_ROLE_READ : 0) | (p->write ? RBAC_ROLE_WRITE : 0) |
                             (p->owner ? RBAC_ROLE_OWNER : 0);
        }
        arg.spec.perms = perms;
        arg.spec.n_perms = q->n_permissions;
    } else {
        FAIL(a, ST_EINVAL, "the token kind must be DATABASE or MANAGEMENT");
    }
    if (a->rc == ST_OK)
        a->rc = gw_policy_mutate(tok_create_fn, &arg, &a->err);
    char target[64];
    snprintf(target, sizeof target, "token:%016llx", (unsigned long long)arg.id);
    audit_change(c, NULL, a->rc == ST_OK ? target : "token_create", a->rc,
                 a->rc == ST_OK || arg.why.reason != RBAC_OK ? &arg.why : NULL, &a->err);
    if (a->rc != ST_OK)
        return;
    struct rbac_snapshot *s = gw_policy_get();
    struct rbac_token_info ti;
    rbac_token_info_get(s, arg.id, &ti, NULL);
    Strata__V1__CreateTokenResponse r = STRATA__V1__CREATE_TOKEN_RESPONSE__INIT;
    r.token = token_pb(ar, s, &ti, NULL);
    r.secret = arg.secret.text;
    if (!ar->oom)
        reply(a, &r.base);
    else
        FAIL(a, ST_ENOMEM, "out of memory");
    rbac_secret_wipe(&arg.secret);
    rbac_snapshot_unref(s);
}

static bool
is_admin(const struct rbac_snapshot *s, const struct rbac_principal *p)
{
    struct rbac_decision why;
    return rbac_check(s, p, RBAC_PRIV_TOKEN_LIST, NULL, NULL, &why) == RBAC_OK;
}

static int
cmp_token(const void *x, const void *y)
{
    const Strata__V1__TokenInfo *a = *(Strata__V1__TokenInfo *const *)x;
    const Strata__V1__TokenInfo *b = *(Strata__V1__TokenInfo *const *)y;
    return strcmp(a->name, b->name);
}

static void
op_list_tokens(struct gw_call *c, struct adm *a, struct arena *ar)
{
    const Strata__V1__ListTokensRequest *q = (const void *)a->req;
    const char *db = q->database && *q->database ? q->database : NULL;
    if (db && gw_check(&c->who, RBAC_PRIV_TOKEN_LIST, db, gw_call_method(c), &a->err) != ST_OK) {
        a->rc = a->err.code;
        return;
    }
    struct rbac_snapshot *s = gw_policy_get();
    struct rbac_token_info *v = NULL;
    size_t n = 0;
    struct rbac_decision why;
    a->rc = rbac_policy_token_list(s, actor(c), NULL, db, &v, &n, &why, &a->err);
    if (a->rc == ST_OK) {
        bool admin = is_admin(s, actor(c));
        Strata__V1__ListTokensResponse r = STRATA__V1__LIST_TOKENS_RESPONSE__INIT;
        r.tokens = al(ar, (n + 1) * sizeof *r.tokens);
        for (size_t i = 0; r.tokens && i < n; i++) {
            Strata__V1__TokenInfo *t = token_pb(ar, s, &v[i], admin ? NULL : db);
            if (t)
                r.tokens[r.n_tokens++] = t;
        }
        if (r.tokens)
            qsort(r.tokens, r.n_tokens, sizeof *r.tokens, cmp_token);
        if (!ar->oom)
            reply(a, &r.base);
    } else {
        audit_change(c, db, "token_list", a->rc, &why, &a->err);
    }
    free(v);
    rbac_snapshot_unref(s);
}

/* The token a revoke/rotate request names: by id, or by name in the caller's tenant.
 * A name that does not resolve becomes id 0, which rbac answers exactly like another
 * tenant's token (not found for administrators, permission denied for others). */
static uint64_t
resolve_token(struct gw_call *c, const char *id, const char *name)
{
    uint64_t v = 0;
    if (id && *id) {
        if (!parse_token_id(id, &v))
            v = 0;
        return v;
    }
    struct rbac_snapshot *s = gw_policy_get();
    if (rbac_token_id_by_name(s, actor(c)->tenant, name, &v, NULL) != ST_OK)
        v = 0;
    rbac_snapshot_unref(s);
    return v;
}

static void
op_token_change(struct gw_call *c, struct adm *a, struct arena *ar, bool revoke)
{
    const char *id_s, *name;
    uint64_t exp_s = 0;
    if (revoke) {
        const Strata__V1__RevokeTokenRequest *q = (const void *)a->req;
        id_s = q->id;
        name = q->name;
    } else {
        const Strata__V1__RotateTokenRequest *q = (const void *)a->req;
        id_s = q->id;
        name = q->name;
        exp_s = q->expires_in_seconds;
    }
    if ((!id_s || !*id_s) && (!name || !*name)) {
        FAIL(a, ST_EINVAL, "name the token by id or by name");
        return;
    }
    if (id_s && *id_s) {
        uint64_t tmp;
        if (!parse_token_id(id_s, &tmp)) {
            FAIL(a, ST_EINVAL, "a token id is 16 lower-case hex digits");
            return;
        }
    }
    struct tok_arg arg = {.actor = actor(c), .revoke = revoke};
    arg.id = resolve_token(c, id_s, name);
    bool ok;
    arg.new_expires = expiry(exp_s, st_now_ns(), &ok);
    if (!ok) {
        FAIL(a, ST_EINVAL, "expires_in_seconds is too large");
        return;
    }
    /* what the token was, for the reply (only used when the change is allowed) */
    struct rbac_snapshot *before = gw_policy_get();
    struct rbac_token_info ti;
    bool known = rbac_token_info_get(before, arg.id, &ti, NULL) == ST_OK;
    a->rc = gw_policy_mutate(tok_change_fn, &arg, &a->err);
    char target[64];
    snprintf(target, sizeof target, "token:%016llx", (unsigned long long)arg.id);
    audit_change(c, NULL, target, a->rc, arg.why.reason != RBAC_OK || a->rc == ST_OK ? &arg.why
                                                                                     : NULL,
                 &a->err);
    if (a->rc == ST_OK && known) {
        struct rbac_snapshot *after = gw_policy_get();
        if (revoke) {
            Strata__V1__RevokeTokenResponse r = STRATA__V1__REVOKE_TOKEN_RESPONSE__INIT;
            r.token = token_pb(ar, before, &ti, NULL);
            if (r.token) {
                r.token->revoked = true;
                r.token->revoked_at_ns = st_now_ns();
            }
            reply(a, &r.base);
        } else {
            rbac_token_info_get(after, arg.id, &ti, NULL);
            Strata__V1__RotateTokenResponse r = STRATA__V1__ROTATE_TOKEN_RESPONSE__INIT;
            r.token = token_pb(ar, after, &ti, NULL);
            if (r.token)
                r.token->rotated_at_ns = st_now_ns();
            r.secret = arg.secret.text;
            reply(a, &r.base);
            if (arg.operator_rotated)
                st_log(ST_LOG_NOTICE, "auth", "the operator token was rotated; the new one is "
                                              "in --admin-token-file");
        }
        rbac_snapshot_unref(after);
    }
    rbac_secret_wipe(&arg.secret);
    rbac_snapshot_unref(before);
}

/* ---- roles ------------------------------------------------------------------------------------ */

struct role_arg {
    const struct rbac_principal *actor;
    const char *db;
    enum rbac_subject_kind kind;
    const char *subject;
    unsigned roles;
    bool grant;
    struct rbac_decision why;
};

static enum st_code
role_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
        struct st_error *err)
{
    struct role_arg *a = arg;
    if (a->grant)
        return rbac_policy_grant(cur, a->actor, NULL, a->db, a->kind, a->subject, a->roles,
                                 st_now_ns(), next, &a->why, err);
    return rbac_policy_revoke(cur, a->actor, NULL, a->db, a->kind, a->subject, a->roles,
                              st_now_ns(), next, &a->why, err);
}

static void
op_role_change(struct gw_call *c, struct adm *a, struct arena *ar, bool grant)
{
    const char *db, *role;
    const Strata__V1__Principal *who;
    if (grant) {
        const Strata__V1__GrantRoleRequest *q = (const void *)a->req;
        db = q->database;
        role = q->role;
        who = q->principal;
    } else {
        const Strata__V1__RevokeRoleRequest *q = (const void *)a->req;
        db = q->database;
        role = q->role;
        who = q->principal;
    }
    struct role_arg arg = {.actor = actor(c), .grant = grant, .db = db && *db ? db : NULL};
    arg.roles = role_parse(role);
    if (!arg.roles) {
        FAIL(a, ST_EINVAL, "unknown role \"%.40s\" (owner, write, read, tenant_admin)",
             role ? role : "");
        return;
    }
    if (subject_parse(who, &arg.kind, &arg.subject, &a->err) != ST_OK) {
        a->rc = ST_EINVAL;
        return;
    }
    a->rc = gw_policy_mutate(role_fn, &arg, &a->err);
    char target[RBAC_SUBJECT_MAX + 16];
    snprintf(target, sizeof target, "%s%s", subject_prefix(arg.kind), arg.subject);
    audit_change(c, arg.db, target, a->rc, &arg.why, &a->err);
    if (a->rc != ST_OK)
        return;
    if (grant) {
        Strata__V1__GrantRoleResponse r = STRATA__V1__GRANT_ROLE_RESPONSE__INIT;
        struct rbac_grant_info g = {.subject_kind = arg.kind, .roles = arg.roles,
                                    .created_ns = st_now_ns()};
        snprintf(g.database, sizeof g.database, "%s", arg.db ? arg.db : "");
        snprintf(g.subject, sizeof g.subject, "%s", arg.subject);
        snprintf(g.creator, sizeof g.creator, "%s", actor(c)->id);
        r.binding = binding_pb(ar, &g, arg.roles);
        reply(a, &r.base);
    } else {
        Strata__V1__RevokeRoleResponse r = STRATA__V1__REVOKE_ROLE_RESPONSE__INIT;
        reply(a, &r.base);
    }
}

static bool
principal_filter(const Strata__V1__Principal *f, const Strata__V1__RoleBinding *b)
{
    if (!f || f->kind_case == STRATA__V1__PRINCIPAL__KIND__NOT_SET)
        return true;
    if (f->kind_case != b->principal->kind_case)
        return false;
    const char *want = f->kind_case == STRATA__V1__PRINCIPAL__KIND_USER    ? f->user
                       : f->kind_case == STRATA__V1__PRINCIPAL__KIND_GROUP ? f->group
                                                                           : f->token_id;
    const char *have = b->principal->kind_case == STRATA__V1__PRINCIPAL__KIND_USER
                           ? b->principal->user
                       : b->principal->kind_case == STRATA__V1__PRINCIPAL__KIND_GROUP
                           ? b->principal->group
                           : b->principal->token_id;
    return want && have && !strcmp(want, have);
}

static void
op_list_roles(struct gw_call *c, struct adm *a, struct arena *ar)
{
    const Strata__V1__ListRolesRequest *q = (const void *)a->req;
    const char *db = q->database && *q->database ? q->database : NULL;
    if (db && gw_check(&c->who, RBAC_PRIV_ROLE_LIST, db, gw_call_method(c), &a->err) != ST_OK) {
        a->rc = a->err.code;
        return;
    }
    struct rbac_snapshot *s = gw_policy_get();
    struct rbac_decision why;
    struct rbac_grant_info *all = NULL;
    size_t n_all = 0;
    if (db || is_admin(s, actor(c))) {
        a->rc = rbac_policy_grant_list(s, actor(c), NULL, db, &all, &n_all, &why, &a->err);
    } else {
        /* every database the caller may manage (its Owners' view), "*" grants once */
        char **names = NULL;
        size_t n = 0;
        a->rc = rbac_db_list(s, actor(c), NULL, &names, &n, &why, &a->err);
        for (size_t i = 0; a->rc == ST_OK && i < n; i++) {
            if (rbac_check(s, actor(c), RBAC_PRIV_ROLE_LIST, NULL, names[i], &why) != RBAC_OK)
                continue;
            struct rbac_grant_info *g = NULL;
            size_t ng = 0;
            a->rc = rbac_policy_grant_list(s, actor(c), NULL, names[i], &g, &ng, &why, &a->err);
            struct rbac_grant_info *m =
                a->rc == ST_OK ? realloc(all, (n_all + ng + 1) * sizeof *m) : NULL;
            if (a->rc == ST_OK && !m)
                a->rc = st_error_set(&a->err, ST_ENOMEM, "out of memory");
            if (m) {
                all = m;
                for (size_t k = 0; k < ng; k++) {
                    bool dup = false;
                    for (size_t j = 0; j < n_all && !dup; j++)
                        dup = !strcmp(all[j].database, g[k].database) &&
                              all[j].subject_kind == g[k].subject_kind &&
                              !strcmp(all[j].subject, g[k].subject);
                    if (!dup)
                        all[n_all++] = g[k];
                }
            }
            free(g);
        }
        rbac_strv_free(names, n);
    }
    if (a->rc == ST_OK) {
        size_t nb = 0;
        Strata__V1__RoleBinding **v = bindings_pb(ar, all, n_all, &nb);
        Strata__V1__ListRolesResponse r = STRATA__V1__LIST_ROLES_RESPONSE__INIT;
        r.bindings = v;
        for (size_t i = 0; v && i < nb; i++)
            if (principal_filter(q->principal, v[i]))
                v[r.n_bindings++] = v[i];
        if (v)
            qsort(v, r.n_bindings, sizeof *v, cmp_binding);
        if (!ar->oom)
            reply(a, &r.base);
    } else {
        audit_change(c, db, "role_list", a->rc, &why, &a->err);
    }
    free(all);
    rbac_snapshot_unref(s);
}

/* ---- identity and dry runs -------------------------------------------------------------------- */

static void
op_whoami(struct gw_call *c, struct adm *a, struct arena *ar)
{
    const struct rbac_principal *p = actor(c);
    struct rbac_snapshot *s = gw_policy_get();
    Strata__V1__WhoAmIResponse r = STRATA__V1__WHO_AM_IRESPONSE__INIT;
    r.principal_id = sdup(ar, p->id);
    r.tenant = sdup(ar, p->tenant);
    r.expires_at_ns = p->expires_ns;
    r.server_version = (char *)GW_VERSION;
    if (p->kind == RBAC_PRINCIPAL_USER) {
        r.kind = "user";
        r.name = sdup(ar, p->user);
        r.groups = al(ar, (p->n_groups + 1) * sizeof *r.groups);
        for (size_t i = 0; r.groups && i < p->n_groups; i++)
            r.groups[r.n_groups++] = sdup(ar, p->groups[i]);
        r.issuer = sdup(ar, gw_srv->cfg.oidc_issuer ? gw_srv->cfg.oidc_issuer : "");
    } else {
        struct rbac_token_info ti;
        r.kind = "token";
        if (rbac_token_info_get(s, p->token_id, &ti, NULL) == ST_OK) {
            r.name = sdup(ar, ti.name);
            r.token_kind = kind_to_pb(ti.kind);
            if (ti.kind == RBAC_TOKEN_DATABASE)
                token_perms(ar, s, ti.id, NULL, &r.permissions, &r.n_permissions);
        }
    }
    struct rbac_grant_info *g = NULL;
    size_t n = 0;
    if (rbac_principal_grants(s, p, &g, &n, NULL) == ST_OK)
        r.roles = bindings_pb(ar, g, n, &r.n_roles);
    free(g);
    rbac_snapshot_unref(s);
    if (!ar->oom)
        reply(a, &r.base);
    else
        FAIL(a, ST_ENOMEM, "out of memory");
}

static void
op_check(struct gw_call *c, struct adm *a, struct arena *ar)
{
    (void)ar;
    const Strata__V1__CheckRequest *q = (const void *)a->req;
    enum rbac_priv priv;
    if (q->action && !strcmp(q->action, "read"))
        priv = RBAC_PRIV_QUERY;
    else if (q->action && !strcmp(q->action, "write"))
        priv = RBAC_PRIV_WRITE;
    else if (q->action && !strcmp(q->action, "manage"))
        priv = RBAC_PRIV_ROLE_GRANT;
    else {
        FAIL(a, ST_EINVAL, "unknown action \"%.40s\" (read, write, manage)",
             q->action ? q->action : "");
        return;
    }
    if (!q->database || rbac_name_check(RBAC_NAME_DATABASE, q->database, strlen(q->database),
                                        &a->err) != ST_OK) {
        a->rc = ST_EINVAL;
        if (!q->database)
            st_error_set(&a->err, ST_EINVAL, "name a database");
        return;
    }
    struct rbac_principal described;
    rbac_principal_init(&described);
    const struct rbac_principal *who = actor(c);
    bool other = q->principal && q->principal->kind_case != STRATA__V1__PRINCIPAL__KIND__NOT_SET;
    if (other) {
        /* asking about someone else: only who may see the database's grants */
        if (gw_check(&c->who, RBAC_PRIV_ROLE_LIST, q->database, gw_call_method(c), &a->err) !=
            ST_OK) {
            a->rc = a->err.code;
            return;
        }
        enum rbac_subject_kind k;
        const char *subject;
        if (subject_parse(q->principal, &k, &subject, &a->err) != ST_OK) {
            a->rc = ST_EINVAL;
            return;
        }
        struct rbac_snapshot *s = gw_policy_get();
        uint64_t id = 0;
        if (k == RBAC_SUBJECT_TOKEN) {
            /* another tenant's token looks exactly like one that does not exist */
            if (!parse_token_id(subject, &id) ||
                rbac_principal_for_token(s, id, &described, NULL) != ST_OK ||
                strcmp(described.tenant, who->tenant) != 0)
                FAIL(a, ST_EINVAL, "no token with this id");
        } else if (k == RBAC_SUBJECT_USER) {
            a->rc = rbac_principal_for_user(who->tenant, subject, NULL, 0, false, &described,
                                            &a->err);
        } else {
            /* a member of the group who holds nothing as a user */
            if (rbac_name_check(RBAC_NAME_SUBJECT, subject, strlen(subject), &a->err) != ST_OK) {
                a->rc = ST_EINVAL;
            } else {
                described.kind = RBAC_PRINCIPAL_USER;
                described.groups = calloc(1, sizeof *described.groups);
                if (described.groups && (described.groups[0] = strdup(subject)))
                    described.n_groups = 1;
                else
                    FAIL(a, ST_ENOMEM, "out of memory");
                snprintf(described.id, sizeof described.id, "group:%s", subject);
                snprintf(described.tenant, sizeof described.tenant, "%s", who->tenant);
            }
        }
        rbac_snapshot_unref(s);
        if (a->rc != ST_OK) {
            rbac_principal_cleanup(&described);
            return;
        }
        who = &described;
    }
    struct rbac_snapshot *s = gw_policy_get();
    struct rbac_decision why;
    enum rbac_reason r = rbac_check(s, who, priv, NULL, q->database, &why);
    rbac_snapshot_unref(s);
    Strata__V1__CheckResponse resp = STRATA__V1__CHECK_RESPONSE__INIT;
    resp.allowed = r == RBAC_OK;
    /* another tenant's database is answered like a missing one (rbac already does) */
    resp.reason = (char *)rbac_reason_name(r == RBAC_DENY_TENANT ? RBAC_DENY_NO_GRANT : r);
    resp.detail = why.text;
    reply(a, &resp.base);
    rbac_principal_cleanup(&described);
}

/* ---- audit ------------------------------------------------------------------------------------ */

static void
op_read_audit(struct gw_call *c, struct adm *a, struct arena *ar)
{
    (void)ar;
    const Strata__V1__ReadAuditRequest *q = (const void *)a->req;
    uint32_t limit = q->limit ? q->limit : AUDIT_READ_DEFAULT;
    if (limit > AUDIT_READ_MAX)
        limit = AUDIT_READ_MAX;
    /* the operator reads every tenant's events; administrators their tenant's */
    const char *tenant = actor(c)->kind == RBAC_PRINCIPAL_OPERATOR ? NULL : actor(c)->tenant;
    struct gw_audit_page page;
    a->rc = gw_audit_read(q->after_seq, limit, q->since_ns, q->until_ns, tenant, &page, &a->err);
    if (a->rc != ST_OK)
        return;
    Strata__V1__ReadAuditResponse r = STRATA__V1__READ_AUDIT_RESPONSE__INIT;
    r.records = page.records;
    r.n_records = page.n;
    r.last_seq = page.n ? page.last_seq : q->after_seq;
    r.more = page.more;
    reply(a, &r.base);
    gw_audit_page_free(&page);
}

/* ---- tenants ---------------------------------------------------------------------------------- */

struct tenant_arg {
    const struct rbac_principal *actor;
    const char *name;
    bool create;
    struct rbac_decision why;
};

static enum st_code
tenant_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
          struct st_error *err)
{
    struct tenant_arg *a = arg;
    if (a->create)
        return rbac_policy_tenant_create(cur, a->actor, a->name, st_now_ns(), next, &a->why, err);
    return rbac_policy_tenant_delete(cur, a->actor, a->name, next, &a->why, err);
}

static void
op_tenant_change(struct gw_call *c, struct adm *a, struct arena *ar, bool create)
{
    const char *name = create ? ((const Strata__V1__CreateTenantRequest *)(void *)a->req)->name
                              : ((const Strata__V1__DeleteTenantRequest *)(void *)a->req)->name;
    struct tenant_arg arg = {actor(c), name, create, {RBAC_OK, ""}};
    if (create && name && rbac_name_check(RBAC_NAME_TENANT, name, strlen(name), &a->err) !=
                              ST_OK) {
        a->rc = ST_EINVAL;
        return;
    }
    a->rc = gw_policy_mutate(tenant_fn, &arg, &a->err);
    char target[RBAC_NAME_MAX + 16];
    snprintf(target, sizeof target, "tenant:%.64s", name ? name : "");
    audit_change(c, NULL, target, a->rc, &arg.why, &a->err);
    if (a->rc != ST_OK)
        return;
    if (create) {
        Strata__V1__CreateTenantResponse r = STRATA__V1__CREATE_TENANT_RESPONSE__INIT;
        Strata__V1__Tenant *t = al(ar, sizeof *t);
        if (t) {
            strata__v1__tenant__init(t);
            t->name = sdup(ar, name);
        }
        r.tenant = t;
        reply(a, &r.base);
    } else {
        Strata__V1__DeleteTenantResponse r = STRATA__V1__DELETE_TENANT_RESPONSE__INIT;
        reply(a, &r.base);
    }
}

static void
op_list_tenants(struct gw_call *c, struct adm *a, struct arena *ar)
{
    struct rbac_snapshot *s = gw_policy_get();
    char **names = NULL;
    size_t n = 0;
    struct rbac_decision why;
    a->rc = rbac_tenant_list(s, actor(c), &names, &n, &why, &a->err);
    rbac_snapshot_unref(s);
    if (a->rc != ST_OK)
        return;
    Strata__V1__ListTenantsResponse r = STRATA__V1__LIST_TENANTS_RESPONSE__INIT;
    r.tenants = al(ar, (n + 1) * sizeof *r.tenants);
    for (size_t i = 0; r.tenants && i < n; i++) {
        Strata__V1__Tenant *t = al(ar, sizeof *t);
        if (!t)
            break;
        strata__v1__tenant__init(t);
        t->name = sdup(ar, names[i]);
        r.tenants[r.n_tenants++] = t;
    }
    rbac_strv_free(names, n);
    if (!ar->oom)
        reply(a, &r.base);
}

/* ---- dispatch --------------------------------------------------------------------------------- */

static const struct {
    const char *op;
    const ProtobufCMessageDescriptor *desc;
} ops[] = {
    {"CreateDatabase", &strata__v1__create_database_request__descriptor},
    {"ListDatabases", &strata__v1__list_databases_request__descriptor},
    {"DeleteDatabase", &strata__v1__delete_database_request__descriptor},
    {"CreateToken", &strata__v1__create_token_request__descriptor},
    {"ListTokens", &strata__v1__list_tokens_request__descriptor},
    {"RevokeToken", &strata__v1__revoke_token_request__descriptor},
    {"RotateToken", &strata__v1__rotate_token_request__descriptor},
    {"GrantRole", &strata__v1__grant_role_request__descriptor},
    {"RevokeRole", &strata__v1__revoke_role_request__descriptor},
    {"ListRoles", &strata__v1__list_roles_request__descriptor},
    {"WhoAmI", &strata__v1__who_am_irequest__descriptor},
    {"Check", &strata__v1__check_request__descriptor},
    {"ReadAudit", &strata__v1__read_audit_request__descriptor},
    {"CreateTenant", &strata__v1__create_tenant_request__descriptor},
    {"ListTenants", &strata__v1__list_tenants_request__descriptor},
    {"DeleteTenant", &strata__v1__delete_tenant_request__descriptor},
};

static void
work(struct gw_call *c)
{
    struct adm *a = c->hs;
    struct arena ar = {0};
    const char *op = a->op;
    if (!strcmp(op, "CreateDatabase"))
        op_create_database(c, a, &ar);
    else if (!strcmp(op, "ListDatabases"))
        op_list_databases(c, a, &ar);
    else if (!strcmp(op, "DeleteDatabase"))
        op_delete_database(c, a, &ar);
    else if (!strcmp(op, "CreateToken"))
        op_create_token(c, a, &ar);
    else if (!strcmp(op, "ListTokens"))
        op_list_tokens(c, a, &ar);
    else if (!strcmp(op, "RevokeToken"))
        op_token_change(c, a, &ar, true);
    else if (!strcmp(op, "RotateToken"))
        op_token_change(c, a, &ar, false);
    else if (!strcmp(op, "GrantRole"))
        op_role_change(c, a, &ar, true);
    else if (!strcmp(op, "RevokeRole"))
        op_role_change(c, a, &ar, false);
    else if (!strcmp(op, "ListRoles"))
        op_list_roles(c, a, &ar);
    else if (!strcmp(op, "WhoAmI"))
        op_whoami(c, a, &ar);
    else if (!strcmp(op, "Check"))
        op_check(c, a, &ar);
    else if (!strcmp(op, "ReadAudit"))
        op_read_audit(c, a, &ar);
    else if (!strcmp(op, "CreateTenant"))
        op_tenant_change(c, a, &ar, true);
    else if (!strcmp(op, "ListTenants"))
        op_list_tenants(c, a, &ar);
    else if (!strcmp(op, "DeleteTenant"))
        op_tenant_change(c, a, &ar, false);
    if (a->rc == ST_OK && !a->has_reply)
        FAIL(a, ar.oom ? ST_ENOMEM : ST_EINTERNAL, "%s",
             ar.oom ? "out of memory" : "no reply was built");
    arena_free(&ar);
}

static void
done(struct gw_call *c)
{
    struct adm *a = c->hs;
    if (a->rc != ST_OK) {
        gw_call_fail(c, a->rc, &a->err);
        return;
    }
    a->has_reply = false;
    gw_call_reply(c, a->reply); /* takes the slice */
}

void
gw_h_admin(struct gw_call *c)
{
    struct adm *a = calloc(1, sizeof *a);
    if (!a) {
        gw_call_finish(c, ST_ENOMEM, "out of memory");
        return;
    }
    c->hs = a;
    const char *op = strrchr(c->m->path, '/');
    op = op ? op + 1 : c->m->path;
    const ProtobufCMessageDescriptor *desc = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i].op, op)) {
            a->op = ops[i].op;
            desc = ops[i].desc;
        }
    if (!desc) {
        gw_call_finish_grpc(c, GRPC_STATUS_UNIMPLEMENTED, "unknown admin method");
        return;
    }
    a->req = protobuf_c_message_unpack(desc, NULL, c->req_len, c->req);
    if (!a->req) {
        gw_call_finish(c, ST_EPARSE, "malformed request message");
        return;
    }
    if (!gw_pb_strings_ok(desc, c->req, c->req_len)) {
        gw_call_finish(c, ST_EINVAL, "a string of the request holds a NUL byte");
        return;
    }
    if (gw_call_offload(c, work, done) != ST_OK)
        gw_call_finish(c, ST_EAGAIN, "the server is overloaded, try again later");
}
