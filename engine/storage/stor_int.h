/*
 * stor_int.h: storage's private structures, shared by its files:
 *
 *   stor_codec.c    column block encodings (delta-of-delta, bit packing, ...)
 *   stor_series.c   per-table series registry, tag postings, last-value cache
 *   stor_mem.c      memtables: the in-memory buffers of one table partition
 *   stor_rowset.c   rows of one series gathered from sources; upsert folding
 *   stor_wbatch.c   write batches and their WAL record format
 *   stor_db.c       databases, versions, the commit protocol, deletes
 *   stor_chunk.c    chunk files: writing, index loading, block reads
 *   stor_cache.c    decoded-block cache shared by scans
 *   stor_persist.c  persist, compaction, the manifest
 *   stor_scan.c     read views, scans, estimates, series lists
 *
 * Concurrency in one paragraph: a database's state is an immutable version
 * (partitions -> chunks + memtables, and tombstones) swapped under
 * `ver_mu`; readers pin a version and the visible sequence number together.
 * Memtables are the only mutable objects readers touch: rows are appended
 * under the memtable's write lock in sequence order, readers copy rows with
 * seq <= their visible sequence under the read lock. Series registries are
 * append-only with pages that never move.
 */
#ifndef STRATA_STOR_INT_H
#define STRATA_STOR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/buf.h"
#include "strata/catalog.h"
#include "strata/catalog_store.h"
#include "strata/crypt.h"
#include "strata/stor_engine.h"
#include "strata/storage.h"

struct stor_cache;
struct cblock;

#define STOR_GROUP_ROWS 4096u       /* rows per row group in a chunk */
#define STOR_DEFAULT_PARTITION_NS (INT64_C(86400) * 1000000000)
#define STOR_DEFAULT_BUFFER_MAX ((size_t)64 << 20)
#define STOR_DEFAULT_PERSIST_AGE_NS (INT64_C(600) * 1000000000)
#define STOR_DEFAULT_MAX_SERIES 10000000u
#define STOR_DEFAULT_MAX_TOMBS 10000u
#define STOR_MAX_KEY_LEN (1u << 20)

/* ---- series registry and last-value cache (stor_series.c) -------------- */

#define SER_PAGE_BITS 12
#define SER_PAGE (1u << SER_PAGE_BITS)
#define SER_DIR 4096u

enum lvc_state { LVC_UNKNOWN = 0, LVC_VALID };

struct lvc_field {
    uint32_t col_id;
    uint8_t type;
    union {
        int64_t i;
        uint64_t u;
        double f;
        uint8_t b;
    } v;
    char *s; /* STRING */
    uint32_t slen;
};

struct lvc_row {
    int64_t t;
    uint32_t n, cap;
    struct lvc_field *f;
};

struct stor_sent {
    struct stor_series pub;
    uint64_t hash;
    uint32_t key_len;
    uint8_t *key; /* canonical: per tag in col id order: uvarint col_id, uvarint len, bytes */
    /* the first unescaped "measurement,tags" text this series was written
     * with (the cross-batch hint; under the table's mutex; NULL when none) */
    char *hint;
    uint32_t hint_len;
    uint64_t hint_hash;
    /* the memtable row store of this series last appended to (writers only,
     * under the database's commit mutex: a shortcut past the lookup) */
    uint64_t mcache_serial; /* stor_mem.serial of the memtable (never reused) */
    struct mem_series *mcache_ms;
    /* last-value cache, under the table's mutex */
    uint8_t lvc_state;
    bool lvc_has_row;
    uint64_t lvc_seq; /* the last sequence that touched this series */
    struct lvc_row lvc;
};

/* Series ids holding one tag value (ascending: ids grow). */
struct posting {
    uint64_t h;
    uint32_t col_id;
    uint32_t vlen;
    char *val;
    uint32_t n, cap;
    uint32_t *ids;
};

struct stor_table {
    uint32_t id;
    pthread_mutex_t mu; /* registry inserts, tag postings and the last-value cache */
    struct posting **posts; /* open addressing on (column, value) */
    uint32_t n_posts, post_cap;
    atomic_uint n_series;
    _Atomic(struct stor_sent **) pages[SER_DIR];
    uint32_t *slots; /* open addressing: series id + 1 */
    uint32_t slot_cap;
    uint32_t max_series;
    /* cross-batch hints: line text -> series (open addressing: id + 1) */
    uint32_t *hslots;
    uint32_t hslot_cap, n_hints;
    size_t hint_bytes;
};

#define STOR_HINT_BYTES ((size_t)64 << 20) /* text kept for hints, per table */

struct stor_table *stor__table_new(uint32_t id, uint32_t max_series);
void stor__table_free(struct stor_table *t);
/* Build the canonical key of a tag set (sorted here; duplicate col ids are an error). */
enum st_code stor__key_build(struct stor_tag_kv *tags, uint32_t n, struct st_buf *key,
                             struct st_error *err);
/* Find or create the series with this key. `new_series` series start with a
 * valid (empty) last-value entry; those loaded from chunks (known=false)
 * start unknown. */
enum st_code stor__series_get(struct stor_table *t, const struct cat_table *ct, const uint8_t *key,
                              uint32_t key_len, bool from_chunk, struct stor_sent **out,
                              struct st_error *err);
static inline struct stor_sent *
stor__series_at(struct stor_table *t, uint32_t id)
{
    struct stor_sent **pg = atomic_load_explicit(&t->pages[id >> SER_PAGE_BITS],
                                                 memory_order_acquire);
    return pg ? pg[id & (SER_PAGE - 1)] : NULL;
}
/* The series a line text was seen naming before (NULL when not known). h is
 * the text's st_hash with st_hash_seed(). */
struct stor_sent *stor__hint_get(struct stor_table *t, const void *text, uint32_t len,
                                 uint64_t h);
/* Remember that this text names series s (no-op past STOR_HINT_BYTES). */
void stor__hint_put(struct stor_table *t, struct stor_sent *s, const void *text, uint32_t len,
                    uint64_t h);
/* Append to ids the series with tag col_id = value (sorted, may repeat
 * across calls). Returns -1 on ENOMEM. */
int stor__tag_series(struct stor_table *t, uint32_t col_id, const char *value, uint32_t len,
                     uint32_t **ids, uint32_t *n, uint32_t *cap);
/* The tag value of a series for a tag column id, or NULL. */
const char *stor__series_tag(const struct stor_sent *s, uint32_t col_id, uint32_t *len);
/* Parse a canonical key (for decoding records and chunk indexes). */
int stor__key_next(const uint8_t **p, const uint8_t *end, uint32_t *col_id, const char **v,
                   uint32_t *len);

/* ---- memtables (stor_mem.c) -------------------------------------------- */

/*
 * A series' rows in a memtable, row-major: each row is `stride` 8-byte
 * words, [time][seq][validity words][one value word per column], so
 * appending a row touches one or two cache lines however many fields it has
 * (with thousands of series per batch, a column-per-array layout touched a
 * line per field per series). Column j of the series is col_ids[j]; its
 * validity bit is bit j of the validity words. A string value word is the
 * offset of "u32 length, bytes" in sdata.
 */
struct mem_series {
    uint32_t series_id;
    uint32_t n, cap;     /* rows */
    uint32_t n_cols, cap_cols;
    uint32_t vwords;     /* (n_cols + 63) / 64 */
    uint32_t stride;     /* 2 + vwords + n_cols */
    uint32_t *col_ids;
    uint8_t *types;
    uint64_t *rows;
    struct st_buf sdata;
    int64_t t_min, t_max;
    bool sorted;
};

#define MS_TIME(ms, r) ((int64_t)(ms)->rows[(size_t)(r) * (ms)->stride])
#define MS_SEQ(ms, r) ((ms)->rows[(size_t)(r) * (ms)->stride + 1])

struct stor_mem {
    atomic_uint refs;
    uint64_t serial; /* unique in this process */
    uint32_t table_id;
    int64_t part_start;
    pthread_rwlock_t lock;
    uint64_t min_seq, max_seq;
    size_t bytes;
    int64_t t_min, t_max;
    uint32_t n_ser, cap_ser;
    struct mem_series **ser;
    uint32_t *slots; /* series id -> index + 1 */
    uint32_t slot_cap;
};

struct wb_series;
struct stor_mem *stor__mem_new(uint32_t table_id, int64_t part_start);
void stor__mem_unref(struct stor_mem *m);
/* Append rows [lo, hi) of a batch series at seq (caller holds the write lock). */
enum st_code stor__mem_append(struct stor_mem *m, const struct wb_series *s, uint32_t lo,
                              uint32_t hi, uint64_t seq, const uint8_t *strs,
                              struct st_error *err);
/* The series' rows in this memtable, or NULL (caller holds a lock). */
struct mem_series *stor__mem_find(struct stor_mem *m, uint32_t series_id);

/* ---- rows of one series, for merging (stor_scan.c, stor_persist.c) ------ */

struct rs_col {
    uint32_t col_id;
    uint8_t type;
    uint8_t *valid; /* one byte per row */
    uint64_t *v;    /* value bits per row (STRING: offset into sdata) */
    uint32_t *slen; /* STRING */
};

/* A growable set of rows: time, per-row rank (source order) and columns. */
struct rowset {
    uint32_t n, cap;
    int64_t *time;
    uint32_t n_cols;
    struct rs_col *cols;
    struct st_buf sdata;
};

void stor__rs_init(struct rowset *rs, const uint32_t *col_ids, const uint8_t *types,
                   uint32_t n_cols);
void stor__rs_cleanup(struct rowset *rs);
void stor__rs_reset(struct rowset *rs);
enum st_code stor__rs_reserve(struct rowset *rs, uint32_t extra);
/* Sort by time (stable) and merge equal times: later rows win per field. */
enum st_code stor__rs_sort_dedup(struct rowset *rs);
/* Copy a memtable series' rows with seq <= vis into rs (appending). Rows
 * killed by a tombstone (seq < tomb seq) are skipped. */
struct stor_tomb;
enum st_code stor__mem_copy(const struct mem_series *ms, uint64_t vis, struct stor_tomb *const *tombs,
                            uint32_t n_tombs, int64_t t_lo, int64_t t_hi, struct rowset *rs);

/* ---- tombstones ------------------------------------------------------------ */

struct tomb_pred {
    uint32_t col_id;
    uint32_t n_values;
    char **values;
    uint32_t *lens;
};

struct stor_tomb {
    atomic_uint refs;
    uint32_t table_id;
    uint64_t seq;
    int64_t t_lo, t_hi;
    uint32_t n_preds;
    struct tomb_pred *preds;
};

void stor__tomb_unref(struct stor_tomb *t);
/* Drop rows [from, rs->n) of a chunk source hit by a tombstone that the
 * chunk has not applied (seq > applied_seq) and the reader may see (<= vis). */
void stor__rs_filter_tombs(struct rowset *rs, uint32_t from, struct stor_tomb *const *tombs,
                           uint32_t n_tombs, uint64_t applied_seq, uint64_t vis);
bool stor__tomb_matches_series(const struct stor_tomb *t, const struct stor_sent *s);

/* ---- chunks (stor_chunk.c) --------------------------------------------- */

struct chk_ref {
    uint32_t col;       /* index into the chunk's column list */
    uint32_t len, crc;
    uint64_t off;
    uint32_t null_count;
    bool has_stats;
    double min, max;    /* of the non-null values (numeric columns) */
};

struct chk_group {
    uint32_t n_rows;
    int64_t t_min, t_max;
    uint64_t t_off;
    uint32_t t_len, t_crc;
    uint32_t first_ref, n_refs;
};

struct chk_series {
    uint32_t series_id; /* table-global, resolved at load */
    uint32_t first_group, n_groups;
    uint64_t n_rows;
    int64_t t_min, t_max;
};

/* A quarantined row group (or the whole chunk, group = UINT32_MAX). */
enum stor_qreason {
    STOR_Q_DAMAGED = 1,    /* a block failed its checksum / tag, or does not decode */
    STOR_Q_UNREADABLE = 2, /* header, key area, footer or index damaged, or wrong size */
    STOR_Q_MISSING = 3,    /* the file is gone */
};

struct chk_qrec {
    uint32_t group; /* index into the chunk's groups; UINT32_MAX = the whole chunk */
    uint8_t reason; /* enum stor_qreason */
    uint64_t off;   /* the bad block's offset (0 when not one block) */
    int64_t when_ns; /* wall clock when it was found */
};

struct stor_chunk {
    atomic_uint refs;
    uint64_t serial; /* unique in this process (cache key) */
    uint64_t id;
    uint32_t table_id;
    int64_t part_start;
    uint64_t min_seq, max_seq;
    uint64_t applied_seq; /* every tombstone <= this is already applied to the rows */
    uint64_t n_rows;
    int64_t t_min, t_max;
    uint64_t file_len;
    char *path;
    int fd;
    uint32_t n_cols;
    uint32_t *col_ids;
    uint8_t *col_types;
    uint32_t n_series;
    struct chk_series *ser; /* sorted by series_id */
    uint32_t n_groups;
    struct chk_group *groups;
    uint32_t n_crefs;
    struct chk_ref *crefs;
    atomic_bool dead; /* unlink the file when the last reference goes */
    /* encryption */
    bool enc;               /* blocks and index are sealed under cf */
    struct crypt_file cf;
    /* quarantine (stor_chunk.c): readers check qmap (NULL = nothing bad) */
    atomic_bool whole_bad;           /* a placeholder: the file could not be opened */
    _Atomic(atomic_uchar *) qmap;    /* per group: 0 ok, else an enum stor_qreason */
    atomic_uint n_bad;               /* quarantined groups (+1 when whole_bad) */
    atomic_bool q_unsaved;           /* quarantine records not yet in the manifest */
    uint32_t n_qrecs;                /* under the quarantine mutex */
    struct chk_qrec *qrecs;
};

struct chunk_meta {
    uint64_t id;
    uint32_t table_id;
    int64_t part_start;
    uint64_t min_seq, max_seq;
    uint64_t applied_seq;
    uint64_t n_rows;
    int64_t t_min, t_max;
    uint64_t file_len;
};

/* Writer: series are added in ascending series id, rows sorted and deduped.
 * With an encrypting policy the chunk gets its own data key. */
struct chunk_writer;
enum st_code stor__cw_open(struct chunk_writer **out, const char *path, uint32_t table_id,
                           int64_t part_start, const uint32_t *col_ids, const uint8_t *types,
                           uint32_t n_cols, const struct crypt_policy *pol,
                           struct st_error *err);
enum st_code stor__cw_series(struct chunk_writer *w, const struct stor_sent *s,
                             const struct rowset *rs, struct st_error *err);
/* Finish: index, footer, fsync. Fills meta (n_rows 0 = nothing written). */
enum st_code stor__cw_finish(struct chunk_writer *w, uint64_t min_seq, uint64_t max_seq,
                             struct chunk_meta *meta, struct st_error *err);
void stor__cw_abort(struct chunk_writer *w);

/* Open a chunk file and load its index; series are resolved in `t`.
 * ST_ECRYPTO: the key is not configured or the mode is refused (a
 * configuration problem); ST_ECORRUPT / ST_ENOTFOUND: the file is damaged or
 * missing (the caller quarantines it); other codes: the open failed. */
enum st_code stor__chunk_open(const char *path, const struct chunk_meta *meta,
                              struct stor_table *t, const struct cat_table *ct,
                              const struct crypt_policy *pol, struct stor_chunk **out,
                              struct st_error *err);
/* A stand-in for a chunk that could not be opened: listed, never read (the
 * caller quarantines it as a whole). */
struct stor_chunk *stor__chunk_placeholder(const char *path, const struct chunk_meta *meta);
/* Quarantine: is group g (index into c->groups) excluded from reads? */
static inline bool
stor__group_bad(const struct stor_chunk *c, uint32_t g)
{
    struct stor_chunk *x = (struct stor_chunk *)c; /* atomics only */
    if (atomic_load_explicit(&x->n_bad, memory_order_relaxed) == 0)
        return false;
    if (atomic_load_explicit(&x->whole_bad, memory_order_relaxed))
        return true;
    atomic_uchar *m = atomic_load_explicit(&x->qmap, memory_order_acquire);
    return m && atomic_load_explicit(&m[g], memory_order_relaxed) != 0;
}
/* Quarantine group g of a chunk (after a bad block at off); logs it loudly.
 * Returns true when it was not quarantined before. */
bool stor__chunk_quarantine(const struct stor_chunk *c, uint32_t g, uint64_t off, uint8_t reason,
                            int64_t when_ns);
/* A copy of the chunk's quarantine records (caller frees); the count. */
uint32_t stor__chunk_qrecs(const struct stor_chunk *c, struct chk_qrec **out);
/* The group holding the block at `off` (time or column block), or UINT32_MAX. */
uint32_t stor__chunk_group_of(const struct stor_chunk *c, uint64_t off);
/* Name of a quarantine reason ("damaged block", ...). */
const char *stor__qreason_name(uint8_t reason);
void stor__chunk_unref(struct stor_chunk *c);
const struct chk_series *stor__chunk_find(const struct stor_chunk *c, uint32_t series_id);
/* Decode a row group's requested columns (by chunk column index, or
 * UINT32_MAX for a column the chunk lacks -> all NULL) into rs (appending),
 * keeping only rows with time in [t_lo, t_hi). */
enum st_code stor__chunk_read_group(const struct stor_chunk *c, const struct chk_group *g,
                                    int64_t t_lo, int64_t t_hi, struct stor_cache *cache,
                                    struct rowset *rs, struct st_error *err);
/* Check a group's decoded time block against the index (sorted, bounds). */
enum st_code stor__chunk_check_times(const struct stor_chunk *c, const struct chk_group *g,
                                     struct cblock *tb, struct st_error *err);
/* The reference of column index idx in a group, or NULL (all NULL there). */
const struct chk_ref *stor__group_ref(const struct stor_chunk *c, const struct chk_group *g,
                                      uint32_t idx);
/* Index of a column in the chunk, or UINT32_MAX. */
uint32_t stor__chunk_col(const struct stor_chunk *c, uint32_t col_id);
/* Parse a chunk index alone (fuzz target: no checksum in the way). */
enum st_code stor__chunk_check_index(const uint8_t *ix, size_t len, struct st_error *err);
/* Parse and check a whole chunk image (fuzz target, tests); pol opens an
 * encrypted one (NULL: plaintext only). */
enum st_code stor__chunk_check_image(const uint8_t *buf, size_t len,
                                     const struct crypt_policy *pol, struct st_error *err);
/* A problem a chunk verification found (stor__chunk_verify). */
struct chk_problem {
    uint64_t off;       /* the block, or 0 for the file as a whole */
    uint32_t group;     /* its group index, UINT32_MAX when not known */
    enum st_code code;
    const char *reason;
};
typedef void (*chk_problem_fn)(void *ctx, const struct chk_problem *p);
/* Read a chunk file back from disk and check everything: header, key,
 * footer, index, then every block of every group (checksum or tag, decode,
 * time order), independently of any loaded state or cache. Counts blocks
 * and bytes checked; every problem goes to fn. ST_OK unless the check could
 * not run (ST_ENOMEM). */
enum st_code stor__chunk_verify(const char *path, const struct crypt_policy *pol,
                                chk_problem_fn fn, void *ctx, uint64_t *blocks,
                                uint64_t *bytes, uint64_t *problems, struct st_error *err);

/* ---- decoded-block cache (stor_cache.c) ------------------------------------- */

struct cblock {
    atomic_uint refs;
    uint64_t serial, off; /* key: chunk serial, block offset */
    uint32_t n;
    uint8_t type;
    uint64_t *v;        /* values (TIME, INT, UINT, FLOAT bits); NULL rows 0 */
    uint8_t *b;         /* BOOL: one byte per row */
    int32_t *offsets;   /* STRING: n + 1 */
    uint8_t *sdata;
    size_t sdata_len;
    uint8_t *bitmap;    /* Arrow validity, NULL when no NULLs */
    int64_t null_count;
    size_t bytes;
    atomic_bool times_ok; /* TIME blocks: ascending and matching the index (checked once) */
    struct cblock *prev, *next; /* LRU, under the cache mutex */
};

struct stor_cache;
struct stor_cache *stor__cache_new(size_t max_bytes);
void stor__cache_free(struct stor_cache *c);
/* A decoded block, with a reference (read and decoded on a miss). c may be NULL. */
enum st_code stor__cache_get(struct stor_cache *c, const struct stor_chunk *ch, uint64_t off,
                             uint32_t len, uint32_t crc, uint8_t type, uint32_t n,
                             struct cblock **out, struct st_error *err);
void stor__cblock_put(struct cblock *b);
void stor__cache_stats(struct stor_cache *c, uint64_t *bytes, uint64_t *hits, uint64_t *misses);
/* Read a block's bytes and check its CRC or open its seal (stor_chunk.c):
 * buf (len bytes) gets the plaintext, *plain_len its length. */
enum st_code stor__chunk_read_raw(const struct stor_chunk *c, uint64_t off, uint32_t len,
                                  uint32_t crc, uint8_t *buf, uint32_t *plain_len,
                                  struct st_error *err);

/* ---- column block codecs (stor_codec.c) ------------------------------------ */

/* Encode n values of a column block: time (int64, ascending or not), INT,
 * UINT, FLOAT, BOOL, STRING. valid: one byte per row, NULL = all valid. */
enum st_code stor__enc_block(struct st_buf *out, uint8_t type, uint32_t n, const uint64_t *v,
                             const uint8_t *valid, const uint32_t *slen, const uint8_t *sdata,
                             struct st_error *err);
/* Decode a block of n rows: fills v (n entries), valid (n bytes: 0/1), and
 * for strings appends bytes to sdata with v = offsets and slen = lengths. */
enum st_code stor__dec_block(const uint8_t *p, size_t len, uint8_t type, uint32_t n, uint64_t *v,
                             uint8_t *valid, uint32_t *slen, struct st_buf *sdata,
                             struct st_error *err);

/* ---- write batches (stor_wbatch.c) ---------------------------------------- */

struct wb_col {
    uint32_t col_id;
    uint8_t type;
    uint8_t *valid; /* bitmap over the series' rows */
    uint64_t *v;    /* value bits (STRING: offset into the batch's string buffer) */
    uint32_t *slen;
};

struct wb_series {
    uint32_t table_id;
    struct stor_table *tab;
    struct stor_sent *ser;
    const struct cat_table *ct;
    uint32_t n, cap;
    int64_t *time;
    uint32_t n_cols, cap_cols;
    struct wb_col *cols;
    uint32_t hint;
    uint32_t cap_hint; /* first capacity of the arrays */
};

enum wb_kind { WB_WRITE = 1, WB_DELETE = 2 };

struct wb_blk;

struct stor_wbatch {
    struct wb_blk *arena; /* the series' arrays (stor_wbatch.c) */
    uint32_t db_id;
    enum wb_kind kind;
    uint32_t n_ser, cap_ser;
    struct wb_series *ser;
    uint32_t *slots; /* (table, series) -> index + 1 */
    uint32_t slot_cap;
    uint32_t cur;
    uint32_t first_cap; /* first capacity for a series' arrays (from the last batch) */
    struct st_buf strs;
    struct st_buf keybuf;
    /* hints: text -> series index */
    struct wb_hint {
        uint64_t h;
        uint32_t off, len, ser;
    } *hints;
    uint32_t n_hints, cap_hints;
    uint32_t *hslots;
    uint32_t hslot_cap;
    struct st_buf hbuf;
    const void *h_text; /* the last hint hashed, and its hash */
    uint32_t h_len;
    uint64_t h_hash;
    uint64_t rows, fields;
    struct stor_tomb *tomb;
    uint64_t deleted;
    /* commit queue */
    uint64_t seq;
    int state; /* 0 waiting for the WAL, 1 durable, 2 failed, 3 done */
    enum st_code apply_rc;
    struct st_error apply_err;
    struct stor_wbatch *next;
};

/* ---- databases and versions (stor_db.c) ------------------------------------ */

struct stor_part {
    atomic_uint refs;
    uint32_t table_id;
    int64_t start;
    uint32_t n_chunks;
    struct stor_chunk **chunks; /* ascending max_seq */
    uint32_t n_mems;
    struct stor_mem **mems;     /* frozen ones, then the active one (when any) */
    bool has_active;
};

struct stor_dbver {
    atomic_uint refs;
    uint32_t n_parts;
    struct stor_part **parts; /* sorted by (table_id, start) */
    uint32_t n_tombs;
    struct stor_tomb **tombs; /* sorted by (table_id, seq) */
};

struct stor_db {
    atomic_uint refs;
    struct stor *s;
    uint32_t id;
    char *dir;
    pthread_mutex_t commit_mu;
    pthread_cond_t commit_cv;
    struct stor_wbatch *pend_head, *pend_tail;
    uint64_t first_dirty, first_dirty_since_freeze; /* under commit_mu */
    int64_t dirty_since_mono;                       /* under commit_mu */
    pthread_mutex_t ver_mu;
    struct stor_dbver *ver;
    _Atomic uint64_t vis_seq;
    pthread_mutex_t tab_mu;
    struct stor_table **tabs; /* by table id */
    uint32_t n_tabs;
    pthread_mutex_t persist_mu;
    _Atomic uint64_t persisted_seq;
    uint64_t next_chunk_id; /* under persist_mu */
    atomic_size_t mem_bytes;
    atomic_bool dropped;
    atomic_uint rows_hint; /* rows per series in the last batch applied */
    bool man_encrypted;    /* MANIFEST on disk is encrypted (under persist_mu) */
    uint64_t q_seen;       /* stor.q_events when the manifest last took quarantines in */
};

struct stor {
    struct stor_options o;
    char *root;
    struct stor_cache *cache;
    pthread_mutex_t mu;
    struct stor_db **dbs;
    uint32_t n_dbs, cap_dbs;
    atomic_uint_fast64_t persists, compactions;
    atomic_uint_fast64_t q_events; /* quarantines found (manifests to rewrite) */
};

struct stor_table *stor__db_table(struct stor_db *db, uint32_t table_id, struct st_error *err);
/* A reference on the current version (and the visible sequence with it). */
struct stor_dbver *stor__db_version(struct stor_db *db, uint64_t *vis);
struct stor_dbver *stor__ver_clone(const struct stor_dbver *v, uint32_t extra_parts,
                                   uint32_t extra_tombs);
struct stor_part *stor__part_clone(const struct stor_part *p, uint32_t extra_chunks,
                                   uint32_t extra_mems);
uint32_t stor__ver_find(const struct stor_dbver *v, uint32_t table_id, int64_t start, bool *found);
uint64_t stor__count_deleted(struct stor_db *db, const struct stor_tomb *t);
void stor__ver_unref(struct stor_dbver *v);
void stor__part_unref(struct stor_part *p);
struct stor_part *stor__part_new(uint32_t table_id, int64_t start);
/* Publish a new version built by fn under ver_mu. */
int64_t stor__part_start(const struct stor *s, int64_t t);
/* Exclusive end of the partition starting at start (INT64_MAX for the last). */
int64_t stor__part_end(const struct stor *s, int64_t start);
/* Tombstones of a table in a version: [*first, *first + *n). */
void stor__ver_tombs(const struct stor_dbver *v, uint32_t table_id, uint32_t *first, uint32_t *n);
/* The catalog table of a db/table as of now. */
struct cat_snapshot *stor__cat(struct stor *s);
enum st_code stor__apply(struct stor_db *db, struct stor_wbatch *wb, uint64_t seq,
                         struct st_error *err);
/* Apply a batch series to its last-value entry (caller holds its table's mu). */
void stor__lvc_apply_locked(const struct wb_series *s, const uint8_t *strs, uint64_t seq);
void stor__lvc_invalidate(struct stor_table *t, const struct stor_tomb *tomb, uint64_t seq);
/* Install a row computed by a reader at visible sequence vis. */
void stor__lvc_install(struct stor_table *t, struct stor_sent *s, uint64_t vis,
                       const struct rowset *rs, uint32_t row, bool has_row);

/* ---- manifest and persist (stor_persist.c) --------------------------------- */

struct man_qrec {
    uint64_t chunk_id;
    struct chk_qrec q;
};
enum st_code stor__manifest_load(struct stor_db *db, struct st_error *err);
/* Write the manifest of version v (caller holds persist_mu and ver_mu, or
 * owns v exclusively). */
enum st_code stor__manifest_write(struct stor_db *db, const struct stor_dbver *v,
                                  uint64_t persisted_seq, struct st_error *err);
/* Merge a partition's chunks [from, n) into one (persist_mu held); force:
 * even one chunk (a rewrite under the current policy). Parts with
 * quarantined data are left alone. */
enum st_code stor__compact_part(struct stor_db *db, uint32_t table_id, int64_t start,
                                uint32_t from, bool force, struct st_error *err);
/* Rewrite the manifest when chunks hold quarantine records not saved yet
 * (persist_mu held); sets *did when it wrote. */
enum st_code stor__save_quarantine_locked(struct stor_db *db, bool *did, struct st_error *err);
/* Decode a manifest image under a policy; `what` names it in messages. */
enum st_code stor__manifest_decode_file(const struct crypt_policy *pol, const char *what,
                                        const uint8_t *buf, size_t len, uint64_t *persisted_seq,
                                        uint64_t *next_chunk_id, struct chunk_meta **chunks,
                                        uint32_t *n_chunks, struct stor_tomb ***tombs,
                                        uint32_t *n_tombs, struct man_qrec **q, uint32_t *n_q,
                                        struct st_error *err);
enum st_code stor__manifest_decode(const uint8_t *buf, size_t len, uint64_t *persisted_seq,
                                   uint64_t *next_chunk_id, struct chunk_meta **chunks,
                                   uint32_t *n_chunks, struct stor_tomb ***tombs,
                                   uint32_t *n_tombs, struct st_error *err);
void stor__chunk_path(const struct stor_db *db, uint32_t table_id, uint64_t chunk_id, char *buf,
                      size_t cap);

/* ---- views (stor_scan.c) ----------------------------------------------------- */

struct stor_view {
    struct stor *s;
    struct stor_db *db;
    struct stor_dbver *ver;
    uint64_t vis;
    struct cat_snapshot *cat;
    const struct cat_db *cdb;
    void **allocs; /* freed with the view (series lists) */
    uint32_t n_allocs, cap_allocs;
};

#endif
