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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/buf.h"
#include "strata/file.h"

#define MAX_KEYS 16

struct crypt_keyring {
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

struct crypt_keyring *
crypt_keyring_new(void)
{
    return calloc(1, sizeof(struct crypt_keyring));
}

void
crypt_keyring_free(struct crypt_keyring *kr)
{
    if (!kr)
        return;
    OPENSSL_cleanse(kr, sizeof *kr);
    free(kr);
}

enum st_code
crypt_keyring_add(struct crypt_keyring *kr, const uint8_t key[CRYPT_KEY_LEN], bool make_current,
                  struct st_error *err)
{
    uint8_t kid[CRYPT_KID_LEN];
    key_id(key, kid);
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
    if (!kr || kr->n == 0)
        return false;
    hex_of(kr->keys[kr->current].kid, CRYPT_KID_LEN, out);
    return true;
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

enum st_code
crypt_file_new(const struct crypt_keyring *kr, const char *kind, struct crypt_file *out,
               uint8_t record[CRYPT_FILE_KEY_LEN], struct st_error *err)
{
    if (!kr || kr->n == 0)
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
crypt_file_open(const struct crypt_keyring *kr, const char *kind,
                const uint8_t record[CRYPT_FILE_KEY_LEN], struct crypt_file *out,
                struct st_error *err)
{
    char kidhex[2 * CRYPT_KID_LEN + 1];
    uint8_t aad[64];
    uint8_t tag[16];
    int k = kr ? find_key(kr, record) : -1;

    if (k < 0) {
        hex_of(record, CRYPT_KID_LEN, kidhex);
        return st_error_set(err, ST_ECRYPTO,
                            "file was encrypted with master key %s, which is not configured",
                            kidhex);
    }
    size_t al = wrap_aad(kind, record, record + 8, aad);
    memcpy(tag, record + 56, 16);
    if (!gcm(0, kr->keys[k].key, record + 12, aad, al, record + 24, CRYPT_KEY_LEN, out->dek,
             tag)) {
        OPENSSL_cleanse(out->dek, CRYPT_KEY_LEN);
        return st_error_set(err, ST_ECRYPTO,
                            "data key does not verify under master key %.16s (damaged header)",
                            (hex_of(record, CRYPT_KID_LEN, kidhex), kidhex));
    }
    memcpy(out->nonce_prefix, record + 8, 4);
    memcpy(out->kid, record, CRYPT_KID_LEN);
    return ST_OK;
}

enum st_code
crypt_file_rewrap(const struct crypt_keyring *kr, const char *kind,
                  uint8_t record[CRYPT_FILE_KEY_LEN], bool *changed, struct st_error *err)
{
    struct crypt_file f;
    uint8_t fresh[CRYPT_FILE_KEY_LEN];
    *changed = false;
    if (!kr || kr->n == 0)
        return st_error_set(err, ST_ECRYPTO, "no master key configured");
    if (memcmp(record, kr->keys[kr->current].kid, CRYPT_KID_LEN) == 0)
        return ST_OK;
    ST_TRY(crypt_file_open(kr, kind, record, &f, err));
    enum st_code rc = wrap_into(kr, kind, &f, fresh, err);
    crypt_file_cleanup(&f);
    if (rc != ST_OK)
        return rc;
    memcpy(record, fresh, CRYPT_FILE_KEY_LEN);
    *changed = true;
    return ST_OK;
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
