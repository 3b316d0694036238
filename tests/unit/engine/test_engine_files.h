/*
 * test_engine_files.h: helpers for tests that look at the data directory as
 * bytes: fixed test keys, byte-exact snapshots of a directory tree (take,
 * compare, restore), a search for a string in every byte of every file,
 * listing files by kind, and bit flips.
 */
#ifndef TEST_ENGINE_FILES_H
#define TEST_ENGINE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strata/engine.h"

/* A keyring holding one fixed test key (seed v), or NULL for v == 0. */
struct eng_keyring *tf_keyring(int v);
/* A keyring holding the keys of seeds a and b, b current. */
struct eng_keyring *tf_keyring2(int a, int b);
/* The key id of test key v. */
void tf_kid(int v, char out[ENG_KEY_ID_LEN + 1]);
/* Open an engine with the test key of seed key_seed (0: none). */
struct eng *tf_open(const char *dir, int key_seed, bool encryption, bool migrate,
                    struct st_error *err);

/* Every regular file under dir, with its bytes. */
struct tf_snap {
    size_t n;
    char **rel;      /* path relative to the directory */
    uint8_t **data;
    size_t *len;
};
void tf_snap_take(const char *dir, struct tf_snap *s);
bool tf_snap_equal(const struct tf_snap *a, const struct tf_snap *b, char *why, size_t cap);
/* Make dir hold exactly the snapshot's files again. */
void tf_snap_restore(const char *dir, const struct tf_snap *s);
void tf_snap_free(struct tf_snap *s);

/* The first file under dir holding `needle` anywhere in its bytes (a static
 * buffer), or NULL. */
const char *tf_grep(const char *dir, const char *needle);
/* Paths of the files under dir whose name ends with suffix (sorted); caller
 * frees with tf_paths_free. */
size_t tf_find(const char *dir, const char *suffix, char ***out);
void tf_paths_free(char **v, size_t n);
/* Size of a file (-1 when missing). */
off_t tf_size(const char *path);
/* Flip bits (mask) of the byte at off. */
void tf_flip(const char *path, off_t off, uint8_t mask);

#endif
