/*
 * file.h: durable file I/O. Every write, fsync, rename and read of the data
 * directory goes through these calls, so that
 *   - short writes and EINTR are handled once, in one place;
 *   - errors come back as ST_EIO with the path and the OS reason;
 *   - tests can inject faults (short write, ENOSPC, fsync failure, failed
 *     rename) with st_fault_arm() and check that nothing is acknowledged
 *     that is not durable.
 */
#ifndef STRATA_FILE_H
#define STRATA_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strata/status.h"

/* open(2) with O_CLOEXEC added; returns the fd or -1 with err set. */
int st_file_open(const char *path, int flags, int mode, struct st_error *err);
void st_file_close(int fd);
/* Write all n bytes at the current offset (retrying short writes). */
enum st_code st_file_write_all(int fd, const void *p, size_t n, const char *path,
                               struct st_error *err);
enum st_code st_file_pwrite_all(int fd, const void *p, size_t n, off_t off, const char *path,
                                struct st_error *err);
/* Read exactly n bytes at off; a short read is ST_ECORRUPT ("truncated"). */
enum st_code st_file_pread_all(int fd, void *p, size_t n, off_t off, const char *path,
                               struct st_error *err);
/* Read a whole file of at most max bytes into a malloc'd buffer (NUL-terminated, not counted). */
enum st_code st_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len,
                              struct st_error *err);
enum st_code st_file_fsync(int fd, const char *path, struct st_error *err);
/* fsync a directory so that entries created or renamed in it are durable. */
enum st_code st_file_fsync_dir(const char *dir, struct st_error *err);
enum st_code st_file_truncate(int fd, off_t len, const char *path, struct st_error *err);
/* rename(2) then fsync the destination's directory. */
enum st_code st_file_rename(const char *from, const char *to, struct st_error *err);
/* Replace `path` atomically: write tmp, fsync, rename over, fsync dir. */
enum st_code st_file_write_atomic(const char *path, const void *p, size_t n, int mode,
                                  struct st_error *err);
/* mkdir -p with the given mode for created directories. */
enum st_code st_mkdir_p(const char *path, int mode, struct st_error *err);
/* Remove a directory tree (used when a database is dropped). */
enum st_code st_remove_tree(const char *path, struct st_error *err);

/* ---- fault injection (tests only) ---- */
enum st_fault_op {
    ST_FAULT_NONE = 0,
    ST_FAULT_WRITE,  /* fail a write: errno, or a short write then errno */
    ST_FAULT_FSYNC,  /* fail an fsync (file or directory) */
    ST_FAULT_RENAME, /* fail a rename */
    ST_FAULT_OPEN,   /* fail an open */
    ST_FAULT_READ,   /* fail a read */
};

struct st_fault {
    enum st_fault_op op;
    unsigned skip;           /* let this many matching calls succeed first */
    unsigned count;          /* then fail this many (0 = forever) */
    int err;                 /* errno to report (e.g. ENOSPC, EIO) */
    size_t short_bytes;      /* for WRITE: write this many bytes before failing */
    const char *path_substr; /* only paths containing this (NULL = any) */
};

void st_fault_arm(const struct st_fault *f);
void st_fault_disarm(void);
/* Number of faults that fired since arming. */
unsigned st_fault_fired(void);

#endif
