/*
 * slt.h: the SQL logic test runner: the test-file format (parser), the
 * execution backend interface, and result rendering.
 *
 * The parser (slt_parse.c) knows nothing about how statements run; a
 * backend (slt_engine.c: the engine in-process through engine.h; a later
 * one: the real server through a client) executes records and returns
 * rendered results, and the runner (runner.c) compares them. See README.md
 * in this directory for the file format.
 */
#ifndef STRATA_SLT_H
#define STRATA_SLT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/batch.h"

/* ---- records ------------------------------------------------------------- */

enum slt_kind {
    SLT_STATEMENT_OK = 0,
    SLT_STATEMENT_ERROR,
    SLT_QUERY,
    SLT_WRITE,
    SLT_WRITE_ERROR,
    SLT_DATABASE,
    SLT_PARAM,
    SLT_CLEAR_PARAMS,
    SLT_OPTION,
    SLT_RESTART,
    SLT_PERSIST,
    SLT_NOW,
};

enum slt_sort { SLT_NOSORT = 0, SLT_ROWSORT };

struct slt_record {
    enum slt_kind kind;
    unsigned line;          /* 1-based line of the directive */
    char *text;             /* SQL or line protocol (NUL-terminated) */
    size_t text_len;
    /* statement error / write error */
    char *err_code;         /* "EBIND" or NULL */
    long long err_offset;   /* -1 when not checked */
    char *err_fragment;     /* substring the message must contain ("" = any) */
    /* query */
    char *types;            /* "ITR": one letter per column */
    enum slt_sort sort;
    char **expected;        /* expected rows, each columns joined by '\t' */
    size_t n_expected;
    /* database / param / option / now */
    char *arg1, *arg2, *arg3;
};

struct slt_file {
    const char *path;
    struct slt_record *recs;
    size_t n_recs;
};

/* Parse a test file; on error prints "path:line: reason" and returns -1. */
int slt_parse_file(const char *path, struct slt_file *out);
void slt_file_free(struct slt_file *f);

/* ---- results --------------------------------------------------------------- */

struct slt_result {
    bool ok;
    /* on error */
    char code[32];          /* "EBIND" */
    long long offset;
    char message[600];
    /* on success */
    char types[256];        /* one letter per column */
    char **rows;            /* columns joined by '\t' */
    size_t n_rows, cap_rows;
};

void slt_result_reset(struct slt_result *r);
/* Append the rows of a batch, rendered (see README.md for the formats). */
int slt_result_add_batch(struct slt_result *r, const struct st_batch *b);
/* The type letter of a column type. */
char slt_type_letter(enum st_type t);

/* ---- backends ----------------------------------------------------------------- */

struct slt_param {
    char *name;
    char *type;  /* int uint float string bool time null */
    char *value;
};

struct slt_options {
    bool read_only;
    uint64_t max_result_bytes;
    uint32_t batch_rows;
    long long deadline_ns; /* relative to the start of the statement; 0 = none */
    bool cancel;           /* start with the cancel flag set */
    const struct slt_param *params;
    size_t n_params;
};

struct slt_backend {
    void *ctx;
    /* open on an empty data directory */
    int (*open)(void *ctx, const char *data_dir, char *err, size_t errlen);
    void (*close)(void *ctx);
    int (*restart)(void *ctx, char *err, size_t errlen);
    int (*persist)(void *ctx, char *err, size_t errlen);
    /* write line protocol; on failure fills res (ok = false) */
    void (*write)(void *ctx, const char *db, const char *lp, size_t len, struct slt_result *res);
    /* run SQL and render every row (or the error) into res */
    void (*query)(void *ctx, const char *db, const char *sql, size_t len,
                  const struct slt_options *o, struct slt_result *res);
};

/* The in-process engine backend (slt_engine.c). */
void slt_engine_backend(struct slt_backend *b);

#endif
