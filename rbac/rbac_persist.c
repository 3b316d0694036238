/*
 * rbac_persist.c: the policy file format, written by rbac_policy_describe()
 * and read by rbac_policy_load(). The gateway stores the bytes crash-safely
 * (st_file_write_atomic); this file only converts.
 *
 * Format: one JSON object, written canonically (keys sorted, two-space
 * indent, arrays in the snapshot's order) so describe -> load -> describe
 * gives the same bytes:
 *
 *   format          "strata-rbac-policy"
 *   version         1
 *   cluster_id      string
 *   generation      integer >= 0 (mutations since creation)
 *   default_tenant  the operator's tenant when none is named
 *   token_hash      "sha512" | "hmac-sha512"
 *   pepper_id       null | 16 hex: HMAC-SHA-256(pepper, label)[0..8) — names
 *                   the pepper without revealing it; load refuses another one
 *   tenants         [{name, created_ns}]
 *   databases       [{tenant, name, creator, created_ns}]
 *   tokens          [{id (16 hex), kind ("operator"|"management"|"database"),
 *                     tenant, name, creator, created_ns, expires_ns (0 = never),
 *                     last_used_ns, hash (128 hex), description (optional, only
 *                     written when not empty)}]
 *   grants          [{tenant, database ("" tenant-level, "*", or a name),
 *                     subject ("user:<name>"|"group:<name>"|"token:<16 hex>"),
 *                     roles (subset of ["read","write","owner","tenant_admin"]),
 *                     creator, created_ns}]
 *
 * Token secrets are never in it; their hashes are (keyed with the pepper when
 * one is configured). Loading is all-or-nothing: every problem is collected
 * (up to RBAC_LOAD_MAX_ERRORS kept, all counted) and no snapshot is returned
 * unless there were none. Unknown members are errors, so a typo cannot
 * silently drop a restriction.
 */
#include "rbac_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "strata-rbac-policy"
#define FORMAT_VERSION 1

static const char *const role_names[] = {"read", "write", "owner", "tenant_admin"};
static const unsigned role_bits[] = {RBAC_ROLE_READ, RBAC_ROLE_WRITE, RBAC_ROLE_OWNER,
                                     RBAC_ROLE_TENANT_ADMIN};

/* ---- describe ---- */

static json_t *
jstr(const char *s)
{
    return json_string(s);
}

enum st_code
rbac_policy_describe(const struct rbac_snapshot *s, struct st_buf *out, struct st_error *err)
{
    json_t *root = json_object();
    json_t *tenants = json_array(), *dbs = json_array(), *toks = json_array(),
           *grants = json_array();
    char hex[129];
    enum st_code rc = ST_OK;
    int bad = !root || !tenants || !dbs || !toks || !grants;

    if (!bad) {
        bad |= json_object_set_new(root, "format", jstr(FORMAT_NAME));
        bad |= json_object_set_new(root, "version", json_integer(FORMAT_VERSION));
        bad |= json_object_set_new(root, "cluster_id", jstr(s->cluster_id));
        bad |= json_object_set_new(root, "generation", json_integer((json_int_t)s->generation));
        bad |= json_object_set_new(root, "default_tenant", jstr(s->default_tenant));
        bad |= json_object_set_new(root, "token_hash",
                                   jstr(s->pepper_len ? "hmac-sha512" : "sha512"));
        if (s->pepper_len) {
            char pid[17];
            rbac__pepper_id(s->pepper, s->pepper_len, pid);
            bad |= json_object_set_new(root, "pepper_id", jstr(pid));
        } else {
            bad |= json_object_set_new(root, "pepper_id", json_null());
        }
    }
    for (size_t i = 0; !bad && i < s->n_tenants; i++)
        bad |= json_array_append_new(tenants, json_pack("{s:s,s:I}", "name", s->tenants[i].name,
                                                        "created_ns",
                                                        (json_int_t)s->tenants[i].created_ns));
    for (size_t i = 0; !bad && i < s->n_dbs; i++) {
        const struct rbac__db *d = &s->dbs[i];
        bad |= json_array_append_new(dbs, json_pack("{s:s,s:s,s:s,s:I}", "tenant", d->tenant,
                                                    "name", d->name, "creator", d->creator,
                                                    "created_ns", (json_int_t)d->created_ns));
    }
    for (size_t i = 0; !bad && i < s->n_tokens; i++) {
        const struct rbac__token *t = s->tokens[i];
        char id[17];
        snprintf(id, sizeof id, "%016llx", (unsigned long long)t->id);
        rbac__hex(t->hash, 64, hex);
        int64_t lu = atomic_load_explicit(&((struct rbac__token *)t)->last_used_ns,
                                          memory_order_relaxed);
        json_t *to = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "id", id, "kind",
                               rbac__token_kind_name(t->kind), "tenant", t->tenant, "name",
                               t->name, "creator", t->creator, "created_ns",
                               (json_int_t)t->created_ns, "expires_ns", (json_int_t)t->expires_ns,
                               "last_used_ns", (json_int_t)lu, "hash", hex);
        if (to && t->description && *t->description)
            bad |= json_object_set_new(to, "description", jstr(t->description));
        bad |= json_array_append_new(toks, to);
    }
    for (size_t i = 0; !bad && i < s->n_grants; i++) {
        const struct rbac__grant *g = &s->grants[i];
        json_t *roles = json_array();
        bad |= !roles;
        for (size_t r = 0; !bad && r < 4; r++)
            if (g->roles & role_bits[r])
                bad |= json_array_append_new(roles, jstr(role_names[r]));
        size_t sl = strlen(g->subject) + 8;
        char *subj = malloc(sl);
        bad |= !subj;
        if (!bad) {
            snprintf(subj, sl, "%s:%s", rbac__subject_kind_name(g->kind), g->subject);
            bad |= json_array_append_new(
                grants, json_pack("{s:s,s:s,s:s,s:o,s:s,s:I}", "tenant", g->tenant, "database",
                                  g->db, "subject", subj, "roles", roles, "creator", g->creator,
                                  "created_ns", (json_int_t)g->created_ns));
            roles = NULL;
        }
        free(subj);
        json_decref(roles);
    }
    if (!bad) {
        bad |= json_object_set(root, "tenants", tenants);
        bad |= json_object_set(root, "databases", dbs);
        bad |= json_object_set(root, "tokens", toks);
        bad |= json_object_set(root, "grants", grants);
    }
    char *text = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        rc = st_error_set(err, ST_ENOMEM, "out of memory serialising the policy");
    } else {
        rc = st_buf_append_str(out, text);
        if (rc == ST_OK)
            rc = st_buf_append_byte(out, '\n');
        if (rc != ST_OK)
            rc = st_error_set(err, rc, "policy does not fit the output buffer");
        free(text);
    }
    json_decref(tenants);
    json_decref(dbs);
    json_decref(toks);
    json_decref(grants);
    json_decref(root);
    return rc;
}

/* ---- load ---- */

struct loader {
    struct rbac_load_report *rep;
    size_t n;
};

static void lerr(struct loader *L, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lerr(struct loader *L, const char *where, const char *fmt, ...)
{
    if (L->rep && L->n < RBAC_LOAD_MAX_ERRORS) {
        rbac__copy(L->rep->errors[L->n].where, sizeof L->rep->errors[L->n].where, where);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(L->rep->errors[L->n].msg, sizeof L->rep->errors[L->n].msg, fmt, ap);
        va_end(ap);
    }
    L->n++;
    if (L->rep)
        L->rep->n_errors = L->n;
}

/* Every member of obj must be in the NULL-terminated list. */
static void
only_members(struct loader *L, json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(*a, key);
        if (!ok) {
            char w[64];
            snprintf(w, sizeof w, "%s", where);
            lerr(L, w, "unknown member (%.40s)", rbac__text_ok(key, strlen(key)) ? key : "?");
        }
    }
}

static const char *
get_str(struct loader *L, json_t *obj, const char *key, const char *where, bool required)
{
    char w[64];
    json_t *v = json_object_get(obj, key);
    snprintf(w, sizeof w, "%s.%s", where, key);
    if (!v) {
        if (required)
            lerr(L, w, "missing");
        return NULL;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        lerr(L, w, "not a string");
        return NULL;
    }
    return json_string_value(v);
}

static const char *
get_name(struct loader *L, json_t *obj, const char *key, const char *where,
         enum rbac_name_kind kind)
{
    const char *s = get_str(L, obj, key, where, true);
    struct st_error e;
    if (s && rbac_name_check(kind, s, strlen(s), &e) != ST_OK) {
        char w[64];
        snprintf(w, sizeof w, "%s.%s", where, key);
        lerr(L, w, "%s", e.msg);
        return NULL;
    }
    return s;
}

static const char *
get_creator(struct loader *L, json_t *obj, const char *where)
{
    const char *s = get_str(L, obj, "creator", where, true);
    if (s && (strlen(s) == 0 || strlen(s) >= RBAC_ID_MAX || !rbac__text_ok(s, strlen(s)))) {
        char w[64];
        snprintf(w, sizeof w, "%s.creator", where);
        lerr(L, w, "not a principal id");
        return NULL;
    }
    return s;
}

static int64_t
get_int(struct loader *L, json_t *obj, const char *key, const char *where, bool *ok)
{
    char w[64];
    json_t *v = json_object_get(obj, key);
    snprintf(w, sizeof w, "%s.%s", where, key);
    if (!v || !json_is_integer(v) || json_integer_value(v) < 0) {
        lerr(L, w, "missing or not a non-negative integer");
        *ok = false;
        return 0;
    }
    return (int64_t)json_integer_value(v);
}

static json_t *
get_array(struct loader *L, json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    if (!v || !json_is_array(v)) {
        lerr(L, key, "missing or not an array");
        return NULL;
    }
    return v;
}

static int
load_tenants(struct loader *L, json_t *arr, struct rbac_snapshot *s)
{
    static const char *const members[] = {"name", "created_ns", NULL};
    size_t n = json_array_size(arr);
    if (n && !(s->tenants = calloc(n, sizeof *s->tenants)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char w[64];
        snprintf(w, sizeof w, "tenants[%zu]", i);
        json_t *o = json_array_get(arr, i);
        if (!json_is_object(o)) {
            lerr(L, w, "not an object");
            continue;
        }
        only_members(L, o, w, members);
        bool ok = true;
        const char *name = get_name(L, o, "name", w, RBAC_NAME_TENANT);
        int64_t created = get_int(L, o, "created_ns", w, &ok);
        if (!name || !ok)
            continue;
        struct rbac__tenant *t = &s->tenants[s->n_tenants];
        if (!(t->name = rbac__strdup(name)))
            return -1;
        t->created_ns = created;
        s->n_tenants++;
    }
    return 0;
}

static int
load_dbs(struct loader *L, json_t *arr, struct rbac_snapshot *s)
{
    static const char *const members[] = {"tenant", "name", "creator", "created_ns", NULL};
    size_t n = json_array_size(arr);
    if (n && !(s->dbs = calloc(n, sizeof *s->dbs)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char w[64];
        snprintf(w, sizeof w, "databases[%zu]", i);
        json_t *o = json_array_get(arr, i);
        if (!json_is_object(o)) {
            lerr(L, w, "not an object");
            continue;
        }
        only_members(L, o, w, members);
        bool ok = true;
        const char *t = get_name(L, o, "tenant", w, RBAC_NAME_TENANT);
        const char *name = get_name(L, o, "name", w, RBAC_NAME_DATABASE);
        const char *cr = get_creator(L, o, w);
        int64_t created = get_int(L, o, "created_ns", w, &ok);
        if (!t || !name || !cr || !ok)
            continue;
        struct rbac__db *d = &s->dbs[s->n_dbs++];
        if (!(d->tenant = rbac__strdup(t)) || !(d->name = rbac__strdup(name)) ||
            !(d->creator = rbac__strdup(cr)))
            return -1;
        d->created_ns = created;
    }
    return 0;
}

static int
load_tokens(struct loader *L, json_t *arr, struct rbac_snapshot *s)
{
    static const char *const members[] = {"id",      "kind",       "tenant",
                                          "name",    "creator",    "created_ns",
                                          "expires_ns", "last_used_ns", "hash",
                                          "description", NULL};
    size_t n = json_array_size(arr);
    if (n && !(s->tokens = calloc(n, sizeof *s->tokens)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char w[64];
        snprintf(w, sizeof w, "tokens[%zu]", i);
        json_t *o = json_array_get(arr, i);
        if (!json_is_object(o)) {
            lerr(L, w, "not an object");
            continue;
        }
        only_members(L, o, w, members);
        bool ok = true;
        const char *id = get_str(L, o, "id", w, true);
        const char *kind = get_str(L, o, "kind", w, true);
        const char *t = get_name(L, o, "tenant", w, RBAC_NAME_TENANT);
        const char *name = get_name(L, o, "name", w, RBAC_NAME_TOKEN);
        const char *cr = get_creator(L, o, w);
        const char *hash = get_str(L, o, "hash", w, true);
        int64_t created = get_int(L, o, "created_ns", w, &ok);
        int64_t expires = get_int(L, o, "expires_ns", w, &ok);
        int64_t last = get_int(L, o, "last_used_ns", w, &ok);
        uint8_t idb[8], hb[64];
        enum rbac_token_kind k = RBAC_TOKEN_DATABASE;
        char ww[64];
        if (id && (rbac__unhex(id, strlen(id), idb, 8) != 0 || strtoull(id, NULL, 16) == 0)) {
            snprintf(ww, sizeof ww, "%s.id", w);
            lerr(L, ww, "not 16 lower-case hex digits (non-zero)");
            ok = false;
        }
        if (kind && rbac__token_kind_parse(kind, &k) != 0) {
            snprintf(ww, sizeof ww, "%s.kind", w);
            lerr(L, ww, "not operator, management or database");
            ok = false;
        }
        if (hash && rbac__unhex(hash, strlen(hash), hb, 64) != 0) {
            snprintf(ww, sizeof ww, "%s.hash", w);
            lerr(L, ww, "not 128 lower-case hex digits");
            ok = false;
        }
        const char *desc = "";
        if (json_object_get(o, "description")) {
            desc = get_str(L, o, "description", w, true);
            if (desc && (!*desc || strlen(desc) > RBAC_DESCRIPTION_MAX ||
                         !rbac__text_ok(desc, strlen(desc)))) {
                snprintf(ww, sizeof ww, "%s.description", w);
                lerr(L, ww, "not 1..%d bytes of text without control characters",
                     RBAC_DESCRIPTION_MAX);
                ok = false;
            }
        }
        if (!ok || !id || !kind || !t || !name || !cr || !hash || !desc)
            continue;
        struct rbac__token *tok = calloc(1, sizeof *tok);
        if (!tok)
            return -1;
        s->tokens[s->n_tokens++] = tok;
        tok->id = strtoull(id, NULL, 16);
        tok->kind = k;
        tok->created_ns = created;
        tok->expires_ns = expires;
        atomic_init(&tok->last_used_ns, last);
        memcpy(tok->hash, hb, 64);
        if (!(tok->tenant = rbac__strdup(t)) || !(tok->name = rbac__strdup(name)) ||
            !(tok->creator = rbac__strdup(cr)) || !(tok->description = rbac__strdup(desc)))
            return -1;
    }
    return 0;
}

static int
load_grants(struct loader *L, json_t *arr, struct rbac_snapshot *s)
{
    static const char *const members[] = {"tenant", "database", "subject", "roles",
                                          "creator", "created_ns", NULL};
    size_t n = json_array_size(arr);
    if (n && !(s->grants = calloc(n, sizeof *s->grants)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char w[64], ww[64];
        snprintf(w, sizeof w, "grants[%zu]", i);
        json_t *o = json_array_get(arr, i);
        if (!json_is_object(o)) {
            lerr(L, w, "not an object");
            continue;
        }
        only_members(L, o, w, members);
        bool ok = true;
        const char *t = get_name(L, o, "tenant", w, RBAC_NAME_TENANT);
        const char *db = get_str(L, o, "database", w, true);
        const char *subj = get_str(L, o, "subject", w, true);
        const char *cr = get_creator(L, o, w);
        int64_t created = get_int(L, o, "created_ns", w, &ok);
        if (db && *db && strcmp(db, RBAC_DB_ALL) != 0 &&
            rbac_name_check(RBAC_NAME_DATABASE, db, strlen(db), NULL) != ST_OK) {
            snprintf(ww, sizeof ww, "%s.database", w);
            lerr(L, ww, "not a database name, \"*\" or \"\"");
            ok = false;
        }
        enum rbac_subject_kind kind = RBAC_SUBJECT_USER;
        const char *name = NULL;
        if (subj) {
            snprintf(ww, sizeof ww, "%s.subject", w);
            uint8_t raw[8];
            if (!strncmp(subj, "user:", 5)) {
                name = subj + 5;
            } else if (!strncmp(subj, "group:", 6)) {
                kind = RBAC_SUBJECT_GROUP;
                name = subj + 6;
            } else if (!strncmp(subj, "token:", 6)) {
                kind = RBAC_SUBJECT_TOKEN;
                name = subj + 6;
            }
            if (!name || (kind == RBAC_SUBJECT_TOKEN
                              ? rbac__unhex(name, strlen(name), raw, 8) != 0
                              : rbac_name_check(RBAC_NAME_SUBJECT, name, strlen(name), NULL) !=
                                    ST_OK)) {
                lerr(L, ww, "not user:<name>, group:<name> or token:<16 hex>");
                ok = false;
            }
        }
        unsigned roles = 0;
        json_t *ra = json_object_get(o, "roles");
        snprintf(ww, sizeof ww, "%s.roles", w);
        if (!ra || !json_is_array(ra) || json_array_size(ra) == 0) {
            lerr(L, ww, "missing or not a non-empty array");
            ok = false;
        } else {
            size_t k;
            json_t *r;
            json_array_foreach(ra, k, r)
            {
                unsigned bit = 0;
                for (size_t x = 0; x < 4 && json_is_string(r); x++)
                    if (!strcmp(json_string_value(r), role_names[x]))
                        bit = role_bits[x];
                if (!bit || (roles & bit)) {
                    lerr(L, ww, "unknown or repeated role");
                    ok = false;
                }
                roles |= bit;
            }
        }
        if (!ok || !t || !db || !subj || !cr)
            continue;
        struct rbac__grant *g = &s->grants[s->n_grants++];
        g->kind = kind;
        g->roles = roles;
        g->created_ns = created;
        if (!(g->tenant = rbac__strdup(t)) || !(g->db = rbac__strdup(db)) ||
            !(g->subject = rbac__strdup(name)) || !(g->creator = rbac__strdup(cr)))
            return -1;
    }
    return 0;
}

/* Cross-record rules, on the sorted snapshot. */
static void
check_consistency(struct loader *L, const struct rbac_snapshot *s)
{
    char w[64];
    size_t n_operator = 0;
    for (size_t i = 1; i < s->n_tenants; i++)
        if (!strcmp(s->tenants[i - 1].name, s->tenants[i].name))
            lerr(L, "tenants", "tenant \"%s\" appears twice", s->tenants[i].name);
    if (!rbac__find_tenant(s, s->default_tenant))
        lerr(L, "default_tenant", "names no tenant");
    for (size_t i = 0; i < s->n_dbs; i++) {
        if (i && !strcmp(s->dbs[i - 1].tenant, s->dbs[i].tenant) &&
            !strcmp(s->dbs[i - 1].name, s->dbs[i].name))
            lerr(L, "databases", "database \"%s\" appears twice", s->dbs[i].name);
        if (!rbac__find_tenant(s, s->dbs[i].tenant))
            lerr(L, "databases", "database \"%s\" names no tenant", s->dbs[i].name);
    }
    for (size_t i = 0; i < s->n_tokens; i++) {
        const struct rbac__token *t = s->tokens[i];
        snprintf(w, sizeof w, "tokens(id %016llx)", (unsigned long long)t->id);
        if (i && s->tokens[i - 1]->id == t->id)
            lerr(L, w, "id appears twice");
        if (i && !memcmp(s->by_hash[i - 1]->hash, s->by_hash[i]->hash, 64))
            lerr(L, "tokens", "two tokens share a hash");
        if (!rbac__find_tenant(s, t->tenant))
            lerr(L, w, "names no tenant");
        if (t->kind == RBAC_TOKEN_OPERATOR)
            n_operator++;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->tokens[j]->tenant, t->tenant) && !strcmp(s->tokens[j]->name, t->name))
                lerr(L, w, "name \"%s\" is used twice in the tenant", t->name);
    }
    if (n_operator > 1)
        lerr(L, "tokens", "more than one operator token");
    for (size_t i = 0; i < s->n_grants; i++) {
        const struct rbac__grant *g = &s->grants[i];
        snprintf(w, sizeof w, "grants(%s/%s/%s)", g->tenant, g->db, g->subject);
        if (i && !strcmp(s->grants[i - 1].tenant, g->tenant) &&
            !strcmp(s->grants[i - 1].db, g->db) && s->grants[i - 1].kind == g->kind &&
            !strcmp(s->grants[i - 1].subject, g->subject))
            lerr(L, w, "grant appears twice");
        if (!rbac__find_tenant(s, g->tenant))
            lerr(L, w, "names no tenant");
        if (!*g->db) {
            if (g->roles != RBAC_ROLE_TENANT_ADMIN || g->kind == RBAC_SUBJECT_TOKEN)
                lerr(L, w, "a tenant-level grant holds tenant_admin only, for users or groups");
        } else if (!strcmp(g->db, RBAC_DB_ALL)) {
            if (g->roles & ~(RBAC_ROLE_READ | RBAC_ROLE_WRITE))
                lerr(L, w, "a \"*\" grant holds read and write only");
        } else {
            if (g->roles & ~RBAC_ROLE__DB_MASK)
                lerr(L, w, "a database grant holds read, write and owner only");
            if (!rbac__find_db(s, g->tenant, g->db))
                lerr(L, w, "names no database");
        }
        if (g->kind == RBAC_SUBJECT_TOKEN) {
            const struct rbac__token *t = rbac__find_token(s, strtoull(g->subject, NULL, 16));
            if (!t || strcmp(t->tenant, g->tenant) != 0 || t->kind != RBAC_TOKEN_DATABASE)
                lerr(L, w, "names no database token of the tenant");
        }
    }
}

enum st_code
rbac_policy_load(const uint8_t *bytes, size_t len, const uint8_t *pepper, size_t pepper_len,
                 struct rbac_snapshot **out, struct rbac_load_report *report,
                 struct st_error *err)
{
    static const char *const members[] = {"format",     "version",   "cluster_id",
                                          "generation", "default_tenant", "token_hash",
                                          "pepper_id",  "tenants",   "databases",
                                          "tokens",     "grants",    NULL};
    struct loader L = {report, 0};
    char why[128];
    struct rbac_snapshot *s = NULL;
    enum st_code rc;

    *out = NULL;
    if (report)
        memset(report, 0, sizeof *report);
    if (pepper && (pepper_len < RBAC_PEPPER_MIN || pepper_len > RBAC_PEPPER_MAX))
        return st_error_set(err, ST_EINVAL, "pepper must be %d..%d bytes", RBAC_PEPPER_MIN,
                            RBAC_PEPPER_MAX);
    if (len > RBAC_POLICY_MAX_LEN)
        return st_error_set(err, ST_ELIMIT, "policy is larger than %u bytes", RBAC_POLICY_MAX_LEN);
    json_t *root = rbac__json_load(bytes, len, 5, why, sizeof why);
    if (!root) {
        lerr(&L, "(document)", "%s", why);
        return st_error_set(err, ST_EPARSE, "policy: %s", why);
    }
    json_t *fmt = json_object_get(root, "format"), *ver = json_object_get(root, "version");
    if (!fmt || !json_is_string(fmt) || strcmp(json_string_value(fmt), FORMAT_NAME) != 0) {
        lerr(&L, "format", "not \"%s\"", FORMAT_NAME);
        rc = st_error_set(err, ST_EINVAL, "policy: not a %s document", FORMAT_NAME);
        goto out;
    }
    if (!ver || !json_is_integer(ver) || json_integer_value(ver) != FORMAT_VERSION) {
        lerr(&L, "version", "unsupported format version");
        rc = st_error_set(err, ST_EUNSUPPORTED, "policy: unsupported format version");
        goto out;
    }
    const char *hash = get_str(&L, root, "token_hash", "", true);
    json_t *pid = json_object_get(root, "pepper_id");
    if (hash && !strcmp(hash, "sha512")) {
        if (pepper || (pid && !json_is_null(pid))) {
            lerr(&L, "token_hash", "policy was written without a pepper");
            rc = st_error_set(err, ST_ECRYPTO, "policy: token hashes were made without a "
                                               "pepper, but one is configured");
            goto out;
        }
    } else if (hash && !strcmp(hash, "hmac-sha512")) {
        char want[17];
        if (!pepper) {
            lerr(&L, "token_hash", "policy needs its pepper");
            rc = st_error_set(err, ST_ECRYPTO, "policy: token hashes are keyed with a pepper "
                                               "that is not configured");
            goto out;
        }
        rbac__pepper_id(pepper, pepper_len, want);
        if (!pid || !json_is_string(pid) || strcmp(json_string_value(pid), want) != 0) {
            lerr(&L, "pepper_id", "does not match the configured pepper");
            rc = st_error_set(err, ST_ECRYPTO, "policy: the configured pepper is not the one "
                                               "the token hashes were made with");
            goto out;
        }
    } else {
        lerr(&L, "token_hash", "not \"sha512\" or \"hmac-sha512\"");
    }

    only_members(&L, root, "(document)", members);
    if (!(s = rbac__snapshot_alloc()))
        goto oom;
    if (pepper) {
        memcpy(s->pepper, pepper, pepper_len);
        s->pepper_len = pepper_len;
    }
    const char *cid = get_name(&L, root, "cluster_id", "", RBAC_NAME_TENANT);
    const char *dt = get_name(&L, root, "default_tenant", "", RBAC_NAME_TENANT);
    bool ok = true;
    int64_t gen = get_int(&L, root, "generation", "", &ok);
    if ((cid && !(s->cluster_id = rbac__strdup(cid))) ||
        (dt && !(s->default_tenant = rbac__strdup(dt))))
        goto oom;
    s->generation = (uint64_t)gen;
    json_t *a;
    if ((a = get_array(&L, root, "tenants")) && load_tenants(&L, a, s) != 0)
        goto oom;
    if ((a = get_array(&L, root, "databases")) && load_dbs(&L, a, s) != 0)
        goto oom;
    if ((a = get_array(&L, root, "tokens")) && load_tokens(&L, a, s) != 0)
        goto oom;
    if ((a = get_array(&L, root, "grants")) && load_grants(&L, a, s) != 0)
        goto oom;
    if (rbac__snapshot_finish(s) != 0)
        goto oom;
    if (s->cluster_id && s->default_tenant)
        check_consistency(&L, s);
    if (L.n) {
        const char *first_where = report ? report->errors[0].where : "";
        const char *first_msg = report ? report->errors[0].msg : "";
        rc = st_error_set(err, ST_EINVAL, "policy has %zu error%s%s%s%s%s", L.n,
                          L.n == 1 ? "" : "s", report ? "; first: " : "", first_where,
                          report ? ": " : "", first_msg);
        goto out;
    }
    json_decref(root);
    *out = s;
    return ST_OK;
oom:
    rc = st_error_set(err, ST_ENOMEM, "out of memory loading the policy");
out:
    rbac__snapshot_destroy(s);
    json_decref(root);
    return rc;
}
