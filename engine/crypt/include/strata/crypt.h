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

#include "strata/buf.h"
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
/* Wipe plaintext that held secrets or decrypted data (not optimised away). */
void crypt_wipe(void *p, size_t n);

/* ---- keyrings shared by the engine -------------------------------------- */

/* A keyring is safe to use from many threads at once: lookups take a read
 * lock, additions a write lock. */

/* A copy of a keyring (NULL on ENOMEM). */
struct crypt_keyring *crypt_keyring_copy(const struct crypt_keyring *kr);
/* Add every key of `from`; with make_current, from's current key becomes the
 * current one (key rotation: new files are wrapped under it from now on). */
enum st_code crypt_keyring_merge(struct crypt_keyring *kr, const struct crypt_keyring *from,
                                 bool make_current, struct st_error *err);
/* Number of keys. */
uint32_t crypt_keyring_count(const struct crypt_keyring *kr);
/* Whether the ring holds the key with this (binary) id. */
bool crypt_keyring_has(const struct crypt_keyring *kr, const uint8_t kid[CRYPT_KID_LEN]);
/* The configured key ids for messages: "kid1 (current), kid2"; "none" when empty. */
void crypt_keyring_describe(const struct crypt_keyring *kr, char *out, size_t cap);

/* ---- key slots: the key area of a file header ---------------------------- */

/*
 * Every encrypted file header carries a key area of two slots, each either
 * a wrapped file key record (CRYPT_FILE_KEY_LEN bytes) or all zeros. Both
 * slots of one file wrap the same DEK and nonce prefix. A new file uses
 * slot 0. Rotation writes the DEK wrapped under the new master key into the
 * other slot and syncs, then zeroes the old slot and syncs: a crash at any
 * moment leaves at least one slot that verifies, and the old key's slot is
 * gone once the rotation of that file finished. Each slot is authenticated
 * by its own GCM tag, so a torn slot write is detected and ignored.
 */
#define CRYPT_SLOT_COUNT 2
#define CRYPT_SLOTS_LEN (CRYPT_SLOT_COUNT * CRYPT_FILE_KEY_LEN)

/* A new file key in slot 0 (slot 1 zeroed). */
enum st_code crypt_slots_new(const struct crypt_keyring *kr, const char *kind,
                             struct crypt_file *out, uint8_t slots[CRYPT_SLOTS_LEN],
                             struct st_error *err);
/*
 * Unwrap the file key from a key area, preferring the slot of the current
 * master key. ST_ECRYPTO when no slot names a configured key ("... encrypted
 * with master key <kid>, which is not configured (configured: ...)"): a
 * configuration problem, not damage. ST_ECORRUPT when a slot names a
 * configured key but no slot verifies (a damaged or forged header).
 */
enum st_code crypt_slots_open(const struct crypt_keyring *kr, const char *kind,
                              const uint8_t slots[CRYPT_SLOTS_LEN], struct crypt_file *out,
                              struct st_error *err);
/* The key ids (hex) named by the non-empty slots; returns how many (0..2). */
unsigned crypt_slots_kids(const uint8_t slots[CRYPT_SLOTS_LEN],
                          char out[CRYPT_SLOT_COUNT][2 * CRYPT_KID_LEN + 1]);
/* True when every non-empty slot names the keyring's current key. */
bool crypt_slots_current(const struct crypt_keyring *kr, const uint8_t slots[CRYPT_SLOTS_LEN]);

/*
 * Rewrap the key area at byte `off` of an open file (fd opened read-write)
 * under the keyring's current key, in place and crash-safe (see above):
 * read the slots, write the new slot, fsync, clear the old slot, fsync.
 * *changed is false when the area already named only the current key.
 * The file's other bytes are not touched.
 */
enum st_code crypt_slots_rotate_fd(const struct crypt_keyring *kr, const char *kind, int fd,
                                   const char *path, uint64_t off, bool *changed,
                                   struct st_error *err);

/* ---- what a component may read and must write ----------------------------- */

/*
 * The encryption policy of one engine, shared (read-only) by the catalog,
 * the WAL and storage. `keys` may change (rotation adds keys; it is
 * thread-safe); the flags are fixed while the engine is open.
 */
struct crypt_policy {
    struct crypt_keyring *keys; /* NULL or empty: no master key */
    bool encrypt;               /* new files are encrypted */
    bool accept_plain;          /* unencrypted files may be read */
    bool accept_encrypted;      /* encrypted files may be read (needs keys) */
};

/* ST_OK when a file of this kind may be read under the policy (p may be
 * NULL: plaintext only); otherwise ST_ECRYPTO with a message naming what
 * (e.g. "catalog \"/d/catalog.bin\"") and the way out. */
enum st_code crypt_policy_check(const struct crypt_policy *p, bool file_encrypted,
                                const char *what, struct st_error *err);
/*
 * A small file written whole (the catalog, a manifest):
 *
 *   0   8  magic
 *   8   2  version, u16 LE
 *   10  2  flags, u16 LE: bit 0 = encrypted; the caller's bits 1..
 *   12  4  body length L (stored bytes; encrypted: plaintext + 16)
 *   16     [encrypted: key area, CRYPT_SLOTS_LEN bytes]
 *          body: plaintext, or AES-256-GCM ciphertext then tag (block number 0)
 *          u32 LE CRC-32C over everything before it, except a sealed body
 *
 * A sealed body is authenticated by its tag alone (no CRC covers it), and
 * the tag is verified before a byte of it is parsed.
 */
#define CRYPT_ENV_HDR_LEN 16u
enum st_code crypt_envelope_build(const struct crypt_policy *p, const char *kind,
                                  const char magic[8], uint16_t version, uint16_t flags,
                                  const uint8_t *body, size_t len, struct st_buf *out,
                                  struct st_error *err);
/*
 * Check and open an envelope image. `what` names the file in messages.
 * *body points into `file` (plaintext) or into *owned (decrypted; the
 * caller frees it). Errors: ST_ECORRUPT (framing, checksum, tag),
 * ST_ECRYPTO (policy or missing key), ST_EUNSUPPORTED (unknown flags or
 * version above max_version).
 */
enum st_code crypt_envelope_open(const struct crypt_policy *p, const char *kind, const char *what,
                                 const char magic[8], uint16_t max_version, uint16_t known_flags,
                                 const uint8_t *file, size_t len, uint16_t *version,
                                 uint16_t *flags, const uint8_t **body, size_t *body_len,
                                 uint8_t **owned, struct st_error *err);

/* True when new files are written encrypted under p. */
static inline bool
crypt_policy_encrypts(const struct crypt_policy *p)
{
    return p && p->encrypt && p->keys;
}

/* Seal n bytes: out receives n bytes of ciphertext then the 16-byte tag. */
enum st_code crypt_seal(const struct crypt_file *f, const char *kind, uint64_t block_no,
                        const uint8_t *in, size_t n, uint8_t *out, struct st_error *err);
/* Open n bytes of ciphertext followed by the tag (in has n + 16 bytes) into
 * out (n bytes). ST_ECRYPTO when the tag does not verify. */
enum st_code crypt_open(const struct crypt_file *f, const char *kind, uint64_t block_no,
                        const uint8_t *in, size_t n, uint8_t *out, struct st_error *err);

#endif
