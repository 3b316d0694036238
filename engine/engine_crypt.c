/*
 * engine_crypt.c: encryption at rest in the engine facade: the keyring
 * functions of engine.h, sealed files for other modules (eng_file_seal),
 * the encryption policy an engine hands to its parts, migrations between
 * plaintext and encrypted data directories, and master key rotation
 * (eng_rotate_key).
 *
 * Policy (strata/crypt.h): with `encryption` on, new files are encrypted and
 * only encrypted files are read; off, only plaintext ones. A migration opens
 * with both accepted, rewrites everything in the configured mode and leaves
 * a directory in that mode alone.
 *
 * Rotation order: the new key becomes current first, so every file created
 * from then on is wrapped under it; then the WAL segments (appends wait),
 * the catalog (schema changes wait) and, with persists and compactions held
 * off, every chunk and manifest. Each file's rewrap is crash-safe on its own
 * (strata/crypt.h key slots; atomic replace for small files), so a crash
 * leaves a mix that opens with both keys configured and that running the
 * rotation again completes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "strata/log.h"
#include "strata/wal.h"

/* ---- keyrings -------------------------------------------------------------- */

struct eng_keyring *
eng_keyring_new(void)
{
    struct eng_keyring *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->kr = crypt_keyring_new();
    if (!k->kr) {
        free(k);
        return NULL;
    }
    return k;
}

void
eng_keyring_free(struct eng_keyring *kr)
{
    if (!kr)
        return;
    crypt_keyring_free(kr->kr);
    free(kr);
}

enum st_code
eng_keyring_add_hex(struct eng_keyring *kr, const char *hex, size_t len, bool make_current,
                    struct st_error *err)
{
    uint8_t key[CRYPT_KEY_LEN];
    if (!kr || !hex)
        return st_error_set(err, ST_EINVAL, "no keyring or key");
    enum st_code rc = crypt_key_parse_hex(hex, len, key, err);
    if (rc == ST_OK)
        rc = crypt_keyring_add(kr->kr, key, make_current, err);
    crypt_wipe(key, sizeof key);
    return rc;
}

enum st_code
eng_keyring_add_file(struct eng_keyring *kr, const char *path, bool make_current,
                     struct st_error *err)
{
    uint8_t key[CRYPT_KEY_LEN];
    if (!kr || !path)
        return st_error_set(err, ST_EINVAL, "no keyring or key file");
    enum st_code rc = crypt_key_load_file(path, key, err);
    if (rc == ST_OK)
        rc = crypt_keyring_add(kr->kr, key, make_current, err);
    crypt_wipe(key, sizeof key);
    return rc;
}

enum st_code
eng_key_generate_file(const char *path, struct eng_keyring *kr, char kid_out[ENG_KEY_ID_LEN + 1],
                      struct st_error *err)
{
    uint8_t key[CRYPT_KEY_LEN];
    if (!path)
        return st_error_set(err, ST_EINVAL, "no key file path");
    enum st_code rc = crypt_key_generate_file(path, key, err);
    if (rc == ST_OK && kr)
        rc = crypt_keyring_add(kr->kr, key, true, err);
    if (rc == ST_OK && kid_out)
        crypt_key_id_hex(key, kid_out);
    crypt_wipe(key, sizeof key);
    return rc;
}

bool
eng_keyring_current_id(const struct eng_keyring *kr, char out[ENG_KEY_ID_LEN + 1])
{
    return kr && crypt_keyring_current_id(kr->kr, out);
}

/* ---- sealed files for other modules ------------------------------------------------ */

#define ENV_MAGIC "STRTENV1"
#define ENV_VERSION 1
#define ENV_MAX_LEN ((size_t)1 << 30)

static enum st_code
kind_check(const char *kind, char out[40], struct st_error *err)
{
    size_t n = kind ? strlen(kind) : 0;
    if (n == 0 || n > 24)
        return st_error_set(err, ST_EINVAL, "a sealed file's kind must be 1 to 24 characters");
    for (size_t i = 0; i < n; i++) {
        char c = kind[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return st_error_set(err, ST_EINVAL,
                                "a sealed file's kind may hold only a-z, 0-9 and '-'");
    }
    /* a prefix keeps other modules' kinds apart from the engine's own */
    snprintf(out, 40, "ext-%s", kind);
    return ST_OK;
}

enum st_code
eng_file_seal(const struct eng_keyring *kr, const char *kind, const void *body, size_t len,
              uint8_t **out, size_t *out_len, struct st_error *err)
{
    char k[40];
    ST_TRY(kind_check(kind, k, err));
    if (!out || !out_len || (!body && len))
        return st_error_set(err, ST_EINVAL, "bad arguments to eng_file_seal");
    if (len > ENV_MAX_LEN)
        return st_error_set(err, ST_ELIMIT, "a sealed file holds at most 1 GiB");
    struct crypt_policy pol = {kr ? kr->kr : NULL, kr && crypt_keyring_count(kr->kr) > 0, true,
                               true};
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    enum st_code rc = crypt_envelope_build(&pol, k, ENV_MAGIC, ENV_VERSION, 0,
                                           (const uint8_t *)(body ? body : ""), len, &b, err);
    if (rc != ST_OK) {
        st_buf_cleanup(&b);
        return rc;
    }
    *out = st_buf_take(&b, out_len);
    return ST_OK;
}

enum st_code
eng_file_unseal(const struct eng_keyring *kr, bool require_encrypted, const char *kind,
                const char *what, const uint8_t *file, size_t len, uint8_t **body,
                size_t *body_len, bool *was_encrypted, struct st_error *err)
{
    char k[40];
    ST_TRY(kind_check(kind, k, err));
    if (!file || !body || !body_len)
        return st_error_set(err, ST_EINVAL, "bad arguments to eng_file_unseal");
    struct crypt_policy pol = {kr ? kr->kr : NULL, false, !require_encrypted, true};
    const uint8_t *p;
    size_t n;
    uint16_t ver, flags;
    uint8_t *owned = NULL;
    ST_TRY(crypt_envelope_open(&pol, k, what ? what : kind, ENV_MAGIC, ENV_VERSION, 0, file, len,
                               &ver, &flags, &p, &n, &owned, err));
    if (was_encrypted)
        *was_encrypted = owned != NULL;
    uint8_t *copy = malloc(n + 1);
    if (!copy) {
        if (owned)
            crypt_wipe(owned, n);
        free(owned);
        return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    memcpy(copy, p, n);
    copy[n] = '\0';
    if (owned)
        crypt_wipe(owned, n);
    free(owned);
    *body = copy;
    *body_len = n;
    return ST_OK;
}

bool
eng_file_is_sealed(const uint8_t *file, size_t len)
{
    return file && len >= 8 && memcmp(file, ENV_MAGIC, 8) == 0;
}

/* ---- policy ------------------------------------------------------------------- */

enum st_code
eng__crypt_setup(struct eng *e, const struct eng_options *o, struct st_error *err)
{
    if (o->keyring && crypt_keyring_count(o->keyring->kr)) {
        e->keys = crypt_keyring_copy(o->keyring->kr);
        if (!e->keys)
            return st_error_set(err, ST_ENOMEM, "out of memory");
    }
    if (o->encryption && !e->keys)
        return st_error_set(err, ST_EINVAL,
                            "encryption is on but no master key is configured (give a key "
                            "file or key, or turn encryption off)");
    e->pol.keys = e->keys;
    e->pol.encrypt = o->encryption;
    e->pol.accept_plain = !o->encryption || o->encryption_migrate;
    e->pol.accept_encrypted = o->encryption || o->encryption_migrate;
    if (e->keys) {
        char kid[ENG_KEY_ID_LEN + 1];
        crypt_keyring_current_id(e->keys, kid);
        st_log(ST_LOG_INFO, "engine", "encryption at rest %s; current master key %s",
               o->encryption ? "on" : "off", kid);
    }
    return ST_OK;
}

/* ---- migration ------------------------------------------------------------------ */

/* Files in each mode over the whole directory. */
static void
mode_counts(struct eng *e, uint64_t *enc, uint64_t *plain)
{
    uint64_t a, b;
    *enc = *plain = 0;
    if (cat_store_file_exists(e->cat))
        (*(cat_store_file_encrypted(e->cat) ? enc : plain))++;
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    for (uint32_t i = 0; i < cat_snapshot_n_dbs(s); i++) {
        struct stor_db *db = stor_db_get(e->stor, cat_snapshot_db_at(s, i)->id);
        if (!db)
            continue;
        stor_db_mode_counts(db, &a, &b);
        *enc += a;
        *plain += b;
        stor_db_put(db);
    }
    cat_snapshot_unref(s);
    wal_mode_counts(e->wal, &a, &b);
    *enc += a;
    *plain += b;
}

enum st_code
eng__migrate(struct eng *e, struct st_error *err)
{
    bool target = e->o.encryption;
    uint64_t enc, plain;
    mode_counts(e, &enc, &plain);
    uint64_t other = target ? plain : enc;
    if (!other) {
        st_log(ST_LOG_INFO, "engine", "data directory \"%s\" is already %s: nothing to migrate",
               e->data_dir, target ? "encrypted" : "unencrypted");
        return ST_OK;
    }
    st_log(ST_LOG_NOTICE, "engine", "migrating \"%s\" to %s files: %llu files to rewrite",
           e->data_dir, target ? "encrypted" : "unencrypted", (unsigned long long)other);
    enum st_code rc = ST_OK;
    pthread_mutex_lock(&e->maint_mu);
    if (cat_store_file_exists(e->cat) && cat_store_file_encrypted(e->cat) != target)
        rc = cat_store_resave(e->cat, err);
    uint64_t rewritten = 0;
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    for (uint32_t i = 0; i < cat_snapshot_n_dbs(s) && rc == ST_OK; i++) {
        const struct cat_db *cdb = cat_snapshot_db_at(s, i);
        struct stor_db *db = stor_db_get(e->stor, cdb->id);
        if (!db)
            continue;
        uint64_t n = 0;
        rc = stor_migrate(db, &n, err);
        if (rc != ST_OK)
            st_error_prefix(err, "migrating database \"%s\": ", cdb->name);
        rewritten += n;
        stor_db_put(db);
    }
    cat_snapshot_unref(s);
    /* Everything is in chunks now: the old segments can go. */
    if (rc == ST_OK)
        rc = wal_sync(e->wal, 0, err);
    if (rc == ST_OK)
        rc = wal_truncate(e->wal, stor_wal_safe_seq(e->stor, wal_durable_seq(e->wal)), err);
    pthread_mutex_unlock(&e->maint_mu);
    if (rc != ST_OK) {
        st_error_prefix(err, "migration (run it again to finish): ");
        return rc;
    }
    mode_counts(e, &enc, &plain);
    other = target ? plain : enc;
    if (other)
        st_log(ST_LOG_WARN, "engine",
               "migration of \"%s\" left %llu files %s (quarantined data is not rewritten)",
               e->data_dir, (unsigned long long)other, target ? "unencrypted" : "encrypted");
    else
        st_log(ST_LOG_NOTICE, "engine", "migration of \"%s\" done: %llu chunks rewritten",
               e->data_dir, (unsigned long long)rewritten);
    return ST_OK;
}

/* ---- rotation ------------------------------------------------------------------- */

struct rot_ctx {
    eng_rotate_progress_fn fn;
    void *ctx;
    uint64_t base, total;
};

static void
rot_progress(void *arg, uint64_t done, uint64_t total)
{
    struct rot_ctx *r = arg;
    (void)total;
    if (r->fn) {
        struct eng_rotate_progress p = {r->base + done, r->total};
        r->fn(r->ctx, &p);
    }
}

enum st_code
eng_rotate_key(struct eng *e, const struct eng_keyring *new_keys, eng_rotate_progress_fn progress,
               void *ctx, struct eng_rotate_result *res, struct st_error *err)
{
    struct eng_rotate_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (!e)
        return st_error_set(err, ST_EINVAL, "no engine");
    if (!crypt_policy_encrypts(&e->pol))
        return st_error_set(err, ST_EINVAL, "encryption is off: there are no keys to rotate");
    if (!new_keys || !crypt_keyring_count(new_keys->kr))
        return st_error_set(err, ST_EINVAL, "no new master key given");
    /* 1. the new key is current: every file created from now on uses it */
    ST_TRY(crypt_keyring_merge(e->keys, new_keys->kr, true, err));
    crypt_keyring_current_id(e->keys, res->new_key_id);
    st_log(ST_LOG_NOTICE, "engine", "rotating the master key to %s", res->new_key_id);

    struct wal_stats ws;
    wal_get_stats(e->wal, &ws);
    struct rot_ctx rc_ = {progress, ctx, 0, 0};
    pthread_mutex_lock(&e->maint_mu);
    struct cat_snapshot *s = cat_store_snapshot(e->cat);
    for (uint32_t i = 0; i < cat_snapshot_n_dbs(s); i++) {
        struct stor_db *db = stor_db_get(e->stor, cat_snapshot_db_at(s, i)->id);
        if (db) {
            rc_.total += stor_db_file_count(db);
            stor_db_put(db);
        }
    }
    cat_snapshot_unref(s);
    rc_.total += ws.n_segments + 1;

    /* 2. WAL segments */
    uint64_t rw = 0, cur = 0, plain = 0;
    enum st_code rc = wal_rotate_keys(e->wal, &rw, &cur, &plain, err);
    res->files += rw + cur + plain;
    res->rewrapped += rw;
    res->already_current += cur;
    rc_.base = res->files;
    rot_progress(&rc_, 0, rc_.total);
    /* 3. the catalog */
    if (rc == ST_OK && cat_store_file_exists(e->cat)) {
        rc = cat_store_resave(e->cat, err);
        if (rc == ST_OK) {
            res->files++;
            res->rewrapped++;
        }
    }
    rc_.base = res->files;
    rot_progress(&rc_, 0, rc_.total);
    /* 4. chunks and manifests */
    if (rc == ST_OK) {
        struct stor_key_counts k;
        rc = stor_rotate_keys(e->stor, &k, rot_progress, &rc_, err);
        res->files += k.files;
        res->rewrapped += k.rewrapped;
        res->already_current += k.current;
        res->skipped += k.skipped;
    }
    pthread_mutex_unlock(&e->maint_mu);
    if (rc != ST_OK) {
        st_log(ST_LOG_ERROR, "engine",
               "master key rotation to %s stopped: %s (every file still opens with the old or "
               "the new key; run the rotation again)",
               res->new_key_id, err ? err->msg : "");
        st_error_prefix(err, "key rotation: ");
        return rc;
    }
    st_log(ST_LOG_NOTICE, "engine",
           "master key rotation to %s done: %llu files, %llu rewrapped, %llu already current, "
           "%llu skipped; the old key can be retired",
           res->new_key_id, (unsigned long long)res->files, (unsigned long long)res->rewrapped,
           (unsigned long long)res->already_current, (unsigned long long)res->skipped);
    return ST_OK;
}
