/*
 * test_engine_files.c: see test_engine_files.h.
 */
#include "test_engine_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th.h"

static void
key_hex(int v, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned)((v * 37 + i * 11) & 0xff));
}

struct eng_keyring *
tf_keyring(int v)
{
    if (!v)
        return NULL;
    char hex[65];
    struct st_error err;
    struct eng_keyring *kr = eng_keyring_new();
    key_hex(v, hex);
    if (!kr || eng_keyring_add_hex(kr, hex, 64, true, &err) != ST_OK)
        th_fail(__FILE__, __LINE__, "test keyring");
    return kr;
}

struct eng_keyring *
tf_keyring2(int a, int b)
{
    char hex[65];
    struct st_error err;
    struct eng_keyring *kr = tf_keyring(a);
    key_hex(b, hex);
    if (eng_keyring_add_hex(kr, hex, 64, true, &err) != ST_OK)
        th_fail(__FILE__, __LINE__, "test keyring");
    return kr;
}

void
tf_kid(int v, char out[ENG_KEY_ID_LEN + 1])
{
    struct eng_keyring *kr = tf_keyring(v);
    eng_keyring_current_id(kr, out);
    eng_keyring_free(kr);
}

struct eng *
tf_open(const char *dir, int key_seed, bool encryption, bool migrate, struct st_error *err)
{
    struct eng_keyring *kr = tf_keyring(key_seed);
    struct eng_options o = {.data_dir = dir, .keyring = kr, .encryption = encryption,
                            .encryption_migrate = migrate};
    struct eng *e = eng_open(&o, err);
    eng_keyring_free(kr);
    return e;
}

/* ---- snapshots -------------------------------------------------------------- */

static void
walk(const char *root, const char *rel, void (*fn)(void *, const char *, const char *),
     void *ctx)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char r2[4096], full[8192];
        snprintf(r2, sizeof r2, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", root, r2);
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(root, r2, fn, ctx);
        else if (S_ISREG(st.st_mode))
            fn(ctx, full, r2);
    }
    closedir(d);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        th_fail(__FILE__, __LINE__, "open %s", path);
    struct stat st;
    fstat(fd, &st);
    uint8_t *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return b;
}

static void
snap_add(void *ctx, const char *full, const char *rel)
{
    struct tf_snap *s = ctx;
    s->rel = realloc(s->rel, (s->n + 1) * sizeof *s->rel);
    s->data = realloc(s->data, (s->n + 1) * sizeof *s->data);
    s->len = realloc(s->len, (s->n + 1) * sizeof *s->len);
    s->rel[s->n] = strdup(rel);
    s->data[s->n] = slurp(full, &s->len[s->n]);
    s->n++;
}

void
tf_snap_take(const char *dir, struct tf_snap *s)
{
    memset(s, 0, sizeof *s);
    walk(dir, "", snap_add, s);
}

static long
snap_find(const struct tf_snap *s, const char *rel)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rel[i], rel))
            return (long)i;
    return -1;
}

bool
tf_snap_equal(const struct tf_snap *a, const struct tf_snap *b, char *why, size_t cap)
{
    for (size_t i = 0; i < a->n; i++) {
        long j = snap_find(b, a->rel[i]);
        if (j < 0) {
            snprintf(why, cap, "%s disappeared", a->rel[i]);
            return false;
        }
        if (a->len[i] != b->len[j] || memcmp(a->data[i], b->data[j], a->len[i]) != 0) {
            snprintf(why, cap, "%s changed", a->rel[i]);
            return false;
        }
    }
    for (size_t j = 0; j < b->n; j++)
        if (snap_find(a, b->rel[j]) < 0) {
            snprintf(why, cap, "%s appeared", b->rel[j]);
            return false;
        }
    return true;
}

static void
unlink_if_absent(void *ctx, const char *full, const char *rel)
{
    if (snap_find(ctx, rel) < 0)
        unlink(full);
}

void
tf_snap_restore(const char *dir, const struct tf_snap *s)
{
    walk(dir, "", unlink_if_absent, (void *)s);
    for (size_t i = 0; i < s->n; i++) {
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, s->rel[i]);
        for (char *q = full + strlen(dir) + 1; (q = strchr(q, '/')) != NULL; q++) {
            *q = '\0';
            mkdir(full, 0700);
            *q = '/';
        }
        int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            th_fail(__FILE__, __LINE__, "restore %s", full);
        if (write(fd, s->data[i], s->len[i]) != (ssize_t)s->len[i])
            th_fail(__FILE__, __LINE__, "restore %s", full);
        close(fd);
    }
}

void
tf_snap_free(struct tf_snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->rel[i]);
        free(s->data[i]);
    }
    free(s->rel);
    free(s->data);
    free(s->len);
    memset(s, 0, sizeof *s);
}

/* ---- searching --------------------------------------------------------------- */

struct grep_ctx {
    const char *needle;
    char *hit;
};

static void
grep_one(void *ctx, const char *full, const char *rel)
{
    struct grep_ctx *g = ctx;
    (void)rel;
    if (g->hit)
        return;
    size_t len;
    uint8_t *b = slurp(full, &len);
    if (memmem(b, len, g->needle, strlen(g->needle)))
        g->hit = strdup(full);
    free(b);
}

const char *
tf_grep(const char *dir, const char *needle)
{
    static char out[4096];
    struct grep_ctx g = {needle, NULL};
    walk(dir, "", grep_one, &g);
    if (!g.hit)
        return NULL;
    snprintf(out, sizeof out, "%s", g.hit);
    free(g.hit);
    return out;
}

struct find_ctx {
    const char *suffix;
    char **v;
    size_t n;
};

static void
find_one(void *ctx, const char *full, const char *rel)
{
    struct find_ctx *f = ctx;
    size_t l = strlen(rel), k = strlen(f->suffix);
    if (l < k || strcmp(rel + l - k, f->suffix) != 0)
        return;
    f->v = realloc(f->v, (f->n + 1) * sizeof *f->v);
    f->v[f->n++] = strdup(full);
}

static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
tf_find(const char *dir, const char *suffix, char ***out)
{
    struct find_ctx f = {suffix, NULL, 0};
    walk(dir, "", find_one, &f);
    if (f.n)
        qsort(f.v, f.n, sizeof *f.v, str_cmp);
    *out = f.v;
    return f.n;
}

void
tf_paths_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

off_t
tf_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

void
tf_flip(const char *path, off_t off, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    if (fd < 0 || pread(fd, &b, 1, off) != 1)
        th_fail(__FILE__, __LINE__, "flip %s at %lld", path, (long long)off);
    b ^= mask;
    if (pwrite(fd, &b, 1, off) != 1)
        th_fail(__FILE__, __LINE__, "flip %s", path);
    close(fd);
}
