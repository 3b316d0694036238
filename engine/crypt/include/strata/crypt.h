/*
 * crypt.h: the interface to encryption at rest (AES-256-GCM envelopes).
 *
 * Keys:
 *   - A master key is 32 random bytes kept outside the data files: in a key
 *     file (64 hex characters, mode 0600 or stricter, owned by the server's
 *     user) or in an environment variable. Its key id is the first 8 bytes
 *     of SHA-256("strata-kid" || key), in hex: it names the key without
 *     revealing it.
 *   - A keyring holds the current master key (used to wrap new data keys)
 *     and any older ones still needed to unwrap existing files.
 *   - Every encrypted file has its own random 32-byte data key (DEK). The
 *     DEK is stored in the file's header wrapped (AES-256-GCM) under a master
 *     key, with that master key's id beside it. Rotating the master key
 *     rewraps DEKs (rewrites headers only); data blocks are untouched.
 *
 * Blocks:
 *   - A block is sealed with AES-256-GCM under the file's DEK. The 12-byte
 *     nonce is the file's 4-byte random nonce prefix followed by the 64-bit
 *     block number, so a nonce never repeats under one DEK as long as block
 *     numbers are unique within the file (callers use record sequence numbers
 *     or block indexes). The AAD binds the block to its file kind and block
 *     number, so blocks cannot be moved between places unnoticed.
 *   - Opening a block whose tag does not verify fails with ST_ECRYPTO: a
 *     flipped bit is reported, never returned as data.
 */
#ifndef STRATA_CRYPT_H
#define STRATA_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/status.h"

#define CRYPT_KEY_LEN 32
#define CRYPT_TAG_LEN 16
#define CRYPT_KID_LEN 8 /* bytes; 16 hex characters */
/* Size of a wrapped file key record in a file header:
 *   kid[8] nonce_prefix[4] wrap_nonce[12] wrapped_dek[32] wrap_tag[16] */
#define CRYPT_FILE_KEY_LEN 72

struct crypt_keyring;

/* An empty keyring. NULL on ENOMEM. */
struct crypt_keyring *crypt_keyring_new(void);
void crypt_keyring_free(struct crypt_keyring *kr);
/* Add a master key; the first key added (or one added with make_current) is
 * the current key. Adding a key twice is a no-op. */
enum st_code crypt_keyring_add(struct crypt_keyring *kr, const uint8_t key[CRYPT_KEY_LEN],
                               bool make_current, struct st_error *err);
/* Parse 64 hex characters (surrounding whitespace allowed) into a key. */
enum st_code crypt_key_parse_hex(const char *text, size_t len, uint8_t key[CRYPT_KEY_LEN],
                                 struct st_error *err);
/* Load a key file: refuses files readable or writable by group or others. */
enum st_code crypt_key_load_file(const char *path, uint8_t key[CRYPT_KEY_LEN],
                                 struct st_error *err);
/* Create a new key file (mode 0600, O_EXCL) holding a fresh random key. */
enum st_code crypt_key_generate_file(const char *path, uint8_t key[CRYPT_KEY_LEN],
                                     struct st_error *err);
/* Key id of a key, as 16 hex characters plus NUL. */
void crypt_key_id_hex(const uint8_t key[CRYPT_KEY_LEN], char out[2 * CRYPT_KID_LEN + 1]);
/* Key id of the current key; false when the keyring is empty. */
bool crypt_keyring_current_id(const struct crypt_keyring *kr, char out[2 * CRYPT_KID_LEN + 1]);

/* The key material of one open encrypted file. */
struct crypt_file {
    uint8_t dek[CRYPT_KEY_LEN];
    uint8_t nonce_prefix[4];
    uint8_t kid[CRYPT_KID_LEN]; /* master key that wraps the DEK */
};

/* A new file key: random DEK and nonce prefix, wrapped under the current
 * master key into `record` (CRYPT_FILE_KEY_LEN bytes for the file header).
 * `kind` is a short constant naming the file type ("wal", "chunk", ...);
 * it is bound into the wrapping. */
enum st_code crypt_file_new(const struct crypt_keyring *kr, const char *kind,
                            struct crypt_file *out, uint8_t record[CRYPT_FILE_KEY_LEN],
                            struct st_error *err);
/* Unwrap a file key record. ST_ECRYPTO when no key in the ring has its id
 * ("file was encrypted with key <kid>, which is not configured") or when it
 * does not verify (wrong key material or a damaged header). */
enum st_code crypt_file_open(const struct crypt_keyring *kr, const char *kind,
                             const uint8_t record[CRYPT_FILE_KEY_LEN], struct crypt_file *out,
                             struct st_error *err);
/* Rewrap a file key record under the keyring's current key (key rotation).
 * *changed is false when it already was. */
enum st_code crypt_file_rewrap(const struct crypt_keyring *kr, const char *kind,
                               uint8_t record[CRYPT_FILE_KEY_LEN], bool *changed,
                               struct st_error *err);
/* Wipe the key material. */
void crypt_file_cleanup(struct crypt_file *f);

/* Seal n bytes: out receives n bytes of ciphertext then the 16-byte tag. */
enum st_code crypt_seal(const struct crypt_file *f, const char *kind, uint64_t block_no,
                        const uint8_t *in, size_t n, uint8_t *out, struct st_error *err);
/* Open n bytes of ciphertext followed by the tag (in has n + 16 bytes) into
 * out (n bytes). ST_ECRYPTO when the tag does not verify. */
enum st_code crypt_open(const struct crypt_file *f, const char *kind, uint64_t block_no,
                        const uint8_t *in, size_t n, uint8_t *out, struct st_error *err);

#endif
