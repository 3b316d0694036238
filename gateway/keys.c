/*
 * keys.c: stratad's master keys for encryption at rest (docs/operations.md "Master keys";
 * the engine's side is docs/encryption.md). It builds the keyring the engine is opened
 * with, before anything else is written to the data directory:
 *
 *   current key   --master-key-file FILE (64 hex characters, mode 0600), or the key itself
 *                 in $STRATA_MASTER_KEY (removed from the environment once read), or else
 *                 DATA-DIR/keys/master.key. Giving both a file and the variable is refused.
 *   previous keys --previous-master-key-file FILE (repeatable): older keys still needed to
 *                 open files that `strata admin rotate-key` has not rewrapped yet.
 *   first start   with encryption on, no key configured and no DATA-DIR/keys/master.key: a
 *                 new data directory (missing or empty) gets a fresh random key there
 *                 (written to master.key.tmp, synced, renamed: a crash never leaves half a
 *                 key); so does an existing one started with --encryption-migrate. An
 *                 existing directory without its key is refused: generating a key could not
 *                 open it, and the message says what to give instead.
 *
 * A key kept in DATA-DIR/keys/ protects against leaks of the data files (chunks, WAL, the
 * catalog: a copied chunk is useless), not against a copy of the whole directory; the
 * start-up log says so every time and docs/operations.md tells how to move it out.
 * Key material never reaches a log, an error message or a reply: only key ids do (16 hex
 * characters derived from the key, eng_keyring_current_id).
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_int.h"
#include "strata/file.h"
#include "strata/log.h"

#define KEYS_DIR "keys"
#define KEY_FILE "master.key"
#define MAX_PREVIOUS 64

static struct {
    char source[600];      /* where the current key came from, for messages */
    char kid[ENG_KEY_ID_LEN + 1];
    char prev[MAX_PREVIOUS][ENG_KEY_ID_LEN + 1];
    size_t n_prev;
    bool generated;        /* created at this start */
    bool in_data_dir;      /* the current key lives in DATA-DIR/keys/ */
} K;

/* A data directory is new when it is missing or holds nothing but a `keys` directory
 * without master.key: what a first start that stopped while creating the key leaves. */
bool
gw_data_dir_is_new(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT;
    bool empty = true, keys = false;
    struct dirent *e;
    while (empty && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!strcmp(e->d_name, KEYS_DIR))
            keys = true;
        else
            empty = false;
    }
    closedir(d);
    if (empty && keys) {
        char p[4200];
        struct stat st;
        snprintf(p, sizeof p, "%s/" KEYS_DIR "/" KEY_FILE, dir);
        empty = stat(p, &st) != 0 && errno == ENOENT;
    }
    return empty;
}

static enum st_code
default_key_path(const struct gw_config *c, char *out, size_t cap, struct st_error *err)
{
    if ((size_t)snprintf(out, cap, "%s/" KEYS_DIR "/" KEY_FILE, c->data_dir) >= cap)
        return st_error_set(err, ST_EINVAL, "--data-dir: the path is too long");
    return ST_OK;
}

/* Write a new key file crash-safely: PATH.tmp (O_EXCL, 0600, synced), then rename. */
static enum st_code
generate(const char *path, struct eng_keyring *kr, char kid[ENG_KEY_ID_LEN + 1],
         struct st_error *err)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return st_error_set(err, ST_EINVAL, "key file path too long");
    if (unlink(tmp) != 0 && errno != ENOENT)
        return st_error_set(err, ST_EIO, "removing '%s': %s", tmp, strerror(errno));
    ST_TRY(eng_key_generate_file(tmp, kr, kid, err));
    enum st_code rc = st_file_rename(tmp, path, err);
    if (rc != ST_OK)
        unlink(tmp);
    return rc;
}

enum st_code
gw_keys_generate(const char *path, char kid[ENG_KEY_ID_LEN + 1], struct st_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return st_error_set(err, ST_EEXISTS, "'%s' exists: a key file is never overwritten",
                            path);
    enum st_code rc = generate(path, NULL, kid, err);
    if (rc != ST_OK)
        st_error_prefix(err, "--generate-master-key: ");
    return rc;
}

/* The id of the key in a key file, without keeping it. */
static enum st_code
file_key_id(const char *path, char kid[ENG_KEY_ID_LEN + 1], struct st_error *err)
{
    struct eng_keyring *t = eng_keyring_new();
    if (!t)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    enum st_code rc = eng_keyring_add_file(t, path, true, err);
    if (rc == ST_OK)
        eng_keyring_current_id(t, kid);
    eng_keyring_free(t);
    return rc;
}

/* Read $STRATA_MASTER_KEY, then overwrite and remove it from our environment. */
static enum st_code
env_key(struct eng_keyring *kr, struct st_error *err)
{
    char *v = getenv("STRATA_MASTER_KEY");
    size_t n = strlen(v);
    enum st_code rc = eng_keyring_add_hex(kr, v, n, true, err);
    OPENSSL_cleanse(v, n);
    unsetenv("STRATA_MASTER_KEY");
    if (rc != ST_OK)
        st_error_prefix(err, "STRATA_MASTER_KEY: ");
    return rc;
}

enum st_code
gw_keys_open(struct gw_server *s, bool data_dir_new, struct st_error *err)
{
    const struct gw_config *c = &s->cfg;
    memset(&K, 0, sizeof K);
    const char *envk = getenv("STRATA_MASTER_KEY");
    bool have_env = envk && *envk;
    if (c->master_key_file && have_env)
        return st_error_set(err, ST_EINVAL,
                            "both --master-key-file and STRATA_MASTER_KEY are set: give the "
                            "current master key once");
    struct eng_keyring *kr = eng_keyring_new();
    if (!kr)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    char defpath[4200];
    enum st_code rc = default_key_path(c, defpath, sizeof defpath, err);
    struct stat st;
    if (rc != ST_OK) {
        /* reported below */
    } else if (c->master_key_file) {
        rc = eng_keyring_add_file(kr, c->master_key_file, true, err);
        if (rc != ST_OK)
            st_error_prefix(err, "--master-key-file: ");
        snprintf(K.source, sizeof K.source, "--master-key-file '%s'", c->master_key_file);
    } else if (have_env) {
        rc = env_key(kr, err);
        snprintf(K.source, sizeof K.source, "$STRATA_MASTER_KEY");
    } else if (stat(defpath, &st) == 0) {
        rc = eng_keyring_add_file(kr, defpath, true, err);
        snprintf(K.source, sizeof K.source, "'%s'", defpath);
        K.in_data_dir = true;
    } else if (errno != ENOENT) {
        rc = st_error_set(err, ST_EIO, "master key file '%s': %s", defpath, strerror(errno));
    } else if (c->encryption_on && (data_dir_new || c->encryption_migrate)) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/" KEYS_DIR, c->data_dir);
        rc = st_mkdir_p(dir, 0700, err);
        if (rc == ST_OK)
            rc = generate(defpath, kr, K.kid, err);
        if (rc != ST_OK)
            st_error_prefix(err, "creating the master key: ");
        snprintf(K.source, sizeof K.source, "'%s'", defpath);
        K.generated = K.in_data_dir = true;
    } else if (c->encryption_on) {
        rc = st_error_set(err, ST_ECRYPTO,
                          "encryption at rest is on (the default) but no master key is "
                          "configured, and the data directory '%s' is not new, so no key is "
                          "created for it: give its key (--master-key-file FILE or "
                          "STRATA_MASTER_KEY), or start once with --encryption-migrate to "
                          "encrypt a plaintext directory under a new key, or use --encryption "
                          "off (docs/operations.md, \"Master keys\")",
                          c->data_dir);
    }
    for (size_t i = 0; rc == ST_OK && i < c->previous_key_files.n; i++) {
        const char *f = c->previous_key_files.v[i];
        char kid[ENG_KEY_ID_LEN + 1];
        rc = file_key_id(f, kid, err);
        if (rc == ST_OK)
            rc = eng_keyring_add_file(kr, f, false, err);
        if (rc != ST_OK) {
            st_error_prefix(err, "--previous-master-key-file: ");
            break;
        }
        bool dup = false;
        for (size_t k = 0; k < K.n_prev; k++)
            dup = dup || !strcmp(K.prev[k], kid);
        if (!dup && K.n_prev < MAX_PREVIOUS)
            memcpy(K.prev[K.n_prev++], kid, sizeof kid);
    }
    if (rc != ST_OK) {
        eng_keyring_free(kr);
        return rc;
    }
    if ((c->master_key_file || have_env) && stat(defpath, &st) == 0)
        st_log(ST_LOG_WARN, "keys",
               "'%s' exists but the master key comes from %s: that file is not used (if it is "
               "a copy of the key left behind, remove it; if it is an older key, give it with "
               "--previous-master-key-file)",
               defpath, K.source);
    if (!eng_keyring_current_id(kr, K.kid)) {
        eng_keyring_free(kr); /* encryption off and no key: plaintext only */
        s->keys = NULL;
        st_log(ST_LOG_NOTICE, "keys", "encryption at rest: off; no master key configured");
        return ST_OK;
    }
    /* the current key is not a "previous" one, whatever was listed */
    size_t k = 0;
    for (size_t i = 0; i < K.n_prev; i++)
        if (strcmp(K.prev[i], K.kid))
            memmove(K.prev[k++], K.prev[i], sizeof K.prev[i]);
    K.n_prev = k;
    s->keys = kr;
    if (K.generated)
        st_log(ST_LOG_NOTICE, "keys", "created a new master key %s in %s (mode 0600)", K.kid,
               K.source);
    st_log(ST_LOG_NOTICE, "keys", "encryption at rest: %s; master key %s from %s; %zu previous "
                                  "key%s",
           c->encryption_on ? "on" : "off", K.kid, K.source, K.n_prev, K.n_prev == 1 ? "" : "s");
    if (K.in_data_dir)
        st_log(ST_LOG_WARN, "keys",
               "the master key is kept inside the data directory (%s): that protects against "
               "leaks of the data files, not of the whole directory; move it elsewhere and give "
               "--master-key-file (docs/operations.md, \"Moving the key out of the data "
               "directory\")",
               K.source);
    return ST_OK;
}

void
gw_keys_close(struct gw_server *s)
{
    eng_keyring_free(s->keys);
    s->keys = NULL;
}

const char *
gw_keys_current_id(void)
{
    return K.kid[0] ? K.kid : NULL;
}

const char *
gw_keys_source(void)
{
    return K.source;
}

bool
gw_keys_in_data_dir(void)
{
    return K.in_data_dir;
}

bool
gw_keys_generated(void)
{
    return K.generated;
}

size_t
gw_keys_previous_ids(const char (**ids)[ENG_KEY_ID_LEN + 1])
{
    *ids = (const char(*)[ENG_KEY_ID_LEN + 1])K.prev;
    return K.n_prev;
}
