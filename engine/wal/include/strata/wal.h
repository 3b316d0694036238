/*
 * wal.h: the write-ahead log, for the engine facade.
 *
 * The WAL stores opaque records (the engine's serialized writes and
 * deletes) in segment files under `<data_dir>/wal/`, each record framed
 * with its length, a sequence number and a CRC-32C (format: wal_format.c and
 * docs/formats/wal.md). Sequence numbers grow by one per record.
 *
 * Group commit: wal_append() only copies the record into an in-memory
 * buffer and assigns its sequence number; wal_sync(seq) makes it durable.
 * Concurrent callers of wal_sync share one write + fdatasync: the first one
 * becomes the leader and flushes everything buffered so far; the others wait
 * and find their records durable when it is done. A record is durable when
 * wal_sync returns ST_OK for it; when the flush that carried it fails, every
 * waiter of that flush gets the error, the segment is cut back to its last
 * durable byte, and the next flush starts a new segment.
 *
 * Recovery: wal_open() reads every segment in order and hands each valid
 * record to a callback. A torn tail (a partial or corrupt last record, with
 * no valid record after it) is cut from the file with a log line; a corrupt
 * record followed by valid ones is reported as ST_ECORRUPT with the segment
 * and offset, and the WAL does not open. Before it changes anything (cutting
 * a tail, removing a half-created segment, starting a segment), wal_open
 * checks every segment's header and key: a segment encrypted under a master
 * key that is not configured, or in a mode the policy refuses, fails the
 * open with ST_ECRYPTO and leaves every file as it was.
 *
 * Encryption: with an encrypting policy every new segment has its own data
 * key (in its header, wrapped under the master key) and every record is
 * sealed with AES-256-GCM, the record's sequence number as the block number
 * (unique per segment: numbers are never reused, and a segment that may
 * have held a record is never appended to by a later process).
 */
#ifndef STRATA_WAL_H
#define STRATA_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/status.h"

struct wal;
struct crypt_policy;

struct wal_options {
    const char *dir;          /* the WAL directory; created if missing */
    /* Encryption (strata/crypt.h): whether segments are encrypted and which
     * may be read. NULL = plaintext only. Must outlive the WAL. */
    const struct crypt_policy *pol;
    uint64_t segment_bytes;   /* roll to a new segment past this; 0 = 64 MiB */
    int64_t group_commit_ns;  /* leader waits this long for more records; 0 = none */
    uint32_t max_record_len;  /* 0 = 256 MiB */
};

/* Called for every valid record during wal_open, in sequence order. */
typedef enum st_code (*wal_replay_fn)(void *ctx, uint64_t seq, const uint8_t *rec, size_t len,
                                      struct st_error *err);

/*
 * Open the WAL, replay it through fn (may be NULL) and make it ready for
 * appends. New records get sequence numbers above every record found and
 * at least `min_next_seq` (the caller passes one more than the highest
 * sequence its persisted state covers, so numbering never goes back).
 */
enum st_code wal_open(const struct wal_options *opts, uint64_t min_next_seq, wal_replay_fn fn,
                      void *ctx, struct wal **out, struct st_error *err);
/* Flush what is buffered (best effort), close the files, free. NULL-safe. */
void wal_close(struct wal *w);

/* Buffer a record; *seq_out gets its sequence number. ST_ELIMIT when too long. */
enum st_code wal_append(struct wal *w, const void *rec, size_t len, uint64_t *seq_out,
                        struct st_error *err);
/* Wait until record `seq` is durable (group commit); 0 = everything appended so far. */
enum st_code wal_sync(struct wal *w, uint64_t seq, struct st_error *err);

/* Delete segments holding only records <= upto_seq (rolls the active
 * segment first when it holds only such records). */
enum st_code wal_truncate(struct wal *w, uint64_t upto_seq, struct st_error *err);

/* The last sequence number assigned (0 when none). */
uint64_t wal_last_seq(struct wal *w);
/* The highest durable sequence number. */
uint64_t wal_durable_seq(struct wal *w);
/* Bytes buffered and not yet written. */
size_t wal_pending_bytes(struct wal *w);

/*
 * Key rotation: rewrap every segment's data key under the policy's current
 * master key (two-slot header rewrite, crash-safe: strata/crypt.h). Appends
 * wait while it runs. Counts: segments rewrapped, already current, plain.
 */
enum st_code wal_rotate_keys(struct wal *w, uint64_t *rewrapped, uint64_t *current,
                             uint64_t *plain, struct st_error *err);

/* A problem found by wal_verify. */
struct wal_problem {
    const char *path;
    uint64_t offset;    /* of the bad header or record */
    uint64_t seq;       /* the record's expected sequence number (0: header) */
    enum st_code code;  /* ST_ECORRUPT, ST_ECRYPTO, ST_EIO */
    const char *reason;
};
typedef void (*wal_problem_fn)(void *ctx, const struct wal_problem *p);
/*
 * Read every segment back from disk (up to its durable length) and check
 * every header, key and record (checksum or GCM tag, then fn on each
 * record's plaintext, e.g. the record decoder). Each problem goes to
 * report; *files, *records and *bytes count what was checked. A torn tail
 * that recovery has not cut yet is reported too.
 */
enum st_code wal_verify(struct wal *w, wal_replay_fn fn, void *fn_ctx, wal_problem_fn report,
                        void *report_ctx, uint64_t *files, uint64_t *records, uint64_t *bytes,
                        uint64_t *problems, struct st_error *err);
/* Segments that are encrypted / plain (for migrations). */
void wal_mode_counts(struct wal *w, uint64_t *encrypted, uint64_t *plain);

struct wal_stats {
    uint64_t bytes_on_disk; /* all segments */
    uint64_t n_segments;
    uint64_t syncs;         /* fdatasync calls for records */
    uint64_t records;
};
void wal_get_stats(struct wal *w, struct wal_stats *out);

/* ---- segment parsing (shared by recovery, tests and the fuzz target) ---- */

#define WAL_HEADER_LEN 32u     /* the fixed part; plaintext segments have no more */
#define WAL_KEYS_OFF 32u       /* encrypted segments: the key area follows */
#define WAL_ENC_HEADER_LEN 176u /* 32 + CRYPT_SLOTS_LEN */
#define WAL_RECORD_HEADER_LEN 16u
#define WAL_TAG_LEN 16u

struct wal_scan_result {
    bool encrypted;      /* header flag bit 0 */
    size_t header_len;   /* 32 or 176 */
    uint64_t first_seq;  /* from the header */
    uint64_t last_seq;   /* of the last valid record; first_seq - 1 when none */
    uint64_t n_records;
    size_t good_len;     /* bytes up to the end of the last valid record */
    bool torn;           /* bytes after good_len that are not a valid record */
    bool corrupt;        /* a valid record follows the invalid bytes */
    size_t bad_offset;   /* where the invalid bytes start (when torn or corrupt) */
    char reason[96];     /* why the record at bad_offset is invalid */
};

/*
 * Check a segment image: the header (and, when encrypted, its key under
 * pol), then records until the first invalid one. fn (may be NULL) gets
 * each valid record's plaintext, after its checksum or GCM tag verified.
 * ST_ECORRUPT for a bad header or key area, ST_ECRYPTO when the policy
 * refuses the segment's mode or its key is not configured, ST_EUNSUPPORTED
 * for unknown flags; torn/corrupt tails are reported in *res, not as errors.
 */
enum st_code wal_scan_segment(const uint8_t *buf, size_t len, uint32_t max_record_len,
                              const struct crypt_policy *pol, wal_replay_fn fn, void *ctx,
                              struct wal_scan_result *res, struct st_error *err);
/* Check a segment header (len bytes, at least WAL_HEADER_LEN) without the
 * records: its fields, its mode against pol and, when encrypted, that its
 * data key opens. *header_len gets 32 or 176. */
enum st_code wal_header_check(const uint8_t *buf, size_t len, const struct crypt_policy *pol,
                              uint64_t *first_seq, size_t *header_len, bool *encrypted,
                              struct st_error *err);
/* Build a plaintext segment header (for the writer and tests). */
void wal_header_encode(uint8_t out[WAL_HEADER_LEN], uint64_t first_seq);
/* The fixed part of an encrypted segment header (the key area follows). */
void wal_header_encode_encrypted(uint8_t out[WAL_HEADER_LEN], uint64_t first_seq);
/* Frame a record: writes WAL_RECORD_HEADER_LEN bytes before the payload. */
void wal_record_frame(uint8_t hdr[WAL_RECORD_HEADER_LEN], uint64_t seq, const void *payload,
                      uint32_t len);
/* Frame a sealed record of `stored` bytes (ciphertext + tag): the CRC covers
 * the frame only; the GCM tag authenticates the payload. */
void wal_record_frame_sealed(uint8_t hdr[WAL_RECORD_HEADER_LEN], uint64_t seq, uint32_t stored);

#endif
