/*
 * rbac_policy.c: the policy snapshot — tenants, database records, tokens (by
 * id and by hash) and grants — with its lifetime (refcount, deep clone for
 * copy-on-write mutations), ordering and lookups. A published snapshot is
 * never changed (apart from each token's coarse last-used time); mutations
 * (rbac_mutate.c) clone, edit, then call rbac__snapshot_finish() to re-sort and
 * re-index before handing the copy out.
 */
#include "rbac_int.h"

#include <stdlib.h>
#include <string.h>

struct rbac_snapshot *
rbac__snapshot_alloc(void)
{
    struct rbac_snapshot *s = calloc(1, sizeof *s);
    if (s)
        atomic_init(&s->refs, 1);
    return s;
}

static void
free_token(struct rbac__token *t)
{
    if (!t)
        return;
    free(t->tenant);
    free(t->name);
    free(t->creator);
    free(t->description);
    rbac__wipe(t->hash, sizeof t->hash);
    free(t);
}

void
rbac__snapshot_destroy(struct rbac_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_tenants; i++)
        free(s->tenants[i].name);
    for (size_t i = 0; i < s->n_dbs; i++) {
        free(s->dbs[i].tenant);
        free(s->dbs[i].name);
        free(s->dbs[i].creator);
    }
    for (size_t i = 0; i < s->n_tokens; i++)
        free_token(s->tokens[i]);
    for (size_t i = 0; i < s->n_grants; i++) {
        free(s->grants[i].tenant);
        free(s->grants[i].db);
        free(s->grants[i].subject);
        free(s->grants[i].creator);
    }
    free(s->tenants);
    free(s->dbs);
    free(s->tokens);
    free(s->by_hash);
    free(s->grants);
    free(s->cluster_id);
    free(s->default_tenant);
    rbac__wipe(s->pepper, sizeof s->pepper);
    free(s);
}

struct rbac_snapshot *
rbac_snapshot_ref(struct rbac_snapshot *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void
rbac_snapshot_unref(struct rbac_snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        rbac__snapshot_destroy(s);
}

uint64_t
rbac_snapshot_generation(const struct rbac_snapshot *s)
{
    return s->generation;
}

const char *
rbac_snapshot_cluster_id(const struct rbac_snapshot *s)
{
    return s->cluster_id;
}

static bool
dup_ok(char **dst, const char *src)
{
    *dst = rbac__strdup(src);
    return *dst != NULL;
}

struct rbac_snapshot *
rbac__snapshot_clone(const struct rbac_snapshot *s)
{
    struct rbac_snapshot *c = rbac__snapshot_alloc();
    if (!c)
        return NULL;
    c->generation = s->generation;
    c->pepper_len = s->pepper_len;
    memcpy(c->pepper, s->pepper, sizeof c->pepper);
    if (!dup_ok(&c->cluster_id, s->cluster_id) || !dup_ok(&c->default_tenant, s->default_tenant))
        goto fail;
    if (s->n_tenants && !(c->tenants = calloc(s->n_tenants, sizeof *c->tenants)))
        goto fail;
    for (; c->n_tenants < s->n_tenants; c->n_tenants++) {
        const struct rbac__tenant *t = &s->tenants[c->n_tenants];
        c->tenants[c->n_tenants].created_ns = t->created_ns;
        if (!dup_ok(&c->tenants[c->n_tenants].name, t->name)) {
            break;
        }
    }
    if (c->n_tenants < s->n_tenants)
        goto fail;
    if (s->n_dbs && !(c->dbs = calloc(s->n_dbs, sizeof *c->dbs)))
        goto fail;
    for (; c->n_dbs < s->n_dbs; c->n_dbs++) {
        const struct rbac__db *d = &s->dbs[c->n_dbs];
        struct rbac__db *e = &c->dbs[c->n_dbs];
        e->created_ns = d->created_ns;
        if (!dup_ok(&e->tenant, d->tenant) || !dup_ok(&e->name, d->name) ||
            !dup_ok(&e->creator, d->creator)) {
            c->n_dbs++; /* free the partial entry too */
            goto fail;
        }
    }
    if (s->n_tokens && (!(c->tokens = calloc(s->n_tokens, sizeof *c->tokens)) ||
                        !(c->by_hash = calloc(s->n_tokens, sizeof *c->by_hash))))
        goto fail;
    for (; c->n_tokens < s->n_tokens; c->n_tokens++) {
        const struct rbac__token *t = s->tokens[c->n_tokens];
        struct rbac__token *u = calloc(1, sizeof *u);
        if (!u)
            goto fail;
        c->tokens[c->n_tokens] = u;
        u->id = t->id;
        u->kind = t->kind;
        u->created_ns = t->created_ns;
        u->expires_ns = t->expires_ns;
        atomic_init(&u->last_used_ns,
                    atomic_load_explicit(&((struct rbac__token *)t)->last_used_ns,
                                         memory_order_relaxed));
        memcpy(u->hash, t->hash, sizeof u->hash);
        if (!dup_ok(&u->tenant, t->tenant) || !dup_ok(&u->name, t->name) ||
            !dup_ok(&u->creator, t->creator) ||
            !dup_ok(&u->description, t->description ? t->description : "")) {
            c->n_tokens++;
            goto fail;
        }
    }
    if (s->n_grants && !(c->grants = calloc(s->n_grants, sizeof *c->grants)))
        goto fail;
    for (; c->n_grants < s->n_grants; c->n_grants++) {
        const struct rbac__grant *g = &s->grants[c->n_grants];
        struct rbac__grant *h = &c->grants[c->n_grants];
        h->kind = g->kind;
        h->roles = g->roles;
        h->created_ns = g->created_ns;
        if (!dup_ok(&h->tenant, g->tenant) || !dup_ok(&h->db, g->db) ||
            !dup_ok(&h->subject, g->subject) || !dup_ok(&h->creator, g->creator)) {
            c->n_grants++;
            goto fail;
        }
    }
    if (rbac__snapshot_finish(c) != 0)
        goto fail;
    return c;
fail:
    rbac__snapshot_destroy(c);
    return NULL;
}

static int
cmp_tenant(const void *a, const void *b)
{
    return strcmp(((const struct rbac__tenant *)a)->name, ((const struct rbac__tenant *)b)->name);
}

static int
cmp_db(const void *a, const void *b)
{
    const struct rbac__db *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : strcmp(x->name, y->name);
}

static int
cmp_token_id(const void *a, const void *b)
{
    uint64_t x = (*(struct rbac__token *const *)a)->id, y = (*(struct rbac__token *const *)b)->id;
    return x < y ? -1 : x > y;
}

static int
cmp_token_hash(const void *a, const void *b)
{
    return memcmp((*(struct rbac__token *const *)a)->hash, (*(struct rbac__token *const *)b)->hash,
                  64);
}

static int
cmp_grant_key(const char *t1, const char *d1, int k1, const char *s1, const struct rbac__grant *y)
{
    int c = strcmp(t1, y->tenant);
    if (c)
        return c;
    if ((c = strcmp(d1, y->db)))
        return c;
    if (k1 != (int)y->kind)
        return k1 < (int)y->kind ? -1 : 1;
    return strcmp(s1, y->subject);
}

static int
cmp_grant(const void *a, const void *b)
{
    const struct rbac__grant *x = a;
    return cmp_grant_key(x->tenant, x->db, (int)x->kind, x->subject, b);
}

int
rbac__snapshot_finish(struct rbac_snapshot *s)
{
    if (s->n_tenants)
        qsort(s->tenants, s->n_tenants, sizeof *s->tenants, cmp_tenant);
    if (s->n_dbs)
        qsort(s->dbs, s->n_dbs, sizeof *s->dbs, cmp_db);
    if (s->n_grants)
        qsort(s->grants, s->n_grants, sizeof *s->grants, cmp_grant);
    free(s->by_hash);
    s->by_hash = NULL;
    if (s->n_tokens) {
        qsort(s->tokens, s->n_tokens, sizeof *s->tokens, cmp_token_id);
        s->by_hash = malloc(s->n_tokens * sizeof *s->by_hash);
        if (!s->by_hash)
            return -1;
        memcpy(s->by_hash, s->tokens, s->n_tokens * sizeof *s->by_hash);
        qsort(s->by_hash, s->n_tokens, sizeof *s->by_hash, cmp_token_hash);
    }
    return 0;
}

const struct rbac__tenant *
rbac__find_tenant(const struct rbac_snapshot *s, const char *t)
{
    struct rbac__tenant key = {.name = (char *)t};
    if (!t || !s->n_tenants)
        return NULL;
    return bsearch(&key, s->tenants, s->n_tenants, sizeof *s->tenants, cmp_tenant);
}

const struct rbac__db *
rbac__find_db(const struct rbac_snapshot *s, const char *t, const char *db)
{
    struct rbac__db key = {.tenant = (char *)t, .name = (char *)db};
    if (!t || !db || !s->n_dbs)
        return NULL;
    return bsearch(&key, s->dbs, s->n_dbs, sizeof *s->dbs, cmp_db);
}

struct rbac__token *
rbac__find_token(const struct rbac_snapshot *s, uint64_t id)
{
    struct rbac__token key = {.id = id}, *kp = &key, **r;
    if (!s->n_tokens)
        return NULL;
    r = bsearch(&kp, s->tokens, s->n_tokens, sizeof *s->tokens, cmp_token_id);
    return r ? *r : NULL;
}

struct rbac__token *
rbac__find_token_hash(const struct rbac_snapshot *s, const uint8_t h[64])
{
    /* the search orders by a hash of the presented secret, not by the secret:
     * timing reveals nothing about stored secrets; the final equality is
     * constant-time */
    size_t lo = 0, hi = s->n_tokens;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(h, s->by_hash[mid]->hash, 64);
        if (c == 0)
            return rbac__memeq(h, s->by_hash[mid]->hash, 64) ? s->by_hash[mid] : NULL;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct rbac__grant *
rbac__find_grant(const struct rbac_snapshot *s, const char *t, const char *db,
                 enum rbac_subject_kind k, const char *subject)
{
    size_t lo = 0, hi = s->n_grants;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_grant_key(t, db, (int)k, subject, &s->grants[mid]);
        if (c == 0)
            return &s->grants[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool
rbac_snapshot_has_database(const struct rbac_snapshot *s, const char *tenant, const char *db)
{
    return rbac__find_db(s, tenant, db) != NULL;
}

bool
rbac_snapshot_has_tenant(const struct rbac_snapshot *s, const char *tenant)
{
    return rbac__find_tenant(s, tenant) != NULL;
}

int
rbac__token_hash(const struct rbac_snapshot *s, const uint8_t *tok, size_t len, uint8_t out[64])
{
    if (s->pepper_len)
        return rbac__hmac_sha512(s->pepper, s->pepper_len, tok, len, out);
    return rbac__sha512(tok, len, out);
}

void
rbac__pepper_id(const uint8_t *pepper, size_t len, char out[17])
{
    uint8_t h[32];
    /* an identifier, not the pepper: HMAC with the pepper over a fixed label */
    if (rbac__hmac_sha256(pepper, len, "strata rbac pepper id", 21, h) != 0)
        memset(h, 0, sizeof h);
    rbac__hex(h, 8, out);
}

enum st_code
rbac_snapshot_new(const char *cluster_id, const char *first_tenant, const uint8_t *pepper,
                  size_t pepper_len, int64_t now_ns, struct rbac_snapshot **out,
                  struct st_error *err)
{
    *out = NULL;
    if (!cluster_id || rbac_name_check(RBAC_NAME_TENANT, cluster_id, strlen(cluster_id), NULL))
        return st_error_set(err, ST_EINVAL, "cluster id must be 1..%d of A-Z a-z 0-9 _ -",
                            RBAC_NAME_MAX);
    if (!first_tenant ||
        rbac_name_check(RBAC_NAME_TENANT, first_tenant, strlen(first_tenant), err) != ST_OK)
        return ST_EINVAL;
    if (pepper && (pepper_len < RBAC_PEPPER_MIN || pepper_len > RBAC_PEPPER_MAX))
        return st_error_set(err, ST_EINVAL, "pepper must be %d..%d bytes", RBAC_PEPPER_MIN,
                            RBAC_PEPPER_MAX);
    struct rbac_snapshot *s = rbac__snapshot_alloc();
    if (!s)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    if (pepper) {
        memcpy(s->pepper, pepper, pepper_len);
        s->pepper_len = pepper_len;
    }
    s->tenants = calloc(1, sizeof *s->tenants);
    if (!s->tenants || !(s->cluster_id = rbac__strdup(cluster_id)) ||
        !(s->default_tenant = rbac__strdup(first_tenant)) ||
        !(s->tenants[0].name = rbac__strdup(first_tenant))) {
        s->n_tenants = s->tenants ? 1 : 0;
        rbac__snapshot_destroy(s);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    s->n_tenants = 1;
    s->tenants[0].created_ns = now_ns;
    *out = s;
    return ST_OK;
}

/* ---- lookups for the caller's own use (no authority check: see rbac.h 4b) ---- */

const char *
rbac_snapshot_default_tenant(const struct rbac_snapshot *s)
{
    return s->default_tenant;
}

static void
fill_db_info(const struct rbac__db *d, struct rbac_db_info *out)
{
    memset(out, 0, sizeof *out);
    rbac__copy(out->tenant, sizeof out->tenant, d->tenant);
    rbac__copy(out->name, sizeof out->name, d->name);
    rbac__copy(out->creator, sizeof out->creator, d->creator);
    out->created_ns = d->created_ns;
}

bool
rbac_db_info_get(const struct rbac_snapshot *s, const char *tenant, const char *db,
                 struct rbac_db_info *out)
{
    const struct rbac__db *d = tenant && db ? rbac__find_db(s, tenant, db) : NULL;
    if (d && out)
        fill_db_info(d, out);
    return d != NULL;
}

enum st_code
rbac_snapshot_databases(const struct rbac_snapshot *s, struct rbac_db_info **out, size_t *n_out,
                        struct st_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (s->n_dbs == 0)
        return ST_OK;
    struct rbac_db_info *v = calloc(s->n_dbs, sizeof *v);
    if (!v)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_dbs; i++)
        fill_db_info(&s->dbs[i], &v[i]);
    *out = v;
    *n_out = s->n_dbs;
    return ST_OK;
}

enum st_code
rbac_token_id_by_name(const struct rbac_snapshot *s, const char *tenant, const char *name,
                      uint64_t *id_out, struct st_error *err)
{
    for (size_t i = 0; tenant && name && i < s->n_tokens; i++)
        if (!strcmp(s->tokens[i]->tenant, tenant) && !strcmp(s->tokens[i]->name, name)) {
            *id_out = s->tokens[i]->id;
            return ST_OK;
        }
    return st_error_set(err, ST_ENOTFOUND, "no token with this name");
}

enum st_code
rbac_token_info_get(const struct rbac_snapshot *s, uint64_t id, struct rbac_token_info *out,
                    struct st_error *err)
{
    struct rbac__token *t = rbac__find_token(s, id);
    if (!t)
        return st_error_set(err, ST_ENOTFOUND, "no token with this id");
    memset(out, 0, sizeof *out);
    out->id = t->id;
    out->kind = t->kind;
    rbac__copy(out->name, sizeof out->name, t->name);
    rbac__copy(out->tenant, sizeof out->tenant, t->tenant);
    rbac__copy(out->creator, sizeof out->creator, t->creator);
    rbac__copy(out->description, sizeof out->description, t->description ? t->description : "");
    out->created_ns = t->created_ns;
    out->expires_ns = t->expires_ns;
    out->last_used_ns = atomic_load_explicit(&t->last_used_ns, memory_order_relaxed);
    return ST_OK;
}
