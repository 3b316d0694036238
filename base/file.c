/*
 * file.c: durable file I/O with fault injection (see strata/file.h).
 *
 * The fault hook is process-wide and guarded by a mutex; it costs one
 * relaxed atomic load per call when disarmed.
 */
#include "strata/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static _Atomic int fault_armed;
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct st_fault fault;
static char fault_path[PATH_MAX];
static unsigned fault_seen, fault_fired_n;

void
st_fault_arm(const struct st_fault *f)
{
    pthread_mutex_lock(&fault_mu);
    fault = *f;
    fault_path[0] = '\0';
    if (f->path_substr)
        snprintf(fault_path, sizeof fault_path, "%s", f->path_substr);
    fault.path_substr = f->path_substr ? fault_path : NULL;
    fault_seen = 0;
    fault_fired_n = 0;
    atomic_store(&fault_armed, 1);
    pthread_mutex_unlock(&fault_mu);
}

void
st_fault_disarm(void)
{
    pthread_mutex_lock(&fault_mu);
    atomic_store(&fault_armed, 0);
    fault.op = ST_FAULT_NONE;
    pthread_mutex_unlock(&fault_mu);
}

unsigned
st_fault_fired(void)
{
    pthread_mutex_lock(&fault_mu);
    unsigned n = fault_fired_n;
    pthread_mutex_unlock(&fault_mu);
    return n;
}

/* Returns the errno to inject (0 = proceed), and the short-write length. */
static int
fault_check(enum st_fault_op op, const char *path, size_t *short_bytes)
{
    int e = 0;
    if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
        return 0;
    pthread_mutex_lock(&fault_mu);
    if (fault.op == op && (!fault.path_substr || (path && strstr(path, fault.path_substr)))) {
        fault_seen++;
        if (fault_seen > fault.skip &&
            (fault.count == 0 || fault_seen <= fault.skip + fault.count)) {
            e = fault.err ? fault.err : EIO;
            if (short_bytes)
                *short_bytes = fault.short_bytes;
            fault_fired_n++;
        }
    }
    pthread_mutex_unlock(&fault_mu);
    return e;
}

static enum st_code
io_error(struct st_error *err, const char *what, const char *path, int e)
{
    return st_error_set(err, ST_EIO, "%s \"%s\": %s", what, path ? path : "?", strerror(e));
}

int
st_file_open(const char *path, int flags, int mode, struct st_error *err)
{
    int e = fault_check(ST_FAULT_OPEN, path, NULL);
    if (e) {
        io_error(err, "opening", path, e);
        return -1;
    }
    int fd = open(path, flags | O_CLOEXEC, mode);
    if (fd < 0)
        io_error(err, "opening", path, errno);
    return fd;
}

void
st_file_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

static enum st_code
write_loop(int fd, const uint8_t *p, size_t n, off_t off, int positional, const char *path,
           struct st_error *err)
{
    size_t short_bytes = 0;
    int e = fault_check(ST_FAULT_WRITE, path, &short_bytes);
    if (e) {
        if (short_bytes && short_bytes < n) {
            ssize_t w = positional ? pwrite(fd, p, short_bytes, off) : write(fd, p, short_bytes);
            (void)w;
        }
        return io_error(err, "writing", path, e);
    }
    while (n > 0) {
        ssize_t w = positional ? pwrite(fd, p, n, off) : write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return io_error(err, "writing", path, errno);
        }
        if (w == 0)
            return io_error(err, "writing", path, ENOSPC);
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return ST_OK;
}

enum st_code
st_file_write_all(int fd, const void *p, size_t n, const char *path, struct st_error *err)
{
    return write_loop(fd, p, n, 0, 0, path, err);
}

enum st_code
st_file_pwrite_all(int fd, const void *p, size_t n, off_t off, const char *path,
                   struct st_error *err)
{
    return write_loop(fd, p, n, off, 1, path, err);
}

enum st_code
st_file_pread_all(int fd, void *buf, size_t n, off_t off, const char *path, struct st_error *err)
{
    uint8_t *p = buf;
    int e = fault_check(ST_FAULT_READ, path, NULL);
    if (e)
        return io_error(err, "reading", path, e);
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return io_error(err, "reading", path, errno);
        }
        if (r == 0)
            return st_error_set(err, ST_ECORRUPT, "reading \"%s\": file is truncated", path);
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return ST_OK;
}

enum st_code
st_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len, struct st_error *err)
{
    struct stat st;
    int fd = st_file_open(path, O_RDONLY, 0, err);
    if (fd < 0)
        return errno == ENOENT ? (err ? (err->code = ST_ENOTFOUND) : ST_ENOTFOUND) : ST_EIO;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return io_error(err, "stat", path, errno);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return st_error_set(err, ST_ELIMIT, "file \"%s\" is larger than %zu bytes", path, max);
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return st_error_set(err, ST_ENOMEM, "out of memory reading \"%s\"", path);
    }
    enum st_code rc = st_file_pread_all(fd, buf, (size_t)st.st_size, 0, path, err);
    close(fd);
    if (rc != ST_OK) {
        free(buf);
        return rc;
    }
    buf[st.st_size] = '\0';
    *out = buf;
    *len = (size_t)st.st_size;
    return ST_OK;
}

enum st_code
st_file_fsync(int fd, const char *path, struct st_error *err)
{
    int e = fault_check(ST_FAULT_FSYNC, path, NULL);
    if (e)
        return io_error(err, "syncing", path, e);
    if (fdatasync(fd) != 0)
        return io_error(err, "syncing", path, errno);
    return ST_OK;
}

enum st_code
st_file_fsync_dir(const char *dir, struct st_error *err)
{
    int e = fault_check(ST_FAULT_FSYNC, dir, NULL);
    if (e)
        return io_error(err, "syncing directory", dir, e);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_error(err, "opening directory", dir, errno);
    int rc = fsync(fd);
    e = errno;
    close(fd);
    if (rc != 0)
        return io_error(err, "syncing directory", dir, e);
    return ST_OK;
}

enum st_code
st_file_truncate(int fd, off_t len, const char *path, struct st_error *err)
{
    if (ftruncate(fd, len) != 0)
        return io_error(err, "truncating", path, errno);
    return ST_OK;
}

static void
dir_of(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

enum st_code
st_file_rename(const char *from, const char *to, struct st_error *err)
{
    char dir[PATH_MAX];
    int e = fault_check(ST_FAULT_RENAME, to, NULL);
    if (e)
        return io_error(err, "renaming to", to, e);
    if (rename(from, to) != 0)
        return io_error(err, "renaming to", to, errno);
    dir_of(to, dir, sizeof dir);
    return st_file_fsync_dir(dir, err);
}

enum st_code
st_file_write_atomic(const char *path, const void *p, size_t n, int mode, struct st_error *err)
{
    char tmp[PATH_MAX];
    enum st_code rc;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return st_error_set(err, ST_EINVAL, "path too long: \"%s\"", path);
    int fd = st_file_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode, err);
    if (fd < 0)
        return ST_EIO;
    rc = st_file_write_all(fd, p, n, tmp, err);
    if (rc == ST_OK)
        rc = st_file_fsync(fd, tmp, err);
    close(fd);
    if (rc == ST_OK)
        rc = st_file_rename(tmp, path, err);
    if (rc != ST_OK)
        unlink(tmp);
    return rc;
}

enum st_code
st_mkdir_p(const char *path, int mode, struct st_error *err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof buf)
        return st_error_set(err, ST_EINVAL, "bad directory path");
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
                return io_error(err, "creating directory", buf, errno);
            buf[i] = c;
        }
    }
    return ST_OK;
}

enum st_code
st_remove_tree(const char *path, struct st_error *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char child[PATH_MAX];

    if (!d) {
        if (errno == ENOENT)
            return ST_OK;
        if (errno == ENOTDIR) {
            if (unlink(path) != 0)
                return io_error(err, "removing", path, errno);
            return ST_OK;
        }
        return io_error(err, "opening directory", path, errno);
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            enum st_code rc = st_remove_tree(child, err);
            if (rc != ST_OK) {
                closedir(d);
                return rc;
            }
        } else if (unlink(child) != 0) {
            closedir(d);
            return io_error(err, "removing", child, errno);
        }
    }
    closedir(d);
    if (rmdir(path) != 0)
        return io_error(err, "removing directory", path, errno);
    return ST_OK;
}
