/*
 * crypt.c: AES-256-GCM envelope encryption for files at rest (see
 * strata/crypt.h for the key model and the guarantees).
 *
 * File key record layout (CRYPT_FILE_KEY_LEN = 72 bytes, in file headers):
 *
 *     offset  size  field
 *          0     8  kid           id of the master key that wraps the DEK
 *          8     4  nonce_prefix  first 4 bytes of every block nonce
 *         12    12  wrap_nonce    random nonce of the wrapping
 *         24    32  wrapped_dek   AES-256-GCM(master, wrap_nonce, DEK)
 *         56    16  wrap_tag      GCM tag; AAD = "strata-dek/" kind || kid || nonce_prefix
 *
 * Block sealing: AES-256-GCM(DEK, nonce = nonce_prefix || u64le(block_no),
 * AAD = "strata-blk/" kind || u64le(block_no)), ciphertext then 16-byte tag.
 */
#include "strata/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/buf.h"
#include "strata/crc32c.h"
#include "strata/file.h"

#define MAX_KEYS 16

struct crypt_keyring {
    pthread_rwlock_t lock; /* readers: lookups and wrapping; writer: adding keys */
    uint32_t n;
    uint32_t current;
    struct {
        uint8_t key[CRYPT_KEY_LEN];
        uint8_t kid[CRYPT_KID_LEN];
    } keys[MAX_KEYS];
};

static void
key_id(const uint8_t key[CRYPT_KEY_LEN], uint8_t kid[CRYPT_KID_LEN])
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int dl = 0;
    if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(md, "strata-kid", 10) == 1 &&
        EVP_DigestUpdate(md, key, CRYPT_KEY_LEN) == 1 && EVP_DigestFinal_ex(md, d, &dl) == 1) {
        memcpy(kid, d, CRYPT_KID_LEN);
    } else {
        memset(kid, 0, CRYPT_KID_LEN);
    }
    EVP_MD_CTX_free(md);
    OPENSSL_cleanse(d, sizeof d);
}

static void
hex_of(const uint8_t *b, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The lock is taken through const pointers too: lookups do not change the keys. */
static void
rd_lock(const struct crypt_keyring *kr)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&kr->lock);
}

static void
rd_unlock(const struct crypt_keyring *kr)
{
    pthread_rwlock_unlock((pthread_rwlock_t *)&kr->lock);
}

struct crypt_keyring *
crypt_keyring_new(void)
{
    struct crypt_keyring *kr = calloc(1, sizeof(struct crypt_keyring));
    if (kr && pthread_rwlock_init(&kr->lock, NULL) != 0) {
        free(kr);
        return NULL;
    }
    return kr;
}

void
crypt_keyring_free(struct crypt_keyring *kr)
{
    if (!kr)
        return;
    pthread_rwlock_destroy(&kr->lock);
    OPENSSL_cleanse(kr, sizeof *kr);
    free(kr);
}

/* Add one key (write lock held). */
static enum st_code
add_locked(struct crypt_keyring *kr, const uint8_t key[CRYPT_KEY_LEN],
           const uint8_t kid[CRYPT_KID_LEN], bool make_current, struct st_error *err)
{
    for (uint32_t i = 0; i < kr->n; i++) {
        if (memcmp(kr->keys[i].kid, kid, CRYPT_KID_LEN) == 0) {
            if (make_current)
                kr->current = i;
            return ST_OK;
        }
    }
    if (kr->n == MAX_KEYS)
        return st_error_set(err, ST_ELIMIT, "too many master keys (at most %d)", MAX_KEYS);
    memcpy(kr->keys[kr->n].key, key, CRYPT_KEY_LEN);
    memcpy(kr->keys[kr->n].kid, kid, CRYPT_KID_LEN);
    if (make_current || kr->n == 0)
        kr->current = kr->n;
    kr->n++;
    return ST_OK;
}

enum st_code
crypt_keyring_add(struct crypt_keyring *kr, const uint8_t key[CRYPT_KEY_LEN], bool make_current,
                  struct st_error *err)
{
    uint8_t kid[CRYPT_KID_LEN];
    key_id(key, kid);
    pthread_rwlock_wrlock(&kr->lock);
    enum st_code rc = add_locked(kr, key, kid, make_current, err);
    pthread_rwlock_unlock(&kr->lock);
    return rc;
}

struct crypt_keyring *
crypt_keyring_copy(const struct crypt_keyring *kr)
{
    struct crypt_keyring *c = crypt_keyring_new();
    if (!c || !kr)
        return c;
    rd_lock(kr);
    c->n = kr->n;
    c->current = kr->current;
    memcpy(c->keys, kr->keys, sizeof c->keys);
    rd_unlock(kr);
    return c;
}

enum st_code
crypt_keyring_merge(struct crypt_keyring *kr, const struct crypt_keyring *from, bool make_current,
                    struct st_error *err)
{
    if (!from || from == kr)
        return ST_OK;
    /* Copy first so that the two locks are never held together. */
    struct crypt_keyring *tmp = crypt_keyring_copy(from);
    if (!tmp)
        return st_error_set(err, ST_ENOMEM, "out of memory");
    enum st_code rc = ST_OK;
    pthread_rwlock_wrlock(&kr->lock);
    for (uint32_t i = 0; i < tmp->n && rc == ST_OK; i++)
        rc = add_locked(kr, tmp->keys[i].key, tmp->keys[i].kid,
                        make_current && i == tmp->current, err);
    pthread_rwlock_unlock(&kr->lock);
    crypt_keyring_free(tmp);
    return rc;
}

uint32_t
crypt_keyring_count(const struct crypt_keyring *kr)
{
    if (!kr)
        return 0;
    rd_lock(kr);
    uint32_t n = kr->n;
    rd_unlock(kr);
    return n;
}

bool
crypt_keyring_has(const struct crypt_keyring *kr, const uint8_t kid[CRYPT_KID_LEN])
{
    if (!kr)
        return false;
    bool has = false;
    rd_lock(kr);
    for (uint32_t i = 0; i < kr->n && !has; i++)
        has = memcmp(kr->keys[i].kid, kid, CRYPT_KID_LEN) == 0;
    rd_unlock(kr);
    return has;
}

void
crypt_key_id_hex(const uint8_t key[CRYPT_KEY_LEN], char out[2 * CRYPT_KID_LEN + 1])
{
    uint8_t kid[CRYPT_KID_LEN];
    key_id(key, kid);
    hex_of(kid, CRYPT_KID_LEN, out);
}

bool
crypt_keyring_current_id(const struct crypt_keyring *kr, char out[2 * CRYPT_KID_LEN + 1])
{
    if (!kr)
        return false;
    rd_lock(kr);
    bool ok = kr->n > 0;
    if (ok)
        hex_of(kr->keys[kr->current].kid, CRYPT_KID_LEN, out);
    rd_unlock(kr);
    return ok;
}

void
crypt_keyring_describe(const struct crypt_keyring *kr, char *out, size_t cap)
{
    size_t off = 0;
    if (!cap)
        return;
    out[0] = '\0';
    if (!kr || crypt_keyring_count(kr) == 0) {
        snprintf(out, cap, "none");
        return;
    }
    rd_lock(kr);
    for (uint32_t i = 0; i < kr->n && off < cap; i++) {
        char h[2 * CRYPT_KID_LEN + 1];
        hex_of(kr->keys[i].kid, CRYPT_KID_LEN, h);
        int w = snprintf(out + off, cap - off, "%s%s%s", i ? ", " : "", h,
                         i == kr->current ? " (current)" : "");
        if (w < 0)
            break;
        off += (size_t)w;
    }
    rd_unlock(kr);
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum st_code
crypt_key_parse_hex(const char *text, size_t len, uint8_t key[CRYPT_KEY_LEN], struct st_error *err)
{
    size_t a = 0, b = len;
    while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\n' || text[a] == '\r'))
        a++;
    while (b > a &&
           (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\n' || text[b - 1] == '\r'))
        b--;
    if (b - a != 2 * CRYPT_KEY_LEN)
        return st_error_set(err, ST_EINVAL,
                            "master key must be %d hexadecimal characters (256 bits), got %zu",
                            2 * CRYPT_KEY_LEN, b - a);
    for (size_t i = 0; i < CRYPT_KEY_LEN; i++) {
        int hi = hexval(text[a + 2 * i]), lo = hexval(text[a + 2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key, CRYPT_KEY_LEN);
            return st_error_set(err, ST_EINVAL, "master key is not hexadecimal");
        }
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return ST_OK;
}

enum st_code
crypt_key_load_file(const char *path, uint8_t key[CRYPT_KEY_LEN], struct st_error *err)
{
    struct stat st;
    uint8_t *data = NULL;
    size_t len = 0;

    if (stat(path, &st) != 0)
        return st_error_set(err, errno == ENOENT ? ST_ENOTFOUND : ST_EIO,
                            "master key file \"%s\": %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return st_error_set(err, ST_EINVAL, "master key file \"%s\" is not a regular file", path);
    if (st.st_mode & 077)
        return st_error_set(err, ST_EPERMISSION,
                            "master key file \"%s\" is accessible by group or others (mode %03o); "
                            "run chmod 600 on it",
                            path, (unsigned)(st.st_mode & 0777));
    enum st_code rc = st_file_read_all(path, 4096, &data, &len, err);
    if (rc != ST_OK)
        return rc;
    rc = crypt_key_parse_hex((const char *)data, len, key, err);
    if (rc != ST_OK)
        st_error_prefix(err, "master key file \"%s\": ", path);
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

enum st_code
crypt_key_generate_file(const char *path, uint8_t key[CRYPT_KEY_LEN], struct st_error *err)
{
    char hex[2 * CRYPT_KEY_LEN + 2];
    if (RAND_priv_bytes(key, CRYPT_KEY_LEN) != 1)
        return st_error_set(err, ST_ECRYPTO, "cannot draw random bytes for a master key");
    hex_of(key, CRYPT_KEY_LEN, hex);
    hex[2 * CRYPT_KEY_LEN] = '\n';
    int fd = st_file_open(path, O_WRONLY | O_CREAT | O_EXCL, 0600, err);
    if (fd < 0) {
        OPENSSL_cleanse(hex, sizeof hex);
        return ST_EIO;
    }
    enum st_code rc = st_file_write_all(fd, hex, 2 * CRYPT_KEY_LEN + 1, path, err);
    if (rc == ST_OK)
        rc = st_file_fsync(fd, path, err);
    close(fd);
    OPENSSL_cleanse(hex, sizeof hex);
    if (rc != ST_OK) {
        unlink(path);
        return rc;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        rc = st_file_fsync_dir(dir, err);
    }
    return rc;
}

/* One AES-256-GCM operation. enc: in -> out, tag written; dec: tag checked. */
static int
gcm(int enc, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = 0, l = 0;
    if (!c)
        return 0;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1)
        goto out;
    if (aad_len && EVP_CipherUpdate(c, NULL, &l, aad, (int)aad_len) != 1)
        goto out;
    /* EVP lengths are int: feed large inputs in pieces */
    size_t done = 0;
    while (done < n) {
        size_t piece = n - done > (1u << 30) ? (1u << 30) : n - done;
        if (EVP_CipherUpdate(c, out + done, &l, in + done, (int)piece) != 1)
            goto out;
        done += piece;
    }
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(c, out + n, &l) != 1)
        goto out;
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
        goto out;
    ok = 1;
out:
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static size_t
wrap_aad(const char *kind, const uint8_t *kid, const uint8_t *prefix, uint8_t *aad)
{
    size_t k = strlen(kind) > 32 ? 32 : strlen(kind), n = 0;
    memcpy(aad, "strata-dek/", 11);
    n = 11;
    memcpy(aad + n, kind, k);
    n += k;
    memcpy(aad + n, kid, CRYPT_KID_LEN);
    n += CRYPT_KID_LEN;
    memcpy(aad + n, prefix, 4);
    return n + 4;
}

static int
find_key(const struct crypt_keyring *kr, const uint8_t *kid)
{
    for (uint32_t i = 0; i < kr->n; i++)
        if (memcmp(kr->keys[i].kid, kid, CRYPT_KID_LEN) == 0)
            return (int)i;
    return -1;
}

/* Wrap f's DEK under the current key into rec (read lock held, n > 0). */
static enum st_code
wrap_into(const struct crypt_keyring *kr, const char *kind, const struct crypt_file *f,
          uint8_t rec[CRYPT_FILE_KEY_LEN], struct st_error *err)
{
    uint8_t aad[64];
    const uint8_t *mk = kr->keys[kr->current].key;
    memcpy(rec, kr->keys[kr->current].kid, CRYPT_KID_LEN);
    memcpy(rec + 8, f->nonce_prefix, 4);
    if (RAND_bytes(rec + 12, 12) != 1)
        return st_error_set(err, ST_ECRYPTO, "cannot draw random bytes for a key wrap");
    size_t al = wrap_aad(kind, rec, rec + 8, aad);
    if (!gcm(1, mk, rec + 12, aad, al, f->dek, CRYPT_KEY_LEN, rec + 24, rec + 56))
        return st_error_set(err, ST_ECRYPTO, "wrapping a data key failed");
    return ST_OK;
}

static enum st_code
file_new_locked(const struct crypt_keyring *kr, const char *kind, struct crypt_file *out,
                uint8_t record[CRYPT_FILE_KEY_LEN], struct st_error *err)
{
    if (kr->n == 0)
        return st_error_set(err, ST_ECRYPTO, "no master key configured");
    if (RAND_priv_bytes(out->dek, CRYPT_KEY_LEN) != 1 || RAND_bytes(out->nonce_prefix, 4) != 1)
        return st_error_set(err, ST_ECRYPTO, "cannot draw random bytes for a data key");
    memcpy(out->kid, kr->keys[kr->current].kid, CRYPT_KID_LEN);
    enum st_code rc = wrap_into(kr, kind, out, record, err);
    if (rc != ST_OK)
        crypt_file_cleanup(out);
    return rc;
}

enum st_code
crypt_file_new(const struct crypt_keyring *kr, const char *kind, struct crypt_file *out,
               uint8_t record[CRYPT_FILE_KEY_LEN], struct st_error *err)
{
    if (!kr)
        return st_error_set(err, ST_ECRYPTO, "no master key configured");
    rd_lock(kr);
    enum st_code rc = file_new_locked(kr, kind, out, record, err);
    rd_unlock(kr);
    return rc;
}

/* Unwrap (read lock held): ST_ECRYPTO with *missing set when the key is not
 * in the ring, ST_ECRYPTO when the record does not verify. */
static enum st_code
file_open_locked(const struct crypt_keyring *kr, const char *kind,
                 const uint8_t record[CRYPT_FILE_KEY_LEN], struct crypt_file *out, bool *missing,
                 struct st_error *err)
{
    char kidhex[2 * CRYPT_KID_LEN + 1];
    uint8_t aad[64];
    uint8_t tag[16];
    int k = find_key(kr, record);

    hex_of(record, CRYPT_KID_LEN, kidhex);
    *missing = k < 0;
    if (k < 0)
        return st_error_set(err, ST_ECRYPTO,
                            "file was encrypted with master key %s, which is not configured",
                            kidhex);
    size_t al = wrap_aad(kind, record, record + 8, aad);
    memcpy(tag, record + 56, 16);
    if (!gcm(0, kr->keys[k].key, record + 12, aad, al, record + 24, CRYPT_KEY_LEN, out->dek,
             tag)) {
        OPENSSL_cleanse(out->dek, CRYPT_KEY_LEN);
        return st_error_set(err, ST_ECRYPTO,
                            "data key does not verify under master key %s (damaged header)",
                            kidhex);
    }
    memcpy(out->nonce_prefix, record + 8, 4);
    memcpy(out->kid, record, CRYPT_KID_LEN);
    return ST_OK;
}

enum st_code
crypt_file_open(const struct crypt_keyring *kr, const char *kind,
                const uint8_t record[CRYPT_FILE_KEY_LEN], struct crypt_file *out,
                struct st_error *err)
{
    bool missing;
    if (!kr) {
        char kidhex[2 * CRYPT_KID_LEN + 1];
        hex_of(record, CRYPT_KID_LEN, kidhex);
        return st_error_set(err, ST_ECRYPTO,
                            "file was encrypted with master key %s, which is not configured",
                            kidhex);
    }
    rd_lock(kr);
    enum st_code rc = file_open_locked(kr, kind, record, out, &missing, err);
    rd_unlock(kr);
    return rc;
}

enum st_code
crypt_file_rewrap(const struct crypt_keyring *kr, const char *kind,
                  uint8_t record[CRYPT_FILE_KEY_LEN], bool *changed, struct st_error *err)
{
    struct crypt_file f;
    uint8_t fresh[CRYPT_FILE_KEY_LEN];
    bool missing;
    *changed = false;
    if (!kr)
        return st_error_set(err, ST_ECRYPTO, "no master key configured");
    rd_lock(kr);
    enum st_code rc = ST_OK;
    if (kr->n == 0)
        rc = st_error_set(err, ST_ECRYPTO, "no master key configured");
    else if (memcmp(record, kr->keys[kr->current].kid, CRYPT_KID_LEN) != 0) {
        rc = file_open_locked(kr, kind, record, &f, &missing, err);
        if (rc == ST_OK) {
            rc = wrap_into(kr, kind, &f, fresh, err);
            crypt_file_cleanup(&f);
            if (rc == ST_OK) {
                memcpy(record, fresh, CRYPT_FILE_KEY_LEN);
                *changed = true;
            }
        }
    }
    rd_unlock(kr);
    return rc;
}

/* ---- key slots ------------------------------------------------------------- */

static bool
slot_empty(const uint8_t *slot)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < CRYPT_FILE_KEY_LEN; i++)
        acc |= slot[i];
    return acc == 0;
}

enum st_code
crypt_slots_new(const struct crypt_keyring *kr, const char *kind, struct crypt_file *out,
                uint8_t slots[CRYPT_SLOTS_LEN], struct st_error *err)
{
    memset(slots, 0, CRYPT_SLOTS_LEN);
    return crypt_file_new(kr, kind, out, slots, err);
}

unsigned
crypt_slots_kids(const uint8_t slots[CRYPT_SLOTS_LEN],
                 char out[CRYPT_SLOT_COUNT][2 * CRYPT_KID_LEN + 1])
{
    unsigned n = 0;
    for (unsigned i = 0; i < CRYPT_SLOT_COUNT; i++) {
        const uint8_t *sl = slots + i * CRYPT_FILE_KEY_LEN;
        if (!slot_empty(sl))
            hex_of(sl, CRYPT_KID_LEN, out[n++]);
    }
    return n;
}

/* Open the key area (read lock held); *used gets the slot index. */
static enum st_code
slots_open_locked(const struct crypt_keyring *kr, const char *kind,
                  const uint8_t slots[CRYPT_SLOTS_LEN], struct crypt_file *out, int *used,
                  struct st_error *err)
{
    int order[CRYPT_SLOT_COUNT] = {0, 1};
    /* the slot of the current key first */
    if (kr->n && memcmp(slots + CRYPT_FILE_KEY_LEN, kr->keys[kr->current].kid, CRYPT_KID_LEN) == 0)
        order[0] = 1, order[1] = 0;
    bool any_configured = false, any = false;
    struct st_error last;
    st_error_clear(&last);
    for (int k = 0; k < CRYPT_SLOT_COUNT; k++) {
        const uint8_t *sl = slots + order[k] * CRYPT_FILE_KEY_LEN;
        if (slot_empty(sl))
            continue;
        any = true;
        bool missing;
        struct st_error e;
        if (file_open_locked(kr, kind, sl, out, &missing, &e) == ST_OK) {
            *used = order[k];
            return ST_OK;
        }
        if (!missing) {
            any_configured = true;
            last = e;
        }
    }
    if (!any)
        return st_error_set(err, ST_ECORRUPT, "the header holds no data key (empty key area)");
    if (any_configured)
        return st_error_set(err, ST_ECORRUPT, "%s", last.msg);
    char kids[CRYPT_SLOT_COUNT][2 * CRYPT_KID_LEN + 1];
    unsigned nk = crypt_slots_kids(slots, kids);
    char have[MAX_KEYS * 32];
    size_t off = 0;
    have[0] = '\0';
    for (uint32_t i = 0; i < kr->n && off < sizeof have; i++) {
        char h[2 * CRYPT_KID_LEN + 1];
        hex_of(kr->keys[i].kid, CRYPT_KID_LEN, h);
        int w = snprintf(have + off, sizeof have - off, "%s%s", i ? ", " : "", h);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return st_error_set(err, ST_ECRYPTO,
                        "encrypted with master key %s%s%s, which is not configured "
                        "(configured: %s)",
                        kids[0], nk > 1 ? " or " : "", nk > 1 ? kids[1] : "",
                        kr->n ? have : "none");
}

enum st_code
crypt_slots_open(const struct crypt_keyring *kr, const char *kind,
                 const uint8_t slots[CRYPT_SLOTS_LEN], struct crypt_file *out,
                 struct st_error *err)
{
    static const struct crypt_keyring empty;
    int used;
    if (!kr)
        return slots_open_locked(&empty, kind, slots, out, &used, err);
    rd_lock(kr);
    enum st_code rc = slots_open_locked(kr, kind, slots, out, &used, err);
    rd_unlock(kr);
    return rc;
}

bool
crypt_slots_current(const struct crypt_keyring *kr, const uint8_t slots[CRYPT_SLOTS_LEN])
{
    if (!kr)
        return false;
    bool ok = true, any = false;
    rd_lock(kr);
    for (unsigned i = 0; i < CRYPT_SLOT_COUNT; i++) {
        const uint8_t *sl = slots + i * CRYPT_FILE_KEY_LEN;
        if (slot_empty(sl))
            continue;
        any = true;
        if (kr->n == 0 || memcmp(sl, kr->keys[kr->current].kid, CRYPT_KID_LEN) != 0)
            ok = false;
    }
    rd_unlock(kr);
    return ok && any;
}

enum st_code
crypt_slots_rotate_fd(const struct crypt_keyring *kr, const char *kind, int fd, const char *path,
                      uint64_t off, bool *changed, struct st_error *err)
{
    uint8_t slots[CRYPT_SLOTS_LEN], fresh[CRYPT_FILE_KEY_LEN], zero[CRYPT_FILE_KEY_LEN];
    struct crypt_file f;
    int used = -1;
    *changed = false;
    memset(zero, 0, sizeof zero);
    if (!kr)
        return st_error_set(err, ST_ECRYPTO, "no master key configured");
    ST_TRY(st_file_pread_all(fd, slots, sizeof slots, (off_t)off, path, err));
    rd_lock(kr);
    enum st_code rc = kr->n ? slots_open_locked(kr, kind, slots, &f, &used, err)
                            : st_error_set(err, ST_ECRYPTO, "no master key configured");
    bool current = rc == ST_OK &&
                   memcmp(slots + (size_t)used * CRYPT_FILE_KEY_LEN, kr->keys[kr->current].kid,
                          CRYPT_KID_LEN) == 0;
    if (rc == ST_OK && !current)
        rc = wrap_into(kr, kind, &f, fresh, err);
    rd_unlock(kr);
    crypt_file_cleanup(&f);
    if (rc != ST_OK) {
        OPENSSL_cleanse(slots, sizeof slots);
        return rc;
    }
    int other = 1 - used;
    uint64_t used_off = off + (uint64_t)used * CRYPT_FILE_KEY_LEN;
    uint64_t other_off = off + (uint64_t)other * CRYPT_FILE_KEY_LEN;
    if (current) {
        /* an interrupted rotation: the old slot may still be there */
        if (!slot_empty(slots + (size_t)other * CRYPT_FILE_KEY_LEN)) {
            rc = st_file_pwrite_all(fd, zero, sizeof zero, (off_t)other_off, path, err);
            if (rc == ST_OK)
                rc = st_file_fsync(fd, path, err);
            *changed = rc == ST_OK;
        }
        return rc;
    }
    /* the new wrapping beside the old one, durable, then the old one gone */
    rc = st_file_pwrite_all(fd, fresh, sizeof fresh, (off_t)other_off, path, err);
    if (rc == ST_OK)
        rc = st_file_fsync(fd, path, err);
    if (rc == ST_OK)
        rc = st_file_pwrite_all(fd, zero, sizeof zero, (off_t)used_off, path, err);
    if (rc == ST_OK)
        rc = st_file_fsync(fd, path, err);
    OPENSSL_cleanse(fresh, sizeof fresh);
    *changed = rc == ST_OK;
    return rc;
}

/* ---- policy ------------------------------------------------------------------ */

enum st_code
crypt_policy_check(const struct crypt_policy *p, bool file_encrypted, const char *what,
                   struct st_error *err)
{
    if (file_encrypted) {
        if (!p || !p->keys || crypt_keyring_count(p->keys) == 0)
            return st_error_set(err, ST_ECRYPTO,
                                "%s is encrypted, but no master key is configured", what);
        if (!p->accept_encrypted)
            return st_error_set(err, ST_ECRYPTO,
                                "%s is encrypted, but encryption is off; open with the master "
                                "key and encryption on, or ask for a migration to decrypt the "
                                "data directory",
                                what);
        return ST_OK;
    }
    if (p && !p->accept_plain)
        return st_error_set(err, ST_ECRYPTO,
                            "%s is not encrypted, but encryption is on; ask for a migration to "
                            "encrypt the data directory, or open it with encryption off",
                            what);
    return ST_OK;
}

void
crypt_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void
crypt_file_cleanup(struct crypt_file *f)
{
    if (f)
        OPENSSL_cleanse(f, sizeof *f);
}

static size_t
block_aad(const char *kind, uint64_t block_no, uint8_t *aad)
{
    size_t k = strlen(kind) > 32 ? 32 : strlen(kind);
    memcpy(aad, "strata-blk/", 11);
    memcpy(aad + 11, kind, k);
    st_store_u64le(aad + 11 + k, block_no);
    return 11 + k + 8;
}

enum st_code
crypt_seal(const struct crypt_file *f, const char *kind, uint64_t block_no, const uint8_t *in,
           size_t n, uint8_t *out, struct st_error *err)
{
    uint8_t nonce[12], aad[64];
    memcpy(nonce, f->nonce_prefix, 4);
    st_store_u64le(nonce + 4, block_no);
    size_t al = block_aad(kind, block_no, aad);
    if (!gcm(1, f->dek, nonce, aad, al, in, n, out, out + n))
        return st_error_set(err, ST_ECRYPTO, "encrypting block %llu failed",
                            (unsigned long long)block_no);
    return ST_OK;
}

enum st_code
crypt_open(const struct crypt_file *f, const char *kind, uint64_t block_no, const uint8_t *in,
           size_t n, uint8_t *out, struct st_error *err)
{
    uint8_t nonce[12], aad[64], tag[16];
    memcpy(nonce, f->nonce_prefix, 4);
    st_store_u64le(nonce + 4, block_no);
    size_t al = block_aad(kind, block_no, aad);
    memcpy(tag, in + n, 16);
    if (!gcm(0, f->dek, nonce, aad, al, in, n, out, tag)) {
        OPENSSL_cleanse(out, n);
        return st_error_set(err, ST_ECRYPTO,
                            "block %llu failed its authentication check (tampered or corrupt)",
                            (unsigned long long)block_no);
    }
    return ST_OK;
}

/* ---- whole-file envelopes ---------------------------------------------------- */

enum st_code
crypt_envelope_build(const struct crypt_policy *p, const char *kind, const char magic[8],
                     uint16_t version, uint16_t flags, const uint8_t *body, size_t len,
                     struct st_buf *out, struct st_error *err)
{
    bool enc = crypt_policy_encrypts(p);
    size_t stored = len + (enc ? CRYPT_TAG_LEN : 0);
    if (stored > UINT32_MAX)
        return st_error_set(err, ST_ELIMIT, "%s file too large", kind);
    size_t total = CRYPT_ENV_HDR_LEN + (enc ? CRYPT_SLOTS_LEN : 0) + stored + 4;
    st_buf_reset(out);
    if (st_buf_reserve(out, total) != ST_OK)
        return st_error_set(err, ST_ENOMEM, "out of memory writing a %s file", kind);
    uint8_t *q = out->data;
    memcpy(q, magic, 8);
    q[8] = (uint8_t)version;
    q[9] = (uint8_t)(version >> 8);
    flags = (uint16_t)((flags & ~1u) | (enc ? 1u : 0u));
    q[10] = (uint8_t)flags;
    q[11] = (uint8_t)(flags >> 8);
    st_store_u32le(q + 12, (uint32_t)stored);
    size_t at = CRYPT_ENV_HDR_LEN;
    if (enc) {
        struct crypt_file f;
        ST_TRY(crypt_slots_new(p->keys, kind, &f, q + at, err));
        at += CRYPT_SLOTS_LEN;
        enum st_code rc = crypt_seal(&f, kind, 0, body, len, q + at, err);
        crypt_file_cleanup(&f);
        if (rc != ST_OK)
            return rc;
        st_store_u32le(q + at + stored, st_crc32c(0, q, at));
    } else {
        memcpy(q + at, body, len);
        st_store_u32le(q + at + stored, st_crc32c(0, q, at + stored));
    }
    out->len = total;
    return ST_OK;
}

enum st_code
crypt_envelope_open(const struct crypt_policy *p, const char *kind, const char *what,
                    const char magic[8], uint16_t max_version, uint16_t known_flags,
                    const uint8_t *file, size_t len, uint16_t *version, uint16_t *flags,
                    const uint8_t **body, size_t *body_len, uint8_t **owned, struct st_error *err)
{
    *owned = NULL;
    if (len < CRYPT_ENV_HDR_LEN + 4 || memcmp(file, magic, 8) != 0)
        return st_error_set(err, ST_ECORRUPT, "%s: not a %s file (bad magic or too short)", what,
                            kind);
    uint16_t ver = (uint16_t)(file[8] | file[9] << 8);
    uint16_t fl = (uint16_t)(file[10] | file[11] << 8);
    bool enc = fl & 1u;
    size_t head = CRYPT_ENV_HDR_LEN + (enc ? CRYPT_SLOTS_LEN : 0);
    uint32_t stored = st_load_u32le(file + 12);
    if (len < head + 4 || (uint64_t)stored + head + 4 != len ||
        (enc && stored < CRYPT_TAG_LEN))
        return st_error_set(err, ST_ECORRUPT, "%s: length mismatch (%zu bytes, header says %u)",
                            what, len, stored);
    /* the checksum first: a damaged version or flags field is damage, not a
     * file from a newer engine */
    uint32_t want = st_load_u32le(file + len - 4);
    if (st_crc32c(0, file, enc ? head : len - 4) != want)
        return st_error_set(err, ST_ECORRUPT, "%s: %s checksum mismatch", what,
                            enc ? "header" : "file");
    if (ver == 0 || ver > max_version)
        return st_error_set(err, ST_ECORRUPT, "%s: unsupported %s format version %u", what, kind,
                            ver);
    if (fl & ~(known_flags | 1u))
        return st_error_set(err, ST_EUNSUPPORTED, "%s: unsupported %s flags 0x%x", what, kind, fl);
    ST_TRY(crypt_policy_check(p, enc, what, err));
    *version = ver;
    *flags = (uint16_t)(fl & ~1u);
    if (!enc) {
        *body = file + CRYPT_ENV_HDR_LEN;
        *body_len = stored;
        return ST_OK;
    }
    struct crypt_file f;
    enum st_code rc = crypt_slots_open(p->keys, kind, file + CRYPT_ENV_HDR_LEN, &f, err);
    if (rc != ST_OK) {
        st_error_prefix(err, "%s: ", what);
        return rc;
    }
    size_t n = stored - CRYPT_TAG_LEN;
    uint8_t *plain = malloc(n + 1);
    if (!plain) {
        crypt_file_cleanup(&f);
        return st_error_set(err, ST_ENOMEM, "out of memory reading %s", what);
    }
    rc = crypt_open(&f, kind, 0, file + head, n, plain, err);
    crypt_file_cleanup(&f);
    if (rc != ST_OK) {
        free(plain);
        return st_error_set(err, ST_ECORRUPT,
                            "%s: body failed its authentication check (damaged or tampered)",
                            what);
    }
    *owned = plain;
    *body = plain;
    *body_len = n;
    return ST_OK;
}
