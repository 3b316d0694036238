/*
 * runner.c: runs SQL logic test files (tests/sql/NAME.test, format in
 * README.md) against a backend and compares every result.
 *
 *   sqllogic_runner [--keep] FILE...
 *
 * Each file gets a fresh data directory under $TMPDIR (removed when the
 * file passes; kept with --keep or on failure, and its path printed) and
 * runs against the in-process engine backend. Mismatches print the file
 * and line, the SQL, and the expected and actual rows. Exit status: 0 when
 * every record of every file passed, 1 otherwise, 2 on usage or I/O errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slt.h"
#include "strata/clock.h"
#include "strata/file.h"

struct state {
    const struct slt_file *f;
    struct slt_backend *be;
    char db[256];
    struct slt_param params[64];
    size_t n_params;
    struct slt_options opts;
    unsigned failures;
};

static void report(struct state *s, const struct slt_record *r, const char *fmt, const char *a,
                   const char *b) __attribute__((format(printf, 3, 0)));

static void
report(struct state *s, const struct slt_record *r, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s:%u: FAIL: ", s->f->path, r->line);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    fprintf(stderr, fmt, a ? a : "", b ? b : "");
#pragma GCC diagnostic pop
    fprintf(stderr, "\n");
    if (r->text)
        fprintf(stderr, "    %s\n", r->text);
    s->failures++;
}

static void
report_error(struct state *s, const struct slt_record *r, const char *what,
             const struct slt_result *res)
{
    char buf[900];
    snprintf(buf, sizeof buf, "%s @%lld: %s", res->code, res->offset, res->message);
    report(s, r, "%s, got error %s", what, buf);
}

static bool
check_error(struct state *s, const struct slt_record *r, const struct slt_result *res)
{
    if (res->ok) {
        report(s, r, "expected an error containing \"%s\", got success", r->err_fragment, NULL);
        return false;
    }
    if (r->err_code && strcmp(r->err_code, res->code) != 0) {
        report_error(s, r, "expected code", res);
        fprintf(stderr, "    (expected %s)\n", r->err_code);
        return false;
    }
    if (r->err_offset >= 0 && r->err_offset != res->offset) {
        char exp[32];
        snprintf(exp, sizeof exp, "%lld", r->err_offset);
        report_error(s, r, "expected the error at another offset", res);
        fprintf(stderr, "    (expected @%s)\n", exp);
        return false;
    }
    if (r->err_fragment && !strstr(res->message, r->err_fragment)) {
        report_error(s, r, "expected another message", res);
        fprintf(stderr, "    (expected a message containing \"%s\")\n", r->err_fragment);
        return false;
    }
    return true;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
check_query(struct state *s, const struct slt_record *r, struct slt_result *res)
{
    if (!res->ok) {
        report_error(s, r, "expected rows", res);
        return;
    }
    size_t nt = strlen(r->types), na = strlen(res->types);
    bool types_ok = nt == na;
    for (size_t i = 0; types_ok && i < nt; i++)
        types_ok = r->types[i] == '?' || r->types[i] == res->types[i];
    if (!types_ok) {
        report(s, r, "column types: expected %s, got %s", r->types, res->types);
        return;
    }
    char **exp = r->expected;
    char **sorted = NULL;
    if (r->sort == SLT_ROWSORT) {
        qsort(res->rows, res->n_rows, sizeof *res->rows, cmp_str);
        sorted = malloc((r->n_expected + 1) * sizeof *sorted);
        memcpy(sorted, r->expected, r->n_expected * sizeof *sorted);
        qsort(sorted, r->n_expected, sizeof *sorted, cmp_str);
        exp = sorted;
    }
    bool same = res->n_rows == r->n_expected;
    for (size_t i = 0; same && i < res->n_rows; i++)
        same = strcmp(res->rows[i], exp[i]) == 0;
    if (!same) {
        report(s, r, "wrong result%s%s", "", "");
        fprintf(stderr, "    expected %zu rows:\n", r->n_expected);
        for (size_t i = 0; i < r->n_expected && i < 50; i++)
            fprintf(stderr, "      %s\n", exp[i]);
        fprintf(stderr, "    got %zu rows:\n", res->n_rows);
        for (size_t i = 0; i < res->n_rows && i < 50; i++)
            fprintf(stderr, "      %s\n", res->rows[i]);
    }
    free(sorted);
}

static void
set_param(struct state *s, const struct slt_record *r)
{
    size_t i;
    for (i = 0; i < s->n_params; i++)
        if (strcmp(s->params[i].name, r->arg1) == 0)
            break;
    if (i == s->n_params) {
        if (s->n_params == sizeof s->params / sizeof s->params[0]) {
            report(s, r, "too many parameters%s%s", NULL, NULL);
            return;
        }
        s->n_params++;
    }
    s->params[i].name = r->arg1;
    s->params[i].type = r->arg2;
    s->params[i].value = r->arg3;
}

static void
set_option(struct state *s, const struct slt_record *r)
{
    const char *k = r->arg1, *v = r->arg2;
    bool on = strcmp(v, "on") == 0;
    if (strcmp(k, "read_only") == 0)
        s->opts.read_only = on;
    else if (strcmp(k, "cancel") == 0)
        s->opts.cancel = on;
    else if (strcmp(k, "max_result_bytes") == 0)
        s->opts.max_result_bytes = strtoull(v, NULL, 10);
    else if (strcmp(k, "batch_rows") == 0)
        s->opts.batch_rows = (uint32_t)strtoul(v, NULL, 10);
    else if (strcmp(k, "deadline_ns") == 0)
        s->opts.deadline_ns = strtoll(v, NULL, 10);
    else
        report(s, r, "unknown option \"%s\"%s", k, NULL);
}

static int
run_file(const char *path, bool keep)
{
    struct slt_file f;
    if (slt_parse_file(path, &f) != 0)
        return 2;
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sqllogic-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        slt_file_free(&f);
        return 2;
    }
    struct slt_backend be;
    slt_engine_backend(&be);
    struct state s = {.f = &f, .be = &be};
    snprintf(s.db, sizeof s.db, "db");
    char err[512];
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    if (be.open(be.ctx, data, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        slt_file_free(&f);
        return 2;
    }
    struct slt_result res = {0};
    slt_result_reset(&res);
    for (size_t i = 0; i < f.n_recs; i++) {
        const struct slt_record *r = &f.recs[i];
        s.opts.params = s.params;
        s.opts.n_params = s.n_params;
        switch (r->kind) {
        case SLT_STATEMENT_OK:
            be.query(be.ctx, s.db, r->text, r->text_len ? r->text_len : strlen(r->text), &s.opts,
                     &res);
            if (!res.ok)
                report_error(&s, r, "expected ok", &res);
            break;
        case SLT_STATEMENT_ERROR:
            be.query(be.ctx, s.db, r->text, strlen(r->text), &s.opts, &res);
            check_error(&s, r, &res);
            break;
        case SLT_QUERY:
            be.query(be.ctx, s.db, r->text, strlen(r->text), &s.opts, &res);
            check_query(&s, r, &res);
            break;
        case SLT_WRITE:
            be.write(be.ctx, s.db, r->text, strlen(r->text), &res);
            if (!res.ok)
                report_error(&s, r, "expected the write to succeed", &res);
            break;
        case SLT_WRITE_ERROR:
            be.write(be.ctx, s.db, r->text, strlen(r->text), &res);
            check_error(&s, r, &res);
            break;
        case SLT_DATABASE:
            snprintf(s.db, sizeof s.db, "%s", strcmp(r->arg1, "-") == 0 ? "" : r->arg1);
            break;
        case SLT_PARAM:
            set_param(&s, r);
            break;
        case SLT_CLEAR_PARAMS:
            s.n_params = 0;
            break;
        case SLT_OPTION:
            set_option(&s, r);
            break;
        case SLT_RESTART:
            if (be.restart(be.ctx, err, sizeof err) != 0) {
                report(&s, r, "restart failed: %s%s", err, NULL);
                i = f.n_recs;
            }
            break;
        case SLT_PERSIST:
            if (be.persist(be.ctx, err, sizeof err) != 0)
                report(&s, r, "persist failed: %s%s", err, NULL);
            break;
        case SLT_NOW: {
            int64_t ns;
            if (st_parse_rfc3339(r->arg1, strlen(r->arg1), &ns) != 0)
                report(&s, r, "bad time \"%s\"%s", r->arg1, NULL);
            else
                st_clock_set_fixed(ns);
            break;
        }
        }
    }
    slt_result_reset(&res);
    be.close(be.ctx);
    st_clock_set_fixed(0);
    fprintf(stderr, "%s: %zu records, %u failure%s\n", path, f.n_recs, s.failures,
            s.failures == 1 ? "" : "s");
    if (s.failures == 0 && !keep)
        st_remove_tree(dir, NULL);
    else
        fprintf(stderr, "%s: data kept in %s\n", path, dir);
    slt_file_free(&f);
    return s.failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
    bool keep = false;
    int status = 0, n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0) {
            keep = true;
            continue;
        }
        int rc = run_file(argv[i], keep);
        if (rc > status)
            status = rc;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "usage: sqllogic_runner [--keep] FILE...\n");
        return 2;
    }
    return status;
}
