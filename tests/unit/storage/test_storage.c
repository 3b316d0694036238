/*
 * test_storage.c: storage internals: column block codecs round-trip every
 * type and edge value, decoders reject damaged blocks, rowsets fold upserts
 * deterministically, and WAL records decode or are rejected.
 */
#include "th.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stor_int.h"
#include "strata/file.h"

static void
round_trip(uint8_t type, uint32_t n, const uint64_t *v, const uint8_t *valid,
           const uint32_t *slen, const uint8_t *sdata)
{
    struct st_buf b, sd;
    struct st_error err;
    st_buf_init(&b, SIZE_MAX);
    st_buf_init(&sd, SIZE_MAX);
    ASSERT_OK_E(stor__enc_block(&b, type, n, v, valid, slen, sdata, &err), &err);
    uint64_t *out = calloc(n + 1, 8);
    uint8_t *ov = calloc(n + 1, 1);
    uint32_t *ol = calloc(n + 1, 4);
    ASSERT_OK_E(stor__dec_block(b.data, b.len, type, n, out, ov, ol, &sd, &err), &err);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t want_valid = valid ? valid[i] : 1;
        ASSERT_EQ_INT(ov[i], want_valid);
        if (!want_valid)
            continue;
        if (type == ST_TYPE_STRING) {
            ASSERT_EQ_INT(ol[i], slen[i]);
            ASSERT_TRUE(memcmp(sd.data + out[i], sdata + v[i], slen[i]) == 0);
        } else {
            ASSERT_EQ_U64(out[i], v[i]);
        }
    }
    /* every truncation of the block is rejected, never read past */
    for (size_t l = 0; l + 1 < b.len; l++) {
        uint8_t *cut = malloc(l + 1);
        memcpy(cut, b.data, l);
        st_buf_reset(&sd);
        ASSERT_TRUE(stor__dec_block(cut, l, type, n, out, ov, ol, &sd, &err) != ST_OK);
        free(cut);
    }
    free(out);
    free(ov);
    free(ol);
    st_buf_cleanup(&b);
    st_buf_cleanup(&sd);
}

TEST(codec_time_round_trips)
{
    uint64_t v[5000];
    for (uint32_t i = 0; i < 5000; i++)
        v[i] = (uint64_t)(INT64_C(1451606400000000000) + (int64_t)i * 10000000000);
    round_trip(ST_TYPE_TIME, 5000, v, NULL, NULL, NULL);
    v[17] += 3; /* irregular */
    v[4000] += 999999;
    round_trip(ST_TYPE_TIME, 5000, v, NULL, NULL, NULL);
    uint64_t edge[] = {(uint64_t)INT64_MIN, (uint64_t)(INT64_MIN + 1), 0, (uint64_t)INT64_MAX};
    round_trip(ST_TYPE_TIME, 4, edge, NULL, NULL, NULL);
    round_trip(ST_TYPE_TIME, 1, edge, NULL, NULL, NULL);
    round_trip(ST_TYPE_TIME, 2, edge + 2, NULL, NULL, NULL);
}

TEST(codec_integers_with_edges_and_nulls)
{
    uint64_t v[300];
    uint8_t valid[300];
    for (uint32_t i = 0; i < 300; i++) {
        v[i] = (uint64_t)(int64_t)((i * 7919) % 100 - 50);
        valid[i] = 1;
    }
    round_trip(ST_TYPE_INT, 300, v, NULL, NULL, NULL);
    v[0] = (uint64_t)INT64_MIN;
    v[1] = (uint64_t)INT64_MAX;
    v[2] = (uint64_t)INT64_MIN;
    v[3] = 0;
    v[150] = (uint64_t)INT64_MAX;
    valid[5] = valid[6] = valid[299] = 0;
    v[5] = v[6] = v[299] = 0;
    round_trip(ST_TYPE_INT, 300, v, valid, NULL, NULL);
    v[0] = UINT64_MAX;
    v[1] = 0;
    v[2] = UINT64_MAX - 1;
    round_trip(ST_TYPE_UINT, 300, v, valid, NULL, NULL);
    memset(valid, 0, sizeof valid);
    memset(v, 0, sizeof v);
    round_trip(ST_TYPE_INT, 300, v, valid, NULL, NULL); /* all NULL */
}

TEST(codec_floats_bools_strings)
{
    double d[200];
    uint64_t v[200];
    uint8_t valid[200];
    for (int i = 0; i < 200; i++) {
        d[i] = sin(i * 0.1) * 100.0;
        valid[i] = (uint8_t)(i % 13 != 0);
    }
    d[1] = -0.0;
    d[2] = INFINITY;
    d[3] = -INFINITY;
    d[4] = 4.9406564584124654e-324;
    d[5] = 1.7976931348623157e308;
    for (int i = 0; i < 200; i++) {
        memcpy(&v[i], &d[i], 8);
        if (!valid[i])
            v[i] = 0;
    }
    round_trip(ST_TYPE_FLOAT, 200, v, valid, NULL, NULL);
    round_trip(ST_TYPE_FLOAT, 200, v, NULL, NULL, NULL);
    for (int i = 0; i < 200; i++)
        v[i] = valid[i] ? (uint64_t)(i % 3 == 0) : 0;
    round_trip(ST_TYPE_BOOL, 200, v, valid, NULL, NULL);
    const char *strs[] = {"", "a", "hello world", "", "\xc3\xa9t\xc3\xa9", "x"};
    uint8_t data[256];
    uint32_t slen[120];
    size_t off = 0;
    for (int i = 0; i < 6; i++) {
        size_t l = strlen(strs[i]);
        memcpy(data + off, strs[i], l);
        v[i] = off;
        slen[i] = (uint32_t)l;
        off += l;
    }
    uint8_t sv[6] = {1, 1, 1, 1, 0, 1};
    round_trip(ST_TYPE_STRING, 6, v, sv, slen, data);
    round_trip(ST_TYPE_STRING, 6, v, NULL, slen, data);
    for (int i = 0; i < 120; i++) {
        v[i] = 2;
        slen[i] = 9;
    }
    round_trip(ST_TYPE_STRING, 120, v, NULL, slen, data); /* compressible: zstd */
}

TEST(codec_rejects_wrong_type_and_row_count)
{
    uint64_t v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct st_buf b, sd;
    struct st_error err;
    st_buf_init(&b, SIZE_MAX);
    st_buf_init(&sd, SIZE_MAX);
    ASSERT_OK(stor__enc_block(&b, ST_TYPE_INT, 10, v, NULL, NULL, NULL, &err));
    uint64_t out[16];
    uint8_t ov[16];
    ASSERT_CODE(stor__dec_block(b.data, b.len, ST_TYPE_FLOAT, 10, out, ov, NULL, &sd, &err),
                ST_ECORRUPT);
    ASSERT_CODE(stor__dec_block(b.data, b.len, ST_TYPE_INT, 9, out, ov, NULL, &sd, &err),
                ST_ECORRUPT);
    b.data[11] = 70; /* codec, flags, n, 8-byte first value, then the group width: > 64 */
    ASSERT_CODE(stor__dec_block(b.data, b.len, ST_TYPE_INT, 10, out, ov, NULL, &sd, &err),
                ST_ECORRUPT);
    st_buf_cleanup(&b);
    st_buf_cleanup(&sd);
}

TEST(rowset_folds_upserts_later_wins_per_field)
{
    uint32_t ids[2] = {1, 2};
    uint8_t types[2] = {ST_TYPE_INT, ST_TYPE_INT};
    struct rowset rs;
    stor__rs_init(&rs, ids, types, 2);
    ASSERT_OK(stor__rs_reserve(&rs, 5));
    int64_t t[5] = {20, 10, 20, 10, 30};
    uint8_t v1[5] = {1, 1, 0, 1, 0}, v2[5] = {1, 0, 1, 0, 0};
    uint64_t a[5] = {100, 101, 0, 103, 0}, b[5] = {200, 0, 202, 0, 0};
    for (int i = 0; i < 5; i++) {
        rs.time[i] = t[i];
        rs.cols[0].valid[i] = v1[i];
        rs.cols[0].v[i] = a[i];
        rs.cols[1].valid[i] = v2[i];
        rs.cols[1].v[i] = b[i];
    }
    rs.n = 5;
    ASSERT_OK(stor__rs_sort_dedup(&rs));
    ASSERT_EQ_INT(rs.n, 3);
    ASSERT_EQ_INT(rs.time[0], 10);
    ASSERT_EQ_INT(rs.cols[0].v[0], 103); /* the later of 101 / 103 */
    ASSERT_EQ_INT(rs.cols[1].valid[0], 0);
    ASSERT_EQ_INT(rs.time[1], 20);
    ASSERT_EQ_INT(rs.cols[0].v[1], 100); /* the later row did not write column 1 */
    ASSERT_EQ_INT(rs.cols[1].v[1], 202);
    ASSERT_EQ_INT(rs.time[2], 30);
    ASSERT_EQ_INT(rs.cols[0].valid[2], 0);
    stor__rs_cleanup(&rs);
}

TEST(wal_record_check_rejects_garbage)
{
    struct st_error err;
    const uint8_t junk[] = {1, 1, 5, 0, 0};
    ASSERT_CODE(stor_record_check(junk, sizeof junk, &err), ST_ECORRUPT);
    ASSERT_CODE(stor_record_check(junk, 1, &err), ST_ECORRUPT);
    const uint8_t kind[] = {9, 1, 0};
    ASSERT_CODE(stor_record_check(kind, sizeof kind, &err), ST_ECORRUPT);
    ASSERT_CONTAINS(err.msg, "unknown record kind");
    const uint8_t empty_write[] = {1, 1, 0};
    ASSERT_OK(stor_record_check(empty_write, sizeof empty_write, &err));
}

TEST(chunk_image_check_accepts_a_real_chunk_and_survives_damage)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz/corpus/chunk/chunk-two-groups", th_source_dir());
    uint8_t *buf;
    size_t len;
    struct st_error err;
    ASSERT_OK_E(st_file_read_all(path, 1 << 20, &buf, &len, &err), &err);
    ASSERT_OK_E(stor__chunk_check_image(buf, len, NULL, &err), &err);
    unsigned bad = 0;
    for (size_t off = 0; off < len; off++) {
        buf[off] ^= 0x5a;
        if (stor__chunk_check_image(buf, len, NULL, &err) != ST_OK)
            bad++;
        buf[off] ^= 0x5a;
    }
    /* every damaged byte is caught (header, blocks and index all carry CRCs) */
    ASSERT_EQ_INT(bad, len);
    free(buf);
}

/* An encrypted chunk of two series (one with two row groups), written through
 * the chunk writer; returns its image. */
static uint8_t *
encrypted_chunk(const struct crypt_policy *pol, const char *path, size_t *len)
{
    uint32_t ids[2] = {1, 2};
    uint8_t types[2] = {ST_TYPE_INT, ST_TYPE_STRING};
    struct chunk_writer *w;
    struct st_error err;
    ASSERT_OK_E(stor__cw_open(&w, path, 7, 0, ids, types, 2, pol, &err), &err);
    struct rowset rs;
    stor__rs_init(&rs, ids, types, 2);
    for (int s = 0; s < 2; s++) {
        uint8_t key[16] = {3, 6, 's', 'e', 'c', 'r', 'e', 't'};
        key[8] = (uint8_t)('0' + s);
        struct stor_sent se;
        memset(&se, 0, sizeof se);
        se.key = key;
        se.key_len = 9;
        key[1] = 7;
        stor__rs_reset(&rs);
        uint32_t n = s ? 5000 : 10;
        ASSERT_OK(stor__rs_reserve(&rs, n));
        for (uint32_t i = 0; i < n; i++) {
            rs.time[i] = i * 10;
            rs.cols[0].valid[i] = 1;
            rs.cols[0].v[i] = i * 3;
            rs.cols[1].valid[i] = i % 3 != 0;
            rs.cols[1].v[i] = rs.sdata.len;
            rs.cols[1].slen[i] = 6;
            st_buf_append(&rs.sdata, "hidden", 6);
        }
        rs.n = n;
        ASSERT_OK_E(stor__cw_series(w, &se, &rs, &err), &err);
    }
    stor__rs_cleanup(&rs);
    struct chunk_meta meta;
    ASSERT_OK_E(stor__cw_finish(w, 1, 2, &meta, &err), &err);
    uint8_t *buf;
    ASSERT_OK_E(st_file_read_all(path, 1 << 24, &buf, len, &err), &err);
    ASSERT_EQ_U64(meta.file_len, *len);
    return buf;
}

static void
count_problem(void *ctx, const struct chk_problem *p)
{
    unsigned *n = ctx;
    ASSERT_TRUE(p->reason != NULL);
    (*n)++;
}

TEST(encrypted_chunk_holds_no_plaintext_and_every_sealed_flip_is_caught)
{
    uint8_t k[CRYPT_KEY_LEN];
    memset(k, 9, sizeof k);
    struct crypt_keyring *kr = crypt_keyring_new(), *other = crypt_keyring_new();
    ASSERT_OK(crypt_keyring_add(kr, k, true, NULL));
    k[0] = 1;
    ASSERT_OK(crypt_keyring_add(other, k, true, NULL));
    struct crypt_policy pol = {kr, true, false, true}, wrong = {other, true, false, true},
                        plain = {NULL, false, true, false};
    const char *path = th_path("c.chk");
    size_t len;
    uint8_t *buf = encrypted_chunk(&pol, path, &len);
    ASSERT_TRUE(memmem(buf, len, "secret", 6) == NULL);
    ASSERT_TRUE(memmem(buf, len, "hidden", 6) == NULL);
    struct st_error err;
    ASSERT_OK_E(stor__chunk_check_image(buf, len, &pol, &err), &err);
    ASSERT_CODE(stor__chunk_check_image(buf, len, &wrong, &err), ST_ECRYPTO);
    ASSERT_CODE(stor__chunk_check_image(buf, len, &plain, &err), ST_ECRYPTO);
    ASSERT_CODE(stor__chunk_check_image(buf, len, NULL, &err), ST_ECRYPTO);
    uint64_t blocks = 0, bytes = 0, problems = 0;
    ASSERT_OK(stor__chunk_verify(path, &pol, NULL, NULL, &blocks, &bytes, &problems, &err));
    ASSERT_EQ_U64(problems, 0);
    ASSERT_EQ_U64(blocks, 3 * 3); /* a time and two column blocks in each of 3 groups */
    /* every byte except the empty second key slot: damage is caught */
    unsigned bad = 0, checked = 0;
    for (size_t off = 0; off < len; off++) {
        if (off >= 32 + CRYPT_FILE_KEY_LEN && off < 32 + CRYPT_SLOTS_LEN)
            continue;
        checked++;
        buf[off] ^= 0x21;
        if (stor__chunk_check_image(buf, len, &pol, &err) != ST_OK)
            bad++;
        buf[off] ^= 0x21;
    }
    ASSERT_EQ_INT(bad, checked);
    /* the verifier reads the file: a flipped block is reported by offset */
    int fd = open(path, O_RDWR);
    uint8_t b;
    ASSERT_EQ_INT(pread(fd, &b, 1, 200), 1);
    b ^= 4;
    ASSERT_EQ_INT(pwrite(fd, &b, 1, 200), 1);
    close(fd);
    unsigned reported = 0;
    blocks = bytes = problems = 0;
    ASSERT_OK(stor__chunk_verify(path, &pol, count_problem, &reported, &blocks, &bytes, &problems,
                                 &err));
    ASSERT_EQ_U64(problems, 1);
    ASSERT_EQ_INT(reported, 1);
    free(buf);
    crypt_keyring_free(kr);
    crypt_keyring_free(other);
}
