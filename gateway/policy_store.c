/*
 * policy_store.c: stratad's access policy — the rbac snapshot every request is checked
 * against, where it lives on disk, and how it changes.
 *
 * Files (DATA-DIR/security/ by default, directory 0700, files 0600):
 *   policy.json   rbac_policy_describe() output: tenants, databases, tokens (keyed
 *                 hashes only), grants. With encryption at rest (the default) the JSON is
 *                 sealed under the master key (eng_file_seal, kind "policy": AES-256-GCM
 *                 under a fresh data key); without, it is the JSON itself. A file in the
 *                 other mode is refused unless --encryption-migrate, which rewrites it.
 *                 Replaced crash-safely (st_file_write_atomic: temporary file, fsync,
 *                 rename, fsync of the directory) on every change. Loaded all-or-nothing at
 *                 start: a file that does not load stops the server with its name and every
 *                 problem found; it is never reset.
 *   token-pepper  32 random bytes generated once: the key of the token hashes
 *                 (HMAC-SHA-512), sealed like the policy (kind "token-pepper") when
 *                 encrypting. A raw file (provisioned, or from a server without encryption)
 *                 is used as it is. The policy names it by an identifier, so a policy
 *                 loaded with another pepper is refused instead of locking everyone out.
 *                 After a master key rotation both sealed files are written again under the
 *                 new key (gw_policy_reseal), so the old key can be retired.
 * The operator token comes from --admin-token-file (read when it exists: deployment tools
 * provision it; otherwise minted and written there with mode 0600) and is installed into
 * the policy by its hash at every start. Nothing is written before the engine opened
 * (gw_policy_reconcile writes a minted token file and a policy whose operator token
 * changed), so a start the engine refuses (a wrong master key) leaves every file as it was.
 *
 * Readers take a reference to the current snapshot (gw_policy_get); changes run under
 * one lock: compute the next snapshot (rbac checks authority and guard rails), do the
 * engine work the change needs, write the file, publish. A request that started on the
 * old snapshot finishes on it; the next one sees the change.
 *
 * Storage names: the default tenant's database D is stored as "D", another tenant T's as
 * "T--D" ("--" cannot appear in names, so the mapping is one-to-one and no client-given
 * name reaches another tenant's storage). On the first start of a policy, databases that
 * already exist in the engine (from before access control) are adopted into the default
 * tenant; after that, storage that no policy database names is reported and left alone.
 * Order on disk: creating a database creates storage first, then writes the policy;
 * deleting drops storage first, then writes the policy. A crash in between leaves empty
 * storage nobody can reach (reused if the name is created again) or a database without
 * storage (recreated, empty, at the next start) — never data behind the policy's back.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_int.h"
#include "strata/clock.h"
#include "strata/file.h"
#include "strata/hash.h"
#include "strata/log.h"

#define PEPPER_LEN 32
#define DEFAULT_CLUSTER_ID "strata"
#define DEFAULT_TENANT "default"

static struct {
    pthread_mutex_t cur_mu; /* guards `cur` (reference taking and swapping) */
    pthread_mutex_t mut_mu; /* serialises changes */
    struct rbac_snapshot *cur;
    char *file;
    bool first_start;       /* no policy file existed: adopt, then write it */
    bool persist_pending;   /* the operator token changed, or the file is in the other
                               encryption mode (a migration): write the policy at reconcile */
    /* encryption at rest (keys.c): the keyring is the server's, borrowed until close */
    const struct eng_keyring *kr;
    bool encrypt;           /* write the policy and a generated pepper sealed under kr */
    bool migrate;           /* --encryption-migrate: files in the other mode are converted */
    bool pepper_sealed;     /* the pepper file is sealed: reseal it after a key rotation */
    bool pepper_rewrite_pending; /* a migration: write the pepper in the configured mode */
    char *pepper_file;
    uint8_t pepper[RBAC_PEPPER_MAX];
    size_t pepper_len;
    bool token_file_pending; /* a minted operator token waits to be written (reconcile) */
    char default_tenant[RBAC_NAME_MAX + 1];
    char op_token[RBAC_OPERATOR_TOKEN_MAX + 1];
} P = {.cur_mu = PTHREAD_MUTEX_INITIALIZER, .mut_mu = PTHREAD_MUTEX_INITIALIZER};

struct rbac_snapshot *
gw_policy_get(void)
{
    pthread_mutex_lock(&P.cur_mu);
    struct rbac_snapshot *s = rbac_snapshot_ref(P.cur);
    pthread_mutex_unlock(&P.cur_mu);
    return s;
}

static void
publish(struct rbac_snapshot *next)
{
    pthread_mutex_lock(&P.cur_mu);
    struct rbac_snapshot *old = P.cur;
    P.cur = next;
    pthread_mutex_unlock(&P.cur_mu);
    rbac_snapshot_unref(old);
}

const char *
gw_policy_operator_token(void)
{
    return P.op_token;
}

const char *
gw_default_tenant(void)
{
    return P.default_tenant;
}

/* ---- storage names ------------------------------------------------------------------------ */

enum st_code
gw_engine_name(const char *tenant, const char *db, char out[GW_ENGINE_NAME_MAX + 1],
               struct st_error *err)
{
    struct st_error e;
    if (!db || rbac_name_check(RBAC_NAME_DATABASE, db, strlen(db), &e) != ST_OK)
        return st_error_set(err, ST_EINVAL, "%s", db ? e.msg : "no database name");
    if (!tenant || !strcmp(tenant, P.default_tenant)) {
        snprintf(out, GW_ENGINE_NAME_MAX + 1, "%s", db);
        return ST_OK;
    }
    if (strlen(tenant) + 2 + strlen(db) > GW_ENGINE_NAME_MAX)
        return st_error_set(err, ST_EINVAL,
                            "database name too long: in tenant \"%s\" a database name may have "
                            "at most %zu bytes",
                            tenant, GW_ENGINE_NAME_MAX - 2 - strlen(tenant));
    snprintf(out, GW_ENGINE_NAME_MAX + 1, "%s--%s", tenant, db);
    return ST_OK;
}

bool
gw_engine_name_parse(const char *engine, char tenant[RBAC_NAME_MAX + 1],
                     char db[RBAC_NAME_MAX + 1])
{
    size_t n = strlen(engine);
    if (rbac_name_check(RBAC_NAME_DATABASE, engine, n, NULL) == ST_OK) {
        snprintf(tenant, RBAC_NAME_MAX + 1, "%s", P.default_tenant);
        snprintf(db, RBAC_NAME_MAX + 1, "%s", engine);
        return true;
    }
    /* "T--D": the one split where both halves are valid names */
    for (size_t i = 1; i + 2 < n; i++) {
        if (engine[i] != '-' || engine[i + 1] != '-')
            continue;
        if (i <= RBAC_NAME_MAX && n - i - 2 <= RBAC_NAME_MAX &&
            rbac_name_check(RBAC_NAME_TENANT, engine, i, NULL) == ST_OK &&
            rbac_name_check(RBAC_NAME_DATABASE, engine + i + 2, n - i - 2, NULL) == ST_OK &&
            !(i == strlen(P.default_tenant) && !strncmp(engine, P.default_tenant, i))) {
            memcpy(tenant, engine, i);
            tenant[i] = '\0';
            snprintf(db, RBAC_NAME_MAX + 1, "%s", engine + i + 2);
            return true;
        }
    }
    return false;
}

/* ---- files -------------------------------------------------------------------------------- */

static enum st_code
parent_dir(const char *path, struct st_error *err)
{
    char *d = strdup(path);
    if (!d)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    char *slash = strrchr(d, '/');
    enum st_code rc = ST_OK;
    if (slash && slash != d) {
        *slash = '\0';
        rc = st_mkdir_p(d, 0700, err);
    }
    free(d);
    return rc;
}

static void
warn_mode(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        st_log(ST_LOG_WARN, "auth",
               "%s '%s' is readable or writable by group or others (mode %03o); use chmod 600",
               what, path, (unsigned)(st.st_mode & 0777));
}

/* Write the pepper file: sealed under the current master key when encrypting (kind
 * "token-pepper", eng_file_seal), else the raw bytes. */
static enum st_code
write_pepper(const char *path, const uint8_t *pepper, size_t len, struct st_error *err)
{
    uint8_t *sealed = NULL;
    size_t n = 0;
    enum st_code rc = ST_OK;
    if (P.encrypt && P.kr)
        rc = eng_file_seal(P.kr, "token-pepper", pepper, len, &sealed, &n, err);
    if (rc == ST_OK)
        rc = st_file_write_atomic(path, sealed ? sealed : pepper, sealed ? n : len, 0600, err);
    if (sealed) {
        OPENSSL_cleanse(sealed, n);
        free(sealed);
    }
    if (rc == ST_OK)
        P.pepper_sealed = P.encrypt && P.kr;
    return rc;
}

/*
 * The pepper: a file sealed by stratad (eng_file_unseal), or raw bytes (one provisioned by
 * a deployment tool, or written by a server without encryption; used as it is); generated
 * when missing, sealed when encrypting.
 */
static enum st_code
load_pepper(const char *path, uint8_t *pepper, size_t *len, struct st_error *err)
{
    uint8_t *data = NULL;
    size_t n = 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        ST_TRY(st_file_read_all(path, 4096, &data, &n, err));
        enum st_code rc = ST_OK;
        uint8_t *body = NULL;
        size_t bn = 0;
        const uint8_t *raw = data;
        size_t rn = n;
        bool encrypted = false;
        if (eng_file_is_sealed(data, n)) {
            rc = eng_file_unseal(P.kr, false, "token-pepper", path, data, n, &body, &bn,
                                 &encrypted, err);
            if (rc != ST_OK)
                st_error_prefix(err, "--token-pepper-file: ");
            raw = body;
            rn = bn;
            P.pepper_sealed = rc == ST_OK && encrypted;
        }
        /* a migration converts the pepper with everything else (at reconcile) */
        P.pepper_rewrite_pending = rc == ST_OK && P.migrate && encrypted != P.encrypt;
        if (rc == ST_OK && (rn < RBAC_PEPPER_MIN || rn > RBAC_PEPPER_MAX))
            rc = st_error_set(err, ST_EINVAL,
                              "--token-pepper-file '%s': must hold %d..%d bytes, not %zu", path,
                              RBAC_PEPPER_MIN, RBAC_PEPPER_MAX, rn);
        else if (rc == ST_OK)
            memcpy(pepper, raw, rn);
        OPENSSL_cleanse(data, n);
        free(data);
        if (body) {
            OPENSSL_cleanse(body, bn);
            free(body);
        }
        *len = rn;
        warn_mode(path, "token pepper file");
        return rc;
    }
    if (errno != ENOENT)
        return st_error_set(err, ST_EIO, "--token-pepper-file '%s': %s", path, strerror(errno));
    if (st_random_bytes(pepper, PEPPER_LEN) != 0)
        return st_error_set(err, ST_EIO, "cannot read random bytes for the token pepper");
    ST_TRY(parent_dir(path, err));
    enum st_code rc = write_pepper(path, pepper, PEPPER_LEN, err);
    if (rc != ST_OK) {
        st_error_prefix(err, "--token-pepper-file: ");
        return rc;
    }
    *len = PEPPER_LEN;
    st_log(ST_LOG_NOTICE, "auth", "generated the token pepper in '%s'%s", path,
           P.pepper_sealed ? " (sealed under the master key)" : "");
    return ST_OK;
}

/* Write the operator token minted at open to --admin-token-file. */
static enum st_code
write_token_file(const char *path, struct st_error *err)
{
    char line[RBAC_OPERATOR_TOKEN_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", P.op_token);
    enum st_code rc = parent_dir(path, err);
    if (rc == ST_OK)
        rc = st_file_write_atomic(path, line, (size_t)n, 0600, err);
    OPENSSL_cleanse(line, sizeof line);
    if (rc != ST_OK)
        st_error_prefix(err, "--admin-token-file: ");
    return rc;
}

/* Read the operator token file, or mint one into it. */
static enum st_code
operator_token(const char *path, bool *created, struct st_error *err)
{
    struct stat st;
    *created = false;
    if (stat(path, &st) == 0) {
        uint8_t *data = NULL;
        size_t len = 0;
        ST_TRY(st_file_read_all(path, 4096, &data, &len, err));
        size_t n = len;
        while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
            n--;
        enum st_code rc = ST_OK;
        if (n < RBAC_OPERATOR_TOKEN_MIN || n > RBAC_OPERATOR_TOKEN_MAX)
            rc = st_error_set(err, ST_EINVAL,
                              "--admin-token-file '%s': the token must be %d..%d characters, "
                              "not %zu",
                              path, RBAC_OPERATOR_TOKEN_MIN, RBAC_OPERATOR_TOKEN_MAX, n);
        for (size_t i = 0; rc == ST_OK && i < n; i++)
            if (data[i] <= 0x20 || data[i] >= 0x7f)
                rc = st_error_set(err, ST_EINVAL,
                                  "--admin-token-file '%s': character %zu is not printable "
                                  "non-space ASCII (one line, one token)",
                                  path, i + 1);
        if (rc == ST_OK) {
            memcpy(P.op_token, data, n);
            P.op_token[n] = '\0';
        }
        OPENSSL_cleanse(data, len);
        free(data);
        if (rc == ST_OK)
            warn_mode(path, "operator token file");
        return rc;
    }
    if (errno != ENOENT)
        return st_error_set(err, ST_EIO, "--admin-token-file '%s': %s", path, strerror(errno));
    /* A new policy's token is written at once; beside an existing policy it is written by
     * gw_policy_reconcile once the engine opened, so that a start the engine refuses (a
     * wrong master key) writes nothing. */
    struct rbac_secret sec;
    ST_TRY(rbac_token_generate(RBAC_TOKEN_OPERATOR, &sec, err));
    snprintf(P.op_token, sizeof P.op_token, "%s", sec.text);
    rbac_secret_wipe(&sec);
    *created = true;
    if (!P.first_start) {
        P.token_file_pending = true;
        return ST_OK;
    }
    return write_token_file(path, err);
}

/* Write a snapshot to the policy file: sealed under the current master key when
 * encrypting (kind "policy", eng_file_seal), else the JSON itself. */
static enum st_code
persist(const struct rbac_snapshot *s, struct st_error *err)
{
    struct st_buf b;
    st_buf_init(&b, RBAC_POLICY_MAX_LEN);
    enum st_code rc = rbac_policy_describe(s, &b, err);
    uint8_t *sealed = NULL;
    size_t n = 0;
    if (rc == ST_OK && P.encrypt && P.kr)
        rc = eng_file_seal(P.kr, "policy", b.data, b.len, &sealed, &n, err);
    if (rc == ST_OK)
        rc = st_file_write_atomic(P.file, sealed ? sealed : b.data, sealed ? n : b.len, 0600, err);
    free(sealed);
    st_buf_cleanup(&b);
    if (rc != ST_OK)
        st_error_prefix(err, "writing the policy file '%s': ", P.file);
    return rc;
}

static enum st_code
load_policy(const char *path, const uint8_t *pepper, size_t pepper_len,
            struct rbac_snapshot **out, struct st_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ST_TRY(st_file_read_all(path, RBAC_POLICY_MAX_LEN + 4096, &data, &len, err));
    /* sealed (the normal case with encryption), or the plain JSON of a server without it */
    bool was_encrypted = false;
    if (eng_file_is_sealed(data, len)) {
        uint8_t *body = NULL;
        size_t bn = 0;
        enum st_code urc = eng_file_unseal(P.kr, P.encrypt && !P.migrate, "policy", path, data,
                                           len, &body, &bn, &was_encrypted, err);
        free(data);
        if (urc != ST_OK) {
            st_error_prefix(err, "the access policy: ");
            return urc;
        }
        data = body;
        len = bn;
    }
    if (was_encrypted != P.encrypt) {
        if (!P.migrate) {
            free(data);
            return st_error_set(err, ST_ECRYPTO,
                                "policy file '%s' is %s, but encryption is %s; start once with "
                                "--encryption-migrate to convert it with the data directory",
                                path, was_encrypted ? "encrypted" : "not encrypted",
                                P.encrypt ? "on" : "off");
        }
        P.persist_pending = true; /* rewritten in the configured mode once the engine opened */
    }
    struct rbac_load_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        free(data);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    struct st_error e;
    enum st_code rc = rbac_policy_load(data, len, pepper, pepper_len, out, rep, &e);
    free(data);
    if (rc != ST_OK) {
        for (size_t i = 0; i < rep->n_errors && i < RBAC_LOAD_MAX_ERRORS; i++)
            st_log(ST_LOG_ERROR, "auth", "policy file '%s': %s: %s", path, rep->errors[i].where,
                   rep->errors[i].msg);
        if (rc == ST_ECRYPTO)
            st_error_set(err, rc,
                         "policy file '%s' was written with another token pepper (check "
                         "--token-pepper-file); refusing to start",
                         path);
        else if (rep->n_errors)
            st_error_set(err, rc,
                         "policy file '%s' is damaged (%zu problems; first: %s: %s); refusing "
                         "to start: restore it from a backup",
                         path, rep->n_errors, rep->errors[0].where, rep->errors[0].msg);
        else
            st_error_set(err, rc, "policy file '%s' does not load (%s); refusing to start: "
                                  "restore it from a backup",
                         path, e.msg);
    }
    free(rep);
    return rc;
}

/* Whether the operator token already has this secret (no rewrite at every start). */
static bool
operator_current(const struct rbac_snapshot *s)
{
    struct rbac_principal p;
    rbac_principal_init(&p);
    bool ok = rbac_token_authenticate(s, (const uint8_t *)P.op_token, strlen(P.op_token),
                                      st_now_ns(), &p, NULL, NULL) == ST_OK &&
              p.kind == RBAC_PRINCIPAL_OPERATOR;
    rbac_principal_cleanup(&p);
    return ok;
}

enum st_code
gw_policy_open(struct gw_server *s, bool *created_token, struct st_error *err)
{
    struct gw_config *c = &s->cfg;
    uint8_t pepper[RBAC_PEPPER_MAX];
    size_t pepper_len = 0;
    P.file = strdup(c->policy_file);
    P.pepper_file = strdup(c->token_pepper_file);
    if (!P.file || !P.pepper_file)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    P.kr = s->keys;
    P.encrypt = c->encryption_on && s->keys;
    P.migrate = c->encryption_migrate;
    ST_TRY(parent_dir(P.file, err));
    enum st_code rc = load_pepper(c->token_pepper_file, pepper, &pepper_len, err);
    if (rc == ST_OK) {
        memcpy(P.pepper, pepper, pepper_len); /* kept to reseal it after a key rotation */
        P.pepper_len = pepper_len;
    }
    struct rbac_snapshot *snap = NULL;
    struct stat st;
    if (rc == ST_OK) {
        if (stat(P.file, &st) == 0) {
            rc = load_policy(P.file, pepper, pepper_len, &snap, err);
        } else if (errno == ENOENT) {
            P.first_start = true;
            rc = rbac_snapshot_new(c->cluster_id ? c->cluster_id : DEFAULT_CLUSTER_ID,
                                   c->default_tenant ? c->default_tenant : DEFAULT_TENANT, pepper,
                                   pepper_len, st_now_ns(), &snap, err);
        } else {
            rc = st_error_set(err, ST_EIO, "policy file '%s': %s", P.file, strerror(errno));
        }
    }
    OPENSSL_cleanse(pepper, sizeof pepper);
    if (rc != ST_OK)
        return rc;
    if (c->cluster_id && strcmp(c->cluster_id, rbac_snapshot_cluster_id(snap)) != 0) {
        rc = st_error_set(err, ST_EINVAL,
                          "--cluster-id '%s' does not match the policy's cluster id '%s' ('%s')",
                          c->cluster_id, rbac_snapshot_cluster_id(snap), P.file);
    } else if (c->default_tenant &&
               strcmp(c->default_tenant, rbac_snapshot_default_tenant(snap)) != 0) {
        rc = st_error_set(err, ST_EINVAL,
                          "--default-tenant '%s' does not match the policy's default tenant "
                          "'%s' ('%s')",
                          c->default_tenant, rbac_snapshot_default_tenant(snap), P.file);
    }
    if (rc != ST_OK) {
        rbac_snapshot_unref(snap);
        return rc;
    }
    snprintf(P.default_tenant, sizeof P.default_tenant, "%s", rbac_snapshot_default_tenant(snap));
    rc = operator_token(c->admin_token_file, created_token, err);
    if (rc == ST_OK && !operator_current(snap)) {
        struct rbac_snapshot *n = NULL;
        rc = rbac_policy_operator_install(snap, NULL, (const uint8_t *)P.op_token,
                                          strlen(P.op_token), st_now_ns(), &n, err);
        if (rc == ST_OK) {
            rbac_snapshot_unref(snap);
            snap = n;
            /* written once the engine opened (reconcile): a new policy after its databases
             * are adopted, a changed one so that a refused start changes nothing */
            P.persist_pending = P.persist_pending || !P.first_start;
        } else {
            st_error_prefix(err, "--admin-token-file: ");
        }
    }
    if (rc != ST_OK) {
        rbac_snapshot_unref(snap);
        return rc;
    }
    publish(snap);
    return ST_OK;
}

struct adopt {
    const char *name;
    const struct rbac_principal *op;
};

static enum st_code
adopt_fn(const struct rbac_snapshot *cur, void *arg, struct rbac_snapshot **next,
         struct st_error *err)
{
    struct adopt *a = arg;
    struct rbac_decision why;
    return rbac_policy_db_create(cur, a->op, NULL, a->name, NULL, st_now_ns(), next, &why, err);
}

enum st_code
gw_policy_reconcile(struct gw_server *s, struct st_error *err)
{
    if (P.token_file_pending) {
        ST_TRY(write_token_file(s->cfg.admin_token_file, err));
        P.token_file_pending = false;
    }
    if (P.pepper_rewrite_pending) {
        enum st_code prc = write_pepper(P.pepper_file, P.pepper, P.pepper_len, err);
        if (prc != ST_OK) {
            st_error_prefix(err, "converting the token pepper '%s': ", P.pepper_file);
            return prc;
        }
        P.pepper_rewrite_pending = false;
        st_log(ST_LOG_NOTICE, "auth", "token pepper '%s' %s", P.pepper_file,
               P.pepper_sealed ? "sealed under the master key" : "written unencrypted");
    }
    if (P.persist_pending) {
        struct rbac_snapshot *cur = gw_policy_get();
        enum st_code prc = persist(cur, err);
        rbac_snapshot_unref(cur);
        ST_TRY(prc);
        P.persist_pending = false;
    }
    struct rbac_snapshot *snap = gw_policy_get();
    struct rbac_db_info *dbs = NULL;
    size_t n_dbs = 0;
    enum st_code rc = rbac_snapshot_databases(snap, &dbs, &n_dbs, err);
    /* every policy database has its storage */
    for (size_t i = 0; rc == ST_OK && i < n_dbs; i++) {
        char en[GW_ENGINE_NAME_MAX + 1];
        if (gw_engine_name(dbs[i].tenant, dbs[i].name, en, err) != ST_OK) {
            rc = ST_EINVAL;
            break;
        }
        if (!eng_db_exists(s->eng, en)) {
            rc = eng_db_create(s->eng, en, err);
            if (rc == ST_EEXISTS)
                rc = ST_OK;
            if (rc == ST_OK)
                st_log(ST_LOG_WARN, "auth",
                       "database \"%s\" of tenant \"%s\" had no storage (a change interrupted "
                       "by a crash?): created it empty",
                       dbs[i].name, dbs[i].tenant);
        }
    }
    char **names = NULL;
    size_t n_names = 0;
    if (rc == ST_OK)
        rc = eng_db_list(s->eng, &names, &n_names, err);
    struct rbac_principal op;
    rbac_principal_init(&op);
    if (rc == ST_OK && P.first_start)
        rc = rbac_token_authenticate(snap, (const uint8_t *)P.op_token, strlen(P.op_token),
                                     st_now_ns(), &op, NULL, err);
    rbac_snapshot_unref(snap);
    for (size_t i = 0; rc == ST_OK && i < n_names; i++) {
        char t[RBAC_NAME_MAX + 1], d[RBAC_NAME_MAX + 1];
        if (gw_is_internal_db(names[i]))
            continue; /* the server's own (integrity.c): no policy database names it */
        bool mapped = gw_engine_name_parse(names[i], t, d);
        snap = gw_policy_get();
        bool known = mapped && rbac_snapshot_has_database(snap, t, d);
        rbac_snapshot_unref(snap);
        if (known)
            continue;
        if (P.first_start && mapped && !strcmp(t, P.default_tenant)) {
            struct rbac_snapshot *cur = gw_policy_get(), *next = NULL;
            struct adopt a = {d, &op};
            rc = adopt_fn(cur, &a, &next, err);
            rbac_snapshot_unref(cur);
            if (rc == ST_OK) {
                publish(next);
                st_log(ST_LOG_NOTICE, "auth",
                       "adopted database \"%s\" into tenant \"%s\" (first start of the access "
                       "policy)",
                       d, t);
            }
        } else {
            st_log(ST_LOG_WARN, "auth",
                   "storage \"%s\" belongs to no database of the access policy: nobody can "
                   "reach it (left as it is)",
                   names[i]);
        }
    }
    rbac_principal_cleanup(&op);
    eng_strv_free(names, n_names);
    free(dbs);
    if (rc == ST_OK && P.first_start) {
        snap = gw_policy_get();
        rc = persist(snap, err);
        rbac_snapshot_unref(snap);
        if (rc == ST_OK) {
            P.first_start = false;
            st_log(ST_LOG_NOTICE, "auth", "created the access policy '%s'", P.file);
        }
    }
    return rc;
}

enum st_code
gw_policy_mutate(gw_policy_fn fn, void *arg, struct st_error *err)
{
    pthread_mutex_lock(&P.mut_mu);
    struct rbac_snapshot *cur = gw_policy_get();
    struct rbac_snapshot *next = NULL;
    enum st_code rc = fn(cur, arg, &next, err);
    if (rc == ST_OK && next) {
        rc = persist(next, err);
        if (rc == ST_OK)
            publish(next);
        else
            rbac_snapshot_unref(next);
    }
    rbac_snapshot_unref(cur);
    pthread_mutex_unlock(&P.mut_mu);
    return rc;
}

enum st_code
gw_policy_reseal(struct st_error *err)
{
    if (!P.encrypt || !P.file)
        return ST_OK;
    pthread_mutex_lock(&P.mut_mu);
    struct rbac_snapshot *s = gw_policy_get();
    enum st_code rc = persist(s, err);
    rbac_snapshot_unref(s);
    if (rc == ST_OK && P.pepper_sealed) {
        rc = write_pepper(P.pepper_file, P.pepper, P.pepper_len, err);
        if (rc != ST_OK)
            st_error_prefix(err, "resealing the token pepper '%s': ", P.pepper_file);
    }
    pthread_mutex_unlock(&P.mut_mu);
    return rc;
}

void
gw_policy_close(void)
{
    /* last-used times live in memory between changes: keep them */
    pthread_mutex_lock(&P.mut_mu);
    struct rbac_snapshot *s = gw_policy_get();
    struct st_error err;
    if (s && P.file && !P.first_start && persist(s, &err) != ST_OK)
        st_log(ST_LOG_WARN, "auth", "%s", err.msg);
    rbac_snapshot_unref(s);
    pthread_mutex_unlock(&P.mut_mu);
    publish(NULL);
    OPENSSL_cleanse(P.op_token, sizeof P.op_token);
    OPENSSL_cleanse(P.pepper, sizeof P.pepper);
    P.pepper_len = 0;
    free(P.file);
    P.file = NULL;
    free(P.pepper_file);
    P.pepper_file = NULL;
    P.kr = NULL;
}
